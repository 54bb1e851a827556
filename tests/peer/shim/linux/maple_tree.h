/* SPDX-License-Identifier: MIT */
/*
 * <linux/maple_tree.h> for the peer suite: gmemsim's maple tree
 * (include/gmemsim/maple_tree.h) under the kernel's names, plus the kernel
 * environment of kernel-shim.h.
 */
#ifndef GS_PEER_LINUX_MAPLE_TREE_H
#define GS_PEER_LINUX_MAPLE_TREE_H

#include "kernel-shim.h"
#include <gmemsim/mm_types.h>
#include <gmemsim/rcu.h>
#include <gmemsim/xarray.h>
#include <gmemsim/maple_tree.h>

/* An x86-64 kernel: the file's tests of ranges above 4 GiB apply. */
#ifndef CONFIG_64BIT
#define CONFIG_64BIT 1
#endif
/*
 * The kernel's generic node has 31 slots on 64-bit; the file only derives
 * MAPLE_32BIT from it. gmemsim's range nodes have the kernel's 16 slots.
 */
#define MAPLE_NODE_SLOTS 31

/* Without CONFIG_DEBUG_MAPLE_TREE the kernel's state check is a plain BUG_ON. */
#define MAS_BUG_ON(__mas, __x) BUG_ON(__x)

/* One thread: atomics are plain counters. */
static inline void atomic_inc(atomic_t *v)
{
	v->counter++;
}

#endif
