/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const daemon_names[DAEMON_COUNT] = { "vm", "log", "zfs", "net" };

const char *cli_daemon_name(enum cli_daemon d)
{
	return daemon_names[d];
}

int cli_fail(const char *noun, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mvirt: %s: ", noun);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILED;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mvirt: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", cmd);
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int c)
{
	/* a short option is in optopt; a long one only in the argument that
	 * getopt just stepped over (its "=value" cut off) */
	const char *arg = argv[optind - 1];
	int len = (int)strcspn(arg, "=");

	if (c == ':') {
		if (optopt > 0 && optopt < 128 && arg[1] != '-')
			return cli_usage(cmd, "option '-%c' needs a value", optopt);
		return cli_usage(cmd, "option '%.*s' needs a value", len, arg);
	}
	if (optopt > 0 && optopt < 128)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%.*s'", len, arg);
}

int cli_fail_status(const char *noun, const struct grpc_status *st)
{
	/* the server's message is meant for users; without one, name the code */
	return cli_fail(noun, "%s", st->message && st->message[0] ? st->message
								: grpc_code_name(st->code));
}

struct grpc_client *cli_connect(struct cli *cli, enum cli_daemon d)
{
	struct grpc_client *c = NULL;
	int r = grpc_client_connect(cli->endpoint[d], 5000, &c);

	if (r < 0) {
		cli_fail(cli_daemon_name(d), "cannot connect to %s: %s", cli->endpoint[d],
			 strerror(-r));
		return NULL;
	}
	return c;
}

void cli_json_print(json_t *v, bool one_line)
{
	char *s = json_dumps(v, one_line ? JSON_COMPACT : JSON_INDENT(2));

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(v);
	fflush(stdout);
}
