/* SPDX-License-Identifier: MIT */
/*
 * Where HugeTLB pools get their huge pages: the seam between the accounting
 * of lib/hugetlb.c (hstates, subpools, reservations, cgroups) and the memory
 * model underneath (pfns, struct pages, folios, HVO, data memory). In the
 * kernel this is the buddy allocator plus prep_new_hugetlb_folio() and
 * update_and_free_hugetlb_folio(). Tests may install a fake backend.
 */
#ifndef GMEMSIM_HUGETLB_BACKEND_H
#define GMEMSIM_HUGETLB_BACKEND_H

#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>

struct folio;

/**
 * struct gs_hugetlb_backend - source of huge pages for the pools
 * @alloc_fresh: allocate one new huge page of @order (9 or 18) from the host:
 *               a folio with refcount 0, HugeTLB flag set, HVO applied if
 *               enabled. Returns NULL when the host has none (the caller
 *               reports -ENOMEM). Goes through the fault injector.
 * @free_fresh: give a huge page back to the host (shrinking the pool,
 *              freeing a surplus page). Returns 0, or -ENOMEM when HVO must
 *              be undone first and that fails (the kernel then keeps the
 *              page in the pool).
 * @nr_available: at most how many more fresh pages of @order the host could
 *                give now (its free memory): the pools check a request
 *                against it before looping, so that asking for more than
 *                the machine holds fails, or stops, at once. NULL: no bound.
 * @ctx: the backend's own state
 * @alloc_fresh_node: as @alloc_fresh, from node @nid and no other
 *                    (__GFP_THISNODE). NULL: @alloc_fresh, whatever the node.
 * @nr_available_node: as @nr_available, for node @nid. NULL: @nr_available.
 */
struct gs_hugetlb_backend {
	struct folio *(*alloc_fresh)(void *ctx, unsigned int order, gfp_t gfp);
	int (*free_fresh)(void *ctx, struct folio *folio);
	unsigned long (*nr_available)(void *ctx, unsigned int order);
	void *ctx;
	/* Optional, for memory nodes: a page from node @nid only, and what that node could give. */
	struct folio *(*alloc_fresh_node)(void *ctx, unsigned int order, int nid, gfp_t gfp);
	unsigned long (*nr_available_node)(void *ctx, unsigned int order, int nid);
};

/**
 * struct gs_hugetlb_host - the real backend: simulated physical memory
 * @backing: what data memory to use (GS_BACKING_AUTO: MAP_HUGETLB if the
 *           host has free huge pages, else anonymous; GS_BACKING_NONE:
 *           metadata only)
 * @pages: huge pages of each order currently handed out
 * @last_backing: backing obtained by the latest allocation
 */
struct gs_hugetlb_host {
	int backing; /* enum gs_backing */
	unsigned long pages[19];
	int last_backing;
};

/**
 * gs_hugetlb_host_backend() - a backend drawing from simulated physical memory
 * @host: its state; initialize with { .backing = GS_BACKING_... }
 *
 * alloc_fresh takes a huge page from gs_physmem_alloc_huge(), makes it a
 * HugeTLB folio (prep_new_hugetlb_folio) and applies HVO when enabled;
 * free_fresh undoes HVO (which can fail with -ENOMEM, as the kernel's
 * update_and_free_hugetlb_folio() can) and gives the page back.
 *
 * Return: the backend.
 */
GS_API struct gs_hugetlb_backend gs_hugetlb_host_backend(struct gs_hugetlb_host *host);

#endif /* GMEMSIM_HUGETLB_BACKEND_H */
