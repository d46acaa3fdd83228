/* SPDX-License-Identifier: MIT */
/*
 * The KVM usability probe (see kvm_probe.h). The parent forks a child, the
 * child builds a one-vCPU VM with 4 MiB of memory and runs a few dozen bytes
 * of guest code, then writes one fixed-size record describing how far it got
 * to a pipe. The parent waits for that record until the deadline, kills the
 * child if it is late, reaps it, and turns the record into a verdict and a
 * one-line reason. Keeping all KVM work in the child means that neither a
 * vCPU stuck in the kernel nor a crash can take the daemon with it, and the
 * child formats nothing (no malloc, no stdio), so forking from a threaded
 * daemon is safe.
 */
#include "kvm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* How long a SIGKILLed child gets to die before we give up on reaping it. */
#define KILL_GRACE_MS 1000

/*
 * Guest physical memory layout. The host writes the GDT and the page tables,
 * as a boot loader would; the guest code enables paging and long mode itself,
 * like the PVH entry of a Linux kernel.
 */
#define GUEST_MEM_SIZE	0x400000ULL /* 4 MiB: two 2 MiB regions */
#define GUEST_GDTR	0x500	    /* lgdt operand: limit (2 bytes), base (4) */
#define GUEST_GDT	0x510
#define GUEST_PML4	0x1000
#define GUEST_PDPT	0x2000
#define GUEST_PD	0x3000
#define GUEST_PT	0x4000	    /* 4 KiB pages for the first 2 MiB */
#define GUEST_CODE	0x8000
#define GUEST_DATA	0x200100    /* inside the NX 2 MiB page */
#define GUEST_TSS_ADDR	0xfffbd000  /* three pages above guest RAM, for VMX */

#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define SEL_CODE32 0x18

#define PTE_P	(1ULL << 0)
#define PTE_RW	(1ULL << 1)
#define PTE_PS	(1ULL << 7)
#define PTE_NX	(1ULL << 63)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)

#define PROBE_PORT 0x4d56
#define PROBE_INPUT 0x1122334455667788ULL
/* What the guest computes: PROBE_INPUT doubled with an SSE2 paddq. */
#define PROBE_EXPECTED (PROBE_INPUT * 2)

/*
 * The guest program, loaded at GUEST_CODE and entered in 32-bit protected
 * mode with flat segments. Assembled from:
 *
 *	.code32
 *	lgdt	0x500
 *	mov	%cr4, %eax
 *	or	$0x620, %eax		# PAE | OSFXSR | OSXMMEXCPT
 *	mov	%eax, %cr4
 *	mov	$0x1000, %eax
 *	mov	%eax, %cr3
 *	mov	$0xc0000080, %ecx	# EFER
 *	rdmsr
 *	or	$0x900, %eax		# LME | NXE
 *	wrmsr
 *	mov	%cr0, %eax
 *	or	$0x80000001, %eax	# PG | PE
 *	mov	%eax, %cr0
 *	ljmp	$0x08, $0x803a		# into the 64-bit code segment
 *	.code64
 *	mov	$0x10, %eax
 *	mov	%eax, %ds
 *	mov	%eax, %ss
 *	movabs	$0x1122334455667788, %rax
 *	movq	%rax, %xmm0
 *	paddq	%xmm0, %xmm0
 *	movq	%xmm0, %rbx
 *	mov	%rbx, 0x200100		# through the NX 2 MiB page
 *	mov	0x200100, %rcx
 *	mov	%ecx, %eax
 *	mov	$0x4d56, %dx
 *	out	%eax, %dx		# exit 1: the low half of the result
 *	hlt				# exit 2
 */
static const uint8_t guest_code[] = {
	0x0f, 0x01, 0x15, 0x00, 0x05, 0x00, 0x00,	/* lgdt */
	0x0f, 0x20, 0xe0,				/* cr4 |= ... */
	0x0d, 0x20, 0x06, 0x00, 0x00,
	0x0f, 0x22, 0xe0,
	0xb8, 0x00, 0x10, 0x00, 0x00,			/* cr3 = PML4 */
	0x0f, 0x22, 0xd8,
	0xb9, 0x80, 0x00, 0x00, 0xc0,			/* EFER |= ... */
	0x0f, 0x32,
	0x0d, 0x00, 0x09, 0x00, 0x00,
	0x0f, 0x30,
	0x0f, 0x20, 0xc0,				/* cr0 |= PG */
	0x0d, 0x01, 0x00, 0x00, 0x80,
	0x0f, 0x22, 0xc0,
	0xea, 0x3a, 0x80, 0x00, 0x00, 0x08, 0x00,	/* ljmp */
	0xb8, 0x10, 0x00, 0x00, 0x00,			/* 0x803a: 64-bit */
	0x8e, 0xd8,
	0x8e, 0xd0,
	0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	0x66, 0x48, 0x0f, 0x6e, 0xc0,			/* movq rax, xmm0 */
	0x66, 0x0f, 0xd4, 0xc0,				/* paddq */
	0x66, 0x48, 0x0f, 0x7e, 0xc3,			/* movq xmm0, rbx */
	0x48, 0x89, 0x1c, 0x25, 0x00, 0x01, 0x20, 0x00,	/* store */
	0x48, 0x8b, 0x0c, 0x25, 0x00, 0x01, 0x20, 0x00,	/* load */
	0x89, 0xc8,
	0x66, 0xba, 0x56, 0x4d,
	0xef,						/* out */
	0xf4,						/* hlt */
};

/* How far the child got; each step names the call that failed. */
enum probe_step {
	STEP_OPEN,
	STEP_API_VERSION,
	STEP_CREATE_VM,
	STEP_SET_TSS_ADDR,
	STEP_GUEST_MEMORY,
	STEP_SET_MEMORY_REGION,
	STEP_CREATE_VCPU,
	STEP_VCPU_MMAP_SIZE,
	STEP_VCPU_MMAP,
	STEP_GET_SUPPORTED_CPUID,
	STEP_SET_CPUID,
	STEP_GET_SREGS,
	STEP_SET_SREGS,
	STEP_SET_REGS,
	STEP_RUN,
	STEP_GET_REGS,
	STEP_UNEXPECTED_EXIT,	/* value: the exit reason */
	STEP_WRONG_RESULT,	/* value: what the guest computed */
	STEP_DONE,
	_STEP_MAX,
};

static const char *const step_call[_STEP_MAX] = {
	[STEP_OPEN] = "open",
	[STEP_API_VERSION] = "KVM_GET_API_VERSION",
	[STEP_CREATE_VM] = "KVM_CREATE_VM",
	[STEP_SET_TSS_ADDR] = "KVM_SET_TSS_ADDR",
	[STEP_GUEST_MEMORY] = "mmap of guest memory",
	[STEP_SET_MEMORY_REGION] = "KVM_SET_USER_MEMORY_REGION",
	[STEP_CREATE_VCPU] = "KVM_CREATE_VCPU",
	[STEP_VCPU_MMAP_SIZE] = "KVM_GET_VCPU_MMAP_SIZE",
	[STEP_VCPU_MMAP] = "mmap of kvm_run",
	[STEP_GET_SUPPORTED_CPUID] = "KVM_GET_SUPPORTED_CPUID",
	[STEP_SET_CPUID] = "KVM_SET_CPUID2",
	[STEP_GET_SREGS] = "KVM_GET_SREGS",
	[STEP_SET_SREGS] = "KVM_SET_SREGS",
	[STEP_SET_REGS] = "KVM_SET_REGS",
	[STEP_RUN] = "KVM_RUN",
	[STEP_GET_REGS] = "KVM_GET_REGS",
};

/* The record the child writes: one write() below PIPE_BUF, so atomic. */
struct probe_record {
	uint32_t step;	 /* enum probe_step */
	int32_t err;	 /* errno of the failed call, or 0 */
	uint64_t value;	 /* see enum probe_step */
};

/* Child side ---------------------------------------------------------------- */

static void put_u64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

/* Write the GDT, the identity-mapping page tables and the code into mem. */
static void guest_memory_fill(uint8_t *mem)
{
	uint16_t gdt_limit = 4 * 8 - 1;
	uint32_t gdt_base = GUEST_GDT;

	memcpy(mem + GUEST_GDTR, &gdt_limit, sizeof(gdt_limit));
	memcpy(mem + GUEST_GDTR + 2, &gdt_base, sizeof(gdt_base));
	put_u64(mem, GUEST_GDT + 0, 0);
	put_u64(mem, GUEST_GDT + SEL_CODE64, 0x00af9a000000ffffULL);
	put_u64(mem, GUEST_GDT + SEL_DATA, 0x00cf92000000ffffULL);
	put_u64(mem, GUEST_GDT + SEL_CODE32, 0x00cf9a000000ffffULL);

	put_u64(mem, GUEST_PML4, GUEST_PDPT | PTE_P | PTE_RW);
	put_u64(mem, GUEST_PDPT, GUEST_PD | PTE_P | PTE_RW);
	/* First 2 MiB through a page table, the second as one large NX page. */
	put_u64(mem, GUEST_PD, GUEST_PT | PTE_P | PTE_RW);
	put_u64(mem, GUEST_PD + 8, 0x200000 | PTE_P | PTE_RW | PTE_PS | PTE_NX);
	for (uint64_t i = 0; i < 512; i++)
		put_u64(mem, GUEST_PT + i * 8, (i << 12) | PTE_P | PTE_RW);

	memcpy(mem + GUEST_CODE, guest_code, sizeof(guest_code));
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector,
		.type = type, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

/* 32-bit protected mode with flat segments and paging off: the PVH entry state. */
static void sregs_protected_mode(struct kvm_sregs *s)
{
	s->cs = flat_segment(SEL_CODE32, 0xb);
	s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(SEL_DATA, 0x3);
	s->gdt.base = GUEST_GDT;
	s->gdt.limit = 4 * 8 - 1;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
}

/*
 * Pass the host's supported CPUID to the vCPU, as every VMM does: without it
 * KVM refuses long mode (EFER.LME needs the LM bit) and NX.
 */
static int vcpu_set_cpuid(int kvm_fd, int vcpu_fd, enum probe_step *step)
{
	/*
	 * Room for 256 entries after the header. Static: the child has its
	 * own copy and must not call malloc.
	 */
	static uint64_t buf[(sizeof(struct kvm_cpuid2) +
			     256 * sizeof(struct kvm_cpuid_entry2)) / sizeof(uint64_t) + 1];
	struct kvm_cpuid2 *cpuid = (struct kvm_cpuid2 *)buf;

	cpuid->nent = 256;
	*step = STEP_GET_SUPPORTED_CPUID;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		return -errno;
	*step = STEP_SET_CPUID;
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		return -errno;
	return 0;
}

/* KVM_RUN, retried on EINTR; returns the exit reason or -errno. */
static int vcpu_run(int vcpu_fd, const struct kvm_run *run)
{
	while (ioctl(vcpu_fd, KVM_RUN, 0) < 0)
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	return (int)run->exit_reason;
}

/* true when the exit is the guest's "out %eax, $PROBE_PORT"; *data is what it wrote. */
static bool exit_is_probe_out(const struct kvm_run *run, size_t run_size, uint32_t *data)
{
	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != PROBE_PORT || run->io.size != 4 || run->io.count != 1)
		return false;
	if (run->io.data_offset > run_size || run_size - run->io.data_offset < 4)
		return false;
	memcpy(data, (const uint8_t *)run + run->io.data_offset, 4);
	return true;
}

static struct probe_record record(enum probe_step step, int err, uint64_t value)
{
	return (struct probe_record){ .step = step, .err = err, .value = value };
}

/*
 * Run the test guest on device; returns how far it got. All descriptors and
 * mappings die with the child, so nothing here cleans up.
 */
static struct probe_record probe_run(const char *device)
{
	enum probe_step step = STEP_OPEN;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint32_t out_data = 0;
	uint8_t *mem;
	int kvm_fd, vm_fd, vcpu_fd, r;
	long run_size;

	kvm_fd = open(device, O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		goto fail;

	step = STEP_API_VERSION;
	r = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (r < 0)
		goto fail;
	if (r != KVM_API_VERSION)
		return record(step, 0, (uint64_t)r);

	step = STEP_CREATE_VM;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		goto fail;

	/* Intel needs a TSS region outside RAM; AMD accepts and ignores it. */
	step = STEP_SET_TSS_ADDR;
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)GUEST_TSS_ADDR) < 0)
		goto fail;

	step = STEP_GUEST_MEMORY;
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		goto fail;
	guest_memory_fill(mem);

	step = STEP_SET_MEMORY_REGION;
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto fail;

	step = STEP_CREATE_VCPU;
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0)
		goto fail;

	step = STEP_VCPU_MMAP_SIZE;
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		goto fail;
	if ((size_t)run_size < sizeof(struct kvm_run))
		return record(step, EINVAL, 0);

	step = STEP_VCPU_MMAP;
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED)
		goto fail;

	r = vcpu_set_cpuid(kvm_fd, vcpu_fd, &step);
	if (r < 0)
		return record(step, -r, 0);

	step = STEP_GET_SREGS;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	sregs_protected_mode(&sregs);
	step = STEP_SET_SREGS;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		goto fail;

	step = STEP_SET_REGS;
	regs = (struct kvm_regs){ .rip = GUEST_CODE, .rflags = 0x2 };
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		goto fail;

	/* First stop: the out, with the result in eax, rbx and rcx. */
	step = STEP_RUN;
	r = vcpu_run(vcpu_fd, run);
	if (r < 0)
		return record(step, -r, 0);
	if (!exit_is_probe_out(run, (size_t)run_size, &out_data))
		return record(STEP_UNEXPECTED_EXIT, 0, run->exit_reason);

	step = STEP_GET_REGS;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
		goto fail;
	if (regs.rbx != PROBE_EXPECTED)
		return record(STEP_WRONG_RESULT, 0, regs.rbx);
	if (regs.rcx != PROBE_EXPECTED)
		return record(STEP_WRONG_RESULT, 0, regs.rcx);
	if (out_data != (uint32_t)PROBE_EXPECTED)
		return record(STEP_WRONG_RESULT, 0, out_data);

	/* Second stop: the hlt. */
	step = STEP_RUN;
	r = vcpu_run(vcpu_fd, run);
	if (r < 0)
		return record(step, -r, 0);
	if (r != KVM_EXIT_HLT)
		return record(STEP_UNEXPECTED_EXIT, 0, (uint64_t)r);

	return record(STEP_DONE, 0, 0);

fail:
	return record(step, errno, 0);
}

/* The child body of kvm_probe_device(). */
static void probe_child(const char *device, int result_fd)
{
	struct probe_record rec = probe_run(device);
	ssize_t n;

	do
		n = write(result_fd, &rec, sizeof(rec));
	while (n < 0 && errno == EINTR);
}

/*
 * Make the child independent of what the daemon did to its signals, and sure
 * to die: with its parent, or on its own a little after the deadline.
 */
static void child_prepare(int timeout_ms)
{
	sigset_t alarm_only;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGALRM, SIG_DFL);
	sigemptyset(&alarm_only);
	sigaddset(&alarm_only, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alarm_only, NULL);
	alarm((unsigned)(timeout_ms / 1000) + 2);
}

/* Parent side --------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll one fd for input until the deadline; 1 ready, 0 timed out, or -errno. */
static int poll_until(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int64_t left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)MIN(left, (int64_t)INT32_MAX));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Read the child's record until the deadline. Returns 1 with *rec filled,
 * 0 when the child closed the pipe without a full record (it died),
 * -ETIMEDOUT when the deadline passed, or another -errno.
 */
static int read_record(int fd, int64_t deadline, struct probe_record *rec)
{
	size_t got = 0;

	while (got < sizeof(*rec)) {
		ssize_t n;
		int r;

		r = poll_until(fd, deadline);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
		n = read(fd, (uint8_t *)rec + got, sizeof(*rec) - got);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/*
 * Kill the child (harmless when it is already exiting) and reap it, waiting
 * at most KILL_GRACE_MS: a task stuck uninterruptibly in the kernel cannot
 * be reaped, and the caller must not hang with it. Returns 0 with *status
 * set, or -ETIMEDOUT / -errno.
 */
static int child_kill_and_reap(pid_t pid, int pidfd, int *status)
{
	int r;

	(void)kill(pid, SIGKILL);
	r = poll_until(pidfd, now_ms() + KILL_GRACE_MS);
	if (r < 0)
		return r;
	if (r == 0)
		return -ETIMEDOUT;
	if (waitpid(pid, status, 0) < 0)
		return -errno;
	return 0;
}

static void set_reason(char *reason, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);
static void set_reason(char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!reason || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
}

/* set_reason() to "what: strerror(-r)" and return r, for internal errors. */
static int internal_error(int r, const char *what, char *reason, size_t len)
{
	set_reason(reason, len, "%s: %s", what, strerror(-r));
	return r;
}

static const char *exit_reason_name(uint64_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
		return "unexpected I/O";
	case KVM_EXIT_HLT:
		return "hlt too early";
	case KVM_EXIT_MMIO:
		return "MMIO";
	case KVM_EXIT_SHUTDOWN:
		return "shutdown, i.e. a triple fault";
	case KVM_EXIT_FAIL_ENTRY:
		return "VM entry failed";
	case KVM_EXIT_INTERNAL_ERROR:
		return "KVM internal error";
	default:
		return "unexpected exit";
	}
}

/* Turn the child's record into the verdict: 1 usable, 0 not. */
static int verdict_from_record(const char *device, const struct probe_record *rec,
			       char *reason, size_t len)
{
	if (rec->step >= _STEP_MAX) {
		set_reason(reason, len, "the KVM probe reported an unknown step %" PRIu32, rec->step);
		return -EBADMSG;
	}

	switch (rec->step) {
	case STEP_DONE:
		set_reason(reason, len, "%s runs a 64-bit guest", device);
		return 1;
	case STEP_OPEN:
		if (rec->err == ENOENT)
			set_reason(reason, len, "%s missing", device);
		else
			set_reason(reason, len, "cannot open %s: %s", device, strerror(rec->err));
		return 0;
	case STEP_UNEXPECTED_EXIT:
		set_reason(reason, len, "a 64-bit guest stopped early (KVM exit %" PRIu64 ": %s)",
			   rec->value, exit_reason_name(rec->value));
		return 0;
	case STEP_WRONG_RESULT:
		set_reason(reason, len, "a 64-bit guest computed 0x%" PRIx64 " instead of 0x%llx",
			   rec->value, (unsigned long long)PROBE_EXPECTED);
		return 0;
	default:
		if (rec->err == 0)
			set_reason(reason, len, "%s returned the unexpected value %" PRIu64,
				   step_call[rec->step], rec->value);
		else
			set_reason(reason, len, "%s failed: %s", step_call[rec->step],
				   strerror(rec->err));
		return 0;
	}
}

/* Describe how a child that sent no record ended. */
static void reason_from_status(int status, char *reason, size_t len)
{
	if (WIFSIGNALED(status))
		set_reason(reason, len, "the KVM probe process was killed by signal %s",
			   sigabbrev_np(WTERMSIG(status)) ?: "unknown");
	else
		set_reason(reason, len, "the KVM probe process exited with status %d without a result",
			   WEXITSTATUS(status));
}

int kvm_probe_with(const char *device, int timeout_ms, kvm_probe_child_fn child,
		   char *reason, size_t len)
{
	_cleanup_close_ int pipe_read = -1, pipe_write = -1, pidfd = -1;
	struct probe_record rec;
	int64_t deadline;
	int fds[2], status = 0, got, r;
	pid_t pid;

	if (reason && len > 0)
		reason[0] = '\0';
	if (!device || !child || timeout_ms <= 0)
		return internal_error(-EINVAL, "kvm_probe", reason, len);

	/* Absence is the common case and needs no child. */
	if (access(device, F_OK) < 0 && errno == ENOENT) {
		set_reason(reason, len, "%s missing", device);
		return 0;
	}

	if (pipe2(fds, O_CLOEXEC) < 0)
		return internal_error(-errno, "pipe", reason, len);
	pipe_read = fds[0];
	pipe_write = fds[1];

	deadline = now_ms() + timeout_ms;
	pid = fork();
	if (pid < 0)
		return internal_error(-errno, "fork", reason, len);
	if (pid == 0) {
		close(pipe_read);
		child_prepare(timeout_ms);
		child(device, pipe_write);
		_exit(0);
	}
	close(TAKE_FD(pipe_write));

	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		r = -errno;
		/* Without a pidfd we cannot bound the wait: kill and reap blindly. */
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return internal_error(r, "pidfd_open", reason, len);
	}

	got = read_record(pipe_read, deadline, &rec);
	r = child_kill_and_reap(pid, pidfd, &status);
	if (r == -ETIMEDOUT) {
		/* Leave it: nothing kills a task in uninterruptible sleep. */
		set_reason(reason, len, "a 64-bit guest did not finish within %d ms, "
			   "and its probe process %d could not be killed", timeout_ms, (int)pid);
		return 0;
	}

	if (got == -ETIMEDOUT) {
		set_reason(reason, len, "a 64-bit guest did not finish within %d ms", timeout_ms);
		return 0;
	}
	if (got < 0)
		return internal_error(got, "reading the probe result", reason, len);
	if (got == 0) {
		if (r < 0)
			return internal_error(r, "waitpid", reason, len);
		reason_from_status(status, reason, len);
		return 0;
	}
	return verdict_from_record(device, &rec, reason, len);
}

int kvm_probe_device(const char *device, int timeout_ms, char *reason, size_t len)
{
	return kvm_probe_with(device, timeout_ms, probe_child, reason, len);
}

int kvm_probe(int timeout_ms, char *reason, size_t len)
{
	return kvm_probe_device(KVM_PROBE_DEVICE, timeout_ms, reason, len);
}
