/* SPDX-License-Identifier: MIT */
/* The mvirt client: shared state of the CLI and helpers of its commands. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "client.h"
#include "util.h"

enum cli_exit { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Which daemon a command talks to. */
enum cli_daemon { DAEMON_VMM, DAEMON_LOG, DAEMON_ZFS, DAEMON_NET, DAEMON_COUNT };

struct cli {
	char *endpoint[DAEMON_COUNT]; /* resolved: flag > MVIRT_*_ENDPOINT > run dir default */
	bool json;
	int timeout_ms;
};

/* "log" etc., as used in error lines ("mvirt: log: ...") */
const char *cli_daemon_name(enum cli_daemon d);

/* Connect to a daemon; on failure prints "mvirt: <noun>: ..." and returns NULL. */
struct grpc_client *cli_connect(struct cli *cli, enum cli_daemon d);

/* One-line error "mvirt: <noun>: <message>"; returns EXIT_FAILED. */
int cli_fail(const char *noun, const char *fmt, ...) PRINTF_FMT(2, 3);
/* Usage error "mvirt: <message> (see '<cmd> --help')"; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) PRINTF_FMT(2, 3);
/* After getopt_long returned '?' or ':' (optstring starting with ':', opterr
 * 0): a usage error naming the option; returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, char **argv, int c);
/* Report a failed call's status as one line; returns EXIT_FAILED. */
int cli_fail_status(const char *noun, const struct grpc_status *st);

/* Print a JSON value (pretty, or one line for streams) and free it. */
void cli_json_print(json_t *v, bool one_line);

/* Commands of each noun: argv[0] is the verb. */
int cmd_log(struct cli *cli, int argc, char **argv);
int cmd_volume(struct cli *cli, int argc, char **argv);
int cmd_snapshot(struct cli *cli, int argc, char **argv);
int cmd_template(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_pool(struct cli *cli, int argc, char **argv);
int cmd_vm(struct cli *cli, int argc, char **argv);
