/* SPDX-License-Identifier: MIT */
/*
 * Shared benchmark helpers: a monotonic clock, a per-workload report line
 * ("<workload>: <ns/op> ns/op (<ops> ops, <ms> ms)"), and a sink that keeps the
 * compiler from discarding measured work.
 */
#ifndef GS_BENCH_H
#define GS_BENCH_H

#include <stdint.h>

/* Nanoseconds from a monotonic clock. */
uint64_t bench_now_ns(void);

/* Print one result line; @ops is the number of operations the loop did. */
void bench_report(const char *workload, uint64_t ns, uint64_t ops);

/* Consume a value so the measured loop cannot be optimised away. */
extern volatile uint64_t bench_sink;

#endif /* GS_BENCH_H */
