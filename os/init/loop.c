/* SPDX-License-Identifier: MIT */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct loop {
	int epfd;
	bool quit;
	struct loop_timer *timers; /* armed ones, soonest first */
	struct loop_io *dead;	   /* freed during a round: released after it */
	uint64_t timer_pass;	   /* counts the passes over due timers */
};

struct loop_io {
	struct loop *loop;
	struct loop_io *next_dead;
	int fd; /* -1 once freed */
	loop_io_fn fn;
	void *userdata;
};

struct loop_timer {
	struct loop *loop;
	struct loop_timer *next;
	uint64_t when;
	uint64_t pass; /* the loop's timer_pass when it was armed */
	bool armed;
	loop_timer_fn fn;
	void *userdata;
};

int loop_new(struct loop **out)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

static void release_dead(struct loop *l)
{
	while (l->dead) {
		struct loop_io *io = l->dead;
		l->dead = io->next_dead;
		free(io);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	release_dead(l);
	close(l->epfd);
	free(l);
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_io_add(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
		struct loop_io **out)
{
	struct loop_io *io = xcalloc(1, sizeof(*io));
	struct epoll_event ev = { .events = events, .data.ptr = io };

	*io = (struct loop_io){ .loop = l, .fd = fd, .fn = fn, .userdata = userdata };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;
		free(io);
		return r;
	}
	*out = io;
	return 0;
}

void loop_io_free(struct loop_io *io)
{
	if (!io)
		return;
	epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* events of this round may still point at it: free after the round */
	io->fd = -1;
	io->next_dead = io->loop->dead;
	io->loop->dead = io;
}

int loop_timer_new(struct loop *l, loop_timer_fn fn, void *userdata, struct loop_timer **out)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	*t = (struct loop_timer){ .loop = l, .fn = fn, .userdata = userdata };
	*out = t;
	return 0;
}

static void timer_unlink(struct loop_timer *t)
{
	struct loop_timer **p;

	if (!t->armed)
		return;
	for (p = &t->loop->timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->next = NULL;
	t->armed = false;
}

void loop_timer_set(struct loop_timer *t, uint64_t when_ms)
{
	struct loop_timer **p;

	timer_unlink(t);
	/* a handful of timers per NIC and service: a sorted list is enough */
	for (p = &t->loop->timers; *p && (*p)->when <= when_ms; p = &(*p)->next)
		;
	t->when = when_ms;
	t->pass = t->loop->timer_pass;
	t->next = *p;
	*p = t;
	t->armed = true;
}

void loop_timer_in(struct loop_timer *t, uint64_t after_ms)
{
	loop_timer_set(t, loop_now_ms() + after_ms);
}

void loop_timer_stop(struct loop_timer *t)
{
	if (t)
		timer_unlink(t);
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t && t->armed;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	timer_unlink(t);
	free(t);
}

/* Run the timers that are due; each is disarmed before its callback, which
 * may re-arm or free it. One armed by a callback of this pass waits for the
 * next round even when it is already due: a timer re-armed for now or for
 * the past would otherwise run again and again here and starve the fds. */
static void run_due_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();
	struct loop_timer *t;

	l->timer_pass++;
	while ((t = l->timers) && t->when <= now && t->pass != l->timer_pass) {
		timer_unlink(t);
		t->fn(t, t->userdata);
	}
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event evs[16];
	int timeout = max_wait_ms, n;

	if (l->timers) {
		uint64_t now = loop_now_ms(), when = l->timers->when;
		uint64_t wait = when > now ? when - now : 0;
		if (timeout < 0 || wait < (uint64_t)timeout)
			timeout = (int)MIN(wait, (uint64_t)INT32_MAX);
	}
	n = epoll_wait(l->epfd, evs, ARRAY_SIZE(evs), timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		struct loop_io *io = evs[i].data.ptr;
		if (io->fd >= 0) /* not freed by an earlier callback of this round */
			io->fn(io, io->fd, evs[i].events, io->userdata);
	}
	run_due_timers(l);
	release_dead(l);
	return 0;
}

int loop_run(struct loop *l)
{
	int r;

	l->quit = false;
	while (!l->quit) {
		r = loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_quit(struct loop *l)
{
	l->quit = true;
}
