/* SPDX-License-Identifier: MIT */
/*
 * <numaif.h> for the peer suite: the simulated machine gets two memory
 * nodes (docs/MEMORY.md, "Memory nodes"), so the NUMA subtests of newer
 * guest_memfd_test.c files run, and mbind(), get_mempolicy() and
 * move_pages() reach the simulator's gs_mbind(), gs_get_mempolicy() and
 * gs_move_pages(). Each first writes back the pages the test stored through
 * a mapping, as every other redirected call does.
 */
#ifndef GS_PEER_NUMAIF_H
#define GS_PEER_NUMAIF_H

#include <linux/mempolicy.h>

#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>

#include "gs_peer_kvm.h"

#define GS_PEER_NODES 2

/* Before anything is allocated: nodes are split from free memory only. */
__attribute__((constructor)) static void gs_peer_numa_init(void)
{
	int err = gs_physmem_set_nodes(GS_PEER_NODES);

	if (err)
		printf("memory nodes: %d (the NUMA subtests return early)\n", err);
	else
		printf("memory nodes: %u\n", gs_numa_nr_nodes());
}

static bool is_multi_numa_node_system(void)
{
	return gs_numa_nr_nodes() > 1;
}

static int get_max_numa_node(void)
{
	return (int)gs_numa_nr_nodes() - 1;
}

static long gs_peer_mbind(void *addr, unsigned long len, int mode, const unsigned long *nodemask,
			  unsigned long maxnode, unsigned int flags)
{
	gs_peer_flush();
	return gs_mbind(addr, len, mode, nodemask, maxnode, flags);
}

static long gs_peer_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode,
				  void *addr, unsigned long flags)
{
	gs_peer_flush();
	return gs_get_mempolicy(mode, nodemask, maxnode, addr, flags);
}

static long gs_peer_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
			       int *status, int flags)
{
	gs_peer_flush();
	return gs_move_pages(pid, count, pages, nodes, status, flags);
}

#define mbind(a, len, mode, mask, max, fl)	 gs_peer_mbind(a, len, mode, mask, max, fl)
#define get_mempolicy(mode, mask, max, a, fl)	 gs_peer_get_mempolicy(mode, mask, max, a, fl)
#define move_pages(pid, n, pages, nodes, st, fl) gs_peer_move_pages(pid, n, pages, nodes, st, fl)

static void kvm_mbind(void *addr, unsigned long len, int mode, const unsigned long *nodemask,
		      unsigned long maxnode, unsigned int flags)
{
	TEST_ASSERT(!mbind(addr, len, mode, nodemask, maxnode, flags), "mbind(%d)", mode);
}

static void kvm_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr,
			      unsigned long flags)
{
	TEST_ASSERT(!get_mempolicy(mode, nodemask, maxnode, addr, flags), "get_mempolicy(0x%lx)",
		    flags);
}

static void kvm_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
			   int *status, int flags)
{
	TEST_ASSERT(!move_pages(pid, count, pages, nodes, status, flags), "move_pages(%lu)", count);
}

#endif
