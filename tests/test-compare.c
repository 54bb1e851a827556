// SPDX-License-Identifier: MIT
/*
 * Tests of the workload generators and `compare` (lib/scenario/workload.c,
 * compare.c): the same guest for every strategy, hostile sizes refused
 * before anything is allocated, runs repeated bit for bit, the table's
 * figures equal to the counters the workload's last line reads, and a
 * self-contained SVG.
 */
#include <stdlib.h>
#include <string.h>
#include <gmemsim/compare.h>
#include <gmemsim/scenario.h>
#include "harness.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* The lines a guest asks for: conversions, punches and faults (the prelude aside). */
static char *guest_lines(const char *text)
{
	const char *p = strstr(text, "note booted");
	char *out;

	ck_assert_ptr_nonnull(p);
	out = strdup(p);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(same_guest_for_every_strategy)
{
	static const char *const strategies[] = {"v8", "wip", "rfc-v2"};
	struct gs_workload_params p = {.size = 64 * MiB, .seed = 7, .strategy = "planned"};
	const char *err = NULL;

	for (unsigned int w = 0; gs_workload_nth(w); w++) {
		char *ref, *text, *a, *b;

		p.name = gs_workload_nth(w);
		p.size = !strcmp(p.name, "1g-few-shared") ? 2 * GiB : 64 * MiB;
		p.strategy = "planned";
		ck_assert_int_eq(gs_workload_text(&p, &ref, &err), 0);
		a = guest_lines(ref);
		for (unsigned int s = 0; s < 3; s++) {
			p.strategy = strategies[s];
			ck_assert_int_eq(gs_workload_text(&p, &text, &err), 0);
			b = guest_lines(text);
			ck_assert_str_eq(a, b);
			ck_assert_ptr_nonnull(strstr(text, strategies[s]));
			free(b);
			free(text);
		}
		free(a);
		free(ref);
	}
	/* Another seed, another guest. */
	p.name = "tdx-boot";
	p.size = 64 * MiB;
	{
		char *t7, *t8, *a, *b;

		ck_assert_int_eq(gs_workload_text(&p, &t7, &err), 0);
		p.seed = 8;
		ck_assert_int_eq(gs_workload_text(&p, &t8, &err), 0);
		a = guest_lines(t7);
		b = guest_lines(t8);
		ck_assert_str_ne(a, b);
		free(a);
		free(b);
		free(t7);
		free(t8);
	}
}
END_TEST

START_TEST(hostile_sizes_refused)
{
	struct gs_workload_params p = {.name = "tdx-boot", .strategy = "planned"};
	struct gs_compare_run *run = malloc(sizeof(*run));
	const char *err = NULL;
	char *text = NULL;

	ck_assert_ptr_nonnull(run);
	p.size = 0;
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	p.size = 3 * MiB;
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	ck_assert_str_eq(err, "the size must be a nonzero multiple of 2M");
	p.size = 4ULL << 40;
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	ck_assert_str_eq(err, "the size is more than the simulated machine holds (2T)");
	p.size = UINT64_MAX & ~(2 * MiB - 1);
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	p.name = "1g-few-shared";
	p.size = 512 * MiB;
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	p.name = "no-such";
	p.size = 64 * MiB;
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	p.name = "tdx-boot";
	p.strategy = "no-such";
	ck_assert_int_eq(gs_workload_text(&p, &text, &err), -EINVAL);
	ck_assert_ptr_null(text);
	/* 64 GiB of 4 KiB pages is over the default host budget: not run, nothing allocated. */
	p.strategy = "v8";
	p.size = 64 * GiB;
	ck_assert_uint_gt(gs_workload_host_bytes(&p), GS_COMPARE_DEFAULT_HOST_BUDGET);
	ck_assert_int_eq(gs_compare_run(&p, GS_COMPARE_DEFAULT_HOST_BUDGET, run), -E2BIG);
	ck_assert_ptr_nonnull(strstr(run->why, "host memory"));
	ck_assert_uint_eq(run->ops, 0);
	/* The same guest on 2 MiB HugeTLB pages fits. */
	p.strategy = "planned";
	ck_assert_uint_lt(gs_workload_host_bytes(&p), GS_COMPARE_DEFAULT_HOST_BUDGET);
	free(run);
}
END_TEST

/* The metrics at the workload's `metrics` line, when the text runs on its own. */
static void on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	(void)res;
	if (!strcmp(op->verb->name, "metrics"))
		gs_metrics_read(arg, true);
}

START_TEST(runs_repeat_and_match_the_counters)
{
	static const char *const strategies[] = {"v8", "wip", "planned", "rfc-v2"};
	struct gs_compare_run *a = calloc(4, sizeof(*a)), *b = malloc(sizeof(*b));
	struct gs_workload_params p = {.name = "churn", .size = 32 * MiB, .seed = 3};

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (unsigned int i = 0; i < 4; i++) {
		struct gs_metrics direct;
		struct gs_scenario_opts o = {
			.quiet = true, .on_result = on_result, .on_result_arg = &direct};
		struct gs_scenario *s;
		const char *err;
		char *text;

		p.strategy = strategies[i];
		ck_assert_int_eq(gs_compare_run(&p, GS_COMPARE_DEFAULT_HOST_BUDGET, &a[i]), 0);
		ck_assert_int_eq(gs_compare_run(&p, GS_COMPARE_DEFAULT_HOST_BUDGET, b), 0);
		ck_assert_int_eq(memcmp(&a[i], b, sizeof(*b)), 0);
		ck_assert_uint_gt(a[i].ops, 100);
		ck_assert_uint_gt(a[i].nr_samples, 0);
		/* The text run alone reads the same figures at its last line. */
		ck_assert_int_eq(gs_workload_text(&p, &text, &err), 0);
		s = gs_scenario_new(&o);
		gs_metrics_reset();
		ck_assert_int_eq(gs_scenario_run_buffer(s, "w.gms", text, strlen(text)),
				 GS_EXIT_OK);
		gs_scenario_free(s);
		free(text);
		ck_assert_int_eq(memcmp(&direct, &a[i].final, sizeof(direct)), 0);
	}
	/* 32 rounds convert 4 pages each way: 256 conversions, none failing. */
	ck_assert_uint_eq(a[2].final.conv_calls, 256);
	ck_assert_uint_eq(a[0].final.huge[GS_METRICS_2M].total, 0);
	ck_assert_uint_eq(a[0].final.leaves[GS_METRICS_4K], 32 * MiB / 4096);
	ck_assert_uint_eq(a[2].final.huge[GS_METRICS_2M].total, 16);
	ck_assert_uint_eq(a[2].final.vmemmap_bytes, 16 * 4096);
	free(a);
	free(b);
}
END_TEST

static char *table_text(const struct gs_compare_run *runs, unsigned int n)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	gs_compare_print_table(f, runs, n);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

START_TEST(table_and_svg)
{
	struct gs_compare_run *runs = calloc(2, sizeof(*runs));
	struct gs_workload_params p = {.name = "tdx-boot", .size = 64 * MiB, .seed = 1};
	char line[128], *table, *svg;
	size_t len;
	FILE *f;

	ck_assert_ptr_nonnull(runs);
	p.strategy = "planned";
	ck_assert_int_eq(gs_compare_run(&p, GS_COMPARE_DEFAULT_HOST_BUDGET, &runs[0]), 0);
	p.strategy = "v8";
	ck_assert_int_eq(gs_compare_run(&p, 1, &runs[1]), -E2BIG);
	table = table_text(runs, 2);
	snprintf(line, sizeof(line), "%-24s %14llu %14s\n", "vmemmap final KiB",
		 (unsigned long long)runs[0].final.vmemmap_bytes >> 10, "-");
	ck_assert_msg(strstr(table, line), "no '%s' in\n%s", line, table);
	snprintf(line, sizeof(line), "%-24s %14lu", "conversions", runs[0].final.conv_calls);
	ck_assert_msg(strstr(table, line), "no '%s' in\n%s", line, table);
	ck_assert_ptr_nonnull(strstr(table, "v8: not run: needs ~"));
	free(table);
	f = open_memstream(&svg, &len);
	ck_assert_int_eq(gs_compare_write_svg(f, "t", runs, 2), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(strncmp(svg, "<?xml", 5), 0);
	ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
	ck_assert_ptr_nonnull(strstr(svg, "<polyline"));
	ck_assert_ptr_null(strstr(svg, "href"));
	ck_assert_ptr_null(strstr(svg, "<script"));
	ck_assert_ptr_null(strstr(svg, "url("));
	free(svg);
	free(runs);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("compare");
	TCase *tc = tcase_create("compare");

	tcase_add_test(tc, same_guest_for_every_strategy);
	tcase_add_test(tc, hostile_sizes_refused);
	tcase_add_test(tc, runs_repeat_and_match_the_counters);
	tcase_add_test(tc, table_and_svg);
	suite_add_tcase(s, tc);
	return s;
}
