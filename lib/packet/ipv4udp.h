/* SPDX-License-Identifier: MIT */
/*
 * IPv4 + UDP framing for the programs that see raw IP packets: the guest's
 * DHCP client before it has an address (AF_PACKET, SOCK_DGRAM) and the
 * network daemon's dataplane. Pure functions over buffers.
 */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPV4_HEADER_LEN 20
#define UDP_HEADER_LEN 8
/* what ipv4udp_wrap puts in front of the payload (an IPv4 header without options) */
#define IPV4UDP_HEADER_LEN (IPV4_HEADER_LEN + UDP_HEADER_LEN)

/* The addressing of one datagram; ports in host byte order. */
struct ipv4udp_addr {
	struct in_addr src, dst;
	uint16_t sport, dport;
};

enum {
	/* Do not verify the UDP checksum: the receiver was told it was not
	 * computed (AF_PACKET TP_STATUS_CSUMNOTREADY, virtio-net NEEDS_CSUM). */
	IPV4UDP_SKIP_UDP_CSUM = 1 << 0,
};

/* Fill the IPV4UDP_HEADER_LEN bytes at buf in front of a payload of n bytes
 * that the caller already placed at buf + IPV4UDP_HEADER_LEN: TTL 64, no
 * fragmentation, both checksums. Returns the datagram's length or
 * -EMSGSIZE when it would not fit the 16-bit length fields. */
ssize_t ipv4udp_wrap(uint8_t *buf, size_t n, const struct ipv4udp_addr *addr);

/* Validate an IPv4 packet of n bytes (bytes past its total length, e.g.
 * Ethernet padding, are ignored) carrying one unfragmented UDP datagram, and
 * point *payload at its payload. Returns 0, -EPROTONOSUPPORT for a valid
 * IPv4 packet that is not UDP, or -EBADMSG for anything malformed: version,
 * header length, total length, fragment, UDP length, either checksum. */
int ipv4udp_unwrap(const uint8_t *p, size_t n, unsigned flags, struct ipv4udp_addr *addr,
		   const uint8_t **payload, size_t *payload_len);
