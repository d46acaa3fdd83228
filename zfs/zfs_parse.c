/* SPDX-License-Identifier: MIT */
/*
 * Parsers of zfs/zpool -H output and the dataset name rules. See zfs_parse.h.
 */
#include "zfs_parse.h"

#include <errno.h>
#include <string.h>

#include "util.h"

#define FIELDS_MAX 8

/* One line of -H output: [p, p+len) without its '\n'. */
struct line {
	const char *p;
	size_t len;
};

/* Characters ZFS allows in dataset and snapshot names (and the separators). */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == ':' || c == '.' || c == ' ' || c == '%' ||
	       c == '/' || c == '@';
}

/* A dataset or snapshot name as zfs prints it: components separated by '/',
 * at most one '@', nothing empty. */
static bool printed_name_valid(const char *s, size_t len)
{
	bool at = false;

	if (len == 0 || len > ZFS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_char(s[i]))
			return false;
		if (s[i] == '/' || s[i] == '@') {
			/* no empty component, no '/' after the '@' */
			if (i == 0 || i + 1 == len || s[i - 1] == '/' || s[i - 1] == '@' || at)
				return false;
			at = s[i] == '@';
		}
	}
	return true;
}

static int copy_name(char dst[ZFS_NAME_MAX + 1], const char *s, size_t len)
{
	if (!printed_name_valid(s, len))
		return -EBADMSG;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* Split s into tab-separated fields; with rest_in_last the max-th field
 * takes the rest of the line, tabs included. Returns the count, max + 1
 * when there are more fields than max. */
static size_t split_tabs(const char *s, size_t len, struct line *f, size_t max, bool rest_in_last)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\t')
			continue;
		if (rest_in_last && n + 1 == max)
			break;
		if (n == max)
			return max + 1;
		f[n++] = (struct line){ s + start, i - start };
		start = i + 1;
	}
	if (n == max)
		return max + 1;
	f[n++] = (struct line){ s + start, len - start };
	return n;
}

/* Iterate lines: *pos advances; false at the end. A final line without '\n'
 * counts; an empty trailing piece does not. */
static bool next_line(const char *out, size_t len, size_t *pos, struct line *l)
{
	if (*pos >= len)
		return false;
	const char *start = out + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - start) : len - *pos;
	*l = (struct line){ start, n };
	*pos += n + (nl ? 1 : 0);
	return true;
}

/* Lines must be plain text: no NUL, no control bytes but the tabs. */
static bool line_clean(const struct line *l)
{
	for (size_t i = 0; i < l->len; i++) {
		unsigned char c = (unsigned char)l->p[i];
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return false;
	}
	return true;
}

static bool field_is(const struct line *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

static int parse_size_field(const struct line *f, struct zfs_size *out)
{
	char tmp[32];

	if (f->len == 0 || f->len >= sizeof(tmp))
		return -EBADMSG;
	memcpy(tmp, f->p, f->len);
	tmp[f->len] = '\0';
	return zfs_parse_size(tmp, out) < 0 ? -EBADMSG : 0;
}

int zfs_parse_size(const char *s, struct zfs_size *out)
{
	static const char units[] = "BKMGTPE";
	uint64_t ip = 0, frac = 0, scale = 1, mult = 1;
	unsigned frac_digits = 0;
	const char *p = s;

	*out = (struct zfs_size){ 0 };
	if (!s || !*s)
		return -EINVAL;
	if (streq(s, "-") || streq(s, "none"))
		return 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (ip > (UINT64_MAX - d) / 10)
			return -ERANGE;
		ip = ip * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++frac_digits > 6)
				return -EINVAL; /* zfs prints at most two */
			frac = frac * 10 + (unsigned)(*p - '0');
			scale *= 10;
		}
	}
	if (*p) {
		const char *u = strchr(units, *p);
		if (!u || p[1])
			return -EINVAL;
		for (long k = u - units; k > 0; k--)
			mult *= 1024;
	}
	/* "1.5" bytes is no size */
	if (frac_digits > 0 && mult == 1)
		return -EINVAL;
	if (ip > UINT64_MAX / mult)
		return -ERANGE;
	uint64_t v = ip * mult;
	/* frac/scale of a unit, rounded, without overflowing: frac < scale <= 10^6 */
	uint64_t part = frac * (mult / scale) + (frac * (mult % scale) + scale / 2) / scale;
	if (v > UINT64_MAX - part)
		return -ERANGE;
	out->bytes = v + part;
	out->set = true;
	out->exact = !*p && frac_digits == 0;
	return 0;
}

int zfs_parse_ratio(const char *s, uint32_t *hundredths)
{
	uint64_t ip = 0;
	unsigned frac = 0, digits = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		ip = ip * 10 + (unsigned)(*p - '0');
		if (ip > 1000000)
			return -ERANGE;
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 2)
				return -EINVAL;
			frac = frac * 10 + (unsigned)(*p - '0');
		}
		if (digits == 0)
			return -EINVAL;
		if (digits == 1)
			frac *= 10;
	}
	if (*p == 'x')
		p++;
	if (*p)
		return -EINVAL;
	*hundredths = (uint32_t)(ip * 100 + frac);
	return 0;
}

void zfs_dataset_list_free(struct zfs_dataset_list *l)
{
	free(l->items);
	*l = (struct zfs_dataset_list){ 0 };
}

static int parse_dataset_line(const struct line *l, struct zfs_dataset *d)
{
	struct line f[FIELDS_MAX];

	if (!line_clean(l) || split_tabs(l->p, l->len, f, FIELDS_MAX, false) != 7)
		return -EBADMSG;
	*d = (struct zfs_dataset){ 0 };
	if (copy_name(d->name, f[0].p, f[0].len) < 0)
		return -EBADMSG;
	if (field_is(&f[1], "filesystem"))
		d->type = ZFS_TYPE_FILESYSTEM;
	else if (field_is(&f[1], "volume"))
		d->type = ZFS_TYPE_VOLUME;
	else if (field_is(&f[1], "snapshot"))
		d->type = ZFS_TYPE_SNAPSHOT;
	else
		return -EBADMSG;
	/* a snapshot, and only a snapshot, has an '@' */
	if ((d->type == ZFS_TYPE_SNAPSHOT) != (strchr(d->name, '@') != NULL))
		return -EBADMSG;
	if (parse_size_field(&f[2], &d->used) < 0 || parse_size_field(&f[3], &d->avail) < 0 ||
	    parse_size_field(&f[4], &d->refer) < 0 || parse_size_field(&f[5], &d->volsize) < 0)
		return -EBADMSG;
	if (!field_is(&f[6], "-")) {
		if (copy_name(d->origin, f[6].p, f[6].len) < 0 || !strchr(d->origin, '@'))
			return -EBADMSG;
	}
	return 0;
}

int zfs_parse_list(const char *out, size_t len, size_t max_items, struct zfs_dataset_list *l,
		   size_t *bad_line)
{
	struct line line;
	size_t pos = 0, lineno = 0, cap = 0;

	*l = (struct zfs_dataset_list){ 0 };
	*bad_line = 0;
	max_items = MIN(max_items ? max_items : ZFS_PARSE_LINES_MAX, ZFS_PARSE_LINES_MAX);
	while (next_line(out, len, &pos, &line)) {
		lineno++;
		if (l->n >= max_items)
			break; /* bounded: the rest is ignored */
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->items = xrealloc(l->items, cap * sizeof(*l->items));
		}
		if (parse_dataset_line(&line, &l->items[l->n]) < 0) {
			*bad_line = lineno;
			zfs_dataset_list_free(l);
			return -EBADMSG;
		}
		l->n++;
	}
	return 0;
}

void zfs_prop_list_free(struct zfs_prop_list *l)
{
	free(l->items);
	free(l->text);
	*l = (struct zfs_prop_list){ 0 };
}

static bool property_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > ZFS_PROP_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ':' || c == '.' || c == '_' || c == '-' || c == '+' || c == '@'))
			return false;
	}
	return true;
}

int zfs_parse_get(const char *out, size_t len, size_t max_items, struct zfs_prop_list *l,
		  size_t *bad_line)
{
	struct line line, f[3];
	size_t pos = 0, lineno = 0, cap = 0;

	*l = (struct zfs_prop_list){ 0 };
	*bad_line = 0;
	max_items = MIN(max_items ? max_items : ZFS_PARSE_LINES_MAX, ZFS_PARSE_LINES_MAX);
	/* one copy in which the tabs and newlines become NULs */
	l->text = xmalloc(len + 1);
	if (len)
		memcpy(l->text, out, len);
	l->text[len] = '\0';

	while (next_line(l->text, len, &pos, &line)) {
		lineno++;
		if (l->n >= max_items)
			break;
		if (!line_clean(&line) || split_tabs(line.p, line.len, f, 3, true) != 3 ||
		    !printed_name_valid(f[0].p, f[0].len) ||
		    !property_name_valid(f[1].p, f[1].len) || f[2].len > ZFS_PROP_VALUE_MAX) {
			*bad_line = lineno;
			zfs_prop_list_free(l);
			return -EBADMSG;
		}
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->items = xrealloc(l->items, cap * sizeof(*l->items));
		}
		char *base = l->text;
		for (int i = 0; i < 3; i++)
			base[(f[i].p - base) + f[i].len] = '\0';
		l->items[l->n++] = (struct zfs_prop){
			.dataset = (char *)f[0].p,
			.property = (char *)f[1].p,
			.value = (char *)f[2].p,
		};
	}
	return 0;
}

const char *zfs_prop_find(const struct zfs_prop_list *l, const char *dataset, const char *property)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->items[i].dataset, dataset) && streq(l->items[i].property, property))
			return l->items[i].value;
	return NULL;
}

int zfs_prop_u64(const struct zfs_prop_list *l, const char *dataset, const char *property,
		 uint64_t *out)
{
	unsigned long long v;
	const char *s = zfs_prop_find(l, dataset, property);

	if (!s)
		return -ENOENT;
	if (streq(s, "-") || streq(s, "none"))
		return -ENODATA;
	if (parse_u64(s, UINT64_MAX, &v) < 0)
		return -EBADMSG;
	*out = v;
	return 0;
}

void zpool_list_free(struct zpool_list *l)
{
	free(l->items);
	*l = (struct zpool_list){ 0 };
}

static const char *const health_names[] = {
	[ZPOOL_ONLINE] = "ONLINE",   [ZPOOL_DEGRADED] = "DEGRADED", [ZPOOL_FAULTED] = "FAULTED",
	[ZPOOL_OFFLINE] = "OFFLINE", [ZPOOL_REMOVED] = "REMOVED",   [ZPOOL_UNAVAIL] = "UNAVAIL",
	[ZPOOL_SUSPENDED] = "SUSPENDED",
};

const char *zpool_health_to_string(enum zpool_health h)
{
	return (size_t)h < ARRAY_SIZE(health_names) ? health_names[h] : "?";
}

static int parse_pool_line(const struct line *l, struct zpool_info *p)
{
	struct line f[FIELDS_MAX];
	size_t h;

	if (!line_clean(l) || split_tabs(l->p, l->len, f, FIELDS_MAX, false) != 5)
		return -EBADMSG;
	*p = (struct zpool_info){ 0 };
	if (copy_name(p->name, f[0].p, f[0].len) < 0 || memchr(f[0].p, '/', f[0].len) ||
	    memchr(f[0].p, '@', f[0].len))
		return -EBADMSG;
	if (parse_size_field(&f[1], &p->size) < 0 || parse_size_field(&f[2], &p->alloc) < 0 ||
	    parse_size_field(&f[3], &p->free) < 0)
		return -EBADMSG;
	for (h = 0; h < ARRAY_SIZE(health_names); h++)
		if (field_is(&f[4], health_names[h]))
			break;
	if (h == ARRAY_SIZE(health_names))
		return -EBADMSG;
	p->health = (enum zpool_health)h;
	return 0;
}

int zfs_parse_pools(const char *out, size_t len, size_t max_items, struct zpool_list *l,
		    size_t *bad_line)
{
	struct line line;
	size_t pos = 0, lineno = 0, cap = 0;

	*l = (struct zpool_list){ 0 };
	*bad_line = 0;
	max_items = MIN(max_items ? max_items : ZFS_PARSE_LINES_MAX, ZFS_PARSE_LINES_MAX);
	while (next_line(out, len, &pos, &line)) {
		lineno++;
		if (l->n >= max_items)
			break;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->items = xrealloc(l->items, cap * sizeof(*l->items));
		}
		if (parse_pool_line(&line, &l->items[l->n]) < 0) {
			*bad_line = lineno;
			zpool_list_free(l);
			return -EBADMSG;
		}
		l->n++;
	}
	return 0;
}

bool zfs_pool_name_valid(const char *pool)
{
	static const char *const reserved[] = { "mirror", "raidz", "draid", "spare", "log" };
	size_t len = pool ? strlen(pool) : 0;

	if (len == 0 || len > 200)
		return false;
	if (!((pool[0] >= 'a' && pool[0] <= 'z') || (pool[0] >= 'A' && pool[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = pool[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == ':'))
			return false;
	}
	/* zpool refuses names that begin with these vdev words, and c[0-9] */
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (startswith(pool, reserved[i]))
			return false;
	if (pool[0] == 'c' && pool[1] >= '0' && pool[1] <= '9')
		return false;
	return true;
}

bool zfs_root_name_valid(const char *root)
{
	const char *slash = root ? strchr(root, '/') : NULL;
	size_t len = root ? strlen(root) : 0;

	if (len == 0 || len > 200)
		return false;
	if (!slash)
		return zfs_pool_name_valid(root);
	_cleanup_free_ char *pool = xstrndup(root, (size_t)(slash - root));
	if (!zfs_pool_name_valid(pool))
		return false;
	/* each further component: ZFS's characters, none empty, none hidden
	 * (".base" and ".tmp" are ours, one level below the root) */
	for (const char *c = slash + 1;; c++) {
		if (*c == '/' || *c == '\0')
			return false;
		if (*c == '.')
			return false;
		while (*c && *c != '/') {
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.' ||
			      *c == ':'))
				return false;
			c++;
		}
		if (*c == '\0')
			return true;
	}
}

/* Exactly 36 characters of a lowercase hyphenated UUID. */
static bool uuid_lower(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

bool zfs_name_ours(const char *name, const char *pool)
{
	size_t plen;

	if (!name || !zfs_root_name_valid(pool))
		return false;
	plen = strlen(pool);
	if (strncmp(name, pool, plen) != 0)
		return false;
	const char *p = name + plen;
	if (!*p)
		return true;
	if (*p++ != '/')
		return false;
	if (streq(p, ".tmp") || streq(p, ".base"))
		return true;

	bool base = startswith(p, ".base/");
	if (base)
		p += strlen(".base/");
	const char *at = strchr(p, '@');
	size_t id_len = at ? (size_t)(at - p) : strlen(p);
	if (!uuid_lower(p, id_len))
		return false;
	if (!at)
		return true;
	/* templates have the snapshot "img"; volumes have UUID-named ones, which
	 * move to a base when deleting a volume promotes the base in its place */
	if (base && streq(at + 1, "img"))
		return true;
	return uuid_lower(at + 1, strlen(at + 1));
}

int zfs_name_build(char *buf, size_t size, const char *pool, bool base, const char *id,
		   const char *snap)
{
	if (!zfs_root_name_valid(pool) || !id || !uuid_lower(id, strlen(id)))
		return -EINVAL;
	int n = snprintf(buf, size, "%s/%s%s%s%s", pool, base ? ".base/" : "", id,
			 snap ? "@" : "", snap ? snap : "");
	if (n < 0 || (size_t)n >= size || n > ZFS_NAME_MAX)
		return -ENAMETOOLONG;
	return zfs_name_ours(buf, pool) ? 0 : -EINVAL;
}
