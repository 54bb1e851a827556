// SPDX-License-Identifier: MIT
/*
 * Differential test of the XArray: a seeded stream of random operations runs
 * against lib/xarray.c and against a trivial model (one slot per index
 * recording the entry, where it starts and its order), and every result is
 * compared. The model indices map to two windows of the real index space, one
 * at 0 and one ending at ULONG_MAX, so that tall trees and the wrap-around
 * edges are exercised. The validator runs periodically. Replay a failure with
 * GMEMSIM_SEED=<seed printed at start>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/rng.h>
#include <gmemsim/warn.h>
#include <gmemsim/xarray.h>
#include "harness.h"

#define NR_IDX	  (1UL << 14)
#define HALF	  (NR_IDX / 2)
#define MAX_ORDER 12
#define HIGH_BASE (~0UL - HALF + 1)

struct model {
	void *ent[NR_IDX];
	unsigned int start[NR_IDX];
	unsigned char order[NR_IDX];
	unsigned char marks[NR_IDX]; /* meaningful at an entry's start */
};

static struct model *md;
static struct gs_rng rng;
static unsigned long op_nr;

static unsigned long real_index(unsigned long m)
{
	return m < HALF ? m : HIGH_BASE + (m - HALF);
}

/* The model index of a real index, or NR_IDX outside both windows. */
static unsigned long model_index(unsigned long r)
{
	if (r < HALF)
		return r;
	if (r >= HIGH_BASE)
		return HALF + (r - HIGH_BASE);
	return NR_IDX;
}

#define FAIL(fmt, ...) ck_abort_msg("op %lu: " fmt, op_nr, ##__VA_ARGS__)

#define EXPECT_EQ(a, b, what, m)                                                                  \
	do {                                                                                      \
		if ((a) != (b))                                                                   \
			FAIL("%s at model index %lu: got %p, expected %p", what,                  \
			     (unsigned long)(m), (void *)(uintptr_t)(a), (void *)(uintptr_t)(b)); \
	} while (0)

static void *random_entry(void)
{
	uint64_t r = gs_rng_next(&rng);

	if (r & 1)
		return xa_mk_value((r >> 2) & 0xffffff);
	return (void *)(uintptr_t)(((r >> 2) & 0xffffff) << 3 | 8);
}

static void model_put(unsigned long s, unsigned int order, void *entry, unsigned char marks)
{
	for (unsigned long i = s; i < s + (1UL << order); i++) {
		md->ent[i] = entry;
		md->start[i] = (unsigned int)s;
		md->order[i] = (unsigned char)order;
	}
	md->marks[s] = marks;
}

static void model_remove(unsigned long m)
{
	unsigned long s = md->start[m], n = 1UL << md->order[m];

	if (!md->ent[m])
		return;
	for (unsigned long i = s; i < s + n; i++)
		md->ent[i] = NULL;
	md->marks[s] = 0;
}

/* Store of an order-@order entry at aligned @m, with the kernel's semantics. */
static void model_store(unsigned long m, unsigned int order, void *entry)
{
	unsigned long end = m + (1UL << order);
	unsigned char marks = 0;

	if (md->ent[m] && md->order[m] > order) {
		/* Inside a bigger entry: that whole entry takes the new value. */
		unsigned long s = md->start[m];

		model_put(s, md->order[m], entry, md->marks[s]);
		return;
	}
	for (unsigned long i = m; i < end; i++) {
		if (md->ent[i] && md->start[i] == i) {
			marks |= md->marks[i];
			md->marks[i] = 0;
		}
	}
	model_put(m, order, entry, marks);
}

static void model_erase_block(unsigned long m, unsigned int order)
{
	if (md->ent[m] && md->order[m] > order) {
		model_remove(m);
		return;
	}
	for (unsigned long i = m; i < m + (1UL << order); i++)
		if (md->ent[i])
			model_remove(i);
}

static void model_split(unsigned long m, unsigned int new_order)
{
	unsigned long s = md->start[m];
	unsigned int order = md->order[m];
	unsigned char marks = md->marks[s];

	for (unsigned long i = s; i < s + (1UL << order); i += 1UL << new_order)
		model_put(i, new_order, md->ent[m], marks);
}

static int store_order(struct xarray *xa, unsigned long index, unsigned int order, void *entry)
{
	XA_STATE_ORDER(xas, xa, index, order);

	do {
		xas_lock(&xas);
		xas_store(&xas, entry);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL));
	return xas_error(&xas);
}

/* A random model index aligned to 2^order. */
static unsigned long random_aligned(unsigned int order)
{
	return gs_rng_below(&rng, NR_IDX) & ~((1UL << order) - 1);
}

static void op_store0(struct xarray *xa, unsigned long m)
{
	void *entry = random_entry();
	void *old = xa_store(xa, real_index(m), entry, GFP_KERNEL);

	EXPECT_EQ(old, md->ent[m], "xa_store old", m);
	model_store(m, 0, entry);
}

static void op_store_order(struct xarray *xa)
{
	unsigned int order = 1 + (unsigned int)gs_rng_below(&rng, MAX_ORDER);
	unsigned long m = random_aligned(order);
	void *entry = random_entry();

	if (store_order(xa, real_index(m), order, entry))
		FAIL("store order %u failed", order);
	model_store(m, order, entry);
}

static void op_erase(struct xarray *xa, unsigned long m)
{
	EXPECT_EQ(xa_erase(xa, real_index(m)), md->ent[m], "xa_erase", m);
	model_remove(m);
}

static void op_insert(struct xarray *xa, unsigned long m)
{
	void *entry = random_entry();
	int err = xa_insert(xa, real_index(m), entry, GFP_KERNEL);

	EXPECT_EQ(err, md->ent[m] ? -EBUSY : 0, "xa_insert", m);
	if (!err)
		model_store(m, 0, entry);
}

static void op_cmpxchg(struct xarray *xa, unsigned long m)
{
	void *old = gs_rng_below(&rng, 2) ? md->ent[m] : random_entry();
	void *entry = gs_rng_below(&rng, 8) ? random_entry() : NULL;
	void *curr = md->ent[m];

	EXPECT_EQ(xa_cmpxchg(xa, real_index(m), old, entry, GFP_KERNEL), curr, "xa_cmpxchg", m);
	if (curr != old)
		return;
	if (entry)
		model_store(m, 0, entry);
	else
		model_remove(m);
}

static void op_mark(struct xarray *xa, unsigned long m)
{
	xa_mark_t mark = (xa_mark_t)gs_rng_below(&rng, 3);

	if (gs_rng_below(&rng, 3)) {
		xa_set_mark(xa, real_index(m), mark);
		if (md->ent[m])
			md->marks[md->start[m]] |= 1U << mark;
	} else {
		xa_clear_mark(xa, real_index(m), mark);
		if (md->ent[m])
			md->marks[md->start[m]] &= ~(1U << mark);
	}
}

static void op_split(struct xarray *xa, unsigned long m)
{
	unsigned int order = md->order[m], new_order;
	void *entry = md->ent[m];

	if (!entry || !order)
		return;
	new_order = (unsigned int)gs_rng_below(&rng, order);
	{
		XA_STATE_ORDER(xas, xa, real_index(m), new_order);

		xas_split_alloc(&xas, entry, order, GFP_KERNEL);
		xas_lock(&xas);
		xas_split(&xas, entry, order);
		xas_unlock(&xas);
		xas_destroy(&xas);
		if (xas_error(&xas))
			FAIL("split %u -> %u failed: %d", order, new_order, xas_error(&xas));
	}
	model_split(m, new_order);
}

static void op_try_split(struct xarray *xa, unsigned long m)
{
	unsigned int order = md->order[m], new_order;
	void *entry = md->ent[m];

	if (!entry || !order)
		return;
	new_order = xas_try_split_min_order(order);
	{
		XA_STATE_ORDER(xas, xa, real_index(m), new_order);

		xas_lock(&xas);
		xas_try_split(&xas, entry, order);
		xas_unlock(&xas);
		xas_destroy(&xas);
		if (xas_error(&xas))
			FAIL("try_split %u -> %u failed: %d", order, new_order, xas_error(&xas));
	}
	model_split(m, new_order);
}

static void op_store_range(struct xarray *xa)
{
	unsigned int order = (unsigned int)gs_rng_below(&rng, MAX_ORDER + 1);
	unsigned long m = random_aligned(order), r = real_index(m);
	void *entry = gs_rng_below(&rng, 4) ? random_entry() : NULL;

	if (xa_err(xa_store_range(xa, r, r + (1UL << order) - 1, entry, GFP_KERNEL)))
		FAIL("xa_store_range failed");
	if (entry)
		model_store(m, order, entry);
	else
		model_erase_block(m, order);
}

/* Model index of the first entry touching [m, limit], or NR_IDX. */
static unsigned long model_find(unsigned long m, unsigned long limit, int mark)
{
	for (unsigned long i = m; i <= limit; i++) {
		if (!md->ent[i])
			continue;
		if (mark < 0 || md->marks[md->start[i]] & (1U << mark))
			return i;
	}
	return NR_IDX;
}

static void op_check(struct xarray *xa, unsigned long m)
{
	unsigned long limit = m < HALF ? HALF - 1 : NR_IDX - 1, idx, found;
	int mark = (int)gs_rng_below(&rng, 4) - 1;
	void *entry;

	if (limit > m + 300)
		limit = m + 300;
	EXPECT_EQ(xa_load(xa, real_index(m)), md->ent[m], "xa_load", m);
	if (md->ent[m]) {
		EXPECT_EQ(xa_get_order(xa, real_index(m)), (int)md->order[m], "xa_get_order", m);
		for (xa_mark_t k = 0; k < 3; k++)
			EXPECT_EQ(xa_get_mark(xa, real_index(m), k),
				  !!(md->marks[md->start[m]] & (1U << k)), "xa_get_mark", m);
	}
	/* xa_find from m: an entry containing m is reported at m. */
	idx = real_index(m);
	entry = xa_find(xa, &idx, real_index(limit), mark < 0 ? XA_PRESENT : (xa_mark_t)mark);
	found = model_find(m, limit, mark);
	EXPECT_EQ(entry, found < NR_IDX ? md->ent[found] : NULL, "xa_find", m);
	if (entry)
		EXPECT_EQ(model_index(idx), found, "xa_find index", m);
	/* xa_find_after from m: the next entry starting after m. */
	idx = real_index(m);
	entry = xa_find_after(xa, &idx, real_index(limit), mark < 0 ? XA_PRESENT : (xa_mark_t)mark);
	found = NR_IDX;
	for (unsigned long i = m + 1; i <= limit && found == NR_IDX; i++)
		if (md->ent[i] && md->start[i] == i && (mark < 0 || md->marks[i] & (1U << mark)))
			found = i;
	EXPECT_EQ(entry, found < NR_IDX ? md->ent[found] : NULL, "xa_find_after", m);
	if (entry)
		EXPECT_EQ(model_index(idx), found, "xa_find_after index", m);
}

/* Every entry once, in order, at its first index; then each mark; then the validator. */
static void full_check(struct xarray *xa)
{
	unsigned long index, m = 0;
	void *entry;

	xa_for_each (xa, index, entry) {
		while (m < NR_IDX && !(md->ent[m] && md->start[m] == m))
			m++;
		if (m == NR_IDX)
			FAIL("xa_for_each found an extra entry at %lu", index);
		EXPECT_EQ(model_index(index), m, "xa_for_each index", m);
		EXPECT_EQ(entry, md->ent[m], "xa_for_each entry", m);
		m++;
	}
	while (m < NR_IDX && !(md->ent[m] && md->start[m] == m))
		m++;
	if (m != NR_IDX)
		FAIL("xa_for_each missed the entry at model index %lu", m);
	for (xa_mark_t mark = 0; mark < 3; mark++) {
		unsigned long n = 0, expect = 0;

		xa_for_each_marked (xa, index, entry, mark) {
			m = model_index(index);
			if (m == NR_IDX || !(md->marks[m] & (1U << mark)) || md->ent[m] != entry)
				FAIL("marked walk: unexpected entry at %lu", index);
			n++;
		}
		for (m = 0; m < NR_IDX; m++)
			if (md->ent[m] && md->start[m] == m && md->marks[m] & (1U << mark))
				expect++;
		EXPECT_EQ(n, expect, "marked count", (unsigned long)mark);
		EXPECT_EQ(xa_marked(xa, mark), expect != 0, "xa_marked", (unsigned long)mark);
	}
	if (xa_validate(xa, stderr)) {
		xa_dump(stderr, xa);
		FAIL("validator");
	}
}

static void run_ops(unsigned long nr_ops)
{
	DEFINE_XARRAY(xa);

	for (op_nr = 0; op_nr < nr_ops; op_nr++) {
		unsigned long m = gs_rng_below(&rng, NR_IDX);
		unsigned int r = (unsigned int)gs_rng_below(&rng, 100);

		if (r < 22)
			op_store0(&xa, m);
		else if (r < 30)
			op_store_order(&xa);
		else if (r < 44)
			op_erase(&xa, m);
		else if (r < 49)
			op_insert(&xa, m);
		else if (r < 54)
			op_cmpxchg(&xa, m);
		else if (r < 64)
			op_mark(&xa, m);
		else if (r < 69)
			op_split(&xa, m);
		else if (r < 72)
			op_try_split(&xa, m);
		else if (r < 76)
			op_store_range(&xa);
		else
			op_check(&xa, m);
		if (op_nr % 20000 == 19999)
			full_check(&xa);
		if (op_nr % 250000 == 249999) {
			xa_destroy(&xa);
			memset(md, 0, sizeof(*md));
			gs_test_assert_no_leaks();
		}
	}
	full_check(&xa);
	xa_destroy(&xa);
}

START_TEST(test_differential)
{
	uint64_t seed = gs_test_seed();
	unsigned long nr_ops = gs_test_scale(1200000);
	unsigned long warns = gs_warn_count();

	printf("xarray differential: %lu operations, seed %llu\n", nr_ops,
	       (unsigned long long)seed);
	fflush(stdout);
	gs_rng_seed(&rng, seed);
	md = calloc(1, sizeof(*md));
	ck_assert_ptr_nonnull(md);
	run_ops(nr_ops);
	free(md);
	ck_assert_uint_eq(gs_warn_count(), warns);
	gs_test_assert_no_leaks();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("xarray-diff");
	TCase *tc = tcase_create("differential");

	tcase_add_test(tc, test_differential);
	suite_add_tcase(s, tc);
	return s;
}
