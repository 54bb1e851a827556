// SPDX-License-Identifier: MIT
/*
 * Real-kernel backend (see include/gmemsim/kernel.h and
 * docs/KERNEL_BACKEND.md). Each function wraps one syscall or ioctl on the
 * live /dev/kvm or a guest_memfd and turns libc's "-1 and errno" into a
 * -errno return, the convention of the simulator, so that results of the
 * two backends compare with ==.
 *
 * Host accesses through mappings are the one place where the kernel answers
 * with a signal: a guest_memfd fault past i_size, on a private page or on a
 * poisoned page raises SIGBUS. The access helpers install a SIGBUS handler
 * for the duration of one copy, jump out of the faulting instruction with
 * siglongjmp() and restore the previous handler, so callers see -EFAULT and
 * the number of bytes copied before the faulting page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/io_uring.h>

#include <gmemsim/live.h>

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static void fds_forget(struct gs_live *k, int fd)
{
	for (size_t i = 0; i < ARRAY_SIZE(k->fds); i++)
		if (k->fds[i] == fd)
			k->fds[i] = -1;
}

/*
 * Remember @fd for teardown. When the table is full the fd is closed and
 * the call fails: an fd the context cannot release would outlive it.
 */
static int fds_track(struct gs_live *k, int fd)
{
	for (size_t i = 0; i < ARRAY_SIZE(k->fds); i++) {
		if (k->fds[i] < 0) {
			k->fds[i] = fd;
			return fd;
		}
	}
	close(fd);
	return -EMFILE;
}

static long host_cap(int fd, long cap)
{
	int r = ioctl(fd, GS_KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* Make a VM and a one-page guest_memfd on it: the capability alone could lie. */
static void host_try_create(struct gs_live_host *h, int kvm_fd)
{
	struct gs_kvm_create_guest_memfd a = {.size = PAGE_SIZE};
	int vm = ioctl(kvm_fd, GS_KVM_CREATE_VM, GS_KVM_X86_DEFAULT_VM);
	int gmem;

	h->create_vm_errno = vm < 0 ? errno : 0;
	h->create_gmem_errno = ENODEV;
	if (vm < 0)
		return;
	gmem = ioctl(vm, GS_KVM_CREATE_GUEST_MEMFD, &a);
	h->create_gmem_errno = gmem < 0 ? errno : 0;
	if (gmem >= 0)
		close(gmem);
	close(vm);
}

static void host_reason(struct gs_live_host *h)
{
	if (h->kvm_errno == ENOENT || h->kvm_errno == ENXIO || h->kvm_errno == ENODEV)
		snprintf(h->reason, sizeof(h->reason), "/dev/kvm: no such device (%s)",
			 strerror(h->kvm_errno));
	else if (h->kvm_errno == EACCES || h->kvm_errno == EPERM)
		snprintf(h->reason, sizeof(h->reason), "/dev/kvm: no permission to open it (%s)",
			 strerror(h->kvm_errno));
	else if (h->kvm_errno)
		snprintf(h->reason, sizeof(h->reason), "/dev/kvm: %s", strerror(h->kvm_errno));
	else if (h->cap_guest_memfd <= 0)
		snprintf(h->reason, sizeof(h->reason),
			 "/dev/kvm: kernel %s has no guest_memfd (KVM_CAP_GUEST_MEMFD is 0)",
			 h->release);
	else if (h->create_vm_errno)
		snprintf(h->reason, sizeof(h->reason), "/dev/kvm: KVM_CREATE_VM: %s",
			 strerror(h->create_vm_errno));
	else if (h->create_gmem_errno)
		snprintf(h->reason, sizeof(h->reason),
			 "/dev/kvm: KVM_CREATE_GUEST_MEMFD: %s (kernel %s)",
			 strerror(h->create_gmem_errno), h->release);
}

const struct gs_live_host *gs_live_host(void)
{
	static struct gs_live_host h;
	static bool probed;
	struct utsname u;
	int fd;

	if (probed)
		return &h;
	probed = true;
	if (uname(&u) == 0) {
		snprintf(h.release, sizeof(h.release), "%s", u.release);
		snprintf(h.machine, sizeof(h.machine), "%s", u.machine);
	}
	if (getenv("GMEMSIM_NO_KVM")) {
		h.kvm_errno = ENOENT;
		snprintf(h.reason, sizeof(h.reason), "/dev/kvm: hidden by GMEMSIM_NO_KVM");
		return &h;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	h.kvm_errno = fd < 0 ? -neg_errno() : 0;
	if (fd >= 0) {
		h.cap_guest_memfd = host_cap(fd, GS_KVM_CAP_GUEST_MEMFD);
		h.cap_guest_memfd_flags = host_cap(fd, GS_KVM_CAP_GUEST_MEMFD_FLAGS);
		h.cap_user_memory2 = host_cap(fd, GS_KVM_CAP_USER_MEMORY2);
		h.cap_memory_attributes = host_cap(fd, GS_KVM_CAP_MEMORY_ATTRIBUTES);
		h.cap_vm_types = host_cap(fd, GS_KVM_CAP_VM_TYPES);
		h.cap_gmem_memory_attributes =
			host_cap(fd, GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES);
		host_try_create(&h, fd);
		close(fd);
	}
	host_reason(&h);
	return &h;
}

const char *gs_live_probe(void)
{
	const struct gs_live_host *h = gs_live_host();

	return h->reason[0] ? h->reason : NULL;
}

/**
 * gs_live_open() - open /dev/kvm and start an empty context
 * @k: context to initialise
 *
 * Context: any; the context is not thread safe.
 * Return: 0, or -errno from open() (ENOENT without KVM, EACCES without
 * permission); @k is usable for gs_live_close() either way.
 */
int gs_live_open(struct gs_live *k)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < ARRAY_SIZE(k->fds); i++)
		k->fds[i] = -1;
	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	return k->kvm_fd < 0 ? neg_errno() : 0;
}

/**
 * gs_live_close() - unmap and close everything the context made
 * @k: context from gs_live_open()
 *
 * Mappings go first because each holds a reference on its file, then the
 * guest_memfd and VM fds, then /dev/kvm.
 *
 * Context: any.
 */
void gs_live_close(struct gs_live *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(k->maps); i++) {
		if (k->maps[i].addr)
			munmap(k->maps[i].addr, k->maps[i].len);
		k->maps[i].addr = NULL;
	}
	/* Newest first: guest_memfd fds are created after their VM. */
	for (size_t i = ARRAY_SIZE(k->fds); i-- > 0;) {
		if (k->fds[i] >= 0)
			close(k->fds[i]);
		k->fds[i] = -1;
	}
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	k->kvm_fd = -1;
}

/**
 * gs_live_check_extension() - KVM_CHECK_EXTENSION on /dev/kvm or a VM
 * @k: open context
 * @fd: -1 for the system fd, else a VM fd (answers can depend on VM type)
 * @cap: KVM_CAP_* number
 *
 * Context: any.
 * Return: the capability's value (0 when unknown), or -errno.
 */
long gs_live_check_extension(const struct gs_live *k, int fd, long cap)
{
	int r = ioctl(fd < 0 ? k->kvm_fd : fd, GS_KVM_CHECK_EXTENSION, cap);

	return r < 0 ? neg_errno() : r;
}

/**
 * gs_live_create_vm() - KVM_CREATE_VM of a type
 * @k: open context
 * @type: VM type (GS_KVM_X86_*)
 *
 * Context: any.
 * Return: the VM fd (owned by @k), or -errno (EINVAL for an unknown type).
 */
int gs_live_create_vm(struct gs_live *k, unsigned long type)
{
	int fd = ioctl(k->kvm_fd, GS_KVM_CREATE_VM, type);

	return fd < 0 ? neg_errno() : fds_track(k, fd);
}

/**
 * gs_live_create_gmem_arg() - KVM_CREATE_GUEST_MEMFD with a full argument
 * @k: open context
 * @vm_fd: VM fd
 * @arg: the 64-byte argument, reserved words included (for probing)
 *
 * Context: any.
 * Return: the guest_memfd fd (owned by @k), or -errno.
 */
int gs_live_create_gmem_arg(struct gs_live *k, int vm_fd,
			    const struct gs_kvm_create_guest_memfd *arg)
{
	/* The kernel only reads the argument; the copy keeps @arg const. */
	struct gs_kvm_create_guest_memfd a = *arg;
	int fd = ioctl(vm_fd, GS_KVM_CREATE_GUEST_MEMFD, &a);

	return fd < 0 ? neg_errno() : fds_track(k, fd);
}

/**
 * gs_live_create_gmem() - KVM_CREATE_GUEST_MEMFD with zero reserved words
 * @k: open context
 * @vm_fd: VM fd
 * @size: file size in bytes
 * @flags: GS_GUEST_MEMFD_FLAG_*
 *
 * Context: any.
 * Return: the guest_memfd fd (owned by @k), or -errno.
 */
int gs_live_create_gmem(struct gs_live *k, int vm_fd, uint64_t size, uint64_t flags)
{
	struct gs_kvm_create_guest_memfd a = {.size = size, .flags = flags};

	return gs_live_create_gmem_arg(k, vm_fd, &a);
}

/**
 * gs_live_close_fd() - close a VM or guest_memfd fd early
 * @k: context that owns @fd
 * @fd: fd to close
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_close_fd(struct gs_live *k, int fd)
{
	fds_forget(k, fd);
	return close(fd) < 0 ? neg_errno() : 0;
}

/**
 * gs_live_fallocate() - fallocate() with any mode
 * @fd: file
 * @mode: FALLOC_FL_* bits, passed through unchecked
 * @offset: byte offset (may be negative, to probe the checks)
 * @len: byte length
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_fallocate(int fd, int mode, int64_t offset, int64_t len)
{
	return fallocate(fd, mode, offset, len) < 0 ? neg_errno() : 0;
}

/**
 * gs_live_fstat() - fstat()
 * @fd: file
 * @st: filled on success
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_fstat(int fd, struct stat *st)
{
	return fstat(fd, st) < 0 ? neg_errno() : 0;
}

/**
 * gs_live_read() - read()
 * @fd: file
 * @buf: destination
 * @len: bytes
 *
 * Context: any.
 * Return: bytes read, or -errno.
 */
ssize_t gs_live_read(int fd, void *buf, size_t len)
{
	ssize_t r = read(fd, buf, len);

	return r < 0 ? neg_errno() : r;
}

/**
 * gs_live_write() - write()
 * @fd: file
 * @buf: source
 * @len: bytes
 *
 * Context: any.
 * Return: bytes written, or -errno.
 */
ssize_t gs_live_write(int fd, const void *buf, size_t len)
{
	ssize_t r = write(fd, buf, len);

	return r < 0 ? neg_errno() : r;
}

/**
 * gs_live_pread() - pread()
 * @fd: file
 * @buf: destination
 * @len: bytes
 * @offset: file offset
 *
 * Context: any.
 * Return: bytes read, or -errno.
 */
ssize_t gs_live_pread(int fd, void *buf, size_t len, int64_t offset)
{
	ssize_t r = pread(fd, buf, len, offset);

	return r < 0 ? neg_errno() : r;
}

/**
 * gs_live_pwrite() - pwrite()
 * @fd: file
 * @buf: source
 * @len: bytes
 * @offset: file offset
 *
 * Context: any.
 * Return: bytes written, or -errno.
 */
ssize_t gs_live_pwrite(int fd, const void *buf, size_t len, int64_t offset)
{
	ssize_t r = pwrite(fd, buf, len, offset);

	return r < 0 ? neg_errno() : r;
}

/**
 * gs_live_lseek() - lseek()
 * @fd: file
 * @offset: offset
 * @whence: SEEK_*
 *
 * Context: any.
 * Return: the new offset, or -errno.
 */
int64_t gs_live_lseek(int fd, int64_t offset, int whence)
{
	off_t r = lseek(fd, offset, whence);

	return r < 0 ? neg_errno() : r;
}

/**
 * gs_live_ftruncate() - ftruncate()
 * @fd: file
 * @size: new size
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_ftruncate(int fd, int64_t size)
{
	return ftruncate(fd, size) < 0 ? neg_errno() : 0;
}

/**
 * gs_live_mmap() - mmap() a file, remembered for teardown
 * @k: open context
 * @fd: file
 * @len: bytes (may exceed the file size)
 * @prot: PROT_*
 * @flags: MAP_*
 * @offset: file offset
 * @addr: set to the mapping on success
 *
 * Context: any.
 * Return: 0 or -errno (ENOMEM when @k's mapping table is full).
 */
int gs_live_mmap(struct gs_live *k, int fd, size_t len, int prot, int flags, int64_t offset,
		 void **addr)
{
	for (size_t i = 0; i < ARRAY_SIZE(k->maps); i++) {
		void *p;

		if (k->maps[i].addr)
			continue;
		p = mmap(NULL, len, prot, flags, fd, offset);
		if (p == MAP_FAILED)
			return neg_errno();
		k->maps[i] = (struct gs_live_map){.addr = p, .len = len};
		*addr = p;
		return 0;
	}
	return -ENOMEM;
}

/**
 * gs_live_munmap() - munmap() a mapping made by gs_live_mmap()
 * @k: context that owns the mapping
 * @addr: start
 * @len: bytes
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_munmap(struct gs_live *k, void *addr, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(k->maps); i++)
		if (k->maps[i].addr == addr)
			k->maps[i].addr = NULL;
	return munmap(addr, len) < 0 ? neg_errno() : 0;
}

/**
 * gs_live_madvise() - madvise()
 * @addr: start of a mapping
 * @len: bytes
 * @advice: MADV_*
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_madvise(void *addr, size_t len, int advice)
{
	return madvise(addr, len, advice) < 0 ? neg_errno() : 0;
}

/*
 * Rings whose fixed buffers were unregistered, kept for the next pin: a
 * ring's teardown runs later in a kernel worker that queues task work on
 * this thread, and pending task work makes the next interruptible guest_memfd
 * call (create, fallocate) fail with EINTR. Reusing rings means none is torn
 * down while the process runs.
 */
static int free_rings[64];
static unsigned int nr_free_rings;

static int ring_get(void)
{
	struct io_uring_params params = {0};
	int ring;

	if (nr_free_rings)
		return free_rings[--nr_free_rings];
	ring = (int)syscall(__NR_io_uring_setup, 1, &params);
	return ring < 0 ? neg_errno() : ring;
}

/**
 * gs_live_pin() - a long-term pin of user pages (FOLL_LONGTERM)
 * @addr: page-aligned start, inside a mapping
 * @len: bytes
 *
 * Registers the range as an io_uring fixed buffer, which pins its pages
 * with FOLL_LONGTERM until it is unregistered: the pin RDMA or VFIO would
 * take, reachable by any process without a device. The caller owns the
 * returned ring and drops the pin with gs_live_unpin().
 *
 * Context: process context.
 * Return: the ring fd, or -errno (-EFAULT where the pages cannot be
 * faulted in; -EPERM or -ENOSYS where io_uring is disabled).
 */
int gs_live_pin(void *addr, size_t len)
{
	struct iovec iov = {.iov_base = addr, .iov_len = len};
	int ring = ring_get();
	int err;

	if (ring < 0)
		return ring;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1) == 0)
		return ring;
	err = neg_errno();
	gs_live_unpin(ring);
	return err;
}

/**
 * gs_live_unpin() - drop a pin taken with gs_live_pin()
 * @ring: the ring fd it returned
 *
 * Unregistering unpins at once; the ring is kept for the next pin (closed
 * only when more than a few dozen are idle).
 *
 * Context: process context.
 */
void gs_live_unpin(int ring)
{
	syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
	if (nr_free_rings < ARRAY_SIZE(free_rings))
		free_rings[nr_free_rings++] = ring;
	else
		close(ring);
}

/*
 * Where the SIGBUS handler jumps to. Thread-local because signals are
 * delivered to the faulting thread, and the handler has no other way to
 * find the caller's frame; NULL outside an access, so a SIGBUS that is not
 * ours is passed on to the default action.
 */
static _Thread_local sigjmp_buf *sigbus_env;

static void sigbus_handler(int sig)
{
	if (sigbus_env)
		siglongjmp(*sigbus_env, 1);
	/*
	 * Not inside an access (another thread's SIGBUS during our window):
	 * take the default action, as the process would have without us.
	 */
	signal(sig, SIG_DFL);
	raise(sig);
}

enum access_op { ACCESS_READ, ACCESS_WRITE, ACCESS_FILL };

/*
 * Copy one chunk that lies within a single page. volatile keeps the
 * compiler from merging chunks or moving accesses across the progress
 * updates, and byte accesses avoid sanitizer interceptors of memcpy.
 */
static void access_chunk(enum access_op op, uint8_t *dst, const uint8_t *src, int byte, size_t n)
{
	volatile uint8_t *d = dst;
	const volatile uint8_t *s = src;

	for (size_t i = 0; i < n; i++)
		d[i] = op == ACCESS_FILL ? (uint8_t)byte : s[i];
}

/*
 * Walk page by page. A fault happens on the first touch of a page and
 * nothing in that page has been transferred yet, so "bytes before the
 * current chunk" is exactly what reached its destination.
 */
static int access_pages(enum access_op op, uint8_t *dst, const uint8_t *src, int byte, size_t len,
			size_t *done)
{
	/* The side that is a guest_memfd mapping decides the page boundaries. */
	uintptr_t mapped = (uintptr_t)(op == ACCESS_READ ? src : dst);
	volatile size_t pos = 0;
	struct sigaction sa = {.sa_handler = sigbus_handler}, old;
	sigjmp_buf env;
	int ret = 0;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) < 0)
		return neg_errno();
	/* savemask = 1: the jump must unblock SIGBUS, blocked by the handler. */
	if (sigsetjmp(env, 1) == 0) {
		sigbus_env = &env;
		while (pos < len) {
			size_t n = PAGE_SIZE - ((mapped + pos) & (PAGE_SIZE - 1));

			n = n < len - pos ? n : len - pos;
			access_chunk(op, dst + pos, op == ACCESS_FILL ? NULL : src + pos, byte, n);
			pos += n;
		}
	} else {
		ret = -EFAULT;
	}
	sigbus_env = NULL;
	sigaction(SIGBUS, &old, NULL);
	if (done)
		*done = pos;
	return ret;
}

/**
 * gs_live_host_read() - copy from a mapping, catching SIGBUS
 * @dst: ordinary memory
 * @src: inside a guest_memfd mapping
 * @len: bytes
 * @done: if not NULL, bytes copied (those before the faulting page)
 *
 * The previous SIGBUS disposition is restored before returning.
 *
 * Context: not async-signal safe. One host access at a time per process:
 * the SIGBUS disposition is process-wide, so two threads swapping it
 * concurrently could restore each other's handler out of order.
 * Return: 0, or -EFAULT if the access raised SIGBUS.
 */
int gs_live_host_read(void *dst, const void *src, size_t len, size_t *done)
{
	return access_pages(ACCESS_READ, dst, src, 0, len, done);
}

/**
 * gs_live_host_write() - copy into a mapping, catching SIGBUS
 * @dst: inside a guest_memfd mapping
 * @src: ordinary memory
 * @len: bytes
 * @done: if not NULL, bytes copied (those before the faulting page)
 *
 * Context: as gs_live_host_read().
 * Return: 0, or -EFAULT if the access raised SIGBUS.
 */
int gs_live_host_write(void *dst, const void *src, size_t len, size_t *done)
{
	return access_pages(ACCESS_WRITE, dst, src, 0, len, done);
}

/**
 * gs_live_host_fill() - memset a mapping, catching SIGBUS
 * @dst: inside a guest_memfd mapping
 * @byte: value
 * @len: bytes
 * @done: if not NULL, bytes written (those before the faulting page)
 *
 * Context: as gs_live_host_read().
 * Return: 0, or -EFAULT if the access raised SIGBUS.
 */
int gs_live_host_fill(void *dst, int byte, size_t len, size_t *done)
{
	return access_pages(ACCESS_FILL, dst, NULL, byte, len, done);
}

/**
 * gs_live_set_memslot() - KVM_SET_USER_MEMORY_REGION2 with a full argument
 * @vm_fd: VM fd
 * @r: the region, passed as is (padding included, for probing)
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_set_memslot(int vm_fd, const struct gs_kvm_userspace_memory_region2 *r)
{
	struct gs_kvm_userspace_memory_region2 a = *r;

	return ioctl(vm_fd, GS_KVM_SET_USER_MEMORY_REGION2, &a) < 0 ? neg_errno() : 0;
}

/**
 * gs_live_bind() - create a guest_memfd memslot
 * @vm_fd: VM fd
 * @slot: slot id (address space 0)
 * @gpa: guest physical base
 * @size: bytes
 * @gmem_fd: guest_memfd fd (any int, to probe bad fds)
 * @offset: offset in the file
 *
 * userspace_addr is 0: a guest_memfd-only slot needs no host address.
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_bind(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, int gmem_fd,
		 uint64_t offset)
{
	struct gs_kvm_userspace_memory_region2 r = {
		.slot = slot,
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.guest_memfd_offset = offset,
		.guest_memfd = (uint32_t)gmem_fd,
	};

	return gs_live_set_memslot(vm_fd, &r);
}

/**
 * gs_live_unbind() - delete a memslot (memory_size 0)
 * @vm_fd: VM fd
 * @slot: slot id
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_unbind(int vm_fd, uint32_t slot)
{
	struct gs_kvm_userspace_memory_region2 r = {.slot = slot};

	return gs_live_set_memslot(vm_fd, &r);
}

/**
 * gs_live_set_memory_attributes() - VM-level KVM_SET_MEMORY_ATTRIBUTES
 * @vm_fd: VM fd
 * @address: guest physical address
 * @size: bytes
 * @attributes: GS_KVM_MEMORY_ATTRIBUTE_*
 * @flags: must be 0 upstream (passed through, for probing)
 *
 * Context: any.
 * Return: 0 or -errno.
 */
int gs_live_set_memory_attributes(int vm_fd, uint64_t address, uint64_t size, uint64_t attributes,
				  uint64_t flags)
{
	struct gs_kvm_memory_attributes a = {
		.address = address,
		.size = size,
		.attributes = attributes,
		.flags = flags,
	};

	return ioctl(vm_fd, GS_KVM_SET_MEMORY_ATTRIBUTES, &a) < 0 ? neg_errno() : 0;
}
