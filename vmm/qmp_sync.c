/* SPDX-License-Identifier: MIT */
#include "qmp_sync.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "qmp_proto.h"
#include "timefmt.h"
#include "util.h"

struct qmp_session {
	int fd;
	struct qmp_splitter split;
	uint64_t next_id;
	uint64_t deadline_ns;
	int timeout_ms;
};

static int remaining_ms(const struct qmp_session *q)
{
	uint64_t now = now_monotonic_ns();

	if (now >= q->deadline_ns)
		return 0;
	return (int)((q->deadline_ns - now) / 1000000) + 1;
}

/* The next message, waiting until the deadline. */
static int next_msg(struct qmp_session *q, struct qmp_msg *msg, char *err, size_t errlen)
{
	for (;;) {
		const char *line, *reason = NULL;
		size_t len;
		int r = qmp_splitter_next(&q->split, &line, &len);
		if (r < 0) {
			snprintf(err, errlen, "QMP: a line longer than %d bytes", QMP_LINE_MAX);
			return r;
		}
		if (r > 0) {
			r = qmp_msg_parse(line, len, msg, &reason);
			if (r < 0) {
				snprintf(err, errlen, "QMP: %s", reason ? reason : "malformed message");
				return r;
			}
			return 0;
		}
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int ms = remaining_ms(q);
		if (ms == 0 || poll(&p, 1, ms) == 0) {
			snprintf(err, errlen, "QMP: no answer within %d ms", q->timeout_ms);
			return -ETIMEDOUT;
		}
		char buf[65536];
		ssize_t n = read(q->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "QMP: connection closed");
			return n < 0 ? -errno : -ECONNRESET;
		}
		r = qmp_splitter_feed(&q->split, buf, (size_t)n);
		if (r < 0) {
			snprintf(err, errlen, "QMP: a line longer than %d bytes", QMP_LINE_MAX);
			return r;
		}
	}
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int qmp_session_run(struct qmp_session *q, const char *command, json_t *args, json_t **ret,
		    char *err, size_t errlen)
{
	_cleanup_free_ char *line = NULL;
	uint64_t id = q->next_id++;
	size_t len;
	int r;

	q->deadline_ns = now_monotonic_ns() + (uint64_t)q->timeout_ms * 1000000;
	r = qmp_command_encode(command, args, id, &line, &len);
	if (r < 0) {
		snprintf(err, errlen, "QMP: cannot encode %s", command);
		return r;
	}
	r = send_all(q->fd, line, len);
	if (r < 0) {
		snprintf(err, errlen, "QMP: cannot send %s: %s", command, strerror(-r));
		return r;
	}
	for (;;) {
		struct qmp_msg msg;
		r = next_msg(q, &msg, err, errlen);
		if (r < 0)
			return r;
		if ((msg.type == QMP_MSG_RETURN || msg.type == QMP_MSG_ERROR) && msg.has_id &&
		    msg.id == id) {
			if (msg.type == QMP_MSG_ERROR) {
				snprintf(err, errlen, "%s: %s", msg.error_class, msg.error_desc);
				r = -EREMOTEIO;
			} else if (ret) {
				*ret = json_incref(msg.value);
			}
			qmp_msg_done(&msg);
			return r;
		}
		qmp_msg_done(&msg); /* events and stray replies */
	}
}

int qmp_session_open(const char *socket_path, int timeout_ms, struct qmp_session **out,
		     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp_session *q;
	struct qmp_msg msg;
	int r;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	q = xcalloc(1, sizeof(*q));
	q->timeout_ms = timeout_ms;
	q->next_id = 1;
	q->deadline_ns = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot connect to %s: %s", socket_path, strerror(errno));
		goto fail;
	}
	r = next_msg(q, &msg, err, errlen);
	if (r < 0)
		goto fail;
	if (msg.type != QMP_MSG_GREETING) {
		qmp_msg_done(&msg);
		snprintf(err, errlen, "QMP: no greeting");
		r = -EPROTO;
		goto fail;
	}
	qmp_msg_done(&msg);
	r = qmp_session_run(q, "qmp_capabilities", NULL, NULL, err, errlen);
	if (r < 0)
		goto fail;
	*out = q;
	return 0;
fail:
	qmp_session_close(q);
	return r;
}

void qmp_session_close(struct qmp_session *q)
{
	if (q->fd >= 0)
		close(q->fd);
	qmp_splitter_free(&q->split);
	free(q);
}
