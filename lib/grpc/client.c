/* SPDX-License-Identifier: MIT */
/*
 * The blocking client: every wait is a poll() loop that moves bytes between
 * the socket and the nghttp2 session until the awaited stream event (a
 * message, the end of the call) happened or the time is up.
 */
#include "client.h"

#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "timefmt.h"

#define READ_CHUNK (64u * 1024u)

struct grpc_client {
	int fd;
	nghttp2_session *session;
	struct buf out;
	size_t max_message;
	char authority[300];
	bool broken;
	bool cork; /* grpc_client_unary: write the whole request at close_send */
	char *error;
	struct grpc_stream *streams;
};

struct response_msg {
	ProtobufCMessage *msg;
	struct response_msg *next;
};

struct grpc_stream {
	struct grpc_client *client;
	struct grpc_stream *next;
	int32_t id;
	const ProtobufCMessageDescriptor *resp_desc;
	uint64_t deadline_ns; /* monotonic; 0 = none */
	struct buf send;
	bool send_closed, send_deferred, data_eof_sent;
	struct buf recv;
	struct response_msg *head, *tail;
	int http_status;
	bool have_status;
	struct grpc_status status;
	bool ended; /* stream closed: status final */
};

void grpc_status_clear(struct grpc_status *st)
{
	free(st->message);
	st->message = NULL;
	st->code = 0;
}

static void status_set(struct grpc_status *st, int code, const char *msg)
{
	free(st->message);
	st->code = code;
	st->message = xstrdup(msg ? msg : "");
}

static struct grpc_stream *find_stream(struct grpc_client *c, int32_t id)
{
	for (struct grpc_stream *s = c->streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* End the stream locally with this status (unless it already ended). */
static void stream_fail(struct grpc_stream *s, int code, const char *msg)
{
	if (s->ended)
		return;
	status_set(&s->status, code, msg);
	s->have_status = true;
	s->ended = true;
}

/* Tell the server to stop (RST_STREAM CANCEL) and end with this status. */
static void stream_abort(struct grpc_stream *s, int code, const char *msg)
{
	if (!s->client || s->ended)
		return;
	nghttp2_submit_rst_stream(s->client->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
	stream_fail(s, code, msg);
}

static void client_break(struct grpc_client *c, const char *why)
{
	if (!c->broken) {
		c->broken = true;
		free(c->error);
		c->error = xstrdup(why);
	}
	for (struct grpc_stream *s = c->streams; s; s = s->next)
		stream_fail(s, GRPC_UNAVAILABLE, why);
}

/* ---- nghttp2 callbacks ---- */

static ssize_t stream_data_read(nghttp2_session *session, int32_t id, uint8_t *dst, size_t len,
				uint32_t *flags, nghttp2_data_source *source, void *ud)
{
	struct grpc_stream *s = source->ptr;
	size_t n = MIN(len, buf_avail(&s->send));

	(void)session, (void)id, (void)ud;
	if (n) /* an empty buffer may have no storage yet: memcpy(dst, NULL, 0) is UB */
		memcpy(dst, buf_head(&s->send), n);
	buf_consume(&s->send, n);
	if (buf_avail(&s->send) == 0) {
		if (s->send_closed) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			s->data_eof_sent = true;
		} else if (n == 0) {
			s->send_deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return (ssize_t)n;
}

static int http_to_grpc(int http)
{
	switch (http) {
	case 400: return GRPC_INTERNAL;
	case 401: return GRPC_UNAUTHENTICATED;
	case 403: return GRPC_PERMISSION_DENIED;
	case 404: return GRPC_UNIMPLEMENTED;
	case 429: case 502: case 503: case 504: return GRPC_UNAVAILABLE;
	default: return GRPC_UNKNOWN;
	}
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct grpc_stream *s = find_stream(ud, frame->hd.stream_id);

	(void)session, (void)flags;
	if (!s || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
#define IS(h) (namelen == sizeof(h) - 1 && memcmp(name, h, namelen) == 0)
	if (IS(":status")) {
		s->http_status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			s->http_status = s->http_status * 10 + (value[i] - '0');
	} else if (IS("grpc-status")) {
		int code = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++) {
			if (value[i] < '0' || value[i] > '9') {
				code = GRPC_UNKNOWN;
				break;
			}
			code = code * 10 + (value[i] - '0');
		}
		s->status.code = code;
		s->have_status = true;
		if (!s->status.message)
			s->status.message = xstrdup("");
	} else if (IS("grpc-message")) {
		free(s->status.message);
		s->status.message = grpc_percent_decode((const char *)value, valuelen);
	}
#undef IS
	return 0;
}

static void stream_deframe(struct grpc_client *c, struct grpc_stream *s)
{
	for (;;) {
		const uint8_t *msg;
		size_t len;
		bool compressed;
		int r = grpc_deframe(buf_head(&s->recv), buf_avail(&s->recv), c->max_message, &msg,
				     &len, &compressed);
		if (r == 0)
			return;
		if (r < 0 || compressed) {
			stream_abort(s, r == -EMSGSIZE ? GRPC_RESOURCE_EXHAUSTED : GRPC_INTERNAL,
				     r == -EMSGSIZE ? "response message larger than the client's limit"
						    : "malformed response message frame");
			buf_free(&s->recv);
			return;
		}
		ProtobufCMessage *m = protobuf_c_message_unpack(s->resp_desc, NULL, len, msg);
		buf_consume(&s->recv, GRPC_FRAME_HEADER + len);
		if (!m) {
			stream_abort(s, GRPC_INTERNAL, "failed to decode response message");
			buf_free(&s->recv);
			return;
		}
		struct response_msg *rm = xcalloc(1, sizeof(*rm));
		rm->msg = m;
		if (s->tail)
			s->tail->next = rm;
		else
			s->head = rm;
		s->tail = rm;
	}
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t id,
			      const uint8_t *data, size_t len, void *ud)
{
	struct grpc_stream *s = find_stream(ud, id);

	(void)session, (void)flags;
	if (!s || s->ended)
		return 0;
	buf_append(&s->recv, data, len);
	stream_deframe(ud, s);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *ud)
{
	struct grpc_stream *s = find_stream(ud, id);

	(void)session;
	if (!s || s->ended)
		return 0;
	if (!s->have_status) {
		if (s->http_status && s->http_status != 200) {
			char msg[64];
			snprintf(msg, sizeof(msg), "HTTP status %d", s->http_status);
			stream_fail(s, http_to_grpc(s->http_status), msg);
		} else if (error_code == NGHTTP2_CANCEL) {
			stream_fail(s, GRPC_CANCELLED, "stream cancelled by the server");
		} else if (error_code == NGHTTP2_REFUSED_STREAM) {
			stream_fail(s, GRPC_UNAVAILABLE, "stream refused by the server");
		} else {
			stream_fail(s, GRPC_INTERNAL, "stream closed without a status");
		}
	} else if (buf_avail(&s->recv) > 0 && s->status.code == GRPC_OK) {
		s->status.code = GRPC_INTERNAL;
		free(s->status.message);
		s->status.message = xstrdup("response ended inside a message frame");
	}
	s->ended = true;
	return 0;
}

/* ---- I/O ---- */

static int client_flush(struct grpc_client *c)
{
	for (;;) {
		while (buf_avail(&c->out) < READ_CHUNK) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->session, &data);
			if (n < 0) {
				client_break(c, nghttp2_strerror((int)n));
				return -EIO;
			}
			if (n == 0)
				break;
			buf_append(&c->out, data, (size_t)n);
		}
		if (buf_avail(&c->out) == 0)
			return 0;
		ssize_t w = send(c->fd, buf_head(&c->out), buf_avail(&c->out), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			client_break(c, "connection lost while sending");
			return -errno;
		}
		buf_consume(&c->out, (size_t)w);
	}
}

/* One round: write what is pending, wait up to timeout_ms for the socket,
 * read what arrived. -ETIMEDOUT when nothing happened in time. */
static int client_step(struct grpc_client *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	uint8_t data[READ_CHUNK];
	int r;

	if (c->broken)
		return -ECONNRESET;
	r = client_flush(c);
	if (r < 0)
		return r;
	if (buf_avail(&c->out) > 0)
		p.events |= POLLOUT;
	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = recv(c->fd, data, sizeof(data), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_break(c, "connection closed by the server");
			return -ECONNRESET;
		}
		if (n > 0) {
			ssize_t k = nghttp2_session_mem_recv(c->session, data, (size_t)n);
			if (k < 0) {
				client_break(c, nghttp2_strerror((int)k));
				return -EPROTO;
			}
		}
	}
	return client_flush(c);
}

int grpc_client_connect(const char *endpoint, int timeout_ms, struct grpc_client **out)
{
	nghttp2_session_callbacks *cbs;
	struct grpc_endpoint ep;
	struct grpc_client *c;
	nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20 },
	};
	int r, fd;

	r = grpc_endpoint_parse(endpoint, &ep);
	if (r < 0)
		return r;
	fd = grpc_endpoint_connect(&ep, timeout_ms);
	if (fd < 0)
		return fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->max_message = 16u << 20;
	if (ep.is_unix)
		snprintf(c->authority, sizeof(c->authority), "localhost");
	else
		grpc_endpoint_format(&ep, c->authority, sizeof(c->authority));
	if (nghttp2_session_callbacks_new(&cbs) != 0) {
		grpc_client_free(c);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	r = nghttp2_session_client_new(&c->session, cbs, c);
	nghttp2_session_callbacks_del(cbs);
	if (r != 0) {
		grpc_client_free(c);
		return -ENOMEM;
	}
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, ARRAY_SIZE(settings));
	nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, 16u << 20);
	*out = c;
	return 0;
}

void grpc_client_free(struct grpc_client *c)
{
	if (!c)
		return;
	/* streams still open belong to the caller; detach them */
	for (struct grpc_stream *s = c->streams; s; s = s->next) {
		stream_fail(s, GRPC_CANCELLED, "client closed");
		s->client = NULL;
	}
	nghttp2_session_del(c->session);
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->out);
	free(c->error);
	free(c);
}

void grpc_client_set_max_message(struct grpc_client *c, size_t max)
{
	c->max_message = max;
}

bool grpc_client_usable(const struct grpc_client *c)
{
	return !c->broken && nghttp2_session_want_read(c->session);
}

#define NV(n, v) \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

int grpc_stream_open(struct grpc_client *c, const char *path,
		     const ProtobufCMessageDescriptor *resp_desc, int64_t timeout_ms,
		     struct grpc_stream **out)
{
	struct grpc_stream *s;
	char timeout[16] = "";
	nghttp2_nv hdrs[] = {
		NV(":method", "POST"),
		NV(":scheme", "http"),
		NV(":path", path),
		NV(":authority", c->authority),
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
		NV("user-agent", "mvirt-grpc/" MVIRT_VERSION),
		NV("grpc-timeout", timeout),
	};
	size_t n_hdrs = ARRAY_SIZE(hdrs);

	if (c->broken)
		return -ECONNRESET;
	s = xcalloc(1, sizeof(*s));
	s->client = c;
	s->resp_desc = resp_desc;
	if (timeout_ms > 0) {
		s->deadline_ns = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ULL;
		grpc_timeout_format((uint64_t)timeout_ms * 1000000ULL, timeout);
		hdrs[n_hdrs - 1].valuelen = strlen(timeout);
	} else {
		n_hdrs--;
	}
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = stream_data_read };
	s->id = nghttp2_submit_request(c->session, NULL, hdrs, n_hdrs, &prd, s);
	if (s->id < 0) {
		free(s);
		return -EIO;
	}
	s->next = c->streams;
	c->streams = s;
	*out = s;
	if (c->cork)
		return 0;
	return client_flush(c) < 0 ? -ECONNRESET : 0;
}

static void stream_kick(struct grpc_stream *s)
{
	if (s->send_deferred) {
		s->send_deferred = false;
		nghttp2_session_resume_data(s->client->session, s->id);
	}
}

static int remaining_ms(const struct grpc_stream *s, int wait_ms);

int grpc_stream_send(struct grpc_stream *s, const ProtobufCMessage *msg)
{
	if (!s->client || s->ended)
		return -ECONNRESET;
	if (s->send_closed)
		return -EALREADY;
	grpc_frame_message(&s->send, msg);
	stream_kick(s);
	/* Push what the flow-control windows allow, without waiting for more. */
	while (buf_avail(&s->send) > (1u << 20) && !s->ended) {
		if (s->deadline_ns && now_monotonic_ns() >= s->deadline_ns) {
			/* the peer did not open its window in time: the call is over
			 * (grpc_stream_recv reports DEADLINE_EXCEEDED) */
			stream_abort(s, GRPC_DEADLINE_EXCEEDED, "Deadline Exceeded");
			break;
		}
		int r = client_step(s->client, remaining_ms(s, 1000));
		if (r < 0 && r != -ETIMEDOUT)
			return r;
	}
	if (s->client->cork)
		return 0;
	return client_flush(s->client);
}

int grpc_stream_close_send(struct grpc_stream *s)
{
	if (!s->client)
		return -ECONNRESET;
	if (s->send_closed)
		return 0;
	s->send_closed = true;
	stream_kick(s);
	return client_flush(s->client);
}

static int remaining_ms(const struct grpc_stream *s, int wait_ms)
{
	int ms = wait_ms;

	if (s->deadline_ns) {
		uint64_t now = now_monotonic_ns();
		int64_t left = now >= s->deadline_ns ? 0 : (int64_t)((s->deadline_ns - now + 999999) / 1000000);
		if (ms < 0 || left < ms)
			ms = (int)MIN(left, (int64_t)1 << 30);
	}
	return ms;
}

int grpc_stream_recv(struct grpc_stream *s, ProtobufCMessage **msg, int wait_ms)
{
	uint64_t wait_end = wait_ms >= 0 ? now_monotonic_ns() + (uint64_t)wait_ms * 1000000ULL : 0;

	for (;;) {
		if (s->head) {
			struct response_msg *rm = s->head;
			s->head = rm->next;
			if (!s->head)
				s->tail = NULL;
			*msg = rm->msg;
			free(rm);
			return 1;
		}
		if (s->ended)
			return 0;
		if (!s->client) {
			stream_fail(s, GRPC_CANCELLED, "client closed");
			return 0;
		}
		int left = -1;
		if (wait_ms >= 0) {
			uint64_t now = now_monotonic_ns();
			if (now >= wait_end)
				return -ETIMEDOUT;
			left = (int)((wait_end - now + 999999) / 1000000);
		}
		int ms = remaining_ms(s, left);
		if (s->deadline_ns && now_monotonic_ns() >= s->deadline_ns) {
			/* Our own deadline: the server may not have noticed yet. */
			stream_abort(s, GRPC_DEADLINE_EXCEEDED, "Deadline Exceeded");
			client_flush(s->client);
			continue;
		}
		int r = client_step(s->client, ms);
		if (r < 0 && r != -ETIMEDOUT) {
			if (s->ended)
				continue;
			return r;
		}
	}
}

const struct grpc_status *grpc_stream_status(const struct grpc_stream *s)
{
	return &s->status;
}

void grpc_stream_cancel(struct grpc_stream *s)
{
	if (!s->client || s->ended)
		return;
	stream_abort(s, GRPC_CANCELLED, "Cancelled");
	client_flush(s->client);
}

void grpc_stream_free(struct grpc_stream *s)
{
	if (!s)
		return;
	if (s->client) {
		if (!s->ended)
			grpc_stream_cancel(s);
		nghttp2_session_set_stream_user_data(s->client->session, s->id, NULL);
		for (struct grpc_stream **p = &s->client->streams; *p; p = &(*p)->next)
			if (*p == s) {
				*p = s->next;
				break;
			}
	}
	while (s->head) {
		struct response_msg *rm = s->head;
		s->head = rm->next;
		protobuf_c_message_free_unpacked(rm->msg, NULL);
		free(rm);
	}
	buf_free(&s->send);
	buf_free(&s->recv);
	free(s->status.message);
	free(s);
}

int grpc_client_unary(struct grpc_client *c, const char *path, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *resp_desc, int64_t timeout_ms,
		      ProtobufCMessage **resp, struct grpc_status *st)
{
	struct grpc_stream *s = NULL;
	ProtobufCMessage *m = NULL, *extra = NULL;
	int r;

	*resp = NULL;
	/* HEADERS, DATA and END_STREAM leave in one write (one wakeup of the
	 * server) instead of three: open and send only queue them */
	c->cork = true;
	r = grpc_stream_open(c, path, resp_desc, timeout_ms, &s);
	if (r == 0)
		r = grpc_stream_send(s, req);
	c->cork = false;
	if (r == 0)
		r = grpc_stream_close_send(s);
	if (r == 0)
		r = grpc_stream_recv(s, &m, -1);
	if (r == 1)
		r = grpc_stream_recv(s, &extra, -1);
	if (r < 0) {
		status_set(st, GRPC_UNAVAILABLE, c->error ? c->error : strerror(-r));
		goto out;
	}
	if (r == 1) {
		grpc_stream_cancel(s);
		status_set(st, GRPC_INTERNAL, "more than one response message for a unary call");
		goto out;
	}
	status_set(st, s->status.code, s->status.message);
	if (st->code == GRPC_OK && !m)
		status_set(st, GRPC_INTERNAL, "no response message for a unary call");
	if (st->code == GRPC_OK)
		*resp = TAKE_PTR(m);
	r = 0;
out:
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	if (extra)
		protobuf_c_message_free_unpacked(extra, NULL);
	grpc_stream_free(s);
	return r;
}
