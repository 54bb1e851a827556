// SPDX-License-Identifier: MIT
/*
 * Truncation of guest_memfd files whose HugeTLB pages are split into 4 KiB
 * pieces (spec P26, P27, P36): a punch merges each split page back and
 * frees it to its subpool, or fails with EAGAIN, changing nothing, while a
 * piece is pinned; closing the file with pinned pieces succeeds, and the
 * deferred worker merges the page when the last pin goes, leaving the pool,
 * the subpool reservation and the cgroup counters as they were before the
 * file existed. Written against the gs_* uAPI as the HugeTLB RFC v2
 * selftests (§3.4) are against the syscalls: test_truncate_shared_while_pinned
 * and test_close_with_pinning run for 4 KiB (upstream: the punch of a pinned
 * page succeeds), 2 MiB and 1 GiB files. Beyond them: a split page punched
 * while mapped by the host and the guest, EAGAIN all or nothing across huge
 * pages (state snapshots equal), close without pins (no deferred work), and
 * every allocation of a punch and of a close failed in turn.
 *
 * Pieces come from a conversion to shared. Where the conversion of a HugeTLB
 * file is not wired yet (it answers EOPNOTSUPP), make_shared() does what it
 * will do: split the huge page holding the range with
 * hugetlb_restructuring_split_folio() and mark the range shared.
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
#include <gmemsim/hugetlb_cgroup.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/inject.h>
#include <gmemsim/sites.h>
#include <gmemsim/kvm.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/physmem.h>
#include <gmemsim/state.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include "harness.h"

#define P	((uint64_t)PAGE_SIZE)
#define GPA	(4ULL << 30)
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB

/* Metadata only: 1 GiB pages need no host memory behind them. */
static struct gs_hugetlb_host host_mem = {.backing = GS_BACKING_NONE};
static struct gs_hugetlb_backend host_backend;

static void setup(void)
{
	gs_inject_reset();
	gs_warn_reset_count();
	host_backend = gs_hugetlb_host_backend(&host_mem);
	ck_assert_int_eq(hugetlb_set_backend(&host_backend), 0);
	hugetlb_cgroup_attach(hugetlb_cgroup_root());
}

static void teardown(void)
{
	struct hstate *h;

	gs_uapi_reset();
	hugetlb_restructuring_run_deferred();
	gs_inject_reset();
	for_each_hstate (h)
		set_max_huge_pages(h, 0);
}

/* --- the pool's counters: what must come back --- */

struct pool {
	unsigned long nr, free, resv, surplus;
	unsigned long usage, rsvd;
	unsigned long meta, queued, waiting;
	unsigned long phys_free;
};

static struct pool pool_now(unsigned int order)
{
	struct hstate *h = order ? size_to_hstate(PAGE_SIZE << order) : NULL;
	struct gs_restructuring_stats rs;
	struct pool p = {0};

	gs_restructuring_stats(&rs);
	if (h) {
		p.nr = h->nr_huge_pages;
		p.free = h->free_huge_pages;
		p.resv = h->resv_huge_pages;
		p.surplus = h->surplus_huge_pages;
		p.usage = hugetlb_cgroup_usage(hugetlb_cgroup_root(), hstate_index(h), false);
		p.rsvd = hugetlb_cgroup_usage(hugetlb_cgroup_root(), hstate_index(h), true);
	}
	p.meta = hugetlb_meta_count();
	p.queued = rs.queued;
	p.waiting = rs.waiting_pages;
	p.phys_free = gs_physmem_free_pages();
	return p;
}

static void assert_pool_eq(struct pool a, struct pool b)
{
	ck_assert_uint_eq(a.nr, b.nr);
	ck_assert_uint_eq(a.free, b.free);
	ck_assert_uint_eq(a.resv, b.resv);
	ck_assert_uint_eq(a.surplus, b.surplus);
	ck_assert_uint_eq(a.usage, b.usage);
	ck_assert_uint_eq(a.rsvd, b.rsvd);
	ck_assert_uint_eq(a.meta, b.meta);
	ck_assert_uint_eq(a.queued, b.queued);
	ck_assert_uint_eq(a.waiting, b.waiting);
	ck_assert_uint_eq(a.phys_free, b.phys_free);
}

static void assert_checkers(void)
{
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
}

/* --- the selftests' helpers --- */

static int create_vm(void)
{
	int kvm = gs_open("/dev/kvm", O_RDWR), vm;

	ck_assert_int_ge(kvm, 0);
	gs_uapi_set_vm_memory_attributes(false);
	vm = gs_ioctl(kvm, GS_KVM_CREATE_VM, GS_KVM_X86_SW_PROTECTED_VM);
	ck_assert_int_ge(vm, 0);
	ck_assert_int_eq(gs_close(kvm), 0);
	return vm;
}

/* A pool of @nr huge pages of order @order (none for 4 KiB). */
static void pool_size(unsigned int order, unsigned long nr)
{
	if (order)
		ck_assert_int_eq(set_max_huge_pages(size_to_hstate(P << order), nr), 0);
}

/* A file of @nr pages of order @order (0: 4 KiB). */
static int create_gmem(int vm, unsigned int order, uint64_t nr)
{
	struct gs_kvm_create_guest_memfd args = {.size = nr * (P << order), .flags = MMAP};
	int fd;

	if (order) {
		args.flags |= HUGETLB;
		args.page_order = order;
	}
	fd = gs_ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static struct gmem_inode *file_inode(int fd)
{
	return gs_uapi_gmem_file(fd)->inode;
}

/*
 * Convert [off, off + len) to shared. A HugeTLB file whose conversion is
 * not wired yet gets what the conversion does (P35): the huge page holding
 * @off split to 4 KiB, then the range's attribute stored.
 */
static void make_shared(int fd, uint64_t off, uint64_t len)
{
	struct gs_kvm_memory_attributes2 a = {.offset = off, .size = len};
	struct gmem_inode *inode = file_inode(fd);
	struct folio *folio;

	if (gs_ioctl(fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a) == 0)
		return;
	ck_assert_int_eq(errno, EOPNOTSUPP);
	folio = xa_load(&inode->filemap, off >> PAGE_SHIFT);
	if (folio && folio_order(folio)) {
		struct hugetlb_split_opts opts = {0};

		ck_assert_int_eq(hugetlb_restructuring_split_folio(&inode->filemap, folio->index,
								   folio, &opts),
				 0);
	}
	ck_assert_int_eq(mtree_store_range(&inode->shareability, off >> PAGE_SHIFT,
					   ((off + len) >> PAGE_SHIFT) - 1,
					   xa_mk_value(SHAREABILITY_ALL), GFP_KERNEL),
			 0);
}

static int punch(int fd, uint64_t off, uint64_t len)
{
	return gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE, (off_t)off,
			    (off_t)len);
}

static int host_write(char *mem, uint64_t off, int byte)
{
	char c = (char)byte;
	size_t done;

	return gs_sys_sim.host_write(mem + off, &c, 1, &done);
}

/* A private guest access of one page: its stage-2 leaf. */
static void guest_fault_private(int vm, uint64_t off)
{
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT, .private = true};

	ck_assert_int_eq(kvm_tdp_page_fault(gs_uapi_kvm(vm), &fault), 0);
}

static unsigned long stage2_leaves(int vm)
{
	struct kvm *kvm = gs_uapi_kvm(vm);
	unsigned long n = 0;

	for (int l = 0; l < PG_LEVEL_NUM; l++)
		n += kvm->nr_leaves[l];
	return n;
}

/* The file's and the VM's state plus every registered layer's, as text. */
static char *snapshot(int vm, int fd)
{
	struct gs_state *st = gs_state_new();
	char *text;

	kvm_gmem_dump_state(st, "g", file_inode(fd));
	kvm_dump_state(st, "vm", gs_uapi_kvm(vm));
	gs_state_collect(st);
	text = gs_state_text(st);
	gs_state_free(st);
	return text;
}

static unsigned long restructuring_merges(void)
{
	struct gs_restructuring_stats rs;

	gs_restructuring_stats(&rs);
	return rs.merges;
}

/* Nothing open, nothing allocated, no checker complaint, no WARN. */
static void assert_clean(struct pool base)
{
	struct hstate *h;

	gs_uapi_reset();
	ck_assert_uint_eq(gs_uapi_nr_open(), 0);
	assert_pool_eq(pool_now(0), base);
	assert_checkers();
	ck_assert_uint_eq(gs_warn_count(), 0);
	for_each_hstate (h)
		ck_assert_int_eq(set_max_huge_pages(h, 0), 0);
	gs_test_assert_no_leaks();
}

/* --- test_truncate_shared_while_pinned (44/51) --- */

/*
 * One file page, allocated, its page at @pin_off (nr/2 for the selftest)
 * shared and pinned. 4 KiB: the punch succeeds, the pinned page lives on
 * out of the file. HugeTLB: EAGAIN with nothing changed until unpinned,
 * then the page merges and goes back to the subpool (reserved again, P22)
 * at once, with no deferred work.
 */
static void truncate_pinned_at(unsigned int order, uint64_t pin_off)
{
	uint64_t page = P << order;
	struct pool base, allocated, split, created;
	int vm, fd;
	char *mem, *before, *after;
	unsigned long merges;
	int pin;

	pool_size(order, 1);
	base = pool_now(order);
	vm = create_vm();
	fd = create_gmem(vm, order, 1);
	created = pool_now(order);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)page), 0);
	allocated = pool_now(order);
	make_shared(fd, pin_off, P);
	mem = gs_test_mmap_gmem(fd, page);
	ck_assert_int_eq(host_write(mem, pin_off, 'A'), 0);
	pin = gs_uapi_pin(mem + pin_off, P);
	ck_assert_int_gt(pin, 0);
	split = pool_now(order);
	assert_checkers();
	if (!order) {
		ck_assert_int_eq(punch(fd, 0, page), 0);
		ck_assert_ptr_null(xa_load(&file_inode(fd)->filemap, 0));
		ck_assert_int_eq(gs_uapi_unpin(pin), 0);
		assert_pool_eq(pool_now(0), created);
		goto out;
	}
	before = snapshot(vm, fd);
	assert_fails(punch(fd, 0, page), EAGAIN);
	after = snapshot(vm, fd);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	assert_pool_eq(pool_now(order), split);
	ck_assert_uint_eq(split.free, allocated.free);
	assert_checkers();
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	merges = restructuring_merges();
	ck_assert_int_eq(punch(fd, 0, page), 0);
	ck_assert_uint_eq(restructuring_merges(), merges + 1);
	ck_assert_ptr_null(xa_load(&file_inode(fd)->filemap, 0));
	/* Back to the subpool, reserved for the file again (P22): as right after creation. */
	assert_pool_eq(pool_now(order), created);
	/* Punch keeps the attributes (P11). */
	ck_assert_int_eq(kvm_gmem_range_shareability(file_inode(fd), pin_off >> PAGE_SHIFT,
						     (pin_off >> PAGE_SHIFT) + 1),
			 SHAREABILITY_ALL);
out:
	assert_checkers();
	ck_assert_int_eq(gs_munmap(mem, page), 0);
	ck_assert_int_eq(gs_close(fd), 0);
	ck_assert_int_eq(gs_close(vm), 0);
	assert_pool_eq(pool_now(order), base);
	assert_clean(pool_now(0));
}

static void truncate_shared_while_pinned(unsigned int order)
{
	truncate_pinned_at(order, ((P << order) / 2) & ~(P - 1));
}

/*
 * The same with the pinned piece anywhere in its XArray leaf (the punch's
 * check reads a leaf's run of pieces from its slots): first, second, last
 * of a leaf, first of the next, the page's last.
 */
static const unsigned long pinned_pieces[] = {0, 1, 63, 64, 300, 511};

START_TEST(test_truncate_pinned_piece_anywhere_2m)
{
	truncate_pinned_at(9, pinned_pieces[_i] * P);
}
END_TEST

START_TEST(test_truncate_shared_while_pinned_4k)
{
	truncate_shared_while_pinned(0);
}
END_TEST

START_TEST(test_truncate_shared_while_pinned_2m)
{
	truncate_shared_while_pinned(9);
}
END_TEST

START_TEST(test_truncate_shared_while_pinned_1g)
{
	truncate_shared_while_pinned(18);
}
END_TEST

/* --- test_close_with_pinning (35/51) --- */

/*
 * Close with a pinned piece succeeds. The other pieces go at once, but the
 * page waits (pool, subpool and cgroup still count it) until the pin goes
 * and the deferred worker runs; then everything is back to the baseline.
 */
static void close_with_pinning(unsigned int order)
{
	uint64_t page = P << order, pin_off = order ? 3 * P : 0;
	struct pool base, allocated;
	int vm, fd, pin;
	char *mem;

	pool_size(order, 1);
	base = pool_now(order);
	vm = create_vm();
	fd = create_gmem(vm, order, 1);

	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)page), 0);
	allocated = pool_now(order);
	make_shared(fd, 0, page);
	mem = gs_test_mmap_gmem(fd, page);
	ck_assert_int_eq(host_write(mem, pin_off, 'B'), 0);
	pin = gs_uapi_pin(mem + pin_off, P);
	ck_assert_int_gt(pin, 0);
	ck_assert_int_eq(gs_munmap(mem, page), 0);
	ck_assert_int_eq(gs_close(fd), 0);
	ck_assert_int_eq(gs_close(vm), 0);
	ck_assert_uint_eq(gs_uapi_nr_open(), 0);
	assert_checkers();
	if (!order) {
		/* Upstream: the pinned page outlives the file; the unpin frees it. */
		ck_assert_uint_lt(pool_now(0).phys_free, base.phys_free);
		ck_assert_int_eq(gs_uapi_unpin(pin), 0);
		assert_clean(base);
		return;
	}
	/* The file is gone, the page is not: every piece but the pinned one waits. */
	ck_assert_uint_eq(pool_now(order).free, allocated.free);
	ck_assert_uint_eq(pool_now(order).usage, allocated.usage);
	ck_assert_uint_eq(pool_now(order).queued, (1UL << order) - 1);
	ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 0);
	ck_assert_uint_eq(pool_now(order).waiting, (1UL << order) - 1);
	ck_assert_uint_eq(pool_now(order).free, allocated.free);
	assert_checkers();
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	/* The last piece is free; the worker has not run: still in use. */
	ck_assert_uint_eq(pool_now(order).queued, 1);
	ck_assert_uint_eq(pool_now(order).free, allocated.free);
	assert_checkers();
	ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 1);
	assert_pool_eq(pool_now(order), base);
	assert_clean(pool_now(0));
}

START_TEST(test_close_with_pinning_4k)
{
	close_with_pinning(0);
}
END_TEST

START_TEST(test_close_with_pinning_2m)
{
	close_with_pinning(9);
}
END_TEST

START_TEST(test_close_with_pinning_1g)
{
	close_with_pinning(18);
}
END_TEST

/* --- beyond the selftests --- */

/*
 * A split page mapped by the host and by the guest, not pinned: the punch
 * zaps both, merges the page and frees it to the subpool without the
 * deferred worker; the attributes stay (P11).
 */
static void punch_split_unpinned(unsigned int order)
{
	uint64_t page = P << order;
	struct pool created;
	unsigned long merges;
	int vm, fd;
	char *mem;

	pool_size(order, 2);
	vm = create_vm();
	fd = create_gmem(vm, order, 2);
	created = pool_now(order);

	gs_test_bind_gmem(vm, fd, GPA, 2 * page);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * page)), 0);
	make_shared(fd, page + P, P);
	mem = gs_test_mmap_gmem(fd, 2 * page);
	ck_assert_int_eq(host_write(mem, page + P, 'C'), 0);
	guest_fault_private(vm, page + 2 * P);
	guest_fault_private(vm, 0);
	ck_assert_uint_eq(stage2_leaves(vm), 2);
	assert_checkers();
	merges = restructuring_merges();
	ck_assert_int_eq(punch(fd, page, page), 0);
	ck_assert_uint_eq(restructuring_merges(), merges + 1);
	/* Only the punched page's leaf went. */
	ck_assert_uint_eq(stage2_leaves(vm), 1);
	ck_assert_ptr_null(xa_load(&file_inode(fd)->filemap, page >> PAGE_SHIFT));
	ck_assert_uint_eq(pool_now(order).free, created.free - 1);
	ck_assert_uint_eq(pool_now(order).resv, created.resv - 1);
	ck_assert_uint_eq(pool_now(order).meta, 0);
	ck_assert_uint_eq(pool_now(order).queued, 0);
	ck_assert_int_eq(kvm_gmem_range_shareability(file_inode(fd), (page >> PAGE_SHIFT) + 1,
						     (page >> PAGE_SHIFT) + 2),
			 SHAREABILITY_ALL);
	assert_checkers();
	ck_assert_int_eq(punch(fd, 0, 2 * page), 0);
	assert_pool_eq(pool_now(order), created);
	ck_assert_int_eq(gs_munmap(mem, 2 * page), 0);
	ck_assert_int_eq(gs_close(fd), 0);
	ck_assert_int_eq(gs_close(vm), 0);
	assert_clean(pool_now(0));
}

START_TEST(test_punch_split_unpinned_2m)
{
	punch_split_unpinned(9);
}
END_TEST

START_TEST(test_punch_split_unpinned_1g)
{
	punch_split_unpinned(18);
}
END_TEST

/*
 * Two split pages, the second pinned: the punch of both is EAGAIN and the
 * first, which could merge, is left as it was too (all or nothing across
 * huge pages); the punch of the first alone succeeds.
 */
START_TEST(test_punch_eagain_all_or_nothing)
{
	uint64_t page = P << 9;
	struct pool created;
	char *mem, *before, *after;
	int vm, fd, pin;

	pool_size(9, 2);
	vm = create_vm();
	fd = create_gmem(vm, 9, 2);
	created = pool_now(9);

	gs_test_bind_gmem(vm, fd, GPA, 2 * page);
	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * page)), 0);
	make_shared(fd, 0, P);
	make_shared(fd, page, P);
	mem = gs_test_mmap_gmem(fd, 2 * page);
	ck_assert_int_eq(host_write(mem, 0, 'D'), 0);
	guest_fault_private(vm, 5 * P);
	pin = gs_uapi_pin(mem + page, P);
	ck_assert_int_gt(pin, 0);
	before = snapshot(vm, fd);
	assert_fails(punch(fd, 0, 2 * page), EAGAIN);
	after = snapshot(vm, fd);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* The host mapping and the guest leaf are still there. */
	ck_assert_uint_eq(stage2_leaves(vm), 1);
	ck_assert_int_eq(folio_mapcount(xa_load(&file_inode(fd)->filemap, 0)), 1);
	assert_checkers();
	ck_assert_int_eq(punch(fd, 0, page), 0);
	ck_assert_uint_eq(stage2_leaves(vm), 0);
	ck_assert_uint_eq(pool_now(9).free, created.free - 1);
	assert_fails(punch(fd, page, page), EAGAIN);
	ck_assert_int_eq(gs_uapi_unpin(pin), 0);
	ck_assert_int_eq(punch(fd, page, page), 0);
	assert_pool_eq(pool_now(9), created);
	ck_assert_int_eq(gs_munmap(mem, 2 * page), 0);
	ck_assert_int_eq(gs_close(fd), 0);
	ck_assert_int_eq(gs_close(vm), 0);
	assert_clean(pool_now(0));
}
END_TEST

/*
 * Close with no pin: eviction merges every split page and frees it at once;
 * nothing waits for the worker.
 */
START_TEST(test_close_split_unpinned)
{
	uint64_t page = P << 9;
	struct pool base;
	int vm, fd;
	char *mem;

	pool_size(9, 2);
	base = pool_now(9);
	vm = create_vm();
	fd = create_gmem(vm, 9, 2);

	ck_assert_int_eq(gs_fallocate(fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * page)), 0);
	make_shared(fd, 7 * P, 2 * P);
	mem = gs_test_mmap_gmem(fd, 2 * page);
	ck_assert_int_eq(host_write(mem, 8 * P, 'E'), 0);
	ck_assert_int_eq(gs_close(fd), 0);
	/* The mapping keeps the file: the last reference goes with it. */
	ck_assert_int_eq(gs_munmap(mem, 2 * page), 0);
	ck_assert_int_eq(gs_close(vm), 0);
	assert_pool_eq(pool_now(9), base);
	assert_clean(pool_now(0));
}
END_TEST

/* --- every allocation of the punch failed in turn --- */

struct punch_case {
	int vm, fd;
	char *mem;
	uint64_t page;
	struct pool created;
	char *before;
};

static void punch_prepare(void *arg)
{
	struct punch_case *c = arg;

	c->page = P << 9;
	pool_size(9, 2);
	c->vm = create_vm();
	c->fd = create_gmem(c->vm, 9, 2);
	c->created = pool_now(9);
	gs_test_bind_gmem(c->vm, c->fd, GPA, 2 * c->page);
	ck_assert_int_eq(gs_fallocate(c->fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * c->page)), 0);
	make_shared(c->fd, 0, 4 * P);
	c->mem = gs_test_mmap_gmem(c->fd, 2 * c->page);
	ck_assert_int_eq(host_write(c->mem, P, 'F'), 0);
	guest_fault_private(c->vm, 6 * P);
	guest_fault_private(c->vm, c->page);
	c->before = snapshot(c->vm, c->fd);
}

static int punch_op(void *arg)
{
	struct punch_case *c = arg;

	return punch(c->fd, 0, 2 * c->page) ? -errno : 0;
}

static void punch_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct punch_case *c = arg;

	(void)n;
	/*
	 * Only the merge's HVO optimization may fail and the punch still
	 * succeed: it is best effort (the page goes back unoptimized).
	 */
	if (injected && !ret)
		ck_assert_str_eq(gs_site_name(gs_inject_failure(gs_inject_nr_failures() - 1)->site),
				 "hvo.optimize");
	if (ret) {
		char *after = snapshot(c->vm, c->fd);

		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert_str_eq(c->before, after);
		free(after);
	} else {
		ck_assert_uint_eq(stage2_leaves(c->vm), 0);
		assert_pool_eq(pool_now(9), c->created);
	}
	assert_checkers();
	free(c->before);
	ck_assert_int_eq(gs_munmap(c->mem, 2 * c->page), 0);
	ck_assert_int_eq(gs_close(c->fd), 0);
	ck_assert_int_eq(gs_close(c->vm), 0);
	gs_uapi_reset();
	ck_assert_uint_eq(pool_now(9).meta, 0);
	ck_assert_uint_eq(pool_now(9).queued, 0);
	set_max_huge_pages(size_to_hstate(c->page), 0);
	gs_test_assert_no_leaks();
}

START_TEST(test_punch_every_allocation_fails)
{
	const struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	const struct gs_fail_nth_ops ops = {punch_prepare, punch_op, punch_check};
	struct punch_case c;
	unsigned long iterations;

	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &iterations), 0);
	ck_assert_uint_ge(iterations, 1);
	ck_assert_uint_eq(gs_warn_count(), 0);
}
END_TEST

/*
 * Close (eviction) cannot fail: with every allocation failed in turn it
 * succeeds, the page that can merge goes back at once, the pinned one after
 * unpin and the worker; nothing leaks.
 */
struct close_case {
	int vm, fd, pin;
	struct pool base;
};

static void close_prepare(void *arg)
{
	struct close_case *c = arg;
	uint64_t page = P << 9;
	char *mem;

	pool_size(9, 2);
	c->base = pool_now(9);
	c->vm = create_vm();
	c->fd = create_gmem(c->vm, 9, 2);
	ck_assert_int_eq(gs_fallocate(c->fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * page)), 0);
	make_shared(c->fd, 0, P);
	make_shared(c->fd, page, P);
	mem = gs_test_mmap_gmem(c->fd, 2 * page);
	ck_assert_int_eq(host_write(mem, 0, 'G'), 0);
	c->pin = gs_uapi_pin(mem + page, P);
	ck_assert_int_gt(c->pin, 0);
	ck_assert_int_eq(gs_munmap(mem, 2 * page), 0);
}

static int close_op(void *arg)
{
	struct close_case *c = arg;

	return gs_close(c->fd) ? -errno : 0;
}

static void close_check(void *arg, int ret, unsigned long n, bool injected)
{
	struct close_case *c = arg;

	(void)n;
	(void)injected;
	ck_assert_int_eq(ret, 0);
	/* The unpinned page is back already; the pinned one waits. */
	ck_assert_uint_eq(pool_now(9).free, c->base.free - 1);
	ck_assert_uint_eq(pool_now(9).queued, (1UL << 9) - 1);
	assert_checkers();
	ck_assert_int_eq(gs_uapi_unpin(c->pin), 0);
	ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 1);
	ck_assert_int_eq(gs_close(c->vm), 0);
	assert_pool_eq(pool_now(9), c->base);
	assert_checkers();
	gs_uapi_reset();
	set_max_huge_pages(size_to_hstate(P << 9), 0);
	gs_test_assert_no_leaks();
}

START_TEST(test_close_every_allocation_fails)
{
	const struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	const struct gs_fail_nth_ops ops = {close_prepare, close_op, close_check};
	struct close_case c;
	unsigned long iterations;

	ck_assert_int_eq(gs_fail_nth_loop(&cfg, &ops, &c, &iterations), 0);
	ck_assert_uint_ge(iterations, 1);
	ck_assert_uint_eq(gs_warn_count(), 0);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("truncate");
	TCase *sel = tcase_create("hugetlb_rfc_v2_selftests");
	TCase *more = tcase_create("split_pages");

	tcase_add_checked_fixture(sel, setup, teardown);
	tcase_add_test(sel, test_truncate_shared_while_pinned_4k);
	tcase_add_test(sel, test_truncate_shared_while_pinned_2m);
	tcase_add_test(sel, test_truncate_shared_while_pinned_1g);
	tcase_add_test(sel, test_close_with_pinning_4k);
	tcase_add_test(sel, test_close_with_pinning_2m);
	tcase_add_test(sel, test_close_with_pinning_1g);
	tcase_add_checked_fixture(more, setup, teardown);
	tcase_add_test(more, test_punch_split_unpinned_2m);
	tcase_add_loop_test(more, test_truncate_pinned_piece_anywhere_2m, 0,
			    (int)ARRAY_SIZE(pinned_pieces));
	tcase_add_test(more, test_punch_split_unpinned_1g);
	tcase_add_test(more, test_punch_eagain_all_or_nothing);
	tcase_add_test(more, test_close_split_unpinned);
	tcase_add_test(more, test_punch_every_allocation_fails);
	tcase_add_test(more, test_close_every_allocation_fails);
	suite_add_tcase(s, sel);
	suite_add_tcase(s, more);
	return s;
}
