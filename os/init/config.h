/* SPDX-License-Identifier: MIT */
/*
 * /etc/mvirt/init.conf: the services an appliance built on this init runs.
 *
 *   # comment
 *   [service web]
 *   exec = /bin/httpd -f -p 80     (split like a shell word list, see split_words)
 *   restart = always                (no | on-failure | always; default no)
 *
 * A pure parser over the file's text: a broken file is reported with its
 * line number and nothing of it is used.
 */
#pragma once

#include <stddef.h>

#include "cmdline.h"

#define CONFIG_MAX_SERVICES 32
#define SERVICE_NAME_MAX 32

struct service_spec {
	char name[SERVICE_NAME_MAX];
	char **argv; /* one allocation (split_words) */
	size_t argc;
	enum restart_policy restart;
};

struct init_config {
	struct service_spec services[CONFIG_MAX_SERVICES];
	size_t n_services;
};

/* 0, or -EINVAL with "line N: reason" in err. */
int config_parse(const char *text, struct init_config *out, char *err, size_t errlen);
void config_free(struct init_config *c);

/* Service names: [a-zA-Z0-9_.-], 1..SERVICE_NAME_MAX-1 characters. */
bool service_name_valid(const char *s);
