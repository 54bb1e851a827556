// SPDX-License-Identifier: MIT
/*
 * The metrics' event counters (<gmemsim/metrics.h>): the layers count here,
 * at the point where they split, merge, convert or move vmemmap, so a
 * strategy cannot report its own costs. No kernel counterpart: the kernel's
 * nearest are the HugeTLB sysfs counters and the vmstat events.
 * gs_metrics_read(), which adds the figures read from the pools and the
 * VMs, lives in the scenario layer, above everything it reads.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/internal/metrics_int.h>

struct gs_metrics_events gs_metrics_ev;

void gs_metrics_split(unsigned int from, unsigned int to)
{
	if (from < GS_METRICS_ORDERS && to < GS_METRICS_ORDERS) {
		gs_metrics_ev.splits[from]++;
		gs_metrics_ev.split_to[to]++;
	}
}

void gs_metrics_merge(unsigned int order)
{
	if (order < GS_METRICS_ORDERS)
		gs_metrics_ev.merges[order]++;
}

/* Nested calls (none today) would count once: only the outermost holds the lock. */
void gs_metrics_conv_begin(void)
{
	gs_metrics_ev.conv_depth++;
}

static unsigned int errno_index(int err)
{
	switch (err) {
	case -ENOMEM:
		return GS_METRICS_ENOMEM;
	case -EAGAIN:
		return GS_METRICS_EAGAIN;
	case -EINVAL:
		return GS_METRICS_EINVAL;
	case -EOPNOTSUPP:
		return GS_METRICS_EOPNOTSUPP;
	default:
		return GS_METRICS_EOTHER;
	}
}

void gs_metrics_conv_end(int err)
{
	gs_metrics_ev.conv_depth--;
	if (gs_metrics_ev.conv_depth)
		return;
	gs_metrics_ev.conv_calls++;
	if (err < 0)
		gs_metrics_ev.conv_failures[errno_index(err)]++;
}

const char *gs_metrics_errno_name(unsigned int e)
{
	static const char *const names[GS_METRICS_ERRNOS] = {"ENOMEM", "EAGAIN", "EINVAL",
							     "EOPNOTSUPP", "other"};

	return e < GS_METRICS_ERRNOS ? names[e] : "?";
}

void gs_metrics_reset(void)
{
	long long cur = gs_metrics_ev.vmemmap;
	unsigned int depth = gs_metrics_ev.conv_depth;

	memset(&gs_metrics_ev, 0, sizeof(gs_metrics_ev));
	gs_metrics_ev.vmemmap = cur;
	gs_metrics_ev.vmemmap_peak = cur;
	gs_metrics_ev.conv_depth = depth;
}
