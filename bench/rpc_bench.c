/* SPDX-License-Identifier: MIT */
/*
 * mvirt-rpc-bench: unary round trips per second through OUR gRPC client
 * (lib/grpc/client.h) against any server of mvirt.test.Echo (echo.proto):
 * ours (mvirt-echo-server) or another implementation (bench/py_echo_server.py).
 * The client is the same for every server, so the ratio of two runs compares
 * the servers.
 *
 *   mvirt-rpc-bench --endpoint EP [--threads N] [--seconds S] [--warmup S]
 *   mvirt-rpc-bench --endpoint EP --calls N      (N calls, e.g. before an RSS reading)
 *
 * Each thread has its own connection and makes sequential Echo/Unary calls
 * with a small message. After connecting and warming up, all threads start
 * together and stop after S seconds. Output, one line:
 *
 *   rpc threads=N calls=C seconds=T rate=R p50_us=.. p90_us=.. p99_us=.. errors=E
 */
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "client.h"
#include "echo.pb-c.h"

#define UNARY_PATH "/mvirt.test.Echo/Unary"
#define CALL_TIMEOUT_MS 10000

struct worker {
	struct bench_tally t;
	const char *endpoint;
	double warmup;
	long calls_wanted; /* > 0: make this many calls instead of running for a time */
};

static pthread_barrier_t ready, go;
static double t_end;

static int one_call(struct grpc_client *c, struct worker *w)
{
	Mvirt__Test__EchoRequest req = MVIRT__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct grpc_status st = { 0 };
	int r;

	req.message = "hello from mvirt-rpc-bench";
	r = grpc_client_unary(c, UNARY_PATH, &req.base, &mvirt__test__echo_response__descriptor,
			      CALL_TIMEOUT_MS, &resp, &st);
	if (r < 0 || st.code != 0 || !resp ||
	    strcmp(((Mvirt__Test__EchoResponse *)resp)->message, req.message) != 0) {
		if (!w->t.err[0])
			snprintf(w->t.err, sizeof(w->t.err), "call failed: r=%d code=%d %s", r, st.code,
				 st.message ? st.message : "");
		r = -1;
	} else {
		r = 0;
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	grpc_status_clear(&st);
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct grpc_client *c = NULL;
	int r = grpc_client_connect(w->endpoint, 5000, &c);

	if (r < 0) {
		snprintf(w->t.err, sizeof(w->t.err), "connect %s: %s", w->endpoint, strerror(-r));
		w->t.errors++;
	}
	if (w->calls_wanted > 0) {
		for (long i = 0; c && i < w->calls_wanted; i++) {
			if (one_call(c, w) < 0)
				w->t.errors++;
			else
				w->t.calls++;
		}
		grpc_client_free(c);
		return NULL;
	}
	double warm_end = bench_now() + w->warmup;
	while (c && bench_now() < warm_end)
		if (one_call(c, w) < 0) {
			w->t.errors++;
			break;
		}
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&go);
	while (c && w->t.errors == 0) {
		double t0 = bench_now();
		if (t0 >= t_end)
			break;
		if (one_call(c, w) < 0) {
			w->t.errors++;
			break;
		}
		double t1 = bench_now();
		w->t.calls++;
		w->t.last_done = t1;
		samples_add(&w->t.lat, (t1 - t0) * 1e6);
	}
	grpc_client_free(c);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: mvirt-rpc-bench --endpoint EP [--threads N] [--seconds S] "
			"[--warmup S] [--calls N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "calls", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *endpoint = NULL;
	int threads = 1, opt;
	double seconds = 2, warmup = 0.3;
	long calls = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e': endpoint = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'c': calls = atol(optarg); break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (!endpoint || threads < 1 || threads > 1024 || seconds <= 0) {
		usage();
		return 2;
	}

	struct worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		w[i].endpoint = endpoint;
		w[i].warmup = warmup;
		w[i].calls_wanted = calls;
		pthread_create(&w[i].t.tid, NULL, worker_main, &w[i]);
	}
	double t_start = 0;
	if (calls == 0) {
		pthread_barrier_wait(&ready);
		t_start = bench_now();
		t_end = t_start + seconds;
		pthread_barrier_wait(&go);
	}

	struct bench_tally sum, **tallies = calloc((size_t)threads, sizeof(*tallies));
	for (int i = 0; i < threads; i++)
		tallies[i] = &w[i].t;
	bench_tally_join(tallies, threads, t_start, &sum);
	free(tallies);
	struct samples all = sum.lat;
	long total = sum.calls, errors = sum.errors;
	double t_stop = sum.last_done;
	if (sum.err[0])
		fprintf(stderr, "mvirt-rpc-bench: %s\n", sum.err);
	if (calls > 0) {
		printf("rpc calls=%ld errors=%ld\n", total, errors);
		return errors ? 1 : 0;
	}
	double elapsed = t_stop - t_start;
	printf("rpc threads=%d calls=%ld seconds=%.3f rate=%.1f p50_us=%.1f p90_us=%.1f "
	       "p99_us=%.1f errors=%ld\n",
	       threads, total, elapsed, elapsed > 0 ? (double)total / elapsed : 0.0,
	       samples_pct(&all, 50), samples_pct(&all, 90), samples_pct(&all, 99), errors);
	samples_free(&all);
	free(w);
	return errors ? 1 : 0;
}
