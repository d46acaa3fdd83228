/* SPDX-License-Identifier: MIT */
/* lib/common/util.c: struct buf, parse_u64, utf8_valid. */
#include <limits.h>
#include <sys/stat.h>

#include "tap.h"
#include "util.h"

static void test_buf_append_consume(void)
{
	struct buf b = { 0 };

	buf_append(&b, "", 0); /* nothing to do: no allocation */
	CHECK(b.data == NULL);
	CHECK_INT(buf_avail(&b), 0);

	buf_append(&b, "hello", 5);
	CHECK_INT(b.len, 5);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.cap, 256);
	CHECK_INT(buf_avail(&b), 5);
	CHECK_MEM(buf_head(&b), "hello", 5);

	buf_append(&b, " world", 6);
	CHECK_INT(buf_avail(&b), 11);
	CHECK_MEM(buf_head(&b), "hello world", 11);

	buf_consume(&b, 6);
	CHECK_INT(b.off, 6);
	CHECK_INT(buf_avail(&b), 5);
	CHECK_MEM(buf_head(&b), "world", 5);

	/* consuming everything resets both cursors */
	buf_consume(&b, 5);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 0);
	CHECK_INT(buf_avail(&b), 0);
	CHECK(b.data != NULL); /* the storage is kept */

	buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.cap, 0);
	CHECK_INT(b.off, 0);
	buf_free(&b); /* twice is harmless */
}

static void test_buf_reserve(void)
{
	struct buf b = { 0 };
	unsigned char *p;

	p = buf_reserve(&b, 10);
	CHECK(p == b.data);
	CHECK_INT(b.len, 0);
	CHECK(b.cap >= 10);
	memcpy(p, "0123456789", 10);
	b.len += 10;
	CHECK_MEM(buf_head(&b), "0123456789", 10);

	/* reserve never moves the tail of what is stored */
	p = buf_reserve(&b, 1);
	CHECK(p == b.data + 10);

	/* growth doubles until the request fits */
	p = buf_reserve(&b, 1000);
	CHECK(b.cap >= 1010);
	CHECK_INT(b.cap, 1024);
	CHECK(p == b.data + 10);
	CHECK_MEM(buf_head(&b), "0123456789", 10);
	buf_free(&b);
}

static void test_buf_compaction(void)
{
	struct buf b = { 0 };
	unsigned char data[200];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i;
	buf_append(&b, data, sizeof(data));
	CHECK_INT(b.cap, 256);

	/* off below cap/2: no compaction, no growth when it still fits */
	buf_consume(&b, 100);
	buf_reserve(&b, 50);
	CHECK_INT(b.off, 100);
	CHECK_INT(b.len, 200);
	CHECK_INT(b.cap, 256);

	/* off at or past cap/2: the unread bytes move to the front */
	buf_consume(&b, 50);
	CHECK_INT(b.off, 150);
	unsigned char *p = buf_reserve(&b, 10);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 50);
	CHECK_INT(b.cap, 256);
	CHECK(p == b.data + 50);
	CHECK_MEM(buf_head(&b), data + 150, 50);

	/* compaction makes room without growing: 50 stored + 200 more fit in 256 */
	buf_append(&b, data, 200);
	CHECK_INT(b.cap, 256);
	CHECK_INT(buf_avail(&b), 250);
	CHECK_MEM(buf_head(&b), data + 150, 50);
	CHECK_MEM(buf_head(&b) + 50, data, 200);

	/* a fully consumed buffer restarts at the front */
	buf_consume(&b, 250);
	p = buf_reserve(&b, 256);
	CHECK(p == b.data);
	CHECK_INT(b.cap, 256);

	/* many small append/consume rounds keep memory bounded */
	for (int i = 0; i < 10000; i++) {
		buf_append(&b, data, 7);
		buf_consume(&b, 5);
	}
	CHECK_INT(buf_avail(&b), 20000);
	buf_consume(&b, buf_avail(&b));
	for (int i = 0; i < 10000; i++) {
		buf_append(&b, data, 3);
		CHECK_MEM(buf_head(&b) + buf_avail(&b) - 3, data, 3);
		buf_consume(&b, 3);
	}
	CHECK(b.cap <= 65536);
	buf_free(&b);
}

static void test_parse_u64(void)
{
	unsigned long long v = 42;

	CHECK_INT(parse_u64("0", ULLONG_MAX, &v), 0);
	CHECK_U64(v, 0);
	CHECK_INT(parse_u64("123", ULLONG_MAX, &v), 0);
	CHECK_U64(v, 123);
	CHECK_INT(parse_u64("007", ULLONG_MAX, &v), 0);
	CHECK_U64(v, 7);
	CHECK_INT(parse_u64("18446744073709551615", ULLONG_MAX, &v), 0);
	CHECK_U64(v, ULLONG_MAX);

	v = 42;
	CHECK_INT(parse_u64("18446744073709551616", ULLONG_MAX, &v), -ERANGE);
	CHECK_INT(parse_u64("18446744073709551620", ULLONG_MAX, &v), -ERANGE);
	CHECK_INT(parse_u64("99999999999999999999", ULLONG_MAX, &v), -ERANGE);
	CHECK_INT(parse_u64("100000000000000000000000", ULLONG_MAX, &v), -ERANGE);
	CHECK_U64(v, 42); /* untouched on error */

	/* the max bound is inclusive */
	CHECK_INT(parse_u64("10", 10, &v), 0);
	CHECK_U64(v, 10);
	CHECK_INT(parse_u64("11", 10, &v), -ERANGE);
	CHECK_INT(parse_u64("0", 0, &v), 0);
	CHECK_INT(parse_u64("1", 0, &v), -ERANGE);
	CHECK_INT(parse_u64("65535", 65535, &v), 0);
	CHECK_INT(parse_u64("65536", 65535, &v), -ERANGE);

	v = 42;
	CHECK_INT(parse_u64("", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64(NULL, ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("12a", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("a12", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("-1", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("+1", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64(" 1", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("1 ", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("0x10", ULLONG_MAX, &v), -EINVAL);
	CHECK_INT(parse_u64("1.5", ULLONG_MAX, &v), -EINVAL);
	CHECK_U64(v, 42);
}

#define U8(s) utf8_valid(s, sizeof(s) - 1)

static void test_utf8(void)
{
	CHECK(utf8_valid("", 0));
	CHECK(U8("plain ASCII ~\x7f"));
	CHECK(U8("a\0b")); /* NUL is a valid code point */
	CHECK(U8("\xc3\xa9"));		   /* é U+00E9 */
	CHECK(U8("\xc2\x80"));		   /* U+0080, smallest 2-byte */
	CHECK(U8("\xdf\xbf"));		   /* U+07FF */
	CHECK(U8("\xe0\xa0\x80"));	   /* U+0800, smallest 3-byte */
	CHECK(U8("\xe2\x82\xac"));	   /* € U+20AC */
	CHECK(U8("\xed\x9f\xbf"));	   /* U+D7FF, just below the surrogates */
	CHECK(U8("\xee\x80\x80"));	   /* U+E000, just above */
	CHECK(U8("\xef\xbf\xbf"));	   /* U+FFFF */
	CHECK(U8("\xf0\x90\x80\x80"));	   /* U+10000, smallest 4-byte */
	CHECK(U8("\xf0\x9f\x98\x80"));	   /* 😀 U+1F600 */
	CHECK(U8("\xf4\x8f\xbf\xbf"));	   /* U+10FFFF, the last code point */
	CHECK(U8("x\xc3\xa9y\xe2\x82\xacz\xf0\x9f\x98\x80"));

	/* overlong encodings */
	CHECK(!U8("\xc0\x80"));
	CHECK(!U8("\xc0\xaf"));
	CHECK(!U8("\xc1\xbf"));
	CHECK(!U8("\xe0\x80\x80"));
	CHECK(!U8("\xe0\x9f\xbf"));
	CHECK(!U8("\xf0\x80\x80\x80"));
	CHECK(!U8("\xf0\x8f\xbf\xbf"));

	/* UTF-16 surrogates */
	CHECK(!U8("\xed\xa0\x80"));
	CHECK(!U8("\xed\xbf\xbf"));
	CHECK(!U8("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */

	/* beyond U+10FFFF */
	CHECK(!U8("\xf4\x90\x80\x80"));
	CHECK(!U8("\xf5\x80\x80\x80"));
	CHECK(!U8("\xf7\xbf\xbf\xbf"));
	CHECK(!U8("\xf8\x88\x80\x80\x80"));
	CHECK(!U8("\xfc\x84\x80\x80\x80\x80"));
	CHECK(!U8("\xfe"));
	CHECK(!U8("\xff"));

	/* truncated sequences, at the end and in the middle */
	CHECK(!U8("\xc3"));
	CHECK(!U8("\xe2\x82"));
	CHECK(!U8("\xf0\x9f\x98"));
	CHECK(!U8("a\xc3"));
	CHECK(!U8("\xe2\x82z"));
	CHECK(!U8("\xf0\x9f\x98z"));
	/* n cuts a sequence that continues in memory */
	CHECK(!utf8_valid("\xc3\xa9", 1));
	CHECK(!utf8_valid("\xf0\x9f\x98\x80", 3));
	CHECK(utf8_valid("\xf0\x9f\x98\x80", 0));

	/* stray continuation bytes and bad continuations */
	CHECK(!U8("\x80"));
	CHECK(!U8("\xbf"));
	CHECK(!U8("a\x80z"));
	CHECK(!U8("\xc3\x28"));
	CHECK(!U8("\xc3\xc3\xa9"));
	CHECK(!U8("\xe2\x28\xac"));
	CHECK(!U8("\xf0\x9f\x28\x80"));
}

static void test_mem_is_zero(void)
{
	unsigned char b[100] = { 0 };

	CHECK(mem_is_zero(b, 0));
	for (size_t n = 1; n <= sizeof(b); n++) {
		CHECK(mem_is_zero(b, n));
		/* a single non-zero byte anywhere, in every length */
		for (size_t i = 0; i < n; i += 7) {
			b[i] = 0x80;
			CHECK(!mem_is_zero(b, n));
			b[i] = 0;
		}
		b[n - 1] = 1;
		CHECK(!mem_is_zero(b, n));
		b[n - 1] = 0;
	}
}

static void test_pwrite_all(void)
{
	char path[] = "/tmp/mvirt-test-pwrite-XXXXXX";
	int fd = mkstemp(path);
	char back[8] = { 0 };

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unlink(path);
	CHECK_INT(pwrite_all(fd, "abcd", 4, 4096), 0);
	CHECK_INT(pread(fd, back, sizeof(back), 4094), 6);
	CHECK_MEM(back, "\0\0abcd", 6);
	CHECK_INT(pwrite_all(-1, "x", 1, 0), -EBADF);
	close(fd);
}

/* pwrite_nonzero writes every non-zero block, and only those: the file's
 * content equals the buffer, and a traced count of writes shows the runs
 * were gathered. */
static void test_pwrite_nonzero(void)
{
	char path[] = "/tmp/mvirt-pwnz-XXXXXX";
	int fd = mkstemp(path);
	unsigned char buf[10 * 4096], back[sizeof(buf) + 4096];
	struct stat st;

	CHECK(fd >= 0);
	unlink(path);
	memset(buf, 0, sizeof(buf));
	memset(buf + 4096, 'a', 2 * 4096);      /* blocks 1-2: one run */
	buf[6 * 4096 + 100] = 'b';              /* block 6 */
	buf[sizeof(buf) - 1] = 'c';             /* the last block */
	CHECK_INT(pwrite_nonzero(fd, buf, sizeof(buf), 4096, 4096), 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_INT(st.st_size, 4096 + (off_t)sizeof(buf));
	CHECK(pread(fd, back, sizeof(back), 0) == (ssize_t)sizeof(back));
	CHECK(mem_is_zero(back, 4096));
	CHECK_MEM(back + 4096, buf, sizeof(buf));
	/* an all-zero buffer writes nothing */
	CHECK_INT(pwrite_nonzero(fd, buf, 4096, 1 << 20, 4096), 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_INT(st.st_size, 4096 + (off_t)sizeof(buf));
	/* a tail shorter than a block is still written when non-zero */
	CHECK_INT(pwrite_nonzero(fd, "xyz", 3, 1 << 20, 4096), 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_INT(st.st_size, (1 << 20) + 3);
	CHECK_INT(pwrite_nonzero(-1, "x", 1, 0, 4096), -EBADF);
	close(fd);
}

int main(void)
{
	test_pwrite_nonzero();
	test_buf_append_consume();
	test_buf_reserve();
	test_buf_compaction();
	test_parse_u64();
	test_utf8();
	test_mem_is_zero();
	test_pwrite_all();
	return test_done();
}
