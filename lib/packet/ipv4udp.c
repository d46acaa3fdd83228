/* SPDX-License-Identifier: MIT */
/* IPv4 + UDP headers: building them in front of a payload, and checking them. */
#include "ipv4udp.h"

#include <errno.h>
#include <string.h>

#include "checksum.h"
#include "bytes.h"

#define IP_VERSION_IHL_NO_OPTIONS 0x45
#define IP_DEFAULT_TTL 64
#define IP_PROTO_UDP 17
#define IP_FLAG_MF 0x2000
#define IP_FRAG_OFFSET_MASK 0x1fff

ssize_t ipv4udp_wrap(uint8_t *buf, size_t n, const struct ipv4udp_addr *addr)
{
	uint8_t *ip = buf, *udp = buf + IPV4_HEADER_LEN;
	size_t udp_len = UDP_HEADER_LEN + n, total = IPV4_HEADER_LEN + udp_len;
	uint16_t csum;

	if (total > UINT16_MAX)
		return -EMSGSIZE;

	memset(ip, 0, IPV4_HEADER_LEN);
	ip[0] = IP_VERSION_IHL_NO_OPTIONS;
	put16(ip + 2, (uint16_t)total);
	ip[8] = IP_DEFAULT_TTL;
	ip[9] = IP_PROTO_UDP;
	memcpy(ip + 12, &addr->src, 4);
	memcpy(ip + 16, &addr->dst, 4);
	csum = csum_fold(csum_add(0, ip, IPV4_HEADER_LEN));
	memcpy(ip + 10, &csum, 2);

	put16(udp, addr->sport);
	put16(udp + 2, addr->dport);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	csum = csum_fold(csum_add(csum_pseudo4(addr->src, addr->dst, IP_PROTO_UDP,
					       (uint16_t)udp_len),
				  udp, udp_len));
	/* 0 means "no checksum" in UDP: a computed 0 is sent as its
	 * one's-complement twin (RFC 768) */
	if (csum == 0)
		csum = 0xffff;
	memcpy(udp + 6, &csum, 2);
	return (ssize_t)total;
}

int ipv4udp_unwrap(const uint8_t *p, size_t n, unsigned flags, struct ipv4udp_addr *addr,
		   const uint8_t **payload, size_t *payload_len)
{
	size_t ihl, total, udp_len;
	const uint8_t *udp;
	struct ipv4udp_addr a;

	if (n < IPV4_HEADER_LEN || p[0] >> 4 != 4)
		return -EBADMSG;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = get16(p + 2);
	if (ihl < IPV4_HEADER_LEN || total < ihl || total > n)
		return -EBADMSG;
	/* a valid header sums to 0xffff, which folds to 0 */
	if (csum_fold(csum_add(0, p, ihl)) != 0)
		return -EBADMSG;
	/* fragments are never reassembled: DHCP and the like fit one packet */
	if (get16(p + 6) & (IP_FLAG_MF | IP_FRAG_OFFSET_MASK))
		return -EBADMSG;
	if (p[9] != IP_PROTO_UDP)
		return -EPROTONOSUPPORT;

	udp = p + ihl;
	if (total - ihl < UDP_HEADER_LEN)
		return -EBADMSG;
	udp_len = get16(udp + 4);
	if (udp_len < UDP_HEADER_LEN || udp_len > total - ihl)
		return -EBADMSG;

	memcpy(&a.src, p + 12, 4);
	memcpy(&a.dst, p + 16, 4);
	a.sport = get16(udp);
	a.dport = get16(udp + 2);

	if (get16(udp + 6) != 0 && !(flags & IPV4UDP_SKIP_UDP_CSUM)) {
		uint32_t sum = csum_pseudo4(a.src, a.dst, IP_PROTO_UDP, (uint16_t)udp_len);
		if (csum_fold(csum_add(sum, udp, udp_len)) != 0)
			return -EBADMSG;
	}

	if (addr)
		*addr = a;
	*payload = udp + UDP_HEADER_LEN;
	*payload_len = udp_len - UDP_HEADER_LEN;
	return 0;
}
