// SPDX-License-Identifier: MIT
/*
 * A strategy as an object built against strategy ABI 1 exports it: the
 * table of that header (up to max_order), with nothing after it. The loader
 * of a later gmemsim (ABI 2, 3) must still take it (tests/test-strategy.c, test_load),
 * with the hooks ABI 2 added left NULL. No kernel code is mirrored.
 */
#include <stddef.h>

#include <gmemsim/strategy.h>

/* struct gs_strategy_ops of ABI 1, field for field. */
struct gs_strategy_ops_v1 {
	unsigned int abi;
	unsigned int size;
	const char *name;
	const char *summary;
	enum gs_strategy_flow flow;
	bool (*merge_on_private)(const struct gs_strategy_page *page);
	unsigned int (*max_order)(const struct gs_strategy_fault *fault);
};

_Static_assert(sizeof(struct gs_strategy_ops_v1) == GS_STRATEGY_OPS_SIZE_V1,
	       "ABI 2 keeps ABI 1's table as its prefix");

static bool never_merge(const struct gs_strategy_page *page)
{
	(void)page;
	return false;
}

__attribute__((visibility("default"))) const struct gs_strategy_ops_v1 gmemsim_strategy_v1 = {
	.abi = 1,
	.size = sizeof(struct gs_strategy_ops_v1),
	.name = "abi1-object",
	.summary = "test only: an object built against strategy ABI 1",
	.flow = GS_FLOW_PLANNED,
	.merge_on_private = never_merge,
};
