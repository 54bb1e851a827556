// SPDX-License-Identifier: MIT
/*
 * Tests of the structured fuzzing format and its runner (lib/scenario/
 * fuzz_decode.c, fuzz_campaign.c; docs/FUZZING.md): every input decodes to a
 * program that parses, the same bytes print the same text, the text run as a
 * scenario (`gmemsim run --oracle`) and the fuzz targets' own run agree on
 * every outcome, decoding honours its bounds, a campaign is deterministic,
 * and `strict off` lets a generated line fail without failing the run. The
 * operations an execution builds straight from the bytes (gs_fuzz_exec())
 * are the ones the parser makes of the text, with the same results, state
 * and signature (test_direct_equals_text). A pool kept from one input to
 * the next is one a fresh simulator would have made (test_reused_pool_equals_fresh,
 * test_dirty_pool_rebuilt).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <valgrind/memcheck.h>
#include <gmemsim/folio.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/physmem.h>
#include <gmemsim/rng.h>
#include <gmemsim/scenario.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/fuzz_int.h>
#include <gmemsim/internal/scenario_int.h>
#include "harness.h"

#define INPUT_MAX (GS_FUZZ_HEADER + GS_FUZZ_MAX_OPS * GS_FUZZ_OP_SIZE)

static size_t random_input(struct gs_rng *rng, uint8_t *buf, size_t max)
{
	size_t len = gs_rng_below(rng, max + 1);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)gs_rng_next(rng);
	return len;
}

static unsigned int count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The text as `gmemsim run --oracle` runs it: its exit status. */
static int run_as_scenario(const char *text)
{
	struct gs_scenario_opts o = {.oracle = true, .quiet = true};
	FILE *null = fopen("/dev/null", "w");
	struct gs_scenario *s;
	int st;

	ck_assert_ptr_nonnull(null);
	o.out = o.err = null;
	s = gs_scenario_new(&o);
	st = gs_scenario_run_buffer(s, "case.gms", text, strlen(text));
	gs_scenario_free(s);
	fclose(null);
	return st;
}

START_TEST(test_decode_any_bytes)
{
	static const uint8_t ff[64] = {[0 ... 63] = 0xff};
	char *text = gs_fuzz_decode(NULL, 0, NULL);
	char sig[GS_REDUCE_SIG_LEN];

	/* Empty: the header's defaults (a 4 KiB file, planned), no operation, the final check. */
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "strict off\n"));
	ck_assert_ptr_nonnull(strstr(text, "conversion=planned"));
	ck_assert_ptr_nonnull(strstr(text, "gmem f0 "));
	ck_assert(g_str_has_suffix(text, "check => 0\n"));
	ck_assert(!gs_fuzz_run(text, strlen(text), sig, sizeof(sig)));
	free(text);
	/* Short, partial and saturated inputs decode and pass too. */
	for (size_t len = 1; len <= sizeof(ff); len += 5) {
		text = gs_fuzz_decode(ff, len, NULL);
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(!gs_fuzz_run(text, strlen(text), sig, sizeof(sig)), "%zu: %s\n%s",
			      len, sig, text);
		free(text);
	}
	gs_test_assert_no_leaks();
}
END_TEST

/* Decode, print, run: the same outcome as the fuzz targets' own run, and determinism. */
START_TEST(test_decode_print_run)
{
	static uint8_t buf[INPUT_MAX];
	struct gs_rng rng;
	unsigned int n = (unsigned int)gs_test_scale(60), failing = 0;

	gs_rng_seed(&rng, gs_test_seed());
	for (unsigned int i = 0; i < n; i++) {
		size_t len = random_input(&rng, buf, GS_FUZZ_HEADER + 40 * GS_FUZZ_OP_SIZE);
		char sig[GS_REDUCE_SIG_LEN], sig2[GS_REDUCE_SIG_LEN];
		char *text, *again;
		bool failed;
		int st;

		/* 1 GiB sequences are slow today (ORACLE.md "Cost"): 4 KiB and 2 MiB here. */
		if (len)
			gs_fuzz_header_set(buf, i % 2, -1);
		text = gs_fuzz_decode(buf, len, NULL);
		again = gs_fuzz_decode(buf, len, NULL);
		ck_assert_str_eq(text, again);
		failed = gs_fuzz_run(text, strlen(text), sig, sizeof(sig));
		ck_assert_msg(!strstr(sig, "malformed") && !strstr(sig, "error: "),
			      "input %u: %s\n%s", i, sig, text);
		st = run_as_scenario(text);
		ck_assert_msg(failed == (st != GS_EXIT_OK),
			      "input %u: fuzz run %s, scenario %d\n%s", i, sig, st, text);
		ck_assert_int_eq(gs_fuzz_run(text, strlen(text), sig2, sizeof(sig2)), failed);
		ck_assert_str_eq(sig, sig2);
		failing += failed;
		free(text);
		free(again);
	}
	/* A finding here is a simulator or oracle bug the planned orderings must not have. */
	printf("decode-print-run: %u inputs, %u failing\n", n, failing);
	gs_test_assert_no_leaks();
}
END_TEST

/* Operation @a (built from bytes) is the parser's @b: verb, line, target, every key, the expectation. */
static void assert_same_op(const struct gs_op *a, const struct gs_op *b, unsigned int input)
{
	const struct gs_verb *v = b->verb;

	ck_assert_msg(a->verb == v, "input %u line %u: verb %s, parsed %s", input, b->line,
		      a->verb ? a->verb->name : "-", v->name);
	ck_assert_uint_eq(a->line, b->line);
	ck_assert_str_eq(a->file, b->file);
	ck_assert_msg(!a->target == !b->target && (!a->target || !strcmp(a->target, b->target)),
		      "input %u line %u: target", input, b->line);
	ck_assert_uint_eq(a->target_u64, b->target_u64);
	ck_assert_ptr_null(a->text);
	ck_assert_ptr_null(b->text);
	for (int k = 0; v->keys && v->keys[k].name; k++) {
		const struct gs_arg *x = &a->args[k], *y = &b->args[k];

		ck_assert_msg(x->present == y->present && x->u == y->u,
			      "input %u line %u (%s): key %s: %d %" PRIu64 ", parsed %d %" PRIu64,
			      input, b->line, b->src, v->keys[k].name, x->present, x->u, y->present,
			      y->u);
		/* Numbers carry no text when built (nothing reads it); the rest carries the parser's. */
		if (!y->present || v->keys[k].type == GS_ARG_U64)
			continue;
		ck_assert_msg(x->str && !strcmp(x->str, y->str), "input %u line %u: key %s text",
			      input, b->line, v->keys[k].name);
	}
	ck_assert_int_eq(a->has_expect, b->has_expect);
	ck_assert_int_eq(a->expect.has_ret, b->expect.has_ret);
	ck_assert_int_eq(a->expect.ret, b->expect.ret);
	ck_assert_int_eq(a->expect.sig, b->expect.sig);
	ck_assert_uint_eq(a->expect.nr, b->expect.nr);
	ck_assert_uint_eq(a->expect.blanks, b->expect.blanks);
	ck_assert_ptr_null(a->src);
}

/* Each line's result, every output field included. */
static void record_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	GString *g = arg;

	g_string_append_printf(g, "%u %s ret=%lld sig=%d warns=%lu skipped=%d", op->line,
			       op->verb->name, res->ret, res->sig, res->warns, res->skipped);
	for (unsigned int i = 0; i < res->nr; i++) {
		const struct gs_result_field *f = &res->fields[i];

		if (f->is_str)
			g_string_append_printf(g, " %s=%s", f->key, f->str ? f->str : "");
		else
			g_string_append_printf(g, " %s=%" PRIu64, f->key, f->val);
	}
	g_string_append_c(g, '\n');
}

/*
 * @nr operations run as gs_fuzz_exec() runs them (oracle, persistent, to the
 * first failure): each line's result, then the state after the last line
 * (gs_scenario_dump_state(), before the teardown), then the end status, into
 * @out. Returns whether the run failed.
 */
static bool run_recorded(const struct gs_op *ops, size_t nr, GString *out)
{
	FILE *null = fopen("/dev/null", "w");
	struct gs_scenario_opts o = {.oracle = true,
				     .persistent = true,
				     .quiet = true,
				     .on_result = record_result,
				     .on_result_arg = out};
	uint64_t live[GS_MAX_SITES];
	enum gs_warn_mode mode = gs_warn_set_mode(GS_WARN_QUIET);
	struct gs_scenario *s;
	int status = GS_EXIT_OK;
	char *dump = NULL;
	size_t dlen = 0;
	FILE *f;

	ck_assert_ptr_nonnull(null);
	o.out = o.err = null;
	s = gs_scenario_new(&o);
	gs_warn_reset_once();
	gs_scenario_begin_run(s, "fuzz.gms", live);
	for (size_t i = 0; i < nr && status == GS_EXIT_OK; i++)
		status = gs_scenario_run_op(s, &ops[i]);
	f = open_memstream(&dump, &dlen);
	ck_assert_ptr_nonnull(f);
	gs_scenario_dump_state(s, f);
	fclose(f);
	g_string_append(out, dump);
	free(dump);
	status = gs_scenario_end_run(s, status, live);
	g_string_append_printf(out, "end %d\n", status);
	gs_scenario_free(s);
	gs_warn_set_mode(mode);
	fclose(null);
	return status != GS_EXIT_OK;
}

/*
 * Lossless: for inputs from a fixed seed, with every decoding option, the
 * operations built straight from the bytes equal the parsed text's, run to
 * the same per-line results (every output field), the same state after the
 * last line and the same end, and gs_fuzz_exec() names the same failure as
 * gs_fuzz_run() of the text; the same bytes twice give the same signature.
 */
START_TEST(test_direct_equals_text)
{
	static const char *const plants[][2] = {
		{"skip-zero", NULL}, {"stale-attribute", NULL}, {"error-offset", NULL}};
	static uint8_t buf[INPUT_MAX];
	GArray *ops = g_array_new(FALSE, TRUE, sizeof(struct gs_op));
	unsigned int n = (unsigned int)gs_test_scale(2000), failing = 0, lines = 0;
	struct gs_rng rng;

	gs_rng_seed(&rng, gs_test_seed() + 12);
	for (unsigned int i = 0; i < n; i++) {
		struct gs_fuzz_decode_opts d = {0};
		size_t len = random_input(&rng, buf, GS_FUZZ_HEADER + 80 * GS_FUZZ_OP_SIZE);
		char sig[GS_REDUCE_SIG_LEN], sig2[GS_REDUCE_SIG_LEN], sig3[GS_REDUCE_SIG_LEN];
		GString *direct = g_string_new(NULL), *parsed = g_string_new(NULL);
		struct gs_script *script;
		char *text;
		bool failed;
		int nr;

		/* 1 GiB sequences are slow (ORACLE.md "Cost"): one in 500. */
		if (len)
			gs_fuzz_header_set(buf, i % 500 == 499 ? GS_FUZZ_1G : (int)(i % 2), -1);
		if (i % 4 == 1)
			d.check_every = 1 + i % 7;
		if (i % 4 == 2)
			d.max_ops = 1 + i % 80;
		if (i % 8 == 3)
			d.plant = plants[(i / 8) % G_N_ELEMENTS(plants)];
		text = gs_fuzz_decode(buf, len, &d);
		script = gs_script_parse("fuzz.gms", text, strlen(text), stderr);
		ck_assert_ptr_nonnull(script);
		nr = gs_fuzz_build_ops(buf, len, &d, "fuzz.gms", ops);
		ck_assert_int_eq(nr, (int)script->ops->len);
		for (int k = 0; k < nr; k++)
			assert_same_op(&g_array_index(ops, struct gs_op, k),
				       &g_array_index(script->ops, struct gs_op, k), i);
		lines += (unsigned int)nr;
		failed = run_recorded((const struct gs_op *)(void *)ops->data, (size_t)nr, direct);
		run_recorded((const struct gs_op *)(void *)script->ops->data, script->ops->len,
			     parsed);
		ck_assert_msg(
			!strcmp(direct->str, parsed->str),
			"input %u: direct and parsed runs differ\n%s\n--- direct ---\n%s\n--- "
			"parsed ---\n%s",
			i, text, direct->str, parsed->str);
		/* The signatures of every failing input and of a quarter of the others (CI time). */
		if (failed || i % 4 == 0) {
			ck_assert_int_eq(gs_fuzz_exec(buf, len, &d, sig, sizeof(sig)), failed);
			ck_assert_int_eq(gs_fuzz_run(text, strlen(text), sig2, sizeof(sig2)),
					 failed);
			ck_assert_str_eq(sig, sig2);
			ck_assert_msg(!strstr(sig, "malformed"), "input %u: %s", i, sig);
		}
		if (i % 20 == 0) {
			ck_assert_int_eq(gs_fuzz_exec(buf, len, &d, sig3, sizeof(sig3)), failed);
			ck_assert_str_eq(sig, sig3);
		}
		failing += failed;
		gs_script_free(script);
		g_string_free(direct, TRUE);
		g_string_free(parsed, TRUE);
		free(text);
	}
	/* The planted bugs make some inputs fail: their signatures were compared too. */
	printf("direct-equals-text: %u inputs, %u lines, %u failing\n", n, lines, failing);
	ck_assert_uint_gt(lines, n * 4);
	if (n >= 100)
		ck_assert_uint_gt(failing, 0);
	g_array_free(ops, TRUE);
	gs_test_assert_no_leaks();
}
END_TEST

/* A pipe carries the reference's work: lengths first, then the bytes. */
static void write_all(int fd, const void *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const char *)p + off, len - off);

		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
}

static bool read_all(int fd, void *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = read(fd, (char *)p + off, len - off);

		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static const char *const pool_plants[][2] = {{"skip-zero", NULL}, {"stale-attribute", NULL}};

/* Input @i's decoding options: checks, plants, as in test_direct_equals_text. */
static struct gs_fuzz_decode_opts pool_opts(uint32_t i)
{
	struct gs_fuzz_decode_opts d = {0};

	if (i % 4 == 1)
		d.check_every = 1 + i % 7;
	if (i % 8 == 3)
		d.plant = pool_plants[(i / 8) % G_N_ELEMENTS(pool_plants)];
	return d;
}

/*
 * Input @i of @len bytes run as gs_fuzz_exec() runs it, recorded
 * (run_recorded()) into @out, then its signature into @sig: returns whether
 * it failed.
 */
static bool run_pool_input(uint32_t i, const uint8_t *buf, size_t len, GString *out, char *sig,
			   size_t siglen, GArray *ops)
{
	struct gs_fuzz_decode_opts d = pool_opts(i);
	int nr = gs_fuzz_build_ops(buf, len, &d, "fuzz.gms", ops);
	bool failed;

	ck_assert_int_gt(nr, 0);
	failed = run_recorded((const struct gs_op *)(void *)ops->data, (size_t)nr, out);
	ck_assert_int_eq(gs_fuzz_exec(buf, len, &d, sig, siglen), failed);
	return failed;
}

/*
 * The reference: a process that never runs an input on a kept pool (every
 * parked page let go before each run), so that no count a kept pool could
 * get wrong carries from one input to the next. Reads inputs from @in until
 * its end, answers each on @out: failed, the record, the signature.
 */
static void fresh_reference(int in, int out)
{
	static uint8_t buf[INPUT_MAX];
	GArray *ops = g_array_new(FALSE, TRUE, sizeof(struct gs_op));
	uint32_t hdr[2];

	while (read_all(in, hdr, sizeof(hdr)) && hdr[1] <= INPUT_MAX && read_all(in, buf, hdr[1])) {
		char sig[GS_REDUCE_SIG_LEN] = "";
		GString *rec = g_string_new(NULL);
		uint32_t res[3];

		gs_physmem_release_parked();
		res[0] = run_pool_input(hdr[0], buf, hdr[1], rec, sig, sizeof(sig), ops);
		gs_physmem_release_parked();
		res[1] = (uint32_t)rec->len;
		res[2] = (uint32_t)strlen(sig);
		write_all(out, res, sizeof(res));
		write_all(out, rec->str, rec->len);
		write_all(out, sig, res[2]);
		g_string_free(rec, TRUE);
	}
	g_array_free(ops, TRUE);
	_exit(0);
}

/*
 * The pool kept across inputs (docs/FUZZING.md, "The pool kept across
 * inputs"): 2 MiB inputs from a fixed seed, each run on the pool the
 * previous input left parked, give the same per-line results, the same state
 * after the last line (pfns, pool and HVO counters), the same end and the
 * same signature as in a process that builds every pool from scratch.
 */
START_TEST(test_reused_pool_equals_fresh)
{
	static uint8_t buf[INPUT_MAX];
	GArray *ops = g_array_new(FALSE, TRUE, sizeof(struct gs_op));
	unsigned int n = (unsigned int)gs_test_scale(300), reused = 0, failing = 0;
	int to_ref[2], from_ref[2], status;
	struct gs_rng rng;
	pid_t ref;

	ck_assert_int_eq(pipe(to_ref), 0);
	ck_assert_int_eq(pipe(from_ref), 0);
	ref = fork();
	ck_assert_int_ge(ref, 0);
	if (!ref) {
		close(to_ref[1]);
		close(from_ref[0]);
		fresh_reference(to_ref[0], from_ref[1]);
	}
	close(to_ref[0]);
	close(from_ref[1]);
	gs_rng_seed(&rng, gs_test_seed() + 15);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t hdr[2] = {i, GS_FUZZ_HEADER +
					      (16 + gs_rng_below(&rng, 64)) * GS_FUZZ_OP_SIZE};
		char sig[GS_REDUCE_SIG_LEN] = "", ref_sig[GS_REDUCE_SIG_LEN] = "";
		GString *kept = g_string_new(NULL);
		uint32_t res[3];
		char *ref_rec;
		bool failed;

		for (size_t k = 0; k < hdr[1]; k++)
			buf[k] = (uint8_t)gs_rng_next(&rng);
		gs_fuzz_header_set(buf, GS_FUZZ_2M, -1);
		write_all(to_ref[1], hdr, sizeof(hdr));
		write_all(to_ref[1], buf, hdr[1]);
		reused += gs_physmem_nr_parked() > 0;
		failed = run_pool_input(i, buf, hdr[1], kept, sig, sizeof(sig), ops);
		ck_assert(read_all(from_ref[0], res, sizeof(res)));
		ck_assert_uint_lt(res[2], sizeof(ref_sig));
		ref_rec = g_malloc(res[1] + 1);
		ck_assert(read_all(from_ref[0], ref_rec, res[1]) &&
			  read_all(from_ref[0], ref_sig, res[2]));
		ref_rec[res[1]] = '\0';
		ck_assert_int_eq(failed, res[0]);
		if (strcmp(kept->str, ref_rec))
			fprintf(stderr, "--- kept ---\n%s\n--- fresh ---\n%s\n", kept->str,
				ref_rec);
		ck_assert_msg(!strcmp(kept->str, ref_rec),
			      "input %u: the kept pool's run and the fresh one differ (on stderr)",
			      i);
		ck_assert_str_eq(sig, ref_sig);
		failing += failed;
		g_free(ref_rec);
		g_string_free(kept, TRUE);
	}
	close(to_ref[1]);
	ck_assert_int_eq(waitpid(ref, &status, 0), ref);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(from_ref[0]);
	printf("reused-pool-equals-fresh: %u inputs, %u on a kept pool, %u failing\n", n, reused,
	       failing);
	/* Most inputs leave their pool clean: the comparison is of kept pools. */
	ck_assert_uint_gt(reused, n / 4);
	gs_physmem_release_parked();
	g_array_free(ops, TRUE);
	gs_test_assert_no_leaks();
}
END_TEST

static const char pool_prog[] = "hugetlb pool size=2M nr=4\n"
				"vm vm0 type=sw_protected\n"
				"gmem f0 vm=vm0 size=4M flags=mmap|hugetlb page=2M\n"
				"falloc f0 off=0 len=4M\n";

/*
 * @text run as gs_fuzz_run() runs it, with a WARN of its own after the last
 * line if @warn; *@parked: pages still parked after its first line.
 */
static int run_persistent_hook(const char *text, bool warn, unsigned int *parked,
			       void (*after_first)(void));

static int run_persistent(const char *text, bool warn, unsigned int *parked)
{
	return run_persistent_hook(text, warn, parked, NULL);
}

/* The same, calling @after_first (if not NULL) after the first line. */
static int run_persistent_hook(const char *text, bool warn, unsigned int *parked,
			       void (*after_first)(void))
{
	FILE *null = fopen("/dev/null", "w");
	struct gs_scenario_opts o = {.oracle = true, .persistent = true, .quiet = true};
	struct gs_script *script;
	enum gs_warn_mode mode = gs_warn_set_mode(GS_WARN_QUIET);
	uint64_t live[GS_MAX_SITES];
	struct gs_scenario *s;
	int status = GS_EXIT_OK;

	ck_assert_ptr_nonnull(null);
	o.out = o.err = null;
	s = gs_scenario_new(&o); /* the verbs, before the parse */
	script = gs_script_parse("pool.gms", text, strlen(text), stderr);
	ck_assert_ptr_nonnull(script);
	gs_scenario_begin_run(s, "pool.gms", live);
	for (guint i = 0; i < script->ops->len && status == GS_EXIT_OK; i++) {
		status = gs_scenario_run_op(s, &g_array_index(script->ops, struct gs_op, i));
		if (!i)
			*parked = gs_physmem_nr_parked();
		if (!i && after_first)
			after_first();
	}
	if (warn)
		WARN(1, "a WARN in the input");
	status = gs_scenario_end_run(s, status, live);
	gs_scenario_free(s);
	gs_script_free(script);
	gs_warn_set_mode(mode);
	fclose(null);
	return status;
}

/*
 * A clean input leaves its pool's pages parked, in pfn order; one that
 * poisoned a page leaves the others, and one that WARNed leaves none (the
 * next pool is built from scratch). The next input's pool takes parked
 * pages in that order, and a fresh page where the layout has no parked one.
 */
START_TEST(test_dirty_pool_rebuilt)
{
	gchar *poison = g_strconcat(pool_prog, "poison f0 off=2M\nclose f0\n", NULL);
	/* As the fuzz drivers do: one runner's end keeps the memory for the next. */
	bool keep = gs_physmem_keep_vmemmap(true);
	struct gs_physmem_stats st;
	unsigned int left;

	gs_physmem_release_parked();
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	/* The next pool (its first line) takes every parked page, and parks them again. */
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	/* The poisoned page goes back to the host; the other three stay parked around it. */
	run_persistent(poison, false, &left);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 3);
	gs_physmem_stats(&st);
	ck_assert_uint_eq(st.pfns_in_use, 0);
	/*
	 * f0's second page is the pool's third (pfn order): the next pool takes
	 * the two before it, a fresh page in the hole, as in a fresh process's
	 * layout, and the one after it stays parked.
	 */
	ck_assert_int_eq(run_persistent("hugetlb pool size=2M nr=3\n", false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(left, 1);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	ck_assert_int_ne(run_persistent(pool_prog, true, &left), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 0);
	/* Not a persistent runner: nothing is parked. */
	ck_assert_int_eq(run_as_scenario(pool_prog), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 0);
	/* A smaller pool takes the first two; any other allocation lets the rest go. */
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_int_eq(run_persistent("hugetlb pool size=2M nr=2\n"
					"hugetlb pool size=1G nr=1\n",
					false, &left),
			 GS_EXIT_OK);
	ck_assert_uint_eq(left, 2);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 2);
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	/* The runner's end lets them go. */
	gs_physmem_keep_vmemmap(false);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 0);
	gs_physmem_keep_vmemmap(keep);
	g_free(poison);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * A stray write to a word of pool page @page's freed tail vmemmap (struct
 * page 100: the first kept vmemmap page), as a stale struct page pointer
 * would make it. pool_prog's pool is the first memory of a fresh layout.
 */
#if defined(GS_TEST_ASAN)
__attribute__((no_sanitize("address")))
#endif
static void
write_pool_tail(unsigned long page, unsigned long val)
{
	volatile unsigned long *w = &pfn_to_page(GS_PFN_BASE + page * 512 + 100)->index;

	VALGRIND_DISABLE_ERROR_REPORTING;
	*w = val;
	VALGRIND_ENABLE_ERROR_REPORTING;
}

static void write_pool_tail_1(void)
{
	write_pool_tail(1, 7);
}

static char warn_after_first[256];

static void save_warn(void)
{
	g_strlcpy(warn_after_first, gs_warn_last(), sizeof(warn_after_first));
}

static void write_pool_tail_1_back(void)
{
	write_pool_tail(1, 0x48564f4652454544UL); /* the pattern again: nothing left to see */
}

/*
 * HVO's resident mode with parked pages (docs/FIDELITY.md): a write to the
 * freed tail vmemmap of a parked page is a WARN of the run that takes the
 * page (gs_hvo_unpark()) or lets it go (gs_physmem_release_parked()), also
 * for pages parked by a run that poisoned another one; a write to a page
 * taken again is the checker's, as on any page.
 */
START_TEST(test_parked_tail_write_reported)
{
	gchar *poison = g_strconcat(pool_prog, "poison f0 off=2M\nclose f0\n", NULL);
	/* Two checks: the checker verifies 16 kept pages per check, in turn, and the pool keeps 28. */
	gchar *checked = g_strconcat(pool_prog, "check\ncheck\n", NULL);
	bool keep = gs_physmem_keep_vmemmap(true), res = gs_hvo_set_resident(true);
	enum gs_warn_mode mode;
	unsigned long warns;
	unsigned int left;

	gs_physmem_release_parked();
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	/* Parked, written: the next pool's first line takes it and WARNs. */
	write_pool_tail(1, 7);
	warns = gs_warn_count();
	ck_assert_int_ne(run_persistent_hook(pool_prog, false, &left, save_warn), GS_EXIT_OK);
	ck_assert_uint_gt(gs_warn_count(), warns);
	ck_assert_ptr_nonnull(strstr(warn_after_first, "written while HVO had freed it (a write to "
						       "an optimized tail of a parked page)"));
	ck_assert_uint_eq(left, 0);
	/* The run WARNed: nothing it had is parked, and the page was verified once more. */
	ck_assert_uint_eq(gs_physmem_nr_parked(), 0);
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	/* Parked, written, let go: the release WARNs. */
	write_pool_tail(2, 7);
	mode = gs_warn_set_mode(GS_WARN_QUIET);
	warns = gs_warn_count();
	gs_physmem_release_parked();
	ck_assert_uint_eq(gs_warn_count(), warns + 1);
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "written while HVO had freed it"));
	gs_warn_set_mode(mode);
	/* Parked by a run that poisoned another page: the same. */
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	run_persistent(poison, false, &left);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 3);
	write_pool_tail(1, 7);
	warns = gs_warn_count();
	warn_after_first[0] = '\0';
	ck_assert_int_ne(run_persistent_hook(pool_prog, false, &left, save_warn), GS_EXIT_OK);
	ck_assert_uint_gt(gs_warn_count(), warns);
	ck_assert_ptr_nonnull(strstr(warn_after_first, "of a parked page"));
	ck_assert_uint_eq(gs_physmem_nr_parked(), 0);
	/* Taken again (unparked), then written: the run's check reports it. */
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	ck_assert_int_eq(run_persistent(checked, false, &left), GS_EXIT_OK);
	ck_assert_int_ne(run_persistent_hook(checked, false, &left, write_pool_tail_1), GS_EXIT_OK);
	ck_assert_uint_eq(left, 0);
	/* (The pattern put back, the pages are clean again.) */
	write_pool_tail_1_back();
	gs_physmem_release_parked();
	gs_hvo_set_resident(res);
	gs_physmem_keep_vmemmap(keep);
	g_free(poison);
	g_free(checked);
	gs_test_assert_no_leaks();
}
END_TEST

static bool head_page_fresh;

/* Pool page 0's first vmemmap page as gs_folio_init() makes a fresh HugeTLB page's. */
static void check_head_page(void)
{
	struct folio *f = pfn_folio(GS_PFN_BASE);
	const unsigned long *w = (const unsigned long *)pfn_to_page(GS_PFN_BASE);

	head_page_fresh = folio_test_hugetlb(f) && folio_order(f) == 9;
	for (unsigned long i = 0; i < 64 * sizeof(struct page) / sizeof(long); i++)
		head_page_fresh &= w[i] != 0xababababababababUL;
	for (unsigned long k = 4; k < 64; k++) {
		const struct page *p = pfn_to_page(GS_PFN_BASE + k);

		head_page_fresh &= p->flags == 0 && p->mapping == NULL && p->index == 0 &&
				   p->private == 0 && atomic_read(&p->_refcount) == 0 &&
				   p->memcg_data == 0 && pfn_folio(GS_PFN_BASE + k) == f;
	}
}

/*
 * A parked page taken again is a fresh one: whatever its first vmemmap
 * page held (the struct pages the last input used, not given back), the
 * next pool's page has a fresh head, folio fields and tails there.
 */
START_TEST(test_unparked_head_as_fresh)
{
	bool keep = gs_physmem_keep_vmemmap(true), res = gs_hvo_set_resident(true);
	unsigned int left;

	gs_physmem_release_parked();
	ck_assert_int_eq(run_persistent(pool_prog, false, &left), GS_EXIT_OK);
	ck_assert_uint_eq(gs_physmem_nr_parked(), 4);
	memset(pfn_to_page(GS_PFN_BASE), 0xab, 64 * sizeof(struct page));
	ck_assert_int_eq(run_persistent_hook(pool_prog, false, &left, check_head_page), GS_EXIT_OK);
	ck_assert_uint_eq(left, 0);
	ck_assert(head_page_fresh);
	gs_physmem_release_parked();
	gs_hvo_set_resident(res);
	gs_physmem_keep_vmemmap(keep);
	gs_test_assert_no_leaks();
}
END_TEST

/* A crash dump's program is the text, byte for byte (gs_fuzz_write_built()). */
START_TEST(test_write_built)
{
	static const char *const plant[] = {"skip-zero", NULL};
	static uint8_t buf[INPUT_MAX];
	GArray *ops = g_array_new(FALSE, TRUE, sizeof(struct gs_op));
	struct gs_rng rng;

	gs_rng_seed(&rng, gs_test_seed() + 13);
	for (unsigned int i = 0; i < 50; i++) {
		size_t len = random_input(&rng, buf, sizeof(buf));
		struct gs_fuzz_decode_opts d = {.check_every = i % 3,
						.plant = i % 2 ? plant : NULL};
		char *text = gs_fuzz_decode(buf, len, &d);
		gchar *path = NULL, *dump = NULL;
		int fd = g_file_open_tmp("gs-fuzz-built-XXXXXX", &path, NULL);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_gt(gs_fuzz_build_ops(buf, len, &d, "fuzz.gms", ops), 0);
		gs_fuzz_write_built(fd);
		close(fd);
		ck_assert(g_file_get_contents(path, &dump, NULL, NULL));
		ck_assert_str_eq(dump, text);
		g_unlink(path);
		g_free(path);
		g_free(dump);
		free(text);
	}
	g_array_free(ops, TRUE);
}
END_TEST

/*
 * Programs of the longest inputs (GS_FUZZ_MAX_OPS operations, injections
 * and closes weighted up: several hundred lines) built as the parser makes
 * them and written back as the text: the decoder's line array grows past
 * its first sizes (128, 256 lines) and moves each `inject` line before its
 * operation's lines at any length.
 */
START_TEST(test_long_programs)
{
	static const uint8_t weighted[] = {23, 24, 25, 27, 17, 18, 21, 7, 1, 3};
	static uint8_t buf[INPUT_MAX];
	GArray *ops = g_array_new(FALSE, TRUE, sizeof(struct gs_op));
	unsigned int longest = 0, past256 = 0;
	struct gs_rng rng;

	gs_rng_seed(&rng, gs_test_seed() + 14);
	for (unsigned int i = 0; i < 40; i++) {
		struct gs_fuzz_decode_opts d = {.max_ops = GS_FUZZ_MAX_OPS, .check_every = i % 5};
		struct gs_script *script;
		gchar *path = NULL, *dump = NULL;
		char *text;
		int fd, nr;

		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)gs_rng_next(&rng);
		for (size_t k = GS_FUZZ_HEADER; k < sizeof(buf); k += GS_FUZZ_OP_SIZE)
			if (k % 3)
				buf[k] = weighted[gs_rng_below(&rng, G_N_ELEMENTS(weighted))];
		gs_fuzz_header_set(buf, GS_FUZZ_4K, -1);
		text = gs_fuzz_decode(buf, sizeof(buf), &d);
		script = gs_script_parse("fuzz.gms", text, strlen(text), stderr);
		ck_assert_ptr_nonnull(script);
		nr = gs_fuzz_build_ops(buf, sizeof(buf), &d, "fuzz.gms", ops);
		ck_assert_int_eq(nr, (int)script->ops->len);
		for (int k = 0; k < nr; k++)
			assert_same_op(&g_array_index(ops, struct gs_op, k),
				       &g_array_index(script->ops, struct gs_op, k), i);
		fd = g_file_open_tmp("gs-fuzz-long-XXXXXX", &path, NULL);
		ck_assert_int_ge(fd, 0);
		gs_fuzz_write_built(fd);
		close(fd);
		ck_assert(g_file_get_contents(path, &dump, NULL, NULL));
		ck_assert_str_eq(dump, text);
		longest = MAX(longest, (unsigned int)nr);
		past256 += nr > 256;
		g_unlink(path);
		g_free(path);
		g_free(dump);
		gs_script_free(script);
		free(text);
	}
	/* The inputs reach the sizes they are made for. */
	ck_assert_uint_gt(past256, 10);
	printf("long-programs: 40 inputs, longest %u lines, %u past 256\n", longest, past256);
	g_array_free(ops, TRUE);
}
END_TEST

START_TEST(test_decode_bounds)
{
	static uint8_t buf[GS_FUZZ_HEADER + 2 * GS_FUZZ_MAX_OPS * GS_FUZZ_OP_SIZE];
	struct gs_fuzz_decode_opts o = {.max_ops = 3, .check_every = 1};
	char *text;

	/* Every operation a `check` (byte 0 = 28): the bound and check_every are counted. */
	for (size_t i = GS_FUZZ_HEADER; i < sizeof(buf); i += GS_FUZZ_OP_SIZE)
		buf[i] = 28;
	text = gs_fuzz_decode(buf, sizeof(buf), &o);
	ck_assert_uint_eq(count(text, "check => 0\n"), 3 + 3 + 1);
	free(text);
	o = (struct gs_fuzz_decode_opts){.max_ops = 100000};
	text = gs_fuzz_decode(buf, sizeof(buf), &o);
	ck_assert_uint_eq(count(text, "check => 0\n"), GS_FUZZ_MAX_OPS + 1);
	free(text);
	/* Header fields forced, as `gmemsim fuzz --backing 2m --ordering rfc-v2` does. */
	gs_fuzz_header_set(buf, GS_FUZZ_2M, GS_FUZZ_RFC_V2);
	text = gs_fuzz_decode(buf, GS_FUZZ_HEADER, NULL);
	ck_assert_ptr_nonnull(strstr(text, "hugetlb pool size=2M"));
	ck_assert_ptr_nonnull(strstr(text, "conversion=rfc-v2"));
	ck_assert_ptr_nonnull(strstr(text, "page=2M"));
	free(text);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * gs_fuzz_header_backing(), what fuzz-ops-4k and fuzz-ops-2m reject inputs
 * by, names the backing the decoder gives every file: each value of header
 * byte 0, a header of one byte and the empty input (no byte 0: 4 KiB).
 */
START_TEST(test_header_backing)
{
	static const char *const page[GS_FUZZ_NR_BACKINGS] = {"size=4K flags=mmap\n", "page=2M\n",
							      "page=1G\n"};
	uint8_t buf[GS_FUZZ_HEADER] = {0};
	unsigned int seen[GS_FUZZ_NR_BACKINGS] = {0};

	for (unsigned int b = 0; b < 256; b++) {
		for (size_t len = 1; len <= GS_FUZZ_HEADER; len += GS_FUZZ_HEADER - 1) {
			enum gs_fuzz_backing got;
			char *text;

			buf[0] = (uint8_t)b;
			got = gs_fuzz_header_backing(buf, len);
			ck_assert_int_lt(got, GS_FUZZ_NR_BACKINGS);
			text = gs_fuzz_decode(buf, len, NULL);
			for (int k = 0; k < GS_FUZZ_NR_BACKINGS; k++)
				ck_assert_msg(!strstr(text, page[k]) == (k != (int)got),
					      "byte 0 = %u, %zu bytes: backing %d\n%s", b, len, got,
					      text);
			seen[got]++;
			free(text);
		}
	}
	for (int k = 0; k < GS_FUZZ_NR_BACKINGS; k++)
		ck_assert_uint_gt(seen[k], 80);
	ck_assert_int_eq(gs_fuzz_header_backing(NULL, 0), GS_FUZZ_4K);
	ck_assert_int_eq(gs_fuzz_header_backing(buf, 0), GS_FUZZ_4K);
}
END_TEST

/*
 * The format is stable: the programs of a fixed set of inputs (every backing,
 * up to 200 operations, with check_every and max_ops) are the text the
 * decoder of session 11 made of them, byte for byte (their SHA-256). Saved
 * findings and corpora are bytes: a decoder that reads them differently (a
 * modulo or a file picked otherwise) replays none of them.
 */
START_TEST(test_decode_stable)
{
	static uint8_t buf[GS_FUZZ_HEADER + 200 * GS_FUZZ_OP_SIZE];
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	struct gs_rng rng;

	gs_rng_seed(&rng, 20261207);
	for (unsigned int i = 0; i < 3000; i++) {
		struct gs_fuzz_decode_opts d = {.max_ops = 200};
		size_t len = random_input(&rng, buf, sizeof(buf));
		char *text;

		if (i % 4 == 1)
			d.check_every = 1 + i % 7;
		if (i % 4 == 2)
			d.max_ops = 1 + i % 80;
		text = gs_fuzz_decode(buf, len, &d);
		g_checksum_update(sum, (const guchar *)text, (gssize)strlen(text));
		free(text);
	}
	ck_assert_str_eq(g_checksum_get_string(sum),
			 "72b5767ed953f193a3101364d824910be19d058a9ca3e48beebc80ec3b4d08f2");
	g_checksum_free(sum);
}
END_TEST

/* A pin whose page is private fails; its unpin is an answer (ENXIO), not a broken line. */
START_TEST(test_strict_off)
{
	static const char text[] = "strict off\n"
				   "vm v type=sw_protected\n"
				   "gmem g vm=v size=16K flags=mmap\n"
				   "mmap g\n"
				   "pin g off=0\n"
				   "unpin g off=0\n"
				   "fault nosuch off=0\n"
				   "falloc g off=1 len=4K\n"
				   "check => 0\n";
	static const char strict[] = "vm v type=sw_protected\n"
				     "gmem g vm=v size=16K flags=mmap\n"
				     "falloc g off=1 len=4K\n";
	char sig[GS_REDUCE_SIG_LEN];

	ck_assert(!gs_fuzz_run(text, strlen(text), sig, sizeof(sig)));
	ck_assert_int_eq(run_as_scenario(text), GS_EXIT_OK);
	/* Hand-written files keep the default: a strict verb's error fails its line. */
	ck_assert_int_eq(run_as_scenario(strict), GS_EXIT_FAIL);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(test_campaign_deterministic)
{
	struct gs_fuzz_campaign_opts o = {.seed = 7,
					  .runs = gs_test_scale(12),
					  .backing = GS_FUZZ_4K,
					  .ordering = -1,
					  .decode = {.max_ops = 24}};
	struct gs_fuzz_campaign_stats a, b;

	ck_assert_int_ge(gs_fuzz_campaign(&o, &a), 0);
	ck_assert_int_ge(gs_fuzz_campaign(&o, &b), 0);
	ck_assert_uint_eq(a.execs, o.runs);
	ck_assert_uint_eq(a.execs, b.execs);
	ck_assert_uint_eq(a.ops, b.ops);
	ck_assert_uint_eq(a.failing, b.failing);
	ck_assert_uint_eq(a.unique, b.unique);
	ck_assert_uint_eq(a.first_find, b.first_find);
	ck_assert_uint_gt(a.ops, a.execs * 4);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * Each of the oracle's planted bugs (ORACLE.md), switched on through the
 * test-only hook: a campaign from a fixed seed finds it as an oracle mismatch
 * and reduces it to a few lines.
 */
static const struct {
	enum gs_test_bug bug;
	const char *sig;
	uint64_t seed;
} planted[] = {
	{GS_BUG_STALE_ATTRIBUTE, "oracle: convert ", 1},
	{GS_BUG_SKIP_ZERO, "oracle: ", 1},
	{GS_BUG_ERROR_OFFSET, "oracle: convert ", 1},
};

/* A crash ends the campaign's process, but not before the input is saved where -o says. */
START_TEST(test_campaign_crash_saved)
{
	gchar *dir = g_dir_make_tmp("gs-fuzz-crash-XXXXXX", NULL);
	struct gs_fuzz_campaign_opts o = {.seed = 5,
					  .runs = 10,
					  .backing = GS_FUZZ_4K,
					  .ordering = -1,
					  .outdir = dir,
					  .test_crash_at = 3};
	gchar *bin, *gms, *data = NULL, *text = NULL, *decoded;
	gsize blen = 0, tlen = 0;
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		struct gs_fuzz_campaign_stats st;

		gs_fuzz_campaign(&o, &st);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	bin = g_build_filename(dir, "crash-3.bin", NULL);
	gms = g_build_filename(dir, "crash-3.gms", NULL);
	ck_assert(g_file_get_contents(bin, &data, &blen, NULL));
	ck_assert(g_file_get_contents(gms, &text, &tlen, NULL));
	ck_assert_uint_gt(blen, GS_FUZZ_HEADER);
	/* The saved bytes decode to the saved program: the input, losslessly. */
	decoded = gs_fuzz_decode((const uint8_t *)data, blen, &o.decode);
	ck_assert_str_eq(decoded, text);
	free(decoded);
	g_unlink(bin);
	g_unlink(gms);
	g_rmdir(dir);
	g_free(data);
	g_free(text);
	g_free(bin);
	g_free(gms);
	g_free(dir);
}
END_TEST

START_TEST(test_campaign_finds_planted)
{
	struct gs_fuzz_campaign_opts o = {.seed = planted[_i].seed,
					  .runs = 3000,
					  .backing = GS_FUZZ_4K,
					  .ordering = -1,
					  .reduce = true,
					  .stop_on_find = true};
	struct gs_fuzz_campaign_stats st;
	int ret;

	/* Each reduction is about a thousand runs: under valgrind the first bug stands for all. */
	if (_i && gs_test_scale(50) < 50) {
		printf("planted bug %d: not under valgrind (a campaign and a reduction)\n",
		       planted[_i].bug);
		return;
	}
	gs_test_plant_bug(planted[_i].bug, true);
	ret = gs_fuzz_campaign(&o, &st);
	gs_test_plant_bug(planted[_i].bug, false);
	printf("planted bug %d: found at sequence %" PRIu64 " after %.2f s: %s; reduced to %u "
	       "operation lines\n",
	       planted[_i].bug, st.first_find, st.first_find_seconds, st.first_sig,
	       st.first_reduced_ops);
	ck_assert_int_eq(ret, 1);
	ck_assert_msg(g_str_has_prefix(st.first_sig, planted[_i].sig), "%s", st.first_sig);
	ck_assert_uint_gt(st.first_reduced_ops, 0);
	ck_assert_uint_le(st.first_reduced_ops, 10);
	gs_test_assert_no_leaks();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("fuzz");

	tcase_add_test(tc, test_decode_any_bytes);
	tcase_add_test(tc, test_decode_print_run);
	tcase_add_test(tc, test_direct_equals_text);
	tcase_add_test(tc, test_reused_pool_equals_fresh);
	tcase_add_test(tc, test_dirty_pool_rebuilt);
	tcase_add_test(tc, test_parked_tail_write_reported);
	tcase_add_test(tc, test_unparked_head_as_fresh);
	tcase_add_test(tc, test_write_built);
	tcase_add_test(tc, test_long_programs);
	tcase_add_test(tc, test_decode_bounds);
	tcase_add_test(tc, test_header_backing);
	tcase_add_test(tc, test_decode_stable);
	tcase_add_test(tc, test_strict_off);
	tcase_add_test(tc, test_campaign_deterministic);
	tcase_add_test(tc, test_campaign_crash_saved);
	tcase_add_loop_test(tc, test_campaign_finds_planted, 0, G_N_ELEMENTS(planted));
	suite_add_tcase(s, tc);
	return s;
}
