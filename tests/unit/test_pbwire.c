/* SPDX-License-Identifier: MIT */
/* lib/grpc/pbwire.c: pb_next on hand-made protobuf bytes. */
#include <errno.h>

#include "pbwire.h"
#include "util.h"
#include "tap.h"

#define READER(bytes) { (bytes), (bytes) + sizeof(bytes) }

/* pb_next on the whole of bytes must fail with -EBADMSG at the first field. */
static void check_bad(int line, const uint8_t *bytes, size_t n)
{
	struct pb_reader r = { bytes, bytes + n };
	struct pb_field f;
	int k = pb_next(&r, &f);

	tap_checks++;
	if (k != -EBADMSG) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "pb_next on %zu bytes = %d, want -EBADMSG\n", n, k);
	}
}
#define BAD(...)                                                     \
	do {                                                         \
		static const uint8_t b_[] = { __VA_ARGS__ };         \
		check_bad(__LINE__, b_, sizeof(b_));                 \
	} while (0)

static void test_each_type(void)
{
	static const uint8_t msg[] = {
		0x08, 0x96, 0x01,					/* 1: varint 150 */
		0x11, 1, 2, 3, 4, 5, 6, 7, 0x88,			/* 2: fixed64 */
		0x1a, 3, 'a', 'b', 'c',					/* 3: "abc" */
		0x25, 0x78, 0x56, 0x34, 0x12,				/* 4: fixed32 */
		0x2a, 0,						/* 5: "" */
		0x30, 0,						/* 6: varint 0 */
		0x80, 0x01, 0x01,					/* 16: varint 1 */
		0xf8, 0xff, 0xff, 0xff, 0x0f, 0x7f,			/* 536870911: 127 */
		0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 7: max */
	};
	struct pb_reader r = READER(msg);
	struct pb_field f;

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 1);
	CHECK_INT(f.type, PB_VARINT);
	CHECK_U64(f.varint, 150);
	CHECK(f.data == NULL);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 2);
	CHECK_INT(f.type, PB_I64);
	CHECK_U64(f.varint, 0x8807060504030201ULL); /* little-endian */

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 3);
	CHECK_INT(f.type, PB_LEN);
	CHECK_INT(f.len, 3);
	CHECK(f.data == msg + 14);
	CHECK_U64(f.varint, 0);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 4);
	CHECK_INT(f.type, PB_I32);
	CHECK_U64(f.varint, 0x12345678);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 5);
	CHECK_INT(f.type, PB_LEN);
	CHECK_INT(f.len, 0);
	CHECK(f.data == msg + 24);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 6);
	CHECK_U64(f.varint, 0);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 16);
	CHECK_U64(f.varint, 1);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 536870911); /* the largest field number */
	CHECK_INT(f.type, PB_VARINT);
	CHECK_U64(f.varint, 127);

	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_INT(f.number, 7);
	CHECK_U64(f.varint, UINT64_MAX);

	CHECK(r.p == r.end);
	CHECK_INT(pb_next(&r, &f), 0);
	CHECK_INT(pb_next(&r, &f), 0); /* and stays at the end */

	struct pb_reader empty = { msg, msg };
	CHECK_INT(pb_next(&empty, &f), 0);

	/* a length-delimited field can be walked as a nested message */
	static const uint8_t outer[] = { 0x0a, 4, 0x08, 0x05, 0x10, 0x06 };
	struct pb_reader o = READER(outer);
	CHECK_INT(pb_next(&o, &f), 1);
	struct pb_reader in = { f.data, f.data + f.len };
	CHECK_INT(pb_next(&in, &f), 1);
	CHECK_U64(f.varint, 5);
	CHECK_INT(pb_next(&in, &f), 1);
	CHECK_INT(f.number, 2);
	CHECK_U64(f.varint, 6);
	CHECK_INT(pb_next(&in, &f), 0);
	CHECK_INT(pb_next(&o, &f), 0);
}

static void test_malformed(void)
{
	/* truncated varints: in the key, in the value */
	BAD(0x96);
	BAD(0x80, 0x80);
	BAD(0x08);
	BAD(0x08, 0x96);
	BAD(0x08, 0xff, 0xff, 0xff);
	/* a varint longer than 10 bytes */
	BAD(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	BAD(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);

	/* fixed-size values cut short */
	BAD(0x11, 1, 2, 3, 4, 5, 6, 7);
	BAD(0x11);
	BAD(0x25, 1, 2, 3);
	BAD(0x25);

	/* lengths past the end */
	BAD(0x1a);
	BAD(0x1a, 0x01);
	BAD(0x1a, 0x05, 'a', 'b', 'c', 'd');
	BAD(0x1a, 0x80);
	BAD(0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a');
	BAD(0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'a');

	/* groups (3, 4) and the reserved wire types 6 and 7 */
	BAD(0x0b);
	BAD(0x0b, 0x08, 0x01, 0x0c);
	BAD(0x0c);
	BAD(0x0e, 0x00);
	BAD(0x0f, 0x00);

	/* field number 0, with any wire type */
	BAD(0x00, 0x01);
	BAD(0x02, 0x00);
	BAD(0x05, 0, 0, 0, 0);
	BAD(0x80, 0x00, 0x01); /* non-minimal encoding of key 0 */
	/* field numbers above 2^29 - 1 */
	BAD(0x80, 0x80, 0x80, 0x80, 0x10, 0x01);
	BAD(0xf8, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01);

	/* an error after valid fields: those fields are still returned */
	static const uint8_t tail[] = { 0x08, 0x01, 0x1a, 0x09, 'x' };
	struct pb_reader r = READER(tail);
	struct pb_field f;
	CHECK_INT(pb_next(&r, &f), 1);
	CHECK_U64(f.varint, 1);
	CHECK_INT(pb_next(&r, &f), -EBADMSG);

	/* a length ending exactly at the end is fine, one more byte is not */
	static const uint8_t exact[] = { 0x1a, 0x02, 'o', 'k' };
	struct pb_reader e = READER(exact);
	CHECK_INT(pb_next(&e, &f), 1);
	CHECK_INT(f.len, 2);
	CHECK_INT(pb_next(&e, &f), 0);
	e = (struct pb_reader){ exact, exact + 3 };
	CHECK_INT(pb_next(&e, &f), -EBADMSG);

	/* every truncation of a valid message either ends cleanly at a field
	 * boundary or reports -EBADMSG, never reads beyond its end */
	static const uint8_t whole[] = { 0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8,
					 0x1a, 3, 'a', 'b', 'c', 0x25, 1, 2, 3, 4 };
	static const size_t boundaries[] = { 0, 3, 12, 17, 22 };
	for (size_t n = 0; n <= sizeof(whole); n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size, for ASan */
		memcpy(copy, whole, n);
		struct pb_reader t = { copy, copy + n };
		int k, fields = 0;
		while ((k = pb_next(&t, &f)) > 0)
			fields++;
		bool at_boundary = false;
		for (size_t i = 0; i < ARRAY_SIZE(boundaries); i++)
			if (boundaries[i] == n) {
				at_boundary = true;
				CHECK_INT(fields, (int)i);
			}
		CHECK_INT(k, at_boundary ? 0 : -EBADMSG);
		free(copy);
	}
}

int main(void)
{
	test_each_type();
	test_malformed();
	return test_done();
}
