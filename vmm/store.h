/* SPDX-License-Identifier: MIT */
/*
 * The VM manager's records in SQLite: the reference schema (vms, vm_runtime)
 * plus our columns — last_error, and in vm_runtime what re-adopting a
 * hypervisor after a daemon restart needs to prove it is the same process
 * (its start time), the driver that runs it, and the host resources it holds
 * (TAP names, whether guest memory is shared). Each function is one atomic
 * unit under the store's mutex (worker threads share the connection).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ids.h"

enum vm_state {
	VM_UNSPECIFIED = 0,
	VM_STOPPED = 1,
	VM_STARTING = 2,
	VM_RUNNING = 3,
	VM_STOPPING = 4,
	VM_PAUSED = 5,
};

const char *vm_state_name(enum vm_state s);      /* "stopped", ... (database) */
const char *vm_state_upper(enum vm_state s);     /* "STOPPED", ... (messages) */
enum vm_state vm_state_parse(const char *s);
static inline bool vm_state_has_process(enum vm_state s)
{
	return s == VM_STARTING || s == VM_RUNNING || s == VM_PAUSED || s == VM_STOPPING;
}

struct vm_runtime {
	pid_t pid;
	uint64_t pid_start;    /* /proc/PID/stat start time, in clock ticks since boot */
	char *control_socket;  /* QMP or cloud-hypervisor API socket */
	char *serial_socket;
	char *hypervisor;      /* "qemu" or "cloud-hypervisor" */
	char *taps;            /* TAP devices we made, comma-separated ("" none) */
	bool shared_memory;
};

struct vm_record {
	char id[UUID_STR_LEN];
	char *name;            /* NULL: none */
	enum vm_state state;
	Mvirt__VmConfig *config;
	int64_t created_at;
	bool has_started_at;
	int64_t started_at;
	char *last_error;      /* NULL: none */
	bool has_runtime;
	struct vm_runtime rt;
};

void vm_record_clear(struct vm_record *r);
void vm_record_list_free(struct vm_record *v, size_t n);
void vm_runtime_clear(struct vm_runtime *rt);

struct vmstore;

int vmstore_open(const char *path, struct vmstore **out);
void vmstore_close(struct vmstore *s);

/* By id, then by name: -ENOENT, -ENOTUNIQ (a name several VMs share, only in
 * a reference database), 0. */
int vmstore_resolve(struct vmstore *s, const char *ref, struct vm_record *out);
int vmstore_get(struct vmstore *s, const char *id, struct vm_record *out);
/* created_at descending, ties by id ascending. */
int vmstore_list(struct vmstore *s, struct vm_record **out, size_t *n);
int vmstore_name_taken(struct vmstore *s, const char *name, bool *taken);
int vmstore_insert(struct vmstore *s, const struct vm_record *r);
int vmstore_delete(struct vmstore *s, const char *id);
int vmstore_set_config(struct vmstore *s, const char *id, const Mvirt__VmConfig *c);

/* The state, and what goes with it. started: set started_at to now.
 * last_error: NULL keeps it, "" clears it, else sets it. */
int vmstore_set_state(struct vmstore *s, const char *id, enum vm_state state, bool started,
		      const char *last_error);
int vmstore_set_runtime(struct vmstore *s, const char *id, const struct vm_runtime *rt);
int vmstore_clear_runtime(struct vmstore *s, const char *id);
