/* SPDX-License-Identifier: MIT */
/*
 * Router discovery for one NIC (RFC 4861 §6.3.7): Router Solicitations on a
 * raw ICMPv6 socket once the kernel's link-local address is usable, then
 * every new or changed Router Advertisement reported to the caller.
 *
 * The kernel itself configures SLAAC addresses and the default route from
 * RAs (accept_ra=1): this client only tells the init what the routers say,
 * so that it starts DHCPv6 on the M flag and reports the gateway.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

#define RA_MAX_PREFIXES 8
#define RA_MAX_DNS 4

struct ra_info {
	struct in6_addr router; /* the RA's link-local source */
	uint16_t lifetime_s;	/* router lifetime, 0: not a default router */
	bool managed, other;	/* M and O flags */
	struct {
		struct in6_addr prefix;
		uint8_t len;
		bool onlink, autonomous;
		uint32_t valid_s, preferred_s;
	} prefixes[RA_MAX_PREFIXES];
	unsigned n_prefixes;
	uint32_t mtu; /* 0: none */
	struct in6_addr dns[RA_MAX_DNS]; /* RDNSS with a non-zero lifetime */
	unsigned n_dns;
};

enum ra_event {
	RA_RECEIVED, /* info: an RA that differs from this router's last one */
	RA_NONE,     /* info NULL: no RA after the solicitations */
};

struct ra_client;
/* The client must not be freed from within its callback. */
typedef void (*ra_client_cb)(struct ra_client *c, enum ra_event event, const struct ra_info *info,
			     void *userdata);

/* A client for the NIC ifindex/ifname; mac (may be NULL) goes into the
 * solicitations' source link-layer address option. 0 or a negative errno. */
int ra_client_new(struct loop *l, int ifindex, const char *ifname, const uint8_t mac[6],
		  ra_client_cb cb, void *userdata, struct ra_client **out);
/* Open the socket and start soliciting. 0 or a negative errno. */
int ra_client_start(struct ra_client *c);
void ra_client_free(struct ra_client *c);
