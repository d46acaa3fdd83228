/* SPDX-License-Identifier: MIT */
/*
 * The image stream readers (zfs/stream.c) on small in-memory inputs: format
 * detection and naming rules, raw/gzip/xz decoding through a source that
 * hands out uneven pieces, multi-member and concatenated inputs, every
 * truncation, trailing garbage, corruption, the xz memory limit, source
 * errors, and the source hash. Compressed inputs are made here by zlib and
 * liblzma's encoders.
 */
#include <errno.h>
#include <lzma.h>
#include <zlib.h>

#include "sha256.h"
#include "stream.h"
#include "tap.h"
#include "util.h"

struct memory_source {
	const uint8_t *data;
	size_t size, off;
	size_t piece;   /* most bytes per read, to exercise short reads */
	int fail_at;    /* a read at this offset fails with -EIO (-1: never) */
};

static ssize_t memory_read(void *userdata, void *buf, size_t n)
{
	struct memory_source *m = userdata;
	size_t take = MIN(MIN(n, m->piece), m->size - m->off);

	if (m->fail_at >= 0 && m->off >= (size_t)m->fail_at)
		return -EIO;
	memcpy(buf, m->data + m->off, take);
	m->off += take;
	return (ssize_t)take;
}

static struct stream_source memory_source(struct memory_source *m, const void *data, size_t size,
					  size_t piece)
{
	*m = (struct memory_source){ .data = data, .size = size, .piece = piece, .fail_at = -1 };
	return (struct stream_source){ .read = memory_read, .userdata = m };
}

/* Decodes everything with reads of `chunk` bytes; returns the size or the error. */
static ssize_t read_all(struct stream *s, uint8_t *out, size_t cap, size_t chunk)
{
	size_t got = 0;

	for (;;) {
		ssize_t r = stream_read(s, out + got, MIN(chunk, cap - got));

		if (r < 0)
			return r;
		if (r == 0)
			return (ssize_t)got;
		/* full reads except at the end */
		if ((size_t)r != MIN(chunk, cap - got) && stream_read(s, out, 1) != 0)
			return -EPROTO;
		got += (size_t)r;
		if (got == cap)
			return stream_read(s, out, 1) == 0 ? (ssize_t)got : -ENOSPC;
	}
}

static size_t make_gzip(const uint8_t *data, size_t n, uint8_t *out, size_t cap)
{
	z_stream z = {};

	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (uint8_t *)data;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	deflateEnd(&z);
	return z.total_out;
}

static size_t make_xz(const uint8_t *data, size_t n, uint32_t preset, lzma_check check,
		      uint8_t *out, size_t cap)
{
	size_t pos = 0;

	if (lzma_easy_buffer_encode(preset, check, NULL, data, n, out, &pos, cap) != LZMA_OK)
		abort();
	return pos;
}

#define DATA_SIZE 100000
#define PACKED_CAP (2 * DATA_SIZE + 4096)

static uint8_t data[DATA_SIZE];
static uint8_t out[2 * DATA_SIZE + 16];

static void make_data(void)
{
	uint32_t x = 12345;

	/* compressible but not trivial: runs, text-like bytes and zeros */
	for (size_t i = 0; i < DATA_SIZE; i++) {
		x = x * 1103515245 + 12345;
		data[i] = i % 5000 < 1000 ? 0 : (uint8_t)('a' + ((x >> 16) % 7));
	}
}

static void test_detect(void)
{
	static const uint8_t gz[] = { 0x1f, 0x8b, 0x08 };
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
	static const uint8_t qcow2[] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	static const uint8_t mbr[] = { 0xeb, 0x63, 0x90, 0x10 };

	CHECK_INT(stream_detect(gz, sizeof(gz)), STREAM_GZIP);
	CHECK_INT(stream_detect(xz, sizeof(xz)), STREAM_XZ);
	CHECK_INT(stream_detect(qcow2, sizeof(qcow2)), STREAM_QCOW2);
	CHECK_INT(stream_detect(mbr, sizeof(mbr)), STREAM_RAW);
	/* too short to hold a magic: raw */
	CHECK_INT(stream_detect(xz, 5), STREAM_RAW);
	CHECK_INT(stream_detect(gz, 1), STREAM_RAW);
	CHECK_INT(stream_detect(qcow2, 3), STREAM_RAW);
	CHECK_INT(stream_detect(NULL, 0), STREAM_RAW);

	CHECK_INT(stream_format_choose("disk.gz", gz, sizeof(gz)), STREAM_GZIP);
	CHECK_INT(stream_format_choose("DISK.XZ", xz, sizeof(xz)), STREAM_XZ);
	CHECK_INT(stream_format_choose("disk.qcow2", qcow2, sizeof(qcow2)), STREAM_QCOW2);
	/* a label the content contradicts is refused */
	CHECK_INT(stream_format_choose("disk.gz", xz, sizeof(xz)), -EBADMSG);
	CHECK_INT(stream_format_choose("disk.xz", mbr, sizeof(mbr)), -EBADMSG);
	CHECK_INT(stream_format_choose("disk.qcow2", mbr, sizeof(mbr)), -EBADMSG);
	CHECK_INT(stream_format_choose("disk.gz", NULL, 0), -EBADMSG);
	/* .raw is never probed, .img and unknown names are */
	CHECK_INT(stream_format_choose("disk.raw", qcow2, sizeof(qcow2)), STREAM_RAW);
	CHECK_INT(stream_format_choose("disk.raw", gz, sizeof(gz)), STREAM_RAW);
	CHECK_INT(stream_format_choose("cloud.img", qcow2, sizeof(qcow2)), STREAM_QCOW2);
	CHECK_INT(stream_format_choose("cloud.img", mbr, sizeof(mbr)), STREAM_RAW);
	CHECK_INT(stream_format_choose("image", xz, sizeof(xz)), STREAM_XZ);
	/* the suffix alone is no name */
	CHECK_INT(stream_format_choose(".raw", qcow2, sizeof(qcow2)), STREAM_QCOW2);
	CHECK_INT(stream_format_choose("", mbr, sizeof(mbr)), STREAM_RAW);

	CHECK_STR(stream_format_name(STREAM_GZIP), "gzip");
	CHECK_STR(stream_format_name(STREAM_QCOW2), "qcow2");
	errno = 0;
	CHECK(stream_new(STREAM_QCOW2, (struct stream_source){}) == NULL);
	CHECK_INT(errno, EINVAL);
}

static void test_raw(void)
{
	static const size_t pieces[] = { 1, 7, 4096, DATA_SIZE };
	char expect[SHA256_HEX_SIZE], hex[SHA256_HEX_SIZE];
	struct memory_source m;

	sha256_hex_of(data, DATA_SIZE, expect);
	for (size_t i = 0; i < ARRAY_SIZE(pieces); i++) {
		_cleanup_stream_ struct stream *s = stream_new_raw(memory_source(&m, data, DATA_SIZE, pieces[i]));

		stream_hash_source(s);
		CHECK_INT(stream_source_sha256(s, hex), -EBUSY);
		CHECK_INT(read_all(s, out, sizeof(out), 3000), DATA_SIZE);
		CHECK_MEM(out, data, DATA_SIZE);
		CHECK_U64(stream_source_bytes(s), DATA_SIZE);
		CHECK_INT(stream_source_sha256(s, hex), 0);
		CHECK_STR(hex, expect);
		CHECK(stream_error(s) == NULL);
	}

	{
		_cleanup_stream_ struct stream *s = stream_new_raw(memory_source(&m, data, 0, 1));

		CHECK_INT(stream_read(s, out, 10), 0);
		CHECK_INT(stream_source_sha256(s, hex), -EINVAL);
	}
}

static void test_gzip(void)
{
	_cleanup_free_ uint8_t *packed = xmalloc(PACKED_CAP);
	char expect[SHA256_HEX_SIZE], hex[SHA256_HEX_SIZE];
	size_t len = make_gzip(data, DATA_SIZE, packed, PACKED_CAP);
	struct memory_source m;

	{
		_cleanup_stream_ struct stream *s = stream_new_gzip(memory_source(&m, packed, len, 999));

		stream_hash_source(s);
		CHECK_INT(read_all(s, out, sizeof(out), 777), DATA_SIZE);
		CHECK_MEM(out, data, DATA_SIZE);
		CHECK_U64(stream_source_bytes(s), len);
		sha256_hex_of(packed, len, expect);
		CHECK_INT(stream_source_sha256(s, hex), 0);
		CHECK_STR(hex, expect);
	}

	/* two members, as "cat a.gz b.gz" makes */
	{
		_cleanup_free_ uint8_t *two = xmalloc(2 * len);
		_cleanup_stream_ struct stream *s = NULL;

		memcpy(two, packed, len);
		memcpy(two + len, packed, len);
		s = stream_new_gzip(memory_source(&m, two, 2 * len, 5000));
		CHECK_INT(read_all(s, out, sizeof(out), 65536), 2 * DATA_SIZE);
		CHECK_MEM(out, data, DATA_SIZE);
		CHECK_MEM(out + DATA_SIZE, data, DATA_SIZE);
	}

	/* every truncation is an error, never a short success */
	for (size_t cut = 0; cut < len; cut += (cut < 64 || cut > len - 64) ? 1 : 97) {
		_cleanup_stream_ struct stream *s = stream_new_gzip(memory_source(&m, packed, cut, 4096));
		ssize_t r = read_all(s, out, sizeof(out), 65536);

		CHECK_INT(r, -EBADMSG);
		if (r == -EBADMSG)
			CHECK(strstr(stream_error(s), "gzip") != NULL);
	}

	/* trailing garbage, including a lone byte that looks like a member */
	{
		static const char *const tails[] = { "x", "\x1f", "\x1f\x8b", "\0\0\0\0" };

		for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
			_cleanup_free_ uint8_t *tailed = xmalloc(len + 4);
			size_t tail_len = i == 3 ? 4 : strlen(tails[i]);
			_cleanup_stream_ struct stream *s = NULL;

			memcpy(tailed, packed, len);
			memcpy(tailed + len, tails[i], tail_len);
			s = stream_new_gzip(memory_source(&m, tailed, len + tail_len, 4096));
			CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
		}
	}

	/* a flipped bit in the data or the CRC/size trailer is caught */
	for (size_t at = 10; at < len; at += (at < len - 16 ? 331 : 1)) {
		_cleanup_free_ uint8_t *bad = xmalloc(len);
		_cleanup_stream_ struct stream *s = NULL;

		memcpy(bad, packed, len);
		bad[at] ^= 0x10;
		s = stream_new_gzip(memory_source(&m, bad, len, 4096));
		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
		/* errors are sticky */
		CHECK_INT(stream_read(s, out, 100), -EBADMSG);
	}

	/* a source error passes through with its errno */
	{
		_cleanup_stream_ struct stream *s = stream_new_gzip(memory_source(&m, packed, len, 1000));

		m.fail_at = 3000;
		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EIO);
		CHECK(stream_error(s) && strstr(stream_error(s), "reading the source") != NULL);
	}

	/* raw bytes are no gzip */
	{
		_cleanup_stream_ struct stream *s = stream_new_gzip(memory_source(&m, data + 1000, 1000, 1000));

		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
	}
}

static void test_xz(void)
{
	static const lzma_check checks[] = { LZMA_CHECK_NONE, LZMA_CHECK_CRC32, LZMA_CHECK_CRC64,
					     LZMA_CHECK_SHA256 };
	_cleanup_free_ uint8_t *packed = xmalloc(PACKED_CAP);
	char expect[SHA256_HEX_SIZE], hex[SHA256_HEX_SIZE];
	struct memory_source m;
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		_cleanup_stream_ struct stream *s = NULL;

		len = make_xz(data, DATA_SIZE, 1, checks[i], packed, PACKED_CAP);
		s = stream_new_xz(memory_source(&m, packed, len, 333), 0);
		stream_hash_source(s);
		CHECK_INT(read_all(s, out, sizeof(out), 4096), DATA_SIZE);
		CHECK_MEM(out, data, DATA_SIZE);
		CHECK_U64(stream_source_bytes(s), len);
		sha256_hex_of(packed, len, expect);
		CHECK_INT(stream_source_sha256(s, hex), 0);
		CHECK_STR(hex, expect);
	}

	/* concatenated streams with stream padding between them */
	{
		_cleanup_free_ uint8_t *two = xcalloc(1, 2 * len + 8);
		_cleanup_stream_ struct stream *s = NULL;

		memcpy(two, packed, len);
		memcpy(two + len + 8, packed, len);
		s = stream_new_xz(memory_source(&m, two, 2 * len + 8, 7000), 0);
		CHECK_INT(read_all(s, out, sizeof(out), 65536), 2 * DATA_SIZE);
		CHECK_MEM(out + DATA_SIZE, data, DATA_SIZE);
	}

	for (size_t cut = 0; cut < len; cut += (cut < 64 || cut > len - 64) ? 1 : 97) {
		_cleanup_stream_ struct stream *s = stream_new_xz(memory_source(&m, packed, cut, 4096), 0);

		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
	}

	for (size_t at = 0; at < len; at += (at < len - 64 ? 211 : 1)) {
		_cleanup_free_ uint8_t *bad = xmalloc(len);
		_cleanup_stream_ struct stream *s = NULL;

		memcpy(bad, packed, len);
		bad[at] ^= 0x01;
		s = stream_new_xz(memory_source(&m, bad, len, 4096), 0);
		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
	}

	/* trailing bytes that are neither padding nor a stream */
	{
		_cleanup_free_ uint8_t *tailed = xcalloc(1, len + 16);
		_cleanup_stream_ struct stream *s = NULL;

		memcpy(tailed, packed, len);
		memcpy(tailed + len, "garbage garbage!", 16);
		s = stream_new_xz(memory_source(&m, tailed, len + 16, 4096), 0);
		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
	}

	/* preset 6 wants an 8 MiB dictionary: beyond a 1 MiB limit, clearly said */
	{
		_cleanup_stream_ struct stream *s = NULL;

		len = make_xz(data, DATA_SIZE, 6, LZMA_CHECK_CRC64, packed, PACKED_CAP);
		s = stream_new_xz(memory_source(&m, packed, len, 4096), 1 << 20);
		CHECK_INT(read_all(s, out, sizeof(out), 65536), -ENOMEM);
		CHECK(stream_error(s) && strstr(stream_error(s), "limit of 1 MiB") != NULL);
	}
	{
		_cleanup_stream_ struct stream *s = stream_new_xz(memory_source(&m, packed, len, 4096), 0);

		CHECK_INT(read_all(s, out, sizeof(out), 65536), DATA_SIZE);
	}

	{
		_cleanup_stream_ struct stream *s = stream_new_xz(memory_source(&m, data + 1000, 1000, 1000), 0);

		CHECK_INT(read_all(s, out, sizeof(out), 65536), -EBADMSG);
		CHECK(stream_error(s) && strstr(stream_error(s), "not xz") != NULL);
	}
}

int main(void)
{
	make_data();
	test_detect();
	test_raw();
	test_gzip();
	test_xz();
	return test_done();
}
