/* SPDX-License-Identifier: MIT */
/*
 * mvirt-audit-probe: drives the audit client (lib/grpc/audit.h) for the
 * integration tests.
 *
 *   mvirt-audit-probe [--wait-stdin] ENDPOINT COUNT [FLUSH_MS]
 *
 * Queues COUNT entries (component "probe", level AUDIT, object "probe-obj",
 * message "probe N"). With --wait-stdin it then prints "queued" and waits
 * for a line on stdin, so a test can start mvirt-log only now. Finally
 * audit_client_free(FLUSH_MS) (default 10000) and prints
 * "delivered=D dropped=X" and "free_ms=T" (how long the free took).
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "timefmt.h"

static int usage(void)
{
	fprintf(stderr, "Usage: mvirt-audit-probe [--wait-stdin] ENDPOINT COUNT [FLUSH_MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const char *const ids[] = { "probe-obj" };
	struct audit_client *a = NULL;
	unsigned long long count, flush_ms = 10000;
	uint64_t delivered, dropped;
	bool wait_stdin = false;
	int i = 1, r;

	log_set_prefix("mvirt-audit-probe");
	if (i < argc && strcmp(argv[i], "--wait-stdin") == 0) {
		wait_stdin = true;
		i++;
	}
	if (argc - i < 2 || argc - i > 3)
		return usage();
	if (parse_u64(argv[i + 1], 10000000, &count) < 0)
		return usage();
	if (argc - i == 3 && parse_u64(argv[i + 2], 3600000, &flush_ms) < 0)
		return usage();

	r = audit_client_new(argv[i], "probe", &a);
	if (r < 0) {
		log_error_errno(r, "cannot start the audit client");
		return 1;
	}
	for (unsigned long long n = 0; n < count; n++)
		audit_log(a, 4 /* AUDIT */, NULL, ids, 1, "probe %llu", n);
	if (wait_stdin) {
		char line[64];
		printf("queued\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			log_warning("stdin closed");
	}
	uint64_t t0 = now_monotonic_ns();
	audit_client_free_counts(a, (int)flush_ms, &delivered, &dropped);
	printf("delivered=%llu dropped=%llu\n", (unsigned long long)delivered,
	       (unsigned long long)dropped);
	printf("free_ms=%llu\n", (unsigned long long)((now_monotonic_ns() - t0) / 1000000));
	return 0;
}
