/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the KVM usability probe: the verdict on this machine (KVM
 * cannot run a 64-bit guest on our build machines, so it must say "no" with
 * a reason, in bounded time), the missing-device seam, a real child run
 * against a device that is not KVM, and the deadline and crash handling
 * with stand-in child bodies that hang, die or lie. After every call no
 * child may be left behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_probe.h"
#include "tap.h"

/* What a probe may take beyond its timeout: the kill grace plus slack. */
#define BOUND_SLACK_MS 1500

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* true when this process has no child left (reaped or never made). */
static bool no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static void child_hangs(const char *device, int result_fd)
{
	(void)device;
	(void)result_fd;
	for (;;)
		pause();
}

static void child_hangs_with_sigterm_ignored(const char *device, int result_fd)
{
	signal(SIGTERM, SIG_IGN);
	child_hangs(device, result_fd);
}

static void child_crashes(const char *device, int result_fd)
{
	(void)device;
	(void)result_fd;
	/* Not SIGSEGV: the sanitizers catch that and exit instead. */
	kill(getpid(), SIGABRT);
	for (;;)
		pause();
}

static void child_exits_silently(const char *device, int result_fd)
{
	(void)device;
	(void)result_fd;
	_exit(3);
}

static void child_writes_garbage(const char *device, int result_fd)
{
	uint8_t junk[16];

	(void)device;
	memset(junk, 0xff, sizeof(junk));
	(void)!write(result_fd, junk, sizeof(junk));
}

static void child_writes_half_then_hangs(const char *device, int result_fd)
{
	uint8_t half[8] = { 0 };

	(void)!write(result_fd, half, sizeof(half));
	child_hangs(device, result_fd);
}

/*
 * On this machine: a verdict with a reason, within the bound. Our build
 * machines say "unusable"; a host where KVM works may say "usable", which
 * must not fail the test.
 */
static void test_this_machine(void)
{
	char reason[256];
	long start = now_ms();
	int r = kvm_probe(1000, reason, sizeof(reason));
	long elapsed = now_ms() - start;

	fprintf(stderr, "# kvm_probe here: %d, %s (%ld ms)\n", r, reason, elapsed);
	CHECK(r == 0 || r == 1);
	CHECK(reason[0] != '\0');
	if (r == 1)
		CHECK_STR(reason, KVM_PROBE_DEVICE " runs a 64-bit guest");
	CHECK(elapsed < 1000 + BOUND_SLACK_MS);
	CHECK(no_children());
}

static void test_missing_device(void)
{
	char reason[256];

	CHECK_INT(kvm_probe_device("/nonexistent/kvm", 500, reason, sizeof(reason)), 0);
	CHECK_STR(reason, "/nonexistent/kvm missing");
	CHECK(no_children());
}

/* The real child body against a device that does not speak KVM. */
static void test_not_a_kvm_device(void)
{
	char reason[256];

	CHECK_INT(kvm_probe_device("/dev/null", 2000, reason, sizeof(reason)), 0);
	CHECK(strstr(reason, "KVM_GET_API_VERSION failed: ") == reason);
	CHECK(no_children());

	/* A directory cannot be opened read-write. */
	CHECK_INT(kvm_probe_device("/", 2000, reason, sizeof(reason)), 0);
	CHECK(strstr(reason, "cannot open /: ") == reason);
	CHECK(no_children());
}

static void check_times_out(kvm_probe_child_fn child)
{
	char reason[256];
	long start = now_ms();
	int r = kvm_probe_with("/dev/null", 300, child, reason, sizeof(reason));
	long elapsed = now_ms() - start;

	CHECK_INT(r, 0);
	CHECK_STR(reason, "a 64-bit guest did not finish within 300 ms");
	CHECK(elapsed >= 300);
	CHECK(elapsed < 300 + BOUND_SLACK_MS);
	CHECK(no_children());
}

static void test_deadline(void)
{
	check_times_out(child_hangs);
	check_times_out(child_hangs_with_sigterm_ignored);
	check_times_out(child_writes_half_then_hangs);
}

static void test_child_dies(void)
{
	char reason[256];

	CHECK_INT(kvm_probe_with("/dev/null", 2000, child_crashes, reason, sizeof(reason)), 0);
	CHECK_STR(reason, "the KVM probe process was killed by signal ABRT");
	CHECK(no_children());

	CHECK_INT(kvm_probe_with("/dev/null", 2000, child_exits_silently, reason, sizeof(reason)), 0);
	CHECK_STR(reason, "the KVM probe process exited with status 3 without a result");
	CHECK(no_children());
}

static void test_garbage_record(void)
{
	char reason[256];

	CHECK_INT(kvm_probe_with("/dev/null", 2000, child_writes_garbage, reason, sizeof(reason)),
		  -EBADMSG);
	CHECK(strstr(reason, "unknown step") != NULL);
	CHECK(no_children());
}

static void test_arguments(void)
{
	char reason[256], tiny[8];

	CHECK_INT(kvm_probe(0, reason, sizeof(reason)), -EINVAL);
	CHECK_INT(kvm_probe(-5, reason, sizeof(reason)), -EINVAL);
	CHECK_INT(kvm_probe_with(NULL, 100, child_hangs, reason, sizeof(reason)), -EINVAL);
	CHECK_INT(kvm_probe_with("/dev/null", 100, NULL, reason, sizeof(reason)), -EINVAL);

	/* The reason is truncated, never overrun; no buffer at all is fine too. */
	memset(tiny, 'x', sizeof(tiny));
	CHECK_INT(kvm_probe_device("/nonexistent/kvm", 100, tiny, sizeof(tiny)), 0);
	CHECK_STR(tiny, "/nonexi");
	CHECK_INT(kvm_probe_device("/nonexistent/kvm", 100, NULL, 0), 0);
}

/* The child must work even when the caller blocks signals, like sd-event does. */
static void test_blocked_signals(void)
{
	sigset_t all, old;
	char reason[256];

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	CHECK_INT(kvm_probe_device("/dev/null", 2000, reason, sizeof(reason)), 0);
	CHECK(strstr(reason, "KVM_GET_API_VERSION failed: ") == reason);
	check_times_out(child_hangs);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(void)
{
	test_this_machine();
	test_missing_device();
	test_not_a_kvm_device();
	test_deadline();
	test_child_dies();
	test_garbage_record();
	test_arguments();
	test_blocked_signals();
	return test_done();
}
