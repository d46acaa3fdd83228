/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

int proc_spawn(char *const *argv, const char *log_path, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* our threads block every signal; the hypervisor must start clean */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	r = -posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

int proc_parse_stat_start(const char *text, size_t len, uint64_t *out)
{
	/* "pid (comm) state ppid ..." — comm may contain spaces and ')': the
	 * fields start after the last ')' */
	const char *end = text + len, *p = NULL;
	unsigned long long v = 0;
	int field = 2;

	for (const char *c = text; c < end; c++)
		if (*c == ')')
			p = c;
	if (!p)
		return -EBADMSG;
	p++;
	while (p < end && field < 22) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		field++;
		if (field == 22) {
			const char *q = p;
			if (q >= end || *q < '0' || *q > '9')
				return -EBADMSG;
			while (q < end && *q >= '0' && *q <= '9') {
				if (v > (UINT64_MAX - 9) / 10)
					return -EBADMSG;
				v = v * 10 + (unsigned long long)(*q - '0');
				q++;
			}
			*out = v;
			return 0;
		}
		while (p < end && *p != ' ')
			p++;
	}
	return -EBADMSG;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

int proc_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return proc_parse_stat_start(buf, (size_t)n, out);
}

bool proc_is_ours(pid_t pid, uint64_t start, const char *needle)
{
	char path[64];
	_cleanup_free_ char *buf = xmalloc(65536);
	uint64_t now;
	ssize_t n;

	if (pid <= 1 || proc_start_time(pid, &now) < 0 || now != start)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_file(path, buf, 65536);
	if (n <= 0)
		return false;
	/* arguments are NUL-separated: look in each */
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (strstr(buf + i, needle))
			return true;
	return false;
}

int proc_pidfd(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

void proc_log_tail(const char *path, char *out, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[2048];
	off_t size;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0 || max == 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* the last non-empty line, printable only */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	char *line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	size_t k = 0;
	for (; *line && k + 1 < max; line++)
		out[k++] = (*line >= 0x20 && *line < 0x7f) ? *line : '?';
	out[k] = '\0';
}
