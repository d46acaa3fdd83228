/* SPDX-License-Identifier: MIT */
/*
 * The cloud-init NoCloud seed: its YAML texts and the ISO 9660 image that
 * carries them (ECMA-119, with the Rock Ridge (RRIP 1.10 over SUSP) and
 * Joliet extensions), written without genisoimage so that the daemon has no
 * run-time dependency on it.
 *
 * Image layout, in 2048-byte sectors: 0-15 system area (zero), 16 primary
 * volume descriptor, 17 Joliet supplementary descriptor, 18 terminator,
 * 19-22 path tables (primary L and M, Joliet L and M; the root is the only
 * directory, so each is one 10-byte record), then the primary root
 * directory, the Joliet root directory, and the files' data, each file from
 * a sector boundary. Both trees point at the same file extents.
 *
 * Why three sets of names: the ISO names must be d-characters (A-Z 0-9 _),
 * and "user-data" is not. Linux takes the Rock Ridge NM name when the root
 * has SP and ER entries, and the Joliet name when mounted with norock;
 * without either it would show the lowered ISO name "user_data", which
 * cloud-init does not look for.
 */
#include "seed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "util.h"

#define SECTOR SEED_ISO_SECTOR
#define SYSTEM_AREA_SECTORS 16
#define PVD_SECTOR 16
#define JOLIET_SECTOR 17
#define TERMINATOR_SECTOR 18
#define PATH_TABLE_SECTOR 19 /* four of them, one sector each */
#define ROOT_DIR_SECTOR 23
#define PATH_TABLE_SIZE 10   /* one record: 8 bytes, 1-byte identifier, 1 pad */

#define ISO_FLAG_DIRECTORY 0x02

/* The ER entry that tells readers which extension the SUSP entries are:
 * RRIP 1.10's identifier, in our own words for the rest. */
#define RRIP_ID "RRIP_1991A"
#define RRIP_DESCRIPTOR "ROCK RIDGE: POSIX NAMES AND MODES"
#define RRIP_SOURCE "SEE IEEE P1282"

#define PX_LEN 36
#define SP_LEN 7
#define ER_LEN (8 + sizeof(RRIP_ID) - 1 + sizeof(RRIP_DESCRIPTOR) - 1 + sizeof(RRIP_SOURCE) - 1)

/* ---- byte order: ISO 9660 stores many numbers both little and big endian */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v & 0xffff);
	put_le16(p + 2, v >> 16);
}

static void put_both16(uint8_t *p, uint16_t v)
{
	put_le16(p, v);
	put16(p + 2, v);
}

static void put_both32(uint8_t *p, uint32_t v)
{
	put_le32(p, v);
	put32(p + 4, v);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A both-endian 32-bit field whose halves agree; false otherwise. */
static bool get_both32(const uint8_t *p, uint32_t *v)
{
	*v = get_le32(p);
	return *v == get32(p + 4);
}

/* ---- names */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool seed_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > SEED_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(name[i]))
			return false;
	return true;
}

/* The level 2 identifier of name: upper case, the last '.' kept as the
 * separator (one added when there is none), anything else not a
 * d-character made '_', then ";1". Returns its length. */
static size_t iso_name(const char *name, char out[SEED_NAME_MAX + 4])
{
	const char *dot = strrchr(name, '.');
	size_t len = 0;

	for (const char *c = name; *c; c++) {
		if (c == dot)
			out[len++] = '.';
		else if (*c >= 'a' && *c <= 'z')
			out[len++] = (char)(*c - 'a' + 'A');
		else if ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
			out[len++] = *c;
		else
			out[len++] = '_';
	}
	if (!dot)
		out[len++] = '.';
	out[len++] = ';';
	out[len++] = '1';
	out[len] = 0;
	return len;
}

/* ECMA-119 9.3 order: names compared as if padded with blanks, then
 * extensions likewise (the version is always 1). */
static int iso_name_cmp(const char *a, const char *b)
{
	for (int part = 0; part < 2; part++) {
		size_t la = strcspn(a, ".;"), lb = strcspn(b, ".;");

		for (size_t i = 0; i < MAX(la, lb); i++) {
			unsigned char ca = i < la ? (unsigned char)a[i] : ' ';
			unsigned char cb = i < lb ? (unsigned char)b[i] : ' ';

			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return 0;
}

/* ---- the writer */

struct iso_file {
	const struct seed_file *src;
	char iso[SEED_NAME_MAX + 4];
	size_t iso_len;
	uint32_t extent;
};

struct iso_layout {
	struct iso_file files[SEED_FILES_MAX];
	size_t n;
	size_t primary_order[SEED_FILES_MAX], joliet_order[SEED_FILES_MAX];
	uint32_t primary_root, primary_root_sectors;
	uint32_t joliet_root, joliet_root_sectors;
	uint32_t data_start, total_sectors;
};

static int primary_cmp(const void *a, const void *b, void *layout)
{
	const struct iso_layout *l = layout;

	return iso_name_cmp(l->files[*(const size_t *)a].iso, l->files[*(const size_t *)b].iso);
}

static int joliet_cmp(const void *a, const void *b, void *layout)
{
	const struct iso_layout *l = layout;

	/* Joliet names are UCS-2 of ASCII: byte order is code point order */
	return strcmp(l->files[*(const size_t *)a].src->name,
		      l->files[*(const size_t *)b].src->name);
}

/* Bytes of a directory record with an identifier of id_len and su_len
 * bytes of system use: even, as ECMA-119 9.1.12 wants. */
static size_t dir_record_len(size_t id_len, size_t su_len)
{
	size_t len = 33 + id_len + !(id_len & 1) + su_len;

	return len + (len & 1);
}

static size_t primary_file_su_len(const struct iso_file *f)
{
	return PX_LEN + 5 + strlen(f->src->name); /* PX, NM */
}

static size_t joliet_id_len(const struct iso_file *f)
{
	/* UCS-2 without ";1", as genisoimage writes it: readers show the
	 * name as it is, and Linux strips a version anyway */
	return 2 * strlen(f->src->name);
}

/* Sectors a directory of these record lengths takes: records never cross
 * a sector boundary (ECMA-119 6.8.1.1). */
static uint32_t dir_sectors(const size_t *lens, size_t n)
{
	uint32_t sectors = 1;
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (used + lens[i] > SECTOR) {
			sectors++;
			used = 0;
		}
		used += lens[i];
	}
	return sectors;
}

static int layout_plan(struct iso_layout *l, const struct seed_file *files, size_t n)
{
	size_t lens[SEED_FILES_MAX + 2];
	uint64_t sector;

	if (n > SEED_FILES_MAX)
		return -EINVAL;
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		if (!files[i].name || !seed_name_valid(files[i].name) ||
		    (files[i].len > 0 && !files[i].data))
			return -EINVAL;
		l->files[i].src = &files[i];
		l->files[i].iso_len = iso_name(files[i].name, l->files[i].iso);
		for (size_t j = 0; j < i; j++) /* "a-b" and "a_b" would share an ISO name */
			if (streq(l->files[i].iso, l->files[j].iso))
				return -EINVAL;
		l->primary_order[i] = l->joliet_order[i] = i;
	}
	qsort_r(l->primary_order, n, sizeof(size_t), primary_cmp, l);
	qsort_r(l->joliet_order, n, sizeof(size_t), joliet_cmp, l);

	lens[0] = dir_record_len(1, SP_LEN + PX_LEN + ER_LEN);
	lens[1] = dir_record_len(1, PX_LEN);
	for (size_t i = 0; i < n; i++)
		lens[i + 2] = dir_record_len(l->files[l->primary_order[i]].iso_len,
					     primary_file_su_len(&l->files[l->primary_order[i]]));
	l->primary_root = ROOT_DIR_SECTOR;
	l->primary_root_sectors = dir_sectors(lens, n + 2);

	lens[0] = lens[1] = dir_record_len(1, 0);
	for (size_t i = 0; i < n; i++)
		lens[i + 2] = dir_record_len(joliet_id_len(&l->files[l->joliet_order[i]]), 0);
	l->joliet_root = l->primary_root + l->primary_root_sectors;
	l->joliet_root_sectors = dir_sectors(lens, n + 2);

	l->data_start = l->joliet_root + l->joliet_root_sectors;
	sector = l->data_start;
	for (size_t i = 0; i < n; i++) {
		uint64_t len = files[i].len;

		if (len > UINT32_MAX)
			return -EFBIG;
		/* an empty file has no extent; 0 is what readers expect then */
		l->files[i].extent = len ? (uint32_t)sector : 0;
		sector += (len + SECTOR - 1) / SECTOR;
		if (sector * SECTOR > SEED_ISO_MAX_BYTES)
			return -EFBIG;
	}
	l->total_sectors = (uint32_t)sector;
	return 0;
}

/* 9.1.5: seven bytes, years since 1900 first; all our dates are the epoch. */
static void put_record_date(uint8_t *p)
{
	p[0] = 70;
	p[1] = 1;
	p[2] = 1;
}

/* 8.4.26.1: the 17-byte text date. */
static void put_volume_date(uint8_t *p)
{
	memcpy(p, "1970010100000000", 16);
	p[16] = 0;
}

/* Write one directory record at p; returns its length. */
static size_t put_dir_record(uint8_t *p, uint32_t extent, uint32_t len, uint8_t flags,
			     const uint8_t *id, size_t id_len, const uint8_t *su, size_t su_len)
{
	size_t rec_len = dir_record_len(id_len, su_len);

	memset(p, 0, rec_len);
	p[0] = (uint8_t)rec_len;
	put_both32(p + 2, extent);
	put_both32(p + 10, len);
	put_record_date(p + 18);
	p[25] = flags;
	put_both16(p + 28, 1); /* volume sequence number */
	p[32] = (uint8_t)id_len;
	memcpy(p + 33, id, id_len);
	if (su_len)
		memcpy(p + 33 + id_len + !(id_len & 1), su, su_len);
	return rec_len;
}

/* Rock Ridge PX: POSIX mode, links, uid and gid (RRIP 1.10 form). */
static size_t put_px(uint8_t *p, uint32_t mode, uint32_t nlink)
{
	memset(p, 0, PX_LEN);
	p[0] = 'P';
	p[1] = 'X';
	p[2] = PX_LEN;
	p[3] = 1;
	put_both32(p + 4, mode);
	put_both32(p + 12, nlink);
	return PX_LEN; /* uid and gid 0 */
}

static size_t put_sp_er(uint8_t *p)
{
	static const char *const er_parts[] = { RRIP_ID, RRIP_DESCRIPTOR, RRIP_SOURCE };
	size_t off = 8;

	/* SP: SUSP is in use, no bytes skipped */
	memcpy(p, (const uint8_t[]){ 'S', 'P', SP_LEN, 1, 0xbe, 0xef, 0 }, SP_LEN);
	p += SP_LEN;
	p[0] = 'E';
	p[1] = 'R';
	p[2] = (uint8_t)ER_LEN;
	p[3] = 1;
	for (size_t i = 0; i < ARRAY_SIZE(er_parts); i++) {
		p[4 + i] = (uint8_t)strlen(er_parts[i]);
		memcpy(p + off, er_parts[i], strlen(er_parts[i]));
		off += strlen(er_parts[i]);
	}
	p[7] = 1; /* extension version */
	return SP_LEN + ER_LEN;
}

/* Append a record to a directory being written, moving to the next sector
 * when it would cross a boundary. */
static uint8_t *dir_next(uint8_t *dir, size_t *used, size_t rec_len)
{
	if (*used % SECTOR + rec_len > SECTOR)
		*used += SECTOR - *used % SECTOR;
	return dir + *used;
}

static void put_primary_root(uint8_t *img, const struct iso_layout *l)
{
	uint8_t *dir = img + (size_t)l->primary_root * SECTOR;
	uint32_t dir_len = l->primary_root_sectors * SECTOR;
	uint8_t su[255];
	size_t used = 0, su_len, rec;

	/* ".": the root's first record carries SP and ER, and only there */
	su_len = put_sp_er(su);
	su_len += put_px(su + su_len, 040555, 2);
	used += put_dir_record(dir, l->primary_root, dir_len, ISO_FLAG_DIRECTORY,
			       (const uint8_t[]){ 0 }, 1, su, su_len);
	su_len = put_px(su, 040555, 2);
	used += put_dir_record(dir + used, l->primary_root, dir_len, ISO_FLAG_DIRECTORY,
			       (const uint8_t[]){ 1 }, 1, su, su_len);
	for (size_t i = 0; i < l->n; i++) {
		const struct iso_file *f = &l->files[l->primary_order[i]];
		size_t name_len = strlen(f->src->name);
		uint8_t *nm;

		su_len = put_px(su, 0100444, 1);
		nm = su + su_len;
		nm[0] = 'N';
		nm[1] = 'M';
		nm[2] = (uint8_t)(5 + name_len);
		nm[3] = 1;
		nm[4] = 0; /* flags: the whole name, in this entry */
		memcpy(nm + 5, f->src->name, name_len);
		su_len += 5 + name_len;
		rec = dir_record_len(f->iso_len, su_len);
		used += put_dir_record(dir_next(dir, &used, rec), f->extent,
				       (uint32_t)f->src->len, 0, (const uint8_t *)f->iso,
				       f->iso_len, su, su_len);
	}
}

static void put_joliet_root(uint8_t *img, const struct iso_layout *l)
{
	uint8_t *dir = img + (size_t)l->joliet_root * SECTOR;
	uint32_t dir_len = l->joliet_root_sectors * SECTOR;
	size_t used = 0, rec;

	used += put_dir_record(dir, l->joliet_root, dir_len, ISO_FLAG_DIRECTORY,
			       (const uint8_t[]){ 0 }, 1, NULL, 0);
	used += put_dir_record(dir + used, l->joliet_root, dir_len, ISO_FLAG_DIRECTORY,
			       (const uint8_t[]){ 1 }, 1, NULL, 0);
	for (size_t i = 0; i < l->n; i++) {
		const struct iso_file *f = &l->files[l->joliet_order[i]];
		uint8_t id[2 * SEED_NAME_MAX];
		size_t id_len = joliet_id_len(f);

		for (size_t c = 0; f->src->name[c]; c++)
			put16(id + 2 * c, (uint8_t)f->src->name[c]);
		rec = dir_record_len(id_len, 0);
		used += put_dir_record(dir_next(dir, &used, rec), f->extent,
				       (uint32_t)f->src->len, 0, id, id_len, NULL, 0);
	}
}

/* A path table with the root as its only record; big endian for the M
 * table. */
static void put_path_table(uint8_t *p, uint32_t root, bool big_endian)
{
	p[0] = 1; /* identifier length */
	if (big_endian) {
		put32(p + 2, root);
		put16(p + 6, 1);
	} else {
		put_le32(p + 2, root);
		put_le16(p + 6, 1);
	}
}

/* Fill a text field of a descriptor: a-characters padded with blanks, or
 * for Joliet UCS-2 big endian padded with UCS-2 blanks. */
static void put_text(uint8_t *p, size_t field, const char *s, bool ucs2)
{
	size_t len = strlen(s);

	if (!ucs2) {
		memset(p, ' ', field);
		memcpy(p, s, MIN(len, field));
		return;
	}
	memset(p, 0, field);
	for (size_t i = 0; i + 1 < field; i += 2)
		put16(p + i, i / 2 < len ? (uint8_t)s[i / 2] : ' ');
}

/* The primary (type 1) or Joliet (type 2) volume descriptor. */
static void put_volume_descriptor(uint8_t *p, const struct iso_layout *l, const char *label,
				  bool joliet)
{
	uint32_t root = joliet ? l->joliet_root : l->primary_root;
	uint32_t root_len = (joliet ? l->joliet_root_sectors : l->primary_root_sectors) * SECTOR;
	uint32_t path_table = PATH_TABLE_SECTOR + (joliet ? 2 : 0);

	p[0] = joliet ? 2 : 1;
	memcpy(p + 1, "CD001", 5);
	p[6] = 1;
	put_text(p + 8, 32, "LINUX", joliet);
	put_text(p + 40, 32, label, joliet);
	put_both32(p + 80, l->total_sectors);
	if (joliet)
		memcpy(p + 88, "%/E", 3); /* UCS-2 level 3 */
	put_both16(p + 120, 1);           /* volume set size */
	put_both16(p + 124, 1);           /* volume sequence number */
	put_both16(p + 128, SECTOR);
	put_both32(p + 132, PATH_TABLE_SIZE);
	put_le32(p + 140, path_table);
	put32(p + 148, path_table + 1);
	put_dir_record(p + 156, root, root_len, ISO_FLAG_DIRECTORY, (const uint8_t[]){ 0 }, 1,
		       NULL, 0);
	put_text(p + 190, 128, "", joliet); /* volume set */
	put_text(p + 318, 128, "", joliet); /* publisher */
	put_text(p + 446, 128, "", joliet); /* data preparer */
	put_text(p + 574, 128, "MVIRT", joliet);
	put_text(p + 702, 37, "", joliet); /* copyright, abstract, bibliography files */
	put_text(p + 739, 37, "", joliet);
	put_text(p + 776, 37, "", joliet);
	put_volume_date(p + 813); /* creation */
	put_volume_date(p + 830); /* modification */
	memset(p + 847, '0', 16); /* expiration and effective: not specified */
	memset(p + 864, '0', 16);
	p[881] = 1; /* file structure version */
}

static bool label_valid(const char *label)
{
	size_t len = label ? strlen(label) : 0;

	if (len == 0 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (label[i] < 0x20 || label[i] > 0x7e)
			return false;
	return true;
}

/* Write the image into fd (empty, at offset 0). */
static int iso_write_fd(int fd, const struct iso_layout *l, const char *label)
{
	size_t meta_len = (size_t)l->data_start * SECTOR;
	_cleanup_free_ uint8_t *meta = xcalloc(1, meta_len);
	uint8_t *term = meta + (size_t)TERMINATOR_SECTOR * SECTOR;
	int r;

	put_volume_descriptor(meta + (size_t)PVD_SECTOR * SECTOR, l, label, false);
	put_volume_descriptor(meta + (size_t)JOLIET_SECTOR * SECTOR, l, label, true);
	term[0] = 255;
	memcpy(term + 1, "CD001", 5);
	term[6] = 1;
	put_path_table(meta + (size_t)PATH_TABLE_SECTOR * SECTOR, l->primary_root, false);
	put_path_table(meta + (size_t)(PATH_TABLE_SECTOR + 1) * SECTOR, l->primary_root, true);
	put_path_table(meta + (size_t)(PATH_TABLE_SECTOR + 2) * SECTOR, l->joliet_root, false);
	put_path_table(meta + (size_t)(PATH_TABLE_SECTOR + 3) * SECTOR, l->joliet_root, true);
	put_primary_root(meta, l);
	put_joliet_root(meta, l);

	/* the tails of the last sectors read as zeros after ftruncate */
	if (ftruncate(fd, (off_t)l->total_sectors * SECTOR) < 0)
		return -errno;
	r = pwrite_all(fd, meta, meta_len, 0);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		const struct iso_file *f = &l->files[i];

		if (f->src->len == 0)
			continue;
		r = pwrite_all(fd, f->src->data, f->src->len, (off_t)f->extent * SECTOR);
		if (r < 0)
			return r;
	}
	return 0;
}

/* fsync the directory holding path, so that a rename into it is durable. */
static int fsync_parent(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	_cleanup_close_ int fd = -1;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int seed_iso_write(const char *path, const struct seed_file *files, size_t n,
		   const char *volume_label)
{
	_cleanup_free_ struct iso_layout *l = xcalloc(1, sizeof(*l));
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!path || !label_valid(volume_label) || (n > 0 && !files))
		return -EINVAL;
	r = layout_plan(l, files, n);
	if (r < 0)
		return r;

	tmp = xasprintf("%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = iso_write_fd(fd, l, volume_label);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_parent(path);
}

/* ---- the YAML texts */

/* Append s to a growing text as a YAML double-quoted scalar: every byte
 * outside printable ASCII, '"' and '\' escaped, so no input can end the
 * scalar or start a new key. */
static void yaml_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static void sanitize_into(const char *s, char out[SEED_HOSTNAME_MAX + 1])
{
	size_t len = 0;
	bool dash = false;

	for (; s && *s && len < SEED_HOSTNAME_MAX; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			/* a run of other characters is one '-', none at either end */
			if (dash && len > 0) {
				if (len + 2 > SEED_HOSTNAME_MAX)
					break;
				out[len++] = '-';
			}
			dash = false;
			out[len++] = c;
		} else
			dash = true;
	}
	out[len] = 0;
}

const char *seed_hostname_sanitize(const char *vm_name, const char *fallback_id,
				   char out[SEED_HOSTNAME_MAX + 1])
{
	sanitize_into(vm_name, out);
	if (!out[0])
		sanitize_into(fallback_id, out);
	if (!out[0])
		strcpy(out, "vm");
	return out;
}

int seed_meta_data(const char *instance_id, const char *hostname, char **out)
{
	char host[SEED_HOSTNAME_MAX + 1];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!instance_id || !instance_id[0])
		return -EINVAL;
	seed_hostname_sanitize(hostname, instance_id, host);
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	fputs("instance-id: ", f);
	yaml_quoted(f, instance_id);
	fputs("\nlocal-hostname: ", f);
	yaml_quoted(f, host);
	fputc('\n', f);
	if (fclose(f) != 0)
		return -ENOMEM;
	*out = TAKE_PTR(text);
	return 0;
}

/* "hh:hh:hh:hh:hh:hh" lowered into out, or -EINVAL. */
static int mac_normalize(const char *mac, char out[18])
{
	if (!mac || strlen(mac) != 17)
		return -EINVAL;
	for (size_t i = 0; i < 17; i++) {
		char c = mac[i];

		if (i % 3 == 2) {
			if (c != ':')
				return -EINVAL;
		} else if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
		out[i] = c;
	}
	out[17] = 0;
	return 0;
}

int seed_network_config(const struct seed_nic *nics, size_t n_nics, char **out)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; i < n_nics; i++) {
		char mac[18];

		if (mac_normalize(nics[i].mac, mac) < 0)
			return -EINVAL;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	fputs("version: 2\n", f);
	fputs(n_nics ? "ethernets:\n" : "ethernets: {}\n", f);
	for (size_t i = 0; i < n_nics; i++) {
		char mac[18];

		mac_normalize(nics[i].mac, mac);
		/* ids only name the entries; the guest's names may differ */
		fprintf(f, "  nic%zu:\n    match:\n      macaddress: ", i);
		yaml_quoted(f, mac);
		fputs("\n    dhcp4: true\n    dhcp6: true\n", f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*out = TAKE_PTR(text);
	return 0;
}

int seed_build(const char *path, const char *instance_id, const char *hostname,
	       const char *user_data, size_t user_data_len, const struct seed_nic *nics,
	       size_t n_nics)
{
	_cleanup_free_ char *meta = NULL, *network = NULL;
	int r;

	if (!user_data && user_data_len > 0)
		return -EINVAL;
	r = seed_meta_data(instance_id, hostname, &meta);
	if (r < 0)
		return r;
	r = seed_network_config(nics, n_nics, &network);
	if (r < 0)
		return r;

	const struct seed_file files[] = {
		{ "meta-data", meta, strlen(meta) },
		{ "user-data", user_data, user_data_len },
		{ "network-config", network, strlen(network) },
	};
	return seed_iso_write(path, files, ARRAY_SIZE(files), "cidata");
}

/* ---- the reader */

static int list_fail(const char **err, const char *why)
{
	if (err)
		*err = why;
	return -EBADMSG;
}

/* Printable ASCII of n bytes (NUL-terminated into out, which has room),
 * anything else '?'. */
static void ascii_copy(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = 0;
}

static void strip_version(char *name)
{
	size_t len = strlen(name);

	if (len >= 2 && name[len - 2] == ';' && name[len - 1] == '1')
		name[len -= 2] = 0;
	if (len >= 1 && name[len - 1] == '.')
		name[len - 1] = 0;
}

/* The Rock Ridge NM name among a record's system use entries, if any;
 * NM entries flagged CONTINUE are joined. True when a name was found.
 * *sp_found tells whether an SP entry is there (the root's "." record says
 * so for the volume). Continuation areas (CE) are not followed: we never
 * write them, and the NM of a short name does not need one. */
static bool su_find_name(const uint8_t *su, size_t len, char *out, size_t out_size,
			 bool *sp_found)
{
	size_t name_len = 0;
	bool found = false, sp = false;

	while (len >= 4) {
		size_t entry = su[2];

		if (entry < 4 || entry > len)
			break;
		if (su[0] == 'S' && su[1] == 'P' && entry >= 7 && su[4] == 0xbe && su[5] == 0xef)
			sp = true;
		else if (su[0] == 'N' && su[1] == 'M' && entry >= 5 && !(su[4] & 0x06)) {
			size_t part = entry - 5;

			/* CURRENT and PARENT flags name "." and "..": not file names */
			if (name_len + part >= out_size)
				part = out_size - 1 - name_len;
			ascii_copy(out + name_len, su + 5, part);
			name_len += part;
			found = true;
		}
		su += entry;
		len -= entry;
	}
	if (sp_found)
		*sp_found = sp;
	return found && name_len > 0;
}

static void joliet_name(char *out, size_t out_size, const uint8_t *id, size_t id_len)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < id_len && n + 1 < out_size; i += 2) {
		uint16_t c = get16(id + i);

		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = 0;
	strip_version(out);
}

/* The root directory's extent out of a volume descriptor. */
static int root_extent(const uint8_t *img, size_t size, const uint8_t *vd, uint32_t *extent,
		       uint32_t *len, const char **err)
{
	const uint8_t *root = vd + 156;

	if (root[0] < 34)
		return list_fail(err, "root directory record too short");
	if (!get_both32(root + 2, extent) || !get_both32(root + 10, len))
		return list_fail(err, "root directory record: byte orders disagree");
	if (!(root[25] & ISO_FLAG_DIRECTORY))
		return list_fail(err, "root directory record is not a directory");
	if (*len == 0 || *len > SEED_FILES_MAX * SECTOR ||
	    (uint64_t)*extent * SECTOR + *len > size)
		return list_fail(err, "root directory outside the image or too large");
	return 0;
}

/* Walk the records of a root directory extent into out. */
static int list_dir(const uint8_t *img, size_t size, const uint8_t *dir, uint32_t dir_len,
		    bool joliet, struct seed_iso_listing *out, const char **err)
{
	size_t pos = 0, index = 0;

	while (pos < dir_len) {
		const uint8_t *rec = dir + pos;
		size_t rec_len = rec[0], id_len, su_off;
		uint32_t extent, len;

		if (rec_len == 0) { /* the rest of this sector is padding */
			pos += SECTOR - pos % SECTOR;
			continue;
		}
		if (rec_len < 34 || pos % SECTOR + rec_len > SECTOR || pos + rec_len > dir_len)
			return list_fail(err, "directory record crosses a sector or is too short");
		id_len = rec[32];
		if (id_len == 0 || 33 + id_len > rec_len)
			return list_fail(err, "directory record identifier out of bounds");
		if (!get_both32(rec + 2, &extent) || !get_both32(rec + 10, &len))
			return list_fail(err, "directory record: byte orders disagree");
		su_off = 33 + id_len + !(id_len & 1);
		if (index == 0 && !joliet && su_off < rec_len)
			su_find_name(rec + su_off, rec_len - su_off, (char[2]){ 0 }, 2,
				     &out->rock_ridge);
		if (index++ < 2 || (rec[25] & ISO_FLAG_DIRECTORY)) {
			/* ".", ".." and subdirectories are not files of the seed */
			pos += rec_len;
			continue;
		}
		if (out->n == SEED_FILES_MAX)
			return -E2BIG;
		struct seed_iso_entry *e = &out->files[out->n];

		if (len > 0 && ((uint64_t)extent * SECTOR + len > size))
			return list_fail(err, "file data outside the image");
		e->offset = (uint64_t)extent * SECTOR;
		e->size = len;
		if (joliet)
			joliet_name(e->name, sizeof(e->name), rec + 33, id_len);
		else if (!(su_off < rec_len && out->rock_ridge &&
			   su_find_name(rec + su_off, rec_len - su_off, e->name, sizeof(e->name),
					NULL))) {
			ascii_copy(e->name, rec + 33, MIN(id_len, sizeof(e->name) - 1));
			strip_version(e->name);
		}
		out->n++;
		pos += rec_len;
	}
	return 0;
}

int seed_iso_list(const uint8_t *img, size_t size, bool joliet, struct seed_iso_listing *out,
		  const char **err)
{
	const uint8_t *pvd = NULL, *vd = NULL;
	uint32_t extent, len, sectors;
	size_t end;
	int r;

	*out = (struct seed_iso_listing){ 0 };
	if (size > SEED_ISO_MAX_BYTES)
		return list_fail(err, "image too large");
	/* the descriptor set: from sector 16 up to the terminator, bounded */
	for (size_t s = PVD_SECTOR; s < PVD_SECTOR + 16; s++) {
		const uint8_t *d = img + s * SECTOR;

		if ((s + 1) * SECTOR > size)
			return list_fail(err, "volume descriptor set runs past the image");
		if (memcmp(d + 1, "CD001", 5) != 0 || d[6] != 1)
			return list_fail(err, "not an ISO 9660 volume descriptor");
		if (d[0] == 255)
			break;
		if (d[0] == 1 && !pvd)
			pvd = d;
		else if (d[0] == 2 && !vd && d[88] == '%' && d[89] == '/' &&
			 (d[90] == '@' || d[90] == 'C' || d[90] == 'E'))
			vd = d;
	}
	if (!pvd)
		return list_fail(err, "no primary volume descriptor");
	if (!joliet)
		vd = pvd;
	else if (!vd)
		return -ENOENT;

	if (!get_both32(pvd + 80, &sectors) || (uint64_t)sectors * SECTOR > size)
		return list_fail(err, "volume space size beyond the image");
	if (pvd[128] != 0 || pvd[129] != SECTOR >> 8)
		return list_fail(err, "logical block size is not 2048");
	out->volume_sectors = sectors;
	ascii_copy(out->label, pvd + 40, 32);
	for (end = 32; end > 0 && out->label[end - 1] == ' '; end--)
		;
	out->label[end] = 0;

	r = root_extent(img, size, vd, &extent, &len, err);
	if (r < 0)
		return r;
	return list_dir(img, size, img + (size_t)extent * SECTOR, len, joliet, out, err);
}
