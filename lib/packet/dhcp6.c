/* SPDX-License-Identifier: MIT */
/* DHCPv6 messages: parsing and building (see dhcp6.h). */
#include "dhcp6.h"

#include <errno.h>
#include <string.h>

#include "util.h"
#include "bytes.h"

#define HEADER_SIZE 4	   /* type + transaction id */
#define OPT_HEADER_SIZE 4  /* code + length */
#define IA_NA_FIXED 12	   /* IAID, T1, T2 */
#define IAADDR_FIXED 24	   /* address, preferred and valid lifetimes */
#define DOMAIN_WIRE_MAX 255 /* RFC 1035 §2.3.4 */
#define LABEL_MAX 63

/* Whether a message type carries the Client and Server Identifier options:
 * RFC 8415 §16 has receivers discard messages that break these rules. */
enum id_rule { ID_OPTIONAL, ID_REQUIRED, ID_FORBIDDEN };

static int id_rules(uint8_t type, enum id_rule *client, enum id_rule *server)
{
	switch (type) {
	case DHCP6_SOLICIT:
	case DHCP6_CONFIRM:
	case DHCP6_REBIND:
		*client = ID_REQUIRED;
		*server = ID_FORBIDDEN;
		return 0;
	case DHCP6_ADVERTISE:
	case DHCP6_REQUEST:
	case DHCP6_RENEW:
	case DHCP6_RELEASE:
	case DHCP6_DECLINE:
	case DHCP6_RECONFIGURE:
		*client = ID_REQUIRED;
		*server = ID_REQUIRED;
		return 0;
	case DHCP6_REPLY:
		/* a Reply to an Information-request without Client Identifier
		 * has none either */
		*client = ID_OPTIONAL;
		*server = ID_REQUIRED;
		return 0;
	case DHCP6_INFORMATION_REQUEST:
		*client = ID_OPTIONAL;
		*server = ID_OPTIONAL;
		return 0;
	default:
		return -EBADMSG; /* relay messages and unknown types */
	}
}

static bool id_ok(enum id_rule rule, size_t len)
{
	return rule == ID_OPTIONAL || (rule == ID_REQUIRED) == (len > 0);
}

/* An option walk over [p, end): each call yields the next option's code,
 * body and body length; 1 while there are options, 0 at the end, -EBADMSG
 * when an option header or body runs past end. */
struct opt_iter {
	const uint8_t *p, *end;
};

static int opt_next(struct opt_iter *it, uint16_t *code, const uint8_t **body, size_t *len)
{
	size_t left = (size_t)(it->end - it->p);

	if (left == 0)
		return 0;
	if (left < OPT_HEADER_SIZE)
		return -EBADMSG;
	*code = get16(it->p);
	*len = get16(it->p + 2);
	if (*len > left - OPT_HEADER_SIZE)
		return -EBADMSG;
	*body = it->p + OPT_HEADER_SIZE;
	it->p += OPT_HEADER_SIZE + *len;
	return 1;
}

static bool message_char_ok(uint8_t c)
{
	return c >= 0x20 && c != 0x7f;
}

/* Status Code: 2-byte code, then a UTF-8 message without NUL. */
static int parse_status(const uint8_t *body, size_t len, struct dhcp6_status *out)
{
	size_t msg_len;

	if (len < 2)
		return -EBADMSG;
	if (out->present)
		return 0; /* the first one counts */
	out->present = true;
	out->code = get16(body);
	msg_len = len - 2;
	if (msg_len >= sizeof(out->message))
		return 0;
	for (size_t i = 0; i < msg_len; i++)
		if (!message_char_ok(body[2 + i]))
			return 0;
	memcpy(out->message, body + 2, msg_len);
	return 0;
}

static int parse_iaaddr(const uint8_t *body, size_t len, struct dhcp6_ia_addr *out)
{
	struct opt_iter it;
	const uint8_t *sub;
	size_t sub_len;
	uint16_t code;
	int r;

	if (len < IAADDR_FIXED)
		return -EBADMSG;
	memcpy(&out->address, body, 16);
	out->preferred_s = get32(body + 16);
	out->valid_s = get32(body + 20);
	it = (struct opt_iter){ body + IAADDR_FIXED, body + len };
	while ((r = opt_next(&it, &code, &sub, &sub_len)) > 0)
		if (code == DHCP6_OPT_STATUS_CODE) {
			r = parse_status(sub, sub_len, &out->status);
			if (r < 0)
				return r;
		}
	return r;
}

/* IA_NA: IAID, T1, T2, then IA Address and Status Code options. When out is
 * NULL (a second IA_NA) the option is only checked. */
static int parse_ia_na(const uint8_t *body, size_t len, struct dhcp6_ia_na *out)
{
	struct dhcp6_ia_na scratch;
	struct opt_iter it;
	const uint8_t *sub;
	size_t sub_len;
	uint16_t code;
	int r;

	if (len < IA_NA_FIXED)
		return -EBADMSG;
	if (!out) {
		memset(&scratch, 0, sizeof(scratch));
		out = &scratch;
	}
	out->iaid = get32(body);
	out->t1_s = get32(body + 4);
	out->t2_s = get32(body + 8);
	it = (struct opt_iter){ body + IA_NA_FIXED, body + len };
	while ((r = opt_next(&it, &code, &sub, &sub_len)) > 0) {
		if (code == DHCP6_OPT_IAADDR) {
			struct dhcp6_ia_addr ignored = { 0 };
			bool keep = out->n_addrs < DHCP6_MAX_IA_ADDRS;

			r = parse_iaaddr(sub, sub_len, keep ? &out->addrs[out->n_addrs] : &ignored);
			if (r < 0)
				return r;
			if (keep)
				out->n_addrs++;
		} else if (code == DHCP6_OPT_STATUS_CODE) {
			r = parse_status(sub, sub_len, &out->status);
			if (r < 0)
				return r;
		}
	}
	return r;
}

static bool domain_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Domain Search List: names in RFC 1035 wire format without compression
 * (RFC 8415 §10), each ending with the zero-length root label. */
static int parse_domains(const uint8_t *body, size_t len, struct dhcp6_message *out)
{
	size_t off = 0;

	while (off < len) {
		char name[DHCP6_DOMAIN_MAX];
		size_t start = off, n = 0;
		bool ok = true;

		for (;;) {
			uint8_t label;

			if (off >= len)
				return -EBADMSG; /* no root label before the end */
			label = body[off++];
			if (label == 0)
				break;
			/* compression pointers and the reserved 0x40/0x80 forms */
			if (label > LABEL_MAX || label > len - off)
				return -EBADMSG;
			if (off + label - start + 1 > DOMAIN_WIRE_MAX)
				return -EBADMSG;
			for (size_t i = 0; i < label; i++)
				if (!domain_char_ok(body[off + i]))
					ok = false;
			if (ok) {
				if (n)
					name[n++] = '.';
				memcpy(name + n, body + off, label);
				n += label;
			}
			off += label;
		}
		name[n] = '\0';
		if (ok && n > 0 && out->n_domains < DHCP6_MAX_DOMAINS)
			memcpy(out->domains[out->n_domains++], name, n + 1);
	}
	return 0;
}

static int parse_duid(const uint8_t *body, size_t len, uint8_t *dst, size_t *dst_len)
{
	if (len == 0 || len > DHCP6_DUID_MAX)
		return -EBADMSG;
	if (*dst_len == 0) {
		memcpy(dst, body, len);
		*dst_len = len;
	}
	return 0;
}

static int parse_option(uint16_t code, const uint8_t *body, size_t len, struct dhcp6_message *m)
{
	switch (code) {
	case DHCP6_OPT_CLIENTID:
		return parse_duid(body, len, m->client_id, &m->client_id_len);
	case DHCP6_OPT_SERVERID:
		return parse_duid(body, len, m->server_id, &m->server_id_len);
	case DHCP6_OPT_IA_NA: {
		bool first = !m->has_ia_na;
		int r = parse_ia_na(body, len, first ? &m->ia_na : NULL);

		if (r < 0)
			return r;
		m->has_ia_na = true;
		return 0;
	}
	case DHCP6_OPT_ORO:
		if (len % 2)
			return -EBADMSG;
		for (size_t i = 0; i < len && m->n_oro < DHCP6_MAX_ORO; i += 2)
			m->oro[m->n_oro++] = get16(body + i);
		return 0;
	case DHCP6_OPT_PREFERENCE:
		if (len != 1)
			return -EBADMSG;
		if (!m->has_preference) {
			m->has_preference = true;
			m->preference = body[0];
		}
		return 0;
	case DHCP6_OPT_ELAPSED_TIME:
		if (len != 2)
			return -EBADMSG;
		if (!m->has_elapsed) {
			m->has_elapsed = true;
			m->elapsed_cs = get16(body);
		}
		return 0;
	case DHCP6_OPT_STATUS_CODE:
		return parse_status(body, len, &m->status);
	case DHCP6_OPT_RAPID_COMMIT:
		if (len != 0)
			return -EBADMSG;
		m->rapid_commit = true;
		return 0;
	case DHCP6_OPT_DNS_SERVERS:
		if (len % 16)
			return -EBADMSG;
		for (size_t i = 0; i < len && m->n_dns < DHCP6_MAX_DNS; i += 16)
			memcpy(&m->dns[m->n_dns++], body + i, 16);
		return 0;
	case DHCP6_OPT_DOMAIN_LIST:
		return parse_domains(body, len, m);
	default:
		return 0;
	}
}

int dhcp6_parse(const void *buf, size_t len, struct dhcp6_message *out)
{
	const uint8_t *p = buf;
	enum id_rule client_rule, server_rule;
	struct opt_iter it;
	const uint8_t *body;
	size_t body_len;
	uint16_t code;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < HEADER_SIZE)
		return -EBADMSG;
	r = id_rules(p[0], &client_rule, &server_rule);
	if (r < 0)
		return r;
	out->type = p[0];
	out->xid = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	it = (struct opt_iter){ p + HEADER_SIZE, p + len };
	while ((r = opt_next(&it, &code, &body, &body_len)) > 0) {
		r = parse_option(code, body, body_len, out);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (!id_ok(client_rule, out->client_id_len) || !id_ok(server_rule, out->server_id_len))
		return -EBADMSG;
	return 0;
}

/* Start an option: writes its code, returns its offset for end_option
 * (which fills in the length once the body, nested options included, is
 * written), or SIZE_MAX on overflow. */
static size_t begin_option(struct pkt_writer *w, uint16_t code)
{
	size_t at = w->len;
	uint8_t *p = pkt_reserve(w, OPT_HEADER_SIZE);

	if (!p)
		return SIZE_MAX;
	put16(p, code);
	return at;
}

static void end_option(struct pkt_writer *w, size_t at)
{
	if (w->overflow || at == SIZE_MAX)
		return;
	put16(w->p + at + 2, (uint16_t)(w->len - at - OPT_HEADER_SIZE));
}

static void put_bytes(struct pkt_writer *w, const void *data, size_t n)
{
	uint8_t *p = pkt_reserve(w, n);

	if (p && n)
		memcpy(p, data, n);
}

static void put_u16(struct pkt_writer *w, uint16_t v)
{
	uint8_t *p = pkt_reserve(w, 2);

	if (p)
		put16(p, v);
}

static void put_u32(struct pkt_writer *w, uint32_t v)
{
	uint8_t *p = pkt_reserve(w, 4);

	if (p)
		put32(p, v);
}

static void put_option(struct pkt_writer *w, uint16_t code, const void *data, size_t n)
{
	size_t at = begin_option(w, code);

	put_bytes(w, data, n);
	end_option(w, at);
}

static void put_status(struct pkt_writer *w, const struct dhcp6_status *s)
{
	size_t at;

	if (!s->present)
		return;
	at = begin_option(w, DHCP6_OPT_STATUS_CODE);
	put_u16(w, s->code);
	put_bytes(w, s->message, strnlen(s->message, sizeof(s->message) - 1));
	end_option(w, at);
}

static void put_ia_na(struct pkt_writer *w, const struct dhcp6_ia_na *ia)
{
	size_t at = begin_option(w, DHCP6_OPT_IA_NA);

	put_u32(w, ia->iaid);
	put_u32(w, ia->t1_s);
	put_u32(w, ia->t2_s);
	for (unsigned i = 0; i < MIN(ia->n_addrs, DHCP6_MAX_IA_ADDRS); i++) {
		const struct dhcp6_ia_addr *a = &ia->addrs[i];
		size_t addr_at = begin_option(w, DHCP6_OPT_IAADDR);

		put_bytes(w, &a->address, 16);
		put_u32(w, a->preferred_s);
		put_u32(w, a->valid_s);
		put_status(w, &a->status);
		end_option(w, addr_at);
	}
	put_status(w, &ia->status);
	end_option(w, at);
}

/* Encode a dotted name in wire format; -EINVAL when it is not one. */
static int put_domain(struct pkt_writer *w, const char *name)
{
	size_t n = strnlen(name, DHCP6_DOMAIN_MAX);
	const char *label = name;

	if (n == 0 || n >= DHCP6_DOMAIN_MAX)
		return -EINVAL;
	while (label < name + n) {
		const char *dot = memchr(label, '.', (size_t)(name + n - label));
		size_t label_len = dot ? (size_t)(dot - label) : (size_t)(name + n - label);
		uint8_t len_byte = (uint8_t)label_len;

		if (label_len == 0 || label_len > LABEL_MAX)
			return -EINVAL;
		for (size_t i = 0; i < label_len; i++)
			if (!domain_char_ok((uint8_t)label[i]))
				return -EINVAL;
		put_bytes(w, &len_byte, 1);
		put_bytes(w, label, label_len);
		label += label_len + (dot ? 1 : 0);
		if (dot && label == name + n)
			return -EINVAL; /* trailing dot */
	}
	put_bytes(w, "", 1);
	return 0;
}

int dhcp6_build(const struct dhcp6_message *m, void *buf, size_t size)
{
	struct pkt_writer w = { .p = buf, .size = size };
	enum id_rule client_rule, server_rule;
	uint8_t *p;

	if (id_rules(m->type, &client_rule, &server_rule) < 0 ||
	    m->client_id_len > DHCP6_DUID_MAX || m->server_id_len > DHCP6_DUID_MAX ||
	    !id_ok(client_rule, m->client_id_len) || !id_ok(server_rule, m->server_id_len))
		return -EINVAL;
	p = pkt_reserve(&w, HEADER_SIZE);
	if (p) {
		p[0] = m->type;
		p[1] = m->xid >> 16 & 0xff;
		p[2] = m->xid >> 8 & 0xff;
		p[3] = m->xid & 0xff;
	}
	if (m->client_id_len)
		put_option(&w, DHCP6_OPT_CLIENTID, m->client_id, m->client_id_len);
	if (m->server_id_len)
		put_option(&w, DHCP6_OPT_SERVERID, m->server_id, m->server_id_len);
	if (m->has_elapsed) {
		uint8_t v[2];

		put16(v, m->elapsed_cs);
		put_option(&w, DHCP6_OPT_ELAPSED_TIME, v, 2);
	}
	if (m->has_preference)
		put_option(&w, DHCP6_OPT_PREFERENCE, &m->preference, 1);
	if (m->rapid_commit)
		put_option(&w, DHCP6_OPT_RAPID_COMMIT, NULL, 0);
	put_status(&w, &m->status);
	if (m->has_ia_na)
		put_ia_na(&w, &m->ia_na);
	if (m->n_oro) {
		size_t at = begin_option(&w, DHCP6_OPT_ORO);

		for (unsigned i = 0; i < MIN(m->n_oro, DHCP6_MAX_ORO); i++)
			put_u16(&w, m->oro[i]);
		end_option(&w, at);
	}
	if (m->n_dns)
		put_option(&w, DHCP6_OPT_DNS_SERVERS, m->dns,
			   16 * (size_t)MIN(m->n_dns, DHCP6_MAX_DNS));
	if (m->n_domains) {
		size_t at = begin_option(&w, DHCP6_OPT_DOMAIN_LIST);

		for (unsigned i = 0; i < MIN(m->n_domains, DHCP6_MAX_DOMAINS); i++)
			if (put_domain(&w, m->domains[i]) < 0)
				return -EINVAL;
		end_option(&w, at);
	}
	return w.overflow ? -ENOBUFS : (int)w.len;
}

size_t dhcp6_duid_ll(const uint8_t mac[6], uint8_t out[DHCP6_DUID_LL_SIZE])
{
	put16(out, 3);	   /* DUID-LL */
	put16(out + 2, 1); /* hardware type: Ethernet (RFC 826) */
	memcpy(out + 4, mac, 6);
	return DHCP6_DUID_LL_SIZE;
}

const char *dhcp6_status_name(uint16_t code)
{
	static const char *const names[] = {
		[DHCP6_STATUS_SUCCESS] = "Success",
		[DHCP6_STATUS_UNSPEC_FAIL] = "UnspecFail",
		[DHCP6_STATUS_NO_ADDRS_AVAIL] = "NoAddrsAvail",
		[DHCP6_STATUS_NO_BINDING] = "NoBinding",
		[DHCP6_STATUS_NOT_ON_LINK] = "NotOnLink",
		[DHCP6_STATUS_USE_MULTICAST] = "UseMulticast",
	};

	return code < ARRAY_SIZE(names) ? names[code] : "unknown";
}

const char *dhcp6_type_name(uint8_t type)
{
	static const char *const names[] = {
		[DHCP6_SOLICIT] = "SOLICIT",
		[DHCP6_ADVERTISE] = "ADVERTISE",
		[DHCP6_REQUEST] = "REQUEST",
		[DHCP6_CONFIRM] = "CONFIRM",
		[DHCP6_RENEW] = "RENEW",
		[DHCP6_REBIND] = "REBIND",
		[DHCP6_REPLY] = "REPLY",
		[DHCP6_RELEASE] = "RELEASE",
		[DHCP6_DECLINE] = "DECLINE",
		[DHCP6_RECONFIGURE] = "RECONFIGURE",
		[DHCP6_INFORMATION_REQUEST] = "INFORMATION-REQUEST",
	};

	return type < ARRAY_SIZE(names) && names[type] ? names[type] : "unknown";
}
