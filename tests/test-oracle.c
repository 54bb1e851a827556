// SPDX-License-Identifier: MIT
/*
 * The per-page oracle (lib/oracle/oracle.c, docs/ORACLE.md): its predictions
 * for each operation against the spec's rules, its cost on a 1 TiB file, the
 * scenario engine with the oracle on, `check oracle`, and the bugs planted
 * in the simulator through the test-only switch (gs_test_plant_bug(), the
 * `plant` verb, opts.plant) that the oracle must catch, naming the
 * operation, the index and both values; tests/bugs/ holds the scenario of
 * each, which passes without its bug.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include <gmemsim/check.h>
#include <gmemsim/gmem.h>
#include <gmemsim/inject.h>
#include <gmemsim/oracle.h>
#include <gmemsim/scenario.h>
#include <gmemsim/uapi.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/internal/scenario_int.h>

#include "harness.h"

#define P	((uint64_t)4096)
#define KEEP	GS_FALLOC_FL_KEEP_SIZE
#define PUNCH	(GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE)
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define SHARED	GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB

static struct gs_oracle_cfg cfg_of(uint64_t flags, unsigned int order, enum gs_gmem_conversion c)
{
	return (struct gs_oracle_cfg){
		.flags = flags,
		.page_order = order,
		.supported = MMAP | SHARED | HUGETLB,
		.conversion = c,
		.in_place = true,
		.has_private_mem = true,
	};
}

static int new_file(struct gs_oracle *o, uint64_t size, uint64_t flags, unsigned int order,
		    enum gs_gmem_conversion c)
{
	struct gs_oracle_cfg cfg = cfg_of(flags, order, c);
	struct gs_oracle_pred p;
	int id = gs_oracle_create(o, size, &cfg, &p);

	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(p.err, 0);
	return id;
}

static int falloc(struct gs_oracle *o, int id, int mode, int64_t off, int64_t len)
{
	struct gs_oracle_pred p;

	return gs_oracle_fallocate(o, id, mode, off, len, &p);
}

static struct gs_oracle_pred convert(struct gs_oracle *o, int id, uint64_t off, uint64_t len,
				     bool private)
{
	struct gs_kvm_memory_attributes2 a = {
		.offset = off,
		.size = len,
		.attributes = private ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	struct gs_oracle_pred p;

	gs_oracle_convert(o, id, &a, &p);
	return p;
}

static struct gs_oracle_pred host(struct gs_oracle *o, int id, uint64_t off, uint64_t len,
				  bool write, uint8_t byte)
{
	struct gs_oracle_pred p;

	ck_assert_int_eq(gs_oracle_access(o, id, off, len, write, byte, &p), 0);
	return p;
}

/* Rule 5 and P31: flags, then order, then size. */
START_TEST(test_create)
{
	struct gs_oracle *o = gs_oracle_new();
	struct gs_oracle_cfg c = cfg_of(0, 0, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	ck_assert_int_lt(gs_oracle_create(o, 0, &c, &p), 0);
	ck_assert_int_eq(p.err, -EINVAL);
	ck_assert_int_lt(gs_oracle_create(o, P + 1, &c, &p), 0);
	ck_assert_int_eq(p.err, -EINVAL);
	ck_assert_int_lt(gs_oracle_create(o, 1ULL << 63, &c, &p), 0);
	c.flags = 1ULL << 5; /* not supported */
	ck_assert_int_lt(gs_oracle_create(o, P, &c, &p), 0);
	c = cfg_of(0, 9, GS_CONVERSION_PLANNED); /* an order without HUGETLB */
	ck_assert_int_lt(gs_oracle_create(o, 2 << 20, &c, &p), 0);
	c = cfg_of(HUGETLB | SHARED, 9, GS_CONVERSION_PLANNED);
	ck_assert_int_lt(gs_oracle_create(o, 2 << 20, &c, &p), 0);
	c = cfg_of(HUGETLB, 10, GS_CONVERSION_PLANNED);
	ck_assert_int_lt(gs_oracle_create(o, 4 << 20, &c, &p), 0);
	c = cfg_of(HUGETLB, 9, GS_CONVERSION_PLANNED);
	ck_assert_int_lt(gs_oracle_create(o, 3 << 20, &c, &p), 0);
	ck_assert_int_eq(p.err, -EINVAL);
	ck_assert_int_eq(gs_oracle_create(o, 4 << 20, &c, &p), 0);
	ck_assert(p.has_blocks && p.blocks == 0);
	gs_oracle_free(o);
}
END_TEST

/* Rules 16-20: the check order, the test_fallocate sequence, the invalid punches. */
START_TEST(test_fallocate)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	static const uint64_t bad[][2] = {{0, 1}, {0, P - 1}, {0, P + 1}, {1, 1},     {1, P - 1},
					  {1, P}, {1, P + 1}, {P, 1},	  {P, P - 1}, {P, P + 1}};
	struct gs_oracle_pred p;

	ck_assert_int_eq(falloc(o, id, 0, 0, 0), -EINVAL); /* the VFS checks come first */
	ck_assert_int_eq(falloc(o, id, 0, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(falloc(o, id, GS_FALLOC_FL_PUNCH_HOLE, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(falloc(o, id, KEEP | GS_FALLOC_FL_ZERO_RANGE, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(falloc(o, id, KEEP, INT64_MAX - P + 1, 2 * P), -EFBIG);
	/* rule 20 */
	ck_assert_int_eq(falloc(o, id, KEEP, 0, 4 * P), 0);
	ck_assert_int_eq(falloc(o, id, PUNCH, P - 1, P), -EINVAL);
	ck_assert_int_eq(falloc(o, id, KEEP, 4 * P, P), -EINVAL);
	ck_assert_int_eq(falloc(o, id, KEEP, 5 * P, P), -EINVAL);
	ck_assert_int_eq(falloc(o, id, PUNCH, 4 * P, P), 0);
	ck_assert_int_eq(falloc(o, id, PUNCH, 5 * P, P), 0);
	ck_assert_int_eq(falloc(o, id, PUNCH, P, P - 1), -EINVAL);
	ck_assert_int_eq(gs_oracle_fallocate(o, id, PUNCH, P, P, &p), 0);
	ck_assert(p.has_blocks && p.blocks == 3 * P / 512); /* P33: 4K files count */
	ck_assert_int_eq(gs_oracle_fallocate(o, id, KEEP, P, P, &p), 0);
	ck_assert_uint_eq(p.blocks, 4 * P / 512);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(falloc(o, id, PUNCH, (int64_t)bad[i][0], (int64_t)bad[i][1]),
				 -EINVAL);
	gs_oracle_free(o);
}
END_TEST

/* Rule 12 against P33, P32: HugeTLB granularity, whole huge pages allocated. */
START_TEST(test_blocks_and_hugetlb)
{
	struct gs_oracle *o = gs_oracle_new();
	struct gs_oracle_cfg c = cfg_of(MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;
	int up, h;

	c.profile = GS_GMEM_PROFILE_UPSTREAM;
	up = gs_oracle_create(o, 4 * P, &c, &p);
	ck_assert_int_eq(gs_oracle_fallocate(o, up, KEEP, 0, 4 * P, &p), 0);
	ck_assert_uint_eq(p.blocks, 0);
	h = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	ck_assert_int_eq(falloc(o, h, KEEP, 0, P), -EINVAL);
	ck_assert_int_eq(falloc(o, h, PUNCH, 0, P), -EINVAL);
	ck_assert_int_eq(gs_oracle_fallocate(o, h, KEEP, 2 << 20, 2 << 20, &p), 0);
	ck_assert_uint_eq(p.blocks, (2 << 20) / 512);
	/* a guest fault in the other huge page allocates all of it (P23) */
	ck_assert_int_eq(gs_oracle_guest_fault(o, h, 5, true, 5, 0, 1024, &p), 0);
	ck_assert_int_eq(gs_oracle_fallocate(o, h, PUNCH, 2 << 20, 2 << 20, &p), 0);
	ck_assert_uint_eq(p.blocks, (2 << 20) / 512);
	gs_oracle_free(o);
}
END_TEST

/*
 * The model's allocated bytes and used huge pages are counted once per
 * change of its runs: every writer of the runs makes them count again,
 * the restore of an unpredicted conversion (which copies the runs back,
 * not through the runs' writers) too. A failing fallocate's prediction
 * reads the count without changing the runs; gs_oracle_alloc_bytes() too,
 * and without saving the runs a restore copies back.
 */
static uint64_t blocks_now(struct gs_oracle *o, int id)
{
	struct gs_oracle_pred p;

	ck_assert_int_eq(gs_oracle_fallocate(o, id, 0, 0, 0, &p), -EINVAL);
	ck_assert(p.has_blocks);
	return p.blocks;
}

START_TEST(test_counts_follow_model)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 16 * P, MMAP | SHARED, 0, GS_CONVERSION_PUNCH_HOLE);
	int h = new_file(o, 8 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	ck_assert_uint_eq(blocks_now(o, id), 0);
	ck_assert_int_eq(falloc(o, id, KEEP, 0, 16 * P), 0);
	ck_assert_uint_eq(blocks_now(o, id), 16 * P / 512);
	/* The punch-hole conversion frees the range, the restore brings it back. */
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0);
	ck_assert_uint_eq(gs_oracle_alloc_bytes(o, id), 12 * P);
	gs_oracle_unpredicted(o, id, "convert", -EIO);
	ck_assert_uint_eq(gs_oracle_alloc_bytes(o, id), 16 * P);
	ck_assert(gs_oracle_followed(o, id));
	ck_assert_uint_eq(blocks_now(o, id), 16 * P / 512);
	host(o, id, 0, P, true, 0x5a);
	ck_assert_int_eq(gs_oracle_pin(o, id, 0, &p), 0);
	ck_assert_uint_eq(blocks_now(o, id), 16 * P / 512);
	ck_assert_int_eq(gs_oracle_unpin(o, id, 0), 0);
	ck_assert_int_eq(falloc(o, id, PUNCH, 8 * P, 8 * P), 0);
	ck_assert_uint_eq(blocks_now(o, id), 8 * P / 512);
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0);
	ck_assert_uint_eq(gs_oracle_alloc_bytes(o, id), 4 * P);
	ck_assert_uint_eq(blocks_now(o, id), 4 * P / 512);
	/* Used huge pages: a fallocate, a guest fault's whole huge page (P23), a punch. */
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 0);
	ck_assert_int_eq(falloc(o, h, KEEP, 2 << 20, 2 << 20), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 1);
	ck_assert_int_eq(gs_oracle_guest_fault(o, h, 5, true, 5, 0, 2048, &p), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 2);
	ck_assert_int_eq(falloc(o, h, PUNCH, 2 << 20, 2 << 20), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 1);
	ck_assert_int_eq(falloc(o, h, KEEP, 0, 8 << 20), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 4);
	gs_oracle_free(o);
}
END_TEST

/*
 * Runs of equal pages coalesce, and pages that differ in any field do not:
 * the comparison reads a model page as two words, the pin count in the
 * second (not memcmp(), which libFuzzer's builds intercept), so pages equal
 * but for their pins or their content must stay runs of their own.
 */
START_TEST(test_runs_split_on_any_field)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 16 * P, MMAP | SHARED, 0, GS_CONVERSION_V8);
	struct gs_oracle_pred p;

	ck_assert_int_eq(falloc(o, id, KEEP, 0, 16 * P), 0);
	host(o, id, 0, 16 * P, true, 0x5a);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	/* The pin count alone (the second word). */
	ck_assert_int_eq(gs_oracle_pin(o, id, 8 * P, &p), 0);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 3);
	ck_assert_int_eq(gs_oracle_unpin(o, id, 8 * P), 0);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	/* The content alone (the first word). */
	host(o, id, 3 * P, P, true, 0x11);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 3);
	host(o, id, 3 * P, P, true, 0x5a);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	gs_oracle_free(o);
}
END_TEST

/*
 * gs_oracle_unpredicted() gives back the runs as the last operation found
 * them. They are copied only at the operation's first change of the runs
 * (most operations' copies were never read): an operation that changed
 * nothing leaves the copy of an earlier one behind, which a rollback must
 * not restore; each writer of the runs takes the copy first (a range's
 * change, a pin's count, an unpin's).
 */
START_TEST(test_rollback_saved_at_first_change)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 16 * P, MMAP | SHARED, 0, GS_CONVERSION_V8);
	struct gs_oracle_pred p;

	ck_assert_int_eq(falloc(o, id, KEEP, 0, 16 * P), 0);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	/* A change, rolled back: the runs before it. */
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 2);
	gs_oracle_unpredicted(o, id, "convert", -EIO);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	ck_assert(gs_oracle_followed(o, id));
	/* A change, then two conversions that change nothing: each keeps the change. */
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0);
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0); /* P7.1: private already */
	gs_oracle_unpredicted(o, id, "convert", -EIO);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 2);
	ck_assert_int_eq(convert(o, id, 15 * P, 2 * P, true).err, -EINVAL); /* past i_size... */
	ck_assert_int_eq(convert(o, id, 4 * P, 0, true).err, -EINVAL);	    /* ...and empty */
	gs_oracle_unpredicted(o, id, "convert", -EIO);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 2);
	ck_assert_int_eq(convert(o, id, 0, 4 * P, false).err, 0);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	/* A pin's count, rolled back: index 8 is not pinned, its conversion goes through. */
	host(o, id, 8 * P, P, true, 0x5a);
	ck_assert_int_eq(gs_oracle_pin(o, id, 8 * P, &p), 0);
	gs_oracle_unpredicted(o, id, "convert", -EIO);
	ck_assert_int_eq(convert(o, id, 8 * P, P, true).err, 0);
	ck_assert_int_eq(convert(o, id, 8 * P, P, false).err, 0);
	/* An unpin's, rolled back: index 8 is pinned again (P7.3's EAGAIN at it). */
	ck_assert_int_eq(gs_oracle_pin(o, id, 8 * P, &p), 0);
	ck_assert_int_eq(gs_oracle_unpin(o, id, 8 * P), 0);
	gs_oracle_unpredicted(o, id, "convert", -EIO);
	p = convert(o, id, 0, 16 * P, true);
	ck_assert_int_eq(p.err, -EAGAIN);
	ck_assert_uint_eq(p.error_offset, 8 * P);
	gs_oracle_free(o);
}
END_TEST

/* P6 in order, P2, and rfc-v2's own checks (P20). */
START_TEST(test_convert_checks)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_V8);
	int rfc = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_RFC_V2);
	struct gs_oracle_cfg c = cfg_of(MMAP | SHARED, 0, GS_CONVERSION_V8);
	struct gs_kvm_memory_attributes2 a = {.offset = 0, .size = P, .flags = 1};
	struct gs_oracle_pred p;
	int vm, dflt;

	ck_assert_int_eq(gs_oracle_convert(o, id, &a, &p), -EINVAL);
	ck_assert(p.has_error_offset && p.error_offset == 0);
	a = (struct gs_kvm_memory_attributes2){.size = P, .reserved[3] = 1};
	ck_assert_int_eq(gs_oracle_convert(o, id, &a, &p), -EINVAL);
	a = (struct gs_kvm_memory_attributes2){.size = P, .attributes = 1};
	ck_assert_int_eq(gs_oracle_convert(o, id, &a, &p), -EINVAL);
	ck_assert_int_eq(convert(o, id, 0, 0, true).err, -EINVAL);
	ck_assert_int_eq(convert(o, id, P / 2, P, true).err, -EINVAL);
	ck_assert_int_eq(convert(o, id, 4 * P, P, true).err, -EINVAL);
	ck_assert_int_eq(convert(o, id, 3 * P, 2 * P, true).err, -EINVAL);
	ck_assert_int_eq(convert(o, id, UINT64_MAX - P + 1, 2 * P, true).err, -EINVAL);
	/* v8 ignores an incoming error_offset, and leaves it as it was on success */
	a = (struct gs_kvm_memory_attributes2){.size = P, .error_offset = 0x1234};
	ck_assert_int_eq(gs_oracle_convert(o, id, &a, &p), 0);
	ck_assert_uint_eq(p.error_offset, 0x1234);
	ck_assert_int_eq(gs_oracle_convert(o, rfc, &a, &p), -EINVAL);
	ck_assert_int_eq(convert(o, rfc, 3 * P, 0, true).err, 0);
	c.has_private_mem = false;
	dflt = gs_oracle_create(o, 4 * P, &c, &p);
	ck_assert_int_eq(convert(o, dflt, 0, P, true).err, -EINVAL);
	c.in_place = false;
	vm = gs_oracle_create(o, 4 * P, &c, &p);
	ck_assert_int_eq(convert(o, vm, 0, P, true).err, -ENOTTY);
	gs_oracle_free(o);
}
END_TEST

/* P7, P8 and the selftest elevated_refcount: no-op first, EAGAIN at the pinned page. */
START_TEST(test_convert_pinned)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	ck_assert_int_eq(gs_oracle_pin(o, id, 2 * P + 7, &p), 0);
	ck_assert_int_eq(convert(o, id, 0, 4 * P, false).err, 0); /* already shared */
	p = convert(o, id, 0, 4 * P, true);
	ck_assert_int_eq(p.err, -EAGAIN);
	ck_assert_uint_eq(p.error_offset, 2 * P);
	/* all or nothing: the first page is still shared */
	ck_assert(!host(o, id, 0, 1, false, 0).sigbus);
	ck_assert_int_eq(convert(o, id, 0, P, true).err, 0);
	ck_assert_int_eq(convert(o, id, 2 * P, P, true).err, -EAGAIN);
	ck_assert_int_eq(convert(o, id, 3 * P, P, true).err, 0);
	ck_assert_int_eq(gs_oracle_unpin(o, id, 2 * P), 0);
	ck_assert_int_eq(gs_oracle_unpin(o, id, 2 * P), -ENOENT);
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0);
	ck_assert_int_eq(convert(o, id, 0, 4 * P, true).err, 0);
	ck_assert_int_eq(gs_oracle_pin(o, id, 0, &p), -EFAULT); /* GUP of a private page */
	gs_oracle_free(o);
}
END_TEST

/* P35: wip converts huge page by huge page; batches before the failing one stay. */
START_TEST(test_convert_wip_partial)
{
	struct gs_oracle *o = gs_oracle_new();
	int w = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_WIP);
	int pl = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	int v8 = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_V8);
	struct gs_oracle_pred p;
	int f[2] = {w, pl};

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(convert(o, f[i], 0, 4 << 20, false).err, 0);
		ck_assert_int_eq(gs_oracle_pin(o, f[i], (2 << 20) + 3 * P, &p), 0);
		p = convert(o, f[i], 0, 4 << 20, true);
		ck_assert_int_eq(p.err, -EAGAIN);
		ck_assert_uint_eq(p.error_offset, (2 << 20) + 3 * P);
	}
	/* wip: the first huge page went private; planned: nothing did */
	ck_assert(host(o, w, 0, 1, false, 0).sigbus);
	ck_assert(!host(o, pl, 0, 1, false, 0).sigbus);
	ck_assert_int_eq(convert(o, v8, 0, P, false).err, -EOPNOTSUPP);
	ck_assert_int_eq(convert(o, v8, 0, P, true).err, 0); /* a no-op still returns 0 */
	gs_oracle_free(o);
}
END_TEST

/* P5, P9, P10, P11, rule 24: who may touch what, and what it reads. */
START_TEST(test_contents)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	int pr = new_file(o, 4 * P, MMAP, 0, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	p = host(o, id, 0, 4 * P, false, 0); /* first use: zero */
	ck_assert(p.has_data && p.data == 0 && p.has_uniform && p.uniform);
	host(o, id, 0, 4 * P, true, 0x41);
	host(o, id, P + 10, 1, true, 0x42);
	p = host(o, id, 0, 4 * P, false, 0);
	ck_assert(p.has_data && p.data == 0x41 && !p.has_uniform); /* page 1 is mixed */
	ck_assert_int_eq(convert(o, id, 0, 2 * P, true).err, 0);
	p = host(o, id, 0, 1, false, 0);
	ck_assert(p.sigbus && p.done == 0);
	p = host(o, id, 2 * P, 4 * P, false, 0); /* past i_size: SIGBUS at 4P */
	ck_assert(p.sigbus && p.done == 2 * P && p.data == 0x41);
	ck_assert_int_eq(convert(o, id, 0, 2 * P, false).err, 0);
	p = host(o, id, 0, P, false, 0); /* contents kept both ways */
	ck_assert(p.data == 0x41 && p.uniform);
	ck_assert_int_eq(falloc(o, id, PUNCH, 0, P), 0);
	p = host(o, id, 0, 2 * P, false, 0);
	ck_assert(p.data == 0 && p.has_uniform == false);
	p = host(o, pr, 0, 1, true, 1); /* no INIT_SHARED: every page private */
	ck_assert(p.sigbus);
	gs_oracle_free(o);
}
END_TEST

/* Rules 33-35, 42-43, P15, P29: guest faults, get_pfn and memory failure. */
START_TEST(test_guest)
{
	struct gs_oracle *o = gs_oracle_new();
	int id = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	int h = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	ck_assert_int_eq(gs_oracle_guest_fault(o, id, 1, true, 1, 0, 4, &p), -EFAULT);
	ck_assert(p.memory_fault);
	ck_assert_int_eq(gs_oracle_guest_fault(o, id, 1, false, 1, 0, 4, &p), 0);
	ck_assert_int_eq(p.max_level, 1);
	ck_assert_int_eq(gs_oracle_poison(o, id, 2, &p), -ENOENT);
	ck_assert_int_eq(gs_oracle_poison(o, id, 1, &p), 0);
	ck_assert_int_eq(gs_oracle_guest_fault(o, id, 1, false, 1, 0, 4, &p), -EHWPOISON);
	ck_assert(host(o, id, P, 1, false, 0).sigbus);
	ck_assert_int_eq(gs_oracle_pin(o, id, P, &p), -EHWPOISON);
	ck_assert_int_eq(gs_oracle_get_pfn(o, id, 1, &p), -EHWPOISON);
	ck_assert_int_eq(falloc(o, id, PUNCH, 0, 4 * P), 0); /* punch clears it */
	ck_assert_int_eq(gs_oracle_get_pfn(o, id, 1, &p), 0);
	/* a whole private huge page, aligned alike: up to 2M */
	ck_assert_int_eq(gs_oracle_guest_fault(o, h, 3, true, 512 + 3, 512, 1024, &p), 0);
	ck_assert_int_eq(p.max_level, 2);
	ck_assert_int_eq(gs_oracle_guest_fault(o, h, 3, true, 512 + 4, 511, 1024, &p), 0);
	ck_assert_int_eq(p.max_level, 1); /* gfn and index differ modulo 512 */
	ck_assert_int_eq(gs_oracle_get_pfn(o, h, 3, &p), 0);
	ck_assert(p.has_max_order && p.max_order == 9);
	ck_assert_int_eq(convert(o, h, 4 * P, P, false).err, 0);
	ck_assert_int_eq(gs_oracle_get_pfn(o, h, 3, &p), 0);
	ck_assert_uint_eq(p.max_order, 0);
	gs_oracle_free(o);
}
END_TEST

/* The level bound of a leaf and the huge pages a file holds (pool, cgroup). */
START_TEST(test_level_bound_and_hpages)
{
	struct gs_oracle *o = gs_oracle_new();
	int g = new_file(o, 4 * P, MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	int h = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);

	ck_assert_uint_eq(gs_oracle_used_hpages(o, g), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 0);
	/* all private, aligned, whole in the slot: 2M; looking changes nothing */
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 0, 512, 512, 1024), 2);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 0);
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 0, 512, 513, 1024), 1); /* not whole */
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 0, 513, 513, 1024), 1); /* misaligned */
	ck_assert_int_eq(gs_oracle_level_bound(o, g, 0, 0, 0, 4), 1);
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 1024, 0, 0, 2048), 1); /* past the end */
	ck_assert_int_eq(gs_oracle_level_bound(o, 7, 0, 0, 0, 4), 1);	    /* no such file */
	ck_assert_int_eq(falloc(o, h, KEEP, 2 << 20, 2 << 20), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 1);
	/* one shared page: 4K over the whole huge page, the other one still 2M */
	ck_assert_int_eq(convert(o, h, 5 * P, P, false).err, 0);
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 0, 512, 512, 1024), 1);
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 511, 1023, 512, 1024), 1);
	ck_assert_int_eq(gs_oracle_level_bound(o, h, 512, 1024, 512, 1024), 2);
	/* a host fault on the shared page allocates the first huge page */
	ck_assert(!host(o, h, 5 * P, 1, true, 1).sigbus);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 2);
	ck_assert_int_eq(falloc(o, h, PUNCH, 0, 4 << 20), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, h), 0);
	/* P29: max_order is the folio order; wip's P39 may give less, so only a bound */
	{
		int w = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_WIP);
		struct gs_oracle_pred p;

		ck_assert_int_eq(gs_oracle_get_pfn(o, h, 600, &p), 0);
		ck_assert(p.max_order == 9 && p.max_order_exact);
		ck_assert_int_eq(gs_oracle_get_pfn(o, w, 600, &p), 0);
		ck_assert(p.max_order == 9 && !p.max_order_exact);
		ck_assert_uint_eq(gs_oracle_used_hpages(o, w), 1);
	}
	gs_oracle_free(o);
}
END_TEST

/* Sparse: a 1 TiB file costs what the operations touched. */
START_TEST(test_sparse_1t)
{
	struct gs_oracle *o = gs_oracle_new();
	uint64_t size = 1ULL << 40;
	int id = new_file(o, size, MMAP | SHARED, 0, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	ck_assert_int_eq(convert(o, id, 0, size, true).err, 0);
	ck_assert_int_eq(convert(o, id, size / 2, size / 4, false).err, 0);
	ck_assert_int_eq(falloc(o, id, KEEP, 0, (int64_t)size), 0);
	ck_assert_int_eq(gs_oracle_fallocate(o, id, PUNCH, 0, (int64_t)size / 2, &p), 0);
	ck_assert_uint_eq(p.blocks, size / 2 / 512);
	p = host(o, id, size / 2, size / 4, true, 7);
	ck_assert(!p.sigbus && p.done == size / 4);
	ck_assert_uint_le(gs_oracle_nr_runs(o, id), 4);
	gs_oracle_free(o);
}
END_TEST

/* --- with the simulator --- */

struct run {
	int status;
	char *err;
	size_t len;
};

static struct run run_text_opts(const char *text, bool oracle, bool keep_going)
{
	struct run r = {0};
	FILE *err = open_memstream(&r.err, &r.len);
	struct gs_scenario_opts opts = {
		.quiet = true, .err = err, .oracle = oracle, .keep_going = keep_going};
	struct gs_scenario *s = gs_scenario_new(&opts);

	r.status = gs_scenario_run_buffer(s, "t.gms", text, strlen(text));
	gs_scenario_free(s);
	fclose(err);
	return r;
}

static struct run run_text(const char *text, bool oracle)
{
	return run_text_opts(text, oracle, false);
}

/* Every scenario of tests/scenarios with the oracle after every line. */
START_TEST(test_scenarios_pass)
{
	/* machine-cli.gms needs the CLI's --mem (test-cli runs it); the rest run as they are. */
	static const char *const skip[] = {"machine-cli.gms", NULL};
	/*
	 * Under valgrind the 4 KiB conversion and guest_memfd files, but not the
	 * 1 TiB mapping (beyond valgrind's address space); all of them elsewhere.
	 */
	bool few = gs_test_scale(50) < 50;
	char dir[512];
	GDir *d;
	const char *name;
	unsigned int n = 0;

	snprintf(dir, sizeof(dir), "%s/scenarios", gs_test_srcdir());
	d = g_dir_open(dir, 0, NULL);
	ck_assert_ptr_nonnull(d);
	while ((name = g_dir_read_name(d))) {
		char path[1024];
		struct gs_scenario_opts opts = {.quiet = true, .oracle = true};
		struct gs_scenario *s;
		bool skipped = false;
		int st;

		for (unsigned int i = 0; skip[i]; i++)
			skipped |= !strcmp(skip[i], name);
		if (few &&
		    ((!g_str_has_prefix(name, "convert-p") && !g_str_has_prefix(name, "gmem-")) ||
		     strstr(name, "large")))
			skipped = true;
		if (skipped || !g_str_has_suffix(name, ".gms"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		s = gs_scenario_new(&opts);
		st = gs_scenario_run_file(s, path);
		gs_scenario_free(s);
		ck_assert_msg(st == GS_EXIT_OK, "%s with the oracle: %s", name,
			      gs_scenario_exit_name(st));
		n++;
	}
	g_dir_close(d);
	ck_assert_uint_ge(n, few ? 10 : 30);
}
END_TEST

static void assert_caught(const struct run *r, const char *const *needles)
{
	ck_assert_msg(r->status == GS_EXIT_FAIL, "status %s", gs_scenario_exit_name(r->status));
	for (unsigned int i = 0; needles[i]; i++)
		ck_assert_msg(strstr(r->err, needles[i]), "'%s' not in:\n%s", needles[i], r->err);
}

/*
 * The page punched goes back to the head of the free list while its
 * neighbours keep their chunk alive, so the allocation after it gets it back
 * with the old bytes: only zeroing on first use hides them.
 */
static const char zero_text[] = "gmem g size=64K flags=mmap|init_shared\n"
				"mmap g\n"
				"write g off=0 len=64K byte=0x5a\n"
				"punch g off=0x3000 len=4K\n"
				"falloc g off=0x3000 len=4K\n"
				"read g off=0x3000 len=4K\n"
				"munmap g\n"
				"close g\n";

/* Planted bug 1: first use does not zero (P10). */
START_TEST(test_bug_skip_zero)
{
	static const char *const needles[] = {"check oracle:", "t.gms:6 read g", "index 0x3",
					      "content simulator=0x5a oracle=0x00", NULL};
	struct run r = run_text(zero_text, true);

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	gs_test_plant_bug(GS_BUG_SKIP_ZERO, true);
	r = run_text(zero_text, false); /* no expectation says what a read gives */
	ck_assert_int_eq(r.status, GS_EXIT_OK);
	free(r.err);
	r = run_text(zero_text, true);
	gs_test_plant_bug(GS_BUG_SKIP_ZERO, false);
	assert_caught(&r, needles);
	free(r.err);
}
END_TEST

static const char convert_text[] = "vm s type=sw_protected\n"
				   "gmem g vm=s size=16K flags=mmap|init_shared\n"
				   "mmap g\n"
				   "pin g off=8K\n"
				   "convert g off=4K len=4K to=private\n"
				   "convert g off=0 len=16K to=private => EAGAIN\n"
				   "unpin g off=8K\n"
				   "munmap g\n"
				   "close g\n";

/* Planted bug 2: a successful conversion leaves the attribute as it was (P7.4). */
START_TEST(test_bug_stale_attribute)
{
	static const char *const needles[] = {"t.gms:5 convert g", "index 0x1",
					      "attribute simulator=shared oracle=private", NULL};
	struct run r;

	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, true);
	r = run_text(convert_text, true);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, false);
	assert_caught(&r, needles);
	free(r.err);
}
END_TEST

/* Planted bug 3: EAGAIN names the wrong page (P7.3). */
START_TEST(test_bug_error_offset)
{
	static const char *const needles[] = {"t.gms:6 convert g", "index 0x2",
					      "error_offset simulator=0x3000 oracle=0x2000", NULL};
	struct run r = run_text(convert_text, true);

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	gs_test_plant_bug(GS_BUG_ERROR_OFFSET, true);
	r = run_text(convert_text, true);
	gs_test_plant_bug(GS_BUG_ERROR_OFFSET, false);
	assert_caught(&r, needles);
	free(r.err);
}
END_TEST

/*
 * Run tests/bugs/@name.gms with @plant (bits of enum gs_test_bug) planted,
 * @from replaced by @to (the same lines under another ordering) if not NULL.
 */
static struct run run_bug_file(const char *name, const char *from, const char *to, bool oracle,
			       unsigned int plant)
{
	char path[1024], *text = NULL, *t, **parts;
	struct run r;

	snprintf(path, sizeof(path), "%s/bugs/%s.gms", gs_test_srcdir(), name);
	ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "%s", path);
	parts = g_strsplit(text, from ? from : "\x01", 2);
	ck_assert_msg(!from || parts[1], "'%s' not in %s", from, path);
	t = g_strjoinv(to, parts);
	g_strfreev(parts);
	{
		FILE *err;
		struct gs_scenario_opts opts = {.quiet = true, .oracle = oracle, .plant = plant};
		struct gs_scenario *s;

		r = (struct run){0};
		err = open_memstream(&r.err, &r.len);
		opts.err = err;
		s = gs_scenario_new(&opts);
		r.status = gs_scenario_run_buffer(s, name, t, strlen(t));
		gs_scenario_free(s);
		fclose(err);
	}
	g_free(t);
	g_free(text);
	/* a run ends with the bugs it began with */
	ck_assert_uint_eq(gs_test_bugs, 0);
	return r;
}

static void assert_passes(struct run r)
{
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
}

/*
 * Planted bug 4 (P39 without the folio cap): get_pfn's max_order and the
 * guest's leaf over-map a huge page whose first page is shared.
 */
START_TEST(test_bug_map_order_unrounded)
{
	static const char *const needles[] = {"check oracle:", "map-order-unrounded:17 getpfn h",
					      "index 0x1", "max_order simulator=9 oracle=at most 0",
					      NULL};
	static const char *const kvm[] = {"check kvm:", "level 2 spans mixed attributes",
					  "larger than the folio", NULL};
	unsigned int bug = 1u << GS_BUG_MAP_ORDER_UNROUNDED;
	struct run r;

	assert_passes(run_bug_file("map-order-unrounded", NULL, NULL, true, 0));
	r = run_bug_file("map-order-unrounded", NULL, NULL, true, bug);
	assert_caught(&r, needles);
	free(r.err);
	/* without the oracle the `kvm` checker sees the leaf at the check */
	r = run_bug_file("map-order-unrounded", NULL, NULL, false, bug);
	assert_caught(&r, kvm);
	free(r.err);
}
END_TEST

/* Planted bug 5 (P40, P41): a to-shared conversion leaves the 2M leaf over split folios. */
START_TEST(test_bug_huge_leaf_after_split)
{
	static const char *const needles[] = {"huge-leaf-after-split:17 convert h", "index 0x0",
					      "stage-2 level simulator=2 oracle=at most 1", NULL};
	static const char *const kvm[] = {"check kvm:", "512 pages, larger than the folio", NULL};
	unsigned int bug = 1u << GS_BUG_HUGE_LEAF_AFTER_SPLIT;
	struct run r;

	assert_passes(run_bug_file("huge-leaf-after-split", NULL, NULL, true, 0));
	r = run_bug_file("huge-leaf-after-split", NULL, NULL, true, bug);
	assert_caught(&r, needles);
	free(r.err);
	r = run_bug_file("huge-leaf-after-split", NULL, NULL, false, bug);
	assert_caught(&r, kvm);
	free(r.err);
}
END_TEST

/*
 * Planted bug 6 (P25, P37, P41): no merge on to-private, under each ordering
 * that converts HugeTLB files. No checker sees it (split pieces over an
 * all-private page break no invariant); the oracle's folio order does.
 */
START_TEST(test_bug_no_merge_to_private)
{
	static const char *const vms[] = {"type=sw_protected", "type=sw_protected conversion=wip",
					  "type=sw_protected conversion=rfc-v2"};
	static const char *const needles[] = {"no-merge-to-private:16 convert h", "index 0x0",
					      "folio order simulator=0 oracle=9", NULL};
	unsigned int bug = 1u << GS_BUG_NO_MERGE_TO_PRIVATE;

	for (unsigned int i = 0; i < G_N_ELEMENTS(vms); i++) {
		struct run r;

		assert_passes(
			run_bug_file("no-merge-to-private", "type=sw_protected", vms[i], true, 0));
		r = run_bug_file("no-merge-to-private", "type=sw_protected", vms[i], true, bug);
		assert_caught(&r, needles);
		free(r.err);
		assert_passes(run_bug_file("no-merge-to-private", "type=sw_protected", vms[i],
					   false, bug));
	}
}
END_TEST

/*
 * The fourth known bug is the rfc-v2 profile's rollback (index 0 decrement):
 * its WARN fails the run; planned, the same lines pass.
 */
START_TEST(test_bug_rfc_v2_rollback)
{
	static const char *const others[] = {"conversion=planned", "conversion=wip",
					     "conversion=v8"};
	unsigned long oob = gs_gmem_convert_stats(false).rollback_oob;
	struct run r = run_bug_file("rfc-v2-rollback-index0", NULL, NULL, true, 0);

	ck_assert_int_eq(r.status, GS_EXIT_FAIL);
	ck_assert_msg(strstr(r.err, "1 WARN(s)"), "%s", r.err);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).rollback_oob, oob + 1);
	free(r.err);
	for (unsigned int i = 0; i < G_N_ELEMENTS(others); i++)
		assert_passes(run_bug_file("rfc-v2-rollback-index0", "conversion=rfc-v2", others[i],
					   true, 0));
}
END_TEST

/*
 * populate stops the oracle following only the files behind the slots it
 * writes: a bug on another file is still caught after it.
 */
START_TEST(test_populate_keeps_others)
{
	static const char text[] = "vm s type=sw_protected\n"
				   "gmem g vm=s size=16K flags=mmap\n"
				   "gmem k vm=s size=16K flags=mmap|init_shared\n"
				   "memslot s slot=0 gpa=4G size=16K gmem=g\n"
				   "populate s gpa=4G len=4K byte=0x41\n"
				   "convert k off=4K len=4K to=private\n"
				   "close g\n"
				   "close k\n";
	static const char *const needles[] = {"t.gms:6 convert k", "index 0x1",
					      "attribute simulator=shared oracle=private", NULL};
	struct run r = run_text(text, true);

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, true);
	r = run_text(text, true);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, false);
	assert_caught(&r, needles);
	free(r.err);
}
END_TEST

/*
 * `gsplit ... shared` is followed (the page is shared, the pieces order 0,
 * P25): a stale attribute after it is caught; a whole private page split
 * by hand is not followed (against P25), and then nothing is reported.
 */
START_TEST(test_gsplit_followed)
{
	static const char text[] = "hugetlb pool size=2M nr=2\n"
				   "vm s type=sw_protected\n"
				   "gmem h vm=s size=4M flags=mmap|hugetlb page=2M\n"
				   "falloc h off=0 len=4M\n"
				   "gsplit h off=8K shared\n"
				   "convert h off=0 len=4K to=shared\n"
				   "gsplit h off=0x201000\n"
				   "convert h off=0x200000 len=4K to=shared\n"
				   "close h\n";
	static const char *const needles[] = {"t.gms:6 convert h", "index 0x0",
					      "attribute simulator=private oracle=shared", NULL};
	struct run r = run_text(text, true);
	struct gs_oracle *o = gs_oracle_new();
	int h = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	struct gs_oracle_pred p;

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, true);
	r = run_text_opts(text, true, true);
	gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, false);
	assert_caught(&r, needles);
	ck_assert_msg(!strstr(r.err, "t.gms:8"), "%s", r.err); /* not followed there */
	free(r.err);
	ck_assert_int_eq(gs_oracle_gsplit(o, h, 1024, true, &p), -EINVAL);
	ck_assert_int_eq(gs_oracle_gsplit(o, h, 2, true, &p), -ENOENT);
	gs_oracle_free(o);
}
END_TEST

/* `plant bug=NAME` in the file, the names, and a name that does not exist. */
START_TEST(test_plant_verb)
{
	static const char *const needles[] = {"t.gms:17 convert h",
					      "folio order simulator=0 oracle=9", NULL};
	char path[1024], *text = NULL;
	GString *t = g_string_new("plant bug=no-merge-to-private\n");
	struct run r;

	for (int i = 0; i < GS_BUG_NR; i++) {
		ck_assert_str_eq(gs_test_bug_name((enum gs_test_bug)i), gs_test_bug_names[i]);
		ck_assert_int_eq(gs_test_bug_lookup(gs_test_bug_names[i]), i);
	}
	ck_assert_ptr_null(gs_test_bug_names[GS_BUG_NR]);
	ck_assert_int_eq(gs_test_bug_lookup("no-such-bug"), -EINVAL);
	ck_assert_str_eq(gs_test_bug_name(GS_BUG_MAP_ORDER_UNROUNDED), "map-order-unrounded");
	snprintf(path, sizeof(path), "%s/bugs/no-merge-to-private.gms", gs_test_srcdir());
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	g_string_append(t, text);
	r = run_text(t->str, true);
	assert_caught(&r, needles);
	free(r.err);
	ck_assert_uint_eq(gs_test_bugs, 0); /* taken out at the end of the run */
	r = run_text("note x\nplant bug=no-such-bug\n", true);
	ck_assert_int_eq(r.status, GS_EXIT_SYNTAX);
	ck_assert_msg(strstr(r.err, "t.gms:2") && strstr(r.err, "no-such-bug"), "%s", r.err);
	free(r.err);
	g_string_free(t, TRUE);
	g_free(text);
}
END_TEST

/*
 * A random line over the 4 KiB file g (16 pages) or the 2 MiB HugeTLB file h
 * (2 huge pages); each page of g is pinned at most once.
 */
static void random_line(GString *t, GRand *r, bool *pinned)
{
	static const char *const verbs[] = {"convert", "convert", "punch", "falloc",
					    "read",    "write",	  "fault", "pin",
					    "gfault",  "getpfn",  "poison"};
	const char *v = verbs[g_rand_int_range(r, 0, G_N_ELEMENTS(verbs))];
	bool huge = g_rand_int_range(r, 0, 4) == 0;
	const char *f = huge ? "h" : "g";
	uint64_t unit = huge && g_rand_boolean(r) ? 2 << 20 : P, pages = huge ? 1024 : 16;
	uint64_t limit = huge ? 4 << 20 : 16 * P;
	uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)(limit / unit)) * unit;
	uint64_t len = (uint64_t)g_rand_int_range(r, 1, 4) * unit;
	unsigned int pg = (unsigned int)(off / P) % 16;

	if (!strcmp(v, "convert"))
		g_string_append_printf(t, "convert %s off=%#" PRIx64 " len=%#" PRIx64 " to=%s\n", f,
				       off, len, g_rand_boolean(r) ? "private" : "shared");
	else if (!strcmp(v, "punch") || !strcmp(v, "falloc"))
		g_string_append_printf(t, "%s %s off=%#" PRIx64 " len=%#" PRIx64 "\n", v, f, off,
				       len);
	else if (!strcmp(v, "read") || !strcmp(v, "write"))
		g_string_append_printf(t, "%s %s off=%#" PRIx64 " len=%#" PRIx64 " byte=%d\n", v, f,
				       off + (uint64_t)g_rand_int_range(r, 0, 64), len,
				       g_rand_int_range(r, 0, 4));
	else if (!strcmp(v, "fault"))
		g_string_append_printf(t, "fault %s off=%#" PRIx64 "\n", f, off);
	else if (!strcmp(v, "pin") && !huge && !pinned[pg])
		pinned[pg] = true, g_string_append_printf(t, "pin g off=%#x\n", pg * 4096);
	else if (!strcmp(v, "getpfn"))
		g_string_append_printf(t, "getpfn %s off=%#" PRIx64 "\n", f, off);
	else if (!strcmp(v, "poison") && !huge && g_rand_int_range(r, 0, 5) == 0)
		g_string_append_printf(t, "poison g off=%#" PRIx64 "\n", off);
	else if (!strcmp(v, "gfault"))
		g_string_append_printf(t, "gfault s gpa=%#" PRIx64 "%s\n",
				       (huge ? (uint64_t)8 << 30 : (uint64_t)4 << 30) +
					       (uint64_t)g_rand_int_range(r, 0, (gint32)pages) * P,
				       g_rand_boolean(r) ? " private=1" : "");
}

/* A random sequence of @lines lines over g and h (see random_line()) under @ordering. */
static GString *random_text(GRand *r, const char *ordering, unsigned int lines)
{
	GString *t = g_string_new("hugetlb pool size=2M nr=2\n");
	bool pinned[16] = {0};

	g_string_append_printf(t, "vm s type=sw_protected conversion=%s\n", ordering);
	g_string_append(t, "gmem g vm=s size=64K flags=mmap|init_shared\n"
			   "gmem h vm=s size=4M flags=mmap|hugetlb page=2M\n"
			   "memslot s slot=0 gpa=4G size=64K gmem=g\n"
			   "memslot s slot=1 gpa=8G size=4M gmem=h\n"
			   "mmap g\nmmap h\n");
	for (unsigned int i = 0; i < lines; i++)
		random_line(t, r, pinned);
	/* (a pin may have failed, so none is dropped by name: teardown drops them) */
	g_string_append(t, "check\nmunmap g\nmunmap h\nclose g\nclose h\n");
	return t;
}

/* Run @t going on after failures, with @plant planted: what it wrote to stderr. */
static char *run_random(const GString *t, unsigned int plant)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&buf, &len);
	struct gs_scenario_opts opts = {
		.quiet = true, .keep_going = true, .oracle = true, .err = err, .plant = plant};
	struct gs_scenario *sc = gs_scenario_new(&opts);

	gs_scenario_run_buffer(sc, "random.gms", t->str, t->len);
	gs_scenario_free(sc);
	fclose(err);
	return buf;
}

/*
 * Random sequences over both kinds of file, under each ordering in turn,
 * every line followed by the oracle: whatever each line answers (many fail:
 * EAGAIN, EINVAL, EOPNOTSUPP, SIGBUS, EHWPOISON), the oracle must agree with
 * the simulator on all of them.
 */
static void random_sequences(unsigned int seqs)
{
	static const char *const orderings[] = {"planned", "wip", "v8", "rfc-v2"};
	unsigned int answered = 0;
	GRand *r = g_rand_new_with_seed((guint32)gs_test_seed());

	for (unsigned int n = 0; n < seqs; n++) {
		GString *t = random_text(r, orderings[n % 4], 200);
		char *buf = run_random(t, 0);

		ck_assert_msg(!strstr(buf, "check oracle:"), "sequence %u:\n%s\n%s", n, buf,
			      t->str);
		answered += strstr(buf, "expectation not met") != NULL;
		free(buf);
		g_string_free(t, TRUE);
	}
	/* the sequences did reach failing answers, which the oracle predicted too */
	ck_assert_uint_gt(answered, 0);
	g_rand_free(r);
}

START_TEST(test_random_sequences)
{
	random_sequences((unsigned int)gs_test_scale(20));
}
END_TEST

/*
 * The oracle's two reads of the simulator, kvm_gmem_query() (every line) and
 * the state registry's text records (kvm_gmem_dump_state()), agree on the
 * states random sequences reach: split, poisoned, mapped, pinned files.
 * Under GS_ORACLE_READ_BOTH every comparison reads both and reports a
 * "query and dump differ" mismatch where they do not.
 */
START_TEST(test_reads_agree)
{
	unsigned long before = gs_oracle_reads_compared();
	enum gs_oracle_read old = gs_oracle_set_read(GS_ORACLE_READ_BOTH);
	unsigned int seqs = (unsigned int)gs_test_scale(8);

	random_sequences(seqs);
	gs_oracle_set_read(old);
	/* most lines of every sequence (200 lines each) compared through both reads */
	ck_assert_uint_ge(gs_oracle_reads_compared() - before, 150 * seqs);
}
END_TEST

/*
 * The same random sequences (a fixed seed: the bound must hold) find each
 * planted HugeTLB bug within 10 planned sequences of 200 lines (seed 12:
 * the 1st, 2nd and 1st; seeds 1-5 needed at most the 7th): the oracle
 * catches it where random operations expose it, not only in tests/bugs/.
 */
START_TEST(test_random_finds_planted)
{
	static const enum gs_test_bug bugs[] = {GS_BUG_MAP_ORDER_UNROUNDED,
						GS_BUG_HUGE_LEAF_AFTER_SPLIT,
						GS_BUG_NO_MERGE_TO_PRIVATE};
	/* Under valgrind one bug (the default and sanitizer builds ran all three). */
	unsigned int nr = gs_test_scale(50) < 50 ? 1 : G_N_ELEMENTS(bugs);

	if (nr < G_N_ELEMENTS(bugs))
		printf("test_random_finds_planted: valgrind: %s only\n", gs_test_bug_name(bugs[0]));
	for (unsigned int b = 0; b < nr; b++) {
		GRand *r = g_rand_new_with_seed(12);
		unsigned int n;

		for (n = 0; n < 10; n++) {
			GString *t = random_text(r, "planned", 200);
			char *buf = run_random(t, 1u << bugs[b]);
			bool found = strstr(buf, "check oracle:") != NULL;

			free(buf);
			g_string_free(t, TRUE);
			if (found)
				break;
		}
		printf("%s: found by random sequence %u\n", gs_test_bug_name(bugs[b]), n);
		ck_assert_msg(n < 10, "%s not found", gs_test_bug_name(bugs[b]));
		g_rand_free(r);
	}
}
END_TEST

/*
 * A mismatch in the middle of a huge extent (a whole 1 GiB folio, the
 * pieces of a split huge page: one run on both sides) is found at its own
 * index: the comparison goes by runs, and a run must break where one
 * index differs. The simulator is changed by hand after a line ran (before
 * the oracle compares it) and put back after the next.
 */
enum tamper { TAMPER_ATTR, TAMPER_POISON, TAMPER_FLIP };

struct tamper_ctx {
	struct gs_scenario *s;
	unsigned int line; /* the line after which the index is changed */
	unsigned int back; /* the line after which it is put back (0: the next one) */
	uint64_t index;
	enum tamper what;
	bool done;
};

static void tamper_set(struct gmem_inode *inode, const struct tamper_ctx *t, bool on)
{
	if (t->what == TAMPER_POISON) {
		struct folio *folio = xa_load(&inode->filemap, t->index);

		ck_assert_ptr_nonnull(folio);
		ck_assert_uint_eq(folio_order(folio), 0);
		if (on)
			folio_set_hwpoison(folio);
		else
			folio_clear_hwpoison(folio);
		return;
	}
	if (t->what == TAMPER_FLIP) {
		/* One index's attribute the other way, and back (the same flip). */
		void *a = mtree_load(&inode->shareability, t->index);

		ck_assert_int_eq(mtree_store_range(&inode->shareability, t->index, t->index,
						   xa_mk_value(a == xa_mk_value(SHAREABILITY_ALL)
								       ? SHAREABILITY_GUEST
								       : SHAREABILITY_ALL),
						   GFP_KERNEL),
				 0);
		return;
	}
	/* One index shared in a private range, then the whole range private again. */
	ck_assert_int_eq(mtree_store_range(&inode->shareability, on ? t->index : 0,
					   on ? t->index : (uint64_t)inode->size / P - 1,
					   xa_mk_value(on ? SHAREABILITY_ALL : SHAREABILITY_GUEST),
					   GFP_KERNEL),
			 0);
}

static void tamper_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct tamper_ctx *t = arg;
	int fd = gs_scenario_gmem_fd(t->s, "g", NULL);

	unsigned int back = t->back ? t->back : t->line + 1;

	(void)res;
	if (op->line != t->line && op->line != back)
		return;
	ck_assert_int_ge(fd, 0);
	tamper_set(gs_uapi_gmem_file(fd)->inode, t, op->line == t->line);
	t->done |= op->line == back;
}

/*
 * @text run with the oracle, going on after failures, @fn called after each
 * line with @arg (the scenario in *@s while it runs); its messages, its status
 * in *@st.
 */
static char *run_hooked(const char *text,
			void (*fn)(void *arg, const struct gs_op *op, const struct gs_result *res),
			void *arg, struct gs_scenario **s, int *st)
{
	char *err = NULL;
	size_t len;
	FILE *f = open_memstream(&err, &len);

	*s = gs_scenario_new(&(struct gs_scenario_opts){.quiet = true,
							.err = f,
							.oracle = true,
							.keep_going = true,
							.on_result = fn,
							.on_result_arg = arg});
	*st = gs_scenario_run_buffer(*s, "t.gms", text, strlen(text));
	gs_scenario_free(*s);
	fclose(f);
	return err;
}

static char *run_tampered(const char *text, struct tamper_ctx *t)
{
	int st;
	char *err = run_hooked(text, tamper_on_result, t, &t->s, &st);

	ck_assert_msg(t->done, "the tampered line never ran:\n%s", err);
	ck_assert_msg(st == GS_EXIT_FAIL, "status %s:\n%s", gs_scenario_exit_name(st), err);
	return err;
}

START_TEST(test_mismatch_inside_extent)
{
	/* Under valgrind a 2 MiB page's 512 pieces; elsewhere a 1 GiB page's 262,144 too. */
	bool big = gs_test_scale(2) == 2;
	static const char whole[] = "hugetlb pool size=1G nr=1\n"
				    "vm s type=sw_protected\n"
				    "gmem g vm=s size=1G flags=hugetlb page=1G\n"
				    "falloc g off=0 len=1G\n"
				    "note put back\n"
				    "close g\n";
	struct tamper_ctx t = {.line = 4, .index = 0x2a5a7, .what = TAMPER_ATTR};
	char *err = run_tampered(whole, &t);
	char want[160];

	/* Only that line, only that index: put back, the end compares clean. */
	ck_assert_msg(strstr(err, "check oracle: t.gms:4 falloc g: index 0x2a5a7: attribute "
				  "simulator=shared oracle=private\n") == err &&
			      !strchr(err, '\n')[1],
		      "%s", err);
	free(err);

	for (unsigned int i = 0; i < (big ? 2 : 1); i++) {
		const char *page = i ? "1G" : "2M";
		uint64_t index = i ? 0x3b3c1 : 0x1a3;
		char *text = g_strdup_printf("hugetlb pool size=%s nr=1\n"
					     "vm s type=sw_protected\n"
					     "gmem g vm=s size=%s flags=hugetlb page=%s\n"
					     "falloc g off=0 len=%s\n"
					     "convert g off=0 len=%s to=shared\n"
					     "note put back\n"
					     "close g\n",
					     page, page, page, page, page);

		t = (struct tamper_ctx){.line = 5, .index = index, .what = TAMPER_POISON};
		err = run_tampered(text, &t);
		snprintf(want, sizeof(want),
			 "check oracle: t.gms:5 convert g: index 0x%" PRIx64
			 ": poisoned simulator=yes oracle=no\n",
			 index);
		ck_assert_msg(strstr(err, want) == err && !strchr(err, '\n')[1], "%s", err);
		free(err);
		g_free(text);
	}
}
END_TEST

/*
 * A comparison reads the simulator's runs into an array that grows as the
 * query fills it (64 runs, then 128, 256): a file of 256 runs (every other
 * 4 KiB page private) read whole, a difference planted at a run's edge, at
 * the array's growth points and at the first and last index, in the
 * attribute or a folio field, is reported once, at its own index, naming
 * the line.
 */
START_TEST(test_mismatch_many_runs)
{
	static const uint64_t at[] = {0, 1, 63, 64, 65, 127, 128, 129, 200, 254, 255};
	GString *text = g_string_new("vm s type=sw_protected\n"
				     "gmem g vm=s size=1M flags=mmap|init_shared\n"
				     "falloc g off=0 len=1M\n");
	unsigned int line;

	for (unsigned int i = 1; i < 256; i += 2)
		g_string_append_printf(text, "convert g off=%#x len=4K to=private\n", i * 4096);
	line = 3 + 128 + 1;
	g_string_append(text, "falloc g off=0 len=1M\nnote put back\nclose g\n");
	for (unsigned int i = 0; i < G_N_ELEMENTS(at); i++) {
		for (unsigned int w = 0; w < 2; w++) {
			struct tamper_ctx t = {.line = line,
					       .index = at[i],
					       .what = w ? TAMPER_POISON : TAMPER_FLIP};
			char *err = run_tampered(text->str, &t);
			char want[200];

			if (w)
				snprintf(want, sizeof(want),
					 "check oracle: t.gms:%u falloc g: index 0x%" PRIx64
					 ": poisoned simulator=yes oracle=no\n",
					 line, at[i]);
			else
				snprintf(want, sizeof(want),
					 "check oracle: t.gms:%u falloc g: index 0x%" PRIx64
					 ": attribute simulator=%s oracle=%s\n",
					 line, at[i], at[i] % 2 ? "shared" : "private",
					 at[i] % 2 ? "private" : "shared");
			ck_assert_msg(t.done && strstr(err, want) == err && !strchr(err, '\n')[1],
				      "index %" PRIu64 " %s:\n%s", at[i], w ? "poison" : "attr",
				      err);
			free(err);
		}
	}
	g_string_free(text, TRUE);
}
END_TEST

/*
 * kvm_gmem_query() reads a split page's pieces a leaf's slot array at a time,
 * and the gmem checker checks them so: a piece in another state anywhere (a
 * leaf's first or last slot, the slot after a leaf, the middle) must still
 * end a run at its own index, from any start, and be reported at its own
 * index. The simulator is changed by hand after the split (`convert` to
 * shared of a whole 2 MiB page: 512 pieces, 8 leaves of 64) and put back.
 */
static const pgoff_t edge_pieces[] = {0, 1, 62, 63, 64, 65, 127, 128, 300, 447, 448, 510, 511};

/* Lines 1-5 of the piece tests: one 2 MiB page of file g allocated, then all shared (split). */
#define SHARED_2M_PAGE                                \
	"hugetlb pool size=2M nr=1\n"                 \
	"vm s type=sw_protected\n"                    \
	"gmem g vm=s size=2M flags=hugetlb page=2M\n" \
	"falloc g off=0 len=2M\n"                     \
	"convert g off=0 len=2M to=shared\n"

struct piece_ctx {
	struct gs_scenario *s;
	unsigned int line, checked;
};

/* File g's inode when @op is the line @c waits for, else NULL. */
static struct gmem_inode *piece_ctx_inode(struct piece_ctx *c, const struct gs_op *op)
{
	int fd;

	if (op->line != c->line)
		return NULL;
	fd = gs_scenario_gmem_fd(c->s, "g", NULL);
	ck_assert_int_ge(fd, 0);
	return gs_uapi_gmem_file(fd)->inode;
}

/* Runs @text with @hook after each line, for line @line; returns what it checked. */
static unsigned int run_piece_hook(const char *text, unsigned int line,
				   void (*hook)(void *, const struct gs_op *,
						const struct gs_result *))
{
	struct piece_ctx c = {.line = line};
	struct gs_scenario_opts opts = {.quiet = true, .on_result = hook, .on_result_arg = &c};

	c.s = gs_scenario_new(&opts);
	ck_assert_int_eq(gs_scenario_run_buffer(c.s, "t.gms", text, strlen(text)), GS_EXIT_OK);
	gs_scenario_free(c.s);
	return c.checked;
}

struct piece_state {
	bool allocated, poisoned;
	unsigned int order;
	int mapcount, attr;
};

static struct piece_state piece_at(struct gmem_inode *inode, pgoff_t index)
{
	struct folio *folio = xa_load(&inode->filemap, index);
	void *a = mtree_load(&inode->shareability, index);
	struct piece_state st = {.attr = a == xa_mk_value(SHAREABILITY_ALL)	? 0
					 : a == xa_mk_value(SHAREABILITY_GUEST) ? 1
										: 2};

	if (folio)
		st = (struct piece_state){true, folio_test_hwpoison(folio), folio_order(folio),
					  folio_mapcount(folio), st.attr};
	return st;
}

/* The query of [start, end) against the runs of equal state index by index. */
static void query_against_indices(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	static struct kvm_gmem_run runs[600];
	size_t n = kvm_gmem_query(inode, start, end, runs, G_N_ELEMENTS(runs)), i = 0;
	pgoff_t cur = start;

	while (cur < end) {
		struct piece_state st = piece_at(inode, cur), nx;
		pgoff_t e = cur + 1;

		for (; e < end; e++) {
			nx = piece_at(inode, e);
			if (nx.allocated != st.allocated || nx.poisoned != st.poisoned ||
			    nx.order != st.order || nx.mapcount != st.mapcount ||
			    nx.attr != st.attr)
				break;
		}
		ck_assert_msg(i < n, "[%lx, %lx): no run for %lx", start, end, cur);
		ck_assert_msg(runs[i].start == cur && runs[i].end == e,
			      "[%lx, %lx): run [%lx, %lx), want [%lx, %lx)", start, end,
			      runs[i].start, runs[i].end, cur, e);
		ck_assert(runs[i].allocated == st.allocated && runs[i].attr == st.attr);
		if (st.allocated)
			ck_assert(runs[i].poisoned == st.poisoned && runs[i].order == st.order &&
				  runs[i].mapcount == st.mapcount);
		cur = e;
		i++;
	}
	ck_assert_uint_eq(i, n);
}

struct qrange {
	pgoff_t s, e;
};

/*
 * The query over each of @ranges, against the state read index by index, with
 * @folio (a piece) poisoned, then with an extra map count: two states apart.
 */
static void queries_piece_changed(struct gmem_inode *inode, struct folio *folio,
				  const struct qrange *ranges, size_t nr)
{
	for (unsigned int what = 0; what < 2; what++) {
		if (what)
			atomic_set(&folio->_mapcount, atomic_read(&folio->_mapcount) + 1);
		else
			folio_set_hwpoison(folio);
		for (size_t j = 0; j < nr; j++)
			query_against_indices(inode, ranges[j].s, ranges[j].e);
		if (what)
			atomic_set(&folio->_mapcount, atomic_read(&folio->_mapcount) - 1);
		else
			folio_clear_hwpoison(folio);
	}
}

static void pieces_tamper(struct gmem_inode *inode, struct piece_ctx *c)
{
	static const struct qrange ranges[] = {{0, 512}, {1, 512},   {63, 512}, {64, 300},
					       {5, 6},	 {511, 512}, {0, 64},	{0, 65}};
	char want[96], *out;

	for (unsigned int k = 0; k < G_N_ELEMENTS(edge_pieces); k++) {
		pgoff_t index = edge_pieces[k];
		struct folio *folio = xa_load(&inode->filemap, index);

		ck_assert_ptr_nonnull(folio);
		ck_assert_uint_eq(folio_order(folio), 0);
		queries_piece_changed(inode, folio, ranges, G_N_ELEMENTS(ranges));
		c->checked += 2;
		/* The checker: one extra reference on that piece, reported there only. */
		folio_ref_add(folio, 1);
		out = gs_test_check_report();
		folio_ref_sub_and_test(folio, 1);
		snprintf(want, sizeof(want), "index %lx: refcount", index);
		ck_assert_msg(out && strstr(out, want) &&
				      !strstr(strstr(out, want) + strlen(want), "refcount"),
			      "piece %lx:\n%s", index, out ? out : "");
		free(out);
	}
	query_against_indices(inode, 0, 512);
	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
}

static void pieces_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct gmem_inode *inode = piece_ctx_inode(arg, op);

	(void)res;
	if (inode)
		pieces_tamper(inode, arg);
}

START_TEST(test_query_leaf_pieces)
{
	static const char text[] = SHARED_2M_PAGE "convert g off=0x40000 len=0x2000 to=private\n"
						  "close g\n";
	struct piece_ctx c = {.line = 5};
	struct gs_scenario_opts opts = {.quiet = true, .on_result = pieces_on_result};

	/* Once all shared, once with two private pieces at a leaf's start (another run). */
	for (unsigned int pass = 0; pass < 2; pass++) {
		c.line = 5 + pass;
		opts.on_result_arg = &c;
		c.s = gs_scenario_new(&opts);
		ck_assert_int_eq(gs_scenario_run_buffer(c.s, "t.gms", text, strlen(text)),
				 GS_EXIT_OK);
		gs_scenario_free(c.s);
	}
	ck_assert_uint_eq(c.checked, 2 * 2 * G_N_ELEMENTS(edge_pieces));
}
END_TEST

/*
 * The query follows a leaf's pieces as consecutive struct pages; a slot
 * holding another struct page in the same state (two 4 KiB files' pages at
 * index 0x14 swapped by hand) ends that loop, not the run: the runs are
 * the same as read index by index, from any start, and the checker
 * reports the swapped pages.
 */
static void foreign_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct piece_ctx *c = arg;
	struct gmem_inode *f, *g;
	struct folio *ff, *gf;
	char *out;

	(void)res;
	if (op->line != c->line)
		return;
	f = gs_uapi_gmem_file(gs_scenario_gmem_fd(c->s, "f", NULL))->inode;
	g = gs_uapi_gmem_file(gs_scenario_gmem_fd(c->s, "g", NULL))->inode;
	ff = xa_load(&f->filemap, 0x14);
	gf = xa_load(&g->filemap, 0x14);
	ck_assert_ptr_eq(xa_store(&f->filemap, 0x14, gf, GFP_KERNEL), ff);
	ck_assert_ptr_eq(xa_store(&g->filemap, 0x14, ff, GFP_KERNEL), gf);
	for (pgoff_t start = 0; start < 0x16; start += 0x13) {
		query_against_indices(f, start, 0x40);
		query_against_indices(g, start, 0x40);
	}
	ck_assert_uint_eq(kvm_gmem_query(f, 0, 0x40, (struct kvm_gmem_run[2]){0}, 2), 1);
	out = gs_test_check_report();
	ck_assert_msg(out && strstr(out, "index 14: folio says index 14"), "%s", out ? out : "");
	free(out);
	ck_assert_ptr_eq(xa_store(&f->filemap, 0x14, ff, GFP_KERNEL), gf);
	ck_assert_ptr_eq(xa_store(&g->filemap, 0x14, gf, GFP_KERNEL), ff);
	c->checked++;
}

START_TEST(test_query_foreign_piece)
{
	static const char text[] = "vm s type=sw_protected\n"
				   "gmem f vm=s size=256K\n"
				   "gmem g vm=s size=256K\n"
				   "falloc f off=0 len=256K\n"
				   "falloc g off=0 len=256K\n"
				   "close g\n"
				   "close f\n";

	ck_assert_uint_eq(run_piece_hook(text, 5, foreign_on_result), 1);
}
END_TEST

/*
 * The query's loop judges a leaf's pieces four at a time, reading their
 * fields through the addresses it expects (consecutive struct pages) once
 * the four slots are found to hold them. A slot holding another file's
 * piece at the same index, in another state (one more map count), while
 * the file's own piece, clean, sits at the expected address: the run ends
 * there, at every place in a group of four, from several starts.
 */
static void group_slot_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	static const pgoff_t at[] = {1, 2, 3, 4, 5, 6, 7, 8, 62, 63, 64, 65, 66, 67, 300, 510, 511};
	struct piece_ctx *c = arg;
	struct gmem_inode *g, *h;

	(void)res;
	if (op->line != c->line)
		return;
	g = gs_uapi_gmem_file(gs_scenario_gmem_fd(c->s, "g", NULL))->inode;
	h = gs_uapi_gmem_file(gs_scenario_gmem_fd(c->s, "h", NULL))->inode;
	for (unsigned int k = 0; k < G_N_ELEMENTS(at); k++) {
		struct folio *gf = xa_load(&g->filemap, at[k]), *hf = xa_load(&h->filemap, at[k]);

		ck_assert(gf && hf && !folio_order(gf) && !folio_order(hf));
		ck_assert_ptr_eq(xa_store(&g->filemap, at[k], hf, GFP_KERNEL), gf);
		atomic_set(&hf->_mapcount, atomic_read(&hf->_mapcount) + 1);
		for (pgoff_t d = 0; d <= 4 && d <= at[k]; d++)
			query_against_indices(g, at[k] - d, 512);
		query_against_indices(g, 0, 512);
		atomic_set(&hf->_mapcount, atomic_read(&hf->_mapcount) - 1);
		ck_assert_ptr_eq(xa_store(&g->filemap, at[k], gf, GFP_KERNEL), hf);
		c->checked++;
	}
}

START_TEST(test_query_group_slot)
{
	static const char text[] = "hugetlb pool size=2M nr=2\n"
				   "vm s type=sw_protected\n"
				   "gmem g vm=s size=2M flags=hugetlb page=2M\n"
				   "gmem h vm=s size=2M flags=hugetlb page=2M\n"
				   "falloc g off=0 len=2M\n"
				   "falloc h off=0 len=2M\n"
				   "convert g off=0 len=2M to=shared\n"
				   "convert h off=0 len=2M to=shared\n"
				   "close h\n"
				   "close g\n";

	ck_assert_uint_eq(run_piece_hook(text, 8, group_slot_on_result), 17);
}
END_TEST

/*
 * The gmem checker finds a poisoned split page's few raw records once and
 * counts them per piece: the pieces that hold one agree with their flag,
 * a piece whose flag is cleared by hand is reported, its neighbours not.
 */
static void poisoned_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct gmem_inode *inode = piece_ctx_inode(arg, op);
	static const pgoff_t bad[] = {0x3, 0x40, 0x1ff};
	char want[96], *out;

	(void)res;
	if (!inode)
		return;
	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
	for (unsigned int k = 0; k < G_N_ELEMENTS(bad); k++) {
		struct folio *folio = xa_load(&inode->filemap, bad[k]);

		ck_assert(folio_test_hwpoison(folio));
		folio_clear_hwpoison(folio);
		out = gs_test_check_report();
		folio_set_hwpoison(folio);
		snprintf(want, sizeof(want), "index %lx: hwpoison flag 0, 1 bad pages recorded",
			 bad[k]);
		ck_assert_msg(out && strstr(out, want) &&
				      !strstr(strstr(out, want) + strlen(want), "hwpoison"),
			      "piece %lx:\n%s", bad[k], out ? out : "");
		free(out);
		/* A clean neighbour flagged by hand: no record there. */
		folio = xa_load(&inode->filemap, bad[k] ^ 1);
		folio_set_hwpoison(folio);
		out = gs_test_check_report();
		folio_clear_hwpoison(folio);
		snprintf(want, sizeof(want), "index %lx: hwpoison flag 1, 0 bad pages recorded",
			 bad[k] ^ 1);
		ck_assert_msg(out && strstr(out, want), "piece %lx:\n%s", bad[k] ^ 1,
			      out ? out : "");
		free(out);
		((struct piece_ctx *)arg)->checked++;
	}
}

/*
 * The gmem checker passes a piece whose every field is surely right with
 * one predicate and checks any other in full: each field that predicate
 * reads, changed by hand on one piece (a leaf's first or last slot, the
 * slot after a leaf, the middle), is reported at that piece only, in a
 * split 2 MiB page's pieces and in a 4 KiB file's pages. The host
 * mappings' check walks the PTEs once and looks the attribute up once per
 * range: a mapped page made private by hand is reported at its index.
 */
enum piece_field {
	PF_NEEDS_MERGE,
	PF_HUGETLB,
	PF_INDEX,
	PF_MAPPING,
	PF_UNRELIABLE,
	PF_REF,
	PF_MAPCOUNT,
	PF_NR
};

static void piece_field_set(struct folio *folio, enum piece_field what, bool on)
{
	int d = on ? 1 : -1;

	switch (what) {
	case PF_NEEDS_MERGE:
		if (folio_test_needs_merge(folio))
			folio_clear_needs_merge(folio);
		else
			folio_set_needs_merge(folio);
		break;
	case PF_HUGETLB:
		if (folio_test_hugetlb(folio))
			folio_clear_hugetlb(folio);
		else
			folio_set_hugetlb(folio);
		break;
	case PF_INDEX:
		folio->index += d * 0x1000;
		break;
	case PF_MAPPING: {
		static void *saved;

		if (on) {
			saved = folio->mapping;
			folio->mapping = NULL;
		} else {
			folio->mapping = saved;
		}
		break;
	}
	case PF_UNRELIABLE:
		if (on)
			folio_set_hugetlb_raw_hwp_unreliable(folio);
		else
			folio_clear_hugetlb_raw_hwp_unreliable(folio);
		break;
	case PF_REF:
		atomic_set(&folio->_refcount, atomic_read(&folio->_refcount) + d);
		break;
	case PF_MAPCOUNT:
		atomic_set(&folio->_mapcount, atomic_read(&folio->_mapcount) + d);
		break;
	default:
		break;
	}
}

/* Every line of the gmem checker's in @out names @index. */
static bool gmem_reports_only(const char *out, pgoff_t index)
{
	char at[40];

	snprintf(at, sizeof(at), " index %lx:", index);
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *nl = strchr(l, '\n'), *hit = strstr(l, at);

		if (!strncmp(l, "check gmem:", 11) && (!hit || (nl && hit > nl)))
			return false;
	}
	return true;
}

static void pieces_fields_check(struct gmem_inode *inode, struct piece_ctx *c)
{
	/* What each change makes the checker say (NULL: the 4 KiB file's pages do not apply). */
	static const char *const says[PF_NR][2] = {
		[PF_NEEDS_MERGE] = {"entry order 0", NULL},
		[PF_HUGETLB] = {NULL, "entry order 0"},
		[PF_INDEX] = {"folio says index", "folio says index"},
		[PF_MAPPING] = {"folio says index", "folio says index"},
		[PF_UNRELIABLE] = {"hwpoison flag 0, 0 bad pages recorded", NULL},
		[PF_REF] = {"refcount", "refcount"},
		[PF_MAPCOUNT] = {"refcount", "refcount"},
	};
	unsigned int small = !inode->page_order;
	char want[96], *out;

	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
	for (unsigned int k = 0; k < G_N_ELEMENTS(edge_pieces); k++) {
		pgoff_t index = edge_pieces[k] % (gmem_nr_pages(inode));
		struct folio *folio = xa_load(&inode->filemap, index);

		ck_assert_ptr_nonnull(folio);
		ck_assert_uint_eq(folio_order(folio), 0);
		for (unsigned int what = 0; what < PF_NR; what++) {
			const char *w = says[what][small];

			if (!w)
				continue;
			piece_field_set(folio, what, true);
			out = gs_test_check_report();
			piece_field_set(folio, what, false);
			snprintf(want, sizeof(want), "index %lx: %s", index, w);
			/* There, and no other index named by the gmem checker. */
			ck_assert_msg(out && strstr(out, want) && gmem_reports_only(out, index),
				      "piece %lx field %u:\n%s", index, what, out ? out : "");
			free(out);
			c->checked++;
		}
	}
	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
}

static void pieces_fields_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct gmem_inode *inode = piece_ctx_inode(arg, op);

	(void)res;
	if (inode)
		pieces_fields_check(inode, arg);
}

START_TEST(test_check_piece_fields)
{
	static const char split[] = SHARED_2M_PAGE "close g\n";
	static const char small[] = "vm s type=sw_protected\n"
				    "gmem g vm=s size=2M flags=mmap|init_shared\n"
				    "falloc g off=0 len=2M\n"
				    "note\n"
				    "close g\n";
	struct piece_ctx c = {.line = 5};
	struct gs_scenario_opts opts = {
		.quiet = true, .on_result = pieces_fields_on_result, .on_result_arg = &c};

	c.s = gs_scenario_new(&opts);
	ck_assert_int_eq(gs_scenario_run_buffer(c.s, "t.gms", split, strlen(split)), GS_EXIT_OK);
	gs_scenario_free(c.s);
	ck_assert_uint_eq(c.checked, 6 * G_N_ELEMENTS(edge_pieces));
	c = (struct piece_ctx){.line = 4};
	c.s = gs_scenario_new(&opts);
	ck_assert_int_eq(gs_scenario_run_buffer(c.s, "t.gms", small, strlen(small)), GS_EXIT_OK);
	gs_scenario_free(c.s);
	ck_assert_uint_eq(c.checked, 5 * G_N_ELEMENTS(edge_pieces));
}
END_TEST

static void private_mapped_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct gmem_inode *inode = piece_ctx_inode(arg, op);
	static const pgoff_t at[] = {0, 1, 63, 64, 200, 255};
	char want[96], *out;

	(void)res;
	if (!inode)
		return;
	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
	for (unsigned int k = 0; k < G_N_ELEMENTS(at); k++) {
		ck_assert_int_eq(mtree_store_range(&inode->shareability, at[k], at[k],
						   xa_mk_value(SHAREABILITY_GUEST), GFP_KERNEL),
				 0);
		out = gs_test_check_report();
		ck_assert_int_eq(mtree_store_range(&inode->shareability, at[k], at[k],
						   xa_mk_value(SHAREABILITY_ALL), GFP_KERNEL),
				 0);
		snprintf(want, sizeof(want), "index %lx: private, mapped by the host\n", at[k]);
		ck_assert_msg(out && strstr(out, want) &&
				      !strstr(strstr(out, want) + strlen(want), "private"),
			      "index %lx:\n%s", at[k], out ? out : "");
		free(out);
		((struct piece_ctx *)arg)->checked++;
	}
}

START_TEST(test_check_private_mapped)
{
	static const char text[] = "vm s type=sw_protected\n"
				   "gmem g vm=s size=1M flags=mmap|init_shared\n"
				   "mmap g\n"
				   "write g off=0 len=1M byte=0x5a\n"
				   "munmap g\n"
				   "close g\n";
	ck_assert_uint_eq(run_piece_hook(text, 4, private_mapped_on_result), 6);
}
END_TEST

/*
 * The adapter's pool check after a line: the pool's free count changed by
 * hand after a falloc (one page fewer than the simulator took) is reported
 * as that line's, once; put back before a `check` takes a new snapshot.
 */
struct pool_ctx {
	struct gs_scenario *s;
	bool tamper;
	unsigned int take, back; /* the lines after which a page is taken, put back */
	unsigned int done;	 /* of the two lines, those that ran */
};

static void pool_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct pool_ctx *c = arg;
	int fd = gs_scenario_gmem_fd(c->s, "g", NULL);
	struct hstate *h;

	(void)res;
	if (op->line != c->take && op->line != c->back)
		return;
	ck_assert_int_ge(fd, 0);
	h = gs_uapi_gmem_file(fd)->inode->spool->hstate;
	c->done++;
	if (c->tamper)
		h->free_huge_pages += op->line == c->take ? -1 : 1;
}

/* @text with the oracle: what it reported (a page of "g"'s pool taken by hand if @tamper). */
static char *run_pool_tamper(const char *text, unsigned int take, unsigned int back, bool tamper)
{
	struct pool_ctx c = {.tamper = tamper, .take = take, .back = back};
	char *err = NULL;
	size_t len;
	FILE *f = open_memstream(&err, &len);
	struct gs_scenario_opts opts = {.quiet = true,
					.err = f,
					.oracle = true,
					.keep_going = true,
					.on_result = pool_on_result,
					.on_result_arg = &c};

	c.s = gs_scenario_new(&opts);
	gs_scenario_run_buffer(c.s, "t.gms", text, strlen(text));
	gs_scenario_free(c.s);
	fclose(f);
	ck_assert_uint_eq(c.done, 2);
	return err;
}

START_TEST(test_pool_tampered)
{
	static const char text[] = "hugetlb pool size=2M nr=2\n"
				   "vm s type=sw_protected\n"
				   "gmem g vm=s size=4M flags=hugetlb page=2M\n"
				   "falloc g off=0 len=2M\n"
				   "note put back\n"
				   "check\n"
				   "falloc g off=2M len=2M\n"
				   "close g\n";
	char *err = run_pool_tamper(text, 4, 5, true);

	ck_assert_msg(err &&
			      strstr(err, "check oracle: t.gms:4 falloc g: pool: free huge pages "
					  "simulator=0 oracle=1\n") == err &&
			      !strchr(err, '\n')[1],
		      "%s", err ? err : "");
	free(err);
}
END_TEST

/*
 * A pool's snapshots start with the first HugeTLB file of its page size:
 * lines on a 4 KiB file (or a 2 MiB one) and the pool made bigger before it
 * take none, the `gmem` line that makes it does. A page taken by hand at
 * the first falloc is reported as that line's (it would go unseen if the
 * snapshot before it were older than the pool's new size), put back before
 * a `check` takes a new snapshot; untouched, nothing is reported.
 */

/* A 4 KiB file, then the first 2 MiB one. */
static const char pool_first_2m[] = "vm s type=sw_protected\n"
				    "gmem a vm=s size=64K\n"
				    "falloc a off=0 len=16K\n"
				    "hugetlb pool size=2M nr=2\n"
				    "falloc a off=16K len=16K\n"
				    "gmem g vm=s size=4M flags=hugetlb page=2M\n"
				    "falloc g off=0 len=2M\n"
				    "note put back\n"
				    "check\n"
				    "falloc g off=2M len=2M\n"
				    "close g\n"
				    "close a\n";

/* A 2 MiB file (its pool's snapshots taken), then the first 1 GiB one. */
static const char pool_first_1g[] = "vm s type=sw_protected\n"
				    "hugetlb pool size=2M nr=1\n"
				    "gmem a vm=s size=2M flags=hugetlb page=2M\n"
				    "hugetlb pool size=1G nr=2\n"
				    "falloc a off=0 len=2M\n"
				    "gmem g vm=s size=2G flags=hugetlb page=1G\n"
				    "falloc g off=0 len=1G\n"
				    "note put back\n"
				    "check\n"
				    "falloc g off=1G len=1G\n"
				    "close g\n"
				    "close a\n";

START_TEST(test_pool_first_hugetlb_file)
{
	const char *const texts[] = {pool_first_2m, pool_first_1g};

	for (unsigned int i = 0; i < G_N_ELEMENTS(texts); i++) {
		char *err = run_pool_tamper(texts[i], 7, 8, true);

		ck_assert_msg(err &&
				      strstr(err, "check oracle: t.gms:7 falloc g: pool: free huge "
						  "pages simulator=0 oracle=1\n") == err &&
				      !strchr(err, '\n')[1],
			      "%u: %s", i, err ? err : "");
		free(err);
		err = run_pool_tamper(texts[i], 7, 8, false);
		ck_assert_msg(err && !*err, "%u: %s", i, err ? err : "");
		free(err);
	}
}
END_TEST

START_TEST(test_check_poisoned_pieces)
{
	static const char text[] = SHARED_2M_PAGE "poison g off=0x3000\n"
						  "poison g off=0x40000\n"
						  "poison g off=0x1ff000\n"
						  "note\n"
						  "close g\n";
	ck_assert_uint_eq(run_piece_hook(text, 9, poisoned_on_result), 3);
}
END_TEST

/*
 * The query's loop over a leaf's pieces tests four at a time: a piece in
 * another state at any slot of a split page (every residue of the four,
 * the leaf's last slots the four-at-a-time part leaves to the tail) ends
 * its run there, in reads that start at a leaf's first slot and inside it.
 */
static void every_piece_tamper(struct gmem_inode *inode, struct piece_ctx *c)
{
	static const struct qrange ranges[] = {{0, 512}, {2, 512}, {67, 200}};
	static struct kvm_gmem_run runs[600];

	for (pgoff_t index = 0; index < 512; index++) {
		struct folio *folio = xa_load(&inode->filemap, index);
		size_t n;
		bool edge = false;

		ck_assert_ptr_nonnull(folio);
		ck_assert_uint_eq(folio_order(folio), 0);
		queries_piece_changed(inode, folio, ranges, G_N_ELEMENTS(ranges));
		/* A piece that says another index: the run before it ends there. */
		folio->index += 0x1000;
		n = kvm_gmem_query(inode, 0, 512, runs, G_N_ELEMENTS(runs));
		folio->index -= 0x1000;
		for (size_t i = 0; i < n; i++)
			edge |= runs[i].start == index;
		ck_assert_msg(edge, "piece %lx: no run starts there (%zu runs)", index, n);
		c->checked++;
	}
	query_against_indices(inode, 0, 512);
}

static void every_piece_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct gmem_inode *inode = piece_ctx_inode(arg, op);

	(void)res;
	if (inode)
		every_piece_tamper(inode, arg);
}

START_TEST(test_query_every_piece)
{
	static const char text[] = SHARED_2M_PAGE "close g\n";
	ck_assert_uint_eq(run_piece_hook(text, 5, every_piece_on_result), 512);
}
END_TEST

/*
 * The gmem checker's predicate for a piece whose 2 MiB window of pfns has
 * raw hwpoison records (a poisoned piece of the same split page): a piece
 * that is not one of the records passes it, any field changed by hand on
 * any other piece is still reported at that piece only; with more records
 * in the window than the check keeps (nine), the highest one's piece with
 * its flag cleared is still reported.
 */
static void dirty_window_check(struct gmem_inode *inode, struct piece_ctx *c)
{
	static const char *const says[] = {
		[PF_NEEDS_MERGE] = "entry order 0",
		[PF_HUGETLB] = NULL,
		[PF_INDEX] = "folio says index",
		[PF_MAPPING] = "folio says index",
		[PF_UNRELIABLE] = "hwpoison flag 0, 0 bad pages recorded",
		[PF_REF] = "refcount",
		[PF_MAPCOUNT] = "refcount",
	};
	char want[96], *out;

	static const pgoff_t more[] = {127, 128, 255, 256, 257, 300, 447, 448, 510, 511};

	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
	/* Every slot of the first leaf, then a leaf's edges further on. */
	for (unsigned int k = 0; k < 64 + G_N_ELEMENTS(more); k++) {
		pgoff_t index = k < 64 ? k : more[k - 64];
		struct folio *folio = xa_load(&inode->filemap, index);

		if (folio_test_hwpoison(folio))
			continue;
		for (unsigned int what = 0; what < PF_NR; what++) {
			if (!says[what])
				continue;
			piece_field_set(folio, what, true);
			out = gs_test_check_report();
			piece_field_set(folio, what, false);
			snprintf(want, sizeof(want), "index %lx: %s", index, says[what]);
			ck_assert_msg(out && strstr(out, want) && gmem_reports_only(out, index),
				      "piece %lx field %u:\n%s", index, what, out ? out : "");
			free(out);
		}
		c->checked++;
	}
	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
}

static void dirty_window_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct piece_ctx *c = arg;
	struct gmem_inode *inode;
	struct folio *folio;
	char *out;

	(void)res;
	/* Two lines: the one with two records, the one with nine. */
	c->line = op->line == 16 ? 16 : 8;
	inode = piece_ctx_inode(c, op);
	if (!inode)
		return;
	if (op->line == 8) {
		dirty_window_check(inode, arg);
		return;
	}
	/* Nine records: the last one's piece, its flag cleared by hand. */
	folio = xa_load(&inode->filemap, 0x1f0);
	ck_assert(folio_test_hwpoison(folio));
	folio_clear_hwpoison(folio);
	out = gs_test_check_report();
	folio_set_hwpoison(folio);
	ck_assert_msg(out && strstr(out, "index 1f0: hwpoison flag 0, 1 bad pages recorded") &&
			      gmem_reports_only(out, 0x1f0),
		      "%s", out ? out : "");
	free(out);
	((struct piece_ctx *)arg)->checked++;
}

START_TEST(test_check_dirty_window)
{
	static const char text[] = SHARED_2M_PAGE "poison g off=0x5000\n"
						  "poison g off=0x101000\n"
						  "note dirty window\n"
						  "poison g off=0x10000\n"
						  "poison g off=0x20000\n"
						  "poison g off=0x30000\n"
						  "poison g off=0x40000\n"
						  "poison g off=0x50000\n"
						  "poison g off=0x60000\n"
						  "poison g off=0x1f0000\n"
						  "note nine records\n"
						  "close g\n";
	/* 74 pieces less the poisoned ones at 5 and 0x101, then the ninth record's piece. */
	ck_assert_uint_eq(run_piece_hook(text, 8, dirty_window_on_result), 72 + 1);
}
END_TEST

/*
 * The gmem checker judges a split page's pieces four at a time, each flag
 * over the four and-ed (a flag every piece must have) and or-ed (one none
 * may have): PG_hwpoison set by hand, with no raw record, on every piece of
 * the first two leaves and the last one is reported at that piece only,
 * wherever it falls in a group of four.
 */
static void flag_each_piece_on_result(void *arg, const struct gs_op *op,
				      const struct gs_result *res)
{
	struct gmem_inode *inode = piece_ctx_inode(arg, op);
	struct piece_ctx *c = arg;
	char want[64], *out;

	(void)res;
	if (!inode)
		return;
	for (pgoff_t index = 0; index < 512; index = index == 127 ? 448 : index + 1) {
		struct folio *folio = xa_load(&inode->filemap, index);

		ck_assert(folio && !folio_order(folio) && !folio_test_hwpoison(folio));
		folio_set_hwpoison(folio);
		out = gs_test_check_report();
		folio_clear_hwpoison(folio);
		snprintf(want, sizeof(want), "index %lx: hwpoison flag 1", index);
		ck_assert_msg(out && strstr(out, want) && gmem_reports_only(out, index),
			      "piece %lx:\n%s", index, out ? out : "");
		free(out);
		c->checked++;
	}
	out = gs_test_check_report();
	ck_assert_msg(!out || !*out, "%s", out);
	free(out);
}

START_TEST(test_check_flag_each_piece)
{
	static const char text[] = SHARED_2M_PAGE "close g\n";

	ck_assert_uint_eq(run_piece_hook(text, 5, flag_each_piece_on_result), 128 + 64);
}
END_TEST

/* The oracle's whole comparisons (each read once, cross-checked) of a run of @text. */
static unsigned long reads_of(const char *text)
{
	enum gs_oracle_read was = gs_oracle_set_read(GS_ORACLE_READ_BOTH);
	unsigned long before = gs_oracle_reads_compared();
	struct run r = run_text(text, true);

	gs_oracle_set_read(was);
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	return gs_oracle_reads_compared() - before;
}

/*
 * After a `check` line the checker "oracle" has compared every file whole
 * with the state the line left: the adapter does not compare a file it
 * found clean again (one comparison per file per `check`, not two), nor
 * does the end of the run after a last `check`. A file the checker found
 * different is compared after the line as before, its mismatch reported
 * as the line's.
 */
START_TEST(test_check_compares_once)
{
	static const char checks[] = "vm s type=sw_protected\n"
				     "gmem g vm=s size=64K flags=mmap\n"
				     "falloc g off=0 len=4K\n"
				     "check\n"
				     "check\n"
				     "note put back\n"
				     "check\n";
	static const char notes[] = "vm s type=sw_protected\n"
				    "gmem g vm=s size=64K flags=mmap\n"
				    "falloc g off=0 len=4K\n"
				    "note\n"
				    "note\n"
				    "note put back\n"
				    "note\n";
	/* Index 8, outside the falloc's range: only a whole comparison sees it. */
	struct tamper_ctx t = {.line = 3, .back = 6, .index = 8, .what = TAMPER_ATTR};
	char *err;

	/* The notes' run ends with the end's comparison; the checks' with the last check's. */
	ck_assert_uint_eq(reads_of(checks), reads_of(notes) + 3 - 1);
	err = run_tampered(checks, &t);
	for (unsigned int line = 4; line <= 5; line++) {
		char want[160];

		snprintf(want, sizeof(want),
			 "check oracle: check: index 0x8: attribute simulator=shared "
			 "oracle=private\ncheck oracle: t.gms:%u check: index 0x8: attribute "
			 "simulator=shared oracle=private\n",
			 line);
		ck_assert_msg(strstr(err, want), "line %u:\n%s", line, err);
	}
	free(err);
}
END_TEST

static void tamper_once_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct tamper_ctx *t = arg;
	int fd = gs_scenario_gmem_fd(t->s, "g", NULL);

	(void)res;
	if (op->line != t->line)
		return;
	ck_assert_int_ge(fd, 0);
	tamper_set(gs_uapi_gmem_file(fd)->inode, t, true);
	t->done = true;
}

/*
 * A `close` right after a line that compared its file whole and found it
 * clean (a `munmap` of the whole mapping): nothing ran since, so the
 * close's comparison would be that one again and is not made; with any
 * line in between (an inert `note` too, as every line steps) it is. A file
 * the `munmap`'s comparison found different is compared again before the
 * close, and the mismatch reported at both lines, as before.
 */
START_TEST(test_close_after_whole_compare)
{
	static const char adjacent[] = "vm s type=sw_protected\n"
				       "gmem g vm=s size=64K flags=mmap\n"
				       "mmap g\n"
				       "falloc g off=0 len=4K\n"
				       "munmap g\n"
				       "close g\n";
	static const char apart[] = "vm s type=sw_protected\n"
				    "gmem g vm=s size=64K flags=mmap\n"
				    "mmap g\n"
				    "falloc g off=0 len=4K\n"
				    "munmap g\n"
				    "note\n"
				    "close g\n";
	/* Index 8, outside the falloc's range: the munmap's whole comparison sees it. */
	struct tamper_ctx t = {.line = 4, .index = 8, .what = TAMPER_ATTR};
	char *err;
	int st;

	ck_assert_uint_eq(reads_of(apart), reads_of(adjacent) + 1);
	err = run_hooked(adjacent, tamper_once_on_result, &t, &t.s, &st);
	ck_assert_msg(t.done && st == GS_EXIT_FAIL, "status %s:\n%s", gs_scenario_exit_name(st),
		      err);
	for (unsigned int line = 5; line <= 6; line++) {
		char want[160];

		snprintf(want, sizeof(want),
			 "t.gms:%u %s g: index 0x8: attribute simulator=shared oracle=private\n",
			 line, line == 5 ? "munmap" : "close");
		ck_assert_msg(strstr(err, want), "line %u:\n%s", line, err);
	}
	free(err);
}
END_TEST

/*
 * The scenario adapter is kept from one run to the next (emptied): a run
 * after another one with more files, a slot and the same names in another
 * order compares and reports exactly what it reports on its own. File i's
 * attribute at index i is flipped by hand after the `run-deferred` line, so
 * that line's comparison of every followed file reports them in the order
 * the adapter walks its files: a new GHashTable's order of the names (as
 * each run's own table gave before the adapter was kept), not that of a
 * table the earlier run grew to 20 names, or of one left with its names.
 */
struct flip_files_ctx {
	struct gs_scenario *s;
	unsigned int line;
	const char *const *names;
};

static void flip_files_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct flip_files_ctx *c = arg;

	(void)res;
	if (op->line != c->line)
		return;
	for (unsigned int i = 0; c->names[i]; i++) {
		int fd = gs_scenario_gmem_fd(c->s, c->names[i], NULL);
		struct gmem_inode *inode;

		ck_assert_int_ge(fd, 0);
		inode = gs_uapi_gmem_file(fd)->inode;
		ck_assert_int_eq(mtree_store_range(&inode->shareability, i, i,
						   xa_mk_value(SHAREABILITY_GUEST), GFP_KERNEL),
				 0);
	}
}

static char *run_flipped(const char *text, unsigned int line, const char *const *names)
{
	struct flip_files_ctx c = {.line = line, .names = names};
	int st;
	char *err = run_hooked(text, flip_files_on_result, &c, &c.s, &st);

	ck_assert_msg(st == GS_EXIT_FAIL, "status %s:\n%s", gs_scenario_exit_name(st), err);
	return err;
}

/* The indices @err reports at line @line, in the order reported, as one string. */
static GString *reported_indices(const char *err, unsigned int line)
{
	GString *got = g_string_new(NULL);
	char prefix[64];
	const char *p = err;

	snprintf(prefix, sizeof(prefix), "t.gms:%u run-deferred: index 0x", line);
	while ((p = strstr(p, prefix))) {
		p += strlen(prefix);
		g_string_append_c(got, *p);
	}
	return got;
}

START_TEST(test_adapter_reused)
{
	static const char *const names[] = {"q", "a7", "zz", "m", "b2", "k", NULL};
	GHashTable *fresh = g_hash_table_new(g_str_hash, g_str_equal);
	GString *t = g_string_new("vm s type=sw_protected\n");
	GString *big = g_string_new("vm s type=sw_protected\n");
	GString *want = g_string_new(NULL), *got;
	unsigned int line = 2;
	GHashTableIter it;
	gpointer key, val;
	struct run r;
	char *first, *again;

	for (unsigned int i = 0; names[i]; i++, line++) {
		g_string_append_printf(t, "gmem %s vm=s size=32K flags=mmap|init_shared\n",
				       names[i]);
		g_hash_table_insert(fresh, (gpointer)names[i], GUINT_TO_POINTER(i));
	}
	g_string_append(t, "run-deferred\n");
	g_hash_table_iter_init(&it, fresh);
	while (g_hash_table_iter_next(&it, &key, &val))
		g_string_append_c(want, (char)('0' + GPOINTER_TO_UINT(val)));
	/* More than FEW_NAMES files, the same names among them in another order, and a slot. */
	for (unsigned int i = 0; i < 14; i++)
		g_string_append_printf(big, "gmem x%u vm=s size=16K flags=mmap|init_shared\n", i);
	for (unsigned int i = G_N_ELEMENTS(names) - 1; i-- > 0;)
		g_string_append_printf(big, "gmem %s vm=s size=64K flags=mmap|init_shared\n",
				       names[i]);
	g_string_append(big, "memslot s slot=0 gpa=0x100000000 size=16K gmem=m\n"
			     "convert m off=0 len=4K to=private\n"
			     "run-deferred\n");

	first = run_flipped(t->str, line, names);
	got = reported_indices(first, line);
	ck_assert_msg(!strcmp(got->str, want->str), "reported %s, a new table walks %s:\n%s",
		      got->str, want->str, first);
	g_string_free(got, TRUE);
	r = run_text_opts(big->str, true, true);
	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	again = run_flipped(t->str, line, names);
	ck_assert_str_eq(again, first);
	free(first);
	free(again);
	g_string_free(want, TRUE);
	g_string_free(t, TRUE);
	g_string_free(big, TRUE);
	g_hash_table_destroy(fresh);
}
END_TEST

/*
 * The adapter finds a line's file by its name: names that share a first
 * letter or are prefixes of each other ("g", "g1", "g10"), names of 9, 8
 * and 7 bytes that share their first 7 or 8 ("gmemfile1", "gmemfile",
 * "gmemfil": the adapter compares names a word of 8 bytes at a time), a file
 * made again under a closed one's name, a VM's name (no file), with few
 * files (a walk of the names) and with more than sixteen (a hash). Each file
 * is converted at its own index: a line followed on another file's model
 * would make the comparisons differ without a bug; with a conversion that
 * leaves the attribute as it was planted, each is reported at its own line
 * and index, the file made again too.
 */
static GString *names_text(unsigned int extra, const char *const *names)
{
	GString *t = g_string_new("vm s type=sw_protected\n");

	for (unsigned int i = 0; i < extra; i++)
		g_string_append_printf(t, "gmem x%u vm=s size=16K flags=mmap|init_shared\n", i);
	for (unsigned int i = 0; i < 3; i++)
		g_string_append_printf(t, "gmem %s vm=s size=16K flags=mmap|init_shared\n",
				       names[i]);
	for (unsigned int i = 0; i < 3; i++)
		g_string_append_printf(t, "convert %s off=%uK len=4K to=private\n", names[i],
				       4 * i);
	g_string_append_printf(t,
			       "memslot s slot=0 gpa=0x100000000 size=16K gmem=%s\n"
			       "close %s\n"
			       "gmem %s vm=s size=32K flags=mmap|init_shared\n"
			       "convert %s off=28K len=4K to=private\n"
			       "check\n",
			       names[2], names[0], names[0], names[0]);
	return t;
}

START_TEST(test_file_names)
{
	static const char *const sets[][3] = {{"g", "g1", "g10"},
					      {"gmemfile1", "gmemfile", "gmemfil"}};

	for (unsigned int set = 0; set < G_N_ELEMENTS(sets); set++) {
		const char *const *names = sets[set];

		for (unsigned int extra = 0; extra <= 17; extra += 17) {
			GString *t = names_text(extra, names);
			unsigned int line = 2 + extra + 3; /* the first convert line */
			struct run r = run_text_opts(t->str, true, true);
			char want[4][96];

			ck_assert_msg(r.status == GS_EXIT_OK, "%u more files:\n%s", extra, r.err);
			free(r.err);
			gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, true);
			r = run_text_opts(t->str, true, true);
			gs_test_plant_bug(GS_BUG_STALE_ATTRIBUTE, false);
			for (unsigned int i = 0; i < 3; i++)
				snprintf(want[i], sizeof(want[i]),
					 "t.gms:%u convert %s: index 0x%u: attribute", line + i,
					 names[i], i);
			snprintf(want[3], sizeof(want[3]),
				 "t.gms:%u convert %s: index 0x7: attribute", line + 6, names[0]);
			for (unsigned int i = 0; i < G_N_ELEMENTS(want); i++)
				ck_assert_msg(strstr(r.err, want[i]),
					      "%u more files: '%s' not in:\n%s", extra, want[i],
					      r.err);
			free(r.err);
			g_string_free(t, TRUE);
		}
	}
}
END_TEST

/*
 * The folio orders a HugeTLB file's comparisons expect follow the model
 * as it changes (they are built again after each change, not per compare):
 * a huge page allocated private (one 2 MiB folio), a part converted to
 * shared (pieces), back to private (one folio again), punched, allocated
 * again, each compared after its line, twice in a row. With the merge on
 * to-private planted, the second huge page left in pieces is reported at
 * the line that left it so (orders built once, at the file's creation, would
 * expect nothing). An oracle and its files made after another one was freed start
 * from nothing (they may reuse its memory).
 */
START_TEST(test_orders_follow_model)
{
	static const char text[] = "hugetlb pool size=2M nr=2\n"
				   "vm s type=sw_protected\n"
				   "gmem g vm=s size=4M flags=hugetlb|mmap page=2M\n"
				   "falloc g off=0 len=4M\n"
				   "convert g off=2M len=8K to=shared\n"
				   "check\n"
				   "convert g off=2M len=8K to=private\n"
				   "convert g off=0 len=2M to=shared\n"
				   "check\n"
				   "punch g off=0 len=2M\n"
				   "convert g off=0 len=2M to=private\n"
				   "falloc g off=0 len=2M\n"
				   "check\n"
				   "close g\n";
	struct gs_oracle *o;
	struct run r;
	int id;

	for (unsigned int i = 0; i < 2; i++) {
		r = run_text_opts(text, true, true);

		ck_assert_msg(r.status == GS_EXIT_OK, "run %u:\n%s", i, r.err);
		free(r.err);
	}
	gs_test_plant_bug(GS_BUG_NO_MERGE_TO_PRIVATE, true);
	r = run_text_opts(text, true, true);
	gs_test_plant_bug(GS_BUG_NO_MERGE_TO_PRIVATE, false);
	ck_assert_msg(strstr(r.err, "t.gms:7 convert g: index 0x200: folio order simulator=0 "
				    "oracle=9"),
		      "%s", r.err);
	free(r.err);
	/* A file of an oracle made after one with files was freed: as new. */
	o = gs_oracle_new();
	id = new_file(o, 8 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	ck_assert_int_eq(falloc(o, id, KEEP, 0, 8 << 20), 0);
	ck_assert_int_eq(convert(o, id, 2 << 20, 4 * P, false).err, 0);
	ck_assert_uint_gt(gs_oracle_nr_runs(o, id), 1);
	gs_oracle_free(o);
	o = gs_oracle_new();
	id = new_file(o, 4 << 20, HUGETLB | MMAP, 9, GS_CONVERSION_PLANNED);
	ck_assert_int_eq(id, 0);
	ck_assert_uint_eq(gs_oracle_nr_runs(o, id), 1);
	ck_assert_uint_eq(gs_oracle_alloc_bytes(o, id), 0);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, id), 0);
	ck_assert(gs_oracle_followed(o, id));
	ck_assert_int_eq(falloc(o, id, KEEP, 0, 2 << 20), 0);
	ck_assert_uint_eq(gs_oracle_alloc_bytes(o, id), 2 << 20);
	ck_assert_uint_eq(gs_oracle_used_hpages(o, id), 1);
	gs_oracle_free(o);
}
END_TEST

/*
 * A line's comparison judges the folio order of every index in its range,
 * also where the expected stretch starts before the range: a whole private
 * file is one stretch from index 0, and the to-private conversion of
 * [4 KiB, 2 MiB) that makes it so must merge the first page. With the merge
 * planted away, that line reports index 1 (before, a stretch that started
 * before the compared range was skipped and the first report came at the
 * end of the run).
 */
START_TEST(test_orders_judged_in_range)
{
	static const char text[] = "hugetlb pool size=2M nr=2\n"
				   "vm s type=sw_protected\n"
				   "gmem g vm=s size=4M flags=hugetlb|mmap page=2M\n"
				   "falloc g off=0 len=4M\n"
				   "convert g off=0 len=2M to=shared\n"
				   "convert g off=0 len=4K to=private\n"
				   "convert g off=4K len=2044K to=private\n"
				   "close g\n";
	struct run r = run_text_opts(text, true, true);

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	gs_test_plant_bug(GS_BUG_NO_MERGE_TO_PRIVATE, true);
	r = run_text_opts(text, true, true);
	gs_test_plant_bug(GS_BUG_NO_MERGE_TO_PRIVATE, false);
	ck_assert_int_ne(r.status, GS_EXIT_OK);
	ck_assert_msg(
		strstr(r.err, "t.gms:7 convert g: index 0x1: folio order simulator=0 oracle=9"),
		"%s", r.err);
	free(r.err);
}
END_TEST

/* `check oracle`: the registered checker compares every bound file. */
START_TEST(test_check_oracle)
{
	static const char text[] = "vm s type=sw_protected\n"
				   "gmem g vm=s size=16K flags=mmap|init_shared\n"
				   "check\n"
				   "close g\n";
	struct run r = run_text(text, true);

	ck_assert_msg(r.status == GS_EXIT_OK, "%s", r.err);
	free(r.err);
	/* no oracle, no files: the checker has nothing to say */
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("predict");
	TCase *sim = tcase_create("simulator");

	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_fallocate);
	tcase_add_test(tc, test_blocks_and_hugetlb);
	tcase_add_test(tc, test_counts_follow_model);
	tcase_add_test(tc, test_runs_split_on_any_field);
	tcase_add_test(tc, test_rollback_saved_at_first_change);
	tcase_add_test(tc, test_convert_checks);
	tcase_add_test(tc, test_convert_pinned);
	tcase_add_test(tc, test_convert_wip_partial);
	tcase_add_test(tc, test_contents);
	tcase_add_test(tc, test_guest);
	tcase_add_test(tc, test_level_bound_and_hpages);
	tcase_add_test(tc, test_sparse_1t);
	suite_add_tcase(s, tc);
	tcase_add_test(sim, test_scenarios_pass);
	tcase_add_test(sim, test_bug_skip_zero);
	tcase_add_test(sim, test_bug_stale_attribute);
	tcase_add_test(sim, test_bug_error_offset);
	tcase_add_test(sim, test_bug_map_order_unrounded);
	tcase_add_test(sim, test_bug_huge_leaf_after_split);
	tcase_add_test(sim, test_bug_no_merge_to_private);
	tcase_add_test(sim, test_bug_rfc_v2_rollback);
	tcase_add_test(sim, test_plant_verb);
	tcase_add_test(sim, test_populate_keeps_others);
	tcase_add_test(sim, test_gsplit_followed);
	tcase_add_test(sim, test_check_oracle);
	tcase_add_test(sim, test_file_names);
	tcase_add_test(sim, test_adapter_reused);
	tcase_add_test(sim, test_orders_follow_model);
	tcase_add_test(sim, test_orders_judged_in_range);
	tcase_add_test(sim, test_check_compares_once);
	tcase_add_test(sim, test_close_after_whole_compare);
	tcase_add_test(sim, test_mismatch_inside_extent);
	tcase_add_test(sim, test_mismatch_many_runs);
	tcase_add_test(sim, test_query_leaf_pieces);
	tcase_add_test(sim, test_query_foreign_piece);
	tcase_add_test(sim, test_query_group_slot);
	tcase_add_test(sim, test_check_poisoned_pieces);
	tcase_add_test(sim, test_check_dirty_window);
	tcase_add_test(sim, test_check_flag_each_piece);
	tcase_add_test(sim, test_query_every_piece);
	tcase_add_test(sim, test_check_piece_fields);
	tcase_add_test(sim, test_pool_tampered);
	tcase_add_test(sim, test_pool_first_hugetlb_file);
	tcase_add_test(sim, test_check_private_mapped);
	tcase_add_test(sim, test_random_sequences);
	tcase_add_test(sim, test_random_finds_planted);
	tcase_add_test(sim, test_reads_agree);
	suite_add_tcase(s, sim);
	return s;
}
