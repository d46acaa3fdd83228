/* SPDX-License-Identifier: MIT */
/*
 * Sizes typed by users ("1.5T") and sizes shown to them ("1.5 GiB").
 * size_parse() reads untrusted input: it never reads past the string, uses
 * a fixed amount of memory, and computes the fraction exactly (decimal
 * digits doubled once per power of two) so that "1.1M" is the same number
 * of bytes on every machine, with no floating point in between.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "size.h"

/* More fraction digits than this (after trailing zeros) are refused: they
 * cannot be meant, and they would need unbounded work space. */
#define FRACTION_DIGITS_MAX 64

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The unit after the number: "", "B", "K", "KB", "KiB" ... "EiB" in any
 * case. Returns the power of two it multiplies by, or -EINVAL. */
static int unit_shift(const char *u)
{
	static const char letters[] = "kmgtpe";
	const char *l;
	int shift = 0;

	if (*u && (l = strchr(letters, to_lower(*u)))) {
		shift = 10 * (int)(l - letters + 1);
		u++;
		/* "KiB" and "KB" are units, "Ki" is none */
		if (to_lower(*u) == 'i' && to_lower(*++u) != 'b')
			return -EINVAL;
	}
	if (to_lower(*u) == 'b')
		u++;
	return *u ? -EINVAL : shift;
}

int size_parse(const char *s, uint64_t *out)
{
	uint8_t frac[FRACTION_DIGITS_MAX];
	const char *int_digits = s, *frac_digits = NULL;
	size_t n_int = 0, n_frac = 0;
	uint64_t whole = 0, frac_bytes = 0, total;
	int shift;

	/* syntax first, so that "99999999999999999999X" is malformed rather than too large */
	while (is_digit(int_digits[n_int]))
		n_int++;
	if (n_int == 0)
		return -EINVAL;
	s += n_int;
	if (*s == '.') {
		frac_digits = ++s;
		while (is_digit(frac_digits[n_frac]))
			n_frac++;
		if (n_frac == 0)
			return -EINVAL;
		s += n_frac;
	}
	shift = unit_shift(s);
	if (shift < 0)
		return shift;

	for (size_t i = 0; i < n_int; i++) {
		unsigned d = (unsigned)(int_digits[i] - '0');
		if (whole > (UINT64_MAX - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (whole > (UINT64_MAX >> shift))
		return -ERANGE;

	while (n_frac > 0 && frac_digits[n_frac - 1] == '0')
		n_frac--;
	if (n_frac > FRACTION_DIGITS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n_frac; i++)
		frac[i] = (uint8_t)(frac_digits[i] - '0');
	/* 0.d1d2d3... × 2^shift: double the decimal digits shift times; what
	 * carries out of the first digit is whole bytes (< 2^shift, so no
	 * overflow), what stays decides the rounding */
	for (int step = 0; step < shift && n_frac > 0; step++) {
		unsigned carry = 0;
		for (size_t i = n_frac; i-- > 0;) {
			unsigned v = frac[i] * 2u + carry;
			frac[i] = (uint8_t)(v % 10);
			carry = v / 10;
		}
		frac_bytes = frac_bytes * 2 + carry;
	}
	if (n_frac > 0 && frac[0] >= 5)
		frac_bytes++;

	total = whole << shift;
	if (total > UINT64_MAX - frac_bytes)
		return -ERANGE;
	total += frac_bytes;
	if (total == 0)
		return -EINVAL;
	*out = total;
	return 0;
}

char *size_format(uint64_t bytes, char buf[static SIZE_STR_MAX])
{
	static const char units[] = "KMGTPE";
	unsigned unit = 1; /* 1024^unit, unit 1 = KiB */
	unsigned __int128 tenths;

	if (bytes < 1024) {
		snprintf(buf, SIZE_STR_MAX, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (unit < 6 && bytes >> (10 * (unit + 1)) != 0)
		unit++;
	tenths = ((unsigned __int128)bytes * 10 + (1ull << (10 * unit - 1))) >> (10 * unit);
	/* 1023.96 KiB rounds to 1024.0 KiB: say 1 MiB instead */
	if (tenths >= 10240 && unit < 6) {
		unit++;
		tenths = ((unsigned __int128)bytes * 10 + (1ull << (10 * unit - 1))) >> (10 * unit);
	}
	if (tenths % 10 == 0)
		snprintf(buf, SIZE_STR_MAX, "%u %ciB", (unsigned)(tenths / 10), units[unit - 1]);
	else
		snprintf(buf, SIZE_STR_MAX, "%u.%u %ciB", (unsigned)(tenths / 10),
			 (unsigned)(tenths % 10), units[unit - 1]);
	return buf;
}
