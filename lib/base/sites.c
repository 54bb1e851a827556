// SPDX-License-Identifier: MIT
/*
 * The table of allocation sites: the names and descriptions of the static
 * sites of <gmemsim/sites.h> plus those registered at run time, and lookup
 * by name. It sits below both users of a site id: the allocator (alloc.c,
 * per-site counters and object caches) and the fault injector (inject.c,
 * rules by site), which each keep their own per-site state indexed by the
 * ids handed out here, so neither needs the other to name a site.
 */
#include <errno.h>
#include <string.h>
#include <gmemsim/sites.h>
#include <gmemsim/internal/site_table.h>

struct site_name {
	const char *name;
	const char *desc;
};

static struct site_name site_table[GS_MAX_SITES] = {
#define GS_SITE_INIT(id, n, d) [GS_SITE_##id] = {.name = n, .desc = d},
	GS_SITES(GS_SITE_INIT)
#undef GS_SITE_INIT
};
unsigned int gs_nr_sites = GS_NR_STATIC_SITES;

int gs_site_register(const char *name, const char *desc)
{
	if (!name || !*name)
		return -EINVAL;
	if (gs_site_lookup(name) >= 0)
		return -EEXIST;
	if (gs_nr_sites >= GS_MAX_SITES)
		return -ENOSPC;
	site_table[gs_nr_sites] = (struct site_name){.name = name, .desc = desc ? desc : ""};
	return (int)gs_nr_sites++;
}

int gs_site_lookup(const char *name)
{
	if (!name)
		return -ENOENT;
	/* Every fuzz `inject` line asks twice: the first letter before the text. */
	for (unsigned int i = 0; i < gs_nr_sites; i++)
		if (site_table[i].name[0] == name[0] && !strcmp(site_table[i].name, name))
			return (int)i;
	return -ENOENT;
}

unsigned int gs_site_count(void)
{
	return gs_nr_sites;
}

const char *gs_site_name(unsigned int site)
{
	return site < gs_nr_sites ? site_table[site].name : NULL;
}

const char *gs_site_desc(unsigned int site)
{
	return site < gs_nr_sites ? site_table[site].desc : NULL;
}
