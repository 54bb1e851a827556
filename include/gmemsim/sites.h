/* SPDX-License-Identifier: MIT */
/*
 * The allocation sites of libgmemsim. Every allocation the library makes names
 * one of these, so that the fault injector can fail it by name and teardown can
 * prove per site that nothing leaked. A module that allocates adds its sites
 * here, in layer order; `gmemsim sites` prints this table.
 *
 * X(identifier, "name", "what is allocated there")
 */
#ifndef GMEMSIM_SITES_H
#define GMEMSIM_SITES_H

#include <gmemsim/compiler.h>

/* One site per line reads better than what the formatter would make of it. */
/* clang-format off */
#define GS_SITES(X) \
	X(KMALLOC,        "kmalloc",        "generic allocation: the kmalloc verb and code built on the library (no library object)") \
	/* structures */ \
	X(XARRAY_NODE,    "xarray.node",    "XArray node (struct xa_node) for a store or a tree extension") \
	X(XARRAY_SPLIT,   "xarray.split",   "XArray nodes preallocated by xas_split_alloc() for a split") \
	X(MAPLE_NODE,     "maple.node",     "maple tree node (struct maple_node) for a store") \
	X(MAPLE_PREALLOC, "maple.prealloc", "maple tree nodes reserved by mas_preallocate()") \
	/* memory */ \
	X(PHYSMEM_HUGE,   "physmem.huge",   "a huge page of simulated physical memory (data and struct pages)") \
	X(HVO_OPTIMIZE,   "hvo.optimize",   "the fresh vmemmap head page HVO copies the first page into") \
	X(HVO_RESTORE,    "hvo.restore",    "a vmemmap page allocated again to undo HVO (7 per 2M, 4095 per 1G)") \
	X(HUGETLB_META,   "hugetlb.meta",   "metadata of a split HugeTLB page (order, subpool, cgroups), by pfn") \
	X(HUGETLB_ALLOC_FRESH, "hugetlb.alloc_fresh", "not an allocation: the host having no fresh huge page for a pool or a surplus page") \
	X(HUGETLB_SUBPOOL, "hugetlb.subpool", "struct hugepage_subpool (hugetlbfs mount or guest_memfd file)") \
	X(HUGETLB_CGROUP, "hugetlb.cgroup", "struct hugetlb_cgroup of a cgroup created under the root") \
	X(MPOL_SP_NODE,   "mempolicy.sp_node", "a range of a file's shared memory policy (mbind() on a mapping of a guest_memfd file)") \
	/* guest_memfd */ \
	X(PAGE_ALLOC,     "page_alloc",     "an order-0 page (and the 2M chunks they are carved from)") \
	X(GMEM_INODE,     "gmem.inode",     "a guest_memfd inode: size, flags, filemap, shareability (kvm_gmem_create)") \
	X(GMEM_FILE,      "gmem.file",      "a guest_memfd file: one open of the inode, with its slot bindings (kvm_gmem_create)") \
	X(GMEM_FALLOC,    "gmem.falloc",    "fallocate's record of the folios one call adds, to undo them on failure") \
	X(GMEM_VMA,       "gmem.vma",       "a host mapping (mmap) of a guest_memfd file") \
	/* KVM */ \
	X(KVM_VM,         "kvm.vm",         "struct kvm of a VM (KVM_CREATE_VM)") \
	X(KVM_MEMSLOT,    "kvm.memslot",    "struct kvm_memory_slot (KVM_SET_USER_MEMORY_REGION2)") \
	X(KVM_MMU_CACHE,  "kvm.mmu_cache",  "a page-table page topped up before splitting a huge stage-2 leaf (kvm_split_cross_boundary_leafs)") \
	/* uAPI */ \
	X(UAPI_FILES,     "uapi.files",     "a simulated process: its fd table and mapping list (gs_uapi_create)") \
	X(UAPI_MMAP,      "uapi.mmap",      "the record of one mmap() of an fd: address, length, guest_memfd mapping") \
	/* guest_memfd, thp backing (best effort: a failure falls back to 4K) */ \
	X(PAGE_ALLOC_THP, "page_alloc.thp", "a 2M folio of a thp-backed guest_memfd file (best effort: 4K pages when it fails)")

enum gs_site {
#define GS_SITE_ENUM(id, name, desc) GS_SITE_##id,
	GS_SITES(GS_SITE_ENUM)
#undef GS_SITE_ENUM
	GS_NR_STATIC_SITES
};
/* clang-format on */

/* Static sites plus the ones registered at run time by gs_site_register(). */
#define GS_MAX_SITES 128

/*
 * The site table (lib/base/sites.c): what the allocator counts and the fault
 * injector filters by.
 */

/**
 * gs_site_register() - add a run-time allocation site
 * @name: dotted name, unique
 * @desc: description shown by `gmemsim sites`
 *
 * For code built on libgmemsim (prototypes, tests) that wants sites of its
 * own. The strings must outlive the process's use of the site.
 *
 * Context: any.
 * Return: the site id, -EINVAL for an empty name, -EEXIST if the name is
 * taken, -ENOSPC when GS_MAX_SITES are registered.
 */
GS_API int gs_site_register(const char *name, const char *desc);

/**
 * gs_site_lookup() - find a site by name
 * @name: dotted name
 *
 * Context: any.
 * Return: the site id, or -ENOENT.
 */
GS_API int gs_site_lookup(const char *name);

/**
 * gs_site_count() - number of sites, static plus registered
 *
 * Context: any.
 * Return: the count; site ids are 0 .. count - 1.
 */
GS_API unsigned int gs_site_count(void);

/**
 * gs_site_name() - the dotted name of @site
 * @site: site id
 *
 * Context: any.
 * Return: the name, or NULL for an unknown id.
 */
GS_API const char *gs_site_name(unsigned int site);

/**
 * gs_site_desc() - what is allocated at @site
 * @site: site id
 *
 * Context: any.
 * Return: the description, or NULL for an unknown id.
 */
GS_API const char *gs_site_desc(unsigned int site);

#endif /* GMEMSIM_SITES_H */
