// SPDX-License-Identifier: MIT
/*
 * HugeTLB pools and their accounting: hstates with the sysfs counters,
 * pool resizing, global reservations with surplus gathering, subpools with
 * max/min sizes, and the allocation and free paths of huge folios. Mirrors
 * mm/hugetlb.c (set_max_huge_pages(), hugetlb_acct_memory(),
 * gather_surplus_pages(), return_unused_surplus_pages(),
 * hugepage_subpool_{get,put}_pages(), free_huge_folio()) and the
 * hugetlb_alloc_folio() that the guest_memfd HugeTLB series splits out of
 * alloc_hugetlb_folio(). Per-node pools on one free list, the counters by
 * node as well (nodeN/hugepages); pages come from a backend. A huge
 * page with a bad raw page is dissolved rather than reused
 * (dissolve_free_hugetlb_folio() after memory failure).
 */
#include <errno.h>
#include <stdio.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_cgroup.h>
#include <gmemsim/inject.h>
#include <gmemsim/mempolicy.h>
#include <gmemsim/numa.h>
#include <gmemsim/state.h>
#include <gmemsim/physmem.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/hugetlb_int.h>

static const struct gs_hugetlb_backend *hugetlb_host;

/*
 * Dissolved huge pages that hold a bad raw page. The kernel's
 * __update_and_free_hugetlb_folio() moves the poison onto the raw pages
 * (folio_clear_hugetlb_hwpoison()) and gives the healthy ones to the buddy
 * allocator, which keeps the bad ones out; one whose record is unreliable it
 * keeps entirely. Simulated memory goes back to the host a huge page at a
 * time only, so here the whole page is kept out of use, outside every pool,
 * until unpoisoned (hugetlb_unpoison_all()).
 */
static LIST_HEAD(hwpoison_hugepages);
static unsigned long nr_hwpoison_hugepages;

/* What the kernel's htlb_alloc_mask() gives a pool without movability. */
#define HTLB_ALLOC_GFP (GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

int hugetlb_set_backend(const struct gs_hugetlb_backend *backend)
{
	struct hstate *h;
	int ret = 0;

	spin_lock(&hugetlb_lock);
	for_each_hstate (h)
		if (h->nr_huge_pages)
			ret = -EBUSY;
	/* Dissolved poisoned pages still belong to the backend that gave them. */
	if (nr_hwpoison_hugepages)
		ret = -EBUSY;
	if (!ret)
		hugetlb_host = backend;
	spin_unlock(&hugetlb_lock);
	return ret;
}

const struct gs_hugetlb_backend *hugetlb_backend(void)
{
	return hugetlb_host;
}

/* Every free page promised is there: checked whenever hugetlb_lock is let go. */
static void assert_resv_covered(const struct hstate *h)
{
	lockdep_assert_held(&hugetlb_lock);
	WARN_ONCE(h->free_huge_pages < h->resv_huge_pages, "%s: free %lu below resv %lu", h->name,
		  h->free_huge_pages, h->resv_huge_pages);
}

/* --- moving pages between the free list, the active list and the host --- */

/* The node of a pool page; a fake backend's pages, outside physmem, count as node 0. */
static int hugetlb_folio_nid(const struct folio *folio)
{
	int nid = gs_pfn_to_nid(folio_pfn(folio));

	return nid < 0 ? 0 : nid;
}

static void enqueue_hugetlb_folio(struct hstate *h, struct folio *folio)
{
	lockdep_assert_held(&hugetlb_lock);
	WARN_ON_ONCE(folio_ref_count(folio));
	list_move(&folio->lru, &h->hugepage_freelist);
	h->free_huge_pages++;
	h->free_huge_pages_node[hugetlb_folio_nid(folio)]++;
	folio_set_hugetlb_freed(folio);
}

/*
 * The first usable free page of node @nid. One free list for every node:
 * with one node the first page is taken as before; with several, pages of
 * other nodes are walked past.
 */
static struct folio *dequeue_hugetlb_folio_node_exact(struct hstate *h, int nid)
{
	struct folio *folio;

	lockdep_assert_held(&hugetlb_lock);
	list_for_each_entry (folio, &h->hugepage_freelist, lru) {
		if (folio_test_hwpoison(folio) || hugetlb_folio_nid(folio) != nid)
			continue;
		list_move(&folio->lru, &h->hugepage_activelist);
		folio_ref_unfreeze(folio, 1);
		folio_clear_hugetlb_freed(folio);
		h->free_huge_pages--;
		h->free_huge_pages_node[nid]--;
		return folio;
	}
	return NULL;
}

/* dequeue_hugetlb_folio_nodemask(): @nid first, then its fallback order, within @mask (0: any). */
static struct folio *dequeue_hugetlb_folio_nodemask(struct hstate *h, gfp_t gfp, int nid,
						    nodemask_t mask)
{
	unsigned int tries = (gfp & __GFP_THISNODE) ? 1 : gs_numa_nr_nodes();

	for (unsigned int i = 0; i < tries; i++) {
		int n = gs_numa_fallback_node(nid, i);
		struct folio *folio;

		if ((mask && !(mask & (1UL << n))) || !h->free_huge_pages_node[n])
			continue;
		folio = dequeue_hugetlb_folio_node_exact(h, n);
		if (folio)
			return folio;
	}
	return NULL;
}

/*
 * Surplus pages are counted per node too; a page leaving as surplus from a
 * node that has none counted takes the count of another, so that the
 * nodes' counts always add up to the global one.
 */
static void surplus_node_sub(struct hstate *h, int nid)
{
	for (unsigned int i = 0; i < gs_numa_nr_nodes(); i++) {
		int n = gs_numa_fallback_node(nid, i);

		if (h->surplus_huge_pages_node[n]) {
			h->surplus_huge_pages_node[n]--;
			return;
		}
	}
}

static void add_hugetlb_folio(struct hstate *h, struct folio *folio, bool adjust_surplus)
{
	int nid = hugetlb_folio_nid(folio);

	lockdep_assert_held(&hugetlb_lock);
	h->nr_huge_pages++;
	h->nr_huge_pages_node[nid]++;
	if (adjust_surplus) {
		h->surplus_huge_pages++;
		h->surplus_huge_pages_node[nid]++;
	}
	enqueue_hugetlb_folio(h, folio);
}

static void remove_hugetlb_folio(struct hstate *h, struct folio *folio, bool adjust_surplus)
{
	int nid = hugetlb_folio_nid(folio);

	lockdep_assert_held(&hugetlb_lock);
	list_del_init(&folio->lru);
	if (folio_test_hugetlb_freed(folio)) {
		folio_clear_hugetlb_freed(folio);
		h->free_huge_pages--;
		h->free_huge_pages_node[nid]--;
	}
	if (adjust_surplus) {
		h->surplus_huge_pages--;
		surplus_node_sub(h, nid);
	}
	h->nr_huge_pages--;
	h->nr_huge_pages_node[nid]--;
}

/* The first free page of node @nid, poisoned or not. */
static struct folio *first_free_on_node(struct hstate *h, int nid)
{
	struct folio *folio;

	list_for_each_entry (folio, &h->hugepage_freelist, lru)
		if (hugetlb_folio_nid(folio) == nid)
			return folio;
	return NULL;
}

/*
 * A free page to leave the pool; surplus ones only when @acct_surplus.
 * From node @nid, or (NUMA_NO_NODE) from the nodes in turn, as the kernel's
 * for_each_node_mask_to_free() takes them.
 */
static struct folio *remove_pool_hugetlb_folio(struct hstate *h, bool acct_surplus, int nid)
{
	unsigned int nr = gs_numa_nr_nodes();

	lockdep_assert_held(&hugetlb_lock);
	if (acct_surplus && !h->surplus_huge_pages)
		return NULL;
	for (unsigned int i = 0; i < (nid == NUMA_NO_NODE ? nr : 1); i++) {
		int n = nid == NUMA_NO_NODE ? (int)(((unsigned int)h->next_nid_to_free + i) % nr)
					    : nid;
		struct folio *folio;

		if (!h->free_huge_pages_node[n])
			continue;
		folio = first_free_on_node(h, n);
		if (!folio)
			continue;
		h->next_nid_to_free = (int)(((unsigned int)n + 1) % nr);
		remove_hugetlb_folio(h, folio, acct_surplus);
		return folio;
	}
	return NULL;
}

/*
 * A new page from the host, not yet counted in the pool. "The host has
 * none" is a failure point of its own, whatever the backend.
 */
static struct folio *alloc_fresh_hugetlb_folio(struct hstate *h, gfp_t gfp, int nid)
{
	struct folio *folio;

	if (!hugetlb_host || gs_inject_should_fail(GS_SITE_HUGETLB_ALLOC_FRESH, 0, gfp))
		return NULL;
	if (nid != NUMA_NO_NODE && hugetlb_host->alloc_fresh_node)
		folio = hugetlb_host->alloc_fresh_node(hugetlb_host->ctx, h->order, nid, gfp);
	else
		folio = hugetlb_host->alloc_fresh(hugetlb_host->ctx, h->order, gfp);
	if (!folio)
		return NULL;
	if (WARN(folio_order(folio) != h->order || !folio_test_hugetlb(folio) ||
			 folio_ref_count(folio),
		 "backend gave no fresh HugeTLB folio of order %u", h->order)) {
		hugetlb_host->free_fresh(hugetlb_host->ctx, folio);
		return NULL;
	}
	INIT_LIST_HEAD(&folio->lru);
	hugetlb_set_folio_subpool(folio, NULL);
	set_hugetlb_cgroup(folio, NULL);
	set_hugetlb_cgroup_rsvd(folio, NULL);
	return folio;
}

/* Long pool work (growing, giving back) tells whoever watches (the CLI) how far it is. */
static void hugetlb_report_progress(const struct hstate *h, const char *work, unsigned long start,
				    unsigned long done, unsigned long goal)
{
	char what[64];

	/* Short work (most resizes) is not worth a line; long work every 4096 pages and at its end. */
	if (goal - start < 4096 || (done % 4096 && done != goal))
		return;
	snprintf(what, sizeof(what), "%s %s", h->name, work);
	gs_physmem_progress(what, done, goal);
}

/* At most how many fresh pages the host could still give @h: checked before any loop. */
static unsigned long fresh_available(const struct hstate *h)
{
	if (!hugetlb_host)
		return 0;
	if (!hugetlb_host->nr_available)
		return ULONG_MAX;
	return hugetlb_host->nr_available(hugetlb_host->ctx, h->order);
}

/* The same for node @nid alone (NUMA_NO_NODE: every node). */
static unsigned long fresh_available_node(const struct hstate *h, int nid)
{
	if (nid == NUMA_NO_NODE || !hugetlb_host || !hugetlb_host->nr_available_node)
		return fresh_available(h);
	return hugetlb_host->nr_available_node(hugetlb_host->ctx, h->order, nid);
}

/* Hand a page that has left the pool back to the host. */
static void update_and_free_hugetlb_folio(struct hstate *h, struct folio *folio)
{
	if (folio_test_hwpoison(folio)) {
		spin_lock(&hugetlb_lock);
		list_add_tail(&folio->lru, &hwpoison_hugepages);
		nr_hwpoison_hugepages++;
		spin_unlock(&hugetlb_lock);
		gs_trace("hugetlb.hwpoison", GS_TF_STR("hstate", h->name),
			 GS_TF_X("pfn", folio_pfn(folio)),
			 GS_TF_U("bad",
				 gs_raw_hwpoison_count(folio_pfn(folio), folio_nr_pages(folio))));
		return;
	}
	if (!hugetlb_host->free_fresh(hugetlb_host->ctx, folio))
		return;
	/*
	 * The host cannot take it back (undoing HVO needs memory it does not
	 * have): keep it, as a free surplus page, for a later try.
	 */
	spin_lock(&hugetlb_lock);
	add_hugetlb_folio(h, folio, true);
	spin_unlock(&hugetlb_lock);
}

static void update_and_free_pages_bulk(struct hstate *h, struct list_head *list)
{
	unsigned long total = list_count_nodes(list), done = 0;
	struct folio *folio, *next;

	list_for_each_entry_safe (folio, next, list, lru) {
		list_del_init(&folio->lru);
		update_and_free_hugetlb_folio(h, folio);
		/* Giving back a large pool takes as long as growing it: say how far it is. */
		hugetlb_report_progress(h, "freed", 0, ++done, total);
	}
}

/*
 * A page beyond the persistent pool, counted as surplus at once. It is on
 * no list and has no reference; the caller enqueues or activates it.
 */
static struct folio *alloc_surplus_hugetlb_folio(struct hstate *h, gfp_t gfp, int nid,
						 nodemask_t mask)
{
	struct folio *folio = NULL;
	bool allowed;
	int n;

	spin_lock(&hugetlb_lock);
	allowed = h->surplus_huge_pages < h->nr_overcommit_huge_pages;
	spin_unlock(&hugetlb_lock);
	if (!allowed)
		return NULL;

	if (!mask) {
		folio = alloc_fresh_hugetlb_folio(h, gfp, nid);
	} else {
		/* A policy's nodes only: each in @nid's fallback order, that node alone. */
		for (unsigned int i = 0; !folio && i < gs_numa_nr_nodes(); i++) {
			n = gs_numa_fallback_node(nid, i);
			if (mask & (1UL << n))
				folio = alloc_fresh_hugetlb_folio(h, gfp | __GFP_THISNODE, n);
		}
	}
	if (!folio)
		return NULL;

	n = hugetlb_folio_nid(folio);
	spin_lock(&hugetlb_lock);
	h->nr_huge_pages++;
	h->nr_huge_pages_node[n]++;
	h->surplus_huge_pages++;
	h->surplus_huge_pages_node[n]++;
	spin_unlock(&hugetlb_lock);
	return folio;
}

/* --- pool size (nr_hugepages, nr_overcommit_hugepages) --- */

/* Count one page more (@delta 1) or less (-1) as surplus, on node @nid or any (round robin). */
static bool adjust_pool_surplus(struct hstate *h, int delta, int nid)
{
	unsigned int nr = gs_numa_nr_nodes();

	lockdep_assert_held(&hugetlb_lock);
	for (unsigned int i = 0; i < (nid == NUMA_NO_NODE ? nr : 1); i++) {
		int n = nid == NUMA_NO_NODE ? (int)(((unsigned int)h->next_nid_to_alloc + i) % nr)
					    : nid;

		if (delta < 0 && !h->surplus_huge_pages_node[n])
			continue;
		if (delta > 0 && h->surplus_huge_pages_node[n] >= h->nr_huge_pages_node[n])
			continue;
		h->surplus_huge_pages_node[n] += (unsigned long)(long)delta;
		h->surplus_huge_pages += (unsigned long)(long)delta;
		return true;
	}
	return false;
}

/*
 * One more persistent page, from node @nid alone, or (NUMA_NO_NODE) from
 * the nodes in turn, each alone (for_each_node_mask_to_alloc() with
 * __GFP_THISNODE): a pool grows evenly over the nodes.
 */
static bool alloc_pool_huge_folio(struct hstate *h, int nid)
{
	unsigned int nr = gs_numa_nr_nodes();
	struct folio *folio = NULL;

	if (nid != NUMA_NO_NODE)
		folio = alloc_fresh_hugetlb_folio(h, HTLB_ALLOC_GFP | __GFP_THISNODE, nid);
	for (unsigned int i = 0; nid == NUMA_NO_NODE && !folio && i < nr; i++) {
		int n = h->next_nid_to_alloc % (int)nr;

		h->next_nid_to_alloc = (n + 1) % (int)nr;
		folio = alloc_fresh_hugetlb_folio(h, HTLB_ALLOC_GFP | __GFP_THISNODE, n);
	}
	if (!folio)
		return false;
	spin_lock(&hugetlb_lock);
	add_hugetlb_folio(h, folio, false);
	spin_unlock(&hugetlb_lock);
	return true;
}

static void shrink_pool(struct hstate *h, unsigned long count, int nid)
{
	unsigned long min_count;
	LIST_HEAD(page_list);
	struct folio *folio;

	lockdep_assert_held(&hugetlb_lock);
	/* Pages in use and free pages promised to reservations must stay. */
	min_count = h->resv_huge_pages + h->nr_huge_pages - h->free_huge_pages;
	min_count = max_t(unsigned long, count, min_count);
	while (min_count < persistent_huge_pages(h)) {
		folio = remove_pool_hugetlb_folio(h, false, nid);
		if (!folio)
			break;
		list_add(&folio->lru, &page_list);
	}
	spin_unlock(&hugetlb_lock);
	update_and_free_pages_bulk(h, &page_list);
	spin_lock(&hugetlb_lock);

	/* What could not go now leaves when freed (free_huge_folio()). */
	while (count < persistent_huge_pages(h))
		if (!adjust_pool_surplus(h, 1, nid))
			break;
}

/* set_max_huge_pages() of the kernel: @count for the whole pool, on node @nid or any. */
static int __set_max_huge_pages(struct hstate *h, unsigned long count, int nid)
{
	unsigned long start, goal;

	might_sleep();
	spin_lock(&hugetlb_lock);
	/* Surplus pages in use are the cheapest way to grow. */
	while (h->surplus_huge_pages && count > persistent_huge_pages(h))
		if (!adjust_pool_surplus(h, -1, nid))
			break;

	/* Best effort, as the sysfs write: grow to what the machine holds, no further. */
	start = goal = persistent_huge_pages(h);
	goal += min_t(unsigned long, count - min_t(unsigned long, count, goal),
		      fresh_available_node(h, nid));
	while (goal > persistent_huge_pages(h)) {
		bool ok;

		spin_unlock(&hugetlb_lock);
		ok = alloc_pool_huge_folio(h, nid);
		/* A host giving out early ends the work where it is: the last report says so. */
		if (!ok)
			goal = persistent_huge_pages(h);
		hugetlb_report_progress(h, "allocated", start, persistent_huge_pages(h), goal);
		spin_lock(&hugetlb_lock);
		if (!ok)
			goto out;
	}
	if (count > goal)
		goto out;
	shrink_pool(h, count, nid);
out:
	h->max_huge_pages = persistent_huge_pages(h);
	assert_resv_covered(h);
	spin_unlock(&hugetlb_lock);
	gs_trace("hugetlb.resize", GS_TF_STR("hstate", h->name), GS_TF_U("count", count),
		 GS_TF_U("nr", h->nr_huge_pages), GS_TF_U("surplus", h->surplus_huge_pages));
	return 0;
}

int set_max_huge_pages(struct hstate *h, unsigned long count)
{
	return __set_max_huge_pages(h, count, NUMA_NO_NODE);
}

int hugetlb_set_node_huge_pages(struct hstate *h, int nid, unsigned long count)
{
	unsigned long others;

	if (nid < 0 || (unsigned int)nid >= gs_numa_nr_nodes())
		return -EINVAL;
	/* The node's persistent pages become @count; the other nodes' stay. */
	spin_lock(&hugetlb_lock);
	others = persistent_huge_pages(h) -
		 (h->nr_huge_pages_node[nid] - h->surplus_huge_pages_node[nid]);
	spin_unlock(&hugetlb_lock);
	count = count > ULONG_MAX - others ? ULONG_MAX : count + others;
	return __set_max_huge_pages(h, count, nid);
}

void hugetlb_set_overcommit(struct hstate *h, unsigned long count)
{
	spin_lock(&hugetlb_lock);
	h->nr_overcommit_huge_pages = count;
	spin_unlock(&hugetlb_lock);
}

/* --- global reservations --- */

/*
 * Make free pages cover resv_huge_pages + @delta, allocating surplus pages
 * for the difference, then commit the reservation. Pages allocated beyond
 * what is finally needed go back to the host.
 */
static int gather_surplus_pages(struct hstate *h, long delta, bool use_surplus)
{
	struct folio *folio, *next;
	LIST_HEAD(surplus_list);
	long needed, allocated = 0, i;
	bool alloc_ok = true;
	int ret = -ENOMEM;

	lockdep_assert_held(&hugetlb_lock);
	needed = (long)(h->resv_huge_pages + delta) - (long)h->free_huge_pages;
	if (needed <= 0) {
		h->resv_huge_pages += delta;
		return 0;
	}
	if (!use_surplus)
		return -ENOMEM;
	/* More than overcommit allows or the machine holds: fail before allocating any. */
	if ((unsigned long)needed >
		    h->nr_overcommit_huge_pages - min_t(unsigned long, h->surplus_huge_pages,
							h->nr_overcommit_huge_pages) ||
	    (unsigned long)needed > fresh_available(h))
		return -ENOMEM;
retry:
	spin_unlock(&hugetlb_lock);
	for (i = 0; i < needed; i++) {
		folio = alloc_surplus_hugetlb_folio(h, HTLB_ALLOC_GFP, NUMA_NO_NODE, 0);
		if (!folio) {
			alloc_ok = false;
			break;
		}
		list_add(&folio->lru, &surplus_list);
	}
	allocated += i;
	spin_lock(&hugetlb_lock);

	/* The lock was dropped: the need is measured again. */
	needed = (long)(h->resv_huge_pages + delta) - (long)(h->free_huge_pages + allocated);
	if (needed > 0) {
		if (alloc_ok)
			goto retry;
		goto free;
	}
	/* Commit before enqueueing, so that no allocation takes the new pages. */
	needed += allocated;
	h->resv_huge_pages += delta;
	ret = 0;
	list_for_each_entry_safe (folio, next, &surplus_list, lru) {
		if (--needed < 0)
			break;
		enqueue_hugetlb_folio(h, folio);
	}
free:
	spin_unlock(&hugetlb_lock);
	list_for_each_entry_safe (folio, next, &surplus_list, lru) {
		list_del_init(&folio->lru);
		free_huge_folio(folio);
	}
	spin_lock(&hugetlb_lock);
	return ret;
}

static void return_unused_surplus_pages(struct hstate *h, unsigned long unused_resv_pages)
{
	unsigned long nr_pages;
	LIST_HEAD(page_list);
	struct folio *folio;

	lockdep_assert_held(&hugetlb_lock);
	WARN_ON_ONCE(unused_resv_pages > h->resv_huge_pages);
	h->resv_huge_pages -= unused_resv_pages;

	/* Some of the reservation may have been backed by persistent pages. */
	nr_pages = min_t(unsigned long, unused_resv_pages, h->surplus_huge_pages);
	while (nr_pages--) {
		folio = remove_pool_hugetlb_folio(h, true, NUMA_NO_NODE);
		if (!folio)
			break;
		list_add(&folio->lru, &page_list);
	}
	spin_unlock(&hugetlb_lock);
	update_and_free_pages_bulk(h, &page_list);
	spin_lock(&hugetlb_lock);
}

int hugetlb_acct_memory(struct hstate *h, long delta, bool use_surplus)
{
	int ret = -ENOMEM;

	if (!delta)
		return 0;
	spin_lock(&hugetlb_lock);
	/* Releasing more than is reserved would wrap the counter: a caller's bug. */
	if (delta < 0 && (delta == LONG_MIN || (unsigned long)-delta > h->resv_huge_pages)) {
		ret = -EINVAL;
		goto out;
	}
	if (delta > 0) {
		if (gather_surplus_pages(h, delta, use_surplus) < 0)
			goto out;
		/*
		 * The kernel also wants the nodes the task may use to hold
		 * @delta free pages (allowed_mems_nr()). Without a cpuset or a
		 * task policy that is every node's free page, which gathering
		 * just ensured.
		 */
		if (delta > (long)h->free_huge_pages) {
			return_unused_surplus_pages(h, delta);
			goto out;
		}
	}
	ret = 0;
	if (delta < 0)
		return_unused_surplus_pages(h, (unsigned long)-delta);
out:
	assert_resv_covered(h);
	spin_unlock(&hugetlb_lock);
	gs_trace("hugetlb.acct", GS_TF_STR("hstate", h->name), GS_TF_S("delta", delta),
		 GS_TF_S("ret", ret), GS_TF_U("resv", h->resv_huge_pages));
	return ret;
}

/* --- subpools --- */

static bool subpool_is_free(const struct hugepage_subpool *spool)
{
	if (spool->count)
		return false;
	if (spool->max_hpages != -1)
		return spool->used_hpages == 0;
	if (spool->min_hpages != -1)
		return spool->rsv_hpages == spool->min_hpages;
	return true;
}

/* The last reference and the last page are gone: so is the reservation. */
static void subpool_release(struct hugepage_subpool *spool)
{
	struct hstate *h = spool->hstate;

	if (spool->min_hpages != -1)
		hugetlb_acct_memory(h, -spool->min_hpages, spool->use_surplus);
	if (spool->rsvd_cg)
		hugetlb_cgroup_uncharge_cgroup_rsvd(hstate_index(h), spool->rsvd_nr_pages,
						    spool->rsvd_cg);
	hugetlb_subpool_unlink(spool);
	gs_free(GS_SITE_HUGETLB_SUBPOOL, spool, sizeof(*spool));
}

/* Returns whether the subpool must now be released, which the caller does. */
static bool unlock_subpool(struct hugepage_subpool *spool)
{
	bool release = subpool_is_free(spool);

	spin_unlock(&spool->lock);
	return release;
}

struct hugepage_subpool *hugepage_new_subpool(struct hstate *h, long max_hpages, long min_hpages,
					      bool use_surplus)
{
	struct hugepage_subpool *spool;

	/* -1 is "none"; anything else below 0 is no size the kernel's long counts could mean. */
	if (max_hpages < -1 || min_hpages < -1 || (max_hpages != -1 && min_hpages > max_hpages))
		return NULL;
	spool = gs_alloc(GS_SITE_HUGETLB_SUBPOOL, sizeof(*spool), GFP_KERNEL | __GFP_ZERO);
	if (!spool)
		return NULL;
	spin_lock_init(&spool->lock);
	spool->count = 1;
	spool->max_hpages = max_hpages;
	spool->hstate = h;
	spool->min_hpages = min_hpages;
	spool->use_surplus = use_surplus;
	if (min_hpages != -1 && hugetlb_acct_memory(h, min_hpages, use_surplus)) {
		gs_free(GS_SITE_HUGETLB_SUBPOOL, spool, sizeof(*spool));
		return NULL;
	}
	spool->rsv_hpages = min_hpages;
	hugetlb_subpool_link(spool);
	return spool;
}

void hugepage_put_subpool(struct hugepage_subpool *spool)
{
	spin_lock(&spool->lock);
	if (WARN_ON(spool->count <= 0)) {
		spin_unlock(&spool->lock);
		return;
	}
	spool->count--;
	if (unlock_subpool(spool))
		subpool_release(spool);
}

long hugepage_subpool_get_pages(struct hugepage_subpool *spool, long delta)
{
	long ret = delta;

	if (!spool)
		return ret;
	spin_lock(&spool->lock);
	if (spool->max_hpages != -1) {
		if (spool->used_hpages + delta > spool->max_hpages) {
			ret = -ENOMEM;
			goto unlock;
		}
		spool->used_hpages += delta;
	}
	/* The subpool's own reservation pays first; the rest needs a global one. */
	if (spool->min_hpages != -1 && spool->rsv_hpages) {
		if (delta > spool->rsv_hpages) {
			ret = delta - spool->rsv_hpages;
			spool->rsv_hpages = 0;
		} else {
			ret = 0;
			spool->rsv_hpages -= delta;
		}
	}
unlock:
	spin_unlock(&spool->lock);
	return ret;
}

/* hugepage_subpool_put_pages() leaving the release to the caller. */
static long __hugepage_subpool_put_pages(struct hugepage_subpool *spool, long delta, bool *release)
{
	long ret = delta;

	*release = false;
	if (!spool)
		return ret;
	spin_lock(&spool->lock);
	if (spool->max_hpages != -1) {
		WARN_ON_ONCE(spool->used_hpages < delta);
		spool->used_hpages -= delta;
	}
	/* Below the minimum, the pages become the subpool's reservation again. */
	if (spool->min_hpages != -1 && spool->used_hpages < spool->min_hpages) {
		if (spool->rsv_hpages + delta <= spool->min_hpages)
			ret = 0;
		else
			ret = spool->rsv_hpages + delta - spool->min_hpages;
		spool->rsv_hpages += delta;
		if (spool->rsv_hpages > spool->min_hpages)
			spool->rsv_hpages = spool->min_hpages;
	}
	*release = unlock_subpool(spool);
	return ret;
}

long hugepage_subpool_put_pages(struct hugepage_subpool *spool, long delta)
{
	bool release;
	long ret = __hugepage_subpool_put_pages(spool, delta, &release);

	if (release)
		subpool_release(spool);
	return ret;
}

struct hugepage_subpool *hugetlb_gmem_new_subpool(struct hstate *h, long nr_hpages)
{
	unsigned long nr_pages;
	int idx = hstate_index(h);
	struct hugepage_subpool *spool;
	struct hugetlb_cgroup *h_cg;

	/* The file's size in bytes is a loff_t: more pages than that holds is no size. */
	if (nr_hpages < 1 || nr_hpages > hugetlb_max_file_hpages(h))
		return ERR_PTR(-EINVAL);
	nr_pages = (unsigned long)nr_hpages << huge_page_order(h);
	if (hugetlb_cgroup_charge_cgroup_rsvd(idx, nr_pages, &h_cg))
		return ERR_PTR(-ENOMEM);
	spool = hugepage_new_subpool(h, nr_hpages, nr_hpages, false);
	if (!spool) {
		hugetlb_cgroup_uncharge_cgroup_rsvd(idx, nr_pages, h_cg);
		return ERR_PTR(-ENOMEM);
	}
	spool->rsvd_cg = h_cg;
	spool->rsvd_nr_pages = nr_pages;
	return spool;
}

/* --- allocation and free --- */

/* Without a reservation of its own, an allocation must leave reserved pages alone. */
static struct folio *dequeue_hugetlb_folio_mpol(struct hstate *h, int nid, nodemask_t mask,
						bool use_existing_reservation)
{
	if (!use_existing_reservation && h->free_huge_pages == h->resv_huge_pages)
		return NULL;
	return dequeue_hugetlb_folio_nodemask(h, HTLB_ALLOC_GFP, nid, mask);
}

struct folio *hugetlb_alloc_folio(struct hstate *h, const struct mempolicy *mpol, pgoff_t ilx,
				  bool charge_cgroup_rsvd, bool use_existing_reservation)
{
	unsigned long nr_pages = pages_per_huge_page(h);
	struct hugetlb_cgroup *h_cg = NULL, *h_cg_rsvd = NULL;
	int idx = hstate_index(h);
	struct folio *folio;
	nodemask_t mask;
	int ret, nid;

	might_sleep();
	/* The policy's nodes (huge_node()): a BIND without free pages there fails, reserved or not. */
	gs_mpol_nodes(mpol, ilx >> h->order, &nid, &mask);
	if (WARN_ON_ONCE(use_existing_reservation && !h->resv_huge_pages))
		return ERR_PTR(-EINVAL);
	if (charge_cgroup_rsvd) {
		ret = hugetlb_cgroup_charge_cgroup_rsvd(idx, nr_pages, &h_cg_rsvd);
		if (ret)
			return ERR_PTR(ret);
	}
	ret = hugetlb_cgroup_charge_cgroup(idx, nr_pages, &h_cg);
	if (ret)
		goto out_uncharge_cgroup_reservation;

	spin_lock(&hugetlb_lock);
	folio = dequeue_hugetlb_folio_mpol(h, nid, mask, use_existing_reservation);
	if (!folio) {
		spin_unlock(&hugetlb_lock);
		folio = alloc_surplus_hugetlb_folio(h, HTLB_ALLOC_GFP, nid, mask);
		if (!folio) {
			ret = -ENOSPC;
			goto out_uncharge_cgroup;
		}
		spin_lock(&hugetlb_lock);
		list_add(&folio->lru, &h->hugepage_activelist);
		folio_ref_unfreeze(folio, 1);
	}
	/* Freeing the page unused must give the reservation back. */
	if (use_existing_reservation) {
		folio_set_hugetlb_restore_reserve(folio);
		h->resv_huge_pages--;
	}
	hugetlb_cgroup_commit_charge(idx, nr_pages, h_cg, folio);
	if (charge_cgroup_rsvd)
		hugetlb_cgroup_commit_charge_rsvd(idx, nr_pages, h_cg_rsvd, folio);
	assert_resv_covered(h);
	spin_unlock(&hugetlb_lock);
	/* The folio layer's view, the counterpart of folio.free when its last reference goes. */
	gs_trace("folio.alloc", GS_TF_X("pfn", folio_pfn(folio)), GS_TF_U("order", h->order));
	gs_trace("hugetlb.alloc", GS_TF_STR("hstate", h->name), GS_TF_U("ilx", ilx),
		 GS_TF_B("reserved", use_existing_reservation), GS_TF_U("free", h->free_huge_pages),
		 GS_TF_U("resv", h->resv_huge_pages), GS_TF_U("surplus", h->surplus_huge_pages));
	return folio;

out_uncharge_cgroup:
	hugetlb_cgroup_uncharge_cgroup(idx, nr_pages, h_cg);
out_uncharge_cgroup_reservation:
	if (charge_cgroup_rsvd)
		hugetlb_cgroup_uncharge_cgroup_rsvd(idx, nr_pages, h_cg_rsvd);
	return ERR_PTR(ret);
}

/* Undo hugepage_subpool_get_pages(@spool, 1), which returned @gbl_chg. */
static void subpool_unget_page(struct hugepage_subpool *spool, long gbl_chg)
{
	long gbl_reserve = hugepage_subpool_put_pages(spool, 1);

	/* A page outside the subpool's reservation never had a global one to give back. */
	if (!gbl_chg)
		hugetlb_acct_memory(spool->hstate, -gbl_reserve, spool->use_surplus);
}

struct folio *hugetlb_file_alloc_folio(struct hugepage_subpool *spool, const struct mempolicy *mpol,
				       pgoff_t ilx)
{
	bool gmem = !spool->use_surplus;
	struct folio *folio;
	long gbl_chg;

	gbl_chg = hugepage_subpool_get_pages(spool, 1);
	if (gbl_chg < 0)
		return ERR_PTR(gmem ? -ENOMEM : -ENOSPC);
	/* guest_memfd takes no page outside what it reserved at creation. */
	if (gbl_chg && gmem) {
		folio = ERR_PTR(-ENOMEM);
		goto out_unget;
	}
	folio = hugetlb_alloc_folio(spool->hstate, mpol, ilx, gbl_chg > 0, gbl_chg == 0);
	if (IS_ERR(folio)) {
		if (gmem)
			folio = ERR_PTR(-ENOMEM);
		goto out_unget;
	}
	hugetlb_set_folio_subpool(folio, spool);
	folio_clear_hugetlb_restore_reserve(folio);
	return folio;

out_unget:
	subpool_unget_page(spool, gbl_chg);
	return folio;
}

void free_huge_folio(struct folio *folio)
{
	struct hugepage_subpool *spool = hugetlb_folio_subpool(folio);
	struct hstate *h = folio_hstate(folio);
	bool restore_reserve, release = false;
	unsigned long nr_pages;
	int idx;

	if (WARN_ON(!h || !folio_test_hugetlb(folio) || folio_ref_count(folio)))
		return;
	nr_pages = pages_per_huge_page(h);
	idx = hstate_index(h);
	folio->mapping = NULL;
	hugetlb_set_folio_subpool(folio, NULL);
	restore_reserve = folio_test_hugetlb_restore_reserve(folio);
	folio_clear_hugetlb_restore_reserve(folio);

	/*
	 * A page that consumed a reservation gives it back directly; the
	 * subpool still counts it. Any other page returns to the subpool,
	 * which keeps it as reservation when under its minimum size.
	 *
	 * The kernel releases an unreferenced, idle subpool inside
	 * hugepage_subpool_put_pages(), before the page's reservation is
	 * restored, so resv_huge_pages dips below zero for a moment; the
	 * release is done last here.
	 */
	if (!restore_reserve && !__hugepage_subpool_put_pages(spool, 1, &release))
		restore_reserve = true;

	spin_lock(&hugetlb_lock);
	hugetlb_cgroup_uncharge_folio(idx, nr_pages, folio);
	hugetlb_cgroup_uncharge_folio_rsvd(idx, nr_pages, folio);
	if (restore_reserve)
		h->resv_huge_pages++;
	/*
	 * A page with a bad raw page is never handed out again. It is
	 * dissolved, as memory failure dissolves a free poisoned page, unless
	 * every free page is promised to a reservation (available_huge_pages()
	 * is 0: dissolve_free_hugetlb_folio() refuses); then it waits on the
	 * free list, where the dequeue skips it, until the pool shrinks.
	 */
	if (folio_test_hwpoison(folio) && h->free_huge_pages >= h->resv_huge_pages) {
		remove_hugetlb_folio(h, folio, h->surplus_huge_pages > 0);
		if (h->max_huge_pages)
			h->max_huge_pages--;
		assert_resv_covered(h);
		spin_unlock(&hugetlb_lock);
		update_and_free_hugetlb_folio(h, folio);
	} else if (h->surplus_huge_pages && h->free_huge_pages >= h->resv_huge_pages) {
		/*
		 * While the pool is above its persistent size, a freed page leaves it.
		 * The kernel lets it go even when it just gave a reservation back,
		 * which leaves resv_huge_pages above free_huge_pages; here such a page
		 * stays, free, and leaves with its reservation.
		 */
		remove_hugetlb_folio(h, folio, true);
		assert_resv_covered(h);
		spin_unlock(&hugetlb_lock);
		update_and_free_hugetlb_folio(h, folio);
	} else {
		enqueue_hugetlb_folio(h, folio);
		assert_resv_covered(h);
		spin_unlock(&hugetlb_lock);
	}
	if (release)
		subpool_release(spool);
	gs_trace("hugetlb.free", GS_TF_STR("hstate", h->name), GS_TF_B("restore", restore_reserve),
		 GS_TF_U("free", h->free_huge_pages), GS_TF_U("resv", h->resv_huge_pages),
		 GS_TF_U("surplus", h->surplus_huge_pages));
}

/* --- memory failure --- */

unsigned long hugetlb_nr_hwpoison(void)
{
	return nr_hwpoison_hugepages;
}

unsigned long hugetlb_unpoison_all(void)
{
	unsigned long n = 0;

	spin_lock(&hugetlb_lock);
	while (!list_empty(&hwpoison_hugepages)) {
		struct folio *folio = list_first_entry(&hwpoison_hugepages, struct folio, lru);
		struct hstate *h = folio_hstate(folio);

		list_del_init(&folio->lru);
		nr_hwpoison_hugepages--;
		spin_unlock(&hugetlb_lock);
		/* unpoison_memory(): the records go, and the page is as good as new. */
		gs_raw_hwpoison_clear(folio_pfn(folio), folio_nr_pages(folio));
		folio_clear_hwpoison(folio);
		folio_clear_hugetlb_raw_hwp_unreliable(folio);
		update_and_free_hugetlb_folio(h, folio);
		n++;
		spin_lock(&hugetlb_lock);
	}
	spin_unlock(&hugetlb_lock);
	return n;
}

/* --- split huge pages --- */

void hugetlb_folio_split_detach(struct folio *folio)
{
	spin_lock(&hugetlb_lock);
	list_del_init(&folio->lru);
	spin_unlock(&hugetlb_lock);
}

void hugetlb_folio_merge_attach(struct folio *folio)
{
	struct hstate *h = folio_hstate(folio);

	if (WARN_ON(!h || !folio_test_hugetlb(folio)))
		return;
	spin_lock(&hugetlb_lock);
	list_add(&folio->lru, &h->hugepage_activelist);
	spin_unlock(&hugetlb_lock);
}

/* --- invariants and dump --- */

struct split_count {
	unsigned long nr;
	const struct hugepage_subpool *spool;
	unsigned long in_spool;
};

static void count_split(struct hugetlb_folio_meta *meta, void *arg)
{
	struct split_count *c = arg;

	c->nr++;
	if (c->spool && meta->subpool == c->spool)
		c->in_spool++;
}

static void check_free_list(struct gs_check_report *r, struct hstate *h)
{
	struct folio *folio;

	list_for_each_entry (folio, &h->hugepage_freelist, lru) {
		if (folio_ref_count(folio) || !folio_test_hugetlb_freed(folio) ||
		    folio_order(folio) != h->order)
			gs_check_violation(
				r, "%s: free folio pfn %#lx has refcount %d, order %u%s", h->name,
				folio_pfn(folio), folio_ref_count(folio), folio_order(folio),
				folio_test_hugetlb_freed(folio) ? "" : ", not marked freed");
		if (hugetlb_cgroup_from_folio(folio) || hugetlb_cgroup_from_folio_rsvd(folio) ||
		    hugetlb_folio_subpool(folio))
			gs_check_violation(r, "%s: free folio pfn %#lx still charged or owned",
					   h->name, folio_pfn(folio));
	}
}

/*
 * The nodes' counters add up to the global ones; each node's free count is
 * its free pages; nodes that do not exist count nothing. Those (most of
 * GS_MAX_NUMNODES) are summed in one branch-free pass, and walked node by
 * node for the reports only when one of them counts something.
 */
static void check_nodes(struct gs_check_report *r, struct hstate *h)
{
	unsigned int nodes = min_t(unsigned int, gs_numa_nr_nodes(), GS_MAX_NUMNODES);
	unsigned long nr = 0, free = 0, surplus = 0, beyond = 0;

	for (unsigned int n = 0; n < nodes; n++) {
		unsigned long on_list = 0;
		struct folio *folio;

		nr += h->nr_huge_pages_node[n];
		free += h->free_huge_pages_node[n];
		surplus += h->surplus_huge_pages_node[n];
		if (!h->free_huge_pages)
			continue;
		list_for_each_entry (folio, &h->hugepage_freelist, lru)
			on_list += hugetlb_folio_nid(folio) == (int)n;
		if (on_list != h->free_huge_pages_node[n])
			gs_check_violation(r, "%s: node %u free %lu but %lu of its pages free",
					   h->name, n, h->free_huge_pages_node[n], on_list);
	}
	for (unsigned int n = nodes; n < GS_MAX_NUMNODES; n++) {
		nr += h->nr_huge_pages_node[n];
		free += h->free_huge_pages_node[n];
		surplus += h->surplus_huge_pages_node[n];
		beyond |= h->nr_huge_pages_node[n] | h->free_huge_pages_node[n] |
			  h->surplus_huge_pages_node[n];
	}
	for (unsigned int n = nodes; beyond && n < GS_MAX_NUMNODES; n++)
		if (h->nr_huge_pages_node[n] || h->free_huge_pages_node[n] ||
		    h->surplus_huge_pages_node[n])
			gs_check_violation(r, "%s: pages counted on node %u, which does not exist",
					   h->name, n);
	if (nr != h->nr_huge_pages || free != h->free_huge_pages ||
	    surplus != h->surplus_huge_pages)
		gs_check_violation(
			r, "%s: nodes hold nr %lu free %lu surplus %lu, the pool %lu %lu %lu",
			h->name, nr, free, surplus, h->nr_huge_pages, h->free_huge_pages,
			h->surplus_huge_pages);
}

static void check_hstate(struct gs_check_report *r, struct hstate *h,
			 const struct hugetlb_split_snap *snap)
{
	unsigned long nr_free = list_count_nodes(&h->hugepage_freelist);
	unsigned long nr_active = list_count_nodes(&h->hugepage_activelist);
	struct split_count split = {0};

	hugetlb_split_snap_for_each(snap, h, count_split, &split);
	if (h->free_huge_pages < h->resv_huge_pages)
		gs_check_violation(r, "%s: free %lu below resv %lu", h->name, h->free_huge_pages,
				   h->resv_huge_pages);
	if (nr_free != h->free_huge_pages)
		gs_check_violation(r, "%s: free %lu but %lu pages on the free list", h->name,
				   h->free_huge_pages, nr_free);
	if (h->nr_huge_pages != nr_free + nr_active + split.nr)
		gs_check_violation(r, "%s: nr %lu but %lu free + %lu in use + %lu split", h->name,
				   h->nr_huge_pages, nr_free, nr_active, split.nr);
	if (h->surplus_huge_pages > h->nr_huge_pages)
		gs_check_violation(r, "%s: surplus %lu above nr %lu", h->name,
				   h->surplus_huge_pages, h->nr_huge_pages);
	check_free_list(r, h);
	check_nodes(r, h);
}

static unsigned long folios_of_subpool(const struct hugepage_subpool *spool,
				       const struct hugetlb_split_snap *snap)
{
	struct hstate *h = spool->hstate;
	struct split_count split = {.spool = spool};
	struct folio *folio;
	unsigned long n = 0;

	list_for_each_entry (folio, &h->hugepage_activelist, lru)
		n += hugetlb_folio_subpool(folio) == spool;
	hugetlb_split_snap_for_each(snap, h, count_split, &split);
	return n + split.in_spool;
}

/*
 * A subpool is named as the dump names it, by its place in the list and its
 * pool: output must read the same in every run, and an address does not.
 */
struct check_ctx {
	struct gs_check_report *r;
	const struct hugetlb_split_snap *snap;
	unsigned int nr;
};

static void check_subpool(struct hugepage_subpool *spool, void *arg)
{
	struct check_ctx *c = arg;
	struct gs_check_report *r = c->r;
	unsigned long held = folios_of_subpool(spool, c->snap);
	unsigned int nr = c->nr++;
	const char *pool = spool->hstate->name;

	if (spool->count < 0)
		gs_check_violation(r, "subpool #%u %s: count %ld", nr, pool, spool->count);
	if (spool->max_hpages != -1 &&
	    (spool->used_hpages < 0 || spool->used_hpages > spool->max_hpages))
		gs_check_violation(r, "subpool #%u %s: used %ld outside [0, max %ld]", nr, pool,
				   spool->used_hpages, spool->max_hpages);
	if (spool->min_hpages != -1 &&
	    (spool->rsv_hpages < 0 || spool->rsv_hpages > spool->min_hpages))
		gs_check_violation(r, "subpool #%u %s: rsv %ld outside [0, min %ld]", nr, pool,
				   spool->rsv_hpages, spool->min_hpages);
	if (spool->max_hpages != -1 && held > (unsigned long)spool->used_hpages)
		gs_check_violation(r, "subpool #%u %s: %lu pages held but used %ld", nr, pool, held,
				   spool->used_hpages);
}

struct resv_sum {
	const struct hstate *h;
	unsigned long rsv;
};

static void sum_subpool_rsv(struct hugepage_subpool *spool, void *arg)
{
	struct resv_sum *s = arg;

	if (spool->hstate == s->h && spool->min_hpages != -1 && spool->rsv_hpages > 0)
		s->rsv += (unsigned long)spool->rsv_hpages;
}

/* Pages kept out of use are poisoned, unreferenced and in no pool. */
static void check_hwpoison_held(struct gs_check_report *r)
{
	unsigned long n = 0;
	struct folio *folio;

	list_for_each_entry (folio, &hwpoison_hugepages, lru) {
		n++;
		if (!folio_test_hwpoison(folio) || folio_ref_count(folio) ||
		    folio_test_hugetlb_freed(folio))
			gs_check_violation(r,
					   "held poisoned page pfn %#lx: flags %#lx, refcount %d",
					   folio_pfn(folio), folio->flags, folio_ref_count(folio));
	}
	if (n != nr_hwpoison_hugepages)
		gs_check_violation(r, "%lu poisoned pages held, %lu counted", n,
				   nr_hwpoison_hugepages);
}

static void hugetlb_check(struct gs_check_report *r, void *ctx)
{
	const struct hugetlb_split_snap *snap;
	struct hstate *h;

	(void)ctx;
	spin_lock(&hugetlb_lock);
	/*
	 * One walk of the split pages per pool feeds the pool's and every
	 * subpool's tally, and the cgroups' checker of the same pass.
	 */
	snap = hugetlb_split_snap_check();
	for_each_hstate (h) {
		struct resv_sum s = {.h = h};

		check_hstate(r, h, snap);
		hugetlb_for_each_subpool(sum_subpool_rsv, &s);
		/* Every page a subpool keeps in reserve is a global reservation. */
		if (s.rsv > h->resv_huge_pages)
			gs_check_violation(r, "%s: subpools reserve %lu pages, resv is %lu",
					   h->name, s.rsv, h->resv_huge_pages);
	}
	hugetlb_for_each_subpool(check_subpool, &(struct check_ctx){.r = r, .snap = snap});
	check_hwpoison_held(r);
	spin_unlock(&hugetlb_lock);
}

struct dump_ctx {
	FILE *f;
	unsigned int nr;
};

/*
 * Subpools are numbered in creation order, not shown by address: the dump
 * must read the same from run to run (the fail-nth runner compares dumps
 * byte for byte, and ASan places objects differently in each process).
 */
static void dump_subpool(struct hugepage_subpool *spool, void *arg)
{
	struct dump_ctx *d = arg;

	fprintf(d->f, "  subpool #%u %s: count=%ld max=%ld min=%ld used=%ld rsv=%ld%s%s%s\n",
		d->nr++, spool->hstate->name, spool->count, spool->max_hpages, spool->min_hpages,
		spool->used_hpages, spool->rsv_hpages, spool->use_surplus ? "" : " no-surplus",
		spool->rsvd_cg ? " rsvd_cg=" : "", spool->rsvd_cg ? spool->rsvd_cg->name : "");
}

void hugetlb_dump(FILE *f)
{
	struct hstate *h;

	spin_lock(&hugetlb_lock);
	for_each_hstate (h) {
		struct split_count split = {0};

		hugetlb_for_each_split(h, count_split, &split);
		fprintf(f,
			"%s: nr=%lu free=%lu resv=%lu surplus=%lu overcommit=%lu max=%lu "
			"active=%zu split=%lu\n",
			h->name, h->nr_huge_pages, h->free_huge_pages, h->resv_huge_pages,
			h->surplus_huge_pages, h->nr_overcommit_huge_pages, h->max_huge_pages,
			list_count_nodes(&h->hugepage_activelist), split.nr);
		for (unsigned int n = 0; gs_numa_nr_nodes() > 1 && n < gs_numa_nr_nodes(); n++)
			fprintf(f, "  node%u: nr=%lu free=%lu surplus=%lu\n", n,
				h->nr_huge_pages_node[n], h->free_huge_pages_node[n],
				h->surplus_huge_pages_node[n]);
	}
	hugetlb_for_each_subpool(dump_subpool, &(struct dump_ctx){.f = f});
	spin_unlock(&hugetlb_lock);
	hugetlb_cgroup_dump(f);
}

/* The kernel's hugetlb_init() initcall: hook into the folio and checking layers. */
__attribute__((constructor)) static void hugetlb_init(void)
{
	gs_folio_set_free_hook(GS_FOLIO_HUGETLB, free_huge_folio);
	WARN_ON(gs_check_register("hugetlb", hugetlb_check, NULL) < 0);
}

struct state_ctx {
	struct gs_state *st;
	const char *path;
	unsigned int nr;
};

/* Subpools by creation order, as hugetlb_dump() numbers them: no addresses. */
static void state_subpool(struct hugepage_subpool *spool, void *arg)
{
	struct state_ctx *c = arg;
	char p[96];

	snprintf(p, sizeof(p), "%s/subpool/%u", c->path, c->nr++);
	gs_state_add(c->st, p, "hstate", "%s", spool->hstate->name);
	gs_state_add(c->st, p, "count", "%ld", spool->count);
	gs_state_add(c->st, p, "max", "%ld", spool->max_hpages);
	gs_state_add(c->st, p, "min", "%ld", spool->min_hpages);
	gs_state_add(c->st, p, "used", "%ld", spool->used_hpages);
	gs_state_add(c->st, p, "rsv", "%ld", spool->rsv_hpages);
	gs_state_add_u64(c->st, p, "surplus", spool->use_surplus);
	gs_state_add(c->st, p, "rsvd_cg", "%s", spool->rsvd_cg ? spool->rsvd_cg->name : "");
}

/* Every hstate's counters and lists, and every subpool (what hugetlb_dump() prints). */
static void hugetlb_state(struct gs_state *st, const char *path)
{
	struct state_ctx c = {.st = st, .path = path};
	struct hstate *h;

	spin_lock(&hugetlb_lock);
	for_each_hstate (h) {
		struct split_count split = {0};
		char p[64];

		hugetlb_for_each_split(h, count_split, &split);
		snprintf(p, sizeof(p), "%s/%s", path, h->name);
		gs_state_add_u64(st, p, "nr", h->nr_huge_pages);
		gs_state_add_u64(st, p, "free", h->free_huge_pages);
		gs_state_add_u64(st, p, "resv", h->resv_huge_pages);
		gs_state_add_u64(st, p, "surplus", h->surplus_huge_pages);
		gs_state_add_u64(st, p, "overcommit", h->nr_overcommit_huge_pages);
		gs_state_add_u64(st, p, "max", h->max_huge_pages);
		gs_state_add_u64(st, p, "active", list_count_nodes(&h->hugepage_activelist));
		gs_state_add_u64(st, p, "split", split.nr);
		/* Where the pages are, once there is more than one place (nodeN/hugepages). */
		for (unsigned int n = 0; gs_numa_nr_nodes() > 1 && n < gs_numa_nr_nodes(); n++) {
			char np[96];

			snprintf(np, sizeof(np), "%s/node%u", p, n);
			gs_state_add_u64(st, np, "nr", h->nr_huge_pages_node[n]);
			gs_state_add_u64(st, np, "free", h->free_huge_pages_node[n]);
			gs_state_add_u64(st, np, "surplus", h->surplus_huge_pages_node[n]);
		}
	}
	gs_state_add_u64(st, path, "hwpoison_held", nr_hwpoison_hugepages);
	hugetlb_for_each_subpool(state_subpool, &c);
	spin_unlock(&hugetlb_lock);
}

static struct gs_state_dumper hugetlb_dumper = {.name = "hugetlb", .dump = hugetlb_state};
GS_STATE_DUMPER(hugetlb_dumper)
