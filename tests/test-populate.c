// SPDX-License-Identifier: MIT
/*
 * The arch side of guest_memfd's guest path: the prepare hook get_pfn calls
 * for private pages (spec P12) and the arch invalidate hook (conversion to
 * shared, truncation), SNP's per-pfn RMP state behind them; populate as the
 * CoCo launch helpers use it (rule 45, P16, §4.14): its checks, clamping,
 * return value, the NULL source, the old EEXIST rule, HugeTLB folios whole
 * and split; and the wip ordering's mapping-order bug (P39, §4.17) against
 * the rounded-down rule on the same sequences, with the proof by exhaustion
 * that it can only map smaller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/physmem.h>
#include <gmemsim/sites.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>

#include "harness.h"

#define P	((uint64_t)PAGE_SIZE)
#define HP	(2ULL << 20)
#define GPA	(4ULL << 30)
#define GFN	(GPA >> PAGE_SHIFT)
#define H2M	(&hstates[0])
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB
#define GMEM	GS_KVM_MEM_GUEST_MEMFD
#define PRIVATE GS_KVM_MEMORY_ATTRIBUTE_PRIVATE

static struct gs_hugetlb_host host_mem = {.backing = GS_BACKING_ANON};
static struct gs_hugetlb_backend backend;

static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	gs_gmem_pfn_stats(true);
	backend = gs_hugetlb_host_backend(&host_mem);
	ck_assert_int_eq(hugetlb_set_backend(&backend), 0);
}

static void teardown(void)
{
	gs_inject_reset();
	hugetlb_restructuring_run_deferred();
	set_max_huge_pages(H2M, 0);
}

static void assert_clean(void)
{
	hugetlb_restructuring_run_deferred();
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	set_max_huge_pages(H2M, 0);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	gs_test_assert_no_leaks();
}

static struct kvm *vm_with(unsigned long type, bool vm_attrs, enum gs_gmem_conversion c,
			   bool eexist)
{
	struct kvm_params p = kvm_default_params(GS_GMEM_PROFILE_DESIGN);
	struct kvm *kvm;

	p.vm_memory_attributes = vm_attrs;
	p.conversion = c;
	p.populate_eexist = eexist;
	ck_assert_int_eq(kvm_create_vm_params(type, &p, &kvm), 0);
	return kvm;
}

static struct kvm *vm(unsigned long type)
{
	return vm_with(type, false, GS_CONVERSION_PLANNED, false);
}

/* A file of @size bound at GPA over @slot_size bytes. */
static struct gmem_file *bound(struct kvm *kvm, uint64_t size, uint64_t flags, uint64_t order,
			       uint64_t slot_size)
{
	struct gs_kvm_create_guest_memfd args = {.size = size, .flags = flags, .page_order = order};
	struct gs_kvm_userspace_memory_region2 mem = {
		.flags = GMEM, .guest_phys_addr = GPA, .memory_size = slot_size};
	struct gmem_file *f;

	ck_assert_int_eq(kvm_vm_create_guest_memfd(kvm, &args, &f), 0);
	ck_assert_int_eq(kvm_set_user_memory_region2(kvm, &mem, f), 0);
	return f;
}

static int convert(struct gmem_file *f, uint64_t off, uint64_t len, bool private)
{
	struct gs_kvm_memory_attributes2 a = {
		.offset = off, .size = len, .attributes = private ? PRIVATE : 0};

	return kvm_gmem_set_attributes(f, &a);
}

static struct folio *folio_at(struct gmem_file *f, pgoff_t index)
{
	return xa_load(&f->inode->filemap, index);
}

/* The byte at the start of file page @index (the page must be backed by data). */
static unsigned char byte_at(struct gmem_file *f, pgoff_t index)
{
	struct folio *folio = folio_at(f, index);
	unsigned char *data = gs_pfn_to_virt(folio_pfn(folio) + (index - folio->index));

	ck_assert_ptr_nonnull(data);
	return data[0];
}

static int fault(struct kvm *kvm, gfn_t gfn, bool private, int *level)
{
	struct kvm_fault fl = {.gfn = gfn, .private = private};
	int err = kvm_tdp_page_fault(kvm, &fl);

	*level = fl.level;
	return err;
}

/* Rule 45: every check, the clamp, the count, post_populate again, EFAULT once closed. */
START_TEST(test_populate_checks)
{
	struct kvm *kvm = vm(GS_KVM_X86_SW_PROTECTED_VM);
	struct gmem_file *f = bound(kvm, 16 * P, 0, 0, 8 * P);
	struct gs_kvm_userspace_memory_region2 plain = {
		.slot = 1, .guest_phys_addr = 2 * GPA, .memory_size = 4 * P};
	static unsigned char src[4 * PAGE_SIZE];

	memset(src, 0x41, sizeof(src));
	ck_assert_int_eq(kvm_set_user_memory_region2(kvm, &plain, NULL), 0);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 0), -EINVAL);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, -1), -EINVAL);
	/* no slot, and a slot without guest_memfd */
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, 3 * GFN, src, 1), -EINVAL);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, 2 * GFN, src, 1), -EINVAL);
	ck_assert_ptr_null(folio_at(f, 0));

	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 2), 2);
	ck_assert_uint_eq(byte_at(f, 0), 0x41);
	ck_assert_uint_eq(byte_at(f, 1), 0x41);
	ck_assert(folio_test_uptodate(folio_at(f, 1)));
	/* clamped to the slot: 2 of 4 */
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN + 6, src, 4), 2);
	ck_assert_ptr_null(folio_at(f, 8));
	/* again: current upstream has no EEXIST, post_populate copies again */
	memset(src, 0x42, P);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 1), 1);
	ck_assert_uint_eq(byte_at(f, 0), 0x42);
	ck_assert_uint_eq(kvm->arch_stats.populated, 5);
	ck_assert_uint_eq(kvm->arch_stats.populate_copies, 5);
	/* P16: NULL source, the data stays as it is */
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN + 1, NULL, 1), 1);
	ck_assert_uint_eq(byte_at(f, 1), 0x41);
	ck_assert_uint_eq(kvm->arch_stats.populate_copies, 5);

	/* a shared gfn: EINVAL, after the folio was looked up (allocated) as upstream */
	ck_assert_int_eq(convert(f, 3 * P, P, false), 0);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN + 3, src, 1), -EINVAL);
	ck_assert_ptr_nonnull(folio_at(f, 3));
	/* stops at the first shared page: the pages before it are the answer */
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN + 2, src, 3), 1);
	ck_assert_uint_eq(gs_gmem_pfn_stats(false).populate_errors, 2);

	kvm_gmem_fput(f);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 1), -EFAULT);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* P16 per VM: a NULL source needs in-place conversion; per-VM attributes decide PRIVATE. */
START_TEST(test_populate_null_source_per_vm)
{
	struct kvm *kvm = vm_with(GS_KVM_X86_SW_PROTECTED_VM, true, GS_CONVERSION_PLANNED, false);
	struct gmem_file *f = bound(kvm, 4 * P, 0, 0, 4 * P);
	struct gs_kvm_memory_attributes a = {.address = GPA, .size = 4 * P, .attributes = PRIVATE};
	static unsigned char src[PAGE_SIZE];

	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, NULL, 1), -EINVAL);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 1), -EINVAL);
	ck_assert_int_eq(kvm_vm_set_memory_attributes(kvm, &a), 0);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, NULL, 1), -EINVAL);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 1), 1);
	/* the launch helpers of the other types refuse this VM */
	ck_assert_int_eq(snp_launch_update(kvm, GFN, src, 1), -EINVAL);
	ck_assert_int_eq(tdx_init_mem_region(kvm, GFN, src, 1), -EINVAL);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);

	/* TDX with in-place conversion: INIT_MEM_REGION without a source */
	kvm = vm(GS_KVM_X86_TDX_VM);
	f = bound(kvm, 4 * P, 0, 0, 4 * P);
	ck_assert_int_eq(tdx_init_mem_region(kvm, GFN, NULL, 4), 4);
	ck_assert_uint_eq(kvm->arch_stats.populated, 4);
	ck_assert_uint_eq(kvm->arch_stats.populate_copies, 0);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* §4.14: the 6.8-6.1x rule, selectable per VM: an uptodate folio is EEXIST. */
START_TEST(test_populate_eexist)
{
	struct kvm *kvm = vm_with(GS_KVM_X86_SW_PROTECTED_VM, false, GS_CONVERSION_PLANNED, true);
	struct gmem_file *f = bound(kvm, 4 * P, 0, 0, 4 * P);
	static unsigned char src[4 * PAGE_SIZE];
	int level;

	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 1), 1);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN, src, 2), -EEXIST);
	/* a page the guest touched first is uptodate too */
	ck_assert_int_eq(fault(kvm, GFN + 2, true, &level), 0);
	ck_assert_int_eq(gs_kvm_launch_populate(kvm, GFN + 1, src, 3), 1);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* P12: the hook runs on private get_pfn only, every time; conversion and back prepares again. */
START_TEST(test_prepare_private_only)
{
	struct kvm *kvm = vm(GS_KVM_X86_SW_PROTECTED_VM);
	struct gmem_file *f = bound(kvm, 4 * P, MMAP, 0, 4 * P);
	unsigned long pfn;
	int level, order;

	ck_assert_int_eq(fault(kvm, GFN, true, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 1);
	/* a direct get_pfn of the same page prepares again: no "prepared" state in guest_memfd */
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, GFN), GFN, &pfn, &order), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 2);
	ck_assert_int_eq(convert(f, P, P, false), 0);
	ck_assert_int_eq(fault(kvm, GFN + 1, false, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 2);
	ck_assert_uint_eq(gs_gmem_pfn_stats(false).prepare_shared, 1);
	/* to shared after prepare, then back: the next private fault prepares again */
	ck_assert_int_eq(convert(f, 0, P, false), 0);
	ck_assert_int_eq(convert(f, 0, 2 * P, true), 0);
	ck_assert_int_eq(fault(kvm, GFN, true, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 3);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 0);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);

	/* per-VM attributes: every get_pfn prepares (upstream before v8) */
	kvm = vm_with(GS_KVM_X86_SW_PROTECTED_VM, true, GS_CONVERSION_PLANNED, false);
	f = bound(kvm, 4 * P, 0, 0, 4 * P);
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, GFN), GFN, &pfn, &order), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 1);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* SNP: the RMP is assigned once per pfn until invalidated (conversion, truncation). */
START_TEST(test_snp_rmp_lifecycle)
{
	struct kvm *kvm = vm(GS_KVM_X86_SNP_VM);
	struct gmem_file *f = bound(kvm, 8 * P, 0, 0, 8 * P);
	static unsigned char src[2 * PAGE_SIZE];
	int level;

	ck_assert_int_eq(snp_launch_update(kvm, GFN, src, 2), 2);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 2);
	/* SEV's post_populate: an assigned pfn cannot be populated again */
	ck_assert_int_eq(snp_launch_update(kvm, GFN + 1, src, 2), -EINVAL);
	ck_assert_int_eq(fault(kvm, GFN, true, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 1);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 0);
	ck_assert_int_eq(fault(kvm, GFN + 2, true, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 1);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 3);
	ck_assert_int_eq(snp_launch_update(kvm, GFN + 2, src, 1), -EINVAL);

	ck_assert_int_eq(convert(f, 0, 3 * P, false), 0);
	ck_assert_uint_eq(kvm->arch_stats.invalidate_pfns, 3);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 0);
	ck_assert(xa_empty(&kvm->rmp));
	ck_assert_int_eq(convert(f, 0, 3 * P, true), 0);
	ck_assert_int_eq(fault(kvm, GFN, true, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 2);
	/* punch: the folio leaves the page cache, the arch gets the pfn back */
	ck_assert_int_eq(
		kvm_gmem_fallocate(f, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE, 0, 8 * P),
		0);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 0);
	ck_assert_uint_eq(kvm->arch_stats.invalidate_pfns, 4);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/*
 * The invalidate hook skips its walk of the VMs while none is SNP: an SNP
 * VM made after VMs of both kinds came and went still gets its pfns back.
 */
START_TEST(test_snp_invalidate_after_vms_went)
{
	static unsigned char src[2 * PAGE_SIZE];
	struct kvm *kvm = vm(GS_KVM_X86_SW_PROTECTED_VM);
	struct gmem_file *f;

	kvm_destroy_vm(kvm);
	kvm = vm(GS_KVM_X86_SNP_VM);
	kvm_destroy_vm(kvm);
	kvm = vm(GS_KVM_X86_SNP_VM);
	f = bound(kvm, 4 * P, 0, 0, 4 * P);
	ck_assert_int_eq(snp_launch_update(kvm, GFN, src, 2), 2);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 2);
	ck_assert_int_eq(convert(f, 0, 2 * P, false), 0);
	ck_assert_uint_eq(kvm->arch_stats.invalidate_pfns, 2);
	ck_assert(xa_empty(&kvm->rmp));
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/*
 * The arch hook is asked whether it has work once per conversion and per
 * truncation, not once per file: a file made before any SNP VM existed
 * converts with no work for the hook, and an SNP VM's file made later gets
 * its pfns back from conversions and punches; the pfns are counted for
 * both files.
 */
START_TEST(test_snp_invalidate_asked_per_operation)
{
	static unsigned char src[2 * PAGE_SIZE];
	struct kvm *sw = vm(GS_KVM_X86_SW_PROTECTED_VM), *snp;
	struct gmem_file *f = bound(sw, 4 * P, 0, 0, 4 * P), *g;
	unsigned long before = gs_gmem_convert_stats(false).arch_invalidate_pfns;
	int level;

	ck_assert_int_eq(fault(sw, GFN, true, &level), 0);
	ck_assert_int_eq(convert(f, 0, 4 * P, false), 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).arch_invalidate_pfns, before + 1);
	snp = vm(GS_KVM_X86_SNP_VM);
	g = bound(snp, 4 * P, 0, 0, 4 * P);
	ck_assert_int_eq(snp_launch_update(snp, GFN, src, 2), 2);
	ck_assert_uint_eq(snp->arch_stats.rmp_assigned, 2);
	/* The other VM's file: the hook runs, and finds none of its pfns in the RMP. */
	ck_assert_int_eq(convert(f, 0, 4 * P, true), 0);
	ck_assert_int_eq(convert(f, 0, 4 * P, false), 0);
	ck_assert_uint_eq(snp->arch_stats.rmp_assigned, 2);
	ck_assert_int_eq(convert(g, P, P, false), 0);
	ck_assert_uint_eq(snp->arch_stats.invalidate_pfns, 1);
	ck_assert_uint_eq(snp->arch_stats.rmp_assigned, 1);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).arch_invalidate_pfns, before + 3);
	ck_assert_int_eq(
		kvm_gmem_fallocate(g, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE, 0, 4 * P),
		0);
	ck_assert_uint_eq(snp->arch_stats.invalidate_pfns, 2);
	ck_assert(xa_empty(&snp->rmp));
	kvm_gmem_fput(g);
	kvm_destroy_vm(snp);
	kvm_gmem_fput(f);
	kvm_destroy_vm(sw);
	assert_clean();
}
END_TEST

/* A failed prepare is get_pfn's answer; the RMP is as before, the folio stays (as upstream). */
START_TEST(test_prepare_failure_propagates)
{
	struct kvm *kvm = vm(GS_KVM_X86_SNP_VM);
	struct gmem_file *f;
	unsigned long pfn;
	int order, level, id;

	set_max_huge_pages(H2M, 2);
	f = bound(kvm, 2 * HP, HUGETLB, 9, 2 * HP);
	ck_assert_int_eq(kvm_gmem_fallocate(f, GS_FALLOC_FL_KEEP_SIZE, 0, HP), 0);
	/* the RMP's third node allocation fails: the stores before it are taken back */
	id = gs_inject_arm(&(struct gs_inject_rule){
		.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_NTH, .nth = 3, .persistent = true});
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, GFN), GFN, &pfn, &order),
			 -ENOMEM);
	gs_inject_disarm(id);
	ck_assert_uint_ge(gs_inject_rule_fired(id), 1);
	ck_assert(xa_empty(&kvm->rmp));
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 0);
	ck_assert_uint_eq(gs_gmem_pfn_stats(false).prepare_errors, 1);
	ck_assert_ptr_nonnull(folio_at(f, 0));
	/* the fault exits to userspace with the error, and maps nothing */
	id = gs_inject_arm(
		&(struct gs_inject_rule){.site = GS_SITE_XARRAY_NODE, .mode = GS_INJECT_EVERY});
	ck_assert_int_eq(fault(kvm, GFN, true, &level), -ENOMEM);
	gs_inject_disarm(id);
	ck_assert_int_eq(level, 0);
	ck_assert_int_eq(kvm_stage2_level(kvm, GFN), 0);
	/* without injection: the whole folio at once (order 9, one call) */
	ck_assert_int_eq(fault(kvm, GFN, true, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_2M);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 512);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* Prepare granularity on HugeTLB: the folio; split and merge keep each pfn's state. */
START_TEST(test_prepare_hugetlb_split_merge)
{
	struct kvm *kvm = vm(GS_KVM_X86_SNP_VM);
	struct gmem_file *f;
	static unsigned char src[16 * PAGE_SIZE];
	unsigned long pfn;
	int level, order;

	set_max_huge_pages(H2M, 2);
	f = bound(kvm, 2 * HP, HUGETLB, 9, 2 * HP);
	/* populate over a whole huge folio, page by page: one folio, 512 pfns */
	memset(src, 7, sizeof(src));
	for (unsigned int i = 0; i < 512; i++)
		ck_assert_int_eq(snp_launch_update(kvm, GFN + i, src, 1), 1);
	ck_assert_uint_eq(folio_order(folio_at(f, 0)), 9);
	ck_assert_uint_eq(byte_at(f, 511), 7);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 512);
	ck_assert_int_eq(fault(kvm, GFN + 5, true, &level), 0);
	ck_assert_int_eq(level, PG_LEVEL_2M);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 0);
	/* one page shared: the folio splits, that pfn goes back */
	ck_assert_int_eq(convert(f, 7 * P, P, false), 0);
	ck_assert_uint_eq(folio_order(folio_at(f, 0)), 0);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 511);
	/* a piece: prepared alone (order 0; its 4K leaf is there since P40's split: get_pfn) */
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, GFN), GFN + 300, &pfn, &order),
			 0);
	ck_assert_int_eq(order, 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_calls, 2);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 0);
	/* merged back: the next fault prepares the huge folio, one pfn to assign */
	ck_assert_int_eq(convert(f, 7 * P, P, true), 0);
	ck_assert_uint_eq(folio_order(folio_at(f, 0)), 9);
	ck_assert_int_eq(fault(kvm, GFN + 7, true, &level), 0);
	ck_assert_uint_eq(kvm->arch_stats.prepare_pfns, 1);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 512);
	/* populate over split pieces of the second huge page */
	ck_assert_int_eq(convert(f, HP + 9 * P, P, false), 0);
	ck_assert_int_eq(snp_launch_update(kvm, GFN + 512, src, 16), 9);
	ck_assert_uint_eq(folio_order(folio_at(f, 512)), 0);
	ck_assert_uint_eq(kvm->arch_stats.rmp_assigned, 521);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	assert_clean();
}
END_TEST

/* Trace events by name: the P39 and prepare events a run emitted. */
struct seen {
	unsigned long short_order, prepare;
	uint64_t last_index;
};

static void seen_emit(void *ctx, uint64_t seq, const char *event,
		      const struct gs_trace_field *fields, size_t nr)
{
	struct seen *s = ctx;

	(void)seq;
	if (!strcmp(event, "gmem.mapping_order.short")) {
		s->short_order++;
		for (size_t i = 0; i < nr; i++)
			if (!strcmp(fields[i].key, "index"))
				s->last_index = fields[i].u;
	}
	s->prepare += !strcmp(event, "kvm.gmem_prepare");
}

/*
 * P39 on the same sequence: a whole private huge page, then one with a
 * shared page at 0x205. wip maps the fault at 0xa with 4K, planned with 2M.
 */
START_TEST(test_p39_wip_vs_planned)
{
	static const enum gs_gmem_conversion orders[] = {GS_CONVERSION_WIP, GS_CONVERSION_PLANNED};
	int want_level[] = {PG_LEVEL_4K, PG_LEVEL_2M};
	struct seen seen = {0};
	int sink = gs_trace_add_sink(&(struct gs_trace_sink){.emit = seen_emit, .ctx = &seen});

	ck_assert_int_ge(sink, 0);
	for (unsigned int c = 0; c < 2; c++) {
		struct kvm *kvm = vm_with(GS_KVM_X86_SW_PROTECTED_VM, false, orders[c], false);
		struct gmem_file *f;
		unsigned long before = gs_gmem_pfn_stats(false).mapping_order_short;
		int level;

		set_max_huge_pages(H2M, 2);
		f = bound(kvm, 2 * HP, HUGETLB, 9, 2 * HP);
		ck_assert_int_eq(convert(f, 0x205 * P, P, false), 0);
		ck_assert_int_eq(fault(kvm, GFN + 0xa, true, &level), 0);
		ck_assert_int_eq(level, want_level[c]);
		ck_assert_uint_eq(folio_order(folio_at(f, 0)), 9);
		ck_assert_uint_eq(kvm_gmem_mapping_order(f, 0x3), 9);
		ck_assert_uint_eq(kvm_gmem_mapping_order(f, 0xa), c ? 9 : 0);
		/* the last huge page, all private: wip's range runs past the file */
		ck_assert_int_eq(convert(f, 0x205 * P, P, true), 0);
		ck_assert_uint_eq(kvm_gmem_mapping_order(f, 0x200), 9);
		ck_assert_uint_eq(kvm_gmem_mapping_order(f, 0x201), c ? 9 : 0);
		ck_assert_uint_eq(gs_gmem_pfn_stats(false).mapping_order_short - before, c ? 0 : 1);
		/* one event, wip's, at the fault's index; a prepare event per private fault */
		ck_assert_uint_eq(seen.short_order, 1);
		ck_assert_uint_eq(seen.last_index, 0xa);
		ck_assert_uint_eq(seen.prepare, c + 1);
		ck_assert_uint_eq(gs_check_run_all(stderr), 0);
		kvm_gmem_fput(f);
		kvm_destroy_vm(kvm);
		assert_clean();
	}
	gs_trace_remove_sink(sink);
}
END_TEST

/*
 * The bug can only under-map: for every pattern of one shared page (or
 * none) over three huge pages and every index, wip's max_order is at most
 * planned's, planned's is the folio order, and the checkers hold.
 */
START_TEST(test_p39_only_under_maps)
{
	static const long shared_at[] = {-1, 0, 0x1ff, 0x200, 0x3ff, 0x400, 0x5ff};
	/* 0x5ff: the last page splits, and no unaligned range of the others reaches it */
	static const bool some_less[] = {true, true, true, true, true, true, false};

	for (unsigned int s = 0; s < ARRAY_SIZE(shared_at); s++) {
		struct kvm *w =
			vm_with(GS_KVM_X86_SW_PROTECTED_VM, false, GS_CONVERSION_WIP, false);
		struct kvm *p = vm(GS_KVM_X86_SW_PROTECTED_VM);
		struct gmem_file *fw, *fp;
		unsigned long less = 0;

		set_max_huge_pages(H2M, 6);
		fw = bound(w, 3 * HP, HUGETLB, 9, 3 * HP);
		fp = bound(p, 3 * HP, HUGETLB, 9, 3 * HP);
		if (shared_at[s] >= 0) {
			ck_assert_int_eq(convert(fw, (uint64_t)shared_at[s] * P, P, false), 0);
			ck_assert_int_eq(convert(fp, (uint64_t)shared_at[s] * P, P, false), 0);
		}
		for (pgoff_t i = 0; i < 3 * 512; i++) {
			unsigned long pfn;
			int ow, op;

			if ((long)i == shared_at[s])
				continue;
			ck_assert_int_eq(kvm_gmem_get_pfn(fw, i, &pfn, &ow), 0);
			ck_assert_int_eq(kvm_gmem_get_pfn(fp, i, &pfn, &op), 0);
			ck_assert_int_le(ow, op);
			ck_assert_int_eq(op, (int)folio_order(folio_at(fp, i)));
			less += ow < op;
		}
		/* a shared page a range can reach, or a last huge page whole: some map smaller */
		ck_assert(some_less[s] ? less > 0 : less == 0);
		ck_assert_uint_eq(gs_check_run_all(stderr), 0);
		kvm_gmem_fput(fw);
		kvm_gmem_fput(fp);
		kvm_destroy_vm(w);
		kvm_destroy_vm(p);
		assert_clean();
	}
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("populate");
	TCase *tc = tcase_create("populate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_populate_checks);
	tcase_add_test(tc, test_populate_null_source_per_vm);
	tcase_add_test(tc, test_populate_eexist);
	tcase_add_test(tc, test_prepare_private_only);
	tcase_add_test(tc, test_snp_rmp_lifecycle);
	tcase_add_test(tc, test_snp_invalidate_after_vms_went);
	tcase_add_test(tc, test_snp_invalidate_asked_per_operation);
	tcase_add_test(tc, test_prepare_failure_propagates);
	tcase_add_test(tc, test_prepare_hugetlb_split_merge);
	tcase_add_test(tc, test_p39_wip_vs_planned);
	tcase_add_test(tc, test_p39_only_under_maps);
	suite_add_tcase(s, tc);
	return s;
}
