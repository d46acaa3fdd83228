/* SPDX-License-Identifier: MIT */
/* lib/grpc/wire.c: message framing, grpc-timeout, percent-encoding. */
#include <stdint.h>

#include "log.pb-c.h"
#include "tap.h"
#include "wire.h"

static void test_deframe(void)
{
	const uint8_t *msg = NULL;
	size_t len = 99;
	bool comp = true;
	/* two messages: "abc" uncompressed, "" compressed-flagged */
	const uint8_t two[] = { 0, 0, 0, 0, 3, 'a', 'b', 'c', 1, 0, 0, 0, 0 };

	/* partial header: every length below 5 needs more */
	for (size_t n = 0; n < GRPC_FRAME_HEADER; n++)
		CHECK_INT(grpc_deframe(two, n, 1024, &msg, &len, &comp), 0);
	/* partial body */
	for (size_t n = GRPC_FRAME_HEADER; n < 8; n++)
		CHECK_INT(grpc_deframe(two, n, 1024, &msg, &len, &comp), 0);
	CHECK(msg == NULL); /* outputs untouched while incomplete */
	CHECK_INT(len, 99);

	/* exact */
	CHECK_INT(grpc_deframe(two, 8, 1024, &msg, &len, &comp), 1);
	CHECK(msg == two + 5);
	CHECK_INT(len, 3);
	CHECK(!comp);

	/* back to back: the first, then the second after consuming 5 + len */
	CHECK_INT(grpc_deframe(two, sizeof(two), 1024, &msg, &len, &comp), 1);
	CHECK_INT(len, 3);
	CHECK_MEM(msg, "abc", 3);
	size_t used = GRPC_FRAME_HEADER + len;
	CHECK_INT(grpc_deframe(two + used, sizeof(two) - used, 1024, &msg, &len, &comp), 1);
	CHECK_INT(len, 0);
	CHECK(comp);
	CHECK(msg == two + sizeof(two));
	used += GRPC_FRAME_HEADER + len;
	CHECK_INT(used, sizeof(two));
	CHECK_INT(grpc_deframe(two + used, 0, 1024, &msg, &len, &comp), 0);

	/* max: exactly max is fine, max + 1 is refused from the header alone */
	uint8_t big[5 + 300] = { 0, 0, 0, 0x01, 0x2c }; /* 300 */
	CHECK_INT(grpc_deframe(big, sizeof(big), 300, &msg, &len, &comp), 1);
	CHECK_INT(len, 300);
	CHECK_INT(grpc_deframe(big, sizeof(big), 299, &msg, &len, &comp), -EMSGSIZE);
	CHECK_INT(grpc_deframe(big, 5, 299, &msg, &len, &comp), -EMSGSIZE);
	CHECK_INT(grpc_deframe(big, 5, 300, &msg, &len, &comp), 0);
	CHECK_INT(grpc_deframe(big, 5, 0, &msg, &len, &comp), -EMSGSIZE);
	const uint8_t huge[] = { 0, 0xff, 0xff, 0xff, 0xff };
	CHECK_INT(grpc_deframe(huge, 5, 4u << 20, &msg, &len, &comp), -EMSGSIZE);
	CHECK_INT(grpc_deframe(huge, 5, SIZE_MAX, &msg, &len, &comp), 0);
	const uint8_t empty[] = { 0, 0, 0, 0, 0 };
	CHECK_INT(grpc_deframe(empty, 5, 0, &msg, &len, &comp), 1);
	CHECK_INT(len, 0);

	/* flag byte: only 0 and 1 */
	for (int flag = 2; flag < 256; flag++) {
		const uint8_t bad[] = { (uint8_t)flag, 0, 0, 0, 0 };
		CHECK_INT(grpc_deframe(bad, 5, 1024, &msg, &len, &comp), -EPROTO);
	}
	/* a bad flag with too little data is still "need more" */
	const uint8_t badflag[] = { 0x80, 0, 0 };
	CHECK_INT(grpc_deframe(badflag, 3, 1024, &msg, &len, &comp), 0);
}

static void test_frame_round_trip(void)
{
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT, empty = MVIRT__LOG__LOG_ENTRY__INIT;
	char *related[] = { "123e4567-e89b-42d3-a456-426614174000", "vm-1" };
	struct buf b = { 0 };
	const uint8_t *msg;
	size_t len;
	bool comp;

	e.id = "42";
	e.timestamp_ns = 1735787045123456789LL;
	e.message = "disk attached \xe2\x9c\x93";
	e.level = MVIRT__LOG__LOG_LEVEL__WARN;
	e.component = "vmm";
	e.n_related_object_ids = 2;
	e.related_object_ids = related;

	buf_append(&b, "junk", 4);
	buf_consume(&b, 4);
	grpc_frame_message(&b, &e.base);
	grpc_frame_message(&b, &empty.base);
	grpc_frame_message(&b, &e.base);
	size_t packed = protobuf_c_message_get_packed_size(&e.base);
	CHECK_INT(buf_avail(&b), 3 * GRPC_FRAME_HEADER + 2 * packed);

	for (int i = 0; i < 3; i++) {
		CHECK_INT(grpc_deframe(buf_head(&b), buf_avail(&b), 1 << 20, &msg, &len, &comp), 1);
		CHECK(!comp);
		CHECK_INT(buf_head(&b)[0], 0);
		Mvirt__Log__LogEntry *d = mvirt__log__log_entry__unpack(NULL, len, msg);
		CHECK(d != NULL);
		if (d && i != 1) {
			CHECK_INT(len, packed);
			CHECK_STR(d->id, "42");
			CHECK_INT(d->timestamp_ns, e.timestamp_ns);
			CHECK_STR(d->message, e.message);
			CHECK_INT(d->level, MVIRT__LOG__LOG_LEVEL__WARN);
			CHECK_STR(d->component, "vmm");
			CHECK_INT(d->n_related_object_ids, 2);
			if (d->n_related_object_ids == 2) {
				CHECK_STR(d->related_object_ids[0], related[0]);
				CHECK_STR(d->related_object_ids[1], related[1]);
			}
		} else if (d) {
			CHECK_INT(len, 0); /* all defaults: an empty message */
			CHECK_STR(d->id, "");
			CHECK_INT(d->n_related_object_ids, 0);
		}
		mvirt__log__log_entry__free_unpacked(d, NULL);
		buf_consume(&b, GRPC_FRAME_HEADER + len);
	}
	CHECK_INT(buf_avail(&b), 0);

	/* the header carries the big-endian length */
	char text[70000];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	e.message = text;
	packed = protobuf_c_message_get_packed_size(&e.base);
	grpc_frame_message(&b, &e.base);
	const uint8_t *h = buf_head(&b);
	CHECK_INT(h[0], 0);
	CHECK_U64((uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4], packed);
	CHECK_INT(grpc_deframe(h, buf_avail(&b), packed - 1, &msg, &len, &comp), -EMSGSIZE);
	CHECK_INT(grpc_deframe(h, buf_avail(&b), packed, &msg, &len, &comp), 1);
	CHECK_INT(grpc_deframe(h, buf_avail(&b) - 1, packed, &msg, &len, &comp), 0);
	buf_free(&b);
}

static void check_timeout(int line, const char *s, int want_r, uint64_t want)
{
	uint64_t ns = 12345;
	int r = grpc_timeout_parse(s, strlen(s), &ns);

	tap_checks++;
	if (r != want_r || (r == 0 && ns != want) || (r < 0 && ns != 12345)) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "grpc_timeout_parse(\"%s\") = %d, %" PRIu64 "\n", s, r, ns);
	}
}
#define TIMEOUT(s, want) check_timeout(__LINE__, s, 0, want)
#define TIMEOUT_BAD(s) check_timeout(__LINE__, s, -EINVAL, 0)

static void test_timeout_parse(void)
{
	TIMEOUT("1H", 3600000000000ULL);
	TIMEOUT("2M", 120000000000ULL);
	TIMEOUT("1S", 1000000000ULL);
	TIMEOUT("250m", 250000000ULL);
	TIMEOUT("7u", 7000ULL);
	TIMEOUT("9n", 9ULL);
	TIMEOUT("0n", 0);
	TIMEOUT("0S", 0);
	TIMEOUT("00000001S", 1000000000ULL);
	TIMEOUT("99999999n", 99999999ULL);
	TIMEOUT("99999999S", 99999999000000000ULL);
	TIMEOUT("99999999M", 5999999940000000000ULL);
	TIMEOUT("5124095H", 5124095ULL * 3600000000000ULL);
	/* beyond 2^64 ns (~5124095 h): saturated, never wrapped to a short timeout */
	TIMEOUT("5124096H", UINT64_MAX);
	TIMEOUT("99999999H", UINT64_MAX);

	TIMEOUT_BAD("");
	TIMEOUT_BAD("S");
	TIMEOUT_BAD("1");
	TIMEOUT_BAD("10");
	TIMEOUT_BAD("123456789S"); /* 9 digits */
	TIMEOUT_BAD("000000001S");
	TIMEOUT_BAD("1s");
	TIMEOUT_BAD("1h");
	TIMEOUT_BAD("1U");
	TIMEOUT_BAD("1N");
	TIMEOUT_BAD("1x");
	TIMEOUT_BAD("1SS");
	TIMEOUT_BAD("-1S");
	TIMEOUT_BAD("+1S");
	TIMEOUT_BAD(" 1S");
	TIMEOUT_BAD("1 S");
	TIMEOUT_BAD("1.5S");
	TIMEOUT_BAD("aS");
	TIMEOUT_BAD("0x1S");

	/* n is authoritative: no NUL needed, trailing bytes outside n ignored */
	uint64_t ns = 0;
	CHECK_INT(grpc_timeout_parse("15Sjunk", 3, &ns), 0);
	CHECK_U64(ns, 15000000000ULL);
	CHECK_INT(grpc_timeout_parse("1\0S", 3, &ns), -EINVAL);
}

static void check_format_round_trip(int line, uint64_t ns)
{
	char out[16];
	uint64_t back = 0;

	memset(out, 'x', sizeof(out));
	grpc_timeout_format(ns, out);
	size_t n = strnlen(out, sizeof(out));
	int r = n < sizeof(out) ? grpc_timeout_parse(out, n, &back) : -1;
	tap_checks++;
	/* at most 8 digits and a unit; never shorter than asked; rounded up by
	 * less than one unit */
	if (n < 2 || n > 9 || r != 0 || back < ns ||
	    (ns < UINT64_MAX - 3600000000000ULL && back - ns >= 3600000000000ULL)) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "grpc_timeout_format(%" PRIu64 ") = \"%.15s\" -> %d, %" PRIu64 "\n",
			ns, out, r, back);
	}
}

static void test_timeout_format(void)
{
	char out[16];

	grpc_timeout_format(0, out);
	CHECK_STR(out, "0n");
	grpc_timeout_format(1, out);
	CHECK_STR(out, "1n");
	grpc_timeout_format(99999999, out);
	CHECK_STR(out, "99999999n");
	grpc_timeout_format(100000000, out);
	CHECK_STR(out, "100000u");
	grpc_timeout_format(100000001, out); /* rounded up */
	CHECK_STR(out, "100001u");
	grpc_timeout_format(1000000000, out);
	CHECK_STR(out, "1000000u");
	grpc_timeout_format(99999999000ULL, out);
	CHECK_STR(out, "99999999u");
	grpc_timeout_format(99999999001ULL, out);
	CHECK_STR(out, "100000m");
	grpc_timeout_format(99999999000000ULL, out);
	CHECK_STR(out, "99999999m");
	grpc_timeout_format(3600ULL * 1000000000ULL * 1000, out);
	CHECK_STR(out, "3600000S");
	grpc_timeout_format(99999999000000001ULL, out);
	CHECK_STR(out, "1666667M");
	grpc_timeout_format(UINT64_MAX, out);
	CHECK_STR(out, "5124096H");

	static const uint64_t values[] = {
		0, 1, 2, 999, 1000, 1001, 99999999, 100000000, 100000001, 123456789,
		1000000000, 30000000000ULL, 99999999999ULL, 100000000000ULL, 99999999999999ULL,
		100000000000000ULL, 99999999999999999ULL, 100000000000000000ULL,
		5999999940000000000ULL, 5999999940000000001ULL, 6000000000000000000ULL,
		5124095ULL * 3600000000000ULL, 5124095ULL * 3600000000000ULL + 1,
		UINT64_MAX - 3600000000000ULL, UINT64_MAX - 1000, UINT64_MAX - 1, UINT64_MAX,
	};
	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		check_format_round_trip(__LINE__, values[i]);
	for (uint64_t v = 1; v < UINT64_MAX / 3; v = v * 3 + (v & 7))
		check_format_round_trip(__LINE__, v);
	for (int k = 0; k < 64; k++) {
		check_format_round_trip(__LINE__, 1ULL << k);
		check_format_round_trip(__LINE__, (1ULL << k) - 1);
		check_format_round_trip(__LINE__, (1ULL << k) + 1);
	}
}

static void check_percent(int line, const char *plain, const char *encoded)
{
	char *e = grpc_percent_encode(plain);
	char *d = grpc_percent_decode(e, strlen(e));

	tap_checks++;
	if (strcmp(e, encoded) != 0 || strcmp(d, plain) != 0) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "percent \"%s\": encoded \"%s\" (want \"%s\"), decoded \"%s\"\n",
			plain, e, encoded, d);
	}
	free(e);
	free(d);
}
#define PERCENT(plain, encoded) check_percent(__LINE__, plain, encoded)

static void check_decode(int line, const char *s, size_t n, const char *want)
{
	char *d = grpc_percent_decode(s, n);

	tap_checks++;
	if (strcmp(d, want) != 0) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "grpc_percent_decode(\"%.*s\") = \"%s\", want \"%s\"\n", (int)n, s,
			d, want);
	}
	free(d);
}
#define DECODE(s, want) check_decode(__LINE__, s, strlen(s), want)

static void test_percent(void)
{
	PERCENT("", "");
	PERCENT("hello world", "hello world");
	PERCENT("100%", "100%25");
	PERCENT("%%", "%25%25");
	PERCENT("%41", "%2541");
	PERCENT("a\nb\tc\r", "a%0Ab%09c%0D");
	PERCENT("~ !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}", "~ !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}");
	PERCENT("\x7f", "%7F");
	PERCENT("\x01\x1f", "%01%1F");
	PERCENT("caf\xc3\xa9", "caf%C3%A9");
	PERCENT("\xe2\x82\xac 5", "%E2%82%AC 5");
	PERCENT("\xf0\x9f\x98\x80", "%F0%9F%98%80");
	PERCENT("\xff\xfe", "%FF%FE"); /* not UTF-8: bytes still survive */

	/* every byte value survives a round trip */
	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	char *e = grpc_percent_encode(all);
	char *d = grpc_percent_decode(e, strlen(e));
	CHECK_STR(d, all);
	for (const char *p = e; *p; p++)
		CHECK(*p >= 0x20 && *p <= 0x7e);
	free(e);
	free(d);

	/* decoding: both hex cases; malformed sequences kept literally */
	DECODE("%c3%a9", "\xc3\xa9");
	DECODE("%C3%A9", "\xc3\xa9");
	DECODE("%41", "A");
	DECODE("x%41", "xA");
	DECODE("%41x", "Ax");
	DECODE("%", "%");
	DECODE("%%", "%%");
	DECODE("%4", "%4");
	DECODE("abc%", "abc%");
	DECODE("abc%4", "abc%4");
	DECODE("%zz", "%zz");
	DECODE("%4g", "%4g");
	DECODE("%g4", "%g4");
	DECODE("%%41", "%A");
	DECODE("%2541", "%41"); /* decoded once, not twice */
	DECODE("% 41", "% 41");
	DECODE("%+1", "%+1");
	DECODE("100%", "100%");
	DECODE("50% off", "50% off");
	/* n bounds the input: a sequence cut by n is literal */
	check_decode(__LINE__, "%41BC", 3, "A");
	check_decode(__LINE__, "%41BC", 2, "%4");
	check_decode(__LINE__, "%41BC", 0, "");
	check_decode(__LINE__, "ab\0cd", 5, "ab");
}

int main(void)
{
	test_deframe();
	test_frame_round_trip();
	test_timeout_parse();
	test_timeout_format();
	test_percent();
	return test_done();
}
