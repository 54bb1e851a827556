/* SPDX-License-Identifier: MIT */
/*
 * Shared benchmark helpers: a monotonic clock, a per-workload report line
 * ("<workload>: <ns/op> ns/op (<ops> ops, <ms> ms)"), a sink that keeps the
 * compiler from discarding measured work, and the quick mode of a smoke run.
 */
#ifndef GS_BENCH_H
#define GS_BENCH_H

#include <stdint.h>

/* Nanoseconds from a monotonic clock. */
uint64_t bench_now_ns(void);

/* Print one result line; @ops is the number of operations the loop did. */
void bench_report(const char *workload, uint64_t ns, uint64_t ops);

/*
 * GS_BENCH_QUICK=1 in the environment: a smoke run (the test command runs
 * every benchmark so), each workload with a small count. Returns @quick
 * then, else @full. The figures of a quick run are not the documented ones.
 */
unsigned long bench_count(unsigned long full, unsigned long quick);

/* Consume a value so the measured loop cannot be optimised away. */
extern volatile uint64_t bench_sink;

#endif /* GS_BENCH_H */
