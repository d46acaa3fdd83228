/* SPDX-License-Identifier: MIT */
/*
 * Streaming readers for raw, gzip (zlib) and xz (liblzma) images. Each pulls
 * the source through one fixed input buffer, so memory stays bounded whatever
 * the image size; the whole source is always read to its end so that trailing
 * garbage is noticed and the source hash covers every byte.
 */
#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

#define STREAM_INPUT_SIZE (64 * 1024)

static const uint8_t gzip_magic[] = { 0x1f, 0x8b };
static const uint8_t xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t qcow2_magic[] = { 'Q', 'F', 'I', 0xfb };

struct stream {
	enum stream_format format;
	struct stream_source src;
	uint64_t source_bytes;
	bool source_eof;
	bool done;              /* all data decoded and the source at its end */
	int error;              /* sticky negative errno, 0 while all is well */
	char message[256];

	bool hashing;
	bool hash_final;
	struct sha256 hash;
	char hash_hex[SHA256_HEX_SIZE];

	union {
		struct {
			z_stream z;
			bool z_ready;
			bool between_members;   /* a gzip member ended; another may follow */
		} gz;
		struct {
			lzma_stream lz;
			uint64_t memlimit;
		} xz;
	};
	uint8_t input[STREAM_INPUT_SIZE];
};

static ssize_t fd_source_read(void *userdata, void *buf, size_t n)
{
	int fd = (int)(intptr_t)userdata;

	for (;;) {
		ssize_t r = read(fd, buf, n);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

struct stream_source stream_source_fd(int fd)
{
	return (struct stream_source){ .read = fd_source_read, .userdata = (void *)(intptr_t)fd };
}

/* Records the first error with its message; returns the error. */
static int PRINTF_FMT(3, 4) stream_fail(struct stream *s, int error, const char *fmt, ...)
{
	va_list ap;

	if (s->error)
		return s->error;
	s->error = error;
	va_start(ap, fmt);
	vsnprintf(s->message, sizeof(s->message), fmt, ap);
	va_end(ap);
	return error;
}

/* Reads up to n source bytes, counting and hashing them; 0 at the end. */
static ssize_t source_read(struct stream *s, void *buf, size_t n)
{
	ssize_t r;

	if (s->source_eof)
		return 0;
	r = s->src.read(s->src.userdata, buf, n);
	if (r < 0)
		return stream_fail(s, (int)r, "reading the source: %s", strerror((int)-r));
	if ((size_t)r > n)
		return stream_fail(s, -EIO, "source returned more bytes than asked for");
	if (r == 0) {
		s->source_eof = true;
		return 0;
	}
	s->source_bytes += (uint64_t)r;
	if (s->hashing)
		sha256_update(&s->hash, buf, (size_t)r);
	return r;
}

static struct stream *stream_alloc(enum stream_format format, struct stream_source src)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->format = format;
	s->src = src;
	return s;
}

struct stream *stream_new_raw(struct stream_source src)
{
	return stream_alloc(STREAM_RAW, src);
}

struct stream *stream_new_gzip(struct stream_source src)
{
	struct stream *s = stream_alloc(STREAM_GZIP, src);

	if (!s)
		return NULL;
	/* 16 + MAX_WBITS: gzip wrapper only (zlib checks CRC-32 and ISIZE) */
	if (inflateInit2(&s->gz.z, 16 + MAX_WBITS) != Z_OK) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->gz.z_ready = true;
	return s;
}

struct stream *stream_new_xz(struct stream_source src, uint64_t memlimit)
{
	struct stream *s = stream_alloc(STREAM_XZ, src);

	if (!s)
		return NULL;
	s->xz.lz = (lzma_stream)LZMA_STREAM_INIT;
	s->xz.memlimit = memlimit ? memlimit : STREAM_XZ_MEMLIMIT;
	/* CONCATENATED: "cat a.xz b.xz" is valid xz, as xz(1) reads it;
	 * TELL_UNSUPPORTED_CHECK: data we cannot verify is refused */
	if (lzma_stream_decoder(&s->xz.lz, s->xz.memlimit,
				LZMA_CONCATENATED | LZMA_TELL_UNSUPPORTED_CHECK) != LZMA_OK) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

struct stream *stream_new(enum stream_format format, struct stream_source src)
{
	switch (format) {
	case STREAM_RAW:
		return stream_new_raw(src);
	case STREAM_GZIP:
		return stream_new_gzip(src);
	case STREAM_XZ:
		return stream_new_xz(src, 0);
	default:
		errno = EINVAL;
		return NULL;
	}
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	if (s->format == STREAM_GZIP && s->gz.z_ready)
		inflateEnd(&s->gz.z);
	else if (s->format == STREAM_XZ)
		lzma_end(&s->xz.lz);
	free(s);
}

/* Raw: the source's bytes as they are, straight into the caller's buffer. */
static ssize_t raw_read(struct stream *s, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = source_read(s, buf + got, n - got);

		if (r < 0)
			return r;
		if (r == 0) {
			s->done = true;
			break;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Refills the input buffer once it is used up; false on a source error. */
static bool gzip_refill(struct stream *s)
{
	z_stream *z = &s->gz.z;
	ssize_t r;

	if (z->avail_in > 0 || s->source_eof)
		return true;
	r = source_read(s, s->input, sizeof(s->input));
	if (r < 0)
		return false;
	z->next_in = s->input;
	z->avail_in = (uInt)r;
	return true;
}

static ssize_t gzip_read(struct stream *s, uint8_t *buf, size_t n)
{
	z_stream *z = &s->gz.z;

	z->next_out = buf;
	z->avail_out = (uInt)n;
	while (z->avail_out > 0) {
		int zr;

		if (!gzip_refill(s))
			return s->error;
		if (s->gz.between_members) {
			if (z->avail_in == 0) {
				s->done = true;
				break;
			}
			/* what follows a member must be another member */
			if (z->next_in[0] != gzip_magic[0])
				return stream_fail(s, -EBADMSG,
						   "trailing garbage after the gzip data (source byte %llu)",
						   (unsigned long long)(s->source_bytes - z->avail_in));
			if (inflateReset(z) != Z_OK)
				return stream_fail(s, -ENOMEM, "gzip decoder reset failed");
			s->gz.between_members = false;
		}

		zr = inflate(z, Z_NO_FLUSH);
		switch (zr) {
		case Z_OK:
			break;
		case Z_STREAM_END:
			s->gz.between_members = true;
			break;
		case Z_BUF_ERROR:
			/* no progress although there is room for output: the
			 * source is dry (input left over would be progress) */
			return stream_fail(s, -EBADMSG, "gzip data ends early (truncated after %llu source bytes)",
					   (unsigned long long)s->source_bytes);
		case Z_MEM_ERROR:
			return stream_fail(s, -ENOMEM, "out of memory in the gzip decoder");
		default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
			return stream_fail(s, -EBADMSG, "corrupt gzip data: %s (source byte %llu)",
					   z->msg ? z->msg : "bad stream",
					   (unsigned long long)(s->source_bytes - z->avail_in));
		}
	}
	return (ssize_t)(n - z->avail_out);
}

/* The one-line reason for a failed lzma_code(), with its errno. */
static int xz_fail(struct stream *s, lzma_ret ret)
{
	lzma_stream *lz = &s->xz.lz;
	unsigned long long at = (unsigned long long)lz->total_in;

	switch (ret) {
	case LZMA_MEMLIMIT_ERROR:
		return stream_fail(s, -ENOMEM,
				   "xz data needs %llu MiB of memory to decode, more than the limit of %llu MiB",
				   (unsigned long long)((lzma_memusage(lz) + (1 << 20) - 1) >> 20),
				   (unsigned long long)(s->xz.memlimit >> 20));
	case LZMA_MEM_ERROR:
		return stream_fail(s, -ENOMEM, "out of memory in the xz decoder");
	case LZMA_FORMAT_ERROR:
		/* only the first stream; garbage after a stream is DATA_ERROR */
		return stream_fail(s, -EBADMSG, "not xz data (no xz header)");
	case LZMA_OPTIONS_ERROR:
		return stream_fail(s, -EBADMSG, "xz data uses unsupported options (source byte %llu)", at);
	case LZMA_UNSUPPORTED_CHECK:
		return stream_fail(s, -EBADMSG, "xz integrity check type not supported, cannot verify the data");
	case LZMA_BUF_ERROR:
		return stream_fail(s, -EBADMSG, "xz data ends early (truncated after %llu source bytes)",
				   (unsigned long long)s->source_bytes);
	case LZMA_DATA_ERROR:
	default:
		return stream_fail(s, -EBADMSG, "corrupt xz data or trailing garbage (source byte %llu)", at);
	}
}

static ssize_t xz_read(struct stream *s, uint8_t *buf, size_t n)
{
	lzma_stream *lz = &s->xz.lz;

	lz->next_out = buf;
	lz->avail_out = n;
	while (lz->avail_out > 0) {
		lzma_ret ret;

		if (lz->avail_in == 0 && !s->source_eof) {
			ssize_t r = source_read(s, s->input, sizeof(s->input));

			if (r < 0)
				return r;
			lz->next_in = s->input;
			lz->avail_in = (size_t)r;
		}
		/* FINISH once the source is dry: the decoder then tells a
		 * complete stream (STREAM_END) from a truncated one (BUF_ERROR) */
		ret = lzma_code(lz, s->source_eof && lz->avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
		if (ret == LZMA_STREAM_END) {
			s->done = true;
			break;
		}
		if (ret != LZMA_OK)
			return xz_fail(s, ret);
	}
	return (ssize_t)(n - lz->avail_out);
}

ssize_t stream_read(struct stream *s, void *buf, size_t n)
{
	if (s->error)
		return s->error;
	if (s->done || n == 0)
		return 0;
	if (n > STREAM_READ_MAX)
		n = STREAM_READ_MAX;
	switch (s->format) {
	case STREAM_RAW:
		return raw_read(s, buf, n);
	case STREAM_GZIP:
		return gzip_read(s, buf, n);
	case STREAM_XZ:
		return xz_read(s, buf, n);
	default:
		return stream_fail(s, -EINVAL, "not a stream format");
	}
}

const char *stream_error(const struct stream *s)
{
	return s->error ? s->message : NULL;
}

uint64_t stream_source_bytes(const struct stream *s)
{
	return s->source_bytes;
}

void stream_hash_source(struct stream *s)
{
	if (s->hashing)
		return;
	s->hashing = true;
	sha256_init(&s->hash);
}

int stream_source_sha256(struct stream *s, char hex[SHA256_HEX_SIZE])
{
	if (!s->hashing)
		return -EINVAL;
	if (!s->done || s->error)
		return -EBUSY;
	if (!s->hash_final) {
		uint8_t digest[SHA256_DIGEST_SIZE];

		sha256_final(&s->hash, digest);
		sha256_hex(digest, s->hash_hex);
		s->hash_final = true;
	}
	memcpy(hex, s->hash_hex, SHA256_HEX_SIZE);
	return 0;
}

static bool has_magic(const uint8_t *head, size_t n, const uint8_t *magic, size_t len)
{
	return n >= len && memcmp(head, magic, len) == 0;
}

enum stream_format stream_detect(const uint8_t *head, size_t n)
{
	if (has_magic(head, n, gzip_magic, sizeof(gzip_magic)))
		return STREAM_GZIP;
	if (has_magic(head, n, xz_magic, sizeof(xz_magic)))
		return STREAM_XZ;
	if (has_magic(head, n, qcow2_magic, sizeof(qcow2_magic)))
		return STREAM_QCOW2;
	return STREAM_RAW;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), len = strlen(suffix);

	return n > len && strcasecmp(name + n - len, suffix) == 0;
}

int stream_format_choose(const char *name, const uint8_t *head, size_t n)
{
	static const struct {
		const char *suffix;
		enum stream_format format;
	} labelled[] = {
		{ ".gz", STREAM_GZIP },
		{ ".xz", STREAM_XZ },
		{ ".qcow2", STREAM_QCOW2 },
	};
	enum stream_format detected = stream_detect(head, n);

	if (has_suffix(name, ".raw"))
		return STREAM_RAW;
	for (size_t i = 0; i < ARRAY_SIZE(labelled); i++)
		if (has_suffix(name, labelled[i].suffix))
			return detected == labelled[i].format ? (int)detected : -EBADMSG;
	return detected;
}

const char *stream_format_name(enum stream_format format)
{
	switch (format) {
	case STREAM_RAW:
		return "raw";
	case STREAM_GZIP:
		return "gzip";
	case STREAM_XZ:
		return "xz";
	case STREAM_QCOW2:
		return "qcow2";
	}
	return "unknown";
}
