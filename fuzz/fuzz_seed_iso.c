/* SPDX-License-Identifier: MIT */
/*
 * The ISO 9660 lister of the cloud-init seed (vmm/seed.c) over hostile
 * images: both trees; whatever it lists lies inside the input, and every
 * name is terminated printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_listing(const struct seed_iso_listing *l, size_t size)
{
	if (l->n > SEED_FILES_MAX || !memchr(l->label, 0, sizeof(l->label)))
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct seed_iso_entry *e = &l->files[i];
		const char *end = memchr(e->name, 0, sizeof(e->name));

		if (!end || (e->size && e->offset + e->size > size))
			abort();
		for (const char *p = e->name; p < end; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seed_iso_listing l;

	for (int joliet = 0; joliet < 2; joliet++)
		if (seed_iso_list(data, size, joliet, &l, NULL) == 0)
			check_listing(&l, size);
	return 0;
}
