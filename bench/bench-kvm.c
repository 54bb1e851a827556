// SPDX-License-Identifier: MIT
/*
 * The KVM stage-2 model's zap cost against how much else is mapped: a 4 KiB
 * zap (kvm_unmap_gfn_range(), and the punch that starts with one) with
 * nothing else mapped, then with the rest of a 1 GiB slot mapped as 262,144
 * 4 KiB leaves. Conversion zaps on every call, so the two must cost the
 * same: a zap visits the leaves in its range and one covering leaf per
 * level, never its neighbours. Also the split of a 1 GiB private leaf
 * around a 4 KiB boundary (kvm_split_cross_boundary_leafs()) and all the way
 * to 4 KiB (kvm_split_huge_leafs()). Pages are
 * metadata-only; figures in docs/PERFORMANCE.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/kvm.h>
#include "bench.h"
#include <gmemsim/internal/page_alloc.h>

#define GPA_4G	      (4ULL << 30)
#define GFN_4G	      (GPA_4G >> PAGE_SHIFT)
#define NR_1G	      (1UL << 18) /* 4 KiB pages in 1 GiB */
#define NR_ZAPS	      4096
#define PUNCH	      (GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE)
#define NR_SPLIT      64
#define NR_SPLIT_FULL 4

struct setup {
	struct kvm *kvm;
	struct gmem_file *f;
};

static void vm_with_file(struct setup *s, uint64_t flags, uint64_t order)
{
	struct gs_kvm_create_guest_memfd args = {
		.size = 1ULL << 30, .flags = flags, .page_order = order};
	struct gs_kvm_userspace_memory_region2 mem = {
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = GPA_4G,
		.memory_size = 1ULL << 30,
	};

	if (kvm_create_vm(GS_KVM_X86_SW_PROTECTED_VM, GS_GMEM_PROFILE_DESIGN, &s->kvm) ||
	    kvm_vm_create_guest_memfd(s->kvm, &args, &s->f) ||
	    kvm_set_user_memory_region2(s->kvm, &mem, s->f))
		abort();
}

static void teardown(struct setup *s)
{
	kvm_gmem_fput(s->f);
	kvm_destroy_vm(s->kvm);
}

/* Private faults on pages [first, first + n) of the slot. */
static void map_4k(struct kvm *kvm, unsigned long first, unsigned long n)
{
	int level;

	for (unsigned long i = first; i < first + n; i++)
		if (kvm_tdp_map_private(kvm, GFN_4G + i, &level) || level != PG_LEVEL_4K)
			abort();
}

/* The last NR_ZAPS pages of the 1 GiB: farthest from the boundary below them. */
/* @tag tells apart the workloads' otherwise identical bodies, so none is folded into another. */
static inline void zap_loop(struct kvm *kvm, int n, uint64_t tag)
{
	for (int i = 0; i < n; i++) {
		struct kvm_gfn_range range = {
			.start = GFN_4G + NR_1G - NR_ZAPS + (unsigned long)i,
			.end = GFN_4G + NR_1G - NR_ZAPS + (unsigned long)i + 1,
			.attr_filter = KVM_FILTER_PRIVATE,
		};

		kvm_mmu_invalidate_begin(kvm);
		bench_sink += kvm_mmu_unmap_gfn_range(kvm, &range);
		kvm_mmu_invalidate_end(kvm);
	}
	bench_sink += tag;
}

static inline void punch_loop(struct gmem_file *f, int n, uint64_t tag)
{
	for (int i = 0; i < n; i++)
		if (kvm_gmem_fallocate(f, PUNCH,
				       (loff_t)((NR_1G - NR_ZAPS + (unsigned long)i) << PAGE_SHIFT),
				       PAGE_SIZE))
			abort();
	bench_sink += tag;
}

/* One function per workload, so callgrind --toggle-collect can count each alone. */
static __attribute__((noinline)) void bench_zap_4k_alone(struct kvm *kvm, int n)
{
	zap_loop(kvm, n, 1);
}

static __attribute__((noinline)) void bench_zap_4k_262144(struct kvm *kvm, int n)
{
	zap_loop(kvm, n, 2);
}

static __attribute__((noinline)) void bench_punch_4k_alone(struct gmem_file *f, int n)
{
	punch_loop(f, n, 1);
}

static __attribute__((noinline)) void bench_punch_4k_262144(struct gmem_file *f, int n)
{
	punch_loop(f, n, 2);
}

#define TIMED(fn, arg, n)                       \
	({                                      \
		uint64_t __t0 = bench_now_ns(); \
		fn(arg, n);                     \
		bench_now_ns() - __t0;          \
	})

static void teardown_zap(struct setup *s, bool others)
{
	if (s->kvm->nr_leaves[PG_LEVEL_4K] != (others ? NR_1G - NR_ZAPS : 0))
		abort();
	teardown(s);
}

/* Only the pages to be zapped mapped, or every page of the 1 GiB slot. */
static void run_zap(void)
{
	struct setup s;

	vm_with_file(&s, 0, 0);
	map_4k(s.kvm, NR_1G - NR_ZAPS, NR_ZAPS);
	bench_report("kvm.zap_4k_alone", TIMED(bench_zap_4k_alone, s.kvm, NR_ZAPS), NR_ZAPS);
	map_4k(s.kvm, NR_1G - NR_ZAPS, NR_ZAPS);
	bench_report("gmem.punch_4k_alone", TIMED(bench_punch_4k_alone, s.f, NR_ZAPS), NR_ZAPS);
	teardown_zap(&s, false);
	vm_with_file(&s, 0, 0);
	map_4k(s.kvm, 0, NR_1G);
	bench_report("kvm.zap_4k_262144", TIMED(bench_zap_4k_262144, s.kvm, NR_ZAPS), NR_ZAPS);
	map_4k(s.kvm, NR_1G - NR_ZAPS, NR_ZAPS);
	bench_report("gmem.punch_4k_262144", TIMED(bench_punch_4k_262144, s.f, NR_ZAPS), NR_ZAPS);
	teardown_zap(&s, true);
}

/* One split of the 1 GiB leaf around a 4 KiB page: 511 2M leaves and 512 4K ones. */
static __attribute__((noinline)) void bench_split_1g(struct kvm *kvm, int i)
{
	struct kvm_gfn_range range = {
		.start = GFN_4G + 1000 + (unsigned long)i,
		.end = GFN_4G + 1001 + (unsigned long)i,
		.attr_filter = KVM_FILTER_PRIVATE,
	};

	if (kvm_split_cross_boundary_leafs(kvm, &range))
		abort();
}

/* Every leaf over the 1 GiB page to 4 KiB: what splitting its folio to order 0 needs first. */
static __attribute__((noinline)) void bench_split_1g_to_4k(struct kvm *kvm, int i)
{
	struct kvm_gfn_range range = {
		.start = GFN_4G + (unsigned long)i,
		.end = GFN_4G + (unsigned long)i + 1,
		.attr_filter = KVM_FILTER_PRIVATE,
	};

	if (kvm_split_huge_leafs(kvm, &range, PG_LEVEL_4K))
		abort();
}

/* Map the 1 GiB page with one private leaf, split it (timed), zap it all. */
static void run_split(void)
{
	struct kvm_gfn_range all = {
		.start = GFN_4G, .end = GFN_4G + NR_1G, .attr_filter = KVM_FILTER_PRIVATE};
	struct hstate *h1g = &hstates[1];
	uint64_t ns = 0;
	struct setup s;
	int level;

	if (set_max_huge_pages(h1g, 1) || h1g->nr_huge_pages != 1)
		abort();
	vm_with_file(&s, GS_GUEST_MEMFD_FLAG_HUGETLB, 18);
	for (int i = 0; i < NR_SPLIT; i++) {
		if (kvm_tdp_map_private(s.kvm, GFN_4G, &level) || level != PG_LEVEL_1G)
			abort();
		ns += TIMED(bench_split_1g, s.kvm, i);
		if (s.kvm->nr_leaves[PG_LEVEL_2M] != 511 || s.kvm->nr_leaves[PG_LEVEL_4K] != 512)
			abort();
		kvm_mmu_invalidate_begin(s.kvm);
		kvm_mmu_unmap_gfn_range(s.kvm, &all);
		kvm_mmu_invalidate_end(s.kvm);
	}
	bench_report("kvm.split_1g", ns, NR_SPLIT);
	ns = 0;
	for (int i = 0; i < NR_SPLIT_FULL; i++) {
		if (kvm_tdp_map_private(s.kvm, GFN_4G, &level) || level != PG_LEVEL_1G)
			abort();
		ns += TIMED(bench_split_1g_to_4k, s.kvm, i);
		if (s.kvm->nr_leaves[PG_LEVEL_4K] != NR_1G)
			abort();
		kvm_mmu_invalidate_begin(s.kvm);
		kvm_mmu_unmap_gfn_range(s.kvm, &all);
		kvm_mmu_invalidate_end(s.kvm);
	}
	bench_report("kvm.split_1g_to_4k", ns, NR_SPLIT_FULL);
	teardown(&s);
	set_max_huge_pages(h1g, 0);
}

int main(void)
{
	static struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	static struct gs_hugetlb_backend be;

	gs_page_alloc_set_backing(GS_BACKING_NONE);
	be = gs_hugetlb_host_backend(&host);
	if (hugetlb_set_backend(&be))
		abort();
	run_zap();
	run_split();
	hugetlb_set_backend(NULL);
	return 0;
}
