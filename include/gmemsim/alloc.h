/* SPDX-License-Identifier: MIT */
/*
 * The one allocation path of libgmemsim, standing in for kmalloc/kmem_cache
 * and the page allocator. Every call names a site (see sites.h) and carries
 * gfp flags; the fault injector is asked first, then the configured allocator
 * (jemalloc or the C library) is used, and per-site counters are updated so
 * that a teardown can prove nothing leaked.
 */
#ifndef GMEMSIM_ALLOC_H
#define GMEMSIM_ALLOC_H

#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>
#include <gmemsim/sites.h>

/**
 * struct gs_site_stats - counters of one allocation site
 * @name: dotted site name, e.g. "xarray.node"
 * @desc: what is allocated there
 * @live: objects allocated and not yet freed
 * @live_bytes: bytes of those objects
 * @peak_bytes: largest @live_bytes seen since the last gs_alloc_reset_stats()
 * @allocs: successful allocations
 * @frees: frees
 * @failed: allocations that returned NULL (injected failures)
 */
struct gs_site_stats {
	const char *name;
	const char *desc;
	uint64_t live;
	uint64_t live_bytes;
	uint64_t peak_bytes;
	uint64_t allocs;
	uint64_t frees;
	uint64_t failed;
};

/**
 * gs_alloc() - allocate memory at a named site
 * @site: a value of enum gs_site or an id from gs_site_register()
 * @size: bytes; 0 is treated as 1
 * @gfp: GFP_KERNEL, GFP_NOWAIT, ... plus modifiers (__GFP_ZERO, __GFP_NOFAIL, ...)
 *
 * An allocation that may block (__GFP_DIRECT_RECLAIM) while a simulated
 * spinlock is held triggers a WARN, as might_sleep() would in the kernel.
 * __GFP_NOFAIL allocations are never failed by the injector.
 *
 * Context: any; sleeping flags only outside spinlocks.
 * Return: the memory, or NULL when the fault injector fails this call or
 * the host is out of memory.
 */
GS_API void *gs_alloc(unsigned int site, size_t size, gfp_t gfp) __attribute__((__malloc__));

/**
 * gs_free() - free memory obtained from gs_alloc()
 * @site: the site it was allocated at
 * @ptr: the memory; NULL is ignored
 * @size: the size it was allocated with
 *
 * Like kmem_cache_free(), the caller says what it frees; the site and size
 * keep the per-site counters exact without a hidden header.
 *
 * Context: any.
 */
GS_API void gs_free(unsigned int site, const void *ptr, size_t size);

/**
 * gs_charge() - account memory the caller obtains by other means
 * @site: the site
 * @size: bytes
 * @gfp: the caller's flags
 *
 * For memory that is not malloc()ed: vmemmap pages made writable again,
 * huge pages mmap()ed for the pools. The fault injector is asked exactly as
 * for gs_alloc(), and the site's counters move the same way.
 *
 * Context: as gs_alloc().
 * Return: true if the caller may go ahead, false for an (injected) failure.
 */
GS_API bool gs_charge(unsigned int site, size_t size, gfp_t gfp);

/**
 * gs_uncharge() - undo gs_charge() for @size bytes at @site
 *
 * Context: any.
 */
GS_API void gs_uncharge(unsigned int site, size_t size);

/**
 * gs_site_stats() - read the counters of one site
 * @site: site id
 * @out: filled in
 *
 * Return: 0, or -EINVAL for an unknown id.
 */
GS_API int gs_site_stats(unsigned int site, struct gs_site_stats *out);

/** gs_alloc_live_total() - objects live across all sites */
GS_API uint64_t gs_alloc_live_total(void);

/**
 * gs_alloc_report_leaks() - list every site that still has live objects
 * @f: where to print (one line per site), or NULL to only count
 *
 * Return: the number of sites with live objects.
 */
GS_API unsigned int gs_alloc_report_leaks(FILE *f);

/**
 * gs_alloc_reset_stats() - zero the cumulative counters of every site
 *
 * Live counts and bytes are kept: they describe memory that exists.
 */
GS_API void gs_alloc_reset_stats(void);

/**
 * gs_alloc_drain_caches() - free every object the sites keep for reuse
 *
 * Sites whose allocations all have one size keep freed objects, as slab
 * caches do (kmem_cache_shrink() is the kernel's drain). They hold no live
 * objects, so leak checks do not see them; this gives their memory back.
 */
GS_API void gs_alloc_drain_caches(void);

/** gs_allocator_name() - "jemalloc <version>" or "system", as configured at build time */
GS_API const char *gs_allocator_name(void);

static inline void *gs_kmalloc(size_t size, gfp_t gfp)
{
	return gs_alloc(GS_SITE_KMALLOC, size, gfp);
}

static inline void *gs_kzalloc(size_t size, gfp_t gfp)
{
	return gs_alloc(GS_SITE_KMALLOC, size, gfp | __GFP_ZERO);
}

static inline void gs_kfree(const void *ptr, size_t size)
{
	gs_free(GS_SITE_KMALLOC, ptr, size);
}

#endif /* GMEMSIM_ALLOC_H */
