// SPDX-License-Identifier: MIT
/*
 * Tests of the restructuring strategies (include/gmemsim/strategy.h,
 * lib/guest_memfd/gmem_strategy.c): the registry and its errors, the loader
 * of out-of-tree shared objects and its messages, the hooks as the
 * conversion engine and the fault path call them, the scenario's
 * `vm strategy=` beside its alias `conversion=`, the default strategy
 * of a flow (what `gmemsim run --strategy` sets), and the thp backing and
 * the punch-hole flow (the thp and punch-hole built-ins).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gmemsim/scenario.h>
#include <gmemsim/strategy.h>
#include "harness.h"

static unsigned int merge_calls, order_calls;

static bool count_no_merge(const struct gs_strategy_page *page)
{
	ck_assert_uint_eq(page->page_order, 9);
	ck_assert_uint_eq(page->nr_pages, 512);
	ck_assert_uint_eq(page->index % 512, 0);
	merge_calls++;
	return false;
}

static unsigned int count_max_order(const struct gs_strategy_fault *f)
{
	order_calls++;
	ck_assert_uint_le(f->rounded, f->page_order);
	return f->rounded < f->folio_order ? f->rounded : f->folio_order;
}

static const struct gs_strategy_ops counting_ops = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "counting",
	.summary = "test: planned, never merges, counts its calls",
	.flow = GS_FLOW_PLANNED,
	.merge_on_private = count_no_merge,
	.max_order = count_max_order,
};

/*
 * The counting strategy, registered once: without CK_FORK (valgrind) the
 * tests share the process and its registry. The counters start again.
 */
static const struct gs_strategy *counting(void)
{
	const struct gs_strategy *s = gs_strategy_find("counting");

	merge_calls = order_calls = 0;
	return s ? s : gs_strategy_register(&counting_ops);
}

static unsigned int nr_strategies(void)
{
	unsigned int n = 0;

	while (gs_strategy_nth(n))
		n++;
	return n;
}

/* Run @text on the simulator (quiet, with the oracle when asked): the exit status. */
static int run(const char *text, bool oracle)
{
	FILE *null = getenv("GS_TEST_VERBOSE") ? fdopen(dup(2), "w") : fopen("/dev/null", "w");
	struct gs_scenario_opts o = {.quiet = true, .out = null, .err = null, .oracle = oracle};
	struct gs_scenario *s;
	int ret;

	ck_assert_ptr_nonnull(null);
	s = gs_scenario_new(&o);
	ret = gs_scenario_run_buffer(s, "test.gms", text, strlen(text));
	gs_scenario_free(s);
	fclose(null);
	return ret;
}

START_TEST(test_builtins)
{
	static const char *const names[] = {"planned", "v8", "wip", "rfc-v2", "punch-hole"};
	const struct gs_strategy *thp = gs_strategy_find("thp");

	for (unsigned int f = 0; f < GS_FLOW_NR; f++) {
		const struct gs_strategy *s = gs_strategy_nth(f);

		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s->ops->name, names[f]);
		ck_assert(s->builtin);
		ck_assert_ptr_null(s->path);
		ck_assert_uint_eq(s->ops->flow, f);
		ck_assert_ptr_eq(gs_strategy_find(names[f]), s);
		ck_assert_ptr_eq(gs_strategy_builtin(f), s);
		ck_assert_ptr_eq(gs_strategy_for_vm(NULL, f), s);
	}
	ck_assert_uint_eq(gs_strategy_builtin(GS_FLOW_PUNCH_HOLE)->ops->backing,
			  GS_STRATEGY_BACKING_THP);
	ck_assert_uint_eq(gs_strategy_builtin(GS_FLOW_PLANNED)->ops->backing,
			  GS_STRATEGY_BACKING_PAGES);
	/* thp is no ordering of its own: planned's steps over THP-backed files. */
	ck_assert_ptr_nonnull(thp);
	ck_assert(thp->builtin);
	ck_assert_ptr_eq(gs_strategy_nth(GS_FLOW_NR + 1), thp);
	ck_assert_uint_eq(thp->ops->flow, GS_FLOW_PLANNED);
	ck_assert_uint_eq(thp->ops->backing, GS_STRATEGY_BACKING_THP);
	ck_assert_ptr_ne(gs_strategy_builtin(GS_FLOW_PLANNED), thp);
	ck_assert_ptr_null(gs_strategy_find(NULL));
	ck_assert_ptr_eq(gs_strategy_builtin(99), gs_strategy_find("planned"));
}
END_TEST

START_TEST(test_register_errors)
{
	struct gs_strategy_ops bad = counting_ops;
	unsigned int before;

	bad.abi = GS_STRATEGY_ABI + 1;
	errno = 0;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad = counting_ops;
	bad.size--;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad = counting_ops;
	bad.name = "two words";
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad = counting_ops;
	bad.flow = GS_FLOW_NR;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad = counting_ops;
	bad.backing = GS_STRATEGY_BACKING_THP + 1;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad = counting_ops;
	bad.name = "wip";
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_null(gs_strategy_register(NULL));
	ck_assert_int_eq(errno, EINVAL);
	before = nr_strategies();
	ck_assert_ptr_nonnull(counting());
	ck_assert_ptr_null(gs_strategy_register(&counting_ops));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert(!gs_strategy_find("counting")->builtin);
	ck_assert_uint_le(nr_strategies(), before + 1);
}
END_TEST

/* Last: it fills the registry (the tests share it without CK_FORK). */
START_TEST(test_registry_full)
{
	char name[16];
	unsigned int n;

	/* The registry is bounded: registering past it is ENOSPC, and nothing is lost. */
	for (n = 0;; n++) {
		struct gs_strategy_ops *ops = malloc(sizeof(*ops));

		ck_assert_ptr_nonnull(ops);
		snprintf(name, sizeof(name), "s%u", n);
		*ops = counting_ops;
		ops->name = strdup(name);
		if (!gs_strategy_register(ops)) {
			ck_assert_int_eq(errno, ENOSPC);
			free((char *)ops->name);
			free(ops);
			break;
		}
		ck_assert_uint_lt(n, 1000);
	}
	ck_assert_ptr_nonnull(gs_strategy_find("s0"));
	ck_assert_ptr_nonnull(gs_strategy_find("planned"));
}
END_TEST

START_TEST(test_load)
{
	const char *nomerge = getenv("GS_STRATEGY_NOMERGE");
	const char *badabi = getenv("GS_STRATEGY_BADABI");
	const char *abi1 = getenv("GS_STRATEGY_ABI1");
	const char *abi2 = getenv("GS_STRATEGY_ABI2");
	const struct gs_strategy *s;
	unsigned int before = nr_strategies();
	char err[400];

	ck_assert_ptr_nonnull(nomerge);
	ck_assert_ptr_nonnull(badabi);
	ck_assert_ptr_nonnull(abi1);
	ck_assert_ptr_nonnull(abi2);
	ck_assert_ptr_null(gs_strategy_load("/nonexistent/mine.so", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/mine.so"));
	/* Not a shared object, and one that is no strategy: a clean message each. */
	ck_assert_ptr_null(gs_strategy_load("/dev/null", err, sizeof(err)));
	ck_assert_ptr_null(gs_strategy_load("libc.so.6", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, GS_STRATEGY_SYMBOL));
	ck_assert_ptr_null(gs_strategy_load(badabi, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(
		err, "built against strategy ABI 4; this gmemsim has ABI 3 and loads 1 and 2"));
	ck_assert_ptr_null(gs_strategy_load(badabi, NULL, 0));
	ck_assert_uint_eq(nr_strategies(), before);

	s = gs_strategy_load(nomerge, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->ops->name, "nomerge");
	ck_assert_str_eq(s->path, nomerge);
	ck_assert(!s->builtin);
	ck_assert_uint_eq(s->ops->flow, GS_FLOW_PLANNED);
	ck_assert_ptr_eq(gs_strategy_load(nomerge, err, sizeof(err)), s);
	ck_assert_ptr_eq(gs_strategy_find("nomerge"), s);
	ck_assert_ptr_eq(strchr(nomerge, '/') ? gs_strategy_find(nomerge) : s, s);

	/* Built against ABI 1: loaded, its table copied, the ABI-2 hooks NULL. */
	s = gs_strategy_load(abi1, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_str_eq(s->ops->name, "abi1-object");
	ck_assert_uint_eq(s->ops->abi, 1);
	ck_assert_uint_eq(s->ops->size, GS_STRATEGY_OPS_SIZE_V1);
	ck_assert_ptr_null(s->ops->split_order);
	ck_assert_ptr_null(s->ops->merge_order);
	ck_assert_ptr_nonnull(s->ops->merge_on_private);
	ck_assert_ptr_null(s->ops->alloc_order);
	ck_assert_uint_eq(s->ops->backing, GS_STRATEGY_BACKING_PAGES);
	ck_assert_ptr_eq(gs_strategy_load(abi1, err, sizeof(err)), s);

	/* Built against ABI 2: its table copied by its size, backing kept, the ABI-3 hooks NULL. */
	s = gs_strategy_load(abi2, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_str_eq(s->ops->name, "abi2-object");
	ck_assert_uint_eq(s->ops->abi, 2);
	ck_assert_uint_eq(s->ops->size, GS_STRATEGY_OPS_SIZE_V2);
	ck_assert_ptr_nonnull(s->ops->split_order);
	ck_assert_ptr_null(s->ops->merge_order);
	ck_assert_uint_eq(s->ops->backing, GS_STRATEGY_BACKING_THP);
	ck_assert_ptr_null(s->ops->alloc_order);
	ck_assert_ptr_null(s->ops->punch);
	ck_assert_ptr_null(s->ops->free_split);
	ck_assert_ptr_eq(gs_strategy_load(abi2, err, sizeof(err)), s);
	/* It runs: the thp backing it asked for, the kernel's rules for the hooks it lacks. */
	ck_assert_int_eq(run("vm s type=sw_protected strategy=abi2-object\n"
			     "gmem g vm=s size=2M flags=mmap => 0\n"
			     "falloc g off=0 len=4K => 0 blocks=4096\n"
			     "punch g off=0 len=4K => 0 blocks=4088\n",
			     true),
			 GS_EXIT_OK);
}
END_TEST

/* One 2 MiB page, bound, split by a to-shared conversion and converted back. */
static const char split_and_back[] =
	"hugetlb pool size=2M nr=1\n"
	"vm s type=sw_protected %s\n"
	"gmem g vm=s size=2M flags=mmap|hugetlb page=2M => 0\n"
	"memslot s slot=0 gpa=4G size=2M gmem=g => 0\n"
	"falloc g off=0 len=2M => 0\n"
	"convert g off=4K len=4K to=shared => 0 folios=512 huge_folios=0\n"
	"convert g off=4K len=4K to=private => 0 %s\n"
	"getpfn g off=0 => 0 %s\n"
	"check => 0 violations=0\n";

static int run_split_and_back(const char *vm, const char *folios, const char *order, bool oracle)
{
	char text[1024];

	snprintf(text, sizeof(text), split_and_back, vm, folios, order);
	return run(text, oracle);
}

START_TEST(test_hooks_called)
{
	ck_assert_ptr_nonnull(counting());
	/* The built-in merges and maps at 2 MiB ... */
	ck_assert_int_eq(run_split_and_back("", "folios=1 huge_folios=1", "max_order=9", true),
			 GS_EXIT_OK);
	ck_assert_uint_eq(merge_calls, 0);
	ck_assert_uint_eq(order_calls, 0);
	/* ... the strategy is asked before the point of no return and at the merge, and says no. */
	ck_assert_int_eq(run_split_and_back("strategy=counting", "folios=512 huge_folios=0",
					    "max_order=0", true),
			 GS_EXIT_OK);
	ck_assert_uint_eq(merge_calls, 2);
	ck_assert_uint_eq(order_calls, 1);
}
END_TEST

START_TEST(test_alias_and_errors)
{
	ck_assert_int_eq(run_split_and_back("conversion=wip", "folios=1 huge_folios=1",
					    "max_order=9", false),
			 GS_EXIT_OK);
	ck_assert_int_eq(run_split_and_back("strategy=planned conversion=planned",
					    "folios=1 huge_folios=1", "max_order=9", false),
			 GS_EXIT_OK);
	/* v8 has no HugeTLB conversion: the alias and the name give the same answer. */
	ck_assert_int_eq(run("hugetlb pool size=2M nr=1\n"
			     "vm s type=sw_protected strategy=v8\n"
			     "gmem g vm=s size=2M flags=mmap|hugetlb page=2M => 0\n"
			     "convert g off=0 len=4K to=shared => EOPNOTSUPP\n",
			     false),
			 GS_EXIT_OK);
	ck_assert_int_eq(run("vm s strategy=nosuch\n", false), GS_EXIT_SYNTAX);
	ck_assert_int_eq(run("vm s strategy=wip conversion=v8\n", false), GS_EXIT_SYNTAX);
	ck_assert_int_eq(run("vm s strategy=./nonexistent.so\n", false), GS_EXIT_SYNTAX);
}
END_TEST

START_TEST(test_default_of_a_flow)
{
	const struct gs_strategy *s = counting();

	ck_assert_ptr_nonnull(s);
	gs_strategy_set_default(s);
	ck_assert_ptr_eq(gs_strategy_for_vm(NULL, GS_FLOW_PLANNED), s);
	ck_assert_ptr_eq(gs_strategy_for_vm(NULL, GS_FLOW_WIP), gs_strategy_find("wip"));
	ck_assert_ptr_eq(gs_strategy_for_vm(gs_strategy_find("v8"), GS_FLOW_PLANNED),
			 gs_strategy_find("v8"));
	/* A VM of the planned ordering runs it; one of another ordering does not. */
	ck_assert_int_eq(run_split_and_back("", "folios=512 huge_folios=0", "max_order=0", true),
			 GS_EXIT_OK);
	ck_assert_uint_eq(merge_calls, 2);
	ck_assert_int_eq(
		run_split_and_back("conversion=wip", "folios=1 huge_folios=1", "max_order=9", true),
		GS_EXIT_OK);
	ck_assert_uint_eq(merge_calls, 2);
	gs_strategy_set_default(NULL);
	ck_assert_ptr_eq(gs_strategy_for_vm(NULL, GS_FLOW_PLANNED), gs_strategy_find("planned"));
	ck_assert_int_eq(run_split_and_back("", "folios=1 huge_folios=1", "max_order=9", true),
			 GS_EXIT_OK);
}
END_TEST

/* --- ABI 2: split_order, merge_order; ABI-1 tables still register --- */

static unsigned int split_calls, merge_order_calls;

static unsigned int count_split_order(const struct gs_strategy_split *split)
{
	split_calls++;
	ck_assert_uint_eq(split->folio_order, 18);
	ck_assert(split->start >= split->index && split->end <= split->index + (1UL << 18));
	ck_assert_uint_lt(split->start, split->end);
	return 9;
}

static unsigned int count_merge_order(const struct gs_strategy_page *page)
{
	merge_order_calls++;
	return page->page_order > 9 ? 9 : page->page_order;
}

static const struct gs_strategy_ops pmd_ops = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "pmd-counting",
	.summary = "test: splits 1 GiB to 2 MiB, merges 2 MiB, counts its calls",
	.flow = GS_FLOW_PLANNED,
	.split_order = count_split_order,
	.merge_order = count_merge_order,
};

/* optimized is built in, on planned's steps, and answers 2 MiB for 1 GiB pages only. */
START_TEST(test_optimized_builtin)
{
	const struct gs_strategy *s = gs_strategy_find("optimized");
	struct gs_strategy_split split = {.page_order = 18, .folio_order = 18, .end = 1};
	struct gs_strategy_page page = {.page_order = 18, .nr_pages = 1UL << 18};
	struct gs_strategy_fault fault = {.page_order = 18, .folio_order = 9, .aligned = 9};

	ck_assert_ptr_nonnull(s);
	ck_assert(s->builtin);
	ck_assert_ptr_null(s->path);
	ck_assert_uint_eq(s->ops->flow, GS_FLOW_PLANNED);
	ck_assert_ptr_eq(gs_strategy_nth(GS_FLOW_NR), s);
	ck_assert_uint_eq(s->ops->split_order(&split), 9);
	ck_assert_uint_eq(s->ops->merge_order(&page), 9);
	ck_assert_uint_eq(s->ops->max_order(&fault), 9);
	fault.aligned = 0; /* a 2 MiB piece over a shared page is not mapped huge */
	ck_assert_uint_eq(s->ops->max_order(&fault), 0);
	split.page_order = split.folio_order = page.page_order = 9;
	ck_assert_uint_eq(s->ops->split_order(&split), 0);
	ck_assert_uint_eq(s->ops->merge_order(&page), 9);
	/* Not the default of its flow: a planned VM naming none runs planned. */
	ck_assert_ptr_eq(gs_strategy_for_vm(NULL, GS_FLOW_PLANNED), gs_strategy_find("planned"));
}
END_TEST

/* An object built against ABI 1 (no split_order/merge_order) registers; its table is copied. */
START_TEST(test_abi1_table)
{
	static struct gs_strategy_ops v1;
	struct gs_strategy_ops bad;
	const struct gs_strategy *s = gs_strategy_find("abi-one");

	memset(&v1, 0xa5, sizeof(v1)); /* what an ABI-1 object has past its table */
	memcpy(&v1, &counting_ops, GS_STRATEGY_OPS_SIZE_V1);
	v1.abi = 1;
	v1.size = GS_STRATEGY_OPS_SIZE_V1;
	v1.name = "abi-one";
	if (!s)
		s = gs_strategy_register(&v1);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_ne(s->ops, &v1);
	ck_assert_ptr_null(s->ops->split_order);
	ck_assert_ptr_null(s->ops->merge_order);
	ck_assert_ptr_eq(s->ops->max_order, count_max_order);
	ck_assert_uint_eq(s->ops->abi, 1);
	/* ABI 1 with ABI 2's size, or the reverse, is another header: refused. */
	bad = v1;
	bad.name = "abi-bad";
	bad.size = sizeof(struct gs_strategy_ops);
	errno = 0;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad.abi = GS_STRATEGY_ABI;
	bad.size = GS_STRATEGY_OPS_SIZE_V1;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad.size = GS_STRATEGY_OPS_SIZE_V2;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad.abi = 2;
	bad.size = GS_STRATEGY_OPS_SIZE_V1;
	ck_assert_ptr_null(gs_strategy_register(&bad));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* An ABI-2 table (up to backing): copied by its size; what lies past it is never read. */
START_TEST(test_abi2_table)
{
	static struct gs_strategy_ops v2;
	const struct gs_strategy *s = gs_strategy_find("abi-two");

	memset(&v2, 0xa5, sizeof(v2)); /* what an ABI-2 object has past its table */
	memcpy(&v2, &pmd_ops, GS_STRATEGY_OPS_SIZE_V2);
	v2.abi = 2;
	v2.size = GS_STRATEGY_OPS_SIZE_V2;
	v2.name = "abi-two";
	if (!s)
		s = gs_strategy_register(&v2);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_ne(s->ops, &v2);
	ck_assert_ptr_eq(s->ops->split_order, count_split_order);
	ck_assert_ptr_eq(s->ops->merge_order, count_merge_order);
	ck_assert_ptr_null(s->ops->alloc_order);
	ck_assert_ptr_null(s->ops->punch);
	ck_assert_ptr_null(s->ops->free_split);
	ck_assert_uint_eq(s->ops->abi, 2);
}
END_TEST

/* --- ABI 3: alloc_order, punch, free_split --- */

static unsigned int alloc_fallocate_only(const struct gs_strategy_alloc *alloc)
{
	return alloc->fallocate ? 9 : 0;
}

static unsigned int punch_answer; /* what the punch hooks below answer */

static unsigned int punch_fixed(const struct gs_strategy_punch *punch)
{
	ck_assert_uint_eq(punch->folio_order, 9);
	ck_assert(punch->start >= punch->index && punch->end <= punch->index + 512);
	ck_assert(punch->end - punch->start < 512);
	return punch_answer;
}

static unsigned int free_defer(const struct gs_strategy_page *page)
{
	(void)page;
	return GS_FREE_DEFER;
}

static const struct gs_strategy_ops file_hook_ops = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "file-hooks",
	.summary = "test only: THPs on fallocate only, a fixed punch answer, deferred frees",
	.flow = GS_FLOW_PLANNED,
	.backing = GS_STRATEGY_BACKING_THP,
	.alloc_order = alloc_fallocate_only,
	.punch = punch_fixed,
	.free_split = free_defer,
};

/* A thp file: a THP preallocated, a 4 KiB page faulted, a 4 KiB punch into the THP. */
static const char thp_punch[] = "vm s type=sw_protected strategy=file-hooks\n"
				"gmem g vm=s size=4M flags=mmap|init_shared => 0\n"
				"mmap g\n"
				"falloc g off=0 len=4K => 0 blocks=4096\n"
				"write g off=2M len=4K byte=1 => 0\n"
				"falloc g off=2M len=4K => 0 blocks=4104\n"
				"punch g off=4K len=4K => %s\n"
				"metrics => thp=%s\n";

static int run_thp_punch(unsigned int answer, const char *punch, const char *thps)
{
	char text[sizeof(thp_punch) + 64];

	punch_answer = answer;
	snprintf(text, sizeof(text), thp_punch, punch, thps);
	return run(text, true);
}

START_TEST(test_file_hooks)
{
	const struct gs_strategy *s = gs_strategy_find("file-hooks");

	if (!s)
		s = gs_strategy_register(&file_hook_ops);
	ck_assert_ptr_nonnull(s);
	/*
	 * Preallocation: fallocate takes the whole 2 MiB, a fault only its 4 KiB
	 * (the write's block stays 4 KiB: fallocate then fills it page by page).
	 * A punch: split (the kernel's rule), kept and zeroed, or refused.
	 */
	ck_assert_int_eq(run_thp_punch(GS_PUNCH_SPLIT, "0 blocks=4096", "0"), GS_EXIT_OK);
	ck_assert_int_eq(run_thp_punch(GS_PUNCH_ZERO, "0 blocks=4104", "1"), GS_EXIT_OK);
	ck_assert_int_eq(run_thp_punch(GS_PUNCH_REFUSE, "EINVAL", "1"), GS_EXIT_OK);
	/* A zeroed part reads zero; the rest of the THP keeps its bytes. */
	punch_answer = GS_PUNCH_ZERO;
	ck_assert_int_eq(run("vm s type=sw_protected strategy=file-hooks\n"
			     "gmem g vm=s size=2M flags=mmap|init_shared => 0\n"
			     "mmap g\n"
			     "falloc g off=0 len=2M => 0 blocks=4096\n"
			     "write g off=0 len=8K byte=0x5a => 0\n"
			     "punch g off=4K len=4K => 0 blocks=4096\n"
			     "read g off=0 len=4K => 0 data=0x5a uniform=1\n"
			     "read g off=4K len=4K => 0 data=0x0 uniform=1\n",
			     true),
			 GS_EXIT_OK);
	/* The last piece freed: deferred, the page waits (512 holes) until the worker runs. */
	ck_assert_int_eq(run("hugetlb pool size=2M nr=1\n"
			     "vm s type=sw_protected strategy=file-hooks\n"
			     "gmem g vm=s size=2M flags=mmap|hugetlb page=2M => 0\n"
			     "falloc g off=0 len=2M => 0\n"
			     "convert g off=4K len=4K to=shared => 0 folios=512 huge_folios=0\n"
			     "punch g off=0 len=2M => 0 blocks=0\n"
			     "metrics => holes=512\n"
			     "run-deferred => 0 merged=1\n"
			     "metrics => holes=0\n",
			     true),
			 GS_EXIT_OK);
	/* planned's rule: merged at the punch, nothing left for the worker. */
	ck_assert_int_eq(run("hugetlb pool size=2M nr=1\n"
			     "vm s type=sw_protected\n"
			     "gmem g vm=s size=2M flags=mmap|hugetlb page=2M => 0\n"
			     "falloc g off=0 len=2M => 0\n"
			     "convert g off=4K len=4K to=shared => 0 folios=512 huge_folios=0\n"
			     "punch g off=0 len=2M => 0 blocks=0\n"
			     "metrics => holes=0\n"
			     "run-deferred => 0 merged=0\n",
			     true),
			 GS_EXIT_OK);
}
END_TEST

/* The punch-hole flow punches to convert: a refused punch fails the conversion, nothing changed. */
static const struct gs_strategy_ops punch_refuse_ops = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "punch-refuse",
	.summary = "test only: punch-hole's flow with the punch hook's fixed answer",
	.flow = GS_FLOW_PUNCH_HOLE,
	.backing = GS_STRATEGY_BACKING_THP,
	.punch = punch_fixed,
};

START_TEST(test_punch_hook_convert)
{
	const struct gs_strategy *s = gs_strategy_find("punch-refuse");

	if (!s)
		s = gs_strategy_register(&punch_refuse_ops);
	ck_assert_ptr_nonnull(s);
	punch_answer = GS_PUNCH_REFUSE;
	/* With the oracle: EINVAL is its answer, and the state is the one before. */
	ck_assert_int_eq(run("vm s type=sw_protected strategy=punch-refuse\n"
			     "gmem g vm=s size=2M flags=mmap|init_shared => 0\n"
			     "mmap g\n"
			     "write g off=0 len=8K byte=0x5a => 0\n"
			     "metrics => thp=1\n"
			     "convert g off=4K len=4K to=private => EINVAL\n"
			     "read g off=4K len=4K => 0 data=0x5a uniform=1\n"
			     "metrics => thp=1\n"
			     "convert g off=0 len=2M to=private => 0\n"
			     "metrics => thp=0\n",
			     true),
			 GS_EXIT_OK);
	/* Kept and zeroed: the THP stays, the converted page reads zero, the rest its bytes. */
	punch_answer = GS_PUNCH_ZERO;
	ck_assert_int_eq(run("vm s type=sw_protected strategy=punch-refuse\n"
			     "gmem g vm=s size=2M flags=mmap|init_shared => 0\n"
			     "mmap g\n"
			     "write g off=0 len=8K byte=0x5a => 0\n"
			     "convert g off=4K len=4K to=private => 0\n"
			     "convert g off=4K len=4K to=shared => 0\n"
			     "read g off=0 len=4K => 0 data=0x5a uniform=1\n"
			     "read g off=4K len=4K => 0 data=0x0 uniform=1\n"
			     "metrics => thp=1 thp_holes=0\n",
			     true),
			 GS_EXIT_OK);
}
END_TEST

/* A hook that breaks its contract (an answer out of range) WARNs: the run fails. */
START_TEST(test_file_hooks_contract)
{
	const struct gs_strategy *s = gs_strategy_find("file-hooks");

	if (!s)
		s = gs_strategy_register(&file_hook_ops);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(run_thp_punch(7, "0 blocks=4096", "0"), GS_EXIT_FAIL);
}
END_TEST

/* One shared page in a 1 GiB file and back, under @vm: the folios after each step. */
static const char pmd_and_back[] = "hugetlb pool size=1G nr=1\n"
				   "vm s type=sw_protected %s\n"
				   "gmem g vm=s size=1G flags=mmap|hugetlb page=1G => 0\n"
				   "memslot s slot=0 gpa=4G size=1G gmem=g => 0\n"
				   "falloc g off=0 len=1G => 0\n"
				   "convert g off=6M len=4K to=shared => 0 folios=%s\n"
				   "convert g off=10M len=4K to=shared => 0 folios=%s\n"
				   "getpfn g off=0 => 0 max_order=%s\n"
				   "convert g off=6M len=4K to=private => 0 folios=%s\n"
				   "convert g off=10M len=4K to=private => 0 folios=1\n"
				   "check => 0 violations=0\n";

/* @folios: after the first shared page, the second, the first back (the second back: 1). */
static int run_pmd_and_back(const char *vm, const char *const folios[3], const char *order,
			    bool oracle)
{
	char text[1024];

	snprintf(text, sizeof(text), pmd_and_back, vm, folios[0], folios[1], order, folios[2]);
	return run(text, oracle);
}

/* The engine asks split_order on to-shared and merge_order on to-private, planned flow only. */
START_TEST(test_split_merge_hooks_called)
{
	const struct gs_strategy *s = gs_strategy_find("pmd-counting");
	static const char *const pmd[3] = {"1023", "1534", "1023"};
	static const char *const kernel[3] = {"262144", "262144", "262144"};

	if (!s)
		s = gs_strategy_register(&pmd_ops);
	ck_assert_ptr_nonnull(s);
	split_calls = merge_order_calls = 0;
	/* The rounded max_order (its own is NULL): 0 beside a 2 MiB piece. */
	ck_assert_int_eq(run_pmd_and_back("strategy=pmd-counting", pmd, "0", true), GS_EXIT_OK);
	/* The whole page: asked for its leaves and its split; a 2 MiB piece: not asked. */
	ck_assert_uint_eq(split_calls, 2);
	ck_assert_uint_ge(merge_order_calls, 2);
	/* optimized: the same shapes, mapped at 2 MiB, and the oracle predicts them. */
	ck_assert_int_eq(run_pmd_and_back("strategy=optimized", pmd, "9", true), GS_EXIT_OK);
	/* planned: 4 KiB all over the page; 262,144 pieces, too slow for memcheck. */
	if (gs_test_scale(50) > 1)
		ck_assert_int_eq(run_pmd_and_back("", kernel, "0", true), GS_EXIT_OK);
	else
		printf("strategy: planned's 1 GiB split to 4 KiB not run under valgrind\n");
}
END_TEST

/* A file of a thp VM: ALLOW_HUGEPAGE's size rule, a 2 MiB folio, split by a conversion to shared. */
static const char thp_file[] = "vm s type=sw_protected strategy=%s\n"
			       "gmem bad vm=s size=1M flags=mmap|allow_hugepage => EINVAL\n"
			       "gmem small vm=s size=1M flags=mmap => 0\n"
			       "falloc small off=0 len=4K => 0 blocks=8\n"
			       "gmem g vm=s size=2M flags=mmap => 0\n"
			       "falloc g off=0 len=4K => 0 blocks=4096\n"
			       "getpfn g off=0x1000 => 0 max_order=9\n"
			       "convert g off=4K len=4K to=shared => 0 folios=512\n"
			       "getpfn g off=0 => 0 max_order=0\n"
			       "convert g off=4K len=4K to=private => 0 folios=512\n"
			       "check => 0 violations=0\n";

static const struct gs_strategy_ops wip_thp_ops = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "wip-thp",
	.summary = "test: wip's steps over THP-backed files",
	.flow = GS_FLOW_WIP,
	.backing = GS_STRATEGY_BACKING_THP,
};

START_TEST(test_thp_backing)
{
	const struct gs_strategy *s = gs_strategy_find("wip-thp");
	char text[sizeof(thp_file) + 16];

	if (!s)
		s = gs_strategy_register(&wip_thp_ops);
	ck_assert_ptr_nonnull(s);
	/* The built-in, and an out-of-tree strategy asking for the backing, with the oracle. */
	snprintf(text, sizeof(text), thp_file, "thp");
	ck_assert_int_eq(run(text, true), GS_EXIT_OK);
	snprintf(text, sizeof(text), thp_file, "wip-thp");
	ck_assert_int_eq(run(text, true), GS_EXIT_OK);
	/* The backing is the strategy's: planned's files keep 4 KiB folios, without the flag. */
	ck_assert_int_eq(run("vm s type=sw_protected\n"
			     "gmem g vm=s size=2M flags=mmap => 0\n"
			     "falloc g off=0 len=4K => 0 blocks=8\n"
			     "gmem h vm=s size=2M flags=mmap|allow_hugepage => EINVAL\n",
			     true),
			 GS_EXIT_OK);
	/* ... until thp is the default of the planned flow (`gmemsim run --strategy thp`). */
	gs_strategy_set_default(gs_strategy_find("thp"));
	ck_assert_int_eq(run("vm s type=sw_protected\n"
			     "gmem g vm=s size=1M flags=mmap|allow_hugepage => EINVAL\n"
			     "gmem h vm=s size=2M flags=mmap => 0\n"
			     "falloc h off=0 len=4K => 0 blocks=4096\n",
			     true),
			 GS_EXIT_OK);
	gs_strategy_set_default(NULL);
	/* HugeTLB files are not the backing's: the pool's page, as planned. */
	ck_assert_int_eq(
		run_split_and_back("strategy=thp", "folios=1 huge_folios=1", "max_order=9", true),
		GS_EXIT_OK);
}
END_TEST

START_TEST(test_punch_hole)
{
	/* The contents go with the memory; a HugeTLB file cannot convert so. */
	ck_assert_int_eq(run("vm s type=sw_protected strategy=punch-hole\n"
			     "gmem g vm=s size=2M flags=mmap|init_shared => 0\n"
			     "mmap g\n"
			     "write g off=0 len=8K byte=0x5a => 0\n"
			     "convert g off=4K len=4K to=private => 0\n"
			     "convert g off=4K len=4K to=shared => 0\n"
			     "read g off=0 len=4K => 0 data=0x5a uniform=1\n"
			     "read g off=4K len=4K => 0 data=0x0 uniform=1\n"
			     "hugetlb pool size=2M nr=1\n"
			     "gmem h vm=s size=2M flags=mmap|hugetlb page=2M => 0\n"
			     "convert h off=0 len=4K to=shared => EOPNOTSUPP\n",
			     true),
			 GS_EXIT_OK);
	/* The oracle predicts the loss: an expectation of the old byte is not met. */
	ck_assert_int_eq(run("vm s type=sw_protected strategy=punch-hole\n"
			     "gmem g vm=s size=2M flags=mmap|init_shared => 0\n"
			     "mmap g\n"
			     "write g off=0 len=4K byte=0x5a => 0\n"
			     "convert g off=0 len=4K to=private => 0\n"
			     "convert g off=0 len=4K to=shared => 0\n"
			     "read g off=0 len=1 => 0 data=0x5a\n",
			     false),
			 GS_EXIT_FAIL);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("strategy");
	TCase *tc = tcase_create("strategy");

	tcase_add_test(tc, test_builtins);
	tcase_add_test(tc, test_register_errors);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_hooks_called);
	tcase_add_test(tc, test_alias_and_errors);
	tcase_add_test(tc, test_default_of_a_flow);
	tcase_add_test(tc, test_optimized_builtin);
	tcase_add_test(tc, test_abi1_table);
	tcase_add_test(tc, test_split_merge_hooks_called);
	tcase_add_test(tc, test_thp_backing);
	tcase_add_test(tc, test_punch_hole);
	tcase_add_test(tc, test_abi2_table);
	tcase_add_test(tc, test_file_hooks);
	tcase_add_test(tc, test_file_hooks_contract);
	tcase_add_test(tc, test_punch_hook_convert);
	/* Last: it fills the registry, which tests share without CK_FORK. */
	tcase_add_test(tc, test_registry_full);
	suite_add_tcase(s, tc);
	return s;
}
