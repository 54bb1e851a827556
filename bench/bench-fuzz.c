// SPDX-License-Identifier: MIT
/*
 * Fuzzing throughput (issue 12, docs/PERFORMANCE.md "Fuzzing throughput"):
 * executions per second of seeded random 64-operation scenarios, as the
 * fuzzers run them (generated .gms text through gs_scenario_run_buffer(),
 * the oracle on, quiet, going on after a failed line), over three kinds of
 * file:
 *   - 4k: a 64 KiB file of 4 KiB pages (INIT_SHARED);
 *   - 2m: an 8 MiB HugeTLB file of 2 MiB pages (a pool of 4);
 *   - 1g: a 2 GiB HugeTLB file of 1 GiB pages (a pool of 2).
 * Each operation is one of convert (both ways), punch, fallocate, host
 * read/write/fault, guest fault and get_pfn, at random offsets in units of
 * the file's page sizes (4 KiB, 2 MiB, 1 GiB). One execution parses and runs
 * one scenario and tears it down with its leak and WARN checks.
 *
 * Two runners each: bench_fuzz_<kind> (one persistent runner, metadata-only
 * memory: what the fuzzers use) and bench_fuzz_<kind>_fresh (a new runner per
 * execution, memory as the machine defaults to). For 1g it also reports the
 * fraction of scenarios that split a 1 GiB page and what those cost against the others (fuzz.1g_split, full runs only).
 * GS_BENCH_ONLY=fuzz.4k (a workload's name) runs one workload alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/rng.h>
#include <gmemsim/scenario.h>

#include "bench.h"

#define NR_INPUTS 64 /* distinct scenarios, run round-robin */
#define OPS	  64

struct kind {
	const char *name;
	const char *pool;    /* "hugetlb pool ..." line or NULL */
	const char *flags;   /* the gmem line's flags and page size */
	uint64_t size;	     /* file size */
	uint64_t units[3];   /* offset units, 0-terminated */
	uint64_t max_access; /* longest read/write unit */
};

static const struct kind kinds[] = {
	{"4k", NULL, "mmap|init_shared", 64 << 10, {4096}, 4096},
	{"2m",
	 "hugetlb pool size=2M nr=4",
	 "mmap|hugetlb page=2M",
	 8 << 20,
	 {4096, 2 << 20},
	 2 << 20},
	{"1g",
	 "hugetlb pool size=1G nr=2",
	 "mmap|hugetlb page=1G",
	 2ULL << 30,
	 {4096, 2 << 20, 1 << 30},
	 2 << 20},
};

/* One seeded scenario of @k: the lead's generator (/tmp/perf/gen.py), in C. */
static char *make_input(const struct kind *k, GRand *r)
{
	static const char *const verbs[] = {"convert", "convert", "punch",  "falloc", "read",
					    "write",   "fault",	  "gfault", "getpfn"};
	GString *t = g_string_new(NULL);
	unsigned int nunits = 0;

	while (nunits < 3 && k->units[nunits])
		nunits++;
	if (k->pool)
		g_string_append_printf(t, "%s\n", k->pool);
	g_string_append(t, "vm s type=sw_protected conversion=planned\n");
	g_string_append_printf(t, "gmem g vm=s size=%#" PRIx64 " flags=%s\n", k->size, k->flags);
	g_string_append_printf(t, "memslot s slot=0 gpa=4G size=%#" PRIx64 " gmem=g\nmmap g\n",
			       k->size);
	for (int i = 0; i < OPS; i++) {
		const char *v = verbs[g_rand_int_range(r, 0, G_N_ELEMENTS(verbs))];
		uint64_t u = k->units[g_rand_int_range(r, 0, (gint32)nunits)];
		uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)(k->size / u)) * u;
		uint64_t n = (uint64_t)g_rand_int_range(r, 1, 4);

		if (!strcmp(v, "convert"))
			g_string_append_printf(
				t, "convert g off=%#" PRIx64 " len=%#" PRIx64 " to=%s\n", off,
				n * u, g_rand_boolean(r) ? "shared" : "private");
		else if (!strcmp(v, "punch") || !strcmp(v, "falloc"))
			g_string_append_printf(t, "%s g off=%#" PRIx64 " len=%#" PRIx64 "\n", v,
					       off, n * u);
		else if (!strcmp(v, "read") || !strcmp(v, "write"))
			g_string_append_printf(t, "%s g off=%#" PRIx64 " len=%#" PRIx64 " byte=1\n",
					       v, off, n * MIN(u, k->max_access));
		else if (!strcmp(v, "fault") || !strcmp(v, "getpfn"))
			g_string_append_printf(t, "%s g off=%#" PRIx64 "\n", v, off);
		else
			g_string_append_printf(
				t, "gfault s gpa=%#" PRIx64 "%s\n",
				(uint64_t)(4ULL << 30) +
					(uint64_t)g_rand_int_range(r, 0, (gint32)(k->size / 4096)) *
						4096,
				g_rand_boolean(r) ? " private=1" : "");
	}
	g_string_append(t, "munmap g\nclose g\n");
	return g_string_free(t, FALSE);
}

struct inputs {
	char *text[NR_INPUTS];
	size_t len[NR_INPUTS];
};

static void make_inputs(const struct kind *k, struct inputs *in)
{
	GRand *r = g_rand_new_with_seed(12);

	for (int i = 0; i < NR_INPUTS; i++) {
		in->text[i] = make_input(k, r);
		in->len[i] = strlen(in->text[i]);
	}
	g_rand_free(r);
}

static struct gs_scenario_opts opts(FILE *null, bool persistent)
{
	return (struct gs_scenario_opts){.out = null,
					 .err = null,
					 .quiet = true,
					 .keep_going = true,
					 .oracle = true,
					 .persistent = persistent,
					 .metadata_only = persistent};
}

/* One execution per scenario, one runner for all of them. */
static __attribute__((noinline)) unsigned long bench_persistent(const struct inputs *in,
								unsigned long n, FILE *null)
{
	struct gs_scenario_opts o = opts(null, true);
	struct gs_scenario *s = gs_scenario_new(&o);
	unsigned long bad = 0;

	for (unsigned long i = 0; i < n; i++)
		bad += gs_scenario_run_buffer(s, "fuzz.gms", in->text[i % NR_INPUTS],
					      in->len[i % NR_INPUTS]) > GS_EXIT_FAIL;
	gs_scenario_free(s);
	return bad;
}

/* One execution per scenario, a new runner for each. */
static __attribute__((noinline)) unsigned long bench_fresh(const struct inputs *in, unsigned long n,
							   FILE *null)
{
	struct gs_scenario_opts o = opts(null, false);
	unsigned long bad = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct gs_scenario *s = gs_scenario_new(&o);

		bad += gs_scenario_run_buffer(s, "fuzz.gms", in->text[i % NR_INPUTS],
					      in->len[i % NR_INPUTS]) > GS_EXIT_FAIL;
		gs_scenario_free(s);
	}
	return bad;
}

/* The measured loops, one function per workload for callgrind's --toggle-collect. */
#define BENCH_KIND(k)                                                                           \
	static __attribute__((noinline)) unsigned long bench_fuzz_##k(const struct inputs *in,  \
								      unsigned long n, FILE *f) \
	{                                                                                       \
		return bench_persistent(in, n, f);                                              \
	}                                                                                       \
	static __attribute__((noinline)) unsigned long bench_fuzz_##k##_fresh(                  \
		const struct inputs *in, unsigned long n, FILE *f)                              \
	{                                                                                       \
		return bench_fresh(in, n, f);                                                   \
	}
BENCH_KIND(4k)
BENCH_KIND(2m)
BENCH_KIND(1g)

/*
 * The structured format as `gmemsim fuzz` and fuzz-ops run it: seeded
 * bytes of 64 operations, decoded straight into operations and run by
 * gs_fuzz_exec() (page data on, each input a persistent runner's); with
 * @text, as before: decoded to .gms text and run by gs_fuzz_run(), which
 * parses it. Decoding is part of the execution.
 */
static __attribute__((noinline)) unsigned long bench_ops(int backing, unsigned long n, bool text)
{
	uint8_t buf[GS_FUZZ_HEADER + GS_FUZZ_DEFAULT_OPS * GS_FUZZ_OP_SIZE];
	unsigned long bad = 0;
	struct gs_rng rng;

	gs_rng_seed(&rng, 1);
	for (unsigned long i = 0; i < n; i++) {
		char sig[GS_REDUCE_SIG_LEN];
		char *t;

		for (size_t b = 0; b < sizeof(buf); b++)
			buf[b] = (uint8_t)gs_rng_next(&rng);
		gs_fuzz_header_set(buf, backing, -1);
		/* No finding is expected without a planted bug: one is a broken build. */
		if (!text) {
			bad += gs_fuzz_exec(buf, sizeof(buf), NULL, sig, sizeof(sig));
			continue;
		}
		t = gs_fuzz_decode(buf, sizeof(buf), NULL);
		bad += !t || gs_fuzz_run(t, strlen(t), sig, sizeof(sig));
		free(t);
	}
	return bad;
}

#define BENCH_OPS(k, backing)                                                   \
	static __attribute__((noinline)) unsigned long bench_fuzz_ops_##k(      \
		const struct inputs *in, unsigned long n, FILE *f)              \
	{                                                                       \
		(void)in;                                                       \
		(void)f;                                                        \
		return bench_ops(backing, n, false);                            \
	}                                                                       \
	static __attribute__((noinline)) unsigned long bench_fuzz_ops_text_##k( \
		const struct inputs *in, unsigned long n, FILE *f)              \
	{                                                                       \
		(void)in;                                                       \
		(void)f;                                                        \
		return bench_ops(backing, n, true);                             \
	}
BENCH_OPS(4k, GS_FUZZ_4K)
BENCH_OPS(2m, GS_FUZZ_2M)

static __attribute__((noinline)) unsigned long bench_fuzz_ops_1g(const struct inputs *in,
								 unsigned long n, FILE *f)
{
	(void)in;
	(void)f;
	return bench_ops(GS_FUZZ_1G, n, false);
}

/*
 * A 1 GiB page split to its 262,144 pieces (all shared), then @checks
 * `check` lines: each runs every checker (gmem's walk of the pieces) and
 * the oracle's comparison of the whole file (kvm_gmem_query() over the
 * pieces). Returns the run's status (0: as expected).
 */
static unsigned long split_1g_checks(unsigned int checks, FILE *f)
{
	struct gs_scenario_opts o = opts(f, true);
	struct gs_scenario *s = gs_scenario_new(&o);
	GString *t = g_string_new("hugetlb pool size=1G nr=1\n"
				  "vm s type=sw_protected conversion=planned\n"
				  "gmem g vm=s size=1G flags=hugetlb page=1G\n"
				  "falloc g off=0 len=1G\n"
				  "convert g off=0 len=1G to=shared\n");
	int st;

	for (unsigned int i = 0; i < checks; i++)
		g_string_append(t, "check\n");
	g_string_append(t, "close g\n");
	st = gs_scenario_run_buffer(s, "split.gms", t->str, t->len);
	gs_scenario_free(s);
	g_string_free(t, TRUE);
	return st != GS_EXIT_OK;
}

/* The split page's run alone (falloc, the split, the comparisons of those lines, close). */
static __attribute__((noinline)) unsigned long bench_fuzz_split_1g(const struct inputs *in,
								   unsigned long n, FILE *f)
{
	unsigned long bad = 0;

	(void)in;
	for (unsigned long i = 0; i < n; i++)
		bad += split_1g_checks(0, f);
	return bad;
}

/* The same with 16 `check` lines: the difference is 16 checks of a split 1 GiB page. */
static __attribute__((noinline)) unsigned long bench_fuzz_split_1g_checks(const struct inputs *in,
									  unsigned long n, FILE *f)
{
	unsigned long bad = 0;

	(void)in;
	for (unsigned long i = 0; i < n; i++)
		bad += split_1g_checks(16, f);
	return bad;
}

typedef unsigned long (*bench_fn)(const struct inputs *in, unsigned long n, FILE *f);

/* GS_BENCH_ONLY=WORKLOAD runs that one (callgrind of the 4 KiB loop without the 1 GiB ones). */
static bool wanted(const char *workload)
{
	const char *only = getenv("GS_BENCH_ONLY");

	return !only || !*only || !strcmp(only, workload);
}

static void report(const char *workload, bench_fn fn, const struct inputs *in, unsigned long n,
		   FILE *null)
{
	uint64_t t0, ns;
	unsigned long bad;

	if (!wanted(workload))
		return;
	t0 = bench_now_ns();
	bad = fn(in, n, null);

	ns = bench_now_ns() - t0;
	bench_report(workload, ns, n);
	printf("%-22s %10.0f execs/s\n", workload, ns ? (double)n * 1e9 / (double)ns : 0.0);
	/* a syntax error, a leak or a skip is a broken generator, not a figure */
	if (bad) {
		fprintf(stderr, "%s: %lu executions ended in an error\n", workload, bad);
		exit(1);
	}
}

/* Which 1 GiB scenarios split a huge page, and their cost (wall time: a loaded machine shows). */
static void split_share(const struct inputs *in, FILE *null)
{
	struct gs_scenario_opts o = opts(null, true);
	struct gs_scenario *s = gs_scenario_new(&o);
	uint64_t ns_split = 0, ns_whole = 0;
	unsigned int nsplit = 0;

	unsigned long splits = 0;

	for (int i = 0; i < NR_INPUTS; i++) {
		struct gs_restructuring_stats a, b;
		uint64_t t0;

		gs_restructuring_stats(&a);
		t0 = bench_now_ns();
		gs_scenario_run_buffer(s, "fuzz.gms", in->text[i], in->len[i]);
		t0 = bench_now_ns() - t0;
		gs_restructuring_stats(&b);
		if (b.splits != a.splits) {
			nsplit++;
			splits += b.splits - a.splits;
			ns_split += t0;
		} else {
			ns_whole += t0;
		}
	}
	gs_scenario_free(s);
	printf("fuzz.1g split: %u of %d scenarios split a 1 GiB page (%.1f splits each); %.0f "
	       "us/exec those, %.0f us the others\n",
	       nsplit, NR_INPUTS, nsplit ? (double)splits / nsplit : 0.0,
	       nsplit ? (double)ns_split / nsplit / 1e3 : 0.0,
	       nsplit < NR_INPUTS ? (double)ns_whole / (NR_INPUTS - nsplit) / 1e3 : 0.0);
}

int main(void)
{
	FILE *null = fopen("/dev/null", "w");
	struct inputs in[3];

	if (!null)
		return 1;
	gs_scenario_init();
	for (int k = 0; k < 3; k++)
		make_inputs(&kinds[k], &in[k]);
	/* Whole rounds of the inputs: persistent and fresh run the same mix. */
	report("fuzz.4k", bench_fuzz_4k, &in[0], bench_count(300, 2) * NR_INPUTS, null);
	report("fuzz.4k_fresh", bench_fuzz_4k_fresh, &in[0], bench_count(100, 2) * NR_INPUTS, null);
	report("fuzz.2m", bench_fuzz_2m, &in[1], bench_count(32, 1) * NR_INPUTS, null);
	report("fuzz.2m_fresh", bench_fuzz_2m_fresh, &in[1], bench_count(16, 1) * NR_INPUTS, null);
	report("fuzz.1g", bench_fuzz_1g, &in[2], bench_count(NR_INPUTS, 2), null);
	report("fuzz.1g_fresh", bench_fuzz_1g_fresh, &in[2], bench_count(NR_INPUTS, 2), null);
	if (bench_count(1, 0) && wanted("fuzz.1g_split"))
		split_share(&in[2], null);
	/* Last: gs_fuzz_exec() keeps freed memory in the host from then on. */
	report("fuzz.ops_4k", bench_fuzz_ops_4k, NULL, bench_count(3000, 100), null);
	report("fuzz.ops_2m", bench_fuzz_ops_2m, NULL, bench_count(1000, 50), null);
	report("fuzz.ops_text_4k", bench_fuzz_ops_text_4k, NULL, bench_count(3000, 100), null);
	report("fuzz.ops_text_2m", bench_fuzz_ops_text_2m, NULL, bench_count(1000, 50), null);
	report("fuzz.ops_1g", bench_fuzz_ops_1g, NULL, bench_count(20, 1), null);
	report("fuzz.split_1g", bench_fuzz_split_1g, NULL, bench_count(8, 1), null);
	report("fuzz.split_1g_checks", bench_fuzz_split_1g_checks, NULL, bench_count(8, 1), null);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < NR_INPUTS; i++)
			g_free(in[k].text[i]);
	fclose(null);
	return 0;
}
