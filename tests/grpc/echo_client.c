/* SPDX-License-Identifier: MIT */
/*
 * mvirt-echo-client: runs one scenario of the echo service (echo.proto)
 * through our client library (lib/grpc/client.h), for the conformance tests
 * against an independent server (tests/integration/py_echo_server.py).
 *
 *   mvirt-echo-client ENDPOINT SCENARIO [ARGS...]
 *
 *   unary MESSAGE             Unary echo of MESSAGE
 *   error CODE MESSAGE        Unary that the server ends with CODE and MESSAGE
 *   server-stream N [DELAY]   ServerStream of N responses (DELAY ms apart)
 *   client-stream N           ClientStream of N requests "m0".."m<N-1>",
 *                             request i carrying i payload bytes
 *   bidi N                    Bidi: send one, read its answer, N rounds
 *   deadline MS               Hang with a deadline of MS milliseconds
 *   big BYTES [MAX]           Unary with a response of BYTES bytes (MAX: the
 *                             client's message size limit)
 *   big-request BYTES [MS]    Unary echoing a request payload of BYTES bytes
 *                             (MS: the deadline, default 30 s)
 *   cancel                    open a long ServerStream, read 2, cancel; then a
 *                             Unary on the same connection
 *   concurrent N              N ServerStreams of 3 responses open at once on
 *                             one connection, then read one after the other
 *   unimplemented             a method the server does not have
 *
 * Output, one line each:
 *   msg INDEX PAYLOAD_BYTES MESSAGE    a response message
 *   status CODE MESSAGE                how a call ended
 *   payload ok | payload mismatch      big-request: the echo was exact
 *   cancelled                          cancel: the stream was cancelled
 *   error TEXT                         a connection failure (exit status 1)
 * Usage errors exit with 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "echo.pb-c.h"
#include "log.h"

#define TIMEOUT_MS 30000
#define PATH(m) "/mvirt.test.Echo/" m

typedef Mvirt__Test__EchoRequest Req;
typedef Mvirt__Test__EchoResponse Resp;
#define RESP_DESC (&mvirt__test__echo_response__descriptor)

static void print_msg(const ProtobufCMessage *m)
{
	const Resp *r = (const Resp *)m;

	printf("msg %u %zu %s\n", r->index, r->payload.len, r->message ? r->message : "");
}

static void print_status(const struct grpc_status *st)
{
	printf("status %d %s\n", st->code, st->message ? st->message : "");
}

static int fail(const char *what, int r)
{
	printf("error %s: %s\n", what, strerror(-r));
	return 1;
}

static unsigned long long arg_num(const char *s)
{
	unsigned long long v;

	if (parse_u64(s, UINT32_MAX, &v) < 0) {
		fprintf(stderr, "mvirt-echo-client: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static int do_unary(struct grpc_client *c, const char *path, const Req *req)
{
	struct grpc_status st = { 0 };
	ProtobufCMessage *resp = NULL;
	int r = grpc_client_unary(c, path, &req->base, RESP_DESC, TIMEOUT_MS, &resp, &st);

	if (r < 0) {
		grpc_status_clear(&st);
		return fail("unary", r);
	}
	if (resp) {
		print_msg(resp);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	print_status(&st);
	grpc_status_clear(&st);
	return 0;
}

/* Read a stream to its end, printing each message and the status. */
static int drain(struct grpc_stream *s)
{
	ProtobufCMessage *m;
	int r;

	while ((r = grpc_stream_recv(s, &m, -1)) == 1) {
		print_msg(m);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (r < 0)
		return fail("recv", r);
	print_status(grpc_stream_status(s));
	return 0;
}

static int server_stream(struct grpc_client *c, uint32_t n, uint32_t delay_ms)
{
	Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
	struct grpc_stream *s = NULL;
	int r;

	req.message = "s";
	req.count = n;
	req.delay_ms = delay_ms;
	r = grpc_stream_open(c, PATH("ServerStream"), RESP_DESC, TIMEOUT_MS, &s);
	if (r == 0)
		r = grpc_stream_send(s, &req.base);
	if (r == 0)
		r = grpc_stream_close_send(s);
	r = r < 0 ? fail("send", r) : drain(s);
	grpc_stream_free(s);
	return r;
}

static int client_stream(struct grpc_client *c, uint32_t n)
{
	struct grpc_stream *s = NULL;
	int r = grpc_stream_open(c, PATH("ClientStream"), RESP_DESC, TIMEOUT_MS, &s);

	for (uint32_t i = 0; r == 0 && i < n; i++) {
		Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
		_cleanup_free_ char *text = xasprintf("m%u", i);
		_cleanup_free_ uint8_t *payload = xcalloc(1, i + 1);

		req.message = text;
		req.payload.data = payload;
		req.payload.len = i;
		r = grpc_stream_send(s, &req.base);
	}
	if (r == 0)
		r = grpc_stream_close_send(s);
	r = r < 0 ? fail("send", r) : drain(s);
	grpc_stream_free(s);
	return r;
}

static int bidi(struct grpc_client *c, uint32_t n)
{
	struct grpc_stream *s = NULL;
	int r = grpc_stream_open(c, PATH("Bidi"), RESP_DESC, TIMEOUT_MS, &s);

	for (uint32_t i = 0; r == 0 && i < n; i++) {
		Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
		_cleanup_free_ char *text = xasprintf("ping %u", i);
		ProtobufCMessage *m;

		req.message = text;
		r = grpc_stream_send(s, &req.base);
		if (r < 0)
			break;
		/* the answer must come before we send more or half-close */
		r = grpc_stream_recv(s, &m, TIMEOUT_MS);
		if (r == 1) {
			print_msg(m);
			protobuf_c_message_free_unpacked(m, NULL);
			r = 0;
		} else if (r == 0) {
			print_status(grpc_stream_status(s));
			grpc_stream_free(s);
			return 0;
		}
	}
	if (r == 0)
		r = grpc_stream_close_send(s);
	r = r < 0 ? fail("bidi", r) : drain(s);
	grpc_stream_free(s);
	return r;
}

static int deadline(struct grpc_client *c, uint32_t ms)
{
	Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
	struct grpc_status st = { 0 };
	ProtobufCMessage *resp = NULL;
	int r = grpc_client_unary(c, PATH("Hang"), &req.base, RESP_DESC, ms, &resp, &st);

	if (r < 0) {
		grpc_status_clear(&st);
		return fail("unary", r);
	}
	if (resp) {
		print_msg(resp);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	print_status(&st);
	grpc_status_clear(&st);
	return 0;
}

static int big_request(struct grpc_client *c, uint32_t bytes, int64_t timeout_ms)
{
	Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
	struct grpc_status st = { 0 };
	ProtobufCMessage *m = NULL;
	_cleanup_free_ uint8_t *payload = xmalloc(bytes + 1);
	int r;

	for (uint32_t i = 0; i < bytes; i++)
		payload[i] = (uint8_t)(i * 7 + i / 251);
	req.message = "big";
	req.payload.data = payload;
	req.payload.len = bytes;
	r = grpc_client_unary(c, PATH("Unary"), &req.base, RESP_DESC, timeout_ms, &m, &st);
	if (r < 0) {
		grpc_status_clear(&st);
		return fail("unary", r);
	}
	if (m) {
		const Resp *resp = (const Resp *)m;
		print_msg(m);
		printf("payload %s\n", resp->payload.len == bytes &&
					       memcmp(resp->payload.data, payload, bytes) == 0
				       ? "ok"
				       : "mismatch");
		protobuf_c_message_free_unpacked(m, NULL);
	}
	print_status(&st);
	grpc_status_clear(&st);
	return 0;
}

static int cancel(struct grpc_client *c)
{
	Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
	struct grpc_stream *s = NULL;
	ProtobufCMessage *m;
	int r;

	req.message = "c";
	req.count = 1000000;
	req.delay_ms = 10;
	r = grpc_stream_open(c, PATH("ServerStream"), RESP_DESC, TIMEOUT_MS, &s);
	if (r == 0)
		r = grpc_stream_send(s, &req.base);
	if (r == 0)
		r = grpc_stream_close_send(s);
	for (int i = 0; r == 0 && i < 2; i++) {
		r = grpc_stream_recv(s, &m, TIMEOUT_MS);
		if (r == 1) {
			print_msg(m);
			protobuf_c_message_free_unpacked(m, NULL);
			r = 0;
		} else if (r == 0) {
			r = -EPROTO; /* ended before it was cancelled */
		}
	}
	if (r < 0) {
		grpc_stream_free(s);
		return fail("stream", r);
	}
	grpc_stream_cancel(s);
	printf("cancelled\n");
	/* after a cancel the stream has ended: no more messages, only the status */
	r = drain(s);
	grpc_stream_free(s);
	if (r != 0)
		return r;
	/* the connection is still good */
	req = (Req)MVIRT__TEST__ECHO_REQUEST__INIT;
	req.message = "after cancel";
	return do_unary(c, PATH("Unary"), &req);
}

static int concurrent(struct grpc_client *c, uint32_t n)
{
	struct grpc_stream **s = xcalloc(n, sizeof(*s));
	int r = 0;

	for (uint32_t i = 0; i < n && r == 0; i++) {
		Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
		_cleanup_free_ char *text = xasprintf("c%u", i);

		req.message = text;
		req.count = 3;
		req.delay_ms = 10;
		r = grpc_stream_open(c, PATH("ServerStream"), RESP_DESC, TIMEOUT_MS, &s[i]);
		if (r == 0)
			r = grpc_stream_send(s[i], &req.base);
		if (r == 0)
			r = grpc_stream_close_send(s[i]);
	}
	if (r < 0)
		r = fail("open", r);
	for (uint32_t i = 0; i < n && r == 0; i++)
		r = drain(s[i]);
	for (uint32_t i = 0; i < n; i++)
		grpc_stream_free(s[i]);
	free(s);
	return r;
}

static int usage(void)
{
	fprintf(stderr, "Usage: mvirt-echo-client ENDPOINT SCENARIO [ARGS...] (see echo_client.c)\n");
	return 2;
}

int main(int argc, char **argv)
{
	Req req = MVIRT__TEST__ECHO_REQUEST__INIT;
	struct grpc_client *c = NULL;
	const char *sc;
	int r;

	log_set_prefix("mvirt-echo-client");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return usage();
	sc = argv[2];
#define NEED(n)                     \
	do {                        \
		if (argc < 3 + (n)) \
			return usage(); \
	} while (0)
	/* check the arguments before connecting */
	if (streq(sc, "unary") || streq(sc, "server-stream") || streq(sc, "client-stream") ||
	    streq(sc, "bidi") || streq(sc, "deadline") || streq(sc, "big") ||
	    streq(sc, "big-request") || streq(sc, "concurrent"))
		NEED(1);
	else if (streq(sc, "error"))
		NEED(2);
	else if (!streq(sc, "cancel") && !streq(sc, "unimplemented"))
		return usage();

	r = grpc_client_connect(argv[1], 5000, &c);
	if (r < 0)
		return fail("connect", r);
	if (streq(sc, "unary")) {
		req.message = argv[3];
		r = do_unary(c, PATH("Unary"), &req);
	} else if (streq(sc, "error")) {
		req.status_code = (int32_t)arg_num(argv[3]);
		req.status_message = argv[4];
		r = do_unary(c, PATH("Unary"), &req);
	} else if (streq(sc, "server-stream")) {
		r = server_stream(c, (uint32_t)arg_num(argv[3]),
				  argc > 4 ? (uint32_t)arg_num(argv[4]) : 0);
	} else if (streq(sc, "client-stream")) {
		r = client_stream(c, (uint32_t)arg_num(argv[3]));
	} else if (streq(sc, "bidi")) {
		r = bidi(c, (uint32_t)arg_num(argv[3]));
	} else if (streq(sc, "deadline")) {
		r = deadline(c, (uint32_t)arg_num(argv[3]));
	} else if (streq(sc, "big")) {
		if (argc > 4)
			grpc_client_set_max_message(c, arg_num(argv[4]));
		req.response_size = (uint32_t)arg_num(argv[3]);
		r = do_unary(c, PATH("Unary"), &req);
	} else if (streq(sc, "big-request")) {
		r = big_request(c, (uint32_t)arg_num(argv[3]),
				argc > 4 ? (int64_t)arg_num(argv[4]) : TIMEOUT_MS);
	} else if (streq(sc, "cancel")) {
		r = cancel(c);
	} else if (streq(sc, "concurrent")) {
		r = concurrent(c, (uint32_t)arg_num(argv[3]));
	} else {
		r = do_unary(c, "/mvirt.test.Echo/NoSuchMethod", &req);
	}
	grpc_client_free(c);
	return r;
}
