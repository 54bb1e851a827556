// SPDX-License-Identifier: MIT
/*
 * An out-of-tree restructuring strategy for gmemsim: "lazy", the planned
 * conversion (P37) with the thp backing (files without HugeTLB get
 * best-effort 2 MiB folios), and the three file hooks of strategy ABI 3
 * each answered against the kernel's rule:
 *   - preallocation (alloc_order): a 2 MiB folio only where fallocate()
 *     preallocates; a fault takes the 4 KiB page it needs, nothing more;
 *   - punch: a hole punched into a 2 MiB folio keeps the folio whole and
 *     zeroes the part (the kernel splits it and frees the part);
 *   - free of the last piece (free_split): a split HugeTLB page that a
 *     truncation takes out of the file is left to the deferred worker
 *     instead of being merged there and then.
 *
 * What it trades: faults never take memory the guest did not touch, a
 * punch never shatters a THP (its 2 MiB mapping survives), and the
 * truncation does no merge (no HVO re-optimization with the lock held);
 * against that, a punched part of a THP stays allocated (st_blocks does not
 * drop), THPs exist only where the VMM preallocated, and a punched split
 * page sits out of the pool (its 4 KiB holes counted) until the deferred
 * worker runs.
 *
 *   cc -shared -fPIC $(pkg-config --cflags gmemsim) lazy.c -o lazy.so
 *   gmemsim run --oracle --strategy ./lazy.so lazy.gms
 * No kernel code is mirrored.
 */
#include <gmemsim/strategy.h>

/* Preallocation: whole 2 MiB folios for fallocate(), the page asked for on a fault. */
static unsigned int lazy_alloc_order(const struct gs_strategy_alloc *alloc)
{
	return alloc->fallocate ? 9 : 0;
}

/* A punch into a THP: keep it whole, zero the punched part. */
static unsigned int lazy_punch(const struct gs_strategy_punch *punch)
{
	(void)punch;
	return GS_PUNCH_ZERO;
}

/* A split page truncated: the deferred worker merges it, not the truncation. */
static unsigned int lazy_free_split(const struct gs_strategy_page *page)
{
	(void)page;
	return GS_FREE_DEFER;
}

/* The one symbol gmemsim looks for (GS_STRATEGY_SYMBOL). */
__attribute__((visibility("default"))) const struct gs_strategy_ops gmemsim_strategy_v1 = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "lazy",
	.summary = "planned with THPs: 2 MiB only where preallocated, a punch keeps the THP "
		   "(zeroed part), truncated split pages left to the deferred worker",
	.flow = GS_FLOW_PLANNED,
	.backing = GS_STRATEGY_BACKING_THP,
	.alloc_order = lazy_alloc_order,
	.punch = lazy_punch,
	.free_split = lazy_free_split,
};
