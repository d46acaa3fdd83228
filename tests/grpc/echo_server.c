/* SPDX-License-Identifier: MIT */
/*
 * mvirt-echo-server: a gRPC server built on our transport library with the
 * test service of echo.proto, plus health and reflection. The conformance
 * tests drive it with independent clients (Python grpcio) and with ours.
 */
#include <stdio.h>

#include "daemon.h"
#include "echo.pb-c.h"
#include "grpc.h"
#include "log.h"

struct echo_state {
	unsigned cancelled;
	unsigned active;
};
static struct echo_state state;

/* A server-streaming call in progress. */
struct stream_job {
	struct grpc_call *call;
	const Mvirt__Test__EchoRequest *req;
	uint32_t next, total; /* responses sent, to send */
	sd_event_source *timer;
};

static void job_free(struct stream_job *j)
{
	sd_event_source_disable_unref(j->timer);
	state.active--;
	grpc_call_unref(j->call);
	free(j);
}

static void job_end(struct stream_job *j)
{
	if (j->req->status_code)
		grpc_call_finish(j->call, j->req->status_code, "%s", j->req->status_message);
	else
		grpc_call_finish(j->call, GRPC_OK, NULL);
	job_free(j);
}

/* Send what the flow-control budget allows; returns true when all were sent. */
static bool job_pump(struct stream_job *j)
{
	while (j->next < j->total) {
		_cleanup_free_ uint8_t *payload = xcalloc(1, j->req->response_size);
		Mvirt__Test__EchoResponse resp = MVIRT__TEST__ECHO_RESPONSE__INIT;

		if (grpc_call_queued_bytes(j->call) >= GRPC_CALL_LOW_WATER * 2)
			return false;
		resp.message = j->req->message;
		resp.index = j->next++;
		resp.payload.data = payload;
		resp.payload.len = j->req->response_size;
		grpc_call_send(j->call, &resp.base);
		if (j->req->delay_ms)
			return j->next >= j->total;
	}
	return true;
}

static int job_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct stream_job *j = userdata;

	(void)s;
	if (job_pump(j)) {
		job_end(j);
		return 0;
	}
	sd_event_source_set_time(j->timer, usec + j->req->delay_ms * 1000ULL);
	sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
	return 0;
}

static void job_on_drained(struct grpc_call *call, void *userdata)
{
	struct stream_job *j = userdata;

	(void)call;
	if (!j->req->delay_ms && job_pump(j))
		job_end(j);
}

static void job_on_cancel(struct grpc_call *call, void *userdata)
{
	(void)call;
	state.cancelled++;
	job_free(userdata);
}

static const struct grpc_call_handlers job_handlers = {
	.on_cancel = job_on_cancel,
	.on_drained = job_on_drained,
};

static void stream_job_start(struct grpc_call *call, const ProtobufCMessage *m, uint32_t total)
{
	struct stream_job *j = xcalloc(1, sizeof(*j));

	j->call = grpc_call_ref(call);
	j->req = (const Mvirt__Test__EchoRequest *)m;
	j->total = total;
	state.active++;
	grpc_call_set_handlers(call, &job_handlers, j);
	if (j->req->delay_ms) {
		sd_event_add_time_relative(grpc_call_event(call), &j->timer, CLOCK_MONOTONIC,
					   j->req->delay_ms * 1000ULL, 1000, job_on_timer, j);
		return;
	}
	if (job_pump(j))
		job_end(j);
}

static void echo_server_stream(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	(void)ud;
	stream_job_start(call, m, ((const Mvirt__Test__EchoRequest *)m)->count);
}

/* Unary: answer now, or after delay_ms through the same job machinery. */
static void echo_unary(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	const Mvirt__Test__EchoRequest *req = (const Mvirt__Test__EchoRequest *)m;
	Mvirt__Test__EchoResponse resp = MVIRT__TEST__ECHO_RESPONSE__INIT;
	_cleanup_free_ uint8_t *payload = NULL;

	(void)ud;
	if (req->delay_ms) {
		/* a delayed single reply: a stream job of one message */
		stream_job_start(call, m, 1);
		return;
	}
	if (req->status_code) {
		grpc_call_finish(call, req->status_code, "%s", req->status_message);
		return;
	}
	resp.message = req->message;
	if (req->response_size) {
		payload = xcalloc(1, req->response_size);
		resp.payload.data = payload;
		resp.payload.len = req->response_size;
	} else {
		resp.payload = req->payload;
	}
	grpc_call_reply(call, &resp.base);
}

struct collect {
	uint32_t n;
	size_t bytes;
	char *last;
};

static void collect_on_message(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	const Mvirt__Test__EchoRequest *req = (const Mvirt__Test__EchoRequest *)m;
	struct collect *c = ud;

	(void)call;
	c->n++;
	c->bytes += req->payload.len;
	free(c->last);
	c->last = xstrdup(req->message);
}

static void collect_free(struct collect *c)
{
	state.active--;
	free(c->last);
	free(c);
}

static void collect_on_half_close(struct grpc_call *call, void *ud)
{
	struct collect *c = ud;
	Mvirt__Test__EchoResponse resp = MVIRT__TEST__ECHO_RESPONSE__INIT;
	_cleanup_free_ char *msg = xasprintf("%s bytes=%zu", c->last ? c->last : "", c->bytes);

	resp.message = msg;
	resp.index = c->n;
	grpc_call_reply(call, &resp.base);
	collect_free(c);
}

static void collect_on_cancel(struct grpc_call *call, void *ud)
{
	(void)call;
	state.cancelled++;
	collect_free(ud);
}

static const struct grpc_call_handlers collect_handlers = {
	.on_message = collect_on_message,
	.on_half_close = collect_on_half_close,
	.on_cancel = collect_on_cancel,
};

static void echo_client_stream(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	(void)m, (void)ud;
	state.active++;
	grpc_call_set_handlers(call, &collect_handlers, xcalloc(1, sizeof(struct collect)));
}

static void bidi_done(uint32_t *n);

static void bidi_on_message(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	const Mvirt__Test__EchoRequest *req = (const Mvirt__Test__EchoRequest *)m;
	Mvirt__Test__EchoResponse resp = MVIRT__TEST__ECHO_RESPONSE__INIT;
	uint32_t *n = ud;

	if (req->status_code) {
		grpc_call_finish(call, req->status_code, "%s", req->status_message);
		/* on_cancel is not called for a call we finished: release here */
		bidi_done(n);
		return;
	}
	resp.message = req->message;
	resp.payload = req->payload;
	resp.index = (*n)++;
	grpc_call_send(call, &resp.base);
}

static void bidi_done(uint32_t *n)
{
	state.active--;
	free(n);
}

static void bidi_on_half_close(struct grpc_call *call, void *ud)
{
	grpc_call_finish(call, GRPC_OK, NULL);
	bidi_done(ud);
}

static void bidi_on_cancel(struct grpc_call *call, void *ud)
{
	(void)call;
	state.cancelled++;
	bidi_done(ud);
}

static const struct grpc_call_handlers bidi_handlers = {
	.on_message = bidi_on_message,
	.on_half_close = bidi_on_half_close,
	.on_cancel = bidi_on_cancel,
};

static void echo_bidi(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	(void)m, (void)ud;
	state.active++;
	grpc_call_set_handlers(call, &bidi_handlers, xcalloc(1, sizeof(uint32_t)));
}

static void hang_on_cancel(struct grpc_call *call, void *ud)
{
	(void)ud;
	state.cancelled++;
	state.active--;
	grpc_call_unref(call);
}

static const struct grpc_call_handlers hang_handlers = { .on_cancel = hang_on_cancel };

static void echo_hang(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	(void)m, (void)ud;
	state.active++;
	grpc_call_set_handlers(call, &hang_handlers, NULL);
	grpc_call_ref(call);
}

static void echo_stats(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	Mvirt__Test__EchoResponse resp = MVIRT__TEST__ECHO_RESPONSE__INIT;
	_cleanup_free_ char *msg = xasprintf("cancelled=%u active=%u", state.cancelled, state.active);

	(void)m, (void)ud;
	resp.message = msg;
	grpc_call_reply(call, &resp.base);
}

#define M(n, k, fn)                                                                       \
	{ n, k, &mvirt__test__echo_request__descriptor, &mvirt__test__echo_response__descriptor, \
	  fn }
static const struct grpc_method echo_methods[] = {
	M("Unary", GRPC_UNARY, echo_unary),
	M("ServerStream", GRPC_SERVER_STREAMING, echo_server_stream),
	M("ClientStream", GRPC_CLIENT_STREAMING, echo_client_stream),
	M("Bidi", GRPC_BIDI_STREAMING, echo_bidi),
	M("Hang", GRPC_UNARY, echo_hang),
	M("Stats", GRPC_UNARY, echo_stats),
};

static const struct grpc_service echo_service = {
	.name = "mvirt.test.Echo",
	.methods = echo_methods,
	.n_methods = ARRAY_SIZE(echo_methods),
};

int main(int argc, char **argv)
{
	struct daemon_args args = {
		.program = "mvirt-echo-server",
		.summary = "Test server for the gRPC transport conformance tests.",
		.socket_name = "echo.sock",
		.data_subdir = "echo",
	};
	int r = daemon_parse_args(&args, argc, argv);

	if (r != 0)
		return r > 0 ? 0 : 2;
	struct grpc_daemon d = { 0 };
	r = grpc_daemon_init(&d, &args);
	if (r == 0) {
		grpc_server_add_service(d.server, &echo_service);
		r = grpc_daemon_serve(&d);
	}
	grpc_daemon_done(&d);
	daemon_args_free(&args);
	return r < 0 ? 1 : 0;
}
