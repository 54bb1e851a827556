// SPDX-License-Identifier: MIT
/*
 * Tests of the guest_memfd inode (lib/gmem*.c, lib/page_alloc.c): creation
 * checks and errnos (upstream and the HugeTLB design), fstat and st_blocks,
 * fallocate check order, granularity and punch, host mappings and faults
 * with real data, pins, get_pfn, memory failure, release and eviction, the
 * invariant checker, and every allocation of create, fallocate and a host
 * fault failed in turn with the state left exactly as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/physmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include "harness.h"
#include <gmemsim/internal/hugetlb_int.h>
#include <gmemsim/internal/page_alloc.h>

#define P	((loff_t)PAGE_SIZE)
#define HP	((loff_t)(2UL << 20))
#define H2M	(&hstates[0])
#define KEEP	GS_FALLOC_FL_KEEP_SIZE
#define PUNCH	(GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE)
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define SHARED	GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB

/* x86 DEFAULT_VM, a CoCo VM, and a VM of the design with HugeTLB. */
static const struct gs_gmem_vm_info default_vm = {.supports_init_shared = true};
static const struct gs_gmem_vm_info coco_vm = {.has_private_mem = true};
static const struct gs_gmem_vm_info huge_vm = {.has_private_mem = true, .supports_hugetlb = true};

static struct gs_hugetlb_host real_mem = {.backing = GS_BACKING_ANON};
static struct gs_hugetlb_backend real_backend;

static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	real_backend = gs_hugetlb_host_backend(&real_mem);
	ck_assert_int_eq(hugetlb_set_backend(&real_backend), 0);
}

static void teardown(void)
{
	gs_inject_reset();
	set_max_huge_pages(H2M, 0);
}

/* Every invariant holds, nothing is left: the end of every test. */
static void assert_clean(void)
{
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	ck_assert_uint_eq(gs_page_alloc_nr_used(), 0);
	set_max_huge_pages(H2M, 0);
	ck_assert_uint_eq(H2M->nr_huge_pages, 0);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 0);
	gs_test_assert_no_leaks();
}

static struct gmem_file *create(const struct gs_gmem_vm_info *vm, loff_t size, uint64_t flags,
				uint64_t order)
{
	struct gmem_file *f = NULL;

	ck_assert_int_eq(kvm_gmem_create(vm, size, flags, order, &f), 0);
	return f;
}

static unsigned long blocks(struct gmem_file *f)
{
	struct gs_gmem_stat st;

	kvm_gmem_fstat(f, &st);
	return st.st_blocks;
}

/* --- creation --- */

START_TEST(test_supported_flags)
{
	ck_assert_uint_eq(kvm_gmem_get_supported_flags(NULL), MMAP | SHARED);
	ck_assert_uint_eq(kvm_gmem_get_supported_flags(&default_vm), MMAP | SHARED);
	ck_assert_uint_eq(kvm_gmem_get_supported_flags(&coco_vm), MMAP);
	ck_assert_uint_eq(kvm_gmem_get_supported_flags(&huge_vm), MMAP | HUGETLB);
}
END_TEST

/* test_guest_memfd_flags: each single bit succeeds iff the VM supports it. */
START_TEST(test_create_each_flag)
{
	const struct gs_gmem_vm_info *vms[] = {&default_vm, &coco_vm};

	for (unsigned int v = 0; v < 2; v++) {
		uint64_t ok = kvm_gmem_get_supported_flags(vms[v]);

		for (unsigned int bit = 0; bit < 64; bit++) {
			struct gmem_file *f = NULL;
			int ret = kvm_gmem_create(vms[v], P, 1ULL << bit, 0, &f);

			ck_assert_int_eq(ret, (ok & (1ULL << bit)) ? 0 : -EINVAL);
			if (f)
				kvm_gmem_fput(f);
		}
	}
	assert_clean();
}
END_TEST

START_TEST(test_create_invalid_sizes)
{
	struct gmem_file *f = NULL;

	for (loff_t size = 1; size < P; size++)
		ck_assert_int_eq(kvm_gmem_create(&default_vm, size, MMAP | SHARED, 0, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&default_vm, 0, 0, 0, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&default_vm, P + 1, 0, 0, &f), -EINVAL);
	/* A size of 2^63 or more is a negative loff_t. */
	ck_assert_int_eq(kvm_gmem_create(&default_vm, (loff_t)(1ULL << 63), 0, 0, &f), -EINVAL);
	/* Flags are checked before the size. */
	ck_assert_int_eq(kvm_gmem_create(&coco_vm, 1, SHARED, 0, &f), -EINVAL);
	ck_assert_ptr_null(f);
	assert_clean();
}
END_TEST

/* P31: the HugeTLB checks, each failing on its own. */
START_TEST(test_create_hugetlb_checks)
{
	struct gmem_file *f = NULL;

	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	ck_assert_int_eq(kvm_gmem_create(&default_vm, HP, HUGETLB, 9, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP, 0, 9, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP, MMAP, 9, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP, HUGETLB, 0, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP, HUGETLB, 10, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP, HUGETLB, 63, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP / 2, HUGETLB, 9, &f), -EINVAL);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP + P, HUGETLB, 9, &f), -EINVAL);
	/* INIT_SHARED with HUGETLB, on a VM that offers both. */
	{
		struct gs_gmem_vm_info both = {.supports_init_shared = true,
					       .supports_hugetlb = true};

		ck_assert_int_eq(kvm_gmem_create(&both, HP, HUGETLB | SHARED, 9, &f), -EINVAL);
	}
	/* The pool holds 2 pages: a 3-page file cannot reserve its size. */
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, 3 * HP, HUGETLB, 9, &f), -ENOMEM);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	ck_assert_ptr_null(f);

	f = create(&huge_vm, 2 * HP, HUGETLB | MMAP, 9);
	ck_assert_uint_eq(H2M->resv_huge_pages, 2);
	ck_assert_int_eq(kvm_gmem_create(&huge_vm, HP, HUGETLB, 9, &f), -ENOMEM);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	assert_clean();
}
END_TEST

/* test_create_guest_memfd_multiple, test_file_size, and the profiles' st_blocks. */
START_TEST(test_fstat)
{
	struct gmem_file *a = create(&default_vm, P, 0, 0);
	struct gmem_file *b = create(&default_vm, 2 * P, MMAP, 0);
	struct gs_gmem_vm_info upstream = default_vm;
	struct gs_gmem_stat sa, sb;

	kvm_gmem_fstat(a, &sa);
	kvm_gmem_fstat(b, &sb);
	ck_assert_int_eq(sa.st_size, P);
	ck_assert_int_eq(sb.st_size, 2 * P);
	ck_assert_uint_ne(sa.st_ino, sb.st_ino);
	ck_assert_uint_eq(sa.st_blksize, P);
	ck_assert_uint_eq(sa.st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(sb.st_blocks, 0);
	ck_assert_int_eq(kvm_gmem_fallocate(b, KEEP, 0, 2 * P), 0);
	ck_assert_uint_eq(blocks(b), 2 * P / 512);
	kvm_gmem_fput(a);
	kvm_gmem_fput(b);

	/* A file keeps pointing at its VM: @upstream lives as long as the file. */
	upstream.profile = GS_GMEM_PROFILE_UPSTREAM;
	a = create(&upstream, P, 0, 0);
	ck_assert_int_eq(kvm_gmem_fallocate(a, KEEP, 0, P), 0);
	ck_assert_uint_eq(blocks(a), 0);
	kvm_gmem_fput(a);
	assert_clean();
}
END_TEST

START_TEST(test_fstat_hugetlb)
{
	struct gmem_file *f;
	struct gs_gmem_stat st;

	ck_assert_int_eq(set_max_huge_pages(H2M, 1), 0);
	f = create(&huge_vm, HP, HUGETLB, 9);
	kvm_gmem_fstat(f, &st);
	ck_assert_uint_eq(st.st_blksize, HP);
	ck_assert_int_eq(st.st_size, HP);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/* --- fallocate --- */

START_TEST(test_fallocate_check_order)
{
	struct gmem_file *f = create(&default_vm, 4 * P, 0, 0);

	ck_assert_int_eq(kvm_gmem_fallocate(f, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, -P, P), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, 0x80 | KEEP, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(kvm_gmem_fallocate(f, GS_FALLOC_FL_PUNCH_HOLE, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, GS_MAX_LFS_FILESIZE - P + 1, P), -EFBIG);
	ck_assert_int_eq(kvm_gmem_fallocate(f, 0, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP | GS_FALLOC_FL_ZERO_RANGE, 0, P), -EOPNOTSUPP);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP | GS_FALLOC_FL_COLLAPSE_RANGE, 1, P),
			 -EOPNOTSUPP);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 1, P), -EINVAL);
	ck_assert_uint_eq(blocks(f), 0);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/* test_fallocate: the upstream sequence of spec rule 20, with st_blocks. */
START_TEST(test_fallocate_sequence)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP | SHARED, 0);

	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 4 * P), 0);
	ck_assert_uint_eq(blocks(f), 4 * P / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, P - 1, P), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 4 * P, P), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 5 * P, P), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 4 * P, P), 0);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 5 * P, P), 0);
	ck_assert_uint_eq(blocks(f), 4 * P / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, P, P - 1), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, P, P), 0);
	ck_assert_uint_eq(blocks(f), 3 * P / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, P, P), 0);
	ck_assert_uint_eq(blocks(f), 3 * P / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, P, P), 0);
	ck_assert_uint_eq(blocks(f), 4 * P / 512);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/*
 * A range base pages cannot cover fails at once: no page is allocated and
 * undone first (the loop would run to the machine's end). A range already
 * held needs no new page, however small the machine's free memory.
 */
START_TEST(test_fallocate_beyond_machine)
{
	unsigned long old = gs_physmem_size();
	struct gs_site_stats before, after;
	struct gmem_file *f, *big;

	ck_assert_int_eq(gs_physmem_set_size(64UL << 20), 0);
	f = create(&default_vm, 48UL << 20, MMAP | SHARED, 0);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 48UL << 20), 0);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 48UL << 20), 0);
	big = create(&default_vm, 1UL << 40, MMAP | SHARED, 0);
	gs_site_stats(GS_SITE_PAGE_ALLOC, &before);
	ck_assert_int_eq(kvm_gmem_fallocate(big, KEEP, 0, 1UL << 40), -ENOMEM);
	gs_site_stats(GS_SITE_PAGE_ALLOC, &after);
	ck_assert_uint_eq(after.allocs, before.allocs);
	ck_assert_uint_eq(blocks(big), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_fput(big);
	kvm_gmem_fput(f);
	assert_clean();
	ck_assert_int_eq(gs_physmem_set_size(old), 0);
}
END_TEST

/* test_invalid_punch_hole. */
START_TEST(test_invalid_punch_hole)
{
	static const loff_t cases[][2] = {
		{0, 1}, {0, P - 1}, {0, P + 1}, {1, 1},	    {1, P - 1},
		{1, P}, {1, P + 1}, {P, 1},	{P, P - 1}, {P, P + 1},
	};
	struct gmem_file *f = create(&default_vm, 4 * P, 0, 0);

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, cases[i][0], cases[i][1]), -EINVAL);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/* P22, P32, P33 and the st_blocks test (51/51) on a 2M file. */
START_TEST(test_fallocate_hugetlb)
{
	struct gmem_file *f;
	loff_t total = 2 * HP;

	ck_assert_int_eq(set_max_huge_pages(H2M, 3), 0);
	f = create(&huge_vm, total, HUGETLB, 9);
	ck_assert_uint_eq(H2M->resv_huge_pages, 2);
	ck_assert_uint_eq(H2M->free_huge_pages, 3);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, P), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, P, HP), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 0, P), -EINVAL);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, total), 0);
	ck_assert_uint_eq(blocks(f), total / 512);
	ck_assert_uint_eq(H2M->free_huge_pages, 1);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, total, HP), -EINVAL);
	ck_assert_uint_eq(blocks(f), total / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, total, HP), 0);
	ck_assert_uint_eq(blocks(f), total / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, HP, HP), 0);
	ck_assert_uint_eq(blocks(f), (total - HP) / 512);
	ck_assert_uint_eq(H2M->free_huge_pages, 2);
	ck_assert_uint_eq(H2M->resv_huge_pages, 1);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, HP, HP), 0);
	ck_assert_uint_eq(blocks(f), (total - HP) / 512);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, total), 0);
	ck_assert_uint_eq(blocks(f), total / 512);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(H2M->free_huge_pages, 3);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	assert_clean();
}
END_TEST

/*
 * The page cache holds folio_nr_pages() references (__filemap_add_folio()),
 * so a 2 MiB folio in a HugeTLB file has 512, and the count the restructuring
 * and conversion checks want with a lookup reference is nr_pages + 1.
 */
START_TEST(test_hugetlb_page_cache_refs)
{
	struct gmem_file *f;
	struct folio *folio;

	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	f = create(&huge_vm, 2 * HP, HUGETLB, 9);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 2 * HP), 0);
	folio = xa_load(&f->inode->filemap, 600);
	ck_assert_uint_eq(folio->index, 512);
	ck_assert_int_eq(folio_ref_count(folio), 512);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	folio_get(folio); /* a lookup, as kvm_gmem_get_folio() takes in the kernel */
	ck_assert_int_eq(folio_ref_count(folio), (int)folio_nr_pages(folio) + 1);
	ck_assert(folio_ref_freeze(folio, (int)folio_nr_pages(folio) + 1));
	folio_ref_unfreeze(folio, (int)folio_nr_pages(folio) + 1);
	folio_put(folio);
	/* The checker holds the file to the kernel's count: one reference alone is a bug now. */
	folio_put_refs(folio, 511);
	ck_assert_uint_ne(gs_check_run_all(NULL), 0);
	folio_ref_add(folio, 511);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	/* Deleting from the page cache drops all 512: the page is free again. */
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, HP, HP), 0);
	ck_assert_uint_eq(H2M->free_huge_pages, 1);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(H2M->free_huge_pages, 2);
	assert_clean();
}
END_TEST

/* Split a file's huge folio as restructuring does, the filemap entry included. */
static void split_in_filemap(struct gmem_file *f, struct folio *folio, unsigned long lock_at)
{
	unsigned long pfn = folio_pfn(folio);

	folio_get(folio);
	ck_assert_int_eq(hugetlb_vmemmap_restore_folio(folio), 0);
	ck_assert_int_eq(folio_split(folio, 0, pfn_to_page(pfn + lock_at), GS_SPLIT_UNIFORM), 0);
	/* __folio_split(): one page-cache reference per piece, the caller's on the lock_at piece. */
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(folio_ref_count(pfn_folio(pfn + k)) == 1 + (k == lock_at),
			  "piece +%lu: %d refs", k, folio_ref_count(pfn_folio(pfn + k)));
	folio_put(pfn_folio(pfn + lock_at));
	xa_erase(&f->inode->filemap, 0);
	for (unsigned long k = 0; k < 512; k++)
		ck_assert(!xa_is_err(
			xa_store(&f->inode->filemap, k, pfn_folio(pfn + k), GFP_KERNEL)));
}

/* And merge it back: one order-9 entry again. */
static struct folio *merge_in_filemap(struct gmem_file *f, unsigned long pfn)
{
	XA_STATE_ORDER(xas, &f->inode->filemap, 0, 9);
	struct folio *folio;

	for (unsigned long k = 0; k < 512; k++)
		xa_erase(&f->inode->filemap, k);
	ck_assert_int_eq(folio_merge(pfn_folio(pfn), 9, 0), 512);
	folio = pfn_folio(pfn);
	do {
		xas_lock(&xas);
		xas_store(&xas, folio);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL));
	ck_assert_int_eq(xas_error(&xas), 0);
	return folio;
}

/* A 2 MiB HugeTLB file, its page allocated (*@folio) from a pool of @nr pages. */
static struct gmem_file *huge_file_allocated(unsigned long nr, struct folio **folio)
{
	struct gmem_file *f;

	ck_assert_int_eq(set_max_huge_pages(H2M, nr), 0);
	f = create(&huge_vm, HP, HUGETLB, 9);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, HP), 0);
	*folio = xa_load(&f->inode->filemap, 0);
	return f;
}

/*
 * Memory failure records the raw page: after a split only its piece refuses
 * the guest, the checker accepts the split file (entries below the file's
 * order), and once the page is whole again and freed, the pool dissolves it
 * instead of handing it out again.
 */
START_TEST(test_hugetlb_poison_raw_page_split)
{
	struct gmem_file *f;
	struct folio *folio;
	unsigned long pfn, got;
	int order;

	f = huge_file_allocated(2, &folio);
	pfn = folio_pfn(folio);
	ck_assert_int_eq(kvm_gmem_error_page(f, 5), 0);
	ck_assert(folio_test_hwpoison(folio));
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, 512), 1);
	ck_assert(is_raw_hwpoison_page_in_hugepage(pfn_to_page(pfn + 5)));
	ck_assert(!is_raw_hwpoison_page_in_hugepage(pfn_to_page(pfn + 6)));
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 300, &got, &order), -EHWPOISON);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	split_in_filemap(f, folio, 7);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	for (unsigned long k = 0; k < 512; k++)
		gs_assert(folio_test_hwpoison(pfn_folio(pfn + k)) == (k == 5), "piece +%lu", k);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 5, &got, &order), -EHWPOISON);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 6, &got, &order), 0);
	ck_assert_uint_eq(got, pfn + 6);
	ck_assert_int_eq(order, 0);
	/* A piece with a reference nobody accounts for is a violation, as a whole folio's. */
	folio_get(pfn_folio(pfn + 9));
	ck_assert_uint_ne(gs_check_run_all(NULL), 0);
	folio_put(pfn_folio(pfn + 9));

	folio = merge_in_filemap(f, pfn);
	ck_assert(folio_test_hugetlb(folio) && folio_test_hwpoison(folio));
	ck_assert_int_eq(folio_ref_count(folio), 512);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	/* Freed, it leaves the pool (dissolved) and stays out of use; the raw page stays bad. */
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 0, HP), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages, 1);
	ck_assert_uint_eq(H2M->max_huge_pages, 1);
	ck_assert_uint_eq(H2M->free_huge_pages, 1);
	ck_assert_uint_eq(H2M->resv_huge_pages, 1);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 1);
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, 512), 1);
	/* The file gets the other page, never the bad one. */
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 5, &got, &order), 0);
	ck_assert(got < pfn || got >= pfn + 512);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(hugetlb_unpoison_all(), 1);
	ck_assert_uint_eq(gs_raw_hwpoison_count(pfn, 512), 0);
	assert_clean();
}
END_TEST

/* What a checker of the test saw: the pass and the split records of the 2 MiB pool. */
struct pass_seen {
	unsigned long pass[2];
	unsigned int nr[2], runs;
};

static void pass_checker(struct gs_check_report *r, void *ctx)
{
	struct pass_seen *seen = ctx;
	const struct hugetlb_split_snap *snap;

	(void)r;
	spin_lock(&hugetlb_lock);
	snap = hugetlb_split_snap_check();
	if (seen->runs < 2) {
		seen->pass[seen->runs] = gs_check_pass();
		seen->nr[seen->runs] = snap->nr[hstate_index(H2M)];
	}
	seen->runs++;
	spin_unlock(&hugetlb_lock);
}

/* The split records' snapshot outside a pass: its own walk, the lock held. */
static unsigned int split_records_now(void)
{
	unsigned int nr;

	ck_assert_uint_eq(gs_check_pass(), 0);
	spin_lock(&hugetlb_lock);
	nr = hugetlb_split_snap_check()->nr[hstate_index(H2M)];
	spin_unlock(&hugetlb_lock);
	return nr;
}

/*
 * The HugeTLB pools' and cgroups' checkers share one snapshot of the split
 * pages' records per run of the checkers (gs_check_pass()): each run has a
 * pass of its own, 0 outside one, so a split or a merge between two `check`
 * lines is seen by the next, and a snapshot asked for outside a pass is
 * taken then.
 */
START_TEST(test_check_pass_split_snapshot)
{
	struct pass_seen seen = {0};
	struct gmem_file *f;
	struct folio *folio;
	unsigned long pfn;
	int handle;

	f = huge_file_allocated(1, &folio);
	pfn = folio_pfn(folio);
	handle = gs_check_register("test.pass", pass_checker, &seen);
	ck_assert_int_ge(handle, 0);
	ck_assert_uint_eq(split_records_now(), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	split_in_filemap(f, folio, 7);
	ck_assert_uint_eq(split_records_now(), 1);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	folio = merge_in_filemap(f, pfn);
	ck_assert_uint_eq(split_records_now(), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(seen.runs, 3);
	ck_assert_uint_ne(seen.pass[0], 0);
	ck_assert_uint_ne(seen.pass[1], 0);
	ck_assert_uint_ne(seen.pass[0], seen.pass[1]);
	ck_assert_uint_eq(seen.nr[0], 0);
	ck_assert_uint_eq(seen.nr[1], 1);
	ck_assert_uint_eq(gs_check_pass(), 0);
	gs_check_unregister(handle);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/*
 * When every free page is promised to a reservation, the kernel does not
 * dissolve (available_huge_pages() is 0): the poisoned page waits on the free
 * list, never dequeued, so the file cannot have it back; shrinking the pool
 * dissolves it later.
 */
START_TEST(test_hugetlb_poison_reserved_page_waits)
{
	struct gmem_file *f;

	ck_assert_int_eq(set_max_huge_pages(H2M, 1), 0);
	f = create(&huge_vm, HP, HUGETLB, 9);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, HP), 0);
	ck_assert_int_eq(kvm_gmem_error_page(f, 0), 0);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 0, HP), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages, 1);
	ck_assert_uint_eq(H2M->free_huge_pages, 1);
	ck_assert_uint_eq(H2M->resv_huge_pages, 1);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 0);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, HP), -ENOMEM);
	ck_assert_uint_eq(blocks(f), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	ck_assert_int_eq(set_max_huge_pages(H2M, 0), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages, 0);
	ck_assert_uint_eq(hugetlb_nr_hwpoison(), 1);
	ck_assert_uint_eq(hugetlb_unpoison_all(), 1);
	assert_clean();
}
END_TEST

/* --- host side --- */

START_TEST(test_mmap_rules)
{
	struct gmem_file *f = create(&default_vm, 4 * P, 0, 0);
	struct gmem_vma *vma = NULL;

	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 1, true, &vma), -ENODEV);
	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 4, true, &vma), -ENODEV);
	kvm_gmem_fput(f);
	f = create(&default_vm, 4 * P, MMAP, 0);
	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 4, false, &vma), -EINVAL);
	ck_assert_ptr_null(vma);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/* test_fault_private: without INIT_SHARED every host access SIGBUSes. */
START_TEST(test_fault_private)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP, 0);
	struct gmem_vma *vma;
	char buf[16];
	size_t done;

	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 4, true, &vma), 0);
	for (unsigned long i = 0; i < 4; i++) {
		ck_assert_uint_eq(kvm_gmem_fault(vma, i), VM_FAULT_SIGBUS);
		ck_assert_uint_eq(kvm_gmem_access(vma, i * P, buf, 1, true, &done),
				  VM_FAULT_SIGBUS);
		ck_assert_uint_eq(done, 0);
	}
	ck_assert_uint_eq(blocks(f), 0);
	kvm_gmem_munmap(vma);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* test_mmap_supported: fill 0xaa, punch page 0, page 0 reads 0, rewrite works. */
START_TEST(test_mmap_supported)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP | SHARED, 0);
	unsigned char *buf = malloc(4 * P);
	struct gmem_vma *vma, *other;
	size_t done;

	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 4, true, &vma), 0);
	ck_assert_int_eq(kvm_gmem_mmap(f, 2, 2, true, &other), 0);
	memset(buf, 0xaa, 4 * P);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, buf, 4 * P, true, &done), 0);
	ck_assert_uint_eq(blocks(f), 4 * P / 512);
	/* Another mapping of the file sees the same pages. */
	memset(buf, 0, 4 * P);
	ck_assert_uint_eq(kvm_gmem_access(other, 0, buf, 2 * P, false, &done), 0);
	ck_assert(all_bytes(buf, 2 * P, 0xaa));
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);

	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 0, P), 0);
	ck_assert_uint_eq(blocks(f), 3 * P / 512);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, buf, 4 * P, false, &done), 0);
	ck_assert(all_bytes(buf, P, 0));
	ck_assert(all_bytes(buf + P, 3 * P, 0xaa));
	memset(buf, 0x55, P);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, buf, P, true, &done), 0);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, buf, 4 * P, false, &done), 0);
	ck_assert(all_bytes(buf, P, 0x55));
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_munmap(other);
	kvm_gmem_munmap(vma);
	kvm_gmem_fput(f);
	free(buf);
	assert_clean();
}
END_TEST

/* test_fault_overflow: a mapping of 4x the size SIGBUSes past i_size, data kept. */
START_TEST(test_fault_overflow)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP | SHARED, 0);
	unsigned char *buf = malloc(16 * P);
	struct gmem_vma *vma;
	size_t done;

	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 16, true, &vma), 0);
	memset(buf, 0xaa, 16 * P);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, buf, 16 * P, true, &done), VM_FAULT_SIGBUS);
	ck_assert_uint_eq(done, 4 * P);
	memset(buf, 0, 16 * P);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, buf, 4 * P, false, &done), 0);
	ck_assert(all_bytes(buf, 4 * P, 0xaa));
	kvm_gmem_munmap(vma);
	kvm_gmem_fput(f);
	free(buf);
	assert_clean();
}
END_TEST

/* A long-term pin keeps the page alive across punch; close with pins works. */
START_TEST(test_pin)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP | SHARED, 0);
	struct gmem_vma *vma;
	struct page *page;
	unsigned char c = 0x77;
	size_t done;

	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 4, true, &vma), 0);
	ck_assert_uint_eq(kvm_gmem_access(vma, P, &c, 1, true, &done), 0);
	ck_assert_int_eq(kvm_gmem_pin(vma, 1, &page), 0);
	ck_assert(folio_maybe_dma_pinned(page_folio(page)));
	ck_assert_int_eq(folio_ref_count(page_folio(page)), 2 + GUP_PIN_COUNTING_BIAS);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_int_eq(kvm_gmem_pin(vma, 9, &page) == -EFAULT, 1);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 0, 4 * P), 0);
	ck_assert_uint_eq(blocks(f), 0);
	/* The pinned page is out of the file but not freed. */
	ck_assert_uint_eq(gs_page_alloc_nr_used(), 1);
	ck_assert_uint_eq(*(unsigned char *)gs_pfn_to_virt(page_to_pfn(page)), 0x77);
	kvm_gmem_munmap(vma);
	kvm_gmem_fput(f);
	kvm_gmem_unpin(page);
	assert_clean();
}
END_TEST

/* --- guest side, memory failure, release --- */

START_TEST(test_get_pfn)
{
	struct gmem_file *f = create(&coco_vm, 4 * P, 0, 0);
	unsigned long pfn;
	int order = -1;

	ck_assert_int_eq(kvm_gmem_get_pfn(f, 4, &pfn, &order), -EIO);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 2, &pfn, &order), 0);
	ck_assert_int_eq(order, 0);
	ck_assert(folio_test_uptodate(pfn_folio(pfn)));
	ck_assert_uint_eq(blocks(f), P / 512);
	kvm_gmem_fput(f);

	ck_assert_int_eq(set_max_huge_pages(H2M, 1), 0);
	f = create(&huge_vm, HP, HUGETLB, 9);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 3, &pfn, &order), 0);
	ck_assert_int_eq(order, 9);
	ck_assert_uint_eq(pfn & 511, 3);
	ck_assert_uint_eq(blocks(f), HP / 512);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/* Lisa Wang's test_memory_failure and _guest, without the kill-policy matrix. */
START_TEST(test_memory_failure)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP | SHARED, 0);
	struct gmem_vma *vma;
	unsigned long pfn, pfn_poisoned;
	struct page *page;
	char c = 1;
	size_t done;
	int order;

	ck_assert_int_eq(kvm_gmem_error_page(f, 1), -ENOENT);
	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 4 * P), 0);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 1, &pfn_poisoned, &order), 0);
	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 4, true, &vma), 0);
	/* A mapped page is unmapped by the failure, so the next access faults. */
	ck_assert_uint_eq(kvm_gmem_access(vma, P, &c, 1, true, &done), 0);
	ck_assert_int_eq(kvm_gmem_error_page(f, 1), 0);
	ck_assert_int_eq(folio_mapcount(xa_load(&f->inode->filemap, 1)), 0);
	ck_assert_uint_eq(blocks(f), 4 * P / 512);
	ck_assert_uint_eq(kvm_gmem_access(vma, P, &c, 1, false, &done), VM_FAULT_HWPOISON);
	ck_assert_uint_eq(kvm_gmem_access(vma, P, &c, 1, true, &done), VM_FAULT_HWPOISON);
	ck_assert_int_eq(kvm_gmem_pin(vma, 1, &page), -EHWPOISON);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 1, &pfn, &order), -EHWPOISON);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, &c, 1, true, &done), 0);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 1, &pfn, &order), -EHWPOISON);
	ck_assert_int_eq(kvm_gmem_fallocate(f, PUNCH, 0, 4 * P), 0);
	ck_assert_uint_eq(blocks(f), 0);
	/* The poisoned page is out of use for good (free_pages_prepare())... */
	ck_assert_uint_eq(gs_page_alloc_nr_hwpoison(), 1);
	ck_assert_uint_eq(gs_page_alloc_nr_used(), 0);
	/* ...and a fresh page, never that one, replaces it. */
	ck_assert_uint_eq(kvm_gmem_access(vma, P, &c, 1, false, &done), 0);
	ck_assert_int_eq(c, 0);
	for (pgoff_t i = 0; i < 4; i++) {
		unsigned long other;

		ck_assert_int_eq(kvm_gmem_get_pfn(f, i, &other, &order), 0);
		ck_assert_uint_ne(other, pfn_poisoned);
	}
	kvm_gmem_munmap(vma);
	kvm_gmem_fput(f);
	/* Unpoisoning gives it back to the allocator. */
	ck_assert_uint_eq(gs_page_alloc_unpoison_all(), 1);
	ck_assert_uint_eq(gs_page_alloc_nr_hwpoison(), 0);
	assert_clean();
}
END_TEST

/* A mapping holds the file: closing the fd keeps the memory until munmap. */
START_TEST(test_release_with_mapping)
{
	struct gmem_file *f = create(&default_vm, 2 * P, MMAP | SHARED, 0);
	struct gmem_vma *vma;
	char c = 0x42;
	size_t done;

	ck_assert_int_eq(kvm_gmem_mmap(f, 0, 2, true, &vma), 0);
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, &c, 1, true, &done), 0);
	kvm_gmem_fput(f);
	c = 0;
	ck_assert_uint_eq(kvm_gmem_access(vma, 0, &c, 1, false, &done), 0);
	ck_assert_int_eq(c, 0x42);
	ck_assert_uint_eq(gs_page_alloc_nr_used(), 1);
	kvm_gmem_munmap(vma);
	assert_clean();
}
END_TEST

/* The checker catches an st_blocks count that disagrees with the folios. */
START_TEST(test_checker)
{
	struct gmem_file *f = create(&default_vm, 2 * P, 0, 0);

	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, P), 0);
	f->inode->i_bytes += P;
	ck_assert_uint_ne(gs_check_run_all(NULL), 0);
	f->inode->i_bytes -= P;
	ck_assert_uint_eq(gs_check_run_all(NULL), 0);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/*
 * The gmem checker passes a leaf's order-0 pieces in one loop and tests
 * once, where that loop stops, whether the last one is followed by
 * sibling slots: an order-0 folio stored as an order-2 entry right after
 * clean pages (near a leaf's start, in its middle, over its last four
 * slots) is reported at its index, as a wrong entry order, and nothing
 * else.
 */
START_TEST(test_checker_piece_before_siblings)
{
	static const pgoff_t at[] = {4, 32, 60};
	struct gmem_file *f = create(&default_vm, 64 * P, 0, 0);
	struct folio *moved[3];
	char want[96], *out;

	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 64 * P), 0);
	for (unsigned int k = 0; k < ARRAY_SIZE(at); k++) {
		XA_STATE_ORDER(xas, &f->inode->filemap, at[k], 2);
		struct folio *folio = xa_load(&f->inode->filemap, at[k]);

		/* Its three neighbours out of the page cache, the folio over all four. */
		for (unsigned int j = 0; j < 3; j++)
			moved[j] = xa_erase(&f->inode->filemap, at[k] + 1 + j);
		xas_lock(&xas);
		xas_store(&xas, folio);
		xas_unlock(&xas);
		ck_assert_int_eq(xas_error(&xas), 0);
		f->inode->i_bytes -= 3 * P;
		out = gs_test_check_report();
		snprintf(want, sizeof(want), "index %lx: entry order 2, folio order 0", at[k]);
		ck_assert_msg(out && strstr(out, want) && !strstr(strstr(out, want) + 1, "ino "),
			      "at %lx:\n%s", at[k], out ? out : "");
		free(out);
		/* Put back as it was. */
		xas_lock(&xas);
		xas_store(&xas, NULL);
		xas_unlock(&xas);
		ck_assert_ptr_null(xa_store(&f->inode->filemap, at[k], folio, GFP_KERNEL));
		for (unsigned int j = 0; j < 3; j++)
			ck_assert_ptr_null(
				xa_store(&f->inode->filemap, at[k] + 1 + j, moved[j], GFP_KERNEL));
		f->inode->i_bytes += 3 * P;
		ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	}
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/*
 * The checker's loop over a leaf's pieces follows consecutive struct pages:
 * a slot holding some other folio (here another file's page at the same
 * index, swapped between two files' page caches) ends it, and that folio
 * is judged on its own and reported, in each file.
 */
START_TEST(test_checker_foreign_piece)
{
	struct gmem_file *f = create(&default_vm, 64 * P, 0, 0);
	struct gmem_file *g = create(&default_vm, 64 * P, 0, 0);
	struct folio *ff, *gf;
	char want[96], *out;

	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 64 * P), 0);
	ck_assert_int_eq(kvm_gmem_fallocate(g, KEEP, 0, 64 * P), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ff = xa_load(&f->inode->filemap, 20);
	gf = xa_load(&g->inode->filemap, 20);
	ck_assert_ptr_eq(xa_store(&f->inode->filemap, 20, gf, GFP_KERNEL), ff);
	ck_assert_ptr_eq(xa_store(&g->inode->filemap, 20, ff, GFP_KERNEL), gf);
	out = gs_test_check_report();
	snprintf(want, sizeof(want), "ino %lu index 14: folio says index 14", f->inode->ino);
	ck_assert_msg(out && strstr(out, want), "%s", out ? out : "");
	snprintf(want, sizeof(want), "ino %lu index 14: folio says index 14", g->inode->ino);
	ck_assert_msg(out && strstr(out, want), "%s", out ? out : "");
	free(out);
	ck_assert_ptr_eq(xa_store(&f->inode->filemap, 20, ff, GFP_KERNEL), gf);
	ck_assert_ptr_eq(xa_store(&g->inode->filemap, 20, gf, GFP_KERNEL), ff);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_fput(g);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

/* --- fault injection: failed calls leave no trace --- */

struct fi_ctx {
	const struct gs_gmem_vm_info *vm;
	uint64_t flags, order;
	loff_t size, off, len;
	unsigned long fault_page;
	struct gmem_file *f;
	struct gmem_vma *vma;
	char *before;
	size_t before_len;
	int expect_err;
};

static char *dump(struct gmem_file *f, size_t *len)
{
	char *s = NULL;
	FILE *m = open_memstream(&s, len);

	kvm_gmem_dump(f->inode, m);
	fprintf(m, "pages used %lu\n", gs_page_alloc_nr_used());
	fclose(m);
	return s;
}

static void fi_create_prepare(void *arg)
{
	struct fi_ctx *c = arg;

	c->f = NULL;
}

static int fi_create_op(void *arg)
{
	struct fi_ctx *c = arg;

	return kvm_gmem_create(c->vm, c->size, c->flags, c->order, &c->f);
}

static void fi_create_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct fi_ctx *c = arg;

	(void)n;
	if (ret) {
		ck_assert(injected);
		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert_ptr_null(c->f);
		ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	} else {
		kvm_gmem_fput(c->f);
	}
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	if (!H2M->nr_huge_pages)
		gs_test_assert_no_leaks();
}

static void fi_prepare_file(void *arg)
{
	struct fi_ctx *c = arg;

	c->f = create(c->vm, c->size, c->flags, c->order);
	/* Part of the range is allocated already: it must survive a failure. */
	ck_assert_int_eq(
		kvm_gmem_fallocate(c->f, KEEP, c->off, (loff_t)gmem_page_size(c->f->inode)), 0);
	c->vma = NULL;
	if (c->flags & MMAP)
		ck_assert_int_eq(
			kvm_gmem_mmap(c->f, 0, (unsigned long)(c->size / P), true, &c->vma), 0);
	c->before = dump(c->f, &c->before_len);
}

static int fi_falloc_op(void *arg)
{
	struct fi_ctx *c = arg;

	return kvm_gmem_fallocate(c->f, KEEP, c->off, c->len);
}

static int fi_fault_op(void *arg)
{
	struct fi_ctx *c = arg;
	vm_fault_t ret = kvm_gmem_fault(c->vma, c->fault_page);

	return ret == VM_FAULT_OOM ? -ENOMEM : ret ? -EFAULT : 0;
}

static void fi_file_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct fi_ctx *c = arg;
	size_t len;
	char *after = dump(c->f, &len);

	(void)n;
	if (ret) {
		ck_assert(injected);
		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert_str_eq(after, c->before);
	}
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	free(after);
	free(c->before);
	if (c->vma)
		kvm_gmem_munmap(c->vma);
	kvm_gmem_fput(c->f);
	/* The pool's own pages are not leaks; assert_clean() empties it. */
	if (!H2M->nr_huge_pages)
		gs_test_assert_no_leaks();
}

static void run_fi(struct fi_ctx *c, const struct gs_fail_nth_ops *ops)
{
	for (int persistent = 0; persistent < 2; persistent++) {
		struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE, .persistent = persistent};
		unsigned long iterations = 0;

		ck_assert_int_eq(gs_fail_nth_loop(&cfg, ops, c, &iterations), 0);
		ck_assert_uint_gt(iterations, 1);
	}
}

START_TEST(test_fi_create)
{
	static const struct gs_fail_nth_ops ops = {fi_create_prepare, fi_create_op,
						   fi_create_check};
	struct fi_ctx c = {.vm = &default_vm, .size = 64 * P, .flags = MMAP | SHARED};

	run_fi(&c, &ops);
	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	c = (struct fi_ctx){.vm = &huge_vm, .size = 2 * HP, .flags = HUGETLB, .order = 9};
	run_fi(&c, &ops);
	assert_clean();
}
END_TEST

START_TEST(test_fi_fallocate)
{
	static const struct gs_fail_nth_ops ops = {fi_prepare_file, fi_falloc_op, fi_file_check};
	struct fi_ctx c = {.vm = &default_vm, .size = 1024 * P, .off = 8 * P, .len = 1000 * P};

	run_fi(&c, &ops);
	ck_assert_int_eq(set_max_huge_pages(H2M, 4), 0);
	c = (struct fi_ctx){.vm = &huge_vm,
			    .size = 4 * HP,
			    .flags = HUGETLB,
			    .order = 9,
			    .off = HP,
			    .len = 3 * HP};
	run_fi(&c, &ops);
	assert_clean();
}
END_TEST

START_TEST(test_fi_fault)
{
	static const struct gs_fail_nth_ops ops = {fi_prepare_file, fi_fault_op, fi_file_check};
	struct fi_ctx c = {
		.vm = &default_vm, .size = 1024 * P, .flags = MMAP | SHARED, .fault_page = 700};

	run_fi(&c, &ops);
	assert_clean();
}
END_TEST

/* The dump names the folio flags it prints (show's output): value, then meaning. */
START_TEST(test_dump_flag_names)
{
	struct gmem_file *f = create(&default_vm, 4 * P, MMAP | SHARED, 0);
	unsigned long pfn;
	size_t len;
	char *out = NULL, want[80];
	FILE *m;
	int order;

	ck_assert_int_eq(kvm_gmem_fallocate(f, KEEP, 0, 2 * P), 0);
	ck_assert_int_eq(kvm_gmem_get_pfn(f, 1, &pfn, &order), 0);
	ck_assert_int_eq(kvm_gmem_error_page(f, 1), 0);
	m = open_memstream(&out, &len);
	kvm_gmem_dump(f->inode, m);
	fclose(m);
	ck_assert_msg(strstr(out, " flags=0x3 (mmap|init_shared) order=0 "), "%s", out);
	ck_assert_msg(strstr(out, " 0: order=0 ref=1 map=0 flags=0x0\n"), "%s", out);
	snprintf(want, sizeof(want), " 1: order=0 ref=1 map=0 flags=0x%lx (uptodate|hwpoison)\n",
		 (1UL << PG_uptodate) | (1UL << PG_hwpoison));
	ck_assert_msg(strstr(out, want), "%s", out);
	free(out);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(gs_page_alloc_unpoison_all(), 1);
	assert_clean();
}
END_TEST

/*
 * A host address in text, as %p prints one: 12 hex digits from 0x5.. (the
 * heap of a PIE binary), 0x6.. (ASan's heap) or 0x7f.. (mmap, jemalloc).
 */
static const char *find_address(const char *s)
{
	for (const char *p = strstr(s, "0x"); p; p = strstr(p + 2, "0x")) {
		size_t n = strspn(p + 2, "0123456789abcdef");

		if (n == 12 && strchr("567", p[2]))
			return p;
	}
	return strstr(s, "(nil)");
}

/* Every checker's output reads the same in every run: no heap address names an object. */
START_TEST(test_check_output_has_no_addresses)
{
	struct gmem_file *f;
	struct hugepage_subpool *spool;
	struct folio *free_folio;
	long rsv;
	size_t len;
	char *out = NULL;
	unsigned int bad;
	FILE *m;

	ck_assert(find_address("folio 0x55d0c0ffee00 x") && find_address("at 0x7f1234567890"));
	ck_assert(find_address("spool 0x602000000010:"));
	ck_assert(!find_address("pfn 0x40200 gpa 0x100000000 size 0x10000000000"));
	ck_assert_int_eq(set_max_huge_pages(H2M, 2), 0);
	f = create(&huge_vm, HP, HUGETLB, 9);
	spool = f->inode->spool;
	free_folio = list_first_entry(&H2M->hugepage_freelist, struct folio, lru);
	/* Break a subpool and a free folio, as a bug would, and read what the checkers say. */
	rsv = spool->rsv_hpages;
	spool->rsv_hpages = -1;
	free_folio->_refcount.counter++;
	m = open_memstream(&out, &len);
	bad = gs_check_run_all(m);
	fclose(m);
	spool->rsv_hpages = rsv;
	free_folio->_refcount.counter--;
	ck_assert_uint_ge(bad, 2);
	ck_assert_msg(strstr(out, "subpool #0 ") && strstr(out, "free folio pfn 0x"), "%s", out);
	ck_assert_msg(!find_address(out), "an address in check output: %s", out);
	free(out);
	kvm_gmem_fput(f);
	assert_clean();
}
END_TEST

static uint64_t site_allocs(unsigned int site)
{
	struct gs_site_stats st;

	ck_assert_int_eq(gs_site_stats(site, &st), 0);
	return st.allocs;
}

/* The objects one VM's life allocates, through the uAPI. */
static void vm_life(void)
{
	struct gs_kvm_create_guest_memfd args = {.size = 4 * P, .flags = MMAP | SHARED};
	struct gs_kvm_userspace_memory_region2 mem = {
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = 1UL << 32,
		.memory_size = 4 * P,
	};
	struct gs_uapi *proc = gs_uapi_create(), *old;
	int kvm, vm, gmem;
	void *p;

	ck_assert_ptr_nonnull(proc);
	old = gs_uapi_switch(proc);
	kvm = gs_open("/dev/kvm", O_RDWR);
	vm = gs_ioctl(kvm, GS_KVM_CREATE_VM, 0UL);
	gmem = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(gmem, 0);
	mem.guest_memfd = (uint32_t)gmem;
	ck_assert_int_eq(gs_ioctl(vm, GS_KVM_SET_USER_MEMORY_REGION2, &mem), 0);
	ck_assert_int_eq(gs_fallocate(gmem, KEEP, 0, 4 * P), 0);
	p = gs_mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(gs_munmap(p, 4 * P), 0);
	gs_uapi_switch(old);
	/* The process exits with its fds open: they close as it goes. */
	gs_uapi_destroy(proc);
}

/* Every object a VM's life allocates is counted at a site named for it, none as kmalloc. */
START_TEST(test_sites_name_objects)
{
	static const struct {
		unsigned int site;
		uint64_t allocs;
	} want[] = {
		{GS_SITE_UAPI_FILES, 1}, {GS_SITE_KVM_VM, 1},	   {GS_SITE_GMEM_INODE, 1},
		{GS_SITE_GMEM_FILE, 1},	 {GS_SITE_KVM_MEMSLOT, 1}, {GS_SITE_GMEM_FALLOC, 1},
		{GS_SITE_UAPI_MMAP, 1},	 {GS_SITE_GMEM_VMA, 1},	   {GS_SITE_KMALLOC, 0},
	};
	uint64_t before[ARRAY_SIZE(want)];

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		before[i] = site_allocs(want[i].site);
	vm_life();
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		ck_assert_msg(site_allocs(want[i].site) - before[i] == want[i].allocs,
			      "site %s: %llu allocations, expected %llu",
			      gs_site_name(want[i].site),
			      (unsigned long long)(site_allocs(want[i].site) - before[i]),
			      (unsigned long long)want[i].allocs);
	/* A file and its inode are two sites: failing the file's leaves no inode behind. */
	{
		struct gs_inject_rule r = {
			.site = GS_SITE_GMEM_FILE, .mode = GS_INJECT_NTH, .nth = 1};
		struct gmem_file *file = NULL;
		int id = gs_inject_arm(&r);

		ck_assert_int_eq(kvm_gmem_create(&default_vm, 4 * P, 0, 0, &file), -ENOMEM);
		ck_assert_uint_eq(gs_inject_rule_fired(id), 1);
		gs_inject_disarm(id);
		ck_assert_ptr_null(file);
	}
	assert_clean();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("gmem");
	TCase *tc_create = tcase_create("create");
	TCase *tc_falloc = tcase_create("fallocate");
	TCase *tc_host = tcase_create("host");
	TCase *tc_guest = tcase_create("guest");
	TCase *tc_fi = tcase_create("fault-injection");

	tcase_add_checked_fixture(tc_create, setup, teardown);
	tcase_add_test(tc_create, test_supported_flags);
	tcase_add_test(tc_create, test_create_each_flag);
	tcase_add_test(tc_create, test_create_invalid_sizes);
	tcase_add_test(tc_create, test_create_hugetlb_checks);
	tcase_add_test(tc_create, test_fstat);
	tcase_add_test(tc_create, test_fstat_hugetlb);
	suite_add_tcase(s, tc_create);

	tcase_add_checked_fixture(tc_falloc, setup, teardown);
	tcase_add_test(tc_falloc, test_fallocate_check_order);
	tcase_add_test(tc_falloc, test_fallocate_sequence);
	tcase_add_test(tc_falloc, test_fallocate_beyond_machine);
	tcase_add_test(tc_falloc, test_invalid_punch_hole);
	tcase_add_test(tc_falloc, test_fallocate_hugetlb);
	tcase_add_test(tc_falloc, test_hugetlb_page_cache_refs);
	tcase_add_test(tc_falloc, test_hugetlb_poison_raw_page_split);
	tcase_add_test(tc_falloc, test_check_pass_split_snapshot);
	tcase_add_test(tc_falloc, test_hugetlb_poison_reserved_page_waits);
	suite_add_tcase(s, tc_falloc);

	tcase_add_checked_fixture(tc_host, setup, teardown);
	tcase_add_test(tc_host, test_mmap_rules);
	tcase_add_test(tc_host, test_fault_private);
	tcase_add_test(tc_host, test_mmap_supported);
	tcase_add_test(tc_host, test_fault_overflow);
	tcase_add_test(tc_host, test_pin);
	suite_add_tcase(s, tc_host);

	tcase_add_checked_fixture(tc_guest, setup, teardown);
	tcase_add_test(tc_guest, test_get_pfn);
	tcase_add_test(tc_guest, test_memory_failure);
	tcase_add_test(tc_guest, test_release_with_mapping);
	tcase_add_test(tc_guest, test_checker);
	tcase_add_test(tc_guest, test_checker_piece_before_siblings);
	tcase_add_test(tc_guest, test_checker_foreign_piece);
	tcase_add_test(tc_guest, test_dump_flag_names);
	tcase_add_test(tc_guest, test_check_output_has_no_addresses);
	suite_add_tcase(s, tc_guest);

	tcase_add_checked_fixture(tc_fi, setup, teardown);
	tcase_add_test(tc_fi, test_fi_create);
	tcase_add_test(tc_fi, test_fi_fallocate);
	tcase_add_test(tc_fi, test_fi_fault);
	tcase_add_test(tc_fi, test_sites_name_objects);
	suite_add_tcase(s, tc_fi);
	return s;
}
