// SPDX-License-Identifier: MIT
/*
 * The gmemsim command: runs .gms scenarios against the simulator (or, for the
 * operations upstream supports, the running kernel), runs the built-in demo,
 * and lists what the library offers (fault-injection sites, verbs).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/differential.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/inject.h>
#include <gmemsim/live.h>
#include <gmemsim/physmem.h>
#include <gmemsim/reduce.h>
#include <gmemsim/scenario.h>
#include <gmemsim/strategy.h>
#include <gmemsim/trace.h>
#include "compare_cmd.h"
#include "check_strategy.h"
#include "config.h"
#include "demo_gms.h"
#include "export_selftest.h"
#include "render.h"
#include "render_cmd.h"

static gchar *opt_backend;
static gchar *opt_trace;
static gchar *opt_seed;
static gchar *opt_record, *opt_transcripts;
static gboolean opt_verbose, opt_quiet, opt_keep_going, opt_strict, opt_version, opt_fail_nth;
static gboolean opt_oracle, opt_coverage;
static gchar *opt_fail_nth_mode;
static gchar **opt_plant;
static gint opt_fail_nth_max = GS_FAIL_NTH_DEFAULT_MAX;
static gchar *opt_mem, *opt_backing;
static gchar *opt_output;
static gint opt_max_attempts = GS_REDUCE_DEFAULT_MAX;
static gchar *opt_runs, *opt_seconds, *opt_ordering, *opt_ops, *opt_check_every;
static gboolean opt_reduce, opt_stop_on_find;
static gchar *opt_strategy;
static gchar *opt_show, *opt_color;
static gchar *opt_hvo_host;

static const GOptionEntry entries[] = {
	{"backend", 'b', 0, G_OPTION_ARG_STRING, &opt_backend,
	 "Where operations run: sim (default) or kernel (/dev/kvm)", "sim|kernel"},
	{"trace", 't', 0, G_OPTION_ARG_FILENAME, &opt_trace,
	 "Write every event as JSON lines to FILE", "FILE"},
	{"seed", 's', 0, G_OPTION_ARG_STRING, &opt_seed,
	 "Seed of the run (default: $GMEMSIM_SEED, else 0)", "N"},
	{"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Print every operation and its result",
	 NULL},
	{"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print errors only", NULL},
	{"keep-going", 'k', 0, G_OPTION_ARG_NONE, &opt_keep_going,
	 "Go on after a failed expectation", NULL},
	{"strict", 0, 0, G_OPTION_ARG_NONE, &opt_strict,
	 "Lines without an expectation must succeed (return 0)", NULL},
	{"fail-nth", 0, 0, G_OPTION_ARG_NONE, &opt_fail_nth,
	 "run: fail each allocation of each line in turn; the line must fail with ENOMEM and "
	 "leave no trace, the rest of the scenario must still pass",
	 NULL},
	{"oracle", 0, 0, G_OPTION_ARG_NONE, &opt_oracle,
	 "run (sim): check every guest_memfd line against the per-page oracle (docs/ORACLE.md)",
	 NULL},
	{"plant", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_plant,
	 "run: TEST-ONLY: plant the known bug NAME in the simulator; fuzz, fuzz-decode: a "
	 "`plant bug=NAME` line at the top of every sequence (repeatable; names in "
	 "`gmemsim verbs`, verb plant)",
	 "NAME"},
	{"fail-nth-max", 0, 0, G_OPTION_ARG_INT, &opt_fail_nth_max,
	 "With --fail-nth: injections per line before sampling (default 32; 0: every one)", "N"},
	{"fail-nth-mode", 0, 0, G_OPTION_ARG_STRING, &opt_fail_nth_mode,
	 "With --fail-nth: the nth allocation fails once (transient, default), it and every "
	 "later one of the line (persistent), or each n both ways",
	 "transient|persistent|both"},
	{"coverage", 0, 0, G_OPTION_ARG_NONE, &opt_coverage,
	 "sites: run the fail-nth campaign over FILE... and print the injection points per site",
	 NULL},
	{"record", 0, 0, G_OPTION_ARG_FILENAME, &opt_record,
	 "diff: run each FILE on the live kernel and write its answers to DIR/FILE.transcript",
	 "DIR"},
	{"transcripts", 0, 0, G_OPTION_ARG_FILENAME, &opt_transcripts,
	 "diff: where the host cannot answer, compare against the transcripts in DIR", "DIR"},
	{"mem", 0, 0, G_OPTION_ARG_STRING, &opt_mem,
	 "Physical memory of the simulated machine (default 64G, at most 4T)", "SIZE"},
	{"backing", 0, 0, G_OPTION_ARG_STRING, &opt_backing,
	 "Data behind every page: none (metadata only), anon, hugetlb or auto; fuzz: the files' "
	 "page size, 4k, 2m, 1g or mix (default)",
	 "KIND"},
	{"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
	 "reduce: write the reduced scenario to FILE (default: stdout); fuzz: the directory "
	 "each new failure is saved in",
	 "FILE"},
	{"max-attempts", 0, 0, G_OPTION_ARG_INT, &opt_max_attempts,
	 "reduce: scenario runs at most (default 2000)", "N"},
	{"runs", 0, 0, G_OPTION_ARG_STRING, &opt_runs, "fuzz: stop after N inputs", "N"},
	{"seconds", 0, 0, G_OPTION_ARG_STRING, &opt_seconds, "fuzz: stop after T seconds", "T"},
	{"ordering", 0, 0, G_OPTION_ARG_STRING, &opt_ordering,
	 "fuzz: the VM's conversion ordering (default mix: each input's own)",
	 "planned|v8|wip|rfc-v2|mix"},
	{"ops", 0, 0, G_OPTION_ARG_STRING, &opt_ops,
	 "fuzz, fuzz-decode: operations per sequence (default 64, at most 256)", "N"},
	{"check-every", 0, 0, G_OPTION_ARG_STRING, &opt_check_every,
	 "fuzz, fuzz-decode: a check line after every N operations (default 0: at the end)", "N"},
	{"reduce", 0, 0, G_OPTION_ARG_NONE, &opt_reduce,
	 "fuzz: reduce each new failure to a short scenario (with -o: NNN-HASH.min.gms)", NULL},
	{"stop-on-find", 0, 0, G_OPTION_ARG_NONE, &opt_stop_on_find,
	 "fuzz: stop at the first failing sequence", NULL},
	{"hvo-host", 0, 0, G_OPTION_ARG_STRING, &opt_hvo_host,
	 "fuzz: HVO's freed vmemmap stays in the host, verified (resident, default) or goes "
	 "back to it (release, as outside fuzzing; docs/FIDELITY.md)",
	 "resident|release"},
	{"strategy", 0, 0, G_OPTION_ARG_STRING, &opt_strategy,
	 "run every VM of the strategy's ordering under this restructuring strategy: a name or "
	 "./file.so (docs/STRATEGIES.md)",
	 "NAME|FILE"},
	{"show", 0, 0, G_OPTION_ARG_STRING, &opt_show,
	 "run: after every line print these views of the state (docs/RENDERING.md)",
	 "file,xarray,maple,pool,hvo,stage2|all"},
	{"color", 0, 0, G_OPTION_ARG_STRING, &opt_color,
	 "--show: ANSI colours (default auto: on a terminal)", "auto|always|never"},
	{"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
	{NULL},
};

static const char description[] =
	"Commands:\n"
	"  run FILE...   run scenario files (.gms)\n"
	"                --show=VIEWS: the state after every line, as text\n"
	"  render FILE -o OUT.html\n"
	"                the scenario as an offline HTML stepper (docs/RENDERING.md)\n"
	"                --fail-nth: fail every allocation of every line in turn\n"
	"                (exit 1 on any finding; summary per file); with --oracle\n"
	"                the oracle judges every injected attempt too;\n"
	"                --fail-nth-mode persistent|both: failures that last the line\n"
	"  diff FILE...  run on both backends; print every line whose results differ\n"
	"                (exit 1 if one does beyond the intended divergences)\n"
	"                --record DIR: record the kernel's answers as transcripts\n"
	"                --transcripts DIR: without guest_memfd here, compare the\n"
	"                simulator against the transcripts recorded elsewhere\n"
	"  reduce FILE   shrink a failing scenario (lines, then numbers and optional\n"
	"                keys) while it fails the same way; -o FILE for the result.\n"
	"                Exit 0 reduced, 1 the scenario passes (nothing to reduce),\n"
	"                2 usage error or a crash, 3 malformed scenario\n"
	"  fuzz          seeded random sequences in the structured format, run with\n"
	"                the oracle (--seed --runs --seconds --backing --ordering --ops\n"
	"                -o DIR --reduce --plant --hvo-host); exit 1 when something was found\n"
	"  fuzz-decode INPUT  print the .gms program a fuzz input decodes to\n"
	"  export-selftest FILE [-o OUT.c]\n"
	"                the scenario as a kselftest C program over the KVM selftest\n"
	"                library, asserting the simulator's answers (docs/FUZZING.md)\n"
	"  demo          run the built-in walkthrough\n"
	"  sites         list the fault-injection sites with their counters\n"
	"  sites --coverage FILE...\n"
	"                the fail-nth campaign over FILE... (with --oracle,\n"
	"                --fail-nth-mode, --fail-nth-max), then per site the lines\n"
	"                reaching it, its injection points, those injected, and the\n"
	"                sites never reached (exit 1 on any finding)\n"
	"  verbs         list the scenario verbs, their keys and expectation kinds\n"
	"  workload NAME print a guest-like workload as .gms (compare --help)\n"
	"  compare       run a workload under each strategy: metrics table, SVG\n"
	"  check-strategy NAME|./FILE.so [FILE...]\n"
	"                the battery against a restructuring strategy: the conversion\n"
	"                and restructuring scenarios (FILE..., default the installed\n"
	"                ones) with the oracle, each under fail-nth, and --runs fuzz\n"
	"                sequences (default 200); pass/fail per part, the first\n"
	"                failure reduced; exit 1 when a part fails\n"
	"  strategies    list the registered restructuring strategies\n"
	"\n"
	"Exit status:\n"
	"  0   every expectation met\n"
	"  1   an expectation or invariant check failed, or a WARN went unexpected\n"
	"  2   usage error, or a file could not be read\n"
	"  3   malformed scenario, or an operation that cannot run (file:line: message)\n"
	"  4   memory still allocated at teardown (a leak)\n"
	"  77  skipped: the backend is not available here\n"
	"With several files, the most severe status is returned.\n"
	"\n"
	"See docs/SCENARIOS.md for the language.";

/* Severity order for combining the statuses of several files. */
static int severity(int status)
{
	switch (status) {
	case GS_EXIT_OK:
		return 0;
	case GS_EXIT_SKIP:
		return 1;
	case GS_EXIT_FAIL:
		return 2;
	case GS_EXIT_LEAK:
		return 3;
	case GS_EXIT_SYNTAX:
		return 4;
	default:
		return 5;
	}
}

/* One line on what is wrong, one on the form, one pointing at --help: not the whole help. */
static void usage_hint(const char *msg)
{
	fprintf(stderr,
		"gmemsim: %s\n"
		"Usage: gmemsim [OPTION...] run|diff|reduce|fuzz|fuzz-decode|demo|sites|verbs "
		"[FILE...]\n"
		"Try 'gmemsim --help' for more information.\n",
		msg);
}

static int usage_error(GOptionContext *ctx, const char *msg)
{
	(void)ctx;
	usage_hint(msg);
	return GS_EXIT_USAGE;
}

static int parse_seed(uint64_t *seed)
{
	const char *env = getenv("GMEMSIM_SEED");
	const char *s = opt_seed ? opt_seed : env;

	*seed = 0;
	if (!s || !*s)
		return 0;
	if (gs_parse_u64(s, seed)) {
		fprintf(stderr, "gmemsim: bad seed '%s'\n", s);
		return -1;
	}
	return 0;
}

static int open_trace(void)
{
	struct gs_trace_sink sink;
	FILE *f;

	if (!opt_trace)
		return 0;
	f = fopen(opt_trace, "w");
	if (!f) {
		perror(opt_trace);
		return -1;
	}
	if (gs_trace_json_sink(f, true, &sink) || gs_trace_add_sink(&sink) < 0) {
		fclose(f);
		return -1;
	}
	return 0;
}

/* Long memory work (a pool of a million pages) shows how far it is: on a terminal, or with -v. */
static void show_progress(const char *what, unsigned long done, unsigned long total)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (tty)
		fprintf(stderr, "\r%s: %lu/%lu%s", what, done, total, done == total ? "\n" : "");
	else if (done == total)
		fprintf(stderr, "%s: %lu/%lu\n", what, done, total);
}

/* --mem, --backing and the progress line: the simulated machine before any scenario. */
static int setup_machine(bool fuzz)
{
	static const char *const backings[] = {"auto", "hugetlb", "anon", "none"};
	uint64_t mem;

	if (isatty(STDERR_FILENO) || opt_verbose)
		gs_physmem_set_progress(show_progress);
	if (opt_mem && (gs_parse_u64(opt_mem, &mem) || gs_physmem_set_size(mem))) {
		fprintf(stderr, "gmemsim: bad --mem '%s' (a multiple of 2M up to 4T)\n", opt_mem);
		return -1;
	}
	/* fuzz's --backing is the files' page size (cmd_fuzz). */
	for (int b = 0; !fuzz && opt_backing && b < (int)ARRAY_SIZE(backings); b++)
		if (!strcmp(opt_backing, backings[b])) {
			gs_physmem_override_backing(b);
			return 0;
		}
	if (!fuzz && opt_backing) {
		fprintf(stderr, "gmemsim: bad --backing '%s' (none, anon, hugetlb, auto)\n",
			opt_backing);
		return -1;
	}
	return 0;
}

static int make_opts(struct gs_scenario_opts *o)
{
	*o = (struct gs_scenario_opts){
		.verbose = opt_verbose,
		.quiet = opt_quiet,
		.keep_going = opt_keep_going,
		.strict = opt_strict,
		.backend = GS_BACKEND_SIM,
		.oracle = opt_oracle,
	};
	if (opt_backend && !strcmp(opt_backend, "kernel"))
		o->backend = GS_BACKEND_KERNEL;
	else if (opt_backend && strcmp(opt_backend, "sim"))
		return -1;
	for (unsigned int i = 0; opt_plant && opt_plant[i]; i++) {
		int bug = gs_test_bug_lookup(opt_plant[i]);

		if (bug < 0) {
			fprintf(stderr, "gmemsim: unknown --plant '%s' (one of:", opt_plant[i]);
			for (unsigned int b = 0; b < GS_BUG_NR; b++)
				fprintf(stderr, " %s", gs_test_bug_names[b]);
			fprintf(stderr, ")\n");
			return -1;
		}
		o->plant |= 1u << bug;
	}
	return parse_seed(&o->seed);
}

static int cmd_run(GOptionContext *ctx, int argc, char **argv, bool demo)
{
	struct gs_scenario_opts o;
	struct gs_scenario *s;
	int worst = GS_EXIT_OK;
	bool all_skipped = true;
	struct rd_collect *show = NULL;

	if (make_opts(&o))
		return usage_error(ctx, "bad --backend (sim or kernel), --seed or --plant");
	if (!demo && argc < 3)
		return usage_error(ctx, "run needs at least one scenario file");
	if (open_trace())
		return GS_EXIT_USAGE;
	/* The demo is for reading: show every operation unless asked to be quiet. */
	if (demo && !o.quiet)
		o.verbose = true;
	if (opt_show) {
		int views = rd_parse_views(opt_show);
		int color = rd_color_mode(opt_color, o.out ? o.out : stdout);

		if (views < 0 || color < 0)
			return usage_error(ctx,
					   "bad --show (file,xarray,maple,pool,hvo,stage2 or all) "
					   "or --color (auto, always or never)");
		show = rd_collect_new(&o, (unsigned int)views, color);
	}
	s = gs_scenario_new(&o);
	rd_collect_bind(show, s);
	if (demo) {
		worst = gs_scenario_run_buffer(s, "demo.gms", gs_demo_gms, strlen(gs_demo_gms));
		all_skipped = worst == GS_EXIT_SKIP;
	}
	for (int i = 2; !demo && i < argc; i++) {
		int st = gs_scenario_run_file(s, argv[i]);

		if (st != GS_EXIT_SKIP)
			all_skipped = false;
		if (severity(st) > severity(worst))
			worst = st;
	}
	gs_scenario_free(s);
	rd_collect_free(show);
	gs_trace_remove_all();
	if (worst == GS_EXIT_SKIP && !all_skipped)
		worst = GS_EXIT_OK;
	return worst;
}

/* `render FILE -o OUT`: run FILE collecting every step, then write the HTML stepper. */
static int cmd_render(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_scenario_opts o;
	struct rd_collect *c;
	struct gs_scenario *s;
	gchar *title;
	int st, err;

	if (make_opts(&o))
		return usage_error(ctx, "bad --backend (sim or kernel), --seed or --plant");
	if (argc != 3)
		return usage_error(ctx,
				   "render takes one scenario file (-o OUT.html, else stdout)");
	/* The page carries the results; with -o to stdout the run's own output goes to stderr. */
	if (!opt_output || !strcmp(opt_output, "-"))
		o.out = stderr;
	c = rd_collect_new(&o, 0, false);
	s = gs_scenario_new(&o);
	rd_collect_bind(c, s);
	st = gs_scenario_run_file(s, argv[2]);
	gs_scenario_free(s);
	title = g_path_get_basename(argv[2]);
	err = rd_collect_steps(c) ? rd_collect_html(c, title, opt_output) : 0;
	if (err)
		fprintf(stderr, "gmemsim: %s: %s\n", opt_output, g_strerror(-err));
	g_free(title);
	rd_collect_free(c);
	return err ? GS_EXIT_USAGE : st;
}

/* --fail-nth-mode's word; -1 for an unknown one. */
static int fail_nth_mode(void)
{
	static const char *const modes[] = {
		[GS_FAIL_NTH_TRANSIENT] = "transient",
		[GS_FAIL_NTH_PERSISTENT] = "persistent",
		[GS_FAIL_NTH_BOTH] = "both",
	};

	for (int m = 0; m < (int)ARRAY_SIZE(modes); m++)
		if (!opt_fail_nth_mode || !strcmp(opt_fail_nth_mode, modes[m]))
			return m;
	return -1;
}

/* `run --fail-nth` (and `sites --coverage`): each file through the fail-nth runner. */
static int cmd_fail_nth(GOptionContext *ctx, int argc, char **argv,
			struct gs_fail_nth_coverage *cov)
{
	struct gs_scenario_opts o;
	int worst = GS_EXIT_OK, mode = fail_nth_mode();

	if (make_opts(&o) || o.backend != GS_BACKEND_SIM)
		return usage_error(ctx, "--fail-nth runs on the sim backend; bad --seed?");
	if (argc < 3)
		return usage_error(ctx, "at least one scenario file is needed");
	if (opt_fail_nth_max < 0)
		return usage_error(ctx, "--fail-nth-max must be 0 (every n) or more");
	if (mode < 0)
		return usage_error(ctx, "--fail-nth-mode is transient, persistent or both");
	for (int i = 2; i < argc; i++) {
		struct gs_fail_nth_opts fo = {
			.max = (unsigned int)opt_fail_nth_max,
			.seed = o.seed,
			.verbose = opt_verbose,
			.mode = (enum gs_fail_nth_mode)mode,
			.coverage = cov,
		};
		gint64 t0 = g_get_monotonic_time();
		int st = gs_scenario_fail_nth_file(&o, &fo, argv[i], NULL);

		/* Wall time is for the reader only; the runner's own output stays deterministic. */
		if (!opt_quiet)
			printf("%s: fail-nth took %.2f s\n", argv[i],
			       (double)(g_get_monotonic_time() - t0) / 1e6);
		if (severity(st) > severity(worst))
			worst = st;
	}
	return worst;
}

static int write_reduced(const char *text)
{
	FILE *f = opt_output ? fopen(opt_output, "w") : stdout;

	if (!f) {
		perror(opt_output);
		return GS_REDUCE_USAGE;
	}
	fputs(text, f);
	if (opt_output ? fclose(f) : fflush(f)) {
		perror(opt_output ? opt_output : "stdout");
		return GS_REDUCE_USAGE;
	}
	return GS_REDUCE_DONE;
}

/* `export-selftest FILE [-o OUT.c]`: the scenario as a KVM selftest (export_selftest.c). */
static int cmd_export_selftest(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_scenario_opts o;

	if (make_opts(&o) || o.backend != GS_BACKEND_SIM)
		return usage_error(ctx, "export-selftest runs on the sim backend; bad --seed?");
	if (argc != 3)
		return usage_error(ctx, "export-selftest takes one scenario file (-o OUT.c, else "
					"stdout)");
	return gs_export_selftest(&o, argv[2], opt_output);
}

/* `reduce FILE`: the failure's signature, the work done, the short scenario. */
static int cmd_reduce(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_reduce_opts ro = {.log = opt_verbose ? stderr : NULL};
	struct gs_reduce_result res;
	struct gs_scenario_opts o;
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	int st;

	if (make_opts(&o) || o.backend != GS_BACKEND_SIM)
		return usage_error(ctx, "reduce runs on the sim backend; bad --seed?");
	if (argc != 3)
		return usage_error(ctx, "reduce takes one scenario file");
	if (opt_max_attempts < 1)
		return usage_error(ctx, "--max-attempts must be 1 or more");
	if (!g_file_get_contents(argv[2], &text, &len, &gerr)) {
		fprintf(stderr, "%s: %s\n", argv[2], gerr->message);
		g_error_free(gerr);
		return GS_REDUCE_USAGE;
	}
	ro.max_attempts = (unsigned int)opt_max_attempts;
	st = gs_scenario_reduce(&o, &ro, argv[2], text, len, &res);
	g_free(text);
	/* The report goes to stderr: stdout may be the reduced scenario. */
	if (st == GS_REDUCE_NOTHING)
		fprintf(stderr, "%s: the scenario passes: nothing to reduce\n", argv[2]);
	else if (st == GS_REDUCE_MALFORMED)
		fprintf(stderr, "%s: malformed scenario (gmemsim run shows where)\n", argv[2]);
	else if (st == GS_REDUCE_USAGE && res.signature[0])
		fprintf(stderr, "%s: %s\n", argv[2], res.signature);
	if (st != GS_REDUCE_DONE)
		return st;
	fprintf(stderr,
		"%s: signature: %s\n%s: attempts: %u of at most %d%s\n"
		"%s: lines: %u -> %u (operations %u -> %u)\n",
		argv[2], res.signature, argv[2], res.attempts, opt_max_attempts,
		res.exhausted ? " (bound reached: not minimal)" : "", argv[2], res.lines_before,
		res.ops_after + 1, res.ops_before, res.ops_after);
	st = write_reduced(res.text);
	free(res.text);
	return st;
}

/* A whole number in [@min, @max] from option @name, or an error message on stderr. */
static int parse_count(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	if (!s)
		return 0;
	if (*s == '-' || gs_parse_u64(s, v) || *v < min || *v > max) {
		fprintf(stderr,
			"gmemsim: bad %s '%s' (a whole number from %" PRIu64 " to %" PRIu64 ")\n",
			name, s, min, max);
		return -1;
	}
	return 0;
}

/* @s among @names (index), -1 for "mix" or none given, -2 (after a message) otherwise. */
static int parse_choice(const char *name, const char *s, const char *const *names, int n)
{
	if (!s || !strcmp(s, "mix"))
		return -1;
	for (int i = 0; i < n; i++)
		if (!g_ascii_strcasecmp(s, names[i]))
			return i;
	fprintf(stderr, "gmemsim: bad %s '%s'\n", name, s);
	return -2;
}

/* --ops, --check-every, --plant: how inputs decode (fuzz and fuzz-decode). */
static int decode_opts(struct gs_fuzz_decode_opts *d)
{
	uint64_t ops = GS_FUZZ_DEFAULT_OPS, every = 0;

	if (parse_count("--ops", opt_ops, 1, GS_FUZZ_MAX_OPS, &ops) ||
	    parse_count("--check-every", opt_check_every, 0, GS_FUZZ_MAX_OPS, &every))
		return -1;
	for (unsigned int i = 0; opt_plant && opt_plant[i]; i++) {
		if (gs_test_bug_lookup(opt_plant[i]) < 0) {
			fprintf(stderr, "gmemsim: unknown --plant '%s'\n", opt_plant[i]);
			return -1;
		}
	}
	*d = (struct gs_fuzz_decode_opts){.max_ops = (unsigned int)ops,
					  .check_every = (unsigned int)every,
					  .plant = (const char *const *)opt_plant};
	return 0;
}

/* `fuzz-decode INPUT`: the program the bytes encode, on stdout. */
static int cmd_fuzz_decode(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_fuzz_decode_opts d;
	gchar *data = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	char *text;

	if (argc != 3)
		return usage_error(ctx, "fuzz-decode takes one input file");
	gs_scenario_init();
	if (decode_opts(&d))
		return GS_EXIT_USAGE;
	if (!g_file_get_contents(argv[2], &data, &len, &gerr)) {
		fprintf(stderr, "%s: %s\n", argv[2], gerr->message);
		g_error_free(gerr);
		return GS_EXIT_USAGE;
	}
	text = gs_fuzz_decode((const uint8_t *)data, len, &d);
	g_free(data);
	if (!text)
		return GS_EXIT_USAGE;
	fputs(text, stdout);
	free(text);
	return fflush(stdout) ? GS_EXIT_USAGE : GS_EXIT_OK;
}

static int fuzz_opts(struct gs_fuzz_campaign_opts *fo)
{
	static const char *const pages[] = {"4k", "2m", "1g"};
	static const char *const orders[] = {"planned", "v8", "wip", "rfc-v2"};
	uint64_t seed, runs = 0;
	double secs = 0;

	if (parse_seed(&seed) || parse_count("--runs", opt_runs, 1, UINT64_MAX, &runs) ||
	    decode_opts(&fo->decode))
		return -1;
	if (opt_seconds) {
		char *end;

		secs = g_ascii_strtod(opt_seconds, &end);
		if (*end || end == opt_seconds || !(secs > 0) || secs > 1e7) {
			fprintf(stderr, "gmemsim: bad --seconds '%s' (more than 0, at most 1e7)\n",
				opt_seconds);
			return -1;
		}
	}
	if (!runs && !opt_seconds) {
		fprintf(stderr, "gmemsim: fuzz needs --runs N or --seconds T\n");
		return -1;
	}
	fo->backing = parse_choice("--backing (4k, 2m, 1g, mix)", opt_backing, pages, 3);
	fo->ordering =
		parse_choice("--ordering (planned, v8, wip, rfc-v2, mix)", opt_ordering, orders, 4);
	if (fo->backing == -2 || fo->ordering == -2)
		return -1;
	if (opt_hvo_host && strcmp(opt_hvo_host, "resident") && strcmp(opt_hvo_host, "release")) {
		fprintf(stderr, "gmemsim: bad --hvo-host '%s' (resident or release)\n",
			opt_hvo_host);
		return -1;
	}
	fo->hvo_release = opt_hvo_host && !strcmp(opt_hvo_host, "release");
	fo->seed = seed;
	fo->runs = runs;
	fo->seconds = secs;
	fo->outdir = opt_output;
	fo->reduce = opt_reduce;
	fo->stop_on_find = opt_stop_on_find;
	fo->progress = stderr;
	return 0;
}

/* `fuzz`: the campaign; the seed first, the totals last. */
static int cmd_fuzz(GOptionContext *ctx, int argc)
{
	struct gs_fuzz_campaign_opts fo = {0};
	struct gs_fuzz_campaign_stats st;
	int ret;

	if (argc != 2)
		return usage_error(ctx, "fuzz takes no file (-o DIR saves the failures)");
	gs_scenario_init();
	if (fuzz_opts(&fo))
		return GS_EXIT_USAGE;
	fprintf(stderr, "fuzz: seed %" PRIu64 "\n", fo.seed);
	ret = gs_fuzz_campaign(&fo, &st);
	if (ret < 0) {
		fprintf(stderr, "gmemsim: fuzz: %s: %s\n", opt_output ? opt_output : "campaign",
			strerror(-ret));
		return GS_EXIT_USAGE;
	}
	printf("fuzz: seed %" PRIu64 ": %" PRIu64 " sequences, %" PRIu64 " operations, %" PRIu64
	       " failing, %u unique signatures\n",
	       fo.seed, st.execs, st.ops, st.failing, st.unique);
	if (st.first_find)
		printf("fuzz: first failure at sequence %" PRIu64 " after %.2f s: %s\n",
		       st.first_find, st.first_find_seconds, st.first_sig);
	if (st.first_reduced_ops)
		printf("fuzz: first failure reduced to %u operation lines\n", st.first_reduced_ops);
	return ret ? GS_EXIT_FAIL : GS_EXIT_OK;
}

/* One file: live where the host answers, else against its transcript if asked to. */
static int diff_one(const char *path, struct gs_diff_stats *st)
{
	const char *why = gs_live_probe();

	if (opt_record)
		return gs_diff_record_file(path, opt_record, stdout);
	if (!why || !opt_transcripts)
		return gs_diff_run_file(path, stdout, st);
	return gs_diff_replay_file(path, opt_transcripts, stdout, st);
}

/* Each file on the simulator and the kernel; the differing lines on stdout. */
static int cmd_diff(GOptionContext *ctx, int argc, char **argv)
{
	int worst = GS_EXIT_OK;
	bool all_skipped = true;

	if (argc < 3)
		return usage_error(ctx, "diff needs at least one FILE");
	if (opt_record && opt_transcripts)
		return usage_error(ctx, "diff takes --record or --transcripts, not both");
	if (opt_transcripts && gs_live_probe() && !opt_quiet)
		printf("the host cannot answer (%s): comparing against the transcripts in %s\n",
		       gs_live_probe(), opt_transcripts);
	for (int i = 2; i < argc; i++) {
		struct gs_diff_stats st = {0};
		int status = diff_one(argv[i], &st);

		if (status != GS_EXIT_SKIP)
			all_skipped = false;
		/* A skipped file was reported, with the reason, by the runner. */
		if (!opt_record && status != GS_EXIT_SKIP && status != GS_EXIT_USAGE && !opt_quiet)
			printf("%s: %s: %u lines compared, %u differ, %u intended, %u skipped\n",
			       argv[i], gs_scenario_exit_name(status), st.compared, st.differ,
			       st.intended, st.skipped);
		if (severity(status) > severity(worst))
			worst = status;
	}
	if (worst == GS_EXIT_SKIP && !all_skipped)
		worst = GS_EXIT_OK;
	return worst;
}

/* `sites --coverage FILE...`: the campaign, then what it reached per site. */
static int cmd_coverage(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_fail_nth_coverage *cov = g_new0(struct gs_fail_nth_coverage, 1);
	int st = cmd_fail_nth(ctx, argc, argv, cov);

	if (st != GS_EXIT_USAGE)
		gs_fail_nth_coverage_print(stdout, cov);
	g_free(cov);
	return st;
}

static int cmd_sites(void)
{
	printf("%-20s %10s %12s %10s  %s\n", "site", "live", "live bytes", "failed", "what");
	for (unsigned int i = 0; i < gs_site_count(); i++) {
		struct gs_site_stats st;

		gs_site_stats(i, &st);
		printf("%-20s %10" PRIu64 " %12" PRIu64 " %10" PRIu64 "  %s\n", st.name, st.live,
		       st.live_bytes, st.failed, st.desc);
	}
	return GS_EXIT_OK;
}

static const char *type_name(enum gs_arg_type t)
{
	switch (t) {
	case GS_ARG_U64:
		return "N";
	case GS_ARG_STR:
		return "WORD";
	case GS_ARG_FLAGS:
		return "A|B";
	case GS_ARG_ENUM:
		return "NAME";
	case GS_ARG_BOOL:
		return "";
	case GS_ARG_NONE:
		break;
	}
	return "";
}

/* "a|b|c" for a key's names, else the placeholder of its type. */
static void append_value(GString *g, const struct gs_key *key)
{
	if (!key->names) {
		g_string_append(g, type_name(key->type));
		return;
	}
	for (int n = 0; key->names[n]; n++)
		g_string_append_printf(g, "%s%s", n ? "|" : "", key->names[n]);
}

/* The line as a scenario writes it: verb, target, required keys, [optional keys]. */
static void print_usage(const struct gs_verb *v)
{
	GString *g = g_string_new(v->name);
	const char *target = v->usage_target;

	if (!target && v->target != GS_ARG_NONE)
		target = v->target == GS_ARG_U64 ? "N" : "NAME";
	if (target)
		g_string_append_printf(g, v->target_required ? " %s" : " [%s]", target);
	if (v->text)
		g_string_append(g, " TEXT...");
	for (int k = 0; v->keys && v->keys[k].name; k++) {
		const struct gs_key *key = &v->keys[k];

		g_string_append_printf(g, " %s%s", key->required ? "" : "[", key->name);
		if (key->type != GS_ARG_BOOL) {
			g_string_append_c(g, '=');
			append_value(g, key);
		}
		if (!key->required)
			g_string_append_c(g, ']');
	}
	printf("%s\n", g->str);
	g_string_free(g, TRUE);
}

static void print_verb(const struct gs_verb *v)
{
	print_usage(v);
	printf("    %s\n", v->summary ? v->summary : "");
	for (int k = 0; v->keys && v->keys[k].name; k++) {
		const struct gs_key *key = &v->keys[k];
		GString *line = g_string_new(NULL);

		g_string_append_printf(line, "%s%s%s", key->name,
				       key->type == GS_ARG_BOOL ? "" : "=", type_name(key->type));
		for (int n = 0; key->names && key->names[n]; n++)
			g_string_append_printf(line, "%s%s", n ? "|" : " (", key->names[n]);
		if (key->names)
			g_string_append_c(line, ')');
		printf("      %-32s %s%s\n", line->str, key->required ? "required; " : "",
		       key->help ? key->help : "");
		g_string_free(line, TRUE);
	}
	for (int o = 0; v->outputs && v->outputs[o]; o++)
		printf("      => %s=...\n", v->outputs[o]);
	if (v->strict)
		printf("      (strict: a line without => must succeed)\n");
	if (!(v->backends & GS_BACKEND_KERNEL))
		printf("      (simulator only)\n");
}

static int cmd_verbs(void)
{
	gs_scenario_init();
	for (unsigned int i = 0; gs_verb_nth(i); i++)
		print_verb(gs_verb_nth(i));
	printf("\nExpectation kinds (after =>, on any verb):\n");
	for (unsigned int i = 0; gs_expect_kind_nth(i); i++)
		printf("  %s\n", gs_expect_kind_nth(i)->summary);
	printf("  ? (the result) or KEY=? (a field): an answer left to fill in (workshop labs,\n"
	       "    docs/WORKSHOP.md): the line does not run, the run stops there\n");
	return GS_EXIT_OK;
}

/* A name or a path: the strategy, or NULL after a one-line reason. */
static const struct gs_strategy *resolve_strategy(const char *name)
{
	const struct gs_strategy *s;
	char why[320] = "no such strategy (gmemsim strategies lists them)";

	s = strchr(name, '/') ? gs_strategy_load(name, why, sizeof(why)) : gs_strategy_find(name);
	if (!s)
		fprintf(stderr, "gmemsim: strategy '%s': %s\n", name, why);
	return s;
}

/* --strategy: every VM of its flow runs it (run, fail-nth, reduce, fuzz). */
static int setup_strategy(void)
{
	const struct gs_strategy *s;

	if (!opt_strategy)
		return 0;
	s = resolve_strategy(opt_strategy);
	if (!s)
		return -1;
	gs_strategy_set_default(s);
	return 0;
}

static int cmd_check_strategy(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_check_strategy_opts o = {.fail_nth_max = (unsigned int)opt_fail_nth_max,
					   .max_attempts = (unsigned int)opt_max_attempts,
					   .out = stdout};
	char **defaults = NULL;
	int ret;

	if (argc < 3)
		return usage_error(ctx, "check-strategy needs a strategy (a name or ./file.so)");
	if (parse_seed(&o.seed) || parse_count("--runs", opt_runs, 0, 100000, &o.fuzz_runs))
		return GS_EXIT_USAGE;
	if (!opt_runs)
		o.fuzz_runs = 200;
	if (opt_fail_nth_max < 0 || opt_max_attempts < 1)
		return usage_error(ctx,
				   "--fail-nth-max must be 0 or more, --max-attempts 1 or more");
	gs_scenario_init();
	o.strategy = resolve_strategy(argv[2]);
	if (!o.strategy)
		return GS_EXIT_USAGE;
	o.files = argv + 3;
	o.nfiles = argc - 3;
	if (!o.nfiles) {
		defaults = gs_check_strategy_default_files(&o.nfiles);
		o.files = defaults;
	}
	if (!o.nfiles) {
		g_strfreev(defaults);
		fprintf(stderr,
			"gmemsim: check-strategy: no scenario files installed; name some\n");
		return GS_EXIT_USAGE;
	}
	ret = gs_check_strategy(&o);
	g_strfreev(defaults);
	return ret;
}

static int cmd_strategies(void)
{
	const struct gs_strategy *s;

	for (unsigned int i = 0; (s = gs_strategy_nth(i)); i++)
		printf("%-10s %-10s %s\n", s->ops->name,
		       gs_strategy_builtin(s->ops->flow)->ops->name,
		       s->ops->summary ? s->ops->summary : "");
	return GS_EXIT_OK;
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("COMMAND [FILE...]");
	GError *err = NULL;
	int status;

	/* Their options are their own (compare_cmd.c). */
	if (argc >= 2 && (!strcmp(argv[1], "compare") || !strcmp(argv[1], "workload"))) {
		g_option_context_free(ctx);
		return gs_cmd_compare_main(argc, argv);
	}
	g_option_context_set_summary(ctx, "Simulate Linux guest_memfd memory management.");
	g_option_context_set_description(ctx, description);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		usage_hint(err->message);
		g_error_free(err);
		g_option_context_free(ctx);
		return GS_EXIT_USAGE;
	}
	if (opt_version) {
		printf("gmemsim %s (allocator %s)\n", GS_VERSION, gs_allocator_name());
		status = GS_EXIT_OK;
	} else if (argc < 2) {
		status = usage_error(ctx, "no command given");
	} else if (setup_machine(!strncmp(argv[1], "fuzz", 4)) || setup_strategy()) {
		status = GS_EXIT_USAGE;
	} else if ((opt_show || opt_color) &&
		   (opt_fail_nth || (strcmp(argv[1], "run") && strcmp(argv[1], "demo")))) {
		status = usage_error(ctx,
				     "--show and --color are for run and demo (not --fail-nth)");
	} else if (!strcmp(argv[1], "run") && opt_fail_nth) {
		status = cmd_fail_nth(ctx, argc, argv, NULL);
	} else if (!strcmp(argv[1], "run")) {
		status = cmd_run(ctx, argc, argv, false);
	} else if (!strcmp(argv[1], "render")) {
		status = cmd_render(ctx, argc, argv);
	} else if (!strcmp(argv[1], "diff")) {
		status = cmd_diff(ctx, argc, argv);
	} else if (!strcmp(argv[1], "reduce")) {
		status = cmd_reduce(ctx, argc, argv);
	} else if (!strcmp(argv[1], "fuzz")) {
		status = cmd_fuzz(ctx, argc);
	} else if (!strcmp(argv[1], "export-selftest")) {
		status = cmd_export_selftest(ctx, argc, argv);
	} else if (!strcmp(argv[1], "fuzz-decode")) {
		status = cmd_fuzz_decode(ctx, argc, argv);
	} else if (!strcmp(argv[1], "demo")) {
		status = argc > 2 ? usage_error(ctx, "demo takes no file")
				  : cmd_run(ctx, argc, argv, true);
	} else if (!strcmp(argv[1], "sites") && opt_coverage) {
		status = cmd_coverage(ctx, argc, argv);
	} else if (!strcmp(argv[1], "sites")) {
		status = cmd_sites();
	} else if (!strcmp(argv[1], "verbs")) {
		status = cmd_verbs();
	} else if (!strcmp(argv[1], "check-strategy")) {
		status = cmd_check_strategy(ctx, argc, argv);
	} else if (!strcmp(argv[1], "strategies")) {
		status = cmd_strategies();
	} else {
		gchar *msg = g_strdup_printf("unknown command '%s'", argv[1]);

		status = usage_error(ctx, msg);
		g_free(msg);
	}
	g_option_context_free(ctx);
	g_free(opt_backend);
	g_free(opt_trace);
	g_free(opt_seed);
	g_free(opt_record);
	g_free(opt_transcripts);
	g_free(opt_output);
	g_free(opt_runs);
	g_free(opt_seconds);
	g_free(opt_ordering);
	g_free(opt_ops);
	g_free(opt_check_every);
	g_strfreev(opt_plant);
	g_free(opt_fail_nth_mode);
	g_free(opt_strategy);
	g_free(opt_show);
	g_free(opt_color);
	return status;
}
