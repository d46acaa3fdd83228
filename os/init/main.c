/* SPDX-License-Identifier: MIT */
/*
 * mvirt-init: PID 1 of the mvirt guest OS. In order: API filesystems and
 * console, banner, network (DHCPv4, RA, DHCPv6 per NIC, concurrently),
 * hostname, the services of mvirt.run= and /etc/mvirt/init.conf, "ready";
 * then it reaps children and waits for the power button or a signal to stop
 * the services, release the leases and power off or reboot. os/README.md
 * documents the status lines it prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "power.h"
#include "seed.h"
#include "services.h"
#include "status.h"
#include "system.h"

#define INIT_CONF "/etc/mvirt/init.conf"
#define STOP_TIMEOUT_MS 5000

struct init {
	struct loop *loop;
	struct cmdline cmdline;
	struct supervisor *services;
	struct net *net;
	struct power_button *power;
	int signal_fd;
	struct loop_io *signal_io;
	bool shutting_down, reboot_after;
};

static void read_cmdline(struct init *in, char *line, size_t size)
{
	_cleanup_close_ int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, line, size - 1) : -1;

	line[n > 0 ? n : 0] = 0;
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = 0;
	cmdline_parse(line, &in->cmdline);
}

static void banner(const char *cmdline)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	status("version %s kernel %s cmdline %s", MVIRT_VERSION, u.release, cmdline);
}

/* ---- services ---- */

static void add_services(struct init *in)
{
	struct init_config conf;
	_cleanup_free_ char *text = NULL;
	char err[160];
	int r;

	for (size_t i = 0; i < in->cmdline.n_run; i++) {
		struct service_spec spec = { 0 };
		r = run_spec_parse(in->cmdline.run[i], &spec.restart, &spec.argv, &spec.argc);
		if (r < 0) {
			log_error("ignoring mvirt.run=%s: expected [no|on-failure|always:]/path args",
				  in->cmdline.run[i]);
			continue;
		}
		/* named after the program and its index among the mvirt.run= */
		const char *base = strrchr(spec.argv[0], '/') + 1;
		snprintf(spec.name, sizeof(spec.name), "%.*s-%u", SERVICE_NAME_MAX - 12,
			 base[0] ? base : "run", (unsigned)i);
		supervisor_add(in->services, &spec);
		free(spec.argv);
	}

	FILE *f = fopen(INIT_CONF, "re");
	if (!f)
		return;
	size_t cap = 0;
	ssize_t len = getdelim(&text, &cap, 0, f);
	fclose(f);
	if (len < 0)
		return;
	r = config_parse(text, &conf, err, sizeof(err));
	if (r < 0) {
		log_error("%s: %s; its services are not started", INIT_CONF, err);
		return;
	}
	for (size_t i = 0; i < conf.n_services; i++)
		supervisor_add(in->services, &conf.services[i]);
	config_free(&conf);
}

static void on_net_settled(void *userdata)
{
	struct init *in = userdata;

	if (in->shutting_down)
		return;
	supervisor_start_all(in->services);
	status("ready");
}

/* ---- shutdown ---- */

static void final_step(void *userdata)
{
	struct init *in = userdata;

	if (in->net)
		net_release(in->net);
	system_final(in->reboot_after);
}

static void begin_shutdown(struct init *in, bool reboot_after)
{
	if (in->shutting_down)
		return;
	in->shutting_down = true;
	in->reboot_after = reboot_after;
	status("%s", reboot_after ? "reboot" : "poweroff");
	supervisor_stop_all(in->services, STOP_TIMEOUT_MS, final_step, in);
}

static void on_power_button(void *userdata)
{
	begin_shutdown(userdata, false);
}

/* ---- signals ---- */

static void reap_children(struct init *in)
{
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
		supervisor_child_exited(in->services, pid, wstatus);
}

static void on_signal(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct init *in = userdata;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_children(in);
			break;
		case SIGTERM:
		case SIGUSR1: /* busybox halt: in a VM, halting is powering off */
		case SIGUSR2:
		case SIGPWR:
			begin_shutdown(in, false);
			break;
		case SIGINT: /* ctrl-alt-del, with RB_DISABLE_CAD */
			begin_shutdown(in, true);
			break;
		default:
			break;
		}
	}
	reap_children(in); /* SIGCHLDs coalesce */
}

static int watch_signals(struct init *in)
{
	sigset_t mask;

	sigemptyset(&mask);
	for (int s = 1; s < _NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && !(s >= 32 && s < SIGRTMIN))
			sigaddset(&mask, s);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	in->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (in->signal_fd < 0)
		return -errno;
	return loop_io_add(in->loop, in->signal_fd, EPOLLIN, on_signal, in, &in->signal_io);
}

/* ---- start ---- */

static void set_hostname(struct init *in)
{
	struct seed_meta meta;
	const char *name = in->cmdline.hostname, *source = "cmdline";

	if (!name && seed_load(&meta) == 0 && meta.hostname[0]) {
		if (hostname_valid(meta.hostname)) {
			name = meta.hostname;
			source = "seed";
		} else {
			log_warning("seed: ignoring invalid local-hostname %s", meta.hostname);
		}
	}
	if (name && system_set_hostname(name) == 0) {
		status("hostname %s source %s", name, source);
		in->cmdline.hostname = in->cmdline.hostname ? in->cmdline.hostname : xstrdup(name);
	}
}

int main(int argc, char **argv)
{
	static struct init in = { .signal_fd = -1 };
	static char cmdline[4096];
	int r;

	if (getpid() != 1) {
		fprintf(stderr, "mvirt-init %s: the init of the mvirt guest OS; runs only as PID 1\n",
			MVIRT_VERSION);
		return argc > 1 && (streq(argv[1], "--help") || streq(argv[1], "--version")) ? 0 : 1;
	}
	system_console();
	system_mount_api();
	system_console();
	log_set_prefix("mvirt-init");
	read_cmdline(&in, cmdline, sizeof(cmdline));
	if (in.cmdline.debug)
		log_max_level = LOG_DEBUG;
	banner(cmdline);
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	umask(022);
	/* ctrl-alt-del becomes SIGINT to us instead of an immediate reboot */
	reboot(RB_DISABLE_CAD);

	r = loop_new(&in.loop);
	if (r < 0) {
		log_error_errno(r, "cannot create the event loop");
		system_final(false);
	}
	r = watch_signals(&in);
	if (r < 0)
		log_error_errno(r, "cannot watch signals: the init cannot stop cleanly");
	if (power_button_watch(in.loop, on_power_button, &in, &in.power) < 0)
		log_warning("no power button found: stop the VM by signal");
	supervisor_new(in.loop, &in.services);
	add_services(&in);
	set_hostname(&in);

	if (in.cmdline.net) {
		r = net_start(in.loop, in.cmdline.net_timeout_s, in.cmdline.hostname,
			      on_net_settled, &in, &in.net);
		if (r < 0) {
			log_error_errno(r, "network setup failed");
			on_net_settled(&in);
		}
	} else {
		on_net_settled(&in);
	}
	r = loop_run(in.loop);
	log_error_errno(r, "event loop failed");
	system_final(false);
}
