/* SPDX-License-Identifier: MIT */
/*
 * The QMP client on a real event loop against a real QEMU
 * (qemu-system-x86_64 -machine none, TCG): handshake, queries, an unknown
 * command, stop/cont with their events, a command timeout and its late
 * answer, quit, SIGKILL with a command pending, qmp_free() with commands
 * pending. Then against a hostile peer (a forked child playing QEMU):
 * garbage, no greeting, silence, a 2 MiB line, unknown ids, byte-by-byte
 * replies, a refused handshake, a second greeting. Run it under the ASan
 * build too: every path must end without a leak.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"
#include "tap.h"
#include "util.h"

#define MS 1000ULL

static char tmpdir[] = "/tmp/mvirt-qmp-XXXXXX";
static sd_event *event;

/* What one connection reported. */
struct conn {
	struct qmp *q;
	int ready;
	int closed;
	int closed_error;
	char closed_reason[256];
	char events[512]; /* event names, space separated */
	char last_event_data[512];
};

/* What one command's reply function saw. */
struct reply {
	int calls;
	int r;
	char ret[512]; /* compact JSON of the return value */
	char error_class[64];
	char error_desc[256];
};

static void on_ready(struct qmp *q, void *userdata)
{
	((struct conn *)userdata)->ready++;
}

static void on_event(struct qmp *q, const char *name, json_t *data, void *userdata)
{
	struct conn *c = userdata;
	size_t n = strlen(c->events);

	snprintf(c->events + n, sizeof(c->events) - n, "%s%s", n ? " " : "", name);
	char *d = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	snprintf(c->last_event_data, sizeof(c->last_event_data), "%s", d ? d : "");
	free(d);
}

static void on_closed(struct qmp *q, int error, const char *reason, void *userdata)
{
	struct conn *c = userdata;

	c->closed++;
	c->closed_error = error;
	snprintf(c->closed_reason, sizeof(c->closed_reason), "%s", reason);
}

static const struct qmp_callbacks callbacks = {
	.ready = on_ready,
	.event = on_event,
	.closed = on_closed,
};

static void on_reply(struct qmp *q, int r, const struct qmp_reply *reply, void *userdata)
{
	struct reply *rep = userdata;
	char *ret = reply->ret ? json_dumps(reply->ret, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	rep->calls++;
	rep->r = r;
	snprintf(rep->ret, sizeof(rep->ret), "%s", ret ? ret : "");
	snprintf(rep->error_class, sizeof(rep->error_class), "%s", reply->error_class ?: "");
	snprintf(rep->error_desc, sizeof(rep->error_desc), "%s", reply->error_desc ?: "");
	free(ret);
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* Runs the loop until *flag >= want or timeout; returns whether it got there. */
static bool run_until(const int *flag, int want, uint64_t timeout_usec)
{
	uint64_t end = now_usec() + timeout_usec;

	while (*flag < want && now_usec() < end)
		sd_event_run(event, 50 * MS);
	return *flag >= want;
}

static void run_for(uint64_t usec)
{
	uint64_t end = now_usec() + usec;

	while (now_usec() < end)
		sd_event_run(event, 20 * MS);
}

static void cmd(struct conn *c, const char *name, json_t *args, struct reply *rep)
{
	*rep = (struct reply){};
	CHECK_INT(qmp_command(c->q, name, args, on_reply, rep), 0);
}

/* ---- a real QEMU ---- */

static pid_t qemu_start(const char *sock)
{
	char qmp_arg[256];

	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", sock);
	unlink(sock);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "none", "-nodefaults",
		       "-display", "none", "-qmp", qmp_arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Connects as the VM manager will: retry while QEMU has not made its socket. */
static int qemu_connect(const char *sock, struct conn *c)
{
	uint64_t end = now_usec() + 10000 * MS;
	int r;

	*c = (struct conn){};
	do {
		r = qmp_connect(event, sock, &callbacks, c, &c->q);
		if (r != -ENOENT && r != -ECONNREFUSED)
			break;
		usleep(20 * 1000);
	} while (now_usec() < end);
	CHECK_INT(r, 0);
	if (r < 0)
		return r;
	CHECK(run_until(&c->ready, 1, 10000 * MS));
	return c->ready ? 0 : -ETIMEDOUT;
}

static int qemu_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void test_qemu_session(void)
{
	_cleanup_free_ char *sock = xasprintf("%s/a.qmp", tmpdir);
	struct conn c;
	struct reply status, version, unknown, bad_args, stop, cont, quit;

	pid_t pid = qemu_start(sock);
	if (qemu_connect(sock, &c) < 0) {
		kill(pid, SIGKILL);
		qemu_wait(pid);
		qmp_free(c.q);
		return;
	}
	CHECK_INT(c.ready, 1);

	cmd(&c, "query-status", NULL, &status);
	cmd(&c, "query-version", NULL, &version);
	cmd(&c, "no-such-command", NULL, &unknown);
	cmd(&c, "query-status", json_pack("{s:i}", "bogus", 1), &bad_args);
	CHECK(run_until(&bad_args.calls, 1, 5000 * MS));

	CHECK_INT(status.calls, 1);
	CHECK_INT(status.r, 0);
	CHECK(strstr(status.ret, "\"status\":\"running\"") != NULL);
	CHECK_INT(version.r, 0);
	json_t *v = json_loads(version.ret, 0, NULL);
	CHECK(json_integer_value(json_object_get(json_object_get(v, "qemu"), "major")) >= 7);
	json_decref(v);
	CHECK_INT(unknown.r, -EREMOTEIO);
	CHECK_STR(unknown.error_class, "CommandNotFound");
	CHECK(strstr(unknown.error_desc, "no-such-command") != NULL);
	CHECK_INT(bad_args.r, -EREMOTEIO);
	CHECK_STR(bad_args.error_class, "GenericError");

	cmd(&c, "stop", NULL, &stop);
	CHECK(run_until(&stop.calls, 1, 5000 * MS));
	CHECK_INT(stop.r, 0);
	CHECK_STR(c.events, "STOP");
	cmd(&c, "query-status", NULL, &status);
	CHECK(run_until(&status.calls, 1, 5000 * MS));
	CHECK(strstr(status.ret, "\"status\":\"paused\"") != NULL);
	cmd(&c, "cont", NULL, &cont);
	CHECK(run_until(&cont.calls, 1, 5000 * MS));
	CHECK_INT(cont.r, 0);
	CHECK_STR(c.events, "STOP RESUME");

	/* QEMU announces SHUTDOWN, may or may not answer, then closes */
	cmd(&c, "quit", NULL, &quit);
	CHECK(run_until(&c.closed, 1, 5000 * MS));
	CHECK_INT(quit.calls, 1);
	CHECK(quit.r == 0 || quit.r == -ECONNRESET);
	CHECK_STR(c.events, "STOP RESUME SHUTDOWN");
	CHECK_STR(c.last_event_data, "{\"guest\":false,\"reason\":\"host-qmp-quit\"}");
	CHECK_INT(c.closed_error, 0);
	CHECK_INT(qmp_command(c.q, "query-status", NULL, on_reply, &status), -ENOTCONN);
	run_for(100 * MS);
	CHECK_INT(c.closed, 1);
	qmp_free(c.q);
	int st = qemu_wait(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A command that outlives its timeout gets -ETIMEDOUT; QEMU's late answer
 * is ignored and the connection goes on. */
static void test_qemu_timeout(void)
{
	_cleanup_free_ char *sock = xasprintf("%s/t.qmp", tmpdir);
	struct conn c;
	struct reply slow, after;

	pid_t pid = qemu_start(sock);
	if (qemu_connect(sock, &c) == 0) {
		kill(pid, SIGSTOP);
		qmp_set_timeout(c.q, 300 * MS);
		cmd(&c, "query-status", NULL, &slow);
		CHECK(run_until(&slow.calls, 1, 3000 * MS));
		CHECK_INT(slow.r, -ETIMEDOUT);
		kill(pid, SIGCONT);
		qmp_set_timeout(c.q, QMP_TIMEOUT_DEFAULT_USEC);
		cmd(&c, "query-version", NULL, &after);
		CHECK(run_until(&after.calls, 1, 5000 * MS));
		CHECK_INT(after.r, 0);
		CHECK(strstr(after.ret, "\"qemu\"") != NULL);
		CHECK_INT(slow.calls, 1);
		CHECK_INT(c.closed, 0);
	}
	qmp_free(c.q);
	kill(pid, SIGKILL);
	qemu_wait(pid);
}

/* QEMU killed while a command waits: -ECONNRESET once, closed once. */
static void test_qemu_killed(void)
{
	_cleanup_free_ char *sock = xasprintf("%s/k.qmp", tmpdir);
	struct conn c;
	struct reply pending;

	pid_t pid = qemu_start(sock);
	if (qemu_connect(sock, &c) == 0) {
		kill(pid, SIGSTOP); /* so that the command is surely still pending */
		cmd(&c, "query-status", NULL, &pending);
		run_for(200 * MS);
		CHECK_INT(pending.calls, 0);
		kill(pid, SIGKILL);
		CHECK(run_until(&c.closed, 1, 5000 * MS));
		run_for(100 * MS);
		CHECK_INT(pending.calls, 1);
		CHECK_INT(pending.r, -ECONNRESET);
		CHECK_INT(c.closed, 1);
	}
	qmp_free(c.q);
	kill(pid, SIGKILL);
	int st = qemu_wait(pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* qmp_free() with commands in flight: each gets -ECANCELED once, closed never. */
static void test_qemu_free_pending(void)
{
	_cleanup_free_ char *sock = xasprintf("%s/f.qmp", tmpdir);
	struct conn c;
	struct reply a, b;

	pid_t pid = qemu_start(sock);
	if (qemu_connect(sock, &c) == 0) {
		kill(pid, SIGSTOP);
		cmd(&c, "query-status", NULL, &a);
		cmd(&c, "query-version", NULL, &b);
		run_for(100 * MS);
		qmp_free(c.q);
		CHECK_INT(a.calls, 1);
		CHECK_INT(a.r, -ECANCELED);
		CHECK_INT(b.calls, 1);
		CHECK_INT(b.r, -ECANCELED);
		run_for(100 * MS);
		CHECK_INT(a.calls, 1);
		CHECK_INT(c.closed, 0);
	} else {
		qmp_free(c.q);
	}
	kill(pid, SIGKILL);
	qemu_wait(pid);
}

static void free_on_reply(struct qmp *q, int r, const struct qmp_reply *reply, void *userdata)
{
	on_reply(q, r, reply, userdata);
	qmp_free(q);
}

/* qmp_free() from inside a reply function, with another command queued
 * behind it: that one is cancelled once, nothing runs on the freed memory. */
static void test_qemu_free_in_callback(void)
{
	_cleanup_free_ char *sock = xasprintf("%s/c.qmp", tmpdir);
	struct conn c;
	struct reply a = {}, b = {};

	pid_t pid = qemu_start(sock);
	if (qemu_connect(sock, &c) == 0) {
		CHECK_INT(qmp_command(c.q, "query-status", NULL, free_on_reply, &a), 0);
		CHECK_INT(qmp_command(c.q, "query-version", NULL, on_reply, &b), 0);
		CHECK(run_until(&b.calls, 1, 5000 * MS));
		CHECK_INT(a.calls, 1);
		CHECK_INT(a.r, 0);
		CHECK_INT(b.r, -ECANCELED);
		run_for(100 * MS);
		CHECK_INT(b.calls, 1);
		CHECK_INT(c.closed, 0);
	} else {
		qmp_free(c.q);
	}
	kill(pid, SIGKILL);
	qemu_wait(pid);
}

/* ---- a hostile peer: a child process that accepts once and plays a script ---- */

static const char peer_greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
	"\"capabilities\": []}}\r\n";

static void peer_write(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			_exit(1);
		s += w;
		n -= (size_t)w;
	}
}

static void peer_say(int fd, const char *s)
{
	peer_write(fd, s, strlen(s));
}

/* One byte per write with a pause, so the client sees every split. */
static void peer_say_slowly(int fd, const char *s)
{
	for (; *s; s++) {
		peer_write(fd, s, 1);
		usleep(300);
	}
}

/* Reads one command line; returns its id, or exits when the client is gone. */
static long long peer_read_command(int fd)
{
	char line[4096];
	size_t n = 0;

	for (;;) {
		char ch;
		if (read(fd, &ch, 1) != 1)
			_exit(0);
		if (ch == '\n')
			break;
		if (n < sizeof(line) - 1)
			line[n++] = ch;
	}
	line[n] = '\0';
	json_t *j = json_loads(line, 0, NULL);
	long long id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

static void peer_reply(int fd, long long id, const char *ret)
{
	char s[256];

	snprintf(s, sizeof(s), "{\"return\": %s, \"id\": %lld}\r\n", ret, id);
	peer_say(fd, s);
}

/* The normal handshake, as QEMU does it. */
static void peer_handshake(int fd)
{
	peer_say(fd, peer_greeting);
	peer_reply(fd, peer_read_command(fd), "{}");
}

/* Waits for the client to hang up, so that what we sent is read first. */
static void peer_linger(int fd)
{
	char b[4096];

	while (read(fd, b, sizeof(b)) > 0)
		;
	_exit(0);
}

enum peer_script {
	PEER_GARBAGE,
	PEER_NO_GREETING,
	PEER_SILENT,
	PEER_HUGE_LINE,
	PEER_ODD_IDS_BYTEWISE,
	PEER_BAD_EVENT,
	PEER_CAPS_REFUSED,
	PEER_SECOND_GREETING,
};

static void peer_run(int fd, enum peer_script script)
{
	switch (script) {
	case PEER_GARBAGE:
		peer_say(fd, "\x01\x02garbage\xff\r\n");
		break;
	case PEER_NO_GREETING:
		peer_say(fd, "{\"return\": {}, \"id\": 1}\r\n");
		break;
	case PEER_SILENT:
		break;
	case PEER_HUGE_LINE: {
		peer_handshake(fd);
		peer_read_command(fd);
		char *huge = malloc(2 * 1024 * 1024);
		if (!huge)
			_exit(1);
		memset(huge, ' ', 2 * 1024 * 1024);
		memcpy(huge, "{\"return\": \"", 12);
		peer_write(fd, huge, 2 * 1024 * 1024);
		free(huge);
		break;
	}
	case PEER_ODD_IDS_BYTEWISE: {
		peer_say_slowly(fd, peer_greeting);
		peer_reply(fd, peer_read_command(fd), "{}");
		long long id = peer_read_command(fd);
		peer_reply(fd, 999, "5");
		peer_say(fd, "{\"return\": 6, \"id\": \"2\"}\r\n");
		peer_say(fd, "{\"return\": 7, \"id\": -2}\r\n");
		peer_say(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no id\"}}\r\n");
		peer_say_slowly(fd, "{\"event\": \"RESET\", \"data\": {\"guest\": true}, "
				    "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n");
		char s[128];
		snprintf(s, sizeof(s), "{\"id\": %lld, \"return\": {\"ok\": true}}\r\n", id);
		peer_say_slowly(fd, s);
		/* then a clean close */
		_exit(0);
	}
	case PEER_BAD_EVENT:
		peer_handshake(fd);
		peer_read_command(fd);
		peer_say(fd, "{\"event\": 1}\r\n");
		break;
	case PEER_CAPS_REFUSED:
		peer_say(fd, peer_greeting);
		peer_read_command(fd);
		peer_say(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"go away\"}, \"id\": 1}\r\n");
		break;
	case PEER_SECOND_GREETING:
		peer_handshake(fd);
		peer_read_command(fd);
		peer_say(fd, peer_greeting);
		break;
	}
	peer_linger(fd);
}

/* Listens on a fresh socket and forks the peer; returns its pid. */
static pid_t peer_start(const char *sock, enum peer_script script)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unlink(sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
		perror("peer socket");
		exit(1);
	}
	pid_t pid = fork();
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(1);
		peer_run(fd, script);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void peer_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A peer that fails the connection before ready: closed once with error. */
static void check_fails_before_ready(enum peer_script script, int want_error, uint64_t timeout_usec)
{
	_cleanup_free_ char *sock = xasprintf("%s/peer.sock", tmpdir);
	struct conn c = {};

	pid_t pid = peer_start(sock, script);
	CHECK_INT(qmp_connect(event, sock, &callbacks, &c, &c.q), 0);
	if (timeout_usec)
		qmp_set_timeout(c.q, timeout_usec);
	CHECK(run_until(&c.closed, 1, 5000 * MS));
	run_for(50 * MS);
	CHECK_INT(c.ready, 0);
	CHECK_INT(c.closed, 1);
	CHECK_INT(c.closed_error, want_error);
	CHECK(c.closed_reason[0] != '\0');
	CHECK_INT(qmp_command(c.q, "query-status", json_object(), NULL, NULL), -ENOTCONN);
	qmp_free(c.q);
	peer_stop(pid);
}

/* A peer that fails the connection while a command waits for its answer. */
static void check_fails_pending(enum peer_script script, int want_error)
{
	_cleanup_free_ char *sock = xasprintf("%s/peer.sock", tmpdir);
	struct conn c = {};
	struct reply rep;

	pid_t pid = peer_start(sock, script);
	CHECK_INT(qmp_connect(event, sock, &callbacks, &c, &c.q), 0);
	CHECK(run_until(&c.ready, 1, 5000 * MS));
	cmd(&c, "query-status", NULL, &rep);
	CHECK(run_until(&c.closed, 1, 5000 * MS));
	CHECK_INT(rep.calls, 1);
	CHECK_INT(rep.r, -ECONNRESET);
	CHECK_INT(c.closed, 1);
	CHECK_INT(c.closed_error, want_error);
	qmp_free(c.q);
	CHECK_INT(rep.calls, 1);
	peer_stop(pid);
}

static void test_peer_odd_ids_bytewise(void)
{
	_cleanup_free_ char *sock = xasprintf("%s/peer.sock", tmpdir);
	struct conn c = {};
	struct reply rep;

	pid_t pid = peer_start(sock, PEER_ODD_IDS_BYTEWISE);
	CHECK_INT(qmp_connect(event, sock, &callbacks, &c, &c.q), 0);
	CHECK(run_until(&c.ready, 1, 5000 * MS));
	cmd(&c, "query-status", NULL, &rep);
	CHECK(run_until(&rep.calls, 1, 5000 * MS));
	CHECK_INT(rep.r, 0);
	CHECK_STR(rep.ret, "{\"ok\":true}");
	CHECK_STR(c.events, "RESET");
	CHECK_STR(c.last_event_data, "{\"guest\":true}");
	CHECK(run_until(&c.closed, 1, 5000 * MS));
	CHECK_INT(c.closed_error, 0);
	CHECK_INT(rep.calls, 1);
	qmp_free(c.q);
	peer_stop(pid);
}

static void test_peer_caps_refused(void)
{
	check_fails_before_ready(PEER_CAPS_REFUSED, -EPROTO, 0);
}

static void test_connect_errors(void)
{
	_cleanup_free_ char *missing = xasprintf("%s/none.sock", tmpdir);
	char longpath[200];
	struct conn c = {};

	CHECK_INT(qmp_connect(event, missing, &callbacks, &c, &c.q), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_INT(qmp_connect(event, longpath, &callbacks, &c, &c.q), -ENAMETOOLONG);
	qmp_free(NULL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (sd_event_new(&event) < 0)
		return 1;

	test_qemu_session();
	test_qemu_timeout();
	test_qemu_killed();
	test_qemu_free_pending();
	test_qemu_free_in_callback();

	check_fails_before_ready(PEER_GARBAGE, -EBADMSG, 0);
	check_fails_before_ready(PEER_NO_GREETING, -EBADMSG, 0);
	check_fails_before_ready(PEER_SILENT, -ETIMEDOUT, 300 * MS);
	test_peer_caps_refused();
	check_fails_pending(PEER_HUGE_LINE, -EMSGSIZE);
	check_fails_pending(PEER_BAD_EVENT, -EBADMSG);
	check_fails_pending(PEER_SECOND_GREETING, -EBADMSG);
	test_peer_odd_ids_bytewise();
	test_connect_errors();

	sd_event_unref(event);
	_cleanup_free_ char *cmdline = xasprintf("rm -rf %s", tmpdir);
	if (system(cmdline) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_done();
}
