/* SPDX-License-Identifier: MIT */
/*
 * The HTTP response parsers of the image download on hostile bytes: the
 * input is one header line as a server might send it; it goes through the
 * status line, header, token list and Content-Range parsers. Every call must
 * stay inside the input, and what is accepted must be consistent (a range
 * inside its total, a reason without control characters).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data, *value;
	char reason[HTTP_REASON_MAX];
	struct http_content_range range;
	size_t value_len;
	unsigned code;
	const char *why;

	if (http_parse_status_line(line, size, &code, reason, sizeof(reason)) == 0) {
		if (code < 100 || code > 999 || strlen(reason) >= sizeof(reason))
			abort();
		for (const char *p = reason; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	}
	(void)http_token_list_has(line, size, "bytes");
	if (http_header_value(line, size, "Content-Range", &value, &value_len)) {
		if (value < line || value + value_len > line + size)
			abort();
		if (http_parse_content_range(value, value_len, &range) == 0) {
			if (range.last < range.first ||
			    (range.total >= 0 && range.last >= (uint64_t)range.total))
				abort();
			if (http_range_continues(&range, range.first, range.total, &why) == 0 &&
			    range.total >= 0 && range.last + 1 != (uint64_t)range.total)
				abort();
		}
	}
	/* the value alone, as the header callback would pass it */
	if (http_parse_content_range(line, size, &range) == 0 &&
	    (range.last < range.first || (range.total >= 0 && range.last >= (uint64_t)range.total)))
		abort();
	return 0;
}
