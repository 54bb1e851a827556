// SPDX-License-Identifier: MIT
/*
 * Memory nodes (lib/numa.c, per-node physmem, page allocator and HugeTLB
 * pools) and memory policies on guest_memfd (lib/mempolicy.c,
 * lib/guest_memfd/gmem_mempolicy.c, gs_mbind / gs_get_mempolicy /
 * gs_move_pages): what upstream's guest_memfd_test.c checks in
 * test_mbind and test_numa_allocation on a machine with two nodes, said
 * in our words; the errnos of the three calls; per-node pool accounting;
 * state after a failure equal to the state before.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmemsim/check.h>
#include <gmemsim/sites.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/mempolicy.h>
#include <gmemsim/numa.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/page_alloc.h>

#include "harness.h"

#define P	((unsigned long)PAGE_SIZE)
#define MB	(1UL << 20)
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define SHARED	GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB
#define MAXNODE (sizeof(unsigned long) * 8)
#define NODE0	1UL
#define NODE1	2UL
#define H2M	(&hstates[0])

static struct gs_hugetlb_host real_mem = {.backing = GS_BACKING_ANON};
static struct gs_hugetlb_backend real_backend;

/* Two nodes of 32 MiB (16 huge pages of 2 MiB each), the task on node 0. */
static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	real_backend = gs_hugetlb_host_backend(&real_mem);
	ck_assert_int_eq(hugetlb_set_backend(&real_backend), 0);
	ck_assert_int_eq(gs_physmem_set_size(64 * MB), 0);
	ck_assert_int_eq(gs_physmem_set_nodes(2), 0);
	ck_assert_int_eq(gs_numa_set_local_node(0), 0);
}

static void teardown(void)
{
	gs_uapi_reset();
	gs_inject_reset();
	set_max_huge_pages(H2M, 0);
	gs_physmem_set_nodes(1);
	gs_physmem_set_size(GS_PHYSMEM_DEFAULT_SIZE);
}

static void assert_clean(void)
{
	gs_uapi_reset();
	ck_assert_int_eq(set_max_huge_pages(H2M, 0), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	ck_assert_uint_eq(gs_numa_node_used(0) + gs_numa_node_used(1), 0);
	gs_test_assert_no_leaks();
}

/* A VM and a guest_memfd of @size bytes with @flags (@order: HugeTLB page order). */
static int new_gmem(unsigned long size, uint64_t flags, uint64_t order)
{
	int kvm = gs_open("/dev/kvm", O_RDWR), vm, fd;
	struct gs_kvm_create_guest_memfd args = {.size = size, .flags = flags, .page_order = order};

	ck_assert_int_ge(kvm, 0);
	vm = gs_ioctl(kvm, GS_KVM_CREATE_VM, 0UL);
	ck_assert_int_ge(vm, 0);
	fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static char *map(int fd, unsigned long len)
{
	char *mem = gs_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ck_assert_ptr_ne(mem, MAP_FAILED);
	return mem;
}

static void write_pages(char *mem, unsigned long len)
{
	static char buf[4 * 4096];

	memset(buf, 0xaa, sizeof(buf));
	for (unsigned long off = 0; off < len; off += sizeof(buf))
		ck_assert_int_eq(gs_uapi_write_mapped(
					 mem + off, buf,
					 len - off < sizeof(buf) ? len - off : sizeof(buf), NULL),
				 0);
}

static void bind_to(char *addr, unsigned long len, unsigned long nodes)
{
	ck_assert_int_eq(gs_mbind(addr, len, MPOL_BIND, &nodes, MAXNODE, 0), 0);
}

/* Where each of the first @n pages of @mem is (move_pages() with no target nodes). */
static void nodes_of(char *mem, int n, int *status)
{
	void *pages[8];

	for (int i = 0; i < n; i++)
		pages[i] = mem + i * P;
	ck_assert_int_eq(gs_move_pages(0, (unsigned long)n, pages, NULL, status, 0), 0);
}

/* The node of the folio at file page @index, or -1 for none. */
static int file_page_node(int fd, unsigned long index)
{
	struct folio *folio = xa_load(&gs_uapi_gmem_file(fd)->inode->filemap, index);

	return folio ? gs_pfn_to_nid(folio_pfn(folio) + index % folio_nr_pages(folio)) : -1;
}

START_TEST(test_one_node_by_default)
{
	teardown();
	ck_assert_uint_eq(gs_numa_nr_nodes(), 1);
	ck_assert_uint_eq(gs_numa_node_pages(0) * P, gs_physmem_size());
	ck_assert_int_eq(gs_numa_local_node(), 0);
	/* One node: every allocation is on node 0, as before nodes existed. */
	struct folio *f = gs_folio_alloc_order0(GFP_KERNEL);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(gs_pfn_to_nid(folio_pfn(f)), 0);
	folio_put(f);
	ck_assert_uint_eq(gs_numa_node_used(0), 0);
}
END_TEST

START_TEST(test_node_configuration)
{
	ck_assert_uint_eq(gs_numa_nr_nodes(), 2);
	ck_assert_uint_eq(gs_numa_node_pages(0) * P, 32 * MB);
	ck_assert_uint_eq(gs_numa_node_pages(1) * P, 32 * MB);
	ck_assert_int_eq(gs_physmem_set_nodes(0), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_nodes(GS_MAX_NUMNODES + 1), -EINVAL);
	/* 64 MiB cannot give 64 nodes a whole 2 MiB each. */
	ck_assert_int_eq(gs_physmem_set_nodes(64), -EINVAL);
	ck_assert_uint_eq(gs_numa_nr_nodes(), 2);
	ck_assert_int_eq(gs_numa_set_local_node(2), -EINVAL);
	ck_assert_int_eq(gs_numa_set_local_node(-1), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_node_size(2, 2 * MB), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_node_size(1, MB), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_node_size(1, 0), -EINVAL);
	ck_assert_int_eq(gs_physmem_set_node_size(1, 8 * MB), 0);
	ck_assert_uint_eq(gs_physmem_size(), 40 * MB);

	/* Memory in use on node 1 pins the shape and the node's size. */
	struct folio *f = gs_folio_alloc_order0_node(GFP_KERNEL | __GFP_THISNODE, 1, 0);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(gs_pfn_to_nid(folio_pfn(f)), 1);
	ck_assert_int_eq(gs_physmem_set_nodes(4), -EBUSY);
	ck_assert_int_eq(gs_physmem_set_node_size(1, 0), -EINVAL);
	ck_assert_uint_eq(gs_numa_node_used(1) * P, 2 * MB);
	folio_put(f);
	ck_assert_int_eq(gs_physmem_set_nodes(4), 0);
	ck_assert_uint_eq(gs_numa_node_pages(3) * P, 10 * MB);
	/* The size changes, the split stays. */
	ck_assert_int_eq(gs_physmem_set_size(16 * MB), 0);
	ck_assert_uint_eq(gs_numa_node_pages(0) * P, 4 * MB);
	assert_clean();
}
END_TEST

START_TEST(test_page_alloc_fallback_and_thisnode)
{
	struct folio *f[2 * 512 + 1];
	unsigned int n = 0;

	ck_assert_int_eq(gs_physmem_set_size(8 * MB), 0);
	/* Fill node 1 (4 MiB: two chunks of 512 pages) with pages asked of node 1 alone. */
	for (; n < 1024; n++) {
		f[n] = gs_folio_alloc_order0_node(GFP_KERNEL | __GFP_THISNODE, 1, 0);
		gs_assert(f[n] && gs_pfn_to_nid(folio_pfn(f[n])) == 1, "page %u", n);
	}
	ck_assert_ptr_null(gs_folio_alloc_order0_node(GFP_KERNEL | __GFP_THISNODE, 1, 0));
	/* Only node 1 allowed (a BIND): nothing either. */
	ck_assert_ptr_null(gs_folio_alloc_order0_node(GFP_KERNEL, 1, NODE1));
	/* Without __GFP_THISNODE the next node in the fallback order gives it. */
	f[n] = gs_folio_alloc_order0_node(GFP_KERNEL, 1, 0);
	ck_assert_ptr_nonnull(f[n]);
	ck_assert_int_eq(gs_pfn_to_nid(folio_pfn(f[n])), 0);
	/* A freed page of node 1 goes back to node 1's list and is taken from there. */
	folio_put(f[0]);
	f[0] = gs_folio_alloc_order0_node(GFP_KERNEL | __GFP_THISNODE, 1, 0);
	ck_assert_ptr_nonnull(f[0]);
	/* THP: a whole block of a node with one free; node 1 has none. */
	ck_assert_ptr_null(gs_folio_alloc_thp_node(GFP_KERNEL | __GFP_THISNODE, 1, 0));
	struct folio *thp = gs_folio_alloc_thp_node(GFP_KERNEL, 1, 0);

	ck_assert_ptr_nonnull(thp);
	ck_assert_int_eq(gs_pfn_to_nid(folio_pfn(thp)), 0);
	folio_put(thp);
	for (unsigned int i = 0; i <= n; i++)
		folio_put(f[i]);
	ck_assert_uint_eq(gs_numa_node_used(1), 0);
	assert_clean();
}
END_TEST

/* Upstream's test_mbind: set, read back, reset, and refuse a bad mode. */
START_TEST(test_mbind_policies)
{
	int fd = new_gmem(4 * P, MMAP | SHARED, 0), mode;
	unsigned long node0 = NODE0, mask = 0;
	char *mem = map(fd, 4 * P);

	ck_assert_int_eq(gs_mbind(mem, 2 * P, MPOL_INTERLEAVE, &node0, MAXNODE, 0), 0);
	ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, mem, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_INTERLEAVE);
	ck_assert_uint_eq(mask, NODE0);

	ck_assert_int_eq(gs_mbind(mem + 2 * P, 2 * P, MPOL_BIND, &node0, MAXNODE, 0), 0);
	ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, mem + 2 * P, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_BIND);
	ck_assert_uint_eq(mask, NODE0);
	/* The first range is untouched by the second. */
	ck_assert_int_eq(gs_get_mempolicy(&mode, NULL, 0, mem + P, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_INTERLEAVE);

	ck_assert_int_eq(gs_mbind(mem, 4 * P, MPOL_DEFAULT, NULL, 0, 0), 0);
	for (int i = 0; i < 4; i++) {
		mask = ~0UL;
		ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, mem + i * P, MPOL_F_ADDR),
				 0);
		ck_assert_int_eq(mode, MPOL_DEFAULT);
		ck_assert_uint_eq(mask, 0);
	}
	assert_fails(gs_mbind(mem, P, 999, &node0, MAXNODE, 0), EINVAL);
	/* Newer upstream passes maxnode = 8: seven bits read, one word written. */
	mask = ~0UL;
	ck_assert_int_eq(gs_mbind(mem, 2 * P, MPOL_INTERLEAVE, &node0, 8, 0), 0);
	ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, 8, mem, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_INTERLEAVE);
	ck_assert_uint_eq(mask, NODE0);
	/* The probe of is_numa_available(): the task's policy, nothing else asked. */
	ck_assert_int_eq(gs_get_mempolicy(NULL, NULL, 0, NULL, 0), 0);
	/* The policy belongs to the file: a second mapping sees it. */
	ck_assert_int_eq(gs_mbind(mem + P, P, MPOL_PREFERRED, &node0, MAXNODE, 0), 0);
	char *again = map(fd, 4 * P);

	ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, again + P, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_PREFERRED);
	ck_assert_uint_eq(mask, NODE0);
	assert_clean();
}
END_TEST

/* Upstream's test_numa_allocation: pages land on the node their policy binds them to. */
START_TEST(test_numa_allocation)
{
	int fd = new_gmem(4 * P, MMAP | SHARED, 0), st[4], node;
	char *mem = map(fd, 4 * P);

	/* A policy set after the page exists leaves it; punching it lets the next one follow. */
	write_pages(mem, P);
	bind_to(mem, P, NODE0);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_PUNCH_HOLE | GS_FALLOC_FL_KEEP_SIZE, 0, P),
			 0);

	bind_to(mem, 2 * P, NODE1);
	bind_to(mem + 2 * P, 2 * P, NODE0);
	write_pages(mem, 4 * P);
	nodes_of(mem, 4, st);
	ck_assert_int_eq(st[0], 1);
	ck_assert_int_eq(st[1], 1);
	ck_assert_int_eq(st[2], 0);
	ck_assert_int_eq(st[3], 0);
	/* get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) says the same. */
	ck_assert_int_eq(gs_get_mempolicy(&node, NULL, 0, mem + P, MPOL_F_NODE | MPOL_F_ADDR), 0);
	ck_assert_int_eq(node, 1);

	ck_assert_int_eq(
		gs_fallocate(fd, GS_FALLOC_FL_PUNCH_HOLE | GS_FALLOC_FL_KEEP_SIZE, 0, 4 * P), 0);
	bind_to(mem, 2 * P, NODE0);
	bind_to(mem + 2 * P, 2 * P, NODE1);
	write_pages(mem, 4 * P);
	nodes_of(mem, 4, st);
	ck_assert_int_eq(st[0], 0);
	ck_assert_int_eq(st[1], 0);
	ck_assert_int_eq(st[2], 1);
	ck_assert_int_eq(st[3], 1);
	assert_clean();
}
END_TEST

START_TEST(test_placement_by_mode)
{
	int fd = new_gmem(8 * P, MMAP | SHARED, 0), st[8];
	unsigned long both = NODE0 | NODE1, node1 = NODE1;
	char *mem = map(fd, 8 * P);

	/* Interleave goes by file page: 0, 1, 0, 1. */
	ck_assert_int_eq(gs_mbind(mem, 4 * P, MPOL_INTERLEAVE, &both, MAXNODE, 0), 0);
	/* Preferred: node 1 while it has room. */
	ck_assert_int_eq(gs_mbind(mem + 4 * P, 2 * P, MPOL_PREFERRED, &node1, MAXNODE, 0), 0);
	/* Default is local: the task's node, 1 from now on. */
	ck_assert_int_eq(gs_numa_set_local_node(1), 0);
	write_pages(mem, 8 * P);
	nodes_of(mem, 8, st);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(st[i], i % 2);
	ck_assert_int_eq(st[4], 1);
	ck_assert_int_eq(st[5], 1);
	ck_assert_int_eq(st[6], 1);
	ck_assert_int_eq(st[7], 1);
	/* fallocate follows the policy as a fault does. */
	ck_assert_int_eq(
		gs_fallocate(fd, GS_FALLOC_FL_PUNCH_HOLE | GS_FALLOC_FL_KEEP_SIZE, 0, 8 * P), 0);
	ck_assert_int_eq(gs_numa_set_local_node(0), 0);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, 8 * P), 0);
	ck_assert_int_eq(file_page_node(fd, 1), 1);
	ck_assert_int_eq(file_page_node(fd, 2), 0);
	ck_assert_int_eq(file_page_node(fd, 4), 1);
	ck_assert_int_eq(file_page_node(fd, 7), 0);
	assert_clean();
}
END_TEST

START_TEST(test_bind_full_node)
{
	int fd, st[1];
	unsigned long node1 = NODE1;
	struct folio *hog;
	char *mem;

	/* Node 1 is 2 MiB, all in use; node 0 has room. */
	ck_assert_int_eq(gs_physmem_set_node_size(1, 2 * MB), 0);
	hog = gs_folio_alloc_thp_node(GFP_KERNEL | __GFP_THISNODE, 1, 0);
	ck_assert_ptr_nonnull(hog);
	fd = new_gmem(2 * P, MMAP | SHARED, 0);
	mem = map(fd, 2 * P);
	bind_to(mem, 2 * P, NODE1);
	/* BIND does not fall back: fallocate fails and adds nothing, a fault is out of memory. */
	assert_fails(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, 2 * P), ENOMEM);
	ck_assert_int_eq(file_page_node(fd, 0), -1);
	assert_fails(gs_uapi_write_mapped(mem, "x", 1, NULL), ENOMEM);
	/* PREFERRED does: page 1 comes from node 0. */
	ck_assert_int_eq(gs_mbind(mem + P, P, MPOL_PREFERRED, &node1, MAXNODE, 0), 0);
	ck_assert_int_eq(gs_uapi_write_mapped(mem + P, "x", 1, NULL), 0);
	nodes_of(mem + P, 1, st);
	ck_assert_int_eq(st[0], 0);
	folio_put(hog);
	assert_clean();
}
END_TEST

START_TEST(test_mbind_errnos)
{
	int fd = new_gmem(4 * P, MMAP | SHARED, 0), mode;
	unsigned long node0 = NODE0, none = 0, far = 1UL << 5, big[3] = {NODE0, 0, 1};
	char *mem = map(fd, 4 * P);

	assert_fails(gs_mbind(mem + 1, P, MPOL_BIND, &node0, MAXNODE, 0), EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_BIND, &node0, MAXNODE, 1U << 3), EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES,
			      &node0, MAXNODE, 0),
		     EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_INTERLEAVE | MPOL_F_NUMA_BALANCING, &node0, MAXNODE, 0),
		     EINVAL);
	assert_fails(gs_mbind(mem, P, GS_MPOL_MAX, &node0, MAXNODE, 0), EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_DEFAULT, &node0, MAXNODE, 0), EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_LOCAL, &node0, MAXNODE, 0), EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_BIND, &none, MAXNODE, 0), EINVAL);
	assert_fails(gs_mbind(mem, P, MPOL_BIND, NULL, 0, 0), EINVAL);
	/* Node 5 does not exist: nothing is left of the mask. */
	assert_fails(gs_mbind(mem, P, MPOL_INTERLEAVE, &far, MAXNODE, 0), EINVAL);
	/* Bits past our node limit (bit 128 of a 3-word mask) are refused... */
	assert_fails(gs_mbind(mem, P, MPOL_BIND, big, 3 * MAXNODE, 0), EINVAL);
	/* ...unless past maxnode - 1 bits, which are not read. */
	ck_assert_int_eq(gs_mbind(mem, P, MPOL_BIND, big, 2 * MAXNODE + 1, 0), 0);
	assert_fails(gs_mbind(mem, P, MPOL_BIND, &node0, PAGE_SIZE * 8 + 2, 0), EINVAL);
	/* A range reaching past the mapping, or in none: EFAULT, nothing set. */
	assert_fails(gs_mbind(mem + 2 * P, 4 * P, MPOL_BIND, &node0, MAXNODE, 0), EFAULT);
	ck_assert_int_eq(gs_get_mempolicy(&mode, NULL, 0, mem + 2 * P, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_DEFAULT);
	assert_fails(gs_mbind((void *)(uintptr_t)PAGE_SIZE, P, MPOL_BIND, &node0, MAXNODE, 0),
		     EFAULT);
	/* A length that wraps when rounded up is 0, as PAGE_ALIGN() makes it; one past the top is not. */
	ck_assert_int_eq(gs_mbind(mem, ULONG_MAX, MPOL_BIND, &node0, MAXNODE, 0), 0);
	assert_fails(gs_mbind(mem, ULONG_MAX - 2 * P, MPOL_BIND, &node0, MAXNODE, 0), EINVAL);
	/* Nothing to do: no check of the range either. */
	ck_assert_int_eq(gs_mbind(NULL, 0, MPOL_BIND, &node0, MAXNODE, 0), 0);
	/* PREFERRED with no node is local allocation. */
	ck_assert_int_eq(gs_mbind(mem + 3 * P, P, MPOL_PREFERRED, NULL, 0, 0), 0);
	ck_assert_int_eq(gs_get_mempolicy(&mode, NULL, 0, mem + 3 * P, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_LOCAL);
	/* Static nodes: the mask as given comes back with the flag. */
	unsigned long both = 3, got = 0;

	ck_assert_int_eq(
		gs_mbind(mem, P, MPOL_BIND | MPOL_F_STATIC_NODES, &both, MAXNODE, MPOL_MF_STRICT),
		0);
	ck_assert_int_eq(gs_get_mempolicy(&mode, &got, MAXNODE, mem, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_BIND | MPOL_F_STATIC_NODES);
	ck_assert_uint_eq(got, 3);
	assert_clean();
}
END_TEST

START_TEST(test_strict_and_move)
{
	int fd = new_gmem(2 * P, MMAP | SHARED, 0), mode, st[2];
	unsigned long node1 = NODE1, mask;
	char *mem = map(fd, 2 * P);

	write_pages(mem, 2 * P); /* both on node 0, the task's */
	/* STRICT alone: a mapped page off the nodes fails before the policy changes. */
	assert_fails(gs_mbind(mem, 2 * P, MPOL_BIND, &node1, MAXNODE, MPOL_MF_STRICT), EIO);
	ck_assert_int_eq(gs_get_mempolicy(&mode, NULL, 0, mem, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_DEFAULT);
	/* With a move: the policy is set, the pages cannot move, so STRICT says EIO after. */
	assert_fails(
		gs_mbind(mem, 2 * P, MPOL_BIND, &node1, MAXNODE, MPOL_MF_STRICT | MPOL_MF_MOVE),
		EIO);
	ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, mem, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_BIND);
	ck_assert_uint_eq(mask, NODE1);
	/* A move without STRICT succeeds, and the pages stay. */
	ck_assert_int_eq(gs_mbind(mem, 2 * P, MPOL_BIND, &node1, MAXNODE, MPOL_MF_MOVE_ALL), 0);
	nodes_of(mem, 2, st);
	ck_assert_int_eq(st[0], 0);
	ck_assert_int_eq(st[1], 0);
	/* MPOL_DEFAULT drops STRICT: nothing to check against. */
	ck_assert_int_eq(gs_mbind(mem, 2 * P, MPOL_DEFAULT, NULL, 0, MPOL_MF_STRICT), 0);
	assert_clean();
}
END_TEST

START_TEST(test_get_mempolicy_and_move_pages_errnos)
{
	int fd = new_gmem(2 * P, MMAP | SHARED, 0), mode = -1, st[3], targets[3];
	unsigned long mask = 0, words[3] = {~0UL, ~0UL, ~0UL};
	char *mem = map(fd, 2 * P);
	void *pages[3] = {mem, mem + P, (void *)(uintptr_t)PAGE_SIZE};

	assert_fails(gs_get_mempolicy(&mode, &mask, 1, NULL, 0), EINVAL);
	assert_fails(gs_get_mempolicy(&mode, NULL, 0, NULL, 1UL << 3), EINVAL);
	assert_fails(gs_get_mempolicy(&mode, NULL, 0, mem, MPOL_F_MEMS_ALLOWED | MPOL_F_ADDR),
		     EINVAL);
	assert_fails(gs_get_mempolicy(&mode, NULL, 0, mem, 0), EINVAL);
	assert_fails(gs_get_mempolicy(&mode, NULL, 0, NULL, MPOL_F_NODE), EINVAL);
	assert_fails(gs_get_mempolicy(&mode, NULL, 0, pages[2], MPOL_F_ADDR), EFAULT);
	ck_assert_int_eq(mode, -1);
	/* A mask of more than a page: the mode is written first, as the kernel does. */
	assert_fails(gs_get_mempolicy(&mode, words, PAGE_SIZE * 8 + 65, NULL, 0), EINVAL);
	ck_assert_int_eq(mode, MPOL_DEFAULT);
	ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, NULL, MPOL_F_MEMS_ALLOWED), 0);
	ck_assert_uint_eq(mask, NODE0 | NODE1);
	/* The task's policy: the default; words beyond the nodes are cleared. */
	ck_assert_int_eq(gs_get_mempolicy(&mode, words, 3 * MAXNODE, NULL, 0), 0);
	ck_assert_int_eq(mode, MPOL_DEFAULT);
	ck_assert_uint_eq(words[0] | words[1] | words[2], 0);

	/* move_pages: a page not faulted in, one faulted in, one in no mapping. */
	write_pages(mem + P, P);
	ck_assert_int_eq(gs_move_pages(0, 3, pages, NULL, st, 0), 0);
	ck_assert_int_eq(st[0], -ENOENT);
	ck_assert_int_eq(st[1], 0);
	ck_assert_int_eq(st[2], -EFAULT);
	ck_assert_int_eq(gs_move_pages(getpid(), 3, pages, NULL, st, MPOL_MF_MOVE), 0);
	assert_fails(gs_move_pages(0, 3, pages, NULL, st, MPOL_MF_STRICT), EINVAL);
	assert_fails(gs_move_pages(getpid() + 1, 3, pages, NULL, st, 0), ESRCH);
	targets[0] = targets[1] = targets[2] = 0;
	targets[1] = 5;
	assert_fails(gs_move_pages(0, 3, pages, targets, st, MPOL_MF_MOVE), ENODEV);
	targets[1] = -1;
	assert_fails(gs_move_pages(0, 3, pages, targets, st, MPOL_MF_MOVE), EINVAL);
	/* A move to where the page is reports the node; elsewhere, it cannot move. */
	targets[1] = 0;
	ck_assert_int_eq(gs_move_pages(0, 2, pages, targets, st, MPOL_MF_MOVE), 0);
	ck_assert_int_eq(st[1], 0);
	targets[1] = 1;
	ck_assert_int_eq(gs_move_pages(0, 2, pages, targets, st, MPOL_MF_MOVE), 0);
	ck_assert_int_eq(st[0], -ENOENT);
	ck_assert_int_eq(st[1], -EBUSY);
	assert_clean();
}
END_TEST

/* Every allocation mbind makes, failed in turn: the file's policy stays as it was. */
START_TEST(test_mbind_rollback)
{
	int fd = new_gmem(8 * P, MMAP | SHARED, 0), mode;
	unsigned long node0 = NODE0, node1 = NODE1, mask;
	char *mem = map(fd, 8 * P);

	bind_to(mem, 8 * P, NODE0);
	for (unsigned long nth = 1; nth <= 2; nth++) {
		int id = gs_inject_arm(&(struct gs_inject_rule){
			.site = GS_SITE_MPOL_SP_NODE, .mode = GS_INJECT_NTH, .nth = nth});

		ck_assert_int_ge(id, 0);
		/* The middle of the range: a new range and a split of the old one. */
		assert_fails(gs_mbind(mem + 2 * P, 2 * P, MPOL_BIND, &node1, MAXNODE, 0), ENOMEM);
		gs_inject_disarm(id);
		for (int i = 0; i < 8; i++) {
			ck_assert_int_eq(
				gs_get_mempolicy(&mode, &mask, MAXNODE, mem + i * P, MPOL_F_ADDR),
				0);
			ck_assert_int_eq(mode, MPOL_BIND);
			ck_assert_uint_eq(mask, node0);
		}
	}
	ck_assert_int_eq(gs_mbind(mem + 2 * P, 2 * P, MPOL_BIND, &node1, MAXNODE, 0), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(gs_get_mempolicy(&mode, &mask, MAXNODE, mem + i * P, MPOL_F_ADDR),
				 0);
		ck_assert_uint_eq(mask, i == 2 || i == 3 ? NODE1 : NODE0);
	}
	assert_clean();
}
END_TEST

/* nodeN/hugepages/.../nr_hugepages: per-node pools adding up to the global one. */
START_TEST(test_hugetlb_node_pools)
{
	ck_assert_int_eq(hugetlb_set_node_huge_pages(H2M, 2, 1), -EINVAL);
	ck_assert_int_eq(hugetlb_set_node_huge_pages(H2M, 1, 3), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages, 3);
	ck_assert_uint_eq(H2M->nr_huge_pages_node[1], 3);
	ck_assert_uint_eq(H2M->nr_huge_pages_node[0], 0);
	/* The global count grows over the nodes in turn. */
	ck_assert_int_eq(set_max_huge_pages(H2M, 7), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages, 7);
	ck_assert_uint_eq(H2M->nr_huge_pages_node[0] + H2M->nr_huge_pages_node[1], 7);
	ck_assert_uint_ge(H2M->nr_huge_pages_node[0], 2);
	/* A node asked for more than it holds (16 pages) grows to what fits. */
	ck_assert_int_eq(hugetlb_set_node_huge_pages(H2M, 0, 100), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages_node[0], 16);
	ck_assert_uint_eq(H2M->free_huge_pages_node[0], 16);
	ck_assert_uint_eq(gs_numa_node_free(0), 0);
	/* Shrinking a node takes only its pages. */
	unsigned long on1 = H2M->nr_huge_pages_node[1];

	ck_assert_int_eq(hugetlb_set_node_huge_pages(H2M, 0, 1), 0);
	ck_assert_uint_eq(H2M->nr_huge_pages_node[0], 1);
	ck_assert_uint_eq(H2M->nr_huge_pages_node[1], on1);
	ck_assert_uint_eq(H2M->nr_huge_pages, 1 + on1);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	assert_clean();
}
END_TEST

START_TEST(test_hugetlb_policy)
{
	unsigned long node1 = NODE1;
	int fd, fd2;
	char *mem;

	/* Node 0: one free page; node 1: two. */
	ck_assert_int_eq(hugetlb_set_node_huge_pages(H2M, 0, 1), 0);
	ck_assert_int_eq(hugetlb_set_node_huge_pages(H2M, 1, 2), 0);
	fd = new_gmem(4 * MB, MMAP | HUGETLB, 9);
	ck_assert_uint_eq(H2M->resv_huge_pages, 2);
	mem = map(fd, 4 * MB);
	bind_to(mem, 4 * MB, NODE1);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, 4 * MB), 0);
	ck_assert_int_eq(file_page_node(fd, 0), 1);
	ck_assert_int_eq(file_page_node(fd, 512), 1);
	ck_assert_uint_eq(H2M->free_huge_pages_node[1], 0);
	ck_assert_uint_eq(H2M->free_huge_pages_node[0], 1);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);

	/* A file reserving node 0's page, bound to node 1 where none is free: ENOMEM, nothing taken. */
	fd2 = new_gmem(2 * MB, MMAP | HUGETLB, 9);
	ck_assert_uint_eq(H2M->resv_huge_pages, 1);
	mem = map(fd2, 2 * MB);
	ck_assert_int_eq(gs_mbind(mem, 2 * MB, MPOL_BIND, &node1, MAXNODE, 0), 0);
	assert_fails(gs_fallocate(fd2, GS_FALLOC_FL_KEEP_SIZE, 0, 2 * MB), ENOMEM);
	ck_assert_uint_eq(H2M->resv_huge_pages, 1);
	ck_assert_uint_eq(H2M->free_huge_pages, 1);
	ck_assert_int_eq(file_page_node(fd2, 0), -1);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	/* The default policy takes it, from node 0 (the task's). */
	ck_assert_int_eq(gs_mbind(mem, 2 * MB, MPOL_DEFAULT, NULL, 0, 0), 0);
	ck_assert_int_eq(gs_fallocate(fd2, GS_FALLOC_FL_KEEP_SIZE, 0, 2 * MB), 0);
	ck_assert_int_eq(file_page_node(fd2, 0), 0);
	ck_assert_uint_eq(H2M->resv_huge_pages, 0);
	assert_clean();
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("numa");
	TCase *tc = tcase_create("numa");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_node_by_default);
	tcase_add_test(tc, test_node_configuration);
	tcase_add_test(tc, test_page_alloc_fallback_and_thisnode);
	tcase_add_test(tc, test_mbind_policies);
	tcase_add_test(tc, test_numa_allocation);
	tcase_add_test(tc, test_placement_by_mode);
	tcase_add_test(tc, test_bind_full_node);
	tcase_add_test(tc, test_mbind_errnos);
	tcase_add_test(tc, test_strict_and_move);
	tcase_add_test(tc, test_get_mempolicy_and_move_pages_errnos);
	tcase_add_test(tc, test_mbind_rollback);
	tcase_add_test(tc, test_hugetlb_node_pools);
	tcase_add_test(tc, test_hugetlb_policy);
	suite_add_tcase(s, tc);
	return s;
}
