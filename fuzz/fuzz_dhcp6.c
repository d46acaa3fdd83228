/* SPDX-License-Identifier: MIT */
/*
 * DHCPv6 parser (lib/packet/dhcp6.c): whatever parses is built again, and
 * the result must parse to the same values; the builder must refuse a
 * buffer one byte too small rather than overrun it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp6_message a, b;
	static uint8_t buf[DHCP6_MAX_SIZE];
	int r, n;

	r = dhcp6_parse(data, size, &a);
	if (r == -EBADMSG)
		return 0;
	if (r != 0)
		abort();
	n = dhcp6_build(&a, buf, sizeof(buf));
	if (n < 0 || (size_t)n > sizeof(buf))
		abort();
	if (dhcp6_parse(buf, (size_t)n, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (dhcp6_build(&a, buf, (size_t)n - 1) != -ENOBUFS)
		abort();
	return 0;
}
