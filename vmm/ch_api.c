/* SPDX-License-Identifier: MIT */
/*
 * cloud-hypervisor's REST answers without I/O (see ch_api.h): pure
 * functions, so that the unit tests and the fuzz target run exactly what
 * the driver runs.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ch_api.h"
#include "util.h"

/* The states vm.info may report (cloud-hypervisor's VmState). */
static const char *const ch_states[] = { "Created", "Running", "Shutdown", "Paused",
					 "BreakPoint" };

/* Append n bytes of s to out (which holds *used bytes), printable only. */
static void append_text(char *out, size_t size, size_t *used, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *used + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		out[(*used)++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[*used] = '\0';
}

void ch_error_text(const char *body, size_t len, char *out, size_t size)
{
	json_t *doc = NULL;
	size_t used = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	if (len > CH_ANSWER_MAX)
		len = CH_ANSWER_MAX;
	if (len > 0)
		doc = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (json_is_array(doc)) {
		size_t i;
		json_t *e;
		json_array_foreach(doc, i, e) {
			if (!json_is_string(e))
				continue;
			if (used > 0)
				append_text(out, size, &used, ": ", 2);
			append_text(out, size, &used, json_string_value(e), json_string_length(e));
		}
	} else if (json_is_string(doc)) {
		append_text(out, size, &used, json_string_value(doc), json_string_length(doc));
	} else {
		/* not the documented format: show the bytes, trimmed */
		while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
			len--;
		append_text(out, size, &used, body, len);
	}
	json_decref(doc);
	if (!out[0])
		snprintf(out, size, "no error text");
}

int ch_info_state(const char *body, size_t len, char state[CH_STATE_MAX], char *err,
		  size_t errlen)
{
	json_t *doc;
	json_error_t jerr;
	const char *s;
	int r = -EBADMSG;

	if (len > CH_ANSWER_MAX) {
		snprintf(err, errlen, "vm.info: answer of %zu bytes is too large", len);
		return -EBADMSG;
	}
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err, errlen, "vm.info: not JSON: %s", jerr.text);
		return -EBADMSG;
	}
	s = json_string_value(json_object_get(doc, "state"));
	if (!s) {
		snprintf(err, errlen, "vm.info: no \"state\" string");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ch_states); i++)
		if (streq(s, ch_states[i])) {
			snprintf(state, CH_STATE_MAX, "%s", s);
			r = 0;
			goto out;
		}
	snprintf(err, errlen, "vm.info: unknown state");
out:
	json_decref(doc);
	return r;
}
