/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool service_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SERVICE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = 0;
	return s;
}

static PRINTF_FMT(4, 5) int fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "line %u: ", line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "[service NAME]" */
static int parse_section(char *s, struct init_config *c, unsigned line, char *err, size_t errlen)
{
	char *end = strchr(s, ']'), *name;
	struct service_spec *svc;

	if (!end || trim(end + 1)[0])
		return fail(err, errlen, line, "expected [service NAME]");
	*end = 0;
	s = trim(s + 1);
	if (strncmp(s, "service", 7) != 0 || !isspace((unsigned char)s[7]))
		return fail(err, errlen, line, "unknown section [%s]", s);
	name = trim(s + 8);
	if (!service_name_valid(name))
		return fail(err, errlen, line, "invalid service name '%s'", name);
	for (size_t i = 0; i < c->n_services; i++)
		if (streq(c->services[i].name, name))
			return fail(err, errlen, line, "service '%s' defined twice", name);
	if (c->n_services == CONFIG_MAX_SERVICES)
		return fail(err, errlen, line, "more than %d services", CONFIG_MAX_SERVICES);
	svc = &c->services[c->n_services++];
	*svc = (struct service_spec){ .restart = RESTART_NO };
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	return 0;
}

static int parse_key(char *s, struct service_spec *svc, unsigned line, char *err, size_t errlen)
{
	char *eq = strchr(s, '='), *key, *value;

	if (!svc)
		return fail(err, errlen, line, "setting outside a [service NAME] section");
	if (!eq)
		return fail(err, errlen, line, "expected KEY = VALUE");
	*eq = 0;
	key = trim(s);
	value = trim(eq + 1);
	if (streq(key, "exec")) {
		if (svc->argv)
			return fail(err, errlen, line, "exec given twice");
		int r = split_words(value, &svc->argv, &svc->argc);
		if (r < 0)
			return fail(err, errlen, line, "invalid exec: %s",
				    r == -E2BIG ? "too many words" : "empty or unterminated quote");
		if (svc->argv[0][0] != '/')
			return fail(err, errlen, line, "exec needs an absolute path");
		return 0;
	}
	if (streq(key, "restart")) {
		if (restart_policy_parse(value, &svc->restart) < 0)
			return fail(err, errlen, line, "restart must be no, on-failure or always");
		return 0;
	}
	return fail(err, errlen, line, "unknown key '%s'", key);
}

int config_parse(const char *text, struct init_config *out, char *err, size_t errlen)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *p = copy, *nl;
	unsigned line = 0, section_line[CONFIG_MAX_SERVICES];
	int r = 0;

	*out = (struct init_config){ 0 };
	for (; p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = 0;
		line++;
		char *s = trim(p);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			r = parse_section(s, out, line, err, errlen);
			if (r == 0)
				section_line[out->n_services - 1] = line;
		} else {
			r = parse_key(s, out->n_services ? &out->services[out->n_services - 1] : NULL,
				      line, err, errlen);
		}
		if (r < 0)
			break;
	}
	for (size_t i = 0; r == 0 && i < out->n_services; i++)
		if (!out->services[i].argv)
			r = fail(err, errlen, section_line[i], "service '%s' has no exec",
				 out->services[i].name);
	if (r < 0)
		config_free(out);
	return r;
}

void config_free(struct init_config *c)
{
	for (size_t i = 0; i < c->n_services; i++)
		free(c->services[i].argv);
	*c = (struct init_config){ 0 };
}
