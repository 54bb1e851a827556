// SPDX-License-Identifier: MIT
/*
 * The host and guest sides of a guest_memfd file: mmap() and host faults
 * (kvm_gmem_mmap() and kvm_gmem_fault_user_mapping()), host copies through
 * a mapping, long-term pins (pin_user_pages(FOLL_LONGTERM)), the guest's
 * kvm_gmem_get_pfn() with the arch prepare hook and the HugeTLB mapping
 * order, kvm_gmem_populate()'s per-page step (__kvm_gmem_populate()), and
 * memory failure (kvm_gmem_error_folio()). A mapping splits in two as
 * __split_vma() splits a VMA (each piece keeps its file offset), and
 * shrinks when munmap() takes its head or tail.
 * Host page tables are one XArray per mapping: mapping page -> struct page.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/inject.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/strategy.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include <gmemsim/xarray.h>

#include <gmemsim/internal/gmem_int.h>

int kvm_gmem_mmap(struct gmem_file *file, pgoff_t pgoff, unsigned long nr_pages, bool shared,
		  struct gmem_vma **vmap)
{
	struct gmem_vma *vma;

	if (!(file->inode->flags & GS_GUEST_MEMFD_FLAG_MMAP))
		return -ENODEV;
	if (!shared || !nr_pages)
		return -EINVAL;
	vma = gs_alloc(GS_SITE_GMEM_VMA, sizeof(*vma), GFP_KERNEL | __GFP_ZERO);
	if (!vma)
		return -ENOMEM;
	vma->file = file;
	vma->pgoff = pgoff;
	vma->nr_pages = nr_pages;
	xa_init(&vma->ptes);
	file->refs++;
	list_add_tail(&vma->list, &file->inode->vmas);
	*vmap = vma;
	return 0;
}

void kvm_gmem_munmap(struct gmem_vma *vma)
{
	struct gmem_file *file = vma->file;

	kvm_gmem_zap_vma(vma, 0, vma->nr_pages - 1);
	xa_destroy(&vma->ptes);
	list_del(&vma->list);
	gs_free(GS_SITE_GMEM_VMA, vma, sizeof(*vma));
	kvm_gmem_fput(file);
}

/* The prepared piece's own page table, with its reference on the file not yet taken. */
static void gmem_vma_free(struct gmem_vma *vma)
{
	xa_destroy(&vma->ptes);
	gs_free(GS_SITE_GMEM_VMA, vma, sizeof(*vma));
}

int kvm_gmem_vma_split_prepare(struct gmem_vma *vma, unsigned long at, struct gmem_vma **tailp)
{
	struct gmem_vma *tail;
	unsigned long addr_page;
	struct page *page;

	if (!at || at >= vma->nr_pages)
		return -EINVAL;
	tail = gs_alloc(GS_SITE_GMEM_VMA, sizeof(*tail), GFP_KERNEL | __GFP_ZERO);
	if (!tail)
		return -ENOMEM;
	tail->file = vma->file;
	tail->pgoff = vma->pgoff + at;
	tail->nr_pages = vma->nr_pages - at;
	xa_init(&tail->ptes);
	/*
	 * The entries are copied, not moved: @vma keeps mapping them until the
	 * commit, so a page table the copy cannot allocate changes nothing.
	 */
	xa_for_each_range (&vma->ptes, addr_page, page, at, vma->nr_pages - 1) {
		if (xa_is_err(xa_store(&tail->ptes, addr_page - at, page, GFP_KERNEL))) {
			gmem_vma_free(tail);
			return -ENOMEM;
		}
	}
	*tailp = tail;
	return 0;
}

void kvm_gmem_vma_split_abort(struct gmem_vma *tail)
{
	gmem_vma_free(tail);
}

void kvm_gmem_vma_split_commit(struct gmem_vma *vma, struct gmem_vma *tail)
{
	unsigned long at = tail->pgoff - vma->pgoff, addr_page;
	struct page *page;

	/* The mapcounts and references these entries hold are the tail's now. */
	xa_for_each_range (&vma->ptes, addr_page, page, at, vma->nr_pages - 1)
		xa_erase(&vma->ptes, addr_page);
	vma->nr_pages = at;
	/* vma_dup(): the new piece holds its own reference on the file. */
	vma->file->refs++;
	list_add(&tail->list, &vma->list);
}

void kvm_gmem_vma_trim(struct gmem_vma *vma, unsigned long nr_pages)
{
	if (WARN_ON(!nr_pages || nr_pages > vma->nr_pages))
		return;
	if (nr_pages < vma->nr_pages)
		kvm_gmem_zap_vma(vma, nr_pages, vma->nr_pages - 1);
	vma->nr_pages = nr_pages;
}

static bool gmem_index_shared(struct gmem_inode *inode, pgoff_t index)
{
	return mtree_load(&inode->shareability, index) == xa_mk_value(SHAREABILITY_ALL);
}

int kvm_gmem_range_shareability(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	MA_STATE(mas, &inode->shareability, start, start);
	void *first = NULL, *entry;

	if (start >= end || end > gmem_nr_pages(inode))
		return 0;
	/* Adjacent ranges need not be merged: compare every value in the span. */
	mas_for_each (&mas, entry, end - 1) {
		if (first && entry != first)
			return 0;
		first = entry;
	}
	return first ? (int)xa_to_value(first) : 0;
}

/* The folio at @index for a host access, allocated if needed. */
static vm_fault_t gmem_fault_folio(struct gmem_inode *inode, pgoff_t index, struct folio **foliop)
{
	struct folio *folio;
	int err;

	if (index >= gmem_nr_pages(inode) || !gmem_index_shared(inode, index))
		return VM_FAULT_SIGBUS;
	folio = kvm_gmem_get_folio(inode, index, true, &err);
	if (!folio)
		return VM_FAULT_OOM;
	if (folio_test_hwpoison(folio))
		return VM_FAULT_HWPOISON;
	*foliop = folio;
	return 0;
}

/*
 * Store the PTE from the page table topped up in @pte; the top-up counted
 * every node the store adds, so needing one more is a model bug.
 */
static int gmem_set_pte(struct xa_state *pte, struct page *page)
{
	do {
		xas_lock(pte);
		xas_store(pte, page);
		xas_unlock(pte);
		WARN_ON_ONCE(xas_error(pte) == -ENOMEM);
	} while (xas_nomem(pte, GFP_KERNEL));
	return xas_error(pte);
}

vm_fault_t kvm_gmem_fault(struct gmem_vma *vma, unsigned long addr_page)
{
	struct gmem_inode *inode = vma->file->inode;
	pgoff_t index = vma->pgoff + addr_page;
	bool fresh = !xa_load(&inode->filemap, index);
	XA_STATE(pte, &vma->ptes, addr_page);
	struct folio *folio;
	struct page *page;
	vm_fault_t ret;

	if (addr_page >= vma->nr_pages)
		return VM_FAULT_SIGBUS;
	if (xa_load(&vma->ptes, addr_page))
		return 0;
	/*
	 * __do_fault()'s prealloc_pte: the page table comes before ->fault, so
	 * running out of memory for it leaves no folio behind (a huge folio
	 * split for a shared page could not be taken back whole after).
	 */
	if (gs_xas_topup(&pte, gs_xa_store_nodes(&vma->ptes, addr_page), GS_SITE_XARRAY_NODE,
			 GFP_KERNEL))
		return VM_FAULT_OOM;
	ret = gmem_fault_folio(inode, index, &folio);
	if (ret) {
		xas_destroy(&pte);
		return ret;
	}
	page = folio_page(folio, index - folio->index);
	if (gmem_set_pte(&pte, page)) {
		/* No page table: a folio this fault added goes away again. */
		if (fresh)
			kvm_gmem_truncate_range(inode, folio->index,
						folio->index + folio_nr_pages(folio));
		return VM_FAULT_OOM;
	}
	kvm_gmem_zero_folio(folio);
	gs_folio_map(folio);
	return 0;
}

vm_fault_t kvm_gmem_access(struct gmem_vma *vma, unsigned long off, void *buf, size_t len,
			   bool write, size_t *done)
{
	char *p = buf;

	*done = 0;
	while (len) {
		unsigned long addr_page = off >> PAGE_SHIFT;
		size_t in_page = PAGE_SIZE - (off & (PAGE_SIZE - 1));
		size_t n = len < in_page ? len : in_page;
		vm_fault_t ret = kvm_gmem_fault(vma, addr_page);
		char *data;

		if (ret)
			return ret;
		data = gs_pfn_to_virt(page_to_pfn(xa_load(&vma->ptes, addr_page)));
		/* Metadata-only memory keeps no data: reads see zero. */
		if (write && data)
			memcpy(data + (off & (PAGE_SIZE - 1)), p, n);
		else if (!write)
			data ? memcpy(p, data + (off & (PAGE_SIZE - 1)), n) : memset(p, 0, n);
		p += n;
		off += n;
		len -= n;
		*done += n;
	}
	return 0;
}

int kvm_gmem_pin(struct gmem_vma *vma, unsigned long addr_page, struct page **pagep)
{
	vm_fault_t ret = kvm_gmem_fault(vma, addr_page);
	struct page *page;

	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & VM_FAULT_HWPOISON)
		return -EHWPOISON;
	if (ret)
		return -EFAULT;
	page = xa_load(&vma->ptes, addr_page);
	gs_folio_pin(page_folio(page));
	*pagep = page;
	return 0;
}

void kvm_gmem_unpin(struct page *page)
{
	gs_folio_unpin(page_folio(page));
}

static struct gs_gmem_pfn_stats pfn_stats;

struct gs_gmem_pfn_stats gs_gmem_pfn_stats(bool reset)
{
	struct gs_gmem_pfn_stats old = pfn_stats;

	if (reset)
		pfn_stats = (struct gs_gmem_pfn_stats){0};
	return old;
}

/* The HugeTLB branch's rule over the huge page starting at @base (P39's bug: any @base). */
static unsigned int mapping_order_at(struct gmem_inode *inode, pgoff_t base)
{
	pgoff_t nr = 1UL << inode->page_order;

	if (base >= gmem_nr_pages(inode) || nr > gmem_nr_pages(inode) - base)
		return 0;
	return kvm_gmem_range_shareability(inode, base, base + nr) == SHAREABILITY_GUEST
		       ? inode->page_order
		       : 0;
}

unsigned int kvm_gmem_mapping_order(struct gmem_file *file, pgoff_t index)
{
	struct gmem_inode *inode = file->inode;
	pgoff_t base = ALIGN_DOWN(index, 1UL << inode->page_order);

	if (!inode->page_order)
		return 0;
	if (file->vm && file->vm->conversion == GS_CONVERSION_WIP)
		base = index;
	return mapping_order_at(inode, base);
}

/*
 * The folio's order where its own aligned range is all private, else 0: a
 * whole huge folio answers as @rounded does; a 2 MiB piece of a split
 * 1 GiB page looks at its own 2 MiB.
 */
static unsigned int folio_aligned_order(struct gmem_inode *inode, struct folio *folio,
					unsigned int rounded)
{
	unsigned int order = folio_order(folio);

	if (!order || order == inode->page_order)
		return order ? rounded : 0;
	return kvm_gmem_range_private(inode, folio->index, folio->index + folio_nr_pages(folio))
		       ? order
		       : 0;
}

/*
 * max_order: what the VM's strategy says (include/gmemsim/strategy.h), from
 * the folio order and both mapping-order rules; the built-ins give the folio
 * order capped by the rounded rule, or under wip by the unrounded one. The
 * wip rule is counted (and traced) where it gives less than the rounded
 * one; it cannot give more, as a huge folio exists only over an all-private
 * huge page (docs/CONVERSION.md, "P39").
 */
static int gmem_max_order(struct gmem_file *file, struct folio *folio, pgoff_t index)
{
	struct gmem_inode *inode = file->inode;
	struct gs_strategy_fault fault = {
		.ino = inode->ino,
		.index = index,
		.page_order = inode->page_order,
		.folio_order = folio_order(folio),
	};

	/* A THP may be part shared (to private does not split it): 2 MiB only when all private. */
	if (inode->thp && fault.folio_order && file->vm && file->vm->in_place_conversion &&
	    kvm_gmem_range_shareability(inode, folio->index,
					folio->index + folio_nr_pages(folio)) != SHAREABILITY_GUEST)
		return 0;
	if (!inode->page_order || !file->vm || !file->vm->in_place_conversion)
		return (int)fault.folio_order;
	/* Planted (test-only): P39's unrounded range, and no folio cap, so it can over-map. */
	if (gs_test_bug(GS_BUG_MAP_ORDER_UNROUNDED))
		return (int)mapping_order_at(inode, index);
	fault.rounded = mapping_order_at(inode, ALIGN_DOWN(index, 1UL << inode->page_order));
	fault.aligned = folio_aligned_order(inode, folio, fault.rounded);
	/* An aligned index gives both rules the same range: one tree walk, not two. */
	fault.unrounded =
		index % (1UL << inode->page_order) ? mapping_order_at(inode, index) : fault.rounded;
	if (file->vm->conversion == GS_CONVERSION_WIP && fault.folio_order > fault.unrounded &&
	    fault.unrounded < fault.rounded) {
		pfn_stats.mapping_order_short++;
		gs_trace("gmem.mapping_order.short", GS_TF_U("ino", inode->ino),
			 GS_TF_X("index", index), GS_TF_U("order", fault.unrounded),
			 GS_TF_U("rounded", fault.rounded),
			 GS_TF_U("folio_order", fault.folio_order));
	}
	return (int)gmem_strategy_max_order(file->vm, &fault);
}

/* Is @index private for the guest? Under per-VM attributes guest_memfd holds private memory. */
static bool gmem_index_private(struct gmem_file *file, pgoff_t index)
{
	if (!file->vm || !file->vm->in_place_conversion)
		return true;
	return !gmem_index_shared(file->inode, index);
}

/*
 * kvm_gmem_prepare_folio(): the arch hook over the whole folio, for private
 * pages only (P12). The kernel passes the folio's first gfn and pfn.
 */
static int kvm_gmem_prepare_folio(struct gmem_file *file, struct folio *folio, pgoff_t index)
{
	struct kvm_memory_slot *slot = xa_load(&file->bindings, index);
	const struct gmem_kvm_ops *ops = file->vm ? file->vm->ops : NULL;
	int err;

	if (!gmem_index_private(file, index)) {
		pfn_stats.prepare_shared++;
		return 0;
	}
	if (!slot || !ops || !ops->gmem_prepare)
		return 0;
	pfn_stats.prepare_calls++;
	err = ops->gmem_prepare(slot, folio->index, folio_pfn(folio), folio_order(folio));
	if (err)
		pfn_stats.prepare_errors++;
	return err;
}

int kvm_gmem_get_pfn(struct gmem_file *file, pgoff_t index, unsigned long *pfn, int *max_order)
{
	struct gmem_inode *inode = file->inode;
	struct folio *folio;
	int err;

	if (index >= gmem_nr_pages(inode))
		return -EIO;
	folio = kvm_gmem_get_folio(inode, index, true, &err);
	if (!folio)
		return err;
	if (folio_test_hwpoison(folio))
		return -EHWPOISON;
	pfn_stats.get_pfn++;
	kvm_gmem_zero_folio(folio);
	err = kvm_gmem_prepare_folio(file, folio, index);
	if (err)
		return err;
	*pfn = folio_pfn(folio) + (index - folio->index);
	*max_order = gmem_max_order(file, folio, index);
	return 0;
}

int __kvm_gmem_populate(struct gmem_file *file, struct kvm_memory_slot *slot, pgoff_t index,
			bool private, bool eexist, const void *src,
			kvm_gmem_populate_cb post_populate, void *opaque)
{
	struct gmem_inode *inode = file->inode;
	struct folio *folio;
	int err;

	if (index >= gmem_nr_pages(inode) || xa_load(&file->bindings, index) != slot)
		return -EIO;
	folio = kvm_gmem_get_folio(inode, index, true, &err);
	if (!folio)
		return err;
	if (folio_test_hwpoison(folio))
		err = -EHWPOISON;
	else if (!private)
		err = -EINVAL;
	else if (eexist && folio_test_uptodate(folio))
		err = -EEXIST;
	else {
		/* P10: the pages post_populate does not write read zero, once. */
		kvm_gmem_zero_folio(folio);
		err = post_populate(slot, index, folio_pfn(folio) + (index - folio->index), src,
				    opaque);
	}
	if (err) {
		pfn_stats.populate_errors++;
		return err;
	}
	folio_set_uptodate(folio);
	pfn_stats.populated++;
	return 0;
}

int kvm_gmem_error_page(struct gmem_file *file, pgoff_t index)
{
	struct folio *folio = xa_load(&file->inode->filemap, index);

	if (!folio)
		return -ENOENT;
	/*
	 * memory_failure() splits a THP first (try_to_split_thp_page()); one it
	 * cannot split is left as it is (MF_MSG_UNSPLIT_THP): -EBUSY.
	 */
	if (file->inode->thp && folio_order(folio)) {
		if (kvm_gmem_thp_split(file->inode, folio))
			return -EBUSY;
		folio = xa_load(&file->inode->filemap, index);
	}
	/* Only the raw page is bad: a split keeps the rest of a huge folio usable. */
	folio_set_hugetlb_hwpoison(folio, folio_page(folio, index - folio->index));
	/* memory_failure() unmaps the page from every process before telling the file. */
	kvm_gmem_invalidate(file->inode, folio->index, folio->index + folio_nr_pages(folio));
	kvm_gmem_unmap_host(file->inode, folio->index, folio->index + folio_nr_pages(folio));
	return 0;
}
