/* SPDX-License-Identifier: MIT */
/*
 * Request decoding: the input is a byte stream as it arrives on a gRPC call,
 * split into reads of varying size. Every complete message is unpacked as
 * each request type of every service in proto/, and what decodes is packed
 * again and decoded a second time.
 */
#include <stdint.h>
#include <stdlib.h>

#include "health.pb-c.h"
#include "log.pb-c.h"
#include "mvirt.pb-c.h"
#include "net.pb-c.h"
#include "reflection_v1.pb-c.h"
#include "reflection_v1alpha.pb-c.h"
#include "wire.h"
#include "zfs.pb-c.h"

#define MAX_MESSAGE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCServiceDescriptor *const services[] = {
	&mvirt__vm_service__descriptor,
	&mvirt__log__log_service__descriptor,
	&mvirt__zfs__zfs_service__descriptor,
	&mvirt__net__net_service__descriptor,
	&grpc__health__v1__health__descriptor,
	&grpc__reflection__v1__server_reflection__descriptor,
	&grpc__reflection__v1alpha__server_reflection__descriptor,
};

/* The distinct request types, collected once. */
static const ProtobufCMessageDescriptor *requests[256];
static size_t n_requests;

static void collect_requests(void)
{
	for (size_t s = 0; s < ARRAY_SIZE(services); s++)
		for (unsigned m = 0; m < services[s]->n_methods; m++) {
			const ProtobufCMessageDescriptor *d = services[s]->methods[m].input;
			bool seen = false;
			for (size_t i = 0; i < n_requests; i++)
				seen |= requests[i] == d;
			if (!seen && n_requests < ARRAY_SIZE(requests))
				requests[n_requests++] = d;
		}
}

/* Whether m or any message inside it kept unknown fields. */
static bool has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields)
		return true;
	for (unsigned f = 0; f < d->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[f];
		const char *base = (const char *)m;
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + fd->offset);
			for (size_t i = 0; i < n; i++)
				if (v[i] && has_unknown(v[i]))
					return true;
			continue;
		}
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
			continue;
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + fd->offset);
		if (sub && has_unknown(sub))
			return true;
	}
	return false;
}

static void decode_all(const uint8_t *msg, size_t len)
{
	for (size_t i = 0; i < n_requests; i++) {
		ProtobufCMessage *m = protobuf_c_message_unpack(requests[i], NULL, len, msg);
		if (!m)
			continue;
		size_t n = protobuf_c_message_get_packed_size(m);
		uint8_t *out = malloc(n ? n : 1);
		if (protobuf_c_message_pack(m, out) != n)
			abort();
		/* what we encode must decode again, to the same size. Not asserted
		 * with unknown fields anywhere in the message: protobuf-c 1.4 keeps
		 * a field number 0 whose key is a multi-byte varint (80 00) as
		 * unknown, then writes it as 00, which it rejects. Harmless here (we
		 * ignore unknown fields). */
		ProtobufCMessage *again = protobuf_c_message_unpack(requests[i], NULL, n, out);
		if (!has_unknown(m) &&
		    (!again || protobuf_c_message_get_packed_size(again) != n))
			abort();
		if (again)
			protobuf_c_message_free_unpacked(again, NULL);
		/* and a framed copy deframes to the same bytes */
		struct buf framed = { 0 };
		const uint8_t *body;
		size_t blen;
		bool comp;
		grpc_frame_message(&framed, m);
		if (grpc_deframe(buf_head(&framed), buf_avail(&framed), SIZE_MAX, &body, &blen,
				 &comp) != 1 ||
		    blen != n || comp || memcmp(body, out, n) != 0)
			abort();
		buf_free(&framed);
		free(out);
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf in = { 0 };
	size_t chunk, pos = 0;

	if (!n_requests)
		collect_requests();
	if (size < 1)
		return 0;
	/* the first byte picks the read size: 0 means all at once */
	chunk = data[0] ? data[0] : SIZE_MAX;
	data++, size--;
	while (pos < size) {
		size_t n = MIN(chunk, size - pos);
		buf_append(&in, data + pos, n);
		pos += n;
		for (;;) {
			const uint8_t *msg;
			size_t len;
			bool compressed;
			int r = grpc_deframe(buf_head(&in), buf_avail(&in), MAX_MESSAGE, &msg, &len,
					     &compressed);
			if (r < 0)
				goto out; /* the call fails: nothing more is read */
			if (r == 0)
				break;
			if (len > MAX_MESSAGE)
				abort();
			if (!compressed)
				decode_all(msg, len);
			buf_consume(&in, GRPC_FRAME_HEADER + len);
		}
	}
out:
	buf_free(&in);
	return 0;
}
