/* SPDX-License-Identifier: MIT */
/*
 * The init's DHCPv4 client for one interface (RFC 2131 §4.4): DISCOVER,
 * OFFER, REQUEST, ACK with randomised exponential backoff, renewal at T1,
 * rebinding at T2, expiry, NAK, RELEASE. It runs on the init's event loop
 * and only reports: the owner (net.c) applies addresses and routes.
 *
 * Before it has an address it talks through an AF_PACKET socket on the
 * interface (broadcast, with its own IPv4/UDP headers); once bound, through
 * a UDP socket on port 68 of the interface, sending from the leased
 * address, so the owner must have configured that address before T1.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "dhcp4.h"
#include "loop.h"

/* With no lease this long after start, DHCP4_NO_LEASE is reported (once);
 * the client keeps trying. */
#define DHCP4_CLIENT_NO_LEASE_MS 10000

struct dhcp4_client;

/* What the client hands to the owner; addresses in network byte order. */
struct dhcp4_lease {
	struct in_addr address;
	struct in_addr subnet_mask; /* 0.0.0.0: the server sent none */
	struct in_addr router;	    /* the first of option 3 */
	struct in_addr server;	    /* option 54: where renewals go */
	bool has_router;
	/* option 121; when present RFC 3442 says to ignore the router */
	struct dhcp4_route routes[DHCP4_MAX_ROUTES];
	unsigned n_routes;
	struct in_addr dns[DHCP4_MAX_DNS];
	unsigned n_dns;
	char hostname[DHCP4_HOSTNAME_MAX]; /* "": none */
	char domain[DHCP4_DOMAIN_MAX];	   /* "": none */
	uint16_t mtu;			   /* 0: none */
	/* seconds from when the request was sent; lease_s is
	 * DHCP4_INFINITE_LEASE for an infinite lease, and then T1 and T2 are
	 * too. Clamped: lease >= 10 s, 0 < T1 < T2 < lease. */
	uint32_t lease_s, t1_s, t2_s;
};

enum dhcp4_event {
	DHCP4_BOUND,	/* a new lease */
	DHCP4_RENEWED,	/* the same address again, with new times and options */
	DHCP4_LOST,	/* expired or refused (NAK); lease is the old one */
	DHCP4_NO_LEASE, /* none within DHCP4_CLIENT_NO_LEASE_MS; lease is NULL */
};

/* The callback may call dhcp4_client_release but must not free the client. */
typedef void (*dhcp4_client_cb)(struct dhcp4_client *c, enum dhcp4_event ev,
				const struct dhcp4_lease *lease, void *userdata);

int dhcp4_client_new(struct loop *l, int ifindex, const char *ifname, const uint8_t mac[6],
		     dhcp4_client_cb cb, void *userdata, struct dhcp4_client **out);
/* Send option 12 with this name from now on (NULL or "" to stop). */
void dhcp4_client_set_hostname(struct dhcp4_client *c, const char *hostname);
/* Start in INIT-REBOOT (RFC 2131 §3.2): ask for a previously leased
 * address before falling back to DISCOVER. Call before start. */
void dhcp4_client_set_requested_address(struct dhcp4_client *c, struct in_addr address);
/* Open the socket and send the first message. 0 or a negative errno. */
int dhcp4_client_start(struct dhcp4_client *c);
/* Send a RELEASE if bound, then stop (no callback). 0 or the send's
 * negative errno (the client is stopped either way). */
int dhcp4_client_release(struct dhcp4_client *c);
void dhcp4_client_free(struct dhcp4_client *c);
