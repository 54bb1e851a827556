/* SPDX-License-Identifier: MIT */
/*
 * The KVM selftest library (tools/testing/selftests/kvm/include/kvm_util.h,
 * test_util.h), as far as guest_memfd_test.c's host side uses it, over
 * gmemsim's uAPI: VMs and guest_memfd files are the simulator's
 * (gs_open()/gs_ioctl()), the file calls the test makes (read, write,
 * pread, pwrite, fstat, fallocate, mmap, munmap, madvise, close) are
 * redirected to gs_*, and loads and stores through a mapping reach the
 * simulator's pages through gs_sys_sim.host_read()/host_write().
 *
 * Memory through a mapping: gs_mmap() hands out a PROT_NONE range. A load or
 * store there faults (SIGSEGV); the handler reads the simulator's page into
 * the host page (read-only: a later store faults again and makes it
 * writable and dirty) and lets the access retry. Where the simulator answers
 * SIGBUS (past i_size, a private or poisoned page) the handler raises SIGBUS,
 * as the kernel would. Before every call into the simulator the host copies
 * are written back (dirty ones) and dropped, so a punch or a conversion is
 * seen by the next access. Not thread safe, like the uAPI.
 *
 * Checks: TEST_ASSERT and friends count and report instead of aborting
 * (one "BUG at FILE:LINE (function): ..." line per failed check); the
 * summary "kselftest: P of N checks passed" is printed at exit for
 * tests/peer/kernel-test.py. Each definition is ours; the kernel's
 * library is not used.
 */
#ifndef GS_PEER_KVM_H
#define GS_PEER_KVM_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE GS_MADV_COLLAPSE
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* <linux/kvm.h> names of what the test asks (this libc's copy may predate them). */
#define KVM_CAP_GUEST_MEMFD	     GS_KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD_FLAGS    GS_KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_VM_TYPES	     GS_KVM_CAP_VM_TYPES
#define KVM_CAP_USER_MEMORY2	     GS_KVM_CAP_USER_MEMORY2
#define KVM_CAP_MEMORY_ATTRIBUTES    GS_KVM_CAP_MEMORY_ATTRIBUTES
#define GUEST_MEMFD_FLAG_MMAP	     GS_GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_INIT_SHARED GS_GUEST_MEMFD_FLAG_INIT_SHARED
#define KVM_MEM_GUEST_MEMFD	     GS_KVM_MEM_GUEST_MEMFD
#define VM_TYPE_DEFAULT		     0

#define BIT(n)			     (1UL << (n))
#define BITS_PER_TYPE(t)	     (8 * sizeof(t))
#define ARRAY_SIZE(a)		     (sizeof(a) / sizeof((a)[0]))
#define IS_ALIGNED(x, a)	     (((x) & ((__typeof__(x))(a)-1)) == 0)
#define READ_ONCE(x)		     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	     (*(volatile __typeof__(x) *)&(x) = (v))
#define KSFT_SKIP		     4

/* --- checks --- */

static unsigned long gs_peer_checks, gs_peer_failed;

static void gs_peer_exit_vms(void);

/* Process exit: the summary, then what exit releases (the test need not free its VMs). */
static void gs_peer_summary(void)
{
	printf("kselftest: %lu of %lu checks passed\n", gs_peer_checks - gs_peer_failed,
	       gs_peer_checks);
	fflush(stdout);
	gs_peer_exit_vms();
	gs_uapi_reset();
}

__attribute__((format(printf, 5, 6))) static void
gs_peer_check(bool ok, const char *file, int line, const char *func, const char *fmt, ...)
{
	va_list ap;

	gs_peer_checks++;
	if (ok)
		return;
	gs_peer_failed++;
	printf("BUG at %s:%d (%s): ", strrchr(file, '/') ? strrchr(file, '/') + 1 : file, line,
	       func);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d: %s)\n", errno, strerror(errno));
}

#define TEST_ASSERT(e, fmt, ...) \
	gs_peer_check(!!(e), __FILE__, __LINE__, __func__, "%s: " fmt, #e, ##__VA_ARGS__)
#define TEST_ASSERT_EQ(a, b)                                                          \
	do {                                                                          \
		__typeof__(a) gs_a_ = (a);                                            \
		__typeof__(b) gs_b_ = (b);                                            \
		gs_peer_check(gs_a_ == gs_b_, __FILE__, __LINE__, __func__,           \
			      "%s == %s: %#lx != %#lx", #a, #b, (unsigned long)gs_a_, \
			      (unsigned long)gs_b_);                                  \
	} while (0)
#define TEST_FAIL(fmt, ...) gs_peer_check(false, __FILE__, __LINE__, __func__, fmt, ##__VA_ARGS__)
#define __TEST_REQUIRE(e, fmt, ...)                               \
	do {                                                      \
		if (!(e)) {                                       \
			printf("SKIP: " fmt "\n", ##__VA_ARGS__); \
			exit(KSFT_SKIP);                          \
		}                                                 \
	} while (0)
#define TEST_REQUIRE(e) __TEST_REQUIRE(e, "requirement not met: %s", #e)

/* A SIGBUS the action must raise (the emulated one of a fault the simulator refuses). */
static sigjmp_buf gs_peer_sigbus_jmp;

static void gs_peer_sigbus(int sig)
{
	(void)sig;
	siglongjmp(gs_peer_sigbus_jmp, 1);
}

#define TEST_EXPECT_SIGBUS(action)                                                  \
	do {                                                                        \
		struct sigaction gs_old_, gs_new_ = {.sa_handler = gs_peer_sigbus}; \
		bool gs_raised_ = true;                                             \
                                                                                    \
		sigaction(SIGBUS, &gs_new_, &gs_old_);                              \
		if (sigsetjmp(gs_peer_sigbus_jmp, 1) == 0) {                        \
			action;                                                     \
			gs_raised_ = false;                                         \
		}                                                                   \
		sigaction(SIGBUS, &gs_old_, NULL);                                  \
		gs_peer_check(gs_raised_, __FILE__, __LINE__, __func__,             \
			      "'%s' should have triggered SIGBUS", #action);        \
	} while (0)

/* --- memory through a mapping --- */

struct gs_peer_page {
	uintptr_t addr;
	bool dirty;
};

static struct gs_peer_page *gs_peer_pages;
static size_t gs_peer_nr_pages, gs_peer_max_pages;

static struct gs_peer_page *gs_peer_page_find(uintptr_t addr)
{
	for (size_t i = 0; i < gs_peer_nr_pages; i++)
		if (gs_peer_pages[i].addr == addr)
			return &gs_peer_pages[i];
	return NULL;
}

/* A fault on a simulator mapping: copy the page in, or make it writable, or SIGBUS. */
static void gs_peer_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t addr = (uintptr_t)si->si_addr & ~(uintptr_t)(PAGE_SIZE - 1);
	struct gs_peer_page *p = gs_peer_page_find(addr);
	static char buf[PAGE_SIZE];
	size_t done;
	int r;

	(void)sig;
	(void)uc;
	if (p && !p->dirty) {
		/* A store to a page a load brought in. */
		if (mprotect((void *)addr, PAGE_SIZE, PROT_READ | PROT_WRITE))
			abort();
		p->dirty = true;
		return;
	}
	r = p ? -EFAULT : gs_sys_sim.host_read((void *)addr, buf, PAGE_SIZE, &done);
	if (r == GS_SYS_SIGBUS) {
		raise(SIGBUS);
		return;
	}
	if (r) {
		/* Not a simulator mapping, or out of memory: a real crash. */
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	if (gs_peer_nr_pages == gs_peer_max_pages) {
		gs_peer_max_pages = gs_peer_max_pages ? 2 * gs_peer_max_pages : 64;
		gs_peer_pages = realloc(gs_peer_pages, gs_peer_max_pages * sizeof(*gs_peer_pages));
		if (!gs_peer_pages)
			abort();
	}
	if (mprotect((void *)addr, PAGE_SIZE, PROT_READ | PROT_WRITE))
		abort();
	memcpy((void *)addr, buf, PAGE_SIZE);
	if (mprotect((void *)addr, PAGE_SIZE, PROT_READ))
		abort();
	gs_peer_pages[gs_peer_nr_pages++] = (struct gs_peer_page){.addr = addr};
}

/* Before the simulator runs: dirty copies go back, every copy goes. */
static void gs_peer_flush(void)
{
	static char buf[PAGE_SIZE];

	for (size_t i = 0; i < gs_peer_nr_pages; i++) {
		void *addr = (void *)gs_peer_pages[i].addr;
		size_t done;

		if (gs_peer_pages[i].dirty) {
			memcpy(buf, addr, PAGE_SIZE);
			gs_peer_check(!gs_sys_sim.host_write(addr, buf, PAGE_SIZE, &done), __FILE__,
				      __LINE__, __func__, "write-back of a stored page");
		}
		if (mmap(addr, PAGE_SIZE, PROT_NONE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			 0) == MAP_FAILED)
			abort();
	}
	gs_peer_nr_pages = 0;
}

__attribute__((constructor)) static void gs_peer_init(void)
{
	struct sigaction sa = {.sa_sigaction = gs_peer_segv, .sa_flags = SA_SIGINFO};

	sigaction(SIGSEGV, &sa, NULL);
#ifdef GS_PEER_PROFILE_UPSTREAM
	gs_uapi_set_profile(GS_GMEM_PROFILE_UPSTREAM);
	printf("profile: upstream\n");
#else
	printf("profile: design\n");
#endif
	atexit(gs_peer_summary);
}

/* --- the file calls, redirected --- */

/* Host anonymous mappings the test made (address-space reservations). */
struct gs_peer_anon {
	uintptr_t addr;
	size_t len;
};

static struct gs_peer_anon gs_peer_anon[16];
static unsigned int gs_peer_nr_anon;

static void *gs_peer_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	if (flags & MAP_ANONYMOUS) {
		/* Not the simulator's: real memory of this process. */
		p = mmap(addr, len, prot, flags, fd, off);
		if (p != MAP_FAILED && gs_peer_nr_anon < ARRAY_SIZE(gs_peer_anon))
			gs_peer_anon[gs_peer_nr_anon++] = (struct gs_peer_anon){(uintptr_t)p, len};
		return p;
	}
	gs_peer_flush();
	return gs_mmap(addr, len, prot, flags, fd, off);
}

static int gs_peer_munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	int r;

	gs_peer_flush();
	r = gs_munmap(addr, len);
	for (unsigned int i = 0; i < gs_peer_nr_anon;) {
		struct gs_peer_anon *m = &gs_peer_anon[i];
		uintptr_t from = m->addr > a ? m->addr : a;
		uintptr_t to = m->addr + m->len < a + len ? m->addr + m->len : a + len;

		if (from < to && munmap((void *)from, to - from))
			r = -1;
		if (from <= m->addr && to >= m->addr + m->len && from < to)
			*m = gs_peer_anon[--gs_peer_nr_anon];
		else
			i++;
	}
	return r;
}

static int gs_peer_madvise(void *addr, size_t len, int advice)
{
	gs_peer_flush();
	return gs_madvise(addr, len, advice);
}

static int gs_peer_fallocate(int fd, int mode, off_t off, off_t len)
{
	gs_peer_flush();
	return gs_fallocate(fd, mode, off, len);
}

static int gs_peer_close(int fd)
{
	gs_peer_flush();
	return gs_close(fd);
}

static int gs_peer_fstat(int fd, struct stat *st)
{
	gs_peer_flush();
	return gs_fstat(fd, st);
}

/* --- the library's VM and file helpers --- */

struct kvm_vm {
	int fd;
	unsigned long type;
	unsigned int page_size;
	struct kvm_vm *next; /* the VMs not freed yet */
};

static struct kvm_vm *gs_peer_vms;

static void gs_peer_exit_vms(void)
{
	while (gs_peer_vms) {
		struct kvm_vm *vm = gs_peer_vms;

		gs_peer_vms = vm->next;
		free(vm);
	}
}

static int gs_peer_kvm_fd(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = gs_open("/dev/kvm", O_RDWR);
	if (fd < 0) {
		printf("SKIP: /dev/kvm: %s\n", strerror(errno));
		exit(KSFT_SKIP);
	}
	return fd;
}

static unsigned int kvm_check_cap(long cap)
{
	int r = gs_ioctl(gs_peer_kvm_fd(), GS_KVM_CHECK_EXTENSION, (unsigned long)cap);

	return r < 0 ? 0 : (unsigned int)r;
}

static bool kvm_has_cap(long cap)
{
	return kvm_check_cap(cap);
}

static int vm_check_cap(struct kvm_vm *vm, long cap)
{
	return gs_ioctl(vm->fd, GS_KVM_CHECK_EXTENSION, (unsigned long)cap);
}

static struct kvm_vm *vm_create_barebones_type(unsigned long type)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		abort();
	gs_peer_flush();
	vm->fd = gs_ioctl(gs_peer_kvm_fd(), GS_KVM_CREATE_VM, type);
	vm->type = type;
	vm->page_size = PAGE_SIZE;
	vm->next = gs_peer_vms;
	gs_peer_vms = vm;
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM type %lu", type);
	printf("vm type %lu\n", type);
	return vm;
}

static struct kvm_vm *vm_create_barebones(void)
{
	return vm_create_barebones_type(VM_TYPE_DEFAULT);
}

static void kvm_vm_free(struct kvm_vm *vm)
{
	if (!vm)
		return;
	TEST_ASSERT(!gs_peer_close(vm->fd), "close of the VM fd");
	for (struct kvm_vm **p = &gs_peer_vms; *p; p = &(*p)->next) {
		if (*p == vm) {
			*p = vm->next;
			break;
		}
	}
	free(vm);
}

static int __vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size, uint64_t flags)
{
	struct gs_kvm_create_guest_memfd args = {.size = size, .flags = flags};

	gs_peer_flush();
	return gs_ioctl(vm->fd, GS_KVM_CREATE_GUEST_MEMFD, (unsigned long)&args);
}

static int vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size, uint64_t flags)
{
	int fd = __vm_create_guest_memfd(vm, size, flags);

	TEST_ASSERT(fd >= 0, "KVM_CREATE_GUEST_MEMFD size %#lx flags %#lx", (unsigned long)size,
		    (unsigned long)flags);
	return fd;
}

static void *kvm_mmap(size_t size, int prot, int flags, int fd)
{
	void *p = gs_peer_mmap(NULL, size, prot, flags, fd, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap of %zu bytes", size);
	return p;
}

static void kvm_munmap(void *mem, size_t size)
{
	TEST_ASSERT(!gs_peer_munmap(mem, size), "munmap");
}

static void kvm_madvise(void *addr, size_t len, int advice)
{
	TEST_ASSERT(!gs_peer_madvise(addr, len, advice), "madvise(%d)", advice);
}

static void kvm_fallocate(int fd, int mode, off_t off, off_t len)
{
	TEST_ASSERT(!gs_peer_fallocate(fd, mode, off, len), "fallocate(%d)", mode);
}

/* The simulator's PMD size (the kernel reads it from sysfs). */
static size_t get_trans_hugepagesz(void)
{
	return PAGE_SIZE << 9;
}

static void *align_ptr_up(void *p, size_t align)
{
	return (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}

/*
 * From here on the test's file calls reach the simulator. (Defined last:
 * the definitions above call the host's.)
 */
#define read(fd, buf, n)		gs_read(fd, buf, n)
#define write(fd, buf, n)		gs_write(fd, buf, n)
#define pread(fd, buf, n, off)		gs_pread(fd, buf, n, off)
#define pwrite(fd, buf, n, off)		gs_pwrite(fd, buf, n, off)
#define fstat(fd, st)			gs_peer_fstat(fd, st)
#define fallocate(fd, mode, off, len)	gs_peer_fallocate(fd, mode, off, len)
#define close(fd)			gs_peer_close(fd)
#define mmap(a, len, prot, fl, fd, off) gs_peer_mmap(a, len, prot, fl, fd, off)
#define munmap(a, len)			gs_peer_munmap(a, len)
#define madvise(a, len, advice)		gs_peer_madvise(a, len, advice)

#endif
