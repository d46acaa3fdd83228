/* SPDX-License-Identifier: MIT */
/*
 * Sizes as people type and read them: "10G", "512M", "1.5T", "4096",
 * "16KiB" in, "1.5 GiB" out. Units are powers of 1024.
 */
#pragma once

#include <stdint.h>

/* Room for any size_format() result ("1023.9 KiB" is the longest), NUL included. */
#define SIZE_STR_MAX 32

/*
 * Parse a size: a decimal number with an optional fraction ("1.5"),
 * directly followed by an optional unit K, M, G, T, P or E (powers of
 * 1024; E because size_format() prints it) that may be written KiB or KB
 * (and so on), or a plain B for bytes, letters in any case. The result
 * is rounded to whole bytes (half up) and must be > 0. Returns 0, -EINVAL
 * (malformed, or zero) or -ERANGE (more than 2^64 - 1 bytes).
 */
int size_parse(const char *s, uint64_t *out);

/* "0 B", "512 B", "1.5 KiB", "10 GiB": one decimal, dropped when it is 0.
 * Returns buf. */
char *size_format(uint64_t bytes, char buf[static SIZE_STR_MAX]);
