/* SPDX-License-Identifier: MIT */
/* Unit tests of the keyed work queue: tasks with a common key never overlap,
 * tasks with different keys do, done() runs on the loop's thread in order. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <time.h>

#include "tap.h"
#include "workq.h"

static pthread_t loop_thread;

struct probe {
	atomic_int *inside;   /* tasks of this key currently running */
	atomic_int *max_inside;
	atomic_int *overlap;  /* tasks of any key currently running */
	atomic_int *max_overlap;
	int *done_order;
	int *n_done;
	int id;
	bool done_on_loop;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void bump_max(atomic_int *max, int v)
{
	int m = atomic_load(max);
	while (v > m && !atomic_compare_exchange_weak(max, &m, v))
		;
}

static void probe_work(void *userdata)
{
	struct probe *p = userdata;
	bump_max(p->max_inside, atomic_fetch_add(p->inside, 1) + 1);
	bump_max(p->max_overlap, atomic_fetch_add(p->overlap, 1) + 1);
	sleep_ms(30);
	atomic_fetch_sub(p->overlap, 1);
	atomic_fetch_sub(p->inside, 1);
}

static void probe_done(void *userdata)
{
	struct probe *p = userdata;
	p->done_on_loop = pthread_equal(pthread_self(), loop_thread);
	p->done_order[(*p->n_done)++] = p->id;
}

static int run_until(sd_event *e, int *n_done, int want)
{
	for (int i = 0; i < 2000 && *n_done < want; i++)
		if (sd_event_run(e, 10 * 1000) < 0)
			return -1;
	return *n_done;
}

static void *poster(void *arg)
{
	void **a = arg;
	workq_post(a[0], probe_done, a[1]);
	return NULL;
}

int main(void)
{
	sd_event *e = NULL;
	struct workq *q = NULL;
	atomic_int inside_a = 0, inside_b = 0, max_a = 0, max_b = 0, overlap = 0, max_overlap = 0;
	int order[16], n_done = 0;
	struct probe p[8];

	loop_thread = pthread_self();
	CHECK_INT(sd_event_new(&e), 0);
	CHECK_INT(workq_new(e, 4, &q), 0);

	/* four tasks on key a, four on key b: at most one of each at a time,
	 * but a and b together */
	for (int i = 0; i < 8; i++) {
		bool a = i % 2 == 0;
		p[i] = (struct probe){ a ? &inside_a : &inside_b, a ? &max_a : &max_b, &overlap,
				       &max_overlap, order, &n_done, i, false };
		const char *key = a ? "vol:a" : "vol:b";
		CHECK_INT(workq_submit(q, &key, 1, probe_work, probe_done, &p[i]), 0);
	}
	CHECK_INT(run_until(e, &n_done, 8), 8);
	CHECK_INT(atomic_load(&max_a), 1);
	CHECK_INT(atomic_load(&max_b), 1);
	CHECK_INT(atomic_load(&max_overlap), 2);
	for (int i = 0; i < 8; i++)
		CHECK(p[i].done_on_loop);
	/* tasks of one key finish in submission order */
	int last_a = -1, last_b = -1;
	for (int i = 0; i < 8; i++) {
		int *last = order[i] % 2 == 0 ? &last_a : &last_b;
		CHECK(order[i] > *last);
		*last = order[i];
	}

	/* too many keys */
	const char *many[WORKQ_KEYS_MAX + 1] = { "a", "b", "c", "d", "e" };
	CHECK_INT(workq_submit(q, many, WORKQ_KEYS_MAX + 1, probe_work, NULL, &p[0]), -EINVAL);

	/* a task with two keys waits for both */
	n_done = 0;
	atomic_store(&max_overlap, 0);
	const char *ab[] = { "vol:a", "vol:b" };
	const char *ka = "vol:a", *kb = "vol:b";
	CHECK_INT(workq_submit(q, &ka, 1, probe_work, probe_done, &p[0]), 0);
	CHECK_INT(workq_submit(q, ab, 2, probe_work, probe_done, &p[2]), 0);
	CHECK_INT(workq_submit(q, &kb, 1, probe_work, probe_done, &p[1]), 0);
	CHECK_INT(run_until(e, &n_done, 3), 3);
	CHECK_INT(order[1], 2); /* the two-key task ran before the later b task */

	/* post from another thread */
	n_done = 0;
	pthread_t th;
	void *args[2] = { q, &p[3] };
	pthread_create(&th, NULL, poster, args);
	pthread_join(th, NULL);
	CHECK_INT(run_until(e, &n_done, 1), 1);
	CHECK(p[3].done_on_loop);

	/* free runs what is queued and its done callbacks */
	n_done = 0;
	for (int i = 0; i < 4; i++)
		CHECK_INT(workq_submit(q, &ka, 1, probe_work, probe_done, &p[i]), 0);
	workq_free(q);
	CHECK_INT(n_done, 4);
	sd_event_unref(e);
	return test_done();
}
