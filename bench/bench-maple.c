// SPDX-License-Identifier: MIT
/*
 * Maple tree benchmarks: the mt.* workloads of the project's performance
 * anchors (measured on Linux lib/maple_tree.c in tools/testing/radix-tree),
 * run the same way on gmemsim's lib/maple.c, and two of them again on a tree
 * in RCU mode. Each measured loop is its own
 * non-inlined function bench_<workload>, so callgrind can count it alone:
 *   valgrind --tool=callgrind --toggle-collect=bench_mt_store_range bench-maple
 * and the instruction count divided by the ops printed here gives instr/op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/rng.h>
#include "bench.h"

#define RANGE_SIZE 512UL
#define BENCH_SEED 20261122u

/*
 * Not merged with a twin (GCC's -fipa-icf): callgrind counts each workload by its
 * name. Clang has no such attribute (and does no such merge at -O2).
 */
#if __has_attribute(__no_icf__)
#define __noinline __attribute__((__noinline__, __no_icf__))
#else
#define __noinline __attribute__((__noinline__))
#endif

/* Value entries (xa_mk_value(1), (2), (3)): the two stored values and the converted one. */
#define VAL(v) ((void *)(((unsigned long)(v) << 1) | 1))

/* 100,000 ranges and 1,000,000 loads; 1,000 and 10,000 in a quick run (bench.h). */
static unsigned long nr_ranges, nr_loads;
static unsigned long *load_index;

/* mt.store_range: ranges of 512 indices, ascending, values alternating. */
static __always_inline void store_range_loop(struct maple_tree *mt)
{
	for (unsigned long i = 0; i < nr_ranges; i++)
		mtree_store_range(mt, i * RANGE_SIZE, i * RANGE_SIZE + RANGE_SIZE - 1,
				  VAL(1 + (i & 1)), GFP_KERNEL);
}

/* mt.load_rand: random indices inside the ranges (drawn before the loop). */
static __noinline void bench_mt_load_rand(struct maple_tree *mt)
{
	unsigned long sum = 0;

	for (unsigned long i = 0; i < nr_loads; i++)
		sum += (unsigned long)mtree_load(mt, load_index[i]);
	bench_sink = sum;
}

/* mt.iter: mas_for_each over every range. */
static __noinline unsigned long bench_mt_iter(struct maple_tree *mt)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long n = 0, sum = 0;
	void *entry;

	mas_for_each (&mas, entry, ULONG_MAX) {
		sum += (unsigned long)entry;
		n++;
	}
	bench_sink = sum;
	return n;
}

/*
 * mt.convert: the guest_memfd conversion pattern, once per range: reserve
 * nodes off the lock, then under it store a new value over the middle half
 * of the range, splitting it in three.
 */
static __always_inline void convert_loop(struct maple_tree *mt)
{
	for (unsigned long i = 0; i < nr_ranges; i++) {
		unsigned long first = i * RANGE_SIZE + RANGE_SIZE / 4;
		MA_STATE(mas, mt, first, first + RANGE_SIZE / 2 - 1);

		if (mas_preallocate(&mas, VAL(3), GFP_KERNEL)) {
			fprintf(stderr, "mas_preallocate failed at range %lu\n", i);
			exit(1);
		}
		mtree_lock(mt);
		mas_store_prealloc(&mas, VAL(3));
		mtree_unlock(mt);
	}
}

/*
 * mt.store_range_rcu and mt.convert_rcu: the same two workloads on a tree in
 * RCU mode (mt_set_in_rcu()), where a store copies the nodes it changes and
 * frees the old ones after the grace period (here at once: no reader).
 */
static __noinline void bench_mt_store_range(struct maple_tree *mt)
{
	store_range_loop(mt);
}

static __noinline void bench_mt_convert(struct maple_tree *mt)
{
	convert_loop(mt);
}

static __noinline void bench_mt_store_range_rcu(struct maple_tree *mt)
{
	store_range_loop(mt);
}

static __noinline void bench_mt_convert_rcu(struct maple_tree *mt)
{
	convert_loop(mt);
}

static void report_tree(const char *what, const struct maple_tree *mt)
{
	unsigned long n = mt_nr_nodes(mt);

	printf("  %-28s %lu nodes of %d B (%.2f MiB), %lu ranges, height %u\n", what, n,
	       MAPLE_NODE_SIZE, (double)mt_nr_bytes(mt) / (1024.0 * 1024.0), mt_nr_ranges(mt),
	       mt_height(mt));
}

int main(void)
{
	DEFINE_MTREE(mt);
	struct gs_rng rng;
	uint64_t t;
	unsigned long n;

	nr_ranges = bench_count(100000, 1000);
	nr_loads = bench_count(1000000, 10000);
	load_index = malloc(nr_loads * sizeof(*load_index));
	if (!load_index)
		return 1;
	gs_rng_seed(&rng, BENCH_SEED);
	for (unsigned long i = 0; i < nr_loads; i++)
		load_index[i] = gs_rng_below(&rng, nr_ranges * RANGE_SIZE);

	t = bench_now_ns();
	bench_mt_store_range(&mt);
	bench_report("mt.store_range", bench_now_ns() - t, nr_ranges);
	report_tree("after mt.store_range:", &mt);

	t = bench_now_ns();
	bench_mt_load_rand(&mt);
	bench_report("mt.load_rand", bench_now_ns() - t, nr_loads);

	t = bench_now_ns();
	n = bench_mt_iter(&mt);
	bench_report("mt.iter", bench_now_ns() - t, n);

	t = bench_now_ns();
	bench_mt_convert(&mt);
	bench_report("mt.convert", bench_now_ns() - t, nr_ranges);
	report_tree("after mt.convert:", &mt);

	if (mt_validate(&mt))
		return 1;
	mtree_destroy(&mt);

	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	t = bench_now_ns();
	bench_mt_store_range_rcu(&mt);
	bench_report("mt.store_range_rcu", bench_now_ns() - t, nr_ranges);
	t = bench_now_ns();
	bench_mt_convert_rcu(&mt);
	bench_report("mt.convert_rcu", bench_now_ns() - t, nr_ranges);
	report_tree("after mt.convert_rcu:", &mt);
	if (mt_validate(&mt))
		return 1;
	mtree_destroy(&mt);
	free(load_index);
	return gs_alloc_live_total() ? 1 : 0;
}
