/* SPDX-License-Identifier: MIT */
/*
 * The network, as the init sets it up: lo and every Ethernet NIC up, then per
 * NIC, concurrently, DHCPv4 and IPv6 (router solicitation; DHCPv6 when the
 * router says M). Leases are applied here through rtnetlink, and each step
 * is reported by a status line:
 *
 *   net eth0 up mac 52:54:00:12:34:56
 *   net eth0 ipv4 10.0.0.2/32 gw 169.254.0.1 dns 1.1.1.1
 *   net eth0 ipv4 none | lost
 *   net eth0 ipv6 fd00::2/128 gw fe80::1 dns fd00::1
 *   net eth0 ipv6 slaac fd00::5054:ff:fe12:3456/64 gw fe80::1
 *   net eth0 ipv6 none | lost
 */
#pragma once

#include <stdbool.h>

#include "loop.h"

struct net;

/*
 * Start everything; settled() runs once, when every NIC has finished its
 * first attempt (a lease, or none within the DHCP client's bound) or after
 * timeout_s at the latest. hostname, when known (command line, seed), is
 * sent to the DHCP server and a hostname from DHCP is not applied.
 */
int net_start(struct loop *l, unsigned timeout_s, const char *hostname, void (*settled)(void *),
	      void *userdata, struct net **out);

/* Release the leases (shutdown). */
void net_release(struct net *n);
void net_free(struct net *n);
