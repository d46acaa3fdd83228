/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink for the init: the request builder, the parsers of the kernel's
 * replies and the blocking request/reply exchange on a NETLINK_ROUTE socket.
 * Replies are read with memcpy into local structs, never through pointers
 * into the buffer, and every length is checked against the bytes that are
 * really there before it is used.
 */
#include "netlink.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "log.h"
#include "util.h"

/* glibc's <net/if.h> stops at IFF_DYNAMIC, and <linux/if.h> clashes with it */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* One recv: the kernel sizes dump datagrams to the reader's buffer, up to
 * 32 KiB (netlink_recvmsg), so this never truncates a well-behaved reply. */
#define NL_RECV_SIZE (32 * 1024)
/* The kernel answers at once; this only keeps PID 1 from hanging forever. */
#define NL_TIMEOUT_S 5
/* Dumps restarted because links or addresses changed under them. */
#define NL_DUMP_ATTEMPTS 3

/* size_t alignment: NLMSG_ALIGN on a hostile uint32_t length would wrap. */
static size_t nl_align(size_t n)
{
	return (n + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
}

/* Bytes of an address of family, or -EAFNOSUPPORT. */
static int family_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return -EAFNOSUPPORT;
	}
}

/* ---- builder ---- */

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, uint32_t seq)
{
	/* zeroed so that padding and reserved fields go out as 0 */
	memset(m, 0, sizeof(*m));
	m->hdr.nlmsg_len = NLMSG_HDRLEN;
	m->hdr.nlmsg_type = type;
	m->hdr.nlmsg_flags = flags;
	m->hdr.nlmsg_seq = seq;
	m->len = NLMSG_HDRLEN;
}

/* Reserve n bytes (padded) at the end; NULL and overflow set if they do not fit. */
static uint8_t *nl_msg_reserve(struct nl_msg *m, size_t n)
{
	size_t padded = nl_align(n);
	uint8_t *p;

	if (m->overflow || padded > sizeof(m->buf) - m->len) {
		m->overflow = true;
		return NULL;
	}
	p = m->buf + m->len;
	m->len += padded;
	m->hdr.nlmsg_len = (uint32_t)m->len;
	return p;
}

void nl_msg_put(struct nl_msg *m, const void *data, size_t len)
{
	uint8_t *p = nl_msg_reserve(m, len);

	if (p)
		memcpy(p, data, len);
}

void nl_msg_put_attr(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
	struct rtattr rta;
	uint8_t *p;

	if (len > UINT16_MAX - RTA_LENGTH(0)) {
		m->overflow = true;
		return;
	}
	p = nl_msg_reserve(m, RTA_LENGTH(len));
	if (!p)
		return;
	rta.rta_len = (uint16_t)RTA_LENGTH(len);
	rta.rta_type = type;
	memcpy(p, &rta, sizeof(rta));
	memcpy(p + RTA_LENGTH(0), data, len);
}

void nl_msg_put_u32(struct nl_msg *m, uint16_t type, uint32_t value)
{
	nl_msg_put_attr(m, type, &value, sizeof(value));
}

/* The result of a builder: -ENOBUFS if anything did not fit. */
static int nl_msg_done(const struct nl_msg *m)
{
	return m->overflow ? -ENOBUFS : 0;
}

int nl_build_getlink(struct nl_msg *m, uint32_t seq)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

	nl_msg_init(m, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
	nl_msg_put(m, &ifi, sizeof(ifi));
	/* the statistics are most of a link message and we never read them */
	nl_msg_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_msg_done(m);
}

int nl_build_getaddr(struct nl_msg *m, uint32_t seq, int family)
{
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)family };

	nl_msg_init(m, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
	nl_msg_put(m, &ifa, sizeof(ifa));
	return nl_msg_done(m);
}

/* RTM_NEWLINK changing the flags in change to the values in flags. */
static void nl_build_setlink(struct nl_msg *m, uint32_t seq, int ifindex, unsigned flags,
			     unsigned change)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = flags,
		.ifi_change = change,
	};

	nl_msg_init(m, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
	nl_msg_put(m, &ifi, sizeof(ifi));
}

int nl_build_link_up(struct nl_msg *m, uint32_t seq, int ifindex)
{
	if (ifindex <= 0)
		return -EINVAL;
	nl_build_setlink(m, seq, ifindex, IFF_UP, IFF_UP);
	return nl_msg_done(m);
}

int nl_build_link_set_mtu(struct nl_msg *m, uint32_t seq, int ifindex, uint32_t mtu)
{
	if (ifindex <= 0)
		return -EINVAL;
	/* ifi_change 0 with ifi_flags 0: the flags are left alone */
	nl_build_setlink(m, seq, ifindex, 0, 0);
	nl_msg_put_u32(m, IFLA_MTU, mtu);
	return nl_msg_done(m);
}

int nl_build_addr(struct nl_msg *m, uint32_t seq, uint16_t type, uint16_t nlflags,
		  const struct nl_addr *a)
{
	int alen = family_addr_len(a->family);
	struct ifaddrmsg ifa;

	if (alen < 0)
		return alen;
	if (a->ifindex <= 0 || a->prefixlen > alen * 8)
		return -EINVAL;
	ifa = (struct ifaddrmsg){
		.ifa_family = (uint8_t)a->family,
		.ifa_prefixlen = a->prefixlen,
		.ifa_flags = (uint8_t)(a->flags & 0xff),
		.ifa_index = (uint32_t)a->ifindex,
	};
	nl_msg_init(m, type, NLM_F_REQUEST | NLM_F_ACK | nlflags, seq);
	nl_msg_put(m, &ifa, sizeof(ifa));
	/* IFA_LOCAL is our address, IFA_ADDRESS the peer's on point-to-point
	 * links: the same for a plain address, as `ip addr` sends them */
	nl_msg_put_attr(m, IFA_LOCAL, &a->addr, (size_t)alen);
	nl_msg_put_attr(m, IFA_ADDRESS, &a->addr, (size_t)alen);
	if (type == RTM_NEWADDR) {
		struct ifa_cacheinfo ci = {
			.ifa_prefered = a->preferred_s,
			.ifa_valid = a->valid_s,
		};

		/* ifa_flags has 8 bits; IFA_F_NOPREFIXROUTE and later need this */
		nl_msg_put_u32(m, IFA_FLAGS, a->flags);
		nl_msg_put_attr(m, IFA_CACHEINFO, &ci, sizeof(ci));
	}
	return nl_msg_done(m);
}

int nl_build_route(struct nl_msg *m, uint32_t seq, uint16_t type, uint16_t nlflags,
		   const struct nl_route *r)
{
	int alen = family_addr_len(r->family);
	bool add = type == RTM_NEWROUTE;
	struct rtmsg rtm;

	if (alen < 0)
		return alen;
	if (r->dst_len > alen * 8 || (r->dst_len > 0 && !r->dst) || r->ifindex < 0)
		return -EINVAL;
	rtm = (struct rtmsg){
		.rtm_family = (uint8_t)r->family,
		.rtm_dst_len = r->dst_len,
		.rtm_table = RT_TABLE_MAIN,
		/* on delete, protocol 0 and scope "nowhere" match any: the
		 * route is named by destination, gateway, device and metric */
		.rtm_protocol = add ? RTPROT_BOOT : RTPROT_UNSPEC,
		.rtm_scope = add ? r->scope : RT_SCOPE_NOWHERE,
		.rtm_type = RTN_UNICAST,
	};
	nl_msg_init(m, type, NLM_F_REQUEST | NLM_F_ACK | nlflags, seq);
	nl_msg_put(m, &rtm, sizeof(rtm));
	if (r->dst_len > 0)
		nl_msg_put_attr(m, RTA_DST, r->dst, (size_t)alen);
	if (r->gateway)
		nl_msg_put_attr(m, RTA_GATEWAY, r->gateway, (size_t)alen);
	if (r->ifindex > 0)
		nl_msg_put_u32(m, RTA_OIF, (uint32_t)r->ifindex);
	if (r->metric)
		nl_msg_put_u32(m, RTA_PRIORITY, r->metric);
	if (r->prefsrc)
		nl_msg_put_attr(m, RTA_PREFSRC, r->prefsrc, (size_t)alen);
	return nl_msg_done(m);
}

/* ---- parsers ---- */

/* An attribute's payload; data is NULL when the attribute is absent. */
struct nl_attr {
	const uint8_t *data;
	size_t len;
};

/* Index the attributes in [p, p+len) by type into tb[0..max): later
 * duplicates win, types >= max are skipped. Every rta_len is checked to be
 * at least a header and no longer than what is left. */
static int nl_parse_attrs(const uint8_t *p, size_t len, struct nl_attr *tb, size_t max)
{
	memset(tb, 0, max * sizeof(*tb));
	while (len > 0) {
		struct rtattr rta;
		uint16_t type;
		size_t step;

		if (len < sizeof(rta))
			return -EBADMSG;
		memcpy(&rta, p, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > len)
			return -EBADMSG;
		type = rta.rta_type & NLA_TYPE_MASK;
		if (type < max)
			tb[type] = (struct nl_attr){ p + RTA_LENGTH(0), rta.rta_len - RTA_LENGTH(0) };
		step = nl_align(rta.rta_len);
		if (step >= len)
			break; /* the last attribute may come without its padding */
		p += step;
		len -= step;
	}
	return 0;
}

/* A u32 attribute whose length the caller has checked; memcpy: no alignment assumed. */
static uint32_t attr_u32(const struct nl_attr *a)
{
	uint32_t v;

	memcpy(&v, a->data, sizeof(v));
	return v;
}

/* Check the header of a message of type want with a fixed header of fixed
 * bytes; copy the header into hdr and the fixed header into body, and point
 * attrs at the attributes that follow. */
static int nl_message(const struct nlmsghdr *h, size_t len, uint16_t want, struct nlmsghdr *hdr,
		      void *body, size_t fixed, const uint8_t **attrs, size_t *attrs_len)
{
	size_t start = NLMSG_HDRLEN + nl_align(fixed);

	if (len < sizeof(*hdr))
		return -EBADMSG;
	memcpy(hdr, h, sizeof(*hdr));
	if (hdr->nlmsg_len < NLMSG_HDRLEN || hdr->nlmsg_len > len)
		return -EBADMSG;
	if (hdr->nlmsg_type != want)
		return -ENOMSG;
	if (hdr->nlmsg_len < NLMSG_HDRLEN + fixed)
		return -EBADMSG;
	memcpy(body, (const uint8_t *)h + NLMSG_HDRLEN, fixed);
	*attrs = (const uint8_t *)h + start;
	*attrs_len = hdr->nlmsg_len > start ? hdr->nlmsg_len - start : 0;
	return 0;
}

int nl_next(const void *buf, size_t len, size_t *off, const struct nlmsghdr **out,
	    size_t *out_len)
{
	const uint8_t *p;
	size_t rest, step;
	uint32_t mlen;

	if (*off >= len)
		return 0;
	rest = len - *off;
	p = (const uint8_t *)buf + *off;
	if (rest < sizeof(struct nlmsghdr))
		return -EBADMSG;
	memcpy(&mlen, p + offsetof(struct nlmsghdr, nlmsg_len), sizeof(mlen));
	if (mlen < sizeof(struct nlmsghdr) || mlen > rest)
		return -EBADMSG;
	*out = (const struct nlmsghdr *)(const void *)p;
	*out_len = mlen;
	step = nl_align(mlen);
	*off = step >= rest ? len : *off + step;
	return 1;
}

int nl_parse_link(const struct nlmsghdr *h, size_t len, struct nl_link *out)
{
	struct nl_attr tb[IFLA_CARRIER + 1];
	struct nlmsghdr hdr;
	struct ifinfomsg ifi;
	struct nl_link link = {};
	const uint8_t *attrs;
	size_t attrs_len;
	int r;

	r = nl_message(h, len, RTM_NEWLINK, &hdr, &ifi, sizeof(ifi), &attrs, &attrs_len);
	if (r < 0)
		return r;
	r = nl_parse_attrs(attrs, attrs_len, tb, ARRAY_SIZE(tb));
	if (r < 0)
		return r;
	if (ifi.ifi_index <= 0 || !tb[IFLA_IFNAME].data)
		return -EBADMSG;

	link.ifindex = ifi.ifi_index;
	link.flags = ifi.ifi_flags;
	link.type = ifi.ifi_type;
	/* the name must end inside both the attribute and our array */
	if (!memchr(tb[IFLA_IFNAME].data, '\0', MIN(tb[IFLA_IFNAME].len, sizeof(link.name))))
		return -EBADMSG;
	memcpy(link.name, tb[IFLA_IFNAME].data, strlen((const char *)tb[IFLA_IFNAME].data) + 1);
	if (!link.name[0])
		return -EBADMSG;
	/* lo has six zero bytes, tunnels have other lengths: keep zeros */
	if (tb[IFLA_ADDRESS].data && tb[IFLA_ADDRESS].len == sizeof(link.mac))
		memcpy(link.mac, tb[IFLA_ADDRESS].data, sizeof(link.mac));
	if (tb[IFLA_MTU].data) {
		if (tb[IFLA_MTU].len < sizeof(uint32_t))
			return -EBADMSG;
		link.mtu = attr_u32(&tb[IFLA_MTU]);
	}
	link.carrier = ifi.ifi_flags & IFF_LOWER_UP;
	if (tb[IFLA_CARRIER].data) {
		if (tb[IFLA_CARRIER].len < 1)
			return -EBADMSG;
		link.carrier = tb[IFLA_CARRIER].data[0] != 0;
	}
	*out = link;
	return 0;
}

int nl_parse_addr(const struct nlmsghdr *h, size_t len, struct nl_addr *out)
{
	struct nl_attr tb[IFA_FLAGS + 1];
	const struct nl_attr *addr;
	struct nlmsghdr hdr;
	struct ifaddrmsg ifa;
	struct nl_addr a = {};
	const uint8_t *attrs;
	size_t attrs_len;
	int r, alen;

	r = nl_message(h, len, RTM_NEWADDR, &hdr, &ifa, sizeof(ifa), &attrs, &attrs_len);
	if (r < 0)
		return r;
	alen = family_addr_len(ifa.ifa_family);
	if (alen < 0)
		return alen;
	r = nl_parse_attrs(attrs, attrs_len, tb, ARRAY_SIZE(tb));
	if (r < 0)
		return r;
	if (ifa.ifa_index == 0 || ifa.ifa_index > INT32_MAX || ifa.ifa_prefixlen > alen * 8)
		return -EBADMSG;

	a.ifindex = (int)ifa.ifa_index;
	a.family = ifa.ifa_family;
	a.prefixlen = ifa.ifa_prefixlen;
	a.scope = ifa.ifa_scope;
	a.flags = ifa.ifa_flags;
	/* IFA_LOCAL is ours when both are there (IFA_ADDRESS is then the peer) */
	addr = tb[IFA_LOCAL].data ? &tb[IFA_LOCAL] : &tb[IFA_ADDRESS];
	if (!addr->data || addr->len != (size_t)alen)
		return -EBADMSG;
	memcpy(&a.addr, addr->data, (size_t)alen);
	if (tb[IFA_FLAGS].data) {
		if (tb[IFA_FLAGS].len < sizeof(uint32_t))
			return -EBADMSG;
		a.flags = attr_u32(&tb[IFA_FLAGS]);
	}
	a.valid_s = a.preferred_s = NL_LIFETIME_INFINITE;
	if (tb[IFA_CACHEINFO].data) {
		struct ifa_cacheinfo ci;

		if (tb[IFA_CACHEINFO].len < sizeof(ci))
			return -EBADMSG;
		memcpy(&ci, tb[IFA_CACHEINFO].data, sizeof(ci));
		a.valid_s = ci.ifa_valid;
		a.preferred_s = ci.ifa_prefered;
	}
	*out = a;
	return 0;
}

int nl_parse_ack(const struct nlmsghdr *h, size_t len, int *error, const char **msg)
{
	struct nl_attr tb[NLMSGERR_ATTR_MSG + 1];
	const uint8_t *payload;
	struct nlmsghdr hdr;
	size_t plen, tlv_off;
	int err = 0, r;

	if (len < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, h, sizeof(hdr));
	if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > len)
		return -EBADMSG;
	payload = (const uint8_t *)h + NLMSG_HDRLEN;
	plen = hdr.nlmsg_len - NLMSG_HDRLEN;

	if (hdr.nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;

		if (plen < sizeof(e))
			return -EBADMSG;
		memcpy(&e, payload, sizeof(e));
		err = e.error;
		tlv_off = sizeof(e);
		/* uncapped, the whole request is echoed before the TLVs */
		if (!(hdr.nlmsg_flags & NLM_F_CAPPED) && (hdr.nlmsg_flags & NLM_F_ACK_TLVS)) {
			if (e.msg.nlmsg_len < NLMSG_HDRLEN || e.msg.nlmsg_len - NLMSG_HDRLEN > plen)
				return -EBADMSG;
			tlv_off += nl_align(e.msg.nlmsg_len - NLMSG_HDRLEN);
		}
	} else if (hdr.nlmsg_type == NLMSG_DONE) {
		/* a dump's end carries its status (old kernels: maybe nothing) */
		tlv_off = 0;
		if (plen >= sizeof(err)) {
			memcpy(&err, payload, sizeof(err));
			tlv_off = sizeof(err);
		}
	} else {
		return -ENOMSG;
	}
	if (err > 0 || err < -4095)
		return -EBADMSG;

	*msg = NULL;
	if (hdr.nlmsg_flags & NLM_F_ACK_TLVS) {
		if (tlv_off > plen)
			return -EBADMSG;
		r = nl_parse_attrs(payload + tlv_off, plen - tlv_off, tb, ARRAY_SIZE(tb));
		if (r < 0)
			return r;
		if (tb[NLMSGERR_ATTR_MSG].data) {
			const struct nl_attr *t = &tb[NLMSGERR_ATTR_MSG];

			if (!memchr(t->data, '\0', t->len))
				return -EBADMSG;
			if (t->data[0])
				*msg = (const char *)t->data;
		}
	}
	*error = err;
	return 0;
}

int nl_reply_feed(struct nl_reply *r, const void *buf, size_t len)
{
	const struct nlmsghdr *h;
	size_t off = 0, hlen;
	int k;

	while ((k = nl_next(buf, len, &off, &h, &hlen)) > 0) {
		struct nlmsghdr hdr;
		const char *msg;
		int err, q;

		memcpy(&hdr, h, sizeof(hdr));
		/* leftovers of an earlier request, or not meant for us */
		if (hdr.nlmsg_seq != r->seq || hdr.nlmsg_pid != r->portid)
			continue;
		if (hdr.nlmsg_flags & NLM_F_DUMP_INTR)
			r->interrupted = true;
		switch (hdr.nlmsg_type) {
		case NLMSG_ERROR:
		case NLMSG_DONE:
			q = nl_parse_ack(h, hlen, &err, &msg);
			if (q < 0)
				return q;
			if (msg)
				snprintf(r->ext_ack, sizeof(r->ext_ack), "%s", msg);
			/* the kernel's verdict on the request beats a callback's */
			if (err < 0)
				r->error = err;
			return 1;
		case NLMSG_OVERRUN:
			/* replies were lost: whatever we have is incomplete */
			r->error = -ENOBUFS;
			return 1;
		default:
			if (hdr.nlmsg_type < NLMSG_MIN_TYPE || !r->fn)
				continue;
			q = r->fn(h, hlen, r->userdata);
			if (q < 0 && r->error == 0)
				r->error = q;
		}
	}
	return k;
}

/* ---- socket ---- */

static uint32_t nl_seq;

static const char *nl_type_name(uint16_t type)
{
	switch (type) {
	case RTM_NEWLINK:
		return "RTM_NEWLINK";
	case RTM_GETLINK:
		return "RTM_GETLINK";
	case RTM_NEWADDR:
		return "RTM_NEWADDR";
	case RTM_DELADDR:
		return "RTM_DELADDR";
	case RTM_GETADDR:
		return "RTM_GETADDR";
	case RTM_NEWROUTE:
		return "RTM_NEWROUTE";
	case RTM_DELROUTE:
		return "RTM_DELROUTE";
	default:
		return "request";
	}
}

int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	_cleanup_close_ int fd = -1;
	int one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return log_warning_errno(errno, "netlink: socket");
	/* Best effort: without them errors are just less talkative (the
	 * kernel's message) or longer (our request echoed back). */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0)
		log_debug("netlink: no extended acks: %s", strerror(errno));
	if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		log_debug("netlink: no capped acks: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return log_warning_errno(errno, "netlink: SO_RCVTIMEO");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_warning_errno(errno, "netlink: bind");
	return TAKE_FD(fd);
}

/* The port id the kernel gave the socket at bind: replies carry it. */
static int nl_portid(int fd, uint32_t *out)
{
	struct sockaddr_nl sa;
	socklen_t salen = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
		return -errno;
	if (salen != sizeof(sa) || sa.nl_family != AF_NETLINK)
		return -ENOTSOCK;
	*out = sa.nl_pid;
	return 0;
}

static int nl_send(int fd, const struct nl_msg *m)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do
		n = sendto(fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == m->len ? 0 : -EIO;
}

/* Receive one datagram from the kernel into buf: its length, or -errno. */
static ssize_t nl_recv(int fd, uint8_t *buf, size_t size)
{
	for (;;) {
		struct sockaddr_nl from = {};
		struct iovec iov = { .iov_base = buf, .iov_len = size };
		struct msghdr mh = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n;

		/* MSG_TRUNC: the real length, so a cut datagram is seen */
		n = recvmsg(fd, &mh, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		/* only the kernel (port 0) answers requests */
		if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		if ((size_t)n > size || (mh.msg_flags & MSG_TRUNC))
			return log_warning_errno(EMSGSIZE, "netlink: %zd byte reply truncated", n);
		return n;
	}
}

int nl_request(int fd, struct nl_msg *m, nl_reply_fn fn, void *userdata)
{
	struct nl_reply reply = { .fn = fn, .userdata = userdata };
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	if (m->overflow)
		return -ENOBUFS;
	r = nl_portid(fd, &reply.portid);
	if (r < 0)
		return r;
	if (++nl_seq == 0)
		nl_seq = 1;
	reply.seq = m->hdr.nlmsg_seq = nl_seq;
	r = nl_send(fd, m);
	if (r < 0)
		return log_warning_errno(r, "netlink: sending %s", nl_type_name(m->hdr.nlmsg_type));

	buf = xmalloc(NL_RECV_SIZE);
	do {
		ssize_t n = nl_recv(fd, buf, NL_RECV_SIZE);

		if (n < 0)
			return (int)n;
		r = nl_reply_feed(&reply, buf, (size_t)n);
		if (r < 0)
			return log_warning_errno(r, "netlink: malformed reply to %s",
						 nl_type_name(m->hdr.nlmsg_type));
	} while (r == 0);

	if (reply.error < 0 && reply.ext_ack[0])
		log_msg(reply.error == -EEXIST ? LOG_DEBUG : LOG_WARNING, "netlink: %s: %s",
			nl_type_name(m->hdr.nlmsg_type), reply.ext_ack);
	if (reply.error == 0 && reply.interrupted)
		return -EAGAIN;
	return reply.error;
}

struct links_ctx {
	struct nl_link *out;
	size_t max, n, ignored;
};

static int links_add(const struct nlmsghdr *h, size_t len, void *userdata)
{
	struct links_ctx *ctx = userdata;
	struct nl_link link;
	int r;

	r = nl_parse_link(h, len, &link);
	if (r == -ENOMSG)
		return 0;
	if (r < 0)
		return r;
	if (ctx->n < ctx->max)
		ctx->out[ctx->n++] = link;
	else
		ctx->ignored++;
	return 0;
}

int nl_links(int fd, struct nl_link *out, size_t max, size_t *n)
{
	struct links_ctx ctx;
	struct nl_msg m;
	int r;

	r = nl_build_getlink(&m, 0);
	if (r < 0)
		return r;
	/* a dump interrupted by a link coming or going is redone */
	for (int attempt = 1;; attempt++) {
		ctx = (struct links_ctx){ .out = out, .max = max };
		r = nl_request(fd, &m, links_add, &ctx);
		if (r != -EAGAIN || attempt == NL_DUMP_ATTEMPTS)
			break;
	}
	if (r < 0)
		return r;
	if (ctx.ignored)
		log_debug("netlink: %zu links beyond the first %zu ignored", ctx.ignored, max);
	*n = ctx.n;
	return 0;
}

int nl_link_up(int fd, int ifindex)
{
	struct nl_msg m;
	int r;

	r = nl_build_link_up(&m, 0, ifindex);
	return r < 0 ? r : nl_request(fd, &m, NULL, NULL);
}

int nl_link_set_mtu(int fd, int ifindex, uint32_t mtu)
{
	struct nl_msg m;
	int r;

	r = nl_build_link_set_mtu(&m, 0, ifindex, mtu);
	return r < 0 ? r : nl_request(fd, &m, NULL, NULL);
}

static int nl_addr_change(int fd, uint16_t type, uint16_t nlflags, int ifindex, int family,
			  const void *addr, uint8_t prefixlen, uint32_t valid_s,
			  uint32_t preferred_s, unsigned flags)
{
	struct nl_addr a = {
		.ifindex = ifindex,
		.family = family,
		.prefixlen = prefixlen,
		.flags = flags,
		.valid_s = valid_s,
		.preferred_s = preferred_s,
	};
	struct nl_msg m;
	int alen, r;

	alen = family_addr_len(family);
	if (alen < 0)
		return alen;
	memcpy(&a.addr, addr, (size_t)alen);
	r = nl_build_addr(&m, 0, type, nlflags, &a);
	return r < 0 ? r : nl_request(fd, &m, NULL, NULL);
}

int nl_addr_add(int fd, int ifindex, int family, const void *addr, uint8_t prefixlen,
		uint32_t valid_s, uint32_t preferred_s, unsigned flags)
{
	return nl_addr_change(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, family, addr,
			      prefixlen, valid_s, preferred_s, flags);
}

int nl_addr_replace(int fd, int ifindex, int family, const void *addr, uint8_t prefixlen,
		    uint32_t valid_s, uint32_t preferred_s, unsigned flags)
{
	return nl_addr_change(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, family,
			      addr, prefixlen, valid_s, preferred_s, flags);
}

int nl_addr_del(int fd, int ifindex, int family, const void *addr, uint8_t prefixlen)
{
	return nl_addr_change(fd, RTM_DELADDR, 0, ifindex, family, addr, prefixlen, 0, 0, 0);
}

struct linklocal_ctx {
	int ifindex;
	unsigned seen, failed; /* link-local addresses, and those that failed DAD */
	bool ready;
	struct in6_addr addr;
};

static int linklocal_check(const struct nlmsghdr *h, size_t len, void *userdata)
{
	struct linklocal_ctx *ctx = userdata;
	struct nl_addr a;
	int r;

	r = nl_parse_addr(h, len, &a);
	if (r == -ENOMSG || r == -EAFNOSUPPORT)
		return 0;
	if (r < 0)
		return r;
	/* without strict checking the kernel dumps every link's addresses */
	if (a.ifindex != ctx->ifindex || a.family != AF_INET6 || !IN6_IS_ADDR_LINKLOCAL(&a.addr.v6))
		return 0;
	ctx->seen++;
	if (a.flags & IFA_F_DADFAILED)
		ctx->failed++;
	else if (!(a.flags & IFA_F_TENTATIVE) && !ctx->ready) {
		ctx->ready = true;
		ctx->addr = a.addr.v6;
	}
	return 0;
}

int nl_ipv6_linklocal_ready(int fd, int ifindex, struct in6_addr *out)
{
	struct linklocal_ctx ctx;
	struct nl_msg m;
	int r;

	r = nl_build_getaddr(&m, 0, AF_INET6);
	if (r < 0)
		return r;
	for (int attempt = 1;; attempt++) {
		ctx = (struct linklocal_ctx){ .ifindex = ifindex };
		r = nl_request(fd, &m, linklocal_check, &ctx);
		if (r != -EAGAIN || attempt == NL_DUMP_ATTEMPTS)
			break;
	}
	if (r < 0)
		return r;
	if (ctx.ready) {
		if (out)
			*out = ctx.addr;
		return 1;
	}
	return ctx.seen > 0 && ctx.failed == ctx.seen ? -EADDRINUSE : 0;
}

static int nl_route_change(int fd, uint16_t type, uint16_t nlflags, const struct nl_route *r)
{
	struct nl_msg m;
	int k;

	k = nl_build_route(&m, 0, type, nlflags, r);
	return k < 0 ? k : nl_request(fd, &m, NULL, NULL);
}

int nl_route_add(int fd, int family, const void *dst, uint8_t dst_len, const void *gateway,
		 int ifindex, uint8_t scope, uint32_t metric, const void *prefsrc)
{
	struct nl_route r = {
		.family = family,
		.dst = dst,
		.dst_len = dst_len,
		.gateway = gateway,
		.ifindex = ifindex,
		.scope = scope,
		.metric = metric,
		.prefsrc = prefsrc,
	};

	return nl_route_change(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r);
}

int nl_route_del(int fd, int family, const void *dst, uint8_t dst_len, const void *gateway,
		 int ifindex, uint8_t scope, uint32_t metric, const void *prefsrc)
{
	struct nl_route r = {
		.family = family,
		.dst = dst,
		.dst_len = dst_len,
		.gateway = gateway,
		.ifindex = ifindex,
		.scope = scope,
		.metric = metric,
		.prefsrc = prefsrc,
	};

	return nl_route_change(fd, RTM_DELROUTE, 0, &r);
}

/* ---- sysctl ---- */

/* A name the kernel would accept for a link (dev_valid_name), which also
 * makes it a single safe path component. */
static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
			return false;
	return true;
}

static bool sysctl_key_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int ipv6_conf_set(const char *ifname, const char *key, const char *value)
{
	_cleanup_close_ int fd = -1;
	char path[128];
	size_t len = strlen(value);
	ssize_t n;

	if (!ifname_valid(ifname) || !sysctl_key_valid(key))
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifname, key);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_warning_errno(errno, "sysctl %s", path);
	n = write(fd, value, len);
	if (n < 0)
		return log_warning_errno(errno, "sysctl %s=%s", path, value);
	if ((size_t)n != len)
		return log_warning_errno(EIO, "sysctl %s=%s: short write", path, value);
	return 0;
}
