/* SPDX-License-Identifier: MIT */
/* The Internet checksum (RFC 1071) and the pseudo-headers of UDP and ICMPv6. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Add n bytes to a running one's-complement sum (n may be odd only for the
 * last chunk). */
uint32_t csum_add(uint32_t sum, const void *data, size_t n);
/* Fold and complement: the 16-bit checksum, in network byte order. */
uint16_t csum_fold(uint32_t sum);

/* Sum of the IPv4 pseudo-header for a payload of len bytes of protocol proto. */
uint32_t csum_pseudo4(struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t len);
/* Sum of the IPv6 pseudo-header (RFC 8200 §8.1). */
uint32_t csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst, uint8_t next_header,
		      uint32_t len);
