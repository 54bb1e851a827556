// SPDX-License-Identifier: MIT
/*
 * Unit tests of the XArray (lib/xarray.c). The areas follow the inventory of
 * Linux lib/test_xarray.c that applies to a non-allocating array (load,
 * marks, shrink, insert, cmpxchg, multi-index stores, orders, find, pause,
 * accounting, destroy, store_range, split), plus gmemsim's additions: splits
 * of any order in one call, xas_try_split(), and fault injection of every
 * allocation of every allocating operation. The tests are our own.
 */
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include <gmemsim/rng.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>
#include <gmemsim/xarray.h>
#include "config.h"
#include "harness.h"

#define CHUNK_SHIFT XA_CHUNK_SHIFT
#define CHUNK_SIZE  (1UL << CHUNK_SHIFT)

static unsigned long warns_at_start;

/*
 * Check's assertions report progress to the parent process on every call;
 * hot loops use this instead, which costs nothing until it fails.
 */
#define EXPECT(cond)                                                                   \
	do {                                                                           \
		if (__builtin_expect(!(cond), 0))                                      \
			ck_abort_msg("%s:%d: expected %s", __FILE__, __LINE__, #cond); \
	} while (0)

static void *xa_mk_index(unsigned long index)
{
	return xa_mk_value(index & (~0UL >> 1));
}

/* A fake, never dereferenced, pointer entry (low bits 00). */
static void *xa_mk_ptr(unsigned long n)
{
	return (void *)((n + 1) << 3);
}

static void xa_check(struct xarray *xa)
{
	int err = xa_validate(xa, stderr);

	if (err)
		xa_dump(stderr, xa);
	ck_assert_int_eq(err, 0);
}

static void xa_finish(struct xarray *xa)
{
	xa_check(xa);
	xa_destroy(xa);
	ck_assert(xa_empty(xa));
	ck_assert_uint_eq(xa_nr_nodes(xa), 0);
	gs_test_assert_no_leaks();
}

static void setup(void)
{
	warns_at_start = gs_warn_count();
}

static void teardown(void)
{
	ck_assert_uint_eq(gs_warn_count(), warns_at_start);
	gs_test_assert_no_leaks();
}

/* Store a multi-index entry the way the kernel's test helper does. */
static int xa_store_order(struct xarray *xa, unsigned long index, unsigned int order, void *entry,
			  gfp_t gfp)
{
	XA_STATE_ORDER(xas, xa, index, order);

	do {
		xas_lock(&xas);
		xas_store(&xas, entry);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, gfp));
	return xas_error(&xas);
}

static int split_entry(struct xarray *xa, unsigned long index, unsigned int order,
		       unsigned int new_order, void *entry)
{
	XA_STATE_ORDER(xas, xa, index, new_order);

	xas_split_alloc(&xas, entry, order, GFP_KERNEL);
	if (!xas_error(&xas)) {
		xas_lock(&xas);
		xas_split(&xas, entry, order);
		xas_unlock(&xas);
	}
	xas_destroy(&xas);
	return xas_error(&xas);
}

/* ---- entries and errors ----------------------------------------------------------- */

START_TEST(test_entries)
{
	DEFINE_XARRAY(xa);

	ck_assert(xa_is_value(xa_mk_value(0)));
	ck_assert_uint_eq(xa_to_value(xa_mk_value(~0UL >> 1)), ~0UL >> 1);
	ck_assert(!xa_is_internal(xa_mk_value(3)));
	ck_assert(xa_is_err(XA_ERROR(-ENOMEM)));
	ck_assert_int_eq(xa_err(XA_ERROR(-ENOMEM)), -ENOMEM);
	ck_assert_int_eq(xa_err(XA_ERROR(-EINVAL)), -EINVAL);
	ck_assert_int_eq(xa_err(xa_mk_value(12)), 0);
	ck_assert_int_eq(xa_err(NULL), 0);
	ck_assert(!xa_is_err(xa_mk_internal(5)));
	ck_assert(!xa_is_err(xa_mk_ptr(7)));
	ck_assert_int_eq(xa_err(xa_store(&xa, 0, xa_mk_index(0), GFP_NOWAIT)), 0);
	ck_assert_int_eq(xa_err(xa_erase(&xa, 0)), 0);

	/* Internal entries cannot be stored. */
	gs_warn_set_mode(GS_WARN_QUIET);
	ck_assert_int_eq(xa_err(xa_store(&xa, 1, xa_mk_internal(3), GFP_KERNEL)), -EINVAL);
	ck_assert_int_eq(xa_insert(&xa, 1, xa_mk_internal(3), GFP_KERNEL), -EINVAL);
	gs_warn_set_mode(GS_WARN_PRINT);
	warns_at_start = gs_warn_count();
	ck_assert(xa_empty(&xa));
	/* Inserting NULL reserves, as xa_reserve() does: loads see NULL, inserts -EBUSY. */
	ck_assert_int_eq(xa_insert(&xa, 1, NULL, GFP_KERNEL), 0);
	ck_assert(!xa_empty(&xa));
	ck_assert_ptr_null(xa_load(&xa, 1));
	ck_assert_int_eq(xa_insert(&xa, 1, xa_mk_index(1), GFP_KERNEL), -EBUSY);
	xa_release(&xa, 1);
	ck_assert(xa_empty(&xa));
	xa_finish(&xa);
}
END_TEST

START_TEST(test_nowait_enomem)
{
	DEFINE_XARRAY(xa);
	struct gs_inject_rule rule = {.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_EVERY};
	int id = gs_inject_arm(&rule);

	ck_assert_int_ge(id, 0);
	/* Index 0 lives in the head and needs no node. */
	ck_assert_ptr_null(xa_store(&xa, 0, xa_mk_index(0), GFP_NOWAIT));
	ck_assert_int_eq(xa_err(xa_store(&xa, 1, xa_mk_index(1), GFP_NOWAIT)), -ENOMEM);
	ck_assert_int_eq(xa_err(xa_store(&xa, 1, xa_mk_index(1), GFP_KERNEL)), -ENOMEM);
	gs_inject_disarm(id);
	ck_assert_ptr_eq(xa_load(&xa, 0), xa_mk_index(0));
	ck_assert_ptr_null(xa_load(&xa, 1));
	ck_assert_uint_eq(xa_nr_nodes(&xa), 0);
	ck_assert_ptr_null(xa_store(&xa, 1, xa_mk_index(1), GFP_NOWAIT));
	xa_finish(&xa);
}
END_TEST

/* ---- load / store / erase ----------------------------------------------------------- */

START_TEST(test_load)
{
	DEFINE_XARRAY(xa);
	unsigned long i, j;

	for (i = 0; i < 1024; i++) {
		ck_assert_ptr_null(xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL));
		for (j = 0; j < 1030; j++)
			EXPECT(xa_load(&xa, j) == (j <= i ? xa_mk_index(j) : NULL));
	}
	xa_check(&xa);
	for (i = 0; i < 1024; i++) {
		EXPECT(xa_erase(&xa, i) == xa_mk_index(i));
		ck_assert_ptr_null(xa_erase(&xa, i));
		for (j = 0; j < 1030; j++)
			EXPECT(xa_load(&xa, j) == ((j > i && j < 1024) ? xa_mk_index(j) : NULL));
		if (i % 97 == 0)
			xa_check(&xa);
	}
	EXPECT(xa_empty(&xa));
	/* Replacing returns the old entry; NULL store erases. */
	ck_assert_ptr_null(xa_store(&xa, 5, xa_mk_ptr(1), GFP_KERNEL));
	EXPECT(xa_store(&xa, 5, xa_mk_ptr(2), GFP_KERNEL) == xa_mk_ptr(1));
	EXPECT(xa_store(&xa, 5, NULL, GFP_KERNEL) == xa_mk_ptr(2));
	EXPECT(xa_empty(&xa));
	/* The extremes of the index space. */
	ck_assert_ptr_null(xa_store(&xa, ~0UL, xa_mk_index(~0UL), GFP_KERNEL));
	ck_assert_ptr_null(xa_store(&xa, 0, xa_mk_index(0), GFP_KERNEL));
	EXPECT(xa_load(&xa, ~0UL) == xa_mk_index(~0UL));
	ck_assert_ptr_null(xa_load(&xa, ~0UL - 1));
	xa_check(&xa);
	EXPECT(xa_erase(&xa, ~0UL) == xa_mk_index(~0UL));
	EXPECT(xa_nr_nodes(&xa) == 0);
	xa_finish(&xa);
}
END_TEST

/*
 * Pointers whose low bits say "internal" and whose value says "node" (an
 * unaligned char pointer): stored like any pointer, told from nodes by the
 * level they sit at, never moved into the head (where no level tells them).
 */
START_TEST(test_node_looking)
{
	static char name[64] __attribute__((aligned(8)));
	char *odd = name + 2; /* low bits 10, well above 4096 */
	DEFINE_XARRAY_FLAGS(xa, XA_FLAGS_TRACK_FREE);
	XA_STATE(xas, &xa, 0);
	unsigned long index, n = 0;
	void *entry;

	ck_assert(xa_is_node(odd));
	ck_assert_ptr_null(xa_store(&xa, 0, odd, GFP_KERNEL));
	ck_assert_ptr_eq(xa_load(&xa, 0), odd);
	ck_assert_uint_eq(xa_nr_nodes(&xa), 1); /* a leaf, not the head */
	xa_check(&xa);
	/* Erasing a neighbour must not shrink the leaf into the head. */
	ck_assert_ptr_null(xa_store(&xa, 1, xa_mk_ptr(1), GFP_KERNEL));
	ck_assert_ptr_eq(xa_erase(&xa, 1), xa_mk_ptr(1));
	ck_assert_uint_eq(xa_nr_nodes(&xa), 1);
	ck_assert_ptr_eq(xa_load(&xa, 0), odd);
	xa_check(&xa);
	/* Replacing it by an ordinary entry lets the tree shrink again. */
	ck_assert_ptr_eq(xa_store(&xa, 0, xa_mk_ptr(0), GFP_KERNEL), odd);
	ck_assert_ptr_null(xa_store(&xa, 1, xa_mk_ptr(1), GFP_KERNEL));
	ck_assert_ptr_eq(xa_erase(&xa, 1), xa_mk_ptr(1));
	ck_assert_uint_eq(xa_nr_nodes(&xa), 0);
	/* A lone ordinary entry in the head, replaced by a node-looking one. */
	ck_assert_ptr_eq(xa_store(&xa, 0, odd, GFP_KERNEL), xa_mk_ptr(0));
	ck_assert_uint_eq(xa_nr_nodes(&xa), 1);
	xa_check(&xa);
	/* Deep in the tree, with marks, searches and steps. */
	for (index = 1; index < 8; index++)
		ck_assert_ptr_null(xa_store(&xa, index << 12, name + 2 + 4 * index, GFP_KERNEL));
	xa_set_mark(&xa, 3 << 12, XA_MARK_1);
	ck_assert(xa_get_mark(&xa, 3 << 12, XA_MARK_1));
	ck_assert(!xa_get_mark(&xa, 4 << 12, XA_MARK_1));
	xa_for_each (&xa, index, entry) {
		ck_assert_ptr_eq(entry, index ? name + 2 + 4 * (index >> 12) : odd);
		n++;
	}
	ck_assert_uint_eq(n, 8);
	index = 0;
	ck_assert_ptr_eq(xa_find(&xa, &index, ULONG_MAX, XA_MARK_1), name + 14);
	ck_assert_uint_eq(index, 3 << 12);
	rcu_read_lock();
	xas_set(&xas, 2 << 12);
	ck_assert_ptr_eq(xas_load(&xas), name + 10);
	ck_assert_ptr_null(xas_next(&xas));
	xas_set(&xas, (3 << 12) + 1);
	ck_assert_ptr_null(xas_load(&xas));
	ck_assert_ptr_eq(xas_prev(&xas), name + 14);
	rcu_read_unlock();
	/* The free-tracking walk of an allocating array sees entries, not nodes. */
	xa_check(&xa);
	for (index = 1; index < 8; index++)
		ck_assert_ptr_eq(xa_erase(&xa, index << 12), name + 2 + 4 * index);
	ck_assert_ptr_eq(xa_load(&xa, 0), odd);
	xa_finish(&xa);
}
END_TEST

START_TEST(test_shrink)
{
	DEFINE_XARRAY(xa);
	unsigned int order, max_order = CHUNK_SHIFT == 6 ? 15 : 10;

	ck_assert_ptr_null(xa_store(&xa, 0, xa_mk_index(0), GFP_KERNEL));
	ck_assert_uint_eq(xa_nr_nodes(&xa), 0);
	ck_assert_ptr_null(xa_store(&xa, 1, xa_mk_index(1), GFP_KERNEL));
	ck_assert_uint_eq(xa_nr_nodes(&xa), 1);
	ck_assert_ptr_eq(xa_erase(&xa, 1), xa_mk_index(1));
	/* Back to a lone entry in the head. */
	ck_assert_uint_eq(xa_nr_nodes(&xa), 0);
	ck_assert_ptr_eq(xa_load(&xa, 0), xa_mk_index(0));
	ck_assert_ptr_null(xa_load(&xa, 1));
	xa_check(&xa);
	ck_assert_ptr_eq(xa_erase(&xa, 0), xa_mk_index(0));
	ck_assert(xa_empty(&xa));

	for (order = 0; order < max_order; order++) {
		unsigned long max = (1UL << order) - 1;

		ck_assert_ptr_null(xa_store(&xa, 0, xa_mk_index(0), GFP_KERNEL));
		ck_assert_ptr_eq(xa_store(&xa, max, xa_mk_index(max), GFP_KERNEL),
				 max ? NULL : xa_mk_index(0));
		xa_check(&xa);
		ck_assert_ptr_eq(xa_erase(&xa, max), xa_mk_index(max));
		if (max) {
			ck_assert_uint_eq(xa_nr_nodes(&xa), 0);
			ck_assert_ptr_eq(xa_erase(&xa, 0), xa_mk_index(0));
		}
		ck_assert(xa_empty(&xa));
	}
	xa_finish(&xa);
}
END_TEST

/* ---- marks --------------------------------------------------------------------------- */

START_TEST(test_marks)
{
	DEFINE_XARRAY(xa);
	unsigned long index, seen;
	unsigned int order;
	void *entry;

	for (index = 0; index < 4096; index += 17) {
		ck_assert(!xa_get_mark(&xa, index, XA_MARK_0));
		xa_set_mark(&xa, index, XA_MARK_0);
		/* A mark on an absent entry does not stick. */
		ck_assert(!xa_get_mark(&xa, index, XA_MARK_0));
		ck_assert_ptr_null(xa_store(&xa, index, xa_mk_index(index), GFP_KERNEL));
		xa_set_mark(&xa, index, XA_MARK_0);
		ck_assert(xa_get_mark(&xa, index, XA_MARK_0));
		ck_assert(!xa_get_mark(&xa, index, XA_MARK_1));
		ck_assert(!xa_get_mark(&xa, index + 1, XA_MARK_0));
		ck_assert(xa_marked(&xa, XA_MARK_0));
		xa_check(&xa);
	}
	seen = 0;
	xa_for_each_marked (&xa, index, entry, XA_MARK_0) {
		ck_assert_uint_eq(index, seen * 17);
		ck_assert_ptr_eq(entry, xa_mk_index(index));
		seen++;
	}
	ck_assert_uint_eq(seen, (4096 + 16) / 17);
	/* Storing keeps marks; erasing drops them. */
	ck_assert_ptr_eq(xa_store(&xa, 17, xa_mk_ptr(17), GFP_KERNEL), xa_mk_index(17));
	ck_assert(xa_get_mark(&xa, 17, XA_MARK_0));
	xa_erase(&xa, 17);
	ck_assert_ptr_null(xa_store(&xa, 17, xa_mk_index(17), GFP_KERNEL));
	ck_assert(!xa_get_mark(&xa, 17, XA_MARK_0));
	for (index = 0; index < 4096; index += 17)
		xa_clear_mark(&xa, index, XA_MARK_0);
	ck_assert(!xa_marked(&xa, XA_MARK_0));
	xa_check(&xa);
	xa_destroy(&xa);

	/* Marks on multi-index entries are seen from every index. */
	for (order = 1; order < 13; order++) {
		unsigned long base = 3UL << order, last = base + (1UL << order) - 1;

		ck_assert_int_eq(xa_store_order(&xa, base, order, xa_mk_index(base), GFP_KERNEL),
				 0);
		xa_set_mark(&xa, last, XA_MARK_1);
		ck_assert(xa_get_mark(&xa, base, XA_MARK_1));
		ck_assert(xa_get_mark(&xa, base + (1UL << order) / 2, XA_MARK_1));
		ck_assert(xa_get_mark(&xa, last, XA_MARK_1));
		ck_assert(!xa_get_mark(&xa, last + 1, XA_MARK_1));
		ck_assert(!xa_get_mark(&xa, base - 1, XA_MARK_1));
		seen = 0;
		xa_for_each_marked (&xa, index, entry, XA_MARK_1) {
			ck_assert_uint_eq(index, base);
			seen++;
		}
		ck_assert_uint_eq(seen, 1);
		/* xa_find from inside reports the index it was asked for. */
		index = base + 1;
		ck_assert_ptr_eq(xa_find(&xa, &index, ~0UL, XA_MARK_1), xa_mk_index(base));
		ck_assert_uint_eq(index, base + 1);
		/* Replacing the entry through any index keeps its marks. */
		ck_assert_ptr_eq(xa_store(&xa, last, xa_mk_index(7), GFP_KERNEL),
				 xa_mk_index(base));
		ck_assert(xa_get_mark(&xa, base, XA_MARK_1));
		ck_assert_int_eq(xa_get_order(&xa, base), (int)order);
		xa_clear_mark(&xa, base + 1, XA_MARK_1);
		ck_assert(!xa_get_mark(&xa, last, XA_MARK_1));
		ck_assert(!xa_marked(&xa, XA_MARK_1));
		xa_check(&xa);
		xa_erase(&xa, base);
		ck_assert(xa_empty(&xa));
	}

	/* A multi-index store gathers the marks of what it covers. */
	ck_assert_ptr_null(xa_store(&xa, 4, xa_mk_index(4), GFP_KERNEL));
	ck_assert_ptr_null(xa_store(&xa, 6, xa_mk_index(6), GFP_KERNEL));
	xa_set_mark(&xa, 6, XA_MARK_2);
	ck_assert_int_eq(xa_store_order(&xa, 4, 2, xa_mk_index(44), GFP_KERNEL), 0);
	for (index = 4; index < 8; index++)
		ck_assert(xa_get_mark(&xa, index, XA_MARK_2));
	xa_check(&xa);
	xa_finish(&xa);
}
END_TEST

/*
 * Erasing entries one slot at a time, marked with each mark or none, in
 * leaves where other slots keep theirs: an erased slot's marks go (up the
 * tree and off the array once no entry has them), the others' stay.
 */
START_TEST(test_erase_clears_own_marks)
{
	DEFINE_XARRAY(xa);
	const unsigned long nr = 3 * CHUNK_SIZE;

	for (unsigned long i = 0; i < nr; i++) {
		xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL);
		if (i % 4 != 3)
			xa_set_mark(&xa, i, (xa_mark_t)(i % 4));
	}
	for (unsigned long i = 0; i < nr; i += 2) {
		ck_assert_ptr_eq(xa_erase(&xa, i), xa_mk_index(i));
		for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
			ck_assert(!xa_get_mark(&xa, i, mark));
		xa_check(&xa);
	}
	for (unsigned long i = 1; i < nr; i += 2)
		for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
			ck_assert_int_eq(xa_get_mark(&xa, i, mark), i % 4 == mark);
	ck_assert(!xa_marked(&xa, XA_MARK_0) && !xa_marked(&xa, XA_MARK_2));
	ck_assert(xa_marked(&xa, XA_MARK_1));
	for (unsigned long i = 1; i < nr; i += 2)
		xa_erase(&xa, i);
	ck_assert(!xa_marked(&xa, XA_MARK_1) && xa_empty(&xa));
	xa_finish(&xa);
}
END_TEST

START_TEST(test_marks_xas)
{
	DEFINE_XARRAY(xa);
	XA_STATE(xas, &xa, 0);
	unsigned long i, n = 0;
	void *entry;

	for (i = 0; i < 2000; i++)
		xa_store(&xa, i * 3, xa_mk_index(i * 3), GFP_KERNEL);
	xas_lock(&xas);
	xas_for_each (&xas, entry, ~0UL) {
		if (xa_to_value(entry) % 2 == 0)
			xas_set_mark(&xas, XA_MARK_2);
	}
	xas_unlock(&xas);
	xas_set(&xas, 0);
	xas_lock(&xas);
	xas_for_each_marked (&xas, entry, ~0UL, XA_MARK_2) {
		ck_assert_uint_eq(xas.xa_index % 2, 0);
		ck_assert(xas_get_mark(&xas, XA_MARK_2));
		n++;
	}
	xas_unlock(&xas);
	ck_assert_uint_eq(n, 1000);
	/* A bounded marked walk stops at max. */
	n = 0;
	xas_set(&xas, 0);
	xas_lock(&xas);
	xas_for_each_marked (&xas, entry, 599, XA_MARK_2)
		n++;
	xas_unlock(&xas);
	ck_assert_uint_eq(n, 100);
	xa_check(&xa);
	xa_finish(&xa);
}
END_TEST

/* ---- insert / cmpxchg ---------------------------------------------------------------- */

START_TEST(test_insert)
{
	DEFINE_XARRAY(xa);
	unsigned long i;

	for (i = 0; i < 64 * CHUNK_SIZE; i += 7) {
		ck_assert_int_eq(xa_insert(&xa, i, xa_mk_index(i), GFP_KERNEL), 0);
		ck_assert_int_eq(xa_insert(&xa, i, xa_mk_index(1), GFP_KERNEL), -EBUSY);
		ck_assert_ptr_eq(xa_load(&xa, i), xa_mk_index(i));
	}
	xa_check(&xa);
	xa_destroy(&xa);
	ck_assert_int_eq(xa_insert(&xa, ~0UL, xa_mk_ptr(1), GFP_KERNEL), 0);
	ck_assert_int_eq(xa_insert(&xa, ~0UL, xa_mk_ptr(2), GFP_KERNEL), -EBUSY);
	ck_assert_ptr_eq(xa_erase(&xa, ~0UL), xa_mk_ptr(1));
	/* Every index of a multi-index entry is busy. */
	ck_assert_int_eq(xa_store_order(&xa, 64, 6, xa_mk_ptr(3), GFP_KERNEL), 0);
	for (i = 64; i < 128; i += 9)
		ck_assert_int_eq(xa_insert(&xa, i, xa_mk_ptr(4), GFP_KERNEL), -EBUSY);
	ck_assert_int_eq(xa_insert(&xa, 128, xa_mk_ptr(4), GFP_KERNEL), 0);
	ck_assert_int_eq(xa_insert(&xa, 63, xa_mk_ptr(4), GFP_KERNEL), 0);
	xa_finish(&xa);
}
END_TEST

START_TEST(test_cmpxchg)
{
	DEFINE_XARRAY(xa);
	void *five = xa_mk_value(5), *six = xa_mk_value(6), *lots = xa_mk_value(12345678);
	unsigned int order;

	ck_assert_ptr_null(xa_store(&xa, 12345678, lots, GFP_KERNEL));
	ck_assert_ptr_eq(xa_store(&xa, 12345678, six, GFP_KERNEL), lots);
	ck_assert_ptr_eq(xa_cmpxchg(&xa, 12345678, six, five, GFP_KERNEL), six);
	ck_assert_ptr_eq(xa_cmpxchg(&xa, 12345678, six, lots, GFP_KERNEL), five);
	ck_assert_ptr_eq(xa_load(&xa, 12345678), five);
	ck_assert_ptr_null(xa_cmpxchg(&xa, 5, five, lots, GFP_KERNEL));
	ck_assert_ptr_null(xa_load(&xa, 5));
	ck_assert_ptr_null(xa_cmpxchg(&xa, 5, NULL, five, GFP_KERNEL));
	ck_assert_ptr_eq(xa_cmpxchg(&xa, 5, NULL, six, GFP_KERNEL), five);
	ck_assert_ptr_eq(xa_cmpxchg(&xa, 5, five, NULL, GFP_KERNEL), five);
	ck_assert_ptr_null(xa_load(&xa, 5));
	ck_assert_ptr_eq(xa_erase(&xa, 12345678), five);
	ck_assert(xa_empty(&xa));

	/* On a multi-index entry, cmpxchg replaces the whole entry and keeps its order. */
	for (order = 0; order < 14; order++) {
		unsigned long last = (1UL << order) - 1;

		ck_assert_int_eq(xa_store_order(&xa, 0, order, five, GFP_KERNEL), 0);
		ck_assert_int_eq(xa_get_order(&xa, last), (int)order);
		ck_assert_ptr_eq(xa_cmpxchg(&xa, last, five, lots, GFP_KERNEL), five);
		ck_assert_ptr_eq(xa_load(&xa, 0), lots);
		ck_assert_ptr_eq(xa_load(&xa, last), lots);
		ck_assert_ptr_null(xa_load(&xa, last + 1));
		ck_assert_int_eq(xa_get_order(&xa, 0), (int)order);
		ck_assert_ptr_eq(xa_cmpxchg(&xa, 0, lots, six, GFP_KERNEL), lots);
		ck_assert_int_eq(xa_get_order(&xa, last), (int)order);
		xa_check(&xa);
		ck_assert_ptr_eq(xa_cmpxchg(&xa, last, six, NULL, GFP_KERNEL), six);
		ck_assert(xa_empty(&xa));
	}
	xa_finish(&xa);
}
END_TEST

/* ---- multi-index stores ---------------------------------------------------------- */

static void check_multi_store_1(struct xarray *xa, unsigned long index, unsigned int order)
{
	unsigned long min = index & ~((1UL << order) - 1);
	unsigned long max = min + (1UL << order);

	ck_assert_int_eq(xa_store_order(xa, index, order, xa_mk_index(index), GFP_KERNEL), 0);
	ck_assert_ptr_eq(xa_load(xa, min), xa_mk_index(index));
	ck_assert_ptr_eq(xa_load(xa, max - 1), xa_mk_index(index));
	ck_assert_ptr_null(xa_load(xa, max));
	if (min)
		ck_assert_ptr_null(xa_load(xa, min - 1));
	xa_check(xa);
	/* A single-index store into it replaces the whole entry. */
	ck_assert_ptr_eq(xa_store(xa, min, xa_mk_index(min), GFP_KERNEL), xa_mk_index(index));
	ck_assert_ptr_eq(xa_load(xa, max - 1), xa_mk_index(min));
	ck_assert_ptr_eq(xa_store(xa, max - 1, xa_mk_ptr(9), GFP_KERNEL), xa_mk_index(min));
	ck_assert_ptr_eq(xa_load(xa, min), xa_mk_ptr(9));
	ck_assert_ptr_null(xa_load(xa, max));
	ck_assert_int_eq(xa_get_order(xa, min), (int)order);
	xa_check(xa);
	/* Erasing any index erases all of it. */
	ck_assert_ptr_eq(xa_erase(xa, (min + max) / 2), xa_mk_ptr(9));
	ck_assert_ptr_null(xa_load(xa, min));
	ck_assert_ptr_null(xa_load(xa, max - 1));
	ck_assert(xa_empty(xa));
}

START_TEST(test_multi_store)
{
	DEFINE_XARRAY(xa);
	unsigned int i, j, k, max_order = CHUNK_SHIFT == 6 ? 20 : 12;

	for (i = 1; i < max_order; i++) {
		check_multi_store_1(&xa, 0, i);
		check_multi_store_1(&xa, (1UL << i) + 1, i);
		check_multi_store_1(&xa, 5UL << (i + 3), i);
	}

	/* Overwriting one order with another at index 0. */
	for (i = 0; i < 10; i++) {
		for (j = 0; j < 10; j++) {
			xa_store_order(&xa, 0, i, xa_mk_index(i), GFP_KERNEL);
			xa_store_order(&xa, 0, j, xa_mk_index(j), GFP_KERNEL);
			for (k = 0; k < 11; k++) {
				void *entry = xa_load(&xa, (1UL << k) - 1);

				if (i < k && j < k)
					ck_assert_ptr_null(entry);
				else
					EXPECT(entry == xa_mk_index(j));
			}
			xa_check(&xa);
			xa_erase(&xa, 0);
			EXPECT(xa_empty(&xa));
		}
	}

	/* A larger entry over smaller ones and nodes frees them; a value over pointers. */
	for (i = 0; i < 200; i++)
		xa_store(&xa, i, xa_mk_ptr(i), GFP_KERNEL);
	EXPECT(xa_store_order(&xa, 0, 8, xa_mk_index(0), GFP_KERNEL) == 0);
	for (i = 0; i < 256; i++)
		EXPECT(xa_load(&xa, i) == xa_mk_index(0));
	EXPECT(xa_get_order(&xa, 255) == 8);
	xa_check(&xa);
	/* A smaller entry of another kind inside it replaces all of it. */
	EXPECT(xa_store_order(&xa, 64, 1, xa_mk_ptr(5), GFP_KERNEL) == 0);
	EXPECT(xa_load(&xa, 0) == xa_mk_ptr(5));
	EXPECT(xa_load(&xa, 255) == xa_mk_ptr(5));
	xa_check(&xa);
	xa_finish(&xa);
}
END_TEST

START_TEST(test_get_order)
{
	DEFINE_XARRAY(xa);
	unsigned int order, max_order = CHUNK_SHIFT == 6 ? 25 : 16;
	unsigned long j;

	for (order = 0; order < max_order; order++) {
		unsigned long size = 1UL << order, base = order ? 7UL << order : 0;

		EXPECT(xa_store_order(&xa, base, order, xa_mk_index(order), GFP_KERNEL) == 0);
		for (j = 0; j < size; j += 1 + size / 64) {
			XA_STATE(xas, &xa, base + j);

			EXPECT(xa_get_order(&xa, base + j) == (int)order);
			xas_lock(&xas);
			EXPECT(xas_load(&xas) == xa_mk_index(order));
			EXPECT(xas_get_order(&xas) == (int)order);
			xas_unlock(&xas);
		}
		EXPECT(xa_get_order(&xa, base + size) == 0);
		EXPECT(xa_get_order(&xa, base + size - 1) == (int)order);
		xa_check(&xa);
		xa_erase(&xa, base);
		EXPECT(xa_empty(&xa));
	}
	xa_finish(&xa);
}
END_TEST

/* ---- find and iteration ----------------------------------------------------------- */

START_TEST(test_find)
{
	DEFINE_XARRAY(xa);
	unsigned long i, j, index, count;
	void *entry;

	for (i = 0; i < 100; i++) {
		for (j = 0; j < 100; j++) {
			unsigned long k = 0;

			xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL);
			if (j > i)
				xa_store(&xa, j, xa_mk_index(j), GFP_KERNEL);
			xa_set_mark(&xa, i, XA_MARK_0);
			entry = xa_find(&xa, &k, ~0UL, XA_PRESENT);
			ck_assert_ptr_eq(entry, xa_mk_index(i));
			ck_assert_uint_eq(k, i);
			entry = xa_find_after(&xa, &k, ~0UL, XA_PRESENT);
			ck_assert_ptr_eq(entry, j > i ? xa_mk_index(j) : NULL);
			ck_assert_uint_eq(k, j > i ? j : i);
			k = 0;
			ck_assert_ptr_eq(xa_find(&xa, &k, ~0UL, XA_MARK_0), xa_mk_index(i));
			ck_assert_ptr_null(xa_find_after(&xa, &k, ~0UL, XA_MARK_0));
			ck_assert_ptr_null(xa_find(&xa, &k, i ? i - 1 : 0, XA_MARK_1));
			xa_erase(&xa, i);
			xa_erase(&xa, j);
			ck_assert(xa_empty(&xa));
		}
	}

	/* Sparse indices across the whole index space. */
	for (i = 0; i < 63; i++)
		xa_store(&xa, 1UL << i, xa_mk_index(i), GFP_KERNEL);
	count = 0;
	xa_for_each (&xa, index, entry) {
		ck_assert_uint_eq(index, 1UL << count);
		ck_assert_ptr_eq(entry, xa_mk_index(count));
		count++;
	}
	ck_assert_uint_eq(count, 63);
	count = 0;
	xa_for_each_range (&xa, index, entry, 3, 1UL << 40)
		count++;
	ck_assert_uint_eq(count, 39);
	xa_check(&xa);
	xa_destroy(&xa);

	/* The last index and wrap-around. */
	xa_store(&xa, ~0UL, xa_mk_index(1), GFP_KERNEL);
	index = ~0UL;
	ck_assert_ptr_null(xa_find_after(&xa, &index, ~0UL, XA_PRESENT));
	index = 5;
	ck_assert_ptr_eq(xa_find(&xa, &index, ~0UL, XA_PRESENT), xa_mk_index(1));
	ck_assert_uint_eq(index, ~0UL);
	xa_finish(&xa);
}
END_TEST

START_TEST(test_find_multi)
{
	DEFINE_XARRAY(xa);
	unsigned long index, count;
	unsigned int order;
	void *entry;

	/* Order 9 at 512: find from inside keeps the index; iteration sees it once. */
	ck_assert_int_eq(xa_store_order(&xa, 512, 9, xa_mk_ptr(1), GFP_KERNEL), 0);
	index = 600;
	ck_assert_ptr_eq(xa_find(&xa, &index, ~0UL, XA_PRESENT), xa_mk_ptr(1));
	ck_assert_uint_eq(index, 600);
	index = 0;
	ck_assert_ptr_eq(xa_find(&xa, &index, ~0UL, XA_PRESENT), xa_mk_ptr(1));
	ck_assert_uint_eq(index, 512);
	ck_assert_ptr_null(xa_find_after(&xa, &index, ~0UL, XA_PRESENT));
	index = 700;
	ck_assert_ptr_null(xa_find_after(&xa, &index, ~0UL, XA_PRESENT));
	count = 0;
	xa_for_each (&xa, index, entry) {
		ck_assert_uint_eq(index, 512);
		count++;
	}
	ck_assert_uint_eq(count, 1);
	xa_destroy(&xa);

	/* Runs of entries of every order, at every level. */
	for (order = 0; order < 14; order++) {
		unsigned long n = 0, size = 1UL << order;

		for (index = 0; index < 8; index++)
			ck_assert_int_eq(xa_store_order(&xa, (2 * index + 1) * size, order,
							xa_mk_index(index), GFP_KERNEL),
					 0);
		xa_set_mark(&xa, 5 * size, XA_MARK_2);
		xa_for_each (&xa, index, entry) {
			ck_assert_uint_eq(index, (2 * n + 1) * size);
			ck_assert_ptr_eq(entry, xa_mk_index(n));
			n++;
		}
		ck_assert_uint_eq(n, 8);
		n = 0;
		xa_for_each_marked (&xa, index, entry, XA_MARK_2) {
			ck_assert_uint_eq(index, 5 * size);
			n++;
		}
		ck_assert_uint_eq(n, 1);
		index = 3 * size + size / 2;
		ck_assert_ptr_eq(xa_find_after(&xa, &index, ~0UL, XA_PRESENT), xa_mk_index(2));
		ck_assert_uint_eq(index, 5 * size);
		xa_check(&xa);
		xa_destroy(&xa);
	}
	xa_finish(&xa);
}
END_TEST

/*
 * xas_find() from a slot of a node, one slot at a time: the walk as it was
 * before it skipped a node's empty and sibling slots in one loop. Whatever
 * xas_find() does faster, it must return the same entry and leave @xas in
 * the same state (node, offset and index: callers read them, and the next
 * call goes on from them).
 */
static void *find_one_slot_at_a_time(struct xa_state *xas, unsigned long max)
{
	struct xa_node *node = xas->xa_node;
	unsigned int offset = xas->xa_offset;

	if (!node->shift && offset != (xas->xa_index & XA_CHUNK_MASK))
		offset = (unsigned int)(((xas->xa_index - 1) & XA_CHUNK_MASK) + 1);
	for (;;) {
		void *entry;

		offset++;
		xas->xa_index &= ~XA_CHUNK_MASK << node->shift;
		xas->xa_index += (unsigned long)offset << node->shift;
		for (;;) {
			if (xas->xa_index > max)
				goto out;
			if (offset < CHUNK_SIZE)
				break;
			offset = node->offset + 1U;
			node = node->parent;
			if (!node)
				goto out;
		}
		entry = node->slots[offset];
		while (node->shift && xa_is_node(entry)) {
			node = xa_to_node(entry);
			offset = 0;
			entry = node->slots[0];
		}
		if (entry &&
		    !(xa_is_internal(entry) &&
		      (unsigned long)entry < (unsigned long)xa_mk_internal(CHUNK_SIZE - 1))) {
			xas->xa_node = node;
			xas->xa_offset = (unsigned char)offset;
			return entry;
		}
	}
out:
	xas->xa_node = node ? node : XAS_BOUNDS;
	xas->xa_offset = (unsigned char)offset;
	return NULL;
}

/*
 * xas_find() over sparse arrays, multi-index entries of orders below, at and
 * above a node's level, and limits anywhere in a node (the top of the index
 * space included): each step returns what the one-slot-at-a-time walk
 * returns and leaves the same state.
 */
START_TEST(test_find_skips_like_steps)
{
	static const unsigned int orders[] = {0, 0, 0, 1, 3, 5, 6, 7, 9, 12};
	const unsigned long span = 1UL << 20;
	struct gs_rng rng;
	unsigned long steps = 0;

	gs_rng_seed(&rng, 16 + (unsigned long)_i);
	for (unsigned int round = 0; round < 6; round++) {
		DEFINE_XARRAY(xa);
		/* Near the top of the index space in one round in two. */
		unsigned long base = round % 2 ? ~0UL - span + 1 : 0;
		unsigned int nr = 8U << (round * 2);

		for (unsigned int n = 0; n < nr; n++) {
			unsigned int order = orders[gs_rng_below(&rng, ARRAY_SIZE(orders))];
			unsigned long index = gs_rng_below(&rng, span) & ~((1UL << order) - 1);

			ck_assert_int_eq(xa_store_order(&xa, base + index, order,
							n % 2 ? xa_mk_index(n) : xa_mk_ptr(n),
							GFP_KERNEL),
					 0);
		}
		xa_check(&xa);
		for (unsigned int q = 0; q < 400; q++) {
			unsigned long start = base + gs_rng_below(&rng, span);
			unsigned long max =
				q % 4 ? start + gs_rng_below(&rng, span / 8) : base + span - 1;
			XA_STATE(xas, &xa, start);

			if (max < start)
				max = ~0UL;
			rcu_read_lock();
			xas_find(&xas, max);
			while (!xas_invalid(&xas) && xas.xa_node && xas.xa_index <= max) {
				struct xa_state ref = xas;
				void *want = find_one_slot_at_a_time(&ref, max);
				void *got = xas_find(&xas, max);

				EXPECT(got == want);
				EXPECT(xas.xa_node == ref.xa_node);
				EXPECT(xas.xa_offset == ref.xa_offset);
				EXPECT(xas.xa_index == ref.xa_index);
				steps++;
			}
			rcu_read_unlock();
		}
		xa_finish(&xa);
	}
	ck_assert_uint_gt(steps, 10000);
}
END_TEST

/*
 * gs_xas_leaf_run() over leaves of pointers, value entries (some with bit 1
 * or bit 63 set, which its four-slot test turns down), multi-index entries
 * (siblings) and holes at every offset, from every entry and with limits
 * anywhere: the run is what a test of one slot at a time counts.
 */
START_TEST(test_leaf_run_like_slot_test)
{
	/* A long run: 8 slots, or all a 4-slot node can hold after the current one. */
	enum { LONG_RUN = CHUNK_SIZE >= 16 ? 8 : CHUNK_SIZE - 1 };
	static const unsigned int orders[] = {0, 0, 0, 0, 0, 0, 1, 2, 3};
	const unsigned long span = 16 * CHUNK_SIZE;
	struct gs_rng rng;
	unsigned long runs = 0, long_runs = 0;

	gs_rng_seed(&rng, 31 + (unsigned long)_i);
	for (unsigned int round = 0; round < 8; round++) {
		DEFINE_XARRAY(xa);
		/* Fewer holes in later rounds: long runs, ended at every offset. */
		unsigned int holes = 1U << (5 - round % 6);

		for (unsigned long index = 0; index < span;) {
			unsigned int order = orders[gs_rng_below(&rng, ARRAY_SIZE(orders))];
			unsigned long kind = gs_rng_below(&rng, 8), v = gs_rng_next(&rng);
			void *entry = kind < 5	 ? xa_mk_ptr(index)
				      : kind < 6 ? xa_mk_value(v & (~0UL >> 1))	 /* bit 63 maybe */
				      : kind < 7 ? xa_mk_value((index << 1) | 1) /* bit 1 set */
						 : xa_mk_value(index << 1);

			index = ALIGN(index, 1UL << order);
			if (index >= span)
				break;
			if (gs_rng_below(&rng, holes))
				ck_assert_int_eq(
					xa_store_order(&xa, index, order, entry, GFP_KERNEL), 0);
			index += 1UL << order;
		}
		xa_check(&xa);
		for (unsigned int q = 0; q < 64; q++) {
			unsigned long max = q % 2 ? span - 1 : gs_rng_below(&rng, span);
			XA_STATE(xas, &xa, gs_rng_below(&rng, span / 2));
			void *entry;

			xas_lock(&xas);
			xas_for_each (&xas, entry, max) {
				unsigned int n = gs_xas_leaf_span(&xas, max), want = 0;
				unsigned int got = gs_xas_leaf_run(&xas, max);

				while (want < n) {
					const void *e =
						xas.xa_node->slots[xas.xa_offset + want + 1];

					if (!e || xa_is_internal(e))
						break;
					want++;
				}
				EXPECT(got == want);
				runs++;
				long_runs += want >= LONG_RUN;
			}
			xas_unlock(&xas);
		}
		xa_finish(&xa);
	}
	/* With 4-slot nodes (xa_chunk_shift=2) the span is 16 times shorter. */
	ck_assert_uint_gt(runs, CHUNK_SIZE >= 64 ? 10000 : 2000);
	ck_assert_uint_gt(long_runs, CHUNK_SIZE >= 64 ? 500 : 100);
}
END_TEST

/*
 * NULL stored entry by entry along a walk, as truncation does, over leaves
 * of pointers, value entries and multi-index entries (orders below and at a
 * node's level), with holes and marks: every store returns the entry, the
 * array stays valid (each node's count and nr_values), and the entries not
 * erased keep their value and marks, the erased ones lose both.
 */
START_TEST(test_null_store_along_walk)
{
	static const unsigned int orders[] = {0, 0, 0, 0, 1, 2, 3, CHUNK_SHIFT};
	enum { SPAN = 32 * CHUNK_SIZE };
	static void *model[SPAN];
	static unsigned char marks[SPAN];
	struct gs_rng rng;
	unsigned long erased = 0;

	gs_rng_seed(&rng, 41 + (unsigned long)_i);
	for (unsigned int round = 0; round < 40; round++) {
		DEFINE_XARRAY(xa);
		unsigned long first = gs_rng_below(&rng, SPAN), last = gs_rng_below(&rng, SPAN);
		XA_STATE(xas, &xa, 0);
		void *entry;

		memset(model, 0, sizeof(model));
		memset(marks, 0, sizeof(marks));
		for (unsigned long index = 0; index < SPAN;) {
			unsigned int order = orders[gs_rng_below(&rng, ARRAY_SIZE(orders))];
			unsigned long nr = 1UL << order, mk = gs_rng_below(&rng, 4);
			void *e = gs_rng_below(&rng, 2) ? xa_mk_ptr(index) : xa_mk_index(index);

			index = ALIGN(index, nr);
			if (index + nr > SPAN)
				break;
			if (gs_rng_below(&rng, 4)) {
				ck_assert_int_eq(xa_store_order(&xa, index, order, e, GFP_KERNEL),
						 0);
				for (xa_mark_t m = XA_MARK_0; m <= XA_MARK_1; m++)
					if (mk & (1U << m))
						xa_set_mark(&xa, index, m);
				for (unsigned long i = index; i < index + nr; i++) {
					model[i] = e;
					marks[i] = (unsigned char)mk;
				}
			}
			index += nr;
		}
		xa_check(&xa);
		if (first > last) {
			unsigned long t = first;

			first = last;
			last = t;
		}
		xas_set(&xas, first);
		xas_lock(&xas);
		xas_for_each (&xas, entry, last) {
			unsigned long start = xas.xa_index, nr = 1UL << xas_get_order(&xas);

			start &= ~(nr - 1);
			EXPECT(entry == model[start]);
			if (gs_rng_below(&rng, 3))
				continue;
			EXPECT(xas_store(&xas, NULL) == entry);
			for (unsigned long i = start; i < start + nr; i++) {
				model[i] = NULL;
				marks[i] = 0;
			}
			erased++;
			if (xas.xa_node == XAS_BOUNDS)
				xas_set(&xas, start + nr);
		}
		xas_unlock(&xas);
		xa_check(&xa);
		for (unsigned long i = 0; i < SPAN; i++) {
			EXPECT(xa_load(&xa, i) == model[i]);
			for (xa_mark_t m = XA_MARK_0; m <= XA_MARK_1; m++)
				EXPECT(!model[i] ||
				       xa_get_mark(&xa, i, m) == !!(marks[i] & (1U << m)));
		}
		xa_finish(&xa);
	}
	ck_assert_uint_gt(erased, CHUNK_SIZE >= 64 ? 300 : 50);
}
END_TEST

/*
 * xa_find_after() from every index of sparse arrays with multi-index entries
 * of orders below, at and above a node's level: the next entry that starts
 * after the index and at or before @max (an entry covering the index is
 * skipped), whether the search goes on from the slot the first walk found
 * or walks down from the head again.
 */
START_TEST(test_find_after_every_index)
{
	static const unsigned int orders[] = {0, 0, 0, 1, 2, 5, 6, 7, 9};
	const unsigned long span = 1UL << 13;
	unsigned long *next = malloc((span + 1) * sizeof(*next));
	struct gs_rng rng;

	ck_assert_ptr_nonnull(next);
	gs_rng_seed(&rng, 23 + (unsigned long)_i);
	for (unsigned int round = 0; round < 4; round++) {
		DEFINE_XARRAY(xa);
		unsigned int nr = 4U << (round * 2);

		for (unsigned int n = 0; n < nr; n++) {
			unsigned int order = orders[gs_rng_below(&rng, ARRAY_SIZE(orders))];
			unsigned long index = gs_rng_below(&rng, span) & ~((1UL << order) - 1);

			ck_assert_int_eq(xa_store_order(&xa, index, order,
							n % 2 ? xa_mk_index(n) : xa_mk_ptr(n),
							GFP_KERNEL),
					 0);
		}
		xa_check(&xa);
		/* next[j]: the first index >= j where an entry starts (span: none). */
		next[span] = span;
		for (unsigned long j = span; j-- > 0;) {
			void *entry = xa_load(&xa, j);

			next[j] = entry && (!j || xa_load(&xa, j - 1) != entry) ? j : next[j + 1];
		}
		for (unsigned long i = 0; i < span; i++) {
			unsigned long max = i % 3 ? span - 1 : i + gs_rng_below(&rng, 200);
			unsigned long want = next[i + 1], index = i;
			void *entry = xa_find_after(&xa, &index, max, XA_PRESENT);

			if (want > max || want == span) {
				EXPECT(!entry);
				EXPECT(index == i);
			} else {
				EXPECT(entry == xa_load(&xa, want));
				EXPECT(index == want);
			}
		}
		xa_finish(&xa);
	}
	free(next);
}
END_TEST

START_TEST(test_pause)
{
	DEFINE_XARRAY(xa);
	XA_STATE(xas, &xa, 0);
	unsigned long i, count = 0;
	void *entry;

	for (i = 0; i < 3 * CHUNK_SIZE * CHUNK_SIZE + 5; i++)
		xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL);
	xas_lock(&xas);
	xas_for_each (&xas, entry, ~0UL) {
		ck_assert_ptr_eq(entry, xa_mk_index(count));
		count++;
		xas_pause(&xas);
		xas_unlock(&xas);
		xas_lock(&xas);
	}
	xas_unlock(&xas);
	ck_assert_uint_eq(count, i);
	xa_destroy(&xa);

	/* Pausing on a multi-index entry continues after all of it. */
	xa_store_order(&xa, 0, 1, xa_mk_index(0), GFP_KERNEL);
	xa_store_order(&xa, 64, 6, xa_mk_index(64), GFP_KERNEL);
	xa_store_order(&xa, 4096, 12, xa_mk_index(4096), GFP_KERNEL);
	xa_store(&xa, 8192, xa_mk_index(8192), GFP_KERNEL);
	count = 0;
	xas_set(&xas, 0);
	xas_lock(&xas);
	xas_for_each (&xas, entry, ~0UL) {
		static const unsigned long expect[] = {0, 64, 4096, 8192};

		ck_assert_uint_eq(xas.xa_index, expect[count]);
		count++;
		xas_pause(&xas);
	}
	xas_unlock(&xas);
	ck_assert_uint_eq(count, 4);
	/* Pause after a find that began inside an entry. */
	xas_set(&xas, 100);
	xas_lock(&xas);
	ck_assert_ptr_eq(xas_find(&xas, ~0UL), xa_mk_index(64));
	xas_pause(&xas);
	ck_assert_ptr_eq(xas_find(&xas, ~0UL), xa_mk_index(4096));
	xas_unlock(&xas);
	xa_finish(&xa);
}
END_TEST

/* ---- accounting, destroy, store_range -------------------------------------------- */

/* Found by the kernel's check_move_max: a pause past ULONG_MAX ended nothing. */
START_TEST(test_pause_at_max)
{
	DEFINE_XARRAY(xa);
	XA_STATE(xas, &xa, 0);
	unsigned int count = 0;
	void *entry;

	xa_store(&xa, ~0UL, xa_mk_index(~0UL), GFP_KERNEL);
	xa_store_order(&xa, 0, CHUNK_SHIFT, xa_mk_index(0), GFP_KERNEL);
	rcu_read_lock();
	xas_for_each (&xas, entry, ~0UL) {
		ck_assert_uint_lt(++count, 3);
		xas_pause(&xas);
	}
	rcu_read_unlock();
	ck_assert_uint_eq(count, 2);
	ck_assert_ptr_null(xas_find(&xas, ~0UL));
	xa_finish(&xa);
}
END_TEST

/* Readers are RCU readers: kernel code calls xa_load() with xa_lock held. */
START_TEST(test_read_under_lock)
{
	DEFINE_XARRAY(xa);
	unsigned long index = 5;

	xa_store(&xa, 5, xa_mk_index(5), GFP_KERNEL);
	xa_lock(&xa);
	ck_assert_ptr_eq(xa_load(&xa, 5), xa_mk_index(5));
	ck_assert_ptr_eq(xa_find(&xa, &index, ~0UL, XA_PRESENT), xa_mk_index(5));
	ck_assert_int_eq(xa_get_order(&xa, 5), 0);
	ck_assert(!xa_get_mark(&xa, 5, XA_MARK_0));
	xa_unlock(&xa);
	ck_assert_uint_eq(gs_preempt_count, 0);
	xa_finish(&xa);
}
END_TEST

static unsigned int rcu_calls;

static void count_rcu(struct rcu_head *head)
{
	(void)head;
	rcu_calls++;
}

/* The grace period ends at the first moment no read-side critical section is open. */
START_TEST(test_rcu_grace_period)
{
	struct rcu_head a, b;
	DEFINE_SPINLOCK(lock);

	rcu_calls = 0;
	call_rcu(&a, count_rcu);
	ck_assert_uint_eq(rcu_calls, 1);
	rcu_read_lock();
	rcu_read_lock();
	call_rcu(&a, count_rcu);
	rcu_read_unlock();
	ck_assert_uint_eq(rcu_calls, 1);
	rcu_read_unlock();
	ck_assert_uint_eq(rcu_calls, 2);
	spin_lock(&lock);
	call_rcu(&a, count_rcu);
	rcu_read_lock();
	call_rcu(&b, count_rcu);
	spin_unlock(&lock);
	ck_assert_uint_eq(rcu_calls, 2);
	rcu_read_unlock();
	ck_assert_uint_eq(rcu_calls, 4);
	/* Waiting for a grace period inside a critical section deadlocks the kernel. */
	gs_warn_set_mode(GS_WARN_QUIET);
	rcu_read_lock();
	synchronize_rcu();
	rcu_read_unlock();
	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert_uint_eq(gs_warn_count(), warns_at_start + 1);
	warns_at_start = gs_warn_count();
	synchronize_rcu();
	rcu_barrier();
}
END_TEST

/*
 * Found by the kernel's check_multi_find_2: erasing while iterating under
 * rcu_read_lock() must leave the removed nodes readable until the unlock.
 */
START_TEST(test_erase_while_iterating)
{
	DEFINE_XARRAY(xa);
	struct gs_site_stats st;
	unsigned int seen = 0;
	void *entry;
	XA_STATE(xas, &xa, CHUNK_SIZE);

	xa_store(&xa, CHUNK_SIZE - 1, xa_mk_index(CHUNK_SIZE - 1), GFP_KERNEL);
	xa_store(&xa, CHUNK_SIZE, xa_mk_index(CHUNK_SIZE), GFP_KERNEL);
	rcu_read_lock();
	xas_for_each (&xas, entry, ~0UL) {
		seen++;
		xa_erase(&xa, CHUNK_SIZE);
		xa_erase(&xa, CHUNK_SIZE - 1);
		/* The nodes are out of the tree, not yet freed. */
		gs_site_stats(GS_SITE_XARRAY_NODE, &st);
		ck_assert_uint_gt(st.live, 0);
	}
	rcu_read_unlock();
	ck_assert_uint_eq(seen, 1);
	ck_assert(xa_empty(&xa));
	gs_site_stats(GS_SITE_XARRAY_NODE, &st);
	ck_assert_uint_eq(st.live, 0);
	xa_finish(&xa);
}
END_TEST

/*
 * A multi-index store over whole leaves (a merge's) takes them out of the
 * tree: a reader still on one finds a retry entry in every slot that held
 * an entry and an empty slot where there was none, until it unlocks;
 * leaves below a replaced inner node too.
 */
START_TEST(test_replaced_leaves_retired)
{
	static const unsigned int orders[] = {7, 13};
	unsigned int order = orders[_i % 2];
	unsigned long nr = 1UL << order;
	/* Leaves with holes, and full ones (retired without a test per slot). */
	unsigned long hole = _i < 2 ? 3 : 7;
	DEFINE_XARRAY(xa);
	XA_STATE(xas, &xa, 0);
	struct xa_node *leaf, *last;
	struct gs_site_stats st;

	for (unsigned long i = 0; i < nr; i++)
		if (i % 7 != hole)
			xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL);
	rcu_read_lock();
	ck_assert_ptr_eq(xas_load(&xas), xa_mk_index(0));
	leaf = xas.xa_node;
	xas_set(&xas, nr - 1);
	ck_assert_ptr_eq(xas_load(&xas), xa_mk_index(nr - 1));
	last = xas.xa_node;
	ck_assert(leaf != last && !leaf->shift && !last->shift);
	ck_assert_int_eq(xa_store_order(&xa, 0, order, xa_mk_index(nr), GFP_KERNEL), 0);
	for (unsigned int i = 0; i < CHUNK_SIZE; i++) {
		ck_assert_ptr_eq(leaf->slots[i], i % 7 != hole ? XA_RETRY_ENTRY : NULL);
		ck_assert_ptr_eq(last->slots[i],
				 (nr - CHUNK_SIZE + i) % 7 != hole ? XA_RETRY_ENTRY : NULL);
	}
	ck_assert_uint_eq(leaf->count, 0);
	gs_site_stats(GS_SITE_XARRAY_NODE, &st);
	ck_assert_uint_gt(st.live, 0);
	rcu_read_unlock();
	ck_assert_ptr_eq(xa_load(&xa, nr - 1), xa_mk_index(nr));
	xa_destroy(&xa);
	gs_site_stats(GS_SITE_XARRAY_NODE, &st);
	ck_assert_uint_eq(st.live, 0);
	xa_finish(&xa);
}
END_TEST

/* xas_next()/xas_prev() at the edges, as the kernel's check_move_tiny/small expect. */
START_TEST(test_next_prev)
{
	DEFINE_XARRAY(xa);
	XA_STATE(xas, &xa, 0);
	unsigned long i;

	ck_assert_ptr_null(xas_next(&xas));
	ck_assert_ptr_null(xas_next(&xas));
	xa_store(&xa, 0, xa_mk_index(0), GFP_KERNEL);
	xas_set(&xas, 0);
	ck_assert_ptr_eq(xas_next(&xas), xa_mk_index(0));
	ck_assert_ptr_null(xas_next(&xas));
	xas_set(&xas, 0);
	ck_assert_ptr_eq(xas_prev(&xas), xa_mk_index(0));
	ck_assert_ptr_null(xas_prev(&xas));
	ck_assert_uint_eq(xas.xa_index, ~0UL);
	/* Across node boundaries both ways. */
	for (i = 0; i < 3 * CHUNK_SIZE; i += 3)
		xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL);
	xas_set(&xas, 0);
	xas_load(&xas);
	for (i = 1; i < 3 * CHUNK_SIZE; i++) {
		void *entry = xas_next(&xas);

		ck_assert_uint_eq(xas.xa_index, i);
		ck_assert_ptr_eq(entry, i % 3 ? NULL : xa_mk_index(i));
	}
	for (i = 3 * CHUNK_SIZE - 2;; i--) {
		void *entry = xas_prev(&xas);

		ck_assert_uint_eq(xas.xa_index, i);
		ck_assert_ptr_eq(entry, i % 3 ? NULL : xa_mk_index(i));
		if (!i)
			break;
	}
	xa_finish(&xa);
}
END_TEST

/* Reservations and allocating arrays (the kernel's check_reserve, check_xa_alloc_*). */
START_TEST(test_reserve_alloc)
{
	DEFINE_XARRAY_ALLOC1(xa);
	uint32_t id, next = 0;

	ck_assert_int_eq(xa_reserve(&xa, 7, GFP_KERNEL), 0);
	ck_assert(!xa_empty(&xa));
	ck_assert_ptr_null(xa_load(&xa, 7));
	ck_assert_int_eq(xa_insert(&xa, 7, xa_mk_index(7), GFP_KERNEL), -EBUSY);
	for (uint32_t i = 1; i < 7; i++) {
		ck_assert_int_eq(xa_alloc(&xa, &id, xa_mk_index(i), xa_limit_32b, GFP_KERNEL), 0);
		ck_assert_uint_eq(id, i);
	}
	/* 7 is reserved, 0 is never handed out by an ALLOC1 array. */
	ck_assert_int_eq(xa_alloc(&xa, &id, NULL, xa_limit_32b, GFP_KERNEL), 0);
	ck_assert_uint_eq(id, 8);
	ck_assert_int_eq(xa_alloc(&xa, &id, NULL, XA_LIMIT(1, 8), GFP_KERNEL), -EBUSY);
	xa_release(&xa, 7);
	ck_assert_int_eq(xa_alloc(&xa, &id, NULL, XA_LIMIT(1, 8), GFP_KERNEL), 0);
	ck_assert_uint_eq(id, 7);
	/* A stored NULL keeps the index taken in an allocating array; erase frees it. */
	ck_assert_ptr_eq(xa_store(&xa, 3, NULL, GFP_KERNEL), xa_mk_index(3));
	ck_assert_int_eq(xa_alloc(&xa, &id, NULL, XA_LIMIT(1, 8), GFP_KERNEL), -EBUSY);
	xa_erase(&xa, 3);
	next = 5;
	ck_assert_int_eq(xa_alloc_cyclic(&xa, &id, NULL, XA_LIMIT(1, 8), &next, GFP_KERNEL), 1);
	ck_assert_uint_eq(id, 3);
	ck_assert_uint_eq(next, 4);
	/* Not an allocating array: -EINVAL with a WARN. */
	{
		DEFINE_XARRAY(plain);

		gs_warn_set_mode(GS_WARN_QUIET);
		ck_assert_int_eq(xa_alloc(&plain, &id, NULL, xa_limit_32b, GFP_KERNEL), -EINVAL);
		gs_warn_set_mode(GS_WARN_PRINT);
		warns_at_start = gs_warn_count();
	}
	xa_destroy(&xa);
	ck_assert(xa_empty(&xa));
}
END_TEST

/* xas_find_conflict() and xas_create_range(), as __filemap_add_folio() and THP use them. */
START_TEST(test_conflict_create_range)
{
	DEFINE_XARRAY(xa);
	unsigned int order = CHUNK_SHIFT + 1, n = 0;
	unsigned long base = 1UL << order, i;
	void *entry;

	xa_store(&xa, base + 1, xa_mk_index(base + 1), GFP_KERNEL);
	xa_store(&xa, base + 5, xa_mk_index(base + 5), GFP_KERNEL);
	xa_store(&xa, 2 * base, xa_mk_index(2 * base), GFP_KERNEL);
	{
		XA_STATE_ORDER(xas, &xa, base, order);

		xas_lock(&xas);
		xas_for_each_conflict(&xas, entry)
		{
			ck_assert_ptr_eq(entry, xa_mk_index(base + (n ? 5 : 1)));
			n++;
		}
		ck_assert_uint_eq(n, 2);
		/* The state is ready for the store that replaces them. */
		xas_store(&xas, xa_mk_index(base));
		xas_unlock(&xas);
	}
	ck_assert_int_eq(xa_get_order(&xa, base + 5), order);
	ck_assert_ptr_eq(xa_load(&xa, 2 * base), xa_mk_index(2 * base));
	xa_erase(&xa, base);
	{
		XA_STATE_ORDER(xas, &xa, base, order);

		do {
			xas_lock(&xas);
			xas_create_range(&xas);
			xas_unlock(&xas);
		} while (xas_nomem(&xas, GFP_KERNEL));
		ck_assert_int_eq(xas_error(&xas), 0);
		xas_lock(&xas);
		for (i = 0; i < base; i++) {
			ck_assert_uint_eq(xas.xa_index, base + i);
			xas_store(&xas, xa_mk_index(base + i));
			ck_assert_int_eq(xas_error(&xas), 0);
			xas_next(&xas);
		}
		xas_unlock(&xas);
	}
	for (i = base; i < 2 * base; i++)
		ck_assert_ptr_eq(xa_erase(&xa, i), xa_mk_index(i));
	xa_erase(&xa, 2 * base);
	xa_finish(&xa);
}
END_TEST

START_TEST(test_account)
{
	DEFINE_XARRAY(xa);
	struct gs_site_stats st;
	unsigned int order;
	unsigned long n;

	/* The validator checks count and nr_values of every node. */
	for (order = 1; order < 3 * CHUNK_SHIFT; order++) {
		unsigned long i;

		for (i = 0; i < 4; i++)
			xa_store_order(&xa, i << order, order,
				       i % 2 ? xa_mk_ptr(i) : xa_mk_index(i), GFP_KERNEL);
		xa_check(&xa);
		/* Flip kinds through a single index of each. */
		for (i = 0; i < 4; i++)
			xa_store(&xa, (i << order) + 1, i % 2 ? xa_mk_index(i) : xa_mk_ptr(i),
				 GFP_KERNEL);
		xa_check(&xa);
		xa_destroy(&xa);
	}
	/* Node counts: one node per CHUNK_SIZE dense entries at the bottom level. */
	for (n = 0; n < CHUNK_SIZE * CHUNK_SIZE; n++)
		xa_store(&xa, n, xa_mk_index(n), GFP_KERNEL);
	ck_assert_uint_eq(xa_nr_nodes(&xa), CHUNK_SIZE + 1);
	gs_site_stats(GS_SITE_XARRAY_NODE, &st);
	ck_assert_uint_eq(st.live, CHUNK_SIZE + 1);
	ck_assert_uint_eq(st.live_bytes, (CHUNK_SIZE + 1) * xa_node_size());
	ck_assert_uint_eq(xa_chunk_shift(), CHUNK_SHIFT);
	xa_finish(&xa);
}
END_TEST

/*
 * gs_xa_store_nodes() counts exactly the nodes a store adds: topped up with
 * gs_xas_topup(), the store allocates nothing more (every further node
 * allocation fails) and uses every node, over stores and erases that grow,
 * shrink and hollow the tree, multi-index entries among them.
 */
START_TEST(test_store_nodes)
{
	struct gs_inject_rule every = {.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_EVERY};
	struct gs_inject_rule second = {.site = GS_SITE_KMALLOC, .mode = GS_INJECT_NTH, .nth = 2};
	DEFINE_XARRAY(xa);
	uint64_t r = 12;
	unsigned long added = 0;
	int id;

	for (unsigned int i = 0; i < 4000; i++) {
		XA_STATE(xas, &xa, 0);
		unsigned long index, before;
		unsigned int nr;

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		/* Indices of every magnitude, the small ones often, so paths meet. */
		index = (r >> 33) & ((1UL << ((r >> 8) % (3 * CHUNK_SHIFT + 2))) - 1);
		if ((r >> 20) % 4 == 0) {
			xa_erase(&xa, index);
			continue;
		}
		if ((r >> 20) % 16 == 1) {
			EXPECT(!xa_store_order(&xa, index, CHUNK_SHIFT, xa_mk_index(i),
					       GFP_KERNEL));
			continue;
		}
		nr = gs_xa_store_nodes(&xa, index);
		before = xa_nr_nodes(&xa);
		xas_set(&xas, index);
		EXPECT(!gs_xas_topup(&xas, nr, GS_SITE_XARRAY_NODE, GFP_KERNEL));
		id = gs_inject_arm(&every);
		xas_lock(&xas);
		xas_store(&xas, xa_mk_index(i));
		xas_unlock(&xas);
		gs_inject_disarm(id);
		EXPECT(!xas_error(&xas));
		EXPECT(!xas.xa_alloc);
		EXPECT(xa_nr_nodes(&xa) == before + nr);
		EXPECT(xa_load(&xa, index) == xa_mk_index(i));
		added += nr;
		if (i % 500 == 0)
			xa_check(&xa);
	}
	ck_assert_uint_gt(added, 100);
	xa_check(&xa);

	/* A top-up that fails part way keeps nothing; the nodes are charged to the caller's site. */
	{
		XA_STATE(xas, &xa, 1UL << 40);
		struct gs_site_stats st;
		unsigned int nr = gs_xa_store_nodes(&xa, 1UL << 40);

		ck_assert_uint_gt(nr, 1);
		id = gs_inject_arm(&second);
		ck_assert_int_eq(gs_xas_topup(&xas, nr, GS_SITE_KMALLOC, GFP_KERNEL), -ENOMEM);
		gs_inject_disarm(id);
		ck_assert_ptr_null(xas.xa_alloc);
		gs_site_stats(GS_SITE_KMALLOC, &st);
		ck_assert_uint_eq(st.live, 0);
		ck_assert_int_eq(gs_xas_topup(&xas, nr, GS_SITE_KMALLOC, GFP_KERNEL), 0);
		xas_lock(&xas);
		xas_store(&xas, xa_mk_index(1));
		xas_unlock(&xas);
		ck_assert_int_eq(xas_error(&xas), 0);
		ck_assert_ptr_null(xas.xa_alloc);
		gs_site_stats(GS_SITE_KMALLOC, &st);
		ck_assert_uint_eq(st.live, nr);
		xa_erase(&xa, 1UL << 40);
		gs_site_stats(GS_SITE_KMALLOC, &st);
		ck_assert_uint_eq(st.live, 0);
	}
	xa_finish(&xa);
}
END_TEST

/*
 * gs_xa_store_order_nodes() counts exactly the nodes a store of a
 * multi-index entry adds, over trees that stores and erases of every order
 * grow and shrink; gs_xa_reserve() holds them across xa_states. The case
 * found by the fuzzer: the pieces of an order-3*CHUNK_SHIFT entry fill the
 * whole tree, and merging them back into one entry grows it a level.
 */
START_TEST(test_store_order_nodes)
{
	struct gs_inject_rule every = {.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_EVERY};
	struct gs_inject_rule first = {
		.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_NTH, .nth = 1};
	unsigned int big = 2 * CHUNK_SHIFT;
	struct xa_node *reserve = NULL;
	DEFINE_XARRAY(xa);
	unsigned long added = 0;
	uint64_t r = 7;
	int id;

	/* The pieces of [0, 1 << big) are the whole tree: one more level for the merged entry. */
	for (unsigned long i = 0; i < (1UL << big); i++)
		EXPECT(!xa_err(xa_store(&xa, i, xa_mk_index(i), GFP_KERNEL)));
	ck_assert_uint_eq(gs_xa_store_order_nodes(&xa, 0, big), 1);
	ck_assert_uint_eq(gs_xa_store_order_nodes(&xa, 0, CHUNK_SHIFT), 0);
	id = gs_inject_arm(&first);
	ck_assert_int_eq(gs_xa_reserve(&xa, &reserve, 1, GS_SITE_XARRAY_NODE, GFP_KERNEL), -ENOMEM);
	gs_inject_disarm(id);
	ck_assert_ptr_null(reserve);
	ck_assert_int_eq(gs_xa_reserve(&xa, &reserve, 1, GS_SITE_XARRAY_NODE, GFP_KERNEL), 0);
	ck_assert_int_eq(gs_xa_reserve(&xa, &reserve, 1, GS_SITE_XARRAY_NODE, GFP_KERNEL), 0);
	ck_assert_uint_eq(gs_xa_reserve_len(&reserve), 1);
	{
		XA_STATE_ORDER(xas, &xa, 0, big);

		xas.xa_alloc = reserve;
		id = gs_inject_arm(&every);
		xas_lock(&xas);
		xas_store(&xas, xa_mk_index(0));
		xas_unlock(&xas);
		gs_inject_disarm(id);
		reserve = xas.xa_alloc;
		ck_assert_int_eq(xas_error(&xas), 0);
	}
	ck_assert_uint_eq(gs_xa_reserve_len(&reserve), 0);
	EXPECT(xa_load(&xa, (1UL << big) - 1) == xa_mk_index(0));
	xa_check(&xa);
	xa_destroy(&xa);

	for (unsigned int i = 0; i < 3000; i++) {
		unsigned int order, nr;
		unsigned long index, before;

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		order = (unsigned int)((r >> 40) % (2 * CHUNK_SHIFT + 2));
		index = ((r >> 33) & ((1UL << ((r >> 8) % (3 * CHUNK_SHIFT + 2))) - 1)) >>
			order << order;
		if ((r >> 20) % 4 == 0) {
			XA_STATE_ORDER(xas, &xa, index, order);

			xas_lock(&xas);
			xas_store(&xas, NULL);
			xas_unlock(&xas);
			continue;
		}
		nr = gs_xa_store_order_nodes(&xa, index, order);
		before = xa_nr_nodes(&xa);
		EXPECT(!gs_xa_reserve(&xa, &reserve, nr, GS_SITE_XARRAY_NODE, GFP_KERNEL));
		{
			XA_STATE_ORDER(xas, &xa, index, order);

			xas.xa_alloc = reserve;
			id = gs_inject_arm(&every);
			xas_lock(&xas);
			xas_store(&xas, xa_mk_index(i));
			xas_unlock(&xas);
			gs_inject_disarm(id);
			reserve = xas.xa_alloc;
			EXPECT(!xas_error(&xas));
		}
		EXPECT(!reserve);
		EXPECT(xa_nr_nodes(&xa) <= before + nr);
		EXPECT(xa_load(&xa, index + (1UL << order) - 1) == xa_mk_index(i));
		added += nr;
		if (i % 500 == 0)
			xa_check(&xa);
	}
	ck_assert_uint_gt(added, 50);
	xa_check(&xa);
	gs_xa_reserve_free(&reserve);
	xa_destroy(&xa);
}
END_TEST

START_TEST(test_destroy)
{
	DEFINE_XARRAY(xa);
	unsigned long i;

	xa_destroy(&xa);
	xa_store(&xa, 0, xa_mk_index(0), GFP_KERNEL);
	xa_set_mark(&xa, 0, XA_MARK_0);
	xa_destroy(&xa);
	ck_assert(!xa_marked(&xa, XA_MARK_0));
	ck_assert(xa_empty(&xa));
	xa_store(&xa, 1, xa_mk_index(1), GFP_KERNEL);
	xa_destroy(&xa);
	ck_assert(xa_empty(&xa));
	xa_store(&xa, ~0UL, xa_mk_index(1), GFP_KERNEL);
	xa_destroy(&xa);
	for (i = 0; i < 20; i++)
		xa_store_order(&xa, 1UL << 22, i, xa_mk_index(i), GFP_KERNEL);
	xa_set_mark(&xa, 1UL << 22, XA_MARK_1);
	xa_destroy(&xa);
	ck_assert(xa_empty(&xa));
	xa_finish(&xa);
}
END_TEST

static void check_range(struct xarray *xa, unsigned long first, unsigned long last, void *entry)
{
	ck_assert_ptr_null(xa_store_range(xa, first, last, entry, GFP_KERNEL));
	xa_check(xa);
	ck_assert_ptr_eq(xa_load(xa, first), entry);
	ck_assert_ptr_eq(xa_load(xa, last), entry);
	ck_assert_ptr_eq(xa_load(xa, first + (last - first) / 3), entry);
	if (first)
		ck_assert_ptr_null(xa_load(xa, first - 1));
	if (last + 1)
		ck_assert_ptr_null(xa_load(xa, last + 1));
}

START_TEST(test_store_range)
{
	DEFINE_XARRAY(xa);
	unsigned long i, j, index;
	void *entry;

	for (i = 0; i < 128; i++) {
		for (j = i; j < 128; j++) {
			unsigned long k;

			check_range(&xa, i, j, xa_mk_index(i));
			for (k = 0; k < 130; k++)
				EXPECT(xa_load(&xa, k) ==
				       ((k >= i && k <= j) ? xa_mk_index(i) : NULL));
			/* Erasing the range empties the array. */
			ck_assert_ptr_null(xa_store_range(&xa, i, j, NULL, GFP_KERNEL));
			EXPECT(xa_empty(&xa));
		}
	}
	check_range(&xa, 1000, 1000000, xa_mk_ptr(5));
	check_range(&xa, 1UL << 40, (1UL << 41) + 77, xa_mk_ptr(6));
	check_range(&xa, 0, 0, xa_mk_ptr(7));
	/* A store into part of a range entry replaces that entry only. */
	EXPECT(xa_load(&xa, 1000000) == xa_mk_ptr(5));
	xa_destroy(&xa);
	check_range(&xa, 0, ~0UL, xa_mk_ptr(10));
	ck_assert_ptr_eq(xa_load(&xa, 1UL << 62), xa_mk_ptr(10));
	xa_destroy(&xa);
	check_range(&xa, ~0UL - 100, ~0UL, xa_mk_ptr(8));
	check_range(&xa, 0, 4000, xa_mk_ptr(9));
	/* Iterating a range store visits each of its pieces. */
	j = 0;
	xa_for_each_range (&xa, index, entry, 0, 4000) {
		EXPECT(entry == xa_mk_ptr(9));
		j++;
	}
	ck_assert_uint_ge(j, 1);
	ck_assert_uint_le(j, 64);
	EXPECT(xa_err(xa_store_range(&xa, 5, 4, xa_mk_ptr(1), GFP_KERNEL)) == -EINVAL);
	xa_finish(&xa);
}
END_TEST

/* The nodes as state records for renders: preorder numbers, no addresses, one char a slot. */
START_TEST(test_dump_state)
{
	DEFINE_XARRAY(xa);
	struct gs_state *st = gs_state_new();
	char slots[CHUNK_SIZE + 1], first[32];

	ck_assert(!gs_state_detail(st));
	gs_state_set_detail(st, true);
	ck_assert(gs_state_detail(st));
	gs_xa_dump_state(st, "xa", &xa);
	ck_assert_str_eq(gs_state_get(st, "xa", "head"), "empty");
	ck_assert_ptr_null(gs_state_get(st, "xa/0", "first"));
	gs_state_free(st);

	ck_assert_ptr_null(xa_store(&xa, 0, xa_mk_value(1), GFP_KERNEL));
	ck_assert_ptr_null(xa_store(&xa, CHUNK_SIZE, xa_mk_value(2), GFP_KERNEL));
	st = gs_state_new();
	gs_xa_dump_state(st, "xa", &xa);
	ck_assert_str_eq(gs_state_get(st, "xa", "head"), "node");
	memset(slots, '.', CHUNK_SIZE);
	slots[CHUNK_SIZE] = '\0';
	slots[0] = slots[1] = 'n';
	ck_assert_str_eq(gs_state_get(st, "xa/0", "slots"), slots);
	ck_assert_str_eq(gs_state_get(st, "xa/0", "parent"), "-1");
	ck_assert_str_eq(gs_state_get(st, "xa/0", "count"), "2");
	ck_assert_uint_eq(strtoul(gs_state_get(st, "xa/0", "shift"), NULL, 0), CHUNK_SHIFT);
	slots[0] = 'v';
	slots[1] = '.';
	ck_assert_str_eq(gs_state_get(st, "xa/1", "slots"), slots);
	ck_assert_str_eq(gs_state_get(st, "xa/1", "values"), "1");
	ck_assert_str_eq(gs_state_get(st, "xa/2", "parent"), "0");
	snprintf(first, sizeof(first), "0x%lx", CHUNK_SIZE);
	ck_assert_str_eq(gs_state_get(st, "xa/2", "first"), first);
	ck_assert_str_eq(gs_state_get(st, "xa/2", "offset"), "1");
	ck_assert_ptr_null(gs_state_get(st, "xa/3", "first"));
	gs_state_free(st);
	xa_destroy(&xa);
}
END_TEST

START_TEST(test_dump_validate)
{
	DEFINE_XARRAY(xa);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	xa_store(&xa, 5, xa_mk_value(5), GFP_KERNEL);
	xa_store_order(&xa, 256, CHUNK_SHIFT + 1, xa_mk_ptr(1), GFP_KERNEL);
	xa_set_mark(&xa, 256, XA_MARK_1);
	f = open_memstream(&text, &len);
	xa_dump(f, &xa);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "node"));
	ck_assert_ptr_nonnull(strstr(text, "5-5: value 5"));
	ck_assert_ptr_nonnull(strstr(text, "sibling of slot"));
	ck_assert_ptr_nonnull(strstr(text, "marks 010"));
	free(text);
	xa_check(&xa);

	/* The root's marks must agree with the tree's. */
	xa.xa_flags |= XA_FLAGS_MARK(XA_MARK_2);
	ck_assert_int_eq(xa_validate(&xa, NULL), -EUCLEAN);
	xa.xa_flags &= ~XA_FLAGS_MARK(XA_MARK_1);
	ck_assert_int_eq(xa_validate(&xa, NULL), -EUCLEAN);
	xa.xa_flags |= XA_FLAGS_MARK(XA_MARK_1);
	xa.xa_flags &= ~XA_FLAGS_MARK(XA_MARK_2);
	xa_check(&xa);
	xa_destroy(&xa);
	xa.xa_flags |= XA_FLAGS_MARK(XA_MARK_0);
	ck_assert_int_eq(xa_validate(&xa, NULL), -EUCLEAN);
	xa.xa_flags = 0;
	xa.xa_head = XA_RETRY_ENTRY;
	ck_assert_int_eq(xa_validate(&xa, NULL), -EUCLEAN);
	xa.xa_head = NULL;
	xa_finish(&xa);
}
END_TEST

/* ---- splitting ----------------------------------------------------------------------- */

/* The entries of [base, base + 2^order) after splitting to @new_order. */
static void check_split_result(struct xarray *xa, unsigned long base, unsigned int order,
			       unsigned int new_order, void *entry)
{
	XA_STATE(xas, xa, base);
	unsigned long last = base + (1UL << order) - 1, n = 0, step = 1UL << new_order;
	void *e;

	xas_lock(&xas);
	xas_for_each (&xas, e, last) {
		EXPECT(e == entry);
		EXPECT(xas.xa_index == base + n * step);
		EXPECT(xas_get_order(&xas) == (int)new_order);
		EXPECT(xas_get_mark(&xas, XA_MARK_0));
		EXPECT(!xas_get_mark(&xas, XA_MARK_1));
		EXPECT(xas_get_mark(&xas, XA_MARK_2) == xa_is_value(entry));
		n++;
	}
	xas_unlock(&xas);
	EXPECT(n == 1UL << (order - new_order));
	EXPECT(xa_load(xa, last) == entry);
	EXPECT(xa_load(xa, base + step - 1) == entry);
	n = 0;
	xa_for_each_marked (xa, base, e, XA_MARK_0)
		n++;
	EXPECT(n == 1UL << (order - new_order));
}

static void check_split_one(struct xarray *xa, unsigned long index, unsigned int order,
			    unsigned int new_order, void *entry)
{
	unsigned long last = index + (1UL << order) - 1;

	ck_assert_int_eq(xa_store_order(xa, index, order, entry, GFP_KERNEL), 0);
	xa_set_mark(xa, index, XA_MARK_0);
	if (xa_is_value(entry))
		xa_set_mark(xa, last, XA_MARK_2);
	if (index)
		xa_store(xa, index - 1, xa_mk_ptr(1), GFP_KERNEL);
	xa_store(xa, last + 1, xa_mk_ptr(2), GFP_KERNEL);

	ck_assert_int_eq(split_entry(xa, index, order, new_order, entry), 0);
	check_split_result(xa, index, order, new_order, entry);
	if (index)
		ck_assert_ptr_eq(xa_load(xa, index - 1), xa_mk_ptr(1));
	ck_assert_ptr_eq(xa_load(xa, last + 1), xa_mk_ptr(2));
	xa_check(xa);
	xa_destroy(xa);
	gs_test_assert_no_leaks();
}

START_TEST(test_split)
{
	DEFINE_XARRAY(xa);
	unsigned int order, new_order, max_order = gs_test_scale(50) < 50 ? 12 : 18;

	for (order = 1; order <= max_order; order++) {
		for (new_order = 0; new_order < order; new_order++) {
			void *entry = new_order % 2 ? xa_mk_ptr(order) : xa_mk_index(order);

			check_split_one(&xa, 0, order, new_order, entry);
			check_split_one(&xa, 1UL << order, order, new_order, entry);
			check_split_one(&xa, 3UL << order, order, new_order, entry);
		}
	}
	xa_finish(&xa);
}
END_TEST

/* gs_xas_split_store()'s entry for @index: the element of the array at @arg. */
static void *seq_entry(unsigned long index, void *arg)
{
	const unsigned long *b = arg; /* {array address, its first index} */

	return (uint64_t *)b[0] + (index - b[1]);
}

/* Split [index, index + 2^order) to @new_order and store the array's elements, one way or the other. */
static void split_store_array(struct xarray *xa, unsigned long index, unsigned int order,
			      unsigned int new_order, uint64_t *array, bool seq)
{
	unsigned long b[2] = {(unsigned long)array, index};
	XA_STATE_ORDER(xas, xa, index, new_order);

	ck_assert_int_eq(xa_store_order(xa, index, order, xa_mk_ptr(1), GFP_KERNEL), 0);
	xas_split_alloc(&xas, xa_mk_ptr(1), order, GFP_KERNEL);
	ck_assert_int_eq(xas_error(&xas), 0);
	xas_lock(&xas);
	xas_split(&xas, xa_mk_ptr(1), order);
	if (seq)
		gs_xas_split_store_seq(&xas, order, array, index, sizeof(*array));
	else
		gs_xas_split_store(&xas, order, seq_entry, b);
	xas_unlock(&xas);
	xas_destroy(&xas);
}

/* gs_xas_split_store_seq() stores what gs_xas_split_store() does with the array's elements as its entries. */
START_TEST(test_split_store_seq)
{
	static uint64_t array[1UL << (2 * CHUNK_SHIFT + 1)];
	unsigned int max_order = 2 * CHUNK_SHIFT + 1;

	for (unsigned int order = 1; order <= max_order; order++) {
		for (unsigned int new_order = 0; new_order < order; new_order++) {
			unsigned long index = 3UL << order, nr = 1UL << order;
			DEFINE_XARRAY(by_fn);
			DEFINE_XARRAY(by_seq);

			split_store_array(&by_fn, index, order, new_order, array, false);
			split_store_array(&by_seq, index, order, new_order, array, true);
			for (unsigned long i = index; i < index + nr; i++) {
				uint64_t *want = array + ALIGN_DOWN(i - index, 1UL << new_order);

				EXPECT(xa_load(&by_fn, i) == want);
				EXPECT(xa_load(&by_seq, i) == want);
			}
			xa_check(&by_seq);
			xa_destroy(&by_fn);
			xa_destroy(&by_seq);
		}
	}
	gs_test_assert_no_leaks();
}
END_TEST

/*
 * A walk that takes gs_xas_leaf_run()'s entries from the leaf's slots and
 * steps over them with gs_xas_leaf_skip() visits the entries a plain
 * xas_for_each() visits, at the same indices: gaps, multi-index entries,
 * value entries, leaf ends and the walk's @max; each run is as long as it
 * can be (its entries are read four slots a test). gs_xas_leaf_span()
 * counts every slot to the leaf's end or @max's, gaps and internal entries
 * too.
 */
START_TEST(test_leaf_run)
{
	DEFINE_XARRAY(xa);
	unsigned long max_index = 6 * CHUNK_SIZE, seen[6 * CHUNK_SIZE + 1];
	struct gs_rng rng;

	gs_rng_seed(&rng, 11);
	for (unsigned int round = 0; round < 200; round++) {
		unsigned long start = gs_rng_below(&rng, max_index), max, n = 0, k = 0;
		XA_STATE(xas, &xa, start);
		void *e;

		/* Mostly runs of order-0 entries, with holes and a few larger entries. */
		for (unsigned long i = 0; i < max_index; i++) {
			unsigned int r = (unsigned int)gs_rng_below(&rng, 32);

			if (r == 0)
				xa_erase(&xa, i);
			else if (r == 1 && i % 4 == 0 && i + 4 <= max_index) {
				EXPECT(!xa_store_order(&xa, i, 2, xa_mk_ptr(i), GFP_KERNEL));
				i += 3;
			} else if (r == 2)
				xa_store(&xa, i, xa_mk_value(i), GFP_KERNEL);
			else
				xa_store(&xa, i, xa_mk_ptr(i), GFP_KERNEL);
		}
		max = start + gs_rng_below(&rng, max_index - start + 1);
		xas_lock(&xas);
		xas_for_each (&xas, e, max)
			seen[n++] = xas.xa_index;
		xas_set(&xas, start);
		xas_for_each (&xas, e, max) {
			unsigned int run = gs_xas_leaf_run(&xas, max);
			unsigned int span = gs_xas_leaf_span(&xas, max);
			unsigned long span_end = xas.xa_index + span;

			/* The span: every slot after this one in the leaf, up to max's. */
			EXPECT(run <= span && span_end <= max);
			EXPECT(span ? span_end == max || (span_end & XA_CHUNK_MASK) == XA_CHUNK_MASK
				    : !run);
			EXPECT(span_end >> XA_CHUNK_SHIFT == xas.xa_index >> XA_CHUNK_SHIFT);
			/* The run is as long as it can be: it ends at the span's end, a gap or an internal entry. */
			EXPECT(run == span || !xas.xa_node->slots[xas.xa_offset + run + 1] ||
			       xa_is_internal(xas.xa_node->slots[xas.xa_offset + run + 1]));
			EXPECT(k < n && seen[k++] == xas.xa_index);
			EXPECT(e == xa_load(&xa, xas.xa_index));
			for (unsigned int i = 1; i <= run; i++) {
				void *slot = xas.xa_node->slots[xas.xa_offset + i];

				EXPECT(k < n && seen[k++] == xas.xa_index + i);
				EXPECT(xas.xa_index + i <= max);
				EXPECT(slot && slot == xa_load(&xa, xas.xa_index + i));
			}
			gs_xas_leaf_skip(&xas, run);
		}
		xas_unlock(&xas);
		EXPECT(k == n);
	}
	xa_destroy(&xa);
	xa_finish(&xa);
}
END_TEST

START_TEST(test_split_nodes)
{
	DEFINE_XARRAY(xa);
	unsigned long levels, nodes, pow = 1;

	/* 1 GiB of 4 KiB pages: one call builds every level below the entry's node. */
	ck_assert_int_eq(xa_store_order(&xa, 0, 18, xa_mk_ptr(1), GFP_KERNEL), 0);
	ck_assert_uint_eq(xa_nr_nodes(&xa), 1);
	ck_assert_int_eq(split_entry(&xa, 0, 18, 0, xa_mk_ptr(1)), 0);
	/* The entry's node, plus 2^(18 % shift) full subtrees down to the leaves. */
	levels = (18 - 18 % CHUNK_SHIFT) / CHUNK_SHIFT;
	while (levels--)
		pow *= CHUNK_SIZE;
	nodes = 1 + (1UL << (18 % CHUNK_SHIFT)) * (pow - 1) / (CHUNK_SIZE - 1);
	/* shift 6: 1 + 4161 new nodes, the kernel cascade's 4161 */
	if (CHUNK_SHIFT == 6)
		ck_assert_uint_eq(nodes, 1 + 4161);
	ck_assert_uint_eq(xa_nr_nodes(&xa), nodes);
	xa_check(&xa);
	xa_finish(&xa);

	/* A split inside one node allocates nothing. */
	ck_assert_int_eq(xa_store_order(&xa, 0, CHUNK_SHIFT + 1, xa_mk_ptr(1), GFP_KERNEL), 0);
	nodes = xa_nr_nodes(&xa);
	ck_assert_int_eq(split_entry(&xa, 0, CHUNK_SHIFT + 1, CHUNK_SHIFT, xa_mk_ptr(1)), 0);
	ck_assert_uint_eq(xa_nr_nodes(&xa), nodes);
	ck_assert_int_eq(xa_get_order(&xa, (1UL << CHUNK_SHIFT) + 1), CHUNK_SHIFT);
	xa_finish(&xa);
}
END_TEST

/* Walk @index of an order-@order entry down to order 0 with xas_try_split(). */
static int try_split_to_zero(struct xarray *xa, unsigned long index, unsigned int order,
			     void *entry)
{
	unsigned int cur = order;

	while (cur) {
		unsigned int next = xas_try_split_min_order(cur);
		XA_STATE_ORDER(xas, xa, index, next);

		xas_lock(&xas);
		xas_try_split(&xas, entry, cur);
		xas_unlock(&xas);
		if (xas_error(&xas))
			return xas_error(&xas);
		cur = next;
	}
	return 0;
}

START_TEST(test_try_split)
{
	DEFINE_XARRAY(xa);
	unsigned int order;

	EXPECT(xas_try_split_min_order(0) == 0);
	EXPECT(xas_try_split_min_order(CHUNK_SHIFT) == CHUNK_SHIFT - 1);
	EXPECT(xas_try_split_min_order(CHUNK_SHIFT + 1) == CHUNK_SHIFT);

	for (order = 1; order <= 18; order++) {
		unsigned long base = 1UL << order, t = base + (base / 3 | 1) % base, index;
		unsigned long nodes, expect = base, levels = order / CHUNK_SHIFT;
		void *entry = order % 2 ? xa_mk_ptr(order) : xa_mk_index(order);
		void *e;

		EXPECT(xa_store_order(&xa, base, order, entry, GFP_KERNEL) == 0);
		xa_set_mark(&xa, base, XA_MARK_1);
		nodes = xa_nr_nodes(&xa);
		EXPECT(try_split_to_zero(&xa, t, order, entry) == 0);
		xa_check(&xa);
		/* Non-uniform: only the path to t reaches order 0, one node per level. */
		ck_assert_uint_le(xa_nr_nodes(&xa) - nodes, levels);
		EXPECT(xa_get_order(&xa, t) == 0);
		xa_for_each_range (&xa, index, e, base, 2 * base - 1) {
			int o = xa_get_order(&xa, index);

			EXPECT(e == entry);
			EXPECT(index == expect);
			EXPECT(index % (1UL << o) == 0);
			EXPECT(xa_get_mark(&xa, index, XA_MARK_1));
			expect = index + (1UL << o);
		}
		EXPECT(expect == 2 * base);
		xa_destroy(&xa);
	}

	/* Refused: cutting a multi-slot entry, or two levels at once. */
	ck_assert_int_eq(xa_store_order(&xa, 0, CHUNK_SHIFT + 1, xa_mk_ptr(1), GFP_KERNEL), 0);
	{
		XA_STATE_ORDER(xas, &xa, 0, CHUNK_SHIFT - 1);

		xas_lock(&xas);
		xas_try_split(&xas, xa_mk_ptr(1), CHUNK_SHIFT + 1);
		xas_unlock(&xas);
		ck_assert_int_eq(xas_error(&xas), -EINVAL);
		ck_assert_int_eq(xa_get_order(&xa, 0), CHUNK_SHIFT + 1);
	}
	xa_destroy(&xa);
	ck_assert_int_eq(xa_store_order(&xa, 0, 2 * CHUNK_SHIFT, xa_mk_ptr(1), GFP_KERNEL), 0);
	{
		XA_STATE_ORDER(xas, &xa, 0, CHUNK_SHIFT - 1);

		xas_lock(&xas);
		xas_try_split(&xas, xa_mk_ptr(1), 2 * CHUNK_SHIFT);
		xas_unlock(&xas);
		ck_assert_int_eq(xas_error(&xas), -EINVAL);
		ck_assert_int_eq(xa_get_order(&xa, 5), 2 * CHUNK_SHIFT);
	}
	xa_check(&xa);
	xa_finish(&xa);
}
END_TEST

/* ---- locking ------------------------------------------------------------------------- */

START_TEST(test_lock_protocol)
{
	DEFINE_XARRAY(xa);
	struct gs_inject_rule rule = {
		.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_EVERY, .gfp = GS_INJECT_GFP_NOWAIT};
	int id = gs_inject_arm(&rule);
	unsigned long warns = gs_warn_count();
	void *old;

	/* Every GFP_NOWAIT node fails: progress comes from sleeping allocations off the lock. */
	ck_assert_ptr_null(xa_store(&xa, 1UL << 30, xa_mk_index(1), GFP_KERNEL));
	xa_lock(&xa);
	old = __xa_store(&xa, 1UL << 50, xa_mk_index(2), GFP_KERNEL);
	ck_assert(spin_is_locked(&xa.xa_lock));
	xa_unlock(&xa);
	ck_assert_ptr_null(old);
	ck_assert_int_eq(xa_insert(&xa, 77, xa_mk_index(3), GFP_KERNEL), 0);
	ck_assert_ptr_null(xa_store_range(&xa, 1000, 5000, xa_mk_index(4), GFP_KERNEL));
	ck_assert_int_eq(xa_store_order(&xa, 1UL << 20, 9, xa_mk_index(5), GFP_KERNEL), 0);
	/* ...while GFP_NOWAIT callers get -ENOMEM. */
	ck_assert_int_eq(xa_err(xa_store(&xa, 1UL << 40, xa_mk_index(6), GFP_NOWAIT)), -ENOMEM);
	gs_inject_disarm(id);
	ck_assert_uint_eq(gs_warn_count(), warns);
	ck_assert_ptr_eq(xa_load(&xa, 1UL << 30), xa_mk_index(1));
	ck_assert_ptr_eq(xa_load(&xa, 1UL << 50), xa_mk_index(2));
	ck_assert_ptr_eq(xa_load(&xa, 4000), xa_mk_index(4));
	ck_assert_ptr_null(xa_load(&xa, 1UL << 40));
	xa_finish(&xa);
}
END_TEST

/* ---- fault injection ----------------------------------------------------------------- */

struct snap_entry {
	unsigned long index;
	void *entry;
	int order;
	unsigned int marks;
};

struct snapshot {
	struct snap_entry *e;
	unsigned long nr;
	unsigned long nodes;
};

static void snapshot_take(struct xarray *xa, struct snapshot *s)
{
	XA_STATE(xas, xa, 0);
	unsigned long cap = 64;
	void *entry;

	s->e = malloc(cap * sizeof(*s->e));
	s->nr = 0;
	xas_lock(&xas);
	xas_for_each (&xas, entry, ~0UL) {
		if (s->nr == cap) {
			cap *= 2;
			s->e = realloc(s->e, cap * sizeof(*s->e));
		}
		s->e[s->nr++] = (struct snap_entry){
			.index = xas.xa_index,
			.entry = entry,
			.order = xas_get_order(&xas),
			.marks = xas_get_mark(&xas, 0) | xas_get_mark(&xas, 1) << 1 |
				 xas_get_mark(&xas, 2) << 2,
		};
	}
	xas_unlock(&xas);
	s->nodes = xa_nr_nodes(xa);
}

static bool snapshot_equal(const struct snapshot *a, const struct snapshot *b)
{
	return a->nr == b->nr && a->nodes == b->nodes && !memcmp(a->e, b->e, a->nr * sizeof(*a->e));
}

struct fi_case {
	const char *name;
	void (*build)(struct xarray *xa);
	int (*op)(struct xarray *xa);
	void (*verify)(struct xarray *xa);
};

struct fi_arg {
	struct xarray xa;
	const struct fi_case *c;
	struct snapshot before;
	unsigned long failures;
};

static void fi_prepare(void *p)
{
	struct fi_arg *a = p;

	xa_init(&a->xa);
	a->c->build(&a->xa);
	snapshot_take(&a->xa, &a->before);
}

static int fi_op(void *p)
{
	struct fi_arg *a = p;

	return a->c->op(&a->xa);
}

static void fi_check(void *p, int ret, unsigned long n, bool injected)
{
	struct fi_arg *a = p;
	struct snapshot after;
	int err = xa_validate(&a->xa, stderr);

	ck_assert_msg(!err, "%s: invalid after failing allocation %lu", a->c->name, n);
	if (ret) {
		ck_assert_msg(ret == -ENOMEM && injected, "%s: n=%lu returned %d", a->c->name, n,
			      ret);
		snapshot_take(&a->xa, &after);
		ck_assert_msg(snapshot_equal(&a->before, &after),
			      "%s: array changed by a failed call (n=%lu)", a->c->name, n);
		free(after.e);
		a->failures++;
	} else {
		a->c->verify(&a->xa);
	}
	free(a->before.e);
	xa_destroy(&a->xa);
	ck_assert_msg(gs_alloc_report_leaks(stderr) == 0, "%s: leak at n=%lu", a->c->name, n);
}

static void build_some(struct xarray *xa)
{
	for (unsigned long i = 0; i < 40; i += 3)
		xa_store(xa, i, xa_mk_index(i), GFP_KERNEL);
	xa_store_order(xa, 4096, CHUNK_SHIFT + 1, xa_mk_ptr(3), GFP_KERNEL);
	xa_set_mark(xa, 6, XA_MARK_1);
	xa_set_mark(xa, 4096, XA_MARK_0);
}

static void build_big(struct xarray *xa)
{
	build_some(xa);
	xa_store_order(xa, 1UL << 24, 2 * CHUNK_SHIFT, xa_mk_index(24), GFP_KERNEL);
	xa_set_mark(xa, 1UL << 24, XA_MARK_2);
}

#define FAR (1UL << 45)

static int op_store(struct xarray *xa)
{
	return xa_err(xa_store(xa, FAR + 5, xa_mk_index(5), GFP_KERNEL));
}

static int op_store_nowait(struct xarray *xa)
{
	return xa_err(xa_store(xa, 1000, xa_mk_index(5), GFP_NOWAIT));
}

static void verify_store(struct xarray *xa)
{
	ck_assert_ptr_eq(xa_load(xa, FAR + 5), xa_mk_index(5));
}

static void verify_store_nowait(struct xarray *xa)
{
	ck_assert_ptr_eq(xa_load(xa, 1000), xa_mk_index(5));
}

static int op_locked_store(struct xarray *xa)
{
	void *old;

	xa_lock(xa);
	old = __xa_store(xa, FAR + 5, xa_mk_index(5), GFP_KERNEL);
	xa_unlock(xa);
	return xa_err(old);
}

static int op_insert(struct xarray *xa)
{
	return xa_insert(xa, FAR + 5, xa_mk_index(5), GFP_KERNEL);
}

static int op_cmpxchg(struct xarray *xa)
{
	return xa_err(xa_cmpxchg(xa, FAR + 5, NULL, xa_mk_index(5), GFP_KERNEL));
}

static int op_store_order(struct xarray *xa)
{
	return xa_store_order(xa, FAR, CHUNK_SHIFT + 1, xa_mk_index(5), GFP_KERNEL);
}

static void verify_store_order(struct xarray *xa)
{
	ck_assert_ptr_eq(xa_load(xa, FAR + 5), xa_mk_index(5));
	ck_assert_int_eq(xa_get_order(xa, FAR), CHUNK_SHIFT + 1);
}

static int op_store_range(struct xarray *xa)
{
	return xa_err(xa_store_range(xa, 30, FAR + 5, xa_mk_ptr(7), GFP_KERNEL));
}

static void verify_store_range(struct xarray *xa)
{
	ck_assert_ptr_eq(xa_load(xa, 30), xa_mk_ptr(7));
	ck_assert_ptr_eq(xa_load(xa, FAR + 5), xa_mk_ptr(7));
	ck_assert_ptr_eq(xa_load(xa, 27), xa_mk_index(27));
	ck_assert_ptr_null(xa_load(xa, FAR + 6));
}

static int op_split(struct xarray *xa)
{
	return split_entry(xa, 1UL << 24, 2 * CHUNK_SHIFT, 0, xa_mk_index(24));
}

static void verify_split(struct xarray *xa)
{
	ck_assert_int_eq(xa_get_order(xa, (1UL << 24) + 5), 0);
	ck_assert(xa_get_mark(xa, (1UL << 24) + 5, XA_MARK_2));
}

static int op_split_partial(struct xarray *xa)
{
	return split_entry(xa, 4096, CHUNK_SHIFT + 1, 1, xa_mk_ptr(3));
}

static void verify_split_partial(struct xarray *xa)
{
	ck_assert_int_eq(xa_get_order(xa, 4097), 1);
	ck_assert(xa_get_mark(xa, 4098, XA_MARK_0));
}

/* One step: each xas_try_split() call is all-or-nothing, a loop of them is not. */
static int op_try_split(struct xarray *xa)
{
	XA_STATE_ORDER(xas, xa, (1UL << 24) + 9, 2 * CHUNK_SHIFT - 1);

	xas_lock(&xas);
	xas_try_split(&xas, xa_mk_index(24), 2 * CHUNK_SHIFT);
	xas_unlock(&xas);
	return xas_error(&xas);
}

static void verify_try_split(struct xarray *xa)
{
	ck_assert_int_eq(xa_get_order(xa, (1UL << 24) + 9), 2 * CHUNK_SHIFT - 1);
	ck_assert_int_eq(xa_get_order(xa, (1UL << 24) + (1UL << (2 * CHUNK_SHIFT)) - 1),
			 2 * CHUNK_SHIFT - 1);
	ck_assert(xa_get_mark(xa, (1UL << 24) + 9, XA_MARK_2));
}

static const struct fi_case fi_cases[] = {
	{"xa_store", build_some, op_store, verify_store},
	{"xa_store(GFP_NOWAIT)", build_some, op_store_nowait, verify_store_nowait},
	{"__xa_store", build_some, op_locked_store, verify_store},
	{"xa_insert", build_some, op_insert, verify_store},
	{"xa_cmpxchg", build_some, op_cmpxchg, verify_store},
	{"xas_store(order)", build_some, op_store_order, verify_store_order},
	{"xa_store_range", build_some, op_store_range, verify_store_range},
	{"xas_split", build_big, op_split, verify_split},
	{"xas_split(in node)", build_some, op_split_partial, verify_split_partial},
	{"xas_try_split", build_big, op_try_split, verify_try_split},
};

START_TEST(test_fault_injection)
{
	static const struct gs_fail_nth_ops ops = {
		.prepare = fi_prepare, .op = fi_op, .check = fi_check};
	const struct fi_case *c = &fi_cases[_i / 2];
	struct gs_fail_nth cfg = {
		.site = GS_INJECT_ANY_SITE, .persistent = _i % 2, .gfp = GS_INJECT_GFP_ANY};
	struct fi_arg arg = {.c = c};
	unsigned long iterations = 0;
	int ret;

	ret = gs_fail_nth_loop(&cfg, &ops, &arg, &iterations);
	ck_assert_msg(ret == 0, "%s: last run returned %d", c->name, ret);
	/* Each run but the last failed one allocation; persistent runs must report it. */
	if (cfg.persistent)
		ck_assert_uint_eq(arg.failures, iterations - 1);
	ck_assert_uint_ge(iterations, 2);
	gs_test_assert_no_leaks();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("xarray");
	TCase *tc = tcase_create("core");
	TCase *tc_split = tcase_create("split");
	TCase *tc_fi = tcase_create("fault-injection");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_entries);
	tcase_add_test(tc, test_nowait_enomem);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_shrink);
	tcase_add_test(tc, test_node_looking);
	tcase_add_test(tc, test_marks);
	tcase_add_test(tc, test_marks_xas);
	tcase_add_test(tc, test_insert);
	tcase_add_test(tc, test_cmpxchg);
	tcase_add_test(tc, test_multi_store);
	tcase_add_test(tc, test_get_order);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_find_multi);
	tcase_add_loop_test(tc, test_find_skips_like_steps, 0, 2);
	tcase_add_loop_test(tc, test_leaf_run_like_slot_test, 0, 2);
	tcase_add_loop_test(tc, test_null_store_along_walk, 0, 2);
	tcase_add_loop_test(tc, test_find_after_every_index, 0, 2);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_pause_at_max);
	tcase_add_test(tc, test_read_under_lock);
	tcase_add_test(tc, test_rcu_grace_period);
	tcase_add_test(tc, test_erase_while_iterating);
	tcase_add_test(tc, test_next_prev);
	tcase_add_test(tc, test_reserve_alloc);
	tcase_add_test(tc, test_conflict_create_range);
	tcase_add_test(tc, test_account);
	tcase_add_test(tc, test_destroy);
	tcase_add_test(tc, test_store_nodes);
	tcase_add_test(tc, test_store_order_nodes);
	tcase_add_test(tc, test_store_range);
	tcase_add_test(tc, test_lock_protocol);
	tcase_add_test(tc, test_dump_validate);
	tcase_add_test(tc, test_dump_state);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tc_split, setup, teardown);
	tcase_add_test(tc_split, test_split);
	tcase_add_test(tc_split, test_split_nodes);
	tcase_add_test(tc_split, test_split_store_seq);
	tcase_add_test(tc, test_leaf_run);
	tcase_add_test(tc, test_erase_clears_own_marks);
	tcase_add_loop_test(tc, test_replaced_leaves_retired, 0, 4);
	tcase_add_test(tc_split, test_try_split);
	suite_add_tcase(s, tc_split);

	tcase_add_checked_fixture(tc_fi, setup, teardown);
	tcase_add_loop_test(tc_fi, test_fault_injection, 0, 2 * (int)ARRAY_SIZE(fi_cases));
	suite_add_tcase(s, tc_fi);
	return s;
}
