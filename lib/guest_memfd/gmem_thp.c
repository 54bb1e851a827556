// SPDX-License-Identifier: MIT
/*
 * Best-effort PMD-sized folios for guest_memfd files without HugeTLB (the
 * thp backing of include/gmemsim/strategy.h): what the guest_memfd series
 * did with KVM_GUEST_MEMFD_ALLOW_HUGEPAGE before HugeTLB support (seeds 001
 * and 002). A new folio is order 9 when its aligned 2 MiB block lies wholly
 * in the file and holds no folio yet and the buddy allocator has a free
 * 2 MiB block (lib/page_alloc.c), else order 0: no huge mapping is promised.
 * Such a folio is split, never merged back: a conversion to shared splits
 * each it touches that has a private page (split_huge_page(), -EAGAIN
 * while a page is referenced beyond the page cache; to private splits
 * nothing), a punch splits the folios across its edges and,
 * as truncate_inode_partial_folio() does when that split fails, zeroes
 * their part instead. No kernel code is copied; the kernel's shmem and
 * filemap THP paths are the model.
 *
 * Sits above gmem_truncate.c (host unmaps) and below gmem.c, gmem_falloc.c
 * and the conversion files, which call in here.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/strategy.h>
#include <gmemsim/trace.h>

#include <gmemsim/internal/gmem_int.h>
#include <gmemsim/internal/metrics_int.h>
#include <gmemsim/internal/page_alloc.h>

#define THP_ORDER 9
#define THP_NR	  (1UL << THP_ORDER)

/* The shareability entry all of [start, end) has, or NULL when it has two. */
static void *thp_kind(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	MA_STATE(mas, &inode->shareability, start, start);
	void *first = NULL, *entry;

	mas_for_each (&mas, entry, end - 1) {
		if (first && entry != first)
			return NULL;
		first = entry;
	}
	return first;
}

/* The block at @base is wholly in the file, of one shareability, and has no folio yet. */
static bool thp_block_free(struct gmem_inode *inode, pgoff_t base)
{
	unsigned long index = base;

	if (base + THP_NR > gmem_nr_pages(inode))
		return false;
	if (xa_find(&inode->filemap, &index, base + THP_NR - 1, XA_PRESENT))
		return false;
	return thp_kind(inode, base, base + THP_NR) != NULL;
}

/* Preallocation (the strategy's alloc_order): may a new folio at @b be 2 MiB? */
static bool thp_wanted(struct gmem_inode *inode, pgoff_t index, pgoff_t b)
{
	struct gs_strategy_alloc alloc = {
		.ino = inode->ino,
		.index = index,
		.base = b,
		.fallocate = inode->preallocating,
	};

	return thp_block_free(inode, b) &&
	       gmem_strategy_alloc_order(inode->strategy, &alloc) == THP_ORDER;
}

struct folio *kvm_gmem_thp_alloc(struct gmem_inode *inode, pgoff_t index, pgoff_t *base)
{
	pgoff_t b = ALIGN_DOWN(index, THP_NR);
	struct folio *folio = NULL;
	nodemask_t mask;
	int nid;

	/* The file's memory policy places both sizes (a 2 MiB folio interleaves as one). */
	gs_mpol_nodes(mpol_shared_policy_lookup(&inode->policy, b), b / THP_NR, &nid, &mask);
	if (thp_wanted(inode, index, b))
		folio = gs_folio_alloc_thp_node(GFP_KERNEL, nid, mask);
	if (folio) {
		*base = b;
		return folio;
	}
	gs_trace("gmem.thp_fallback", GS_TF_U("ino", inode->ino), GS_TF_X("index", index));
	*base = index;
	gs_mpol_nodes(mpol_shared_policy_lookup(&inode->policy, index), index, &nid, &mask);
	return gs_folio_alloc_order0_node(GFP_KERNEL, nid, mask);
}

/* The order-0 piece at @index, once the THP starting at @arg's page is split. */
static void *piece_at(unsigned long index, void *arg)
{
	const struct folio *head = arg;

	return pfn_to_page(folio_pfn(head) + (index - head->index));
}

/* can_split_folio(): nobody but the page cache and the host's mappings holds it. */
static bool thp_can_split(struct folio *folio)
{
	return folio_ref_count(folio) == (int)folio_nr_pages(folio) + folio_mapcount(folio);
}

/*
 * The split itself, the page cache's node in @xas already allocated: the
 * host's mappings go (unmap_folio(); a refault maps 4 KiB pages), the folio
 * is split and each piece takes its own entry. Cannot fail after
 * thp_can_split().
 */
static void thp_split_prepared(struct gmem_inode *inode, struct folio *folio, struct xa_state *xas)
{
	pgoff_t index = folio->index;

	kvm_gmem_unmap_host(inode, index, index + folio_nr_pages(folio));
	if (WARN_ON_ONCE(folio_split_refs(folio, 0, NULL, GS_SPLIT_UNIFORM, 0)))
		return;
	xas_lock(xas);
	xas_split(xas, folio, THP_ORDER);
	gs_xas_split_store(xas, THP_ORDER, piece_at, folio);
	xas_unlock(xas);
	gs_metrics_split(THP_ORDER, 0);
	gs_page_alloc_thp_split();
	gs_trace("gmem.thp_split", GS_TF_U("ino", inode->ino), GS_TF_X("index", index));
}

int kvm_gmem_thp_split(struct gmem_inode *inode, struct folio *folio)
{
	XA_STATE_ORDER(xas, &inode->filemap, folio->index, 0);
	int err;

	if (!thp_can_split(folio))
		return -EAGAIN;
	xas_split_alloc(&xas, folio, THP_ORDER, GFP_KERNEL);
	err = xas_error(&xas);
	if (!err)
		thp_split_prepared(inode, folio, &xas);
	xas_destroy(&xas);
	return err;
}

/* The THP holding @index, or NULL. */
static struct folio *thp_at(struct gmem_inode *inode, pgoff_t index)
{
	struct folio *folio = xa_load(&inode->filemap, index);

	return folio && folio_order(folio) ? folio : NULL;
}

int kvm_gmem_thp_split_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
			     pgoff_t *err_index, bool *partial)
{
	void *want = xa_mk_value(to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL);
	unsigned long index;
	struct folio *folio;
	int err;

	/*
	 * To private splits nothing: a part-private THP is mapped at 4 KiB
	 * (KVM sees mixed attributes; get_pfn's max_order is 0 there).
	 */
	if (!inode->thp || to_private)
		return 0;
	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		/* Shared pages are 4 KiB (as P25's): split each THP that still has a private page. */
		if (!folio_order(folio) ||
		    thp_kind(inode, folio->index, folio->index + folio_nr_pages(folio)) == want)
			continue;
		err = kvm_gmem_thp_split(inode, folio);
		if (err) {
			*err_index = folio->index > start ? folio->index : start;
			return err;
		}
		*partial = true;
	}
	return 0;
}

/* truncate_inode_partial_folio() when the split fails: zero the part, keep the folio. */
static void thp_zero_part(struct folio *folio, pgoff_t start, pgoff_t end)
{
	pgoff_t first = folio->index > start ? folio->index : start;
	pgoff_t last = folio->index + folio_nr_pages(folio) < end
			       ? folio->index + folio_nr_pages(folio)
			       : end;
	char *data = folio_address(folio);

	if (data && folio_test_uptodate(folio))
		memset(data + ((first - folio->index) << PAGE_SHIFT), 0,
		       (last - first) << PAGE_SHIFT);
}

/* The THP holding @edge when it reaches out of [start, end), or NULL. */
static struct folio *thp_across(struct gmem_inode *inode, pgoff_t edge, pgoff_t start, pgoff_t end)
{
	struct folio *folio = thp_at(inode, edge);

	if (!folio || (folio->index >= start && folio->index + folio_nr_pages(folio) <= end))
		return NULL;
	return folio;
}

/*
 * The strategy's punch hook on @folio, cut by [start, end): what it does
 * (enum gs_strategy_punch_action), asked before anything changes.
 */
static unsigned int thp_punch_action(struct gmem_inode *inode, struct folio *folio, pgoff_t start,
				     pgoff_t end)
{
	struct gs_strategy_punch punch = {
		.ino = inode->ino,
		.index = folio->index,
		.folio_order = folio_order(folio),
		.start = folio->index > start ? folio->index : start,
		.end = folio->index + folio_nr_pages(folio) < end
			       ? folio->index + folio_nr_pages(folio)
			       : end,
		.can_split = thp_can_split(folio),
	};

	return gmem_strategy_punch(inode->strategy, &punch);
}

/*
 * Split @folio, or zero its part of [start, end) when it is held or the
 * strategy keeps it (@action GS_PUNCH_ZERO): true if zeroed.
 */
static bool thp_trim_one(struct gmem_inode *inode, struct folio *folio, struct xa_state *xas,
			 pgoff_t start, pgoff_t end, unsigned int action)
{
	if (action == GS_PUNCH_SPLIT && thp_can_split(folio)) {
		thp_split_prepared(inode, folio, xas);
		return false;
	}
	thp_zero_part(folio, start, end);
	return true;
}

int kvm_gmem_thp_trim(struct gmem_inode *inode, pgoff_t *start, pgoff_t *end)
{
	pgoff_t s = *start, e = *end;
	unsigned int act_a, act_b;
	struct folio *a, *b;
	int err;

	if (!inode->thp || s >= e)
		return 0;
	a = thp_across(inode, s, s, e);
	b = thp_across(inode, e - 1, s, e);
	if (b == a)
		b = NULL;
	if (!a && !b)
		return 0;
	/* The strategy's answers come before anything changes: a refusal changes nothing. */
	act_a = a ? thp_punch_action(inode, a, s, e) : GS_PUNCH_ZERO;
	act_b = b ? thp_punch_action(inode, b, s, e) : GS_PUNCH_ZERO;
	if (act_a == GS_PUNCH_REFUSE || act_b == GS_PUNCH_REFUSE) {
		gs_trace("gmem.thp_punch_refused", GS_TF_U("ino", inode->ino),
			 GS_TF_X("index", (act_a == GS_PUNCH_REFUSE ? a : b)->index));
		return -EINVAL;
	}
	/* Every fallible step first: the nodes, then the guest's leaves across the edges. */
	XA_STATE_ORDER(xa, &inode->filemap, a ? a->index : 0, 0);
	XA_STATE_ORDER(xb, &inode->filemap, b ? b->index : 0, 0);
	if (act_a == GS_PUNCH_SPLIT)
		xas_split_alloc(&xa, a, THP_ORDER, GFP_KERNEL);
	if (act_b == GS_PUNCH_SPLIT && !xas_error(&xa))
		xas_split_alloc(&xb, b, THP_ORDER, GFP_KERNEL);
	err = xas_error(&xa) ? xas_error(&xa) : xas_error(&xb);
	if (!err)
		err = kvm_gmem_split_cross_boundary_leafs(inode, s, e, KVM_FILTER_PRIVATE);
	if (!err && a && thp_trim_one(inode, a, &xa, s, e, act_a))
		*start = a->index + THP_NR < e ? a->index + THP_NR : e;
	if (!err && b && thp_trim_one(inode, b, &xb, s, e, act_b))
		*end = b->index > *start ? b->index : *start;
	xas_destroy(&xa);
	xas_destroy(&xb);
	return err;
}
