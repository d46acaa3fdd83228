/* SPDX-License-Identifier: MIT */
/* What the commands of every noun share (see command.h). */
#include <getopt.h>
#include <stdio.h>

#include "command.h"

static bool is_help(const char *arg)
{
	return streq(arg, "--help") || streq(arg, "-h") || streq(arg, "help");
}

static void noun_usage(const char *noun, const char *about, const struct cli_verb *verbs,
		       size_t n_verbs)
{
	int width = 0;

	for (size_t i = 0; i < n_verbs; i++)
		width = MAX(width, (int)strlen(verbs[i].name));
	printf("Usage: mvirt %s <verb> [ARGS]\n\n%s\n\nVerbs:\n", noun, about);
	for (size_t i = 0; i < n_verbs; i++)
		printf("  %-*s  %s\n", width, verbs[i].name, verbs[i].summary);
	printf("\nSee 'mvirt %s <verb> --help'.\n", noun);
}

int cli_verb_dispatch(struct cli *cli, const char *noun, const char *about,
		      const struct cli_verb *verbs, size_t n_verbs, int argc, char **argv)
{
	_cleanup_free_ char *cmd = xasprintf("mvirt %s", noun);
	const char *verb;

	if (argc < 1) {
		noun_usage(noun, about, verbs, n_verbs);
		return EXIT_USAGE;
	}
	if (is_help(argv[0])) {
		noun_usage(noun, about, verbs, n_verbs);
		return EXIT_OK;
	}
	/* "ls" and "rm" are what fingers type */
	verb = streq(argv[0], "ls") ? "list" : streq(argv[0], "rm") ? "delete" : argv[0];
	for (size_t i = 0; i < n_verbs; i++)
		if (streq(verb, verbs[i].name))
			return verbs[i].run(cli, argc, argv);
	return cli_usage(cmd, "unknown verb '%s'", argv[0]);
}

/* The index-th word of a space-separated list, or NULL; *len is its length. */
static const char *nth_word(const char *words, int index, int *len)
{
	for (int i = 0; *words; i++) {
		int n = (int)strcspn(words, " ");
		if (i == index) {
			*len = n;
			return words;
		}
		words += n;
		words += strspn(words, " ");
	}
	return NULL;
}

int cli_verb_positional(const char *cmd, const char *args_usage, int argc, char **argv)
{
	int have = argc - optind, want = 0, len;
	const char *missing = nth_word(args_usage, have, &len);

	if (missing)
		return cli_usage(cmd, "missing %.*s", len, missing);
	while (nth_word(args_usage, want, &len))
		want++;
	if (have > want)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind + want]);
	return -1;
}

int cli_verb_args(struct cli *cli, const char *cmd, const char *usage, const char *args_usage,
		  int argc, char **argv)
{
	enum { O_JSON = 0x100 };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	/* 0, not 1: start getopt afresh, so that options may follow the
	 * arguments (main's "+" ordering must not carry over) */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	return cli_verb_positional(cmd, args_usage, argc, argv);
}

void cli_call_status(struct cli *cli, enum cli_daemon d, const char *path,
		     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		     ProtobufCMessage **resp, struct grpc_status *st)
{
	struct grpc_client *client = NULL;
	int r = grpc_client_connect(cli->endpoint[d], 5000, &client);

	if (r < 0) {
		st->code = GRPC_UNAVAILABLE;
		st->message = xasprintf("cannot connect to %s: %s", cli->endpoint[d], strerror(-r));
		return;
	}
	/* a connection failure comes back as UNAVAILABLE with a message */
	grpc_client_unary(client, path, req, resp_desc, cli->timeout_ms, resp, st);
	grpc_client_free(client);
}

int cli_call(struct cli *cli, enum cli_daemon d, const char *noun, const char *path,
	     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
	     ProtobufCMessage **resp)
{
	struct grpc_status st = { 0 };
	int ret = EXIT_OK;

	cli_call_status(cli, d, path, req, resp_desc, resp, &st);
	if (st.code != GRPC_OK)
		ret = cli_fail_status(noun, &st);
	grpc_status_clear(&st);
	return ret;
}

int cli_bad_size(const char *cmd, const char *option, const char *value, int r)
{
	if (r == -ERANGE)
		return cli_usage(cmd, "%s '%s' is too large", option, value);
	return cli_usage(cmd, "invalid %s '%s' (a size > 0 such as 4096, 512M, 10G, 1.5T)", option,
			 value);
}

json_t *json_u64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}
