/* SPDX-License-Identifier: MIT */
/*
 * Between lib/hugetlb.c and lib/hugetlb_hstate.c: the pools put the
 * subpools they create on the shared list that checkers, dumps and the
 * cgroup controller walk (hugetlb_for_each_subpool()). Not installed.
 */
#ifndef GMEMSIM_INTERNAL_HUGETLB_INT_H
#define GMEMSIM_INTERNAL_HUGETLB_INT_H

struct hugepage_subpool;

/* hugetlb_subpool_link() - a new subpool joins the list (takes hugetlb_lock) */
void hugetlb_subpool_link(struct hugepage_subpool *spool);

/* hugetlb_subpool_unlink() - a released subpool leaves it (takes hugetlb_lock) */
void hugetlb_subpool_unlink(struct hugepage_subpool *spool);

#endif /* GMEMSIM_INTERNAL_HUGETLB_INT_H */
