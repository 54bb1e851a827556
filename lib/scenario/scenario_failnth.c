// SPDX-License-Identifier: MIT
/*
 * The scenario-wide fail-nth runner: the kernel's /proc/<pid>/fail-nth and
 * SQLite's OOM loop applied to whole scenarios. A clean run counts the fault
 * injector's queries per line; a replay then forks, before each line, one
 * child per query to fail, so every attempt starts from exactly the state the
 * clean run had there without re-running the prefix. A child fails the nth
 * query once, runs the line, and holds it to the kernel's contract for a
 * failed allocation: the errno is ENOMEM and nothing changed (a state dump
 * before and after are equal). It then runs the line again, uninjected, and
 * the rest of the scenario, whose expectations, checks and leak-free
 * teardown must all still hold. Children keep the caller's library state
 * (pools, WARN_ONCE flags, allocator counters) untouched, and a crash is
 * caught as a child's signal rather than ending the run. A failure is
 * transient (the kernel's fail-nth) or persistent for the rest of the line
 * (SQLite's persistent OOM, which reaches the rollback paths' own
 * allocations); with the oracle on it follows every run and judges each
 * injected attempt's answer. The children add what they reached to a
 * per-site census, the campaign's coverage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include <gmemsim/sites.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/scenario_int.h>

/* The state as its text form; *violations gets the checks' count. */
static char *dump_string(struct gs_scenario *s, unsigned long *violations)
{
	struct gs_state *st = gs_scenario_state(s);
	const char *v = gs_state_get(st, "checks", "violations");
	char *text = gs_state_text(st);

	if (violations)
		*violations = v ? strtoul(v, NULL, 10) : ULONG_MAX;
	gs_state_free(st);
	return text;
}

/*
 * Print the lines where @a and @b differ as one unified-diff hunk: the
 * common head and tail are cut, up to three lines of context kept, and each
 * side capped so a large difference stays readable.
 */
static void print_diff(FILE *f, const char *a, const char *b)
{
	gchar **la = g_strsplit(a, "\n", -1), **lb = g_strsplit(b, "\n", -1);
	guint na = g_strv_length(la), nb = g_strv_length(lb), head = 0, tail = 0, ctx;
	const guint cap = 20;

	while (head < na && head < nb && !strcmp(la[head], lb[head]))
		head++;
	while (tail < na - head && tail < nb - head &&
	       !strcmp(la[na - 1 - tail], lb[nb - 1 - tail]))
		tail++;
	ctx = head < 3 ? head : 3;
	fprintf(f, "  --- before\n  +++ after\n  @@ -%u,%u +%u,%u @@\n", head - ctx + 1,
		na - head - tail + ctx, head - ctx + 1, nb - head - tail + ctx);
	for (guint i = head - ctx; i < head; i++)
		fprintf(f, "   %s\n", la[i]);
	for (guint i = head; i < na - tail && i < head + cap; i++)
		fprintf(f, "  -%s\n", la[i]);
	if (na - tail > head + cap)
		fprintf(f, "  ... %u more removed lines\n", na - tail - head - cap);
	for (guint i = head; i < nb - tail && i < head + cap; i++)
		fprintf(f, "  +%s\n", lb[i]);
	if (nb - tail > head + cap)
		fprintf(f, "  ... %u more added lines\n", nb - tail - head - cap);
	g_strfreev(la);
	g_strfreev(lb);
}

/* --- the runner --- */

/* What the clean run saw of one operation. */
struct fn_line {
	unsigned long queries; /* fault-injector queries it made */
	bool ok;	       /* it succeeded (ret >= 0, no signal) */
	char result[160];      /* its result as printed, e.g. "0 nr=4 free=4" */
	size_t dump_off;       /* the state dump after it, in fn_ctx.dumps */
	size_t dump_len;       /* 0: not kept (the dumps area was full) */
};

/*
 * The clean run's state dumps, one per line, kept in a shared mapping so an
 * attempt whose failure was absorbed can be compared with the state the
 * clean run reached. Untouched pages cost nothing.
 */
#define FN_DUMPS_SIZE (64UL << 20)

/* What the children share with the parent: counters, and the clean run's census. */
struct fn_shared {
	struct gs_fail_nth_stats st;
	unsigned int phase_line; /* line a child is running, for crash reports */
	size_t dumps_used;
	char phase[48];
	struct gs_fail_nth_coverage cov; /* this file's, added to fo.coverage at the end */
	struct fn_line lines[];		 /* per operation, from the clean run */
};

struct fn_ctx {
	struct gs_scenario_opts sopts; /* for the children's runs: quiet, sim */
	struct gs_fail_nth_opts fo;
	struct gs_script *script;
	struct fn_shared *sh;
	size_t sh_size;
	char *dumps;	 /* FN_DUMPS_SIZE bytes, shared */
	bool persistent; /* the mode of the attempt being run */
};

/*
 * The kernel turns a failed kmalloc/alloc_pages into -ENOMEM on nearly every
 * path; a verb whose kernel path maps it to something else says so in its
 * descriptor (gs_verb.fail_nth.errnos).
 */
static bool errno_allowed(const struct gs_op *op, const struct gs_result *res)
{
	const int *extra = op->verb->fail_nth.errnos;

	if (res->sig || res->ret >= 0)
		return false;
	if (res->ret == -ENOMEM)
		return true;
	for (unsigned int i = 0; extra && extra[i]; i++)
		if (res->ret == -extra[i])
			return true;
	return false;
}

/*
 * Failures the kernel absorbs by doing less: the operation succeeds, but its
 * result or the state it leaves differs from the clean run's. Later lines
 * were written for the full result, so they are not run after one of these;
 * the state must still pass every checker and tear down without leaks. The
 * verb lists its own (gs_verb.fail_nth.best_effort); a module lists sites
 * whose failure any verb absorbs (an optimization skipped).
 */
static bool best_effort(const struct gs_op *op, const struct gs_inject_record *rec)
{
	const struct gs_fail_nth_effort *b = op->verb->fail_nth.best_effort;
	const char *site = rec ? gs_site_name(rec->site) : NULL;

	if (gs_scenario_site_best_effort(site))
		return true;
	for (; b && (b->target || b->site); b++)
		if ((!b->target || (op->target && !strcmp(b->target, op->target))) &&
		    (!b->site || (site && !strcmp(b->site, site))))
			return true;
	return false;
}

/*
 * A verb that works in steps names the result field saying how far it got
 * (gs_verb.fail_nth.progress): when a later step fails, the earlier ones
 * stay done. Only an operation that did nothing must leave the state
 * unchanged.
 */
static bool progressed(const struct gs_op *op, const struct gs_result *res)
{
	const char *field = op->verb->fail_nth.progress;

	for (unsigned int i = 0; field && i < res->nr; i++)
		if (!strcmp(res->fields[i].key, field) && !res->fields[i].is_str)
			return res->fields[i].val != 0;
	return false;
}

static const struct gs_op *op_at(const struct fn_ctx *c, guint i)
{
	return &g_array_index(c->script->ops, struct gs_op, i);
}

static FILE *fn_out(const struct fn_ctx *c)
{
	return c->fo.out;
}

static FILE *fn_err(const struct fn_ctx *c)
{
	return c->fo.err;
}

static void set_phase(struct fn_ctx *c, unsigned int line, const char *what)
{
	c->sh->phase_line = line;
	g_strlcpy(c->sh->phase, what, sizeof(c->sh->phase));
}

/* "file:line: verb nth=N (site S, stack H): " then the message; counts the finding. */
static void __printf(5, 6) finding(struct fn_ctx *c, const struct gs_op *op, unsigned long n,
				   const struct gs_inject_record *rec, const char *fmt, ...)
{
	FILE *f = fn_err(c);
	va_list ap;

	fprintf(f, "%s:%u: %s nth=%lu%s", op->file, op->line, op->verb->name, n,
		c->persistent ? " persistent" : "");
	if (rec)
		fprintf(f, " (site %s, stack 0x%" PRIx64 ")", gs_site_name(rec->site), rec->stack);
	fputs(": ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	c->sh->st.findings++;
}

static void flush_all(const struct fn_ctx *c)
{
	fflush(fn_out(c));
	fflush(fn_err(c));
	fflush(c->sopts.out);
	fflush(c->sopts.err);
}

/*
 * Leave a child without atexit handlers: LeakSanitizer would report the
 * parent's heap, which the child inherited and never owned. (Valgrind's
 * leak check still runs in every child; see tests/test-scenario.c.)
 */
static __noreturn void child_exit(const struct fn_ctx *c, int status)
{
	flush_all(c);
	_exit(status);
}

/* Run the operations after @i to the end, then tear down; false after reporting a finding. */
static bool run_rest(struct fn_ctx *c, struct gs_scenario *s, guint i, unsigned long n,
		     const struct gs_inject_record *rec, const uint64_t *live)
{
	const struct gs_op *op = op_at(c, i);
	int status;

	for (guint j = i + 1; j < c->script->ops->len; j++) {
		const struct gs_op *later = op_at(c, j);

		set_phase(c, later->line, "a later line");
		if (gs_scenario_run_op(s, later) != GS_EXIT_OK) {
			finding(c, op, n, rec, "line %u (%s) failed afterwards (see above)",
				later->line, later->verb->name);
			return false;
		}
	}
	set_phase(c, op->line, "the teardown");
	status = gs_scenario_end_run(s, GS_EXIT_OK, live);
	if (status != GS_EXIT_OK) {
		finding(c, op, n, rec, "the run ends with %s (see above)",
			gs_scenario_exit_name(status));
		return false;
	}
	return true;
}

/* Checkers and a leak-free teardown, for a line that succeeded with less than it was asked. */
static bool check_and_teardown(struct fn_ctx *c, struct gs_scenario *s, guint i, unsigned long n,
			       const struct gs_inject_record *rec, const uint64_t *live)
{
	const struct gs_op *op = op_at(c, i);
	unsigned long violations;
	char *dump = dump_string(s, &violations);
	int status;
	bool ok = true;

	if (!dump || violations) {
		finding(c, op, n, rec, "invariant violations after a partial success:\n%s",
			dump ? dump : "(no dump)");
		ok = false;
	}
	free(dump);
	set_phase(c, op->line, "the teardown");
	status = gs_scenario_end_run(s, GS_EXIT_OK, live);
	if (ok && status != GS_EXIT_OK) {
		finding(c, op, n, rec, "the teardown after a partial success ends with %s",
			gs_scenario_exit_name(status));
		ok = false;
	}
	return ok;
}

enum outcome { OUT_FINDING, OUT_CLEAN, OUT_ABSORBED, OUT_PARTIAL };

/*
 * Add the failures injected since @nf0 to the census; the first is the
 * injection point itself, counted once per (line, n) over the modes.
 */
static void count_injected(struct fn_ctx *c, unsigned long nf0, bool new_point)
{
	unsigned long nf = gs_inject_nr_failures();

	for (unsigned long k = nf0; k < nf; k++) {
		const struct gs_inject_record *r = gs_inject_failure(k);

		if (!r || r->site >= GS_MAX_SITES)
			continue;
		c->sh->cov.site[r->site].injected++;
		if (k == nf0 && new_point)
			c->sh->cov.site[r->site].points++;
	}
}

/*
 * The oracle's view of the injected attempt: its answer (an injected ENOMEM
 * goes to gs_oracle_unpredicted(), which keeps or drops the file as the
 * ordering promises) and the model against the state. Called before the
 * state is dumped, as the dump runs every checker, the oracle's included.
 */
static bool oracle_agrees(struct fn_ctx *c, struct gs_scenario *s, const struct gs_op *op,
			  unsigned long n, const struct gs_inject_record *rec,
			  const struct gs_result *res, const char *text)
{
	if (!s->oracle || !gs_scenario_oracle_hook->after(s, s->oracle, op, res))
		return true;
	finding(c, op, n, rec,
		"the oracle disagrees with the injected attempt (result %s, see above)", text);
	return false;
}

/*
 * A persistent failure also fails what a rollback allocates on its way out:
 * where one of the failures since @nf0 fell on a best-effort path (HVO not
 * applied again), or a later one on the vmemmap restore of a huge page being
 * given back (the kernel keeps the page in the pool, as a surplus page, when
 * it cannot restore its vmemmap), the line may end with less done than
 * before it, as the kernel's would.
 */
static bool persistent_did_less(const struct fn_ctx *c, const struct gs_op *op, unsigned long nf0)
{
	for (unsigned long k = nf0; c->persistent && k < gs_inject_nr_failures(); k++) {
		const struct gs_inject_record *r = gs_inject_failure(k);

		if (r && (best_effort(op, r) || (k > nf0 && r->site == GS_SITE_HVO_RESTORE)))
			return true;
	}
	return false;
}

/* One injected attempt, in a child whose state is the clean run's before line @i. */
static enum outcome attempt(struct fn_ctx *c, struct gs_scenario *s, guint i, unsigned long n,
			    const uint64_t *live, bool persistent, bool new_point)
{
	const struct gs_op *op = op_at(c, i);
	struct gs_inject_rule rule = {
		.site = GS_INJECT_ANY_SITE,
		.mode = GS_INJECT_NTH,
		.nth = n,
		.persistent = persistent,
		.times = persistent ? 0 : 1,
	};
	const struct gs_inject_record *rec = NULL;
	unsigned long warn0, nf0 = gs_inject_nr_failures();
	const struct fn_line *clean = &c->sh->lines[i];
	struct gs_rng rng = s->rng;
	struct gs_result res = {0};
	unsigned long violations = 0;
	char *before, *after;
	char text[512];
	int id, rc;
	bool fired, same;

	before = dump_string(s, NULL);
	if (!before) {
		finding(c, op, n, NULL, "cannot take a state dump");
		return OUT_FINDING;
	}
	set_phase(c, op->line, "the injected attempt");
	warn0 = gs_warn_count();
	id = gs_inject_arm(&rule);
	if (id < 0) {
		finding(c, op, n, NULL, "cannot arm the rule: %s", strerror(-id));
		free(before);
		return OUT_FINDING;
	}
	rc = op->verb->run(s, op, &res);
	fired = gs_inject_rule_fired(id) != 0;
	gs_inject_disarm(id);
	res.warns = gs_warn_count() - warn0;
	if (fired)
		rec = gs_inject_failure(nf0);
	count_injected(c, nf0, new_point);
	gs_result_format(&res, text, sizeof(text));
	if (c->fo.verbose)
		fprintf(fn_out(c), "%s:%u: %s nth=%lu%s -> %s\n", op->file, op->line,
			op->verb->name, n, persistent ? " persistent" : "", text);
	if (rc) {
		finding(c, op, n, rec, "the operation could not run (see above)");
		goto fail;
	}
	if (!fired) {
		finding(c, op, n, rec,
			"nothing was injected: the line made fewer queries than in the clean run");
		goto fail;
	}
	if (res.warns) {
		finding(c, op, n, rec, "%lu WARN(s) on the injected attempt (result %s)", res.warns,
			text);
		goto fail;
	}
	if (!oracle_agrees(c, s, op, n, rec, &res, text))
		goto fail;
	same = !strncmp(text, clean->result, sizeof(clean->result) - 1);
	if (res.ret < 0 || res.sig) {
		bool partial = progressed(op, &res), less = persistent_did_less(c, op, nf0);

		/*
		 * The clean run's own error (a pool with no page left, a
		 * guest_memfd too large) may win over the injected failure;
		 * then any errno is the line's. Either way the line failed, so
		 * it must have left no trace.
		 */
		if (!same && !errno_allowed(op, &res)) {
			finding(c, op, n, rec, "failed with %s, not ENOMEM (clean run: %s)", text,
				clean->result);
			goto fail;
		}
		after = dump_string(s, &violations);
		if (!after || (partial || less ? violations != 0 : strcmp(before, after) != 0)) {
			finding(c, op, n, rec, "failed with %s but %s:", text,
				partial || less ? "left invariant violations"
						: "changed the state");
			if (after)
				print_diff(fn_err(c), before, after);
			fflush(fn_err(c));
			free(after);
			goto fail;
		}
		free(after);
		free(before);
		/*
		 * After a persistent failure that left progress or less done, the
		 * retry starts from another state than the clean run's: later
		 * lines were not written for it.
		 */
		if (c->persistent && (partial || less)) {
			if (c->fo.verbose)
				fprintf(fn_out(c), "%s:%u: %s nth=%lu persistent: %s: %s\n",
					op->file, op->line, op->verb->name, n,
					partial ? "progress kept"
						: "a best-effort step left undone",
					text);
			return check_and_teardown(c, s, i, n, rec, live) ? OUT_PARTIAL
									 : OUT_FINDING;
		}
		/* The retry must see the generator the clean run saw. */
		s->rng = rng;
		set_phase(c, op->line, "the retry");
		if (gs_scenario_run_op(s, op) != GS_EXIT_OK) {
			finding(c, op, n, rec,
				"the retry without injection did not meet the line's expectation "
				"(see above)");
			return OUT_FINDING;
		}
		if (!run_rest(c, s, i, n, rec, live))
			return OUT_FINDING;
		return partial ? OUT_PARTIAL : OUT_CLEAN;
	}
	free(before);
	if (!same) {
		if (!clean->ok) {
			finding(c, op, n, rec, "succeeded with %s where the clean run failed (%s)",
				text, clean->result);
			return OUT_FINDING;
		}
		if (!best_effort(op, rec)) {
			finding(c, op, n, rec, "succeeded with %s, the clean run with %s", text,
				clean->result);
			return OUT_FINDING;
		}
		if (c->fo.verbose)
			fprintf(fn_out(c), "%s:%u: %s nth=%lu: did less (%s): %s (clean: %s)\n",
				op->file, op->line, op->verb->name, n,
				rec ? gs_site_name(rec->site) : "?", text, clean->result);
		return check_and_teardown(c, s, i, n, rec, live) ? OUT_PARTIAL : OUT_FINDING;
	}
	/* The same result as the clean run: the state must be the same too. */
	if (clean->dump_len) {
		after = dump_string(s, NULL);
		if (!after || strlen(after) != clean->dump_len ||
		    memcmp(after, c->dumps + clean->dump_off, clean->dump_len)) {
			if (after && best_effort(op, rec)) {
				if (c->fo.verbose)
					fprintf(fn_out(c),
						"%s:%u: %s nth=%lu: did less (%s absorbed): "
						"another state than the clean run's\n",
						op->file, op->line, op->verb->name, n,
						rec ? gs_site_name(rec->site) : "?");
				free(after);
				return check_and_teardown(c, s, i, n, rec, live) ? OUT_PARTIAL
										 : OUT_FINDING;
			}
			finding(c, op, n, rec,
				"absorbed the failure (%s, as the clean run) but left another "
				"state than the clean run:",
				text);
			if (after) {
				char *want = g_strndup(c->dumps + clean->dump_off, clean->dump_len);

				print_diff(fn_err(c), want, after);
				g_free(want);
			}
			fflush(fn_err(c));
			free(after);
			return OUT_FINDING;
		}
		free(after);
	} else if (rec && gs_scenario_site_best_effort(gs_site_name(rec->site))) {
		/*
		 * No clean state to compare with (too large to keep): a failure
		 * any verb absorbs by doing less (HVO left undone) may have left
		 * another state, which later lines were not written for.
		 */
		return check_and_teardown(c, s, i, n, rec, live) ? OUT_PARTIAL : OUT_FINDING;
	}
	return run_rest(c, s, i, n, rec, live) ? OUT_ABSORBED : OUT_FINDING;
fail:
	free(before);
	return OUT_FINDING;
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/*
 * The n to test for a line making @count queries: all of them within the
 * limit; else the first max/2, the last max/4 (where rollback of a nearly
 * finished operation lives) and a seeded sample of the middle.
 */
static unsigned long *choose_ns(const struct fn_ctx *c, const struct gs_op *op, unsigned long count,
				unsigned long *nr)
{
	unsigned long max = c->fo.max, head, tail, mid, lo, hi, k = 0;
	unsigned long *ns;
	struct gs_rng rng;

	if (!max || count <= max) {
		ns = g_new(unsigned long, count);
		for (unsigned long n = 1; n <= count; n++)
			ns[k++] = n;
		*nr = k;
		return ns;
	}
	head = max / 2;
	tail = max / 4;
	mid = max - head - tail;
	ns = g_new(unsigned long, max);
	for (unsigned long n = 1; n <= head; n++)
		ns[k++] = n;
	for (unsigned long n = count - tail + 1; n <= count; n++)
		ns[k++] = n;
	/* The middle is (head, count - tail]: more than mid values, as count > max. */
	lo = head + 1;
	hi = count - tail;
	gs_rng_seed(&rng, c->fo.seed ^ ((uint64_t)op->line * 0x9e3779b97f4a7c15ULL));
	while (k < head + tail + mid) {
		unsigned long n = lo + gs_rng_below(&rng, hi - lo + 1);
		bool dup = false;

		for (unsigned long j = head + tail; j < k; j++)
			dup |= ns[j] == n;
		if (!dup)
			ns[k++] = n;
	}
	qsort(ns, k, sizeof(*ns), cmp_ulong);
	fprintf(fn_out(c), "%s:%u: %s: %lu queries; testing ", op->file, op->line, op->verb->name,
		count);
	/* A bound below 4 leaves no head or tail: say so rather than print an empty range. */
	if (head)
		fprintf(fn_out(c), "n=1..%lu, ", head);
	else
		fputs("no head, ", fn_out(c));
	if (tail)
		fprintf(fn_out(c), "%lu..%lu", count - tail + 1, count);
	else
		fputs("no tail", fn_out(c));
	fprintf(fn_out(c), " and %lu sampled (seed %" PRIu64 "):", mid, c->fo.seed);
	for (unsigned long j = 0; j < k; j++)
		if (ns[j] > head && ns[j] <= count - tail)
			fprintf(fn_out(c), " %lu", ns[j]);
	fputc('\n', fn_out(c));
	*nr = k;
	return ns;
}

static void describe_exit(char *buf, size_t len, int wstatus)
{
	if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "killed by signal %d (SIG%s)", WTERMSIG(wstatus),
			 sigabbrev_np(WTERMSIG(wstatus)) ?: "?");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
}

/* Fail query @n of line @i in a child, transient or persistent; the caller's state stays. */
static void test_one(struct fn_ctx *c, struct gs_scenario *s, guint i, unsigned long n,
		     const uint64_t *live, bool persistent, bool new_point)
{
	static const char *const names[] = {"finding", "failed cleanly", "absorbed", "partial"};
	const struct gs_op *op = op_at(c, i);
	int wstatus = 0;
	pid_t pid;

	flush_all(c);
	c->sh->st.injections++;
	c->sh->st.persistent += persistent;
	c->persistent = persistent;
	pid = fork();
	if (pid < 0) {
		finding(c, op, n, NULL, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		unsigned long nf0 = gs_inject_nr_failures();
		enum outcome o = attempt(c, s, i, n, live, persistent, new_point);
		/* The runner's failure is the first logged after nf0. */
		const struct gs_inject_record *rec = gs_inject_failure(nf0);

		if (c->fo.verbose)
			fprintf(fn_out(c), "%s:%u: %s nth=%lu%s: %s (site %s)\n", op->file,
				op->line, op->verb->name, n, persistent ? " persistent" : "",
				names[o], rec ? gs_site_name(rec->site) : "none");
		switch (o) {
		case OUT_CLEAN:
			c->sh->st.failed_clean++;
			break;
		case OUT_ABSORBED:
			c->sh->st.absorbed++;
			break;
		case OUT_PARTIAL:
			c->sh->st.partial++;
			break;
		case OUT_FINDING:
			break;
		}
		child_exit(c, 0);
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus)) {
		char how[64];

		describe_exit(how, sizeof(how), wstatus);
		finding(c, op, n, NULL, "the child %s during %s (line %u)", how, c->sh->phase,
			c->sh->phase_line);
	}
	c->persistent = false;
}

/*
 * Fail each chosen query of line @i in its own child, in each mode asked
 * for. Return: whether the line was tested (not skipped).
 */
static bool test_line(struct fn_ctx *c, struct gs_scenario *s, guint i, const uint64_t *live)
{
	const struct gs_op *op = op_at(c, i);
	unsigned long count = c->sh->lines[i].queries, nr;
	unsigned long *ns;

	/*
	 * A rule of the scenario's own that can still fire would count the
	 * queries too and fire at a different one once ours has failed one:
	 * the line would no longer be what the clean run ran. Spent rules
	 * (a one-shot nth that has passed) change nothing.
	 */
	for (guint r = 0; r < s->armed->len; r++) {
		const struct gs_armed_rule *a = &g_array_index(s->armed, struct gs_armed_rule, r);

		if (gs_inject_rule_spent(a->id))
			continue;
		fprintf(fn_out(c),
			"%s:%u: %s: skipped (%lu queries): the rule armed by the scenario's "
			"inject on line %u can still fire\n",
			op->file, op->line, op->verb->name, count, a->line);
		c->sh->st.skipped++;
		return false;
	}
	c->sh->st.lines++;
	if (c->fo.verbose)
		fprintf(fn_out(c), "%s:%u: %s: %lu queries\n", op->file, op->line, op->verb->name,
			count);
	ns = choose_ns(c, op, count, &nr);
	for (unsigned long k = 0; k < nr; k++) {
		if (c->fo.mode != GS_FAIL_NTH_PERSISTENT)
			test_one(c, s, i, ns[k], live, false, true);
		if (c->fo.mode != GS_FAIL_NTH_TRANSIENT)
			test_one(c, s, i, ns[k], live, true, c->fo.mode == GS_FAIL_NTH_PERSISTENT);
	}
	g_free(ns);
	return true;
}

/* Keep the state after line @i for comparison with absorbed failures. */
static void keep_dump(struct fn_ctx *c, struct gs_scenario *s, guint i)
{
	char *d = dump_string(s, NULL);
	size_t len = d ? strlen(d) : 0;

	if (len && c->sh->dumps_used + len <= FN_DUMPS_SIZE) {
		memcpy(c->dumps + c->sh->dumps_used, d, len);
		c->sh->lines[i].dump_off = c->sh->dumps_used;
		c->sh->lines[i].dump_len = len;
		c->sh->dumps_used += len;
	}
	free(d);
}

/* The clean run, counting each line's queries into the shared census. */
static int clean_run(struct fn_ctx *c)
{
	struct gs_scenario *s = gs_scenario_new(&c->sopts);
	uint64_t live[GS_MAX_SITES];
	int status = GS_EXIT_OK;

	gs_scenario_begin_run(s, c->script->name, live);
	gs_inject_set_counting(true);
	for (guint i = 0; i < c->script->ops->len; i++) {
		unsigned long q0 = gs_inject_queries();
		int r;

		set_phase(c, op_at(c, i)->line, "the clean run");
		r = gs_scenario_run_op(s, op_at(c, i));
		c->sh->lines[i].queries = gs_inject_queries() - q0;
		c->sh->lines[i].ok = s->last.ret >= 0 && !s->last.sig;
		gs_result_format(&s->last, c->sh->lines[i].result, sizeof(c->sh->lines[i].result));
		keep_dump(c, s, i);
		if (r != GS_EXIT_OK) {
			status = r;
			break;
		}
	}
	status = gs_scenario_end_run(s, status, live);
	gs_inject_set_counting(false);
	return status;
}

/* A tested line's @queries at @site: the injection points the site offers. */
static void census_site(struct fn_ctx *c, unsigned int site, unsigned long queries)
{
	if (!queries)
		return;
	c->sh->cov.site[site].lines++;
	c->sh->cov.site[site].queries += queries;
}

/* The replay: the clean run again, stopping before each counted line to test it. */
static void replay(struct fn_ctx *c)
{
	struct gs_scenario *s = gs_scenario_new(&c->sopts);
	uint64_t live[GS_MAX_SITES];
	int status = GS_EXIT_OK;

	gs_scenario_begin_run(s, c->script->name, live);
	gs_inject_set_counting(true);
	for (guint i = 0; i < c->script->ops->len; i++) {
		const struct gs_op *op = op_at(c, i);
		unsigned long q0, sq0[GS_MAX_SITES];
		bool tested = false;

		if (c->sh->lines[i].queries && !op->verb->no_fail_nth)
			tested = test_line(c, s, i, live);
		set_phase(c, op->line, "the replay");
		for (unsigned int k = 0; tested && k < gs_site_count(); k++)
			sq0[k] = gs_inject_site_queries(k);
		q0 = gs_inject_queries();
		status = gs_scenario_run_op(s, op);
		for (unsigned int k = 0; tested && k < gs_site_count(); k++)
			census_site(c, k, gs_inject_site_queries(k) - sq0[k]);
		if (gs_inject_queries() - q0 != c->sh->lines[i].queries) {
			finding(c, op, 0, NULL,
				"replay made %lu queries, the clean run %lu: the run is not "
				"deterministic",
				gs_inject_queries() - q0, c->sh->lines[i].queries);
			break;
		}
		if (status != GS_EXIT_OK) {
			finding(c, op, 0, NULL, "the replay failed where the clean run passed");
			break;
		}
	}
	gs_scenario_end_run(s, status, live);
}

/* Run @fn in a child; a child that does not exit 0 is a finding. */
static int in_child(struct fn_ctx *c, const char *what, int (*fn)(struct fn_ctx *c))
{
	int wstatus = 0;
	pid_t pid;

	flush_all(c);
	pid = fork();
	if (pid < 0) {
		fprintf(fn_err(c), "%s: fork: %s\n", c->script->name, strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_exit(c, fn(c));
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(wstatus)) {
		char how[64];

		describe_exit(how, sizeof(how), wstatus);
		fprintf(fn_err(c), "%s:%u: %s %s during %s\n", c->script->name, c->sh->phase_line,
			what, how, c->sh->phase);
		c->sh->st.findings++;
		return -1;
	}
	return WEXITSTATUS(wstatus);
}

static int replay_child(struct fn_ctx *c)
{
	replay(c);
	return 0;
}

static const char *mode_note(enum gs_fail_nth_mode mode)
{
	switch (mode) {
	case GS_FAIL_NTH_PERSISTENT:
		return " (persistent)";
	case GS_FAIL_NTH_BOTH:
		return " (transient and persistent)";
	case GS_FAIL_NTH_TRANSIENT:
		break;
	}
	return "";
}

static void coverage_add(struct gs_fail_nth_coverage *to, const struct gs_fail_nth_coverage *from)
{
	to->files++;
	for (unsigned int k = 0; k < GS_MAX_SITES; k++) {
		to->site[k].lines += from->site[k].lines;
		to->site[k].queries += from->site[k].queries;
		to->site[k].points += from->site[k].points;
		to->site[k].injected += from->site[k].injected;
	}
}

unsigned int gs_fail_nth_coverage_print(FILE *f, const struct gs_fail_nth_coverage *cov)
{
	unsigned long queries = 0, points = 0, injected = 0;
	unsigned int never = 0;

	fprintf(f, "%-20s %8s %10s %10s %7s %10s\n", "site", "lines", "points", "injected", "share",
		"failures");
	for (unsigned int k = 0; k < gs_site_count() && k < GS_MAX_SITES; k++) {
		const struct gs_fail_nth_site_cov *sc = &cov->site[k];

		if (!sc->queries)
			continue;
		fprintf(f, "%-20s %8lu %10lu %10lu %6.1f%% %10lu\n", gs_site_name(k), sc->lines,
			sc->queries, sc->points, 100.0 * (double)sc->points / (double)sc->queries,
			sc->injected);
		queries += sc->queries;
		points += sc->points;
		injected += sc->injected;
	}
	/* A line reaches several sites: the total counts points, not lines. */
	fprintf(f, "%-20s %8s %10lu %10lu %6.1f%% %10lu\n", "total", "-", queries, points,
		queries ? 100.0 * (double)points / (double)queries : 0.0, injected);
	fprintf(f, "never reached:");
	for (unsigned int k = 0; k < gs_site_count() && k < GS_MAX_SITES; k++)
		if (!cov->site[k].queries) {
			fprintf(f, " %s", gs_site_name(k));
			never++;
		}
	fprintf(f, "%s (%u of %u sites, %u scenarios)\n", never ? "" : " none", never,
		gs_site_count(), cov->files);
	return never;
}

int gs_scenario_fail_nth_buffer(const struct gs_scenario_opts *opts,
				const struct gs_fail_nth_opts *fopts, const char *name,
				const char *text, size_t len, struct gs_fail_nth_stats *stats)
{
	struct fn_ctx c = {0};
	int status;

	if (opts)
		c.sopts = *opts;
	if (fopts)
		c.fo = *fopts;
	else
		c.fo.max = GS_FAIL_NTH_DEFAULT_MAX;
	if (!c.fo.out)
		c.fo.out = c.sopts.out ? c.sopts.out : stdout;
	if (!c.fo.err)
		c.fo.err = c.sopts.err ? c.sopts.err : stderr;
	/* The children's runs: the simulator, no narration, errors where findings go. */
	c.sopts.backend = GS_BACKEND_SIM;
	c.sopts.quiet = true;
	c.sopts.verbose = false;
	c.sopts.keep_going = false;
	/* opts.oracle stays: the oracle follows the clean run, the replay and every child. */
	c.sopts.out = c.fo.out;
	c.sopts.err = c.fo.err;
	if (stats)
		*stats = (struct gs_fail_nth_stats){0};
	if ((unsigned int)c.fo.mode > GS_FAIL_NTH_BOTH) {
		fprintf(c.fo.err, "%s: unknown fail-nth mode %d\n", name, (int)c.fo.mode);
		return GS_EXIT_USAGE;
	}
	gs_scenario_init();
	c.script = gs_script_parse(name, text, len, c.fo.err);
	if (!c.script)
		return GS_EXIT_SYNTAX;
	/* A lab with an answer left out has no clean run to compare against. */
	if (gs_script_first_blank(c.script)) {
		status = gs_scenario_report_blank(c.fo.err, gs_script_first_blank(c.script));
		gs_script_free(c.script);
		return status;
	}
	c.sh_size = sizeof(*c.sh) + c.script->ops->len * sizeof(c.sh->lines[0]);
	c.sh = mmap(NULL, c.sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c.sh == MAP_FAILED) {
		fprintf(c.fo.err, "%s: mmap: %s\n", name, strerror(errno));
		gs_script_free(c.script);
		return GS_EXIT_USAGE;
	}
	c.dumps = mmap(NULL, FN_DUMPS_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c.dumps == MAP_FAILED) {
		fprintf(c.fo.err, "%s: mmap: %s\n", name, strerror(errno));
		munmap(c.sh, c.sh_size);
		gs_script_free(c.script);
		return GS_EXIT_USAGE;
	}
	status = in_child(&c, "the clean run", clean_run);
	if (status < 0 && !c.sh->st.findings) {
		status = GS_EXIT_USAGE;
	} else if (status != GS_EXIT_OK) {
		/* Nothing to compare against: the scenario must pass on its own first. */
		fprintf(c.fo.err, "%s: the clean run fails (%s); nothing injected\n",
			c.script->name, status < 0 ? "crash" : gs_scenario_exit_name(status));
		c.sh->st.findings++;
		status = GS_EXIT_FAIL;
	} else if (in_child(&c, "the replay", replay_child) < 0 && !c.sh->st.findings) {
		status = GS_EXIT_USAGE;
	} else {
		status = c.sh->st.findings ? GS_EXIT_FAIL : GS_EXIT_OK;
	}
	fprintf(c.fo.out,
		"%s: fail-nth: %s: %u lines tested, %u skipped, %lu injections, %lu failed "
		"cleanly, %lu absorbed, %lu partial, %lu findings%s%s\n",
		c.script->name, status == GS_EXIT_OK ? "ok" : "FAILED", c.sh->st.lines,
		c.sh->st.skipped, c.sh->st.injections, c.sh->st.failed_clean, c.sh->st.absorbed,
		c.sh->st.partial, c.sh->st.findings, mode_note(c.fo.mode),
		c.sopts.oracle ? " (oracle)" : "");
	fflush(c.fo.out);
	if (stats)
		*stats = c.sh->st;
	if (c.fo.coverage)
		coverage_add(c.fo.coverage, &c.sh->cov);
	munmap(c.dumps, FN_DUMPS_SIZE);
	munmap(c.sh, c.sh_size);
	gs_script_free(c.script);
	return status;
}

int gs_scenario_fail_nth_file(const struct gs_scenario_opts *opts,
			      const struct gs_fail_nth_opts *fopts, const char *path,
			      struct gs_fail_nth_stats *stats)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	FILE *err = fopts && fopts->err ? fopts->err : (opts && opts->err ? opts->err : stderr);
	int status;

	if (stats)
		*stats = (struct gs_fail_nth_stats){0};
	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		fprintf(err, "%s: %s\n", path, gerr->message);
		g_error_free(gerr);
		return GS_EXIT_USAGE;
	}
	status = gs_scenario_fail_nth_buffer(opts, fopts, path, text, len, stats);
	g_free(text);
	return status;
}
