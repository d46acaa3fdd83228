/* SPDX-License-Identifier: MIT */
/*
 * mvirt-vmm: the VM manager. VM definitions and runtime state in SQLite,
 * one hypervisor process per running VM (QEMU or cloud-hypervisor), serial
 * consoles; serves mvirt.VmService over gRPC.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "console_log.h"
#include "daemon.h"
#include "grpc.h"
#include "kvm_probe.h"
#include "log.h"
#include "service.h"

enum {
	OPT_HYPERVISOR = 0x2000,
	OPT_QEMU_BIN,
	OPT_CH_BIN,
	OPT_FIRMWARE,
	OPT_DISK_ROOT,
	OPT_BOOT_ROOT,
	OPT_BRIDGE,
	OPT_STOP_TIMEOUT,
	OPT_START_TIMEOUT,
	OPT_CONSOLE_LOG_SIZE,
	OPT_WORKERS,
};

static const struct option vmm_options[] = {
	{ "hypervisor", required_argument, NULL, OPT_HYPERVISOR },
	{ "qemu-bin", required_argument, NULL, OPT_QEMU_BIN },
	{ "cloud-hypervisor-bin", required_argument, NULL, OPT_CH_BIN },
	{ "firmware-path", required_argument, NULL, OPT_FIRMWARE },
	{ "allowed-disk-root", required_argument, NULL, OPT_DISK_ROOT },
	{ "allowed-boot-root", required_argument, NULL, OPT_BOOT_ROOT },
	{ "bridge", required_argument, NULL, OPT_BRIDGE },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "start-timeout", required_argument, NULL, OPT_START_TIMEOUT },
	{ "console-log-size", required_argument, NULL, OPT_CONSOLE_LOG_SIZE },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ 0 },
};

struct vmm_args {
	const char *hypervisor;
	const char *qemu_bin, *ch_bin, *firmware, *bridge;
	char **disk_roots, **boot_roots;
	size_t n_disk_roots, n_boot_roots;
	unsigned stop_timeout, start_timeout, workers;
	unsigned long long console_log_size;
};

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "mvirt-vmm: invalid %s '%s' (see --help)\n", opt, arg);
	return -EINVAL;
}

static void add_root(char ***v, size_t *n, const char *path)
{
	char real[PATH_MAX];

	/* a root that does not exist yet is kept as given */
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(realpath(path, real) ? real : path);
}

static int on_option(int opt, const char *arg, void *userdata)
{
	struct vmm_args *a = userdata;
	unsigned long long v;

	switch (opt) {
	case OPT_HYPERVISOR:
		if (!streq(arg, "auto") && !streq(arg, "qemu") && !streq(arg, "cloud-hypervisor"))
			return bad("--hypervisor", arg);
		a->hypervisor = arg;
		return 0;
	case OPT_QEMU_BIN:
		a->qemu_bin = arg;
		return 0;
	case OPT_CH_BIN:
		a->ch_bin = arg;
		return 0;
	case OPT_FIRMWARE:
		a->firmware = arg;
		return 0;
	case OPT_DISK_ROOT:
	case OPT_BOOT_ROOT:
		if (arg[0] != '/')
			return bad(opt == OPT_DISK_ROOT ? "--allowed-disk-root" : "--allowed-boot-root",
				   arg);
		if (opt == OPT_DISK_ROOT)
			add_root(&a->disk_roots, &a->n_disk_roots, arg);
		else
			add_root(&a->boot_roots, &a->n_boot_roots, arg);
		return 0;
	case OPT_BRIDGE:
		a->bridge = arg;
		return 0;
	case OPT_STOP_TIMEOUT:
		if (parse_u64(arg, 86400, &v) < 0 || v == 0)
			return bad("--stop-timeout", arg);
		a->stop_timeout = (unsigned)v;
		return 0;
	case OPT_START_TIMEOUT:
		if (parse_u64(arg, 3600, &v) < 0 || v == 0)
			return bad("--start-timeout", arg);
		a->start_timeout = (unsigned)v;
		return 0;
	case OPT_CONSOLE_LOG_SIZE:
		if (parse_u64(arg, UINT64_C(1) << 34, &v) < 0 || v < CONSOLE_LOG_MIN)
			return bad("--console-log-size", arg);
		a->console_log_size = v;
		return 0;
	case OPT_WORKERS:
		if (parse_u64(arg, 64, &v) < 0 || v == 0)
			return bad("--workers", arg);
		a->workers = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

static void free_roots(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Whether bin (a path, or a name looked up on PATH) is an executable. */
static bool executable_found(const char *bin)
{
	const char *path = getenv("PATH");

	if (strchr(bin, '/'))
		return access(bin, X_OK) == 0;
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		_cleanup_free_ char *file = xasprintf("%.*s/%s", (int)n, p, bin);
		if (n > 0 && access(file, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* The driver and QEMU's accelerator (api.md: auto prefers cloud-hypervisor
 * with a usable KVM, then QEMU with KVM, then QEMU with TCG). An explicit
 * "cloud-hypervisor" is obeyed without the probe's verdict: the binary
 * reports for itself whether it can run a guest. */
static int choose_hypervisor(struct vmm_args *a, struct vmm_config *cfg)
{
	char reason[256] = "";
	int kvm = kvm_probe(3000, reason, sizeof(reason));

	if (kvm < 0)
		kvm = 0;
	cfg->hv.kvm = kvm == 1;
	if (!a->ch_bin)
		a->ch_bin = "cloud-hypervisor";
	cfg->hv.ch_bin = a->ch_bin;
	if (streq(a->hypervisor, "cloud-hypervisor") ||
	    (streq(a->hypervisor, "auto") && kvm == 1 && executable_found(a->ch_bin))) {
		cfg->driver = &hv_cloud_hypervisor;
		log_info("hypervisor: cloud-hypervisor (%s)", a->ch_bin);
		if (kvm != 1)
			log_warning("KVM cannot run a guest here (%s)", reason);
		return 0;
	}
	cfg->driver = &hv_qemu;
	log_info("hypervisor: qemu with %s%s%s%s", kvm == 1 ? "KVM" : "TCG",
		 kvm == 1 ? "" : " (KVM: ", kvm == 1 ? "" : reason, kvm == 1 ? "" : ")");
	return 0;
}

int main(int argc, char **argv)
{
	struct vmm_args va = { .hypervisor = "auto", .qemu_bin = "qemu-system-x86_64",
			       .stop_timeout = 30, .start_timeout = 60, .workers = 8,
			       .console_log_size = CONSOLE_LOG_DEFAULT };
	struct daemon_args args = {
		.program = "mvirt-vmm",
		.summary = "The mvirt VM manager: VM definitions in DATA_DIR/mvirt.db, one hypervisor\n"
			   "process per running VM, serial consoles; serves mvirt.VmService over gRPC.",
		.socket_name = "vmm.sock",
		.data_subdir = "vmm",
		.uses_log_endpoint = true,
		.extra = vmm_options,
		.extra_short = "",
		.extra_usage =
			"      --hypervisor H         auto (default), qemu or cloud-hypervisor\n"
			"      --qemu-bin PATH        QEMU (default qemu-system-x86_64 on PATH)\n"
			"      --cloud-hypervisor-bin PATH  cloud-hypervisor (default\n"
			"                             cloud-hypervisor on PATH)\n"
			"      --firmware-path FILE   UEFI firmware for disk boot (default QEMU:\n"
			"                             /usr/share/ovmf/OVMF.fd, cloud-hypervisor:\n"
			"                             /usr/share/cloud-hypervisor/CLOUDHV.fd, when present)\n"
			"      --allowed-disk-root DIR  disks must lie below DIR (repeatable; default\n"
			"                             /dev/zvol and /var/lib/mvirt)\n"
			"      --allowed-boot-root DIR  kernels and initramfs below DIR (repeatable;\n"
			"                             default /var/lib/mvirt)\n"
			"      --bridge NAME          TAP NICs join this bridge (default: none)\n"
			"      --stop-timeout S       graceful stop before a kill (default 30)\n"
			"      --start-timeout S      a start fails after S seconds (default 60)\n"
			"      --console-log-size N   bytes of serial output kept per VM (default\n"
			"                             1048576, at least 65536)\n"
			"      --workers N            threads carrying out RPCs (default 8)\n",
		.on_extra = on_option,
		.userdata = &va,
	};
	struct grpc_daemon d = { 0 };
	struct vmstore *store = NULL;
	struct vmm *vmm = NULL;
	struct audit_client *audit = NULL;
	_cleanup_free_ char *db_path = NULL, *vms_run = NULL;
	struct stat st;
	int r;

	r = daemon_parse_args(&args, argc, argv);
	if (r != 0) {
		free_roots(va.disk_roots, va.n_disk_roots);
		free_roots(va.boot_roots, va.n_boot_roots);
		return r > 0 ? 0 : 2;
	}
	if (va.n_disk_roots == 0) {
		add_root(&va.disk_roots, &va.n_disk_roots, "/dev/zvol");
		add_root(&va.disk_roots, &va.n_disk_roots, "/var/lib/mvirt");
	}
	if (va.n_boot_roots == 0)
		add_root(&va.boot_roots, &va.n_boot_roots, "/var/lib/mvirt");

	struct vmm_config cfg = {
		.run_dir = args.run_dir,
		.data_dir = args.data_dir,
		.disk_roots = (const char *const *)va.disk_roots,
		.n_disk_roots = va.n_disk_roots,
		.boot_roots = (const char *const *)va.boot_roots,
		.n_boot_roots = va.n_boot_roots,
		.bridge = va.bridge,
		.stop_timeout_s = va.stop_timeout,
		.console_log_size = va.console_log_size,
		.start_timeout_ms = (int)va.start_timeout * 1000,
		.hv = { .qemu_bin = va.qemu_bin, .ch_bin = va.ch_bin, .firmware = va.firmware,
			.control_timeout_ms = 10000 },
	};
	r = mkdir_p(args.data_dir, 0750);
	if (r < 0) {
		log_error_errno(r, "cannot create data directory %s", args.data_dir);
		goto out;
	}
	vms_run = xasprintf("%s/vms", args.run_dir);
	r = mkdir_p(vms_run, 0750);
	if (r < 0) {
		log_error_errno(r, "cannot create %s", vms_run);
		goto out;
	}
	r = choose_hypervisor(&va, &cfg);
	if (r < 0)
		goto out;
	/* each hypervisor boots disks with its own UEFI build */
	if (!cfg.hv.firmware) {
		const char *fw = cfg.driver == &hv_qemu ? "/usr/share/ovmf/OVMF.fd"
							: "/usr/share/cloud-hypervisor/CLOUDHV.fd";
		if (stat(fw, &st) == 0)
			cfg.hv.firmware = fw;
	}
	/* sockets live in RUN_DIR/vms/<id>/: their paths must fit sun_path */
	if (strlen(args.run_dir) + strlen("/vms/") + 36 + strlen("/control.sock") >= 108) {
		log_error("--run-dir %s is too long for the VMs' socket paths (108 bytes at most)",
			  args.run_dir);
		r = -ENAMETOOLONG;
		goto out;
	}
	db_path = xasprintf("%s/mvirt.db", args.data_dir);
	r = vmstore_open(db_path, &store);
	if (r < 0) {
		log_error_errno(r, "cannot open %s", db_path);
		goto out;
	}
	r = audit_client_new(args.log_endpoint, "vmm", &audit);
	if (r < 0) {
		log_error_errno(r, "cannot set up the audit client");
		goto out;
	}
	r = grpc_daemon_init(&d, &args);
	if (r < 0)
		goto out;
	r = vmm_service_new(d.event, store, audit, &cfg, va.workers, &vmm);
	if (r < 0) {
		log_error_errno(r, "cannot start the VM service");
		goto out;
	}
	vmm_service_start(vmm);
	grpc_server_add_service(d.server, vmm_service_grpc(vmm));
	log_info("mvirt-vmm %s: database %s, %s driver", MVIRT_VERSION, db_path, cfg.driver->name);
	r = grpc_daemon_serve(&d);
out:
	grpc_server_free(d.server);
	d.server = NULL;
	vmm_service_free(vmm);
	grpc_daemon_done(&d);
	audit_client_free(audit, 2000);
	vmstore_close(store);
	free_roots(va.disk_roots, va.n_disk_roots);
	free_roots(va.boot_roots, va.n_boot_roots);
	daemon_args_free(&args);
	return r < 0 ? 1 : 0;
}
