/* SPDX-License-Identifier: MIT */
/*
 * HugeTLB pools and their accounting, after include/linux/hugetlb.h and
 * mm/hugetlb.c: one hstate per huge page size (2 MiB, 1 GiB) with the
 * counters sysfs shows, subpools with max/min sizes (hugetlbfs mounts,
 * guest_memfd files), global reservations, surplus pages, and the
 * allocation and free paths of huge folios. The pages themselves come from
 * a backend (hugetlb_backend.h); cgroup charging is in hugetlb_cgroup.h;
 * the hstates, the subpool structure and split-page records every HugeTLB
 * file shares are in hugetlb_hstate.h.
 *
 * Locking is the kernel's: hugetlb_lock protects every hstate and its
 * lists, spool->lock a subpool. gmemsim models one NUMA node.
 */
#ifndef GMEMSIM_HUGETLB_H
#define GMEMSIM_HUGETLB_H

#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/err.h>
#include <gmemsim/folio.h>
#include <gmemsim/gfp.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_hstate.h>
#include <gmemsim/list.h>
#include <gmemsim/spinlock.h>

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
 * hugetlb_set_node_huge_pages() - resize node @nid's persistent pool, as
 * writing /sys/devices/system/node/node@nid/hugepages/.../nr_hugepages
 * @h: the pool
 * @nid: an existing node
 * @count: the node's new persistent size
 *
 * set_max_huge_pages() for the whole pool at @count plus the other nodes'
 * persistent pages, growing with pages of @nid only (__GFP_THISNODE) and
 * shrinking by free pages of @nid only. The global counters stay the sums
 * of the nodes'.
 *
 * Context: process context (may sleep); takes hugetlb_lock.
 * Return: 0, or -EINVAL for no such node.
 */
GS_API int hugetlb_set_node_huge_pages(struct hstate *h, int nid, unsigned long count);

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

/* --- subpools (hugetlbfs mounts, guest_memfd files; struct in hugetlb_hstate.h) --- */

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

/* --- allocation and free --- */

/* A memory policy (<gmemsim/mempolicy.h>): which nodes a page may come from. */
struct mempolicy;

/**
 * hugetlb_alloc_folio() - allocate a huge page from a pool
 * @h: the pool
 * @mpol: memory policy (NULL: the default, the task's node first)
 * @ilx: interleave index under @mpol: the file index (pages interleave by
 *       huge page, @ilx >> the page's order)
 * @charge_cgroup_rsvd: also charge the current cgroup's rsvd counter for
 *                      the page, uncharged when it is freed (the caller
 *                      holds no cgroup reservation for it)
 * @use_existing_reservation: the caller holds a global reservation for the
 *                            page and consumes it; otherwise only free pages
 *                            nobody reserved may be taken
 *
 * The shape of alloc_hugetlb_folio() once the guest_memfd HugeTLB series
 * separates it from VMAs. Charges the current cgroup's usage counter, takes
 * a free page on a node @mpol allows (in the fallback order of the node it
 * prefers) or, failing that, a surplus page from the host on such a node
 * (within nr_overcommit_hugepages), and marks a page that consumed a reservation
 * HPG_restore_reserve so that freeing it unused gives the reservation back.
 *
 * Context: process context (may sleep); takes hugetlb_lock.
 * Return: the folio with one reference, on the active list; ERR_PTR(-ENOMEM)
 * when a cgroup limit is hit; ERR_PTR(-ENOSPC) when no page is available;
 * ERR_PTR(-EINVAL), with a WARN, when asked to consume a reservation that
 * does not exist. Nothing changed on failure.
 */
GS_API struct folio *hugetlb_alloc_folio(struct hstate *h, const struct mempolicy *mpol,
					 pgoff_t ilx, bool charge_cgroup_rsvd,
					 bool use_existing_reservation);

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
					      const struct mempolicy *mpol, pgoff_t ilx);

/**
 * free_huge_folio() - take back a huge page whose last reference is gone
 * @folio: a HugeTLB folio with refcount 0
 *
 * Uncharges its cgroups, gives its reservation back (HPG_restore_reserve,
 * or the subpool keeping the page for its minimum size), and puts it on the
 * free list, or returns it to the host while the pool has surplus pages.
 * A page memory failure took (PG_hwpoison) is dissolved instead: it leaves
 * the pool (nr and max go down) and stays out of use (hugetlb_unpoison_all()
 * returns it) -- unless every free page is reserved, when it waits on the
 * free list, never dequeued, as dissolve_free_hugetlb_folio() leaves it.
 * The folio layer's folio_put() calls this for HugeTLB folios.
 *
 * Context: process context (may sleep).
 */
GS_API void free_huge_folio(struct folio *folio);

/**
 * hugetlb_nr_hwpoison() - dissolved huge pages kept out of use for a bad raw page
 *
 * Context: any.
 * Return: how many.
 */
GS_API unsigned long hugetlb_nr_hwpoison(void);

/**
 * hugetlb_unpoison_all() - give every dissolved poisoned huge page back to the host
 *
 * What debugfs unpoison-pfn does for each bad raw page; the simulated
 * machine's end does it too. A page whose vmemmap cannot be restored stays
 * as a free surplus page, as any freed page would.
 *
 * Context: process context (may sleep).
 * Return: how many pages were returned.
 */
GS_API unsigned long hugetlb_unpoison_all(void);

/* --- pages whose folio is split (hooks for the folio layer) --- */

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
