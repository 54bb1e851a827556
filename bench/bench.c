// SPDX-License-Identifier: MIT
/*
 * Benchmark helpers (see bench.h). Wall-clock figures vary ±30% on the
 * project's machines; docs/PERFORMANCE.md records callgrind instruction
 * counts alongside them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

volatile uint64_t bench_sink;

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_report(const char *workload, uint64_t ns, uint64_t ops)
{
	printf("%-22s %10.1f ns/op  (%" PRIu64 " ops, %.1f ms)\n", workload,
	       ops ? (double)ns / (double)ops : 0.0, ops, (double)ns / 1e6);
	fflush(stdout);
}

unsigned long bench_count(unsigned long full, unsigned long quick)
{
	const char *q = getenv("GS_BENCH_QUICK");

	return q && *q && strcmp(q, "0") ? quick : full;
}
