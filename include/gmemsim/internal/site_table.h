/* SPDX-License-Identifier: MIT */
/*
 * The site table's size for the allocator's fast path (lib/base/sites.c owns
 * it): gs_alloc() checks every site id against it, and a call per allocation
 * would cost more than the check. Not installed.
 */
#ifndef GS_LIB_SITE_TABLE_H
#define GS_LIB_SITE_TABLE_H

#include <stdint.h>

/* Static sites plus those registered so far; ids are 0 .. gs_nr_sites - 1. */
extern unsigned int gs_nr_sites;

/*
 * Every site's live count into @live (GS_MAX_SITES entries): a scenario run
 * takes it at its start and end, its leak check (lib/base/alloc.c owns the
 * counters). Returns the number of sites.
 */
unsigned int gs_site_live_all(uint64_t *live);

/*
 * The first site from @from on whose byte counters break the allocation
 * checker's rules (fewer live bytes than live objects, a peak below the
 * live bytes), or gs_nr_sites: the checker runs at every `check` line and
 * reads each site's name only to report it.
 */
unsigned int gs_site_next_bad_bytes(unsigned int from);

#endif /* GS_LIB_SITE_TABLE_H */
