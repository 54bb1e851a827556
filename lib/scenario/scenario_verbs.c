// SPDX-License-Identifier: MIT
/*
 * The scenario engine's own verbs: narration (note), randomness (seed),
 * fault injection (inject), invariant checks (check, expect-warns), the
 * test-only planted bugs (plant),
 * inspection (show), and kmalloc/kfree, which let a scenario allocate at the
 * generic site to show the allocator and the injector at work.
 */
#include <errno.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/inject.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/scenario_int.h>

#define BOTH (GS_BACKEND_SIM | GS_BACKEND_KERNEL)

/* The largest kmalloc() the kernel serves (order-10 pages on x86-64). */
#define KMALLOC_MAX_SIZE (4UL << 20)

static int note_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)res;
	if (!s->opts.quiet)
		fprintf(s->opts.out, "%s\n", op->text);
	return 0;
}

static const struct gs_verb verb_note = {
	.name = "note",
	.no_fail_nth = true,
	.summary = "print the rest of the line (narration for demos and teaching)",
	.text = true,
	.backends = BOTH,
	.run = note_run,
};

static int seed_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)res;
	gs_scenario_reseed(s, op->target_u64);
	if (!s->opts.quiet)
		fprintf(s->opts.out, "seed: %llu\n", (unsigned long long)op->target_u64);
	return 0;
}

static const struct gs_verb verb_seed = {
	.name = "seed",
	.no_fail_nth = true,
	.summary = "restart the run's random generator from seed N",
	.target = GS_ARG_U64,
	.target_required = true,
	.backends = BOTH,
	.run = seed_run,
};

/* --- strict --- */

static int strict_validate(const struct gs_op *op, char *err, size_t len)
{
	if (!strcmp(op->target, "on") || !strcmp(op->target, "off"))
		return 0;
	snprintf(err, len, "strict takes on or off");
	return -1;
}

/*
 * Generated scenarios (the fuzzers') carry no expectations: an errno is an
 * answer to judge by the oracle, not a failure of the line. Hand-written
 * files keep the default, so the switch is a line of the file itself.
 */
static int strict_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)res;
	s->lax = !strcmp(op->target, "off");
	return 0;
}

static const struct gs_verb verb_strict = {
	.name = "strict",
	.no_fail_nth = true,
	.summary = "off: from here on, a line without => accepts any result (strict verbs "
		   "included); on: the default rules again",
	.target = GS_ARG_STR,
	.target_required = true,
	.usage_target = "on|off",
	.backends = BOTH,
	.validate = strict_validate,
	.run = strict_run,
};

/* --- inject --- */

static const char *const gfp_filter_names[] = {"any", "nowait", "wait", NULL};

/*
 * The keys by index: inject_keys[] is written in this order (designated
 * initializers), so an `inject` line's run and check read op->args[IK_*]
 * (a fuzz input has ten such lines; each key read through its place's
 * cache missed the L1 cache, 3.4 times the lines' instructions in time).
 */
enum {
	IK_SITE,
	IK_NTH,
	IK_PERSISTENT,
	IK_EVERY,
	IK_PROBABILITY,
	IK_PPM,
	IK_SEED,
	IK_TIMES,
	IK_GFP,
	IK_STACK,
	IK_OFF,
	IK_NR,
};

static const struct gs_key inject_keys[IK_NR + 1] = {
	[IK_SITE] = {"site", GS_ARG_STR,
		     .help = "site to fail (gmemsim sites); all sites if absent"},
	[IK_NTH] = {"nth", GS_ARG_U64,
		    .help = "fail the nth matching allocation from now (1-based)"},
	[IK_PERSISTENT] = {"persistent", GS_ARG_BOOL,
			   .help = "with nth: keep failing every later one"},
	[IK_EVERY] = {"every", GS_ARG_BOOL, .help = "fail every matching allocation"},
	[IK_PROBABILITY] = {"probability", GS_ARG_U64,
			    .help = "fail each matching allocation with this % chance"},
	[IK_PPM] = {"ppm", GS_ARG_U64, .help = "as probability, in parts per million"},
	[IK_SEED] = {"seed", GS_ARG_U64,
		     .help = "seed of a probability rule (default: drawn from the run)"},
	[IK_TIMES] = {"times", GS_ARG_U64, .help = "inject at most this many failures"},
	[IK_GFP] = {"gfp", GS_ARG_ENUM, gfp_filter_names,
		    .help = "only allocations that may not block (nowait) or may (wait)"},
	[IK_STACK] = {"stack", GS_ARG_U64, .help = "only the call path with this backtrace hash"},
	[IK_OFF] = {"off", GS_ARG_BOOL, .help = "disarm every rule"},
	[IK_NR] = {NULL},
};

/* Key @i of an `inject` line, or NULL: what gs_op_arg_fast(op, inject_keys[i].name) answers. */
static inline const struct gs_arg *inject_arg(const struct gs_op *op, unsigned int i)
{
	return op->args[i].present ? &op->args[i] : NULL;
}

/* inject_arg()'s number, or @dflt (evaluated either way, as gs_op_u64()'s). */
static inline uint64_t inject_u64(const struct gs_op *op, unsigned int i, uint64_t dflt)
{
	return op->args[i].present ? op->args[i].u : dflt;
}

static int inject_validate(const struct gs_op *op, char *err, size_t len)
{
	/* Each key read once (a fuzz input builds ten `inject` lines). */
	const struct gs_arg *nth = inject_arg(op, IK_NTH);
	const struct gs_arg *prob = inject_arg(op, IK_PROBABILITY);
	const struct gs_arg *ppm = inject_arg(op, IK_PPM);
	const struct gs_arg *site_arg = inject_arg(op, IK_SITE);
	int modes = (nth != NULL) + (inject_arg(op, IK_EVERY) != NULL) + (prob || ppm);
	const char *site = site_arg ? site_arg->str : NULL;

	if (inject_arg(op, IK_OFF)) {
		if (modes || site)
			snprintf(err, len, "inject off takes no other key");
		return modes || site;
	}
	if (modes != 1) {
		snprintf(err, len,
			 "inject needs exactly one of nth=, every, probability= (or ppm=)");
		return -1;
	}
	if (site && gs_site_lookup(site) < 0) {
		snprintf(err, len, "unknown fault-injection site '%s' (gmemsim sites lists them)",
			 site);
		return -1;
	}
	if (nth && !nth->u) {
		snprintf(err, len, "nth counts from 1");
		return -1;
	}
	if (inject_arg(op, IK_PERSISTENT) && !nth) {
		snprintf(err, len, "persistent goes with nth=");
		return -1;
	}
	if (prob && ppm) {
		snprintf(err, len, "give probability= or ppm=, not both");
		return -1;
	}
	if ((prob ? prob->u : 0) > 100 || (ppm ? ppm->u : 0) > GS_INJECT_PPM) {
		snprintf(err, len, "probability is at most 100%% (1000000 ppm)");
		return -1;
	}
	return 0;
}

/*
 * Arm a rule (or disarm all). The rule's fields are read in the order
 * they always were, the seed's default drawn from the run whether given
 * or not (a probability rule's).
 */
static int inject_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	const char *site;
	struct gs_inject_rule r;
	struct gs_armed_rule a = {.line = op->line};

	/* Half a fuzz input's `inject` lines: no rule to read. */
	if (inject_u64(op, IK_OFF, 0)) {
		g_array_set_size(s->armed, 0);
		gs_inject_disarm_all();
		return 0;
	}
	site = inject_arg(op, IK_SITE) ? op->args[IK_SITE].str : NULL;
	r = (struct gs_inject_rule){
		.site = site ? gs_site_lookup(site) : GS_INJECT_ANY_SITE,
		.nth = inject_u64(op, IK_NTH, 0),
		.persistent = inject_u64(op, IK_PERSISTENT, 0),
		.times = inject_u64(op, IK_TIMES, 0),
		.gfp = (enum gs_inject_gfp)inject_u64(op, IK_GFP, GS_INJECT_GFP_ANY),
		.stack = inject_u64(op, IK_STACK, 0),
	};
	if (inject_arg(op, IK_EVERY)) {
		r.mode = GS_INJECT_EVERY;
	} else if (inject_arg(op, IK_PROBABILITY) || inject_arg(op, IK_PPM)) {
		r.mode = GS_INJECT_PROB;
		r.probability_ppm = inject_arg(op, IK_PPM)
					    ? (uint32_t)inject_u64(op, IK_PPM, 0)
					    : (uint32_t)inject_u64(op, IK_PROBABILITY, 0) * 10000;
		r.seed = inject_u64(op, IK_SEED, gs_rng_next(&s->rng));
	}
	a.id = gs_inject_arm(&r);
	res->ret = a.id < 0 ? a.id : 0;
	if (a.id >= 0)
		g_array_append_val(s->armed, a);
	return 0;
}

static const struct gs_verb verb_inject = {
	.name = "inject",
	.no_fail_nth = true,
	.summary = "arm fault injection: one of nth=, every, probability= (or ppm=); or off",
	.keys = inject_keys,
	.backends = GS_BACKEND_SIM,
	.validate = inject_validate,
	.run = inject_run,
};

/* --- plant (TEST-ONLY) --- */

static const struct gs_key plant_keys[] = {
	{"bug", GS_ARG_ENUM, gs_test_bug_names, .required = true,
	 .help = "the planted bug (docs/ORACLE.md, \"Planted bugs\")"},
	{"off", GS_ARG_BOOL, .help = "take it out again"},
	{NULL},
};

/*
 * Plant a known bug in the simulator, so that a fuzzer's reduced finding
 * replays with `gmemsim run` (the bug is part of the input). Every bug the
 * run planted is taken out when it ends (gs_scenario_end_run()).
 */
static int plant_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	(void)res;
	gs_test_plant_bug((enum gs_test_bug)gs_op_u64(op, "bug", 0), !gs_op_u64(op, "off", 0));
	return 0;
}

static const struct gs_verb verb_plant = {
	.name = "plant",
	.no_fail_nth = true,
	.summary = "TEST-ONLY: plant a known bug in the simulator (bug=NAME; off takes it out)",
	.keys = plant_keys,
	.backends = GS_BACKEND_SIM,
	.run = plant_run,
};

/* --- check, expect-warns --- */

struct check_walk {
	FILE *out;
	unsigned int violations;
};

static void check_obj(struct gs_scenario *s, const char *name, const struct gs_obj_type *type,
		      void *obj, void *arg)
{
	struct check_walk *w = arg;
	struct gs_check_report r = GS_CHECK_REPORT_INIT(name, w->out);

	(void)s;
	if (type->check) {
		type->check(&r, name, obj);
		w->violations += r.violations;
	}
}

static int check_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct check_walk w = {.out = s->opts.err};

	(void)op;
	w.violations = gs_check_run_all(s->opts.err);
	gs_scenario_for_each_obj(s, check_obj, &w);
	res->ret = w.violations;
	gs_result_set(res, "violations", w.violations);
	if (w.violations)
		gs_result_why(res, "%u invariant violation(s), listed above", w.violations);
	return 0;
}

static const char *const check_outputs[] = {"violations", NULL};

static const struct gs_verb verb_check = {
	.name = "check",
	.no_fail_nth = true,
	.summary = "run every invariant checker; fails the run on any violation",
	.outputs = check_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = check_run,
};

static int expect_warns_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	unsigned long got = gs_warn_count() - s->warn_base;

	if (got != op->target_u64) {
		res->ret = 1;
		if (s->warn_base_line)
			gs_result_why(res, "expected %llu WARN(s) since line %u, got %lu",
				      (unsigned long long)op->target_u64, s->warn_base_line, got);
		else
			gs_result_why(res, "expected %llu WARN(s) since the start, got %lu",
				      (unsigned long long)op->target_u64, got);
	}
	gs_result_set(res, "warns", got);
	s->warn_base = gs_warn_count();
	s->warn_base_line = op->line;
	return 0;
}

static const char *const warns_outputs[] = {"warns", NULL};

static const struct gs_verb verb_expect_warns = {
	.name = "expect-warns",
	.no_fail_nth = true,
	.summary = "assert that exactly N WARNs fired since the last expect-warns (or the start)",
	.target = GS_ARG_U64,
	.target_required = true,
	.outputs = warns_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = expect_warns_run,
};

/* --- kmalloc, kfree, show --- */

struct kbuf {
	void *p;
	size_t size;
};

static void kbuf_destroy(void *obj)
{
	struct kbuf *b = obj;

	gs_kfree(b->p, b->size);
	g_free(b);
}

static void kbuf_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	struct gs_site_stats st;
	struct kbuf *b = obj;

	(void)s;
	gs_site_stats(GS_SITE_KMALLOC, &st);
	fprintf(f, "%s: kmalloc buffer of %zu bytes (site kmalloc: %llu live, %llu bytes)\n", name,
		b->size, (unsigned long long)st.live, (unsigned long long)st.live_bytes);
}

static void kbuf_dump(struct gs_state *st, const char *path, void *obj)
{
	gs_state_add_u64(st, path, "size", ((struct kbuf *)obj)->size);
}

static const struct gs_obj_type kbuf_type = {
	.name = "kmalloc buffer",
	.destroy = kbuf_destroy,
	.show = kbuf_show,
	.dump = kbuf_dump,
};

static const char *const gfp_names[] = {"kernel", "nowait", "atomic", NULL};
static const uint64_t gfp_values[] = {GFP_KERNEL, GFP_NOWAIT, GFP_ATOMIC};

static const struct gs_key kmalloc_keys[] = {
	{"size", GS_ARG_U64, .required = true, .help = "bytes"},
	{"gfp", GS_ARG_ENUM, gfp_names, gfp_values,
	 .help = "GFP_KERNEL (default), NOWAIT or ATOMIC"},
	{"zero", GS_ARG_BOOL, .help = "__GFP_ZERO"},
	{NULL},
};

static int kmalloc_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	size_t size = gs_op_u64(op, "size", 0);
	gfp_t gfp = (gfp_t)gs_op_u64(op, "gfp", GFP_KERNEL);
	struct kbuf *b;
	void *p;

	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' already exists", op->target);
	if (gs_op_u64(op, "zero", 0))
		gfp |= __GFP_ZERO;
	p = size > KMALLOC_MAX_SIZE ? NULL : gs_kmalloc(size, gfp);
	if (!p) {
		res->ret = -ENOMEM;
		return 0;
	}
	b = g_new0(struct kbuf, 1);
	b->p = p;
	b->size = size;
	gs_scenario_obj_add(s, op->target, &kbuf_type, b);
	return 0;
}

static const struct gs_verb verb_kmalloc = {
	.name = "kmalloc",
	.summary = "allocate at site kmalloc",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = kmalloc_keys,
	.backends = GS_BACKEND_SIM,
	.run = kmalloc_run,
};

static int kfree_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)res;
	if (!gs_scenario_obj_get(s, op->target, &kbuf_type))
		return gs_scenario_error(s, op, "no kmalloc buffer named '%s'", op->target);
	gs_scenario_obj_del(s, op->target);
	return 0;
}

static const struct gs_verb verb_kfree = {
	.name = "kfree",
	.summary = "free a buffer from kmalloc",
	.target = GS_ARG_STR,
	.target_required = true,
	.backends = GS_BACKEND_SIM,
	.run = kfree_run,
};

static void show_obj(struct gs_scenario *s, const char *name, const struct gs_obj_type *type,
		     void *obj, void *arg)
{
	const char *only = arg;

	if (only && strcmp(only, name))
		return;
	if (type->show)
		type->show(s, s->opts.out, name, obj);
	else
		fprintf(s->opts.out, "%s: %s\n", name, type->name);
}

static int show_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)res;
	if (op->target && !gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "no object named '%s'", op->target);
	if (!s->opts.quiet)
		gs_scenario_for_each_obj(s, show_obj, (void *)op->target);
	return 0;
}

static const struct gs_verb verb_show = {
	.name = "show",
	.no_fail_nth = true,
	.summary = "print an object (or every object)",
	.target = GS_ARG_STR,
	.backends = GS_BACKEND_SIM,
	.run = show_run,
};

static bool warns_match(const struct gs_result *res, const struct gs_expect_item *it, char *actual,
			size_t len)
{
	snprintf(actual, len, "%lu", res->warns);
	return it->is_num && res->warns == it->num;
}

static const struct gs_expect_kind kind_warns = {
	.key = "warns",
	.summary = "warns=N: the operation reported exactly N WARNs",
	.match = warns_match,
};

static const struct gs_verb *const core_verbs[] = {
	&verb_note, &verb_seed,	   &verb_strict, &verb_inject, &verb_check, &verb_expect_warns,
	&verb_show, &verb_kmalloc, &verb_kfree,	 &verb_plant,  NULL,
};

static const struct gs_expect_kind *const core_kinds[] = {&kind_warns, NULL};

static struct gs_scenario_module core_module = {
	.name = "core",
	.priority = GS_MODULE_PRIO_CORE,
	.verbs = core_verbs,
	.kinds = core_kinds,
};
GS_SCENARIO_MODULE(core_module)
