// SPDX-License-Identifier: MIT
/*
 * Tests of HugeTLB Vmemmap Optimization (lib/hvo.c): the kernel's page
 * arithmetic, real host memory given back and taken again (measured with
 * mincore), tails that still resolve and whose writes the hvo checker
 * catches, host mappings that do not grow per folio, all-or-nothing
 * restore under every injected failure, the direct 1 GiB -> 512 x 2 MiB
 * path against the two-step path, and preallocation.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/physmem.h>
#include "harness.h"

/* Lines of /proc/self/maps: the host mappings this process holds. */
static long gs_test_host_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void drop_hook(struct folio *folio)
{
	(void)folio;
}

static void setup(void)
{
	for (int k = 0; k < GS_FOLIO_NR_KINDS; k++)
		gs_folio_set_free_hook(k, drop_hook);
	gs_hvo_set_enabled(true);
	gs_hvo_set_resident(false);
}

static void teardown(void)
{
	gs_inject_reset();
	gs_warn_set_mode(GS_WARN_PRINT);
}

/* A whole, unoptimized HugeTLB folio of @order on metadata-only memory, refcount 0. */
static struct folio *new_huge(unsigned int order)
{
	unsigned long pfn;

	ck_assert_int_eq(gs_physmem_alloc_huge(order, GS_BACKING_NONE, GFP_KERNEL, &pfn, NULL), 0);
	return gs_folio_init(pfn, order, 1UL << PG_hugetlb, ~0UL);
}

static void free_range(unsigned long pfn, unsigned int order)
{
	hugetlb_meta_forget(pfn); /* split pieces still had their HugeTLB record */
	hugetlb_vmemmap_release(pfn, order);
	gs_physmem_free_huge(pfn, order);
}

static void free_huge(struct folio *folio)
{
	free_range(folio_pfn(folio), folio_order(folio));
}

static size_t resident(struct folio *folio)
{
	return gs_vmemmap_resident(folio_pfn(folio), folio_nr_pages(folio));
}

START_TEST(hvo_arithmetic)
{
	ck_assert_uint_eq(HUGETLB_VMEMMAP_RESERVE_PAGES, 64);
	ck_assert_uint_eq(hugetlb_vmemmap_size(9), 32 << 10);
	ck_assert_uint_eq(hugetlb_vmemmap_optimizable_pages(9), 7);
	ck_assert_uint_eq(hugetlb_vmemmap_optimizable_size(9), 28 << 10);
	ck_assert_uint_eq(hugetlb_vmemmap_size(18), 16 << 20);
	ck_assert_uint_eq(hugetlb_vmemmap_optimizable_pages(18), 4095);
	ck_assert_uint_eq(hugetlb_vmemmap_optimizable_size(18), (16 << 20) - 4096);
	ck_assert_uint_eq(hugetlb_vmemmap_optimizable_pages(6), 0); /* one vmemmap page: nothing */
}
END_TEST

START_TEST(hvo_2m_frees_and_restores_real_memory)
{
	struct folio *f = new_huge(9);
	struct gs_hvo_stats s0, s;

	gs_hvo_stats(&s0);
	ck_assert_uint_eq(resident(f), 8 * PAGE_SIZE); /* all 512 struct pages written */
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	ck_assert(folio_test_hugetlb_vmemmap_optimized(f));
	ck_assert_uint_eq(resident(f), PAGE_SIZE); /* the host got 7 pages back */
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.freed_pages - s0.freed_pages, 7);
	ck_assert_uint_eq(s.optimizations - s0.optimizations, 1);
	/* Tails still resolve, through the API. */
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(pfn_folio(folio_pfn(f) + k) == f, "tail %lu", k);
	/* Optimizing twice does nothing. */
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.optimizations - s0.optimizations, 1);
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
	ck_assert(!folio_test_hugetlb_vmemmap_optimized(f));
	ck_assert_uint_eq(resident(f), 8 * PAGE_SIZE);
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.freed_pages, s0.freed_pages);
	ck_assert_uint_eq(s.restored_pages - s0.restored_pages, 7);
	ck_assert_uint_eq(s.pages_allocated - s0.pages_allocated, 7);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(pfn_folio(folio_pfn(f) + k) == f, "tail %lu", k);
	/* The restored pages are held at site hvo.restore until HVO frees them again. */
	{
		struct gs_site_stats st;

		gs_site_stats(GS_SITE_HVO_RESTORE, &st);
		ck_assert_uint_eq(st.live, 7);
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
		gs_site_stats(GS_SITE_HVO_RESTORE, &st);
		ck_assert_uint_eq(st.live, 0);
	}
	free_huge(f);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(hvo_1g_rss)
{
	struct folio *f = new_huge(18);

	ck_assert_uint_eq(resident(f), 16 << 20);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	ck_assert_uint_eq(resident(f), PAGE_SIZE);
	ck_assert_ptr_eq(pfn_folio(folio_pfn(f) + 262143), f);
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
	ck_assert_uint_eq(resident(f), 16 << 20);
	ck_assert_ptr_eq(pfn_folio(folio_pfn(f) + 262143), f);
	free_huge(f);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * A write to an optimized tail is caught: the host holds a page of its own
 * where HVO gave one back, and the hvo checker says so (the kernel's
 * read-only mapping would have trapped it).
 */
START_TEST(hvo_tail_write_detected)
{
	struct folio *f;
	volatile struct page *tail;

	if (access("/proc/self/pagemap", R_OK)) {
		printf("skip hvo_tail_write_detected: no /proc/self/pagemap\n");
		return;
	}
#ifdef GS_TEST_ASAN
	printf("skip hvo_tail_write_detected: ASan reports the write itself (poisoned)\n");
	return;
#endif
	f = new_huge(9);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	tail = pfn_to_page(folio_pfn(f) + 300);
	/* memcheck would report the write itself; this test is about the software check. */
	VALGRIND_DISABLE_ERROR_REPORTING;
	tail->flags = 1;
	VALGRIND_ENABLE_ERROR_REPORTING;
	ck_assert_uint_eq(gs_check_run_all(NULL), 1);
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0); /* rewrites every tail */
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	free_huge(f);
	gs_test_assert_no_leaks();
}
END_TEST

/* A write the test makes on purpose to a freed (poisoned) struct page. */
#if defined(GS_TEST_ASAN)
__attribute__((no_sanitize("address")))
#endif
static void
write_freed(volatile unsigned long *word, unsigned long val)
{
	VALGRIND_DISABLE_ERROR_REPORTING;
	*word = val;
	VALGRIND_ENABLE_ERROR_REPORTING;
}

/*
 * The resident host mode (gs_hvo_set_resident()): the freed tails stay in
 * the host, tails still resolve, and a write to one is still reported: by
 * the checker, and as a WARN by the restore that takes the page again, in
 * every build (ASan's and memcheck's own reports are the other tests').
 */
START_TEST(hvo_resident_tail_write_detected)
{
	struct folio *f;
	struct gs_hvo_stats s;
	unsigned long warns;

	ck_assert(!gs_hvo_set_resident(true));
	ck_assert(gs_hvo_resident());
	f = new_huge(9);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	/* Kept in the host (this mode's trade), counted as freed all the same. */
	ck_assert_uint_eq(resident(f), 8 * PAGE_SIZE);
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.freed_pages, 7);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(pfn_folio(folio_pfn(f) + k) == f, "tail %lu", k);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	/* A zero written where the pattern is not zero is seen too. */
	write_freed(&pfn_to_page(folio_pfn(f) + 300)->memcg_data, 0);
	ck_assert_uint_eq(gs_check_run_all(NULL), 1);
	write_freed(&pfn_to_page(folio_pfn(f) + 301)->flags, 1); /* same vmemmap page: one report */
	ck_assert_uint_eq(gs_check_run_all(NULL), 1);
	gs_warn_set_mode(GS_WARN_QUIET);
	warns = gs_warn_count();
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
	ck_assert_uint_eq(gs_warn_count(), warns + 1);
	gs_warn_set_mode(GS_WARN_PRINT);
	/* Taken back: zero, tail markers written, nothing left to report. */
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	ck_assert_uint_eq(pfn_to_page(folio_pfn(f) + 300)->flags, 0);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(pfn_folio(folio_pfn(f) + k) == f, "tail %lu", k);
	/* Freed again and written: the release that gives the page back reports it too. */
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	write_freed(&pfn_to_page(folio_pfn(f) + 511)->private, 42);
	gs_warn_set_mode(GS_WARN_QUIET);
	warns = gs_warn_count();
	free_huge(f);
	ck_assert_uint_eq(gs_warn_count(), warns + 1);
	gs_warn_set_mode(GS_WARN_PRINT);
	gs_hvo_set_resident(false);
	gs_test_assert_no_leaks();
}
END_TEST

#if defined(GS_TEST_ASAN)
__attribute__((no_sanitize("address")))
#endif
static unsigned long
read_freed(const volatile unsigned long *word)
{
	unsigned long val;

	VALGRIND_DISABLE_ERROR_REPORTING;
	val = *word;
	VALGRIND_ENABLE_ERROR_REPORTING;
	return val;
}

/*
 * Every word of a kept page is verified, by both scans (the host's widest
 * vectors and the portable one): a write to any word of the first, a
 * middle or the last struct page of each kept vmemmap page is reported by
 * the checker, and, by the restore that verifies and zeroes in one pass,
 * as a WARN, with every struct page zero but its tail marker after it.
 */
START_TEST(hvo_resident_every_word_checked)
{
	static const unsigned long slots[] = {0, 37, 63}; /* struct pages of a vmemmap page */
	struct folio *f;
	unsigned long warns;

	gs_hvo_set_resident(true);
	f = new_huge(9);
	for (int generic = 0; generic < 2; generic++) {
		gs_hvo_test_scan_generic(generic);
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
		for (unsigned long vp = 1; vp < 8; vp++) {
			for (unsigned int s = 0; s < ARRAY_SIZE(slots); s++) {
				unsigned long *w = (unsigned long *)pfn_to_page(folio_pfn(f) +
										vp * 64 + slots[s]);

				for (unsigned int k = 0; k < sizeof(struct page) / sizeof(long);
				     k++) {
					unsigned long old = read_freed(&w[k]);

					write_freed(&w[k], old ^ 0x100);
					gs_assert(gs_check_run_all(NULL) == 1,
						  "generic %d page %lu slot %lu word %u", generic,
						  vp, slots[s], k);
					write_freed(&w[k], old);
					gs_assert(gs_check_run_all(NULL) == 0,
						  "generic %d page %lu slot %lu word %u", generic,
						  vp, slots[s], k);
				}
			}
		}
		/* The last word of the last kept page, written: the restore's WARN, then zero. */
		write_freed((unsigned long *)(pfn_to_page(folio_pfn(f) + 512)) - 1, 9);
		gs_warn_set_mode(GS_WARN_QUIET);
		warns = gs_warn_count();
		ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
		ck_assert_uint_eq(gs_warn_count(), warns + 1);
		gs_warn_set_mode(GS_WARN_PRINT);
		for (unsigned long k = 64; k < 512; k++) {
			struct page *p = pfn_to_page(folio_pfn(f) + k);

			gs_assert(pfn_folio(folio_pfn(f) + k) == f, "tail %lu", k);
			for (unsigned int i = 0; i < sizeof(*p) / sizeof(long); i++)
				gs_assert(((unsigned long *)p)[i] == 0 ||
						  ((unsigned long *)p)[i] == p->compound_info,
					  "tail %lu word %u", k, i);
		}
		ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	}
	gs_hvo_test_scan_generic(false);
	free_huge(f);
	gs_hvo_set_resident(false);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * Restore @f for its free with a write to a tail kept in the host (the
 * first word of struct page 300, vmemmap page 4), through the plain
 * restore or the one that zeroes what it verifies: one WARN; its text
 * (from "vmemmap page" on, the rest is file, line and function) is
 * put in @site, and *@zeroed is the second one's answer.
 */
static void restore_for_free_written(struct folio *f, bool zeroing, unsigned long *zeroed,
				     char *site, size_t site_len)
{
	unsigned long warns;
	const char *msg;
	char want[128];

	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	write_freed(&pfn_to_page(folio_pfn(f) + 300)->flags, 5);
	ck_assert_uint_eq(gs_check_run_all(NULL), 1);
	gs_warn_set_mode(GS_WARN_QUIET);
	warns = gs_warn_count();
	if (zeroing)
		ck_assert_int_eq(gs_hvo_restore_for_free_zeroed(f, zeroed), 0);
	else
		ck_assert_int_eq(hugetlb_vmemmap_restore_for_free(f), 0);
	ck_assert_uint_eq(gs_warn_count(), warns + 1);
	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert(!folio_test_hugetlb_vmemmap_optimized(f));
	snprintf(want, sizeof(want),
		 "vmemmap page of pfn 0x%lx was written while HVO had freed it "
		 "(a write to an optimized tail)",
		 folio_pfn(f) + 4 * 64);
	msg = strstr(gs_warn_last(), "vmemmap page of");
	ck_assert_ptr_nonnull(msg);
	ck_assert_str_eq(msg, want);
	/* The same site: file, line and function before the text. */
	snprintf(site, site_len, "%.*s", (int)(msg - gs_warn_last()), gs_warn_last());
}

/*
 * The free's restore that verifies and zeroes in one pass (zero20, session
 * 15): a written tail kept in the host is the same WARN from the same site
 * as the plain restore's, every tail reads zero after it, and it says which
 * (all seven); the struct pages left in the host by the free are all zero.
 * In the default host mode (tails given back) it zeroes nothing.
 */
START_TEST(hvo_restore_for_free_zeroed)
{
	struct folio *a, *b;
	unsigned long zeroed = 42, pfn;
	char site_a[256], site_b[256];

	gs_hvo_set_resident(true);
	a = new_huge(9);
	b = new_huge(9);
	restore_for_free_written(a, false, NULL, site_a, sizeof(site_a));
	restore_for_free_written(b, true, &zeroed, site_b, sizeof(site_b));
	ck_assert_str_eq(site_a, site_b);
	ck_assert_ptr_nonnull(strstr(site_a, "hvo.c:"));
	ck_assert_uint_eq(zeroed, 0xfe); /* vmemmap pages 1 to 7: not the head's */
	for (unsigned long k = 64; k < 512; k++) {
		const unsigned long *w = (const unsigned long *)pfn_to_page(folio_pfn(b) + k);

		for (unsigned int i = 0; i < sizeof(struct page) / sizeof(long); i++)
			gs_assert(w[i] == 0, "tail %lu word %u", k, i);
	}
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	free_huge(a);
	pfn = folio_pfn(b);
	hugetlb_meta_forget(pfn);
	hugetlb_vmemmap_release(pfn, 9);
	gs_physmem_free_huge_zeroed(pfn, 9, zeroed);
	/* Kept in the host (this mode), and zero but the head's free-range link. */
	ck_assert_uint_eq(gs_vmemmap_resident(pfn, 512), 8 * PAGE_SIZE);
	for (unsigned long k = 1; k < 512; k++) {
		const unsigned long *w = (const unsigned long *)pfn_to_page(pfn + k);

		for (unsigned int i = 0; i < sizeof(struct page) / sizeof(long); i++)
			gs_assert(w[i] == 0, "page %lu word %u", k, i);
	}
	/* Tails given back (the default mode): nothing kept, nothing zeroed here. */
	gs_hvo_set_resident(false);
	b = new_huge(9);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(b), 0);
	ck_assert_int_eq(gs_hvo_restore_for_free_zeroed(b, &zeroed), 0);
	ck_assert_uint_eq(zeroed, 0);
	/* Not optimized: nothing to restore, nothing zeroed. */
	zeroed = 42;
	ck_assert_int_eq(gs_hvo_restore_for_free_zeroed(b, &zeroed), 0);
	ck_assert_uint_eq(zeroed, 0);
	free_huge(b);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * gs_physmem_free_huge_zeroed() zeroes a 2 MiB page's struct pages kept in
 * the host but for the vmemmap pages it is told read zero already: those
 * it does not touch (here they hold a mark, to show it), in every
 * arrangement of runs (first, last, alone, side by side).
 */
START_TEST(hvo_free_huge_zeroed_skips_zero_pages)
{
	static const unsigned long masks[] = {0, 0xfe, 0x01, 0x80, 0x24, 0x5a, 0xff, 0x18};
	bool keep = gs_physmem_keep_huge_vmemmap(true);

	for (unsigned int m = 0; m < ARRAY_SIZE(masks); m++) {
		struct folio *f = new_huge(9);
		unsigned long pfn = folio_pfn(f);
		uint8_t *vm = (uint8_t *)pfn_to_page(pfn);
		struct page head;

		hugetlb_meta_forget(pfn);
		hugetlb_vmemmap_release(pfn, 9);
		memset(vm, 0x5a, 8 * PAGE_SIZE);
		gs_physmem_free_huge_zeroed(pfn, 9, masks[m]);
		memcpy(&head, vm, sizeof(head));
		for (unsigned long v = 0; v < 8; v++) {
			bool skipped = masks[m] & (1UL << v);

			/* (The head struct page holds the free range's link.) */
			for (size_t i = v ? 0 : sizeof(struct page); i < PAGE_SIZE; i++)
				gs_assert(vm[v * PAGE_SIZE + i] == (skipped ? 0x5a : 0),
					  "mask %#lx page %lu byte %zu", masks[m], v, i);
		}
		/* What the caller's zeroing would have left; the link stays. */
		head = (struct page){.mapping = head.mapping, .private = head.private};
		memcpy(vm, &head, sizeof(head));
		memset(vm + sizeof(head), 0, 8 * PAGE_SIZE - sizeof(head));
	}
	gs_physmem_keep_huge_vmemmap(keep);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * A split's restore of kept pages (pool13, session 12): the pattern filled
 * from registers alike with both widths; every word still verified (a
 * write to one is the restore's WARN, with both scans), but
 * the pages are not zeroed, since the split writes every struct page in
 * full next: they hold the pattern until it does, and the split leaves
 * each struct page exactly as it leaves it over zeroed pages (the default
 * host mode's restore).
 */
static void split_restored(bool resident_mode, int generic, struct page *out,
			   unsigned long *pattern_words)
{
	struct folio *f;
	unsigned long warns;

	gs_hvo_set_resident(resident_mode);
	gs_hvo_test_scan_generic(generic);
	f = new_huge(9);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	if (resident_mode) {
		/* The fill (either width): every kept struct page alike, compound_info zero. */
		for (unsigned long k = 64; k < 512; k++) {
			const unsigned long *w =
				(const unsigned long *)pfn_to_page(folio_pfn(f) + k);
			const unsigned long *w0 =
				(const unsigned long *)pfn_to_page(folio_pfn(f) + 64);

			for (unsigned int i = 0; i < sizeof(struct page) / sizeof(long); i++)
				gs_assert(read_freed(&w[i]) == read_freed(&w0[i]) &&
						  (&w[i] == &pfn_to_page(folio_pfn(f) + k)
									   ->compound_info
							   ? !read_freed(&w[i])
							   : read_freed(&w[i]) != 0),
					  "generic %d tail %lu word %u", generic, k, i);
		}
		ck_assert_uint_eq(gs_check_run_all(NULL), 0);
		/* A write to the last word of the last kept page: still the restore's WARN. */
		unsigned long *last = (unsigned long *)pfn_to_page(folio_pfn(f) + 512) - 1;
		unsigned long old = read_freed(last);

		write_freed(last, old ^ 1);
		gs_warn_set_mode(GS_WARN_QUIET);
		warns = gs_warn_count();
		ck_assert_int_eq(hugetlb_vmemmap_restore_for_split(f), 0);
		ck_assert_uint_eq(gs_warn_count(), warns + 1);
		gs_warn_set_mode(GS_WARN_PRINT);
		/* Verified and handed to the split as they are: not zeroed first. */
		*pattern_words = 0;
		for (unsigned long k = 64; k < 512; k++)
			*pattern_words += pfn_to_page(folio_pfn(f) + k)->flags != 0;
		/* The other kept pages, not written: a restore without a WARN. */
		hugetlb_vmemmap_cancel_restore(f);
		warns = gs_warn_count();
		ck_assert_int_eq(hugetlb_vmemmap_restore_for_split(f), 0);
		ck_assert_uint_eq(gs_warn_count(), warns);
	} else {
		ck_assert_int_eq(hugetlb_vmemmap_restore_for_split(f), 0);
	}
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	__split_folio_to_order(f, 0);
	for (unsigned long k = 0; k < 512; k++) {
		out[k] = *pfn_to_page(folio_pfn(f) + k);
		/* Each piece's list head points at itself: the same relative to its page. */
		gs_assert(out[k].lru.next == &pfn_to_page(folio_pfn(f) + k)->lru, "piece %lu", k);
		out[k].lru.next = out[k].lru.prev = NULL;
	}
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	free_range(folio_pfn(f), 9);
	gs_hvo_test_scan_generic(false);
	gs_hvo_set_resident(false);
}

START_TEST(hvo_resident_split_restore_not_zeroed)
{
	static struct page want[512], got[512];
	unsigned long pattern_words = 0;

	split_restored(false, 0, want, &pattern_words);
	for (int generic = 0; generic < 2; generic++) {
		split_restored(true, generic, got, &pattern_words);
		ck_assert_uint_eq(pattern_words, 448);
		for (unsigned long k = 0; k < 512; k++)
			gs_assert(!memcmp(&want[k], &got[k], sizeof(want[k])),
				  "generic %d piece %lu", generic, k);
	}
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * The checker verifies a bounded number of kept pages per check, in turn:
 * with more kept than that, a write is still reported within a few checks,
 * and every time the page is taken again.
 */
START_TEST(hvo_resident_checks_in_turn)
{
	enum { NR = 5 }; /* 35 kept pages: three checks go round them */
	struct folio *f[NR];
	unsigned int seen = 0;
	unsigned long warns;

	gs_hvo_set_resident(true);
	for (int i = 0; i < NR; i++) {
		f[i] = new_huge(9);
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	write_freed(&pfn_to_page(folio_pfn(f[2]) + 100)->index, 7);
	for (int i = 0; i < 3; i++)
		seen += gs_check_run_all(NULL);
	ck_assert_uint_ge(seen, 1);
	ck_assert_uint_le(seen, 2);
	gs_warn_set_mode(GS_WARN_QUIET);
	warns = gs_warn_count();
	for (int i = 0; i < NR; i++)
		ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f[i]), 0);
	ck_assert_uint_eq(gs_warn_count(), warns + 1);
	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	for (int i = 0; i < NR; i++)
		free_huge(f[i]);
	gs_hvo_set_resident(false);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * Pages freed in one mode are taken back right in the other, and the
 * default mode still gives freed vmemmap back to the host after the
 * resident mode was on.
 */
START_TEST(hvo_resident_mode_switches)
{
	unsigned long warns = gs_warn_count(); /* one process runs every test under valgrind */
	struct folio *a, *b;

	gs_hvo_set_resident(true);
	a = new_huge(9);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(a), 0);
	gs_hvo_set_resident(false);
	b = new_huge(9);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(b), 0);
	ck_assert_uint_eq(resident(a), 8 * PAGE_SIZE);
	ck_assert_uint_eq(resident(b), PAGE_SIZE);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	/* A kept page restored in the default mode: zero, no host call needed, no WARN. */
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(a), 0);
	ck_assert_uint_eq(gs_warn_count(), warns);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(pfn_folio(folio_pfn(a) + k) == a, "tail %lu", k);
	gs_hvo_set_resident(true);
	/* A given-back page restored in the resident mode: from the host, zero. */
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(b), 0);
	ck_assert_uint_eq(resident(b), 8 * PAGE_SIZE);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(pfn_folio(folio_pfn(b) + k) == b, "tail %lu", k);
	/* 1 GiB folios keep the default: their 16 MiB goes back to the host. */
	{
		struct folio *g = new_huge(18);

		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(g), 0);
		ck_assert_uint_eq(resident(g), PAGE_SIZE);
		free_huge(g);
	}
	gs_hvo_set_resident(false);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(a), 0);
	ck_assert_uint_eq(resident(a), PAGE_SIZE); /* the default again */
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	free_huge(a);
	free_huge(b);
	ck_assert_uint_eq(gs_warn_count(), warns);
	gs_test_assert_no_leaks();
}
END_TEST

/* A 2 MiB guest's worth of optimized folios costs no host mapping each (issue 10). */
START_TEST(hvo_host_mappings_bounded)
{
	enum { NR = 2048 };
	static struct folio *f[NR];
	long before = gs_test_host_mappings();

	for (int i = 0; i < NR; i++) {
		f[i] = new_huge(9);
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f[i]), 0);
	}
	/* mprotect per folio would have added two mappings each. */
	ck_assert_int_lt(gs_test_host_mappings() - before, 16);
	for (int i = 0; i < NR; i++)
		free_huge(f[i]);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(hvo_memcheck_flags_direct_tail_reads)
{
	struct folio *f;
	int status;
	pid_t pid;

	if (!RUNNING_ON_VALGRIND) {
		printf("skip hvo_memcheck_flags_direct_tail_reads: needs valgrind memcheck\n");
		return;
	}
	/* Both host modes: given back, and kept in the host (gs_hvo_set_resident()). */
	for (int mode = 0; mode < 2; mode++) {
		gs_hvo_set_resident(mode);
		f = new_huge(9);
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
		/* Through the API: no memcheck error. */
		ck_assert_ptr_eq(pfn_folio(folio_pfn(f) + 300), f);
		ck_assert_uint_eq(gs_check_run_all(NULL), 0);
		ck_assert_uint_eq(VALGRIND_COUNT_ERRORS, 0);
		/* A direct read, in a child so that its error does not fail this run: reported. */
		pid = fork();
		if (pid == 0) {
			volatile unsigned long info =
				pfn_to_page(folio_pfn(f) + 300)->compound_info;

			(void)info;
			_exit(VALGRIND_COUNT_ERRORS ? 42 : 1);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		/* 42, or memcheck's --error-exitcode (3 in the valgrind setup): an error was seen. */
		ck_assert(WIFEXITED(status) &&
			  (WEXITSTATUS(status) == 42 || WEXITSTATUS(status) == 3));
		free_huge(f);
	}
	gs_hvo_set_resident(false);
}
END_TEST

/* Under ASan the freed vmemmap is poisoned: a direct read is reported, as memcheck does. */
START_TEST(hvo_asan_flags_direct_tail_reads)
{
#ifdef GS_TEST_ASAN
	/* Both host modes: given back, and kept in the host (gs_hvo_set_resident()). */
	for (int mode = 0; mode < 2; mode++) {
		struct folio *f;
		int status;
		pid_t pid;

		gs_hvo_set_resident(mode);
		f = new_huge(9);
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
		ck_assert_ptr_eq(pfn_folio(folio_pfn(f) + 300), f); /* through the API: fine */
		ck_assert_uint_eq(gs_check_run_all(NULL), 0);
		pid = fork();
		if (pid == 0) {
			volatile unsigned long info =
				pfn_to_page(folio_pfn(f) + 300)->compound_info;

			(void)info;
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		/* ASan's report ends the child: an abort, or its error exit code. */
		ck_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status)));
		free_huge(f);
	}
	gs_hvo_set_resident(false);
#else
	printf("skip hvo_asan_flags_direct_tail_reads: needs an ASan build\n");
#endif
}
END_TEST

START_TEST(hvo_first_page_stays_writable)
{
	struct folio *f = new_huge(9);

	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	/* The head and the first 63 tails live in the kept page. */
	pfn_to_page(folio_pfn(f) + 63)->memcg_data = 0;
	f->mapping = (void *)0x10;
	f->mapping = NULL;
	free_huge(f);
}
END_TEST

START_TEST(hvo_disabled_and_refusals)
{
	struct folio *f = new_huge(9);
	bool old = gs_hvo_set_enabled(false);

	ck_assert(old);
	ck_assert(!gs_hvo_enabled());
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	ck_assert(!folio_test_hugetlb_vmemmap_optimized(f));
	gs_hvo_set_enabled(true);
	/* References held: the kernel optimizes only free or frozen folios. */
	gs_warn_set_mode(GS_WARN_QUIET);
	folio_set_count(f, 1);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), -EINVAL);
	folio_set_count(f, 0);
	/* Restoring a folio that is not optimized is a no-op. */
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
	/* A split of an optimized folio needs HVO undone (or prepare_split) first. */
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	folio_set_count(f, 1);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), -EINVAL);
	folio_set_count(f, 0);
	ck_assert_int_eq(hugetlb_vmemmap_prepare_split(f, 3), -EINVAL); /* pieces too small */
	free_huge(f);
}
END_TEST

struct restore_ctx {
	unsigned int order;
	struct folio *folio;
	struct gs_hvo_stats before;
	size_t rss;
};

static void restore_prepare(void *arg)
{
	struct restore_ctx *c = arg;

	c->folio = new_huge(c->order);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(c->folio), 0);
	gs_hvo_stats(&c->before);
	c->rss = resident(c->folio);
}

static int restore_op(void *arg)
{
	return hugetlb_vmemmap_restore_folio(((struct restore_ctx *)arg)->folio);
}

static void restore_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct restore_ctx *c = arg;
	struct gs_hvo_stats s;
	struct gs_site_stats st;

	gs_hvo_stats(&s);
	gs_site_stats(GS_SITE_HVO_RESTORE, &st);
	if (injected) {
		/* All or nothing: still optimized, nothing held, nothing mapped. */
		gs_assert(ret == -ENOMEM, "n=%lu ret=%d", n, ret);
		gs_assert(folio_test_hugetlb_vmemmap_optimized(c->folio), "n=%lu", n);
		gs_assert(s.freed_pages == c->before.freed_pages, "n=%lu", n);
		gs_assert(st.live == 0, "n=%lu: %llu pages held", n, (unsigned long long)st.live);
		gs_assert(resident(c->folio) == c->rss, "n=%lu", n);
	} else {
		gs_assert(ret == 0 && st.live == hugetlb_vmemmap_optimizable_pages(c->order),
			  "n=%lu", n);
	}
	free_huge(c->folio);
}

START_TEST(hvo_restore_every_failure)
{
	struct gs_fail_nth_ops ops = {restore_prepare, restore_op, restore_check};
	struct gs_fail_nth cfg = {.site = GS_SITE_HVO_RESTORE};
	struct restore_ctx c = {.order = 9};
	unsigned long runs;

	/* 2 MiB: every one of the 7 allocations fails in turn, transient and persistent. */
	for (int persistent = 0; persistent <= 1; persistent++) {
		cfg.persistent = persistent;
		ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &runs), 0);
		ck_assert_uint_eq(runs, 8); /* 7 pages, then a clean run */
	}
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * The restore before a page goes back to the host: allocated and charged
 * like any restore (each page can fail, all or nothing), never populated.
 */
START_TEST(hvo_restore_for_free)
{
	struct gs_inject_rule r = {.site = GS_SITE_HVO_RESTORE, .mode = GS_INJECT_NTH, .nth = 4};
	struct folio *f = new_huge(9);
	struct gs_site_stats before, after;
	struct gs_hvo_stats st;
	int id;

	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	gs_site_stats(GS_SITE_HVO_RESTORE, &before);
	id = gs_inject_arm(&r);
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(hugetlb_vmemmap_restore_for_free(f), -ENOMEM);
	gs_inject_disarm(id);
	ck_assert(folio_test_hugetlb_vmemmap_optimized(f));
	gs_site_stats(GS_SITE_HVO_RESTORE, &after);
	ck_assert_uint_eq(after.live, before.live); /* all or nothing */
	ck_assert_int_eq(hugetlb_vmemmap_restore_for_free(f), 0);
	ck_assert(!folio_test_hugetlb_vmemmap_optimized(f));
	gs_site_stats(GS_SITE_HVO_RESTORE, &after);
	ck_assert_uint_eq(after.live, before.live + 7);
	gs_hvo_stats(&st);
	ck_assert_uint_eq(st.freed_pages, 0);
	/* Not taken from the host: the tails' vmemmap holds nothing. */
	ck_assert_uint_eq(resident(f), PAGE_SIZE);
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	free_huge(f);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(hvo_restore_1g_failures)
{
	static const unsigned long nths[] = {1, 2, 2048, 4094, 4095};
	struct restore_ctx c = {.order = 18};

	/* 1 GiB: the same rules at the first, middle and last of the 4095 allocations. */
	for (size_t i = 0; i < ARRAY_SIZE(nths); i++) {
		for (int persistent = 0; persistent <= 1; persistent++) {
			struct gs_inject_rule r = {.site = GS_SITE_HVO_RESTORE,
						   .mode = GS_INJECT_NTH,
						   .nth = nths[i],
						   .persistent = persistent};
			int id, ret;

			restore_prepare(&c);
			id = gs_inject_arm(&r);
			ret = restore_op(&c);
			/* The first failure ends the restore: nothing more is asked for. */
			ck_assert_uint_eq(gs_inject_rule_fired(id), 1);
			gs_inject_disarm(id);
			restore_check(&c, ret, nths[i], true);
		}
	}
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(hvo_direct_vs_two_step)
{
	struct folio *a = new_huge(18), *b = new_huge(18);
	struct gs_hvo_stats s0, s1, s2;
	unsigned long pa = folio_pfn(a), pb = folio_pfn(b);

	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(a), 0);
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(b), 0);
	/* Direct: 1 GiB to 512 optimized 2 MiB pieces, allocating one page per piece but the first. */
	gs_hvo_stats(&s0);
	ck_assert_int_eq(hugetlb_vmemmap_prepare_split(a, 9), 0);
	folio_set_count(a, 1);
	ck_assert_int_eq(folio_split(a, 9, NULL, GS_SPLIT_UNIFORM), 0);
	gs_hvo_stats(&s1);
	ck_assert_uint_eq(s1.pages_allocated - s0.pages_allocated, 511);
	ck_assert_uint_eq(s1.pages_freed - s0.pages_freed, 0);
	/* Measured before any tail is read: mincore() counts zero-page mappings as resident. */
	ck_assert_uint_eq(gs_vmemmap_resident(pa, 1UL << 18), 512 * PAGE_SIZE);
	for (unsigned long k = 0; k < 512; k++) {
		struct folio *piece = pfn_folio(pa + k * 512 + 200);

		gs_assert(folio_pfn(piece) == pa + k * 512 && folio_order(piece) == 9, "piece %lu",
			  k);
		gs_assert(folio_test_hugetlb_vmemmap_optimized(piece), "piece %lu", k);
	}
	/* Two-step: restore all 4095, split, optimize each piece (7 freed per piece). */
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(b), 0);
	folio_set_count(b, 1);
	ck_assert_int_eq(folio_split(b, 9, NULL, GS_SPLIT_UNIFORM), 0);
	folio_set_count(pfn_folio(pb), 0);
	for (unsigned long k = 0; k < 512; k++)
		ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(pfn_folio(pb + k * 512)), 0);
	gs_hvo_stats(&s2);
	ck_assert_uint_eq(s2.pages_allocated - s1.pages_allocated, 4095);
	ck_assert_uint_eq(s2.pages_freed - s1.pages_freed, 512 * 7);
	/* Same end state: 512 vmemmap pages resident per GiB, net 511 allocated either way. */
	ck_assert_uint_eq(gs_vmemmap_resident(pb, 1UL << 18), 512 * PAGE_SIZE);
	ck_assert_uint_eq(
		(s2.pages_allocated - s1.pages_allocated) - (s2.pages_freed - s1.pages_freed), 511);
	/* Both held as 511 restored pages each. */
	{
		struct gs_site_stats st;

		gs_site_stats(GS_SITE_HVO_RESTORE, &st);
		ck_assert_uint_eq(st.live, 2 * 511);
	}
	free_range(pa, 18); /* the whole GiB, now made of 2 MiB pieces */
	free_range(pb, 18);
	gs_hvo_stats(&s2);
	ck_assert_uint_eq(s2.freed_pages, s0.freed_pages - 2 * 4095); /* a and b were optimized */
	ck_assert_uint_eq(s2.restored_pages, s0.restored_pages);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(hvo_prepare_split_cancel_and_failure)
{
	struct folio *f = new_huge(18);
	struct gs_inject_rule r = {.site = GS_SITE_HVO_RESTORE, .mode = GS_INJECT_NTH, .nth = 300};
	struct gs_site_stats st;

	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	gs_inject_arm(&r);
	ck_assert_int_eq(hugetlb_vmemmap_prepare_split(f, 9), -ENOMEM);
	gs_inject_reset();
	gs_site_stats(GS_SITE_HVO_RESTORE, &st);
	ck_assert_uint_eq(st.live, 0);
	ck_assert(!hugetlb_vmemmap_split_prepared(f, 9));
	ck_assert_int_eq(hugetlb_vmemmap_prepare_split(f, 9), 0);
	ck_assert(hugetlb_vmemmap_split_prepared(f, 9));
	hugetlb_vmemmap_cancel_split(f, 9);
	ck_assert(!hugetlb_vmemmap_split_prepared(f, 9));
	ck_assert_uint_eq(resident(f), PAGE_SIZE);
	ck_assert_ptr_eq(pfn_folio(folio_pfn(f) + 100000), f);
	free_huge(f);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(hvo_prealloc_makes_restore_infallible)
{
	struct folio *f = new_huge(18);
	struct gs_inject_rule always = {.site = GS_SITE_HVO_RESTORE, .mode = GS_INJECT_EVERY};
	struct gs_hvo_stats s;

	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	ck_assert_int_eq(hugetlb_vmemmap_prealloc(f), 0);
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.reserved_pages, 4095);
	gs_inject_arm(&always);
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0); /* used the reservation */
	gs_inject_reset();
	/* The preallocated pages were moved in: all 4096 vmemmap pages resident, tails valid. */
	ck_assert_uint_eq(resident(f), 16 << 20);
	ck_assert(!folio_test_hugetlb_vmemmap_optimized(f));
	for (unsigned long k = 64; k < (1UL << 18); k += 4093)
		gs_assert(pfn_folio(folio_pfn(f) + k) == f, "tail %lu", k);
	{
		struct gs_site_stats st;

		gs_site_stats(GS_SITE_HVO_RESTORE, &st);
		ck_assert_uint_eq(st.live,
				  4095); /* the reservation's charge became the restore's */
	}
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.reserved_pages, 0);
	/* An unused reservation is given back. */
	ck_assert_int_eq(hugetlb_vmemmap_optimize_folio(f), 0);
	ck_assert_int_eq(hugetlb_vmemmap_prealloc(f), 0);
	hugetlb_vmemmap_prealloc_release(f);
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.reserved_pages, 0);
	/* A failed preallocation reserves nothing. */
	gs_inject_arm(&always);
	ck_assert_int_eq(hugetlb_vmemmap_prealloc(f), -ENOMEM);
	gs_inject_reset();
	gs_hvo_stats(&s);
	ck_assert_uint_eq(s.reserved_pages, 0);
	free_huge(f);
	gs_test_assert_no_leaks();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("hvo");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, hvo_arithmetic);
	tcase_add_test(tc, hvo_2m_frees_and_restores_real_memory);
	tcase_add_test(tc, hvo_1g_rss);
	tcase_add_test(tc, hvo_first_page_stays_writable);
	tcase_add_test(tc, hvo_memcheck_flags_direct_tail_reads);
	tcase_add_test(tc, hvo_disabled_and_refusals);
	tcase_add_test(tc, hvo_restore_every_failure);
	tcase_add_test(tc, hvo_restore_1g_failures);
	tcase_add_test(tc, hvo_restore_for_free);
	tcase_add_test(tc, hvo_direct_vs_two_step);
	tcase_add_test(tc, hvo_prepare_split_cancel_and_failure);
	tcase_add_test(tc, hvo_prealloc_makes_restore_infallible);
	tcase_add_test(tc, hvo_tail_write_detected);
	tcase_add_test(tc, hvo_asan_flags_direct_tail_reads);
	tcase_add_test(tc, hvo_host_mappings_bounded);
	tcase_add_test(tc, hvo_resident_tail_write_detected);
	tcase_add_test(tc, hvo_resident_mode_switches);
	tcase_add_test(tc, hvo_resident_checks_in_turn);
	tcase_add_test(tc, hvo_resident_every_word_checked);
	tcase_add_test(tc, hvo_resident_split_restore_not_zeroed);
	tcase_add_test(tc, hvo_restore_for_free_zeroed);
	tcase_add_test(tc, hvo_free_huge_zeroed_skips_zero_pages);
	suite_add_tcase(s, tc);
	return s;
}
