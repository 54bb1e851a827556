/* SPDX-License-Identifier: MIT */
/*
 * Renders of the simulated machine for people: text views for `gmemsim run
 * --show` and the self-contained HTML stepper of `gmemsim render`. Both read
 * the structured state registry (<gmemsim/state.h>, with detail: the
 * XArray's and the maple tree's nodes, vmemmap per folio), never the text
 * dumps, and reduce a snapshot to a bounded model first: long uniform runs
 * of folios are one run, node lists are cut, so a hostile file size never
 * makes a render large. docs/RENDERING.md.
 */
#ifndef GMEMSIM_TOOLS_RENDER_H
#define GMEMSIM_TOOLS_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>
#include <gmemsim/metrics.h>
#include <gmemsim/scenario.h>
#include <gmemsim/state.h>

/* Bounds of one step's model: beyond them the rest is counted, not kept. */
#define RD_MAX_RUNS	 1024	/* folio runs per file */
#define RD_MAX_NODES	 64	/* XArray or maple nodes per file */
#define RD_MAX_S2RUNS	 256	/* stage-2 leaf runs per VM */
#define RD_EXPAND_FOLIOS 2048	/* a file with at most this many folios: a rect per folio */
#define RD_EXPAND_BUDGET 262144 /* rects per folio over a whole page; then runs only */
#define RD_MAX_STEPS	 4096	/* steps a page keeps; the rest is counted */

/* Views of `--show`, a bit each. */
enum rd_view {
	RD_FILE = 1 << 0,
	RD_XARRAY = 1 << 1,
	RD_MAPLE = 1 << 2,
	RD_POOL = 1 << 3,
	RD_HVO = 1 << 4,
	RD_STAGE2 = 1 << 5,
	RD_ALL = (1 << 6) - 1,
};

/*
 * A run of folios of one order, attribute and marks, or of indices with no
 * folio (@order -1). @attr: 'p' private, 's' shared, 'm' mixed, '?' unknown.
 */
struct rd_run {
	unsigned long start, nr; /* first index, folios (pages for a hole) */
	int order;
	char attr;
	bool mapped, hvo, changed;
	unsigned long vmemmap; /* struct page bytes resident per folio */
};

struct rd_xanode {
	int id, parent;
	unsigned long first, last;
	unsigned int shift, offset, count, values;
	char slots[65];
};

struct rd_mtnode {
	int id, parent;
	unsigned long min, max;
	unsigned int depth, slots;
	bool leaf;
	char *ranges;
};

struct rd_range {
	unsigned long first, last;
	char attr;
};

struct rd_file {
	char *name, *html; /* the object's name, and escaped for HTML */
	unsigned long npages, nr_folios, nr_huge, more_runs;
	unsigned int order;
	bool open;
	GArray *runs;	/* struct rd_run */
	GArray *ranges; /* struct rd_range: the shareability ranges, cut at RD_MAX_RUNS */
	GArray *xa;	/* struct rd_xanode */
	GArray *mt;	/* struct rd_mtnode */
	unsigned long more_xa, more_mt, more_ranges;
	char *xa_head;
	unsigned int mt_height;
	long spool_used, spool_rsv;
	bool has_spool;
};

struct rd_s2run {
	unsigned long gpa, nr; /* first leaf's address, leaves */
	unsigned int level;    /* 0 4K, 1 2M, 2 1G */
	bool priv, gmem;
};

struct rd_vm {
	char *name, *html;
	unsigned long leaves[3], more;
	bool dropping; /* the leaf being read is past RD_MAX_S2RUNS */
	GArray *runs;  /* struct rd_s2run */
};

struct rd_pool {
	char *name;
	unsigned long nr, free, resv, surplus, split;
};

struct rd_subpool {
	char *hstate;
	long max, min, used, rsv;
};

/* One step: a line run and the state after it. */
struct rd_step {
	char *loc, *src, *result, *notes;
	long long ret;
	int sig;
	GPtrArray *files, *vms; /* struct rd_file *, struct rd_vm * */
	GArray *pools, *subpools;
	unsigned long hvo_freed, hvo_restored;
	struct gs_metrics m;
};

/* rd_step_new() - the model of @st after the line @op (with result @res) */
struct rd_step *rd_step_new(const struct gs_state *st, const struct gs_op *op,
			    const struct gs_result *res, const struct rd_step *prev);
void rd_step_free(struct rd_step *step);

/* rd_parse_views() - "file,pool" or "all" as enum rd_view bits; -1 for an unknown name */
int rd_parse_views(const char *list);

/* rd_show() - the chosen views of @step as text; @color: ANSI colours */
void rd_show(FILE *f, const struct rd_step *step, unsigned int views, bool color);

/* rd_html() - the whole stepper; @title: the scenario's name; @more_steps: lines not kept */
void rd_html(FILE *f, const char *title, GPtrArray *steps, unsigned long more_steps);

/* The result of @res as the scenario language writes it ("0", "ENOMEM", "SIGBUS"). */
char *rd_result_text(const struct gs_result *res);

#endif /* GMEMSIM_TOOLS_RENDER_H */
