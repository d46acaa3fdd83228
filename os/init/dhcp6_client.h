/* SPDX-License-Identifier: MIT */
/*
 * Stateful DHCPv6 client for one NIC (RFC 8415): SOLICIT, ADVERTISE,
 * REQUEST, REPLY for one IA_NA with a stable IAID and a DUID-LL, then RENEW
 * at T1, REBIND at T2, and RELEASE on shutdown. The init starts it when an
 * RA carries the M flag.
 *
 * The client never configures the interface: it reports leases, and the
 * caller adds the address (as a /128: on-link prefixes come from RAs).
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

#define DHCP6_LEASE_MAX_DNS 4
#define DHCP6_INFINITY 0xffffffffu /* lifetime or T1/T2 that never ends */

struct dhcp6_lease {
	struct in6_addr address;
	uint32_t preferred_s, valid_s;
	uint32_t t1_s, t2_s; /* as used: the server's, or 0.5 and 0.8 of preferred */
	struct in6_addr dns[DHCP6_LEASE_MAX_DNS];
	unsigned n_dns;
	struct in6_addr server_addr; /* where the REPLY came from */
};

enum dhcp6_event {
	DHCP6_BOUND,	/* lease: a new address */
	DHCP6_RENEWED,	/* lease: the same address, new lifetimes or servers */
	DHCP6_LOST,	/* lease: the address that expired or was withdrawn */
	DHCP6_NO_LEASE, /* lease NULL: servers answer but have no address for
			 * us; the client keeps asking, less and less often */
};

struct dhcp6_client;
/* The client must not be freed from within its callback. */
typedef void (*dhcp6_client_cb)(struct dhcp6_client *c, enum dhcp6_event event,
				const struct dhcp6_lease *lease, void *userdata);

/* A client for the NIC ifindex/ifname with Ethernet address mac, from which
 * its DUID-LL and IAID come (stable across boots). 0 or a negative errno. */
int dhcp6_client_new(struct loop *l, int ifindex, const char *ifname, const uint8_t mac[6],
		     dhcp6_client_cb cb, void *userdata, struct dhcp6_client **out);
/* Ask for the two-message exchange (RFC 8415 §18.2.1, Rapid Commit) in
 * SOLICITs; off by default. Set before dhcp6_client_start. */
void dhcp6_client_set_rapid_commit(struct dhcp6_client *c, bool on);
/* Open the socket on [::]:546 and start soliciting. 0 or a negative errno
 * (-EALREADY when running). */
int dhcp6_client_start(struct dhcp6_client *c);
/* Send a RELEASE for the lease, if there is one (once: this is for
 * shutdown, nobody waits for the REPLY), and stop. 0 or a negative errno. */
int dhcp6_client_release(struct dhcp6_client *c);
void dhcp6_client_free(struct dhcp6_client *c);
