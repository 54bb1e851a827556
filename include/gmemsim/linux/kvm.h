/* SPDX-License-Identifier: MIT */
/*
 * The KVM uAPI that guest_memfd uses: ioctl numbers, capabilities, flags and
 * struct layouts with the values of include/uapi/linux/kvm.h (upstream), plus
 * the proposed ones the project models (in-place conversion v8, HugeTLB).
 * Written here rather than taken from the host's <linux/kvm.h>, which on
 * Debian 12 predates guest_memfd; the numbers are interface facts (see
 * ../shared/spec/guest_memfd.md §0), the layouts are checked by static asserts.
 * Names carry a GS_ prefix only where the host header could define them too.
 */
#ifndef GMEMSIM_KVM_UAPI_H
#define GMEMSIM_KVM_UAPI_H

#include <linux/ioctl.h>
#include <stdint.h>

#define GS_KVMIO 0xAE

/* System and VM ioctls */
#define GS_KVM_GET_API_VERSION	       _IO(GS_KVMIO, 0x00)
#define GS_KVM_CREATE_VM	       _IO(GS_KVMIO, 0x01)
#define GS_KVM_CHECK_EXTENSION	       _IO(GS_KVMIO, 0x03)
#define GS_KVM_SET_USER_MEMORY_REGION2 _IOW(GS_KVMIO, 0x49, struct gs_kvm_userspace_memory_region2)
#define GS_KVM_SET_MEMORY_ATTRIBUTES   _IOW(GS_KVMIO, 0xd2, struct gs_kvm_memory_attributes)
#define GS_KVM_CREATE_GUEST_MEMFD      _IOWR(GS_KVMIO, 0xd4, struct gs_kvm_create_guest_memfd)
/* Proposed (in-place conversion v8): issued on the guest_memfd fd. */
#define GS_KVM_SET_MEMORY_ATTRIBUTES2 _IOWR(GS_KVMIO, 0xd2, struct gs_kvm_memory_attributes2)

/* Capabilities */
#define GS_KVM_CAP_USER_MEMORY2			 231
#define GS_KVM_CAP_MEMORY_ATTRIBUTES		 233
#define GS_KVM_CAP_GUEST_MEMFD			 234
#define GS_KVM_CAP_VM_TYPES			 235
#define GS_KVM_CAP_GUEST_MEMFD_FLAGS		 244
#define GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES 250 /* proposed, v8 */

/* guest_memfd creation flags */
#define GS_GUEST_MEMFD_FLAG_MMAP	(1ULL << 0)
#define GS_GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)
/* Proposed (HugeTLB on in-place conversion): with a page order in the struct. */
#define GS_GUEST_MEMFD_FLAG_HUGETLB (1ULL << 2)
/*
 * Simulator-only: the historical KVM_GUEST_MEMFD_ALLOW_HUGEPAGE (seeds 001,
 * 002; bit 0 in those series, taken by MMAP since): best-effort 2 MiB
 * folios, the size a multiple of 2 MiB. Offered by a VM whose strategy has
 * the thp backing (docs/STRATEGIES.md, "thp").
 */
#define GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE (1ULL << 3)

/* Memslot flags */
#define GS_KVM_MEM_LOG_DIRTY_PAGES (1U << 0)
#define GS_KVM_MEM_READONLY	   (1U << 1)
#define GS_KVM_MEM_GUEST_MEMFD	   (1U << 2)

/* Memory attributes */
#define GS_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)

/* x86 VM types */
#define GS_KVM_X86_DEFAULT_VM	   0
#define GS_KVM_X86_SW_PROTECTED_VM 1
#define GS_KVM_X86_SEV_VM	   2
#define GS_KVM_X86_SEV_ES_VM	   3
#define GS_KVM_X86_SNP_VM	   4
#define GS_KVM_X86_TDX_VM	   5

/* Exits */
#define GS_KVM_EXIT_MMIO		6
#define GS_KVM_EXIT_MEMORY_FAULT	39
#define GS_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)

/**
 * struct gs_kvm_create_guest_memfd - KVM_CREATE_GUEST_MEMFD's argument (64 bytes)
 * @size: bytes, a multiple of the page size
 * @flags: GS_GUEST_MEMFD_FLAG_*
 * @page_order: proposed (HugeTLB): order of the file's pages, from the
 *              reserved area (0 upstream, where it is reserved[0])
 * @reserved: not checked upstream
 */
struct gs_kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t page_order;
	uint64_t reserved[5];
};

struct gs_kvm_userspace_memory_region2 {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t guest_memfd_offset;
	uint32_t guest_memfd;
	uint32_t pad1;
	uint64_t pad2[14];
};

struct gs_kvm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};

/* Proposed (v8): 128 bytes; error_offset is written back on failure only. */
struct gs_kvm_memory_attributes2 {
	union {
		uint64_t address;
		uint64_t offset;
	};
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
	uint64_t error_offset;
	uint64_t reserved[11];
};

_Static_assert(sizeof(struct gs_kvm_create_guest_memfd) == 64, "kvm_create_guest_memfd");
_Static_assert(sizeof(struct gs_kvm_userspace_memory_region2) == 160,
	       "kvm_userspace_memory_region2");
_Static_assert(sizeof(struct gs_kvm_memory_attributes) == 32, "kvm_memory_attributes");
_Static_assert(sizeof(struct gs_kvm_memory_attributes2) == 128, "kvm_memory_attributes2");

#endif /* GMEMSIM_KVM_UAPI_H */
