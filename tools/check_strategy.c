// SPDX-License-Identifier: MIT
/*
 * `gmemsim check-strategy STRATEGY [FILE...]`: the battery a restructuring
 * strategy (include/gmemsim/strategy.h) must pass, run against it: the
 * conversion and restructuring scenarios with the oracle, each of them
 * under fail-nth with the oracle, and a bounded fuzz campaign with the
 * oracle; pass or fail per part, and the first failing scenario reduced.
 * What a kernel developer's CI would run on a new split/merge policy; no
 * kernel code is mirrored.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/reduce.h>
#include <gmemsim/rng.h>
#include <gmemsim/scenario.h>
#include <gmemsim/strategy.h>
#include "check_strategy.h"
#include "config.h"

/* A finding worth reducing: the first scenario of a part that failed. */
struct first_fail {
	char *name;
	char *text;
	char sig[GS_REDUCE_SIG_LEN];
};

static void first_fail_set(struct first_fail *ff, const char *name, const char *text,
			   const char *sig)
{
	if (ff->text)
		return;
	ff->name = g_strdup(name);
	ff->text = g_strdup(text);
	snprintf(ff->sig, sizeof(ff->sig), "%s", sig);
}

static void first_fail_free(struct first_fail *ff)
{
	g_free(ff->name);
	g_free(ff->text);
}

/* Where the quote-aware scan of @line finds "=>" before any comment, or NULL. */
static char *find_expectation(char *line)
{
	bool quoted = false;

	for (char *c = line; *c; c++) {
		if (*c == '"')
			quoted = !quoted;
		else if (!quoted && *c == '#')
			return NULL;
		else if (!quoted && c[0] == '=' && c[1] == '>')
			return c;
	}
	return NULL;
}

/*
 * The scenario with the built-in's answers taken out (a file that names
 * the strategy on a `vm` line keeps them: names_strategy()): every `=>` goes
 * (check lines keep theirs) after a `strict off`, so a strategy of its own
 * is judged by the checkers, the oracle, WARNs and leaks, not by the
 * answers the kernel's ordering gives.
 */
static char *strip_expectations(const char *text)
{
	gchar **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_new("strict off\n");

	for (unsigned int i = 0; lines[i]; i++) {
		const char *word = lines[i] + strspn(lines[i], " \t");
		char *arrow = strncmp(word, "check", 5) ? find_expectation(lines[i]) : NULL;

		if (arrow)
			*arrow = '\0';
		g_string_append(out, lines[i]);
		if (lines[i + 1])
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

/*
 * Whether the scenario files' answers are @s's: a built-in that is its
 * flow's own ordering (planned, v8, wip, rfc-v2). optimized and thp
 * (planned's steps with other choices, or over THP-backed files) and
 * punch-hole give other answers, and are held to their own.
 */
static bool answers_are_its(const struct gs_strategy *s)
{
	return s->builtin && gs_strategy_builtin(s->ops->flow) == s &&
	       s->ops->flow <= GS_FLOW_RFC_V2;
}

/*
 * A strategy of a flow no scenario or fuzz sequence is written for
 * (punch-hole): every `vm` line names it instead of its ordering, or
 * nothing would run it.
 */
static bool retarget(const struct gs_strategy *s)
{
	return s->ops->flow > GS_FLOW_RFC_V2;
}

/* @line, a `vm` line, naming @s (the path it was loaded from, or its name) instead of an ordering. */
static void retarget_vm_line(GString *out, const char *line, const struct gs_strategy *s)
{
	gchar **words = g_strsplit_set(line, " \t", -1);
	bool added = false;

	for (unsigned int i = 0, n = 0; words[i]; i++) {
		const char *w = words[i];

		if (!*w || !strncmp(w, "conversion=", 11) || !strncmp(w, "strategy=", 9))
			continue;
		if (!added && (*w == '#' || !strcmp(w, "=>"))) {
			g_string_append_printf(out, " strategy=%s",
					       s->path ? s->path : s->ops->name);
			added = true;
		}
		g_string_append_printf(out, "%s%s", n++ ? " " : "", w);
	}
	if (!added)
		g_string_append_printf(out, " strategy=%s", s->path ? s->path : s->ops->name);
	g_strfreev(words);
}

static bool is_vm_line(const char *line)
{
	const char *w = line + strspn(line, " \t");

	return !strncmp(w, "vm", 2) && (w[2] == ' ' || w[2] == '\t');
}

/* @text with every `vm` line retargeted to @s (retarget()). */
static char *retarget_text(const char *text, const struct gs_strategy *s)
{
	gchar **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_new(NULL);

	for (unsigned int i = 0; lines[i]; i++) {
		if (is_vm_line(lines[i]))
			retarget_vm_line(out, lines[i], s);
		else
			g_string_append(out, lines[i]);
		if (lines[i + 1])
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

/* Whether @line is a `vm` line with `strategy=` naming @s (its name, or the path it was loaded from). */
static bool vm_line_names(const char *line, const struct gs_strategy *s)
{
	gchar **words = g_strsplit_set(line, " \t", -1);
	bool vm = false, names = false;

	for (unsigned int i = 0, n = 0; words[i] && !names; i++) {
		const char *w = words[i];

		if (!*w)
			continue;
		if (*w == '#' || !strcmp(w, "=>"))
			break;
		if (n++ == 0) {
			vm = !strcmp(w, "vm");
			if (!vm)
				break;
		} else if (!strncmp(w, "strategy=", 9)) {
			w += 9;
			names = !strcmp(w, s->ops->name) || (s->path && !strcmp(w, s->path));
		}
	}
	g_strfreev(words);
	return names;
}

/*
 * A file written for @s: one of its `vm` lines names it. Its `=>` are the
 * strategy's own answers, so they are kept.
 */
static bool names_strategy(const char *text, const struct gs_strategy *s)
{
	gchar **lines = g_strsplit(text, "\n", -1);
	bool names = false;

	for (unsigned int i = 0; lines[i] && !names; i++)
		names = vm_line_names(lines[i], s);
	g_strfreev(lines);
	return names;
}

static char *scenario_text(const struct gs_check_strategy_opts *o, const char *path, bool *kept)
{
	gchar *data = NULL;
	GError *err = NULL;
	char *text;

	if (!g_file_get_contents(path, &data, NULL, &err)) {
		fprintf(stderr, "check-strategy: %s\n", err->message);
		g_error_free(err);
		return NULL;
	}
	*kept = !answers_are_its(o->strategy) && names_strategy(data, o->strategy);
	if (answers_are_its(o->strategy) || *kept)
		return data;
	text = strip_expectations(data);
	g_free(data);
	if (retarget(o->strategy)) {
		data = retarget_text(text, o->strategy);
		g_free(text);
		text = data;
	}
	return text;
}

static struct gs_scenario_opts run_opts(const struct gs_check_strategy_opts *o)
{
	return (struct gs_scenario_opts){
		.seed = o->seed,
		.backend = GS_BACKEND_SIM,
		.oracle = true,
	};
}

/*
 * gs_scenario_signature() in a child: each file starts from a fresh
 * process, as `gmemsim run FILE` does (some counters a scenario reads, such
 * as get_pfn's mapping_order_short, live as long as the process).
 */
static int signature_in_child(const struct gs_scenario_opts *so, const char *name, const char *text,
			      char *sig, size_t siglen)
{
	int fds[2], status, st;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe(fds))
		return GS_EXIT_USAGE;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return GS_EXIT_USAGE;
	}
	if (!pid) {
		close(fds[0]);
		st = gs_scenario_signature(so, name, text, strlen(text), sig, siglen);
		n = write(fds[1], sig, strlen(sig));
		_exit(n < 0 ? GS_EXIT_USAGE : st);
	}
	close(fds[1]);
	n = read(fds[0], sig, siglen - 1);
	sig[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		snprintf(sig, siglen, "crash: the run ended by a signal");
		return GS_EXIT_FAIL;
	}
	return WEXITSTATUS(status);
}

/* Part 1: each file once, with the oracle, in a process of its own. */
static bool part_scenarios(const struct gs_check_strategy_opts *o, struct first_fail *ff)
{
	struct gs_scenario_opts so = run_opts(o);
	unsigned int failed = 0, nkept = 0;
	char sig[GS_REDUCE_SIG_LEN];

	for (int i = 0; i < o->nfiles; i++) {
		bool kept = false;
		char *text = scenario_text(o, o->files[i], &kept);
		int st = text ? signature_in_child(&so, o->files[i], text, sig, sizeof(sig))
			      : GS_EXIT_USAGE;

		if (st != GS_EXIT_OK) {
			if (!failed)
				fprintf(o->out, "scenarios: %s: %s\n", o->files[i],
					st == GS_EXIT_FAIL ? sig : gs_scenario_exit_name(st));
			failed++;
			if (st == GS_EXIT_FAIL)
				first_fail_set(ff, o->files[i], text, sig);
		}
		nkept += kept;
		g_free(text);
	}
	fprintf(o->out, "scenarios: %s (%d files, %u failing, with the oracle%s",
		failed ? "FAIL" : "pass", o->nfiles, failed,
		answers_are_its(o->strategy) || nkept == (unsigned int)o->nfiles
			? ""
			: "; the built-in's answers taken out");
	if (nkept)
		fprintf(o->out, "; %u naming the strategy, answers kept", nkept);
	fprintf(o->out, ")\n");
	return !failed;
}

/* Part 2: each file under fail-nth with the oracle; findings go to a file, the first is shown. */
static bool part_fail_nth(const struct gs_check_strategy_opts *o)
{
	struct gs_scenario_opts so = run_opts(o);
	unsigned long injections = 0, findings = 0;
	FILE *log = tmpfile(), *sink = fopen("/dev/null", "w");
	char line[512];

	if (!log || !sink) {
		fprintf(o->out, "fail-nth: FAIL (cannot open a temporary file: %s)\n",
			strerror(errno));
		if (log)
			fclose(log);
		if (sink)
			fclose(sink);
		return false;
	}
	for (int i = 0; i < o->nfiles; i++) {
		struct gs_fail_nth_opts fo = {
			.max = o->fail_nth_max, .seed = o->seed, .out = sink, .err = log};
		struct gs_fail_nth_stats st = {0};
		bool kept;
		char *text = scenario_text(o, o->files[i], &kept);
		int ret = text ? gs_scenario_fail_nth_buffer(&so, &fo, o->files[i], text,
							     strlen(text), &st)
			       : GS_EXIT_USAGE;

		injections += st.injections;
		findings += st.findings + (ret != GS_EXIT_OK && !st.findings);
		g_free(text);
	}
	rewind(log);
	if (findings && fgets(line, sizeof(line), log))
		fprintf(o->out, "fail-nth: first finding: %s%s", line,
			strchr(line, '\n') ? "" : "\n");
	fprintf(o->out, "fail-nth: %s (%d files, %lu injections, %lu findings)\n",
		findings ? "FAIL" : "pass", o->nfiles, injections, findings);
	fclose(log);
	fclose(sink);
	return !findings;
}

/* Part 3: random sequences of the strategy's flow, with the oracle. */
static bool part_fuzz(const struct gs_check_strategy_opts *o, struct first_fail *ff)
{
	uint8_t data[GS_FUZZ_HEADER + GS_FUZZ_DEFAULT_OPS * GS_FUZZ_OP_SIZE];
	char sig[GS_REDUCE_SIG_LEN];
	uint64_t failing = 0, i;
	struct gs_rng rng;

	gs_rng_seed(&rng, o->seed);
	for (i = 0; i < o->fuzz_runs && !failing; i++) {
		char *text;

		for (size_t b = 0; b < sizeof(data); b++)
			data[b] = (uint8_t)gs_rng_next(&rng);
		gs_fuzz_header_set(data, -1,
				   retarget(o->strategy) ? 0 : (int)o->strategy->ops->flow);
		text = gs_fuzz_decode(data, sizeof(data), NULL);
		if (text && retarget(o->strategy)) {
			char *t = retarget_text(text, o->strategy);

			free(text);
			text = t;
		}
		if (!text) {
			fprintf(o->out, "fuzz: FAIL (out of memory)\n");
			return false;
		}
		if (gs_fuzz_run(text, strlen(text), sig, sizeof(sig))) {
			failing++;
			fprintf(o->out, "fuzz: sequence %" PRIu64 ": %s\n", i, sig);
			first_fail_set(ff, "fuzz.gms", text, sig);
		}
		free(text);
	}
	fprintf(o->out, "fuzz: %s (%" PRIu64 " sequences of the %s flow, seed %" PRIu64 ")\n",
		failing ? "FAIL" : "pass", i,
		gs_strategy_builtin(o->strategy->ops->flow)->ops->name, o->seed);
	return !failing;
}

/* The first failing scenario, reduced, on the output: what to debug first. */
static void print_reduced(const struct gs_check_strategy_opts *o, const struct first_fail *ff)
{
	struct gs_scenario_opts so = run_opts(o);
	struct gs_reduce_opts ro = {.max_attempts = o->max_attempts};
	struct gs_reduce_result res = {0};
	int st = gs_scenario_reduce(&so, &ro, ff->name, ff->text, strlen(ff->text), &res);

	if (st != GS_REDUCE_DONE) {
		fprintf(o->out, "first failure (%s: %s): not reducible (%s)\n", ff->name, ff->sig,
			st == GS_REDUCE_NOTHING ? "it passes when run alone" : "it crashes");
		return;
	}
	fprintf(o->out,
		"first failure, reduced from %u to %u operation lines "
		"(gmemsim run --oracle --strategy %s FILE):\n%s",
		res.ops_before, res.ops_after,
		o->strategy->path ? o->strategy->path : o->strategy->ops->name, res.text);
	free(res.text);
}

int gs_check_strategy(const struct gs_check_strategy_opts *o)
{
	struct first_fail ff = {0};
	bool ok = true;

	gs_strategy_set_default(o->strategy);
	fprintf(o->out, "check-strategy: %s%s%s: %s\n", o->strategy->ops->name,
		o->strategy->path ? " from " : "", o->strategy->path ? o->strategy->path : "",
		o->strategy->ops->summary ? o->strategy->ops->summary : "");
	ok &= part_scenarios(o, &ff);
	ok &= part_fail_nth(o);
	ok &= part_fuzz(o, &ff);
	if (ff.text)
		print_reduced(o, &ff);
	fprintf(o->out, "check-strategy: %s: %s\n", o->strategy->ops->name, ok ? "PASS" : "FAIL");
	first_fail_free(&ff);
	gs_strategy_set_default(NULL);
	return ok ? GS_EXIT_OK : GS_EXIT_FAIL;
}

static int cmp_path(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The installed scenario files, or the source tree's: convert-*.gms and restructure-*.gms. */
char **gs_check_strategy_default_files(int *n)
{
	const char *dirs[] = {GS_SCENARIO_DIR, GS_SRCDIR "/tests/scenarios"};
	GPtrArray *files = g_ptr_array_new();

	for (unsigned int d = 0; d < G_N_ELEMENTS(dirs) && !files->len; d++) {
		GDir *dir = g_dir_open(dirs[d], 0, NULL);
		const char *name;

		while (dir && (name = g_dir_read_name(dir)))
			if (g_str_has_suffix(name, ".gms") &&
			    (g_str_has_prefix(name, "convert-") ||
			     g_str_has_prefix(name, "restructure-")))
				g_ptr_array_add(files, g_build_filename(dirs[d], name, NULL));
		if (dir)
			g_dir_close(dir);
	}
	g_ptr_array_sort(files, cmp_path);
	*n = (int)files->len;
	g_ptr_array_add(files, NULL);
	return (char **)g_ptr_array_free(files, FALSE);
}
