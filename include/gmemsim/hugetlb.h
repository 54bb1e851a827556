/* SPDX-License-Identifier: MIT */
/*
 * HugeTLB pools and their accounting, after include/linux/hugetlb.h and
 * mm/hugetlb.c: one hstate per huge page size (2 MiB, 1 GiB) with the
 * counters sysfs shows, subpools with max/min sizes (hugetlbfs mounts,
 * guest_memfd files), global reservations, surplus pages, and the
 * allocation and free paths of huge folios. The pages themselves come from
 * a backend (hugetlb_backend.h); cgroup charging is in hugetlb_cgroup.h.
 *
 * Locking is the kernel's: hugetlb_lock protects every hstate and its
 * lists, spool->lock a subpool. gmemsim models one NUMA node.
 */
#ifndef GMEMSIM_HUGETLB_H
#define GMEMSIM_HUGETLB_H

#include <limits.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/err.h>
#include <gmemsim/folio.h>
#include <gmemsim/gfp.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/list.h>
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

/**
 * hugetlb_set_backend() - choose where pools get their huge pages
 * @backend: the backend, or NULL for none (every allocation then fails);
 *           must stay valid while any pool holds its pages
 *
 * Pages go back to the backend they came from, so the backend can only be
 * changed while every pool is empty.
 *
 * Context: process context.
 * Return: 0, or -EBUSY when a pool still holds pages.
 */
GS_API int hugetlb_set_backend(const struct gs_hugetlb_backend *backend);

/**
 * hugetlb_backend() - the backend the pools draw from
 *
 * Context: any.
 * Return: the installed backend, or NULL.
 */
GS_API const struct gs_hugetlb_backend *hugetlb_backend(void);

/**
 * set_max_huge_pages() - resize the persistent pool, as writing nr_hugepages
 * @h: the pool
 * @count: the new persistent size
 *
 * Growing first turns surplus pages into persistent ones, then allocates
 * fresh pages until @count is reached or the host has no more. Shrinking
 * returns free pages to the host, never below what reservations and pages
 * in use need; pages in use above @count become surplus and leave the pool
 * when freed. Like the sysfs write, a partial resize is not an error: read
 * the counters for the outcome.
 *
 * Context: process context (may sleep); takes hugetlb_lock.
 * Return: 0.
 */
GS_API int set_max_huge_pages(struct hstate *h, unsigned long count);

/**
 * hugetlb_set_overcommit() - set nr_overcommit_hugepages
 * @h: the pool
 * @count: the most surplus pages allowed from now on
 *
 * Existing surplus pages above the new limit stay until freed. Gigantic
 * pages may be overcommitted too, as recent kernels allow where they can
 * be allocated at run time.
 *
 * Context: takes hugetlb_lock.
 */
GS_API void hugetlb_set_overcommit(struct hstate *h, unsigned long count);

/**
 * hugetlb_acct_memory() - reserve or unreserve huge pages globally
 * @h: the pool
 * @delta: pages to reserve (> 0) or to release (< 0)
 * @use_surplus: a reservation the free pages cannot cover may allocate
 *               surplus pages (within nr_overcommit_hugepages); false for
 *               guest_memfd, which must be satisfied from the pool as it is
 *
 * Reserving raises resv_huge_pages, gathering surplus pages first when the
 * free pages fall short (gather_surplus_pages()). Releasing lowers it and
 * frees as many unused surplus pages (return_unused_surplus_pages()).
 *
 * Context: process context (may sleep); takes hugetlb_lock.
 * Return: 0; -ENOMEM when the reservation cannot be made; -EINVAL when
 * releasing more than is reserved (nothing changed in either case).
 */
GS_API int hugetlb_acct_memory(struct hstate *h, long delta, bool use_surplus);

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
 * hugepage_new_subpool() - create a subpool, reserving its minimum size
 * @h: the pool
 * @max_hpages: size limit, -1 for none
 * @min_hpages: pages to reserve globally now, -1 for none
 * @use_surplus: whether reservations may gather surplus pages
 *
 * Context: process context (may sleep).
 * Return: the subpool with one reference, or NULL when it cannot be
 * allocated or the minimum cannot be reserved (the caller reports -ENOMEM);
 * also NULL, with nothing done, for a size below -1 or @min_hpages above
 * @max_hpages (callers validate these first, as hugetlbfs_validate() does).
 */
GS_API struct hugepage_subpool *hugepage_new_subpool(struct hstate *h, long max_hpages,
						     long min_hpages, bool use_surplus);

/**
 * hugepage_put_subpool() - drop a reference (unmount, file release)
 * @spool: the subpool
 *
 * The subpool and its reservations go away once no reference is left and
 * nothing is used; otherwise the last hugepage_subpool_put_pages() frees it.
 *
 * Context: process context (may sleep).
 */
GS_API void hugepage_put_subpool(struct hugepage_subpool *spool);

/**
 * hugepage_subpool_get_pages() - account @delta pages against a subpool
 * @spool: the subpool, or NULL (no limits)
 * @delta: pages
 *
 * Counts the pages against max_hpages and consumes the subpool's own
 * reservation first.
 *
 * Context: takes spool->lock.
 * Return: how many of the pages still need a global reservation (0 when
 * the subpool's reservation covers them all, @delta without a subpool), or
 * -ENOMEM when max_hpages would be exceeded (nothing changed).
 */
GS_API long hugepage_subpool_get_pages(struct hugepage_subpool *spool, long delta);

/**
 * hugepage_subpool_put_pages() - return @delta pages to a subpool
 * @spool: the subpool, or NULL
 * @delta: pages
 *
 * Refills the subpool's reservation up to min_hpages first. May free the
 * subpool (see hugepage_put_subpool()).
 *
 * Context: process context (may sleep); takes spool->lock.
 * Return: how many global reservations the caller must release; 0 means
 * the subpool kept every page as its reservation.
 */
GS_API long hugepage_subpool_put_pages(struct hugepage_subpool *spool, long delta);

/**
 * hugetlb_gmem_new_subpool() - the subpool of a HugeTLB guest_memfd file
 * @h: the pool
 * @nr_hpages: the file size in huge pages
 *
 * max = min = @nr_hpages, no surplus pages: the whole file is reserved now
 * or creation fails. The reservation is charged to the current hugetlb
 * cgroup's rsvd counter, first, and uncharged when the subpool is freed.
 *
 * Context: process context (may sleep).
 * Return: the subpool, ERR_PTR(-ENOMEM) when the cgroup limit, the pool's
 * unreserved free pages or the allocation of the subpool fall short, or
 * ERR_PTR(-EINVAL) for a size below 1 or above hugetlb_max_file_hpages().
 */
GS_API struct hugepage_subpool *hugetlb_gmem_new_subpool(struct hstate *h, long nr_hpages);

/**
 * hugetlb_for_each_subpool() - call @fn for every live subpool (checkers, dumps)
 * @fn: called with each subpool; must not create or free subpools
 * @arg: passed to @fn
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_for_each_subpool(void (*fn)(struct hugepage_subpool *spool, void *arg),
				     void *arg);

/* --- allocation and free --- */

/* A memory policy; gmemsim has one node, so every policy resolves to it. */
struct mempolicy;

/**
 * hugetlb_alloc_folio() - allocate a huge page from a pool
 * @h: the pool
 * @mpol: memory policy (NULL: the default); one node, so only recorded
 * @ilx: interleave index under @mpol
 * @charge_cgroup_rsvd: also charge the current cgroup's rsvd counter for
 *                      the page, uncharged when it is freed (the caller
 *                      holds no cgroup reservation for it)
 * @use_existing_reservation: the caller holds a global reservation for the
 *                            page and consumes it; otherwise only free pages
 *                            nobody reserved may be taken
 *
 * The shape of alloc_hugetlb_folio() once the guest_memfd HugeTLB series
 * separates it from VMAs. Charges the current cgroup's usage counter, takes
 * a free page or, failing that, a surplus page from the host (within
 * nr_overcommit_hugepages), and marks a page that consumed a reservation
 * HPG_restore_reserve so that freeing it unused gives the reservation back.
 *
 * Context: process context (may sleep); takes hugetlb_lock.
 * Return: the folio with one reference, on the active list; ERR_PTR(-ENOMEM)
 * when a cgroup limit is hit; ERR_PTR(-ENOSPC) when no page is available;
 * ERR_PTR(-EINVAL), with a WARN, when asked to consume a reservation that
 * does not exist. Nothing changed on failure.
 */
GS_API struct folio *hugetlb_alloc_folio(struct hstate *h, struct mempolicy *mpol, pgoff_t ilx,
					 bool charge_cgroup_rsvd, bool use_existing_reservation);

/**
 * hugetlb_file_alloc_folio() - allocate a huge page for a file using @spool
 * @spool: the file's subpool
 * @mpol: memory policy
 * @ilx: interleave index (the file index, for instance)
 *
 * What a fault or fallocate does before inserting the page in the page
 * cache. The subpool decides which rules apply:
 *
 *  - guest_memfd (!use_surplus): the page must come out of the subpool's
 *    reservation. A full subpool fails with -ENOMEM, even when a racing
 *    allocation of the same index is about to fill it.
 *  - hugetlbfs (use_surplus): once the subpool's reservation is used up,
 *    the page is taken without a reservation: an unreserved free page, or a
 *    surplus page, with a deferred rsvd cgroup charge.
 *
 * The page carries the subpool, and the subpool, not the page, holds the
 * reservation from now on (as hugetlb_add_to_page_cache() clears
 * HPG_restore_reserve): freeing the page gives it back through
 * hugepage_subpool_put_pages().
 *
 * Context: process context (may sleep).
 * Return: the folio with one reference; ERR_PTR(-ENOMEM) under guest_memfd
 * rules, ERR_PTR(-ENOSPC) (subpool or pool exhausted) or ERR_PTR(-ENOMEM)
 * (cgroup limit) under hugetlbfs rules. Nothing changed on failure.
 */
GS_API struct folio *hugetlb_file_alloc_folio(struct hugepage_subpool *spool,
					      struct mempolicy *mpol, pgoff_t ilx);

/**
 * free_huge_folio() - take back a huge page whose last reference is gone
 * @folio: a HugeTLB folio with refcount 0
 *
 * Uncharges its cgroups, gives its reservation back (HPG_restore_reserve,
 * or the subpool keeping the page for its minimum size), and puts it on the
 * free list, or returns it to the host while the pool has surplus pages.
 * The folio layer's folio_put() calls this for HugeTLB folios.
 *
 * Context: process context (may sleep).
 */
GS_API void free_huge_folio(struct folio *folio);

/* --- pages whose folio is split (hooks for the folio layer) --- */

typedef void (*hugetlb_meta_fn)(struct hugetlb_folio_meta *meta, void *arg);

/**
 * struct hugetlb_split_ops - how the folio layer reports split huge pages
 * @for_each: call @fn for the record (hugetlb_meta.h) of every split huge
 *            page of @h; @fn may change meta->cgroup (cgroup offline moves
 *            charges). Called with hugetlb_lock held: must not sleep.
 * @ctx: passed to @for_each
 */
struct hugetlb_split_ops {
	void (*for_each)(void *ctx, struct hstate *h, hugetlb_meta_fn fn, void *arg);
	void *ctx;
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

/**
 * hugetlb_folio_split_detach() - take a huge page off the active list for a split
 * @folio: an in-use HugeTLB folio whose record is saved (hugetlb_meta_save())
 *
 * Until hugetlb_folio_merge_attach(), the page is counted, charged and
 * moved between cgroups through its record, which the split ops report.
 *
 * Context: takes hugetlb_lock.
 */
GS_API void hugetlb_folio_split_detach(struct folio *folio);

/**
 * hugetlb_folio_merge_attach() - put a merged huge page back on the active list
 * @folio: the merged HugeTLB folio, its fields restored (hugetlb_meta_restore())
 *
 * Context: takes hugetlb_lock.
 */
GS_API void hugetlb_folio_merge_attach(struct folio *folio);

/* --- inspection --- */

/**
 * hugetlb_dump() - print every hstate, subpool and hugetlb cgroup
 * @f: the stream
 *
 * Context: takes hugetlb_lock.
 */
GS_API void hugetlb_dump(FILE *f);

#endif /* GMEMSIM_HUGETLB_H */
