// SPDX-License-Identifier: MIT
/*
 * The in-place conversion selftests of the HugeTLB RFC v2 series (spec §3.4,
 * guest_memfd_conversions_test.c 12/51, 44/51, 45/51), each over 4 KiB,
 * 2 MiB and 1 GiB files, written against the syscall table of
 * include/gmemsim/sys.h as tests/test-selftest.c is: file, mapping, pin and
 * KVM_SET_MEMORY_ATTRIBUTES2 calls go through gs_sys_sim, or with
 * GS_SELFTEST_BACKEND=kernel (meson test conversions-selftest-kernel)
 * through gs_sys_live, which skips each iteration with its reason where the
 * kernel lacks what the case needs (guest_memfd: gs_live_probe(); in-place
 * conversion: KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES; HugeTLB files). Nothing
 * is faked for the kernel.
 *
 * The guest's half has no syscall: the kernel's selftests run guest code in
 * a vCPU. Here a guest access is the simulator's KVM API, as in
 * tests/test-convert.c: kvm_tdp_page_fault() of the kind a
 * KVM_X86_SW_PROTECTED_VM guest makes (private exactly when
 * kvm_mem_is_private() says so, which with in-place conversion reads the
 * guest_memfd's attributes), then a load or store through the pfn the fault
 * mapped. A case that needs the guest skips on the kernel backend.
 *
 * Each case is a Check loop over ordering (planned, the design's default,
 * then wip: spec P35, P37) x page size (4K, 2M, 1G). After every step on the
 * simulator: every checker (the `kvm` one: a stage-2 mapping no larger than
 * its folio, one attribute per leaf) passes, no WARN, and the folios by order
 * follow the rule for HugeTLB files: one folio of the page order over a huge
 * page exactly when all of it is private, order 0 pieces otherwise (split
 * on share, merged when all private). Where the orderings answer
 * differently, the case asserts each one's answer (only the elevated
 * refcount case: wip keeps the huge pages it converted before the pinned
 * one, planned changes nothing).
 *
 * How the WIP design (the simulator's HugeTLB model) shapes the cases:
 * a HugeTLB file cannot be INIT_SHARED (P31), so a "shared" HugeTLB file is
 * created private and converted to shared whole before use; fallocate and
 * punch take whole file pages (P32), so the truncate cases punch file pages;
 * host and guest touch one byte per (sub)page, as the RFC's host_use_memory()
 * and guest_use_memory() do, so a 1 GiB page is zeroed once in its life
 * (P10) but never filled.
 *
 * Cases: test_sharing, test_init_mappable_false,
 * test_conversion_before_allocation,
 * test_conversion_if_not_all_folios_allocated,
 * test_conversions_should_not_affect_surrounding_pages,
 * test_truncate_should_not_change_mappability,
 * test_conversions_should_fail_if_memory_has_elevated_refcount,
 * test_fault_type_independent_of_mem_attributes, test_allocate_subfolios,
 * test_convert_subfolios. The rest of §3.4 lives elsewhere:
 * test_truncate_private in tests/test-selftest.c; test_truncate_shared_while_pinned
 * and test_close_with_pinning in tests/test-truncate.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/live.h>
#include <gmemsim/physmem.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include "harness.h"
#include "selftest-util.h"

#define P	((uint64_t)PAGE_SIZE)
#define GPA	(4ULL << 30)
#define MMAP	GS_GUEST_MEMFD_FLAG_MMAP
#define SHARED	GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define HUGETLB GS_GUEST_MEMFD_FLAG_HUGETLB
#define PRIVATE GS_KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KEEP	GS_FALLOC_FL_KEEP_SIZE
#define PUNCH	(GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE)
#define RW	(PROT_READ | PROT_WRITE)

/* --- the backend --- */

static const struct gs_sys_ops *backend;

static bool kernel_half(void)
{
	const char *env = getenv("GS_SELFTEST_BACKEND");

	return env && !strcmp(env, "kernel");
}

const char *gs_test_skip_reason(void)
{
	static char why[256];

	if (!kernel_half() || !gs_live_probe())
		return NULL;
	snprintf(why, sizeof(why), "conversions-selftest-kernel: %s", gs_live_probe());
	return why;
}

/* --- variants: ordering x page size --- */

static const enum gs_gmem_conversion convs[] = {GS_CONVERSION_PLANNED, GS_CONVERSION_WIP};
static const unsigned int orders[] = {0, HPAGE_PMD_ORDER, HPAGE_PUD_ORDER};
#define NR_ORDERS   3
#define NR_VARIANTS (2 * NR_ORDERS)

/* Real page contents behind HugeTLB pages: the cases read back what they wrote. */
static struct gs_hugetlb_host real_mem = {.backing = GS_BACKING_ANON};

/**
 * struct ctx - one iteration
 * @be: the backend
 * @conv: the ordering of the VM's conversions
 * @order: page order of the files (0, 9 or 18)
 * @nr: 4 KiB pages per file page
 * @ps: bytes per file page
 * @kvm: the /dev/kvm fd
 * @vm: the VM fd (KVM_X86_SW_PROTECTED_VM)
 * @fd: the guest_memfd of the case, -1 before create_file()
 * @mem: its mapping, of @size bytes
 * @size: the file's size
 * @test: the case's name
 * @label: the variant, for messages
 */
struct ctx {
	const struct gs_sys_ops *be;
	enum gs_gmem_conversion conv;
	unsigned int order;
	uint64_t nr, ps;
	int kvm, vm, fd;
	char *mem;
	uint64_t size;
	const char *test;
	char label[80];
};

#define skip(c, ...) gs_selftest_skip((c)->test, (c)->label, __VA_ARGS__)

/* A value or GS_SYS_SIGBUS, compared with what the step expects. */
#define EXPECT(c, what, got, want)                                                               \
	do {                                                                                     \
		long g_ = (long)(got), w_ = (long)(want);                                        \
		ck_assert_msg(g_ == w_, "%s %s: %s: %ld, want %ld", (c)->test, (c)->label, what, \
			      g_, w_);                                                           \
	} while (0)

static long check_ext(struct ctx *c, int fd, long cap)
{
	return c->be->ioctl(fd, GS_KVM_CHECK_EXTENSION, (unsigned long)cap);
}

/*
 * Decode the loop index, make a SW_PROTECTED VM with the ordering and check
 * that the backend offers what the iteration needs. Returns false (after a
 * skip line) when it does not.
 */
static bool begin(struct ctx *c, const char *fn, int i, char *name, size_t name_len)
{
	struct gs_sys_vm_params params = gs_sys_default_vm_params(GS_GMEM_PROFILE_DESIGN);
	const char *why;
	long cap;

	memset(c, 0, sizeof(*c));
	c->kvm = c->vm = c->fd = -1;
	c->test = gs_selftest_name(fn, name, name_len);
	c->conv = convs[i / NR_ORDERS];
	c->order = orders[i % NR_ORDERS];
	c->nr = 1ULL << c->order;
	c->ps = P << c->order;
	c->be = backend;
	snprintf(c->label, sizeof(c->label), "[%s %s page=%lluK]", c->be->name,
		 gs_gmem_conversion_name(c->conv), (unsigned long long)(c->ps >> 10));

	if (c->be->live && c->conv != GS_CONVERSION_PLANNED) {
		skip(c, "a kernel has the ordering it was built with; it runs once, as planned");
		return false;
	}
	/*
	 * Under valgrind each zeroing, split or merge of a 1 GiB page costs
	 * seconds (the six 1 GiB variants took 18 minutes): they run in the
	 * default, release and ASan builds instead.
	 */
	if (c->order == HPAGE_PUD_ORDER && gs_test_scale(50) < 50) {
		skip(c, "1 GiB pages under valgrind: minutes of zeroing; the default and ASan "
			"builds run them");
		return false;
	}
	why = c->be->unsupported(GS_SYS_VM_TYPE, GS_KVM_X86_SW_PROTECTED_VM);
	if (!why)
		why = c->be->unsupported(GS_SYS_GMEM_ATTRIBUTES, 0);
	if (!why && c->order)
		why = c->be->unsupported(GS_SYS_HUGETLB, c->order);
	if (why) {
		ck_assert(c->be->live);
		skip(c, "%s", why);
		return false;
	}
	params.conversion = c->conv;
	c->be->set_vm_params(&params, NULL);
	c->kvm = c->be->open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ck_assert_msg(c->kvm >= 0, "%s: open /dev/kvm: %s", c->label, strerror(-c->kvm));
	c->vm = (int)c->be->ioctl(c->kvm, GS_KVM_CREATE_VM, GS_KVM_X86_SW_PROTECTED_VM);
	ck_assert_msg(c->vm >= 0, "%s: KVM_CREATE_VM: %s", c->label, strerror(-c->vm));
	/* The selftest's own precondition. */
	cap = check_ext(c, c->vm, GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES);
	if (!(cap > 0 && (cap & PRIVATE))) {
		ck_assert(c->be->live);
		skip(c, "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES is %ld", cap);
		return false;
	}
	return true;
}

#define BEGIN(c)                                                            \
	struct ctx c;                                                       \
	char c##_name[72];                                                  \
	do {                                                                \
		if (!begin(&c, __func__, _i, c##_name, sizeof(c##_name))) { \
			end(&c);                                            \
			return;                                             \
		}                                                           \
	} while (0)

/* A case whose steps need the guest: the kernel backend has no vCPU here. */
static bool need_guest(const struct ctx *c)
{
	if (c->be->live)
		skip(c, "guest accesses need guest code in a vCPU; the simulator's KVM API "
			"stands in for it, the kernel backend has none");
	return !c->be->live;
}

/* --- files --- */

/*
 * A mapped file of @pages file pages bound at GPA. @shared: INIT_SHARED for
 * 4 KiB files; a HugeTLB file (which cannot be, P31) is converted to shared
 * whole before anything is allocated.
 */
static void create_file(struct ctx *c, uint64_t pages, bool shared)
{
	struct gs_kvm_create_guest_memfd args = {.size = pages * c->ps, .flags = MMAP};
	struct gs_kvm_userspace_memory_region2 mem = {
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = GPA,
		.memory_size = pages * c->ps,
	};
	void *addr = NULL;

	if (c->order) {
		struct hstate *h = size_to_hstate(c->ps);

		/* The simulator's pool; a kernel's is the administrator's. */
		if (!c->be->live)
			ck_assert_int_eq(set_max_huge_pages(h, h->nr_huge_pages + pages), 0);
		args.flags |= HUGETLB;
		args.page_order = c->order;
	} else if (shared) {
		args.flags |= SHARED;
	}
	c->size = args.size;
	c->fd = (int)c->be->ioctl(c->vm, GS_KVM_CREATE_GUEST_MEMFD,
				  (unsigned long)(uintptr_t)&args);
	ck_assert_msg(c->fd >= 0, "%s: create: %s", c->label, strerror(-c->fd));
	mem.guest_memfd = (uint32_t)c->fd;
	OK(c, c->be->ioctl(c->vm, GS_KVM_SET_USER_MEMORY_REGION2, (unsigned long)(uintptr_t)&mem));
	OK(c, c->be->mmap(c->size, RW, MAP_SHARED, c->fd, 0, &addr));
	c->mem = addr;
	if (shared && c->order) {
		struct gs_kvm_memory_attributes2 a = {.size = c->size};

		OK(c, c->be->ioctl(c->fd, GS_KVM_SET_MEMORY_ATTRIBUTES2,
				   (unsigned long)(uintptr_t)&a));
	}
}

/*
 * Delete the memslot, unmap and close: the next file starts afresh. On the
 * simulator the pool shrinks back, so the host memory behind touched huge
 * pages goes too.
 */
static void close_file(struct ctx *c)
{
	struct gs_kvm_userspace_memory_region2 del = {
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = GPA,
		.guest_memfd = (uint32_t)c->fd,
	};

	OK(c, c->be->ioctl(c->vm, GS_KVM_SET_USER_MEMORY_REGION2, (unsigned long)(uintptr_t)&del));
	OK(c, c->be->munmap(c->mem, c->size));
	OK(c, c->be->close(c->fd));
	c->fd = -1;
	if (c->be->live || !c->order)
		return;
	ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 0);
	ck_assert_int_eq(set_max_huge_pages(size_to_hstate(c->ps), 0), 0);
}

/* KVM_SET_MEMORY_ATTRIBUTES2 on the file; *@eo gets error_offset (-errno returned). */
static long set_attrs(struct ctx *c, uint64_t off, uint64_t size, uint64_t attrs, uint64_t *eo)
{
	struct gs_kvm_memory_attributes2 a = {.offset = off, .size = size, .attributes = attrs};
	long r = c->be->ioctl(c->fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, (unsigned long)(uintptr_t)&a);

	if (eo)
		*eo = a.error_offset;
	return r;
}

static void to_private(struct ctx *c, uint64_t off, uint64_t size)
{
	OK(c, set_attrs(c, off, size, PRIVATE, NULL));
}

static void to_shared(struct ctx *c, uint64_t off, uint64_t size)
{
	OK(c, set_attrs(c, off, size, 0, NULL));
}

/* --- the host's and the guest's accesses (host_use_memory, guest_use_memory) --- */

/* A host load of the byte at @off: its value, or GS_SYS_SIGBUS. */
static int host_read(struct ctx *c, uint64_t off)
{
	unsigned char b = 0;
	int r = c->be->host_read(c->mem + off, &b, 1, NULL);

	return r ? r : b;
}

/* A host store of @byte at @off: 0 or GS_SYS_SIGBUS. */
static int host_write(struct ctx *c, uint64_t off, int byte)
{
	unsigned char b = (unsigned char)byte;

	return c->be->host_write(c->mem + off, &b, 1, NULL);
}

/*
 * The guest's load (and, with @write >= 0, store) of the byte at file
 * offset @off, through the simulator's KVM: a TDP fault of the kind the
 * SW_PROTECTED guest makes (private iff kvm_mem_is_private()), or of the
 * kind @as forces (1 private, 0 shared, -1 the attribute's), then the access
 * through the mapped pfn. Returns the byte (before the store) or the fault's
 * -errno.
 */
static int guest_access_as(struct ctx *c, uint64_t off, int as, int write)
{
	struct kvm *kvm = gs_uapi_kvm(c->vm);
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT};
	unsigned long pfn;
	unsigned char *data;
	int order, r, old;

	ck_assert(!c->be->live);
	fault.private = as < 0 ? kvm_mem_is_private(kvm, fault.gfn) : as;
	r = kvm_tdp_page_fault(kvm, &fault);
	if (r)
		return r;
	ck_assert_int_gt(fault.level, 0);
	ck_assert_int_eq(
		kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, fault.gfn), fault.gfn, &pfn, &order), 0);
	data = gs_pfn_to_virt(pfn);
	ck_assert_ptr_nonnull(data);
	old = data[off & (P - 1)];
	if (write >= 0)
		data[off & (P - 1)] = (unsigned char)write;
	return old;
}

static int guest_read(struct ctx *c, uint64_t off)
{
	return guest_access_as(c, off, -1, -1);
}

static void guest_write(struct ctx *c, uint64_t off, int byte)
{
	ck_assert_int_ge(guest_access_as(c, off, -1, byte), 0);
}

/* A mismatched access (P15): KVM_EXIT_MEMORY_FAULT with -EFAULT. */
static bool guest_exits(struct ctx *c, uint64_t off, bool private)
{
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT, .private = private};

	return kvm_tdp_page_fault(gs_uapi_kvm(c->vm), &fault) == -EFAULT &&
	       fault.exit_reason == GS_KVM_EXIT_MEMORY_FAULT;
}

/* --- the checks after every step --- */

static struct gmem_inode *file_inode(struct ctx *c)
{
	return gs_uapi_gmem_file(c->fd)->inode;
}

static struct folio *file_folio(struct ctx *c, uint64_t off)
{
	return xa_load(&file_inode(c)->filemap, off >> PAGE_SHIFT);
}

/*
 * Folios by order: over a huge page that is all private, one folio of the
 * page order at its start; over one with a shared page, order 0 pieces.
 */
static void check_folio_orders(struct ctx *c)
{
	struct gmem_inode *inode = file_inode(c);
	pgoff_t index, hp = ULONG_MAX;
	struct folio *folio;
	bool whole = false;

	xa_for_each (&inode->filemap, index, folio) {
		if (index >> c->order != hp) {
			hp = index >> c->order;
			whole = kvm_gmem_range_shareability(inode, hp << c->order,
							    (hp + 1) << c->order) ==
				SHAREABILITY_GUEST;
		}
		if (whole)
			gs_assert(folio_order(folio) == c->order && folio->index == index &&
					  !(index & (c->nr - 1)),
				  "%s %s: all-private huge page %lx: folio of order %u at %lx",
				  c->test, c->label, hp, folio_order(folio), index);
		else
			gs_assert(folio_order(folio) == 0,
				  "%s %s: index %lx over shared pages: order %u", c->test, c->label,
				  index, folio_order(folio));
	}
}

/* After each step: every checker (kvm: mapping <= folio, one attribute per leaf), no WARN. */
static void step(struct ctx *c)
{
	if (c->be->live)
		return;
	ck_assert_msg(gs_check_run_all(stderr) == 0, "%s %s: a checker complained", c->test,
		      c->label);
	ck_assert_msg(gs_warn_count() == 0, "%s %s: WARN: %s", c->test, c->label, gs_warn_last());
	if (c->fd >= 0)
		check_folio_orders(c);
}

/* Folios in the file of @order (sim only). */
static unsigned long nr_folios(struct ctx *c, unsigned int order)
{
	struct folio *folio;
	unsigned long index, n = 0;

	xa_for_each (&file_inode(c)->filemap, index, folio)
		n += folio_order(folio) == order && folio->index == index;
	return n;
}

/* --- fixtures --- */

static void setup(void)
{
	gs_test_hugetlb_setup(&real_mem);
}

static void teardown(void)
{
	gs_sys_live.reset();
	gs_sys_sim.reset();
	gs_test_hugetlb_teardown();
}

/* End of an iteration: everything closed; on the simulator the pool whole, nothing left. */
static void end(struct ctx *c)
{
	struct gs_sys_vm_params params = gs_sys_default_vm_params(GS_GMEM_PROFILE_DESIGN);
	struct hstate *h;

	c->be->reset();
	c->be->set_vm_params(&params, NULL);
	if (c->be->live)
		return;
	lru_add_drain_all();
	ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 0);
	ck_assert_uint_eq(gs_uapi_nr_open(), 0);
	ck_assert_uint_eq(gs_check_run_all(stderr), 0);
	ck_assert_uint_eq(gs_warn_count(), 0);
	for_each_hstate (h) {
		ck_assert_uint_eq(h->resv_huge_pages, 0);
		ck_assert_uint_eq(h->free_huge_pages, h->nr_huge_pages);
		set_max_huge_pages(h, 0);
	}
	gs_test_assert_no_leaks();
}

/* --- §3.4 guest_memfd_conversions_test.c --- */

/*
 * shared -> private -> shared on one file page: the host's value reaches the
 * guest, the guest's private value reaches the host; nothing is zeroed.
 */
START_TEST(test_sharing)
{
	BEGIN(c);
	const uint64_t last = c.ps - 1;

	if (!need_guest(&c))
		goto out;
	create_file(&c, 1, true);
	OK(&c, host_write(&c, 0, 'A'));
	OK(&c, host_write(&c, last, 'a'));
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
	EXPECT(&c, "guest reads shared", guest_read(&c, 0), 'A');
	guest_write(&c, 0, 'B');
	EXPECT(&c, "host reads the guest's", host_read(&c, 0), 'B');
	step(&c);

	to_private(&c, 0, c.ps);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, c.order), 1);
	EXPECT(&c, "host after to private", host_read(&c, 0), GS_SYS_SIGBUS);
	EXPECT(&c, "host after to private", host_write(&c, last, 'x'), GS_SYS_SIGBUS);
	ck_assert(guest_exits(&c, 0, false));
	EXPECT(&c, "guest reads private", guest_read(&c, 0), 'B');
	EXPECT(&c, "guest reads private", guest_read(&c, last), 'a');
	guest_write(&c, 0, 'C');
	step(&c);

	to_shared(&c, 0, c.ps);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
	EXPECT(&c, "host after to shared", host_read(&c, 0), 'C');
	EXPECT(&c, "host after to shared", host_read(&c, last), 'a');
	ck_assert(guest_exits(&c, 0, true));
	EXPECT(&c, "guest reads shared", guest_read(&c, 0), 'C');
	step(&c);
out:
	end(&c);
}
END_TEST

/* A file created private: every host access SIGBUSes until the page is converted. */
START_TEST(test_init_mappable_false)
{
	BEGIN(c);
	const uint64_t offs[] = {0, c.ps / 2, c.ps - 1};

	create_file(&c, 1, false);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
			EXPECT(&c, "host read", host_read(&c, offs[i]), GS_SYS_SIGBUS);
			EXPECT(&c, "host write", host_write(&c, offs[i], 1), GS_SYS_SIGBUS);
		}
		/* Allocated, still private. */
		OK(&c, c.be->fallocate(c.fd, KEEP, 0, (int64_t)c.ps));
		step(&c);
	}
	if (!c.be->live) {
		ck_assert_uint_eq(nr_folios(&c, c.order), 1);
		guest_write(&c, c.ps / 2, 'P');
	}
	to_shared(&c, 0, c.ps);
	step(&c);
	if (!c.be->live) {
		ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
		EXPECT(&c, "host reads the guest's", host_read(&c, c.ps / 2), 'P');
	}
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
		OK(&c, host_write(&c, offs[i], 'h'));
	EXPECT(&c, "host read", host_read(&c, c.ps - 1), 'h');
	step(&c);
	end(&c);
}
END_TEST

/*
 * Conversions of pages never allocated are recorded, allocate nothing, and
 * the first touch sees zero with the shareability converted to (P10, P11).
 */
START_TEST(test_conversion_before_allocation)
{
	BEGIN(c);

	if (!need_guest(&c))
		goto out;
	create_file(&c, 2, false);
	to_shared(&c, 0, c.ps);
	to_shared(&c, c.ps, c.ps);
	to_private(&c, c.ps, c.ps);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, 0) + nr_folios(&c, c.order), 0);
	/* Page 0 shared: the host's first touch reads 0 (a fresh huge page splits, P34). */
	EXPECT(&c, "host first touch", host_read(&c, 0), 0);
	EXPECT(&c, "host", host_read(&c, c.ps - 1), 0);
	ck_assert(guest_exits(&c, 0, true));
	EXPECT(&c, "guest shared", guest_read(&c, c.ps / 2), 0);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
	/* Page 1 private: SIGBUS for the host, 0 for the guest, one whole folio. */
	EXPECT(&c, "host", host_read(&c, c.ps), GS_SYS_SIGBUS);
	ck_assert(guest_exits(&c, c.ps, false));
	EXPECT(&c, "guest private first touch", guest_read(&c, c.ps + c.ps - 1), 0);
	step(&c);
	ck_assert_ptr_nonnull(file_folio(&c, c.ps));
	ck_assert_uint_eq(folio_order(file_folio(&c, c.ps)), c.order);
out:
	end(&c);
}
END_TEST

/*
 * Sixteen file pages, shared; for each page_to_fault the host touches it and
 * page 8, and nothing else is allocated. The whole file converts to private
 * and back: the touched pages keep their values, the others allocate nothing
 * until touched and then read 0.
 */
START_TEST(test_conversion_if_not_all_folios_allocated)
{
	BEGIN(c);
	const uint64_t nr_pages = 16, second = 8;
	/*
	 * Each iteration zeroes three file pages of host memory (two merges,
	 * one fresh private page): 1 GiB pages take the first, the last, page
	 * 8 itself and its neighbour.
	 */
	static const uint64_t sample_1g[] = {0, 8, 7, 15};
	const uint64_t nr_faults = c.order != HPAGE_PUD_ORDER ? nr_pages : 4;

	if (!need_guest(&c))
		goto out;
	for (uint64_t i = 0; i < nr_faults; i++) {
		uint64_t fault = c.order == HPAGE_PUD_ORDER ? sample_1g[i] : i;
		uint64_t other = (fault + 1) % nr_pages == second ? (fault + 2) % nr_pages
								  : (fault + 1) % nr_pages;

		create_file(&c, nr_pages, true);
		OK(&c, host_write(&c, fault * c.ps, (int)(0x10 + fault)));
		OK(&c, host_write(&c, second * c.ps + c.ps - 1, 0x88));
		step(&c);
		to_private(&c, 0, c.size);
		step(&c);
		for (uint64_t p = 0; p < nr_pages; p++)
			gs_assert(!file_folio(&c, p * c.ps) == (p != fault && p != second),
				  "%s %s: page %llu allocated: %d", c.test, c.label,
				  (unsigned long long)p, !!file_folio(&c, p * c.ps));
		EXPECT(&c, "guest", guest_read(&c, fault * c.ps), 0x10 + fault);
		EXPECT(&c, "guest", guest_read(&c, second * c.ps + c.ps - 1), 0x88);
		EXPECT(&c, "guest, unallocated", guest_read(&c, other * c.ps + c.ps / 2), 0);
		EXPECT(&c, "host", host_read(&c, fault * c.ps), GS_SYS_SIGBUS);
		step(&c);
		to_shared(&c, 0, c.size);
		step(&c);
		EXPECT(&c, "host", host_read(&c, fault * c.ps), 0x10 + fault);
		EXPECT(&c, "host", host_read(&c, second * c.ps + c.ps - 1), 0x88);
		EXPECT(&c, "host", host_read(&c, other * c.ps + c.ps / 2), 0);
		step(&c);
		close_file(&c);
	}
out:
	end(&c);
}
END_TEST

/* Four file pages, shared; page 2 to private and back: the neighbours never notice. */
START_TEST(test_conversions_should_not_affect_surrounding_pages)
{
	BEGIN(c);

	create_file(&c, 4, true);
	for (uint64_t p = 0; p < 4; p++) {
		OK(&c, host_write(&c, p * c.ps, (int)('a' + p)));
		OK(&c, host_write(&c, p * c.ps + c.ps - 1, (int)('A' + p)));
	}
	step(&c);
	to_private(&c, 2 * c.ps, c.ps);
	step(&c);
	for (uint64_t p = 0; p < 4; p++) {
		EXPECT(&c, "host", host_read(&c, p * c.ps), p == 2 ? GS_SYS_SIGBUS : 'a' + (int)p);
		EXPECT(&c, "host", host_read(&c, p * c.ps + c.ps - 1),
		       p == 2 ? GS_SYS_SIGBUS : 'A' + (int)p);
		if (!c.be->live) {
			ck_assert(guest_exits(&c, p * c.ps, p != 2));
			EXPECT(&c, "guest", guest_read(&c, p * c.ps), 'a' + (int)p);
		}
	}
	if (!c.be->live && c.order) {
		ck_assert_uint_eq(nr_folios(&c, c.order), 1);
		ck_assert_uint_eq(nr_folios(&c, 0), 3 * c.nr);
	}
	step(&c);
	to_shared(&c, 2 * c.ps, c.ps);
	step(&c);
	for (uint64_t p = 0; p < 4; p++)
		EXPECT(&c, "host", host_read(&c, p * c.ps + c.ps - 1), 'A' + (int)p);
	end(&c);
}
END_TEST

/* A punch frees the pages and keeps each one's shareability; new pages read 0. */
START_TEST(test_truncate_should_not_change_mappability)
{
	BEGIN(c);

	create_file(&c, 2, true);
	OK(&c, host_write(&c, 0, 'S'));
	OK(&c, host_write(&c, c.ps + 1, 'T'));
	to_private(&c, c.ps, c.ps);
	step(&c);
	OK(&c, c.be->fallocate(c.fd, PUNCH, 0, (int64_t)(2 * c.ps)));
	step(&c);
	if (!c.be->live)
		ck_assert_uint_eq(nr_folios(&c, 0) + nr_folios(&c, c.order), 0);
	EXPECT(&c, "host, shared page", host_read(&c, 0), 0);
	EXPECT(&c, "host, private page", host_read(&c, c.ps + 1), GS_SYS_SIGBUS);
	if (!c.be->live) {
		EXPECT(&c, "guest, private page", guest_read(&c, c.ps + 1), 0);
		ck_assert(guest_exits(&c, c.ps, false));
	}
	step(&c);
	/* And again with the pages allocated but never written. */
	OK(&c, c.be->fallocate(c.fd, KEEP, 0, (int64_t)(2 * c.ps)));
	OK(&c, c.be->fallocate(c.fd, PUNCH, 0, (int64_t)(2 * c.ps)));
	step(&c);
	EXPECT(&c, "host, shared page", host_read(&c, c.ps - 1), 0);
	EXPECT(&c, "host, private page", host_read(&c, c.ps), GS_SYS_SIGBUS);
	step(&c);
	end(&c);
}
END_TEST

/*
 * Four file pages, shared, each written. For each page in turn a long-term
 * pin on it (the selftest's GUP_TEST pin of the page; of a 1 GiB page, its
 * first 4 KiB), then on one 4 KiB piece a quarter into it: the conversion of the whole file
 * to private fails with EAGAIN at the pinned page. planned (and every
 * ordering on a 4 KiB file, one batch) changes nothing; wip keeps the huge
 * pages before the pinned one converted (P35). Page by page, only the pinned
 * page fails. After the unpin the whole file converts, the values intact.
 *
 * error_offset: the pinned 4 KiB piece is an order-0 folio (the shared page
 * is split), so max(start, folio->index) (v8, planned) and folio->index
 * (wip, spec §4.7) agree; a pin a quarter into the page gives that piece's
 * offset. Where they part, on a whole huge folio, a host pin cannot reach
 * (it is private): tests/test-convert-hugetlb.c
 * test_eagain_error_offset_by_profile takes its reference in the kernel.
 */
START_TEST(test_conversions_should_fail_if_memory_has_elevated_refcount)
{
	BEGIN(c);
	const uint64_t nr_pages = 4, quarter = (c.ps / 4) & ~(P - 1);
	bool partial = c.conv == GS_CONVERSION_WIP && c.order;

	create_file(&c, nr_pages, true);
	for (uint64_t pinned = 0; pinned < nr_pages; pinned++) {
		for (uint64_t in = 0; in <= quarter; in += quarter ? quarter : 1) {
			uint64_t pin_off = pinned * c.ps + in, eo = 0;
			/* The whole page first, as GUP_TEST pins it (of 1 GiB, one piece). */
			uint64_t pin_len = !in && c.order != HPAGE_PUD_ORDER ? c.ps : P;
			int pin;

			for (uint64_t p = 0; p < nr_pages; p++)
				OK(&c, host_write(&c, p * c.ps + in, (int)('0' + p)));
			pin = c.be->pin(c.mem + pin_off, pin_len);
			ck_assert_msg(pin > 0, "%s %s: pin: %s", c.test, c.label, strerror(-pin));
			step(&c);

			FAILS(&c, set_attrs(&c, 0, c.size, PRIVATE, &eo), EAGAIN);
			EXPECT(&c, "error_offset", eo, pin_off);
			step(&c);
			for (uint64_t p = 0; p < nr_pages; p++)
				EXPECT(&c, "host after EAGAIN", host_read(&c, p * c.ps + in),
				       partial && p < pinned ? GS_SYS_SIGBUS : '0' + (int)p);
			if (!c.be->live && c.order)
				ck_assert_uint_eq(nr_folios(&c, c.order), partial ? pinned : 0);

			for (uint64_t p = 0; p < nr_pages; p++) {
				if (p != pinned) {
					to_private(&c, p * c.ps, c.ps);
					continue;
				}
				eo = 0;
				FAILS(&c, set_attrs(&c, p * c.ps, c.ps, PRIVATE, &eo), EAGAIN);
				EXPECT(&c, "error_offset", eo, pin_off);
			}
			step(&c);
			EXPECT(&c, "host, pinned page", host_read(&c, pin_off), '0' + (int)pinned);

			OK(&c, c.be->unpin(pin));
			to_private(&c, 0, c.size);
			step(&c);
			if (!c.be->live) {
				if (c.order)
					ck_assert_uint_eq(nr_folios(&c, c.order), nr_pages);
				for (uint64_t p = 0; p < nr_pages; p++)
					EXPECT(&c, "guest", guest_read(&c, p * c.ps + in),
					       '0' + (int)p);
			}
			to_shared(&c, 0, c.size);
			step(&c);
			for (uint64_t p = 0; p < nr_pages; p++)
				EXPECT(&c, "host", host_read(&c, p * c.ps + in), '0' + (int)p);
		}
	}
	end(&c);
}
END_TEST

/*
 * With in-place conversion the VM keeps no PRIVATE attribute (P2): the VM
 * ioctl refuses it, and the kind of the guest's fault follows the
 * guest_memfd's shareability alone, whatever the VM was asked.
 */
START_TEST(test_fault_type_independent_of_mem_attributes)
{
	BEGIN(c);
	struct gs_kvm_memory_attributes vm_attrs = {
		.address = GPA, .size = 0, .attributes = PRIVATE};

	if (!need_guest(&c))
		goto out;
	create_file(&c, 2, true);
	vm_attrs.size = c.size;
	EXPECT(&c, "KVM_CAP_MEMORY_ATTRIBUTES", check_ext(&c, c.vm, GS_KVM_CAP_MEMORY_ATTRIBUTES),
	       0);
	FAILS(&c,
	      c.be->ioctl(c.vm, GS_KVM_SET_MEMORY_ATTRIBUTES, (unsigned long)(uintptr_t)&vm_attrs),
	      EINVAL);
	to_private(&c, c.ps, c.ps);
	OK(&c, host_write(&c, 0, 'S'));
	step(&c);
	ck_assert(!kvm_mem_is_private(gs_uapi_kvm(c.vm), GPA >> PAGE_SHIFT));
	ck_assert(kvm_mem_is_private(gs_uapi_kvm(c.vm), (GPA + c.ps) >> PAGE_SHIFT));
	EXPECT(&c, "guest, shared page", guest_read(&c, 0), 'S');
	guest_write(&c, c.ps, 'G');
	ck_assert(guest_exits(&c, 0, true));
	ck_assert(guest_exits(&c, c.ps, false));
	step(&c);
	/* Swapped by the guest_memfd, not by the VM: the faults follow. */
	to_private(&c, 0, c.ps);
	to_shared(&c, c.ps, c.ps);
	step(&c);
	ck_assert(kvm_mem_is_private(gs_uapi_kvm(c.vm), GPA >> PAGE_SHIFT));
	EXPECT(&c, "guest, now private", guest_read(&c, 0), 'S');
	EXPECT(&c, "guest, now shared", guest_read(&c, c.ps), 'G');
	EXPECT(&c, "host, now shared", host_read(&c, c.ps), 'G');
	step(&c);
out:
	end(&c);
}
END_TEST

/* The 4 KiB pages of a file page the cases touch: all of a 2 MiB page, ~1,000 of a 1 GiB one. */
static uint64_t sub_stride(const struct ctx *c)
{
	return c->order == HPAGE_PUD_ORDER ? 257 : 1;
}

/* A byte of subpage @sub, at a different place in each. */
static uint64_t sub_off(uint64_t sub)
{
	return sub * P + sub % P;
}

static int sub_value(uint64_t sub, int salt)
{
	return (int)((sub * 7 + (uint64_t)salt) & 0xff);
}

/*
 * Distinct values in the 4 KiB subpages of a private page survive the page
 * going shared (split) and private again (merged), both ways.
 */
START_TEST(test_allocate_subfolios)
{
	BEGIN(c);
	const uint64_t stride = sub_stride(&c);

	if (!need_guest(&c))
		goto out;
	create_file(&c, 1, false);
	for (uint64_t s = 0; s < c.nr; s += stride)
		guest_write(&c, sub_off(s), sub_value(s, 1));
	guest_write(&c, c.ps - 1, 0xee);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, c.order), 1);
	to_shared(&c, 0, c.ps);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
	for (uint64_t s = 0; s < c.nr; s += stride) {
		uint64_t off = sub_off(s);

		gs_assert(host_read(&c, off) == sub_value(s, 1), "%s %s: subpage %llu", c.test,
			  c.label, (unsigned long long)s);
		gs_assert(host_write(&c, off, sub_value(s, 2)) == 0, "subpage %llu",
			  (unsigned long long)s);
	}
	EXPECT(&c, "host, last byte", host_read(&c, c.ps - 1), 0xee);
	to_private(&c, 0, c.ps);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, c.order), 1);
	for (uint64_t s = 0; s < c.nr; s += stride) {
		uint64_t off = sub_off(s);

		gs_assert(guest_read(&c, off) == sub_value(s, 2), "%s %s: subpage %llu", c.test,
			  c.label, (unsigned long long)s);
	}
	EXPECT(&c, "guest, last byte", guest_read(&c, c.ps - 1), 0xee);
	step(&c);
out:
	end(&c);
}
END_TEST

/*
 * The 4 KiB subpage at nr/2 of a private page goes shared: only it is the
 * host's, with the guest's 'A'; the rest stays private. The host writes 'B';
 * back to private, the guest reads 'B' there and 'A' elsewhere.
 */
START_TEST(test_convert_subfolios)
{
	BEGIN(c);
	const uint64_t mid = (c.nr / 2) * P;
	struct kvm *kvm;

	if (!need_guest(&c))
		goto out;
	kvm = gs_uapi_kvm(c.vm);
	create_file(&c, 1, false);
	for (uint64_t off = 0; off < c.ps; off += sub_stride(&c) * P)
		guest_write(&c, off, 'A');
	guest_write(&c, mid, 'A');
	if (c.nr > 1)
		guest_write(&c, mid - P, 'A');
	step(&c);
	ck_assert_uint_eq(kvm_stage2_level(kvm, (GPA + mid) >> PAGE_SHIFT),
			  c.order == HPAGE_PUD_ORDER ? PG_LEVEL_1G
			  : c.order		     ? PG_LEVEL_2M
						     : PG_LEVEL_4K);

	to_shared(&c, mid, P);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
	EXPECT(&c, "host, converted subpage", host_read(&c, mid), 'A');
	if (c.nr > 1) {
		EXPECT(&c, "host, subpage before", host_read(&c, mid - P), GS_SYS_SIGBUS);
		EXPECT(&c, "host, subpage after", host_read(&c, mid + P), GS_SYS_SIGBUS);
		EXPECT(&c, "host, first subpage", host_read(&c, 0), GS_SYS_SIGBUS);
		EXPECT(&c, "guest, subpage before", guest_read(&c, mid - P), 'A');
		ck_assert_uint_le(kvm_stage2_level(kvm, (GPA + mid - P) >> PAGE_SHIFT),
				  PG_LEVEL_4K);
	}
	ck_assert(guest_exits(&c, mid, true));
	OK(&c, host_write(&c, mid, 'B'));
	step(&c);

	to_private(&c, mid, P);
	step(&c);
	ck_assert_uint_eq(nr_folios(&c, c.order), 1);
	EXPECT(&c, "host, converted back", host_read(&c, mid), GS_SYS_SIGBUS);
	EXPECT(&c, "guest sees the host's", guest_read(&c, mid), 'B');
	if (c.nr > 1)
		EXPECT(&c, "guest, subpage before", guest_read(&c, mid - P), 'A');
	EXPECT(&c, "guest, first subpage", guest_read(&c, 0), c.nr > 1 ? 'A' : 'B');
	step(&c);
out:
	end(&c);
}
END_TEST

/* Free huge pages of the iteration's size (4 KiB files: 0). */
static unsigned long free_huge(const struct ctx *c)
{
	return c->order ? size_to_hstate(c->ps)->free_huge_pages : 0;
}

/*
 * One file page, allocated, its subpage at nr/2 shared, written and pinned.
 * 4 KiB: the punch succeeds and the pinned page lives on outside the file.
 * HugeTLB: EAGAIN, nothing changed, until the unpin; then the page merges and
 * goes back to the pool at once (P26, P36). The attributes stay (P11).
 */
START_TEST(test_truncate_shared_while_pinned)
{
	BEGIN(c);
	const uint64_t mid = (c.nr / 2) * P;
	unsigned long free0 = 0;
	int pin;

	create_file(&c, 1, false);
	free0 = free_huge(&c);
	OK(&c, c.be->fallocate(c.fd, KEEP, 0, (int64_t)c.ps));
	to_shared(&c, mid, P);
	OK(&c, host_write(&c, mid, 'A'));
	pin = c.be->pin(c.mem + mid, P);
	ck_assert_msg(pin > 0, "%s %s: pin: %s", c.test, c.label, strerror(-pin));
	step(&c);
	if (!c.order) {
		OK(&c, c.be->fallocate(c.fd, PUNCH, 0, (int64_t)c.ps));
		step(&c);
		EXPECT(&c, "host, after the punch", host_read(&c, mid), 0);
		OK(&c, c.be->unpin(pin));
		goto out;
	}
	FAILS(&c, c.be->fallocate(c.fd, PUNCH, 0, (int64_t)c.ps), EAGAIN);
	step(&c);
	EXPECT(&c, "host, after EAGAIN", host_read(&c, mid), 'A');
	EXPECT(&c, "host, private subpage", host_read(&c, 0), GS_SYS_SIGBUS);
	if (!c.be->live) {
		ck_assert_uint_eq(nr_folios(&c, 0), c.nr);
		ck_assert_uint_eq(free_huge(&c), free0 - 1);
	}
	OK(&c, c.be->unpin(pin));
	OK(&c, c.be->fallocate(c.fd, PUNCH, 0, (int64_t)c.ps));
	step(&c);
	if (!c.be->live) {
		ck_assert_uint_eq(nr_folios(&c, 0) + nr_folios(&c, c.order), 0);
		ck_assert_uint_eq(free_huge(&c), free0);
		ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 0);
	}
	EXPECT(&c, "host, shared subpage refilled", host_read(&c, mid), 0);
	EXPECT(&c, "host, private subpage", host_read(&c, 0), GS_SYS_SIGBUS);
	step(&c);
out:
	end(&c);
}
END_TEST

/*
 * Closing a file whose shared page is pinned succeeds. A HugeTLB page waits
 * for its last piece (P27): the pool gets it back only after the unpin and
 * the deferred worker, whole.
 */
START_TEST(test_close_with_pinning)
{
	BEGIN(c);
	const uint64_t pin_off = c.order ? 3 * P : 0;
	unsigned long free0 = 0;
	int pin;

	create_file(&c, 1, false);
	free0 = free_huge(&c);
	OK(&c, c.be->fallocate(c.fd, KEEP, 0, (int64_t)c.ps));
	to_shared(&c, 0, c.ps);
	OK(&c, host_write(&c, pin_off, 'B'));
	pin = c.be->pin(c.mem + pin_off, P);
	ck_assert_msg(pin > 0, "%s %s: pin: %s", c.test, c.label, strerror(-pin));
	step(&c);
	OK(&c, c.be->munmap(c.mem, c.size));
	OK(&c, c.be->close(c.fd));
	OK(&c, c.be->close(c.vm));
	c.fd = c.vm = -1;
	step(&c);
	if (!c.be->live && c.order) {
		ck_assert_uint_eq(free_huge(&c), free0 - 1);
		ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 0);
		ck_assert_uint_eq(free_huge(&c), free0 - 1);
	}
	OK(&c, c.be->unpin(pin));
	step(&c);
	if (!c.be->live && c.order) {
		ck_assert_uint_eq(free_huge(&c), free0 - 1);
		ck_assert_uint_eq(hugetlb_restructuring_run_deferred(), 1);
		ck_assert_uint_eq(free_huge(&c), free0);
	}
	step(&c);
	end(&c);
}
END_TEST

/* --- suite --- */

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("conversions-selftest");
	TCase *tc = tcase_create("guest_memfd_conversions_test");

	backend = kernel_half() ? &gs_sys_live : &gs_sys_sim;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_sharing, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_init_mappable_false, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_conversion_before_allocation, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_conversion_if_not_all_folios_allocated, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_conversions_should_not_affect_surrounding_pages, 0,
			    NR_VARIANTS);
	tcase_add_loop_test(tc, test_truncate_should_not_change_mappability, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_conversions_should_fail_if_memory_has_elevated_refcount, 0,
			    NR_VARIANTS);
	tcase_add_loop_test(tc, test_fault_type_independent_of_mem_attributes, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_allocate_subfolios, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_convert_subfolios, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_truncate_shared_while_pinned, 0, NR_VARIANTS);
	tcase_add_loop_test(tc, test_close_with_pinning, 0, NR_VARIANTS);
	suite_add_tcase(s, tc);
	return s;
}
