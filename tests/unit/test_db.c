/* SPDX-License-Identifier: MIT */
/* lib/common/db.c: open settings, migrations, transactions, on a real file. */
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "tap.h"

static char dir[64], path[128];

/* The single integer a query returns, or -999 on any error. */
static long long query_int(sqlite3 *db, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -999;
	if (sqlite3_step(st) != SQLITE_ROW)
		return -999;
	return sqlite3_column_int64(st, 0);
}

static bool table_exists(sqlite3 *db, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
}

static void test_open(void)
{
	_cleanup_db_ sqlite3 *db = NULL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	CHECK_INT(db_open(path, &db), 0);
	CHECK(db != NULL);
	if (!db)
		return;
	CHECK(access(path, F_OK) == 0);
	CHECK_INT(db_prepare(db, "PRAGMA journal_mode", &st), 0);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	db_finalizep(&st);
	CHECK(st == NULL);
	CHECK_INT(query_int(db, "PRAGMA foreign_keys"), 1);
	CHECK_INT(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
	CHECK(query_int(db, "PRAGMA busy_timeout") > 0);
	CHECK_INT(query_int(db, "PRAGMA user_version"), 0);

	/* foreign keys are enforced, not only declared */
	CHECK_INT(db_exec(db, "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
			      "CREATE TABLE child(p INTEGER REFERENCES parent(id));"), 0);
	CHECK_INT(db_exec(db, "INSERT INTO child VALUES (7)"), -EEXIST);
	CHECK_INT(db_exec(db, "INSERT INTO parent VALUES (7); INSERT INTO child VALUES (7)"), 0);
	CHECK_INT(db_exec(db, "DELETE FROM parent"), -EEXIST);
	CHECK_INT(db_exec(db, "DROP TABLE child; DROP TABLE parent"), 0);

	/* errors map to errnos */
	CHECK(db_exec(db, "NOT SQL AT ALL") < 0);
	CHECK(db_prepare(db, "SELECT * FROM no_such_table", &(sqlite3_stmt *){ NULL }) < 0);
	CHECK_INT(db_errno(SQLITE_OK), 0);
	CHECK_INT(db_errno(SQLITE_DONE), 0);
	CHECK_INT(db_errno(SQLITE_BUSY), -EBUSY);
	CHECK_INT(db_errno(SQLITE_CONSTRAINT_UNIQUE), -EEXIST);
	CHECK_INT(db_errno(SQLITE_CANTOPEN), -ENOENT);
	CHECK_INT(db_errno(SQLITE_CORRUPT), -EBADMSG);
	CHECK_INT(db_errno(SQLITE_IOERR_WRITE), -EIO);

	/* a path that cannot be created */
	_cleanup_db_ sqlite3 *nodb = NULL;
	char bad[192];
	snprintf(bad, sizeof(bad), "%s/missing/dir/x.db", dir);
	CHECK(db_open(bad, &nodb) < 0);
	CHECK(nodb == NULL);
}

static const char *const migrations[] = {
	"CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
	("CREATE TABLE b (id INTEGER PRIMARY KEY, a INTEGER REFERENCES a(id));"
	 "CREATE INDEX b_a ON b(a);"),
	"INSERT INTO a (v) VALUES ('seed');",
	"ALTER TABLE a ADD COLUMN w INTEGER NOT NULL DEFAULT 0;",
};

static void test_migrate(void)
{
	{
		_cleanup_db_ sqlite3 *db = NULL;
		CHECK_INT(db_open(path, &db), 0);
		CHECK_INT(db_migrate(db, migrations, 3), 0);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 3);
		CHECK(table_exists(db, "a"));
		CHECK(table_exists(db, "b"));
		CHECK(table_exists(db, "b_a"));
		CHECK_INT(query_int(db, "SELECT count(*) FROM a"), 1);
		/* again on the same connection: nothing to do */
		CHECK_INT(db_migrate(db, migrations, 3), 0);
		CHECK_INT(query_int(db, "SELECT count(*) FROM a"), 1);
		CHECK_INT(sqlite3_get_autocommit(db), 1);
	}
	{
		/* reopened: idempotent, then one more step applies only that step */
		_cleanup_db_ sqlite3 *db = NULL;
		CHECK_INT(db_open(path, &db), 0);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 3);
		CHECK_INT(db_migrate(db, migrations, 3), 0);
		CHECK_INT(query_int(db, "SELECT count(*) FROM a"), 1);
		CHECK_INT(db_migrate(db, migrations, 4), 0);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 4);
		CHECK_INT(query_int(db, "SELECT count(*) FROM a"), 1);
		CHECK_INT(query_int(db, "SELECT w FROM a"), 0);
	}
	{
		/* a newer schema than the program knows is refused, untouched */
		_cleanup_db_ sqlite3 *db = NULL;
		CHECK_INT(db_open(path, &db), 0);
		CHECK_INT(db_migrate(db, migrations, 3), -EPROTO);
		CHECK_INT(db_migrate(db, migrations, 0), -EPROTO);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 4);
		CHECK(table_exists(db, "a"));
	}
	{
		/* a failing step: the previous version stays, nothing of the step
		 * remains (not even the statements before the failing one), and the
		 * connection is not left inside a transaction */
		const char *const failing[] = {
			migrations[0], migrations[1], migrations[2], migrations[3],
			("CREATE TABLE partial1 (x);"
			 "INSERT INTO a (v) VALUES ('partial');"
			 "CREATE TABLE partial2 (y);"
			 "INSERT INTO no_such_table VALUES (1);"
			 "CREATE TABLE never (z);"),
		};
		_cleanup_db_ sqlite3 *db = NULL;
		CHECK_INT(db_open(path, &db), 0);
		CHECK(db_migrate(db, failing, 5) < 0);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 4);
		CHECK(!table_exists(db, "partial1"));
		CHECK(!table_exists(db, "partial2"));
		CHECK(!table_exists(db, "never"));
		CHECK_INT(query_int(db, "SELECT count(*) FROM a"), 1);
		CHECK_INT(sqlite3_get_autocommit(db), 1);
		/* and a later, fixed program still migrates */
		const char *const fixed[] = {
			migrations[0], migrations[1], migrations[2], migrations[3],
			"CREATE TABLE partial1 (x);",
		};
		CHECK_INT(db_migrate(db, fixed, 5), 0);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 5);
		CHECK(table_exists(db, "partial1"));
	}
	{
		/* a failure in a middle step keeps the steps before it */
		char p2[192];
		snprintf(p2, sizeof(p2), "%s/mid.db", dir);
		static const char *const mid[] = {
			"CREATE TABLE one (x);",
			"CREATE TABLE two (x); SELECT no_such_function();",
			"CREATE TABLE three (x);",
		};
		_cleanup_db_ sqlite3 *db = NULL;
		CHECK_INT(db_open(p2, &db), 0);
		CHECK(db_migrate(db, mid, 3) < 0);
		CHECK_INT(query_int(db, "PRAGMA user_version"), 1);
		CHECK(table_exists(db, "one"));
		CHECK(!table_exists(db, "two"));
		CHECK(!table_exists(db, "three"));
		db_closep(&db);
		unlink(p2);
		char aux[200];
		snprintf(aux, sizeof(aux), "%s-wal", p2);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", p2);
		unlink(aux);
	}
	{
		/* a negative user_version is nothing this program wrote */
		_cleanup_db_ sqlite3 *db = NULL;
		CHECK_INT(db_open(path, &db), 0);
		CHECK_INT(db_exec(db, "PRAGMA user_version = -1"), 0);
		CHECK_INT(db_migrate(db, migrations, 4), -EPROTO);
		CHECK_INT(db_exec(db, "PRAGMA user_version = 5"), 0);
	}
}

static int insert_in_scope(sqlite3 *db, const char *v, bool commit)
{
	_cleanup_txn_ struct db_txn txn = DB_TXN_INIT;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = db_txn_begin(db, &txn);
	if (r < 0)
		return r;
	CHECK(txn.open);
	CHECK_INT(sqlite3_get_autocommit(db), 0);
	r = db_prepare(db, "INSERT INTO a (v) VALUES (?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	if (commit) {
		r = db_txn_commit(&txn);
		CHECK(!txn.open);
		return r;
	}
	return 0; /* scope exit without commit */
}

static void test_txn(void)
{
	_cleanup_db_ sqlite3 *db = NULL;

	CHECK_INT(db_open(path, &db), 0);
	long long before = query_int(db, "SELECT count(*) FROM a");
	CHECK(before >= 1);

	CHECK_INT(insert_in_scope(db, "rolled back", false), 0);
	CHECK_INT(sqlite3_get_autocommit(db), 1);
	CHECK_INT(query_int(db, "SELECT count(*) FROM a"), before);
	CHECK_INT(query_int(db, "SELECT count(*) FROM a WHERE v = 'rolled back'"), 0);

	CHECK_INT(insert_in_scope(db, "kept", true), 0);
	CHECK_INT(sqlite3_get_autocommit(db), 1);
	CHECK_INT(query_int(db, "SELECT count(*) FROM a WHERE v = 'kept'"), 1);

	/* committed data is visible to another connection; rolled back is not */
	{
		_cleanup_db_ sqlite3 *other = NULL;
		CHECK_INT(db_open(path, &other), 0);
		CHECK_INT(query_int(other, "SELECT count(*) FROM a"), before + 1);
	}

	/* a second writer waits, then fails with -EBUSY rather than corrupting */
	{
		_cleanup_db_ sqlite3 *other = NULL;
		_cleanup_txn_ struct db_txn t1 = DB_TXN_INIT;
		_cleanup_txn_ struct db_txn t2 = DB_TXN_INIT;
		CHECK_INT(db_open(path, &other), 0);
		sqlite3_busy_timeout(other, 10);
		CHECK_INT(db_txn_begin(db, &t1), 0);
		CHECK_INT(db_txn_begin(other, &t2), -EBUSY);
		CHECK(!t2.open);
	}
	CHECK_INT(sqlite3_get_autocommit(db), 1);

	/* an unused transaction variable is harmless at scope exit */
	{
		_cleanup_txn_ struct db_txn unused = DB_TXN_INIT;
		(void)unused;
	}
	/* a failed commit stays open and is rolled back by the cleanup */
	{
		_cleanup_txn_ struct db_txn t = DB_TXN_INIT;
		CHECK_INT(db_exec(db, "CREATE TABLE deferred_parent (id INTEGER PRIMARY KEY);"
				      "CREATE TABLE deferred_child (p INTEGER REFERENCES "
				      "deferred_parent(id) DEFERRABLE INITIALLY DEFERRED)"), 0);
		CHECK_INT(db_txn_begin(db, &t), 0);
		CHECK_INT(db_exec(db, "INSERT INTO deferred_child VALUES (1)"), 0);
		CHECK(db_txn_commit(&t) < 0); /* the deferred foreign key fails at COMMIT */
		CHECK(t.open);
	}
	CHECK_INT(sqlite3_get_autocommit(db), 1);
	CHECK_INT(query_int(db, "SELECT count(*) FROM deferred_child"), 0);
}

int main(void)
{
	char aux[160];

	snprintf(dir, sizeof(dir), "%s/mvirt-test-db-XXXXXX",
		 getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/test.db", dir);

	test_open();
	test_migrate();
	test_txn();

	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	CHECK_INT(rmdir(dir), 0);
	return test_done();
}
