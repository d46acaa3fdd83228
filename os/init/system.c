/* SPDX-License-Identifier: MIT */
#include "system.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct api_mount {
	const char *source, *target, *fstype;
	unsigned long flags;
	const char *options;
	mode_t mode;
};

static const struct api_mount api_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755 },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666", 0755 },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755 },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
};

/* Is target a mount point already (the kernel may have mounted devtmpfs)? */
static bool is_mounted(const char *target)
{
	struct stat st, parent;
	char up[64];

	snprintf(up, sizeof(up), "%s/..", target);
	if (stat(target, &st) < 0 || stat(up, &parent) < 0)
		return false;
	return st.st_dev != parent.st_dev;
}

int system_mount_api(void)
{
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(api_mounts); i++) {
		const struct api_mount *m = &api_mounts[i];
		mkdir(m->target, m->mode);
		if (is_mounted(m->target))
			continue;
		if (mount(m->source, m->target, m->fstype, m->flags, m->options) < 0)
			ret = log_error_errno(errno, "cannot mount %s on %s", m->fstype, m->target);
	}
	/* the usual links into /proc for programs that expect them */
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	mkdir("/etc", 0755);
	return ret;
}

void system_console(void)
{
	int fd;

	if (fcntl(STDOUT_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i); /* dup2 clears CLOEXEC on the copies */
	if (fd > 2)
		close(fd);
}

static int write_file(const char *path, const char *text)
{
	char tmp[256];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(text);

	/* write then rename: a reader never sees half a file */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n) {
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

int system_set_hostname(const char *name)
{
	char line[80];

	if (sethostname(name, strlen(name)) < 0)
		return log_error_errno(errno, "cannot set hostname %s", name);
	snprintf(line, sizeof(line), "%s\n", name);
	return write_file("/etc/hostname", line);
}

int system_write_resolv_conf(const struct in_addr *v4, size_t n4, const struct in6_addr *v6,
			     size_t n6, const char *search_domain)
{
	char text[1024], addr[INET6_ADDRSTRLEN];
	size_t len = 0;

	if (n4 + n6 == 0)
		return 0;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "# written by mvirt-init\n");
	if (search_domain && search_domain[0])
		len += (size_t)snprintf(text + len, sizeof(text) - len, "search %s\n",
					search_domain);
	/* resolvers read at most 3 nameservers */
	for (size_t i = 0; i < n4 && i < 3 && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "nameserver %s\n",
					inet_ntop(AF_INET, &v4[i], addr, sizeof(addr)));
	for (size_t i = 0; i < n6 && n4 + i < 3 && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "nameserver %s\n",
					inet_ntop(AF_INET6, &v6[i], addr, sizeof(addr)));
	return write_file("/etc/resolv.conf", text);
}

/* Unmount everything but the root, innermost first; a busy one is detached. */
static void unmount_all(void)
{
	char targets[64][128];
	size_t n = 0;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mounts", "re");
	char line[512];

	if (!f)
		return;
	while (n < ARRAY_SIZE(targets) && fgets(line, sizeof(line), f)) {
		char src[128], target[128];
		if (sscanf(line, "%127s %127s", src, target) == 2 && !streq(target, "/"))
			snprintf(targets[n++], sizeof(targets[0]), "%s", target);
	}
	while (n-- > 0)
		if (umount2(targets[n], 0) < 0 && errno != EINVAL && errno != ENOENT)
			umount2(targets[n], MNT_DETACH);
}

_Noreturn void system_final(bool reboot_after)
{
	/* whatever is left of services' children and orphans */
	kill(-1, SIGTERM);
	usleep(200 * 1000);
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	sync();
	unmount_all();
	sync();
	reboot(reboot_after ? RB_AUTOBOOT : RB_POWER_OFF);
	/* reboot(2) only fails without CAP_SYS_BOOT: nothing left to try */
	for (;;)
		pause();
}
