/* SPDX-License-Identifier: MIT */
/*
 * IPv4/UDP unwrapping on hostile bytes: 0, -EBADMSG or -EPROTONOSUPPORT,
 * the payload inside the input, and a valid datagram wraps back into one
 * that unwraps to the same addresses and payload.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[IPV4UDP_HEADER_LEN + 65536];
	struct ipv4udp_addr addr, addr2;
	const uint8_t *payload, *payload2;
	size_t len, len2;
	ssize_t n;
	int r, skip;

	skip = ipv4udp_unwrap(data, size, IPV4UDP_SKIP_UDP_CSUM, &addr, &payload, &len);
	r = ipv4udp_unwrap(data, size, 0, &addr, &payload, &len);
	if (r == -EBADMSG || r == -EPROTONOSUPPORT) {
		/* skipping the UDP checksum can only accept more */
		if (skip != r && skip != 0)
			abort();
		return 0;
	}
	if (r != 0 || skip != 0)
		abort();
	if (payload < data + IPV4UDP_HEADER_LEN || len > size ||
	    payload + len > data + size)
		abort();

	memcpy(buf + IPV4UDP_HEADER_LEN, payload, len);
	n = ipv4udp_wrap(buf, len, &addr);
	if (n != (ssize_t)(IPV4UDP_HEADER_LEN + len))
		abort();
	if (ipv4udp_unwrap(buf, (size_t)n, 0, &addr2, &payload2, &len2) != 0 || len2 != len ||
	    memcmp(payload2, payload, len) != 0 || addr2.src.s_addr != addr.src.s_addr ||
	    addr2.dst.s_addr != addr.dst.s_addr || addr2.sport != addr.sport ||
	    addr2.dport != addr.dport)
		abort();
	return 0;
}
