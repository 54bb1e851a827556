// SPDX-License-Identifier: MIT
/*
 * The guest_memfd and KVM layers' per-operation costs: fallocate and punch
 * of 4 KiB pages and of 2 MiB HugeTLB pages (from a subpool), host faults of
 * fresh pages, guest faults mapping 4 KiB and 2 MiB stage-2 leaves, and
 * VM-level KVM_SET_MEMORY_ATTRIBUTES over 2 MiB. Pages are metadata-only
 * (no guest data), so the figures are the model's own cost, not memset's.
 * The kernel has no published figures for these paths (anchors.md); they
 * are recorded in docs/PERFORMANCE.md to catch regressions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/kvm.h>
#include "bench.h"
#include <gmemsim/internal/page_alloc.h>

#define NR_4K	  16384 /* 64 MiB */
#define NR_2M	  256	/* 512 MiB */
#define GPA_4G	  (4ULL << 30)
#define HP_PAGES  512UL
#define HP	  (HP_PAGES * PAGE_SIZE)
#define PUNCH	  (GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE)
#define ATTR_REPS 256

static struct gmem_file *create(struct kvm *kvm, uint64_t size, uint64_t flags, uint64_t order)
{
	struct gs_kvm_create_guest_memfd args = {.size = size, .flags = flags, .page_order = order};
	struct gmem_file *f;

	if (kvm_vm_create_guest_memfd(kvm, &args, &f))
		abort();
	return f;
}

static void bind(struct kvm *kvm, struct gmem_file *f, uint64_t size)
{
	struct gs_kvm_userspace_memory_region2 mem = {
		.slot = 0,
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = GPA_4G,
		.memory_size = size,
	};

	if (kvm_set_user_memory_region2(kvm, &mem, f))
		abort();
}

/* fallocate() of one page at a time, over the whole file. */
static inline void falloc_loop(struct gmem_file *f, loff_t step, int n, int mode)
{
	for (int i = 0; i < n; i++)
		if (kvm_gmem_fallocate(f, mode, i * step, step))
			abort();
}

/* One function per workload, so callgrind --toggle-collect can count each alone. */
static __attribute__((noinline)) void bench_falloc_4k(struct gmem_file *f, int n)
{
	falloc_loop(f, PAGE_SIZE, n, GS_FALLOC_FL_KEEP_SIZE);
}

static __attribute__((noinline)) void bench_punch_4k(struct gmem_file *f, int n)
{
	falloc_loop(f, PAGE_SIZE, n, PUNCH);
}

static __attribute__((noinline)) void bench_falloc_2m(struct gmem_file *f, int n)
{
	falloc_loop(f, HP, n, GS_FALLOC_FL_KEEP_SIZE);
}

static __attribute__((noinline)) void bench_punch_2m(struct gmem_file *f, int n)
{
	falloc_loop(f, HP, n, PUNCH);
}

/* A host fault on each page of a fresh mapping: allocate, zero-on-first-use, map. */
static __attribute__((noinline)) void bench_host_fault(struct gmem_vma *vma, int n)
{
	for (int i = 0; i < n; i++)
		if (kvm_gmem_fault(vma, (unsigned long)i))
			abort();
}

/* A private guest fault per leaf: get_pfn, level, install. */
static inline void gfault_loop(struct kvm *kvm, unsigned long step, int n)
{
	int level = 0;

	for (int i = 0; i < n; i++)
		if (kvm_tdp_map_private(kvm, (GPA_4G >> PAGE_SHIFT) + i * step, &level))
			abort();
	bench_sink += (uint64_t)level;
}

static __attribute__((noinline)) void bench_gfault_4k(struct kvm *kvm, int n)
{
	gfault_loop(kvm, 1, n);
}

static __attribute__((noinline)) void bench_gfault_2m(struct kvm *kvm, int n)
{
	gfault_loop(kvm, HP_PAGES, n);
}

/* PRIVATE on, then off, over 2 MiB: 512 gfns each way, per pair. */
static __attribute__((noinline)) void bench_set_attributes(struct kvm *kvm, int n)
{
	struct gs_kvm_memory_attributes on = {
		.address = GPA_4G, .size = HP, .attributes = GS_KVM_MEMORY_ATTRIBUTE_PRIVATE};
	struct gs_kvm_memory_attributes off = {.address = GPA_4G, .size = HP};

	for (int i = 0; i < n; i++)
		if (kvm_vm_set_memory_attributes(kvm, &on) ||
		    kvm_vm_set_memory_attributes(kvm, &off))
			abort();
}

/* Time one call of @fn(@arg, @n). */
#define TIMED(fn, arg, n)                       \
	({                                      \
		uint64_t __t0 = bench_now_ns(); \
		fn(arg, n);                     \
		bench_now_ns() - __t0;          \
	})

static void run_4k(void)
{
	struct kvm *kvm;
	struct gmem_file *f;
	struct gmem_vma *vma;

	if (kvm_create_vm(GS_KVM_X86_SW_PROTECTED_VM, GS_GMEM_PROFILE_DESIGN, &kvm))
		abort();
	f = create(kvm, (uint64_t)NR_4K * PAGE_SIZE, 0, 0);
	bench_report("gmem.falloc_4k", TIMED(bench_falloc_4k, f, NR_4K), NR_4K);
	bind(kvm, f, (uint64_t)NR_4K * PAGE_SIZE);
	bench_report("kvm.gfault_4k", TIMED(bench_gfault_4k, kvm, NR_4K), NR_4K);
	bench_report("gmem.punch_4k", TIMED(bench_punch_4k, f, NR_4K), NR_4K);
	kvm_gmem_fput(f);
	f = create(kvm, (uint64_t)NR_4K * PAGE_SIZE,
		   GS_GUEST_MEMFD_FLAG_MMAP | GS_GUEST_MEMFD_FLAG_INIT_SHARED, 0);
	if (kvm_gmem_mmap(f, 0, NR_4K, true, &vma))
		abort();
	bench_report("gmem.host_fault_4k", TIMED(bench_host_fault, vma, NR_4K), NR_4K);
	kvm_gmem_munmap(vma);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
}

static void run_2m(void)
{
	struct kvm *kvm;
	struct gmem_file *f;

	if (set_max_huge_pages(&hstates[0], NR_2M) || hstates[0].nr_huge_pages != NR_2M)
		abort();
	if (kvm_create_vm(GS_KVM_X86_SW_PROTECTED_VM, GS_GMEM_PROFILE_DESIGN, &kvm))
		abort();
	f = create(kvm, (uint64_t)NR_2M * HP, GS_GUEST_MEMFD_FLAG_HUGETLB, 9);
	bench_report("gmem.falloc_2m", TIMED(bench_falloc_2m, f, NR_2M), NR_2M);
	bind(kvm, f, (uint64_t)NR_2M * HP);
	bench_report("kvm.gfault_2m", TIMED(bench_gfault_2m, kvm, NR_2M), NR_2M);
	bench_report("gmem.punch_2m", TIMED(bench_punch_2m, f, NR_2M), NR_2M);
	kvm_gmem_fput(f);
	kvm_destroy_vm(kvm);
	set_max_huge_pages(&hstates[0], 0);
}

static void run_attributes(void)
{
	struct kvm_params p = kvm_default_params(GS_GMEM_PROFILE_UPSTREAM);
	struct kvm *kvm;

	if (kvm_create_vm_params(GS_KVM_X86_SW_PROTECTED_VM, &p, &kvm))
		abort();
	bench_report("kvm.set_attributes_2m", TIMED(bench_set_attributes, kvm, ATTR_REPS),
		     2 * ATTR_REPS);
	kvm_destroy_vm(kvm);
}

int main(void)
{
	static struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	static struct gs_hugetlb_backend be;

	gs_page_alloc_set_backing(GS_BACKING_NONE);
	be = gs_hugetlb_host_backend(&host);
	if (hugetlb_set_backend(&be))
		abort();
	run_4k();
	run_2m();
	run_attributes();
	hugetlb_set_backend(NULL);
	return 0;
}
