/* SPDX-License-Identifier: MIT */
/*
 * The init's event loop (os/init/loop.c) with real pipes and real time:
 * timer order, re-arming, stopping and freeing from inside callbacks (the
 * DHCP clients and the supervisor do all of these), fd events, freeing an
 * io whose event is still pending in the same round (run under ASan), and
 * loop_quit.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"
#include "util.h"

/* What fired, in order, one letter each. */
static char fired[64];
static size_t n_fired;

static void record(char c)
{
	if (n_fired + 1 < sizeof(fired))
		fired[n_fired++] = c;
	fired[n_fired] = 0;
}

static void reset(void)
{
	n_fired = 0;
	fired[0] = 0;
}

/* Run rounds until n events have fired, at most for about a second. */
static void run_until(struct loop *l, size_t n)
{
	uint64_t deadline = loop_now_ms() + 1000;

	while (n_fired < n && loop_now_ms() < deadline)
		CHECK_INT(loop_run_once(l, 100), 0);
}

struct named_timer {
	struct loop_timer *timer;
	char name;
	uint64_t due;	     /* when it was armed for */
	bool early;	     /* fired before due */
	struct named_timer *victim; /* freed or stopped by this one's callback */
	bool stop_only;
};

static void on_named(struct loop_timer *t, void *userdata)
{
	struct named_timer *nt = userdata;

	CHECK(t == nt->timer);
	CHECK(!loop_timer_armed(t)); /* disarmed before its callback */
	if (loop_now_ms() < nt->due)
		nt->early = true;
	record(nt->name);
	if (nt->victim) {
		if (nt->stop_only) {
			loop_timer_stop(nt->victim->timer);
		} else {
			loop_timer_free(nt->victim->timer);
			nt->victim->timer = NULL;
		}
	}
}

static void arm(struct loop *l, struct named_timer *nt, char name, uint64_t when)
{
	if (!nt->timer)
		CHECK_INT(loop_timer_new(l, on_named, nt, &nt->timer), 0);
	nt->name = name;
	nt->due = when;
	loop_timer_set(nt->timer, when);
	CHECK(loop_timer_armed(nt->timer));
}

static void test_clock(void)
{
	uint64_t a = loop_now_ms(), b = loop_now_ms();

	CHECK(a > 0);
	CHECK(b >= a);
}

static void test_timer_order(void)
{
	struct loop *l;
	struct named_timer t[6] = { 0 };
	uint64_t now;

	CHECK_INT(loop_new(&l), 0);
	now = loop_now_ms();
	reset();
	arm(l, &t[0], 'A', now + 40);
	arm(l, &t[1], 'B', now + 10);
	arm(l, &t[2], 'C', now + 25);
	arm(l, &t[3], 'D', now + 10); /* same time as B, armed later: after B */
	arm(l, &t[4], 'E', now - 5);  /* already due */
	arm(l, &t[5], 'F', now + 25);
	run_until(l, 6);
	CHECK_STR(fired, "EBDCFA");
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		CHECK(!t[i].early);
		CHECK(!loop_timer_armed(t[i].timer));
		loop_timer_free(t[i].timer);
	}
	/* nothing is left to fire */
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_STR(fired, "EBDCFA");
	loop_free(l);
}

static void test_timer_stop_and_move(void)
{
	struct loop *l;
	struct named_timer a = { 0 }, b = { 0 }, c = { 0 };
	uint64_t now;

	CHECK_INT(loop_new(&l), 0);
	now = loop_now_ms();
	reset();
	arm(l, &a, 'a', now + 5);
	loop_timer_stop(a.timer);
	CHECK(!loop_timer_armed(a.timer));
	loop_timer_stop(a.timer); /* twice is fine */
	arm(l, &b, 'b', now + 500);
	arm(l, &c, 'c', now + 20);
	arm(l, &b, 'b', now + 10); /* moved before c */
	run_until(l, 2);
	CHECK_STR(fired, "bc");
	/* a stopped timer can be armed again */
	arm(l, &a, 'a', now);
	loop_timer_in(c.timer, 0);
	c.due = now;
	run_until(l, 4);
	CHECK_STR(fired, "bcac");
	loop_timer_free(a.timer);
	loop_timer_free(b.timer);
	loop_timer_free(c.timer);

	/* NULL is accepted where an owner may hold none */
	loop_timer_stop(NULL);
	loop_timer_free(NULL);
	CHECK(!loop_timer_armed(NULL));
	loop_io_free(NULL);
	loop_free(NULL);
	loop_free(l);
}

struct rearming {
	unsigned count, limit;
	uint64_t after_ms;
};

static void on_rearm(struct loop_timer *t, void *userdata)
{
	struct rearming *r = userdata;

	if (++r->count < r->limit)
		loop_timer_in(t, r->after_ms);
}

static void test_timer_rearm(void)
{
	struct loop *l;
	struct loop_timer *t;
	struct rearming r = { .limit = 5, .after_ms = 2 };
	uint64_t start;

	CHECK_INT(loop_new(&l), 0);
	CHECK_INT(loop_timer_new(l, on_rearm, &r, &t), 0);
	CHECK(!loop_timer_armed(t)); /* disarmed until set */
	start = loop_now_ms();
	loop_timer_in(t, 2);
	for (int i = 0; i < 100 && loop_timer_armed(t); i++)
		CHECK_INT(loop_run_once(l, -1), 0);
	CHECK_INT(r.count, 5);
	CHECK(loop_now_ms() - start >= 10);
	CHECK(!loop_timer_armed(t));

	/* re-armed for "now" from its own callback, a timer runs again in the
	 * next round, not over and over in this one (which would starve the
	 * fds for as long as it keeps doing so) */
	r = (struct rearming){ .limit = 1000, .after_ms = 0 };
	loop_timer_in(t, 0);
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(r.count, 1);
	CHECK(loop_timer_armed(t));
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(r.count, 2);
	loop_timer_set(t, 0); /* long past */
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(r.count, 3);
	loop_timer_free(t);
	loop_free(l);
}

static void on_free_self(struct loop_timer *t, void *userdata)
{
	unsigned *count = userdata;

	(*count)++;
	loop_timer_free(t);
}

static void test_timer_free_in_callback(void)
{
	struct loop *l;
	struct loop_timer *self;
	struct named_timer a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	unsigned count = 0;
	uint64_t now;

	CHECK_INT(loop_new(&l), 0);
	now = loop_now_ms();
	reset();

	/* a timer freeing itself */
	CHECK_INT(loop_timer_new(l, on_free_self, &count, &self), 0);
	loop_timer_set(self, now);
	/* a frees b, due in the same round right after it; c stops d */
	arm(l, &a, 'a', now);
	arm(l, &b, 'b', now);
	arm(l, &c, 'c', now);
	arm(l, &d, 'd', now);
	a.victim = &b;
	c.victim = &d;
	c.stop_only = true;
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(count, 1);
	CHECK_STR(fired, "ac");
	CHECK(b.timer == NULL);
	CHECK(!loop_timer_armed(d.timer));
	CHECK_INT(loop_run_once(l, 20), 0);
	CHECK_STR(fired, "ac");

	/* d was only stopped: it still works */
	c.victim = NULL;
	arm(l, &d, 'd', now);
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_STR(fired, "acd");

	/* a timer freeing one that is armed for later */
	arm(l, &b, 'b', now + 60000);
	a.victim = &b;
	arm(l, &a, 'a', now);
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_STR(fired, "acda");
	CHECK(b.timer == NULL);

	loop_timer_free(a.timer);
	loop_timer_free(c.timer);
	loop_timer_free(d.timer);
	loop_free(l);
}

/* ---- file descriptors ---- */

struct pipe_watch {
	int fds[2];
	struct loop_io *io;
	char name;
	uint32_t events;		 /* as last reported */
	unsigned calls;
	struct pipe_watch *victim;	 /* io freed by this one's callback */
	struct named_timer *timer_victim; /* timer freed by this one's callback */
	bool free_self_on_hup, quit;
	struct loop *loop;
};

static void on_pipe(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct pipe_watch *w = userdata;
	char buf[64];

	CHECK(io == w->io);
	CHECK_INT(fd, w->fds[0]);
	w->events = events;
	w->calls++;
	record(w->name);
	if (events & EPOLLIN)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	if (w->victim && w->victim->io) {
		loop_io_free(w->victim->io);
		w->victim->io = NULL;
	}
	if (w->timer_victim && w->timer_victim->timer) {
		loop_timer_free(w->timer_victim->timer);
		w->timer_victim->timer = NULL;
	}
	if (w->free_self_on_hup && (events & EPOLLHUP)) {
		loop_io_free(io);
		w->io = NULL;
	}
	if (w->quit)
		loop_quit(w->loop);
}

static void watch(struct loop *l, struct pipe_watch *w, char name)
{
	*w = (struct pipe_watch){ .name = name, .loop = l };
	CHECK_INT(pipe2(w->fds, O_NONBLOCK | O_CLOEXEC), 0);
	CHECK_INT(loop_io_add(l, w->fds[0], EPOLLIN, on_pipe, w, &w->io), 0);
}

static void unwatch(struct pipe_watch *w)
{
	loop_io_free(w->io);
	close(w->fds[0]);
	if (w->fds[1] >= 0)
		close(w->fds[1]);
}

static void test_io(void)
{
	struct loop *l;
	struct pipe_watch w;
	struct loop_io *io;

	CHECK_INT(loop_new(&l), 0);
	reset();
	watch(l, &w, 'p');
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(w.calls, 0);

	CHECK_INT(write(w.fds[1], "x", 1), 1);
	CHECK_INT(loop_run_once(l, 1000), 0);
	CHECK_INT(w.calls, 1);
	CHECK(w.events & EPOLLIN);
	/* drained: level-triggered, nothing more */
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(w.calls, 1);

	/* the writer goes away: HUP, and the callback frees its own io */
	w.free_self_on_hup = true;
	close(w.fds[1]);
	w.fds[1] = -1;
	CHECK_INT(loop_run_once(l, 1000), 0);
	CHECK_INT(w.calls, 2);
	CHECK(w.events & EPOLLHUP);
	CHECK(w.io == NULL);
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(w.calls, 2);

	/* the fd is not the loop's: it is still open */
	CHECK_INT(fcntl(w.fds[0], F_GETFD), FD_CLOEXEC);
	/* and it can be watched again */
	CHECK_INT(loop_io_add(l, w.fds[0], EPOLLIN, on_pipe, &w, &w.io), 0);
	CHECK_INT(loop_io_add(l, w.fds[0], EPOLLIN, on_pipe, &w, &io), -EEXIST);
	unwatch(&w);

	CHECK_INT(loop_io_add(l, -1, EPOLLIN, on_pipe, NULL, &io), -EBADF);
	loop_free(l);
}

/* An io freed by another callback of the same round must not be called
 * with the event epoll already handed out for it. */
static void test_io_free_other(void)
{
	struct loop *l;
	struct pipe_watch a, b;
	struct named_timer t = { 0 };

	CHECK_INT(loop_new(&l), 0);
	reset();
	watch(l, &a, 'a');
	watch(l, &b, 'b');
	a.victim = &b;
	b.victim = &a;
	CHECK_INT(write(a.fds[1], "x", 1), 1);
	CHECK_INT(write(b.fds[1], "x", 1), 1);
	CHECK_INT(loop_run_once(l, 1000), 0);
	/* one of them ran and freed the other, which did not run */
	CHECK_INT(a.calls + b.calls, 1);
	CHECK((a.io == NULL) != (b.io == NULL));
	/* the freed one hears nothing more */
	CHECK_INT(write(a.fds[1], "x", 1), 1);
	CHECK_INT(write(b.fds[1], "x", 1), 1);
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(a.calls + b.calls, 2);
	CHECK_INT(n_fired, 2);
	CHECK_INT(fired[0], fired[1]);
	unwatch(&a);
	unwatch(&b);

	/* an io callback freeing a timer due in the same round */
	watch(l, &a, 'a');
	arm(l, &t, 't', loop_now_ms());
	a.timer_victim = &t;
	CHECK_INT(write(a.fds[1], "x", 1), 1);
	reset();
	CHECK_INT(loop_run_once(l, 1000), 0);
	CHECK_STR(fired, "a");
	CHECK(t.timer == NULL);
	unwatch(&a);

	/* freed outside a round: released by loop_free (LeakSanitizer) */
	watch(l, &a, 'a');
	loop_io_free(a.io);
	a.io = NULL;
	unwatch(&a);
	loop_free(l);
}

static void on_quit_timer(struct loop_timer *t, void *userdata)
{
	struct loop *l = userdata;

	record('q');
	loop_quit(l);
}

static void test_quit(void)
{
	struct loop *l;
	struct loop_timer *quit, *later;
	struct named_timer n = { 0 };
	struct pipe_watch w;

	CHECK_INT(loop_new(&l), 0);
	reset();
	CHECK_INT(loop_timer_new(l, on_quit_timer, l, &quit), 0);
	CHECK_INT(loop_timer_new(l, on_quit_timer, l, &later), 0);
	arm(l, &n, 'n', loop_now_ms() + 1);
	loop_timer_in(quit, 10);
	loop_timer_in(later, 60000);
	CHECK_INT(loop_run(l), 0);
	CHECK_STR(fired, "nq");
	CHECK(loop_timer_armed(later));

	/* again, quitting from an fd callback */
	watch(l, &w, 'w');
	w.quit = true;
	CHECK_INT(write(w.fds[1], "x", 1), 1);
	CHECK_INT(loop_run(l), 0);
	CHECK_STR(fired, "nqw");
	unwatch(&w);

	loop_timer_free(quit);
	loop_timer_free(later);
	loop_timer_free(n.timer);
	loop_free(l);
}

static void test_wait(void)
{
	struct loop *l;
	struct named_timer t = { 0 };
	uint64_t start;

	CHECK_INT(loop_new(&l), 0);
	reset();

	/* nothing to do: returns after max_wait_ms */
	start = loop_now_ms();
	CHECK_INT(loop_run_once(l, 30), 0);
	CHECK(loop_now_ms() - start >= 30);

	/* a timer due later than max_wait_ms does not fire */
	arm(l, &t, 't', loop_now_ms() + 60000);
	start = loop_now_ms();
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(loop_run_once(l, 20), 0);
	CHECK_STR(fired, "");
	CHECK(loop_now_ms() - start < 1000);

	/* waiting without limit ends at the next timer */
	start = loop_now_ms();
	arm(l, &t, 't', start + 20);
	CHECK_INT(loop_run_once(l, -1), 0);
	CHECK_STR(fired, "t");
	CHECK(!t.early);
	CHECK(loop_now_ms() - start < 1000);
	loop_timer_free(t.timer);
	loop_free(l);
}

int main(void)
{
	test_clock();
	test_timer_order();
	test_timer_stop_and_move();
	test_timer_rearm();
	test_timer_free_in_callback();
	test_io();
	test_io_free_other();
	test_quit();
	test_wait();
	return test_done();
}
