/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <strings.h>

int log_max_level = LOG_INFO;
static const char *log_prefix;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",    [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

int log_level_parse(const char *s)
{
	unsigned long long v;

	if (parse_u64(s, LOG_DEBUG, &v) == 0)
		return (int)v;
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "err") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	return -EINVAL;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

static PRINTF_FMT(2, 0) void log_vmsg(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char line[4096];
	int n;

	if (prio > log_max_level)
		return;
	n = snprintf(line, sizeof(line), "<%d>%s%s", prio, log_prefix ? log_prefix : "",
		     log_prefix ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One write per line keeps lines of concurrent writers whole. */
	fprintf(stderr, "%s%s%s\n", line, suffix ? ": " : "", suffix ? suffix : "");
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap, NULL);
	va_end(ap);
}

int log_msg_errno(int prio, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	err = err < 0 ? -err : err;
	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap, strerror(err));
	va_end(ap);
	errno = saved;
	return -err;
}
