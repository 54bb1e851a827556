/* SPDX-License-Identifier: MIT */
/*
 * The hugetlb cgroup controller, after include/linux/hugetlb_cgroup.h and
 * mm/hugetlb_cgroup.c: a hierarchy of cgroups, each with two hierarchical
 * page counters per hstate, usage (hugetlb.<size>.current, charged when a
 * page is allocated) and rsvd (hugetlb.<size>.rsvd.current, charged when a
 * reservation is made), each with a limit. Counters count base pages, as
 * the kernel's do. The task that charges is the simulated "current" task,
 * which sits in one cgroup (hugetlb_cgroup_attach()).
 */
#ifndef GMEMSIM_HUGETLB_CGROUP_H
#define GMEMSIM_HUGETLB_CGROUP_H

#include <limits.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/err.h>
#include <gmemsim/hugetlb_hstate.h>
#include <gmemsim/list.h>

/**
 * struct page_counter - a hierarchical counter with a limit (mm/page_counter.c)
 * @usage: pages charged here and below
 * @max: limit; a charge that would exceed it at any level fails
 * @watermark: highest @usage seen (max_usage_in_bytes)
 * @failcnt: charges refused by this level's limit
 * @parent: the parent cgroup's counter, NULL at the root
 */
struct page_counter {
	long usage;
	long max;
	long watermark;
	unsigned long failcnt;
	struct page_counter *parent;
};

#define PAGE_COUNTER_MAX	LONG_MAX

#define HUGETLB_CGROUP_NAME_LEN 32

/**
 * struct hugetlb_cgroup - one cgroup of the controller
 * @name: its name ("/" for the root)
 * @parent: parent cgroup, NULL for the root
 * @refcnt: css references: one while online, one per reservation charge
 *          and one per child; freed at zero
 * @online: not yet offlined (rmdir)
 * @node: on the list of all cgroups
 * @hugepage: usage counters, per hstate
 * @rsvd_hugepage: reservation counters, per hstate
 */
struct hugetlb_cgroup {
	char name[HUGETLB_CGROUP_NAME_LEN];
	struct hugetlb_cgroup *parent;
	unsigned int refcnt;
	bool online;
	struct list_head node;
	struct page_counter hugepage[HUGE_MAX_HSTATE];
	struct page_counter rsvd_hugepage[HUGE_MAX_HSTATE];
};

/**
 * hugetlb_cgroup_root() - the root cgroup, which has no limits and is always online
 *
 * Context: any.
 * Return: the root.
 */
GS_API struct hugetlb_cgroup *hugetlb_cgroup_root(void);

/**
 * hugetlb_cgroup_create() - create and online a child cgroup (mkdir)
 * @name: its name, truncated to HUGETLB_CGROUP_NAME_LEN - 1 bytes
 * @parent: an online cgroup
 *
 * Context: process context (may sleep).
 * Return: the cgroup (no limits), ERR_PTR(-ENOMEM), or ERR_PTR(-EINVAL)
 * for an offline parent.
 */
GS_API struct hugetlb_cgroup *hugetlb_cgroup_create(const char *name,
						    struct hugetlb_cgroup *parent);

/**
 * hugetlb_cgroup_offline() - remove a cgroup (rmdir)
 * @h_cg: the cgroup
 *
 * Moves every usage charge to the parent, including those of huge pages
 * that are currently split (through the split ops). Reservation charges
 * stay: the cgroup lives on, offline, until the last is released.
 *
 * Context: process context; takes hugetlb_lock.
 * Return: 0; -EINVAL for the root or an offline cgroup; -EBUSY when the
 * current task is in it or it has online children.
 */
GS_API int hugetlb_cgroup_offline(struct hugetlb_cgroup *h_cg);

/**
 * hugetlb_cgroup_get() - take a reference on a cgroup (css_get())
 * @h_cg: the cgroup
 *
 * Context: any.
 */
GS_API void hugetlb_cgroup_get(struct hugetlb_cgroup *h_cg);

/**
 * hugetlb_cgroup_put() - drop a reference (css_put())
 * @h_cg: the cgroup; freed, and its parent put, when this was the last
 *        reference of an offline cgroup
 *
 * Context: any.
 */
GS_API void hugetlb_cgroup_put(struct hugetlb_cgroup *h_cg);

/**
 * hugetlb_cgroup_set_limit() - write hugetlb.<size>[.rsvd].max
 * @h_cg: the cgroup (not the root)
 * @idx: hstate index
 * @rsvd: the reservation counter instead of the usage counter
 * @nr_pages: the limit in base pages; PAGE_COUNTER_MAX for none
 *
 * Context: any.
 * Return: 0, -EINVAL for the root, or -EBUSY when the usage is already
 * above @nr_pages (the kernel's page_counter_set_max()).
 */
GS_API int hugetlb_cgroup_set_limit(struct hugetlb_cgroup *h_cg, int idx, bool rsvd,
				    unsigned long nr_pages);

/**
 * hugetlb_cgroup_attach() - move the simulated current task to @h_cg
 *
 * Context: any.
 * Return: 0, or -EINVAL when @h_cg is offline.
 */
GS_API int hugetlb_cgroup_attach(struct hugetlb_cgroup *h_cg);

/**
 * hugetlb_cgroup_current() - the cgroup of the simulated current task
 *
 * Context: any.
 * Return: the cgroup, the root at start.
 */
GS_API struct hugetlb_cgroup *hugetlb_cgroup_current(void);

/**
 * hugetlb_cgroup_charge_cgroup() - charge usage to the current cgroup
 * @idx: hstate index
 * @nr_pages: base pages
 * @ptr: set to the cgroup charged, for the commit or the cancel
 *
 * Context: any.
 * Return: 0, or -ENOMEM when a limit on the way to the root is reached.
 */
GS_API int hugetlb_cgroup_charge_cgroup(int idx, unsigned long nr_pages,
					struct hugetlb_cgroup **ptr);

/**
 * hugetlb_cgroup_charge_cgroup_rsvd() - charge a reservation to the current cgroup
 * @idx: hstate index
 * @nr_pages: base pages
 * @ptr: set to the cgroup charged, which the caller keeps for the uncharge
 *
 * The charge holds a reference on the cgroup until it is uncharged, so
 * that it outlives an offline.
 *
 * Context: any.
 * Return: 0, or -ENOMEM when a limit on the way to the root is reached.
 */
GS_API int hugetlb_cgroup_charge_cgroup_rsvd(int idx, unsigned long nr_pages,
					     struct hugetlb_cgroup **ptr);

/**
 * hugetlb_cgroup_commit_charge() - record a usage charge on the page it was made for
 * @idx: hstate index
 * @nr_pages: base pages
 * @h_cg: the cgroup charged; NULL records nothing
 * @folio: the page
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_cgroup_commit_charge(int idx, unsigned long nr_pages,
					 struct hugetlb_cgroup *h_cg, struct folio *folio);

/**
 * hugetlb_cgroup_commit_charge_rsvd() - record a deferred rsvd charge on the page
 * @idx: hstate index
 * @nr_pages: base pages
 * @h_cg: the cgroup charged; NULL records nothing
 * @folio: the page, which then owns the charge and its reference
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_cgroup_commit_charge_rsvd(int idx, unsigned long nr_pages,
					      struct hugetlb_cgroup *h_cg, struct folio *folio);

/**
 * hugetlb_cgroup_uncharge_folio() - uncharge a page's usage and forget the cgroup
 * @idx: hstate index
 * @nr_pages: base pages
 * @folio: the page; nothing happens if it carries no charge
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_cgroup_uncharge_folio(int idx, unsigned long nr_pages, struct folio *folio);

/**
 * hugetlb_cgroup_uncharge_folio_rsvd() - uncharge a page's deferred rsvd charge
 * @idx: hstate index
 * @nr_pages: base pages
 * @folio: the page; nothing happens if it carries no such charge
 *
 * Context: hugetlb_lock held.
 */
GS_API void hugetlb_cgroup_uncharge_folio_rsvd(int idx, unsigned long nr_pages,
					       struct folio *folio);

/**
 * hugetlb_cgroup_uncharge_cgroup() - undo a usage charge that no page took
 * @idx: hstate index
 * @nr_pages: base pages
 * @h_cg: what hugetlb_cgroup_charge_cgroup() returned; NULL is ignored
 *
 * Context: any.
 */
GS_API void hugetlb_cgroup_uncharge_cgroup(int idx, unsigned long nr_pages,
					   struct hugetlb_cgroup *h_cg);

/**
 * hugetlb_cgroup_uncharge_cgroup_rsvd() - release a reservation charge and its reference
 * @idx: hstate index
 * @nr_pages: base pages
 * @h_cg: what hugetlb_cgroup_charge_cgroup_rsvd() returned; NULL is ignored
 *
 * Context: any.
 */
GS_API void hugetlb_cgroup_uncharge_cgroup_rsvd(int idx, unsigned long nr_pages,
						struct hugetlb_cgroup *h_cg);

/**
 * hugetlb_cgroup_usage() - pages charged to a cgroup and its descendants
 * @h_cg: the cgroup
 * @idx: hstate index
 * @rsvd: the reservation counter instead of the usage counter
 *
 * Context: any.
 * Return: base pages.
 */
static inline unsigned long hugetlb_cgroup_usage(const struct hugetlb_cgroup *h_cg, int idx,
						 bool rsvd)
{
	return (unsigned long)(rsvd ? h_cg->rsvd_hugepage[idx].usage : h_cg->hugepage[idx].usage);
}

/**
 * hugetlb_cgroup_dump() - print every cgroup's counters, in huge pages
 * @f: the stream
 *
 * Context: any.
 */
GS_API void hugetlb_cgroup_dump(FILE *f);

#endif /* GMEMSIM_HUGETLB_CGROUP_H */
