/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <limits.h>
#include <stdarg.h>

static void oom(void)
{
	fputs("<2>out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrdup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

char *xstrndup(const char *s, size_t n)
{
	/* not strndup(): s need not hold a NUL within n bytes (protobuf fields),
	 * and ASan's strict_string_checks reads strndup's source as a C string */
	const char *end = n ? memchr(s, '\0', n) : NULL;
	size_t len = end ? (size_t)(end - s) : n;
	char *p = xmalloc(len + 1);
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}

/* Make room for n more bytes at the end; compacts consumed space first. */
unsigned char *buf_reserve(struct buf *b, size_t n)
{
	if (b->off > 0 && b->off == b->len) {
		b->off = b->len = 0;
	} else if (b->off > 0 && b->off >= b->cap / 2) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->len += n;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

bool mem_is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	/* zero when the first 16 bytes are and every byte equals the one 16
	 * before it: memcmp is much faster than a byte loop */
	for (size_t i = 0; i < MIN(n, 16U); i++)
		if (b[i])
			return false;
	return n <= 16 || memcmp(b, b + 16, n - 16) == 0;
}

int pwrite_nonzero(int fd, const void *p, size_t n, off_t offset, size_t block)
{
	const unsigned char *b = p;
	size_t i = 0;

	while (i < n) {
		size_t start, len;

		/* skip zero blocks, then gather the non-zero ones into one write:
		 * few large writes matter on FUSE, where each is a round trip */
		while (i < n && mem_is_zero(b + i, MIN(block, n - i)))
			i += MIN(block, n - i);
		start = i;
		while (i < n && !mem_is_zero(b + i, len = MIN(block, n - i)))
			i += len;
		if (i > start) {
			int r = pwrite_all(fd, b + start, i - start, offset + (off_t)start);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int pwrite_all(int fd, const void *p, size_t n, off_t offset)
{
	const unsigned char *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, offset);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
		offset += w;
	}
	return 0;
}
