// SPDX-License-Identifier: MIT
/*
 * Memory nodes (see <gmemsim/numa.h>): their sizes, what is in use on each,
 * the allocating task's node and the fallback order. The bookkeeping only:
 * physmem (lib/physmem.c) places pages on nodes and calls here, as the
 * buddy allocator's per-node zones keep their own free counts
 * (mm/page_alloc.c, mm/mm_init.c).
 */
#include <errno.h>

#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>

/* One node of the default machine's size, until configured. */
/* The node count and the task's node: read inline through <gmemsim/numa.h>. */
unsigned int gs_numa_nr = 1;
static unsigned long node_pages[GS_MAX_NUMNODES] = {GS_PHYSMEM_DEFAULT_SIZE >> PAGE_SHIFT};
static unsigned long node_used[GS_MAX_NUMNODES];
int gs_numa_local;

static bool node_exists(int nid)
{
	return nid >= 0 && (unsigned int)nid < gs_numa_nr;
}

unsigned long gs_numa_node_pages(int nid)
{
	return node_exists(nid) ? node_pages[nid] : 0;
}

unsigned long gs_numa_node_used(int nid)
{
	return node_exists(nid) ? node_used[nid] : 0;
}

unsigned long gs_numa_node_free(int nid)
{
	if (!node_exists(nid) || node_used[nid] >= node_pages[nid])
		return 0;
	return node_pages[nid] - node_used[nid];
}

unsigned long gs_numa_total_pages(void)
{
	unsigned long total = 0;

	for (unsigned int n = 0; n < gs_numa_nr; n++)
		total += node_pages[n];
	return total;
}

nodemask_t gs_numa_all_nodes(void)
{
	return gs_numa_nr == GS_MAX_NUMNODES ? ~0UL : (1UL << gs_numa_nr) - 1;
}

int gs_numa_set_local_node(int nid)
{
	if (!node_exists(nid))
		return -EINVAL;
	gs_numa_local = nid;
	return 0;
}

/* @total split in @nr shares of whole @units; the last node takes what is left. */
static bool split_fits(unsigned int nr, unsigned long total, unsigned long unit,
		       unsigned long *share)
{
	*share = total / nr / unit * unit;
	return *share != 0;
}

int gs_numa_configure(unsigned int nr, unsigned long total, unsigned long unit)
{
	unsigned long share;

	if (!nr || nr > GS_MAX_NUMNODES || !split_fits(nr, total, unit, &share))
		return -EINVAL;
	for (unsigned int n = 0; n < gs_numa_nr; n++)
		if (node_used[n])
			return -EBUSY;
	for (unsigned int n = 0; n < GS_MAX_NUMNODES; n++)
		node_pages[n] = n < nr ? share : 0;
	node_pages[nr - 1] = total - share * (nr - 1);
	gs_numa_nr = nr;
	if (!node_exists(gs_numa_local))
		gs_numa_local = 0;
	return 0;
}

int gs_numa_resize(unsigned long total, unsigned long unit)
{
	unsigned long share;

	if (!split_fits(gs_numa_nr, total, unit, &share))
		return -EINVAL;
	/* Every node keeps what it holds in use: check them all before changing any. */
	for (unsigned int n = 0; n < gs_numa_nr; n++)
		if (node_used[n] > (n + 1 == gs_numa_nr ? total - share * n : share))
			return -EBUSY;
	for (unsigned int n = 0; n < gs_numa_nr; n++)
		node_pages[n] = share;
	node_pages[gs_numa_nr - 1] = total - share * (gs_numa_nr - 1);
	return 0;
}

int gs_numa_set_node_pages(int nid, unsigned long pages, unsigned long unit)
{
	if (!node_exists(nid) || !pages || pages % unit)
		return -EINVAL;
	if (pages < node_used[nid])
		return -EBUSY;
	node_pages[nid] = pages;
	return 0;
}

void gs_numa_charge(int nid, long pages)
{
	if (node_exists(nid))
		node_used[nid] += (unsigned long)pages;
}
