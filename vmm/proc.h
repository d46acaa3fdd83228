/* SPDX-License-Identifier: MIT */
/*
 * Hypervisor processes: spawned in a session of their own (they outlive the
 * daemon: the unit has KillMode=process), with stdin from /dev/null and
 * stdout/stderr into a log file; identified across daemon restarts by their
 * start time and command line, so a reused pid is never mistaken for ours.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Spawn argv[0] (a path or a name on PATH). 0 or -errno. */
int proc_spawn(char *const *argv, const char *log_path, pid_t *pid);

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot. The
 * line is outside bytes (the process name may hold anything). */
int proc_start_time(pid_t pid, uint64_t *out);
/* Parse a /proc/PID/stat line (pure, for tests and fuzzing). */
int proc_parse_stat_start(const char *text, size_t len, uint64_t *out);

/* Whether pid is still the process that had start time start and whose
 * command line contains needle (e.g. its control socket path). */
bool proc_is_ours(pid_t pid, uint64_t start, const char *needle);

/* pidfd_open(2); -errno. */
int proc_pidfd(pid_t pid);

/* The last non-empty lines of a log file (at most max bytes), one line. */
void proc_log_tail(const char *path, char *out, size_t max);
