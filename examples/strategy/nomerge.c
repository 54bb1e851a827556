// SPDX-License-Identifier: MIT
/*
 * An out-of-tree restructuring strategy for gmemsim: "nomerge", the planned
 * conversion (P37) except that a conversion to private never merges a huge
 * page back. Once a conversion to shared has split a huge page, its 4 KiB
 * pieces stay until they are all freed (then the deferred worker merges
 * the page and gives it back to the pool).
 *
 * What it trades: no merge work and no HVO re-optimization on the
 * to-private path (a guest that flips the same pages back and forth, as a
 * bounce buffer does, pays the split once), and a to-private conversion
 * never fails because a piece outside its range is referenced; against
 * that, the guest is mapped at 4 KiB over every page ever shared, and
 * those pages keep their vmemmap (HVO stays undone).
 *
 * Built against the installed library's header only (docs/STRATEGIES.md,
 * "Writing a strategy"):
 *   cc -shared -fPIC $(pkg-config --cflags gmemsim) nomerge.c -o nomerge.so
 *   gmemsim run --strategy ./nomerge.so my.gms
 * No kernel code is mirrored.
 */
#include <gmemsim/strategy.h>

/* To private: never merge. A pure function of the page, as the contract asks. */
static bool nomerge_merge_on_private(const struct gs_strategy_page *page)
{
	(void)page;
	return false;
}

/*
 * The mapping order: the kernel's rule (the aligned huge page all private),
 * capped by the folio, since an all-private page may now be in pieces. The
 * engine does not cap it for us: mapping more than the folio is a bug the
 * checkers report.
 */
static unsigned int nomerge_max_order(const struct gs_strategy_fault *fault)
{
	return fault->rounded < fault->folio_order ? fault->rounded : fault->folio_order;
}

/* The one symbol gmemsim looks for (GS_STRATEGY_SYMBOL). */
__attribute__((visibility("default"))) const struct gs_strategy_ops gmemsim_strategy_v1 = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "nomerge",
	.summary = "planned, but to-private never merges: split once, 4 KiB mappings after",
	.flow = GS_FLOW_PLANNED,
	.merge_on_private = nomerge_merge_on_private,
	.max_order = nomerge_max_order,
	/*
	 * Left out, so the kernel's rules (each hook's contract is its
	 * kerneldoc in <gmemsim/strategy.h>): ABI 2's .split_order (to
	 * 4 KiB), .merge_order (only whole pages) and .backing (4 KiB pages);
	 * ABI 3's file hooks .alloc_order (a whole 2 MiB folio where one
	 * fits), .punch (split a THP the hole cuts into) and .free_split
	 * (merge a truncated split page at once). lazy.c answers those three
	 * otherwise.
	 */
};
