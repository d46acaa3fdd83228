/* SPDX-License-Identifier: MIT */
/*
 * The reference schema is created with IF NOT EXISTS (a reference database
 * already has it at user_version 0); our columns come as separate migrations
 * so that either database ends in the same shape. Timestamps are the RFC 3339
 * strings of timefmt.h, so ORDER BY created_at is chronological.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

static const char *const migrations[] = {
	"CREATE TABLE IF NOT EXISTS volumes ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, zfs_path TEXT NOT NULL,"
	"  device_path TEXT NOT NULL, size_bytes INTEGER NOT NULL, origin_template_id TEXT,"
	"  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS templates ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, base_zvol_path TEXT NOT NULL,"
	"  snapshot_path TEXT NOT NULL, size_bytes INTEGER NOT NULL, created_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS import_jobs ("
	"  id TEXT PRIMARY KEY, template_name TEXT NOT NULL, source TEXT NOT NULL,"
	"  format TEXT NOT NULL, state TEXT NOT NULL, bytes_written INTEGER DEFAULT 0,"
	"  total_bytes INTEGER, error TEXT, created_at TEXT NOT NULL, completed_at TEXT);"
	"CREATE TABLE IF NOT EXISTS snapshots ("
	"  id TEXT PRIMARY KEY, volume_id TEXT NOT NULL, name TEXT NOT NULL,"
	"  zfs_snapshot_name TEXT NOT NULL, created_at TEXT NOT NULL,"
	"  FOREIGN KEY (volume_id) REFERENCES volumes(id) ON DELETE CASCADE,"
	"  UNIQUE (volume_id, name));",
	/* ours: what crash clean-up, promote and the two layouts need */
	"ALTER TABLE import_jobs ADD COLUMN template_id TEXT;"
	"ALTER TABLE templates ADD COLUMN source_volume TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE templates ADD COLUMN source_snapshot_id TEXT;"
	"ALTER TABLE templates ADD COLUMN backend TEXT NOT NULL DEFAULT 'zvol';"
	"ALTER TABLE volumes ADD COLUMN backend TEXT NOT NULL DEFAULT 'zvol';"
	"CREATE INDEX IF NOT EXISTS volumes_by_origin ON volumes(origin_template_id);"
	"CREATE INDEX IF NOT EXISTS jobs_by_name ON import_jobs(template_name);",
};

struct zstore {
	struct db_shared d;
};

static const char *const state_names[] = {
	[ZJOB_UNSPECIFIED] = "unspecified", [ZJOB_PENDING] = "pending",
	[ZJOB_DOWNLOADING] = "downloading", [ZJOB_CONVERTING] = "converting",
	[ZJOB_WRITING] = "writing",	    [ZJOB_COMPLETED] = "completed",
	[ZJOB_FAILED] = "failed",	    [ZJOB_CANCELLED] = "cancelled",
};

const char *zjob_state_name(enum zjob_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "unspecified";
}

enum zjob_state zjob_state_parse(const char *s)
{
	for (size_t i = 1; i < ARRAY_SIZE(state_names); i++)
		if (s && streq(s, state_names[i]))
			return (enum zjob_state)i;
	return ZJOB_UNSPECIFIED;
}

/* ---- records ------------------------------------------------------------ */

void zvolume_clear(struct zvolume *v)
{
	free(v->name);
	free(v->zfs_path);
	free(v->device_path);
	free(v->origin_template_id);
	free(v->backend);
	free(v->created_at);
	*v = (struct zvolume){ 0 };
}

void zsnapshot_clear(struct zsnapshot *s)
{
	free(s->name);
	free(s->created_at);
	*s = (struct zsnapshot){ 0 };
}

void ztemplate_clear(struct ztemplate *t)
{
	free(t->name);
	free(t->base_path);
	free(t->snapshot_path);
	free(t->source_volume);
	free(t->source_snapshot_id);
	free(t->backend);
	free(t->created_at);
	*t = (struct ztemplate){ 0 };
}

void zjob_clear(struct zjob *j)
{
	free(j->template_name);
	free(j->source);
	free(j->format);
	free(j->error);
	free(j->created_at);
	free(j->completed_at);
	free(j->template_id);
	*j = (struct zjob){ 0 };
}

#define DEFINE_LIST_FREE(fn, type, clear)          \
	void fn(type *items, size_t n)             \
	{                                          \
		for (size_t i = 0; i < n; i++)     \
			clear(&items[i]);          \
		free(items);                       \
	}
DEFINE_LIST_FREE(zvolume_list_free, struct zvolume, zvolume_clear)
DEFINE_LIST_FREE(zsnapshot_list_free, struct zsnapshot, zsnapshot_clear)
DEFINE_LIST_FREE(ztemplate_list_free, struct ztemplate, ztemplate_clear)
DEFINE_LIST_FREE(zjob_list_free, struct zjob, zjob_clear)

/* ---- statements ----------------------------------------------------------- */

static void col_id(sqlite3_stmt *st, int i, char out[UUID_STR_LEN])
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, UUID_STR_LEN, "%s", t ? (const char *)t : "");
}


/* ---- open ----------------------------------------------------------------- */

int zstore_open(const char *path, struct zstore **out)
{
	struct zstore *s = xcalloc(1, sizeof(*s));
	int r = db_shared_open(&s->d, path, migrations, ARRAY_SIZE(migrations));

	if (r < 0) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void zstore_close(struct zstore *s)
{
	if (!s)
		return;
	db_shared_close(&s->d);
	free(s);
}

/* ---- volumes -------------------------------------------------------------- */

#define VOLUME_COLUMNS "id, name, zfs_path, device_path, size_bytes, origin_template_id, " \
		       "backend, created_at"

static void volume_read(sqlite3_stmt *st, struct zvolume *v)
{
	col_id(st, 0, v->id);
	v->name = db_column_dup(st, 1);
	v->zfs_path = db_column_dup(st, 2);
	v->device_path = db_column_dup(st, 3);
	v->size_bytes = (uint64_t)sqlite3_column_int64(st, 4);
	v->origin_template_id = db_column_dup(st, 5);
	v->backend = db_column_dup(st, 6);
	v->created_at = db_column_dup(st, 7);
}

int zstore_volume_by_name(struct zstore *s, const char *name, struct zvolume *out)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE name = ?", "s",
			  name);
		if (r >= 0)
			r = db_step(st);
		if (r > 0)
			volume_read(st, out);
	}
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int zstore_volume_list(struct zstore *s, struct zvolume **out, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct zvolume *v = NULL;
	size_t count = 0;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			  "SELECT " VOLUME_COLUMNS " FROM volumes ORDER BY created_at DESC", "");
		while (r >= 0 && (r = db_step(st)) > 0) {
			v = xrealloc(v, (count + 1) * sizeof(*v));
			v[count] = (struct zvolume){ 0 };
			volume_read(st, &v[count++]);
		}
	}
	if (r < 0) {
		zvolume_list_free(v, count);
		return r;
	}
	*out = v;
	*n = count;
	return 0;
}

int zstore_volume_insert(struct zstore *s, const struct zvolume *v)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, false,
		 "INSERT INTO volumes (id, name, zfs_path, device_path, size_bytes, "
		 "origin_template_id, backend, created_at, updated_at) "
		 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 "ssssussss", v->id, v->name, v->zfs_path, v->device_path, v->size_bytes,
		 v->origin_template_id, v->backend, v->created_at, v->created_at);
	return r;
}

int zstore_volume_delete(struct zstore *s, const char *id)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true, "DELETE FROM volumes WHERE id = ?", "s", id);
	return r;
}

int zstore_volume_set_size(struct zstore *s, const char *id, uint64_t size)
{
	char now[RFC3339_LEN];
	int r;

	rfc3339_format(now_realtime_ns(), now);
	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true, "UPDATE volumes SET size_bytes = ?, updated_at = ? WHERE id = ?",
		 "uss", size, now, id);
	return r;
}

int zstore_provisioned(struct zstore *s, uint64_t *out)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			  "SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM volumes) + "
			  "(SELECT COALESCE(SUM(size_bytes), 0) FROM templates)", "");
		if (r >= 0)
			r = db_step(st);
		if (r > 0)
			*out = (uint64_t)sqlite3_column_int64(st, 0);
	}
	return r < 0 ? r : 0;
}

/* ---- snapshots ------------------------------------------------------------ */

static void snapshot_read(sqlite3_stmt *st, struct zsnapshot *snap)
{
	col_id(st, 0, snap->id);
	col_id(st, 1, snap->volume_id);
	snap->name = db_column_dup(st, 2);
	snap->created_at = db_column_dup(st, 3);
}

int zstore_snapshot_by_name(struct zstore *s, const char *volume_id, const char *name,
			    struct zsnapshot *out)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			  "SELECT id, volume_id, name, created_at FROM snapshots "
			  "WHERE volume_id = ? AND name = ?", "ss", volume_id, name);
		if (r >= 0)
			r = db_step(st);
		if (r > 0)
			snapshot_read(st, out);
	}
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int zstore_snapshot_list(struct zstore *s, const char *volume_id, struct zsnapshot **out,
			 size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct zsnapshot *v = NULL;
	size_t count = 0;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			  "SELECT id, volume_id, name, created_at FROM snapshots "
			  "WHERE volume_id = ? ORDER BY created_at, rowid", "s", volume_id);
		while (r >= 0 && (r = db_step(st)) > 0) {
			v = xrealloc(v, (count + 1) * sizeof(*v));
			v[count] = (struct zsnapshot){ 0 };
			snapshot_read(st, &v[count++]);
		}
	}
	if (r < 0) {
		zsnapshot_list_free(v, count);
		return r;
	}
	*out = v;
	*n = count;
	return 0;
}

int zstore_snapshot_insert(struct zstore *s, const struct zsnapshot *snap)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, false,
		 "INSERT INTO snapshots (id, volume_id, name, zfs_snapshot_name, created_at) "
		 "VALUES (?, ?, ?, ?, ?)",
		 "sssss", snap->id, snap->volume_id, snap->name, snap->id, snap->created_at);
	return r;
}

int zstore_snapshot_delete(struct zstore *s, const char *id)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true, "DELETE FROM snapshots WHERE id = ?", "s", id);
	return r;
}

/* ---- templates ------------------------------------------------------------ */

#define TEMPLATE_COLUMNS                                                            \
	"t.id, t.name, t.base_zvol_path, t.snapshot_path, t.size_bytes, t.source_volume, " \
	"t.source_snapshot_id, t.backend, t.created_at, "                              \
	"(SELECT COUNT(*) FROM volumes v WHERE v.origin_template_id = t.id)"

static void template_read(sqlite3_stmt *st, struct ztemplate *t)
{
	col_id(st, 0, t->id);
	t->name = db_column_dup(st, 1);
	t->base_path = db_column_dup(st, 2);
	t->snapshot_path = db_column_dup(st, 3);
	t->size_bytes = (uint64_t)sqlite3_column_int64(st, 4);
	t->source_volume = db_column_dup(st, 5);
	t->source_snapshot_id = db_column_dup(st, 6);
	t->backend = db_column_dup(st, 7);
	t->created_at = db_column_dup(st, 8);
	t->clone_count = (uint32_t)sqlite3_column_int64(st, 9);
	if (!t->source_volume)
		t->source_volume = xstrdup("");
}

static int template_one(struct zstore *s, const char *where, const char *key,
			struct ztemplate *out)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *sql = xasprintf("SELECT " TEMPLATE_COLUMNS " FROM templates t WHERE %s",
					     where);
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st, sql, "s", key);
		if (r >= 0)
			r = db_step(st);
		if (r > 0)
			template_read(st, out);
	}
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int zstore_template_by_name(struct zstore *s, const char *name, struct ztemplate *out)
{
	return template_one(s, "t.name = ?", name, out);
}

int zstore_template_by_id(struct zstore *s, const char *id, struct ztemplate *out)
{
	return template_one(s, "t.id = ?", id, out);
}

int zstore_template_by_snapshot(struct zstore *s, const char *snapshot_id, struct ztemplate *out)
{
	return template_one(s, "t.source_snapshot_id = ?", snapshot_id, out);
}

int zstore_template_list(struct zstore *s, struct ztemplate **out, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct ztemplate *v = NULL;
	size_t count = 0;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			  "SELECT " TEMPLATE_COLUMNS " FROM templates t ORDER BY t.created_at DESC",
			  "");
		while (r >= 0 && (r = db_step(st)) > 0) {
			v = xrealloc(v, (count + 1) * sizeof(*v));
			v[count] = (struct ztemplate){ 0 };
			template_read(st, &v[count++]);
		}
	}
	if (r < 0) {
		ztemplate_list_free(v, count);
		return r;
	}
	*out = v;
	*n = count;
	return 0;
}

static int template_insert_locked(struct zstore *s, const struct ztemplate *t)
{
	return db_run(s->d.db, false,
		    "INSERT INTO templates (id, name, base_zvol_path, snapshot_path, size_bytes, "
		    "source_volume, source_snapshot_id, backend, created_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    "ssssussss", t->id, t->name, t->base_path, t->snapshot_path, t->size_bytes,
		    t->source_volume ? t->source_volume : "", t->source_snapshot_id, t->backend,
		    t->created_at);
}

int zstore_template_insert(struct zstore *s, const struct ztemplate *t)
{
	int r;

	DB_LOCKED(&s->d)
	r = template_insert_locked(s, t);
	return r;
}

int zstore_template_delete(struct zstore *s, const char *id)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true, "DELETE FROM templates WHERE id = ?", "s", id);
	return r;
}

static int exists(struct zstore *s, const char *sql, const char *key, bool *out)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st, sql, "s", key);
		if (r >= 0)
			r = db_step(st);
	}
	if (r < 0)
		return r;
	*out = r > 0;
	return 0;
}

int zstore_template_name_taken(struct zstore *s, const char *name, bool *taken)
{
	return exists(s,
		      "SELECT 1 FROM templates WHERE name = ?1 UNION ALL "
		      "SELECT 1 FROM import_jobs WHERE template_name = ?1 AND state NOT IN "
		      "('completed', 'failed', 'cancelled')",
		      name, taken);
}

int zstore_template_exists(struct zstore *s, const char *id, bool *out)
{
	return exists(s, "SELECT 1 FROM templates WHERE id = ?", id, out);
}

/* ---- import jobs ---------------------------------------------------------- */

#define JOB_COLUMNS "id, template_name, source, format, state, bytes_written, total_bytes, " \
		    "error, created_at, completed_at, template_id"

static void job_read(sqlite3_stmt *st, struct zjob *j)
{
	col_id(st, 0, j->id);
	j->template_name = db_column_dup(st, 1);
	j->source = db_column_dup(st, 2);
	j->format = db_column_dup(st, 3);
	j->state = zjob_state_parse((const char *)sqlite3_column_text(st, 4));
	j->bytes_written = (uint64_t)sqlite3_column_int64(st, 5);
	j->total_bytes = (uint64_t)sqlite3_column_int64(st, 6);
	j->error = db_column_dup(st, 7);
	j->created_at = db_column_dup(st, 8);
	j->completed_at = db_column_dup(st, 9);
	j->template_id = db_column_dup(st, 10);
}

int zstore_job_insert(struct zstore *s, const struct zjob *j)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, false,
		 "INSERT INTO import_jobs (id, template_name, source, format, state, "
		 "bytes_written, total_bytes, created_at, template_id) "
		 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 "sssssuuss", j->id, j->template_name, j->source, j->format,
		 zjob_state_name(j->state), j->bytes_written, j->total_bytes, j->created_at,
		 j->template_id);
	return r;
}

int zstore_job_get(struct zstore *s, const char *id, struct zjob *out)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st, "SELECT " JOB_COLUMNS " FROM import_jobs WHERE id = ?", "s",
			  id);
		if (r >= 0)
			r = db_step(st);
		if (r > 0)
			job_read(st, out);
	}
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int job_select(struct zstore *s, const char *where, struct zjob **out, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *sql = xasprintf("SELECT " JOB_COLUMNS " FROM import_jobs %s "
					     "ORDER BY created_at DESC", where);
	struct zjob *v = NULL;
	size_t count = 0;
	int r;

	r = db_query(s->d.db, &st, sql, "");
	while (r >= 0 && (r = db_step(st)) > 0) {
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count] = (struct zjob){ 0 };
		job_read(st, &v[count++]);
	}
	if (r < 0) {
		zjob_list_free(v, count);
		return r;
	}
	*out = v;
	*n = count;
	return 0;
}

#define JOBS_UNFINISHED "WHERE state NOT IN ('completed', 'failed', 'cancelled')"

int zstore_job_list(struct zstore *s, bool include_completed, struct zjob **out, size_t *n)
{
	int r;

	DB_LOCKED(&s->d)
	r = job_select(s, include_completed ? "" : JOBS_UNFINISHED, out, n);
	return r;
}

int zstore_job_set_template_id(struct zstore *s, const char *id, const char *template_id)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true, "UPDATE import_jobs SET template_id = ? WHERE id = ?", "ss",
		 template_id, id);
	return r;
}

int zstore_job_progress(struct zstore *s, const char *id, enum zjob_state state,
			uint64_t bytes_written, uint64_t total_bytes)
{
	int r;

	/* a terminal job is never moved back by a late progress update */
	DB_LOCKED(&s->d)
	r = db_run(s->d.db, false,
		 "UPDATE import_jobs SET state = ?, bytes_written = ?, total_bytes = ? "
		 "WHERE id = ? AND state NOT IN ('completed', 'failed', 'cancelled')",
		 "suus", zjob_state_name(state), bytes_written, total_bytes, id);
	return r;
}

static int job_finish_locked(struct zstore *s, const char *id, enum zjob_state state,
			     uint64_t bytes_written, const char *error)
{
	char now[RFC3339_LEN];

	rfc3339_format(now_realtime_ns(), now);
	return db_run(s->d.db, true,
		    "UPDATE import_jobs SET state = ?, bytes_written = ?, error = ?, "
		    "completed_at = COALESCE(completed_at, ?) WHERE id = ?",
		    "suss" "s", zjob_state_name(state), bytes_written, error, now, id);
}

int zstore_job_finish(struct zstore *s, const char *id, enum zjob_state state,
		      uint64_t bytes_written, const char *error)
{
	int r;

	DB_LOCKED(&s->d)
	r = job_finish_locked(s, id, state, bytes_written, error);
	return r;
}

int zstore_job_complete(struct zstore *s, const char *id, uint64_t bytes_written,
			const struct ztemplate *t)
{
	int r;

	DB_LOCKED(&s->d) {
		_cleanup_txn_ struct db_txn txn = DB_TXN_INIT;
		r = db_txn_begin(s->d.db, &txn);
		if (r >= 0)
			r = template_insert_locked(s, t);
		if (r >= 0)
			r = job_finish_locked(s, id, ZJOB_COMPLETED, bytes_written, NULL);
		if (r >= 0)
			r = db_txn_commit(&txn);
	}
	return r;
}

int zstore_jobs_interrupt(struct zstore *s, const char *error, struct zjob **out, size_t *n)
{
	int r;

	*out = NULL;
	*n = 0;
	DB_LOCKED(&s->d) {
		_cleanup_txn_ struct db_txn txn = DB_TXN_INIT;
		r = db_txn_begin(s->d.db, &txn);
		if (r >= 0)
			r = job_select(s, JOBS_UNFINISHED, out, n);
		for (size_t i = 0; r >= 0 && i < *n; i++)
			r = job_finish_locked(s, (*out)[i].id, ZJOB_FAILED, (*out)[i].bytes_written,
					      error);
		if (r >= 0)
			r = db_txn_commit(&txn);
		if (r < 0 && *out) {
			zjob_list_free(*out, *n);
			*out = NULL;
			*n = 0;
		}
	}
	return r;
}
