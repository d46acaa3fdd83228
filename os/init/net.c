/* SPDX-License-Identifier: MIT */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "dhcp4_client.h"
#include "dhcp6_client.h"
#include "log.h"
#include "netlink.h"
#include "ra.h"
#include "status.h"
#include "system.h"
#include "util.h"

#define MAX_NICS 8
#define MAX_APPLIED_ROUTES (DHCP4_MAX_ROUTES + 4)
/* SLAAC is the kernel's: after an RA with an autonomous prefix, look for the
 * address it made, every SLAAC_POLL_MS, SLAAC_POLLS times (DAD takes ~1 s) */
#define SLAAC_POLL_MS 250
#define SLAAC_POLLS 24

struct applied_route {
	struct in_addr dst, gw;
	uint8_t len, scope;
};

struct nic {
	struct net *net;
	int ifindex;
	char name[16];
	uint8_t mac[6];
	struct dhcp4_client *dhcp4;
	struct ra_client *ra;
	struct dhcp6_client *dhcp6;
	bool v4_done, v6_done; /* the first attempt finished */

	/* IPv4 as applied, to undo when the lease is lost */
	bool v4_applied;
	struct in_addr v4_addr;
	uint8_t v4_prefixlen;
	struct applied_route routes[MAX_APPLIED_ROUTES];
	size_t n_routes;
	struct in_addr dns4[4];
	size_t n_dns4;
	char domain[256];

	/* IPv6 */
	bool has_router6;
	struct in6_addr router6;
	struct in6_addr dns6[4];
	size_t n_dns6;
	bool v6_applied;
	struct in6_addr v6_addr;
	struct loop_timer *slaac_timer;
	unsigned slaac_polls;
	struct in6_addr slaac_prefix;
	uint8_t slaac_prefixlen;
};

struct net {
	struct loop *loop;
	int nl;
	struct nic nics[MAX_NICS];
	size_t n_nics;
	const char *hostname; /* fixed by the command line or the seed, or NULL */
	bool hostname_from_dhcp;
	bool settled;
	struct loop_timer *timeout;
	void (*settled_cb)(void *);
	void *userdata;
};

static const char *ntop4(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *ntop6(const struct in6_addr *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

/* ---- settling ---- */

static void settle(struct net *n)
{
	if (n->settled)
		return;
	n->settled = true;
	loop_timer_stop(n->timeout);
	n->settled_cb(n->userdata);
}

static void maybe_settled(struct net *n)
{
	for (size_t i = 0; i < n->n_nics; i++)
		if (!n->nics[i].v4_done || !n->nics[i].v6_done)
			return;
	settle(n);
}

static void on_timeout(struct loop_timer *t, void *userdata)
{
	struct net *n = userdata;

	log_warning("network not settled after the timeout: going on");
	settle(n);
}

/* DNS servers of every NIC, IPv4 first, into /etc/resolv.conf. */
static void update_resolv_conf(struct net *n)
{
	struct in_addr v4[8];
	struct in6_addr v6[8];
	size_t n4 = 0, n6 = 0;
	const char *domain = NULL;

	for (size_t i = 0; i < n->n_nics; i++) {
		struct nic *nic = &n->nics[i];
		for (size_t k = 0; k < nic->n_dns4 && n4 < ARRAY_SIZE(v4); k++)
			v4[n4++] = nic->dns4[k];
		for (size_t k = 0; k < nic->n_dns6 && n6 < ARRAY_SIZE(v6); k++)
			v6[n6++] = nic->dns6[k];
		if (!domain && nic->domain[0])
			domain = nic->domain;
	}
	int r = system_write_resolv_conf(v4, n4, v6, n6, domain);
	if (r < 0)
		log_warning_errno(r, "cannot write /etc/resolv.conf");
}

/* ---- IPv4 ---- */

static bool in_subnet(struct in_addr a, struct in_addr net, uint8_t len)
{
	uint32_t mask = len ? htonl(~0u << (32 - len)) : 0;

	return (a.s_addr & mask) == (net.s_addr & mask);
}

static int add_route4(struct nic *nic, struct in_addr dst, uint8_t len, struct in_addr gw,
		      uint8_t scope)
{
	struct in_addr *gwp = gw.s_addr ? &gw : NULL;
	int r;

	for (size_t i = 0; i < nic->n_routes; i++) /* added already (an on-link host route) */
		if (nic->routes[i].dst.s_addr == dst.s_addr && nic->routes[i].len == len)
			return 0;
	r = nl_route_add(nic->net->nl, AF_INET, len ? &dst : NULL, len, gwp, nic->ifindex, scope, 0,
			 NULL);
	if (r < 0 && r != -EEXIST) {
		char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
		return log_warning_errno(r, "net %s: cannot add route %s/%u via %s", nic->name,
					 ntop4(dst, d), len, gw.s_addr ? ntop4(gw, g) : "link");
	}
	if (nic->n_routes < ARRAY_SIZE(nic->routes))
		nic->routes[nic->n_routes++] =
			(struct applied_route){ .dst = dst, .gw = gw, .len = len, .scope = scope };
	return 0;
}

/* A route via gw; gw outside our subnet (mvirt's address/32 with gateway
 * 169.254.0.1) needs an on-link host route to it first. */
static void add_route4_via(struct nic *nic, struct in_addr dst, uint8_t len, struct in_addr gw)
{
	if (gw.s_addr && !in_subnet(gw, nic->v4_addr, nic->v4_prefixlen))
		add_route4(nic, gw, 32, (struct in_addr){ 0 }, RT_SCOPE_LINK);
	add_route4(nic, dst, len, gw, gw.s_addr ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
}

static void remove_v4(struct nic *nic)
{
	if (!nic->v4_applied)
		return;
	/* routes first, newest first: a host route to a gateway goes last */
	while (nic->n_routes > 0) {
		struct applied_route *rt = &nic->routes[--nic->n_routes];
		nl_route_del(nic->net->nl, AF_INET, rt->len ? &rt->dst : NULL, rt->len,
			     rt->gw.s_addr ? &rt->gw : NULL, nic->ifindex, rt->scope, 0, NULL);
	}
	nl_addr_del(nic->net->nl, nic->ifindex, AF_INET, &nic->v4_addr, nic->v4_prefixlen);
	nic->v4_applied = false;
	nic->n_dns4 = 0;
	nic->domain[0] = 0;
	update_resolv_conf(nic->net);
}

static void report_v4(struct nic *nic, struct in_addr gw)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], dns[4 * (INET_ADDRSTRLEN + 1)] = "-";
	size_t len = 0;

	for (size_t i = 0; i < nic->n_dns4; i++) {
		char d[INET_ADDRSTRLEN];
		len += (size_t)snprintf(dns + len, sizeof(dns) - len, "%s%s", i ? "," : "",
					ntop4(nic->dns4[i], d));
	}
	status("net %s ipv4 %s/%u gw %s dns %s", nic->name, ntop4(nic->v4_addr, a),
	       nic->v4_prefixlen, gw.s_addr ? ntop4(gw, g) : "-", dns);
}

static void apply_v4(struct nic *nic, const struct dhcp4_lease *l)
{
	struct net *n = nic->net;
	struct in_addr gw = { 0 };
	int prefixlen = l->subnet_mask.s_addr ? dhcp4_netmask_to_prefixlen(l->subnet_mask) : 32;
	uint32_t lifetime = l->lease_s ? l->lease_s : NL_LIFETIME_INFINITE;
	int r;

	if (prefixlen < 0) {
		log_warning("net %s: invalid subnet mask in the lease: using /32", nic->name);
		prefixlen = 32;
	}
	if (nic->v4_applied && (nic->v4_addr.s_addr != l->address.s_addr ||
				nic->v4_prefixlen != prefixlen))
		remove_v4(nic);
	if (l->mtu >= 576) {
		r = nl_link_set_mtu(n->nl, nic->ifindex, l->mtu);
		if (r < 0)
			log_warning_errno(r, "net %s: cannot set MTU %u", nic->name, l->mtu);
	}
	nic->v4_addr = l->address;
	nic->v4_prefixlen = (uint8_t)prefixlen;
	/* the lease's lifetime on the address: if we ever fail to renew it, the
	 * kernel drops it on time by itself */
	r = nl_addr_replace(n->nl, nic->ifindex, AF_INET, &l->address, (uint8_t)prefixlen, lifetime,
			    lifetime, 0);
	if (r < 0) {
		log_warning_errno(r, "net %s: cannot add the leased address", nic->name);
		return;
	}
	nic->v4_applied = true;
	/* RFC 3442: classless routes, when sent, replace the router option */
	if (l->n_routes) {
		for (unsigned i = 0; i < l->n_routes; i++) {
			const struct dhcp4_route *rt = &l->routes[i];
			add_route4_via(nic, rt->dest, rt->prefixlen, rt->gateway);
			if (rt->prefixlen == 0)
				gw = rt->gateway;
		}
	} else if (l->has_router) {
		add_route4_via(nic, (struct in_addr){ 0 }, 0, l->router);
		gw = l->router;
	}
	nic->n_dns4 = MIN(l->n_dns, ARRAY_SIZE(nic->dns4));
	memcpy(nic->dns4, l->dns, nic->n_dns4 * sizeof(nic->dns4[0]));
	snprintf(nic->domain, sizeof(nic->domain), "%s", l->domain);
	update_resolv_conf(n);
	report_v4(nic, gw);

	if (!n->hostname && !n->hostname_from_dhcp && l->hostname[0]) {
		if (hostname_valid(l->hostname) && system_set_hostname(l->hostname) == 0) {
			n->hostname_from_dhcp = true;
			status("hostname %s source dhcp", l->hostname);
		}
	}
}

static void on_dhcp4(struct dhcp4_client *c, enum dhcp4_event ev, const struct dhcp4_lease *l,
		     void *userdata)
{
	struct nic *nic = userdata;
	int r;

	switch (ev) {
	case DHCP4_BOUND:
		apply_v4(nic, l);
		break;
	case DHCP4_RENEWED: /* same address: new lifetimes only */
		r = nl_addr_replace(nic->net->nl, nic->ifindex, AF_INET, &l->address,
				    nic->v4_prefixlen, l->lease_s ? l->lease_s : NL_LIFETIME_INFINITE,
				    l->lease_s ? l->lease_s : NL_LIFETIME_INFINITE, 0);
		if (r < 0)
			log_warning_errno(r, "net %s: cannot refresh the address", nic->name);
		return;
	case DHCP4_LOST:
		remove_v4(nic);
		status("net %s ipv4 lost", nic->name);
		break;
	case DHCP4_NO_LEASE:
		if (!nic->v4_done)
			status("net %s ipv4 none", nic->name);
		break;
	}
	nic->v4_done = true;
	maybe_settled(nic->net);
}

/* ---- IPv6 ---- */

static void report_v6(struct nic *nic, const char *kind, const struct in6_addr *addr,
		      uint8_t prefixlen)
{
	char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN], dns[4 * (INET6_ADDRSTRLEN + 1)] = "-";
	size_t len = 0;

	for (size_t i = 0; i < nic->n_dns6; i++) {
		char d[INET6_ADDRSTRLEN];
		len += (size_t)snprintf(dns + len, sizeof(dns) - len, "%s%s", i ? "," : "",
					ntop6(&nic->dns6[i], d));
	}
	status("net %s ipv6 %s%s/%u gw %s dns %s", nic->name, kind, ntop6(addr, a), prefixlen,
	       nic->has_router6 ? ntop6(&nic->router6, g) : "-", dns);
}

static void v6_finished(struct nic *nic)
{
	nic->v6_done = true;
	maybe_settled(nic->net);
}

struct slaac_search {
	struct nic *nic;
	bool found;
	struct in6_addr addr;
	uint8_t prefixlen;
};

static bool prefix_match6(const struct in6_addr *a, const struct in6_addr *p, uint8_t len)
{
	for (unsigned bit = 0; bit < len && bit < 128; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((a->s6_addr[bit / 8] & m) != (p->s6_addr[bit / 8] & m))
			return false;
	}
	return true;
}

static int find_slaac_addr(const struct nlmsghdr *h, size_t len, void *userdata)
{
	struct slaac_search *s = userdata;
	struct nl_addr a;

	if (nl_parse_addr(h, len, &a) < 0 || a.ifindex != s->nic->ifindex ||
	    a.family != AF_INET6 || (a.flags & IFA_F_TENTATIVE) ||
	    !prefix_match6(&a.addr.v6, &s->nic->slaac_prefix, s->nic->slaac_prefixlen))
		return 0;
	s->found = true;
	s->addr = a.addr.v6;
	s->prefixlen = a.prefixlen;
	return 0;
}

static void on_slaac_poll(struct loop_timer *t, void *userdata)
{
	struct nic *nic = userdata;
	struct slaac_search s = { .nic = nic };
	struct nl_msg m;

	if (nl_build_getaddr(&m, 0, AF_INET6) == 0)
		nl_request(nic->net->nl, &m, find_slaac_addr, &s);
	if (s.found) {
		report_v6(nic, "slaac ", &s.addr, s.prefixlen);
		v6_finished(nic);
		return;
	}
	if (++nic->slaac_polls < SLAAC_POLLS) {
		loop_timer_in(t, SLAAC_POLL_MS);
		return;
	}
	status("net %s ipv6 none", nic->name);
	v6_finished(nic);
}

static void on_dhcp6(struct dhcp6_client *c, enum dhcp6_event ev, const struct dhcp6_lease *l,
		     void *userdata);

static void on_ra(struct ra_client *c, enum ra_event ev, const struct ra_info *ra, void *userdata)
{
	struct nic *nic = userdata;
	int r;

	if (ev == RA_NONE) {
		if (!nic->v6_done)
			status("net %s ipv6 none", nic->name);
		v6_finished(nic);
		return;
	}
	if (ra->lifetime_s) {
		nic->has_router6 = true;
		nic->router6 = ra->router;
	}
	if (ra->n_dns) {
		nic->n_dns6 = MIN(ra->n_dns, ARRAY_SIZE(nic->dns6));
		memcpy(nic->dns6, ra->dns, nic->n_dns6 * sizeof(nic->dns6[0]));
		update_resolv_conf(nic->net);
	}
	if (ra->managed) {
		if (nic->dhcp6)
			return;
		r = dhcp6_client_new(nic->net->loop, nic->ifindex, nic->name, nic->mac, on_dhcp6,
				     nic, &nic->dhcp6);
		if (r == 0)
			r = dhcp6_client_start(nic->dhcp6);
		if (r < 0) {
			log_warning_errno(r, "net %s: cannot start DHCPv6", nic->name);
			v6_finished(nic);
		}
		return;
	}
	if (nic->v6_done || loop_timer_armed(nic->slaac_timer))
		return;
	for (unsigned i = 0; i < ra->n_prefixes; i++)
		if (ra->prefixes[i].autonomous && ra->prefixes[i].len == 64) {
			nic->slaac_prefix = ra->prefixes[i].prefix;
			nic->slaac_prefixlen = ra->prefixes[i].len;
			nic->slaac_polls = 0;
			loop_timer_in(nic->slaac_timer, 0);
			return;
		}
	status("net %s ipv6 none", nic->name);
	v6_finished(nic);
}

static void on_dhcp6(struct dhcp6_client *c, enum dhcp6_event ev, const struct dhcp6_lease *l,
		     void *userdata)
{
	struct nic *nic = userdata;
	int r;

	switch (ev) {
	case DHCP6_BOUND:
	case DHCP6_RENEWED:
		if (nic->v6_applied && memcmp(&nic->v6_addr, &l->address, 16) != 0) {
			nl_addr_del(nic->net->nl, nic->ifindex, AF_INET6, &nic->v6_addr, 128);
			nic->v6_applied = false;
		}
		/* /128 with no prefix route: the on-link prefix comes from the RA */
		r = nl_addr_replace(nic->net->nl, nic->ifindex, AF_INET6, &l->address, 128,
				    l->valid_s ? l->valid_s : NL_LIFETIME_INFINITE,
				    l->preferred_s ? l->preferred_s : NL_LIFETIME_INFINITE,
				    IFA_F_NOPREFIXROUTE);
		if (r < 0) {
			log_warning_errno(r, "net %s: cannot add the DHCPv6 address", nic->name);
			break;
		}
		if (l->n_dns) {
			nic->n_dns6 = MIN(l->n_dns, ARRAY_SIZE(nic->dns6));
			memcpy(nic->dns6, l->dns, nic->n_dns6 * sizeof(nic->dns6[0]));
			update_resolv_conf(nic->net);
		}
		if (ev == DHCP6_BOUND || !nic->v6_applied)
			report_v6(nic, "", &l->address, 128);
		nic->v6_applied = true;
		nic->v6_addr = l->address;
		break;
	case DHCP6_LOST:
		if (nic->v6_applied)
			nl_addr_del(nic->net->nl, nic->ifindex, AF_INET6, &nic->v6_addr, 128);
		nic->v6_applied = false;
		status("net %s ipv6 lost", nic->name);
		break;
	case DHCP6_NO_LEASE:
		if (!nic->v6_done)
			status("net %s ipv6 none", nic->name);
		break;
	}
	v6_finished(nic);
}

/* ---- start, stop ---- */

static int nic_start(struct net *n, const struct nl_link *link)
{
	struct nic *nic = &n->nics[n->n_nics];
	int r;

	*nic = (struct nic){ .net = n, .ifindex = link->ifindex };
	snprintf(nic->name, sizeof(nic->name), "%s", link->name);
	memcpy(nic->mac, link->mac, 6);
	r = nl_link_up(n->nl, link->ifindex);
	if (r < 0)
		return log_warning_errno(r, "net %s: cannot bring it up", nic->name);
	n->n_nics++;
	status("net %s up mac %02x:%02x:%02x:%02x:%02x:%02x", nic->name, nic->mac[0], nic->mac[1],
	       nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);

	loop_timer_new(n->loop, on_slaac_poll, nic, &nic->slaac_timer);
	r = dhcp4_client_new(n->loop, nic->ifindex, nic->name, nic->mac, on_dhcp4, nic, &nic->dhcp4);
	if (r == 0 && n->hostname)
		dhcp4_client_set_hostname(nic->dhcp4, n->hostname);
	if (r == 0)
		r = dhcp4_client_start(nic->dhcp4);
	if (r < 0) {
		log_warning_errno(r, "net %s: cannot start DHCPv4", nic->name);
		nic->v4_done = true;
	}
	r = ra_client_new(n->loop, nic->ifindex, nic->name, nic->mac, on_ra, nic, &nic->ra);
	if (r == 0)
		r = ra_client_start(nic->ra);
	if (r < 0) {
		log_warning_errno(r, "net %s: cannot start router solicitation", nic->name);
		nic->v6_done = true;
	}
	return 0;
}

int net_start(struct loop *l, unsigned timeout_s, const char *hostname, void (*settled)(void *),
	      void *userdata, struct net **out)
{
	struct nl_link links[16];
	size_t n_links = 0;
	struct net *n;
	int r;

	n = xcalloc(1, sizeof(*n));
	*n = (struct net){ .loop = l, .hostname = hostname, .settled_cb = settled,
			   .userdata = userdata };
	n->nl = nl_open();
	if (n->nl < 0) {
		r = n->nl;
		free(n);
		return r;
	}
	*out = n;
	r = nl_links(n->nl, links, ARRAY_SIZE(links), &n_links);
	if (r < 0)
		return log_error_errno(r, "cannot list network interfaces");
	for (size_t i = 0; i < n_links; i++) {
		if (links[i].flags & IFF_LOOPBACK) {
			r = nl_link_up(n->nl, links[i].ifindex);
			if (r < 0)
				log_warning_errno(r, "cannot bring up %s", links[i].name);
			continue;
		}
		if (links[i].type != ARPHRD_ETHER || n->n_nics == MAX_NICS)
			continue;
		nic_start(n, &links[i]);
	}
	loop_timer_new(l, on_timeout, n, &n->timeout);
	loop_timer_in(n->timeout, (uint64_t)timeout_s * 1000);
	maybe_settled(n); /* no NIC at all */
	return 0;
}

void net_release(struct net *n)
{
	for (size_t i = 0; i < n->n_nics; i++) {
		struct nic *nic = &n->nics[i];
		if (nic->dhcp4)
			dhcp4_client_release(nic->dhcp4);
		if (nic->dhcp6)
			dhcp6_client_release(nic->dhcp6);
	}
}

void net_free(struct net *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_nics; i++) {
		struct nic *nic = &n->nics[i];
		dhcp4_client_free(nic->dhcp4);
		dhcp6_client_free(nic->dhcp6);
		ra_client_free(nic->ra);
		loop_timer_free(nic->slaac_timer);
	}
	loop_timer_free(n->timeout);
	if (n->nl >= 0)
		close(n->nl);
	free(n);
}
