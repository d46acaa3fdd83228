/* SPDX-License-Identifier: MIT */
/*
 * The init's rtnetlink code without a kernel: the builder against requests
 * written out byte by byte from the rtnetlink layout (nlmsghdr, then
 * ifinfomsg/ifaddrmsg/rtmsg, then attributes), the parsers against replies
 * as the kernel sends them, and malformed replies that must be refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>

#include "netlink.h"
#include "tap.h"

/* Netlink is in host byte order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define U16(x) (uint8_t)((x) & 0xff), (uint8_t)(((x) >> 8) & 0xff)
#define U32(x)                                                                   \
	(uint8_t)((x) & 0xff), (uint8_t)(((x) >> 8) & 0xff), (uint8_t)(((x) >> 16) & 0xff), \
		(uint8_t)(((uint32_t)(x) >> 24) & 0xff)
#else
#define U16(x) (uint8_t)(((x) >> 8) & 0xff), (uint8_t)((x) & 0xff)
#define U32(x)                                                                   \
	(uint8_t)(((uint32_t)(x) >> 24) & 0xff), (uint8_t)(((x) >> 16) & 0xff),          \
		(uint8_t)(((x) >> 8) & 0xff), (uint8_t)((x) & 0xff)
#endif

/* nlmsghdr: length, type, flags, sequence number, port id */
#define NLHDR(len, type, flags, seq, pid) U32(len), U16(type), U16(flags), U32(seq), U32(pid)
/* rtattr header */
#define ATTR(len, type) U16(len), U16(type)
/* ifinfomsg: family, pad, type, index, flags, change */
#define IFINFO(type, index, flags, change) 0, 0, U16(type), U32(index), U32(flags), U32(change)
/* ifaddrmsg: family, prefixlen, flags, scope, index */
#define IFADDR(family, plen, flags, scope, index) family, plen, flags, scope, U32(index)
/* rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags */
#define RTMSG(family, dst_len, protocol, scope) family, dst_len, 0, 0, 254, protocol, scope, 1, U32(0)

#define GOLDEN static const uint8_t __attribute__((aligned(4)))

#define REQ_ACK 0x0005          /* NLM_F_REQUEST | NLM_F_ACK */
#define REQ_ACK_EXCL 0x0605     /* ... | NLM_F_CREATE | NLM_F_EXCL */
#define PORT 0x1234

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void check_built(const struct nl_msg *m, const uint8_t *want, size_t want_len)
{
	CHECK(!m->overflow);
	CHECK_INT(m->len, want_len);
	CHECK_INT(m->hdr.nlmsg_len, want_len);
	if (m->len == want_len)
		CHECK_MEM(m->buf, want, want_len);
}

static void test_build_link(void)
{
	GOLDEN up[] = {
		NLHDR(32, RTM_NEWLINK, REQ_ACK, 7, 0),
		IFINFO(0, 2, IFF_UP, IFF_UP),
	};
	GOLDEN mtu[] = {
		NLHDR(40, RTM_NEWLINK, REQ_ACK, 8, 0),
		IFINFO(0, 3, 0, 0),
		ATTR(8, IFLA_MTU), U32(1400),
	};
	GOLDEN dump[] = {
		NLHDR(40, RTM_GETLINK, 0x0301 /* NLM_F_REQUEST | NLM_F_DUMP */, 9, 0),
		IFINFO(0, 0, 0, 0),
		ATTR(8, IFLA_EXT_MASK), U32(RTEXT_FILTER_SKIP_STATS),
	};
	struct nl_msg m;

	CHECK_INT(nl_build_link_up(&m, 7, 2), 0);
	check_built(&m, up, sizeof(up));
	CHECK_INT(nl_build_link_set_mtu(&m, 8, 3, 1400), 0);
	check_built(&m, mtu, sizeof(mtu));
	CHECK_INT(nl_build_getlink(&m, 9), 0);
	check_built(&m, dump, sizeof(dump));
	CHECK_INT(nl_build_link_up(&m, 7, 0), -EINVAL);
}

static void test_build_addr(void)
{
	GOLDEN v4[] = {
		NLHDR(68, RTM_NEWADDR, REQ_ACK_EXCL, 9, 0),
		IFADDR(AF_INET, 32, 0, 0, 2),
		ATTR(8, IFA_LOCAL), 10, 0, 0, 2,
		ATTR(8, IFA_ADDRESS), 10, 0, 0, 2,
		ATTR(8, IFA_FLAGS), U32(0),
		ATTR(20, IFA_CACHEINFO), U32(1800), U32(3600), U32(0), U32(0),
	};
	GOLDEN v6[] = {
		NLHDR(92, RTM_NEWADDR, REQ_ACK_EXCL, 10, 0),
		IFADDR(AF_INET6, 128, IFA_F_NODAD, 0, 2),
		ATTR(20, IFA_LOCAL), 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		ATTR(20, IFA_ADDRESS), 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		ATTR(8, IFA_FLAGS), U32(IFA_F_NOPREFIXROUTE | IFA_F_NODAD),
		ATTR(20, IFA_CACHEINFO), U32(0xffffffff), U32(0xffffffff), U32(0), U32(0),
	};
	GOLDEN del4[] = {
		NLHDR(40, RTM_DELADDR, REQ_ACK, 11, 0),
		IFADDR(AF_INET, 24, 0, 0, 5),
		ATTR(8, IFA_LOCAL), 192, 168, 1, 7,
		ATTR(8, IFA_ADDRESS), 192, 168, 1, 7,
	};
	struct nl_addr a = {
		.ifindex = 2,
		.family = AF_INET,
		.prefixlen = 32,
		.valid_s = 3600,
		.preferred_s = 1800,
	}, back;
	struct nl_msg m;

	inet_pton(AF_INET, "10.0.0.2", &a.addr.v4);
	CHECK_INT(nl_build_addr(&m, 9, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a), 0);
	check_built(&m, v4, sizeof(v4));
	/* what we send is what the kernel reports: same layout */
	CHECK_INT(nl_parse_addr(&m.hdr, m.len, &back), 0);
	CHECK_INT(back.ifindex, 2);
	CHECK_INT(back.prefixlen, 32);
	CHECK_INT(back.valid_s, 3600);
	CHECK_INT(back.preferred_s, 1800);
	CHECK_MEM(&back.addr.v4, &a.addr.v4, 4);

	a = (struct nl_addr){
		.ifindex = 2,
		.family = AF_INET6,
		.prefixlen = 128,
		.flags = IFA_F_NOPREFIXROUTE | IFA_F_NODAD,
		.valid_s = NL_LIFETIME_INFINITE,
		.preferred_s = NL_LIFETIME_INFINITE,
	};
	inet_pton(AF_INET6, "fd00::2", &a.addr.v6);
	CHECK_INT(nl_build_addr(&m, 10, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a), 0);
	check_built(&m, v6, sizeof(v6));

	a = (struct nl_addr){ .ifindex = 5, .family = AF_INET, .prefixlen = 24 };
	inet_pton(AF_INET, "192.168.1.7", &a.addr.v4);
	CHECK_INT(nl_build_addr(&m, 11, RTM_DELADDR, 0, &a), 0);
	check_built(&m, del4, sizeof(del4));

	a.prefixlen = 33;
	CHECK_INT(nl_build_addr(&m, 1, RTM_NEWADDR, 0, &a), -EINVAL);
	a.prefixlen = 24;
	a.family = AF_PACKET;
	CHECK_INT(nl_build_addr(&m, 1, RTM_NEWADDR, 0, &a), -EAFNOSUPPORT);
}

static void test_build_route(void)
{
	GOLDEN onlink[] = {
		NLHDR(44, RTM_NEWROUTE, REQ_ACK_EXCL, 11, 0),
		RTMSG(AF_INET, 32, RTPROT_BOOT, RT_SCOPE_LINK),
		ATTR(8, RTA_DST), 169, 254, 0, 1,
		ATTR(8, RTA_OIF), U32(2),
	};
	GOLDEN deflt[] = {
		NLHDR(44, RTM_NEWROUTE, REQ_ACK_EXCL, 12, 0),
		RTMSG(AF_INET, 0, RTPROT_BOOT, RT_SCOPE_UNIVERSE),
		ATTR(8, RTA_GATEWAY), 169, 254, 0, 1,
		ATTR(8, RTA_OIF), U32(2),
	};
	GOLDEN full[] = {
		NLHDR(68, RTM_NEWROUTE, REQ_ACK_EXCL, 13, 0),
		RTMSG(AF_INET, 24, RTPROT_BOOT, RT_SCOPE_UNIVERSE),
		ATTR(8, RTA_DST), 192, 0, 2, 0,
		ATTR(8, RTA_GATEWAY), 10, 0, 0, 1,
		ATTR(8, RTA_OIF), U32(3),
		ATTR(8, RTA_PRIORITY), U32(100),
		ATTR(8, RTA_PREFSRC), 10, 0, 0, 2,
	};
	/* delete: any protocol, any scope */
	GOLDEN del6[] = {
		NLHDR(64, RTM_DELROUTE, REQ_ACK, 14, 0),
		RTMSG(AF_INET6, 0, RTPROT_UNSPEC, RT_SCOPE_NOWHERE),
		ATTR(20, RTA_GATEWAY), 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		ATTR(8, RTA_OIF), U32(2),
		ATTR(8, RTA_PRIORITY), U32(1024),
	};
	struct in_addr gw, dst, net, gw2, src;
	struct in6_addr gw6;
	struct nl_route r;
	struct nl_msg m;

	inet_pton(AF_INET, "169.254.0.1", &gw);
	dst = gw;
	inet_pton(AF_INET, "192.0.2.0", &net);
	inet_pton(AF_INET, "10.0.0.1", &gw2);
	inet_pton(AF_INET, "10.0.0.2", &src);
	inet_pton(AF_INET6, "fe80::1", &gw6);

	r = (struct nl_route){ .family = AF_INET, .dst = &dst, .dst_len = 32, .ifindex = 2,
			       .scope = RT_SCOPE_LINK };
	CHECK_INT(nl_build_route(&m, 11, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r), 0);
	check_built(&m, onlink, sizeof(onlink));

	r = (struct nl_route){ .family = AF_INET, .gateway = &gw, .ifindex = 2 };
	CHECK_INT(nl_build_route(&m, 12, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r), 0);
	check_built(&m, deflt, sizeof(deflt));

	r = (struct nl_route){ .family = AF_INET, .dst = &net, .dst_len = 24, .gateway = &gw2,
			       .ifindex = 3, .metric = 100, .prefsrc = &src };
	CHECK_INT(nl_build_route(&m, 13, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r), 0);
	check_built(&m, full, sizeof(full));

	r = (struct nl_route){ .family = AF_INET6, .gateway = &gw6, .ifindex = 2,
			       .scope = RT_SCOPE_LINK, .metric = 1024 };
	CHECK_INT(nl_build_route(&m, 14, RTM_DELROUTE, 0, &r), 0);
	check_built(&m, del6, sizeof(del6));

	r = (struct nl_route){ .family = AF_INET, .dst_len = 8 };  /* no dst */
	CHECK_INT(nl_build_route(&m, 1, RTM_NEWROUTE, 0, &r), -EINVAL);
	r = (struct nl_route){ .family = AF_INET6, .dst = &gw6, .dst_len = 129 };
	CHECK_INT(nl_build_route(&m, 1, RTM_NEWROUTE, 0, &r), -EINVAL);
}

static void test_build_overflow(void)
{
	static uint8_t big[NL_MSG_SIZE];
	struct nl_msg m;

	nl_msg_init(&m, RTM_NEWLINK, 0, 1);
	nl_msg_put_attr(&m, IFLA_IFALIAS, big, 400);
	CHECK(!m.overflow);
	nl_msg_put_attr(&m, IFLA_IFALIAS, big, 400);
	CHECK(m.overflow);
	CHECK_INT(m.len, 16 + 404);
	nl_msg_init(&m, RTM_NEWLINK, 0, 1);
	nl_msg_put_attr(&m, IFLA_IFALIAS, big, 70000);
	CHECK(m.overflow);
}

/* RTM_NEWLINK for eth0 as a dump sends it, with attributes we skip. */
GOLDEN newlink[] = {
	NLHDR(88, RTM_NEWLINK, NLM_F_MULTI, 42, PORT),
	IFINFO(1 /* ARPHRD_ETHER */, 2, 0x11043 /* UP BROADCAST RUNNING MULTICAST LOWER_UP */, 0),
	ATTR(9, IFLA_IFNAME), 'e', 't', 'h', '0', 0, 0, 0, 0,
	ATTR(8, IFLA_MTU), U32(1500),
	ATTR(10, IFLA_ADDRESS), 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0,
	ATTR(5, IFLA_CARRIER), 1, 0, 0, 0,
	ATTR(8, 0x7f00 /* from a newer kernel */), U32(7),
	ATTR(8, NLA_F_NESTED | IFLA_LINKINFO), ATTR(4, 1),
};

static void test_parse_link(void)
{
	struct nl_link l;

	CHECK_INT(nl_parse_link((const struct nlmsghdr *)newlink, sizeof(newlink), &l), 0);
	CHECK_INT(l.ifindex, 2);
	CHECK_STR(l.name, "eth0");
	CHECK_MEM(l.mac, ((const uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }), 6);
	CHECK_INT(l.mtu, 1500);
	CHECK_INT(l.type, 1);
	CHECK_INT(l.flags, 0x11043);
	CHECK(l.carrier);

	/* an address message is not a link */
	GOLDEN other[] = { NLHDR(32, RTM_NEWADDR, 0, 1, 0), IFINFO(0, 2, 0, 0) };
	CHECK_INT(nl_parse_link((const struct nlmsghdr *)other, sizeof(other), &l), -ENOMSG);

	/* loopback: 6 zero bytes of address, carrier from IFF_LOWER_UP */
	GOLDEN lo[] = {
		NLHDR(52, RTM_NEWLINK, NLM_F_MULTI, 42, PORT),
		IFINFO(772, 1, 0x10049, 0),
		ATTR(7, IFLA_IFNAME), 'l', 'o', 0, 0,
		ATTR(10, IFLA_ADDRESS), 0, 0, 0, 0, 0, 0, 0, 0,
	};
	CHECK_INT(nl_parse_link((const struct nlmsghdr *)lo, sizeof(lo), &l), 0);
	CHECK_STR(l.name, "lo");
	CHECK_INT(l.mtu, 0);
	CHECK(l.carrier);
}

static void test_parse_addr(void)
{
	GOLDEN ll6[] = {
		NLHDR(72, RTM_NEWADDR, NLM_F_MULTI, 42, PORT),
		IFADDR(AF_INET6, 64, IFA_F_PERMANENT, RT_SCOPE_LINK, 2),
		ATTR(20, IFA_ADDRESS), 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0x12,
		0x34, 0x56,
		ATTR(20, IFA_CACHEINFO), U32(0xffffffff), U32(0xffffffff), U32(100), U32(100),
		ATTR(8, IFA_FLAGS), U32(IFA_F_PERMANENT | IFA_F_TENTATIVE),
	};
	/* point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer */
	GOLDEN p2p4[] = {
		NLHDR(52, RTM_NEWADDR, 0, 42, PORT),
		IFADDR(AF_INET, 32, 0, 0, 3),
		ATTR(8, IFA_ADDRESS), 10, 0, 0, 1,
		ATTR(8, IFA_LOCAL), 10, 0, 0, 2,
		ATTR(9, IFA_LABEL), 't', 'u', 'n', '0', 0, 0, 0, 0,
	};
	struct nl_addr a;
	char text[INET6_ADDRSTRLEN];

	CHECK_INT(nl_parse_addr((const struct nlmsghdr *)ll6, sizeof(ll6), &a), 0);
	CHECK_INT(a.family, AF_INET6);
	CHECK_INT(a.ifindex, 2);
	CHECK_INT(a.prefixlen, 64);
	CHECK_INT(a.scope, RT_SCOPE_LINK);
	CHECK_INT(a.flags, IFA_F_PERMANENT | IFA_F_TENTATIVE);
	CHECK_U64(a.valid_s, 0xffffffff);
	CHECK_STR(inet_ntop(AF_INET6, &a.addr.v6, text, sizeof(text)), "fe80::5054:ff:fe12:3456");

	CHECK_INT(nl_parse_addr((const struct nlmsghdr *)p2p4, sizeof(p2p4), &a), 0);
	CHECK_STR(inet_ntop(AF_INET, &a.addr.v4, text, sizeof(text)), "10.0.0.2");
	CHECK_INT(a.ifindex, 3);
	CHECK_U64(a.valid_s, NL_LIFETIME_INFINITE);
}

static void test_parse_ack(void)
{
	/* capped error with the kernel's message and the offending offset */
	GOLDEN err[] = {
		NLHDR(76, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 5, PORT),
		U32(-EEXIST),
		NLHDR(44, RTM_NEWROUTE, REQ_ACK_EXCL, 5, 0),
		ATTR(32, NLMSGERR_ATTR_MSG), 'N', 'e', 'x', 't', 'h', 'o', 'p', ' ', 'h', 'a', 's', ' ',
		'i', 'n', 'v', 'a', 'l', 'i', 'd', ' ', 'g', 'a', 't', 'e', 'w', 'a', 'y', 0,
		ATTR(8, NLMSGERR_ATTR_OFFS), U32(32),
	};
	/* not capped: the request (a link-up) is echoed before the TLVs */
	GOLDEN echoed[] = {
		NLHDR(64, NLMSG_ERROR, NLM_F_ACK_TLVS, 6, PORT),
		U32(-ENODEV),
		NLHDR(32, RTM_NEWLINK, REQ_ACK, 6, 0),
		IFINFO(0, 99, IFF_UP, IFF_UP),
		ATTR(12, NLMSGERR_ATTR_MSG), 'n', 'o', ' ', 'd', 'e', 'v', 0, 0,
	};
	GOLDEN ack[] = {
		NLHDR(36, NLMSG_ERROR, NLM_F_CAPPED, 7, PORT),
		U32(0),
		NLHDR(32, RTM_NEWLINK, REQ_ACK, 7, 0),
	};
	GOLDEN done[] = { NLHDR(20, NLMSG_DONE, NLM_F_MULTI, 8, PORT), U32(0) };
	const char *msg;
	int e;

	CHECK_INT(nl_parse_ack((const struct nlmsghdr *)err, sizeof(err), &e, &msg), 0);
	CHECK_INT(e, -EEXIST);
	CHECK_STR(msg, "Nexthop has invalid gateway");
	CHECK_INT(nl_parse_ack((const struct nlmsghdr *)echoed, sizeof(echoed), &e, &msg), 0);
	CHECK_INT(e, -ENODEV);
	CHECK_STR(msg, "no dev");
	CHECK_INT(nl_parse_ack((const struct nlmsghdr *)ack, sizeof(ack), &e, &msg), 0);
	CHECK_INT(e, 0);
	CHECK(msg == NULL);
	CHECK_INT(nl_parse_ack((const struct nlmsghdr *)done, sizeof(done), &e, &msg), 0);
	CHECK_INT(e, 0);
	CHECK_INT(nl_parse_ack((const struct nlmsghdr *)newlink, sizeof(newlink), &e, &msg),
		  -ENOMSG);
}

/* Callback that counts links and remembers the last name. */
struct seen {
	unsigned n;
	char name[16];
};

static int count_link(const struct nlmsghdr *h, size_t len, void *userdata)
{
	struct seen *s = userdata;
	struct nl_link l;
	int r = nl_parse_link(h, len, &l);

	if (r < 0)
		return r;
	s->n++;
	memcpy(s->name, l.name, sizeof(s->name));
	return 0;
}

static void test_reply_feed(void)
{
	/* eth0 for us, a stale message of an older request, then the end */
	static uint8_t dump[sizeof(newlink) * 2 + 20] __attribute__((aligned(4)));
	GOLDEN done[] = { NLHDR(20, NLMSG_DONE, NLM_F_MULTI, 42, PORT), U32(0) };
	GOLDEN err[] = {
		NLHDR(48, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 43, PORT),
		U32(-EEXIST),
		NLHDR(44, RTM_NEWROUTE, REQ_ACK_EXCL, 43, 0),
		ATTR(11, NLMSGERR_ATTR_MSG), 'e', 'x', 'i', 's', 't', 's', 0, 0,
	};
	struct seen seen = {};
	struct nl_reply r = { .portid = PORT, .seq = 42, .fn = count_link, .userdata = &seen };

	memcpy(dump, newlink, sizeof(newlink));
	memcpy(dump + sizeof(newlink), newlink, sizeof(newlink));
	put_u32(dump + sizeof(newlink) + offsetof(struct nlmsghdr, nlmsg_seq), 41);
	memcpy(dump + 2 * sizeof(newlink), done, sizeof(done));

	/* first datagram: only the links, the request goes on */
	CHECK_INT(nl_reply_feed(&r, dump, 2 * sizeof(newlink)), 0);
	CHECK_INT(seen.n, 1);
	CHECK_STR(seen.name, "eth0");
	CHECK_INT(nl_reply_feed(&r, dump, sizeof(dump)), 1);
	CHECK_INT(seen.n, 2);
	CHECK_INT(r.error, 0);
	CHECK(!r.interrupted);

	/* another port's messages are not ours */
	r = (struct nl_reply){ .portid = PORT + 1, .seq = 42, .fn = count_link, .userdata = &seen };
	CHECK_INT(nl_reply_feed(&r, dump, sizeof(dump)), 0);

	r = (struct nl_reply){ .portid = PORT, .seq = 43 };
	CHECK_INT(nl_reply_feed(&r, err, sizeof(err)), 1);
	CHECK_INT(r.error, -EEXIST);
	CHECK_STR(r.ext_ack, "exists");

	/* a dump flagged inconsistent */
	r = (struct nl_reply){ .portid = PORT, .seq = 42 };
	memcpy(dump, done, sizeof(done));
	put_u16(dump + offsetof(struct nlmsghdr, nlmsg_flags), NLM_F_MULTI | NLM_F_DUMP_INTR);
	CHECK_INT(nl_reply_feed(&r, dump, sizeof(done)), 1);
	CHECK(r.interrupted);
}

static void test_malformed(void)
{
	static uint8_t b[256] __attribute__((aligned(4)));
	const struct nlmsghdr *h = (const struct nlmsghdr *)b;
	struct nl_link l;
	struct nl_addr a;
	const char *msg;
	size_t off, hlen;
	int e;

	/* truncated header */
	memcpy(b, newlink, sizeof(newlink));
	CHECK_INT(nl_parse_link(h, 10, &l), -EBADMSG);
	off = 0;
	CHECK_INT(nl_next(b, 10, &off, &h, &hlen), -EBADMSG);
	h = (const struct nlmsghdr *)b;

	/* nlmsg_len lying: longer than the buffer, shorter than the header,
	 * shorter than ifinfomsg, or huge */
	for (size_t i = 0; i < 4; i++) {
		static const uint32_t lies[] = { 200, 8, 20, 0xffffffff };

		memcpy(b, newlink, sizeof(newlink));
		memcpy(b, &lies[i], 4);
		CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);
		off = 0;
		if (lies[i] != 20)
			CHECK_INT(nl_next(b, sizeof(newlink), &off, &h, &hlen), -EBADMSG);
		h = (const struct nlmsghdr *)b;
	}

	/* attribute length past the end of the message */
	memcpy(b, newlink, sizeof(newlink));
	b[32] = 200;
	CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);
	/* attribute length below its own header */
	b[32] = 2;
	CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);
	b[32] = 0;
	CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);
	/* the last attribute's length runs past nlmsg_len */
	memcpy(b, newlink, sizeof(newlink));
	b[sizeof(newlink) - 8] = 12;
	CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);
	/* stray bytes after the last attribute */
	memcpy(b, newlink, sizeof(newlink));
	put_u32(b, sizeof(newlink) - 6);
	CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);

	/* a name without its NUL, and a name of 16 characters */
	memcpy(b, newlink, sizeof(newlink));
	b[36 + 4] = 'x';
	CHECK_INT(nl_parse_link(h, sizeof(newlink), &l), -EBADMSG);
	{
		GOLDEN longname[] = {
			NLHDR(56, RTM_NEWLINK, 0, 1, 0),
			IFINFO(1, 2, 0, 0),
			ATTR(21, IFLA_IFNAME), 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k',
			'l', 'm', 'n', 'o', 'p', 0, 0, 0, 0,
		};
		GOLDEN noname[] = { NLHDR(32, RTM_NEWLINK, 0, 1, 0), IFINFO(1, 2, 0, 0) };
		GOLDEN shortmtu[] = {
			NLHDR(48, RTM_NEWLINK, 0, 1, 0),
			IFINFO(1, 2, 0, 0),
			ATTR(7, IFLA_IFNAME), 'l', 'o', 0, 0,
			ATTR(6, IFLA_MTU), 1, 2, 0, 0,
		};

		CHECK_INT(nl_parse_link((const struct nlmsghdr *)longname, sizeof(longname), &l),
			  -EBADMSG);
		CHECK_INT(nl_parse_link((const struct nlmsghdr *)noname, sizeof(noname), &l),
			  -EBADMSG);
		CHECK_INT(nl_parse_link((const struct nlmsghdr *)shortmtu, sizeof(shortmtu), &l),
			  -EBADMSG);
	}

	/* addresses: wrong length for the family, prefix too long, bad family */
	{
		GOLDEN shortaddr[] = {
			NLHDR(32, RTM_NEWADDR, 0, 1, 0),
			IFADDR(AF_INET6, 64, 0, 0, 2),
			ATTR(8, IFA_ADDRESS), 0xfe, 0x80, 0, 0,
		};
		GOLDEN longprefix[] = {
			NLHDR(32, RTM_NEWADDR, 0, 1, 0),
			IFADDR(AF_INET, 33, 0, 0, 2),
			ATTR(8, IFA_ADDRESS), 10, 0, 0, 2,
		};
		GOLDEN family[] = {
			NLHDR(32, RTM_NEWADDR, 0, 1, 0),
			IFADDR(AF_PACKET, 0, 0, 0, 2),
			ATTR(8, IFA_ADDRESS), 10, 0, 0, 2,
		};
		GOLDEN noaddr[] = { NLHDR(24, RTM_NEWADDR, 0, 1, 0), IFADDR(AF_INET, 8, 0, 0, 2) };

		CHECK_INT(nl_parse_addr((const struct nlmsghdr *)shortaddr, sizeof(shortaddr), &a),
			  -EBADMSG);
		CHECK_INT(nl_parse_addr((const struct nlmsghdr *)longprefix, sizeof(longprefix), &a),
			  -EBADMSG);
		CHECK_INT(nl_parse_addr((const struct nlmsghdr *)family, sizeof(family), &a),
			  -EAFNOSUPPORT);
		CHECK_INT(nl_parse_addr((const struct nlmsghdr *)noaddr, sizeof(noaddr), &a),
			  -EBADMSG);
	}

	/* acks: cut before the error code, a positive error, an unterminated
	 * message, an echoed request longer than the reply */
	{
		GOLDEN cut[] = { NLHDR(20, NLMSG_ERROR, 0, 1, 0), U32(0) };
		GOLDEN positive[] = {
			NLHDR(36, NLMSG_ERROR, NLM_F_CAPPED, 1, 0), U32(5), NLHDR(16, 0, 0, 0, 0),
		};
		GOLDEN unterminated[] = {
			NLHDR(44, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 1, 0),
			U32(-EINVAL), NLHDR(16, 0, 0, 0, 0),
			ATTR(8, NLMSGERR_ATTR_MSG), 'a', 'b', 'c', 'd',
		};
		GOLDEN echo_lies[] = {
			NLHDR(44, NLMSG_ERROR, NLM_F_ACK_TLVS, 1, 0),
			U32(-EINVAL), NLHDR(400, 0, 0, 0, 0),
			ATTR(8, NLMSGERR_ATTR_MSG), 'a', 'b', 'c', 0,
		};

		CHECK_INT(nl_parse_ack((const struct nlmsghdr *)cut, sizeof(cut), &e, &msg), -EBADMSG);
		CHECK_INT(nl_parse_ack((const struct nlmsghdr *)positive, sizeof(positive), &e, &msg),
			  -EBADMSG);
		CHECK_INT(nl_parse_ack((const struct nlmsghdr *)unterminated, sizeof(unterminated),
				       &e, &msg), -EBADMSG);
		CHECK_INT(nl_parse_ack((const struct nlmsghdr *)echo_lies, sizeof(echo_lies), &e,
				       &msg), -EBADMSG);
	}

	/* every prefix of a real dump: refused or parsed, never read past */
	for (size_t n = 0; n <= sizeof(newlink); n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct nl_reply r = { .portid = PORT, .seq = 42, .fn = count_link,
				      .userdata = &(struct seen){} };

		memcpy(copy, newlink, n);
		e = nl_reply_feed(&r, copy, n);
		CHECK(n == 0 || n == sizeof(newlink) ? e == 0 : e == -EBADMSG);
		/* and the message itself cut there, its nlmsg_len telling the truth */
		if (n >= sizeof(struct nlmsghdr)) {
			put_u32(copy, (uint32_t)n);
			e = nl_parse_link((const struct nlmsghdr *)copy, n, &l);
			CHECK(e == 0 || e == -EBADMSG);
		}
		free(copy);
	}
}

static void test_sysctl_names(void)
{
	CHECK_INT(ipv6_conf_set("../../../etc", "x", "1"), -EINVAL);
	CHECK_INT(ipv6_conf_set("..", "accept_ra", "1"), -EINVAL);
	CHECK_INT(ipv6_conf_set("", "accept_ra", "1"), -EINVAL);
	CHECK_INT(ipv6_conf_set("eth0", "../../x", "1"), -EINVAL);
	CHECK_INT(ipv6_conf_set("a-very-long-name", "accept_ra", "1"), -EINVAL);
}

int main(void)
{
	test_build_link();
	test_build_addr();
	test_build_route();
	test_build_overflow();
	test_parse_link();
	test_parse_addr();
	test_parse_ack();
	test_reply_feed();
	test_malformed();
	test_sysctl_names();
	return test_done();
}
