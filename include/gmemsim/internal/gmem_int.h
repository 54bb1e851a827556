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
 * kvm_gmem_merge_truncate_range() - remove the folios of file pages [start,
 * end) (page-size aligned), as the HugeTLB WIP branch's punch and eviction
 * do (spec P36): guest mappings zapped (private leaves crossing the edges
 * split first), host mappings removed, every split huge page wholly in the
 * range merged back when only the page cache holds its pieces, then
 * truncated: st_blocks lowered, the page cache's references dropped.
 * @require_merge (punch): a piece pinned (referenced beyond the page cache
 * and host mappings) is -EAGAIN, and the failed stage-2 split -ENOMEM, both
 * before anything changed. Without it (eviction, undoing an allocation)
 * it never fails: a page that cannot merge is truncated piece by piece and
 * merged later by the deferred worker (P27).
 */
int kvm_gmem_merge_truncate_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				  bool require_merge);

/* kvm_gmem_truncate_range() - kvm_gmem_merge_truncate_range() best effort. */
void kvm_gmem_truncate_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/*
 * kvm_gmem_truncate_unmapped() - remove folios nobody can have mapped (those
 * a failed allocation added): merged where split and truncated, with no
 * invalidation of guest or host mappings, which map something else there.
 */
void kvm_gmem_truncate_unmapped(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/* kvm_gmem_unmap_host() - unmap_mapping_range() over file pages [start, end). */
void kvm_gmem_unmap_host(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/* kvm_gmem_zap_vma() - zap_page_range_single() over mapping pages [first, last] of @vma. */
void kvm_gmem_zap_vma(struct gmem_vma *vma, unsigned long first, unsigned long last);

/*
 * kvm_gmem_arch_invalidate_hook() - the hook kvm_arch_gmem_invalidate()
 * calls for @inode's pfns, or NULL when there is none or it has nothing to
 * do now (@gmem_invalidate_needed). Read once per conversion or truncation:
 * no VM is created or destroyed under one.
 */
typedef void (*kvm_gmem_arch_invalidate_fn)(unsigned long start, unsigned long end);

static inline kvm_gmem_arch_invalidate_fn
kvm_gmem_arch_invalidate_hook(const struct gmem_inode *inode)
{
	const struct gmem_kvm_ops *arch = inode->arch;

	if (!arch || !arch->gmem_invalidate ||
	    (arch->gmem_invalidate_needed && !arch->gmem_invalidate_needed()))
		return NULL;
	return arch->gmem_invalidate;
}

/*
 * kvm_gmem_invalidate() - zap the guest mappings of [start, end) in every
 * bound slot: invalidate begin with the filter of the range's attributes,
 * then end.
 */
void kvm_gmem_invalidate(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/*
 * kvm_gmem_get_invalidate_filter() - the kinds of stage-2 leaf file pages
 * [start, end) can have (enum kvm_gfn_range_filter), from their
 * shareability (spec P13): KVM_FILTER_PRIVATE, KVM_FILTER_SHARED or both.
 */
unsigned int kvm_gmem_get_invalidate_filter(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/*
 * kvm_gmem_invalidate_begin() - for every VM with a slot bound to [start,
 * end): kvm_mmu_invalidate_begin(), then in each such slot add the range
 * and zap its leaves of the kinds in @attr_filter. Guest faults there retry
 * until kvm_gmem_invalidate_end() with the same range. Cannot fail.
 */
void kvm_gmem_invalidate_begin(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			       unsigned int attr_filter);

/* kvm_gmem_invalidate_end() - the kvm_mmu_invalidate_end() of each begin above. */
void kvm_gmem_invalidate_end(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/*
 * kvm_gmem_split_cross_boundary_leafs() - in every slot bound to [start,
 * end), split the huge leaves of the kinds in @attr_filter that cross the
 * range's edges (kvm_split_cross_boundary_leafs(), spec P40). 0, or -ENOMEM
 * with that slot's stage-2 unchanged (slots done before it keep their finer
 * leaves, which map what they mapped). Call before the point of no return.
 */
int kvm_gmem_split_cross_boundary_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
					unsigned int attr_filter);

/*
 * kvm_gmem_split_huge_leafs() - in every slot bound to [start, end), split
 * the leaves of the kinds in @attr_filter larger than 2^@order pages
 * (kvm_split_huge_leafs()): what splitting the folios of the range to
 * @order needs first (P40). 0, or -ENOMEM as above.
 */
int kvm_gmem_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			      unsigned int attr_filter, unsigned int order);

/*
 * kvm_gmem_prepare_split_huge_leafs() - kvm_gmem_split_huge_leafs()'s
 * fallible half in every slot bound to [start, end) (the MMU cache topped
 * up, the new leaves inserted beside the old): 0 with the splits pending,
 * or -ENOMEM with every slot as it was. kvm_gmem_finish_split_huge_leafs()
 * then commits or cancels them all; it cannot fail.
 */
int kvm_gmem_prepare_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				      unsigned int attr_filter, unsigned int order);
void kvm_gmem_finish_split_huge_leafs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				      bool commit);

/* --- gmem_restructure.c: when a HugeTLB file's huge folios split or merge --- */

/* kvm_gmem_range_private() - every page of [start, end) is private. */
bool kvm_gmem_range_private(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/*
 * kvm_gmem_split_fresh_folio() - P34: a fresh huge folio (in the page cache,
 * holding the allocation's reference) whose huge page is not all private is
 * split to order 0; *foliop becomes the piece at @index, which keeps that
 * reference. 0, or the split's error with the folio removed from the page
 * cache again (the caller drops its reference).
 */
int kvm_gmem_split_fresh_folio(struct gmem_inode *inode, struct folio **foliop, pgoff_t index);

/* kvm_gmem_whole_huge_folio() - the unsplit huge folio of the page holding @index, or NULL. */
struct folio *kvm_gmem_whole_huge_folio(struct gmem_inode *inode, pgoff_t index);

/*
 * kvm_gmem_split_huge_folio() - split a whole huge folio of the file to
 * order 0 (caller holds no reference; its stage-2 leaves are already no
 * larger than 4 KiB). 0, -ENOMEM or -EAGAIN with nothing changed.
 */
int kvm_gmem_split_huge_folio(struct gmem_inode *inode, struct folio *folio);

struct hugetlb_split_prep;

/*
 * kvm_gmem_prepare_split_huge_folio() - kvm_gmem_split_huge_folio()'s
 * fallible half (hugetlb_restructuring_prepare_split()): 0 with the split
 * pending in @prep (commit or cancel it with the restructuring's calls),
 * or -ENOMEM / -EAGAIN with nothing changed.
 */
int kvm_gmem_prepare_split_huge_folio(struct gmem_inode *inode, struct folio *folio,
				      struct hugetlb_split_prep *prep);

/*
 * kvm_gmem_prepare_split_toward() - the same for a conversion of [start,
 * end) to shared under @vm's strategy: a whole 1 GiB folio whose strategy
 * splits to 2 MiB (split_order) splits to 2 MiB pieces, those overlapping
 * [start, end) on to 4 KiB; *pmd says so. A 2 MiB piece splits to 4 KiB.
 */
int kvm_gmem_prepare_split_toward(struct gmem_inode *inode, const struct gs_gmem_vm_info *vm,
				  struct folio *folio, pgoff_t start, pgoff_t end,
				  struct hugetlb_split_prep *prep, bool *pmd);

/*
 * kvm_gmem_split_piece_at() - the 2 MiB piece of a split 1 GiB page holding
 * @index, or NULL (a whole folio, 4 KiB pieces, a 2 MiB file).
 */
struct folio *kvm_gmem_split_piece_at(struct gmem_inode *inode, pgoff_t index);

/*
 * kvm_gmem_prepare_merge_piece() - may the 4 KiB pieces of the 2 MiB range
 * at @r of a split 1 GiB page merge to one 2 MiB piece now? 1: nothing to
 * merge there; 0: yes (the store's node reserved); -EAGAIN, -ENOMEM.
 * kvm_gmem_merge_piece() then merges it; it cannot fail.
 */
int kvm_gmem_prepare_merge_piece(struct gmem_inode *inode, pgoff_t r);
void kvm_gmem_merge_piece(struct gmem_inode *inode, pgoff_t r);

/*
 * kvm_gmem_cancel_merge() - undo a kvm_gmem_prepare_merge() whose merge
 * will not happen (HVO of the pieces put back without allocating).
 */
void kvm_gmem_cancel_merge(struct gmem_inode *inode, pgoff_t base);

/*
 * kvm_gmem_prepare_merge() - may the split huge page at @base merge now?
 * 1: nothing to merge (not split, or pieces missing from the page cache);
 * 0: yes, and the merge's fallible steps are done (HVO restored on the
 * pieces, the page-cache node its store may need reserved in
 * inode->merge_reserve); -EAGAIN (a piece is referenced), -EBUSY (mapped)
 * or -ENOMEM with nothing changed but the reserve.
 */
int kvm_gmem_prepare_merge(struct gmem_inode *inode, pgoff_t base);

/*
 * kvm_gmem_merge_reserve() - reserve the nodes the page-cache store of a
 * merge at @base needs (none unless a truncation shrank the tree): 0 or
 * -ENOMEM. kvm_gmem_merge_reserve_free() - free what merges left of it, at
 * the end of the operation that reserved.
 */
int kvm_gmem_merge_reserve(struct gmem_inode *inode, pgoff_t base, gfp_t gfp);
void kvm_gmem_merge_reserve_free(struct gmem_inode *inode);

/*
 * kvm_gmem_merge_huge_page() - merge the prepared huge page at @base back
 * into one folio of the page order (HVO redone). Cannot fail; a failure is
 * a WARN.
 */
void kvm_gmem_merge_huge_page(struct gmem_inode *inode, pgoff_t base);

/*
 * kvm_gmem_merge_for_undo() - before an allocation that failed is undone:
 * merge back a huge page at @base that was split fresh (P34), so that its
 * truncation gives the whole page back to the pool at once rather than
 * leaving the pieces waiting for the deferred merge. Nothing when it is not
 * split or cannot merge.
 */
void kvm_gmem_merge_for_undo(struct gmem_inode *inode, pgoff_t base);

/* --- the VM's restructuring strategy (gmem_strategy.c, include/gmemsim/strategy.h) --- */

struct gs_strategy_fault;

/* get_pfn's max_order under @vm's strategy (the built-in of its ordering when it names none). */
unsigned int gmem_strategy_max_order(const struct gs_gmem_vm_info *vm,
				     const struct gs_strategy_fault *fault);

/* To private: does @vm's strategy merge the all-private huge page of @inode at @h now? */
bool gmem_strategy_merge(const struct gs_gmem_vm_info *vm, const struct gmem_inode *inode,
			 pgoff_t h);

struct gs_strategy_split;

/* To shared: the order @vm's strategy splits a folio to (0, or 9 for a 1 GiB folio). */
unsigned int gmem_strategy_split_order(const struct gs_gmem_vm_info *vm,
				       const struct gs_strategy_split *split);

/* To private: the smallest order the pieces of the split page at @h merge to. */
unsigned int gmem_strategy_merge_order(const struct gs_gmem_vm_info *vm,
				       const struct gmem_inode *inode, pgoff_t h);

/* gmem_strategy_thp() - the VM's strategy gives its files without HugeTLB the thp backing. */
bool gmem_strategy_thp(const struct gs_gmem_vm_info *vm);

/* The ops of @vm's strategy (the built-in of its ordering when it names none): a file keeps them. */
const struct gs_strategy_ops *gmem_strategy_ops(const struct gs_gmem_vm_info *vm);

struct gs_strategy_alloc;
struct gs_strategy_punch;

/*
 * The ABI-3 hooks of a file's strategy (@ops may be NULL: the kernel's
 * rules), their answers checked: an answer out of range, or two different
 * answers to the same question, WARN and give the kernel's rule.
 */
/* Preallocation: 9 (a whole 2 MiB folio) or 0 (only the page asked for). */
unsigned int gmem_strategy_alloc_order(const struct gs_strategy_ops *ops,
				       const struct gs_strategy_alloc *alloc);
/* A punch into a THP: enum gs_strategy_punch_action. */
unsigned int gmem_strategy_punch(const struct gs_strategy_ops *ops,
				 const struct gs_strategy_punch *punch);
/* The split page of @inode at @h leaves the page cache: enum gs_strategy_free_action. */
unsigned int gmem_strategy_free_split(const struct gmem_inode *inode, pgoff_t h);

/* --- the thp backing (gmem_thp.c) --- */

/*
 * kvm_gmem_thp_alloc() - a new folio for @index of a thp file: order 9 at
 * *@base (the aligned block) when the block is wholly in the file, of one
 * shareability, empty, and a 2 MiB block is free; else order 0 at *@base =
 * @index. NULL: no memory at all.
 */
struct folio *kvm_gmem_thp_alloc(struct gmem_inode *inode, pgoff_t index, pgoff_t *base);

struct gs_state;
/* The inode's memory policy ranges as state records (lib/guest_memfd/gmem_mempolicy.c). */
void kvm_gmem_policy_state(struct gs_state *st, const char *path, const struct gmem_inode *inode);

/*
 * kvm_gmem_thp_split() - split_huge_page() of a THP the page cache holds:
 * -EAGAIN while someone but the page cache and the host's mappings holds
 * it, -ENOMEM without the page cache's node, both before anything changed.
 */
int kvm_gmem_thp_split(struct gmem_inode *inode, struct folio *folio);

/*
 * kvm_gmem_thp_split_range() - before a conversion of [start, end) to
 * shared: split every THP it touches that has a private page (host
 * mappings of each go first). -EAGAIN (*err_index: the folio, at least
 * @start) while a page of one is referenced beyond the page cache, -ENOMEM
 * (the page cache's node); the folios split before stay split (*@partial
 * set once one is). 0 for @to_private and for a file without the thp
 * backing.
 */
int kvm_gmem_thp_split_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
			     pgoff_t *err_index, bool *partial);

/*
 * kvm_gmem_thp_trim() - before truncating [*start, *end) of a thp file:
 * split the THPs across the edges; where a split is refused (the folio is
 * held), zero that THP's part of the range and shrink the range to leave
 * it out (truncate_inode_partial_folio()). -ENOMEM (a private stage-2 leaf
 * across an edge, or the page cache's node) before the folios change.
 */
int kvm_gmem_thp_trim(struct gmem_inode *inode, pgoff_t *start, pgoff_t *end);

/*
 * kvm_gmem_punch_convert() - the punch-hole strategy's conversion of [start,
 * end) of a file without HugeTLB: the range is punched (contents lost; a
 * THP across an edge split, or zeroed in part when pinned). -ENOMEM (the
 * stage-2 split of a crossing leaf) before the punch; the caller stores
 * the new attribute after it (gmem_punch_convert.c).
 */
int kvm_gmem_punch_convert(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

#endif /* GS_LIB_GMEM_INT_H */
