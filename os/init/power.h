/* SPDX-License-Identifier: MIT */
/*
 * The ACPI power button: every input device that can send KEY_POWER is
 * watched; a press calls back (the init powers off). QEMU's
 * system_powerdown and cloud-hypervisor's power-button both arrive here.
 */
#pragma once

#include "loop.h"

struct power_button;

int power_button_watch(struct loop *l, void (*pressed)(void *userdata), void *userdata,
		       struct power_button **out);
void power_button_free(struct power_button *p);
