// SPDX-License-Identifier: MIT
/*
 * The memory layer's costs next to the physical floor of anchors.md:
 * splitting a HugeTLB folio to 4 KiB (HVO restore + split) and merging it
 * back (merge + HVO optimize), for 1 GiB and 2 MiB, each beside a memset()
 * of the same number of struct-page bytes in the same run; and the host
 * memory (and host mappings) a metadata-only guest costs next to the
 * kernel's metadata for the same guest: 1 TiB of optimized 1 GiB and of
 * 2 MiB pages, and 4 GiB of 4 KiB pages in an XArray.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hvo.h>
#include <gmemsim/physmem.h>
#include <gmemsim/xarray.h>
#include <gmemsim/internal/page_alloc.h>
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
	int rounds = (int)bench_count(ROUNDS_1G, 2);

	memset(buf, 1, len); /* the floor is measured on memory already faulted in */
	/* As in guest_memfd: a page-cache folio, one reference per page plus the caller's. */
	f->mapping = (void *)&run_1g;
	folio_set_count(f, 1 + (1 << 18));
	for (int r = 0; r < rounds; r++) {
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
	bench_report("mem.split_1g", median(split, rounds), 1);
	bench_report("mem.split_1g_prealloc", median(pre, rounds), 1);
	bench_report("mem.merge_1g", median(merge, rounds), 1);
	bench_report("mem.memset_16m", median(floor, rounds), 1);
	printf("  split_1g / floor = %.2f, split_1g_prealloc / floor = %.2f, merge_1g / floor = "
	       "%.2f\n",
	       (double)median(split, rounds) / (double)median(floor, rounds),
	       (double)median(pre, rounds) / (double)median(floor, rounds),
	       (double)median(merge, rounds) / (double)median(floor, rounds));
	folio_set_count(f, 0);
	f->mapping = NULL;
	if (be->free_fresh(be->ctx, f))
		abort();
	free(buf);
}

static void run_2m(struct gs_hugetlb_backend *be)
{
	static struct folio *f[NR_2M];
	int n = (int)bench_count(NR_2M, 16);
	size_t len = hugetlb_vmemmap_size(9) * (size_t)n;
	void *buf = malloc(len);
	uint64_t t0, split, merge, floor;

	memset(buf, 1, len);
	for (int i = 0; i < n; i++) {
		f[i] = be->alloc_fresh(be->ctx, 9, GFP_KERNEL);
		f[i]->mapping = (void *)&run_2m;
		folio_set_count(f[i], 1 + 512);
	}
	t0 = bench_now_ns();
	bench_split_2m(f, n);
	split = bench_now_ns() - t0;
	t0 = bench_now_ns();
	bench_merge_2m(f, n);
	merge = bench_now_ns() - t0;
	t0 = bench_now_ns();
	bench_memset_floor(buf, len, 3);
	floor = bench_now_ns() - t0;
	bench_report("mem.split_2m", split, (uint64_t)n);
	bench_report("mem.merge_2m", merge, (uint64_t)n);
	bench_report("mem.memset_32k", floor, (uint64_t)n);
	printf("  split_2m / floor = %.2f, merge_2m / floor = %.2f\n",
	       (double)split / (double)floor, (double)merge / (double)floor);
	for (int i = 0; i < n; i++) {
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

/* Lines of /proc/self/maps: the host mappings the process holds (the host allows 65,530). */
static long host_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/*
 * Host memory of a metadata-only 1 TiB guest of huge pages of @order, next
 * to the kernel's for the same guest: after HVO, one 4 KiB vmemmap page per
 * huge page (the pool's lists live in the struct pages). A quick run makes
 * 16 GiB of them.
 */
static void run_pool_1t(struct gs_hugetlb_backend *be, unsigned int order, const char *name)
{
	unsigned long nr = bench_count(1UL << 40, 16UL << 30) >> (order + PAGE_SHIFT);
	struct folio **f = calloc(nr, sizeof(*f));
	long before = rss_kib(), maps = host_mappings(), after;
	double kernel_kib = (double)nr * 4.0;
	uint64_t t0 = bench_now_ns();
	char label[64];

	if (!f)
		abort();
	for (unsigned long i = 0; i < nr; i++)
		if (!(f[i] = be->alloc_fresh(be->ctx, order, GFP_KERNEL)))
			abort();
	snprintf(label, sizeof(label), "mem.pool_1t_%s_grow", name);
	bench_report(label, bench_now_ns() - t0, nr);
	after = rss_kib();
	/* The array of folio pointers is the benchmark's, not the model's. */
	after -= (long)(nr * sizeof(*f) / 1024);
	printf("mem.pool_1t_%s_rss  %ld KiB host RSS for %lu GiB of %s pages; the kernel's "
	       "metadata %.0f KiB: %.2fx (goal <= 1.5x); host mappings +%ld\n",
	       name, after - before, (nr << (order + PAGE_SHIFT)) >> 30, name, kernel_kib,
	       (double)(after - before) / kernel_kib, host_mappings() - maps);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < nr; i++)
		if (be->free_fresh(be->ctx, f[i]))
			abort();
	snprintf(label, sizeof(label), "mem.pool_1t_%s_shrink", name);
	bench_report(label, bench_now_ns() - t0, nr);
	free(f);
}

/*
 * 4 KiB pages of a metadata-only guest in a page cache (an XArray), as
 * guest_memfd holds them: the kernel's metadata is a 64-byte struct page
 * per page plus the XArray's 576-byte nodes (one per 64 pages, and the
 * levels above).
 */
static void run_pages_4k(unsigned long bytes)
{
	unsigned long nr = bytes >> PAGE_SHIFT, leaves = nr / 64;
	double kernel_kib = ((double)nr * 64 + (double)(leaves + leaves / 63 + 1) * 576) / 1024;
	long before = rss_kib(), after;
	DEFINE_XARRAY(cache);
	uint64_t t0 = bench_now_ns();

	gs_physmem_override_backing(GS_BACKING_NONE);
	for (unsigned long i = 0; i < nr; i++) {
		struct folio *folio = gs_folio_alloc_order0(GFP_KERNEL);

		if (!folio || xa_is_err(xa_store(&cache, i, folio, GFP_KERNEL)))
			abort();
	}
	bench_report("mem.pages_4k_alloc", bench_now_ns() - t0, nr);
	after = rss_kib();
	printf("mem.pages_4k_rss  %ld KiB host RSS for %lu MiB of 4 KiB pages in an XArray; the "
	       "kernel's metadata %.0f KiB: %.2fx (goal <= 1.5x)\n",
	       after - before, bytes >> 20, kernel_kib, (double)(after - before) / kernel_kib);
	for (unsigned long i = 0; i < nr; i++)
		folio_put(xa_erase(&cache, i));
	xa_destroy(&cache);
	gs_physmem_override_backing(-1);
}

int main(void)
{
	struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	struct gs_hugetlb_backend be = gs_hugetlb_host_backend(&host);

	/* The order-0 pages go back to the page allocator; the huge ones are the benchmark's. */
	run_pages_4k(bench_count(4UL << 30, 64UL << 20));
	for (int k = 0; k < GS_FOLIO_NR_KINDS; k++)
		if (k != GS_FOLIO_OTHER)
			gs_folio_set_free_hook(k, drop);
	gs_hvo_set_enabled(true);
	if (gs_physmem_set_size(1UL << 40))
		abort();
	run_1g(&be);
	run_2m(&be);
	run_pool_1t(&be, 18, "1g");
	run_pool_1t(&be, 9, "2m");
	return 0;
}
