/* SPDX-License-Identifier: MIT */
/*
 * What mvirt-log does with the bytes of a request before touching the store:
 * decode as LogRequest and as QueryRequest, then validate. A valid entry must
 * also match a filter built from its own fields (the live-follow predicate).
 */
#include <stdint.h>
#include <stdlib.h>

#include "store.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	Mvirt__Log__LogRequest *req = mvirt__log__log_request__unpack(NULL, size, data);

	if (req) {
		const Mvirt__Log__LogEntry *e = req->entry;
		if (log_validate_entry(e, err, sizeof(err)) == 0) {
			struct log_filter f = {
				.object_id = e->n_related_object_ids ? e->related_object_ids[0] : NULL,
				.component = e->component[0] ? e->component : NULL,
				.level_mask = 1u << e->level,
				.start_ns = e->timestamp_ns,
				.end_ns = e->timestamp_ns,
				.max_id = 1,
			};
			if (!log_filter_match(&f, e, 1))
				abort();
		} else if (err[0] == 0) {
			abort(); /* every refusal says why */
		}
		mvirt__log__log_request__free_unpacked(req, NULL);
	}

	Mvirt__Log__QueryRequest *q = mvirt__log__query_request__unpack(NULL, size, data);
	if (q) {
		err[0] = 0;
		if (log_validate_query(q, err, sizeof(err)) != 0 && err[0] == 0)
			abort();
		mvirt__log__query_request__free_unpacked(q, NULL);
	}
	return 0;
}
