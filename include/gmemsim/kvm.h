/* SPDX-License-Identifier: MIT */
/*
 * VMs, memslots and a stage-2 model (virt/kvm/kvm_main.c and the x86 TDP
 * MMU's mapping-level rules): VM types, KVM_CHECK_EXTENSION answers, the
 * checks of KVM_SET_USER_MEMORY_REGION2 with guest_memfd binding, get_pfn
 * through a slot, and private guest faults mapped at the largest level the
 * folio, the slot's edges and the (base_gfn ^ pgoff) alignment allow.
 * Invalidations from guest_memfd (punch, release, memory failure) zap.
 */
#ifndef GMEMSIM_KVM_H
#define GMEMSIM_KVM_H

#include <gmemsim/compiler.h>
#include <gmemsim/gmem.h>
#include <gmemsim/kvm_uapi.h>
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
 */
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
};

/**
 * struct kvm - a VM
 * @type: KVM_X86_*_VM
 * @gmem: what guest_memfd needs of the VM (private memory, flags, profile, hooks)
 * @memslots: slot id -> struct kvm_memory_slot
 * @stage2: gfn of a leaf's first page -> xa_mk_value(level)
 * @nr_leaves: leaves mapped, by level
 */
struct kvm {
	unsigned long type;
	struct gs_gmem_vm_info gmem;
	struct xarray memslots;
	struct xarray stage2;
	unsigned long nr_leaves[PG_LEVEL_NUM];
};

/**
 * kvm_create_vm() - KVM_CREATE_VM
 * @type: KVM_X86_DEFAULT_VM .. KVM_X86_TDX_VM
 * @profile: the guest_memfd behaviour of the VM's files (HUGETLB is
 *           advertised by the design profile only)
 * @kvmp: set to the VM
 *
 * Context: process context.
 * Return: 0, -EINVAL for a type outside KVM_CAP_VM_TYPES, -ENOMEM.
 */
GS_API int kvm_create_vm(unsigned long type, enum gs_gmem_profile profile, struct kvm **kvmp);

/**
 * kvm_destroy_vm() - the last VM reference: slots deleted, stage-2 freed
 * @kvm: the VM; its guest_memfd files must be closed first
 *
 * Context: process context.
 */
GS_API void kvm_destroy_vm(struct kvm *kvm);

/**
 * kvm_vm_check_extension() - KVM_CHECK_EXTENSION
 * @kvm: the VM, or NULL for the system fd
 * @ext: KVM_CAP_*
 *
 * Context: any.
 * Return: the capability's value, 0 when unsupported.
 */
GS_API long kvm_vm_check_extension(const struct kvm *kvm, long ext);

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
 * kvm_tdp_map_private() - a private guest fault at @gfn
 * @kvm: the VM
 * @gfn: the faulting frame
 * @level: set to the level of the leaf that maps @gfn
 *
 * Context: process context.
 * Return: 0; -EFAULT (a memory-fault exit: no slot, or not a guest_memfd
 * slot); errors of kvm_slot_gmem_get_pfn(); -ENOMEM.
 */
GS_API int kvm_tdp_map_private(struct kvm *kvm, gfn_t gfn, int *level);

/** kvm_stage2_level() - level of the leaf mapping @gfn, 0 if unmapped */
GS_API int kvm_stage2_level(struct kvm *kvm, gfn_t gfn);

#endif /* GMEMSIM_KVM_H */
