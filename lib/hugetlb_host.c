// SPDX-License-Identifier: MIT
/*
 * The HugeTLB pools' source of huge pages over simulated physical memory:
 * the part of mm/hugetlb.c that allocates a fresh huge page from the buddy
 * allocator and prepares it (alloc_fresh_hugetlb_folio(),
 * prep_new_hugetlb_folio(), hugetlb_vmemmap_optimize_folio()), and that
 * gives one back (update_and_free_hugetlb_folio()).
 */
#include <errno.h>
#include <string.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>

/* A parked page's HVO state goes with it (gs_physmem_set_parked_release()). */
static void release_parked(unsigned long pfn, unsigned int order)
{
	gs_hvo_forget_parked(pfn, order);
}

/*
 * A parked page taken again: what prep_compound_page() and a successful HVO
 * leave, as on a fresh page, with none of the host's work (its tail
 * vmemmap was given back when it was first optimized, and still is).
 */
static struct folio *unpark(unsigned long pfn, unsigned int order)
{
	struct folio *folio;

	/*
	 * Every struct page of the first vmemmap page is written in full (the
	 * head, pages 1-3 and each tail up to HUGETLB_VMEMMAP_RESERVE_PAGES), so
	 * whatever the last input left there is gone: no memset of them first.
	 */
	folio = gs_folio_init(pfn, order, 1UL << PG_hugetlb, HUGETLB_VMEMMAP_RESERVE_PAGES);
	gs_hvo_unpark(folio);
	return folio;
}

/*
 * A parked page may stand in for a fresh one only where nothing could tell
 * them apart: HVO on (it was optimized) and no fault injection armed or
 * counting (the host's allocation and HVO's sites would be asked).
 */
static bool may_unpark(void)
{
	return gs_hvo_enabled() && !gs_inject_active();
}

static struct folio *host_alloc_fresh_node(void *ctx, unsigned int order, int nid, gfp_t gfp)
{
	struct gs_hugetlb_host *host = ctx;
	bool parked = false;
	enum gs_backing got;
	struct folio *folio;
	unsigned long pfn;

	if (order >= ARRAY_SIZE(host->pages) ||
	    gs_physmem_alloc_huge_parked(order, nid, (enum gs_backing)host->backing, gfp, &pfn,
					 &got, may_unpark() ? &parked : NULL))
		return NULL;
	if (parked) {
		folio = unpark(pfn, order);
		host->pages[order]++;
		host->last_backing = got;
		return folio;
	}
	/*
	 * Write only the first vmemmap page's tails: HVO drops the rest. Where
	 * HVO is off or fails, write them all, as prep_compound_page() would.
	 */
	folio = gs_folio_init(pfn, order, 1UL << PG_hugetlb, HUGETLB_VMEMMAP_RESERVE_PAGES);
	if (!gs_hvo_enabled() || hugetlb_vmemmap_optimize_folio(folio) ||
	    !folio_test_hugetlb_vmemmap_optimized(folio))
		gs_folio_write_tails(folio, HUGETLB_VMEMMAP_RESERVE_PAGES, 1UL << order);
	host->pages[order]++;
	host->last_backing = got;
	return folio;
}

static struct folio *host_alloc_fresh(void *ctx, unsigned int order, gfp_t gfp)
{
	return host_alloc_fresh_node(ctx, order, NUMA_NO_NODE, gfp);
}

/*
 * A persistent runner's clean page (gs_physmem_park_huge()): kept with its
 * tail vmemmap given back, for the next input's pool. A page memory failure
 * touched never is.
 */
static int park(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio);

	if (folio_test_hwpoison(folio) || !gs_hvo_parkable(folio) ||
	    gs_physmem_park_huge(pfn, folio_order(folio)))
		return -EBUSY;
	gs_hvo_park(folio);
	gs_physmem_set_parked_release(release_parked);
	hugetlb_meta_forget(pfn);
	return 0;
}

static int host_free_fresh(void *ctx, struct folio *folio)
{
	struct gs_hugetlb_host *host = ctx;
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), zeroed;
	int err;

	if (WARN_ON_ONCE(folio_ref_count(folio)))
		return -EBUSY;
	if (!park(folio)) {
		host->pages[order]--;
		return 0;
	}
	/*
	 * The buddy allocator needs every struct page back: undo HVO first; it
	 * can fail. Tails it verifies are zeroed in that pass, not twice.
	 */
	err = gs_hvo_restore_for_free_zeroed(folio, &zeroed);
	if (err)
		return err;
	hugetlb_vmemmap_release(pfn, order);
	hugetlb_meta_forget(pfn);
	gs_physmem_free_huge_zeroed(pfn, order, zeroed);
	host->pages[order]--;
	return 0;
}

static unsigned long host_nr_available(void *ctx, unsigned int order)
{
	(void)ctx;
	return gs_physmem_free_pages() >> order;
}

static unsigned long host_nr_available_node(void *ctx, unsigned int order, int nid)
{
	(void)ctx;
	return gs_physmem_node_free_pages(nid) >> order;
}

struct gs_hugetlb_backend gs_hugetlb_host_backend(struct gs_hugetlb_host *host)
{
	return (struct gs_hugetlb_backend){
		.alloc_fresh = host_alloc_fresh,
		.free_fresh = host_free_fresh,
		.nr_available = host_nr_available,
		.ctx = host,
		.alloc_fresh_node = host_alloc_fresh_node,
		.nr_available_node = host_nr_available_node,
	};
}
