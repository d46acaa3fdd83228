/* SPDX-License-Identifier: MIT */
/* Checks of LogService requests (api.md §3.4): one place, unit-tested and fuzzed. */
#pragma once

#include <stddef.h>

#include "log.pb-c.h"

#define LOG_MAX_MESSAGE (64u * 1024u)
#define LOG_MAX_COMPONENT 64u
#define LOG_MAX_OBJECT_IDS 64u
#define LOG_MAX_OBJECT_ID 256u
#define LOG_LEVEL_MAX MVIRT__LOG__LOG_LEVEL__AUDIT

/* 0, or -EINVAL with a user-facing reason in err. */
int log_validate_entry(const Mvirt__Log__LogEntry *e, char *err, size_t errlen);
int log_validate_query(const Mvirt__Log__QueryRequest *q, char *err, size_t errlen);
