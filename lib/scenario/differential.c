// SPDX-License-Identifier: MIT
/*
 * The differential runner. A scenario runs once per backend with every
 * line's result printed (the runner's verbose output, parsed back here),
 * then the two results of each line are compared as text: return value or
 * errno, signal, and every output field. Lines a backend skipped are
 * counted, not compared. Divergences the project intends are the entries
 * of divergences[] below, the one list of them; docs/DIFFERENTIAL.md
 * explains each.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmemsim/differential.h>
#include <gmemsim/scenario.h>

/**
 * struct divergence - a difference between the backends that is meant
 * @verb: the line's verb, or NULL for any
 * @field: the result field left out of the comparison
 * @applies: does it apply to this line (@src) of this scenario (@text)? NULL: always
 * @reason: why; printed with every line it excuses
 */
struct divergence {
	const char *verb;
	const char *field;
	bool (*applies)(const char *text, const char *src);
	const char *reason;
};

/*
 * The simulator reports st_blocks as the bytes allocated, by design (spec
 * §1.2.12 notes upstream reports 0); under profile=upstream it reports 0 as
 * upstream does and the field is compared. The runner gives the simulator
 * that profile (upstream_profile()) unless the scenario asks for
 * profile=design or is about HugeTLB; a line does not say which file's
 * profile applies, so in such a scenario st_blocks is left out on every line.
 */
static bool design_profile_scenario(const char *text, const char *src)
{
	(void)src;
	return strstr(text, "profile=design") || strstr(text, "hugetlb");
}

/* For the line that creates the VM: its own profile decides (as the simulator ran it). */
static bool design_profile_line(const char *text, const char *src)
{
	(void)text;
	return !strstr(src, "profile=upstream");
}

/*
 * The intended divergences. Also intended, but not reachable by the verbs
 * both backends run, so not filtered here (see docs/DIFFERENTIAL.md):
 * statfs magic (the simulator has no filesystem), KVM_SET_MEMORY_ATTRIBUTES
 * (ENOTTY on a kernel without CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES: no verb
 * issues it), fallocate ENOMEM (the simulator rolls back; it is only
 * reached by fault injection, a simulator-only verb), and HugeTLB,
 * page_order and private-memory VMs (the kernel backend skips those lines).
 */
static const struct divergence divergences[] = {
	{NULL, "blocks", design_profile_scenario,
	 "st_blocks counts allocated bytes (project design)"},
	{"vm", "gmem_flags", design_profile_line,
	 "the design profile also offers GUEST_MEMFD_FLAG_HUGETLB (spec §4, a later design)"},
};

/* Between a line's source and its result: a byte no scenario line holds. */
#define SEP "\037"

/* The lines one backend ran, each as "source SEP result". */
struct run_lines {
	GHashTable *by_line; /* line number -> g_strdup'd "source SEP result" */
	unsigned int max_line;
	int status;
	char *errors;
};

/* Take "NAME:LINE: SRC -> RESULT" apart; false for any other output line. */
static bool parse_verbose_line(const char *name, char *l, unsigned int *line, char **src,
			       char **result)
{
	size_t nlen = strlen(name);
	char *p, *arrow = NULL, *next;

	if (strncmp(l, name, nlen) || l[nlen] != ':')
		return false;
	*line = (unsigned int)strtoul(l + nlen + 1, &p, 10);
	if (*p != ':' || p[1] != ' ')
		return false;
	p += 2;
	/* The result is after the last " -> ": the source line may hold one. */
	for (next = strstr(p, " -> "); next; next = strstr(next + 1, " -> "))
		arrow = next;
	if (!arrow)
		return false;
	*arrow = '\0';
	*result = arrow + 4;
	*src = p;
	return true;
}

static void collect_lines(const char *name, char *out, struct run_lines *rl)
{
	char *save = NULL;

	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned int line;
		char *src, *result;

		if (!parse_verbose_line(name, l, &line, &src, &result))
			continue;
		g_hash_table_replace(rl->by_line, GUINT_TO_POINTER(line),
				     g_strdup_printf("%s" SEP "%s", src, result));
		rl->max_line = MAX(rl->max_line, line);
	}
}

static int run_backend(enum gs_backend backend, const char *name, const char *text, size_t len,
		       struct run_lines *rl)
{
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
	struct gs_scenario_opts opts = {
		.backend = backend,
		.out = fo,
		.err = fe,
		.verbose = true,
		.quiet = true,
		/* Every line must run: a failed expectation is not what is compared. */
		.keep_going = true,
	};
	struct gs_scenario *s = fo && fe ? gs_scenario_new(&opts) : NULL;

	rl->by_line = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	rl->status = GS_EXIT_USAGE;
	if (s) {
		rl->status = gs_scenario_run_buffer(s, name, text, len);
		gs_scenario_free(s);
	}
	if (fo)
		fclose(fo);
	if (fe)
		fclose(fe);
	if (out)
		collect_lines(name, out, rl);
	free(out);
	rl->errors = err;
	return rl->status;
}

static void run_lines_free(struct run_lines *rl)
{
	if (rl->by_line)
		g_hash_table_destroy(rl->by_line);
	free(rl->errors);
}

/*
 * @result of line @src without the fields its intended divergences leave
 * out; @why is set to the reason of one that did.
 */
static GString *comparable(const char *text, const char *src, const char *result, const char **why)
{
	size_t vlen = strcspn(src, " \t");
	GString *g = g_string_new(NULL);
	gchar **tok = g_strsplit(result, " ", -1);

	for (gchar **t = tok; *t; t++) {
		bool drop = false;

		for (size_t i = 0; i < G_N_ELEMENTS(divergences); i++) {
			const struct divergence *d = &divergences[i];
			size_t flen = strlen(d->field);

			if (d->verb && (strlen(d->verb) != vlen || strncmp(d->verb, src, vlen)))
				continue;
			if (d->applies && !d->applies(text, src))
				continue;
			if (!strncmp(*t, d->field, flen) && (*t)[flen] == '=') {
				drop = true;
				*why = d->reason;
			}
		}
		if (!drop)
			g_string_append_printf(g, "%s%s", g->len ? " " : "", *t);
	}
	g_strfreev(tok);
	return g;
}

/* Compare one line; report it to @out if it differs beyond the intended. */
static void compare_line(const char *name, const char *text, unsigned int line, const char *sim,
			 const char *kern, FILE *out, struct gs_diff_stats *st)
{
	const char *sr = sim ? strchr(sim, SEP[0]) + 1 : "(no result)";
	const char *kr = kern ? strchr(kern, SEP[0]) + 1 : "(no result)";
	const char *why = NULL;
	char *src;
	GString *a, *b;

	if (!strcmp(sr, "skipped") || !strcmp(kr, "skipped")) {
		st->skipped++;
		return;
	}
	st->compared++;
	if (!strcmp(sr, kr))
		return;
	src = g_strndup(sim ? sim : kern,
			(size_t)(strchr(sim ? sim : kern, SEP[0]) - (sim ? sim : kern)));
	a = comparable(text, src, sr, &why);
	b = comparable(text, src, kr, &why);
	g_free(src);
	if (sim && kern && g_string_equal(a, b)) {
		st->intended++;
		fprintf(out, "%s:%u: intended: sim %s, kernel %s: %s\n", name, line, sr, kr, why);
	} else {
		st->differ++;
		fprintf(out, "%s:%u: sim %s, kernel %s\n", name, line, sr, kr);
	}
	g_string_free(a, true);
	g_string_free(b, true);
}

/* A run that could not complete decides the outcome: report its errors. */
static int run_failure(const char *name, const struct run_lines *rl, const char *backend, FILE *out)
{
	if (rl->status != GS_EXIT_SYNTAX && rl->status != GS_EXIT_LEAK &&
	    rl->status != GS_EXIT_USAGE)
		return GS_EXIT_OK;
	fprintf(out, "%s: the %s run ended %s:\n%s", name, backend,
		gs_scenario_exit_name(rl->status), rl->errors ? rl->errors : "");
	return rl->status;
}

static bool ran_to_end(const struct run_lines *rl)
{
	return rl->status == GS_EXIT_OK || rl->status == GS_EXIT_FAIL;
}

/*
 * Verbs that change state only the simulator has: fault injection, memory
 * failure, long-term pins. The kernel skips them, so from the first one on
 * the two backends no longer run the same history. Returns its line, or 0.
 */
static unsigned int first_sim_only_state(const char *text)
{
	/* pin runs on both (an io_uring fixed buffer on the kernel). */
	static const char *const verbs[] = {"inject", "poison"};
	unsigned int line = 1;

	for (const char *l = text; *l; line++) {
		size_t n;

		l += strspn(l, " \t");
		n = strcspn(l, " \t\r\n#");
		for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
			if (n == strlen(verbs[i]) && !strncmp(l, verbs[i], n))
				return line;
		l = strchr(l, '\n');
		if (!l)
			break;
		l++;
	}
	return 0;
}

/* Cut @text just before line @line (1-based). */
static void truncate_at_line(char *text, unsigned int line)
{
	char *p = text;

	while (--line && (p = strchr(p, '\n')))
		p++;
	if (p)
		*p = '\0';
}

/*
 * The simulator runs under its upstream profile: every `vm` and `gmem` line
 * that names no profile gets profile=upstream, so st_blocks and the
 * advertised flags are compared too. Lines the kernel skips (other VM
 * types, page sizes, private-memory VMs) and scenarios about HugeTLB keep
 * the design profile they need. Line numbers do not change.
 */
static char *upstream_profile(const char *text)
{
	GString *g = g_string_new(NULL);
	gchar **lines;

	/* A scenario about HugeTLB is about the design: leave it as written. */
	if (strstr(text, "hugetlb"))
		return g_strdup(text);
	lines = g_strsplit(text, "\n", -1);

	for (gchar **l = lines; *l; l++) {
		const char *p = *l + strspn(*l, " \t");
		size_t n = strcspn(p, " \t\r#=");
		bool creates =
			(n == 2 && !strncmp(p, "vm", 2)) || (n == 4 && !strncmp(p, "gmem", 4));
		size_t body = strcspn(*l, "#\r");
		char *arrow = g_strstr_len(*l, (gssize)body, "=>");

		if (arrow)
			body = (size_t)(arrow - *l);
		if (creates && !strstr(*l, "profile=") && !strstr(*l, "type=") &&
		    !strstr(*l, "page=") && !strstr(*l, "order=") && !strstr(*l, "vm_private"))
			g_string_append_printf(g, "%.*s profile=upstream %s", (int)body, *l,
					       *l + body);
		else
			g_string_append(g, *l);
		if (l[1])
			g_string_append_c(g, '\n');
	}
	g_strfreev(lines);
	return g_string_free(g, false);
}

int gs_diff_run_buffer(const char *name, const char *text, size_t len, FILE *out,
		       struct gs_diff_stats *st)
{
	struct run_lines sim = {0}, kern = {0};
	struct gs_diff_stats local = {0};
	char *z = g_strndup(text, len); /* the applies() hooks read it as a string */
	unsigned int cutoff = first_sim_only_state(z);
	char *sim_text;
	bool complete;
	int status;

	st = st ? st : &local;
	*st = (struct gs_diff_stats){0};
	if (cutoff) {
		/* Run only the common history: the lines before that verb. */
		fprintf(out,
			"%s:%u: this and later lines are not run: the verb changes state only "
			"the simulator has\n",
			name, cutoff);
		truncate_at_line(z, cutoff);
	}
	if (run_backend(GS_BACKEND_KERNEL, name, z, strlen(z), &kern) == GS_EXIT_SKIP) {
		fprintf(out, "%s: skipped: /dev/kvm cannot be opened\n", name);
		status = GS_EXIT_SKIP;
		goto out;
	}
	sim_text = upstream_profile(z);
	run_backend(GS_BACKEND_SIM, name, sim_text, strlen(sim_text), &sim);
	complete = ran_to_end(&sim) && ran_to_end(&kern);
	for (unsigned int l = 1; l <= MAX(sim.max_line, kern.max_line); l++) {
		const char *a = g_hash_table_lookup(sim.by_line, GUINT_TO_POINTER(l));
		const char *b = g_hash_table_lookup(kern.by_line, GUINT_TO_POINTER(l));

		/* After a run stopped early, only lines both ran can be compared. */
		if ((a && b) || ((a || b) && complete))
			compare_line(name, sim_text, l, a, b, out, st);
	}
	g_free(sim_text);
	status = run_failure(name, &sim, "sim", out) ?: run_failure(name, &kern, "kernel", out);
	if (!status && st->differ)
		status = GS_EXIT_FAIL;
out:
	run_lines_free(&sim);
	run_lines_free(&kern);
	g_free(z);
	return status;
}

int gs_diff_run_file(const char *path, FILE *out, struct gs_diff_stats *st)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	int status;

	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		fprintf(out, "%s: %s\n", path, gerr->message);
		g_error_free(gerr);
		return GS_EXIT_USAGE;
	}
	status = gs_diff_run_buffer(path, text, len, out, st);
	g_free(text);
	return status;
}
