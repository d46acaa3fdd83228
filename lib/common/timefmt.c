/* SPDX-License-Identifier: MIT */
#include "timefmt.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

uint64_t now_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * (uint64_t)NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int rfc3339_format(int64_t ns, char out[RFC3339_LEN])
{
	int64_t sec = ns / NSEC_PER_SEC;
	int64_t frac = ns % NSEC_PER_SEC;
	struct tm tm;
	time_t t;

	if (frac < 0) {
		frac += NSEC_PER_SEC;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm))
		return -ERANGE;
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -ERANGE;
	snprintf(out, RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%09d+00:00",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
		 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)frac);
	return 0;
}

/* Read exactly n digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		x = x * 10 + (c - '0');
	}
	*p += n;
	*v = x;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's method). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

static int parse_absolute(const char *p, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 1;
	int64_t frac = 0;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
		    !digits(&p, 2, &s))
			return -EINVAL;
		if (h > 23 || mi > 59 || s > 60)
			return -EINVAL;
		if (*p == '.') {
			int64_t scale = NSEC_PER_SEC;
			int n = 0;
			p++;
			while (*p >= '0' && *p <= '9') {
				if (n++ < 9) {
					scale /= 10;
					frac += (*p - '0') * scale;
				}
				p++;
			}
			if (n == 0)
				return -EINVAL;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 ||
			    om > 59)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		if (*p)
			return -EINVAL;
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
		       sign * (oh * 3600 + om * 60);
	/* int64 nanoseconds end in 1677 and 2262; a negative time with a
	 * fraction is reached from the second above, so INT64_MIN still fits */
	if (secs < 0 && frac > 0) {
		secs++;
		frac -= NSEC_PER_SEC;
	}
	int64_t ns;
	if (__builtin_mul_overflow(secs, NSEC_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns))
		return -ERANGE;
	*out = ns;
	return 0;
}

static int unit_ns(const char **p, int64_t *unit)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {
		{ "ms", 1000000LL },		 { "us", 1000LL },
		{ "ns", 1LL },			 { "s", NSEC_PER_SEC },
		{ "m", 60 * NSEC_PER_SEC },	 { "h", 3600 * NSEC_PER_SEC },
		{ "d", 86400 * NSEC_PER_SEC },	 { "w", 7 * 86400 * NSEC_PER_SEC },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);
		if (strncmp(*p, units[i].name, n) == 0) {
			*p += n;
			*unit = units[i].ns;
			return 0;
		}
	}
	return -EINVAL;
}

/* "-1h30m": a sign, then one or more <number><unit> groups. */
static int parse_relative(const char *p, int64_t now_ns, int64_t *out)
{
	int sign = *p++ == '-' ? -1 : 1;
	int64_t total = 0;

	if (!*p)
		return -EINVAL;
	while (*p) {
		int64_t v = 0, unit;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			if (v > (INT64_MAX - (*p - '0')) / 10)
				return -ERANGE;
			v = v * 10 + (*p++ - '0');
		}
		if (unit_ns(&p, &unit) < 0)
			return -EINVAL;
		if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
			return -ERANGE;
		total += v * unit;
	}
	if ((sign < 0 && now_ns < INT64_MIN + total) || (sign > 0 && now_ns > INT64_MAX - total))
		return -ERANGE;
	*out = now_ns + sign * total;
	return 0;
}

int time_parse(const char *s, int64_t now_ns, int64_t *out_ns)
{
	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "now") == 0) {
		*out_ns = now_ns;
		return 0;
	}
	if (s[0] == '-' || s[0] == '+')
		return parse_relative(s, now_ns, out_ns);
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_absolute(s, out_ns);
	/* A bare integer: nanoseconds since the epoch, as the API carries them. */
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	*out_ns = v;
	return 0;
}
