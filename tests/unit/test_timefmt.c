/* SPDX-License-Identifier: MIT */
/* lib/common/timefmt.c: rfc3339_format and time_parse. */
#include <errno.h>
#include <stdint.h>

#include "tap.h"
#include "timefmt.h"

#define S NSEC_PER_SEC
#define NOW (1735787045LL * S + 123456789) /* 2025-01-02T03:04:05.123456789Z */

static void check_format(int line, int64_t ns, const char *want)
{
	char out[RFC3339_LEN];

	memset(out, 'x', sizeof(out));
	tap_checks++;
	if (rfc3339_format(ns, out) != 0 || strcmp(out, want) != 0) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "rfc3339_format(%" PRId64 ") = \"%.*s\", want \"%s\"\n", ns,
			RFC3339_LEN - 1, out, want);
	}
}
#define FORMAT(ns, want) check_format(__LINE__, ns, want)

static void test_format(void)
{
	FORMAT(0, "1970-01-01T00:00:00.000000000+00:00");
	FORMAT(1, "1970-01-01T00:00:00.000000001+00:00");
	FORMAT(999999999, "1970-01-01T00:00:00.999999999+00:00");
	FORMAT(S, "1970-01-01T00:00:01.000000000+00:00");
	FORMAT(-1, "1969-12-31T23:59:59.999999999+00:00");
	FORMAT(-S, "1969-12-31T23:59:59.000000000+00:00");
	FORMAT(-S - 1, "1969-12-31T23:59:58.999999999+00:00");
	FORMAT(-S + 1, "1969-12-31T23:59:59.000000001+00:00");
	FORMAT(NOW, "2025-01-02T03:04:05.123456789+00:00");
	FORMAT(1735689600LL * S, "2025-01-01T00:00:00.000000000+00:00");
	FORMAT(1735689600LL * S - 1, "2024-12-31T23:59:59.999999999+00:00");
	FORMAT(946684799LL * S + 500000000, "1999-12-31T23:59:59.500000000+00:00");
	FORMAT(946684800LL * S, "2000-01-01T00:00:00.000000000+00:00");
	FORMAT(1709208000LL * S, "2024-02-29T12:00:00.000000000+00:00");
	FORMAT(951868800LL * S - S, "2000-02-29T23:59:59.000000000+00:00");
	FORMAT(2147483648LL * S, "2038-01-19T03:14:08.000000000+00:00");
	FORMAT(-2208988800LL * S, "1900-01-01T00:00:00.000000000+00:00");
	FORMAT(INT64_MAX, "2262-04-11T23:47:16.854775807+00:00");
	FORMAT(INT64_MIN, "1677-09-21T00:12:43.145224192+00:00");
}

static void check_parse(int line, const char *s, int64_t now, int want_r, int64_t want)
{
	int64_t out = 0x5a5a5a5a;
	int r = time_parse(s, now, &out);

	tap_checks++;
	if (r != want_r || (r == 0 && out != want) || (r < 0 && out != 0x5a5a5a5a)) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "time_parse(\"%s\") = %d, %" PRId64 "; want %d, %" PRId64 "\n", s, r,
			out, want_r, want_r == 0 ? want : 0x5a5a5a5a);
	}
}
#define PARSE(s, want) check_parse(__LINE__, s, NOW, 0, want)
#define PARSE_NOW(s, now, want) check_parse(__LINE__, s, now, 0, want)
#define PARSE_ERR(s, err) check_parse(__LINE__, s, NOW, err, 0)
#define PARSE_NOW_ERR(s, now, err) check_parse(__LINE__, s, now, err, 0)

static void test_parse_absolute(void)
{
	const int64_t t = 1735787045LL * S; /* 2025-01-02T03:04:05Z */

	PARSE("1970-01-01T00:00:00Z", 0);
	PARSE("2025-01-02T03:04:05Z", t);
	PARSE("2025-01-02t03:04:05z", t);
	PARSE("2025-01-02 03:04:05Z", t);
	PARSE("2025-01-02T03:04:05+00:00", t);
	PARSE("2025-01-02T03:04:05-00:00", t);
	PARSE("2025-01-02T05:04:05+02:00", t);
	PARSE("2025-01-01T21:34:05-05:30", t);
	PARSE("2025-01-02T03:04:05+23:59", t - (23 * 3600 + 59 * 60) * S);

	/* fractions: 1 to 9 digits, further digits are truncated */
	PARSE("2025-01-02T03:04:05.1Z", t + 100000000);
	PARSE("2025-01-02T03:04:05.123Z", t + 123000000);
	PARSE("2025-01-02T03:04:05.000001Z", t + 1000);
	PARSE("2025-01-02T03:04:05.123456789Z", t + 123456789);
	PARSE("2025-01-02T03:04:05.1234567891Z", t + 123456789);
	PARSE("2025-01-02T03:04:05.999999999999Z", t + 999999999);
	PARSE("2025-01-02T05:04:05.5+02:00", t + 500000000);

	/* dates: midnight UTC */
	PARSE("2025-01-02", 1735776000LL * S);
	PARSE("1970-01-01", 0);
	PARSE("1969-12-31", -86400 * S);
	PARSE("2024-02-29", (1709208000LL - 12 * 3600) * S);
	PARSE("2000-02-29", (951868800LL - 86400) * S);
	PARSE("2024-12-31T23:59:59.999999999Z", 1735689600LL * S - 1);
	PARSE("2025-01-01T00:00:00Z", 1735689600LL * S);
	PARSE("1999-12-31T23:59:60Z", 946684800LL * S); /* leap second */
	PARSE("1969-12-31T23:59:59.999999999Z", -1);
	PARSE("1900-01-01T00:00:00Z", -2208988800LL * S);

	/* the limits of int64 nanoseconds */
	PARSE("2262-04-11T23:47:16.854775807Z", INT64_MAX);
	PARSE_ERR("2262-04-11T23:47:16.854775808Z", -ERANGE);
	PARSE_ERR("2262-04-12", -ERANGE);
	PARSE_ERR("9999-12-31T23:59:59Z", -ERANGE);
	PARSE("1677-09-21T00:12:43.145224192Z", INT64_MIN);
	PARSE_ERR("1677-09-21T00:12:43.145224191Z", -ERANGE);
	PARSE_ERR("1677-09-21T00:12:42Z", -ERANGE);
	PARSE_ERR("0000-01-01", -ERANGE);
	PARSE("1677-09-21T01:12:43.145224192+01:00", INT64_MIN);

	/* malformed */
	PARSE_ERR("2025-13-01", -EINVAL);
	PARSE_ERR("2025-00-01", -EINVAL);
	PARSE_ERR("2025-01-00", -EINVAL);
	PARSE_ERR("2025-01-32", -EINVAL);
	PARSE_ERR("2025-02-29", -EINVAL);
	PARSE_ERR("1900-02-29", -EINVAL);
	PARSE_ERR("2025-04-31", -EINVAL);
	PARSE_ERR("2025-1-02T03:04:05Z", -EINVAL);
	PARSE_ERR("2025/01/02", -EINVAL);
	PARSE_ERR("2025-01-02T", -EINVAL);
	PARSE_ERR("2025-01-02X03:04:05Z", -EINVAL);
	PARSE_ERR("2025-01-02T03:04", -EINVAL);
	PARSE_ERR("2025-01-02T03:04Z", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05", -EINVAL); /* no zone */
	PARSE_ERR("2025-01-02T24:00:00Z", -EINVAL);
	PARSE_ERR("2025-01-02T23:60:00Z", -EINVAL);
	PARSE_ERR("2025-01-02T23:59:61Z", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05.Z", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05.12", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05ZZ", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05Z ", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05+02", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05+0200", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05+24:00", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05+02:60", -EINVAL);
	PARSE_ERR("2025-01-02T03:04:05+02:00x", -EINVAL);
	PARSE_ERR("2025-01-02x", -EINVAL);
	PARSE_ERR("2025-01-0", -EINVAL);
	PARSE_ERR("2025-01-0a", -EINVAL);
	PARSE_ERR("12345-01-02", -EINVAL);
}

static void test_parse_relative(void)
{
	const int64_t h = 3600 * S;

	PARSE("now", NOW);
	PARSE_NOW("now", INT64_MIN, INT64_MIN);
	PARSE("-1h", NOW - h);
	PARSE("+1h", NOW + h);
	PARSE("-30m", NOW - 30 * 60 * S);
	PARSE("-1h30m", NOW - h - 30 * 60 * S);
	PARSE("-1h30m15s", NOW - h - 30 * 60 * S - 15 * S);
	PARSE("+2d", NOW + 2 * 24 * h);
	PARSE("-1w", NOW - 7 * 24 * h);
	PARSE("-90s", NOW - 90 * S);
	PARSE("-500ms", NOW - 500000000);
	PARSE("-1s500ms", NOW - 1500000000);
	PARSE("-250us", NOW - 250000);
	PARSE("-7ns", NOW - 7);
	PARSE("-0s", NOW);
	PARSE("-1m1ms", NOW - 60 * S - 1000000);
	PARSE("-1h1h", NOW - 2 * h); /* repeated units add up */
	PARSE("-0010s", NOW - 10 * S);

	PARSE_ERR("-", -EINVAL);
	PARSE_ERR("+", -EINVAL);
	PARSE_ERR("-1", -EINVAL);
	PARSE_ERR("-h", -EINVAL);
	PARSE_ERR("-1x", -EINVAL);
	PARSE_ERR("-1H", -EINVAL);
	PARSE_ERR("-1h-", -EINVAL);
	PARSE_ERR("-1h30", -EINVAL);
	PARSE_ERR("-1h 30m", -EINVAL);
	PARSE_ERR("--1h", -EINVAL);
	PARSE_ERR("-1.5h", -EINVAL);
	PARSE_ERR("- 1h", -EINVAL);
	PARSE_ERR("-1month", -EINVAL);

	/* overflow */
	PARSE_ERR("-99999999999999999999h", -ERANGE);
	PARSE_ERR("-9223372036854775808ns", -ERANGE);
	PARSE_NOW("-9223372036854775807ns", 0, -INT64_MAX);
	PARSE_NOW("-9223372036854775807ns", -1, INT64_MIN);
	PARSE_NOW_ERR("-9223372036854775807ns", -2, -ERANGE);
	PARSE_NOW("+9223372036854775807ns", 0, INT64_MAX);
	PARSE_NOW_ERR("+1ns", INT64_MAX, -ERANGE);
	PARSE_NOW_ERR("-1ns", INT64_MIN, -ERANGE);
	PARSE_NOW("-1ns", INT64_MAX, INT64_MAX - 1);
	PARSE_ERR("-300000w", -ERANGE);
	PARSE_ERR("+15250w", -ERANGE); /* the offset fits, added to now not */
	PARSE_NOW("-15250w", 0, -15250LL * 7 * 86400 * S);
	PARSE("-9223372036s", NOW - 9223372036LL * S);
	PARSE_ERR("-9223372037s", -ERANGE);
	PARSE_NOW_ERR("-5000000000000000000ns5000000000000000000ns", 0, -ERANGE);
}

static void test_parse_other(void)
{
	PARSE_ERR("", -EINVAL);
	PARSE_ERR("abc", -EINVAL);
	PARSE_ERR("Now", -EINVAL);
	PARSE_ERR("now ", -EINVAL);
	PARSE_ERR(" now", -EINVAL);
	PARSE_ERR("yesterday", -EINVAL);
	tap_checks++;
	if (time_parse(NULL, 0, &(int64_t){ 0 }) != -EINVAL)
		tap_fail(__FILE__, __LINE__), fprintf(stderr, "time_parse(NULL)\n");

	/* a bare integer is nanoseconds since the epoch */
	PARSE("0", 0);
	PARSE("123", 123);
	PARSE("1735787045123456789", 1735787045123456789LL);
	PARSE("9223372036854775807", INT64_MAX);
	PARSE_ERR("9223372036854775808", -ERANGE);
	PARSE_ERR("99999999999999999999", -ERANGE);
	PARSE_ERR("12a", -EINVAL);
	PARSE_ERR("1.5", -EINVAL);
}

static void test_round_trip(void)
{
	static const int64_t values[] = {
		0, 1, -1, NOW, -NOW, 1709208000LL * S + 7, 951868800LL * S - 1, INT64_MAX,
		INT64_MIN, INT64_MIN + 1, INT64_MAX - 1, -2208988800LL * S + 999999999,
	};
	char out[RFC3339_LEN];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		int64_t back = 0;
		CHECK_INT(rfc3339_format(values[i], out), 0);
		CHECK_INT(time_parse(out, 0, &back), 0);
		CHECK_INT(back, values[i]);
	}
	/* every day boundary for a few years around a leap year and the epoch */
	for (int64_t d = -800; d < 800; d++) {
		int64_t ns = d * 86400 * S + (d & 1 ? 1 : -1), back = 0;
		CHECK_INT(rfc3339_format(ns, out), 0);
		CHECK_INT(time_parse(out, 0, &back), 0);
		CHECK_INT(back, ns);
	}
}

int main(void)
{
	test_format();
	test_parse_absolute();
	test_parse_relative();
	test_parse_other();
	test_round_trip();
	return test_done();
}
