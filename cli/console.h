/* SPDX-License-Identifier: MIT */
/*
 * `mvirt vm console`: the terminal attached to a VM's serial console through
 * mvirt-vmm's bidirectional Console stream. Raw mode while attached (when
 * standard input is a terminal), restored on every way out.
 */
#pragma once

#include "cli.h"

/* The byte that detaches (Ctrl-]), as telnet and virsh use it. */
#define CONSOLE_ESCAPE 0x1d

/*
 * Relay standard input to the console of the VM with id vm_id and its
 * output to standard output until Ctrl-] (terminal input only), the end of
 * the stream (the VM stopped) or an error. label names the VM in messages.
 * Returns an exit code; a fatal signal restores the terminal and then
 * kills the process as it would have without us.
 */
int vm_console_attach(struct cli *cli, const char *vm_id, const char *label);
