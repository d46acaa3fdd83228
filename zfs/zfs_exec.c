/* SPDX-License-Identifier: MIT */
/*
 * Running zfs/zpool: fork + execve of a resolved path, stdout and stderr
 * through pipes read with poll(), the child reaped through a pidfd so that a
 * hung tool (zfs-fuse's daemon gone, a pool suspended) cannot hang us past
 * the timeout. See zfs_exec.h.
 */
#include "zfs_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* daemons may run with an empty or minimal PATH; zfs lives in /sbin */
#define FALLBACK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char *zfs_bin;
static char *zpool_bin;

int zfs_exec_set_paths(const char *zfs, const char *zpool)
{
	free(zfs_bin);
	free(zpool_bin);
	zfs_bin = zfs ? xstrdup(zfs) : NULL;
	zpool_bin = zpool ? xstrdup(zpool) : NULL;
	return 0;
}

void zfs_result_free(struct zfs_result *res)
{
	free(res->out);
	res->out = NULL;
	res->out_len = 0;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Resolve name on PATH in the parent: after fork only async-signal-safe calls. */
static char *resolve_binary(const char *name)
{
	if (strchr(name, '/'))
		return is_executable(name) ? xstrdup(name) : NULL;

	const char *path = getenv("PATH");
	if (!path || !*path)
		path = FALLBACK_PATH;
	for (int pass = 0; pass < 2; pass++) {
		const char *p = path;
		while (*p) {
			size_t n = strcspn(p, ":");
			if (n > 0) {
				_cleanup_free_ char *cand = xasprintf("%.*s/%s", (int)n, p, name);
				if (is_executable(cand))
					return TAKE_PTR(cand);
			}
			p += n;
			if (*p == ':')
				p++;
		}
		if (streq(path, FALLBACK_PATH))
			break;
		path = FALLBACK_PATH;
	}
	return NULL;
}

static int close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy the last non-empty line of [s, s+n) into dst, unprintable bytes as '?'. */
static void last_line(char *dst, size_t dst_size, const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	size_t start = n;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	size_t len = MIN(n - start, dst_size - 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[start + i];
		dst[i] = (c >= 0x20 && c < 0x7f) || c >= 0x80 ? (char)c : '?';
	}
	dst[len] = '\0';
}

struct capture {
	char *out;
	size_t out_len, out_cap, out_max;
	char err[2 * ZFS_EXEC_ERR_KEEP];
	size_t err_len;
	char head[512]; /* the first bytes of stderr, for the line before a usage text */
	size_t head_len;
	bool overflow;
};

/* The message is stderr's last line, except when the tool printed its usage
 * text after the error ("invalid option 'p'\nusage:\n..."): then it is
 * the line before "usage:". */
static void error_line(char *dst, size_t dst_size, const struct capture *c)
{
	const char *head_end = c->head + c->head_len;
	const char *usage = NULL;

	for (const char *p = c->head; p + 6 <= head_end; p++)
		if ((p == c->head || p[-1] == '\n') && memcmp(p, "usage:", 6) == 0) {
			usage = p;
			break;
		}
	if (usage && usage > c->head) {
		last_line(dst, dst_size, c->head, (size_t)(usage - c->head));
		if (dst[0])
			return;
	}
	last_line(dst, dst_size, c->err, c->err_len);
}

int zfs_error_errno(const char *msg)
{
	static const struct {
		const char *needle;
		int err;
	} map[] = {
		{ "does not exist", ENOENT },
		{ "no such pool", ENOENT },
		{ "no such", ENOENT },
		{ "already exists", EEXIST },
		{ "dependent clones", ENOTEMPTY },
		{ "has children", ENOTEMPTY },
		{ "is busy", EBUSY },
		{ "target is busy", EBUSY },
		/* zfs-fuse, a file held open: "umount failed: umount child process failed" */
		{ "cannot unmount", EBUSY },
		{ "out of space", ENOSPC },
		{ "Function not implemented", ENOSYS },
		{ "invalid option", EINVAL },
		{ "invalid property", EINVAL },
		{ "bad property", EINVAL },
		{ "invalid character", EINVAL },
		{ "permission denied", EPERM },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcasestr(msg, map[i].needle))
			return map[i].err;
	return EIO;
}


static void capture_out(struct capture *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_max) {
		c->overflow = true;
		return;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		c->out_cap = MAX(c->out_cap * 2, c->out_len + n + 1);
		c->out_cap = MIN(c->out_cap, c->out_max + 1);
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* Keep only the last ZFS_EXEC_ERR_KEEP bytes of stderr. */
static void capture_err(struct capture *c, const char *p, size_t n)
{
	size_t h = MIN(n, sizeof(c->head) - c->head_len);
	memcpy(c->head + c->head_len, p, h);
	c->head_len += h;

	if (n >= ZFS_EXEC_ERR_KEEP) {
		memcpy(c->err, p + n - ZFS_EXEC_ERR_KEEP, ZFS_EXEC_ERR_KEEP);
		c->err_len = ZFS_EXEC_ERR_KEEP;
		return;
	}
	if (c->err_len + n > sizeof(c->err)) {
		size_t drop = c->err_len + n - ZFS_EXEC_ERR_KEEP;
		memmove(c->err, c->err + drop, c->err_len - drop);
		c->err_len -= drop;
	}
	memcpy(c->err + c->err_len, p, n);
	c->err_len += n;
}

/* Read what is available on *fd; close it at EOF. */
static void drain(int *fd, struct capture *c, bool is_err)
{
	char chunk[16384];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	if (is_err)
		capture_err(c, chunk, (size_t)n);
	else
		capture_out(c, chunk, (size_t)n);
}

static _Noreturn void child_exec(const char *path, const char *const *argv, int devnull, int out_w,
				 int err_w, int report_w)
{
	sigset_t none;
	struct rlimit no_core = { 0, 0 };
	int e;

	/* own process group: a timeout kills helpers the tool may have started */
	setpgid(0, 0);
	/* zfs-fuse's zfs aborts on zvol creation: no core dumps of that */
	setrlimit(RLIMIT_CORE, &no_core);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		goto fail;
	execve(path, (char *const *)argv, environ);
fail:
	e = errno;
	(void)!write(report_w, &e, sizeof(e));
	_exit(127);
}

static int pidfd_open_child(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Wait for the child: pidfd readable (or, without pidfds, polling every 20 ms). */
static int reap(pid_t pid, int *status, bool nohang)
{
	for (;;) {
		pid_t r = waitpid(pid, status, nohang ? WNOHANG : 0);
		if (r == pid)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int zfs_exec(const char *path, const char *const *argv, int timeout_ms, size_t out_max,
	     struct zfs_result *res)
{
	_cleanup_close_ int devnull = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	_cleanup_close_ int report_r = -1, report_w = -1, pidfd = -1;
	_cleanup_free_ char *bin = NULL;
	struct capture cap = { .out_max = out_max ? out_max : ZFS_EXEC_OUT_MAX };
	int fds[2], status = 0, r;
	bool exited = false, timed_out = false;

	*res = (struct zfs_result){ .status = -1 };
	if (!path || !argv || !argv[0])
		return -EINVAL;
	if (timeout_ms <= 0)
		timeout_ms = ZFS_EXEC_TIMEOUT_MS_DEFAULT;

	bin = resolve_binary(path);
	if (!bin) {
		snprintf(res->err, sizeof(res->err), "%s: command not found", path);
		return -ENOENT;
	}

	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	out_r = fds[0], out_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	err_r = fds[0], err_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	report_r = fds[0], report_w = fds[1];

	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(bin, argv, devnull, out_w, err_w, report_w);

	/* our copies of the write ends must go, or we never see EOF */
	out_w = close_fd(out_w);
	err_w = close_fd(err_w);
	report_w = close_fd(report_w);
	pidfd = pidfd_open_child(pid);

	long long deadline = now_ms() + timeout_ms;
	while (out_r >= 0 || err_r >= 0 || !exited) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		int wait_ms;

		long long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (exited)
			/* the tool is gone; what a stray grandchild holds open
			 * is not waited for */
			wait_ms = 0;
		else
			wait_ms = pidfd >= 0 ? (int)left : (int)MIN(left, 20);

		int i_out = -1, i_err = -1, i_pid = -1;
		if (out_r >= 0)
			pfd[i_out = (int)n++] = (struct pollfd){ .fd = out_r, .events = POLLIN };
		if (err_r >= 0)
			pfd[i_err = (int)n++] = (struct pollfd){ .fd = err_r, .events = POLLIN };
		if (!exited && pidfd >= 0)
			pfd[i_pid = (int)n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };

		r = poll(pfd, n, wait_ms);
		if (r < 0 && errno != EINTR) {
			r = -errno;
			goto kill_child;
		}
		if (r == 0 && exited)
			break;
		if (r > 0 && i_out >= 0 && pfd[i_out].revents)
			drain(&out_r, &cap, false);
		if (r > 0 && i_err >= 0 && pfd[i_err].revents)
			drain(&err_r, &cap, true);
		if (cap.overflow) {
			r = -EFBIG;
			goto kill_child;
		}
		if (!exited && (pidfd < 0 || (i_pid >= 0 && r > 0 && pfd[i_pid].revents))) {
			r = reap(pid, &status, true);
			if (r < 0)
				goto kill_child;
			exited = r > 0;
		}
	}

	if (timed_out) {
		r = -ETIMEDOUT;
		goto kill_child;
	}

	res->status = status;
	res->out = cap.out ? cap.out : xstrdup("");
	if (cap.out)
		cap.out[cap.out_len] = '\0';
	res->out_len = cap.out_len;

	int exec_errno = 0;
	if (read(report_r, &exec_errno, sizeof(exec_errno)) == (ssize_t)sizeof(exec_errno)) {
		snprintf(res->err, sizeof(res->err), "%s: %s", bin, strerror(exec_errno));
		return -exec_errno;
	}
	error_line(res->err, sizeof(res->err), &cap);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		res->err[0] = '\0';
		return 0;
	}
	if (WIFSIGNALED(status)) {
		/* "internal error: Function not implemented" precedes zfs-fuse's abort */
		if (res->err[0] && zfs_error_errno(res->err) == ENOSYS)
			return -ENOSYS;
		if (!res->err[0])
			snprintf(res->err, sizeof(res->err), "%s killed by signal %d", argv[0],
				 WTERMSIG(status));
		return -ECHILD;
	}
	if (!res->err[0]) {
		snprintf(res->err, sizeof(res->err), "%s exited with status %d", argv[0],
			 WEXITSTATUS(status));
		return -EIO;
	}
	return -zfs_error_errno(res->err);

kill_child:
	if (!exited) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		(void)reap(pid, &status, false);
	}
	free(cap.out);
	res->status = -1;
	if (r == -ETIMEDOUT)
		snprintf(res->err, sizeof(res->err), "%s timed out after %d ms", argv[0], timeout_ms);
	else if (r == -EFBIG)
		snprintf(res->err, sizeof(res->err), "%s printed more than %zu bytes", argv[0],
			 cap.out_max);
	else
		snprintf(res->err, sizeof(res->err), "%s: %s", argv[0], strerror(-r));
	return r;
}

static int run_tool(const char *bin, const char *name, const char *const *args, int timeout_ms,
		    struct zfs_result *res)
{
	const char *argv[ZFS_EXEC_ARGS_MAX + 2];
	size_t n = 0;

	argv[n++] = name;
	for (; args && args[n - 1]; n++) {
		if (n > ZFS_EXEC_ARGS_MAX) {
			*res = (struct zfs_result){ .status = -1 };
			snprintf(res->err, sizeof(res->err), "too many arguments for %s", name);
			return -E2BIG;
		}
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	return zfs_exec(bin ? bin : name, argv, timeout_ms, 0, res);
}

int zfs_run(const char *const *args, int timeout_ms, struct zfs_result *res)
{
	return run_tool(zfs_bin, "zfs", args, timeout_ms, res);
}

int zpool_run(const char *const *args, int timeout_ms, struct zfs_result *res)
{
	return run_tool(zpool_bin, "zpool", args, timeout_ms, res);
}
