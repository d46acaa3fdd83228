/* SPDX-License-Identifier: MIT */
/*
 * mvirt-log-bench: throughput and latency of mvirt-log, and the naive
 * alternative it is compared with.
 *
 *   mvirt-log-bench ingest --endpoint EP --writers N [--seconds S] [--count C]
 *       N threads, each with its own connection, making sequential Log calls
 *       with a realistic entry (~80-byte message, component "vmm", two
 *       related UUIDs). Prints entries/s. --count C: C calls per writer, then
 *       exit (to exercise a daemon before reading its RSS).
 *
 *   mvirt-log-bench naive --db PATH [--seconds S]
 *       The alternative: the same entries written by a plain SQLite loop, one
 *       transaction per entry (BEGIN; INSERT entry; INSERT 2 links; COMMIT),
 *       same schema, WAL, synchronous=NORMAL, no RPC at all: what a daemon
 *       that commits each request on its own could reach at best.
 *
 *   mvirt-log-bench fill --db PATH --entries N --objects M --objects-out FILE
 *       Writes N entries into a new database through log_store_insert (the
 *       daemon's own store code, so the file is exactly what mvirt-log writes),
 *       in batches of 1000000, timestamps spread over the past week, each entry
 *       linked to two of M objects (a "VM" and its paired "disk"). The object
 *       ids go to FILE, one per line.
 *
 *   mvirt-log-bench query --endpoint EP --objects FILE [--queries Q] [--limit L]
 *       Q queries "the newest L entries of object X" (Query object_id=X,
 *       limit=L) for random objects of FILE through our client; latency of each
 *       from opening the call to its end (all L entries received).
 *
 * Every mode prints one line of key=value pairs.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "client.h"
#include "db.h"
#include "ids.h"
#include "log.pb-c.h"
#include "store.h"
#include "timefmt.h"

#define LOG_PATH "/mvirt.log.LogService/Log"
#define QUERY_PATH "/mvirt.log.LogService/Query"
#define CALL_TIMEOUT_MS 30000

static const char *const verbs[] = { "started", "stopped", "rebooted", "migrated", "paused",
				     "resumed" };

/* A realistic audit message of about 80 bytes. */
static void make_message(char *out, size_t n, unsigned seq, const char *vm)
{
	snprintf(out, n, "VM web-%04u %s by uid=1000 via mvirt CLI (vm %.8s, %u vCPU, %u MiB)",
		 seq % 10000, verbs[seq % ARRAY_SIZE(verbs)], vm, 1 + seq % 8,
		 512u << (seq % 5));
}

struct opts {
	const char *endpoint, *db, *objects_file;
	int writers;
	double seconds, warmup;
	long count;
	long entries, objects;
	int queries, limit;
};

/* ---- ingest --------------------------------------------------------------- */

struct writer {
	struct bench_tally t;
	const struct opts *o;
};

static pthread_barrier_t ready, go;
static double t_end;

static int log_call(struct grpc_client *c, struct writer *w, unsigned seq, char *const ids[2])
{
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT;
	Mvirt__Log__LogRequest req = MVIRT__LOG__LOG_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct grpc_status st = { 0 };
	char msg[128];
	int r;

	make_message(msg, sizeof(msg), seq, ids[0]);
	e.message = msg;
	e.level = MVIRT__LOG__LOG_LEVEL__AUDIT;
	e.component = "vmm";
	e.n_related_object_ids = 2;
	e.related_object_ids = (char **)ids;
	req.entry = &e;
	r = grpc_client_unary(c, LOG_PATH, &req.base, &mvirt__log__log_response__descriptor,
			      CALL_TIMEOUT_MS, &resp, &st);
	if (r < 0 || st.code != 0 || !resp || !((Mvirt__Log__LogResponse *)resp)->id[0]) {
		if (!w->t.err[0])
			snprintf(w->t.err, sizeof(w->t.err), "Log failed: r=%d code=%d %s", r, st.code,
				 st.message ? st.message : "");
		r = -1;
	} else {
		r = 0;
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	grpc_status_clear(&st);
	return r;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct grpc_client *c = NULL;
	char vm[UUID_STR_LEN], disk[UUID_STR_LEN];
	char *ids[2] = { vm, disk };
	unsigned seq = 0;
	int r;

	uuid_v4(vm);
	uuid_v4(disk);
	r = grpc_client_connect(w->o->endpoint, 5000, &c);
	if (r < 0) {
		snprintf(w->t.err, sizeof(w->t.err), "connect %s: %s", w->o->endpoint, strerror(-r));
		w->t.errors++;
	}
	if (w->o->count > 0) {
		for (long i = 0; c && i < w->o->count; i++)
			if (log_call(c, w, seq++, ids) < 0)
				w->t.errors++;
			else
				w->t.calls++;
		grpc_client_free(c);
		return NULL;
	}
	double warm_end = bench_now() + w->o->warmup;
	while (c && bench_now() < warm_end)
		if (log_call(c, w, seq++, ids) < 0) {
			w->t.errors++;
			break;
		}
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&go);
	while (c && w->t.errors == 0) {
		double t0 = bench_now();
		if (t0 >= t_end)
			break;
		if (log_call(c, w, seq++, ids) < 0) {
			w->t.errors++;
			break;
		}
		double t1 = bench_now();
		w->t.calls++;
		w->t.last_done = t1;
		samples_add(&w->t.lat, (t1 - t0) * 1e6);
	}
	grpc_client_free(c);
	return NULL;
}

static int cmd_ingest(const struct opts *o)
{
	int n = o->writers;
	struct writer *w = calloc((size_t)n, sizeof(*w));

	if (!o->endpoint || n < 1)
		return 2;
	pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
	pthread_barrier_init(&go, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		w[i].o = o;
		pthread_create(&w[i].t.tid, NULL, writer_main, &w[i]);
	}
	double t_start = 0;
	if (o->count == 0) {
		pthread_barrier_wait(&ready);
		t_start = bench_now();
		t_end = t_start + o->seconds;
		pthread_barrier_wait(&go);
	}
	struct bench_tally sum, **tallies = calloc((size_t)n, sizeof(*tallies));
	for (int i = 0; i < n; i++)
		tallies[i] = &w[i].t;
	bench_tally_join(tallies, n, t_start, &sum);
	free(tallies);
	struct samples all = sum.lat;
	long total = sum.calls, errors = sum.errors;
	double t_stop = sum.last_done;
	if (sum.err[0])
		fprintf(stderr, "mvirt-log-bench: %s\n", sum.err);
	if (o->count > 0) {
		printf("ingest calls=%ld errors=%ld\n", total, errors);
	} else {
		double el = t_stop - t_start;
		printf("ingest writers=%d entries=%ld seconds=%.3f rate=%.1f p50_us=%.1f p90_us=%.1f "
		       "p99_us=%.1f errors=%ld\n",
		       n, total, el, el > 0 ? (double)total / el : 0.0, samples_pct(&all, 50),
		       samples_pct(&all, 90), samples_pct(&all, 99), errors);
	}
	samples_free(&all);
	free(w);
	return errors ? 1 : 0;
}

/* ---- naive SQLite loop ------------------------------------------------------ */

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		fprintf(stderr, "mvirt-log-bench: prepare %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int step(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "mvirt-log-bench: step: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int cmd_naive(const struct opts *o)
{
	struct log_store *store = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *begin = NULL, *commit = NULL, *ins = NULL, *link = NULL;
	char vm[UUID_STR_LEN], disk[UUID_STR_LEN], msg[128];
	const char *origin = "unix uid=0 gid=0 pid=4242";
	long n = 0;
	int r = 1;

	if (!o->db)
		return 2;
	/* the daemon's schema, created by its own code */
	if (log_store_open(o->db, &store) < 0)
		return 1;
	log_store_close(store);
	/* db_open: the daemon's settings (WAL, synchronous=NORMAL, foreign keys) */
	if (db_open(o->db, &db) < 0)
		return 1;
	if (prep(db, "BEGIN", &begin) < 0 || prep(db, "COMMIT", &commit) < 0 ||
	    prep(db,
		 "INSERT INTO logs (timestamp_ns, message, level, component, origin) "
		 "VALUES (?1, ?2, ?3, ?4, ?5)",
		 &ins) < 0 ||
	    prep(db, "INSERT OR IGNORE INTO log_objects (object_id, timestamp_ns, log_id) "
		     "VALUES (?1, ?2, ?3)",
		 &link) < 0)
		goto out;
	uuid_v4(vm);
	uuid_v4(disk);
	const char *ids[2] = { strcmp(vm, disk) < 0 ? vm : disk, strcmp(vm, disk) < 0 ? disk : vm };

	double t_start = bench_now(), t_stop = t_start, stop_at = t_start + o->seconds;
	while ((t_stop = bench_now()) < stop_at) {
		int64_t ts = now_realtime_ns();
		make_message(msg, sizeof(msg), (unsigned)n, vm);
		if (step(db, begin) < 0)
			goto out;
		sqlite3_bind_int64(ins, 1, ts);
		sqlite3_bind_text(ins, 2, msg, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 3, MVIRT__LOG__LOG_LEVEL__AUDIT);
		sqlite3_bind_text(ins, 4, "vmm", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, origin, -1, SQLITE_STATIC);
		if (step(db, ins) < 0)
			goto out;
		int64_t id = sqlite3_last_insert_rowid(db);
		for (int i = 0; i < 2; i++) {
			sqlite3_bind_text(link, 1, ids[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(link, 2, ts);
			sqlite3_bind_int64(link, 3, id);
			if (step(db, link) < 0)
				goto out;
		}
		if (step(db, commit) < 0)
			goto out;
		n++;
	}
	double el = t_stop - t_start;
	printf("naive entries=%ld seconds=%.3f rate=%.1f\n", n, el, el > 0 ? (double)n / el : 0.0);
	r = 0;
out:
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_finalize(ins);
	sqlite3_finalize(link);
	sqlite3_close_v2(db);
	return r;
}

/* ---- fill ---------------------------------------------------------------- */

#define FILL_BATCH 1000000

/*
 * Registered with sqlite3_auto_extension, so it runs on the store's own
 * connection when log_store_open opens it: a page cache that holds the whole
 * database (one transaction, each page written once), statement journals in
 * memory (log_store_insert's per-entry SAVEPOINT otherwise spills its page
 * copies to a temporary file, 2 pwrite()s per page per entry, in a
 * transaction this big) and no fsync. None of this changes what is written,
 * only how fast: 1 000 000 entries in about 15 s instead of about 50 s.
 */
static int fill_tune(sqlite3 *db, const char **err, const void *api)
{
	(void)err, (void)api;
	return sqlite3_exec(db,
			    "PRAGMA cache_size=-2000000; PRAGMA temp_store=MEMORY; "
			    "PRAGMA synchronous=OFF;",
			    NULL, NULL, NULL);
}

static int cmd_fill(const struct opts *o)
{
	struct log_store *store = NULL;
	long nobj = o->objects;
	char(*objs)[UUID_STR_LEN] = calloc((size_t)nobj, UUID_STR_LEN);
	Mvirt__Log__LogEntry *ents = calloc(FILL_BATCH, sizeof(*ents));
	Mvirt__Log__LogEntry **ptrs = calloc(FILL_BATCH, sizeof(*ptrs));
	char(*msgs)[128] = calloc(FILL_BATCH, 128);
	char *(*rel)[2] = calloc(FILL_BATCH, sizeof(*rel));
	const char **origins = calloc(FILL_BATCH, sizeof(*origins));
	int64_t *ids = calloc(FILL_BATCH, sizeof(*ids));
	FILE *f;
	int r;

	if (!o->db || !o->objects_file || o->entries < 1 || nobj < 2)
		return 2;
	f = fopen(o->objects_file, "w");
	if (!f) {
		perror(o->objects_file);
		return 1;
	}
	for (long i = 0; i < nobj; i++) {
		uuid_v4(objs[i]);
		fprintf(f, "%s\n", objs[i]);
	}
	fclose(f);
	sqlite3_auto_extension((void (*)(void))fill_tune);
	r = log_store_open(o->db, &store);
	if (r < 0)
		return 1;

	/* timestamps: evenly over the past week, the newest a minute ago */
	int64_t now = now_realtime_ns();
	int64_t t0 = now - 7 * 86400 * NSEC_PER_SEC, t1 = now - 60 * NSEC_PER_SEC;
	int64_t step_ns = (t1 - t0) / o->entries;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	double start = bench_now();

	for (long done = 0; done < o->entries;) {
		size_t n = (size_t)MIN((long)FILL_BATCH, o->entries - done);
		for (size_t i = 0; i < n; i++) {
			long seq = done + (long)i;
			/* xorshift: a random VM, and its paired disk half the id space away */
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			long a = (long)(rnd % (uint64_t)nobj), b = (a + nobj / 2) % nobj;
			Mvirt__Log__LogEntry *e = &ents[i];
			*e = (Mvirt__Log__LogEntry)MVIRT__LOG__LOG_ENTRY__INIT;
			make_message(msgs[i], sizeof(msgs[i]), (unsigned)seq, objs[a]);
			e->message = msgs[i];
			e->timestamp_ns = t0 + seq * step_ns;
			e->level = seq % 10 == 0 ? MVIRT__LOG__LOG_LEVEL__WARN
						 : MVIRT__LOG__LOG_LEVEL__AUDIT;
			e->component = "vmm";
			/* sorted, as the daemon stores them */
			rel[i][0] = strcmp(objs[a], objs[b]) < 0 ? objs[a] : objs[b];
			rel[i][1] = strcmp(objs[a], objs[b]) < 0 ? objs[b] : objs[a];
			e->n_related_object_ids = 2;
			e->related_object_ids = rel[i];
			ptrs[i] = e;
			origins[i] = "unix uid=0 gid=0 pid=4242";
		}
		r = log_store_insert(store, ptrs, n, origins, ids);
		if (r < 0 || ids[n - 1] <= 0) {
			fprintf(stderr, "mvirt-log-bench: log_store_insert failed: %s\n", strerror(-r));
			log_store_close(store);
			return 1;
		}
		done += (long)n;
	}
	log_store_close(store);
	sqlite3_reset_auto_extension();
	printf("fill entries=%ld objects=%ld seconds=%.3f\n", o->entries, nobj, bench_now() - start);
	free(objs);
	free(ents);
	free(ptrs);
	free(msgs);
	free(rel);
	free(origins);
	free(ids);
	return 0;
}

/* ---- query --------------------------------------------------------------- */

/* One query; returns the number of entries received, or -1. */
static long one_query(struct grpc_client *c, const char *object, int limit, char *err, size_t errlen)
{
	Mvirt__Log__QueryRequest req = MVIRT__LOG__QUERY_REQUEST__INIT;
	struct grpc_stream *s = NULL;
	ProtobufCMessage *m;
	long n = 0;
	int r;

	req._object_id_case = MVIRT__LOG__QUERY_REQUEST___OBJECT_ID_OBJECT_ID;
	req.object_id = (char *)object;
	req.limit = (uint32_t)limit;
	r = grpc_stream_open(c, QUERY_PATH, &mvirt__log__log_entry__descriptor, CALL_TIMEOUT_MS, &s);
	if (r == 0)
		r = grpc_stream_send(s, &req.base);
	if (r == 0)
		r = grpc_stream_close_send(s);
	while (r == 0 && (r = grpc_stream_recv(s, &m, -1)) == 1) {
		const Mvirt__Log__LogEntry *e = (const Mvirt__Log__LogEntry *)m;
		bool linked = false;
		for (size_t i = 0; i < e->n_related_object_ids; i++)
			linked |= strcmp(e->related_object_ids[i], object) == 0;
		if (!linked) {
			snprintf(err, errlen, "entry %s is not linked to %s", e->id, object);
			n = -1;
		} else if (n >= 0) {
			n++;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		r = 0;
	}
	if (r < 0 || grpc_stream_status(s)->code != 0) {
		snprintf(err, errlen, "Query failed: r=%d code=%d %s", r,
			 s ? grpc_stream_status(s)->code : -1,
			 s && grpc_stream_status(s)->message ? grpc_stream_status(s)->message : "");
		n = -1;
	}
	grpc_stream_free(s);
	return n;
}

static int cmd_query(const struct opts *o)
{
	char **objs = NULL, line[256];
	size_t nobj = 0, cap = 0;
	struct grpc_client *c = NULL;
	struct samples lat = { 0 };
	char err[256] = "";
	long entries = 0;
	FILE *f;
	int r;

	if (!o->endpoint || !o->objects_file)
		return 2;
	f = fopen(o->objects_file, "r");
	if (!f) {
		perror(o->objects_file);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (nobj == cap) {
			cap = cap ? cap * 2 : 1024;
			objs = realloc(objs, cap * sizeof(char *));
		}
		objs[nobj++] = strdup(line);
	}
	fclose(f);
	if (nobj == 0)
		return 1;
	r = grpc_client_connect(o->endpoint, 5000, &c);
	if (r < 0) {
		fprintf(stderr, "mvirt-log-bench: connect %s: %s\n", o->endpoint, strerror(-r));
		return 1;
	}
	uint64_t rnd = (uint64_t)bench_now() * 2654435761u | 1;
	int warm = 20;
	for (int i = -warm; i < o->queries; i++) {
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		const char *obj = objs[rnd % nobj];
		double t0 = bench_now();
		long n = one_query(c, obj, o->limit, err, sizeof(err));
		double t1 = bench_now();
		if (n != o->limit) {
			fprintf(stderr, "mvirt-log-bench: query of %s: %ld entries, expected %d %s\n",
				obj, n, o->limit, err);
			return 1;
		}
		if (i >= 0) {
			samples_add(&lat, (t1 - t0) * 1e6);
			entries += n;
		}
	}
	grpc_client_free(c);
	double sum = 0;
	for (size_t i = 0; i < lat.n; i++)
		sum += lat.v[i];
	printf("query queries=%zu limit=%d entries=%ld mean_us=%.1f p50_us=%.1f p90_us=%.1f "
	       "p99_us=%.1f max_us=%.1f\n",
	       lat.n, o->limit, entries, sum / (double)lat.n, samples_pct(&lat, 50),
	       samples_pct(&lat, 90), samples_pct(&lat, 99), samples_pct(&lat, 100));
	samples_free(&lat);
	for (size_t i = 0; i < nobj; i++)
		free(objs[i]);
	free(objs);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: mvirt-log-bench ingest --endpoint EP --writers N [--seconds S] [--count C]\n"
		"       mvirt-log-bench naive --db PATH [--seconds S]\n"
		"       mvirt-log-bench fill --db PATH --entries N --objects M --objects-out FILE\n"
		"       mvirt-log-bench query --endpoint EP --objects FILE [--queries Q] [--limit L]\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "writers", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "count", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "entries", required_argument, NULL, 'n' },
		{ "objects", required_argument, NULL, 'o' },
		{ "objects-out", required_argument, NULL, 'O' },
		{ "queries", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .writers = 1, .seconds = 2, .warmup = 0.3, .entries = 1000000,
			  .objects = 1000, .queries = 200, .limit = 100 };
	const char *cmd;
	int opt;

	if (argc < 2) {
		usage();
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'e': o.endpoint = optarg; break;
		case 'w': o.writers = atoi(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		case 'W': o.warmup = atof(optarg); break;
		case 'c': o.count = atol(optarg); break;
		case 'd': o.db = optarg; break;
		case 'n': o.entries = atol(optarg); break;
		case 'o':
			/* --objects: a count for fill, a file for query */
			if (strcmp(cmd, "query") == 0)
				o.objects_file = optarg;
			else
				o.objects = atol(optarg);
			break;
		case 'O': o.objects_file = optarg; break;
		case 'q': o.queries = atoi(optarg); break;
		case 'l': o.limit = atoi(optarg); break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	int r = 2;
	if (strcmp(cmd, "ingest") == 0)
		r = cmd_ingest(&o);
	else if (strcmp(cmd, "naive") == 0)
		r = cmd_naive(&o);
	else if (strcmp(cmd, "fill") == 0)
		r = cmd_fill(&o);
	else if (strcmp(cmd, "query") == 0)
		r = cmd_query(&o);
	if (r == 2)
		usage();
	return r;
}
