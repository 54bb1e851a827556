/* SPDX-License-Identifier: MIT */
/*
 * Scenario verbs of the guest_memfd layer (lib/gmem_verbs.c): create, stat,
 * fallocate and punch, host mappings, faults, reads and writes, pins,
 * get_pfn, memory failure and close. Not installed.
 */
#ifndef GS_LIB_GMEM_VERBS_H
#define GS_LIB_GMEM_VERBS_H

/* Register the verbs; called once from gs_scenario_init(). */
void gs_gmem_register_verbs(void);

#endif /* GS_LIB_GMEM_VERBS_H */
