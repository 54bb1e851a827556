// SPDX-License-Identifier: MIT
/*
 * The full split of a guest_memfd HugeTLB page in its page cache and the
 * merge back (lib/hugetlb_restructuring.c), against the floor of anchors.md:
 * a memset() of the struct pages the kernel must write (16 MiB for 1 GiB),
 * timed in the same run. "Split" is everything a to-shared conversion asks
 * of the memory layer: the XArray preallocation, the freeze, the metadata,
 * the HVO restore, the struct pages, and the page-cache entry split with
 * one entry per 4 KiB page. "Merge" is the way back: every piece frozen,
 * one folio, one entry, HVO again. Cold: the first split of a page made
 * afresh, whose vmemmap was never resident, with the spares filled when
 * its page cache was made (as kvm_gmem_create() fills them), with nothing
 * (the host faults in 16 MiB), or with a preallocation; beside it the
 * floor on memory of the same kind (populated, never written). Warm: the
 * same page split and merged again. Beside them, the way the memory layer
 * did it before (a restore writing every tail, folio_split(), then
 * xa_store() per page).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* A 16 MiB buffer the host has populated but nobody has written: what a cold split writes. */
static void *populated(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || madvise(p, len, MADV_POPULATE_WRITE))
		abort();
	return p;
}

enum cold_kind {
	COLD_SPARES,   /* spares filled when the page cache was made (gs_hvo_fill_spares()) */
	COLD_HOST,     /* no spares: the restore asks the host */
	COLD_PREALLOC, /* no spares, a preallocation taken before (not timed) */
};

/*
 * The first split of a freshly made 1 GiB page, whose vmemmap was never
 * resident, then its merge; and beside it the floor on memory of the same
 * kind (populated by the host, never written).
 */
static void run_cold(struct gs_hugetlb_backend *be, enum cold_kind kind, uint64_t *split,
		     uint64_t *merge, uint64_t *floor)
{
	size_t len = hugetlb_vmemmap_size(18);
	struct cache_folio c;
	void *buf = populated(len);

	gs_hvo_drain_spares();
	cache_add(&c, be, 18);
	/* Not timed: where a split becomes possible, as kvm_gmem_create() does. */
	if (kind == COLD_SPARES && (gs_hvo_fill_spares(18) || gs_hvo_spare_pages() < 4095))
		abort();
	if (kind == COLD_PREALLOC && hugetlb_vmemmap_prealloc(c.folio))
		abort();
	*split = timed(kind == COLD_PREALLOC ? bench_split_1g_prealloc : bench_split_1g, &c);
	*merge = timed(bench_merge_1g, &c);
	*floor = bench_now_ns();
	bench_memset_floor(buf, len, 1);
	*floor = bench_now_ns() - *floor;
	cache_del(&c, be);
	if (munmap(buf, len))
		abort();
}

static void run_1g(struct gs_hugetlb_backend *be)
{
	int rounds = (int)bench_count(ROUNDS_1G, 2);
	uint64_t split[ROUNDS_1G], merge[ROUNDS_1G], floor[ROUNDS_1G], pre[ROUNDS_1G],
		before[ROUNDS_1G], first[ROUNDS_1G], first_merge[ROUNDS_1G], host[ROUNDS_1G],
		first_pre[ROUNDS_1G], cold_floor[3 * ROUNDS_1G], ignored;
	size_t len = hugetlb_vmemmap_size(18);
	void *buf = malloc(len);
	struct cache_folio c;
	double f, fc;

	if (!buf)
		abort();
	memset(buf, 1, len); /* the floor is measured on memory already faulted in */
	/* Cold: each round a page made afresh, whose vmemmap was never resident. */
	for (int r = 0; r < rounds; r++) {
		run_cold(be, COLD_SPARES, &first[r], &first_merge[r], &cold_floor[3 * r]);
		run_cold(be, COLD_HOST, &host[r], &ignored, &cold_floor[3 * r + 1]);
		run_cold(be, COLD_PREALLOC, &first_pre[r], &ignored, &cold_floor[3 * r + 2]);
	}
	/* Warm: the same page split and merged again and again. */
	cache_add(&c, be, 18);
	bench_split_1g(&c);
	bench_merge_1g(&c);
	for (int r = 0; r < rounds; r++) {
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
	for (int r = 0; r < rounds; r++) {
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
	f = (double)median(floor, rounds);
	fc = (double)median(cold_floor, 3 * rounds);
	bench_report("rs.split_1g_first", median(first, rounds), 1);
	bench_report("rs.merge_1g_first", median(first_merge, rounds), 1);
	bench_report("rs.split_1g_first_host", median(host, rounds), 1);
	bench_report("rs.split_1g_first_prealloc", median(first_pre, rounds), 1);
	bench_report("rs.split_1g", median(split, rounds), 1);
	bench_report("rs.split_1g_prealloc", median(pre, rounds), 1);
	bench_report("rs.split_1g_before", median(before, rounds), 1);
	bench_report("rs.merge_1g", median(merge, rounds), 1);
	bench_report("rs.memset_16m", median(floor, rounds), 1);
	bench_report("rs.memset_16m_cold", median(cold_floor, 3 * rounds), 1);
	printf("  / floor: split_1g_first %.2f, merge_1g_first %.2f, split_1g_first_host %.2f, "
	       "split_1g_first_prealloc %.2f\n",
	       (double)median(first, rounds) / f, (double)median(first_merge, rounds) / f,
	       (double)median(host, rounds) / f, (double)median(first_pre, rounds) / f);
	printf("  / floor: split_1g %.2f, split_1g_prealloc %.2f, split_1g_before %.2f, "
	       "merge_1g %.2f\n",
	       (double)median(split, rounds) / f, (double)median(pre, rounds) / f,
	       (double)median(before, rounds) / f, (double)median(merge, rounds) / f);
	printf("  / cold floor (memset of 16 MiB populated, never written): split_1g_first %.2f, "
	       "split_1g_first_host %.2f, split_1g_first_prealloc %.2f\n",
	       (double)median(first, rounds) / fc, (double)median(host, rounds) / fc,
	       (double)median(first_pre, rounds) / fc);
	/* A shared 2-core machine: the fastest round shows the cost without the neighbours. */
	f = (double)minimum(floor, rounds);
	printf("  / floor, fastest rounds: split_1g_first %.2f, split_1g %.2f, "
	       "split_1g_prealloc %.2f, split_1g_before %.2f, merge_1g %.2f\n",
	       (double)minimum(first, rounds) / f, (double)minimum(split, rounds) / f,
	       (double)minimum(pre, rounds) / f, (double)minimum(before, rounds) / f,
	       (double)minimum(merge, rounds) / f);
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
	int n = (int)bench_count(NR_2M, 16), rounds = (int)bench_count(5, 1);
	uint64_t t[5];

	for (int i = 0; i < n; i++)
		cache_add(&c[i], be, 9);
	bench_roundtrip_2m(c, n); /* the first restores come from the host */
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns();

		bench_roundtrip_2m(c, n);
		t[r] = bench_now_ns() - t0;
	}
	bench_report("rs.roundtrip_2m", median(t, rounds), (uint64_t)n);
	printf("  %.0f round trips/s\n", 1e9 * n / (double)median(t, rounds));
	for (int i = 0; i < n; i++)
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
