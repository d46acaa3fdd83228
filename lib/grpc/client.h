/* SPDX-License-Identifier: MIT */
/*
 * Blocking gRPC client over one HTTP/2 connection (nghttp2), for the CLI
 * and for daemon-to-daemon calls made from a worker thread. Unary and
 * streaming calls with deadlines; several streams may be open at once on
 * one connection, but a client is used by one thread at a time.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "wire.h"

struct grpc_client;
struct grpc_stream;

struct grpc_status {
	int code;
	char *message; /* decoded grpc-message, never NULL after a call ended */
};

void grpc_status_clear(struct grpc_status *st);

/* Connect (timeout_ms bounds the TCP/Unix connect). */
int grpc_client_connect(const char *endpoint, int timeout_ms, struct grpc_client **out);
void grpc_client_free(struct grpc_client *c);
/* Largest response message accepted (default 16 MiB). */
void grpc_client_set_max_message(struct grpc_client *c, size_t max);
/* false once the connection is unusable (closed by the peer, GOAWAY, error). */
bool grpc_client_usable(const struct grpc_client *c);

/*
 * One unary call. Returns 0 when the call ended (st->code tells how; *resp
 * is set only for OK), or a negative errno for a connection failure (st is
 * then UNAVAILABLE with a message). timeout_ms <= 0: no deadline.
 */
int grpc_client_unary(struct grpc_client *c, const char *path, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *resp_desc, int64_t timeout_ms,
		      ProtobufCMessage **resp, struct grpc_status *st);

/* Streaming calls of any kind. */
int grpc_stream_open(struct grpc_client *c, const char *path,
		     const ProtobufCMessageDescriptor *resp_desc, int64_t timeout_ms,
		     struct grpc_stream **out);
int grpc_stream_send(struct grpc_stream *s, const ProtobufCMessage *msg);
int grpc_stream_close_send(struct grpc_stream *s);
/*
 * Next response message: 1 with *msg (free with
 * protobuf_c_message_free_unpacked), 0 when the call ended (see
 * grpc_stream_status), negative errno on connection failure.
 * wait_ms >= 0 bounds the wait (-ETIMEDOUT); -1 waits for the call's end.
 */
int grpc_stream_recv(struct grpc_stream *s, ProtobufCMessage **msg, int wait_ms);
const struct grpc_status *grpc_stream_status(const struct grpc_stream *s);
/* Cancel (RST_STREAM CANCEL) a call that has not ended. */
void grpc_stream_cancel(struct grpc_stream *s);
void grpc_stream_free(struct grpc_stream *s);
