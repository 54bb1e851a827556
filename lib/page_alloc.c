// SPDX-License-Identifier: MIT
/*
 * Order-0 pages for guest_memfd files without HugeTLB. The kernel takes
 * them from the buddy allocator (filemap_alloc_folio() with order 0); here
 * a 2 MiB huge page of simulated physical memory is carved into 512 pages
 * kept on a free list, and given back to physmem when all 512 are free, so
 * that a test ending with no page in use holds no physical memory. A page
 * freed with its hwpoison flag set is kept out of use, as free_pages_prepare()
 * keeps it out of the buddy allocator, until unpoisoned.
 *
 * A THP (order 9, for guest_memfd files of the thp backing) is a whole
 * 2 MiB block taken from physmem: the buddy allocator's order-9 free lists
 * without compaction, so free order-0 pages scattered over partly used
 * blocks (4 KiB holes) do not make one. A split THP becomes an ordinary
 * block of 512 used order-0 pages.
 *
 * Memory nodes: each node has its own free list and chunk being carved,
 * as each zone has its own free lists. An allocation tries its preferred
 * node, then the others in its fallback order (the zonelist), within the
 * nodes a policy allows; __GFP_THISNODE stops after the first.
 */
#include <errno.h>
#include <sys/mman.h>

#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/inject.h>
#include <gmemsim/list.h>
#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>
#include <gmemsim/trace.h>

#include <gmemsim/internal/page_alloc.h>

#define CHUNK_ORDER 9
#define CHUNK_PAGES (1UL << CHUNK_ORDER)

/*
 * One huge page carved into order-0 pages, lazily: pages below @next were
 * handed out at least once (and are on the free list when free), pages
 * from @next on were never touched and are handed out in pfn order after
 * the free list runs dry, the order a free list of all 512 in pfn order
 * gave, without writing 512 struct pages per chunk.
 */
struct page_chunk {
	struct list_head list;
	unsigned long pfn;
	int nid;
	unsigned long next;
	unsigned long nr_free;
	/* Pages handed out since the chunk was taken: only their data can be other than zero. */
	unsigned long used[BITS_TO_LONGS(CHUNK_PAGES)];
};

static LIST_HEAD(chunks);
static struct list_head free_pages[GS_MAX_NUMNODES]; /* per node */
static LIST_HEAD(hwpoison_pages);
static unsigned long nr_free, nr_used, nr_hwpoison, nr_thp;
static enum gs_backing chunk_backing = GS_BACKING_ANON;
/*
 * The chunk with never-used pages of each node: only its newest one (a
 * chunk is added when all are used).
 */
static struct page_chunk *carving[GS_MAX_NUMNODES];

void gs_page_alloc_set_backing(enum gs_backing backing)
{
	chunk_backing = backing;
}

unsigned long gs_page_alloc_nr_free(void)
{
	return nr_free;
}

void gs_page_alloc_thp_split(void)
{
	nr_thp--;
}

unsigned long gs_page_alloc_nr_thp(void)
{
	return nr_thp;
}

unsigned long gs_page_alloc_nr_used(void)
{
	return nr_used;
}

unsigned long gs_page_alloc_nr_hwpoison(void)
{
	return nr_hwpoison;
}

/*
 * The chunk of each 2 MiB of pfns, found in one step: a walk of the chunk
 * list made a guest of 64 GiB of 4 KiB pages quadratic. Reserved once,
 * without backing: an entry costs host memory only once written.
 */
static struct page_chunk **chunk_of;

static int chunk_index_init(void)
{
	size_t len;
	void *p;

	if (chunk_of)
		return 0;
	if (gs_physmem_init())
		return -ENOMEM;
	len = (gs_vmemmap_pfns >> CHUNK_ORDER) * sizeof(*chunk_of);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	chunk_of = p;
	return 0;
}

static struct page_chunk *pfn_chunk(unsigned long pfn)
{
	if (!chunk_of || pfn >= gs_vmemmap_pfns)
		return NULL;
	return chunk_of[pfn >> CHUNK_ORDER];
}

/*
 * Take a huge page from physmem and put its pages on the free list. The
 * caller's one question to the injector covers the refill too: a refill is
 * no failure point of its own (the kernel's pcp refill is not), so that
 * nth= counts pages whatever the chunks hold. It still fails when the
 * machine's memory or the host's is used up.
 */
static int chunk_add(gfp_t gfp, int nid)
{
	struct page_chunk *c =
		gs_alloc(GS_SITE_PAGE_ALLOC, sizeof(*c), gfp | __GFP_ZERO | __GFP_NOFAIL);

	if (!c)
		return -ENOMEM;
	if (chunk_index_init() ||
	    gs_physmem_alloc_huge_node(CHUNK_ORDER, nid, chunk_backing,
				       gfp | __GFP_NOFAIL | __GFP_THISNODE, &c->pfn, NULL)) {
		gs_free(GS_SITE_PAGE_ALLOC, c, sizeof(*c));
		return -ENOMEM;
	}
	c->nid = nid;
	chunk_of[c->pfn >> CHUNK_ORDER] = c;
	list_add(&c->list, &chunks);
	carving[nid] = c;
	c->nr_free = CHUNK_PAGES;
	nr_free += CHUNK_PAGES;
	return 0;
}

/* Every page of @c is free: take them off the free list and give @c back. */
static void chunk_release(struct page_chunk *c)
{
	for (unsigned long i = 0; i < c->next; i++)
		list_del(&pfn_to_page(c->pfn + i)->lru);
	if (carving[c->nid] == c)
		carving[c->nid] = NULL;
	nr_free -= CHUNK_PAGES;
	chunk_of[c->pfn >> CHUNK_ORDER] = NULL;
	list_del(&c->list);
	gs_physmem_free_huge_resident(c->pfn, CHUNK_ORDER, c->used);
	gs_free(GS_SITE_PAGE_ALLOC, c, sizeof(*c));
}

/* A free page of node @nid: its free list, its chunk being carved, or a new chunk there. */
static struct page *take_page(int nid, gfp_t gfp)
{
	struct page_chunk *cv = carving[nid];
	struct page *page;

	if (!list_empty(&free_pages[nid])) {
		page = list_first_entry(&free_pages[nid], struct page, lru);
		list_del(&page->lru);
		return page;
	}
	if ((cv && cv->next < CHUNK_PAGES) || !chunk_add(gfp, nid)) {
		cv = carving[nid];
		return pfn_to_page(cv->pfn + cv->next++);
	}
	return NULL;
}

struct folio *gs_folio_alloc_order0(gfp_t gfp)
{
	return gs_folio_alloc_order0_node(gfp, NUMA_NO_NODE, 0);
}

/* Whether node @n is one @mask (0: any) allows. */
static bool node_allowed(nodemask_t mask, int n)
{
	return !mask || (mask & (1UL << n));
}

struct folio *gs_folio_alloc_order0_node(gfp_t gfp, int nid, nodemask_t mask)
{
	unsigned int tries = (gfp & __GFP_THISNODE) ? 1 : gs_numa_nr_nodes();
	struct page *page = NULL;
	struct page_chunk *c;
	struct folio *folio;
	unsigned long pfn;

	/* The injector sees every allocation, not only those needing a chunk. */
	if (gs_inject_should_fail(GS_SITE_PAGE_ALLOC, PAGE_SIZE, gfp))
		return NULL;
	if (nid < NUMA_NO_NODE || nid >= (int)gs_numa_nr_nodes())
		return NULL;
	/* One node: no order to walk. */
	if (gs_numa_nr_nodes() == 1 && !mask)
		page = take_page(0, gfp);
	for (unsigned int i = 0; !page && i < tries; i++) {
		int n = gs_numa_fallback_node(nid, i);

		if (node_allowed(mask, n))
			page = take_page(n, gfp);
	}
	if (!page)
		return NULL;
	pfn = page_to_pfn(page);
	c = pfn_chunk(pfn);
	c->nr_free--;
	c->used[(pfn - c->pfn) / BITS_PER_LONG] |= 1UL << ((pfn - c->pfn) % BITS_PER_LONG);
	nr_free--;
	nr_used++;
	folio = gs_folio_init(pfn, 0, 0, ~0UL);
	folio_set_count(folio, 1);
	gs_trace("folio.alloc", GS_TF_X("pfn", pfn), GS_TF_U("order", 0));
	return folio;
}

struct folio *gs_folio_alloc_thp(gfp_t gfp)
{
	return gs_folio_alloc_thp_node(gfp, NUMA_NO_NODE, 0);
}

/* A free block of the first node in @nid's fallback order that @mask allows and has one. */
static int thp_block(struct page_chunk *c, gfp_t gfp, int nid, nodemask_t mask)
{
	unsigned int tries = (gfp & __GFP_THISNODE) ? 1 : gs_numa_nr_nodes();

	if (chunk_index_init())
		return -ENOMEM;
	for (unsigned int i = 0; i < tries; i++) {
		int n = gs_numa_fallback_node(nid, i);

		if (node_allowed(mask, n) &&
		    !gs_physmem_alloc_huge_node(CHUNK_ORDER, n, chunk_backing,
						gfp | __GFP_NOFAIL | __GFP_THISNODE, &c->pfn,
						NULL)) {
			c->nid = n;
			return 0;
		}
	}
	return -ENOMEM;
}

struct folio *gs_folio_alloc_thp_node(gfp_t gfp, int nid, nodemask_t mask)
{
	struct page_chunk *c;
	struct folio *folio;

	if (gs_inject_should_fail(GS_SITE_PAGE_ALLOC_THP, PAGE_SIZE << CHUNK_ORDER, gfp))
		return NULL;
	if (nid < NUMA_NO_NODE || nid >= (int)gs_numa_nr_nodes())
		return NULL;
	c = gs_alloc(GS_SITE_PAGE_ALLOC, sizeof(*c), gfp | __GFP_ZERO | __GFP_NOFAIL);
	if (!c)
		return NULL;
	if (thp_block(c, gfp, nid, mask)) {
		gs_free(GS_SITE_PAGE_ALLOC, c, sizeof(*c));
		return NULL;
	}
	/* Every page used, none on the free list: what a split leaves, ordinary pages. */
	chunk_of[c->pfn >> CHUNK_ORDER] = c;
	list_add(&c->list, &chunks);
	c->next = CHUNK_PAGES;
	for (unsigned long i = 0; i < ARRAY_SIZE(c->used); i++)
		c->used[i] = ~0UL;
	nr_used += CHUNK_PAGES;
	nr_thp++;
	folio = gs_folio_init(c->pfn, CHUNK_ORDER, 0, ~0UL);
	folio_set_count(folio, 1);
	gs_trace("folio.alloc", GS_TF_X("pfn", c->pfn), GS_TF_U("order", CHUNK_ORDER));
	return folio;
}

/* A whole THP goes back: its block returns to physmem. */
static void thp_free(struct page_chunk *c, struct folio *folio)
{
	/* A poisoned THP would be split first by memory failure: not modelled. */
	WARN_ON_ONCE(folio_test_hwpoison(folio));
	nr_used -= CHUNK_PAGES;
	nr_thp--;
	chunk_of[c->pfn >> CHUNK_ORDER] = NULL;
	list_del(&c->list);
	gs_physmem_free_huge_resident(c->pfn, CHUNK_ORDER, c->used);
	gs_free(GS_SITE_PAGE_ALLOC, c, sizeof(*c));
}

static void page_free_to_list(struct page_chunk *c, struct page *page)
{
	list_add(&page->lru, &free_pages[c->nid]);
	nr_free++;
	if (++c->nr_free == CHUNK_PAGES)
		chunk_release(c);
}

/* The folio layer's release hook for order-0 folios (free_unref_folios()). */
static void page_alloc_free(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio);
	struct page_chunk *c = pfn_chunk(pfn);
	struct page *page = &folio->page;

	if (c && folio_order(folio) == CHUNK_ORDER && c->pfn == pfn) {
		thp_free(c, folio);
		return;
	}
	if (WARN(!c || folio_order(folio), "pfn 0x%lx is not an order-0 page of ours", pfn))
		return;
	nr_used--;
	if (folio_test_hwpoison(folio)) {
		/* Memory failure took it: never hand it out again (free_pages_prepare()). */
		*page = (struct page){.flags = 1UL << PG_hwpoison};
		list_add(&page->lru, &hwpoison_pages);
		nr_hwpoison++;
		return;
	}
	*page = (struct page){0};
	page_free_to_list(c, page);
}

unsigned long gs_page_alloc_unpoison_all(void)
{
	struct page *page, *next;
	unsigned long n = nr_hwpoison;

	list_for_each_entry_safe (page, next, &hwpoison_pages, lru) {
		list_del(&page->lru);
		*page = (struct page){0};
		nr_hwpoison--;
		/* Another poisoned page of the chunk keeps it: @next stays valid. */
		page_free_to_list(pfn_chunk(page_to_pfn(page)), page);
	}
	return n;
}

__attribute__((constructor)) static void page_alloc_init(void)
{
	for (unsigned int n = 0; n < GS_MAX_NUMNODES; n++)
		INIT_LIST_HEAD(&free_pages[n]);
	gs_folio_set_free_hook(GS_FOLIO_OTHER, page_alloc_free);
}
