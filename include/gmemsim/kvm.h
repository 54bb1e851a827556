/* SPDX-License-Identifier: MIT */
/*
 * VMs, memslots and a stage-2 model (virt/kvm/kvm_main.c and the x86 TDP
 * MMU's mapping-level rules): VM types, KVM_CHECK_EXTENSION answers, the
 * checks of KVM_SET_USER_MEMORY_REGION2 with guest_memfd binding, get_pfn
 * through a slot, and private guest faults mapped at the largest level the
 * folio, the slot's edges and the (base_gfn ^ pgoff) alignment allow.
 * Invalidations from guest_memfd (punch, release, memory failure) zap.
 *
 * Where PRIVATE lives follows the kvm.vm_memory_attributes module parameter
 * of the in-place conversion series: per VM and per gfn (legacy "dual
 * backing", KVM_SET_MEMORY_ATTRIBUTES on the VM fd) or in each guest_memfd's
 * shareability tree ("single backing").
 */
#ifndef GMEMSIM_KVM_H
#define GMEMSIM_KVM_H

#include <gmemsim/compiler.h>
#include <gmemsim/gmem.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/list.h>
#include <gmemsim/xarray.h>

typedef uint64_t gfn_t;

/* x86: 32767 slots minus the 3 private ones KVM keeps. */
#define KVM_USER_MEM_SLOTS   32764
#define KVM_MEM_MAX_NR_PAGES ((1UL << 31) - 1)
/* The user address space a memslot's userspace_addr must fit (access_ok()). */
#define GS_TASK_SIZE (1ULL << 47)

/* Stage-2 leaf levels (arch/x86 enum pg_level). */
enum pg_level {
	PG_LEVEL_4K = 1,
	PG_LEVEL_2M,
	PG_LEVEL_1G,
	PG_LEVEL_NUM,
};

/** kvm_level_pages() - 4 KiB pages a leaf of @level maps */
static inline unsigned long kvm_level_pages(int level)
{
	return 1UL << (9 * (level - 1));
}

/* A stage-2 leaf's value in kvm->stage2: its level and what it maps. */
#define KVM_LEAF_LEVEL_MASK 0x0fUL
#define KVM_LEAF_PRIVATE    0x10UL /* mapped by a private fault */
#define KVM_LEAF_GMEM	    0x20UL /* backed by guest_memfd, else by userspace_addr */

/**
 * struct kvm_params - the kvm module parameters a VM is created under
 * @profile: the guest_memfd behaviour of the VM's files (HUGETLB is
 *           advertised by the design profile only)
 * @vm_memory_attributes: kvm.vm_memory_attributes: true keeps PRIVATE per
 *           VM (legacy dual backing: KVM_SET_MEMORY_ATTRIBUTES, guest_memfd
 *           only ever private on CoCo VMs); false tracks it in guest_memfd
 *           (single backing: KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, INIT_SHARED
 *           for every VM type)
 * @gmem_no_hugetlb: guest_memfd does not offer HUGETLB even under the design
 *           profile (a host without HugeTLB support for guest_memfd)
 * @conversion: the ordering of in-place conversions of the VM's files
 *           (enum gs_gmem_conversion; 0 = planned, the design's)
 * @strategy: the VM's restructuring strategy (include/gmemsim/strategy.h),
 *           or NULL: the one gs_strategy_for_vm() gives for @conversion;
 *           when set, its flow is the VM's ordering and @conversion is ignored
 * @populate_eexist: kvm_gmem_populate() answers -EEXIST for a folio already
 *           uptodate, as upstream 6.8-6.1x did; current upstream runs
 *           post_populate again (spec §4.14)
 */
struct kvm_params {
	enum gs_gmem_profile profile;
	bool vm_memory_attributes;
	bool gmem_no_hugetlb;
	enum gs_gmem_conversion conversion;
	const struct gs_strategy *strategy;
	bool populate_eexist;
};

/**
 * struct kvm_arch_gmem_stats - what the arch's guest_memfd hooks did in one VM
 * @prepare_calls: kvm_arch_gmem_prepare() calls (every VM type counts them;
 *                 only SNP has work to do)
 * @prepare_pfns: SNP: pfns the calls assigned to the guest (RMP private);
 *                pfns already assigned are not counted again
 * @invalidate_pfns: SNP: assigned pfns kvm_arch_gmem_invalidate() gave
 *                 back (conversion to shared, or the folio leaving the page
 *                 cache)
 * @rmp_assigned: SNP: pfns assigned now
 * @populate_calls: launch helper calls (SNP_LAUNCH_UPDATE, TDX
 *                 INIT_MEM_REGION, the simulator's populate)
 * @populated: pages their post_populate step completed
 * @populate_copies: of those, pages copied from a source (the rest were in
 *                 place already: a NULL source, P16)
 */
struct kvm_arch_gmem_stats {
	unsigned long prepare_calls, prepare_pfns, invalidate_pfns, rmp_assigned;
	unsigned long populate_calls, populated, populate_copies;
};

/**
 * kvm_default_params() - the parameters a profile implies
 * @profile: design (attributes in guest_memfd) or upstream (per-VM attributes)
 *
 * Context: any.
 * Return: the parameters.
 */
GS_API struct kvm_params kvm_default_params(enum gs_gmem_profile profile);

/**
 * struct kvm_memory_slot - a memslot
 * @kvm: its VM
 * @id: slot id
 * @flags: KVM_MEM_*
 * @base_gfn: first guest frame
 * @npages: size in pages
 * @userspace_addr: the host address of the shared side
 * @gmem.file: the bound guest_memfd file; NULL once the file is released
 * @gmem.pgoff: file page of @base_gfn
 * @gmem_only: KVM_MEMSLOT_GMEM_ONLY: the file was mmap-able at binding, so
 *             shared accesses are served from it too, even after it closes
 */
/**
 * struct kvm_split_cache - a stage-2 split prepared and not yet done
 * @start: first frame of the range
 * @end: frame after the range
 * @target: the level the leaves are split to
 * @filter: the kinds of leaf split
 * @cover_base: first frame of the huge leaf reaching into the range from below
 * @cover: that leaf (0: none)
 * @pages: the page-table pages topped up for the split
 * @pending: prepared, neither committed nor cancelled
 *
 * What kvm_split_huge_leafs_prepare() leaves for kvm_split_huge_leafs_finish();
 * only lib/kvm/kvm.c reads the fields.
 */
struct kvm_split_cache {
	gfn_t start, end;
	int target;
	unsigned int filter;
	gfn_t cover_base;
	unsigned long cover;
	void *pages;
	bool pending;
};

struct kvm_memory_slot {
	struct kvm *kvm;
	uint16_t id;
	uint32_t flags;
	gfn_t base_gfn;
	unsigned long npages;
	uint64_t userspace_addr;
	struct {
		struct gmem_file *file;
		pgoff_t pgoff;
	} gmem;
	bool gmem_only;
	struct kvm_split_cache split;
};

/**
 * struct kvm - a VM
 * @type: KVM_X86_*_VM
 * @gmem: what guest_memfd needs of the VM (private memory, flags, profile, hooks)
 * @params: module parameters at creation
 * @memslots: slot id -> struct kvm_memory_slot
 * @mem_attr_array: gfn -> xa_mk_value(KVM_MEMORY_ATTRIBUTE_*), per-VM
 *                  attributes (vm_memory_attributes only); absent = shared
 * @stage2: gfn of a leaf's first page -> xa_mk_value(level | KVM_LEAF_*)
 * @nr_leaves: leaves mapped, by level
 * @list: in the list of live VMs (for the checker)
 * @users_count: the creator's reference plus one per guest_memfd file
 * @mmu_invalidate_in_progress: invalidations begun and not yet ended
 * @mmu_invalidate_seq: invalidations ended; a fault that began under an
 *                      older value retries
 * @mmu_invalidate_range_start: first frame of the in-progress range
 *                      (KVM_INVALID_GFN while none was added)
 * @mmu_invalidate_range_end: past its last frame
 * @rmp: SNP only: pfn -> xa_mk_value(gfn) for every pfn assigned to the
 *       guest (the RMP's private entries of this VM's pages)
 * @arch_stats: the arch hooks' counters
 */
struct kvm {
	unsigned long type;
	struct gs_gmem_vm_info gmem;
	struct kvm_params params;
	struct xarray memslots;
	struct xarray mem_attr_array;
	struct xarray stage2;
	unsigned long nr_leaves[PG_LEVEL_NUM];
	struct list_head list;
	int users_count;
	long mmu_invalidate_in_progress;
	unsigned long mmu_invalidate_seq;
	gfn_t mmu_invalidate_range_start;
	gfn_t mmu_invalidate_range_end;
	struct xarray rmp;
	struct kvm_arch_gmem_stats arch_stats;
};

/* No frame: the in-progress range is empty (the kernel's INVALID_GPA). */
#define KVM_INVALID_GFN (~(gfn_t)0)

/** gmem_vm_kvm() - the VM a guest_memfd's vm info belongs to (it is embedded in it) */
static inline struct kvm *gmem_vm_kvm(const struct gs_gmem_vm_info *vm)
{
	return container_of((struct gs_gmem_vm_info *)vm, struct kvm, gmem);
}

/**
 * kvm_create_vm_params() - KVM_CREATE_VM under explicit module parameters
 * @type: KVM_X86_DEFAULT_VM .. KVM_X86_TDX_VM
 * @params: the module parameters
 * @kvmp: set to the VM
 *
 * Context: process context.
 * Return: 0, -EINVAL for a type outside KVM_CAP_VM_TYPES, -ENOMEM.
 */
GS_API int kvm_create_vm_params(unsigned long type, const struct kvm_params *params,
				struct kvm **kvmp);

/**
 * kvm_create_vm() - KVM_CREATE_VM with the parameters @profile implies
 * @type: KVM_X86_DEFAULT_VM .. KVM_X86_TDX_VM
 * @profile: the guest_memfd behaviour of the VM's files
 * @kvmp: set to the VM
 *
 * Context: process context.
 * Return: as kvm_create_vm_params().
 */
GS_API int kvm_create_vm(unsigned long type, enum gs_gmem_profile profile, struct kvm **kvmp);

/**
 * kvm_destroy_vm() - drop the creator's reference (closing the VM fd)
 * @kvm: the VM
 *
 * The VM goes (slots deleted, stage-2 freed) with its last reference: every
 * guest_memfd file holds one, as upstream files do (spec rule 40).
 *
 * Context: process context.
 */
GS_API void kvm_destroy_vm(struct kvm *kvm);

/** kvm_get_kvm() - take a reference on @kvm */
GS_API void kvm_get_kvm(struct kvm *kvm);

/** kvm_put_kvm() - drop a reference; the last one frees the VM */
GS_API void kvm_put_kvm(struct kvm *kvm);

/**
 * kvm_vm_check_extension() - KVM_CHECK_EXTENSION
 * @kvm: the VM, or NULL for the system fd under the design's parameters
 * @ext: KVM_CAP_*
 *
 * Context: any.
 * Return: the capability's value, 0 when unsupported.
 */
GS_API long kvm_vm_check_extension(const struct kvm *kvm, long ext);

/**
 * kvm_dev_check_extension() - KVM_CHECK_EXTENSION on the system fd
 * @params: the module parameters
 * @ext: KVM_CAP_*
 *
 * Context: any.
 * Return: the capability's value, 0 when unsupported.
 */
GS_API long kvm_dev_check_extension(const struct kvm_params *params, long ext);

/**
 * kvm_vm_set_memory_attributes() - VM-level KVM_SET_MEMORY_ATTRIBUTES
 * @kvm: the VM
 * @attrs: the ioctl's argument
 *
 * Checks in kvm_vm_ioctl_set_mem_attributes()'s order (spec §1.8); a range
 * that already has the attributes is done; otherwise every gfn that needs
 * an entry gets one before anything changes; on a TDX VM turning a range
 * shared, the private huge leaves across its edges are split
 * (kvm_split_cross_boundary_leafs(), may ENOMEM); then the range's stage-2
 * leaves are zapped and the attributes stored. All or nothing.
 *
 * Context: process context (slots_lock).
 * Return: 0; -EINVAL (flags, attributes outside KVM_CAP_MEMORY_ATTRIBUTES,
 * empty or wrapping range, unaligned); -ENOMEM.
 */
GS_API int kvm_vm_set_memory_attributes(struct kvm *kvm,
					const struct gs_kvm_memory_attributes *attrs);

/**
 * kvm_mem_is_private() - whether @gfn is private for guest faults
 * @kvm: the VM
 * @gfn: the frame
 *
 * Per-VM attributes under vm_memory_attributes; else the shareability of
 * the guest_memfd page the gfn's slot binds (a gfn without one is shared).
 *
 * Context: process context.
 * Return: true when private.
 */
GS_API bool kvm_mem_is_private(struct kvm *kvm, gfn_t gfn);

/**
 * kvm_vm_create_guest_memfd() - KVM_CREATE_GUEST_MEMFD on a VM
 * @kvm: the VM
 * @args: the ioctl's argument
 * @filep: set to the new file
 *
 * Context: process context.
 * Return: as kvm_gmem_create().
 */
GS_API int kvm_vm_create_guest_memfd(struct kvm *kvm, const struct gs_kvm_create_guest_memfd *args,
				     struct gmem_file **filep);

/**
 * kvm_set_user_memory_region2() - KVM_SET_USER_MEMORY_REGION2
 * @kvm: the VM
 * @mem: the ioctl's argument
 * @gmem: the file @mem->guest_memfd names, NULL when that fd is not open
 *        (the fd table belongs to the uAPI layer); ignored without
 *        KVM_MEM_GUEST_MEMFD
 *
 * Checks in kvm_set_memory_region()'s order (spec §1.6): flags, alignment
 * and access_ok, the guest_memfd offset, slot id and sizes, deletion,
 * modification of a guest_memfd slot, overlap (EEXIST); then the binding.
 *
 * Context: process context.
 * Return: 0, -EINVAL, -EEXIST, -EBADF, -ENOMEM.
 */
GS_API int kvm_set_user_memory_region2(struct kvm *kvm,
				       const struct gs_kvm_userspace_memory_region2 *mem,
				       struct gmem_file *gmem);

/** kvm_find_slot() - the slot holding @gfn, or NULL */
GS_API struct kvm_memory_slot *kvm_find_slot(struct kvm *kvm, gfn_t gfn);

/**
 * kvm_slot_gmem_get_pfn() - kvm_gmem_get_pfn() for a guest frame of @slot
 * @slot: a guest_memfd slot
 * @gfn: the frame
 * @pfn: set to the pfn
 * @max_order: set to the folio's order
 *
 * Context: process context.
 * Return: 0; -EFAULT once the file is released; -EIO when the page is
 * bound to another slot; errors of kvm_gmem_get_pfn().
 */
GS_API int kvm_slot_gmem_get_pfn(struct kvm_memory_slot *slot, gfn_t gfn, unsigned long *pfn,
				 int *max_order);

/**
 * struct kvm_fault - one guest (TDP) fault and how it ended
 * @gfn: the faulting frame
 * @private: the access was private (the CoCo guest's C-bit / shared bit)
 * @level: out: level of the leaf that maps @gfn, 0 when none was made
 * @exit_reason: out: 0 (the guest runs on), GS_KVM_EXIT_MMIO (a shared
 *               access with no memslot: emulated MMIO) or
 *               GS_KVM_EXIT_MEMORY_FAULT (userspace must act: convert, or
 *               the backing failed)
 * @memory_fault_flags: out: GS_KVM_MEMORY_EXIT_FLAG_PRIVATE for a private
 *               access that exited with KVM_EXIT_MEMORY_FAULT
 * @from_gmem: out: the pfn came from guest_memfd (not userspace_addr)
 */
struct kvm_fault {
	gfn_t gfn;
	bool private;
	int level;
	uint32_t exit_reason;
	uint64_t memory_fault_flags;
	bool from_gmem;
};

/**
 * kvm_tdp_page_fault() - a guest fault through the TDP MMU
 * @kvm: the VM
 * @fault: the fault; the out fields are set
 *
 * A private access to a shared gfn (or the reverse) exits to userspace
 * with KVM_EXIT_MEMORY_FAULT; private accesses and shared ones in
 * guest_memfd-only (MMAP) slots are served from guest_memfd, other shared
 * accesses from userspace_addr (modelled as 4 KiB host pages). The leaf is
 * as large as the folio, the slot's edges, the (base_gfn ^ pgoff)
 * alignment and homogeneous attributes allow.
 *
 * A fault on a frame of an invalidation in progress (or one that began
 * before an invalidation ended) maps nothing and returns -EAGAIN: the
 * kernel's RET_PF_RETRY, after which the guest faults again.
 *
 * Context: process context (KVM_RUN).
 * Return: 0 (mapped, or an MMIO exit); -EAGAIN (retry); -EFAULT with a
 * memory-fault exit; other errors of kvm_slot_gmem_get_pfn() (-EHWPOISON,
 * -ENOMEM, -EIO), also with a memory-fault exit, as KVM_RUN returns them.
 */
GS_API int kvm_tdp_page_fault(struct kvm *kvm, struct kvm_fault *fault);

/**
 * kvm_tdp_map_private() - a private guest fault at @gfn
 * @kvm: the VM
 * @gfn: the faulting frame
 * @level: set to the level of the leaf that maps @gfn
 *
 * Context: process context.
 * Return: as kvm_tdp_page_fault().
 */
GS_API int kvm_tdp_map_private(struct kvm *kvm, gfn_t gfn, int *level);

/** kvm_stage2_level() - level of the leaf mapping @gfn, 0 if unmapped */
GS_API int kvm_stage2_level(struct kvm *kvm, gfn_t gfn);

/** kvm_stage2_leaf() - the KVM_LEAF_* value of the leaf mapping @gfn, 0 if unmapped */
GS_API unsigned long kvm_stage2_leaf(struct kvm *kvm, gfn_t gfn);

/**
 * gs_kvm_count_leaves() - stage-2 leaves by level, summed over every VM (metrics)
 * @leaves: indexed by enum pg_level; set, not added to
 *
 * Context: between operations.
 */
GS_API void gs_kvm_count_leaves(unsigned long leaves[PG_LEVEL_NUM]);

/**
 * struct kvm_gfn_range - frames an MMU operation applies to
 * @slot: the memslot holding them, or NULL (only the frames matter here)
 * @start: first frame
 * @end: past the last frame
 * @attr_filter: the kinds of leaf it applies to (enum kvm_gfn_range_filter)
 */
struct kvm_gfn_range {
	struct kvm_memory_slot *slot;
	gfn_t start;
	gfn_t end;
	unsigned int attr_filter;
};

/**
 * kvm_mmu_invalidate_begin() - start an invalidation
 * @kvm: the VM
 *
 * From now until the matching kvm_mmu_invalidate_end(), a guest fault on a
 * frame of a range added with kvm_mmu_invalidate_range_add() returns
 * -EAGAIN (the kernel's RET_PF_RETRY), so no fault can map a pfn that the
 * invalidation is taking away. Invalidations nest.
 *
 * Context: mmu_lock.
 */
GS_API void kvm_mmu_invalidate_begin(struct kvm *kvm);

/**
 * kvm_mmu_invalidate_range_add() - widen the in-progress range
 * @kvm: the VM
 * @start: first frame
 * @end: past the last frame
 *
 * The range is the smallest one covering every added range (one range per
 * VM, as the kernel keeps). WARNs without an invalidation in progress.
 *
 * Context: mmu_lock, between begin and end.
 */
GS_API void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end);

/**
 * kvm_mmu_invalidate_end() - finish an invalidation
 * @kvm: the VM
 *
 * Bumps mmu_invalidate_seq, so faults that began before retry. WARNs (and
 * changes nothing) without a matching begin; WARNs when no range was added
 * since the outermost begin.
 *
 * Context: mmu_lock.
 */
GS_API void kvm_mmu_invalidate_end(struct kvm *kvm);

/**
 * mmu_invalidate_retry_gfn() - must a fault on @gfn start again?
 * @kvm: the VM
 * @mmu_seq: mmu_invalidate_seq when the fault began
 * @gfn: the faulting frame
 *
 * Context: mmu_lock.
 * Return: true when @gfn is in the in-progress range, or an invalidation
 * ended since the fault began.
 */
GS_API bool mmu_invalidate_retry_gfn(const struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn);

/**
 * kvm_unmap_gfn_range() - zap the leaves of @range's kinds in its frames
 * @kvm: the VM
 * @range: the frames and the filter
 *
 * A huge leaf that reaches into the range goes whole (split it first with
 * kvm_split_cross_boundary_leafs() to keep the frames outside mapped).
 * Costs the leaves in the range plus one look-up per level: never the
 * leaves around it.
 *
 * Context: mmu_lock, inside an invalidation.
 * Return: true when a leaf was zapped (a TLB flush is due).
 */
GS_API bool kvm_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range);

/**
 * kvm_mmu_unmap_gfn_range() - add @range to the invalidation, then zap it
 * @kvm: the VM
 * @range: the frames and the filter
 *
 * What guest_memfd's invalidate_begin does per slot.
 *
 * Context: mmu_lock, inside an invalidation.
 * Return: as kvm_unmap_gfn_range().
 */
GS_API bool kvm_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range);

/**
 * kvm_split_cross_boundary_leafs() - split the huge leaves across @range's edges
 * @kvm: the VM
 * @range: the frames and the kinds of leaf to split
 *
 * A leaf of a kind in @range->attr_filter that maps frames both inside and
 * outside [start, end) is split into 512 leaves of the next level down, and
 * the one of those holding the edge again while it still crosses it (a 1G
 * leaf around a 4 KiB edge: 511 2M leaves and 512 4K ones); each new leaf
 * keeps the attributes of the old. Leaves inside the range stay whole.
 * The page-table pages are topped up first (site kvm.mmu_cache) and the new
 * leaves inserted before any old one changes, so a failure leaves stage-2
 * exactly as it was.
 *
 * Context: mmu_lock; guest_memfd calls it before its point of no return.
 * Return: 0; -ENOMEM.
 */
GS_API int kvm_split_cross_boundary_leafs(struct kvm *kvm, struct kvm_gfn_range *range);

/**
 * kvm_split_huge_leafs() - split every huge leaf of @range down to @target_level
 * @kvm: the VM
 * @range: the frames and the kinds of leaf to split
 * @target_level: PG_LEVEL_4K or PG_LEVEL_2M: no leaf of the kinds in
 *                @range->attr_filter that overlaps the range stays larger
 *
 * What splitting a folio under its mappings needs (spec P40: the mapping
 * must never exceed the folio): before guest_memfd splits a huge folio to
 * order 0, every private leaf over it becomes 4K (a 1G leaf: 512 page
 * tables' worth, 262,144 leaves). The TDX series does it with
 * tdp_mmu_split_huge_pages_root(); a leaf reaching into the range from
 * below is split whole. Page-table pages are topped up first (one per table
 * filled, site kvm.mmu_cache), then every piece is inserted before any old
 * leaf changes, so a failure leaves stage-2 exactly as it was.
 *
 * Context: mmu_lock; before guest_memfd's point of no return.
 * Return: 0 (also when nothing needed splitting); -ENOMEM.
 */
GS_API int kvm_split_huge_leafs(struct kvm *kvm, struct kvm_gfn_range *range, int target_level);

/**
 * kvm_gmem_populate() - copy initial guest memory into guest_memfd (CoCo launch)
 * @kvm: the VM
 * @start_gfn: first frame
 * @src: @npages source pages, or NULL (the data is in place already)
 * @npages: pages
 * @post_populate: the arch step for each page
 * @opaque: its argument
 *
 * The frame's slot must be a guest_memfd slot (-EINVAL) whose file is open
 * (-EFAULT); @npages is clamped to the slot's end. Then page by page
 * __kvm_gmem_populate(), each gfn required to be PRIVATE (-EINVAL),
 * stopping at the first error.
 *
 * Context: process context (slots_lock).
 * Return: the pages done if any, else the first error; -EINVAL for
 * @npages <= 0.
 */
GS_API long kvm_gmem_populate(struct kvm *kvm, gfn_t start_gfn, const void *src, long npages,
			      kvm_gmem_populate_cb post_populate, void *opaque);

/**
 * snp_launch_update() - KVM_SEV_SNP_LAUNCH_UPDATE (normal pages) on an SNP VM
 * @kvm: the VM
 * @gfn: first frame
 * @src: the source (uaddr), or NULL: optional only with in-place
 *       conversion (P16), else -EINVAL
 * @npages: pages
 *
 * kvm_gmem_populate() with SEV's post_populate: the pfn's RMP entry must
 * still be shared (-EINVAL: populated or prepared already), the source is
 * copied in, and the pfn is assigned to the guest.
 *
 * Context: process context.
 * Return: as kvm_gmem_populate(); -EINVAL for another VM type.
 */
GS_API long snp_launch_update(struct kvm *kvm, gfn_t gfn, const void *src, long npages);

/**
 * tdx_init_mem_region() - KVM_TDX_INIT_MEM_REGION on a TDX VM
 * @kvm: the VM
 * @gfn: first frame
 * @src: the source, or NULL: allowed only with in-place conversion (P16)
 * @npages: pages
 *
 * kvm_gmem_populate() with TDX's post_populate (TDH.MEM.PAGE.ADD: the
 * source copied into the private page; with NULL the page's own data).
 *
 * Context: process context.
 * Return: as kvm_gmem_populate(); -EINVAL for another VM type.
 */
GS_API long tdx_init_mem_region(struct kvm *kvm, gfn_t gfn, const void *src, long npages);

/**
 * gs_kvm_launch_populate() - the VM type's launch helper
 * @kvm: the VM
 * @gfn: first frame
 * @src: the source, or NULL (P16: in-place conversion only)
 * @npages: pages
 *
 * SNP: snp_launch_update(); TDX: tdx_init_mem_region(); any other VM with
 * private memory (sw_protected): kvm_gmem_populate() with a post_populate
 * that copies the source, the simulator's stand-in (no kernel ioctl does
 * this for those types).
 *
 * Context: process context.
 * Return: as kvm_gmem_populate(); -EINVAL for a VM without private memory.
 */
GS_API long gs_kvm_launch_populate(struct kvm *kvm, gfn_t gfn, const void *src, long npages);

/**
 * kvm_split_huge_leafs_prepare() - every fallible step of kvm_split_huge_leafs()
 * @kvm: the VM
 * @range: as for kvm_split_huge_leafs()
 * @target_level: as for kvm_split_huge_leafs()
 * @sc: where the prepared split is kept
 *
 * The page-table pages are topped up (site kvm.mmu_cache, the kernel's
 * kvm_mmu_topup_memory_cache()) and the new leaves inserted beside the old
 * ones, which still map the frames: no leaf the guest or the counters see
 * has changed. kvm_split_huge_leafs_finish() then commits (cannot fail) or
 * cancels (stage-2 exactly as before). For callers that must prepare other
 * work before the split happens (guest_memfd's planned conversion, P37).
 *
 * Context: mmu_lock, held until the finish.
 * Return: 0 (@sc pending, or nothing to split); -ENOMEM (nothing changed).
 */
GS_API int kvm_split_huge_leafs_prepare(struct kvm *kvm, struct kvm_gfn_range *range,
					int target_level, struct kvm_split_cache *sc);

/**
 * kvm_split_huge_leafs_finish() - commit or cancel a prepared split
 * @kvm: the VM
 * @sc: as kvm_split_huge_leafs_prepare() left it (nothing pending: no-op)
 * @commit: true to split, false to put stage-2 back as it was
 *
 * Context: mmu_lock.
 */
GS_API void kvm_split_huge_leafs_finish(struct kvm *kvm, struct kvm_split_cache *sc, bool commit);

struct gs_state;

/**
 * kvm_dump_state() - a VM's state as records of a state snapshot
 * @st: the snapshot (<gmemsim/state.h>)
 * @path: where the VM's records go ("objects/vm0")
 * @kvm: the VM
 *
 * Its type, where memory attributes live, leaves by level, private gfns
 * (per-VM attributes) and every stage-2 leaf with its level and source.
 *
 * Context: any.
 */
GS_API void kvm_dump_state(struct gs_state *st, const char *path, struct kvm *kvm);

#endif /* GMEMSIM_KVM_H */
