/* SPDX-License-Identifier: MIT */
/*
 * SQLite helpers: open with the settings every daemon wants (WAL,
 * foreign keys, busy timeout), versioned migrations through
 * PRAGMA user_version, statements and transactions released by cleanup
 * attributes.
 */
#pragma once

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "util.h"

/*
 * A connection that worker threads share: each store function is one unit
 * under the mutex, so a multi-statement change never interleaves with
 * another thread's statements.
 *   DB_LOCKED(&s) { ... }
 */
struct db_shared {
	sqlite3 *db;
	pthread_mutex_t lock;
};
/* Open (creating) path and bring it to the migrations' version. */
int db_shared_open(struct db_shared *s, const char *path, const char *const *migrations,
		   size_t n);
void db_shared_close(struct db_shared *s);
#define DB_LOCKED(s)                                                     \
	for (int _once = (pthread_mutex_lock(&(s)->lock), 1); _once; \
	     _once = (pthread_mutex_unlock(&(s)->lock), 0))

/* Open (creating) the database file and apply the standard pragmas. */
int db_open(const char *path, sqlite3 **out);
void db_closep(sqlite3 **db);
#define _cleanup_db_ _cleanup_(db_closep)

/*
 * Bring the schema to version n: migrations[i] moves it from version i to
 * i + 1. Each step runs in its own transaction together with the new
 * user_version, so a failure leaves the previous version intact. A database
 * newer than this program is refused with -EPROTO.
 */
int db_migrate(sqlite3 *db, const char *const *migrations, size_t n);

int db_exec(sqlite3 *db, const char *sql);
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
void db_finalizep(sqlite3_stmt **stmt);
#define _cleanup_stmt_ _cleanup_(db_finalizep)

/*
 * Prepare sql and bind its parameters from types, one letter each:
 * 's' a const char * (NULL binds NULL), 'u' a uint64_t, 'l' an int64_t,
 * 'i' an int. 0 or a negative errno.
 */
int db_query(sqlite3 *db, sqlite3_stmt **out, const char *sql, const char *types, ...);
/* Prepare, bind, run a statement that returns no rows. -EEXIST on a
 * constraint violation; -ENOENT when must_change and no row changed. */
int db_run(sqlite3 *db, bool must_change, const char *sql, const char *types, ...);
/* Step once: 1 with a row, 0 at the end, or a negative errno. */
int db_step(sqlite3_stmt *st);
/* A text column as a malloc'd string; NULL stays NULL. */
char *db_column_dup(sqlite3_stmt *st, int col);

/* Map an SQLite result code to a negative errno (for 0 / -errno returns). */
int db_errno(int rc);

/*
 * A transaction that rolls back unless committed:
 *   _cleanup_txn_ struct db_txn txn = DB_TXN_INIT;
 *   r = db_txn_begin(db, &txn); ... r = db_txn_commit(&txn);
 */
struct db_txn {
	sqlite3 *db;
	bool open;
};
#define DB_TXN_INIT { NULL, false }
int db_txn_begin(sqlite3 *db, struct db_txn *txn);
int db_txn_commit(struct db_txn *txn);
void db_txn_rollbackp(struct db_txn *txn);
#define _cleanup_txn_ _cleanup_(db_txn_rollbackp)
