/* SPDX-License-Identifier: MIT */
/*
 * hv-argv: print the command line a hypervisor driver builds for a VM, one
 * argument per line, without starting anything. The golden-file tests of
 * both drivers (tests/integration/test_hv_golden.py) run it, so that every
 * boot mode and NIC kind is covered without a hypervisor. The paths of the
 * sockets, TAP names and seed are those mvirt-vmm would use. Not installed.
 *
 *   hv-argv [--kvm] [--firmware FILE] [--seed ISO] [--bin PATH] [--vm-id ID]
 *           [--run-dir DIR] qemu|cloud-hypervisor CONFIG_JSON
 *
 * CONFIG_JSON holds a VmConfig in its stored form (api.md §2.6).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>

#include "config.h"
#include "hv.h"
#include "tap.h"
#include "util.h"

#define CONFIG_FILE_MAX (4U << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: hv-argv [--kvm] [--firmware FILE] [--seed ISO] [--bin PATH]\n"
		   "               [--vm-id ID] [--run-dir DIR] qemu|cloud-hypervisor CONFIG_JSON\n");
}

/* The whole file, at most CONFIG_FILE_MAX bytes; NULL with errno. */
static char *read_file(const char *path, size_t *len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *data = NULL;

	if (!f)
		return NULL;
	data = xmalloc(CONFIG_FILE_MAX + 1);
	*len = fread(data, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || *len > CONFIG_FILE_MAX) {
		errno = ferror(f) ? EIO : EFBIG;
		return NULL;
	}
	return TAKE_PTR(data);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "kvm", no_argument, NULL, 'k' },
		{ "firmware", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "bin", required_argument, NULL, 'b' },
		{ "vm-id", required_argument, NULL, 'i' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct hv_settings settings = { .qemu_bin = "qemu-system-x86_64",
					.ch_bin = "cloud-hypervisor", .control_timeout_ms = 1000 };
	const char *vm_id = "00000000-0000-4000-8000-000000000000", *run_dir = "/run/mvirt";
	const char *seed = NULL, *bin = NULL;
	const struct hv_driver *drv;
	_cleanup_free_ char *json = NULL, *control = NULL, *serial = NULL;
	Mvirt__VmConfig *config = NULL;
	char err[HV_ERR_MAX] = "", **out = NULL, **taps = NULL;
	bool shared = false;
	size_t len = 0;
	int c, r = 1;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'k':
			settings.kvm = true;
			break;
		case 'f':
			settings.firmware = optarg;
			break;
		case 's':
			seed = optarg;
			break;
		case 'b':
			bin = optarg;
			break;
		case 'i':
			vm_id = optarg;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (streq(argv[optind], "qemu"))
		drv = &hv_qemu;
	else if (streq(argv[optind], "cloud-hypervisor"))
		drv = &hv_cloud_hypervisor;
	else {
		usage(stderr);
		return 2;
	}
	if (bin)
		*(streq(drv->name, "qemu") ? &settings.qemu_bin : &settings.ch_bin) = bin;

	json = read_file(argv[optind + 1], &len);
	if (!json) {
		fprintf(stderr, "hv-argv: %s: %m\n", argv[optind + 1]);
		return 1;
	}
	if (vmconfig_from_json(json, len, &config, err, sizeof(err)) < 0) {
		fprintf(stderr, "hv-argv: %s\n", err);
		return 1;
	}
	/* per NIC what the daemon's start makes: a TAP, or shared memory */
	taps = xcalloc(config->n_nics + 1, sizeof(*taps));
	for (size_t i = 0; i < config->n_nics; i++) {
		char name[TAP_NAME_SIZE];
		if (config->nics[i]->_vhost_socket_case ==
		    MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET) {
			shared = true;
		} else if (tap_name_for(vm_id, (unsigned)i, name) < 0) {
			fprintf(stderr, "hv-argv: no TAP name for VM id '%s'\n", vm_id);
			goto out;
		} else {
			taps[i] = xstrdup(name);
		}
	}
	control = xasprintf("%s/vms/%s/control.sock", run_dir, vm_id);
	serial = xasprintf("%s/vms/%s/serial.sock", run_dir, vm_id);
	struct hv_spec spec = {
		.vm_id = vm_id,
		.config = config,
		.control_socket = control,
		.serial_socket = serial,
		.seed_iso = seed,
		.taps = (const char *const *)taps,
		.shared_memory = shared,
	};
	if (drv->build_argv(&settings, &spec, &out, err) < 0) {
		fprintf(stderr, "hv-argv: %s\n", err);
		goto out;
	}
	for (size_t i = 0; out[i]; i++)
		printf("%s\n", out[i]);
	r = 0;
out:
	argv_free(out);
	/* vhost-user NICs leave holes: not a NULL-terminated vector */
	for (size_t i = 0; taps && i < config->n_nics; i++)
		free(taps[i]);
	free(taps);
	vmconfig_free(config);
	return r;
}
