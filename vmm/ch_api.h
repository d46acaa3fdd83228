/* SPDX-License-Identifier: MIT */
/*
 * cloud-hypervisor's REST answers without I/O: the error chain of a failed
 * request and the state in vm.info. The answers are outside bytes (a
 * compromised hypervisor must not crash or bloat the daemon), so they are
 * bounded, every field is checked, and the text that reaches an error
 * message is printable.
 */
#pragma once

#include <stddef.h>

/* The largest answer body read; vm.info of a VM with every device fits. */
#define CH_ANSWER_MAX (1024 * 1024)
#define CH_STATE_MAX 32

/* One line for an error answer: cloud-hypervisor answers a JSON array of
 * strings (the error chain), joined here with ": "; anything else is shown
 * as text. Non-printable bytes become '?', the line is cut to size - 1. */
void ch_error_text(const char *body, size_t len, char *out, size_t size);

/* The "state" of a vm.info answer ("Created", "Running", "Shutdown",
 * "Paused", "BreakPoint"). 0, or -EBADMSG with a reason in err. */
int ch_info_state(const char *body, size_t len, char state[CH_STATE_MAX], char *err,
		  size_t errlen);
