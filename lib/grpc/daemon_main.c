/* SPDX-License-Identifier: MIT */
#include "grpc.h"

#include "log.h"

int grpc_daemon_init(struct grpc_daemon *d, struct daemon_args *args)
{
	struct grpc_server_config cfg = { .max_recv_message = args->max_message_bytes };
	int r;

	d->args = args;
	r = sd_event_new(&d->event);
	if (r < 0)
		return log_error_errno(r, "cannot create event loop");
	r = grpc_server_new(d->event, &cfg, &d->server);
	if (r < 0)
		return r;
	d->health = grpc_health_register(d->server);
	r = grpc_reflection_new(mvirt_descriptor_set, mvirt_descriptor_set_len, &d->reflection);
	if (r < 0)
		return log_error_errno(r, "embedded descriptor set is malformed");
	grpc_reflection_register(d->reflection, d->server);
	return 0;
}

static void daemon_on_drained(void *userdata)
{
	struct grpc_daemon *d = userdata;

	sd_event_exit(d->event, 0);
}

static int daemon_on_stop(sd_event_source *s, void *userdata)
{
	struct grpc_daemon *d = userdata;

	(void)s;
	daemon_notify_stopping();
	if (d->on_stop)
		d->on_stop(d->userdata);
	grpc_server_shutdown(d->server, d->args->shutdown_timeout_s * 1000000ULL, daemon_on_drained,
			     d);
	return 0;
}

int grpc_daemon_serve(struct grpc_daemon *d)
{
	int r;

	for (size_t i = 0; i < d->args->n_listen; i++) {
		const char *ep = d->args->listen[i];
		if (startswith(ep, "unix:")) {
			_cleanup_free_ char *dir = xstrdup(ep + 5);
			char *slash = strrchr(dir, '/');
			if (slash && slash != dir) {
				*slash = '\0';
				r = mkdir_p(dir, 0755);
				if (r < 0)
					return log_error_errno(r, "cannot create %s", dir);
			}
		}
		r = grpc_server_listen(d->server, ep);
		if (r < 0)
			return r;
	}
	r = daemon_setup_signals(d->event, daemon_on_stop, d);
	if (r < 0)
		return log_error_errno(r, "cannot set up signal handling");
	daemon_notify_ready();
	r = sd_event_loop(d->event);
	if (r < 0)
		return log_error_errno(r, "event loop failed");
	return 0;
}

void grpc_daemon_done(struct grpc_daemon *d)
{
	grpc_server_free(d->server);
	grpc_health_free(d->health);
	grpc_reflection_free(d->reflection);
	sd_event_unref(d->event);
	*d = (struct grpc_daemon){ 0 };
}
