/* SPDX-License-Identifier: MIT */
/*
 * A QMP connection on sd-event (see qmp.h). One io source reads QEMU's lines
 * and writes queued commands; each pending command owns a timer. The
 * connection is reference-counted internally so that a callback may call
 * qmp_free() while we are still walking its lines or its pending list: the
 * memory goes away when the last dispatch returns.
 */
#include "qmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define QMP_READ_CHUNK (64 * 1024)

enum qmp_state {
	QMP_CONNECTING,  /* connect() in progress */
	QMP_GREETING,    /* waiting for {"QMP": ...} */
	QMP_NEGOTIATING, /* qmp_capabilities sent */
	QMP_READY,
	QMP_CLOSED,
};

struct qmp_cmd {
	struct qmp_cmd *prev, *next;
	struct qmp *q;
	uint64_t id;
	qmp_reply_fn fn;
	void *userdata;
	sd_event_source *timer;
};

struct qmp {
	unsigned n_ref;
	bool freed;
	enum qmp_state state;
	sd_event *event;
	int fd;
	sd_event_source *io;
	sd_event_source *handshake_timer;
	const struct qmp_callbacks *cb;
	void *userdata;
	struct qmp_splitter in;
	struct buf out;
	struct qmp_cmd *pending_head, *pending_tail;
	size_t n_pending;
	uint64_t next_id;
	uint64_t timeout_usec;
};

static struct qmp *qmp_ref(struct qmp *q)
{
	q->n_ref++;
	return q;
}

static void qmp_unref(struct qmp *q)
{
	if (--q->n_ref > 0)
		return;
	qmp_splitter_free(&q->in);
	buf_free(&q->out);
	sd_event_unref(q->event);
	free(q);
}

static void qmp_unrefp(struct qmp **q)
{
	if (*q)
		qmp_unref(*q);
}

/* Stops all I/O: no source of ours fires after this. */
static void qmp_teardown(struct qmp *q)
{
	q->io = sd_event_source_disable_unref(q->io);
	q->handshake_timer = sd_event_source_disable_unref(q->handshake_timer);
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

static void qmp_update_io_events(struct qmp *q)
{
	uint32_t events;

	if (!q->io)
		return;
	if (q->state == QMP_CONNECTING)
		events = EPOLLOUT;
	else
		events = EPOLLIN | (buf_avail(&q->out) > 0 ? EPOLLOUT : 0);
	(void)sd_event_source_set_io_events(q->io, events);
}

static void pending_unlink(struct qmp *q, struct qmp_cmd *cmd)
{
	if (cmd->prev)
		cmd->prev->next = cmd->next;
	else
		q->pending_head = cmd->next;
	if (cmd->next)
		cmd->next->prev = cmd->prev;
	else
		q->pending_tail = cmd->prev;
	cmd->prev = cmd->next = NULL;
	q->n_pending--;
}

/* Takes cmd off the pending list, frees it, then calls its fn: after the
 * call neither cmd nor (when fn freed the connection) q may be touched. */
static void cmd_complete(struct qmp *q, struct qmp_cmd *cmd, int r, const struct qmp_reply *reply)
{
	static const struct qmp_reply no_reply;
	qmp_reply_fn fn = cmd->fn;
	void *userdata = cmd->userdata;

	pending_unlink(q, cmd);
	sd_event_source_disable_unref(cmd->timer);
	free(cmd);
	if (fn)
		fn(q, r, reply ? reply : &no_reply, userdata);
}

static void fail_pending(struct qmp *q, int r)
{
	while (q->pending_head)
		cmd_complete(q, q->pending_head, r, NULL);
}

/* The connection is over on QEMU's side (or QEMU broke the protocol). */
static void qmp_close(struct qmp *q, int error, const char *reason)
{
	if (q->state == QMP_CLOSED)
		return;
	q->state = QMP_CLOSED;
	qmp_teardown(q);

	/* a reply function may qmp_free() us */
	qmp_ref(q);
	fail_pending(q, -ECONNRESET);
	if (!q->freed && q->cb->closed)
		q->cb->closed(q, error, reason, q->userdata);
	qmp_unref(q);
}

static int on_cmd_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct qmp_cmd *cmd = userdata;

	cmd_complete(cmd->q, cmd, -ETIMEDOUT, NULL);
	return 0;
}

/* Queues a command whatever the state; qmp_command() checks the state. */
static int qmp_enqueue(struct qmp *q, const char *name, json_t *args, qmp_reply_fn fn, void *userdata)
{
	_cleanup_free_ char *line = NULL;
	size_t len;
	int r;

	if (q->n_pending >= QMP_PENDING_MAX)
		return -ENOBUFS;
	r = qmp_command_encode(name, args, q->next_id, &line, &len);
	if (r < 0)
		return r;
	if (buf_avail(&q->out) + len > QMP_WRITE_QUEUE_MAX)
		return -ENOBUFS;

	struct qmp_cmd *cmd = xcalloc(1, sizeof(*cmd));
	*cmd = (struct qmp_cmd){ .q = q, .id = q->next_id, .fn = fn, .userdata = userdata };
	r = sd_event_add_time_relative(q->event, &cmd->timer, CLOCK_MONOTONIC, q->timeout_usec, 0,
				       on_cmd_timeout, cmd);
	if (r < 0) {
		free(cmd);
		return r;
	}
	q->next_id++;
	cmd->prev = q->pending_tail;
	if (q->pending_tail)
		q->pending_tail->next = cmd;
	else
		q->pending_head = cmd;
	q->pending_tail = cmd;
	q->n_pending++;

	/* Written from the loop, never from here: a write error would otherwise
	 * run the closed callback inside the caller's qmp_command(). */
	buf_append(&q->out, line, len);
	qmp_update_io_events(q);
	return 0;
}

int qmp_command(struct qmp *q, const char *name, json_t *args, qmp_reply_fn fn, void *userdata)
{
	int r = -ENOTCONN;

	if (q->state == QMP_READY)
		r = qmp_enqueue(q, name, args, fn, userdata);
	json_decref(args);
	return r;
}

void qmp_set_timeout(struct qmp *q, uint64_t usec)
{
	q->timeout_usec = usec;
	if (q->handshake_timer)
		(void)sd_event_source_set_time_relative(q->handshake_timer, usec);
}

static void on_capabilities(struct qmp *q, int r, const struct qmp_reply *reply, void *userdata)
{
	if (r == -ECONNRESET || r == -ECANCELED)
		return; /* the connection is already going away */
	if (r < 0) {
		_cleanup_free_ char *why = xasprintf("qmp_capabilities failed: %s",
						     reply->error_desc ? reply->error_desc : strerror(-r));
		qmp_close(q, -EPROTO, why);
		return;
	}
	q->state = QMP_READY;
	q->handshake_timer = sd_event_source_disable_unref(q->handshake_timer);
	if (q->cb->ready)
		q->cb->ready(q, q->userdata);
}

static int on_handshake_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	qmp_close(userdata, -ETIMEDOUT, "no QMP handshake within the timeout");
	return 0;
}

static void handle_reply(struct qmp *q, const struct qmp_msg *msg)
{
	struct qmp_cmd *cmd = NULL;

	if (msg->has_id)
		for (cmd = q->pending_head; cmd; cmd = cmd->next)
			if (cmd->id == msg->id)
				break;
	if (!cmd) {
		/* a late answer to a timed-out command, or QEMU's own id-less
		 * error about a line it could not parse */
		log_debug("qmp: ignoring a %s that matches no pending command",
			  msg->type == QMP_MSG_RETURN ? "return" : "error");
		return;
	}

	struct qmp_reply reply = {
		.ret = msg->type == QMP_MSG_RETURN ? msg->value : NULL,
		.error_class = msg->error_class,
		.error_desc = msg->error_desc,
	};
	cmd_complete(q, cmd, msg->type == QMP_MSG_RETURN ? 0 : -EREMOTEIO, &reply);
}

static void handle_line(struct qmp *q, const char *line, size_t len)
{
	struct qmp_msg msg;
	const char *reason;
	int r;

	r = qmp_msg_parse(line, len, &msg, &reason);
	if (r < 0) {
		_cleanup_free_ char *why = xasprintf("bad message from QEMU: %s", reason);
		qmp_close(q, r, why);
		return;
	}

	if (q->state == QMP_GREETING) {
		if (msg.type != QMP_MSG_GREETING) {
			qmp_close(q, -EBADMSG, "bad message from QEMU: expected the QMP greeting");
		} else {
			r = qmp_enqueue(q, "qmp_capabilities", NULL, on_capabilities, NULL);
			if (r < 0)
				qmp_close(q, r, "cannot queue qmp_capabilities");
			else
				q->state = QMP_NEGOTIATING;
		}
		qmp_msg_done(&msg);
		return;
	}

	switch (msg.type) {
	case QMP_MSG_GREETING:
		qmp_close(q, -EBADMSG, "bad message from QEMU: a second greeting");
		break;
	case QMP_MSG_RETURN:
	case QMP_MSG_ERROR:
		handle_reply(q, &msg);
		break;
	case QMP_MSG_EVENT:
		if (q->cb->event)
			q->cb->event(q, msg.event, msg.value, q->userdata);
		break;
	}
	qmp_msg_done(&msg);
}

static void qmp_read(struct qmp *q)
{
	char chunk[QMP_READ_CHUNK];
	const char *line;
	size_t len;
	ssize_t n;
	int r;

	n = read(q->fd, chunk, sizeof(chunk));
	if (n < 0 && errno == ECONNRESET)
		n = 0; /* QEMU exited with some of our bytes unread: still its close */
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		r = -errno;
		_cleanup_free_ char *why = xasprintf("reading from QEMU failed: %s", strerror(errno));
		qmp_close(q, r, why);
		return;
	}
	if (n == 0) {
		qmp_close(q, 0, "QEMU closed the connection");
		return;
	}

	r = qmp_splitter_feed(&q->in, chunk, (size_t)n);
	while (r >= 0 && q->state != QMP_CLOSED) {
		r = qmp_splitter_next(&q->in, &line, &len);
		if (r <= 0)
			break;
		handle_line(q, line, len);
	}
	if (r == -EMSGSIZE)
		qmp_close(q, r, "bad message from QEMU: line longer than 1 MiB");
}

static void qmp_write(struct qmp *q)
{
	while (buf_avail(&q->out) > 0) {
		ssize_t n = send(q->fd, buf_head(&q->out), buf_avail(&q->out), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			int r = -errno;
			_cleanup_free_ char *why = xasprintf("writing to QEMU failed: %s", strerror(errno));
			qmp_close(q, r, why);
			return;
		}
		buf_consume(&q->out, (size_t)n);
	}
}

static void qmp_finish_connect(struct qmp *q)
{
	int error = 0;
	socklen_t len = sizeof(error);

	if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
		error = errno;
	if (error != 0) {
		_cleanup_free_ char *why = xasprintf("connecting to QEMU failed: %s", strerror(error));
		qmp_close(q, -error, why);
		return;
	}
	q->state = QMP_GREETING;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	_cleanup_(qmp_unrefp) struct qmp *q = qmp_ref(userdata);

	if (q->state == QMP_CONNECTING) {
		qmp_finish_connect(q);
	} else {
		/* read first: on EPOLLHUP the last lines are still buffered */
		if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
			qmp_read(q);
		if (q->state != QMP_CLOSED && (revents & EPOLLOUT))
			qmp_write(q);
	}
	if (q->state != QMP_CLOSED)
		qmp_update_io_events(q);
	return 0;
}

int qmp_connect(sd_event *e, const char *socket_path, const struct qmp_callbacks *cb, void *userdata,
		struct qmp **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	bool in_progress = false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		in_progress = true;
	}

	struct qmp *q = xcalloc(1, sizeof(*q));
	*q = (struct qmp){
		.n_ref = 1,
		.state = in_progress ? QMP_CONNECTING : QMP_GREETING,
		.event = sd_event_ref(e),
		.fd = TAKE_FD(fd),
		.cb = cb,
		.userdata = userdata,
		.next_id = 1,
		.timeout_usec = QMP_TIMEOUT_DEFAULT_USEC,
	};
	r = sd_event_add_io(e, &q->io, q->fd, in_progress ? EPOLLOUT : EPOLLIN, on_io, q);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &q->handshake_timer, CLOCK_MONOTONIC, q->timeout_usec, 0,
					       on_handshake_timeout, q);
	if (r < 0) {
		qmp_teardown(q);
		qmp_unref(q);
		return r;
	}
	*out = q;
	return 0;
}

void qmp_free(struct qmp *q)
{
	if (!q || q->freed)
		return;
	q->freed = true;
	q->state = QMP_CLOSED;
	qmp_teardown(q);
	fail_pending(q, -ECANCELED);
	qmp_unref(q);
}
