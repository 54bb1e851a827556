/* SPDX-License-Identifier: MIT */
/*
 * Split and merge of a HugeTLB folio that lives in a page cache, as the
 * guest_memfd HugeTLB work does it (mm/hugetlb_restructuring.c of the WIP
 * branch): to shared splits a huge page to 4 KiB pieces, to private merges
 * them back. A split can fail, and then changes nothing; past its point of
 * no return nothing can fail. A merge cannot fail: callers check first.
 *
 * Pieces freed one by one are not given back to HugeTLB: each waits, and
 * when all of a huge page's pieces are free it goes on the deferred-merge
 * queue, which hugetlb_restructuring_run_deferred() empties (the kernel's
 * workqueue "hugetlb_restructuring"; here an explicit call that scenarios
 * and tests make, never a thread).
 */
#ifndef GMEMSIM_HUGETLB_RESTRUCTURING_H
#define GMEMSIM_HUGETLB_RESTRUCTURING_H

#include <gmemsim/compiler.h>
#include <gmemsim/mm_types.h>
#include <gmemsim/xarray.h>

/**
 * struct hugetlb_split_opts - how to split (all zero: the kernel's split)
 * @new_order: order of the pieces: 0 (the only order the kernel splits to),
 *             or, with @keep_hvo, an order >= 7 whose pieces stay optimized
 * @keep_hvo: give each piece its first vmemmap page only (1 GiB to 512
 *            optimized 2 MiB pieces) instead of restoring all of HVO
 * @prealloc: take HVO's pages from a preallocation made first
 * @at: the page the caller's references follow (NULL: the first page)
 * @extra_refs: references the caller holds on the folio besides the page
 *              cache's (the lookup reference: usually 1)
 * @small: with a page cache, @new_order 9 and @keep_hvo: bit k set sends
 *         piece k on to order 0 in the same split (a non-uniform split
 *         toward the pages that need 4 KiB, as folio_split() splits toward
 *         one page): its vmemmap and page-cache nodes are taken before the
 *         point of no return. At most 512 pieces (1 GiB to 2 MiB).
 *
 * A needs-merge piece of a split page (order 9 of a split 1 GiB page) splits
 * too, to order 0 only: no metadata record is made (the page's covers it)
 * and its own HVO is restored if it kept it.
 */
struct hugetlb_split_opts {
	unsigned int new_order;
	bool keep_hvo;
	bool prealloc;
	struct page *at;
	int extra_refs;
	const unsigned long *small;
};

/* The most pieces @small names: a 1 GiB page in 2 MiB pieces. */
#define HUGETLB_SPLIT_SMALL_MAX 512

/**
 * hugetlb_restructuring_split_folio() - split a HugeTLB folio and its page-cache entry
 * @pages: the page cache holding @folio at @index (one multi-index entry),
 *         or NULL for a folio in no page cache
 * @index: the folio's index in @pages (ignored when @pages is NULL)
 * @folio: a whole HugeTLB folio, unmapped
 * @opts: how; NULL for the kernel's split (order 0, caller holds 1 reference)
 *
 * Before the point of no return, in this order, each step undone if a later
 * one fails: xas_split_alloc() of the entry (-ENOMEM); the freeze at the
 * expected count, folio_nr_pages() for the page cache plus
 * @opts->extra_refs (anything else is a WARN and -EAGAIN); the per-pfn
 * metadata (order, subpool, cgroups; -ENOMEM); the HVO restore (-ENOMEM).
 * Then the pieces are written, the entry split (every slot keeps the old
 * folio until the pieces are stored at their indices), and each piece
 * unfrozen with its page-cache references, the caller's references on the
 * piece holding @opts->at. A piece left with none waits to be merged.
 *
 * Context: process context; folio locked (not checked).
 * Return: 0; -EINVAL (not a whole HugeTLB folio, not at @index, bad order);
 * -EBUSY (mapped); -ENOMEM; -EAGAIN. On error nothing changed.
 */
GS_API int hugetlb_restructuring_split_folio(struct xarray *pages, pgoff_t index,
					     struct folio *folio,
					     const struct hugetlb_split_opts *opts);

/**
 * struct hugetlb_split_prep - a split prepared and not yet done
 * @xas: the page-cache entry's state, holding the nodes xas_split_alloc() got
 * @pages: as given to hugetlb_restructuring_prepare_split()
 * @index: the folio's index in @pages
 * @folio: the folio, frozen while the split is prepared
 * @opts: a copy of the options
 * @pfn: the folio's first pfn
 * @order: its order
 * @at_pfn: the pfn the caller's references follow
 * @expected: the count the folio was frozen at
 * @restored: HVO was undone by the preparation (the cancel redoes it)
 * @piece: @folio is a piece of a split page (no metadata record of its own)
 * @small: a copy of @opts.small (bit k: piece k goes on to order 0)
 * @small_xas: the page-cache nodes those pieces' entries split into
 * @nr_small: how many bits @small has set
 *
 * The caller's storage; only this file reads the fields.
 */
struct hugetlb_split_prep {
	struct xa_state xas;
	struct xarray *pages;
	pgoff_t index;
	struct folio *folio;
	struct hugetlb_split_opts opts;
	unsigned long pfn;
	unsigned int order;
	unsigned long at_pfn;
	int expected;
	bool restored;
	bool piece;
	unsigned long small[HUGETLB_SPLIT_SMALL_MAX / (8 * sizeof(unsigned long))];
	struct xa_state small_xas;
	unsigned int nr_small;
};

/**
 * hugetlb_restructuring_prepare_split() - every fallible step of a split, nothing visible
 * @prep: where the prepared split is kept until the commit or the cancel
 * @pages: as for hugetlb_restructuring_split_folio()
 * @index: as for hugetlb_restructuring_split_folio()
 * @folio: as for hugetlb_restructuring_split_folio()
 * @opts: as for hugetlb_restructuring_split_folio(); copied
 *
 * The first half of hugetlb_restructuring_split_folio(), for callers that
 * must prepare several splits (and other fallible work) before any of them
 * happens, as guest_memfd's planned conversion does (spec P37): the checks,
 * xas_split_alloc(), the freeze, the metadata record and the HVO restore.
 * On success the folio is frozen and still whole, in the page cache as
 * before; the caller must then call hugetlb_restructuring_commit_split() or
 * hugetlb_restructuring_cancel_split() on @prep, with nothing in between
 * that looks at the folio's references or struct pages.
 *
 * Context: process context; folio locked (not checked).
 * Return: as hugetlb_restructuring_split_folio(); on error nothing changed
 * and @prep needs nothing more.
 */
GS_API int hugetlb_restructuring_prepare_split(struct hugetlb_split_prep *prep,
					       struct xarray *pages, pgoff_t index,
					       struct folio *folio,
					       const struct hugetlb_split_opts *opts);

/**
 * hugetlb_restructuring_commit_split() - do a prepared split; cannot fail
 * @prep: a split hugetlb_restructuring_prepare_split() prepared
 *
 * The second half of hugetlb_restructuring_split_folio(): past its point
 * of no return.
 *
 * Context: process context.
 */
GS_API void hugetlb_restructuring_commit_split(struct hugetlb_split_prep *prep);

/**
 * hugetlb_restructuring_cancel_split() - undo a prepared split exactly; cannot fail
 * @prep: a split hugetlb_restructuring_prepare_split() prepared
 *
 * HVO optimized again without allocating (hugetlb_vmemmap_cancel_restore()),
 * the metadata record forgotten, the folio unfrozen, the XArray nodes freed:
 * every counter and snapshot as before the preparation. Counted as a failed
 * split.
 *
 * Context: process context.
 */
GS_API void hugetlb_restructuring_cancel_split(struct hugetlb_split_prep *prep);

/**
 * hugetlb_restructuring_can_merge() - may the pieces of a split page merge now?
 * @pages: the page cache holding the pieces, or NULL
 * @pfn: any pfn of the split huge page
 * @held: the piece the caller holds @extra_refs references on (or NULL)
 * @extra_refs: those references
 *
 * Every piece must be unmapped and hold only its page-cache references
 * (plus the caller's). Pieces kept HVO-optimized are fine: the merge's
 * preparation restores them.
 *
 * Context: process context.
 * Return: 0, -EINVAL (no split page there), -EBUSY (a piece is mapped),
 * -EAGAIN (a piece holds other references).
 */
GS_API int hugetlb_restructuring_can_merge(struct xarray *pages, unsigned long pfn,
					   struct folio *held, int extra_refs);

/**
 * hugetlb_restructuring_prepare_merge() - the merge's only fallible step
 * @pfn: any pfn of the split huge page
 *
 * Pieces kept optimized (split with @keep_hvo) need their struct pages back
 * before they can be one folio; pieces of the kernel's order-0 split need
 * nothing. All or nothing.
 *
 * Context: process context.
 * Return: 0, -EINVAL (no split page there), -ENOMEM (nothing changed).
 */
GS_API int hugetlb_restructuring_prepare_merge(unsigned long pfn);

/**
 * hugetlb_restructuring_prepare_merge_nofail() - the preparation on a path that cannot fail
 * @pfn: any pfn of the split huge page
 *
 * hugetlb_restructuring_prepare_merge() with the struct pages taken as
 * memory the caller cannot do without (hugetlb_vmemmap_restore_folio_nofail()):
 * for eviction and undo, which merge a split page before they free it and
 * must end in the same state whatever an allocation does.
 *
 * Context: process context.
 * Return: 0, -EINVAL (no split page there), -ENOMEM (the host refused).
 */
GS_API int hugetlb_restructuring_prepare_merge_nofail(unsigned long pfn);

/**
 * hugetlb_restructuring_cancel_merge() - undo hugetlb_restructuring_prepare_merge() exactly
 * @pfn: any pfn of the split huge page
 *
 * For callers whose merge does not happen after all (a later step of their
 * preparation failed): the pieces the preparation restored are optimized
 * again without allocating (hugetlb_vmemmap_cancel_restore()). Cannot fail.
 *
 * Context: process context.
 */
GS_API void hugetlb_restructuring_cancel_merge(unsigned long pfn);

/**
 * hugetlb_restructuring_can_merge_piece() - may the pieces of [@pfn, +2^@order) merge to one piece?
 * @pages: the page cache holding the pieces
 * @pfn: the first pfn of the range, aligned to 2^@order, inside a split page
 * @order: the piece's order, below the split page's (9 in a 1 GiB page)
 *
 * The intermediate merge: 4 KiB pieces back to a 2 MiB piece while the rest
 * of the 1 GiB page stays split. Every piece of the range must be smaller,
 * unmapped and hold only its page-cache references.
 *
 * Context: process context.
 * Return: 0, -EINVAL (no split page or bad range), -EBUSY, -EAGAIN.
 */
GS_API int hugetlb_restructuring_can_merge_piece(struct xarray *pages, unsigned long pfn,
						 unsigned int order);

/**
 * hugetlb_restructuring_merge_piece() - merge the pieces of a range into one piece
 * @pages: the page cache holding the pieces
 * @reserve: page-cache nodes reserved for the store (as for
 *           hugetlb_restructuring_merge_folio_reserved()), or NULL
 * @pfn: as hugetlb_restructuring_can_merge_piece()
 * @order: as hugetlb_restructuring_can_merge_piece()
 *
 * Past the caller's point of no return, after
 * hugetlb_restructuring_can_merge_piece() said yes: the pieces are frozen
 * and rebuilt as one needs-merge piece, their entries replaced by one of
 * @order, and HVO redone on the piece (best effort, as after any merge).
 *
 * Context: process context; pieces locked (not checked).
 * Return: the merged piece, or NULL after a WARN (nothing changed).
 */
GS_API struct folio *hugetlb_restructuring_merge_piece(struct xarray *pages,
						       struct xa_node **reserve, unsigned long pfn,
						       unsigned int order);

/**
 * hugetlb_restructuring_merge_folio() - merge a split page back, entry and HVO included
 * @pages: the page cache holding the pieces, or NULL
 * @pfn: any pfn of the split huge page
 * @held: the piece the caller holds @extra_refs references on (or NULL)
 * @extra_refs: those references; they move to the merged folio
 *
 * The caller checked with hugetlb_restructuring_can_merge() and prepared
 * with hugetlb_restructuring_prepare_merge(); a failure now is a WARN.
 * Every piece is frozen, the folio rebuilt with its HugeTLB metadata, the
 * page-cache entries replaced by one of the huge order, HVO redone, and the
 * folio unfrozen with the page cache's references plus @extra_refs.
 *
 * Context: process context; pieces locked (not checked).
 * Return: the merged folio, or NULL after a WARN (nothing changed).
 */
GS_API struct folio *hugetlb_restructuring_merge_folio(struct xarray *pages, unsigned long pfn,
						       struct folio *held, int extra_refs);

/**
 * hugetlb_restructuring_merge_folio_reserved() - merge, the page-cache store's nodes reserved
 * @pages: the page cache holding the pieces, or NULL
 * @reserve: XArray nodes reserved for the store (gs_xas_topup() on @pages,
 *           linked through ->parent); the store takes what it needs and
 *           leaves the rest. NULL: none.
 * @pfn: any pfn of the split huge page
 * @held: the piece the caller holds @extra_refs references on (or NULL)
 * @extra_refs: those references; they move to the merged folio
 *
 * hugetlb_restructuring_merge_folio() for callers past their point of no
 * return: replacing the pieces' entries by one of the huge order needs a
 * node when a truncation shrank the tree to the pieces' subtree
 * (gs_xa_store_order_nodes()), and that node must have been allocated
 * before. A merge whose store would need more than @reserve holds WARNs
 * and changes nothing.
 *
 * Context: process context; pieces locked (not checked).
 * Return: the merged folio, or NULL after a WARN (nothing changed).
 */
GS_API struct folio *hugetlb_restructuring_merge_folio_reserved(struct xarray *pages,
								struct xa_node **reserve,
								unsigned long pfn,
								struct folio *held, int extra_refs);

/**
 * hugetlb_restructuring_free_folio() - a piece of a split page lost its last reference
 * @folio: the piece, refcount 0
 *
 * The free hook of needs-merge folios (installed by this file): the piece
 * is counted in its page's nr_pages_waiting_to_be_merged; the last one puts
 * the page on the deferred-merge queue.
 *
 * Context: any.
 */
GS_API void hugetlb_restructuring_free_folio(struct folio *folio);

/**
 * hugetlb_restructuring_run_deferred() - run the deferred-merge worker once
 *
 * Merges every queued page (all its pieces free), redoes HVO and gives it
 * back to HugeTLB (free_huge_folio(): subpool, pool, cgroup).
 *
 * Context: process context (the kernel's worker).
 * Return: the number of huge pages merged and freed.
 */
GS_API unsigned long hugetlb_restructuring_run_deferred(void);

/**
 * struct gs_restructuring_stats - counters
 * @splits: successful splits
 * @merges: successful merges (explicit and deferred)
 * @failed_splits: splits that failed (nothing changed)
 * @unexpected_refs: freezes that found unexpected references (each WARNed)
 * @queued: huge pages waiting on the deferred-merge queue
 * @waiting_pages: pieces' pages counted in nr_pages_waiting_to_be_merged
 * @deferred_merges: pages the worker merged and freed
 */
struct gs_restructuring_stats {
	unsigned long splits;
	unsigned long merges;
	unsigned long failed_splits;
	unsigned long unexpected_refs;
	unsigned long queued;
	unsigned long waiting_pages;
	unsigned long deferred_merges;
};

GS_API void gs_restructuring_stats(struct gs_restructuring_stats *out);

#endif /* GMEMSIM_HUGETLB_RESTRUCTURING_H */
