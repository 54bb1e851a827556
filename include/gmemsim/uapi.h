/* SPDX-License-Identifier: MIT */
/*
 * Syscall-shaped calls over simulated file descriptors: open("/dev/kvm"),
 * ioctl with linux/kvm.h's request numbers and struct layouts, fallocate,
 * fstat, mmap/munmap, close, and the read/write/seek family with the
 * errnos guest_memfd gives. Every call returns -1 and sets errno like libc,
 * so code written against gs_open(), gs_ioctl(), ... runs against the real
 * kernel by dropping the "gs_" prefix (docs/UAPI.md).
 *
 * The calls work on the current process's fd table and mappings, as system
 * calls work on current's: the libc signatures leave no room for a context
 * argument. There is one process at start; gs_uapi_create() and
 * gs_uapi_switch() model more (fd numbers are per process). Not
 * thread-safe.
 */
#ifndef GMEMSIM_UAPI_H
#define GMEMSIM_UAPI_H

#include <sys/stat.h>
#include <sys/types.h>

#include <gmemsim/compiler.h>
#include <gmemsim/gmem.h>
#include <gmemsim/kvm.h>
#include <gmemsim/linux/kvm.h>

/* Simulated fds are 3 .. GS_UAPI_NR_OPEN - 1 (0-2 stand for stdio). */
#define GS_UAPI_FIRST_FD 3
#define GS_UAPI_NR_OPEN	 1024

/* vm.max_map_count's default (DEFAULT_MAX_MAP_COUNT). */
#define GS_DEFAULT_MAX_MAP_COUNT 65530

/* KVM_GET_API_VERSION's answer. */
#define GS_KVM_API_VERSION 12

/**
 * gs_open() - open(2); only "/dev/kvm" exists
 * @path: the path
 * @flags: an access mode and open flags, taken as the kernel takes them
 *         for a 0666 character device (/dev/kvm does not check f_mode)
 *
 * Context: process context.
 * Return: the lowest free fd, or -1 with errno ENOENT (another path),
 * EFAULT (@path NULL), EEXIST (O_CREAT|O_EXCL), ENOTDIR (O_DIRECTORY),
 * EMFILE when the table is full.
 */
GS_API int gs_open(const char *path, int flags, ...);

/**
 * gs_close() - close(2)
 * @fd: the fd
 *
 * A guest_memfd fd drops its file reference, then its VM reference; host
 * mappings keep both alive until munmap.
 *
 * Context: process context.
 * Return: 0, or -1 with errno EBADF.
 */
GS_API int gs_close(int fd);

/**
 * gs_ioctl() - ioctl(2) on /dev/kvm, a VM or a guest_memfd
 * @fd: the fd
 * @request: GS_KVM_* request number
 *
 * /dev/kvm: KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION. A VM:
 * KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD, KVM_SET_USER_MEMORY_REGION2.
 * A guest_memfd: none (upstream has no guest_memfd ioctls). Pointer
 * arguments that are NULL give EFAULT where the kernel would copy.
 *
 * Context: process context.
 * Return: the request's value (an fd for the creating requests), or -1
 * with errno EBADF, ENOTTY (unknown request), EINVAL, EFAULT, EEXIST,
 * ENOMEM, EMFILE.
 */
GS_API int gs_ioctl(int fd, unsigned long request, ...);

/**
 * gs_fallocate() - fallocate(2)
 * @fd: a guest_memfd
 * @mode: FALLOC_FL_*
 * @offset: byte offset
 * @len: byte length
 *
 * Context: process context.
 * Return: 0, or -1 with errno EBADF, ENODEV (not a guest_memfd) or what
 * kvm_gmem_fallocate() answers.
 */
GS_API int gs_fallocate(int fd, int mode, off_t offset, off_t len);

/**
 * gs_fstat() - fstat(2)
 * @fd: the fd
 * @st: filled in (fields the simulator does not model are zero)
 *
 * Context: process context.
 * Return: 0, or -1 with errno EBADF or EFAULT (@st NULL).
 */
GS_API int gs_fstat(int fd, struct stat *st);

/**
 * gs_mmap() - mmap(2) of a guest_memfd
 * @addr: a hint, ignored; with MAP_FIXED or MAP_FIXED_NOREPLACE the page
 *        aligned address of the mapping
 * @len: bytes, rounded up to pages
 * @prot: PROT_*
 * @flags: MAP_SHARED or MAP_PRIVATE (MAP_SHARED_VALIDATE as MAP_SHARED),
 *         optionally with MAP_FIXED or MAP_FIXED_NOREPLACE
 * @fd: the fd
 * @offset: byte offset, page aligned
 *
 * The address is a PROT_NONE reservation of the host's address space: it
 * names the mapping but is not dereferenceable (a stray access faults).
 * Reach the guest_memfd pages through gs_uapi_read_mapped() and
 * gs_uapi_write_mapped(). MAP_FIXED replaces what the range covers and the
 * host's own mapping there: whole mappings go, one it cuts keeps the parts
 * outside the range, each at its own file offset (docs/UAPI.md).
 *
 * Context: process context.
 * Return: the address, or MAP_FAILED with errno EBADF, EINVAL (also an
 * unaligned fixed address), EPERM (PROT_EXEC: the mount is noexec), ENODEV
 * (no GUEST_MEMFD_FLAG_MMAP, or not a guest_memfd), EEXIST
 * (MAP_FIXED_NOREPLACE over a mapping), ENOMEM (also more mappings than
 * vm.max_map_count, or a fixed range in the middle of a mapping at it).
 * Nothing changes on failure.
 */
GS_API void *gs_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);

/**
 * gs_munmap() - munmap(2)
 * @addr: page aligned
 * @len: bytes
 *
 * Removes [@addr, @addr + @len) from the mappings, as the kernel does: a
 * mapping inside goes, one that starts or ends inside is trimmed, one the
 * range lies in the middle of splits in two, each piece at its own file
 * offset. Only the pages unmapped lose their host page-table entries.
 * Holes in the range are fine.
 *
 * Context: process context.
 * Return: 0, or -1 with errno EINVAL (unaligned, zero length, past the
 * top of the address space) or ENOMEM (a hole in the middle of a mapping
 * with vm.max_map_count mappings already; out of memory). Nothing changes
 * on failure.
 */
GS_API int gs_munmap(void *addr, size_t len);

/**
 * gs_uapi_read_mapped() - read bytes through a gs_mmap() mapping
 * @addr: inside a mapping
 * @buf: destination
 * @len: bytes, within mappings that meet (no hole)
 * @done: if not NULL, set to the bytes copied before a fault
 *
 * Stands in for a load from the mapping: pages fault in as touched.
 *
 * Context: process context.
 * Return: 0, or -1 with errno EFAULT where the kernel would send SIGBUS
 * (past i_size, a private page, a poisoned page) or the range is not
 * mapped, ENOMEM when the fault could not allocate.
 */
GS_API int gs_uapi_read_mapped(const void *addr, void *buf, size_t len, size_t *done);

/**
 * gs_uapi_write_mapped() - write bytes through a gs_mmap() mapping
 * @addr: inside a mapping
 * @buf: source
 * @len: bytes, within mappings that meet (no hole)
 * @done: if not NULL, set to the bytes copied before a fault
 *
 * Context: process context.
 * Return: as gs_uapi_read_mapped().
 */
GS_API int gs_uapi_write_mapped(void *addr, const void *buf, size_t len, size_t *done);

/**
 * gs_uapi_mapped_pfn() - the pfn a gs_mmap() mapping's page table holds at an address
 * @addr: inside a mapping
 * @pfn: set to the pfn when one is mapped
 *
 * No fault: only what an earlier access mapped. For the scenario layer, which
 * asks gs_pfn_to_virt() whether that page keeps data (metadata-only memory
 * keeps none, and a read of it sees zeros).
 *
 * Context: process context.
 * Return: true if a page is mapped at @addr.
 */
GS_API bool gs_uapi_mapped_pfn(const void *addr, unsigned long *pfn);

/**
 * gs_uapi_pin() - a long-term pin (pin_user_pages FOLL_LONGTERM) of mapped pages
 * @addr: inside a gs_mmap() mapping
 * @len: bytes from @addr, within mappings that meet; at most 1 GiB
 *
 * Each page is faulted in and pinned; the pins hold the pages until
 * gs_uapi_unpin(), after the fd and the mapping are gone, as RDMA or VFIO
 * pins do (on the kernel: an io_uring fixed buffer, gs_live_pin()).
 *
 * Context: process context.
 * Return: a pin id (> 0), or -1 with errno EINVAL (@len 0 or above 1 GiB),
 * EFAULT (a hole in the range, or a page the kernel would SIGBUS on),
 * EHWPOISON, ENOMEM. Nothing stays pinned after a failure.
 */
GS_API int gs_uapi_pin(void *addr, size_t len);

/**
 * gs_uapi_unpin() - drop a pin of gs_uapi_pin()
 * @id: its id
 *
 * Context: process context.
 * Return: 0, or -1 with errno EINVAL (no such pin).
 */
GS_API int gs_uapi_unpin(int id);

/**
 * gs_uapi_nr_pins() - pins the current process holds
 *
 * Context: any.
 * Return: the count.
 */
GS_API unsigned int gs_uapi_nr_pins(void);

/* MADV_COLLAPSE (Linux 6.1), which older libc headers lack. */
#define GS_MADV_COLLAPSE 25

/**
 * gs_madvise() - madvise(2) over gs_mmap() mappings
 * @addr: page aligned
 * @len: bytes, rounded up to pages; 0 does nothing
 * @advice: MADV_*
 *
 * The answers this machine's kernel gives for guest_memfd mappings:
 * MADV_HUGEPAGE, MADV_NOHUGEPAGE and the hints (NORMAL, RANDOM, SEQUENTIAL,
 * WILLNEED, DONTFORK, DOFORK, KEEPONFORK, MERGEABLE, UNMERGEABLE, DONTDUMP,
 * DODUMP, COLD, PAGEOUT) succeed and change nothing the simulator models;
 * MADV_DONTNEED and MADV_DONTNEED_LOCKED drop the range's page mappings
 * (the pages stay in the file, so the data is kept); MADV_REMOVE punches
 * the file range; MADV_COLLAPSE, MADV_FREE and MADV_WIPEONFORK give
 * EINVAL (guest_memfd is neither anonymous nor THP-collapsible). Like the
 * kernel, an advice applies to the mapped parts of a range with holes and
 * then reports ENOMEM. MADV_POPULATE_READ/WRITE are not modelled (EINVAL).
 *
 * Context: process context.
 * Return: 0, or -1 with errno EINVAL (unknown or unsupported advice, @addr
 * unaligned, length overflow), ENOMEM (part of the range is not mapped),
 * or what MADV_REMOVE's punch answers.
 */
GS_API int gs_madvise(void *addr, size_t len, int advice);

/**
 * gs_read() - read(2); gs_write() - write(2)
 * @fd: the fd
 * @buf: buffer
 * @count: bytes
 *
 * No simulated file can be read or written (guest_memfd and KVM's files
 * have no read/write operations).
 *
 * Context: process context.
 * Return: -1 with errno EBADF or EINVAL.
 */
GS_API ssize_t gs_read(int fd, void *buf, size_t count);
GS_API ssize_t gs_write(int fd, const void *buf, size_t count);

/**
 * gs_pread() - pread(2); gs_pwrite() - pwrite(2)
 * @fd: the fd
 * @buf: buffer
 * @count: bytes
 * @offset: file offset
 *
 * Context: process context.
 * Return: -1 with errno EBADF, ESPIPE (anonymous-inode files: VMs and
 * guest_memfd) or EINVAL (/dev/kvm).
 */
GS_API ssize_t gs_pread(int fd, void *buf, size_t count, off_t offset);
GS_API ssize_t gs_pwrite(int fd, const void *buf, size_t count, off_t offset);

/**
 * gs_lseek() - lseek(2)
 * @fd: the fd
 * @offset: offset
 * @whence: SEEK_*
 *
 * Context: process context.
 * Return: 0 for /dev/kvm and VMs (noop_llseek), -1 with errno ESPIPE for
 * guest_memfd, EBADF.
 */
GS_API off_t gs_lseek(int fd, off_t offset, int whence);

/**
 * gs_ftruncate() - ftruncate(2)
 * @fd: the fd
 * @length: new size
 *
 * Context: process context.
 * Return: -1 with errno EBADF or EINVAL (the size of a guest_memfd is
 * fixed at creation; the other files are not regular).
 */
GS_API int gs_ftruncate(int fd, off_t length);

/**
 * gs_fsync() - fsync(2)
 * @fd: the fd
 *
 * Context: process context.
 * Return: -1 with errno EBADF or EINVAL (no .fsync operation).
 */
GS_API int gs_fsync(int fd);

/**
 * gs_uapi_gmem_file() - the guest_memfd file behind @fd, for checks
 * @fd: the fd
 *
 * Context: any.
 * Return: the file, or NULL when @fd is not an open guest_memfd.
 */
GS_API struct gmem_file *gs_uapi_gmem_file(int fd);

/**
 * gs_uapi_kvm() - the VM behind a VM or guest_memfd @fd, for checks
 * @fd: the fd
 *
 * Context: any.
 * Return: the VM, or NULL.
 */
GS_API struct kvm *gs_uapi_kvm(int fd);

/**
 * gs_uapi_nr_open() - fds open in the table
 *
 * Context: any.
 * Return: the count.
 */
GS_API unsigned int gs_uapi_nr_open(void);

/**
 * gs_uapi_nr_mappings() - live gs_mmap() mappings
 *
 * Context: any.
 * Return: the count.
 */
GS_API unsigned int gs_uapi_nr_mappings(void);

/**
 * gs_uapi_set_max_map_count() - vm.max_map_count for the current process
 * @count: the limit on its mappings (GS_DEFAULT_MAX_MAP_COUNT at creation
 *         and after gs_uapi_reset())
 *
 * A sysctl in the kernel; kept per simulated process so that tests and
 * scenarios do not leak it into each other.
 *
 * Context: process context.
 * Return: the previous limit.
 */
GS_API unsigned int gs_uapi_set_max_map_count(unsigned int count);

/**
 * gs_uapi_set_profile() - the guest_memfd profile of VMs created from now on
 * @profile: GS_GMEM_PROFILE_DESIGN (the default) or GS_GMEM_PROFILE_UPSTREAM
 *
 * Context: process context.
 */
GS_API void gs_uapi_set_profile(enum gs_gmem_profile profile);

/**
 * gs_uapi_set_vm_memory_attributes() - kvm.vm_memory_attributes for VMs created from now on
 * @on: true keeps PRIVATE per VM (KVM_SET_MEMORY_ATTRIBUTES); false tracks it in
 *      guest_memfd. gs_uapi_set_profile() resets it to the profile's default.
 *
 * Context: process context.
 */
GS_API void gs_uapi_set_vm_memory_attributes(bool on);

/**
 * gs_uapi_swap_vm_params() - all kvm module parameters of VMs created from now on
 * @params: the new parameters
 *
 * Context: process context.
 * Return: the previous ones (to restore them).
 */
GS_API struct kvm_params gs_uapi_swap_vm_params(const struct kvm_params *params);

struct gs_uapi;

/**
 * gs_uapi_create() - a new process with an empty fd table
 *
 * Context: process context.
 * Return: the process, or NULL when out of memory.
 */
GS_API struct gs_uapi *gs_uapi_create(void);

/**
 * gs_uapi_switch() - make @u the process the gs_* calls act on
 * @u: a process from gs_uapi_create(), or NULL for the initial process
 *
 * Context: process context.
 * Return: the previous process (NULL for the initial one).
 */
GS_API struct gs_uapi *gs_uapi_switch(struct gs_uapi *u);

/**
 * gs_uapi_destroy() - exit of @u: unmap its mappings, close its fds, free it
 * @u: the process, or NULL (nothing to do); if current, the initial
 *     process becomes current
 *
 * Context: process context.
 */
GS_API void gs_uapi_destroy(struct gs_uapi *u);

/**
 * gs_uapi_reset() - unmap everything, close every fd and drop every pin of the current process
 *
 * The VM parameters return to the design profile's defaults.
 *
 * Context: process context.
 */
GS_API void gs_uapi_reset(void);

/* --- memory policy: mbind(), get_mempolicy(), move_pages() (memory nodes) --- */

/**
 * gs_mbind() - mbind(2) on mappings of guest_memfd files
 * @addr: page-aligned start
 * @len: bytes, rounded up to whole pages; 0 does nothing
 * @mode: MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE,
 *        MPOL_LOCAL, MPOL_PREFERRED_MANY or GS_MPOL_WEIGHTED_INTERLEAVE,
 *        with MPOL_F_STATIC_NODES / MPOL_F_RELATIVE_NODES /
 *        MPOL_F_NUMA_BALANCING
 * @nodemask: the nodes (NULL: none)
 * @maxnode: bits of @nodemask to read, plus one (the syscall's count)
 * @flags: MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL
 *
 * Each mapping in the range sets the policy of its file pages in the
 * inode's shared policy (kvm_gmem_set_policy()): pages allocated later, by
 * a fault or fallocate, through any mapping or none, follow it. Pages
 * already allocated stay where they are: guest_memfd folios cannot be
 * migrated, so MPOL_MF_MOVE moves nothing, and with MPOL_MF_STRICT a mapped
 * page off the policy's nodes is -EIO (after setting the policy when a move
 * was asked for, before it otherwise, as do_mbind()). The process may
 * MPOL_MF_MOVE_ALL (it has CAP_SYS_NICE, as selftests run as root).
 *
 * Context: process context; the current process's mappings.
 * Return: 0, or -1 with errno: EINVAL (bad mode, mode flags or @flags;
 * unaligned @addr; @addr + @len wraps (a @len that wraps to 0 when rounded
 * up to pages is 0, nothing to do); a mask with bits beyond
 * GS_MAX_NUMNODES or @maxnode beyond a page of bits; a mask empty or
 * without an existing node where the mode needs one; a mask with
 * MPOL_DEFAULT or MPOL_LOCAL), EFAULT (part of the range is not mapped;
 * nothing set), EIO (see above), ENOMEM (nothing set in the mapping that
 * failed; earlier mappings of the range keep the new policy).
 */
GS_API int gs_mbind(void *addr, unsigned long len, int mode, const unsigned long *nodemask,
		    unsigned long maxnode, unsigned int flags);

/**
 * gs_get_mempolicy() - get_mempolicy(2)
 * @mode: set to the policy's mode | mode flags, or with MPOL_F_NODE to the
 *        node (may be NULL)
 * @nodemask: set to the policy's nodes (may be NULL)
 * @maxnode: bits of @nodemask, at least gs_numa_nr_nodes()
 * @addr: with MPOL_F_ADDR, an address in a mapping; else NULL
 * @flags: MPOL_F_ADDR (the policy of the file page at @addr), MPOL_F_NODE
 *         (with MPOL_F_ADDR: the node of that page, faulting it in as
 *         get_user_pages() does), MPOL_F_MEMS_ALLOWED (every node, alone)
 *
 * Without MPOL_F_ADDR the process's own policy is asked for: the default
 * (the process sets none).
 *
 * Context: process context.
 * Return: 0, or -1 with errno: EINVAL (bad @flags, @maxnode below the
 * number of nodes or beyond a page, @addr without MPOL_F_ADDR,
 * MPOL_F_NODE alone; a @nodemask of more than a page, after @mode was
 * written), EFAULT (@addr in no mapping, or its page cannot be faulted in).
 */
GS_API int gs_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr,
			    unsigned long flags);

/**
 * gs_move_pages() - move_pages(2) of the calling process
 * @pid: 0 or the process's own pid
 * @count: entries of @pages, @nodes and @status
 * @pages: addresses
 * @nodes: NULL to ask where each page is; else the node for each
 * @status: set per page: its node, -EFAULT (no mapping there), -ENOENT
 *          (not faulted into the mapping); with @nodes, -EBUSY for a page
 *          on another node (guest_memfd folios do not migrate)
 * @flags: MPOL_MF_MOVE or MPOL_MF_MOVE_ALL
 *
 * Context: process context.
 * Return: 0, or -1 with errno: EINVAL (@flags), ESRCH (another pid),
 * ENODEV (a node of @nodes without memory; nothing reported), EINVAL (a
 * node of @nodes beyond GS_MAX_NUMNODES).
 */
GS_API long gs_move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
			  int flags);

#endif /* GMEMSIM_UAPI_H */
