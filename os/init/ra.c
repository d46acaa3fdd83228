/* SPDX-License-Identifier: MIT */
/* Router discovery for one NIC: solicit, then report RAs (see ra.h). */
#include "ra.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "log.h"
#include "ndp.h"
#include "util.h"

/* RFC 4861 §10: MAX_RTR_SOLICITATIONS and RTR_SOLICITATION_INTERVAL. */
#define MAX_SOLICITATIONS 3
#define SOLICITATION_INTERVAL_MS 4000
/* How often to look again while the link-local address is tentative (DAD
 * takes one to two seconds on a fresh link), and for how long before
 * telling the caller there is no router. */
#define ADDRESS_POLL_MS 100
#define ADDRESS_POLL_SLOW_MS 1000
#define ADDRESS_WAIT_MAX_MS (MAX_SOLICITATIONS * SOLICITATION_INTERVAL_MS)
/* Routers whose last RA is remembered to report only changes. */
#define MAX_ROUTERS 4

struct ra_client {
	struct loop *loop;
	int ifindex;
	char ifname[IF_NAMESIZE];
	bool has_mac;
	uint8_t mac[6];
	ra_client_cb cb;
	void *userdata;

	int fd;
	struct loop_io *io;
	struct loop_timer *timer;
	unsigned n_sent;
	uint64_t wait_since_ms; /* first attempt without a usable address, 0: none */
	bool got_ra, reported_none;

	struct ra_info last[MAX_ROUTERS];
	unsigned n_last, next_slot;
};

int ra_client_new(struct loop *l, int ifindex, const char *ifname, const uint8_t mac[6],
		  ra_client_cb cb, void *userdata, struct ra_client **out)
{
	struct ra_client *c;

	if (ifindex <= 0 || !ifname || strlen(ifname) >= IF_NAMESIZE || !cb)
		return -EINVAL;
	c = xcalloc(1, sizeof(*c));
	c->loop = l;
	c->ifindex = ifindex;
	strcpy(c->ifname, ifname);
	if (mac) {
		c->has_mac = true;
		memcpy(c->mac, mac, 6);
	}
	c->cb = cb;
	c->userdata = userdata;
	c->fd = -1;
	*out = c;
	return 0;
}

void ra_client_free(struct ra_client *c)
{
	if (!c)
		return;
	loop_io_free(c->io);
	loop_timer_free(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* A raw ICMPv6 socket on this NIC that sees only RAs, with their hop limit. */
static int open_socket(struct ra_client *c)
{
	_cleanup_close_ int fd = -1;
	struct icmp6_filter filter;
	int hops = 255, on = 1;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return log_warning_errno(errno, "%s: ICMPv6 socket", c->ifname);
	ICMP6_FILTER_SETBLOCKALL(&filter);
	ICMP6_FILTER_SETPASS(NDP_ROUTER_ADVERT, &filter);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->ifname, (socklen_t)strlen(c->ifname)) < 0 ||
	    /* RFC 4861 §6.1.1: NDP is only valid from the link itself */
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &c->ifindex, sizeof(c->ifindex)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) < 0)
		return log_warning_errno(errno, "%s: setting up the ICMPv6 socket", c->ifname);
	c->fd = TAKE_FD(fd);
	return 0;
}

/* One Router Solicitation to all-routers: 0, -EADDRNOTAVAIL while the
 * kernel has no usable (non-tentative) link-local address to send it from,
 * or another negative errno. */
static int send_solicitation(struct ra_client *c)
{
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_addr = { .s6_addr = { 0xff, 0x02, [15] = 2 } },
		.sin6_scope_id = (uint32_t)c->ifindex,
	};
	struct ndp_rs rs = { .has_source_mac = c->has_mac };
	uint8_t buf[NDP_MAX_SIZE];
	int n;

	memcpy(rs.source_mac, c->mac, 6);
	n = ndp_build_rs(&rs, buf, sizeof(buf));
	if (n < 0)
		return n;
	/* the kernel picks the source address and fills in the checksum */
	if (sendto(c->fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

static void report_none(struct ra_client *c)
{
	if (c->reported_none || c->got_ra)
		return;
	c->reported_none = true;
	c->cb(c, RA_NONE, NULL, c->userdata);
}

/* The solicitation timer: send the next RS, or wait for the address, or
 * give up soliciting (an RA that comes later is still reported). */
static void on_timer(struct loop_timer *t, void *userdata)
{
	struct ra_client *c = userdata;
	uint64_t now = loop_now_ms();
	int r;

	if (c->got_ra)
		return;
	if (c->n_sent >= MAX_SOLICITATIONS) {
		log_info("%s: no router advertisement after %u solicitations", c->ifname, c->n_sent);
		report_none(c);
		return;
	}
	r = send_solicitation(c);
	if (r == -EADDRNOTAVAIL || r == -ENETUNREACH) {
		/* tentative (DAD running) or no link-local address yet; or, just
		 * after the link came up, no fe80::/64 route yet */
		if (!c->wait_since_ms) {
			c->wait_since_ms = now;
			log_debug("%s: waiting for a usable link-local address", c->ifname);
		}
		if (now - c->wait_since_ms >= ADDRESS_WAIT_MAX_MS && !c->reported_none) {
			log_warning("%s: no usable link-local address after %u s", c->ifname,
				    ADDRESS_WAIT_MAX_MS / 1000);
			report_none(c);
		}
		loop_timer_in(t, c->reported_none ? ADDRESS_POLL_SLOW_MS : ADDRESS_POLL_MS);
		return;
	}
	if (r < 0)
		log_warning_errno(r, "%s: sending a router solicitation", c->ifname);
	else
		log_debug("%s: router solicitation %u sent", c->ifname, c->n_sent + 1);
	/* a failed send counts too: the link may never carry one */
	c->n_sent++;
	loop_timer_in(t, SOLICITATION_INTERVAL_MS);
}

static void ra_to_info(const struct ndp_ra *ra, const struct in6_addr *from, struct ra_info *info)
{
	memset(info, 0, sizeof(*info)); /* padding too: infos are compared whole */
	info->router = *from;
	info->lifetime_s = ra->router_lifetime_s;
	info->managed = ra->managed;
	info->other = ra->other;
	for (unsigned i = 0; i < ra->n_prefixes && i < RA_MAX_PREFIXES; i++) {
		const struct ndp_prefix *p = &ra->prefixes[i];

		info->prefixes[i].prefix = p->prefix;
		info->prefixes[i].len = p->len;
		info->prefixes[i].onlink = p->onlink;
		info->prefixes[i].autonomous = p->autonomous;
		info->prefixes[i].valid_s = p->valid_s;
		info->prefixes[i].preferred_s = p->preferred_s;
		info->n_prefixes++;
	}
	info->mtu = ra->mtu;
	for (unsigned i = 0; i < ra->n_dns && info->n_dns < RA_MAX_DNS; i++)
		/* RFC 8106 §5.1: lifetime 0 says the server must no longer be used */
		if (ra->dns_lifetime_s[i] > 0)
			info->dns[info->n_dns++] = ra->dns[i];
}

/* Remember info as its router's last RA; false when it is the same as before. */
static bool remember(struct ra_client *c, const struct ra_info *info)
{
	for (unsigned i = 0; i < c->n_last; i++)
		if (IN6_ARE_ADDR_EQUAL(&c->last[i].router, &info->router)) {
			if (memcmp(&c->last[i], info, sizeof(*info)) == 0)
				return false;
			c->last[i] = *info;
			return true;
		}
	if (c->n_last < MAX_ROUTERS) {
		c->last[c->n_last++] = *info;
	} else {
		/* more routers than slots: replace the oldest entry */
		c->last[c->next_slot] = *info;
		c->next_slot = (c->next_slot + 1) % MAX_ROUTERS;
	}
	return true;
}

/* The hop limit the packet arrived with, from its control message; -1 if absent. */
static int received_hop_limit(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int hops;

			memcpy(&hops, CMSG_DATA(cm), sizeof(hops));
			return hops;
		}
	return -1;
}

/* Read and handle one message: 0, or -EAGAIN when there is none. */
static int receive_one(struct ra_client *c)
{
	uint8_t buf[1500];
	union {
		struct cmsghdr align;
		uint8_t data[CMSG_SPACE(sizeof(int))];
	} control;
	struct sockaddr_in6 from;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	char addr[INET6_ADDRSTRLEN];
	struct ndp_ra ra;
	struct ra_info info;
	ssize_t n;
	int hops, r;

	n = recvmsg(c->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (mh.msg_namelen < sizeof(from) || from.sin6_family != AF_INET6)
		return 0;
	inet_ntop(AF_INET6, &from.sin6_addr, addr, sizeof(addr));
	/* RFC 4861 §6.1.2: a router's RA comes from its link-local address
	 * with hop limit 255, so it was not forwarded from elsewhere */
	hops = received_hop_limit(&mh);
	if (hops != 255) {
		log_debug("%s: ignoring RA from %s with hop limit %d", c->ifname, addr, hops);
		return 0;
	}
	if (!IN6_IS_ADDR_LINKLOCAL(&from.sin6_addr)) {
		log_debug("%s: ignoring RA from %s: not a link-local address", c->ifname, addr);
		return 0;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		log_debug("%s: ignoring oversized RA from %s", c->ifname, addr);
		return 0;
	}
	r = ndp_parse_ra(buf, (size_t)n, &ra);
	if (r < 0) {
		log_debug("%s: ignoring malformed RA from %s", c->ifname, addr);
		return 0;
	}
	c->got_ra = true;
	loop_timer_stop(c->timer);
	ra_to_info(&ra, &from.sin6_addr, &info);
	if (!remember(c, &info))
		return 0;
	log_debug("%s: RA from %s: lifetime %u s%s%s, %u prefixes", c->ifname, addr,
		  info.lifetime_s, info.managed ? ", managed" : "", info.other ? ", other" : "",
		  info.n_prefixes);
	c->cb(c, RA_RECEIVED, &info, c->userdata);
	return 0;
}

static void on_readable(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct ra_client *c = userdata;

	/* a bounded batch per round: a flood must not starve the rest */
	for (int i = 0; i < 16; i++) {
		int r = receive_one(c);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			log_warning_errno(r, "%s: receiving RAs", c->ifname);
			return;
		}
	}
}

int ra_client_start(struct ra_client *c)
{
	int r;

	if (c->fd >= 0)
		return -EALREADY;
	r = open_socket(c);
	if (r < 0)
		return r;
	r = loop_io_add(c->loop, c->fd, EPOLLIN, on_readable, c, &c->io);
	if (r < 0)
		return log_warning_errno(r, "%s: watching the ICMPv6 socket", c->ifname);
	r = loop_timer_new(c->loop, on_timer, c, &c->timer);
	if (r < 0)
		return r;
	/* the first solicitation goes out as soon as the address allows */
	loop_timer_in(c->timer, 0);
	return 0;
}
