/* SPDX-License-Identifier: MIT */
/* gRPC server reflection (v1 and v1alpha) from an encoded FileDescriptorSet. */
#pragma once

#include <sys/types.h>

#include "server.h"

struct grpc_reflection;

/* Index a FileDescriptorSet (which must outlive the index); -EBADMSG if malformed. */
int grpc_reflection_new(const uint8_t *set, size_t len, struct grpc_reflection **out);
int grpc_reflection_register(struct grpc_reflection *r, struct grpc_server *s);
void grpc_reflection_free(struct grpc_reflection *r);
/* Index of the file defining a fully-qualified symbol, or -1. */
ssize_t grpc_reflection_find_symbol(const struct grpc_reflection *r, const char *symbol);
int grpc_reflection_index(struct grpc_reflection *r, const uint8_t *set, size_t len);
