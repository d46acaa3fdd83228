/* SPDX-License-Identifier: MIT */
/*
 * newc cpio archive builder: entry table, implied directories, sorting,
 * conflict checks and the byte layout (see cpio.h).
 */
#include "cpio.h"

#include <limits.h>
#include <sys/stat.h>

void cpio_newc_header_format(char out[CPIO_NEWC_HEADER_SIZE], const struct cpio_newc_header *h)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint32_t fields[] = {
		h->ino,        h->mode,       h->uid,        h->gid,       h->nlink,
		h->mtime,      h->filesize,   h->dev_major,  h->dev_minor, h->rdev_major,
		h->rdev_minor, h->namesize,   h->check,
	};
	char *p = out;

	memcpy(p, CPIO_NEWC_MAGIC, 6);
	p += 6;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		for (int shift = 28; shift >= 0; shift -= 4)
			*p++ = hex[(fields[i] >> shift) & 0xf];
}

int cpio_name_from_path(const char *path, char **ret)
{
	const char *name, *c;
	size_t len;

	if (path[0] != '/')
		return -EINVAL;
	name = path + 1;
	len = strlen(name);
	if (len == 0)
		return -EINVAL;
	/* the kernel refuses names whose size with the NUL exceeds PATH_MAX */
	if (len + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	for (c = name;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		if (!slash)
			break;
		c = slash + 1;
	}
	*ret = xstrdup(name);
	return 0;
}

/* Sort key of one byte: the end of the name first, then '/', then the rest. */
static unsigned name_byte_key(unsigned char c)
{
	if (c == '\0')
		return 0;
	if (c == '/')
		return 1;
	return (unsigned)c + 1;
}

int cpio_name_compare(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned ka = name_byte_key((unsigned char)*a), kb = name_byte_key((unsigned char)*b);

		if (ka != kb)
			return ka < kb ? -1 : 1;
		if (ka == 0)
			return 0;
	}
}

static void entry_free(struct cpio_entry *e)
{
	free(e->name);
	free(e->data);
	*e = (struct cpio_entry){};
}

static bool mode_is_dir(uint32_t mode)
{
	return (mode & S_IFMT) == S_IFDIR;
}

int cpio_archive_add(struct cpio_archive *a, struct cpio_entry *e)
{
	uint32_t type = e->mode & S_IFMT;
	bool device = type == S_IFCHR || type == S_IFBLK;

	if (type != S_IFDIR && type != S_IFREG && type != S_IFLNK && !device)
		goto invalid;
	if ((e->mode & ~(uint32_t)S_IFMT) > 07777)
		goto invalid;
	if (device ? e->rdev_major > CPIO_MAJOR_MAX || e->rdev_minor > CPIO_MINOR_MAX
		   : e->rdev_major || e->rdev_minor)
		goto invalid;
	if ((type == S_IFDIR || device) && e->size)
		goto invalid;
	if (e->size > UINT32_MAX) {
		entry_free(e);
		return -EFBIG;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->entries = xrealloc(a->entries, a->cap * sizeof(*a->entries));
	}
	a->entries[a->n++] = *e;
	*e = (struct cpio_entry){};
	return 0;
invalid:
	entry_free(e);
	return -EINVAL;
}

/* Add a 0755 directory for every proper prefix of every name. Duplicates are
 * left for the merge after sorting, which is simpler than a lookup here. */
static void add_implied_dirs(struct cpio_archive *a)
{
	size_t n = a->n;

	for (size_t i = 0; i < n; i++) {
		/* a->entries moves when the table grows: index, don't hold pointers */
		for (size_t off = 0;; off++) {
			const char *name = a->entries[i].name;
			const char *slash = strchr(name + off, '/');
			struct cpio_entry dir;

			if (!slash)
				break;
			off = (size_t)(slash - name);
			dir = (struct cpio_entry){
				.name = xstrndup(name, off),
				.mode = S_IFDIR | 0755,
				.implied = true,
			};
			(void)cpio_archive_add(a, &dir); /* valid by construction */
		}
	}
}

static int entry_compare(const void *x, const void *y)
{
	const struct cpio_entry *a = x, *b = y;

	return cpio_name_compare(a->name, b->name);
}

static bool entry_same(const struct cpio_entry *a, const struct cpio_entry *b)
{
	return a->mode == b->mode && a->rdev_major == b->rdev_major &&
	       a->rdev_minor == b->rdev_minor && a->size == b->size &&
	       (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

/* Merge two entries of the same name into *keep; 0 or -EEXIST. */
static int entry_merge(struct cpio_entry *keep, struct cpio_entry *other)
{
	if (other->implied && mode_is_dir(keep->mode)) {
		entry_free(other);
		return 0;
	}
	if (keep->implied && mode_is_dir(other->mode)) {
		entry_free(keep);
		*keep = *other;
		*other = (struct cpio_entry){};
		return 0;
	}
	if (!entry_same(keep, other))
		return -EEXIST;
	entry_free(other);
	return 0;
}

int cpio_archive_finish(struct cpio_archive *a, const char **ret_conflict)
{
	size_t out = 0;

	add_implied_dirs(a);
	if (a->n)
		qsort(a->entries, a->n, sizeof(*a->entries), entry_compare);
	for (size_t i = 0; i < a->n; i++) {
		if (out > 0 && streq(a->entries[out - 1].name, a->entries[i].name)) {
			if (entry_merge(&a->entries[out - 1], &a->entries[i]) < 0) {
				/* keep every entry owned once, for cpio_archive_free() */
				size_t rest = a->n - i;

				memmove(&a->entries[out], &a->entries[i], rest * sizeof(*a->entries));
				a->n = out + rest;
				if (ret_conflict)
					*ret_conflict = a->entries[out - 1].name;
				return -EEXIST;
			}
			continue;
		}
		a->entries[out++] = a->entries[i];
	}
	a->n = out;
	return 0;
}

/* Zero bytes up to the next multiple of align, counted from the archive's
 * start (where the kernel starts reading), not from the buffer's. */
static void append_padding(struct buf *out, size_t start, size_t align)
{
	static const unsigned char zeros[512];
	size_t pad = (align - (out->len - start) % align) % align;

	buf_append(out, zeros, pad);
}

static void append_record(struct buf *out, size_t start, const struct cpio_newc_header *h,
			  const char *name, const void *data)
{
	char header[CPIO_NEWC_HEADER_SIZE];

	cpio_newc_header_format(header, h);
	buf_append(out, header, sizeof(header));
	buf_append(out, name, h->namesize); /* with its NUL */
	append_padding(out, start, 4);
	if (h->filesize) {
		buf_append(out, data, h->filesize);
		append_padding(out, start, 4);
	}
}

void cpio_archive_serialize(const struct cpio_archive *a, uint32_t mtime, struct buf *out)
{
	struct cpio_newc_header h;
	size_t start = out->len;

	for (size_t i = 0; i < a->n; i++) {
		const struct cpio_entry *e = &a->entries[i];

		h = (struct cpio_newc_header){
			.ino = (uint32_t)(i + 1),
			.mode = e->mode,
			.nlink = mode_is_dir(e->mode) ? 2 : 1,
			.mtime = mtime,
			.filesize = (uint32_t)e->size,
			.rdev_major = e->rdev_major,
			.rdev_minor = e->rdev_minor,
			.namesize = (uint32_t)strlen(e->name) + 1,
		};
		append_record(out, start, &h, e->name, e->data);
	}
	h = (struct cpio_newc_header){
		.nlink = 1,
		.namesize = sizeof(CPIO_TRAILER_NAME),
	};
	append_record(out, start, &h, CPIO_TRAILER_NAME, NULL);
	append_padding(out, start, 512);
}

void cpio_archive_free(struct cpio_archive *a)
{
	for (size_t i = 0; i < a->n; i++)
		entry_free(&a->entries[i]);
	free(a->entries);
	*a = (struct cpio_archive){};
}
