// SPDX-License-Identifier: MIT
/*
 * Tests of HugeTLB accounting (lib/hugetlb.c, lib/hugetlb_cgroup.c): pool
 * resizing, hugetlb_acct_memory() with surplus gathering, the subpool
 * arithmetic with the kernel's return values, allocation and free with
 * reservations, hugetlb cgroup charges, limits and offline (split pages
 * included), the guest_memfd lifecycle, the same-index allocation race
 * under guest_memfd and hugetlbfs rules, the invariant checker, and every
 * allocation failed. Pages come from a fake host backend of folio structs.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_cgroup.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/physmem.h>
#include <gmemsim/rng.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/hugetlb_int.h>
#include <gmemsim/internal/page_alloc.h>
#include "harness.h"

#define H2M	  (&hstates[0])
#define H1G	  (&hstates[1])
#define NR_2M	  512UL
#define UNLIMITED ((unsigned long)-1)

/* --- the fake host: huge pages that are folio structs only --- */

struct fake_host {
	unsigned long limit[HUGE_MAX_HSTATE]; /* pages it can hand out at once */
	unsigned long live[HUGE_MAX_HSTATE];
	int free_failures; /* free_fresh calls left to fail with -ENOMEM */
};

static struct fake_host host;
static int host_site;

static int order_idx(unsigned int order)
{
	return order == HPAGE_PMD_ORDER ? 0 : 1;
}

static struct folio *fake_alloc_fresh(void *ctx, unsigned int order, gfp_t gfp)
{
	struct fake_host *fh = ctx;
	int idx = order_idx(order);
	struct folio *folio;

	if (fh->live[idx] >= fh->limit[idx])
		return NULL;
	folio = gs_alloc((unsigned int)host_site, sizeof(*folio), gfp | __GFP_ZERO);
	if (!folio)
		return NULL;
	folio_set_head(folio);
	folio_set_hugetlb(folio);
	folio->_folio_order = order;
	folio->_folio_nr_pages = 1U << order;
	fh->live[idx]++;
	return folio;
}

static int fake_free_fresh(void *ctx, struct folio *folio)
{
	struct fake_host *fh = ctx;

	if (fh->free_failures) {
		fh->free_failures--;
		return -ENOMEM;
	}
	fh->live[order_idx(folio_order(folio))]--;
	gs_free((unsigned int)host_site, folio, sizeof(*folio));
	return 0;
}

static const struct gs_hugetlb_backend fake_backend = {
	.alloc_fresh = fake_alloc_fresh,
	.free_fresh = fake_free_fresh,
	.ctx = &host,
};

/* --- the fake folio layer's record of split huge pages --- */

#define MAX_SPLIT 16
static struct hugetlb_folio_meta split_meta[MAX_SPLIT];
static bool split_used[MAX_SPLIT];

static void fake_for_each_split(void *ctx, struct hstate *h, hugetlb_meta_fn fn, void *arg)
{
	(void)ctx;
	for (int i = 0; i < MAX_SPLIT; i++)
		if (split_used[i] && split_meta[i].order == huge_page_order(h))
			fn(&split_meta[i], arg);
}

static const struct hugetlb_split_ops fake_split_ops = {.for_each = fake_for_each_split};

/* What the folio layer does around a split: save the record, detach the page. */
static void fake_split(struct folio *folio, int slot)
{
	split_meta[slot] = (struct hugetlb_folio_meta){
		.order = folio_order(folio),
		.subpool = hugetlb_folio_subpool(folio),
		.cgroup = hugetlb_cgroup_from_folio(folio),
		.cgroup_rsvd = hugetlb_cgroup_from_folio_rsvd(folio),
		.hpage_flags = (unsigned long)folio->private,
	};
	split_used[slot] = true;
	hugetlb_folio_split_detach(folio);
}

/* ... and after the merge: restore the folio's fields, reattach it. */
static void fake_merge(struct folio *folio, int slot)
{
	const struct hugetlb_folio_meta *m = &split_meta[slot];

	split_used[slot] = false;
	hugetlb_set_folio_subpool(folio, m->subpool);
	set_hugetlb_cgroup(folio, m->cgroup);
	set_hugetlb_cgroup_rsvd(folio, m->cgroup_rsvd);
	folio->private = (void *)m->hpage_flags;
	hugetlb_folio_merge_attach(folio);
}

/* --- fixture and helpers --- */

static void reset_pools(void)
{
	struct hstate *h;

	for_each_hstate (h) {
		hugetlb_set_overcommit(h, 0);
		set_max_huge_pages(h, 0);
	}
}

static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	host_site = gs_site_lookup("test.hugetlb_page");
	if (host_site < 0)
		host_site = gs_site_register("test.hugetlb_page", "a huge page of the fake host");
	host = (struct fake_host){.limit = {UNLIMITED, UNLIMITED}};
	ck_assert_int_eq(hugetlb_set_backend(&fake_backend), 0);
	hugetlb_set_split_ops(&fake_split_ops);
	memset(split_used, 0, sizeof(split_used));
	hugetlb_cgroup_attach(hugetlb_cgroup_root());
}

/* The same tests over simulated physical memory (metadata only, HVO as configured). */
static struct gs_hugetlb_host real_mem = {.backing = GS_BACKING_NONE};
static struct gs_hugetlb_backend real_backend;

static void setup_real(void)
{
	setup();
	real_backend = gs_hugetlb_host_backend(&real_mem);
	ck_assert_int_eq(hugetlb_set_backend(&real_backend), 0);
}

static void teardown(void)
{
	gs_inject_reset();
	reset_pools();
	hugetlb_set_split_ops(NULL);
}

/* Every invariant holds and nothing is left: the end of every test. */
static void assert_clean(void)
{
	struct hstate *h;

	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	reset_pools();
	for_each_hstate (h) {
		ck_assert_uint_eq(h->nr_huge_pages, 0);
		ck_assert_uint_eq(h->resv_huge_pages, 0);
		ck_assert_uint_eq(
			hugetlb_cgroup_usage(hugetlb_cgroup_root(), hstate_index(h), false), 0);
		ck_assert_uint_eq(
			hugetlb_cgroup_usage(hugetlb_cgroup_root(), hstate_index(h), true), 0);
	}
	gs_test_assert_no_leaks();
}

#define ck_pool(h, nr, free, resv, surplus)                            \
	do {                                                           \
		ck_assert_uint_eq((h)->nr_huge_pages, (nr));           \
		ck_assert_uint_eq((h)->free_huge_pages, (free));       \
		ck_assert_uint_eq((h)->resv_huge_pages, (resv));       \
		ck_assert_uint_eq((h)->surplus_huge_pages, (surplus)); \
	} while (0)

#define ck_spool(s, used, rsv)                              \
	do {                                                \
		ck_assert_int_eq((s)->used_hpages, (used)); \
		ck_assert_int_eq((s)->rsv_hpages, (rsv));   \
	} while (0)

static unsigned long hpages(unsigned long n)
{
	return n * NR_2M;
}

/* Usage and rsvd of @cg on the 2M hstate, in huge pages. */
#define ck_cg(cg, usage, rsvd)                                                          \
	do {                                                                            \
		ck_assert_uint_eq(hugetlb_cgroup_usage((cg), 0, false), hpages(usage)); \
		ck_assert_uint_eq(hugetlb_cgroup_usage((cg), 0, true), hpages(rsvd));   \
	} while (0)

static struct folio *alloc_page(struct hstate *h, bool rsvd, bool reserved)
{
	struct folio *folio = hugetlb_alloc_folio(h, NULL, 0, rsvd, reserved);

	ck_assert_msg(!IS_ERR(folio), "hugetlb_alloc_folio: %ld", PTR_ERR(folio));
	return folio;
}

static struct folio *file_page(struct hugepage_subpool *spool, pgoff_t index)
{
	struct folio *folio = hugetlb_file_alloc_folio(spool, NULL, index);

	ck_assert_msg(!IS_ERR(folio), "hugetlb_file_alloc_folio: %ld", PTR_ERR(folio));
	return folio;
}

/* --- pools --- */

START_TEST(test_pool_resize)
{
	struct folio *folio;

	ck_assert_ptr_eq(size_to_hstate(2UL << 20), H2M);
	ck_assert_ptr_eq(size_to_hstate(1UL << 30), H1G);
	ck_assert_ptr_null(size_to_hstate(4096));
	ck_assert(!hstate_is_gigantic(H2M) && hstate_is_gigantic(H1G));

	ck_assert_int_eq(set_max_huge_pages(H2M, 4), 0);
	ck_pool(H2M, 4, 4, 0, 0);
	ck_assert_uint_eq(H2M->max_huge_pages, 4);
	ck_assert_int_eq(hugetlb_set_backend(NULL), -EBUSY);

	/* The host runs out at 6: a partial resize, as a sysfs write. */
	host.limit[0] = 6;
	ck_assert_int_eq(set_max_huge_pages(H2M, 8), 0);
	ck_pool(H2M, 6, 6, 0, 0);
	ck_assert_uint_eq(H2M->max_huge_pages, 6);
	host.limit[0] = UNLIMITED;

	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	ck_pool(H2M, 2, 2, 0, 0);
	ck_assert_uint_eq(host.live[0], 2);

	/* Reserved pages stay when shrinking; they turn surplus and go with the reservation. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 2, true), 0);
	set_max_huge_pages(H2M, 0);
	ck_pool(H2M, 2, 2, 2, 2);
	ck_assert_uint_eq(H2M->max_huge_pages, 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -2, true), 0);
	ck_pool(H2M, 0, 0, 0, 0);
	ck_assert_uint_eq(host.live[0], 0);

	/* A page in use is surplus after a shrink and leaves the pool when freed. */
	set_max_huge_pages(H2M, 2);
	folio = alloc_page(H2M, false, false);
	set_max_huge_pages(H2M, 0);
	ck_pool(H2M, 1, 0, 0, 1);
	folio_put(folio);
	ck_pool(H2M, 0, 0, 0, 0);

	/* Growing first makes surplus pages persistent. */
	hugetlb_set_overcommit(H2M, 1);
	folio = alloc_page(H2M, false, false);
	ck_pool(H2M, 1, 0, 0, 1);
	set_max_huge_pages(H2M, 1);
	ck_pool(H2M, 1, 0, 0, 0);
	folio_put(folio);
	ck_pool(H2M, 1, 1, 0, 0);

	/* Gigantic pages resize the same way. */
	set_max_huge_pages(H1G, 2);
	ck_pool(H1G, 2, 2, 0, 0);
	ck_assert_uint_eq(host.live[1], 2);
	assert_clean();
}
END_TEST

START_TEST(test_pool_free_fresh_fails)
{
	set_max_huge_pages(H2M, 2);
	/* The host cannot take a page back (HVO restore): it stays as a free surplus page. */
	host.free_failures = 1;
	set_max_huge_pages(H2M, 0);
	ck_pool(H2M, 1, 1, 0, 1);
	ck_assert_uint_eq(host.live[0], 1);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	/* A reservation released later takes unused surplus pages with it. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 1, true), 0);
	ck_pool(H2M, 1, 1, 1, 1);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -1, true), 0);
	ck_pool(H2M, 0, 0, 0, 0);
	assert_clean();
}
END_TEST

/* --- global reservations --- */

START_TEST(test_acct_memory)
{
	set_max_huge_pages(H2M, 2);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 0, true), 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 2, true), 0);
	ck_pool(H2M, 2, 2, 2, 0);

	/* No overcommit: nothing to gather. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 1, true), -ENOMEM);
	ck_pool(H2M, 2, 2, 2, 0);

	/* Overcommit 2: exactly the missing pages are gathered as surplus. */
	hugetlb_set_overcommit(H2M, 2);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 3, true), -ENOMEM);
	ck_pool(H2M, 2, 2, 2, 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 2, true), 0);
	ck_pool(H2M, 4, 4, 4, 2);

	/* guest_memfd never gathers, overcommit or not. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 1, false), -ENOMEM);
	ck_pool(H2M, 4, 4, 4, 2);

	/* Releasing returns as many unused surplus pages as it can. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -3, true), 0);
	ck_pool(H2M, 2, 2, 1, 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -1, true), 0);
	ck_pool(H2M, 2, 2, 0, 0);

	/* The host gives one of the two pages needed: the one it gave goes back. */
	host.limit[0] = 3;
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 4, true), -ENOMEM);
	ck_pool(H2M, 2, 2, 0, 0);
	ck_assert_uint_eq(host.live[0], 2);
	assert_clean();
}
END_TEST

/* --- subpools --- */

START_TEST(test_subpool_no_subpool)
{
	ck_assert_int_eq(hugepage_subpool_get_pages(NULL, 3), 3);
	ck_assert_int_eq(hugepage_subpool_put_pages(NULL, 3), 3);
	assert_clean();
}
END_TEST

START_TEST(test_subpool_max_only)
{
	struct hugepage_subpool *spool = hugepage_new_subpool(H2M, 4, -1, true);

	ck_assert_ptr_nonnull(spool);
	ck_pool(H2M, 0, 0, 0, 0);
	/* Without a minimum every page needs a global reservation. */
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 3), 3);
	ck_spool(spool, 3, -1);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 2), -ENOMEM);
	ck_spool(spool, 3, -1);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 1), 1);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 1), -ENOMEM);
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 4), 4);
	ck_spool(spool, 0, -1);
	hugepage_put_subpool(spool);
	assert_clean();
}
END_TEST

START_TEST(test_subpool_min_only)
{
	struct hugepage_subpool *spool;

	set_max_huge_pages(H2M, 4);
	spool = hugepage_new_subpool(H2M, -1, 2, true);
	ck_assert_ptr_nonnull(spool);
	ck_pool(H2M, 4, 4, 2, 0);
	ck_spool(spool, 0, 2);
	/* The subpool's reserve pays first, then the rest needs global reservations. */
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 1), 0);
	ck_spool(spool, 0, 1);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 3), 2);
	ck_spool(spool, 0, 0);
	/* used is not counted without a maximum, so every put refills the reserve. */
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 1), 0);
	ck_spool(spool, 0, 1);
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 3), 2);
	ck_spool(spool, 0, 2);
	hugepage_put_subpool(spool);
	ck_pool(H2M, 4, 4, 0, 0);
	assert_clean();
}
END_TEST

START_TEST(test_subpool_max_eq_min)
{
	struct hugepage_subpool *spool;

	set_max_huge_pages(H2M, 3);
	spool = hugepage_new_subpool(H2M, 3, 3, false);
	ck_assert_ptr_nonnull(spool);
	ck_pool(H2M, 3, 3, 3, 0);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 2), 0);
	ck_spool(spool, 2, 1);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 2), -ENOMEM);
	ck_spool(spool, 2, 1);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 1), 0);
	ck_spool(spool, 3, 0);
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 1), 0);
	ck_spool(spool, 2, 1);
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 2), 0);
	ck_spool(spool, 0, 3);
	hugepage_put_subpool(spool);
	ck_pool(H2M, 3, 3, 0, 0);
	assert_clean();
}
END_TEST

START_TEST(test_subpool_max_above_min)
{
	struct hugepage_subpool *spool;

	set_max_huge_pages(H2M, 4);
	spool = hugepage_new_subpool(H2M, 4, 2, true);
	ck_assert_ptr_nonnull(spool);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 3), 1);
	ck_spool(spool, 3, 0);
	/* Above the minimum, a returned page carries its global reservation away. */
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 1), 1);
	ck_spool(spool, 2, 0);
	/* Below it, the subpool keeps the page as its own reserve. */
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 1), 0);
	ck_spool(spool, 1, 1);
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 1), 0);
	ck_spool(spool, 0, 2);
	/* A minimum of 0 reserves nothing and never pays. */
	hugepage_put_subpool(spool);
	spool = hugepage_new_subpool(H2M, 2, 0, true);
	ck_assert_ptr_nonnull(spool);
	ck_pool(H2M, 4, 4, 0, 0);
	ck_assert_int_eq(hugepage_subpool_get_pages(spool, 1), 1);
	ck_assert_int_eq(hugepage_subpool_put_pages(spool, 1), 1);
	hugepage_put_subpool(spool);
	assert_clean();
}
END_TEST

START_TEST(test_subpool_lifetime)
{
	struct hugepage_subpool *spool;
	struct gs_site_stats st;
	struct folio *folio;

	set_max_huge_pages(H2M, 1);
	/* The pool cannot back the minimum: no subpool, nothing changed. */
	ck_assert_ptr_null(hugepage_new_subpool(H2M, 2, 2, true));
	ck_pool(H2M, 1, 1, 0, 0);
	/* With overcommit it gathers a surplus page. */
	hugetlb_set_overcommit(H2M, 1);
	spool = hugepage_new_subpool(H2M, 2, 2, true);
	ck_assert_ptr_nonnull(spool);
	ck_pool(H2M, 2, 2, 2, 1);

	folio = file_page(spool, 0);
	ck_pool(H2M, 2, 1, 1, 1);
	ck_spool(spool, 1, 1);
	ck_assert_ptr_eq(hugetlb_folio_subpool(folio), spool);
	ck_assert(!folio_test_hugetlb_restore_reserve(folio));

	/* Unmounted while a page is held: the subpool lives on until the page is freed. */
	hugepage_put_subpool(spool);
	gs_site_stats(GS_SITE_HUGETLB_SUBPOOL, &st);
	ck_assert_uint_eq(st.live, 1);
	ck_pool(H2M, 2, 1, 1, 1);
	folio_put(folio);
	gs_site_stats(GS_SITE_HUGETLB_SUBPOOL, &st);
	ck_assert_uint_eq(st.live, 0);
	ck_pool(H2M, 1, 1, 0, 0);
	assert_clean();
}
END_TEST

START_TEST(test_gmem_subpool)
{
	struct hugepage_subpool *spool;

	set_max_huge_pages(H2M, 2);
	hugetlb_set_overcommit(H2M, 8);
	ck_assert_ptr_eq(hugetlb_gmem_new_subpool(H2M, 0), ERR_PTR(-EINVAL));
	/* Short of unreserved free pages: ENOMEM, whatever the overcommit. */
	ck_assert_ptr_eq(hugetlb_gmem_new_subpool(H2M, 3), ERR_PTR(-ENOMEM));
	ck_pool(H2M, 2, 2, 0, 0);
	ck_cg(hugetlb_cgroup_root(), 0, 0);

	spool = hugetlb_gmem_new_subpool(H2M, 2);
	ck_assert(!IS_ERR(spool));
	ck_assert_int_eq(spool->max_hpages, 2);
	ck_assert_int_eq(spool->min_hpages, 2);
	ck_assert(!spool->use_surplus);
	ck_pool(H2M, 2, 2, 2, 0);
	ck_cg(hugetlb_cgroup_root(), 0, 2);
	ck_assert_ptr_eq(hugetlb_gmem_new_subpool(H2M, 1), ERR_PTR(-ENOMEM));
	hugepage_put_subpool(spool);
	ck_pool(H2M, 2, 2, 0, 0);
	ck_cg(hugetlb_cgroup_root(), 0, 0);
	assert_clean();
}
END_TEST

/* --- allocation and free --- */

/*
 * A freed page memory failure took is never handed out again. It is
 * dissolved (dissolve_free_hugetlb_folio(): nr and max down by one, the page
 * kept out of use) while a free page is left for every reservation;
 * otherwise it waits on the free list, skipped by every dequeue, until the
 * pool shrinks. Unpoisoning gives the pages to the host.
 */
START_TEST(test_free_hwpoison)
{
	struct folio *folio;

	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	folio = alloc_page(H2M, false, false);
	folio_set_hwpoison(folio);
	folio_put(folio);
	ck_pool(H2M, 1, 1, 0, 0);
	ck_assert_uint_eq(H2M->max_huge_pages, 1);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 1);
	ck_assert_uint_eq(host.live[0], 2); /* out of the pool, not back to the host */
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	/* The last free page was reserved and used: freed poisoned, it cannot be dissolved. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 1, true), 0);
	folio = alloc_page(H2M, false, true);
	folio_set_hwpoison(folio);
	folio_put(folio);
	ck_pool(H2M, 1, 1, 1, 0);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 1);
	ck_assert_ptr_eq(hugetlb_alloc_folio(H2M, NULL, 0, false, true), ERR_PTR(-ENOSPC));
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -1, true), 0);
	/* Shrinking takes it out of the pool: dissolved, kept out of use too. */
	ck_assert_int_eq(set_max_huge_pages(H2M, 0), 0);
	ck_pool(H2M, 0, 0, 0, 0);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 2);
	ck_assert_uint_eq(host.live[0], 2);
	ck_assert_uint_eq(hugetlb_unpoison_all(), 2);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 0);
	ck_assert_uint_eq(host.live[0], 0);
	assert_clean();
}
END_TEST

START_TEST(test_alloc_free)
{
	struct folio *a, *b;

	set_max_huge_pages(H2M, 2);
	a = alloc_page(H2M, false, false);
	ck_pool(H2M, 2, 1, 0, 0);
	ck_assert_int_eq(folio_ref_count(a), 1);
	ck_assert_ptr_eq(folio_hstate(a), H2M);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(a), hugetlb_cgroup_root());
	ck_assert_ptr_null(hugetlb_cgroup_from_folio_rsvd(a));
	ck_cg(hugetlb_cgroup_root(), 1, 0);

	/* The last free page is reserved: an unreserved allocation may not take it. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 1, true), 0);
	ck_assert_ptr_eq(hugetlb_alloc_folio(H2M, NULL, 0, false, false), ERR_PTR(-ENOSPC));
	ck_pool(H2M, 2, 1, 1, 0);
	ck_cg(hugetlb_cgroup_root(), 1, 0);

	/* Consuming the reservation, the page remembers to give it back. */
	b = alloc_page(H2M, false, true);
	ck_assert(folio_test_hugetlb_restore_reserve(b));
	ck_pool(H2M, 2, 0, 0, 0);
	folio_put(b);
	ck_pool(H2M, 2, 1, 1, 0);

	/* Overcommit lets an unreserved allocation take a surplus page. */
	hugetlb_set_overcommit(H2M, 1);
	b = alloc_page(H2M, true, false);
	ck_pool(H2M, 3, 1, 1, 1);
	ck_cg(hugetlb_cgroup_root(), 2, 1);
	ck_assert_ptr_eq(hugetlb_alloc_folio(H2M, NULL, 0, false, false), ERR_PTR(-ENOSPC));
	folio_put(b);
	ck_pool(H2M, 2, 1, 1, 0);
	ck_cg(hugetlb_cgroup_root(), 1, 0);
	folio_put(a);
	ck_pool(H2M, 2, 2, 1, 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -1, true), 0);

	set_max_huge_pages(H1G, 1);
	a = alloc_page(H1G, false, false);
	ck_assert_uint_eq(hugetlb_cgroup_usage(hugetlb_cgroup_root(), 1, false), 1UL << 18);
	folio_put(a);
	ck_pool(H1G, 1, 1, 0, 0);
	assert_clean();
}
END_TEST

/* --- cgroups --- */

START_TEST(test_cgroup_limits)
{
	struct hugetlb_cgroup *a, *b;
	struct hugepage_subpool *spool;
	struct folio *page;

	set_max_huge_pages(H2M, 4);
	a = hugetlb_cgroup_create("a", hugetlb_cgroup_root());
	ck_assert(!IS_ERR(a));
	b = hugetlb_cgroup_create("b", a);
	ck_assert(!IS_ERR(b));
	ck_assert_int_eq(hugetlb_cgroup_set_limit(hugetlb_cgroup_root(), 0, false, 0), -EINVAL);
	ck_assert_int_eq(hugetlb_cgroup_set_limit(a, 0, false, NR_2M), 0);
	ck_assert_int_eq(hugetlb_cgroup_attach(b), 0);

	/* Charges go up the hierarchy; a limit anywhere on the way refuses them. */
	page = alloc_page(H2M, false, false);
	ck_cg(b, 1, 0);
	ck_cg(a, 1, 0);
	ck_cg(hugetlb_cgroup_root(), 1, 0);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(page), b);
	ck_assert_ptr_eq(hugetlb_alloc_folio(H2M, NULL, 0, false, false), ERR_PTR(-ENOMEM));
	ck_cg(b, 1, 0);
	ck_cg(a, 1, 0);
	ck_pool(H2M, 4, 3, 0, 0);
	ck_assert_uint_eq(a->hugepage[0].failcnt, 1);
	ck_assert_int_eq(hugetlb_cgroup_set_limit(a, 0, false, 0), -EBUSY);

	/* The rsvd limit stops a guest_memfd file at creation. */
	ck_assert_int_eq(hugetlb_cgroup_set_limit(b, 0, true, NR_2M), 0);
	ck_assert_ptr_eq(hugetlb_gmem_new_subpool(H2M, 2), ERR_PTR(-ENOMEM));
	ck_pool(H2M, 4, 3, 0, 0);
	spool = hugetlb_gmem_new_subpool(H2M, 1);
	ck_assert(!IS_ERR(spool));
	ck_cg(b, 1, 1);
	ck_cg(a, 1, 1);
	ck_assert_uint_eq(a->rsvd_hugepage[0].watermark, NR_2M);

	folio_put(page);
	hugepage_put_subpool(spool);
	ck_cg(a, 0, 0);
	hugetlb_cgroup_attach(hugetlb_cgroup_root());
	ck_assert_int_eq(hugetlb_cgroup_offline(b), 0);
	ck_assert_int_eq(hugetlb_cgroup_offline(a), 0);
	assert_clean();
}
END_TEST

START_TEST(test_cgroup_offline)
{
	struct hugetlb_cgroup *a, *b, *root = hugetlb_cgroup_root();
	struct hugepage_subpool *spool;
	struct folio *p1, *p2;
	struct gs_site_stats st;

	set_max_huge_pages(H2M, 4);
	a = hugetlb_cgroup_create("a", root);
	b = hugetlb_cgroup_create("b", a);
	ck_assert(!IS_ERR(a) && !IS_ERR(b));
	ck_assert_int_eq(hugetlb_cgroup_attach(b), 0);
	spool = hugetlb_gmem_new_subpool(H2M, 2);
	ck_assert(!IS_ERR(spool));
	p1 = file_page(spool, 0);
	p2 = alloc_page(H2M, true, false);
	ck_cg(b, 2, 3);

	ck_assert_int_eq(hugetlb_cgroup_offline(root), -EINVAL);
	ck_assert_int_eq(hugetlb_cgroup_offline(b), -EBUSY); /* the task is in it */
	ck_assert_int_eq(hugetlb_cgroup_attach(root), 0);
	ck_assert_int_eq(hugetlb_cgroup_offline(a), -EBUSY); /* b is online below it */

	/* Usage moves to the parent; reservations stay, pinning the offline cgroup. */
	ck_assert_int_eq(hugetlb_cgroup_offline(b), 0);
	ck_assert(!b->online);
	ck_cg(b, 0, 3);
	ck_cg(a, 2, 3);
	ck_cg(root, 2, 3);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(p1), a);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(p2), a);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio_rsvd(p2), b);
	ck_assert_int_eq(hugetlb_cgroup_offline(b), -EINVAL);
	ck_assert_int_eq(hugetlb_cgroup_attach(b), -EINVAL);
	ck_assert_ptr_eq(hugetlb_cgroup_create("c", b), ERR_PTR(-EINVAL));
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	folio_put(p1);
	folio_put(p2);
	ck_cg(a, 0, 2);
	ck_cg(b, 0, 2);
	gs_site_stats(GS_SITE_HUGETLB_CGROUP, &st);
	ck_assert_uint_eq(st.live, 2);
	/* The last reservation released frees the offline cgroup. */
	hugepage_put_subpool(spool);
	gs_site_stats(GS_SITE_HUGETLB_CGROUP, &st);
	ck_assert_uint_eq(st.live, 1);
	ck_cg(a, 0, 0);
	ck_assert_int_eq(hugetlb_cgroup_offline(a), 0);
	assert_clean();
}
END_TEST

START_TEST(test_cgroup_offline_split)
{
	struct hugetlb_cgroup *a, *b, *root = hugetlb_cgroup_root();
	struct folio *page;

	set_max_huge_pages(H2M, 2);
	a = hugetlb_cgroup_create("a", root);
	b = hugetlb_cgroup_create("b", a);
	hugetlb_cgroup_attach(b);
	page = alloc_page(H2M, true, false);
	hugetlb_cgroup_attach(root);

	/* Split: the folio layer keeps what the pieces cannot hold. */
	fake_split(page, 0);
	ck_assert_uint_eq(split_meta[0].order, HPAGE_PMD_ORDER);
	ck_assert_ptr_eq(split_meta[0].cgroup, b);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	/* The whole huge page's charge moves, found through the split walker. */
	ck_assert_int_eq(hugetlb_cgroup_offline(b), 0);
	ck_assert_ptr_eq(split_meta[0].cgroup, a);
	ck_assert_ptr_eq(split_meta[0].cgroup_rsvd, b);
	ck_cg(b, 0, 1);
	ck_cg(a, 1, 1);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	/* Merged back, it is freed as a whole and uncharged from the parent. */
	fake_merge(page, 0);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(page), a);
	folio_put(page);
	ck_cg(a, 0, 0);
	ck_assert_int_eq(hugetlb_cgroup_offline(a), 0);
	assert_clean();
}
END_TEST

/* --- guest_memfd --- */

/* Spec P22: the pool and cgroup counters of a one-page HugeTLB guest_memfd. */
START_TEST(test_gmem_lifecycle)
{
	struct hugetlb_cgroup *root = hugetlb_cgroup_root();
	struct hugepage_subpool *spool;
	struct folio *folio;

	set_max_huge_pages(H2M, 2);
	hugetlb_set_overcommit(H2M, 1);
	ck_pool(H2M, 2, 2, 0, 0);

	spool = hugetlb_gmem_new_subpool(H2M, 1); /* create */
	ck_pool(H2M, 2, 2, 1, 0);
	ck_cg(root, 0, 1);

	folio = file_page(spool, 0); /* fallocate */
	ck_pool(H2M, 2, 1, 0, 0);
	ck_cg(root, 1, 1);

	folio_put(folio); /* punch hole */
	ck_pool(H2M, 2, 2, 1, 0);
	ck_cg(root, 0, 1);

	hugepage_put_subpool(spool); /* close */
	ck_pool(H2M, 2, 2, 0, 0);
	ck_cg(root, 0, 0);
	ck_assert_uint_eq(H2M->nr_overcommit_huge_pages, 1);
	assert_clean();
}
END_TEST

/* Reserve at creation in one cgroup, fault from another: each counter where it was made. */
START_TEST(test_gmem_charge_two_cgroups)
{
	struct hugetlb_cgroup *a, *b, *root = hugetlb_cgroup_root();
	struct hugepage_subpool *spool;
	struct folio *folio;

	set_max_huge_pages(H2M, 1);
	a = hugetlb_cgroup_create("a", root);
	b = hugetlb_cgroup_create("b", root);
	hugetlb_cgroup_attach(a);
	spool = hugetlb_gmem_new_subpool(H2M, 1);
	hugetlb_cgroup_attach(b);
	folio = file_page(spool, 0);
	ck_cg(a, 0, 1);
	ck_cg(b, 1, 0);
	hugetlb_cgroup_attach(root);
	folio_put(folio);
	hugepage_put_subpool(spool);
	ck_cg(a, 0, 0);
	ck_cg(b, 0, 0);
	hugetlb_cgroup_offline(a);
	hugetlb_cgroup_offline(b);
	assert_clean();
}
END_TEST

/* --- the same-index race --- */

/* The file: index -> folio, as the page cache would hold. */
static struct folio *file_map[4];

/* Insert; the loser frees its page and uses the winner's. Returns whether it won. */
static bool file_insert(pgoff_t index, struct folio **folio)
{
	if (!file_map[index]) {
		file_map[index] = *folio;
		return true;
	}
	folio_put(*folio);
	folio_get(file_map[index]);
	*folio = file_map[index];
	return false;
}

START_TEST(test_race_gmem)
{
	struct hugepage_subpool *spool;
	struct folio *first, *winner, *loser;

	memset(file_map, 0, sizeof(file_map));
	set_max_huge_pages(H2M, 2);
	hugetlb_set_overcommit(H2M, 1);
	spool = hugetlb_gmem_new_subpool(H2M, 2);
	first = file_page(spool, 0);
	ck_assert(file_insert(0, &first));

	/* Both allocate index 1 before either inserts; the subpool is then exactly full. */
	winner = file_page(spool, 1);
	ck_spool(spool, 2, 0);
	loser = hugetlb_file_alloc_folio(spool, NULL, 1);
	ck_assert_ptr_eq(loser, ERR_PTR(-ENOMEM));
	ck_spool(spool, 2, 0);
	ck_pool(H2M, 2, 0, 0, 0);
	ck_assert(file_insert(1, &winner));

	folio_put(first);
	folio_put(winner);
	ck_spool(spool, 0, 2);
	ck_pool(H2M, 2, 2, 2, 0);
	hugepage_put_subpool(spool);
	assert_clean();
}
END_TEST

START_TEST(test_race_hugetlbfs)
{
	struct hugepage_subpool *spool;
	struct folio *first, *winner, *loser;

	memset(file_map, 0, sizeof(file_map));
	set_max_huge_pages(H2M, 2);
	hugetlb_set_overcommit(H2M, 1);
	/* Room in the subpool, but its reservation is exactly used up by index 0 and 1. */
	spool = hugepage_new_subpool(H2M, 3, 2, true);
	first = file_page(spool, 0);
	ck_assert(file_insert(0, &first));

	winner = file_page(spool, 1);
	ck_spool(spool, 2, 0);
	ck_pool(H2M, 2, 0, 0, 0);
	/* The loser's page has no reservation behind it: a surplus page. */
	loser = file_page(spool, 1);
	ck_spool(spool, 3, 0);
	ck_pool(H2M, 3, 0, 0, 1);
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio_rsvd(loser), hugetlb_cgroup_root());
	ck_cg(hugetlb_cgroup_root(), 3, 1);

	ck_assert(file_insert(1, &winner));
	ck_assert(!file_insert(1, &loser));
	ck_assert_ptr_eq(loser, winner);
	ck_assert_int_eq(folio_ref_count(winner), 2);
	ck_spool(spool, 2, 0);
	ck_pool(H2M, 2, 0, 0, 0);
	ck_cg(hugetlb_cgroup_root(), 2, 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	/* Without overcommit the loser fails instead. */
	hugetlb_set_overcommit(H2M, 0);
	ck_assert_ptr_eq(hugetlb_file_alloc_folio(spool, NULL, 1), ERR_PTR(-ENOSPC));
	ck_spool(spool, 2, 0);

	folio_put(loser);
	folio_put(winner);
	folio_put(first);
	ck_spool(spool, 0, 2);
	ck_pool(H2M, 2, 2, 2, 0);
	hugepage_put_subpool(spool);
	assert_clean();
}
END_TEST

/* --- checker and dump --- */

START_TEST(test_checker)
{
	struct folio *folio;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	set_max_huge_pages(H2M, 2);
	folio = alloc_page(H2M, false, false);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	H2M->resv_huge_pages = 2; /* more promised than free */
	ck_assert_uint_ge(gs_check_run_all(NULL), 1);
	H2M->resv_huge_pages = 0;
	H2M->nr_huge_pages++;
	ck_assert_uint_ge(gs_check_run_all(NULL), 1);
	H2M->nr_huge_pages--;
	hugetlb_cgroup_root()->hugepage[0].usage += 1;
	ck_assert_uint_ge(gs_check_run_all(NULL), 1);
	hugetlb_cgroup_root()->hugepage[0].usage -= 1;
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	f = open_memstream(&buf, &len);
	hugetlb_dump(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "hugepages-2048kB: nr=2 free=1 resv=0 surplus=0"));
	ck_assert_ptr_nonnull(strstr(buf, "cgroup / "));
	free(buf);
	folio_put(folio);
	assert_clean();
}
END_TEST

/*
 * The dump reads the same in every process: subpools by creation order, not
 * by address (the fail-nth runner compares dumps taken in different
 * processes byte for byte; under ASan each places objects elsewhere).
 */
START_TEST(test_dump_is_stable)
{
	struct hugepage_subpool *a = hugepage_new_subpool(H2M, 4, -1, true);
	struct hugepage_subpool *b = hugepage_new_subpool(H2M, 2, -1, false);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	f = open_memstream(&buf, &len);
	hugetlb_dump(f);
	fclose(f);
	ck_assert_msg(strstr(buf, "  subpool #0 hugepages-2048kB: count=1 max=4 min=-1"), "%s",
		      buf);
	ck_assert_msg(strstr(buf, "  subpool #1 hugepages-2048kB: count=1 max=2 min=-1"), "%s",
		      buf);
	ck_assert_msg(!strstr(buf, "0x"), "an address in the dump:\n%s", buf);
	free(buf);
	hugepage_put_subpool(b);
	hugepage_put_subpool(a);
	assert_clean();
}
END_TEST

/* --- random operations, invariants after each --- */

/* Release the page of @slot, merging it back first if it is split. */
static void random_put(struct folio **held, unsigned int slot)
{
	if (split_used[slot])
		fake_merge(held[slot], (int)slot);
	folio_put(held[slot]);
	held[slot] = NULL;
}

/* Odd slots hold file pages (two subpools), even ones pool pages; any may be split. */
static void random_alloc(struct folio **held, unsigned int slot,
			 struct hugepage_subpool *const *spool, struct hugetlb_cgroup *cg)
{
	struct folio *f;

	hugetlb_cgroup_attach(cg);
	if (slot & 1)
		f = hugetlb_file_alloc_folio(spool[(slot >> 1) & 1], NULL, slot);
	else
		f = hugetlb_alloc_folio(H2M, NULL, 0, slot & 2, false);
	hugetlb_cgroup_attach(hugetlb_cgroup_root());
	held[slot] = IS_ERR(f) ? NULL : f;
}

static void random_split(struct folio **held, unsigned int slot)
{
	if (split_used[slot])
		fake_merge(held[slot], (int)slot);
	else
		fake_split(held[slot], (int)slot);
}

static void random_resv(struct gs_rng *rng, long *resv)
{
	if (gs_rng_below(rng, 2) && !hugetlb_acct_memory(H2M, 1, true))
		(*resv)++;
	else if (*resv && !hugetlb_acct_memory(H2M, -1, true))
		(*resv)--;
	set_max_huge_pages(H2M, gs_rng_below(rng, 10));
}

START_TEST(test_random_ops)
{
	unsigned long steps = gs_test_scale(20000);
	struct hugetlb_cgroup *cg[3] = {hugetlb_cgroup_root()};
	struct hugepage_subpool *spool[2];
	struct folio *held[MAX_SPLIT] = {0};
	struct gs_rng rng;
	long resv = 0;

	gs_rng_seed(&rng, gs_test_seed());
	set_max_huge_pages(H2M, 8);
	hugetlb_set_overcommit(H2M, 4);
	cg[1] = hugetlb_cgroup_create("a", cg[0]);
	cg[2] = hugetlb_cgroup_create("b", cg[1]);
	hugetlb_cgroup_attach(cg[2]);
	spool[0] = hugetlb_gmem_new_subpool(H2M, 4);
	hugetlb_cgroup_attach(cg[0]);
	spool[1] = hugepage_new_subpool(H2M, 6, 2, true);
	ck_assert(!IS_ERR(spool[0]) && spool[1]);
	for (unsigned long i = 0; i < steps; i++) {
		unsigned int slot = (unsigned int)gs_rng_below(&rng, MAX_SPLIT);
		/* Halfway, b goes offline; the task stays out of it from then on. */
		unsigned int nr_cg = i < steps / 2 ? 3 : 2;

		if (i == steps / 2)
			ck_assert_int_eq(hugetlb_cgroup_offline(cg[2]), 0);
		switch (gs_rng_below(&rng, 4)) {
		case 0:
			if (!held[slot])
				random_alloc(held, slot, spool, cg[gs_rng_below(&rng, nr_cg)]);
			break;
		case 1:
			if (held[slot])
				random_put(held, slot);
			break;
		case 2:
			if (held[slot])
				random_split(held, slot);
			break;
		default:
			random_resv(&rng, &resv);
			break;
		}
		ck_assert_msg(gs_check_run_all(stderr) == 0, "step %lu", i);
	}
	for (unsigned int i = 0; i < MAX_SPLIT; i++)
		if (held[i])
			random_put(held, i);
	hugetlb_acct_memory(H2M, -resv, true);
	hugepage_put_subpool(spool[0]);
	hugepage_put_subpool(spool[1]);
	ck_assert_int_eq(hugetlb_cgroup_offline(cg[1]), 0);
	assert_clean();
}
END_TEST

/* --- every allocation failed --- */

struct snapshot {
	struct hstate h[HUGE_MAX_HSTATE];
	long usage, rsvd;
	uint64_t live;
};

static void take_snapshot(struct snapshot *s)
{
	for (int i = 0; i < HUGE_MAX_HSTATE; i++)
		s->h[i] = hstates[i];
	s->usage = hugetlb_cgroup_root()->hugepage[0].usage;
	s->rsvd = hugetlb_cgroup_root()->rsvd_hugepage[0].usage;
	s->live = gs_alloc_live_total();
}

static void assert_snapshot(const struct snapshot *s)
{
	struct snapshot now;

	take_snapshot(&now);
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		ck_assert_uint_eq(now.h[i].nr_huge_pages, s->h[i].nr_huge_pages);
		ck_assert_uint_eq(now.h[i].free_huge_pages, s->h[i].free_huge_pages);
		ck_assert_uint_eq(now.h[i].resv_huge_pages, s->h[i].resv_huge_pages);
		ck_assert_uint_eq(now.h[i].surplus_huge_pages, s->h[i].surplus_huge_pages);
	}
	ck_assert_int_eq(now.usage, s->usage);
	ck_assert_int_eq(now.rsvd, s->rsvd);
	ck_assert_uint_eq(now.live, s->live);
}

struct fi_case {
	const char *name;
	void (*prepare)(void);
	int (*op)(void **out);
	void (*undo)(void *out); /* tear down what a successful op made */
};

static void prep_pool1_over2(void)
{
	set_max_huge_pages(H2M, 1);
	hugetlb_set_overcommit(H2M, 2);
}

static void prep_pool0_over1(void)
{
	hugetlb_set_overcommit(H2M, 1);
}

static int op_new_subpool(void **out)
{
	*out = hugepage_new_subpool(H2M, -1, 3, true);
	return *out ? 0 : -ENOMEM;
}

static int op_gmem_subpool(void **out)
{
	*out = hugetlb_gmem_new_subpool(H2M, 1);
	return IS_ERR(*out) ? (int)PTR_ERR(*out) : 0;
}

static void undo_subpool(void *out)
{
	hugepage_put_subpool(out);
}

static int op_acct(void **out)
{
	*out = NULL;
	return hugetlb_acct_memory(H2M, 3, true);
}

static void undo_acct(void *out)
{
	(void)out;
	hugetlb_acct_memory(H2M, -3, true);
}

static int op_alloc_surplus(void **out)
{
	*out = hugetlb_alloc_folio(H2M, NULL, 0, true, false);
	return IS_ERR(*out) ? (int)PTR_ERR(*out) : 0;
}

static void undo_folio(void *out)
{
	folio_put(out);
}

static struct hugepage_subpool *fi_spool;

static void prep_fs_file(void)
{
	prep_pool0_over1();
	fi_spool = hugepage_new_subpool(H2M, 2, -1, true);
	ck_assert_ptr_nonnull(fi_spool);
}

static int op_file_surplus(void **out)
{
	*out = hugetlb_file_alloc_folio(fi_spool, NULL, 0);
	return IS_ERR(*out) ? (int)PTR_ERR(*out) : 0;
}

static int op_cgroup_create(void **out)
{
	*out = hugetlb_cgroup_create("x", hugetlb_cgroup_root());
	return IS_ERR(*out) ? (int)PTR_ERR(*out) : 0;
}

static void undo_cgroup(void *out)
{
	ck_assert_int_eq(hugetlb_cgroup_offline(out), 0);
}

static const struct fi_case fi_cases[] = {
	{"new_subpool with surplus", prep_pool1_over2, op_new_subpool, undo_subpool},
	{"gmem subpool", prep_pool1_over2, op_gmem_subpool, undo_subpool},
	{"acct_memory with surplus", prep_pool1_over2, op_acct, undo_acct},
	{"alloc surplus page", prep_pool0_over1, op_alloc_surplus, undo_folio},
	{"file alloc, hugetlbfs", prep_fs_file, op_file_surplus, undo_folio},
	{"cgroup create", NULL, op_cgroup_create, undo_cgroup},
};

struct fi_arg {
	const struct fi_case *c;
	struct snapshot before;
	void *out;
	unsigned long failures;
};

static void fi_prepare(void *arg)
{
	struct fi_arg *a = arg;

	if (a->c->prepare)
		a->c->prepare();
	take_snapshot(&a->before);
}

static int fi_op(void *arg)
{
	struct fi_arg *a = arg;

	return a->c->op(&a->out);
}

static void fi_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct fi_arg *a = arg;

	ck_assert_msg(ret == 0 || injected, "%s: failed with %d at n=%lu without injection",
		      a->c->name, ret, n);
	if (ret) {
		a->failures++;
		assert_snapshot(&a->before);
	} else {
		a->c->undo(a->out);
	}
	if (fi_spool)
		hugepage_put_subpool(fi_spool);
	fi_spool = NULL;
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	reset_pools();
	gs_test_assert_no_leaks();
}

START_TEST(test_fail_nth)
{
	static const struct gs_fail_nth_ops ops = {
		.prepare = fi_prepare,
		.op = fi_op,
		.check = fi_check,
	};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE, .persistent = _i % 2};
	struct fi_arg arg = {.c = &fi_cases[_i / 2]};
	unsigned long iterations = 0;
	int ret;

	ret = gs_fail_nth_loop(&cfg, &ops, &arg, &iterations);
	ck_assert_msg(ret == 0, "%s: last run returned %d", arg.c->name, ret);
	ck_assert_uint_ge(iterations, 2);
	ck_assert_uint_eq(arg.failures, iterations - 1);
	assert_clean();
}
END_TEST

/* Growing the pool stops at the first page the host cannot give, as a sysfs write. */
START_TEST(test_fail_resize)
{
	struct gs_inject_rule r = {
		.site = GS_SITE_HUGETLB_ALLOC_FRESH, .mode = GS_INJECT_NTH, .nth = 3};
	int id = gs_inject_arm(&r);

	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(set_max_huge_pages(H2M, 4), 0);
	ck_pool(H2M, 2, 2, 0, 0);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 1);
	gs_inject_disarm(id);
	ck_assert_int_eq(set_max_huge_pages(H2M, 4), 0);
	ck_pool(H2M, 4, 4, 0, 0);
	assert_clean();
}
END_TEST

/* Pieces of a split page wait for the deferred merge, which is guest_memfd's: keep them. */
static void keep_piece(struct folio *folio)
{
	(void)folio;
}

/* A guest_memfd page is recognized by pfn, whole and split. */
START_TEST(test_pfn_is_gmem)
{
	struct hstate *h = size_to_hstate(2UL << 20);
	struct hugepage_subpool *spool;
	struct folio *f;
	unsigned long pfn;

	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, keep_piece);
	ck_assert_int_eq(set_max_huge_pages(h, 1), 0);
	spool = hugetlb_gmem_new_subpool(h, 1);
	ck_assert(!IS_ERR_OR_NULL(spool));
	f = hugetlb_file_alloc_folio(spool, NULL, 0);
	ck_assert(!IS_ERR_OR_NULL(f));
	pfn = folio_pfn(f);
	ck_assert(hugetlb_pfn_is_gmem(pfn + 511));
	ck_assert_ptr_eq(hugetlb_pfn_subpool(pfn), spool);
	ck_assert(!hugetlb_pfn_is_gmem(pfn + 512));
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
	ck_assert_int_eq(folio_split(f, 0, NULL, GS_SPLIT_UNIFORM), 0);
	ck_assert(hugetlb_pfn_is_gmem(pfn + 300)); /* split: answered by the record */
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 1);
	ck_assert(hugetlb_pfn_is_gmem(pfn + 300)); /* whole again: by the folio */
	folio_put(pfn_folio(pfn));
	hugepage_put_subpool(spool);
	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, NULL);
	assert_clean();
}
END_TEST

/*
 * A real huge page split to 4 KiB while in use, across the folio layer and
 * the pools: while split, the pools count and charge it through its record
 * (the metadata XArray), cgroup offline moves its usage through the record,
 * and the merge puts it back whole, charged to the new cgroup, on the list.
 */
START_TEST(test_split_real)
{
	struct hstate *h = size_to_hstate(2UL << 20);
	struct hugetlb_cgroup *cg = hugetlb_cgroup_create("split", hugetlb_cgroup_root());
	const struct hugetlb_folio_meta *m;
	struct folio *f;
	unsigned long pfn;

	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, keep_piece);
	ck_assert_ptr_nonnull(cg);
	ck_assert_int_eq(set_max_huge_pages(h, 2), 0);
	ck_assert_int_eq(hugetlb_cgroup_attach(cg), 0);
	f = hugetlb_alloc_folio(h, NULL, 0, false, false);
	ck_assert(!IS_ERR_OR_NULL(f));
	ck_assert_int_eq(hugetlb_cgroup_attach(hugetlb_cgroup_root()), 0);
	pfn = folio_pfn(f);
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0); /* a split needs every struct page */
	ck_assert(!hugetlb_pfn_is_gmem(pfn + 7)); /* no subpool: not a guest_memfd page */
	ck_assert_int_eq(folio_split(f, 0, pfn_to_page(pfn), GS_SPLIT_UNIFORM), 0);
	/* Split: the pools still count and charge it, through its record. */
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	m = hugetlb_meta_lookup(pfn + 300);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_eq(m->cgroup, cg);
	ck_assert_uint_eq(hugetlb_cgroup_usage(cg, hstate_index(h), false), pages_per_huge_page(h));
	/* rmdir moves the usage of the split page to the parent, through the record. */
	ck_assert_int_eq(hugetlb_cgroup_offline(cg), 0);
	ck_assert_ptr_eq(hugetlb_meta_lookup(pfn)->cgroup, hugetlb_cgroup_root());
	ck_assert_uint_eq(hugetlb_cgroup_usage(hugetlb_cgroup_root(), hstate_index(h), false),
			  pages_per_huge_page(h));
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	/* Merged: whole, HugeTLB, charged to the root, on the active list; freeing it works. */
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 1), 1);
	f = pfn_folio(pfn);
	ck_assert(folio_test_hugetlb(f));
	ck_assert_ptr_eq(hugetlb_cgroup_from_folio(f), hugetlb_cgroup_root());
	ck_assert_ptr_eq(folio_hstate(f), h);
	ck_assert_uint_eq(hugetlb_meta_count(), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	folio_put(f);
	ck_assert_uint_eq(h->free_huge_pages, 2);
	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, NULL);
	assert_clean();
}
END_TEST

struct walked_pfns {
	unsigned long pfn[4];
	unsigned int n;
};

static void see_pfn(struct hugetlb_folio_meta *meta, void *arg)
{
	struct walked_pfns *w = arg;

	ck_assert_uint_lt(w->n, ARRAY_SIZE(w->pfn));
	w->pfn[w->n++] = meta->pfn;
}

/* The records a pool's walk finds, in pfn order, as a list of indices into @pfn (-1 ends it). */
static void ck_walk(struct hstate *h, const unsigned long *pfn, const int *want)
{
	struct walked_pfns w = {0};
	unsigned int n = 0;

	spin_lock(&hugetlb_lock);
	hugetlb_for_each_split(h, see_pfn, &w);
	spin_unlock(&hugetlb_lock);
	for (; want[n] >= 0; n++)
		ck_assert_msg(n < w.n && w.pfn[n] == pfn[want[n]], "record %u: pfn %#lx expected",
			      n, pfn[want[n]]);
	ck_assert_uint_eq(w.n, n);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
}

static void split_real(unsigned long pfn)
{
	struct folio *f = pfn_folio(pfn);

	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
	ck_assert_int_eq(folio_split(f, 0, pfn_to_page(pfn), GS_SPLIT_UNIFORM), 0);
}

/*
 * The split pages' walks end at the last pfn of the highest record: a
 * record above every other, the others after the highest went, one stored
 * below the highest, and records stored after all of them went are each
 * walked.
 */
START_TEST(test_split_walk_every_record)
{
	struct hstate *h = size_to_hstate(2UL << 20);
	unsigned long pfn[3];

	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, keep_piece);
	ck_assert_int_eq(set_max_huge_pages(h, 3), 0);
	for (int i = 0; i < 3; i++) {
		struct folio *f = hugetlb_alloc_folio(h, NULL, 0, false, false);

		ck_assert(!IS_ERR_OR_NULL(f));
		pfn[i] = folio_pfn(f);
	}
	/* Lowest first, whatever order the pool handed them out in. */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (pfn[j] < pfn[i]) {
				unsigned long t = pfn[i];

				pfn[i] = pfn[j];
				pfn[j] = t;
			}
	split_real(pfn[0]);
	ck_walk(h, pfn, (const int[]){0, -1});
	split_real(pfn[2]);
	ck_walk(h, pfn, (const int[]){0, 2, -1});
	ck_assert_int_eq(folio_merge(pfn_folio(pfn[2]), 9, 1), 1);
	ck_walk(h, pfn, (const int[]){0, -1});
	split_real(pfn[2]);
	ck_walk(h, pfn, (const int[]){0, 2, -1});
	split_real(pfn[1]);
	ck_walk(h, pfn, (const int[]){0, 1, 2, -1});
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(folio_merge(pfn_folio(pfn[i]), 9, 1), 1);
	ck_assert_uint_eq(hugetlb_meta_count(), 0);
	ck_walk(h, pfn, (const int[]){-1});
	split_real(pfn[1]);
	ck_walk(h, pfn, (const int[]){1, -1});
	split_real(pfn[2]);
	ck_walk(h, pfn, (const int[]){1, 2, -1});
	for (int i = 1; i < 3; i++)
		ck_assert_int_eq(folio_merge(pfn_folio(pfn[i]), 9, 1), 1);
	for (int i = 0; i < 3; i++)
		folio_put(pfn_folio(pfn[i]));
	ck_assert_uint_eq(h->free_huge_pages, 3);
	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, NULL);
	assert_clean();
}
END_TEST

/* A split-page walker over fake records: 1 GiB, 2 MiB and one of no pool's order, mixed. */
static struct hugetlb_folio_meta fake_meta[HUGETLB_SPLIT_SNAP_MAX + 40];

static void fake_for_each(void *ctx, struct hstate *h, hugetlb_meta_fn fn, void *arg)
{
	(void)ctx;
	for (size_t i = 0; i < ARRAY_SIZE(fake_meta); i++)
		if (fake_meta[i].order == huge_page_order(h))
			fn(&fake_meta[i], arg);
}

static void fake_for_each_all(void *ctx, hugetlb_meta_fn fn, void *arg)
{
	(void)ctx;
	for (size_t i = 0; i < ARRAY_SIZE(fake_meta); i++)
		fn(&fake_meta[i], arg);
}

struct seen_metas {
	struct hugetlb_folio_meta *m[ARRAY_SIZE(fake_meta)];
	unsigned int n;
};

static void see_meta(struct hugetlb_folio_meta *meta, void *arg)
{
	struct seen_metas *s = arg;

	ck_assert_uint_lt(s->n, ARRAY_SIZE(s->m));
	s->m[s->n++] = meta;
}

/*
 * The checkers' snapshot of split pages hands each pool's tally the records
 * that pool's own walk finds, in its order, and no record of another order,
 * whether the walker walks all pools at once or only one at a time; a pool
 * with more than the snapshot keeps (2 MiB here) is walked again.
 */
START_TEST(test_split_snap_matches_walk)
{
	static const struct hugetlb_split_ops fake_ops[] = {
		{.for_each = fake_for_each},
		{.for_each = fake_for_each, .for_each_all = fake_for_each_all},
	};

	for (size_t i = 0; i < ARRAY_SIZE(fake_meta); i++)
		fake_meta[i] = (struct hugetlb_folio_meta){.pfn = i,
							   .order = i == 5	 ? 4
								    : i % 7 == 3 ? H1G->order
										 : H2M->order};
	for (size_t o = 0; o < ARRAY_SIZE(fake_ops); o++) {
		struct hugetlb_split_snap snap;
		struct hstate *h;

		hugetlb_set_split_ops(&fake_ops[o]);
		spin_lock(&hugetlb_lock);
		hugetlb_split_snap_take(&snap);
		ck_assert(snap.overflow[hstate_index(H2M)]);
		ck_assert(!snap.overflow[hstate_index(H1G)]);
		ck_assert_uint_eq(snap.nr[hstate_index(H1G)], 24);
		for_each_hstate (h) {
			struct seen_metas walk = {0}, from_snap = {0};

			hugetlb_for_each_split(h, see_meta, &walk);
			hugetlb_split_snap_for_each(&snap, h, see_meta, &from_snap);
			ck_assert_uint_gt(walk.n, 0);
			ck_assert_uint_eq(from_snap.n, walk.n);
			for (unsigned int i = 0; i < walk.n; i++)
				ck_assert_ptr_eq(from_snap.m[i], walk.m[i]);
		}
		spin_unlock(&hugetlb_lock);
	}
	hugetlb_set_split_ops(NULL);
	assert_clean();
}
END_TEST

/* What gs_check_run_all() prints, and how many violations it counted. */
static char *check_output(unsigned int *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	*n = gs_check_run_all(f);
	fclose(f);
	return buf;
}

static void ck_check_output(const char *want, unsigned int nr)
{
	unsigned int n;
	char *got = check_output(&n);

	ck_assert_msg(!strcmp(got, want), "checkers printed:\n%s\nexpected:\n%s", got, want);
	ck_assert_uint_eq(n, nr);
	free(got);
}

/*
 * The pool's per-node counters: a count on a node that does not exist is
 * reported with the node, after the existing nodes' reports, in node order
 * (the first and the last beyond them here), and the sums that no longer
 * match the pool's are reported once after them.
 */
START_TEST(test_checker_nodes)
{
	const unsigned int last = GS_MAX_NUMNODES - 1, first = gs_numa_nr_nodes();

	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	ck_check_output("", 0);
	H2M->nr_huge_pages_node[last]++;
	H2M->surplus_huge_pages_node[first] += 2;
	H2M->free_huge_pages_node[0]++;
	{
		char want[1024];

		snprintf(want, sizeof(want),
			 "check hugetlb: hugepages-2048kB: node 0 free 3 but 2 of its pages free\n"
			 "check hugetlb: hugepages-2048kB: pages counted on node %u, which does "
			 "not exist\n"
			 "check hugetlb: hugepages-2048kB: pages counted on node %u, which does "
			 "not exist\n"
			 "check hugetlb: hugepages-2048kB: nodes hold nr 3 free 3 surplus 2, the "
			 "pool 2 2 0\n",
			 first, last);
		ck_check_output(want, 4);
	}
	H2M->nr_huge_pages_node[last]--;
	H2M->surplus_huge_pages_node[first] -= 2;
	H2M->free_huge_pages_node[0]--;
	ck_check_output("", 0);
	ck_assert_int_eq(set_max_huge_pages(H2M, 0), 0);
	assert_clean();
}
END_TEST

/*
 * The pools', subpools' and cgroups' tallies of split pages read one
 * snapshot of the records per check: a record planted wrong in each field
 * they read is still reported by each checker, with the same words, in the
 * same order, as when each tally walked the records itself.
 */
START_TEST(test_split_checkers_report)
{
	struct hugetlb_cgroup *cg = hugetlb_cgroup_create("split", hugetlb_cgroup_root());
	struct hugepage_subpool *spool = hugepage_new_subpool(H2M, 4, -1, true);
	struct hugetlb_folio_meta *m;
	unsigned long pfn[2];

	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, keep_piece);
	ck_assert_ptr_nonnull(cg);
	ck_assert_ptr_nonnull(spool);
	ck_assert_int_eq(set_max_huge_pages(H2M, 3), 0);
	ck_assert_int_eq(hugetlb_cgroup_attach(cg), 0);
	for (int i = 0; i < 2; i++) {
		struct folio *f = hugetlb_alloc_folio(H2M, NULL, 0, false, false);

		ck_assert(!IS_ERR_OR_NULL(f));
		pfn[i] = folio_pfn(f);
		ck_assert_int_eq(hugetlb_vmemmap_restore_folio(f), 0);
		ck_assert_int_eq(folio_split(f, 0, pfn_to_page(pfn[i]), GS_SPLIT_UNIFORM), 0);
	}
	ck_assert_int_eq(hugetlb_cgroup_attach(hugetlb_cgroup_root()), 0);
	ck_check_output("", 0);
	m = hugetlb_meta_get(pfn[1]);
	ck_assert_ptr_nonnull(m);

	/* Counted in the wrong pool: both pools' totals and the cgroups' usage disagree. */
	m->order = H1G->order;
	ck_check_output(
		"check hugetlb_cgroup: cgroup /: hugepages-2048kB usage 1024, charges add "
		"up to 512\n"
		"check hugetlb_cgroup: cgroup /: hugepages-1048576kB usage 0, charges add "
		"up to 262144\n"
		"check hugetlb_cgroup: cgroup split: hugepages-2048kB usage 1024, charges "
		"add up to 512\n"
		"check hugetlb_cgroup: cgroup split: hugepages-1048576kB usage 0, charges "
		"add up to 262144\n"
		"check hugetlb: hugepages-2048kB: nr 3 but 1 free + 0 in use + 1 split\n"
		"check hugetlb: hugepages-1048576kB: nr 0 but 0 free + 0 in use + 1 split\n",
		6);
	m->order = H2M->order;

	/* Held by a subpool that has not used it. */
	m->subpool = spool;
	ck_check_output("check hugetlb: subpool #0 hugepages-2048kB: 1 pages held but used 0\n", 1);
	m->subpool = NULL;

	/* Charged to the parent: the child's usage no longer adds up, the root's still does. */
	m->cgroup = hugetlb_cgroup_root();
	m->cgroup_rsvd = cg;
	ck_check_output("check hugetlb_cgroup: cgroup /: rsvd usage 0, charges add up to 512\n"
			"check hugetlb_cgroup: cgroup split: hugepages-2048kB usage 1024, charges "
			"add up to 512\n"
			"check hugetlb_cgroup: cgroup split: rsvd usage 0, charges add up to 512\n",
			3);
	m->cgroup = cg;
	m->cgroup_rsvd = NULL;
	ck_check_output("", 0);

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(folio_merge(pfn_folio(pfn[i]), 9, 1), 1);
		folio_put(pfn_folio(pfn[i]));
	}
	hugepage_put_subpool(spool);
	gs_folio_set_free_hook(GS_FOLIO_NEEDS_MERGE, NULL);
	ck_assert_int_eq(hugetlb_cgroup_offline(cg), 0);
	assert_clean();
}
END_TEST

/* Counts near 2^64 never wrap a counter (issue 10, defect 3). */
START_TEST(test_count_ranges)
{
	struct hugepage_subpool *spool;

	ck_assert_int_eq(hugetlb_acct_memory(H2M, LONG_MIN, true), -EINVAL);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -1, true), -EINVAL);
	ck_pool(H2M, 0, 0, 0, 0);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, LONG_MAX, true), -ENOMEM);
	hugetlb_set_overcommit(H2M, ULONG_MAX);
	host.limit[0] = 3;
	/* More than the host holds fails before anything is allocated. */
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 4, true), -ENOMEM);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, 3, true), 0);
	ck_pool(H2M, 3, 3, 3, 3);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -4, true), -EINVAL);
	ck_pool(H2M, 3, 3, 3, 3);
	ck_assert_int_eq(hugetlb_acct_memory(H2M, -3, true), 0);
	ck_pool(H2M, 0, 0, 0, 0);
	hugetlb_set_overcommit(H2M, 0);
	ck_assert_ptr_null(hugepage_new_subpool(H2M, -2, -1, true));
	ck_assert_ptr_null(hugepage_new_subpool(H2M, 2, 3, true));
	ck_assert_ptr_null(hugepage_new_subpool(H2M, LONG_MIN, -1, true));
	spool = hugetlb_gmem_new_subpool(H2M, hugetlb_max_file_hpages(H2M) + 1);
	ck_assert_int_eq(PTR_ERR(spool), -EINVAL);
	spool = hugetlb_gmem_new_subpool(H2M, hugetlb_max_file_hpages(H2M));
	ck_assert_int_eq(PTR_ERR(spool), -ENOMEM);
	ck_assert_uint_eq(hugetlb_max_file_hpages(H2M), (1UL << 42) - 1);
	ck_assert_uint_eq(hugetlb_max_mount_hpages(H1G), (1UL << 34) - 1);
	assert_clean();
}
END_TEST

/* A pool asked for more than the host holds grows to what fits, at once. */
START_TEST(test_pool_best_effort)
{
	host.limit[0] = 5;
	ck_assert_int_eq(set_max_huge_pages(H2M, ULONG_MAX), 0);
	ck_pool(H2M, 5, 5, 0, 0);
	ck_assert_uint_eq(H2M->max_huge_pages, 5);
	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	ck_pool(H2M, 2, 2, 0, 0);
	assert_clean();
}
END_TEST

static unsigned long progress_calls, progress_done, progress_total;

static void count_progress(const char *what, unsigned long done, unsigned long total)
{
	ck_assert_ptr_nonnull(strstr(what, "hugepages-2048kB"));
	progress_calls++;
	progress_done = done;
	progress_total = total;
}

/* Long pool work reports how far it is: every 4096 pages and at the end. */
START_TEST(test_pool_progress)
{
	gs_physmem_set_progress(count_progress);
	host.limit[0] = 5000;
	ck_assert_int_eq(set_max_huge_pages(H2M, ULONG_MAX), 0);
	ck_pool(H2M, 5000, 5000, 0, 0);
	ck_assert_uint_eq(progress_calls, 2); /* 4096, 5000 */
	ck_assert_uint_eq(progress_done, 5000);
	ck_assert_uint_eq(progress_total, 5000);
	ck_assert_int_eq(set_max_huge_pages(H2M, 0), 0);
	ck_assert_uint_eq(progress_calls, 4); /* freed: 4096, 5000 */
	ck_assert_uint_eq(progress_done, 5000);
	gs_physmem_set_progress(NULL);
	assert_clean();
}
END_TEST

/* Over physical memory: the machine's size bounds every pool. */
START_TEST(test_pool_machine_size)
{
	unsigned long old = gs_physmem_size();
	struct gs_physmem_stats st;

	gs_physmem_stats(&st);
	ck_assert_int_eq(gs_physmem_set_size(0), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_size((2UL << 20) + 4096), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_size(1UL << 60), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_size(st.pfns_in_use * PAGE_SIZE + (16UL << 20)), 0);
	ck_assert_uint_eq(gs_physmem_free_pages(), (16UL << 20) / PAGE_SIZE);
	ck_assert_int_eq(set_max_huge_pages(H2M, ULONG_MAX), 0);
	ck_pool(H2M, 8, 8, 0, 0);
	ck_assert_uint_eq(gs_physmem_free_pages(), 0);
	/* In use: the machine cannot shrink below it. */
	ck_assert_int_eq(gs_physmem_set_size(2UL << 20), -EBUSY);
	ck_assert_int_eq(set_max_huge_pages(H1G, 100000000), 0);
	ck_pool(H1G, 0, 0, 0, 0);
	ck_assert_int_eq(set_max_huge_pages(H2M, 0), 0);
	ck_assert_int_eq(gs_physmem_set_size(old), 0);
	ck_assert_uint_eq(gs_physmem_size(), old);
	assert_clean();
}
END_TEST

/*
 * The page allocator asks the injector once per page, whether or not the
 * page needs a refill of its free list: nth= counts pages (issue 10).
 */
START_TEST(test_page_alloc_asks_once)
{
	struct gs_inject_rule r = {.site = GS_SITE_PAGE_ALLOC, .mode = GS_INJECT_NTH, .nth = 2};
	struct folio *f[3];
	unsigned long before;
	int id;

	ck_assert_uint_eq(gs_page_alloc_nr_used(), 0);
	ck_assert_uint_eq(gs_page_alloc_nr_free(), 0); /* the first page refills */
	id = gs_inject_arm(&r);
	ck_assert_int_ge(id, 0);
	before = gs_inject_queries();
	f[0] = gs_folio_alloc_order0(GFP_KERNEL);
	ck_assert_ptr_nonnull(f[0]);
	ck_assert_uint_eq(gs_inject_queries() - before, 1);
	ck_assert_uint_eq(gs_page_alloc_nr_free(), 511);
	f[1] = gs_folio_alloc_order0(GFP_KERNEL); /* hit 2: this page, not the refill's */
	ck_assert_ptr_null(f[1]);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 1);
	f[2] = gs_folio_alloc_order0(GFP_KERNEL);
	ck_assert_ptr_nonnull(f[2]);
	ck_assert_uint_eq(gs_inject_queries() - before, 3);
	gs_inject_disarm(id);
	folio_put(f[0]);
	folio_put(f[2]);
	ck_assert_uint_eq(gs_page_alloc_nr_used(), 0);
	ck_assert_uint_eq(gs_page_alloc_nr_free(), 0); /* the chunk went back */
	assert_clean();
}
END_TEST

/* folio.alloc and folio.free events, each with the folio's pfn and order. */
struct folio_events {
	unsigned long alloc_pfn[4], free_pfn[4], alloc_order[4];
	unsigned int nr_alloc, nr_free;
};

static void record_folio_event(void *ctx, uint64_t seq, const char *event,
			       const struct gs_trace_field *f, size_t nr)
{
	struct folio_events *ev = ctx;
	bool alloc = !strcmp(event, "folio.alloc");

	(void)seq;
	if ((!alloc && strcmp(event, "folio.free")) || nr < 2 || strcmp(f[0].key, "pfn") ||
	    strcmp(f[1].key, "order"))
		return;
	if (alloc && ev->nr_alloc < 4) {
		ev->alloc_order[ev->nr_alloc] = f[1].u;
		ev->alloc_pfn[ev->nr_alloc++] = f[0].u;
	} else if (!alloc && ev->nr_free < 4) {
		ev->free_pfn[ev->nr_free++] = f[0].u;
	}
}

START_TEST(test_folio_alloc_event)
{
	struct folio_events ev = {0};
	struct gs_trace_sink sink = {.emit = record_folio_event, .ctx = &ev};
	struct folio *small, *huge;
	int handle = gs_trace_add_sink(&sink);

	ck_assert_int_ge(handle, 0);
	ck_assert_int_eq(set_max_huge_pages(H2M, 1), 0);
	small = gs_folio_alloc_order0(GFP_KERNEL);
	huge = alloc_page(H2M, false, false);
	ck_assert_ptr_nonnull(small);
	ck_assert_uint_eq(ev.nr_alloc, 2);
	ck_assert_uint_eq(ev.alloc_pfn[0], folio_pfn(small));
	ck_assert_uint_eq(ev.alloc_order[0], 0);
	ck_assert_uint_eq(ev.alloc_pfn[1], folio_pfn(huge));
	ck_assert_uint_eq(ev.alloc_order[1], HPAGE_PMD_ORDER);
	folio_put(huge);
	folio_put(small);
	ck_assert_uint_eq(ev.nr_free, 2);
	ck_assert_uint_eq(ev.free_pfn[0], ev.alloc_pfn[1]);
	ck_assert_uint_eq(ev.free_pfn[1], ev.alloc_pfn[0]);
	gs_trace_remove_sink(handle);
	assert_clean();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("hugetlb");
	TCase *tc_pool = tcase_create("pool");
	TCase *tc_spool = tcase_create("subpool");
	TCase *tc_cg = tcase_create("cgroup");
	TCase *tc_gmem = tcase_create("gmem");
	TCase *tc_real = tcase_create("physmem");
	TCase *tc_fi = tcase_create("fault-injection");

	tcase_add_checked_fixture(tc_pool, setup, teardown);
	tcase_add_test(tc_pool, test_pool_resize);
	tcase_add_test(tc_pool, test_pool_free_fresh_fails);
	tcase_add_test(tc_pool, test_acct_memory);
	tcase_add_test(tc_pool, test_alloc_free);
	tcase_add_test(tc_pool, test_free_hwpoison);
	tcase_add_test(tc_pool, test_checker);
	tcase_add_test(tc_pool, test_checker_nodes);
	tcase_add_test(tc_pool, test_dump_is_stable);
	tcase_add_test(tc_pool, test_random_ops);
	tcase_add_test(tc_pool, test_count_ranges);
	tcase_add_test(tc_pool, test_pool_best_effort);
	tcase_add_test(tc_pool, test_pool_progress);
	suite_add_tcase(s, tc_pool);

	tcase_add_checked_fixture(tc_spool, setup, teardown);
	tcase_add_test(tc_spool, test_subpool_no_subpool);
	tcase_add_test(tc_spool, test_subpool_max_only);
	tcase_add_test(tc_spool, test_subpool_min_only);
	tcase_add_test(tc_spool, test_subpool_max_eq_min);
	tcase_add_test(tc_spool, test_subpool_max_above_min);
	tcase_add_test(tc_spool, test_subpool_lifetime);
	tcase_add_test(tc_spool, test_gmem_subpool);
	suite_add_tcase(s, tc_spool);

	tcase_add_checked_fixture(tc_cg, setup, teardown);
	tcase_add_test(tc_cg, test_cgroup_limits);
	tcase_add_test(tc_cg, test_cgroup_offline);
	tcase_add_test(tc_cg, test_cgroup_offline_split);
	suite_add_tcase(s, tc_cg);

	tcase_add_checked_fixture(tc_gmem, setup, teardown);
	tcase_add_test(tc_gmem, test_gmem_lifecycle);
	tcase_add_test(tc_gmem, test_gmem_charge_two_cgroups);
	tcase_add_test(tc_gmem, test_race_gmem);
	tcase_add_test(tc_gmem, test_race_hugetlbfs);
	suite_add_tcase(s, tc_gmem);

	tcase_add_checked_fixture(tc_real, setup_real, teardown);
	tcase_add_test(tc_real, test_alloc_free);
	tcase_add_test(tc_real, test_cgroup_offline);
	tcase_add_test(tc_real, test_gmem_lifecycle);
	tcase_add_test(tc_real, test_race_gmem);
	tcase_add_test(tc_real, test_race_hugetlbfs);
	tcase_add_test(tc_real, test_split_real);
	tcase_add_test(tc_real, test_split_checkers_report);
	tcase_add_test(tc_real, test_split_snap_matches_walk);
	tcase_add_test(tc_real, test_split_walk_every_record);
	tcase_add_test(tc_real, test_pfn_is_gmem);
	tcase_add_test(tc_real, test_pool_machine_size);
	tcase_add_test(tc_real, test_page_alloc_asks_once);
	tcase_add_test(tc_real, test_folio_alloc_event);
	suite_add_tcase(s, tc_real);

	tcase_add_checked_fixture(tc_fi, setup, teardown);
	tcase_add_loop_test(tc_fi, test_fail_nth, 0, 2 * (int)ARRAY_SIZE(fi_cases));
	tcase_add_test(tc_fi, test_fail_resize);
	suite_add_tcase(s, tc_fi);
	return s;
}
