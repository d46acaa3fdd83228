/* SPDX-License-Identifier: MIT */
#include "cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

int split_words(const char *s, char ***argv_out, size_t *argc_out)
{
	/* words are never longer than the input: one block holds the pointer
	 * array and the unquoted text */
	size_t len = strlen(s), argc = 0;
	char **argv = xmalloc((CMDLINE_MAX_ARGS + 1) * sizeof(char *) + len + 1);
	char *out = (char *)(argv + CMDLINE_MAX_ARGS + 1);
	const char *p = s;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (argc == CMDLINE_MAX_ARGS) {
			free(argv);
			return -E2BIG;
		}
		argv[argc++] = out;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');
				if (!end)
					goto unterminated;
				memcpy(out, p + 1, (size_t)(end - p - 1));
				out += end - p - 1;
				p = end + 1;
			} else if (*p == '"') {
				for (p++; *p != '"'; p++) {
					if (!*p)
						goto unterminated;
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					*out++ = *p;
				}
				p++;
			} else if (*p == '\\' && p[1]) {
				*out++ = p[1];
				p += 2;
			} else {
				*out++ = *p++;
			}
		}
		*out++ = 0;
	}
	if (argc == 0) {
		free(argv);
		return -EINVAL;
	}
	argv[argc] = NULL;
	*argv_out = argv;
	*argc_out = argc;
	return 0;
unterminated:
	free(argv);
	return -EINVAL;
}

static const char *const policy_names[] = {
	[RESTART_NO] = "no",
	[RESTART_ON_FAILURE] = "on-failure",
	[RESTART_ALWAYS] = "always",
};

int restart_policy_parse(const char *s, enum restart_policy *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(policy_names); i++)
		if (streq(s, policy_names[i])) {
			*out = (enum restart_policy)i;
			return 0;
		}
	return -EINVAL;
}

const char *restart_policy_name(enum restart_policy p)
{
	return (size_t)p < ARRAY_SIZE(policy_names) ? policy_names[p] : "?";
}

int run_spec_parse(const char *s, enum restart_policy *policy, char ***argv, size_t *argc)
{
	const char *colon = strchr(s, ':');
	int r;

	*policy = RESTART_NO;
	if (colon && colon[1] == '/' && s[0] != '/') {
		_cleanup_free_ char *name = xstrndup(s, (size_t)(colon - s));
		r = restart_policy_parse(name, policy);
		if (r < 0)
			return r;
		s = colon + 1;
	}
	r = split_words(s, argv, argc);
	if (r < 0)
		return r;
	if ((*argv)[0][0] != '/') {
		free(*argv);
		*argv = NULL;
		return -EINVAL;
	}
	return 0;
}

bool hostname_valid(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == 0) {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isascii((unsigned char)c) ||
		    !(isalnum((unsigned char)c) || (c == '-' && label > 0)))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* The kernel's own splitting (lib/cmdline.c next_arg): blanks separate
 * parameters, double quotes group and are dropped. One parameter is copied
 * into buf; returns the rest of the line or NULL at the end. */
static const char *next_param(const char *p, char *buf, size_t size)
{
	bool quoted = false;
	size_t n = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return NULL;
	for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < size)
			buf[n++] = *p;
	}
	buf[n] = 0;
	return p;
}

static void apply_param(struct cmdline *c, const char *param)
{
	const char *eq = strchr(param, '=');
	const char *value = eq ? eq + 1 : NULL;
	size_t klen = eq ? (size_t)(eq - param) : strlen(param);
	unsigned long long v;

#define KEY(k) (klen == strlen(k) && strncmp(param, k, klen) == 0)
	if (KEY("mvirt.hostname") && value) {
		if (!hostname_valid(value)) {
			log_warning("ignoring invalid mvirt.hostname=%s", value);
			return;
		}
		free(c->hostname);
		c->hostname = xstrdup(value);
	} else if (KEY("mvirt.run") && value) {
		if (c->n_run == CMDLINE_MAX_RUN) {
			log_warning("ignoring mvirt.run=%s: at most %d", value, CMDLINE_MAX_RUN);
			return;
		}
		c->run[c->n_run++] = xstrdup(value);
	} else if (KEY("mvirt.net_timeout") && value) {
		if (parse_u64(value, 3600, &v) < 0) {
			log_warning("ignoring invalid mvirt.net_timeout=%s", value);
			return;
		}
		c->net_timeout_s = (unsigned)v;
	} else if (KEY("mvirt.net")) {
		c->net = !(value && streq(value, "off"));
	} else if (KEY("mvirt.debug")) {
		c->debug = true;
	} else if (klen > 6 && strncmp(param, "mvirt.", 6) == 0) {
		log_warning("ignoring unknown parameter %s", param);
	}
#undef KEY
}

int cmdline_parse(const char *line, struct cmdline *out)
{
	size_t size = strlen(line) + 1;
	_cleanup_free_ char *buf = xmalloc(size);
	const char *p = line;

	*out = (struct cmdline){ .net_timeout_s = 15, .net = true };
	while ((p = next_param(p, buf, size)))
		apply_param(out, buf);
	return 0;
}

void cmdline_free(struct cmdline *c)
{
	free(c->hostname);
	for (size_t i = 0; i < c->n_run; i++)
		free(c->run[i]);
	*c = (struct cmdline){ 0 };
}
