/* SPDX-License-Identifier: MIT */
/* DHCPv4 messages: the BOOTP header and the options this project uses. */
#include "dhcp4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "util.h"
#include "bytes.h"

static const uint8_t magic_cookie[4] = { 99, 130, 83, 99 };

#define SNAME_OFFSET 44
#define SNAME_LEN 64
#define FILE_OFFSET 108
#define FILE_LEN 128

/* option 52 */
#define OVERLOAD_FILE 1
#define OVERLOAD_SNAME 2

#define MTU_MIN 68

/*
 * The fields that hold options, in the order RFC 3396 concatenates them:
 * the options field, then file and sname when option 52 lends them.
 */
struct opt_areas {
	struct {
		const uint8_t *p;
		size_t n;
	} area[3];
	unsigned count;
};

/* Position in the walk over every instance of one option code. */
struct opt_iter {
	const struct opt_areas *areas;
	uint8_t code;
	unsigned area;
	size_t pos;
};

/*
 * The value of one option: the concatenation of all its instances, read
 * through a cursor so that a value split over fields needs no copy.
 */
struct opt_value {
	struct opt_iter it;
	const uint8_t *frag; /* unread part of the current instance */
	size_t frag_left;
	size_t len;  /* total */
	size_t left; /* not read yet */
};

/* Check that every option of one field lies inside it; the end option or
 * the field's end closes it. 0 or -EBADMSG. */
static int area_validate(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (p[i] == DHCP4_OPT_PAD) {
			i++;
			continue;
		}
		if (p[i] == DHCP4_OPT_END)
			return 0;
		if (n - i < 2 || p[i + 1] > n - i - 2)
			return -EBADMSG;
		i += 2 + (size_t)p[i + 1];
	}
	return 0;
}

static void area_add(struct opt_areas *areas, const uint8_t *p, size_t n)
{
	areas->area[areas->count].p = p;
	areas->area[areas->count].n = n;
	areas->count++;
}

/* The next instance of it->code: true with its data, or false at the end.
 * The fields were validated, so every length is inside its field. */
static bool opt_iter_next(struct opt_iter *it, const uint8_t **data, size_t *len)
{
	for (; it->area < it->areas->count; it->area++, it->pos = 0) {
		const uint8_t *p = it->areas->area[it->area].p;
		size_t n = it->areas->area[it->area].n;

		while (it->pos < n && p[it->pos] != DHCP4_OPT_END) {
			size_t i = it->pos;
			if (p[i] == DHCP4_OPT_PAD) {
				it->pos++;
				continue;
			}
			it->pos += 2 + (size_t)p[i + 1];
			if (p[i] == it->code) {
				*data = p + i + 2;
				*len = p[i + 1];
				return true;
			}
		}
	}
	return false;
}

/* Find option code: true with *v ready to read its value, false if absent. */
static bool opt_get(const struct opt_areas *areas, uint8_t code, struct opt_value *v)
{
	struct opt_iter it = { .areas = areas, .code = code };
	const uint8_t *data;
	size_t len, total = 0;
	bool found = false;

	while (opt_iter_next(&it, &data, &len)) {
		total += len;
		found = true;
	}
	if (!found)
		return false;
	*v = (struct opt_value){
		.it = { .areas = areas, .code = code },
		.len = total,
		.left = total,
	};
	return true;
}

/* Copy the next n bytes of the value (the caller checked v->left >= n). */
static void opt_read(struct opt_value *v, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (n > 0) {
		size_t k;
		while (v->frag_left == 0)
			if (!opt_iter_next(&v->it, &v->frag, &v->frag_left))
				return; /* cannot happen: v->len counted these bytes */
		k = MIN(n, v->frag_left);
		memcpy(d, v->frag, k);
		d += k;
		v->frag += k;
		v->frag_left -= k;
		v->left -= k;
		n -= k;
	}
}

/* A value of exactly size bytes: 1 found, 0 absent, -EBADMSG other length. */
static int opt_fixed(const struct opt_areas *areas, uint8_t code, void *dst, size_t size)
{
	struct opt_value v;

	if (!opt_get(areas, code, &v))
		return 0;
	if (v.len != size)
		return -EBADMSG;
	opt_read(&v, dst, size);
	return 1;
}

static int opt_u32(const struct opt_areas *areas, uint8_t code, bool *has, uint32_t *out)
{
	uint8_t b[4];
	int r = opt_fixed(areas, code, b, sizeof(b));

	if (r > 0) {
		*has = true;
		*out = get32(b);
	}
	return MIN(r, 0);
}

static int opt_u16(const struct opt_areas *areas, uint8_t code, bool *has, uint16_t *out)
{
	uint8_t b[2];
	int r = opt_fixed(areas, code, b, sizeof(b));

	if (r > 0) {
		*has = true;
		*out = get16(b);
	}
	return MIN(r, 0);
}

static int opt_addr(const struct opt_areas *areas, uint8_t code, bool *has, struct in_addr *out)
{
	int r = opt_fixed(areas, code, out, sizeof(*out));

	if (r > 0)
		*has = true;
	return MIN(r, 0);
}

/* A list of addresses (3, 6): the first max kept. 0 or -EBADMSG. */
static int opt_addr_list(const struct opt_areas *areas, uint8_t code, struct in_addr *out,
			 unsigned max, unsigned *count)
{
	struct opt_value v;

	*count = 0;
	if (!opt_get(areas, code, &v))
		return 0;
	if (v.len == 0 || v.len % 4 != 0)
		return -EBADMSG;
	while (v.left > 0 && *count < max)
		opt_read(&v, &out[(*count)++], 4);
	return 0;
}

/* A string option into dst (size bytes with the NUL), if the whole value
 * fits and is printable ASCII; "" otherwise. Trailing NULs, which some
 * servers and clients append against RFC 2132, are dropped. */
static void opt_string(const struct opt_areas *areas, uint8_t code, char *dst, size_t size)
{
	struct opt_value v;
	size_t len;

	dst[0] = '\0';
	if (!opt_get(areas, code, &v) || v.len >= size)
		return;
	opt_read(&v, dst, v.len);
	len = v.len;
	while (len > 0 && dst[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] > 0x7e) {
			memset(dst, 0, size);
			return;
		}
	memset(dst + len, 0, size - len);
}

static void mask_prefix(uint8_t addr[4], unsigned prefixlen)
{
	for (unsigned i = 0; i < 4; i++) {
		unsigned bits = prefixlen > 8 * i ? MIN(prefixlen - 8 * i, 8u) : 0;
		addr[i] &= (uint8_t)(0xff00 >> bits);
	}
}

/*
 * Option 121 (RFC 3442): a sequence of (prefix length, the significant
 * octets of the destination, gateway). Every entry is checked before any is
 * kept; the first DHCP4_MAX_ROUTES are. 0 or -EBADMSG.
 */
static int opt_routes(const struct opt_areas *areas, struct dhcp4_msg *m)
{
	struct opt_value v;

	m->n_routes = 0;
	if (!opt_get(areas, DHCP4_OPT_CLASSLESS_ROUTES, &v))
		return 0;
	/* the shortest entry is a default route: 1 + 0 + 4 bytes */
	if (v.len < 5)
		return -EBADMSG;
	while (v.left > 0) {
		uint8_t prefixlen, dest[4] = { 0 }, gateway[4];
		size_t significant;

		opt_read(&v, &prefixlen, 1);
		if (prefixlen > 32)
			return -EBADMSG;
		significant = (prefixlen + 7u) / 8;
		if (v.left < significant + 4)
			return -EBADMSG;
		opt_read(&v, dest, significant);
		opt_read(&v, gateway, 4);
		if (m->n_routes < DHCP4_MAX_ROUTES) {
			struct dhcp4_route *rt = &m->routes[m->n_routes++];
			/* the kernel refuses routes with host bits set */
			mask_prefix(dest, prefixlen);
			memcpy(&rt->dest, dest, 4);
			rt->prefixlen = prefixlen;
			memcpy(&rt->gateway, gateway, 4);
		}
	}
	return 0;
}

/* The options this project uses, from validated fields. 0 or -EBADMSG. */
static int parse_options(const struct opt_areas *areas, struct dhcp4_msg *m)
{
	struct opt_value v;
	unsigned n_routers;
	int r;

	r = opt_fixed(areas, DHCP4_OPT_MESSAGE_TYPE, &m->type, 1);
	if (r < 0)
		return r;
	if (r > 0 && m->type == 0) /* 0 is how dhcp4_msg says "absent" */
		return -EBADMSG;

	if ((r = opt_addr(areas, DHCP4_OPT_SERVER_ID, &m->has_server_id, &m->server_id)) < 0 ||
	    (r = opt_addr(areas, DHCP4_OPT_REQUESTED_IP, &m->has_requested_ip,
			  &m->requested_ip)) < 0 ||
	    (r = opt_addr(areas, DHCP4_OPT_SUBNET_MASK, &m->has_subnet_mask,
			  &m->subnet_mask)) < 0 ||
	    (r = opt_u32(areas, DHCP4_OPT_LEASE_TIME, &m->has_lease_time, &m->lease_time)) < 0 ||
	    (r = opt_u32(areas, DHCP4_OPT_T1, &m->has_t1, &m->t1)) < 0 ||
	    (r = opt_u32(areas, DHCP4_OPT_T2, &m->has_t2, &m->t2)) < 0 ||
	    (r = opt_u16(areas, DHCP4_OPT_MTU, &m->has_mtu, &m->mtu)) < 0 ||
	    (r = opt_u16(areas, DHCP4_OPT_MAX_MSG_SIZE, &m->has_max_msg_size,
			 &m->max_msg_size)) < 0)
		return r;
	if (m->has_mtu && m->mtu < MTU_MIN) {
		m->has_mtu = false;
		m->mtu = 0;
	}

	r = opt_addr_list(areas, DHCP4_OPT_ROUTER, &m->router, 1, &n_routers);
	if (r < 0)
		return r;
	m->has_router = n_routers > 0;
	r = opt_addr_list(areas, DHCP4_OPT_DNS, m->dns, DHCP4_MAX_DNS, &m->n_dns);
	if (r < 0)
		return r;
	r = opt_routes(areas, m);
	if (r < 0)
		return r;

	if (opt_get(areas, DHCP4_OPT_PRL, &v)) {
		m->n_prl = (unsigned)MIN(v.len, (size_t)DHCP4_MAX_PRL);
		opt_read(&v, m->prl, m->n_prl);
	}
	/* RFC 2132 §9.14: a type byte and at least one byte of id; an id too
	 * long for the buffer is dropped, as a cut one would name someone else */
	if (opt_get(areas, DHCP4_OPT_CLIENT_ID, &v) && v.len >= 2 && v.len <= DHCP4_MAX_CLIENT_ID) {
		m->client_id_len = (unsigned)v.len;
		opt_read(&v, m->client_id, v.len);
	}

	opt_string(areas, DHCP4_OPT_HOSTNAME, m->hostname, sizeof(m->hostname));
	opt_string(areas, DHCP4_OPT_DOMAIN, m->domain, sizeof(m->domain));
	opt_string(areas, DHCP4_OPT_MESSAGE, m->message, sizeof(m->message));
	return 0;
}

int dhcp4_parse(const uint8_t *p, size_t n, struct dhcp4_msg *out)
{
	struct opt_areas areas = { 0 };
	uint8_t overload = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (n < DHCP4_OPTIONS_OFFSET || memcmp(p + DHCP4_HEADER_LEN, magic_cookie, 4) != 0)
		return -EBADMSG;
	if ((p[0] != DHCP4_BOOTREQUEST && p[0] != DHCP4_BOOTREPLY) || p[2] > sizeof(out->chaddr))
		return -EBADMSG;

	out->op = p[0];
	out->htype = p[1];
	out->hlen = p[2];
	out->hops = p[3];
	out->xid = get32(p + 4);
	out->secs = get16(p + 8);
	out->flags = get16(p + 10);
	memcpy(&out->ciaddr, p + 12, 4);
	memcpy(&out->yiaddr, p + 16, 4);
	memcpy(&out->siaddr, p + 20, 4);
	memcpy(&out->giaddr, p + 24, 4);
	memcpy(out->chaddr, p + 28, sizeof(out->chaddr));

	area_add(&areas, p + DHCP4_OPTIONS_OFFSET, n - DHCP4_OPTIONS_OFFSET);
	r = area_validate(areas.area[0].p, areas.area[0].n);
	if (r < 0)
		return r;
	/* option 52 is only valid in the options field: look before adding
	 * the fields it lends */
	r = opt_fixed(&areas, DHCP4_OPT_OVERLOAD, &overload, 1);
	if (r < 0)
		return r;
	if (r > 0) {
		if (overload < 1 || overload > 3)
			return -EBADMSG;
		if (overload & OVERLOAD_FILE)
			area_add(&areas, p + FILE_OFFSET, FILE_LEN);
		if (overload & OVERLOAD_SNAME)
			area_add(&areas, p + SNAME_OFFSET, SNAME_LEN);
		for (unsigned i = 1; i < areas.count; i++) {
			r = area_validate(areas.area[i].p, areas.area[i].n);
			if (r < 0)
				return r;
		}
	}
	return parse_options(&areas, out);
}

static void put(struct pkt_writer *w, const void *data, size_t n)
{
	uint8_t *p = pkt_reserve(w, n);

	if (p)
		memcpy(p, data, n);
}

static void put_u8(struct pkt_writer *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u16(struct pkt_writer *w, uint16_t v)
{
	put(w, (uint8_t[]){ v >> 8, v & 0xff }, 2);
}

static void put_u32(struct pkt_writer *w, uint32_t v)
{
	put(w, (uint8_t[]){ v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff }, 4);
}

/* One option; every value this builder emits fits one instance (<= 255). */
static void put_option(struct pkt_writer *w, uint8_t code, const void *data, size_t n)
{
	put_u8(w, code);
	put_u8(w, (uint8_t)n);
	put(w, data, n);
}

static void put_option_u32(struct pkt_writer *w, uint8_t code, uint32_t v)
{
	put_option(w, code, (uint8_t[]){ v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff },
		   4);
}

static void put_option_u16(struct pkt_writer *w, uint8_t code, uint16_t v)
{
	put_option(w, code, (uint8_t[]){ v >> 8, v & 0xff }, 2);
}

static void put_option_string(struct pkt_writer *w, uint8_t code, const char *s)
{
	if (s[0])
		put_option(w, code, s, strlen(s));
}

/* Option 121 in its compact form; routes were checked by the caller. */
static void put_routes(struct pkt_writer *w, const struct dhcp4_route *routes, unsigned n)
{
	uint8_t value[DHCP4_MAX_ROUTES * 9];
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t dest[4];
		size_t significant = (routes[i].prefixlen + 7u) / 8;

		memcpy(dest, &routes[i].dest, 4);
		mask_prefix(dest, routes[i].prefixlen);
		value[len++] = routes[i].prefixlen;
		memcpy(value + len, dest, significant);
		len += significant;
		memcpy(value + len, &routes[i].gateway, 4);
		len += 4;
	}
	put_option(w, DHCP4_OPT_CLASSLESS_ROUTES, value, len);
}

static bool string_terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

ssize_t dhcp4_build(const struct dhcp4_msg *m, uint8_t *buf, size_t size)
{
	struct pkt_writer w = { .p = buf, .size = size };
	uint8_t zeros[SNAME_LEN + FILE_LEN] = { 0 };

	if (m->hlen > sizeof(m->chaddr) || m->n_dns > DHCP4_MAX_DNS ||
	    m->n_routes > DHCP4_MAX_ROUTES || m->n_prl > DHCP4_MAX_PRL ||
	    m->client_id_len > DHCP4_MAX_CLIENT_ID ||
	    !string_terminated(m->hostname, sizeof(m->hostname)) ||
	    !string_terminated(m->domain, sizeof(m->domain)) ||
	    !string_terminated(m->message, sizeof(m->message)))
		return -EINVAL;
	for (unsigned i = 0; i < m->n_routes; i++)
		if (m->routes[i].prefixlen > 32)
			return -EINVAL;

	put_u8(&w, m->op);
	put_u8(&w, m->htype);
	put_u8(&w, m->hlen);
	put_u8(&w, m->hops);
	put_u32(&w, m->xid);
	put_u16(&w, m->secs);
	put_u16(&w, m->flags);
	put(&w, &m->ciaddr, 4);
	put(&w, &m->yiaddr, 4);
	put(&w, &m->siaddr, 4);
	put(&w, &m->giaddr, 4);
	put(&w, m->chaddr, sizeof(m->chaddr));
	put(&w, zeros, sizeof(zeros)); /* sname, file */
	put(&w, magic_cookie, sizeof(magic_cookie));

	if (m->type)
		put_option(&w, DHCP4_OPT_MESSAGE_TYPE, &m->type, 1);
	if (m->client_id_len)
		put_option(&w, DHCP4_OPT_CLIENT_ID, m->client_id, m->client_id_len);
	if (m->has_requested_ip)
		put_option(&w, DHCP4_OPT_REQUESTED_IP, &m->requested_ip, 4);
	if (m->has_server_id)
		put_option(&w, DHCP4_OPT_SERVER_ID, &m->server_id, 4);
	if (m->has_max_msg_size)
		put_option_u16(&w, DHCP4_OPT_MAX_MSG_SIZE, m->max_msg_size);
	if (m->has_lease_time)
		put_option_u32(&w, DHCP4_OPT_LEASE_TIME, m->lease_time);
	if (m->has_t1)
		put_option_u32(&w, DHCP4_OPT_T1, m->t1);
	if (m->has_t2)
		put_option_u32(&w, DHCP4_OPT_T2, m->t2);
	if (m->has_subnet_mask)
		put_option(&w, DHCP4_OPT_SUBNET_MASK, &m->subnet_mask, 4);
	if (m->n_routes)
		put_routes(&w, m->routes, m->n_routes);
	if (m->has_router)
		put_option(&w, DHCP4_OPT_ROUTER, &m->router, 4);
	if (m->n_dns)
		put_option(&w, DHCP4_OPT_DNS, m->dns, 4 * (size_t)m->n_dns);
	put_option_string(&w, DHCP4_OPT_HOSTNAME, m->hostname);
	put_option_string(&w, DHCP4_OPT_DOMAIN, m->domain);
	if (m->has_mtu)
		put_option_u16(&w, DHCP4_OPT_MTU, m->mtu);
	if (m->n_prl)
		put_option(&w, DHCP4_OPT_PRL, m->prl, m->n_prl);
	put_option_string(&w, DHCP4_OPT_MESSAGE, m->message);
	put_u8(&w, DHCP4_OPT_END);
	while (!w.overflow && w.len < DHCP4_MIN_LEN)
		put_u8(&w, DHCP4_OPT_PAD);

	if (w.overflow)
		return -ENOBUFS;
	return (ssize_t)w.len;
}

int dhcp4_netmask_to_prefixlen(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int len = 0;

	while (len < 32 && (m & (UINT32_C(1) << (31 - len))))
		len++;
	/* contiguous: nothing set after the first zero bit */
	if (len < 32 && (m << len) != 0)
		return -EINVAL;
	return len;
}
