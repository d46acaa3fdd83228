/* SPDX-License-Identifier: MIT */
/*
 * The bytes of the gRPC-over-HTTP/2 protocol that are not HTTP/2 itself:
 * length-prefixed message framing, the grpc-timeout header, the
 * percent-encoded grpc-message trailer. Pure functions on buffers, so they
 * are unit-tested and fuzzed on their own.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define GRPC_FRAME_HEADER 5

enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

/* The code's name ("INVALID_ARGUMENT"); "UNKNOWN" for numbers outside 0-16. */
const char *grpc_code_name(int code);

/*
 * Take the next complete message out of a receive buffer.
 * Returns 1 with *msg and *len pointing into the buffer (valid until the buffer
 * changes; the caller consumes GRPC_FRAME_HEADER + *len), 0 when more bytes
 * are needed, -EMSGSIZE when the announced length exceeds max (reported
 * before the body arrives), -EPROTO for a compressed-flag byte other than 0/1.
 */
int grpc_deframe(const uint8_t *data, size_t avail, size_t max, const uint8_t **msg,
		 size_t *len, bool *compressed);

/* Append one length-prefixed, uncompressed message to out. */
void grpc_frame_message(struct buf *out, const ProtobufCMessage *m);

/* Parse a grpc-timeout value ("1S", "250m": up to 8 digits and one of
 * the units H, M, S, m, u, n) into nanoseconds. -EINVAL when malformed. */
int grpc_timeout_parse(const char *s, size_t n, uint64_t *ns);
/* Format nanoseconds as a grpc-timeout value (at most 8 digits). */
void grpc_timeout_format(uint64_t ns, char out[16]);

/* Percent-encode a grpc-message: bytes outside 0x20-0x7e and '%' become %XX. */
char *grpc_percent_encode(const char *s);
/* Decode %XX sequences; malformed sequences are kept literally (the
 * protocol asks receivers to be lenient). */
char *grpc_percent_decode(const char *s, size_t n);
