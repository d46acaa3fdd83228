/* SPDX-License-Identifier: MIT */
/*
 * A minimal protobuf wire-format reader: walks the fields of an encoded
 * message without a schema. Used to index the embedded descriptor set for
 * reflection (field numbers of descriptor.proto).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum pb_wiretype { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

struct pb_reader {
	const uint8_t *p, *end;
};

struct pb_field {
	uint32_t number;
	enum pb_wiretype type;
	uint64_t varint;     /* PB_VARINT, PB_I64, PB_I32 */
	const uint8_t *data; /* PB_LEN */
	size_t len;
};

/* 1 with the next field, 0 at the end, -EBADMSG on malformed input
 * (truncation, bad varint, groups, field number 0). */
int pb_next(struct pb_reader *r, struct pb_field *f);
