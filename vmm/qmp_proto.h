/* SPDX-License-Identifier: MIT */
/*
 * The QEMU Machine Protocol without I/O: splitting QEMU's output into lines
 * (one JSON object per line, bounded), classifying a parsed line as greeting,
 * return, error or event, and encoding a command. QEMU's output is outside
 * bytes — a compromised QEMU must not crash or bloat the daemon — so every
 * field is checked and anything unexpected is -EBADMSG with a reason.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* QEMU's longest lines are schema dumps (query-qmp-schema: ~200 KiB in 7.2). */
#define QMP_LINE_MAX (1024 * 1024)

/* Splits a byte stream into lines of at most QMP_LINE_MAX bytes. The memory it
 * holds is bounded by QMP_LINE_MAX plus one fed chunk, as long as the caller
 * takes every complete line out (qmp_splitter_next() until 0) after each feed. */
struct qmp_splitter {
	struct buf buf;
	size_t scanned; /* bytes after buf.off known to hold no '\n' */
	size_t tail;    /* bytes fed after the last '\n': the unfinished line */
	bool broken;    /* a line was too long: the stream cannot be resynchronised */
};

/* Appends n bytes. -EMSGSIZE when an unfinished line grows past QMP_LINE_MAX
 * (the splitter then stays broken). */
int qmp_splitter_feed(struct qmp_splitter *s, const void *p, size_t n);

/* Takes the next complete line out, without its "\n" or "\r\n"; blank lines
 * are skipped. *line stays valid until the next feed or free. Returns 1 with a
 * line, 0 when no complete line is buffered, -EMSGSIZE for a too long line. */
int qmp_splitter_next(struct qmp_splitter *s, const char **line, size_t *len);

void qmp_splitter_free(struct qmp_splitter *s);

enum qmp_msg_type {
	QMP_MSG_GREETING, /* {"QMP": {"version": ..., "capabilities": [...]}} */
	QMP_MSG_RETURN,   /* {"return": <any>, "id": <id>} */
	QMP_MSG_ERROR,    /* {"error": {"class": "...", "desc": "..."}, "id": <id>} */
	QMP_MSG_EVENT,    /* {"event": "NAME", "data": {...}, "timestamp": {...}} */
};

/* One classified message. Every pointer borrows from root, which the message
 * owns: release it with qmp_msg_done(). */
struct qmp_msg {
	enum qmp_msg_type type;
	json_t *root;
	/* RETURN/ERROR: has_id is set when "id" is a non-negative integer (ours
	 * always are); any other id, or none, cannot match a command of ours. */
	bool has_id;
	uint64_t id;
	json_t *value;           /* GREETING: the "QMP" object; RETURN: "return"; EVENT: "data" or NULL */
	const char *error_class; /* ERROR */
	const char *error_desc;  /* ERROR */
	const char *event;       /* EVENT */
};

/* Parses and classifies one line. On failure returns -EBADMSG and points
 * *reason (when reason is non-NULL) at a static one-line explanation; msg is
 * then empty and needs no qmp_msg_done(). */
int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *msg, const char **reason);

void qmp_msg_done(struct qmp_msg *msg);

/* Encodes {"execute": name, "arguments": args, "id": id} + "\r\n" into a new
 * string (one line: the compact encoding escapes every control character).
 * args is borrowed: NULL (no "arguments") or a JSON object. Returns 0, or
 * -EINVAL for an empty or non-UTF-8 name, a non-object args or an id above
 * INT64_MAX (QEMU reads integers as int64). */
int qmp_command_encode(const char *name, json_t *args, uint64_t id, char **out, size_t *out_len);
