/* SPDX-License-Identifier: MIT */
/*
 * The pieces of an HTTP response the image download interprets itself: the
 * status line, header lines, "Accept-Ranges" tokens and the "Content-Range" of
 * a resumed transfer. They are bytes from an outside server, so each parser
 * here is a small pure function, bounds-checked, that the unit tests and a
 * fuzz target exercise without any network.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest status reason phrase kept (longer ones are cut). */
#define HTTP_REASON_MAX 64

/*
 * "HTTP/1.1 404 Not Found" (with or without the line end; HTTP/2 sends no
 * reason): the three-digit code and the reason phrase, cut to fit reason_size
 * and with control characters replaced by '?'. Returns 0, or -EBADMSG when
 * the line is not a status line.
 */
int http_parse_status_line(const char *line, size_t len, unsigned *code, char *reason,
			   size_t reason_size);

/*
 * If the header line ("Name: value", line end optional) is the header name
 * (compared case-insensitively), points *value at its value without the
 * surrounding white space and returns true.
 */
bool http_header_value(const char *line, size_t len, const char *name, const char **value,
		       size_t *value_len);

/* true when the comma-separated list holds token (case-insensitively), e.g.
 * "Accept-Ranges: bytes". */
bool http_token_list_has(const char *list, size_t len, const char *token);

/* A satisfied byte range: bytes first..last (inclusive) of a resource of
 * total bytes, total -1 when the server says "*" (unknown). */
struct http_content_range {
	uint64_t first;
	uint64_t last;
	int64_t total;
};

/*
 * "bytes FIRST-LAST/TOTAL" where TOTAL may be "*" (RFC 9110, 14.4). Numbers
 * are decimal and at most 2^63-1. Returns 0, or -EBADMSG for anything else,
 * including last < first, last >= total and the unsatisfied form of a 416
 * answer (an asterisk instead of FIRST-LAST).
 */
int http_parse_content_range(const char *value, size_t len, struct http_content_range *out);

/*
 * Whether a 206 answer to "Range: bytes=<offset>-" continues a transfer of
 * which offset bytes were received and whose size is length (-1 unknown):
 * the range must start at offset and, when both are known, the totals must
 * agree, and it must reach the end of the resource when the total is known.
 * Returns 0 or -EBADMSG with a one-line reason in why.
 */
int http_range_continues(const struct http_content_range *range, uint64_t offset, int64_t length,
			 const char **why);
