/* SPDX-License-Identifier: MIT */
/*
 * kvm-probe: print whether KVM can run a 64-bit guest on this host, the way
 * "mvirt-vmm --hypervisor auto" decides it. For notes and bug reports; not
 * installed.
 *
 *   kvm-probe [--timeout MS] [--device PATH]
 *
 * Exit status: 0 usable, 1 unusable, 2 internal error or bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "kvm_probe.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 2000

static void usage(FILE *f)
{
	fprintf(f, "usage: kvm-probe [--timeout MS] [--device PATH]\n"
		   "Probe whether KVM runs a 64-bit guest (default %s, %d ms).\n",
		KVM_PROBE_DEVICE, DEFAULT_TIMEOUT_MS);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *device = KVM_PROBE_DEVICE;
	unsigned long long timeout_ms = DEFAULT_TIMEOUT_MS;
	struct timespec start, end;
	long elapsed_ms;
	char reason[256];
	int c, r;

	while ((c = getopt_long(argc, argv, "t:d:h", options, NULL)) >= 0) {
		switch (c) {
		case 't':
			if (parse_u64(optarg, 600000, &timeout_ms) < 0 || timeout_ms == 0) {
				fprintf(stderr, "kvm-probe: invalid timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	r = kvm_probe_device(device, (int)timeout_ms, reason, sizeof(reason));
	clock_gettime(CLOCK_MONOTONIC, &end);
	elapsed_ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;

	if (r < 0) {
		fprintf(stderr, "kvm-probe: error: %s\n", reason);
		return 2;
	}
	printf("%s: %s (%ld ms)\n", r ? "usable" : "unusable", reason, elapsed_ms);
	return r ? 0 : 1;
}
