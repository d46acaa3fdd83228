/* SPDX-License-Identifier: MIT */
/* Time: nanosecond clocks, RFC 3339 formatting and parsing of user-given times. */
#pragma once

#include <stdint.h>

#define NSEC_PER_SEC 1000000000LL
#define RFC3339_LEN 48

int64_t now_realtime_ns(void);
uint64_t now_monotonic_ns(void);

/* "2025-01-02T03:04:05.123456789+00:00" (always UTC, 9 fraction digits). */
int rfc3339_format(int64_t ns, char out[RFC3339_LEN]);

/*
 * Parse a point in time given by a user, relative to now_ns:
 *   RFC 3339 ("2025-01-02T03:04:05Z", fractions, "+02:00" offsets, ' ' or 'T'),
 *   a date "2025-01-02" (midnight UTC), "now",
 *   a relative offset "-1h", "-30m", "+2d", "-1h30m", "-90s", "-1w", "-500ms".
 *   a bare integer is taken as nanoseconds since the epoch.
 * Returns 0 or -EINVAL / -ERANGE.
 */
int time_parse(const char *s, int64_t now_ns, int64_t *out_ns);
