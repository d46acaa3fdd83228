/* SPDX-License-Identifier: MIT */
#include "db.h"

#include <stdarg.h>
#include <stdint.h>

#include "log.h"

int db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

void db_closep(sqlite3 **db)
{
	if (*db)
		sqlite3_close_v2(*db);
	*db = NULL;
}

void db_finalizep(sqlite3_stmt **stmt)
{
	if (*stmt)
		sqlite3_finalize(*stmt);
	*stmt = NULL;
}

int db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		log_error("sqlite: %s", err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return db_errno(rc);
	}
	return 0;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);

	if (rc != SQLITE_OK) {
		log_error("sqlite: prepare failed: %s", sqlite3_errmsg(db));
		return db_errno(rc);
	}
	return 0;
}

int db_open(const char *path, sqlite3 **out)
{
	_cleanup_db_ sqlite3 *db = NULL;
	int rc, r;

	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("sqlite: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		return db_errno(rc);
	}
	sqlite3_busy_timeout(db, 5000);
	/* WAL: readers never block the writer; NORMAL sync in WAL mode keeps every
	 * committed transaction across a process crash (the WAL is written
	 * before COMMIT returns) and only fsyncs at checkpoints. */
	r = db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			"PRAGMA foreign_keys=ON;");
	if (r < 0)
		return r;
	*out = TAKE_PTR(db);
	return 0;
}

static int db_user_version(sqlite3 *db, int *version)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = db_prepare(db, "PRAGMA user_version", &st);

	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*version = sqlite3_column_int(st, 0);
	return 0;
}

int db_migrate(sqlite3 *db, const char *const *migrations, size_t n)
{
	int version, r;

	r = db_user_version(db, &version);
	if (r < 0)
		return r;
	if (version < 0 || (size_t)version > n) {
		log_error("sqlite: schema version %d is newer than this program knows (%zu)", version, n);
		return -EPROTO;
	}
	for (size_t i = (size_t)version; i < n; i++) {
		_cleanup_txn_ struct db_txn txn = DB_TXN_INIT;
		char pragma[64];

		r = db_txn_begin(db, &txn);
		if (r < 0)
			return r;
		r = db_exec(db, migrations[i]);
		if (r < 0)
			return r;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%zu", i + 1);
		r = db_exec(db, pragma);
		if (r < 0)
			return r;
		r = db_txn_commit(&txn);
		if (r < 0)
			return r;
		log_debug("sqlite: schema migrated to version %zu", i + 1);
	}
	return 0;
}

int db_txn_begin(sqlite3 *db, struct db_txn *txn)
{
	/* IMMEDIATE takes the write lock now, so a busy database fails here
	 * (after the busy timeout) rather than half-way through the work. */
	int r = db_exec(db, "BEGIN IMMEDIATE");

	if (r < 0)
		return r;
	txn->db = db;
	txn->open = true;
	return 0;
}

int db_txn_commit(struct db_txn *txn)
{
	int r = db_exec(txn->db, "COMMIT");

	if (r < 0)
		return r; /* still open: the cleanup rolls it back */
	txn->open = false;
	return 0;
}

void db_txn_rollbackp(struct db_txn *txn)
{
	if (txn->open) {
		sqlite3_exec(txn->db, "ROLLBACK", NULL, NULL, NULL);
		txn->open = false;
	}
}

static int db_bindv(sqlite3_stmt *st, const char *types, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 's': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'u':
			rc = sqlite3_bind_int64(st, i + 1, (sqlite3_int64)va_arg(ap, uint64_t));
			break;
		case 'l':
			rc = sqlite3_bind_int64(st, i + 1, (sqlite3_int64)va_arg(ap, int64_t));
			break;
		default:
			rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int));
		}
	}
	return rc == SQLITE_OK ? 0 : db_errno(rc);
}

static int db_prepare_bindv(sqlite3 *db, sqlite3_stmt **out, const char *sql, const char *types,
			    va_list ap)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = db_prepare(db, sql, &st);
	if (r < 0)
		return r;
	r = db_bindv(st, types, ap);
	if (r < 0)
		return r;
	*out = TAKE_PTR(st);
	return 0;
}

int db_query(sqlite3 *db, sqlite3_stmt **out, const char *sql, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = db_prepare_bindv(db, out, sql, types, ap);
	va_end(ap);
	return r;
}

int db_run(sqlite3 *db, bool must_change, const char *sql, const char *types, ...)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	va_list ap;
	int r, rc;

	va_start(ap, types);
	r = db_prepare_bindv(db, &st, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc) ?: -EIO;
	if (must_change && sqlite3_changes(db) == 0)
		return -ENOENT;
	return 0;
}

int db_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_errno(rc) ?: -EIO;
}

char *db_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? xstrdup((const char *)t) : NULL;
}

int db_shared_open(struct db_shared *s, const char *path, const char *const *migrations,
		   size_t n)
{
	int r;

	s->db = NULL;
	pthread_mutex_init(&s->lock, NULL);
	r = db_open(path, &s->db);
	if (r >= 0)
		r = db_migrate(s->db, migrations, n);
	if (r < 0)
		db_shared_close(s);
	return r;
}

void db_shared_close(struct db_shared *s)
{
	db_closep(&s->db);
	pthread_mutex_destroy(&s->lock);
}
