/* SPDX-License-Identifier: MIT */
/*
 * LogService.
 *
 * Log: requests are validated, queued, and committed together by a
 * low-priority deferred source once the loop has read what is pending on
 * its sockets (group commit: one transaction for many entries). Each call is
 * answered only after its transaction committed, so an acknowledged entry
 * survives a daemon crash.
 *
 * Query: the backlog is read page by page (never more than a page in
 * memory, paused while the client's send queue is full). A follow query
 * records the highest id at its start; after the backlog it catches up on
 * every matching entry committed since, by id, and then goes live. The loop
 * is single-threaded, so the switch to live happens between two commits and
 * no entry is lost or sent twice.
 */
#include "service.h"

#include <limits.h>
#include <malloc.h>
#include <stdio.h>

#include "log.h"
#include "timefmt.h"
#include "validate.h"

#define COMMIT_BATCH_MAX 1024
#define QUERY_PAGE 200
#define QUERY_DEFAULT_LIMIT 100
#define QUERY_MAX_LIMIT 10000
#define FOLLOW_MAX_UNDELIVERED 10000
#define PRUNE_CHUNK 5000

enum query_phase { PHASE_BACKLOG, PHASE_CATCHUP, PHASE_LIVE };

struct query {
	struct log_service *svc;
	struct grpc_call *call;
	struct query *prev, *next; /* in svc->queries */
	struct log_filter f;
	bool descending, follow;
	enum query_phase phase;
	uint32_t remaining;   /* backlog entries still to send */
	struct log_key cursor;
	int64_t last_id;      /* catch-up/live: highest id sent or skipped */
};

struct pending_log {
	struct grpc_call *call;
	Mvirt__Log__LogEntry *entry;
	char origin[96];
};

struct log_service {
	sd_event *event;
	struct log_store *store;
	struct log_service_config cfg;
	struct grpc_service grpc;
	sd_event_source *commit_src, *retention_src;
	struct pending_log *pending;
	size_t n_pending;
	struct query *queries;
	bool stopping;
};

/* ---- Log --------------------------------------------------------------- */

static void publish(struct log_service *svc, const Mvirt__Log__LogEntry *e, int64_t id);

static void commit_pending(struct log_service *svc)
{
	size_t n = svc->n_pending;
	_cleanup_free_ Mvirt__Log__LogEntry **entries = xcalloc(n, sizeof(*entries));
	_cleanup_free_ const char **origins = xcalloc(n, sizeof(*origins));
	_cleanup_free_ int64_t *ids = xcalloc(n, sizeof(*ids));
	struct pending_log *batch = svc->pending;

	if (n == 0)
		return;
	/* detach the batch first: replies may re-enter Log through callbacks */
	svc->pending = NULL;
	svc->n_pending = 0;
	for (size_t i = 0; i < n; i++) {
		entries[i] = batch[i].entry;
		origins[i] = batch[i].origin;
	}
	log_store_insert(svc->store, entries, n, origins, ids);
	for (size_t i = 0; i < n; i++) {
		if (ids[i] > 0) {
			Mvirt__Log__LogResponse resp = MVIRT__LOG__LOG_RESPONSE__INIT;
			char idbuf[24];
			snprintf(idbuf, sizeof(idbuf), "%lld", (long long)ids[i]);
			resp.id = idbuf;
			grpc_call_reply(batch[i].call, &resp.base);
		} else {
			grpc_call_finish(batch[i].call, GRPC_INTERNAL, "Storage error");
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (ids[i] > 0) {
			char idbuf[24];
			snprintf(idbuf, sizeof(idbuf), "%lld", (long long)ids[i]);
			entries[i]->id = idbuf; /* transient: publish copies what it sends */
			publish(svc, entries[i], ids[i]);
			entries[i]->id = NULL;
		}
		grpc_call_unref(batch[i].call);
	}
	free(batch);
}

static int on_commit(sd_event_source *s, void *userdata)
{
	(void)s;
	commit_pending(userdata);
	return 0;
}

static void origin_format(const struct grpc_peer *p, char *out, size_t n)
{
	if (p->is_unix)
		snprintf(out, n, "unix uid=%u gid=%u pid=%d", (unsigned)p->uid, (unsigned)p->gid,
			 (int)p->pid);
	else
		snprintf(out, n, "tcp %s", p->addr);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Related ids sorted and without duplicates, as Query returns them; the
 * dropped duplicates are freed here since the message owns its strings. */
static void sort_related_ids(Mvirt__Log__LogEntry *e)
{
	size_t n = 0;

	if (e->n_related_object_ids < 2)
		return; /* qsort(NULL, 0, ...) is undefined: no ids means a NULL array */
	qsort(e->related_object_ids, e->n_related_object_ids, sizeof(char *), cmp_str);
	for (size_t i = 0; i < e->n_related_object_ids; i++) {
		if (n > 0 && streq(e->related_object_ids[n - 1], e->related_object_ids[i]))
			free(e->related_object_ids[i]);
		else
			e->related_object_ids[n++] = e->related_object_ids[i];
	}
	e->n_related_object_ids = n;
}

static void rpc_log(struct grpc_call *call, const ProtobufCMessage *m, void *userdata)
{
	const Mvirt__Log__LogRequest *req = (const Mvirt__Log__LogRequest *)m;
	struct log_service *svc = userdata;
	struct pending_log *p;
	char err[160];

	if (log_validate_entry(req->entry, err, sizeof(err)) < 0) {
		grpc_call_finish(call, GRPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	svc->pending = xrealloc(svc->pending, (svc->n_pending + 1) * sizeof(*svc->pending));
	p = &svc->pending[svc->n_pending++];
	p->call = grpc_call_ref(call);
	p->entry = req->entry; /* lives as long as the call */
	/* a client-supplied id is ignored (absent strings are protobuf-c's static "") */
	if (p->entry->id != protobuf_c_empty_string)
		free(p->entry->id);
	p->entry->id = NULL;
	sort_related_ids(p->entry);
	origin_format(grpc_call_peer(call), p->origin, sizeof(p->origin));
	if (svc->n_pending >= COMMIT_BATCH_MAX)
		commit_pending(svc);
	else
		sd_event_source_set_enabled(svc->commit_src, SD_EVENT_ONESHOT);
}

/* ---- Query ------------------------------------------------------------- */

static void query_free(struct query *q)
{
	struct log_service *svc = q->svc;

	if (q->prev)
		q->prev->next = q->next;
	else if (svc->queries == q)
		svc->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	grpc_call_unref(q->call);
	free(q);
}

static void query_send(const Mvirt__Log__LogEntry *e, void *userdata)
{
	struct query *q = userdata;

	grpc_call_send(q->call, &e->base);
}

static void query_fail(struct query *q, int r)
{
	grpc_call_finish(q->call, GRPC_INTERNAL, "Query failed: %s", strerror(-r));
	query_free(q);
}

static bool query_congested(const struct query *q)
{
	return grpc_call_queued_bytes(q->call) >= GRPC_CALL_LOW_WATER;
}

/* Send backlog and catch-up pages until done or the send queue is full.
 * Frees q when the call ends. */
static void query_pump(struct query *q)
{
	while (!query_congested(q)) {
		int n;
		if (q->phase == PHASE_BACKLOG) {
			uint32_t want = MIN(q->remaining, QUERY_PAGE);
			n = want ? log_store_page(q->svc->store, &q->f, q->descending, &q->cursor, want,
						  query_send, q)
				 : 0;
			if (n < 0)
				return query_fail(q, n);
			q->remaining -= (uint32_t)n;
			if ((uint32_t)n == want && q->remaining > 0)
				continue;
			if (!q->follow) {
				grpc_call_finish(q->call, GRPC_OK, NULL);
				query_free(q);
				return;
			}
			q->phase = PHASE_CATCHUP;
			q->last_id = q->f.max_id;
			q->f.max_id = INT64_MAX;
		} else if (q->phase == PHASE_CATCHUP) {
			n = log_store_page_by_id(q->svc->store, &q->f, &q->last_id, QUERY_PAGE,
						 query_send, q);
			if (n < 0)
				return query_fail(q, n);
			if (n < QUERY_PAGE)
				q->phase = PHASE_LIVE;
		} else {
			return;
		}
	}
}

static void query_on_drained(struct grpc_call *call, void *userdata)
{
	(void)call;
	query_pump(userdata);
}

static void query_on_cancel(struct grpc_call *call, void *userdata)
{
	(void)call;
	query_free(userdata);
}

static const struct grpc_call_handlers query_handlers = {
	.on_cancel = query_on_cancel,
	.on_drained = query_on_drained,
};

/* A committed entry: deliver it to every live follower it matches. */
static void publish(struct log_service *svc, const Mvirt__Log__LogEntry *e, int64_t id)
{
	for (struct query *q = svc->queries, *next; q; q = next) {
		next = q->next;
		if (q->phase != PHASE_LIVE || id <= q->last_id || !log_filter_match(&q->f, e, id))
			continue;
		q->last_id = id;
		if (grpc_call_queued_messages(q->call) >= FOLLOW_MAX_UNDELIVERED) {
			grpc_call_finish(q->call, GRPC_RESOURCE_EXHAUSTED,
					 "client too slow: more than %d undelivered entries",
					 FOLLOW_MAX_UNDELIVERED);
			query_free(q);
			continue;
		}
		grpc_call_send(q->call, &e->base);
	}
}

static void rpc_query(struct grpc_call *call, const ProtobufCMessage *m, void *userdata)
{
	const Mvirt__Log__QueryRequest *req = (const Mvirt__Log__QueryRequest *)m;
	struct log_service *svc = userdata;
	struct query *q;
	char err[160];
	int r;

	if (log_validate_query(req, err, sizeof(err)) < 0) {
		grpc_call_finish(call, GRPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (svc->stopping) {
		grpc_call_finish(call, GRPC_UNAVAILABLE, "server shutting down");
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->svc = svc;
	q->call = grpc_call_ref(call);
	q->follow = req->follow;
	q->descending = req->descending;
	q->remaining = req->limit == 0 ? QUERY_DEFAULT_LIMIT : MIN(req->limit, QUERY_MAX_LIMIT);
	if (req->_object_id_case == MVIRT__LOG__QUERY_REQUEST___OBJECT_ID_OBJECT_ID &&
	    req->object_id[0])
		q->f.object_id = req->object_id;
	if (req->_component_case == MVIRT__LOG__QUERY_REQUEST___COMPONENT_COMPONENT &&
	    req->component[0])
		q->f.component = req->component;
	q->f.start_ns = req->_start_time_ns_case ? req->start_time_ns : INT64_MIN;
	q->f.end_ns = req->_end_time_ns_case ? req->end_time_ns : INT64_MAX;
	q->f.level_mask = req->n_levels ? 0 : 0x1f;
	for (size_t i = 0; i < req->n_levels; i++)
		q->f.level_mask |= 1u << req->levels[i];
	r = log_store_last_id(svc->store, &q->f.max_id);
	if (r < 0) {
		grpc_call_finish(call, GRPC_INTERNAL, "Query failed: %s", strerror(-r));
		grpc_call_unref(call);
		free(q);
		return;
	}
	/* newest `remaining` entries: ascending starts just before the oldest of them */
	if (q->descending) {
		q->cursor = (struct log_key){ INT64_MAX, INT64_MAX };
	} else {
		struct log_key k;
		r = log_store_nth_newest(svc->store, &q->f, q->remaining, &k);
		if (r == 0)
			q->cursor = (struct log_key){ k.ts, k.id - 1 };
		else if (r == -ENOENT)
			q->cursor = (struct log_key){ INT64_MIN, INT64_MIN };
		else {
			grpc_call_finish(call, GRPC_INTERNAL, "Query failed: %s", strerror(-r));
			grpc_call_unref(call);
			free(q);
			return;
		}
	}
	q->next = svc->queries;
	if (svc->queries)
		svc->queries->prev = q;
	svc->queries = q;
	grpc_call_set_handlers(call, &query_handlers, q);
	query_pump(q);
}

/* ---- retention, shutdown --------------------------------------------------- */

static int on_retention(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct log_service *svc = userdata;
	int64_t min_ts = INT64_MIN;
	int n;

	if (svc->cfg.retention_days)
		min_ts = now_realtime_ns() - (int64_t)svc->cfg.retention_days * 86400 * NSEC_PER_SEC;
	n = log_store_prune(svc->store, min_ts, svc->cfg.max_entries, PRUNE_CHUNK);
	if (n < 0)
		log_warning_errno(n, "log: retention failed");
	else if (n > 0)
		log_info("log: retention removed %d entries", n);
	/* more to delete: continue soon, in chunks, so calls are served meanwhile */
	uint64_t next = n == PRUNE_CHUNK ? 10000 : svc->cfg.retention_interval_s * 1000000ULL;
	/* A burst of writers leaves glibc holding freed heap (bench/README.md:
	 * 14 MiB kept, 2 MiB used); hand it back while idle. */
	if (n != PRUNE_CHUNK)
		malloc_trim(0);
	sd_event_source_set_time(s, usec + next);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static void log_on_shutdown(void *userdata)
{
	struct log_service *svc = userdata;

	svc->stopping = true;
	commit_pending(svc);
	for (struct query *q = svc->queries, *next; q; q = next) {
		next = q->next;
		if (q->follow) {
			grpc_call_finish(q->call, GRPC_UNAVAILABLE, "server shutting down");
			query_free(q);
		}
	}
}

static const struct grpc_method log_methods[] = {
	{ "Log", GRPC_UNARY, &mvirt__log__log_request__descriptor,
	  &mvirt__log__log_response__descriptor, rpc_log },
	{ "Query", GRPC_SERVER_STREAMING, &mvirt__log__query_request__descriptor,
	  &mvirt__log__log_entry__descriptor, rpc_query },
};

int log_service_new(sd_event *event, struct log_store *store, const struct log_service_config *cfg,
		    struct log_service **out)
{
	struct log_service *svc = xcalloc(1, sizeof(*svc));
	int r;

	svc->event = sd_event_ref(event);
	svc->store = store;
	svc->cfg = *cfg;
	if (!svc->cfg.retention_interval_s)
		svc->cfg.retention_interval_s = 60;
	svc->grpc = (struct grpc_service){ "mvirt.log.LogService", log_methods,
					   ARRAY_SIZE(log_methods), svc, log_on_shutdown };
	r = sd_event_add_defer(event, &svc->commit_src, on_commit, svc);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(svc->commit_src, SD_EVENT_OFF);
	/* after the sockets: let the loop collect every pending request first */
	sd_event_source_set_priority(svc->commit_src, SD_EVENT_PRIORITY_NORMAL + 10);
	r = sd_event_add_time_relative(event, &svc->retention_src, CLOCK_MONOTONIC, 1000000, 100000,
				       on_retention, svc);
	if (r < 0)
		goto fail;
	sd_event_source_set_priority(svc->retention_src, SD_EVENT_PRIORITY_IDLE);
	*out = svc;
	return 0;
fail:
	log_service_free(svc);
	return r;
}

const struct grpc_service *log_service_grpc(struct log_service *svc)
{
	return &svc->grpc;
}

void log_service_free(struct log_service *svc)
{
	if (!svc)
		return;
	commit_pending(svc);
	while (svc->queries)
		query_free(svc->queries);
	sd_event_source_disable_unref(svc->commit_src);
	sd_event_source_disable_unref(svc->retention_src);
	sd_event_unref(svc->event);
	free(svc);
}
