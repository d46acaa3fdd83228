/* SPDX-License-Identifier: MIT */
/*
 * The QEMU driver: qemu-system-x86_64 with -nodefaults, controlled over QMP.
 * The machine is i440fx ("pc") with ACPI, so that the guest's power button
 * and ACPI PCI hot-plug work; KVM when it can run the guest, else TCG.
 * Disks are virtio-blk over -blockdev nodes, NICs virtio-net on a TAP or a
 * vhost-user socket; the serial port is a socket chardev the daemon reads.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "hv.h"
#include "qmp_sync.h"
#include "sha256.h"
#include "util.h"

/* ---- argv helpers --------------------------------------------------------- */

void argv_add(struct argv_builder *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

char **argv_finish(struct argv_builder *a)
{
	char **v = a->v;

	a->v = NULL;
	a->n = 0;
	return v;
}

void argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void hv_disk_id(const char *path, char out[32])
{
	char hex[SHA256_HEX_SIZE];

	sha256_hex_of(path, strlen(path), hex);
	snprintf(out, 32, "disk-%.16s", hex);
}

void hv_nic_id(const char *mac, char out[32])
{
	size_t n = 0;

	n += (size_t)snprintf(out, 32, "nic-");
	for (const char *c = mac; *c && n < 31; c++)
		if (*c != ':')
			out[n++] = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
	out[n] = '\0';
}

/* ---- command line --------------------------------------------------------- */

/* "host_device" for block devices, "file" for the rest. */
static const char *file_driver(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISBLK(st.st_mode) ? "host_device" : "file";
}

static void add_disk_args(struct argv_builder *a, const char *path, bool readonly)
{
	char id[32];

	hv_disk_id(path, id);
	argv_add(a, "-blockdev");
	argv_add(a, "driver=raw,node-name=%s,read-only=%s,file.driver=%s,file.filename=%s", id,
		 readonly ? "on" : "off", file_driver(path), path);
	argv_add(a, "-device");
	argv_add(a, "virtio-blk-pci,drive=%s,id=%s", id, id);
}

static int qemu_build_argv(const struct hv_settings *s, const struct hv_spec *spec, char ***out,
			   char *err)
{
	const Mvirt__VmConfig *c = spec->config;
	struct argv_builder a = { 0 };

	argv_add(&a, "%s", s->qemu_bin);
	argv_add(&a, "-name");
	argv_add(&a, "guest=%s", spec->vm_id);
	argv_add(&a, "-machine");
	argv_add(&a, "pc,accel=%s", s->kvm ? "kvm" : "tcg");
	argv_add(&a, "-cpu");
	argv_add(&a, s->kvm ? "host" : "max");
	argv_add(&a, "-smp");
	argv_add(&a, "%u", c->vcpus);
	argv_add(&a, "-m");
	argv_add(&a, "%llu", (unsigned long long)c->memory_mb);
	if (spec->shared_memory) {
		/* vhost-user back ends map guest RAM: it must be a shared memfd */
		argv_add(&a, "-object");
		argv_add(&a, "memory-backend-memfd,id=mem0,size=%lluM,share=on",
			 (unsigned long long)c->memory_mb);
		argv_add(&a, "-numa");
		argv_add(&a, "node,memdev=mem0");
	}
	argv_add(&a, "-nodefaults");
	argv_add(&a, "-no-user-config");
	argv_add(&a, "-display");
	argv_add(&a, "none");
	argv_add(&a, "-qmp");
	argv_add(&a, "unix:%s,server=on,wait=off", spec->control_socket);
	argv_add(&a, "-chardev");
	argv_add(&a, "socket,id=serial0,path=%s,server=on,wait=off", spec->serial_socket);
	argv_add(&a, "-serial");
	argv_add(&a, "chardev:serial0");
	if (vmconfig_kernel_boot(c)) {
		argv_add(&a, "-kernel");
		argv_add(&a, "%s", c->kernel);
		if (c->_initramfs_case == MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS) {
			argv_add(&a, "-initrd");
			argv_add(&a, "%s", c->initramfs);
		}
		if (c->_cmdline_case == MVIRT__VM_CONFIG___CMDLINE_CMDLINE) {
			argv_add(&a, "-append");
			argv_add(&a, "%s", c->cmdline);
		}
	} else {
		if (!s->firmware) {
			argv_free(argv_finish(&a));
			snprintf(err, HV_ERR_MAX, "disk boot needs UEFI firmware (--firmware-path)");
			return -ENOENT;
		}
		argv_add(&a, "-bios");
		argv_add(&a, "%s", s->firmware);
	}
	for (size_t i = 0; i < c->n_disks; i++)
		add_disk_args(&a, c->disks[i]->path, c->disks[i]->readonly);
	if (spec->seed_iso)
		add_disk_args(&a, spec->seed_iso, true);
	for (size_t i = 0; i < c->n_nics; i++) {
		const Mvirt__NicConfig *n = c->nics[i];
		char id[32];
		hv_nic_id(n->mac, id);
		if (n->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET) {
			argv_add(&a, "-chardev");
			argv_add(&a, "socket,id=%s-chr,path=%s", id, n->vhost_socket);
			argv_add(&a, "-netdev");
			argv_add(&a, "vhost-user,id=%s-net,chardev=%s-chr", id, id);
			argv_add(&a, "-device");
			/* vectors=0: QEMU 7.2 under TCG crashes with MSI-X on vhost-user */
			argv_add(&a, "virtio-net-pci,netdev=%s-net,id=%s,mac=%s,romfile=%s", id, id,
				 n->mac, s->kvm ? "" : ",vectors=0");
		} else {
			argv_add(&a, "-netdev");
			argv_add(&a, "tap,id=%s-net,ifname=%s,script=no,downscript=no", id,
				 spec->taps[i]);
			argv_add(&a, "-device");
			argv_add(&a, "virtio-net-pci,netdev=%s-net,id=%s,mac=%s,romfile=", id, id,
				 n->mac);
		}
	}
	*out = argv_finish(&a);
	return 0;
}

/* ---- control -------------------------------------------------------------- */

/* One command in its own session. */
static int qemu_command(const struct hv_settings *s, const char *sock, const char *command,
			json_t *args, json_t **ret, char *err)
{
	_cleanup_qmp_session_ struct qmp_session *q = NULL;
	int r;

	r = qmp_session_open(sock, s->control_timeout_ms, &q, err, HV_ERR_MAX);
	if (r >= 0)
		r = qmp_session_run(q, command, args, ret, err, HV_ERR_MAX);
	json_decref(args);
	return r;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int qemu_wait_running(const struct hv_settings *s, const char *sock, int timeout_ms,
			     char *err)
{
	struct timespec t0;
	int r = -ETIMEDOUT;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		json_t *st = NULL;
		struct timespec t;
		r = qemu_command(s, sock, "query-status", NULL, &st, err);
		if (r == 0) {
			const char *status = json_string_value(json_object_get(st, "status"));
			bool running = json_is_true(json_object_get(st, "running"));
			json_decref(st);
			if (running)
				return 0;
			snprintf(err, HV_ERR_MAX, "the guest is %s", status ? status : "not running");
			r = -EIO;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			return r;
		/* the socket appears a moment after exec */
		sleep_ms(20);
	}
}

static int qemu_power_button(const struct hv_settings *s, const char *sock, char *err)
{
	return qemu_command(s, sock, "system_powerdown", NULL, NULL, err);
}

static int qemu_pause(const struct hv_settings *s, const char *sock, char *err)
{
	return qemu_command(s, sock, "stop", NULL, NULL, err);
}

static int qemu_resume(const struct hv_settings *s, const char *sock, char *err)
{
	return qemu_command(s, sock, "cont", NULL, NULL, err);
}

static int qemu_reboot(const struct hv_settings *s, const char *sock, char *err)
{
	return qemu_command(s, sock, "system_reset", NULL, NULL, err);
}

static int qemu_add_disk(const struct hv_settings *s, const char *sock,
			 const Mvirt__DiskConfig *d, char *err)
{
	char id[32];
	int r;

	hv_disk_id(d->path, id);
	r = qemu_command(s, sock, "blockdev-add",
			 json_pack("{s:s, s:s, s:b, s:{s:s, s:s}}", "driver", "raw", "node-name", id,
				   "read-only", (int)d->readonly, "file", "driver",
				   file_driver(d->path), "filename", d->path),
			 NULL, err);
	if (r < 0)
		return r;
	r = qemu_command(s, sock, "device_add",
			 json_pack("{s:s, s:s, s:s}", "driver", "virtio-blk-pci", "drive", id, "id",
				   id),
			 NULL, err);
	if (r < 0) {
		char e2[HV_ERR_MAX];
		qemu_command(s, sock, "blockdev-del", json_pack("{s:s}", "node-name", id), NULL, e2);
	}
	return r;
}

/* device_del asks the guest to let go; the device is gone once QEMU no
 * longer lists it under /machine/peripheral. */
static int wait_device_gone(const struct hv_settings *s, const char *sock, const char *id,
			    char *err)
{
	for (int waited = 0; waited < s->control_timeout_ms; waited += 50) {
		json_t *list = NULL;
		bool present = false;
		size_t i;
		json_t *e;
		int r = qemu_command(s, sock, "qom-list",
				     json_pack("{s:s}", "path", "/machine/peripheral"), &list, err);
		if (r < 0)
			return r;
		json_array_foreach(list, i, e)
			present |= streq(json_string_value(json_object_get(e, "name")) ?: "", id);
		json_decref(list);
		if (!present)
			return 0;
		sleep_ms(50);
	}
	snprintf(err, HV_ERR_MAX, "the guest did not release device %s within %d ms", id,
		 s->control_timeout_ms);
	return -ETIMEDOUT;
}

/* blockdev-del of a node whose device was just removed: QEMU drops the
 * device's hold on the node only when the device object is finalized, a
 * moment after it left /machine/peripheral, and says "is in use" until
 * then; retry that answer for the control timeout. */
static int blockdev_del_released(const struct hv_settings *s, const char *sock, const char *id,
				 char *err)
{
	for (int waited = 0;; waited += 50) {
		int r = qemu_command(s, sock, "blockdev-del", json_pack("{s:s}", "node-name", id),
				     NULL, err);
		if (r != -EREMOTEIO || !strstr(err, "is in use") ||
		    waited >= s->control_timeout_ms)
			return r;
		sleep_ms(50);
	}
}

static int qemu_remove_disk(const struct hv_settings *s, const char *sock, const char *path,
			    char *err)
{
	char id[32];
	int r;

	hv_disk_id(path, id);
	r = qemu_command(s, sock, "device_del", json_pack("{s:s}", "id", id), NULL, err);
	if (r >= 0)
		r = wait_device_gone(s, sock, id, err);
	if (r >= 0)
		r = blockdev_del_released(s, sock, id, err);
	return r;
}

static int qemu_add_nic(const struct hv_settings *s, const char *sock, const Mvirt__NicConfig *n,
			const char *tap, char *err)
{
	char id[32], netdev[40], chr[40];
	json_t *args;
	int r;

	hv_nic_id(n->mac, id);
	snprintf(netdev, sizeof(netdev), "%s-net", id);
	snprintf(chr, sizeof(chr), "%s-chr", id);
	if (n->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET) {
		r = qemu_command(s, sock, "chardev-add",
				 json_pack("{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}}}}", "id", chr,
					   "backend", "type", "socket", "data", "addr", "type",
					   "unix", "data", "path", n->vhost_socket),
				 NULL, err);
		if (r < 0)
			return r;
		args = json_pack("{s:s, s:s, s:s}", "type", "vhost-user", "id", netdev, "chardev",
				 chr);
	} else {
		args = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "tap", "id", netdev, "ifname",
				 tap, "script", "no", "downscript", "no");
	}
	r = qemu_command(s, sock, "netdev_add", args, NULL, err);
	if (r < 0)
		return r;
	args = json_pack("{s:s, s:s, s:s, s:s, s:s}", "driver", "virtio-net-pci", "netdev", netdev,
			 "id", id, "mac", n->mac, "romfile", "");
	if (!s->kvm && n->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET)
		json_object_set_new(args, "vectors", json_integer(0));
	r = qemu_command(s, sock, "device_add", args, NULL, err);
	if (r < 0) {
		char e2[HV_ERR_MAX];
		qemu_command(s, sock, "netdev_del", json_pack("{s:s}", "id", netdev), NULL, e2);
	}
	return r;
}

static int qemu_remove_nic(const struct hv_settings *s, const char *sock, const char *mac,
			   char *err)
{
	char id[32], netdev[40];
	int r;

	hv_nic_id(mac, id);
	snprintf(netdev, sizeof(netdev), "%s-net", id);
	r = qemu_command(s, sock, "device_del", json_pack("{s:s}", "id", id), NULL, err);
	if (r >= 0)
		r = wait_device_gone(s, sock, id, err);
	if (r >= 0)
		r = qemu_command(s, sock, "netdev_del", json_pack("{s:s}", "id", netdev), NULL, err);
	return r;
}

const struct hv_driver hv_qemu = {
	.name = "qemu",
	.build_argv = qemu_build_argv,
	.wait_running = qemu_wait_running,
	.power_button = qemu_power_button,
	.pause = qemu_pause,
	.resume = qemu_resume,
	.reboot = qemu_reboot,
	.add_disk = qemu_add_disk,
	.remove_disk = qemu_remove_disk,
	.add_nic = qemu_add_nic,
	.remove_nic = qemu_remove_nic,
};
