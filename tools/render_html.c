// SPDX-License-Identifier: MIT
/*
 * `gmemsim render`: the steps of a scenario as one self-contained HTML file
 * (inline CSS, SVG and script; a Content-Security-Policy forbids every
 * network fetch). Per step: the line and its result, the file's folios over
 * its indices (fill: attribute, outline: order, a highlight on pieces that
 * were not there the step before), the XArray's nodes, the maple tree's
 * nodes and ranges, the HugeTLB pools, the stage-2 leaves; a timeline of
 * metrics over all steps. Elements carry classes and data- attributes a
 * test counts (docs/RENDERING.md lists them). The same steps give the same
 * bytes: nothing here reads a clock or an address.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"

#define W	 960.0 /* drawing width */
#define X0	 10.0  /* left margin */
#define ROWH	 26    /* height of one strip row */
#define ROWGAP	 8     /* between rows */
#define MAX_ROWS 16

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static const char *attr_word(char attr)
{
	return attr == 'p' ? "private" : attr == 's' ? "shared" : attr == 'm' ? "mixed" : "unknown";
}

/* ---- the file's folios ------------------------------------------------------------------ */

/* Indices per strip row: 512 (one 2 MiB page) or more so the file fits MAX_ROWS rows. */
static unsigned long row_pages(unsigned long npages)
{
	unsigned long per = 512;

	while (per * MAX_ROWS < npages)
		per <<= 1;
	return per;
}

/* The outline by order: none for a hole, thin for order 0, thicker up to a huge page. */
static const char *order_class(int order)
{
	if (order <= 0)
		return "";
	return order >= 9 ? " huge" : " mid";
}

static void folio_rect(FILE *f, const struct rd_run *r, unsigned long from, unsigned long to,
		       unsigned long per, bool first)
{
	double x = X0 + (double)(from % per) * W / (double)per;
	double w = (double)(to - from) * W / (double)per;
	unsigned long row = from / per;

	fprintf(f, "<rect class=\"%s%s%s\" x=\"%.2f\" y=\"%lu\" width=\"%.2f\" height=\"%d\"",
		r->order < 0 ? "hole"
		: first	     ? "folio"
			     : "folio-cont",
		r->changed ? " changed" : "", order_class(r->order), x, row * (ROWH + ROWGAP), w,
		ROWH);
	if (first && r->order >= 0)
		fprintf(f,
			" data-order=\"%d\" data-attr=\"%s\" data-start=\"%lu\" data-count=\"%lu\""
			" data-mapped=\"%d\" data-hvo=\"%d\" data-vmemmap=\"%lu\"",
			r->order, attr_word(r->attr), r->start, r->nr, r->mapped, r->hvo,
			r->vmemmap);
	else if (first)
		fprintf(f, " data-start=\"%lu\" data-pages=\"%lu\"", r->start, r->nr);
	else if (r->order >= 0)
		fprintf(f, " data-attr=\"%s\"", attr_word(r->attr));
	fputs("/>", f);
	/* A thin mark under a new piece: an outline would hide a 2-pixel folio. */
	if (r->changed)
		fprintf(f,
			"<rect class=\"changed-mark\" x=\"%.2f\" y=\"%lu\" width=\"%.2f\" "
			"height=\"4\"/>",
			x, row * (ROWH + ROWGAP) + ROWH + 2, w);
}

/* A run that crosses rows is drawn a piece per row; the first piece carries the counts. */
static void run_rects(FILE *f, const struct rd_run *r, unsigned long per)
{
	unsigned long pages = r->order < 0 ? r->nr : r->nr << r->order;
	unsigned long from = r->start, end = r->start + pages;

	for (bool first = true; from < end; first = false) {
		unsigned long to = MIN(end, (from / per + 1) * per);

		folio_rect(f, r, from, to, per, first);
		from = to;
	}
}

/*
 * Rects a folio each, left for the rest of the page: many lines over a file of
 * many small folios switch to runs instead of growing the page without bound.
 */
static unsigned long expand_budget;

static void folio_svg(FILE *f, const struct rd_file *file)
{
	bool expand = file->nr_folios <= RD_EXPAND_FOLIOS && file->nr_folios <= expand_budget;

	unsigned long per = row_pages(file->npages);
	unsigned long rows = file->npages ? (file->npages + per - 1) / per : 1;

	fprintf(f,
		"<svg class=\"folios\" data-file=\"%s\" data-pages=\"%lu\" data-folios=\"%lu\" "
		"data-order=\"%u\" data-row-pages=\"%lu\" width=\"%.0f\" height=\"%lu\" "
		"viewBox=\"0 0 %.0f %lu\" role=\"img\">",
		file->html, file->npages, file->nr_folios, file->order, per, W + 2 * X0,
		rows * (ROWH + ROWGAP), W + 2 * X0, rows * (ROWH + ROWGAP));
	for (guint i = 0; i < file->runs->len; i++) {
		const struct rd_run *r = &g_array_index(file->runs, struct rd_run, i);

		/* Few folios: a rect each, so a split shows its pieces; many: a rect a run. */
		if (r->order >= 0 && expand) {
			for (unsigned long j = 0; j < r->nr; j++) {
				struct rd_run one = *r;

				one.start = r->start + (j << r->order);
				one.nr = 1;
				run_rects(f, &one, per);
			}
			continue;
		}
		run_rects(f, r, per);
	}
	fputs("</svg>\n", f);
	if (expand)
		expand_budget -= file->nr_folios;
	if (file->more_runs)
		fprintf(f, "<p class=\"more\">%lu more runs not drawn (the render keeps %u)</p>\n",
			file->more_runs, RD_MAX_RUNS);
}

/* ---- the XArray ----------------------------------------------------------------------- */

#define XA_SLOTW 4
#define XA_BOXW	 (64 * XA_SLOTW + 8)
#define XA_BOXH	 34

static unsigned int xa_depth(const struct rd_file *file, const struct rd_xanode *n)
{
	unsigned int d = 0;

	while (n->parent >= 0 && (guint)n->parent < file->xa->len && d < 64) {
		n = &g_array_index(file->xa, struct rd_xanode, n->parent);
		d++;
	}
	return d;
}

static void xa_svg(FILE *f, const struct rd_file *file)
{
	unsigned int per_row = (unsigned int)(W / (XA_BOXW + 12)), nodes = file->xa->len;
	unsigned int col[64] = {0}, row_of[64] = {0}, rows = 0;
	double px[RD_MAX_NODES], py[RD_MAX_NODES];
	unsigned int depth_row[65];

	/* Rows: each depth starts a row; a depth with many nodes takes several. */
	memset(depth_row, 0xff, sizeof(depth_row));
	for (unsigned int i = 0; i < nodes; i++) {
		unsigned int d = xa_depth(file, &g_array_index(file->xa, struct rd_xanode, i));

		if (depth_row[d] == 0xffffffffu || col[depth_row[d]] == per_row) {
			depth_row[d] = rows++;
			col[depth_row[d]] = 0;
		}
		row_of[i] = depth_row[d];
		px[i] = X0 + col[depth_row[d]]++ * (XA_BOXW + 12);
		py[i] = row_of[i] * (XA_BOXH + 24.0) + 4;
		if (rows == 63)
			break;
	}
	fprintf(f,
		"<svg class=\"xarray\" data-file=\"%s\" data-nodes=\"%u\" data-head=\"%s\" "
		"width=\"%.0f\" height=\"%u\" role=\"img\">",
		file->html, nodes, file->xa_head, W + 2 * X0, rows * (XA_BOXH + 24) + 8);
	for (unsigned int i = 0; i < nodes && row_of[i] < 63; i++) {
		const struct rd_xanode *n = &g_array_index(file->xa, struct rd_xanode, i);
		unsigned int slot;

		if (n->parent >= 0 && (guint)n->parent < nodes) {
			const struct rd_xanode *p =
				&g_array_index(file->xa, struct rd_xanode, n->parent);

			slot = (unsigned int)((n->first - p->first) >> p->shift) & 63;
			fprintf(f,
				"<line class=\"xa-edge\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
				"y2=\"%.1f\"/>",
				px[n->parent] + 4 + slot * XA_SLOTW + 2, py[n->parent] + XA_BOXH,
				px[i] + XA_BOXW / 2.0, py[i]);
		}
		fprintf(f,
			"<g class=\"xa-node\" data-id=\"%d\" data-shift=\"%u\" data-count=\"%u\" "
			"data-first=\"%lu\" data-last=\"%lu\" transform=\"translate(%.1f,%.1f)\">"
			"<rect class=\"xa-box\" width=\"%d\" height=\"%d\"/>"
			"<text x=\"4\" y=\"11\">#%d %lu-%lu shift %u count %u</text>",
			n->id, n->shift, n->count, n->first, n->last, px[i], py[i], XA_BOXW,
			XA_BOXH, n->id, n->first, n->last, n->shift, n->count);
		for (slot = 0; n->slots[slot]; slot++)
			if (n->slots[slot] != '.')
				fprintf(f,
					"<rect class=\"xa-slot k-%c\" x=\"%d\" y=\"16\" "
					"width=\"%d\" "
					"height=\"14\"/>",
					n->slots[slot], 4 + slot * XA_SLOTW, XA_SLOTW - 1);
		fputs("</g>", f);
	}
	fputs("</svg>\n", f);
	if (file->more_xa)
		fprintf(f, "<p class=\"more\">%lu more XArray nodes not drawn</p>\n",
			file->more_xa);
}

/* ---- the maple tree --------------------------------------------------------------------- */

static double axis(unsigned long idx, unsigned long npages)
{
	if (idx > npages)
		idx = npages;
	return X0 + (npages ? (double)idx * W / (double)npages : 0);
}

static void mt_svg(FILE *f, const struct rd_file *file)
{
	unsigned int maxd = 0;

	for (guint i = 0; i < file->mt->len; i++)
		maxd = MAX(maxd, g_array_index(file->mt, struct rd_mtnode, i).depth);
	fprintf(f,
		"<svg class=\"maple\" data-file=\"%s\" data-nodes=\"%u\" data-height=\"%u\" "
		"width=\"%.0f\" height=\"%u\" role=\"img\">",
		file->html, file->mt->len, file->mt_height, W + 2 * X0, (maxd + 1) * 44 + 8);
	for (guint i = 0; i < file->mt->len; i++) {
		const struct rd_mtnode *n = &g_array_index(file->mt, struct rd_mtnode, i);
		double y = n->depth * 44 + 4;
		gchar **ranges;

		if (n->min >= file->npages && file->npages)
			continue;
		fprintf(f,
			"<rect class=\"mt-node\" data-id=\"%d\" data-depth=\"%u\" data-leaf=\"%d\" "
			"data-slots=\"%u\" x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"16\"/>"
			"<text x=\"%.2f\" y=\"%.0f\">#%d %s, %u slots</text>",
			n->id, n->depth, n->leaf, n->slots, axis(n->min, file->npages), y,
			axis(n->max == ULONG_MAX ? file->npages : n->max + 1, file->npages) -
				axis(n->min, file->npages),
			axis(n->min, file->npages) + 3, y + 12, n->id, n->leaf ? "leaf" : "range",
			n->slots);
		if (!n->leaf || !n->ranges)
			continue;
		ranges = g_strsplit(n->ranges, ",", -1);
		for (unsigned int r = 0; ranges[r]; r++) {
			unsigned long first = strtoul(ranges[r], NULL, 0), last;
			char *dash = strchr(ranges[r], '-'), *eq = strchr(ranges[r], '=');
			const char *attr;

			if (!dash || !eq || first >= file->npages)
				continue;
			last = strtoul(dash + 1, NULL, 0);
			attr = !strcmp(eq + 1, "1")   ? "private"
			       : !strcmp(eq + 1, "2") ? "shared"
						      : "none";
			fprintf(f,
				"<rect class=\"mt-range\" data-attr=\"%s\" data-first=\"%lu\" "
				"data-last=\"%lu\" x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" "
				"height=\"14\"/>",
				attr, first, last, axis(first, file->npages), y + 20,
				axis(last == ULONG_MAX ? file->npages : last + 1, file->npages) -
					axis(first, file->npages));
		}
		g_strfreev(ranges);
	}
	fputs("</svg>\n", f);
	if (file->more_mt)
		fprintf(f, "<p class=\"more\">%lu more maple nodes not drawn</p>\n", file->more_mt);
}

/* ---- pools, HVO, stage 2 ---------------------------------------------------------------- */

static void pools_html(FILE *f, const struct rd_step *s)
{
	fputs("<table class=\"pools\"><tr><th>pool</th><th>in use</th><th>nr</th><th>free</th>"
	      "<th>resv</th><th>surplus</th><th>split</th></tr>",
	      f);
	for (guint i = 0; i < s->pools->len; i++) {
		const struct rd_pool *p = &g_array_index(s->pools, struct rd_pool, i);
		unsigned long pct = p->nr ? (p->nr - p->free) * 100 / p->nr : 0;

		fprintf(f,
			"<tr class=\"pool\" data-name=\"%s\" data-nr=\"%lu\" data-free=\"%lu\" "
			"data-resv=\"%lu\" data-split=\"%lu\"><td>%s</td><td><div class=\"bar\">"
			"<div style=\"width:%lu%%\"></div></div></td><td>%lu</td><td>%lu</td>"
			"<td>%lu</td><td>%lu</td><td>%lu</td></tr>",
			p->name, p->nr, p->free, p->resv, p->split, p->name, pct, p->nr, p->free,
			p->resv, p->surplus, p->split);
	}
	for (guint i = 0; i < s->subpools->len; i++) {
		const struct rd_subpool *sp = &g_array_index(s->subpools, struct rd_subpool, i);

		fprintf(f,
			"<tr class=\"subpool\" data-used=\"%ld\" data-rsv=\"%ld\"><td>subpool %u "
			"(%s)</td><td colspan=\"6\">used %ld, reserved %ld, max %ld, min "
			"%ld</td></tr>",
			sp->used, sp->rsv, i, sp->hstate, sp->used, sp->rsv, sp->max, sp->min);
	}
	fprintf(f,
		"</table>\n<p class=\"hvo\" data-freed=\"%lu\" data-restored=\"%lu\" "
		"data-vmemmap=\"%" PRIu64 "\">HVO: %lu vmemmap pages freed, %lu restored; struct "
		"pages resident %" PRIu64 " bytes, %" PRIu64 " bytes saved</p>\n",
		s->hvo_freed, s->hvo_restored, s->m.vmemmap_bytes, s->hvo_freed, s->hvo_restored,
		s->m.vmemmap_bytes, s->m.hvo_saved_bytes);
}

static const unsigned long level_bytes[3] = {1UL << 12, 1UL << 21, 1UL << 30};
static const char *const level_names[3] = {"4K", "2M", "1G"};

static void stage2_svg(FILE *f, const struct rd_vm *vm)
{
	unsigned long lo = ULONG_MAX, hi = 0;

	for (guint r = 0; r < vm->runs->len; r++) {
		const struct rd_s2run *run = &g_array_index(vm->runs, struct rd_s2run, r);

		lo = MIN(lo, run->gpa);
		hi = MAX(hi, run->gpa + run->nr * level_bytes[run->level]);
	}
	/* The axis in 4 KiB frames from the first leaf, whole 2 MiB pages. */
	lo &= ~((1UL << 21) - 1);
	hi = (hi + (1UL << 21) - 1) & ~((1UL << 21) - 1);
	fprintf(f,
		"<svg class=\"stage2\" data-vm=\"%s\" data-leaves-4k=\"%lu\" "
		"data-leaves-2m=\"%lu\" "
		"data-leaves-1g=\"%lu\" width=\"%.0f\" height=\"48\" role=\"img\">",
		vm->html, vm->leaves[0], vm->leaves[1], vm->leaves[2], W + 2 * X0);
	if (!vm->runs->len)
		fprintf(f, "<text x=\"%.0f\" y=\"24\">no leaves</text>", X0);
	if (hi > lo)
		fprintf(f,
			"<text x=\"%.0f\" y=\"10\">gpa 0x%lx</text><text x=\"%.0f\" y=\"10\" "
			"text-anchor=\"end\">0x%lx</text>",
			X0, lo, W + X0, hi);
	for (guint r = 0; r < vm->runs->len && hi > lo; r++) {
		const struct rd_s2run *run = &g_array_index(vm->runs, struct rd_s2run, r);
		unsigned long pages = (hi - lo) >> 12;
		unsigned long from = (run->gpa - lo) >> 12;
		unsigned long len = (run->nr * level_bytes[run->level]) >> 12;
		int h = 10 + 10 * (int)run->level;

		fprintf(f,
			"<rect class=\"s2-leaf %s\" data-level=\"%s\" data-private=\"%d\" "
			"data-gpa=\"0x%lx\" data-count=\"%lu\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
			"height=\"%d\"/>",
			run->priv ? "private" : "shared", level_names[run->level], run->priv,
			run->gpa, run->nr, axis(from, pages), 44 - h,
			axis(from + len, pages) - axis(from, pages), h);
	}
	fputs("</svg>\n", f);
}

/* The text views of `run --show=all` for the step, folded: the kernel's formats beside the drawings. */
static void text_views(FILE *f, const struct rd_step *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return;
	rd_show(mem, s, RD_ALL, false);
	if (fclose(mem)) {
		free(buf);
		return;
	}
	fputs("<details class=\"text\"><summary>as text (gmemsim run --show=all)</summary><pre>",
	      f);
	esc(f, buf);
	fputs("</pre></details>\n", f);
	free(buf);
}

/* ---- the page -------------------------------------------------------------------------- */

static void step_html(FILE *f, const struct rd_step *s, unsigned int k)
{
	fprintf(f,
		"<section class=\"step\" id=\"step-%u\" data-step=\"%u\" data-ret=\"%lld\" "
		"data-loc=\"",
		k, k, s->ret);
	esc(f, s->loc);
	fprintf(f, "\"%s>\n", k ? " hidden" : "");
	if (s->notes) {
		fputs("<div class=\"notes\">", f);
		esc(f, s->notes);
		fputs("</div>\n", f);
	}
	fputs("<pre class=\"verb\">", f);
	esc(f, s->src);
	fprintf(f, "</pre><div class=\"result %s\">&rarr; ", s->ret < 0 || s->sig ? "err" : "ok");
	esc(f, s->result);
	fputs(" <span class=\"loc\">", f);
	esc(f, s->loc);
	fputs("</span></div>\n", f);
	for (guint i = 0; i < s->files->len; i++) {
		const struct rd_file *file = g_ptr_array_index(s->files, i);

		fprintf(f,
			"<h2>guest_memfd %s <small>%lu KiB, page order %u, %lu folios, %lu whole "
			"huge%s</small></h2>\n",
			file->html, file->npages * 4, file->order, file->nr_folios, file->nr_huge,
			file->open ? "" : ", closed");
		folio_svg(f, file);
		fputs("<h3>page cache XArray (filemap)</h3>\n", f);
		xa_svg(f, file);
		fputs("<h3>shareability maple tree</h3>\n", f);
		mt_svg(f, file);
	}
	fputs("<h2>HugeTLB pools</h2>\n", f);
	pools_html(f, s);
	for (guint i = 0; i < s->vms->len; i++) {
		const struct rd_vm *vm = g_ptr_array_index(s->vms, i);

		fprintf(f, "<h2>stage-2 of %s <small>4K=%lu 2M=%lu 1G=%lu</small></h2>\n", vm->html,
			vm->leaves[0], vm->leaves[1], vm->leaves[2]);
		stage2_svg(f, vm);
	}
	text_views(f, s);
	fputs("</section>\n", f);
}

/* The metrics a teacher points at, one polyline each, each scaled to its own maximum. */
static double metric(const struct rd_step *s, unsigned int which)
{
	unsigned long sum = 0;

	switch (which) {
	case 0:
		return (double)s->m.vmemmap_bytes;
	case 1:
		return (double)s->m.leaves[GS_METRICS_4K];
	case 2:
		return (double)s->m.leaves[GS_METRICS_LEVEL_2M];
	case 3:
		for (unsigned int o = 0; o < GS_METRICS_ORDERS; o++)
			sum += s->m.splits[o];
		return (double)sum;
	default:
		for (unsigned int o = 0; o < GS_METRICS_ORDERS; o++)
			sum += s->m.merges[o];
		return (double)sum;
	}
}

static void timeline(FILE *f, GPtrArray *steps)
{
	static const char *const names[] = {"vmemmap bytes", "4K leaves", "2M leaves", "splits",
					    "merges"};
	unsigned int n = steps->len;
	double dx = n > 1 ? W / (n - 1) : 0;

	fprintf(f,
		"<svg id=\"timeline\" data-steps=\"%u\" width=\"%.0f\" height=\"110\" "
		"role=\"img\">",
		n, W + 2 * X0);
	for (unsigned int m = 0; m < G_N_ELEMENTS(names); m++) {
		double max = 0;

		for (unsigned int k = 0; k < n; k++)
			max = MAX(max, metric(g_ptr_array_index(steps, k), m));
		fprintf(f, "<polyline class=\"tl-line m%u\" data-metric=\"%s\" points=\"", m,
			names[m]);
		for (unsigned int k = 0; k < n; k++) {
			double v = metric(g_ptr_array_index(steps, k), m);

			fprintf(f, "%s%.1f,%.1f", k ? " " : "", X0 + k * dx,
				84 - (max > 0 ? v / max * 76 : 0));
		}
		fprintf(f,
			"\"/><text class=\"tl-name m%u\" x=\"%.0f\" y=\"104\">%s (max %.0f)</text>",
			m, X0 + m * 190, names[m], max);
	}
	for (unsigned int k = 0; k < n; k++)
		fprintf(f,
			"<rect class=\"tl-point\" data-step=\"%u\" x=\"%.1f\" y=\"4\" "
			"width=\"%.1f\" "
			"height=\"84\"/>",
			k, X0 + k * dx - MAX(dx, 4) / 2, MAX(dx, 4));
	fprintf(f, "<line id=\"tl-cursor\" x1=\"%.1f\" x2=\"%.1f\" y1=\"2\" y2=\"88\"/></svg>\n",
		X0, X0);
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:0 16px;color:#222;background:#fff}"
	"header{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ccc;"
	"z-index:1}h1{font-size:18px;margin:4px 0}h2{font-size:15px;margin:14px 0 4px}"
	"h3{font-size:13px;margin:10px 0 2px;color:#555}small{color:#666;font-weight:normal}"
	"button{font:inherit;padding:2px 10px;margin-right:4px}#pos{margin:0 8px}"
	"pre.verb{font:15px monospace;background:#f4f4f4;padding:6px;margin:8px 0 2px}"
	".result{font-family:monospace}.result.err{color:#b00}.loc{color:#888;margin-left:1em}"
	".notes{background:#fffbe6;border-left:4px solid #e6c200;padding:4px 8px;margin-top:8px;"
	"white-space:pre-wrap}"
	".legend span{display:inline-block;margin-right:12px}.sw{width:12px;height:12px;"
	"display:inline-block;vertical-align:middle;margin-right:4px;border:1px solid #333}"
	"svg{display:block;margin:2px 0}text{font:10px monospace;fill:#222}"
	".folio,.folio-cont{stroke:#222;stroke-width:0.3}.mid{stroke-width:1}.huge{stroke-width:2}"
	"[data-attr=private]{fill:#8e6bbf}[data-attr=shared]{fill:#4caf50}"
	"[data-attr=mixed]{fill:#f39c12}[data-attr=unknown]{fill:#999}"
	".hole{fill:#f2f2f2;stroke:#bbb;stroke-dasharray:2 2}"
	".changed{animation:pulse 1s 2}.changed-mark{fill:#e8b400}"
	"@keyframes pulse{50%{opacity:.35}}.still .changed{animation:none}"
	"@media (prefers-reduced-motion:reduce){.changed{animation:none}}"
	".xa-box{fill:#fafafa;stroke:#555}.xa-edge{stroke:#888}.xa-slot.k-p{fill:#8e6bbf}"
	".xa-slot.k-s{fill:#c9b6e4}.xa-slot.k-n{fill:#2c7be5}.xa-slot.k-v{fill:#4caf50}"
	".xa-slot.k-r{fill:#f39c12}.mt-node{fill:#eef3fb;stroke:#2c7be5}"
	".mt-range[data-attr=none]{fill:#ddd}.mt-range{stroke:#fff;stroke-width:0.5}"
	"table.pools{border-collapse:collapse}table.pools td,table.pools th{padding:2px 8px;"
	"border-bottom:1px solid #eee;text-align:left}.bar{width:120px;height:10px;"
	"background:#eee}.bar div{height:10px;background:#8e6bbf}"
	".s2-leaf{stroke:#222;stroke-width:0.3}.s2-leaf.private{fill:#8e6bbf}"
	".s2-leaf.shared{fill:#4caf50}"
	".m0{stroke:#8e6bbf;fill:#8e6bbf}.m1{stroke:#4caf50;fill:#4caf50}"
	".m2{stroke:#2c7be5;fill:#2c7be5}.m3{stroke:#e67e22;fill:#e67e22}"
	".m4{stroke:#c0392b;fill:#c0392b}polyline.tl-line{fill:none;stroke-width:1.5}"
	"text.tl-name{stroke:none}.tl-point{fill:transparent;cursor:pointer}"
	".tl-point:hover{fill:rgba(0,0,0,.05)}#tl-cursor{stroke:#000;stroke-dasharray:3 2}"
	".more{color:#a00}details.text pre{font:12px monospace;background:#f8f8f8;padding:6px;"
	"overflow-x:auto}";

static const char js[] =
	"(function(){'use strict';"
	"var steps=document.querySelectorAll('section.step'),cur=0,n=steps.length;"
	"var "
	"pts=document.querySelectorAll('.tl-point'),cursor=document.getElementById('tl-cursor');"
	"function show(k){k=Math.max(0,Math.min(n-1,k));steps[cur].hidden=true;cur=k;"
	"steps[cur].hidden=false;document.getElementById('pos').textContent=(k+1)+' / '+n;"
	"document.body.setAttribute('data-current',String(k));"
	"if(cursor&&pts[k]){var x=parseFloat(pts[k].getAttribute('x'))+"
	"parseFloat(pts[k].getAttribute('width'))/2;cursor.setAttribute('x1',x);"
	"cursor.setAttribute('x2',x);}}"
	"document.addEventListener('keydown',function(e){"
	"if(e.key==='ArrowRight'){show(cur+1);e.preventDefault();}"
	"else if(e.key==='ArrowLeft'){show(cur-1);e.preventDefault();}"
	"else if(e.key==='Home'){show(0);}else if(e.key==='End'){show(n-1);}});"
	"document.getElementById('first').onclick=function(){show(0);};"
	"document.getElementById('prev').onclick=function(){show(cur-1);};"
	"document.getElementById('next').onclick=function(){show(cur+1);};"
	"document.getElementById('last').onclick=function(){show(n-1);};"
	"for(var i=0;i<pts.length;i++){pts[i].addEventListener('click',function(){"
	"show(parseInt(this.getAttribute('data-step'),10));});}"
	"function fromHash(){var m=/step=(\\d+)/.exec(location.hash);"
	"if(m)show(parseInt(m[1],10));}"
	"window.addEventListener('hashchange',fromHash);show(0);fromHash();})();";

void rd_html(FILE *f, const char *title, GPtrArray *steps, unsigned long more_steps)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>gmemsim: ",
	      f);
	esc(f, title);
	fprintf(f, "</title>\n<style>%s</style></head>\n<body data-current=\"0\">\n<header><h1>",
		css);
	esc(f, title);
	fprintf(f,
		"</h1><nav><button id=\"first\">first</button><button id=\"prev\">&#x25C0; "
		"prev</button><span id=\"pos\">1 / %u</span><button id=\"next\">next "
		"&#x25B6;</button><button id=\"last\">last</button> <small>keys: &larr; "
		"&rarr; Home End</small></nav>\n<div class=\"legend\"><span><i class=\"sw\" "
		"style=\"background:#8e6bbf\"></i>private</span><span><i class=\"sw\" "
		"style=\"background:#4caf50\"></i>shared</span><span><i class=\"sw\" "
		"style=\"background:#f39c12\"></i>mixed</span><span><i class=\"sw\" "
		"style=\"background:#f2f2f2\"></i>no folio</span><span>thick outline: huge "
		"folio</span><span><i class=\"sw\" style=\"border-color:#e8b400;border-width:2px\">"
		"</i>new since the step before</span></div>\n",
		steps->len);
	timeline(f, steps);
	fprintf(f, "</header>\n<main id=\"steps\" data-steps=\"%u\">\n", steps->len);
	expand_budget = RD_EXPAND_BUDGET;
	for (guint k = 0; k < steps->len; k++)
		step_html(f, g_ptr_array_index(steps, k), k);
	if (more_steps)
		fprintf(f, "<p class=\"more\">%lu more lines not rendered (a page shows %u)</p>\n",
			more_steps, RD_MAX_STEPS);
	fprintf(f, "</main>\n<script>%s</script>\n</body></html>\n", js);
}
