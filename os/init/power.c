/* SPDX-License-Identifier: MIT */
#include "power.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_DEVICES 8

struct power_button {
	int fds[MAX_DEVICES];
	struct loop_io *ios[MAX_DEVICES];
	size_t n;
	void (*pressed)(void *userdata);
	void *userdata;
};

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static bool can_send_power_key(int fd)
{
	unsigned long keys[KEY_MAX / BITS_PER_LONG + 1] = { 0 };

	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0)
		return false;
	return keys[KEY_POWER / BITS_PER_LONG] >> (KEY_POWER % BITS_PER_LONG) & 1;
}

static void on_event(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct power_button *p = userdata;
	struct input_event ev[16];
	ssize_t n = read(fd, ev, sizeof(ev));

	if (n < 0)
		return;
	for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
		if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1) {
			p->pressed(p->userdata);
			return;
		}
}

int power_button_watch(struct loop *l, void (*pressed)(void *userdata), void *userdata,
		       struct power_button **out)
{
	_cleanup_closedir_ DIR *d = opendir("/dev/input");
	struct power_button *p;
	struct dirent *de;

	if (!d)
		return -errno;
	p = xcalloc(1, sizeof(*p));
	p->pressed = pressed;
	p->userdata = userdata;
	while ((de = readdir(d)) && p->n < MAX_DEVICES) {
		char path[300];
		int fd;

		if (!startswith(de->d_name, "event"))
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!can_send_power_key(fd) ||
		    loop_io_add(l, fd, EPOLLIN, on_event, p, &p->ios[p->n]) < 0) {
			close(fd);
			continue;
		}
		p->fds[p->n++] = fd;
	}
	if (p->n == 0) {
		free(p);
		return -ENODEV;
	}
	*out = p;
	return 0;
}

void power_button_free(struct power_button *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		loop_io_free(p->ios[i]);
		close(p->fds[i]);
	}
	free(p);
}
