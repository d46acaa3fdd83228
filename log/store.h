/* SPDX-License-Identifier: MIT */
/*
 * The audit log's SQLite store: entries, their links to object ids, paged
 * queries that never hold more than one page in memory, and retention.
 */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.pb-c.h"

struct log_store;

/* What a query selects (all conditions ANDed). */
struct log_filter {
	const char *object_id; /* NULL: any */
	const char *component; /* NULL: any */
	uint32_t level_mask;   /* bit n set: level n wanted */
	int64_t start_ns, end_ns; /* inclusive */
	int64_t max_id;	       /* only ids <= max_id (the snapshot of a follow query) */
};

/* A position in (timestamp_ns, id) order; pages start after it. */
struct log_key {
	int64_t ts;
	int64_t id;
};

/* An entry as stored; the strings point into the store's buffers and the
 * related ids are sorted. */
typedef void (*log_entry_cb)(const Mvirt__Log__LogEntry *e, void *userdata);

int log_store_open(const char *path, struct log_store **out);
void log_store_close(struct log_store *s);

/*
 * Insert a batch in one transaction; when that fails, each entry alone, so a
 * failing entry fails alone. Entries with timestamp_ns 0 get now (written
 * back into the entry). origins[i] says who sent entries[i]. On return
 * ids[i] is the new id of entries[i], or 0 when it failed; the result is 0
 * or the first error.
 */
int log_store_insert(struct log_store *s, Mvirt__Log__LogEntry **entries, size_t n,
		     const char *const *origins, int64_t *ids);

/* Highest id ever assigned (0 for an empty store). */
int log_store_last_id(struct log_store *s, int64_t *id);

/*
 * The (ts, id) key of the n-th newest entry matching f (n >= 1), or
 * -ENOENT when fewer than n match.
 */
int log_store_nth_newest(struct log_store *s, const struct log_filter *f, uint32_t n,
			 struct log_key *key);

/* Up to max entries matching f strictly after (descending: before) *after,
 * in key order; *after is advanced. Returns the number delivered. */
int log_store_page(struct log_store *s, const struct log_filter *f, bool descending,
		   struct log_key *after, uint32_t max, log_entry_cb cb, void *userdata);

/* Up to max entries matching f with id > *after_id, by id; advances it. */
int log_store_page_by_id(struct log_store *s, const struct log_filter *f, int64_t *after_id,
			 uint32_t max, log_entry_cb cb, void *userdata);

/* Does a stored entry match f? (for live delivery, without the store) */
bool log_filter_match(const struct log_filter *f, const Mvirt__Log__LogEntry *e, int64_t id);

/*
 * Delete at most `chunk` of the oldest entries that are older than
 * min_ts or beyond the newest max_entries (0: no such limit). Returns the
 * number deleted; call again while it returns `chunk`.
 */
int log_store_prune(struct log_store *s, int64_t min_ts, uint64_t max_entries, uint32_t chunk);
