/* SPDX-License-Identifier: MIT */
/*
 * Schema: logs(id, timestamp_ns, message, level, component, origin) and
 * log_objects(object_id, timestamp_ns, log_id). The link table repeats the
 * entry's timestamp so that "entries of object X, newest first" is a
 * single range scan of its primary key, whatever the size of the log.
 * AUTOINCREMENT keeps ids growing even after retention deleted the newest
 * row, so ids stay monotonic and sortable.
 */
#include "store.h"

#include <limits.h>

#include "db.h"
#include "log.h"
#include "timefmt.h"

static const char *const migrations[] = {
	"CREATE TABLE logs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  timestamp_ns INTEGER NOT NULL,"
	"  message TEXT NOT NULL,"
	"  level INTEGER NOT NULL,"
	"  component TEXT NOT NULL,"
	"  origin TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX logs_by_time ON logs(timestamp_ns, id);"
	"CREATE TABLE log_objects ("
	"  object_id TEXT NOT NULL,"
	"  timestamp_ns INTEGER NOT NULL,"
	"  log_id INTEGER NOT NULL REFERENCES logs(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (object_id, timestamp_ns, log_id)) WITHOUT ROWID;"
	"CREATE INDEX log_objects_by_log ON log_objects(log_id, object_id);",
};

enum query_kind { Q_PAGE_ASC, Q_PAGE_DESC, Q_BY_ID, Q_NTH, Q_KINDS };

struct log_store {
	sqlite3 *db;
	sqlite3_stmt *query[2][Q_KINDS]; /* [object filter?][kind] */
	sqlite3_stmt *insert_entry, *insert_link, *links_of;
};

static char *query_sql(bool by_object, enum query_kind kind)
{
	const char *ts = by_object ? "o.timestamp_ns" : "l.timestamp_ns";
	const char *id = by_object ? "o.log_id" : "l.id";
	_cleanup_free_ char *tail = NULL;

	switch (kind) {
	case Q_PAGE_ASC:
		tail = xasprintf("AND (%s, %s) > (?7, ?8) ORDER BY %s, %s LIMIT ?9", ts, id, ts, id);
		break;
	case Q_PAGE_DESC:
		tail = xasprintf("AND (%s, %s) < (?7, ?8) ORDER BY %s DESC, %s DESC LIMIT ?9", ts, id,
				 ts, id);
		break;
	case Q_BY_ID:
		tail = xasprintf("AND %s > ?7 ORDER BY %s LIMIT ?9", id, id);
		break;
	default:
		tail = xasprintf("ORDER BY %s DESC, %s DESC LIMIT 1 OFFSET ?9", ts, id);
	}
	return xasprintf("SELECT l.id, l.timestamp_ns, l.message, l.level, l.component "
			 "FROM %s WHERE %s %s BETWEEN ?2 AND ?3 "
			 "AND (?4 IS NULL OR l.component = ?4) AND ((1 << l.level) & ?5) != 0 "
			 "AND %s <= ?6 %s",
			 by_object ? "log_objects o JOIN logs l ON l.id = o.log_id" : "logs l",
			 by_object ? "o.object_id = ?1 AND" : "", ts, id, tail);
}

int log_store_open(const char *path, struct log_store **out)
{
	struct log_store *s = xcalloc(1, sizeof(*s));
	int r;

	r = db_open(path, &s->db);
	if (r < 0)
		goto fail;
	r = db_migrate(s->db, migrations, ARRAY_SIZE(migrations));
	if (r < 0)
		goto fail;
	/* Checkpoint every ~40 MiB of WAL instead of SQLite's 4 MiB: each
	 * checkpoint copies pages back and fdatasyncs on the only thread, and
	 * the log's scattered index pages are rewritten many times between two
	 * checkpoints (bench/README.md: +16 % ingest, p99 5 ms -> 0.8 ms). The
	 * size limit truncates the WAL file back after a checkpoint. */
	r = db_exec(s->db, "PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864");
	if (r < 0)
		goto fail;
	for (int o = 0; o < 2; o++)
		for (int k = 0; k < Q_KINDS; k++) {
			_cleanup_free_ char *sql = query_sql(o, k);
			r = db_prepare(s->db, sql, &s->query[o][k]);
			if (r < 0)
				goto fail;
		}
	r = db_prepare(s->db,
		       "INSERT INTO logs (timestamp_ns, message, level, component, origin) "
		       "VALUES (?1, ?2, ?3, ?4, ?5)",
		       &s->insert_entry);
	if (r < 0)
		goto fail;
	r = db_prepare(s->db,
		       "INSERT OR IGNORE INTO log_objects (object_id, timestamp_ns, log_id) "
		       "VALUES (?1, ?2, ?3)",
		       &s->insert_link);
	if (r < 0)
		goto fail;
	r = db_prepare(s->db, "SELECT object_id FROM log_objects WHERE log_id = ?1 ORDER BY object_id",
		       &s->links_of);
	if (r < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	log_store_close(s);
	return r;
}

void log_store_close(struct log_store *s)
{
	if (!s)
		return;
	for (int o = 0; o < 2; o++)
		for (int k = 0; k < Q_KINDS; k++)
			db_finalizep(&s->query[o][k]);
	db_finalizep(&s->insert_entry);
	db_finalizep(&s->insert_link);
	db_finalizep(&s->links_of);
	db_closep(&s->db);
	free(s);
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* One entry and its links, inside the caller's transaction. */
static int insert_one(struct log_store *s, const Mvirt__Log__LogEntry *e, int64_t ts,
		      const char *origin, int64_t *id)
{
	sqlite3_stmt *st = s->insert_entry;
	int r;

	sqlite3_bind_int64(st, 1, ts);
	sqlite3_bind_text(st, 2, e->message, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, e->level);
	sqlite3_bind_text(st, 4, e->component, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, origin ? origin : "", -1, SQLITE_STATIC);
	r = step_done(st);
	sqlite3_clear_bindings(st);
	if (r < 0)
		return r;
	*id = sqlite3_last_insert_rowid(s->db);
	for (size_t i = 0; i < e->n_related_object_ids; i++) {
		st = s->insert_link;
		sqlite3_bind_text(st, 1, e->related_object_ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, ts);
		sqlite3_bind_int64(st, 3, *id);
		r = step_done(st);
		sqlite3_clear_bindings(st);
		if (r < 0)
			return r;
	}
	return 0;
}

/* All of a batch in one transaction, or none of it. */
static int insert_batch(struct log_store *s, Mvirt__Log__LogEntry **entries, size_t n,
			const char *const *origins, int64_t now, int64_t *ids)
{
	_cleanup_txn_ struct db_txn txn = DB_TXN_INIT;
	int r;

	r = db_txn_begin(s->db, &txn);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int64_t ts = entries[i]->timestamp_ns ? entries[i]->timestamp_ns : now;
		r = insert_one(s, entries[i], ts, origins[i], &ids[i]);
		if (r < 0)
			return r;
	}
	r = db_txn_commit(&txn);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!entries[i]->timestamp_ns)
			entries[i]->timestamp_ns = now; /* the caller reports it back */
	return 0;
}

int log_store_insert(struct log_store *s, Mvirt__Log__LogEntry **entries, size_t n,
		     const char *const *origins, int64_t *ids)
{
	int64_t now = now_realtime_ns();
	int r, first_error = 0;

	memset(ids, 0, n * sizeof(*ids));
	/* The fast path: entries arrive validated, so a batch normally commits
	 * whole, without a savepoint per entry (which cost a quarter of the
	 * ingest rate). */
	r = insert_batch(s, entries, n, origins, now, ids);
	if (r == 0)
		return 0;
	memset(ids, 0, n * sizeof(*ids));
	if (n == 1) {
		log_warning_errno(r, "log: storing entry failed");
		return r;
	}
	/* One bad entry must not fail the others: store them one by one. */
	for (size_t i = 0; i < n; i++) {
		r = insert_batch(s, &entries[i], 1, &origins[i], now, &ids[i]);
		if (r < 0) {
			ids[i] = 0;
			log_warning_errno(r, "log: storing entry failed");
			if (!first_error)
				first_error = r;
		}
	}
	return first_error;
}

int log_store_last_id(struct log_store *s, int64_t *id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = db_prepare(s->db, "SELECT seq FROM sqlite_sequence WHERE name = 'logs'", &st);

	if (r < 0)
		return r;
	r = sqlite3_step(st);
	*id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_errno(r);
}

static void bind_filter(sqlite3_stmt *st, const struct log_filter *f)
{
	if (f->object_id)
		sqlite3_bind_text(st, 1, f->object_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, f->start_ns);
	sqlite3_bind_int64(st, 3, f->end_ns);
	if (f->component)
		sqlite3_bind_text(st, 4, f->component, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, f->level_mask);
	sqlite3_bind_int64(st, 6, f->max_id);
}

/* Build the entry of the current row (with its sorted links) and hand it out. */
static int deliver_row(struct log_store *s, sqlite3_stmt *st, log_entry_cb cb, void *userdata,
		       struct log_key *key)
{
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT;
	char idbuf[24];
	char **ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	key->id = sqlite3_column_int64(st, 0);
	key->ts = sqlite3_column_int64(st, 1);
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)key->id);
	e.id = idbuf;
	e.timestamp_ns = key->ts;
	e.message = (char *)sqlite3_column_text(st, 2);
	e.level = sqlite3_column_int(st, 3);
	e.component = (char *)sqlite3_column_text(st, 4);
	sqlite3_bind_int64(s->links_of, 1, key->id);
	while ((rc = sqlite3_step(s->links_of)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			ids = xrealloc(ids, cap * sizeof(char *));
		}
		ids[n++] = xstrdup((const char *)sqlite3_column_text(s->links_of, 0));
	}
	sqlite3_reset(s->links_of);
	if (rc == SQLITE_DONE) {
		e.n_related_object_ids = n;
		e.related_object_ids = ids;
		cb(&e, userdata);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static int run_page(struct log_store *s, sqlite3_stmt *st, uint32_t max, log_entry_cb cb,
		    void *userdata, struct log_key *last)
{
	int rc, r = 0, count = 0;

	sqlite3_bind_int64(st, 9, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = deliver_row(s, st, cb, userdata, last);
		if (r < 0)
			break;
		count++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r < 0 ? r : count;
}

int log_store_page(struct log_store *s, const struct log_filter *f, bool descending,
		   struct log_key *after, uint32_t max, log_entry_cb cb, void *userdata)
{
	sqlite3_stmt *st = s->query[f->object_id != NULL][descending ? Q_PAGE_DESC : Q_PAGE_ASC];

	bind_filter(st, f);
	sqlite3_bind_int64(st, 7, after->ts);
	sqlite3_bind_int64(st, 8, after->id);
	return run_page(s, st, max, cb, userdata, after);
}

int log_store_page_by_id(struct log_store *s, const struct log_filter *f, int64_t *after_id,
			 uint32_t max, log_entry_cb cb, void *userdata)
{
	sqlite3_stmt *st = s->query[f->object_id != NULL][Q_BY_ID];
	struct log_key last = { 0, *after_id };
	int r;

	bind_filter(st, f);
	sqlite3_bind_int64(st, 7, *after_id);
	r = run_page(s, st, max, cb, userdata, &last);
	*after_id = last.id;
	return r;
}


int log_store_nth_newest(struct log_store *s, const struct log_filter *f, uint32_t n,
			 struct log_key *key)
{
	sqlite3_stmt *st = s->query[f->object_id != NULL][Q_NTH];
	int rc;

	bind_filter(st, f);
	sqlite3_bind_int64(st, 9, n - 1);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		key->id = sqlite3_column_int64(st, 0);
		key->ts = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
}

bool log_filter_match(const struct log_filter *f, const Mvirt__Log__LogEntry *e, int64_t id)
{
	if (id > f->max_id || e->timestamp_ns < f->start_ns || e->timestamp_ns > f->end_ns)
		return false;
	if (e->level < 0 || e->level > 31 || !(f->level_mask & (1u << e->level)))
		return false;
	if (f->component && strcmp(f->component, e->component) != 0)
		return false;
	if (f->object_id) {
		for (size_t i = 0; i < e->n_related_object_ids; i++)
			if (streq(e->related_object_ids[i], f->object_id))
				return true;
		return false;
	}
	return true;
}

int log_store_prune(struct log_store *s, int64_t min_ts, uint64_t max_entries, uint32_t chunk)
{
	_cleanup_stmt_ sqlite3_stmt *cut = NULL, *del_old = NULL, *del_upto = NULL;
	int deleted = 0, r;

	r = db_prepare(s->db,
		       "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE timestamp_ns < ?1 "
		       "ORDER BY timestamp_ns LIMIT ?2)",
		       &del_old);
	if (r < 0)
		return r;
	sqlite3_bind_int64(del_old, 1, min_ts);
	sqlite3_bind_int64(del_old, 2, chunk);
	r = step_done(del_old);
	if (r < 0)
		return r;
	deleted = sqlite3_changes(s->db);
	if (max_entries == 0 || (uint32_t)deleted >= chunk)
		return deleted;

	/* Ids only grow, so when the span of ids fits, the count does too, and
	 * the OFFSET scan below (which walks max_entries rows) is not needed. */
	r = db_prepare(s->db, "SELECT coalesce(max(id) - min(id) + 1, 0) FROM logs", &cut);
	if (r < 0)
		return r;
	r = sqlite3_step(cut);
	if (r != SQLITE_ROW)
		return db_errno(r);
	if ((uint64_t)sqlite3_column_int64(cut, 0) <= max_entries)
		return deleted;
	db_finalizep(&cut);

	/* the newest max_entries stay: find the id just below them */
	r = db_prepare(s->db, "SELECT id FROM logs ORDER BY id DESC LIMIT 1 OFFSET ?1", &cut);
	if (r < 0)
		return r;
	sqlite3_bind_int64(cut, 1, (sqlite3_int64)MIN(max_entries, (uint64_t)INT64_MAX));
	r = sqlite3_step(cut);
	if (r == SQLITE_DONE)
		return deleted;
	if (r != SQLITE_ROW)
		return db_errno(r);
	r = db_prepare(s->db,
		       "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE id <= ?1 "
		       "ORDER BY id LIMIT ?2)",
		       &del_upto);
	if (r < 0)
		return r;
	sqlite3_bind_int64(del_upto, 1, sqlite3_column_int64(cut, 0));
	sqlite3_bind_int64(del_upto, 2, chunk - (uint32_t)deleted);
	r = step_done(del_upto);
	if (r < 0)
		return r;
	return deleted + sqlite3_changes(s->db);
}
