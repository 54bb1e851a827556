// SPDX-License-Identifier: MIT
/*
 * The HugeTLB pools' source of huge pages over simulated physical memory:
 * the part of mm/hugetlb.c that allocates a fresh huge page from the buddy
 * allocator and prepares it (alloc_fresh_hugetlb_folio(),
 * prep_new_hugetlb_folio(), hugetlb_vmemmap_optimize_folio()), and that
 * gives one back (update_and_free_hugetlb_folio()).
 */
#include <errno.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hvo.h>
#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>

static struct folio *host_alloc_fresh_node(void *ctx, unsigned int order, int nid, gfp_t gfp)
{
	struct gs_hugetlb_host *host = ctx;
	enum gs_backing got;
	struct folio *folio;
	unsigned long pfn;

	if (order >= ARRAY_SIZE(host->pages) ||
	    gs_physmem_alloc_huge_node(order, nid, (enum gs_backing)host->backing, gfp, &pfn, &got))
		return NULL;
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

static int host_free_fresh(void *ctx, struct folio *folio)
{
	struct gs_hugetlb_host *host = ctx;
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio);
	int err;

	if (WARN_ON_ONCE(folio_ref_count(folio)))
		return -EBUSY;
	/* The buddy allocator needs every struct page back: undo HVO first; it can fail. */
	err = hugetlb_vmemmap_restore_for_free(folio);
	if (err)
		return err;
	hugetlb_vmemmap_release(pfn, order);
	hugetlb_meta_forget(pfn);
	gs_physmem_free_huge(pfn, order);
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
