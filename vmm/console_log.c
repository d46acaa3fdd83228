/* SPDX-License-Identifier: MIT */
/*
 * Layout: a 32-byte header ("MVCONLOG", version 1, capacity, total, all
 * little-endian 64-bit after the magic) and capacity bytes of data; byte k
 * of the run lives at offset 32 + k % capacity.
 */
#include "console_log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define MAGIC "MVCONLOG"
#define VERSION 1

struct console_log {
	int fd;
	uint64_t capacity;
	uint64_t total;
};

int console_log_parse_header(const uint8_t *h, size_t n, uint64_t *capacity, uint64_t *total)
{
	uint64_t v, cap, tot;

	if (n < CONSOLE_LOG_HEADER || memcmp(h, MAGIC, 8) != 0)
		return -EBADMSG;
	memcpy(&v, h + 8, 8);
	memcpy(&cap, h + 16, 8);
	memcpy(&tot, h + 24, 8);
	if (le64toh(v) != VERSION)
		return -EBADMSG;
	cap = le64toh(cap);
	if (cap < CONSOLE_LOG_MIN || cap > (UINT64_C(1) << 40))
		return -EBADMSG;
	*capacity = cap;
	*total = le64toh(tot);
	return 0;
}

static int write_header(struct console_log *l)
{
	uint8_t h[CONSOLE_LOG_HEADER];
	uint64_t v = htole64(VERSION), cap = htole64(l->capacity), tot = htole64(l->total);

	memcpy(h, MAGIC, 8);
	memcpy(h + 8, &v, 8);
	memcpy(h + 16, &cap, 8);
	memcpy(h + 24, &tot, 8);
	return pwrite_all(l->fd, h, sizeof(h), 0);
}

int console_log_reset(struct console_log *l)
{
	l->total = 0;
	if (ftruncate(l->fd, CONSOLE_LOG_HEADER) < 0)
		return -errno;
	return write_header(l);
}

int console_log_open(const char *path, uint64_t capacity, struct console_log **out)
{
	struct console_log *l;
	uint8_t h[CONSOLE_LOG_HEADER];
	uint64_t cap, tot;
	ssize_t n;
	int r;

	if (capacity < CONSOLE_LOG_MIN)
		capacity = CONSOLE_LOG_MIN;
	l = xcalloc(1, sizeof(*l));
	l->capacity = capacity;
	l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0) {
		r = -errno;
		free(l);
		return r;
	}
	n = pread(l->fd, h, sizeof(h), 0);
	if (n == (ssize_t)sizeof(h) && console_log_parse_header(h, sizeof(h), &cap, &tot) == 0 &&
	    cap == capacity) {
		l->total = tot;
		r = 0;
	} else {
		r = console_log_reset(l);
	}
	if (r < 0) {
		console_log_close(l);
		return r;
	}
	*out = l;
	return 0;
}

void console_log_close(struct console_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

int console_log_append(struct console_log *l, const void *data, size_t n)
{
	const uint8_t *p = data;
	int r;

	/* only the last capacity bytes of a huge write can survive */
	if (n > l->capacity) {
		l->total += n - l->capacity;
		p += n - l->capacity;
		n = l->capacity;
	}
	while (n > 0) {
		uint64_t at = l->total % l->capacity;
		size_t k = (size_t)MIN((uint64_t)n, l->capacity - at);
		r = pwrite_all(l->fd, p, k, (off_t)(CONSOLE_LOG_HEADER + at));
		if (r < 0)
			return r;
		l->total += k;
		p += k;
		n -= k;
	}
	return write_header(l);
}

uint64_t console_log_total(const struct console_log *l)
{
	return l->total;
}

int console_log_tail(struct console_log *l, uint64_t max, uint8_t **data, size_t *n)
{
	uint64_t retained = MIN(l->total, l->capacity), want, start;
	uint8_t *buf;
	size_t done = 0;

	want = max == 0 ? retained : MIN(max, retained);
	buf = xmalloc(want ?: 1);
	start = l->total - want;
	while (done < want) {
		uint64_t at = (start + done) % l->capacity;
		size_t k = (size_t)MIN(want - done, l->capacity - at);
		ssize_t got = pread(l->fd, buf + done, k, (off_t)(CONSOLE_LOG_HEADER + at));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* a file cut short reads as what it holds */
			break;
		}
		done += (size_t)got;
	}
	*data = buf;
	*n = done;
	return 0;
}
