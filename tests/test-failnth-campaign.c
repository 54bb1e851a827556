// SPDX-License-Identifier: MIT
/*
 * The fail-nth campaign of issue 12 (docs/TESTING.md, "The fail-nth
 * campaign"): every scenario of tests/scenarios and a fixed sample of
 * 64-operation sequences the structured fuzzer generates (seeded bytes
 * through gs_fuzz_decode()) through the scenario fail-nth runner with the
 * per-page oracle, each chosen allocation failed transiently and
 * persistently. Every finding must be one the campaign lists as known (and
 * each listed one must still be found, so the list cannot go stale); the
 * injection points covered per site are printed (as `gmemsim sites
 * --coverage` does) and every site a scenario reaches must be injected.
 * Suite failnth-campaign, not unit: it forks a child per injection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/inject.h>
#include <gmemsim/rng.h>
#include <gmemsim/scenario.h>
#include <gmemsim/sites.h>
#include "harness.h"

/* Injections per line before the runner samples: keeps the campaign under a minute. */
#define CAMPAIGN_MAX 4
/*
 * The random part: how many fuzzer inputs, of how many operations, sampled
 * how densely. 96 take about 24 s of CPU in the default build.
 */
#define CAMPAIGN_SEQS	  96
#define CAMPAIGN_OPS	  64
#define CAMPAIGN_SEQ_MAX  4
#define CAMPAIGN_SEQ_SEED 12

/*
 * Scenarios run without the oracle: its comparison parses the file's
 * records on every state dump, and a 1 GiB file split into 262,144 pieces
 * makes that 28 s of CPU at one injection per line (docs/ORACLE.md, Cost).
 * They still run transient and persistent, at one injection per line.
 */
static const char *const no_oracle[] = {"convert-hugetlb-1g.gms",
					"restructure-merge-shrunk-tree.gms", NULL};

/* The slowest files (1 GiB snapshots), a test of their own so the parts run in parallel. */
static const char *const heavy[] = {"convert-hugetlb-1g.gms", "truncate-hugetlb-close.gms",
				    "restructure-merge-shrunk-tree.gms",
				    "convert-hugetlb-optimized.gms", NULL};

/*
 * Known findings: a finding line (file:line: verb nth=N[ persistent] (site
 * S, ...): what) of the campaign's @part ("scenarios" or "random") that
 * contains every one of @needles. Each must still be found by its part.
 */
struct known {
	const char *part;
	const char *what;
	const char *needles[4]; /* NULL-terminated */
	unsigned int seen;
};

/*
 * The finding the campaign started with (a gfault's stage-2 store
 * allocating after kvm_gmem_get_pfn() added the folio) is fixed by the
 * fault's top-up (test-kvm's test_fi_gfault_no_folio_left), and the one the
 * fuzzer's sequences found next (a host fault's PTE store after the folio,
 * a HugeTLB folio split for a shared page) by the host fault's.
 */
static struct known known[] = {
	{NULL, NULL, {NULL}, 0},
};

static struct gs_fail_nth_coverage coverage;

static bool listed(const char *const *list, const char *name)
{
	for (unsigned int i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* The part of the campaign a scenario belongs to. */
static const char *part_of(const char *name)
{
	return g_str_has_prefix(name, "random-") ? "random" : "scenarios";
}

/* A finding line is known when one entry of its part has all its needles in it. */
static bool is_known(const char *line, const char *part)
{
	for (unsigned int k = 0; known[k].what; k++) {
		bool all = !strcmp(known[k].part, part);

		for (unsigned int j = 0; all && known[k].needles[j]; j++)
			all &= strstr(line, known[k].needles[j]) != NULL;
		if (all) {
			known[k].seen++;
			return true;
		}
	}
	return false;
}

/* Every known finding of @part was found again (a fixed one must leave the list). */
static void assert_known_found(const char *part)
{
	for (unsigned int k = 0; known[k].what; k++)
		ck_assert_msg(strcmp(known[k].part, part) || known[k].seen,
			      "known finding no longer found (fixed? update the "
			      "list and docs/TESTING.md): %s",
			      known[k].what);
}

/*
 * Run the campaign over one scenario text: both modes, the oracle unless
 * @oracle is false. Every finding must be known. Returns the injections.
 */
static unsigned long campaign_one(const char *name, const char *text, size_t len, unsigned int max,
				  bool oracle)
{
	FILE *err = tmpfile();
	struct gs_scenario_opts opts = {.quiet = true, .oracle = oracle};
	struct gs_fail_nth_opts fo = {
		.max = max,
		.out = stdout,
		.mode = GS_FAIL_NTH_BOTH,
		.coverage = &coverage,
	};
	struct gs_fail_nth_stats st;
	unsigned long unknown = 0, found = 0;
	gchar **lines;
	char *log;
	int status;

	ck_assert_ptr_nonnull(err);
	fo.err = err;
	fflush(stdout);
	status = gs_scenario_fail_nth_buffer(&opts, &fo, name, text, len, &st);
	log = gs_test_slurp(err);
	lines = g_strsplit(log, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		/* A finding of an injection: "file:line: verb nth=N ..." (diffs are indented). */
		if (!g_regex_match_simple("^[^ ]+:[0-9]+: [^ ]+ nth=[0-9]+", lines[i], 0, 0) ||
		    !g_str_has_prefix(lines[i], name))
			continue;
		found++;
		unknown += !is_known(lines[i], part_of(name));
	}
	g_strfreev(lines);
	ck_assert_msg(status == GS_EXIT_OK || status == GS_EXIT_FAIL, "%s: status %d\n%s", name,
		      status, log);
	/* Every finding printed one such line; none is outside the known list. */
	if (found != st.findings || unknown)
		printf("%s", log);
	ck_assert_msg(found == st.findings && !unknown,
		      "%s: %lu findings, %lu of %lu injection findings unknown (log above)", name,
		      st.findings, unknown, found);
	ck_assert_msg(st.persistent * 2 == st.injections, "%s: %lu of %lu persistent", name,
		      st.persistent, st.injections);
	g_free(log);
	return st.injections;
}

static char *read_scenario(const char *file, gsize *len)
{
	gchar *path = g_strdup_printf("%s/scenarios/%s", gs_test_srcdir(), file);
	gchar *text = NULL;
	GError *gerr = NULL;

	ck_assert_msg(g_file_get_contents(path, &text, len, &gerr), "%s: %s", path,
		      gerr ? gerr->message : "?");
	g_free(path);
	return text;
}

/* What every campaign part ends with: the coverage, and the known findings still found. */
static void report(const char *part, unsigned long injections, gint64 t0)
{
	printf("campaign %s: %u scenarios, %lu injections, %.1f s\n", part, coverage.files,
	       injections, (double)(g_get_monotonic_time() - t0) / 1e6);
	gs_fail_nth_coverage_print(stdout, &coverage);
	fflush(stdout);
}

/*
 * The files the scenario suite lists (GS_CAMPAIGN_FILES, from
 * tests/scenarios/meson.build): the heavy ones or all the others.
 * Return: how many ran; *injections gets their injections.
 */
static unsigned int run_files(bool heavy_part, unsigned long *injections)
{
	const char *env = getenv("GS_CAMPAIGN_FILES");
	gchar **files;
	unsigned int ran = 0;

	*injections = 0;
	if (!env || !*env) {
		printf("GS_CAMPAIGN_FILES is not set (meson sets it): nothing to run\n");
		return 0;
	}
	files = g_strsplit(env, " ", -1);
	for (guint i = 0; files[i]; i++) {
		gsize len = 0;
		bool oracle = !listed(no_oracle, files[i]);
		char *text;

		if (listed(heavy, files[i]) != heavy_part)
			continue;
		text = read_scenario(files[i], &len);
		if (!oracle)
			printf("%s: without the oracle (its compare of a 1 GiB split file costs "
			       "minutes), at 1 injection per line\n",
			       files[i]);
		*injections += campaign_one(files[i], text, len, oracle ? CAMPAIGN_MAX : 1, oracle);
		ran++;
		g_free(text);
	}
	g_strfreev(files);
	return ran;
}

/* Every scenario but the heavy ones: each site reached and injected, the known findings found. */
START_TEST(test_scenarios)
{
	unsigned long injections;
	gint64 t0 = g_get_monotonic_time();
	unsigned int ran = run_files(false, &injections);

	if (!ran)
		return;
	ck_assert_uint_eq(coverage.files, ran);
	report("scenarios", injections, t0);
	for (unsigned int k = 0; k < gs_site_count(); k++) {
		const struct gs_fail_nth_site_cov *sc = &coverage.site[k];

		/* uapi.files: the simulated process exists before the first line. */
		if (!sc->queries) {
			ck_assert_msg(!strcmp(gs_site_name(k), "uapi.files"),
				      "no scenario line reaches %s", gs_site_name(k));
			continue;
		}
		ck_assert_msg(sc->points > 0 && sc->points <= sc->queries,
			      "%s: %lu of %lu points injected", gs_site_name(k), sc->points,
			      sc->queries);
		ck_assert_uint_ge(sc->injected, sc->points);
	}
	assert_known_found("scenarios");
}
END_TEST

/* The heavy scenarios: nothing but known findings. */
START_TEST(test_heavy)
{
	unsigned long injections;
	gint64 t0 = g_get_monotonic_time();
	unsigned int ran = run_files(true, &injections);

	if (!ran)
		return;
	ck_assert_uint_eq(ran, g_strv_length((gchar **)heavy));
	ck_assert_uint_gt(injections, 0);
	report("heavy", injections, t0);
}
END_TEST

/* --- random sequences: the structured fuzzer's --- */

static unsigned int count_lines(const char *text)
{
	unsigned int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* The sample's backings and orderings, in turn: 4 KiB and 2 MiB (1 GiB costs minutes). */
static const int seq_backing[] = {GS_FUZZ_4K, GS_FUZZ_2M};
static const char *const backing_names[] = {"4K", "2M", "1G"};
static const char *const ordering_names[] = {"planned", "v8", "wip", "rfc-v2"};

/*
 * THE GENERATOR: sequence @i of the campaign, deterministic given @seed:
 * a byte string from the seeded generator, as `gmemsim fuzz` makes its
 * inputs, decoded by the structured fuzzer's decoder (docs/FUZZING.md), so
 * the sample is fuzzer-generated sequences. The header's backing and
 * ordering are set so the sample covers every pair. The text starts with
 * `strict off` and carries no expectations (campaign_expect() adds them).
 */
static GString *campaign_sequence(uint64_t seed, unsigned int i)
{
	const struct gs_fuzz_decode_opts o = {.max_ops = CAMPAIGN_OPS};
	uint8_t buf[GS_FUZZ_HEADER + CAMPAIGN_OPS * GS_FUZZ_OP_SIZE];
	int backing = seq_backing[i % G_N_ELEMENTS(seq_backing)];
	int ordering = (int)(i / G_N_ELEMENTS(seq_backing) % GS_FUZZ_NR_ORDERINGS);
	struct gs_rng rng;
	GString *t;
	char *text;

	gs_rng_seed(&rng, seed * 1000003u + i);
	for (size_t k = 0; k < sizeof(buf); k += 8) {
		uint64_t r = gs_rng_next(&rng);

		memcpy(buf + k, &r, MIN(sizeof(r), sizeof(buf) - k));
	}
	gs_fuzz_header_set(buf, backing, ordering);
	text = gs_fuzz_decode(buf, sizeof(buf), &o);
	ck_assert_ptr_nonnull(text);
	t = g_string_new(text);
	free(text);
	printf("random-%u.gms: fuzz input %zu bytes from seed %" PRIu64 "*1000003+%u, %s, %s, "
	       "%u lines, text hash %08x\n",
	       i, sizeof(buf), seed, i, backing_names[backing], ordering_names[ordering],
	       count_lines(t->str), g_str_hash(t->str));
	return t;
}

/* The class of each line's answer in a plain run, by line number. */
struct answers {
	GPtrArray *by_line; /* char *, index = line */
};

static void record_answer(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct answers *a = arg;
	char *cls;

	if (res->skipped)
		return;
	if (res->sig)
		cls = g_strdup_printf("SIG%s", sigabbrev_np(res->sig));
	else if (res->ret < 0)
		cls = g_strdup(gs_errno_name((int)-res->ret));
	else
		cls = g_strdup_printf("%lld", res->ret);
	if (a->by_line->len <= op->line)
		g_ptr_array_set_size(a->by_line, op->line + 1);
	g_free(g_ptr_array_index(a->by_line, op->line));
	g_ptr_array_index(a->by_line, op->line) = cls;
}

/*
 * The sequence with each line's answer as its expectation, from a plain
 * run with the oracle on (which must agree with every answer): the clean
 * run of the fail-nth runner must then pass, and each retry after an
 * injected failure must give the same answer again.
 */
static GString *campaign_expect(const GString *seq, unsigned int i)
{
	struct answers a = {.by_line = g_ptr_array_new_with_free_func(g_free)};
	FILE *err = tmpfile();
	struct gs_scenario_opts opts = {
		.quiet = true,
		.keep_going = true,
		.oracle = true,
		.on_result = record_answer,
		.on_result_arg = &a,
	};
	struct gs_scenario *sc;
	gchar **lines = g_strsplit(seq->str, "\n", -1);
	GString *out = g_string_new(NULL);
	char *log;

	ck_assert_ptr_nonnull(err);
	opts.err = err;
	sc = gs_scenario_new(&opts);
	gs_scenario_run_buffer(sc, "seq.gms", seq->str, seq->len);
	gs_scenario_free(sc);
	log = gs_test_slurp(err);
	ck_assert_msg(!strstr(log, "check oracle:"), "sequence %u:\n%s\n%s", i, log, seq->str);
	g_free(log);
	for (guint n = 0; lines[n]; n++) {
		const char *cls =
			n + 1 < a.by_line->len ? g_ptr_array_index(a.by_line, n + 1) : NULL;

		if (!*lines[n])
			continue;
		g_string_append(out, lines[n]);
		/* The decoder's own expectations (`check => 0`) stay as they are. */
		if (cls && !strstr(lines[n], "=>"))
			g_string_append_printf(out, " => %s", cls);
		g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	g_ptr_array_free(a.by_line, TRUE);
	return out;
}

START_TEST(test_random)
{
	unsigned long injections = 0;
	gint64 t0 = g_get_monotonic_time();
	unsigned int errors = 0;

	for (unsigned int i = 0; i < CAMPAIGN_SEQS; i++) {
		GString *seq = campaign_sequence(CAMPAIGN_SEQ_SEED, i);
		GString *t = campaign_expect(seq, i);
		gchar *name = g_strdup_printf("random-%u.gms", i);
		const char *dir = getenv("GS_CAMPAIGN_SAVE");

		/* To replay one: GS_CAMPAIGN_SAVE=DIR, then gmemsim run --fail-nth DIR/random-N.gms. */
		if (dir) {
			gchar *path = g_build_filename(dir, name, NULL);

			ck_assert(g_file_set_contents(path, t->str, (gssize)t->len, NULL));
			g_free(path);
		}
		/* The sequences reach failing answers too (EAGAIN, EINVAL, SIGBUS, ...). */
		errors += strstr(t->str, "=> E") || strstr(t->str, "=> SIG");
		injections += campaign_one(name, t->str, t->len, CAMPAIGN_SEQ_MAX, true);
		g_free(name);
		g_string_free(t, TRUE);
		g_string_free(seq, TRUE);
	}
	ck_assert_uint_gt(errors, 0);
	ck_assert_uint_gt(injections, CAMPAIGN_SEQS * CAMPAIGN_OPS);
	report("random", injections, t0);
	assert_known_found("random");
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("failnth-campaign");
	TCase *sc = tcase_create("scenarios");
	TCase *rnd = tcase_create("random");
	TCase *hv = tcase_create("heavy");

	tcase_add_test(sc, test_scenarios);
	suite_add_tcase(s, sc);
	tcase_add_test(hv, test_heavy);
	suite_add_tcase(s, hv);
	tcase_add_test(rnd, test_random);
	suite_add_tcase(s, rnd);
	return s;
}
