// SPDX-License-Identifier: MIT
/*
 * Taking memory away from a guest_memfd file: truncation of a range (what
 * kvm_gmem_punch_hole() and eviction do in virt/kvm/guest_memfd.c) and the
 * two invalidations it starts with, the guest's (every slot bound to the
 * range loses its mappings) and the host's (unmap_mapping_range() over every
 * mmap of the file). Memory failure uses the invalidations alone.
 *
 * A HugeTLB file's huge pages may be split into 4 KiB pieces (a conversion
 * to shared did it). Truncation merges each split page wholly inside the
 * range back first, so it goes back to its subpool at once, as the WIP
 * branch's merge_truncate_range() does (spec P36): a punch requires it
 * (EAGAIN while a piece is pinned), eviction tries and truncates anyway,
 * leaving pinned pieces to the deferred merge (P27). docs/GUEST_MEMFD.md,
 * "Truncation of split HugeTLB pages".
 *
 * The other guest_memfd files call in here and nothing here calls back:
 * creation and eviction (gmem.c), fallocate (gmem_falloc.c) and faults
 * (gmem_fault.c) sit above this file.
 */
#include <errno.h>

#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/sites.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/strategy.h>
#include <gmemsim/trace.h>

#include <gmemsim/internal/gmem_int.h>

unsigned int kvm_gmem_get_invalidate_filter(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	MA_STATE(mas, &inode->shareability, start, start);
	unsigned int filter = 0;
	void *entry;

	mas_for_each (&mas, entry, end - 1) {
		filter |= xa_to_value(entry) == SHAREABILITY_GUEST ? KVM_FILTER_PRIVATE
								   : KVM_FILTER_SHARED;
		if (filter == (KVM_FILTER_PRIVATE | KVM_FILTER_SHARED))
			break;
	}
	/* Pages without a value cannot be told apart: zap both kinds there. */
	return filter ? filter : KVM_FILTER_PRIVATE | KVM_FILTER_SHARED;
}

static bool file_has_mmu(const struct gmem_file *file)
{
	return file->vm && file->vm->ops;
}

/* What a walk over the bound slots asks of each (gmem_for_each_slot()). */
struct slot_walk {
	pgoff_t start, end;
	unsigned int attr_filter;
	int order;   /* split: < 0 for the leaves across the edges */
	bool commit; /* finish: commit or cancel */
	int (*fn)(struct gmem_file *file, struct kvm_memory_slot *slot, bool first,
		  const struct slot_walk *w);
};

/*
 * Call @w->fn once for each slot bound to [start, end) in every file whose VM
 * has an MMU (a slot covers a contiguous run of indices, so it is met once;
 * @first is set for a file's first one). The first error ends the walk.
 */
static int gmem_for_each_slot(struct gmem_inode *inode, const struct slot_walk *w)
{
	struct gmem_file *file;

	list_for_each_entry (file, &inode->files, list) {
		struct kvm_memory_slot *slot, *prev = NULL;
		unsigned long index;
		int err;

		if (!file_has_mmu(file))
			continue;
		xa_for_each_range (&file->bindings, index, slot, w->start, w->end - 1) {
			if (slot == prev)
				continue;
			err = w->fn(file, slot, !prev, w);
			if (err)
				return err;
			prev = slot;
		}
	}
	return 0;
}

static int slot_invalidate_begin(struct gmem_file *file, struct kvm_memory_slot *slot, bool first,
				 const struct slot_walk *w)
{
	if (first)
		file->vm->ops->invalidate_begin(file->vm);
	file->vm->ops->invalidate_range(slot, w->start, w->end, w->attr_filter);
	return 0;
}

void kvm_gmem_invalidate_begin(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			       unsigned int attr_filter)
{
	struct slot_walk w = {start, end, attr_filter, .fn = slot_invalidate_begin};

	gmem_for_each_slot(inode, &w);
}

void kvm_gmem_invalidate_end(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	struct gmem_file *file;

	list_for_each_entry (file, &inode->files, list) {
		unsigned long index = start;

		if (file_has_mmu(file) && xa_find(&file->bindings, &index, end - 1, XA_PRESENT))
			file->vm->ops->invalidate_end(file->vm);
	}
}

/*
 * Split stage-2 leaves in a slot bound to the range: the leaves across the
 * range's edges (@w->order < 0), or every leaf larger than 2^order pages.
 * Each slot's split is all or nothing; the first failure ends the walk.
 */
static int slot_split(struct gmem_file *file, struct kvm_memory_slot *slot, bool first,
		      const struct slot_walk *w)
{
	(void)first;
	if (w->order < 0)
		return file->vm->ops->split_cross_boundary(slot, w->start, w->end, w->attr_filter);
	return file->vm->ops->split_huge(slot, w->start, w->end, w->attr_filter,
					 (unsigned int)w->order);
}

int kvm_gmem_split_cross_boundary_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
					unsigned int attr_filter)
{
	struct slot_walk w = {start, end, attr_filter, -1, .fn = slot_split};

	return gmem_for_each_slot(inode, &w);
}

int kvm_gmem_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			      unsigned int attr_filter, unsigned int order)
{
	struct slot_walk w = {start, end, attr_filter, (int)order, .fn = slot_split};

	return gmem_for_each_slot(inode, &w);
}

static int slot_split_finish(struct gmem_file *file, struct kvm_memory_slot *slot, bool first,
			     const struct slot_walk *w)
{
	(void)first;
	file->vm->ops->split_huge_finish(slot, w->commit);
	return 0;
}

/*
 * Finish the stage-2 splits prepared in the slots bound to [start, end):
 * commit them, or cancel them (a slot with nothing pending is skipped).
 */
void kvm_gmem_finish_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				      bool commit)
{
	struct slot_walk w = {start, end, .commit = commit, .fn = slot_split_finish};

	gmem_for_each_slot(inode, &w);
}

static int slot_split_prepare(struct gmem_file *file, struct kvm_memory_slot *slot, bool first,
			      const struct slot_walk *w)
{
	(void)first;
	return file->vm->ops->split_huge_prepare(slot, w->start, w->end, w->attr_filter,
						 (unsigned int)w->order);
}

int kvm_gmem_prepare_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				      unsigned int attr_filter, unsigned int order)
{
	struct slot_walk w = {start, end, attr_filter, (int)order, .fn = slot_split_prepare};

	if (!gmem_for_each_slot(inode, &w))
		return 0;
	/* The slots prepared before the failing one go back as they were. */
	kvm_gmem_finish_split_huge_leafs(inode, start, end, false);
	return -ENOMEM;
}

void kvm_gmem_invalidate(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	kvm_gmem_invalidate_begin(inode, start, end,
				  kvm_gmem_get_invalidate_filter(inode, start, end));
	kvm_gmem_invalidate_end(inode, start, end);
}

void kvm_gmem_zap_vma(struct gmem_vma *vma, unsigned long first, unsigned long last)
{
	unsigned long addr_page;
	struct page *page;

	xa_for_each_range (&vma->ptes, addr_page, page, first, last) {
		xa_erase(&vma->ptes, addr_page);
		gs_folio_unmap(page_folio(page));
	}
}

void kvm_gmem_unmap_host(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	struct gmem_vma *vma;

	list_for_each_entry (vma, &inode->vmas, list) {
		pgoff_t vend = vma->pgoff + vma->nr_pages;

		if (end <= vma->pgoff || start >= vend)
			continue;
		kvm_gmem_zap_vma(vma, (start > vma->pgoff ? start : vma->pgoff) - vma->pgoff,
				 (end < vend ? end : vend) - vma->pgoff - 1);
	}
}

/*
 * References on a page-cache folio besides the page cache's and the host
 * mappings' (each maps one page and holds one reference): a pin, or any
 * other user, which would keep a piece from merging once unmapped.
 */
static bool folio_has_other_refs(struct folio *folio)
{
	return folio_ref_count(folio) != (int)folio_nr_pages(folio) + folio_mapcount(folio);
}

/*
 * The first piece of a split huge page in [start, end) that something
 * besides the page cache and the host mappings references, or NULL.
 * Checked before anything is unmapped, so an EAGAIN changes nothing.
 */
static bool piece_pinned(struct folio *folio)
{
	return folio_test_needs_merge(folio) && folio_has_other_refs(folio);
}

static struct folio *gmem_pinned_piece(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	XA_STATE(xas, &inode->filemap, start);
	struct folio *folio;

	/*
	 * Along the leaves: a lookup from the root per piece was most of a
	 * punch's check; a leaf's run of pieces is read from its slots.
	 */
	xas_for_each (&xas, folio, end - 1) {
		unsigned int n = gs_xas_leaf_run(&xas, end - 1);

		if (piece_pinned(folio))
			return folio;
		for (unsigned int i = 1; i <= n; i++) {
			folio = xas.xa_node->slots[xas.xa_offset + i];
			if (piece_pinned(folio))
				return folio;
		}
		gs_xas_leaf_skip(&xas, n);
	}
	return NULL;
}

/*
 * Does truncation merge the split page at @base now? The strategy's
 * free_split hook decides (@ask; not for an undo, which restores the state
 * before); GS_FREE_DEFER leaves the page to the deferred worker.
 */
static bool gmem_merges_now(const struct gmem_inode *inode, pgoff_t base, bool ask)
{
	return !ask || gmem_strategy_free_split(inode, base) == GS_FREE_MERGE;
}

/*
 * Merge back every split huge page lying wholly in [start, end) whose
 * pieces hold only the page cache's references (host mappings are gone by
 * now), so truncation frees it to its subpool in one go. A page that cannot
 * merge (a piece pinned, missing or kept optimized without memory for its
 * struct pages), or that the strategy defers (@ask), stays split: its pieces
 * are truncated one by one and the deferred worker merges it when the last
 * is free.
 */
static void gmem_merge_split_pages(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool ask)
{
	unsigned long nr = 1UL << inode->page_order, index;
	struct folio *folio;

	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		pgoff_t base = ALIGN_DOWN(index, nr);
		unsigned long pfn = folio_pfn(folio); /* any pfn of the page */

		if (!folio_test_needs_merge(folio) || base < start || end - base < nr)
			continue;
		if (gmem_merges_now(inode, base, ask) &&
		    !hugetlb_restructuring_can_merge(&inode->filemap, pfn, NULL, 0) &&
		    !kvm_gmem_merge_reserve(inode, base, GFP_KERNEL | __GFP_NOFAIL) &&
		    !hugetlb_restructuring_prepare_merge_nofail(pfn))
			hugetlb_restructuring_merge_folio_reserved(
				&inode->filemap, &inode->merge_reserve, pfn, NULL, 0);
		/* The page is done either way: go on after it. */
		index = base + nr - 1;
	}
	kvm_gmem_merge_reserve_free(inode);
}

/* Page-cache nodes for merges' stores, held until the operation ends (gmem_int.h). */
int kvm_gmem_merge_reserve(struct gmem_inode *inode, pgoff_t base, gfp_t gfp)
{
	return gs_xa_reserve(&inode->filemap, &inode->merge_reserve,
			     gs_xa_store_order_nodes(&inode->filemap, base, inode->page_order),
			     GS_SITE_XARRAY_NODE, gfp);
}

void kvm_gmem_merge_reserve_free(struct gmem_inode *inode)
{
	gs_xa_reserve_free(&inode->merge_reserve);
}

/*
 * A punch promises its merges (P36): the page-cache nodes they may need are
 * taken now, before anything changes, or the punch fails. Eviction cannot
 * fail: gmem_merge_split_pages() takes them as memory it cannot do without
 * (__GFP_NOFAIL, which fault injection skips; a kernel's retry loop around
 * a node-sized GFP_KERNEL allocation does not fail either).
 */
static int gmem_reserve_merges(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	unsigned long nr = 1UL << inode->page_order, index;
	struct folio *folio;
	int err = 0;

	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		pgoff_t base = ALIGN_DOWN(index, nr);

		if (folio_test_needs_merge(folio) && base >= start && end - base >= nr &&
		    gmem_merges_now(inode, base, true))
			err = kvm_gmem_merge_reserve(inode, base, GFP_KERNEL);
		if (err)
			break;
		index = base + nr - 1;
	}
	return err;
}

/* truncate_inode_pages_range(): every folio of [start, end) leaves the page cache. */
static void gmem_truncate_folios(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	XA_STATE(xas, &inode->filemap, start);
	kvm_gmem_arch_invalidate_fn arch_invalidate = kvm_gmem_arch_invalidate_hook(inode);
	struct folio *folio;

	/*
	 * One walk that stores NULL as it goes, as page_cache_delete_batch()
	 * does (a lookup from the root per folio was a third of a close).
	 */
	xas_for_each (&xas, folio, end - 1) {
		unsigned long next =
			ALIGN_DOWN(xas.xa_index, folio_nr_pages(folio)) + folio_nr_pages(folio);

		/* At the entry's first slot: NULL goes over its siblings too, never needing memory. */
		xas_store(&xas, NULL);
		/* A tree that shrank under the walk: go on from the root. */
		if (xas.xa_node == XAS_BOUNDS)
			xas_set(&xas, next);
		inode->i_bytes -= folio_size(folio);
		folio->mapping = NULL;
		folio_clear_uptodate(folio);
		/* The kernel's free_folio: the arch takes its pfns back (SNP: RMP shared). */
		if (arch_invalidate)
			arch_invalidate(folio_pfn(folio), folio_pfn(folio) + folio_nr_pages(folio));
		/*
		 * filemap_remove_folio(): the page cache's references go, one per
		 * page. A poisoned folio keeps its flag: the page allocator keeps a
		 * bad order-0 page out of use, the HugeTLB pool a bad huge page
		 * (free_huge_folio()). A split piece losing its last reference
		 * waits for the deferred merge (its free hook).
		 */
		folio_put_refs(folio, (int)folio_nr_pages(folio));
	}
}

int kvm_gmem_merge_truncate_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				  bool require_merge)
{
	unsigned int filter;
	struct folio *pinned;
	int err;

	if (start >= end)
		return 0;
	/* Before any change: a failed punch leaves everything as it was. */
	pinned = require_merge ? gmem_pinned_piece(inode, start, end) : NULL;
	if (pinned) {
		gs_trace("gmem.punch_pinned", GS_TF_U("ino", inode->ino),
			 GS_TF_X("index", pinned->index));
		return -EAGAIN;
	}
	err = require_merge && inode->page_order ? gmem_reserve_merges(inode, start, end) : 0;
	filter = kvm_gmem_get_invalidate_filter(inode, start, end);
	/* Private leaves reaching out of the range keep their outside part (P40). */
	if (!err && (filter & KVM_FILTER_PRIVATE)) {
		err = kvm_gmem_split_cross_boundary_leafs(inode, start, end, KVM_FILTER_PRIVATE);
		/* Eviction cannot fail: without the split, a crossing leaf is zapped whole. */
		err = require_merge ? err : 0;
	}
	if (err) {
		kvm_gmem_merge_reserve_free(inode);
		return err;
	}
	/* Nobody may reach a folio through a mapping once the file lets go of it. */
	kvm_gmem_invalidate_begin(inode, start, end, filter);
	kvm_gmem_unmap_host(inode, start, end);
	if (inode->page_order)
		gmem_merge_split_pages(inode, start, end, true);
	gmem_truncate_folios(inode, start, end);
	kvm_gmem_invalidate_end(inode, start, end);
	return 0;
}

void kvm_gmem_truncate_unmapped(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	if (inode->page_order)
		gmem_merge_split_pages(inode, start, end, false);
	gmem_truncate_folios(inode, start, end);
}

void kvm_gmem_truncate_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	WARN_ON_ONCE(kvm_gmem_merge_truncate_range(inode, start, end, false));
}
