// SPDX-License-Identifier: MIT
/*
 * The persistent runner (struct gs_scenario_opts.persistent, docs/PERFORMANCE.md
 * "Fuzzing throughput"): one runner executing input after input, as the
 * fuzzers do, must leave each input the state a fresh process gives it, and
 * must still report what a fresh runner reports after each input (a leak, an
 * unexpected WARN, an oracle mismatch).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/inject.h>
#include <gmemsim/sites.h>
#include <gmemsim/physmem.h>
#include <gmemsim/scenario.h>
#include <gmemsim/state.h>
#include <gmemsim/trace.h>
#include <gmemsim/internal/page_alloc.h>
#include "harness.h"

#define P ((uint64_t)4096)

/* A random input over a 4 KiB file or a 2 MiB HugeTLB file, as the fuzzers make them. */
static void random_input(GString *t, GRand *r)
{
	static const char *const verbs[] = {"convert", "convert", "punch",  "falloc", "read",
					    "write",   "fault",	  "gfault", "getpfn", "pin"};
	bool huge = g_rand_boolean(r);
	uint64_t limit = huge ? 8 << 20 : 16 * P;

	g_string_truncate(t, 0);
	if (huge)
		g_string_append(t, "hugetlb pool size=2M nr=4\n");
	g_string_append(t, "vm s type=sw_protected conversion=planned\n");
	g_string_append_printf(t, "gmem g vm=s size=%#" PRIx64 " flags=mmap|%s\n", limit,
			       huge ? "hugetlb page=2M" : "init_shared");
	g_string_append_printf(t, "memslot s slot=0 gpa=4G size=%#" PRIx64 " gmem=g\nmmap g\n",
			       limit);
	for (int i = 0; i < 24; i++) {
		const char *v = verbs[g_rand_int_range(r, 0, G_N_ELEMENTS(verbs))];
		uint64_t unit = huge && g_rand_boolean(r) ? 2 << 20 : P;
		uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)(limit / unit)) * unit;
		uint64_t len = (uint64_t)g_rand_int_range(r, 1, 4) * unit;

		if (!strcmp(v, "convert"))
			g_string_append_printf(
				t, "convert g off=%#" PRIx64 " len=%#" PRIx64 " to=%s\n", off, len,
				g_rand_boolean(r) ? "private" : "shared");
		else if (!strcmp(v, "punch") || !strcmp(v, "falloc"))
			g_string_append_printf(t, "%s g off=%#" PRIx64 " len=%#" PRIx64 "\n", v,
					       off, len);
		else if (!strcmp(v, "read") || !strcmp(v, "write"))
			g_string_append_printf(t, "%s g off=%#" PRIx64 " len=%#" PRIx64 " byte=1\n",
					       v, off, len);
		else if (!strcmp(v, "gfault"))
			g_string_append_printf(t, "gfault s gpa=%#" PRIx64 "%s\n",
					       (uint64_t)(4ULL << 30) + off,
					       g_rand_boolean(r) ? " private=1" : "");
		else
			g_string_append_printf(t, "%s g off=%#" PRIx64 "\n", v, off);
	}
	g_string_append(t, "munmap g\nclose g\n");
}

/* One run's JSON trace, status and the state after every line (while @active). */
struct capture {
	struct gs_scenario *s;
	bool active;
	GString *states;
	int status;
	char *trace;
	size_t trace_len;
};

static void record_state(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct capture *c = arg;
	struct gs_state *st;

	(void)res;
	if (!c->active)
		return;
	st = gs_scenario_state(c->s);
	g_string_append_printf(c->states, "after line %u\n", op->line);
	for (unsigned int i = 0; i < gs_state_count(st); i++) {
		const struct gs_state_rec *r = gs_state_nth(st, i);

		g_string_append_printf(c->states, "%s %s=%s\n", r->path, r->key, r->value);
	}
	gs_state_free(st);
}

static void capture_run(struct gs_scenario *s, const char *text, struct capture *c)
{
	FILE *tf = open_memstream(&c->trace, &c->trace_len);
	struct gs_trace_sink sink;
	int h;

	ck_assert_int_eq(gs_trace_json_sink(tf, false, &sink), 0);
	h = gs_trace_add_sink(&sink);
	ck_assert_int_ge(h, 0);
	c->s = s;
	c->active = true;
	c->states = g_string_new(NULL);
	c->status = gs_scenario_run_buffer(s, "x.gms", text, strlen(text));
	c->active = false;
	gs_trace_remove_sink(h);
	fclose(tf);
}

/* A runner printing every line to @out and @err; only @persistent differs. */
static struct gs_scenario *runner(struct capture *c, FILE *out, FILE *err, bool persistent)
{
	struct gs_scenario_opts o = {
		.out = out,
		.err = err,
		.verbose = true,
		.keep_going = true,
		.oracle = true,
		.metadata_only = true,
		.persistent = persistent,
		.on_result = record_state,
		.on_result_arg = c,
	};

	return gs_scenario_new(&o);
}

/* Equal bytes, or where they first differ (Check's message has a size limit). */
static void assert_same(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, from;

	while (i < alen && i < blen && a[i] == b[i])
		i++;
	from = i > 200 ? i - 200 : 0;
	ck_assert_msg(i == alen && i == blen,
		      "%s differs at byte %zu:\n--- fresh\n%.*s\n--- after the others\n%.*s", what,
		      i, (int)MIN(alen - from, 400), a + from, (int)MIN(blen - from, 400),
		      b + from);
}

/* A memory stream and where the input under test starts in it. */
struct stream {
	FILE *f;
	char *buf;
	size_t len;
	long at;
};

/*
 * The same input run first by a fresh runner in a fresh process (each Check
 * test is one; without forking, the layout a fresh process has), then by a persistent runner after many other inputs:
 * byte-identical output, errors, trace and state after every line (pfns,
 * inode numbers, trace sequence numbers included).
 */
static void same_as_fresh(bool huge)
{
	unsigned int others = (unsigned int)gs_test_scale(1000);
	GRand *r = g_rand_new_with_seed((guint32)gs_test_seed());
	GString *t = g_string_new(NULL), *x = g_string_new(NULL);
	struct capture fresh = {0}, after = {0};
	struct stream fo = {0}, fe = {0}, ao = {0}, ae = {0};
	struct gs_scenario *s;

	do
		random_input(x, r);
	while (!!strstr(x->str, "hugetlb") != huge);
	/* Without a fork per test (valgrind), what a fresh process starts from. */
	if (!gs_test_forking()) {
		ck_assert_int_eq(gs_physmem_reset_layout(), 0);
		ck_assert_int_eq(kvm_gmem_reset_ino(), 0);
		gs_trace_reset_seq();
	}
	fo.f = open_memstream(&fo.buf, &fo.len);
	fe.f = open_memstream(&fe.buf, &fe.len);
	s = runner(&fresh, fo.f, fe.f, false);
	capture_run(s, x->str, &fresh);
	gs_scenario_free(s);
	fclose(fo.f);
	fclose(fe.f);
	/* the first inode of the process, and pfns in the trace */
	ck_assert(strstr(fresh.states->str, "objects/g ino=1\n"));
	ck_assert(strstr(fresh.trace, "\"pfn\":"));

	ao.f = open_memstream(&ao.buf, &ao.len);
	ae.f = open_memstream(&ae.buf, &ae.len);
	s = runner(&after, ao.f, ae.f, true);
	for (unsigned int i = 0; i < others; i++) {
		random_input(t, r);
		gs_scenario_run_buffer(s, "other.gms", t->str, t->len);
	}
	ao.at = ftell(ao.f);
	ae.at = ftell(ae.f);
	capture_run(s, x->str, &after);
	gs_scenario_free(s);
	fclose(ao.f);
	fclose(ae.f);

	ck_assert_int_eq(after.status, fresh.status);
	assert_same("output", fo.buf, fo.len, ao.buf + ao.at, ao.len - (size_t)ao.at);
	assert_same("errors", fe.buf, fe.len, ae.buf + ae.at, ae.len - (size_t)ae.at);
	assert_same("trace", fresh.trace, fresh.trace_len, after.trace, after.trace_len);
	assert_same("state", fresh.states->str, fresh.states->len, after.states->str,
		    after.states->len);
	free(fo.buf);
	free(fe.buf);
	free(ao.buf);
	free(ae.buf);
	free(fresh.trace);
	free(after.trace);
	g_string_free(fresh.states, TRUE);
	g_string_free(after.states, TRUE);
	g_string_free(t, TRUE);
	g_string_free(x, TRUE);
	g_rand_free(r);
}

START_TEST(test_same_as_fresh_4k)
{
	same_as_fresh(false);
}
END_TEST

START_TEST(test_same_as_fresh_2m)
{
	same_as_fresh(true);
}
END_TEST

static int leaky_site = -1;
static void *leaked;

/* Allocates and forgets (the test frees it after the run that leaked it). */
static int leak_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	(void)op;
	leaked = gs_alloc((unsigned int)leaky_site, 40, GFP_KERNEL);
	res->ret = leaked ? 0 : -ENOMEM;
	return 0;
}

static const struct gs_verb verb_leak = {
	.name = "test-leak",
	.summary = "allocate and forget",
	.backends = GS_BACKEND_SIM,
	.run = leak_run,
};

/*
 * What a fresh runner reports after an input, a persistent one reports too,
 * and the input after it runs clean: a leaked object, a WARN nobody
 * expected, an oracle mismatch (a planted bug).
 */
START_TEST(test_still_checked)
{
	static const char clean[] = "vm s type=sw_protected\n"
				    "gmem g vm=s size=64K flags=mmap|init_shared\n"
				    "mmap g\nwrite g off=0 len=4K byte=7\nmunmap g\nclose g\n";
	/* an object left at the end: the teardown destroys it and the run is still ok */
	static const char left[] = "vm s type=sw_protected\n"
				   "gmem g vm=s size=64K flags=mmap|init_shared\n"
				   "mmap g\nfault g off=0\n";
	/* an allocation nobody frees: a leak */
	static const char leak[] = "test-leak\n";
	static const char conv[] = "vm s type=sw_protected conversion=planned\n"
				   "gmem g vm=s size=64K flags=mmap|init_shared\n"
				   "convert g off=0 len=8K to=private\nclose g\n";
	char *errs = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&errs, &len);
	struct gs_scenario_opts o = {.quiet = true,
				     .err = err,
				     .keep_going = true,
				     .oracle = true,
				     .persistent = true,
				     .metadata_only = true};
	struct gs_scenario *s;

	gs_scenario_init();
	leaky_site = gs_site_register("test.leaky", "allocations the test leaks on purpose");
	ck_assert_int_ge(leaky_site, 0);
	ck_assert_int_eq(gs_verb_register(&verb_leak), 0);
	s = gs_scenario_new(&o);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", clean, strlen(clean)), GS_EXIT_OK);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", left, strlen(left)), GS_EXIT_OK);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", clean, strlen(clean)), GS_EXIT_OK);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "leak.gms", leak, strlen(leak)), GS_EXIT_LEAK);
	fflush(err);
	ck_assert_msg(strstr(errs, "leak.gms: leak at teardown: site test.leaky holds 1"), "%s",
		      errs);
	gs_free((unsigned int)leaky_site, leaked, 40);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", clean, strlen(clean)), GS_EXIT_OK);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, true);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "bug.gms", conv, strlen(conv)), GS_EXIT_FAIL);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, false);
	fflush(err);
	ck_assert_msg(strstr(errs, "check oracle: bug.gms:3 convert g"), "%s", errs);
	ck_assert_int_eq(gs_scenario_run_buffer(s, "t.gms", conv, strlen(conv)), GS_EXIT_OK);
	gs_scenario_free(s);
	fclose(err);
	free(errs);
}
END_TEST

static bool host_resident(const void *addr)
{
	unsigned char vec = 0;

	ck_assert_int_eq(mincore((void *)addr, PAGE_SIZE, &vec), 0);
	return vec & 1;
}

/*
 * A persistent runner keeps the data of a freed order-0 chunk in the host
 * (no fault, no clearing by the host for the next input), and the next
 * owner of its pfns still reads zero: the pages handed out are zeroed when
 * the chunk is freed. Without that reset the second allocation reads 0xab.
 */
START_TEST(test_kept_data_reads_zero)
{
	bool old = gs_physmem_keep_vmemmap(true);
	struct folio *folio;
	unsigned long pfn;
	uint8_t *data, *again;
	bool kept;

	ck_assert_uint_eq(gs_page_alloc_nr_used(), 0);
	ck_assert_int_eq(gs_physmem_reset_layout(), 0);
	folio = gs_folio_alloc_order0(GFP_KERNEL);
	ck_assert_ptr_nonnull(folio);
	pfn = folio_pfn(folio);
	data = gs_pfn_to_virt(pfn);
	ck_assert_ptr_nonnull(data);
	memset(data, 0xab, PAGE_SIZE);
	folio_put(folio); /* the chunk's last page: the chunk goes back to physmem */
	ck_assert(!pfn_valid(pfn));
	ck_assert_int_eq(gs_physmem_reset_layout(), 0);
	folio = gs_folio_alloc_order0(GFP_KERNEL);
	ck_assert_ptr_nonnull(folio);
	ck_assert_uint_eq(folio_pfn(folio), pfn);
	again = gs_pfn_to_virt(pfn);
	/*
	 * Kept data lives in physmem's one reservation for all anonymous data;
	 * where the host refuses it (valgrind) each chunk maps its own and
	 * nothing is kept: the page must read zero either way.
	 */
	kept = again == data && host_resident(again);
	if (!kept)
		printf("persistent: chunk data not kept here (no shared reservation)\n");
	ck_assert(kept || gs_test_scale(50) < 50); /* only valgrind refuses it */
	for (size_t i = 0; i < PAGE_SIZE; i++)
		ck_assert_msg(!again[i], "byte %zu of the reused page reads 0x%x", i, again[i]);
	folio_put(folio);
	/* The runner ends: what it kept goes back to the host. */
	gs_physmem_keep_vmemmap(false);
	if (kept)
		ck_assert(!host_resident(data));
	gs_physmem_keep_vmemmap(old);
}
END_TEST

/*
 * A chunk whose pages handed out span three words of its bitmap (pool13,
 * session 12: the release finds them a word at a time): every one's data
 * and struct page is zero again after the release, and its next owner
 * reads zero.
 */
START_TEST(test_kept_data_every_page_handed_out)
{
	enum { NR = 130 };
	static struct folio *folio[NR];
	bool old = gs_physmem_keep_vmemmap(true);
	unsigned long pfn;

	ck_assert_uint_eq(gs_page_alloc_nr_used(), 0);
	ck_assert_int_eq(gs_physmem_reset_layout(), 0);
	for (int k = 0; k < NR; k++) {
		uint8_t *data;

		folio[k] = gs_folio_alloc_order0(GFP_KERNEL);
		ck_assert_ptr_nonnull(folio[k]);
		data = folio_address(folio[k]);
		ck_assert_ptr_nonnull(data);
		data[0] = data[PAGE_SIZE - 1] = 0xab;
	}
	pfn = folio_pfn(folio[0]);
	for (int k = 0; k < NR; k++) {
		ck_assert_uint_eq(folio_pfn(folio[k]), pfn + (unsigned long)k);
		folio_put(folio[k]); /* the last one frees the chunk */
	}
	ck_assert(!pfn_valid(pfn));
	/* Page 0's struct page heads the freed range (physmem's free list): not the others. */
	for (int k = 1; k < NR; k++) {
		static const struct page zero;

		ck_assert_msg(!memcmp(pfn_to_page(pfn + (unsigned long)k), &zero, sizeof(zero)),
			      "struct page %d", k);
	}
	ck_assert_int_eq(gs_physmem_reset_layout(), 0);
	for (int k = 0; k < NR; k++) {
		const uint8_t *data;

		folio[k] = gs_folio_alloc_order0(GFP_KERNEL);
		ck_assert_uint_eq(folio_pfn(folio[k]), pfn + (unsigned long)k);
		data = folio_address(folio[k]);
		for (size_t i = 0; i < PAGE_SIZE; i++)
			ck_assert_msg(!data[i], "page %d byte %zu reads 0x%x", k, i, data[i]);
	}
	for (int k = 0; k < NR; k++)
		folio_put(folio[k]);
	gs_physmem_keep_vmemmap(false);
	gs_physmem_keep_vmemmap(old);
}
END_TEST

/*
 * The same through the engine, as a fresh process sees it: a page whose
 * first use does not zero it (the planted skip-zero bug) reads the zeros of
 * memory never used, not the bytes an earlier input wrote to its pfn.
 */
START_TEST(test_no_stale_bytes)
{
	static const char dirty[] = "vm s type=sw_protected\n"
				    "gmem g vm=s size=64K flags=mmap|init_shared\n"
				    "mmap g\nwrite g off=0 len=64K byte=171\nmunmap g\nclose g\n";
	static const char look[] = "vm s type=sw_protected\n"
				   "gmem g vm=s size=64K flags=mmap|init_shared\n"
				   "mmap g\nread g off=0 len=64K => 0 data=0 uniform=1\n"
				   "munmap g\nclose g\n";
	struct gs_scenario_opts o = {.quiet = true, .persistent = true};
	struct gs_scenario *s;

	gs_scenario_init();
	s = gs_scenario_new(&o);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(gs_scenario_run_buffer(s, "dirty.gms", dirty, strlen(dirty)),
				 GS_EXIT_OK);
		gs_test_plant_bug(GS_BUG_SKIP_ZERO, true);
		ck_assert_int_eq(gs_scenario_run_buffer(s, "look.gms", look, strlen(look)),
				 GS_EXIT_OK);
		gs_test_plant_bug(GS_BUG_SKIP_ZERO, false);
	}
	gs_scenario_free(s);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("persistent");
	TCase *tc = tcase_create("persistent");

	tcase_add_test(tc, test_same_as_fresh_4k);
	tcase_add_test(tc, test_same_as_fresh_2m);
	tcase_add_test(tc, test_still_checked);
	tcase_add_test(tc, test_kept_data_reads_zero);
	tcase_add_test(tc, test_kept_data_every_page_handed_out);
	tcase_add_test(tc, test_no_stale_bytes);
	suite_add_tcase(s, tc);
	return s;
}
