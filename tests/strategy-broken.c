// SPDX-License-Identifier: MIT
/*
 * A deliberately broken restructuring strategy, for the test of `gmemsim
 * check-strategy` (tests/meson.build): its max_order hook ignores both the
 * folio order and the attributes and always answers the page order, so KVM
 * maps a huge leaf over 4 KiB pieces and shared pages. The checkers and the
 * oracle must catch it. Built with GS_TEST_BAD_ABI it claims another ABI
 * version, which the loader must refuse. Never copy this one
 * (examples/strategy/ is the template).
 */
#include <gmemsim/strategy.h>

static unsigned int broken_max_order(const struct gs_strategy_fault *fault)
{
	return fault->page_order;
}

__attribute__((visibility("default"))) const struct gs_strategy_ops gmemsim_strategy_v1 = {
#ifdef GS_TEST_BAD_ABI
	.abi = GS_STRATEGY_ABI + 1,
#else
	.abi = GS_STRATEGY_ABI,
#endif
	.size = sizeof(struct gs_strategy_ops),
	.name = "broken-max-order",
	.summary = "test only: maps at the page order whatever the folio and attributes",
	.flow = GS_FLOW_PLANNED,
	.max_order = broken_max_order,
};
