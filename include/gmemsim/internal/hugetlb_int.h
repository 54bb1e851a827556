/* SPDX-License-Identifier: MIT */
/*
 * Between lib/hugetlb.c, lib/hugetlb_cgroup.c and lib/hugetlb_hstate.c: the
 * pools put the subpools they create on the shared list that checkers, dumps
 * and the cgroup controller walk (hugetlb_for_each_subpool()), and the
 * checkers read the split pages once per check (struct hugetlb_split_snap).
 * Not installed.
 */
#ifndef GMEMSIM_INTERNAL_HUGETLB_INT_H
#define GMEMSIM_INTERNAL_HUGETLB_INT_H

#include <stdbool.h>

#include <gmemsim/hugetlb_hstate.h>

struct hugepage_subpool;

/* hugetlb_subpool_link() - a new subpool joins the list (takes hugetlb_lock) */
void hugetlb_subpool_link(struct hugepage_subpool *spool);

/* hugetlb_subpool_unlink() - a released subpool leaves it (takes hugetlb_lock) */
void hugetlb_subpool_unlink(struct hugepage_subpool *spool);

/* Split pages a snapshot holds per hstate; more fall back to walking the records. */
#define HUGETLB_SPLIT_SNAP_MAX 128

/**
 * struct hugetlb_split_snap - the split pages' records, as one walk found them
 * @nr: records found per hstate (hstate_index())
 * @overflow: an hstate had more than HUGETLB_SPLIT_SNAP_MAX: its records are
 *	walked again at each hugetlb_split_snap_for_each()
 * @meta: the records, per hstate, in the walk's order
 *
 * A checker tallies the split pages once per pool, per subpool and per cgroup;
 * each tally walked the records' XArray again although nothing changes while
 * the checker holds hugetlb_lock. The snapshot keeps the record pointers one
 * walk of every hstate's records found, per hstate, so every tally still reads
 * the records themselves, in the order the hstate's own walk has them.
 */
struct hugetlb_split_snap {
	unsigned int nr[HUGE_MAX_HSTATE];
	bool overflow[HUGE_MAX_HSTATE];
	struct hugetlb_folio_meta *meta[HUGE_MAX_HSTATE][HUGETLB_SPLIT_SNAP_MAX];
};

/* hugetlb_split_snap_take() - one walk of every hstate's split pages (hugetlb_lock held) */
void hugetlb_split_snap_take(struct hugetlb_split_snap *s);

/*
 * hugetlb_split_snap_check() - the snapshot of the checkers' pass under way
 * (gs_check_pass()), taken by the first of them that asks (hugetlb_lock
 * held): the pools' and the cgroups' checkers of one `check` line see the
 * same records, and nothing changes the state while checkers run. Outside
 * a pass, a new one each time.
 */
const struct hugetlb_split_snap *hugetlb_split_snap_check(void);

/*
 * hugetlb_split_snap_for_each() - what hugetlb_for_each_split(@h, @fn, @arg)
 * would call, from the snapshot; @fn must not add or remove records
 * (hugetlb_lock held, held since hugetlb_split_snap_take()). Inline: the
 * checkers call it per pool, per subpool and per cgroup, mostly to find none.
 */
static inline void hugetlb_split_snap_for_each(const struct hugetlb_split_snap *s, struct hstate *h,
					       hugetlb_meta_fn fn, void *arg)
{
	int idx = hstate_index(h);

	/* Too many to keep: the walker itself, exactly as without a snapshot. */
	if (s->overflow[idx]) {
		hugetlb_for_each_split(h, fn, arg);
		return;
	}
	for (unsigned int i = 0; i < s->nr[idx]; i++)
		fn(s->meta[idx][i], arg);
}

#endif /* GMEMSIM_INTERNAL_HUGETLB_INT_H */
