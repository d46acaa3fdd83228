/* SPDX-License-Identifier: MIT */
#include "health.h"

#include "health.pb-c.h"

struct grpc_health;

struct health_watch {
	struct grpc_health *health;
	struct grpc_call *call;
	char *service;
	int last_sent;
	struct health_watch *next;
};

struct grpc_health {
	struct grpc_server *server;
	struct grpc_service svc;
	struct health_watch *watches;
};

static int health_status(struct grpc_health *h, const char *service)
{
	const char **names;
	size_t n = grpc_server_services(h->server, &names);
	int serving = grpc_server_shutting_down(h->server)
			      ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
			      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;

	if (service[0] == '\0')
		return serving;
	for (size_t i = 0; i < n; i++)
		if (streq(names[i], service))
			return serving;
	return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
}

static void health_check(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	const Grpc__Health__V1__HealthCheckRequest *req = (const void *)m;
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	int st = health_status(ud, req->service);

	if (st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN) {
		grpc_call_finish(call, GRPC_NOT_FOUND, "unknown service");
		return;
	}
	resp.status = st;
	grpc_call_reply(call, &resp.base);
}

static void watch_send(struct health_watch *w, int st)
{
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	if (st == w->last_sent)
		return;
	resp.status = st;
	w->last_sent = st;
	grpc_call_send(w->call, &resp.base);
}

static void watch_remove(struct grpc_health *h, struct health_watch *w)
{
	for (struct health_watch **p = &h->watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	grpc_call_unref(w->call);
	free(w->service);
	free(w);
}

static void watch_on_cancel(struct grpc_call *call, void *ud)
{
	struct health_watch *w = ud;

	(void)call;
	watch_remove(w->health, w);
}

static const struct grpc_call_handlers watch_handlers = { .on_cancel = watch_on_cancel };

static void health_watch(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	const Grpc__Health__V1__HealthCheckRequest *req = (const void *)m;
	struct grpc_health *h = ud;
	struct health_watch *w = xcalloc(1, sizeof(*w));

	w->health = h;
	w->call = grpc_call_ref(call);
	w->service = xstrdup(req->service);
	w->last_sent = -1;
	w->next = h->watches;
	h->watches = w;
	grpc_call_set_handlers(call, &watch_handlers, w);
	watch_send(w, health_status(h, w->service));
}

/* Shutdown: every watcher learns NOT_SERVING, then its stream ends. */
static void health_on_shutdown(void *ud)
{
	struct grpc_health *h = ud;

	while (h->watches) {
		struct health_watch *w = h->watches;
		watch_send(w, health_status(h, w->service));
		grpc_call_finish(w->call, GRPC_UNAVAILABLE, "server shutting down");
		watch_remove(h, w);
	}
}

static const struct grpc_method health_methods[] = {
	{ "Check", GRPC_UNARY, &grpc__health__v1__health_check_request__descriptor,
	  &grpc__health__v1__health_check_response__descriptor, health_check },
	{ "Watch", GRPC_SERVER_STREAMING, &grpc__health__v1__health_check_request__descriptor,
	  &grpc__health__v1__health_check_response__descriptor, health_watch },
};

struct grpc_health *grpc_health_register(struct grpc_server *s)
{
	struct grpc_health *h = xcalloc(1, sizeof(*h));

	h->server = s;
	h->svc = (struct grpc_service){ "grpc.health.v1.Health", health_methods,
					ARRAY_SIZE(health_methods), h, health_on_shutdown };
	grpc_server_add_service(s, &h->svc);
	return h;
}

void grpc_health_free(struct grpc_health *h)
{
	if (!h)
		return;
	while (h->watches)
		watch_remove(h, h->watches);
	free(h);
}
