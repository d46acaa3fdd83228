/* SPDX-License-Identifier: MIT */
/*
 * The schema-less protobuf reader and the reflection index built on it: the
 * input is walked as a message (and its length-delimited fields as nested
 * messages), then indexed as a FileDescriptorSet.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "pbwire.h"
#include "reflection.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *p, size_t n, int depth)
{
	struct pb_reader r = { p, p + n };
	struct pb_field f;
	int k;

	while ((k = pb_next(&r, &f)) > 0) {
		if (f.number == 0 || f.number > 0x1fffffff || r.p > r.end || r.p < p)
			abort();
		if (f.type == PB_LEN) {
			if (f.data < p || f.data + f.len > p + n)
				abort();
			if (depth < 16)
				walk(f.data, f.len, depth + 1);
		} else if (f.type != PB_VARINT && f.type != PB_I64 && f.type != PB_I32) {
			abort();
		}
	}
	if (k != 0 && k != -EBADMSG)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grpc_reflection *r = NULL;

	walk(data, size, 0);
	int k = grpc_reflection_new(data, size, &r);
	if (k == 0) {
		grpc_reflection_find_symbol(r, "mvirt.log.LogService");
		grpc_reflection_find_symbol(r, "");
		grpc_reflection_free(r);
	} else if (k != -EBADMSG) {
		abort();
	}
	return 0;
}
