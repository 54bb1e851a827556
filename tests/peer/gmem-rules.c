// SPDX-License-Identifier: MIT
/*
 * The rules upstream's guest_memfd selftest holds a kernel to, written here in
 * our own words against the same shim (tests/peer/shim/kvm/) that runs the
 * kernel's file, so they run without the linux-source package and under
 * both profiles (built twice, once with GS_PEER_PROFILE_UPSTREAM):
 *
 * - every flag KVM_CAP_GUEST_MEMFD_FLAGS advertises creates a one-page file
 *   by itself, and every flag it does not advertise is EINVAL, for each VM
 *   type of KVM_CAP_VM_TYPES;
 * - mmap() follows the flags: without MMAP no mapping (ENODEV), with it a
 *   shared mapping and no private one; without INIT_SHARED every access
 *   raises SIGBUS; with it loads and stores through the pointer reach the
 *   file, and a punched page reads zero;
 * - the collapse path: a PMD-aligned MAP_FIXED mapping inside a reserved
 *   range; MADV_HUGEPAGE succeeds, MADV_COLLAPSE is EINVAL, MADV_DONTNEED
 *   drops the page mappings and the data is read again from the file;
 * - parts of a mapping: munmap() of its middle, head and tail leaves pieces
 *   that keep their file offsets (loads and stores through them reach the
 *   file), MAP_FIXED over a piece maps another offset there and leaves its
 *   neighbours, and MAP_FIXED_NOREPLACE fills a hole;
 * - memory policy on a two-node machine (numaif.h of the shim): mbind() on a
 *   mapping sets the file's policy, get_mempolicy() reads it back, pages
 *   allocated later land on the policy's node (move_pages() says where),
 *   pages allocated before stay put, and a bad mode is EINVAL.
 *
 * Loads and stores go through real pointers: the shim turns each fault into
 * a copy of the simulator's page, and a fault the simulator refuses into
 * SIGBUS, which is what makes these rules a test of the shim too.
 */
#include <linux/falloc.h>

#include "kvm_util.h"
#include "numaif.h"

static size_t page;

/* The flag rules for one VM. */
static void flag_rules(struct kvm_vm *vm)
{
	uint64_t advertised = (uint64_t)vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS);

	TEST_ASSERT(advertised & GUEST_MEMFD_FLAG_MMAP, "MMAP is advertised: %#lx",
		    (unsigned long)advertised);
	for (unsigned int bit = 0; bit < 64; bit++) {
		uint64_t flag = 1ULL << bit;
		int fd = __vm_create_guest_memfd(vm, page, flag);

		if (advertised & flag) {
			TEST_ASSERT(fd >= 0, "advertised flag %#lx alone", (unsigned long)flag);
			close(fd);
		} else {
			TEST_ASSERT(fd < 0 && errno == EINVAL, "unadvertised flag %#lx alone",
				    (unsigned long)flag);
		}
	}
}

/* Without MMAP: no mapping of any kind. */
static void no_mmap_rules(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, 4 * page, 0);
	void *p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	TEST_ASSERT(p == MAP_FAILED && errno == ENODEV, "shared mapping without MMAP");
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
	TEST_ASSERT(p == MAP_FAILED, "private mapping without MMAP");
	close(fd);
}

/* MMAP without INIT_SHARED: the memory is private, each touch raises SIGBUS. */
static void private_rules(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, 4 * page, GUEST_MEMFD_FLAG_MMAP);
	volatile char *mem = kvm_mmap(4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd);

	for (size_t off = 0; off < 4 * page; off += page) {
		TEST_EXPECT_SIGBUS((void)mem[off]);
		TEST_EXPECT_SIGBUS(mem[off] = 1);
	}
	TEST_ASSERT(mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED,
		    "copy-on-write mapping");
	kvm_munmap((void *)mem, 4 * page);
	close(fd);
}

/* MMAP|INIT_SHARED: the pointer is the file, up to i_size. */
static void shared_rules(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, 4 * page,
				       GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *mem = kvm_mmap(8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	char *again;

	for (size_t i = 0; i < 4 * page; i++)
		mem[i] = (char)(i % 251);
	TEST_EXPECT_SIGBUS(mem[4 * page] = 1);
	kvm_fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, page, page);
	again = kvm_mmap(4 * page, PROT_READ, MAP_SHARED, fd);
	for (size_t i = 0; i < 4 * page; i++) {
		char want = (i >= page && i < 2 * page) ? 0 : (char)(i % 251);

		if (mem[i] != want || again[i] != want) {
			TEST_FAIL("byte %zu: %d and %d, want %d", i, mem[i], again[i], want);
			break;
		}
	}
	TEST_ASSERT(mem[4 * page - 1] == again[4 * page - 1], "two mappings agree");
	kvm_munmap(again, 4 * page);
	kvm_munmap(mem, 8 * page);
	close(fd);
}

/* A PMD-aligned MAP_FIXED mapping in a reservation, and the advice on it. */
static void collapse_rules(struct kvm_vm *vm)
{
	const size_t pmd = get_trans_hugepagesz();
	int fd = vm_create_guest_memfd(vm, pmd,
				       GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *resv = kvm_mmap(2 * pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	char *want = align_ptr_up(resv, pmd), *mem, sum = 0;

	mem = mmap(want, pmd, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0);
	TEST_ASSERT(mem == want, "MAP_FIXED at the aligned address");
	TEST_ASSERT(mmap(want, page, PROT_READ, MAP_FIXED_NOREPLACE | MAP_SHARED, fd, 0) ==
				    MAP_FAILED &&
			    errno == EEXIST,
		    "MAP_FIXED_NOREPLACE over the mapping");
	mem[7 * page] = 'g';
	for (size_t off = 0; off < pmd; off += page)
		sum += READ_ONCE(mem[off]);
	TEST_ASSERT(sum == 'g', "a fresh file reads zero but the byte stored");
	kvm_madvise(mem, pmd, MADV_HUGEPAGE);
	TEST_ASSERT(madvise(mem, pmd, MADV_COLLAPSE) == -1 && errno == EINVAL, "MADV_COLLAPSE");
	kvm_madvise(mem, pmd, MADV_DONTNEED);
	TEST_ASSERT(READ_ONCE(mem[7 * page]) == 'g', "data kept across MADV_DONTNEED");
	kvm_munmap(resv, 2 * pmd);
	close(fd);
}

/* Page @i of @mem holds the byte @want at both ends. */
static void expect_page(const char *mem, size_t i, char want)
{
	TEST_ASSERT(READ_ONCE(mem[i * page]) == want && READ_ONCE(mem[(i + 1) * page - 1]) == want,
		    "page %zu: %d, want %d", i, mem[i * page], want);
}

/* munmap() and MAP_FIXED over parts of a mapping: the pieces left keep their offsets. */
static void partial_rules(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, 8 * page,
				       GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *mem = kvm_mmap(8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd), *again;

	for (size_t i = 0; i < 8; i++)
		memset(mem + i * page, (int)i + 1, page);
	kvm_munmap(mem + 3 * page, 2 * page);
	kvm_munmap(mem, page);
	kvm_munmap(mem + 7 * page, page);
	expect_page(mem, 1, 2);
	expect_page(mem, 2, 3);
	expect_page(mem, 5, 6);
	expect_page(mem, 6, 7);
	/* A store through the tail piece reaches its own file page. */
	mem[6 * page] = 'x';
	again = kvm_mmap(8 * page, PROT_READ, MAP_SHARED, fd);
	TEST_ASSERT(again[6 * page] == 'x' && again[3 * page] == 4,
		    "the file through a new mapping");
	/* File page 6 over page 2 of the head piece; its neighbours stay. */
	TEST_ASSERT(mmap(mem + 2 * page, page, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd,
			 6 * page) == mem + 2 * page,
		    "MAP_FIXED over part of a mapping");
	TEST_ASSERT(mem[2 * page] == 'x', "file page 6 at page 2");
	expect_page(mem, 1, 2);
	expect_page(mem, 5, 6);
	/* The hole in the middle takes a mapping that replaces nothing. */
	TEST_ASSERT(mmap(mem + 3 * page, 2 * page, PROT_READ, MAP_FIXED_NOREPLACE | MAP_SHARED, fd,
			 3 * page) == mem + 3 * page,
		    "MAP_FIXED_NOREPLACE into a hole");
	expect_page(mem, 3, 4);
	expect_page(mem, 4, 5);
	kvm_munmap(again, 8 * page);
	kvm_munmap(mem, 8 * page);
	close(fd);
}

/* Where each of the first four pages of @mem is, as move_pages() reports it. */
static void where(char *mem, int status[4])
{
	void *pages[4];

	for (int i = 0; i < 4; i++)
		pages[i] = mem + i * page;
	kvm_move_pages(0, 4, pages, NULL, status, 0);
}

/* The file's memory policy through its mappings (two nodes: the shim's numaif.h). */
static void numa_rules(struct kvm_vm *vm)
{
	const unsigned long node0 = 1, node1 = 2, max = 8 * sizeof(unsigned long);
	int fd = vm_create_guest_memfd(vm, 4 * page,
				       GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *mem = kvm_mmap(4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	unsigned long mask = 0;
	int mode = -1, st[4];

	if (!is_multi_numa_node_system()) {
		TEST_FAIL("the shim's machine has one node");
		return;
	}
	/* Allocated before the policy: it stays where the default put it (node 0, local). */
	mem[0] = 1;
	kvm_mbind(mem, page, MPOL_BIND, &node1, max, 0);
	where(mem, st);
	TEST_ASSERT(st[0] == 0, "page 0 allocated before its policy: node %d, want 0", st[0]);
	kvm_get_mempolicy(&mode, &mask, max, mem, MPOL_F_ADDR);
	TEST_ASSERT(mode == MPOL_BIND && mask == node1, "policy %d mask 0x%lx", mode, mask);
	/* Allocated after: on the policy's node, both ways round. */
	kvm_fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4 * page);
	kvm_mbind(mem, 2 * page, MPOL_BIND, &node1, max, 0);
	kvm_mbind(mem + 2 * page, 2 * page, MPOL_INTERLEAVE, &node0, max, 0);
	memset(mem, 2, 4 * page);
	where(mem, st);
	TEST_ASSERT(st[0] == 1 && st[1] == 1 && st[2] == 0 && st[3] == 0,
		    "placement %d %d %d %d, want 1 1 0 0", st[0], st[1], st[2], st[3]);
	kvm_get_mempolicy(&mode, &mask, max, mem + 3 * page, MPOL_F_ADDR);
	TEST_ASSERT(mode == MPOL_INTERLEAVE && mask == node0, "policy %d mask 0x%lx", mode, mask);
	kvm_fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4 * page);
	kvm_mbind(mem, 2 * page, MPOL_BIND, &node0, max, 0);
	kvm_mbind(mem + 2 * page, 2 * page, MPOL_BIND, &node1, max, 0);
	memset(mem, 3, 4 * page);
	where(mem, st);
	TEST_ASSERT(st[0] == 0 && st[1] == 0 && st[2] == 1 && st[3] == 1,
		    "placement %d %d %d %d, want 0 0 1 1", st[0], st[1], st[2], st[3]);
	/* Back to the default, and a mode that does not exist. */
	kvm_mbind(mem, 4 * page, MPOL_DEFAULT, NULL, 0, 0);
	kvm_get_mempolicy(&mode, &mask, max, mem, MPOL_F_ADDR);
	TEST_ASSERT(mode == MPOL_DEFAULT && !mask, "policy %d mask 0x%lx", mode, mask);
	TEST_ASSERT(mbind(mem, page, 999, &node0, max, 0) == -1 && errno == EINVAL, "mode 999");
	kvm_munmap(mem, 4 * page);
	close(fd);
}

int main(void)
{
	unsigned long types = kvm_check_cap(KVM_CAP_VM_TYPES);

	page = getpagesize();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));
	if (!types)
		types = BIT(VM_TYPE_DEFAULT);
	for (unsigned long type = 0; type < BITS_PER_TYPE(types); type++) {
		struct kvm_vm *vm;
		uint64_t flags;

		if (!(types & BIT(type)))
			continue;
		vm = vm_create_barebones_type(type);
		flags = (uint64_t)vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS);
		flag_rules(vm);
		no_mmap_rules(vm);
		private_rules(vm);
		if (flags & GUEST_MEMFD_FLAG_INIT_SHARED) {
			shared_rules(vm);
			collapse_rules(vm);
			partial_rules(vm);
			numa_rules(vm);
		}
		kvm_vm_free(vm);
	}
	return gs_peer_failed ? 1 : 0;
}
