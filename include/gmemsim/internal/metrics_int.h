/* SPDX-License-Identifier: MIT */
/*
 * The hooks the layers call where they do the work the metrics count
 * (<gmemsim/metrics.h>): kept in lib/base/metrics.c, below every layer, so
 * any layer may call them. Each is a few stores: they sit on hot paths.
 */
#ifndef GMEMSIM_LIB_METRICS_INT_H
#define GMEMSIM_LIB_METRICS_INT_H

#include <stdbool.h>
#include <gmemsim/metrics.h>

/* The event counters; gs_metrics_read() copies them. */
struct gs_metrics_events {
	long long vmemmap, vmemmap_peak;
	unsigned long splits[GS_METRICS_ORDERS], split_to[GS_METRICS_ORDERS];
	unsigned long merges[GS_METRICS_ORDERS];
	unsigned long conv_calls, conv_failures[GS_METRICS_ERRNOS], conv_allocs;
	unsigned int conv_depth;
};

extern struct gs_metrics_events gs_metrics_ev;

/* @delta bytes of vmemmap became resident (or, negative, went back to the host). */
static inline void gs_metrics_vmemmap_add(long long delta)
{
	gs_metrics_ev.vmemmap += delta;
	if (gs_metrics_ev.vmemmap > gs_metrics_ev.vmemmap_peak)
		gs_metrics_ev.vmemmap_peak = gs_metrics_ev.vmemmap;
}

/* An allocation attempt (alloc.c); counted only under the conversion lock. */
static inline void gs_metrics_alloc(void)
{
	if (__builtin_expect(gs_metrics_ev.conv_depth != 0, 0))
		gs_metrics_ev.conv_allocs++;
}

void gs_metrics_split(unsigned int from, unsigned int to);
void gs_metrics_merge(unsigned int order);
void gs_metrics_conv_begin(void);
void gs_metrics_conv_end(int err);

#endif /* GMEMSIM_LIB_METRICS_INT_H */
