/* SPDX-License-Identifier: MIT */
/* The DHCPv4 client state machine of RFC 2131 §4.4, for one interface. */
#include "dhcp4_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "ipv4udp.h"
#include "log.h"
#include "util.h"

/* Retransmissions: 2, 4, 8 ... 64 s, each ±1 s (RFC 2131 §4.1 starts at 4;
 * 2 s gets a VM whose first DISCOVER was lost, e.g. before the link was up,
 * its address sooner). */
#define RESEND_FIRST_MS 2000
#define RESEND_MAX_SHIFT 5
#define RESEND_JITTER_MS 1000
/* REQUESTs of REQUESTING and REBOOTING before starting over with DISCOVER */
#define REQUEST_TRIES 4
/* after a NAK: wait 1 s, doubling on each NAK in a row, up to 64 s */
#define NAK_DELAY_FIRST_MS 1000
/* RENEWING, REBINDING: half of the time left, but no more often than this
 * (RFC 2131 §4.4.5) */
#define RENEW_RESEND_MIN_MS 60000
/* lease time sanity: no shorter than this; 1 h if the server sent none */
#define LEASE_MIN_S 10
#define LEASE_DEFAULT_S 3600
#define RECV_BUF_SIZE 4096
#define RECV_BATCH 16

enum state {
	STATE_STOPPED,
	STATE_INIT,	  /* waiting to start over with a DISCOVER */
	STATE_SELECTING,  /* DISCOVER sent, waiting for an OFFER */
	STATE_REQUESTING, /* REQUEST for an offer sent */
	STATE_REBOOTING,  /* REQUEST for a known address sent (INIT-REBOOT) */
	STATE_BOUND,
	STATE_RENEWING,	 /* REQUEST unicast to our server */
	STATE_REBINDING, /* REQUEST broadcast to any server */
};

static const char *const state_names[] = {
	[STATE_STOPPED] = "stopped",	   [STATE_INIT] = "init",
	[STATE_SELECTING] = "selecting",   [STATE_REQUESTING] = "requesting",
	[STATE_REBOOTING] = "rebooting",   [STATE_BOUND] = "bound",
	[STATE_RENEWING] = "renewing",	   [STATE_REBINDING] = "rebinding",
};

/* where a message goes */
enum dest {
	DEST_RAW_BROADCAST, /* AF_PACKET, from 0.0.0.0: we have no address */
	DEST_SERVER,	    /* UDP from our address to the lease's server */
	DEST_BROADCAST,	    /* UDP from our address to 255.255.255.255 */
};

struct dhcp4_client {
	struct loop *loop;
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t mac[6];
	dhcp4_client_cb cb;
	void *userdata;
	char hostname[DHCP4_HOSTNAME_MAX];
	struct in_addr reboot_address; /* 0: start with DISCOVER */
	uint16_t max_msg_size;

	enum state state;
	uint32_t xid;
	uint64_t rand_state;
	uint64_t start_ms;	  /* of this exchange, for secs */
	uint64_t request_sent_ms; /* first REQUEST of this exchange: leases count from it */
	unsigned attempt;	  /* messages sent in this exchange */
	unsigned naks;		  /* NAKs in a row */
	bool no_lease_reported;

	struct in_addr offered, offer_server; /* REQUESTING */
	bool has_lease;
	struct dhcp4_lease lease;
	uint64_t t1_ms, t2_ms, expiry_ms;

	int raw_fd, udp_fd;
	struct loop_io *raw_io, *udp_io;
	struct loop_timer *resend_timer, *lease_timer, *no_lease_timer;
	uint8_t rbuf[RECV_BUF_SIZE];
};

static void transmit(struct dhcp4_client *c);

/* A random 32-bit number: getrandom when the kernel has entropy, else a
 * generator seeded with the MAC and the time (a transaction id only has to
 * differ from other clients' and from our previous ones). */
static uint32_t random_u32(struct dhcp4_client *c)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	c->rand_state = c->rand_state * 6364136223846793005ULL + 1442695040888963407ULL +
			loop_now_ms();
	return (uint32_t)(c->rand_state >> 32);
}

static void notify(struct dhcp4_client *c, enum dhcp4_event ev, const struct dhcp4_lease *lease)
{
	if (c->cb)
		c->cb(c, ev, lease, c->userdata);
}

static void socket_close(int *fd, struct loop_io **io)
{
	loop_io_free(*io);
	*io = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void on_raw_readable(struct loop_io *io, int fd, uint32_t events, void *userdata);
static void on_udp_readable(struct loop_io *io, int fd, uint32_t events, void *userdata);

/*
 * The AF_PACKET socket for the time without an address: IPv4 packets of the
 * interface, link header stripped. The kernel filter passes only
 * unfragmented UDP to port 68; everything is checked again in user space.
 */
static int raw_open(struct dhcp4_client *c)
{
	static const struct sock_filter filter[] = {
		BPF_STMT(BPF_LD + BPF_B + BPF_ABS, 9), /* IPv4 protocol */
		BPF_JUMP(BPF_JMP + BPF_JEQ + BPF_K, IPPROTO_UDP, 0, 6),
		BPF_STMT(BPF_LD + BPF_H + BPF_ABS, 6), /* flags, fragment offset */
		BPF_JUMP(BPF_JMP + BPF_JSET + BPF_K, 0x3fff, 4, 0),
		BPF_STMT(BPF_LDX + BPF_B + BPF_MSH, 0), /* X = IPv4 header length */
		BPF_STMT(BPF_LD + BPF_H + BPF_IND, 2),	/* UDP destination port */
		BPF_JUMP(BPF_JMP + BPF_JEQ + BPF_K, DHCP4_CLIENT_PORT, 0, 1),
		BPF_STMT(BPF_RET + BPF_K, UINT32_MAX),
		BPF_STMT(BPF_RET + BPF_K, 0),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(filter),
				   .filter = (struct sock_filter *)filter };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = c->ifindex };
	int one = 1, r;
	_cleanup_close_ int fd = -1;

	if (c->raw_fd >= 0)
		return 0;
	/* protocol 0: nothing is queued before bind, and by then the filter
	 * is in place */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	r = loop_io_add(c->loop, fd, EPOLLIN, on_raw_readable, c, &c->raw_io);
	if (r < 0)
		return r;
	c->raw_fd = TAKE_FD(fd);
	return 0;
}

/*
 * The UDP socket of a client with an address: port 68 on the interface. It
 * is bound to 0.0.0.0, not to the address, because servers broadcast their
 * NAKs (RFC 2131 §4.3.2); what we send leaves from the address (IP_PKTINFO).
 */
static int udp_open(struct dhcp4_client *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(DHCP4_CLIENT_PORT),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, r;
	_cleanup_close_ int fd = -1;

	if (c->udp_fd >= 0)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->ifname, strlen(c->ifname) + 1) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	r = loop_io_add(c->loop, fd, EPOLLIN, on_udp_readable, c, &c->udp_io);
	if (r < 0)
		return r;
	c->udp_fd = TAKE_FD(fd);
	return 0;
}

static uint16_t elapsed_secs(const struct dhcp4_client *c)
{
	return (uint16_t)MIN((loop_now_ms() - c->start_ms) / 1000, (uint64_t)UINT16_MAX);
}

/* The options every REQUEST and DISCOVER carries besides its own. */
static void add_request_options(struct dhcp4_client *c, struct dhcp4_msg *m)
{
	static const uint8_t prl[] = {
		DHCP4_OPT_SUBNET_MASK, DHCP4_OPT_ROUTER,     DHCP4_OPT_DNS,
		DHCP4_OPT_HOSTNAME,    DHCP4_OPT_DOMAIN,     DHCP4_OPT_MTU,
		DHCP4_OPT_LEASE_TIME,  DHCP4_OPT_SERVER_ID,  DHCP4_OPT_T1,
		DHCP4_OPT_T2,	       DHCP4_OPT_CLASSLESS_ROUTES,
	};

	m->secs = elapsed_secs(c);
	m->has_max_msg_size = true;
	m->max_msg_size = c->max_msg_size;
	memcpy(m->prl, prl, sizeof(prl));
	m->n_prl = ARRAY_SIZE(prl);
	memcpy(m->hostname, c->hostname, sizeof(m->hostname));
}

/* The message of type for the current state (RFC 2131 table 5). */
static ssize_t build_message(struct dhcp4_client *c, uint8_t type, uint8_t *buf, size_t size)
{
	struct dhcp4_msg m = {
		.op = DHCP4_BOOTREQUEST,
		.htype = DHCP4_HTYPE_ETHER,
		.hlen = 6,
		.xid = c->xid,
		.type = type,
		.client_id_len = 7,
	};

	memcpy(m.chaddr, c->mac, 6);
	/* RFC 2132 §9.14: hardware type, then the MAC */
	m.client_id[0] = DHCP4_HTYPE_ETHER;
	memcpy(m.client_id + 1, c->mac, 6);

	if (type == DHCP4_RELEASE) {
		m.ciaddr = c->lease.address;
		m.has_server_id = true;
		m.server_id = c->lease.server;
		return dhcp4_build(&m, buf, size);
	}

	add_request_options(c, &m);
	switch (c->state) {
	case STATE_SELECTING:
		break;
	case STATE_REQUESTING:
		m.has_requested_ip = true;
		m.requested_ip = c->offered;
		m.has_server_id = true;
		m.server_id = c->offer_server;
		break;
	case STATE_REBOOTING:
		m.has_requested_ip = true;
		m.requested_ip = c->reboot_address;
		break;
	case STATE_RENEWING:
	case STATE_REBINDING:
		m.ciaddr = c->lease.address;
		break;
	default:
		return -EINVAL;
	}
	/* without an address we cannot take unicast replies */
	if (c->state != STATE_RENEWING && c->state != STATE_REBINDING)
		m.flags = DHCP4_FLAG_BROADCAST;
	return dhcp4_build(&m, buf, size);
}

static int send_message(struct dhcp4_client *c, uint8_t type, enum dest dest)
{
	uint8_t pkt[IPV4UDP_HEADER_LEN + 1024];
	uint8_t *payload = pkt + IPV4UDP_HEADER_LEN;
	ssize_t n = build_message(c, type, payload, sizeof(pkt) - IPV4UDP_HEADER_LEN);

	if (n < 0)
		return (int)n;

	if (dest == DEST_RAW_BROADCAST) {
		struct ipv4udp_addr a = { .src.s_addr = htonl(INADDR_ANY),
					  .dst.s_addr = htonl(INADDR_BROADCAST),
					  .sport = DHCP4_CLIENT_PORT,
					  .dport = DHCP4_SERVER_PORT };
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_IP),
					   .sll_ifindex = c->ifindex,
					   .sll_halen = ETH_ALEN };
		ssize_t len = ipv4udp_wrap(pkt, (size_t)n, &a);

		if (len < 0)
			return (int)len;
		memset(sll.sll_addr, 0xff, ETH_ALEN);
		if (c->raw_fd < 0)
			return -ENOTCONN;
		if (sendto(c->raw_fd, pkt, (size_t)len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			return -errno;
		return 0;
	}

	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(DHCP4_SERVER_PORT) };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} control = { 0 };
	struct iovec iov = { .iov_base = payload, .iov_len = (size_t)n };
	struct msghdr mh = { .msg_name = &to,
			     .msg_namelen = sizeof(to),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = &control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo info = { .ipi_ifindex = c->ifindex, .ipi_spec_dst = c->lease.address };
	int r = udp_open(c);

	if (r < 0)
		return r;
	to.sin_addr.s_addr = dest == DEST_SERVER ? c->lease.server.s_addr : htonl(INADDR_BROADCAST);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(info));
	memcpy(CMSG_DATA(cm), &info, sizeof(info));
	if (sendmsg(c->udp_fd, &mh, 0) < 0)
		return -errno;
	return 0;
}

/* The delay after the attempt-th message of an exchange: doubling from
 * RESEND_FIRST_MS, ±1 s. */
static uint64_t backoff_ms(struct dhcp4_client *c)
{
	uint64_t base = (uint64_t)RESEND_FIRST_MS << MIN(c->attempt, (unsigned)RESEND_MAX_SHIFT);

	return base - RESEND_JITTER_MS + random_u32(c) % (2 * RESEND_JITTER_MS + 1);
}

/* RENEWING and REBINDING: half the time left until deadline, at least
 * RENEW_RESEND_MIN_MS (the lease timer moves us on at the deadline). */
static uint64_t renew_backoff_ms(uint64_t deadline)
{
	uint64_t now = loop_now_ms(), left = deadline > now ? deadline - now : 0;

	return MAX(left / 2, (uint64_t)RENEW_RESEND_MIN_MS);
}

/* Begin a new exchange: a fresh xid, the clock of secs, no tries yet. */
static void new_exchange(struct dhcp4_client *c, enum state state)
{
	c->state = state;
	c->xid = random_u32(c);
	c->start_ms = loop_now_ms();
	c->attempt = 0;
}

/* Send the current state's message and arm its retransmission. */
static void transmit(struct dhcp4_client *c)
{
	uint8_t type = c->state == STATE_SELECTING ? DHCP4_DISCOVER : DHCP4_REQUEST;
	enum dest dest = DEST_RAW_BROADCAST;
	uint64_t next;
	int r;

	if (type == DHCP4_REQUEST && c->attempt == 0)
		c->request_sent_ms = loop_now_ms();
	switch (c->state) {
	case STATE_RENEWING:
		dest = DEST_SERVER;
		next = renew_backoff_ms(c->t2_ms);
		break;
	case STATE_REBINDING:
		dest = DEST_BROADCAST;
		next = renew_backoff_ms(c->expiry_ms);
		break;
	default:
		next = backoff_ms(c);
		break;
	}
	c->attempt++;

	r = send_message(c, type, dest);
	if (r < 0)
		log_warning_errno(r, "dhcp4 %s: cannot send %s (%s)", c->ifname,
				  type == DHCP4_DISCOVER ? "DISCOVER" : "REQUEST",
				  state_names[c->state]);
	else
		log_debug("dhcp4 %s: sent %s (%s), next try in %llu ms", c->ifname,
			  type == DHCP4_DISCOVER ? "DISCOVER" : "REQUEST", state_names[c->state],
			  (unsigned long long)next);
	/* a failed send is retried like a lost one */
	loop_timer_in(c->resend_timer, next);
}

/* INIT -> SELECTING: broadcast a DISCOVER. */
static void start_discover(struct dhcp4_client *c)
{
	int r = raw_open(c);

	if (r < 0) {
		log_warning_errno(r, "dhcp4 %s: cannot open the packet socket", c->ifname);
		c->state = STATE_INIT;
		loop_timer_in(c->resend_timer, backoff_ms(c));
		c->attempt++;
		return;
	}
	new_exchange(c, STATE_SELECTING);
	transmit(c);
}

/* Back to INIT: forget the lease (the caller reported it lost) and start
 * over after delay_ms. */
static void enter_init(struct dhcp4_client *c, uint64_t delay_ms)
{
	socket_close(&c->udp_fd, &c->udp_io);
	loop_timer_stop(c->lease_timer);
	c->has_lease = false;
	c->state = STATE_INIT;
	c->attempt = 0;
	loop_timer_in(c->resend_timer, delay_ms);
}

static void on_resend(struct loop_timer *t, void *userdata)
{
	struct dhcp4_client *c = userdata;

	switch (c->state) {
	case STATE_INIT:
		start_discover(c);
		break;
	case STATE_REQUESTING:
	case STATE_REBOOTING:
		if (c->attempt >= REQUEST_TRIES) {
			log_info("dhcp4 %s: no answer to REQUEST (%s): starting over", c->ifname,
				 state_names[c->state]);
			c->reboot_address.s_addr = 0;
			start_discover(c);
			break;
		}
		transmit(c);
		break;
	case STATE_SELECTING:
	case STATE_RENEWING:
	case STATE_REBINDING:
		transmit(c);
		break;
	default:
		break;
	}
}

/* A usable unicast address for us: not 0/8, loopback, multicast, class E
 * or broadcast. */
static bool address_usable(struct in_addr a)
{
	uint8_t first = (uint8_t)(ntohl(a.s_addr) >> 24);

	return first != 0 && first != 127 && first < 224;
}

/* Clamp the lease times so that 0 < T1 < T2 < lease and lease >= LEASE_MIN_S,
 * with RFC 2131 §4.4.5's defaults for what is missing or inconsistent. */
static void lease_times(const struct dhcp4_msg *m, struct dhcp4_lease *l)
{
	uint32_t lease = m->has_lease_time ? m->lease_time : LEASE_DEFAULT_S;
	uint32_t t1, t2;

	if (lease == DHCP4_INFINITE_LEASE) {
		l->lease_s = l->t1_s = l->t2_s = DHCP4_INFINITE_LEASE;
		return;
	}
	lease = MAX(lease, (uint32_t)LEASE_MIN_S);
	t2 = m->has_t2 ? m->t2 : 0;
	if (t2 < 2 || t2 >= lease)
		t2 = (uint32_t)((uint64_t)lease * 7 / 8);
	t1 = m->has_t1 ? m->t1 : 0;
	if (t1 < 1 || t1 >= t2)
		t1 = lease / 2;
	if (t1 >= t2)
		t1 = t2 / 2;
	l->lease_s = lease;
	l->t1_s = t1;
	l->t2_s = t2;
}

/* The lease an ACK grants; -EINVAL when it is unusable. */
static int lease_from_ack(const struct dhcp4_msg *m, struct dhcp4_lease *l)
{
	if (!address_usable(m->yiaddr) || !m->has_server_id)
		return -EINVAL;
	*l = (struct dhcp4_lease){
		.address = m->yiaddr,
		.subnet_mask = m->has_subnet_mask ? m->subnet_mask : (struct in_addr){ 0 },
		.router = m->router,
		.has_router = m->has_router,
		.server = m->server_id,
		.n_routes = m->n_routes,
		.n_dns = m->n_dns,
		.mtu = m->has_mtu ? m->mtu : 0,
	};
	memcpy(l->routes, m->routes, sizeof(l->routes));
	memcpy(l->dns, m->dns, sizeof(l->dns));
	memcpy(l->hostname, m->hostname, sizeof(l->hostname));
	memcpy(l->domain, m->domain, sizeof(l->domain));
	lease_times(m, l);
	return 0;
}

static void enter_bound(struct dhcp4_client *c)
{
	c->state = STATE_BOUND;
	c->naks = 0;
	c->reboot_address.s_addr = 0;
	loop_timer_stop(c->resend_timer);
	loop_timer_stop(c->no_lease_timer);
	/* from now on the UDP socket, on the (new) address */
	socket_close(&c->raw_fd, &c->raw_io);
	socket_close(&c->udp_fd, &c->udp_io);
	if (c->lease.lease_s == DHCP4_INFINITE_LEASE) {
		loop_timer_stop(c->lease_timer);
		return;
	}
	c->t1_ms = c->request_sent_ms + (uint64_t)c->lease.t1_s * 1000;
	c->t2_ms = c->request_sent_ms + (uint64_t)c->lease.t2_s * 1000;
	c->expiry_ms = c->request_sent_ms + (uint64_t)c->lease.lease_s * 1000;
	loop_timer_set(c->lease_timer, c->t1_ms);
}

static void handle_offer(struct dhcp4_client *c, const struct dhcp4_msg *m)
{
	char a[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];

	if (!address_usable(m->yiaddr) || !m->has_server_id) {
		log_debug("dhcp4 %s: ignoring an OFFER without a usable address or server id",
			  c->ifname);
		return;
	}
	log_debug("dhcp4 %s: OFFER of %s from %s", c->ifname,
		  inet_ntop(AF_INET, &m->yiaddr, a, sizeof(a)),
		  inet_ntop(AF_INET, &m->server_id, s, sizeof(s)));
	c->offered = m->yiaddr;
	c->offer_server = m->server_id;
	/* the REQUEST keeps the DISCOVER's xid, and secs counts from it
	 * (RFC 2131 §4.4.1) */
	c->state = STATE_REQUESTING;
	c->attempt = 0;
	transmit(c);
}

static void handle_ack(struct dhcp4_client *c, const struct dhcp4_msg *m)
{
	struct dhcp4_lease lease, old = c->lease;
	bool had_lease = c->has_lease;
	bool renewal = c->state == STATE_RENEWING || c->state == STATE_REBINDING;
	char a[INET_ADDRSTRLEN];

	if (c->state == STATE_REQUESTING && (!m->has_server_id ||
					     m->server_id.s_addr != c->offer_server.s_addr))
		return; /* another server's answer to someone else's choice */
	if (lease_from_ack(m, &lease) < 0) {
		log_debug("dhcp4 %s: ignoring an ACK without a usable address or server id",
			  c->ifname);
		return;
	}
	c->lease = lease;
	c->has_lease = true;
	enter_bound(c);

	if (renewal && had_lease && old.address.s_addr == lease.address.s_addr) {
		notify(c, DHCP4_RENEWED, &c->lease);
		return;
	}
	if (lease.lease_s == DHCP4_INFINITE_LEASE)
		log_info("dhcp4 %s: bound to %s for ever", c->ifname,
			 inet_ntop(AF_INET, &lease.address, a, sizeof(a)));
	else
		log_info("dhcp4 %s: bound to %s for %" PRIu32 " s", c->ifname,
			 inet_ntop(AF_INET, &lease.address, a, sizeof(a)), lease.lease_s);
	if (had_lease) {
		/* a renewal gave us another address */
		notify(c, DHCP4_LOST, &old);
		if (c->state != STATE_BOUND)
			return; /* released by the callback */
	}
	notify(c, DHCP4_BOUND, &c->lease);
}

static void handle_nak(struct dhcp4_client *c, const struct dhcp4_msg *m)
{
	struct dhcp4_lease old = c->lease;
	bool had_lease = c->has_lease;
	uint64_t delay;

	if ((c->state == STATE_REQUESTING && m->has_server_id &&
	     m->server_id.s_addr != c->offer_server.s_addr) ||
	    (c->state == STATE_RENEWING && m->has_server_id &&
	     m->server_id.s_addr != c->lease.server.s_addr))
		return;
	log_info("dhcp4 %s: NAK (%s)%s%s", c->ifname, state_names[c->state],
		 m->message[0] ? ": " : "", m->message);
	delay = (uint64_t)NAK_DELAY_FIRST_MS << MIN(c->naks, (unsigned)RESEND_MAX_SHIFT + 1);
	c->naks++;
	c->reboot_address.s_addr = 0;
	enter_init(c, delay);
	if (had_lease)
		notify(c, DHCP4_LOST, &old);
}

/* One DHCP payload from either socket: ours only, and only what the state
 * waits for. */
static void handle_payload(struct dhcp4_client *c, const uint8_t *p, size_t n)
{
	struct dhcp4_msg m;
	int r;

	r = dhcp4_parse(p, n, &m);
	if (r < 0) {
		log_debug("dhcp4 %s: ignoring a malformed message", c->ifname);
		return;
	}
	if (m.op != DHCP4_BOOTREPLY || m.xid != c->xid || m.hlen != 6 ||
	    memcmp(m.chaddr, c->mac, 6) != 0)
		return;

	switch (c->state) {
	case STATE_SELECTING:
		if (m.type == DHCP4_OFFER)
			handle_offer(c, &m);
		break;
	case STATE_REQUESTING:
	case STATE_REBOOTING:
	case STATE_RENEWING:
	case STATE_REBINDING:
		if (m.type == DHCP4_ACK)
			handle_ack(c, &m);
		else if (m.type == DHCP4_NAK)
			handle_nak(c, &m);
		break;
	default:
		break;
	}
}

static void on_raw_readable(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct dhcp4_client *c = userdata;

	for (int i = 0; i < RECV_BATCH && c->raw_io == io; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} control;
		struct sockaddr_ll sll;
		struct iovec iov = { .iov_base = c->rbuf, .iov_len = sizeof(c->rbuf) };
		struct msghdr mh = { .msg_name = &sll,
				     .msg_namelen = sizeof(sll),
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = &control,
				     .msg_controllen = sizeof(control) };
		struct ipv4udp_addr addr;
		const uint8_t *payload;
		size_t len;
		unsigned flags = 0;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warning_errno(errno, "dhcp4 %s: packet socket", c->ifname);
			return;
		}
		if ((mh.msg_flags & MSG_TRUNC) || sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			struct tpacket_auxdata aux;
			if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
			    cm->cmsg_len < CMSG_LEN(sizeof(aux)))
				continue;
			memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
			/* sent by this host with checksum offload: not computed yet */
			if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
				flags |= IPV4UDP_SKIP_UDP_CSUM;
		}
		if (ipv4udp_unwrap(c->rbuf, (size_t)n, flags, &addr, &payload, &len) < 0 ||
		    addr.sport != DHCP4_SERVER_PORT || addr.dport != DHCP4_CLIENT_PORT)
			continue;
		handle_payload(c, payload, len);
	}
}

static void on_udp_readable(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct dhcp4_client *c = userdata;

	for (int i = 0; i < RECV_BATCH && c->udp_io == io; i++) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warning_errno(errno, "dhcp4 %s: UDP socket", c->ifname);
			return;
		}
		if ((size_t)n > sizeof(c->rbuf) || ntohs(from.sin_port) != DHCP4_SERVER_PORT)
			continue;
		handle_payload(c, c->rbuf, (size_t)n);
	}
}

/* T1: renew with our server; T2: rebind with any; expiry: lost. */
static void on_lease_timer(struct loop_timer *t, void *userdata)
{
	struct dhcp4_client *c = userdata;
	uint64_t now = loop_now_ms();
	char a[INET_ADDRSTRLEN];

	if (!c->has_lease)
		return;
	if (now >= c->expiry_ms) {
		struct dhcp4_lease old = c->lease;
		log_info("dhcp4 %s: lease of %s expired", c->ifname,
			 inet_ntop(AF_INET, &old.address, a, sizeof(a)));
		enter_init(c, 0);
		notify(c, DHCP4_LOST, &old);
		return;
	}
	if (now >= c->t2_ms) {
		if (c->state != STATE_REBINDING) {
			new_exchange(c, STATE_REBINDING);
			transmit(c);
		}
		loop_timer_set(c->lease_timer, c->expiry_ms);
		return;
	}
	if (c->state == STATE_BOUND) {
		new_exchange(c, STATE_RENEWING);
		transmit(c);
	}
	loop_timer_set(c->lease_timer, c->t2_ms);
}

static void on_no_lease(struct loop_timer *t, void *userdata)
{
	struct dhcp4_client *c = userdata;

	if (c->has_lease || c->no_lease_reported)
		return;
	c->no_lease_reported = true;
	log_info("dhcp4 %s: no lease yet, still trying", c->ifname);
	notify(c, DHCP4_NO_LEASE, NULL);
}

/* The interface's MTU, the largest reply we can take in one piece. */
static uint16_t link_max_msg_size(const char *ifname)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu < DHCP4_MIN_MAX_MSG_SIZE)
		return DHCP4_MIN_MAX_MSG_SIZE;
	return (uint16_t)MIN((size_t)ifr.ifr_mtu, (size_t)RECV_BUF_SIZE);
}

int dhcp4_client_new(struct loop *l, int ifindex, const char *ifname, const uint8_t mac[6],
		     dhcp4_client_cb cb, void *userdata, struct dhcp4_client **out)
{
	struct dhcp4_client *c;

	if (ifindex <= 0 || !ifname || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	c = xcalloc(1, sizeof(*c));
	c->loop = l;
	c->ifindex = ifindex;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	memcpy(c->mac, mac, 6);
	c->cb = cb;
	c->userdata = userdata;
	c->raw_fd = c->udp_fd = -1;
	for (int i = 0; i < 6; i++)
		c->rand_state = c->rand_state << 8 | mac[i];
	c->rand_state ^= (uint64_t)ifindex << 48;
	loop_timer_new(l, on_resend, c, &c->resend_timer);
	loop_timer_new(l, on_lease_timer, c, &c->lease_timer);
	loop_timer_new(l, on_no_lease, c, &c->no_lease_timer);
	*out = c;
	return 0;
}

void dhcp4_client_set_hostname(struct dhcp4_client *c, const char *hostname)
{
	c->hostname[0] = '\0';
	if (hostname && strlen(hostname) < sizeof(c->hostname))
		snprintf(c->hostname, sizeof(c->hostname), "%s", hostname);
}

void dhcp4_client_set_requested_address(struct dhcp4_client *c, struct in_addr address)
{
	c->reboot_address = address;
}

int dhcp4_client_start(struct dhcp4_client *c)
{
	int r;

	if (c->state != STATE_STOPPED)
		return -EALREADY;
	c->max_msg_size = link_max_msg_size(c->ifname);
	r = raw_open(c);
	if (r < 0)
		return log_warning_errno(r, "dhcp4 %s: cannot open the packet socket", c->ifname);
	c->no_lease_reported = false;
	loop_timer_in(c->no_lease_timer, DHCP4_CLIENT_NO_LEASE_MS);
	if (c->reboot_address.s_addr) {
		new_exchange(c, STATE_REBOOTING);
		transmit(c);
	} else {
		start_discover(c);
	}
	return 0;
}

static void stop(struct dhcp4_client *c)
{
	socket_close(&c->raw_fd, &c->raw_io);
	socket_close(&c->udp_fd, &c->udp_io);
	loop_timer_stop(c->resend_timer);
	loop_timer_stop(c->lease_timer);
	loop_timer_stop(c->no_lease_timer);
	c->has_lease = false;
	c->state = STATE_STOPPED;
}

int dhcp4_client_release(struct dhcp4_client *c)
{
	char a[INET_ADDRSTRLEN];
	int r = 0;

	if (c->has_lease) {
		/* RFC 2131 §4.4.6: unicast to the server, from the address */
		c->xid = random_u32(c);
		r = send_message(c, DHCP4_RELEASE, DEST_SERVER);
		if (r < 0)
			log_warning_errno(r, "dhcp4 %s: cannot send RELEASE", c->ifname);
		else
			log_info("dhcp4 %s: released %s", c->ifname,
				 inet_ntop(AF_INET, &c->lease.address, a, sizeof(a)));
	}
	stop(c);
	return r;
}

void dhcp4_client_free(struct dhcp4_client *c)
{
	if (!c)
		return;
	stop(c);
	loop_timer_free(c->resend_timer);
	loop_timer_free(c->lease_timer);
	loop_timer_free(c->no_lease_timer);
	free(c);
}
