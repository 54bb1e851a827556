// SPDX-License-Identifier: MIT
/*
 * Cost of the allocation path every simulated structure pays: gs_alloc() +
 * gs_free() of an XArray-node-sized object, next to the raw allocator, and
 * with a fault-injection rule armed on another site (the rule is consulted
 * on every allocation while armed).
 */
#include <stdlib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include "bench.h"

#define OBJ 576 /* sizeof(struct xa_node) in the kernel */
/* Allocations per workload: 1,000,000, or 10,000 in a quick run (bench.h). */
static unsigned int nr_ops;

static __attribute__((noinline)) void bench_alloc_free(void)
{
	for (unsigned int i = 0; i < nr_ops; i++) {
		void *p = gs_alloc(GS_SITE_KMALLOC, OBJ, GFP_KERNEL);

		bench_sink += (uintptr_t)p;
		gs_free(GS_SITE_KMALLOC, p, OBJ);
	}
}

static __attribute__((noinline)) void bench_malloc_free(void)
{
	for (unsigned int i = 0; i < nr_ops; i++) {
		void *p = malloc(OBJ);

		bench_sink += (uintptr_t)p;
		free(p);
	}
}

static __attribute__((noinline)) void bench_alloc_free_armed(void)
{
	for (unsigned int i = 0; i < nr_ops; i++) {
		void *p = gs_alloc(GS_SITE_KMALLOC, OBJ, GFP_KERNEL);

		bench_sink += (uintptr_t)p;
		gs_free(GS_SITE_KMALLOC, p, OBJ);
	}
}

static void run(const char *name, void (*fn)(void))
{
	uint64_t t0 = bench_now_ns();

	fn();
	bench_report(name, bench_now_ns() - t0, nr_ops);
}

int main(void)
{
	struct gs_inject_rule other = {
		.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_NTH, .nth = 1};

	nr_ops = (unsigned int)bench_count(1000000, 10000);
	printf("allocator: %s\n", gs_allocator_name());
	run("alloc.alloc_free", bench_alloc_free);
	run("alloc.malloc_free", bench_malloc_free);
	gs_inject_arm(&other);
	run("alloc.alloc_free_armed", bench_alloc_free_armed);
	gs_inject_reset();
	return 0;
}
