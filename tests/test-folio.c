// SPDX-License-Identifier: MIT
/*
 * Tests of simulated physical memory (lib/physmem.c), folios (lib/folio.c)
 * and the HugeTLB host backend (lib/hugetlb_host.c): pfns and backings,
 * page_folio() for every page, references, mappings, pins and the lock,
 * uniform split and merge for every order pair, non-uniform split, and the
 * reference-freeze protocol's refusals.
 */
#include <errno.h>
#include <string.h>
#include <valgrind/valgrind.h>
#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/physmem.h>
#include "harness.h"

static unsigned long released[GS_FOLIO_NR_KINDS];
static unsigned long released_pages;

static void count_release(struct folio *folio)
{
	released[folio_test_hugetlb(folio)	 ? GS_FOLIO_HUGETLB
		 : folio_test_needs_merge(folio) ? GS_FOLIO_NEEDS_MERGE
						 : GS_FOLIO_OTHER]++;
	released_pages += folio_nr_pages(folio);
}

static void setup(void)
{
	memset(released, 0, sizeof(released));
	released_pages = 0;
	for (int k = 0; k < GS_FOLIO_NR_KINDS; k++)
		gs_folio_set_free_hook(k, count_release);
	gs_warn_set_mode(GS_WARN_QUIET);
	gs_hvo_set_enabled(false);
}

static void teardown(void)
{
	for (int k = 0; k < GS_FOLIO_NR_KINDS; k++)
		gs_folio_set_free_hook(k, NULL);
	gs_warn_set_mode(GS_WARN_PRINT);
	gs_hvo_set_enabled(true);
	gs_inject_reset();
}

static unsigned long huge(unsigned int order, enum gs_backing want)
{
	unsigned long pfn = 0;
	enum gs_backing got;

	ck_assert_int_eq(gs_physmem_alloc_huge(order, want, GFP_KERNEL, &pfn, &got), 0);
	if (want != GS_BACKING_AUTO)
		ck_assert_int_eq(got, want);
	return pfn;
}

START_TEST(physmem_alloc_free)
{
	struct gs_physmem_stats st0, st;
	unsigned long pfn, pfn2, tmp;
	enum gs_backing got;
	char *data;

	gs_physmem_stats(&st0);
	ck_assert_int_eq(gs_physmem_alloc_huge(9, GS_BACKING_AUTO, GFP_KERNEL, &pfn, &got), 0);
	ck_assert(got == GS_BACKING_HUGETLB || got == GS_BACKING_ANON);
	ck_assert_uint_ge(pfn, GS_PFN_BASE);
	ck_assert(IS_ALIGNED(pfn, 512));
	ck_assert(pfn_valid(pfn) && pfn_valid(pfn + 511));
	ck_assert_int_eq(gs_pfn_backing(pfn + 100), got);
	/* Real memory: each pfn has its own 4 KiB of data. */
	data = gs_pfn_to_virt(pfn + 3);
	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_eq(data, (char *)gs_pfn_to_virt(pfn) + 3 * PAGE_SIZE);
	memset(data, 0x5a, PAGE_SIZE);
	ck_assert_uint_eq((unsigned char)((char *)gs_pfn_to_virt(pfn + 3))[4095], 0x5a);
	gs_physmem_stats(&st);
	ck_assert_uint_eq(st.pfns_in_use, st0.pfns_in_use + 512);
	ck_assert_uint_eq(st.data_bytes, st0.data_bytes + (2 << 20));
	gs_physmem_free_huge(pfn, 9);
	ck_assert(!pfn_valid(pfn));
	ck_assert_ptr_null(gs_pfn_to_virt(pfn));
	/* The range is reused. */
	pfn2 = huge(9, GS_BACKING_NONE);
	ck_assert_uint_eq(pfn2, pfn);
	ck_assert_ptr_null(gs_pfn_to_virt(pfn2)); /* metadata only */
	ck_assert_int_eq(gs_pfn_backing(pfn2), GS_BACKING_NONE);
	gs_physmem_free_huge(pfn2, 9);
	ck_assert_int_eq(gs_physmem_alloc_huge(8, GS_BACKING_NONE, GFP_KERNEL, &tmp, NULL),
			 -EINVAL);
	ck_assert_int_eq(gs_physmem_alloc_huge(19, GS_BACKING_NONE, GFP_KERNEL, &tmp, NULL),
			 -EINVAL);
	ck_assert_str_eq(gs_backing_name(GS_BACKING_ANON), "anon");
	gs_physmem_stats(&st);
	ck_assert_uint_eq(st.pfns_in_use, st0.pfns_in_use);
	gs_test_assert_no_leaks();
}
END_TEST

static long host_free_2m_pages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	long n = 0;

	if (!f || fscanf(f, "%ld", &n) != 1)
		n = 0;
	if (f)
		fclose(f);
	return n;
}

START_TEST(physmem_hugetlb_backing)
{
	long host_free = host_free_2m_pages();
	enum gs_backing got = GS_BACKING_AUTO;
	unsigned long pfn = 0;
	int ret = gs_physmem_alloc_huge(9, GS_BACKING_HUGETLB, GFP_KERNEL, &pfn, &got);

	if (host_free <= 0) {
		/* Asked for explicitly, MAP_HUGETLB memory the host does not have is an error. */
		printf("physmem_hugetlb_backing: the host has no free 2 MiB huge pages, "
		       "checking the refusal only\n");
		ck_assert_int_eq(ret, -ENOMEM);
		gs_test_assert_no_leaks();
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_int_eq(got, GS_BACKING_HUGETLB);
	/* A MAP_HUGETLB page is reserved at mmap and taken from the host's pool at first touch. */
	memset(gs_pfn_to_virt(pfn), 0x3c, 2 << 20);
	ck_assert_int_eq(host_free_2m_pages(), host_free - 1);
	ck_assert_uint_eq(((unsigned char *)gs_pfn_to_virt(pfn + 511))[4095], 0x3c);
	gs_physmem_free_huge(pfn, 9);
	ck_assert_int_eq(host_free_2m_pages(), host_free);
	gs_test_assert_no_leaks();
}
END_TEST

/* One backing for every page of every size, whatever the caller asks (--backing=none). */
START_TEST(physmem_backing_override)
{
	unsigned long small, big;
	enum gs_backing got;

	ck_assert_int_eq(gs_physmem_override_backing(GS_BACKING_NONE + 1), -EINVAL);
	ck_assert_int_eq(gs_physmem_override_backing(GS_BACKING_NONE), -1);
	ck_assert_int_eq(gs_physmem_alloc_huge(9, GS_BACKING_ANON, GFP_KERNEL, &small, &got), 0);
	ck_assert_int_eq(got, GS_BACKING_NONE);
	ck_assert_ptr_null(gs_pfn_to_virt(small));
	ck_assert_int_eq(gs_physmem_alloc_huge(18, GS_BACKING_AUTO, GFP_KERNEL, &big, &got), 0);
	ck_assert_int_eq(got, GS_BACKING_NONE);
	ck_assert_int_eq(gs_physmem_override_backing(-1), GS_BACKING_NONE);
	gs_physmem_free_huge(big, 18);
	gs_physmem_free_huge(small, 9);
	ck_assert_int_eq(gs_physmem_alloc_huge(9, GS_BACKING_ANON, GFP_KERNEL, &small, &got), 0);
	ck_assert_int_eq(got, GS_BACKING_ANON);
	gs_physmem_free_huge(small, 9);
	gs_test_assert_no_leaks();
}
END_TEST

/* A 1 GiB page is one entry of its own table: every pfn still finds its data. */
START_TEST(physmem_1g_data)
{
	unsigned long pfn = huge(18, GS_BACKING_ANON), last = pfn + (1UL << 18) - 1;
	char *base = gs_pfn_to_virt(pfn);

	ck_assert_ptr_nonnull(base);
	ck_assert(pfn_valid(pfn) && pfn_valid(last) && !pfn_valid(last + 1));
	ck_assert_int_eq(gs_pfn_backing(pfn + 4242), GS_BACKING_ANON);
	ck_assert_ptr_eq(gs_pfn_to_virt(pfn + 513), base + 513 * PAGE_SIZE);
	ck_assert_ptr_eq(gs_pfn_to_virt(last), base + (last - pfn) * PAGE_SIZE);
	*(char *)gs_pfn_to_virt(last) = 7;
	gs_physmem_free_huge(pfn, 18);
	ck_assert(!pfn_valid(pfn) && !pfn_valid(last));
	ck_assert_ptr_null(gs_pfn_to_virt(pfn + 513));
	/* The same pfns as 2 MiB pages: described by the chunk table again. */
	pfn = huge(9, GS_BACKING_NONE);
	ck_assert(pfn_valid(pfn) && !pfn_valid(pfn + 512));
	gs_physmem_free_huge(pfn, 9);
	gs_test_assert_no_leaks();
}
END_TEST

/* Lines of /proc/self/maps: the host mappings this process holds. */
static long host_mappings(void)
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

/* Anonymous data of any number of pages costs one host mapping, not one each (issue 10). */
START_TEST(physmem_anon_data_one_mapping)
{
	enum { NR = 1024 };
	static unsigned long pfn[NR];
	long before;

	if (RUNNING_ON_VALGRIND) {
		printf("skip physmem_anon_data_one_mapping: valgrind refuses the reservation\n");
		return;
	}
	pfn[0] = huge(9, GS_BACKING_ANON); /* reserves the data region once */
	before = host_mappings();
	for (int i = 1; i < NR; i++)
		pfn[i] = huge(9, GS_BACKING_ANON);
	ck_assert_int_lt(host_mappings() - before, 8);
	/* Neighbours' data follow each other in the one region. */
	ck_assert_ptr_eq(gs_pfn_to_virt(pfn[1]),
			 (char *)gs_pfn_to_virt(pfn[0]) + (pfn[1] - pfn[0]) * PAGE_SIZE);
	*(char *)gs_pfn_to_virt(pfn[NR - 1] + 7) = 1;
	for (int i = 0; i < NR; i++)
		gs_physmem_free_huge(pfn[i], 9);
	/* Given back, and zero for the next owner (the range freed last is reused first). */
	ck_assert_uint_eq(huge(9, GS_BACKING_ANON), pfn[NR - 1]);
	for (unsigned long p = 0; p < 512; p++)
		ck_assert_int_eq(*(char *)gs_pfn_to_virt(pfn[NR - 1] + p), 0);
	gs_physmem_free_huge(pfn[NR - 1], 9);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(physmem_alloc_injected)
{
	struct gs_inject_rule r = {.site = GS_SITE_PHYSMEM_HUGE, .mode = GS_INJECT_NTH, .nth = 1};
	struct gs_physmem_stats st0, st;
	unsigned long pfn = 0;

	gs_physmem_stats(&st0);
	gs_inject_arm(&r);
	ck_assert_int_eq(gs_physmem_alloc_huge(18, GS_BACKING_NONE, GFP_KERNEL, &pfn, NULL),
			 -ENOMEM);
	gs_physmem_stats(&st);
	ck_assert_uint_eq(st.pfns_in_use, st0.pfns_in_use);
	ck_assert_uint_eq(pfn, 0);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(page_folio_every_page)
{
	unsigned long pfn = huge(18, GS_BACKING_NONE);
	unsigned int orders[] = {0, 1, 2, 3, 9, 12, 18};

	for (size_t i = 0; i < ARRAY_SIZE(orders); i++) {
		unsigned int o = orders[i];
		unsigned long base =
			pfn + (o == 18 ? 0 : (1UL << 17)); /* aligned for every order */
		struct folio *f = gs_folio_init(base, o, 0, ~0UL);

		ck_assert_uint_eq(folio_order(f), o);
		ck_assert_uint_eq(folio_nr_pages(f), 1UL << o);
		ck_assert_uint_eq(folio_size(f), PAGE_SIZE << o);
		ck_assert_uint_eq(folio_pfn(f), base);
		ck_assert(folio_test_large(f) == (o > 0));
		for (unsigned long k = 0; k < (1UL << o); k++)
			gs_assert(page_folio(pfn_to_page(base + k)) == f, "order %u page %lu", o,
				  k);
		ck_assert_ptr_eq(pfn_folio(base + (1UL << o) - 1), f);
		ck_assert_int_eq(folio_mapcount(f), 0);
		ck_assert_int_eq(folio_ref_count(f), 0);
	}
	gs_physmem_free_huge(pfn, 18);
}
END_TEST

START_TEST(refs_maps_pins_lock)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *large = gs_folio_init(pfn, 9, 0, ~0UL);
	struct folio *small;
	unsigned long w = gs_warn_count();

	folio_set_count(large, 1);
	ck_assert(folio_try_get(large));
	ck_assert_int_eq(folio_ref_count(large), 2);
	ck_assert(!folio_ref_freeze(large, 1)); /* not the expected count: refused */
	ck_assert(folio_ref_freeze(large, 2));
	ck_assert(!folio_try_get(large)); /* frozen: lookups fail */
	folio_ref_unfreeze(large, 2);
	gs_folio_map(large);
	ck_assert_int_eq(folio_mapcount(large), 1);
	ck_assert_int_eq(folio_ref_count(large), 3);
	gs_folio_pin(large);
	ck_assert(folio_maybe_dma_pinned(large));
	ck_assert_int_eq(folio_ref_count(large), 4);
	gs_folio_unpin(large);
	gs_folio_unmap(large);
	ck_assert(!folio_maybe_dma_pinned(large));
	folio_put(large);
	ck_assert_uint_eq(released[GS_FOLIO_OTHER], 0);
	folio_put(large); /* the last reference hands it to its hook */
	ck_assert_uint_eq(released[GS_FOLIO_OTHER], 1);
	/* Small folios count pins as a reference bias, like the kernel. */
	small = gs_folio_init(pfn + 7, 0, 0, ~0UL);
	folio_set_count(small, 1);
	gs_folio_pin(small);
	ck_assert_int_eq(folio_ref_count(small), 1 + GUP_PIN_COUNTING_BIAS);
	ck_assert(folio_maybe_dma_pinned(small));
	gs_folio_unpin(small);
	ck_assert(!folio_maybe_dma_pinned(small));
	/* The lock. */
	folio_lock(small);
	ck_assert(!folio_trylock(small));
	folio_lock(small); /* would deadlock: WARN */
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	folio_unlock(small);
	ck_assert(folio_trylock(small));
	folio_unlock(small);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

/* Check that [pfn, pfn + 2^order) is made of folios of @new_order with the given references. */
static void check_pieces(unsigned long pfn, unsigned int order, unsigned int new_order,
			 void *mapping, pgoff_t index, unsigned long at, bool full)
{
	unsigned long step = 1UL << new_order;

	for (unsigned long p = pfn; p < pfn + (1UL << order); p += step) {
		struct folio *piece = pfn_folio(p);
		int refs = (mapping ? (int)step : 0) + (at >= p && at < p + step);

		gs_assert(folio_pfn(piece) == p, "piece at +%lu", p - pfn);
		gs_assert(folio_order(piece) == new_order, "piece at +%lu has order %u", p - pfn,
			  folio_order(piece));
		gs_assert(piece->mapping == mapping && piece->index == index + (p - pfn),
			  "piece at +%lu: mapping/index", p - pfn);
		gs_assert(!refs || folio_ref_count(piece) == refs,
			  "piece at +%lu: %d refs, want %d", p - pfn, folio_ref_count(piece), refs);
		if (full) /* every page, not just the heads */
			for (unsigned long k = 1; k < step; k++)
				gs_assert(pfn_folio(p + k) == piece, "page +%lu", p + k - pfn);
	}
}

START_TEST(split_merge_every_order_pair)
{
	unsigned int max_order = gs_test_scale(18) == 18 ? 18 : 12;
	unsigned long pfn = huge(18, GS_BACKING_NONE);
	void *mapping = (void *)0x1000;

	for (unsigned int order = 1; order <= max_order; order++) {
		for (unsigned int new_order = 0; new_order < order; new_order++) {
			unsigned long nr = 1UL << order, at = pfn + (nr * 3) / 4;
			struct folio *f = gs_folio_init(pfn, order, 1UL << PG_uptodate, ~0UL);
			int refs;

			f->mapping = mapping;
			f->index = 1000;
			folio_set_count(f, 1 + (int)nr); /* caller + page cache */
			ck_assert_int_eq(
				folio_split(f, new_order, pfn_to_page(at), GS_SPLIT_UNIFORM), 0);
			check_pieces(pfn, order, new_order, mapping, 1000, at, order <= 12);
			ck_assert(folio_test_uptodate(pfn_folio(at)));
			/* Move the caller's reference back to the first piece, then merge. */
			folio_put(pfn_folio(at));
			folio_get(pfn_folio(pfn));
			refs = folio_merge(pfn_folio(pfn), order, 1);
			ck_assert_int_eq(refs, 1 + (int)nr);
			f = pfn_folio(pfn + nr - 1);
			ck_assert_uint_eq(folio_pfn(f), pfn);
			ck_assert_uint_eq(folio_order(f), order);
			ck_assert_uint_eq(f->index, 1000);
			ck_assert(folio_test_uptodate(f));
		}
	}
	ck_assert_uint_eq(released_pages, 0); /* the page cache held every piece */
	gs_physmem_free_huge(pfn, 18);
}
END_TEST

START_TEST(split_without_mapping_frees_pieces)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 1UL << PG_hugetlb, ~0UL);

	folio_set_count(f, 1);
	ck_assert_int_eq(folio_split(f, 0, pfn_to_page(pfn + 5), GS_SPLIT_UNIFORM), 0);
	/* Only the caller's page keeps a reference; 511 pieces were released, marked needs-merge. */
	ck_assert_uint_eq(released[GS_FOLIO_NEEDS_MERGE], 511);
	ck_assert_int_eq(folio_ref_count(pfn_folio(pfn + 5)), 1);
	ck_assert(folio_test_needs_merge(pfn_folio(pfn + 5)));
	ck_assert(!folio_test_hugetlb(pfn_folio(pfn + 5)));
	/* All pieces free but one: merging with the caller's one reference works. */
	folio_put(pfn_folio(pfn + 5));
	ck_assert_uint_eq(released[GS_FOLIO_NEEDS_MERGE], 512);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 0);
	f = pfn_folio(pfn);
	ck_assert_uint_eq(folio_order(f), 9);
	ck_assert(folio_test_hugetlb(f)); /* a HugeTLB page again */
	ck_assert(!folio_test_needs_merge(f));
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

START_TEST(hugetlb_meta_survives_split)
{
	unsigned long pfn = huge(18, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 18, 1UL << PG_hugetlb, ~0UL);
	struct hugepage_subpool *spool = (void *)0x5000;
	struct hugetlb_cgroup *cg = (void *)0x6000, *rsvd = (void *)0x7000;
	const struct hugetlb_folio_meta *m;

	hugetlb_set_folio_subpool(f, spool);
	set_hugetlb_cgroup(f, cg);
	set_hugetlb_cgroup_rsvd(f, rsvd);
	folio_set_hugetlb_restore_reserve(f);
	f->mapping = (void *)0x8000;
	folio_set_count(f, 1 + (1 << 18));
	ck_assert_ptr_null(hugetlb_meta_lookup(pfn + 1000));
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	/* Page 3 is an ordinary page now; every pfn still finds its huge page's identity. */
	ck_assert_uint_eq(folio_order(pfn_folio(pfn + 3)), 0);
	ck_assert(!folio_test_hugetlb(pfn_folio(pfn)));
	ck_assert_uint_eq(hugetlb_meta_count(), 1);
	for (unsigned long k = 0; k < (1UL << 18); k += 977) {
		m = hugetlb_meta_lookup(pfn + k);
		gs_assert(m && m->pfn == pfn && m->order == 18 && m->subpool == spool, "pfn +%lu",
			  k);
	}
	ck_assert_ptr_eq(hugetlb_meta_lookup(pfn + 262143)->cgroup_rsvd, rsvd);
	ck_assert_ptr_null(hugetlb_meta_lookup(pfn + 262144));
	/* Merged: the folio is whole and HugeTLB again, with its fields back; the record is gone. */
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 18, 1), 1 + (1 << 18));
	f = pfn_folio(pfn);
	ck_assert(folio_test_hugetlb(f));
	ck_assert_ptr_eq(hugetlb_folio_subpool(f), spool);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(f), cg);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio_rsvd(f), rsvd);
	ck_assert(folio_test_hugetlb_restore_reserve(f));
	ck_assert_uint_eq(hugetlb_meta_count(), 0);
	ck_assert_ptr_null(hugetlb_meta_lookup(pfn));
	gs_physmem_free_huge(pfn, 18);
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * Memory failure records the raw page, not the folio: a poisoned 1 GiB page
 * split to 4 KiB pieces leaves one poisoned piece, not 262,144; the page
 * cache's references are shared out as __folio_split() does (one per order-0
 * piece, the caller's on the lock_at piece), and a merge poisons the whole
 * page again through that one record.
 */
START_TEST(split_keeps_poison_on_the_raw_page)
{
	unsigned long pfn = huge(18, GS_BACKING_NONE), nr = 1UL << 18, bad = 200000;
	struct folio *f = gs_folio_init(pfn, 18, 1UL << PG_hugetlb, ~0UL);
	unsigned long poisoned = 0;

	f->mapping = (void *)0x8000;
	folio_set_count(f, 1 + (int)nr); /* the caller's lookup + __filemap_add_folio()'s nr */
	ck_assert_int_eq(folio_set_hugetlb_hwpoison(f, pfn_to_page(pfn + bad)), 0);
	ck_assert_int_eq(folio_set_hugetlb_hwpoison(f, pfn_to_page(pfn + bad)), -EHWPOISON);
	ck_assert(folio_test_hwpoison(f));
	ck_assert(is_raw_hwpoison_page_in_hugepage(pfn_to_page(pfn + bad)));
	ck_assert(!is_raw_hwpoison_page_in_hugepage(pfn_to_page(pfn + bad + 1)));
	ck_assert_int_eq(folio_split(f, 0, pfn_to_page(pfn + 77), GS_SPLIT_UNIFORM), 0);
	for (unsigned long k = 0; k < nr; k++) {
		struct folio *piece = pfn_folio(pfn + k);

		poisoned += folio_test_hwpoison(piece);
		gs_assert(folio_ref_count(piece) == 1 + (k == 77), "piece +%lu: %d refs", k,
			  folio_ref_count(piece));
	}
	ck_assert_uint_eq(poisoned, 1);
	ck_assert(folio_test_hwpoison(pfn_folio(pfn + bad)));
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, nr), 1);
	/* Back together: the one bad page poisons the whole folio again. */
	folio_put(pfn_folio(pfn + 77));
	folio_get(pfn_folio(pfn));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 18, 1), 1 + (int)nr);
	f = pfn_folio(pfn);
	ck_assert(folio_test_hugetlb(f) && folio_test_hwpoison(f));
	ck_assert(is_raw_hwpoison_page_in_hugepage(pfn_to_page(pfn + bad)));
	ck_assert_uint_eq(gs_raw_hwpoison_clear(pfn, nr), 1);
	ck_assert_uint_eq(released_pages, 0);
	gs_physmem_free_huge(pfn, 18);
}
END_TEST

/*
 * gs_raw_hwpoison_count() walks the records of its range with one XArray
 * state: every range, aligned or not, across leaves and at its ends, counts
 * exactly the records inside it, none beside it. gs_raw_hwpoison_find()
 * gives the same count and the first records of the range in order (the
 * gmem checker's dirty window), gs_raw_hwpoison_any() whether there is one.
 */
START_TEST(raw_hwpoison_count_ranges)
{
	static const unsigned long bad[] = {0, 1, 63, 64, 65, 511, 512, 4095, 4096, 200000, 262143};
	unsigned long pfn = huge(18, GS_BACKING_NONE), nr = 1UL << 18;
	struct folio *f = gs_folio_init(pfn, 18, 1UL << PG_hugetlb, ~0UL);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_int_eq(folio_set_hugetlb_hwpoison(f, pfn_to_page(pfn + bad[i])),
				 i ? -EHWPOISON : 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		for (long d = -2; d <= 2; d++) {
			unsigned long lo = bad[i] + (unsigned long)d;

			for (unsigned long len = 1; len <= 70000; len = len * 3 + 1) {
				unsigned long want = 0, got[3], k = 0;

				if (lo >= nr || lo + len > nr)
					continue;
				for (size_t j = 0; j < ARRAY_SIZE(bad); j++)
					want += bad[j] >= lo && bad[j] < lo + len;
				gs_assert(gs_raw_hwpoison_count(pfn + lo, len) == want,
					  "[%lu, +%lu): %lu records, want %lu", lo, len,
					  gs_raw_hwpoison_count(pfn + lo, len), want);
				gs_assert(gs_raw_hwpoison_find(pfn + lo, len, got,
							       ARRAY_SIZE(got)) == want,
					  "[%lu, +%lu): find counts other than %lu", lo, len, want);
				gs_assert(gs_raw_hwpoison_any(pfn + lo, len) == (want > 0),
					  "[%lu, +%lu): any, want %lu", lo, len, want);
				for (size_t j = 0; j < ARRAY_SIZE(bad) && k < ARRAY_SIZE(got); j++)
					if (bad[j] >= lo && bad[j] < lo + len)
						gs_assert(got[k++] == pfn + bad[j],
							  "[%lu, +%lu): record %lu is %#lx", lo,
							  len, k - 1, got[k - 1]);
			}
		}
	}
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, nr), ARRAY_SIZE(bad));
	ck_assert_uint_eq(gs_raw_hwpoison_find(pfn, nr, NULL, 0), ARRAY_SIZE(bad));
	ck_assert(!gs_raw_hwpoison_any(pfn + 1, 0));
	ck_assert_uint_eq(gs_raw_hwpoison_clear(pfn, nr), ARRAY_SIZE(bad));
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, nr), 0);
	ck_assert(!gs_raw_hwpoison_any(pfn, nr));
	gs_physmem_free_huge(pfn, 18);
}
END_TEST

/*
 * A caller relying on the page cache's references alone freezes at
 * folio_nr_pages() (restructuring's freeze); one holding two gets both on its
 * piece. Any other count is someone else's reference: EAGAIN, nothing changed.
 */
START_TEST(split_refs_follow_the_caller)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 1UL << PG_uptodate, ~0UL);

	f->mapping = (void *)0x1000;
	folio_set_count(f, 512);
	ck_assert_int_eq(folio_split_refs(f, 0, NULL, GS_SPLIT_UNIFORM, 1), -EAGAIN);
	ck_assert_int_eq(folio_ref_count(f), 512);
	ck_assert_int_eq(folio_split_refs(f, 0, NULL, GS_SPLIT_UNIFORM, -1), -EINVAL);
	ck_assert_int_eq(folio_split_refs(f, 0, pfn_to_page(pfn + 3), GS_SPLIT_UNIFORM, 0), 0);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(folio_ref_count(pfn_folio(pfn + k)) == 1, "piece +%lu", k);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 512);
	f = pfn_folio(pfn);
	folio_ref_add(f, 2);
	ck_assert_int_eq(folio_split_refs(f, 4, pfn_to_page(pfn + 100), GS_SPLIT_UNIFORM, 2), 0);
	ck_assert_int_eq(folio_ref_count(pfn_folio(pfn + 96)), 16 + 2);
	folio_put(pfn_folio(pfn + 96));
	check_pieces(pfn, 9, 4, (void *)0x1000, 0, pfn + 100, true);
	folio_put(pfn_folio(pfn + 96));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 512);
	/* No page cache and no caller: nobody holds the folio, no split. */
	f = pfn_folio(pfn);
	f->mapping = NULL;
	folio_set_count(f, 0);
	ck_assert_int_eq(folio_split_refs(f, 0, NULL, GS_SPLIT_UNIFORM, 0), -EINVAL);
	ck_assert_uint_eq(released_pages, 0);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

/* Every word of the order-0 piece at @pfn + @k as a split to pages writes it. */
static void assert_page_written(unsigned long pfn, unsigned long k, unsigned long flags,
				pgoff_t index, int refs)
{
	struct page *page = pfn_to_page(pfn + k);

	gs_assert(page->flags == flags && page->lru.next == &page->lru &&
			  page->lru.prev == &page->lru && page->mapping == (void *)0x1000 &&
			  page->index == index + k && page->private == 0 &&
			  atomic_read(&page->_mapcount) == -1 &&
			  atomic_read(&page->_refcount) == refs && page->memcg_data == 0,
		  "piece +%lu", k);
}

/*
 * A split to order-0 pages writes every word of every struct page (whatever
 * the tails held before: here a memcg word and a private word in each),
 * with its references (the page cache's) or frozen, each page's lru linked
 * to itself and its own index.
 */
START_TEST(split_to_pages_writes_every_word)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 1UL << PG_uptodate, ~0UL);

	f->mapping = (void *)0x1000;
	f->index = 0x400;
	for (unsigned long k = 4; k < 512; k++) {
		pfn_to_page(pfn + k)->memcg_data = 0xdead0000 + k;
		pfn_to_page(pfn + k)->private = k;
	}
	folio_set_count(f, 512);
	ck_assert_int_eq(folio_split_refs(f, 0, NULL, GS_SPLIT_UNIFORM, 0), 0);
	for (unsigned long k = 0; k < 512; k++)
		assert_page_written(pfn, k, 1UL << PG_uptodate, 0x400, 1);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 512);
	f = pfn_folio(pfn);
	for (unsigned long k = 4; k < 512; k++)
		pfn_to_page(pfn + k)->memcg_data = 0xbeef0000 + k;
	ck_assert(folio_ref_freeze(f, 512));
	gs_split_folio_to_pages(f, 0);
	for (unsigned long k = 0; k < 512; k++)
		assert_page_written(pfn, k, 1UL << PG_uptodate, 0x400, 0);
	for (unsigned long k = 0; k < 512; k++)
		folio_set_count(pfn_folio(pfn + k), 1);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 512);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

/* A record that could not be allocated: no one knows which page is bad, so all are. */
START_TEST(split_poison_unreliable_record)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 1UL << PG_hugetlb, ~0UL);

	struct gs_inject_rule r = {
		.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_NTH, .nth = 1, .persistent = true};

	f->mapping = (void *)0x8000;
	folio_set_count(f, 1 + 512);
	/* An empty record stores a pfn other than 0 in a node: every attempt fails. */
	gs_inject_arm(&r);
	ck_assert_int_eq(folio_set_hugetlb_hwpoison(f, pfn_to_page(pfn + 3)), 0);
	gs_inject_reset();
	ck_assert(folio_test_hugetlb_raw_hwp_unreliable(f));
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, 512), 0);
	ck_assert(is_raw_hwpoison_page_in_hugepage(pfn_to_page(pfn + 400)));
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(folio_test_hwpoison(pfn_folio(pfn + k)), "piece +%lu", k);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	f = pfn_folio(pfn);
	ck_assert(folio_test_hwpoison(f) && folio_test_hugetlb_raw_hwp_unreliable(f));
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

struct split_ctx {
	unsigned long pfn;
	struct folio *folio;
};

/* What a split may allocate is all given back (the huge page itself stays). */
static void assert_split_allocations_freed(unsigned long n)
{
	struct gs_site_stats meta, node;

	gs_site_stats(GS_SITE_HUGETLB_META, &meta);
	gs_site_stats(GS_SITE_XARRAY_NODE, &node);
	gs_assert(meta.live == 0 && node.live == 0, "n=%lu: %llu records, %llu nodes", n,
		  (unsigned long long)meta.live, (unsigned long long)node.live);
}

static void split_prepare(void *arg)
{
	struct split_ctx *c = arg;

	c->folio = gs_folio_init(c->pfn, 9, 1UL << PG_hugetlb, ~0UL);
	hugetlb_set_folio_subpool(c->folio, (void *)0x5000);
	folio_set_count(c->folio, 1);
}

static int split_op(void *arg)
{
	return folio_split(((struct split_ctx *)arg)->folio, 0, NULL, GS_SPLIT_UNIFORM);
}

static void split_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct split_ctx *c = arg;

	if (ret) {
		/* Refused before the point of no return: one whole HugeTLB folio, as before. */
		gs_assert(ret == -ENOMEM && injected, "n=%lu ret=%d", n, ret);
		gs_assert(pfn_folio(c->pfn + 100) == c->folio && folio_order(c->folio) == 9,
			  "n=%lu", n);
		gs_assert(folio_ref_count(c->folio) == 1 && folio_test_hugetlb(c->folio), "n=%lu",
			  n);
		gs_assert(hugetlb_meta_count() == 0, "n=%lu", n);
		assert_split_allocations_freed(n);
		return;
	}
	gs_assert(folio_order(pfn_folio(c->pfn + 100)) == 0, "n=%lu", n);
	hugetlb_meta_forget(c->pfn);
	assert_split_allocations_freed(n);
}

START_TEST(hugetlb_split_every_failure)
{
	struct split_ctx c = {.pfn = huge(9, GS_BACKING_NONE)};
	struct gs_fail_nth_ops ops = {split_prepare, split_op, split_check};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	unsigned long runs;

	for (int persistent = 0; persistent <= 1; persistent++) {
		cfg.persistent = persistent;
		ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &runs), 0);
		/* hugetlb.meta, the XArray's nodes, then a clean run */
		ck_assert_uint_ge(runs, 3);
	}
	gs_physmem_free_huge(c.pfn, 9);
	gs_test_assert_no_leaks();
}
END_TEST

START_TEST(split_non_uniform)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 0, ~0UL);
	/* The kernel's example: split at the 3rd order-3 block. */
	static const unsigned long want_off[] = {0, 16, 24, 32, 64, 128, 256};
	static const unsigned int want_order[] = {4, 3, 3, 5, 6, 7, 8};

	f->mapping = (void *)0x2000;
	folio_set_count(f, 1 + 512);
	ck_assert_int_eq(folio_split(f, 3, pfn_to_page(pfn + 16), GS_SPLIT_NON_UNIFORM), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want_off); i++) {
		struct folio *piece = pfn_folio(pfn + want_off[i]);

		ck_assert_uint_eq(folio_pfn(piece), pfn + want_off[i]);
		ck_assert_uint_eq(folio_order(piece), want_order[i]);
		ck_assert_int_eq(folio_ref_count(piece),
				 (1 << want_order[i]) + (want_off[i] == 16));
		ck_assert_uint_eq(piece->index, want_off[i]);
	}
	/* Merge takes mixed piece sizes. */
	folio_put(pfn_folio(pfn + 16));
	folio_get(pfn_folio(pfn));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	ck_assert_uint_eq(folio_order(pfn_folio(pfn + 300)), 9);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

START_TEST(split_refusals_change_nothing)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 0, ~0UL);

	folio_set_count(f, 1);
	ck_assert_int_eq(folio_split(f, 9, NULL, GS_SPLIT_UNIFORM), -EINVAL);
	ck_assert_int_eq(folio_split(f, 0, pfn_to_page(pfn + 512), GS_SPLIT_UNIFORM), -EINVAL);
	gs_folio_map(f);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), -EBUSY);
	gs_folio_unmap(f);
	gs_folio_pin(f); /* a long-term pin: an unexpected reference */
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), -EAGAIN);
	ck_assert_uint_eq(folio_order(f), 9);
	ck_assert_int_eq(folio_ref_count(f), 2);
	ck_assert_ptr_eq(pfn_folio(pfn + 200), f);
	gs_folio_unpin(f);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

START_TEST(merge_refusals_change_nothing)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 0, ~0UL);

	f->mapping = (void *)0x3000;
	folio_set_count(f, 513);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn + 1), 9, 0), -EINVAL); /* not aligned */
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 0, 0), -EINVAL);
	/* A piece in the middle holds an extra reference: refused, every count restored. */
	folio_get(pfn_folio(pfn + 300));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EAGAIN);
	for (unsigned long p = pfn; p < pfn + 512; p++)
		gs_assert(folio_ref_count(pfn_folio(p)) == 1 + (p == pfn || p == pfn + 300), "+%lu",
			  p - pfn);
	folio_put(pfn_folio(pfn + 300));
	gs_folio_map(pfn_folio(pfn + 7));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EBUSY);
	gs_folio_unmap(pfn_folio(pfn + 7));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

/*
 * The first piece is checked before the walk (it carries the caller's
 * references) and the last at the walk's end: a refusal at either changes
 * nothing, and the caller's references count on the first piece only.
 */
START_TEST(merge_refusals_at_first_and_last_piece)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 0, ~0UL);
	static const unsigned long at[] = {0, 511};

	f->mapping = (void *)0x3000;
	folio_set_count(f, 513);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(at); i++) {
		struct folio *piece = pfn_folio(pfn + at[i]);

		folio_get(piece);
		ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EAGAIN);
		for (unsigned long p = pfn; p < pfn + 512; p++)
			gs_assert(folio_ref_count(pfn_folio(p)) ==
					  1 + (p == pfn) + (p == pfn + at[i]),
				  "+%lu", p - pfn);
		folio_put(piece);
		gs_folio_map(piece);
		ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EBUSY);
		gs_folio_unmap(piece);
		for (unsigned long p = pfn; p < pfn + 512; p++)
			gs_assert(folio_ref_count(pfn_folio(p)) == 1 + (p == pfn), "+%lu", p - pfn);
	}
	/* The caller's references count on the first piece only, not on the last. */
	folio_put(pfn_folio(pfn));
	folio_get(pfn_folio(pfn + 511));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), -EAGAIN);
	ck_assert_int_eq(folio_ref_count(pfn_folio(pfn)), 1);
	ck_assert_int_eq(folio_ref_count(pfn_folio(pfn + 511)), 2);
	folio_put(pfn_folio(pfn + 511));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 512);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

/* The counts of the pieces of the split page at @pfn: 1 each, the first 1 + @first_extra. */
static void assert_piece_counts(unsigned long pfn, int first_extra, unsigned long odd, int odd_refs)
{
	for (unsigned long p = pfn; p < pfn + 512; p++)
		gs_assert(folio_ref_count(pfn_folio(p)) ==
				  (p == pfn + odd ? odd_refs : 1) + (p == pfn ? first_extra : 0),
			  "+%lu", p - pfn);
}

/*
 * The pieces after the first are frozen four at a time: a piece that fails
 * at any position of a group (first, middle, last; the first groups, one in
 * the middle, the last, and the three single pieces after it) refuses the
 * merge with its own errno, every count restored; with the next piece of
 * the same group failing otherwise, the first failing piece answers. A
 * piece whose mapping differs from the first's is judged by its own (a
 * piece of no page cache is frozen at 0) and does not refuse.
 */
START_TEST(merge_refusals_at_each_position_of_a_group)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 1UL << PG_uptodate, ~0UL);
	static const unsigned long at[] = {1,	2,   3,	  4,   5,   6,	 7,   8,   9,	255,
					   256, 257, 258, 505, 506, 507, 508, 509, 510, 511};
	unsigned long w = gs_warn_count();

	f->mapping = (void *)0x3000;
	folio_set_count(f, 513);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(at); i++) {
		struct folio *piece = pfn_folio(pfn + at[i]);
		struct folio *next = at[i] < 511 ? pfn_folio(pfn + at[i] + 1) : NULL;
		unsigned long info = piece->page.compound_info;

		folio_get(piece);
		ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EAGAIN);
		assert_piece_counts(pfn, 1, at[i], 2);
		if (next) {
			gs_folio_map(next);
			ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EAGAIN);
			gs_folio_unmap(next);
		}
		folio_put(piece);
		gs_folio_map(piece);
		ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EBUSY);
		if (next) {
			folio_get(next);
			ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EBUSY);
			folio_put(next);
		}
		gs_folio_unmap(piece);
		assert_piece_counts(pfn, 1, at[i], 1);
		/* A tail's word: not a head of its own. */
		piece->page.compound_info = GS_PAGE_TAIL | (9UL << 1);
		ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EINVAL);
		piece->page.compound_info = info;
		/* Optimized: refused with a WARN (once per site). */
		folio_set_hugetlb_vmemmap_optimized(piece);
		ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), -EINVAL);
		folio_clear_hugetlb_vmemmap_optimized(piece);
		assert_piece_counts(pfn, 1, at[i], 1);
	}
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	/* In no page cache, frozen at 0: merged, the count from the first piece's mapping. */
	pfn_folio(pfn + 6)->mapping = NULL;
	folio_set_count(pfn_folio(pfn + 6), 0);
	folio_clear_uptodate(pfn_folio(pfn + 6));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	f = pfn_folio(pfn);
	ck_assert(!folio_test_uptodate(f));
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

/*
 * The merged folio's state comes from every piece, not from the first or
 * the last: up to date only if all are, poisoned or with a lost poison
 * record if any is. One piece in the middle differs each time.
 */
START_TEST(merge_gathers_every_piece_state)
{
	unsigned long pfn = huge(9, GS_BACKING_NONE);
	struct folio *f = gs_folio_init(pfn, 9, 1UL << PG_uptodate, ~0UL);

	f->mapping = (void *)0x5000;
	folio_set_count(f, 513);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	f = pfn_folio(pfn);
	ck_assert(folio_test_uptodate(f) && !folio_test_hwpoison(f));
	ck_assert(!folio_test_hugetlb_raw_hwp_unreliable(f) && !folio_test_hugetlb(f));

	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	folio_clear_uptodate(pfn_folio(pfn + 200));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	f = pfn_folio(pfn);
	ck_assert(!folio_test_uptodate(f) && !folio_test_hwpoison(f));
	folio_set_uptodate(f);

	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	folio_set_hwpoison(pfn_folio(pfn + 511));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	f = pfn_folio(pfn);
	ck_assert(folio_test_uptodate(f) && folio_test_hwpoison(f));
	ck_assert(!folio_test_hugetlb_raw_hwp_unreliable(f));
	folio_clear_hwpoison(f);

	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	folio_set_hugetlb_raw_hwp_unreliable(pfn_folio(pfn + 300));
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 513);
	f = pfn_folio(pfn);
	ck_assert(folio_test_uptodate(f) && !folio_test_hwpoison(f));
	ck_assert(folio_test_hugetlb_raw_hwp_unreliable(f));
	folio_clear_hugetlb_raw_hwp_unreliable(f);
	ck_assert_uint_eq(released_pages, 0);
	gs_physmem_free_huge(pfn, 9);
}
END_TEST

START_TEST(host_backend_alloc_free)
{
	struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	struct gs_hugetlb_backend be = gs_hugetlb_host_backend(&host);
	struct folio *f2, *f1g;

	for (int hvo = 0; hvo <= 1; hvo++) {
		gs_hvo_set_enabled(hvo);
		f2 = be.alloc_fresh(be.ctx, 9, GFP_KERNEL);
		f1g = be.alloc_fresh(be.ctx, 18, GFP_KERNEL);
		ck_assert_ptr_nonnull(f2);
		ck_assert_ptr_nonnull(f1g);
		ck_assert(folio_test_hugetlb(f2) && folio_test_hugetlb(f1g));
		ck_assert_uint_eq(folio_order(f1g), 18);
		ck_assert(folio_test_hugetlb_vmemmap_optimized(f1g) == hvo);
		ck_assert_int_eq(folio_ref_count(f1g), 0);
		ck_assert_ptr_eq(pfn_folio(folio_pfn(f1g) + 123456), f1g);
		ck_assert_ptr_eq(pfn_folio(folio_pfn(f2) + 511), f2);
		ck_assert_uint_eq(host.pages[18], 1);
		ck_assert_int_eq(be.free_fresh(be.ctx, f2), 0);
		ck_assert_int_eq(be.free_fresh(be.ctx, f1g), 0);
		ck_assert_uint_eq(host.pages[9] + host.pages[18], 0);
	}
	gs_test_assert_no_leaks();
}
END_TEST

struct backend_ctx {
	struct gs_hugetlb_host host;
	struct gs_hugetlb_backend be;
	struct folio *folio;
};

static int backend_op(void *arg)
{
	struct backend_ctx *c = arg;

	c->folio = c->be.alloc_fresh(c->be.ctx, 18, GFP_KERNEL);
	return c->folio ? 0 : -ENOMEM;
}

static void backend_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct backend_ctx *c = arg;

	(void)n;
	if (ret) {
		ck_assert(injected);
		ck_assert_uint_eq(c->host.pages[18], 0);
		gs_test_assert_no_leaks();
		return;
	}
	/* An injected failure of the optimization leaves a whole, unoptimized page. */
	ck_assert(folio_test_hugetlb_vmemmap_optimized(c->folio) == !injected);
	ck_assert_ptr_eq(pfn_folio(folio_pfn(c->folio) + 262143), c->folio);
	ck_assert_int_eq(c->be.free_fresh(c->be.ctx, c->folio), 0);
	gs_test_assert_no_leaks();
}

START_TEST(host_backend_every_failure)
{
	struct backend_ctx c = {.host = {.backing = GS_BACKING_NONE}};
	struct gs_fail_nth_ops ops = {NULL, backend_op, backend_check};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	unsigned long runs;

	gs_hvo_set_enabled(true);
	c.be = gs_hugetlb_host_backend(&c.host);
	for (int persistent = 0; persistent <= 1; persistent++) {
		cfg.persistent = persistent;
		ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &runs), 0);
		ck_assert_uint_eq(runs, 3); /* physmem.huge, hvo.optimize, then a clean run */
	}
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("folio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, physmem_alloc_free);
	tcase_add_test(tc, physmem_alloc_injected);
	tcase_add_test(tc, physmem_backing_override);
	tcase_add_test(tc, physmem_1g_data);
	tcase_add_test(tc, physmem_anon_data_one_mapping);
	tcase_add_test(tc, physmem_hugetlb_backing);
	tcase_add_test(tc, page_folio_every_page);
	tcase_add_test(tc, refs_maps_pins_lock);
	tcase_add_test(tc, split_merge_every_order_pair);
	tcase_add_test(tc, split_without_mapping_frees_pieces);
	tcase_add_test(tc, hugetlb_meta_survives_split);
	tcase_add_test(tc, split_keeps_poison_on_the_raw_page);
	tcase_add_test(tc, raw_hwpoison_count_ranges);
	tcase_add_test(tc, split_poison_unreliable_record);
	tcase_add_test(tc, split_refs_follow_the_caller);
	tcase_add_test(tc, split_to_pages_writes_every_word);
	tcase_add_test(tc, hugetlb_split_every_failure);
	tcase_add_test(tc, split_non_uniform);
	tcase_add_test(tc, split_refusals_change_nothing);
	tcase_add_test(tc, merge_refusals_change_nothing);
	tcase_add_test(tc, merge_refusals_at_first_and_last_piece);
	tcase_add_test(tc, merge_refusals_at_each_position_of_a_group);
	tcase_add_test(tc, merge_gathers_every_piece_state);
	tcase_add_test(tc, host_backend_alloc_free);
	tcase_add_test(tc, host_backend_every_failure);
	suite_add_tcase(s, tc);
	return s;
}
