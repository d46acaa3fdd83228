/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with syslog priority prefixes ("<3>message"), so that
 * journald keeps the level when a daemon runs under systemd.
 */
#pragma once

#include <syslog.h>

#include "util.h"

extern int log_max_level;

/* Parse "error|warning|notice|info|debug" or a number 0-7; -EINVAL otherwise. */
int log_level_parse(const char *s);
void log_set_prefix(const char *prefix);

void log_msg(int prio, const char *fmt, ...) PRINTF_FMT(2, 3);

/* Logs and returns -|err| so callers can write: return log_error_errno(r, ...). */
int log_msg_errno(int prio, int err, const char *fmt, ...) PRINTF_FMT(3, 4);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                  \
	do {                                            \
		if (log_max_level >= LOG_DEBUG)         \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_error_errno(err, ...) log_msg_errno(LOG_ERR, err, __VA_ARGS__)
#define log_warning_errno(err, ...) log_msg_errno(LOG_WARNING, err, __VA_ARGS__)
