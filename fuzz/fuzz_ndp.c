/* SPDX-License-Identifier: MIT */
/*
 * ICMPv6 neighbour discovery parsers (lib/packet/ndp.c): the input is tried
 * as each of RS, RA, NS and NA; whatever parses is built again, and the
 * result must parse to the same values.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUND_TRIP(type, parse, build)                                          \
	do {                                                                    \
		struct type a, b;                                               \
		uint8_t buf[NDP_MAX_SIZE];                                      \
		int r = parse(data, size, &a), n;                               \
		if (r == -EBADMSG)                                              \
			break;                                                  \
		if (r != 0)                                                     \
			abort();                                                \
		n = build(&a, buf, sizeof(buf));                                \
		if (n < 0 || (size_t)n > sizeof(buf))                           \
			abort();                                                \
		if (parse(buf, (size_t)n, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0) \
			abort();                                                \
		/* a smaller buffer is refused, never overrun */                \
		if (n > 0 && build(&a, buf, (size_t)n - 1) != -ENOBUFS)        \
			abort();                                                \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in6_addr src = { .s6_addr = { 0xfe, 0x80, [15] = 1 } };
	struct in6_addr dst = { .s6_addr = { 0xff, 0x02, [15] = 1 } };

	ROUND_TRIP(ndp_rs, ndp_parse_rs, ndp_build_rs);
	ROUND_TRIP(ndp_ra, ndp_parse_ra, ndp_build_ra);
	ROUND_TRIP(ndp_ns, ndp_parse_ns, ndp_build_ns);
	ROUND_TRIP(ndp_na, ndp_parse_na, ndp_build_na);
	(void)ndp_checksum(&src, &dst, data, size);
	return 0;
}
