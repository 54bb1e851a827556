// SPDX-License-Identifier: MIT
/*
 * The syscall table (include/gmemsim/sys.h) over the running kernel: each
 * operation is the real system call, its failure as -errno. The fds,
 * mappings and pins made through the table are remembered process-wide so
 * that reset() can release them, as process exit would: a test stopped by a
 * failed assertion leaves no VM behind. What the running kernel cannot
 * express (VM types it does not run, HugeTLB guest_memfd, attributes in
 * guest_memfd where it lacks them) is reported by unsupported() so that
 * callers skip instead of comparing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmemsim/live.h>
#include <gmemsim/sys.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define LIVE_MAX_FDS  256
#define LIVE_MAX_MAPS 64
#define LIVE_MAX_PINS 64

static int fds[LIVE_MAX_FDS];
static unsigned int nr_fds;
static struct {
	void *addr;
	size_t len;
} maps[LIVE_MAX_MAPS];
static unsigned int nr_maps;
static int pins[LIVE_MAX_PINS];
static unsigned int nr_pins;

static long neg_errno(void)
{
	return errno ? -errno : -EIO;
}

/* Remember @fd; a full table closes it and fails, so no fd escapes reset(). */
static long track_fd(int fd)
{
	if (nr_fds == LIVE_MAX_FDS) {
		close(fd);
		return -EMFILE;
	}
	fds[nr_fds++] = fd;
	return fd;
}

static void forget_fd(int fd)
{
	for (unsigned int i = nr_fds; i-- > 0;)
		if (fds[i] == fd) {
			/* Keep the order: reset() closes newest first. */
			for (; i + 1 < nr_fds; i++)
				fds[i] = fds[i + 1];
			nr_fds--;
			return;
		}
}

static const char *live_unsupported(enum gs_sys_feature f, unsigned long arg)
{
	static char why[160];

	switch (f) {
	case GS_SYS_VM_TYPE:
		if (arg == GS_KVM_X86_DEFAULT_VM)
			return NULL;
		snprintf(why, sizeof(why),
			 "VM type %lu: the kernel backend runs DEFAULT VMs only (the others need "
			 "CONFIG_KVM_SW_PROTECTED_VM or SEV/TDX set-up)",
			 arg);
		return why;
	case GS_SYS_HUGETLB:
		return "HugeTLB guest_memfd and page_order are a later design (spec §4)";
	case GS_SYS_GMEM_ATTRIBUTES:
		return gs_live_host()->cap_gmem_memory_attributes > 0
			       ? NULL
			       : "no KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES on this kernel";
	}
	return "unknown feature";
}

/* The kernel's module parameters are fixed at boot. */
static void live_set_vm_params(const struct gs_sys_vm_params *p, struct gs_sys_vm_params *old)
{
	(void)p;
	if (old)
		*old = gs_sys_default_vm_params(GS_GMEM_PROFILE_UPSTREAM);
}

static int live_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? (int)neg_errno() : (int)track_fd(fd);
}

static long live_ioctl(int fd, unsigned long request, unsigned long arg)
{
	int r = ioctl(fd, request, arg);

	if (r < 0)
		return neg_errno();
	/* The creating requests return a new fd. */
	if (request == GS_KVM_CREATE_VM || request == GS_KVM_CREATE_GUEST_MEMFD)
		return track_fd(r);
	return r;
}

static int live_close(int fd)
{
	int r = close(fd);

	/* Linux frees the number even when close() reports an error. */
	forget_fd(fd);
	return r < 0 ? (int)neg_errno() : 0;
}

static int live_mmap(size_t len, int prot, int flags, int fd, int64_t offset, void **addr)
{
	void *p;

	/* MAP_FIXED inside a mapping made here: *@addr in; its range is tracked already. */
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		p = mmap(*addr, len, prot, flags, fd, offset);
		return p == MAP_FAILED ? (int)neg_errno() : 0;
	}
	if (nr_maps == LIVE_MAX_MAPS)
		return -ENOMEM;
	p = mmap(NULL, len, prot, flags, fd, offset);
	if (p == MAP_FAILED)
		return (int)neg_errno();
	maps[nr_maps].addr = p;
	maps[nr_maps++].len = len;
	*addr = p;
	return 0;
}

static int live_munmap(void *addr, size_t len)
{
	if (munmap(addr, len) < 0)
		return (int)neg_errno();
	/* A part unmapped leaves the range tracked: the reset's munmap() takes the rest. */
	for (unsigned int i = 0; i < nr_maps; i++)
		if (maps[i].addr == addr && len >= maps[i].len) {
			maps[i] = maps[--nr_maps];
			break;
		}
	return 0;
}

/* The helpers report a SIGBUS as -EFAULT: the table has its own code for it. */
static int sigbus_code(int r)
{
	return r == -EFAULT ? GS_SYS_SIGBUS : r;
}

static int live_host_read(const void *addr, void *buf, size_t len, size_t *done)
{
	return sigbus_code(gs_live_host_read(buf, addr, len, done));
}

static int live_host_write(void *addr, const void *buf, size_t len, size_t *done)
{
	return sigbus_code(gs_live_host_write(addr, buf, len, done));
}

static int live_pin(void *addr, size_t len)
{
	int ring;

	if (nr_pins == LIVE_MAX_PINS)
		return -ENOMEM;
	ring = gs_live_pin(addr, len);
	if (ring >= 0)
		pins[nr_pins++] = ring;
	return ring;
}

static int live_unpin(int handle)
{
	for (unsigned int i = 0; i < nr_pins; i++)
		if (pins[i] == handle) {
			pins[i] = pins[--nr_pins];
			gs_live_unpin(handle);
			return 0;
		}
	return -EINVAL;
}

static void live_reset(void)
{
	while (nr_pins)
		gs_live_unpin(pins[--nr_pins]);
	/* Mappings hold their files: they go first. */
	while (nr_maps) {
		nr_maps--;
		munmap(maps[nr_maps].addr, maps[nr_maps].len);
	}
	/* Newest first: guest_memfds before their VM, the VM before /dev/kvm. */
	while (nr_fds)
		close(fds[--nr_fds]);
}

static int live_fallocate(int fd, int mode, int64_t offset, int64_t len)
{
	return gs_live_fallocate(fd, mode, offset, len);
}

static ssize_t live_pread(int fd, void *buf, size_t count, int64_t offset)
{
	return gs_live_pread(fd, buf, count, offset);
}

static ssize_t live_pwrite(int fd, const void *buf, size_t count, int64_t offset)
{
	return gs_live_pwrite(fd, buf, count, offset);
}

const struct gs_sys_ops gs_sys_live = {
	.name = "kernel",
	.live = true,
	.unsupported = live_unsupported,
	.set_vm_params = live_set_vm_params,
	.open = live_open,
	.ioctl = live_ioctl,
	.close = live_close,
	.fallocate = live_fallocate,
	.fstat = gs_live_fstat,
	.mmap = live_mmap,
	.munmap = live_munmap,
	.madvise = gs_live_madvise,
	.read = gs_live_read,
	.write = gs_live_write,
	.pread = live_pread,
	.pwrite = live_pwrite,
	.host_read = live_host_read,
	.host_write = live_host_write,
	.pin = live_pin,
	.unpin = live_unpin,
	.reset = live_reset,
};
