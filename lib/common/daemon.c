/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"

enum {
	OPT_LISTEN = 0x1000,
	OPT_DATA_DIR,
	OPT_RUN_DIR,
	OPT_LOG_ENDPOINT,
	OPT_LOG_LEVEL,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_MAX_MESSAGE,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option common_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "log-endpoint", required_argument, NULL, OPT_LOG_ENDPOINT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "max-message-size", required_argument, NULL, OPT_MAX_MESSAGE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
};

static void print_help(const struct daemon_args *a)
{
	printf("Usage: %s [OPTIONS]\n\n%s\n\nOptions:\n", a->program, a->summary);
	printf("      --listen ENDPOINT      serve on ENDPOINT (repeatable): unix:/path,\n"
	       "                             host:port, [v6]:port or http://host:port\n"
	       "                             (default unix:RUN_DIR/%s)\n",
	       a->socket_name);
	printf("      --data-dir DIR         state directory (default /var/lib/mvirt/%s)\n",
	       a->data_subdir);
	printf("      --run-dir DIR          runtime directory for sockets (default /run/mvirt)\n");
	if (a->uses_log_endpoint)
		printf("      --log-endpoint EP      audit log daemon (default unix:RUN_DIR/log.sock;\n"
		       "                             \"none\" disables auditing)\n");
	printf("      --log-level LEVEL      error, warning, notice, info (default) or debug\n"
	       "      --shutdown-timeout S   seconds in-flight calls get on shutdown (default 10)\n"
	       "      --max-message-size N   largest request message in bytes (default 4194304)\n");
	if (a->extra_usage)
		fputs(a->extra_usage, stdout);
	printf("  -h, --help                 show this help\n"
	       "      --version              show the version\n");
}

static int usage_error(const struct daemon_args *a, const char *what)
{
	fprintf(stderr, "%s: %s (see --help)\n", a->program, what);
	return -EINVAL;
}

int daemon_parse_args(struct daemon_args *a, int argc, char **argv)
{
	size_t n_extra = 0, n_common = ARRAY_SIZE(common_options);
	_cleanup_free_ struct option *opts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	unsigned long long v;
	int c, r;

	while (a->extra && a->extra[n_extra].name)
		n_extra++;
	opts = xcalloc(n_common + n_extra + 1, sizeof(*opts));
	memcpy(opts, common_options, sizeof(common_options));
	if (n_extra)
		memcpy(opts + n_common, a->extra, n_extra * sizeof(*opts));
	shortopts = xasprintf("h%s", a->extra_short ? a->extra_short : "");
	a->shutdown_timeout_s = 10;
	a->max_message_bytes = 4u << 20;

	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			a->listen = xrealloc(a->listen, (a->n_listen + 1) * sizeof(char *));
			a->listen[a->n_listen++] = xstrdup(optarg);
			break;
		case OPT_DATA_DIR:
			free(a->data_dir);
			a->data_dir = xstrdup(optarg);
			break;
		case OPT_RUN_DIR:
			free(a->run_dir);
			a->run_dir = xstrdup(optarg);
			break;
		case OPT_LOG_ENDPOINT:
			if (!a->uses_log_endpoint)
				return usage_error(a, "--log-endpoint is not used by this daemon");
			free(a->log_endpoint);
			a->log_endpoint = xstrdup(optarg);
			break;
		case OPT_LOG_LEVEL:
			r = log_level_parse(optarg);
			if (r < 0)
				return usage_error(a, "invalid --log-level");
			log_max_level = r;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			if (parse_u64(optarg, 3600, &v) < 0)
				return usage_error(a, "invalid --shutdown-timeout (0-3600 seconds)");
			a->shutdown_timeout_s = (unsigned)v;
			break;
		case OPT_MAX_MESSAGE:
			if (parse_u64(optarg, 1u << 30, &v) < 0 || v < 1024)
				return usage_error(a, "invalid --max-message-size (1024 - 1073741824)");
			a->max_message_bytes = (size_t)v;
			break;
		case 'h':
		case OPT_HELP:
			print_help(a);
			return 1;
		case OPT_VERSION:
			printf("%s %s\n", a->program, MVIRT_VERSION_STRING);
			return 1;
		case '?':
			return -EINVAL; /* getopt already printed why */
		default:
			if (!a->on_extra)
				return usage_error(a, "unknown option");
			r = a->on_extra(c, optarg, a->userdata);
			if (r < 0)
				return r;
		}
	}
	if (optind < argc)
		return usage_error(a, "unexpected argument");

	if (!a->run_dir)
		a->run_dir = xstrdup("/run/mvirt");
	if (!a->data_dir)
		a->data_dir = xasprintf("/var/lib/mvirt/%s", a->data_subdir);
	if (a->uses_log_endpoint) {
		if (!a->log_endpoint)
			a->log_endpoint = xasprintf("unix:%s/log.sock", a->run_dir);
		else if (streq(a->log_endpoint, "none")) {
			free(a->log_endpoint);
			a->log_endpoint = NULL;
		}
	}
	if (a->n_listen == 0) {
		a->listen = xmalloc(sizeof(char *));
		a->listen[a->n_listen++] = xasprintf("unix:%s/%s", a->run_dir, a->socket_name);
	}
	return 0;
}

void daemon_args_free(struct daemon_args *a)
{
	for (size_t i = 0; i < a->n_listen; i++)
		free(a->listen[i]);
	free(a->listen);
	free(a->data_dir);
	free(a->run_dir);
	free(a->log_endpoint);
	a->listen = NULL;
	a->n_listen = 0;
	a->data_dir = a->run_dir = a->log_endpoint = NULL;
}

int mkdir_p(const char *path, unsigned mode)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

struct stop_hook {
	sd_event_handler_t fn;
	void *userdata;
	bool stopping;
};
static struct stop_hook stop_hook;

/* First SIGTERM/SIGINT: graceful stop through the daemon's hook. A second one
 * while stopping means the operator does not want to wait: exit at once. */
static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)userdata;
	if (stop_hook.stopping) {
		log_warning("second signal %u while stopping: exiting now", si->ssi_signo);
		_exit(1);
	}
	stop_hook.stopping = true;
	log_info("received signal %u, shutting down", si->ssi_signo);
	return stop_hook.fn(s, stop_hook.userdata);
}

int daemon_setup_signals(sd_event *e, sd_event_handler_t on_stop, void *userdata)
{
	sigset_t mask;
	int r;

	stop_hook = (struct stop_hook){ on_stop, userdata, false };
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_add_signal(e, NULL, SIGTERM, on_stop_signal, NULL);
	if (r < 0)
		return r;
	r = sd_event_add_signal(e, NULL, SIGINT, on_stop_signal, NULL);
	if (r < 0)
		return r;
	return sd_event_set_watchdog(e, true) < 0 ? -EIO : 0;
}

void daemon_notify_ready(void)
{
	sd_notify(0, "READY=1\nSTATUS=serving");
}

void daemon_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
