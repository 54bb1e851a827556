// SPDX-License-Identifier: MIT
/*
 * Best-effort PMD-sized folios for guest_memfd files without HugeTLB (the
 * thp backing of include/gmemsim/strategy.h): what the guest_memfd series
 * did with KVM_GUEST_MEMFD_ALLOW_HUGEPAGE before HugeTLB support (seeds 001
 * and 002). A new folio is order 9 when its aligned 2 MiB block lies wholly
 * in the file and holds no folio yet and the buddy allocator has a free
 * 2 MiB block (lib/page_alloc.c), else order 0: no huge mapping is promised.
 * Such a folio is split, never merged back: a conversion splits what it
 * changes in part (split_huge_page(), -EAGAIN while a page is referenced
 * beyond the page cache), a punch splits the folios across its edges and,
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
#include <gmemsim/trace.h>

#include <gmemsim/internal/gmem_int.h>
#include <gmemsim/internal/metrics_int.h>
#include <gmemsim/internal/page_alloc.h>

#define THP_ORDER 9
#define THP_NR	  (1UL << THP_ORDER)

/* One shareability over [start, end): an intact THP is never part shared. */
static bool thp_uniform(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	MA_STATE(mas, &inode->shareability, start, start);
	void *first = NULL, *entry;

	mas_for_each (&mas, entry, end - 1) {
		if (first && entry != first)
			return false;
		first = entry;
	}
	return true;
}

/* The block at @base is wholly in the file, of one shareability, and has no folio yet. */
static bool thp_block_free(struct gmem_inode *inode, pgoff_t base)
{
	unsigned long index = base;

	if (base + THP_NR > gmem_nr_pages(inode))
		return false;
	if (xa_find(&inode->filemap, &index, base + THP_NR - 1, XA_PRESENT))
		return false;
	return thp_uniform(inode, base, base + THP_NR);
}

struct folio *kvm_gmem_thp_alloc(struct gmem_inode *inode, pgoff_t index, pgoff_t *base)
{
	pgoff_t b = ALIGN_DOWN(index, THP_NR);
	struct folio *folio = NULL;

	if (thp_block_free(inode, b))
		folio = gs_folio_alloc_thp(GFP_KERNEL);
	if (folio) {
		*base = b;
		return folio;
	}
	gs_trace("gmem.thp_fallback", GS_TF_U("ino", inode->ino), GS_TF_X("index", index));
	*base = index;
	return gs_folio_alloc_order0(GFP_KERNEL);
}

/* The order-0 piece at @index, once the THP starting at @arg's page is split. */
static void *piece_at(unsigned long index, void *arg)
{
	const struct folio *head = arg;

	return pfn_to_page(folio_pfn(head) + (index - head->index));
}

/*
 * split_huge_page() of a THP the page cache holds: the host's mappings go
 * first (unmap_folio(); a refault maps 4 KiB pages), the page cache's node
 * for the pieces is allocated, then the folio is split if only the page
 * cache references it, and each piece takes its own entry.
 */
static int thp_split(struct gmem_inode *inode, struct folio *folio)
{
	pgoff_t index = folio->index;
	XA_STATE_ORDER(xas, &inode->filemap, index, 0);
	int err;

	kvm_gmem_unmap_host(inode, index, index + folio_nr_pages(folio));
	xas_split_alloc(&xas, folio, THP_ORDER, GFP_KERNEL);
	err = xas_error(&xas);
	if (!err)
		err = folio_split_refs(folio, 0, NULL, GS_SPLIT_UNIFORM, 0);
	if (!err) {
		xas_lock(&xas);
		xas_split(&xas, folio, THP_ORDER);
		gs_xas_split_store(&xas, THP_ORDER, piece_at, folio);
		xas_unlock(&xas);
		gs_metrics_split(THP_ORDER, 0);
		gs_page_alloc_thp_split();
	}
	xas_destroy(&xas);
	gs_trace("gmem.thp_split", GS_TF_U("ino", inode->ino), GS_TF_X("index", index),
		 GS_TF_S("ret", err));
	return err == -EBUSY ? -EAGAIN : err;
}

/* The THP holding @index, or NULL. */
static struct folio *thp_at(struct gmem_inode *inode, pgoff_t index)
{
	struct folio *folio = xa_load(&inode->filemap, index);

	return folio && folio_order(folio) ? folio : NULL;
}

int kvm_gmem_thp_split_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
			     pgoff_t *err_index)
{
	void *want = xa_mk_value(to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL);
	unsigned long index;
	struct folio *folio;
	int err;

	if (!inode->thp)
		return 0;
	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		bool inside = folio->index >= start && folio->index + folio_nr_pages(folio) <= end;

		/* Its pages are all of one kind: already @want, nothing changes in it. */
		if (!folio_order(folio) || mtree_load(&inode->shareability, folio->index) == want)
			continue;
		/* Shared pages are 4 KiB (as P25's); a private THP wholly converted stays whole. */
		if (inside && to_private)
			continue;
		err = thp_split(inode, folio);
		if (err) {
			*err_index = folio->index > start ? folio->index : start;
			return err;
		}
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

/* A THP across the edge at @edge: split it, else zero its part in [start, end). */
static pgoff_t thp_trim_edge(struct gmem_inode *inode, pgoff_t edge, pgoff_t start, pgoff_t end)
{
	struct folio *folio = thp_at(inode, edge);

	if (!folio || (folio->index >= start && folio->index + folio_nr_pages(folio) <= end))
		return 0;
	if (!thp_split(inode, folio))
		return 0;
	thp_zero_part(folio, start, end);
	return 1;
}

void kvm_gmem_thp_trim(struct gmem_inode *inode, pgoff_t *start, pgoff_t *end)
{
	pgoff_t s = *start, e = *end;
	struct folio *folio;

	if (!inode->thp || s >= e)
		return;
	if (thp_trim_edge(inode, s, s, e)) {
		folio = thp_at(inode, s);
		*start = folio->index + folio_nr_pages(folio) < e ? folio->index + THP_NR : e;
	}
	if (*start < e && thp_trim_edge(inode, e - 1, s, e)) {
		folio = thp_at(inode, e - 1);
		*end = folio->index > *start ? folio->index : *start;
	}
}
