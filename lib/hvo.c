// SPDX-License-Identifier: MIT
/*
 * HugeTLB Vmemmap Optimization over the simulated vmemmap (see
 * <gmemsim/hvo.h>). Mirrors mm/hugetlb_vmemmap.c: optimize frees all but
 * the first vmemmap page of a huge folio; restore allocates them again, all
 * or nothing. Freed vmemmap is given back to the host (MADV_DONTNEED) and
 * mapped read-only, so it reads as the zero page and writes trap.
 *
 * Bookkeeping: one bit per vmemmap page says "allocated by a restore"
 * (charged to site hvo.restore until HVO frees it again or the huge page
 * goes back to the host), and a per-huge-page count holds preallocations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <valgrind/memcheck.h>
#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/hvo.h>
#include <gmemsim/trace.h>

#define PFNS_PER_VMEMMAP_PAGE (PAGE_SIZE / sizeof(struct page)) /* 64 */
#define CHUNK_SHIFT	      9

static bool hvo_on = true;
static unsigned long *restored_bits; /* bit v: vmemmap page v was allocated by a restore */
static unsigned short *reserved;     /* per 2 MiB of pfns: preallocated pages of that huge page */
static struct gs_hvo_stats stats;

bool gs_hvo_set_enabled(bool on)
{
	bool old = hvo_on;

	hvo_on = on;
	return old;
}

bool gs_hvo_enabled(void)
{
	return hvo_on;
}

static int hvo_init(void)
{
	size_t bits_len, res_len;
	void *b, *r;

	if (restored_bits)
		return 0;
	if (gs_physmem_init())
		return -ENOMEM;
	bits_len = ALIGN(gs_vmemmap_pfns / PFNS_PER_VMEMMAP_PAGE / 8, PAGE_SIZE);
	res_len = ALIGN((gs_vmemmap_pfns >> CHUNK_SHIFT) * sizeof(*reserved), PAGE_SIZE);
	b = mmap(NULL, bits_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	r = mmap(NULL, res_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (b == MAP_FAILED || r == MAP_FAILED)
		return -ENOMEM;
	restored_bits = b;
	reserved = r;
	return 0;
}

/* Vmemmap page index of page @k of the struct pages starting at @pfn. */
static inline unsigned long vpage(unsigned long pfn, unsigned long k)
{
	return pfn / PFNS_PER_VMEMMAP_PAGE + k;
}

static inline void *vpage_addr(unsigned long v)
{
	return (char *)gs_vmemmap + v * PAGE_SIZE;
}

/* Count and clear the restored bits of vmemmap pages [v, v + n). */
static unsigned long take_restored(unsigned long v, unsigned long n)
{
	unsigned long count = 0;

	for (unsigned long i = v; i < v + n; i++) {
		unsigned long *w = &restored_bits[i / BITS_PER_LONG],
			      bit = 1UL << (i % BITS_PER_LONG);

		if (*w & bit) {
			count++;
			*w &= ~bit;
		}
	}
	return count;
}

static void mark_restored(unsigned long v, unsigned long n)
{
	for (unsigned long i = v; i < v + n; i++)
		restored_bits[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
}

static bool test_restored(unsigned long v)
{
	return restored_bits[v / BITS_PER_LONG] & (1UL << (v % BITS_PER_LONG));
}

static void uncharge_pages(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		gs_uncharge(GS_SITE_HVO_RESTORE, PAGE_SIZE);
}

/* One allocation per page, as alloc_vmemmap_page_list(): any failure undoes all. */
static int charge_pages(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (!gs_charge(GS_SITE_HVO_RESTORE, PAGE_SIZE, GFP_KERNEL | __GFP_RETRY_MAYFAIL)) {
			uncharge_pages(i);
			stats.restore_failures++;
			return -ENOMEM;
		}
	}
	return 0;
}

/* Give vmemmap pages back to the host; what is left reads as zero and is read-only. */
static void drop_vmemmap(unsigned long v, unsigned long n)
{
	mprotect(vpage_addr(v), n * PAGE_SIZE, PROT_READ);
	madvise(vpage_addr(v), n * PAGE_SIZE, MADV_DONTNEED);
}

/* Make vmemmap pages writable again; the host backs them on first write. */
static void back_vmemmap(unsigned long v, unsigned long n)
{
	mprotect(vpage_addr(v), n * PAGE_SIZE, PROT_READ | PROT_WRITE);
	/* Until restore rewrites them, their contents mean nothing: let memcheck say so. */
	VALGRIND_MAKE_MEM_UNDEFINED(vpage_addr(v), n * PAGE_SIZE);
}

int hugetlb_vmemmap_optimize_folio(struct folio *folio)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), n = hugetlb_vmemmap_optimizable_pages(order),
		      restored;

	if (!hvo_on || folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	if (!n || WARN_ON_ONCE(folio_ref_count(folio)))
		return -EINVAL;
	if (hvo_init())
		return -ENOMEM;
	/* The fresh head page the first vmemmap page is copied into; the old one is freed. */
	if (!gs_charge(GS_SITE_HVO_OPTIMIZE, PAGE_SIZE, GFP_KERNEL))
		return -ENOMEM;
	gs_uncharge(GS_SITE_HVO_OPTIMIZE, PAGE_SIZE);
	/* Flag first, as the kernel does, so the folio never looks whole while it is not. */
	folio_set_hugetlb_vmemmap_optimized(folio);
	drop_vmemmap(vpage(pfn, 1), n);
	restored = take_restored(vpage(pfn, 1), n);
	uncharge_pages(restored);
	stats.restored_pages -= restored;
	stats.freed_pages += n;
	stats.pages_freed += n;
	stats.optimizations++;
	gs_trace("hvo.optimize", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("pages_freed", n));
	return 0;
}

/* Take @n pages from the huge page's preallocation; false if it does not hold them. */
static bool use_reservation(unsigned long pfn, unsigned long n)
{
	unsigned short *r = &reserved[pfn >> CHUNK_SHIFT];

	if (*r < n)
		return false;
	*r -= (unsigned short)n;
	stats.reserved_pages -= n;
	return true;
}

int hugetlb_vmemmap_restore_folio(struct folio *folio)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), n = hugetlb_vmemmap_optimizable_pages(order);

	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	if (hvo_init())
		return -ENOMEM;
	if (!use_reservation(pfn, n) && charge_pages(n))
		return -ENOMEM;
	back_vmemmap(vpage(pfn, 1), n);
	mark_restored(vpage(pfn, 1), n);
	gs_folio_write_tails(folio, HUGETLB_VMEMMAP_RESERVE_PAGES, 1UL << order);
	folio_clear_hugetlb_vmemmap_optimized(folio);
	stats.freed_pages -= n;
	stats.restored_pages += n;
	stats.pages_allocated += n;
	stats.restores++;
	gs_trace("hvo.restore", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("pages_allocated", n));
	return 0;
}

int hugetlb_vmemmap_prepare_split(struct folio *folio, unsigned int new_order)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), pieces, step = 1UL << new_order;

	if (!folio_test_hugetlb_vmemmap_optimized(folio) || new_order >= order ||
	    !hugetlb_vmemmap_optimizable_pages(new_order))
		return -EINVAL;
	pieces = 1UL << (order - new_order);
	if (hvo_init() || charge_pages(pieces - 1))
		return -ENOMEM;
	/* Piece 0's first vmemmap page is the folio's own; the others need one each. */
	for (unsigned long k = 1; k < pieces; k++) {
		back_vmemmap(vpage(pfn + k * step, 0), 1);
		mark_restored(vpage(pfn + k * step, 0), 1);
	}
	stats.freed_pages -= pieces - 1;
	stats.restored_pages += pieces - 1;
	stats.pages_allocated += pieces - 1;
	stats.split_restores++;
	gs_trace("hvo.prepare_split", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("new_order", new_order), GS_TF_U("pages_allocated", pieces - 1));
	return 0;
}

bool hugetlb_vmemmap_split_prepared(const struct folio *folio, unsigned int new_order)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), step = 1UL << new_order;

	if (!restored_bits || new_order >= order)
		return false;
	for (unsigned long k = 1; k < 1UL << (order - new_order); k++)
		if (!test_restored(vpage(pfn + k * step, 0)))
			return false;
	return true;
}

void hugetlb_vmemmap_cancel_split(struct folio *folio, unsigned int new_order)
{
	unsigned long pfn = folio_pfn(folio), step = 1UL << new_order, freed = 0;

	if (!hugetlb_vmemmap_split_prepared(folio, new_order))
		return;
	for (unsigned long k = 1; k < 1UL << (folio_order(folio) - new_order); k++) {
		drop_vmemmap(vpage(pfn + k * step, 0), 1);
		freed += take_restored(vpage(pfn + k * step, 0), 1);
	}
	uncharge_pages(freed);
	stats.freed_pages += freed;
	stats.restored_pages -= freed;
	stats.pages_freed += freed;
}

int hugetlb_vmemmap_prealloc(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio);
	unsigned long n = hugetlb_vmemmap_optimizable_pages(folio_order(folio));
	unsigned short *r;

	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	if (hvo_init())
		return -ENOMEM;
	r = &reserved[pfn >> CHUNK_SHIFT];
	if (*r >= n)
		return 0;
	if (charge_pages(n - *r))
		return -ENOMEM;
	stats.reserved_pages += n - *r;
	*r = (unsigned short)n;
	return 0;
}

void hugetlb_vmemmap_prealloc_release(struct folio *folio)
{
	unsigned short *r;

	if (!reserved)
		return;
	r = &reserved[folio_pfn(folio) >> CHUNK_SHIFT];
	uncharge_pages(*r);
	stats.reserved_pages -= *r;
	*r = 0;
}

void hugetlb_vmemmap_release(unsigned long pfn, unsigned int order)
{
	unsigned long n = hugetlb_vmemmap_size(order) / PAGE_SIZE, restored;
	if (!restored_bits)
		return;
	hugetlb_vmemmap_prealloc_release((struct folio *)pfn_to_page(pfn));
	restored = take_restored(vpage(pfn, 0), n);
	uncharge_pages(restored);
	stats.restored_pages -= restored;
	/*
	 * What HVO had freed is no longer "saved": the huge page is going away.
	 * It may be one folio or the pieces of a split; count each optimized one.
	 */
	for (unsigned long p = pfn; p < pfn + (1UL << order);) {
		struct folio *f = pfn_folio(p);

		if (folio_test_hugetlb_vmemmap_optimized(f))
			stats.freed_pages -= hugetlb_vmemmap_optimizable_pages(folio_order(f));
		p += folio_nr_pages(f);
	}
}

void gs_hvo_stats(struct gs_hvo_stats *out)
{
	*out = stats;
}
