/* SPDX-License-Identifier: MIT */
/*
 * <numaif.h> for the peer suite: one memory node, so guest_memfd_test.c's
 * NUMA subtests return early (is_multi_numa_node_system()). The calls are
 * here so the file compiles; each one called fails its check.
 */
#ifndef GS_PEER_NUMAIF_H
#define GS_PEER_NUMAIF_H

#include "gs_peer_kvm.h"

#ifndef MPOL_DEFAULT
#define MPOL_DEFAULT	0
#define MPOL_PREFERRED	1
#define MPOL_BIND	2
#define MPOL_INTERLEAVE 3
#endif
#ifndef MPOL_F_ADDR
#define MPOL_F_ADDR (1 << 1)
#endif

static bool is_multi_numa_node_system(void)
{
	printf("one memory node: the NUMA subtests return early\n");
	return false;
}

static long gs_peer_no_numa(const char *what)
{
	TEST_FAIL("%s: memory nodes are not modelled", what);
	errno = ENOSYS;
	return -1;
}

#define mbind(...)	       gs_peer_no_numa("mbind")
#define kvm_mbind(...)	       (void)gs_peer_no_numa("mbind")
#define kvm_get_mempolicy(...) (void)gs_peer_no_numa("get_mempolicy")
#define kvm_move_pages(...)    (void)gs_peer_no_numa("move_pages")

#endif
