/* SPDX-License-Identifier: MIT */
/*
 * The gRPC server: one nghttp2 session per connection, driven by sd-event.
 *
 * nghttp2 callbacks only queue work (responses, data, RST_STREAM); the
 * bytes are written from a per-connection deferred "flush" source, because
 * nghttp2 must not be re-entered with session_send from its own callbacks.
 * Connections are freed only from top-level event handlers.
 */
#include "server.h"

#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "log.h"

#define READ_CHUNK (64u * 1024u)
#define WRITE_BATCH (64u * 1024u)
#define STREAM_WINDOW (1u << 20)
#define CONN_WINDOW (16u << 20)

struct grpc_listener {
	struct grpc_server *server;
	int fd;
	sd_event_source *src;
	struct grpc_endpoint ep;
};

struct grpc_server {
	sd_event *event;
	struct grpc_server_config cfg;
	const struct grpc_service **services;
	const char **service_names;
	size_t n_services;
	struct grpc_listener *listeners;
	size_t n_listeners;
	struct grpc_conn *conns;
	bool shutting_down;
	sd_event_source *shutdown_timer;
	void (*shutdown_done)(void *);
	void *shutdown_userdata;
};

struct grpc_conn {
	struct grpc_server *server;
	struct grpc_conn *prev, *next;
	int fd;
	sd_event_source *io, *flush;
	nghttp2_session *session;
	struct buf out;
	struct grpc_peer peer;
	struct grpc_call *calls;
	bool want_out;
};

struct grpc_call {
	unsigned refs;
	struct grpc_conn *conn; /* NULL once the stream is gone */
	struct grpc_call *prev, *next;
	sd_event *event;
	int32_t stream_id;
	const struct grpc_service *svc;
	const struct grpc_method *method;
	struct grpc_peer peer;
	char *path;
	bool is_post, content_type_ok, encoding_ok;
	bool has_timeout;
	uint64_t timeout_ns;
	sd_event_source *deadline;

	struct buf in;
	ProtobufCMessage *req;
	bool started, remote_closed, discard_input;

	bool done;     /* finished by us or cancelled */
	bool finished; /* finished by us (trailers queued) */
	bool headers_sent, data_deferred;
	int status;
	char *status_msg;

	struct buf out;
	uint64_t queued_total, sent_total;
	uint64_t *msg_ends; /* FIFO of cumulative end offsets of queued messages */
	size_t msg_head, msg_count, msg_cap;
	bool want_drain, drain_pending;

	const struct grpc_call_handlers *h;
	void *ud;
};

static const struct grpc_call_handlers no_handlers;

static void conn_schedule_flush(struct grpc_conn *c)
{
	if (c)
		sd_event_source_set_enabled(c->flush, SD_EVENT_ONESHOT);
}

/* ---- calls ------------------------------------------------------------ */

struct grpc_call *grpc_call_ref(struct grpc_call *call)
{
	call->refs++;
	return call;
}

void grpc_call_unref(struct grpc_call *call)
{
	if (!call || --call->refs > 0)
		return;
	sd_event_source_disable_unref(call->deadline);
	if (call->req)
		protobuf_c_message_free_unpacked(call->req, NULL);
	buf_free(&call->in);
	buf_free(&call->out);
	free(call->msg_ends);
	free(call->path);
	free(call->status_msg);
	free(call);
}

bool grpc_call_is_done(const struct grpc_call *call)
{
	return call->done;
}

size_t grpc_call_queued_bytes(const struct grpc_call *call)
{
	return buf_avail(&call->out);
}

size_t grpc_call_queued_messages(const struct grpc_call *call)
{
	return call->msg_count;
}

const struct grpc_peer *grpc_call_peer(const struct grpc_call *call)
{
	return &call->peer;
}

const char *grpc_call_path(const struct grpc_call *call)
{
	return call->path ? call->path : "";
}

sd_event *grpc_call_event(const struct grpc_call *call)
{
	return call->event;
}

void grpc_call_set_handlers(struct grpc_call *call, const struct grpc_call_handlers *h,
			    void *userdata)
{
	call->h = h ? h : &no_handlers;
	call->ud = userdata;
}

/* Tell the handler the call is over without its finish. */
static void call_cancel(struct grpc_call *call)
{
	if (call->done)
		return;
	call->done = true;
	sd_event_source_set_enabled(call->deadline, SD_EVENT_OFF);
	if (call->h->on_cancel) {
		grpc_call_ref(call);
		call->h->on_cancel(call, call->ud);
		grpc_call_unref(call);
	}
}

static void call_account_sent(struct grpc_call *call, size_t n)
{
	call->sent_total += n;
	while (call->msg_count > 0 && call->msg_ends[call->msg_head] <= call->sent_total) {
		call->msg_head++;
		call->msg_count--;
	}
	if (call->msg_count == 0)
		call->msg_head = 0;
	if (call->want_drain && buf_avail(&call->out) < GRPC_CALL_LOW_WATER) {
		call->want_drain = false;
		call->drain_pending = true;
	}
}

static ssize_t call_data_read(nghttp2_session *session, int32_t stream_id, uint8_t *dst,
			      size_t length, uint32_t *flags, nghttp2_data_source *source,
			      void *user_data);

#define NV(n, v) \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

/* Response headers for a normal response (data and trailers follow). */
static int call_submit_headers(struct grpc_call *call)
{
	nghttp2_nv hdrs[] = {
		NV(":status", "200"),
		NV("content-type", "application/grpc"),
		NV("grpc-accept-encoding", "identity"),
	};
	nghttp2_data_provider prd = { .source.ptr = call, .read_callback = call_data_read };
	int r = nghttp2_submit_response(call->conn->session, call->stream_id, hdrs,
					ARRAY_SIZE(hdrs), &prd);
	if (r < 0)
		return -EIO;
	call->headers_sent = true;
	return 0;
}

static void call_submit_trailers(struct grpc_call *call)
{
	char code[12] = ""; /* NV() takes its strlen before it is filled in */
	_cleanup_free_ char *msg = grpc_percent_encode(call->status_msg ? call->status_msg : "");
	nghttp2_nv hdrs[] = { NV("grpc-status", code), NV("grpc-message", msg) };

	snprintf(code, sizeof(code), "%d", call->status);
	hdrs[0].valuelen = strlen(code);
	nghttp2_submit_trailer(call->conn->session, call->stream_id, hdrs, msg[0] ? 2 : 1);
}

/* A response that is only HEADERS with END_STREAM: used when no message
 * was sent, and for HTTP-level refusals (http_status other than 200). */
static void call_submit_trailers_only(struct grpc_call *call, const char *http_status)
{
	char code[12] = ""; /* NV() takes its strlen before it is filled in */
	_cleanup_free_ char *msg = grpc_percent_encode(call->status_msg ? call->status_msg : "");
	nghttp2_nv hdrs[] = {
		NV(":status", http_status),
		NV("content-type", "application/grpc"),
		NV("grpc-accept-encoding", "identity"),
		NV("grpc-status", code),
		NV("grpc-message", msg),
	};

	snprintf(code, sizeof(code), "%d", call->status);
	hdrs[3].valuelen = strlen(code);
	nghttp2_submit_response(call->conn->session, call->stream_id, hdrs,
				msg[0] ? ARRAY_SIZE(hdrs) : ARRAY_SIZE(hdrs) - 1, NULL);
	call->headers_sent = true;
}

static ssize_t call_data_read(nghttp2_session *session, int32_t stream_id, uint8_t *dst,
			      size_t length, uint32_t *flags, nghttp2_data_source *source,
			      void *user_data)
{
	struct grpc_call *call = source->ptr;
	size_t n = MIN(length, buf_avail(&call->out));

	(void)session, (void)stream_id, (void)user_data;
	if (n) /* an empty buffer may have no storage yet: memcpy(dst, NULL, 0) is UB */
		memcpy(dst, buf_head(&call->out), n);
	buf_consume(&call->out, n);
	call_account_sent(call, n);
	if (buf_avail(&call->out) == 0) {
		if (call->finished) {
			*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
			call_submit_trailers(call);
		} else if (n == 0) {
			call->data_deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return (ssize_t)n;
}

/* More to send: start the response or wake a deferred data provider. */
static void call_kick(struct grpc_call *call)
{
	if (!call->headers_sent)
		call_submit_headers(call);
	else if (call->data_deferred) {
		call->data_deferred = false;
		nghttp2_session_resume_data(call->conn->session, call->stream_id);
	}
	conn_schedule_flush(call->conn);
}

int grpc_call_send(struct grpc_call *call, const ProtobufCMessage *msg)
{
	size_t before;

	if (call->done)
		return call->finished ? -EALREADY : -ECANCELED;
	before = buf_avail(&call->out);
	grpc_frame_message(&call->out, msg);
	call->queued_total += buf_avail(&call->out) - before;
	if (call->msg_head + call->msg_count == call->msg_cap) {
		if (call->msg_head > 0) {
			memmove(call->msg_ends, call->msg_ends + call->msg_head,
				call->msg_count * sizeof(uint64_t));
			call->msg_head = 0;
		} else {
			call->msg_cap = call->msg_cap ? call->msg_cap * 2 : 16;
			call->msg_ends = xrealloc(call->msg_ends, call->msg_cap * sizeof(uint64_t));
		}
	}
	call->msg_ends[call->msg_head + call->msg_count++] = call->queued_total;
	if (buf_avail(&call->out) >= GRPC_CALL_LOW_WATER)
		call->want_drain = true;
	call_kick(call);
	return 0;
}

static PRINTF_FMT(3, 0) int call_vfinish(struct grpc_call *call, int code, const char *fmt,
					 va_list ap)
{
	if (call->done)
		return call->finished ? -EALREADY : -ECANCELED;
	call->done = call->finished = true;
	call->status = code;
	if (fmt && vasprintf(&call->status_msg, fmt, ap) < 0)
		call->status_msg = NULL;
	sd_event_source_set_enabled(call->deadline, SD_EVENT_OFF);
	if (!call->conn)
		return 0;
	if (!call->headers_sent) {
		call_submit_trailers_only(call, "200");
		conn_schedule_flush(call->conn);
	} else {
		call_kick(call);
	}
	return 0;
}

int grpc_call_finish(struct grpc_call *call, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = call_vfinish(call, code, fmt, ap);
	va_end(ap);
	return r;
}

int grpc_call_reply(struct grpc_call *call, const ProtobufCMessage *msg)
{
	int r = grpc_call_send(call, msg);

	return r < 0 ? r : grpc_call_finish(call, GRPC_OK, NULL);
}

/* The framework's own errors: finish, and tell a started handler. */
static void call_fail(struct grpc_call *call, int code, const char *fmt, ...) PRINTF_FMT(3, 4);
static void call_fail(struct grpc_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	if (call->done)
		return;
	va_start(ap, fmt);
	call_vfinish(call, code, fmt, ap);
	va_end(ap);
	call->discard_input = true;
	if (call->started && call->h->on_cancel) {
		grpc_call_ref(call);
		call->h->on_cancel(call, call->ud);
		grpc_call_unref(call);
	}
}

static int call_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct grpc_call *call = userdata;

	(void)s, (void)usec;
	grpc_call_ref(call);
	call_fail(call, GRPC_DEADLINE_EXCEEDED, "Deadline Exceeded");
	grpc_call_unref(call);
	return 0;
}

/* ---- request processing ----------------------------------------------- */

static void call_start(struct grpc_call *call)
{
	call->started = true;
	grpc_call_ref(call);
	call->method->start(call, call->req, call->svc->userdata);
	grpc_call_unref(call);
}

static int call_resolve(struct grpc_server *s, struct grpc_call *call)
{
	const char *p = call->path, *slash;

	if (!p || p[0] != '/' || !(slash = strchr(p + 1, '/')))
		return -ENOENT;
	size_t svc_len = (size_t)(slash - (p + 1));
	for (size_t i = 0; i < s->n_services; i++) {
		const struct grpc_service *svc = s->services[i];
		if (strlen(svc->name) != svc_len || strncmp(svc->name, p + 1, svc_len) != 0)
			continue;
		call->svc = svc;
		for (size_t m = 0; m < svc->n_methods; m++) {
			if (streq(svc->methods[m].name, slash + 1)) {
				call->method = &svc->methods[m];
				return 0;
			}
		}
		return -ENOENT;
	}
	return -ENOENT;
}

/* All request headers are in: check them, find the method, arm the deadline. */
static void call_on_request_headers(struct grpc_conn *c, struct grpc_call *call)
{
	struct grpc_server *s = c->server;

	if (!call->is_post || !call->content_type_ok) {
		call->done = call->finished = true;
		call->status = GRPC_UNKNOWN;
		call->status_msg = xstrdup("not a gRPC request (POST with application/grpc expected)");
		call_submit_trailers_only(call, call->is_post ? "415" : "405");
		call->discard_input = true;
		return;
	}
	if (call_resolve(s, call) < 0) {
		if (call->svc)
			call_fail(call, GRPC_UNIMPLEMENTED, "Method not found: %s", call->path);
		else
			call_fail(call, GRPC_UNIMPLEMENTED, "Service not found: %s",
				  call->path ? call->path : "(none)");
		return;
	}
	if (!call->encoding_ok) {
		call_fail(call, GRPC_UNIMPLEMENTED, "only identity grpc-encoding is supported");
		return;
	}
	if (call->has_timeout) {
		int r = sd_event_add_time_relative(s->event, &call->deadline, CLOCK_MONOTONIC,
						   call->timeout_ns / 1000, 1000, call_on_deadline,
						   call);
		if (r < 0) {
			call_fail(call, GRPC_INTERNAL, "cannot arm deadline");
			return;
		}
	}
	if (call->method->kind == GRPC_CLIENT_STREAMING || call->method->kind == GRPC_BIDI_STREAMING)
		call_start(call);
}

static void call_on_message(struct grpc_conn *c, struct grpc_call *call, const uint8_t *data,
			    size_t len)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(call->method->input, NULL, len, data);

	(void)c;
	if (!m) {
		call_fail(call, GRPC_INTERNAL, "failed to decode request message as %s",
			  call->method->input->name);
		return;
	}
	switch (call->method->kind) {
	case GRPC_UNARY:
	case GRPC_SERVER_STREAMING:
		if (call->req) {
			protobuf_c_message_free_unpacked(m, NULL);
			call_fail(call, GRPC_INTERNAL, "more than one request message for a %s call",
				  call->method->kind == GRPC_UNARY ? "unary" : "server-streaming");
			return;
		}
		call->req = m;
		break;
	default:
		if (call->h->on_message && !call->done) {
			grpc_call_ref(call);
			call->h->on_message(call, m, call->ud);
			grpc_call_unref(call);
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

static void call_on_data(struct grpc_conn *c, struct grpc_call *call, const uint8_t *data,
			 size_t len)
{
	size_t max = c->server->cfg.max_recv_message;

	if (call->discard_input || !call->method)
		return;
	buf_append(&call->in, data, len);
	for (;;) {
		const uint8_t *msg;
		size_t mlen;
		bool compressed;
		int r = grpc_deframe(buf_head(&call->in), buf_avail(&call->in), max, &msg, &mlen,
				     &compressed);
		if (r == 0)
			return;
		if (r == -EMSGSIZE) {
			uint32_t n = (uint32_t)buf_head(&call->in)[1] << 24 |
				     (uint32_t)buf_head(&call->in)[2] << 16 |
				     (uint32_t)buf_head(&call->in)[3] << 8 | buf_head(&call->in)[4];
			call_fail(call, GRPC_RESOURCE_EXHAUSTED,
				  "Received message larger than max (%u vs. %zu)", n, max);
		} else if (r < 0) {
			call_fail(call, GRPC_INTERNAL, "malformed gRPC message frame");
		} else if (compressed) {
			call_fail(call, GRPC_INTERNAL, "compressed message without grpc-encoding");
		}
		if (r < 0 || compressed) {
			buf_free(&call->in);
			return;
		}
		call_on_message(c, call, msg, mlen);
		buf_consume(&call->in, GRPC_FRAME_HEADER + mlen);
		if (call->discard_input) {
			buf_free(&call->in);
			return;
		}
	}
}

static void call_on_remote_close(struct grpc_call *call)
{
	call->remote_closed = true;
	if (call->discard_input || call->done || !call->method)
		return;
	if (buf_avail(&call->in) > 0) {
		call_fail(call, GRPC_INTERNAL, "request ended inside a message frame");
		return;
	}
	switch (call->method->kind) {
	case GRPC_UNARY:
	case GRPC_SERVER_STREAMING:
		if (!call->req) {
			call_fail(call, GRPC_INTERNAL, "request ended without a message");
			return;
		}
		call_start(call);
		break;
	default:
		if (call->h->on_half_close) {
			grpc_call_ref(call);
			call->h->on_half_close(call, call->ud);
			grpc_call_unref(call);
		}
	}
}

/* ---- nghttp2 callbacks ---------------------------------------------------- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	struct grpc_conn *c = ud;
	struct grpc_call *call;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	call = xcalloc(1, sizeof(*call));
	call->refs = 1; /* the stream's */
	call->conn = c;
	call->event = c->server->event;
	call->stream_id = frame->hd.stream_id;
	call->peer = c->peer;
	call->encoding_ok = true;
	call->h = &no_handlers;
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
	return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

	(void)flags, (void)ud;
	if (!call || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
#define IS(h) (namelen == sizeof(h) - 1 && memcmp(name, h, namelen) == 0)
	if (IS(":path")) {
		free(call->path);
		call->path = xstrndup((const char *)value, valuelen);
	} else if (IS(":method")) {
		call->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
	} else if (IS("content-type")) {
		call->content_type_ok = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
					(valuelen == 16 || value[16] == '+' || value[16] == ';');
	} else if (IS("grpc-encoding")) {
		call->encoding_ok = valuelen == 8 && memcmp(value, "identity", 8) == 0;
	} else if (IS("grpc-timeout")) {
		call->has_timeout = grpc_timeout_parse((const char *)value, valuelen,
						       &call->timeout_ns) == 0;
	}
#undef IS
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	struct grpc_conn *c = ud;
	struct grpc_call *call;

	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!call)
		return 0;
	grpc_call_ref(call);
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		call_on_request_headers(c, call);
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
		call_on_remote_close(call);
	grpc_call_unref(call);
	return 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
			      const uint8_t *data, size_t len, void *ud)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);

	(void)flags;
	if (!call)
		return 0;
	grpc_call_ref(call);
	call_on_data(ud, call, data, len);
	grpc_call_unref(call);
	return 0;
}

/* Our side ended the stream while the client may still be sending (an early
 * error): tell it to stop with RST_STREAM(NO_ERROR), as gRPC servers do. */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	struct grpc_call *call;

	(void)ud;
	if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
	    (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA))
		return 0;
	call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (call && !call->remote_closed)
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
					  NGHTTP2_NO_ERROR);
	return 0;
}

static void call_detach(struct grpc_conn *c, struct grpc_call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
	call->conn = NULL;
	call->stream_id = 0;
	call_cancel(call);
	grpc_call_unref(call); /* the stream's reference */
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
			   void *ud)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);

	(void)error_code;
	if (!call)
		return 0;
	nghttp2_session_set_stream_user_data(session, stream_id, NULL);
	call_detach(ud, call);
	return 0;
}

/* ---- connections ------------------------------------------------------ */

static void server_maybe_done(struct grpc_server *s);

static void conn_free(struct grpc_conn *c)
{
	struct grpc_server *s = c->server;

	while (c->calls)
		call_detach(c, c->calls);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->flush);
	nghttp2_session_del(c->session);
	close(c->fd);
	buf_free(&c->out);
	free(c);
	server_maybe_done(s);
}

static void conn_run_drained(struct grpc_conn *c)
{
	for (struct grpc_call *call = c->calls, *next; call; call = next) {
		next = call->next;
		if (!call->drain_pending)
			continue;
		call->drain_pending = false;
		if (!call->done && call->h->on_drained) {
			grpc_call_ref(call);
			call->h->on_drained(call, call->ud);
			next = call->next; /* the handler may have ended calls */
			grpc_call_unref(call);
		}
	}
}

/* Write what nghttp2 has queued. Returns <0 when the connection must go. */
static int conn_flush(struct grpc_conn *c)
{
	for (;;) {
		while (buf_avail(&c->out) < WRITE_BATCH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->session, &data);
			if (n < 0)
				return -EIO;
			if (n == 0)
				break;
			buf_append(&c->out, data, (size_t)n);
		}
		if (buf_avail(&c->out) == 0)
			break;
		ssize_t w = send(c->fd, buf_head(&c->out), buf_avail(&c->out), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->want_out)
					sd_event_source_set_io_events(c->io, EPOLLIN | EPOLLOUT);
				c->want_out = true;
				return 0;
			}
			return -errno;
		}
		buf_consume(&c->out, (size_t)w);
	}
	if (c->want_out) {
		sd_event_source_set_io_events(c->io, EPOLLIN);
		c->want_out = false;
	}
	if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
		return -ECONNRESET;
	if (c->server->shutting_down && !c->calls)
		return -ESHUTDOWN;
	return 0;
}

static void conn_process(struct grpc_conn *c)
{
	if (conn_flush(c) < 0) {
		conn_free(c);
		return;
	}
	conn_run_drained(c);
}

static int conn_on_flush(sd_event_source *s, void *userdata)
{
	(void)s;
	conn_process(userdata);
	return 0;
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct grpc_conn *c = userdata;
	uint8_t data[READ_CHUNK];

	(void)s;
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(fd, data, sizeof(data), 0);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_free(c);
			return 0;
		}
		if (n == 0) {
			conn_free(c);
			return 0;
		}
		if (n > 0) {
			ssize_t r = nghttp2_session_mem_recv(c->session, data, (size_t)n);
			if (r < 0) {
				log_debug("grpc: closing connection from %s: %s", c->peer.addr,
					  nghttp2_strerror((int)r));
				conn_flush(c); /* deliver a GOAWAY if nghttp2 queued one */
				conn_free(c);
				return 0;
			}
		}
	}
	conn_process(c);
	return 0;
}

static void peer_fill(int fd, struct grpc_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*p = (struct grpc_peer){ .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		p->is_unix = true;
		snprintf(p->addr, sizeof(p->addr), "unix");
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			p->pid = cred.pid;
			p->uid = cred.uid;
			p->gid = cred.gid;
		}
		return;
	}
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	char host[INET6_ADDRSTRLEN] = "";
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(p->addr, sizeof(p->addr), "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(p->addr, sizeof(p->addr), "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static int conn_new(struct grpc_server *s, int fd)
{
	nghttp2_session_callbacks *cbs;
	struct grpc_conn *c = xcalloc(1, sizeof(*c));
	nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->cfg.max_concurrent_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384 },
	};
	int r, one = 1;

	c->server = s;
	c->fd = fd;
	peer_fill(fd, &c->peer);
	if (!c->peer.is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nghttp2_session_callbacks_new(&cbs) != 0)
		goto fail;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	r = nghttp2_session_server_new(&c->session, cbs, c);
	nghttp2_session_callbacks_del(cbs);
	if (r != 0)
		goto fail;
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, ARRAY_SIZE(settings));
	nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	if (sd_event_add_io(s->event, &c->io, fd, EPOLLIN, conn_on_io, c) < 0 ||
	    sd_event_add_defer(s->event, &c->flush, conn_on_flush, c) < 0)
		goto fail;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	conn_schedule_flush(c); /* our SETTINGS */
	return 0;
fail:
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->flush);
	nghttp2_session_del(c->session);
	close(fd);
	free(c);
	return -ENOMEM;
}

static int listener_on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct grpc_listener *l = userdata;

	(void)src, (void)revents;
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(errno, "grpc: accept failed");
			return 0;
		}
		conn_new(l->server, cfd);
	}
	return 0;
}

/* ---- server ----------------------------------------------------------- */

int grpc_server_new(sd_event *event, const struct grpc_server_config *cfg,
		    struct grpc_server **out)
{
	struct grpc_server *s = xcalloc(1, sizeof(*s));

	s->event = sd_event_ref(event);
	if (cfg)
		s->cfg = *cfg;
	if (!s->cfg.max_recv_message)
		s->cfg.max_recv_message = 4u << 20;
	if (!s->cfg.max_concurrent_streams)
		s->cfg.max_concurrent_streams = 1000;
	*out = s;
	return 0;
}

int grpc_server_add_service(struct grpc_server *s, const struct grpc_service *svc)
{
	s->services = xrealloc(s->services, (s->n_services + 1) * sizeof(*s->services));
	s->service_names = xrealloc(s->service_names, (s->n_services + 1) * sizeof(char *));
	s->services[s->n_services] = svc;
	s->service_names[s->n_services] = svc->name;
	s->n_services++;
	return 0;
}

size_t grpc_server_services(struct grpc_server *s, const char ***names)
{
	*names = s->service_names;
	return s->n_services;
}

int grpc_server_listen(struct grpc_server *s, const char *endpoint)
{
	struct grpc_listener *l;
	struct grpc_endpoint ep;
	int fd, r;

	r = grpc_endpoint_parse(endpoint, &ep);
	if (r < 0)
		return log_error_errno(r, "invalid listen endpoint '%s'", endpoint);
	fd = grpc_endpoint_listen(&ep);
	if (fd < 0)
		return log_error_errno(fd, "cannot listen on %s", endpoint);
	s->listeners = xrealloc(s->listeners, (s->n_listeners + 1) * sizeof(*s->listeners));
	/* listeners moved: re-point the sources' userdata */
	for (size_t i = 0; i < s->n_listeners; i++)
		sd_event_source_set_userdata(s->listeners[i].src, &s->listeners[i]);
	l = &s->listeners[s->n_listeners];
	*l = (struct grpc_listener){ .server = s, .fd = fd, .ep = ep };
	r = sd_event_add_io(s->event, &l->src, fd, EPOLLIN, listener_on_accept, l);
	if (r < 0) {
		close(fd);
		return r;
	}
	s->n_listeners++;
	log_info("listening on %s", endpoint);
	return 0;
}

static void server_close_listeners(struct grpc_server *s)
{
	for (size_t i = 0; i < s->n_listeners; i++) {
		sd_event_source_disable_unref(s->listeners[i].src);
		close(s->listeners[i].fd);
		if (s->listeners[i].ep.is_unix)
			unlink(s->listeners[i].ep.path);
	}
	free(s->listeners);
	s->listeners = NULL;
	s->n_listeners = 0;
}

bool grpc_server_shutting_down(struct grpc_server *s)
{
	return s->shutting_down;
}

static void server_maybe_done(struct grpc_server *s)
{
	if (!s->shutting_down || s->conns || !s->shutdown_done)
		return;
	void (*done)(void *) = s->shutdown_done;
	s->shutdown_done = NULL;
	sd_event_source_disable_unref(s->shutdown_timer);
	s->shutdown_timer = NULL;
	done(s->shutdown_userdata);
}

static int server_on_shutdown_timeout(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct grpc_server *s = userdata;

	(void)src, (void)usec;
	log_warning("grpc: shutdown timeout, cancelling remaining calls");
	while (s->conns) {
		struct grpc_conn *c = s->conns;
		for (struct grpc_call *call = c->calls; call; call = call->next)
			call_fail(call, GRPC_UNAVAILABLE, "server shutting down");
		conn_flush(c);
		conn_free(c);
	}
	return 0;
}

void grpc_server_shutdown(struct grpc_server *s, uint64_t timeout_usec,
			  void (*done)(void *userdata), void *userdata)
{
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	s->shutdown_done = done;
	s->shutdown_userdata = userdata;
	server_close_listeners(s);
	for (struct grpc_conn *c = s->conns; c; c = c->next) {
		nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
				      nghttp2_session_get_last_proc_stream_id(c->session),
				      NGHTTP2_NO_ERROR, NULL, 0);
		conn_schedule_flush(c);
	}
	for (size_t i = 0; i < s->n_services; i++)
		if (s->services[i]->on_shutdown)
			s->services[i]->on_shutdown(s->services[i]->userdata);
	sd_event_add_time_relative(s->event, &s->shutdown_timer, CLOCK_MONOTONIC, timeout_usec,
				   10000, server_on_shutdown_timeout, s);
	server_maybe_done(s);
}

void grpc_server_free(struct grpc_server *s)
{
	if (!s)
		return;
	server_close_listeners(s);
	while (s->conns)
		conn_free(s->conns);
	sd_event_source_disable_unref(s->shutdown_timer);
	free(s->services);
	free(s->service_names);
	sd_event_unref(s->event);
	free(s);
}
