/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the benchmark programs: a monotonic clock in
 * seconds, latency samples with percentiles, and a start barrier so every
 * thread of a run is connected and warm before the clock starts.
 */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Latency samples in microseconds. */
struct samples {
	double *v;
	size_t n, cap;
};

static inline void samples_add(struct samples *s, double us)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof(double));
		if (!s->v)
			abort();
	}
	s->v[s->n++] = us;
}

static inline void samples_merge(struct samples *dst, const struct samples *src)
{
	for (size_t i = 0; i < src->n; i++)
		samples_add(dst, src->v[i]);
}

static int samples_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p in [0, 100]; sorts the samples. Nearest-rank percentile. */
static inline double samples_pct(struct samples *s, double p)
{
	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(double), samples_cmp);
	size_t k = (size_t)(p / 100.0 * (double)s->n + 0.5);
	if (k > 0)
		k--;
	if (k >= s->n)
		k = s->n - 1;
	return s->v[k];
}

static inline void samples_free(struct samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* What every benchmark thread counts; embedded in each program's worker. */
struct bench_tally {
	pthread_t tid;
	long calls, errors;
	double last_done; /* bench_now() when its last call completed */
	struct samples lat;
	char err[200];	  /* the first error, for the report */
};

/* The sum of n finished threads' tallies: joins them, merges their samples
 * into sum->lat, keeps the latest last_done (at least t_start) and the first
 * error message. */
static inline void bench_tally_join(struct bench_tally *const *t, int n, double t_start,
				    struct bench_tally *sum)
{
	*sum = (struct bench_tally){ .last_done = t_start };
	for (int i = 0; i < n; i++) {
		pthread_join(t[i]->tid, NULL);
		sum->calls += t[i]->calls;
		sum->errors += t[i]->errors;
		if (t[i]->last_done > sum->last_done)
			sum->last_done = t[i]->last_done;
		samples_merge(&sum->lat, &t[i]->lat);
		samples_free(&t[i]->lat);
		if (t[i]->err[0] && !sum->err[0])
			memcpy(sum->err, t[i]->err, sizeof(sum->err));
	}
}
