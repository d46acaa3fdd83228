/* SPDX-License-Identifier: MIT */
/*
 * The init's event loop: one epoll set for file descriptors and a sorted
 * list of one-shot timers on CLOCK_BOOTTIME (lease times keep counting
 * while the VM is paused). Single-threaded: every NIC's DHCP client, the
 * service supervisor and signal handling run as callbacks on it. No
 * libsystemd here: the init is a static musl binary.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

/* events: EPOLLIN etc. as reported by epoll. */
typedef void (*loop_io_fn)(struct loop_io *io, int fd, uint32_t events, void *userdata);
typedef void (*loop_timer_fn)(struct loop_timer *t, void *userdata);

int loop_new(struct loop **out);
void loop_free(struct loop *l);

/* Milliseconds on CLOCK_BOOTTIME. */
uint64_t loop_now_ms(void);

/* Watch fd (not owned: loop_io_free does not close it). */
int loop_io_add(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
		struct loop_io **out);
void loop_io_free(struct loop_io *io);

/* A timer, disarmed until loop_timer_set. Timers are one-shot. */
int loop_timer_new(struct loop *l, loop_timer_fn fn, void *userdata, struct loop_timer **out);
/* Arm at an absolute time (loop_now_ms() scale); re-arming moves it. */
void loop_timer_set(struct loop_timer *t, uint64_t when_ms);
/* Arm relative to now. */
void loop_timer_in(struct loop_timer *t, uint64_t after_ms);
void loop_timer_stop(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t);

/* Wait for and dispatch one round of events and due timers; at most
 * max_wait_ms (-1: until something happens). 0 or a negative errno. */
int loop_run_once(struct loop *l, int max_wait_ms);

/* Run until loop_quit. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);
