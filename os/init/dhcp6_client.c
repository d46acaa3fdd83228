/* SPDX-License-Identifier: MIT */
/* Stateful DHCPv6 client for one NIC (see dhcp6_client.h). */
#include "dhcp6_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dhcp6.h"
#include "log.h"
#include "util.h"

/* Retransmission parameters (RFC 8415 §7.6): initial and maximum timeout,
 * maximum count (0: no limit). */
struct retransmit {
	uint32_t irt_ms, mrt_ms;
	unsigned mrc;
};

/* RFC 8415 has SOL_MAX_RT = 3600 s. A guest's server is usually its own
 * host (mvirt-net), which may start after the guest or restart; waiting up
 * to an hour to ask again would leave the VM without an address for that
 * long, and asking every two minutes costs nothing. */
#define SOL_MAX_RT_MS (120 * 1000)
static const struct retransmit solicit_params = { 1000, SOL_MAX_RT_MS, 0 };
static const struct retransmit request_params = { 1000, 30 * 1000, 10 };
/* Renew and Rebind end at T2 and at the end of the valid lifetime: their
 * maximum duration is set per exchange. */
static const struct retransmit renew_params = { 10 * 1000, 600 * 1000, 0 };

/* RFC 8415 §7.6: RAND is uniform in [-0.1, +0.1]; in thousandths. */
#define RAND_RANGE 100

enum state {
	STATE_STOPPED,
	STATE_SOLICITING,
	STATE_REQUESTING,
	STATE_BOUND,
	STATE_RENEWING,
	STATE_REBINDING,
};

struct dhcp6_client {
	struct loop *loop;
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t duid[DHCP6_DUID_LL_SIZE];
	uint32_t iaid;
	dhcp6_client_cb cb;
	void *userdata;
	bool rapid_commit;
	uint64_t rng;

	int fd;
	struct loop_io *io;
	struct loop_timer *timer;
	enum state state;

	/* the current exchange */
	uint32_t xid;
	uint64_t exchange_start_ms;
	uint64_t rt_ms; /* current retransmission timeout, 0 before the first */
	unsigned n_sent;
	uint64_t deadline_ms; /* end of the exchange (MRD), 0: none */
	bool delayed_start;   /* SOLICITING: waiting before the first SOLICIT */
	uint64_t retry_delay_ms; /* before soliciting again after a failure */

	/* SOLICITING: the best ADVERTISE so far */
	bool have_offer;
	uint8_t offer_preference;
	uint8_t offer_server_id[DHCP6_DUID_MAX];
	size_t offer_server_id_len;
	struct in6_addr offer_address;
	bool saw_no_addrs, reported_no_lease;

	/* the server of REQUEST, RENEW and RELEASE, and the address asked for */
	uint8_t server_id[DHCP6_DUID_MAX];
	size_t server_id_len;
	struct in6_addr requested;

	bool bound;
	struct dhcp6_lease lease;
	uint64_t t1_at_ms, t2_at_ms, expiry_at_ms; /* UINT64_MAX: never */
};

/* xorshift64*: transaction ids and jitter need to differ between clients,
 * not to be secret. */
static uint32_t random_u32(struct dhcp6_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (uint32_t)((c->rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static void seed_random(struct dhcp6_client *c, const uint8_t mac[6])
{
	uint64_t seed = 0;

	/* non-blocking: early in boot the pool may not be ready, and the MAC
	 * and the clock are enough to tell this client from the others */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = 0;
	for (int i = 0; i < 6; i++)
		seed = seed * 131 + mac[i];
	seed ^= loop_now_ms() * 0x9e3779b97f4a7c15ULL;
	c->rng = seed ? seed : 1;
}

int dhcp6_client_new(struct loop *l, int ifindex, const char *ifname, const uint8_t mac[6],
		     dhcp6_client_cb cb, void *userdata, struct dhcp6_client **out)
{
	struct dhcp6_client *c;

	if (ifindex <= 0 || !ifname || strlen(ifname) >= IF_NAMESIZE || !mac || !cb)
		return -EINVAL;
	c = xcalloc(1, sizeof(*c));
	c->loop = l;
	c->ifindex = ifindex;
	strcpy(c->ifname, ifname);
	dhcp6_duid_ll(mac, c->duid);
	/* the IAID must stay the same across restarts (RFC 8415 §12): the
	 * low 32 bits of the MAC, like the DUID, follow the NIC */
	c->iaid = (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
	c->cb = cb;
	c->userdata = userdata;
	c->fd = -1;
	seed_random(c, mac);
	*out = c;
	return 0;
}

void dhcp6_client_set_rapid_commit(struct dhcp6_client *c, bool on)
{
	c->rapid_commit = on;
}

static void stop(struct dhcp6_client *c)
{
	c->state = STATE_STOPPED;
	loop_timer_stop(c->timer);
	loop_io_free(c->io);
	c->io = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void dhcp6_client_free(struct dhcp6_client *c)
{
	if (!c)
		return;
	stop(c);
	loop_timer_free(c->timer);
	free(c);
}

/* timeout * RAND, RAND uniform in [-0.1, 0.1] or, when positive, (0, 0.1]. */
static int64_t jitter(struct dhcp6_client *c, uint64_t timeout_ms, bool positive)
{
	int64_t r = positive ? (int64_t)(random_u32(c) % RAND_RANGE) + 1
			     : (int64_t)(random_u32(c) % (2 * RAND_RANGE + 1)) - RAND_RANGE;

	return (int64_t)timeout_ms * r / 1000;
}

/* The next retransmission timeout (RFC 8415 §15). */
static uint64_t next_rt(struct dhcp6_client *c, const struct retransmit *p)
{
	uint64_t rt;

	if (c->rt_ms == 0)
		/* the first RT of a Solicit must be longer than IRT, so that
		 * ADVERTISEs are collected for at least IRT (§15) */
		rt = p->irt_ms + (uint64_t)jitter(c, p->irt_ms, c->state == STATE_SOLICITING);
	else
		rt = (uint64_t)((int64_t)(2 * c->rt_ms) + jitter(c, c->rt_ms, false));
	if (p->mrt_ms && rt > p->mrt_ms)
		rt = (uint64_t)((int64_t)p->mrt_ms + jitter(c, p->mrt_ms, false));
	return rt;
}

static const struct retransmit *params_of(enum state s)
{
	switch (s) {
	case STATE_SOLICITING:
		return &solicit_params;
	case STATE_REQUESTING:
		return &request_params;
	default:
		return &renew_params;
	}
}

static uint8_t message_type_of(enum state s)
{
	switch (s) {
	case STATE_SOLICITING:
		return DHCP6_SOLICIT;
	case STATE_REQUESTING:
		return DHCP6_REQUEST;
	case STATE_RENEWING:
		return DHCP6_RENEW;
	default:
		return DHCP6_REBIND;
	}
}

/* Build and send one message of this exchange to All_DHCP_Relay_Agents_and_Servers. */
static int send_message(struct dhcp6_client *c, uint8_t type, uint64_t now)
{
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(DHCP6_SERVER_PORT),
		.sin6_addr = { .s6_addr = { 0xff, 0x02, [13] = 1, [15] = 2 } },
		.sin6_scope_id = (uint32_t)c->ifindex,
	};
	struct dhcp6_message m;
	uint8_t buf[DHCP6_MAX_SIZE];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.xid = c->xid;
	memcpy(m.client_id, c->duid, sizeof(c->duid));
	m.client_id_len = sizeof(c->duid);
	if (type == DHCP6_REQUEST || type == DHCP6_RENEW || type == DHCP6_RELEASE) {
		memcpy(m.server_id, c->server_id, c->server_id_len);
		m.server_id_len = c->server_id_len;
	}
	m.has_elapsed = true;
	m.elapsed_cs = (uint16_t)MIN((now - c->exchange_start_ms) / 10, 0xffff);
	m.has_ia_na = true;
	m.ia_na.iaid = c->iaid;
	if (type == DHCP6_REQUEST || (c->bound && type != DHCP6_SOLICIT)) {
		/* the address we want; lifetimes 0 leave them to the server */
		m.ia_na.addrs[0].address = type == DHCP6_REQUEST ? c->requested : c->lease.address;
		m.ia_na.n_addrs = 1;
	}
	if (type != DHCP6_RELEASE)
		m.oro[m.n_oro++] = DHCP6_OPT_DNS_SERVERS;
	m.rapid_commit = type == DHCP6_SOLICIT && c->rapid_commit;
	n = dhcp6_build(&m, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (sendto(c->fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	log_debug("%s: DHCPv6 %s sent (xid %06x)", c->ifname, dhcp6_type_name(type), c->xid);
	return 0;
}

/* Send the current exchange's message (again) and arm the timer for the
 * next retransmission or the end of the exchange. */
static void transmit(struct dhcp6_client *c)
{
	uint64_t now = loop_now_ms(), when;
	int r;

	r = send_message(c, message_type_of(c->state), now);
	if (r == -EADDRNOTAVAIL)
		/* the link-local address is still tentative: the retransmission
		 * timer tries again */
		log_debug("%s: no usable link-local address for DHCPv6 yet", c->ifname);
	else if (r < 0)
		log_warning_errno(r, "%s: sending DHCPv6 %s", c->ifname,
				  dhcp6_type_name(message_type_of(c->state)));
	c->n_sent++;
	c->rt_ms = next_rt(c, params_of(c->state));
	when = now + c->rt_ms;
	if (c->deadline_ms && when > c->deadline_ms)
		when = c->deadline_ms;
	loop_timer_set(c->timer, when);
}

/* A new exchange (new transaction id) in state s, ending at deadline_ms (0: never). */
static void start_exchange(struct dhcp6_client *c, enum state s, uint64_t deadline_ms)
{
	c->state = s;
	c->xid = random_u32(c) & 0xffffff;
	c->exchange_start_ms = loop_now_ms();
	c->rt_ms = 0;
	c->n_sent = 0;
	c->deadline_ms = deadline_ms;
	c->delayed_start = false;
	transmit(c);
}

/* Solicit, after delay_ms. */
static void start_soliciting(struct dhcp6_client *c, uint64_t delay_ms)
{
	c->have_offer = false;
	c->offer_preference = 0;
	c->saw_no_addrs = false;
	if (delay_ms == 0) {
		start_exchange(c, STATE_SOLICITING, 0);
		return;
	}
	c->state = STATE_SOLICITING;
	c->delayed_start = true;
	loop_timer_in(c->timer, delay_ms);
}

/* Solicit again after a failed attempt, a little later each time. */
static void solicit_later(struct dhcp6_client *c)
{
	c->retry_delay_ms = c->retry_delay_ms ? MIN(2 * c->retry_delay_ms, SOL_MAX_RT_MS) : 1000;
	log_info("%s: DHCPv6: soliciting again in %llu s", c->ifname,
		 (unsigned long long)c->retry_delay_ms / 1000);
	start_soliciting(c, c->retry_delay_ms);
}

static void start_request(struct dhcp6_client *c, uint64_t deadline_ms)
{
	start_exchange(c, STATE_REQUESTING, deadline_ms);
}

/* REQUEST the address of the best ADVERTISE from its server. */
static void take_offer(struct dhcp6_client *c)
{
	memcpy(c->server_id, c->offer_server_id, c->offer_server_id_len);
	c->server_id_len = c->offer_server_id_len;
	c->requested = c->offer_address;
	start_request(c, 0);
}

/* The lease is gone: tell the caller and start over. */
static void lose_lease(struct dhcp6_client *c, const char *why)
{
	struct dhcp6_lease old = c->lease;
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &old.address, addr, sizeof(addr));
	log_info("%s: DHCPv6 lease of %s lost: %s", c->ifname, addr, why);
	c->bound = false;
	start_soliciting(c, 0);
	c->cb(c, DHCP6_LOST, &old, c->userdata);
}

static void report_no_lease(struct dhcp6_client *c)
{
	if (c->reported_no_lease)
		return;
	c->reported_no_lease = true;
	c->cb(c, DHCP6_NO_LEASE, NULL, c->userdata);
}

static uint64_t at_ms(uint64_t start_ms, uint32_t seconds)
{
	return seconds == DHCP6_INFINITY ? UINT64_MAX : start_ms + (uint64_t)seconds * 1000;
}

static void arm_lease_timer(struct dhcp6_client *c)
{
	uint64_t when = MIN(c->t1_at_ms, c->expiry_at_ms);

	if (when == UINT64_MAX)
		loop_timer_stop(c->timer); /* infinite: nothing will ever happen */
	else
		loop_timer_set(c->timer, when);
}

static void on_timer(struct loop_timer *t, void *userdata)
{
	struct dhcp6_client *c = userdata;
	uint64_t now = loop_now_ms();

	if (c->bound && now >= c->expiry_at_ms) {
		lose_lease(c, "valid lifetime over");
		return;
	}
	switch (c->state) {
	case STATE_SOLICITING:
		if (c->delayed_start) {
			start_exchange(c, STATE_SOLICITING, 0);
		} else if (c->have_offer) {
			/* the first RT is over: take the best ADVERTISE */
			take_offer(c);
		} else {
			transmit(c);
			if (c->saw_no_addrs)
				report_no_lease(c);
		}
		return;
	case STATE_REQUESTING:
		if (c->n_sent >= request_params.mrc ||
		    (c->deadline_ms && now >= c->deadline_ms)) {
			log_info("%s: DHCPv6: no REPLY to %u REQUESTs", c->ifname, c->n_sent);
			solicit_later(c);
			return;
		}
		transmit(c);
		return;
	case STATE_BOUND:
		if (now >= c->t2_at_ms)
			start_exchange(c, STATE_REBINDING, c->expiry_at_ms == UINT64_MAX ? 0 : c->expiry_at_ms);
		else if (now >= c->t1_at_ms)
			start_exchange(c, STATE_RENEWING, MIN(c->t2_at_ms, c->expiry_at_ms));
		else
			arm_lease_timer(c);
		return;
	case STATE_RENEWING:
		if (now >= c->deadline_ms) {
			/* T2: any server may extend the lease now */
			start_exchange(c, STATE_REBINDING, c->expiry_at_ms == UINT64_MAX ? 0 : c->expiry_at_ms);
			return;
		}
		transmit(c);
		return;
	case STATE_REBINDING:
		transmit(c);
		return;
	case STATE_STOPPED:
		return;
	}
}

static bool status_failed(const struct dhcp6_status *s)
{
	return s->present && s->code != DHCP6_STATUS_SUCCESS;
}

/* The first address of the IA_NA that can be used: a non-zero valid
 * lifetime not below the preferred one (RFC 8415 §18.2.10.1), no error. */
static const struct dhcp6_ia_addr *usable_address(const struct dhcp6_ia_na *ia)
{
	for (unsigned i = 0; i < ia->n_addrs; i++) {
		const struct dhcp6_ia_addr *a = &ia->addrs[i];

		if (a->valid_s > 0 && a->preferred_s <= a->valid_s && !status_failed(&a->status))
			return a;
	}
	return NULL;
}

/* m's IA_NA if it is ours (our IAID) and valid, else NULL. A message for
 * another IA says nothing about ours: it is not a refusal. */
static const struct dhcp6_ia_na *our_ia(const struct dhcp6_client *c, const struct dhcp6_message *m)
{
	const struct dhcp6_ia_na *ia = &m->ia_na;

	if (!m->has_ia_na || ia->iaid != c->iaid)
		return NULL;
	/* RFC 8415 §21.4: T1 > T2 (both set) makes the IA_NA invalid */
	if (ia->t1_s && ia->t2_s && ia->t1_s > ia->t2_s)
		return NULL;
	return ia;
}

static void handle_advertise(struct dhcp6_client *c, const struct dhcp6_message *m)
{
	const struct dhcp6_ia_na *ia;
	const struct dhcp6_ia_addr *a;
	uint8_t preference = m->has_preference ? m->preference : 0;

	if (c->state != STATE_SOLICITING || c->delayed_start)
		return;
	ia = our_ia(c, m);
	a = ia && !status_failed(&m->status) && !status_failed(&ia->status) ? usable_address(ia)
									   : NULL;
	if (!a) {
		const struct dhcp6_status *s = m->status.present ? &m->status : &m->ia_na.status;

		if (!ia && !status_failed(&m->status)) {
			log_debug("%s: ignoring a DHCPv6 ADVERTISE without our IA_NA", c->ifname);
			return;
		}
		log_info("%s: DHCPv6 ADVERTISE without an address for us%s%s", c->ifname,
			 s->present ? ": " : "", s->present ? dhcp6_status_name(s->code) : "");
		c->saw_no_addrs = true;
		return;
	}
	if (!c->have_offer || preference > c->offer_preference) {
		c->have_offer = true;
		c->offer_preference = preference;
		memcpy(c->offer_server_id, m->server_id, m->server_id_len);
		c->offer_server_id_len = m->server_id_len;
		c->offer_address = a->address;
	}
	/* RFC 8415 §18.2.1: preference 255 is taken at once, and so is any
	 * ADVERTISE once the first RT is over */
	if (preference == 255 || c->n_sent > 1)
		take_offer(c);
}

/* T1 and T2 as used: the server's, or 0.5 and 0.8 of the preferred
 * lifetime when it left them to us (0), at least one second. */
static void choose_t1_t2(const struct dhcp6_ia_na *ia, const struct dhcp6_ia_addr *a,
			 uint32_t *t1, uint32_t *t2)
{
	uint32_t base = a->preferred_s ? a->preferred_s : a->valid_s;

	*t1 = ia->t1_s;
	*t2 = ia->t2_s;
	if (*t1 == 0)
		*t1 = base == DHCP6_INFINITY ? DHCP6_INFINITY : base / 2;
	if (*t2 == 0)
		*t2 = base == DHCP6_INFINITY ? DHCP6_INFINITY : (uint32_t)((uint64_t)base * 4 / 5);
	*t1 = MAX(*t1, 1u);
	*t2 = MAX(*t2, 1u);
	if (*t1 > *t2)
		*t1 = *t2;
}

static void handle_reply(struct dhcp6_client *c, const struct dhcp6_message *m,
			 const struct in6_addr *from)
{
	const struct dhcp6_ia_na *ia;
	const struct dhcp6_ia_addr *a;
	struct dhcp6_lease lease;
	uint16_t ia_status = m->ia_na.status.present ? m->ia_na.status.code : 0;
	char addr[INET6_ADDRSTRLEN];
	uint64_t now = loop_now_ms();
	bool renewed;

	switch (c->state) {
	case STATE_SOLICITING:
		/* only the answer to a Rapid Commit SOLICIT (§18.2.1) */
		if (!c->rapid_commit || !m->rapid_commit || c->delayed_start)
			return;
		break;
	case STATE_REQUESTING:
	case STATE_RENEWING:
	case STATE_REBINDING:
		break;
	default:
		return;
	}
	if (status_failed(&m->status)) {
		log_info("%s: DHCPv6 REPLY with status %s", c->ifname, dhcp6_status_name(m->status.code));
		/* UnspecFail, UseMulticast (we only multicast): retransmit */
		if (m->status.code == DHCP6_STATUS_NOT_ON_LINK) {
			if (c->bound)
				lose_lease(c, "not on link");
			else
				solicit_later(c);
		}
		return;
	}
	if (m->has_ia_na && m->ia_na.iaid == c->iaid && status_failed(&m->ia_na.status)) {
		log_info("%s: DHCPv6 REPLY: %s for our IA_NA", c->ifname, dhcp6_status_name(ia_status));
		if (ia_status == DHCP6_STATUS_NO_BINDING &&
		    (c->state == STATE_RENEWING || c->state == STATE_REBINDING)) {
			/* §18.2.10.1: the server forgot us: REQUEST the address again */
			memcpy(c->server_id, m->server_id, m->server_id_len);
			c->server_id_len = m->server_id_len;
			c->requested = c->lease.address;
			start_request(c, c->expiry_at_ms == UINT64_MAX ? 0 : c->expiry_at_ms);
		} else if (c->state == STATE_SOLICITING || c->state == STATE_REQUESTING) {
			solicit_later(c);
			report_no_lease(c);
		}
		/* otherwise keep the lease and retransmit until T2 or expiry */
		return;
	}
	ia = our_ia(c, m);
	if (!ia) {
		/* not an answer about our IA: keep retransmitting */
		log_debug("%s: ignoring a DHCPv6 REPLY without our IA_NA", c->ifname);
		return;
	}
	a = usable_address(ia);
	if (!a) {
		if (c->bound) {
			lose_lease(c, "withdrawn by the server");
		} else if (c->state == STATE_SOLICITING || c->state == STATE_REQUESTING) {
			log_info("%s: DHCPv6 REPLY without an address for us", c->ifname);
			solicit_later(c);
			report_no_lease(c);
		}
		return;
	}

	memset(&lease, 0, sizeof(lease));
	lease.address = a->address;
	lease.preferred_s = a->preferred_s;
	lease.valid_s = a->valid_s;
	choose_t1_t2(ia, a, &lease.t1_s, &lease.t2_s);
	for (unsigned i = 0; i < m->n_dns && i < DHCP6_LEASE_MAX_DNS; i++)
		lease.dns[lease.n_dns++] = m->dns[i];
	lease.server_addr = *from;

	if (c->bound && !IN6_ARE_ADDR_EQUAL(&c->lease.address, &lease.address)) {
		/* a different address: the old one is gone */
		struct dhcp6_lease old = c->lease;

		c->bound = false;
		c->cb(c, DHCP6_LOST, &old, c->userdata);
		if (c->state == STATE_STOPPED)
			return; /* released from the callback */
	}
	renewed = c->bound;
	c->bound = true;
	c->lease = lease;
	memcpy(c->server_id, m->server_id, m->server_id_len);
	c->server_id_len = m->server_id_len;
	c->t1_at_ms = at_ms(now, lease.t1_s);
	c->t2_at_ms = at_ms(now, lease.t2_s);
	c->expiry_at_ms = at_ms(now, lease.valid_s);
	c->state = STATE_BOUND;
	c->retry_delay_ms = 0;
	c->reported_no_lease = false;
	arm_lease_timer(c);
	inet_ntop(AF_INET6, &lease.address, addr, sizeof(addr));
	log_info("%s: DHCPv6 %s %s, valid %u s, T1 %u s", c->ifname, renewed ? "renewed" : "bound",
		 addr, lease.valid_s, lease.t1_s);
	c->cb(c, renewed ? DHCP6_RENEWED : DHCP6_BOUND, &c->lease, c->userdata);
}

/* Read and handle one datagram: 0, or a negative errno (-EAGAIN: none left). */
static int receive_one(struct dhcp6_client *c)
{
	uint8_t buf[4096];
	struct sockaddr_in6 from;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	struct dhcp6_message m;
	ssize_t n;
	int r;

	n = recvmsg(c->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (mh.msg_namelen < sizeof(from) || from.sin6_family != AF_INET6 ||
	    ntohs(from.sin6_port) != DHCP6_SERVER_PORT || (mh.msg_flags & MSG_TRUNC))
		return 0;
	r = dhcp6_parse(buf, (size_t)n, &m);
	if (r < 0) {
		log_debug("%s: ignoring a malformed DHCPv6 message", c->ifname);
		return 0;
	}
	/* ours: this exchange's transaction, our DUID (§16.3, §16.10) */
	if (m.xid != c->xid || m.client_id_len != sizeof(c->duid) ||
	    memcmp(m.client_id, c->duid, sizeof(c->duid)) != 0) {
		log_debug("%s: ignoring DHCPv6 %s for another transaction or client", c->ifname,
			  dhcp6_type_name(m.type));
		return 0;
	}
	if (m.type == DHCP6_ADVERTISE)
		handle_advertise(c, &m);
	else if (m.type == DHCP6_REPLY)
		handle_reply(c, &m, &from.sin6_addr);
	return 0;
}

static void on_readable(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct dhcp6_client *c = userdata;

	/* a bounded batch per round; stop if a callback released the client */
	for (int i = 0; i < 16 && c->fd >= 0; i++) {
		int r = receive_one(c);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			log_warning_errno(r, "%s: receiving DHCPv6", c->ifname);
			return;
		}
	}
}

static int open_socket(struct dhcp6_client *c)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons(DHCP6_CLIENT_PORT) };
	_cleanup_close_ int fd = -1;
	int off = 0;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return log_warning_errno(errno, "%s: DHCPv6 socket", c->ifname);
	/* bound to the device first: then every NIC's client can have port 546 */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->ifname, (socklen_t)strlen(c->ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &c->ifindex, sizeof(c->ifindex)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0)
		return log_warning_errno(errno, "%s: setting up the DHCPv6 socket", c->ifname);
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		return log_warning_errno(errno, "%s: binding [::]:%d", c->ifname, DHCP6_CLIENT_PORT);
	c->fd = TAKE_FD(fd);
	return 0;
}

int dhcp6_client_start(struct dhcp6_client *c)
{
	int r;

	if (c->state != STATE_STOPPED)
		return -EALREADY;
	r = open_socket(c);
	if (r < 0)
		return r;
	r = loop_io_add(c->loop, c->fd, EPOLLIN, on_readable, c, &c->io);
	if (r < 0) {
		stop(c);
		return log_warning_errno(r, "%s: watching the DHCPv6 socket", c->ifname);
	}
	if (!c->timer) {
		r = loop_timer_new(c->loop, on_timer, c, &c->timer);
		if (r < 0) {
			stop(c);
			return r;
		}
	}
	c->bound = false;
	c->retry_delay_ms = 0;
	c->reported_no_lease = false;
	/* no random delay before the first SOLICIT (RFC 8415 §18.2.1 says
	 * SHOULD): it spreads out clients that boot together on one link,
	 * and this one starts after an RA, whose timing differs per host */
	start_soliciting(c, 0);
	return 0;
}

int dhcp6_client_release(struct dhcp6_client *c)
{
	int r = 0;

	if (c->state == STATE_STOPPED)
		return 0;
	if (c->bound) {
		char addr[INET6_ADDRSTRLEN];

		c->xid = random_u32(c) & 0xffffff;
		c->exchange_start_ms = loop_now_ms();
		r = send_message(c, DHCP6_RELEASE, c->exchange_start_ms);
		inet_ntop(AF_INET6, &c->lease.address, addr, sizeof(addr));
		if (r < 0)
			log_warning_errno(r, "%s: releasing %s", c->ifname, addr);
		else
			log_info("%s: DHCPv6 lease of %s released", c->ifname, addr);
		c->bound = false;
	}
	stop(c);
	return r;
}
