/* SPDX-License-Identifier: MIT */
/*
 * Scenario verbs of the HugeTLB layer (lib/hugetlb_verbs.c): pools,
 * subpools, hugetlb cgroups and huge page allocation. Not installed.
 */
#ifndef GS_LIB_HUGETLB_VERBS_H
#define GS_LIB_HUGETLB_VERBS_H

/* Register the verbs; called once from gs_scenario_init(). */
void gs_hugetlb_register_verbs(void);

#endif /* GS_LIB_HUGETLB_VERBS_H */
