// SPDX-License-Identifier: MIT
/*
 * In-place conversion of HugeTLB-backed guest_memfd files (spec P29,
 * P31-P41) and the conversion orderings (issue 11 §4: planned, v8, wip,
 * rfc-v2), over 2 MiB and 1 GiB files, through the gs_* uAPI as
 * tests/test-convert.c does for 4 KiB files. rfc-v2 (P20, P25) is held to
 * its own checks, its rollback (on HugeTLB files across huge pages: what
 * each applied item split or merged is reversed), and the reviewed rollback
 * loop's bug at the first work item, which gmemsim reports as a WARN.
 *
 * What each case holds to: a huge page is one folio of the page order
 * exactly when all of it is private (P25, P34); to shared splits it to order
 * 0 (entries, references, HVO restored) after its stage-2 leaves are split
 * (P40); to private merges it back when all of it is private (HVO
 * re-optimized, pool and subpool counters whole); get_pfn's max_order is the
 * folio order (P29); the checkers (the `kvm` one: mapping no larger than the
 * folio, one attribute per leaf) pass after every step; under injected
 * ENOMEM at every allocation of the path the planned and rfc-v2 orderings
 * change nothing (rfc-v2: stage-2 leaves aside, and the index-0 WARN) and
 * the wip ordering keeps the batches it finished (P35, P37).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/physmem.h>
#include <gmemsim/sites.h>
#include <gmemsim/state.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include "harness.h"

#define P	((uint64_t)PAGE_SIZE)
#define GPA	(4ULL << 30)
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define PRIVATE GS_KVM_MEMORY_ATTRIBUTE_PRIVATE

static struct gs_hugetlb_host host_mem = {.backing = GS_BACKING_ANON};

static void setup(void)
{
	gs_test_hugetlb_setup(&host_mem);
	gs_gmem_convert_stats(true);
}

static void teardown(void)
{
	gs_uapi_reset();
	gs_test_hugetlb_teardown();
}

/* Nothing open, the pool whole and empty, no checker complaint, no WARN. */
static void assert_clean(void)
{
	struct hstate *h;

	gs_uapi_reset();
	lru_add_drain_all();
	hugetlb_restructuring_run_deferred();
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	for_each_hstate (h) {
		ck_assert_uint_eq(h->resv_huge_pages, 0);
		ck_assert_uint_eq(h->free_huge_pages, h->nr_huge_pages);
	}
	gs_test_empty_pools();
	gs_test_assert_no_leaks();
}

/* Every checker (gmem, kvm's "mapping <= folio, one attribute per leaf", hugetlb, hvo). */
static void assert_checks(void)
{
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
}

/* The file's rule (P25, P34): a folio of the page order only over an all-private huge page. */
static void assert_whole_only_private(int fd)
{
	struct gmem_inode *inode = gs_uapi_gmem_file(fd)->inode;
	struct folio *folio;
	unsigned long index;

	xa_for_each (&inode->filemap, index, folio)
		if (folio_order(folio) == inode->page_order)
			gs_assert(kvm_gmem_range_shareability(inode, index,
							      index + folio_nr_pages(folio)) ==
					  SHAREABILITY_GUEST,
				  "index %lx: a whole huge folio over shared pages", index);
}

/* A HugeTLB file of @nr huge pages of @order, all allocated; the pool holds exactly those. */
static int create_huge(int vm, unsigned int order, unsigned long nr)
{
	struct gs_kvm_create_guest_memfd args = {
		.size = nr * (P << order), .flags = HUGETLB | MMAP, .page_order = order};
	int fd;

	ck_assert_int_eq(set_max_huge_pages(size_to_hstate(P << order), nr), 0);
	fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (int64_t)args.size), 0);
	return fd;
}

static int set_attrs(int fd, uint64_t off, uint64_t size, uint64_t attrs, uint64_t *error_offset)
{
	struct gs_kvm_memory_attributes2 a = {.offset = off, .size = size, .attributes = attrs};
	int r = gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a);

	if (error_offset)
		*error_offset = a.error_offset;
	return r;
}

static struct gmem_inode *inode_of(int fd)
{
	return gs_uapi_gmem_file(fd)->inode;
}

static struct folio *folio_at(int fd, uint64_t off)
{
	return xa_load(&inode_of(fd)->filemap, off >> PAGE_SHIFT);
}

/* A private guest fault at @off: the leaf level it mapped. */
static int guest_fault(int vm, uint64_t off, bool private)
{
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT, .private = private};

	ck_assert_int_eq(kvm_tdp_page_fault(gs_uapi_kvm(vm), &fault), 0);
	return fault.level;
}

/* kvm_gmem_get_pfn()'s max_order for the page at @off. */
static int max_order_at(int vm, uint64_t off)
{
	struct kvm *kvm = gs_uapi_kvm(vm);
	gfn_t gfn = (GPA + off) >> PAGE_SHIFT;
	unsigned long pfn;
	int order;

	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, gfn), gfn, &pfn, &order), 0);
	return order;
}

/* Huge page [off, off + 4 KiB << order) is split: every page its own order-0 entry. */
static void assert_split(int fd, uint64_t off, unsigned int order)
{
	struct gmem_inode *inode = inode_of(fd);
	unsigned long pfn = folio_pfn(folio_at(fd, off));

	for (pgoff_t i = 0; i < (1UL << order); i++) {
		pgoff_t index = (off >> PAGE_SHIFT) + i;
		struct folio *f = xa_load(&inode->filemap, index);

		gs_assert(f && folio_order(f) == 0, "index %lx", index);
		gs_assert(xa_get_order(&inode->filemap, index) == 0, "index %lx", index);
		gs_assert(folio_pfn(f) == pfn + i, "index %lx", index);
		gs_assert(folio_ref_count(f) == 1, "index %lx: ref %d", index, folio_ref_count(f));
		gs_assert(folio_test_needs_merge(f), "index %lx", index);
	}
}

/* Huge page at @off is one folio of @order, held by the page cache alone, HVO-optimized. */
static void assert_whole(int fd, uint64_t off, unsigned int order)
{
	struct folio *f = folio_at(fd, off);

	ck_assert_uint_eq(folio_order(f), order);
	ck_assert_uint_eq(f->index, off >> PAGE_SHIFT);
	ck_assert_int_eq(xa_get_order(&inode_of(fd)->filemap, off >> PAGE_SHIFT), (int)order);
	ck_assert_int_eq(folio_ref_count(f), 1 << order);
	ck_assert(folio_test_hugetlb_vmemmap_optimized(f));
}

static unsigned long hvo_freed(void)
{
	struct gs_hvo_stats s;

	gs_hvo_stats(&s);
	return s.freed_pages;
}

/* The file's and the VM's state plus every registered layer's (pool, HVO, cgroups). */
static char *snapshot(int vm, int fd)
{
	struct gs_state *st = gs_state_new();
	char *text;

	kvm_gmem_dump_state(st, "g", inode_of(fd));
	kvm_dump_state(st, "vm", gs_uapi_kvm(vm));
	gs_state_collect(st);
	text = gs_state_text(st);
	gs_state_free(st);
	return text;
}

/* @text without the stage-2 leaves (their granularity), in place. */
static inline char *without_leaves(char *text)
{
	char *out = text, *line = text;

	while (*line) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);

		if (!memmem(line, len, "/stage2/", 8) && !memmem(line, len, "leaves.", 7)) {
			memmove(out, line, len);
			out += len;
		}
		line += len;
	}
	*out = '\0';
	return text;
}

/*
 * @text without what a zap changes: the stage-2 leaves and the XArray
 * nodes that held them (the nodes of every XArray are one site's count).
 */
static char *without_zapped(char *text)
{
	char *out = text, *line = without_leaves(text);

	while (*line) {
		size_t len = strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');

		if (strncmp(line, "sites/xarray.node ", 18)) {
			memmove(out, line, len);
			out += len;
		}
		line += len;
	}
	*out = '\0';
	return text;
}

static const unsigned int orders[] = {9, 18};

/* --- P34: a fresh folio --- */

START_TEST(test_fresh_folio_split)
{
	unsigned int order = orders[_i];
	uint64_t hp = P << order;
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	struct gs_kvm_create_guest_memfd args = {
		.size = 2 * hp, .flags = HUGETLB | MMAP, .page_order = order};
	int fd;

	ck_assert_int_eq(set_max_huge_pages(size_to_hstate(hp), 2), 0);
	fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(fd, 0);
	gs_test_bind_gmem(vm, fd, GPA, 2 * hp);
	/* Before allocation: the attribute is recorded, nothing split. */
	ck_assert_int_eq(set_attrs(fd, 3 * P, P, 0, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 0);
	/* A private fault allocates: the first huge page is not all private, so order 0. */
	ck_assert_int_eq(guest_fault(vm, 0, true), PG_LEVEL_4K);
	assert_split(fd, 0, order);
	ck_assert_int_eq(max_order_at(vm, 5 * P), 0);
	/* The second one is: one folio, mapped at its order. */
	ck_assert_int_gt(guest_fault(vm, hp, true), PG_LEVEL_4K);
	assert_whole(fd, hp, order);
	ck_assert_int_eq(max_order_at(vm, hp + 7 * P), (int)order);
	assert_checks();
	assert_whole_only_private(fd);
	assert_clean();
}
END_TEST

/* --- split on share, merge when all private --- */

START_TEST(test_split_on_share_merge_on_private)
{
	unsigned int order = orders[_i];
	uint64_t hp = P << order;
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = create_huge(vm, order, 2);
	struct hstate *h = size_to_hstate(hp);
	unsigned long freed = hvo_freed(), nr_leaves;
	struct kvm *kvm = gs_uapi_kvm(vm);

	gs_test_bind_gmem(vm, fd, GPA, 2 * hp);
	ck_assert_int_gt(freed, 0);
	/* A huge private leaf over the first huge page. */
	ck_assert_int_eq(guest_fault(vm, 0, true), order == 9 ? PG_LEVEL_2M : PG_LEVEL_1G);
	ck_assert_int_eq(max_order_at(vm, 0), (int)order);
	assert_checks();
	assert_whole_only_private(fd);

	/* To shared in the middle: the leaf is split first, then the folio (P40). */
	ck_assert_int_eq(set_attrs(fd, 4 * P, P, 0, NULL), 0);
	assert_checks();
	assert_whole_only_private(fd);
	assert_split(fd, 0, order);
	assert_whole(fd, hp, order);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_2M] + kvm->nr_leaves[PG_LEVEL_1G], 0);
	/* Every 4 KiB leaf but the converted page's stays, mapping what it mapped. */
	nr_leaves = (1UL << order) - 1;
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_4K], nr_leaves);
	ck_assert_int_eq(max_order_at(vm, 0), 0);
	ck_assert_uint_lt(hvo_freed(), freed);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 1);
	/* The pool does not see a split: one page in use, none free. */
	ck_assert_uint_eq(h->free_huge_pages, 0);
	ck_assert_uint_eq(inode_of(fd)->spool->used_hpages, 2);

	/* A guest shared access works, and a second shared page splits nothing more. */
	ck_assert_int_eq(guest_fault(vm, 4 * P, false), PG_LEVEL_4K);
	ck_assert_int_eq(set_attrs(fd, 9 * P, P, 0, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 1);
	assert_checks();
	assert_whole_only_private(fd);

	/* Back to private one page at a time: the merge waits until all of it is private. */
	ck_assert_int_eq(set_attrs(fd, 4 * P, P, PRIVATE, NULL), 0);
	assert_checks();
	assert_whole_only_private(fd);
	assert_split(fd, 0, order);
	ck_assert_int_eq(set_attrs(fd, 9 * P, P, PRIVATE, NULL), 0);
	assert_checks();
	assert_whole_only_private(fd);
	assert_whole(fd, 0, order);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).merges, 1);
	ck_assert_uint_eq(hvo_freed(), freed);
	ck_assert_int_eq(max_order_at(vm, 0), (int)order);
	ck_assert_uint_eq(h->free_huge_pages, 0);
	ck_assert_uint_eq(inode_of(fd)->spool->used_hpages, 2);

	/* Both huge pages at once: two splits, two merges. */
	ck_assert_int_eq(set_attrs(fd, hp - P, 2 * P, 0, NULL), 0);
	assert_split(fd, 0, order);
	assert_split(fd, hp, order);
	assert_checks();
	assert_whole_only_private(fd);
	ck_assert_int_eq(set_attrs(fd, 0, 2 * hp, PRIVATE, NULL), 0);
	assert_whole(fd, 0, order);
	assert_whole(fd, hp, order);
	ck_assert_uint_eq(hvo_freed(), freed);
	assert_checks();
	assert_whole_only_private(fd);
	assert_clean();
}
END_TEST

/* P9/P10: a split and a merge touch no data; pieces never used read 0 after the merge. */
START_TEST(test_contents_survive)
{
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = create_huge(vm, 9, 1);
	struct kvm *kvm = gs_uapi_kvm(vm);
	unsigned long pfn;
	unsigned char *data;
	int order;

	gs_test_bind_gmem(vm, fd, GPA, 2 << 20);
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, GPA >> PAGE_SHIFT),
					       GPA >> PAGE_SHIFT, &pfn, &order),
			 0);
	data = gs_pfn_to_virt(pfn);
	ck_assert_ptr_nonnull(data);
	memset(data, 'A', 2 << 20);
	ck_assert_int_eq(set_attrs(fd, 0, 2 << 20, 0, NULL), 0);
	for (uint64_t off = 0; off < (2 << 20); off += 64 * P)
		ck_assert_int_eq(data[off], 'A');
	ck_assert_int_eq(set_attrs(fd, 0, 2 << 20, PRIVATE, NULL), 0);
	assert_whole(fd, 0, 9);
	ck_assert(folio_test_uptodate(folio_at(fd, 0)));
	ck_assert_int_eq(data[(2 << 20) - 1], 'A');
	assert_clean();
}
END_TEST

/* A 2 MiB HugeTLB file of one page, bound at GPA: the merge tests' file. */
static int merge_test_file(int vm)
{
	struct gs_kvm_create_guest_memfd args = {
		.size = 2 << 20, .flags = HUGETLB | MMAP, .page_order = 9};
	int fd;

	ck_assert_int_eq(set_max_huge_pages(size_to_hstate(2 << 20), 1), 0);
	fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(fd, 0);
	gs_test_bind_gmem(vm, fd, GPA, 2 << 20);
	return fd;
}

/* The data of page @i of the merge tests' file, which must be a 4 KiB piece. */
static unsigned char *piece_data(int vm, unsigned long i)
{
	unsigned long pfn;
	int order;

	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(gs_uapi_kvm(vm), (GPA >> 12) + i),
					       (GPA >> 12) + i, &pfn, &order),
			 0);
	ck_assert_int_eq(order, 0);
	return gs_pfn_to_virt(pfn);
}

/* The data of the merge tests' file's page, which must be one 2 MiB folio (its first use). */
static unsigned char *piece_data_huge(int vm)
{
	unsigned long pfn;
	int order;

	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(gs_uapi_kvm(vm), GPA >> 12), GPA >> 12,
					       &pfn, &order),
			 0);
	ck_assert_int_eq(order, 9);
	return gs_pfn_to_virt(pfn);
}

/* A split page whose pieces were never used: the merge zeroes them, and keeps the used one. */
START_TEST(test_merge_zeroes_unused_pieces)
{
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = merge_test_file(vm);
	unsigned char *data;

	ck_assert_int_eq(set_attrs(fd, 0, P, 0, NULL), 0);
	/* The private page 1 is used (zeroed, then written); the others are not. */
	data = piece_data(vm, 1);
	memset(data, 'B', P);
	memset(data + P, 'C', P); /* garbage in an unused piece */
	ck_assert_int_eq(set_attrs(fd, 0, P, PRIVATE, NULL), 0);
	assert_whole(fd, 0, 9);
	ck_assert(folio_test_uptodate(folio_at(fd, 0)));
	ck_assert_int_eq(data[0], 'B');
	ck_assert_int_eq(data[P], 0);
	assert_clean();
}
END_TEST

/*
 * The same with the one used piece anywhere in the page: the first of an
 * XArray leaf, the last of one, inside one (the merge reads a leaf's run of
 * pieces from its slots), the page's last. Every other piece, garbage
 * included, is zero after the merge.
 */
static const unsigned long used_pieces[] = {0, 63, 64, 100, 127, 300, 511};

START_TEST(test_merge_zeroes_unused_pieces_anywhere)
{
	unsigned long used = used_pieces[_i], other = (used + 37) % 512;
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = merge_test_file(vm);
	unsigned char *data;

	/* A shared page other than the used one splits the page. */
	ck_assert_int_eq(set_attrs(fd, other * P, P, 0, NULL), 0);
	data = piece_data(vm, used) - used * P;
	memset(data + used * P, 'B', P);
	for (unsigned long i = 0; i < 512; i++)
		if (i != used)
			data[i * P + 5] = 'C'; /* garbage in the unused pieces */
	ck_assert_int_eq(set_attrs(fd, other * P, P, PRIVATE, NULL), 0);
	assert_whole(fd, 0, 9);
	ck_assert(folio_test_uptodate(folio_at(fd, 0)));
	ck_assert_int_eq(data[used * P + 5], 'B');
	for (unsigned long i = 0; i < 512; i++)
		if (i != used)
			ck_assert_int_eq(data[i * P + 5], 0);
	assert_clean();
}
END_TEST

/*
 * The merge's other two cases: no piece used (nothing is zeroed, the
 * merged folio is not uptodate, its first use zeroes it), every piece used
 * (nothing is zeroed, all data stays). The merge learns which case it is
 * from the pieces' flags its walk over them reads.
 */
START_TEST(test_merge_zeroes_none_or_all)
{
	bool all = _i;
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = merge_test_file(vm);
	struct folio *folio;
	unsigned char *data;

	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, 2 << 20), 0);
	folio = folio_at(fd, 0);
	ck_assert(!folio_test_uptodate(folio));
	data = gs_pfn_to_virt(folio_pfn(folio));
	ck_assert_ptr_nonnull(data);
	/* A shared page splits the page; then every piece is used, or none. */
	ck_assert_int_eq(set_attrs(fd, 7 * P, P, 0, NULL), 0);
	for (unsigned long i = 0; i < 512; i++) {
		if (all)
			ck_assert_ptr_eq(piece_data(vm, i), data + i * P);
		data[i * P + 5] = (unsigned char)('a' + i % 26);
	}
	for (unsigned long i = 0; i < 512; i++)
		ck_assert_int_eq(folio_test_uptodate(folio_at(fd, i * P)), all);
	ck_assert_int_eq(set_attrs(fd, 7 * P, P, PRIVATE, NULL), 0);
	assert_whole(fd, 0, 9);
	ck_assert_int_eq(folio_test_uptodate(folio_at(fd, 0)), all);
	for (unsigned long i = 0; i < 512; i++)
		ck_assert_int_eq(data[i * P + 5], 'a' + i % 26);
	if (!all) {
		/* The first use of the merged folio zeroes all of it (P10). */
		ck_assert_ptr_eq(piece_data_huge(vm), data);
		for (unsigned long i = 0; i < 512; i++)
			ck_assert_int_eq(data[i * P + 5], 0);
	}
	assert_clean();
}
END_TEST

/*
 * To shared, the arch learns every allocated pfn of the range once, folio
 * by folio, whatever the folios are: pieces of a split page across leaves,
 * a whole page split on the way, ranges starting and ending inside a leaf.
 */
START_TEST(test_arch_invalidate_counts_pieces)
{
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = create_huge(vm, 9, 2);
	unsigned long before = gs_gmem_convert_stats(false).arch_invalidate_pfns;

	ck_assert_int_eq(set_attrs(fd, 5 * P, 2 * P, 0, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).arch_invalidate_pfns, before + 2);
	ck_assert_int_eq(set_attrs(fd, 3 * P, 600 * P, 0, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).arch_invalidate_pfns, before + 602);
	ck_assert_int_eq(set_attrs(fd, 0, 2 * P, PRIVATE, NULL), 0);
	ck_assert_int_eq(set_attrs(fd, 0, 4 << 20, 0, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).arch_invalidate_pfns, before + 602 + 1024);
	assert_checks();
}
END_TEST

/* --- EAGAIN: an unexpected reference on a huge page --- */

/*
 * To private over a split page with one referenced piece, in each ordering
 * that checks references: EAGAIN at that piece, wherever it sits in an
 * XArray leaf (the check reads a leaf's run of pieces from its slots, four
 * at a time: each position of a group, the single ones after the last) and
 * nothing changes; without the reference the conversion merges the page.
 */
static const unsigned long referenced_pieces[] = {0,  1,   2,	3,   4,	  5,   60,  61,	 62, 63,
						  64, 129, 130, 131, 132, 508, 509, 510, 511};
static const enum gs_gmem_conversion referencing_orderings[] = {
	GS_CONVERSION_PLANNED, GS_CONVERSION_WIP, GS_CONVERSION_RFC_V2};

START_TEST(test_eagain_referenced_piece_anywhere)
{
	unsigned long k = referenced_pieces[_i % ARRAY_SIZE(referenced_pieces)];
	int vm = gs_test_create_vm(referencing_orderings[_i / ARRAY_SIZE(referenced_pieces)]);
	int fd = create_huge(vm, 9, 1);
	uint64_t eo = 0;
	struct folio *piece;

	ck_assert_int_eq(set_attrs(fd, 0, 2 << 20, 0, NULL), 0);
	piece = folio_at(fd, k * P);
	ck_assert_int_eq(folio_order(piece), 0);
	folio_get(piece);
	assert_fails(set_attrs(fd, 0, 2 << 20, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, k * P);
	ck_assert_int_eq(folio_order(folio_at(fd, 0)), 0);
	folio_put(piece);
	ck_assert_int_eq(set_attrs(fd, 0, 2 << 20, PRIVATE, NULL), 0);
	assert_whole(fd, 0, 9);
	assert_checks();
}
END_TEST

START_TEST(test_eagain_extra_ref)
{
	unsigned int order = orders[_i];
	uint64_t hp = P << order, eo = 0;
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = create_huge(vm, order, 2);
	struct folio *f = folio_at(fd, hp);
	char *before, *after;
	unsigned long drains;

	gs_test_bind_gmem(vm, fd, GPA, 2 * hp);
	ck_assert_int_eq(guest_fault(vm, 0, true), order == 9 ? PG_LEVEL_2M : PG_LEVEL_1G);
	folio_get(f);
	before = snapshot(vm, fd);
	/* To shared over both pages: the second one cannot split; nothing happens. */
	assert_fails(set_attrs(fd, hp - P, 2 * P, 0, &eo), EAGAIN);
	ck_assert_uint_eq(eo, hp);
	after = snapshot(vm, fd);
	ck_assert_str_eq(before, after);
	free(after);
	/* A reference in the LRU batch goes with the drain: the retry succeeds. */
	folio_put(f);
	gs_lru_add_folio(f);
	drains = gs_gmem_convert_stats(false).lru_drains;
	ck_assert_int_eq(set_attrs(fd, hp - P, 2 * P, 0, &eo), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).lru_drains, drains + 1);
	assert_checks();
	/* To private: a referenced piece outside the range keeps the page from merging: EAGAIN. */
	f = folio_at(fd, hp + P);
	folio_get(f);
	assert_fails(set_attrs(fd, hp - P, 2 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, hp);
	folio_put(f);
	ck_assert_int_eq(set_attrs(fd, hp - P, 2 * P, PRIVATE, &eo), 0);
	assert_whole(fd, 0, order);
	assert_whole(fd, hp, order);
	free(before);
	assert_clean();
}
END_TEST

/* wip: the kernel's freeze meets the reference after the zap: a WARN, EAGAIN, the zap stays. */
START_TEST(test_wip_eagain_warns)
{
	int vm = gs_test_create_vm(GS_CONVERSION_WIP);
	int fd = create_huge(vm, 9, 2);
	struct folio *f = folio_at(fd, 2 << 20);
	uint64_t eo = 0;

	gs_test_bind_gmem(vm, fd, GPA, 4 << 20);
	ck_assert_int_eq(guest_fault(vm, 0, true), PG_LEVEL_2M);
	ck_assert_int_eq(guest_fault(vm, 2 << 20, true), PG_LEVEL_2M);
	folio_get(f);
	assert_fails(set_attrs(fd, (2 << 20) - P, 2 * P, 0, &eo), EAGAIN);
	/* The first batch is done; the second failed after its zap, at its start. */
	ck_assert_uint_eq(eo, 2 << 20);
	ck_assert_uint_eq(gs_warn_count(), 1);
	gs_warn_reset_count();
	ck_assert_uint_eq(gs_gmem_convert_stats(false).partial, 1);
	ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(fd), 511, 512), SHAREABILITY_ALL);
	ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(fd), 512, 513), SHAREABILITY_GUEST);
	assert_split(fd, 0, 9);
	ck_assert_uint_eq(folio_order(f), 9);
	ck_assert_uint_eq(gs_uapi_kvm(vm)->nr_leaves[PG_LEVEL_2M], 0);
	folio_put(f);
	assert_checks();
	assert_clean();
}
END_TEST

/* §4.7: wip's EAGAIN names folio->index, below the offset for a huge folio; planned's max(). */
START_TEST(test_eagain_error_offset_by_profile)
{
	for (int wip = 0; wip < 2; wip++) {
		int vm = gs_test_create_vm(wip ? GS_CONVERSION_WIP : GS_CONVERSION_PLANNED);
		int fd = create_huge(vm, 9, 2);
		struct folio *f = folio_at(fd, 0);
		uint64_t eo = 0;

		ck_assert_int_eq(set_attrs(fd, 2 << 20, P, 0, NULL), 0);
		folio_get(f);
		assert_fails(set_attrs(fd, P, 2 << 20, PRIVATE, &eo), EAGAIN);
		ck_assert_uint_eq(eo, wip ? 0 : P);
		folio_put(f);
		gs_uapi_reset();
		hugetlb_restructuring_run_deferred();
		gs_test_empty_pools();
	}
	assert_clean();
}
END_TEST

/* --- the profiles' answers --- */

START_TEST(test_profiles_unsupported)
{
	int v8 = gs_test_create_vm(GS_CONVERSION_V8), rfc = gs_test_create_vm(GS_CONVERSION_RFC_V2);
	struct gs_kvm_create_guest_memfd small = {.size = 4 * P, .flags = MMAP};
	int fd = create_huge(v8, 9, 2), fd4, rfd;
	uint64_t eo = 0;

	/* v8 has no HugeTLB: a change is EOPNOTSUPP, a no-op still 0. */
	assert_fails(set_attrs(fd, 0, P, 0, &eo), EOPNOTSUPP);
	ck_assert_int_eq(set_attrs(fd, 0, P, PRIVATE, NULL), 0);
	fd4 = gs_ioctl(v8, GS_KVM_CREATE_GUEST_MEMFD, &small);
	ck_assert_int_ge(fd4, 0);
	ck_assert_int_eq(set_attrs(fd4, 0, P, 0, NULL), 0);
	/* wip on a 4 KiB file: one batch, as v8. */
	{
		int wipvm = gs_test_create_vm(GS_CONVERSION_WIP);
		int wfd = gs_ioctl(wipvm, GS_KVM_CREATE_GUEST_MEMFD, &small);

		ck_assert_int_ge(wfd, 0);
		gs_gmem_convert_stats(true);
		ck_assert_int_eq(set_attrs(wfd, 0, 4 * P, 0, NULL), 0);
		ck_assert_uint_eq(gs_gmem_convert_stats(false).batches, 1);
	}
	/* rfc-v2 on a 4 KiB file converts (test_rfc_checks has the rest). */
	rfd = gs_ioctl(rfc, GS_KVM_CREATE_GUEST_MEMFD, &small);
	ck_assert_int_ge(rfd, 0);
	eo = 77;
	ck_assert_int_eq(set_attrs(rfd, 0, P, 0, &eo), 0);
	ck_assert_uint_eq(eo, 0);
	/* rfc-v2 on a HugeTLB file splits on share and merges back (P25; no EOPNOTSUPP). */
	ck_assert_int_eq(gs_close(fd), 0);
	rfd = create_huge(rfc, 9, 1);
	gs_gmem_convert_stats(true);
	ck_assert_int_eq(set_attrs(rfd, 0, P, 0, &eo), 0);
	assert_split(rfd, 0, 9);
	ck_assert_int_eq(set_attrs(rfd, 0, P, PRIVATE, &eo), 0);
	assert_whole(rfd, 0, 9);
	ck_assert_uint_eq(eo, 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).merges, 1);
	assert_clean();
}
END_TEST

/* --- rfc-v2 (P20): the work list, its rollback, and the rollback loop's bug --- */

/* A 4 KiB file of @pages pages, mmap-able, all shared. */
static int create_small(int vm, unsigned long pages)
{
	struct gs_kvm_create_guest_memfd args = {.size = pages * P,
						 .flags = MMAP | GS_GUEST_MEMFD_FLAG_INIT_SHARED};
	int fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/*
 * Each range of ranges_2m[] converted to shared from all private counts
 * the allocated pfns in it (those of the first 512 pages not in @holes).
 */
static void assert_arch_pfns_per_range(int fd, const unsigned long *holes, size_t nholes)
{
	static const unsigned long ranges_2m[][2] = {
		{0, 512},   {3, 65},  {63, 64},	  {64, 65},   {65, 100},  {99, 129},  {100, 104},
		{127, 129}, {1, 128}, {200, 301}, {129, 192}, {128, 256}, {500, 512}, {447, 449}};

	for (size_t r = 0; r < sizeof(ranges_2m) / sizeof(ranges_2m[0]); r++) {
		unsigned long start = ranges_2m[r][0], end = ranges_2m[r][1], want = end - start;
		unsigned long before, got;

		for (size_t i = 0; i < nholes; i++)
			want -= holes[i] >= start && holes[i] < end;
		ck_assert_int_eq(set_attrs(fd, 0, 512 * P, PRIVATE, NULL), 0);
		before = gs_gmem_convert_stats(false).arch_invalidate_pfns;
		ck_assert_int_eq(set_attrs(fd, start * P, (end - start) * P, 0, NULL), 0);
		got = gs_gmem_convert_stats(false).arch_invalidate_pfns - before;
		ck_assert_msg(got == want, "[%lu, %lu): %lu pfns, want %lu", start, end, got, want);
	}
}

/*
 * With no arch hook, the pfns of a leaf's run of 4 KiB folios are counted
 * from the run's slots: runs ended by holes (a 4 KiB file with pages never
 * allocated or punched) or by the range, ranges starting and ending inside
 * runs, at leaf edges and on holes; and a split 2 MiB page's pieces.
 */
START_TEST(test_arch_invalidate_counts_around_holes)
{
	static const unsigned long holes[] = {64, 100, 101, 102, 103, 127, 128, 300, 448, 511};
	int vm = gs_test_create_vm(GS_CONVERSION_PLANNED);
	int fd = create_small(vm, 512), hfd;

	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (int64_t)(512 * P)), 0);
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
		ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE,
					      (int64_t)(holes[i] * P), (int64_t)P),
				 0);
	assert_arch_pfns_per_range(fd, holes, sizeof(holes) / sizeof(holes[0]));
	hfd = create_huge(vm, 9, 1);
	ck_assert_int_eq(set_attrs(hfd, 5 * P, 2 * P, 0, NULL), 0);
	assert_split(hfd, 0, 9);
	assert_arch_pfns_per_range(hfd, NULL, 0);
	assert_checks();
}
END_TEST

/*
 * The reference check (to private) over a 4 KiB file's pages with holes
 * and a page held only by the LRU batch, in the middle of the check's
 * groups of four: the walk goes on after each hole to the next page, a
 * referenced page after a hole answers, and the batch's reference goes
 * with one drain, after which the conversion completes.
 */
START_TEST(test_refs_check_around_holes_and_drain)
{
	static const unsigned long holes[] = {6, 7, 70, 200};
	int vm = gs_test_create_vm(referencing_orderings[_i]);
	int fd = create_small(vm, 512);
	unsigned long drains;
	uint64_t eo = 0;
	struct folio *page;

	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (int64_t)(512 * P)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(holes); i++)
		ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE,
					      (int64_t)(holes[i] * P), (int64_t)P),
				 0);
	page = folio_at(fd, 202 * P);
	folio_get(page);
	assert_fails(set_attrs(fd, 0, 512 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, 202 * P);
	folio_put(page);
	page = folio_at(fd, 9 * P);
	folio_get(page);
	assert_fails(set_attrs(fd, 0, 512 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, 9 * P);
	folio_put(page);
	page = folio_at(fd, 203 * P);
	gs_lru_add_folio(page);
	drains = gs_gmem_convert_stats(false).lru_drains;
	ck_assert_int_eq(set_attrs(fd, 0, 512 * P, PRIVATE, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).lru_drains, drains + 1);
	ck_assert_int_eq(folio_ref_count(page), 1);
	assert_checks();
}
END_TEST

/* set_attrs() with an incoming error_offset. */
static int set_attrs_eo(int fd, uint64_t off, uint64_t size, uint64_t attrs, uint64_t eo_in)
{
	struct gs_kvm_memory_attributes2 a = {
		.offset = off, .size = size, .attributes = attrs, .error_offset = eo_in};

	return gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a);
}

/* Where P20 differs from v8, and the work list converting only what differs. */
START_TEST(test_rfc_checks)
{
	int rfc = gs_test_create_vm(GS_CONVERSION_RFC_V2), v8 = gs_test_create_vm(GS_CONVERSION_V8);
	int fd = create_small(rfc, 16), fd8 = create_small(v8, 16);
	struct folio *folio;
	uint64_t eo = 0;

	/* On a HugeTLB file too: size 0 and a stale error_offset before anything else. */
	int hfd = create_huge(rfc, 9, 1);

	ck_assert_int_eq(set_attrs(hfd, 0, 0, 0, NULL), 0);
	assert_fails(set_attrs_eo(hfd, 0, P, 0, 5), EINVAL);
	assert_whole(hfd, 0, 9);
	ck_assert_int_eq(set_attrs(hfd, 0, P, PRIVATE, NULL), 0);
	/* size 0: a no-op success under rfc-v2, EINVAL under v8. */
	ck_assert_int_eq(set_attrs(fd, 0, 0, PRIVATE, NULL), 0);
	ck_assert_int_eq(set_attrs(fd, 64 * P, 0, PRIVATE, NULL), 0);
	assert_fails(set_attrs(fd8, 0, 0, PRIVATE, NULL), EINVAL);
	/* A stale error_offset: EINVAL under rfc-v2 (even for size 0); v8 ignores it. */
	assert_fails(set_attrs_eo(fd, 0, P, PRIVATE, 5), EINVAL);
	assert_fails(set_attrs_eo(fd, 0, 0, PRIVATE, 5), EINVAL);
	ck_assert_int_eq(set_attrs_eo(fd8, 0, P, PRIVATE, 5), 0);
	/* The checks rfc-v2 shares with v8. */
	assert_fails(set_attrs(fd, 16 * P, P, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(fd, 15 * P, 2 * P, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(fd, 1, P, PRIVATE, NULL), EINVAL);
	ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(fd), 0, 16), SHAREABILITY_ALL);
	/* Only the sub-ranges that differ are work: [2, 4) and [6, 8) of [0, 8). */
	ck_assert_int_eq(set_attrs(fd, 0, 2 * P, PRIVATE, NULL), 0);
	ck_assert_int_eq(set_attrs(fd, 4 * P, 2 * P, PRIVATE, NULL), 0);
	gs_gmem_convert_stats(true);
	ck_assert_int_eq(set_attrs(fd, 0, 8 * P, PRIVATE, NULL), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).pages, 4);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).invalidations, 2);
	ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(fd), 0, 8), SHAREABILITY_GUEST);
	/* To private with an extra reference: EAGAIN, error_offset = folio->index. */
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 8 * P, 4 * P), 0);
	folio = folio_at(fd, 10 * P);
	folio_get(folio);
	ck_assert_int_eq(set_attrs(fd, 8 * P, 4 * P, PRIVATE, &eo), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(eo, 10 * P);
	ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(fd), 8, 16), SHAREABILITY_ALL);
	folio_put(folio);
	ck_assert_int_eq(set_attrs(fd, 8 * P, 4 * P, PRIVATE, NULL), 0);
	assert_clean();
}
END_TEST

struct rfc_outcome {
	unsigned long first, later;
};

/* A 128-page file, pages 1, 3, ..., 63 private: ranges fill leaves, so stores allocate. */
static int rfc_fragmented(int vm)
{
	int fd = create_small(vm, 128);

	for (unsigned long i = 1; i < 64; i += 2)
		ck_assert_int_eq(set_attrs(fd, i * P, P, PRIVATE, NULL), 0);
	return fd;
}

/*
 * Fail the n-th maple reservation of one conversion of [off, off + size)
 * to @attrs, for n = 1, 2, ... until the conversion succeeds. Every
 * failure: ENOMEM, state snapshot unchanged; rfc-v2 failing at its first
 * work item reports the rollback loop's step below the start (one WARN,
 * rollback_oob); no other failure, and no other ordering, WARNs.
 */
static void rfc_fail_each(int vm, int fd, enum gs_gmem_conversion conv, uint64_t off, uint64_t size,
			  uint64_t attrs, struct rfc_outcome *out)
{
	for (unsigned long n = 1;; n++) {
		struct gs_inject_rule rule = {.site = GS_SITE_MAPLE_PREALLOC,
					      .mode = GS_INJECT_NTH,
					      .nth = n,
					      .times = 1};
		struct gs_gmem_convert_stats st0 = gs_gmem_convert_stats(false), st;
		char *before = snapshot(vm, fd), *after;
		unsigned long warns = gs_warn_count();
		uint64_t eo = 0;
		int r;

		gs_inject_reset();
		ck_assert_int_ge(gs_inject_arm(&rule), 0);
		r = set_attrs(fd, off, size, attrs, &eo);
		gs_inject_reset();
		st = gs_gmem_convert_stats(false);
		if (!r) {
			ck_assert_uint_eq(gs_warn_count(), warns);
			free(before);
			break;
		}
		ck_assert_int_eq(errno, ENOMEM);
		after = snapshot(vm, fd);
		ck_assert_str_eq(before, after);
		if (conv == GS_CONVERSION_RFC_V2 && eo == off) {
			out->first++;
			ck_assert_uint_eq(gs_warn_count(), warns + 1);
			ck_assert_uint_eq(st.rollback_oob, st0.rollback_oob + 1);
			ck_assert_uint_eq(st.rollbacks, st0.rollbacks);
			ck_assert_ptr_nonnull(strstr(gs_warn_last(), "below the first item"));
		} else {
			out->later++;
			ck_assert_uint_eq(gs_warn_count(), warns);
			ck_assert_uint_eq(st.rollback_oob, st0.rollback_oob);
			if (conv == GS_CONVERSION_RFC_V2)
				ck_assert_uint_gt(st.rollbacks, st0.rollbacks);
			else
				ck_assert_uint_eq(eo, off);
		}
		free(before);
		free(after);
	}
	ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(fd), off >> PAGE_SHIFT,
						     (off + size) >> PAGE_SHIFT),
			 attrs ? SHAREABILITY_GUEST : SHAREABILITY_ALL);
}

/* Single pages inside the shared [64, 128): one work item each, splitting a range. */
static struct rfc_outcome rfc_single_items(enum gs_gmem_conversion conv)
{
	int vm = gs_test_create_vm(conv), fd = rfc_fragmented(vm);
	struct rfc_outcome out = {0};

	for (unsigned long i = 65; i < 128; i += 2)
		rfc_fail_each(vm, fd, conv, i * P, P, PRIVATE, &out);
	gs_warn_reset_count();
	return out;
}

/*
 * Two items each: a shared page alone ([j], exact) and the head of the shared
 * range [j + 2, 128), which the second item splits (where the store allocates).
 */
static struct rfc_outcome rfc_many_items(enum gs_gmem_conversion conv)
{
	int vm = gs_test_create_vm(conv), fd = rfc_fragmented(vm);
	struct rfc_outcome out = {0};

	for (unsigned long j = 64; j + 4 <= 128; j += 4) {
		ck_assert_int_eq(set_attrs(fd, (j + 1) * P, P, PRIVATE, NULL), 0);
		rfc_fail_each(vm, fd, conv, j * P, 4 * P, PRIVATE, &out);
	}
	gs_warn_reset_count();
	return out;
}

/* (b) a failure at a later work item: the applied ones rolled back, nothing changed. */
START_TEST(test_rfc_rollback_later_item)
{
	struct rfc_outcome o = rfc_many_items(GS_CONVERSION_RFC_V2);

	ck_assert_uint_gt(o.later, 0);
	assert_clean();
}
END_TEST

/* (c) a failure at the first work item: the rollback loop steps below it; gmemsim WARNs. */
START_TEST(test_rfc_rollback_first_item)
{
	struct rfc_outcome o = rfc_single_items(GS_CONVERSION_RFC_V2);

	ck_assert_uint_gt(o.first, 0);
	ck_assert_uint_eq(o.later, 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).rollback_oob, o.first);
	assert_clean();
}
END_TEST

/* (d) the same sequences under planned, wip and v8: ENOMEM, nothing changed, no WARN. */
START_TEST(test_rfc_bug_absent_elsewhere)
{
	static const enum gs_gmem_conversion convs[] = {GS_CONVERSION_PLANNED, GS_CONVERSION_WIP,
							GS_CONVERSION_V8};
	enum gs_gmem_conversion conv = convs[_i];
	struct rfc_outcome a, b;

	gs_gmem_convert_stats(true);
	a = rfc_single_items(conv);
	b = rfc_many_items(conv);
	ck_assert_uint_eq(a.first + b.first, 0);
	ck_assert_uint_gt(a.later, 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).rollback_oob, 0);
	assert_clean();
}
END_TEST

/* --- rfc-v2 on HugeTLB files (P25): split and merge per work item, rollback across pages --- */

/* Two state snapshots are equal; on a difference, the first differing lines (short message). */
static void assert_same_state(const char *a, const char *b)
{
	size_t i = 0, line = 0;

	while (a[i] && a[i] == b[i])
		if (a[i++] == '\n')
			line = i;
	ck_assert_msg(a[i] == b[i], "state differs at:\n%.*s\n---\n%.*s",
		      (int)strcspn(a + line, "\n"), a + line, (int)strcspn(b + line, "\n"),
		      b + line);
}

/* The byte at file offset @off, through the pfn of its page. */
static unsigned char *byte_at(int fd, uint64_t off)
{
	struct folio *f = folio_at(fd, off);
	unsigned char *page = gs_pfn_to_virt(folio_pfn(f) + ((off >> PAGE_SHIFT) - f->index));

	ck_assert_ptr_nonnull(page);
	return page + off % P;
}

/* Offsets of both huge pages whose data the conversions must keep (P9). */
static void mark_data(int fd, uint64_t hp, bool check)
{
	const uint64_t offs[] = {0, 4 * P + 7, hp - 1, hp, hp + 4 * P, 2 * hp - 1};

	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		if (check)
			ck_assert_int_eq(*byte_at(fd, offs[i]), 'a' + (int)i);
		else
			*byte_at(fd, offs[i]) = (unsigned char)('a' + i);
	}
}

/* P25: to shared splits every huge page an item overlaps; to private merges when all private. */
START_TEST(test_rfc_huge_split_merge)
{
	unsigned int order = orders[_i];
	uint64_t hp = P << order, eo = 77;
	int vm = gs_test_create_vm(GS_CONVERSION_RFC_V2);
	/* (eo: set_attrs() reads back the field it sent as 0; on success it stays 0.) */
	int fd = create_huge(vm, order, 2);
	struct kvm *kvm = gs_uapi_kvm(vm);
	struct hstate *h = size_to_hstate(hp);
	unsigned long freed = hvo_freed();

	gs_test_bind_gmem(vm, fd, GPA, 2 * hp);
	ck_assert_int_eq(guest_fault(vm, 0, true), order == 9 ? PG_LEVEL_2M : PG_LEVEL_1G);
	ck_assert_int_eq(guest_fault(vm, hp, true), order == 9 ? PG_LEVEL_2M : PG_LEVEL_1G);
	/* After the first use (which zeroes, P10): data the guest wrote. */
	mark_data(fd, hp, false);
	gs_gmem_convert_stats(true);

	/* One page to shared: its huge page splits; the private leaves over it are unmapped. */
	ck_assert_int_eq(set_attrs(fd, 4 * P, P, 0, &eo), 0);
	ck_assert_uint_eq(eo, 0);
	assert_checks();
	assert_whole_only_private(fd);
	assert_split(fd, 0, order);
	assert_whole(fd, hp, order);
	ck_assert_int_eq(max_order_at(vm, 0), 0);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_2M] + kvm->nr_leaves[PG_LEVEL_1G], 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 1);
	ck_assert_uint_lt(hvo_freed(), freed);
	ck_assert_uint_eq(h->free_huge_pages, 0);
	ck_assert_uint_eq(inode_of(fd)->spool->used_hpages, 2);
	ck_assert_int_eq(guest_fault(vm, 4 * P, false), PG_LEVEL_4K);

	/* Across both pages: one item; the first is split already, the second splits now. */
	ck_assert_int_eq(set_attrs(fd, hp - P, 2 * P, 0, NULL), 0);
	assert_split(fd, hp, order);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 2);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_2M] + kvm->nr_leaves[PG_LEVEL_1G], 0);
	assert_checks();
	assert_whole_only_private(fd);
	mark_data(fd, hp, true);

	/* Back to private: two items in the first page; it merges after the second. */
	ck_assert_int_eq(set_attrs(fd, 0, 4 * P, PRIVATE, NULL), 0);
	assert_split(fd, 0, order);
	gs_gmem_convert_stats(true);
	ck_assert_int_eq(set_attrs(fd, 0, hp - 2 * P, PRIVATE, NULL), 0);
	assert_split(fd, 0, order);
	ck_assert_int_eq(set_attrs(fd, 0, hp, PRIVATE, NULL), 0);
	assert_whole(fd, 0, order);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).merges, 1);
	ck_assert_int_eq(max_order_at(vm, 0), (int)order);
	assert_checks();
	assert_whole_only_private(fd);
	/* Items [hp - 2, hp - 1) aside: the whole file to private merges the second page. */
	ck_assert_int_eq(set_attrs(fd, 0, 2 * hp, PRIVATE, NULL), 0);
	assert_whole(fd, hp, order);
	ck_assert_uint_eq(hvo_freed(), freed);
	mark_data(fd, hp, true);
	ck_assert_uint_eq(h->free_huge_pages, 0);
	assert_checks();
	assert_clean();
}
END_TEST

/*
 * EAGAIN under rfc-v2 on a HugeTLB file: a referenced piece in the range
 * (the refcount check: error_offset = folio->index, no WARN); a referenced
 * piece outside it, in a page that would merge (the merge's freeze: WARN,
 * error_offset = the item's start); a referenced whole folio on to shared
 * (the split's freeze: WARN; the page split before it is merged back). The
 * state after each equals the state before, stage-2 leaves aside.
 */
START_TEST(test_rfc_huge_eagain)
{
	unsigned int order = orders[_i];
	uint64_t hp = P << order, eo = 0;
	int vm = gs_test_create_vm(GS_CONVERSION_RFC_V2);
	int fd = create_huge(vm, order, 2);
	struct folio *f;
	char *before, *after;

	gs_test_bind_gmem(vm, fd, GPA, 2 * hp);
	ck_assert_int_eq(set_attrs(fd, 8 * P, 4 * P, 0, NULL), 0);
	ck_assert_int_eq(guest_fault(vm, hp, true), order == 9 ? PG_LEVEL_2M : PG_LEVEL_1G);

	/* In the range: the check finds it, nothing restructured, no WARN. */
	f = folio_at(fd, 10 * P);
	folio_get(f);
	before = snapshot(vm, fd);
	assert_fails(set_attrs(fd, 0, 16 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, 10 * P);
	after = snapshot(vm, fd);
	assert_same_state(without_leaves(before), without_leaves(after));
	free(after);
	ck_assert_uint_eq(gs_warn_count(), 0);
	folio_put(f);
	free(before);

	/* Outside the range: the merge of the now all-private page meets it. */
	f = folio_at(fd, 20 * P);
	folio_get(f);
	before = snapshot(vm, fd);
	assert_fails(set_attrs(fd, 8 * P, 4 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, 8 * P);
	ck_assert_uint_eq(gs_warn_count(), 1);
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "referenced piece"));
	gs_warn_reset_count();
	after = snapshot(vm, fd);
	assert_same_state(without_leaves(before), without_leaves(after));
	free(after);
	folio_put(f);
	assert_split(fd, 0, order);
	assert_checks();

	/* To private over both: the first page merges, the second meets a piece: split back. */
	ck_assert_int_eq(set_attrs(fd, 8 * P, 4 * P, 0, NULL), 0);
	ck_assert_int_eq(set_attrs(fd, hp + 8 * P, 4 * P, 0, NULL), 0);
	f = folio_at(fd, hp + 20 * P);
	folio_get(f);
	free(before);
	before = snapshot(vm, fd);
	gs_gmem_convert_stats(true);
	assert_fails(set_attrs(fd, 8 * P, hp + 4 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, hp + 8 * P);
	ck_assert_uint_eq(gs_warn_count(), 1);
	gs_warn_reset_count();
	ck_assert_uint_eq(gs_gmem_convert_stats(false).merges, 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).rollbacks, 2);
	after = snapshot(vm, fd);
	assert_same_state(without_leaves(before), without_leaves(after));
	free(after);
	folio_put(f);
	assert_split(fd, 0, order);
	assert_split(fd, hp, order);
	assert_checks();
	ck_assert_int_eq(set_attrs(fd, 8 * P, hp + 4 * P, PRIVATE, NULL), 0);
	assert_whole(fd, 0, order);
	assert_whole(fd, hp, order);

	/* To shared over both pages, the second held: the first is split, then merged back. */
	free(before);
	f = folio_at(fd, hp);
	folio_get(f);
	before = snapshot(vm, fd);
	gs_gmem_convert_stats(true);
	assert_fails(set_attrs(fd, hp - P, 2 * P, 0, &eo), EAGAIN);
	ck_assert_uint_eq(eo, hp - P);
	ck_assert_uint_eq(gs_warn_count(), 1);
	gs_warn_reset_count();
	ck_assert_uint_eq(gs_gmem_convert_stats(false).splits, 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).merges, 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).rollback_oob, 0);
	after = snapshot(vm, fd);
	assert_same_state(without_leaves(before), without_leaves(after));
	free(after);
	free(before);
	assert_whole(fd, 0, order);
	folio_put(f);
	assert_checks();
	/* Unheld, it converts. */
	ck_assert_int_eq(set_attrs(fd, hp - P, 2 * P, 0, NULL), 0);
	assert_split(fd, 0, order);
	assert_split(fd, hp, order);
	assert_checks();
	assert_clean();
}
END_TEST

/*
 * A 2-huge-page file whose tree is fragmented in the second page. To
 * shared, the last store of rfc_huge_op() cuts a range of a full leaf and
 * allocates, while the first one does not (its rollback would leave the
 * node it allocated: docs/CONVERSION.md). To shared: shared pages nr + 1,
 * nr + 3, ..., nr + 11 and the last page (14 ranges). To private: page 5
 * shared too (the first page is split and merges under the conversion),
 * shared nr + 1, ..., nr + 9 and [nr + 11, nr + 20) (15 ranges).
 */
static int rfc_huge_fragmented(int vm, unsigned int order, bool to_private)
{
	int fd = create_huge(vm, order, 2);
	uint64_t hp = P << order;

	for (uint64_t i = 1; i < (to_private ? 10 : 12); i += 2)
		ck_assert_int_eq(set_attrs(fd, hp + i * P, P, 0, NULL), 0);
	if (to_private) {
		ck_assert_int_eq(set_attrs(fd, 5 * P, P, 0, NULL), 0);
		ck_assert_int_eq(set_attrs(fd, hp + 11 * P, 9 * P, 0, NULL), 0);
	} else {
		ck_assert_int_eq(set_attrs(fd, 2 * hp - P, P, 0, NULL), 0);
	}
	return fd;
}

/* The conversion rfc_huge_fail_one() fails: items in both huge pages, the last cuts a range. */
static int rfc_huge_op(int fd, unsigned int order, bool to_private, uint64_t *eo)
{
	uint64_t hp = P << order;

	if (to_private)
		return set_attrs(fd, 5 * P, hp + 8 * P, PRIVATE, eo);
	return set_attrs(fd, hp - P, 15 * P, 0, eo);
}

struct rfc_huge_outcome {
	unsigned long fired, oob, rolled;
};

/*
 * Fail allocation @nth (of @site) of one rfc-v2 conversion on a fresh
 * fragmented HugeTLB file. A failure: ENOMEM, state snapshot as before,
 * the only WARN the rollback loop's step below the first item (when the
 * first store failed: rollback_oob counts it), no leak. 1 when nothing
 * failed (the conversion was done).
 */
static int rfc_huge_fail_one(unsigned int order, bool to_private, bool bound, int site,
			     unsigned long nth, struct rfc_huge_outcome *out)
{
	struct gs_inject_rule rule = {.site = site, .mode = GS_INJECT_NTH, .nth = nth, .times = 1};
	int vm = gs_test_create_vm(GS_CONVERSION_RFC_V2);
	int fd = rfc_huge_fragmented(vm, order, to_private);
	uint64_t hp = P << order, eo = 0;
	struct gs_gmem_convert_stats st;
	char *before, *after;
	int r;

	if (bound) {
		gs_test_bind_gmem(vm, fd, GPA, 2 * hp);
		guest_fault(vm, to_private ? 200 * P : 0, true);
	}
	gs_gmem_convert_stats(true);
	gs_warn_reset_count();
	before = snapshot(vm, fd);
	ck_assert_int_ge(gs_inject_arm(&rule), 0);
	r = rfc_huge_op(fd, order, to_private, &eo);
	gs_inject_reset();
	st = gs_gmem_convert_stats(false);
	assert_checks();
	assert_whole_only_private(fd);
	if (r) {
		ck_assert_int_eq(errno, ENOMEM);
		after = snapshot(vm, fd);
		if (bound)
			assert_same_state(without_zapped(before), without_zapped(after));
		else
			assert_same_state(before, after);
		free(after);
		ck_assert_uint_eq(gs_warn_count(), st.rollback_oob);
		if (st.rollback_oob)
			ck_assert_ptr_nonnull(strstr(gs_warn_last(), "below the first item"));
		out->fired++;
		out->oob += st.rollback_oob;
		out->rolled += st.rollbacks > 0;
		gs_warn_reset_count();
	} else {
		ck_assert_uint_eq(gs_warn_count(), 0);
		/* (A merge absorbs a failed HVO re-optimization: the order, not HVO.) */
		if (to_private)
			ck_assert_uint_eq(folio_order(folio_at(fd, 0)), order);
		else
			assert_split(fd, 0, order);
	}
	free(before);
	gs_uapi_reset();
	lru_add_drain_all();
	hugetlb_restructuring_run_deferred();
	gs_test_empty_pools();
	gs_test_assert_no_leaks();
	return !r;
}

/* Every allocation of the conversion failed in turn (2 MiB), with and without a slot bound. */
START_TEST(test_rfc_huge_fail_nth)
{
	for (int to_private = 0; to_private < 2; to_private++)
		for (int bound = 0; bound < 2; bound++) {
			struct rfc_huge_outcome o = {0};
			unsigned long n;

			for (n = 1;
			     !rfc_huge_fail_one(9, to_private, bound, GS_INJECT_ANY_SITE, n, &o);
			     n++)
				ck_assert_uint_lt(n, 10000);
			ck_assert_uint_gt(o.fired, 1);
			/*
			 * To shared: a split or a later store failed after an
			 * item was applied, which was undone. To private only
			 * the lists allocate (its stores fit, its merges absorb
			 * a failure): test_rfc_huge_eagain has its rollback.
			 */
			if (!to_private)
				ck_assert_uint_gt(o.rolled, 0);
		}
	assert_clean();
}
END_TEST

/* 1 GiB: each allocation site of the path failed at its first and at a late hit. */
START_TEST(test_rfc_huge_enomem_sites_1g)
{
	static const struct {
		int site;
		unsigned long nth;
	} fails[] = {
		{GS_SITE_KMALLOC, 1},	     {GS_SITE_KMALLOC, 2},
		{GS_SITE_XARRAY_SPLIT, 1},   {GS_SITE_XARRAY_SPLIT, 64},
		{GS_SITE_HUGETLB_META, 1},   {GS_SITE_HVO_RESTORE, 1},
		{GS_SITE_HVO_RESTORE, 4095}, {GS_SITE_MAPLE_PREALLOC, 1},
		{GS_SITE_MAPLE_PREALLOC, 2},
	};
	struct rfc_huge_outcome o = {0};

	for (int to_private = 0; to_private < 2; to_private++)
		for (size_t i = 0; i < ARRAY_SIZE(fails); i++)
			rfc_huge_fail_one(18, to_private, false, fails[i].site, fails[i].nth, &o);
	ck_assert_uint_ge(o.fired, 8);
	ck_assert_uint_gt(o.rolled, 0);
	assert_clean();
}
END_TEST

/*
 * The rollback loop's bug on a HugeTLB file: the first item's store fails,
 * the loop steps to index -1: one WARN, rollback_oob, nothing changed. The
 * same conversion under planned: ENOMEM, no WARN.
 */
START_TEST(test_rfc_huge_first_item)
{
	unsigned int order = orders[_i];

	for (int rfc = 0; rfc < 2; rfc++) {
		int vm = gs_test_create_vm(rfc ? GS_CONVERSION_RFC_V2 : GS_CONVERSION_PLANNED);
		int fd = create_huge(vm, order, 1);
		struct gs_inject_rule rule = {.site = GS_SITE_MAPLE_PREALLOC,
					      .mode = GS_INJECT_NTH,
					      .nth = 1,
					      .times = 1};
		char *before, *after;
		uint64_t eo = 0;

		/* 15 ranges: pages 1, 3, ..., 13 shared; one more range fills the leaf. */
		for (uint64_t i = 1; i < 14; i += 2)
			ck_assert_int_eq(set_attrs(fd, i * P, P, 0, NULL), 0);
		gs_gmem_convert_stats(true);
		before = snapshot(vm, fd);
		ck_assert_int_ge(gs_inject_arm(&rule), 0);
		assert_fails(set_attrs(fd, 88 * P, P, 0, &eo), ENOMEM);
		gs_inject_reset();
		ck_assert_uint_eq(eo, 88 * P);
		after = snapshot(vm, fd);
		assert_same_state(before, after);
		ck_assert_uint_eq(gs_warn_count(), rfc ? 1 : 0);
		ck_assert_uint_eq(gs_gmem_convert_stats(false).rollback_oob, rfc ? 1 : 0);
		if (rfc)
			ck_assert_ptr_nonnull(strstr(gs_warn_last(), "below the first item"));
		gs_warn_reset_count();
		ck_assert_int_eq(set_attrs(fd, 88 * P, P, 0, NULL), 0);
		assert_split(fd, 0, order);
		assert_checks();
		free(before);
		free(after);
		gs_uapi_reset();
		hugetlb_restructuring_run_deferred();
		gs_test_empty_pools();
	}
	assert_clean();
}
END_TEST

/* --- ENOMEM at every allocation on the path --- */

struct fn_ctx {
	enum gs_gmem_conversion conv;
	unsigned int order;
	bool to_private;
	bool mapped;
	int vm, fd;
	char *before;
	unsigned long fired, partial;
};

/* Two huge pages allocated and bound; to private starts from both split (shared pages in each). */
static void fn_prepare(void *arg)
{
	struct fn_ctx *c = arg;
	uint64_t hp = P << c->order;

	c->vm = gs_test_create_vm(c->conv);
	c->fd = create_huge(c->vm, c->order, 2);
	gs_test_bind_gmem(c->vm, c->fd, GPA, 2 * hp);
	if (c->mapped)
		guest_fault(c->vm, hp + P, true);
	if (c->to_private)
		ck_assert_int_eq(set_attrs(c->fd, hp - P, 2 * P, 0, NULL), 0);
	gs_gmem_convert_stats(true);
	c->before = snapshot(c->vm, c->fd);
}

static int fn_op(void *arg)
{
	struct fn_ctx *c = arg;
	uint64_t hp = P << c->order;

	return set_attrs(c->fd, hp - P, 2 * P, c->to_private ? PRIVATE : 0, NULL) ? -errno : 0;
}

static void fn_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct fn_ctx *c = arg;
	uint64_t hp = P << c->order;
	struct gmem_inode *inode = inode_of(c->fd);
	char *after = snapshot(c->vm, c->fd);
	int want = c->to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL;

	(void)n;
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	if (ret) {
		ck_assert(injected);
		ck_assert_int_eq(ret, -ENOMEM);
		c->fired++;
		if (c->conv == GS_CONVERSION_PLANNED || !gs_gmem_convert_stats(false).partial) {
			/* Nothing changed: every layer's state as before. */
			ck_assert_str_eq(c->before, after);
		} else {
			/* wip: a finished first batch stays converted, the second is not. */
			ck_assert_int_eq(c->conv, GS_CONVERSION_WIP);
			c->partial++;
			if (gs_gmem_convert_stats(false).batches)
				ck_assert_int_eq(kvm_gmem_range_shareability(inode, (hp >> 12) - 1,
									     hp >> 12),
						 want);
			ck_assert_int_ne(
				kvm_gmem_range_shareability(inode, hp >> 12, (hp >> 12) + 1), want);
		}
	} else {
		ck_assert_int_eq(kvm_gmem_range_shareability(inode, (hp >> 12) - 1, (hp >> 12) + 1),
				 want);
	}
	free(after);
	free(c->before);
	gs_uapi_reset();
	lru_add_drain_all();
	hugetlb_restructuring_run_deferred();
	gs_test_empty_pools();
	gs_test_assert_no_leaks();
}

static void run_fail_nth(enum gs_gmem_conversion conv, unsigned int order, bool to_private,
			 bool mapped)
{
	static const struct gs_fail_nth_ops ops = {fn_prepare, fn_op, fn_check};
	struct fn_ctx c = {
		.conv = conv, .order = order, .to_private = to_private, .mapped = mapped};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	unsigned long runs = 0;

	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &runs), 0);
	ck_assert_uint_gt(runs, 1);
	/*
	 * To shared fails where it allocates (XArray split, metadata, HVO
	 * restore); to private allocates only in the merge after the point of no
	 * return, where a failure is absorbed (HVO left undone) and 0 returned.
	 */
	if (to_private && conv == GS_CONVERSION_PLANNED) {
		ck_assert_uint_eq(c.fired, 0);
		return;
	}
	ck_assert_uint_gt(c.fired, 0);
	/* planned never leaves partial progress; wip does when the second batch fails. */
	if (conv == GS_CONVERSION_PLANNED)
		ck_assert_uint_eq(c.partial, 0);
	else
		ck_assert_uint_gt(c.partial, 0);
}

START_TEST(test_fail_nth_planned)
{
	run_fail_nth(GS_CONVERSION_PLANNED, 9, false, false);
	run_fail_nth(GS_CONVERSION_PLANNED, 9, true, false);
	assert_clean();
}
END_TEST

START_TEST(test_fail_nth_wip)
{
	run_fail_nth(GS_CONVERSION_WIP, 9, false, false);
	assert_clean();
}
END_TEST

/*
 * planned with a huge leaf mapped: every failure, including those after the
 * stage-2 split's top-up and the folio split's preparation, leaves
 * everything as before, stage-2 leaves by level included (P37): the
 * attributes, folios, pool and leaves, the checkers pass, nothing partial.
 */
START_TEST(test_fail_nth_planned_mapped)
{
	for (unsigned long n = 1;; n++) {
		struct gs_inject_rule rule = {
			.site = GS_INJECT_ANY_SITE, .mode = GS_INJECT_NTH, .nth = n};
		struct fn_ctx c = {.conv = GS_CONVERSION_PLANNED, .order = 9, .mapped = true};
		char *after;
		int ret;

		fn_prepare(&c);
		ck_assert_int_ge(gs_inject_arm(&rule), 0);
		ret = fn_op(&c);
		gs_inject_reset();
		assert_checks();
		if (!ret) {
			assert_split(c.fd, 0, 9);
			free(c.before);
			gs_uapi_reset();
			gs_test_empty_pools();
			break;
		}
		ck_assert_int_eq(ret, -ENOMEM);
		after = snapshot(c.vm, c.fd);
		ck_assert_str_eq(c.before, after);
		ck_assert_uint_eq(gs_gmem_convert_stats(false).partial, 0);
		free(after);
		assert_whole(c.fd, 0, 9);
		assert_whole(c.fd, 2 << 20, 9);
		ck_assert_int_eq(kvm_gmem_range_shareability(inode_of(c.fd), 0, 1024),
				 SHAREABILITY_GUEST);
		free(c.before);
		gs_uapi_reset();
		gs_test_empty_pools();
		ck_assert_uint_lt(n, 10000);
	}
	assert_clean();
}
END_TEST

/*
 * A 1 GiB page: each allocation site on the to-shared path failed at its
 * first and at a late hit, under planned and wip (one batch: both all or
 * nothing here). The full loop over the 12,930 allocations of a 1 GiB split
 * is the 2 MiB case's (test_fail_nth_*) and the fail-nth suite's sampling.
 */
START_TEST(test_enomem_sites_1g)
{
	static const struct {
		int site;
		unsigned long nth;
	} fails[] = {
		{GS_SITE_KMALLOC, 1},	   {GS_SITE_XARRAY_SPLIT, 1}, {GS_SITE_XARRAY_SPLIT, 64},
		{GS_SITE_HUGETLB_META, 1}, {GS_SITE_HVO_RESTORE, 1},  {GS_SITE_HVO_RESTORE, 4095},
	};
	unsigned long fired = 0;

	for (int wip = 0; wip < 2; wip++)
		for (size_t i = 0; i < ARRAY_SIZE(fails); i++) {
			struct gs_inject_rule rule = {
				.site = fails[i].site, .mode = GS_INJECT_NTH, .nth = fails[i].nth};
			int vm = gs_test_create_vm(wip ? GS_CONVERSION_WIP : GS_CONVERSION_PLANNED);
			int fd = create_huge(vm, 18, 1);
			char *before, *after;
			uint64_t eo = 0;
			int r;

			gs_test_bind_gmem(vm, fd, GPA, 1ULL << 30);
			before = snapshot(vm, fd);
			ck_assert_int_ge(gs_inject_arm(&rule), 0);
			r = set_attrs(fd, 4 * P, P, 0, &eo);
			gs_inject_reset();
			if (r) {
				ck_assert_int_eq(errno, ENOMEM);
				ck_assert_uint_eq(eo, 4 * P);
				after = snapshot(vm, fd);
				ck_assert_str_eq(before, after);
				free(after);
				assert_whole(fd, 0, 18);
				fired++;
			} else {
				assert_split(fd, 0, 18);
			}
			assert_checks();
			ck_assert_uint_eq(gs_warn_count(), 0);
			free(before);
			gs_uapi_reset();
			hugetlb_restructuring_run_deferred();
			gs_test_empty_pools();
		}
	ck_assert_uint_ge(fired, 8);
	assert_clean();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("convert-hugetlb");
	TCase *tc = tcase_create("hugetlb");
	TCase *fn = tcase_create("fail-nth");
	TCase *rfc = tcase_create("rfc-v2-hugetlb");
	bool vg = gs_test_scale(50) < 50;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_fresh_folio_split, 0, 2);
	tcase_add_loop_test(tc, test_split_on_share_merge_on_private, 0, 2);
	tcase_add_test(tc, test_contents_survive);
	tcase_add_test(tc, test_merge_zeroes_unused_pieces);
	tcase_add_loop_test(tc, test_merge_zeroes_unused_pieces_anywhere, 0,
			    (int)ARRAY_SIZE(used_pieces));
	tcase_add_loop_test(tc, test_merge_zeroes_none_or_all, 0, 2);
	tcase_add_test(tc, test_arch_invalidate_counts_pieces);
	tcase_add_test(tc, test_arch_invalidate_counts_around_holes);
	tcase_add_loop_test(
		tc, test_eagain_referenced_piece_anywhere, 0,
		(int)(ARRAY_SIZE(referenced_pieces) * ARRAY_SIZE(referencing_orderings)));
	tcase_add_loop_test(tc, test_refs_check_around_holes_and_drain, 0,
			    (int)ARRAY_SIZE(referencing_orderings));
	tcase_add_loop_test(tc, test_eagain_extra_ref, 0, 2);
	tcase_add_test(tc, test_wip_eagain_warns);
	tcase_add_test(tc, test_eagain_error_offset_by_profile);
	tcase_add_test(tc, test_profiles_unsupported);
	tcase_add_test(tc, test_rfc_checks);
	tcase_add_test(tc, test_rfc_rollback_later_item);
	tcase_add_test(tc, test_rfc_rollback_first_item);
	tcase_add_loop_test(tc, test_rfc_bug_absent_elsewhere, 0, 3);
	tcase_add_checked_fixture(fn, setup, teardown);
	tcase_add_test(fn, test_fail_nth_planned);
	tcase_add_test(fn, test_fail_nth_wip);
	tcase_add_test(fn, test_fail_nth_planned_mapped);
	tcase_add_test(fn, test_enomem_sites_1g);
	/*
	 * rfc-v2 on HugeTLB files (P25): CK_RUN_CASE=rfc-v2-hugetlb runs them
	 * alone. Under valgrind their 1 GiB variants (index 1) took 40 minutes
	 * of memcheck: they run in the default, release and ASan builds.
	 */
	if (vg)
		printf("skip rfc-v2-hugetlb 1 GiB variants under valgrind: each split and merge "
		       "of a 1 GiB page costs seconds there\n");
	tcase_add_checked_fixture(rfc, setup, teardown);
	tcase_add_loop_test(rfc, test_rfc_huge_split_merge, 0, vg ? 1 : 2);
	tcase_add_loop_test(rfc, test_rfc_huge_eagain, 0, vg ? 1 : 2);
	tcase_add_loop_test(rfc, test_rfc_huge_first_item, 0, vg ? 1 : 2);
	tcase_add_test(rfc, test_rfc_huge_fail_nth);
	if (!vg)
		tcase_add_test(rfc, test_rfc_huge_enomem_sites_1g);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, fn);
	suite_add_tcase(s, rfc);
	return s;
}
