// SPDX-License-Identifier: MIT
/*
 * Tests of scenario reduction (lib/scenario/scenario_reduce.c, `gmemsim
 * reduce`): planted failures of each kind (an unmet expectation, a WARN of
 * the rfc-v2 rollback, a checker violation, a leak, an operation that cannot
 * run, a crash) shrink to a few lines that still fail with the same signature; a
 * passing scenario has nothing to reduce; the work is bounded and
 * deterministic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/reduce.h>
#include <gmemsim/warn.h>
#include "harness.h"

/* --- a test-only module: verbs that plant a violation or crash --- */

static bool planted;

static int plant_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	(void)op;
	(void)res;
	planted = true;
	return 0;
}

static int crash_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	(void)op;
	(void)res;
	abort();
}

/* Allocations a test-leak line left behind, freed by the test itself. */
static GPtrArray *leaked;

static int leak_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	void *p = gs_kmalloc(64, GFP_KERNEL);

	(void)s;
	(void)op;
	if (!p) {
		res->ret = -ENOMEM;
		return 0;
	}
	g_ptr_array_add(leaked, p);
	return 0;
}

static const struct gs_verb verb_leak = {
	.name = "test-leak",
	.summary = "test only: kmalloc 64 bytes and keep them past the teardown",
	.backends = GS_BACKEND_SIM,
	.run = leak_run,
};

static const struct gs_verb verb_plant = {
	.name = "test-plant-violation",
	.summary = "test only: the 'planted' checker reports a violation until teardown",
	.backends = GS_BACKEND_SIM,
	.run = plant_run,
};

static const struct gs_verb verb_crash = {
	.name = "test-crash",
	.summary = "test only: abort()",
	.backends = GS_BACKEND_SIM,
	.run = crash_run,
};

static const struct gs_verb *const test_verbs[] = {&verb_plant, &verb_crash, &verb_leak, NULL};

static void test_teardown(void)
{
	planted = false;
}

static struct gs_scenario_module test_module = {
	.name = "test-reduce",
	.priority = GS_MODULE_PRIO_USER,
	.verbs = test_verbs,
	.teardown = test_teardown,
};
GS_SCENARIO_MODULE(test_module)

static void planted_checker(struct gs_check_report *r, void *ctx)
{
	(void)ctx;
	if (planted)
		gs_check_violation(r, "planted violation %d", 42);
}

/* --- helpers --- */

static char *read_case(const char *name, size_t *len)
{
	gchar *path = g_strdup_printf("%s/reduce/%s", gs_test_srcdir(), name);
	gchar *text = NULL;
	gsize n = 0;

	ck_assert_msg(g_file_get_contents(path, &text, &n, NULL), "cannot read %s", path);
	g_free(path);
	*len = n;
	return text;
}

/* Operation lines of @text (not blank, not a comment). */
static unsigned int ops_in(const char *text)
{
	gchar **lines = g_strsplit(text, "\n", -1);
	unsigned int n = 0;

	for (int i = 0; lines[i]; i++) {
		const char *l = lines[i] + strspn(lines[i], " \t");

		n += *l && *l != '#';
	}
	g_strfreev(lines);
	return n;
}

/* Reduce @text, assert the result is at most @bound operations and fails the same way. */
static void reduce_and_replay(const char *name, const char *text, size_t len, unsigned int bound,
			      const char *sig_prefix, struct gs_reduce_result *res)
{
	struct gs_scenario_opts o = {0};
	char again[GS_REDUCE_SIG_LEN];

	ck_assert_int_eq(gs_scenario_reduce(&o, NULL, name, text, len, res), GS_REDUCE_DONE);
	ck_assert_msg(!strncmp(res->signature, sig_prefix, strlen(sig_prefix)),
		      "signature '%s' does not start with '%s'", res->signature, sig_prefix);
	/* Signatures carry no line numbers or addresses. */
	ck_assert_ptr_null(strstr(res->signature, ".gms:"));
	ck_assert_ptr_null(strstr(res->signature, "0x"));
	ck_assert_ptr_nonnull(res->text);
	ck_assert_uint_eq(ops_in(res->text), res->ops_after);
	ck_assert_msg(res->ops_after <= bound, "%u operation lines left (bound %u):\n%s",
		      res->ops_after, bound, res->text);
	ck_assert_uint_lt(res->ops_after, res->ops_before);
	ck_assert_uint_le(res->attempts, GS_REDUCE_DEFAULT_MAX);
	ck_assert(!res->exhausted);
	/* The reduced file replays: it parses and fails with the same signature. */
	ck_assert_int_eq(gs_scenario_signature(&o, "reduced.gms", res->text, strlen(res->text),
					       again, sizeof(again)),
			 GS_EXIT_FAIL);
	ck_assert_str_eq(again, res->signature);
}

/* --- tests --- */

/* 40 operation lines, 3 matter: reduced to at most 3, the punch line's blocks= still wrong. */
START_TEST(test_reduce_expectation)
{
	struct gs_reduce_result res;
	size_t len;
	char *text = read_case("planted-expect.gms", &len);

	reduce_and_replay("planted-expect.gms", text, len, 3, "expectation: punch", &res);
	ck_assert_str_eq(res.signature, "expectation: punch expected 0 got 0 (blocks)");
	ck_assert_uint_eq(res.ops_before, 40);
	ck_assert_ptr_nonnull(strstr(res.text, "punch x"));
	free(res.text);
	g_free(text);
	gs_test_assert_no_leaks();
}
END_TEST

/* The rfc-v2 rollback's index-0 WARN: the profile, the 15 ranges, the injection, the convert. */
START_TEST(test_reduce_warn_rfc_v2)
{
	struct gs_reduce_result res;
	size_t len;
	char *text = read_case("planted-warn.gms", &len);

	reduce_and_replay("planted-warn.gms", text, len, 12,
			  "WARN: gmem_convert.c rfc_rollback: ", &res);
	ck_assert_ptr_nonnull(strstr(res.signature, "(in convert)"));
	ck_assert_ptr_nonnull(strstr(res.text, "conversion=rfc-v2"));
	ck_assert_ptr_nonnull(strstr(res.text, "inject site=maple.prealloc"));
	free(res.text);
	g_free(text);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(test_reduce_checker)
{
	static const char text[] = "gmem a size=8K flags=mmap|init_shared => 0\n"
				   "falloc a off=0 len=8K => 0\n"
				   "check\n"
				   "test-plant-violation\n"
				   "punch a off=0 len=4K => 0\n"
				   "close a\n"
				   "check\n";
	struct gs_reduce_result res;
	int h = gs_check_register("planted", planted_checker, NULL);

	ck_assert_int_ge(h, 0);
	reduce_and_replay("checker.gms", text, strlen(text), 2, "checker: planted", &res);
	ck_assert_str_eq(res.signature, "checker: planted");
	ck_assert_str_eq(res.text, "# gmemsim reduce: checker: planted\n"
				   "test-plant-violation\n"
				   "check\n");
	free(res.text);
	gs_check_unregister(h);
}
END_TEST

/* Memory left at teardown: the leak's site is the signature. */
START_TEST(test_reduce_leak)
{
	static const char text[] = "gmem a size=8K => 0\n"
				   "falloc a off=0 len=8K => 0\n"
				   "test-leak\n"
				   "punch a off=0 len=4K => 0\n"
				   "close a\n";
	struct gs_reduce_result res;

	leaked = g_ptr_array_new();
	reduce_and_replay("leak.gms", text, strlen(text), 1, "leak: kmalloc", &res);
	ck_assert_str_eq(res.signature, "leak: kmalloc");
	ck_assert_str_eq(res.text, "# gmemsim reduce: leak: kmalloc\ntest-leak\n");
	free(res.text);
	for (guint i = 0; i < leaked->len; i++)
		gs_kfree(g_ptr_array_index(leaked, i), 64);
	g_ptr_array_free(leaked, TRUE);
	gs_test_assert_no_leaks();
}
END_TEST

/* An operation that cannot run (an unknown object) is a failure kind of its own. */
START_TEST(test_reduce_error)
{
	static const char text[] = "gmem a size=8K => 0\n"
				   "falloc a off=0 len=8K => 0\n"
				   "punch nosuch off=0 len=4K\n"
				   "close a\n";
	struct gs_reduce_result res;

	reduce_and_replay("error.gms", text, strlen(text), 1, "error: punch: ", &res);
	ck_assert_ptr_nonnull(strstr(res.signature, "nosuch"));
	free(res.text);
}
END_TEST

START_TEST(test_reduce_nothing)
{
	struct gs_reduce_result res;
	size_t len;
	char *text = read_case("../scenarios/convert-rfc-v2.gms", &len);

	ck_assert_int_eq(gs_scenario_reduce(NULL, NULL, "pass.gms", text, len, &res),
			 GS_REDUCE_NOTHING);
	ck_assert_ptr_null(res.text);
	ck_assert_str_eq(res.signature, "");
	ck_assert_uint_eq(res.attempts, 1);
	g_free(text);
}
END_TEST

START_TEST(test_reduce_malformed)
{
	static const char text[] = "gmem a size=8K => 0\nno-such-verb 1\n";
	struct gs_reduce_result res;
	char sig[GS_REDUCE_SIG_LEN];

	ck_assert_int_eq(gs_scenario_reduce(NULL, NULL, "bad.gms", text, strlen(text), &res),
			 GS_REDUCE_MALFORMED);
	ck_assert_ptr_null(res.text);
	ck_assert_int_eq(
		gs_scenario_signature(NULL, "bad.gms", text, strlen(text), sig, sizeof(sig)),
		GS_EXIT_SYNTAX);
}
END_TEST

/* A crash would end the reducer: each attempt runs in a child, and the crash is reduced. */
START_TEST(test_reduce_crash)
{
	static const char text[] = "gmem a size=8K => 0\nfalloc a off=0 len=8K\ntest-crash\n"
				   "close a\n";
	struct gs_reduce_result res;

	ck_assert_int_eq(gs_scenario_reduce(NULL, NULL, "crash.gms", text, strlen(text), &res),
			 GS_REDUCE_DONE);
	ck_assert_msg(g_str_has_prefix(res.signature, "crash: SIGABRT"), "%s", res.signature);
	ck_assert_uint_eq(res.ops_before, 4);
	ck_assert_uint_eq(res.ops_after, 1);
	ck_assert_ptr_nonnull(strstr(res.text, "\ntest-crash\n"));
	ck_assert_ptr_null(strstr(res.text, "falloc"));
	free(res.text);
}
END_TEST

/* The same input gives the same output; a bound stops early with a still-failing scenario. */
START_TEST(test_reduce_deterministic_bounded)
{
	struct gs_reduce_opts ro = {.max_attempts = 6};
	struct gs_reduce_result a, b, c;
	char sig[GS_REDUCE_SIG_LEN];
	size_t len;
	char *text = read_case("planted-warn.gms", &len);

	ck_assert_int_eq(gs_scenario_reduce(NULL, NULL, "w.gms", text, len, &a), GS_REDUCE_DONE);
	ck_assert_int_eq(gs_scenario_reduce(NULL, NULL, "w.gms", text, len, &b), GS_REDUCE_DONE);
	ck_assert_str_eq(a.text, b.text);
	ck_assert_uint_eq(a.attempts, b.attempts);
	ck_assert_int_eq(gs_scenario_reduce(NULL, &ro, "w.gms", text, len, &c), GS_REDUCE_DONE);
	ck_assert_uint_eq(c.attempts, 6);
	ck_assert(c.exhausted);
	ck_assert_uint_gt(c.ops_after, a.ops_after);
	ck_assert_int_eq(
		gs_scenario_signature(NULL, "c.gms", c.text, strlen(c.text), sig, sizeof(sig)),
		GS_EXIT_FAIL);
	ck_assert_str_eq(sig, a.signature);
	free(a.text);
	free(b.text);
	free(c.text);
	g_free(text);
}
END_TEST

/* WARN printing mode is the caller's again after a signature run. */
START_TEST(test_signature_restores_warn_mode)
{
	size_t len;
	char sig[GS_REDUCE_SIG_LEN];
	char *text = read_case("planted-warn.gms", &len);

	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert_int_eq(gs_scenario_signature(NULL, "w.gms", text, len, sig, sizeof(sig)),
			 GS_EXIT_FAIL);
	ck_assert_int_eq(gs_warn_set_mode(GS_WARN_PRINT), GS_WARN_PRINT);
	g_free(text);
}
END_TEST

/*
 * Signature runs share one error stream (kept open across runs): each names
 * its own failure from its own lines' messages, never an earlier run's.
 */
START_TEST(test_signature_runs_apart)
{
	static const char chk[] = "test-plant-violation\ncheck\n";
	static const char err[] = "gmem a size=8K => 0\npunch nosuch off=0 len=4K\nclose a\n";
	static const char ok[] = "gmem a size=8K => 0\nclose a\n";
	int h = gs_check_register("planted", planted_checker, NULL);
	char sig[GS_REDUCE_SIG_LEN];

	ck_assert_int_ge(h, 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_ne(
			gs_scenario_signature(NULL, "e.gms", err, strlen(err), sig, sizeof(sig)),
			GS_EXIT_OK);
		ck_assert_msg(g_str_has_prefix(sig, "error: punch: ") && strstr(sig, "nosuch"),
			      "run %d: %s", i, sig);
		ck_assert_int_eq(
			gs_scenario_signature(NULL, "o.gms", ok, strlen(ok), sig, sizeof(sig)),
			GS_EXIT_OK);
		ck_assert_str_eq(sig, "");
		ck_assert_int_ne(
			gs_scenario_signature(NULL, "c.gms", chk, strlen(chk), sig, sizeof(sig)),
			GS_EXIT_OK);
		ck_assert_str_eq(sig, "checker: planted");
	}
	planted = false;
	gs_check_unregister(h);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("reduce");
	TCase *tc = tcase_create("reduce");

	tcase_add_test(tc, test_reduce_expectation);
	tcase_add_test(tc, test_reduce_warn_rfc_v2);
	tcase_add_test(tc, test_reduce_checker);
	tcase_add_test(tc, test_reduce_leak);
	tcase_add_test(tc, test_reduce_error);
	tcase_add_test(tc, test_reduce_nothing);
	tcase_add_test(tc, test_reduce_malformed);
	tcase_add_test(tc, test_reduce_crash);
	tcase_add_test(tc, test_reduce_deterministic_bounded);
	tcase_add_test(tc, test_signature_restores_warn_mode);
	tcase_add_test(tc, test_signature_runs_apart);
	suite_add_tcase(s, tc);
	return s;
}
