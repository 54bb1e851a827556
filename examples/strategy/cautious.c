// SPDX-License-Identifier: MIT
/*
 * An out-of-tree restructuring strategy for gmemsim: "cautious", the
 * planned conversion (P37) for 1 GiB-backed guests that share a little:
 * a 1 GiB page split by a conversion to shared is never merged back by a
 * conversion to private (its 4 KiB pieces stay until they are all freed,
 * then the deferred worker merges it), and KVM is never told to map above
 * 2 MiB. 2 MiB pages split and merge as planned does.
 *
 * What it trades: no 1 GiB merge (the re-optimization of 16 MiB of struct
 * pages, under the conversion lock) when a guest flips shared pages back,
 * and no 1 GiB stage-2 leaf for a later shared page to shatter; against
 * that, a 1 GiB page once shared keeps its vmemmap and 4 KiB mappings, and
 * whole 1 GiB pages are mapped with 512 2 MiB leaves each.
 *
 * Written by a new user from examples/strategy/README.md and
 * docs/STRATEGIES.md only:
 *   cc -shared -fPIC $(pkg-config --cflags gmemsim) cautious.c -o cautious.so
 *   gmemsim run --oracle --strategy ./cautious.so cautious.gms
 * No kernel code is mirrored.
 */
#include <gmemsim/strategy.h>

#define CAUTIOUS_MAX_ORDER 9 /* 2 MiB */

/* To private: merge 2 MiB pages back, never 1 GiB ones. A pure function of the page. */
static bool cautious_merge_on_private(const struct gs_strategy_page *page)
{
	return page->page_order <= CAUTIOUS_MAX_ORDER;
}

/*
 * The kernel's rule capped by the folio (the engine does not cap it), then
 * at 2 MiB: lowering the order is always safe.
 */
static unsigned int cautious_max_order(const struct gs_strategy_fault *fault)
{
	unsigned int order = fault->rounded;

	if (order > fault->folio_order)
		order = fault->folio_order;
	if (order > CAUTIOUS_MAX_ORDER)
		order = CAUTIOUS_MAX_ORDER;
	return order;
}

/* The one symbol gmemsim looks for (GS_STRATEGY_SYMBOL). */
__attribute__((visibility("default"))) const struct gs_strategy_ops gmemsim_strategy_v1 = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "cautious",
	.summary =
		"planned, but 1 GiB pages never re-merge on to-private and KVM maps at most 2 MiB",
	.flow = GS_FLOW_PLANNED,
	.merge_on_private = cautious_merge_on_private,
	.max_order = cautious_max_order,
};
