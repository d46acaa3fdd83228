/* SPDX-License-Identifier: MIT */
/* The gRPC library: server, client, health, reflection, daemon main loop. */
#pragma once

#include "client.h"
#include "daemon.h"
#include "health.h"
#include "reflection.h"
#include "server.h"
#include "wire.h"

/* The descriptor set of proto/, embedded at build time (proto/meson.build). */
extern const unsigned char mvirt_descriptor_set[];
extern const size_t mvirt_descriptor_set_len;

/*
 * A daemon's serving loop: sd-event, the gRPC server with health and
 * reflection, the listen endpoints of the arguments, SIGTERM/SIGINT for a
 * graceful stop, sd_notify readiness.
 */
struct grpc_daemon {
	struct daemon_args *args;
	sd_event *event;
	struct grpc_server *server;
	struct grpc_health *health;
	struct grpc_reflection *reflection;
	/* called when a graceful stop begins, before the server drains */
	void (*on_stop)(void *userdata);
	void *userdata;
};

int grpc_daemon_init(struct grpc_daemon *d, struct daemon_args *args);
/* Listen, notify readiness, run until stopped; 0 on a clean stop. */
int grpc_daemon_serve(struct grpc_daemon *d);
void grpc_daemon_done(struct grpc_daemon *d);
