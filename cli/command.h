/* SPDX-License-Identifier: MIT */
/*
 * What the commands of every noun share: dispatch of a noun's verbs, the
 * checks of their arguments, one unary call to a daemon, and a few output
 * and error helpers. Each noun (cmd_*.c) only adds its own options and
 * message formats.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "cli.h"

/* One verb of a noun: its name, what it does (for the noun's help) and how it runs. */
struct cli_verb {
	const char *name;
	const char *summary;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/*
 * Run the verb argv[0] of noun ("volume"...), or print the noun's help
 * (--help, help) listing its verbs. No verb or an unknown one: usage error.
 */
int cli_verb_dispatch(struct cli *cli, const char *noun, const char *about,
		      const struct cli_verb *verbs, size_t n_verbs, int argc, char **argv);

/*
 * Options of a verb that has none of its own besides --json and --help, and
 * its positional arguments: exactly as many as the words of args_usage
 * ("VOLUME NAME"). Returns -1 to go on (the arguments start at argv[optind]),
 * else the exit code (help printed, or usage error reported).
 */
int cli_verb_args(struct cli *cli, const char *cmd, const char *usage, const char *args_usage,
		  int argc, char **argv);
/* The positional-argument check of cli_verb_args(), after a verb's own getopt loop. */
int cli_verb_positional(const char *cmd, const char *args_usage, int argc, char **argv);

/*
 * One unary call to daemon d, path "/pkg.Service/Method". Returns EXIT_OK
 * with *resp (free with protobuf_c_message_free_unpacked), or EXIT_FAILED
 * after printing one line "mvirt: <noun>: <reason>".
 */
int cli_call(struct cli *cli, enum cli_daemon d, const char *noun, const char *path,
	     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
	     ProtobufCMessage **resp);

/*
 * The same call, reporting nothing: GRPC_OK with *resp, or the failure in
 * *st (a connection failure is UNAVAILABLE with a message). Clear st after.
 */
void cli_call_status(struct cli *cli, enum cli_daemon d, const char *path,
		     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		     ProtobufCMessage **resp, struct grpc_status *st);

/* Usage error for a bad --size-like value (malformed, zero or too large). */
int cli_bad_size(const char *cmd, const char *option, const char *value, int r);

/* A uint64 as a JSON integer (exact up to 2^63 - 1, which no size reaches). */
json_t *json_u64(uint64_t v);

/* The options paragraph of a verb whose only options are --json and --help. */
#define CLI_OPTIONS_JSON_HELP          \
	"\n"                           \
	"Options:\n"                   \
	"      --json   JSON output\n" \
	"  -h, --help   show this help\n"
