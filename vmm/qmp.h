/* SPDX-License-Identifier: MIT */
/*
 * A QMP connection to one QEMU process, driven by sd-event: non-blocking
 * connect to QEMU's Unix socket, the greeting and qmp_capabilities
 * handshake, commands with id-matched replies and a timeout each, events,
 * and a clean end when QEMU goes away. Single-threaded; every callback runs
 * from the event loop and may call qmp_command() or qmp_free().
 */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "qmp_proto.h"

#define QMP_TIMEOUT_DEFAULT_USEC (10ULL * 1000000ULL)
#define QMP_WRITE_QUEUE_MAX (4 * 1024 * 1024) /* bytes of commands not yet sent */
#define QMP_PENDING_MAX 1024                  /* commands awaiting a reply */

struct qmp;

struct qmp_callbacks {
	/* The handshake is done: commands may be sent. */
	void (*ready)(struct qmp *q, void *userdata);
	/* An asynchronous event ("STOP", "SHUTDOWN"…); data is NULL when QEMU
	 * sent none, and is only borrowed for the call. May be NULL. */
	void (*event)(struct qmp *q, const char *name, json_t *data, void *userdata);
	/* The connection ended without qmp_free(): error is 0 when QEMU closed
	 * the socket (end of file or reset), else a negative errno (-EBADMSG, -EMSGSIZE: QEMU broke the
	 * protocol; -ETIMEDOUT: no handshake in time; read errors); reason says
	 * it in words. Called at most once, after every pending command got
	 * -ECONNRESET. The owner still calls qmp_free(). */
	void (*closed)(struct qmp *q, int error, const char *reason, void *userdata);
};

/* What a command produced, for its reply function. */
struct qmp_reply {
	json_t *ret;             /* r == 0: the "return" value (borrowed for the call) */
	const char *error_class; /* r == -EREMOTEIO: QEMU's error, e.g. "CommandNotFound" */
	const char *error_desc;
};

/* r is 0 (reply->ret), -EREMOTEIO (QEMU answered with an error, see
 * reply->error_class/desc), -ETIMEDOUT (no answer within the timeout; a late
 * answer is ignored), -ECONNRESET (the connection ended first) or -ECANCELED
 * (qmp_free()). reply is never NULL; its fields are NULL when not set.
 * Called exactly once per accepted command. */
typedef void (*qmp_reply_fn)(struct qmp *q, int r, const struct qmp_reply *reply, void *userdata);

/* Connects to socket_path and starts the handshake; cb->ready follows, or
 * cb->closed when the handshake fails or takes longer than the timeout.
 * cb and userdata must outlive the connection. Returns 0 or -errno of the
 * connect (-ENOENT, -ECONNREFUSED while QEMU has not created or not yet
 * listens on its socket; -EAGAIN when its backlog is full; -ENAMETOOLONG). */
int qmp_connect(sd_event *e, const char *socket_path, const struct qmp_callbacks *cb, void *userdata,
		struct qmp **out);

/* Sends a command. args is stolen (also on failure) and may be NULL. fn may
 * be NULL when the answer does not matter. Returns 0 (fn will be called
 * exactly once), -ENOTCONN before ready or after closed, -ENOBUFS when the
 * write queue or the number of pending commands is at its limit, -EINVAL for
 * a bad name or args that are not an object (fn is then not called). */
int qmp_command(struct qmp *q, const char *name, json_t *args, qmp_reply_fn fn, void *userdata);

/* Timeout for commands sent from now on and for a handshake in progress
 * (QMP_TIMEOUT_DEFAULT_USEC unless set). */
void qmp_set_timeout(struct qmp *q, uint64_t usec);

/* Closes the connection: every pending command's fn gets -ECANCELED, then
 * cb->closed is NOT called. Safe inside any callback of this connection.
 * NULL is a no-op. */
void qmp_free(struct qmp *q);
