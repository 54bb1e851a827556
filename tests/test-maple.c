// SPDX-License-Identifier: MIT
/*
 * Tests of the maple tree (lib/maple.c): the kernel's observable semantics
 * (range stores that trim and split, no merging of equal neighbours, NULL
 * coalescing, erase of a whole range, insert conflicts, iteration both ways,
 * pause and resume), the preallocate-then-store protocol, a seeded
 * differential run against a per-index reference model, and fault injection
 * of every node allocation of every kind of store.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/rng.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>
#include <gmemsim/xarray.h>
#include <valgrind/memcheck.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include "harness.h"

/* Value entries, as xa_mk_value() makes them: never NULL, never reserved. */
static void *mk(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

/*
 * Check records the location of every passing ck_assert (a write() each), which
 * would dominate the differential run; hot paths only report failures.
 */
#define must(cond)                                                            \
	do {                                                                  \
		if (unlikely(!(cond)))                                        \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

#define A mk(1)
#define B mk(2)
#define C mk(3)

struct range {
	unsigned long first;
	unsigned long last;
	void *entry;
};

/* Every range of @mt, NULL ones included, in order. Returns the count. */
static size_t snapshot(struct maple_tree *mt, struct range *out, size_t max)
{
	MA_STATE(mas, mt, 0, 0);
	size_t n = 0;
	void *entry = mas_walk(&mas);

	for (;;) {
		must(n < max);
		out[n++] = (struct range){mas.index, mas.last, entry};
		if (mas.last == ULONG_MAX)
			return n;
		entry = mas_next_range(&mas, ULONG_MAX);
	}
}

static void assert_same(const struct range *a, size_t na, const struct range *b, size_t nb)
{
	must(na == nb);
	for (size_t i = 0; i < na; i++) {
		must(a[i].first == b[i].first);
		must(a[i].last == b[i].last);
		must(a[i].entry == b[i].entry);
	}
}

/* The range holding @index must be [@first, @last] = @entry. */
static void assert_range(struct maple_tree *mt, unsigned long index, unsigned long first,
			 unsigned long last, void *entry)
{
	MA_STATE(mas, mt, index, index);

	must(mas_walk(&mas) == entry);
	must(mas.index == first);
	must(mas.last == last);
	must(mtree_load(mt, index) == entry);
}

static void teardown_tree(struct maple_tree *mt)
{
	ck_assert_int_eq(mt_validate(mt), 0);
	mtree_destroy(mt);
	ck_assert_uint_eq(mt_nr_nodes(mt), 0);
	gs_test_assert_no_leaks();
}

START_TEST(maple_empty)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 5, 5);

	ck_assert(mtree_empty(&mt));
	ck_assert_ptr_null(mtree_load(&mt, 0));
	ck_assert_ptr_null(mtree_load(&mt, ULONG_MAX));
	ck_assert_ptr_null(mtree_erase(&mt, 7));
	ck_assert_ptr_null(mas_walk(&mas));
	ck_assert_uint_eq(mas.index, 0);
	ck_assert_uint_eq(mas.last, ULONG_MAX);
	mas_set(&mas, 0);
	ck_assert_ptr_null(mas_find(&mas, ULONG_MAX));
	/* Storing NULL into an empty tree allocates nothing. */
	ck_assert_int_eq(mtree_store_range(&mt, 3, 9, NULL, GFP_KERNEL), 0);
	ck_assert_uint_eq(mt_nr_nodes(&mt), 0);
	ck_assert_uint_eq(mt_height(&mt), 0);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_store_load_single)
{
	struct maple_tree mt;

	mt_init(&mt);
	for (unsigned long i = 0; i < 200; i += 2)
		ck_assert_int_eq(mtree_store(&mt, i, mk(i), GFP_KERNEL), 0);
	for (unsigned long i = 0; i < 200; i++)
		ck_assert_ptr_eq(mtree_load(&mt, i), i % 2 ? NULL : mk(i));
	ck_assert_ptr_null(mtree_load(&mt, 200));
	ck_assert_ptr_null(mtree_load(&mt, ULONG_MAX));
	assert_range(&mt, 3, 3, 3, NULL);
	assert_range(&mt, 199, 199, ULONG_MAX, NULL);
	ck_assert_uint_eq(mt_nr_ranges(&mt), 200);
	ck_assert_uint_gt(mt_nr_nodes(&mt), 1);
	ck_assert_uint_eq(mt_nr_bytes(&mt), mt_nr_nodes(&mt) * 256);
	ck_assert_uint_ge(mt_height(&mt), 2);
	/* Overwrite in place. */
	ck_assert_int_eq(mtree_store(&mt, 10, B, GFP_KERNEL), 0);
	ck_assert_ptr_eq(mtree_load(&mt, 10), B);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_overwrite_edges)
{
	DEFINE_MTREE(mt);

	ck_assert_int_eq(mtree_store_range(&mt, 10, 19, A, GFP_KERNEL), 0);
	assert_range(&mt, 10, 10, 19, A);
	assert_range(&mt, 0, 0, 9, NULL);
	assert_range(&mt, 20, 20, ULONG_MAX, NULL);
	/* Overlap on the right end trims A. */
	ck_assert_int_eq(mtree_store_range(&mt, 15, 25, B, GFP_KERNEL), 0);
	assert_range(&mt, 12, 10, 14, A);
	assert_range(&mt, 20, 15, 25, B);
	/* Overlap on the left end trims A from the front. */
	ck_assert_int_eq(mtree_store_range(&mt, 5, 11, C, GFP_KERNEL), 0);
	assert_range(&mt, 5, 5, 11, C);
	assert_range(&mt, 12, 12, 14, A);
	/* A store inside a range splits it in three. */
	ck_assert_int_eq(mtree_store_range(&mt, 100, 199, A, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_store_range(&mt, 150, 160, B, GFP_KERNEL), 0);
	assert_range(&mt, 100, 100, 149, A);
	assert_range(&mt, 155, 150, 160, B);
	assert_range(&mt, 161, 161, 199, A);
	/* Exact overwrite keeps the bounds. */
	ck_assert_int_eq(mtree_store_range(&mt, 150, 160, C, GFP_KERNEL), 0);
	assert_range(&mt, 150, 150, 160, C);
	/* Storing NULL inside a range punches a hole; NULL neighbours coalesce. */
	ck_assert_int_eq(mtree_store_range(&mt, 100, 149, NULL, GFP_KERNEL), 0);
	assert_range(&mt, 120, 26, 149, NULL);
	ck_assert_int_eq(mtree_store_range(&mt, 161, 199, NULL, GFP_KERNEL), 0);
	assert_range(&mt, 170, 161, ULONG_MAX, NULL);
	assert_range(&mt, 150, 150, 160, C);
	ck_assert_int_eq(mtree_store_range(&mt, 150, 160, NULL, GFP_KERNEL), 0);
	assert_range(&mt, 150, 26, ULONG_MAX, NULL);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_no_merge_equal_neighbours)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long n = 0;
	void *entry;

	ck_assert_int_eq(mtree_store_range(&mt, 0, 9, A, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_store_range(&mt, 10, 19, A, GFP_KERNEL), 0);
	mas_for_each (&mas, entry, ULONG_MAX) {
		ck_assert_ptr_eq(entry, A);
		ck_assert_uint_eq(mas.index, n * 10);
		ck_assert_uint_eq(mas.last, n * 10 + 9);
		n++;
	}
	ck_assert_uint_eq(n, 2);
	/* Erasing both leaves nothing: the NULL ranges coalesce and the tree empties. */
	ck_assert_ptr_eq(mtree_erase(&mt, 5), A);
	assert_range(&mt, 5, 0, 9, NULL);
	ck_assert_ptr_eq(mtree_erase(&mt, 19), A);
	ck_assert(mtree_empty(&mt));
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_overwrite_many)
{
	DEFINE_MTREE(mt);
	const unsigned long n = 5000;

	for (unsigned long i = 0; i < n; i++)
		ck_assert_int_eq(mtree_store_range(&mt, i * 10, i * 10 + 9, mk(i % 3), GFP_KERNEL),
				 0);
	ck_assert_int_eq(mt_validate(&mt), 0);
	ck_assert_uint_ge(mt_height(&mt), 3);
	/* One store over thousands of ranges, with ragged ends. */
	ck_assert_int_eq(mtree_store_range(&mt, 1234, 45678, B, GFP_KERNEL), 0);
	ck_assert_int_eq(mt_validate(&mt), 0);
	assert_range(&mt, 1231, 1230, 1233, mk(123 % 3));
	assert_range(&mt, 30000, 1234, 45678, B);
	assert_range(&mt, 45679, 45679, 45679, mk(4567 % 3));
	/* Erase across everything but the ends. */
	ck_assert_int_eq(mtree_store_range(&mt, 5, n * 10 - 5, NULL, GFP_KERNEL), 0);
	ck_assert_int_eq(mt_validate(&mt), 0);
	assert_range(&mt, 0, 0, 4, mk(0));
	assert_range(&mt, 100, 5, n * 10 - 5, NULL);
	assert_range(&mt, n * 10 - 1, n * 10 - 4, n * 10 - 1, mk((n - 1) % 3));
	ck_assert_uint_eq(mt_height(&mt), 1);
	/* Everything to NULL: no nodes left. */
	ck_assert_int_eq(mtree_store_range(&mt, 0, ULONG_MAX, NULL, GFP_KERNEL), 0);
	ck_assert(mtree_empty(&mt));
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_insert_conflicts)
{
	DEFINE_MTREE(mt);
	unsigned long warns = gs_warn_count();

	ck_assert_int_eq(mtree_insert_range(&mt, 10, 19, A, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_insert_range(&mt, 10, 19, B, GFP_KERNEL), -EEXIST);
	ck_assert_int_eq(mtree_insert_range(&mt, 0, 10, B, GFP_KERNEL), -EEXIST);
	ck_assert_int_eq(mtree_insert_range(&mt, 19, 30, B, GFP_KERNEL), -EEXIST);
	ck_assert_int_eq(mtree_insert_range(&mt, 0, 100, B, GFP_KERNEL), -EEXIST);
	ck_assert_int_eq(mtree_insert(&mt, 15, B, GFP_KERNEL), -EEXIST);
	ck_assert_int_eq(mtree_insert_range(&mt, 0, 9, B, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_insert_range(&mt, 20, 20, C, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_insert(&mt, ULONG_MAX, C, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_insert_range(&mt, 30, 20, C, GFP_KERNEL), -EINVAL);
	ck_assert_int_eq(mtree_store_range(&mt, 30, 20, C, GFP_KERNEL), -EINVAL);
	assert_range(&mt, 0, 0, 9, B);
	assert_range(&mt, 19, 10, 19, A);
	assert_range(&mt, 20, 20, 20, C);
	/* Reserved (internal) entries are refused with a warning, as in the kernel. */
	gs_warn_set_mode(GS_WARN_QUIET);
	gs_warn_reset_once();
	ck_assert_int_eq(
		mtree_store_range(&mt, 40, 50, (void *)(unsigned long)((1 << 2) | 2), GFP_KERNEL),
		-EINVAL);
	gs_warn_reset_once();
	ck_assert_int_eq(mtree_insert(&mt, 40, (void *)(unsigned long)((256 << 2) | 2), GFP_KERNEL),
			 -EINVAL);
	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert_uint_eq(gs_warn_count(), warns + 2);
	ck_assert_ptr_null(mtree_load(&mt, 45));
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_erase_whole_range)
{
	DEFINE_MTREE(mt);

	ck_assert_int_eq(mtree_store_range(&mt, 100, 199, A, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_store_range(&mt, 200, 299, B, GFP_KERNEL), 0);
	ck_assert_ptr_eq(mtree_erase(&mt, 150), A);
	assert_range(&mt, 100, 0, 199, NULL);
	assert_range(&mt, 200, 200, 299, B);
	ck_assert_ptr_null(mtree_erase(&mt, 150));
	ck_assert_ptr_eq(mtree_erase(&mt, 299), B);
	ck_assert(mtree_empty(&mt));
	teardown_tree(&mt);
}
END_TEST

/* 100 ranges [10i, 10i+4] = mk(i) with NULL gaps between them. */
static void fill_gapped(struct maple_tree *mt, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		ck_assert_int_eq(mtree_store_range(mt, i * 10, i * 10 + 4, mk(i), GFP_KERNEL), 0);
}

START_TEST(maple_iterate_both_ways)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long i = 0, index = 0;
	void *entry;

	fill_gapped(&mt, 100);
	mas_for_each (&mas, entry, ULONG_MAX) {
		ck_assert_ptr_eq(entry, mk(i));
		ck_assert_uint_eq(mas.index, i * 10);
		ck_assert_uint_eq(mas.last, i * 10 + 4);
		i++;
	}
	ck_assert_uint_eq(i, 100);
	/* Backwards from the last one. */
	mas_set(&mas, 994);
	ck_assert_ptr_eq(mas_walk(&mas), mk(99));
	for (i = 99; i-- > 0;) {
		ck_assert_ptr_eq(mas_prev(&mas, 0), mk(i));
		ck_assert_uint_eq(mas.index, i * 10);
	}
	ck_assert_ptr_null(mas_prev(&mas, 0));
	ck_assert_uint_eq(mas.status, ma_underflow);
	/* And forward again from the underflow. */
	ck_assert_ptr_eq(mas_next(&mas, ULONG_MAX), mk(0));
	ck_assert_ptr_eq(mas_next(&mas, ULONG_MAX), mk(1));
	/* Limits: a range that starts by max is returned, the next is not. */
	mas_set(&mas, 0);
	i = 0;
	mas_for_each (&mas, entry, 52)
		i++;
	ck_assert_uint_eq(i, 6);
	mas_set(&mas, 500);
	ck_assert_ptr_eq(mas_next(&mas, 515), mk(51));
	ck_assert_ptr_null(mas_next(&mas, 515));
	ck_assert_uint_eq(mas.status, ma_overflow);
	mas_set(&mas, 512);
	ck_assert_ptr_null(mas_prev(&mas, 505));
	mas_set(&mas, 512);
	ck_assert_ptr_eq(mas_prev(&mas, 504), mk(50));
	ck_assert_ptr_null(mas_prev(&mas, 504));
	/* mas_find from inside a range returns it, moving index back to its start. */
	mas_set(&mas, 302);
	ck_assert_ptr_eq(mas_find(&mas, ULONG_MAX), mk(30));
	ck_assert_uint_eq(mas.index, 300);
	ck_assert_ptr_eq(mas_find(&mas, ULONG_MAX), mk(31));
	/* From a gap, the next range. */
	mas_set(&mas, 306);
	ck_assert_ptr_eq(mas_find(&mas, ULONG_MAX), mk(31));
	ck_assert_uint_eq(mas.index, 310);
	/* The reverse search mirrors it. */
	mas_set(&mas, 302);
	ck_assert_ptr_eq(mas_find_rev(&mas, 0), mk(30));
	ck_assert_uint_eq(mas.index, 300);
	ck_assert_uint_eq(mas.last, 304);
	ck_assert_ptr_eq(mas_find_rev(&mas, 0), mk(29));
	mas_set(&mas, 307);
	ck_assert_ptr_eq(mas_find_rev(&mas, 0), mk(30));
	ck_assert_ptr_null(mas_find_rev(&mas, 300));
	mas_set(&mas, 307);
	ck_assert_ptr_eq(mas_find_range_rev(&mas, 0), mk(30));
	ck_assert_ptr_null(mas_find_range_rev(&mas, 0));
	ck_assert_uint_eq(mas.index, 295);
	ck_assert_ptr_eq(mas_find_range_rev(&mas, 0), mk(29));
	ck_assert_ptr_eq(mt_next(&mt, 302, ULONG_MAX), mk(31));
	ck_assert_ptr_eq(mt_next(&mt, 306, ULONG_MAX), mk(31));
	ck_assert_ptr_null(mt_next(&mt, 306, 309));
	ck_assert_ptr_eq(mt_prev(&mt, 302, 0), mk(29));
	ck_assert_ptr_eq(mt_prev(&mt, 306, 0), mk(30));
	ck_assert_ptr_null(mt_prev(&mt, 3, 0));
	/* mt_for_each visits each range once and advances the index past it. */
	i = 0;
	mt_for_each (&mt, entry, index, ULONG_MAX) {
		ck_assert_ptr_eq(entry, mk(i));
		ck_assert_uint_eq(index, i * 10 + 5);
		i++;
	}
	ck_assert_uint_eq(i, 100);
	index = 995;
	ck_assert_ptr_null(mt_find(&mt, &index, ULONG_MAX));
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_find_range)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long n = 0;
	void *entry;

	fill_gapped(&mt, 50);
	/* Starting in a range: that range, then every range NULL or not. */
	mas_set(&mas, 2);
	entry = mas_find_range(&mas, ULONG_MAX);
	ck_assert_ptr_eq(entry, mk(0));
	for (;;) {
		entry = mas_find_range(&mas, ULONG_MAX);
		if (mas.status == ma_overflow)
			break;
		n++;
		ck_assert_ptr_eq(entry, n % 2 ? NULL : mk(n / 2));
		if (mas.last == ULONG_MAX)
			break;
	}
	ck_assert_uint_eq(n, 99);
	/* Starting in a gap: the next range. */
	mas_set(&mas, 7);
	ck_assert_ptr_eq(mas_find_range(&mas, ULONG_MAX), mk(1));
	ck_assert_ptr_null(mas_find_range(&mas, ULONG_MAX));
	ck_assert_uint_eq(mas.index, 15);
	ck_assert_uint_eq(mas.last, 19);
	/* Backwards through gaps too. */
	ck_assert_ptr_eq(mas_prev_range(&mas, 0), mk(1));
	ck_assert_ptr_null(mas_prev_range(&mas, 0));
	ck_assert_uint_eq(mas.index, 5);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_pause_resume)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long i = 0;
	void *entry;

	fill_gapped(&mt, 300);
	mtree_lock(&mt);
	mas_for_each (&mas, entry, ULONG_MAX) {
		ck_assert_ptr_eq(entry, mk(i));
		ck_assert_uint_eq(mas.index, i * 10);
		if (i % 7 == 0) {
			/* Drop the lock; meanwhile the tree changes behind us and ahead of us. */
			mas_pause(&mas);
			mtree_unlock(&mt);
			ck_assert_int_eq(
				mtree_store_range(&mt, i * 10 + 5, i * 10 + 9, NULL, GFP_KERNEL),
				0);
			if (i)
				ck_assert_ptr_eq(mtree_erase(&mt, i * 10 - 10), mk(i - 1));
			mtree_lock(&mt);
		}
		i++;
	}
	mtree_unlock(&mt);
	ck_assert_uint_eq(i, 300);
	/* Replacing entries while iterating (the store leaves the state paused). */
	mtree_lock(&mt);
	mas_set(&mas, 0);
	i = 0;
	mas_for_each (&mas, entry, ULONG_MAX) {
		mas_store(&mas, B);
		ck_assert(!mas_is_err(&mas));
		i++;
	}
	mtree_unlock(&mt);
	ck_assert_uint_gt(i, 200);
	ck_assert_ptr_eq(mtree_load(&mt, 2990), B);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_destroy_and_reuse)
{
	DEFINE_MTREE(mt);

	fill_gapped(&mt, 3000);
	ck_assert_uint_gt(mt_nr_nodes(&mt), 100);
	mtree_destroy(&mt);
	ck_assert(mtree_empty(&mt));
	ck_assert_uint_eq(mt_height(&mt), 0);
	gs_test_assert_no_leaks();
	fill_gapped(&mt, 10);
	ck_assert_ptr_eq(mtree_load(&mt, 90), mk(9));
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_extremes)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long index = 0;
	void *entry;

	ck_assert_int_eq(mtree_store(&mt, 0, A, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_store(&mt, ULONG_MAX, B, GFP_KERNEL), 0);
	assert_range(&mt, 0, 0, 0, A);
	assert_range(&mt, ULONG_MAX, ULONG_MAX, ULONG_MAX, B);
	assert_range(&mt, 1, 1, ULONG_MAX - 1, NULL);
	mas_set(&mas, ULONG_MAX);
	ck_assert_ptr_eq(mas_find(&mas, ULONG_MAX), B);
	ck_assert_ptr_null(mas_find(&mas, ULONG_MAX));
	ck_assert_ptr_eq(mas_prev(&mas, 0), A);
	/* mt_for_each stops after ULONG_MAX (the index wraps to 0). */
	index = 1;
	mt_for_each (&mt, entry, index, ULONG_MAX)
		ck_assert_ptr_eq(entry, B);
	ck_assert_uint_eq(index, 0);
	/* One range over everything, then a single index inside it. */
	ck_assert_int_eq(mtree_store_range(&mt, 0, ULONG_MAX, C, GFP_KERNEL), 0);
	assert_range(&mt, 12345, 0, ULONG_MAX, C);
	ck_assert_uint_eq(mt_nr_ranges(&mt), 1);
	ck_assert_int_eq(mtree_store(&mt, 1UL << 63, A, GFP_KERNEL), 0);
	assert_range(&mt, 1UL << 63, 1UL << 63, 1UL << 63, A);
	assert_range(&mt, 0, 0, (1UL << 63) - 1, C);
	assert_range(&mt, ULONG_MAX, (1UL << 63) + 1, ULONG_MAX, C);
	ck_assert_ptr_eq(mtree_erase(&mt, ULONG_MAX), C);
	ck_assert_ptr_eq(mtree_erase(&mt, 0), C);
	assert_range(&mt, 0, 0, (1UL << 63) - 1, NULL);
	ck_assert_int_eq(mtree_store_range(&mt, 0, ULONG_MAX - 1, B, GFP_KERNEL), 0);
	assert_range(&mt, ULONG_MAX, ULONG_MAX, ULONG_MAX, NULL);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_ascending_fill)
{
	DEFINE_MTREE(mt);
	const unsigned long n = 100000;

	for (unsigned long i = 0; i < n; i++)
		ck_assert_int_eq(
			mtree_store_range(&mt, i * 512, i * 512 + 511, mk(i & 1), GFP_KERNEL), 0);
	ck_assert_int_eq(mt_validate(&mt), 0);
	ck_assert_uint_eq(mt_nr_ranges(&mt), n + 1);
	/* The kernel needs 7,145 nodes for this; full rightmost splits need fewer. */
	ck_assert_uint_le(mt_nr_nodes(&mt), 7145);
	printf("100,000 ascending ranges: %lu nodes, %lu bytes, height %u\n", mt_nr_nodes(&mt),
	       mt_nr_bytes(&mt), mt_height(&mt));
	teardown_tree(&mt);
}
END_TEST

/* The nodes as state records for renders: a leaf lists its ranges, values by number. */
START_TEST(maple_dump_state)
{
	DEFINE_MTREE(mt);
	struct gs_state *st = gs_state_new();

	gs_mt_dump_state(st, "mt", &mt);
	ck_assert_str_eq(gs_state_get(st, "mt", "height"), "0");
	ck_assert_ptr_null(gs_state_get(st, "mt/0", "min"));
	gs_state_free(st);
	ck_assert_int_eq(mtree_store_range(&mt, 0, 9, mk(1), GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_store_range(&mt, 10, 10, mk(2), GFP_KERNEL), 0);
	st = gs_state_new();
	gs_mt_dump_state(st, "mt", &mt);
	ck_assert_str_eq(gs_state_get(st, "mt", "height"), "1");
	ck_assert_str_eq(gs_state_get(st, "mt/0", "type"), "leaf");
	ck_assert_str_eq(gs_state_get(st, "mt/0", "parent"), "-1");
	ck_assert_str_eq(gs_state_get(st, "mt/0", "slots"), "3");
	ck_assert_str_eq(gs_state_get(st, "mt/0", "ranges"),
			 "0x0-0x9=1,0xa-0xa=2,0xb-0xffffffffffffffff=null");
	gs_state_free(st);
	mtree_destroy(&mt);
}
END_TEST

START_TEST(maple_dump_and_validate)
{
	DEFINE_MTREE(mt);
	FILE *f = tmpfile();
	struct maple_node *root;
	char buf[256];
	unsigned long tmp;

	ck_assert_ptr_nonnull(f);
	fill_gapped(&mt, 40);
	mt_fdump(f, &mt, mt_dump_dec);
	mt_fdump(f, &mt, mt_dump_hex);
	rewind(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	ck_assert_ptr_nonnull(strstr(buf, "maple_tree("));
	fclose(f);
	/* Corrupt the root's pivots: validation must notice. */
	root = (struct maple_node *)((unsigned long)mt.ma_root & ~7UL);
	tmp = root->pivot[0];
	root->pivot[0] = root->pivot[1];
	root->pivot[1] = tmp;
	gs_warn_set_mode(GS_WARN_QUIET);
	ck_assert_int_eq(mt_validate(&mt), -EUCLEAN);
	gs_warn_set_mode(GS_WARN_PRINT);
	root->pivot[1] = root->pivot[0];
	root->pivot[0] = tmp;
	teardown_tree(&mt);
}
END_TEST

/* ---- preallocation ---- */

START_TEST(maple_prealloc_then_store)
{
	DEFINE_MTREE(mt);
	struct gs_inject_rule all = {.site = GS_INJECT_ANY_SITE, .mode = GS_INJECT_EVERY};
	struct gs_site_stats st;
	int id;

	fill_gapped(&mt, 2000);
	for (unsigned long i = 0; i < 2000; i++) {
		MA_STATE(mas, &mt, i * 10 + 1, i * 10 + 2);

		/* Prepare outside the lock with GFP_KERNEL; commit under it with no allocation allowed. */
		ck_assert_int_eq(mas_preallocate(&mas, B, GFP_KERNEL), 0);
		id = gs_inject_arm(&all);
		ck_assert_int_ge(id, 0);
		mtree_lock(&mt);
		mas_store_prealloc(&mas, B);
		mtree_unlock(&mt);
		ck_assert_uint_eq(gs_inject_rule_fired(id), 0);
		gs_inject_disarm(id);
		ck_assert_ptr_null(mas.alloc);
		assert_range(&mt, i * 10 + 1, i * 10 + 1, i * 10 + 2, B);
		assert_range(&mt, i * 10, i * 10, i * 10, mk(i));
		assert_range(&mt, i * 10 + 3, i * 10 + 3, i * 10 + 4, mk(i));
	}
	ck_assert_int_eq(mt_validate(&mt), 0);
	/* A reserve that goes unused is released by mas_destroy(). */
	for (unsigned long i = 0; i < 50; i++) {
		MA_STATE(mas, &mt, i * 10 + 1, i * 10 + 1);

		ck_assert_int_eq(mas_preallocate(&mas, C, GFP_KERNEL), 0);
		mas_destroy(&mas);
	}
	ck_assert_int_eq(gs_site_stats(GS_SITE_MAPLE_PREALLOC, &st), 0);
	ck_assert_uint_eq(st.live, st.allocs - st.frees);
	teardown_tree(&mt);
	ck_assert_int_eq(gs_site_stats(GS_SITE_MAPLE_PREALLOC, &st), 0);
	ck_assert_uint_eq(st.live, 0);
}
END_TEST

START_TEST(maple_prealloc_reserves_worst_case)
{
	DEFINE_MTREE(mt);
	struct gs_site_stats before, after;

	/* Full leaves everywhere: splitting a range in three must split up to the root. */
	for (unsigned long i = 0; i < 16 * 16 * 16; i++)
		ck_assert_int_eq(mtree_store(&mt, i, mk(i), GFP_KERNEL), 0);
	for (unsigned long i = 0; i < 16 * 16 * 16; i += 37) {
		MA_STATE(mas, &mt, i, i);

		ck_assert_int_eq(mtree_store_range(&mt, i, i + 3, A, GFP_KERNEL), 0);
		mas_set_range(&mas, i + 1, i + 1);
		gs_site_stats(GS_SITE_MAPLE_PREALLOC, &before);
		ck_assert_int_eq(mas_preallocate(&mas, B, GFP_KERNEL), 0);
		mtree_lock(&mt);
		mas_store_prealloc(&mas, B);
		mtree_unlock(&mt);
		gs_site_stats(GS_SITE_MAPLE_PREALLOC, &after);
		ck_assert_uint_eq(after.live, after.allocs - after.frees);
		assert_range(&mt, i, i, i, A);
		assert_range(&mt, i + 1, i + 1, i + 1, B);
		assert_range(&mt, i + 2, i + 2, i + 3, A);
	}
	ck_assert_int_eq(mt_validate(&mt), 0);
	teardown_tree(&mt);
}
END_TEST

/* Store single indices with GFP_NOWAIT while node allocation always fails. */
static void store_nowait_until_enomem(struct maple_tree *mt)
{
	struct gs_inject_rule r = {.site = GS_SITE_MAPLE_NODE, .mode = GS_INJECT_EVERY};
	struct range *before = malloc(4000 * sizeof(*before));
	struct range *now = malloc(4000 * sizeof(*now));
	MA_STATE(mas, mt, 0, 0);
	size_t nb = snapshot(mt, before, 4000), nn;
	int id = gs_inject_arm(&r), ret = 0;

	/* Stores that fit their leaf go through; the first that must split fails. */
	for (unsigned long i = 0; i < 1000 && !ret; i++) {
		mas_set_range(&mas, i * 3 + 1, i * 3 + 1);
		mtree_lock(mt);
		ret = mas_store_gfp(&mas, A, GFP_NOWAIT);
		mtree_unlock(mt);
		if (!ret)
			nb = snapshot(mt, before, 4000);
	}
	gs_inject_disarm(id);
	ck_assert_int_eq(ret, -ENOMEM);
	ck_assert(mas_is_err(&mas));
	nn = snapshot(mt, now, 4000);
	assert_same(now, nn, before, nb);
	free(before);
	free(now);
}

START_TEST(maple_store_gfp_under_lock)
{
	DEFINE_MTREE(mt);
	unsigned long warns = gs_warn_count();

	/* GFP_KERNEL with the lock held: mas_nomem() drops it to allocate, so no WARN. */
	for (unsigned long i = 0; i < 1000; i++) {
		MA_STATE(mas, &mt, i * 3, i * 3 + 1);

		mtree_lock(&mt);
		ck_assert_int_eq(mas_store_gfp(&mas, mk(i), GFP_KERNEL), 0);
		mtree_unlock(&mt);
	}
	/* A failed GFP_NOWAIT store reports -ENOMEM and leaves the tree as it was. */
	store_nowait_until_enomem(&mt);
	ck_assert_uint_eq(gs_warn_count(), warns);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_store_nomem_retry)
{
	DEFINE_MTREE(mt);
	unsigned long retries = 0;

	/* The kernel idiom: try without sleeping, on -ENOMEM allocate with GFP_KERNEL and retry. */
	for (unsigned long i = 0; i < 2000; i++) {
		struct gs_inject_rule once = {.site = GS_SITE_MAPLE_NODE,
					      .mode = GS_INJECT_NTH,
					      .nth = 1,
					      .gfp = GS_INJECT_GFP_NOWAIT};
		MA_STATE(mas, &mt, i * 2, i * 2);
		int id = gs_inject_arm(&once);

		mtree_lock(&mt);
		do {
			ck_assert_ptr_null(mas_store(&mas, mk(i)));
			retries += mas_is_err(&mas);
		} while (mas_nomem(&mas, GFP_KERNEL));
		mtree_unlock(&mt);
		gs_inject_disarm(id);
		ck_assert(!mas_is_err(&mas));
		ck_assert_ptr_null(mas.alloc);
		ck_assert_ptr_eq(mtree_load(&mt, i * 2), mk(i));
	}
	/* Every store that needed a node failed once and then went through. */
	ck_assert_uint_gt(retries, 100);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_mas_lock)
{
	DEFINE_MTREE(a);
	DEFINE_MTREE(b);
	MA_STATE(mas, &b, 10, 19);
	unsigned long warns = gs_warn_count();

	/* mas_lock() takes the lock of the tree the state walks, and no other. */
	mas_lock(&mas);
	ck_assert(spin_is_locked(&b.ma_lock));
	ck_assert(!spin_is_locked(&a.ma_lock));
	lockdep_assert_held(&b.ma_lock);
	/* mas_nomem() drops and retakes that same lock to allocate: no WARN, still held. */
	ck_assert_int_eq(mas_store_gfp(&mas, mk(1), GFP_KERNEL), 0);
	ck_assert(spin_is_locked(&b.ma_lock));
	mas_unlock(&mas);
	ck_assert(!spin_is_locked(&b.ma_lock));
	ck_assert_uint_eq(gs_preempt_count, 0);
	ck_assert_uint_eq(gs_warn_count(), warns);
	ck_assert_ptr_eq(mtree_load(&b, 15), mk(1));
	ck_assert_ptr_null(mtree_load(&a, 15));
	/* It is the tree's own lock: releasing it twice breaks the lock rules. */
	gs_warn_set_mode(GS_WARN_QUIET);
	mas_unlock(&mas);
	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert_uint_eq(gs_warn_count(), warns + 1);
	teardown_tree(&b);
}
END_TEST

START_TEST(maple_external_lock)
{
	struct maple_tree mt;
	int dummy_lock = 0;
	unsigned long warns = gs_warn_count();

	/* A tree under a sleeping lock of the caller's (as VMAs under mmap_lock). */
	mt_init_flags(&mt, MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&mt, &dummy_lock);
	for (unsigned long i = 0; i < 300; i++) {
		struct gs_inject_rule once = {.site = GS_SITE_MAPLE_NODE,
					      .mode = GS_INJECT_NTH,
					      .nth = 1,
					      .gfp = GS_INJECT_GFP_NOWAIT};
		MA_STATE(mas, &mt, i * 2, i * 2);
		int id = gs_inject_arm(&once);

		/* mas_nomem() must neither take nor drop the tree's own spinlock. */
		ck_assert_int_eq(mas_store_gfp(&mas, mk(i), GFP_KERNEL), 0);
		gs_inject_disarm(id);
		ck_assert(!spin_is_locked(&mt.ma_lock));
	}
	ck_assert_uint_eq(gs_warn_count(), warns);
	ck_assert_ptr_eq(mtree_load(&mt, 598), mk(299));
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_gfp_rules)
{
	DEFINE_MTREE(mt);
	DEFINE_SPINLOCK(other);
	unsigned long warns;

	fill_gapped(&mt, 500);
	warns = gs_warn_count();
	/* Under a spinlock of the caller's, only non-sleeping allocations are allowed. */
	spin_lock(&other);
	for (unsigned long i = 0; i < 500; i++)
		ck_assert_int_eq(mtree_store_range(&mt, i * 10 + 1, i * 10 + 1, B, GFP_NOWAIT), 0);
	spin_unlock(&other);
	ck_assert_uint_eq(gs_warn_count(), warns);
	/* GFP_KERNEL there is a might_sleep() violation, reported as the kernel would. */
	gs_warn_set_mode(GS_WARN_QUIET);
	spin_lock(&other);
	{
		MA_STATE(mas, &mt, 3, 3);

		ck_assert_int_eq(mas_preallocate(&mas, A, GFP_KERNEL), 0);
		mtree_lock(&mt);
		mas_store_prealloc(&mas, A);
		mtree_unlock(&mt);
	}
	spin_unlock(&other);
	gs_warn_set_mode(GS_WARN_PRINT);
	ck_assert_uint_gt(gs_warn_count(), warns);
	ck_assert_ptr_eq(mtree_load(&mt, 3), A);
	teardown_tree(&mt);
}
END_TEST

/* ---- differential test against a per-index reference ---- */

/*
 * The reference: cells 0..U-1 are indices, cell U stands for [U, ULONG_MAX].
 * val[] holds each cell's entry and brk[c] says a range ends at cell c; NULL
 * runs are kept as single ranges, as the tree does.
 */
struct ref {
	unsigned long u;
	void **val;
	bool *brk;
};

static unsigned long cell_first(const struct ref *r, unsigned long c)
{
	(void)r;
	return c;
}

static unsigned long cell_last(const struct ref *r, unsigned long c)
{
	return c == r->u ? ULONG_MAX : c;
}

static void ref_store(struct ref *r, unsigned long f, unsigned long l, void *entry)
{
	for (unsigned long c = f; c <= l; c++) {
		r->val[c] = entry;
		r->brk[c] = c == l;
	}
	if (f)
		r->brk[f - 1] = true;
	if (!entry && f && !r->val[f - 1])
		r->brk[f - 1] = false;
	if (!entry && l < r->u && !r->val[l + 1])
		r->brk[l] = false;
}

/* The run of cells holding cell @c. */
static void ref_run(const struct ref *r, unsigned long c, unsigned long *f, unsigned long *l)
{
	*f = c;
	while (*f && !r->brk[*f - 1])
		(*f)--;
	*l = c;
	while (!r->brk[*l])
		(*l)++;
}

static void ref_compare(struct maple_tree *mt, const struct ref *r)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long c = 0, f, l;
	void *entry = mas_walk(&mas);

	/* Forward over every range, NULL ones included. */
	for (;;) {
		ref_run(r, c, &f, &l);
		must(mas.index == cell_first(r, f));
		must(mas.last == cell_last(r, l));
		must(entry == r->val[c]);
		if (l == r->u)
			break;
		c = l + 1;
		entry = mas_next_range(&mas, ULONG_MAX);
	}
	must(mas.last == ULONG_MAX);

	/* Backward with mas_prev(): NULL runs are never adjacent, so skip at most one. */
	c = r->u;
	mas_set(&mas, ULONG_MAX);
	entry = mas_walk(&mas);
	for (;;) {
		ref_run(r, c, &f, &l);
		must(entry == r->val[c]);
		must(mas.index == cell_first(r, f));
		must(mas.last == cell_last(r, l));
		if (f && !r->val[f - 1])
			ref_run(r, f - 1, &f, &l);
		if (!f) {
			must(!mas_prev(&mas, 0));
			break;
		}
		c = f - 1;
		entry = mas_prev(&mas, 0);
	}

	/* Forward over the non-NULL ones with mas_for_each(). */
	mas_set(&mas, 0);
	c = 0;
	mas_for_each (&mas, entry, ULONG_MAX) {
		while (!r->val[c])
			c++;
		ref_run(r, c, &f, &l);
		must(entry == r->val[c]);
		must(mas.index == cell_first(r, f));
		must(mas.last == cell_last(r, l));
		c = l + 1;
		if (l == r->u)
			break;
	}
}

/* How one differential phase draws its operations. */
struct diff_mix {
	unsigned long cells; /* size of the reference universe */
	unsigned long wide;  /* longest "wide" store, in cells */
	unsigned long wipe;  /* stores over the whole universe, per 100,000 */
	unsigned long rate;  /* wide stores, per 100,000 */
	unsigned long ops;
	bool rcu; /* RCU mode, with a reader holding a ma_state across each operation */
};

/* Mostly short ranges, so that trees grow deep; now and then a wide one. */
static unsigned long pick_len(struct gs_rng *rng, const struct diff_mix *mix)
{
	unsigned long k = gs_rng_below(rng, 100000);

	if (k < mix->wipe)
		return gs_rng_below(rng, mix->cells) + 1;
	if (k < mix->wipe + mix->rate)
		return gs_rng_below(rng, mix->wide) + 1;
	return gs_rng_below(rng, 6) + 1;
}

/*
 * An RCU reader: stands on the range of a random cell, under rcu_read_lock(),
 * while the operation runs. Remembers the value after its range before.
 */
struct diff_reader {
	struct ma_state mas;
	unsigned long next; /* the cell after the reader's range */
	void *old;	    /* its value before the operation */
};

static void reader_start(struct diff_reader *rd, struct maple_tree *mt, const struct ref *r,
			 struct gs_rng *rng)
{
	unsigned long c = gs_rng_below(rng, r->u + 1), f, l;
	MA_STATE(mas, mt, cell_first(r, c), cell_first(r, c));

	rcu_read_lock();
	rd->mas = mas;
	must(mas_walk(&rd->mas) == r->val[c]);
	ref_run(r, c, &f, &l);
	rd->next = l + 1;
	rd->old = l < r->u ? r->val[l + 1] : NULL;
}

/* Its next step sees the old tree or the new one, never freed memory (ASan, memcheck). */
static void reader_end(struct diff_reader *rd, const struct ref *r)
{
	if (rd->next <= r->u) {
		void *entry = mas_next_range(&rd->mas, ULONG_MAX);

		must(entry == rd->old || entry == r->val[rd->next]);
	}
	rcu_read_unlock();
	must(!gs_rcu_pending);
}

static void diff_one(struct maple_tree *mt, struct ref *r, struct gs_rng *rng,
		     const struct diff_mix *mix)
{
	unsigned long f = gs_rng_below(rng, r->u + 1), len = pick_len(rng, mix);
	unsigned long l = f + len - 1 > r->u ? r->u : f + len - 1;
	unsigned long first = cell_first(r, f), last = cell_last(r, l), rf, rl;
	void *entry = gs_rng_below(rng, 4) ? mk(gs_rng_below(rng, 5) + 1) : NULL;
	unsigned int op = gs_rng_below(rng, 10);
	/* Inside rcu_read_lock() nothing may sleep. */
	gfp_t gfp = mix->rcu ? GFP_NOWAIT : GFP_KERNEL;
	struct diff_reader rd;

	if (mix->rcu)
		reader_start(&rd, mt, r, rng);

	if (op == 0) {
		/* Erase the range holding a cell. */
		ref_run(r, f, &rf, &rl);
		must(mtree_erase(mt, first) == r->val[f]);
		if (r->val[f])
			ref_store(r, rf, rl, NULL);
	} else if (op == 1) {
		/* Insert: succeeds only into a single empty range. */
		bool empty = true;
		int ret;

		for (unsigned long c = f; c <= l && empty; c++)
			empty = !r->val[c];
		ret = mtree_insert_range(mt, first, last, entry, gfp);
		must(ret == (empty ? 0 : -EEXIST));
		if (empty && entry)
			ref_store(r, f, l, entry);
	} else if (op == 2) {
		/* Preallocate, then commit under the lock. */
		MA_STATE(mas, mt, first, last);

		must(mas_preallocate(&mas, entry, gfp) == 0);
		mtree_lock(mt);
		mas_store_prealloc(&mas, entry);
		mtree_unlock(mt);
		ref_store(r, f, l, entry);
	} else {
		must(mtree_store_range(mt, first, last, entry, gfp) == 0);
		ref_store(r, f, l, entry);
	}
	if (mix->rcu)
		reader_end(&rd, r);
	/* Spot checks around the edges of the operation. */
	for (int k = -1; k <= 1; k += 2) {
		unsigned long c = k < 0 ? (f ? f - 1 : 0) : (l < r->u ? l + 1 : l);

		ref_run(r, c, &rf, &rl);
		assert_range(mt, cell_first(r, c), cell_first(r, rf), cell_last(r, rl), r->val[c]);
	}
}

static void diff_phase(struct gs_rng *rng, const struct diff_mix *mix)
{
	struct ref r = {.u = mix->cells};
	unsigned long u = mix->cells, ops = mix->ops;
	DEFINE_MTREE(mt);
	unsigned int max_height = 0;
	unsigned long warns = gs_warn_count();

	if (mix->rcu)
		mt_set_in_rcu(&mt);
	r.val = calloc(u + 1, sizeof(*r.val));
	r.brk = calloc(u + 1, sizeof(*r.brk));
	r.brk[u] = true;
	for (unsigned long i = 0; i < ops; i++) {
		diff_one(&mt, &r, rng, mix);
		if (mt_height(&mt) > max_height)
			max_height = mt_height(&mt);
		if (i % 4096 == 4095) {
			ck_assert_int_eq(mt_validate(&mt), 0);
			ref_compare(&mt, &r);
		}
	}
	ck_assert_int_eq(mt_validate(&mt), 0);
	ref_compare(&mt, &r);
	printf("differential%s: %lu ops over %lu cells, height up to %u, %lu nodes at the end\n",
	       mix->rcu ? " (RCU mode)" : "", ops, u, max_height, mt_nr_nodes(&mt));
	/* An RCU-mode commit that ran out of reserved copies would have WARNed. */
	ck_assert_uint_eq(gs_warn_count(), warns);
	mtree_destroy(&mt);
	free(r.val);
	free(r.brk);
	gs_test_assert_no_leaks();
}

START_TEST(maple_differential)
{
	struct gs_rng rng;
	uint64_t seed = gs_test_seed();
	unsigned long total = gs_test_scale(1000000);
	struct diff_mix mix[] = {
		{.cells = 64, .wide = 500, .wipe = 200, .rate = 5000},
		{.cells = 2000, .wide = 500, .wipe = 200, .rate = 5000},
		{.cells = 60000, .wide = 500, .wipe = 200, .rate = 5000},
		/* A big fragmented tree: stores across many leaves at height 4 and 5. */
		{.cells = 400000, .wide = 20000, .wipe = 1, .rate = 200},
	};

	printf("maple differential seed %" PRIu64 "\n", seed);
	gs_rng_seed(&rng, seed);
	for (size_t i = 0; i < ARRAY_SIZE(mix); i++) {
		mix[i].ops = total / 10 * (i == 3 ? 4 : 2);
		diff_phase(&rng, &mix[i]);
	}
}
END_TEST

/* The differential run on trees in RCU mode, a reader across every operation. */
START_TEST(maple_rcu_differential)
{
	struct gs_rng rng;
	uint64_t seed = gs_test_seed() + 1;
	unsigned long total = gs_test_scale(200000);
	struct diff_mix mix[] = {
		{.cells = 64, .wide = 500, .wipe = 200, .rate = 5000, .rcu = true},
		{.cells = 2000, .wide = 500, .wipe = 200, .rate = 5000, .rcu = true},
		{.cells = 60000, .wide = 5000, .wipe = 20, .rate = 2000, .rcu = true},
	};

	printf("maple RCU differential seed %" PRIu64 "\n", seed);
	gs_rng_seed(&rng, seed);
	for (size_t i = 0; i < ARRAY_SIZE(mix); i++) {
		mix[i].ops = total / 3;
		diff_phase(&rng, &mix[i]);
	}
}
END_TEST

/* ---- RCU mode: copy-on-write, dead nodes, grace periods ---- */

/* The node a ma_state stands on. */
static struct maple_node *mas_node(const struct ma_state *mas)
{
	return (struct maple_node *)((unsigned long)mas->node & ~7UL);
}

static bool node_dead(const struct maple_node *node)
{
	return (node->parent & ~7UL) == (unsigned long)node;
}

/* Maple nodes allocated and not yet freed, both sites. */
static uint64_t live_nodes(void)
{
	struct gs_site_stats a, b;

	ck_assert_int_eq(gs_site_stats(GS_SITE_MAPLE_NODE, &a), 0);
	ck_assert_int_eq(gs_site_stats(GS_SITE_MAPLE_PREALLOC, &b), 0);
	return a.live + b.live;
}

/*
 * Whether [@p, @p + @n) is off limits to the program: ASan's poison or
 * memcheck's no-access. -1 when neither tool watches this run.
 */
static int poisoned(const void *p, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
	return __asan_region_is_poisoned((void *)p, n) != NULL;
#else
	char bits[MAPLE_NODE_SIZE];

	if (!RUNNING_ON_VALGRIND)
		return -1;
	/* 3: some byte is not addressable; memcheck reports nothing for asking. */
	return VALGRIND_GET_VBITS(p, bits, n < sizeof(bits) ? n : sizeof(bits)) == 3;
#endif
}

/* Ranges [10i, 10i+5] = mk(i) for i < @n, in RCU mode. */
static void rcu_tree(struct maple_tree *mt, unsigned long n)
{
	mt_init_flags(mt, MT_FLAGS_USE_RCU);
	for (unsigned long i = 0; i < n; i++)
		ck_assert_int_eq(mtree_store_range(mt, i * 10, i * 10 + 5, mk(i), GFP_KERNEL), 0);
	ck_assert_uint_ge(mt_height(mt), 2);
	ck_assert(!gs_rcu_pending);
}

/*
 * A reader keeps a ma_state across a store that changes its leaf's layout:
 * the leaf is replaced, not changed; the old one is dead but still readable
 * until the reader's rcu_read_unlock(), and the reader's next step walks the
 * new tree again.
 */
START_TEST(maple_rcu_reader_restarts)
{
	struct maple_tree mt;
	struct maple_node *old;
	uint64_t live;
	void *entry;

	rcu_tree(&mt, 200);
	rcu_read_lock();
	{
		MA_STATE(mas, &mt, 500, 500);

		ck_assert_ptr_eq(mas_walk(&mas), mk(50));
		old = mas_node(&mas);
		/* Splits [510, 515]: one range more in the reader's leaf. */
		ck_assert_int_eq(mtree_store_range(&mt, 510, 512, B, GFP_NOWAIT), 0);
		/* Dead, not freed: readable (its slots cleared) until the grace period. */
		ck_assert(node_dead(old));
		ck_assert_int_le(poisoned(old, MAPLE_NODE_SIZE), 0);
		ck_assert_ptr_eq(old->slot[mas.offset], NULL);
		ck_assert_ptr_ne(gs_rcu_pending, NULL);
		live = live_nodes();
		ck_assert_uint_gt(live, mt_nr_nodes(&mt));
		/* The next step sees the dead node and walks from the root: the new range. */
		entry = mas_next(&mas, ULONG_MAX);
		ck_assert_ptr_eq(entry, B);
		ck_assert_uint_eq(mas.index, 510);
		ck_assert_uint_eq(mas.last, 512);
		ck_assert_ptr_ne(mas_node(&mas), old);
		ck_assert(!node_dead(mas_node(&mas)));
		ck_assert_ptr_eq(mas_next(&mas, ULONG_MAX), mk(51));
		ck_assert_uint_eq(mas.index, 513);
		/* Backwards too: a dead node sends mas_prev() to the root. */
		ck_assert_int_eq(mtree_store_range(&mt, 512, 512, C, GFP_NOWAIT), 0);
		ck_assert(node_dead(mas_node(&mas)));
		ck_assert_ptr_eq(mas_prev(&mas, 0), C);
		ck_assert_uint_eq(mas.index, 512);
		ck_assert_uint_eq(mas.last, 512);
		/* And mas_find()'s fast path. */
		ck_assert_int_eq(mtree_store_range(&mt, 513, 513, A, GFP_NOWAIT), 0);
		ck_assert(node_dead(mas_node(&mas)));
		ck_assert_ptr_eq(mas_find(&mas, ULONG_MAX), A);
		ck_assert_uint_eq(mas.index, 513);
		ck_assert_uint_eq(mas.last, 513);
	}
	rcu_read_unlock();
	/* The grace period ended: the replaced nodes are gone. */
	ck_assert_ptr_eq(gs_rcu_pending, NULL);
	ck_assert_uint_eq(live_nodes(), mt_nr_nodes(&mt));
	ck_assert_uint_lt(live_nodes(), live);
	teardown_tree(&mt);
}
END_TEST

/*
 * The stores the kernel makes in place in RCU mode (wr_exact_fit,
 * wr_slot_store): one slot, or one slot and one pivot, of a leaf that keeps
 * its count. Nothing is copied and a reader's next step reads the new value
 * from the same node.
 */
START_TEST(maple_rcu_in_place)
{
	struct maple_tree mt;
	struct maple_node *leaf;
	uint64_t live;

	rcu_tree(&mt, 200);
	live = live_nodes();
	rcu_read_lock();
	{
		MA_STATE(mas, &mt, 500, 500);

		ck_assert_ptr_eq(mas_walk(&mas), mk(50));
		leaf = mas_node(&mas);
		/* Exact fit over the next range. */
		ck_assert_int_eq(mtree_store_range(&mt, 510, 515, B, GFP_NOWAIT), 0);
		/* A range and the gap after it: one slot and one pivot. */
		ck_assert_int_eq(mtree_store_range(&mt, 520, 527, C, GFP_NOWAIT), 0);
		ck_assert(!node_dead(leaf));
		ck_assert_ptr_eq(gs_rcu_pending, NULL);
		ck_assert_uint_eq(live_nodes(), live);
		ck_assert_ptr_eq(mas_next(&mas, ULONG_MAX), B);
		ck_assert_ptr_eq(mas_next(&mas, ULONG_MAX), C);
		ck_assert_uint_eq(mas.last, 527);
		ck_assert_ptr_eq(mas_node(&mas), leaf);
		/* The same stores outside RCU mode keep the node too, of course. */
		ck_assert_ptr_eq(mtree_load(&mt, 526), C);
	}
	rcu_read_unlock();
	teardown_tree(&mt);
}
END_TEST

/*
 * A reader that keeps its ma_state past rcu_read_unlock() holds freed memory:
 * the replaced leaf was freed at the end of the grace period, and its slots
 * are poisoned, so a step would be reported by ASan or memcheck. (The step
 * itself is not taken: the report would fail this test.)
 */
START_TEST(maple_rcu_grace_period_frees)
{
	struct maple_tree mt;
	struct maple_node *old;
	uint64_t live;
	int p;

	rcu_tree(&mt, 200);
	rcu_read_lock();
	{
		MA_STATE(mas, &mt, 500, 500);

		ck_assert_ptr_eq(mas_walk(&mas), mk(50));
		old = mas_node(&mas);
		ck_assert_int_eq(mtree_store_range(&mt, 502, 503, B, GFP_NOWAIT), 0);
		ck_assert(node_dead(old));
		ck_assert_int_le(poisoned(old->slot, sizeof(old->slot)), 0);
		live = live_nodes();
	}
	rcu_read_unlock();
	/* The leaf and, for its split, its parent. */
	ck_assert_uint_lt(live_nodes(), live);
	ck_assert_uint_eq(live_nodes(), mt_nr_nodes(&mt));
	p = poisoned(old->slot, sizeof(old->slot));
	printf("grace period: a freed leaf's slots are %s\n",
	       p < 0 ? "not watched (no ASan, no memcheck)"
	       : p   ? "poisoned"
		     : "NOT poisoned");
	ck_assert_int_ne(p, 0);
	teardown_tree(&mt);
}
END_TEST

/*
 * Replaced nodes wait for the grace period, whatever the store: splits,
 * rebalancing, spanning stores that free whole subtrees, erases, a tree
 * shrinking to nothing. rcu_barrier() after the readers leaves nothing
 * queued, and every node not in the tree is freed.
 */
START_TEST(maple_rcu_barrier_frees_all)
{
	struct maple_tree mt;
	uint64_t before;

	rcu_tree(&mt, 2000);
	before = live_nodes();
	rcu_read_lock();
	for (unsigned long i = 0; i < 2000; i += 3)
		ck_assert_int_eq(mtree_store_range(&mt, i * 10 + 2, i * 10 + 13, B, GFP_NOWAIT), 0);
	ck_assert_int_eq(mtree_store_range(&mt, 3000, 15000, NULL, GFP_NOWAIT), 0);
	for (unsigned long i = 1500; i < 2000; i++)
		mtree_erase(&mt, i * 10);
	ck_assert_int_eq(mt_validate(&mt), 0);
	ck_assert_ptr_ne(gs_rcu_pending, NULL);
	ck_assert_uint_gt(live_nodes(), mt_nr_nodes(&mt));
	rcu_read_unlock();
	rcu_barrier();
	ck_assert_ptr_eq(gs_rcu_pending, NULL);
	ck_assert_uint_eq(live_nodes(), mt_nr_nodes(&mt));
	ck_assert_uint_lt(live_nodes(), before);
	rcu_read_lock();
	ck_assert_int_eq(mtree_store_range(&mt, 0, ULONG_MAX, NULL, GFP_NOWAIT), 0);
	ck_assert(mtree_empty(&mt));
	ck_assert_uint_gt(live_nodes(), 0);
	rcu_read_unlock();
	synchronize_rcu();
	ck_assert_uint_eq(live_nodes(), 0);
	teardown_tree(&mt);
}
END_TEST

/*
 * mtree_destroy() in RCU mode: a reader inside its critical section still
 * reads the old nodes (dead: its next step finds the tree empty); nothing
 * leaks once the grace period ends.
 */
START_TEST(maple_rcu_destroy)
{
	struct maple_tree mt;

	rcu_tree(&mt, 500);
	rcu_read_lock();
	{
		MA_STATE(mas, &mt, 1000, 1000);

		ck_assert_ptr_eq(mas_walk(&mas), mk(100));
		mtree_destroy(&mt);
		ck_assert(mtree_empty(&mt));
		ck_assert(node_dead(mas_node(&mas)));
		ck_assert_int_le(poisoned(mas_node(&mas), MAPLE_NODE_SIZE), 0);
		ck_assert_uint_gt(live_nodes(), 0);
		ck_assert_ptr_eq(mas_next(&mas, ULONG_MAX), NULL);
	}
	rcu_read_unlock();
	ck_assert_uint_eq(live_nodes(), 0);
	gs_test_assert_no_leaks();
	/* Without a reader the nodes go at the end of mtree_destroy()'s own lock. */
	rcu_tree(&mt, 500);
	mtree_destroy(&mt);
	ck_assert_uint_eq(live_nodes(), 0);
	gs_test_assert_no_leaks();
}
END_TEST

/* Outside RCU mode nothing changes: nodes are changed in place and freed at once. */
START_TEST(maple_rcu_off_in_place)
{
	struct maple_tree mt;
	struct maple_node *leaf;

	rcu_tree(&mt, 200);
	mt_clear_in_rcu(&mt);
	rcu_read_lock();
	{
		MA_STATE(mas, &mt, 500, 500);

		ck_assert_ptr_eq(mas_walk(&mas), mk(50));
		leaf = mas_node(&mas);
		ck_assert_int_eq(mtree_store_range(&mt, 510, 512, B, GFP_NOWAIT), 0);
		ck_assert(!node_dead(leaf));
		ck_assert_ptr_eq(gs_rcu_pending, NULL);
		ck_assert_uint_eq(live_nodes(), mt_nr_nodes(&mt));
	}
	rcu_read_unlock();
	teardown_tree(&mt);
}
END_TEST

/* ---- allocation trees, duplication, bulk loading (the kernel test module's API) ---- */

/* Stores that trim the last range and append after it keep the last leaf dense. */
START_TEST(maple_overlapping_appends)
{
	DEFINE_MTREE(mt);

	for (unsigned long i = 0; i <= 1300; i++)
		ck_assert_int_eq(mtree_store_range(&mt, i * 10, (i + 1) * 10, mk(i), GFP_KERNEL),
				 0);
	/* lib/test_maple_tree.c's check_ranges() wants the kernel below height 4 here. */
	ck_assert_uint_le(mt_height(&mt), 3);
	ck_assert_uint_le(mt_nr_nodes(&mt), 100);
	printf("1,301 overlapping appends: %lu nodes, height %u\n", mt_nr_nodes(&mt),
	       mt_height(&mt));
	assert_range(&mt, 13000, 13000, 13010, mk(1300));
	assert_range(&mt, 12999, 12990, 12999, mk(1299));
	teardown_tree(&mt);
}
END_TEST

/* Ranges [10i, 10i + 9] = i for i in 1..20, with [0, 9], [160, 169] and [210, max] free. */
static void fill_window(struct maple_tree *mt)
{
	mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);
	for (unsigned long i = 1; i <= 20; i++)
		ck_assert_int_eq(mtree_store_range(mt, i * 10, i * 10 + 9, mk(i), GFP_KERNEL), 0);
	ck_assert_ptr_eq(mtree_erase(mt, 165), mk(16));
}

static void assert_area(struct ma_state *mas, bool rev, unsigned long min, unsigned long max,
			unsigned long size, int ret, unsigned long first)
{
	int got;

	mas_reset(mas);
	got = rev ? mas_empty_area_rev(mas, min, max, size) : mas_empty_area(mas, min, max, size);
	ck_assert_int_eq(got, ret);
	if (ret)
		return;
	ck_assert_uint_eq(mas->index, first);
	ck_assert_uint_eq(mas->last, first + size - 1);
}

START_TEST(maple_empty_area)
{
	struct maple_tree mt;
	MA_STATE(mas, &mt, 0, 0);

	fill_window(&mt);
	/* The area lies inside [min, max], in the lowest (highest) gap it fits. */
	assert_area(&mas, false, 0, 100, 10, 0, 0);
	assert_area(&mas, false, 3, 100, 7, 0, 3);
	assert_area(&mas, false, 3, 100, 8, -EBUSY, 0);
	assert_area(&mas, false, 5, 300, 8, 0, 160);
	assert_area(&mas, false, 5, 300, 11, 0, 210);
	assert_area(&mas, false, 100, 163, 5, -EBUSY, 0);
	assert_area(&mas, true, 0, 300, 10, 0, 291);
	assert_area(&mas, true, 0, 215, 7, 0, 163);
	assert_area(&mas, true, 0, 168, 9, 0, 160);
	assert_area(&mas, true, 0, 168, 10, 0, 0);
	assert_area(&mas, true, 6, 159, 5, -EBUSY, 0);
	assert_area(&mas, true, 161, ULONG_MAX, ULONG_MAX - 209, 0, 210);
	/* Sizes that cannot fit the window are -EINVAL, whatever the tree holds. */
	assert_area(&mas, false, 0, 8, 10, -EINVAL, 0);
	assert_area(&mas, true, 9, 8, 1, -EINVAL, 0);
	assert_area(&mas, false, 0, 100, 0, -EINVAL, 0);
	/* The area found is where mas_store() goes. */
	assert_area(&mas, false, 150, 300, 4, 0, 160);
	mtree_lock(&mt);
	mas_store(&mas, C);
	mtree_unlock(&mt);
	assert_range(&mt, 160, 160, 163, C);
	teardown_tree(&mt);
	/* An empty tree is one gap. */
	assert_area(&mas, false, 7, ULONG_MAX, 1UL << 40, 0, 7);
	assert_area(&mas, true, 0, ULONG_MAX, 2, 0, ULONG_MAX - 1);
}
END_TEST

START_TEST(maple_alloc_range)
{
	DEFINE_MTREE(plain);
	struct maple_tree mt;
	unsigned long at = 0;

	ck_assert_int_eq(mtree_alloc_range(&plain, &at, A, 1, 0, 10, GFP_KERNEL), -EINVAL);
	fill_window(&mt);
	ck_assert_int_eq(mtree_alloc_range(&mt, &at, A, 5, 0, 300, GFP_KERNEL), 0);
	ck_assert_uint_eq(at, 0);
	ck_assert_int_eq(mtree_alloc_range(&mt, &at, B, 5, 0, 300, GFP_KERNEL), 0);
	ck_assert_uint_eq(at, 5);
	ck_assert_int_eq(mtree_alloc_range(&mt, &at, B, 11, 0, 219, GFP_KERNEL), -EBUSY);
	ck_assert_int_eq(mtree_alloc_rrange(&mt, &at, C, 10, 0, 219, GFP_KERNEL), 0);
	ck_assert_uint_eq(at, 210);
	ck_assert_int_eq(mtree_alloc_rrange(&mt, &at, C, 10, 0, 219, GFP_KERNEL), 0);
	ck_assert_uint_eq(at, 160);
	ck_assert_int_eq(mtree_alloc_rrange(&mt, &at, C, 1, 0, 219, GFP_KERNEL), -EBUSY);
	assert_range(&mt, 3, 0, 4, A);
	assert_range(&mt, 165, 160, 169, C);
	teardown_tree(&mt);
}
END_TEST

START_TEST(maple_alloc_cyclic)
{
	struct maple_tree mt;
	unsigned long at, next = 0;

	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	for (unsigned long i = 0; i < 3; i++) {
		ck_assert_int_eq(mtree_alloc_cyclic(&mt, &at, A, 2, 4, &next, GFP_KERNEL), 0);
		ck_assert_uint_eq(at, 2 + i);
		ck_assert_uint_eq(next, 3 + i);
	}
	ck_assert_int_eq(mtree_alloc_cyclic(&mt, &at, A, 2, 4, &next, GFP_KERNEL), -EBUSY);
	ck_assert_ptr_eq(mtree_erase(&mt, 3), A);
	/* From next (5, past the range) the search wraps to the low end: 1. */
	ck_assert_int_eq(mtree_alloc_cyclic(&mt, &at, B, 2, 4, &next, GFP_KERNEL), 1);
	ck_assert_uint_eq(at, 3);
	mtree_destroy(&mt);
	/* Using ULONG_MAX wraps next to 0; the next allocation reports the wrap. */
	next = ULONG_MAX;
	ck_assert_int_eq(mtree_alloc_cyclic(&mt, &at, A, 2, ULONG_MAX, &next, GFP_KERNEL), 0);
	ck_assert_uint_eq(at, ULONG_MAX);
	ck_assert_uint_eq(next, 0);
	ck_assert_int_eq(mtree_alloc_cyclic(&mt, &at, A, 2, ULONG_MAX, &next, GFP_KERNEL), 1);
	ck_assert_uint_eq(at, 2);
	ck_assert_int_eq(mtree_alloc_cyclic(&mt, &at, A, 2, ULONG_MAX, &next, GFP_KERNEL), 0);
	ck_assert_uint_eq(at, 3);
	teardown_tree(&mt);
}
END_TEST

/* XA_ZERO_ENTRY reserves a range: loads and mt_find() see nothing there, walks see it. */
START_TEST(maple_zero_entry)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long index = 0;
	void *entry;

	ck_assert_int_eq(mtree_store_range(&mt, 10, 19, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_store(&mt, 30, A, GFP_KERNEL), 0);
	ck_assert_ptr_null(mtree_load(&mt, 15));
	mas_set(&mas, 12);
	ck_assert_ptr_eq(mas_walk(&mas), XA_ZERO_ENTRY);
	ck_assert_uint_eq(mas.index, 10);
	ck_assert_uint_eq(mas.last, 19);
	ck_assert_int_eq(mtree_insert(&mt, 15, B, GFP_KERNEL), -EEXIST);
	entry = mt_find(&mt, &index, ULONG_MAX);
	ck_assert_ptr_eq(entry, A);
	ck_assert_uint_eq(index, 31);
	index = 0;
	ck_assert_ptr_null(mt_find(&mt, &index, 29));
	teardown_tree(&mt);
}
END_TEST

struct dup_ctx {
	struct maple_tree src, copy;
	struct range *want, *got;
	size_t nw;
};

static void dup_prepare(void *arg)
{
	struct dup_ctx *x = arg;

	mt_init_flags(&x->copy, MT_FLAGS_ALLOC_RANGE);
}

static int dup_op(void *arg)
{
	struct dup_ctx *x = arg;

	return mtree_dup(&x->src, &x->copy, GFP_NOWAIT);
}

static void dup_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct dup_ctx *x = arg;

	(void)n;
	(void)injected;
	if (ret) {
		/* -ENOMEM leaves the copy empty, with every node of the attempt freed. */
		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert(mtree_empty(&x->copy));
		ck_assert_uint_eq(mt_height(&x->copy), 0);
		return;
	}
	ck_assert_int_eq(mt_validate(&x->copy), 0);
	ck_assert_uint_eq(mt_nr_nodes(&x->copy), mt_nr_nodes(&x->src));
	ck_assert_uint_eq(mt_height(&x->copy), mt_height(&x->src));
	assert_same(x->got, snapshot(&x->copy, x->got, 4096), x->want, x->nw);
	mtree_destroy(&x->copy);
}

START_TEST(maple_dup)
{
	struct dup_ctx x = {.want = malloc(4096 * sizeof(struct range)),
			    .got = malloc(4096 * sizeof(struct range))};
	const struct gs_fail_nth_ops ops = {dup_prepare, dup_op, dup_check};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	unsigned long iters = 0;

	mt_init_flags(&x.src, MT_FLAGS_ALLOC_RANGE);
	for (unsigned long i = 0; i < 1000; i++)
		ck_assert_int_eq(mtree_store_range(&x.src, i * 7, i * 7 + 2, mk(i), GFP_KERNEL), 0);
	x.nw = snapshot(&x.src, x.want, 4096);
	/* Fail each node allocation of the copy in turn; the last run copies it all. */
	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &x, &iters), 0);
	ck_assert_uint_eq(iters, mt_nr_nodes(&x.src) + 1);
	/* The copy must start empty and have the source's flags. */
	mt_init_flags(&x.copy, MT_FLAGS_ALLOC_RANGE);
	ck_assert_int_eq(mtree_store(&x.copy, 5, A, GFP_KERNEL), 0);
	ck_assert_int_eq(mtree_dup(&x.src, &x.copy, GFP_NOWAIT), -EINVAL);
	mtree_destroy(&x.copy);
	mt_init(&x.copy);
	ck_assert_int_eq(mtree_dup(&x.src, &x.copy, GFP_NOWAIT), -EINVAL);
	teardown_tree(&x.src);
	free(x.want);
	free(x.got);
}
END_TEST

/* mas_expected_entries() reserves enough for a bulk load: the stores allocate nothing. */
START_TEST(maple_expected_entries)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	struct gs_inject_rule all = {.site = GS_INJECT_ANY_SITE, .mode = GS_INJECT_EVERY};
	int id;

	ck_assert_int_eq(mas_expected_entries(&mas, 5000), 0);
	id = gs_inject_arm(&all);
	ck_assert_int_ge(id, 0);
	mtree_lock(&mt);
	for (unsigned long i = 0; i < 5000; i++) {
		mas_set_range(&mas, i * 3, i * 3 + 1);
		mas_store(&mas, mk(i));
		ck_assert(!mas_is_err(&mas));
	}
	mtree_unlock(&mt);
	ck_assert_uint_eq(gs_inject_rule_fired(id), 0);
	gs_inject_disarm(id);
	mas_destroy(&mas);
	ck_assert_ptr_null(mas.alloc);
	ck_assert_uint_eq(mt_nr_ranges(&mt), 10000);
	assert_range(&mt, 14998, 14997, 14998, mk(4999));
	teardown_tree(&mt);
}
END_TEST

/* ---- fault injection ---- */

enum fi_op {
	FI_STORE_SPLIT, /* split a range in three in full nodes: splits up to the root */
	FI_STORE_SPAN,	/* a store across many leaves */
	FI_STORE_NEW,	/* first store into an empty tree */
	FI_PREALLOC,	/* mas_preallocate() + mas_store_prealloc() */
	FI_MAS_STORE,	/* mas_store() (GFP_NOWAIT) */
	FI_ERASE,	/* erase: must never allocate */
	FI_INSERT,	/* mtree_insert_range() into a gap */
	FI_NR,
};

struct fi_ctx {
	enum fi_op op;
	bool rcu; /* the tree in RCU mode: the copies are allocations too */
	unsigned long at;
	struct maple_tree mt;
	struct range *before, *expect, *now;
	size_t nb, ne;
};

#define FI_MAX_RANGES 8192

static void fi_build(struct fi_ctx *x)
{
	mt_init_flags(&x->mt, x->rcu ? MT_FLAGS_USE_RCU : 0);
	if (x->op == FI_STORE_NEW)
		return;
	/* Ascending ranges of four fill every node, so splits reach the root. */
	for (unsigned long i = 0; i < 16 * 16 * 4; i++)
		ck_assert_int_eq(mtree_store_range(&x->mt, i * 4, i * 4 + 3, mk(i), GFP_KERNEL), 0);
	if (x->op == FI_INSERT)
		ck_assert_ptr_eq(mtree_erase(&x->mt, x->at * 4), mk(x->at));
}

static int fi_run(struct fi_ctx *x)
{
	unsigned long a = x->at * 4 + 1;

	switch (x->op) {
	case FI_STORE_SPLIT:
		return mtree_store_range(&x->mt, a, a, A, GFP_KERNEL);
	case FI_STORE_SPAN:
		return mtree_store_range(&x->mt, a, a + 300, B, GFP_KERNEL);
	case FI_STORE_NEW:
		return mtree_store_range(&x->mt, a, a + 10, C, GFP_KERNEL);
	case FI_PREALLOC: {
		MA_STATE(mas, &x->mt, a, a);
		int ret = mas_preallocate(&mas, B, GFP_KERNEL);

		if (ret)
			return ret;
		mtree_lock(&x->mt);
		mas_store_prealloc(&mas, B);
		mtree_unlock(&x->mt);
		return 0;
	}
	case FI_MAS_STORE: {
		MA_STATE(mas, &x->mt, a, a + 1);

		mtree_lock(&x->mt);
		mas_store(&mas, C);
		mtree_unlock(&x->mt);
		return mas_err(&mas);
	}
	case FI_ERASE:
		/* In RCU mode an erase that cannot allocate its copies erases nothing. */
		return mtree_erase(&x->mt, a - 1) ? 0 : x->rcu ? -ENOMEM : -ENOENT;
	case FI_INSERT:
		return mtree_insert_range(&x->mt, a, a + 1, C, GFP_KERNEL);
	default:
		return -EINVAL;
	}
}

static void fi_prepare(void *arg)
{
	struct fi_ctx *x = arg;

	fi_build(x);
	x->nb = snapshot(&x->mt, x->before, FI_MAX_RANGES);
}

static int fi_op(void *arg)
{
	return fi_run(arg);
}

static void fi_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct fi_ctx *x = arg;
	size_t nn;

	(void)n;
	(void)injected;
	ck_assert_int_eq(mt_validate(&x->mt), 0);
	nn = snapshot(&x->mt, x->now, FI_MAX_RANGES);
	if (ret == -ENOMEM)
		assert_same(x->now, nn, x->before, x->nb);
	else
		assert_same(x->now, nn, x->expect, x->ne);
	if (ret)
		ck_assert_int_eq(ret, -ENOMEM);
	mtree_destroy(&x->mt);
	gs_test_assert_no_leaks();
}

START_TEST(maple_fault_injection)
{
	struct fi_ctx x = {.op = (enum fi_op)(_i % FI_NR), .rcu = _i >= FI_NR};
	const struct gs_fail_nth_ops ops = {fi_prepare, fi_op, fi_check};
	static const unsigned long where[] = {0, 7, 255, 511, 700, 1023};
	unsigned long failed_runs = 0;

	x.before = malloc(FI_MAX_RANGES * sizeof(struct range));
	x.expect = malloc(FI_MAX_RANGES * sizeof(struct range));
	x.now = malloc(FI_MAX_RANGES * sizeof(struct range));
	/* RCU mode reserves more nodes per store: fewer positions keep memcheck quick. */
	for (size_t w = 0; w < ARRAY_SIZE(where); w += x.rcu ? 2 : 1) {
		for (int persistent = 0; persistent < 2; persistent++) {
			struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE,
						  .persistent = persistent};
			unsigned long iters = 0;
			int ret;

			x.at = where[w];
			/* The expected result, from a run without failures. */
			fi_build(&x);
			ck_assert_int_eq(fi_run(&x), 0);
			x.ne = snapshot(&x.mt, x.expect, FI_MAX_RANGES);
			mtree_destroy(&x.mt);
			ret = gs_fail_nth_loop(&cfg, &ops, &x, &iters);
			ck_assert_int_eq(ret, 0);
			/*
			 * Erasing a range between two entries stores NULL over
			 * exactly one slot: in place, in RCU mode too (the
			 * kernel's exact fit), so nothing is allocated.
			 */
			if (x.op == FI_ERASE)
				ck_assert_uint_eq(iters, 1);
			failed_runs += iters - 1;
		}
	}
	printf("fault injection, op %d%s: %lu runs with a failed allocation\n", x.op,
	       x.rcu ? " (RCU mode)" : "", failed_runs);
	/* Each kind of store but erase met a node allocation somewhere. */
	if (x.op != FI_ERASE)
		ck_assert_uint_gt(failed_runs, 0);
	free(x.before);
	free(x.expect);
	free(x.now);
	gs_test_assert_no_leaks();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("maple");
	TCase *tc = tcase_create("semantics");

	tcase_add_test(tc, maple_empty);
	tcase_add_test(tc, maple_store_load_single);
	tcase_add_test(tc, maple_overwrite_edges);
	tcase_add_test(tc, maple_no_merge_equal_neighbours);
	tcase_add_test(tc, maple_overwrite_many);
	tcase_add_test(tc, maple_insert_conflicts);
	tcase_add_test(tc, maple_erase_whole_range);
	tcase_add_test(tc, maple_iterate_both_ways);
	tcase_add_test(tc, maple_find_range);
	tcase_add_test(tc, maple_pause_resume);
	tcase_add_test(tc, maple_destroy_and_reuse);
	tcase_add_test(tc, maple_extremes);
	tcase_add_test(tc, maple_ascending_fill);
	tcase_add_test(tc, maple_dump_and_validate);
	tcase_add_test(tc, maple_dump_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("prealloc");
	tcase_add_test(tc, maple_prealloc_then_store);
	tcase_add_test(tc, maple_prealloc_reserves_worst_case);
	tcase_add_test(tc, maple_store_gfp_under_lock);
	tcase_add_test(tc, maple_store_nomem_retry);
	tcase_add_test(tc, maple_gfp_rules);
	tcase_add_test(tc, maple_external_lock);
	tcase_add_test(tc, maple_mas_lock);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc-dup");
	tcase_add_test(tc, maple_overlapping_appends);
	tcase_add_test(tc, maple_empty_area);
	tcase_add_test(tc, maple_alloc_range);
	tcase_add_test(tc, maple_alloc_cyclic);
	tcase_add_test(tc, maple_zero_entry);
	tcase_add_test(tc, maple_dup);
	tcase_add_test(tc, maple_expected_entries);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_add_test(tc, maple_differential);
	suite_add_tcase(s, tc);

	tc = tcase_create("rcu");
	tcase_add_test(tc, maple_rcu_reader_restarts);
	tcase_add_test(tc, maple_rcu_in_place);
	tcase_add_test(tc, maple_rcu_grace_period_frees);
	tcase_add_test(tc, maple_rcu_barrier_frees_all);
	tcase_add_test(tc, maple_rcu_destroy);
	tcase_add_test(tc, maple_rcu_off_in_place);
	tcase_add_test(tc, maple_rcu_differential);
	suite_add_tcase(s, tc);

	tc = tcase_create("fault-injection");
	tcase_add_loop_test(tc, maple_fault_injection, 0, 2 * FI_NR);
	suite_add_tcase(s, tc);
	return s;
}
