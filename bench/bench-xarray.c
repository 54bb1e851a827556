// SPDX-License-Identifier: MIT
/*
 * XArray benchmarks: the xa.* workloads of the project's performance anchors
 * (measured on Linux lib/xarray.c in tools/testing/radix-tree), run the same
 * way on gmemsim's lib/xarray.c. Each measured loop is its own non-inlined
 * function bench_<workload>, so callgrind can count it alone:
 *   valgrind --tool=callgrind --toggle-collect=bench_xa_store_seq bench-xarray
 * and the instruction count divided by the ops printed here gives instr/op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/rng.h>
#include <gmemsim/xarray.h>
#include "bench.h"

#define BENCH_SEED 20261122u

#define __noinline __attribute__((__noinline__))

/*
 * 1,000,000 entries, 1,024 order-9 and 8 order-18 entries; 10,000, 64 and 1
 * in a quick run (bench.h).
 */
static unsigned long nr_entries, nr_order9, nr_order18;
static unsigned long *shuffled;

static void report_nodes(const char *what, struct xarray *xa)
{
	unsigned long n = xa_nr_nodes(xa);

	printf("  %-34s %lu nodes of %zu B (%.2f MiB)\n", what, n, xa_node_size(),
	       (double)n * (double)xa_node_size() / (1024.0 * 1024.0));
}

static int store_order(struct xarray *xa, unsigned long index, unsigned int order, void *entry)
{
	XA_STATE_ORDER(xas, xa, index, order);

	do {
		xas_lock(&xas);
		xas_store(&xas, entry);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL));
	return xas_error(&xas);
}

/* The split protocol of the page cache: allocate off the lock, split under it. */
static void split_one(struct xarray *xa, unsigned long index, unsigned int order,
		      unsigned int new_order, void *entry)
{
	XA_STATE_ORDER(xas, xa, index, new_order);

	xas_split_alloc(&xas, entry, order, GFP_KERNEL);
	xas_lock(&xas);
	xas_split(&xas, entry, order);
	xas_unlock(&xas);
	xas_destroy(&xas);
	if (xas_error(&xas)) {
		fprintf(stderr, "split %u -> %u at %lu failed: %d\n", order, new_order, index,
			xas_error(&xas));
		exit(1);
	}
}

static __noinline void bench_xa_store_seq(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_entries; i++)
		xa_store(xa, i, xa_mk_value(i), GFP_KERNEL);
}

static __noinline void bench_xa_store_rand(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_entries; i++)
		xa_store(xa, shuffled[i], xa_mk_value(shuffled[i]), GFP_KERNEL);
}

static __noinline void bench_xa_load_seq(struct xarray *xa)
{
	unsigned long sum = 0;

	for (unsigned long i = 0; i < nr_entries; i++)
		sum += (unsigned long)xa_load(xa, i);
	bench_sink = sum;
}

static __noinline void bench_xa_load_rand(struct xarray *xa)
{
	unsigned long sum = 0;

	for (unsigned long i = 0; i < nr_entries; i++)
		sum += (unsigned long)xa_load(xa, shuffled[i]);
	bench_sink = sum;
}

static __noinline unsigned long bench_xa_iter(struct xarray *xa)
{
	unsigned long index, n = 0, sum = 0;
	void *entry;

	xa_for_each (xa, index, entry) {
		sum += (unsigned long)entry;
		n++;
	}
	bench_sink = sum;
	return n;
}

static __noinline void bench_xa_store_order9(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_order9; i++)
		store_order(xa, i << 9, 9, xa_mk_value(i));
}

static __noinline void bench_xa_split9(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_order9; i++)
		split_one(xa, i << 9, 9, 0, xa_mk_value(i));
}

static __noinline void bench_xa_split9_store(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_order9; i++) {
		split_one(xa, i << 9, 9, 0, xa_mk_value(i));
		for (unsigned long j = 0; j < 512; j++)
			xa_store(xa, (i << 9) + j, xa_mk_value((i << 9) + j), GFP_KERNEL);
	}
}

/* 1 GiB -> 4 KiB in one call: every level built by xas_split_alloc(). */
static __noinline void bench_xa_split18(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_order18; i++)
		split_one(xa, i << 18, 18, 0, xa_mk_value(i));
}

/*
 * What Linux 6.12 must do instead: one level per split, 18 -> 12 once,
 * 12 -> 6 for each of the 64 order-12 pieces, 6 -> 0 for each of the 4096
 * order-6 pieces.
 */
static __noinline void bench_xa_split18_cascade(struct xarray *xa)
{
	for (unsigned long i = 0; i < nr_order18; i++) {
		unsigned long base = i << 18;
		void *entry = xa_mk_value(i);

		split_one(xa, base, 18, 12, entry);
		for (unsigned long j = 0; j < 64; j++)
			split_one(xa, base + (j << 12), 12, 6, entry);
		for (unsigned long j = 0; j < 4096; j++)
			split_one(xa, base + (j << 6), 6, 0, entry);
	}
}

static __noinline void bench_memset_floor(void *buf, size_t len)
{
	for (unsigned long i = 0; i < nr_order18; i++)
		memset(buf, (int)i, len);
	bench_sink = ((unsigned char *)buf)[len - 1];
}

#define TIME(workload, ops, call)                                 \
	do {                                                      \
		uint64_t t0 = bench_now_ns();                     \
		call;                                             \
		bench_report(workload, bench_now_ns() - t0, ops); \
	} while (0)

static void run_sequential(void)
{
	DEFINE_XARRAY(xa);
	unsigned long n = 0;

	TIME("xa.store_seq", nr_entries, bench_xa_store_seq(&xa));
	report_nodes("after xa.store_seq:", &xa);
	TIME("xa.load_seq", nr_entries, bench_xa_load_seq(&xa));
	TIME("xa.load_rand", nr_entries, bench_xa_load_rand(&xa));
	TIME("xa.iter", nr_entries, n = bench_xa_iter(&xa));
	if (n != nr_entries) {
		fprintf(stderr, "xa.iter saw %lu entries\n", n);
		exit(1);
	}
	xa_destroy(&xa);
	TIME("xa.store_rand", nr_entries, bench_xa_store_rand(&xa));
	xa_destroy(&xa);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The order-9 and order-18 workloads are short; they run REPEATS rounds and
 * report the median round, so that one cold start (caches, fresh pages) does
 * not decide the figure.
 */
#define REPEATS 5

static uint64_t median(uint64_t *ns)
{
	qsort(ns, REPEATS, sizeof(ns[0]), cmp_u64);
	return ns[REPEATS / 2];
}

static void run_order9(void)
{
	uint64_t store[REPEATS], split[REPEATS], split_store[REPEATS], t0;
	DEFINE_XARRAY(xa);

	for (int r = 0; r < REPEATS; r++) {
		t0 = bench_now_ns();
		bench_xa_store_order9(&xa);
		store[r] = bench_now_ns() - t0;
		if (r == 0)
			report_nodes("after xa.store_order9:", &xa);
		t0 = bench_now_ns();
		bench_xa_split9(&xa);
		split[r] = bench_now_ns() - t0;
		if (r == 0)
			report_nodes("after xa.split9:", &xa);
		xa_destroy(&xa);

		bench_xa_store_order9(&xa);
		t0 = bench_now_ns();
		bench_xa_split9_store(&xa);
		split_store[r] = bench_now_ns() - t0;
		xa_destroy(&xa);
	}
	bench_report("xa.store_order9", median(store), nr_order9);
	bench_report("xa.split9", median(split), nr_order9);
	bench_report("xa.split9_store", median(split_store), nr_order9);
}

static void run_split18(const char *workload, void (*fn)(struct xarray *))
{
	DEFINE_XARRAY(xa);
	uint64_t ns[REPEATS];

	for (int r = 0; r < REPEATS; r++) {
		uint64_t t0;

		for (unsigned long i = 0; i < nr_order18; i++)
			store_order(&xa, i << 18, 18, xa_mk_value(i));
		t0 = bench_now_ns();
		fn(&xa);
		ns[r] = bench_now_ns() - t0;
		if (r == 0)
			report_nodes("after one round (8 entries):", &xa);
		xa_destroy(&xa);
	}
	bench_report(workload, median(ns), nr_order18);
}

static void run_order18(void)
{
	size_t floor_len = 4161 * xa_node_size();
	void *buf = malloc(floor_len);

	run_split18("xa.split18", bench_xa_split18);
	run_split18("xa.split18_cascade", bench_xa_split18_cascade);

	/* Writing the bytes of 4161 nodes once: a floor for any 18 -> 0 split. */
	memset(buf, 1, floor_len);
	TIME("memset(4161 nodes)", nr_order18, bench_memset_floor(buf, floor_len));
	free(buf);
}

int main(int argc, char **argv)
{
	struct gs_rng rng;
	const char *only = argc > 1 ? argv[1] : NULL;

	printf("gmemsim XArray benchmarks (allocator %s, %u slots per node)\n", gs_allocator_name(),
	       1U << xa_chunk_shift());
	nr_entries = bench_count(1000000, 10000);
	nr_order9 = bench_count(1024, 64);
	nr_order18 = bench_count(8, 1);
	shuffled = malloc(nr_entries * sizeof(*shuffled));
	for (unsigned long i = 0; i < nr_entries; i++)
		shuffled[i] = i;
	gs_rng_seed(&rng, BENCH_SEED);
	for (unsigned long i = nr_entries - 1; i > 0; i--) {
		unsigned long j = gs_rng_below(&rng, i + 1), t = shuffled[i];

		shuffled[i] = shuffled[j];
		shuffled[j] = t;
	}
	if (!only || !strcmp(only, "seq"))
		run_sequential();
	if (!only || !strcmp(only, "order9"))
		run_order9();
	if (!only || !strcmp(only, "order18"))
		run_order18();
	free(shuffled);
	if (gs_alloc_live_total()) {
		gs_alloc_report_leaks(stderr);
		return 1;
	}
	return 0;
}
