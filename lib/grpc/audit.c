/* SPDX-License-Identifier: MIT */
/*
 * One worker thread per audit client, so a slow or absent mvirt-log never
 * touches the daemon's event loop. The queue is a fixed ring; the worker
 * keeps the entry at the head until mvirt-log acknowledged it, reconnecting
 * with backoff when the connection fails.
 */
#include "audit.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "client.h"
#include "log.h"
#include "log.pb-c.h"
#include "timefmt.h"
#include "workq.h"

struct audit_entry {
	int64_t timestamp_ns;
	int level;
	char *message;
	char **ids;
	size_t n_ids;
};

struct audit_client {
	char *endpoint;
	char *component;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct audit_entry ring[AUDIT_QUEUE_MAX];
	size_t head, count;
	bool stop;
	int64_t stop_deadline_ns;
	uint64_t dropped, delivered;
};

static void entry_free(struct audit_entry *e)
{
	free(e->message);
	for (size_t i = 0; i < e->n_ids; i++)
		free(e->ids[i]);
	free(e->ids);
	*e = (struct audit_entry){ 0 };
}

/* Send one entry: 0 delivered, -EAGAIN retry later, -EINVAL rejected for good. */
static int deliver(struct audit_client *a, struct grpc_client **conn, struct audit_entry *e)
{
	Mvirt__Log__LogEntry entry = MVIRT__LOG__LOG_ENTRY__INIT;
	Mvirt__Log__LogRequest req = MVIRT__LOG__LOG_REQUEST__INIT;
	struct grpc_status st = { 0 };
	ProtobufCMessage *resp = NULL;
	int r;

	if (!*conn || !grpc_client_usable(*conn)) {
		grpc_client_free(*conn);
		*conn = NULL;
		r = grpc_client_connect(a->endpoint, 1000, conn);
		if (r < 0)
			return -EAGAIN;
	}
	entry.timestamp_ns = e->timestamp_ns;
	entry.level = e->level;
	entry.message = e->message;
	entry.component = a->component;
	entry.related_object_ids = e->ids;
	entry.n_related_object_ids = e->n_ids;
	req.entry = &entry;
	r = grpc_client_unary(*conn, "/mvirt.log.LogService/Log", &req.base,
			      &mvirt__log__log_response__descriptor, 5000, &resp, &st);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	if (r < 0 || st.code == GRPC_UNAVAILABLE || st.code == GRPC_DEADLINE_EXCEEDED ||
	    st.code == GRPC_INTERNAL) {
		grpc_status_clear(&st);
		grpc_client_free(*conn);
		*conn = NULL;
		return -EAGAIN;
	}
	if (st.code != GRPC_OK) {
		log_warning("audit: mvirt-log rejected an entry: %s", st.message);
		grpc_status_clear(&st);
		return -EINVAL;
	}
	grpc_status_clear(&st);
	return 0;
}

static void *worker(void *userdata)
{
	struct audit_client *a = userdata;
	struct grpc_client *conn = NULL;
	int backoff_ms = 100;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (a->count == 0 && !a->stop)
			pthread_cond_wait(&a->wake, &a->lock);
		if (a->count == 0 || (a->stop && (int64_t)now_monotonic_ns() >= a->stop_deadline_ns))
			break;
		/* The head entry stays in the ring while it is sent: the producer
		 * only appends at the tail, so it is safe to use unlocked. */
		struct audit_entry *e = &a->ring[a->head];
		pthread_mutex_unlock(&a->lock);
		int r = deliver(a, &conn, e);
		pthread_mutex_lock(&a->lock);
		if (r == -EAGAIN) {
			struct timespec until;
			int64_t wait_ns = (int64_t)backoff_ms * 1000000LL;
			backoff_ms = MIN(backoff_ms * 2, 5000);
			/* stopping: never wait past the flush deadline */
			if (a->stop)
				wait_ns = MIN(wait_ns, a->stop_deadline_ns - (int64_t)now_monotonic_ns());
			if (wait_ns <= 0)
				continue;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += wait_ns / 1000000000LL;
			until.tv_nsec += wait_ns % 1000000000LL;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&a->wake, &a->lock, &until);
			continue;
		}
		backoff_ms = 100;
		if (r == 0)
			a->delivered++;
		else
			a->dropped++;
		entry_free(e);
		a->head = (a->head + 1) % AUDIT_QUEUE_MAX;
		a->count--;
	}
	pthread_mutex_unlock(&a->lock);
	grpc_client_free(conn);
	return NULL;
}

int audit_client_new(const char *endpoint, const char *component, struct audit_client **out)
{
	struct audit_client *a;
	int r;

	if (!endpoint) {
		*out = NULL;
		return 0;
	}
	a = xcalloc(1, sizeof(*a));
	a->endpoint = xstrdup(endpoint);
	a->component = xstrdup(component);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	r = thread_create_quiet(&a->thread, false, worker, a);
	if (r < 0) {
		free(a->endpoint);
		free(a->component);
		free(a);
		return r;
	}
	*out = a;
	return 0;
}

void audit_client_free(struct audit_client *a, int flush_ms)
{
	audit_client_free_counts(a, flush_ms, NULL, NULL);
}

void audit_client_free_counts(struct audit_client *a, int flush_ms, uint64_t *delivered,
			      uint64_t *dropped)
{
	if (delivered)
		*delivered = 0;
	if (dropped)
		*dropped = 0;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	a->stop_deadline_ns = (int64_t)now_monotonic_ns() + (int64_t)flush_ms * 1000000LL;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	if (a->count > 0)
		log_warning("audit: %zu entries not delivered to mvirt-log at exit", a->count);
	if (delivered)
		*delivered = a->delivered;
	if (dropped)
		*dropped = a->dropped + a->count;
	while (a->count > 0) {
		entry_free(&a->ring[a->head]);
		a->head = (a->head + 1) % AUDIT_QUEUE_MAX;
		a->count--;
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	free(a->endpoint);
	free(a->component);
	free(a);
}

int audit_log(struct audit_client *a, int level, const struct grpc_peer *caller,
	      const char *const *object_ids, size_t n_ids, const char *fmt, ...)
{
	struct audit_entry e = { .timestamp_ns = now_realtime_ns(), .level = level };
	_cleanup_free_ char *text = NULL;
	va_list ap;

	if (!a)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text)
		return -ENOMEM;
	if (caller && caller->is_unix)
		e.message = xasprintf("%s (by uid=%u gid=%u pid=%d)", text, (unsigned)caller->uid,
				      (unsigned)caller->gid, (int)caller->pid);
	else if (caller)
		e.message = xasprintf("%s (by %s)", text, caller->addr);
	else
		e.message = TAKE_PTR(text);
	e.ids = xcalloc(n_ids ? n_ids : 1, sizeof(char *));
	for (size_t i = 0; i < n_ids; i++)
		e.ids[i] = xstrdup(object_ids[i]);
	e.n_ids = n_ids;

	pthread_mutex_lock(&a->lock);
	if (a->count == AUDIT_QUEUE_MAX || a->stop) {
		a->dropped++;
		pthread_mutex_unlock(&a->lock);
		entry_free(&e);
		return -ENOBUFS;
	}
	a->ring[(a->head + a->count) % AUDIT_QUEUE_MAX] = e;
	/* only an idle worker needs waking: one in backoff keeps its pace */
	if (a->count++ == 0)
		pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

uint64_t audit_dropped(struct audit_client *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->lock);
	n = a->dropped;
	pthread_mutex_unlock(&a->lock);
	return n;
}

uint64_t audit_delivered(struct audit_client *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->lock);
	n = a->delivered;
	pthread_mutex_unlock(&a->lock);
	return n;
}
