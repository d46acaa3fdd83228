/* SPDX-License-Identifier: MIT */
/*
 * Parsers of the HTTP response parts the image download interprets itself
 * (status line, header lines, Accept-Ranges, Content-Range). Every function
 * reads only inside [s, s+len), needs no NUL terminator and allocates nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Drops a trailing "\r\n" or "\n" and white space at both ends. */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (is_ows(**s)))
		(*s)++, (*len)--;
	while (*len > 0 && (is_ows((*s)[*len - 1]) || (*s)[*len - 1] == '\r' || (*s)[*len - 1] == '\n'))
		(*len)--;
}

/* Reads a decimal number of at most 2^63-1 at s[*pos]; advances *pos.
 * Returns 0, or -EBADMSG when there is no digit or the number is too big. */
static int parse_number(const char *s, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = *pos;

	while (*pos < len && is_digit(s[*pos])) {
		unsigned d = (unsigned)(s[*pos] - '0');

		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
		(*pos)++;
	}
	if (*pos == start)
		return -EBADMSG;
	*out = v;
	return 0;
}

int http_parse_status_line(const char *line, size_t len, unsigned *code, char *reason,
			   size_t reason_size)
{
	size_t pos = 0, out = 0;

	trim(&line, &len);
	if (len < 5 || strncasecmp(line, "HTTP/", 5) != 0)
		return -EBADMSG;
	pos = 5;
	/* the version: "1.1", "2", "2.0" */
	while (pos < len && (is_digit(line[pos]) || line[pos] == '.'))
		pos++;
	if (pos == 5 || pos >= len || line[pos] != ' ')
		return -EBADMSG;
	pos++;
	if (len - pos < 3 || !is_digit(line[pos]) || !is_digit(line[pos + 1]) ||
	    !is_digit(line[pos + 2]) || line[pos] == '0')
		return -EBADMSG;
	*code = (unsigned)(line[pos] - '0') * 100 + (unsigned)(line[pos + 1] - '0') * 10 +
		(unsigned)(line[pos + 2] - '0');
	pos += 3;
	if (pos < len && line[pos] != ' ')
		return -EBADMSG;
	while (pos < len && is_ows(line[pos]))
		pos++;
	if (reason_size == 0)
		return 0;
	for (; pos < len && out + 1 < reason_size; pos++) {
		unsigned char c = (unsigned char)line[pos];

		reason[out++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	reason[out] = '\0';
	return 0;
}

bool http_header_value(const char *line, size_t len, const char *name, const char **value,
		       size_t *value_len)
{
	size_t name_len = strlen(name);

	/* no white space is allowed between the name and the colon */
	if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
		return false;
	*value = line + name_len + 1;
	*value_len = len - name_len - 1;
	trim(value, value_len);
	return true;
}

bool http_token_list_has(const char *list, size_t len, const char *token)
{
	size_t token_len = strlen(token), pos = 0;

	while (pos < len) {
		const char *item = list + pos;
		size_t item_len = 0;

		while (pos + item_len < len && list[pos + item_len] != ',')
			item_len++;
		pos += item_len + 1;
		trim(&item, &item_len);
		if (item_len == token_len && strncasecmp(item, token, token_len) == 0)
			return true;
	}
	return false;
}

int http_parse_content_range(const char *value, size_t len, struct http_content_range *out)
{
	uint64_t first, last, total;
	size_t pos;

	trim(&value, &len);
	if (len < 6 || strncasecmp(value, "bytes", 5) != 0 || !is_ows(value[5]))
		return -EBADMSG;
	pos = 6;
	while (pos < len && is_ows(value[pos]))
		pos++;
	if (parse_number(value, len, &pos, &first) < 0 || pos >= len || value[pos++] != '-' ||
	    parse_number(value, len, &pos, &last) < 0 || pos >= len || value[pos++] != '/')
		return -EBADMSG;
	if (last < first)
		return -EBADMSG;
	if (pos + 1 == len && value[pos] == '*') {
		out->total = -1;
	} else {
		if (parse_number(value, len, &pos, &total) < 0 || pos != len || last >= total)
			return -EBADMSG;
		out->total = (int64_t)total;
	}
	out->first = first;
	out->last = last;
	return 0;
}

int http_range_continues(const struct http_content_range *range, uint64_t offset, int64_t length,
			 const char **why)
{
	if (range->first != offset) {
		*why = "the resumed range does not start where the transfer stopped";
		return -EBADMSG;
	}
	if (length >= 0 && range->total >= 0 && range->total != length) {
		*why = "the resource changed size while resuming";
		return -EBADMSG;
	}
	if (range->total >= 0 && range->last + 1 != (uint64_t)range->total) {
		*why = "the resumed range does not reach the end of the resource";
		return -EBADMSG;
	}
	if (length >= 0 && range->last + 1 != (uint64_t)length) {
		*why = "the resumed range does not reach the end of the resource";
		return -EBADMSG;
	}
	return 0;
}
