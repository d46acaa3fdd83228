/* SPDX-License-Identifier: MIT */
/*
 * What every mvirt daemon shares: the command-line conventions
 * (--help, --version, --listen, --data-dir, --run-dir, --log-endpoint,
 * --log-level), directory set-up, signal handling on the sd-event loop and
 * sd_notify readiness.
 */
#pragma once

#include <getopt.h>
#include <systemd/sd-event.h>

#include "util.h"

#define MVIRT_VERSION_STRING MVIRT_VERSION

struct daemon_args {
	/* set by the daemon before parsing */
	const char *program;	     /* "mvirt-log" */
	const char *summary;	     /* one line: what the daemon does */
	const char *socket_name;     /* default Unix socket under run_dir: "log.sock" */
	const char *data_subdir;     /* default data dir below /var/lib/mvirt: "log" */
	bool uses_log_endpoint;	     /* whether --log-endpoint means anything */
	const char *extra_usage;     /* the daemon's own options, already formatted */
	const struct option *extra;  /* its long options (terminated by a zero entry) */
	const char *extra_short;     /* getopt short string for them ("" if none) */
	/* called for each of the daemon's own options; <0 = usage error */
	int (*on_extra)(int opt, const char *arg, void *userdata);
	void *userdata;

	/* results */
	char **listen;		     /* endpoints to serve, at least one after parsing */
	size_t n_listen;
	char *data_dir;
	char *run_dir;
	char *log_endpoint;	     /* NULL for mvirt-log itself */
	unsigned shutdown_timeout_s; /* graceful shutdown bound for in-flight calls */
	size_t max_message_bytes;
};

/*
 * Parse argv. Returns 0 to run, 1 when --help or --version was printed
 * (exit 0), or -EINVAL after printing a one-line usage error (exit 2).
 */
int daemon_parse_args(struct daemon_args *a, int argc, char **argv);
void daemon_args_free(struct daemon_args *a);

/* mkdir -p with the given mode for the last component. */
int mkdir_p(const char *path, unsigned mode);

/* Hook SIGTERM and SIGINT to on_stop on the loop (once each; a second
 * signal while stopping exits at once), and enable the systemd watchdog. */
int daemon_setup_signals(sd_event *e, sd_event_handler_t on_stop, void *userdata);

/* sd_notify helpers; silently do nothing outside systemd. */
void daemon_notify_ready(void);
void daemon_notify_stopping(void);
