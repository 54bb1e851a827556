// SPDX-License-Identifier: MIT
/*
 * In-place conversion (spec §2.A, v8): KVM_SET_MEMORY_ATTRIBUTES2 on the
 * guest_memfd fd, written against the gs_* uAPI the way the kernel's
 * tools/testing/selftests/kvm/x86/guest_memfd_conversions_test.c is written
 * against the syscalls. The simulator has no vCPU: a guest access is a
 * kvm_tdp_page_fault() of the right kind (private or shared) followed by a
 * load or store through the pfn it mapped, which is what the selftest's
 * guest code does through its page tables.
 *
 * Cases (spec §3.3, by the upstream names): init_private, init_shared,
 * indexing, before_allocation_shared, before_allocation_private,
 * unallocated_folios, truncate, forked_accesses (two mappings of the file
 * stand for the parent's and the child's copy of one mapping),
 * elevated_refcount (a long-term pin, as the selftest's GUP_TEST pin). Not
 * here: the v4-only content-mode cases (dropped in v6),
 * private_mem_conversions_test (a guest loop; its punch-resets-to-zero part
 * is in truncate) and private_mem_kvm_exits_test (its memslot-deletion part
 * is tests/scenarios/convert-p5-p15-faults.gms).
 *
 * Beyond the inventory: capabilities and ENOTTY (P2-P4), every P6 errno in
 * order, the P7 orderings (no-op before the refcount check, the LRU drain
 * and retry, EAGAIN's error_offset, ENOMEM from the maple reservation with
 * the state snapshot unchanged, the point of no return's invalidation and
 * arch hook), contents (P9), zero on first use (P10), punch keeps the
 * attributes (P11) and fault routing (P5, P15).
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
#include <gmemsim/inject.h>
#include <gmemsim/sites.h>
#include <gmemsim/kvm.h>
#include <gmemsim/physmem.h>
#include <gmemsim/state.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include "harness.h"

#define P	((uint64_t)PAGE_SIZE)
#define GPA	(4ULL << 30)
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define SHARED	GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define PRIVATE GS_KVM_MEMORY_ATTRIBUTE_PRIVATE

/* Real page contents: the tests read back what they wrote. */
static struct gs_hugetlb_host real_mem = {.backing = GS_BACKING_ANON};
static struct gs_hugetlb_backend real_backend;

static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	gs_gmem_convert_stats(true);
	real_backend = gs_hugetlb_host_backend(&real_mem);
	ck_assert_int_eq(hugetlb_set_backend(&real_backend), 0);
}

static void teardown(void)
{
	lru_add_drain_all();
	gs_uapi_reset();
	gs_inject_reset();
}

/* Nothing open, nothing allocated, no checker complaint, no WARN. */
static void assert_clean(void)
{
	lru_add_drain_all();
	gs_uapi_reset();
	ck_assert_uint_eq(gs_uapi_nr_open(), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	gs_test_assert_no_leaks();
}

/* --- the selftest's helpers --- */

/* A VM of @type; vm_memory_attributes=1 turns in-place conversion off. */
static int create_vm(unsigned long type, bool vm_memory_attributes)
{
	int kvm = gs_open("/dev/kvm", O_RDWR), vm;

	ck_assert_int_ge(kvm, 0);
	gs_uapi_set_vm_memory_attributes(vm_memory_attributes);
	vm = gs_ioctl(kvm, GS_KVM_CREATE_VM, type);
	ck_assert_int_ge(vm, 0);
	ck_assert_int_eq(gs_close(kvm), 0);
	return vm;
}

static int create_gmem(int vm, uint64_t size, uint64_t flags)
{
	struct gs_kvm_create_guest_memfd args = {.size = size, .flags = flags};
	int fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* The ioctl; *@error_offset carries the field in and out. */
static int set_attrs(int fd, uint64_t off, uint64_t size, uint64_t attrs, uint64_t *error_offset)
{
	struct gs_kvm_memory_attributes2 a = {
		.offset = off,
		.size = size,
		.attributes = attrs,
		.error_offset = error_offset ? *error_offset : 0,
	};
	int r = gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a);

	if (error_offset)
		*error_offset = a.error_offset;
	return r;
}

static void to_private(int fd, uint64_t off, uint64_t size)
{
	ck_assert_int_eq(set_attrs(fd, off, size, PRIVATE, NULL), 0);
}

static void to_shared(int fd, uint64_t off, uint64_t size)
{
	ck_assert_int_eq(set_attrs(fd, off, size, 0, NULL), 0);
}

/* A host load of one byte: its value, or GS_SYS_SIGBUS. */
static int host_read(char *mem, uint64_t off)
{
	unsigned char c;
	size_t done;
	int r = gs_sys_sim.host_read(mem + off, &c, 1, &done);

	return r ? r : c;
}

static int host_write(char *mem, uint64_t off, size_t len, int byte)
{
	char buf[4096];
	size_t done;

	memset(buf, byte, sizeof(buf));
	for (size_t n = 0; n < len; n += sizeof(buf)) {
		size_t chunk = len - n < sizeof(buf) ? len - n : sizeof(buf);
		int r = gs_sys_sim.host_write(mem + off + n, buf, chunk, &done);

		if (r)
			return r;
	}
	return 0;
}

/* A guest access of one page: its fault (private or shared), then the access. */
static int guest_access(int vm, uint64_t off, bool private, int write_byte)
{
	struct kvm *kvm = gs_uapi_kvm(vm);
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT, .private = private};
	struct kvm_memory_slot *slot;
	unsigned long pfn;
	unsigned char *data;
	int order, r = kvm_tdp_page_fault(kvm, &fault);

	if (r)
		return r;
	slot = kvm_find_slot(kvm, fault.gfn);
	ck_assert_int_eq(kvm_slot_gmem_get_pfn(slot, fault.gfn, &pfn, &order), 0);
	data = gs_pfn_to_virt(pfn);
	ck_assert_ptr_nonnull(data);
	if (write_byte >= 0)
		memset(data, write_byte, P);
	return data[0];
}

#define guest_read(vm, off, private)	   guest_access(vm, off, private, -1)
#define guest_write(vm, off, private, val) guest_access(vm, off, private, val)

static bool guest_exits(int vm, uint64_t off, bool private)
{
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT, .private = private};

	return kvm_tdp_page_fault(gs_uapi_kvm(vm), &fault) == -EFAULT &&
	       fault.exit_reason == GS_KVM_EXIT_MEMORY_FAULT;
}

static struct folio *file_folio(int fd, uint64_t off)
{
	return xa_load(&gs_uapi_gmem_file(fd)->inode->filemap, off >> PAGE_SHIFT);
}

/* The file's and the VM's state plus every registered layer's, as text. */
static char *snapshot(int vm, int fd)
{
	struct gs_state *st = gs_state_new();
	char *text;

	kvm_gmem_dump_state(st, "g", gs_uapi_gmem_file(fd)->inode);
	kvm_dump_state(st, "vm", gs_uapi_kvm(vm));
	gs_state_collect(st);
	text = gs_state_text(st);
	gs_state_free(st);
	return text;
}

/* --- capabilities and the ioctl's existence (P2-P4) --- */

START_TEST(test_caps)
{
	int kvm = gs_open("/dev/kvm", O_RDWR);
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int def = create_vm(GS_KVM_X86_DEFAULT_VM, false);
	int legacy = create_vm(GS_KVM_X86_SW_PROTECTED_VM, true);

	gs_uapi_set_vm_memory_attributes(false);
	ck_assert_int_eq(gs_ioctl(kvm, GS_KVM_CHECK_EXTENSION,
				  (unsigned long)GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
			 (int)PRIVATE);
	ck_assert_int_eq(gs_ioctl(vm, GS_KVM_CHECK_EXTENSION,
				  (unsigned long)GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
			 (int)PRIVATE);
	/* P2: PRIVATE is no longer tracked per VM. */
	ck_assert_int_eq(
		gs_ioctl(vm, GS_KVM_CHECK_EXTENSION, (unsigned long)GS_KVM_CAP_MEMORY_ATTRIBUTES),
		0);
	/* P4: INIT_SHARED for a VM with private memory. */
	ck_assert_int_eq(
		gs_ioctl(vm, GS_KVM_CHECK_EXTENSION, (unsigned long)GS_KVM_CAP_GUEST_MEMFD_FLAGS) &
			(int)SHARED,
		(int)SHARED);
	ck_assert_int_eq(gs_ioctl(def, GS_KVM_CHECK_EXTENSION,
				  (unsigned long)GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
			 0);
	ck_assert_int_eq(gs_ioctl(legacy, GS_KVM_CHECK_EXTENSION,
				  (unsigned long)GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
			 0);
	ck_assert_int_eq(gs_close(kvm), 0);
	assert_clean();
}
END_TEST

START_TEST(test_enotty)
{
	int legacy = create_vm(GS_KVM_X86_SW_PROTECTED_VM, true);
	int fd = create_gmem(legacy, 4 * P, 0);
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int g = create_gmem(vm, 4 * P, 0);
	uint64_t eo = 0x55;

	/* In-place conversion off: no such ioctl, before the argument is read. */
	assert_fails(gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, NULL), ENOTTY);
	assert_fails(set_attrs(fd, 0, P, 0, &eo), ENOTTY);
	ck_assert_uint_eq(eo, 0x55);
	/* On: the old VM-level ioctl's number and size is another request. */
	assert_fails(gs_ioctl(g, GS_KVM_SET_MEMORY_ATTRIBUTES, NULL), ENOTTY);
	assert_fails(gs_ioctl(g, GS_KVM_CREATE_GUEST_MEMFD, NULL), ENOTTY);
	assert_clean();
}
END_TEST

/* --- P6: every argument check, in order --- */

START_TEST(test_argument_checks)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 4 * P, MMAP | SHARED);
	int def = create_vm(GS_KVM_X86_DEFAULT_VM, false);
	int dfd = create_gmem(def, 4 * P, MMAP | SHARED);
	struct gs_kvm_memory_attributes2 a;

	/* 1. the copy */
	assert_fails(gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, NULL), EFAULT);
	/* 2. flags, before a bad reserved word, VM, attribute or range */
	a = (struct gs_kvm_memory_attributes2){.flags = 1, .attributes = 0x10, .error_offset = 7};
	a.reserved[0] = 1;
	assert_fails(gs_ioctl(dfd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a), EINVAL);
	ck_assert_uint_eq(a.error_offset, 7);
	/* 3. each reserved word, before the VM check */
	for (int i = 0; i < 11; i++) {
		a = (struct gs_kvm_memory_attributes2){.offset = 1, .attributes = 0x10};
		a.reserved[i] = 1;
		assert_fails(gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a), EINVAL);
	}
	/* 4. a VM without private memory, whatever the direction */
	assert_fails(set_attrs(dfd, 0, P, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(dfd, 0, P, 0, NULL), EINVAL);
	/* 5. attributes other than PRIVATE */
	assert_fails(set_attrs(fd, 0, 0, 0x10, NULL), EINVAL);
	assert_fails(set_attrs(fd, 0, P, PRIVATE | 1, NULL), EINVAL);
	/* 6. empty or wrapping */
	assert_fails(set_attrs(fd, 1, 0, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(fd, ~0ULL - P + 1, 2 * P, PRIVATE, NULL), EINVAL);
	/* 7. alignment, before i_size */
	assert_fails(set_attrs(fd, P / 2, P, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(fd, 0, P / 2, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(fd, 8 * P, P / 2, PRIVATE, NULL), EINVAL);
	/* 8. i_size */
	assert_fails(set_attrs(fd, 4 * P, P, PRIVATE, NULL), EINVAL);
	assert_fails(set_attrs(fd, 3 * P, 2 * P, PRIVATE, NULL), EINVAL);
	/* the whole file is fine; the incoming error_offset is ignored and kept */
	a = (struct gs_kvm_memory_attributes2){
		.size = 4 * P, .attributes = PRIVATE, .error_offset = 0x1234};
	ck_assert_int_eq(gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a), 0);
	ck_assert_uint_eq(a.error_offset, 0x1234);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).converted, 1);
	assert_clean();
}
END_TEST

/* --- the §3.3 inventory --- */

START_TEST(test_init_private)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, P, MMAP);
	char *mem = gs_test_mmap_gmem(fd, P);

	gs_test_bind_gmem(vm, fd, GPA, P);
	ck_assert_int_eq(guest_write(vm, 0, true, 'A'), 'A');
	ck_assert_int_eq(host_read(mem, 0), GS_SYS_SIGBUS);
	to_shared(fd, 0, P);
	ck_assert_int_eq(host_read(mem, 0), 'A');
	ck_assert_int_eq(host_write(mem, 0, P, 'B'), 0);
	to_private(fd, 0, P);
	ck_assert_int_eq(host_read(mem, 0), GS_SYS_SIGBUS);
	ck_assert_int_eq(guest_read(vm, 0, true), 'B');
	assert_clean();
}
END_TEST

START_TEST(test_init_shared)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, P);

	gs_test_bind_gmem(vm, fd, GPA, P);
	ck_assert_int_eq(host_write(mem, 0, P, 'C'), 0);
	ck_assert_int_eq(guest_read(vm, 0, false), 'C');
	to_private(fd, 0, P);
	ck_assert_int_eq(host_read(mem, 0), GS_SYS_SIGBUS);
	ck_assert(guest_exits(vm, 0, false));
	ck_assert_int_eq(guest_read(vm, 0, true), 'C');
	assert_clean();
}
END_TEST

START_TEST(test_indexing)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 4 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 4 * P);

	gs_test_bind_gmem(vm, fd, GPA, 4 * P);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(host_write(mem, i * P, P, 'a' + i), 0);
	to_private(fd, 2 * P, P);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(host_read(mem, i * P), i == 2 ? GS_SYS_SIGBUS : 'a' + i);
		ck_assert(guest_exits(vm, i * P, i != 2));
	}
	to_shared(fd, 2 * P, P);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(host_read(mem, i * P), 'a' + i);
	assert_clean();
}
END_TEST

START_TEST(test_before_allocation_shared)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, P, MMAP);
	char *mem = gs_test_mmap_gmem(fd, P);

	gs_test_bind_gmem(vm, fd, GPA, P);
	to_shared(fd, 0, P);
	ck_assert_ptr_null(file_folio(fd, 0));
	ck_assert_int_eq(host_read(mem, 0), 0);
	ck_assert_int_eq(guest_read(vm, 0, false), 0);
	ck_assert(guest_exits(vm, 0, true));
	assert_clean();
}
END_TEST

START_TEST(test_before_allocation_private)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, P);

	gs_test_bind_gmem(vm, fd, GPA, P);
	to_private(fd, 0, P);
	ck_assert_ptr_null(file_folio(fd, 0));
	ck_assert_int_eq(host_read(mem, 0), GS_SYS_SIGBUS);
	ck_assert_int_eq(guest_read(vm, 0, true), 0);
	ck_assert(guest_exits(vm, 0, false));
	assert_clean();
}
END_TEST

START_TEST(test_unallocated_folios)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 8 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 8 * P);

	gs_test_bind_gmem(vm, fd, GPA, 8 * P);
	for (int i = 0; i < 8; i += 2)
		ck_assert_int_eq(host_write(mem, i * P, P, 'x'), 0);
	to_private(fd, 0, 8 * P);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(guest_read(vm, i * P, true), i % 2 ? 0 : 'x');
	to_shared(fd, 0, 8 * P);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(host_read(mem, i * P), i % 2 ? 0 : 'x');
	assert_clean();
}
END_TEST

START_TEST(test_truncate)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 2 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 2 * P);

	gs_test_bind_gmem(vm, fd, GPA, 2 * P);
	ck_assert_int_eq(host_write(mem, 0, P, 'T'), 0);
	ck_assert_int_eq(guest_write(vm, P, false, 'U'), 'U');
	to_private(fd, P, P);
	ck_assert_int_eq(
		gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE, 0, 2 * P), 0);
	/* P11: the attributes belong to the index; P10: fresh pages read 0. */
	ck_assert_int_eq(host_read(mem, 0), 0);
	ck_assert_int_eq(host_read(mem, P), GS_SYS_SIGBUS);
	ck_assert_int_eq(guest_read(vm, P, true), 0);
	ck_assert(guest_exits(vm, P, false));
	assert_clean();
}
END_TEST

START_TEST(test_forked_accesses)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 2 * P, MMAP | SHARED);
	char *parent = gs_test_mmap_gmem(fd, 2 * P), *child = gs_test_mmap_gmem(fd, 2 * P);

	ck_assert_int_eq(host_write(parent, P, P, 'F'), 0);
	ck_assert_int_eq(host_read(child, P), 'F');
	to_private(fd, P, P);
	ck_assert_int_eq(host_read(parent, P), GS_SYS_SIGBUS);
	ck_assert_int_eq(host_read(child, P), GS_SYS_SIGBUS);
	ck_assert_int_eq(host_read(child, 0), 0);
	to_shared(fd, P, P);
	ck_assert_int_eq(host_read(child, P), 'F');
	assert_clean();
}
END_TEST

START_TEST(test_elevated_refcount)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 4 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 4 * P);
	uint64_t eo = 0;
	int pin;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(host_write(mem, i * P, P, '0' + i), 0);
	pin = gs_uapi_pin(mem + 2 * P, P);
	ck_assert_int_gt(pin, 0);
	assert_fails(set_attrs(fd, 0, 4 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, 2 * P);
	/* page by page: only the pinned one fails */
	for (int i = 0; i < 4; i++) {
		eo = 0;
		if (i == 2) {
			assert_fails(set_attrs(fd, i * P, P, PRIVATE, &eo), EAGAIN);
			ck_assert_uint_eq(eo, 2 * P);
		} else {
			to_private(fd, i * P, P);
		}
	}
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	to_private(fd, 0, 4 * P);
	to_shared(fd, 0, 4 * P);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(host_read(mem, i * P), '0' + i);
	assert_clean();
}
END_TEST

/* --- P7 orderings --- */

/* P7.1: a range with the value is done before any reference is looked at. */
START_TEST(test_noop_before_refcount_check)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 2 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 2 * P);
	struct gs_gmem_convert_stats st;
	int pin;

	ck_assert_int_eq(host_write(mem, 0, P, 1), 0);
	pin = gs_uapi_pin(mem, P);
	ck_assert_int_gt(pin, 0);
	/* P8: to shared (already shared, and pinned) */
	to_shared(fd, 0, 2 * P);
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	to_private(fd, 0, P);
	/* a private folio with a reference only a drain drops: to private is a no-op */
	gs_lru_add_folio(file_folio(fd, 0));
	gs_gmem_convert_stats(true);
	to_private(fd, 0, P);
	st = gs_gmem_convert_stats(false);
	ck_assert_uint_eq(st.noop, 1);
	ck_assert_uint_eq(st.lru_drains, 0);
	ck_assert_int_eq(folio_ref_count(file_folio(fd, 0)), 2);
	/* a reference no drain drops (another kernel user's): still a no-op */
	lru_add_drain_all();
	folio_get(file_folio(fd, 0));
	to_private(fd, 0, P);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).noop, 2);
	/* ... while the range with one shared page must pass the check */
	assert_fails(set_attrs(fd, 0, 2 * P, PRIVATE, NULL), EAGAIN);
	folio_put(file_folio(fd, 0));
	to_private(fd, 0, 2 * P);
	assert_clean();
}
END_TEST

/* P7.3: one lru_add_drain_all() and a retry of the same folio, then EAGAIN. */
START_TEST(test_lru_drain_retry)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 4 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 4 * P);
	struct gs_gmem_convert_stats st;
	uint64_t eo = 0;
	int pin;

	ck_assert_int_eq(host_write(mem, 0, 4 * P, 7), 0);
	gs_lru_add_folio(file_folio(fd, P));
	to_private(fd, 0, 4 * P);
	st = gs_gmem_convert_stats(true);
	ck_assert_uint_eq(st.lru_drains, 1);
	ck_assert_uint_eq(st.converted, 1);
	to_shared(fd, 0, 4 * P);
	/* A batch reference and a pin: the one drain does not suffice. */
	gs_lru_add_folio(file_folio(fd, 0));
	pin = gs_uapi_pin(mem + 3 * P, P);
	ck_assert_int_gt(pin, 0);
	assert_fails(set_attrs(fd, 0, 4 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, 3 * P);
	st = gs_gmem_convert_stats(false);
	ck_assert_uint_eq(st.lru_drains, 1);
	ck_assert_uint_eq(st.eagain, 1);
	ck_assert_int_eq(host_read(mem, 0), 7);
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	assert_clean();
}
END_TEST

/* EAGAIN: nothing changed (the host mappings are dropped first, as in the kernel). */
START_TEST(test_eagain_state_unchanged)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 4 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 4 * P);
	char *before, *after;
	uint64_t eo = 0;
	int pin;

	gs_test_bind_gmem(vm, fd, GPA, 4 * P);
	ck_assert_int_eq(host_write(mem, 0, 4 * P, 3), 0);
	ck_assert_int_eq(guest_read(vm, 0, false), 3);
	pin = gs_uapi_pin(mem + P, P);
	ck_assert_int_gt(pin, 0);
	/* the conversion zaps the host PTEs before its check; take them away first */
	ck_assert_int_eq(gs_madvise(mem, 4 * P, MADV_DONTNEED), 0);
	before = snapshot(vm, fd);
	assert_fails(set_attrs(fd, 0, 4 * P, PRIVATE, &eo), EAGAIN);
	ck_assert_uint_eq(eo, P);
	after = snapshot(vm, fd);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	assert_clean();
}
END_TEST

/* Enough single-page ranges that the next store splits a maple node. */
static void fragment(int fd, int pages)
{
	for (int i = 1; i < pages; i += 2)
		to_private(fd, (uint64_t)i * P, P);
}

/* P7.2: ENOMEM from the maple reservation, error_offset = offset, state unchanged. */
START_TEST(test_enomem_state_unchanged)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 64 * P, MMAP | SHARED);
	char *mem = gs_test_mmap_gmem(fd, 64 * P);
	char *before, *after;
	unsigned long fired = 0;
	uint64_t eo = 0;

	gs_test_bind_gmem(vm, fd, GPA, 64 * P);
	ck_assert_int_eq(host_write(mem, 0, P, 9), 0);
	ck_assert_int_eq(guest_read(vm, 40 * P, false), 0);
	fragment(fd, 32);
	/* Every page from 40 on: each store splits a range; fail each reservation. */
	for (uint64_t i = 40; i < 64; i += 2) {
		struct gs_inject_rule rule = {
			.site = GS_SITE_MAPLE_PREALLOC, .mode = GS_INJECT_NTH, .nth = 1};

		before = snapshot(vm, fd);
		gs_inject_reset();
		ck_assert_int_ge(gs_inject_arm(&rule), 0);
		if (set_attrs(fd, i * P, P, PRIVATE, &eo) == -1) {
			ck_assert_int_eq(errno, ENOMEM);
			ck_assert_uint_eq(eo, i * P);
			after = snapshot(vm, fd);
			ck_assert_str_eq(before, after);
			free(after);
			fired++;
		}
		gs_inject_reset();
		free(before);
		to_private(fd, i * P, P);
	}
	ck_assert_uint_gt(fired, 0);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).enomem, fired);
	assert_clean();
}
END_TEST

/* P13 and the arch hook: what the point of no return does to KVM. */
START_TEST(test_invalidation)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 4 * P, MMAP);
	struct kvm *kvm;
	struct gs_gmem_convert_stats st;

	gs_test_bind_gmem(vm, fd, GPA, 4 * P);
	kvm = gs_uapi_kvm(vm);
	ck_assert_int_eq(guest_read(vm, 0, true), 0);
	ck_assert_int_eq(guest_read(vm, P, true), 0);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_4K], 2);
	/* to shared: the private leaves go; the hook sees the 2 allocated pfns of 4 */
	gs_gmem_convert_stats(true);
	to_shared(fd, 0, 4 * P);
	st = gs_gmem_convert_stats(false);
	ck_assert_uint_eq(kvm->nr_leaves[PG_LEVEL_4K], 0);
	ck_assert_uint_eq(st.arch_invalidate_pfns, 2);
	ck_assert_uint_eq(st.invalidations, 1);
	ck_assert_int_eq(guest_read(vm, 0, false), 0);
	ck_assert_int_eq(guest_read(vm, 2 * P, false), 0);
	/* to private of one page: only its shared leaf goes, no arch hook */
	to_private(fd, 0, P);
	ck_assert_uint_eq(kvm_stage2_level(kvm, GPA >> PAGE_SHIFT), 0);
	ck_assert_uint_eq(kvm_stage2_level(kvm, (GPA + 2 * P) >> PAGE_SHIFT), PG_LEVEL_4K);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).arch_invalidate_pfns, 2);
	/* a no-op invalidates nothing */
	to_private(fd, 0, P);
	ck_assert_uint_eq(gs_gmem_convert_stats(false).invalidations, 2);
	assert_clean();
}
END_TEST

/* P10: zeroed once in a folio's life; conversions never zero. */
START_TEST(test_zero_once)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, P, MMAP);
	char *mem = gs_test_mmap_gmem(fd, P);

	gs_test_bind_gmem(vm, fd, GPA, P);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, P), 0);
	ck_assert(!folio_test_uptodate(file_folio(fd, 0)));
	ck_assert_int_eq(guest_write(vm, 0, true, 'Z'), 'Z');
	ck_assert(folio_test_uptodate(file_folio(fd, 0)));
	to_shared(fd, 0, P);
	ck_assert_int_eq(host_read(mem, 0), 'Z');
	to_private(fd, 0, P);
	to_shared(fd, 0, P);
	ck_assert_int_eq(host_read(mem, 0), 'Z');
	assert_clean();
}
END_TEST

/* P1: equal neighbours stay one range in the maple tree. */
START_TEST(test_ranges_merge)
{
	int vm = create_vm(GS_KVM_X86_SW_PROTECTED_VM, false);
	int fd = create_gmem(vm, 8 * P, MMAP | SHARED);
	struct gmem_inode *inode = gs_uapi_gmem_file(fd)->inode;
	unsigned long ranges = 0;
	void *entry;

	to_private(fd, P, P);
	to_private(fd, 3 * P, P);
	to_private(fd, 2 * P, P);
	to_shared(fd, 0, 8 * P);
	MA_STATE(mas, &inode->shareability, 0, 0);
	mas_for_each (&mas, entry, ULONG_MAX)
		ranges++;
	ck_assert_uint_eq(ranges, 1);
	assert_clean();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("convert");
	TCase *api = tcase_create("ioctl");
	TCase *inv = tcase_create("guest_memfd_conversions_test");
	TCase *ord = tcase_create("v8_ordering");

	tcase_add_checked_fixture(api, setup, teardown);
	tcase_add_test(api, test_caps);
	tcase_add_test(api, test_enotty);
	tcase_add_test(api, test_argument_checks);
	tcase_add_checked_fixture(inv, setup, teardown);
	tcase_add_test(inv, test_init_private);
	tcase_add_test(inv, test_init_shared);
	tcase_add_test(inv, test_indexing);
	tcase_add_test(inv, test_before_allocation_shared);
	tcase_add_test(inv, test_before_allocation_private);
	tcase_add_test(inv, test_unallocated_folios);
	tcase_add_test(inv, test_truncate);
	tcase_add_test(inv, test_forked_accesses);
	tcase_add_test(inv, test_elevated_refcount);
	tcase_add_checked_fixture(ord, setup, teardown);
	tcase_add_test(ord, test_noop_before_refcount_check);
	tcase_add_test(ord, test_lru_drain_retry);
	tcase_add_test(ord, test_eagain_state_unchanged);
	tcase_add_test(ord, test_enomem_state_unchanged);
	tcase_add_test(ord, test_invalidation);
	tcase_add_test(ord, test_zero_once);
	tcase_add_test(ord, test_ranges_merge);
	suite_add_tcase(s, api);
	suite_add_tcase(s, inv);
	suite_add_tcase(s, ord);
	return s;
}
