/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the `mvirt vm` argument parsers (user input) on
 * arbitrary bytes. What they accept must hold together: a NIC has exactly
 * the fields the spec names and a valid MAC, a disk path is non-empty and a
 * prefix of the input, a memory size is > 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_nic_spec nic;
	const char *reason;
	char *s, *path;
	uint64_t mib;
	bool ro;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (vm_nic_spec_parse(s, &nic, &reason) == 0) {
		if (reason || (nic.mac && !vm_mac_valid(nic.mac)) ||
		    (nic.vhost_socket && !nic.vhost_socket[0]))
			abort();
		vm_nic_spec_done(&nic);
	} else if (!reason || nic.mac || nic.vhost_socket) {
		abort();
	}
	if (vm_disk_spec_parse(s, &path, &ro) == 0) {
		if (!path[0] || strncmp(path, s, strlen(path)) != 0)
			abort();
		free(path);
	}
	if (vm_memory_parse(s, &mib) == 0 && mib == 0)
		abort();
	free(s);
	return 0;
}
