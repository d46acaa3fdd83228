/* SPDX-License-Identifier: MIT */
/*
 * cloud-hypervisor's REST answers on hostile bytes, as a compromised
 * hypervisor could send them: the error line must stay terminated,
 * printable and within its buffer (the first byte picks the buffer size),
 * and vm.info's state must be one of the known ones or an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ch_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char state[CH_STATE_MAX], err[128];
	size_t outsize;
	char *out;

	if (size < 1)
		return 0;
	outsize = (size_t)data[0] + 1;
	data++;
	size--;
	out = malloc(outsize);
	if (!out)
		return 0;
	ch_error_text((const char *)data, size, out, outsize);
	if (strnlen(out, outsize) >= outsize)
		abort();
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	free(out);

	if (ch_info_state((const char *)data, size, state, err, sizeof(err)) == 0 &&
	    strcmp(state, "Created") && strcmp(state, "Running") && strcmp(state, "Shutdown") &&
	    strcmp(state, "Paused") && strcmp(state, "BreakPoint"))
		abort();
	return 0;
}
