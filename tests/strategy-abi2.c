// SPDX-License-Identifier: MIT
/*
 * A strategy as an object built against strategy ABI 2 exports it: the
 * table of that header (up to backing), with nothing after it. The loader
 * of an ABI-3 gmemsim must still take it (tests/test-strategy.c, test_load):
 * its table copied by its own size, backing and the ABI-2 hooks kept, the
 * hooks ABI 3 added (alloc_order, punch, free_split) left NULL. No kernel
 * code is mirrored.
 */
#include <stddef.h>

#include <gmemsim/strategy.h>

/* struct gs_strategy_ops of ABI 2, field for field. */
struct gs_strategy_ops_v2 {
	unsigned int abi;
	unsigned int size;
	const char *name;
	const char *summary;
	enum gs_strategy_flow flow;
	bool (*merge_on_private)(const struct gs_strategy_page *page);
	unsigned int (*max_order)(const struct gs_strategy_fault *fault);
	unsigned int (*split_order)(const struct gs_strategy_split *split);
	unsigned int (*merge_order)(const struct gs_strategy_page *page);
	unsigned int backing;
};

_Static_assert(sizeof(struct gs_strategy_ops_v2) == GS_STRATEGY_OPS_SIZE_V2,
	       "ABI 3 keeps ABI 2's table as its prefix");

/* To 2 MiB pieces, as the built-in optimized splits a 1 GiB page. */
static unsigned int split_to_pmd(const struct gs_strategy_split *split)
{
	return split->folio_order > 9 ? 9 : 0;
}

__attribute__((visibility("default"))) const struct gs_strategy_ops_v2 gmemsim_strategy_v1 = {
	.abi = 2,
	.size = sizeof(struct gs_strategy_ops_v2),
	.name = "abi2-object",
	.summary = "test only: an object built against strategy ABI 2",
	.flow = GS_FLOW_PLANNED,
	.split_order = split_to_pmd,
	.backing = GS_STRATEGY_BACKING_THP,
};
