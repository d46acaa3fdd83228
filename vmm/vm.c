/* SPDX-License-Identifier: MIT */
/*
 * The VM operations, on worker threads under the VM's key: checks in
 * api.md's order, the state machine of §2.4, host resources (runtime
 * folder, TAPs, cloud-init seed) and the hypervisor driver.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>

#include "console_log.h"
#include "daemon.h"
#include "ids.h"
#include "log.h"
#include "proc.h"
#include "seed.h"
#include "tap.h"
#include "vmmd.h"

#define HV_LOG "hypervisor.log"

void vm_run_dir(const struct vmm *vmm, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/vms/%s", vmm->cfg.run_dir, id);
}

void vm_console_path(const struct vmm *vmm, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/vms/%s/console.log", vmm->cfg.data_dir, id);
}

static int set_state(struct op *op, const char *id, enum vm_state s, bool started,
		     const char *last_error)
{
	int r = vmstore_set_state(op->vmm->store, id, s, started, last_error);

	if (r < 0)
		op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-r));
	return r;
}

/* Reply with the VM as stored now; post an event of type when >= 0. */
static void reply_vm(struct op *op, int event_type)
{
	struct vm_record r = { 0 };

	if (op_load(op, &r) != 0)
		return;
	if (event_type >= 0)
		vm_event_post(op->vmm, (Mvirt__VmEventType)event_type, &r);
	op->resp = &vm_msg(&r)->base;
	vm_record_clear(&r);
}

/* ---- path rules ----------------------------------------------------------- */

static bool under(const char *path, const char *const *roots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(roots[i]);
		if (streq(roots[i], "/") ||
		    (strncmp(path, roots[i], l) == 0 && (path[l] == '/' || path[l] == '\0')))
			return true;
	}
	return false;
}

/* A disk or boot file: it exists, is a regular file or a block device,
 * and its real path lies below one of the roots. */
static int check_host_path(struct op *op, const char *what, const char *path,
			   const char *const *roots, size_t n_roots)
{
	char real[PATH_MAX];
	struct stat st;

	if (stat(path, &st) < 0)
		return op_fail(op, GRPC_INVALID_ARGUMENT, "%s %s does not exist", what, path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return op_fail(op, GRPC_INVALID_ARGUMENT,
			       "%s %s is not a regular file or block device", what, path);
	if (!realpath(path, real) || !under(real, roots, n_roots))
		return op_fail(op, GRPC_INVALID_ARGUMENT, "%s %s is outside the allowed roots", what,
			       path);
	return 0;
}

static int check_vhost_socket(struct op *op, const char *path, int code)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return op_fail(op, code, "%s does not exist", path);
	if (!S_ISSOCK(st.st_mode))
		return op_fail(op, code, "%s is not a socket", path);
	return 0;
}

static int check_config_paths(struct op *op, const Mvirt__VmConfig *c)
{
	const struct vmm_config *cfg = &op->vmm->cfg;

	for (size_t i = 0; i < c->n_disks; i++)
		if (check_host_path(op, "disk", c->disks[i]->path, cfg->disk_roots,
				    cfg->n_disk_roots) != 0)
			return op->code;
	if (vmconfig_kernel_boot(c)) {
		if (check_host_path(op, "kernel", c->kernel, cfg->boot_roots, cfg->n_boot_roots) != 0)
			return op->code;
		if (c->_initramfs_case == MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS &&
		    check_host_path(op, "initramfs", c->initramfs, cfg->boot_roots,
				    cfg->n_boot_roots) != 0)
			return op->code;
	}
	for (size_t i = 0; i < c->n_nics; i++)
		if (c->nics[i]->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET &&
		    check_vhost_socket(op, c->nics[i]->vhost_socket, GRPC_INVALID_ARGUMENT) != 0)
			return op->code;
	return 0;
}

/* ---- create, get, list, delete -------------------------------------------- */

void op_create_vm(struct op *op)
{
	const Mvirt__CreateVmRequest *req = (const void *)op->req;
	struct vmm *vmm = op->vmm;
	bool has_name = req->_name_case == MVIRT__CREATE_VM_REQUEST___NAME_NAME && req->name[0];
	struct vm_record r = { 0 };
	char err[512];
	bool taken;
	int rc;

	if (!req->config) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "config is required");
		return;
	}
	if (has_name && (!name_valid(req->name) || uuid_shaped(req->name))) {
		op_fail(op, GRPC_INVALID_ARGUMENT,
			"invalid name '%s': 1-63 chars of [A-Za-z0-9._-], starting alphanumeric, "
			"not a UUID", req->name);
		return;
	}
	if (vmconfig_check(req->config, err, sizeof(err)) < 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (check_config_paths(op, req->config) != 0)
		return;
	if (has_name) {
		rc = vmstore_name_taken(vmm->store, req->name, &taken);
		if (rc < 0) {
			op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-rc));
			return;
		}
		if (taken) {
			op_fail(op, GRPC_ALREADY_EXISTS, "VM name '%s' already exists", req->name);
			return;
		}
	}
	uuid_v4(r.id);
	r.name = has_name ? xstrdup(req->name) : NULL;
	r.state = VM_STOPPED;
	r.config = vmconfig_copy(req->config);
	vmconfig_normalize(r.config);
	r.created_at = (int64_t)time(NULL);
	rc = vmstore_insert(vmm->store, &r);
	if (rc < 0) {
		op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-rc));
		vm_record_clear(&r);
		return;
	}
	vm_audit(vmm, LOG_LEVEL_AUDIT, &op->peer, &r, NULL, "VM created: %s", r.name ? r.name : r.id);
	vm_event_post(vmm, MVIRT__VM_EVENT_TYPE__VM_EVENT_CREATED, &r);
	op->resp = &vm_msg(&r)->base;
	vm_record_clear(&r);
}

void op_get_vm(struct op *op)
{
	reply_vm(op, -1);
}

void op_list_vms(struct op *op)
{
	struct vm_record *v = NULL;
	size_t n = 0;
	Mvirt__ListVmsResponse *resp;
	int r = vmstore_list(op->vmm->store, &v, &n);

	if (r < 0) {
		op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-r));
		return;
	}
	resp = xmalloc(sizeof(*resp));
	mvirt__list_vms_response__init(resp);
	resp->vms = xcalloc(n ?: 1, sizeof(*resp->vms));
	for (size_t i = 0; i < n; i++)
		resp->vms[resp->n_vms++] = vm_msg_take(&v[i]);
	vm_record_list_free(v, n);
	op->resp = &resp->base;
}

/* Remove a directory and the files in it (one level: ours are flat). */
static void remove_dir(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	rmdir(dir);
}

void op_delete_vm(struct op *op)
{
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char dir[PATH_MAX];
	int rc;

	if (op_load(op, &r) != 0)
		return;
	if (r.state == VM_RUNNING) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "Cannot delete running VM");
		goto out;
	}
	if (r.state != VM_STOPPED) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "VM is %s", vm_state_upper(r.state));
		goto out;
	}
	rc = vmstore_delete(vmm->store, r.id);
	if (rc < 0) {
		op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-rc));
		goto out;
	}
	vm_run_dir(vmm, r.id, dir, sizeof(dir));
	remove_dir(dir);
	snprintf(dir, sizeof(dir), "%s/vms/%s", vmm->cfg.data_dir, r.id);
	remove_dir(dir);
	vm_audit(vmm, LOG_LEVEL_AUDIT, &op->peer, &r, NULL, "VM deleted: %s", r.name ? r.name : r.id);
	vm_event_post(vmm, MVIRT__VM_EVENT_TYPE__VM_EVENT_DELETED, &r);
	Mvirt__DeleteVmResponse *resp = xmalloc(sizeof(*resp));
	mvirt__delete_vm_response__init(resp);
	op->resp = &resp->base;
out:
	vm_record_clear(&r);
}

/* ---- start ---------------------------------------------------------------- */

struct start_ctx {
	char dir[PATH_MAX - 64];
	char control[PATH_MAX], serial[PATH_MAX], log[PATH_MAX], seed[PATH_MAX];
	char **taps;          /* per NIC, NULL for vhost */
	size_t n_taps;
	bool shared;
};

static void start_ctx_free(struct start_ctx *c)
{
	for (size_t i = 0; i < c->n_taps; i++)
		free(c->taps[i]);
	free(c->taps);
}

/* "a,b" of the TAPs we made, for the runtime record. */
static char *taps_joined(const struct start_ctx *c)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < c->n_taps; i++) {
		if (!c->taps[i])
			continue;
		char *t = xasprintf("%s%s%s", s, s[0] ? "," : "", c->taps[i]);
		free(s);
		s = t;
	}
	return s;
}

void vm_release_runtime(struct vmm *vmm, const struct vm_record *r)
{
	char dir[PATH_MAX];

	if (r->has_runtime && r->rt.taps && r->rt.taps[0]) {
		_cleanup_free_ char *list = xstrdup(r->rt.taps);
		for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			tap_delete(t);
	}
	vmstore_clear_runtime(vmm->store, r->id);
	/* the folder holds sockets, the seed and the hypervisor's log: keep
	 * the log for last_error, drop the rest */
	vm_run_dir(vmm, r->id, dir, sizeof(dir));
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    !streq(de->d_name, HV_LOG))
			unlinkat(dirfd(d), de->d_name, 0);
}

static int make_seed(struct op *op, const struct vm_record *r, struct start_ctx *c)
{
	const Mvirt__VmConfig *cfg = r->config;
	char host[SEED_HOSTNAME_MAX + 1];
	struct seed_nic nics[VMCONFIG_MAX_NICS];
	int rc;

	for (size_t i = 0; i < cfg->n_nics; i++)
		nics[i].mac = cfg->nics[i]->mac;
	seed_hostname_sanitize(r->name, r->id, host);
	snprintf(c->seed, sizeof(c->seed), "%s/seed.iso", c->dir);
	rc = seed_build(c->seed, r->id, host, cfg->user_data, strlen(cfg->user_data), nics,
			cfg->n_nics);
	if (rc < 0)
		return op_fail(op, GRPC_INTERNAL, "cannot write the cloud-init seed: %s",
			       strerror(-rc));
	return 0;
}

static int make_taps(struct op *op, const struct vm_record *r, struct start_ctx *c)
{
	const Mvirt__VmConfig *cfg = r->config;
	char err[256];

	c->taps = xcalloc(cfg->n_nics ?: 1, sizeof(*c->taps));
	c->n_taps = cfg->n_nics;
	for (size_t i = 0; i < cfg->n_nics; i++) {
		char name[TAP_NAME_SIZE];
		if (cfg->nics[i]->_vhost_socket_case ==
		    MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET) {
			c->shared = true;
			continue;
		}
		tap_name_for(r->id, (unsigned)i, name);
		if (tap_create(name, op->vmm->cfg.bridge, err, sizeof(err)) < 0)
			return op_fail(op, GRPC_INTERNAL, "cannot create TAP %s: %s", name, err);
		c->taps[i] = xstrdup(name);
	}
	return 0;
}

/* Pre-flight of StartVm: what the config names must still exist. */
static int preflight(struct op *op, const Mvirt__VmConfig *c)
{
	struct stat st;

	for (size_t i = 0; i < c->n_disks; i++)
		if (stat(c->disks[i]->path, &st) < 0)
			return op_fail(op, GRPC_FAILED_PRECONDITION, "%s does not exist",
				       c->disks[i]->path);
	if (vmconfig_kernel_boot(c)) {
		if (stat(c->kernel, &st) < 0)
			return op_fail(op, GRPC_FAILED_PRECONDITION, "%s does not exist", c->kernel);
		if (c->_initramfs_case == MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS &&
		    stat(c->initramfs, &st) < 0)
			return op_fail(op, GRPC_FAILED_PRECONDITION, "%s does not exist",
				       c->initramfs);
	}
	for (size_t i = 0; i < c->n_nics; i++)
		if (c->nics[i]->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET &&
		    check_vhost_socket(op, c->nics[i]->vhost_socket, GRPC_FAILED_PRECONDITION) != 0)
			return op->code;
	return 0;
}

/* Whether the process has exited (a zombie counts: nobody reaped it yet). */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* Spawn and wait until the guest runs; the process is handed to the loop at
 * once, so that its exit is seen however the start ends. */
static int launch(struct op *op, const struct vm_record *r, struct start_ctx *c, pid_t *pid)
{
	struct vmm *vmm = op->vmm;
	const struct hv_driver *drv = vmm->cfg.driver;
	struct hv_spec spec = {
		.vm_id = r->id,
		.config = r->config,
		.control_socket = c->control,
		.serial_socket = c->serial,
		.seed_iso = c->seed[0] ? c->seed : NULL,
		.taps = (const char *const *)c->taps,
		.shared_memory = c->shared,
	};
	char err[HV_ERR_MAX] = "", tail[200];
	char **argv = NULL;
	struct vm_runtime rt = { 0 };
	struct timespec t0, t;
	int rc;

	rc = drv->build_argv(&vmm->cfg.hv, &spec, &argv, err);
	if (rc < 0)
		return op_fail(op, GRPC_INTERNAL, "%s", err);
	rc = proc_spawn(argv, c->log, pid);
	argv_free(argv);
	if (rc < 0)
		return op_fail(op, GRPC_INTERNAL, "cannot run %s: %s", drv->name, strerror(-rc));
	rt.pid = *pid;
	proc_start_time(*pid, &rt.pid_start);
	rt.control_socket = c->control;
	rt.serial_socket = c->serial;
	rt.hypervisor = (char *)drv->name;
	rt.taps = taps_joined(c);
	rt.shared_memory = c->shared;
	rc = vmstore_set_runtime(vmm->store, r->id, &rt);
	free(rt.taps);
	if (rc < 0)
		return op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-rc));

	struct vm_handover *h = xcalloc(1, sizeof(*h));
	h->vmm = vmm;
	memcpy(h->id, r->id, sizeof(h->id));
	h->pid = *pid;
	snprintf(h->serial_socket, sizeof(h->serial_socket), "%s", c->serial);
	h->reset_console = true;
	workq_post(vmm->wq, live_adopt, h);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct stat st;
		rc = drv->wait_running(&vmm->cfg.hv, c->control, 500, err);
		/* running, and its serial socket is there for Console calls */
		if (rc == 0 && stat(c->serial, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (rc == 0) {
			snprintf(err, sizeof(err), "no serial socket yet");
			rc = -ENOENT;
			struct timespec pause = { 0, 10 * 1000000L };
			nanosleep(&pause, NULL);
		}
		if (proc_gone(*pid)) {
			proc_log_tail(c->log, tail, sizeof(tail));
			return op_fail(op, GRPC_INTERNAL, "%s exited during start: %s", drv->name,
				       tail[0] ? tail : err);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    vmm->cfg.start_timeout_ms)
			return op_fail(op, GRPC_INTERNAL, "not running after %d ms: %s",
				       vmm->cfg.start_timeout_ms, err);
	}
}

/* Undo a start that failed: the process (the loop reaps it), TAPs, the
 * folder; record why, and turn op's status into api.md's message. */
static void start_failed(struct op *op, const struct vm_record *r, struct start_ctx *c, pid_t pid)
{
	struct vmm *vmm = op->vmm;
	struct vm_record cur = { 0 };
	char reason[1024], why[1100];

	snprintf(reason, sizeof(reason), "%s", op->msg);
	snprintf(why, sizeof(why), "start failed: %s", reason);
	if (pid > 0)
		kill(pid, SIGKILL);
	if (vmstore_get(vmm->store, r->id, &cur) == 0) {
		if (!cur.has_runtime) {
			/* failed before the runtime was recorded: the TAPs made so far */
			cur.has_runtime = true;
			cur.rt.taps = taps_joined(c);
		}
		vm_release_runtime(vmm, &cur);
	}
	vm_record_clear(&cur);
	vmstore_set_state(vmm->store, r->id, VM_STOPPED, false, why);
	vm_audit(vmm, LOG_LEVEL_ERROR, &op->peer, r, NULL, "VM start failed: %s", reason);
	op_fail(op, GRPC_INTERNAL, "Failed to start VM: %s", reason);
	if (vmstore_get(vmm->store, r->id, &cur) == 0)
		vm_event_post(vmm, MVIRT__VM_EVENT_TYPE__VM_EVENT_STOPPED, &cur);
	vm_record_clear(&cur);
}

void op_start_vm(struct op *op)
{
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	struct start_ctx c = { 0 };
	pid_t pid = 0;

	if (op_load(op, &r) != 0)
		return;
	if (r.state == VM_RUNNING) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "VM is already running");
		goto out;
	}
	if (r.state != VM_STOPPED) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "VM is %s", vm_state_upper(r.state));
		goto out;
	}
	if (preflight(op, r.config) != 0)
		goto out;
	if (set_state(op, r.id, VM_STARTING, false, NULL) < 0)
		goto out;
	r.state = VM_STARTING;
	vm_event_post(vmm, MVIRT__VM_EVENT_TYPE__VM_EVENT_UNSPECIFIED, &r);

	vm_run_dir(vmm, r.id, c.dir, sizeof(c.dir));
	snprintf(c.control, sizeof(c.control), "%s/control.sock", c.dir);
	snprintf(c.serial, sizeof(c.serial), "%s/serial.sock", c.dir);
	snprintf(c.log, sizeof(c.log), "%s/" HV_LOG, c.dir);
	if (mkdir_p(c.dir, 0750) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot create %s: %m", c.dir);
	} else {
		unlink(c.control);
		unlink(c.serial);
		if ((r.config->_user_data_case != MVIRT__VM_CONFIG___USER_DATA_USER_DATA ||
		     make_seed(op, &r, &c) == 0) &&
		    make_taps(op, &r, &c) == 0)
			launch(op, &r, &c, &pid);
	}
	if (op->code != GRPC_OK) {
		start_failed(op, &r, &c, pid);
		goto out;
	}
	if (set_state(op, r.id, VM_RUNNING, true, "") < 0)
		goto out;
	vm_audit(vmm, LOG_LEVEL_AUDIT, &op->peer, &r, NULL, "VM started: %s", r.name ? r.name : r.id);
	reply_vm(op, MVIRT__VM_EVENT_TYPE__VM_EVENT_STARTED);
out:
	start_ctx_free(&c);
	vm_record_clear(&r);
}

/* ---- stop, kill, pause, resume, reboot ------------------------------------ */

void op_stop_vm(struct op *op)
{
	const Mvirt__StopVmRequest *req = (const void *)op->req;
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char err[HV_ERR_MAX] = "";
	unsigned timeout = req->timeout_seconds ? req->timeout_seconds : vmm->cfg.stop_timeout_s;

	if (op_load(op, &r) != 0)
		return;
	if (r.state != VM_RUNNING && r.state != VM_PAUSED) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "VM is not running");
		goto out;
	}
	if (set_state(op, r.id, VM_STOPPING, false, NULL) < 0)
		goto out;
	vm_audit(vmm, LOG_LEVEL_AUDIT, &op->peer, &r, NULL, "VM stopped: %s", r.name ? r.name : r.id);
	/* a paused guest cannot see the power button */
	if ((r.state == VM_PAUSED && vmm->cfg.driver->resume(&vmm->cfg.hv, r.rt.control_socket,
							       err) < 0) ||
	    vmm->cfg.driver->power_button(&vmm->cfg.hv, r.rt.control_socket, err) < 0) {
		log_warning("VM %s: graceful stop impossible (%s): killing it", r.id, err);
		live_kill_post(vmm, r.id);
	} else {
		live_stop_timer_post(vmm, r.id, timeout);
	}
	reply_vm(op, MVIRT__VM_EVENT_TYPE__VM_EVENT_UNSPECIFIED);
out:
	vm_record_clear(&r);
}

void op_kill_vm(struct op *op)
{
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };

	if (op_load(op, &r) != 0)
		return;
	if (r.state != VM_RUNNING && r.state != VM_PAUSED && r.state != VM_STOPPING) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "VM is not running");
		goto out;
	}
	if (set_state(op, r.id, VM_STOPPING, false, NULL) < 0)
		goto out;
	vm_audit(vmm, LOG_LEVEL_AUDIT, &op->peer, &r, NULL, "VM killed: %s", r.name ? r.name : r.id);
	live_kill_post(vmm, r.id);
	reply_vm(op, MVIRT__VM_EVENT_TYPE__VM_EVENT_UNSPECIFIED);
out:
	vm_record_clear(&r);
}

static void simple_control(struct op *op, enum vm_state need, const char *not_msg,
			   int (*fn)(const struct hv_settings *, const char *, char *),
			   enum vm_state next, const char *verb)
{
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char err[HV_ERR_MAX] = "";

	if (op_load(op, &r) != 0)
		return;
	if (r.state != need) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "%s", not_msg);
		goto out;
	}
	if (fn(&vmm->cfg.hv, r.rt.control_socket, err) < 0) {
		op_fail(op, GRPC_INTERNAL, "%s: %s", vmm->cfg.driver->name, err);
		goto out;
	}
	if (next != r.state && set_state(op, r.id, next, false, NULL) < 0)
		goto out;
	vm_audit(vmm, LOG_LEVEL_AUDIT, &op->peer, &r, NULL, "VM %s: %s", verb, r.name ? r.name : r.id);
	reply_vm(op, MVIRT__VM_EVENT_TYPE__VM_EVENT_UNSPECIFIED);
out:
	vm_record_clear(&r);
}

void op_pause_vm(struct op *op)
{
	simple_control(op, VM_RUNNING, "VM is not running", op->vmm->cfg.driver->pause, VM_PAUSED,
		       "paused");
}

void op_resume_vm(struct op *op)
{
	simple_control(op, VM_PAUSED, "VM is not paused", op->vmm->cfg.driver->resume, VM_RUNNING,
		       "resumed");
}

void op_reboot_vm(struct op *op)
{
	simple_control(op, VM_RUNNING, "VM is not running", op->vmm->cfg.driver->reboot,
		       VM_RUNNING, "rebooted");
}

/* ---- the end of a process ------------------------------------------------- */

void vm_exited_work(void *userdata)
{
	struct vm_exit *e = userdata;
	struct vmm *vmm = e->vmm;
	struct vm_record r = { 0 };
	char why[600] = "", tail[300] = "", log[PATH_MAX];
	const char *hv = vmm->cfg.driver->name;

	if (vmstore_get(vmm->store, e->id, &r) < 0)
		return;
	if (r.has_runtime && r.rt.hypervisor)
		hv = r.rt.hypervisor;
	vm_run_dir(vmm, r.id, log, sizeof(log));
	strncat(log, "/" HV_LOG, sizeof(log) - strlen(log) - 1);
	proc_log_tail(log, tail, sizeof(tail));
	if (r.state == VM_STOPPING) {
		why[0] = '\0'; /* asked for: no error */
	} else if (!e->have_status) {
		snprintf(why, sizeof(why), "%s exited", hv);
	} else if (e->code == CLD_EXITED && e->status == 0) {
		snprintf(why, sizeof(why), "guest powered off");
	} else if (e->code == CLD_EXITED) {
		snprintf(why, sizeof(why), "%s exited with status %d%s%s", hv, e->status,
			 tail[0] ? ": " : "", tail);
	} else {
		snprintf(why, sizeof(why), "%s killed by signal %d%s%s", hv, e->status,
			 tail[0] ? ": " : "", tail);
	}
	vm_release_runtime(vmm, &r);
	if (r.state == VM_STARTING || r.state == VM_STOPPED) {
		/* a start that failed: StartVm reports and records it itself,
		 * before or after this exit is seen */
		vm_record_clear(&r);
		return;
	}
	vmstore_set_state(vmm->store, r.id, VM_STOPPED, false, why[0] ? why : "");
	if (why[0] && !streq(why, "guest powered off"))
		vm_audit(vmm, LOG_LEVEL_ERROR, NULL, &r, NULL, "VM stopped unexpectedly: %s", why);
	vm_record_clear(&r);
	if (vmstore_get(vmm->store, e->id, &r) == 0)
		vm_event_post(vmm, MVIRT__VM_EVENT_TYPE__VM_EVENT_STOPPED, &r);
	vm_record_clear(&r);
}

/* ---- hot-plug and definition edits ---------------------------------------- */

static bool can_edit(struct op *op, const struct vm_record *r)
{
	if (r->state == VM_STOPPED || r->state == VM_RUNNING)
		return true;
	op_fail(op, GRPC_FAILED_PRECONDITION, "VM is %s", vm_state_upper(r->state));
	return false;
}

static void save_config(struct op *op, struct vm_record *r, const char *event,
			const char *what)
{
	int rc = vmstore_set_config(op->vmm->store, r->id, r->config);

	if (rc < 0) {
		op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-rc));
		return;
	}
	vm_audit(op->vmm, LOG_LEVEL_AUDIT, &op->peer, r, what, "%s: %s", event, what);
	reply_vm(op, MVIRT__VM_EVENT_TYPE__VM_EVENT_UNSPECIFIED);
}

void op_attach_disk(struct op *op)
{
	const Mvirt__AttachDiskRequest *req = (const void *)op->req;
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char err[HV_ERR_MAX] = "";

	if (!req->disk) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "disk is required");
		return;
	}
	if (vmconfig_check_disk(req->disk, err, sizeof(err)) < 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (check_host_path(op, "disk", req->disk->path, vmm->cfg.disk_roots,
			    vmm->cfg.n_disk_roots) != 0)
		return;
	if (op_load(op, &r) != 0)
		return;
	for (size_t i = 0; i < r.config->n_disks; i++)
		if (streq(r.config->disks[i]->path, req->disk->path)) {
			op_fail(op, GRPC_ALREADY_EXISTS, "disk %s already attached", req->disk->path);
			goto out;
		}
	if (r.config->n_disks >= VMCONFIG_MAX_DISKS) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "at most %d disks", VMCONFIG_MAX_DISKS);
		goto out;
	}
	if (!can_edit(op, &r))
		goto out;
	if (r.state == VM_RUNNING &&
	    vmm->cfg.driver->add_disk(&vmm->cfg.hv, r.rt.control_socket, req->disk, err) < 0) {
		op_fail(op, GRPC_INTERNAL, "hot-plug failed: %s", err);
		goto out;
	}
	Mvirt__DiskConfig *d = xmalloc(sizeof(*d));
	mvirt__disk_config__init(d);
	d->path = xstrdup(req->disk->path);
	d->readonly = req->disk->readonly;
	r.config->disks = xrealloc(r.config->disks, (r.config->n_disks + 1) * sizeof(*r.config->disks));
	r.config->disks[r.config->n_disks++] = d;
	save_config(op, &r, "Disk attached", req->disk->path);
out:
	vm_record_clear(&r);
}

void op_detach_disk(struct op *op)
{
	const Mvirt__DetachDiskRequest *req = (const void *)op->req;
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char err[HV_ERR_MAX] = "";
	ssize_t at = -1;

	if (!req->path[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "path is required");
		return;
	}
	if (op_load(op, &r) != 0)
		return;
	for (size_t i = 0; i < r.config->n_disks; i++)
		if (streq(r.config->disks[i]->path, req->path))
			at = (ssize_t)i;
	if (at < 0) {
		op_fail(op, GRPC_NOT_FOUND, "disk %s not attached", req->path);
		goto out;
	}
	if (!vmconfig_kernel_boot(r.config) && r.config->n_disks == 1) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "Disk boot mode requires at least one disk");
		goto out;
	}
	if (!can_edit(op, &r))
		goto out;
	if (r.state == VM_RUNNING &&
	    vmm->cfg.driver->remove_disk(&vmm->cfg.hv, r.rt.control_socket, req->path, err) < 0) {
		op_fail(op, GRPC_INTERNAL, "hot-unplug failed: %s", err);
		goto out;
	}
	mvirt__disk_config__free_unpacked(r.config->disks[at], NULL);
	memmove(&r.config->disks[at], &r.config->disks[at + 1],
		(r.config->n_disks - (size_t)at - 1) * sizeof(*r.config->disks));
	r.config->n_disks--;
	save_config(op, &r, "Disk detached", req->path);
out:
	vm_record_clear(&r);
}

/* A heap copy of a NIC (every string its own allocation). */
static Mvirt__NicConfig *nic_copy(const Mvirt__NicConfig *nic)
{
	size_t len = protobuf_c_message_get_packed_size(&nic->base);
	_cleanup_free_ uint8_t *buf = xmalloc(len ?: 1);

	protobuf_c_message_pack(&nic->base, buf);
	return mvirt__nic_config__unpack(NULL, len, buf);
}

void op_attach_nic(struct op *op)
{
	const Mvirt__AttachNicRequest *req = (const void *)op->req;
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char err[HV_ERR_MAX] = "", tap[TAP_NAME_SIZE] = "";
	Mvirt__NicConfig *n;
	bool vhost;

	if (!req->nic) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "nic is required");
		return;
	}
	if (vmconfig_check_nic(req->nic, err, sizeof(err)) < 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	vhost = req->nic->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET;
	if (vhost && check_vhost_socket(op, req->nic->vhost_socket, GRPC_INVALID_ARGUMENT) != 0)
		return;
	if (op_load(op, &r) != 0)
		return;
	n = nic_copy(req->nic);
	if (n->_mac_case != MVIRT__NIC_CONFIG___MAC_MAC) {
		char mac[MAC_STR_LEN];
		mac_generate(mac);
		n->_mac_case = MVIRT__NIC_CONFIG___MAC_MAC;
		n->mac = xstrdup(mac);
	}
	for (size_t i = 0; i < r.config->n_nics; i++)
		if (mac_equal(r.config->nics[i]->mac, n->mac)) {
			op_fail(op, GRPC_ALREADY_EXISTS, "NIC with MAC %s already attached", n->mac);
			goto out;
		}
	if (r.config->n_nics >= VMCONFIG_MAX_NICS) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "at most %d NICs", VMCONFIG_MAX_NICS);
		goto out;
	}
	if (!can_edit(op, &r))
		goto out;
	if (r.state == VM_RUNNING) {
		if (vhost && !r.rt.shared_memory) {
			op_fail(op, GRPC_FAILED_PRECONDITION,
				"vhost-user NIC needs shared guest memory; stop the VM first");
			goto out;
		}
		if (!vhost) {
			tap_name_for(r.id, (unsigned)r.config->n_nics, tap);
			if (tap_create(tap, vmm->cfg.bridge, err, sizeof(err)) < 0) {
				op_fail(op, GRPC_INTERNAL, "cannot create TAP %s: %s", tap, err);
				goto out;
			}
		}
		if (vmm->cfg.driver->add_nic(&vmm->cfg.hv, r.rt.control_socket, n, tap, err) < 0) {
			if (tap[0])
				tap_delete(tap);
			op_fail(op, GRPC_INTERNAL, "hot-plug failed: %s", err);
			goto out;
		}
		if (tap[0]) {
			_cleanup_free_ char *taps = xasprintf("%s%s%s", r.rt.taps ? r.rt.taps : "",
							      r.rt.taps && r.rt.taps[0] ? "," : "", tap);
			free(r.rt.taps);
			r.rt.taps = TAKE_PTR(taps);
			vmstore_set_runtime(vmm->store, r.id, &r.rt);
		}
	}
	r.config->nics = xrealloc(r.config->nics, (r.config->n_nics + 1) * sizeof(*r.config->nics));
	r.config->nics[r.config->n_nics++] = n;
	n = NULL;
	save_config(op, &r, "NIC attached", r.config->nics[r.config->n_nics - 1]->mac);
out:
	if (n)
		mvirt__nic_config__free_unpacked(n, NULL);
	vm_record_clear(&r);
}

void op_detach_nic(struct op *op)
{
	const Mvirt__DetachNicRequest *req = (const void *)op->req;
	struct vmm *vmm = op->vmm;
	struct vm_record r = { 0 };
	char err[HV_ERR_MAX] = "", mac[MAC_STR_LEN];
	ssize_t at = -1;

	if (!req->mac[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "mac is required");
		return;
	}
	if (op_load(op, &r) != 0)
		return;
	for (size_t i = 0; i < r.config->n_nics; i++)
		if (mac_equal(r.config->nics[i]->mac, req->mac))
			at = (ssize_t)i;
	if (at < 0) {
		op_fail(op, GRPC_NOT_FOUND, "NIC %s not attached", req->mac);
		goto out;
	}
	if (!can_edit(op, &r))
		goto out;
	snprintf(mac, sizeof(mac), "%s", r.config->nics[at]->mac);
	if (r.state == VM_RUNNING &&
	    vmm->cfg.driver->remove_nic(&vmm->cfg.hv, r.rt.control_socket, mac, err) < 0) {
		op_fail(op, GRPC_INTERNAL, "hot-unplug failed: %s", err);
		goto out;
	}
	mvirt__nic_config__free_unpacked(r.config->nics[at], NULL);
	memmove(&r.config->nics[at], &r.config->nics[at + 1],
		(r.config->n_nics - (size_t)at - 1) * sizeof(*r.config->nics));
	r.config->n_nics--;
	save_config(op, &r, "NIC detached", mac);
out:
	vm_record_clear(&r);
}

/* ---- host ----------------------------------------------------------------- */

void op_get_system_info(struct op *op)
{
	struct vm_record *v = NULL;
	size_t n = 0;
	struct sysinfo si;
	double load[3] = { 0 };
	Mvirt__SystemInfo *m;
	int r;

	r = vmstore_list(op->vmm->store, &v, &n);
	if (r < 0 || sysinfo(&si) < 0 || getloadavg(load, 3) < 0) {
		vm_record_list_free(v, n);
		op_fail(op, GRPC_INTERNAL, "cannot read the host's figures");
		return;
	}
	m = xmalloc(sizeof(*m));
	mvirt__system_info__init(m);
	m->total_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	m->total_memory_mb = (uint64_t)si.totalram * si.mem_unit / (1024 * 1024);
	for (size_t i = 0; i < n; i++) {
		if (!vm_state_has_process(v[i].state))
			continue;
		m->allocated_cpus += v[i].config->vcpus;
		m->allocated_memory_mb += v[i].config->memory_mb;
	}
	m->load_1 = (float)load[0];
	m->load_5 = (float)load[1];
	m->load_15 = (float)load[2];
	vm_record_list_free(v, n);
	op->resp = &m->base;
}

/* ---- recovery ------------------------------------------------------------- */

void vmm_recover(struct vmm *vmm)
{
	struct vm_record *v = NULL;
	size_t n = 0;

	if (vmstore_list(vmm->store, &v, &n) < 0) {
		log_error("recovery: cannot read the VMs");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct vm_record *r = &v[i];
		bool alive;
		if (!vm_state_has_process(r->state)) {
			if (r->has_runtime)
				vm_release_runtime(vmm, r);
			continue;
		}
		alive = r->has_runtime &&
			proc_is_ours(r->rt.pid, r->rt.pid_start, r->rt.control_socket);
		if (alive && (r->state == VM_RUNNING || r->state == VM_PAUSED)) {
			struct vm_handover *h = xcalloc(1, sizeof(*h));
			h->vmm = vmm;
			memcpy(h->id, r->id, sizeof(h->id));
			h->pid = r->rt.pid;
			snprintf(h->serial_socket, sizeof(h->serial_socket), "%s",
				 r->rt.serial_socket);
			live_adopt(h);
			log_info("VM %s: re-adopted %s pid %d", r->id, r->rt.hypervisor,
				 (int)r->rt.pid);
			continue;
		}
		if (alive) {
			kill(r->rt.pid, SIGKILL);
			vmstore_set_state(vmm->store, r->id, VM_STOPPED, false,
					  "interrupted by daemon restart");
		} else {
			vmstore_set_state(vmm->store, r->id, VM_STOPPED, false,
					  "process not found after daemon restart");
		}
		log_warning("VM %s: %s", r->id,
			    alive ? "interrupted by daemon restart" : "process not found after daemon restart");
		vm_release_runtime(vmm, r);
		/* a start cut short may have made TAPs before recording them */
		if (r->state == VM_STARTING)
			for (size_t j = 0; j < r->config->n_nics; j++) {
				char tap[TAP_NAME_SIZE];
				if (tap_name_for(r->id, (unsigned)j, tap) == 0)
					tap_delete(tap);
			}
	}
	vm_record_list_free(v, n);
}
