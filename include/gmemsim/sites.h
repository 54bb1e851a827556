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

/* One site per line reads better than what the formatter would make of it. */
/* clang-format off */
#define GS_SITES(X) \
	X(KMALLOC,        "kmalloc",        "generic allocation (the kmalloc verb, callers without a site)") \
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
	/* guest_memfd */ \
	X(PAGE_ALLOC,     "page_alloc",     "an order-0 page (and the 2M chunks they are carved from)") \
	X(GMEM_INODE,     "gmem.inode",     "a guest_memfd inode and its file (kvm_gmem_create)") \
	X(GMEM_VMA,       "gmem.vma",       "a host mapping (mmap) of a guest_memfd file")

enum gs_site {
#define GS_SITE_ENUM(id, name, desc) GS_SITE_##id,
	GS_SITES(GS_SITE_ENUM)
#undef GS_SITE_ENUM
	GS_NR_STATIC_SITES
};
/* clang-format on */

/* Static sites plus the ones registered at run time by gs_site_register(). */
#define GS_MAX_SITES 128

#endif /* GMEMSIM_SITES_H */
