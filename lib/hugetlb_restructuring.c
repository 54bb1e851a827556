// SPDX-License-Identifier: MIT
/*
 * Split and merge of HugeTLB folios in a page cache (see
 * <gmemsim/hugetlb_restructuring.h>), modelled on mm/hugetlb_restructuring.c
 * of the guest_memfd HugeTLB WIP branch, with what its review asked for:
 * every failure before the point of no return (XArray preallocation,
 * freeze, metadata, HVO restore) leaves the folio as it was; an unexpected
 * reference is a WARN and -EAGAIN, not a spin; pieces freed one by one are
 * merged by a deferred worker that callers run explicitly.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/list.h>
#include <gmemsim/state.h>
#include <gmemsim/trace.h>
#include <gmemsim/xarray.h>
#include <gmemsim/internal/metrics_int.h>

/* Pieces whose last reference is gone, oldest first: the worker's queue. */
static LIST_HEAD(deferred_pieces);
static struct gs_restructuring_stats stats;

static const struct hugetlb_split_opts default_opts = {.extra_refs = 1};

/* References a piece (or whole folio) holds when nobody but the page cache uses it. */
static int cache_refs(const struct xarray *pages, const struct folio *folio)
{
	return pages ? (int)folio_nr_pages(folio) : 0;
}

/*
 * The freeze of a folio the caller believes only the page cache and it
 * hold. The kernel spins here with a WARN; a simulator that spun would
 * hang, and the reference cannot go away by itself, so it gives up.
 */
static bool restructuring_freeze(struct folio *folio, int expected)
{
	if (folio_ref_freeze(folio, expected))
		return true;
	stats.unexpected_refs++;
	WARN(1, "folio at pfn 0x%lx has %d references, %d expected", folio_pfn(folio),
	     folio_ref_count(folio), expected);
	return false;
}

/* --- split --- */

static struct hugetlb_folio_meta *split_page(unsigned long pfn);

/* The struct page at @pfn as a folio, whatever it holds now (a piece not built yet). */
static struct folio *pfn_folio_raw(unsigned long pfn)
{
	return (struct folio *)pfn_to_page(pfn);
}

/* Undo HVO as the split needs it; all or nothing. */
static int split_restore_vmemmap(struct folio *folio, const struct hugetlb_split_opts *opts)
{
	int ret;

	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	if (opts->keep_hvo)
		return hugetlb_vmemmap_prepare_split(folio, opts->new_order);
	if (opts->prealloc) {
		ret = hugetlb_vmemmap_prealloc(folio);
		if (ret)
			return ret;
	}
	/* The split writes every struct page next: the restore need not. */
	return hugetlb_vmemmap_restore_for_split(folio);
}

/* Forget the metadata record of a split that did not happen; the folio keeps its flags. */
static void split_forget_meta(struct folio *folio)
{
	void *priv = folio->private;

	WARN_ON_ONCE(!hugetlb_meta_restore(folio));
	folio->private = priv;
}

/* HVO back as it was before split_restore_vmemmap(); cannot fail. */
static void split_undo_vmemmap(struct hugetlb_split_prep *p)
{
	if (!p->restored)
		return;
	if (p->opts.keep_hvo)
		hugetlb_vmemmap_cancel_split(p->folio, p->opts.new_order);
	else
		hugetlb_vmemmap_cancel_restore(p->folio);
}

static bool small_bit(const unsigned long *map, unsigned long k)
{
	return map[k / BITS_PER_LONG] & (1UL << (k % BITS_PER_LONG));
}

/* The first pfn of piece @k of the split. */
static unsigned long small_pfn(const struct hugetlb_split_prep *p, unsigned long k)
{
	return p->pfn + (k << p->opts.new_order);
}

static unsigned long nr_pieces(const struct hugetlb_split_prep *p)
{
	return 1UL << (p->order - p->opts.new_order);
}

/* Give back what split_prepare_small() took for pieces [0, @upto). */
static void split_unprepare_small(struct hugetlb_split_prep *p, unsigned long upto)
{
	for (unsigned long k = 0; p->opts.small && k < upto; k++)
		if (small_bit(p->small, k) && p->restored)
			hugetlb_vmemmap_prealloc_release(pfn_folio_raw(small_pfn(p, k)));
	xas_destroy(&p->small_xas);
}

/*
 * The pieces that go on to order 0 in the same split: their entries' nodes
 * and, when HVO is kept, the struct pages of their restore, both needed
 * past the point of no return, so taken now.
 */
static int split_prepare_small(struct hugetlb_split_prep *p)
{
	XA_STATE_ORDER(xas, p->pages, p->index, 0);
	unsigned long k;

	p->small_xas = xas;
	if (!p->opts.small)
		return 0;
	for (k = 0; k < nr_pieces(p); k++) {
		if (!small_bit(p->small, k))
			continue;
		xas_split_alloc(&p->small_xas, pfn_to_page(small_pfn(p, k)), p->opts.new_order,
				GFP_KERNEL);
		if (xas_error(&p->small_xas) ||
		    (p->restored &&
		     hugetlb_vmemmap_prealloc_pfn(small_pfn(p, k), p->opts.new_order)))
			break;
	}
	if (k == nr_pieces(p))
		return 0;
	split_unprepare_small(p, k);
	return -ENOMEM;
}

/* Every fallible step, in order; on failure everything is as it was. */
static int split_prepare(struct hugetlb_split_prep *p)
{
	struct xa_state *xas = p->pages ? &p->xas : NULL;
	struct folio *folio = p->folio;
	int ret;

	if (xas) {
		xas_split_alloc(xas, folio, folio_order(folio), GFP_KERNEL);
		ret = xas_error(xas);
		if (ret)
			return ret;
	}
	ret = -EAGAIN;
	if (!restructuring_freeze(folio, p->expected))
		goto out_xas;
	/* A piece of a split page has the page's record already. */
	ret = p->piece ? 0 : hugetlb_meta_save(folio, GFP_KERNEL);
	if (ret)
		goto out_unfreeze;
	p->restored = folio_test_hugetlb_vmemmap_optimized(folio);
	ret = split_restore_vmemmap(folio, &p->opts);
	if (!ret) {
		ret = split_prepare_small(p);
		if (!ret)
			return 0;
		split_undo_vmemmap(p);
	}
	if (!p->piece)
		split_forget_meta(folio);
out_unfreeze:
	folio_ref_unfreeze(folio, p->expected);
out_xas:
	if (xas)
		xas_destroy(xas);
	return ret;
}

/* split_prepare() undone step by step, newest first: HVO back exactly as it was. */
static void split_unprepare(struct hugetlb_split_prep *p)
{
	split_unprepare_small(p, nr_pieces(p));
	split_undo_vmemmap(p);
	if (!p->piece)
		split_forget_meta(p->folio);
	folio_ref_unfreeze(p->folio, p->expected);
	if (p->pages)
		xas_destroy(&p->xas);
}

/* The pieces take the place of the folio in the page cache: one XArray split. */
static void split_store_entries(struct xa_state *xas, struct folio *folio, unsigned int order,
				unsigned long pfn, pgoff_t index)
{
	xas_lock(xas);
	xas_split(xas, folio, order);
	/* The pieces' struct pages, one per index from the folio's. */
	gs_xas_split_store_seq(xas, order, pfn_to_page(pfn), index, sizeof(struct page));
	xas_unlock(xas);
	xas_destroy(xas);
}

/* Whether the split writes the page cache's reference into each piece (order 0). */
static bool split_writes_refs(const struct xarray *pages, unsigned int new_order)
{
	return pages && !new_order;
}

/*
 * Give every piece its references; one left with none waits to be merged.
 * Order-0 pieces of a page cache have theirs from the split already.
 */
static void split_unfreeze(struct xarray *pages, unsigned long pfn, unsigned int order,
			   unsigned int new_order, unsigned long at_pfn, int extra_refs)
{
	unsigned long step = 1UL << new_order;
	int refs = pages ? (int)step : 0;

	if (refs && split_writes_refs(pages, new_order)) {
		folio_ref_add((struct folio *)pfn_to_page(at_pfn), extra_refs);
		return;
	}

	for (unsigned long p = pfn; p < pfn + (1UL << order); p += step) {
		struct folio *piece = (struct folio *)pfn_to_page(p);
		int n = refs + (at_pfn >= p && at_pfn < p + step ? extra_refs : 0);

		if (n)
			folio_set_count(piece, n);
		else
			hugetlb_restructuring_free_folio(piece);
	}
}

static int split_check(struct xarray *pages, pgoff_t index, struct folio *folio,
		       const struct hugetlb_split_opts *opts, unsigned long at_pfn)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio);

	if (opts->new_order >= order || opts->extra_refs < 0 || at_pfn < pfn ||
	    at_pfn >= pfn + (1UL << order))
		return -EINVAL;
	/* A whole HugeTLB folio, or a piece of a split one that goes on to 4 KiB. */
	if (folio_test_hugetlb(folio) == folio_test_needs_merge(folio))
		return -EINVAL;
	if (folio_test_needs_merge(folio) &&
	    (!pages || opts->new_order || opts->small || opts->prealloc || !split_page(pfn)))
		return -EINVAL;
	if (opts->small &&
	    (!pages || !opts->keep_hvo || opts->prealloc || order - opts->new_order > 9))
		return -EINVAL;
	if (opts->keep_hvo && !hugetlb_vmemmap_optimizable_pages(opts->new_order))
		return -EINVAL;
	/* The kernel splits only to order 0; optimized pieces are the other case. */
	if (opts->new_order && !opts->keep_hvo)
		return -EINVAL;
	/* A page-cache folio says so (mapping), and its references are counted by that. */
	if (pages && (!folio->mapping || xa_load(pages, index) != folio ||
		      xa_get_order(pages, index) != (int)order || folio->index != index))
		return -EINVAL;
	if (folio_mapped(folio))
		return -EBUSY;
	return 0;
}

static void split_trace(const struct hugetlb_split_prep *p, unsigned int order, int ret)
{
	gs_trace("restructuring.split", GS_TF_X("pfn", p->pfn), GS_TF_U("order", order),
		 GS_TF_U("new_order", p->opts.new_order), GS_TF_S("ret", ret));
}

int hugetlb_restructuring_prepare_split(struct hugetlb_split_prep *prep, struct xarray *pages,
					pgoff_t index, struct folio *folio,
					const struct hugetlb_split_opts *opts)
{
	int ret;

	*prep = (struct hugetlb_split_prep){.pages = pages,
					    .index = index,
					    .folio = folio,
					    .opts = opts ? *opts : default_opts};
	prep->pfn = folio_pfn(folio);
	prep->order = folio_order(folio);
	prep->at_pfn = prep->opts.at ? page_to_pfn(prep->opts.at) : prep->pfn;
	prep->piece = folio_test_needs_merge(folio);
	ret = split_check(pages, index, folio, &prep->opts, prep->at_pfn);
	if (!ret && prep->opts.small) {
		memcpy(prep->small, prep->opts.small,
		       BITS_TO_LONGS(nr_pieces(prep)) * sizeof(long));
		for (unsigned long k = 0; k < nr_pieces(prep); k++)
			prep->nr_small += small_bit(prep->small, k);
	}
	if (!ret) {
		XA_STATE_ORDER(xas, pages, index, prep->opts.new_order);

		prep->xas = xas;
		prep->expected = cache_refs(pages, folio) + prep->opts.extra_refs;
		ret = split_prepare(prep);
	}
	if (ret) {
		stats.failed_splits++;
		split_trace(prep, prep->order, ret);
	}
	return ret;
}

/*
 * Piece @k, just made, goes on to order 0 (past the point of no return):
 * its struct pages come from the preallocation, its entry's nodes from
 * split_prepare_small(); nothing can fail.
 */
static void split_commit_small_piece(struct hugetlb_split_prep *p, unsigned long k)
{
	unsigned int order = p->opts.new_order;
	unsigned long pfn = small_pfn(p, k), step = 1UL << order;
	bool holds = p->at_pfn >= pfn && p->at_pfn < pfn + step;
	pgoff_t index = p->index + (k << order);
	struct folio *piece = pfn_folio_raw(pfn);
	XA_STATE_ORDER(xas, p->pages, index, 0);

	WARN_ON_ONCE(!folio_ref_freeze(piece, (int)step + (holds ? p->opts.extra_refs : 0)));
	if (folio_test_hugetlb_vmemmap_optimized(piece))
		WARN_ON_ONCE(hugetlb_vmemmap_restore_for_split(piece));
	gs_split_folio_to_pages(piece, 1);
	xas.xa_alloc = p->small_xas.xa_alloc;
	xas_lock(&xas);
	xas_split(&xas, piece, order);
	gs_xas_split_store_seq(&xas, order, pfn_to_page(pfn), index, sizeof(struct page));
	xas_unlock(&xas);
	p->small_xas.xa_alloc = xas.xa_alloc;
	if (holds && p->opts.extra_refs)
		folio_ref_add(pfn_folio_raw(p->at_pfn), p->opts.extra_refs);
	gs_metrics_split(order, 0);
}

void hugetlb_restructuring_commit_split(struct hugetlb_split_prep *prep)
{
	struct folio *folio = prep->folio;

	/* The point of no return: nothing below can fail. */
	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, hugetlb_restructuring_free_folio);
	if (split_writes_refs(prep->pages, prep->opts.new_order))
		gs_split_folio_to_pages(folio, 1);
	else
		__split_folio_to_order(folio, prep->opts.new_order);
	if (prep->pages)
		split_store_entries(&prep->xas, folio, prep->order, prep->pfn, prep->index);
	split_unfreeze(prep->pages, prep->pfn, prep->order, prep->opts.new_order, prep->at_pfn,
		       prep->opts.extra_refs);
	stats.splits++;
	gs_metrics_split(prep->order, prep->opts.new_order);
	for (unsigned long k = 0; prep->nr_small && k < nr_pieces(prep); k++)
		if (small_bit(prep->small, k))
			split_commit_small_piece(prep, k);
	stats.splits += prep->nr_small;
	xas_destroy(&prep->small_xas);
	split_trace(prep, prep->order, 0);
}

void hugetlb_restructuring_cancel_split(struct hugetlb_split_prep *prep)
{
	split_unprepare(prep);
	stats.failed_splits++;
	gs_trace("restructuring.split_cancel", GS_TF_X("pfn", prep->pfn),
		 GS_TF_U("order", prep->order));
}

int hugetlb_restructuring_split_folio(struct xarray *pages, pgoff_t index, struct folio *folio,
				      const struct hugetlb_split_opts *opts)
{
	struct hugetlb_split_prep prep;
	int ret = hugetlb_restructuring_prepare_split(&prep, pages, index, folio, opts);

	if (!ret)
		hugetlb_restructuring_commit_split(&prep);
	return ret;
}

/* --- merge --- */

/* The split page holding @pfn: its record, or NULL. */
static struct hugetlb_folio_meta *split_page(unsigned long pfn)
{
	return pfn_valid(pfn) ? hugetlb_meta_get(pfn) : NULL;
}

static int piece_expected(const struct xarray *pages, const struct folio *piece,
			  const struct folio *held, int extra_refs)
{
	return cache_refs(pages, piece) + (piece == held ? extra_refs : 0);
}

/*
 * Whether the four order-0 pieces from @p pass every test of
 * hugetlb_restructuring_can_merge()'s loop (a head of its own, of a split
 * page, not mapped, only the page cache's references: @counts is the
 * gs_page_counts() such a piece has), none of them @held: the four pieces'
 * words combined, one branch for the group instead of several per piece.
 * A group that fails any test is walked piece by piece, so the first
 * failing piece answers as before.
 */
static __always_inline bool small_pieces_merge4(const struct folio *p, const struct folio *held,
						uint64_t counts)
{
	const unsigned long want = 1UL << PG_needs_merge, head = 1UL << PG_head;
	const struct page *q = &p->page;
	struct gs_pieces4 g;

	if ((uintptr_t)held - (uintptr_t)q < 4 * sizeof(*q))
		return false;
	/* gs_head_pfn_folio(): a head's first word is set and not a tail's (g.not_heads). */
	gs_pieces4_read(q, NULL, false, counts, &g);
	/* PG_needs_merge in all four, PG_head (a piece larger than order 0) in none */
	return !((g.f_or & head) | (~g.f_and & want) | g.not_heads | g.other);
}

int hugetlb_restructuring_can_merge(struct xarray *pages, unsigned long pfn, struct folio *held,
				    int extra_refs)
{
	const struct hugetlb_folio_meta *m = split_page(pfn);
	struct folio *piece, *end;
	unsigned long info;
	uint64_t small_counts;
	struct page small;

	if (!m || extra_refs < 0)
		return -EINVAL;
	/* The pieces' struct pages are one array: walked by pointer, not looked up by pfn. */
	piece = (struct folio *)pfn_to_page(m->pfn);
	end = (struct folio *)pfn_to_page(m->pfn + (1UL << m->order));
	/* An order-0 piece not mapped (_mapcount -1), with cache_refs()' references. */
	atomic_set(&small._mapcount, -1);
	atomic_set(&small._refcount, pages ? 1 : 0);
	small_counts = gs_page_counts(&small);
	while (piece < end) {
		/* Most split pages are all order-0 pieces: four of them at a time. */
		while (&end->page - &piece->page >= 4 &&
		       small_pieces_merge4(piece, held, small_counts))
			piece = (struct folio *)(&piece->page + 4);
		if (piece >= end)
			break;
		info = piece->page.compound_info;

		/* gs_head_pfn_folio(): a head answers for itself. */
		if ((!info || (info & GS_PAGE_TAIL)) && page_folio(&piece->page) != piece)
			return -EINVAL;
		if (!folio_test_needs_merge(piece))
			return -EINVAL;
		if (folio_mapped(piece))
			return -EBUSY;
		if (folio_ref_count(piece) != piece_expected(pages, piece, held, extra_refs))
			return -EAGAIN;
		piece = (struct folio *)(&piece->page + folio_nr_pages(piece));
	}
	return 0;
}

/* The bit of m->hvo_restored for the piece at @q: one per smallest optimizable piece. */
#define HVO_PIECE_SHIFT 7

static void restored_mark(struct hugetlb_folio_meta *m, unsigned long q, bool set)
{
	unsigned long b = (q - m->pfn) >> HVO_PIECE_SHIFT, mask = 1UL << (b % BITS_PER_LONG);

	if (set)
		m->hvo_restored[b / BITS_PER_LONG] |= mask;
	else
		m->hvo_restored[b / BITS_PER_LONG] &= ~mask;
}

static bool restored_test(const struct hugetlb_folio_meta *m, unsigned long q)
{
	unsigned long b = (q - m->pfn) >> HVO_PIECE_SHIFT;

	return m->hvo_restored[b / BITS_PER_LONG] & (1UL << (b % BITS_PER_LONG));
}

void hugetlb_restructuring_cancel_merge(unsigned long pfn)
{
	struct hugetlb_folio_meta *m = split_page(pfn);
	unsigned long end;

	if (!m)
		return;
	end = m->pfn + (1UL << m->order);
	for (unsigned long q = m->pfn; q < end; q += folio_nr_pages(gs_head_pfn_folio(q))) {
		if (!restored_test(m, q))
			continue;
		/* Frees only: the struct pages the restore allocated go back. */
		hugetlb_vmemmap_cancel_restore(gs_head_pfn_folio(q));
		restored_mark(m, q, false);
	}
}

static int prepare_merge(unsigned long pfn, bool nofail)
{
	struct hugetlb_folio_meta *m = split_page(pfn);
	struct page *start, *end;
	unsigned long nr;
	int ret;

	if (!m)
		return -EINVAL;
	/*
	 * The pieces' struct pages are one array, walked by pointer with
	 * gs_head_pfn_folio()'s answer for the page the walk is at. Only a
	 * folio of HVO_PIECE_SHIFT's order or more is ever optimized
	 * (hugetlb_vmemmap_optimizable_pages() is 0 below it, and every place
	 * that sets the flag asks it or takes back a page optimized before),
	 * and pieces are naturally aligned: such a piece starts where a block
	 * of that order does. So after a smaller piece at a block's start the
	 * walk goes on at the next block (the restore bitmap already keeps one
	 * bit a block): a split 2 MiB page is 4 steps instead of 512.
	 * merge_freeze() still WARNs about any optimized piece, of any order,
	 * that is left.
	 */
	start = pfn_to_page(m->pfn);
	end = start + (1UL << m->order);
	for (struct page *page = start; page < end;
	     page += max_t(unsigned long, nr, 1UL << HVO_PIECE_SHIFT)) {
		unsigned long info = page->compound_info;
		struct folio *piece = (struct folio *)page;

		if (!info || (info & GS_PAGE_TAIL))
			piece = page_folio(page);
		nr = folio_nr_pages(piece);
		if (!folio_test_hugetlb_vmemmap_optimized(piece))
			continue;
		ret = nofail ? hugetlb_vmemmap_restore_folio_nofail(piece)
			     : hugetlb_vmemmap_restore_folio(piece);
		if (ret) {
			hugetlb_restructuring_cancel_merge(pfn);
			return ret;
		}
		restored_mark(m, m->pfn + (unsigned long)(page - start), true);
	}
	return 0;
}

int hugetlb_restructuring_prepare_merge(unsigned long pfn)
{
	return prepare_merge(pfn, false);
}

int hugetlb_restructuring_prepare_merge_nofail(unsigned long pfn)
{
	return prepare_merge(pfn, true);
}

/*
 * Pieces queued by their free hook leave the queue before an explicit merge
 * overwrites their struct pages (or, @requeue, go back on it when the merge
 * did not happen). Returns how many.
 */
static unsigned long unqueue_pieces(unsigned long pfn, unsigned long end, bool requeue)
{
	unsigned long n = 0;

	for (unsigned long q = pfn; q < end; q += folio_nr_pages(gs_head_pfn_folio(q))) {
		struct folio *piece = gs_head_pfn_folio(q);

		if (folio_ref_count(piece))
			continue;
		if (requeue) {
			list_add_tail(&piece->lru, &deferred_pieces);
			stats.queued++;
			n++;
		} else if (!list_empty(&piece->lru)) {
			list_del_init(&piece->lru);
			stats.queued--;
			n++;
		}
	}
	return n;
}

/*
 * One entry of the huge order replaces the pieces' entries. Nodes only go,
 * unless a truncation shrank the tree to the height of the pieces' subtree:
 * a multi-index entry is never the head, so the tree grows a level again.
 * The node for that comes from @reserve (taken before the point of no
 * return, kvm_gmem_prepare_merge()); a store that still needs one fails
 * with nothing changed, and so does the merge.
 */
static int merge_store_entry(struct xarray *pages, struct folio *first, unsigned int order,
			     struct xa_node **reserve)
{
	XA_STATE_ORDER(xas, pages, first->index, order);
	int err;

	if (reserve)
		xas.xa_alloc = *reserve;
	xas_lock(&xas);
	xas_store(&xas, first);
	xas_unlock(&xas);
	err = xas_error(&xas);
	if (reserve)
		*reserve = xas.xa_alloc;
	return err;
}

/*
 * Tails the merge must write: with HVO about to drop all but the first
 * vmemmap page, only that page's (merge_optimize() writes the rest if HVO
 * does not happen after all).
 */
static unsigned long merge_tails_upto(unsigned int order)
{
	if (gs_hvo_enabled() && hugetlb_vmemmap_optimizable_pages(order))
		return HUGETLB_VMEMMAP_RESERVE_PAGES;
	return ~0UL;
}

/* HVO again, as the kernel's merge does; an optimization, so best effort. */
static void merge_optimize(struct folio *folio, int refs)
{
	/* Frozen: nobody holds the folio, as HVO wants. */
	if (!refs || folio_ref_freeze(folio, refs)) {
		hugetlb_vmemmap_optimize_folio(folio);
		if (refs)
			folio_ref_unfreeze(folio, refs);
	}
	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		gs_folio_write_tails(folio, HUGETLB_VMEMMAP_RESERVE_PAGES, folio_nr_pages(folio));
}

/* Does the store of the merged entry need more nodes than @reserve holds? */
static bool merge_store_short(struct xarray *pages, const struct folio *first, unsigned int order,
			      struct xa_node *const *reserve)
{
	return gs_xa_store_order_nodes(pages, first->index, order) > gs_xa_reserve_len(reserve);
}

/*
 * The end of a merge, past every check: the merged folio goes into the page
 * cache (cannot fail: the nodes it needs were counted or reserved before),
 * HVO optimizes it again, and the counters and the trace see it.
 */
static struct folio *merge_done(struct xarray *pages, struct xa_node **reserve, unsigned long pfn,
				unsigned int order, int refs, const char *event)
{
	struct folio *folio = pfn_folio_raw(pfn);

	if (pages)
		WARN_ON_ONCE(merge_store_entry(pages, folio, order, reserve));
	merge_optimize(folio, refs);
	stats.merges++;
	gs_metrics_merge(order);
	gs_trace(event, GS_TF_X("pfn", pfn), GS_TF_U("order", order));
	return folio;
}

struct folio *hugetlb_restructuring_merge_folio(struct xarray *pages, unsigned long pfn,
						struct folio *held, int extra_refs)
{
	return hugetlb_restructuring_merge_folio_reserved(pages, NULL, pfn, held, extra_refs);
}

struct folio *hugetlb_restructuring_merge_folio_reserved(struct xarray *pages,
							 struct xa_node **reserve,
							 unsigned long pfn, struct folio *held,
							 int extra_refs)
{
	const struct hugetlb_folio_meta *m = split_page(pfn);
	unsigned long start, waiting, unqueued = 0;
	struct folio *first;
	unsigned int order;
	int refs;

	if (WARN(!m || extra_refs < 0 || (held && !folio_test_needs_merge(held)),
		 "merge of pfn 0x%lx not possible: callers check first", pfn))
		return NULL;
	start = m->pfn;
	order = m->order;
	waiting = m->nr_pages_waiting_to_be_merged; /* the record goes with the merge */
	first = pfn_folio(start);
	if (WARN(pages && merge_store_short(pages, first, order, reserve),
		 "merge of pfn 0x%lx needs a page-cache node: callers reserve first", pfn))
		return NULL;
	/* Pieces on the queue (in no page cache, free) are taken by this merge instead. */
	if (!pages && stats.queued)
		unqueued = unqueue_pieces(start, start + (1UL << order), false);
	/* folio_merge() counts the caller's references on the first piece. */
	if (held && held != first && extra_refs) {
		folio_ref_sub_and_test(held, extra_refs);
		folio_ref_add(first, extra_refs);
	}
	/* It checks every piece as it freezes it, and on failure changes nothing. */
	refs = __folio_merge(first, order, held ? extra_refs : 0, merge_tails_upto(order));
	if (WARN(refs < 0, "merge of pfn 0x%lx failed (%d): callers check first", pfn, refs)) {
		if (held && held != first && extra_refs) {
			folio_ref_sub_and_test(first, extra_refs);
			folio_ref_add(held, extra_refs);
		}
		if (unqueued)
			unqueue_pieces(start, start + (1UL << order), true);
		return NULL;
	}
	stats.waiting_pages -= waiting;
	return merge_done(pages, reserve, start, order, refs, "restructuring.merge");
}

/* --- intermediate merge: pieces of a split page into a larger piece --- */

int hugetlb_restructuring_can_merge_piece(struct xarray *pages, unsigned long pfn,
					  unsigned int order)
{
	const struct hugetlb_folio_meta *m = split_page(pfn);

	if (!m || !pages || !order || order >= m->order || !IS_ALIGNED(pfn, 1UL << order))
		return -EINVAL;
	for (unsigned long p = pfn; p < pfn + (1UL << order);) {
		struct folio *piece = pfn_folio_raw(p);

		if (gs_head_pfn_folio(p) != piece || !folio_test_needs_merge(piece) ||
		    folio_order(piece) >= order || !piece->mapping)
			return -EINVAL;
		if (folio_mapped(piece))
			return -EBUSY;
		if (folio_ref_count(piece) != cache_refs(pages, piece))
			return -EAGAIN;
		p += folio_nr_pages(piece);
	}
	return 0;
}

struct folio *hugetlb_restructuring_merge_piece(struct xarray *pages, struct xa_node **reserve,
						unsigned long pfn, unsigned int order)
{
	struct folio *first = pfn_folio_raw(pfn);
	int refs;

	if (WARN(hugetlb_restructuring_can_merge_piece(pages, pfn, order) ||
			 merge_store_short(pages, first, order, reserve),
		 "merge of the piece at pfn 0x%lx not possible: callers check first", pfn))
		return NULL;
	refs = gs_folio_merge_piece(first, order, merge_tails_upto(order));
	if (WARN(refs < 0, "merge of the piece at pfn 0x%lx failed (%d)", pfn, refs))
		return NULL;
	return merge_done(pages, reserve, pfn, order, refs, "restructuring.merge_piece");
}

/* --- deferred merge --- */

void hugetlb_restructuring_free_folio(struct folio *folio)
{
	/* The kernel links the piece through its mapping field; here through its lru. */
	list_add_tail(&folio->lru, &deferred_pieces);
	stats.queued++;
}

/*
 * Count a dequeued piece; the last one of its page merges it and frees it to
 * HugeTLB. *@last: the record the previous piece found (a page's pieces
 * mostly come one after the other), or NULL; a piece inside it needs no
 * lookup. Forgotten once a page is complete: its merge frees the record.
 */
static bool maybe_merge_unreferenced(struct folio *piece, struct hugetlb_folio_meta **last)
{
	unsigned long pfn = folio_pfn(piece), nr;
	struct hugetlb_folio_meta *m = *last;
	struct folio *folio;

	if (!m || pfn < m->pfn || pfn - m->pfn >= 1UL << m->order)
		m = *last = split_page(pfn);
	if (WARN(!m, "piece at pfn 0x%lx of no split huge page", pfn))
		return false;
	nr = folio_nr_pages(piece);
	m->nr_pages_waiting_to_be_merged += nr;
	stats.waiting_pages += nr;
	if (m->nr_pages_waiting_to_be_merged < 1UL << m->order)
		return false;
	*last = NULL;
	/* Pieces kept optimized get their struct pages back first; failing, they wait. */
	if (hugetlb_restructuring_prepare_merge(m->pfn)) {
		m->nr_pages_waiting_to_be_merged -= nr;
		stats.waiting_pages -= nr;
		list_add_tail(&piece->lru, &deferred_pieces);
		stats.queued++;
		return false;
	}
	folio = hugetlb_restructuring_merge_folio(NULL, m->pfn, NULL, 0);
	if (!folio)
		return false;
	/* __folio_put(): the merged page goes back to its subpool and pool. */
	folio_set_count(folio, 1);
	folio_put(folio);
	return true;
}

unsigned long hugetlb_restructuring_run_deferred(void)
{
	unsigned long merged = 0, budget = stats.queued;
	struct hugetlb_folio_meta *last = NULL;

	/* Only what was queued when the worker started: a retry waits for the next run. */
	while (budget-- && !list_empty(&deferred_pieces)) {
		struct folio *piece = list_first_entry(&deferred_pieces, struct folio, lru);

		list_del_init(&piece->lru);
		stats.queued--;
		piece->mapping = NULL;
		merged += maybe_merge_unreferenced(piece, &last);
	}
	stats.deferred_merges += merged;
	gs_trace("restructuring.deferred", GS_TF_U("merged", merged),
		 GS_TF_U("queued", stats.queued));
	return merged;
}

void gs_restructuring_stats(struct gs_restructuring_stats *out)
{
	*out = stats;
}

/* The state a failed operation must leave alone: the queue and the waiting pieces. */
static void restructuring_dump(struct gs_state *st, const char *path)
{
	gs_state_add_u64(st, path, "queued", stats.queued);
	gs_state_add_u64(st, path, "waiting_pages", stats.waiting_pages);
}

static struct gs_state_dumper restructuring_dumper = {.name = "restructuring",
						      .dump = restructuring_dump};
GS_STATE_DUMPER(restructuring_dumper)

__attribute__((constructor)) static void hugetlb_restructuring_init(void)
{
	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, hugetlb_restructuring_free_folio);
}
