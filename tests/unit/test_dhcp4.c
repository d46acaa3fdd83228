/* SPDX-License-Identifier: MIT */
/*
 * lib/packet/dhcp4.c: messages laid out by hand from RFC 2131 §2 (the BOOTP
 * header), RFC 2132 (options), RFC 3442 (option 121) and RFC 3396 (split
 * options), parsed, rebuilt byte for byte, and broken in every way we could
 * think of.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "dhcp4.h"
#include "tap.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static struct in_addr ip(const char *s)
{
	struct in_addr a = { 0 };

	inet_pton(AF_INET, s, &a);
	return a;
}

#define CHECK_IP(a, s) CHECK_INT((a).s_addr, ip(s).s_addr)

static void put_ip(uint8_t *p, const char *s)
{
	struct in_addr a = ip(s);

	memcpy(p, &a, 4);
}

/*
 * The 236-byte BOOTP header and the magic cookie, field by field: op, htype
 * 1 (Ethernet), hlen 6, hops 0, xid, secs 0, flags, ciaddr, yiaddr, siaddr,
 * giaddr 0, chaddr (mac, then zeros), sname and file zero.
 */
static size_t golden_header(uint8_t *b, uint8_t op, uint32_t xid, uint16_t flags,
			    const char *ciaddr, const char *yiaddr, const char *siaddr)
{
	memset(b, 0, 240);
	b[0] = op;
	b[1] = 1;
	b[2] = 6;
	b[4] = xid >> 24;
	b[5] = (xid >> 16) & 0xff;
	b[6] = (xid >> 8) & 0xff;
	b[7] = xid & 0xff;
	b[10] = flags >> 8;
	b[11] = flags & 0xff;
	put_ip(b + 12, ciaddr);
	put_ip(b + 16, yiaddr);
	put_ip(b + 20, siaddr);
	memcpy(b + 28, mac, 6);
	b[236] = 99;
	b[237] = 130;
	b[238] = 83;
	b[239] = 99;
	return 240;
}

/* Header, then the option bytes, then zero padding up to 300 bytes. */
static size_t golden(uint8_t *b, uint8_t op, uint32_t xid, uint16_t flags, const char *ciaddr,
		     const char *yiaddr, const char *siaddr, const uint8_t *opts, size_t n_opts)
{
	size_t n = golden_header(b, op, xid, flags, ciaddr, yiaddr, siaddr);

	memcpy(b + n, opts, n_opts);
	n += n_opts;
	while (n < 300)
		b[n++] = 0;
	return n;
}

/*
 * What mvirt-net will answer a guest (and what dnsmasq sends with
 * dhcp-option=121,...): a /32 with the gateway reached by an on-link host
 * route. Options in the builder's order.
 */
static const uint8_t ack_opts[] = {
	53, 1, 5,				   /* DHCPACK */
	54, 4, 169, 254, 0, 1,			   /* server id */
	51, 4, 0x00, 0x01, 0x51, 0x80,		   /* lease 86400 s */
	58, 4, 0x00, 0x00, 0xa8, 0xc0,		   /* T1 43200 s */
	59, 4, 0x00, 0x01, 0x27, 0x50,		   /* T2 75600 s */
	1, 4, 255, 255, 255, 255,		   /* netmask /32 */
	121, 14,				   /* classless routes: */
	0, 169, 254, 0, 1,			   /*   0.0.0.0/0 via 169.254.0.1 */
	32, 169, 254, 0, 1, 0, 0, 0, 0,		   /*   169.254.0.1/32 on-link */
	3, 4, 169, 254, 0, 1,			   /* router */
	6, 8, 1, 1, 1, 1, 9, 9, 9, 9,		   /* DNS */
	12, 5, 'g', 'u', 'e', 's', 't',		   /* hostname */
	15, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
	26, 2, 0x05, 0x78,			   /* MTU 1400 */
	255,
};

static void test_ack_golden(void)
{
	uint8_t wire[400], built[600];
	size_t n = golden(wire, 2, 0xdeadbeef, 0x8000, "0.0.0.0", "10.1.2.3", "169.254.0.1",
			  ack_opts, sizeof(ack_opts));
	struct dhcp4_msg m;

	CHECK_INT(n, 240 + sizeof(ack_opts)); /* past 300: no padding */
	CHECK_INT(dhcp4_parse(wire, n, &m), 0);
	CHECK_INT(m.op, DHCP4_BOOTREPLY);
	CHECK_INT(m.htype, 1);
	CHECK_INT(m.hlen, 6);
	CHECK_U64(m.xid, 0xdeadbeef);
	CHECK_INT(m.flags, DHCP4_FLAG_BROADCAST);
	CHECK_IP(m.ciaddr, "0.0.0.0");
	CHECK_IP(m.yiaddr, "10.1.2.3");
	CHECK_IP(m.siaddr, "169.254.0.1");
	CHECK_MEM(m.chaddr, mac, 6);
	CHECK_INT(m.type, DHCP4_ACK);
	CHECK(m.has_server_id);
	CHECK_IP(m.server_id, "169.254.0.1");
	CHECK(m.has_lease_time);
	CHECK_INT(m.lease_time, 86400);
	CHECK(m.has_t1);
	CHECK_INT(m.t1, 43200);
	CHECK(m.has_t2);
	CHECK_INT(m.t2, 75600);
	CHECK(m.has_subnet_mask);
	CHECK_IP(m.subnet_mask, "255.255.255.255");
	CHECK_INT(m.n_routes, 2);
	CHECK_IP(m.routes[0].dest, "0.0.0.0");
	CHECK_INT(m.routes[0].prefixlen, 0);
	CHECK_IP(m.routes[0].gateway, "169.254.0.1");
	CHECK_IP(m.routes[1].dest, "169.254.0.1");
	CHECK_INT(m.routes[1].prefixlen, 32);
	CHECK_IP(m.routes[1].gateway, "0.0.0.0");
	CHECK(m.has_router);
	CHECK_IP(m.router, "169.254.0.1");
	CHECK_INT(m.n_dns, 2);
	CHECK_IP(m.dns[0], "1.1.1.1");
	CHECK_IP(m.dns[1], "9.9.9.9");
	CHECK_STR(m.hostname, "guest");
	CHECK_STR(m.domain, "example.com");
	CHECK(m.has_mtu);
	CHECK_INT(m.mtu, 1400);
	CHECK(!m.has_requested_ip);
	CHECK(!m.has_max_msg_size);
	CHECK_INT(m.n_prl, 0);
	CHECK_INT(m.client_id_len, 0);
	CHECK_STR(m.message, "");

	/* the builder writes the same bytes */
	CHECK_INT(dhcp4_build(&m, built, sizeof(built)), n);
	CHECK_MEM(built, wire, n);
}

/* A client's DISCOVER and REQUEST, as the init sends them. */
static const uint8_t discover_opts[] = {
	53, 1, 1,				  /* DHCPDISCOVER */
	61, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* client id: type 1 + MAC */
	57, 2, 0x05, 0xdc,			  /* max message size 1500 */
	12, 2, 'v', 'm',			  /* hostname */
	55, 6, 1, 3, 6, 26, 51, 121,		  /* parameter request list */
	255,
};

static const uint8_t request_opts[] = {
	53, 1, 3,				  /* DHCPREQUEST */
	61, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* client id */
	50, 4, 10, 0, 0, 2,			  /* requested IP */
	54, 4, 10, 0, 0, 1,			  /* server id */
	255,
};

static void test_client_messages(void)
{
	uint8_t wire[400], built[400];
	struct dhcp4_msg m = {
		.op = DHCP4_BOOTREQUEST,
		.htype = 1,
		.hlen = 6,
		.xid = 0x01020304,
		.flags = DHCP4_FLAG_BROADCAST,
		.type = DHCP4_DISCOVER,
		.client_id = { 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.client_id_len = 7,
		.has_max_msg_size = true,
		.max_msg_size = 1500,
		.hostname = "vm",
		.prl = { 1, 3, 6, 26, 51, 121 },
		.n_prl = 6,
	};
	struct dhcp4_msg p;
	size_t n;

	memcpy(m.chaddr, mac, 6);
	n = golden(wire, 1, 0x01020304, 0x8000, "0.0.0.0", "0.0.0.0", "0.0.0.0", discover_opts,
		   sizeof(discover_opts));
	CHECK_INT(dhcp4_build(&m, built, sizeof(built)), 300);
	CHECK_MEM(built, wire, 300);
	CHECK_INT(dhcp4_parse(wire, n, &p), 0);
	CHECK_INT(p.type, DHCP4_DISCOVER);
	CHECK_INT(p.client_id_len, 7);
	CHECK_MEM(p.client_id, m.client_id, 7);
	CHECK_INT(p.max_msg_size, 1500);
	CHECK_STR(p.hostname, "vm");
	CHECK_INT(p.n_prl, 6);
	CHECK_MEM(p.prl, m.prl, 6);

	m = (struct dhcp4_msg){
		.op = DHCP4_BOOTREQUEST,
		.htype = 1,
		.hlen = 6,
		.xid = 0xfffffffe,
		.type = DHCP4_REQUEST,
		.client_id = { 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.client_id_len = 7,
		.has_requested_ip = true,
		.requested_ip = ip("10.0.0.2"),
		.has_server_id = true,
		.server_id = ip("10.0.0.1"),
	};
	memcpy(m.chaddr, mac, 6);
	n = golden(wire, 1, 0xfffffffe, 0, "0.0.0.0", "0.0.0.0", "0.0.0.0", request_opts,
		   sizeof(request_opts));
	CHECK_INT(dhcp4_build(&m, built, sizeof(built)), 300);
	CHECK_MEM(built, wire, 300);
	CHECK_INT(dhcp4_parse(wire, n, &p), 0);
	CHECK_INT(p.type, DHCP4_REQUEST);
	CHECK(p.has_requested_ip);
	CHECK_IP(p.requested_ip, "10.0.0.2");
	CHECK(p.has_server_id);
	CHECK_IP(p.server_id, "10.0.0.1");
	CHECK_INT(p.flags, 0);
}

/* A NAK with its message text; a RELEASE with ciaddr. */
static void test_nak_release(void)
{
	static const uint8_t nak_opts[] = {
		53, 1, 6, 54, 4, 10, 0, 0, 1,
		56, 13, 'w', 'r', 'o', 'n', 'g', ' ', 'a', 'd', 'd', 'r', 'e', 's', 's',
		255,
	};
	static const uint8_t release_opts[] = { 53, 1, 7, 54, 4, 10, 0, 0, 1, 255 };
	uint8_t wire[400], built[400];
	struct dhcp4_msg m;
	size_t n;

	n = golden(wire, 2, 7, 0, "0.0.0.0", "0.0.0.0", "0.0.0.0", nak_opts, sizeof(nak_opts));
	CHECK_INT(dhcp4_parse(wire, n, &m), 0);
	CHECK_INT(m.type, DHCP4_NAK);
	CHECK_STR(m.message, "wrong address");
	CHECK_INT(dhcp4_build(&m, built, sizeof(built)), 300);
	CHECK_MEM(built, wire, 300);

	n = golden(wire, 1, 8, 0, "10.0.0.2", "0.0.0.0", "0.0.0.0", release_opts,
		   sizeof(release_opts));
	CHECK_INT(dhcp4_parse(wire, n, &m), 0);
	CHECK_INT(m.type, DHCP4_RELEASE);
	CHECK_IP(m.ciaddr, "10.0.0.2");
	CHECK_INT(dhcp4_build(&m, built, sizeof(built)), 300);
	CHECK_MEM(built, wire, 300);
}

/* Parse a message made of the golden header and opts (no padding added). */
static int parse_opts(const uint8_t *opts, size_t n_opts, struct dhcp4_msg *m)
{
	uint8_t b[1024];
	size_t n = golden_header(b, 2, 1, 0, "0.0.0.0", "10.0.0.2", "0.0.0.0");

	memcpy(b + n, opts, n_opts);
	return dhcp4_parse(b, n + n_opts, m);
}

#define PARSE(m, ...) parse_opts((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), m)

static void test_header_errors(void)
{
	uint8_t b[300];
	struct dhcp4_msg m;

	golden(b, 1, 1, 0, "0.0.0.0", "0.0.0.0", "0.0.0.0", (const uint8_t[]){ 53, 1, 1, 255 }, 4);
	CHECK_INT(dhcp4_parse(b, 300, &m), 0);
	/* exactly the header and the cookie: no options at all */
	CHECK_INT(dhcp4_parse(b, 240, &m), 0);
	CHECK_INT(m.type, 0);
	CHECK_INT(dhcp4_parse(b, 239, &m), -EBADMSG);
	CHECK_INT(dhcp4_parse(b, 0, &m), -EBADMSG);

	b[236] = 0x63 ^ 1; /* cookie */
	CHECK_INT(dhcp4_parse(b, 300, &m), -EBADMSG);
	b[236] = 99;

	b[0] = 0; /* op */
	CHECK_INT(dhcp4_parse(b, 300, &m), -EBADMSG);
	b[0] = 3;
	CHECK_INT(dhcp4_parse(b, 300, &m), -EBADMSG);
	b[0] = 1;

	b[2] = 17; /* hlen past chaddr */
	CHECK_INT(dhcp4_parse(b, 300, &m), -EBADMSG);
	b[2] = 16;
	CHECK_INT(dhcp4_parse(b, 300, &m), 0);
	b[2] = 0;
	CHECK_INT(dhcp4_parse(b, 300, &m), 0);
}

static void test_option_structure(void)
{
	struct dhcp4_msg m;

	/* pads, unknown options (with and without data), end */
	CHECK_INT(PARSE(&m, 0, 0, 43, 3, 1, 2, 3, 0, 250, 0, 53, 1, 2, 255), 0);
	CHECK_INT(m.type, DHCP4_OFFER);
	/* no end option: the packet's end closes the options */
	CHECK_INT(PARSE(&m, 53, 1, 2), 0);
	CHECK_INT(m.type, DHCP4_OFFER);
	/* after the end option anything goes */
	CHECK_INT(PARSE(&m, 53, 1, 2, 255, 1, 200, 0xff, 0xff), 0);
	CHECK_INT(m.type, DHCP4_OFFER);
	CHECK(!m.has_subnet_mask);
	/* a trailing pad, a lone code byte, a length past the end */
	CHECK_INT(PARSE(&m, 53, 1, 2, 0), 0);
	CHECK_INT(PARSE(&m, 53, 1, 2, 43), -EBADMSG);
	CHECK_INT(PARSE(&m, 53, 1, 2, 43, 1), -EBADMSG);
	CHECK_INT(PARSE(&m, 53, 1, 2, 43, 2, 0), -EBADMSG);
	CHECK_INT(PARSE(&m, 53, 1, 2, 43, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 53, 5), -EBADMSG);
	/* a structural error in an unknown option rejects the message too */
	CHECK_INT(PARSE(&m, 250, 10, 1, 2, 3), -EBADMSG);
}

static void test_fixed_lengths(void)
{
	struct dhcp4_msg m;

	CHECK_INT(PARSE(&m, 53, 0, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 53, 2, 2, 2, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 53, 1, 0, 255), -EBADMSG); /* type 0 */
	CHECK_INT(PARSE(&m, 53, 1, 200, 255), 0);      /* unknown types are the caller's */
	CHECK_INT(m.type, 200);
	CHECK_INT(PARSE(&m, 54, 3, 1, 2, 3, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 54, 5, 1, 2, 3, 4, 5, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 50, 0, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 1, 3, 255, 255, 255, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 51, 5, 0, 0, 0, 0, 1, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 58, 2, 0, 1, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 59, 8, 0, 0, 0, 1, 0, 0, 0, 1, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 26, 1, 5, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 57, 4, 0, 0, 5, 0xdc, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 3, 0, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 3, 6, 1, 2, 3, 4, 5, 6, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 6, 0, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 6, 5, 1, 1, 1, 1, 2, 255), -EBADMSG);
	/* a repeated fixed option is one value of twice the length (RFC 3396) */
	CHECK_INT(PARSE(&m, 51, 4, 0, 0, 0, 1, 51, 4, 0, 0, 0, 2, 255), -EBADMSG);

	/* infinite lease, several routers: the first is kept */
	CHECK_INT(PARSE(&m, 51, 4, 0xff, 0xff, 0xff, 0xff, 3, 8, 10, 0, 0, 1, 10, 0, 0, 9, 255), 0);
	CHECK_U64(m.lease_time, DHCP4_INFINITE_LEASE);
	CHECK(m.has_router);
	CHECK_IP(m.router, "10.0.0.1");
	/* an MTU below the IPv4 minimum is dropped, 68 is kept */
	CHECK_INT(PARSE(&m, 26, 2, 0, 67, 255), 0);
	CHECK(!m.has_mtu);
	CHECK_INT(m.mtu, 0);
	CHECK_INT(PARSE(&m, 26, 2, 0, 68, 255), 0);
	CHECK(m.has_mtu);
	CHECK_INT(m.mtu, 68);
}

static void test_limits(void)
{
	struct dhcp4_msg m;
	uint8_t opts[400];
	size_t n = 0;

	/* six DNS servers: four kept */
	CHECK_INT(PARSE(&m, 6, 24, 1, 0, 0, 1, 1, 0, 0, 2, 1, 0, 0, 3, 1, 0, 0, 4, 1, 0, 0, 5, 1, 0,
			0, 6, 255),
		  0);
	CHECK_INT(m.n_dns, 4);
	CHECK_IP(m.dns[3], "1.0.0.4");

	/* seventeen routes 10.<i>.0.0/16 via 10.0.0.1: sixteen kept */
	opts[n++] = 121;
	opts[n++] = 17 * 7;
	for (int i = 0; i < 17; i++) {
		const uint8_t rt[] = { 16, 10, (uint8_t)i, 10, 0, 0, 1 };
		memcpy(opts + n, rt, sizeof(rt));
		n += sizeof(rt);
	}
	opts[n++] = 255;
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_INT(m.n_routes, DHCP4_MAX_ROUTES);
	CHECK_IP(m.routes[15].dest, "10.15.0.0");
	CHECK_INT(m.routes[15].prefixlen, 16);
	/* ...but the seventeenth is still checked */
	opts[2 + 16 * 7] = 33;
	CHECK_INT(parse_opts(opts, n, &m), -EBADMSG);

	/* a parameter request list of 70 codes: 64 kept */
	n = 0;
	opts[n++] = 55;
	opts[n++] = 70;
	for (int i = 0; i < 70; i++)
		opts[n++] = (uint8_t)(i + 1);
	opts[n++] = 255;
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_INT(m.n_prl, DHCP4_MAX_PRL);
	CHECK_INT(m.prl[63], 64);

	/* client ids: too short or too long to keep are dropped whole */
	CHECK_INT(PARSE(&m, 61, 1, 1, 255), 0);
	CHECK_INT(m.client_id_len, 0);
	n = 0;
	opts[n++] = 61;
	opts[n++] = DHCP4_MAX_CLIENT_ID + 1;
	memset(opts + n, 7, DHCP4_MAX_CLIENT_ID + 1);
	n += DHCP4_MAX_CLIENT_ID + 1;
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_INT(m.client_id_len, 0);
	opts[1] = DHCP4_MAX_CLIENT_ID;
	CHECK_INT(parse_opts(opts, n - 1, &m), 0);
	CHECK_INT(m.client_id_len, DHCP4_MAX_CLIENT_ID);
}

static void test_strings(void)
{
	struct dhcp4_msg m;
	uint8_t opts[600];
	size_t n;

	CHECK_INT(PARSE(&m, 12, 3, 'a', 0x07, 'b', 255), 0); /* control character */
	CHECK_STR(m.hostname, "");
	CHECK_INT(PARSE(&m, 12, 3, 'a', 0xc3, 0xa9, 255), 0); /* UTF-8: not ASCII */
	CHECK_STR(m.hostname, "");
	CHECK_INT(PARSE(&m, 12, 3, 'a', 0, 'b', 255), 0); /* embedded NUL */
	CHECK_STR(m.hostname, "");
	CHECK_INT(PARSE(&m, 12, 4, 'h', 'o', 0, 0, 255), 0); /* trailing NULs */
	CHECK_STR(m.hostname, "ho");
	CHECK_INT(PARSE(&m, 12, 1, 0, 255), 0);
	CHECK_STR(m.hostname, "");
	CHECK_INT(PARSE(&m, 12, 0, 255), 0);
	CHECK_STR(m.hostname, "");
	CHECK_INT(PARSE(&m, 15, 3, 'a', 0x7f, 'b', 255), 0); /* DEL */
	CHECK_STR(m.domain, "");
	CHECK_INT(PARSE(&m, 56, 4, 'o', 'k', ' ', '~', 255), 0);
	CHECK_STR(m.message, "ok ~");

	/* 63 characters fit the hostname, 64 do not: dropped, not cut */
	n = 0;
	opts[n++] = 12;
	opts[n++] = 63;
	memset(opts + n, 'h', 63);
	n += 63;
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_INT(strlen(m.hostname), 63);
	opts[1] = 64;
	opts[n++] = 'h';
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_STR(m.hostname, "");

	/* a 255-byte domain fits; split in two it is 300 and does not */
	n = 0;
	opts[n++] = 15;
	opts[n++] = 255;
	memset(opts + n, 'd', 255);
	n += 255;
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_INT(strlen(m.domain), 255);
	opts[n++] = 15;
	opts[n++] = 45;
	memset(opts + n, 'd', 45);
	n += 45;
	CHECK_INT(parse_opts(opts, n, &m), 0);
	CHECK_STR(m.domain, "");
}

static void test_routes(void)
{
	struct dhcp4_msg m;

	/* widths 0, 1-8, 9-16, 17-24, 25-32 take 0, 1, 2, 3, 4 octets */
	CHECK_INT(PARSE(&m, 121, 5 + 6 + 7 + 8 + 9,
			0, 10, 0, 0, 1,
			8, 10, 10, 0, 0, 1,
			12, 172, 16, 10, 0, 0, 1,
			24, 192, 168, 7, 10, 0, 0, 1,
			31, 192, 168, 8, 2, 10, 0, 0, 1, 255),
		  0);
	CHECK_INT(m.n_routes, 5);
	CHECK_IP(m.routes[1].dest, "10.0.0.0");
	CHECK_INT(m.routes[1].prefixlen, 8);
	CHECK_IP(m.routes[2].dest, "172.16.0.0");
	CHECK_INT(m.routes[2].prefixlen, 12);
	CHECK_IP(m.routes[3].dest, "192.168.7.0");
	CHECK_IP(m.routes[4].dest, "192.168.8.2");
	CHECK_INT(m.routes[4].prefixlen, 31);
	CHECK_IP(m.routes[4].gateway, "10.0.0.1");

	/* host bits past the prefix are cleared: 172.31.0.0/12 is 172.16.0.0/12,
	 * 192.168.8.3/31 is 192.168.8.2/31 */
	CHECK_INT(PARSE(&m, 121, 7 + 9, 12, 172, 31, 10, 0, 0, 1, 31, 192, 168, 8, 3, 10, 0, 0, 1,
			255),
		  0);
	CHECK_IP(m.routes[0].dest, "172.16.0.0");
	CHECK_IP(m.routes[1].dest, "192.168.8.2");

	/* malformed: every one rejects the message */
	CHECK_INT(PARSE(&m, 121, 0, 255), -EBADMSG);
	CHECK_INT(PARSE(&m, 121, 4, 0, 10, 0, 0, 255), -EBADMSG);	   /* gateway cut */
	CHECK_INT(PARSE(&m, 121, 5, 33, 1, 2, 3, 4, 255), -EBADMSG);   /* width 33 */
	CHECK_INT(PARSE(&m, 121, 5, 255, 1, 2, 3, 4, 255), -EBADMSG);  /* width 255 */
	CHECK_INT(PARSE(&m, 121, 5, 24, 10, 0, 0, 1, 255), -EBADMSG);  /* dest ate the gateway */
	CHECK_INT(PARSE(&m, 121, 7, 0, 10, 0, 0, 1, 8, 10, 255), -EBADMSG); /* second cut */
	CHECK_INT(PARSE(&m, 121, 6, 0, 10, 0, 0, 1, 0, 255), -EBADMSG);     /* stray byte */
	/* a malformed 121 is not replaced by option 3 */
	CHECK_INT(PARSE(&m, 3, 4, 10, 0, 0, 1, 121, 5, 40, 0, 0, 0, 0, 255), -EBADMSG);
}

/* RFC 3396: instances are concatenated, across the fields option 52 lends. */
static void test_split_and_overload(void)
{
	uint8_t b[600], built[600];
	struct dhcp4_msg m, again;
	size_t n = golden_header(b, 2, 42, 0, "0.0.0.0", "10.0.0.2", "0.0.0.0");
	static const uint8_t opts[] = {
		52, 1, 3,				/* both file and sname hold options */
		53, 1, 5,
		121, 3, 0, 10, 0,			/* 0.0.0.0/0 via 10.0.0.1, split... */
		12, 2, 'a', 'b',			/* hostname "ab"... */
		255,
	};
	static const uint8_t file[] = {
		121, 2, 0, 1,				/* ...continued here */
		6, 4, 9, 9, 9, 9,
		0, 0,
		12, 1, 'c',				/* ..."abc"... */
		255,
	};
	static const uint8_t sname[] = {
		12, 2, 'd', 'e',			/* ..."abcde" (sname comes last) */
		121, 7, 16, 192, 168, 10, 0, 0, 2,	/* 192.168.0.0/16 via 10.0.0.2 */
	};

	memcpy(b + n, opts, sizeof(opts));
	n += sizeof(opts);
	memcpy(b + 108, file, sizeof(file));
	memcpy(b + 44, sname, sizeof(sname));
	CHECK_INT(dhcp4_parse(b, n, &m), 0);
	CHECK_INT(m.type, DHCP4_ACK);
	CHECK_STR(m.hostname, "abcde");
	CHECK_INT(m.n_dns, 1);
	CHECK_IP(m.dns[0], "9.9.9.9");
	CHECK_INT(m.n_routes, 2);
	CHECK_IP(m.routes[0].gateway, "10.0.0.1");
	CHECK_IP(m.routes[1].dest, "192.168.0.0");
	CHECK_INT(m.routes[1].prefixlen, 16);
	CHECK_IP(m.routes[1].gateway, "10.0.0.2");

	/* rebuilt without overload, the options field holds everything */
	ssize_t len = dhcp4_build(&m, built, sizeof(built));
	CHECK_INT(len, 300);
	CHECK_INT(built[44], 0);
	CHECK_INT(built[108], 0);
	CHECK_INT(dhcp4_parse(built, (size_t)len, &again), 0);
	CHECK_STR(again.hostname, "abcde");
	CHECK_INT(again.n_routes, 2);
	CHECK_IP(again.routes[1].dest, "192.168.0.0");

	/* overload 1: sname is a name again, its bytes are not options */
	b[240 + 2] = 1;
	CHECK_INT(dhcp4_parse(b, n, &m), 0);
	CHECK_STR(m.hostname, "abc");
	CHECK_INT(m.n_routes, 1);
	/* overload 2: only sname */
	b[240 + 2] = 2;
	CHECK_INT(dhcp4_parse(b, n, &m), -EBADMSG); /* 121: 3 + 7 bytes do not parse */

	/* without option 52, file and sname are not looked at */
	b[240] = 0;
	b[241] = 0;
	b[242] = 0;
	CHECK_INT(dhcp4_parse(b, n, &m), -EBADMSG); /* 121 alone: 3 bytes */

	/* bad overload values and lengths */
	b[240] = 52;
	b[241] = 1;
	b[242] = 0;
	CHECK_INT(dhcp4_parse(b, n, &m), -EBADMSG);
	b[242] = 4;
	CHECK_INT(dhcp4_parse(b, n, &m), -EBADMSG);
	CHECK_INT(PARSE(&m, 52, 2, 0, 1, 255), -EBADMSG);

	/* an option running past the end of the file field */
	memset(b + 108, 0, 128);
	b[108 + 126] = 43;
	b[108 + 127] = 5;
	b[240 + 2] = 1;
	CHECK_INT(dhcp4_parse(b, n, &m), -EBADMSG);
	/* option 52 inside a lent field means nothing: sname, which would not
	 * parse as options, stays a name */
	n = golden_header(b, 2, 42, 0, "0.0.0.0", "10.0.0.2", "0.0.0.0");
	memcpy(b + n, (const uint8_t[]){ 52, 1, 1, 53, 1, 5, 255 }, 7);
	n += 7;
	memcpy(b + 108, (const uint8_t[]){ 52, 1, 2, 255 }, 4);
	memcpy(b + 44, (const uint8_t[]){ 43, 200 }, 2);
	CHECK_INT(dhcp4_parse(b, n, &m), 0);
	CHECK_INT(m.type, DHCP4_ACK);
}

static void test_build_errors(void)
{
	struct dhcp4_msg m = { .op = 1, .htype = 1, .hlen = 6, .type = DHCP4_DISCOVER };
	uint8_t buf[600];

	CHECK_INT(dhcp4_build(&m, buf, 300), 300);
	CHECK_INT(dhcp4_build(&m, buf, 299), -ENOBUFS);
	CHECK_INT(dhcp4_build(&m, buf, 0), -ENOBUFS);

	/* options past 300 bytes: no padding, and the exact size is enough */
	memset(m.domain, 'x', 200);
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), 240 + 3 + 202 + 1);
	CHECK_INT(buf[240 + 3 + 202], 255);
	CHECK_INT(dhcp4_build(&m, buf, 446), 446);
	CHECK_INT(dhcp4_build(&m, buf, 445), -ENOBUFS);

	memset(m.domain, 'x', sizeof(m.domain)); /* no NUL */
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), -EINVAL);
	m.domain[0] = '\0';

	m.hlen = 17;
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), -EINVAL);
	m.hlen = 6;
	m.n_dns = DHCP4_MAX_DNS + 1;
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), -EINVAL);
	m.n_dns = 0;
	m.n_routes = 1;
	m.routes[0].prefixlen = 33;
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), -EINVAL);
	m.routes[0].prefixlen = 32;
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), 300);
	m.n_prl = DHCP4_MAX_PRL + 1;
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), -EINVAL);
	m.n_prl = 0;
	m.client_id_len = DHCP4_MAX_CLIENT_ID + 1;
	CHECK_INT(dhcp4_build(&m, buf, sizeof(buf)), -EINVAL);
}

/* Everything set, every route width: build, parse, build gives the same. */
static void test_round_trip(void)
{
	struct dhcp4_msg m = {
		.op = DHCP4_BOOTREPLY,
		.htype = 1,
		.hlen = 16,
		.hops = 3,
		.xid = 0x80000001,
		.secs = 65535,
		.flags = 0x8001,
		.ciaddr = ip("1.2.3.4"),
		.yiaddr = ip("5.6.7.8"),
		.siaddr = ip("9.10.11.12"),
		.giaddr = ip("13.14.15.16"),
		.chaddr = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
		.type = DHCP4_OFFER,
		.has_server_id = true,
		.server_id = ip("10.0.0.1"),
		.has_requested_ip = true,
		.requested_ip = ip("10.0.0.9"),
		.has_subnet_mask = true,
		.subnet_mask = ip("255.255.240.0"),
		.has_router = true,
		.router = ip("10.0.0.1"),
		.has_lease_time = true,
		.lease_time = 3600,
		.has_t1 = true,
		.t1 = 1,
		.has_t2 = true,
		.t2 = 0,
		.has_mtu = true,
		.mtu = 9000,
		.has_max_msg_size = true,
		.max_msg_size = 576,
		.dns = { ip("8.8.8.8"), ip("8.8.4.4"), ip("1.1.1.1"), ip("1.0.0.1") },
		.n_dns = 4,
		.prl = { 255, 0, 121 },
		.n_prl = 3,
		.client_id = { 0xff, 0, 1, 2 },
		.client_id_len = 4,
		.hostname = "a-b.c",
		.domain = "d.e",
		.message = "hi there",
	};
	struct dhcp4_msg p;
	uint8_t a[600], b[600];
	ssize_t na, nb;

	/* prefix lengths 0, 2, ... 30 from 255.255.255.255: host bits cleared */
	for (unsigned i = 0; i < DHCP4_MAX_ROUTES; i++) {
		struct dhcp4_route *rt = &m.routes[m.n_routes++];
		rt->dest = ip("255.255.255.255");
		rt->prefixlen = (uint8_t)(2 * i);
		rt->gateway = ip("10.0.0.1");
	}

	na = dhcp4_build(&m, a, sizeof(a));
	CHECK(na > 300);
	CHECK_INT(dhcp4_parse(a, (size_t)na, &p), 0);
	nb = dhcp4_build(&p, b, sizeof(b));
	CHECK_INT(nb, na);
	CHECK_MEM(a, b, (size_t)na);

	CHECK_INT(p.hops, 3);
	CHECK_INT(p.secs, 65535);
	CHECK_INT(p.flags, 0x8001);
	CHECK_IP(p.giaddr, "13.14.15.16");
	CHECK_MEM(p.chaddr, m.chaddr, 16);
	CHECK_INT(p.t2, 0);
	CHECK_INT(p.mtu, 9000);
	CHECK_INT(p.max_msg_size, 576);
	CHECK_STR(p.message, "hi there");
	CHECK_INT(p.n_routes, DHCP4_MAX_ROUTES);
	CHECK_IP(p.routes[0].dest, "0.0.0.0");
	CHECK_IP(p.routes[5].dest, "255.192.0.0"); /* /10 */
	CHECK_INT(p.routes[15].prefixlen, 30);
	CHECK_IP(p.routes[15].dest, "255.255.255.252");
}

static void test_netmask(void)
{
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("0.0.0.0")), 0);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("128.0.0.0")), 1);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("255.255.255.0")), 24);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("255.255.255.254")), 31);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("255.255.255.255")), 32);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("255.0.255.0")), -EINVAL);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("0.0.0.255")), -EINVAL);
	CHECK_INT(dhcp4_netmask_to_prefixlen(ip("255.255.255.253")), -EINVAL);
}

int main(void)
{
	test_ack_golden();
	test_client_messages();
	test_nak_release();
	test_header_errors();
	test_option_structure();
	test_fixed_lengths();
	test_limits();
	test_strings();
	test_routes();
	test_split_and_overload();
	test_build_errors();
	test_round_trip();
	test_netmask();
	return test_done();
}
