// SPDX-License-Identifier: MIT
/*
 * The scenario runner: the object namespace, running parsed operations,
 * comparing results with expectations, and the teardown that proves the run left nothing behind (no objects, no
 * armed injection, no unexpected WARN, no leaked allocation).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <gmemsim/alloc.h>
#include <gmemsim/gmem.h>
#include <gmemsim/inject.h>
#include <gmemsim/physmem.h>
#include <gmemsim/live.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/scenario_int.h>
#include <gmemsim/internal/site_table.h>

struct gs_obj {
	char *name; /* @text */
	const struct gs_obj_type *type;
	void *obj;
	char text[]; /* the name, in the record's own allocation */
};

static void obj_free(gpointer p)
{
	g_free(p);
}

struct gs_scenario *gs_scenario_new(const struct gs_scenario_opts *opts)
{
	struct gs_scenario *s = g_new0(struct gs_scenario, 1);

	gs_scenario_init();
	if (opts)
		s->opts = *opts;
	if (!s->opts.backend)
		s->opts.backend = GS_BACKEND_SIM;
	if (!s->opts.out)
		s->opts.out = stdout;
	if (!s->opts.err)
		s->opts.err = stderr;
	s->order = g_ptr_array_new_with_free_func(obj_free);
	s->few_used = true;
	s->armed = g_array_new(FALSE, FALSE, sizeof(struct gs_armed_rule));
	gs_rng_seed(&s->rng, s->opts.seed);
	if (s->opts.persistent)
		s->kept_vmemmap = gs_physmem_keep_vmemmap(true);
	return s;
}

static void destroy_objects(struct gs_scenario *s)
{
	/* Reverse creation order: a guest_memfd goes before the VM it belongs to. */
	for (guint i = s->order->len; i-- > 0;) {
		struct gs_obj *o = g_ptr_array_index(s->order, i);

		if (o->type->destroy)
			o->type->destroy(o->obj);
	}
	s->last_obj = NULL;
	s->nr_few = 0;
	s->few_used = true;
	memset(s->few_slot, 0, sizeof(s->few_slot));
	if (s->hashed)
		g_hash_table_remove_all(s->objs);
	s->hashed = false;
	s->nr_objs = 0;
	g_ptr_array_set_size(s->order, 0);
}

const struct gs_scenario_hook *gs_scenario_oracle_hook;

static void oracle_stop(struct gs_scenario *s)
{
	if (s->oracle)
		gs_scenario_oracle_hook->stop(s->oracle);
	s->oracle = NULL;
}

void gs_scenario_free(struct gs_scenario *s)
{
	if (!s)
		return;
	destroy_objects(s);
	oracle_stop(s);
	if (s->objs)
		g_hash_table_destroy(s->objs);
	g_ptr_array_free(s->order, TRUE);
	g_array_free(s->armed, TRUE);
	if (s->opts.persistent)
		gs_physmem_keep_vmemmap(s->kept_vmemmap);
	g_free(s);
}

const char *gs_scenario_exit_name(int code)
{
	switch (code) {
	case GS_EXIT_OK:
		return "ok";
	case GS_EXIT_FAIL:
		return "failed";
	case GS_EXIT_USAGE:
		return "usage error";
	case GS_EXIT_SYNTAX:
		return "scenario error";
	case GS_EXIT_LEAK:
		return "leak";
	case GS_EXIT_SKIP:
		return "skipped";
	}
	return "unknown";
}

int gs_scenario_error(struct gs_scenario *s, const struct gs_op *op, const char *fmt, ...)
{
	va_list ap;

	fprintf(s->opts.err, "%s:%u: ", op->file, op->line);
	va_start(ap, fmt);
	vfprintf(s->opts.err, fmt, ap);
	va_end(ap);
	fputc('\n', s->opts.err);
	return -1;
}

FILE *gs_scenario_out(struct gs_scenario *s)
{
	return s->opts.out;
}

bool gs_scenario_quiet(struct gs_scenario *s)
{
	return s->opts.quiet;
}

bool gs_scenario_persistent(const struct gs_scenario *s)
{
	return s->opts.persistent;
}

bool gs_scenario_output_wanted(struct gs_scenario *s, const struct gs_op *op)
{
	return !s->opts.quiet || s->opts.verbose ||
	       (s->opts.on_result && !s->opts.on_result_status_only) || op->has_expect ||
	       gs_trace_nr_sinks;
}

struct gs_rng *gs_scenario_rng(struct gs_scenario *s)
{
	return &s->rng;
}

void gs_scenario_reseed(struct gs_scenario *s, uint64_t seed)
{
	gs_rng_seed(&s->rng, seed);
}

bool gs_scenario_lax(const struct gs_scenario *s)
{
	return s->lax;
}

enum gs_backend gs_scenario_backend(struct gs_scenario *s)
{
	return s->opts.backend;
}

const struct gs_arg *gs_op_arg_slow(const struct gs_op *op, const char *key)
{
	int i = gs_verb_key_index(op->verb, key);

	/* Asking for a key the verb does not declare is a bug in the verb. */
	if (WARN(i < 0, "verb %s has no key %s", op->verb->name, key))
		return NULL;
	return op->args[i].present ? &op->args[i] : NULL;
}

/*
 * A place's cache does not hold @op's verb's index of @key in the verb's way
 * @w: the remembered pairs' answer, kept in @w if they would keep it.
 */
const struct gs_arg *gs_op_arg_site_slow(const struct gs_op *op, const char *key,
					 struct gs_key_site_way *w)
{
	int i = gs_verb_key_index_fast(op->verb, key);

	if (WARN(i < 0, "verb %s has no key %s", op->verb->name, key))
		return NULL;
	if (op->verb->keys[i].name == key)
		*w = (struct gs_key_site_way){.verb = op->verb, .key = key, .index = i};
	return op->args[i].present ? &op->args[i] : NULL;
}

/* The exported names of scenario_int.h's in-line readers (verbs built outside the library). */
bool(gs_op_has)(const struct gs_op *op, const char *key)
{
	return gs_op_arg_pairs(op, key) != NULL;
}

uint64_t(gs_op_u64)(const struct gs_op *op, const char *key, uint64_t dflt)
{
	const struct gs_arg *a = gs_op_arg_pairs(op, key);

	return a ? a->u : dflt;
}

const char *(gs_op_str)(const struct gs_op *op, const char *key, const char *dflt)
{
	const struct gs_arg *a = gs_op_arg_pairs(op, key);

	return a ? a->str : dflt;
}

struct gs_result_field *gs_result_slot_full(struct gs_result *res)
{
	WARN_ON_ONCE(res->nr == GS_MAX_FIELDS);
	return NULL;
}

void(gs_result_set)(struct gs_result *res, const char *key, uint64_t val)
{
	gs_result_set_fast(res, key, val, false);
}

void(gs_result_set_hex)(struct gs_result *res, const char *key, uint64_t val)
{
	gs_result_set_fast(res, key, val, true);
}

void gs_result_why(struct gs_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

void gs_result_set_str(struct gs_result *res, const char *key, const char *str)
{
	struct gs_result_field *f = gs_result_slot(res, key);

	if (f)
		*f = (struct gs_result_field){.key = key, .is_str = true, .str = str};
}

static inline unsigned int few_hash(uint64_t key)
{
	return (unsigned int)((key * 0x9e3779b97f4a7c15ULL) >> 58);
}

/* @o as gs_scenario.few's next entry. */
static void few_add(struct gs_scenario *s, struct gs_obj *o)
{
	unsigned char *slot;
	bool more;

	s->few[s->nr_few].key = gs_name_key(o->name, &more);
	s->few[s->nr_few].obj = o;
	s->few[s->nr_few].type = o->type;
	s->few[s->nr_few].ptr = o->obj;
	slot = &s->few_slot[few_hash(s->few[s->nr_few].key)];
	s->nr_few++;
	if (!*slot)
		*slot = (unsigned char)s->nr_few;
}

/* gs_scenario.few from the creation order again, without @gone (leaving the table). */
static void few_rebuild(struct gs_scenario *s, const struct gs_obj *gone)
{
	s->nr_few = 0;
	s->few_used = s->nr_objs <= GS_OBJ_FEW;
	memset(s->few_slot, 0, sizeof(s->few_slot));
	for (guint i = 0; s->few_used && i < s->order->len; i++) {
		struct gs_obj *o = g_ptr_array_index(s->order, i);

		if (o != gone)
			few_add(s, o);
	}
}

/*
 * The object called @name among @few (gs_scenario.few_used), or NULL: one
 * compare of a word, no hash of the name, no pointer chased per object.
 * An empty slot: no object's key hashes there (few_add() fills every slot a
 * key wants that is empty). Otherwise found without a loop unless two names
 * want one slot.
 */
static inline const typeof(((struct gs_scenario *)0)->few[0]) *few_find(struct gs_scenario *s,
									const char *name)
{
	bool more;
	uint64_t k = gs_name_key(name, &more);
	unsigned int j = s->few_slot[few_hash(k)];
	const typeof(s->few[0]) *e;

	if (!j)
		return NULL;
	e = &s->few[j - 1];
	if (e->key == k && (!more || gs_name_eq(e->obj->name, name)))
		return e;
	for (unsigned int i = 0; i < s->nr_few; i++) {
		e = &s->few[i];
		if (e->key == k && (!more || gs_name_eq(e->obj->name, name)))
			return e;
	}
	return NULL;
}

/* Every object in the hash table, from the run's first past GS_OBJ_FEW at once. */
static void objs_hash_all(struct gs_scenario *s)
{
	if (!s->objs)
		s->objs = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < s->order->len; i++) {
		struct gs_obj *o = g_ptr_array_index(s->order, i);

		g_hash_table_insert(s->objs, o->name, o);
	}
	s->hashed = true;
}

int gs_scenario_obj_add(struct gs_scenario *s, const char *name, const struct gs_obj_type *type,
			void *obj)
{
	size_t len = strlen(name) + 1;
	struct gs_obj *o;

	if (s->hashed ? g_hash_table_contains(s->objs, name) : few_find(s, name) != NULL)
		return -EEXIST;
	o = g_malloc(sizeof(*o) + len);
	memcpy(o->text, name, len);
	o->name = o->text;
	o->type = type;
	o->obj = obj;
	g_ptr_array_add(s->order, o);
	s->nr_objs++;
	if (s->hashed)
		g_hash_table_insert(s->objs, o->name, o);
	else if (s->nr_objs > GS_OBJ_FEW)
		objs_hash_all(s);
	if (s->nr_objs <= GS_OBJ_FEW) {
		few_add(s, o);
	} else {
		s->few_used = false;
	}
	return 0;
}

/*
 * The object called @name when there are more than GS_OBJ_FEW (else
 * gs_scenario_obj_get() answers from @few): the hash table, after the last
 * object found.
 */
static struct gs_obj *obj_find(struct gs_scenario *s, const char *name)
{
	struct gs_obj *o = s->last_obj;

	/* A line looks its target up several times (the verb, the oracle, checks): no hash each. */
	if (!o || !gs_name_eq(o->name, name)) {
		o = g_hash_table_lookup(s->objs, name);
		if (o)
			s->last_obj = o;
	}
	return o;
}

/*
 * A fuzz input has a VM and at most eight files, and its verbs, the oracle
 * and the checks look names up ~170 times: up to GS_OBJ_FEW objects, one
 * compare of a word each in an array of their own (no hash of the name, no
 * pointer chased per object).
 */
void *gs_scenario_obj_get(struct gs_scenario *s, const char *name, const struct gs_obj_type *type)
{
	struct gs_obj *o;

	if (!name)
		return NULL;
	if (s->few_used) {
		/* Answered from @few alone: the object's record is not read for a name under 8 bytes. */
		const typeof(s->few[0]) *e = few_find(s, name);

		return e && (!type || e->type == type) ? e->ptr : NULL;
	}
	o = obj_find(s, name);
	if (!o)
		return NULL;
	if (type && o->type != type)
		return NULL;
	return o->obj;
}

int gs_scenario_obj_del(struct gs_scenario *s, const char *name)
{
	struct gs_obj *o;

	if (s->hashed) {
		o = g_hash_table_lookup(s->objs, name);
	} else {
		const typeof(s->few[0]) *e = few_find(s, name);

		o = e ? e->obj : NULL;
	}
	if (!o)
		return -ENOENT;
	if (s->last_obj == o)
		s->last_obj = NULL;
	if (s->hashed)
		g_hash_table_remove(s->objs, name);
	s->nr_objs--;
	/* As the table: the object is not found while it is destroyed. */
	few_rebuild(s, o);
	if (o->type->destroy)
		o->type->destroy(o->obj);
	g_ptr_array_remove(s->order, o);
	return 0;
}

/* Used by `check` and `show`: walk objects in creation order. */
void gs_scenario_for_each_obj(struct gs_scenario *s,
			      void (*fn)(struct gs_scenario *s, const char *name,
					 const struct gs_obj_type *type, void *obj, void *arg),
			      void *arg)
{
	for (guint i = 0; i < s->order->len; i++) {
		struct gs_obj *o = g_ptr_array_index(s->order, i);

		fn(s, o->name, o->type, o->obj, arg);
	}
}

static void format_num(char *buf, size_t len, uint64_t v, bool hex)
{
	if (hex)
		snprintf(buf, len, "0x%" PRIx64, v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

void gs_result_format(const struct gs_result *res, char *buf, size_t len)
{
	GString *g = g_string_new(NULL);

	if (res->skipped) {
		g_string_append(g, "skipped");
	} else if (res->sig) {
		g_string_append_printf(g, "SIG%s", sigabbrev_np(res->sig) ?: "?");
	} else if (res->ret < 0 && gs_errno_name((int)-res->ret)) {
		g_string_append(g, gs_errno_name((int)-res->ret));
	} else {
		g_string_append_printf(g, "%lld", res->ret);
	}
	for (unsigned int i = 0; i < res->nr; i++) {
		const struct gs_result_field *f = &res->fields[i];
		char num[32];

		if (f->is_str) {
			g_string_append_printf(g, " %s=%s", f->key, f->str ? f->str : "");
			continue;
		}
		format_num(num, sizeof(num), f->val, f->is_hex);
		g_string_append_printf(g, " %s=%s", f->key, num);
	}
	if (res->warns)
		g_string_append_printf(g, " warns=%lu", res->warns);
	g_strlcpy(buf, g->str, len);
	g_string_free(g, TRUE);
}

static const struct gs_result_field *result_field(const struct gs_result *res, const char *key)
{
	for (unsigned int i = 0; i < res->nr; i++)
		if (!strcmp(res->fields[i].key, key))
			return &res->fields[i];
	return NULL;
}

static bool item_matches(const struct gs_result *res, const struct gs_expect_item *it)
{
	const struct gs_expect_kind *k = gs_expect_kind_lookup(it->key);
	const struct gs_result_field *f;
	char actual[64];

	if (k)
		return k->match(res, it, actual, sizeof(actual));
	f = result_field(res, it->key);
	if (!f)
		return false;
	if (f->is_str)
		return f->str && !strcmp(f->str, it->raw);
	return it->is_num && f->val == it->num;
}

bool gs_scenario_expectation_met(const struct gs_scenario *s, const struct gs_op *op,
				 const struct gs_result *res)
{
	const struct gs_expect *e = &op->expect;

	if (!op->has_expect) {
		if (s->lax || (!s->opts.strict && !op->verb->strict))
			return true;
		return res->ret == 0 && res->sig == 0;
	}
	if (e->sig) {
		if (res->sig != e->sig)
			return false;
	} else if (res->sig || res->ret != (e->has_ret ? e->ret : 0)) {
		return false;
	}
	for (unsigned int i = 0; i < e->nr; i++)
		if (!item_matches(res, &e->items[i]))
			return false;
	return true;
}

/* The line as written; an operation made without text (a fuzz input's) has none. */
static const char *op_src(const struct gs_op *op)
{
	return op->src ? op->src : "(made without text: gmemsim fuzz-decode prints the line)";
}

static void report_mismatch(struct gs_scenario *s, const struct gs_op *op,
			    const struct gs_result *res)
{
	char actual[512];
	const char *arrow = op->src ? strstr(op->src, "=>") : NULL;

	gs_result_format(res, actual, sizeof(actual));
	fprintf(s->opts.err, "%s:%u: expectation not met\n", op->file, op->line);
	fprintf(s->opts.err, "    %s\n", op_src(op));
	if (arrow)
		fprintf(s->opts.err, "  expected: %s\n", arrow + 2 + strspn(arrow + 2, " \t"));
	else if (op->has_expect) /* made without text: the fuzz decoder's bare results */
		fprintf(s->opts.err, "  expected: %lld\n", op->expect.ret);
	else if (op->verb->strict)
		fprintf(s->opts.err,
			"  expected: 0 (no expectation given, and verb '%s' is strict: it must "
			"succeed unless the line says otherwise with '=>')\n",
			op->verb->name);
	else
		fprintf(s->opts.err,
			"  expected: 0 (no expectation given, and --strict makes every such line "
			"succeed)\n");
	fprintf(s->opts.err, "  actual:   %s\n", actual);
	if (res->why[0])
		fprintf(s->opts.err, "  why:      %s\n", res->why);
}

static void trace_op(const struct gs_op *op, const struct gs_result *res, const char *text)
{
	gs_trace("op", GS_TF_STR("file", op->file), GS_TF_U("line", op->line),
		 GS_TF_STR("verb", op->verb->name),
		 GS_TF_STR("target", op->target ? op->target : ""), GS_TF_S("ret", res->ret),
		 GS_TF_S("sig", res->sig), GS_TF_B("skipped", res->skipped),
		 GS_TF_STR("result", text));
}

/*
 * A workshop lab's question: the line is not run, so neither -v, a trace nor
 * an oracle shows its result before the attendee has predicted it.
 */
int gs_scenario_report_blank(FILE *err, const struct gs_op *op)
{
	fprintf(err, "%s:%u: fill in the answer: replace '?' with the result you expect\n",
		op->file, op->line);
	fprintf(err, "    %s\n", op_src(op));
	return GS_EXIT_FAIL;
}

/*
 * A result as every reader reads it: the fields below @nr and @why up to its
 * end. The rest of the 700-byte struct is never read, so neither zeroing nor
 * copying it is needed (two full struct copies were a third of the runner's
 * own time per line).
 */
static inline void result_init(struct gs_result *res)
{
	res->ret = 0;
	res->sig = 0;
	res->skipped = false;
	res->warns = 0;
	res->nr = 0;
	res->why[0] = '\0';
}

static void result_copy(struct gs_result *dst, const struct gs_result *src)
{
	dst->ret = src->ret;
	dst->sig = src->sig;
	dst->skipped = src->skipped;
	dst->warns = src->warns;
	dst->nr = src->nr;
	memcpy(dst->fields, src->fields, src->nr * sizeof(src->fields[0]));
	if (src->why[0])
		g_strlcpy(dst->why, src->why, sizeof(dst->why));
	else
		dst->why[0] = '\0';
}

/* Run one operation. Returns GS_EXIT_OK, GS_EXIT_FAIL or GS_EXIT_SYNTAX. */
int gs_scenario_run_op(struct gs_scenario *s, const struct gs_op *op)
{
	struct gs_result res;
	unsigned long warn0 = gs_warn_count();
	char text[512];
	bool ok, oracle_bad = false;

	result_init(&res);

	if (op->expect.blanks)
		return gs_scenario_report_blank(s->opts.err, op);
	if (s->oracle && (op->verb->backends & s->opts.backend))
		oracle_bad = gs_scenario_oracle_hook->before(s, s->oracle, op);
	if (!(op->verb->backends & s->opts.backend)) {
		res.skipped = true;
		s->ops_skipped++;
	} else if (op->verb->run(s, op, &res)) {
		return GS_EXIT_SYNTAX;
	}
	s->ops_run++;
	res.warns = gs_warn_count() - warn0;
	result_copy(&s->last, &res);
	/* The result's text is for a trace sink and -v: a quiet run without them makes none. */
	if (gs_trace_nr_sinks || (s->opts.verbose && !op->verb->text)) {
		gs_result_format(&res, text, sizeof(text));
		trace_op(op, &res, text);
	}
	if (s->opts.on_result)
		s->opts.on_result(s->opts.on_result_arg, op, &res);
	if (s->opts.verbose && !op->verb->text)
		fprintf(s->opts.out, "%s:%u: %s -> %s\n", op->file, op->line, op_src(op), text);
	if (res.skipped)
		return GS_EXIT_OK;
	/* The oracle follows every line run, whatever its expectation says. */
	oracle_bad |= s->oracle && gs_scenario_oracle_hook->after(s, s->oracle, op, &res);
	ok = gs_scenario_expectation_met(s, op, &res);
	if (!ok) {
		report_mismatch(s, op, &res);
		return GS_EXIT_FAIL;
	}
	if (oracle_bad)
		return GS_EXIT_FAIL;
	if (op->has_expect)
		s->expects_met++;
	return GS_EXIT_OK;
}

/* The kernel backend's verbs are guest_memfd verbs: a host without it has nothing to run. */
static int kernel_backend_available(struct gs_scenario *s)
{
	const char *why = gs_live_probe();

	if (why) {
		fprintf(s->opts.out, "skip: backend kernel: %s\n", why);
		return 0;
	}
	return 1;
}

/*
 * What a fresh process would hand this input: pfns from the start, inode 1,
 * trace sequence 0. Memory the caller holds outside the runner keeps the
 * layout as it is (the allocators refuse with -EBUSY, which is no error).
 */
static void fresh_process_layout(void)
{
	gs_physmem_reset_layout();
	kvm_gmem_reset_ino();
	gs_trace_reset_seq();
}

void gs_scenario_begin_run(struct gs_scenario *s, const char *name, uint64_t *live)
{
	s->file = name;
	s->ops_run = s->ops_skipped = s->expects_met = 0;
	s->warn_base = gs_warn_count();
	s->warn_base_line = 0;
	s->lax = false;
	g_array_set_size(s->armed, 0);
	gs_inject_reset();
	s->bugs_before = gs_test_bugs;
	for (unsigned int b = 0; b < GS_BUG_NR; b++)
		if (s->opts.plant & (1u << b))
			gs_test_plant_bug((enum gs_test_bug)b, true);
	oracle_stop(s);
	if (s->opts.persistent)
		fresh_process_layout();
	if (s->opts.metadata_only)
		s->saved_backing = gs_physmem_override_backing(GS_BACKING_NONE);
	if (s->opts.oracle && s->opts.backend == GS_BACKEND_SIM && gs_scenario_oracle_hook)
		s->oracle = gs_scenario_oracle_hook->start();
	gs_scenario_reseed(s, s->opts.seed);
	gs_site_live_all(live);
	gs_trace("scenario.begin", GS_TF_STR("file", name), GS_TF_U("seed", s->opts.seed),
		 GS_TF_STR("backend", s->opts.backend == GS_BACKEND_KERNEL ? "kernel" : "sim"));
	if (!s->opts.quiet)
		fprintf(s->opts.out, "run %s (seed %" PRIu64 ", backend %s)\n", name, s->opts.seed,
			s->opts.backend == GS_BACKEND_KERNEL ? "kernel" : "sim");
}

static void report_unfired_rules(struct gs_scenario *s)
{
	for (guint i = 0; i < s->armed->len; i++) {
		struct gs_armed_rule *a = &g_array_index(s->armed, struct gs_armed_rule, i);

		if (!gs_inject_rule_fired(a->id) && !s->opts.quiet)
			fprintf(s->opts.out, "%s:%u: note: this injection never fired\n", s->file,
				a->line);
	}
	g_array_set_size(s->armed, 0);
	gs_inject_disarm_all();
}

/* Objects gone, rules disarmed, WARNs accounted for, no allocation left behind. */
int gs_scenario_end_run(struct gs_scenario *s, int status, const uint64_t *live)
{
	unsigned long warns = gs_warn_count() - s->warn_base;
	uint64_t now[GS_MAX_SITES];
	unsigned int nr;
	int leaks = 0;

	/*
	 * Injection is per task in the kernel and ends with it: the teardown
	 * (a pool shrinking, a vmemmap restored) must not see the scenario's
	 * rules, or it would fail where no kernel fails.
	 */
	report_unfired_rules(s);
	if (s->oracle && gs_scenario_oracle_hook->finish(s, s->oracle) && status == GS_EXIT_OK)
		status = GS_EXIT_FAIL;
	oracle_stop(s);
	destroy_objects(s);
	gs_scenario_modules_teardown();
	gs_test_bugs = s->bugs_before; /* `plant` and opts.plant last one run */
	if (s->opts.metadata_only)
		gs_physmem_override_backing(s->saved_backing);
	if (status == GS_EXIT_OK && warns) {
		fprintf(s->opts.err, "%s: %lu WARN(s) after line %u not covered by expect-warns\n",
			s->file, warns, s->warn_base_line);
		status = GS_EXIT_FAIL;
	}
	/* The counts alone; a site's name only for a leak's message. */
	nr = gs_site_live_all(now);
	for (unsigned int i = 0; i < nr; i++) {
		struct gs_site_stats st;

		if (now[i] == live[i])
			continue;
		gs_site_stats(i, &st);
		fprintf(s->opts.err,
			"%s: leak at teardown: site %s holds %llu objects (%llu before)\n", s->file,
			st.name, (unsigned long long)st.live, (unsigned long long)live[i]);
		leaks++;
	}
	if (leaks && (status == GS_EXIT_OK || status == GS_EXIT_FAIL))
		status = GS_EXIT_LEAK;
	gs_trace("scenario.end", GS_TF_STR("file", s->file),
		 GS_TF_STR("status", gs_scenario_exit_name(status)));
	if (!s->opts.quiet)
		fprintf(s->opts.out, "%s: %s: %u operations, %u expectations met, %u skipped\n",
			s->file, gs_scenario_exit_name(status), s->ops_run, s->expects_met,
			s->ops_skipped);
	return status;
}

int gs_scenario_run_buffer(struct gs_scenario *s, const char *name, const char *text, size_t len)
{
	uint64_t live[GS_MAX_SITES];
	struct gs_script *script;
	int status = GS_EXIT_OK;

	script = gs_script_parse(name, text, len, s->opts.err);
	if (!script)
		return GS_EXIT_SYNTAX;
	if (s->opts.backend == GS_BACKEND_KERNEL && !kernel_backend_available(s)) {
		gs_script_free(script);
		return GS_EXIT_SKIP;
	}
	gs_scenario_begin_run(s, script->name, live);
	for (guint i = 0; i < script->ops->len; i++) {
		const struct gs_op *op = &g_array_index(script->ops, struct gs_op, i);
		int r = gs_scenario_run_op(s, op);

		if (r == GS_EXIT_OK)
			continue;
		if (status == GS_EXIT_OK || r == GS_EXIT_SYNTAX)
			status = r;
		/* The lines after a question build on its answer: -k stops there too. */
		if (r == GS_EXIT_SYNTAX || !s->opts.keep_going || op->expect.blanks)
			break;
	}
	status = gs_scenario_end_run(s, status, live);
	gs_script_free(script);
	return status;
}

int gs_scenario_run_file(struct gs_scenario *s, const char *path)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	int status;

	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		fprintf(s->opts.err, "%s: %s\n", path, gerr->message);
		g_error_free(gerr);
		return GS_EXIT_USAGE;
	}
	status = gs_scenario_run_buffer(s, path, text, len);
	g_free(text);
	return status;
}
