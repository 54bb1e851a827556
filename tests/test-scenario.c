// SPDX-License-Identifier: MIT
/*
 * Tests of the scenario engine (lib/scenario*.c): numbers, tokens, every
 * parse error with its file:line, expectations, the built-in verbs, objects,
 * teardown checks (leaks, unexpected WARNs), determinism, and a seeded
 * mutation fuzz of the parser and runner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/inject.h>
#include <gmemsim/reduce.h>
#include <gmemsim/rng.h>
#include <gmemsim/scenario.h>
#include <gmemsim/sites.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>
#include <valgrind/valgrind.h>
#include <gmemsim/internal/scenario_int.h>
#include "harness.h"

struct run {
	int status;
	char *out;
	char *err;
};

static struct run run_opts(const char *text, struct gs_scenario_opts o)
{
	struct run r = {0};
	size_t lo, le;
	FILE *out = open_memstream(&r.out, &lo);
	FILE *err = open_memstream(&r.err, &le);
	struct gs_scenario *s;

	o.out = out;
	o.err = err;
	s = gs_scenario_new(&o);
	r.status = gs_scenario_run_buffer(s, "t.gms", text, strlen(text));
	gs_scenario_free(s);
	fclose(out);
	fclose(err);
	return r;
}

static struct run run(const char *text)
{
	return run_opts(text, (struct gs_scenario_opts){0});
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The run ends with @status and @needle appears in its error output. */
static void expect_err(const char *text, int status, const char *needle)
{
	struct run r = run(text);

	ck_assert_msg(r.status == status, "status %d, wanted %d; stderr:\n%s", r.status, status,
		      r.err);
	ck_assert_msg(strstr(r.err, needle), "'%s' not in stderr:\n%s", needle, r.err);
	run_free(&r);
}

/* --- verbs made for these tests --- */

static int tw_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	(void)res;
	for (uint64_t i = 0; i < op->target_u64; i++)
		WARN(1, "test-warn %llu", (unsigned long long)i);
	return 0;
}

static const struct gs_verb verb_test_warn = {
	.name = "test-warn",
	.summary = "WARN N times",
	.target = GS_ARG_U64,
	.target_required = true,
	.backends = GS_BACKEND_SIM,
	.run = tw_run,
};

static const char *const mode_names[] = {"alpha", "beta", "gamma", NULL};
static const uint64_t mode_values[] = {10, 20, 30};
static const char *const flag_names[] = {"mmap", "init_shared", "hugetlb", NULL};

static const struct gs_key echo_keys[] = {
	{"n", GS_ARG_U64},
	{"s", GS_ARG_STR},
	{"flags", GS_ARG_FLAGS, flag_names},
	{"mode", GS_ARG_ENUM, mode_names, mode_values},
	{"on", GS_ARG_BOOL},
	{"ret", GS_ARG_U64},
	{"need", GS_ARG_U64},
	{"off", GS_ARG_U64},
	{NULL},
};

static const char *const echo_outputs[] = {"n", "flags", "mode", "on", "s", "off", NULL};

/* Reports its arguments back as result fields; ret=E makes it fail with -E. */
static int echo_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	res->ret = -(long long)gs_op_u64(op, "ret", 0);
	if (gs_op_has(op, "n"))
		gs_result_set(res, "n", gs_op_u64(op, "n", 0));
	if (gs_op_has(op, "flags"))
		gs_result_set(res, "flags", gs_op_u64(op, "flags", 0));
	if (gs_op_has(op, "mode"))
		gs_result_set(res, "mode", gs_op_u64(op, "mode", 0));
	gs_result_set(res, "on", gs_op_u64(op, "on", 0));
	if (gs_op_has(op, "s"))
		gs_result_set_str(res, "s", gs_op_str(op, "s", ""));
	if (gs_op_has(op, "off"))
		gs_result_set_hex(res, "off", gs_op_u64(op, "off", 0));
	if (op->target && !strcmp(op->target, "sigbus"))
		res->sig = 7; /* SIGBUS */
	return 0;
}

static int echo_validate(const struct gs_op *op, char *err, size_t len)
{
	if (gs_op_u64(op, "need", 1) == 0) {
		snprintf(err, len, "need must not be 0");
		return -1;
	}
	return 0;
}

static const struct gs_verb verb_echo = {
	.name = "echo",
	.summary = "report the arguments",
	.target = GS_ARG_STR,
	.keys = echo_keys,
	.outputs = echo_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.validate = echo_validate,
	.run = echo_run,
};

/* Objects that log their destruction, and one that leaks. */
static char destroyed[64];

static void tobj_destroy(void *obj)
{
	strncat(destroyed, obj, sizeof(destroyed) - strlen(destroyed) - 1);
	g_free(obj);
}

static void tobj_check(struct gs_check_report *r, const char *name, void *obj)
{
	if (!strcmp(obj, "bad"))
		gs_check_violation(r, "object %s is bad", name);
}

static const struct gs_obj_type tobj_type = {"tobj", tobj_destroy, tobj_check, NULL};

static int mk_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	const char *tag = gs_op_str(op, "tag", op->target);

	char *obj = g_strdup(tag);

	if (gs_scenario_obj_add(s, op->target, &tobj_type, obj)) {
		g_free(obj);
		res->ret = -EEXIST;
	}
	return 0;
}

static const struct gs_key mk_keys[] = {{"tag", GS_ARG_STR}, {NULL}};

static const struct gs_verb verb_mk = {
	.name = "mk",
	.summary = "make a test object",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = mk_keys,
	.backends = GS_BACKEND_SIM,
	.run = mk_run,
};

/* The tag of object @target (its tobj string), or ENOENT: which object a name finds. */
static int tag_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	const char *tag = gs_scenario_obj_get(s, op->target, &tobj_type);

	if (!tag)
		res->ret = -ENOENT;
	else
		gs_result_set_str(res, "tag", tag);
	return 0;
}

static const char *const tag_outputs[] = {"tag", NULL};

static const struct gs_verb verb_tag = {
	.name = "tag",
	.summary = "the tag of a test object",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = tag_outputs,
	.backends = GS_BACKEND_SIM,
	.run = tag_run,
};

static int rm_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	res->ret = gs_scenario_obj_del(s, op->target);
	return 0;
}

static const struct gs_verb verb_rm = {
	.name = "rm",
	.summary = "destroy a test object",
	.target = GS_ARG_STR,
	.target_required = true,
	.backends = GS_BACKEND_SIM,
	.run = rm_run,
};

/* Fails with a reason and N fields (target): a result with everything set. */
static int why_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	static const char *const keys[] = {"a", "b", "c", "d"};

	(void)s;
	for (uint64_t i = 0; i < op->target_u64 && i < G_N_ELEMENTS(keys); i++)
		gs_result_set(res, keys[i], 100 + i);
	gs_result_why(res, "because %llu", (unsigned long long)op->target_u64);
	res->ret = -EINVAL;
	return 0;
}

static const struct gs_verb verb_why = {
	.name = "test-why",
	.summary = "fail with a reason and N fields",
	.target = GS_ARG_U64,
	.target_required = true,
	.backends = GS_BACKEND_SIM,
	.run = why_run,
};

static int leaky_site = -1;
static void *leaked[64];
static unsigned int nr_leaked;

/* "Leaks" as far as the scenario can tell; the test keeps the pointers to free them later. */
static int leak_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	void *p;

	(void)s;
	(void)op;
	if (nr_leaked == ARRAY_SIZE(leaked)) {
		res->ret = -ENOSPC;
		return 0;
	}
	p = gs_alloc((unsigned int)leaky_site, 40, GFP_KERNEL);
	if (!p)
		res->ret = -ENOMEM;
	else
		leaked[nr_leaked++] = p;
	return 0;
}

static void release_leaks(void)
{
	while (nr_leaked)
		gs_free((unsigned int)leaky_site, leaked[--nr_leaked], 40);
}

static const struct gs_verb verb_leak = {
	.name = "leak",
	.summary = "allocate and forget",
	.backends = GS_BACKEND_SIM,
	.run = leak_run,
};

static void register_test_verbs(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	gs_scenario_init();
	ck_assert_int_eq(gs_verb_register(&verb_test_warn), 0);
	ck_assert_int_eq(gs_verb_register(&verb_echo), 0);
	ck_assert_int_eq(gs_verb_register(&verb_mk), 0);
	ck_assert_int_eq(gs_verb_register(&verb_leak), 0);
	ck_assert_int_eq(gs_verb_register(&verb_tag), 0);
	ck_assert_int_eq(gs_verb_register(&verb_rm), 0);
	ck_assert_int_eq(gs_verb_register(&verb_why), 0);
	leaky_site = gs_site_register("test.leaky", "allocations the test leaks on purpose");
}

static void setup(void)
{
	register_test_verbs();
	destroyed[0] = '\0';
	gs_warn_set_mode(GS_WARN_QUIET);
}

static void teardown(void)
{
	gs_warn_set_mode(GS_WARN_PRINT);
}

/* --- verbs for the fail-nth runner: one that rolls back, one that does not --- */

struct fnobj {
	unsigned int nr;
	void *p[128];
};

static void fnobj_destroy(void *obj)
{
	struct fnobj *o = obj;

	while (o->nr)
		gs_kfree(o->p[--o->nr], 24);
	g_free(o);
}

static void fnobj_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	(void)s;
	fprintf(f, "%s: fn object of %u allocations\n", name, ((struct fnobj *)obj)->nr);
}

static const struct gs_obj_type fnobj_type = {"fn object", fnobj_destroy, NULL, fnobj_show};

/*
 * fn-alloc NAME n=N: N allocations at site kmalloc; a failure frees what was
 * taken (a correct rollback). With `leaky`, a failure keeps the first
 * allocation (the bug the runner must catch: state changed, memory leaked).
 */
static int fn_alloc_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct fnobj *o = g_new0(struct fnobj, 1);
	unsigned int n = (unsigned int)gs_op_u64(op, "n", 3);

	while (o->nr < n && o->nr < ARRAY_SIZE(o->p)) {
		void *p = gs_kmalloc(24, GFP_KERNEL);

		if (!p) {
			if (gs_op_u64(op, "crash", 0))
				raise(SIGKILL);
			WARN(gs_op_u64(op, "warn", 0), "fn-alloc: allocation %u failed", o->nr);
			if (gs_op_u64(op, "leaky", 0) && o->nr)
				o->nr--; /* forgets p[0..]: still live, never freed here */
			while (o->nr)
				gs_kfree(o->p[--o->nr], 24);
			g_free(o);
			res->ret = -ENOMEM;
			return 0;
		}
		o->p[o->nr++] = p;
	}
	gs_scenario_obj_add(s, op->target, &fnobj_type, o);
	return 0;
}

static const struct gs_key fn_alloc_keys[] = {
	{"n", GS_ARG_U64, .help = "allocations (default 3)"},
	{"leaky", GS_ARG_BOOL, .help = "on failure, leak the first allocation"},
	{"crash", GS_ARG_BOOL, .help = "on failure, die by SIGKILL"},
	{"warn", GS_ARG_BOOL, .help = "on failure, WARN"},
	{NULL},
};

static const struct gs_verb verb_fn_alloc = {
	.name = "fn-alloc",
	.summary = "allocate n times, rolling back (or, leaky, not) on failure",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = fn_alloc_keys,
	.backends = GS_BACKEND_SIM,
	.run = fn_alloc_run,
};

static char *fn_dump;
static struct gs_state *fn_state;

/* fn-dump: keep gs_scenario_dump_state()'s text and a snapshot for the test to read. */
static int fn_dump_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	size_t len;
	FILE *f;

	(void)op;
	(void)res;
	free(fn_dump);
	f = open_memstream(&fn_dump, &len);
	gs_scenario_dump_state(s, f);
	fclose(f);
	gs_state_free(fn_state);
	fn_state = gs_scenario_state(s);
	return 0;
}

static const struct gs_verb verb_fn_dump = {
	.name = "fn-dump",
	.summary = "keep a state dump",
	.backends = GS_BACKEND_SIM,
	.no_fail_nth = true,
	.run = fn_dump_run,
};

/*
 * Verbs whose answer to a failed allocation is not a clean ENOMEM, each
 * once with the fail-nth policy that allows it and once without, so the
 * runner is seen reading the policy from the descriptor.
 *
 * fn-eio NAME n=N: as fn-alloc, but a failure is -EIO.
 * fn-less NAME n=N: stops at the first failure and keeps what it got (got=K).
 * fn-steps NAME n=N: a failure returns -ENOMEM but keeps what was done (done=K).
 */
static int fn_policy_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			 int how)
{
	/* A retry after a partial failure adds to what the first attempt left. */
	struct fnobj *o = gs_scenario_obj_get(s, op->target, &fnobj_type);
	unsigned int n = (unsigned int)gs_op_u64(op, "n", 3), got = 0;
	bool fresh = !o;

	if (fresh)
		o = g_new0(struct fnobj, 1);
	while (got < n && o->nr < ARRAY_SIZE(o->p)) {
		void *p = gs_kmalloc(24, GFP_KERNEL);

		if (p) {
			o->p[o->nr++] = p;
			got++;
			continue;
		}
		if (how == 'e') {
			while (got--)
				gs_kfree(o->p[--o->nr], 24);
			if (fresh)
				g_free(o);
			res->ret = -EIO;
			return 0;
		}
		if (how == 's')
			res->ret = -ENOMEM;
		break;
	}
	gs_result_set(res, how == 's' ? "done" : "got", got);
	if (fresh && o->nr)
		gs_scenario_obj_add(s, op->target, &fnobj_type, o);
	else if (fresh)
		g_free(o);
	return 0;
}

static int fn_eio_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	return fn_policy_run(s, op, res, 'e');
}

static int fn_less_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	return fn_policy_run(s, op, res, 'l');
}

static int fn_steps_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	return fn_policy_run(s, op, res, 's');
}

static const int eio_errnos[] = {EIO, 0};
static const struct gs_fail_nth_effort kmalloc_absorbed[] = {{NULL, "kmalloc"}, {NULL, NULL}};
static const struct gs_fail_nth_effort other_site_absorbed[] = {{NULL, "hvo.restore"},
								{NULL, NULL}};
static const char *const fn_policy_outputs[] = {"got", "done", NULL};

#define FN_POLICY_VERB(var, verb, fn, ...)                                           \
	static const struct gs_verb var = {.name = verb,                             \
					   .summary = "a fail-nth policy test verb", \
					   .target = GS_ARG_STR,                     \
					   .target_required = true,                  \
					   .keys = fn_alloc_keys,                    \
					   .outputs = fn_policy_outputs,             \
					   .backends = GS_BACKEND_SIM,               \
					   .run = fn,                                \
					   __VA_ARGS__}

FN_POLICY_VERB(verb_fn_eio, "fn-eio", fn_eio_run, .fail_nth.errnos = eio_errnos);
FN_POLICY_VERB(verb_fn_eio_bare, "fn-eio-bare", fn_eio_run);
FN_POLICY_VERB(verb_fn_less, "fn-less", fn_less_run, .fail_nth.best_effort = kmalloc_absorbed);
FN_POLICY_VERB(verb_fn_less_other, "fn-less-other", fn_less_run,
	       .fail_nth.best_effort = other_site_absorbed);
FN_POLICY_VERB(verb_fn_steps, "fn-steps", fn_steps_run, .fail_nth.progress = "done");
FN_POLICY_VERB(verb_fn_steps_bare, "fn-steps-bare", fn_steps_run);

static void register_fn_verbs(void)
{
	if (!gs_verb_lookup(verb_fn_alloc.name))
		ck_assert_int_eq(gs_verb_register(&verb_fn_alloc), 0);
	if (!gs_verb_lookup(verb_fn_dump.name))
		ck_assert_int_eq(gs_verb_register(&verb_fn_dump), 0);
	if (gs_verb_lookup(verb_fn_eio.name))
		return;
	ck_assert_int_eq(gs_verb_register(&verb_fn_eio), 0);
	ck_assert_int_eq(gs_verb_register(&verb_fn_eio_bare), 0);
	ck_assert_int_eq(gs_verb_register(&verb_fn_less), 0);
	ck_assert_int_eq(gs_verb_register(&verb_fn_less_other), 0);
	ck_assert_int_eq(gs_verb_register(&verb_fn_steps), 0);
	ck_assert_int_eq(gs_verb_register(&verb_fn_steps_bare), 0);
}

struct fn_run {
	int status;
	struct gs_fail_nth_stats st;
	char *out;
	char *err;
};

/*
 * The runner forks, and its children exit without freeing what they
 * inherited; memcheck checks every child for leaks at exit and would report
 * the whole heap. Under valgrind these cases are skipped (the ASan build and
 * the default build run them, and the fail-nth suite runs the runner itself).
 */
static bool skip_under_valgrind(const char *name)
{
	if (!RUNNING_ON_VALGRIND)
		return false;
	printf("skip %s: the fail-nth runner's children are not leak-clean processes\n", name);
	return true;
}

/*
 * The runner's children write findings through the streams' descriptors, so
 * the streams are temporary files (a memstream would lose what they write).
 */
static struct fn_run fail_nth(const char *text, unsigned int max)
{
	struct fn_run r = {0};
	FILE *out = tmpfile(), *err = tmpfile();
	struct gs_fail_nth_opts fo = {.max = max, .seed = 7, .out = out, .err = err};

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	register_fn_verbs();
	r.status = gs_scenario_fail_nth_buffer(NULL, &fo, "t.gms", text, strlen(text), &r.st);
	r.out = gs_test_slurp(out);
	r.err = gs_test_slurp(err);
	return r;
}

static void fn_run_free(struct fn_run *r)
{
	g_free(r->out);
	g_free(r->err);
}

START_TEST(fail_nth_counts)
{
	if (skip_under_valgrind("fail_nth_counts"))
		return;
	uint64_t live = gs_alloc_live_total();
	struct fn_run r = fail_nth("note three lines make queries: 1 + 3 + 5\n"
				   "kmalloc a size=64\n"
				   "fn-alloc x\n"
				   "show\n"
				   "fn-alloc y n=5 => 0\n"
				   "kfree a\n"
				   "check\n",
				   0);

	ck_assert_msg(r.status == GS_EXIT_OK, "status %d\nout:\n%s\nerr:\n%s", r.status, r.out,
		      r.err);
	ck_assert_uint_eq(r.st.lines, 3);
	ck_assert_uint_eq(r.st.injections, 9);
	ck_assert_uint_eq(r.st.failed_clean, 9);
	ck_assert_uint_eq(r.st.absorbed, 0);
	ck_assert_uint_eq(r.st.partial, 0);
	ck_assert_uint_eq(r.st.findings, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "t.gms: fail-nth: ok: 3 lines tested, 0 skipped, 9 "
					    "injections, 9 failed cleanly, 0 absorbed"));
	ck_assert_str_eq(r.err, "");
	fn_run_free(&r);
	/* Everything ran in children: this process allocated nothing. */
	ck_assert_uint_eq(gs_alloc_live_total(), live);
}
END_TEST

START_TEST(fail_nth_sampling)
{
	if (skip_under_valgrind("fail_nth_sampling"))
		return;
	const char *text = "fn-alloc big n=100\n";
	struct fn_run r = fail_nth(text, 8), again = fail_nth(text, 8);

	ck_assert_int_eq(r.status, GS_EXIT_OK);
	/* 8 of 100: n = 1..4, 99..100 and 2 drawn from 5..98. */
	ck_assert_uint_eq(r.st.injections, 8);
	ck_assert_uint_eq(r.st.failed_clean, 8);
	ck_assert_ptr_nonnull(strstr(r.out, "t.gms:1: fn-alloc: 100 queries; testing n=1..4, "
					    "99..100 and 2 sampled (seed 7):"));
	/* Same seed, same sample. */
	ck_assert_str_eq(r.out, again.out);
	fn_run_free(&r);
	fn_run_free(&again);
}
END_TEST

START_TEST(fail_nth_catches_broken_rollback)
{
	if (skip_under_valgrind("fail_nth_catches_broken_rollback"))
		return;
	struct fn_run r = fail_nth("fn-alloc ok n=2\nfn-alloc bad n=3 leaky\n", 0);

	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_uint_eq(r.st.lines, 2);
	ck_assert_uint_eq(r.st.injections, 5);
	/* n=1 of the leaky line has nothing to leak yet; n=2 and n=3 leak. */
	ck_assert_uint_eq(r.st.failed_clean, 3);
	ck_assert_uint_eq(r.st.findings, 2);
	ck_assert_msg(strstr(r.err, "t.gms:2: fn-alloc nth=2 (site kmalloc, stack 0x"),
		      "stderr:\n%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "failed with ENOMEM but changed the state:"));
	/* The diff names the site that kept an object. */
	ck_assert_msg(strstr(r.err, "\n  -sites/kmalloc live=2\n"), "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "\n  +sites/kmalloc live=3\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "FAILED"));
	fn_run_free(&r);
}
END_TEST

START_TEST(fail_nth_catches_crash_and_warn)
{
	if (skip_under_valgrind("fail_nth_catches_crash_and_warn"))
		return;
	struct fn_run r =
		fail_nth("fn-alloc a n=2\nfn-alloc b n=2 crash\nfn-alloc c n=1 warn\n", 0);

	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_uint_eq(r.st.lines, 3);
	ck_assert_uint_eq(r.st.injections, 5);
	ck_assert_uint_eq(r.st.failed_clean, 2);
	ck_assert_uint_eq(r.st.findings, 3);
	ck_assert_msg(strstr(r.err, "t.gms:2: fn-alloc nth=1: the child killed by signal 9 "
				    "(SIGKILL) during the injected attempt (line 2)"),
		      "stderr:\n%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:2: fn-alloc nth=2: the child killed"));
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:3: fn-alloc nth=1 (site kmalloc, stack 0x"));
	ck_assert_ptr_nonnull(
		strstr(r.err, "1 WARN(s) on the injected attempt (result ENOMEM warns=1)"));
	fn_run_free(&r);
}
END_TEST

/* A runner over real verbs, with the oracle or not, in @mode, adding to @cov. */
static struct fn_run fail_nth_mode(const char *text, bool oracle, enum gs_fail_nth_mode mode,
				   struct gs_fail_nth_coverage *cov)
{
	struct fn_run r = {0};
	FILE *out = tmpfile(), *err = tmpfile();
	struct gs_scenario_opts opts = {.quiet = true, .oracle = oracle};
	struct gs_fail_nth_opts fo = {.out = out, .err = err, .mode = mode, .coverage = cov};

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	r.status = gs_scenario_fail_nth_buffer(&opts, &fo, "t.gms", text, strlen(text), &r.st);
	r.out = gs_test_slurp(out);
	r.err = gs_test_slurp(err);
	ck_assert_msg(r.status == GS_EXIT_OK && !r.st.findings, "status %d\nout:\n%s\nerr:\n%s",
		      r.status, r.out, r.err);
	return r;
}

/* A file, a VM-less create that fails its checks, an allocation and a conversion. */
static const char fn_gmem_text[] = "vm s type=sw_protected conversion=planned\n"
				   "gmem g vm=s size=64K flags=mmap\n"
				   "gmem bad size=1 => EINVAL\n"
				   "memslot s slot=0 gpa=4G size=64K gmem=g\n"
				   "falloc g off=0 len=16K => 0\n"
				   "convert g off=0 len=8K to=shared => 0\n"
				   "close g\n";

/*
 * Persistent failures reach what transient ones cannot: an XArray store
 * retries a failed GFP_NOWAIT node with GFP_KERNEL, which absorbs a
 * transient failure but fails too when the failure persists.
 */
START_TEST(fail_nth_persistent)
{
	if (skip_under_valgrind("fail_nth_persistent"))
		return;
	struct fn_run tr = fail_nth_mode(fn_gmem_text, false, GS_FAIL_NTH_TRANSIENT, NULL);
	struct fn_run ps = fail_nth_mode(fn_gmem_text, false, GS_FAIL_NTH_PERSISTENT, NULL);
	struct fn_run both = fail_nth_mode(fn_gmem_text, false, GS_FAIL_NTH_BOTH, NULL);

	ck_assert_uint_eq(tr.st.persistent, 0);
	ck_assert_uint_eq(ps.st.persistent, ps.st.injections);
	ck_assert_uint_eq(ps.st.injections, tr.st.injections);
	ck_assert_uint_gt(tr.st.absorbed, 0);
	ck_assert_uint_lt(ps.st.absorbed, tr.st.absorbed);
	ck_assert_uint_gt(ps.st.failed_clean, tr.st.failed_clean);
	ck_assert_uint_eq(both.st.injections, tr.st.injections + ps.st.injections);
	ck_assert_uint_eq(both.st.persistent, ps.st.injections);
	ck_assert_uint_eq(both.st.failed_clean, tr.st.failed_clean + ps.st.failed_clean);
	ck_assert_ptr_nonnull(strstr(both.out, "0 findings (transient and persistent)\n"));
	fn_run_free(&tr);
	fn_run_free(&ps);
	fn_run_free(&both);
}
END_TEST

/* A mode the runner does not know is the caller's error. */
START_TEST(fail_nth_unknown_mode)
{
	FILE *err = tmpfile();
	struct gs_fail_nth_opts fo = {.err = err, .mode = (enum gs_fail_nth_mode)7};
	char *text;

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(gs_scenario_fail_nth_buffer(NULL, &fo, "t.gms", "note x\n", 7, NULL),
			 GS_EXIT_USAGE);
	text = gs_test_slurp(err);
	ck_assert_ptr_nonnull(strstr(text, "unknown fail-nth mode 7"));
	g_free(text);
}
END_TEST

/*
 * The oracle follows the runner's runs: a bug only the oracle sees fails
 * the clean run, and without it every injected attempt, the VM-less create
 * whose own VM fails first included, agrees with the oracle.
 */
START_TEST(fail_nth_oracle)
{
	if (skip_under_valgrind("fail_nth_oracle"))
		return;
	struct fn_run r = fail_nth_mode(fn_gmem_text, true, GS_FAIL_NTH_BOTH, NULL);
	struct gs_scenario_opts opts = {.quiet = true, .oracle = true};
	struct gs_fail_nth_opts fo = {0};
	struct gs_fail_nth_stats st;
	FILE *out = tmpfile(), *err = tmpfile();
	char *text;
	int status;

	ck_assert_ptr_nonnull(strstr(r.out, "0 findings (transient and persistent) (oracle)\n"));
	ck_assert_uint_gt(r.st.failed_clean, 0);
	fn_run_free(&r);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	fo.out = out;
	fo.err = err;
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, true);
	status = gs_scenario_fail_nth_buffer(&opts, &fo, "t.gms", fn_gmem_text,
					     strlen(fn_gmem_text), &st);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, false);
	g_free(gs_test_slurp(out));
	text = gs_test_slurp(err);
	ck_assert_int_eq(status, GS_EXIT_FAIL);
	ck_assert_msg(strstr(text, "attribute simulator=") && strstr(text, "the clean run fails"),
		      "%s", text);
	g_free(text);
}
END_TEST

/*
 * Coverage: with every n tested, each site's injection points are all
 * injected, once per point whatever the modes, and the points add up to the
 * transient injections.
 */
START_TEST(fail_nth_coverage)
{
	if (skip_under_valgrind("fail_nth_coverage"))
		return;
	struct gs_fail_nth_coverage *one = g_new0(struct gs_fail_nth_coverage, 1);
	struct gs_fail_nth_coverage *two = g_new0(struct gs_fail_nth_coverage, 1);
	struct fn_run tr = fail_nth_mode(fn_gmem_text, false, GS_FAIL_NTH_TRANSIENT, one);
	struct fn_run both = fail_nth_mode(fn_gmem_text, false, GS_FAIL_NTH_BOTH, two);
	unsigned long points = 0, reached = 0;
	FILE *f = tmpfile();
	char *text;

	ck_assert_uint_eq(one->files, 1);
	for (unsigned int k = 0; k < gs_site_count(); k++) {
		const struct gs_fail_nth_site_cov *a = &one->site[k], *b = &two->site[k];

		ck_assert_uint_eq(a->points, a->queries);
		ck_assert_uint_eq(b->points, a->points);
		ck_assert_uint_eq(b->queries, a->queries);
		ck_assert_uint_ge(b->injected, 2 * b->points);
		ck_assert(!a->queries == !a->lines);
		points += a->points;
		reached += a->queries != 0;
	}
	ck_assert_uint_eq(points, tr.st.injections);
	ck_assert_uint_gt(one->site[gs_site_lookup("gmem.inode")].points, 0);
	ck_assert_uint_gt(one->site[gs_site_lookup("xarray.node")].lines, 1);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(gs_fail_nth_coverage_print(f, one), gs_site_count() - reached);
	text = gs_test_slurp(f);
	ck_assert_msg(strstr(text, "\ngmem.inode ") && strstr(text, "100.0%") &&
			      strstr(text, "never reached: ") && strstr(text, "uapi.files"),
		      "%s", text);
	g_free(text);
	fn_run_free(&tr);
	fn_run_free(&both);
	g_free(one);
	g_free(two);
}
END_TEST

START_TEST(fail_nth_clean_run_must_pass)
{
	if (skip_under_valgrind("fail_nth_clean_run_must_pass"))
		return;
	struct fn_run r = fail_nth("kmalloc a size=8 => ENOMEM\n", 0);

	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_uint_eq(r.st.injections, 0);
	ck_assert_uint_eq(r.st.findings, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms: the clean run fails (failed)"));
	fn_run_free(&r);
	r = fail_nth("kmalloc a size=8 =>\n", 0);
	ck_assert_int_eq(r.status, GS_EXIT_SYNTAX);
	fn_run_free(&r);
}
END_TEST

/*
 * A workshop lab's answer slot (docs/WORKSHOP.md): '?' for the result or a
 * field. The line is not run (nothing shows its result), the run stops there
 * with "fill in the answer", -k included; an answer given is judged as any.
 */
START_TEST(answer_slots)
{
	struct gs_scenario_opts o = {.keep_going = true, .verbose = true};
	struct gs_reduce_result red;
	struct fn_run f;
	struct run r;

	r = run_opts("note before\necho n=3 => ?\nnote after\n", o);
	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.out, "before"));
	ck_assert_ptr_null(strstr(r.out, "after"));
	ck_assert_ptr_null(strstr(r.out, "echo n=3 => ? ->"));
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:2: fill in the answer: replace '?'"));
	ck_assert_ptr_nonnull(strstr(r.err, "\n    echo n=3 => ?\n"));
	ck_assert_ptr_null(strstr(r.err, "n=3\n  "));
	run_free(&r);
	/* A field's slot, beside a result given; then answers right and wrong. */
	expect_err("echo n=3 ret=5 => EIO n=?", GS_EXIT_FAIL, "t.gms:1: fill in the answer");
	r = run("echo n=3 ret=5 => EIO n=3\necho n=3 => ?   # a comment\n");
	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:2: fill in the answer"));
	ck_assert_ptr_null(strstr(r.err, "t.gms:1:"));
	run_free(&r);
	expect_err("echo n=3 => n=4", GS_EXIT_FAIL,
		   "t.gms:1: expectation not met\n    echo n=3 => n=4\n  expected: n=4\n"
		   "  actual:   0 n=3");
	/* A quoted "?" is a string, not a slot. */
	r = run("echo s=? => s=\"?\"\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
	/* One result only; a slot names a field the verb reports. */
	expect_err("echo => EIO ?", GS_EXIT_SYNTAX,
		   "t.gms:1: expectation names two results ('?' is the second)");
	expect_err("echo => ? EIO", GS_EXIT_SYNTAX,
		   "t.gms:1: expectation names two results ('EIO' is the second)");
	expect_err("echo => ? ?", GS_EXIT_SYNTAX, "t.gms:1: expectation names two results");
	expect_err("echo => blocks=?", GS_EXIT_SYNTAX, "t.gms:1: verb 'echo' reports no 'blocks'");
	/* fail-nth has no clean run to hold a lab to; the reducer no failure to keep. */
	f = fail_nth("echo n=1\nkmalloc a size=8 => ?\n", 0);
	ck_assert_int_eq(f.status, GS_EXIT_FAIL);
	ck_assert_uint_eq(f.st.injections, 0);
	ck_assert_ptr_nonnull(strstr(f.err, "t.gms:2: fill in the answer"));
	fn_run_free(&f);
	ck_assert_int_eq(gs_scenario_reduce(NULL, NULL, "t.gms", "echo\necho => ?\n", 15, &red),
			 GS_REDUCE_USAGE);
	ck_assert_ptr_nonnull(strstr(red.signature, "line 2: fill in the answer"));
	ck_assert_ptr_null(red.text);
}
END_TEST

START_TEST(fail_nth_scenario_rules)
{
	if (skip_under_valgrind("fail_nth_scenario_rules"))
		return;
	/* Line 3 runs while line 1's rule can fire: skipped. After it fired, line 5 is tested. */
	struct fn_run r = fail_nth("inject site=kmalloc nth=2\n"
				   "kmalloc a size=8\n"
				   "kmalloc b size=8 => ENOMEM\n"
				   "kmalloc b size=8\n"
				   "fn-alloc c n=2\n",
				   0);

	ck_assert_msg(r.status == GS_EXIT_OK, "out:\n%s\nerr:\n%s", r.out, r.err);
	ck_assert_uint_eq(r.st.skipped, 2);
	ck_assert_uint_eq(r.st.lines, 2);
	ck_assert_uint_eq(r.st.injections, 3);
	ck_assert_ptr_nonnull(strstr(r.out, "t.gms:2: kmalloc: skipped (1 queries): the rule "
					    "armed by the scenario's inject on line 1 can still "
					    "fire"));
	fn_run_free(&r);
}
END_TEST

START_TEST(fail_nth_policy_is_verb_data)
{
	if (skip_under_valgrind("fail_nth_policy_is_verb_data"))
		return;
	struct fn_run r = fail_nth("fn-eio a n=2\nfn-less b n=2\nfn-steps c n=2\n", 0);

	/* Declared: EIO allowed; fewer pages absorbed; a failure after a step is partial. */
	ck_assert_msg(r.status == GS_EXIT_OK, "out:\n%s\nerr:\n%s", r.out, r.err);
	ck_assert_uint_eq(r.st.injections, 6);
	ck_assert_uint_eq(r.st.failed_clean, 3); /* both of fn-eio, fn-steps' first */
	ck_assert_uint_eq(r.st.partial, 3);	 /* both of fn-less, fn-steps' second */
	ck_assert_uint_eq(r.st.findings, 0);
	fn_run_free(&r);

	/* The same behaviour, undeclared, is a finding each time it shows. */
	r = fail_nth("fn-eio-bare a n=2\n", 0);
	ck_assert_uint_eq(r.st.findings, 2);
	ck_assert_msg(strstr(r.err, "failed with EIO, not ENOMEM"), "%s", r.err);
	fn_run_free(&r);
	r = fail_nth("fn-less-other b n=2\n", 0);
	ck_assert_uint_eq(r.st.findings, 2);
	ck_assert_msg(strstr(r.err, "succeeded with 0 got=0, the clean run with 0 got=2"), "%s",
		      r.err);
	fn_run_free(&r);
	r = fail_nth("fn-steps-bare c n=2\n", 0);
	ck_assert_uint_eq(r.st.findings, 1);
	ck_assert_msg(strstr(r.err, "failed with ENOMEM done=1 but changed the state"), "%s",
		      r.err);
	fn_run_free(&r);
}
END_TEST

START_TEST(dump_state_shows_objects_sites_checks)
{
	struct run r;

	register_fn_verbs();
	r = run("kmalloc a size=64\nfn-alloc x n=2\nhugetlb pool nr=1\nfn-dump\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	ck_assert_ptr_nonnull(fn_dump);
	/* Objects in creation order: a dump hook's records, or the type and its show lines. */
	ck_assert_msg(g_str_has_prefix(fn_dump, "objects/a type=kmalloc buffer\n"
						"objects/a size=64\n"
						"objects/x type=fn object\n"
						"objects/x show=x: fn object of 2 allocations\n"
						"objects/hugetlb-2M type=hugetlb pool\n"
						"objects/hugetlb-2M reserved_here=0\n"),
		      "%s", fn_dump);
	/* The layers' registered dumpers, by name. */
	ck_assert_msg(strstr(fn_dump, "\nhugetlb/hugepages-2048kB nr=1\n"
				      "hugetlb/hugepages-2048kB free=1\n"),
		      "%s", fn_dump);
	ck_assert_ptr_nonnull(strstr(fn_dump, "\nhugetlb_cgroup/root online=1\n"));
	ck_assert_ptr_nonnull(strstr(fn_dump, "\nhvo freed="));
	ck_assert_ptr_nonnull(strstr(fn_dump, "\nsites/kmalloc live=3\n"));
	ck_assert(strstr(fn_dump, "\nhugetlb/") < strstr(fn_dump, "\nhvo "));
	ck_assert(strstr(fn_dump, "\nhvo ") < strstr(fn_dump, "\nsites/"));
	ck_assert_msg(g_str_has_suffix(fn_dump, "\nchecks violations=0\n"), "%s", fn_dump);
	/* The same as records. */
	ck_assert_str_eq(gs_state_get(fn_state, "objects/a", "size"), "64");
	ck_assert_str_eq(gs_state_get(fn_state, "hugetlb/hugepages-2048kB", "nr"), "1");
	ck_assert_str_eq(gs_state_get(fn_state, "checks", "violations"), "0");
	ck_assert_ptr_null(gs_state_get(fn_state, "objects/nope", "size"));
	run_free(&r);
	/* A violation shows as its message and in the count. */
	r = run("mk b tag=bad\nfn-dump\n");
	ck_assert_msg(strstr(fn_dump, "\nchecks violation=check b: object b is bad\n"
				      "checks violations=1\n"),
		      "%s", fn_dump);
	run_free(&r);
	free(fn_dump);
	fn_dump = NULL;
	gs_state_free(fn_state);
	fn_state = NULL;
}
END_TEST

static void dump_a(struct gs_state *st, const char *path)
{
	gs_state_add(st, path, "text", "two\nlines \\ and a backslash");
}

static void dump_b(struct gs_state *st, const char *path)
{
	gs_state_add_u64(st, path, "n", 18446744073709551615ULL);
	gs_state_add(st, "", "bare", "%d", 1);
}

START_TEST(state_registry)
{
	static struct gs_state_dumper b = {.name = "zz-test-b", .dump = dump_b};
	static struct gs_state_dumper a = {.name = "zz-test-a", .dump = dump_a};
	static struct gs_state_dumper a_again = {.name = "zz-test-a", .dump = dump_b};
	static struct gs_state_dumper nameless = {.dump = dump_b};
	struct gs_state *st = gs_state_new();
	unsigned int nr;
	char *text;

	ck_assert_int_eq(gs_state_register(&b), 0);
	ck_assert_int_eq(gs_state_register(&a), 0);
	ck_assert_int_eq(gs_state_register(&a), -EEXIST);
	ck_assert_int_eq(gs_state_register(&a_again), -EEXIST);
	ck_assert_int_eq(gs_state_register(&nameless), -EINVAL);
	ck_assert_int_eq(gs_state_register(NULL), -EINVAL);
	gs_state_collect(st);
	nr = gs_state_count(st);
	/* Dumpers run by name, whatever the order they registered in: a's record, then b's. */
	ck_assert_uint_ge(nr, 3);
	ck_assert_str_eq(gs_state_nth(st, nr - 3)->path, "zz-test-a");
	ck_assert_str_eq(gs_state_nth(st, nr - 3)->value, "two\nlines \\ and a backslash");
	ck_assert_str_eq(gs_state_nth(st, nr - 2)->key, "n");
	ck_assert_ptr_null(gs_state_nth(st, nr));
	text = gs_state_text(st);
	/* One line per record; newline and backslash escaped. */
	ck_assert_msg(g_str_has_suffix(text, "\nzz-test-a text=two\\nlines \\\\ and a backslash\n"
					     "zz-test-b n=18446744073709551615\n"
					     "bare=1\n"),
		      "%s", text);
	free(text);
	gs_state_free(st);
	gs_state_free(NULL);
}
END_TEST

/* --- numbers and names --- */

START_TEST(parse_numbers)
{
	static const struct {
		const char *s;
		int err;
		uint64_t v;
	} cases[] = {
		{"0", 0, 0},
		{"4096", 0, 4096},
		{"4K", 0, 4096},
		{"4k", 0, 4096},
		{"2M", 0, 2 << 20},
		{"1G", 0, 1ULL << 30},
		{"3T", 0, 3ULL << 40},
		{"2MiB", 0, 2 << 20},
		{"2MB", 0, 2 << 20},
		{"0x200000", 0, 0x200000},
		{"0X1f", 0, 31},
		{"0x10K", 0, 16 << 10},
		{"1_000_000", 0, 1000000},
		{"0xff_ff", 0, 0xffff},
		{"1_", -EINVAL, 0},
		{"_1", -EINVAL, 0},
		{"1__0", -EINVAL, 0},
		{"0x_1", -EINVAL, 0},
		{"1_K", -EINVAL, 0},
		{"18446744073709551615", 0, UINT64_MAX},
		{"0xffffffffffffffff", 0, UINT64_MAX},
		{"18446744073709551616", -ERANGE, 0},
		{"16777216T", -ERANGE, 0},
		{"", -EINVAL, 0},
		{"K", -EINVAL, 0},
		{"0x", -EINVAL, 0},
		{"0xK", -EINVAL, 0},
		{"_", -EINVAL, 0},
		{"12Q", -EINVAL, 0},
		{"4KK", -EINVAL, 0},
		{"4Kb", -EINVAL, 0},
		{"-1", -EINVAL, 0},
		{"1.5", -EINVAL, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		int err = gs_parse_u64(cases[i].s, &v);

		ck_assert_msg(err == cases[i].err, "'%s': err %d, wanted %d", cases[i].s, err,
			      cases[i].err);
		if (!err)
			ck_assert_msg(v == cases[i].v, "'%s' -> %llu", cases[i].s,
				      (unsigned long long)v);
	}
	ck_assert_int_eq(gs_parse_u64(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(errno_names)
{
	ck_assert_int_eq(gs_errno_from_name("EINVAL"), EINVAL);
	ck_assert_int_eq(gs_errno_from_name("EAGAIN"), EAGAIN);
	ck_assert_int_eq(gs_errno_from_name("EHWPOISON"), EHWPOISON);
	ck_assert_int_eq(gs_errno_from_name("ENOSUCH"), 0);
	ck_assert_int_eq(gs_errno_from_name("einval"), 0);
	ck_assert_str_eq(gs_errno_name(ENOMEM), "ENOMEM");
	ck_assert_ptr_null(gs_errno_name(0));
}
END_TEST

/* --- parse errors: each names file and line, and nothing runs --- */

/* A UTF-8 byte order mark opens the file, not its first verb; anywhere else it is text. */
START_TEST(parse_bom)
{
	struct run r = run("\xef\xbb\xbf"
			   "echo n=1 => n=1\n");

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
	expect_err("echo n=1\n\xef\xbb\xbf"
		   "echo n=1\n",
		   GS_EXIT_SYNTAX,
		   "t.gms:2: unknown verb '\xef\xbb\xbf"
		   "echo'");
	expect_err("kmalloc a size=1_\n", GS_EXIT_SYNTAX,
		   "t.gms:1: size: expected a number, got '1_'");
}
END_TEST

START_TEST(parse_errors)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{"frobnicate x", "t.gms:1: unknown verb 'frobnicate'"},
		{"# c\n\necho nn=1", "t.gms:3: verb 'echo' has no key 'nn' (keys: n, s, flags"},
		{"echo n=12Q", "t.gms:1: n: expected a number, got '12Q'"},
		{"echo n=99999999999999999999", "t.gms:1: n: number out of range"},
		{"echo n=1 n=2", "t.gms:1: n given twice"},
		{"echo flags=mmap|bogus", "t.gms:1: flags: unknown flag 'bogus' (flags: mmap, "
					  "init_shared, hugetlb, or numbers)"},
		{"echo flags=mmap||hugetlb", "t.gms:1: flags: unknown flag ''"},
		{"echo mode=delta",
		 "t.gms:1: mode: expected one of alpha, beta, gamma, got 'delta'"},
		{"echo on=maybe", "t.gms:1: on: expected 1/0, true/false or yes/no"},
		{"echo s=", "t.gms:1: s: empty value"},
		{"echo s=\"open", "t.gms:1: unterminated quoted string"},
		{"echo a b", "t.gms:1: unexpected word 'b' (target is already 'a')"},
		{"echo =5", "t.gms:1: '=' without a key"},
		{"echo need=0", "t.gms:1: need must not be 0"},
		{"mk", "t.gms:1: verb 'mk' needs a target"},
		{"kmalloc a", "t.gms:1: verb 'kmalloc' needs size="},
		{"check now", "t.gms:1: verb 'check' takes no target, got 'now'"},
		{"seed x", "t.gms:1: expected a number, got 'x'"},
		{"echo => ", "t.gms:1: nothing after '=>'"},
		{"echo => EFOO", "t.gms:1: unknown result 'EFOO'"},
		{"echo => 0 EINVAL", "t.gms:1: expectation names two results"},
		{"echo => 0 => 0", "t.gms:1: a second '=>'"},
		{"echo => blocks=8", "t.gms:1: verb 'echo' reports no 'blocks'"},
		{"=> 0", "t.gms:1: expected a verb at the start of the line"},
		{"n=5", "t.gms:1: expected a verb at the start of the line, got 'n=5'"},
		{"\"echo\"", "t.gms:1: expected a verb"},
		{"echo \x01", "t.gms:1: control character 0x01 in line"},
		{"inject", "t.gms:1: inject needs exactly one of nth=, every, probability="},
		{"inject nth=1 every", "t.gms:1: inject needs exactly one of"},
		{"inject site=no.such nth=1", "t.gms:1: unknown fault-injection site 'no.such'"},
		{"inject nth=0", "t.gms:1: nth counts from 1"},
		{"inject every persistent", "t.gms:1: persistent goes with nth="},
		{"inject probability=101", "t.gms:1: probability is at most 100%"},
		{"inject probability=5 ppm=5", "t.gms:1: give probability= or ppm=, not both"},
		{"inject off nth=1", "t.gms:1: inject off takes no other key"},
		{"inject off site=page_alloc", "t.gms:1: inject off takes no other key"},
		{"inject every ppm=5", "t.gms:1: inject needs exactly one of"},
		{"inject ppm=5 persistent", "t.gms:1: persistent goes with nth="},
		{"inject ppm=1000001", "t.gms:1: probability is at most 100%"},
		{"inject site=no.such nth=0", "t.gms:1: unknown fault-injection site 'no.such'"},
		{"inject nth=1 gfp=sometimes", "t.gms:1: gfp: expected one of any, nowait, wait"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run r = run(cases[i].text);

		ck_assert_msg(r.status == GS_EXIT_SYNTAX, "'%s': status %d", cases[i].text,
			      r.status);
		ck_assert_msg(strstr(r.err, cases[i].msg), "'%s': wanted '%s', got:\n%s",
			      cases[i].text, cases[i].msg, r.err);
		run_free(&r);
	}
}
END_TEST

START_TEST(parse_error_has_no_side_effects)
{
	struct gs_site_stats before, after;
	struct run r;

	gs_site_stats(GS_SITE_KMALLOC, &before);
	/* Line 1 would allocate; line 3 is malformed, so nothing may run. */
	r = run("kmalloc a size=64\nnote fine\nkmalloc b size=\n");
	gs_site_stats(GS_SITE_KMALLOC, &after);
	ck_assert_int_eq(r.status, GS_EXIT_SYNTAX);
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:3: size: expected a number, got ''"));
	ck_assert_uint_eq(after.allocs, before.allocs);
	ck_assert_ptr_null(strstr(r.out, "fine"));
	run_free(&r);
}
END_TEST

START_TEST(parse_nul_byte)
{
	static const char text[] = "note ok\necho a\0b\n";
	struct gs_scenario_opts o = {.err = fopen("/dev/null", "w"), .quiet = true};
	struct gs_scenario *s = gs_scenario_new(&o);

	/* Length-delimited input: an embedded NUL is an error, not the end. */
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", text, sizeof(text) - 1),
			 GS_EXIT_SYNTAX);
	gs_scenario_free(s);
	fclose(o.err);
}
END_TEST

START_TEST(parse_reports_several_errors)
{
	struct run r = run("bogus1\necho\nbogus3\n# fine\nbogus5");

	ck_assert_int_eq(r.status, GS_EXIT_SYNTAX);
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:1: unknown verb 'bogus1'"));
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:3: unknown verb 'bogus3'"));
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:5: unknown verb 'bogus5'"));
	run_free(&r);
}
END_TEST

/* --- tokens, values, expectations --- */

START_TEST(tokens_and_values)
{
	struct run r = run("echo  x\tn=4K flags=mmap|hugetlb|0x100 mode=beta on s=\"a b#c\" "
			   "=> 0 n=4096 flags=0x105 mode=20 on=1 s=\"a b#c\"   # comment\r\n"
			   "echo on=no => on=0\n"
			   "echo flags=0 => flags=0\n"
			   "  # indented comment\n\n"
			   "echo s=\"q\\\"uote\" => s=\"q\\\"uote\"\n");

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "4 operations, 4 expectations met"));
	run_free(&r);
}
END_TEST

START_TEST(expectations_match_and_fail)
{
	struct run r;

	expect_err("echo ret=22 => EINVAL\necho ret=12 => EINVAL", GS_EXIT_FAIL,
		   "t.gms:2: expectation not met\n    echo ret=12 => EINVAL\n"
		   "  expected: EINVAL\n  actual:   ENOMEM");
	/* A bare number, and negative numbers. */
	r = run("echo => 0\necho ret=5 => -5\necho ret=5 => EIO");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
	/* Fields alone imply success. */
	expect_err("echo ret=1 n=3 => n=3", GS_EXIT_FAIL, "actual:   EPERM n=3");
	/* A field that differs, and one the op did not report. */
	/* Counts print in decimal, offsets (set with gs_result_set_hex) in hex. */
	expect_err("echo n=0x300000 => n=0x200000", GS_EXIT_FAIL, "actual:   0 n=3145728");
	expect_err("echo off=0x300000 => off=0x200000", GS_EXIT_FAIL,
		   "actual:   0 on=0 off=0x300000");
	expect_err("echo => n=1", GS_EXIT_FAIL, "expectation not met");
	/* Signals. */
	r = run("echo sigbus => SIGBUS");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
	expect_err("echo sigbus => 0", GS_EXIT_FAIL, "actual:   SIGBUS");
	expect_err("echo => SIGBUS", GS_EXIT_FAIL, "actual:   0");
	/* Strings. */
	expect_err("echo s=abc => s=abd", GS_EXIT_FAIL, "actual:   0 on=0 s=abc");
}
END_TEST

START_TEST(stop_or_keep_going)
{
	struct gs_scenario_opts o = {.keep_going = true};
	const char *text = "echo => EIO\nnote after\necho ret=5 => 0\n";
	struct run r = run(text);

	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_null(strstr(r.out, "after"));
	run_free(&r);
	r = run_opts(text, o);
	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.out, "after"));
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms:3: expectation not met"));
	run_free(&r);
}
END_TEST

START_TEST(strict_mode)
{
	struct gs_scenario_opts o = {.strict = true};
	struct run r = run("echo ret=5\n");

	ck_assert_int_eq(r.status, GS_EXIT_OK); /* no expectation: anything goes */
	run_free(&r);
	r = run_opts("echo ret=5\n", o);
	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.err, "expected: 0 (no expectation given, and --strict "
					    "makes every such line succeed)"));
	run_free(&r);
	/* A strict verb needs no --strict, and the message says which verb and why. */
	r = run("gmem g size=5\n");
	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_msg(strstr(r.err, "  expected: 0 (no expectation given, and verb 'gmem' is "
				    "strict: it must succeed unless the line says otherwise with "
				    "'=>')\n  actual:   EINVAL\n"),
		      "%s", r.err);
	run_free(&r);
	r = run("gmem g size=5 => EINVAL\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
	ck_assert(gs_verb_lookup("falloc")->strict);
	ck_assert(!gs_verb_lookup("hugetlb")->strict);
}
END_TEST

START_TEST(verbose_output)
{
	struct gs_scenario_opts o = {.verbose = true};
	struct run r = run_opts("echo   n=7    => n=7\n", o);

	ck_assert_int_eq(r.status, GS_EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "t.gms:1: echo n=7 => n=7 -> 0 n=7 on=0"));
	run_free(&r);
	o = (struct gs_scenario_opts){.quiet = true};
	r = run_opts("note hidden\necho\n", o);
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

/* --- WARN accounting --- */

START_TEST(warns_accounted)
{
	struct run r = run("test-warn 2\nexpect-warns 2\ntest-warn 1 => warns=1\nexpect-warns 1\n"
			   "expect-warns 0\n");

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
	expect_err("test-warn 1\nexpect-warns 0\n", GS_EXIT_FAIL,
		   "why:      expected 0 WARN(s) since the start, got 1");
	expect_err("expect-warns 0\ntest-warn 3\nexpect-warns 2\n", GS_EXIT_FAIL,
		   "expected 2 WARN(s) since line 1, got 3");
	expect_err("expect-warns 0\ntest-warn 1\n", GS_EXIT_FAIL,
		   "t.gms: 1 WARN(s) after line 1 not covered by expect-warns");
	expect_err("test-warn 2 => warns=1\n", GS_EXIT_FAIL, "actual:   0 warns=2");
}
END_TEST

/* --- a read of metadata-only memory says why it saw zeros --- */

#define NODATA_SETUP                                                                         \
	"hugetlb pool size=2M nr=1\nvm s type=sw_protected\n"                                \
	"gmem g vm=s size=2M flags=mmap|hugetlb page=2M\nconvert g off=0 len=8K to=shared\n" \
	"mmap g\nwrite g off=0 len=8K byte=0x5a\n"

START_TEST(read_of_metadata_only_memory)
{
	struct run r;

	/* The default pool keeps no data: the kernel-shaped read gives zeros, and says so. */
	expect_err(NODATA_SETUP "read g off=4K len=4K => data=0x5a\n", GS_EXIT_FAIL,
		   "actual:   0 done=4096 data=0x0 uniform=1 nodata=1\n"
		   "  why:      metadata-only memory: the page keeps no data, a read sees zeros; "
		   "use `machine backing=anon`");
	/* With data behind the pages the bytes come back, and nothing is flagged. */
	r = run("machine backing=anon\n" NODATA_SETUP "read g off=0 len=8K => data=0x5a\n");
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
	r = run_opts("machine backing=anon\n" NODATA_SETUP "read g off=0 len=8K\n",
		     (struct gs_scenario_opts){.verbose = true});
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	ck_assert_msg(strstr(r.out, "data=0x5a uniform=1\n"), "%s", r.out);
	ck_assert_ptr_null(strstr(r.out, "nodata"));
	run_free(&r);
}
END_TEST

/*
 * A read's answer is its own bytes': what an earlier, longer read left in
 * the transfer buffer (one for the process) does not count.
 */
START_TEST(read_answers_from_its_own_bytes)
{
	struct run r = run("machine backing=anon\n" NODATA_SETUP "write g off=4K len=4K byte=0x22\n"
			   "read g off=0 len=8K => data=0x5a uniform=0 done=8192\n"
			   "read g off=0 len=4K => data=0x5a uniform=1 done=4096\n"
			   "read g off=4K len=4K => data=0x22 uniform=1 done=4096\n"
			   "write g off=0 len=4K byte=0x22\n"
			   "read g off=0 len=8K => data=0x22 uniform=1\n"
			   "read g off=0 len=1 => data=0x22 uniform=1 done=1\n");

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
}
END_TEST

/* --- built-in verbs --- */

START_TEST(kmalloc_inject_verbs)
{
	struct run r = run("kmalloc a size=4K zero => 0\n"
			   "inject site=kmalloc nth=2\n"
			   "kmalloc b size=8 => 0\n"
			   "kmalloc c size=8 => ENOMEM\n"
			   "kmalloc c size=8 gfp=atomic => 0\n"
			   "inject every gfp=wait\n"
			   "kmalloc d size=8 gfp=nowait => 0\n"
			   "kmalloc d2 size=8 => ENOMEM\n"
			   "inject off\n"
			   "kmalloc big size=5M => ENOMEM\n"
			   "kmalloc e size=0 => 0\n"
			   "kfree a\nkfree b\n"
			   "check\n");

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
	expect_err("kmalloc a size=8\nkmalloc a size=8\n", GS_EXIT_SYNTAX,
		   "t.gms:2: 'a' already exists");
	expect_err("kfree zz\n", GS_EXIT_SYNTAX, "t.gms:1: no kmalloc buffer named 'zz'");
	expect_err("show zz\n", GS_EXIT_SYNTAX, "t.gms:1: no object named 'zz'");
}
END_TEST

START_TEST(inject_never_fired_note)
{
	struct run r = run("note x\ninject site=kmalloc nth=5\nkmalloc a size=1\n");

	ck_assert_int_eq(r.status, GS_EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "t.gms:2: note: this injection never fired"));
	ck_assert(!gs_inject_active()); /* disarmed at teardown */
	run_free(&r);
}
END_TEST

START_TEST(objects_and_teardown_order)
{
	struct run r = run("mk a\nmk b tag=B\nmk c\nshow\nshow b\ncheck\n");

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	ck_assert_str_eq(destroyed, "cBa");
	ck_assert_ptr_nonnull(strstr(r.out, "a: tobj\nb: tobj\nc: tobj\nb: tobj\n"));
	run_free(&r);
	destroyed[0] = '\0';
	r = run("mk a\nmk a => EEXIST\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	ck_assert_str_eq(destroyed, "a");
	run_free(&r);
}
END_TEST

/*
 * Names find their own object whether the runner scans its few objects
 * (up to 16) or hashes many: names that are prefixes of each other, names
 * of destroyed objects, the last name found asked for again after it went.
 */
START_TEST(object_lookup_scan_and_hash)
{
	GString *g = g_string_new(NULL);
	struct run r;

	/* Names of 8 bytes and longer, alike in their first 8. */
	g_string_append(
		g, "mk abcdefgh tag=8\nmk abcdefghij tag=10\n"
		   "tag abcdefgh => 0 tag=8\ntag abcdefghij => 0 tag=10\n"
		   "tag abcdefghi => ENOENT\ntag abcdefghijk => ENOENT\ntag abcdefg => ENOENT\n"
		   "mk abcdefghi tag=9\ntag abcdefghi => 0 tag=9\ntag abcdefghij => 0 tag=10\n"
		   "rm abcdefgh\nrm abcdefghi\nrm abcdefghij\n");
	for (unsigned int i = 0; i < 24; i++) {
		g_string_append_printf(g, "mk o%u tag=T%u\n", i, i);
		/* Every object made so far, by its name; the next name, and prefixes, by none. */
		for (unsigned int k = 0; k <= i; k++)
			g_string_append_printf(g, "tag o%u => 0 tag=T%u\n", k, k);
		g_string_append_printf(g, "tag o%u => ENOENT\n", i + 1);
		g_string_append(g, "tag o => ENOENT\ntag o1x => ENOENT\n");
	}
	g_string_append(g, "mk o1 => EEXIST\n");
	/* Down from 24 objects to 2: the removed ones are gone, the rest still found. */
	for (unsigned int i = 23; i >= 2; i--) {
		g_string_append_printf(g, "tag o%u => 0 tag=T%u\nrm o%u\n", i, i, i);
		g_string_append_printf(g, "tag o%u => ENOENT\nrm o%u => ENOENT\n", i, i);
		for (unsigned int k = 0; k < i; k++)
			g_string_append_printf(g, "tag o%u => 0 tag=T%u\n", k, k);
	}
	g_string_append(g, "mk o10 tag=again\ntag o10 => 0 tag=again\ntag o1 => 0 tag=T1\n");
	r = run(g->str);
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
	g_string_free(g, TRUE);
}
END_TEST

/*
 * A lookup answers by name and type together: the object for its own type
 * or for none, nothing for another type or for a name not there, with few
 * objects (gs_scenario.few) and with many (the hash table), and after one
 * is taken away.
 */
START_TEST(object_lookup_by_type)
{
	static const struct gs_obj_type ta = {.name = "ta"}, tb = {.name = "tb"};
	static int objs[40];
	struct gs_scenario *s = gs_scenario_new(NULL);
	char name[16];

	for (unsigned int n = 0; n < G_N_ELEMENTS(objs); n++) {
		snprintf(name, sizeof(name), "x%u", n);
		ck_assert_int_eq(gs_scenario_obj_add(s, name, n % 2 ? &tb : &ta, &objs[n]), 0);
		for (unsigned int k = 0; k <= n; k++) {
			const struct gs_obj_type *own = k % 2 ? &tb : &ta,
						 *other = k % 2 ? &ta : &tb;

			snprintf(name, sizeof(name), "x%u", k);
			ck_assert_ptr_eq(gs_scenario_obj_get(s, name, own), &objs[k]);
			ck_assert_ptr_eq(gs_scenario_obj_get(s, name, NULL), &objs[k]);
			ck_assert_ptr_null(gs_scenario_obj_get(s, name, other));
		}
		snprintf(name, sizeof(name), "x%u", n + 1);
		ck_assert_ptr_null(gs_scenario_obj_get(s, name, NULL));
		ck_assert_ptr_null(gs_scenario_obj_get(s, "", NULL));
		ck_assert_ptr_null(gs_scenario_obj_get(s, NULL, NULL));
	}
	for (unsigned int n = G_N_ELEMENTS(objs); n-- > 1;) {
		snprintf(name, sizeof(name), "x%u", n);
		ck_assert_int_eq(gs_scenario_obj_del(s, name), 0);
		ck_assert_ptr_null(gs_scenario_obj_get(s, name, NULL));
		ck_assert_ptr_eq(gs_scenario_obj_get(s, "x0", &ta), &objs[0]);
		ck_assert_ptr_null(gs_scenario_obj_get(s, "x0", &tb));
	}
	gs_scenario_free(s);
}
END_TEST

/*
 * Names compared a word of their first 8 bytes at a time (gs_scenario.few):
 * an 8-byte name and the longer ones that start with it are different
 * objects, whichever is made first, as are the 7-byte name they start with
 * and names that differ only past their eighth byte. Each is found, refused
 * twice and taken away on its own.
 */
START_TEST(object_names_at_eight_bytes)
{
	static const struct gs_obj_type ta = {.name = "ta"};
	static const char *const orders[][5] = {
		{"gmemfile1", "gmemfile", "gmemfil", "gmemfile12", "gmemfile2"},
		{"gmemfil", "gmemfile", "gmemfile1", "gmemfile2", "gmemfile12"},
	};
	static int objs[5];

	for (unsigned int o = 0; o < G_N_ELEMENTS(orders); o++) {
		const char *const *names = orders[o];
		struct gs_scenario *s = gs_scenario_new(NULL);

		for (unsigned int n = 0; n < G_N_ELEMENTS(objs); n++) {
			ck_assert_msg(!gs_scenario_obj_add(s, names[n], &ta, &objs[n]), "%s",
				      names[n]);
			for (unsigned int k = 0; k <= n; k++) {
				ck_assert_ptr_eq(gs_scenario_obj_get(s, names[k], &ta), &objs[k]);
				ck_assert_int_eq(gs_scenario_obj_add(s, names[k], &ta, &objs[0]),
						 -EEXIST);
			}
			for (unsigned int k = n + 1; k < G_N_ELEMENTS(objs); k++)
				ck_assert_ptr_null(gs_scenario_obj_get(s, names[k], NULL));
		}
		for (unsigned int n = 0; n < G_N_ELEMENTS(objs); n++) {
			ck_assert_int_eq(gs_scenario_obj_del(s, names[n]), 0);
			ck_assert_ptr_null(gs_scenario_obj_get(s, names[n], NULL));
			for (unsigned int k = n + 1; k < G_N_ELEMENTS(objs); k++)
				ck_assert_ptr_eq(gs_scenario_obj_get(s, names[k], &ta), &objs[k]);
		}
		gs_scenario_free(s);
	}
}
END_TEST

/*
 * The hash table of names exists only from a run's first time past
 * GS_OBJ_FEW objects at once, and holds every object from then to the
 * run's end: names (an object without a pointer too) are taken once
 * either way, a removed name is free again, every name is found.
 */
START_TEST(object_table_made_past_few)
{
	static const struct gs_obj_type ta = {.name = "ta"};
	static int objs[GS_OBJ_FEW + 4];
	struct gs_scenario_opts o = {.quiet = true};
	struct gs_scenario *s = gs_scenario_new(&o);
	uint64_t live[GS_MAX_SITES];
	char name[16];

	for (unsigned int round = 0; round < 2; round++) {
		gs_scenario_begin_run(s, "t.gms", live);
		ck_assert_int_eq(gs_scenario_obj_add(s, "nil", &ta, NULL), 0);
		ck_assert_int_eq(gs_scenario_obj_add(s, "nil", &ta, &objs[0]), -EEXIST);
		for (unsigned int n = 1; n < G_N_ELEMENTS(objs); n++) {
			snprintf(name, sizeof(name), "y%u", n);
			ck_assert_int_eq(gs_scenario_obj_add(s, name, &ta, &objs[n]), 0);
			ck_assert_int_eq(gs_scenario_obj_add(s, name, &ta, &objs[0]), -EEXIST);
			ck_assert_int_eq(gs_scenario_obj_add(s, "nil", &ta, &objs[0]), -EEXIST);
			/* A fuzz input's few objects never make the table. */
			ck_assert(s->hashed == (n + 1 > GS_OBJ_FEW));
			ck_assert(round || s->hashed || !s->objs);
			for (unsigned int k = 1; k <= n; k++) {
				snprintf(name, sizeof(name), "y%u", k);
				ck_assert_ptr_eq(gs_scenario_obj_get(s, name, &ta), &objs[k]);
			}
		}
		/* Down to two: still in the table, found, and names free again once gone. */
		for (unsigned int n = G_N_ELEMENTS(objs); n-- > 2;) {
			snprintf(name, sizeof(name), "y%u", n);
			ck_assert_int_eq(gs_scenario_obj_del(s, name), 0);
			ck_assert_int_eq(gs_scenario_obj_del(s, name), -ENOENT);
			ck_assert_ptr_null(gs_scenario_obj_get(s, name, NULL));
			ck_assert(s->hashed);
			ck_assert_ptr_eq(gs_scenario_obj_get(s, "y1", &ta), &objs[1]);
		}
		ck_assert_int_eq(gs_scenario_obj_add(s, "y5", &ta, &objs[5]), 0);
		ck_assert_ptr_eq(gs_scenario_obj_get(s, "y5", &ta), &objs[5]);
		ck_assert_int_eq(gs_scenario_obj_del(s, "nil"), 0);
		ck_assert_int_eq(gs_scenario_obj_add(s, "nil", &ta, NULL), 0);
		ck_assert_int_eq(gs_scenario_end_run(s, GS_EXIT_OK, live), GS_EXIT_OK);
		/* The next run starts without it. */
		ck_assert(!s->hashed);
		ck_assert_uint_eq(s->nr_objs, 0);
	}
	gs_scenario_free(s);
}
END_TEST

/*
 * A file's record is kept for the next file once the name is gone (the gmem
 * verbs' own bookkeeping, gmem_obj_keep()): the next file must start with
 * no hole of the last one's mapping (within a run) and no pin of it (a
 * record kept at a run's end, a pin still held, for the next run).
 */
START_TEST(gmem_records_reused_clean)
{
	static const char *const texts[] = {
		"vm s type=sw_protected                                   => 0\n"
		"gmem g vm=s size=32K flags=mmap|init_shared              => 0\n"
		"mmap g                                                   => 0\n"
		"munmap g off=12K len=8K                                  => 0\n"
		"where g off=12K                                          => EFAULT\n"
		"pin g off=0                                              => 0\n"
		"close g                                                  => 0\n"
		"munmap g                                                 => 0\n"
		"unpin g off=0                                            => 0\n"
		"gmem h vm=s size=32K flags=mmap|init_shared              => 0\n"
		"mmap h                                                   => 0\n"
		"where h off=12K                                          => ENOENT\n"
		"fault h off=16K                                          => 0\n"
		"unpin h off=0                                            => ENXIO\n"
		"close h                                                  => 0\n"
		"munmap h                                                 => 0\n"
		"gmem g vm=s size=16K flags=mmap                          => 0\n"
		"check\n",
		"vm s type=sw_protected => 0\n"
		"gmem k vm=s size=16K flags=mmap|init_shared => 0\n"
		"mmap k => 0\n"
		"munmap k off=4K len=4K => 0\n"
		"pin k off=0 => 0\n",
		"vm s type=sw_protected => 0\n"
		"gmem h vm=s size=32K flags=mmap|init_shared => 0\n"
		"mmap h => 0\n"
		"where h off=4K => ENOENT\n"
		"unpin h off=0 => ENXIO\n"
		"check\n",
	};

	for (unsigned int i = 0; i < G_N_ELEMENTS(texts); i++) {
		struct run r = run(texts[i]);

		ck_assert_msg(r.status == GS_EXIT_OK, "text %u: %s", i, r.err);
		run_free(&r);
	}
}
END_TEST

/*
 * The result the runner keeps of the last line (s->last: what the fail-nth
 * runner and the signatures read) is that line's alone: its fields, its
 * reason, none of an earlier line's.
 */
START_TEST(last_result_is_the_line_s)
{
	static const char text[] = "test-why 4\necho x n=5 s=abc off=0x10\ntest-why 1\n"
				   "echo y\nmk z\n";
	struct gs_scenario_opts o = {.quiet = true, .keep_going = true, .strict = true};
	struct gs_script *script = gs_script_parse("t.gms", text, strlen(text), stderr);
	FILE *null = fopen("/dev/null", "w");
	uint64_t live[GS_MAX_SITES];
	struct gs_scenario *s;
	const struct gs_result *l;
	char buf[256];

	ck_assert_ptr_nonnull(script);
	o.out = o.err = null;
	s = gs_scenario_new(&o);
	l = &s->last;
	gs_scenario_begin_run(s, "t.gms", live);
	ck_assert_int_eq(gs_scenario_run_op(s, &g_array_index(script->ops, struct gs_op, 0)),
			 GS_EXIT_FAIL);
	gs_result_format(l, buf, sizeof(buf));
	ck_assert_str_eq(buf, "EINVAL a=100 b=101 c=102 d=103");
	ck_assert_str_eq(l->why, "because 4");
	ck_assert_int_eq(gs_scenario_run_op(s, &g_array_index(script->ops, struct gs_op, 1)),
			 GS_EXIT_OK);
	gs_result_format(l, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0 n=5 on=0 s=abc off=0x10");
	ck_assert_str_eq(l->why, "");
	ck_assert_int_eq(gs_scenario_run_op(s, &g_array_index(script->ops, struct gs_op, 2)),
			 GS_EXIT_FAIL);
	gs_result_format(l, buf, sizeof(buf));
	ck_assert_str_eq(buf, "EINVAL a=100");
	ck_assert_str_eq(l->why, "because 1");
	ck_assert_int_eq(gs_scenario_run_op(s, &g_array_index(script->ops, struct gs_op, 3)),
			 GS_EXIT_OK);
	gs_result_format(l, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0 on=0");
	ck_assert_str_eq(l->why, "");
	ck_assert_int_eq(gs_scenario_run_op(s, &g_array_index(script->ops, struct gs_op, 4)),
			 GS_EXIT_OK);
	ck_assert_uint_eq(l->nr, 0);
	ck_assert_int_eq(l->ret, 0);
	ck_assert_uint_eq(l->warns, 0);
	ck_assert(!l->skipped && !l->sig);
	gs_scenario_end_run(s, GS_EXIT_OK, live);
	gs_scenario_free(s);
	gs_script_free(script);
	fclose(null);
}
END_TEST

/*
 * Result fields set in line (scenario_int.h) and by the exported functions
 * alike: a key set again replaces its field, by the same literal or by a
 * copy of its text, a new key takes the next field, past GS_MAX_FIELDS none.
 */
START_TEST(result_fields_replaced_by_text)
{
	static const char *const names[] = {"k0",  "k1",  "k2",	 "k3",	"k4",  "k5",
					    "k6",  "k7",  "k8",	 "k9",	"k10", "k11",
					    "k12", "k13", "k14", "k15", "k16"};
	struct gs_result res = {0};
	char copy[] = "blocks";

	gs_result_set(&res, "blksize", 1);
	gs_result_set(&res, "blocks", 2);
	gs_result_set_hex(&res, copy, 3);
	(gs_result_set)(&res, "blksize", 4);
	(gs_result_set_hex)(&res, "mode", 5);
	gs_result_set_str(&res, copy, "x");
	ck_assert_uint_eq(res.nr, 3);
	ck_assert_str_eq(res.fields[0].key, "blksize");
	ck_assert(res.fields[0].val == 4 && !res.fields[0].is_hex);
	ck_assert(res.fields[1].is_str && !strcmp(res.fields[1].str, "x"));
	ck_assert(res.fields[2].val == 5 && res.fields[2].is_hex);
	for (unsigned int i = 0; i < G_N_ELEMENTS(names); i++)
		gs_result_set(&res, names[i], i);
	ck_assert_uint_eq(res.nr, GS_MAX_FIELDS);
	ck_assert_str_eq(res.fields[GS_MAX_FIELDS - 1].key, names[GS_MAX_FIELDS - 4]);
	gs_result_set(&res, "k0", 99);
	ck_assert_uint_eq(res.fields[3].val, 99);
}
END_TEST

/*
 * Keys read through each place's own cache (scenario_int.h's gs_op_u64()):
 * one place read by three verbs whose keys sit at other indices, in every
 * order, a key asked for by a copy of its text (not cached by address),
 * a default evaluated whether used or not, as a function's argument is.
 */
static const struct gs_key kp_keys_a[] = {{"off", GS_ARG_U64}, {"len", GS_ARG_U64}, {NULL}};
static const struct gs_key kp_keys_b[] = {{"len", GS_ARG_U64}, {"off", GS_ARG_U64}, {NULL}};
static const struct gs_key kp_keys_c[] = {
	{"x", GS_ARG_U64}, {"len", GS_ARG_U64}, {"off", GS_ARG_U64}, {NULL}};
static const struct gs_verb kp_verbs[3] = {
	{.name = "kp-a", .keys = kp_keys_a},
	{.name = "kp-b", .keys = kp_keys_b},
	{.name = "kp-c", .keys = kp_keys_c},
};

static uint64_t kp_off(const struct gs_op *op)
{
	return gs_op_u64(op, "off", 7);
}

static uint64_t kp_len(const struct gs_op *op)
{
	return gs_op_has(op, "len") ? gs_op_u64(op, "len", 0) : 9;
}

START_TEST(key_reads_per_place)
{
	struct gs_op ops[3] = {0};
	char off_text[] = "off";
	unsigned int drawn = 0;
	struct gs_rng rng;

	for (unsigned int v = 0; v < 3; v++) {
		int off = gs_verb_key_index(&kp_verbs[v], "off");
		int len = gs_verb_key_index(&kp_verbs[v], "len");

		ops[v].verb = &kp_verbs[v];
		ops[v].args[off] = (struct gs_arg){.present = true, .u = 100 + v};
		/* kp-b leaves len out: the place's default, not another verb's index. */
		if (v != 1)
			ops[v].args[len] = (struct gs_arg){.present = true, .u = 200 + v};
	}
	gs_rng_seed(&rng, 1);
	for (unsigned int i = 0; i < 300; i++) {
		unsigned int v = (unsigned int)(gs_rng_next(&rng) % 3);

		ck_assert_uint_eq(kp_off(&ops[v]), 100 + v);
		ck_assert_uint_eq(kp_len(&ops[v]), v == 1 ? 9 : 200 + v);
		ck_assert_uint_eq(gs_op_u64(&ops[v], off_text, 5), 100 + v);
		ck_assert_uint_eq(gs_op_u64(&ops[v], "off", drawn++), 100 + v);
		/* The exported functions answer the same. */
		ck_assert_uint_eq((gs_op_u64)(&ops[v], "off", 7), 100 + v);
		ck_assert_int_eq((gs_op_has)(&ops[v], "len"), v != 1);
	}
	ck_assert_uint_eq(drawn, 300);
	ops[0].args[gs_verb_key_index(&kp_verbs[0], "off")].present = false;
	ck_assert_uint_eq(kp_off(&ops[0]), 7);
	ck_assert_ptr_null(gs_op_str(&ops[0], "off", NULL));
}
END_TEST

START_TEST(check_reports_violations)
{
	struct run r = run("mk x tag=bad\ncheck\n");

	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.err, "check x: object x is bad"));
	ck_assert_ptr_nonnull(strstr(r.err, "actual:   1 violations=1"));
	run_free(&r);
	/* An explicit expectation can accept the violation count. */
	r = run("mk x tag=bad\ncheck => 1 violations=1\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
}
END_TEST

static void bad_checker(struct gs_check_report *r, void *ctx)
{
	gs_check_violation(r, "always wrong (%s)", (const char *)ctx);
}

START_TEST(registered_checker)
{
	int h = gs_check_register("test.checker", bad_checker, "ctx");
	struct run r;

	ck_assert_int_ge(h, 0);
	r = run("check\n");
	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.err, "check test.checker: always wrong (ctx)"));
	run_free(&r);
	gs_check_unregister(h);
	r = run("check\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
}
END_TEST

START_TEST(leak_detected_at_teardown)
{
	struct run r = run("leak\n");
	struct gs_site_stats st;

	ck_assert_int_eq(r.status, GS_EXIT_LEAK);
	ck_assert_ptr_nonnull(strstr(r.err, "t.gms: leak at teardown: site test.leaky holds 1"));
	run_free(&r);
	gs_site_stats((unsigned int)leaky_site, &st);
	ck_assert_uint_eq(st.live, 1);
	/* Free what the verb leaked so later tests start clean. */
	release_leaks();
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * An `inject` line's keys are read by their index in the verb's table: the
 * two that base-inject.gms does not cover, stack= (a path no allocation
 * takes: nothing fails) and seed= (the rule's draws follow it, not the
 * run's seed).
 */
START_TEST(inject_stack_and_seed_keys)
{
	const char *seeded = "inject site=kmalloc probability=50 seed=7\n"
			     "kmalloc a size=1\nkmalloc b size=1\nkmalloc c size=1\n"
			     "kmalloc d size=1\nkmalloc e size=1\nkmalloc f size=1\n"
			     "kmalloc g size=1\nkmalloc h size=1\nkmalloc i size=1\n"
			     "kmalloc j size=1\nkmalloc k size=1\nkmalloc l size=1\n";
	struct gs_scenario_opts o = {.verbose = true, .seed = 1};
	struct run a, b, r;

	r = run("inject site=kmalloc every stack=1\nkmalloc a size=8 => 0\ninject off\n"
		"inject site=kmalloc every\nkmalloc b size=8 => ENOMEM\n");
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	run_free(&r);
	a = run_opts(seeded, o);
	o.seed = 2;
	b = run_opts(seeded, o);
	ck_assert_int_eq(a.status, GS_EXIT_OK);
	/* The same draws after the first line (which names the run's seed). */
	ck_assert_ptr_nonnull(strchr(a.out, '\n'));
	ck_assert_ptr_nonnull(strchr(b.out, '\n'));
	ck_assert_str_eq(strchr(a.out, '\n'), strchr(b.out, '\n'));
	ck_assert_ptr_nonnull(strstr(a.out, "ENOMEM"));
	ck_assert_ptr_nonnull(strstr(a.out, "-> 0"));
	run_free(&a);
	run_free(&b);
	release_leaks();
}
END_TEST

START_TEST(seeded_runs_repeat)
{
	const char *text =
		"inject site=kmalloc probability=50\n"
		"kmalloc a size=1\nkmalloc b size=1\nkmalloc c size=1\nkmalloc d size=1\n"
		"kmalloc e size=1\nkmalloc f size=1\nkmalloc g size=1\nkmalloc h size=1\n";
	struct gs_scenario_opts o = {.verbose = true, .seed = gs_test_seed()};
	struct run a = run_opts(text, o), b = run_opts(text, o), c;

	ck_assert_int_eq(a.status, GS_EXIT_OK);
	ck_assert_str_eq(a.out, b.out);
	o.seed ^= 0x5555;
	c = run_opts(text, o);
	ck_assert_str_ne(a.out, c.out);
	run_free(&a);
	run_free(&b);
	run_free(&c);
}
END_TEST

START_TEST(kernel_backend)
{
	struct gs_scenario_opts o = {.backend = GS_BACKEND_KERNEL};
	struct run r = run_opts("note on kernel\nkmalloc a size=1 => 0\necho => 0\n", o);

	if (r.status == GS_EXIT_SKIP) {
		ck_assert_ptr_nonnull(strstr(r.out, "skip: backend kernel: /dev/kvm"));
	} else {
		ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
		ck_assert_ptr_nonnull(strstr(r.out, "on kernel"));
		ck_assert_ptr_nonnull(strstr(r.out, "3 operations, 1 expectations met, 1 skipped"));
	}
	run_free(&r);
}
END_TEST

/* A module of the test's own, registered before main() as the library's are. */
static unsigned int test_teardowns;

static int nop_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	(void)op;
	(void)res;
	return 0;
}

static void test_module_teardown(void)
{
	test_teardowns++;
}

static const struct gs_verb verb_tm = {
	.name = "tm-verb",
	.summary = "a verb of the test module",
	.backends = GS_BACKEND_SIM,
	.run = nop_run,
};

static const struct gs_verb *const tm_verbs[] = {&verb_tm, NULL};

static struct gs_scenario_module test_module = {
	.name = "test",
	.priority = GS_MODULE_PRIO_USER,
	.verbs = tm_verbs,
	.teardown = test_module_teardown,
};
GS_SCENARIO_MODULE(test_module)

static const struct gs_verb verb_late = {
	.name = "late-verb",
	.summary = "a verb of a module registered after init",
	.backends = GS_BACKEND_SIM,
	.run = nop_run,
};

static const struct gs_verb *const late_verbs[] = {&verb_late, NULL};

START_TEST(modules_register_themselves)
{
	static struct gs_scenario_module late = {
		.name = "late", .priority = GS_MODULE_PRIO_CORE + 1, .verbs = late_verbs};
	static struct gs_scenario_module late_again = {.name = "late", .verbs = tm_verbs};
	const struct gs_scenario_module *m;
	unsigned int nr = 0, before;
	struct run r;

	/* The library's modules and this one, in (priority, name) order. */
	ck_assert_ptr_eq(gs_verb_lookup("tm-verb"), &verb_tm);
	ck_assert_str_eq(gs_scenario_module_nth(0)->name, "core");
	for (; (m = gs_scenario_module_nth(nr + 1)); nr++) {
		const struct gs_scenario_module *prev = gs_scenario_module_nth(nr);

		ck_assert(prev->priority < m->priority ||
			  (prev->priority == m->priority && strcmp(prev->name, m->name) < 0));
	}
	ck_assert_str_eq(gs_scenario_module_nth(nr)->name, "test");
	ck_assert_ptr_nonnull(gs_verb_lookup("hpage"));
	ck_assert_ptr_nonnull(gs_verb_lookup("falloc"));
	/* Every run ends with every module's teardown hook. */
	before = test_teardowns;
	r = run("tm-verb\n");
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	run_free(&r);
	ck_assert_uint_eq(test_teardowns, before + 1);
	/* After init, a module's verbs come at once; a second module of that name is ignored. */
	gs_scenario_module_register(&late);
	gs_scenario_module_register(&late_again);
	ck_assert_ptr_eq(gs_verb_lookup("late-verb"), &verb_late);
	ck_assert_str_eq(gs_scenario_module_nth(1)->name, "late");
	ck_assert_str_eq(gs_scenario_module_nth(nr + 1)->name, "test");
	ck_assert_ptr_null(gs_scenario_module_nth(nr + 2));
}
END_TEST

START_TEST(registry_rules)
{
	static const struct gs_key many[GS_MAX_KEYS + 2] = {
		[0 ... GS_MAX_KEYS] = {"k", GS_ARG_U64},
	};
	static const struct gs_verb too_many = {.name = "too-many", .keys = many, .run = echo_run};
	static const struct gs_verb no_run = {.name = "no-run"};

	ck_assert_int_eq(gs_verb_register(&verb_echo), -EEXIST);
	ck_assert_int_eq(gs_verb_register(&too_many), -EINVAL);
	ck_assert_int_eq(gs_verb_register(&no_run), -EINVAL);
	ck_assert_int_eq(gs_verb_register(NULL), -EINVAL);
	ck_assert_ptr_eq(gs_verb_lookup("echo"), &verb_echo);
	ck_assert_ptr_null(gs_verb_lookup("nope"));
	ck_assert_ptr_nonnull(gs_verb_lookup("inject"));
	ck_assert_ptr_nonnull(gs_expect_kind_nth(0));
	ck_assert_str_eq(gs_scenario_exit_name(GS_EXIT_LEAK), "leak");
}
END_TEST

/* --- fuzzing the parser and runner --- */

static const char *const corpus[] = {
	"echo x n=4K flags=mmap|hugetlb mode=beta on s=\"a b\" => 0 n=4096\n",
	/* One element over two lines: the parentheses tell clang the split is meant. */
	("kmalloc a size=4K zero => 0\ninject site=kmalloc nth=1 persistent\nkmalloc b size=1 "
	 "=> ENOMEM\ninject off\nkfree a\ncheck\nexpect-warns 0\n"),
	"mk a tag=x\nshow a\nseed 0x10\nnote hello # c\ninject probability=30 times=2\n",
	"test-warn 1\nexpect-warns 1\necho sigbus => SIGBUS\necho ret=22 => EINVAL\n",
};

static const char alphabet[] = " \t\n=>#\"|\\0123456789xKMGTabcdefghiklmnoprstuwyz_-.\r";

static void mutate(struct gs_rng *rng, char *buf, size_t *len, size_t cap)
{
	unsigned int n = 1 + (unsigned int)gs_rng_below(rng, 8);

	for (unsigned int i = 0; i < n; i++) {
		size_t pos = *len ? gs_rng_below(rng, *len) : 0;
		char ch = (char)(gs_rng_below(rng, 4)
					 ? alphabet[gs_rng_below(rng, sizeof(alphabet) - 1)]
					 : (char)gs_rng_below(rng, 256));

		switch (gs_rng_below(rng, 4)) {
		case 0: /* replace */
			if (*len)
				buf[pos] = ch;
			break;
		case 1: /* insert */
			if (*len + 1 < cap) {
				memmove(buf + pos + 1, buf + pos, *len - pos);
				buf[pos] = ch;
				(*len)++;
			}
			break;
		case 2: /* delete */
			if (*len) {
				memmove(buf + pos, buf + pos + 1, *len - pos - 1);
				(*len)--;
			}
			break;
		default: /* truncate */
			*len = pos;
		}
	}
}

START_TEST(fuzz_parser_and_runner)
{
	struct gs_scenario_opts o = {.quiet = true, .keep_going = true, .strict = true};
	unsigned long iters = gs_test_scale(50000), codes[6] = {0};
	FILE *devnull = fopen("/dev/null", "w");
	struct gs_rng rng;
	char buf[1024];

	gs_rng_seed(&rng, gs_test_seed());
	o.out = o.err = devnull;
	for (unsigned long i = 0; i < iters; i++) {
		const char *src = corpus[gs_rng_below(&rng, ARRAY_SIZE(corpus))];
		size_t len = strlen(src);
		uint64_t live_before = gs_alloc_live_total();
		struct gs_scenario *s;
		int st;

		memcpy(buf, src, len);
		mutate(&rng, buf, &len, sizeof(buf));
		s = gs_scenario_new(&o);
		st = gs_scenario_run_buffer(s, "fuzz.gms", buf, len);
		gs_scenario_free(s);
		ck_assert_msg(st == GS_EXIT_OK || st == GS_EXIT_FAIL || st == GS_EXIT_SYNTAX ||
				      (st == GS_EXIT_LEAK && nr_leaked),
			      "iteration %lu: status %d for:\n%.*s", i, st, (int)len, buf);
		codes[st == GS_EXIT_OK ? 0 : st == GS_EXIT_FAIL ? 1 : 2]++;
		release_leaks();
		ck_assert_uint_eq(gs_alloc_live_total(), live_before);
		ck_assert(!gs_inject_active());
	}
	fclose(devnull);
	/* The mutations reached every outcome, so the loop tested something. */
	ck_assert_uint_gt(codes[0], 0);
	ck_assert_uint_gt(codes[1], 0);
	ck_assert_uint_gt(codes[2], 0);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *parse = tcase_create("parse");
	TCase *runner = tcase_create("run");
	TCase *fuzz = tcase_create("fuzz");

	tcase_add_checked_fixture(parse, setup, teardown);
	tcase_add_test(parse, parse_numbers);
	tcase_add_test(parse, errno_names);
	tcase_add_test(parse, parse_errors);
	tcase_add_test(parse, parse_bom);
	tcase_add_test(parse, parse_error_has_no_side_effects);
	tcase_add_test(parse, parse_nul_byte);
	tcase_add_test(parse, parse_reports_several_errors);
	tcase_add_test(parse, tokens_and_values);
	suite_add_tcase(s, parse);

	tcase_add_checked_fixture(runner, setup, teardown);
	tcase_add_test(runner, expectations_match_and_fail);
	tcase_add_test(runner, stop_or_keep_going);
	tcase_add_test(runner, strict_mode);
	tcase_add_test(runner, verbose_output);
	tcase_add_test(runner, warns_accounted);
	tcase_add_test(runner, read_of_metadata_only_memory);
	tcase_add_test(runner, read_answers_from_its_own_bytes);
	tcase_add_test(runner, kmalloc_inject_verbs);
	tcase_add_test(runner, inject_never_fired_note);
	tcase_add_test(runner, objects_and_teardown_order);
	tcase_add_test(runner, object_lookup_scan_and_hash);
	tcase_add_test(runner, object_lookup_by_type);
	tcase_add_test(runner, object_table_made_past_few);
	tcase_add_test(runner, object_names_at_eight_bytes);
	tcase_add_test(runner, gmem_records_reused_clean);
	tcase_add_test(runner, last_result_is_the_line_s);
	tcase_add_test(runner, key_reads_per_place);
	tcase_add_test(runner, result_fields_replaced_by_text);
	tcase_add_test(runner, check_reports_violations);
	tcase_add_test(runner, registered_checker);
	tcase_add_test(runner, seeded_runs_repeat);
	tcase_add_test(runner, inject_stack_and_seed_keys);
	tcase_add_test(runner, kernel_backend);
	tcase_add_test(runner, registry_rules);
	tcase_add_test(runner, modules_register_themselves);
	tcase_add_test(runner, leak_detected_at_teardown);
	tcase_add_test(runner, fail_nth_counts);
	tcase_add_test(runner, fail_nth_sampling);
	tcase_add_test(runner, fail_nth_catches_broken_rollback);
	tcase_add_test(runner, fail_nth_catches_crash_and_warn);
	tcase_add_test(runner, fail_nth_clean_run_must_pass);
	tcase_add_test(runner, answer_slots);
	tcase_add_test(runner, fail_nth_scenario_rules);
	tcase_add_test(runner, fail_nth_policy_is_verb_data);
	tcase_add_test(runner, fail_nth_persistent);
	tcase_add_test(runner, fail_nth_unknown_mode);
	tcase_add_test(runner, fail_nth_oracle);
	tcase_add_test(runner, fail_nth_coverage);
	tcase_add_test(runner, dump_state_shows_objects_sites_checks);
	tcase_add_test(runner, state_registry);
	suite_add_tcase(s, runner);

	tcase_add_checked_fixture(fuzz, setup, teardown);
	tcase_set_timeout(fuzz, 300);
	tcase_add_test(fuzz, fuzz_parser_and_runner);
	suite_add_tcase(s, fuzz);
	return s;
}
