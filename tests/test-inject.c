// SPDX-License-Identifier: MIT
/*
 * Tests of fault injection (lib/inject.c): every mode and filter, the
 * failure log with call-path hashes, and the fail-nth loop helper.
 */
#include <errno.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include "harness.h"

static int site_a, site_b;

static void setup(void)
{
	gs_inject_reset();
	site_a = gs_site_lookup("test.a");
	if (site_a < 0)
		site_a = gs_site_register("test.a", "test site a");
	site_b = gs_site_lookup("test.b");
	if (site_b < 0)
		site_b = gs_site_register("test.b", "test site b");
}

static void teardown(void)
{
	gs_inject_reset();
}

/* Try @n allocations at @site; bit i of the result is set if the i-th failed. */
static uint64_t pattern(int site, int n, gfp_t gfp)
{
	uint64_t failed = 0;

	for (int i = 0; i < n; i++) {
		void *p = gs_alloc((unsigned int)site, 32, gfp);

		if (!p)
			failed |= 1ULL << i;
		gs_free((unsigned int)site, p, 32);
	}
	return failed;
}

START_TEST(inject_arm_validation)
{
	struct gs_inject_rule r = {.site = GS_INJECT_ANY_SITE, .mode = GS_INJECT_NTH, .nth = 0};
	int ids[GS_INJECT_MAX_RULES];

	ck_assert_int_eq(gs_inject_arm(NULL), -EINVAL);
	ck_assert_int_eq(gs_inject_arm(&r), -EINVAL); /* nth counts from 1 */
	r.nth = 1;
	r.site = 100000;
	ck_assert_int_eq(gs_inject_arm(&r), -EINVAL);
	r.site = -7;
	ck_assert_int_eq(gs_inject_arm(&r), -EINVAL);
	r = (struct gs_inject_rule){
		.site = site_a, .mode = GS_INJECT_PROB, .probability_ppm = GS_INJECT_PPM + 1};
	ck_assert_int_eq(gs_inject_arm(&r), -EINVAL);
	ck_assert(!gs_inject_active());
	r = (struct gs_inject_rule){.site = site_a, .mode = GS_INJECT_NTH, .nth = 1000};
	for (int i = 0; i < GS_INJECT_MAX_RULES; i++) {
		ids[i] = gs_inject_arm(&r);
		ck_assert_int_ge(ids[i], 0);
	}
	ck_assert_int_eq(gs_inject_arm(&r), -ENOSPC);
	ck_assert(gs_inject_active());
	gs_inject_disarm(ids[3]);
	ck_assert_int_eq(gs_inject_arm(&r), ids[3]);
	gs_inject_disarm(-1);  /* ignored */
	gs_inject_disarm(999); /* ignored */
	gs_inject_disarm_all();
	ck_assert(!gs_inject_active());
}
END_TEST

START_TEST(inject_nth_transient)
{
	struct gs_inject_rule r = {.site = site_a, .mode = GS_INJECT_NTH, .nth = 3};
	int id = gs_inject_arm(&r);

	ck_assert_int_ge(id, 0);
	ck_assert_uint_eq(pattern(site_b, 5, GFP_KERNEL), 0); /* other site: not counted */
	ck_assert_uint_eq(pattern(site_a, 8, GFP_KERNEL), 1u << 2);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 1);
	ck_assert_uint_eq(gs_inject_nr_failures(), 1);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(inject_nth_persistent)
{
	struct gs_inject_rule r = {
		.site = site_a, .mode = GS_INJECT_NTH, .nth = 3, .persistent = true};
	int id = gs_inject_arm(&r);

	ck_assert_uint_eq(pattern(site_a, 8, GFP_KERNEL), 0xfcu);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 6);
	gs_inject_disarm(id);
	ck_assert_uint_eq(pattern(site_a, 8, GFP_KERNEL), 0);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(inject_any_site_counts_all)
{
	struct gs_inject_rule r = {.site = GS_INJECT_ANY_SITE, .mode = GS_INJECT_NTH, .nth = 4};

	gs_inject_arm(&r);
	ck_assert_uint_eq(pattern(site_a, 2, GFP_KERNEL), 0);
	ck_assert_uint_eq(pattern(site_b, 3, GFP_KERNEL), 1u << 1); /* 4th hit overall */
	ck_assert_uint_eq(gs_inject_failure(0)->site, (unsigned int)site_b);
	ck_assert_uint_eq(gs_inject_failure(0)->hit, 4);
	ck_assert_uint_eq(gs_inject_failure(0)->size, 32);
	ck_assert_ptr_null(gs_inject_failure(1));
}
END_TEST

START_TEST(inject_every_with_times)
{
	struct gs_inject_rule r = {.site = site_a, .mode = GS_INJECT_EVERY, .times = 3};
	int id = gs_inject_arm(&r);

	ck_assert_uint_eq(pattern(site_a, 6, GFP_KERNEL), 0x7u);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 3);
	r.times = 0;
	gs_inject_arm(&r);
	ck_assert_uint_eq(pattern(site_a, 6, GFP_KERNEL), 0x3fu);
}
END_TEST

START_TEST(inject_probability_seeded)
{
	struct gs_inject_rule r = {.site = site_a,
				   .mode = GS_INJECT_PROB,
				   .probability_ppm = 300000,
				   .seed = gs_test_seed()};
	unsigned long n = 20000, failed = 0;
	uint64_t p1, p2, p3;
	int id = gs_inject_arm(&r);

	p1 = pattern(site_a, 64, GFP_KERNEL);
	gs_inject_disarm(id);
	id = gs_inject_arm(&r);
	p2 = pattern(site_a, 64, GFP_KERNEL);
	ck_assert_uint_eq(p1, p2); /* same seed, same failures */
	gs_inject_disarm(id);
	r.seed++;
	id = gs_inject_arm(&r);
	p3 = pattern(site_a, 64, GFP_KERNEL);
	ck_assert_uint_ne(p1, p3);
	/* The rate is the one asked for (30% +- 2% over 20000 draws: > 6 sigma). */
	for (unsigned long i = 0; i < n; i++) {
		void *p = gs_alloc((unsigned int)site_a, 8, GFP_KERNEL);

		failed += !p;
		gs_free((unsigned int)site_a, p, 8);
	}
	ck_assert_uint_gt(failed, n * 28 / 100);
	ck_assert_uint_lt(failed, n * 32 / 100);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(inject_gfp_filter)
{
	struct gs_inject_rule r = {
		.site = site_a, .mode = GS_INJECT_EVERY, .gfp = GS_INJECT_GFP_NOWAIT};
	int id = gs_inject_arm(&r);

	ck_assert_uint_eq(pattern(site_a, 4, GFP_KERNEL), 0);
	ck_assert_uint_eq(pattern(site_a, 4, GFP_NOWAIT), 0xfu);
	ck_assert_uint_eq(pattern(site_a, 4, GFP_ATOMIC), 0xfu);
	gs_inject_disarm(id);
	r.gfp = GS_INJECT_GFP_WAIT;
	gs_inject_arm(&r);
	ck_assert_uint_eq(pattern(site_a, 4, GFP_KERNEL), 0xfu);
	ck_assert_uint_eq(pattern(site_a, 4, GFP_NOWAIT), 0);
}
END_TEST

START_TEST(inject_nofail_never_fails)
{
	struct gs_inject_rule r = {.site = site_a, .mode = GS_INJECT_NTH, .nth = 2};
	int id = gs_inject_arm(&r);

	/* __GFP_NOFAIL hits are neither failed nor counted. */
	ck_assert_uint_eq(pattern(site_a, 5, GFP_KERNEL | __GFP_NOFAIL), 0);
	ck_assert_uint_eq(pattern(site_a, 3, GFP_KERNEL), 1u << 1);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 1);
}
END_TEST

/* Queries per site: what the fail-nth campaign's coverage counts, NOFAIL hits left out. */
START_TEST(inject_site_queries)
{
	unsigned long a0 = gs_inject_site_queries((unsigned int)site_a);
	unsigned long b0 = gs_inject_site_queries((unsigned int)site_b);
	unsigned long q0 = gs_inject_queries();

	gs_inject_set_counting(true);
	pattern(site_a, 3, GFP_KERNEL);
	pattern(site_a, 4, GFP_KERNEL | __GFP_NOFAIL);
	pattern(site_b, 2, GFP_NOWAIT);
	gs_inject_set_counting(false);
	ck_assert_uint_eq(gs_inject_site_queries((unsigned int)site_a) - a0, 3);
	ck_assert_uint_eq(gs_inject_site_queries((unsigned int)site_b) - b0, 2);
	ck_assert_uint_eq(gs_inject_queries() - q0, 5);
	ck_assert_uint_eq(gs_inject_site_queries(GS_MAX_SITES), 0);
}
END_TEST

/*
 * Two distinct call paths into the same site, each deeper than the hashed
 * depth (GS_INJECT_STACK_DEPTH) inside these helpers, so that where the test
 * calls them from does not matter. GCC's noipa keeps the compiler from
 * merging the identical paths or cloning them; clang (14 has no noipa) neither
 * clones nor merges functions unless asked (-fmerge-functions), so noinline
 * is what it needs to keep every frame.
 */
#if defined(__has_attribute) && __has_attribute(__noipa__)
#define NOIPA __attribute__((__noipa__))
#else
#define NOIPA __attribute__((__noinline__))
#endif
/* The barrier after each call keeps it a real call (no tail call folds the frame away). */
#define KEEP(expr)                                 \
	({                                         \
		void *__p = (expr);                \
		__asm__ volatile("" ::: "memory"); \
		__p;                               \
	})
static NOIPA void *leaf_a(int site)
{
	return KEEP(gs_alloc((unsigned int)site, 16, GFP_KERNEL));
}
static NOIPA void *leaf_b(int site)
{
	return KEEP(gs_alloc((unsigned int)site, 16, GFP_KERNEL));
}
static NOIPA void *up1(void *(*f)(int), int site)
{
	return KEEP(f(site));
}
static NOIPA void *up2(void *(*f)(int), int site)
{
	return KEEP(up1(f, site));
}
static NOIPA void *up3(void *(*f)(int), int site)
{
	return KEEP(up2(f, site));
}
static NOIPA void *up4(void *(*f)(int), int site)
{
	return KEEP(up3(f, site));
}
static NOIPA void *up5(void *(*f)(int), int site)
{
	return KEEP(up4(f, site));
}
static NOIPA void *up6(void *(*f)(int), int site)
{
	return KEEP(up5(f, site));
}
static NOIPA void *up7(void *(*f)(int), int site)
{
	return KEEP(up6(f, site));
}
static NOIPA void *path_one(int site)
{
	return KEEP(up7(leaf_a, site));
}
static NOIPA void *path_two(int site)
{
	return KEEP(up7(leaf_b, site));
}

START_TEST(inject_stack_hash_paths)
{
	struct gs_inject_rule r = {.site = site_a, .mode = GS_INJECT_EVERY};
	uint64_t h1, h2;
	void *p;
	int id = gs_inject_arm(&r);

	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(path_one(site_a));
		ck_assert_ptr_null(path_two(site_a));
	}
	gs_inject_disarm(id);
	ck_assert_uint_eq(gs_inject_nr_failures(), 6);
	h1 = gs_inject_failure(0)->stack;
	h2 = gs_inject_failure(1)->stack;
	ck_assert_uint_ne(h1, 0);
	ck_assert_uint_ne(h1, h2);
	/* The same path hashes the same every time. */
	ck_assert_uint_eq(gs_inject_failure(2)->stack, h1);
	ck_assert_uint_eq(gs_inject_failure(5)->stack, h2);
	/* A stack filter fails only that path. */
	r.stack = h2;
	gs_inject_arm(&r);
	p = path_one(site_a);
	ck_assert_ptr_nonnull(p);
	gs_free((unsigned int)site_a, p, 16);
	ck_assert_ptr_null(path_two(site_a));
	gs_test_assert_no_leaks();
}
END_TEST

/* An operation with three allocations that undoes itself on failure. */
struct three {
	void *p[3];
	int prepared, checked, injected_runs;
	unsigned long last_n;
};

static void three_prepare(void *arg)
{
	struct three *t = arg;

	t->prepared++;
	gs_free((unsigned int)site_b, gs_alloc((unsigned int)site_b, 8, GFP_KERNEL), 8);
}

static int three_op(void *arg)
{
	struct three *t = arg;

	for (int i = 0; i < 3; i++) {
		t->p[i] = gs_alloc((unsigned int)site_a, 8, GFP_KERNEL);
		if (!t->p[i]) {
			while (i--)
				gs_free((unsigned int)site_a, t->p[i], 8);
			return -ENOMEM;
		}
	}
	return 0;
}

static void three_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct three *t = arg;
	struct gs_site_stats st;

	t->checked++;
	t->last_n = n;
	gs_site_stats((unsigned int)site_a, &st);
	if (injected) {
		t->injected_runs++;
		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert_uint_eq(st.live, 0); /* rolled back */
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(st.live, 3);
	for (int i = 0; i < 3; i++)
		gs_free((unsigned int)site_a, t->p[i], 8);
}

START_TEST(inject_fail_nth_loop)
{
	struct gs_fail_nth_ops ops = {three_prepare, three_op, three_check};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	struct three t = {0};
	unsigned long it = 0;

	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &t, &it), 0);
	ck_assert_uint_eq(it, 4); /* three failure points, then a clean run */
	ck_assert_int_eq(t.injected_runs, 3);
	ck_assert_int_eq(t.prepared, 4);
	ck_assert_int_eq(t.checked, 4);
	/* Persistent mode and a site filter: same count here. */
	t = (struct three){0};
	cfg = (struct gs_fail_nth){.site = site_a, .persistent = true};
	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &t, &it), 0);
	ck_assert_uint_eq(it, 4);
	/* Filtering on the prepare-only site: nothing in the op is ever failed. */
	t = (struct three){0};
	cfg = (struct gs_fail_nth){.site = site_b};
	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &t, &it), 0);
	ck_assert_uint_eq(it, 1);
	/* Not enough iterations allowed. */
	t = (struct three){0};
	cfg = (struct gs_fail_nth){.site = site_a, .max_n = 2};
	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &t, &it), -E2BIG);
	ck_assert_uint_eq(it, 2);
	ck_assert(!gs_inject_active());
	gs_test_assert_no_leaks();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, inject_arm_validation);
	tcase_add_test(tc, inject_nth_transient);
	tcase_add_test(tc, inject_nth_persistent);
	tcase_add_test(tc, inject_any_site_counts_all);
	tcase_add_test(tc, inject_every_with_times);
	tcase_add_test(tc, inject_probability_seeded);
	tcase_add_test(tc, inject_gfp_filter);
	tcase_add_test(tc, inject_nofail_never_fails);
	tcase_add_test(tc, inject_site_queries);
	tcase_add_test(tc, inject_stack_hash_paths);
	tcase_add_test(tc, inject_fail_nth_loop);
	suite_add_tcase(s, tc);
	return s;
}
