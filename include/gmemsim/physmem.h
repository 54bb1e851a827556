/* SPDX-License-Identifier: MIT */
/*
 * Simulated physical memory: a pfn space, the vmemmap (one 64-byte struct
 * page per pfn, in one linear virtual array like the kernel's
 * CONFIG_SPARSEMEM_VMEMMAP), and the data behind each huge page. Data comes
 * from MAP_HUGETLB memory when the host has free huge pages of the size,
 * else from aligned anonymous memory (MADV_HUGEPAGE), else none at all
 * ("metadata-only", for simulated guests larger than the host).
 *
 * The vmemmap is reserved once, without backing (MAP_NORESERVE): a struct
 * page costs host memory only once written, and HVO hands its pages back.
 */
#ifndef GMEMSIM_PHYSMEM_H
#define GMEMSIM_PHYSMEM_H

#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>
#include <gmemsim/mm_types.h>

/* The first pfn handed out: 1 GiB, so pfn 0 and small numbers are never pages. */
#define GS_PFN_BASE (1UL << 18)

/*
 * The simulated machine's memory unless set otherwise: the same on every
 * host, so that a scenario that runs out of memory does so everywhere.
 */
#define GS_PHYSMEM_DEFAULT_SIZE (64UL << 30)

enum gs_backing {
	GS_BACKING_AUTO,    /* best available: hugetlb, then anon */
	GS_BACKING_HUGETLB, /* MAP_HUGETLB of the page's own size */
	GS_BACKING_ANON,    /* anonymous memory aligned to the page size, MADV_HUGEPAGE */
	GS_BACKING_NONE,    /* metadata only: struct pages, no data */
};

/* struct page of pfn p is gs_vmemmap[p]; set by gs_physmem_init(). */
extern GS_API struct page *gs_vmemmap;
/* Number of pfns the vmemmap covers. */
extern GS_API unsigned long gs_vmemmap_pfns;

static inline struct page *pfn_to_page(unsigned long pfn)
{
	return gs_vmemmap + pfn;
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - gs_vmemmap);
}

/**
 * gs_physmem_init() - reserve the vmemmap (idempotent)
 *
 * Reserves virtual space for 2^30 pfns (4 TiB of simulated memory), or
 * less where the host refuses that much address space.
 *
 * Context: any.
 * Return: 0, or -ENOMEM if not even a small vmemmap can be reserved.
 */
GS_API int gs_physmem_init(void);

/**
 * gs_physmem_set_size() - the simulated machine's physical memory size
 * @bytes: the size; a multiple of 2 MiB, at most what the vmemmap covers
 *         (4 TiB; 63 GiB under valgrind)
 *
 * Allocations beyond it fail with -ENOMEM, as the buddy allocator's do when
 * memory is used up; HugeTLB pools grow only up to what fits. The default
 * is GS_PHYSMEM_DEFAULT_SIZE.
 *
 * Context: process context.
 * Return: 0, -EINVAL for a size of 0, not a multiple of 2 MiB or above the
 * vmemmap, -EBUSY when more memory than @bytes is in use now, -ENOMEM when
 * the vmemmap cannot be reserved.
 */
GS_API int gs_physmem_set_size(unsigned long bytes);

/** gs_physmem_size() - the machine's memory size in bytes (0: no vmemmap) */
GS_API unsigned long gs_physmem_size(void);

/**
 * gs_physmem_free_pages() - base pages of the machine not allocated
 *
 * An upper bound on what can still be allocated: callers check a request
 * against it before looping over it.
 *
 * Context: any.
 * Return: the number of 4 KiB pages.
 */
GS_API unsigned long gs_physmem_free_pages(void);

/**
 * gs_physmem_set_nodes() - split the machine's memory into @nr nodes
 * @nr: 1 to GS_MAX_NUMNODES (<gmemsim/numa.h>)
 *
 * Each node gets an equal share of gs_physmem_size() in whole 2 MiB, the
 * last one what is left; gs_physmem_set_size() later keeps the split.
 * The task's node (gs_numa_local_node()) becomes 0 if it no longer exists.
 *
 * Context: process context, nothing allocated.
 * Return: 0, -EINVAL for 0 or more than GS_MAX_NUMNODES nodes or a share
 * below 2 MiB, -EBUSY while memory is in use, -ENOMEM without a vmemmap.
 */
GS_API int gs_physmem_set_nodes(unsigned int nr);

/**
 * gs_physmem_set_node_size() - the memory of node @nid
 * @nid: an existing node
 * @bytes: a multiple of 2 MiB; every node together at most what the
 *         vmemmap covers
 *
 * The machine's size becomes the sum of its nodes'.
 *
 * Context: process context.
 * Return: 0, -EINVAL (no such node, 0, unaligned, too large), -EBUSY when
 * more than @bytes of the node is in use, -ENOMEM without a vmemmap.
 */
GS_API int gs_physmem_set_node_size(int nid, unsigned long bytes);

/** gs_physmem_node_free_pages() - base pages of node @nid not allocated */
GS_API unsigned long gs_physmem_node_free_pages(int nid);

/**
 * gs_physmem_override_backing() - one data backing for every page of every size
 * @backing: an enum gs_backing that every allocation gets from now on,
 *           whatever its caller asks (GS_BACKING_NONE: metadata only, so
 *           that memory nobody reads costs the host nothing), or -1 to let
 *           each caller choose again
 *
 * The machine-wide switch behind `gmemsim run --backing=` and the
 * `machine backing=` verb: order-0 pages, 2 MiB and 1 GiB pages alike.
 *
 * Context: any; applies to allocations from now on.
 * Return: the previous override (-1: none), or -EINVAL for an unknown backing.
 */
GS_API int gs_physmem_override_backing(int backing);

/* Called with how far a long piece of work is: @done of @total units of @what. */
typedef void (*gs_progress_fn)(const char *what, unsigned long done, unsigned long total);

/**
 * gs_physmem_set_progress() - who hears about long memory work
 * @fn: the listener (the CLI draws a progress line), or NULL for none
 *
 * Work that loops over many pages (growing a pool to a large size) reports
 * every few thousand steps and once at the end, through
 * gs_physmem_progress().
 *
 * Context: setup.
 */
GS_API void gs_physmem_set_progress(gs_progress_fn fn);

/** gs_physmem_progress() - report progress to the listener, if any */
GS_API void gs_physmem_progress(const char *what, unsigned long done, unsigned long total);

/**
 * gs_physmem_alloc_huge() - one huge page of simulated physical memory
 * @order: 9 (2 MiB) or 18 (1 GiB); any order from 9 to 18 is accepted
 * @want: backing to use; GS_BACKING_AUTO picks the best available
 * @gfp: allocation flags, for the fault injector (site physmem.huge)
 * @pfn: set to the first pfn (aligned to the page size)
 * @got: set to the backing obtained (may be NULL)
 *
 * The struct pages of the range read as zero: the caller makes them a
 * folio. An explicit GS_BACKING_HUGETLB that the host cannot give fails.
 *
 * Context: process context (may sleep).
 * Return: 0, -EINVAL for a bad order, -ENOMEM (the machine's memory is
 * used up, injected, out of pfns, or the host refused the memory).
 */
GS_API int gs_physmem_alloc_huge(unsigned int order, enum gs_backing want, gfp_t gfp,
				 unsigned long *pfn, enum gs_backing *got);

/**
 * gs_physmem_alloc_huge_node() - gs_physmem_alloc_huge() from node @nid
 * @order: as gs_physmem_alloc_huge()
 * @nid: the preferred node; NUMA_NO_NODE: the task's (gs_numa_local_node())
 * @want: as gs_physmem_alloc_huge()
 * @gfp: with __GFP_THISNODE, only @nid; else @nid, then the others in
 *       its fallback order (gs_numa_fallback_node())
 * @pfn: as gs_physmem_alloc_huge()
 * @got: as gs_physmem_alloc_huge()
 *
 * Context: process context (may sleep).
 * Return: 0, -EINVAL for a bad order or node, -ENOMEM (no allowed node
 * has room, or as gs_physmem_alloc_huge()).
 */
GS_API int gs_physmem_alloc_huge_node(unsigned int order, int nid, enum gs_backing want, gfp_t gfp,
				      unsigned long *pfn, enum gs_backing *got);

/**
 * gs_physmem_alloc_huge_parked() - gs_physmem_alloc_huge_node(), taking a parked page where one fits
 * @order: as gs_physmem_alloc_huge_node()
 * @nid: as gs_physmem_alloc_huge_node()
 * @want: as gs_physmem_alloc_huge_node()
 * @gfp: as gs_physmem_alloc_huge_node()
 * @pfn: as gs_physmem_alloc_huge_node()
 * @got: as gs_physmem_alloc_huge_node()
 * @was_parked: set to true when the page is a parked one (gs_physmem_park_huge()):
 *	its chunk and struct pages are as they were parked, and the caller
 *	makes it what a fresh page would be; NULL: never take one
 *
 * A parked page is taken only where a fresh layout would hand out the same
 * pfns (the next 2 MiB metadata-only page, the parked ones being the next
 * ones up); the checks, counts and charges are those of a fresh page. Any
 * other allocation releases every parked page first
 * (gs_physmem_release_parked()), so that it sees a fresh layout.
 *
 * Context: process context (may sleep).
 * Return: as gs_physmem_alloc_huge_node().
 */
GS_API int gs_physmem_alloc_huge_parked(unsigned int order, int nid, enum gs_backing want,
					gfp_t gfp, unsigned long *pfn, enum gs_backing *got,
					bool *was_parked);

/**
 * gs_physmem_park_huge() - free a 2 MiB page but keep it for the next input
 * @pfn: its first pfn
 * @order: its order (only 2 MiB pages are parked)
 *
 * For persistent runners (gs_physmem_keep_vmemmap()): the page counts as
 * free everywhere (pages in use, the node, the site, the metrics) but keeps
 * its chunk and struct pages, so that the next input's allocation of the
 * same pfns (gs_physmem_alloc_huge_parked()) does no host call. What a
 * parked page held above the physmem layer (HVO) is the caller's to keep
 * consistent; gs_physmem_set_parked_release() says how it is let go.
 *
 * Context: any.
 * Return: 0, or -EBUSY (not a persistent runner's pool teardown
 * (gs_physmem_set_parking()), not a metadata-only 2 MiB page, or no room):
 * the caller frees it as usual.
 */
GS_API int gs_physmem_park_huge(unsigned long pfn, unsigned int order);

/**
 * gs_physmem_release_parked() - let every parked page go
 *
 * Each goes back as if it had never been handed out (no freed range left
 * behind), after the release callback has let go of what the layers above
 * kept of it.
 *
 * Context: any.
 * Return: how many pages were parked.
 */
GS_API unsigned int gs_physmem_release_parked(void);

/**
 * gs_physmem_set_parking() - let frees park pages (gs_physmem_park_huge())
 * @on: true while a pool is torn down at the end of a persistent runner's
 *	input, and only then: a page parked in the middle of an input would
 *	not be where a fresh layout's next allocation looks for it
 *
 * Context: any.
 * Return: the previous setting.
 */
GS_API bool gs_physmem_set_parking(bool on);

/** gs_physmem_nr_parked() - 2 MiB pages parked now */
GS_API unsigned int gs_physmem_nr_parked(void);

typedef void (*gs_physmem_parked_fn)(unsigned long pfn, unsigned int order);

/**
 * gs_physmem_set_parked_release() - what a parked page's release calls first
 * @fn: called with the page's pfn and order before its struct pages go
 *
 * Context: any.
 */
GS_API void gs_physmem_set_parked_release(gs_physmem_parked_fn fn);

/**
 * gs_physmem_keep_vmemmap() - zero the struct pages of freed 2 MiB pages in place
 * @keep: true: a 2 MiB page freed with gs_physmem_free_huge_resident()
 *	keeps its vmemmap in the host and zeroes it (no madvise, no fault
 *	when the range is used again); false: it goes back to the host (the
 *	default)
 *
 * For persistent runners (fuzzing): the page allocator's chunks are freed
 * and taken again thousands of times a second. Either way the next owner
 * reads zero. HugeTLB pages (HVO drops part of their vmemmap) and larger
 * pages always give their vmemmap back.
 *
 * Context: any.
 * Return: the previous setting.
 */
GS_API bool gs_physmem_keep_vmemmap(bool keep);

/**
 * gs_physmem_keep_huge_vmemmap() - zero the struct pages of freed 2 MiB HugeTLB pages in place
 * @keep: true: a 2 MiB page freed with gs_physmem_free_huge(), or a parked
 *	one released, keeps its struct pages in the host, zeroed; false: they
 *	go back to the host (the default)
 *
 * Set with HVO's resident mode (gs_hvo_set_resident()), in which a 2 MiB
 * page's freed vmemmap stays in the host: giving the struct pages back when
 * the page goes would make the next page on those pfns fault them in again.
 * Host memory stays at what the largest machine of the process used.
 *
 * Context: any.
 * Return: the previous setting.
 */
GS_API bool gs_physmem_keep_huge_vmemmap(bool keep);

/**
 * gs_physmem_reset_layout() - hand out pfns from the start again
 *
 * When nothing is allocated, forget which ranges were freed in which order:
 * the next allocations get the pfns a process that never allocated gets,
 * so a persistent runner's input sees the layout a fresh process sees.
 * Parked pages (gs_physmem_park_huge()) count as free; they are kept, and
 * handed out where a fresh layout hands out their pfns. Otherwise
 * (-EBUSY) they are released to the free lists.
 *
 * Context: any.
 * Return: 0, or -EBUSY while any huge page is in use (nothing changes).
 */
GS_API int gs_physmem_reset_layout(void);

/**
 * gs_physmem_free_huge() - give a huge page back to the host
 * @pfn: its first pfn
 * @order: its order
 *
 * Its data and struct pages are released; the pfn range is reused later.
 *
 * Context: any.
 */
GS_API void gs_physmem_free_huge(unsigned long pfn, unsigned int order);

/**
 * gs_physmem_free_huge_zeroed() - gs_physmem_free_huge() of a page some of whose struct pages are zero
 * @pfn: its first pfn
 * @order: its order
 * @zeroed: a bit per vmemmap page of its struct pages (bit i: their i-th
 *	4 KiB, i < BITS_PER_LONG) that reads zero already
 *	(gs_hvo_restore_for_free_zeroed())
 *
 * As gs_physmem_free_huge(), but where the struct pages of a 2 MiB page
 * stay in the host, zeroed (gs_physmem_keep_huge_vmemmap()), those of
 * @zeroed are not zeroed again.
 *
 * Context: any.
 */
GS_API void gs_physmem_free_huge_zeroed(unsigned long pfn, unsigned int order,
					unsigned long zeroed);

/**
 * gs_physmem_free_huge_resident() - gs_physmem_free_huge() of a page whose struct pages are all in the host
 * @pfn: its first pfn
 * @order: its order
 * @dirty: a bit per 4 KiB page of a 2 MiB page: set for every page whose
 *	data or struct page may be other than zero (every page handed out);
 *	NULL: all
 *
 * Under gs_physmem_keep_vmemmap() a 2 MiB page's (@dirty) struct pages are
 * zeroed in place rather than given back, and its anonymous data stays in the host
 * with its @dirty pages zeroed, so that the next owner of the pfns reads
 * zero as from memory never used, without a host fault and the host's
 * clearing of 2 MiB; otherwise as gs_physmem_free_huge(). The kept data
 * goes back to the host when the runner ends (gs_physmem_keep_vmemmap(false)).
 *
 * Context: any.
 */
GS_API void gs_physmem_free_huge_resident(unsigned long pfn, unsigned int order,
					  const unsigned long *dirty);

/** pfn_valid() - @pfn belongs to an allocated huge page */
GS_API bool pfn_valid(unsigned long pfn);

/** gs_pfn_to_nid() - the node of the page holding @pfn (page_to_nid()), NUMA_NO_NODE if none */
GS_API int gs_pfn_to_nid(unsigned long pfn);

/** gs_pfn_to_virt() - host address of the data of @pfn, or NULL when metadata-only */
GS_API void *gs_pfn_to_virt(unsigned long pfn);

/** gs_pfn_backing() - the backing of the huge page holding @pfn */
GS_API enum gs_backing gs_pfn_backing(unsigned long pfn);

/** gs_backing_name() - "hugetlb", "anon", "none" or "auto" */
GS_API const char *gs_backing_name(enum gs_backing backing);

/**
 * gs_vmemmap_resident() - bytes of vmemmap the host holds for a pfn range
 * @pfn: first pfn
 * @nr: number of pfns (the range is widened to whole vmemmap pages)
 *
 * Measured with mincore(): this is real host memory, so it shows what HVO
 * gives back.
 *
 * Return: resident bytes.
 */
GS_API size_t gs_vmemmap_resident(unsigned long pfn, unsigned long nr);

/**
 * struct gs_physmem_stats - what the simulated physical memory holds
 * @huge_pages: huge pages allocated, per backing (index: enum gs_backing)
 * @data_bytes: host memory mapped for data
 * @pfns_in_use: pfns allocated
 */
struct gs_physmem_stats {
	unsigned long huge_pages[4];
	size_t data_bytes;
	unsigned long pfns_in_use;
};

GS_API void gs_physmem_stats(struct gs_physmem_stats *out);

#endif /* GMEMSIM_PHYSMEM_H */
