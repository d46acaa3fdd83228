/* SPDX-License-Identifier: MIT */
/*
 * What the init takes from the kernel command line (mvirt.* parameters) and
 * the shell-like word splitting used for the argv of services, both pure
 * functions over strings (unit-tested and fuzzed: the command line comes
 * from whoever started the VM).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CMDLINE_MAX_RUN 16
#define CMDLINE_MAX_ARGS 64

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS };

struct cmdline {
	char *hostname;			  /* mvirt.hostname= (validated), or NULL */
	char *run[CMDLINE_MAX_RUN];	  /* mvirt.run= values, in order */
	size_t n_run;
	unsigned net_timeout_s;		  /* mvirt.net_timeout=, default 15 */
	bool net;			  /* mvirt.net=off: leave NICs alone */
	bool debug;			  /* mvirt.debug: diagnostics at debug level */
};

/* Split a kernel command line into parameters (double quotes group words and
 * are removed, as the kernel does) and pick ours. Unknown or invalid mvirt.*
 * parameters are reported through log.h and ignored. */
int cmdline_parse(const char *line, struct cmdline *out);
void cmdline_free(struct cmdline *c);

/*
 * Split a command into argv: words separated by blanks; '...' quotes
 * literally; "..." quotes with \" and \\ escapes; \ escapes one character
 * outside quotes. argv is NULL-terminated and allocated as one block (free
 * argv only). -EINVAL on an unterminated quote or an empty command,
 * -E2BIG beyond CMDLINE_MAX_ARGS words.
 */
int split_words(const char *s, char ***argv, size_t *argc);

/* "no", "on-failure", "always" -> policy; -EINVAL otherwise. */
int restart_policy_parse(const char *s, enum restart_policy *out);
const char *restart_policy_name(enum restart_policy p);

/*
 * A mvirt.run= value: "[POLICY:]COMMAND", e.g. "always:/bin/httpd -f". The
 * policy prefix is recognised only before an absolute command (a command
 * must start with '/'). Default policy: no.
 */
int run_spec_parse(const char *s, enum restart_policy *policy, char ***argv, size_t *argc);

/* RFC 1123 host name (labels of [a-zA-Z0-9-], 1-63 each, not starting or
 * ending with '-', total <= 64 to fit sethostname) */
bool hostname_valid(const char *s);
