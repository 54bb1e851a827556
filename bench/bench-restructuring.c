// SPDX-License-Identifier: MIT
/*
 * The full split of a guest_memfd HugeTLB page in its page cache and the
 * merge back (lib/hugetlb_restructuring.c), against the floor of anchors.md:
 * a memset() of the struct pages the kernel must write (16 MiB for 1 GiB),
 * timed in the same run. "Split" is everything a to-shared conversion asks
 * of the memory layer: the XArray preallocation, the freeze, the metadata,
 * the HVO restore (from the host: cold, or from a preallocation), the
 * struct pages, and the page-cache entry split with one entry per 4 KiB
 * page. "Merge" is the way back: every piece frozen, one folio, one entry,
 * HVO again. Beside them, the way the memory layer did it before this file
 * (a restore writing every tail, folio_split(), then xa_store() per page).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/physmem.h>
#include <gmemsim/xarray.h>
#include "bench.h"

#define ROUNDS_1G 9
#define NR_2M	  256

struct cache_folio {
	struct xarray cache;
	struct folio *folio;
	unsigned long pfn;
	unsigned int order;
};

static void cache_add(struct cache_folio *c, struct gs_hugetlb_backend *be, unsigned int order)
{
	XA_STATE_ORDER(xas, &c->cache, 0, order);

	xa_init(&c->cache);
	c->order = order;
	c->folio = be->alloc_fresh(be->ctx, order, GFP_KERNEL);
	if (!c->folio)
		abort();
	c->pfn = folio_pfn(c->folio);
	do {
		xas_lock(&xas);
		xas_store(&xas, c->folio);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL));
	if (xas_error(&xas))
		abort();
	c->folio->mapping = &c->cache;
	c->folio->index = 0;
	/* As the kernel's page cache: one reference per page, plus the caller's. */
	folio_set_count(c->folio, (int)folio_nr_pages(c->folio) + 1);
}

static void cache_del(struct cache_folio *c, struct gs_hugetlb_backend *be)
{
	xa_destroy(&c->cache);
	c->folio->mapping = NULL;
	folio_set_count(c->folio, 0);
	if (be->free_fresh(be->ctx, c->folio))
		abort();
}

static __attribute__((noinline)) void bench_split_1g(struct cache_folio *c)
{
	if (hugetlb_restructuring_split_folio(&c->cache, 0, c->folio, NULL))
		abort();
}

static __attribute__((noinline)) void bench_split_1g_prealloc(struct cache_folio *c)
{
	struct hugetlb_split_opts opts = {.extra_refs = 1, .prealloc = true};

	if (hugetlb_restructuring_split_folio(&c->cache, 0, c->folio, &opts))
		abort();
}

static __attribute__((noinline)) void bench_merge_1g(struct cache_folio *c)
{
	struct folio *held = (struct folio *)pfn_to_page(c->pfn);

	if (hugetlb_restructuring_can_merge(&c->cache, c->pfn, held, 1) ||
	    hugetlb_restructuring_merge_folio(&c->cache, c->pfn, held, 1) != c->folio)
		abort();
}

/*
 * Before: a restore writing every tail, folio_split(), the entry split in
 * one call, then one xa_store() per page.
 */
static __attribute__((noinline)) void bench_split_1g_before(struct cache_folio *c)
{
	unsigned long nr = 1UL << c->order;
	XA_STATE_ORDER(xas, &c->cache, 0, 0);

	xas_split_alloc(&xas, c->folio, c->order, GFP_KERNEL);
	if (xas_error(&xas))
		abort();
	xas_lock(&xas);
	xas_split(&xas, c->folio, c->order);
	xas_unlock(&xas);
	xas_destroy(&xas);
	if (hugetlb_vmemmap_restore_folio(c->folio) ||
	    folio_split(c->folio, 0, NULL, GS_SPLIT_UNIFORM))
		abort();
	for (unsigned long i = 1; i < nr; i++)
		if (xa_is_err(xa_store(&c->cache, i, pfn_to_page(c->pfn + i), GFP_KERNEL)))
			abort();
	if (xa_is_err(xa_store(&c->cache, 0, pfn_to_page(c->pfn), GFP_KERNEL)))
		abort();
}

static __attribute__((noinline)) void bench_memset_floor(void *buf, size_t len, int round)
{
	memset(buf, round, len);
	bench_sink += ((unsigned char *)buf)[len - 1];
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

static uint64_t minimum(const uint64_t *v, int n)
{
	uint64_t m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static uint64_t timed(void (*fn)(struct cache_folio *), struct cache_folio *c)
{
	uint64_t t0 = bench_now_ns();

	fn(c);
	return bench_now_ns() - t0;
}

static void run_1g(struct gs_hugetlb_backend *be)
{
	uint64_t split[ROUNDS_1G], merge[ROUNDS_1G], floor[ROUNDS_1G], pre[ROUNDS_1G],
		before[ROUNDS_1G], first;
	size_t len = hugetlb_vmemmap_size(18);
	void *buf = malloc(len);
	struct cache_folio c;
	double f;

	if (!buf)
		abort();
	memset(buf, 1, len); /* the floor is measured on memory already faulted in */
	cache_add(&c, be, 18);
	/* The first split of a page whose vmemmap was never resident. */
	first = timed(bench_split_1g, &c);
	bench_merge_1g(&c);
	for (int r = 0; r < ROUNDS_1G; r++) {
		uint64_t t0;

		split[r] = timed(bench_split_1g, &c);
		merge[r] = timed(bench_merge_1g, &c);
		t0 = bench_now_ns();
		bench_memset_floor(buf, len, r);
		floor[r] = bench_now_ns() - t0;
		if (hugetlb_vmemmap_prealloc(c.folio)) /* not timed: where failing is cheap */
			abort();
		pre[r] = timed(bench_split_1g_prealloc, &c);
		bench_merge_1g(&c);
	}
	cache_del(&c, be);
	/* The old way, on a page cache of its own (its entries end split). */
	for (int r = 0; r < ROUNDS_1G; r++) {
		cache_add(&c, be, 18);
		before[r] = timed(bench_split_1g_before, &c);
		for (unsigned long i = 0; i < (1UL << 18); i++) {
			folio_set_count((struct folio *)pfn_to_page(c.pfn + i), 0);
			pfn_to_page(c.pfn + i)->mapping = NULL;
		}
		xa_destroy(&c.cache);
		if (folio_merge(c.folio, 18, 0) < 0 || hugetlb_vmemmap_optimize_folio(c.folio))
			abort();
		c.folio->mapping = NULL;
		if (be->free_fresh(be->ctx, c.folio))
			abort();
	}
	f = (double)median(floor, ROUNDS_1G);
	bench_report("rs.split_1g_first", first, 1);
	bench_report("rs.split_1g", median(split, ROUNDS_1G), 1);
	bench_report("rs.split_1g_prealloc", median(pre, ROUNDS_1G), 1);
	bench_report("rs.split_1g_before", median(before, ROUNDS_1G), 1);
	bench_report("rs.merge_1g", median(merge, ROUNDS_1G), 1);
	bench_report("rs.memset_16m", median(floor, ROUNDS_1G), 1);
	printf("  / floor: split_1g_first %.2f, split_1g %.2f, split_1g_prealloc %.2f, "
	       "split_1g_before %.2f, merge_1g %.2f\n",
	       (double)first / f, (double)median(split, ROUNDS_1G) / f,
	       (double)median(pre, ROUNDS_1G) / f, (double)median(before, ROUNDS_1G) / f,
	       (double)median(merge, ROUNDS_1G) / f);
	/* A shared 2-core machine: the fastest round shows the cost without the neighbours. */
	f = (double)minimum(floor, ROUNDS_1G);
	printf("  / floor, fastest rounds: split_1g %.2f, split_1g_prealloc %.2f, "
	       "split_1g_before %.2f, merge_1g %.2f\n",
	       (double)minimum(split, ROUNDS_1G) / f, (double)minimum(pre, ROUNDS_1G) / f,
	       (double)minimum(before, ROUNDS_1G) / f, (double)minimum(merge, ROUNDS_1G) / f);
	free(buf);
}

/* 2 MiB private -> shared split and shared -> private merge, round trips per second. */
static __attribute__((noinline)) void bench_roundtrip_2m(struct cache_folio *c, int n)
{
	for (int i = 0; i < n; i++) {
		struct folio *held = (struct folio *)pfn_to_page(c[i].pfn);

		if (hugetlb_restructuring_split_folio(&c[i].cache, 0, c[i].folio, NULL) ||
		    hugetlb_restructuring_can_merge(&c[i].cache, c[i].pfn, held, 1) ||
		    !hugetlb_restructuring_merge_folio(&c[i].cache, c[i].pfn, held, 1))
			abort();
	}
}

static void run_2m(struct gs_hugetlb_backend *be)
{
	static struct cache_folio c[NR_2M];
	uint64_t t[5];

	for (int i = 0; i < NR_2M; i++)
		cache_add(&c[i], be, 9);
	bench_roundtrip_2m(c, NR_2M); /* the first restores come from the host */
	for (int r = 0; r < 5; r++) {
		uint64_t t0 = bench_now_ns();

		bench_roundtrip_2m(c, NR_2M);
		t[r] = bench_now_ns() - t0;
	}
	bench_report("rs.roundtrip_2m", median(t, 5), NR_2M);
	printf("  %.0f round trips/s\n", 1e9 * NR_2M / (double)median(t, 5));
	for (int i = 0; i < NR_2M; i++)
		cache_del(&c[i], be);
}

int main(void)
{
	struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	struct gs_hugetlb_backend be = gs_hugetlb_host_backend(&host);

	gs_hvo_set_enabled(true); /* the default machine (64 GiB) holds what this needs */
	run_1g(&be);
	run_2m(&be);
	return 0;
}
