// SPDX-License-Identifier: MIT
/*
 * Taking memory away from a guest_memfd file: truncation of a range (what
 * kvm_gmem_punch_hole() and eviction do in virt/kvm/guest_memfd.c) and the
 * two invalidations it starts with, the guest's (every slot bound to the
 * range loses its mappings) and the host's (unmap_mapping_range() over every
 * mmap of the file). Memory failure uses the invalidations alone.
 *
 * The other guest_memfd files call in here and nothing here calls back:
 * creation and eviction (gmem.c), fallocate (gmem_falloc.c) and faults
 * (gmem_fault.c) sit above this file.
 */
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/maple_tree.h>

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

void kvm_gmem_invalidate_begin(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			       unsigned int attr_filter)
{
	struct gmem_file *file;

	list_for_each_entry (file, &inode->files, list) {
		struct kvm_memory_slot *slot, *prev = NULL;
		unsigned long index;

		if (!file_has_mmu(file))
			continue;
		/* A slot covers a contiguous run of indices: tell it once. */
		xa_for_each_range (&file->bindings, index, slot, start, end - 1) {
			if (slot == prev)
				continue;
			if (!prev)
				file->vm->ops->invalidate_begin(file->vm);
			file->vm->ops->invalidate_range(slot, start, end, attr_filter);
			prev = slot;
		}
	}
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

int kvm_gmem_split_cross_boundary_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
					unsigned int attr_filter)
{
	struct gmem_file *file;

	list_for_each_entry (file, &inode->files, list) {
		struct kvm_memory_slot *slot, *prev = NULL;
		unsigned long index;
		int err;

		if (!file_has_mmu(file))
			continue;
		xa_for_each_range (&file->bindings, index, slot, start, end - 1) {
			if (slot == prev)
				continue;
			err = file->vm->ops->split_cross_boundary(slot, start, end, attr_filter);
			if (err)
				return err;
			prev = slot;
		}
	}
	return 0;
}

int kvm_gmem_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			      unsigned int attr_filter, unsigned int order)
{
	struct gmem_file *file;

	list_for_each_entry (file, &inode->files, list) {
		struct kvm_memory_slot *slot, *prev = NULL;
		unsigned long index;
		int err;

		if (!file_has_mmu(file))
			continue;
		xa_for_each_range (&file->bindings, index, slot, start, end - 1) {
			if (slot == prev)
				continue;
			err = file->vm->ops->split_huge(slot, start, end, attr_filter, order);
			if (err)
				return err;
			prev = slot;
		}
	}
	return 0;
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

void kvm_gmem_truncate_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	unsigned long index;
	struct folio *folio;

	if (start >= end)
		return;
	/* Nobody may reach a folio through a mapping once the file lets go of it. */
	kvm_gmem_invalidate(inode, start, end);
	kvm_gmem_unmap_host(inode, start, end);
	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		XA_STATE_ORDER(xas, &inode->filemap, index, folio_order(folio));

		/* Storing NULL over a whole entry never needs memory. */
		xas_store(&xas, NULL);
		inode->i_bytes -= folio_size(folio);
		folio->mapping = NULL;
		folio_clear_uptodate(folio);
		/*
		 * filemap_remove_folio(): the page cache's references go, one per
		 * page. A poisoned folio keeps its flag: the page allocator keeps a
		 * bad order-0 page out of use, the HugeTLB pool a bad huge page
		 * (free_huge_folio()).
		 */
		folio_put_refs(folio, (int)folio_nr_pages(folio));
	}
}
