/* SPDX-License-Identifier: MIT */
/*
 * The cloud-init seed's label readers over a sector of a disk the VM's owner
 * supplies: an iso9660 primary volume descriptor and a FAT boot sector. A
 * label they return is NUL-terminated printable ASCII within its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A label of at most max characters, terminated, printable ASCII. */
static void check_label(const char label[SEED_LABEL_MAX], size_t max)
{
	const char *end = memchr(label, 0, SEED_LABEL_MAX);

	if (!end || (size_t)(end - label) > max)
		abort();
	for (const char *p = label; p < end; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char label[SEED_LABEL_MAX];

	/* poison the buffer so that a missing terminator shows */
	memset(label, 0xff, sizeof(label));
	if (seed_label_iso9660(data, size, label) == 0)
		check_label(label, 32);
	memset(label, 0xff, sizeof(label));
	if (seed_label_vfat(data, size, label) == 0)
		check_label(label, 11);
	return 0;
}
