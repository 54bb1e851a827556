// SPDX-License-Identifier: MIT
/*
 * The differential runner. A scenario runs once per backend; every line's
 * result is captured as values (return value or errno, signal, WARNs and
 * each named output field) through the engine's on_result hook, and the two
 * results of each line are compared field by field. Lines a backend
 * skipped are counted, not compared. Divergences the project intends are
 * the entries of divergences[] below, the one list of them;
 * docs/DIFFERENTIAL.md explains each.
 *
 * Where the host cannot answer (no /dev/kvm, no guest_memfd), the kernel's
 * side comes from a transcript: the captured results of a run on a kernel
 * that could, written by gs_diff_record_buffer() with the kernel's release
 * and capabilities in its header.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <glib.h>
#include <gmemsim/differential.h>
#include <gmemsim/live.h>
#include <gmemsim/scenario.h>
#include <gmemsim/uapi.h>

#include <gmemsim/internal/scenario_int.h>

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

/*
 * The intended divergences. Also intended, but not reachable by the verbs
 * both backends run, so not filtered here (see docs/DIFFERENTIAL.md):
 * statfs magic (the simulator has no filesystem), KVM_SET_MEMORY_ATTRIBUTES
 * (ENOTTY on a kernel without CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES: no verb
 * issues it), fallocate ENOMEM (the simulator rolls back; it is only
 * reached by fault injection, a simulator-only verb), and HugeTLB,
 * page_order and private-memory VMs (the kernel backend skips those lines).
 * The advertised flags are no longer one: the design profile accepts
 * HUGETLB but leaves it out of KVM_CAP_GUEST_MEMFD_FLAGS (docs/FIDELITY.md).
 */
static const struct divergence divergences[] = {
	{NULL, "blocks", design_profile_scenario,
	 "st_blocks counts allocated bytes (project design)"},
};

/* One output field, owning its strings. */
struct cap_field {
	char *key;
	bool is_str;
	bool is_hex;
	uint64_t val;
	char *str;
};

/* One line's result as values, whichever backend or transcript it came from. */
struct line_result {
	unsigned int line;
	char *src;
	long long ret;
	int sig;
	bool skipped;
	unsigned long warns;
	unsigned int nr;
	struct cap_field fields[GS_MAX_FIELDS];
};

/* The lines one backend ran. */
struct run_lines {
	GHashTable *by_line; /* line number -> struct line_result */
	unsigned int max_line;
	int status;
	char *errors;
};

static void line_result_free(void *p)
{
	struct line_result *r = p;

	for (unsigned int i = 0; i < r->nr; i++) {
		g_free(r->fields[i].key);
		g_free(r->fields[i].str);
	}
	g_free(r->src);
	g_free(r);
}

static void run_lines_init(struct run_lines *rl)
{
	rl->by_line = g_hash_table_new_full(NULL, NULL, NULL, line_result_free);
	rl->max_line = 0;
	rl->status = GS_EXIT_USAGE;
	rl->errors = NULL;
}

static void run_lines_add(struct run_lines *rl, struct line_result *r)
{
	g_hash_table_replace(rl->by_line, GUINT_TO_POINTER(r->line), r);
	rl->max_line = MAX(rl->max_line, r->line);
}

/* The engine's on_result hook: keep a copy of the result. */
static void capture(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct line_result *r = g_new0(struct line_result, 1);

	r->line = op->line;
	r->src = g_strdup(op->src);
	r->ret = res->ret;
	r->sig = res->sig;
	r->skipped = res->skipped;
	r->warns = res->warns;
	r->nr = MIN(res->nr, GS_MAX_FIELDS);
	for (unsigned int i = 0; i < r->nr; i++) {
		const struct gs_result_field *f = &res->fields[i];

		r->fields[i] = (struct cap_field){
			.key = g_strdup(f->key),
			.is_str = f->is_str,
			.is_hex = f->is_hex,
			.val = f->val,
			.str = f->is_str ? g_strdup(f->str ? f->str : "") : NULL,
		};
	}
	run_lines_add(arg, r);
}

/* The result as the runner prints it ("EINVAL", "0 size=4096", "SIGBUS"). */
static void line_result_format(const struct line_result *r, char *buf, size_t len)
{
	struct gs_result res = {
		.ret = r->ret,
		.sig = r->sig,
		.skipped = r->skipped,
		.warns = r->warns,
		.nr = r->nr,
	};

	for (unsigned int i = 0; i < r->nr; i++)
		res.fields[i] = (struct gs_result_field){
			.key = r->fields[i].key,
			.is_str = r->fields[i].is_str,
			.is_hex = r->fields[i].is_hex,
			.val = r->fields[i].val,
			.str = r->fields[i].str,
		};
	gs_result_format(&res, buf, len);
}

static const struct cap_field *find_field(const struct line_result *r, const char *key)
{
	for (unsigned int i = 0; i < r->nr; i++)
		if (!strcmp(r->fields[i].key, key))
			return &r->fields[i];
	return NULL;
}

static bool field_equal(const struct cap_field *a, const struct cap_field *b)
{
	if (!a || !b)
		return a == b;
	if (a->is_str != b->is_str)
		return false;
	return a->is_str ? !strcmp(a->str, b->str) : a->val == b->val;
}

/* The intended divergence that leaves @key of line @src out, or NULL. */
static const struct divergence *excused(const char *text, const char *src, const char *key)
{
	size_t vlen = strcspn(src, " \t");

	for (size_t i = 0; i < G_N_ELEMENTS(divergences); i++) {
		const struct divergence *d = &divergences[i];

		if (d->verb && (strlen(d->verb) != vlen || strncmp(d->verb, src, vlen)))
			continue;
		if (d->applies && !d->applies(text, src))
			continue;
		if (!strcmp(d->field, key))
			return d;
	}
	return NULL;
}

enum verdict { SAME, INTENDED, DIFFER };

/* Field @key of @a against @b: the same, excused by a divergence (@why), or not. */
static enum verdict compare_field(const char *text, const char *src, const char *key,
				  const struct line_result *a, const struct line_result *b,
				  const char **why)
{
	const struct divergence *d;

	if (field_equal(find_field(a, key), find_field(b, key)))
		return SAME;
	d = excused(text, src, key);
	if (!d)
		return DIFFER;
	*why = d->reason;
	return INTENDED;
}

static enum verdict compare_results(const char *text, const struct line_result *a,
				    const struct line_result *b, const char **why)
{
	enum verdict v = SAME;

	if (a->ret != b->ret || a->sig != b->sig || a->warns != b->warns)
		return DIFFER;
	for (unsigned int i = 0; i < a->nr; i++)
		v = MAX(v, compare_field(text, a->src, a->fields[i].key, a, b, why));
	for (unsigned int i = 0; i < b->nr; i++)
		v = MAX(v, compare_field(text, a->src, b->fields[i].key, a, b, why));
	return v;
}

/* Compare one line; report it to @out if it differs beyond the intended. */
static void compare_line(const char *name, const char *text, unsigned int line,
			 const struct line_result *sim, const struct line_result *kern, FILE *out,
			 struct gs_diff_stats *st)
{
	char sr[512] = "(no result)", kr[512] = "(no result)";
	const char *why = NULL;
	enum verdict v = DIFFER;

	if ((sim && sim->skipped) || (kern && kern->skipped)) {
		st->skipped++;
		return;
	}
	st->compared++;
	if (sim && kern)
		v = compare_results(text, sim, kern, &why);
	if (v == SAME)
		return;
	if (sim)
		line_result_format(sim, sr, sizeof(sr));
	if (kern)
		line_result_format(kern, kr, sizeof(kr));
	if (v == INTENDED) {
		st->intended++;
		fprintf(out, "%s:%u: intended: sim %s, kernel %s: %s\n", name, line, sr, kr, why);
	} else {
		st->differ++;
		fprintf(out, "%s:%u: sim %s, kernel %s\n", name, line, sr, kr);
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
		.quiet = true,
		/* Every line must run: a failed expectation is not what is compared. */
		.keep_going = true,
		.on_result = capture,
		.on_result_arg = rl,
	};
	struct gs_scenario *s = fo && fe ? gs_scenario_new(&opts) : NULL;

	run_lines_init(rl);
	if (s) {
		rl->status = gs_scenario_run_buffer(s, name, text, len);
		gs_scenario_free(s);
	}
	if (fo)
		fclose(fo);
	if (fe)
		fclose(fe);
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

/*
 * The text both backends run: @text up to the first verb that changes state
 * only the simulator has (said on @out). A NUL-terminated copy, for the
 * applies() hooks.
 */
static char *common_history(const char *name, const char *text, size_t len, FILE *out)
{
	char *z = g_strndup(text, len);
	unsigned int cutoff = first_sim_only_state(z);

	if (cutoff) {
		fprintf(out,
			"%s:%u: this and later lines are not run: the verb changes state only "
			"the simulator has\n",
			name, cutoff);
		truncate_at_line(z, cutoff);
	}
	return z;
}

/* The simulator's run of @z, compared line by line with @kern's results. */
static int compare_with(const char *name, const char *z, struct run_lines *kern, FILE *out,
			struct gs_diff_stats *st)
{
	struct run_lines sim = {0};
	char *sim_text = upstream_profile(z);
	bool complete;
	int status;

	run_backend(GS_BACKEND_SIM, name, sim_text, strlen(sim_text), &sim);
	complete = ran_to_end(&sim) && ran_to_end(kern);
	for (unsigned int l = 1; l <= MAX(sim.max_line, kern->max_line); l++) {
		const struct line_result *a = g_hash_table_lookup(sim.by_line, GUINT_TO_POINTER(l));
		const struct line_result *b =
			g_hash_table_lookup(kern->by_line, GUINT_TO_POINTER(l));

		/* After a run stopped early, only lines both ran can be compared. */
		if ((a && b) || ((a || b) && complete))
			compare_line(name, sim_text, l, a, b, out, st);
	}
	g_free(sim_text);
	status = run_failure(name, &sim, "sim", out) ?: run_failure(name, kern, "kernel", out);
	if (!status && st->differ)
		status = GS_EXIT_FAIL;
	run_lines_free(&sim);
	return status;
}

int gs_diff_run_buffer(const char *name, const char *text, size_t len, FILE *out,
		       struct gs_diff_stats *st)
{
	struct run_lines kern = {0};
	struct gs_diff_stats local = {0};
	const char *why = gs_live_probe();
	char *z;
	int status;

	st = st ? st : &local;
	*st = (struct gs_diff_stats){0};
	if (why) {
		fprintf(out, "%s: skipped: %s\n", name, why);
		return GS_EXIT_SKIP;
	}
	z = common_history(name, text, len, out);
	if (run_backend(GS_BACKEND_KERNEL, name, z, strlen(z), &kern) == GS_EXIT_SKIP) {
		fprintf(out, "%s: skipped: the kernel backend is not available\n", name);
		status = GS_EXIT_SKIP;
	} else {
		status = compare_with(name, z, &kern, out, st);
	}
	run_lines_free(&kern);
	g_free(z);
	return status;
}

static int read_text(const char *path, FILE *out, gchar **text, gsize *len)
{
	GError *gerr = NULL;

	if (g_file_get_contents(path, text, len, &gerr))
		return 0;
	fprintf(out, "%s: %s\n", path, gerr->message);
	g_error_free(gerr);
	return GS_EXIT_USAGE;
}

int gs_diff_run_file(const char *path, FILE *out, struct gs_diff_stats *st)
{
	gchar *text = NULL;
	gsize len = 0;
	int status = read_text(path, out, &text, &len);

	if (!status)
		status = gs_diff_run_buffer(path, text, len, out, st);
	g_free(text);
	return status;
}

/* --- transcripts --- */

#define TRANSCRIPT_MAGIC "# gmemsim differential transcript v1"

/**
 * struct transcript_head - a transcript's header
 * @backend: "kernel", or "sim" for the runner's own mechanism tests
 * @release: uname -r of the recording host ("simulator" for sim)
 * @sha256: of the scenario text the kernel ran (the common history)
 * @cap_guest_memfd: KVM_CAP_GUEST_MEMFD of the recording host
 * @create_gmem: "ok", or the errno name KVM_CREATE_GUEST_MEMFD gave
 * @status: the recorded run's enum gs_exit
 */
struct transcript_head {
	char backend[16];
	char release[65];
	char sha256[65];
	long cap_guest_memfd;
	char create_gmem[32];
	int status;
};

/* What the host that answers offers, as the header records it. */
static void head_from_host(struct transcript_head *h, enum gs_backend backend)
{
	const struct gs_live_host *host = gs_live_host();
	int kvm;

	if (backend == GS_BACKEND_KERNEL) {
		g_strlcpy(h->backend, "kernel", sizeof(h->backend));
		g_strlcpy(h->release, host->release, sizeof(h->release));
		h->cap_guest_memfd = host->cap_guest_memfd;
		g_strlcpy(h->create_gmem,
			  host->create_gmem_errno ? gs_errno_name(host->create_gmem_errno) ?: "?"
						  : "ok",
			  sizeof(h->create_gmem));
		return;
	}
	/* The simulator stands in as the kernel: ask its uAPI, as a VMM would. */
	g_strlcpy(h->backend, "sim", sizeof(h->backend));
	g_strlcpy(h->release, "simulator", sizeof(h->release));
	kvm = gs_open("/dev/kvm", O_RDWR);
	h->cap_guest_memfd =
		kvm < 0 ? 0 : gs_ioctl(kvm, GS_KVM_CHECK_EXTENSION, GS_KVM_CAP_GUEST_MEMFD);
	if (kvm >= 0)
		gs_close(kvm);
	g_strlcpy(h->create_gmem, "ok", sizeof(h->create_gmem));
}

static void write_head(FILE *f, const char *name, const struct transcript_head *h,
		       enum gs_backend backend)
{
	const struct gs_live_host *host = gs_live_host();

	fprintf(f, TRANSCRIPT_MAGIC "\n");
	fprintf(f, "# scenario: %s\n", name);
	fprintf(f, "# scenario-sha256: %s\n", h->sha256);
	fprintf(f, "# backend: %s\n", h->backend);
	if (backend == GS_BACKEND_SIM)
		fprintf(f, "# NOTE: recorded from the simulator standing in for a kernel, to test "
			   "the record/replay mechanism; these are not a kernel's answers\n");
	fprintf(f, "# kernel: %s\n", h->release);
	if (backend == GS_BACKEND_KERNEL) {
		fprintf(f, "# machine: %s\n", host->machine);
		fprintf(f, "# cap-guest-memfd-flags: %ld\n", host->cap_guest_memfd_flags);
		fprintf(f, "# cap-user-memory2: %ld\n", host->cap_user_memory2);
		fprintf(f, "# cap-memory-attributes: %ld\n", host->cap_memory_attributes);
		fprintf(f, "# cap-vm-types: %ld\n", host->cap_vm_types);
	}
	fprintf(f, "# cap-guest-memfd: %ld\n", h->cap_guest_memfd);
	fprintf(f, "# create-guest-memfd: %s\n", h->create_gmem);
	fprintf(f, "# status: %d (%s)\n", h->status, gs_scenario_exit_name(h->status));
}

/* "ret=-22 sig=0 skipped=0 warns=0 size=u:4096 exit=s:none" */
static void write_result(FILE *f, const struct line_result *r)
{
	fprintf(f, "%u\tret=%lld sig=%d skipped=%d warns=%lu", r->line, r->ret, r->sig, r->skipped,
		r->warns);
	for (unsigned int i = 0; i < r->nr; i++) {
		const struct cap_field *c = &r->fields[i];

		if (c->is_str) {
			char *e = g_uri_escape_string(c->str, NULL, false);

			fprintf(f, " %s=s:%s", c->key, e);
			g_free(e);
		} else {
			fprintf(f,
				c->is_hex ? " %s=x:0x%" G_GINT64_MODIFIER "x"
					  : " %s=u:%" G_GUINT64_FORMAT,
				c->key, c->val);
		}
	}
	fprintf(f, "\t%s\n", r->src);
}

static char *sha256_of(const char *z)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, z, -1);
}

int gs_diff_record_buffer(const char *name, const char *text, size_t len, enum gs_backend backend,
			  FILE *transcript, FILE *out)
{
	struct transcript_head h = {0};
	struct run_lines rl = {0};
	const char *why = gs_live_probe();
	char *z, *sha;

	if (backend == GS_BACKEND_KERNEL && why) {
		fprintf(out, "%s: not recorded: %s\n", name, why);
		return GS_EXIT_SKIP;
	}
	z = common_history(name, text, len, out);
	/* A stand-in kernel answers as the upstream profile does, as on the live kernel. */
	if (backend == GS_BACKEND_SIM) {
		char *u = upstream_profile(z);

		run_backend(backend, name, u, strlen(u), &rl);
		g_free(u);
	} else {
		run_backend(backend, name, z, strlen(z), &rl);
	}
	head_from_host(&h, backend);
	sha = sha256_of(z);
	g_strlcpy(h.sha256, sha, sizeof(h.sha256));
	h.status = rl.status;
	write_head(transcript, name, &h, backend);
	for (unsigned int l = 1; l <= rl.max_line; l++) {
		const struct line_result *r = g_hash_table_lookup(rl.by_line, GUINT_TO_POINTER(l));

		if (r)
			write_result(transcript, r);
	}
	if (rl.status != GS_EXIT_OK && rl.status != GS_EXIT_FAIL)
		run_failure(name, &rl, h.backend, out);
	run_lines_free(&rl);
	g_free(sha);
	g_free(z);
	return rl.status == GS_EXIT_FAIL ? GS_EXIT_OK : rl.status;
}

static bool parse_head_line(struct transcript_head *h, const char *l)
{
	const char *v;

#define HEAD_KEY(k) (g_str_has_prefix(l, "# " k ": ") && (v = l + strlen("# " k ": ")))
	if (HEAD_KEY("backend"))
		g_strlcpy(h->backend, v, sizeof(h->backend));
	else if (HEAD_KEY("kernel"))
		g_strlcpy(h->release, v, sizeof(h->release));
	else if (HEAD_KEY("scenario-sha256"))
		g_strlcpy(h->sha256, v, sizeof(h->sha256));
	else if (HEAD_KEY("cap-guest-memfd"))
		h->cap_guest_memfd = strtol(v, NULL, 0);
	else if (HEAD_KEY("create-guest-memfd"))
		g_strlcpy(h->create_gmem, v, sizeof(h->create_gmem));
	else if (HEAD_KEY("status"))
		h->status = (int)strtol(v, NULL, 0);
#undef HEAD_KEY
	return true;
}

/* One "key=t:value" of a result; false if malformed. */
static bool parse_field(struct line_result *r, const char *tok)
{
	const char *eq = strchr(tok, '=');
	struct cap_field *c;

	if (!eq || eq == tok || eq[1] == '\0' || eq[2] != ':' || r->nr >= GS_MAX_FIELDS)
		return false;
	c = &r->fields[r->nr];
	*c = (struct cap_field){.key = g_strndup(tok, (size_t)(eq - tok))};
	r->nr++;
	switch (eq[1]) {
	case 's':
		c->is_str = true;
		c->str = g_uri_unescape_string(eq + 3, NULL);
		return c->str != NULL;
	case 'x':
		c->is_hex = true;
		/* fall through */
	case 'u':
		return !gs_parse_u64(eq + 3, &c->val);
	default:
		return false;
	}
}

/* Token @tok is "@key=N" with N a whole decimal number in [@min, @max]. */
static bool parse_num(const char *tok, const char *key, gint64 min, gint64 max, gint64 *v)
{
	size_t n = strlen(key);

	return tok && !strncmp(tok, key, n) && tok[n] == '=' &&
	       g_ascii_string_to_signed(tok + n + 1, 10, min, max, v, NULL);
}

/* "ret=N sig=N skipped=0|1 warns=N" then the fields. */
static bool parse_result(struct line_result *r, gchar **tok)
{
	gint64 ret, sig, skipped, warns;

	if (g_strv_length(tok) < 4 || !parse_num(tok[0], "ret", G_MININT64, G_MAXINT64, &ret) ||
	    !parse_num(tok[1], "sig", 0, 64, &sig) ||
	    !parse_num(tok[2], "skipped", 0, 1, &skipped) ||
	    !parse_num(tok[3], "warns", 0, G_MAXINT64, &warns))
		return false;
	*r = (struct line_result){.line = r->line,
				  .src = r->src,
				  .ret = ret,
				  .sig = (int)sig,
				  .skipped = skipped,
				  .warns = (unsigned long)warns};
	for (unsigned int i = 4; tok[i]; i++)
		if (!parse_field(r, tok[i]))
			return false;
	return true;
}

/* "LINE<TAB>result<TAB>source" */
static struct line_result *parse_result_line(const char *l)
{
	struct line_result *r = g_new0(struct line_result, 1);
	gchar **part = g_strsplit(l, "\t", 3);
	guint64 line = 0;
	bool ok = part[0] && part[1] && part[2] &&
		  g_ascii_string_to_unsigned(part[0], 10, 1, G_MAXUINT, &line, NULL);

	if (ok) {
		gchar **tok = g_strsplit(part[1], " ", -1);

		r->line = (unsigned int)line;
		r->src = g_strdup(part[2]);
		ok = parse_result(r, tok);
		g_strfreev(tok);
	}
	g_strfreev(part);
	if (ok)
		return r;
	line_result_free(r);
	return NULL;
}

/* Parse @text into @h and @rl; false (said on @out) if it is not a transcript. */
static bool parse_transcript(const char *tname, const char *text, size_t len,
			     struct transcript_head *h, struct run_lines *rl, FILE *out)
{
	gchar *z = g_strndup(text, len);
	gchar **lines = g_strsplit(z, "\n", -1);
	bool ok = g_str_has_prefix(z, TRANSCRIPT_MAGIC);
	unsigned int n = 0;

	run_lines_init(rl);
	*h = (struct transcript_head){0};
	for (gchar **l = lines; ok && *l; l++, n++) {
		struct line_result *r;

		g_strchomp(*l);
		if (!**l)
			continue;
		if (**l == '#') {
			parse_head_line(h, *l);
			continue;
		}
		r = parse_result_line(*l);
		if (!r) {
			fprintf(out, "%s:%u: not a transcript line\n", tname, n + 1);
			ok = false;
			break;
		}
		run_lines_add(rl, r);
	}
	if (!g_str_has_prefix(z, TRANSCRIPT_MAGIC))
		fprintf(out, "%s: not a gmemsim transcript\n", tname);
	rl->status = h->status;
	g_strfreev(lines);
	g_free(z);
	return ok;
}

/* Why the transcript cannot stand for a kernel's answers, or NULL. */
static const char *unusable(const struct transcript_head *h, unsigned int flags)
{
	if (strcmp(h->backend, "kernel") && !(flags & GS_DIFF_REPLAY_ANY_BACKEND))
		return "it was not recorded from a kernel";
	if (h->cap_guest_memfd <= 0 || strcmp(h->create_gmem, "ok"))
		return "it was recorded on a kernel without guest_memfd: nothing to compare";
	return NULL;
}

int gs_diff_replay_buffer(const char *name, const char *text, size_t len, const char *tname,
			  const char *transcript, size_t tlen, unsigned int flags, FILE *out,
			  struct gs_diff_stats *st)
{
	struct transcript_head h;
	struct run_lines kern = {0};
	struct gs_diff_stats local = {0};
	const char *why;
	char *z, *sha = NULL;
	int status;

	st = st ? st : &local;
	*st = (struct gs_diff_stats){0};
	if (!parse_transcript(tname, transcript, tlen, &h, &kern, out)) {
		run_lines_free(&kern);
		return GS_EXIT_USAGE;
	}
	why = unusable(&h, flags);
	if (why) {
		fprintf(out, "%s: skipped: transcript %s: %s\n", name, tname, why);
		run_lines_free(&kern);
		return GS_EXIT_SKIP;
	}
	z = common_history(name, text, len, out);
	sha = sha256_of(z);
	if (strcmp(sha, h.sha256)) {
		fprintf(out,
			"%s: transcript %s is stale: the scenario changed since it was recorded "
			"on kernel %s; record it again (gmemsim diff --record) where guest_memfd "
			"answers\n",
			name, tname, h.release);
		status = GS_EXIT_FAIL;
	} else {
		fprintf(out, "%s: compared against transcript %s (recorded on %s %s)\n", name,
			tname, h.backend, h.release);
		status = compare_with(name, z, &kern, out, st);
	}
	run_lines_free(&kern);
	g_free(sha);
	g_free(z);
	return status;
}

/* DIR/BASENAME.transcript for scenario @path. */
static char *transcript_path(const char *dir, const char *path)
{
	char *base = g_path_get_basename(path);
	char *file = g_strconcat(base, ".transcript", NULL);
	char *p = g_build_filename(dir, file, NULL);

	g_free(base);
	g_free(file);
	return p;
}

int gs_diff_record_file(const char *path, const char *dir, FILE *out)
{
	gchar *text = NULL, *tpath = transcript_path(dir, path);
	gsize len = 0;
	FILE *f = NULL;
	int status = read_text(path, out, &text, &len);

	if (!status && gs_live_probe()) {
		fprintf(out, "%s: not recorded: %s\n", path, gs_live_probe());
		status = GS_EXIT_SKIP;
	} else if (!status && !(f = fopen(tpath, "w"))) {
		fprintf(out, "%s: %s\n", tpath, strerror(errno));
		status = GS_EXIT_USAGE;
	} else if (!status) {
		status = gs_diff_record_buffer(path, text, len, GS_BACKEND_KERNEL, f, out);
		if (fclose(f)) {
			fprintf(out, "%s: %s\n", tpath, strerror(errno));
			status = GS_EXIT_USAGE;
		} else {
			fprintf(out, "%s: recorded to %s (kernel %s)\n", path, tpath,
				gs_live_host()->release);
		}
	}
	g_free(tpath);
	g_free(text);
	return status;
}

int gs_diff_replay_file(const char *path, const char *dir, FILE *out, struct gs_diff_stats *st)
{
	gchar *text = NULL, *ttext = NULL, *tpath = transcript_path(dir, path);
	gsize len = 0, tlen = 0;
	int status = read_text(path, out, &text, &len);

	if (st)
		*st = (struct gs_diff_stats){0};
	if (!status && !g_file_test(tpath, G_FILE_TEST_EXISTS)) {
		fprintf(out,
			"%s: skipped: no transcript %s recorded on a kernel with guest_memfd\n",
			path, tpath);
		status = GS_EXIT_SKIP;
	} else if (!status) {
		status = read_text(tpath, out, &ttext, &tlen)
				 ?: gs_diff_replay_buffer(path, text, len, tpath, ttext, tlen, 0,
							  out, st);
	}
	g_free(ttext);
	g_free(tpath);
	g_free(text);
	return status;
}
