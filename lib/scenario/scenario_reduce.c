// SPDX-License-Identifier: MIT
/*
 * Scenario reduction (`gmemsim reduce`): ddmin over lines, then over each
 * line's arguments, keeping a step only if the scenario still fails with the
 * same signature. Every attempt runs in this process through the runner's
 * own steps (gs_scenario_begin_run/run_op/end_run) with a teardown after it,
 * so an attempt costs one scenario run, not a process. No kernel code is
 * mirrored; the method is Zeller and Hildebrandt's delta debugging.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <stdio_ext.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gmemsim/alloc.h>
#include <gmemsim/reduce.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/scenario_int.h>

/* What one run saw: the first WARN since the last expect-warns, and where. */
struct sig_watch {
	const char *verb;
	char warn[512];
	bool have_warn;
};

static void on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct sig_watch *w = arg;

	if (res->warns && !w->have_warn) {
		g_strlcpy(w->warn, gs_warn_last(), sizeof(w->warn));
		w->verb = op->verb->name;
		w->have_warn = true;
	}
}

/* Numbers (decimal, 0x hex) become '#': values move while a step shrinks them. */
static void append_normalized(GString *g, const char *s)
{
	const char *start = s;

	while (*s) {
		/* A digit inside a word ("rfc-v2", "maple.prealloc2") is part of a name. */
		bool in_word = s > start && (isalnum((unsigned char)s[-1]) || s[-1] == '_');

		if (isdigit((unsigned char)*s) && !in_word) {
			g_string_append_c(g, '#');
			if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
				s += 2;
			while (isxdigit((unsigned char)*s))
				s++;
			continue;
		}
		if (*s == '\n')
			break;
		g_string_append_c(g, *s++);
	}
}

/* "file:line func: message" -> "basename func: message", numbers normalized. */
static void append_warn_site(GString *g, const char *warn)
{
	const char *colon = strchr(warn, ':');
	const char *space = colon ? strchr(colon, ' ') : NULL;
	const char *base = warn;

	if (!colon || !space) {
		append_normalized(g, warn);
		return;
	}
	for (const char *p = warn; p < colon; p++)
		if (*p == '/')
			base = p + 1;
	g_string_append_len(g, base, colon - base);
	append_normalized(g, space);
}

/* A result as a class: an errno name, SIGxxx, 0 or N (a count or value). */
static const char *ret_class(long long ret, int sig, char *buf, size_t len)
{
	if (sig)
		snprintf(buf, len, "SIG%s", sigabbrev_np(sig) ?: "?");
	else if (ret < 0 && gs_errno_name((int)-ret))
		snprintf(buf, len, "%s", gs_errno_name((int)-ret));
	else
		snprintf(buf, len, "%s", ret == 0 ? "0" : ret < 0 ? "-N" : "N");
	return buf;
}

/* The first "check NAME:" line the failed check printed. */
static bool append_checker(GString *g, const char *err, size_t from)
{
	const char *p = err + from;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *colon;

		if (strncmp(p, "check ", 6))
			continue;
		colon = strchr(p + 6, ':');
		if (!colon)
			break;
		g_string_append(g, "checker: ");
		g_string_append_len(g, p + 6, colon - (p + 6));
		return true;
	}
	return false;
}

static uint64_t result_u64(const struct gs_result *res, const char *key)
{
	for (unsigned int i = 0; i < res->nr; i++)
		if (!strcmp(res->fields[i].key, key))
			return res->fields[i].val;
	return 0;
}

static void expect_signature(GString *g, const struct gs_scenario *s, const struct gs_op *op,
			     const struct sig_watch *w)
{
	const struct gs_expect *e = &op->expect;
	const struct gs_result *res = &s->last;
	char want[32], got[32];

	if (!strcmp(op->verb->name, "expect-warns")) {
		if (res->ret && w->have_warn && result_u64(res, "warns") > op->target_u64) {
			g_string_append(g, "WARN: ");
			append_warn_site(g, w->warn);
			g_string_append_printf(g, " (in %s)", w->verb);
		} else {
			g_string_append(g, "missing WARN: expect-warns");
		}
		return;
	}
	if (!op->has_expect)
		snprintf(want, sizeof(want), "0");
	else
		ret_class(e->has_ret ? e->ret : 0, e->sig, want, sizeof(want));
	g_string_append_printf(g, "expectation: %s expected %s got %s", op->verb->name, want,
			       ret_class(res->ret, res->sig, got, sizeof(got)));
	if (strcmp(want, got) || !op->has_expect)
		return;
	/* Same result class: name the keys that differ (not their values). */
	g_string_append(g, " (");
	for (unsigned int i = 0, n = 0; i < e->nr; i++) {
		struct gs_op one = *op;

		one.expect.nr = 1;
		one.expect.items[0] = e->items[i];
		if (gs_scenario_expectation_met(s, &one, res))
			continue;
		g_string_append_printf(g, "%s%s", n++ ? " " : "", e->items[i].key);
	}
	g_string_append_c(g, ')');
}

/*
 * "check oracle: FILE:LINE VERB NAME: index 0x1: what sim=X oracle=Y", the
 * first mismatch the oracle reported, as "oracle: VERB NAME: index #: what ...".
 */
static bool append_oracle(GString *g, const char *err, size_t from)
{
	const char *p = strstr(err + from, "check oracle: ");
	const char *space, *colon;

	if (!p)
		return false;
	p += strlen("check oracle: ");
	space = strchr(p, ' ');
	colon = strchr(p, ':');
	if (space && colon && colon < space)
		p = space + 1;
	g_string_append(g, "oracle: ");
	append_normalized(g, p);
	return true;
}

/* The signature of the line that failed (run_op said FAIL or SYNTAX). */
static void op_signature(GString *g, const struct gs_scenario *s, const struct gs_op *op, int r,
			 const struct sig_watch *w, const char *err, size_t from)
{
	if (r == GS_EXIT_SYNTAX) {
		const char *msg = strstr(err + from, ": ");

		g_string_append_printf(g, "error: %s", op->verb->name);
		/* "file:line: message": skip the location. */
		if (msg) {
			g_string_append(g, ": ");
			append_normalized(g, msg + 2);
		}
		return;
	}
	if (append_oracle(g, err, from))
		return;
	if (!strcmp(op->verb->name, "check") && append_checker(g, err, from))
		return;
	expect_signature(g, s, op, w);
}

static void leak_signature(GString *g, const uint64_t *live)
{
	g_string_append(g, "leak:");
	for (unsigned int i = 0; i < gs_site_count(); i++) {
		struct gs_site_stats st;

		gs_site_stats(i, &st);
		if (st.live != live[i])
			g_string_append_printf(g, " %s", st.name);
	}
}

/* Run @nr operations as the runner does, naming the first failure in @g. */
static int run_script(struct gs_scenario *s, const char *name, const struct gs_op *ops, size_t nr,
		      struct sig_watch *w, FILE *err, char **errbuf, GString *g)
{
	uint64_t live[GS_MAX_SITES];
	int status = GS_EXIT_OK, end;

	gs_scenario_begin_run(s, name, live);
	for (size_t i = 0; i < nr; i++) {
		const struct gs_op *op = &ops[i];
		size_t from;
		int r;

		/*
		 * Where the line's messages will start, without a flush per line
		 * (a fuzz input's lines write nothing unless they fail): a memory
		 * stream's buffer is all of it, so what glibc counts as pending
		 * is everything written since it was opened, earlier runs' too.
		 */
		from = __fpending(err);
		r = gs_scenario_run_op(s, op);
		if (r == GS_EXIT_OK) {
			/*
			 * What a met expect-warns accounted for is no failure. Only
			 * with a WARN seen is the verb's name read: a line's verb
			 * and its name are cold by now (0.4% of a 2 MiB execution).
			 */
			if (w->have_warn && op->verb->name[0] == 'e' &&
			    !strcmp(op->verb->name, "expect-warns"))
				w->have_warn = false;
			continue;
		}
		fflush(err);
		op_signature(g, s, op, r, w, *errbuf, from);
		status = r;
		break;
	}
	end = gs_scenario_end_run(s, status, live);
	if (status == GS_EXIT_OK && end == GS_EXIT_FAIL && w->have_warn) {
		g_string_append(g, "WARN: ");
		append_warn_site(g, w->warn);
		g_string_append_printf(g, " (in %s)", w->verb);
	} else if (status == GS_EXIT_OK && end == GS_EXIT_LEAK) {
		leak_signature(g, live);
	} else if (status == GS_EXIT_OK && end != GS_EXIT_OK) {
		g_string_append_printf(g, "run: %s", gs_scenario_exit_name(end));
	}
	return end == GS_EXIT_OK ? GS_EXIT_OK : GS_EXIT_FAIL;
}

/*
 * The runs' error stream, kept open across them: opening a memory stream
 * (and closing it) was most of what a fuzz execution spent outside its
 * lines. Each run reads its lines' messages from where they start (the
 * stream only grows: no seek, so the buffer ends where the last run wrote),
 * never what earlier runs wrote; past ERR_STREAM_CAP bytes it starts over.
 * A run inside a run (none today) gets a stream of its own.
 */
static struct err_stream {
	FILE *f;
	char *buf;
	size_t len;
	bool busy;
} kept_err;

#define ERR_STREAM_CAP (1u << 20)

static struct err_stream *err_stream_get(struct err_stream *own)
{
	struct err_stream *e = kept_err.busy ? own : &kept_err;

	if (e->f && __fpending(e->f) > ERR_STREAM_CAP) {
		fclose(e->f);
		free(e->buf);
		e->f = NULL;
	}
	if (!e->f) {
		e->buf = NULL;
		e->len = 0;
		e->f = open_memstream(&e->buf, &e->len);
		if (!e->f)
			return NULL;
	}
	e->busy = true;
	return e;
}

static void err_stream_put(struct err_stream *e)
{
	e->busy = false;
	if (e == &kept_err)
		return;
	fclose(e->f);
	free(e->buf);
}

/* gs_scenario_signature() of parsed or built operations (@script or @ops). */
static int signature(const struct gs_scenario_opts *opts, const char *name, const char *text,
		     size_t len, const struct gs_op *ops, size_t nr, char *sig, size_t siglen)
{
	struct gs_scenario_opts o = opts ? *opts : (struct gs_scenario_opts){0};
	struct gs_script *script = NULL;
	struct sig_watch w = {0};
	struct err_stream own = {0}, *e;
	struct gs_scenario *s;
	enum gs_warn_mode mode;
	GString *g;
	int st;

	if (siglen)
		sig[0] = '\0';
	gs_scenario_init();
	e = err_stream_get(&own);
	if (!e)
		return GS_EXIT_USAGE;
	if (text) {
		script = gs_script_parse(name, text, len, e->f);
		if (!script) {
			err_stream_put(e);
			return GS_EXIT_SYNTAX;
		}
		name = script->name;
		ops = (const struct gs_op *)(void *)script->ops->data;
		nr = script->ops->len;
	}
	o = (struct gs_scenario_opts){.seed = o.seed,
				      .strict = o.strict,
				      .oracle = o.oracle,
				      .plant = o.plant,
				      .persistent = o.persistent,
				      .metadata_only = o.metadata_only,
				      .backend = GS_BACKEND_SIM,
				      .out = e->f,
				      .err = e->f,
				      .quiet = true,
				      .on_result = on_result,
				      .on_result_arg = &w,
				      .on_result_status_only = true};
	g = g_string_new(NULL);
	/* WARN_ONCE sites fire again in every attempt, as in a fresh process. */
	gs_warn_reset_once();
	mode = gs_warn_set_mode(GS_WARN_QUIET);
	s = gs_scenario_new(&o);
	st = run_script(s, name, ops, nr, &w, e->f, &e->buf, g);
	gs_scenario_free(s);
	gs_warn_set_mode(mode);
	gs_script_free(script);
	err_stream_put(e);
	if (siglen)
		g_strlcpy(sig, g->str, siglen);
	g_string_free(g, TRUE);
	return st;
}

int gs_scenario_signature(const struct gs_scenario_opts *opts, const char *name, const char *text,
			  size_t len, char *sig, size_t siglen)
{
	return signature(opts, name, text ? text : "", len, NULL, 0, sig, siglen);
}

int gs_scenario_signature_ops(const struct gs_scenario_opts *opts, const char *name,
			      const struct gs_op *ops, size_t nr, char *sig, size_t siglen)
{
	return signature(opts, name, NULL, 0, ops, nr, sig, siglen);
}

/* --- the reducer --- */

struct reducer {
	const struct gs_scenario_opts *opts;
	const char *name;
	const char *want;
	unsigned int attempts, max;
	bool crash;
	FILE *log;
};

static int crash_signature(const struct gs_scenario_opts *opts, const char *name, const char *text,
			   size_t len, char *sig, size_t siglen);

static char *join(GPtrArray *lines)
{
	GString *g = g_string_new(NULL);

	for (guint i = 0; i < lines->len; i++)
		g_string_append_printf(g, "%s\n", (const char *)g_ptr_array_index(lines, i));
	return g_string_free(g, FALSE);
}

/* Does @lines still fail as wanted? Counts an attempt; false once the budget is spent. */
static bool interesting(struct reducer *r, GPtrArray *lines)
{
	char sig[GS_REDUCE_SIG_LEN];
	char *text;
	int st;

	if (r->attempts >= r->max)
		return false;
	r->attempts++;
	text = join(lines);
	if (r->crash)
		st = crash_signature(r->opts, r->name, text, strlen(text), sig, sizeof(sig)) > 0
			     ? GS_EXIT_FAIL
			     : GS_EXIT_OK;
	else
		st = gs_scenario_signature(r->opts, r->name, text, strlen(text), sig, sizeof(sig));
	g_free(text);
	return st == GS_EXIT_FAIL && !strcmp(sig, r->want);
}

static GPtrArray *lines_new(void)
{
	return g_ptr_array_new_with_free_func(g_free);
}

static GPtrArray *without(GPtrArray *lines, guint from, guint to)
{
	GPtrArray *c = lines_new();

	for (guint i = 0; i < lines->len; i++)
		if (i < from || i >= to)
			g_ptr_array_add(c, g_strdup(g_ptr_array_index(lines, i)));
	return c;
}

/* ddmin, complements only: remove chunks of 1/n of the lines, refining n. */
static bool ddmin(struct reducer *r, GPtrArray **lines)
{
	guint n = 2;
	bool changed = false;

	while ((*lines)->len >= 2 && r->attempts < r->max) {
		guint len = (*lines)->len, chunk = (len + n - 1) / n;
		bool cut = false;

		for (guint i = 0; i * chunk < len && !cut; i++) {
			GPtrArray *c = without(*lines, i * chunk, MIN(len, (i + 1) * chunk));

			if (interesting(r, c)) {
				g_ptr_array_free(*lines, TRUE);
				*lines = c;
				cut = changed = true;
				if (r->log)
					fprintf(r->log, "reduce: %u lines\n", c->len);
			} else {
				g_ptr_array_free(c, TRUE);
			}
		}
		if (cut)
			n = MAX(n - 1, 2);
		else if (n >= len)
			break;
		else
			n = MIN(n * 2, len);
	}
	return changed;
}

/* A number as the scenario wrote the old one: hex stays hex, sizes keep a K/M/G suffix. */
static char *format_like(const char *old, uint64_t v)
{
	static const char suffix[] = "KMGT";
	bool hex = old[0] == '0' && (old[1] == 'x' || old[1] == 'X');
	bool sized = strpbrk(old, "KMGTkmgt") && !hex;
	int k = -1;

	if (hex)
		return g_strdup_printf("0x%" PRIx64, v);
	while (sized && v && k < 3 && !(v & ((UINT64_C(1) << (10 * (k + 2))) - 1)))
		k++;
	if (k < 0)
		return g_strdup_printf("%" PRIu64, v);
	return g_strdup_printf("%" PRIu64 "%c", v >> (10 * (k + 1)), suffix[k]);
}

/* Smaller values to try for @v, smallest first; 0-terminated list, @out holds 5. */
static unsigned int smaller(uint64_t v, uint64_t *out)
{
	uint64_t cand[] = {0, 1, 4096, (v / 2) & ~UINT64_C(4095), v / 2, v % 4096 ? 0 : v - 4096};
	unsigned int n = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(cand); i++) {
		bool dup = false;

		if (cand[i] >= v || (i && !cand[i]))
			continue;
		for (unsigned int j = 0; j < n; j++)
			dup |= out[j] == cand[i];
		if (!dup)
			out[n++] = cand[i];
	}
	return n;
}

/* Line @i with token @t replaced by @repl (NULL: dropped); comment-free lines only. */
static GPtrArray *with_token(GPtrArray *lines, guint i, gchar **tok, guint t, const char *repl)
{
	GPtrArray *c = without(lines, 0, 0);
	GString *g = g_string_new(NULL);

	for (guint k = 0; tok[k]; k++) {
		const char *w = k == t ? repl : tok[k];

		if (w && *w)
			g_string_append_printf(g, "%s%s", g->len ? " " : "", w);
	}
	g_free(g_ptr_array_index(c, i));
	g_ptr_array_index(c, i) = g_string_free(g, FALSE);
	return c;
}

/* Try @repl for token @t of line @i; on success the lines and tokens are the new ones. */
static bool try_token(struct reducer *r, GPtrArray **lines, guint i, gchar ***tok, guint t,
		      const char *repl)
{
	GPtrArray *c = with_token(*lines, i, *tok, t, repl);

	if (!interesting(r, c)) {
		g_ptr_array_free(c, TRUE);
		return false;
	}
	if (r->log)
		fprintf(r->log, "reduce: line %u: %s\n", i + 1, (char *)g_ptr_array_index(c, i));
	g_ptr_array_free(*lines, TRUE);
	*lines = c;
	g_strfreev(*tok);
	*tok = g_strsplit_set(g_ptr_array_index(c, i), " \t", -1);
	return true;
}

/* Shrink the value of key token @t while the failure stays. */
static bool shrink_number(struct reducer *r, GPtrArray **lines, guint i, gchar ***tok, guint t,
			  const char *key)
{
	bool changed = false, again = true;

	while (again && r->attempts < r->max) {
		const char *val = (*tok)[t] + strlen(key) + 1;
		uint64_t v, cand[6];
		unsigned int n;

		again = false;
		if (gs_parse_u64(val, &v))
			break;
		n = smaller(v, cand);
		for (unsigned int c = 0; c < n && !again; c++) {
			char *num = format_like(val, cand[c]);
			char *repl = g_strdup_printf("%s=%s", key, num);

			again = try_token(r, lines, i, tok, t, repl);
			changed |= again;
			g_free(repl);
			g_free(num);
		}
	}
	return changed;
}

/* One token of an operation: drop it if optional, else shrink its number. */
static bool shrink_token(struct reducer *r, GPtrArray **lines, guint i, gchar ***tok, guint t,
			 const struct gs_verb *v)
{
	char *eq = strchr((*tok)[t], '=');
	char *key = g_strndup((*tok)[t], eq ? (size_t)(eq - (*tok)[t]) : strlen((*tok)[t]));
	int k = gs_verb_key_index(v, key);
	bool changed = false;

	if (k >= 0 && !v->keys[k].required && try_token(r, lines, i, tok, t, NULL))
		changed = true;
	else if (k >= 0 && eq && v->keys[k].type == GS_ARG_U64)
		changed = shrink_number(r, lines, i, tok, t, key);
	g_free(key);
	return changed;
}

/* Arguments of line @i (before any "=>"); lines with quotes are left as written. */
static bool shrink_line(struct reducer *r, GPtrArray **lines, guint i)
{
	const char *line = g_ptr_array_index(*lines, i);
	gchar **tok = g_strsplit_set(line, " \t", -1);
	const struct gs_verb *v = tok[0] ? gs_verb_lookup(tok[0]) : NULL;
	bool changed = false;

	if (!v || strchr(line, '"') || v->text) {
		g_strfreev(tok);
		return false;
	}
	for (guint t = 1; tok[t] && strcmp(tok[t], "=>") && r->attempts < r->max;) {
		if (!tok[t][0] || (t == 1 && v->target != GS_ARG_NONE && !strchr(tok[t], '='))) {
			t++;
			continue;
		}
		if (shrink_token(r, lines, i, &tok, t, v)) {
			changed = true;
			/* A dropped token shifted the rest: look at index t again. */
			continue;
		}
		t++;
	}
	g_strfreev(tok);
	return changed;
}

/* The lines of @text; with @strip, operation lines only, without comments and blanks. */
static GPtrArray *operation_lines(const char *text, size_t len, bool strip, unsigned int *total)
{
	gchar *copy = g_strndup(text, len);
	gchar **all = g_strsplit(copy, "\n", -1);
	GPtrArray *lines = lines_new();

	*total = 0;
	for (guint i = 0; all[i]; i++) {
		char *hash = strchr(all[i], '"') ? NULL : strchr(all[i], '#');

		/* A quote in a comment does not make the line an operation. */
		if (*g_strchug(all[i]) == '#')
			hash = all[i];

		if (all[i + 1] || all[i][0])
			(*total)++;
		if (!strip) {
			if (all[i + 1] || all[i][0])
				g_ptr_array_add(lines, g_strdup(all[i]));
			continue;
		}
		if (hash)
			*hash = '\0';
		g_strstrip(all[i]);
		if (all[i][0])
			g_ptr_array_add(lines, g_strdup(all[i]));
	}
	g_strfreev(all);
	g_free(copy);
	return lines;
}

/*
 * "SUMMARY: AddressSanitizer: KIND ../dir/file.c:236 in func" from a child's
 * error stream, as "AddressSanitizer: KIND file.c:# in func": directories
 * and numbers go, the kind of error and where it happened stay.
 */
static void append_summary(GString *g, const char *err)
{
	const char *p = strstr(err, "SUMMARY: ");
	const char *end;

	if (!p)
		return;
	p += strlen("SUMMARY: ");
	end = strchrnul(p, '\n');
	g_string_append(g, ": ");
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *word_end = sp ? sp : end;
		const char *base = p;
		gchar *word;

		for (const char *q = p; q < word_end; q++)
			if (*q == '/')
				base = q + 1;
		word = g_strndup(base, (gsize)(word_end - base));
		append_normalized(g, word);
		g_free(word);
		if (sp)
			g_string_append_c(g, ' ');
		p = sp ? sp + 1 : end;
	}
}

/*
 * Run the scenario in a child, its error stream read back. Return: the
 * signal that ended the child (@sig: "crash: SIGNAME" and the sanitizer's
 * summary line when there is one), 0 when it ended normally, -errno.
 */
static int crash_signature(const struct gs_scenario_opts *opts, const char *name, const char *text,
			   size_t len, char *sig, size_t siglen)
{
	GString *err = g_string_new(NULL), *g;
	char chunk[4096], tmp[GS_REDUCE_SIG_LEN];
	int status, fds[2], ret = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		g_string_free(err, TRUE);
		return ret;
	}
	if (!pid) {
		close(fds[0]);
		if (dup2(fds[1], STDERR_FILENO) < 0)
			_exit(126);
		gs_scenario_signature(opts, name, text, len, tmp, sizeof(tmp));
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		g_string_append_len(err, chunk, n);
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		ret = -errno;
	else if (WIFSIGNALED(status))
		ret = WTERMSIG(status);
	if (ret > 0 && siglen) {
		g = g_string_new(NULL);
		g_string_append_printf(g, "crash: SIG%s", sigabbrev_np(ret) ?: "?");
		append_summary(g, err->str);
		g_strlcpy(sig, g->str, siglen);
		g_string_free(g, TRUE);
	}
	g_string_free(err, TRUE);
	return ret;
}

static void reduce_loop(struct reducer *r, GPtrArray **lines)
{
	bool changed = true;

	while (changed && r->attempts < r->max) {
		changed = ddmin(r, lines);
		for (guint i = 0; i < (*lines)->len && r->attempts < r->max; i++)
			changed |= shrink_line(r, lines, i);
	}
}

/* A lab's '?' is an answer not given, not a failure: there is nothing to keep. */
static bool blank_line(const char *name, const char *text, size_t len, struct gs_reduce_result *res)
{
	struct gs_script *script;
	const struct gs_op *op;

	gs_scenario_init();
	script = gs_script_parse(name, text, len, NULL);
	op = script ? gs_script_first_blank(script) : NULL;
	if (op)
		snprintf(res->signature, sizeof(res->signature),
			 "line %u: fill in the answer ('?') first: an answer left out is no "
			 "failure to reduce",
			 op->line);
	gs_script_free(script);
	return op;
}

int gs_scenario_reduce(const struct gs_scenario_opts *opts, const struct gs_reduce_opts *ropts,
		       const char *name, const char *text, size_t len, struct gs_reduce_result *res)
{
	struct reducer r = {.opts = opts, .name = name, .max = GS_REDUCE_DEFAULT_MAX};
	GPtrArray *lines;
	char *body;
	int st, sig;

	memset(res, 0, sizeof(*res));
	if (ropts && ropts->max_attempts)
		r.max = ropts->max_attempts;
	if (blank_line(name, text, len, res))
		return GS_REDUCE_USAGE;
	r.log = ropts ? ropts->log : NULL;
	/* The first run in a child: a crash would end this process. */
	sig = crash_signature(opts, name, text, len, res->signature, sizeof(res->signature));
	if (sig < 0) {
		snprintf(res->signature, sizeof(res->signature),
			 "cannot run the first attempt in a child: %s", strerror(-sig));
		return GS_REDUCE_USAGE;
	}
	/* A crash: every attempt then runs in a child of its own. */
	r.crash = sig > 0;
	st = r.crash ? GS_EXIT_FAIL
		     : gs_scenario_signature(opts, name, text, len, res->signature,
					     sizeof(res->signature));
	res->attempts = r.attempts = 1;
	if (st == GS_EXIT_SYNTAX)
		return GS_REDUCE_MALFORMED;
	lines = operation_lines(text, len, true, &res->lines_before);
	res->ops_before = lines->len;
	if (st == GS_EXIT_OK) {
		g_ptr_array_free(lines, TRUE);
		return GS_REDUCE_NOTHING;
	}
	r.want = res->signature;
	/* Without comments it must still fail so; if not, reduce the lines as written. */
	if (!interesting(&r, lines)) {
		g_ptr_array_free(lines, TRUE);
		lines = operation_lines(text, len, false, &res->lines_before);
	}
	reduce_loop(&r, &lines);
	res->attempts = r.attempts;
	res->exhausted = r.attempts >= r.max;
	res->ops_after = lines->len;
	body = join(lines);
	res->text = malloc(strlen(body) + GS_REDUCE_SIG_LEN + 64);
	if (res->text)
		sprintf(res->text, "# gmemsim reduce: %s\n%s", res->signature, body);
	g_free(body);
	g_ptr_array_free(lines, TRUE);
	return res->text ? GS_REDUCE_DONE : GS_REDUCE_USAGE;
}
