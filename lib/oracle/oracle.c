// SPDX-License-Identifier: MIT
/*
 * The per-page oracle (docs/ORACLE.md): a reference model of guest_memfd
 * state per 4 KiB index, written from the spec's rules (guest_memfd.md rules
 * 5, 16-18, 24-26, 33-35, 42-43; P5-P11, P20, P31-P37) and never from the
 * simulator's code. It mirrors no kernel function: it is the answer the
 * kernel's guest_memfd.c, guest_memfd_hugetlb.c and the conversion series
 * must give, kept as runs of equal state ([start, end) of indices), so the
 * cost follows the number of ranges operations touched, not the file size.
 *
 * The simulator is read only through a read-only view of its state,
 * kvm_gmem_query() (the state registry's records without the text; those,
 * kvm_gmem_dump_state(), stay for a cross-check): the comparison names the
 * operation, the first differing index and both values.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/check.h>
#include <gmemsim/oracle.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>
#include <gmemsim/linux/kvm.h>

#define OPAGE	    4096ULL
#define CONTENT_MIX 0x100 /* bytes of a page that differ: a read's data is not predicted */

/* What the spec says an index is. Unallocated indices keep only @priv. */
struct opage {
	uint8_t priv;
	uint8_t alloc;
	uint8_t uptodate; /* used once: zeroed (P10) */
	uint8_t mapped;	  /* a host PTE maps it */
	uint8_t poisoned;
	uint16_t content; /* every byte of the page, or CONTENT_MIX */
	uint32_t pins;
};

struct orun {
	uint64_t start, end;
	struct opage pg;
};

struct opin {
	int file;
	uint64_t index;
	bool attached; /* still a reference on the file's page (a punch detaches it) */
};

struct ofile {
	uint64_t size, npages;
	struct gs_oracle_cfg cfg;
	bool closed, lost, mapped_known;
	GArray *runs; /* struct orun, sorted, covering [0, npages) */
	/*
	 * The runs as of the last save(), for gs_oracle_unpredicted(): copied
	 * from @runs only at their first change after it (runs_write()), as
	 * most operations' saves are never read and many change nothing.
	 * While @save_pending, no change came yet: @runs are the saved runs
	 * and @saved is stale.
	 */
	GArray *saved;
	bool save_pending;
	struct gmem_file *bound;
	uint64_t dirty_s, dirty_e; /* indices the model changed since the last comparison */
	uint64_t clean; /* the epoch of its last whole comparison without a mismatch, or 0 */
	/*
	 * @gen counts the changes of @runs (model_changed()); @alloc_pages and
	 * @used_hp are their counts as of change @counted (count_model()):
	 * asked up to four times a line, walked once per change.
	 */
	uint64_t gen, counted;
	uint64_t alloc_pages, used_hp;
	/*
	 * The folio orders the model expects (struct sival, expected_orders())
	 * as of change @orders_gen of @runs (0: not built): a HugeTLB file's
	 * compare built them from all its runs each time.
	 */
	GArray *orders;
	uint64_t orders_gen;
};

/* A piece of the simulator's state: [start, end) has @val. */
struct sival {
	uint64_t start, end, val;
};

struct gs_oracle {
	GPtrArray *files;   /* struct ofile * */
	GArray *pins;	    /* struct opin */
	GArray *pins_saved; /* @pins before a punch a strategy may refuse, else NULL */
	GList *link;
	struct kvm_gmem_run *view; /* a comparison's read of the simulator, reused */
	size_t view_cap;	   /* runs it holds */
	uint64_t epoch;		   /* gs_oracle_step()s since it was made, from 1 */
};

static GList *oracles; /* every live oracle, for `check oracle` */

/* --- runs --- */

/*
 * The bytes compared as two words, as memcmp() would (padding included), not
 * by memcmp(): a libFuzzer build (-fsanitize=fuzzer) makes every memcmp(),
 * __builtin_memcmp() too, a call to its interceptor, which records the
 * operands for comparison-guided mutation, the oracle's too (about 4% of a
 * 4 KiB execution there). Natively the compilers made the same two loads.
 */
static bool pg_eq(const struct opage *a, const struct opage *b)
{
	uint64_t a0, b0;
	uint32_t a1, b1;

	_Static_assert(sizeof(struct opage) == sizeof(a0) + sizeof(a1), "opage: two words");
	memcpy(&a0, a, sizeof(a0));
	memcpy(&b0, b, sizeof(b0));
	memcpy(&a1, (const char *)a + sizeof(a0), sizeof(a1));
	memcpy(&b1, (const char *)b + sizeof(b0), sizeof(b1));
	return a0 == b0 && a1 == b1;
}

/*
 * Shorten @a, an array of plain elements (no clear function), to @len in
 * place: g_array_set_size() removes the tail as a range, a call chain of
 * its own per model change.
 */
static inline void array_cut(GArray *a, guint len)
{
	if (len < a->len)
		a->len = len;
}

/*
 * The run holding @idx: the last run that starts at or before it (0 if
 * none), by halving without a branch on the data (a conditional move per
 * step: which half holds a random index is a coin toss for the predictor,
 * and every comparison starts with this search).
 */
static guint run_find(GArray *runs, uint64_t idx)
{
	const struct orun *a = (const struct orun *)(void *)runs->data;
	guint lo = 0, n = runs->len;

	while (n > 1) {
		guint half = n / 2;

		lo = a[lo + half].start <= idx ? lo + half : lo;
		n -= half;
	}
	return lo;
}

static void run_split(GArray *runs, uint64_t idx)
{
	guint i;
	struct orun *r, tail;

	if (!runs->len)
		return;
	i = run_find(runs, idx);
	r = &g_array_index(runs, struct orun, i);
	if (idx <= r->start || idx >= r->end)
		return;
	tail = *r;
	tail.start = idx;
	r->end = idx;
	g_array_insert_val(runs, i + 1, tail);
}

static void runs_coalesce(GArray *runs)
{
	guint out = 0;

	for (guint i = 1; i < runs->len; i++) {
		struct orun *a = &g_array_index(runs, struct orun, out);
		struct orun *b = &g_array_index(runs, struct orun, i);

		if (pg_eq(&a->pg, &b->pg))
			a->end = b->end;
		else
			g_array_index(runs, struct orun, ++out) = *b;
	}
	if (runs->len)
		array_cut(runs, out + 1);
}

typedef void (*pg_fn)(struct opage *pg, void *arg);

/*
 * Every writer of a file's runs calls it after the write: the counts are
 * old. Unless @shape (some index's allocated or attribute changed), what
 * count_model() and model_orders() keep still holds: they follow from
 * those two alone, not from the runs' bounds or other fields (a map, a
 * pin, a write's content), and are kept current if they were.
 */
static void model_changed(struct ofile *f, bool shape)
{
	bool counted = !shape && f->counted == f->gen, ordered = !shape && f->orders_gen == f->gen;

	f->gen++;
	if (counted)
		f->counted = f->gen;
	if (ordered)
		f->orders_gen = f->gen;
}

/*
 * Remember the model before an operation changes it: the copy is taken by
 * the first change that follows (runs_write()), if one does. Until then
 * @runs are what was saved, and a rollback has nothing to restore.
 */
static void save(struct ofile *f)
{
	f->save_pending = true;
}

/* Every writer of a file's runs calls it before the write: the saved runs are taken now. */
static void runs_write(struct ofile *f)
{
	if (!f->save_pending)
		return;
	f->save_pending = false;
	array_cut(f->saved, 0);
	g_array_append_vals(f->saved, f->runs->data, f->runs->len);
}

/* Apply @fn to every index of [@s, @e), run by run. */
static void range_apply(struct ofile *f, uint64_t s, uint64_t e, pg_fn fn, void *arg)
{
	bool shape = false;

	if (s >= e)
		return;
	f->dirty_s = MIN(f->dirty_s, s);
	f->dirty_e = MAX(f->dirty_e, e);
	f->clean = 0;
	runs_write(f);
	run_split(f->runs, s);
	run_split(f->runs, e);
	for (guint i = run_find(f->runs, s); i < f->runs->len; i++) {
		struct orun *r = &g_array_index(f->runs, struct orun, i);

		uint8_t alloc = r->pg.alloc, priv = r->pg.priv;

		if (r->start >= e)
			break;
		fn(&r->pg, arg);
		shape |= r->pg.alloc != alloc || r->pg.priv != priv;
	}
	runs_coalesce(f->runs);
	model_changed(f, shape);
}

static struct opage pg_at(const struct ofile *f, uint64_t idx)
{
	return g_array_index(f->runs, struct orun, run_find(f->runs, idx)).pg;
}

typedef bool (*pg_pred)(const struct opage *pg, const void *arg);

/* The first index of [@s, @e) whose page satisfies @pred, or @e. */
static uint64_t first_where(const struct ofile *f, uint64_t s, uint64_t e, pg_pred pred,
			    const void *arg)
{
	if (s >= e)
		return e;
	for (guint i = run_find(f->runs, s); i < f->runs->len; i++) {
		const struct orun *r = &g_array_index(f->runs, struct orun, i);

		if (r->start >= e)
			break;
		if (pred(&r->pg, arg))
			return MAX(r->start, s);
	}
	return e;
}

static bool is_pinned(const struct opage *pg, const void *arg)
{
	(void)arg;
	return pg->alloc && pg->pins;
}

static bool attr_differs(const struct opage *pg, const void *arg)
{
	return pg->priv != *(const uint8_t *)arg;
}

/* A host access stops here: private (P5), poisoned (rule 43). */
static bool host_refused(const struct opage *pg, const void *arg)
{
	(void)arg;
	return pg->priv || (pg->alloc && pg->poisoned);
}

static bool is_mixed(const struct opage *pg, const void *arg)
{
	(void)arg;
	return pg->alloc && pg->uptodate && pg->content == CONTENT_MIX;
}

static bool content_differs(const struct opage *pg, const void *arg)
{
	uint16_t c = pg->alloc && pg->uptodate ? pg->content : 0;

	return c != *(const uint16_t *)arg;
}

/* --- files --- */

static struct ofile *file_get(struct gs_oracle *o, int id)
{
	if (!o || id < 0 || (guint)id >= o->files->len)
		return NULL;
	return g_ptr_array_index(o->files, id);
}

static uint64_t huge_nr(const struct ofile *f)
{
	return 1ULL << f->cfg.page_order;
}

/* The largest folio order of the file: HugeTLB's page order, 9 for thp (seed 001). */
static unsigned int map_order(const struct ofile *f)
{
	return f->cfg.page_order ? f->cfg.page_order : f->cfg.thp ? 9 : 0;
}

static void pg_alloc(struct opage *pg, void *arg)
{
	(void)arg;
	if (pg->alloc)
		return;
	*pg = (struct opage){.priv = pg->priv, .alloc = 1};
}

/* Allocate the folio(s) holding [@s, @e): a HugeTLB folio is its whole huge page (P23). */
static void alloc_range(struct ofile *f, uint64_t s, uint64_t e)
{
	uint64_t nr = huge_nr(f);

	range_apply(f, s & ~(nr - 1), MIN((e + nr - 1) & ~(nr - 1), f->npages), pg_alloc, NULL);
}

static void pg_use(struct opage *pg, void *arg)
{
	(void)arg;
	if (pg->uptodate)
		return;
	pg->uptodate = 1;
	pg->content = 0; /* P10: zeroed once, on first use */
}

/* First use of [@s, @e) by the host or the guest: allocated if missing, zeroed once. */
static void use_range(struct ofile *f, uint64_t s, uint64_t e)
{
	alloc_range(f, s, e);
	range_apply(f, s, e, pg_use, NULL);
}

static void pg_free(struct opage *pg, void *arg)
{
	(void)arg;
	*pg = (struct opage){.priv = pg->priv};
}

static void pg_unmap(struct opage *pg, void *arg)
{
	(void)arg;
	pg->mapped = 0;
}

static void pg_set_attr(struct opage *pg, void *arg)
{
	pg->priv = *(uint8_t *)arg;
}

/*
 * The allocated indices and the huge pages with an allocated index (the
 * subpool's used pages, P22), walked once per change of the runs.
 */
static __attribute__((noinline)) void count_model_slow(struct ofile *f)
{
	uint64_t n = 0, hp = 0, last = UINT64_MAX, shift = f->cfg.page_order;

	for (guint i = 0; i < f->runs->len; i++) {
		const struct orun *r = &g_array_index(f->runs, struct orun, i);
		uint64_t a, b;

		if (!r->pg.alloc)
			continue;
		n += r->end - r->start;
		if (!shift)
			continue; /* a 4 KiB file's huge pages are its pages */
		a = r->start >> shift;
		b = (r->end - 1) >> shift;
		hp += b - a + 1 - (a == last);
		last = b;
	}
	f->alloc_pages = n;
	f->used_hp = shift ? hp : n;
	f->counted = f->gen;
}

/*
 * The counts, walked again only after a change: the check is in line (a
 * call per comparison to find them current was most of their cost).
 */
static inline void count_model(struct ofile *f)
{
	if (f->counted != f->gen)
		count_model_slow(f);
}

static uint64_t alloc_bytes(struct ofile *f)
{
	count_model(f);
	return f->alloc_pages * OPAGE;
}

/* Huge pages with an allocated index (the subpool's used pages, P22). */
static uint64_t used_hpages(struct ofile *f)
{
	count_model(f);
	return f->used_hp;
}

/* st_blocks: every folio in the design (P33), none for upstream 4 KiB files (rule 12). */
static void predict_blocks(struct ofile *f, struct gs_oracle_pred *p)
{
	/* A thp file may hold more than it used: whole 2 MiB blocks, best effort. */
	if (f->cfg.thp)
		return;
	p->has_blocks = true;
	p->blocks = f->cfg.profile == GS_GMEM_PROFILE_UPSTREAM && !f->cfg.page_order
			    ? 0
			    : alloc_bytes(f) / 512;
}

/*
 * A freed oracle's files and the last freed oracle, kept with their arrays
 * (emptied) for the next ones: the fuzzers make an oracle and a few files
 * per input, and making, growing and freeing their arrays cost some 15 K
 * instructions of a 4 KiB execution. What is kept holds no state: every
 * field is set again when it is taken.
 */
#define SPARE_FILES 32
static struct ofile *spare_files[SPARE_FILES];
static unsigned int nr_spare_files;
static struct gs_oracle *spare_oracle;

/* A file with every field zero but its (empty) arrays. */
static struct ofile *file_alloc(void)
{
	struct ofile *f;
	GArray *runs, *saved, *orders;

	if (!nr_spare_files) {
		f = g_new0(struct ofile, 1);
		f->runs = g_array_new(FALSE, FALSE, sizeof(struct orun));
		f->saved = g_array_new(FALSE, FALSE, sizeof(struct orun));
		return f;
	}
	f = spare_files[--nr_spare_files];
	runs = f->runs;
	saved = f->saved;
	orders = f->orders;
	*f = (struct ofile){.runs = runs, .saved = saved, .orders = orders};
	array_cut(runs, 0);
	array_cut(saved, 0);
	if (orders)
		array_cut(orders, 0);
	return f;
}

static void file_release(struct ofile *f)
{
	if (nr_spare_files < SPARE_FILES) {
		spare_files[nr_spare_files++] = f;
		return;
	}
	g_array_free(f->runs, TRUE);
	g_array_free(f->saved, TRUE);
	if (f->orders)
		g_array_free(f->orders, TRUE);
	g_free(f);
}

struct gs_oracle *gs_oracle_new(void)
{
	struct gs_oracle *o = spare_oracle;

	if (o) {
		spare_oracle = NULL;
	} else {
		o = g_new0(struct gs_oracle, 1);
		o->files = g_ptr_array_new();
		o->pins = g_array_new(FALSE, FALSE, sizeof(struct opin));
	}
	o->epoch = 1;
	oracles = g_list_prepend(oracles, o);
	o->link = oracles;
	return o;
}

void gs_oracle_free(struct gs_oracle *o)
{
	if (!o)
		return;
	for (guint i = 0; i < o->files->len; i++)
		file_release(g_ptr_array_index(o->files, i));
	o->files->len = 0;
	array_cut(o->pins, 0);
	if (o->pins_saved)
		g_array_free(o->pins_saved, TRUE);
	o->pins_saved = NULL;
	oracles = g_list_delete_link(oracles, o->link);
	o->link = NULL;
	if (!spare_oracle) {
		/* The view's array stays: its contents are written by each read. */
		spare_oracle = o;
		return;
	}
	g_ptr_array_free(o->files, TRUE);
	g_array_free(o->pins, TRUE);
	g_free(o->view);
	g_free(o);
}

/* P31 (and rule 5): flags, then the order, then the size. */
static int create_check(uint64_t size, const struct gs_oracle_cfg *c)
{
	bool hugetlb = c->flags & GS_GUEST_MEMFD_FLAG_HUGETLB;

	if (c->supported && (c->flags & ~c->supported))
		return -EINVAL;
	if (c->page_order && !hugetlb)
		return -EINVAL;
	if (hugetlb && (c->flags & GS_GUEST_MEMFD_FLAG_INIT_SHARED))
		return -EINVAL;
	if (hugetlb && c->page_order != 9 && c->page_order != 18)
		return -EINVAL;
	if ((int64_t)size <= 0 || size % (OPAGE << c->page_order))
		return -EINVAL;
	/* Seeds 001, 002: ALLOW_HUGEPAGE, not with HugeTLB, needs a size of whole PMDs. */
	if ((c->flags & GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE) && (hugetlb || size % (OPAGE << 9)))
		return -EINVAL;
	return 0;
}

int gs_oracle_create(struct gs_oracle *o, uint64_t size, const struct gs_oracle_cfg *cfg,
		     struct gs_oracle_pred *p)
{
	struct ofile *f;
	struct orun all;

	*p = (struct gs_oracle_pred){.err = create_check(size, cfg)};
	if (p->err)
		return -1;
	f = file_alloc();
	f->size = size;
	f->npages = size / OPAGE;
	f->cfg = *cfg;
	/* The thp backing: asked for, or implied by a size of whole 2 MiB blocks. */
	f->cfg.thp = cfg->thp && !(cfg->flags & GS_GUEST_MEMFD_FLAG_HUGETLB) &&
		     ((cfg->flags & GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE) || !(size % (OPAGE << 9)));
	f->mapped_known = true;
	f->dirty_s = UINT64_MAX;
	f->gen = 1; /* counted: 0, not yet */
	/* P1: the whole range starts as INIT_SHARED says. */
	all = (struct orun){.start = 0, .end = f->npages};
	all.pg.priv = !(cfg->flags & GS_GUEST_MEMFD_FLAG_INIT_SHARED);
	g_array_append_val(f->runs, all);
	g_ptr_array_add(o->files, f);
	predict_blocks(f, p);
	return (int)o->files->len - 1;
}

/* Rule 16: the VFS checks, then guest_memfd's (P32 for HugeTLB granularity). */
static int falloc_check(const struct ofile *f, int mode, int64_t off, int64_t len)
{
	uint64_t gran = OPAGE << f->cfg.page_order;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~GS_FALLOC_FL_SUPPORTED_MASK)
		return -EOPNOTSUPP;
	if ((mode & GS_FALLOC_FL_PUNCH_HOLE) && !(mode & GS_FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (off > INT64_MAX - len)
		return -EFBIG;
	if (!(mode & GS_FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((uint64_t)off % gran || (uint64_t)len % gran)
		return -EINVAL;
	if (!(mode & GS_FALLOC_FL_PUNCH_HOLE) && (uint64_t)(off + len) > f->size)
		return -EINVAL;
	return 0;
}

/* Pins on the pages of [@s, @e) now hold pages the file no longer has. */
static void detach_pins(struct gs_oracle *o, int id, uint64_t s, uint64_t e)
{
	for (guint i = 0; i < o->pins->len; i++) {
		struct opin *pin = &g_array_index(o->pins, struct opin, i);

		if (pin->file == id && pin->index >= s && pin->index < e)
			pin->attached = false;
	}
}

/*
 * A punch of [@s, @e) in a thp file splits the 2 MiB folios across its
 * edges, which unmaps their other pages from the host too: where the edges
 * are not 2 MiB aligned the host mappings are no longer known.
 */
static void thp_punch_edges(struct ofile *f, uint64_t s, uint64_t e)
{
	if (f->cfg.thp && ((s | e) & 511))
		f->mapped_known = false;
}

/*
 * A strategy of its own may refuse a punch of a thp file whose edges cut
 * into 2 MiB folios (its punch hook, GS_PUNCH_REFUSE: EINVAL, nothing
 * changed). If so, the pins as they are go aside, for a refusal to give
 * back (gs_oracle_unpredicted()).
 */
static bool punch_may_refuse(struct gs_oracle *o, const struct ofile *f, uint64_t s, uint64_t e)
{
	bool may = f->cfg.thp && f->cfg.custom_strategy && ((s | e) & 511);

	if (o->pins_saved)
		g_array_free(o->pins_saved, TRUE);
	o->pins_saved = may ? g_array_copy(o->pins) : NULL;
	return may;
}

int gs_oracle_fallocate(struct gs_oracle *o, int id, int mode, int64_t off, int64_t len,
			struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	uint64_t s, e;

	*p = (struct gs_oracle_pred){0};
	if (!f)
		return p->err = -EBADF;
	save(f);
	punch_may_refuse(o, f, 0, 0); /* no pins aside from an earlier line */
	p->err = falloc_check(f, mode, off, len);
	if (p->err)
		goto out;
	s = (uint64_t)off / OPAGE;
	e = MIN((uint64_t)(off + len) / OPAGE, f->npages);
	if (!(mode & GS_FALLOC_FL_PUNCH_HOLE)) {
		alloc_range(f, s, e); /* rule 17: not zeroed here */
		goto out;
	}
	/* Rule 18: nothing at or past i_size. P36: a referenced huge page cannot merge back. */
	if (f->cfg.page_order && first_where(f, s, e, is_pinned, NULL) < e) {
		p->err = -EAGAIN;
		goto out;
	}
	/*
	 * A strategy of its own may refuse a punch into a THP (its punch hook,
	 * GS_PUNCH_REFUSE: EINVAL, nothing changed): either answer is its, and
	 * the pins a refusal leaves attached are kept aside.
	 */
	p->refusable = punch_may_refuse(o, f, s, e);
	range_apply(f, s, e, pg_free, NULL); /* P11: attributes stay */
	detach_pins(o, id, s, e);
	thp_punch_edges(f, s, e);
out:
	predict_blocks(f, p);
	return p->err;
}

/* P6 (v8), P20 (rfc-v2): the argument checks, before any state is looked at. */
static int convert_check(const struct ofile *f, const struct gs_kvm_memory_attributes2 *a,
			 bool *noop)
{
	bool rfc = f->cfg.conversion == GS_CONVERSION_RFC_V2;

	*noop = false;
	if (!f->cfg.in_place)
		return -ENOTTY; /* P2 */
	if (a->flags)
		return -EINVAL;
	for (unsigned int i = 0; i < G_N_ELEMENTS(a->reserved); i++)
		if (a->reserved[i])
			return -EINVAL;
	if (!f->cfg.has_private_mem)
		return -EINVAL;
	if (a->attributes & ~GS_KVM_MEMORY_ATTRIBUTE_PRIVATE)
		return -EINVAL;
	if (rfc && a->error_offset)
		return -EINVAL;
	if (rfc && !a->size) {
		*noop = true;
		return 0;
	}
	if (!a->size || a->offset + a->size < a->offset)
		return -EINVAL;
	if (a->offset % OPAGE || a->size % OPAGE)
		return -EINVAL;
	if (a->offset >= f->size || a->offset + a->size > f->size)
		return -EINVAL;
	return 0;
}

/* Where a failed to-private conversion stopped: the end of its batch or work item. */
static uint64_t failed_unit_end(const struct ofile *f, uint64_t bad, uint64_t e)
{
	uint64_t nr = huge_nr(f);

	switch (f->cfg.conversion) {
	case GS_CONVERSION_WIP: /* P35: one huge-page batch at a time */
		return f->cfg.page_order ? MIN((bad | (nr - 1)) + 1, e) : e;
	case GS_CONVERSION_RFC_V2:
		/*
		 * P20: the work item, a range of the attribute tree whose value
		 * differs. Its end depends on how the tree split its ranges, which
		 * rfc-v2 does not merge: known up to the failing page only.
		 */
		return bad + 1;
	default: /* P7, P37: the whole range at once */
		return e;
	}
}

static bool is_mapped(const struct opage *pg, const void *arg)
{
	(void)arg;
	return pg->alloc && pg->mapped;
}

static bool is_shared(const struct opage *pg, const void *arg)
{
	(void)arg;
	return !pg->priv;
}

static bool is_private(const struct opage *pg, const void *arg)
{
	(void)arg;
	return pg->priv;
}

/*
 * Seed 001: whether a 2 MiB block of a thp file is one folio is best
 * effort, not predicted. If it is, to private counts the references of
 * the whole folio (a pin anywhere in it: -EAGAIN), and to shared splits it
 * where it has a private page (split_huge_page(): a pin fails it, -EAGAIN;
 * the host's mappings of its shared pages go).
 */
static void thp_split_risks(struct ofile *f, uint64_t s, uint64_t e, uint8_t to,
			    struct gs_oracle_pred *p)
{
	for (uint64_t b = s & ~511ULL; b < e; b += 512) {
		uint64_t be = MIN(b + 512, f->npages);
		bool pinned = first_where(f, b, be, is_pinned, NULL) < be;

		if (to) {
			/*
			 * The range's own host mappings go before the count; a THP's
			 * other pages may be mapped by the same fault (the whole folio).
			 */
			p->unpredicted |= pinned || !f->mapped_known ||
					  first_where(f, b, be, is_mapped, NULL) < be;
			continue;
		}
		if (first_where(f, b, be, is_shared, NULL) == be ||
		    first_where(f, b, be, is_private, NULL) == be)
			continue;
		f->mapped_known = false;
		p->unpredicted |= pinned;
	}
}

/*
 * The punch-hole strategy (seed 002): no reference is checked; the range
 * is punched as fallocate would (contents lost: the next use reads zero,
 * P10) and takes the new attribute.
 */
static int convert_by_punch(struct gs_oracle *o, int id, struct ofile *f, uint64_t s, uint64_t e,
			    uint8_t to, struct gs_oracle_pred *p)
{
	p->refusable = punch_may_refuse(o, f, s, e);
	range_apply(f, s, e, pg_free, NULL);
	detach_pins(o, id, s, e);
	thp_punch_edges(f, s, e);
	range_apply(f, s, e, pg_set_attr, &to);
	return 0;
}

int gs_oracle_convert(struct gs_oracle *o, int id, const struct gs_kvm_memory_attributes2 *a,
		      struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	uint8_t to;
	uint64_t s, e, bad;
	bool noop;

	*p = (struct gs_oracle_pred){0};
	if (!f)
		return p->err = -EBADF;
	save(f);
	punch_may_refuse(o, f, 0, 0); /* no pins aside from an earlier line */
	/* P7.5: error_offset is written back only when the conversion fails past the checks. */
	p->has_error_offset = true;
	p->error_offset = a->error_offset;
	p->err = convert_check(f, a, &noop);
	if (p->err || noop)
		return p->err;
	to = (a->attributes & GS_KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0;
	s = a->offset / OPAGE;
	e = (a->offset + a->size) / OPAGE;
	/* P7.1: the whole range has the value already: done before any reference is looked at. */
	if (first_where(f, s, e, attr_differs, &to) == e)
		return 0;
	/* v8 knows no HugeTLB (docs/CONVERSION.md, step 11); rfc-v2 does (P25). */
	if (f->cfg.page_order && (f->cfg.conversion == GS_CONVERSION_V8 ||
				  f->cfg.conversion == GS_CONVERSION_PUNCH_HOLE)) {
		p->has_error_offset = false;
		return p->err = -EOPNOTSUPP;
	}
	if (f->cfg.conversion == GS_CONVERSION_PUNCH_HOLE)
		return convert_by_punch(o, id, f, s, e, to, p);
	if (f->cfg.thp)
		thp_split_risks(f, s, e, to, p);
	bad = to ? first_where(f, s, e, is_pinned, NULL) : e;
	if (bad < e) {
		uint64_t unit = failed_unit_end(f, bad, e);
		uint64_t done = f->cfg.conversion == GS_CONVERSION_WIP && f->cfg.page_order
					? bad & ~(huge_nr(f) - 1)
					: s;

		/* P7.3: the host mappings went before the references were counted. */
		range_apply(f, s, unit, pg_unmap, NULL);
		if (f->cfg.conversion == GS_CONVERSION_RFC_V2)
			f->mapped_known = false;
		/* P35: the batches before the failing one stay converted. */
		range_apply(f, s, MAX(done, s), pg_set_attr, &to);
		p->err = -EAGAIN;
		/*
		 * v8 and planned: max(offset, folio->index); wip and rfc-v2:
		 * folio->index. A pinned page is a shared 4 KiB folio either way.
		 */
		p->error_offset = bad * OPAGE;
		return p->err;
	}
	if (to)
		range_apply(f, s, e, pg_unmap, NULL);
	range_apply(f, s, e, pg_set_attr, &to); /* P9: contents untouched */
	return 0;
}

struct write_arg {
	uint8_t byte;
	bool whole;
};

static void pg_write(struct opage *pg, void *arg)
{
	const struct write_arg *w = arg;

	pg->mapped = 1;
	if (w->whole || pg->content == w->byte)
		pg->content = w->byte;
	else
		pg->content = CONTENT_MIX;
}

static void pg_map(struct opage *pg, void *arg)
{
	(void)arg;
	pg->mapped = 1;
}

/* A store of @byte over the bytes [@off, @off + @len) of pages that host faults mapped. */
static void write_bytes(struct ofile *f, uint64_t off, uint64_t len, uint8_t byte)
{
	uint64_t s = off / OPAGE, e = (off + len + OPAGE - 1) / OPAGE;
	uint64_t fs = (off + OPAGE - 1) / OPAGE, fe = (off + len) / OPAGE;
	struct write_arg part = {.byte = byte}, whole = {.byte = byte, .whole = true};

	if (fs >= fe) {
		range_apply(f, s, e, pg_write, &part);
		return;
	}
	range_apply(f, s, fs, pg_write, &part);
	range_apply(f, fs, fe, pg_write, &whole);
	range_apply(f, fe, e, pg_write, &part);
}

int gs_oracle_access(struct gs_oracle *o, int id, uint64_t off, uint64_t len, bool write,
		     uint8_t byte, struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	uint64_t s, e, stop, end;

	*p = (struct gs_oracle_pred){0};
	if (!f || !len)
		return -EINVAL;
	save(f);
	s = off / OPAGE;
	e = (off + len + OPAGE - 1) / OPAGE;
	/* Rule 24: no page past i_size; P5: none that is private; rule 43: none poisoned. */
	stop = first_where(f, s, MIN(e, f->npages), host_refused, NULL);
	if (stop > f->npages || e > f->npages)
		stop = MIN(stop, f->npages);
	end = MIN(off + len, stop * OPAGE);
	p->sigbus = stop < e;
	p->done = end > off ? end - off : 0;
	if (stop <= s)
		return 0;
	use_range(f, s, stop);
	if (write) {
		write_bytes(f, off, end - off, byte);
		return 0;
	}
	range_apply(f, s, stop, pg_map, NULL);
	if (first_where(f, s, s + 1, is_mixed, NULL) == s)
		return 0;
	{
		struct opage pg = pg_at(f, s);
		uint16_t first = pg.content;

		p->has_data = true;
		p->data = (uint8_t)first;
		if (first_where(f, s, stop, is_mixed, NULL) < stop)
			return 0;
		p->has_uniform = true;
		p->uniform = first_where(f, s, stop, content_differs, &first) == stop;
	}
	return 0;
}

int gs_oracle_pin(struct gs_oracle *o, int id, uint64_t off, struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	uint64_t idx = off / OPAGE;
	struct opin pin = {.file = id, .index = idx, .attached = true};
	struct opage pg;

	*p = (struct gs_oracle_pred){0};
	if (!f)
		return p->err = -EBADF;
	save(f);
	/* GUP faults the page in first: private is EFAULT, then a poisoned page EHWPOISON. */
	if (idx >= f->npages)
		return p->err = -EFAULT;
	pg = pg_at(f, idx);
	/* The fault looks at the attribute before the folio (P5, then rule 43). */
	if (pg.priv)
		return p->err = -EFAULT;
	if (pg.alloc && pg.poisoned)
		return p->err = -EHWPOISON;
	use_range(f, idx, idx + 1);
	range_apply(f, idx, idx + 1, pg_map, NULL); /* the first change: the saved runs are taken */
	run_split(f->runs, idx);
	run_split(f->runs, idx + 1);
	g_array_index(f->runs, struct orun, run_find(f->runs, idx)).pg.pins++;
	runs_coalesce(f->runs);
	model_changed(f, false); /* a pin count only */
	g_array_append_val(o->pins, pin);
	return 0;
}

int gs_oracle_unpin(struct gs_oracle *o, int id, uint64_t off)
{
	struct ofile *f = file_get(o, id);
	uint64_t idx = off / OPAGE;

	if (!f)
		return -ENOENT;
	save(f);
	for (guint i = o->pins->len; i-- > 0;) {
		struct opin pin = g_array_index(o->pins, struct opin, i);

		if (pin.file != id || pin.index != idx)
			continue;
		g_array_remove_index(o->pins, i);
		if (pin.attached) {
			runs_write(f);
			run_split(f->runs, idx);
			run_split(f->runs, idx + 1);
			g_array_index(f->runs, struct orun, run_find(f->runs, idx)).pg.pins--;
			runs_coalesce(f->runs);
			model_changed(f, false); /* a pin count only */
		}
		return 0;
	}
	return -ENOENT;
}

void gs_oracle_munmap(struct gs_oracle *o, int id)
{
	struct ofile *f = file_get(o, id);

	if (!f)
		return;
	range_apply(f, 0, f->npages, pg_unmap, NULL);
	f->mapped_known = true;
}

void gs_oracle_munmap_range(struct gs_oracle *o, int id, uint64_t off, uint64_t len)
{
	struct ofile *f = file_get(o, id);
	uint64_t s, e;

	if (!f || !len)
		return;
	s = off / OPAGE;
	e = len > UINT64_MAX - off - (OPAGE - 1) ? f->npages : (off + len + OPAGE - 1) / OPAGE;
	/* The pages outside keep theirs: whether the file is known stays as it was. */
	range_apply(f, s, MIN(e, f->npages), pg_unmap, NULL);
}

static bool not_private_or_poisoned(const struct opage *pg, const void *arg)
{
	(void)arg;
	return !pg->priv || (pg->alloc && pg->poisoned);
}

/*
 * May a 1 GiB file hold 2 MiB folios? Under optimized (cfg.pmd_pieces)
 * exactly over every all-private 2 MiB range outside an all-private 1 GiB
 * page; under a strategy of its own (split_order, merge_order) maybe.
 */
static bool pmd_folios(const struct ofile *f)
{
	return (f->cfg.pmd_pieces || f->cfg.custom_strategy) && f->cfg.page_order > 9;
}

/* Is the 2 MiB range holding @index all private (and unpoisoned), in such a file? */
static bool pmd_private(const struct ofile *f, uint64_t index)
{
	uint64_t base = index & ~511ULL;

	return pmd_folios(f) &&
	       first_where(f, base, base + 512, not_private_or_poisoned, NULL) == base + 512;
}

/* Rule 35: a huge leaf needs gfn and index aligned alike and the whole huge page in the slot. */
static bool slot_allows_huge(uint64_t gfn, uint64_t index, uint64_t first, uint64_t npages,
			     unsigned int order)
{
	uint64_t nr = 1ULL << order, base = gfn & ~(nr - 1);

	return order && !((gfn ^ index) & (nr - 1)) && base >= first && base + nr <= first + npages;
}

/*
 * Rule 35, P29, P40: a leaf over @index is huge only over a whole-private,
 * unpoisoned huge page the slot maps aligned and whole; 1 (4K) otherwise.
 */
static int level_bound(const struct ofile *f, uint64_t index, uint64_t gfn, uint64_t slot_gfn,
		       uint64_t slot_npages)
{
	unsigned int order = map_order(f);
	uint64_t nr = 1ULL << order, base = index & ~(nr - 1);

	if (slot_allows_huge(gfn, index, slot_gfn, slot_npages, order) &&
	    first_where(f, base, base + nr, not_private_or_poisoned, NULL) == base + nr)
		return order >= 18 ? 3 : 2;
	/* optimized: a 2 MiB folio over an all-private 2 MiB range of a 1 GiB file. */
	if (pmd_private(f, index) && slot_allows_huge(gfn, index, slot_gfn, slot_npages, 9))
		return 2;
	return 1;
}

int gs_oracle_guest_fault(struct gs_oracle *o, int id, uint64_t index, bool private, uint64_t gfn,
			  uint64_t slot_gfn, uint64_t slot_npages, struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	struct opage pg;

	*p = (struct gs_oracle_pred){0};
	if (!f || index >= f->npages)
		return p->err = -EFAULT;
	save(f);
	pg = pg_at(f, index);
	if (!f->cfg.in_place) {
		p->unpredicted = true; /* attributes per VM: not the file's model */
		return 0;
	}
	/* P15: the access kind must match the index's attribute. */
	if (pg.priv != private) {
		p->memory_fault = true;
		return p->err = -EFAULT;
	}
	/* Rule 34: a shared fault outside a GMEM_ONLY slot is served from userspace_addr. */
	if (!private && !(f->cfg.flags & GS_GUEST_MEMFD_FLAG_MMAP)) {
		p->unpredicted = true;
		return 0;
	}
	/* Rule 43; KVM prepares a memory-fault exit for any error of get_pfn [inferred]. */
	if (pg.alloc && pg.poisoned) {
		p->memory_fault = true;
		return p->err = -EHWPOISON;
	}
	use_range(f, index, index + 1);
	p->max_level = private ? level_bound(f, index, gfn, slot_gfn, slot_npages) : 1;
	return 0;
}

int gs_oracle_level_bound(const struct gs_oracle *o, int id, uint64_t index, uint64_t gfn,
			  uint64_t slot_gfn, uint64_t slot_npages)
{
	const struct ofile *f = file_get((struct gs_oracle *)o, id);

	return f && index < f->npages ? level_bound(f, index, gfn, slot_gfn, slot_npages) : 1;
}

int gs_oracle_get_pfn(struct gs_oracle *o, int id, uint64_t index, struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	uint64_t nr, base;

	*p = (struct gs_oracle_pred){0};
	if (!f)
		return p->err = -EBADF;
	save(f);
	if (index >= f->npages) {
		p->unpredicted = true; /* no binding there: the slot's business */
		return 0;
	}
	if (pg_at(f, index).alloc && pg_at(f, index).poisoned)
		return p->err = -EHWPOISON;
	use_range(f, index, index + 1);
	/* P29: the folio's order, 0 where the huge page is not all private. */
	nr = 1ULL << map_order(f);
	base = index & ~(nr - 1);
	p->has_max_order = true;
	p->max_order = first_where(f, base, base + nr, not_private_or_poisoned, NULL) == base + nr
			       ? map_order(f)
			       : 0;
	if (!p->max_order && pmd_private(f, index))
		p->max_order = 9;
	/*
	 * P39: the WIP branch's unrounded range may give less than the folio
	 * order; a thp file's folio may be 4 KiB (seed 001: no guarantee).
	 */
	p->max_order_exact = f->cfg.in_place && f->cfg.conversion != GS_CONVERSION_WIP &&
			     !f->cfg.custom_strategy && !f->cfg.thp;
	return 0;
}

static void pg_poison(struct opage *pg, void *arg)
{
	(void)arg;
	pg->poisoned = 1;
}

int gs_oracle_poison(struct gs_oracle *o, int id, uint64_t index, struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);

	*p = (struct gs_oracle_pred){0};
	if (!f)
		return p->err = -EBADF;
	save(f);
	/*
	 * HugeTLB memory failure is in no version (spec §4.16): not modelled;
	 * nor is a THP's (which pages a best-effort THP holds, and its split).
	 */
	if (f->cfg.thp && index < f->npages) {
		p->unpredicted = true;
		f->lost = true;
		return 0;
	}
	if (index >= f->npages || !pg_at(f, index).alloc)
		return p->err = -ENOENT;
	if (f->cfg.page_order) {
		p->unpredicted = true;
		f->lost = true;
		return 0;
	}
	/* Rule 42: the folio stays, marked; its host PTEs go with the zap. */
	range_apply(f, index, index + 1, pg_poison, NULL);
	range_apply(f, index, index + 1, pg_unmap, NULL);
	return 0;
}

int gs_oracle_gsplit(struct gs_oracle *o, int id, uint64_t index, bool shared,
		     struct gs_oracle_pred *p)
{
	struct ofile *f = file_get(o, id);
	uint64_t nr, base;
	uint8_t to = 0;

	*p = (struct gs_oracle_pred){0};
	if (!f)
		return p->err = -EBADF;
	save(f);
	if (!f->cfg.page_order || index >= f->npages)
		return p->err = -EINVAL;
	if (!pg_at(f, index).alloc)
		return p->err = -ENOENT;
	nr = huge_nr(f);
	base = index & ~(nr - 1);
	if (shared) {
		/* What a conversion of that page to shared does to the file (P25). */
		range_apply(f, index, index + 1, pg_set_attr, &to);
	} else if (first_where(f, base, base + nr, not_private_or_poisoned, NULL) == base + nr) {
		/* A whole private page split by hand: against P25, not followed. */
		p->unpredicted = true;
		f->lost = true;
	}
	return 0;
}

void gs_oracle_close(struct gs_oracle *o, int id)
{
	struct ofile *f = file_get(o, id);

	if (f) {
		f->closed = true;
		f->bound = NULL;
	}
}

void gs_oracle_unpredicted(struct gs_oracle *o, int id, const char *op, int err)
{
	struct ofile *f = file_get(o, id);
	bool atomic;

	(void)op;
	(void)err;
	if (!f)
		return;
	/*
	 * P7/P37 (and rfc-v2's rollback) promise all or nothing for a
	 * conversion; a punch a strategy refuses (EINVAL) changes nothing.
	 */
	atomic = (!strcmp(op, "convert") && f->cfg.conversion != GS_CONVERSION_WIP) ||
		 (err == -EINVAL && o->pins_saved);
	if (err == -EINVAL && o->pins_saved) {
		g_array_free(o->pins, TRUE);
		o->pins = o->pins_saved;
		o->pins_saved = NULL;
	}
	if (!atomic) {
		f->lost = true;
		return;
	}
	/* (no change since the save: the runs are the saved ones already) */
	if (!f->save_pending) {
		array_cut(f->runs, 0);
		g_array_append_vals(f->runs, f->saved->data, f->saved->len);
	}
	model_changed(f, true);
	f->dirty_s = 0;
	f->dirty_e = f->npages;
	f->clean = 0;
	/* The host PTEs of a to-private attempt may be gone or not, by the failing step. */
	f->mapped_known = false;
}

bool gs_oracle_followed(const struct gs_oracle *o, int id)
{
	const struct ofile *f = file_get((struct gs_oracle *)o, id);

	return f && !f->closed && !f->lost;
}

unsigned int gs_oracle_nr_runs(const struct gs_oracle *o, int id)
{
	const struct ofile *f = file_get((struct gs_oracle *)o, id);

	return f ? f->runs->len : 0;
}

uint64_t gs_oracle_alloc_bytes(const struct gs_oracle *o, int id)
{
	/* Its counts are a cache of the model's: reading them changes no state. */
	struct ofile *f = file_get((struct gs_oracle *)o, id);

	return f ? alloc_bytes(f) : 0;
}

uint64_t gs_oracle_used_hpages(const struct gs_oracle *o, int id)
{
	/* Its counts are a cache of the model's: reading them changes no state. */
	struct ofile *f = file_get((struct gs_oracle *)o, id);

	return f && f->cfg.page_order ? used_hpages(f) : 0;
}

void gs_oracle_bind(struct gs_oracle *o, int id, struct gmem_file *file)
{
	struct ofile *f = file_get(o, id);

	if (f)
		f->bound = file;
}

/* --- comparison with the simulator's state --- */

/*
 * The simulator's state over [s, e): runs of indices in one state (one
 * attribute, one folio state or none), sorted, as kvm_gmem_query() gives
 * them; a dump's records are joined into the same runs. Indices outside
 * it are not compared.
 */
struct sim_view {
	uint64_t s, e;
	struct kvm_gmem_run *runs;
	size_t nr, cap;
	/*
	 * The file's counters, written here by kvm_gmem_query_counters()
	 * itself: a copy out of its own struct was read back with wider loads
	 * than its stores (a store-forwarding stall per compare).
	 */
	struct kvm_gmem_counters c;
};

static enum gs_oracle_read read_mode = GS_ORACLE_READ_QUERY;
static unsigned long reads_compared;

enum gs_oracle_read gs_oracle_set_read(enum gs_oracle_read mode)
{
	enum gs_oracle_read old = read_mode;

	read_mode = mode;
	return old;
}

unsigned long gs_oracle_reads_compared(void)
{
	return reads_compared;
}

/*
 * A view over [s, e) in an array of its own, or in @o's (emptied), which it
 * keeps: the runs are written in place by the query, no append per run.
 */
static void view_init(struct sim_view *v, struct gs_oracle *o, uint64_t s, uint64_t e)
{
	*v = (struct sim_view){.s = s, .e = e};
	if (o) {
		v->runs = o->view;
		v->cap = o->view_cap;
	}
}

/* Room for at least one more run. */
static void view_grow(struct sim_view *v)
{
	v->cap = v->cap ? v->cap * 2 : 64;
	v->runs = g_renew(struct kvm_gmem_run, v->runs, v->cap);
}

static void view_clear(struct sim_view *v, struct gs_oracle *o)
{
	if (o) {
		/* The array may have grown: the oracle keeps it for the next compare. */
		o->view = v->runs;
		o->view_cap = v->cap;
		return;
	}
	g_free(v->runs);
}

static uint64_t num(const char *s)
{
	return s ? strtoull(s, NULL, 0) : 0;
}

static struct sival *last_ival(GArray *a)
{
	return a->len ? &g_array_index(a, struct sival, a->len - 1) : NULL;
}

/*
 * A run's folio state packed: bit 0 mapped, bit 1 poisoned, bit 2 present,
 * bits 8-15 the order; 0 where nothing is allocated.
 */
static inline uint64_t run_folio(const struct kvm_gmem_run *r)
{
	return r->allocated
		       ? 4 | (r->poisoned ? 2 : 0) | (r->mapcount > 0) | (uint64_t)r->order << 8
		       : 0;
}

/* The piece of @a holding @cur, or NULL (pieces before it skipped through *@j). */
static const struct sival *ival_at(GArray *a, guint *j, uint64_t cur, uint64_t *next)
{
	const struct sival *p;

	while (*j < a->len && g_array_index(a, struct sival, *j).end <= cur)
		(*j)++;
	p = *j < a->len ? &g_array_index(a, struct sival, *j) : NULL;
	if (p && p->start <= cur) {
		*next = p->end;
		return p;
	}
	*next = p ? p->start : UINT64_MAX;
	return NULL;
}

/*
 * Join a dump's shareability pieces and folio pieces into runs: at each
 * index the attribute (2 where none) and the folio (none where none), a
 * run per step where either changes.
 */
static void view_join(struct sim_view *v, GArray *attr, GArray *folios)
{
	const struct sival *la = last_ival(attr), *lf = last_ival(folios);
	uint64_t cur = 0, end = MAX(la ? la->end : 0, lf ? lf->end : 0);
	guint ja = 0, jf = 0;

	while (cur < end) {
		uint64_t na, nf;
		const struct sival *a = ival_at(attr, &ja, cur, &na),
				   *f = ival_at(folios, &jf, cur, &nf);

		if (v->nr == v->cap)
			view_grow(v);
		v->runs[v->nr] = (struct kvm_gmem_run){
			.start = cur, .end = MIN(MIN(na, nf), end), .attr = a ? (int)a->val : 2};
		if (f)
			v->runs[v->nr] = (struct kvm_gmem_run){.start = cur,
							       .end = v->runs[v->nr].end,
							       .allocated = true,
							       .poisoned = f->val & 2,
							       .order = f->val >> 8 & 0xff,
							       .mapcount = f->val & 1,
							       .attr = v->runs[v->nr].attr};
		cur = v->runs[v->nr++].end;
	}
}

/* Read the records kvm_gmem_dump_state() writes under "f" (the whole file). */
static void sim_view_read_dump(struct sim_view *v, struct gmem_file *file)
{
	struct gs_state *st = gs_state_new();
	GArray *vattr = g_array_new(FALSE, FALSE, sizeof(struct sival));
	GArray *vfolios = g_array_new(FALSE, FALSE, sizeof(struct sival));

	kvm_gmem_dump_state(st, "f", file->inode);
	for (unsigned int i = 0; i < gs_state_count(st); i++) {
		const struct gs_state_rec *r = gs_state_nth(st, i);
		uint64_t a, b;

		if (!strcmp(r->path, "f") && !strcmp(r->key, "i_bytes")) {
			v->c.i_bytes = num(r->value);
		} else if (!strncmp(r->path, "f/folio/", 8)) {
			a = num(r->path + 8);
			if (!strcmp(r->key, "order")) {
				struct sival s = {a, a + (1ULL << num(r->value)),
						  4 | num(r->value) << 8};

				g_array_append_val(vfolios, s);
			} else if (!strcmp(r->key, "map") && last_ival(vfolios)) {
				last_ival(vfolios)->val |= num(r->value) > 0;
			} else if (!strcmp(r->key, "bad_pages") && last_ival(vfolios)) {
				last_ival(vfolios)->val |= 2;
			}
		} else if (!strncmp(r->path, "f/shareability/", 15) && !strcmp(r->key, "value")) {
			char *dash;
			struct sival s;

			a = strtoull(r->path + 15, &dash, 0);
			b = *dash == '-' ? strtoull(dash + 1, NULL, 0) : a;
			s = (struct sival){a, b + 1,
					   !strcmp(r->value, "private")	 ? 1
					   : !strcmp(r->value, "shared") ? 0
									 : 2};
			g_array_append_val(vattr, s);
		} else if (!strcmp(r->path, "f/spool")) {
			v->c.has_spool = true;
			if (!strcmp(r->key, "used"))
				v->c.spool_used = (long)num(r->value);
			else if (!strcmp(r->key, "rsv"))
				v->c.spool_rsv = (long)num(r->value);
		}
	}
	gs_state_free(st);
	view_join(v, vattr, vfolios);
	g_array_free(vattr, TRUE);
	g_array_free(vfolios, TRUE);
}

/*
 * Read [v->s, v->e) through kvm_gmem_query(): the same state, no text,
 * written straight into the view's array (the array grows when a read
 * fills it, and the read goes on from the last run's end).
 */
static void sim_view_read_query(struct sim_view *v, struct gmem_file *file)
{
	uint64_t cur = v->s;
	size_t n, room;

	do {
		if (v->nr == v->cap)
			view_grow(v);
		room = v->cap - v->nr;
		n = kvm_gmem_query(file->inode, cur, v->e, v->runs + v->nr, room);
		v->nr += n;
		cur = n ? v->runs[v->nr - 1].end : v->e;
	} while (n == room && cur < v->e);
	kvm_gmem_query_counters(file->inode, &v->c);
}

typedef uint64_t (*pg_val)(const struct opage *pg);

static uint64_t val_attr(const struct opage *pg)
{
	return pg->priv;
}

static uint64_t val_alloc(const struct opage *pg)
{
	return pg->alloc;
}

static uint64_t val_mapped(const struct opage *pg)
{
	return pg->alloc && pg->mapped;
}

static uint64_t val_poisoned(const struct opage *pg)
{
	return pg->alloc && pg->poisoned;
}

struct field {
	const char *what;
	pg_val get;
	uint64_t mask, shift, gap; /* the simulator's value: (val & mask) >> shift; gap: none */
	const char *const *names;
	bool at_least; /* the simulator may say more (1 where the model says 0) */
	bool on_attr;  /* read from a run's attribute, else from run_folio() */
};

static const char *const attr_names[] = {"shared", "private", "none"};
static const char *const bool_names[] = {"no", "yes"};

/*
 * The simulator's run holding @cur (runs before it skipped through *@j), or
 * NULL in a gap; in *@end where it or the gap stops (at most @e).
 */
static inline const struct kvm_gmem_run *run_at(const struct sim_view *v, size_t *j, uint64_t cur,
						uint64_t e, uint64_t *end)
{
	while (*j < v->nr && v->runs[*j].end <= cur)
		(*j)++;
	if (*j < v->nr && v->runs[*j].start <= cur) {
		*end = MIN(v->runs[*j].end, e);
		return &v->runs[*j];
	}
	*end = *j < v->nr ? MIN(v->runs[*j].start, e) : e;
	return NULL;
}

/* The simulator's @fld in run @p (NULL: a gap). */
static inline uint64_t sim_field(const struct field *fld, const struct kvm_gmem_run *p)
{
	if (!p)
		return fld->gap;
	return ((fld->on_attr ? (uint64_t)p->attr : run_folio(p)) & fld->mask) >> fld->shift;
}

static const struct field attr_field = {"attribute", val_attr,	     3, 0, 2,
					attr_names,  .on_attr = true};
static const struct field alloc_field = {"allocated", val_alloc, 4, 2, 0, bool_names};
/*
 * A thp file: a used page is allocated, and so may be the rest of its 2 MiB
 * folio; a host fault may map the whole folio.
 */
static const struct field thp_alloc_field = {"allocated", val_alloc, 4, 2, 0, bool_names, true};
static const struct field thp_mapped_field = {"host-mapped", val_mapped, 1, 0, 0, bool_names, true};
static const struct field mapped_field = {"host-mapped", val_mapped, 1, 0, 0, bool_names};
static const struct field poison_field = {"poisoned", val_poisoned, 2, 1, 0, bool_names};

/*
 * The operation a mismatch names: made only when one is reported (the
 * scenario adapter's line name costs more than a clean comparison's walk).
 */
struct oname {
	gs_oracle_name_fn fn;
	void *arg;
};

static const char *oname(const struct oname *op)
{
	return op->fn(op->arg);
}

static const char *oname_str(void *arg)
{
	return arg;
}

static void report_field(const struct field *fld, const struct oname *op, uint64_t idx, uint64_t sv,
			 uint64_t ov, struct gs_check_report *r, unsigned int *n)
{
	(*n)++;
	gs_check_violation(r, "%s: index 0x%" PRIx64 ": %s simulator=%s oracle=%s", oname(op), idx,
			   fld->what, fld->names[MIN(sv, 2)], fld->names[MIN(ov, 2)]);
}

/* The per-index fields a comparison judges, in the order their differences are reported. */
struct field_diff {
	const struct field *fld;
	bool found;
	uint64_t idx, sv, ov;
};

/* Judge @fld next (no difference found yet). */
static inline void field_use(struct field_diff *d, unsigned int *nf, const struct field *fld)
{
	d[*nf].fld = fld;
	d[(*nf)++].found = false;
}

/*
 * Every field's first difference over [v->s, v->e), in one walk of the
 * model's runs against the simulator's runs (a step per change on either
 * side, not per index): fields[0] is the attribute, the rest are folio
 * fields. The reports are those a walk per field gives.
 */
static void compare_fields(const struct ofile *f, const struct sim_view *v, struct field_diff *d,
			   unsigned int nf, uint64_t fmask, const struct oname *op,
			   struct gs_check_report *r, unsigned int *n)
{
	uint64_t e = MIN(v->e, f->npages);
	unsigned int left = nf;
	size_t j = 0;

	for (guint i = v->s < e ? run_find(f->runs, v->s) : f->runs->len; left && i < f->runs->len;
	     i++) {
		const struct orun *run = &g_array_index(f->runs, struct orun, i);
		const struct opage *pg = &run->pg;
		uint64_t cur = MAX(run->start, v->s), rend = MIN(run->end, e), model;

		if (run->start >= e)
			break;
		/*
		 * The model's folio fields packed as run_folio() packs the
		 * simulator's (val_alloc(), val_poisoned(), val_mapped() at
		 * their shifts), the fields not judged masked out.
		 */
		model = ((uint64_t)pg->alloc << 2 | (uint64_t)(pg->alloc && pg->poisoned) << 1 |
			 (uint64_t)(pg->alloc && pg->mapped)) &
			fmask;
		while (left && cur < rend) {
			uint64_t send;
			const struct kvm_gmem_run *p = run_at(v, &j, cur, rend, &send);

			/*
			 * Every field equal (nearly every step): nothing for the
			 * loop below to find. Any other value, at_least's larger
			 * ones included, goes through it field by field.
			 */
			if (p ? p->attr == pg->priv && (run_folio(p) & fmask) == model
			      : attr_field.gap == pg->priv && !model) {
				cur = send;
				continue;
			}
			for (unsigned int k = 0; k < nf; k++) {
				const struct field *fld = d[k].fld;
				uint64_t o = fld->get(pg), val = sim_field(fld, p);

				if (d[k].found || val == o || (fld->at_least && val > o))
					continue;
				d[k] = (struct field_diff){fld, true, cur, val, o};
				left--;
			}
			cur = send;
		}
	}
	for (unsigned int k = 0; k < nf; k++)
		if (d[k].found)
			report_field(d[k].fld, op, d[k].idx, d[k].sv, d[k].ov, r, n);
}

/* Append [@s, @e) with folio order @order (nothing for an empty range). */
static void ival_add(GArray *a, uint64_t s, uint64_t e, uint64_t order)
{
	struct sival v = {s, e, order};

	if (s < e)
		g_array_append_val(a, v);
}

/*
 * The orders over an allocated, all-private stretch [a, b): the aligned
 * huge pages inside it whole, the edges in pieces of order 0, or, for
 * optimized (@pmd), their aligned 2 MiB ranges as 2 MiB pieces first.
 */
static void private_orders(GArray *out, uint64_t a, uint64_t b, unsigned int order, bool pmd)
{
	uint64_t nr = 1ULL << order, ha = MIN((a + nr - 1) & ~(nr - 1), b),
		 hb = MAX(b & ~(nr - 1), ha);

	if (pmd) {
		private_orders(out, a, ha, 9, false);
		ival_add(out, ha, hb, order);
		private_orders(out, hb, b, 9, false);
		return;
	}
	ival_add(out, a, ha, 0);
	ival_add(out, ha, hb, order);
	ival_add(out, hb, b, 0);
}

/*
 * The folio order each allocated index must have (P25, P34, P37; P35 for
 * wip, P25 for rfc-v2): a huge page is one folio of the page order exactly
 * when all of it is private, else pieces of order 0. Every ordering that
 * converts HugeTLB files merges on to-private, so this holds after every
 * operation the oracle follows. Built from the model's runs, so its length
 * follows them and not the file size.
 */
static void expected_orders(const struct ofile *f, GArray *out)
{
	guint first = 0;

	for (guint i = 1; i <= f->runs->len; i++) {
		const struct orun *s = &g_array_index(f->runs, struct orun, first);
		const struct orun *r =
			i < f->runs->len ? &g_array_index(f->runs, struct orun, i) : NULL;
		uint64_t a = s->start, b;

		/* a stretch of runs equally allocated and private: [a, b) */
		if (r && r->pg.alloc == s->pg.alloc && r->pg.priv == s->pg.priv)
			continue;
		b = r ? r->start : f->npages;
		first = i;
		if (!s->pg.alloc)
			continue;
		if (s->pg.priv)
			private_orders(out, a, b, f->cfg.page_order, pmd_folios(f));
		else
			ival_add(out, a, b, 0);
	}
}

/*
 * The model's expected orders, built again only after its runs changed:
 * they follow from the model alone (its runs, size and configuration),
 * never from the simulator.
 */
static GArray *model_orders(struct ofile *f)
{
	if (!f->orders)
		f->orders = g_array_sized_new(FALSE, FALSE, sizeof(struct sival), 16);
	if (f->orders_gen != f->gen) {
		array_cut(f->orders, 0);
		expected_orders(f, f->orders);
		f->orders_gen = f->gen;
	}
	return f->orders;
}

/* The first of @exp's stretches (sorted, apart) that starts at or after @s. */
static guint orders_from(GArray *exp, uint64_t s)
{
	guint lo = 0, hi = exp->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;

		if (g_array_index(exp, struct sival, mid).start < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The first index of a HugeTLB file whose folio order differs from P25's
 * rule, judged over the indices the view has runs for (contiguous, from its
 * first run's start to its last one's end). The order is a property of each
 * index: a stretch that starts before the view (a whole private file is one
 * stretch) is judged from the view's first index, so a line's own range is
 * judged at that line and not only at the next whole comparison.
 */
static void compare_orders(struct ofile *f, const struct sim_view *sim, const struct oname *op,
			   struct gs_check_report *r, unsigned int *n)
{
	GArray *exp = model_orders(f);
	uint64_t first;
	size_t j = 0;
	guint i;

	if (!sim->nr)
		return;
	first = sim->runs[0].start;
	i = orders_from(exp, first);
	if (i && g_array_index(exp, struct sival, i - 1).end > first)
		i--;
	for (; i < exp->len; i++) {
		const struct sival *e = &g_array_index(exp, struct sival, i);
		uint64_t cur = MAX(e->start, first);

		if (cur >= sim->runs[sim->nr - 1].end)
			break;

		while (cur < e->end) {
			uint64_t pend;
			const struct kvm_gmem_run *p = run_at(sim, &j, cur, e->end, &pend);
			uint64_t order = p ? run_folio(p) >> 8 & 0xff : 0;

			if (!p || !p->allocated)
				break; /* not allocated: the "allocated" field says so */
			/*
			 * A strategy of its own may leave an all-private range in
			 * pieces: of 4 KiB, or of 2 MiB where it is all private.
			 */
			if (order != e->val &&
			    !(f->cfg.custom_strategy && (!order || (order == 9 && e->val >= 9)))) {
				(*n)++;
				gs_check_violation(r,
						   "%s: index 0x%" PRIx64
						   ": folio order simulator=%" PRIu64
						   " oracle=%" PRIu64,
						   oname(op), cur, order, e->val);
				return;
			}
			cur = pend;
		}
	}
}

static void compare_counter(const struct oname *op, const char *what, uint64_t sv, uint64_t ov,
			    struct gs_check_report *r, unsigned int *n)
{
	if (sv == ov)
		return;
	(*n)++;
	gs_check_violation(r, "%s: file: %s simulator=%" PRIu64 " oracle=%" PRIu64, oname(op), what,
			   sv, ov);
}

/* The first index of [s, e) where two reads of the simulator disagree in @fld. */
static bool views_differ(const struct sim_view *a, const struct sim_view *b,
			 const struct field *fld, uint64_t s, uint64_t e, uint64_t *idx)
{
	size_t ja = 0, jb = 0;

	for (uint64_t cur = s; cur < e;) {
		uint64_t ea, eb, va = sim_field(fld, run_at(a, &ja, cur, e, &ea)),
				 vb = sim_field(fld, run_at(b, &jb, cur, e, &eb));

		if (va != vb) {
			*idx = cur;
			return true;
		}
		cur = MIN(ea, eb);
	}
	return false;
}

/* GS_ORACLE_READ_BOTH: the query and the dump must say the same over the range. */
static void cross_check(const struct ofile *f, const struct sim_view *q, struct gmem_file *file,
			const struct oname *op, struct gs_check_report *r, unsigned int *n)
{
	/* (the folio order is only cross-checked: compare_orders() judges it) */
	static const struct field order_field = {"folio order", NULL, 0xff00, 8, 0, NULL};
	static const struct field *const fields[] = {&attr_field, &alloc_field, &mapped_field,
						     &poison_field, &order_field};
	struct sim_view d;
	uint64_t idx, e = MIN(q->e, f->npages);

	view_init(&d, NULL, q->s, q->e);
	sim_view_read_dump(&d, file);
	reads_compared++;
	for (unsigned int i = 0; i < G_N_ELEMENTS(fields); i++) {
		if (views_differ(q, &d, fields[i], q->s, e, &idx)) {
			(*n)++;
			gs_check_violation(r, "%s: index 0x%" PRIx64 ": %s: query and dump differ",
					   oname(op), idx, fields[i]->what);
		}
	}
	if (q->c.i_bytes != d.c.i_bytes || q->c.has_spool != d.c.has_spool ||
	    q->c.spool_used != d.c.spool_used || q->c.spool_rsv != d.c.spool_rsv) {
		(*n)++;
		gs_check_violation(r, "%s: file: counters: query and dump differ", oname(op));
	}
	view_clear(&d, NULL);
}

static unsigned int compare_view(struct gs_oracle *o, struct ofile *f, struct gmem_file *file,
				 uint64_t s, uint64_t e, const struct oname *op,
				 struct gs_check_report *r)
{
	/*
	 * Each entry's field and mark set when used (the rest is written with
	 * the mark): zeroing the array was a `rep stos` per compare.
	 */
	struct field_diff fields[4];
	unsigned int n = 0, nf = 0;
	uint64_t fmask; /* the folio fields' masks (all but the attribute's) */
	const struct field *fld;
	struct sim_view v;

	view_init(&v, o, s, e);
	if (read_mode == GS_ORACLE_READ_DUMP)
		sim_view_read_dump(&v, file);
	else
		sim_view_read_query(&v, file);
	if (read_mode == GS_ORACLE_READ_BOTH)
		cross_check(f, &v, file, op, r, &n);
	field_use(fields, &nf, &attr_field);
	fld = f->cfg.thp ? &thp_alloc_field : &alloc_field;
	field_use(fields, &nf, fld);
	fmask = fld->mask | poison_field.mask;
	if (f->mapped_known) {
		fld = f->cfg.thp ? &thp_mapped_field : &mapped_field;
		field_use(fields, &nf, fld);
		fmask |= fld->mask;
	}
	field_use(fields, &nf, &poison_field);
	compare_fields(f, &v, fields, nf, fmask, op, r, &n);
	if (f->cfg.page_order)
		compare_orders(f, &v, op, r, &n);
	if (!f->cfg.thp || v.c.i_bytes < alloc_bytes(f))
		compare_counter(op, "i_bytes", v.c.i_bytes, alloc_bytes(f), r, &n);
	if (v.c.has_spool) {
		uint64_t sused = (uint64_t)v.c.spool_used, srsv = (uint64_t)v.c.spool_rsv;
		uint64_t used = used_hpages(f), total = f->npages >> f->cfg.page_order;

		/*
		 * A strategy of its own may leave a truncated split page to the
		 * deferred worker (free_split, GS_FREE_DEFER): the subpool counts
		 * it used until then. At least the pages in use, and all of them
		 * used or reserved.
		 */
		if (f->cfg.custom_strategy && sused > used && sused <= total)
			used = sused;
		compare_counter(op, "subpool used", sused, used, r, &n);
		compare_counter(op, "subpool reserved", srsv, total - used, r, &n);
	}
	view_clear(&v, o);
	f->dirty_s = UINT64_MAX;
	f->dirty_e = 0;
	return n;
}

unsigned int gs_oracle_compare(struct gs_oracle *o, int id, struct gmem_file *file, const char *op,
			       struct gs_check_report *r)
{
	return gs_oracle_compare_named(o, id, file, false, 0, 0, oname_str, (void *)op, r);
}

unsigned int gs_oracle_compare_range(struct gs_oracle *o, int id, struct gmem_file *file,
				     uint64_t off, uint64_t len, const char *op,
				     struct gs_check_report *r)
{
	return gs_oracle_compare_named(o, id, file, true, off, len, oname_str, (void *)op, r);
}

unsigned int gs_oracle_compare_named(struct gs_oracle *o, int id, struct gmem_file *file,
				     bool ranged, uint64_t off, uint64_t len,
				     gs_oracle_name_fn name, void *arg, struct gs_check_report *r)
{
	struct ofile *f = file_get(o, id);
	struct oname op = {.fn = name, .arg = arg};
	uint64_t s, e;
	unsigned int n;

	if (!f || !file || f->closed || f->lost)
		return 0;
	if (!ranged) {
		n = compare_view(o, f, file, 0, f->npages, &op, r);
		/* Whole and clean: the same compare again before the state changes finds nothing. */
		f->clean = n ? 0 : o->epoch;
		return n;
	}
	/*
	 * The range itself: what the spec lets the operation change elsewhere
	 * (a first use allocating the whole huge page) the model changed too.
	 */
	s = MIN(off / OPAGE, f->npages);
	e = len > UINT64_MAX - off ? f->npages : MIN((off + len + OPAGE - 1) / OPAGE, f->npages);
	/* And whatever the model itself changed since the last comparison. */
	s = MIN(s, f->dirty_s);
	e = MAX(e, f->dirty_e);
	if (s >= e)
		e = s;
	n = compare_view(o, f, file, s, e, &op, r);
	if (n)
		f->clean = 0;
	return n;
}

void gs_oracle_step(struct gs_oracle *o)
{
	o->epoch++;
}

uint64_t gs_oracle_epoch(const struct gs_oracle *o)
{
	return o->epoch;
}

bool gs_oracle_clean(const struct gs_oracle *o, int id)
{
	const struct ofile *f = file_get((struct gs_oracle *)o, id);

	return f && f->clean == o->epoch;
}

/* `check oracle`: every bound file of every live oracle against the simulator. */
static void oracle_check(struct gs_check_report *r, void *ctx)
{
	(void)ctx;
	for (GList *l = oracles; l; l = l->next) {
		struct gs_oracle *o = l->data;

		/* Its marks are its own: a caller that ran no step since sees them new. */
		gs_oracle_step(o);
		for (guint i = 0; i < o->files->len; i++) {
			struct ofile *f = g_ptr_array_index(o->files, i);

			if (f->bound)
				gs_oracle_compare(o, (int)i, f->bound, "check", r);
		}
	}
}

__attribute__((constructor)) static void oracle_init(void)
{
	WARN_ON(gs_check_register("oracle", oracle_check, NULL) < 0);
}
