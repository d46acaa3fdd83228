/* SPDX-License-Identifier: MIT */
/*
 * Can KVM really run a 64-bit guest here? On some hosts /dev/kvm exists but a
 * 64-bit guest never gets anywhere (nested virtualisation limits), so
 * "--hypervisor auto" cannot trust the device's presence. kvm_probe() boots a
 * tiny guest through the KVM API -- the way a PVH kernel starts: 32-bit
 * protected mode, then PAE paging with 4 KiB and 2 MiB pages, NX, long mode,
 * SSE -- and checks what it reports. The guest runs in a forked child that is
 * killed at the deadline, so a vCPU that hangs cannot hang the caller.
 *
 * Blocking; meant for a worker thread or for start-up. The child only makes
 * system calls (async-signal-safe), so calling this from a threaded process
 * is fine.
 */
#pragma once

#include <stddef.h>

#define KVM_PROBE_DEVICE "/dev/kvm"

/*
 * Probe KVM_PROBE_DEVICE. Returns 1 when the test guest ran to completion
 * with the expected result, 0 when KVM is unusable (reason says why, e.g.
 * "/dev/kvm missing", "KVM_CREATE_VM failed: ...", "a 64-bit guest did not
 * finish within 500 ms"), or a negative errno on an internal error (reason
 * set too). Returns within timeout_ms plus at most about a second (the time
 * a killed child gets to die), and never leaves a child behind unless the
 * kernel refuses to let it die.
 */
int kvm_probe(int timeout_ms, char *reason, size_t len);

/* kvm_probe() on another device path: the seam for tests ("missing"). */
int kvm_probe_device(const char *device, int timeout_ms, char *reason, size_t len);

/*
 * What runs in the child: probe device and write the result record to
 * result_fd, then _exit(). Must only use async-signal-safe calls.
 */
typedef void (*kvm_probe_child_fn)(const char *device, int result_fd);

/*
 * kvm_probe_device() with another child body: the seam for tests of the
 * timeout and crash handling (a body that never returns, or dies).
 */
int kvm_probe_with(const char *device, int timeout_ms, kvm_probe_child_fn child,
		   char *reason, size_t len);
