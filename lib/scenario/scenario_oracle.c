// SPDX-License-Identifier: MIT
/*
 * The scenario engine's adapter to the per-page oracle (lib/oracle/,
 * docs/ORACLE.md): with `gmemsim run --oracle` (struct gs_scenario_opts.oracle)
 * every guest_memfd line is also handed to the oracle, whose prediction is
 * compared with the line's answer, and the oracle's model of every followed
 * file with the simulator's state. It mirrors no kernel code: it maps the
 * verbs' keys onto the oracle's operations, nothing more.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb_cgroup.h>
#include <gmemsim/hugetlb_hstate.h>
#include <gmemsim/strategy.h>
#include <gmemsim/kvm.h>
#include <gmemsim/oracle.h>
#include <gmemsim/physmem.h>
#include <gmemsim/uapi.h>
#include <gmemsim/xarray.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/internal/scenario_int.h>

#define PAGE ((uint64_t)4096)

/* A gmem slot as the `memslot` lines made it. */
struct oslot {
	char *vm;
	uint64_t slot, gpa, size, off;
	char *gmem;
};

/* The pool's and the current hugetlb cgroup's counters after the last line. */
struct opool {
	unsigned long free, nr, usage;
	unsigned long deferred; /* split pages with a free piece (only when @deferring) */
	const struct hugetlb_cgroup *cg;
};

/* A followed file's name and the oracle's id of it, for file_id(). */
struct fname {
	char *name;
	int id;
	/*
	 * In @names: the name's first 8 bytes, zero-padded (gs_name_key()):
	 * file_id_find() compares a word per name, not the text behind a
	 * pointer per name (a load that missed the cache on most names
	 * natively), unless the word does not show where the name ends.
	 */
	uint64_t key;
};

struct gs_scenario_oracle {
	struct gs_oracle *o;
	/*
	 * gmem name -> file id + 1 (walked in its order). Its keys are the
	 * strings of @names, which owns them: one copy of a name, not two.
	 */
	GHashTable *files;
	/*
	 * The same names in an array of their own (struct fname), looked up by
	 * file_id() while they are few: a name a hash missed (a VM's, the
	 * target of some lines) was hashed twice a line, and lines alternating
	 * between files hashed theirs.
	 */
	GArray *names;
	/*
	 * @files' names and ids (struct fname, its keys) in the order a walk of
	 * it gives, made again (file_order()) when a line that compares every
	 * file first needs it after a change of @files (@order_stale): those
	 * lines go through them in that order without a hash walk each, and
	 * the files made one after the other are walked once, not once each.
	 */
	GArray *order;
	bool order_stale;
	const char *last; /* the name found last (owned by @names) */
	int last_id;	  /* its file id */
	GArray *slots;	  /* struct oslot */
	struct opool pool[HUGE_MAX_HSTATE];
	/*
	 * A file of a strategy of its own with a free_split hook exists: it may
	 * leave truncated split pages to the deferred worker (GS_FREE_DEFER),
	 * out of the file but not back in the pool until the worker runs.
	 */
	bool deferring;
	/*
	 * The hstates (bit hstate_index()) of the HugeTLB files `gmem` lines
	 * made: check_pool() may read a hstate's snapshot from the line after
	 * the first such file on, so it is taken after every line from then on
	 * (before, no line can read it: check_pool() reads the hstate of a
	 * file the oracle follows, and it follows only files `gmem` lines made).
	 */
	unsigned int pools;
	uint64_t end_clean; /* the oracle's epoch after the last line, a `check`; else 0 */
};

/* A split page with a free piece: out of every file's use, not yet back in the pool. */
static void count_deferred(struct hugetlb_folio_meta *meta, void *arg)
{
	unsigned long end = meta->pfn + (1UL << meta->order);

	for (unsigned long p = meta->pfn; p < end; p += folio_nr_pages(pfn_folio(p)))
		if (!folio_ref_count(pfn_folio(p))) {
			++*(unsigned long *)arg;
			return;
		}
}

/*
 * Written in place, field by field: a struct returned by value and copied
 * was read back with wider loads than its stores (a store-forwarding stall
 * per line, 1.8% of a 4 KiB execution by perf).
 */
static void pool_now(const struct gs_scenario_oracle *so, int i, struct hugetlb_cgroup *cg,
		     struct opool *now)
{
	now->free = hstates[i].free_huge_pages;
	now->nr = hstates[i].nr_huge_pages;
	now->usage = cg ? hugetlb_cgroup_usage(cg, i, false) : 0;
	now->cg = cg;
	now->deferred = 0;
	if (so->deferring) {
		spin_lock(&hugetlb_lock);
		hugetlb_for_each_split(&hstates[i], count_deferred, &now->deferred);
		spin_unlock(&hugetlb_lock);
	}
}

/* The pools of @mask (bit hstate_index()) as they are now. */
static void pool_snapshot(struct gs_scenario_oracle *so, unsigned int mask)
{
	struct hugetlb_cgroup *cg = hugetlb_cgroup_current();

	for (int i = 0; i < HUGE_MAX_HSTATE; i++)
		if (mask & 1U << i)
			pool_now(so, i, cg, &so->pool[i]);
}

/*
 * The last run's adapter, emptied, kept for the next run: each input of a
 * fuzz campaign made and freed a hash table and three arrays (~3.5 K
 * instructions an input). Everything a run reads starts as a new one's:
 * oracle_stop() empties the arrays and the table and clears the rest.
 */
static struct gs_scenario_oracle *spare_so;

static struct gs_scenario_oracle *oracle_start(void)
{
	struct gs_scenario_oracle *so = spare_so;

	if (so) {
		spare_so = NULL;
	} else {
		so = g_new0(struct gs_scenario_oracle, 1);
		so->files = g_hash_table_new(g_str_hash, g_str_equal);
		so->slots = g_array_new(FALSE, FALSE, sizeof(struct oslot));
		so->names = g_array_sized_new(FALSE, FALSE, sizeof(struct fname), 8);
		so->order = g_array_sized_new(FALSE, FALSE, sizeof(struct fname), 8);
	}
	so->o = gs_oracle_new();
	pool_snapshot(so, (1U << HUGE_MAX_HSTATE) - 1);
	return so;
}

static void slot_clear(struct oslot *sl)
{
	g_free(sl->vm);
	g_free(sl->gmem);
}

static void oracle_stop(struct gs_scenario_oracle *so)
{
	if (!so)
		return;
	for (guint i = 0; i < so->slots->len; i++)
		slot_clear(&g_array_index(so->slots, struct oslot, i));
	so->slots->len = 0;
	/*
	 * Emptied, a GHashTable is as a new one is (no tombstones, shrunk to
	 * its first size), so the next run's walks give a new table's order
	 * (test_adapter_reused).
	 */
	g_hash_table_remove_all(so->files);
	for (guint i = 0; i < so->names->len; i++)
		g_free(g_array_index(so->names, struct fname, i).name);
	so->names->len = 0;
	so->order->len = 0;
	so->order_stale = false;
	gs_oracle_free(so->o);
	so->o = NULL;
	so->last = NULL;
	so->last_id = 0;
	memset(so->pool, 0, sizeof(so->pool));
	so->deferring = false;
	so->pools = 0;
	so->end_clean = 0;
	if (!spare_so) {
		spare_so = so;
		return;
	}
	g_array_free(so->slots, TRUE);
	g_array_free(so->names, TRUE);
	g_array_free(so->order, TRUE);
	g_hash_table_destroy(so->files);
	g_free(so);
}

/* Names up to which file_id() walks @names rather than hashing. */
#define FEW_NAMES 16

/* file_id() past the name found last. */
static __attribute__((noinline)) int file_id_find(struct gs_scenario_oracle *so, const char *name)
{
	gpointer key, v;
	uint64_t k;
	bool more;

	if (!name)
		return -1;
	if (so->names->len > FEW_NAMES) {
		if (!g_hash_table_lookup_extended(so->files, name, &key, &v))
			return -1;
		so->last = key; /* a string of @names, which file_add() keeps */
		so->last_id = GPOINTER_TO_INT(v) - 1;
		return so->last_id;
	}
	k = gs_name_key(name, &more);
	for (guint i = 0; i < so->names->len; i++) {
		const struct fname *n = &g_array_index(so->names, struct fname, i);

		/* Equal words ending within 8 bytes: equal names, no text read. */
		if (n->key == k && (!more || gs_name_eq(n->name, name))) {
			so->last = n->name;
			so->last_id = n->id;
			return n->id;
		}
	}
	return -1;
}

/* The oracle's id of the file called @name, or -1 when it does not follow it. */
static inline int file_id(struct gs_scenario_oracle *so, const char *name)
{
	/* Several times a line, mostly for the same file: one compare instead of a walk. */
	if (name && so->last && so->last[0] == name[0] && gs_name_eq(so->last, name))
		return so->last_id;
	return file_id_find(so, name);
}

/* Follow the file @name as @id from now on (a file made again under a name it had: the new one). */
static void file_add(struct gs_scenario_oracle *so, const char *name, int id)
{
	struct fname n = {.id = id};
	bool more;
	guint i;

	so->last = NULL;
	so->order_stale = true;
	for (i = 0; i < so->names->len; i++)
		if (!strcmp(g_array_index(so->names, struct fname, i).name, name))
			break;
	if (i < so->names->len) {
		g_array_index(so->names, struct fname, i).id = id;
		n.name = g_array_index(so->names, struct fname, i).name;
	} else {
		n.name = g_strdup(name);
		n.key = gs_name_key(name, &more);
		g_array_append_val(so->names, n);
	}
	g_hash_table_replace(so->files, n.name, GINT_TO_POINTER(id + 1));
}

/* @files' names and ids in the order a walk of it gives (@order, made again if stale). */
static const GArray *file_order(struct gs_scenario_oracle *so)
{
	GHashTableIter it;
	gpointer key, val;

	if (!so->order_stale)
		return so->order;
	so->order->len = 0;
	g_hash_table_iter_init(&it, so->files);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		struct fname o = {.name = key, .id = GPOINTER_TO_INT(val) - 1};

		g_array_append_val(so->order, o);
	}
	so->order_stale = false;
	return so->order;
}

/* The @i-th of file_order()'s files. */
static inline const struct fname *file_nth(const GArray *order, guint i)
{
	return &g_array_index(order, struct fname, i);
}

static const struct gs_result_field *field(const struct gs_result *res, const char *key)
{
	/* The verbs set their fields with the literals asked for here, merged into one copy. */
	for (unsigned int i = 0; i < res->nr; i++)
		if (res->fields[i].key == key)
			return &res->fields[i];
	for (unsigned int i = 0; i < res->nr; i++)
		if (!strcmp(res->fields[i].key, key))
			return &res->fields[i];
	return NULL;
}

/* The verbs the oracle follows, and what it knows of the others. */
enum ov_kind {
	OV_OTHER,
	OV_LOOKER,
	OV_FALLOC,
	OV_PUNCH,
	OV_CONVERT,
	OV_READ,
	OV_WRITE,
	OV_FAULT,
	OV_PIN,
	OV_UNPIN,
	OV_MUNMAP,
	OV_MMAP,
	OV_MADVISE,
	OV_CLOSE,
	OV_GETPFN,
	OV_GSPLIT,
	OV_POISON,
	OV_GMEM,
	OV_MEMSLOT,
	OV_GFAULT,
	OV_POPULATE,
};

/* What a verb is to the oracle, and whether it takes an offset and a length. */
struct ov_info {
	const struct gs_verb *verb;
	enum ov_kind kind;
	bool has_off, has_len;
	/*
	 * The indices of its keys "off" and "len" (-1: none), read from the
	 * line's own arguments (line_off(), line_len()): through a place's key
	 * cache each, the adapter read them up to seven times a line, each
	 * place's cache a line of memory of its own.
	 */
	int8_t k_off, k_len;
	bool inert; /* changes no state: no comparison after it */
	bool check; /* `check`: runs the checkers, the oracle's among them */
};

/*
 * The line being followed: where mismatches go and how they are named, and
 * what of the state it could change ([off, off + len) of the file @cmp, or
 * of its own file; everything when not @ranged).
 */
struct line {
	struct gs_scenario *s;
	const struct gs_op *op;
	const struct ov_info *info; /* ov_info() of the line's verb, looked up once for the line */
	struct gs_check_report r;
	char name[160]; /* made by lname() when a mismatch is reported */
	bool named;
	bool ranged;
	uint64_t off, len;
	const char *cmp;
	const char *fd_name; /* the gmem object line_fd() looked up last (by address), or NULL */
	int fd;
	bool has_file; /* @file is gs_uapi_gmem_file() of @fd (line_file()) */
	struct gmem_file *file;
	/*
	 * The oracle's id of the line's target, as oracle_after() looked it
	 * up (@has_tid), for compare_after(): no file is added in between.
	 */
	bool has_tid;
	int tid;
	uint64_t map_len;
};

static void line_range(struct line *l, uint64_t off, uint64_t len)
{
	l->ranged = true;
	l->off = off;
	l->len = len;
}

/* The line's argument at key index @k of its verb (struct ov_info), or NULL. */
static inline const struct gs_arg *line_arg(const struct line *l, int k)
{
	return k >= 0 && l->op->args[k].present ? &l->op->args[k] : NULL;
}

/* gs_op_u64(op, "off", 0) of the line, by the key's index. */
static inline uint64_t line_off(const struct line *l)
{
	const struct gs_arg *a = line_arg(l, l->info->k_off);

	return a ? a->u : 0;
}

/* gs_op_u64(op, "len", @dflt) of the line, by the key's index. */
static inline uint64_t line_len(const struct line *l, uint64_t dflt)
{
	const struct gs_arg *a = line_arg(l, l->info->k_len);

	return a ? a->u : dflt;
}

/* Append @str to @buf at *@at, clipped to @len (NUL-terminated). */
static void put_str(char *buf, size_t len, size_t *at, const char *str)
{
	while (*str && *at + 1 < len)
		buf[(*at)++] = *str++;
	buf[*at] = '\0';
}

/*
 * "file:line verb target", as mismatches name the line: without printf (a
 * third of the oracle's cost per line was it when every line made it).
 */
static void line_name(char *buf, size_t len, const struct gs_op *op)
{
	char num[12], *p = num + sizeof(num);
	unsigned int line = op->line;
	size_t at = 0;

	*--p = '\0';
	do
		*--p = (char)('0' + line % 10);
	while ((line /= 10) && p > num);
	put_str(buf, len, &at, op->file);
	put_str(buf, len, &at, ":");
	put_str(buf, len, &at, p);
	put_str(buf, len, &at, " ");
	put_str(buf, len, &at, op->verb->name);
	if (op->target) {
		put_str(buf, len, &at, " ");
		put_str(buf, len, &at, op->target);
	}
}

static void line_init(struct line *l, struct gs_scenario *s, const struct gs_op *op,
		      const struct ov_info *info)
{
	l->s = s;
	l->op = op;
	l->info = info;
	l->ranged = false;
	l->cmp = NULL;
	l->r = GS_CHECK_REPORT_INIT("oracle", s->opts.err);
	l->named = false;
	l->fd_name = NULL;
	l->has_tid = false;
}

/*
 * gs_scenario_gmem_fd() for the line: the objects are as the line left
 * them while the oracle follows it, and it asks for the same name (the
 * line's target, a slot's file: the same string) up to ten times.
 */
static int line_fd(struct line *l, const char *name, uint64_t *map_len)
{
	if (!name || name != l->fd_name) {
		l->fd = gs_scenario_gmem_fd(l->s, name, &l->map_len);
		l->fd_name = name;
		l->has_file = false;
	}
	if (map_len)
		*map_len = l->map_len;
	return l->fd;
}

/* The file of line_fd(), kept with it: up to four lookups of the same fd a line. */
static struct gmem_file *line_file(struct line *l, const char *name)
{
	int fd = line_fd(l, name, NULL);

	if (!l->has_file) {
		l->file = fd < 0 ? NULL : gs_uapi_gmem_file(fd);
		l->has_file = true;
	}
	return l->file;
}

/* The line's name, made the first time a mismatch needs it (most lines have none). */
static const char *lname(struct line *l)
{
	if (!l->named) {
		line_name(l->name, sizeof(l->name), l->op);
		l->named = true;
	}
	return l->name;
}

static const char *lname_fn(void *arg)
{
	return lname(arg);
}

static const char *errname(long long ret)
{
	static char buf[32];

	if (!ret)
		return "0";
	const char *n = gs_errno_name((int)-ret);

	if (n)
		snprintf(buf, sizeof(buf), "%s", n);
	else
		snprintf(buf, sizeof(buf), "%lld", ret);
	return buf;
}

/* The answer: return value (or SIGBUS), then the fields the oracle predicted. */
static void compare_answer(struct line *l, const struct gs_oracle_pred *p,
			   const struct gs_result *res)
{
	const struct gs_result_field *fd;

	if (p->unpredicted)
		return;
	if (p->sigbus != (res->sig == SIGBUS)) {
		gs_check_violation(&l->r, "%s: signal simulator=%s oracle=%s", lname(l),
				   res->sig == SIGBUS ? "SIGBUS" : "none",
				   p->sigbus ? "SIGBUS" : "none");
		return;
	}
	if (!p->sigbus && res->ret != p->err) {
		char sim[32];

		snprintf(sim, sizeof(sim), "%s", errname(res->ret));
		gs_check_violation(&l->r, "%s: return simulator=%s oracle=%s", lname(l), sim,
				   errname(p->err));
		return;
	}
	/* Each field only where the prediction has one: the lookups compare names. */
	fd = p->has_error_offset ? field(res, "error_offset") : NULL;
	if (fd && fd->val != p->error_offset)
		gs_check_violation(&l->r,
				   "%s: index 0x%" PRIx64 ": error_offset simulator=0x%" PRIx64
				   " oracle=0x%" PRIx64,
				   lname(l), p->error_offset / PAGE, fd->val, p->error_offset);
	fd = p->has_blocks ? field(res, "blocks") : NULL;
	if (fd && fd->val != p->blocks)
		gs_check_violation(&l->r,
				   "%s: file: st_blocks simulator=%" PRIu64 " oracle=%" PRIu64,
				   lname(l), fd->val, p->blocks);
	fd = p->has_data ? field(res, "data") : NULL;
	if (fd && fd->val != p->data)
		gs_check_violation(&l->r,
				   "%s: index 0x%" PRIx64 ": content simulator=0x%02" PRIx64
				   " oracle=0x%02x",
				   lname(l), line_off(l) / PAGE, fd->val, p->data);
	fd = p->has_uniform ? field(res, "uniform") : NULL;
	if (fd && fd->val != p->uniform)
		gs_check_violation(&l->r, "%s: content uniform simulator=%" PRIu64 " oracle=%d",
				   lname(l), fd->val, p->uniform);
	fd = p->sigbus || res->sig == SIGBUS ? field(res, "done") : NULL;
	if (fd && fd->val != p->done)
		gs_check_violation(&l->r, "%s: bytes done simulator=%" PRIu64 " oracle=%" PRIu64,
				   lname(l), fd->val, p->done);
}

/*
 * An error the oracle does not model (an injected ENOMEM, a signal): the
 * oracle keeps what the profile promises and the answer is not a mismatch.
 */
static bool environmental(const struct gs_oracle_pred *p, const struct gs_result *res)
{
	return !res->sig && res->ret != p->err && (res->ret == -ENOMEM || res->ret == -EINTR);
}

static void after_create(struct gs_scenario_oracle *so, struct line *l, const struct gs_result *res)
{
	const struct gs_op *op = l->op;
	struct gmem_file *made = line_file(l, op->target);
	struct gmem_file *file = res->ret ? NULL : made;
	uint64_t page = gs_op_u64(op, "page", PAGE);
	struct gs_oracle_cfg cfg = {
		.flags = gs_op_u64(op, "flags", 0),
		.page_order = gs_op_has(op, "order") ? (unsigned int)gs_op_u64(op, "order", 0)
						     : (unsigned int)__builtin_ctzll(page) - 12,
	};
	struct gs_oracle_pred p;
	int id;

	/* Its pool's snapshots from now on (@so->pools), followed or not, whatever the answer. */
	if (made && made->inode->spool)
		so->pools |= 1U << hstate_index(made->inode->spool->hstate);
	/* The VM is the input: its type, profile, ordering and KVM_CAP_GUEST_MEMFD_FLAGS. */
	if (file && file->vm) {
		cfg.supported = kvm_gmem_get_supported_flags(file->vm);
		cfg.profile = file->vm->profile;
		cfg.conversion = file->vm->conversion;
		cfg.in_place = file->vm->in_place_conversion;
		cfg.has_private_mem = file->vm->has_private_mem;
		cfg.custom_strategy = file->vm->strategy && !file->vm->strategy->builtin;
		so->deferring |= cfg.custom_strategy && file->vm->strategy->ops->free_split;
		cfg.pmd_pieces = file->vm->strategy && file->vm->strategy->builtin &&
				 !strcmp(file->vm->strategy->ops->name, "optimized");
		cfg.thp = file->vm->strategy &&
			  file->vm->strategy->ops->backing == GS_STRATEGY_BACKING_THP;
	}
	id = gs_oracle_create(so->o, gs_op_u64(op, "size", 0), &cfg, &p);
	/* Without vm= the line makes its own VM first: that KVM_CREATE_VM's ENOMEM is no answer. */
	if (id < 0 && res->ret == -ENOMEM && !gs_op_has(op, "vm"))
		return;
	/* Unknown VM flags: an EINVAL may be theirs. The pool may lack pages: ENOMEM. */
	if (id < 0 ? !res->ret : res->ret) {
		if (!(id >= 0 && (res->ret == -ENOMEM || (res->ret == -EINVAL && !cfg.supported))))
			compare_answer(l, &p, res);
		return;
	}
	if (id < 0) {
		compare_answer(l, &p, res);
		return;
	}
	file_add(so, op->target, id);
	gs_oracle_bind(so->o, id, file);
	compare_answer(l, &p, res);
}

static void after_convert(struct gs_scenario_oracle *so, struct line *l, int id,
			  const struct gs_kvm_memory_attributes2 *a, const struct gs_result *res)
{
	struct gs_oracle_pred p;

	gs_oracle_convert(so->o, id, a, &p);
	/* A thp split the oracle cannot rule out failed (seed 001): nothing changed. */
	/* EINVAL: a punch-hole flow's punch a strategy refused (its punch hook). */
	if (environmental(&p, res) || (p.unpredicted && res->ret == -EAGAIN) ||
	    (p.refusable && res->ret == -EINVAL))
		gs_oracle_unpredicted(so->o, id, "convert", (int)res->ret);
	else
		compare_answer(l, &p, res);
}

/*
 * Whether the simulator keeps the bytes of the page at @index: metadata-only
 * memory (`machine backing=none`, the default for HugeTLB pools without host
 * huge pages) reads zero whatever was written. That is the machine the
 * simulator runs on, an input and not a prediction: where it holds no data
 * the oracle predicts no content. Unallocated pages count as keeping it.
 */
static bool keeps_data(struct line *l, const char *name, uint64_t index)
{
	struct gmem_file *file = line_file(l, name);
	struct folio *folio = file ? xa_load(&file->inode->filemap, index) : NULL;

	return !folio || gs_pfn_to_virt(folio_pfn(folio) + (index - folio->index)) != NULL;
}

/* A host access: [off, off + len) clipped to the mapping, as the verbs do. */
static void after_access(struct gs_scenario_oracle *so, struct line *l, int id,
			 const struct gs_result *res, bool write, bool fault)
{
	const struct gs_op *op = l->op;
	uint64_t map_len = 0, off = line_off(l);
	uint64_t len = fault ? 1 : line_len(l, 0);
	struct gs_oracle_pred p;

	if (line_fd(l, op->target, &map_len) < 0 || !map_len)
		return;
	if (fault)
		off &= ~(PAGE - 1);
	/* Up to the end of the mapping or a hole unmapped in it. */
	len = gs_scenario_gmem_mapped(l->s, op->target, off, len);
	if (!len)
		return; /* SIGSEGV: nothing of the file is touched */
	gs_oracle_access(so->o, id, off, len, write, write ? (uint8_t)gs_op_u64(op, "byte", 0) : 0,
			 &p);
	if (environmental(&p, res)) {
		gs_oracle_unpredicted(so->o, id, op->verb->name, (int)res->ret);
		return;
	}
	if (res->sig == SIGSEGV && !p.sigbus)
		return; /* past the mapping, after what the oracle followed */
	if (!keeps_data(l, op->target, off / PAGE) ||
	    !keeps_data(l, op->target, (off + len - 1) / PAGE))
		p.has_data = p.has_uniform = false;
	compare_answer(l, &p, res);
}

static void after_pin(struct gs_scenario_oracle *so, struct line *l, int id,
		      const struct gs_result *res)
{
	uint64_t map_len = 0, off = line_off(l);
	struct gs_oracle_pred p;

	if (line_fd(l, l->op->target, &map_len) < 0)
		return;
	if (!gs_scenario_gmem_mapped(l->s, l->op->target, off, 1))
		return; /* nothing mapped there: EFAULT without touching the file */
	gs_oracle_pin(so->o, id, off, &p);
	if (environmental(&p, res))
		gs_oracle_unpredicted(so->o, id, "pin", (int)res->ret);
	else
		compare_answer(l, &p, res);
}

/*
 * madvise() on the mapping (mapped at file offset 0): DONTNEED drops the
 * page mappings of the mapped parts, even when a hole makes it ENOMEM; REMOVE
 * is a punch, followed where all of the range is mapped; hints change nothing.
 */
static void after_madvise(struct gs_scenario_oracle *so, struct line *l, int id,
			  const struct gs_result *res)
{
	const struct gs_op *op = l->op;
	int k = gs_verb_key_index(op->verb, "advice");
	const char *advice = k < 0 ? "" : op->verb->keys[k].names[gs_op_u64(op, "advice", 0)];
	uint64_t off = line_off(l), len = line_len(l, 0);
	struct gs_oracle_pred p;

	if ((off & (PAGE - 1)) || !len)
		return; /* EINVAL, or nothing to do */
	if (!strcmp(advice, "dontneed")) {
		gs_oracle_munmap_range(so->o, id, off, len);
	} else if (!strcmp(advice, "remove")) {
		gs_oracle_fallocate(so->o, id, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE,
				    (int64_t)off, (int64_t)len, &p);
		if (gs_scenario_gmem_mapped(l->s, op->target, off, len) < len ||
		    environmental(&p, res) || (p.refusable && res->ret == -EINVAL))
			gs_oracle_unpredicted(so->o, id, "madvise", (int)res->ret);
		else
			compare_answer(l, &p, res);
	}
}

static void after_memslot(struct gs_scenario_oracle *so, struct line *l,
			  const struct gs_result *res)
{
	const struct gs_op *op = l->op;
	uint64_t slot = gs_op_u64(op, "slot", 0);

	if (res->ret)
		return;
	for (guint i = 0; i < so->slots->len; i++) {
		struct oslot *sl = &g_array_index(so->slots, struct oslot, i);

		if (sl->slot == slot && !g_strcmp0(sl->vm, op->target)) {
			slot_clear(sl);
			g_array_remove_index(so->slots, i);
			break;
		}
	}
	if (!gs_op_u64(op, "size", 0) || !gs_op_has(op, "gmem"))
		return;
	g_array_append_val(so->slots, ((struct oslot){
					      .vm = g_strdup(op->target),
					      .slot = slot,
					      .gpa = gs_op_u64(op, "gpa", 0),
					      .size = gs_op_u64(op, "size", 0),
					      .off = gs_op_u64(op, "off", 0),
					      .gmem = g_strdup(gs_op_str(op, "gmem", "")),
				      }));
}

/*
 * The pool's free huge pages and the current cgroup's usage after a line on
 * a HugeTLB file (P22, P23, P31): each huge page the file took comes off the
 * free list and is charged to the allocating task's cgroup, each freed one
 * goes back; splits and merges move neither (P38). Predicted from the
 * model's count of the file's huge pages before (@before) and after the
 * line. Not where the pool itself changed size during the line (a surplus
 * page made or freed: the overcommit policy's business) or the cgroup
 * changed: then it only takes the new values as the base for the next line.
 */
static void check_pool(struct gs_scenario_oracle *so, struct line *l, int id, const char *name,
		       uint64_t before)
{
	struct gmem_file *file = line_file(l, name);
	struct hstate *h = file && file->inode->spool ? file->inode->spool->hstate : NULL;
	int i = h ? hstate_index(h) : -1;
	struct opool was, now;
	long d;

	if (i < 0 || !gs_oracle_followed(so->o, id))
		return;
	was = so->pool[i];
	pool_now(so, i, hugetlb_cgroup_current(), &now);
	if (now.nr != was.nr || now.cg != was.cg)
		return;
	/* Pages a truncation left to the deferred worker stay taken (none without so->deferring). */
	d = (long)gs_oracle_used_hpages(so->o, id) - (long)before +
	    (long)(now.deferred - was.deferred);
	if (now.free != was.free - d)
		gs_check_violation(&l->r, "%s: pool: free huge pages simulator=%lu oracle=%lu",
				   lname(l), now.free, was.free - d);
	if (now.cg && now.usage != was.usage + d * pages_per_huge_page(h))
		gs_check_violation(&l->r, "%s: cgroup: usage simulator=%lu oracle=%lu", lname(l),
				   now.usage, was.usage + d * pages_per_huge_page(h));
}

static void after_gfault(struct gs_scenario_oracle *so, struct line *l, const struct gs_result *res)
{
	const struct gs_op *op = l->op;
	uint64_t gpa = gs_op_u64(op, "gpa", 0), gfn = gpa / PAGE, index;
	const struct gs_result_field *fd;
	struct gs_oracle_pred p;
	const struct oslot *sl = NULL;
	bool private;
	uint64_t before;
	int id;

	for (guint i = 0; i < so->slots->len && !sl; i++) {
		const struct oslot *c = &g_array_index(so->slots, struct oslot, i);

		if (!g_strcmp0(c->vm, op->target) && gpa >= c->gpa && gpa - c->gpa < c->size)
			sl = c;
	}
	id = sl ? file_id(so, sl->gmem) : -1;
	if (id < 0 || !gs_oracle_followed(so->o, id))
		return;
	index = sl->off / PAGE + (gfn - sl->gpa / PAGE);
	l->cmp = sl->gmem;
	line_range(l, index * PAGE, PAGE);
	fd = field(res, "private");
	private = fd ? fd->val : gs_op_u64(op, "private", 0);
	before = gs_oracle_used_hpages(so->o, id);
	gs_oracle_guest_fault(so->o, id, index, private, gfn, sl->gpa / PAGE, sl->size / PAGE, &p);
	/* Per-VM attributes decide this fault: not the file's model; stop following it. */
	if (p.unpredicted) {
		gs_oracle_unpredicted(so->o, id, "gfault", 0);
		return;
	}
	if (environmental(&p, res)) {
		gs_oracle_unpredicted(so->o, id, "gfault", (int)res->ret);
		return;
	}
	compare_answer(l, &p, res);
	fd = field(res, "level");
	if (p.max_level && fd && fd->val > (uint64_t)p.max_level)
		gs_check_violation(&l->r,
				   "%s: index 0x%" PRIx64 ": stage-2 level simulator=%" PRIu64
				   " oracle=at most %d",
				   lname(l), index, fd->val, p.max_level);
	fd = field(res, "exit");
	if (fd && fd->is_str && (!strcmp(fd->str, "memory_fault") != p.memory_fault))
		gs_check_violation(&l->r, "%s: index 0x%" PRIx64 ": exit simulator=%s oracle=%s",
				   lname(l), index, fd->str,
				   p.memory_fault ? "memory_fault" : "none");
	check_pool(so, l, id, sl->gmem, before);
}

/* One huge leaf at @base (value @leaf) of slot @sl against the oracle's bound. */
static void check_leaf(struct gs_scenario_oracle *so, struct line *l, int id,
		       const struct oslot *sl, uint64_t base, unsigned long leaf)
{
	int level = (int)(leaf & KVM_LEAF_LEVEL_MASK), bound;
	uint64_t slot_gfn = sl->gpa / PAGE, index;

	if (level <= 1 || !(leaf & KVM_LEAF_GMEM) || base < slot_gfn)
		return;
	index = sl->off / PAGE + (base - slot_gfn);
	bound = gs_oracle_level_bound(so->o, id, index, base, slot_gfn, sl->size / PAGE);
	if (level > bound)
		gs_check_violation(&l->r,
				   "%s: index 0x%" PRIx64
				   ": stage-2 level simulator=%d oracle=at most %d",
				   lname(l), index, level, bound);
}

/*
 * Rule 35, P40 after a conversion or a punch: no huge leaf of a slot bound
 * to the file may map the file pages [@s, @e) (rounded to huge pages) unless
 * the oracle allows it. Only the leaves present there are visited.
 */
static void check_leaves(struct gs_scenario_oracle *so, struct line *l, int id, const char *name,
			 uint64_t s, uint64_t e)
{
	for (guint i = 0; i < so->slots->len; i++) {
		const struct oslot *sl = &g_array_index(so->slots, struct oslot, i);
		struct kvm *kvm =
			gs_name_eq(sl->gmem, name) ? gs_scenario_vm_kvm(l->s, sl->vm) : NULL;
		uint64_t first = sl->off / PAGE, last = first + sl->size / PAGE, gs, ge, b;
		unsigned long leaf;
		void *entry;

		if (!kvm || s >= last || e <= first)
			continue;
		gs = sl->gpa / PAGE + (MAX(s, first) - first);
		ge = sl->gpa / PAGE + (MIN(e, last) - first);
		leaf = kvm_stage2_leaf(kvm, gs);
		if (leaf)
			check_leaf(so, l, id, sl,
				   gs & ~(kvm_level_pages((int)(leaf & KVM_LEAF_LEVEL_MASK)) - 1),
				   leaf);
		xa_for_each_range (&kvm->stage2, b, entry, gs + 1, ge - 1)
			check_leaf(so, l, id, sl, b, xa_to_value(entry));
	}
}

/*
 * Verbs that change nothing the oracle follows: they look, or act on the
 * host pools, the VM's own attributes and the machine (an allocation they
 * make fail later is an ENOMEM the oracle takes as it comes).
 */
static const char *const lookers[] = {
	"stat",	   "check",	"show",	     "gmem-usage", "stage2",	   "note",
	"seed",	   "inject",	"mmap",	     "unpoison",   "expect-warns", "attr",
	"vm",	   "arch",	"hugetlb",   "subpool",	   "subpool-put",  "cgroup",
	"hpage",   "hpage-add", "hpage-put", "hsplit",	   "hmerge",	   "hvo",
	"machine", "kmalloc",	"kfree",     "core",	   "run-deferred", "plant",
	NULL};

static bool is_looker(const char *verb)
{
	for (unsigned int i = 0; lookers[i]; i++)
		if (lookers[i][0] == verb[0] && !strcmp(lookers[i], verb))
			return true;
	return false;
}

static const char *const ov_names[] = {
	[OV_FALLOC] = "falloc",	  [OV_PUNCH] = "punch",	      [OV_CONVERT] = "convert",
	[OV_READ] = "read",	  [OV_WRITE] = "write",	      [OV_FAULT] = "fault",
	[OV_PIN] = "pin",	  [OV_UNPIN] = "unpin",	      [OV_MUNMAP] = "munmap",
	[OV_CLOSE] = "close",	  [OV_GETPFN] = "getpfn",     [OV_GSPLIT] = "gsplit",
	[OV_POISON] = "poison",	  [OV_GMEM] = "gmem",	      [OV_MEMSLOT] = "memslot",
	[OV_GFAULT] = "gfault",	  [OV_POPULATE] = "populate", [OV_MMAP] = "mmap",
	[OV_MADVISE] = "madvise",
};

/*
 * Verbs that touch no simulator state (they arm or describe the run): a
 * comparison after them would compare what the previous one did.
 */
static const char *const inert[] = {"inject", "note", "seed", "expect-warns", NULL};

/*
 * A verb's kind by its (registered, never freed) struct, found without
 * comparing names: the names were compared a dozen times per line.
 */
static __attribute__((noinline)) const struct ov_info *ov_info_find(const struct gs_verb *verb)
{
	/*
	 * Open addressing: a verb sharing a slot with another one found further
	 * on, not classified again (sharing one slot, two verbs on alternate
	 * lines were classified on every line). Room for every verb and more;
	 * a full table (not expected) classifies without remembering.
	 */
	static struct ov_info cache[256], spare;
	unsigned int h = (unsigned int)((gs_image_off(verb) * 0x9e3779b97f4a7c15ULL) >> 56);
	struct ov_info *c = &spare;

	for (unsigned int i = 0; i < G_N_ELEMENTS(cache); i++) {
		struct ov_info *t = &cache[(h + i) % G_N_ELEMENTS(cache)];

		if (t->verb == verb)
			return t;
		if (!t->verb) {
			c = t;
			break;
		}
	}
	c->verb = verb;
	c->kind = is_looker(verb->name) ? OV_LOOKER : OV_OTHER;
	c->inert = false;
	for (unsigned int k = 0; inert[k]; k++)
		c->inert |= !strcmp(inert[k], verb->name);
	for (unsigned int k = 0; k < G_N_ELEMENTS(ov_names); k++)
		if (ov_names[k] && !strcmp(ov_names[k], verb->name))
			c->kind = (enum ov_kind)k;
	c->check = !strcmp(verb->name, "check");
	c->k_off = (int8_t)gs_verb_key_index(verb, "off");
	c->k_len = (int8_t)gs_verb_key_index(verb, "len");
	c->has_off = c->k_off >= 0;
	c->has_len = c->k_len >= 0;
	return c;
}

/*
 * ov_info_find() behind the entry found last: oracle_before() and
 * oracle_after() ask for the same line's verb, one after the other (the
 * entry's @verb is checked: a full table's spare entry is rewritten).
 */
static inline const struct ov_info *ov_info(const struct gs_verb *verb)
{
	static const struct ov_info *last;

	if (!last || last->verb != verb)
		last = ov_info_find(verb);
	return last;
}

/*
 * The file pages a convert (its argument @a) or punch line (@a NULL)
 * touched, rounded out to huge pages.
 */
static void check_leaves_after(struct gs_scenario_oracle *so, struct line *l, int id,
			       const struct gs_kvm_memory_attributes2 *a)
{
	const struct gs_op *op = l->op;
	uint64_t off, len, h = PAGE;
	struct gmem_file *file = line_file(l, op->target);

	if (!file || !so->slots->len || !gs_oracle_followed(so->o, id))
		return;
	if (a) {
		off = a->offset;
		len = a->size;
	} else {
		off = line_off(l);
		len = line_len(l, 0);
	}
	h <<= file->inode->page_order;
	if (!len || off + len < off || off + len > UINT64_MAX - h)
		return;
	check_leaves(so, l, id, op->target, (off & ~(h - 1)) / PAGE,
		     ((off + len + h - 1) & ~(h - 1)) / PAGE);
}

/*
 * What a line on a file can change: a looker nothing (but what the model
 * changed), a line with an offset its range (one page without a length), a
 * line without one (munmap) or without its length anything.
 */
static void line_scope(struct line *l)
{
	const struct ov_info *v = l->info;
	bool has_off = v->has_off;
	uint64_t off = line_off(l);

	/* A new mapping maps nothing yet: only MAP_FIXED over a part changes pages. */
	if (v->kind == OV_LOOKER || (v->kind == OV_MMAP && !gs_op_u64(l->op, "fixed", 0)))
		line_range(l, 0, 0);
	else if (has_off && !v->has_len)
		line_range(l, off, 1);
	else if (has_off && line_arg(l, v->k_len))
		line_range(l, off, line_len(l, 0));
}

/* The line's prediction and its effect on the model. */
static void follow_file_op(struct gs_scenario_oracle *so, struct line *l, int id,
			   const struct gs_result *res)
{
	const struct gs_op *op = l->op;
	const char *verb = op->verb->name;
	enum ov_kind kind = l->info->kind;
	struct gs_oracle_pred p;

	line_scope(l);
	if (kind == OV_FALLOC || kind == OV_PUNCH) {
		int mode = kind == OV_PUNCH ? GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE
					    : (int)gs_op_u64(op, "mode", GS_FALLOC_FL_KEEP_SIZE);

		gs_oracle_fallocate(so->o, id, mode, (int64_t)line_off(l), (int64_t)line_len(l, 0),
				    &p);
		/* A punch a strategy may refuse (EINVAL): the oracle goes back to before it. */
		if (environmental(&p, res) || (p.refusable && res->ret == -EINVAL))
			gs_oracle_unpredicted(so->o, id, verb, (int)res->ret);
		else
			compare_answer(l, &p, res);
		check_leaves_after(so, l, id, NULL);
	} else if (kind == OV_CONVERT) {
		/*
		 * The argument read from the line's keys once, made in place by
		 * the call (a local it initializes): kept in struct line, it was
		 * built in a temporary and copied, 128 bytes by `rep movs`, each
		 * convert line (natively 7% of the adapter's own time).
		 */
		const struct gs_kvm_memory_attributes2 a = gs_scenario_convert_args(op);

		after_convert(so, l, id, &a, res);
		check_leaves_after(so, l, id, &a);
	} else if (kind == OV_READ || kind == OV_WRITE || kind == OV_FAULT) {
		after_access(so, l, id, res, kind == OV_WRITE, kind == OV_FAULT);
	} else if (kind == OV_PIN) {
		after_pin(so, l, id, res);
	} else if (kind == OV_UNPIN) {
		gs_oracle_unpin(so->o, id, line_off(l));
	} else if (kind == OV_MUNMAP) {
		/* Part of the mapping (as the verb bounds it to the mapping) or all of it. */
		if (!res->ret && (line_arg(l, l->info->k_off) || line_arg(l, l->info->k_len)))
			gs_oracle_munmap_range(so->o, id, line_off(l), line_len(l, UINT64_MAX));
		else if (!res->ret)
			gs_oracle_munmap(so->o, id);
	} else if (kind == OV_MADVISE) {
		after_madvise(so, l, id, res);
	} else if (kind == OV_MMAP) {
		/* MAP_FIXED over the file's own offsets: the old mappings of that part go. */
		if (!res->ret && gs_op_u64(op, "fixed", 0))
			gs_oracle_munmap_range(so->o, id, line_off(l), line_len(l, 0));
	} else if (kind == OV_CLOSE) {
		gs_oracle_close(so->o, id);
	} else if (kind == OV_GETPFN) {
		gs_oracle_get_pfn(so->o, id, line_off(l) / PAGE, &p);
		if (environmental(&p, res)) {
			gs_oracle_unpredicted(so->o, id, verb, (int)res->ret);
		} else if (!p.unpredicted) {
			const struct gs_result_field *fd = field(res, "max_order");

			compare_answer(l, &p, res);
			if (p.has_max_order && fd && fd->val > p.max_order)
				gs_check_violation(
					&l->r,
					"%s: index 0x%" PRIx64 ": max_order simulator=%" PRIu64
					" oracle=at most %u",
					lname(l), line_off(l) / PAGE, fd->val, p.max_order);
			else if (p.max_order_exact && fd && fd->val != p.max_order)
				gs_check_violation(&l->r,
						   "%s: index 0x%" PRIx64
						   ": max_order simulator=%" PRIu64 " oracle=%u",
						   lname(l), line_off(l) / PAGE, fd->val,
						   p.max_order);
		}
	} else if (kind == OV_GSPLIT) {
		gs_oracle_gsplit(so->o, id, line_off(l) / PAGE, gs_op_u64(op, "shared", 0), &p);
		if (environmental(&p, res))
			gs_oracle_unpredicted(so->o, id, verb, (int)res->ret);
		else if (!p.unpredicted)
			compare_answer(l, &p, res);
	} else if (kind == OV_POISON) {
		gs_oracle_poison(so->o, id, line_off(l) / PAGE, &p);
		if (!p.unpredicted)
			compare_answer(l, &p, res);
	} else if (kind != OV_LOOKER) {
		/* a file verb not modelled (arch, ...): stop following the file. */
		gs_oracle_unpredicted(so->o, id, verb, 0);
	}
}

/* Follow one line of a gmem file the oracle knows. */
static void after_file_op(struct gs_scenario_oracle *so, struct line *l, int id,
			  const struct gs_result *res)
{
	uint64_t before = gs_oracle_used_hpages(so->o, id);

	follow_file_op(so, l, id, res);
	check_pool(so, l, id, l->op->target, before);
}

static void lose_all(struct gs_scenario_oracle *so)
{
	const GArray *order = file_order(so);

	for (guint i = 0; i < order->len; i++)
		gs_oracle_unpredicted(so->o, file_nth(order, i)->id, "", 0);
}

/*
 * `populate VM gpa= len=` (P16) writes only through the slots of that VM
 * over [gpa, gpa + len): the files behind them stop being followed (the
 * launch helper's bytes and measurement are the arch's), the others go on.
 */
static void lose_populated(struct gs_scenario_oracle *so, const struct gs_op *op)
{
	uint64_t gpa = gs_op_u64(op, "gpa", 0), len = gs_op_u64(op, "len", 0);
	uint64_t end = gpa + len < gpa ? UINT64_MAX : gpa + len;

	for (guint i = 0; i < so->slots->len; i++) {
		const struct oslot *sl = &g_array_index(so->slots, struct oslot, i);
		int id = file_id(so, sl->gmem);

		if (id >= 0 && !g_strcmp0(sl->vm, op->target) && gpa < sl->gpa + sl->size &&
		    end > sl->gpa)
			gs_oracle_unpredicted(so->o, id, "populate", 0);
	}
}

static void compare_one(struct gs_scenario_oracle *so, struct line *l, const char *name, int id)
{
	struct gmem_file *file = line_file(l, name);

	/* (a file not followed, or no file: the oracle compares nothing) */
	if (file)
		gs_oracle_compare_named(so->o, id, file, l->ranged, l->off, l->len, lname_fn, l,
					&l->r);
}

/*
 * The model against the simulator's state: the line's own file when it
 * names one (no other file can change), else every followed, open file.
 * After a `check` line the checker "oracle" has just compared every bound
 * file whole, with the state the line left: a file it found clean is not
 * compared again (one that differed is, and reported as the line's).
 */
static void compare_after(struct gs_scenario_oracle *so, struct line *l, bool check)
{
	const char *name = l->cmp ? l->cmp : l->op->target;
	int id = !l->cmp && l->has_tid ? l->tid : file_id(so, name);
	const GArray *order;

	if (id >= 0) {
		compare_one(so, l, name, id);
		return;
	}
	l->ranged = false;
	order = file_order(so);
	for (guint i = 0; i < order->len; i++) {
		const struct fname *n = file_nth(order, i);

		if (!check || !gs_oracle_clean(so->o, n->id))
			compare_one(so, l, n->name, n->id);
	}
}

static unsigned int oracle_after(struct gs_scenario *s, void *state, const struct gs_op *op,
				 const struct gs_result *res)
{
	struct gs_scenario_oracle *so = state;
	const struct ov_info *info = ov_info(op->verb);
	enum ov_kind kind = info->kind;
	struct line l;
	int id;

	if (info->inert)
		return 0;
	/*
	 * The line changed the state (the fail-nth runner's injected attempts
	 * come here without oracle_before()): earlier whole comparisons are
	 * old. A `check` line changed nothing, and its checker's are new.
	 */
	so->end_clean = 0;
	if (!info->check)
		gs_oracle_step(so->o);
	line_init(&l, s, op, info);
	if (kind == OV_GMEM && op->target) {
		after_create(so, &l, res);
	} else if (kind == OV_MEMSLOT) {
		after_memslot(so, &l, res);
	} else if (kind == OV_GFAULT) {
		after_gfault(so, &l, res);
	} else if ((id = l.tid = file_id(so, op->target), l.has_tid = true, id >= 0) &&
		   gs_oracle_followed(so->o, id)) {
		after_file_op(so, &l, id, res);
	} else if (id >= 0 && kind == OV_CLOSE) {
		gs_oracle_close(so->o, id);
	} else if (id < 0 && kind == OV_POPULATE) {
		lose_populated(so, op);
	} else if (id < 0 && kind != OV_LOOKER && kind != OV_MMAP && kind != OV_MADVISE) {
		lose_all(so); /* a VM-level verb not modelled: files change in ways not modelled */
	}
	compare_after(so, &l, info->check && !op->target);
	if (so->pools)
		pool_snapshot(so, so->pools);
	/* After a `check` line, the end of the run may take its comparisons as its own. */
	if (info->check)
		so->end_clean = gs_oracle_epoch(so->o);
	return l.r.violations;
}

/*
 * A close ends what the comparisons see of the file: compare all of it
 * first. Unless the line before compared it whole and found it clean, and
 * nothing ran since (no step: a line, a checker, an injected attempt each
 * step first): this comparison would be that one again (a `munmap` before
 * the `close` is one, a VM's line another).
 */
static unsigned int oracle_before(struct gs_scenario *s, void *state, const struct gs_op *op)
{
	struct gs_scenario_oracle *so = state;
	const struct ov_info *info = ov_info(op->verb);
	int id = info->kind == OV_CLOSE ? file_id(so, op->target) : -1;
	bool settled = id >= 0 && gs_oracle_clean(so->o, id);
	struct line l;

	/* Whatever the line does, whole comparisons made before it are old after it. */
	gs_oracle_step(so->o);
	so->end_clean = 0;
	if (id < 0)
		return 0;
	line_init(&l, s, op, info);
	if (!settled)
		compare_one(so, &l, op->target, id);
	/* The file goes with the line: `check oracle` must not look at it from now on. */
	gs_oracle_bind(so->o, id, NULL);
	return l.r.violations;
}

static const char *end_name(void *arg)
{
	struct gs_scenario *s = arg;
	static char name[160];

	snprintf(name, sizeof(name), "%s: end", s->file);
	return name;
}

/*
 * The end of the run: every file still open, in full. The last line was a
 * `check` whose whole comparisons found a file clean, and nothing ran since
 * (no step: not even a checker, which steps too): that file is as compared.
 */
static unsigned int oracle_finish(struct gs_scenario *s, void *state)
{
	struct gs_scenario_oracle *so = state;
	struct gs_check_report r = GS_CHECK_REPORT_INIT("oracle", s->opts.err);
	bool settled = so->end_clean && so->end_clean == gs_oracle_epoch(so->o);
	const GArray *order = file_order(so);

	for (guint i = 0; i < order->len; i++) {
		int id = file_nth(order, i)->id;
		int fd = gs_scenario_gmem_fd(s, file_nth(order, i)->name, NULL);

		if (fd >= 0 && gs_oracle_followed(so->o, id) &&
		    !(settled && gs_oracle_clean(so->o, id)))
			gs_oracle_compare_named(so->o, id, gs_uapi_gmem_file(fd), false, 0, 0,
						end_name, s, &r);
	}
	return r.violations;
}

static void *hook_start(void)
{
	return oracle_start();
}

static void hook_stop(void *state)
{
	oracle_stop(state);
}

static const struct gs_scenario_hook oracle_hook = {
	.start = hook_start,
	.stop = hook_stop,
	.after = oracle_after,
	.before = oracle_before,
	.finish = oracle_finish,
};

__attribute__((constructor)) static void scenario_oracle_init(void)
{
	gs_scenario_oracle_hook = &oracle_hook;
}
