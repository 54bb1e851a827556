// SPDX-License-Identifier: MIT
/*
 * The fail-nth campaign of issue 12 (docs/TESTING.md, "The fail-nth
 * campaign"): every scenario of tests/scenarios and a fixed sample of random
 * 64-operation sequences through the scenario fail-nth runner with the
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
#include <gmemsim/inject.h>
#include <gmemsim/scenario.h>
#include <gmemsim/sites.h>
#include "harness.h"

/* Injections per line before the runner samples: keeps the campaign under a minute. */
#define CAMPAIGN_MAX 4
/* The random part: how many sequences, of how many operations, sampled how densely. */
#define CAMPAIGN_SEQS	  12
#define CAMPAIGN_OPS	  64
#define CAMPAIGN_SEQ_MAX  4
#define CAMPAIGN_SEQ_SEED 12

/*
 * Scenarios run without the oracle: its comparison parses the file's
 * records on every state dump, and a 1 GiB file split into 262,144 pieces
 * makes that 28 s of CPU at one injection per line (docs/ORACLE.md, Cost).
 * They still run transient and persistent, at one injection per line.
 */
static const char *const no_oracle[] = {"convert-hugetlb-1g.gms", NULL};

/* The slowest files (1 GiB snapshots), a test of their own so the parts run in parallel. */
static const char *const heavy[] = {"convert-hugetlb-1g.gms", "truncate-hugetlb-close.gms", NULL};

/*
 * Known findings: a finding line (file:line: verb nth=N[ persistent] (site
 * S, ...): what) that contains every one of @needles. Each must be found.
 */
struct known {
	const char *what;
	const char *needles[3];
	unsigned int seen;
};

static struct known known[] = {
	{
		/*
		 * kvm_tdp_page_fault() allocates its stage-2 XArray nodes after
		 * kvm_gmem_get_pfn() added the folio to the page cache; the kernel
		 * tops up its MMU caches before the pfn, so a persistent ENOMEM
		 * there leaves a folio the kernel would not have allocated.
		 */
		"gfault: the stage-2 store fails after get_pfn allocated the folio",
		{" gfault nth=", " persistent (site xarray.node,", NULL},
	},
};

static struct gs_fail_nth_coverage coverage;

static bool listed(const char *const *list, const char *name)
{
	for (unsigned int i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* A finding line is known when one entry's needles are all in it. */
static bool is_known(const char *line)
{
	for (unsigned int k = 0; k < G_N_ELEMENTS(known); k++) {
		bool all = true;

		for (unsigned int j = 0; known[k].needles[j]; j++)
			all &= strstr(line, known[k].needles[j]) != NULL;
		if (all) {
			known[k].seen++;
			return true;
		}
	}
	return false;
}

/* The text the children wrote to @f. */
static char *slurp(FILE *f)
{
	long len;
	char *buf;

	fflush(f);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	buf = g_malloc0((gsize)len + 1);
	rewind(f);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	return buf;
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
	log = slurp(err);
	fclose(err);
	lines = g_strsplit(log, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		/* A finding of an injection: "file:line: verb nth=N ..." (diffs are indented). */
		if (!g_regex_match_simple("^[^ ]+:[0-9]+: [^ ]+ nth=[0-9]+", lines[i], 0, 0) ||
		    !g_str_has_prefix(lines[i], name))
			continue;
		found++;
		unknown += !is_known(lines[i]);
	}
	g_strfreev(lines);
	ck_assert_msg(status == GS_EXIT_OK || status == GS_EXIT_FAIL, "%s: status %d\n%s", name,
		      status, log);
	/* Every finding printed one such line; none is outside the known list. */
	ck_assert_msg(found == st.findings && !unknown,
		      "%s: %lu findings, %lu of %lu injection findings unknown:\n%s", name,
		      st.findings, unknown, found, log);
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
	for (unsigned int k = 0; k < G_N_ELEMENTS(known); k++)
		ck_assert_msg(known[k].seen,
			      "known finding no longer found (fixed? update the "
			      "list and docs/TESTING.md): %s",
			      known[k].what);
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

/* --- random sequences --- */

#define P 4096ULL

/* One random operation over the 64 KiB file g and the 4 MiB HugeTLB file h (2 MiB pages). */
static void random_op(GString *t, GRand *r, bool *pinned, bool *mapped)
{
	static const char *const verbs[] = {"convert", "convert", "punch",  "falloc", "read",
					    "write",   "fault",	  "pin",    "unpin",  "gfault",
					    "getpfn",  "poison",  "munmap", "mmap"};
	const char *v = verbs[g_rand_int_range(r, 0, G_N_ELEMENTS(verbs))];
	bool huge = g_rand_int_range(r, 0, 4) == 0;
	const char *f = huge ? "h" : "g";
	uint64_t unit = huge && g_rand_boolean(r) ? 2 << 20 : P;
	uint64_t limit = huge ? 4 << 20 : 16 * P;
	uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)(limit / unit)) * unit;
	uint64_t len = (uint64_t)g_rand_int_range(r, 1, 4) * unit;
	unsigned int pg = (unsigned int)(off / P) % 16;
	bool *m = &mapped[huge];

	/* Host accesses need the mapping: without it they are not operations but usage errors. */
	if (!*m && (!strcmp(v, "read") || !strcmp(v, "write") || !strcmp(v, "fault") ||
		    !strcmp(v, "pin") || !strcmp(v, "munmap")))
		v = "mmap";
	else if (*m && !strcmp(v, "mmap"))
		v = "munmap";

	if (!strcmp(v, "convert"))
		g_string_append_printf(t, "convert %s off=%#" PRIx64 " len=%#" PRIx64 " to=%s\n", f,
				       off, len, g_rand_boolean(r) ? "private" : "shared");
	else if (!strcmp(v, "punch") || !strcmp(v, "falloc"))
		g_string_append_printf(t, "%s %s off=%#" PRIx64 " len=%#" PRIx64 "\n", v, f, off,
				       len);
	else if (!strcmp(v, "read") || !strcmp(v, "write"))
		g_string_append_printf(t, "%s %s off=%#" PRIx64 " len=%#" PRIx64 " byte=%d\n", v, f,
				       off + (uint64_t)g_rand_int_range(r, 0, 64), len,
				       g_rand_int_range(r, 0, 4));
	else if (!strcmp(v, "fault") || !strcmp(v, "getpfn"))
		g_string_append_printf(t, "%s %s off=%#" PRIx64 "\n", v, f, off);
	else if (!strcmp(v, "pin") && !huge && !pinned[pg])
		pinned[pg] = true, g_string_append_printf(t, "pin g off=%#x\n", pg * 4096);
	else if (!strcmp(v, "unpin") && !huge && pinned[pg])
		pinned[pg] = false, g_string_append_printf(t, "unpin g off=%#x\n", pg * 4096);
	else if (!strcmp(v, "poison") && !huge && g_rand_int_range(r, 0, 4) == 0)
		g_string_append_printf(t, "poison g off=%#" PRIx64 "\n", off);
	else if (!strcmp(v, "gfault"))
		g_string_append_printf(t, "gfault s gpa=%#" PRIx64 "%s\n",
				       (huge ? (uint64_t)8 << 30 : (uint64_t)4 << 30) + off,
				       g_rand_boolean(r) ? " private=1" : "");
	else if (!strcmp(v, "munmap") || !strcmp(v, "mmap"))
		*m = !strcmp(v, "mmap"), g_string_append_printf(t, "%s %s\n", v, f);
	else
		g_string_append_printf(t, "getpfn %s off=%#" PRIx64 "\n", f, off);
}

/*
 * THE GENERATOR: sequence @i of the campaign, deterministic given @seed, as
 * .gms text without expectations (campaign_expect() adds them). To run the
 * campaign over the structured fuzzer's inputs instead, replace this body
 * with one that turns a seeded byte string into text with the fuzzer's
 * decoder (the `gmemsim fuzz-decode` library entry point); nothing else
 * changes.
 */
static GString *campaign_sequence(uint64_t seed, unsigned int i)
{
	static const char *const orderings[] = {"planned", "wip", "v8", "rfc-v2"};
	GRand *r = g_rand_new_with_seed((guint32)(seed * 1000003u + i));
	GString *t = g_string_new("hugetlb pool size=2M nr=2\n");
	bool pinned[16] = {0}, mapped[2] = {true, true};

	g_string_append_printf(t, "vm s type=sw_protected conversion=%s\n", orderings[i % 4]);
	g_string_append(t, "gmem g vm=s size=64K flags=mmap|init_shared\n"
			   "gmem h vm=s size=4M flags=mmap|hugetlb page=2M\n"
			   "memslot s slot=0 gpa=4G size=64K gmem=g\n"
			   "memslot s slot=1 gpa=8G size=4M gmem=h\n"
			   "mmap g\nmmap h\n");
	for (unsigned int n = 0; n < CAMPAIGN_OPS; n++)
		random_op(t, r, pinned, mapped);
	g_string_append(t, "check\n");
	for (unsigned int k = 0; k < 2; k++)
		if (mapped[k])
			g_string_append_printf(t, "munmap %s\n", k ? "h" : "g");
	g_string_append(t, "close g\nclose h\n");
	g_rand_free(r);
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
	log = slurp(err);
	fclose(err);
	ck_assert_msg(!strstr(log, "check oracle:"), "sequence %u:\n%s\n%s", i, log, seq->str);
	g_free(log);
	for (guint n = 0; lines[n]; n++) {
		const char *cls =
			n + 1 < a.by_line->len ? g_ptr_array_index(a.by_line, n + 1) : NULL;

		if (!*lines[n])
			continue;
		g_string_append(out, lines[n]);
		if (cls)
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
