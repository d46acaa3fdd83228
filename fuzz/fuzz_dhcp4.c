/* SPDX-License-Identifier: MIT */
/*
 * The DHCPv4 parser on hostile bytes: it returns 0 or -EBADMSG and never
 * reads out of bounds; what parses respects the struct's limits, builds,
 * and parses back to the same message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static void check_limits(const struct dhcp4_msg *m)
{
	if ((m->op != DHCP4_BOOTREQUEST && m->op != DHCP4_BOOTREPLY) || m->hlen > 16 ||
	    m->n_dns > DHCP4_MAX_DNS || m->n_routes > DHCP4_MAX_ROUTES ||
	    m->n_prl > DHCP4_MAX_PRL || m->client_id_len > DHCP4_MAX_CLIENT_ID ||
	    m->client_id_len == 1 || (m->has_mtu && m->mtu < 68) ||
	    !printable(m->hostname, sizeof(m->hostname)) ||
	    !printable(m->domain, sizeof(m->domain)) || !printable(m->message, sizeof(m->message)))
		abort();
	for (unsigned i = 0; i < m->n_routes; i++) {
		uint32_t dest = ntohl(m->routes[i].dest.s_addr);
		unsigned len = m->routes[i].prefixlen;
		if (len > 32 || (len < 32 && (dest << len) != 0))
			abort();
	}
}

#define SAME(f) (a->f == b->f)
#define SAME_MEM(f, n) (memcmp(a->f, b->f, n) == 0)

static bool msg_equal(const struct dhcp4_msg *a, const struct dhcp4_msg *b)
{
	if (!(SAME(op) && SAME(htype) && SAME(hlen) && SAME(hops) && SAME(xid) && SAME(secs) &&
	      SAME(flags) && SAME(ciaddr.s_addr) && SAME(yiaddr.s_addr) && SAME(siaddr.s_addr) &&
	      SAME(giaddr.s_addr) && SAME_MEM(chaddr, 16) && SAME(type) &&
	      SAME(has_server_id) && SAME(server_id.s_addr) && SAME(has_requested_ip) &&
	      SAME(requested_ip.s_addr) && SAME(has_subnet_mask) && SAME(subnet_mask.s_addr) &&
	      SAME(has_router) && SAME(router.s_addr) && SAME(has_lease_time) &&
	      SAME(lease_time) && SAME(has_t1) && SAME(t1) && SAME(has_t2) && SAME(t2) &&
	      SAME(has_mtu) && SAME(mtu) && SAME(has_max_msg_size) && SAME(max_msg_size) &&
	      SAME(n_dns) && SAME(n_routes) && SAME(n_prl) && SAME(client_id_len)))
		return false;
	for (unsigned i = 0; i < a->n_dns; i++)
		if (!SAME(dns[i].s_addr))
			return false;
	for (unsigned i = 0; i < a->n_routes; i++)
		if (!SAME(routes[i].dest.s_addr) || !SAME(routes[i].prefixlen) ||
		    !SAME(routes[i].gateway.s_addr))
			return false;
	return SAME_MEM(prl, a->n_prl) && SAME_MEM(client_id, a->client_id_len) &&
	       strcmp(a->hostname, b->hostname) == 0 && strcmp(a->domain, b->domain) == 0 &&
	       strcmp(a->message, b->message) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	struct dhcp4_msg m, again;
	ssize_t n;
	int r;

	r = dhcp4_parse(data, size, &m);
	if (r == -EBADMSG)
		return 0;
	if (r != 0)
		abort();
	check_limits(&m);

	n = dhcp4_build(&m, buf, sizeof(buf));
	if (n < DHCP4_MIN_LEN)
		abort();
	if (dhcp4_parse(buf, (size_t)n, &again) != 0 || !msg_equal(&m, &again))
		abort();
	/* the exact size is enough, one byte less is not */
	if (dhcp4_build(&m, buf, (size_t)n) != n ||
	    (n > DHCP4_MIN_LEN && dhcp4_build(&m, buf, (size_t)n - 1) != -ENOBUFS))
		abort();
	return 0;
}
