/* SPDX-License-Identifier: MIT */
/* mvirt.log.LogService: Log (group-committed) and Query (backlog + follow). */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "server.h"
#include "store.h"

struct log_service_config {
	unsigned retention_days;  /* 0: keep entries of any age */
	uint64_t max_entries;	  /* 0: no count limit */
	unsigned retention_interval_s;
};

struct log_service;

int log_service_new(sd_event *event, struct log_store *store, const struct log_service_config *cfg,
		    struct log_service **out);
const struct grpc_service *log_service_grpc(struct log_service *svc);
void log_service_free(struct log_service *svc);
