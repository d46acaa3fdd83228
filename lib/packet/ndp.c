/* SPDX-License-Identifier: MIT */
/* ICMPv6 neighbour discovery messages: parsing and building (see ndp.h). */
#include "ndp.h"

#include <errno.h>
#include <string.h>

#include "checksum.h"
#include "util.h"
#include "bytes.h"

/* Option types (RFC 4861 §4.6, RFC 8106 §5.1). */
enum {
	OPT_SOURCE_LLADDR = 1,
	OPT_TARGET_LLADDR = 2,
	OPT_PREFIX_INFO = 3,
	OPT_MTU = 5,
	OPT_RDNSS = 25,
};

/* Sizes of the fixed parts, options start right after them. */
#define RS_SIZE 8
#define RA_SIZE 16
#define NS_NA_SIZE 24

#define RA_FLAG_MANAGED 0x80
#define RA_FLAG_OTHER 0x40
#define PREFIX_FLAG_ONLINK 0x80
#define PREFIX_FLAG_AUTONOMOUS 0x40
#define NA_FLAG_ROUTER 0x80
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

/* Everything the options of any of the four messages can carry. */
struct ndp_options {
	bool has_source_mac, has_target_mac;
	uint8_t source_mac[6], target_mac[6];
	uint32_t mtu;
	struct ndp_prefix prefixes[NDP_MAX_PREFIXES];
	unsigned n_prefixes;
	struct in6_addr dns[NDP_MAX_DNS];
	uint32_t dns_lifetime_s[NDP_MAX_DNS];
	unsigned n_dns;
};

/* One option's body (after type and length, n bytes) into o. Known options
 * of a size their RFC does not allow make the whole message invalid:
 * neither side acts on half-understood neighbour discovery. */
static int parse_option(uint8_t type, const uint8_t *body, size_t n, struct ndp_options *o)
{
	switch (type) {
	case OPT_SOURCE_LLADDR:
	case OPT_TARGET_LLADDR:
		/* length 1: an Ethernet address, the only link layer here */
		if (n != 6)
			return -EBADMSG;
		if (type == OPT_SOURCE_LLADDR && !o->has_source_mac) {
			memcpy(o->source_mac, body, 6);
			o->has_source_mac = true;
		} else if (type == OPT_TARGET_LLADDR && !o->has_target_mac) {
			memcpy(o->target_mac, body, 6);
			o->has_target_mac = true;
		}
		return 0;
	case OPT_PREFIX_INFO: {
		struct ndp_prefix *p;

		if (n != 30 || body[0] > 128)
			return -EBADMSG;
		if (o->n_prefixes >= NDP_MAX_PREFIXES)
			return 0;
		p = &o->prefixes[o->n_prefixes++];
		p->len = body[0];
		p->onlink = body[1] & PREFIX_FLAG_ONLINK;
		p->autonomous = body[1] & PREFIX_FLAG_AUTONOMOUS;
		p->valid_s = get32(body + 2);
		p->preferred_s = get32(body + 6);
		/* body + 10: 4 reserved bytes */
		memcpy(&p->prefix, body + 14, 16);
		return 0;
	}
	case OPT_MTU:
		if (n != 6)
			return -EBADMSG;
		o->mtu = get32(body + 2);
		return 0;
	case OPT_RDNSS: {
		uint32_t lifetime;

		/* reserved, lifetime, then at least one address (length >= 3);
		 * a trailing half address (even length) is ignored */
		if (n < 6 + 16)
			return -EBADMSG;
		lifetime = get32(body + 2);
		for (size_t off = 6; off + 16 <= n && o->n_dns < NDP_MAX_DNS; off += 16) {
			memcpy(&o->dns[o->n_dns], body + off, 16);
			o->dns_lifetime_s[o->n_dns++] = lifetime;
		}
		return 0;
	}
	default:
		return 0; /* RFC 4861 §4.6: unknown options are ignored */
	}
}

/* Walk the options in [p, p+n). Each is type, length in units of 8 bytes
 * (including these two bytes), body. */
static int parse_options(const uint8_t *p, size_t n, struct ndp_options *o)
{
	memset(o, 0, sizeof(*o));
	while (n > 0) {
		size_t opt_len;
		int r;

		if (n < 2)
			return -EBADMSG;
		opt_len = (size_t)p[1] * 8;
		/* length 0 would loop forever: RFC 4861 §4.6 says drop the packet */
		if (opt_len == 0 || opt_len > n)
			return -EBADMSG;
		r = parse_option(p[0], p + 2, opt_len - 2, o);
		if (r < 0)
			return r;
		p += opt_len;
		n -= opt_len;
	}
	return 0;
}

/* The common checks: length of the fixed part, type, and code 0. */
static int check_header(const void *msg, size_t len, uint8_t type, size_t fixed)
{
	const uint8_t *p = msg;

	if (len < fixed || p[0] != type || p[1] != 0)
		return -EBADMSG;
	return 0;
}

int ndp_parse_rs(const void *msg, size_t len, struct ndp_rs *out)
{
	const uint8_t *p = msg;
	struct ndp_options o;
	int r;

	r = check_header(msg, len, NDP_ROUTER_SOLICIT, RS_SIZE);
	if (r < 0)
		return r;
	r = parse_options(p + RS_SIZE, len - RS_SIZE, &o);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->has_source_mac = o.has_source_mac;
	memcpy(out->source_mac, o.source_mac, 6);
	return 0;
}

int ndp_parse_ra(const void *msg, size_t len, struct ndp_ra *out)
{
	const uint8_t *p = msg;
	struct ndp_options o;
	int r;

	r = check_header(msg, len, NDP_ROUTER_ADVERT, RA_SIZE);
	if (r < 0)
		return r;
	r = parse_options(p + RA_SIZE, len - RA_SIZE, &o);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->cur_hop_limit = p[4];
	out->managed = p[5] & RA_FLAG_MANAGED;
	out->other = p[5] & RA_FLAG_OTHER;
	out->router_lifetime_s = get16(p + 6);
	out->reachable_ms = get32(p + 8);
	out->retrans_ms = get32(p + 12);
	out->has_source_mac = o.has_source_mac;
	memcpy(out->source_mac, o.source_mac, 6);
	out->mtu = o.mtu;
	memcpy(out->prefixes, o.prefixes, sizeof(o.prefixes));
	out->n_prefixes = o.n_prefixes;
	memcpy(out->dns, o.dns, sizeof(o.dns));
	memcpy(out->dns_lifetime_s, o.dns_lifetime_s, sizeof(o.dns_lifetime_s));
	out->n_dns = o.n_dns;
	return 0;
}

int ndp_parse_ns(const void *msg, size_t len, struct ndp_ns *out)
{
	const uint8_t *p = msg;
	struct ndp_options o;
	int r;

	r = check_header(msg, len, NDP_NEIGHBOR_SOLICIT, NS_NA_SIZE);
	if (r < 0)
		return r;
	r = parse_options(p + NS_NA_SIZE, len - NS_NA_SIZE, &o);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->has_source_mac = o.has_source_mac;
	memcpy(&out->target, p + 8, 16);
	memcpy(out->source_mac, o.source_mac, 6);
	/* RFC 4861 §7.1.1: the target is never a multicast address */
	if (IN6_IS_ADDR_MULTICAST(&out->target))
		return -EBADMSG;
	return 0;
}

int ndp_parse_na(const void *msg, size_t len, struct ndp_na *out)
{
	const uint8_t *p = msg;
	struct ndp_options o;
	int r;

	r = check_header(msg, len, NDP_NEIGHBOR_ADVERT, NS_NA_SIZE);
	if (r < 0)
		return r;
	r = parse_options(p + NS_NA_SIZE, len - NS_NA_SIZE, &o);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->router = p[4] & NA_FLAG_ROUTER;
	out->solicited = p[4] & NA_FLAG_SOLICITED;
	out->override = p[4] & NA_FLAG_OVERRIDE;
	out->has_target_mac = o.has_target_mac;
	memcpy(&out->target, p + 8, 16);
	memcpy(out->target_mac, o.target_mac, 6);
	if (IN6_IS_ADDR_MULTICAST(&out->target))
		return -EBADMSG;
	return 0;
}

static void put_lladdr(struct pkt_writer *w, uint8_t type, const uint8_t mac[6])
{
	uint8_t *p = pkt_reserve(w, 8);

	if (!p)
		return;
	p[0] = type;
	p[1] = 1;
	memcpy(p + 2, mac, 6);
}

static void put_prefix(struct pkt_writer *w, const struct ndp_prefix *pi)
{
	uint8_t *p = pkt_reserve(w, 32);

	if (!p)
		return;
	p[0] = OPT_PREFIX_INFO;
	p[1] = 4;
	p[2] = pi->len;
	p[3] = (pi->onlink ? PREFIX_FLAG_ONLINK : 0) | (pi->autonomous ? PREFIX_FLAG_AUTONOMOUS : 0);
	put32(p + 4, pi->valid_s);
	put32(p + 8, pi->preferred_s);
	memcpy(p + 16, &pi->prefix, 16);
}

static void put_mtu(struct pkt_writer *w, uint32_t mtu)
{
	uint8_t *p = pkt_reserve(w, 8);

	if (!p)
		return;
	p[0] = OPT_MTU;
	p[1] = 1;
	put32(p + 4, mtu);
}

/* One RDNSS option per run of servers with the same lifetime. */
static void put_rdnss(struct pkt_writer *w, const struct in6_addr *dns, const uint32_t *lifetime_s,
		      unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		unsigned run = 1;
		uint8_t *p;

		while (i + run < n && lifetime_s[i + run] == lifetime_s[i])
			run++;
		p = pkt_reserve(w, 8 + 16 * run);
		if (!p)
			return;
		p[0] = OPT_RDNSS;
		p[1] = (uint8_t)(1 + 2 * run);
		put32(p + 4, lifetime_s[i]);
		memcpy(p + 8, &dns[i], 16 * run);
		i += run;
	}
}

static int writer_result(const struct pkt_writer *w)
{
	return w->overflow ? -ENOBUFS : (int)w->len;
}

int ndp_build_rs(const struct ndp_rs *rs, void *buf, size_t size)
{
	struct pkt_writer w = { .p = buf, .size = size };
	uint8_t *p = pkt_reserve(&w, RS_SIZE);

	if (p)
		p[0] = NDP_ROUTER_SOLICIT;
	if (rs->has_source_mac)
		put_lladdr(&w, OPT_SOURCE_LLADDR, rs->source_mac);
	return writer_result(&w);
}

int ndp_build_ra(const struct ndp_ra *ra, void *buf, size_t size)
{
	struct pkt_writer w = { .p = buf, .size = size };
	unsigned n_prefixes = MIN(ra->n_prefixes, NDP_MAX_PREFIXES);
	unsigned n_dns = MIN(ra->n_dns, NDP_MAX_DNS);
	uint8_t *p;

	for (unsigned i = 0; i < n_prefixes; i++)
		if (ra->prefixes[i].len > 128)
			return -EINVAL;
	p = pkt_reserve(&w, RA_SIZE);
	if (p) {
		p[0] = NDP_ROUTER_ADVERT;
		p[4] = ra->cur_hop_limit;
		p[5] = (ra->managed ? RA_FLAG_MANAGED : 0) | (ra->other ? RA_FLAG_OTHER : 0);
		put16(p + 6, ra->router_lifetime_s);
		put32(p + 8, ra->reachable_ms);
		put32(p + 12, ra->retrans_ms);
	}
	if (ra->has_source_mac)
		put_lladdr(&w, OPT_SOURCE_LLADDR, ra->source_mac);
	if (ra->mtu)
		put_mtu(&w, ra->mtu);
	for (unsigned i = 0; i < n_prefixes; i++)
		put_prefix(&w, &ra->prefixes[i]);
	put_rdnss(&w, ra->dns, ra->dns_lifetime_s, n_dns);
	return writer_result(&w);
}

int ndp_build_ns(const struct ndp_ns *ns, void *buf, size_t size)
{
	struct pkt_writer w = { .p = buf, .size = size };
	uint8_t *p = pkt_reserve(&w, NS_NA_SIZE);

	if (p) {
		p[0] = NDP_NEIGHBOR_SOLICIT;
		memcpy(p + 8, &ns->target, 16);
	}
	if (ns->has_source_mac)
		put_lladdr(&w, OPT_SOURCE_LLADDR, ns->source_mac);
	return writer_result(&w);
}

int ndp_build_na(const struct ndp_na *na, void *buf, size_t size)
{
	struct pkt_writer w = { .p = buf, .size = size };
	uint8_t *p = pkt_reserve(&w, NS_NA_SIZE);

	if (p) {
		p[0] = NDP_NEIGHBOR_ADVERT;
		p[4] = (na->router ? NA_FLAG_ROUTER : 0) | (na->solicited ? NA_FLAG_SOLICITED : 0) |
		       (na->override ? NA_FLAG_OVERRIDE : 0);
		memcpy(p + 8, &na->target, 16);
	}
	if (na->has_target_mac)
		put_lladdr(&w, OPT_TARGET_LLADDR, na->target_mac);
	return writer_result(&w);
}

uint16_t ndp_checksum(const struct in6_addr *src, const struct in6_addr *dst, const void *msg,
		      size_t len)
{
	uint32_t sum = csum_pseudo6(src, dst, IPPROTO_ICMPV6, (uint32_t)len);

	return csum_fold(csum_add(sum, msg, len));
}
