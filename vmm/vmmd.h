/* SPDX-License-Identifier: MIT */
/*
 * Internals of mvirt-vmm shared by its files.
 *
 * Threads: RPCs that touch a VM run on worker threads (workq.h) under the
 * key "vm:<id>", so operations on one VM are serialized while others run;
 * CreateVm runs under "name:<name>". The loop thread owns what lives on
 * file descriptors: each running VM's pidfd (exit detection), its serial
 * connection and console log, stop timers, Console and WatchVms streams.
 * Workers hand things to the loop with workq_post.
 */
#pragma once

#include <stdatomic.h>

#include "audit.h"
#include "hv.h"
#include "mvirt.pb-c.h"
#include "server.h"
#include "store.h"
#include "workq.h"

#define LOG_LEVEL_ERROR 2
#define LOG_LEVEL_AUDIT 4

struct vmm_config {
	const char *run_dir;           /* <run>/vms/<id>/: sockets, hypervisor log, seed */
	const char *data_dir;          /* <data>/vms/<id>/console.log */
	const char *const *disk_roots; /* allowed roots of disk paths */
	size_t n_disk_roots;
	const char *const *boot_roots; /* allowed roots of kernel/initramfs */
	size_t n_boot_roots;
	const char *bridge;            /* TAP NICs join it; NULL: none */
	unsigned stop_timeout_s;
	uint64_t console_log_size;
	int start_timeout_ms;
	struct hv_settings hv;
	const struct hv_driver *driver;
};

struct vm_live;   /* a VM with a process, loop-owned (service.c) */
struct watcher;
struct viewer;

struct vmm {
	sd_event *event;
	struct grpc_service grpc;
	struct workq *wq;
	struct vmstore *store;
	struct audit_client *audit;
	struct vmm_config cfg;
	struct vm_live *live;
	struct watcher *watchers;
	bool stopping;
};

struct op {
	struct vmm *vmm;
	struct grpc_call *call;
	const ProtobufCMessage *req;
	struct grpc_peer peer;
	char vm_id[UUID_STR_LEN];   /* resolved before the op was queued ("" if none) */
	void (*run)(struct op *op);
	int code;
	char msg[1024];
	ProtobufCMessage *resp;
};

int op_fail(struct op *op, int code, const char *fmt, ...) PRINTF_FMT(3, 4);

/* The Vm message of a record (heap); _take moves the config out of r. */
Mvirt__Vm *vm_msg(const struct vm_record *r);
Mvirt__Vm *vm_msg_take(struct vm_record *r);

/* Events: build one from the record and hand it to the loop's watchers. */
void vm_event_post(struct vmm *vmm, Mvirt__VmEventType type, const struct vm_record *r);
/* The record of op->vm_id, with NOT_FOUND if it vanished meanwhile. */
int op_load(struct op *op, struct vm_record *r);

/* Audit an event of VM r: related ids are its id, extra_id (may be NULL:
 * e.g. a detached disk) and its disks' paths and NICs' MACs. */
void vm_audit(struct vmm *vmm, int level, const struct grpc_peer *peer,
	      const struct vm_record *r, const char *extra_id, const char *fmt, ...)
	PRINTF_FMT(6, 7);

/* RPCs carried out on workers (vm.c). */
void op_create_vm(struct op *op);
void op_get_vm(struct op *op);
void op_list_vms(struct op *op);
void op_delete_vm(struct op *op);
void op_start_vm(struct op *op);
void op_stop_vm(struct op *op);
void op_kill_vm(struct op *op);
void op_pause_vm(struct op *op);
void op_resume_vm(struct op *op);
void op_reboot_vm(struct op *op);
void op_attach_disk(struct op *op);
void op_detach_disk(struct op *op);
void op_attach_nic(struct op *op);
void op_detach_nic(struct op *op);
void op_get_system_info(struct op *op);

/* Paths of a VM's files. */
void vm_run_dir(const struct vmm *vmm, const char *id, char *out, size_t size);
void vm_console_path(const struct vmm *vmm, const char *id, char *out, size_t size);

/* Loop side (service.c), called through workq_post from workers: */
struct vm_handover {
	struct vmm *vmm;
	char id[UUID_STR_LEN];
	pid_t pid;
	char serial_socket[4096];
	bool reset_console;
};
/* Start watching a VM's process and reading its console. */
void live_adopt(void *handover);
/* SIGKILL now / after the stop timeout. */
void live_kill_post(struct vmm *vmm, const char *id);
void live_stop_timer_post(struct vmm *vmm, const char *id, unsigned timeout_s);

/* Worker side of a process exit (vm.c): clean up, record, audit. */
struct vm_exit {
	struct vmm *vmm;
	char id[UUID_STR_LEN];
	bool have_status;
	int code, status;   /* si_code, si_status of waitid */
};
void vm_exited_work(void *exit);

/* Recovery at start (vm.c): re-adopt or mark stopped. */
void vmm_recover(struct vmm *vmm);
/* Host resources of a run: TAPs, seed, sockets (vm.c). */
void vm_release_runtime(struct vmm *vmm, const struct vm_record *r);
