/* SPDX-License-Identifier: MIT */
/*
 * What a restructuring strategy costs, counted by the simulator itself (not
 * by the strategy): vmemmap bytes resident (what HVO saves), huge pages
 * intact, split and waiting for merge, free huge pages, 4 KiB holes, folio
 * splits and merges by order, stage-2 leaves by level, conversion failures
 * by errno and allocations made under the conversion lock. The kernel has
 * no such summary: these are the figures the HugeTLB guest_memfd threads
 * argue with (docs/STRATEGIES.md, "Metrics", defines each one).
 *
 * Event counters (splits, merges, failures, allocations, the vmemmap peak)
 * run from the last gs_metrics_reset(); the rest is read from the
 * simulator's state when gs_metrics_read() is called.
 */
#ifndef GMEMSIM_METRICS_H
#define GMEMSIM_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <gmemsim/compiler.h>

/* Orders a folio split or merge can start from or end at: 0 (4 KiB) .. 18 (1 GiB). */
#define GS_METRICS_ORDERS 19

/* The huge page sizes the pools know, in this order. */
enum gs_metrics_hsize {
	GS_METRICS_2M,
	GS_METRICS_1G,
	GS_METRICS_HSIZES,
};

/* Stage-2 leaf levels, in this order. */
enum gs_metrics_level {
	GS_METRICS_4K,
	GS_METRICS_LEVEL_2M,
	GS_METRICS_LEVEL_1G,
	GS_METRICS_LEVELS,
};

/* The errnos a conversion is counted by; anything else is "other". */
enum gs_metrics_errno {
	GS_METRICS_ENOMEM,
	GS_METRICS_EAGAIN,
	GS_METRICS_EINVAL,
	GS_METRICS_EOPNOTSUPP,
	GS_METRICS_EOTHER,
	GS_METRICS_ERRNOS,
};

/**
 * struct gs_metrics_huge - one pool's huge pages
 * @total: pages in the pool (nr_hugepages, surplus included)
 * @free: pages on its free list, whole, ready for a new huge mapping
 * @intact: pages in use as one folio of the pool's order
 * @split: pages in use whose folio is split into pieces
 * @waiting: of the split ones, pages with at least one free piece: they
 *           wait for the rest of their pieces to be freed to merge
 * @holes: free 4 KiB pages inside split pages (the free pieces' pages)
 */
struct gs_metrics_huge {
	unsigned long total, free, intact, split, waiting, holes;
};

/**
 * struct gs_metrics - the simulator's cost figures
 * @vmemmap_bytes: struct pages resident for the memory taken from the
 *                 simulated machine (64 bytes per 4 KiB page of huge pages
 *                 and of the 4 KiB allocator's 2 MiB chunks), less the
 *                 vmemmap pages HVO gave back
 * @vmemmap_peak_bytes: the most @vmemmap_bytes was since the last reset,
 *                      updated at every change (not sampled)
 * @memory_bytes: the memory those struct pages describe
 * @hvo_saved_bytes: vmemmap HVO gives back now (4 KiB per freed page)
 * @huge: per pool (enum gs_metrics_hsize)
 * @holes: @huge's holes summed
 * @frag_ppm: fragmentation index in parts per million: holes / (holes +
 *            4 KiB pages of the free huge pages), the share of free HugeTLB
 *            memory that no huge mapping can use; 0 with nothing free
 * @splits: folio splits by the order split from (since the last reset)
 * @split_to: the same splits by the order of the pieces (the smallest)
 * @merges: folio merges by the order merged to
 * @leaves: stage-2 leaves by level (enum gs_metrics_level), all VMs
 * @mapped_bytes: guest memory those leaves map, by level
 * @conv_calls: conversions (KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd)
 * @conv_failures: failed conversions by errno (enum gs_metrics_errno)
 * @conv_allocs: allocation attempts (objects and charges) made while a
 *               conversion held the filemap invalidate lock
 * @thp_intact: THPs (2 MiB folios of files without HugeTLB, the thp
 *              backing) in use and not split
 * @thp_holes: free 4 KiB pages of the buddy allocator inside 2 MiB blocks
 *             that are partly in use: memory no new THP can take
 */
struct gs_metrics {
	uint64_t vmemmap_bytes, vmemmap_peak_bytes, memory_bytes, hvo_saved_bytes;
	struct gs_metrics_huge huge[GS_METRICS_HSIZES];
	unsigned long holes, frag_ppm;
	unsigned long splits[GS_METRICS_ORDERS], split_to[GS_METRICS_ORDERS];
	unsigned long merges[GS_METRICS_ORDERS];
	unsigned long leaves[GS_METRICS_LEVELS];
	uint64_t mapped_bytes[GS_METRICS_LEVELS];
	unsigned long conv_calls, conv_failures[GS_METRICS_ERRNOS], conv_allocs;
	unsigned long thp_intact, thp_holes;
};

/**
 * gs_metrics_read() - the figures now
 * @m: filled
 * @full: also count the holes and the waiting pages (walks the pieces of
 *        every split huge page); false leaves them 0 and costs no walk
 *
 * Context: between operations (not while a conversion runs).
 */
GS_API void gs_metrics_read(struct gs_metrics *m, bool full);

/**
 * gs_metrics_reset() - zero the event counters; the peak restarts at the current vmemmap
 *
 * Context: between operations.
 */
GS_API void gs_metrics_reset(void);

/**
 * gs_metrics_errno_name() - "ENOMEM", ..., "other"
 * @e: an enum gs_metrics_errno
 *
 * Context: any.
 * Return: the name, or "?" out of range.
 */
GS_API const char *gs_metrics_errno_name(unsigned int e);

#endif /* GMEMSIM_METRICS_H */
