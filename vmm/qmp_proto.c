/* SPDX-License-Identifier: MIT */
/*
 * QMP framing and message classification, pure functions over bytes (see
 * qmp_proto.h). QEMU ends each message with "\r\n" and never puts a raw
 * newline inside one, so a line is a message.
 */
#include "qmp_proto.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int qmp_splitter_feed(struct qmp_splitter *s, const void *p, size_t n)
{
	if (s->broken)
		return -EMSGSIZE;
	if (n == 0)
		return 0;

	/* Check the unfinished line before storing it, so that a peer that
	 * never sends '\n' costs at most QMP_LINE_MAX plus one chunk. */
	const char *last_nl = memrchr(p, '\n', n);
	size_t tail = last_nl ? n - (size_t)(last_nl - (const char *)p) - 1 : s->tail + n;
	if (tail > QMP_LINE_MAX) {
		s->broken = true;
		return -EMSGSIZE;
	}
	s->tail = tail;
	buf_append(&s->buf, p, n);
	return 0;
}

int qmp_splitter_next(struct qmp_splitter *s, const char **line, size_t *len)
{
	for (;;) {
		if (s->broken)
			return -EMSGSIZE;

		size_t avail = buf_avail(&s->buf);
		if (s->scanned >= avail) {
			s->scanned = avail;
			return 0;
		}
		const char *head = (const char *)buf_head(&s->buf);
		const char *nl = memchr(head + s->scanned, '\n', avail - s->scanned);
		if (!nl) {
			s->scanned = avail;
			return 0;
		}

		size_t n = (size_t)(nl - head);
		if (n > QMP_LINE_MAX) {
			/* a whole long line can arrive inside one chunk */
			s->broken = true;
			return -EMSGSIZE;
		}
		/* buf_consume() only moves the read cursor: the bytes stay put
		 * until the next feed. */
		buf_consume(&s->buf, n + 1);
		s->scanned = 0;
		if (n > 0 && head[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		*line = head;
		*len = n;
		return 1;
	}
}

void qmp_splitter_free(struct qmp_splitter *s)
{
	buf_free(&s->buf);
	*s = (struct qmp_splitter){ 0 };
}

static int bad(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return -EBADMSG;
}

/* The id QEMU echoes back; ours are non-negative integers, anything else
 * (a string, a float, a negative number) simply matches no command. */
static void msg_read_id(struct qmp_msg *msg)
{
	json_t *id = json_object_get(msg->root, "id");

	if (json_is_integer(id) && json_integer_value(id) >= 0) {
		msg->has_id = true;
		msg->id = (uint64_t)json_integer_value(id);
	}
}

static int msg_classify(struct qmp_msg *msg, const char **reason)
{
	json_t *greeting = json_object_get(msg->root, "QMP");
	json_t *ret = json_object_get(msg->root, "return");
	json_t *error = json_object_get(msg->root, "error");
	json_t *event = json_object_get(msg->root, "event");
	int kinds = !!greeting + !!ret + !!error + !!event;

	if (kinds == 0)
		return bad(reason, "neither greeting, return, error nor event");
	if (kinds > 1)
		return bad(reason, "more than one of QMP, return, error, event");

	if (greeting) {
		if (!json_is_object(greeting))
			return bad(reason, "greeting: QMP is not an object");
		msg->type = QMP_MSG_GREETING;
		msg->value = greeting;
		return 0;
	}
	if (ret) {
		msg->type = QMP_MSG_RETURN;
		msg->value = ret;
		msg_read_id(msg);
		return 0;
	}
	if (error) {
		if (!json_is_object(error))
			return bad(reason, "error is not an object");
		msg->error_class = json_string_value(json_object_get(error, "class"));
		msg->error_desc = json_string_value(json_object_get(error, "desc"));
		if (!msg->error_class || !msg->error_desc)
			return bad(reason, "error without a class or desc string");
		msg->type = QMP_MSG_ERROR;
		msg_read_id(msg);
		return 0;
	}

	msg->event = json_string_value(event);
	if (!msg->event || !msg->event[0])
		return bad(reason, "event name is not a non-empty string");
	json_t *data = json_object_get(msg->root, "data");
	if (data && !json_is_object(data))
		return bad(reason, "event data is not an object");
	json_t *timestamp = json_object_get(msg->root, "timestamp");
	if (timestamp && !json_is_object(timestamp))
		return bad(reason, "event timestamp is not an object");
	msg->type = QMP_MSG_EVENT;
	msg->value = data;
	return 0;
}

int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *msg, const char **reason)
{
	json_error_t jerr;
	int r;

	*msg = (struct qmp_msg){ 0 };
	if (len > QMP_LINE_MAX)
		return bad(reason, "line too long");

	/* jansson bounds nesting depth and refuses NUL in strings, trailing
	 * bytes and (with this flag) duplicate keys that could hide a field. */
	msg->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg->root)
		return bad(reason, "not valid JSON");
	if (!json_is_object(msg->root)) {
		qmp_msg_done(msg);
		return bad(reason, "not a JSON object");
	}

	r = msg_classify(msg, reason);
	if (r < 0)
		qmp_msg_done(msg);
	return r;
}

void qmp_msg_done(struct qmp_msg *msg)
{
	json_decref(msg->root);
	*msg = (struct qmp_msg){ 0 };
}

int qmp_command_encode(const char *name, json_t *args, uint64_t id, char **out, size_t *out_len)
{
	if (!name || !name[0] || (args && !json_is_object(args)) || id > INT64_MAX)
		return -EINVAL;

	json_t *cmd = json_object();
	json_t *jname = json_string(name); /* NULL for invalid UTF-8 */
	if (!jname) {
		json_decref(cmd);
		return -EINVAL;
	}
	json_object_set_new(cmd, "execute", jname);
	if (args)
		json_object_set(cmd, "arguments", args);
	json_object_set_new(cmd, "id", json_integer((json_int_t)id));

	char *text = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	if (!text)
		return -EINVAL;

	size_t n = strlen(text);
	char *line = xmalloc(n + 3);
	memcpy(line, text, n);
	memcpy(line + n, "\r\n", 3);
	free(text);
	*out = line;
	*out_len = n + 2;
	return 0;
}
