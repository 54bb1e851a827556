/* SPDX-License-Identifier: MIT */
/*
 * Memory nodes of the simulated machine: how many there are, how much
 * memory each holds and how much of it is in use, which node is the
 * allocating task's own, and the order in which an allocation falls back
 * from one node to the others. The kernel's node_states[N_MEMORY],
 * node_present_pages() and the zonelists (mm/page_alloc.c,
 * build_zonelists()) with every distance equal. One node unless set.
 */
#ifndef GMEMSIM_NUMA_H
#define GMEMSIM_NUMA_H

#include <stdbool.h>

#include <gmemsim/compiler.h>

/*
 * Our MAX_NUMNODES: a node mask is one unsigned long, as the upstream
 * selftest passes it. Debian's kernels allow 1024 (NODES_SHIFT 10); no test
 * here needs more than a word's worth.
 */
#define GS_MAX_NUMNODES 64
#define NUMA_NO_NODE	(-1)

/* A set of nodes: bit n is node n. */
typedef unsigned long nodemask_t;

/* Read through the accessors below; inline, as every page allocation asks. */
extern GS_API unsigned int gs_numa_nr;
extern GS_API int gs_numa_local;

/** gs_numa_nr_nodes() - the machine's memory nodes (nr_node_ids; 1 unless set) */
static inline unsigned int gs_numa_nr_nodes(void)
{
	return gs_numa_nr;
}

/** gs_numa_node_pages() - the pages node @nid holds (0 for no such node) */
GS_API unsigned long gs_numa_node_pages(int nid);

/** gs_numa_node_used() - the pages of node @nid in use (0 for no such node) */
GS_API unsigned long gs_numa_node_used(int nid);

/** gs_numa_node_free() - the pages of node @nid not in use */
GS_API unsigned long gs_numa_node_free(int nid);

/** gs_numa_total_pages() - the pages of every node together */
GS_API unsigned long gs_numa_total_pages(void);

/** gs_numa_all_nodes() - the mask of every node with memory (node_states[N_MEMORY]) */
GS_API nodemask_t gs_numa_all_nodes(void);

/**
 * gs_numa_local_node() - the node of the task that allocates
 *
 * The simulated process runs on one CPU, of this node: MPOL_DEFAULT (the
 * local policy) allocates here first (numa_node_id()).
 *
 * Context: any.
 * Return: the node, 0 unless set.
 */
static inline int gs_numa_local_node(void)
{
	return gs_numa_local;
}

/**
 * gs_numa_set_local_node() - move the allocating task to a CPU of node @nid
 * @nid: an existing node
 *
 * Context: process context.
 * Return: 0, or -EINVAL for no such node.
 */
GS_API int gs_numa_set_local_node(int nid);

/**
 * gs_numa_fallback_node() - the @i-th node an allocation preferring @nid tries
 * @nid: the preferred node (NUMA_NO_NODE: the local node)
 * @i: 0 for @nid itself, up to gs_numa_nr_nodes() - 1
 *
 * The zonelist of @nid: @nid, then the others in increasing order from it,
 * wrapping (every distance is equal, so the kernel's order is by id too).
 *
 * Context: any.
 * Return: a node.
 */
static inline int gs_numa_fallback_node(int nid, unsigned int i)
{
	if (nid < 0 || (unsigned int)nid >= gs_numa_nr)
		nid = gs_numa_local;
	/* One node, the common machine: no division. */
	return gs_numa_nr == 1 ? 0 : (int)(((unsigned int)nid + i) % gs_numa_nr);
}

/*
 * The physmem layer's side (lib/physmem.c): the shape is changed only
 * through gs_physmem_set_nodes() / gs_physmem_set_node_size(), which check
 * what the vmemmap can hold; these do the bookkeeping.
 */
int gs_numa_configure(unsigned int nr, unsigned long total_pages, unsigned long unit);
int gs_numa_set_node_pages(int nid, unsigned long pages, unsigned long unit);
int gs_numa_resize(unsigned long total_pages, unsigned long unit);
void gs_numa_charge(int nid, long pages);

#endif /* GMEMSIM_NUMA_H */
