/* SPDX-License-Identifier: MIT */
/*
 * mvirt.VmService, the loop side: requests are resolved to a VM id here and
 * carried out by workers (vm.c) under that VM's key; this file also owns
 * what lives on the loop — each running VM's pidfd and serial connection,
 * its console log and viewers, stop timers, and the WatchVms streams.
 */
#include "service.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "console_log.h"
#include "daemon.h"
#include "log.h"
#include "proc.h"
#include "vmmd.h"

#define WATCH_MAX_BEHIND 1024
#define VIEWER_MAX_QUEUED (4U << 20)
#define CONSOLE_HISTORY (64U << 10)
#define SERIAL_IN_MAX (1U << 20)
#define SERIAL_CONNECT_RETRY_MS 50
#define SERIAL_CONNECT_TRIES 1200 /* a minute */

struct watcher {
	struct watcher *next;
	struct vmm *vmm;
	struct grpc_call *call;
	char vm_id[UUID_STR_LEN]; /* "" all */
};

/* A Console stream; attached to a live VM after its first message. */
struct viewer {
	struct viewer *next;
	struct vmm *vmm;
	struct vm_live *live;    /* NULL until attached */
	struct grpc_call *call;  /* referenced once attached */
};

struct vm_live {
	struct vm_live *next;
	struct vmm *vmm;
	char id[UUID_STR_LEN];
	pid_t pid;
	int pidfd;
	sd_event_source *pid_src, *serial_src, *retry_src, *stop_src;
	int serial_fd;
	char serial_socket[4096];
	unsigned connect_tries;
	struct console_log *log;
	struct viewer *viewers;
	struct buf to_guest;
	bool exiting;
};

/* ---- status helpers, messages --------------------------------------------- */

int op_fail(struct op *op, int code, const char *fmt, ...)
{
	va_list ap;

	op->code = code;
	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
	va_end(ap);
	return code;
}

static Mvirt__Vm *vm_msg_shell(const struct vm_record *r);

Mvirt__Vm *vm_msg_take(struct vm_record *r)
{
	Mvirt__Vm *m = vm_msg_shell(r);

	m->config = TAKE_PTR(r->config);
	return m;
}

Mvirt__Vm *vm_msg(const struct vm_record *r)
{
	Mvirt__Vm *m = vm_msg_shell(r);

	m->config = vmconfig_copy(r->config);
	return m;
}

/* Everything of the Vm message but its config. */
static Mvirt__Vm *vm_msg_shell(const struct vm_record *r)
{
	Mvirt__Vm *m = xmalloc(sizeof(*m));

	mvirt__vm__init(m);
	m->id = xstrdup_or_empty(r->id);
	if (r->name) {
		m->_name_case = MVIRT__VM___NAME_NAME;
		m->name = xstrdup_or_empty(r->name);
	}
	m->state = (Mvirt__VmState)r->state;
	m->created_at = r->created_at;
	if (r->has_started_at) {
		m->_started_at_case = MVIRT__VM___STARTED_AT_STARTED_AT;
		m->started_at = r->started_at;
	}
	if (r->last_error) {
		m->_last_error_case = MVIRT__VM___LAST_ERROR_LAST_ERROR;
		m->last_error = xstrdup_or_empty(r->last_error);
	}
	return m;
}

/* mvirt-log takes at most 64 ids of at most 256 bytes each */
#define AUDIT_IDS_MAX 64
#define AUDIT_ID_LEN_MAX 256

void vm_audit(struct vmm *vmm, int level, const struct grpc_peer *peer,
	      const struct vm_record *r, const char *extra_id, const char *fmt, ...)
{
	const char *ids[AUDIT_IDS_MAX];
	size_t n = 0;
	char text[1024];
	va_list ap;

	/* the VM, then what it uses: its disks and NICs, so that the trail of
	 * a volume or a vNIC shows the VMs that had it */
	ids[n++] = r->id;
	if (extra_id && strlen(extra_id) <= AUDIT_ID_LEN_MAX)
		ids[n++] = extra_id;
	for (size_t i = 0; r->config && i < r->config->n_disks && n < AUDIT_IDS_MAX; i++)
		if (strlen(r->config->disks[i]->path) <= AUDIT_ID_LEN_MAX &&
		    !(extra_id && streq(extra_id, r->config->disks[i]->path)))
			ids[n++] = r->config->disks[i]->path;
	for (size_t i = 0; r->config && i < r->config->n_nics && n < AUDIT_IDS_MAX; i++)
		if (r->config->nics[i]->mac[0] && !(extra_id && mac_equal(extra_id, r->config->nics[i]->mac)))
			ids[n++] = r->config->nics[i]->mac;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	audit_log(vmm->audit, level, peer, ids, n, "%s", text);
}

int op_load(struct op *op, struct vm_record *r)
{
	int rc = vmstore_get(op->vmm->store, op->vm_id, r);

	if (rc == -ENOENT)
		return op_fail(op, GRPC_NOT_FOUND, "VM %s not found", op->vm_id);
	if (rc < 0)
		return op_fail(op, GRPC_INTERNAL, "database error: %s", strerror(-rc));
	return 0;
}

/* ---- WatchVms ------------------------------------------------------------- */

static void watcher_remove(struct vmm *vmm, struct watcher *w)
{
	for (struct watcher **pp = &vmm->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	grpc_call_set_handlers(w->call, NULL, NULL);
	grpc_call_unref(w->call);
	free(w);
}

static void watcher_on_cancel(struct grpc_call *call, void *userdata)
{
	struct watcher *w = userdata;

	(void)call;
	watcher_remove(w->vmm, w);
}

static const struct grpc_call_handlers watcher_handlers = { .on_cancel = watcher_on_cancel };

struct event_post {
	struct vmm *vmm;
	Mvirt__VmEvent *ev;
};

static void on_event(void *userdata)
{
	struct event_post *p = userdata;
	struct watcher *next;

	for (struct watcher *w = p->vmm->watchers; w; w = next) {
		next = w->next;
		if (w->vm_id[0] && !streq(w->vm_id, p->ev->vm_id))
			continue;
		if (grpc_call_queued_messages(w->call) >= WATCH_MAX_BEHIND) {
			grpc_call_finish(w->call, GRPC_RESOURCE_EXHAUSTED,
					 "more than %d events behind: list again and re-watch",
					 WATCH_MAX_BEHIND);
			watcher_remove(p->vmm, w);
			continue;
		}
		grpc_call_send(w->call, &p->ev->base);
		if (w->vm_id[0] && p->ev->type == MVIRT__VM_EVENT_TYPE__VM_EVENT_DELETED) {
			grpc_call_finish(w->call, GRPC_OK, "%s", "");
			watcher_remove(p->vmm, w);
		}
	}
	protobuf_c_message_free_unpacked(&p->ev->base, NULL);
	free(p);
}

void vm_event_post(struct vmm *vmm, Mvirt__VmEventType type, const struct vm_record *r)
{
	struct event_post *p = xmalloc(sizeof(*p));
	Mvirt__VmEvent *ev = xmalloc(sizeof(*ev));

	mvirt__vm_event__init(ev);
	ev->vm_id = xstrdup_or_empty(r->id);
	ev->type = type;
	ev->timestamp = (int64_t)time(NULL);
	ev->_vm_case = MVIRT__VM_EVENT___VM_VM;
	ev->vm = vm_msg(r);
	p->vmm = vmm;
	p->ev = ev;
	if (workq_post(vmm->wq, on_event, p) < 0) {
		protobuf_c_message_free_unpacked(&ev->base, NULL);
		free(p);
	}
}

/* ---- resolution and dispatch ---------------------------------------------- */

/* Resolve ref on the loop: 0 and the id, or the call is finished. */
static int resolve(struct vmm *vmm, struct grpc_call *call, const char *ref,
		   char id[UUID_STR_LEN], struct vm_record *out)
{
	struct vm_record r = { 0 };
	int rc;

	if (!ref[0]) {
		grpc_call_finish(call, GRPC_INVALID_ARGUMENT, "id is required");
		return -EINVAL;
	}
	rc = vmstore_resolve(vmm->store, ref, &r);
	if (rc == -ENOENT) {
		grpc_call_finish(call, GRPC_NOT_FOUND, "VM %s not found", ref);
		return rc;
	}
	if (rc == -ENOTUNIQ) {
		grpc_call_finish(call, GRPC_FAILED_PRECONDITION,
				 "VM name '%s' is ambiguous, use the id", ref);
		return rc;
	}
	if (rc < 0) {
		grpc_call_finish(call, GRPC_INTERNAL, "database error: %s", strerror(-rc));
		return rc;
	}
	memcpy(id, r.id, UUID_STR_LEN);
	if (out)
		*out = r;
	else
		vm_record_clear(&r);
	return 0;
}

static void op_work(void *userdata)
{
	struct op *op = userdata;

	op->run(op);
}

static void op_done(void *userdata)
{
	struct op *op = userdata;

	if (op->code == GRPC_OK && op->resp)
		grpc_call_reply(op->call, op->resp);
	else
		grpc_call_finish(op->call, op->code == GRPC_OK ? GRPC_INTERNAL : op->code, "%s",
				 op->msg);
	if (op->resp)
		protobuf_c_message_free_unpacked(op->resp, NULL);
	grpc_call_unref(op->call);
	free(op);
}

/* Queue run for call; ref (may be NULL) names the VM, key_name a CreateVm name. */
static void dispatch(struct vmm *vmm, struct grpc_call *call, const ProtobufCMessage *req,
		     const char *ref, const char *key_name, void (*run)(struct op *))
{
	struct op *op = xcalloc(1, sizeof(*op));
	char key[96];
	const char *keys[1] = { key };
	size_t n_keys = 0;

	if (ref && resolve(vmm, call, ref, op->vm_id, NULL) < 0) {
		free(op);
		return;
	}
	if (ref) {
		snprintf(key, sizeof(key), "vm:%s", op->vm_id);
		n_keys = 1;
	} else if (key_name && key_name[0]) {
		snprintf(key, sizeof(key), "name:%.80s", key_name);
		n_keys = 1;
	}
	op->vmm = vmm;
	op->call = grpc_call_ref(call);
	op->req = req;
	op->peer = *grpc_call_peer(call);
	op->run = run;
	if (workq_submit(vmm->wq, keys, n_keys, op_work, op_done, op) < 0) {
		grpc_call_finish(call, GRPC_UNAVAILABLE, "the server is shutting down");
		grpc_call_unref(call);
		free(op);
	}
}

#define REQ(type) ((const type *)req)

static void rpc_get_system_info(struct grpc_call *c, const ProtobufCMessage *req, void *ud)
{
	dispatch(ud, c, req, NULL, NULL, op_get_system_info);
}
static void rpc_create_vm(struct grpc_call *c, const ProtobufCMessage *req, void *ud)
{
	const Mvirt__CreateVmRequest *r = REQ(Mvirt__CreateVmRequest);
	dispatch(ud, c, req, NULL, r->_name_case == MVIRT__CREATE_VM_REQUEST___NAME_NAME ? r->name : NULL,
		 op_create_vm);
}
static void rpc_list_vms(struct grpc_call *c, const ProtobufCMessage *req, void *ud)
{
	dispatch(ud, c, req, NULL, NULL, op_list_vms);
}
#define REF_RPC(fn, type, field)                                                        \
	static void rpc_##fn(struct grpc_call *c, const ProtobufCMessage *req, void *ud) \
	{                                                                               \
		dispatch(ud, c, req, REQ(type)->field, NULL, op_##fn);                  \
	}
REF_RPC(get_vm, Mvirt__GetVmRequest, id)
REF_RPC(delete_vm, Mvirt__DeleteVmRequest, id)
REF_RPC(start_vm, Mvirt__StartVmRequest, id)
REF_RPC(stop_vm, Mvirt__StopVmRequest, id)
REF_RPC(kill_vm, Mvirt__KillVmRequest, id)
REF_RPC(pause_vm, Mvirt__PauseVmRequest, id)
REF_RPC(resume_vm, Mvirt__ResumeVmRequest, id)
REF_RPC(reboot_vm, Mvirt__RebootVmRequest, id)
REF_RPC(attach_disk, Mvirt__AttachDiskRequest, vm_id)
REF_RPC(detach_disk, Mvirt__DetachDiskRequest, vm_id)
REF_RPC(attach_nic, Mvirt__AttachNicRequest, vm_id)
REF_RPC(detach_nic, Mvirt__DetachNicRequest, vm_id)

static void rpc_watch_vms(struct grpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const Mvirt__WatchVmsRequest *r = REQ(Mvirt__WatchVmsRequest);
	struct vmm *vmm = ud;
	struct watcher *w = xcalloc(1, sizeof(*w));

	if (r->_vm_id_case == MVIRT__WATCH_VMS_REQUEST___VM_ID_VM_ID && r->vm_id[0] &&
	    resolve(vmm, call, r->vm_id, w->vm_id, NULL) < 0) {
		free(w);
		return;
	}
	w->vmm = vmm;
	w->call = grpc_call_ref(call);
	w->next = vmm->watchers;
	vmm->watchers = w;
	grpc_call_set_handlers(call, &watcher_handlers, w);
}

/* ---- live VMs: process and serial ----------------------------------------- */

static struct vm_live *live_find(struct vmm *vmm, const char *id)
{
	for (struct vm_live *l = vmm->live; l; l = l->next)
		if (streq(l->id, id))
			return l;
	return NULL;
}

static void viewer_end(struct viewer *v, int code, const char *msg);

static void live_free(struct vm_live *l)
{
	struct vmm *vmm = l->vmm;

	for (struct vm_live **pp = &vmm->live; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	while (l->viewers)
		viewer_end(l->viewers, GRPC_OK, "");
	sd_event_source_disable_unref(l->pid_src);
	sd_event_source_disable_unref(l->serial_src);
	sd_event_source_disable_unref(l->retry_src);
	sd_event_source_disable_unref(l->stop_src);
	if (l->pidfd >= 0)
		close(l->pidfd);
	if (l->serial_fd >= 0)
		close(l->serial_fd);
	console_log_close(l->log);
	buf_free(&l->to_guest);
	free(l);
}

/* Guest output: to the log and every viewer. */
static void console_output(struct vm_live *l, const uint8_t *data, size_t n)
{
	struct viewer *next;
	Mvirt__ConsoleOutput out = MVIRT__CONSOLE_OUTPUT__INIT;

	if (l->log && console_log_append(l->log, data, n) < 0)
		log_warning("VM %s: console log write failed", l->id);
	out.data.data = (uint8_t *)data;
	out.data.len = n;
	for (struct viewer *v = l->viewers; v; v = next) {
		next = v->next;
		if (grpc_call_queued_bytes(v->call) > VIEWER_MAX_QUEUED)
			viewer_end(v, GRPC_RESOURCE_EXHAUSTED, "the console viewer does not keep up");
		else
			grpc_call_send(v->call, &out.base);
	}
}

static void serial_close(struct vm_live *l)
{
	sd_event_source_disable_unref(l->serial_src);
	l->serial_src = NULL;
	if (l->serial_fd >= 0)
		close(l->serial_fd);
	l->serial_fd = -1;
}

/* Read what the guest wrote; write what viewers typed. */
static int on_serial(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct vm_live *l = userdata;
	uint8_t buf[16384];

	(void)s;
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* a bounded amount per wake-up: a flooding guest shares the loop */
		for (int i = 0; i < 16; i++) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n > 0) {
				console_output(l, buf, (size_t)n);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			serial_close(l); /* EOF: the hypervisor is going away */
			return 0;
		}
	}
	if (buf_avail(&l->to_guest) > 0) {
		ssize_t n = write(fd, buf_head(&l->to_guest), buf_avail(&l->to_guest));
		if (n > 0)
			buf_consume(&l->to_guest, (size_t)n);
	}
	sd_event_source_set_io_events(l->serial_src,
				      EPOLLIN | (buf_avail(&l->to_guest) ? EPOLLOUT : 0));
	return 0;
}

static int serial_connect(struct vm_live *l)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(l->serial_socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, l->serial_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = sd_event_add_io(l->vmm->event, &l->serial_src, fd, EPOLLIN, on_serial, l);
	if (r < 0) {
		close(fd);
		return r;
	}
	l->serial_fd = fd;
	return 0;
}

static int on_serial_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct vm_live *l = userdata;

	(void)usec;
	/* a Console call may have connected it meanwhile */
	if (l->serial_fd >= 0 || serial_connect(l) == 0 ||
	    ++l->connect_tries >= SERIAL_CONNECT_TRIES || l->exiting) {
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}
	sd_event_source_set_time_relative(s, SERIAL_CONNECT_RETRY_MS * 1000ULL);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static void live_exit_done(void *userdata)
{
	struct vm_exit *e = userdata;
	struct vm_live *l = live_find(e->vmm, e->id);

	if (l)
		live_free(l);
	free(e);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct vm_live *l = userdata;
	struct vm_exit *e = xcalloc(1, sizeof(*e));
	const char *key;
	char keybuf[64];
	siginfo_t si = { 0 };

	(void)revents;
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	l->exiting = true;
	/* children give their status; an adopted process (not our child) does
	 * not, and then the cause is unknown */
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
		e->have_status = true;
		e->code = si.si_code;
		e->status = si.si_status;
	}
	/* what the guest wrote last is still in the socket */
	if (l->serial_fd >= 0)
		on_serial(l->serial_src, l->serial_fd, EPOLLIN, l);
	e->vmm = l->vmm;
	memcpy(e->id, l->id, sizeof(e->id));
	snprintf(keybuf, sizeof(keybuf), "vm:%s", l->id);
	key = keybuf;
	if (workq_submit(l->vmm->wq, &key, 1, vm_exited_work, live_exit_done, e) < 0) {
		/* shutting down: the next start's recovery records it */
		live_free(l);
		free(e);
	}
	return 0;
}

void live_adopt(void *userdata)
{
	struct vm_handover *h = userdata;
	struct vmm *vmm = h->vmm;
	struct vm_live *l = live_find(vmm, h->id);
	char path[512];
	int r;

	if (l) {
		/* a previous run not yet reaped: it is gone by now in all but name */
		live_free(l);
	}
	l = xcalloc(1, sizeof(*l));
	l->vmm = vmm;
	memcpy(l->id, h->id, sizeof(l->id));
	l->pid = h->pid;
	l->serial_fd = -1;
	snprintf(l->serial_socket, sizeof(l->serial_socket), "%s", h->serial_socket);
	l->next = vmm->live;
	vmm->live = l;
	snprintf(path, sizeof(path), "%s/vms/%s", vmm->cfg.data_dir, h->id);
	mkdir_p(path, 0750);
	vm_console_path(vmm, h->id, path, sizeof(path));
	r = console_log_open(path, vmm->cfg.console_log_size, &l->log);
	if (r < 0)
		log_warning_errno(r, "VM %s: no console log", h->id);
	else if (h->reset_console)
		console_log_reset(l->log);
	l->pidfd = proc_pidfd(h->pid);
	if (l->pidfd < 0 ||
	    sd_event_add_io(vmm->event, &l->pid_src, l->pidfd, EPOLLIN, on_pidfd, l) < 0) {
		log_error("VM %s: cannot watch pid %d", h->id, (int)h->pid);
	}
	if (serial_connect(l) < 0)
		sd_event_add_time_relative(vmm->event, &l->retry_src, CLOCK_MONOTONIC,
					   SERIAL_CONNECT_RETRY_MS * 1000ULL, 0, on_serial_retry, l);
	free(h);
}

struct live_request {
	struct vmm *vmm;
	char id[UUID_STR_LEN];
	unsigned timeout_s; /* 0: kill now */
};

static void live_kill(struct vm_live *l)
{
	if (l->pidfd >= 0 && syscall(SYS_pidfd_send_signal, l->pidfd, SIGKILL, NULL, 0) < 0 &&
	    errno != ESRCH)
		log_warning("VM %s: cannot kill pid %d: %m", l->id, (int)l->pid);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct vm_live *l = userdata;

	(void)s;
	(void)usec;
	log_warning("VM %s: the guest did not power off in time: killing it", l->id);
	live_kill(l);
	return 0;
}

static void on_live_request(void *userdata)
{
	struct live_request *q = userdata;
	struct vm_live *l = live_find(q->vmm, q->id);

	if (l && q->timeout_s == 0) {
		live_kill(l);
	} else if (l) {
		sd_event_source_disable_unref(l->stop_src);
		l->stop_src = NULL;
		sd_event_add_time_relative(q->vmm->event, &l->stop_src, CLOCK_MONOTONIC,
					   q->timeout_s * 1000000ULL, 0, on_stop_timeout, l);
	}
	free(q);
}

static void live_request_post(struct vmm *vmm, const char *id, unsigned timeout_s)
{
	struct live_request *q = xcalloc(1, sizeof(*q));

	q->vmm = vmm;
	snprintf(q->id, sizeof(q->id), "%s", id);
	q->timeout_s = timeout_s;
	if (workq_post(vmm->wq, on_live_request, q) < 0)
		free(q);
}

void live_kill_post(struct vmm *vmm, const char *id)
{
	live_request_post(vmm, id, 0);
}

void live_stop_timer_post(struct vmm *vmm, const char *id, unsigned timeout_s)
{
	live_request_post(vmm, id, timeout_s ? timeout_s : 1);
}

/* ---- Console -------------------------------------------------------------- */

static void viewer_unlink(struct viewer *v)
{
	struct vm_live *l = v->live;

	for (struct viewer **pp = &l->viewers; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
}

/* End an attached viewer's stream and free it. */
static void viewer_end(struct viewer *v, int code, const char *msg)
{
	viewer_unlink(v);
	grpc_call_set_handlers(v->call, NULL, NULL);
	grpc_call_finish(v->call, code, "%s", msg);
	grpc_call_unref(v->call);
	free(v);
}

static void to_guest(struct vm_live *l, const ProtobufCBinaryData *d)
{
	if (d->len == 0)
		return;
	if (buf_avail(&l->to_guest) + d->len > SERIAL_IN_MAX) {
		log_warning("VM %s: console input dropped: the guest does not read it", l->id);
		return;
	}
	buf_append(&l->to_guest, d->data, d->len);
	if (l->serial_src)
		sd_event_source_set_io_events(l->serial_src, EPOLLIN | EPOLLOUT);
}

static void console_on_cancel(struct grpc_call *call, void *userdata)
{
	struct viewer *v = userdata;

	(void)call;
	if (v->live) {
		viewer_unlink(v);
		grpc_call_unref(v->call);
	}
	free(v);
}

/* Refuse a stream that is not attached yet. */
static void console_fail(struct grpc_call *call, struct viewer *v, int code, const char *msg)
{
	grpc_call_set_handlers(call, NULL, NULL);
	grpc_call_finish(call, code, "%s", msg);
	free(v);
}

static void console_on_message(struct grpc_call *call, const ProtobufCMessage *msg, void *ud)
{
	const Mvirt__ConsoleInput *in = (const void *)msg;
	struct viewer *v = ud;
	struct vmm *vmm = v->vmm;
	struct vm_record r = { 0 };
	struct vm_live *l;
	char id[UUID_STR_LEN];

	if (v->live) {
		to_guest(v->live, &in->data);
		return;
	}
	if (!in->vm_id[0]) {
		console_fail(call, v, GRPC_INVALID_ARGUMENT, "vm_id is required in first message");
		return;
	}
	if (resolve(vmm, call, in->vm_id, id, &r) < 0) {
		grpc_call_set_handlers(call, NULL, NULL);
		free(v);
		return;
	}
	enum vm_state state = r.state;
	vm_record_clear(&r);
	if (state != VM_RUNNING && state != VM_PAUSED) {
		console_fail(call, v, GRPC_FAILED_PRECONDITION, "VM is not running");
		return;
	}
	l = live_find(vmm, id);
	/* right after a start the retry timer may not have connected yet */
	if (!l || (l->serial_fd < 0 && (l->exiting || serial_connect(l) < 0))) {
		console_fail(call, v, GRPC_UNAVAILABLE, "Serial socket not available");
		return;
	}
	v->live = l;
	v->call = grpc_call_ref(call);
	v->next = l->viewers;
	l->viewers = v;
	/* a late viewer first sees what the guest printed recently */
	if (l->log) {
		uint8_t *hist = NULL;
		size_t n = 0;
		if (console_log_tail(l->log, CONSOLE_HISTORY, &hist, &n) == 0 && n > 0) {
			Mvirt__ConsoleOutput out = MVIRT__CONSOLE_OUTPUT__INIT;
			out.data.data = hist;
			out.data.len = n;
			grpc_call_send(call, &out.base);
		}
		free(hist);
	}
	to_guest(l, &in->data);
}

static void console_on_half_close(struct grpc_call *call, void *ud)
{
	struct viewer *v = ud;

	/* half-close only ends input; without a first message it is an error */
	if (!v->live)
		console_fail(call, v, GRPC_INVALID_ARGUMENT, "No input received");
}

static const struct grpc_call_handlers console_handlers = {
	.on_message = console_on_message,
	.on_half_close = console_on_half_close,
	.on_cancel = console_on_cancel,
};

static void rpc_console(struct grpc_call *call, const ProtobufCMessage *req, void *ud)
{
	struct viewer *v = xcalloc(1, sizeof(*v));

	(void)req;
	v->vmm = ud;
	grpc_call_set_handlers(call, &console_handlers, v);
}

/* ---- GetConsoleLog -------------------------------------------------------- */

static void rpc_get_console_log(struct grpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const Mvirt__GetConsoleLogRequest *r = REQ(Mvirt__GetConsoleLogRequest);
	struct vmm *vmm = ud;
	Mvirt__ConsoleLog resp = MVIRT__CONSOLE_LOG__INIT;
	struct console_log *own = NULL, *log = NULL;
	struct vm_live *l;
	char id[UUID_STR_LEN], path[512];
	uint8_t *data = NULL;
	size_t n = 0;
	struct stat st;

	if (resolve(vmm, call, r->id, id, NULL) < 0)
		return;
	l = live_find(vmm, id);
	if (l && l->log) {
		log = l->log;
	} else {
		vm_console_path(vmm, id, path, sizeof(path));
		if (stat(path, &st) == 0 &&
		    console_log_open(path, vmm->cfg.console_log_size, &own) == 0)
			log = own;
	}
	if (log) {
		console_log_tail(log, r->max_bytes, &data, &n);
		resp.total_bytes = console_log_total(log);
	}
	resp.data.data = data;
	resp.data.len = n;
	grpc_call_reply(call, &resp.base);
	free(data);
	console_log_close(own);
}

/* ---- the service ---------------------------------------------------------- */

#define M(name, kind, in, out, fn) \
	{ name, kind, &mvirt__##in##__descriptor, &mvirt__##out##__descriptor, fn }

static const struct grpc_method vmm_methods[] = {
	M("GetSystemInfo", GRPC_UNARY, get_system_info_request, system_info, rpc_get_system_info),
	M("CreateVm", GRPC_UNARY, create_vm_request, vm, rpc_create_vm),
	M("GetVm", GRPC_UNARY, get_vm_request, vm, rpc_get_vm),
	M("ListVms", GRPC_UNARY, list_vms_request, list_vms_response, rpc_list_vms),
	M("DeleteVm", GRPC_UNARY, delete_vm_request, delete_vm_response, rpc_delete_vm),
	M("StartVm", GRPC_UNARY, start_vm_request, vm, rpc_start_vm),
	M("StopVm", GRPC_UNARY, stop_vm_request, vm, rpc_stop_vm),
	M("KillVm", GRPC_UNARY, kill_vm_request, vm, rpc_kill_vm),
	M("AttachDisk", GRPC_UNARY, attach_disk_request, vm, rpc_attach_disk),
	M("DetachDisk", GRPC_UNARY, detach_disk_request, vm, rpc_detach_disk),
	M("AttachNic", GRPC_UNARY, attach_nic_request, vm, rpc_attach_nic),
	M("DetachNic", GRPC_UNARY, detach_nic_request, vm, rpc_detach_nic),
	M("Console", GRPC_BIDI_STREAMING, console_input, console_output, rpc_console),
	M("WatchVms", GRPC_SERVER_STREAMING, watch_vms_request, vm_event, rpc_watch_vms),
	M("PauseVm", GRPC_UNARY, pause_vm_request, vm, rpc_pause_vm),
	M("ResumeVm", GRPC_UNARY, resume_vm_request, vm, rpc_resume_vm),
	M("RebootVm", GRPC_UNARY, reboot_vm_request, vm, rpc_reboot_vm),
	M("GetConsoleLog", GRPC_UNARY, get_console_log_request, console_log,
	  rpc_get_console_log),
};

static void on_shutdown(void *userdata)
{
	struct vmm *vmm = userdata;

	vmm->stopping = true;
	while (vmm->watchers) {
		grpc_call_finish(vmm->watchers->call, GRPC_UNAVAILABLE, "the server is shutting down");
		watcher_remove(vmm, vmm->watchers);
	}
	for (struct vm_live *l = vmm->live; l; l = l->next)
		while (l->viewers)
			viewer_end(l->viewers, GRPC_UNAVAILABLE, "the server is shutting down");
}

int vmm_service_new(sd_event *event, struct vmstore *store, struct audit_client *audit,
		    const struct vmm_config *cfg, unsigned threads, struct vmm **out)
{
	struct vmm *vmm = xcalloc(1, sizeof(*vmm));
	int r;

	vmm->event = event;
	vmm->store = store;
	vmm->audit = audit;
	vmm->cfg = *cfg;
	vmm->grpc = (struct grpc_service){
		.name = "mvirt.VmService",
		.methods = vmm_methods,
		.n_methods = ARRAY_SIZE(vmm_methods),
		.userdata = vmm,
		.on_shutdown = on_shutdown,
	};
	r = workq_new(event, threads, &vmm->wq);
	if (r < 0) {
		free(vmm);
		return r;
	}
	*out = vmm;
	return 0;
}

const struct grpc_service *vmm_service_grpc(struct vmm *vmm)
{
	return &vmm->grpc;
}

void vmm_service_start(struct vmm *vmm)
{
	vmm_recover(vmm);
}

void vmm_service_free(struct vmm *vmm)
{
	if (!vmm)
		return;
	workq_free(vmm->wq);
	on_shutdown(vmm);
	/* the hypervisors keep running: the next start re-adopts them */
	while (vmm->live)
		live_free(vmm->live);
	free(vmm);
}
