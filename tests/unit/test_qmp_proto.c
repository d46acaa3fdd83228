/* SPDX-License-Identifier: MIT */
/*
 * QMP framing and classification on lines captured from QEMU 7.2 and on
 * broken ones: the line splitter's bounds (split input, CRLF, blank lines, a
 * line past 1 MiB in pieces and in one chunk), each message kind with and
 * without optional fields, every malformed shape, and command encoding read
 * back by jansson.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_proto.h"
#include "tap.h"
#include "util.h"

/* Real QEMU 7.2 output (-machine none). */
static const char greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
	"\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}";
static const char ret_status[] =
	"{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 1}";
static const char err_notfound[] =
	"{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}";
static const char ev_stop[] = "{\"timestamp\": {\"seconds\": 1796178291, \"microseconds\": 534386}, \"event\": \"STOP\"}";
static const char ev_shutdown[] =
	"{\"timestamp\": {\"seconds\": 1796178293, \"microseconds\": 37779}, \"event\": \"SHUTDOWN\", "
	"\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}";
static const char err_parse[] =
	"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'garbage'\"}}";

static int parse(const char *s, struct qmp_msg *m, const char **reason)
{
	return qmp_msg_parse(s, strlen(s), m, reason);
}

static void test_splitter_basic(void)
{
	struct qmp_splitter s = {};
	const char *line;
	size_t len;

	CHECK_INT(qmp_splitter_next(&s, &line, &len), 0);
	CHECK_INT(qmp_splitter_feed(&s, "{\"a\":1}\r\n\r\n\n{\"b\"", 16), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 1);
	CHECK_INT(len, 7);
	CHECK_MEM(line, "{\"a\":1}", 7);
	/* blank lines are skipped, the unfinished one waits */
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 0);
	CHECK_INT(qmp_splitter_feed(&s, ":2}", 3), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 0);
	CHECK_INT(qmp_splitter_feed(&s, "\n", 1), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 1);
	CHECK_INT(len, 7);
	CHECK_MEM(line, "{\"b\":2}", 7);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 0);
	qmp_splitter_free(&s);
}

/* A message fed one byte at a time comes out whole, once. */
static void test_splitter_bytewise(void)
{
	struct qmp_splitter s = {};
	const char *line;
	size_t len;
	int lines = 0;
	char text[512];

	snprintf(text, sizeof(text), "%s\r\n%s\r\n", ev_stop, ret_status);
	for (size_t i = 0; i < strlen(text); i++) {
		CHECK_INT(qmp_splitter_feed(&s, text + i, 1), 0);
		while (qmp_splitter_next(&s, &line, &len) == 1) {
			const char *want = lines == 0 ? ev_stop : ret_status;
			CHECK_INT(len, strlen(want));
			CHECK_MEM(line, want, strlen(want));
			lines++;
		}
	}
	CHECK_INT(lines, 2);
	qmp_splitter_free(&s);
}

static void test_splitter_limits(void)
{
	struct qmp_splitter s = {};
	const char *line;
	size_t len;
	char *big = xmalloc(QMP_LINE_MAX + 2);

	/* exactly QMP_LINE_MAX bytes is still a line */
	memset(big, 'x', QMP_LINE_MAX);
	big[QMP_LINE_MAX] = '\n';
	CHECK_INT(qmp_splitter_feed(&s, big, QMP_LINE_MAX / 2), 0);
	CHECK_INT(qmp_splitter_feed(&s, big + QMP_LINE_MAX / 2, QMP_LINE_MAX / 2 + 1), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 1);
	CHECK_INT(len, QMP_LINE_MAX);
	qmp_splitter_free(&s);

	/* one more byte, unfinished, fed in pieces: refused at the feed */
	CHECK_INT(qmp_splitter_feed(&s, big, QMP_LINE_MAX), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), 0);
	CHECK_INT(qmp_splitter_feed(&s, "y", 1), -EMSGSIZE);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), -EMSGSIZE);
	CHECK_INT(qmp_splitter_feed(&s, "\n", 1), -EMSGSIZE); /* stays broken */
	qmp_splitter_free(&s);

	/* a complete too-long line inside one chunk: refused at next */
	char *bigger = xmalloc(QMP_LINE_MAX + 2);
	memset(bigger, 'x', QMP_LINE_MAX + 1);
	bigger[QMP_LINE_MAX + 1] = '\n';
	CHECK_INT(qmp_splitter_feed(&s, bigger, QMP_LINE_MAX + 2), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), -EMSGSIZE);
	qmp_splitter_free(&s);

	/* CRLF within the limit: the '\r' does not count against it */
	memset(bigger, 'x', QMP_LINE_MAX);
	memcpy(bigger + QMP_LINE_MAX, "\r\n", 2);
	CHECK_INT(qmp_splitter_feed(&s, bigger, QMP_LINE_MAX + 2), 0);
	CHECK_INT(qmp_splitter_next(&s, &line, &len), -EMSGSIZE);
	qmp_splitter_free(&s);

	free(big);
	free(bigger);
}

static void test_parse_real(void)
{
	struct qmp_msg m;
	const char *reason = NULL;

	CHECK_INT(parse(greeting, &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_GREETING);
	CHECK(json_is_object(m.value));
	CHECK_INT(json_integer_value(json_object_get(json_object_get(json_object_get(m.value, "version"), "qemu"),
						     "major")),
		  7);
	qmp_msg_done(&m);

	CHECK_INT(parse(ret_status, &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_RETURN);
	CHECK(m.has_id);
	CHECK_U64(m.id, 1);
	CHECK_STR(json_string_value(json_object_get(m.value, "status")), "running");
	qmp_msg_done(&m);

	CHECK_INT(parse(err_notfound, &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_ERROR);
	CHECK(m.has_id);
	CHECK_U64(m.id, 3);
	CHECK_STR(m.error_class, "CommandNotFound");
	CHECK_STR(m.error_desc, "The command nope has not been found");
	qmp_msg_done(&m);

	CHECK_INT(parse(err_parse, &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_ERROR);
	CHECK(!m.has_id);
	qmp_msg_done(&m);

	CHECK_INT(parse(ev_stop, &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_EVENT);
	CHECK_STR(m.event, "STOP");
	CHECK(m.value == NULL);
	qmp_msg_done(&m);

	CHECK_INT(parse(ev_shutdown, &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_EVENT);
	CHECK_STR(m.event, "SHUTDOWN");
	CHECK_STR(json_string_value(json_object_get(m.value, "reason")), "host-qmp-quit");
	qmp_msg_done(&m);

	/* qmp_capabilities' answer has no id when sent without one */
	CHECK_INT(parse("{\"return\": {}}", &m, &reason), 0);
	CHECK_INT(m.type, QMP_MSG_RETURN);
	CHECK(!m.has_id);
	qmp_msg_done(&m);

	/* ids we never send match nothing */
	CHECK_INT(parse("{\"return\": 1, \"id\": \"x\"}", &m, &reason), 0);
	CHECK(!m.has_id);
	qmp_msg_done(&m);
	CHECK_INT(parse("{\"return\": 1, \"id\": -1}", &m, &reason), 0);
	CHECK(!m.has_id);
	qmp_msg_done(&m);
	CHECK_INT(parse("{\"return\": 1, \"id\": 2.0}", &m, &reason), 0);
	CHECK(!m.has_id);
	qmp_msg_done(&m);
	CHECK_INT(parse("{\"return\": null, \"id\": 9223372036854775807}", &m, &reason), 0);
	CHECK(m.has_id);
	CHECK_U64(m.id, 9223372036854775807ULL);
	qmp_msg_done(&m);
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"{\"return\": {}",
		"{\"return\": {}} trailing",
		"[1, 2]",
		"\"QMP\"",
		"{}",
		"{\"id\": 1}",
		"{\"QMP\": 1}",
		"{\"QMP\": {}, \"return\": {}}",
		"{\"return\": {}, \"error\": {\"class\": \"a\", \"desc\": \"b\"}, \"id\": 1}",
		"{\"error\": \"x\", \"id\": 1}",
		"{\"error\": {\"class\": \"a\"}, \"id\": 1}",
		"{\"error\": {\"desc\": \"a\"}, \"id\": 1}",
		"{\"error\": {\"class\": 1, \"desc\": \"a\"}, \"id\": 1}",
		"{\"event\": 1}",
		"{\"event\": \"\"}",
		"{\"event\": \"STOP\", \"data\": [1]}",
		"{\"event\": \"STOP\", \"timestamp\": 5}",
		"{\"event\": \"STOP\", \"event\": \"RESUME\"}",
		"{\"return\": \"a\\u0000b\"}",
		"{\"return\": \"\xff\"}",
	};
	struct qmp_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *reason = NULL;
		int r = parse(bad[i], &m, &reason);
		CHECK_INT(r, -EBADMSG);
		CHECK(reason != NULL && reason[0] != '\0');
		CHECK(m.root == NULL);
		if (r != -EBADMSG)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
	}

	/* deep nesting is refused by jansson's depth limit, without a crash */
	size_t depth = 100000;
	char *deep = xmalloc(2 * depth + 16);
	size_t n = 0;
	n += (size_t)sprintf(deep, "{\"return\": ");
	memset(deep + n, '[', depth);
	n += depth;
	memset(deep + n, ']', depth);
	n += depth;
	deep[n++] = '}';
	CHECK_INT(qmp_msg_parse(deep, n, &m, NULL), -EBADMSG);
	free(deep);
}

static void test_encode(void)
{
	_cleanup_free_ char *line = NULL;
	size_t len;
	json_error_t jerr;

	CHECK_INT(qmp_command_encode("query-status", NULL, 1, &line, &len), 0);
	CHECK_STR(line, "{\"execute\":\"query-status\",\"id\":1}\r\n");
	CHECK_INT(len, strlen(line));
	free(TAKE_PTR(line));

	/* arguments with a newline inside a string stay on one line */
	json_t *args = json_pack("{s:s, s:b}", "id", "disk\n0", "force", 1);
	CHECK_INT(qmp_command_encode("device_del", args, 42, &line, &len), 0);
	CHECK(memchr(line, '\n', len - 1) == NULL);
	CHECK(len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n');
	json_t *back = json_loadb(line, len, 0, &jerr);
	CHECK(back != NULL);
	CHECK_STR(json_string_value(json_object_get(back, "execute")), "device_del");
	CHECK_INT(json_integer_value(json_object_get(back, "id")), 42);
	CHECK(json_equal(json_object_get(back, "arguments"), args));
	CHECK_INT(args->refcount, 1); /* borrowed: our reference is untouched */
	json_decref(back);
	free(TAKE_PTR(line));

	CHECK_INT(qmp_command_encode("", NULL, 1, &line, &len), -EINVAL);
	CHECK_INT(qmp_command_encode(NULL, NULL, 1, &line, &len), -EINVAL);
	CHECK_INT(qmp_command_encode("a\xff", NULL, 1, &line, &len), -EINVAL);
	CHECK_INT(qmp_command_encode("stop", NULL, (uint64_t)INT64_MAX + 1, &line, &len), -EINVAL);
	json_t *arr = json_array();
	CHECK_INT(qmp_command_encode("stop", arr, 1, &line, &len), -EINVAL);
	CHECK(line == NULL);
	json_decref(arr);
	json_decref(args);
}

int main(void)
{
	test_splitter_basic();
	test_splitter_bytewise();
	test_splitter_limits();
	test_parse_real();
	test_parse_bad();
	test_encode();
	return test_done();
}
