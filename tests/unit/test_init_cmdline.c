/* SPDX-License-Identifier: MIT */
/*
 * The init's kernel command line parsing (os/init/cmdline.c): the kernel's
 * double-quote grouping, the mvirt.* parameters and their limits, the
 * shell-like word splitting of service commands, "[policy:]/path args" and
 * the host name rules of RFC 1123 as sethostname bounds them.
 */
#include <errno.h>

#include "cmdline.h"
#include "tap.h"
#include "util.h"

/* split_words(s) must give exactly the n words of want. */
static void check_words(const char *s, const char *const *want, size_t n)
{
	char **argv = NULL;
	size_t argc = 0;

	CHECK_INT(split_words(s, &argv, &argc), 0);
	if (!argv)
		return;
	CHECK_INT(argc, n);
	for (size_t i = 0; i < n && i < argc; i++)
		CHECK_STR(argv[i], want[i]);
	CHECK(argv[argc] == NULL);
	free(argv);
}

#define WORDS(s, ...)                                                      \
	do {                                                               \
		static const char *const want_[] = { __VA_ARGS__ };        \
		check_words(s, want_, ARRAY_SIZE(want_));                  \
	} while (0)

static void check_split_fails(const char *s, int want)
{
	char **argv = (char **)0x1;
	size_t argc = 99;

	CHECK_INT(split_words(s, &argv, &argc), want);
	/* on failure nothing is handed out */
	CHECK(argv == (char **)0x1);
	CHECK_INT(argc, 99);
}

static void test_split_words(void)
{
	WORDS("/bin/true", "/bin/true");
	WORDS("  /bin/echo \t a\nb  ", "/bin/echo", "a", "b");
	/* single quotes are literal, backslashes and double quotes included */
	WORDS("/bin/sh -c 'echo a b'", "/bin/sh", "-c", "echo a b");
	WORDS("'a\\b \"c\"'", "a\\b \"c\"");
	/* double quotes: only \" and \\ are escapes, other backslashes stay */
	WORDS("\"a \\\"b\\\" \\\\ \\n\"", "a \"b\" \\ \\n");
	WORDS("\"it's\"", "it's");
	/* a backslash outside quotes escapes the next character, blanks too */
	WORDS("a\\ b \\'c \\\"d \\\\", "a b", "'c", "\"d", "\\");
	/* a trailing backslash has nothing to escape and is kept */
	WORDS("a\\", "a\\");
	/* quoted and plain parts of one word join */
	WORDS("a'b c'\"d e\"f g", "ab cd ef", "g");
	/* empty quotes make an empty word */
	WORDS("/x '' \"\" y", "/x", "", "", "y");
	/* \r is not a separator (the config parser trims it at line ends) */
	WORDS("a\rb", "a\rb");

	check_split_fails("", -EINVAL);
	check_split_fails(" \t\n ", -EINVAL);
	check_split_fails("/bin/sh -c 'echo", -EINVAL);
	check_split_fails("/bin/sh -c \"echo", -EINVAL);
	check_split_fails("\"a\\\"", -EINVAL);	/* the escaped quote does not close */
	check_split_fails("'", -EINVAL);
	check_split_fails("a \"b\" 'c", -EINVAL);
}

/* CMDLINE_MAX_ARGS words fit, one more is -E2BIG, blanks around do not count. */
static void test_split_words_limit(void)
{
	char s[CMDLINE_MAX_ARGS * 4 + 16];
	char **argv = NULL;
	size_t argc = 0, n = 0;

	n += (size_t)snprintf(s + n, sizeof(s) - n, "  ");
	for (int i = 0; i < CMDLINE_MAX_ARGS; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%d ", i);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\t\n");
	CHECK_INT(split_words(s, &argv, &argc), 0);
	CHECK_INT(argc, CMDLINE_MAX_ARGS);
	if (argv && argc == CMDLINE_MAX_ARGS) {
		CHECK_STR(argv[0], "0");
		CHECK_STR(argv[CMDLINE_MAX_ARGS - 1], "63");
		CHECK(argv[CMDLINE_MAX_ARGS] == NULL);
	}
	free(argv);

	snprintf(s + n, sizeof(s) - n, "x");
	check_split_fails(s, -E2BIG);
	/* an empty quoted word is a word too */
	snprintf(s + n, sizeof(s) - n, "''");
	check_split_fails(s, -E2BIG);
}

/* One long word: the text block is sized by the input, not by a constant. */
static void test_split_words_long(void)
{
	size_t n = 100000;
	_cleanup_free_ char *s = xmalloc(n + 3);
	char **argv = NULL;
	size_t argc = 0;

	s[0] = '\'';
	memset(s + 1, 'a', n);
	s[n + 1] = '\'';
	s[n + 2] = 0;
	CHECK_INT(split_words(s, &argv, &argc), 0);
	CHECK_INT(argc, 1);
	if (argv)
		CHECK_INT(strlen(argv[0]), n);
	free(argv);
}

static void test_restart_policy(void)
{
	enum restart_policy p = RESTART_ALWAYS;

	CHECK_INT(restart_policy_parse("no", &p), 0);
	CHECK_INT(p, RESTART_NO);
	CHECK_INT(restart_policy_parse("on-failure", &p), 0);
	CHECK_INT(p, RESTART_ON_FAILURE);
	CHECK_INT(restart_policy_parse("always", &p), 0);
	CHECK_INT(p, RESTART_ALWAYS);
	p = RESTART_ON_FAILURE;
	CHECK_INT(restart_policy_parse("", &p), -EINVAL);
	CHECK_INT(restart_policy_parse("Always", &p), -EINVAL);
	CHECK_INT(restart_policy_parse("always ", &p), -EINVAL);
	CHECK_INT(restart_policy_parse("on_failure", &p), -EINVAL);
	CHECK_INT(p, RESTART_ON_FAILURE); /* untouched on failure */

	for (enum restart_policy i = RESTART_NO; i <= RESTART_ALWAYS; i++) {
		CHECK_INT(restart_policy_parse(restart_policy_name(i), &p), 0);
		CHECK_INT(p, i);
	}
	CHECK_STR(restart_policy_name((enum restart_policy)7), "?");
}

/* run_spec_parse(s) gives policy and the n words of want. */
static void check_spec(const char *s, enum restart_policy policy, const char *const *want, size_t n)
{
	enum restart_policy p = (enum restart_policy)-1;
	char **argv = NULL;
	size_t argc = 0;

	CHECK_INT(run_spec_parse(s, &p, &argv, &argc), 0);
	CHECK_INT(p, policy);
	if (!argv)
		return;
	CHECK_INT(argc, n);
	for (size_t i = 0; i < n && i < argc; i++)
		CHECK_STR(argv[i], want[i]);
	free(argv);
}

#define SPEC(s, policy, ...)                                               \
	do {                                                               \
		static const char *const want_[] = { __VA_ARGS__ };        \
		check_spec(s, policy, want_, ARRAY_SIZE(want_));           \
	} while (0)

static void check_spec_fails(const char *s)
{
	enum restart_policy p;
	char **argv = NULL;
	size_t argc = 0;

	CHECK_INT(run_spec_parse(s, &p, &argv, &argc), -EINVAL);
	CHECK(argv == NULL);
}

static void test_run_spec(void)
{
	SPEC("/bin/httpd -f", RESTART_NO, "/bin/httpd", "-f");
	SPEC("no:/x", RESTART_NO, "/x");
	SPEC("on-failure:/bin/a b", RESTART_ON_FAILURE, "/bin/a", "b");
	SPEC("always:/x", RESTART_ALWAYS, "/x");
	/* a colon inside an absolute command is part of the command */
	SPEC("/x:y", RESTART_NO, "/x:y");
	SPEC("/x:/y", RESTART_NO, "/x:/y");
	SPEC("/bin/sh -c 'a:/b'", RESTART_NO, "/bin/sh", "-c", "a:/b");
	/* only the first colon separates the policy */
	SPEC("always:/bin/sh -c 'x:/y'", RESTART_ALWAYS, "/bin/sh", "-c", "x:/y");
	SPEC("always:/bin/sh -c 'echo a b'", RESTART_ALWAYS, "/bin/sh", "-c", "echo a b");

	check_spec_fails("bogus:/x");
	check_spec_fails("ALWAYS:/x");
	check_spec_fails(":/x");
	check_spec_fails("always:");
	check_spec_fails("always:x");	/* no policy before a relative command */
	check_spec_fails("always: /x"); /* the command follows the colon directly */
	check_spec_fails("x");
	check_spec_fails("sh -c /x");
	check_spec_fails("");
	check_spec_fails("   ");
	check_spec_fails("'/x");
	check_spec_fails("always:/x 'a");
	check_spec_fails("'' /x");
}

static void test_hostname(void)
{
	char s[80];

	CHECK(hostname_valid("a"));
	CHECK(hostname_valid("web1"));
	CHECK(hostname_valid("WEB-1"));
	CHECK(hostname_valid("a-b--c"));
	CHECK(hostname_valid("1"));		/* RFC 1123 allows a leading digit */
	CHECK(hostname_valid("web1.example.com"));
	CHECK(hostname_valid("10.0.0.1"));

	CHECK(!hostname_valid(""));
	CHECK(!hostname_valid("."));
	CHECK(!hostname_valid("a."));		/* no trailing root dot */
	CHECK(!hostname_valid(".a"));
	CHECK(!hostname_valid("a..b"));
	CHECK(!hostname_valid("-a"));
	CHECK(!hostname_valid("a-"));
	CHECK(!hostname_valid("a.-b"));
	CHECK(!hostname_valid("a-.b"));
	CHECK(!hostname_valid("-"));
	CHECK(!hostname_valid("a_b"));
	CHECK(!hostname_valid("a b"));
	CHECK(!hostname_valid("a/b"));
	CHECK(!hostname_valid("a\tb"));
	CHECK(!hostname_valid("a\nb"));
	CHECK(!hostname_valid("h\xc3\xa9"));	/* "hé" in UTF-8 */
	CHECK(!hostname_valid("a\x80"));
	CHECK(!hostname_valid("a\xff"));

	/* labels up to 63 characters */
	memset(s, 'a', 63);
	s[63] = 0;
	CHECK(hostname_valid(s));
	s[63] = 'a';
	s[64] = 0;
	CHECK(!hostname_valid(s));
	/* ... and 64 characters in all (sethostname's limit) */
	memset(s, 'a', 64);
	s[31] = '.';
	s[64] = 0;
	CHECK(hostname_valid(s));
	s[64] = 'a';
	s[65] = 0;
	CHECK(!hostname_valid(s));
	memset(s, 'b', 64);
	s[1] = '.';
	s[64] = 0;
	CHECK(hostname_valid(s));
	s[1] = 'b';
	s[0] = '.';
	CHECK(!hostname_valid(s));
}

static void test_cmdline_defaults(void)
{
	struct cmdline c;

	CHECK_INT(cmdline_parse("", &c), 0);
	CHECK(c.hostname == NULL);
	CHECK_INT(c.n_run, 0);
	CHECK_INT(c.net_timeout_s, 15);
	CHECK(c.net);
	CHECK(!c.debug);
	cmdline_free(&c);

	CHECK_INT(cmdline_parse("  \t\n", &c), 0);
	CHECK_INT(c.n_run, 0);
	cmdline_free(&c);

	/* someone else's parameters, and ones that only look like ours */
	CHECK_INT(cmdline_parse("console=ttyS0 quiet root=/dev/vda mvirtx.run=/x "
				"mvirt.runx=/x xmvirt.run=/x mvirt.run mvirt. mvirt.=1 "
				"mvirt.hostname",
				&c),
		  0);
	CHECK(c.hostname == NULL);
	CHECK_INT(c.n_run, 0);
	CHECK_INT(c.net_timeout_s, 15);
	CHECK(c.net);
	CHECK(!c.debug);
	cmdline_free(&c);
}

static void test_cmdline_quoting(void)
{
	struct cmdline c;
	char **argv = NULL;
	size_t argc = 0;

	/* the kernel groups "..." into one parameter and drops the quotes */
	CHECK_INT(cmdline_parse("console=ttyS0 mvirt.run=\"/bin/sh -c 'echo a b'\" quiet", &c), 0);
	CHECK_INT(c.n_run, 1);
	if (c.n_run == 1) {
		CHECK_STR(c.run[0], "/bin/sh -c 'echo a b'");
		CHECK_INT(split_words(c.run[0], &argv, &argc), 0);
		CHECK_INT(argc, 3);
		if (argv && argc == 3) {
			CHECK_STR(argv[0], "/bin/sh");
			CHECK_STR(argv[1], "-c");
			CHECK_STR(argv[2], "echo a b");
		}
		free(argv);
	}
	cmdline_free(&c);

	/* quotes around the whole parameter group as well */
	CHECK_INT(cmdline_parse("\"mvirt.run=/bin/a  b\" mvirt.run=/bin/c", &c), 0);
	CHECK_INT(c.n_run, 2);
	if (c.n_run == 2) {
		CHECK_STR(c.run[0], "/bin/a  b");
		CHECK_STR(c.run[1], "/bin/c");
	}
	cmdline_free(&c);

	/* an unterminated quote takes the rest of the line */
	CHECK_INT(cmdline_parse("mvirt.debug mvirt.run=\"/bin/a b mvirt.net=off", &c), 0);
	CHECK_INT(c.n_run, 1);
	if (c.n_run == 1)
		CHECK_STR(c.run[0], "/bin/a b mvirt.net=off");
	CHECK(c.net);
	CHECK(c.debug);
	cmdline_free(&c);

	/* /proc/cmdline ends with a newline; tabs separate too */
	CHECK_INT(cmdline_parse("mvirt.hostname=web1\tmvirt.net=off\n", &c), 0);
	CHECK_STR(c.hostname, "web1");
	CHECK(!c.net);
	cmdline_free(&c);
}

static void test_cmdline_run(void)
{
	char line[CMDLINE_MAX_RUN * 32 + 64];
	struct cmdline c;
	size_t n = 0;

	/* repeated mvirt.run keep their order, up to CMDLINE_MAX_RUN */
	for (int i = 0; i < CMDLINE_MAX_RUN + 3; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "mvirt.run=/bin/s%d ", i);
	CHECK_INT(cmdline_parse(line, &c), 0);
	CHECK_INT(c.n_run, CMDLINE_MAX_RUN);
	CHECK_STR(c.run[0], "/bin/s0");
	CHECK_STR(c.run[1], "/bin/s1");
	CHECK_STR(c.run[CMDLINE_MAX_RUN - 1], "/bin/s15");
	cmdline_free(&c);
	CHECK_INT(c.n_run, 0);

	/* the value is taken as written: checking it is run_spec_parse's job */
	CHECK_INT(cmdline_parse("mvirt.run= mvirt.run=bogus:x mvirt.run=a=b", &c), 0);
	CHECK_INT(c.n_run, 3);
	if (c.n_run == 3) {
		CHECK_STR(c.run[0], "");
		CHECK_STR(c.run[1], "bogus:x");
		CHECK_STR(c.run[2], "a=b");
	}
	cmdline_free(&c);
}

static void test_cmdline_hostname(void)
{
	struct cmdline c;

	CHECK_INT(cmdline_parse("mvirt.hostname=web-1.example", &c), 0);
	CHECK_STR(c.hostname, "web-1.example");
	cmdline_free(&c);

	CHECK_INT(cmdline_parse("mvirt.hostname=-bad mvirt.hostname= mvirt.hostname=a_b", &c), 0);
	CHECK(c.hostname == NULL);
	cmdline_free(&c);

	/* the last valid one wins; an invalid one does not undo it */
	CHECK_INT(cmdline_parse("mvirt.hostname=one mvirt.hostname=two mvirt.hostname=bad!", &c), 0);
	CHECK_STR(c.hostname, "two");
	cmdline_free(&c);

	/* quotes cannot sneak a blank into a host name */
	CHECK_INT(cmdline_parse("mvirt.hostname=\"a b\"", &c), 0);
	CHECK(c.hostname == NULL);
	cmdline_free(&c);
}

static void test_cmdline_net(void)
{
	struct cmdline c;

	CHECK_INT(cmdline_parse("mvirt.net_timeout=0", &c), 0);
	CHECK_INT(c.net_timeout_s, 0);
	cmdline_free(&c);
	CHECK_INT(cmdline_parse("mvirt.net_timeout=3600", &c), 0);
	CHECK_INT(c.net_timeout_s, 3600);
	cmdline_free(&c);
	CHECK_INT(cmdline_parse("mvirt.net_timeout=42", &c), 0);
	CHECK_INT(c.net_timeout_s, 42);
	cmdline_free(&c);

	/* out of range or not a number: ignored, the earlier value stays */
	CHECK_INT(cmdline_parse("mvirt.net_timeout=30 mvirt.net_timeout=3601 mvirt.net_timeout=-1 "
				"mvirt.net_timeout= mvirt.net_timeout=abc mvirt.net_timeout=1e3 "
				"mvirt.net_timeout=\" 5\" mvirt.net_timeout=5s mvirt.net_timeout "
				"mvirt.net_timeout=18446744073709551616 "
				"mvirt.net_timeout=4294967296",
				&c),
		  0);
	CHECK_INT(c.net_timeout_s, 30);
	cmdline_free(&c);

	CHECK_INT(cmdline_parse("mvirt.net=off", &c), 0);
	CHECK(!c.net);
	cmdline_free(&c);
	CHECK_INT(cmdline_parse("mvirt.net=off mvirt.net", &c), 0);
	CHECK(c.net);
	cmdline_free(&c);
	CHECK_INT(cmdline_parse("mvirt.net=off mvirt.net=on", &c), 0);
	CHECK(c.net);
	cmdline_free(&c);
	CHECK_INT(cmdline_parse("mvirt.net=OFF", &c), 0);
	CHECK(c.net);
	cmdline_free(&c);

	CHECK_INT(cmdline_parse("mvirt.debug", &c), 0);
	CHECK(c.debug);
	cmdline_free(&c);
}

int main(void)
{
	test_split_words();
	test_split_words_limit();
	test_split_words_long();
	test_restart_policy();
	test_run_spec();
	test_hostname();
	test_cmdline_defaults();
	test_cmdline_quoting();
	test_cmdline_run();
	test_cmdline_hostname();
	test_cmdline_net();
	return test_done();
}
