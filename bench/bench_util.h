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
