/* SPDX-License-Identifier: MIT */
/*
 * Guest-like workloads and the comparison of restructuring strategies on
 * them (docs/STRATEGIES.md, "Workloads" and "Comparing strategies"). A
 * workload is generated as scenario text (.gms), so a user can dump it,
 * read it and replay it with `gmemsim run`; the comparison runs the same
 * workload under each strategy through the scenario engine and reads the
 * simulator's metrics (<gmemsim/metrics.h>) after every operation.
 */
#ifndef GMEMSIM_COMPARE_H
#define GMEMSIM_COMPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/metrics.h>

/* Default bound on the host memory a run may be estimated to need. */
#define GS_COMPARE_DEFAULT_HOST_BUDGET (1ULL << 30)

/**
 * struct gs_workload_params - what to generate
 * @name: "tdx-boot", "bounce", "churn" or "1g-few-shared"
 * @size: guest memory in bytes (a multiple of the workload's huge page size)
 * @seed: every random choice of the workload derives from it
 * @strategy: the strategy the text is for (its ordering and backing)
 */
struct gs_workload_params {
	const char *name;
	uint64_t size;
	uint64_t seed;
	const char *strategy;
};

/**
 * gs_workload_text() - the scenario text of a workload
 * @p: the workload
 * @text: set to a malloc()ed NUL-terminated text (free() it)
 * @err: set to a one-line reason on failure (static storage)
 *
 * The guest's choices (which pages turn shared, when) depend on @p->name,
 * @p->size and @p->seed only, so every strategy sees the same guest.
 *
 * Context: any.
 * Return: 0; -EINVAL (unknown workload or strategy, a size that is not a
 * multiple of the huge page size, or more than the simulated machine
 * holds: 2 TiB); -ENOMEM.
 */
GS_API int gs_workload_text(const struct gs_workload_params *p, char **text, const char **err);

/**
 * gs_workload_host_bytes() - host memory a run of the workload is estimated to need
 * @p: the workload
 *
 * Context: any.
 * Return: bytes, or 0 for an unknown workload or strategy.
 */
GS_API uint64_t gs_workload_host_bytes(const struct gs_workload_params *p);

/**
 * gs_workload_nth() - the workloads, in order
 * @i: index from 0
 *
 * Context: any.
 * Return: the @i-th workload's name, NULL past the last.
 */
GS_API const char *gs_workload_nth(unsigned int i);

/**
 * struct gs_compare_sample - the metrics after one operation
 * @op: the operation's index in the run (0-based)
 * @mapped: guest bytes mapped by stage-2 leaves of each level
 * @vmemmap: vmemmap bytes resident
 */
struct gs_compare_sample {
	unsigned long op;
	uint64_t mapped[GS_METRICS_LEVELS];
	uint64_t vmemmap;
};

/* Samples kept per run: past it every other one is dropped (the run is halved). */
#define GS_COMPARE_MAX_SAMPLES 512

/**
 * struct gs_compare_run - one strategy's run
 * @strategy: its name
 * @status: 0 ran; -E2BIG skipped (over the host budget); -EINVAL no such
 *          strategy or workload, or a bad size; -EIO the run failed (@exit
 *          says how); -ENOMEM
 * @exit: the scenario engine's enum gs_exit
 * @why: a one-line reason when @status is not 0
 * @final: the metrics at the workload's last line (holes and waiting counted)
 * @ops: operations run
 * @nr_samples: samples in @samples, every @stride-th operation
 * @stride: the sampling stride
 * @samples: the metrics over the run
 */
struct gs_compare_run {
	const char *strategy;
	int status;
	int exit;
	char why[160];
	struct gs_metrics final;
	unsigned long ops;
	unsigned int nr_samples;
	unsigned long stride;
	struct gs_compare_sample samples[GS_COMPARE_MAX_SAMPLES];
};

/**
 * gs_compare_run() - run a workload under one strategy and measure it
 * @p: the workload and strategy
 * @host_budget: refuse (status -E2BIG) a run estimated to need more host memory
 * @run: filled
 *
 * Context: process context; no scenario may be running.
 * Return: @run->status.
 */
GS_API int gs_compare_run(const struct gs_workload_params *p, uint64_t host_budget,
			  struct gs_compare_run *run);

/**
 * gs_compare_print_table() - the metrics per strategy, one column each
 * @f: where
 * @runs: the runs
 * @n: how many
 *
 * Context: any.
 */
GS_API void gs_compare_print_table(FILE *f, const struct gs_compare_run *runs, unsigned int n);

/**
 * gs_compare_write_svg() - stage-2 coverage by level and vmemmap over each run
 * @f: where; a self-contained SVG document (no external reference, no script)
 * @title: the heading
 * @runs: the runs (those not run are listed with their reason)
 * @n: how many
 *
 * Context: any.
 * Return: 0, or -EIO if writing failed.
 */
GS_API int gs_compare_write_svg(FILE *f, const char *title, const struct gs_compare_run *runs,
				unsigned int n);

#endif /* GMEMSIM_COMPARE_H */
