/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the guest_memfd files (lib/guest_memfd/): folio lookup
 * and allocation and zeroing on first use (gmem.c), truncation and the host
 * and guest invalidations it needs (gmem_truncate.c, which calls none of the
 * others). Not installed.
 */
#ifndef GS_LIB_GMEM_INT_H
#define GS_LIB_GMEM_INT_H

#include <gmemsim/gmem.h>

/*
 * kvm_gmem_get_folio() - the folio holding file page @index; with @create, a
 * new one of the file's page size is allocated and inserted if missing (the
 * page cache takes folio_nr_pages() references on it). Unlike the kernel's,
 * it returns no reference: a caller that must count the lookup reference (a
 * refcount check of nr_pages + 1) takes it with folio_get() and drops it.
 * Returns NULL with *err = 0 (absent) or -ENOMEM.
 */
struct folio *kvm_gmem_get_folio(struct gmem_inode *inode, pgoff_t index, bool create, int *err);

/* kvm_gmem_zero_folio() - zero a folio on its first use and mark it uptodate. */
void kvm_gmem_zero_folio(struct folio *folio);

/*
 * kvm_gmem_truncate_range() - remove the folios of file pages [start, end)
 * (page-size aligned): guest mappings zapped, host mappings removed,
 * st_blocks lowered, the filemap's reference dropped.
 */
void kvm_gmem_truncate_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/* kvm_gmem_unmap_host() - unmap_mapping_range() over file pages [start, end). */
void kvm_gmem_unmap_host(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/* kvm_gmem_zap_vma() - zap_page_range_single() over mapping pages [first, last] of @vma. */
void kvm_gmem_zap_vma(struct gmem_vma *vma, unsigned long first, unsigned long last);

/* kvm_gmem_invalidate() - zap the guest mappings of [start, end) in every bound slot. */
void kvm_gmem_invalidate(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

#endif /* GS_LIB_GMEM_INT_H */
