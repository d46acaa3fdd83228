/* SPDX-License-Identifier: MIT */
/*
 * Tests of ch_api.c: cloud-hypervisor's error chains joined into one
 * printable line, and vm.info's state, on good and hostile answers.
 */
#include <errno.h>
#include <string.h>

#include "ch_api.h"
#include "tap.h"
#include "util.h"

static char err[128];

/* The error line of a NUL-terminated answer, in a buffer of size bytes. */
static const char *error_text(const char *body, size_t size)
{
	static char out[256];

	ch_error_text(body, strlen(body), out, MIN(size, sizeof(out)));
	return out;
}

/* The state of a NUL-terminated vm.info answer, or NULL (reason in err). */
static const char *info_state(const char *body)
{
	static char state[CH_STATE_MAX];

	return ch_info_state(body, strlen(body), state, err, sizeof(err)) == 0 ? state : NULL;
}

static void test_error_text(void)
{
	const char *chain = "[\"Error from API\",\"The disk could not be added\",\"Identifier x\"]";
	char out[8];

	CHECK_STR(error_text(chain, 256), "Error from API: The disk could not be added: Identifier x");
	/* cut to the buffer, always terminated */
	CHECK_STR(error_text(chain, 8), "Error f");
	/* a JSON string; non-strings in the array skipped */
	CHECK_STR(error_text("\"boom\"", 256), "boom");
	CHECK_STR(error_text("[1, \"a\", null, \"b\"]", 256), "a: b");
	/* not JSON: the bytes, printable, without the trailing newline */
	CHECK_STR(error_text("bad\x01\x1b[31m\r\n", 256), "bad??[31m");
	/* a NUL inside a JSON string is shown, not cutting the line short */
	CHECK_STR(error_text("[\"a\\u0000b\"]", 256), "a?b");
	CHECK_STR(error_text("", 256), "no error text");
	CHECK_STR(error_text("[]", 256), "no error text");
	ch_error_text(NULL, 0, out, sizeof(out));
	CHECK_STR(out, "no erro");
}

static void test_info_state(void)
{
	CHECK_STR(info_state("{\"config\":{},\"state\":\"Running\",\"memory_actual_size\":1}"),
		  "Running");
	CHECK_STR(info_state("{\"state\":\"Paused\"}"), "Paused");
	CHECK_STR(info_state("{\"state\":\"Created\"}"), "Created");

	CHECK(!info_state("{\"state\":\"Exploded\"}"));
	CHECK(strstr(err, "unknown state"));
	CHECK(!info_state("{\"state\":1}"));
	CHECK(!info_state("[]"));
	CHECK(!info_state("{\"state\":\"Running\""));
	CHECK(strstr(err, "not JSON"));
	/* duplicate keys could show one reader a state another does not see */
	CHECK(!info_state("{\"state\":\"Paused\",\"state\":\"Running\"}"));
	CHECK(!info_state(""));
	char state[CH_STATE_MAX];
	CHECK_INT(ch_info_state("{}", CH_ANSWER_MAX + 1, state, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "too large"));
}

int main(void)
{
	test_error_text();
	test_info_state();
	return test_done();
}
