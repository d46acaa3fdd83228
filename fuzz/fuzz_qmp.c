/* SPDX-License-Identifier: MIT */
/*
 * QMP framing and classification on hostile bytes, as a compromised QEMU
 * could send them: the first byte picks the chunk size the stream is fed in
 * (so splits land everywhere), the rest is the stream. Every line is parsed
 * and what comes back must be consistent; the splitter must keep its bound.
 * The stream is also used as a command name, which must encode to one line
 * that reads back to the same name.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const char *line, size_t len)
{
	struct qmp_msg msg;
	const char *reason = NULL;

	if (qmp_msg_parse(line, len, &msg, &reason) < 0) {
		if (!reason || !reason[0] || msg.root)
			abort();
		return;
	}
	switch (msg.type) {
	case QMP_MSG_GREETING:
		if (!json_is_object(msg.value))
			abort();
		break;
	case QMP_MSG_RETURN:
		if (!msg.value)
			abort();
		break;
	case QMP_MSG_ERROR:
		if (!msg.error_class || !msg.error_desc)
			abort();
		break;
	case QMP_MSG_EVENT:
		if (!msg.event || !msg.event[0] || (msg.value && !json_is_object(msg.value)))
			abort();
		break;
	default:
		abort();
	}
	if (msg.has_id && msg.id > INT64_MAX)
		abort();
	qmp_msg_done(&msg);
}

static void check_stream(const char *p, size_t n, size_t chunk)
{
	struct qmp_splitter s = { 0 };
	const char *line;
	size_t len;
	int r = 0;

	for (size_t off = 0; off < n && r >= 0; off += chunk) {
		r = qmp_splitter_feed(&s, p + off, chunk < n - off ? chunk : n - off);
		while (r >= 0 && (r = qmp_splitter_next(&s, &line, &len)) == 1) {
			if (len == 0 || len > QMP_LINE_MAX || memchr(line, '\n', len))
				abort();
			check_msg(line, len);
		}
		if (s.buf.cap > 4 * (QMP_LINE_MAX + chunk))
			abort();
	}
	qmp_splitter_free(&s);
}

static void check_encode(const char *p, size_t n)
{
	char *name = malloc(n + 1);
	char *line = NULL;
	size_t len;

	if (!name)
		return;
	memcpy(name, p, n);
	name[n] = '\0';
	if (qmp_command_encode(name, NULL, n, &line, &len) == 0) {
		if (len < 2 || memcmp(line + len - 2, "\r\n", 2) != 0 || memchr(line, '\n', len - 1))
			abort();
		json_t *back = json_loadb(line, len, 0, NULL);
		if (!back || strcmp(json_string_value(json_object_get(back, "execute")) ?: "", name) != 0 ||
		    json_integer_value(json_object_get(back, "id")) != (json_int_t)n)
			abort();
		json_decref(back);
		free(line);
	}
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 65536, 1, 2, 3, 7, 64, 4096, 100000 };

	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	check_stream(text, len, chunks[data[0] % (sizeof(chunks) / sizeof(chunks[0]))]);
	check_msg(text, len);
	if (len < 4096)
		check_encode(text, len);
	return 0;
}
