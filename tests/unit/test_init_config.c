/* SPDX-License-Identifier: MIT */
/*
 * /etc/mvirt/init.conf parsing (os/init/config.c): a good file with the
 * layout freedoms an editor leaves (comments, blanks, indentation, CRLF),
 * every refusal with the line it names, and the limits.
 */
#include <errno.h>

#include "config.h"
#include "tap.h"
#include "util.h"

static void test_good(void)
{
	static const char text[] =
		"# services of the appliance\n"
		"; another comment style\n"
		"\n"
		"[service web]\n"
		"exec = /bin/httpd -f -p 80\n"
		"restart = always\n"
		"\n"
		"  [ service   log.d-2_x ]  \r\n"
		"\texec=/bin/sh -c 'echo \"hi there\"' \r\n"
		"   # indented comment\n"
		"[service once]\n"
		"restart = on-failure\n"
		"exec =   /bin/true";
	struct init_config c;
	char err[128] = "";

	CHECK_INT(config_parse(text, &c, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(c.n_services, 3);
	if (c.n_services != 3) {
		config_free(&c);
		return;
	}
	CHECK_STR(c.services[0].name, "web");
	CHECK_INT(c.services[0].restart, RESTART_ALWAYS);
	CHECK_INT(c.services[0].argc, 4);
	CHECK_STR(c.services[0].argv[0], "/bin/httpd");
	CHECK_STR(c.services[0].argv[3], "80");
	CHECK(c.services[0].argv[4] == NULL);

	CHECK_STR(c.services[1].name, "log.d-2_x");
	CHECK_INT(c.services[1].restart, RESTART_NO); /* the default */
	CHECK_INT(c.services[1].argc, 3);
	CHECK_STR(c.services[1].argv[2], "echo \"hi there\"");

	CHECK_STR(c.services[2].name, "once");
	CHECK_INT(c.services[2].restart, RESTART_ON_FAILURE);
	CHECK_INT(c.services[2].argc, 1);
	CHECK_STR(c.services[2].argv[0], "/bin/true");

	config_free(&c);
	CHECK_INT(c.n_services, 0);
}

static void test_empty(void)
{
	struct init_config c;
	char err[64] = "";

	CHECK_INT(config_parse("", &c, err, sizeof(err)), 0);
	CHECK_INT(c.n_services, 0);
	config_free(&c);
	CHECK_INT(config_parse("\n# nothing here\n\n   \n", &c, err, sizeof(err)), 0);
	CHECK_INT(c.n_services, 0);
	config_free(&c);
	CHECK_STR(err, "");
}

/* text must be refused with exactly the message want, and leave nothing. */
static void check_refused(const char *text, const char *want)
{
	struct init_config c;
	char err[160] = "";

	CHECK_INT(config_parse(text, &c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, want);
	CHECK_INT(c.n_services, 0);
}

static void test_refused(void)
{
	check_refused("# comment\n\nexec = /bin/x\n",
		      "line 3: setting outside a [service NAME] section");
	check_refused("[service a]\nexec = /x\n[other b]\n", "line 3: unknown section [other b]");
	check_refused("[service]\n", "line 1: unknown section [service]");
	check_refused("[servicea]\n", "line 1: unknown section [servicea]");
	check_refused("[service a\n", "line 1: expected [service NAME]");
	check_refused("[service a] x\n", "line 1: expected [service NAME]");
	check_refused("[service a]]\n", "line 1: expected [service NAME]");
	check_refused("\n[service a/b]\n", "line 2: invalid service name 'a/b'");
	check_refused("[service a b]\n", "line 1: invalid service name 'a b'");
	check_refused("[service a]\nexec = /x\n\n[service a]\nexec = /y\n",
		      "line 4: service 'a' defined twice");
	check_refused("[service a]\nexec = /x\nexec = /y\n", "line 3: exec given twice");
	check_refused("[service a]\nexec = x -y\n", "line 2: exec needs an absolute path");
	check_refused("[service a]\nexec = ./x\n", "line 2: exec needs an absolute path");
	check_refused("[service a]\nexec =\n", "line 2: invalid exec: empty or unterminated quote");
	check_refused("[service a]\nexec = /bin/sh -c 'x\n",
		      "line 2: invalid exec: empty or unterminated quote");
	check_refused("[service a]\nexec = /x\nrestart = sometimes\n",
		      "line 3: restart must be no, on-failure or always");
	check_refused("[service a]\nexec = /x\nuser = root\n", "line 3: unknown key 'user'");
	check_refused("[service a]\nexec /x\n", "line 2: expected KEY = VALUE");
	check_refused("[service a]\n= /x\n", "line 2: unknown key ''");
	/* a missing exec is reported at the section that lacks it */
	check_refused("[service a]\nexec = /x\n\n[service b]\nrestart = always\n\n[service c]\n"
		      "exec = /y\n",
		      "line 4: service 'b' has no exec");
	check_refused("[service a]\n", "line 1: service 'a' has no exec");
	/* an error after good sections drops them too */
	check_refused("[service a]\nexec = /x\n[service b]\nexec = /y\nbogus\n",
		      "line 5: expected KEY = VALUE");
	/* CRLF and blank lines count like any line */
	check_refused("[service a]\r\n\r\nexec = /x\r\nfoo = 1\r\n", "line 4: unknown key 'foo'");
}

static void test_exec_words(void)
{
	char text[64 + CMDLINE_MAX_ARGS * 3], err[128] = "";
	struct init_config c;
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "[service many]\nexec = /x");
	for (int i = 1; i < CMDLINE_MAX_ARGS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " %d", i % 10);
	snprintf(text + n, sizeof(text) - n, "\n");
	CHECK_INT(config_parse(text, &c, err, sizeof(err)), 0);
	CHECK_INT(c.n_services, 1);
	if (c.n_services == 1)
		CHECK_INT(c.services[0].argc, CMDLINE_MAX_ARGS);
	config_free(&c);

	snprintf(text + n, sizeof(text) - n, " 9\n");
	check_refused(text, "line 2: invalid exec: too many words");
}

static void test_service_limit(void)
{
	char text[CONFIG_MAX_SERVICES * 40 + 64], err[128] = "";
	struct init_config c;
	size_t n = 0;

	for (int i = 0; i < CONFIG_MAX_SERVICES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[service s%d]\nexec = /bin/s%d\n", i,
				      i);
	CHECK_INT(config_parse(text, &c, err, sizeof(err)), 0);
	CHECK_INT(c.n_services, CONFIG_MAX_SERVICES);
	if (c.n_services == CONFIG_MAX_SERVICES) {
		CHECK_STR(c.services[CONFIG_MAX_SERVICES - 1].name, "s31");
		CHECK_STR(c.services[CONFIG_MAX_SERVICES - 1].argv[0], "/bin/s31");
	}
	config_free(&c);

	snprintf(text + n, sizeof(text) - n, "[service s%d]\nexec = /bin/s\n", CONFIG_MAX_SERVICES);
	check_refused(text, "line 65: more than 32 services");
}

/* The message is cut to the buffer and always terminated. */
static void test_small_err(void)
{
	struct init_config c;
	char err[8];

	memset(err, 'x', sizeof(err));
	CHECK_INT(config_parse("[service a]\nexec = ./x\n", &c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "line 2:");
	memset(err, 'x', sizeof(err));
	CHECK_INT(config_parse("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			       "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			       "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			       "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			       "x\n",
			       &c, err, sizeof(err)),
		  -EINVAL);
	CHECK_STR(err, "line 12");
	CHECK_INT(config_parse("x\n", &c, NULL, 0), -EINVAL);
}

static void test_service_name(void)
{
	char s[SERVICE_NAME_MAX + 1];

	CHECK(service_name_valid("a"));
	CHECK(service_name_valid("web_1.x-Y"));
	CHECK(!service_name_valid(""));
	CHECK(!service_name_valid("a b"));
	CHECK(!service_name_valid("a/b"));
	CHECK(!service_name_valid("a]"));
	CHECK(!service_name_valid("caf\xc3\xa9"));
	memset(s, 'n', SERVICE_NAME_MAX - 1);
	s[SERVICE_NAME_MAX - 1] = 0;
	CHECK(service_name_valid(s));
	s[SERVICE_NAME_MAX - 1] = 'n';
	s[SERVICE_NAME_MAX] = 0;
	CHECK(!service_name_valid(s));
}

int main(void)
{
	test_good();
	test_empty();
	test_refused();
	test_exec_words();
	test_service_limit();
	test_small_err();
	test_service_name();
	return test_done();
}
