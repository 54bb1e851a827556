// SPDX-License-Identifier: MIT
/*
 * The memory layer's costs next to the physical floor of anchors.md:
 * splitting a HugeTLB folio to 4 KiB (HVO restore + split) and merging it
 * back (merge + HVO optimize), for 1 GiB and 2 MiB, each beside a memset()
 * of the same number of struct-page bytes in the same run; and the host
 * memory a metadata-only 1 TiB pool of optimized 1 GiB pages costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hvo.h>
#include <gmemsim/physmem.h>
#include "bench.h"

#define ROUNDS_1G 16
#define NR_2M	  256

static void drop(struct folio *folio)
{
	(void)folio;
}

/* HVO restore, then a uniform split to 4 KiB: what a to-shared conversion does to a 1G page. */
static __attribute__((noinline)) void bench_split_1g(struct folio *f)
{
	if (hugetlb_vmemmap_restore_folio(f) || folio_split(f, 0, NULL, GS_SPLIT_UNIFORM))
		abort();
}

/* Merge back to 1 GiB and optimize again: what the return to private does. */
static __attribute__((noinline)) void bench_merge_1g(struct folio *first)
{
	if (folio_merge(first, 18, 1) != 1 + (1 << 18))
		abort();
	if (!folio_ref_freeze(first, 1 + (1 << 18))) /* optimize wants a frozen folio */
		abort();
	if (hugetlb_vmemmap_optimize_folio(first))
		abort();
	folio_ref_unfreeze(first, 1 + (1 << 18));
}

static __attribute__((noinline)) void bench_memset_floor(void *buf, size_t len, int round)
{
	memset(buf, round, len);
	bench_sink += ((unsigned char *)buf)[len - 1];
}

static __attribute__((noinline)) void bench_split_2m(struct folio **f, int n)
{
	for (int i = 0; i < n; i++)
		if (hugetlb_vmemmap_restore_folio(f[i]) ||
		    folio_split(f[i], 0, NULL, GS_SPLIT_UNIFORM))
			abort();
}

static __attribute__((noinline)) void bench_merge_2m(struct folio **f, int n)
{
	for (int i = 0; i < n; i++) {
		if (folio_merge(f[i], 9, 1) != 1 + 512 || !folio_ref_freeze(f[i], 1 + 512))
			abort();
		if (hugetlb_vmemmap_optimize_folio(f[i]))
			abort();
		folio_ref_unfreeze(f[i], 1 + 512);
	}
}

static uint64_t median(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* The same split when the restore's pages were preallocated (hugetlb_vmemmap_prealloc()). */
static __attribute__((noinline)) void bench_split_1g_prealloc(struct folio *f)
{
	if (hugetlb_vmemmap_restore_folio(f) || folio_split(f, 0, NULL, GS_SPLIT_UNIFORM))
		abort();
}

static void run_1g(struct gs_hugetlb_backend *be)
{
	struct folio *f = be->alloc_fresh(be->ctx, 18, GFP_KERNEL);
	size_t len = hugetlb_vmemmap_size(18);
	void *buf = malloc(len);
	uint64_t split[ROUNDS_1G], merge[ROUNDS_1G], floor[ROUNDS_1G], pre[ROUNDS_1G];

	memset(buf, 1, len); /* the floor is measured on memory already faulted in */
	/* As in guest_memfd: a page-cache folio, one reference per page plus the caller's. */
	f->mapping = (void *)&run_1g;
	folio_set_count(f, 1 + (1 << 18));
	for (int r = 0; r < ROUNDS_1G; r++) {
		uint64_t t0 = bench_now_ns();

		bench_split_1g(f);
		split[r] = bench_now_ns() - t0;
		t0 = bench_now_ns();
		bench_merge_1g(f);
		merge[r] = bench_now_ns() - t0;
		t0 = bench_now_ns();
		bench_memset_floor(buf, len, r);
		floor[r] = bench_now_ns() - t0;
		if (hugetlb_vmemmap_prealloc(f)) /* not timed: done where failing is cheap */
			abort();
		t0 = bench_now_ns();
		bench_split_1g_prealloc(f);
		pre[r] = bench_now_ns() - t0;
		bench_merge_1g(f);
	}
	bench_report("mem.split_1g", median(split, ROUNDS_1G), 1);
	bench_report("mem.split_1g_prealloc", median(pre, ROUNDS_1G), 1);
	bench_report("mem.merge_1g", median(merge, ROUNDS_1G), 1);
	bench_report("mem.memset_16m", median(floor, ROUNDS_1G), 1);
	printf("  split_1g / floor = %.2f, split_1g_prealloc / floor = %.2f, merge_1g / floor = "
	       "%.2f\n",
	       (double)median(split, ROUNDS_1G) / (double)median(floor, ROUNDS_1G),
	       (double)median(pre, ROUNDS_1G) / (double)median(floor, ROUNDS_1G),
	       (double)median(merge, ROUNDS_1G) / (double)median(floor, ROUNDS_1G));
	folio_set_count(f, 0);
	f->mapping = NULL;
	if (be->free_fresh(be->ctx, f))
		abort();
	free(buf);
}

static void run_2m(struct gs_hugetlb_backend *be)
{
	static struct folio *f[NR_2M];
	size_t len = hugetlb_vmemmap_size(9) * NR_2M;
	void *buf = malloc(len);
	uint64_t t0, split, merge, floor;

	memset(buf, 1, len);
	for (int i = 0; i < NR_2M; i++) {
		f[i] = be->alloc_fresh(be->ctx, 9, GFP_KERNEL);
		f[i]->mapping = (void *)&run_2m;
		folio_set_count(f[i], 1 + 512);
	}
	t0 = bench_now_ns();
	bench_split_2m(f, NR_2M);
	split = bench_now_ns() - t0;
	t0 = bench_now_ns();
	bench_merge_2m(f, NR_2M);
	merge = bench_now_ns() - t0;
	t0 = bench_now_ns();
	bench_memset_floor(buf, len, 3);
	floor = bench_now_ns() - t0;
	bench_report("mem.split_2m", split, NR_2M);
	bench_report("mem.merge_2m", merge, NR_2M);
	bench_report("mem.memset_32k", floor, NR_2M);
	printf("  split_2m / floor = %.2f, merge_2m / floor = %.2f\n",
	       (double)split / (double)floor, (double)merge / (double)floor);
	for (int i = 0; i < NR_2M; i++) {
		folio_set_count(f[i], 0);
		f[i]->mapping = NULL;
		if (be->free_fresh(be->ctx, f[i]))
			abort();
	}
	free(buf);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* A 1 TiB pool of 1 GiB pages with no data memory: what it costs the host once optimized. */
static void run_pool_1t(struct gs_hugetlb_backend *be)
{
	static struct folio *f[1024];
	long before = rss_kib(), after;
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < 1024; i++)
		if (!(f[i] = be->alloc_fresh(be->ctx, 18, GFP_KERNEL)))
			abort();
	bench_report("mem.pool_1t_grow", bench_now_ns() - t0, 1024);
	after = rss_kib();
	printf("mem.pool_1t_rss          %ld KiB host RSS for 1 TiB of 1 GiB pages (goal < "
	       "65536)\n",
	       after - before);
	for (int i = 0; i < 1024; i++)
		if (be->free_fresh(be->ctx, f[i]))
			abort();
}

int main(void)
{
	struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	struct gs_hugetlb_backend be = gs_hugetlb_host_backend(&host);

	for (int k = 0; k < GS_FOLIO_NR_KINDS; k++)
		gs_folio_set_free_hook(k, drop);
	gs_hvo_set_enabled(true);
	run_1g(&be);
	run_2m(&be);
	run_pool_1t(&be);
	return 0;
}
