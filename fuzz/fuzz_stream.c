/* SPDX-License-Identifier: MIT */
/*
 * Image stream readers (zfs/stream.c): the input is decoded as gzip, as xz
 * and as raw, fed in uneven pieces, until the end, an error, or 16 MiB of
 * output (a small input may inflate enormously). An error must come with a
 * message; format detection must accept any head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUTPUT_LIMIT (16u << 20)

struct fuzz_source {
	const uint8_t *data;
	size_t size, off;
};

static ssize_t fuzz_read(void *userdata, void *buf, size_t n)
{
	struct fuzz_source *f = userdata;
	/* piece sizes vary with the position, so buffer edges move around */
	size_t take = n < 1 + f->off % 4099 ? n : 1 + f->off % 4099;

	if (take > f->size - f->off)
		take = f->size - f->off;
	memcpy(buf, f->data + f->off, take);
	f->off += take;
	return (ssize_t)take;
}

static void decode(struct stream *s, size_t input_size)
{
	static uint8_t out[65536];
	size_t total = 0;

	if (!s)
		abort();
	stream_hash_source(s);
	while (total < OUTPUT_LIMIT) {
		ssize_t r = stream_read(s, out, sizeof(out));

		if (r < 0) {
			if (!stream_error(s) || stream_read(s, out, 1) != r)
				abort();
			break;
		}
		if (r == 0) {
			char hex[SHA256_HEX_SIZE];

			/* at the end every source byte was read and hashed */
			if (stream_source_bytes(s) != input_size || stream_source_sha256(s, hex) != 0)
				abort();
			break;
		}
		if ((size_t)r > sizeof(out))
			abort();
		total += (size_t)r;
	}
	if (stream_source_bytes(s) > input_size)
		abort();
	stream_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_source f;
	struct stream_source src = { .read = fuzz_read, .userdata = &f };
	int format;

	(void)stream_detect(data, size);
	format = stream_format_choose("image.img", data, size);
	if (format < 0 || format > STREAM_QCOW2)
		abort();

	f = (struct fuzz_source){ .data = data, .size = size };
	decode(stream_new_gzip(src), size);
	f = (struct fuzz_source){ .data = data, .size = size };
	/* a lower memory limit than the daemon's keeps each run fast */
	decode(stream_new_xz(src, 32u << 20), size);
	f = (struct fuzz_source){ .data = data, .size = size };
	decode(stream_new_raw(src), size);
	return 0;
}
