// SPDX-License-Identifier: MIT
/*
 * `gmemsim compare`: one workload (workload.c) under each strategy, the
 * simulator's metrics (<gmemsim/metrics.h>) read after every operation, a
 * table per strategy and an SVG of stage-2 coverage by level and vmemmap
 * over the run (docs/STRATEGIES.md, "Comparing strategies"). No kernel
 * counterpart.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gmemsim/compare.h>
#include <gmemsim/scenario.h>
#include <gmemsim/strategy.h>

/* Keep one sample in @stride; when full, drop every other one and double it. */
static void add_sample(struct gs_compare_run *run, unsigned long op, const struct gs_metrics *m)
{
	struct gs_compare_sample *smp;

	if (op % run->stride)
		return;
	if (run->nr_samples == GS_COMPARE_MAX_SAMPLES) {
		for (unsigned int i = 0; i < GS_COMPARE_MAX_SAMPLES / 2; i++)
			run->samples[i] = run->samples[2 * i];
		run->nr_samples = GS_COMPARE_MAX_SAMPLES / 2;
		run->stride *= 2;
		if (op % run->stride)
			return;
	}
	smp = &run->samples[run->nr_samples++];
	smp->op = op;
	memcpy(smp->mapped, m->mapped_bytes, sizeof(smp->mapped));
	smp->vmemmap = m->vmemmap_bytes;
}

static void on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct gs_compare_run *run = arg;
	bool last = !strcmp(op->verb->name, "metrics");
	struct gs_metrics m;

	(void)res;
	/* The workload's last line is `metrics`: the final figures, holes counted. */
	gs_metrics_read(&m, last);
	if (last)
		run->final = m;
	add_sample(run, run->ops++, &m);
}

int gs_compare_run(const struct gs_workload_params *p, uint64_t host_budget,
		   struct gs_compare_run *run)
{
	struct gs_scenario_opts o = {
		.seed = p->seed,
		.quiet = true,
		.on_result = on_result,
		.on_result_arg = run,
		.on_result_status_only = true,
	};
	const char *err = NULL;
	struct gs_scenario *s;
	char *text = NULL;
	uint64_t need;

	*run = (struct gs_compare_run){.strategy = p->strategy, .stride = 1};
	run->status = gs_workload_text(p, &text, &err);
	if (run->status) {
		snprintf(run->why, sizeof(run->why), "%s", err);
		return run->status;
	}
	need = gs_workload_host_bytes(p);
	if (need > host_budget) {
		free(text);
		snprintf(run->why, sizeof(run->why),
			 "needs ~%" PRIu64 " MiB of host memory, over the budget of %" PRIu64
			 " MiB",
			 need >> 20, host_budget >> 20);
		return run->status = -E2BIG;
	}
	s = gs_scenario_new(&o);
	if (!s) {
		free(text);
		snprintf(run->why, sizeof(run->why), "out of memory");
		return run->status = -ENOMEM;
	}
	gs_metrics_reset();
	run->exit = gs_scenario_run_buffer(s, p->name, text, strlen(text));
	gs_scenario_free(s);
	free(text);
	if (run->exit != GS_EXIT_OK) {
		snprintf(run->why, sizeof(run->why), "the run failed: %s",
			 gs_scenario_exit_name(run->exit));
		run->status = -EIO;
	}
	return run->status;
}

/* The run's files without HugeTLB have the thp backing. */
static bool run_thp(const struct gs_compare_run *run)
{
	const struct gs_strategy *st = gs_strategy_find(run->strategy);

	return st && st->ops->backing == GS_STRATEGY_BACKING_THP;
}

/* --- the table --- */

typedef uint64_t (*metric_fn)(const struct gs_metrics *m);

#define METRIC(id, expr)                               \
	static uint64_t id(const struct gs_metrics *m) \
	{                                              \
		return (expr);                         \
	}

METRIC(m_vmemmap_peak, m->vmemmap_peak_bytes >> 10)
METRIC(m_vmemmap, m->vmemmap_bytes >> 10)
METRIC(m_hvo_saved, m->hvo_saved_bytes >> 10)
METRIC(m_2m_intact, m->huge[GS_METRICS_2M].intact)
METRIC(m_2m_split, m->huge[GS_METRICS_2M].split)
METRIC(m_2m_waiting, m->huge[GS_METRICS_2M].waiting)
METRIC(m_2m_free, m->huge[GS_METRICS_2M].free)
METRIC(m_1g_intact, m->huge[GS_METRICS_1G].intact)
METRIC(m_1g_split, m->huge[GS_METRICS_1G].split)
METRIC(m_1g_waiting, m->huge[GS_METRICS_1G].waiting)
METRIC(m_1g_free, m->huge[GS_METRICS_1G].free)
METRIC(m_holes, m->holes)
METRIC(m_frag, m->frag_ppm)
METRIC(m_splits_2m, m->splits[9])
METRIC(m_splits_1g, m->splits[18])
METRIC(m_merges_2m, m->merges[9])
METRIC(m_merges_1g, m->merges[18])
METRIC(m_map_4k, m->mapped_bytes[GS_METRICS_4K] >> 20)
METRIC(m_map_2m, m->mapped_bytes[GS_METRICS_LEVEL_2M] >> 20)
METRIC(m_map_1g, m->mapped_bytes[GS_METRICS_LEVEL_1G] >> 20)
METRIC(m_leaves_4k, m->leaves[GS_METRICS_4K])
METRIC(m_leaves_2m, m->leaves[GS_METRICS_LEVEL_2M])
METRIC(m_leaves_1g, m->leaves[GS_METRICS_LEVEL_1G])
METRIC(m_conv, m->conv_calls)
METRIC(m_enomem, m->conv_failures[GS_METRICS_ENOMEM])
METRIC(m_eagain, m->conv_failures[GS_METRICS_EAGAIN])
METRIC(m_einval, m->conv_failures[GS_METRICS_EINVAL])
METRIC(m_eopnotsupp, m->conv_failures[GS_METRICS_EOPNOTSUPP])
METRIC(m_eother, m->conv_failures[GS_METRICS_EOTHER])
METRIC(m_allocs, m->conv_allocs)
METRIC(m_thp, m->thp_intact)
METRIC(m_thp_holes, m->thp_holes)

static const struct {
	const char *name;
	metric_fn fn;
} rows[] = {
	{"vmemmap peak KiB", m_vmemmap_peak},
	{"vmemmap final KiB", m_vmemmap},
	{"HVO saved KiB", m_hvo_saved},
	{"2M pages intact", m_2m_intact},
	{"2M pages split", m_2m_split},
	{"2M waiting for merge", m_2m_waiting},
	{"2M free in pool", m_2m_free},
	{"1G pages intact", m_1g_intact},
	{"1G pages split", m_1g_split},
	{"1G waiting for merge", m_1g_waiting},
	{"1G free in pool", m_1g_free},
	{"4K holes", m_holes},
	{"fragmentation ppm", m_frag},
	{"splits from 2M", m_splits_2m},
	{"splits from 1G", m_splits_1g},
	{"merges to 2M", m_merges_2m},
	{"merges to 1G", m_merges_1g},
	{"mapped 4K MiB", m_map_4k},
	{"mapped 2M MiB", m_map_2m},
	{"mapped 1G MiB", m_map_1g},
	{"stage-2 leaves 4K", m_leaves_4k},
	{"stage-2 leaves 2M", m_leaves_2m},
	{"stage-2 leaves 1G", m_leaves_1g},
	{"conversions", m_conv},
	{"failed ENOMEM", m_enomem},
	{"failed EAGAIN", m_eagain},
	{"failed EINVAL", m_einval},
	{"failed EOPNOTSUPP", m_eopnotsupp},
	{"failed other", m_eother},
	{"allocs under conv lock", m_allocs},
	{"THPs intact", m_thp},
	{"4K free in used 2M", m_thp_holes},
};

void gs_compare_print_table(FILE *f, const struct gs_compare_run *runs, unsigned int n)
{
	fprintf(f, "%-24s", "metric");
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, " %14s", runs[i].strategy);
	fprintf(f, "\n");
	fprintf(f, "%-24s", "backing");
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, " %14s",
			runs[i].status ? "-"
			: runs[i].final.huge[GS_METRICS_2M].total ||
					runs[i].final.huge[GS_METRICS_1G].total
				? "hugetlb"
			: run_thp(&runs[i]) ? "THP"
					    : "4K pages");
	fprintf(f, "\n");
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		fprintf(f, "%-24s", rows[r].name);
		for (unsigned int i = 0; i < n; i++) {
			if (runs[i].status)
				fprintf(f, " %14s", "-");
			else
				fprintf(f, " %14" PRIu64, rows[r].fn(&runs[i].final));
		}
		fprintf(f, "\n");
	}
	for (unsigned int i = 0; i < n; i++)
		if (runs[i].status)
			fprintf(f, "%s: not run: %s\n", runs[i].strategy, runs[i].why);
}

/* --- the plot --- */

#define SVG_W	920
#define PANEL_W 400
#define PANEL_H 140
#define ROW_H	190

static const char *const level_color[GS_METRICS_LEVELS] = {"#d62728", "#1f77b4", "#2ca02c"};
static const char *const level_name[GS_METRICS_LEVELS] = {"4K", "2M", "1G"};

static void polyline(FILE *f, const struct gs_compare_run *run, int x0, int y0, uint64_t ymax,
		     int level, const char *color)
{
	unsigned long last = run->nr_samples ? run->samples[run->nr_samples - 1].op : 0;

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
	for (unsigned int i = 0; i < run->nr_samples; i++) {
		const struct gs_compare_sample *s = &run->samples[i];
		uint64_t v = level < 0 ? s->vmemmap : s->mapped[level];
		unsigned long x = last ? s->op * PANEL_W / last : 0;
		uint64_t y = ymax ? v * PANEL_H / ymax : 0;

		fprintf(f, "%s%lu,%" PRIu64, i ? " " : "", x0 + x, (uint64_t)y0 + PANEL_H - y);
	}
	fprintf(f, "\"/>\n");
}

static void panel_frame(FILE *f, int x0, int y0, const char *label)
{
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
		"stroke=\"#888\"/>\n",
		x0, y0, PANEL_W, PANEL_H);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", x0, y0 - 4, label);
}

static void svg_run(FILE *f, const struct gs_compare_run *run, int y0)
{
	uint64_t guest = 0, vmax = 1;

	fprintf(f, "<text x=\"10\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
		y0 + 14, run->strategy);
	if (run->status) {
		fprintf(f, "<text x=\"10\" y=\"%d\" font-size=\"11\">not run: %s</text>\n", y0 + 34,
			run->why);
		return;
	}
	for (unsigned int i = 0; i < run->nr_samples; i++) {
		uint64_t g = 0;

		for (int l = 0; l < GS_METRICS_LEVELS; l++)
			g += run->samples[i].mapped[l];
		guest = g > guest ? g : guest;
		vmax = run->samples[i].vmemmap > vmax ? run->samples[i].vmemmap : vmax;
	}
	panel_frame(f, 40, y0 + 36, "stage-2 coverage (share of the guest mapped, by leaf size)");
	for (int l = 0; l < GS_METRICS_LEVELS; l++)
		polyline(f, run, 40, y0 + 36, guest, l, level_color[l]);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%" PRIu64 " MiB</text>\n", 4, y0 + 44,
		guest >> 20);
	panel_frame(f, 490, y0 + 36, "vmemmap resident (KiB) over the operations");
	polyline(f, run, 490, y0 + 36, vmax, -1, "#9467bd");
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%" PRIu64 "</text>\n", 894, y0 + 44,
		vmax >> 10);
}

int gs_compare_write_svg(FILE *f, const char *title, const struct gs_compare_run *runs,
			 unsigned int n)
{
	int h = 60 + (int)n * ROW_H;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
		SVG_W, h, SVG_W, h);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\">%s</text>\n", title);
	for (int l = 0; l < GS_METRICS_LEVELS; l++)
		fprintf(f,
			"<text x=\"%d\" y=\"40\" font-size=\"11\" fill=\"%s\">mapped %s</text>\n",
			10 + 90 * l, level_color[l], level_name[l]);
	fprintf(f, "<text x=\"280\" y=\"40\" font-size=\"11\" fill=\"#9467bd\">vmemmap</text>\n");
	for (unsigned int i = 0; i < n; i++)
		svg_run(f, &runs[i], 50 + (int)i * ROW_H);
	fprintf(f, "</svg>\n");
	return fflush(f) || ferror(f) ? -EIO : 0;
}
