// SPDX-License-Identifier: MIT
/*
 * Tests of VMs, memslots and stage-2 (lib/kvm.c) over guest_memfd: VM types
 * and KVM_CHECK_EXTENSION answers, every KVM_SET_USER_MEMORY_REGION2 and
 * binding errno, get_pfn through a slot (EFAULT after close, EIO), mapping
 * levels from the folio order, the slot's edges and (base_gfn ^ pgoff), and
 * zapping on punch, release and slot deletion; allocation failures of slot
 * creation leave nothing behind.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/warn.h>

#include "harness.h"
#include "page_alloc.h"

#define P	((uint64_t)PAGE_SIZE)
#define HP	(2ULL << 20)
#define GPA_4G	(4ULL << 30)
#define H2M	(&hstates[0])
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define SHARED	GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB
#define GMEM	GS_KVM_MEM_GUEST_MEMFD

static struct gs_hugetlb_host real_mem = {.backing = GS_BACKING_NONE};
static struct gs_hugetlb_backend real_backend;

static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	gs_page_alloc_set_backing(GS_BACKING_NONE);
	real_backend = gs_hugetlb_host_backend(&real_mem);
	ck_assert_int_eq(hugetlb_set_backend(&real_backend), 0);
}

static void teardown(void)
{
	gs_inject_reset();
	set_max_huge_pages(H2M, 0);
	gs_page_alloc_set_backing(GS_BACKING_ANON);
}

static void assert_clean(void)
{
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	set_max_huge_pages(H2M, 0);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	gs_test_assert_no_leaks();
}

static struct kvm *vm(unsigned long type)
{
	struct kvm *kvm;

	ck_assert_int_eq(kvm_create_vm(type, GS_GMEM_PROFILE_DESIGN, &kvm), 0);
	return kvm;
}

static struct gmem_file *gmem(struct kvm *kvm, uint64_t size, uint64_t flags, uint64_t order)
{
	struct gs_kvm_create_guest_memfd args = {.size = size, .flags = flags, .page_order = order};
	struct gmem_file *f;

	ck_assert_int_eq(kvm_vm_create_guest_memfd(kvm, &args, &f), 0);
	return f;
}

static int region(struct kvm *kvm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		  uint64_t offset, struct gmem_file *f)
{
	struct gs_kvm_userspace_memory_region2 mem = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.guest_memfd_offset = offset,
	};

	return kvm_set_user_memory_region2(kvm, &mem, f);
}

START_TEST(test_check_extension)
{
	struct kvm *def = vm(GS_KVM_X86_DEFAULT_VM), *sw = vm(GS_KVM_X86_SW_PROTECTED_VM);
	struct kvm *up, *bad = NULL;

	ck_assert_int_eq(kvm_vm_check_extension(NULL, GS_KVM_CAP_GUEST_MEMFD), 1);
	ck_assert_int_eq(kvm_vm_check_extension(NULL, GS_KVM_CAP_GUEST_MEMFD_FLAGS), MMAP | SHARED);
	ck_assert_int_eq(kvm_vm_check_extension(def, GS_KVM_CAP_GUEST_MEMFD_FLAGS),
			 MMAP | SHARED | HUGETLB);
	ck_assert_int_eq(kvm_vm_check_extension(sw, GS_KVM_CAP_GUEST_MEMFD_FLAGS), MMAP | HUGETLB);
	ck_assert_int_eq(kvm_vm_check_extension(def, GS_KVM_CAP_MEMORY_ATTRIBUTES), 0);
	ck_assert_int_eq(kvm_vm_check_extension(sw, GS_KVM_CAP_MEMORY_ATTRIBUTES),
			 GS_KVM_MEMORY_ATTRIBUTE_PRIVATE);
	ck_assert_int_eq(kvm_create_vm(GS_KVM_X86_DEFAULT_VM, GS_GMEM_PROFILE_UPSTREAM, &up), 0);
	ck_assert_int_eq(kvm_vm_check_extension(up, GS_KVM_CAP_GUEST_MEMFD_FLAGS), MMAP | SHARED);
	ck_assert_int_eq(kvm_create_vm(6, GS_GMEM_PROFILE_DESIGN, &bad), -EINVAL);
	ck_assert_int_eq(kvm_create_vm(GS_KVM_X86_SEV_VM, GS_GMEM_PROFILE_DESIGN, &bad), -EINVAL);
	ck_assert_int_eq(kvm_vm_check_extension(NULL, GS_KVM_CAP_VM_TYPES), 0x33);
	ck_assert_ptr_null(bad);
	kvm_destroy_vm(up);
	kvm_destroy_vm(sw);
	kvm_destroy_vm(def);
	assert_clean();
}
END_TEST

START_TEST(test_memslot_checks)
{
	struct kvm *kvm = vm(GS_KVM_X86_DEFAULT_VM), *other = vm(GS_KVM_X86_DEFAULT_VM);
	struct gmem_file *f = gmem(kvm, 4 * P, MMAP | SHARED, 0);
	struct gmem_file *g = gmem(other, 4 * P, 0, 0);

	ck_assert_int_eq(region(kvm, 1, GMEM | GS_KVM_MEM_LOG_DIRTY_PAGES, GPA_4G, P, 0, f),
			 -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM | GS_KVM_MEM_READONLY, GPA_4G, P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, 1U << 5, GPA_4G, P, 0, NULL), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, P + 1, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G + 1, P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, P, 1, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, P, UINT64_MAX - P + 1, f), -EINVAL);
	ck_assert_int_eq(region(kvm, KVM_USER_MEM_SLOTS, GMEM, GPA_4G, P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1U << 16, GMEM, GPA_4G, P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, UINT64_MAX - P + 1, 2 * P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 0, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, P, 0, NULL), -EBADF);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, P, 0, g), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 5 * P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 2 * P, 3 * P, f), -EINVAL);

	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 2 * P, 0, f), 0);
	/* Another slot on the same file pages; then one on the rest. */
	ck_assert_int_eq(region(kvm, 2, GMEM, 2 * GPA_4G, 2 * P, P, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 2, GMEM, GPA_4G + P, 2 * P, 2 * P, f), -EEXIST);
	ck_assert_int_eq(region(kvm, 2, GMEM, 2 * GPA_4G, 2 * P, 2 * P, f), 0);
	/* guest_memfd slots cannot change, only go and come back. */
	ck_assert_int_eq(region(kvm, 1, GMEM, 3 * GPA_4G, 2 * P, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, 0, GPA_4G, 2 * P, 0, NULL), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 0, 0, f), 0);
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 0, 0, f), -EINVAL);
	ck_assert_int_eq(region(kvm, 1, GMEM, 3 * GPA_4G, 2 * P, 0, f), 0);
	/* An ordinary slot may move. */
	ck_assert_int_eq(region(kvm, 3, 0, 0, 4 * P, 0, NULL), 0);
	ck_assert_int_eq(region(kvm, 3, 0, GPA_4G, 4 * P, 0, NULL), 0);
	ck_assert_int_eq(region(kvm, 3, 0, 3 * GPA_4G, 4 * P, 0, NULL), -EEXIST);

	kvm_gmem_fput(f);
	kvm_gmem_fput(g);
	kvm_destroy_vm(kvm);
	kvm_destroy_vm(other);
	assert_clean();
}
END_TEST

/* get_pfn through a slot; release leaves the slot without its file. */
START_TEST(test_get_pfn_and_release)
{
	struct kvm *kvm = vm(GS_KVM_X86_SW_PROTECTED_VM);
	struct gmem_file *f = gmem(kvm, 4 * P, 0, 0);
	gfn_t gfn = GPA_4G >> PAGE_SHIFT;
	struct kvm_memory_slot *slot;
	unsigned long pfn;
	int order, level;

	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 2 * P, 2 * P, f), 0);
	slot = kvm_find_slot(kvm, gfn + 1);
	ck_assert_ptr_nonnull(slot);
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(slot, gfn + 1, &pfn, &order), 0);
	ck_assert_int_eq(order, 0);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, gfn, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_4K);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_4K], 1);
	/* No slot there: a memory-fault exit. */
	ck_assert_int_eq(kvm_tdp_map_private(kvm, gfn + 2, &level), -EFAULT);
	/* Punch zaps the leaf. */
	ck_assert_int_eq(kvm_gmem_fallocate(f, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE,
					    2 * (loff_t)P, (loff_t)P),
			 0);
	ck_assert_int_eq(kvm_stage2_level(kvm, gfn), 0);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, gfn, &level), 0);
	kvm_gmem_fput(f);
	ck_assert_ptr_null(slot->gmem.file);
	ck_assert_int_eq(kvm_stage2_level(kvm, gfn), 0);
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(slot, gfn, &pfn, &order), -EFAULT);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, gfn, &level), -EFAULT);
	/* Deleting the slot of a released file is fine. */
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 0, 0, NULL), 0);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* Mapping levels: folio order, slot edges and (base_gfn ^ pgoff) (spec rule 35). */
START_TEST(test_mapping_level)
{
	struct kvm *kvm = vm(GS_KVM_X86_SW_PROTECTED_VM);
	struct gmem_file *f;
	gfn_t gfn = GPA_4G >> PAGE_SHIFT;
	int level;

	ck_assert_int_eq(set_max_huge_pages(H2M, 4), 0);
	f = gmem(kvm, 4 * HP, HUGETLB, 9);
	/* Aligned, whole huge pages: 2M leaves. */
	ck_assert_int_eq(region(kvm, 1, GMEM, GPA_4G, 2 * HP, 0, f), 0);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, gfn + 5, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_2M);
	ck_assert_int_eq(kvm_stage2_level(kvm, gfn + 511), PG_LEVEL_2M);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_2M], 1);
	/* gfn and file page misaligned by 4K: 4K leaves only. */
	ck_assert_int_eq(region(kvm, 2, GMEM, 2 * GPA_4G + P, HP, 2 * HP, f), 0);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, (2 * GPA_4G + P) >> PAGE_SHIFT, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_4K);
	/* A slot smaller than the huge page: 4K at its edges. */
	ck_assert_int_eq(region(kvm, 3, GMEM, 3 * GPA_4G, HP / 2, 3 * HP, f), 0);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, 3 * GPA_4G >> PAGE_SHIFT, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_4K);
	/* Punching the huge page zaps the 2M leaf. */
	ck_assert_int_eq(kvm_gmem_fallocate(f, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE, 0,
					    (loff_t)HP),
			 0);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_2M], 0);
	ck_assert_int_eq(kvm_stage2_level(kvm, gfn + 5), 0);
	kvm_gmem_fput(f);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_4K], 0);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* A 1G HugeTLB file (metadata only) maps with 1G leaves; half a slot with 2M at most. */
START_TEST(test_mapping_level_1g)
{
	struct kvm *kvm = vm(GS_KVM_X86_TDX_VM);
	struct hstate *h1g = &hstates[1];
	struct gmem_file *f;
	int level;

	ck_assert_int_eq(set_max_huge_pages(h1g, 1), 0);
	ck_assert_uint_eq(h1g->nr_huge_pages, 1);
	f = gmem(kvm, 1ULL << 30, HUGETLB, 18);
	ck_assert_int_eq(region(kvm, 0, GMEM, GPA_4G, 1ULL << 30, 0, f), 0);
	ck_assert_int_eq(region(kvm, 1, GMEM, 2 * GPA_4G, 0, 0, f), -EINVAL);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, (GPA_4G >> PAGE_SHIFT) + 12345, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_1G);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_1G], 1);
	ck_assert_int_eq(region(kvm, 0, GMEM, GPA_4G, 0, 0, NULL), 0);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_1G], 0);
	ck_assert_int_eq(region(kvm, 0, GMEM, GPA_4G, 1ULL << 29, 0, f), 0);
	ck_assert_int_eq(kvm_tdp_map_private(kvm, GPA_4G >> PAGE_SHIFT, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_2M);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	set_max_huge_pages(h1g, 0);
	ck_assert_uint_eq(h1g->nr_huge_pages, 0);
	assert_clean();
}
END_TEST

/* Slot creation failing at any allocation leaves no slot and no binding. */
struct fi_ctx {
	struct kvm *kvm;
	struct gmem_file *f;
};

static void fi_prepare(void *arg)
{
	struct fi_ctx *c = arg;

	c->kvm = vm(GS_KVM_X86_SW_PROTECTED_VM);
	c->f = gmem(c->kvm, 1024 * P, 0, 0);
}

static int fi_op(void *arg)
{
	struct fi_ctx *c = arg;

	return region(c->kvm, 7, GMEM, GPA_4G, 1000 * P, 8 * P, c->f);
}

static void fi_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct fi_ctx *c = arg;

	(void)n;
	if (ret) {
		ck_assert(injected);
		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert(xa_empty(&c->kvm->memslots));
		ck_assert(xa_empty(&c->f->bindings));
	}
	kvm_gmem_fput(c->f);
	kvm_destroy_vm(c->kvm);
	gs_test_assert_no_leaks();
}

START_TEST(test_fi_memslot)
{
	static const struct gs_fail_nth_ops ops = {fi_prepare, fi_op, fi_check};
	struct fi_ctx c;

	for (int persistent = 0; persistent < 2; persistent++) {
		struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE, .persistent = persistent};
		unsigned long iterations = 0;

		ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &iterations), 0);
		ck_assert_uint_gt(iterations, 1);
	}
	assert_clean();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("kvm");
	TCase *tc = tcase_create("kvm");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check_extension);
	tcase_add_test(tc, test_memslot_checks);
	tcase_add_test(tc, test_get_pfn_and_release);
	tcase_add_test(tc, test_mapping_level);
	tcase_add_test(tc, test_mapping_level_1g);
	tcase_add_test(tc, test_fi_memslot);
	suite_add_tcase(s, tc);
	return s;
}
