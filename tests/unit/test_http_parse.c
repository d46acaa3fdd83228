/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of zfs/http_parse.c: status lines of HTTP/1.x and HTTP/2,
 * header lines, Accept-Ranges token lists, Content-Range values (valid,
 * malformed, overflowing) and the rules for continuing a resumed download.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http_parse.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_status_line(void)
{
	char reason[HTTP_REASON_MAX];
	char tiny[4];
	unsigned code = 0;

	CHECK_INT(http_parse_status_line(S("HTTP/1.1 404 Not Found\r\n"), &code, reason, sizeof(reason)), 0);
	CHECK_INT(code, 404);
	CHECK_STR(reason, "Not Found");
	CHECK_INT(http_parse_status_line(S("HTTP/2 200\r\n"), &code, reason, sizeof(reason)), 0);
	CHECK_INT(code, 200);
	CHECK_STR(reason, "");
	CHECK_INT(http_parse_status_line(S("http/1.0 302 Found"), &code, reason, sizeof(reason)), 0);
	CHECK_INT(code, 302);
	CHECK_STR(reason, "Found");
	/* control characters are masked, long reasons cut */
	CHECK_INT(http_parse_status_line(S("HTTP/1.1 500 a\033b\r\n"), &code, reason, sizeof(reason)), 0);
	CHECK_STR(reason, "a?b");
	CHECK_INT(http_parse_status_line(S("HTTP/1.1 500 Internal Error"), &code, tiny, sizeof(tiny)), 0);
	CHECK_STR(tiny, "Int");

	CHECK_INT(http_parse_status_line(S(""), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("HTTP/"), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("HTTP/1.1"), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("HTTP/1.1 20"), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("HTTP/1.1 2000 x"), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("HTTP/1.1 099 x"), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("HTTP/x 200 OK"), &code, reason, sizeof(reason)), -EBADMSG);
	CHECK_INT(http_parse_status_line(S("Content-Type: text/html"), &code, reason, sizeof(reason)), -EBADMSG);
}

static void test_header_value(void)
{
	const char *v;
	size_t n;

	CHECK(http_header_value(S("Accept-Ranges:  bytes \r\n"), "accept-ranges", &v, &n));
	CHECK_INT(n, 5);
	CHECK(memcmp(v, "bytes", 5) == 0);
	CHECK(http_header_value(S("location:\r\n"), "Location", &v, &n));
	CHECK_INT(n, 0);
	CHECK(!http_header_value(S("Accept-Ranges : bytes"), "Accept-Ranges", &v, &n));
	CHECK(!http_header_value(S("Accept-Range: bytes"), "Accept-Ranges", &v, &n));
	CHECK(!http_header_value(S("Accept-Ranges"), "Accept-Ranges", &v, &n));
	CHECK(!http_header_value(S("X"), "Accept-Ranges", &v, &n));
}

static void test_token_list(void)
{
	CHECK(http_token_list_has(S("bytes"), "bytes"));
	CHECK(http_token_list_has(S("none, Bytes"), "bytes"));
	CHECK(http_token_list_has(S(" ,bytes ,"), "bytes"));
	CHECK(!http_token_list_has(S("none"), "bytes"));
	CHECK(!http_token_list_has(S("bytesx"), "bytes"));
	CHECK(!http_token_list_has(S("byte"), "bytes"));
	CHECK(!http_token_list_has(S(""), "bytes"));
	CHECK(!http_token_list_has(S(","), "bytes"));
}

static void test_content_range(void)
{
	struct http_content_range r;

	CHECK_INT(http_parse_content_range(S("bytes 100-199/200"), &r), 0);
	CHECK_U64(r.first, 100);
	CHECK_U64(r.last, 199);
	CHECK_INT(r.total, 200);
	CHECK_INT(http_parse_content_range(S(" Bytes 0-0/1\r\n"), &r), 0);
	CHECK_INT(r.total, 1);
	CHECK_INT(http_parse_content_range(S("bytes 5-9/*"), &r), 0);
	CHECK_U64(r.first, 5);
	CHECK_INT(r.total, -1);
	CHECK_INT(http_parse_content_range(S("bytes 0-9223372036854775806/9223372036854775807"), &r), 0);
	CHECK_INT(r.total, INT64_MAX);

	CHECK_INT(http_parse_content_range(S("bytes */200"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 10-5/200"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 0-200/200"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 0-9/9223372036854775808"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 0-99999999999999999999/*"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes -5/10"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 1-/10"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 1-2"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 1-2/"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 1-2/10x"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 1-2/*x"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes1-2/10"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("items 1-2/10"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes +1-2/10"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes 1 - 2/10"), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S(""), &r), -EBADMSG);
	CHECK_INT(http_parse_content_range(S("bytes "), &r), -EBADMSG);
}

static void test_range_continues(void)
{
	struct http_content_range r = { .first = 100, .last = 199, .total = 200 };
	const char *why = NULL;

	CHECK_INT(http_range_continues(&r, 100, 200, &why), 0);
	CHECK_INT(http_range_continues(&r, 100, -1, &why), 0);
	CHECK_INT(http_range_continues(&r, 99, 200, &why), -EBADMSG);
	CHECK(why && strstr(why, "start"));
	CHECK_INT(http_range_continues(&r, 100, 300, &why), -EBADMSG);
	CHECK(why && strstr(why, "size"));
	r.last = 150;
	CHECK_INT(http_range_continues(&r, 100, 200, &why), -EBADMSG);
	CHECK(why && strstr(why, "end"));
	/* unknown total: the known length decides */
	r = (struct http_content_range){ .first = 100, .last = 199, .total = -1 };
	CHECK_INT(http_range_continues(&r, 100, 200, &why), 0);
	CHECK_INT(http_range_continues(&r, 100, -1, &why), 0);
	CHECK_INT(http_range_continues(&r, 100, 250, &why), -EBADMSG);
}

int main(void)
{
	test_status_line();
	test_header_value();
	test_token_list();
	test_content_range();
	test_range_continues();
	return test_done();
}
