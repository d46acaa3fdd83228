/* SPDX-License-Identifier: MIT */
/*
 * lib/packet/dhcp6.c against golden messages written byte by byte from the
 * layouts of RFC 8415 §8 and §21 (and RFC 3646 for options 23 and 24),
 * round trips, limits, and malformed input.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "dhcp6.h"
#include "tap.h"
#include "util.h"

#define MAC 0x52, 0x54, 0x00, 0x12, 0x34, 0x56
#define DUID_LL 0x00, 0x03, 0x00, 0x01, MAC
/* DUID-LLT, as dnsmasq makes its server id */
#define DUID_LLT 0x00, 0x01, 0x00, 0x01, 0x2c, 0x3d, 0x4e, 0x5f, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
#define FD00_1_1 0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define FD00_1_23 0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23

static const uint8_t mac[6] = { MAC };
static const uint8_t duid_ll[] = { DUID_LL };
static const uint8_t duid_llt[] = { DUID_LLT };

/* A client's first SOLICIT, in the builder's option order. */
static const uint8_t golden_solicit[] = {
	1, 0x12, 0x34, 0x56,			 /* SOLICIT, xid */
	0x00, 0x01, 0x00, 0x0a, DUID_LL,	 /* client id */
	0x00, 0x08, 0x00, 0x02, 0x00, 0x00,	 /* elapsed time 0 */
	0x00, 0x0e, 0x00, 0x00,			 /* rapid commit */
	0x00, 0x03, 0x00, 0x0c,			 /* IA_NA */
	0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, /* IAID, T1 0, T2 0 */
	0x00, 0x06, 0x00, 0x02, 0x00, 0x17,	 /* ORO: 23 */
};

/* A server's ADVERTISE in an order of its own: IA_NA with one address and a
 * status, server id, client id, preference 255, DNS, domain search list. */
static const uint8_t golden_advertise[] = {
	2, 0x12, 0x34, 0x56,
	0x00, 0x03, 0x00, 0x35,			 /* IA_NA, 53 bytes */
	0x00, 0x12, 0x34, 0x56,			 /* IAID */
	0x00, 0x00, 0x0e, 0x10,			 /* T1 3600 */
	0x00, 0x00, 0x1c, 0x20,			 /* T2 7200 */
	0x00, 0x05, 0x00, 0x18, FD00_1_23,	 /* IA address */
	0x00, 0x00, 0x1c, 0x20,			 /* preferred 7200 */
	0x00, 0x00, 0x2a, 0x30,			 /* valid 10800 */
	0x00, 0x0d, 0x00, 0x09, 0x00, 0x00, 's', 'u', 'c', 'c', 'e', 's', 's',
	0x00, 0x02, 0x00, 0x0e, DUID_LLT,	 /* server id */
	0x00, 0x01, 0x00, 0x0a, DUID_LL,	 /* client id */
	0x00, 0x07, 0x00, 0x01, 0xff,		 /* preference */
	0x00, 0x17, 0x00, 0x10, FD00_1_1,	 /* DNS */
	0x00, 0x18, 0x00, 0x12,			 /* domains */
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 3, 'l', 'a', 'n', 0,
};

/* The REPLY of a server with no address left (what dnsmasq sends). */
static const uint8_t golden_reply_no_addrs[] = {
	7, 0xab, 0xcd, 0xef,
	0x00, 0x01, 0x00, 0x0a, DUID_LL,
	0x00, 0x02, 0x00, 0x0e, DUID_LLT,
	0x00, 0x03, 0x00, 0x12,			 /* IA_NA, 18 bytes */
	0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x0d, 0x00, 0x02, 0x00, 0x02,	 /* status NoAddrsAvail */
};

static void test_duid_ll(void)
{
	uint8_t out[DHCP6_DUID_LL_SIZE];

	CHECK_INT(dhcp6_duid_ll(mac, out), 10);
	CHECK_MEM(out, duid_ll, sizeof(duid_ll));
}

static void test_solicit(void)
{
	struct dhcp6_message m, parsed;
	uint8_t buf[DHCP6_MAX_SIZE];

	memset(&m, 0, sizeof(m)); /* padding too: compared with memcmp */
	m.type = DHCP6_SOLICIT;
	m.xid = 0x123456;
	m.client_id_len = dhcp6_duid_ll(mac, m.client_id);
	m.has_elapsed = true;
	m.rapid_commit = true;
	m.has_ia_na = true;
	m.ia_na.iaid = 0x00123456;
	m.oro[m.n_oro++] = DHCP6_OPT_DNS_SERVERS;
	CHECK_INT(dhcp6_build(&m, buf, sizeof(buf)), sizeof(golden_solicit));
	CHECK_MEM(buf, golden_solicit, sizeof(golden_solicit));
	for (size_t n = 0; n < sizeof(golden_solicit); n++)
		CHECK_INT(dhcp6_build(&m, buf, n), -ENOBUFS);

	CHECK_INT(dhcp6_parse(golden_solicit, sizeof(golden_solicit), &parsed), 0);
	CHECK_MEM(&parsed, &m, sizeof(m));
	CHECK_STR(dhcp6_type_name(parsed.type), "SOLICIT");

	/* every truncation at an option boundary is a valid message, every
	 * other one is not */
	for (size_t n = 0; n < sizeof(golden_solicit); n++) {
		bool boundary = n == 18 || n == 24 || n == 28 || n == 44;
		CHECK_INT(dhcp6_parse(golden_solicit, n, &parsed), boundary ? 0 : -EBADMSG);
	}
}

static void test_advertise(void)
{
	struct dhcp6_message m, again;
	uint8_t buf[DHCP6_MAX_SIZE];
	struct in6_addr a;
	int n;

	CHECK_INT(dhcp6_parse(golden_advertise, sizeof(golden_advertise), &m), 0);
	CHECK_INT(m.type, DHCP6_ADVERTISE);
	CHECK_INT(m.xid, 0x123456);
	CHECK_INT(m.client_id_len, sizeof(duid_ll));
	CHECK_MEM(m.client_id, duid_ll, sizeof(duid_ll));
	CHECK_INT(m.server_id_len, sizeof(duid_llt));
	CHECK_MEM(m.server_id, duid_llt, sizeof(duid_llt));
	CHECK(m.has_ia_na);
	CHECK_INT(m.ia_na.iaid, 0x123456);
	CHECK_INT(m.ia_na.t1_s, 3600);
	CHECK_INT(m.ia_na.t2_s, 7200);
	CHECK_INT(m.ia_na.n_addrs, 1);
	inet_pton(AF_INET6, "fd00:1::23", &a);
	CHECK_MEM(&m.ia_na.addrs[0].address, &a, 16);
	CHECK_INT(m.ia_na.addrs[0].preferred_s, 7200);
	CHECK_INT(m.ia_na.addrs[0].valid_s, 10800);
	CHECK(!m.ia_na.addrs[0].status.present);
	CHECK(m.ia_na.status.present);
	CHECK_INT(m.ia_na.status.code, DHCP6_STATUS_SUCCESS);
	CHECK_STR(m.ia_na.status.message, "success");
	CHECK(m.has_preference);
	CHECK_INT(m.preference, 255);
	CHECK(!m.has_elapsed);
	CHECK(!m.rapid_commit);
	CHECK(!m.status.present);
	CHECK_INT(m.n_dns, 1);
	inet_pton(AF_INET6, "fd00:1::1", &a);
	CHECK_MEM(&m.dns[0], &a, 16);
	CHECK_INT(m.n_domains, 2);
	CHECK_STR(m.domains[0], "example.com");
	CHECK_STR(m.domains[1], "lan");
	CHECK_INT(m.n_oro, 0);

	/* built again (options in the builder's order) it parses the same */
	n = dhcp6_build(&m, buf, sizeof(buf));
	CHECK_INT(n, sizeof(golden_advertise));
	CHECK_INT(dhcp6_parse(buf, (size_t)n, &again), 0);
	CHECK_MEM(&again, &m, sizeof(m));
}

static void test_reply_no_addrs(void)
{
	struct dhcp6_message m;

	CHECK_INT(dhcp6_parse(golden_reply_no_addrs, sizeof(golden_reply_no_addrs), &m), 0);
	CHECK_INT(m.type, DHCP6_REPLY);
	CHECK_INT(m.xid, 0xabcdef);
	CHECK(m.has_ia_na);
	CHECK_INT(m.ia_na.n_addrs, 0);
	CHECK(m.ia_na.status.present);
	CHECK_INT(m.ia_na.status.code, DHCP6_STATUS_NO_ADDRS_AVAIL);
	CHECK_STR(m.ia_na.status.message, "");
	CHECK_STR(dhcp6_status_name(m.ia_na.status.code), "NoAddrsAvail");
	CHECK_STR(dhcp6_status_name(999), "unknown");
	CHECK_STR(dhcp6_type_name(12), "unknown");
}

/* A short client id and server id, to keep the cases below readable. */
#define CID 0, 1, 0, 2, 0xaa, 0xbb
#define SID 0, 2, 0, 2, 0xcc, 0xdd
#define ADV 2, 0, 0, 1, CID, SID
#define IA_HEAD 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0

struct bad_case {
	const char *what;
	uint8_t msg[300];
	size_t len;
};
#define BAD(what, ...) { what, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }

static void test_malformed(void)
{
	static const struct bad_case cases[] = {
		BAD("3 bytes", 2, 0, 0),
		BAD("relay-forward", 12, 0, 0, 0, CID),
		BAD("relay-reply", 13, 0, 0, 0, CID, SID),
		BAD("type 0", 0, 0, 0, 0, CID, SID),
		BAD("type 255", 255, 0, 0, 0, CID, SID),
		BAD("option header cut", ADV, 0, 23, 0),
		BAD("option length past the end", ADV, 0, 23, 0, 32, FD00_1_1),
		BAD("truncated IA_NA", ADV, 0, 3, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0),
		BAD("IA_NA past the end", ADV, 0, 3, 0, 20, IA_HEAD),
		BAD("IA address past its IA_NA", ADV, 0, 3, 0, 40, IA_HEAD, 0, 5, 0, 30, FD00_1_23,
		    0, 0, 0, 1, 0, 0, 0, 1, 0, 23, 0, 16, FD00_1_1),
		BAD("truncated IA address", ADV, 0, 3, 0, 36, IA_HEAD, 0, 5, 0, 20, FD00_1_23, 0, 0,
		    0, 1),
		BAD("status in IA address past its end", ADV, 0, 3, 0, 46, IA_HEAD, 0, 5, 0, 30,
		    FD00_1_23, 0, 0, 0, 1, 0, 0, 0, 1, 0, 13, 0, 9, 0, 0),
		BAD("IA status of 1 byte", ADV, 0, 3, 0, 17, IA_HEAD, 0, 13, 0, 1, 0),
		BAD("status of 1 byte", ADV, 0, 13, 0, 1, 0),
		BAD("odd ORO", ADV, 0, 6, 0, 3, 0, 23, 0),
		BAD("DNS of 17 bytes", ADV, 0, 23, 0, 17, FD00_1_1, 0),
		BAD("preference of 2 bytes", ADV, 0, 7, 0, 2, 0, 0),
		BAD("elapsed time of 3 bytes", ADV, 0, 8, 0, 3, 0, 0, 0),
		BAD("rapid commit with a body", ADV, 0, 14, 0, 1, 0),
		BAD("empty client id", 2, 0, 0, 1, 0, 1, 0, 0, SID),
		BAD("domain with a compression pointer", ADV, 0, 24, 0, 6, 3, 'l', 'a', 'n', 0xc0,
		    0x0c),
		BAD("domain without root label", ADV, 0, 24, 0, 4, 3, 'l', 'a', 'n'),
		BAD("domain label past the option", ADV, 0, 24, 0, 4, 5, 'l', 'a', 'n', 0, 0, 0, 0),
		BAD("SOLICIT with a server id", 1, 0, 0, 1, CID, SID),
		BAD("SOLICIT without client id", 1, 0, 0, 1, 0, 8, 0, 2, 0, 0),
		BAD("ADVERTISE without server id", 2, 0, 0, 1, CID),
		BAD("ADVERTISE without client id", 2, 0, 0, 1, SID),
		BAD("REQUEST without server id", 3, 0, 0, 1, CID),
		BAD("RENEW without server id", 5, 0, 0, 1, CID),
		BAD("REBIND with a server id", 6, 0, 0, 1, CID, SID),
		BAD("REPLY without server id", 7, 0, 0, 1, CID),
		BAD("RELEASE without server id", 8, 0, 0, 1, CID),
	};
	struct dhcp6_message m;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = dhcp6_parse(cases[i].msg, cases[i].len, &m);
		if (r != -EBADMSG)
			fprintf(stderr, "not rejected: %s\n", cases[i].what);
		CHECK_INT(r, -EBADMSG);
	}
}

static void test_long_duid_and_name(void)
{
	uint8_t msg[4 + 4 + 131 + 6] = { 1, 0, 0, 1, 0, 1, 0, 131 };
	uint8_t names[4 + 4 + 4 + 300] = { 2, 0, 0, 1, CID, SID, 0, 24, 1, 0 };
	size_t off = 4 + 6 + 6 + 4;
	struct dhcp6_message m;

	CHECK_INT(dhcp6_parse(msg, 4 + 4 + 131, &m), -EBADMSG);
	msg[7] = 130;
	CHECK_INT(dhcp6_parse(msg, 4 + 4 + 130, &m), 0);
	CHECK_INT(m.client_id_len, 130);

	/* a name of 256 wire bytes: 3 labels of 63, one of 62, root */
	for (int i = 0; i < 3; i++) {
		names[off++] = 63;
		memset(names + off, 'a', 63);
		off += 63;
	}
	names[off++] = 62;
	memset(names + off, 'b', 62);
	off += 62;
	names[off++] = 0;
	CHECK_INT(off - 20, 256);
	CHECK_INT(dhcp6_parse(names, off, &m), -EBADMSG);
	/* the last label one shorter: the longest name there is (255 wire
	 * bytes, 253 characters) */
	names[18] = 0;
	names[19] = 255;
	names[off - 64] = 61;
	names[off - 2] = 0;
	CHECK_INT(dhcp6_parse(names, off - 1, &m), 0);
	CHECK_INT(m.n_domains, 1);
	CHECK_INT(strlen(m.domains[0]), 253);
}

/* Values the parser keeps out: bad characters in names, control characters
 * or overlong status messages, and counts over the fixed limits. */
static void test_sanitising_and_limits(void)
{
	uint8_t msg[1024] = { 7, 0, 0, 1, SID };
	size_t off = 10;
	struct dhcp6_message m;
	const char *bad_name = "\x03" "a\nb" "\x00" "\x04" "good" "\x00" "\x03" "a b" "\x00";

	/* domains: only "good" survives */
	msg[off++] = 0;
	msg[off++] = 24;
	msg[off++] = 0;
	msg[off++] = 16;
	memcpy(msg + off, bad_name, 16);
	off += 16;
	/* status with a control character: code kept, message dropped */
	memcpy(msg + off, (uint8_t[]){ 0, 13, 0, 5, 0, 1, 'a', 0x1b, 'b' }, 9);
	off += 9;
	/* 6 DNS servers in two options */
	for (int opt = 0; opt < 2; opt++) {
		memcpy(msg + off, (uint8_t[]){ 0, 23, 0, 48 }, 4);
		off += 4;
		for (int i = 0; i < 3; i++, off += 16)
			msg[off + 15] = (uint8_t)(opt * 3 + i);
	}
	/* 10 ORO entries */
	memcpy(msg + off, (uint8_t[]){ 0, 6, 0, 20 }, 4);
	off += 4;
	for (int i = 0; i < 10; i++, off += 2)
		msg[off + 1] = (uint8_t)(100 + i);
	/* an IA_NA with 6 addresses and a second IA_NA, ignored */
	memcpy(msg + off, (uint8_t[]){ 0, 3, 0, 12 + 6 * 28, 0, 0, 0, 7 }, 8);
	off += 8 + 8;
	for (int i = 0; i < 6; i++, off += 28) {
		memcpy(msg + off, (uint8_t[]){ 0, 5, 0, 24 }, 4);
		msg[off + 4 + 15] = (uint8_t)i;
	}
	memcpy(msg + off, (uint8_t[]){ 0, 3, 0, 12, 0, 0, 0, 8 }, 8);
	off += 16;
	/* an unknown option */
	memcpy(msg + off, (uint8_t[]){ 0xfe, 0xdc, 0, 2, 1, 2 }, 6);
	off += 6;

	CHECK_INT(dhcp6_parse(msg, off, &m), 0);
	CHECK_INT(m.n_domains, 1);
	CHECK_STR(m.domains[0], "good");
	CHECK(m.status.present);
	CHECK_INT(m.status.code, 1);
	CHECK_STR(m.status.message, "");
	CHECK_INT(m.n_dns, DHCP6_MAX_DNS);
	CHECK_INT(m.dns[3].s6_addr[15], 3);
	CHECK_INT(m.n_oro, DHCP6_MAX_ORO);
	CHECK_INT(m.oro[7], 107);
	CHECK(m.has_ia_na);
	CHECK_INT(m.ia_na.iaid, 7);
	CHECK_INT(m.ia_na.n_addrs, DHCP6_MAX_IA_ADDRS);
	CHECK_INT(m.ia_na.addrs[3].address.s6_addr[15], 3);
	CHECK_INT(m.client_id_len, 0); /* a REPLY may lack it */

	/* a status message of 127 bytes fits, 128 does not */
	{
		uint8_t st[4 + 6 + 4 + 2 + 128] = { 7, 0, 0, 1, SID, 0, 13, 0, 130, 0, 3 };

		memset(st + 16, 'x', 128);
		CHECK_INT(dhcp6_parse(st, sizeof(st), &m), 0);
		CHECK_STR(m.status.message, "");
		st[13] = 129;
		CHECK_INT(dhcp6_parse(st, sizeof(st) - 1, &m), 0);
		CHECK_INT(strlen(m.status.message), 127);
	}
}

static void test_build_errors(void)
{
	struct dhcp6_message m = { .type = DHCP6_SOLICIT, .client_id_len = 2 };
	uint8_t buf[DHCP6_MAX_SIZE];

	CHECK(dhcp6_build(&m, buf, sizeof(buf)) > 0);
	m.server_id_len = 2; /* forbidden in a SOLICIT */
	CHECK_INT(dhcp6_build(&m, buf, sizeof(buf)), -EINVAL);
	m.type = DHCP6_REQUEST;
	CHECK(dhcp6_build(&m, buf, sizeof(buf)) > 0);
	m.client_id_len = 0;
	CHECK_INT(dhcp6_build(&m, buf, sizeof(buf)), -EINVAL);
	m.client_id_len = DHCP6_DUID_MAX + 1;
	CHECK_INT(dhcp6_build(&m, buf, sizeof(buf)), -EINVAL);
	m.client_id_len = 2;
	m.type = 12;
	CHECK_INT(dhcp6_build(&m, buf, sizeof(buf)), -EINVAL);
	m.type = DHCP6_REPLY;
	m.n_domains = 1;
	static const char *const bad_names[] = { "", "a..b", ".a", "a.", "a b", "a\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		strcpy(m.domains[0], bad_names[i]);
		CHECK_INT(dhcp6_build(&m, buf, sizeof(buf)), -EINVAL);
	}
	strcpy(m.domains[0], "a.b");
	CHECK(dhcp6_build(&m, buf, sizeof(buf)) > 0);
}

/* Every field at its limit still fits in DHCP6_MAX_SIZE and round-trips. */
static void test_max_size(void)
{
	struct dhcp6_message m, again;
	uint8_t buf[DHCP6_MAX_SIZE];
	struct dhcp6_status full;
	int n;

	memset(&m, 0, sizeof(m));
	memset(&full, 0, sizeof(full));
	m.type = DHCP6_REPLY;
	full.present = true;
	full.code = 1;
	memset(full.message, 'm', sizeof(full.message) - 1);
	m.client_id_len = m.server_id_len = DHCP6_DUID_MAX;
	memset(m.client_id, 1, DHCP6_DUID_MAX);
	memset(m.server_id, 2, DHCP6_DUID_MAX);
	m.has_ia_na = m.has_preference = m.has_elapsed = m.rapid_commit = true;
	m.ia_na.n_addrs = DHCP6_MAX_IA_ADDRS;
	for (unsigned i = 0; i < DHCP6_MAX_IA_ADDRS; i++)
		m.ia_na.addrs[i].status = full;
	m.ia_na.status = m.status = full;
	m.n_oro = DHCP6_MAX_ORO;
	m.n_dns = DHCP6_MAX_DNS;
	m.n_domains = DHCP6_MAX_DOMAINS;
	for (unsigned i = 0; i < DHCP6_MAX_DOMAINS; i++) {
		char *d = m.domains[i];
		/* 253 characters: 3 labels of 63, one of 61 */
		for (int l = 0; l < 3; l++, d += 64) {
			memset(d, 'a' + l, 63);
			d[63] = '.';
		}
		memset(d, 'z', 61);
	}
	n = dhcp6_build(&m, buf, sizeof(buf));
	CHECK(n > 2000);
	CHECK_INT(dhcp6_parse(buf, (size_t)n, &again), 0);
	CHECK_MEM(&again, &m, sizeof(m));
}

int main(void)
{
	test_duid_ll();
	test_solicit();
	test_advertise();
	test_reply_no_addrs();
	test_malformed();
	test_long_duid_and_name();
	test_sanitising_and_limits();
	test_build_errors();
	test_max_size();
	return test_done();
}
