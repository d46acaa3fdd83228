/* SPDX-License-Identifier: MIT */
/* Fuzz target: the VM manager's parsers of stored and /proc bytes — a
 * VmConfig's config_json (our database may be a reference one), the
 * /proc/PID/stat line and the console log header. The first byte picks. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "console_log.h"
#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	uint64_t a, b;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		Mvirt__VmConfig *c = NULL;
		if (vmconfig_from_json((const char *)data + 1, size - 1, &c, err, sizeof(err)) == 0) {
			char *json = NULL;
			/* what parses must check and serialize without trouble */
			vmconfig_check(c, err, sizeof(err));
			if (vmconfig_to_json(c, &json) == 0)
				free(json);
			vmconfig_free(c);
		}
		break;
	}
	case 1:
		proc_parse_stat_start((const char *)data + 1, size - 1, &a);
		break;
	default:
		console_log_parse_header(data + 1, size - 1, &a, &b);
	}
	return 0;
}
