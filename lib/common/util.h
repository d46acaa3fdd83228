/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every part of mvirt uses: cleanup attributes for automatic
 * release of memory, file descriptors and stdio streams, and a few macros.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNUSED __attribute__((unused))
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_(fn) __attribute__((cleanup(fn)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership out of a cleanup variable: returns the value, leaves NULL. */
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _tp_ = (p);  \
		(p) = NULL;                \
		_tp_;                      \
	})
#define TAKE_FD(fd)                \
	({                         \
		int _tf_ = (fd);   \
		(fd) = -1;         \
		_tf_;              \
	})

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Allocation that aborts on failure: out-of-memory is not a recoverable error
 * for a small daemon, and checking every strdup obscures the real error paths. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_FMT(1, 2);
/* A heap copy of s, of "" for NULL: protobuf-c messages released with
 * free_unpacked need every string field to be their own allocation. */
char *xstrdup_or_empty(const char *s);

/* Growable byte buffer with a read cursor, used for socket I/O. */
struct buf {
	unsigned char *data;
	size_t len;  /* bytes stored, from data[0] */
	size_t off;  /* bytes already consumed */
	size_t cap;
};

void buf_append(struct buf *b, const void *p, size_t n);
unsigned char *buf_reserve(struct buf *b, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
static inline size_t buf_avail(const struct buf *b)
{
	return b->len - b->off;
}
static inline unsigned char *buf_head(const struct buf *b)
{
	return b->data + b->off;
}

/* Parse an unsigned decimal integer in [0, max]; the whole string must be
 * consumed. Returns 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, unsigned long long max, unsigned long long *out);

/* true when [s, s+n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *s, size_t n);

/* true when all n bytes are zero (thin provisioning: such blocks are not written). */
bool mem_is_zero(const void *p, size_t n);

/* pwrite all n bytes at offset (retrying short writes and EINTR): 0 or -errno. */
int pwrite_all(int fd, const void *p, size_t n, off_t offset);
/* The same, leaving out all-zero blocks of block bytes (thin provisioning:
 * the target already reads as zeros); runs of non-zero blocks go out as one
 * write each. 0 or -errno. */
int pwrite_nonzero(int fd, const void *p, size_t n, off_t offset, size_t block);
