/* SPDX-License-Identifier: MIT */
#include "pbwire.h"

#include <errno.h>

static int read_varint(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -EBADMSG;
		uint8_t b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
	uint64_t key, len;

	if (r->p >= r->end)
		return 0;
	if (read_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -EBADMSG;
	f->number = (uint32_t)(key >> 3);
	f->type = (enum pb_wiretype)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->varint = 0;
	switch (f->type) {
	case PB_VARINT:
		return read_varint(r, &f->varint) < 0 ? -EBADMSG : 1;
	case PB_I64:
	case PB_I32: {
		size_t n = f->type == PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++)
			f->varint |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case PB_LEN:
		if (read_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
			return -EBADMSG;
		f->data = r->p;
		f->len = (size_t)len;
		r->p += len;
		return 1;
	default:
		return -EBADMSG; /* groups (3, 4) and reserved types */
	}
}
