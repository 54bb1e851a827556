// SPDX-License-Identifier: MIT
/*
 * In-place conversion (KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd,
 * lib/guest_memfd/gmem_convert.c) through the uAPI, as a VMM issues it: one
 * 4 KiB page per call over a 1 GiB file, every other page to shared and then
 * back to private, so no call is the early no-op and the maple tree holds
 * 131,072 ranges at the turn. Three states of the file:
 *   - nothing allocated (the maple tree and the checks alone),
 *   - every page allocated (to private also runs the refcount check),
 *   - every page also mapped into stage-2 as a private 4 KiB leaf (each call
 *     also zaps one leaf: what a conversion costs in a running guest).
 * Pages are metadata-only. The goal: at least 1,000,000 4 KiB
 * conversions per second (docs/PERFORMANCE.md).
 *
 * HugeTLB (planned ordering, the default):
 *   - convert.4k_split_1g: the same alternation over a 1 GiB HugeTLB file
 *     whose last page stays shared, so the huge page stays split to 262,144
 *     order-0 folios and no call splits or merges;
 *   - convert.roundtrip_2m: a 2 MiB HugeTLB page, private, one 4 KiB page to
 *     shared (the folio split: HVO restored, the entry split) and back (the
 *     merge: HVO again), per round trip.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hvo.h>
#include <gmemsim/internal/page_alloc.h>
#include <gmemsim/kvm.h>
#include <gmemsim/uapi.h>

#include "bench.h"

#define FILE_SIZE (1ULL << 30)
#define NR_PAGES  (FILE_SIZE / PAGE_SIZE)
#define GPA	  (4ULL << 30)

static int set_attrs(int fd, uint64_t off, uint64_t attrs)
{
	struct gs_kvm_memory_attributes2 a = {
		.offset = off, .size = PAGE_SIZE, .attributes = attrs};

	return gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a);
}

/* Every other page of the first @nr to shared, then the same pages back. */
static inline void convert_round(int fd, unsigned long nr)
{
	for (unsigned long i = 0; i < nr; i += 2)
		if (set_attrs(fd, i * PAGE_SIZE, 0))
			abort();
	for (unsigned long i = 0; i < nr; i += 2)
		if (set_attrs(fd, i * PAGE_SIZE, GS_KVM_MEMORY_ATTRIBUTE_PRIVATE))
			abort();
}

/* One function per workload, so callgrind --toggle-collect can count each alone. */
static __attribute__((noinline)) void bench_convert_4k_unallocated(int fd, unsigned long nr)
{
	convert_round(fd, nr);
}

static __attribute__((noinline)) void bench_convert_4k_allocated(int fd, unsigned long nr)
{
	convert_round(fd, nr);
}

static __attribute__((noinline)) void bench_convert_4k_mapped(int fd, unsigned long nr)
{
	convert_round(fd, nr);
}

static __attribute__((noinline)) void bench_convert_4k_split_1g(int fd, unsigned long nr)
{
	convert_round(fd, nr);
}

static __attribute__((noinline)) void bench_convert_roundtrip_2m(int fd, unsigned long nr)
{
	for (unsigned long i = 0; i < nr; i++)
		if (set_attrs(fd, PAGE_SIZE, 0) ||
		    set_attrs(fd, PAGE_SIZE, GS_KVM_MEMORY_ATTRIBUTE_PRIVATE))
			abort();
}

static int create_vm(void)
{
	int kvm = gs_open("/dev/kvm", O_RDWR), vm;

	if (kvm < 0)
		abort();
	gs_uapi_set_vm_memory_attributes(false);
	vm = gs_ioctl(kvm, GS_KVM_CREATE_VM, GS_KVM_X86_SW_PROTECTED_VM);
	if (vm < 0 || gs_close(kvm))
		abort();
	return vm;
}

static int create_bound_gmem(int vm)
{
	struct gs_kvm_create_guest_memfd args = {.size = FILE_SIZE};
	struct gs_kvm_userspace_memory_region2 mem = {
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = GPA,
		.memory_size = FILE_SIZE,
	};
	int fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);

	if (fd < 0)
		abort();
	mem.guest_memfd = (uint32_t)fd;
	if (gs_ioctl(vm, GS_KVM_SET_USER_MEMORY_REGION2, &mem))
		abort();
	return fd;
}

/* Every page of the file a private 4 KiB stage-2 leaf. */
static void map_all_private(int vm)
{
	struct kvm *kvm = gs_uapi_kvm(vm);

	for (unsigned long i = 0; i < NR_PAGES; i++) {
		struct kvm_fault fault = {.gfn = (GPA >> PAGE_SHIFT) + i, .private = true};

		if (kvm_tdp_page_fault(kvm, &fault))
			abort();
	}
}

/* Time one call of @fn(@fd, @nr); report per conversion (two per converted page). */
static void run(const char *name, void (*fn)(int, unsigned long), int fd, unsigned long nr)
{
	uint64_t t0 = bench_now_ns();

	fn(fd, nr);
	bench_report(name, bench_now_ns() - t0, nr);
}

/* A bound HugeTLB file of one huge page of @size, allocated and private. */
static int create_huge_gmem(int vm, uint64_t size, unsigned int order, uint64_t gpa)
{
	struct gs_kvm_create_guest_memfd args = {
		.size = size, .flags = GS_GUEST_MEMFD_FLAG_HUGETLB, .page_order = order};
	struct gs_kvm_userspace_memory_region2 mem = {
		.slot = 1 + order,
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = gpa,
		.memory_size = size,
	};
	int fd;

	if (set_max_huge_pages(size_to_hstate(size), 1))
		abort();
	fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	if (fd < 0)
		abort();
	mem.guest_memfd = (uint32_t)fd;
	if (gs_ioctl(vm, GS_KVM_SET_USER_MEMORY_REGION2, &mem) ||
	    gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)size))
		abort();
	return fd;
}

static void run_hugetlb(int vm)
{
	struct gs_hugetlb_host host = {.backing = GS_BACKING_NONE};
	struct gs_hugetlb_backend be = gs_hugetlb_host_backend(&host);
	unsigned long trips = 2000;
	uint64_t t0;
	int fd;

	gs_hvo_set_enabled(true);
	if (hugetlb_set_backend(&be))
		abort();
	fd = create_huge_gmem(vm, FILE_SIZE, 18, 16ULL << 30);
	/* The last page shared for good: the huge page stays split. */
	if (set_attrs(fd, FILE_SIZE - PAGE_SIZE, 0))
		abort();
	run("convert.4k_split_1g", bench_convert_4k_split_1g, fd, NR_PAGES - 2);
	fd = create_huge_gmem(vm, 2 << 20, 9, 32ULL << 30);
	t0 = bench_now_ns();
	bench_convert_roundtrip_2m(fd, trips);
	bench_report("convert.roundtrip_2m", bench_now_ns() - t0, trips);
	printf("  %.0f round trips/s\n", 1e9 * (double)trips / (double)(bench_now_ns() - t0));
}

int main(int argc, char **argv)
{
	/* The mapped case zaps a leaf per call: its page count can be lowered. */
	unsigned long mapped = argc > 1 ? strtoul(argv[1], NULL, 0) : NR_PAGES;
	int vm, fd;

	if (mapped > NR_PAGES)
		mapped = NR_PAGES;
	gs_page_alloc_set_backing(GS_BACKING_NONE);
	vm = create_vm();
	fd = create_bound_gmem(vm);
	run("convert.4k_unallocated", bench_convert_4k_unallocated, fd, NR_PAGES);
	if (gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)FILE_SIZE))
		abort();
	run("convert.4k_allocated", bench_convert_4k_allocated, fd, NR_PAGES);
	map_all_private(vm);
	run("convert.4k_mapped", bench_convert_4k_mapped, fd, mapped);
	run_hugetlb(vm);
	gs_uapi_reset();
	return 0;
}
