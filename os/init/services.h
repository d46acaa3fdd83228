/* SPDX-License-Identifier: MIT */
/*
 * The service supervisor: starts each service with its output on a pipe that
 * the init copies to the console line by line with a "NAME: " prefix,
 * restarts by policy with exponential backoff, and stops them all at
 * shutdown (SIGTERM, then SIGKILL after a timeout).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "loop.h"

struct supervisor;

int supervisor_new(struct loop *l, struct supervisor **out);
void supervisor_free(struct supervisor *s);

/* Takes over spec->argv. */
int supervisor_add(struct supervisor *s, struct service_spec *spec);
void supervisor_start_all(struct supervisor *s);

/* A child exited (from the init's SIGCHLD reaping): true if it was a service. */
bool supervisor_child_exited(struct supervisor *s, pid_t pid, int wstatus);

/* Stop everything: SIGTERM now, SIGKILL after timeout_ms; done() runs once
 * no service runs any more (maybe at once). No restarts after this. */
void supervisor_stop_all(struct supervisor *s, unsigned timeout_ms,
			 void (*done)(void *userdata), void *userdata);
