/* SPDX-License-Identifier: MIT */
/*
 * The init's own small rtnetlink client: list links, bring them up, set the
 * MTU, add and remove addresses and routes, and tell when the kernel's IPv6
 * link-local address has passed DAD. No libmnl and no `ip`: PID 1 is a
 * static musl binary.
 *
 * Three layers, so that everything that touches kernel bytes is testable
 * without a kernel: the message builder (struct nl_msg, nl_build_*), the
 * reply parsers (nl_next, nl_parse_*, nl_reply_feed) and the socket calls
 * (nl_open and the requests), which send one request and block until the
 * kernel has answered it.
 */
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lifetime value the kernel reads as "forever". */
#define NL_LIFETIME_INFINITE UINT32_MAX

struct nl_link {
	int ifindex;
	char name[16];     /* IFNAMSIZ, NUL-terminated */
	uint8_t mac[6];    /* zero unless the link has a 6-byte hardware address */
	unsigned flags;    /* IFF_* */
	uint32_t mtu;
	uint16_t type;     /* ARPHRD_* */
	bool carrier;
};

union nl_inaddr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t bytes[16];
};

/* An address as the kernel reports it, and as nl_build_addr sends it. */
struct nl_addr {
	int ifindex;
	int family;            /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t scope;         /* RT_SCOPE_*, reports only */
	uint32_t flags;        /* IFA_F_* */
	union nl_inaddr addr;
	uint32_t valid_s;      /* NL_LIFETIME_INFINITE when forever */
	uint32_t preferred_s;
};

/* A route to add or delete. Pointers are NULL when absent; addresses are 4
 * or 16 bytes by family. */
struct nl_route {
	int family;
	const void *dst;       /* NULL with dst_len 0: the default route */
	uint8_t dst_len;
	const void *gateway;
	int ifindex;
	uint8_t scope;         /* RT_SCOPE_LINK for on-link host routes */
	uint32_t metric;       /* 0: the kernel's default */
	const void *prefsrc;
};

/* ---- message builder ---- */

#define NL_MSG_SIZE 512

/* One request; big enough for anything the init sends. A put that does not
 * fit sets overflow and the nl_build_* call fails with -ENOBUFS. */
struct nl_msg {
	union {
		struct nlmsghdr hdr;
		uint8_t buf[NL_MSG_SIZE];
	};
	size_t len;
	bool overflow;
};

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, uint32_t seq);
/* Append a fixed header (ifinfomsg, ifaddrmsg, rtmsg), padded to 4 bytes. */
void nl_msg_put(struct nl_msg *m, const void *data, size_t len);
void nl_msg_put_attr(struct nl_msg *m, uint16_t type, const void *data, size_t len);
void nl_msg_put_u32(struct nl_msg *m, uint16_t type, uint32_t value);

/* Dump requests: every link; every address of family (AF_UNSPEC: all). */
int nl_build_getlink(struct nl_msg *m, uint32_t seq);
int nl_build_getaddr(struct nl_msg *m, uint32_t seq, int family);
/* RTM_NEWLINK requests with NLM_F_ACK. */
int nl_build_link_up(struct nl_msg *m, uint32_t seq, int ifindex);
int nl_build_link_set_mtu(struct nl_msg *m, uint32_t seq, int ifindex, uint32_t mtu);
/* type RTM_NEWADDR/RTM_DELADDR; nlflags are added to NLM_F_REQUEST|NLM_F_ACK
 * (NLM_F_CREATE|NLM_F_EXCL to add, ...|NLM_F_REPLACE to refresh). Lifetimes
 * are sent on RTM_NEWADDR only. -EAFNOSUPPORT, -EINVAL on a bad prefix. */
int nl_build_addr(struct nl_msg *m, uint32_t seq, uint16_t type, uint16_t nlflags,
		  const struct nl_addr *a);
/* type RTM_NEWROUTE/RTM_DELROUTE in the main table, same nlflags rule. */
int nl_build_route(struct nl_msg *m, uint32_t seq, uint16_t type, uint16_t nlflags,
		   const struct nl_route *r);

/* ---- reply parsers: never trust a length; -EBADMSG on malformed input ---- */

/* Step through the messages of a received datagram: *off starts at 0.
 * Returns 1 with *out and *out_len (its nlmsg_len, checked to fit) set, 0 at
 * the end, -EBADMSG when a header is cut or its length lies. */
int nl_next(const void *buf, size_t len, size_t *off, const struct nlmsghdr **out,
	    size_t *out_len);

/* The parsers take a message and the bytes available at it; nlmsg_len must
 * fit in len. -ENOMSG when h is not the parser's message type. */
int nl_parse_link(const struct nlmsghdr *h, size_t len, struct nl_link *out);
/* -EAFNOSUPPORT for families other than AF_INET/AF_INET6. */
int nl_parse_addr(const struct nlmsghdr *h, size_t len, struct nl_addr *out);
/* NLMSG_ERROR or NLMSG_DONE: *error is 0 or the kernel's -errno, *msg its
 * extended-ack text (pointing into h) or NULL. */
int nl_parse_ack(const struct nlmsghdr *h, size_t len, int *error, const char **msg);

/* Called for every reply message of a request that is not the final
 * ACK/DONE; a negative return is remembered, and the request still reads
 * its replies to the end so that none are left on the socket. */
typedef int (*nl_reply_fn)(const struct nlmsghdr *h, size_t len, void *userdata);

/* The state of one request while its replies come in. */
struct nl_reply {
	uint32_t portid;       /* ours: replies carry it in nlmsg_pid */
	uint32_t seq;
	nl_reply_fn fn;        /* may be NULL */
	void *userdata;
	int error;             /* first error: the kernel's or fn's */
	bool interrupted;      /* the kernel flagged a dump as inconsistent */
	char ext_ack[128];     /* the kernel's extended-ack message, if any */
};

/* Feed one datagram from the kernel. Messages of other ports or sequence
 * numbers are skipped. Returns 0 while the request is unfinished, 1 when it
 * finished (the result is then r->error), -EBADMSG on a malformed datagram. */
int nl_reply_feed(struct nl_reply *r, const void *buf, size_t len);

/* ---- requests to the kernel: 0 or a negative errno ---- */

/* A blocking NETLINK_ROUTE socket with extended acks and capped error
 * replies; requests fail with -ETIMEDOUT if the kernel stays silent. */
int nl_open(void);

/* Send m (its sequence number is set here) and read the replies: fn sees
 * each message of a dump. The kernel's error is returned as such (EEXIST
 * included: callers decide) and its extended-ack message logged; -EAGAIN
 * when the kernel flagged a dump as interrupted by a change (nl_links and
 * nl_ipv6_linklocal_ready redo the dump a few times). */
int nl_request(int fd, struct nl_msg *m, nl_reply_fn fn, void *userdata);

/* Every link, up to max of them (the rest are ignored); *n is set to the
 * number stored. */
int nl_links(int fd, struct nl_link *out, size_t max, size_t *n);
int nl_link_up(int fd, int ifindex);
int nl_link_set_mtu(int fd, int ifindex, uint32_t mtu);

/* Add an address: -EEXIST if it is there already. valid_s/preferred_s may be
 * NL_LIFETIME_INFINITE; flags are IFA_F_* (IFA_F_NOPREFIXROUTE, IFA_F_NODAD...). */
int nl_addr_add(int fd, int ifindex, int family, const void *addr, uint8_t prefixlen,
		uint32_t valid_s, uint32_t preferred_s, unsigned flags);
/* Add or update an address in place (a renewed lease's lifetimes). */
int nl_addr_replace(int fd, int ifindex, int family, const void *addr, uint8_t prefixlen,
		    uint32_t valid_s, uint32_t preferred_s, unsigned flags);
int nl_addr_del(int fd, int ifindex, int family, const void *addr, uint8_t prefixlen);

/* Is there an IPv6 link-local address on ifindex that has passed DAD? 1 (and
 * *out set if out is not NULL), 0 if not yet, -EADDRINUSE if DAD failed on
 * every link-local address (it never will), or a negative errno. */
int nl_ipv6_linklocal_ready(int fd, int ifindex, struct in6_addr *out);

/* Routes in the main table: -EEXIST on a duplicate add, -ESRCH when the
 * route to delete is not there. */
int nl_route_add(int fd, int family, const void *dst, uint8_t dst_len, const void *gateway,
		 int ifindex, uint8_t scope, uint32_t metric, const void *prefsrc);
int nl_route_del(int fd, int family, const void *dst, uint8_t dst_len, const void *gateway,
		 int ifindex, uint8_t scope, uint32_t metric, const void *prefsrc);

/* Write /proc/sys/net/ipv6/conf/<ifname>/<key> (accept_ra, autoconf...).
 * -EINVAL for names that are not a plain interface name or key. */
int ipv6_conf_set(const char *ifname, const char *key, const char *value);
