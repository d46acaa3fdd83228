/* SPDX-License-Identifier: MIT */
#include "checksum.h"

#include <arpa/inet.h>

uint32_t csum_add(uint32_t sum, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	for (; n >= 2; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	/* keep the carries: fold into 32 bits so sums can be chained */
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

uint32_t csum_pseudo4(struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t len)
{
	uint32_t sum = 0;

	sum = csum_add(sum, &src, 4);
	sum = csum_add(sum, &dst, 4);
	return sum + proto + len;
}

uint32_t csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst, uint8_t next_header,
		      uint32_t len)
{
	uint32_t sum = 0;

	sum = csum_add(sum, src, 16);
	sum = csum_add(sum, dst, 16);
	return csum_add(sum, (uint8_t[]){ len >> 24, len >> 16 & 0xff, len >> 8 & 0xff, len & 0xff,
					  0, 0, 0, next_header }, 8);
}
