// SPDX-License-Identifier: MIT
/*
 * The render model and the text views of `gmemsim run --show`. A snapshot of
 * the state registry (with detail) is reduced to a bounded model per step:
 * folios in runs with their attribute (the shareability maple tree), host
 * mapping and HVO marks; the XArray's and the maple tree's nodes; the
 * HugeTLB pools and subpools; stage-2 leaves in runs. The XArray and maple
 * views follow the layout of the kernel's xa_dump() and mt_dump() (lib/xarray.c,
 * lib/maple_tree.c) with node numbers where the kernel prints addresses.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/internal/scenario_int.h>
#include "render.h"

/* A folio as read from the snapshot, before runs are made. */
struct rd_folio {
	unsigned long index, vmemmap;
	int order;
	bool mapped, hvo;
};

/* The parse of one snapshot: the object being read and its folios. */
struct rd_parse {
	struct rd_step *step;
	struct rd_file *file;
	struct rd_vm *vm;
	GArray *folios; /* struct rd_folio of @file */
	GArray *ranges; /* struct rd_range of @file, all of them */
	const struct rd_step *prev;
	char *object; /* the object being read */
};

static unsigned long num(const char *s)
{
	return strtoul(s, NULL, 0);
}

char *rd_result_text(const struct gs_result *res)
{
	char buf[512];

	gs_result_format(res, buf, sizeof(buf));
	return g_strdup(buf);
}

/* ---- files: folios into runs -------------------------------------------------------- */

static const struct rd_file *prev_file(const struct rd_step *prev, const char *name)
{
	for (guint i = 0; prev && i < prev->files->len; i++) {
		const struct rd_file *f = g_ptr_array_index(prev->files, i);

		if (!strcmp(f->name, name))
			return f;
	}
	return NULL;
}

/* Did @prev have a folio of @order starting at @index (or a hole, for a hole)? */
static bool was_there(const struct rd_file *prev, unsigned long index, int order)
{
	guint lo = 0, hi;

	if (!prev)
		return false;
	hi = prev->runs->len;
	while (lo < hi) {
		guint mid = (lo + hi) / 2;
		const struct rd_run *r = &g_array_index(prev->runs, struct rd_run, mid);

		if (r->start <= index)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	{
		const struct rd_run *r = &g_array_index(prev->runs, struct rd_run, lo - 1);
		unsigned long pages = r->order < 0 ? r->nr : r->nr << r->order;

		if (index >= r->start + pages || r->order != order)
			return false;
		return order < 0 || !((index - r->start) & ((1UL << order) - 1));
	}
}

/* The attribute of [@index, @index + @pages) from the sorted ranges, from *@pos on. */
static char attr_of(GArray *ranges, guint *pos, unsigned long index, unsigned long pages)
{
	char attr = '?';

	while (*pos < ranges->len && g_array_index(ranges, struct rd_range, *pos).last < index)
		(*pos)++;
	for (guint i = *pos; i < ranges->len; i++) {
		const struct rd_range *r = &g_array_index(ranges, struct rd_range, i);

		if (r->first >= index + pages)
			break;
		if (attr == '?')
			attr = r->attr;
		else if (attr != r->attr)
			return 'm';
	}
	return attr;
}

static bool run_extends(const struct rd_run *r, const struct rd_run *n)
{
	unsigned long end = r->order < 0 ? r->start + r->nr : r->start + (r->nr << r->order);

	if (end != n->start || r->order != n->order)
		return false;
	if (r->order < 0)
		return true;
	return r->attr == n->attr && r->mapped == n->mapped && r->hvo == n->hvo &&
	       r->changed == n->changed && r->vmemmap == n->vmemmap;
}

static void add_run(struct rd_file *f, struct rd_run *n)
{
	struct rd_run *last;

	if (f->runs->len) {
		last = &g_array_index(f->runs, struct rd_run, f->runs->len - 1);
		if (run_extends(last, n)) {
			last->nr += n->nr;
			return;
		}
	}
	if (f->runs->len >= RD_MAX_RUNS) {
		f->more_runs++;
		return;
	}
	g_array_append_val(f->runs, *n);
}

static void finish_file(struct rd_parse *p)
{
	struct rd_file *f = p->file;
	const struct rd_file *prev = prev_file(p->prev, f->name);
	unsigned long next = 0;
	guint pos = 0;

	for (guint i = 0; i < p->folios->len; i++) {
		const struct rd_folio *fo = &g_array_index(p->folios, struct rd_folio, i);
		struct rd_run r = {.start = fo->index, .nr = 1, .order = fo->order};

		if (fo->index > next) {
			struct rd_run hole = {.start = next, .nr = fo->index - next, .order = -1};

			hole.changed = prev && !was_there(prev, next, -1);
			add_run(f, &hole);
		}
		r.attr = attr_of(p->ranges, &pos, fo->index, 1UL << fo->order);
		r.mapped = fo->mapped;
		r.hvo = fo->hvo;
		r.vmemmap = fo->vmemmap;
		r.changed = prev && !was_there(prev, fo->index, fo->order);
		add_run(f, &r);
		f->nr_huge += f->order && (unsigned int)fo->order == f->order;
		next = fo->index + (1UL << fo->order);
	}
	if (next < f->npages) {
		struct rd_run hole = {.start = next, .nr = f->npages - next, .order = -1};

		hole.changed = prev && !was_there(prev, next, -1);
		add_run(f, &hole);
	}
	f->nr_folios = p->folios->len;
	for (guint i = 0; i < p->ranges->len; i++) {
		if (f->ranges->len < RD_MAX_RUNS)
			g_array_append_val(f->ranges, g_array_index(p->ranges, struct rd_range, i));
		else
			f->more_ranges++;
	}
	g_array_set_size(p->folios, 0);
	g_array_set_size(p->ranges, 0);
	p->file = NULL;
}

static struct rd_file *file_new(const char *name)
{
	struct rd_file *f = g_new0(struct rd_file, 1);

	f->name = g_strdup(name);
	f->html = g_markup_escape_text(name, -1);
	f->runs = g_array_new(FALSE, FALSE, sizeof(struct rd_run));
	f->ranges = g_array_new(FALSE, FALSE, sizeof(struct rd_range));
	f->xa = g_array_new(FALSE, TRUE, sizeof(struct rd_xanode));
	f->mt = g_array_new(FALSE, TRUE, sizeof(struct rd_mtnode));
	f->xa_head = g_strdup("empty");
	return f;
}

static void file_free(gpointer data)
{
	struct rd_file *f = data;

	for (guint i = 0; i < f->mt->len; i++)
		g_free(g_array_index(f->mt, struct rd_mtnode, i).ranges);
	g_array_free(f->runs, TRUE);
	g_array_free(f->ranges, TRUE);
	g_array_free(f->xa, TRUE);
	g_array_free(f->mt, TRUE);
	g_free(f->xa_head);
	g_free(f->name);
	g_free(f->html);
	g_free(f);
}

/* An XArray node record: "N" then its key. */
static void file_xa(struct rd_file *f, const char *rest, const char *key, const char *v)
{
	int id = atoi(rest);
	struct rd_xanode *n;

	if (id >= RD_MAX_NODES) {
		f->more_xa += !strcmp(key, "first");
		return;
	}
	if ((guint)id >= f->xa->len)
		g_array_set_size(f->xa, id + 1);
	n = &g_array_index(f->xa, struct rd_xanode, id);
	n->id = id;
	if (!strcmp(key, "first"))
		n->first = num(v);
	else if (!strcmp(key, "last"))
		n->last = num(v);
	else if (!strcmp(key, "shift"))
		n->shift = num(v);
	else if (!strcmp(key, "count"))
		n->count = num(v);
	else if (!strcmp(key, "offset"))
		n->offset = num(v);
	else if (!strcmp(key, "values"))
		n->values = num(v);
	else if (!strcmp(key, "parent"))
		n->parent = atoi(v);
	else if (!strcmp(key, "slots"))
		g_strlcpy(n->slots, v, sizeof(n->slots));
}

static void file_mt(struct rd_file *f, const char *rest, const char *key, const char *v)
{
	int id = atoi(rest);
	struct rd_mtnode *n;

	if (id >= RD_MAX_NODES) {
		f->more_mt += !strcmp(key, "min");
		return;
	}
	if ((guint)id >= f->mt->len)
		g_array_set_size(f->mt, id + 1);
	n = &g_array_index(f->mt, struct rd_mtnode, id);
	n->id = id;
	if (!strcmp(key, "min"))
		n->min = num(v);
	else if (!strcmp(key, "max"))
		n->max = num(v);
	else if (!strcmp(key, "depth"))
		n->depth = num(v);
	else if (!strcmp(key, "type"))
		n->leaf = !strcmp(v, "leaf");
	else if (!strcmp(key, "parent"))
		n->parent = atoi(v);
	else if (!strcmp(key, "slots"))
		n->slots = num(v);
	else if (!strcmp(key, "ranges"))
		n->ranges = g_strdup(v);
}

/* A record below objects/NAME of a guest_memfd; @rest is the path after NAME ("" for it). */
static void file_rec(struct rd_parse *p, const char *rest, const char *key, const char *v)
{
	struct rd_file *f = p->file;

	if (!*rest) {
		if (!strcmp(key, "size"))
			f->npages = strtoull(v, NULL, 0) >> 12;
		else if (!strcmp(key, "order"))
			f->order = num(v);
		else if (!strcmp(key, "open"))
			f->open = num(v);
	} else if (g_str_has_prefix(rest, "/folio/")) {
		struct rd_folio *fo;

		if (!strcmp(key, "order")) {
			struct rd_folio n = {.index = num(rest + 7), .order = (int)num(v)};

			g_array_append_val(p->folios, n);
			return;
		}
		if (!p->folios->len)
			return;
		fo = &g_array_index(p->folios, struct rd_folio, p->folios->len - 1);
		if (!strcmp(key, "map"))
			fo->mapped = atoi(v) > 0;
		else if (!strcmp(key, "hvo"))
			fo->hvo = num(v);
		else if (!strcmp(key, "vmemmap"))
			fo->vmemmap = num(v);
	} else if (g_str_has_prefix(rest, "/shareability/") && !strcmp(key, "value")) {
		struct rd_range r = {.first = num(rest + 14)};
		const char *dash = strchr(rest + 14, '-');

		r.last = dash ? num(dash + 1) : r.first;
		r.attr = !strcmp(v, "private") ? 'p' : !strcmp(v, "shared") ? 's' : '?';
		g_array_append_val(p->ranges, r);
	} else if (!strcmp(rest, "/spool")) {
		f->has_spool = true;
		if (!strcmp(key, "used"))
			f->spool_used = atol(v);
		else if (!strcmp(key, "rsv"))
			f->spool_rsv = atol(v);
	} else if (!strcmp(rest, "/detail/xa") && !strcmp(key, "head")) {
		g_free(f->xa_head);
		f->xa_head = g_strdup(v);
	} else if (g_str_has_prefix(rest, "/detail/xa/")) {
		file_xa(f, rest + 11, key, v);
	} else if (!strcmp(rest, "/detail/mt") && !strcmp(key, "height")) {
		f->mt_height = num(v);
	} else if (g_str_has_prefix(rest, "/detail/mt/")) {
		file_mt(f, rest + 11, key, v);
	}
}

/* ---- VMs: stage-2 leaves into runs ---------------------------------------------------- */

static void vm_free(gpointer data)
{
	struct rd_vm *vm = data;

	g_array_free(vm->runs, TRUE);
	g_free(vm->name);
	g_free(vm->html);
	g_free(vm);
}

static const unsigned long level_bytes[3] = {1UL << 12, 1UL << 21, 1UL << 30};

static void vm_rec(struct rd_vm *vm, const char *rest, const char *key, const char *v)
{
	static const char *const levels[3] = {"4K", "2M", "1G"};
	struct rd_s2run *r;

	if (!*rest) {
		for (unsigned int l = 0; l < 3; l++)
			if (g_str_has_prefix(key, "leaves.") && !strcmp(key + 7, levels[l]))
				vm->leaves[l] = num(v);
		return;
	}
	if (!g_str_has_prefix(rest, "/stage2/"))
		return;
	if (!strcmp(key, "level")) {
		struct rd_s2run n = {.gpa = num(rest + 8), .nr = 1};

		for (unsigned int l = 0; l < 3; l++)
			if (!strcmp(v, levels[l]))
				n.level = l;
		vm->dropping = vm->runs->len >= RD_MAX_S2RUNS;
		if (vm->dropping) {
			vm->more++;
			return;
		}
		g_array_append_val(vm->runs, n);
		return;
	}
	if (!vm->runs->len || vm->dropping)
		return;
	r = &g_array_index(vm->runs, struct rd_s2run, vm->runs->len - 1);
	if (!strcmp(key, "private"))
		r->priv = atoi(v);
	else if (!strcmp(key, "source"))
		r->gmem = !strcmp(v, "guest_memfd");
	else
		return;
	/* The leaf is complete after "source": fold it into the run before it. */
	if (strcmp(key, "source") || vm->runs->len < 2)
		return;
	{
		struct rd_s2run *b = r - 1;

		if (b->level == r->level && b->priv == r->priv && b->gmem == r->gmem &&
		    b->gpa + b->nr * level_bytes[b->level] == r->gpa) {
			b->nr++;
			g_array_set_size(vm->runs, vm->runs->len - 1);
		}
	}
}

/* ---- the snapshot ------------------------------------------------------------------- */

static void pool_rec(struct rd_step *s, const char *rest, const char *key, const char *v)
{
	if (g_str_has_prefix(rest, "/subpool/")) {
		struct rd_subpool *sp;

		if (!strcmp(key, "hstate")) {
			struct rd_subpool n = {.hstate = g_strdup(v)};

			g_array_append_val(s->subpools, n);
			return;
		}
		if (!s->subpools->len)
			return;
		sp = &g_array_index(s->subpools, struct rd_subpool, s->subpools->len - 1);
		if (!strcmp(key, "max"))
			sp->max = atol(v);
		else if (!strcmp(key, "min"))
			sp->min = atol(v);
		else if (!strcmp(key, "used"))
			sp->used = atol(v);
		else if (!strcmp(key, "rsv"))
			sp->rsv = atol(v);
	} else if (*rest == '/') {
		struct rd_pool *pl;

		if (!strcmp(key, "nr")) {
			struct rd_pool n = {.name = g_strdup(rest + 1), .nr = num(v)};

			g_array_append_val(s->pools, n);
			return;
		}
		if (!s->pools->len)
			return;
		pl = &g_array_index(s->pools, struct rd_pool, s->pools->len - 1);
		if (!strcmp(key, "free"))
			pl->free = num(v);
		else if (!strcmp(key, "resv"))
			pl->resv = num(v);
		else if (!strcmp(key, "surplus"))
			pl->surplus = num(v);
		else if (!strcmp(key, "split"))
			pl->split = num(v);
	}
}

/* A record under objects/: the object's type starts it; others belong to the current one. */
static void object_rec(struct rd_parse *p, const char *path, const char *key, const char *v)
{
	const char *slash = strchr(path, '/');
	const char *rest = slash ? slash : path + strlen(path);

	/* The engine's "type" comes first; a dumper's own "type" key (a VM's) later. */
	if (!*rest && !strcmp(key, "type") &&
	    (!p->object || strncmp(p->object, path, rest - path) || p->object[rest - path])) {
		g_free(p->object);
		p->object = g_strndup(path, rest - path);
		if (p->file)
			finish_file(p);
		p->vm = NULL;
		if (!strcmp(v, "gmem")) {
			p->file = file_new(path);
			g_ptr_array_add(p->step->files, p->file);
		} else if (!strcmp(v, "vm")) {
			p->vm = g_new0(struct rd_vm, 1);
			p->vm->name = g_strndup(path, rest - path);
			p->vm->html = g_markup_escape_text(p->vm->name, -1);
			p->vm->runs = g_array_new(FALSE, FALSE, sizeof(struct rd_s2run));
			g_ptr_array_add(p->step->vms, p->vm);
		}
		return;
	}
	if (p->file)
		file_rec(p, rest, key, v);
	else if (p->vm)
		vm_rec(p->vm, rest, key, v);
}

static void parse(struct rd_parse *p, const struct gs_state *st)
{
	for (unsigned int i = 0; i < gs_state_count(st); i++) {
		const struct gs_state_rec *r = gs_state_nth(st, i);

		if (g_str_has_prefix(r->path, "objects/")) {
			object_rec(p, r->path + 8, r->key, r->value);
			continue;
		}
		if (p->file)
			finish_file(p);
		p->vm = NULL;
		if (g_str_has_prefix(r->path, "hugetlb/") || !strcmp(r->path, "hugetlb"))
			pool_rec(p->step, r->path + 7, r->key, r->value);
		else if (!strcmp(r->path, "hvo") && !strcmp(r->key, "freed"))
			p->step->hvo_freed = num(r->value);
		else if (!strcmp(r->path, "hvo") && !strcmp(r->key, "restored"))
			p->step->hvo_restored = num(r->value);
	}
	if (p->file)
		finish_file(p);
}

struct rd_step *rd_step_new(const struct gs_state *st, const struct gs_op *op,
			    const struct gs_result *res, const struct rd_step *prev)
{
	struct rd_step *s = g_new0(struct rd_step, 1);
	struct rd_parse p = {.step = s, .prev = prev};

	s->loc = g_strdup_printf("%s:%u", op->file, op->line);
	s->src = g_strdup(op->src);
	s->result = rd_result_text(res);
	s->ret = res->ret;
	s->sig = res->sig;
	s->files = g_ptr_array_new_with_free_func(file_free);
	s->vms = g_ptr_array_new_with_free_func(vm_free);
	s->pools = g_array_new(FALSE, FALSE, sizeof(struct rd_pool));
	s->subpools = g_array_new(FALSE, FALSE, sizeof(struct rd_subpool));
	p.folios = g_array_new(FALSE, FALSE, sizeof(struct rd_folio));
	p.ranges = g_array_new(FALSE, FALSE, sizeof(struct rd_range));
	parse(&p, st);
	g_array_free(p.folios, TRUE);
	g_array_free(p.ranges, TRUE);
	g_free(p.object);
	gs_metrics_read(&s->m, true);
	return s;
}

void rd_step_free(struct rd_step *s)
{
	if (!s)
		return;
	for (guint i = 0; i < s->pools->len; i++)
		g_free(g_array_index(s->pools, struct rd_pool, i).name);
	for (guint i = 0; i < s->subpools->len; i++)
		g_free(g_array_index(s->subpools, struct rd_subpool, i).hstate);
	g_array_free(s->pools, TRUE);
	g_array_free(s->subpools, TRUE);
	g_ptr_array_free(s->files, TRUE);
	g_ptr_array_free(s->vms, TRUE);
	g_free(s->loc);
	g_free(s->src);
	g_free(s->result);
	g_free(s->notes);
	g_free(s);
}

int rd_parse_views(const char *list)
{
	static const struct {
		const char *name;
		int bits;
	} names[] = {
		{"file", RD_FILE}, {"xarray", RD_XARRAY}, {"maple", RD_MAPLE}, {"pool", RD_POOL},
		{"hvo", RD_HVO},   {"stage2", RD_STAGE2}, {"all", RD_ALL},
	};
	gchar **words = g_strsplit(list, ",", -1);
	int bits = 0;

	for (unsigned int i = 0; words[i]; i++) {
		unsigned int n;

		for (n = 0; n < G_N_ELEMENTS(names); n++)
			if (!strcmp(g_strstrip(words[i]), names[n].name))
				break;
		if (n == G_N_ELEMENTS(names)) {
			bits = -1;
			break;
		}
		bits |= names[n].bits;
	}
	g_strfreev(words);
	return bits ? bits : -1;
}

/* ---- text views ----------------------------------------------------------------------- */

#define STRIP	  64 /* cells of the file strip */
#define MAX_LINES 24 /* run lines per file before "... more" */

struct rd_out {
	FILE *f;
	bool color;
};

static void paint(const struct rd_out *o, const char *sgr, const char *fmt, ...) __printf(3, 4);
static void paint(const struct rd_out *o, const char *sgr, const char *fmt, ...)
{
	va_list ap;

	if (o->color && sgr)
		fprintf(o->f, "\033[%sm", sgr);
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	if (o->color && sgr)
		fputs("\033[0m", o->f);
}

static const char *attr_sgr(char attr)
{
	return attr == 'p' ? "35" : attr == 's' ? "32" : attr == 'm' ? "33" : "2";
}

static const char *attr_name(char attr)
{
	return attr == 'p' ? "private" : attr == 's' ? "shared" : attr == 'm' ? "mixed" : "?";
}

static unsigned long run_pages(const struct rd_run *r)
{
	return r->order < 0 ? r->nr : r->nr << r->order;
}

/*
 * A cell's character: its attribute (upper case when a whole huge folio
 * covers it), '.' no folio, '+' when pages of the cell differ (a shared page
 * among private ones shows there; the run lines below say which).
 */
static char cell_char(const struct rd_file *f, guint *ri, unsigned long idx, unsigned long end,
		      const char **sgr)
{
	unsigned int kinds = 0;
	bool huge = false;
	char ch = '?';

	while (*ri < f->runs->len) {
		const struct rd_run *r = &g_array_index(f->runs, struct rd_run, *ri);

		if (r->start + run_pages(r) > idx)
			break;
		(*ri)++;
	}
	for (guint i = *ri; i < f->runs->len; i++) {
		const struct rd_run *r = &g_array_index(f->runs, struct rd_run, i);

		if (r->start >= end)
			break;
		ch = r->order < 0 ? '.' : r->attr;
		kinds |= r->order < 0 ? 1u : r->attr == 'p' ? 2u : r->attr == 's' ? 4u : 8u;
		huge |= r->order >= 0 && f->order && (unsigned int)r->order == f->order;
	}
	*sgr = ch == '.' || ch == '?' ? "2" : attr_sgr(ch);
	if (kinds & (kinds - 1)) {
		*sgr = "1;33";
		return '+';
	}
	return huge && ch != '.' ? (char)(ch - 32) : ch;
}

static void strip(const struct rd_out *o, const struct rd_file *f)
{
	unsigned long per = f->npages / STRIP + !!(f->npages % STRIP);
	unsigned int cells = per ? (unsigned int)((f->npages + per - 1) / per) : 0;
	guint ri = 0;

	fprintf(o->f, "  [");
	for (unsigned int c = 0; c < cells; c++) {
		const char *sgr;
		char ch = cell_char(f, &ri, c * per, (c + 1) * per, &sgr);

		paint(o, sgr, "%c", ch);
	}
	fprintf(o->f, "]  1 cell = %lu KiB\n", per * 4);
}

static void view_file(const struct rd_out *o, const struct rd_file *f)
{
	unsigned int lines = 0;

	paint(o, "1", "file %s", f->name);
	fprintf(o->f, ": %lu KiB, %lu pages, page order %u, %lu folios (%lu whole huge)%s",
		f->npages * 4, f->npages, f->order, f->nr_folios, f->nr_huge,
		f->open ? "" : ", closed");
	if (f->has_spool)
		fprintf(o->f, ", subpool used %ld rsv %ld", f->spool_used, f->spool_rsv);
	fputc('\n', o->f);
	if (!f->npages)
		return;
	strip(o, f);
	for (guint i = 0; i < f->runs->len; i++) {
		const struct rd_run *r = &g_array_index(f->runs, struct rd_run, i);
		unsigned long pages = run_pages(r);

		if (lines++ == MAX_LINES) {
			fprintf(o->f, "  ... %u more runs\n", f->runs->len - i);
			break;
		}
		fprintf(o->f, "  0x%-8lx-0x%-8lx ", r->start, r->start + pages - 1);
		if (r->order < 0) {
			paint(o, "2", "no folio (%lu pages)\n", pages);
			continue;
		}
		fprintf(o->f, "order %-2d x%-6lu ", r->order, r->nr);
		paint(o, attr_sgr(r->attr), "%-7s", attr_name(r->attr));
		fprintf(o->f, "%s%s%s\n", r->mapped ? " mapped" : "", r->hvo ? " hvo" : "",
			r->changed ? " *new" : "");
	}
	if (f->more_runs)
		fprintf(o->f, "  ... and more (the model keeps %u runs)\n", RD_MAX_RUNS);
}

/* Children of node @id in @f->xa in slot order: their first index tells the slot. */
static const struct rd_xanode *xa_child(const struct rd_file *f, int id, unsigned long first)
{
	for (guint i = 0; i < f->xa->len; i++) {
		const struct rd_xanode *n = &g_array_index(f->xa, struct rd_xanode, i);

		if (n->parent == id && n->first == first && (int)i != id)
			return n;
	}
	return NULL;
}

static void xa_index(FILE *f, unsigned int depth, unsigned long first, unsigned long last)
{
	fprintf(f, "%*s", (int)depth * 2, "");
	if (first == last)
		fprintf(f, "%lu: ", first);
	else
		fprintf(f, "%lu-%lu: ", first, last);
}

static void xa_node(const struct rd_out *o, const struct rd_file *f, const struct rd_xanode *n,
		    unsigned int depth)
{
	unsigned long span = 1UL << n->shift;

	xa_index(o->f, depth, n->first, n->last);
	paint(o, "36", "node #%d", n->id);
	/* As xa_dump(): a root shows its offset as "max", a child its parent (by number). */
	if (n->parent < 0)
		fprintf(o->f, " max %u", n->offset);
	else
		fprintf(o->f, " offset %u parent #%d", n->offset, n->parent);
	fprintf(o->f, " shift %u count %u values %u\n", n->shift, n->count, n->values);
	for (unsigned int i = 0; n->slots[i]; i++) {
		char k = n->slots[i];
		unsigned int j = i;

		if (k == '.')
			continue;
		if (k == 'n') {
			const struct rd_xanode *c = xa_child(f, n->id, n->first + i * span);

			if (c) {
				xa_node(o, f, c, depth + 1);
			} else {
				xa_index(o->f, depth + 1, n->first + i * span,
					 n->first + (i + 1) * span - 1);
				fprintf(o->f, "node (not kept: the model keeps %u)\n",
					RD_MAX_NODES);
			}
			continue;
		}
		/* Same-kind neighbours are one line: the kernel prints each, a screen shows few. */
		while (n->slots[j + 1] == k && k != 'p')
			j++;
		if (k == 'p')
			while (n->slots[j + 1] == 'p' && !n->shift)
				j++;
		xa_index(o->f, depth + 1, n->first + i * span, n->first + (j + 1) * span - 1);
		if (k == 's') {
			unsigned int canon = i;

			while (canon && n->slots[canon] == 's')
				canon--;
			fprintf(o->f, "sibling (slot %u)", canon);
			if (j > i)
				fprintf(o->f, " x%u", j - i + 1);
			fputc('\n', o->f);
		} else {
			fprintf(o->f, "%s%s\n",
				k == 'p'   ? "folio"
				: k == 'v' ? "value"
					   : "internal",
				j > i ? " (each index)" : "");
		}
		i = j;
	}
}

static void view_xarray(const struct rd_out *o, const struct rd_file *f)
{
	paint(o, "1", "xarray %s", f->name);
	fprintf(o->f, ": head %s\n", f->xa_head);
	if (f->xa->len)
		xa_node(o, f, &g_array_index(f->xa, struct rd_xanode, 0), 0);
	if (f->more_xa)
		fprintf(o->f, "... %lu more nodes\n", f->more_xa);
}

static void view_maple(const struct rd_out *o, const struct rd_file *f)
{
	paint(o, "1", "maple_tree %s", f->name);
	fprintf(o->f, ": height %u\n", f->mt_height);
	for (guint i = 0; i < f->mt->len; i++) {
		const struct rd_mtnode *n = &g_array_index(f->mt, struct rd_mtnode, i);
		gchar **ranges;

		fprintf(o->f, "%*s%lx-%lx: ", (int)n->depth * 2, "", n->min, n->max);
		paint(o, "36", "node #%d", n->id);
		fprintf(o->f, " depth %u %s parent %d, %u slots\n", n->depth,
			n->leaf ? "leaf" : "range", n->parent, n->slots);
		if (!n->leaf || !n->ranges)
			continue;
		ranges = g_strsplit(n->ranges, ",", -1);
		for (unsigned int r = 0; ranges[r]; r++) {
			char *eq = strchr(ranges[r], '=');
			unsigned long v;

			if (!eq)
				continue;
			fprintf(o->f, "%*s%lx-%lx: ", (int)n->depth * 2 + 2, "", num(ranges[r]),
				num(strchr(ranges[r], '-') + 1));
			if (!strcmp(eq + 1, "null")) {
				fputs("(null)\n", o->f);
				continue;
			}
			v = num(eq + 1);
			/* 1 and 2 are the shareability values (SHAREABILITY_GUEST, _ALL). */
			paint(o, attr_sgr(v == 1 ? 'p' : v == 2 ? 's' : '?'), "value %lu", v);
			fprintf(o->f, " (%s)\n", v == 1 ? "private" : v == 2 ? "shared" : "?");
		}
		g_strfreev(ranges);
	}
	if (f->more_mt)
		fprintf(o->f, "... %lu more nodes\n", f->more_mt);
}

static void bar(const struct rd_out *o, unsigned long used, unsigned long total)
{
	unsigned int w = 20, u = total ? (unsigned int)(used * w / total) : 0;

	fputc('[', o->f);
	for (unsigned int i = 0; i < w; i++)
		paint(o, i < u ? "35" : "2", "%c", i < u ? '#' : '-');
	fputc(']', o->f);
}

static void view_pool(const struct rd_out *o, const struct rd_step *s)
{
	for (guint i = 0; i < s->pools->len; i++) {
		const struct rd_pool *p = &g_array_index(s->pools, struct rd_pool, i);

		paint(o, "1", "%-11s", p->name);
		fputc(' ', o->f);
		bar(o, p->nr - p->free, p->nr);
		fprintf(o->f, " nr %lu free %lu resv %lu surplus %lu split %lu\n", p->nr, p->free,
			p->resv, p->surplus, p->split);
	}
	for (guint i = 0; i < s->subpools->len; i++) {
		const struct rd_subpool *sp = &g_array_index(s->subpools, struct rd_subpool, i);

		fprintf(o->f, "  subpool %u (%s): used %ld rsv %ld max %ld min %ld\n", i,
			sp->hstate, sp->used, sp->rsv, sp->max, sp->min);
	}
}

static void view_hvo(const struct rd_out *o, const struct rd_step *s)
{
	paint(o, "1", "hvo");
	fprintf(o->f,
		": vmemmap pages freed %lu restored %lu; resident %" PRIu64 " bytes, saved %" PRIu64
		"\n",
		s->hvo_freed, s->hvo_restored, s->m.vmemmap_bytes, s->m.hvo_saved_bytes);
	for (guint i = 0; i < s->files->len; i++) {
		const struct rd_file *f = g_ptr_array_index(s->files, i);
		unsigned long nr[2][20] = {{0}}, bytes[2][20] = {{0}};

		for (guint r = 0; r < f->runs->len; r++) {
			const struct rd_run *run = &g_array_index(f->runs, struct rd_run, r);

			if (run->order < 0 || run->order >= 20)
				continue;
			nr[run->hvo][run->order] += run->nr;
			bytes[run->hvo][run->order] += run->nr * run->vmemmap;
		}
		fprintf(o->f, "  %s:", f->name);
		for (int order = 19; order >= 0; order--)
			for (int h = 1; h >= 0; h--)
				if (nr[h][order])
					fprintf(o->f, " order %d x%lu %lu B each%s;", order,
						nr[h][order], bytes[h][order] / nr[h][order],
						h ? " (HVO)" : "");
		fputc('\n', o->f);
	}
}

static void view_stage2(const struct rd_out *o, const struct rd_step *s)
{
	static const char *const levels[3] = {"4K", "2M", "1G"};

	for (guint i = 0; i < s->vms->len; i++) {
		const struct rd_vm *vm = g_ptr_array_index(s->vms, i);

		paint(o, "1", "stage2 %s", vm->name);
		fprintf(o->f, ": leaves 4K=%lu 2M=%lu 1G=%lu\n", vm->leaves[0], vm->leaves[1],
			vm->leaves[2]);
		for (guint r = 0; r < vm->runs->len && r < MAX_LINES; r++) {
			const struct rd_s2run *run = &g_array_index(vm->runs, struct rd_s2run, r);

			fprintf(o->f, "  0x%lx-0x%lx %s x%lu ", run->gpa,
				run->gpa + run->nr * level_bytes[run->level] - 1,
				levels[run->level], run->nr);
			paint(o, attr_sgr(run->priv ? 'p' : 's'), "%s",
			      run->priv ? "private" : "shared");
			fprintf(o->f, " %s\n", run->gmem ? "guest_memfd" : "userspace_addr");
		}
		if (vm->runs->len > MAX_LINES || vm->more)
			fprintf(o->f, "  ... more leaves\n");
	}
}

void rd_show(FILE *f, const struct rd_step *s, unsigned int views, bool color)
{
	struct rd_out o = {.f = f, .color = color};

	paint(&o, "1;4", "after %s: %s -> %s", s->loc, s->src, s->result);
	fputc('\n', f);
	for (guint i = 0; i < s->files->len; i++) {
		const struct rd_file *file = g_ptr_array_index(s->files, i);

		if (views & RD_FILE)
			view_file(&o, file);
		if (views & RD_XARRAY)
			view_xarray(&o, file);
		if (views & RD_MAPLE)
			view_maple(&o, file);
	}
	if (views & RD_POOL)
		view_pool(&o, s);
	if (views & RD_HVO)
		view_hvo(&o, s);
	if (views & RD_STAGE2)
		view_stage2(&o, s);
	fputc('\n', f);
}
