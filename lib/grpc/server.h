/* SPDX-License-Identifier: MIT */
/*
 * gRPC server on nghttp2 and sd-event: HTTP/2 with prior knowledge over
 * Unix and TCP sockets, all four streaming kinds, deadlines, cancellation,
 * message size limits, flow control, graceful shutdown.
 *
 * A call is owned by the server. A handler that keeps a call beyond the
 * callback it was given in takes a reference (grpc_call_ref) and drops it
 * when done; sending on a call that has ended returns -ECANCELED.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "wire.h"

struct grpc_server;
struct grpc_call;

enum grpc_method_kind {
	GRPC_UNARY,
	GRPC_SERVER_STREAMING,
	GRPC_CLIENT_STREAMING,
	GRPC_BIDI_STREAMING,
};

struct grpc_method {
	const char *name; /* "Log" */
	enum grpc_method_kind kind;
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
	/*
	 * UNARY and SERVER_STREAMING: called once the request message and the
	 * client's end of stream arrived; req stays valid until the call is
	 * freed. CLIENT_ and BIDI_STREAMING: called when the call opens, with
	 * req == NULL; messages then arrive through the call's handlers.
	 */
	void (*start)(struct grpc_call *call, const ProtobufCMessage *req, void *userdata);
};

struct grpc_service {
	const char *name; /* full name: "mvirt.log.LogService" */
	const struct grpc_method *methods;
	size_t n_methods;
	void *userdata;
	/* Graceful shutdown began: end long-lived calls (streams that would never
	 * finish by themselves). May be NULL. */
	void (*on_shutdown)(void *userdata);
};

/* Per-call callbacks a handler installs; any may be NULL. */
struct grpc_call_handlers {
	/* A request message of a client/bidi-streaming call; freed after return. */
	void (*on_message)(struct grpc_call *call, const ProtobufCMessage *msg, void *userdata);
	/* The client will send no more messages. */
	void (*on_half_close)(struct grpc_call *call, void *userdata);
	/* The call ended without the handler finishing it: client cancel,
	 * deadline, lost connection, forced shutdown. Drop work and references. */
	void (*on_cancel)(struct grpc_call *call, void *userdata);
	/* The send queue went below GRPC_CALL_LOW_WATER after a send found it above. */
	void (*on_drained)(struct grpc_call *call, void *userdata);
};

#define GRPC_CALL_LOW_WATER (256u * 1024u)

/* Who is calling: Unix peer credentials, or the TCP peer address. */
struct grpc_peer {
	bool is_unix;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char addr[64]; /* "unix" or "[::1]:40000" / "127.0.0.1:40000" */
};

struct grpc_server_config {
	size_t max_recv_message; /* 0: 4 MiB */
	uint32_t max_concurrent_streams; /* 0: 1000 */
};

int grpc_server_new(sd_event *event, const struct grpc_server_config *cfg,
		    struct grpc_server **out);
void grpc_server_free(struct grpc_server *s);
/* Register a service (the table must outlive the server). */
int grpc_server_add_service(struct grpc_server *s, const struct grpc_service *svc);
/* Serve on an endpoint string; see endpoint.h. */
int grpc_server_listen(struct grpc_server *s, const char *endpoint);
/* Full names of registered services, for reflection and health. */
size_t grpc_server_services(struct grpc_server *s, const char ***names);

/*
 * Stop accepting, send GOAWAY, tell services (on_shutdown), let in-flight
 * calls finish for up to timeout_usec, then cancel the rest; done() runs
 * once every connection is closed.
 */
void grpc_server_shutdown(struct grpc_server *s, uint64_t timeout_usec,
			  void (*done)(void *userdata), void *userdata);
bool grpc_server_shutting_down(struct grpc_server *s);

/* Calls. */
void grpc_call_set_handlers(struct grpc_call *call, const struct grpc_call_handlers *h,
			    void *userdata);
/* Queue a response message. 0, -ECANCELED (call over), -EALREADY (finished). */
int grpc_call_send(struct grpc_call *call, const ProtobufCMessage *msg);
/* End the call with a status; the message is formatted printf-style. */
int grpc_call_finish(struct grpc_call *call, int code, const char *fmt, ...) PRINTF_FMT(3, 4);
/* Unary convenience: send msg and finish OK. */
int grpc_call_reply(struct grpc_call *call, const ProtobufCMessage *msg);
struct grpc_call *grpc_call_ref(struct grpc_call *call);
void grpc_call_unref(struct grpc_call *call);
/* true once finished by us or ended by the peer/deadline. */
bool grpc_call_is_done(const struct grpc_call *call);
size_t grpc_call_queued_bytes(const struct grpc_call *call);
size_t grpc_call_queued_messages(const struct grpc_call *call);
const struct grpc_peer *grpc_call_peer(const struct grpc_call *call);
const char *grpc_call_path(const struct grpc_call *call);
sd_event *grpc_call_event(const struct grpc_call *call);
