/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the CLI's size parser (user input) on arbitrary bytes.
 * Whatever it accepts must be > 0 and must survive a format/parse round trip
 * within the formatter's one-decimal rounding.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), text[SIZE_STR_MAX], compact[SIZE_STR_MAX];
	uint64_t v = 0, back = 0;
	size_t j = 0;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (size_parse(s, &v) == 0) {
		if (v == 0)
			abort();
		size_format(v, text);
		for (size_t i = 0; text[i]; i++)
			if (text[i] != ' ')
				compact[j++] = text[i];
		compact[j] = '\0';
		r = size_parse(compact, &back);
		/* near 2^64 the rounded text ("16 EiB") may name one byte too many */
		if (r == -ERANGE && v > UINT64_MAX - UINT64_MAX / 19)
			back = v;
		else if (r != 0)
			abort();
		if ((back > v ? back - v : v - back) > v / 19)
			abort();
	}
	free(s);
	return 0;
}
