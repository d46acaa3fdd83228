/* SPDX-License-Identifier: MIT */
/*
 * lib/packet/ndp.c against golden messages written byte by byte from the
 * layouts of RFC 4861 §4 and RFC 8106 §5.1, round trips, and malformed input.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "ndp.h"
#include "tap.h"
#include "util.h"

#define MAC 0x52, 0x54, 0x00, 0x12, 0x34, 0x56
/* fd00:1:: and fd00:1::1 */
#define FD00_1 0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define FD00_1_1 0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
#define FD00_2_53 0xfd, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53
#define FE80_1 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1

static const uint8_t mac[6] = { MAC };

static const uint8_t golden_rs[] = {
	133, 0, 0x00, 0x00, /* type, code, checksum */
	0, 0, 0, 0,	    /* reserved */
	1, 1, MAC,	    /* source link-layer address */
};

/* The RA a stateful router sends: M and O, a /64 on-link but not
 * autonomous, MTU, one DNS server. Options in the builder's order. */
static const uint8_t golden_ra[] = {
	134, 0, 0x00, 0x00,	/* type, code, checksum */
	64, 0xc0, 0x07, 0x08,	/* cur hop limit, M|O, router lifetime 1800 */
	0x00, 0x00, 0x75, 0x30, /* reachable time 30000 ms */
	0x00, 0x00, 0x03, 0xe8, /* retrans timer 1000 ms */
	1, 1, MAC,		/* source link-layer address */
	5, 1, 0, 0, 0x00, 0x00, 0x05, 0xdc, /* MTU 1500 */
	3, 4, 64, 0x80,		/* prefix information, /64, L */
	0x00, 0x01, 0x51, 0x80, /* valid 86400 */
	0x00, 0x00, 0x38, 0x40, /* preferred 14400 */
	0, 0, 0, 0,		/* reserved */
	FD00_1,
	25, 3, 0, 0,		/* RDNSS, one address */
	0x00, 0x00, 0x02, 0x58, /* lifetime 600 */
	FD00_1_1,
};

static const uint8_t golden_ns[] = {
	135, 0, 0x00, 0x00, 0, 0, 0, 0, /* type, code, checksum, reserved */
	FE80_1,				/* target */
	1, 1, MAC,			/* source link-layer address */
};

static const uint8_t golden_na[] = {
	136, 0, 0x00, 0x00, 0xe0, 0, 0, 0, /* R|S|O */
	FE80_1,
	2, 1, 0x02, 0, 0, 0, 0, 1, /* target link-layer address */
};

static void test_rs(void)
{
	struct ndp_rs rs = { 0 };
	uint8_t buf[NDP_MAX_SIZE];

	CHECK_INT(ndp_parse_rs(golden_rs, sizeof(golden_rs), &rs), 0);
	CHECK(rs.has_source_mac);
	CHECK_MEM(rs.source_mac, mac, 6);
	CHECK_INT(ndp_build_rs(&rs, buf, sizeof(buf)), sizeof(golden_rs));
	CHECK_MEM(buf, golden_rs, sizeof(golden_rs));

	/* without the option (sent from the unspecified address) */
	CHECK_INT(ndp_parse_rs(golden_rs, 8, &rs), 0);
	CHECK(!rs.has_source_mac);
	CHECK_INT(ndp_build_rs(&rs, buf, sizeof(buf)), 8);

	/* every buffer that is too small */
	rs.has_source_mac = true;
	for (size_t n = 0; n < sizeof(golden_rs); n++)
		CHECK_INT(ndp_build_rs(&rs, buf, n), -ENOBUFS);
}

static void test_ra(void)
{
	struct ndp_ra ra;
	uint8_t buf[NDP_MAX_SIZE];
	struct in6_addr fd00_1, fd00_1_1;

	inet_pton(AF_INET6, "fd00:1::", &fd00_1);
	inet_pton(AF_INET6, "fd00:1::1", &fd00_1_1);
	CHECK_INT(ndp_parse_ra(golden_ra, sizeof(golden_ra), &ra), 0);
	CHECK_INT(ra.cur_hop_limit, 64);
	CHECK(ra.managed);
	CHECK(ra.other);
	CHECK_INT(ra.router_lifetime_s, 1800);
	CHECK_INT(ra.reachable_ms, 30000);
	CHECK_INT(ra.retrans_ms, 1000);
	CHECK(ra.has_source_mac);
	CHECK_MEM(ra.source_mac, mac, 6);
	CHECK_INT(ra.mtu, 1500);
	CHECK_INT(ra.n_prefixes, 1);
	CHECK_MEM(&ra.prefixes[0].prefix, &fd00_1, 16);
	CHECK_INT(ra.prefixes[0].len, 64);
	CHECK(ra.prefixes[0].onlink);
	CHECK(!ra.prefixes[0].autonomous);
	CHECK_INT(ra.prefixes[0].valid_s, 86400);
	CHECK_INT(ra.prefixes[0].preferred_s, 14400);
	CHECK_INT(ra.n_dns, 1);
	CHECK_MEM(&ra.dns[0], &fd00_1_1, 16);
	CHECK_INT(ra.dns_lifetime_s[0], 600);

	CHECK_INT(ndp_build_ra(&ra, buf, sizeof(buf)), sizeof(golden_ra));
	CHECK_MEM(buf, golden_ra, sizeof(golden_ra));
	for (size_t n = 0; n < sizeof(golden_ra); n++)
		CHECK_INT(ndp_build_ra(&ra, buf, n), -ENOBUFS);

	/* every truncation: valid exactly at option boundaries */
	for (size_t n = 0; n < sizeof(golden_ra); n++) {
		bool boundary = n == 16 || n == 24 || n == 32 || n == 64;
		CHECK_INT(ndp_parse_ra(golden_ra, n, &ra), boundary ? 0 : -EBADMSG);
	}

	/* a prefix length over 128 cannot be built */
	ra.prefixes[0].len = 129;
	CHECK_INT(ndp_build_ra(&ra, buf, sizeof(buf)), -EINVAL);
}

/* SLAAC RA: A flag, options in another order, an unknown option, an RDNSS
 * with two addresses and a second one with a different lifetime. */
static void test_ra_other_layout(void)
{
	static const uint8_t msg[] = {
		134, 0, 0x12, 0x34, 255, 0x00, 0x00, 0x00, /* lifetime 0: not a default router */
		0, 0, 0, 0, 0, 0, 0, 0,
		25, 5, 0, 0, 0xff, 0xff, 0xff, 0xff, FD00_1_1, FD00_2_53, /* two, infinite */
		200, 1, 1, 2, 3, 4, 5, 6,		/* unknown option: skipped */
		3, 4, 48, 0xc0, 0, 0, 0, 100, 0, 0, 0, 50, 0, 0, 0, 0, FD00_1,
		25, 3, 0, 0, 0, 0, 0, 0, FE80_1,	/* lifetime 0 */
	};
	struct ndp_ra ra, again;
	uint8_t buf[NDP_MAX_SIZE];
	int n;

	CHECK_INT(ndp_parse_ra(msg, sizeof(msg), &ra), 0);
	CHECK_INT(ra.cur_hop_limit, 255);
	CHECK(!ra.managed);
	CHECK(!ra.other);
	CHECK_INT(ra.router_lifetime_s, 0);
	CHECK(!ra.has_source_mac);
	CHECK_INT(ra.mtu, 0);
	CHECK_INT(ra.n_prefixes, 1);
	CHECK_INT(ra.prefixes[0].len, 48);
	CHECK(ra.prefixes[0].onlink);
	CHECK(ra.prefixes[0].autonomous);
	CHECK_INT(ra.prefixes[0].valid_s, 100);
	CHECK_INT(ra.prefixes[0].preferred_s, 50);
	CHECK_INT(ra.n_dns, 3);
	CHECK_INT(ra.dns[1].s6_addr[15], 0x53);
	CHECK_U64(ra.dns_lifetime_s[0], 0xffffffff);
	CHECK_U64(ra.dns_lifetime_s[1], 0xffffffff);
	CHECK_INT(ra.dns_lifetime_s[2], 0);
	CHECK_INT(ra.dns[2].s6_addr[0], 0xfe);

	n = ndp_build_ra(&ra, buf, sizeof(buf));
	/* header, prefix, RDNSS with two, RDNSS with one */
	CHECK_INT(n, 16 + 32 + 40 + 24);
	CHECK_INT(ndp_parse_ra(buf, (size_t)n, &again), 0);
	CHECK_MEM(&again, &ra, sizeof(ra));
}

/* Fixed limits: prefixes and DNS servers past them are ignored. */
static void test_ra_limits(void)
{
	uint8_t msg[16 + 10 * 32 + 3 * 40] = { 134 };
	size_t off = 16;
	struct ndp_ra ra;

	for (int i = 0; i < 10; i++, off += 32) {
		msg[off] = 3;
		msg[off + 1] = 4;
		msg[off + 2] = 64;
		msg[off + 16] = 0xfd;
		msg[off + 17] = (uint8_t)i;
	}
	for (int i = 0; i < 3; i++, off += 40) {
		msg[off] = 25;
		msg[off + 1] = 5;
		msg[off + 8] = (uint8_t)(2 * i);
		msg[off + 24] = (uint8_t)(2 * i + 1);
	}
	CHECK_INT(off, sizeof(msg));
	CHECK_INT(ndp_parse_ra(msg, sizeof(msg), &ra), 0);
	CHECK_INT(ra.n_prefixes, NDP_MAX_PREFIXES);
	CHECK_INT(ra.prefixes[7].prefix.s6_addr[1], 7);
	CHECK_INT(ra.n_dns, NDP_MAX_DNS);
	CHECK_INT(ra.dns[3].s6_addr[0], 3);
}

/* Each malformed variant of golden_ra must be rejected whole. */
static void test_ra_malformed(void)
{
	struct {
		const char *what;
		size_t at;	/* byte of golden_ra to change */
		uint8_t value;
	} cases[] = {
		{ "wrong type", 0, 133 },
		{ "non-zero code", 1, 1 },
		{ "option length 0", 17, 0 },
		{ "source link-layer option of 16 bytes", 17, 2 },
		{ "MTU option of 16 bytes", 25, 2 },
		{ "truncated prefix option", 33, 1 },
		{ "prefix option of 40 bytes", 33, 5 },
		{ "prefix length 129", 34, 129 },
		{ "RDNSS without address", 65, 1 },
		{ "RDNSS of 16 bytes", 65, 2 },
		{ "RDNSS running past the end", 65, 5 },
		{ "last option running past the end", 65, 4 },
		{ "zero-length option in the middle", 33, 0 },
	};
	uint8_t msg[sizeof(golden_ra) + 1];
	struct ndp_ra ra;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(msg, golden_ra, sizeof(golden_ra));
		msg[cases[i].at] = cases[i].value;
		if (ndp_parse_ra(msg, sizeof(golden_ra), &ra) != -EBADMSG)
			fprintf(stderr, "accepted: %s\n", cases[i].what);
		CHECK_INT(ndp_parse_ra(msg, sizeof(golden_ra), &ra), -EBADMSG);
	}

	/* one stray byte after the last option */
	memcpy(msg, golden_ra, sizeof(golden_ra));
	msg[sizeof(golden_ra)] = 1;
	CHECK_INT(ndp_parse_ra(msg, sizeof(msg), &ra), -EBADMSG);
	/* an RS is not an RA, and an RA is not an RS */
	CHECK_INT(ndp_parse_ra(golden_rs, sizeof(golden_rs), &ra), -EBADMSG);
	CHECK_INT(ndp_parse_rs(golden_ra, sizeof(golden_ra), &(struct ndp_rs){ 0 }), -EBADMSG);
}

static void test_ns_na(void)
{
	struct ndp_ns ns;
	struct ndp_na na;
	uint8_t buf[NDP_MAX_SIZE], bad[sizeof(golden_ns)];
	struct in6_addr fe80_1;

	inet_pton(AF_INET6, "fe80::1", &fe80_1);
	CHECK_INT(ndp_parse_ns(golden_ns, sizeof(golden_ns), &ns), 0);
	CHECK_MEM(&ns.target, &fe80_1, 16);
	CHECK(ns.has_source_mac);
	CHECK_MEM(ns.source_mac, mac, 6);
	CHECK_INT(ndp_build_ns(&ns, buf, sizeof(buf)), sizeof(golden_ns));
	CHECK_MEM(buf, golden_ns, sizeof(golden_ns));
	CHECK_INT(ndp_parse_ns(golden_ns, 23, &ns), -EBADMSG);
	CHECK_INT(ndp_parse_ns(golden_ns, 24, &ns), 0);
	CHECK(!ns.has_source_mac);
	/* a multicast target is invalid (RFC 4861 §7.1.1) */
	memcpy(bad, golden_ns, sizeof(bad));
	bad[8] = 0xff;
	CHECK_INT(ndp_parse_ns(bad, sizeof(bad), &ns), -EBADMSG);

	CHECK_INT(ndp_parse_na(golden_na, sizeof(golden_na), &na), 0);
	CHECK(na.router);
	CHECK(na.solicited);
	CHECK(na.override);
	CHECK_MEM(&na.target, &fe80_1, 16);
	CHECK(na.has_target_mac);
	CHECK_MEM(na.target_mac, ((uint8_t[]){ 2, 0, 0, 0, 0, 1 }), 6);
	CHECK_INT(ndp_build_na(&na, buf, sizeof(buf)), sizeof(golden_na));
	CHECK_MEM(buf, golden_na, sizeof(golden_na));
	na.router = na.override = false;
	CHECK_INT(ndp_build_na(&na, buf, sizeof(buf)), sizeof(golden_na));
	CHECK_INT(buf[4], 0x40);
	CHECK_INT(ndp_parse_na(golden_ns, sizeof(golden_ns), &na), -EBADMSG);
	CHECK_INT(ndp_parse_ns(golden_na, sizeof(golden_na), &ns), -EBADMSG);
}

/* Checksums computed independently (Python, RFC 1071 over the RFC 8200
 * pseudo-header) for these addresses. */
static void test_checksum(void)
{
	struct in6_addr ll, all_routers, fe80_1;
	uint8_t msg[sizeof(golden_na)];
	uint16_t c;

	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &ll);
	inet_pton(AF_INET6, "ff02::2", &all_routers);
	inet_pton(AF_INET6, "fe80::1", &fe80_1);

	c = ndp_checksum(&ll, &all_routers, golden_rs, sizeof(golden_rs));
	CHECK_INT(ntohs(c), 0x71b5);

	memcpy(msg, golden_na, sizeof(msg));
	c = ndp_checksum(&fe80_1, &ll, msg, sizeof(msg));
	CHECK_INT(ntohs(c), 0x1461);
	/* stored, the whole message sums to zero */
	memcpy(msg + 2, &c, 2);
	CHECK_INT(ndp_checksum(&fe80_1, &ll, msg, sizeof(msg)), 0);
	/* and a flipped bit shows */
	msg[10] ^= 1;
	CHECK(ndp_checksum(&fe80_1, &ll, msg, sizeof(msg)) != 0);
}

int main(void)
{
	test_rs();
	test_ra();
	test_ra_other_layout();
	test_ra_limits();
	test_ra_malformed();
	test_ns_na();
	test_checksum();
	return test_done();
}
