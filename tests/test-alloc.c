// SPDX-License-Identifier: MIT
/*
 * Tests of the allocation path (lib/alloc.c): per-site accounting, gfp
 * handling, the might_sleep() rule and run-time site registration.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/inject.h>
#include <gmemsim/spinlock.h>
#include <gmemsim/warn.h>
#include "config.h"
#include "harness.h"
#include <valgrind/memcheck.h>

static struct gs_site_stats stats(unsigned int site)
{
	struct gs_site_stats st;

	ck_assert_int_eq(gs_site_stats(site, &st), 0);
	return st;
}

START_TEST(alloc_counts_per_site)
{
	struct gs_site_stats before = stats(GS_SITE_KMALLOC), mid, after;
	void *a = gs_kmalloc(100, GFP_KERNEL);
	void *b = gs_kmalloc(28, GFP_KERNEL);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	mid = stats(GS_SITE_KMALLOC);
	ck_assert_uint_eq(mid.live, before.live + 2);
	ck_assert_uint_eq(mid.live_bytes, before.live_bytes + 128);
	ck_assert_uint_eq(mid.allocs, before.allocs + 2);
	ck_assert_uint_ge(mid.peak_bytes, mid.live_bytes);
	/* Another site is untouched. */
	ck_assert_uint_eq(stats(GS_SITE_XARRAY_NODE).live, 0);
	gs_kfree(a, 100);
	gs_kfree(b, 28);
	after = stats(GS_SITE_KMALLOC);
	ck_assert_uint_eq(after.live, before.live);
	ck_assert_uint_eq(after.live_bytes, before.live_bytes);
	ck_assert_uint_eq(after.frees, before.frees + 2);
	ck_assert_uint_ge(after.peak_bytes, 128);
	gs_kfree(NULL, 5); /* ignored, like kfree(NULL) */
	ck_assert_uint_eq(stats(GS_SITE_KMALLOC).frees, after.frees);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(alloc_zero_and_size0)
{
	unsigned char *p = gs_kmalloc(4096, GFP_KERNEL);

	memset(p, 0xa5, 4096);
	gs_kfree(p, 4096);
	p = gs_kzalloc(4096, GFP_KERNEL);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(p[i], 0);
	gs_kfree(p, 4096);
	/* A zero-byte request succeeds and is accounted as one byte. */
	p = gs_kmalloc(0, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(stats(GS_SITE_KMALLOC).live_bytes, 1);
	gs_kfree(p, 0);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(alloc_bad_free_warns)
{
	unsigned long w = gs_warn_count();
	void *p = gs_kmalloc(16, GFP_KERNEL);

	gs_warn_set_mode(GS_WARN_QUIET);
	gs_warn_reset_once();
	/* Freeing more bytes than the site holds is a caller bug: WARN, counters untouched. */
	gs_kfree(p, 4096);
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "gs_free"));
	/* The counters were clamped, not wrapped. */
	ck_assert_uint_eq(stats(GS_SITE_KMALLOC).live, 0);
	ck_assert_uint_eq(stats(GS_SITE_KMALLOC).live_bytes, 0);
	gs_warn_set_mode(GS_WARN_PRINT);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(alloc_unknown_site_warns)
{
	unsigned long w = gs_warn_count();
	void *p;

	gs_warn_set_mode(GS_WARN_QUIET);
	gs_warn_reset_once();
	p = gs_alloc(GS_MAX_SITES + 5, 8, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	/* It was charged to the generic site. */
	ck_assert_uint_eq(stats(GS_SITE_KMALLOC).live, 1);
	gs_kfree(p, 8);
	gs_warn_set_mode(GS_WARN_PRINT);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(alloc_might_sleep_under_lock)
{
	DEFINE_SPINLOCK(lock);
	unsigned long w = gs_warn_count();
	void *p;

	gs_warn_set_mode(GS_WARN_QUIET);
	spin_lock(&lock);
	ck_assert(in_atomic());
	p = gs_kmalloc(8, GFP_NOWAIT);
	ck_assert_uint_eq(gs_warn_count(), w); /* non-sleeping: fine */
	gs_kfree(p, 8);
	p = gs_kmalloc(8, GFP_KERNEL);
	ck_assert_uint_eq(gs_warn_count(), w + 1); /* sleeping under a spinlock */
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "atomic context"));
	gs_kfree(p, 8);
	spin_unlock(&lock);
	ck_assert(!in_atomic());
	p = gs_kmalloc(8, GFP_KERNEL);
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	gs_kfree(p, 8);
	gs_warn_set_mode(GS_WARN_PRINT);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(alloc_site_registry)
{
	int id = gs_site_register("test.registry", "a site made by the test");
	unsigned int n = gs_site_count();
	struct gs_site_stats st;
	void *p;

	ck_assert_int_ge(id, GS_NR_STATIC_SITES);
	ck_assert_int_eq(gs_site_lookup("test.registry"), id);
	ck_assert_str_eq(gs_site_name((unsigned int)id), "test.registry");
	ck_assert_int_eq(gs_site_register("test.registry", "again"), -EEXIST);
	ck_assert_int_eq(gs_site_register("xarray.node", "static name"), -EEXIST);
	ck_assert_int_eq(gs_site_register("", "empty"), -EINVAL);
	ck_assert_int_eq(gs_site_register(NULL, "null"), -EINVAL);
	ck_assert_int_eq(gs_site_lookup("no.such.site"), -ENOENT);
	ck_assert_int_eq(gs_site_lookup("kmalloc"), GS_SITE_KMALLOC);
	ck_assert_ptr_null(gs_site_name(n));
	ck_assert_ptr_null(gs_site_desc(n));
	ck_assert_str_eq(gs_site_desc((unsigned int)id), "a site made by the test");
	ck_assert_int_eq(gs_site_stats(n, &st), -EINVAL);
	p = gs_alloc((unsigned int)id, 64, GFP_KERNEL);
	ck_assert_uint_eq(stats((unsigned int)id).live_bytes, 64);
	/* The counters come with the table's name and description. */
	ck_assert_str_eq(stats((unsigned int)id).name, "test.registry");
	ck_assert_str_eq(stats((unsigned int)id).desc, "a site made by the test");
	ck_assert_uint_eq(gs_alloc_report_leaks(NULL), 1);
	gs_free((unsigned int)id, p, 64);
	ck_assert_uint_eq(gs_alloc_report_leaks(NULL), 0);
}
END_TEST

/*
 * The allocation checker reads a site's counters with its name only when
 * they break a rule: a site left with fewer live bytes than live objects
 * (frees of the wrong size) is reported by name, and no other site is;
 * once the counters add up again, nothing is.
 */
START_TEST(alloc_check_reports_bad_site)
{
	int id = gs_site_register("test.bad_bytes", "frees of the wrong size");
	void *p[3], *q;
	char *out;

	ck_assert_int_ge(id, 0);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	for (unsigned int i = 0; i < 3; i++)
		p[i] = gs_alloc((unsigned int)id, 16, GFP_KERNEL);
	/* 47 of the 48 bytes go with one object: 2 objects in 1 byte. */
	gs_free((unsigned int)id, p[0], 47);
	out = gs_test_check_report();
	ck_assert_msg(out && !strcmp(out, "check alloc: site test.bad_bytes: 2 live objects in 1 "
					  "bytes\n"),
		      "%s", out ? out : "");
	free(out);
	/* Counters that add up again (the objects' sizes aside): no report. */
	q = gs_alloc((unsigned int)id, 16, GFP_KERNEL);
	gs_free((unsigned int)id, p[1], 8);
	gs_free((unsigned int)id, p[2], 8);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	gs_free((unsigned int)id, q, 1);
	ck_assert_uint_eq(stats((unsigned int)id).live_bytes, 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
}
END_TEST

START_TEST(alloc_site_registry_full)
{
	char names[GS_MAX_SITES][24];
	int last = 0;

	if (!gs_test_forking()) {
		/* Filling the table would leak into later tests of this process. */
		printf("skip alloc_site_registry_full: needs CK_FORK (fills a process-wide "
		       "table)\n");
		return;
	}
	for (int i = 0; i < GS_MAX_SITES && last >= 0; i++) {
		snprintf(names[i], sizeof(names[i]), "test.fill%d", i);
		last = gs_site_register(names[i], "");
	}
	ck_assert_int_eq(last, -ENOSPC);
	ck_assert_uint_eq(gs_site_count(), GS_MAX_SITES);
}
END_TEST

START_TEST(alloc_reset_keeps_live)
{
	void *p = gs_kmalloc(256, GFP_KERNEL);
	struct gs_site_stats st;

	gs_alloc_reset_stats();
	st = stats(GS_SITE_KMALLOC);
	ck_assert_uint_eq(st.allocs, 0);
	ck_assert_uint_eq(st.frees, 0);
	ck_assert_uint_eq(st.live, 1);
	ck_assert_uint_eq(st.live_bytes, 256);
	ck_assert_uint_eq(st.peak_bytes, 256);
	ck_assert_uint_eq(gs_alloc_live_total(), 1);
	gs_kfree(p, 256);
	ck_assert_uint_eq(gs_alloc_live_total(), 0);
}
END_TEST

START_TEST(alloc_site_cache_reuses_objects)
{
	int site = gs_site_register("test.cache", "one object size");
	int mixed = gs_site_register("test.mixed", "two object sizes");
	struct gs_site_stats st;
	unsigned char *a, *b, *c;

	/* A fixed-size site hands a freed object back, zeroed when asked, counters exact. */
	a = gs_alloc((unsigned int)site, 96, GFP_KERNEL);
	memset(a, 0x77, 96);
	gs_free((unsigned int)site, a, 96);
	gs_site_stats((unsigned int)site, &st);
	ck_assert_uint_eq(st.live, 0);
	b = gs_alloc((unsigned int)site, 96, GFP_KERNEL | __GFP_ZERO);
	ck_assert_ptr_eq(b, a);
	for (int i = 0; i < 96; i++)
		ck_assert_uint_eq(b[i], 0);
	gs_site_stats((unsigned int)site, &st);
	ck_assert_uint_eq(st.live, 1);
	ck_assert_uint_eq(st.live_bytes, 96);
	gs_free((unsigned int)site, b, 96);
	/* A site that sees a second size stops caching. */
	a = gs_alloc((unsigned int)mixed, 64, GFP_KERNEL);
	gs_free((unsigned int)mixed, a, 64);
	b = gs_alloc((unsigned int)mixed, 128, GFP_KERNEL);
	gs_free((unsigned int)mixed, b, 128);
	c = gs_alloc((unsigned int)mixed, 64, GFP_KERNEL);
	gs_free((unsigned int)mixed, c, 64);
	gs_site_stats((unsigned int)mixed, &st);
	ck_assert_uint_eq(st.live, 0);
	ck_assert_uint_eq(st.allocs, 3);
	/* Draining gives the memory back; the next allocation comes from the allocator. */
	gs_alloc_drain_caches();
	a = gs_alloc((unsigned int)site, 96, GFP_KERNEL);
	ck_assert_ptr_nonnull(a);
	gs_free((unsigned int)site, a, 96);
	gs_alloc_drain_caches();
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * An injected failure counts at its own site only (the counter is kept
 * apart from the ones an allocation writes), and a reset clears it.
 */
START_TEST(alloc_failed_counted_per_site)
{
	int site = gs_site_register("test.failing", "fails once");
	int other = gs_site_register("test.other", "never fails");
	struct gs_inject_rule r = {.site = site, .mode = GS_INJECT_NTH, .nth = 2};
	void *a, *b, *c;
	int id;

	id = gs_inject_arm(&r);
	ck_assert_int_ge(id, 0);
	a = gs_alloc((unsigned int)site, 40, GFP_KERNEL);
	c = gs_alloc((unsigned int)other, 40, GFP_KERNEL);
	b = gs_alloc((unsigned int)site, 40, GFP_KERNEL);
	gs_inject_disarm(id);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(stats((unsigned int)site).failed, 1);
	ck_assert_uint_eq(stats((unsigned int)site).allocs, 1);
	ck_assert_uint_eq(stats((unsigned int)site).live, 1);
	ck_assert_uint_eq(stats((unsigned int)other).failed, 0);
	ck_assert_uint_eq(stats((unsigned int)other).allocs, 1);
	gs_free((unsigned int)site, a, 40);
	gs_free((unsigned int)other, c, 40);
	gs_alloc_reset_stats();
	ck_assert_uint_eq(stats((unsigned int)site).failed, 0);
	ck_assert_uint_eq(stats((unsigned int)site).allocs, 0);
	gs_alloc_drain_caches();
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * Under valgrind, a cached object is off limits but for its link word
 * (memcheck's client requests are made only there): a use after free of a
 * cached object is still reported. Without valgrind there is nothing to see.
 */
START_TEST(alloc_cached_object_noaccess_under_valgrind)
{
	int site = gs_site_register("test.vgcache", "one object size");
	unsigned char *a = gs_alloc((unsigned int)site, 64, GFP_KERNEL);
	unsigned char *b;

	ck_assert_ptr_nonnull(a);
	gs_free((unsigned int)site, a, 64);
	if (RUNNING_ON_VALGRIND) {
		uintptr_t bad;

		/* The first byte not addressable is the one after the link word (not an error here). */
		VALGRIND_DISABLE_ERROR_REPORTING;
		bad = VALGRIND_CHECK_MEM_IS_ADDRESSABLE(a, 64);
		VALGRIND_ENABLE_ERROR_REPORTING;
		ck_assert_ptr_eq((void *)bad, a + sizeof(void *));
	}
	b = gs_alloc((unsigned int)site, 64, GFP_KERNEL);
	ck_assert_ptr_eq(b, a);
	if (RUNNING_ON_VALGRIND)
		ck_assert_uint_eq(VALGRIND_CHECK_MEM_IS_ADDRESSABLE(b, 64), 0);
	gs_free((unsigned int)site, b, 64);
	gs_alloc_drain_caches();
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(alloc_allocator_name)
{
	Dl_info info = {0};

	/* The configured allocator is the one malloc() really resolves to. */
	ck_assert(dladdr((void *)malloc, &info));
	if (GS_USE_JEMALLOC) {
		ck_assert_msg(!strncmp(gs_allocator_name(), "jemalloc 5", 10), "%s",
			      gs_allocator_name());
		ck_assert_msg(strstr(info.dli_fname, "jemalloc"), "malloc comes from %s",
			      info.dli_fname);
	} else {
		ck_assert_str_eq(gs_allocator_name(), "system");
		ck_assert_ptr_null(strstr(info.dli_fname, "jemalloc"));
	}
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, alloc_counts_per_site);
	tcase_add_test(tc, alloc_check_reports_bad_site);
	tcase_add_test(tc, alloc_zero_and_size0);
	tcase_add_test(tc, alloc_bad_free_warns);
	tcase_add_test(tc, alloc_unknown_site_warns);
	tcase_add_test(tc, alloc_might_sleep_under_lock);
	tcase_add_test(tc, alloc_site_registry);
	tcase_add_test(tc, alloc_site_registry_full);
	tcase_add_test(tc, alloc_reset_keeps_live);
	tcase_add_test(tc, alloc_site_cache_reuses_objects);
	tcase_add_test(tc, alloc_failed_counted_per_site);
	tcase_add_test(tc, alloc_cached_object_noaccess_under_valgrind);
	tcase_add_test(tc, alloc_allocator_name);
	suite_add_tcase(s, tc);
	return s;
}
