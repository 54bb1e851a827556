/* SPDX-License-Identifier: MIT */
/*
 * HugeTLB Vmemmap Optimization (mm/hugetlb_vmemmap.c). The struct pages of a
 * huge page fill 8 vmemmap pages (2 MiB) or 4096 (1 GiB); all but the first
 * hold only identical tail struct pages, so HVO gives those pages back and
 * leaves the first. Undoing it (before a split) must allocate them again
 * and can fail with -ENOMEM, which is why every split of a HugeTLB page has
 * a failure point before it.
 *
 * In gmemsim the vmemmap is host memory: optimizing a folio releases its
 * tail vmemmap pages to the host (RSS drops) and maps them read-only, so
 * the tails read as zero (page_folio() still resolves them) and any write
 * to one traps, like the kernel's read-only tail mapping.
 */
#ifndef GMEMSIM_HVO_H
#define GMEMSIM_HVO_H

#include <gmemsim/compiler.h>
#include <gmemsim/mm_types.h>

/* HVO keeps the first vmemmap page: the head and the first 63 tails. */
#define HUGETLB_VMEMMAP_RESERVE_SIZE  PAGE_SIZE
#define HUGETLB_VMEMMAP_RESERVE_PAGES (HUGETLB_VMEMMAP_RESERVE_SIZE / sizeof(struct page))

/* Bytes of struct pages behind a folio of @order. */
static inline unsigned long hugetlb_vmemmap_size(unsigned int order)
{
	return (1UL << order) * sizeof(struct page);
}

/* Bytes HVO frees for @order: all but the reserved first page (0 if only one page). */
static inline unsigned long hugetlb_vmemmap_optimizable_size(unsigned int order)
{
	unsigned long size = hugetlb_vmemmap_size(order);

	return size > HUGETLB_VMEMMAP_RESERVE_SIZE ? size - HUGETLB_VMEMMAP_RESERVE_SIZE : 0;
}

/* Vmemmap pages HVO frees for @order: 7 for 2 MiB, 4095 for 1 GiB. */
static inline unsigned long hugetlb_vmemmap_optimizable_pages(unsigned int order)
{
	return hugetlb_vmemmap_optimizable_size(order) >> PAGE_SHIFT;
}

/** gs_hvo_set_enabled() - the vm.hugetlb_optimize_vmemmap switch; returns the old value */
GS_API bool gs_hvo_set_enabled(bool on);
GS_API bool gs_hvo_enabled(void);

/**
 * gs_hvo_set_resident() - keep a 2 MiB folio's freed vmemmap in the host (fuzzing)
 * @on: true: the resident host mode; false: the default
 *
 * By default the vmemmap pages HVO frees go back to the host (madvise()),
 * so a large metadata-only guest costs the host what the kernel's would
 * (docs/PERFORMANCE.md, host memory), and a restore takes them from the
 * host again. In the resident mode, meant for fuzzers and other persistent
 * runners that measure executions rather than host memory, the freed
 * vmemmap pages of folios of 2 MiB (not 1 GiB: 16 MiB to fill and check)
 * stay in the host, filled with a pattern (compound_info zero, as freed
 * tails read in both modes), poisoned for ASan and memcheck as in the
 * default mode; a write to one is reported by the hvo checker and, as a
 * WARN, by the restore or release that takes the page again, instead of by
 * the checker's pagemap test. What every operation does, returns and
 * counts is the same in both modes; only host memory and host calls
 * differ (docs/FIDELITY.md). Pages freed in one mode are taken back
 * correctly in the other.
 *
 * Context: any.
 * Return: the previous setting.
 */
GS_API bool gs_hvo_set_resident(bool on);

/**
 * gs_hvo_test_scan_generic() - verify and fill kept pages with the portable scan. TEST-ONLY.
 * @on: true: 16-byte vectors on every host; false: the host's widest (AVX2)
 *
 * The resident mode's verification and pattern fill pick the widest
 * vectors the host has; tests run both over the same writes.
 *
 * Context: any.
 * Return: the previous setting.
 */
GS_API bool gs_hvo_test_scan_generic(bool on);

/** gs_hvo_resident() - whether the resident host mode is on (gs_hvo_set_resident()) */
GS_API bool gs_hvo_resident(void);

/**
 * hugetlb_vmemmap_optimize_folio() - free the tail vmemmap pages of a folio
 * @folio: a huge folio (order >= 7) with refcount 0 (free or frozen)
 *
 * Like the kernel, a fresh head vmemmap page is allocated first (site
 * hvo.optimize); if that fails the folio simply stays unoptimized.
 * Nothing happens when HVO is disabled or the folio is already optimized.
 *
 * Context: process context.
 * Return: 0 (optimized, or nothing to do), -ENOMEM (left unoptimized),
 * -EINVAL (order too small, or references held).
 */
GS_API int hugetlb_vmemmap_optimize_folio(struct folio *folio);

/**
 * hugetlb_vmemmap_restore_folio() - allocate the tail vmemmap pages again
 * @folio: an optimized folio
 *
 * Allocates 7 (2 MiB) or 4095 (1 GiB) pages, each one an allocation at
 * site hvo.restore, all or nothing: on any failure what was obtained is
 * freed and the folio stays optimized. Uses a reservation from
 * hugetlb_vmemmap_prealloc() if there is one, and then cannot fail.
 * Every tail struct page is written again.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when not optimized), -ENOMEM.
 */
GS_API int hugetlb_vmemmap_restore_folio(struct folio *folio);

/**
 * hugetlb_vmemmap_restore_folio_nofail() - the restore where failing is not an option
 * @folio: an optimized folio
 *
 * For paths that cannot fail (eviction's merge of a split page before it is
 * freed): the pages are memory the caller cannot do without (__GFP_NOFAIL,
 * which fault injection skips). Only the host itself being out of memory
 * still fails it.
 *
 * Context: process context (may sleep).
 * Return: 0, -ENOMEM (the host refused the pages).
 */
GS_API int hugetlb_vmemmap_restore_folio_nofail(struct folio *folio);

/**
 * hugetlb_vmemmap_restore_for_split() - undo HVO for a split to order 0
 * @folio: an optimized folio the caller splits next, writing every struct
 *         page (__split_folio_to_order())
 *
 * hugetlb_vmemmap_restore_folio() without writing the 262,143 tail markers
 * (1 GiB) that the split overwrites at once: allocated, charged, taken from
 * the host and failing exactly as that restore. Nothing may read the tails
 * before the split.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when not optimized), -ENOMEM.
 */
GS_API int hugetlb_vmemmap_restore_for_split(struct folio *folio);

/**
 * hugetlb_vmemmap_restore_for_free() - undo HVO for a page going back to the host
 * @folio: an optimized folio the caller frees next (gs_physmem_free_huge())
 *
 * What update_and_free_hugetlb_folio() does before freeing: the 7 / 4,095
 * pages are allocated and charged exactly as by
 * hugetlb_vmemmap_restore_folio(), all or nothing, and can fail the same
 * way; but since the struct pages go back to the host with the page, they
 * are neither taken from the host nor written (a 1 TiB pool of 2 MiB pages
 * shrinks in a third of the time). Nothing may read the tails before the
 * page is freed.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when not optimized), -ENOMEM.
 */
GS_API int hugetlb_vmemmap_restore_for_free(struct folio *folio);

/**
 * gs_hvo_restore_for_free_zeroed() - hugetlb_vmemmap_restore_for_free() for struct pages kept zeroed
 * @folio: as for hugetlb_vmemmap_restore_for_free()
 * @zeroed: set to a bit per vmemmap page of the folio's struct pages (bit
 *	i: their i-th 4 KiB, i < BITS_PER_LONG) that the call zeroed
 *
 * The same restore, with the same charges, failures and verification (a
 * tail written while HVO had freed it is the same WARN); but tails kept in
 * the host (gs_hvo_set_resident()) are zeroed in the pass that verifies
 * them, for a caller that keeps the struct pages in the host, zeroed
 * (gs_physmem_free_huge_zeroed()), and need not zero those again.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when not optimized; *@zeroed is 0 then), -ENOMEM
 * (*@zeroed is 0).
 */
GS_API int gs_hvo_restore_for_free_zeroed(struct folio *folio, unsigned long *zeroed);

/**
 * hugetlb_vmemmap_cancel_restore() - undo a restore whose split did not happen
 * @folio: a folio hugetlb_vmemmap_restore_for_split() (or _restore_folio())
 *         restored, still whole and frozen
 *
 * The exact inverse of that restore, for a split prepared and then
 * cancelled: the folio is optimized again, its tail vmemmap pages given
 * back and uncharged, the counters as before the restore. Unlike
 * hugetlb_vmemmap_optimize_folio() it allocates nothing (the head page
 * never moved), so it cannot fail. A preallocation the restore consumed is
 * not made again.
 *
 * Context: process context.
 */
GS_API void hugetlb_vmemmap_cancel_restore(struct folio *folio);

/**
 * hugetlb_vmemmap_prepare_split() - restore only what a split into optimized pieces needs
 * @folio: an optimized folio of order > @new_order
 * @new_order: order of the pieces, >= 7 so that the pieces stay optimized
 *
 * The "1 GiB directly to 512 optimized 2 MiB pieces" path: only the first
 * vmemmap page of each piece is allocated (511 for 1 GiB to 2 MiB, against
 * 4095 to restore everything), all or nothing. folio_split() then builds
 * optimized pieces. hugetlb_vmemmap_cancel_split() undoes this if the split
 * is refused.
 *
 * Context: process context (may sleep).
 * Return: 0, -EINVAL (not optimized or bad order), -ENOMEM.
 */
GS_API int hugetlb_vmemmap_prepare_split(struct folio *folio, unsigned int new_order);

/** hugetlb_vmemmap_split_prepared() - prepare_split(@folio, @new_order) was done */
GS_API bool hugetlb_vmemmap_split_prepared(const struct folio *folio, unsigned int new_order);

/** hugetlb_vmemmap_cancel_split() - give back what prepare_split allocated */
GS_API void hugetlb_vmemmap_cancel_split(struct folio *folio, unsigned int new_order);

/**
 * hugetlb_vmemmap_prealloc() - reserve the pages a later restore needs
 * @folio: an optimized folio
 *
 * The alternative to failing at restore time: allocate the 7 / 4095 pages
 * early (where failing is cheap), so that the restore cannot fail.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when nothing is needed), -ENOMEM (nothing reserved).
 */
GS_API int hugetlb_vmemmap_prealloc(struct folio *folio);

/**
 * hugetlb_vmemmap_prealloc_pfn() - hugetlb_vmemmap_prealloc() for a piece not built yet
 * @pfn: the first pfn of the future folio (2 MiB aligned)
 * @order: its order (>= 7)
 *
 * For a split into optimized pieces some of which go on to order 0
 * (hugetlb_restructuring, a non-uniform split): the restore of such a piece
 * happens past the split's point of no return, so its pages are taken here,
 * before it. Release with hugetlb_vmemmap_prealloc_release() on the piece.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when a reservation is there already), -EINVAL (order
 * too small), -ENOMEM (nothing reserved).
 */
GS_API int hugetlb_vmemmap_prealloc_pfn(unsigned long pfn, unsigned int order);

/** hugetlb_vmemmap_prealloc_release() - drop an unused reservation */
GS_API void hugetlb_vmemmap_prealloc_release(struct folio *folio);

/**
 * gs_hvo_fill_spares() - keep one restore of an @order folio populated ahead of time
 * @order: order of the huge pages a split may restore (9: 2 MiB, 18: 1 GiB)
 *
 * Fills HVO's spare vmemmap pages from the host (4,095 pages for a 1 GiB
 * page, populated now; a 2 MiB page's 7 are taken from the host by the
 * restore itself, cheaper than moving a spare) unless a spare of that size
 * is there already, so that a later restore before a split
 * (hugetlb_vmemmap_restore_for_split()) finds
 * its pages resident, as the kernel's restore finds free pages in the
 * buddy allocator, instead of waiting for the host to fault in and zero
 * them (5-10 times the split itself for 1 GiB). Host memory only: nothing
 * is charged to the machine until a restore takes the pages, and that
 * restore can fail as any. The spares are bounded (16 MiB in all,
 * whatever the machine's size); called where a split becomes possible,
 * never inside one.
 *
 * Context: process context (may sleep).
 * Return: 0 (also when HVO is off, @order has nothing to restore or is
 * below 1 GiB, or such a spare is there), -ENOSPC (the spares are full), -ENOMEM (the host
 * refused; nothing kept).
 */
GS_API int gs_hvo_fill_spares(unsigned int order);

/** gs_hvo_drain_spares() - give every spare vmemmap page back to the host */
GS_API void gs_hvo_drain_spares(void);

/** gs_hvo_spare_pages() - vmemmap pages held populated in the spares */
GS_API unsigned long gs_hvo_spare_pages(void);

/**
 * hugetlb_vmemmap_release() - forget a huge page's vmemmap state before it
 * goes back to the host (uncharges restored pages and reservations)
 * @pfn: first pfn of the huge page
 * @order: its order
 */
GS_API void hugetlb_vmemmap_release(unsigned long pfn, unsigned int order);

/**
 * gs_hvo_parkable() - whether gs_hvo_park() may keep a huge page's vmemmap
 * @folio: a whole huge folio going back to the host
 *
 * Context: any.
 * Return: true when HVO is on and the folio is optimized, with no restored
 * vmemmap page and no preallocation (those are released as usual).
 */
GS_API bool gs_hvo_parkable(const struct folio *folio);

/**
 * gs_hvo_park() - keep an optimized huge page's vmemmap as it is while the page is parked
 * @folio: a folio gs_hvo_parkable() accepts, parked (gs_physmem_park_huge())
 *
 * Its tail vmemmap stays given back, and stops counting as saved (as
 * hugetlb_vmemmap_release() would have it), so that gs_hvo_unpark() makes
 * it an optimized fresh page without a host call.
 *
 * Context: any.
 */
GS_API void gs_hvo_park(struct folio *folio);

/**
 * gs_hvo_unpark() - a parked page handed out again: optimized, as a fresh page is
 * @folio: the page, its head and first vmemmap page initialized again
 *
 * The charge, counts and trace of hugetlb_vmemmap_optimize_folio().
 *
 * Context: process context; no fault injection armed.
 */
GS_API void gs_hvo_unpark(struct folio *folio);

/**
 * gs_hvo_forget_parked() - a parked page goes back to the host after all
 * @pfn: its first pfn
 * @order: its order
 *
 * Context: any.
 */
GS_API void gs_hvo_forget_parked(unsigned long pfn, unsigned int order);

/**
 * struct gs_hvo_stats - HVO counters
 * @freed_pages: vmemmap pages currently given back by HVO (bytes saved = x 4096)
 * @restored_pages: vmemmap pages currently held because a restore allocated them
 * @reserved_pages: pages held by preallocations
 * @optimizations: folios optimized
 * @restores: full restores
 * @split_restores: prepare_split calls that succeeded
 * @restore_failures: restores and prepare_splits that failed with -ENOMEM
 * @pages_allocated: vmemmap pages allocated by restores, in total
 * @pages_freed: vmemmap pages freed by optimizations, in total
 */
struct gs_hvo_stats {
	unsigned long freed_pages;
	unsigned long restored_pages;
	unsigned long reserved_pages;
	unsigned long optimizations;
	unsigned long restores;
	unsigned long split_restores;
	unsigned long restore_failures;
	unsigned long pages_allocated;
	unsigned long pages_freed;
};

GS_API void gs_hvo_stats(struct gs_hvo_stats *out);

#endif /* GMEMSIM_HVO_H */
