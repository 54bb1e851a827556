/* SPDX-License-Identifier: MIT */
/*
 * What every HugeTLB file shares (lib/hugetlb_hstate.c): the hstates and
 * hugetlb_lock, the subpool structure and the list of live subpools, and
 * the records of split huge pages with the walker over them. The pools
 * (hugetlb.h) and the cgroup controller (hugetlb_cgroup.h) both build on
 * it, so that neither needs the other's header to read these.
 */
#ifndef GMEMSIM_HUGETLB_HSTATE_H
#define GMEMSIM_HUGETLB_HSTATE_H

#include <limits.h>
#include <gmemsim/compiler.h>
#include <gmemsim/folio.h>
#include <gmemsim/list.h>
#include <gmemsim/numa.h>
#include <gmemsim/spinlock.h>

#define HUGE_MAX_HSTATE 2
#define HPAGE_PMD_ORDER 9  /* 2 MiB */
#define HPAGE_PUD_ORDER 18 /* 1 GiB */
/* Largest order the buddy allocator serves; bigger huge pages are "gigantic". */
#define MAX_PAGE_ORDER 10

/**
 * struct hstate - a pool of huge pages of one size
 * @order: log2 of the pages per huge page
 * @mask: address mask of a huge page
 * @name: the sysfs directory name, "hugepages-2048kB"
 * @max_huge_pages: the persistent pool size last asked for (nr_hugepages)
 * @nr_huge_pages: pages in the pool, surplus included
 * @free_huge_pages: pages on the free list
 * @resv_huge_pages: free pages promised to reservations; never above
 *                   @free_huge_pages
 * @surplus_huge_pages: pages above the persistent size, allocated on demand
 *                      and returned to the host once free
 * @nr_overcommit_huge_pages: the most surplus pages allowed
 * @hugepage_freelist: free pages (folio->lru), refcount 0
 * @hugepage_activelist: pages in use (folio->lru), except split ones
 * @nr_huge_pages_node: @nr_huge_pages of each node (nodeN/hugepages/.../nr_hugepages
 *                      counts these less the node's surplus)
 * @free_huge_pages_node: @free_huge_pages of each node
 * @surplus_huge_pages_node: @surplus_huge_pages of each node
 * @next_nid_to_alloc: the node the pool grows on next (round robin)
 * @next_nid_to_free: the node the pool shrinks on next (round robin)
 */
struct hstate {
	unsigned int order;
	unsigned long mask;
	char name[32];
	unsigned long max_huge_pages;
	unsigned long nr_huge_pages;
	unsigned long free_huge_pages;
	unsigned long resv_huge_pages;
	unsigned long surplus_huge_pages;
	unsigned long nr_overcommit_huge_pages;
	struct list_head hugepage_freelist;
	struct list_head hugepage_activelist;
	unsigned long nr_huge_pages_node[GS_MAX_NUMNODES];
	unsigned long free_huge_pages_node[GS_MAX_NUMNODES];
	unsigned long surplus_huge_pages_node[GS_MAX_NUMNODES];
	int next_nid_to_alloc;
	int next_nid_to_free;
};

extern GS_API struct hstate hstates[HUGE_MAX_HSTATE];
extern GS_API spinlock_t hugetlb_lock;

#define for_each_hstate(h) for ((h) = hstates; (h) < &hstates[HUGE_MAX_HSTATE]; (h)++)

static inline unsigned int huge_page_order(const struct hstate *h)
{
	return h->order;
}

static inline unsigned long pages_per_huge_page(const struct hstate *h)
{
	return 1UL << h->order;
}

static inline unsigned long huge_page_size(const struct hstate *h)
{
	return PAGE_SIZE << h->order;
}

static inline int hstate_index(const struct hstate *h)
{
	return (int)(h - hstates);
}

static inline bool hstate_is_gigantic(const struct hstate *h)
{
	return huge_page_order(h) > MAX_PAGE_ORDER;
}

/* Pages that stay in the pool when free: what nr_hugepages reports. */
static inline unsigned long persistent_huge_pages(const struct hstate *h)
{
	return h->nr_huge_pages - h->surplus_huge_pages;
}

/*
 * Most huge pages a file can hold: its size in bytes is a loff_t (signed
 * 64 bits), so a count above this is no file size at all.
 */
static inline long hugetlb_max_file_hpages(const struct hstate *h)
{
	return LONG_MAX >> (huge_page_order(h) + PAGE_SHIFT);
}

/*
 * Most huge pages a hugetlbfs mount's size= or min_size= can ask for: they
 * are byte counts (unsigned long long) turned into pages.
 */
static inline unsigned long hugetlb_max_mount_hpages(const struct hstate *h)
{
	return ULONG_MAX >> (huge_page_order(h) + PAGE_SHIFT);
}

/**
 * size_to_hstate() - the pool of huge pages of @size bytes
 * @size: 2 MiB or 1 GiB
 *
 * Context: any.
 * Return: the hstate, or NULL for a size with no pool.
 */
GS_API struct hstate *size_to_hstate(unsigned long size);

/**
 * folio_hstate() - the pool a HugeTLB folio belongs to
 * @folio: a whole (not split) HugeTLB folio
 *
 * Context: any.
 * Return: the hstate of the folio's order, or NULL if there is none.
 */
GS_API struct hstate *folio_hstate(const struct folio *folio);

/* --- subpools (hugetlbfs mounts, guest_memfd files) --- */

struct hugetlb_cgroup;

/**
 * struct hugepage_subpool - a bounded share of one hstate
 * @lock: protects the counts
 * @count: references (the mount or file); the subpool is freed when it is
 *         0 and nothing is used or reserved
 * @max_hpages: most pages used plus reserved, -1 for no limit
 * @used_hpages: pages allocated or reserved through the subpool
 * @hstate: the pool
 * @min_hpages: pages reserved globally for the subpool's lifetime, -1 for none
 * @rsv_hpages: part of @min_hpages not yet handed to a user
 * @use_surplus: reservations may gather surplus pages (false for guest_memfd)
 * @rsvd_cg: hugetlb cgroup charged (rsvd counter) for the subpool's
 *           reservation until it is freed, NULL if none (guest_memfd)
 * @rsvd_nr_pages: base pages of that charge
 * @list: on the list of live subpools (checkers, dumps)
 */
struct hugepage_subpool {
	spinlock_t lock;
	long count;
	long max_hpages;
	long used_hpages;
	struct hstate *hstate;
	long min_hpages;
	long rsv_hpages;
	bool use_surplus;
	struct hugetlb_cgroup *rsvd_cg;
	unsigned long rsvd_nr_pages;
	struct list_head list;
};

/**
 * hugetlb_for_each_subpool() - call @fn for every live subpool (checkers, dumps)
 * @fn: called with each subpool; must not create or free subpools
 * @arg: passed to @fn
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_for_each_subpool(void (*fn)(struct hugepage_subpool *spool, void *arg),
				     void *arg);

/* --- pages whose folio is split --- */

/*
 * A split page's record, as the pools see it; <gmemsim/hugetlb_meta.h>,
 * above the pools, keeps one per split huge page.
 */
/**
 * struct hugetlb_folio_meta - a split huge page's HugeTLB identity
 * @pfn: its first pfn
 * @order: its order (9 or 18)
 * @subpool: the subpool it was allocated from
 * @cgroup: the cgroup its usage is charged to
 * @cgroup_rsvd: the cgroup its reservation is charged to, if any
 * @hpage_flags: its HPG_* flags
 * @listed: it was on its pool's active list (it is taken off while split)
 * @nr_pages_waiting_to_be_merged: pages of its pieces freed so far; all of
 *	them free, the page is merged and freed (hugetlb_restructuring.h)
 * @hvo_restored: optimized pieces whose struct pages
 *	hugetlb_restructuring_prepare_merge() gave back, a bit per 128 pages
 *	(the smallest optimizable order), so that a cancelled merge puts HVO
 *	back exactly (hugetlb_restructuring_cancel_merge())
 */
struct hugetlb_folio_meta {
	unsigned long pfn;
	unsigned int order;
	struct hugepage_subpool *subpool;
	struct hugetlb_cgroup *cgroup;
	struct hugetlb_cgroup *cgroup_rsvd;
	unsigned long hpage_flags;
	bool listed;
	unsigned long nr_pages_waiting_to_be_merged;
	unsigned long hvo_restored[(1UL << (18 - 7)) / (8 * sizeof(unsigned long))];
};

typedef void (*hugetlb_meta_fn)(struct hugetlb_folio_meta *meta, void *arg);

/**
 * struct hugetlb_split_ops - how the folio layer reports split huge pages
 * @for_each: call @fn for the record (hugetlb_meta.h) of every split huge
 *            page of @h; @fn may change meta->cgroup (cgroup offline moves
 *            charges). Called with hugetlb_lock held: must not sleep.
 * @ctx: passed to @for_each and @for_each_all
 * @for_each_all: optional: call @fn for the record of every split huge page
 *            of every hstate, each hstate's in @for_each's order; the
 *            checkers read all of them once per check (NULL: @for_each
 *            per hstate)
 */
struct hugetlb_split_ops {
	void (*for_each)(void *ctx, struct hstate *h, hugetlb_meta_fn fn, void *arg);
	void *ctx;
	void (*for_each_all)(void *ctx, hugetlb_meta_fn fn, void *arg);
};

/**
 * hugetlb_set_split_ops() - install the split-page walker
 * @ops: the walker, or NULL when no huge page can be split
 *
 * Context: setup; @ops must stay valid while installed.
 */
GS_API void hugetlb_set_split_ops(const struct hugetlb_split_ops *ops);

/**
 * hugetlb_for_each_split() - walk the split huge pages of @h
 * @h: the pool
 * @fn: called with the metadata of each
 * @arg: passed to @fn
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_for_each_split(struct hstate *h, hugetlb_meta_fn fn, void *arg);

#endif /* GMEMSIM_HUGETLB_HSTATE_H */
