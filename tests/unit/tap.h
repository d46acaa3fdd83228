/* SPDX-License-Identifier: MIT */
/*
 * The smallest useful assertion helper for the unit tests: every failed check
 * prints file:line and what was expected; test_done() reports the totals and
 * gives the exit status (non-zero when anything failed). Checks go on after a
 * failure so that one run shows every broken case.
 */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_checks, tap_failures;

static inline __attribute__((unused)) int tap_fail(const char *file, int line)
{
	tap_failures++;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	return 0;
}

/* CHECK(cond): cond must hold. */
#define CHECK(cond)                                                         \
	do {                                                                \
		tap_checks++;                                               \
		if (!(cond)) {                                              \
			tap_fail(__FILE__, __LINE__);                       \
			fprintf(stderr, "%s\n", #cond);                     \
		}                                                           \
	} while (0)

/* CHECK_INT(a, b): signed integers a == b (printed on failure). */
#define CHECK_INT(a, b)                                                     \
	do {                                                                \
		long long a_ = (long long)(a), b_ = (long long)(b);         \
		tap_checks++;                                               \
		if (a_ != b_) {                                             \
			tap_fail(__FILE__, __LINE__);                       \
			fprintf(stderr, "%s == %s: %lld != %lld\n", #a, #b, a_, b_); \
		}                                                           \
	} while (0)

/* CHECK_U64(a, b): unsigned 64-bit a == b. */
#define CHECK_U64(a, b)                                                     \
	do {                                                                \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);            \
		tap_checks++;                                               \
		if (a_ != b_) {                                             \
			tap_fail(__FILE__, __LINE__);                       \
			fprintf(stderr, "%s == %s: %" PRIu64 " != %" PRIu64 "\n", #a, #b, a_, b_); \
		}                                                           \
	} while (0)

/* CHECK_STR(a, b): C strings equal (NULL only equals NULL). */
#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *a_ = (a), *b_ = (b);                            \
		tap_checks++;                                               \
		if (!(a_ == b_ || (a_ && b_ && strcmp(a_, b_) == 0))) {     \
			tap_fail(__FILE__, __LINE__);                       \
			fprintf(stderr, "%s == %s: \"%s\" != \"%s\"\n", #a, #b, \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
		}                                                           \
	} while (0)

/* CHECK_MEM(a, b, n): n bytes equal. */
#define CHECK_MEM(a, b, n)                                                  \
	do {                                                                \
		tap_checks++;                                               \
		if (memcmp((a), (b), (n)) != 0) {                           \
			tap_fail(__FILE__, __LINE__);                       \
			fprintf(stderr, "memcmp(%s, %s, %s) != 0\n", #a, #b, #n); \
		}                                                           \
	} while (0)

/* End of main: return test_done(); */
static inline __attribute__((unused)) int test_done(void)
{
	printf("%u checks, %u failed\n", tap_checks, tap_failures);
	return tap_failures ? 1 : 0;
}
