/* SPDX-License-Identifier: MIT */
/*
 * A minimal order-0 page allocator: the part of mm/page_alloc.c that
 * guest_memfd's 4 KiB files need. gmemsim has no buddy allocator yet, so
 * this takes 2 MiB huge pages of simulated physical memory and hands their
 * 4 KiB pages out one at a time from a free list; a huge page goes back to
 * physmem once all of its pages are free again.
 */
#ifndef GMEMSIM_LIB_PAGE_ALLOC_H
#define GMEMSIM_LIB_PAGE_ALLOC_H

#include <gmemsim/gfp.h>
#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>

struct folio;

/**
 * gs_page_alloc_set_backing() - backing of the huge pages taken from physmem
 * @backing: GS_BACKING_ANON (default) for real data, GS_BACKING_NONE for
 *           metadata only
 *
 * Context: any; applies to huge pages taken from now on.
 */
void gs_page_alloc_set_backing(enum gs_backing backing);

/**
 * gs_folio_alloc_order0() - allocate one order-0 folio
 * @gfp: allocation flags, for the fault injector (site page_alloc)
 *
 * Context: process context (may sleep).
 * Return: a folio with one reference and no flags, or NULL (-ENOMEM).
 */
struct folio *gs_folio_alloc_order0(gfp_t gfp);

/**
 * gs_folio_alloc_order0_node() - one order-0 folio from node @nid or, failing
 * that, the next node in its fallback order
 * @gfp: allocation flags; __GFP_THISNODE: @nid or nothing
 * @nid: the preferred node, NUMA_NO_NODE for the task's
 * @mask: the nodes allowed (0: any), a BIND policy's nodes
 *
 * __alloc_pages() with a preferred node and a node mask.
 *
 * Context: process context (may sleep).
 * Return: as gs_folio_alloc_order0(); NULL also for no such node.
 */
struct folio *gs_folio_alloc_order0_node(gfp_t gfp, int nid, nodemask_t mask);

/* gs_folio_alloc_thp() from node @nid (its fallback order, within @mask; 0: any). */
struct folio *gs_folio_alloc_thp_node(gfp_t gfp, int nid, nodemask_t mask);

/** gs_page_alloc_nr_free() - order-0 pages on the free list (for tests) */
/*
 * A PMD-sized folio (order 9) from a 2 MiB block no order-0 page uses, as
 * a THP allocation takes one from the buddy allocator without compaction:
 * NULL when no such block is left (fragmentation) or when injected. The
 * caller falls back to order 0.
 */
struct folio *gs_folio_alloc_thp(gfp_t gfp);

/* A THP was split into 512 order-0 pages (they free one by one). */
void gs_page_alloc_thp_split(void);

/* THP folios allocated and not yet freed or split. */
unsigned long gs_page_alloc_nr_thp(void);

unsigned long gs_page_alloc_nr_free(void);

/** gs_page_alloc_nr_used() - order-0 pages handed out and not yet freed */
unsigned long gs_page_alloc_nr_used(void);

/** gs_page_alloc_nr_hwpoison() - freed pages kept out of use because memory failure took them */
unsigned long gs_page_alloc_nr_hwpoison(void);

/**
 * gs_page_alloc_unpoison_all() - return every poisoned free page to use
 *
 * What unpoison_memory() (debugfs hwpoison/unpoison-pfn) does for each; the
 * scenario engine calls it when a run ends, a simulated machine's memory
 * failures ending with it.
 *
 * Context: process context.
 * Return: the number of pages returned.
 */
unsigned long gs_page_alloc_unpoison_all(void);

#endif /* GMEMSIM_LIB_PAGE_ALLOC_H */
