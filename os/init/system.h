/* SPDX-License-Identifier: MIT */
/* What PID 1 does to the system itself: API filesystems, console, hostname,
 * resolv.conf, and the final unmount and power-off or reboot. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

/* Mount proc, sys, devtmpfs, devpts, /dev/shm, /run, /tmp (each only if not
 * mounted yet); a failure of one is logged and the others still tried. */
int system_mount_api(void);

/* Make fds 0-2 the console if they are not open (no /dev/console in the
 * initramfs before devtmpfs). */
void system_console(void);

/* sethostname + /etc/hostname */
int system_set_hostname(const char *name);

/* Write /etc/resolv.conf from the DNS servers known so far (either list may
 * be empty; nothing is written when both are). */
int system_write_resolv_conf(const struct in_addr *v4, size_t n4, const struct in6_addr *v6,
			     size_t n6, const char *search_domain);

/* Kill what is left, sync, unmount everything, then reboot(2): RB_POWER_OFF
 * or RB_AUTOBOOT. Does not return. */
_Noreturn void system_final(bool reboot_after);
