/* SPDX-License-Identifier: MIT */
/*
 * A blocking QMP session for the VM manager's worker threads: connect, read
 * the greeting, negotiate, run commands one at a time with a deadline, close.
 * QEMU serves one QMP client at a time on a socket; the daemon opens a
 * session per operation, so sessions never overlap for one VM (operations on
 * a VM are serialized). Events that arrive meanwhile are skipped: state comes
 * from the process (pidfd) and from our own requests.
 */
#pragma once

#include <jansson.h>

struct qmp_session;

/* Connect and negotiate within timeout_ms. 0 or -errno with a reason. */
int qmp_session_open(const char *socket_path, int timeout_ms, struct qmp_session **out,
		     char *err, size_t errlen);
void qmp_session_close(struct qmp_session *q);
static inline void qmp_session_closep(struct qmp_session **q)
{
	if (*q)
		qmp_session_close(*q);
}
#define _cleanup_qmp_session_ __attribute__((cleanup(qmp_session_closep)))

/* Run one command (args borrowed, may be NULL). On success *ret (may be
 * NULL) gets a new reference to the return value. QEMU's error → -EREMOTEIO
 * with "Class: description" in err. */
int qmp_session_run(struct qmp_session *q, const char *command, json_t *args, json_t **ret,
		    char *err, size_t errlen);
