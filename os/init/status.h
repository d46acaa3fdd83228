/* SPDX-License-Identifier: MIT */
/*
 * Status lines: one line per event on the console, "mvirt-init: <event> ...",
 * a stable format that tests and the VM manager's users parse (os/README.md
 * lists them). Diagnostics go through lib/common/log.h instead and carry a
 * "<prio>" prefix, so the two never mix.
 */
#pragma once

#include "util.h"

void status(const char *fmt, ...) PRINTF_FMT(1, 2);
