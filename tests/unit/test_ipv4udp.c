/* SPDX-License-Identifier: MIT */
/* lib/packet/ipv4udp.c: IPv4 + UDP headers against hand-made packets. */
#include <arpa/inet.h>
#include <errno.h>

#include "ipv4udp.h"
#include "tap.h"

/*
 * A DHCP-like datagram 10.0.0.1:67 -> 255.255.255.255:68 with the 4-byte
 * payload "mvrt", laid out by hand after RFC 791 and RFC 768; the checksums
 * were summed separately (16-bit words, end-around carry, complement).
 */
static const uint8_t golden[] = {
	/* IPv4: version 4, IHL 5; TOS 0; total length 32 */
	0x45, 0x00, 0x00, 0x20,
	/* identification 0; flags and fragment offset 0 */
	0x00, 0x00, 0x00, 0x00,
	/* TTL 64, protocol 17 (UDP), header checksum */
	0x40, 0x11, 0x70, 0xcd,
	/* source 10.0.0.1, destination 255.255.255.255 */
	10, 0, 0, 1,
	255, 255, 255, 255,
	/* UDP: ports 67 -> 68, length 12, checksum */
	0x00, 0x43, 0x00, 0x44,
	0x00, 0x0c, 0x15, 0x64,
	'm', 'v', 'r', 't',
};

/* RFC 1071, written out independently of lib/packet/checksum.c */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n % 2)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static struct ipv4udp_addr addr(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct ipv4udp_addr a = { .sport = sport, .dport = dport };

	inet_pton(AF_INET, src, &a.src);
	inet_pton(AF_INET, dst, &a.dst);
	return a;
}

/* Recompute the IP header checksum of p after a test edited the header. */
static void fix_ip_csum(uint8_t *p)
{
	size_t ihl = (size_t)(p[0] & 0xf) * 4;
	uint16_t c;

	p[10] = p[11] = 0;
	c = ref_csum(p, ihl, 0);
	p[10] = c >> 8;
	p[11] = c & 0xff;
}

static void test_golden(void)
{
	uint8_t buf[64] = { 0 };
	struct ipv4udp_addr a = addr("10.0.0.1", "255.255.255.255", 67, 68), got;
	const uint8_t *payload;
	size_t len;

	/* the paper sums agree with the reference function */
	CHECK_INT(ref_csum(golden, 20, 0), 0);

	memcpy(buf + IPV4UDP_HEADER_LEN, "mvrt", 4);
	CHECK_INT(ipv4udp_wrap(buf, 4, &a), sizeof(golden));
	CHECK_MEM(buf, golden, sizeof(golden));

	CHECK_INT(ipv4udp_unwrap(golden, sizeof(golden), 0, &got, &payload, &len), 0);
	CHECK(payload == golden + IPV4UDP_HEADER_LEN);
	CHECK_INT(len, 4);
	CHECK_INT(got.src.s_addr, a.src.s_addr);
	CHECK_INT(got.dst.s_addr, a.dst.s_addr);
	CHECK_INT(got.sport, 67);
	CHECK_INT(got.dport, 68);
	/* the address is optional */
	CHECK_INT(ipv4udp_unwrap(golden, sizeof(golden), 0, NULL, &payload, &len), 0);
}

static void test_round_trip_odd_length(void)
{
	uint8_t buf[IPV4UDP_HEADER_LEN + 301];
	struct ipv4udp_addr a = addr("0.0.0.0", "255.255.255.255", 68, 67), got;
	const uint8_t *payload;
	size_t len;
	uint32_t pseudo = 0;

	for (size_t i = 0; i < 301; i++)
		buf[IPV4UDP_HEADER_LEN + i] = (uint8_t)(i * 7 + 1);
	CHECK_INT(ipv4udp_wrap(buf, 301, &a), sizeof(buf));
	CHECK_INT(ref_csum(buf, 20, 0), 0);
	/* UDP checksum over the pseudo-header (addresses, 0, 17, length) */
	pseudo = 0 + 0 + 0xffff + 0xffff + 17 + (8 + 301);
	CHECK_INT(ref_csum(buf + 20, 8 + 301, pseudo), 0);
	CHECK_INT(ipv4udp_unwrap(buf, sizeof(buf), 0, &got, &payload, &len), 0);
	CHECK_INT(len, 301);
	CHECK_INT(payload[300], (uint8_t)(300 * 7 + 1));
	CHECK_INT(got.sport, 68);
	CHECK_INT(got.dport, 67);
}

/* A payload whose UDP checksum computes to 0 goes out as 0xffff. */
static void test_zero_checksum_sent_as_ffff(void)
{
	uint8_t buf[IPV4UDP_HEADER_LEN + 2] = { 0 };
	struct ipv4udp_addr a = addr("10.0.0.1", "10.0.0.2", 1000, 2000);
	const uint8_t *payload;
	size_t len;
	uint16_t c;

	/* pick the payload word that makes the one's-complement sum 0xffff */
	CHECK_INT(ipv4udp_wrap(buf, 2, &a), sizeof(buf));
	c = (uint16_t)(buf[26] << 8 | buf[27]); /* checksum with payload 0 */
	buf[28] = c >> 8;
	buf[29] = c & 0xff;
	CHECK_INT(ipv4udp_wrap(buf, 2, &a), sizeof(buf));
	CHECK_INT(buf[26], 0xff);
	CHECK_INT(buf[27], 0xff);
	CHECK_INT(ipv4udp_unwrap(buf, sizeof(buf), 0, NULL, &payload, &len), 0);
}

static void test_too_big(void)
{
	uint8_t buf[IPV4UDP_HEADER_LEN] = { 0 };
	struct ipv4udp_addr a = addr("10.0.0.1", "10.0.0.2", 1, 2);

	/* refused before the payload is read */
	CHECK_INT(ipv4udp_wrap(buf, 65536 - IPV4UDP_HEADER_LEN, &a), -EMSGSIZE);
}

static int unwrap(const uint8_t *p, size_t n, unsigned flags)
{
	const uint8_t *payload;
	size_t len;

	return ipv4udp_unwrap(p, n, flags, NULL, &payload, &len);
}

static void test_malformed(void)
{
	uint8_t p[sizeof(golden) + 8];

#define RESET() memcpy(p, golden, sizeof(golden))
	RESET();
	CHECK_INT(unwrap(p, 0, 0), -EBADMSG);
	CHECK_INT(unwrap(p, 19, 0), -EBADMSG);
	CHECK_INT(unwrap(p, sizeof(golden) - 1, 0), -EBADMSG); /* total length > n */

	/* Ethernet padding past the total length is fine */
	memset(p + sizeof(golden), 0xee, 8);
	CHECK_INT(unwrap(p, sizeof(p), 0), 0);

	RESET();
	p[0] = 0x65; /* IPv6 */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[0] = 0x44; /* IHL 4 */
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[0] = 0x4f; /* IHL 15: past the total length */
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[2] = 0;
	p[3] = 19; /* total length below the header */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[3] = 24; /* room for 4 of the 8 UDP header bytes */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[11] ^= 1; /* header checksum */
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[6] = 0x20; /* more fragments */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[7] = 1; /* a fragment at offset 8 */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[6] = 0x40; /* don't fragment: still one whole datagram */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), 0);

	RESET();
	p[9] = 6; /* TCP */
	fix_ip_csum(p);
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EPROTONOSUPPORT);

	RESET();
	p[25] = 7; /* UDP length below its header */
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[25] = 13; /* UDP length past the IP packet */
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);

	RESET();
	p[31] ^= 1; /* payload: UDP checksum no longer matches */
	CHECK_INT(unwrap(p, sizeof(golden), 0), -EBADMSG);
	/* unless the receiver knows the sender left it to offload */
	CHECK_INT(unwrap(p, sizeof(golden), IPV4UDP_SKIP_UDP_CSUM), 0);
	/* or the sender did not compute one */
	p[26] = p[27] = 0;
	CHECK_INT(unwrap(p, sizeof(golden), 0), 0);

	RESET();
	/* a shorter UDP length inside the IP packet is valid: the payload ends
	 * there (and the checksum covers only that much) */
	p[25] = 8;
	p[26] = p[27] = 0;
	{
		const uint8_t *payload;
		size_t len;
		CHECK_INT(ipv4udp_unwrap(p, sizeof(golden), 0, NULL, &payload, &len), 0);
		CHECK_INT(len, 0);
	}
#undef RESET
}

/* IP options (IHL 6) are skipped. */
static void test_ip_options(void)
{
	uint8_t p[sizeof(golden) + 4];
	const uint8_t *payload;
	size_t len;

	memcpy(p, golden, 20);
	p[20] = 1; /* four NOP options */
	p[21] = 1;
	p[22] = 1;
	p[23] = 1;
	memcpy(p + 24, golden + 20, sizeof(golden) - 20);
	p[0] = 0x46;
	p[3] = (uint8_t)sizeof(p);
	fix_ip_csum(p);
	CHECK_INT(ipv4udp_unwrap(p, sizeof(p), 0, NULL, &payload, &len), 0);
	CHECK_INT(len, 4);
	CHECK_MEM(payload, "mvrt", 4);
}

int main(void)
{
	test_golden();
	test_round_trip_odd_length();
	test_zero_checksum_sent_as_ffff();
	test_too_big();
	test_malformed();
	test_ip_options();
	return test_done();
}
