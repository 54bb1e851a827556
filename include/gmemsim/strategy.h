/* SPDX-License-Identifier: MIT */
/*
 * Restructuring strategies: what guest_memfd decides about the huge pages
 * of a HugeTLB file when their pages convert between shared and private,
 * as an ops table a strategy fills in, the way the HugeTLB RFC's
 * kvm_gmem_allocator_ops (split_folio, merge_folio) and the WIP branch's
 * hugetlb_restructuring_* calls split the allocator's part from
 * guest_memfd's. The conversion engine (lib/guest_memfd/gmem_convert.c)
 * and the fault path (gmem_fault.c) call the hooks; the four orderings of
 * docs/CONVERSION.md are the built-in strategies "planned", "v8", "wip" and
 * "rfc-v2". An out-of-tree strategy is a shared object exporting
 * GS_STRATEGY_SYMBOL (docs/STRATEGIES.md, "Writing a strategy";
 * examples/strategy/).
 *
 * A strategy needs only this header: the hooks get plain structs, so a
 * strategy's shared object does not link the library.
 */
#ifndef GMEMSIM_STRATEGY_H
#define GMEMSIM_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>

#include <gmemsim/compiler.h>

/*
 * The version of struct gs_strategy_ops a strategy is built against. ABI 2
 * appended split_order, merge_order and backing; ABI 3 alloc_order, punch
 * and free_split. An ABI-1 or ABI-2 object (abi 1 or 2, the size below)
 * still loads: its table is copied by its own size, and the hooks it lacks
 * are the kernel's rules.
 */
#define GS_STRATEGY_ABI 3

/* sizeof(struct gs_strategy_ops) of ABI 1: the table up to max_order. */
#define GS_STRATEGY_OPS_SIZE_V1 offsetof(struct gs_strategy_ops, split_order)

/* sizeof(struct gs_strategy_ops) of ABI 2: the table up to backing (and its padding). */
#define GS_STRATEGY_OPS_SIZE_V2 offsetof(struct gs_strategy_ops, alloc_order)

/* The symbol an out-of-tree strategy exports: const struct gs_strategy_ops. */
#define GS_STRATEGY_SYMBOL "gmemsim_strategy_v1"

/**
 * enum gs_strategy_flow - the order of the conversion's steps a strategy runs in
 * @GS_FLOW_PLANNED: P37: every fallible step before one point of no return,
 *                   all or nothing across huge pages (docs/CONVERSION.md)
 * @GS_FLOW_V8: P7, 4 KiB files only (a HugeTLB file: -EOPNOTSUPP)
 * @GS_FLOW_WIP: P35: one huge-page batch at a time, batches done stay done
 * @GS_FLOW_RFC_V2: P20, P25: a work list, restructure per item, rollback
 * @GS_FLOW_PUNCH_HOLE: conversion by discarding: the range's memory is
 *                      punched (contents lost) and the next fault allocates
 *                      memory of the new attribute; HugeTLB files:
 *                      -EOPNOTSUPP (docs/STRATEGIES.md, "punch-hole")
 *
 * The same values as enum gs_gmem_conversion: a VM's ordering is the flow
 * of its strategy.
 */
enum gs_strategy_flow {
	GS_FLOW_PLANNED,
	GS_FLOW_V8,
	GS_FLOW_WIP,
	GS_FLOW_RFC_V2,
	GS_FLOW_PUNCH_HOLE,
	GS_FLOW_NR,
};

/**
 * enum gs_strategy_backing - the memory of a VM's files without HugeTLB
 * @GS_STRATEGY_BACKING_PAGES: 4 KiB folios (filemap_alloc_folio() at order 0)
 * @GS_STRATEGY_BACKING_THP: best-effort PMD-sized folios from the buddy
 *     allocator (order 9 where the whole 2 MiB is in the file and free, else
 *     order 0), the historical KVM_GUEST_MEMFD_ALLOW_HUGEPAGE: such a file's
 *     size must be a multiple of 2 MiB (else -EINVAL); a conversion splits
 *     the folios it changes in part (split_huge_page(): -EAGAIN while a page
 *     of the folio is referenced beyond the page cache); no HugeTLB pool is
 *     charged. HugeTLB files are not affected.
 */
enum gs_strategy_backing {
	GS_STRATEGY_BACKING_PAGES,
	GS_STRATEGY_BACKING_THP,
};

/**
 * struct gs_strategy_page - one huge page of a HugeTLB file, as a hook sees it
 * @ino: the file's inode number
 * @index: its first 4 KiB page in the file
 * @page_order: the file's huge page order (9: 2 MiB, 18: 1 GiB)
 * @nr_pages: 1 << @page_order
 */
struct gs_strategy_page {
	unsigned long ino;
	unsigned long index;
	unsigned int page_order;
	unsigned long nr_pages;
};

/**
 * struct gs_strategy_fault - a private fault of KVM on a HugeTLB file (get_pfn)
 * @ino: the file's inode number
 * @index: the faulting 4 KiB page
 * @page_order: the file's huge page order
 * @folio_order: the order of the folio holding @index (0: a piece of a split page)
 * @rounded: @page_order when the huge page holding @index is all private,
 *           else 0 (the kernel's rule, P29)
 * @unrounded: the same over [@index, @index + 2^@page_order): the WIP
 *             branch's rule (P39); 0 when that range passes the file's end
 * @aligned: (ABI 2) @folio_order when the folio's own aligned range is all
 *           private, else 0: what a folio of an intermediate order (a 2 MiB
 *           piece of a split 1 GiB page) may be mapped at
 */
struct gs_strategy_fault {
	unsigned long ino;
	unsigned long index;
	unsigned int page_order;
	unsigned int folio_order;
	unsigned int rounded;
	unsigned int unrounded;
	unsigned int aligned;
};

/**
 * struct gs_strategy_split - a huge folio a conversion to shared touches (ABI 2)
 * @ino: the file's inode number
 * @index: the folio's first 4 KiB page in the file
 * @page_order: the file's huge page order
 * @folio_order: the folio's order (@page_order: a whole huge page)
 * @start: the first page of the folio the conversion makes shared
 * @end: one past the last (inside the folio)
 */
struct gs_strategy_split {
	unsigned long ino;
	unsigned long index;
	unsigned int page_order;
	unsigned int folio_order;
	unsigned long start;
	unsigned long end;
};

/**
 * struct gs_strategy_alloc - a folio a file of the thp backing is about to allocate (ABI 3)
 * @ino: the file's inode number
 * @index: the 4 KiB page the folio is for
 * @base: the first page of @index's aligned 2 MiB block, which a 2 MiB folio
 *        would fill: wholly in the file, of one kind, holding no folio yet
 * @fallocate: true for fallocate() (preallocation), false for a fault
 *             (KVM's get_pfn, a host fault, a write)
 */
struct gs_strategy_alloc {
	unsigned long ino;
	unsigned long index;
	unsigned long base;
	bool fallocate;
};

/**
 * struct gs_strategy_punch - a hole punch that cuts into a 2 MiB folio (ABI 3)
 * @ino: the file's inode number
 * @index: the folio's first 4 KiB page
 * @folio_order: its order (9)
 * @start: the first page of the folio in the hole
 * @end: one past the last (inside the folio; [@start, @end) is not all of it)
 * @can_split: split_huge_page() would succeed now: nothing but the page
 *             cache and the host's mappings references the folio
 */
struct gs_strategy_punch {
	unsigned long ino;
	unsigned long index;
	unsigned int folio_order;
	unsigned long start;
	unsigned long end;
	bool can_split;
};

/**
 * enum gs_strategy_punch_action - what a punch does to a 2 MiB folio it cuts into (ABI 3)
 * @GS_PUNCH_SPLIT: split the folio and free the punched pieces
 *     (truncate_inode_partial_folio(); the kernel's rule); a folio that
 *     cannot be split (@can_split false) is zeroed in part instead, as there
 * @GS_PUNCH_ZERO: keep the folio whole and zero its part of the hole: the
 *     memory stays allocated (and counted in st_blocks), the 2 MiB mapping
 *     stays possible
 * @GS_PUNCH_REFUSE: fail the whole punch with -EINVAL, nothing changed, as
 *     a HugeTLB file refuses a punch that is not aligned to its page size
 */
enum gs_strategy_punch_action {
	GS_PUNCH_SPLIT,
	GS_PUNCH_ZERO,
	GS_PUNCH_REFUSE,
};

/**
 * enum gs_strategy_free_action - a split huge page whose pieces all leave the page cache (ABI 3)
 * @GS_FREE_MERGE: merge it now, and give it back to its subpool and pool in
 *     one piece (the WIP branch's merge_truncate_range(), P36; the kernel's
 *     rule)
 * @GS_FREE_DEFER: truncate its pieces as they are; each goes on the
 *     deferred-merge queue as its last reference goes, and the deferred
 *     worker merges the page and gives it back (until then it counts as
 *     waiting for merge, its pages as 4 KiB holes, and the subpool keeps it
 *     used)
 */
enum gs_strategy_free_action {
	GS_FREE_MERGE,
	GS_FREE_DEFER,
};

/**
 * struct gs_strategy_ops - what a restructuring strategy decides
 * @abi: GS_STRATEGY_ABI, as the strategy was built
 * @size: sizeof(struct gs_strategy_ops), as the strategy was built
 * @name: the strategy's name: letters, digits, '-' and '_', unique
 * @summary: one line on what it trades (`gmemsim check-strategy` prints it)
 * @flow: the order of the conversion's steps (enum gs_strategy_flow)
 * @merge_on_private: see below; NULL: always merge (the kernel's rule)
 * @max_order: see below; NULL: @rounded capped by @folio_order (the kernel's rule)
 * @split_order: (ABI 2) see below; NULL: 0 (the kernel's split to 4 KiB)
 * @merge_order: (ABI 2) see below; NULL: @page_order (only whole pages merge)
 * @backing: (ABI 2) enum gs_strategy_backing: what the VM's files without HugeTLB
 *           allocate (0: 4 KiB pages); fixed when a file is created
 * @alloc_order: (ABI 3) see below; NULL: 9 (a whole 2 MiB folio where possible)
 * @punch: (ABI 3) see below; NULL: GS_PUNCH_SPLIT
 * @free_split: (ABI 3) see below; NULL: GS_FREE_MERGE
 *
 * Which VMs run a strategy: those that name it (`vm ... strategy=NAME`,
 * kvm_params.strategy) and, after gs_strategy_set_default() (`gmemsim run
 * --strategy`), those of its @flow that name none. A hook sees one huge
 * page or folio, not the VM; the ABI-1 and ABI-2 hooks are called only for
 * HugeTLB files, @alloc_order and @punch only for files of the thp backing.
 *
 * @merge_on_private(page) - to private: merge this huge page now? Called
 * for each huge page a conversion to private leaves all private (its pieces
 * all in the page cache), under the filemap invalidate lock held exclusive,
 * once before the point of no return (the planned flow prepares the merge
 * then: a "yes" may make the conversion fail with -EAGAIN or -ENOMEM while
 * a piece is referenced or HVO cannot be undone) and once after it, when
 * the merge happens (it cannot fail there). Must not fail, allocate or
 * sleep, and must answer the same for the same page within one conversion
 * (a pure function of @page). A "no" leaves the page's 4 KiB pieces in the
 * page cache: the guest maps them at 4 KiB until a later conversion merges
 * them, or the deferred worker merges them once they are all freed.
 * Return: true to merge.
 *
 * @max_order(fault) - the largest order KVM may map the page at: the
 * get_pfn max_order. Called on every private fault and get_pfn of a HugeTLB
 * file, with the mmu invalidate sequence read (a conversion in between
 * makes KVM retry). Must not fail. The engine does not cap the answer: it
 * must be at most @folio_order and at most an order whose whole aligned
 * range is private (@rounded is the largest such order a huge page gives);
 * more maps memory that is not the folio's, which the checkers and the
 * oracle report. In ABI 1 @rounded and @folio_order are each @page_order
 * or 0 (a split goes to 4 KiB): an answer can lower the order, not find a
 * smaller all-private range. It bounds new mappings only: a frame KVM has
 * mapped keeps its leaf until a conversion or punch zaps it.
 * Return: an order from 0 to @folio_order.
 *
 * @split_order(split) - to shared: how far to split a huge folio the
 * conversion touches. Called for each whole huge page of a 1 GiB file a
 * conversion to shared touches (GS_FLOW_PLANNED only; the other flows and
 * 2 MiB files split to 4 KiB as ABI 1 did), more than once (the stage-2
 * leaves' split order is decided first: 2 MiB only if every whole page
 * touched answers 9), and for each fresh huge folio
 * allocated over a huge page that is not all private (P34), under the
 * filemap invalidate lock held exclusive, before the point of no return:
 * the answer decides which splits are prepared, and those can make the
 * conversion fail (-ENOMEM, -EAGAIN) with nothing changed. Must not fail,
 * allocate or sleep. 0 splits to 4 KiB (the kernel's rule, P25); 9 splits
 * a 1 GiB folio to 2 MiB pieces that keep their HVO-optimized vmemmap
 * (PUD to PMD), and the pieces holding a page of [@start, @end) go on to
 * 4 KiB in the same split (non-uniform, toward the shared pages, as
 * folio_split() splits toward one page). A 2 MiB piece of a page split so
 * before that the conversion touches goes to 4 KiB whatever the answer.
 * Any other answer is taken as 0.
 * Return: 0 or 9.
 *
 * @merge_order(page) - to private: the smallest order a split page's
 * pieces merge to. Called for each split page of a 1 GiB file a conversion
 * to private touches and does not merge whole (GS_FLOW_PLANNED only: the
 * page is not all private, or @merge_on_private said no), with the lock
 * held, before the
 * point of no return (the merges it asks for are checked then: a
 * referenced piece fails the conversion with -EAGAIN) and after it, when
 * they happen (they cannot fail). Must not fail, allocate or sleep, and
 * must answer the same within one conversion. @page_order: only a page all
 * private merges, to one folio (the kernel's rule, subject to
 * @merge_on_private); 9: also every 2 MiB range of it that is all private
 * and in 4 KiB pieces merges to one 2 MiB piece (the largest order whose
 * aligned range is all private). Any other answer is taken as @page_order.
 * Return: 9 or @page_order.
 *
 * The ABI-3 hooks belong to a file: the strategy of the VM that created it
 * answers them for the file's life (as for @backing). Each is checked: it is
 * called twice for one decision, and two different answers, or an answer
 * out of its range, make the simulator WARN (a failure under `gmemsim
 * check-strategy`) and take the kernel's rule.
 *
 * @alloc_order(alloc) - preallocation: the order of a new folio of a file of
 * the thp backing. Called for each folio such a file allocates where a
 * 2 MiB folio is possible (its aligned block lies wholly in the file, holds
 * no folio and is of one kind), on fallocate() and on a fault (@fallocate
 * tells which), with the filemap invalidate lock held (shared for a fault,
 * exclusive for fallocate), before the allocation: nothing has changed yet
 * and a failure after it is the allocation's own (fallocate undoes what it
 * added; a 2 MiB allocation that fails falls back to 4 KiB). Must not fail,
 * allocate or sleep; a pure function of @alloc. 9: a whole 2 MiB folio
 * (best effort: 4 KiB when the buddy allocator has no free 2 MiB block; the
 * kernel's rule); 0: only the 4 KiB page asked for. HugeTLB files are not
 * asked: they allocate whole pages of the file's page size, always.
 * Return: 9 or 0.
 *
 * @punch(punch) - what a hole punch (fallocate(PUNCH_HOLE), and the
 * punch-hole flow's conversion) does to a 2 MiB folio of a thp file it cuts
 * into but does not cover. Called for the folio at each edge of the hole,
 * with the filemap invalidate lock held exclusive, before the point of no
 * return: every answer is known before anything changes, so a
 * GS_PUNCH_REFUSE fails the punch with -EINVAL and nothing changed; a
 * GS_PUNCH_SPLIT's page-cache split may still fail the punch with -ENOMEM
 * (nothing changed either). Must not fail, allocate or sleep; a pure
 * function of @punch. HugeTLB files are not asked: a punch there is aligned
 * to the page size (else -EINVAL) and covers whole pages.
 * Return: enum gs_strategy_punch_action.
 *
 * @free_split(page) - free of the last piece: what happens to a split huge
 * page of a HugeTLB file that a truncation (a punch, eviction at the last
 * close) takes wholly out of the page cache. Called
 * with the filemap invalidate lock held exclusive (or the inode's last
 * reference), before the point of no return (a punch reserves the
 * page-cache nodes of the merges it will do: GS_FREE_MERGE may fail the
 * punch with -ENOMEM, nothing changed; a piece referenced beyond the page
 * cache fails a punch with -EAGAIN whatever the answer, P36) and again
 * after it, when the merge happens or does not (it cannot fail there; a
 * page that cannot merge waits for the deferred worker, as ever). Must not
 * fail, allocate or sleep; the same answer for the same page within one
 * truncation (a pure function of @page). Not asked when an allocation is
 * undone (fallocate's failure): that merges, so the state is as before.
 * Return: enum gs_strategy_free_action.
 */
struct gs_strategy_ops {
	unsigned int abi;
	unsigned int size;
	const char *name;
	const char *summary;
	enum gs_strategy_flow flow;
	bool (*merge_on_private)(const struct gs_strategy_page *page);
	unsigned int (*max_order)(const struct gs_strategy_fault *fault);
	/* ABI 2 */
	unsigned int (*split_order)(const struct gs_strategy_split *split);
	unsigned int (*merge_order)(const struct gs_strategy_page *page);
	unsigned int backing;
	/* ABI 3 */
	unsigned int (*alloc_order)(const struct gs_strategy_alloc *alloc);
	unsigned int (*punch)(const struct gs_strategy_punch *punch);
	unsigned int (*free_split)(const struct gs_strategy_page *page);
};

/**
 * struct gs_strategy - a registered strategy
 * @ops: its hooks
 * @builtin: one of the library's own (the oracle predicts its choices)
 * @path: the shared object it came from, or NULL
 */
struct gs_strategy {
	const struct gs_strategy_ops *ops;
	bool builtin;
	const char *path;
};

/**
 * gs_strategy_register() - add a strategy to the registry
 * @ops: the hooks; must stay valid for the life of the process
 *
 * Context: process context, not thread-safe.
 * An ABI-1 or ABI-2 table (@ops->abi 1 or 2, @ops->size
 * GS_STRATEGY_OPS_SIZE_V1 or _V2) is copied by its size; the hooks of the
 * later ABIs are then NULL and @backing 0 (the kernel's rules).
 *
 * Return: the registered strategy; NULL with errno set: EINVAL (wrong
 * @ops->abi or @ops->size, bad name or flow, NULL @ops), EEXIST (the name
 * is taken), ENOSPC (the registry, 32 strategies, is full).
 */
GS_API const struct gs_strategy *gs_strategy_register(const struct gs_strategy_ops *ops);

/**
 * gs_strategy_find() - a registered strategy by name, or a shared object by path
 * @name: a registered name ("planned", "v8", "wip", "rfc-v2", ...), or a
 *        path containing '/' (loaded once with gs_strategy_load(); the
 *        same path again gives the same strategy)
 *
 * Context: process context.
 * Return: the strategy, or NULL (unknown name, or the load failed).
 */
GS_API const struct gs_strategy *gs_strategy_find(const char *name);

/**
 * gs_strategy_load() - load an out-of-tree strategy and register it
 * @path: the shared object (dlopen(); a path with '/')
 * @err: where a one-line reason goes on failure (may be NULL)
 * @errlen: size of @err
 *
 * The object must export GS_STRATEGY_SYMBOL, a struct gs_strategy_ops with
 * @abi == GS_STRATEGY_ABI and @size == sizeof(struct gs_strategy_ops), or
 * @abi == 1 or 2 and @size == GS_STRATEGY_OPS_SIZE_V1 or _V2 (an older
 * object: its table is copied by its size, the later hooks left NULL). The
 * object stays loaded for the life of the process.
 *
 * Context: process context, not thread-safe.
 * Return: the strategy, or NULL with @err set.
 */
GS_API const struct gs_strategy *gs_strategy_load(const char *path, char *err, size_t errlen);

/**
 * gs_strategy_builtin() - the built-in strategy of an ordering
 * @flow: enum gs_strategy_flow (an enum gs_gmem_conversion value)
 *
 * Context: any.
 * Return: "planned", "v8", "wip", "rfc-v2" or "punch-hole"; "planned" for
 * a bad value.
 */
GS_API const struct gs_strategy *gs_strategy_builtin(unsigned int flow);

/**
 * gs_strategy_nth() - the registered strategies, in registration order
 * @i: from 0
 *
 * Context: any.
 * Return: the @i-th strategy (the built-ins first), or NULL past the last.
 */
GS_API const struct gs_strategy *gs_strategy_nth(unsigned int i);

/**
 * gs_strategy_set_default() - run every VM of a flow under a strategy
 * @s: the strategy (NULL: back to the built-ins)
 *
 * From now on a VM created with the ordering of @s's flow, and no
 * strategy of its own, runs @s: what `gmemsim run --strategy` does, so
 * that scenarios written for an ordering run a variant of it. Process-wide,
 * like the simulated machine.
 *
 * Context: process context, not thread-safe.
 */
GS_API void gs_strategy_set_default(const struct gs_strategy *s);

/**
 * gs_strategy_for_vm() - the strategy a new VM runs
 * @s: the strategy the VM asked for, or NULL
 * @flow: its ordering (enum gs_gmem_conversion)
 *
 * Context: any.
 * Return: @s if set; else the default set for @flow's flow; else the
 * built-in of @flow.
 */
GS_API const struct gs_strategy *gs_strategy_for_vm(const struct gs_strategy *s, unsigned int flow);

#endif /* GMEMSIM_STRATEGY_H */
