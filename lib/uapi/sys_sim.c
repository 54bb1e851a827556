// SPDX-License-Identifier: MIT
/*
 * The syscall table (include/gmemsim/sys.h) over the simulated uAPI: each
 * operation is the gs_* call of the same name with libc's "-1 and errno"
 * turned into the table's -errno. The simulator can express everything the
 * table asks, so nothing is unsupported here.
 */
#include <errno.h>
#include <sys/mman.h>

#include <gmemsim/kvm.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>

#include <gmemsim/internal/uapi_int.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* libc's -1/errno as the table's -errno (a value >= 0 passes through). */
static long ret(long r)
{
	return r < 0 ? -(errno ? errno : EIO) : r;
}

static const char *sim_unsupported(enum gs_sys_feature f, unsigned long arg)
{
	(void)f;
	(void)arg;
	return NULL;
}

static void sim_set_vm_params(const struct gs_sys_vm_params *p, struct gs_sys_vm_params *old)
{
	struct kvm_params k = {
		.profile = p->profile,
		.vm_memory_attributes = p->vm_memory_attributes,
		.gmem_no_hugetlb = !p->hugetlb,
		.conversion = p->conversion,
		.strategy = p->strategy,
		.populate_eexist = p->populate_eexist,
	};

	k = gs_uapi_swap_vm_params(&k);
	if (old)
		*old = (struct gs_sys_vm_params){
			.profile = k.profile,
			.vm_memory_attributes = k.vm_memory_attributes,
			.hugetlb = !k.gmem_no_hugetlb,
			.conversion = k.conversion,
			.strategy = k.strategy,
			.populate_eexist = k.populate_eexist,
		};
}

static int sim_open(const char *path, int flags)
{
	return (int)ret(gs_open(path, flags));
}

static long sim_ioctl(int fd, unsigned long request, unsigned long arg)
{
	return ret(gs_ioctl(fd, request, arg));
}

static int sim_close(int fd)
{
	return (int)ret(gs_close(fd));
}

static int sim_fallocate(int fd, int mode, int64_t offset, int64_t len)
{
	return (int)ret(gs_fallocate(fd, mode, (off_t)offset, (off_t)len));
}

static int sim_fstat(int fd, struct stat *st)
{
	return (int)ret(gs_fstat(fd, st));
}

static int sim_mmap(size_t len, int prot, int flags, int fd, int64_t offset, void **addr)
{
	/* MAP_FIXED: the address comes in through *@addr (include/gmemsim/sys.h). */
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	void *p = gs_mmap(fixed ? *addr : NULL, len, prot, flags, fd, (off_t)offset);

	if (p == MAP_FAILED)
		return (int)ret(-1);
	*addr = p;
	return 0;
}

static int sim_munmap(void *addr, size_t len)
{
	return (int)ret(gs_munmap(addr, len));
}

static int sim_madvise(void *addr, size_t len, int advice)
{
	return (int)ret(gs_madvise(addr, len, advice));
}

static ssize_t sim_read(int fd, void *buf, size_t count)
{
	return ret(gs_read(fd, buf, count));
}

static ssize_t sim_write(int fd, const void *buf, size_t count)
{
	return ret(gs_write(fd, buf, count));
}

static ssize_t sim_pread(int fd, void *buf, size_t count, int64_t offset)
{
	return ret(gs_pread(fd, buf, count, (off_t)offset));
}

static ssize_t sim_pwrite(int fd, const void *buf, size_t count, int64_t offset)
{
	return ret(gs_pwrite(fd, buf, count, (off_t)offset));
}

static int sim_host_read(const void *addr, void *buf, size_t len, size_t *done)
{
	return gs_uapi_access((uintptr_t)addr, buf, len, false, done);
}

static int sim_host_write(void *addr, const void *buf, size_t len, size_t *done)
{
	/* Only read from @buf when writing. */
	return gs_uapi_access((uintptr_t)addr, (void *)(uintptr_t)buf, len, true, done);
}

static int sim_pin(void *addr, size_t len)
{
	return (int)ret(gs_uapi_pin(addr, len));
}

static int sim_unpin(int handle)
{
	return (int)ret(gs_uapi_unpin(handle));
}

const struct gs_sys_ops gs_sys_sim = {
	.name = "sim",
	.live = false,
	.unsupported = sim_unsupported,
	.set_vm_params = sim_set_vm_params,
	.open = sim_open,
	.ioctl = sim_ioctl,
	.close = sim_close,
	.fallocate = sim_fallocate,
	.fstat = sim_fstat,
	.mmap = sim_mmap,
	.munmap = sim_munmap,
	.madvise = sim_madvise,
	.read = sim_read,
	.write = sim_write,
	.pread = sim_pread,
	.pwrite = sim_pwrite,
	.host_read = sim_host_read,
	.host_write = sim_host_write,
	.pin = sim_pin,
	.unpin = sim_unpin,
	.reset = gs_uapi_reset,
};

struct gs_sys_vm_params gs_sys_default_vm_params(enum gs_gmem_profile profile)
{
	struct kvm_params k = kvm_default_params(profile);

	return (struct gs_sys_vm_params){
		.profile = k.profile,
		.vm_memory_attributes = k.vm_memory_attributes,
		.hugetlb = true,
	};
}
