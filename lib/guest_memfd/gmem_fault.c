// SPDX-License-Identifier: MIT
/*
 * The host and guest sides of a guest_memfd file: mmap() and host faults
 * (kvm_gmem_mmap() and kvm_gmem_fault_user_mapping()), host copies through
 * a mapping, long-term pins (pin_user_pages(FOLL_LONGTERM)), the guest's
 * kvm_gmem_get_pfn() and memory failure (kvm_gmem_error_folio()).
 * Host page tables are one XArray per mapping: mapping page -> struct page.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/linux/kvm.h>

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

vm_fault_t kvm_gmem_fault(struct gmem_vma *vma, unsigned long addr_page)
{
	struct gmem_inode *inode = vma->file->inode;
	pgoff_t index = vma->pgoff + addr_page;
	bool fresh = !xa_load(&inode->filemap, index);
	struct folio *folio;
	struct page *page;
	vm_fault_t ret;

	if (addr_page >= vma->nr_pages)
		return VM_FAULT_SIGBUS;
	if (xa_load(&vma->ptes, addr_page))
		return 0;
	ret = gmem_fault_folio(inode, index, &folio);
	if (ret)
		return ret;
	page = folio_page(folio, index - folio->index);
	if (xa_err(xa_store(&vma->ptes, addr_page, page, GFP_KERNEL))) {
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
	kvm_gmem_zero_folio(folio);
	*pfn = folio_pfn(folio) + (index - folio->index);
	*max_order = (int)folio_order(folio);
	return 0;
}

int kvm_gmem_error_page(struct gmem_file *file, pgoff_t index)
{
	struct folio *folio = xa_load(&file->inode->filemap, index);

	if (!folio)
		return -ENOENT;
	/* Only the raw page is bad: a split keeps the rest of a huge folio usable. */
	folio_set_hugetlb_hwpoison(folio, folio_page(folio, index - folio->index));
	/* memory_failure() unmaps the page from every process before telling the file. */
	kvm_gmem_invalidate(file->inode, folio->index, folio->index + folio_nr_pages(folio));
	kvm_gmem_unmap_host(file->inode, folio->index, folio->index + folio_nr_pages(folio));
	return 0;
}
