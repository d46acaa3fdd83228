/* SPDX-License-Identifier: MIT */
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

int log_validate_entry(const Mvirt__Log__LogEntry *e, char *err, size_t errlen)
{
	size_t n;

	if (!e)
		return fail(err, errlen, "Missing entry");
	if (e->level < 0 || e->level > (int)LOG_LEVEL_MAX) {
		snprintf(err, errlen, "invalid level %d: must be 0-4 (INFO, WARN, ERROR, DEBUG, AUDIT)",
			 e->level);
		return -EINVAL;
	}
	n = strlen(e->message);
	if (n == 0)
		return fail(err, errlen, "empty message");
	if (n > LOG_MAX_MESSAGE) {
		snprintf(err, errlen, "message too long: %zu bytes (at most %u)", n, LOG_MAX_MESSAGE);
		return -EINVAL;
	}
	if (!utf8_valid(e->message, n))
		return fail(err, errlen, "message is not valid UTF-8");
	n = strlen(e->component);
	if (n > LOG_MAX_COMPONENT) {
		snprintf(err, errlen, "component too long: %zu bytes (at most %u)", n,
			 LOG_MAX_COMPONENT);
		return -EINVAL;
	}
	if (!utf8_valid(e->component, n))
		return fail(err, errlen, "component is not valid UTF-8");
	if (e->n_related_object_ids > LOG_MAX_OBJECT_IDS) {
		snprintf(err, errlen, "too many related object ids: %zu (at most %u)",
			 e->n_related_object_ids, LOG_MAX_OBJECT_IDS);
		return -EINVAL;
	}
	for (size_t i = 0; i < e->n_related_object_ids; i++) {
		const char *id = e->related_object_ids[i];
		n = strlen(id);
		if (n == 0)
			return fail(err, errlen, "empty related object id");
		if (n > LOG_MAX_OBJECT_ID) {
			snprintf(err, errlen, "related object id too long: %zu bytes (at most %u)", n,
				 LOG_MAX_OBJECT_ID);
			return -EINVAL;
		}
		if (!utf8_valid(id, n))
			return fail(err, errlen, "related object id is not valid UTF-8");
	}
	return 0;
}

int log_validate_query(const Mvirt__Log__QueryRequest *q, char *err, size_t errlen)
{
	for (size_t i = 0; i < q->n_levels; i++)
		if ((int)q->levels[i] < 0 || (int)q->levels[i] > (int)LOG_LEVEL_MAX) {
			snprintf(err, errlen, "invalid level %d in levels: must be 0-4",
				 (int)q->levels[i]);
			return -EINVAL;
		}
	if (q->_start_time_ns_case == MVIRT__LOG__QUERY_REQUEST___START_TIME_NS_START_TIME_NS &&
	    q->_end_time_ns_case == MVIRT__LOG__QUERY_REQUEST___END_TIME_NS_END_TIME_NS &&
	    q->start_time_ns > q->end_time_ns)
		return fail(err, errlen, "start_time_ns is after end_time_ns");
	return 0;
}
