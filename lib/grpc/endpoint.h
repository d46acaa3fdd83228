/* SPDX-License-Identifier: MIT */
/*
 * Endpoints as users write them: "unix:/path", "host:port", "[v6]:port",
 * "http://host:port" (the form the existing mvirt tools use).
 */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

struct grpc_endpoint {
	bool is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
	char port[8];
};

/* Parse; -EINVAL for malformed text, -ENAMETOOLONG for a too-long socket path. */
int grpc_endpoint_parse(const char *s, struct grpc_endpoint *ep);

/* A listening socket (non-blocking, close-on-exec). Unix sockets get mode
 * 0660; a stale socket file (nobody accepting) is replaced, a live one is
 * -EADDRINUSE. Returns the fd or a negative errno. */
int grpc_endpoint_listen(const struct grpc_endpoint *ep);

/* A connected, blocking socket with a connect timeout; fd or -errno. */
int grpc_endpoint_connect(const struct grpc_endpoint *ep, int timeout_ms);

/* "unix:/path" or "host:port" for messages. */
void grpc_endpoint_format(const struct grpc_endpoint *ep, char *out, size_t n);
