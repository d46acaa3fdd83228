/* SPDX-License-Identifier: MIT */
/*
 * The audit client every daemon uses to write to mvirt-log. audit_log()
 * never blocks and never fails an RPC: it puts the entry in a bounded queue
 * that a worker thread delivers with retries (mvirt-log may be down or
 * restarting); when the queue is full the entry is dropped and counted.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define AUDIT_QUEUE_MAX 10000

struct audit_client;

/* endpoint NULL: auditing disabled (audit_log does nothing). */
int audit_client_new(const char *endpoint, const char *component, struct audit_client **out);
/* Deliver what is queued for up to flush_ms, then stop. */
void audit_client_free(struct audit_client *a, int flush_ms);
/* The same, and the final counts (either pointer may be NULL): entries
 * delivered, and entries lost (queue full, rejected by mvirt-log, or still
 * queued when flush_ms ran out). */
void audit_client_free_counts(struct audit_client *a, int flush_ms, uint64_t *delivered,
			      uint64_t *dropped);

/*
 * Queue an entry (level: mvirt.log LogLevel number). caller, when given, is
 * appended to the message as who asked for the operation. Returns 0, or
 * -ENOBUFS when the queue was full and the entry was dropped.
 */
int audit_log(struct audit_client *a, int level, const struct grpc_peer *caller,
	      const char *const *object_ids, size_t n_ids, const char *fmt, ...)
	PRINTF_FMT(6, 7);

uint64_t audit_dropped(struct audit_client *a);
uint64_t audit_delivered(struct audit_client *a);
