/* SPDX-License-Identifier: MIT */
/*
 * Worker threads with keyed serialization; completions return to the loop
 * through an eventfd. One mutex guards the queue, the held keys and the list
 * of completions: tasks are few and coarse (a zfs command takes milliseconds),
 * so a linear scan of the queue is cheaper than anything cleverer.
 */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "log.h"
#include "util.h"

struct task {
	struct task *next;
	char *keys[WORKQ_KEYS_MAX];
	size_t n_keys;
	workq_fn work, done;
	void *userdata;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct task *queue, **queue_tail;   /* waiting to run, in submission order */
	struct task *running;               /* their keys are held */
	struct task *finished, **finished_tail;
	pthread_t *threads;
	unsigned n_threads;
	bool stopping;
	int efd;
	sd_event_source *src;
};

static bool key_held(const struct workq *q, const char *key)
{
	for (const struct task *t = q->running; t; t = t->next)
		for (size_t i = 0; i < t->n_keys; i++)
			if (streq(t->keys[i], key))
				return true;
	return false;
}

static bool task_runnable(const struct workq *q, const struct task *t)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if (key_held(q, t->keys[i]))
			return false;
	return true;
}

/* The first queued task whose keys are free, unlinked; NULL when none. Two
 * queued tasks sharing a key keep their order: the later one is skipped
 * while the earlier one waits, because it waits for the same key. */
static struct task *dequeue_runnable(struct workq *q)
{
	for (struct task **pp = &q->queue; *pp; pp = &(*pp)->next) {
		struct task *t = *pp;
		bool blocked = !task_runnable(q, t);
		/* an earlier waiting task with a common key goes first */
		for (struct task *e = q->queue; !blocked && e != t; e = e->next)
			for (size_t i = 0; i < e->n_keys && !blocked; i++)
				for (size_t j = 0; j < t->n_keys && !blocked; j++)
					blocked = streq(e->keys[i], t->keys[j]);
		if (blocked)
			continue;
		*pp = t->next;
		if (q->queue_tail == &t->next)
			q->queue_tail = pp;
		t->next = q->running;
		q->running = t;
		return t;
	}
	return NULL;
}

static void notify_loop(struct workq *q)
{
	uint64_t one = 1;

	/* the counter cannot overflow in practice; a failed write only delays */
	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warning_errno(-errno, "workq: cannot wake the event loop");
}

static void finish_locked(struct workq *q, struct task *t)
{
	for (struct task **pp = &q->running; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->next = NULL;
	*q->finished_tail = t;
	q->finished_tail = &t->next;
}

static void *worker_main(void *arg)
{
	struct workq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct task *t = dequeue_runnable(q);
		if (!t) {
			if (q->stopping && !q->queue)
				break;
			pthread_cond_wait(&q->wake, &q->lock);
			continue;
		}
		pthread_mutex_unlock(&q->lock);
		if (t->work)
			t->work(t->userdata);
		pthread_mutex_lock(&q->lock);
		finish_locked(q, t);
		/* its keys are free: a waiting task may run now */
		pthread_cond_broadcast(&q->wake);
		notify_loop(q);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void task_free(struct task *t)
{
	for (size_t i = 0; i < t->n_keys; i++)
		free(t->keys[i]);
	free(t);
}

/* Run the done() callbacks of finished tasks, on the calling thread. */
static void run_finished(struct workq *q)
{
	struct task *list;

	pthread_mutex_lock(&q->lock);
	list = q->finished;
	q->finished = NULL;
	q->finished_tail = &q->finished;
	pthread_mutex_unlock(&q->lock);
	while (list) {
		struct task *t = list;
		list = t->next;
		if (t->done)
			t->done(t->userdata);
		task_free(t);
	}
}

static int on_efd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	uint64_t n;

	(void)s;
	(void)revents;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warning_errno(-errno, "workq: eventfd read failed");
	run_finished(userdata);
	return 0;
}

int thread_create_quiet(pthread_t *thread, bool detached, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int workq_new(sd_event *e, unsigned threads, struct workq **out)
{
	struct workq *q = xcalloc(1, sizeof(*q));
	int r;

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	q->queue_tail = &q->queue;
	q->finished_tail = &q->finished;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(e, &q->src, q->efd, EPOLLIN, on_efd, q);
	if (r < 0)
		goto fail;
	q->threads = xcalloc(MAX(threads, 1u), sizeof(*q->threads));
	for (unsigned i = 0; i < MAX(threads, 1u); i++) {
		r = thread_create_quiet(&q->threads[i], false, worker_main, q);
		if (r < 0)
			goto fail;
		q->n_threads++;
	}
	*out = q;
	return 0;
fail:
	workq_free(q);
	return r;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->n_threads; i++)
		pthread_join(q->threads[i], NULL);
	run_finished(q);
	sd_event_source_disable_unref(q->src);
	if (q->efd >= 0)
		close(q->efd);
	free(q->threads);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int workq_submit(struct workq *q, const char *const *keys, size_t n_keys, workq_fn work,
		 workq_fn done, void *userdata)
{
	struct task *t;

	if (n_keys > WORKQ_KEYS_MAX)
		return -EINVAL;
	t = xcalloc(1, sizeof(*t));
	for (size_t i = 0; i < n_keys; i++)
		t->keys[i] = xstrdup(keys[i]);
	t->n_keys = n_keys;
	t->work = work;
	t->done = done;
	t->userdata = userdata;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		task_free(t);
		return -ESHUTDOWN;
	}
	if (!work) {
		/* nothing to run: straight to the completions */
		*q->finished_tail = t;
		q->finished_tail = &t->next;
		notify_loop(q);
	} else {
		*q->queue_tail = t;
		q->queue_tail = &t->next;
		pthread_cond_broadcast(&q->wake);
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int workq_post(struct workq *q, workq_fn fn, void *userdata)
{
	return workq_submit(q, NULL, 0, NULL, fn, userdata);
}
