/* SPDX-License-Identifier: MIT */
/* Unit tests of the CLI's size parser and formatter (cli/size.c). */
#include <errno.h>
#include <stdint.h>

#include "size.h"
#include "tap.h"

static uint64_t parsed(const char *s)
{
	uint64_t v = 0;

	return size_parse(s, &v) == 0 ? v : UINT64_C(0xdeadbeef);
}

static int parse_error(const char *s)
{
	uint64_t v = 42;
	int r = size_parse(s, &v);

	CHECK_U64(v, 42); /* untouched on error */
	return r;
}

static void test_plain_and_units(void)
{
	CHECK_U64(parsed("4096"), 4096);
	CHECK_U64(parsed("1"), 1);
	CHECK_U64(parsed("007"), 7);
	CHECK_U64(parsed("4096B"), 4096);
	CHECK_U64(parsed("4096b"), 4096);
	CHECK_U64(parsed("16K"), 16384);
	CHECK_U64(parsed("16k"), 16384);
	CHECK_U64(parsed("16KB"), 16384);
	CHECK_U64(parsed("16KiB"), 16384);
	CHECK_U64(parsed("16kib"), 16384);
	CHECK_U64(parsed("512M"), UINT64_C(512) << 20);
	CHECK_U64(parsed("512MiB"), UINT64_C(512) << 20);
	CHECK_U64(parsed("10G"), UINT64_C(10) << 30);
	CHECK_U64(parsed("10gb"), UINT64_C(10) << 30);
	CHECK_U64(parsed("2T"), UINT64_C(2) << 40);
	CHECK_U64(parsed("3P"), UINT64_C(3) << 50);
	CHECK_U64(parsed("3PiB"), UINT64_C(3) << 50);
	CHECK_U64(parsed("15E"), UINT64_C(15) << 60);
	CHECK_INT(parse_error("16E"), -ERANGE);
}

static void test_fractions(void)
{
	CHECK_U64(parsed("1.5T"), UINT64_C(3) << 39);
	CHECK_U64(parsed("1.5G"), UINT64_C(3) << 29);
	CHECK_U64(parsed("0.5K"), 512);
	CHECK_U64(parsed("0.25KiB"), 256);
	CHECK_U64(parsed("1.000M"), UINT64_C(1) << 20);
	/* 1.1 MiB = 1153433.6 bytes: rounded half up */
	CHECK_U64(parsed("1.1M"), 1153434);
	/* 0.001 KiB = 1.024 bytes */
	CHECK_U64(parsed("0.001K"), 1);
	/* 0.0005 KiB = 0.512 bytes: rounds to 1 */
	CHECK_U64(parsed("0.0005K"), 1);
	/* exactly half a byte rounds up, just under half rounds down (to 0: refused) */
	CHECK_U64(parsed("0.5"), 1);
	CHECK_U64(parsed("2.5"), 3);
	CHECK_U64(parsed("2.4999"), 2);
	CHECK_INT(parse_error("0.4"), -EINVAL);
	/* long fractions are exact, not floating point */
	CHECK_U64(parsed("1.00000000000000000000000000001P"), UINT64_C(1) << 50);
	CHECK_U64(parsed("0.333333333333333333333333333333G"), 357913941);
	/* trailing zeros do not count against the digit limit */
	CHECK_U64(parsed("1.5000000000000000000000000000000000000000"
			 "000000000000000000000000000000000000000G"),
		  UINT64_C(3) << 29);
	CHECK_INT(parse_error("1.0000000000000000000000000000000000000000"
			      "000000000000000000000000000000000000001G"),
		  -EINVAL);
}

static void test_limits(void)
{
	CHECK_U64(parsed("18446744073709551615"), UINT64_MAX);
	CHECK_INT(parse_error("18446744073709551616"), -ERANGE);
	CHECK_INT(parse_error("99999999999999999999999999"), -ERANGE);
	CHECK_U64(parsed("15P"), UINT64_C(15) << 50);
	CHECK_U64(parsed("16383P"), UINT64_C(16383) << 50);
	CHECK_INT(parse_error("16384P"), -ERANGE);
	CHECK_U64(parsed("16383.999P"), (UINT64_C(16383) << 50) + UINT64_C(1124774006935781));
	CHECK_INT(parse_error("16383.9999999999999999P"), -ERANGE);
	CHECK_U64(parsed("17179869183.999999999G"), UINT64_MAX);
	CHECK_INT(parse_error("17179869183.99999999999999999999G"), -ERANGE);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", "0", "0K", "0.0G", "12X", "K", "G10", "-1", "+1", " 1G", "1G ", "1 G", "1.",
		".5", "1..5", "1.5.5", "1e9", "0x10", "1KiBB", "1iB", "1Ki", "1KBB", "1BB", "1GiBs",
		"1,5G", "1.5GX", "١", "10G\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_error(bad[i]);
		if (r != -EINVAL)
			fprintf(stderr, "accepted or misjudged: '%s' (%d)\n", bad[i], r);
		CHECK_INT(r, -EINVAL);
	}
	/* malformed wins over too large */
	CHECK_INT(parse_error("99999999999999999999999X"), -EINVAL);
}

static void test_format(void)
{
	char buf[SIZE_STR_MAX];

	CHECK_STR(size_format(0, buf), "0 B");
	CHECK_STR(size_format(1, buf), "1 B");
	CHECK_STR(size_format(1023, buf), "1023 B");
	CHECK_STR(size_format(1024, buf), "1 KiB");
	CHECK_STR(size_format(1536, buf), "1.5 KiB");
	CHECK_STR(size_format(16384, buf), "16 KiB");
	CHECK_STR(size_format(UINT64_C(3) << 29, buf), "1.5 GiB");
	CHECK_STR(size_format(UINT64_C(10) << 30, buf), "10 GiB");
	CHECK_STR(size_format(UINT64_C(3) << 39, buf), "1.5 TiB");
	CHECK_STR(size_format(1153434, buf), "1.1 MiB");
	/* 1023.96 KiB would read "1024.0 KiB": the next unit instead */
	CHECK_STR(size_format(1048535, buf), "1 MiB");
	CHECK_STR(size_format(1048063, buf), "1023.5 KiB");
	CHECK_STR(size_format(UINT64_C(1) << 60, buf), "1 EiB");
	CHECK_STR(size_format(UINT64_MAX, buf), "16 EiB");
	CHECK_STR(size_format((UINT64_C(1) << 50) * 1023 + (UINT64_C(1) << 49), buf), "1023.5 PiB");
}

/* Every formatted size parses back to within the rounding of one decimal. */
static void test_round_trip(void)
{
	char buf[SIZE_STR_MAX], compact[SIZE_STR_MAX];

	for (uint64_t v = 1; v < (UINT64_C(1) << 62); v = v * 3 + 7) {
		size_t j = 0;
		uint64_t back = 0;
		size_format(v, buf);
		for (size_t i = 0; buf[i]; i++)
			if (buf[i] != ' ')
				compact[j++] = buf[i];
		compact[j] = '\0';
		CHECK_INT(size_parse(compact, &back), 0);
		/* one decimal of the unit: at most 5% off for values >= 1 KiB */
		CHECK(back >= v - v / 19 && back <= v + v / 19);
	}
}

int main(void)
{
	test_plain_and_units();
	test_fractions();
	test_limits();
	test_malformed();
	test_format();
	test_round_trip();
	return test_done();
}
