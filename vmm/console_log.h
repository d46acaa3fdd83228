/* SPDX-License-Identifier: MIT */
/*
 * The on-disk ring of a VM's serial output: a file of fixed capacity that
 * keeps the newest bytes, with a header counting every byte of the current
 * run. A guest flooding its serial port costs this file and nothing more.
 * The header is read back after a daemon restart, so it is checked like
 * outside bytes: a damaged file is started afresh.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CONSOLE_LOG_MIN (64U << 10)
#define CONSOLE_LOG_DEFAULT (1U << 20)

struct console_log;

/* Open or create path with room for capacity bytes; an existing file of
 * another capacity or with a bad header is reset. */
int console_log_open(const char *path, uint64_t capacity, struct console_log **out);
void console_log_close(struct console_log *l);
int console_log_append(struct console_log *l, const void *data, size_t n);
/* Forget everything (a new start of the VM). */
int console_log_reset(struct console_log *l);
uint64_t console_log_total(const struct console_log *l);
/* The newest min(max, retained) bytes (max 0: all retained), malloc'd. */
int console_log_tail(struct console_log *l, uint64_t max, uint8_t **data, size_t *n);

/* Header checks on raw bytes (unit tests, fuzzing): 0 and the figures, or
 * -EBADMSG. */
#define CONSOLE_LOG_HEADER 32
int console_log_parse_header(const uint8_t *h, size_t n, uint64_t *capacity, uint64_t *total);
