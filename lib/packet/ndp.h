/* SPDX-License-Identifier: MIT */
/*
 * ICMPv6 neighbour discovery (RFC 4861, RDNSS from RFC 8106): Router
 * Solicitation and Advertisement, Neighbor Solicitation and Advertisement.
 * The guest's init solicits and reads RAs; mvirt-net answers RS and NS for
 * its guests, so every message is parsed and built in both directions.
 *
 * Buffers hold the ICMPv6 message only (from the type byte on, no IPv6
 * header). Builders leave the checksum zero: the kernel fills it in on raw
 * ICMPv6 sockets; whoever writes whole frames uses ndp_checksum(). The
 * checks that need the IPv6 header (hop limit 255, source address scope) are
 * the caller's.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NDP_ROUTER_SOLICIT = 133,
	NDP_ROUTER_ADVERT = 134,
	NDP_NEIGHBOR_SOLICIT = 135,
	NDP_NEIGHBOR_ADVERT = 136,
};

/* Fixed limits: further prefixes or DNS servers in a message are ignored. */
#define NDP_MAX_PREFIXES 8
#define NDP_MAX_DNS 4
/* Largest message the builders write (RA with every option at its limit). */
#define NDP_MAX_SIZE 512

struct ndp_prefix {
	struct in6_addr prefix;
	uint8_t len;
	bool onlink, autonomous; /* L and A flags */
	uint32_t valid_s, preferred_s;
};

struct ndp_rs {
	bool has_source_mac;
	uint8_t source_mac[6];
};

struct ndp_ra {
	uint8_t cur_hop_limit;
	bool managed, other; /* M and O flags */
	uint16_t router_lifetime_s;
	uint32_t reachable_ms, retrans_ms;
	bool has_source_mac;
	uint8_t source_mac[6];
	uint32_t mtu; /* 0: no MTU option */
	struct ndp_prefix prefixes[NDP_MAX_PREFIXES];
	unsigned n_prefixes;
	/* RDNSS: each server with the lifetime of the option that carried it */
	struct in6_addr dns[NDP_MAX_DNS];
	uint32_t dns_lifetime_s[NDP_MAX_DNS];
	unsigned n_dns;
};

struct ndp_ns {
	struct in6_addr target;
	bool has_source_mac;
	uint8_t source_mac[6];
};

struct ndp_na {
	struct in6_addr target;
	bool router, solicited, override; /* R, S and O flags */
	bool has_target_mac;
	uint8_t target_mac[6];
};

/* Parsers: 0, or -EBADMSG when the message is short, of another type, has a
 * non-zero code, an option of length zero or running past the end, or a
 * known option of the wrong size. Unknown options are skipped. */
int ndp_parse_rs(const void *msg, size_t len, struct ndp_rs *out);
int ndp_parse_ra(const void *msg, size_t len, struct ndp_ra *out);
int ndp_parse_ns(const void *msg, size_t len, struct ndp_ns *out);
int ndp_parse_na(const void *msg, size_t len, struct ndp_na *out);

/* Builders: the message length, or -ENOBUFS when buf is too small
 * (NDP_MAX_SIZE is always enough), or -EINVAL for a prefix length > 128. */
int ndp_build_rs(const struct ndp_rs *rs, void *buf, size_t size);
int ndp_build_ra(const struct ndp_ra *ra, void *buf, size_t size);
int ndp_build_ns(const struct ndp_ns *ns, void *buf, size_t size);
int ndp_build_na(const struct ndp_na *na, void *buf, size_t size);

/* ICMPv6 checksum over the pseudo-header and msg, in network byte order:
 * with the checksum field (bytes 2-3) zeroed it is the value to store there;
 * over a message with a correct checksum it is 0. */
uint16_t ndp_checksum(const struct in6_addr *src, const struct in6_addr *dst, const void *msg,
		      size_t len);
