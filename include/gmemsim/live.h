/* SPDX-License-Identifier: MIT */
/*
 * The real-kernel backend: thin, syscall-level helpers over the live
 * /dev/kvm and the guest_memfd files it creates. Each helper issues exactly
 * one operation and reports it the way the simulator does (0 or a value on
 * success, -errno on failure), so a scenario verb can send the same step to
 * both backends and compare. Host accesses to mappings catch SIGBUS and
 * report it as -EFAULT instead of killing the process.
 *
 * Every fd and mapping made through a context is remembered by it and
 * released by gs_live_close(), so a failed test cannot leak a VM.
 */
#ifndef GMEMSIM_LIVE_H
#define GMEMSIM_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <gmemsim/compiler.h>
#include <gmemsim/linux/kvm.h>

#define GS_LIVE_MAX_FDS	 64
#define GS_LIVE_MAX_MAPS 32

struct gs_live_map {
	void *addr;
	size_t len;
};

/**
 * struct gs_live - one session with the live kernel
 * @kvm_fd: /dev/kvm, or -1 when closed
 * @fds: VM and guest_memfd fds made through this context (-1 = free entry)
 * @maps: mappings made through this context (addr NULL = free entry)
 */
struct gs_live {
	int kvm_fd;
	int fds[GS_LIVE_MAX_FDS];
	struct gs_live_map maps[GS_LIVE_MAX_MAPS];
};

/**
 * struct gs_live_host - what the running kernel offers, probed once
 * @kvm_errno: 0 when /dev/kvm opened, else open()'s errno
 * @release: uname -r
 * @machine: uname -m
 * @cap_guest_memfd: KVM_CAP_GUEST_MEMFD on /dev/kvm (0 when absent or unopened)
 * @cap_guest_memfd_flags: KVM_CAP_GUEST_MEMFD_FLAGS on /dev/kvm
 * @cap_user_memory2: KVM_CAP_USER_MEMORY2
 * @cap_memory_attributes: KVM_CAP_MEMORY_ATTRIBUTES
 * @cap_vm_types: KVM_CAP_VM_TYPES
 * @cap_gmem_memory_attributes: KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES
 * @create_vm_errno: 0 when a DEFAULT VM could be made
 * @create_gmem_errno: 0 when a 4 KiB guest_memfd could be made on it
 * @reason: empty when the host can answer for guest_memfd; else one line
 *          saying why not, starting with "/dev/kvm"
 */
struct gs_live_host {
	int kvm_errno;
	char release[65];
	char machine[65];
	long cap_guest_memfd;
	long cap_guest_memfd_flags;
	long cap_user_memory2;
	long cap_memory_attributes;
	long cap_vm_types;
	long cap_gmem_memory_attributes;
	int create_vm_errno;
	int create_gmem_errno;
	char reason[192];
};

/**
 * gs_live_host() - probe the running kernel (once per process)
 *
 * Opens /dev/kvm, asks the capabilities guest_memfd needs and makes a VM
 * and a one-page guest_memfd, all closed again. The environment variable
 * GMEMSIM_NO_KVM (any value) makes the probe answer as on a host without
 * /dev/kvm, so the skip paths can be tested on every host.
 *
 * Context: process context; not thread safe on the first call.
 * Return: the answers; valid for the life of the process.
 */
GS_API const struct gs_live_host *gs_live_host(void);

/**
 * gs_live_probe() - why the live kernel cannot answer for guest_memfd
 *
 * Context: as gs_live_host().
 * Return: NULL when it can (/dev/kvm opens, KVM_CAP_GUEST_MEMFD is set and
 * a guest_memfd can be made); else a one-line reason starting with
 * "/dev/kvm" (no such device, no permission, no guest_memfd).
 */
GS_API const char *gs_live_probe(void);

GS_API int gs_live_open(struct gs_live *k);
GS_API void gs_live_close(struct gs_live *k);
GS_API long gs_live_check_extension(const struct gs_live *k, int fd, long cap);
GS_API int gs_live_create_vm(struct gs_live *k, unsigned long type);
GS_API int gs_live_create_gmem_arg(struct gs_live *k, int vm_fd,
				   const struct gs_kvm_create_guest_memfd *arg);
GS_API int gs_live_create_gmem(struct gs_live *k, int vm_fd, uint64_t size, uint64_t flags);
GS_API int gs_live_close_fd(struct gs_live *k, int fd);
GS_API int gs_live_fallocate(int fd, int mode, int64_t offset, int64_t len);
GS_API int gs_live_fstat(int fd, struct stat *st);
GS_API ssize_t gs_live_read(int fd, void *buf, size_t len);
GS_API ssize_t gs_live_write(int fd, const void *buf, size_t len);
GS_API ssize_t gs_live_pread(int fd, void *buf, size_t len, int64_t offset);
GS_API ssize_t gs_live_pwrite(int fd, const void *buf, size_t len, int64_t offset);
GS_API int64_t gs_live_lseek(int fd, int64_t offset, int whence);
GS_API int gs_live_ftruncate(int fd, int64_t size);
GS_API int gs_live_mmap(struct gs_live *k, int fd, size_t len, int prot, int flags, int64_t offset,
			void **addr);
GS_API int gs_live_munmap(struct gs_live *k, void *addr, size_t len);
GS_API int gs_live_madvise(void *addr, size_t len, int advice);
GS_API int gs_live_pin(void *addr, size_t len);
GS_API void gs_live_unpin(int ring);
GS_API int gs_live_host_read(void *dst, const void *src, size_t len, size_t *done);
GS_API int gs_live_host_write(void *dst, const void *src, size_t len, size_t *done);
GS_API int gs_live_host_fill(void *dst, int byte, size_t len, size_t *done);
GS_API int gs_live_set_memslot(int vm_fd, const struct gs_kvm_userspace_memory_region2 *r);
GS_API int gs_live_bind(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, int gmem_fd,
			uint64_t offset);
GS_API int gs_live_unbind(int vm_fd, uint32_t slot);
GS_API int gs_live_set_memory_attributes(int vm_fd, uint64_t address, uint64_t size,
					 uint64_t attributes, uint64_t flags);

#endif /* GMEMSIM_LIVE_H */
