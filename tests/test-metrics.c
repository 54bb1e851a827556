// SPDX-License-Identifier: MIT
/*
 * Tests of the simulator's metrics (<gmemsim/metrics.h>, lib/base/metrics.c,
 * lib/scenario/metrics.c): each counter against a value computed by hand
 * from the kernel's page arithmetic (64-byte struct pages, HVO keeping 1 of
 * 8 vmemmap pages of a 2 MiB page and 1 of 4,096 of a 1 GiB page), seed
 * 004's HVO figure for a 1 GiB-backed guest, and the gfault-range verb.
 */
#include <string.h>
#include <glib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/metrics.h>
#include <gmemsim/scenario.h>
#include <gmemsim/sites.h>
#include "harness.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* The metrics at each `metrics` line of a run (not `metrics reset`), in order. */
struct capture {
	struct gs_metrics m[8];
	unsigned int n;
	/* Every site's allocation attempts when the last `convert` began and ended. */
	uint64_t attempts_before, attempts_after;
	/* hvo.restore's allocations at the same two points. */
	uint64_t restores_before, restores_after;
};

static uint64_t hvo_restores(void)
{
	struct gs_site_stats st;

	ck_assert_int_eq(gs_site_stats(GS_SITE_HVO_RESTORE, &st), 0);
	return st.allocs;
}

static uint64_t alloc_attempts(void)
{
	uint64_t n = 0;
	struct gs_site_stats st;

	for (unsigned int site = 0; !gs_site_stats(site, &st); site++)
		n += st.allocs + st.failed;
	return n;
}

static void on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct capture *c = arg;

	(void)res;
	if (!strcmp(op->verb->name, "metrics") && !op->target && c->n < 8)
		gs_metrics_read(&c->m[c->n++], true);
	if (!strcmp(op->verb->name, "note")) {
		c->attempts_before = alloc_attempts();
		c->restores_before = hvo_restores();
	}
	if (!strcmp(op->verb->name, "convert")) {
		c->attempts_after = alloc_attempts();
		c->restores_after = hvo_restores();
	}
}

/* Run @text (expectations in it must hold) and capture its `metrics` lines. */
static void run_capture(const char *text, struct capture *c)
{
	struct gs_scenario_opts o = {.quiet = true, .on_result = on_result, .on_result_arg = c};
	struct gs_scenario *s = gs_scenario_new(&o);

	memset(c, 0, sizeof(*c));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", text, strlen(text)), GS_EXIT_OK);
	gs_scenario_free(s);
}

/*
 * Four 2 MiB pages: each 512 struct pages (32 KiB) until HVO frees 7 of its
 * 8 vmemmap pages. The pool allocates and optimizes one page at a time, so
 * the peak is 3 optimized pages and one whole: 3 x 4 KiB + 32 KiB.
 */
START_TEST(vmemmap_2m_pool)
{
	struct capture c;

	run_capture("machine mem=1G backing=none\n"
		    "metrics reset\n"
		    "hvo on\n"
		    "hugetlb pool size=2M nr=4\n"
		    "metrics => vmemmap=16384 vmemmap_peak=45056 hvo_saved=114688\n"
		    "hugetlb pool size=2M nr=0\n"
		    "metrics => vmemmap=0 vmemmap_peak=45056 hvo_saved=0\n",
		    &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.m[0].memory_bytes, 4 * 2 * MiB);
	ck_assert_uint_eq(c.m[0].vmemmap_bytes, 4 * 4 * KiB);
	ck_assert_uint_eq(c.m[0].vmemmap_peak_bytes, 3 * 4 * KiB + 32 * KiB);
	ck_assert_uint_eq(c.m[0].hvo_saved_bytes, 4 * 7 * 4 * KiB);
	ck_assert_uint_eq(c.m[0].huge[GS_METRICS_2M].total, 4);
	ck_assert_uint_eq(c.m[0].huge[GS_METRICS_2M].free, 4);
	ck_assert_uint_eq(c.m[1].memory_bytes, 0);
	/* The invariant the counters keep: struct pages in use less what HVO freed. */
	ck_assert_uint_eq(c.m[0].vmemmap_bytes,
			  c.m[0].memory_bytes / 4096 * 64 - c.m[0].hvo_saved_bytes);
}
END_TEST

/*
 * Seed 004: "HVO saves ~1.6% of memory". A 1 GiB-backed guest keeps 1 of
 * 4,096 vmemmap pages: saved 4,095 x 4 KiB of the 16 MiB of struct pages
 * 1 GiB needs, 16,773,120 / 1,073,741,824 = 1.5621% (15,621 ppm). One
 * shared 4 KiB page splits the page and gives the whole figure back.
 */
START_TEST(hvo_figure_1g_guest)
{
	struct capture c;
	uint64_t ppm;

	run_capture("machine mem=4G backing=none\n"
		    "metrics reset\n"
		    "hvo on\n"
		    "hugetlb pool size=1G nr=1\n"
		    "vm s type=tdx conversion=planned\n"
		    "gmem g vm=s size=1G flags=hugetlb page=1G\n"
		    "memslot s slot=0 gpa=0 size=1G gmem=g\n"
		    "falloc g off=0 len=1G\n"
		    "gfault-range s gpa=0 len=1G => 0 faults=1 mapped=1\n"
		    "metrics => leaves_1g=1 leaves_4k=0\n"
		    "convert g off=0x20000000 len=4K to=shared\n"
		    "metrics => splits=1 leaves_4k=262143 leaves_1g=0\n"
		    "convert g off=0x20000000 len=4K to=private\n"
		    "metrics => merges=1 leaves_4k=262143\n",
		    &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.m[0].memory_bytes, GiB);
	ck_assert_uint_eq(c.m[0].hvo_saved_bytes, 4095 * 4 * KiB);
	ck_assert_uint_eq(c.m[0].vmemmap_bytes, 4 * KiB);
	ppm = c.m[0].hvo_saved_bytes * 1000000 / c.m[0].memory_bytes;
	ck_assert_uint_eq(ppm, 15621);
	ck_assert_uint_eq(c.m[0].mapped_bytes[GS_METRICS_LEVEL_1G], GiB);
	ck_assert_uint_eq(c.m[0].huge[GS_METRICS_1G].intact, 1);
	/* Shared: HVO restored, the folio split 18 -> 0, the leaf split to 4 KiB. */
	ck_assert_uint_eq(c.m[1].vmemmap_bytes, 16 * MiB);
	ck_assert_uint_eq(c.m[1].hvo_saved_bytes, 0);
	ck_assert_uint_eq(c.m[1].splits[18], 1);
	ck_assert_uint_eq(c.m[1].split_to[0], 1);
	ck_assert_uint_eq(c.m[1].huge[GS_METRICS_1G].split, 1);
	ck_assert_uint_eq(c.m[1].huge[GS_METRICS_1G].intact, 0);
	ck_assert_uint_eq(c.m[1].mapped_bytes[GS_METRICS_4K], (GiB - 4 * KiB));
	/* Private again: merged, optimized; the leaves stay 4 KiB until refaulted. */
	ck_assert_uint_eq(c.m[2].merges[18], 1);
	ck_assert_uint_eq(c.m[2].vmemmap_bytes, 4 * KiB);
	ck_assert_uint_eq(c.m[2].vmemmap_peak_bytes, 16 * MiB);
	ck_assert_uint_eq(c.m[2].huge[GS_METRICS_1G].intact, 1);
	ck_assert_uint_eq(c.m[2].conv_calls, 2);
}
END_TEST

/*
 * Four 2 MiB pages, one split to 4 KiB with a reference on one piece only:
 * 511 holes in one page waiting, fragmentation 511 / (511 + 3 x 512) of the
 * free memory; the reference dropped, 512; the worker merges it back.
 */
START_TEST(huge_pages_holes_fragmentation)
{
	struct capture c;

	run_capture("machine mem=1G backing=none\n"
		    "metrics reset\n"
		    "hvo on\n"
		    "hugetlb pool size=2M nr=4\n"
		    "hpage a size=2M\n"
		    "metrics\n"
		    "hsplit a order=0\n"
		    "metrics => holes=511 frag_ppm=249633 splits=1\n"
		    "hpage-put a defer\n"
		    "metrics => holes=512 frag_ppm=250000\n"
		    "run-deferred\n"
		    "metrics => holes=0 frag_ppm=0 merges=1\n",
		    &c);
	ck_assert_uint_eq(c.n, 4);
	ck_assert_uint_eq(c.m[0].huge[GS_METRICS_2M].intact, 1);
	ck_assert_uint_eq(c.m[0].huge[GS_METRICS_2M].free, 3);
	ck_assert_uint_eq(c.m[1].huge[GS_METRICS_2M].split, 1);
	ck_assert_uint_eq(c.m[1].huge[GS_METRICS_2M].waiting, 1);
	ck_assert_uint_eq(c.m[1].huge[GS_METRICS_2M].intact, 0);
	ck_assert_uint_eq(c.m[1].huge[GS_METRICS_2M].holes, 511);
	ck_assert_uint_eq(c.m[1].frag_ppm, 511ULL * 1000000 / (511 + 3 * 512));
	ck_assert_uint_eq(c.m[1].splits[9], 1);
	ck_assert_uint_eq(c.m[1].split_to[0], 1);
	/* 7 vmemmap pages restored for the split. */
	ck_assert_uint_eq(c.m[1].vmemmap_bytes, 3 * 4 * KiB + 32 * KiB);
	ck_assert_uint_eq(c.m[2].holes, 512);
	ck_assert_uint_eq(c.m[3].merges[9], 1);
	ck_assert_uint_eq(c.m[3].huge[GS_METRICS_2M].split, 0);
	ck_assert_uint_eq(c.m[3].huge[GS_METRICS_2M].free, 4);
}
END_TEST

/* One failure of each errno a conversion is counted by, and one success. */
START_TEST(conversion_failures_by_errno)
{
	struct capture c;

	run_capture("machine mem=1G backing=none\n"
		    "hvo on\n"
		    "hugetlb pool size=2M nr=1\n"
		    "metrics reset\n"
		    "vm v type=tdx conversion=v8\n"
		    "gmem g vm=v size=2M flags=hugetlb page=2M\n"
		    "convert g off=0 len=4K to=shared => EOPNOTSUPP\n"
		    "convert g off=1 len=4K to=shared => EINVAL\n"
		    "close g\n"
		    "vm s type=tdx conversion=planned\n"
		    "gmem h vm=s size=2M flags=hugetlb page=2M\n"
		    "falloc h off=0 len=2M\n"
		    "inject site=hvo.restore nth=1\n"
		    "convert h off=0 len=4K to=shared => ENOMEM\n"
		    "gmem k vm=s size=1M flags=mmap\n"
		    "falloc k off=0 len=1M\n"
		    "convert k off=0 len=4K to=shared\n"
		    "mmap k\n"
		    "pin k off=0\n"
		    "convert k off=0 len=4K to=private => EAGAIN\n"
		    "unpin k off=0\n"
		    "munmap k\n"
		    "metrics => conv_calls=5 conv_failed=4\n",
		    &c);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.m[0].conv_calls, 5);
	ck_assert_uint_eq(c.m[0].conv_failures[GS_METRICS_EOPNOTSUPP], 1);
	ck_assert_uint_eq(c.m[0].conv_failures[GS_METRICS_EINVAL], 1);
	ck_assert_uint_eq(c.m[0].conv_failures[GS_METRICS_ENOMEM], 1);
	ck_assert_uint_eq(c.m[0].conv_failures[GS_METRICS_EAGAIN], 1);
	ck_assert_uint_eq(c.m[0].conv_failures[GS_METRICS_EOTHER], 0);
	ck_assert_str_eq(gs_metrics_errno_name(GS_METRICS_EAGAIN), "EAGAIN");
	ck_assert_str_eq(gs_metrics_errno_name(GS_METRICS_ERRNOS), "?");
}
END_TEST

/*
 * Allocations under the conversion lock: none outside a conversion (the
 * pool, fallocate and the fault count nothing); inside, exactly the attempts
 * every site saw during the call, the 7 vmemmap pages a 2 MiB split
 * restores among them.
 */
START_TEST(allocations_under_conversion_lock)
{
	struct capture c;

	run_capture("machine mem=1G backing=none\n"
		    "hvo on\n"
		    "hugetlb pool size=2M nr=1\n"
		    "metrics reset\n"
		    "vm s type=tdx conversion=planned\n"
		    "gmem h vm=s size=2M flags=hugetlb page=2M\n"
		    "memslot s slot=0 gpa=0 size=2M gmem=h\n"
		    "falloc h off=0 len=2M\n"
		    "gfault s gpa=0 private=1\n"
		    "metrics => conv_allocs=0\n"
		    "note the conversion\n"
		    "convert h off=0 len=4K to=shared\n"
		    "metrics\n",
		    &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.m[0].conv_allocs, 0);
	ck_assert_uint_eq(c.m[1].conv_allocs, c.attempts_after - c.attempts_before);
	ck_assert_uint_ge(c.m[1].conv_allocs, 7 + 1);
	ck_assert_uint_eq(c.restores_after - c.restores_before, 7);
}
END_TEST

/* A reset zeroes the events; the peak restarts from the vmemmap resident now. */
START_TEST(reset_restarts_peak)
{
	struct gs_metrics m;

	gs_metrics_reset();
	gs_metrics_read(&m, false);
	ck_assert_uint_eq(m.vmemmap_peak_bytes, m.vmemmap_bytes);
	ck_assert_uint_eq(m.conv_calls, 0);
	for (unsigned int o = 0; o < GS_METRICS_ORDERS; o++)
		ck_assert_uint_eq(m.splits[o] + m.merges[o], 0);
	ck_assert_uint_eq(m.holes, 0);
}
END_TEST

/* 4 MiB of 2 MiB pages is two faults; 64 KiB of 4 KiB pages sixteen; the edges are checked. */
START_TEST(gfault_range_verb)
{
	struct capture c;
	struct gs_scenario *s;
	static const char outside[] = "machine mem=1G backing=none\n"
				      "vm s type=tdx\n"
				      "gmem g vm=s size=1M\n"
				      "memslot s slot=0 gpa=0 size=1M gmem=g\n"
				      "gfault-range s gpa=0 len=2M\n";
	static const char *const hostile[] = {
		"gfault-range s gpa=0x1000 len=0xfffffffffffff000",
		"gfault-range s gpa=0xfffffffffffff000 len=4K",
		"gfault-range s gpa=0x800 len=4K",
		"gfault-range s gpa=0 len=0",
	};

	run_capture("machine mem=1G backing=none\n"
		    "hvo on\n"
		    "hugetlb pool size=2M nr=2\n"
		    "vm s type=tdx\n"
		    "gmem g vm=s size=4M flags=hugetlb page=2M\n"
		    "memslot s slot=0 gpa=0 size=4M gmem=g\n"
		    "gfault-range s gpa=0 len=4M => 0 faults=2 mapped=2\n"
		    "gfault-range s gpa=0 len=4M => 0 faults=0 mapped=0\n"
		    "vm t type=tdx\n"
		    "gmem k vm=t size=1M\n"
		    "memslot t slot=0 gpa=0 size=1M gmem=k\n"
		    "gfault-range t gpa=0x10000 len=64K => 0 faults=16 mapped=16\n"
		    "metrics => leaves_2m=2 leaves_4k=16\n",
		    &c);
	ck_assert_uint_eq(c.m[0].mapped_bytes[GS_METRICS_LEVEL_2M], 4 * MiB);
	s = gs_scenario_new(&(struct gs_scenario_opts){.quiet = true, .err = stdout});
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", outside, strlen(outside)),
			 GS_EXIT_SYNTAX);
	gs_scenario_free(s);
	/* Hostile numbers: a range that wraps, unaligned, empty: each refused before any fault. */
	for (unsigned int i = 0; i < G_N_ELEMENTS(hostile); i++) {
		gchar *text = g_strdup_printf("vm s type=tdx\ngmem g vm=s size=1M\n"
					      "memslot s slot=0 gpa=0 size=1M gmem=g\n%s\n",
					      hostile[i]);

		s = gs_scenario_new(&(struct gs_scenario_opts){.quiet = true, .err = stdout});
		ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", text, strlen(text)),
				 GS_EXIT_SYNTAX);
		gs_scenario_free(s);
		g_free(text);
	}
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, vmemmap_2m_pool);
	tcase_add_test(tc, hvo_figure_1g_guest);
	tcase_add_test(tc, huge_pages_holes_fragmentation);
	tcase_add_test(tc, conversion_failures_by_errno);
	tcase_add_test(tc, allocations_under_conversion_lock);
	tcase_add_test(tc, reset_restarts_peak);
	tcase_add_test(tc, gfault_range_verb);
	suite_add_tcase(s, tc);
	return s;
}
