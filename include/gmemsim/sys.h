/* SPDX-License-Identifier: MIT */
/*
 * One table of syscall-shaped operations on KVM and guest_memfd, with two
 * implementations: gs_sys_sim over the simulated uAPI (lib/uapi) and
 * gs_sys_live over the running kernel's /dev/kvm (lib/live). The scenario
 * verbs, the differential runner and the selftest inventory are written
 * once against it and run on either backend (docs/UAPI.md).
 *
 * One return convention for every operation, the kernel's syscall entry
 * points' own: >= 0 on success (0, an fd, a byte count, a capability
 * value), -errno on failure. A host access through a mapping that the
 * kernel answers with SIGBUS returns GS_SYS_SIGBUS, outside the errno
 * range, with *done the bytes transferred before the faulting page.
 *
 * The operations act on the calling process, as system calls do: the
 * simulator's current uAPI process (gs_uapi_switch()), or this process on
 * the live kernel. Not thread safe.
 */
#ifndef GMEMSIM_SYS_H
#define GMEMSIM_SYS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <gmemsim/compiler.h>
#include <gmemsim/gmem.h>
#include <gmemsim/linux/kvm.h>

/* A host access the kernel answered with SIGBUS (past i_size, a private or poisoned page). */
#define GS_SYS_SIGBUS (-4096 - SIGBUS)

/**
 * enum gs_sys_feature - what a scenario or test may ask that a backend cannot express
 * @GS_SYS_VM_TYPE: a VM of type @arg
 * @GS_SYS_HUGETLB: a HugeTLB guest_memfd (GUEST_MEMFD_FLAG_HUGETLB, a page order; spec §4)
 * @GS_SYS_GMEM_ATTRIBUTES: PRIVATE tracked in guest_memfd (kvm.vm_memory_attributes=0)
 */
enum gs_sys_feature {
	GS_SYS_VM_TYPE,
	GS_SYS_HUGETLB,
	GS_SYS_GMEM_ATTRIBUTES,
};

/**
 * struct gs_sys_vm_params - the kvm module parameters VMs are created under
 * @profile: the guest_memfd profile (design or upstream)
 * @vm_memory_attributes: kvm.vm_memory_attributes
 * @hugetlb: guest_memfd offers GUEST_MEMFD_FLAG_HUGETLB (the design profile only)
 * @conversion: the ordering of in-place conversions (simulator only: a
 *              kernel has the one it was built with)
 * @strategy: the restructuring strategy (simulator only; NULL: the one of
 *              @conversion, include/gmemsim/strategy.h)
 * @populate_eexist: populate answers EEXIST for a folio already uptodate,
 *              as 6.8-6.1x did (simulator only)
 */
struct gs_sys_vm_params {
	enum gs_gmem_profile profile;
	bool vm_memory_attributes;
	bool hugetlb;
	enum gs_gmem_conversion conversion;
	const struct gs_strategy *strategy;
	bool populate_eexist;
};

/**
 * struct gs_sys_ops - one backend
 * @name: "sim" or "kernel"
 * @live: the running kernel (false: the simulator)
 * @unsupported: NULL when the backend can express @f with @arg, else why
 *               not (one line); a caller reports the step skipped instead
 *               of comparing an answer the backend cannot give
 * @set_vm_params: the parameters of VMs created from now on; returns the
 *                 previous ones in @old (if not NULL). The live kernel's are
 *                 fixed at boot: it ignores the call (the differential
 *                 runner gives the simulator the upstream profile instead)
 * @open: open(2)
 * @ioctl: ioctl(2) with a word argument (a pointer cast for struct arguments)
 * @close: close(2)
 * @fallocate: fallocate(2)
 * @fstat: fstat(2)
 * @mmap: mmap(2) at an address the backend picks; the mapping in *@addr.
 *        With MAP_FIXED or MAP_FIXED_NOREPLACE *@addr is the address asked
 *        for, inside a range this table mapped. On the simulator the
 *        address names a mapping but is not dereferenceable: reach the
 *        memory with @host_read and @host_write
 * @munmap: munmap(2)
 * @madvise: madvise(2)
 * @read: read(2)
 * @write: write(2)
 * @pread: pread(2)
 * @pwrite: pwrite(2)
 * @host_read: copy @len bytes from mapping address @addr (a load by the
 *             process); *@done set to the bytes before a fault
 * @host_write: copy @len bytes to mapping address @addr (a store)
 * @pin: a long-term pin (pin_user_pages(FOLL_LONGTERM)) of the pages of
 *       [@addr, @addr + @len); returns a handle for @unpin. The live kernel
 *       pins through an io_uring fixed buffer (-EPERM/-ENOSYS where io_uring
 *       is disabled)
 * @unpin: drop the pin @handle; pins outlive the fd and the mapping
 * @reset: unmap, unpin and close everything made through this table (a
 *         test's teardown; the simulator's process returns to its defaults)
 *
 * @host_read and @host_write return 0, GS_SYS_SIGBUS, -ENOMEM (the fault
 * could not allocate: the kernel's OOM kill), or -EFAULT when the copy
 * reaches an address no mapping holds (the simulator only; the kernel would
 * SIGSEGV, so callers keep accesses inside their mappings).
 */
struct gs_sys_ops {
	const char *name;
	bool live;
	const char *(*unsupported)(enum gs_sys_feature f, unsigned long arg);
	void (*set_vm_params)(const struct gs_sys_vm_params *p, struct gs_sys_vm_params *old);
	int (*open)(const char *path, int flags);
	long (*ioctl)(int fd, unsigned long request, unsigned long arg);
	int (*close)(int fd);
	int (*fallocate)(int fd, int mode, int64_t offset, int64_t len);
	int (*fstat)(int fd, struct stat *st);
	int (*mmap)(size_t len, int prot, int flags, int fd, int64_t offset, void **addr);
	int (*munmap)(void *addr, size_t len);
	int (*madvise)(void *addr, size_t len, int advice);
	ssize_t (*read)(int fd, void *buf, size_t count);
	ssize_t (*write)(int fd, const void *buf, size_t count);
	ssize_t (*pread)(int fd, void *buf, size_t count, int64_t offset);
	ssize_t (*pwrite)(int fd, const void *buf, size_t count, int64_t offset);
	int (*host_read)(const void *addr, void *buf, size_t len, size_t *done);
	int (*host_write)(void *addr, const void *buf, size_t len, size_t *done);
	int (*pin)(void *addr, size_t len);
	int (*unpin)(int handle);
	void (*reset)(void);
};

/* The simulator, through lib/uapi (gs_open(), gs_ioctl(), ...). */
GS_API extern const struct gs_sys_ops gs_sys_sim;

/* The running kernel, through lib/live: /dev/kvm and the real system calls. */
GS_API extern const struct gs_sys_ops gs_sys_live;

/**
 * gs_sys_default_vm_params() - the parameters a profile implies
 * @profile: design (attributes in guest_memfd, HugeTLB offered) or upstream
 *
 * Context: any.
 * Return: the parameters.
 */
GS_API struct gs_sys_vm_params gs_sys_default_vm_params(enum gs_gmem_profile profile);

#endif /* GMEMSIM_SYS_H */
