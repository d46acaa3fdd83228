/* SPDX-License-Identifier: MIT */
/*
 * log/store.c on a real SQLite file: insert with origins, paging in both
 * orders, the n-th newest key, paging by id, filters, the live-match
 * predicate and pruning by age and by count.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static char dir[64], path[128];

struct seen {
	unsigned n;
	int64_t ids[64];
	char first_message[64];
};

static void collect(const Mvirt__Log__LogEntry *e, void *ud)
{
	struct seen *s = ud;

	if (s->n == 0)
		snprintf(s->first_message, sizeof(s->first_message), "%s", e->message);
	if (s->n < 64)
		s->ids[s->n] = strtoll(e->id, NULL, 10);
	s->n++;
}

static struct log_filter any(void)
{
	return (struct log_filter){ .level_mask = ~0u, .start_ns = INT64_MIN,
				    .end_ns = INT64_MAX, .max_id = INT64_MAX };
}

/* Insert one entry; returns its id (0 on failure). */
static int64_t put(struct log_store *s, int64_t ts, const char *msg, const char *component,
		   int level, char **objects, size_t nobjects)
{
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT;
	Mvirt__Log__LogEntry *ep = &e;
	const char *origin = "uid=0 pid=1";
	int64_t id = 0;

	e.timestamp_ns = ts;
	e.message = (char *)msg;
	e.component = (char *)component;
	e.level = level;
	e.related_object_ids = objects;
	e.n_related_object_ids = nobjects;
	if (log_store_insert(s, &ep, 1, &origin, &id) < 0)
		return 0;
	return id;
}

static void test_insert_and_page(struct log_store *s)
{
	char *vm1[] = { "vm-1", "disk-1" }, *vm2[] = { "vm-2" };
	struct log_filter f = any();
	struct log_key key = { INT64_MIN, INT64_MIN };
	struct seen seen = { 0 };
	int64_t last = -1, a, b, c;

	CHECK_INT(log_store_last_id(s, &last), 0);
	CHECK_INT(last, 0);

	a = put(s, 3000, "third by time", "vmm", 2, vm1, 2);
	b = put(s, 1000, "first by time", "zfs", 1, vm2, 1);
	c = put(s, 2000, "second by time", "vmm", 3, NULL, 0);
	CHECK(a > 0 && b > a && c > b);
	CHECK_INT(log_store_last_id(s, &last), 0);
	CHECK_INT(last, c);

	/* ascending by time, two per page */
	CHECK_INT(log_store_page(s, &f, false, &key, 2, collect, &seen), 2);
	CHECK_INT(seen.n, 2);
	CHECK_INT(seen.ids[0], b);
	CHECK_INT(seen.ids[1], c);
	CHECK_STR(seen.first_message, "first by time");
	CHECK_INT(log_store_page(s, &f, false, &key, 2, collect, &seen), 1);
	CHECK_INT(seen.ids[2], a);
	CHECK_INT(log_store_page(s, &f, false, &key, 2, collect, &seen), 0);

	/* descending from the newest */
	memset(&seen, 0, sizeof(seen));
	key = (struct log_key){ INT64_MAX, INT64_MAX };
	CHECK_INT(log_store_page(s, &f, true, &key, 10, collect, &seen), 3);
	CHECK_INT(seen.ids[0], a);
	CHECK_INT(seen.ids[2], b);

	/* the 2nd newest is c (ts 2000) */
	CHECK_INT(log_store_nth_newest(s, &f, 2, &key), 0);
	CHECK_INT(key.ts, 2000);
	CHECK_INT(key.id, c);
	CHECK_INT(log_store_nth_newest(s, &f, 4, &key), -ENOENT);

	/* by object id */
	f.object_id = "disk-1";
	memset(&seen, 0, sizeof(seen));
	key = (struct log_key){ INT64_MIN, INT64_MIN };
	CHECK_INT(log_store_page(s, &f, false, &key, 10, collect, &seen), 1);
	CHECK_INT(seen.ids[0], a);

	/* by component and level */
	f = any();
	f.component = "vmm";
	f.level_mask = 1u << 3;
	memset(&seen, 0, sizeof(seen));
	key = (struct log_key){ INT64_MIN, INT64_MIN };
	CHECK_INT(log_store_page(s, &f, false, &key, 10, collect, &seen), 1);
	CHECK_INT(seen.ids[0], c);

	/* by time, inclusive bounds */
	f = any();
	f.start_ns = 1000;
	f.end_ns = 2000;
	memset(&seen, 0, sizeof(seen));
	key = (struct log_key){ INT64_MIN, INT64_MIN };
	CHECK_INT(log_store_page(s, &f, false, &key, 10, collect, &seen), 2);

	/* by id, with a snapshot bound */
	f = any();
	f.max_id = b;
	int64_t after = 0;
	memset(&seen, 0, sizeof(seen));
	CHECK_INT(log_store_page_by_id(s, &f, &after, 10, collect, &seen), 2);
	CHECK_INT(after, b);
	CHECK_INT(log_store_page_by_id(s, &f, &after, 10, collect, &seen), 0);
}

static void test_now_and_filter_match(struct log_store *s)
{
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT;
	Mvirt__Log__LogEntry *ep = &e;
	char *objs[] = { "vm-9" };
	const char *origin = "tcp 127.0.0.1:5000";
	struct log_filter f = any();
	int64_t id = 0;

	e.message = "stamped by the store";
	e.component = "cli";
	e.related_object_ids = objs;
	e.n_related_object_ids = 1;
	CHECK_INT(log_store_insert(s, &ep, 1, &origin, &id), 0);
	CHECK(id > 0);
	CHECK(e.timestamp_ns > 1700000000LL * 1000000000LL); /* "now" written back */

	CHECK(log_filter_match(&f, &e, id));
	f.object_id = "vm-9";
	CHECK(log_filter_match(&f, &e, id));
	f.object_id = "vm-10";
	CHECK(!log_filter_match(&f, &e, id));
	f = any();
	f.component = "vmm";
	CHECK(!log_filter_match(&f, &e, id));
	f = any();
	f.level_mask = 1u << 4;
	CHECK(!log_filter_match(&f, &e, id));
	f = any();
	f.max_id = id - 1;
	CHECK(!log_filter_match(&f, &e, id));
	f = any();
	f.end_ns = e.timestamp_ns - 1;
	CHECK(!log_filter_match(&f, &e, id));
}

/* A batch with an entry the database refuses: the others are stored. */
static void test_failing_entry_fails_alone(struct log_store *s)
{
	Mvirt__Log__LogEntry e[3] = { MVIRT__LOG__LOG_ENTRY__INIT, MVIRT__LOG__LOG_ENTRY__INIT,
				      MVIRT__LOG__LOG_ENTRY__INIT };
	Mvirt__Log__LogEntry *ep[3] = { &e[0], &e[1], &e[2] };
	const char *origins[3] = { "a", "b", "c" };
	int64_t ids[3] = { -1, -1, -1 };
	_cleanup_db_ sqlite3 *db = NULL;

	/* a second connection adds a trigger that refuses one message */
	CHECK_INT(db_open(path, &db), 0);
	CHECK_INT(db_exec(db, "CREATE TRIGGER poison BEFORE INSERT ON logs "
			      "WHEN NEW.message = 'poison' BEGIN SELECT RAISE(ABORT, 'no'); END"),
		  0);
	e[0].message = "before";
	e[1].message = "poison";
	e[2].message = "after";
	for (int i = 0; i < 3; i++)
		e[i].component = "vmm";
	CHECK(log_store_insert(s, ep, 3, origins, ids) < 0);
	CHECK(ids[0] > 0);
	CHECK_INT(ids[1], 0);
	CHECK(ids[2] > ids[0]);
	CHECK(e[0].timestamp_ns > 0 && e[2].timestamp_ns == e[0].timestamp_ns);
	CHECK_INT(e[1].timestamp_ns, 0);

	/* a batch of one reports the error itself */
	CHECK(log_store_insert(s, &ep[1], 1, &origins[1], &ids[1]) < 0);
	CHECK_INT(ids[1], 0);
	CHECK_INT(db_exec(db, "DROP TRIGGER poison"), 0);
}

static void test_prune(struct log_store *s)
{
	struct log_filter f = any();
	struct log_key key;
	struct seen seen = { 0 };
	int n;

	for (int i = 0; i < 20; i++)
		CHECK(put(s, 100 + i, "old", "vmm", 1, NULL, 0) > 0);

	/* by age: everything older than ts 110, in chunks of 4 */
	int total = 0;
	while ((n = log_store_prune(s, 110, 0, 4)) == 4)
		total += n;
	CHECK(n >= 0);
	total += n;
	CHECK_INT(total, 10);

	/* by count: keep the newest 5 of everything */
	total = 0;
	while ((n = log_store_prune(s, INT64_MIN, 5, 100)) == 100)
		total += n;
	CHECK(n >= 0);
	key = (struct log_key){ INT64_MIN, INT64_MIN };
	CHECK_INT(log_store_page(s, &f, false, &key, 100, collect, &seen), 5);
	CHECK_INT(log_store_prune(s, INT64_MIN, 5, 100), 0);
	/* nothing left dangles in the object index */
	CHECK_INT(log_store_nth_newest(s, &(struct log_filter){ .object_id = "vm-1",
		  .level_mask = ~0u, .start_ns = INT64_MIN, .end_ns = INT64_MAX,
		  .max_id = INT64_MAX }, 1, &key), -ENOENT);
}

static void test_reopen(void)
{
	struct log_store *s = NULL;
	int64_t last = 0, id;

	CHECK_INT(log_store_open(path, &s), 0);
	if (!s)
		return;
	CHECK_INT(log_store_last_id(s, &last), 0);
	CHECK(last > 0);
	/* AUTOINCREMENT: ids never go back, even after pruning everything */
	while (log_store_prune(s, INT64_MAX, 0, 1000) > 0)
		;
	id = put(s, 5, "after prune", "vmm", 1, NULL, 0);
	CHECK(id > last);
	log_store_close(s);
}

int main(void)
{
	struct log_store *s = NULL;

	snprintf(dir, sizeof(dir), "/tmp/mvirt-test-log-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/log.db", dir);

	CHECK_INT(log_store_open(path, &s), 0);
	if (s) {
		test_insert_and_page(s);
		test_now_and_filter_match(s);
		test_failing_entry_fails_alone(s);
		test_prune(s);
		log_store_close(s);
	}
	test_reopen();
	CHECK_INT(log_store_open("/proc/nonexistent/dir/log.db", &s) < 0, 1);

	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return test_done();
}
