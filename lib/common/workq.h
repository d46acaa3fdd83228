/* SPDX-License-Identifier: MIT */
/*
 * A pool of worker threads for the blocking parts of a daemon (zfs commands,
 * SQLite, file copies) whose results go back to the sd-event loop.
 *
 * Each task names the keys it needs ("vol:web-1", "tpl:debian"). A task runs
 * only while no other running task holds one of its keys, so operations on one
 * object are serialized while operations on different objects run at once;
 * a waiting task never occupies a thread, so a queue of calls for one busy
 * object cannot starve the others. Queued tasks with free keys start in
 * submission order.
 *
 * work() runs on a worker thread; done() then runs on the loop's thread,
 * where it may touch gRPC calls and other loop-only state.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#define WORKQ_KEYS_MAX 4

struct workq;

typedef void (*workq_fn)(void *userdata);

/* threads: worker threads started at once (at least 1). */
int workq_new(sd_event *e, unsigned threads, struct workq **out);
/* Stop taking tasks, run every queued task to its end, join the threads and
 * run the outstanding done() callbacks on the calling thread. */
void workq_free(struct workq *q);

/* Queue work (may be NULL: done() alone, in order with other completions)
 * under up to WORKQ_KEYS_MAX keys (copied). done may be NULL. 0 or -EINVAL
 * (too many keys), -ESHUTDOWN after workq_free began. */
int workq_submit(struct workq *q, const char *const *keys, size_t n_keys, workq_fn work,
		 workq_fn done, void *userdata);

/* Run fn(userdata) on the loop's thread soon; callable from any thread. */
int workq_post(struct workq *q, workq_fn fn, void *userdata);

/*
 * pthread_create with every signal blocked in the new thread: a daemon's
 * signals are handled by sd-event on the loop thread, which only works when
 * no other thread can take them (the kernel hands a process signal to any
 * thread that does not block it, and the default action kills the process).
 * Returns 0 or a negative errno.
 */
int thread_create_quiet(pthread_t *thread, bool detached, void *(*fn)(void *), void *arg);
