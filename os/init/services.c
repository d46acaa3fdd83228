/* SPDX-License-Identifier: MIT */
#include "services.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "status.h"
#include "util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* a run this long resets the backoff: it was not a crash loop */
#define STABLE_RUN_MS 10000
#define LINE_MAX_BYTES 4096

struct service {
	struct supervisor *sup;
	struct service_spec spec;
	pid_t pid;		/* 0: not running */
	uint64_t started_ms;
	unsigned backoff_ms;
	int out_fd;		/* read end of the output pipe, -1 when closed */
	struct loop_io *out_io;
	char line[LINE_MAX_BYTES];
	size_t line_len;
	struct loop_timer *restart_timer;
};

struct supervisor {
	struct loop *loop;
	struct service *services[CONFIG_MAX_SERVICES + CMDLINE_MAX_RUN];
	size_t n;
	bool stopping;
	struct loop_timer *kill_timer;
	void (*done)(void *userdata);
	void *done_userdata;
};

int supervisor_new(struct loop *l, struct supervisor **out)
{
	struct supervisor *s = xcalloc(1, sizeof(*s));

	s->loop = l;
	*out = s;
	return 0;
}

/* Write what the service printed, one whole line at a time, prefixed. */
static void flush_line(struct service *svc)
{
	char buf[LINE_MAX_BYTES + SERVICE_NAME_MAX + 4];
	int n = snprintf(buf, sizeof(buf), "%s: %.*s\n", svc->spec.name, (int)svc->line_len,
			 svc->line);

	if (n > 0 && write(STDOUT_FILENO, buf, MIN((size_t)n, sizeof(buf) - 1)) < 0)
		log_debug("console write failed: %s", strerror(errno));
	svc->line_len = 0;
}

static void close_output(struct service *svc)
{
	if (svc->line_len)
		flush_line(svc);
	loop_io_free(svc->out_io);
	svc->out_io = NULL;
	if (svc->out_fd >= 0)
		close(svc->out_fd);
	svc->out_fd = -1;
}

static void on_output(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct service *svc = userdata;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* every writer is gone (the service and its children) */
		close_output(svc);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			flush_line(svc);
			continue;
		}
		svc->line[svc->line_len++] = buf[i];
		if (svc->line_len == sizeof(svc->line))
			flush_line(svc); /* a very long line goes out in pieces */
	}
}

static void service_start(struct service *svc);

static void on_restart_timer(struct loop_timer *t, void *userdata)
{
	service_start(userdata);
}

/* The child: own session, output to the pipe, default signal handling
 * (the init blocks signals for its signalfd). Never returns. */
static void exec_child(struct service *svc, int out_fd)
{
	sigset_t all;
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	setsid();
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	execv(svc->spec.argv[0], svc->spec.argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", svc->spec.argv[0], strerror(errno));
	_exit(127);
}

static void service_start(struct service *svc)
{
	int pipefd[2];
	pid_t pid;

	if (svc->sup->stopping)
		return;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_error_errno(errno, "service %s: pipe", svc->spec.name);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_error_errno(errno, "service %s: fork", svc->spec.name);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0)
		exec_child(svc, pipefd[1]);
	close(pipefd[1]);
	/* output of an earlier run that is still open (a child of it kept the
	 * pipe) is flushed and dropped: one reader per service */
	close_output(svc);
	svc->out_fd = pipefd[0];
	fcntl(svc->out_fd, F_SETFL, O_NONBLOCK);
	if (loop_io_add(svc->sup->loop, svc->out_fd, EPOLLIN, on_output, svc, &svc->out_io) < 0) {
		close(svc->out_fd);
		svc->out_fd = -1;
	}
	svc->pid = pid;
	svc->started_ms = loop_now_ms();
	status("service %s started pid %d", svc->spec.name, (int)pid);
}

int supervisor_add(struct supervisor *s, struct service_spec *spec)
{
	struct service *svc;

	if (s->n == ARRAY_SIZE(s->services))
		return -E2BIG;
	svc = xcalloc(1, sizeof(*svc));
	svc->sup = s;
	svc->spec = *spec;
	spec->argv = NULL;
	svc->out_fd = -1;
	svc->backoff_ms = BACKOFF_MIN_MS;
	loop_timer_new(s->loop, on_restart_timer, svc, &svc->restart_timer);
	s->services[s->n++] = svc;
	return 0;
}

void supervisor_start_all(struct supervisor *s)
{
	for (size_t i = 0; i < s->n; i++)
		service_start(s->services[i]);
}

static size_t running(struct supervisor *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->services[i]->pid != 0;
	return n;
}

static void stopped_maybe_done(struct supervisor *s)
{
	void (*done)(void *) = s->done;

	if (!s->stopping || !done || running(s))
		return;
	s->done = NULL;
	loop_timer_stop(s->kill_timer);
	done(s->done_userdata);
}

static bool should_restart(const struct service *svc, int wstatus)
{
	bool ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;

	switch (svc->spec.restart) {
	case RESTART_ALWAYS:
		return true;
	case RESTART_ON_FAILURE:
		return !ok;
	default:
		return false;
	}
}

bool supervisor_child_exited(struct supervisor *s, pid_t pid, int wstatus)
{
	struct service *svc = NULL;

	for (size_t i = 0; i < s->n && !svc; i++)
		if (s->services[i]->pid == pid)
			svc = s->services[i];
	if (!svc)
		return false;
	svc->pid = 0;
	if (WIFSIGNALED(wstatus))
		status("service %s exited signal %d", svc->spec.name, WTERMSIG(wstatus));
	else
		status("service %s exited status %d", svc->spec.name, WEXITSTATUS(wstatus));
	if (!s->stopping && should_restart(svc, wstatus)) {
		if (loop_now_ms() - svc->started_ms >= STABLE_RUN_MS)
			svc->backoff_ms = BACKOFF_MIN_MS;
		status("service %s restarting in %u ms", svc->spec.name, svc->backoff_ms);
		loop_timer_in(svc->restart_timer, svc->backoff_ms);
		svc->backoff_ms = MIN(svc->backoff_ms * 2, BACKOFF_MAX_MS);
	}
	stopped_maybe_done(s);
	return true;
}

static void kill_remaining(struct loop_timer *t, void *userdata)
{
	struct supervisor *s = userdata;

	for (size_t i = 0; i < s->n; i++)
		if (s->services[i]->pid) {
			log_warning("service %s did not stop: killing it", s->services[i]->spec.name);
			kill(-s->services[i]->pid, SIGKILL);
			kill(s->services[i]->pid, SIGKILL);
		}
}

void supervisor_stop_all(struct supervisor *s, unsigned timeout_ms, void (*done)(void *userdata),
			 void *userdata)
{
	s->stopping = true;
	s->done = done;
	s->done_userdata = userdata;
	for (size_t i = 0; i < s->n; i++) {
		struct service *svc = s->services[i];
		loop_timer_stop(svc->restart_timer);
		if (svc->pid) {
			/* the whole session: a shell's children too */
			kill(-svc->pid, SIGTERM);
			kill(svc->pid, SIGTERM);
		}
	}
	if (!s->kill_timer)
		loop_timer_new(s->loop, kill_remaining, s, &s->kill_timer);
	loop_timer_in(s->kill_timer, timeout_ms);
	stopped_maybe_done(s);
}

void supervisor_free(struct supervisor *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct service *svc = s->services[i];
		close_output(svc);
		loop_timer_free(svc->restart_timer);
		free(svc->spec.argv);
		free(svc);
	}
	loop_timer_free(s->kill_timer);
	free(s);
}
