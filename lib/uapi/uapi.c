// SPDX-License-Identifier: MIT
/*
 * The syscall-shaped uAPI (include/gmemsim/uapi.h): a process-wide table of
 * simulated fds naming /dev/kvm, VMs and guest_memfd files, and the calls
 * that resolve them and reach lib/kvm.c and lib/gmem*.c. Errors come back
 * as -1 with errno, in the order the kernel's syscall paths check them
 * (docs/UAPI.md, docs/KERNEL_BACKEND.md).
 *
 * Lifetimes are the lower layers': a VM fd holds the creator's reference on
 * its VM, a guest_memfd file holds one on its VM (kvm_get_kvm() when it is
 * created), and a host mapping holds one on its file and, through it, on
 * the VM. This layer only drops what its fds and mappings hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gmemsim/alloc.h>
#include <gmemsim/kvm.h>
#include <gmemsim/list.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/uapi_int.h>

/* The map-type bits of mmap()'s flags (MAP_TYPE, not exported by every libc). */
#define GS_MAP_TYPE 0x0f

/* /dev/kvm is the misc device 10:232 (KVM_MINOR). */
#define KVM_MISC_MAJOR 10
#define KVM_MINOR      232

enum gs_fd_kind {
	GS_FD_NONE,
	GS_FD_KVM,
	GS_FD_VM,
	GS_FD_GMEM,
};

/* One fd: what it names (the VM of a VM fd holds the creator's reference). */
struct gs_fd {
	enum gs_fd_kind kind;
	struct kvm *kvm;
	struct gmem_file *file;
};

/* One gs_mmap() mapping: the reserved host range and the gmem mapping. */
struct gs_map {
	uintptr_t addr;
	size_t len;
	size_t resv; /* the host range reserved for it, from reserve_va() */
	bool fixed; /* MAP_FIXED where the simulator reserved nothing: its host range is not cached */
	struct gmem_vma *vma;
	struct list_head list;
};

/* One long-term pin: the pages of a range, each pinned (pin_user_pages FOLL_LONGTERM). */
struct gs_pin {
	int id;
	unsigned long nr;
	struct page **pages;
	struct list_head list;
};

/*
 * A process's files_struct plus its mm's guest_memfd mappings and the
 * long-term pins it holds. The calls work on current's, as system calls
 * do; gs_uapi_switch() changes current.
 */
struct gs_uapi {
	struct gs_fd fd_table[GS_UAPI_NR_OPEN];
	unsigned int nr_open;
	struct list_head maps;
	unsigned int nr_maps;
	struct list_head pins;
	unsigned int nr_pins;
	int last_pin_id;
	struct kvm_params vm_params;
	unsigned int max_map_count; /* vm.max_map_count as this process sees it */
};

static struct gs_uapi init_uapi = {
	.maps = LIST_HEAD_INIT(init_uapi.maps),
	.pins = LIST_HEAD_INIT(init_uapi.pins),
	.vm_params = {.profile = GS_GMEM_PROFILE_DESIGN},
	.max_map_count = GS_DEFAULT_MAX_MAP_COUNT,
};
static struct gs_uapi *current_uapi = &init_uapi;

/* libc's convention: the syscall's -errno becomes -1 and errno. */
static int fail(int err)
{
	errno = err;
	return -1;
}

static struct gs_fd *fd_lookup(int fd)
{
	if (fd < GS_UAPI_FIRST_FD || fd >= GS_UAPI_NR_OPEN ||
	    current_uapi->fd_table[fd].kind == GS_FD_NONE)
		return NULL;
	return &current_uapi->fd_table[fd];
}

/* get_unused_fd_flags(): the lowest free number, or -EMFILE. */
static int fd_alloc(void)
{
	for (int fd = GS_UAPI_FIRST_FD; fd < GS_UAPI_NR_OPEN; fd++)
		if (current_uapi->fd_table[fd].kind == GS_FD_NONE)
			return fd;
	return -EMFILE;
}

static int fd_install(int fd, enum gs_fd_kind kind, struct kvm *kvm, struct gmem_file *file)
{
	current_uapi->fd_table[fd] = (struct gs_fd){.kind = kind, .kvm = kvm, .file = file};
	current_uapi->nr_open++;
	return fd;
}

int gs_open(const char *path, int flags, ...)
{
	int fd;

	if (!path)
		return fail(EFAULT);
	if (strcmp(path, "/dev/kvm"))
		return fail(ENOENT);
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return fail(EEXIST);
	if (flags & O_DIRECTORY)
		return fail(ENOTDIR);
	fd = fd_alloc();
	if (fd < 0)
		return fail(-fd);
	return fd_install(fd, GS_FD_KVM, NULL, NULL);
}

int gs_close(int fd)
{
	struct gs_fd *f = fd_lookup(fd);
	struct gs_fd old;

	if (!f)
		return fail(EBADF);
	/* The number is free before the release runs, as in close_fd(). */
	old = *f;
	*f = (struct gs_fd){.kind = GS_FD_NONE};
	current_uapi->nr_open--;
	if (old.kind == GS_FD_GMEM)
		kvm_gmem_fput(old.file);
	if (old.kind == GS_FD_VM)
		kvm_destroy_vm(old.kvm);
	return 0;
}

/*
 * KVM_CREATE_VM: kvm_dev_ioctl_create_vm() reserves the fd first, so a full
 * table wins over an invalid type; the number is installed only at the end.
 */
static int ioctl_create_vm(unsigned long type)
{
	struct kvm *kvm;
	int err, fd;

	fd = fd_alloc();
	if (fd < 0)
		return fail(-fd);
	err = kvm_create_vm_params(type, &current_uapi->vm_params, &kvm);
	if (err)
		return fail(-err);
	return fd_install(fd, GS_FD_VM, kvm, NULL);
}

static int ioctl_dev(unsigned long request, unsigned long arg)
{
	switch (request) {
	case GS_KVM_GET_API_VERSION:
		/* kvm_dev_ioctl() refuses an argument. */
		if (arg)
			return fail(EINVAL);
		return GS_KVM_API_VERSION;
	case GS_KVM_CREATE_VM:
		return ioctl_create_vm(arg);
	case GS_KVM_CHECK_EXTENSION:
		return (int)kvm_dev_check_extension(&current_uapi->vm_params, (long)arg);
	default:
		/* x86's kvm_arch_dev_ioctl() answers unknown requests EINVAL. */
		return fail(EINVAL);
	}
}

/*
 * KVM_CREATE_GUEST_MEMFD: the kernel checks the arguments, then reserves the
 * fd, then allocates; here the gmem layer checks and allocates in one call,
 * so EMFILE comes after ENOMEM when both apply.
 */
static int ioctl_create_guest_memfd(struct kvm *kvm, const void *uarg)
{
	struct gs_kvm_create_guest_memfd args;
	struct gmem_file *file;
	int err, fd;

	/* copy_from_user(): NULL stands for every unmapped user address. */
	if (!uarg)
		return fail(EFAULT);
	memcpy(&args, uarg, sizeof(args));
	err = kvm_vm_create_guest_memfd(kvm, &args, &file);
	if (err)
		return fail(-err);
	fd = fd_alloc();
	if (fd < 0) {
		kvm_gmem_fput(file);
		return fail(-fd);
	}
	return fd_install(fd, GS_FD_GMEM, NULL, file);
}

static int ioctl_set_region2(struct kvm *kvm, const void *uarg)
{
	struct gs_kvm_userspace_memory_region2 mem;
	struct gs_fd *gfd = NULL;
	int err;

	if (!uarg)
		return fail(EFAULT);
	memcpy(&mem, uarg, sizeof(mem));
	if (mem.flags & GS_KVM_MEM_GUEST_MEMFD)
		gfd = fd_lookup((int)mem.guest_memfd);
	err = kvm_set_user_memory_region2(kvm, &mem, gfd ? gfd->file : NULL);
	/*
	 * kvm_gmem_bind() fails an fd that is open but not a guest_memfd with
	 * EINVAL at the point where a closed fd gives EBADF, after every
	 * argument check. The kvm layer sees only "no file" and answers
	 * EBADF exactly there, so EBADF for an open fd is that EINVAL.
	 */
	if (err == -EBADF && gfd && gfd->kind != GS_FD_GMEM)
		err = -EINVAL;
	if (err)
		return fail(-err);
	return 0;
}

static int ioctl_set_memory_attributes(struct kvm *kvm, const void *uarg)
{
	struct gs_kvm_memory_attributes attrs;
	int err;

	if (!uarg)
		return fail(EFAULT);
	memcpy(&attrs, uarg, sizeof(attrs));
	err = kvm_vm_set_memory_attributes(kvm, &attrs);
	return err ? fail(-err) : 0;
}

static int ioctl_vm(struct kvm *kvm, unsigned long request, unsigned long arg)
{
	switch (request) {
	case GS_KVM_CHECK_EXTENSION:
		return (int)kvm_vm_check_extension(kvm, (long)arg);
	case GS_KVM_CREATE_GUEST_MEMFD:
		return ioctl_create_guest_memfd(kvm, (const void *)arg);
	case GS_KVM_SET_USER_MEMORY_REGION2:
		return ioctl_set_region2(kvm, (const void *)arg);
	case GS_KVM_SET_MEMORY_ATTRIBUTES:
		return ioctl_set_memory_attributes(kvm, (const void *)arg);
	default:
		/* x86's kvm_arch_vm_ioctl() answers unknown requests ENOTTY. */
		return fail(ENOTTY);
	}
}

static int gmem_ioctl(struct gmem_file *file, unsigned long request, unsigned long arg)
{
	int err = kvm_gmem_ioctl(file, request, (void *)arg);

	return err ? fail(-err) : 0;
}

int gs_ioctl(int fd, unsigned long request, ...)
{
	struct gs_fd *f = fd_lookup(fd);
	unsigned long arg;
	va_list ap;

	/* Like glibc: the third argument is read as one machine word. */
	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!f)
		return fail(EBADF);
	switch (f->kind) {
	case GS_FD_KVM:
		return ioctl_dev(request, arg);
	case GS_FD_VM:
		return ioctl_vm(f->kvm, request, arg);
	default:
		/* kvm_gmem_ioctl(): KVM_SET_MEMORY_ATTRIBUTES2 under in-place conversion. */
		return gmem_ioctl(f->file, request, arg);
	}
}

int gs_fallocate(int fd, int mode, off_t offset, off_t len)
{
	struct gs_fd *f = fd_lookup(fd);
	int err;

	if (!f)
		return fail(EBADF);
	if (f->kind != GS_FD_GMEM) {
		/* vfs_fallocate(): the range check, then "not a regular file". */
		if (offset < 0 || len <= 0)
			return fail(EINVAL);
		return fail(ENODEV);
	}
	err = kvm_gmem_fallocate(f->file, mode, offset, len);
	return err ? fail(-err) : 0;
}

/* The owner of the files: the process's ids, asked once (a system call each). */
static void owner(uid_t *uid, gid_t *gid)
{
	static uid_t u;
	static gid_t g;
	static bool known;

	if (!known) {
		u = getuid();
		g = getgid();
		known = true;
	}
	*uid = u;
	*gid = g;
}

int gs_fstat(int fd, struct stat *st)
{
	struct gs_fd *f = fd_lookup(fd);
	struct gs_gmem_stat gst;

	if (!f)
		return fail(EBADF);
	if (!st)
		return fail(EFAULT);
	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	owner(&st->st_uid, &st->st_gid);
	st->st_blksize = PAGE_SIZE;
	switch (f->kind) {
	case GS_FD_KVM:
		st->st_mode = S_IFCHR | 0666;
		st->st_rdev = makedev(KVM_MISC_MAJOR, KVM_MINOR);
		break;
	case GS_FD_VM:
		/* The shared anonymous inode: no file type, owner read/write. */
		st->st_mode = S_IRUSR | S_IWUSR;
		break;
	default:
		kvm_gmem_fstat(f->file, &gst);
		st->st_ino = gst.st_ino;
		st->st_mode = gst.st_mode;
		st->st_size = gst.st_size;
		st->st_blksize = (blksize_t)gst.st_blksize;
		st->st_blocks = (blkcnt_t)gst.st_blocks;
		break;
	}
	return 0;
}

/*
 * Host address ranges of unmapped mappings, kept reserved (PROT_NONE, no
 * memory) for the next gs_mmap(): a fuzzer maps and unmaps files thousands
 * of times a second, and each range was an mmap() and a munmap() of the host.
 */
#define VA_CACHE 16
static struct {
	uintptr_t addr;
	size_t len;
} va_cache[VA_CACHE];
static unsigned int nr_va_cache;
static unsigned long nr_host_reservations;

unsigned long gs_uapi_host_reservations(void)
{
	return nr_host_reservations;
}

/*
 * Host ranges for mappings come first from one reservation, the arena,
 * made at the first gs_mmap() that needs one, aligned to 1 GiB, handed out
 * from its start and given back at its end. The ranges a program's
 * mappings get are then the same offsets from one base in every run,
 * whatever the host's address-space randomization and its own mappings:
 * which ranges adjoin, and how aligned they are, decide branches of this
 * file that a coverage-guided fuzzer sees, and those now repeat run to run
 * (docs/FUZZING.md, "Reproducing a campaign"). It costs address space, no
 * memory (PROT_NONE, MAP_NORESERVE). A range it cannot hold comes from the
 * host as before.
 */
#define VA_ARENA_ALIGN (1UL << 30)
static uintptr_t va_arena_start, va_arena_next, va_arena_end;
static bool va_arena_tried;

/* A reservation of @size aligned to 1 GiB, or 0. */
static uintptr_t va_arena_reserve(size_t size)
{
	size_t span = size + VA_ARENA_ALIGN;
	uintptr_t p, a;
	void *host;

	host = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return 0;
	nr_host_reservations++;
	p = (uintptr_t)host;
	a = ALIGN(p, VA_ARENA_ALIGN);
	/* Our own fresh reservation, cut at page boundaries: munmap() cannot fail. */
	if (a > p)
		WARN_ON(munmap(host, a - p));
	if (p + span > a + size)
		WARN_ON(munmap((void *)(a + size), p + span - (a + size)));
	return a;
}

/*
 * 16 GiB, or 1 GiB where the host refuses that much address space (an
 * RLIMIT_AS; valgrind takes no more than about 32 GiB in one mapping).
 */
static void va_arena_init(void)
{
	static const size_t sizes[] = {16UL << 30, 1UL << 30};

	va_arena_tried = true;
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uintptr_t a = va_arena_reserve(sizes[i]);

		if (a) {
			va_arena_start = va_arena_next = a;
			va_arena_end = a + sizes[i];
			return;
		}
	}
}

/* @len from the arena's free end, or MAP_FAILED. */
static void *va_arena_take(size_t len)
{
	void *host;

	if (!va_arena_tried)
		va_arena_init();
	if (len > va_arena_end - va_arena_next)
		return MAP_FAILED;
	host = (void *)va_arena_next;
	va_arena_next += len;
	return host;
}

/* [@a, @b) joins the arena's free end if it ends where that begins. */
static bool va_arena_give(uintptr_t a, uintptr_t b)
{
	if (b != va_arena_next || a < va_arena_start)
		return false;
	va_arena_next = a;
	return true;
}

static void unreserve_va(void *addr, size_t resv);

/*
 * A MAP_FIXED range over the arena's free part goes back to the host (so
 * MAP_FIXED_NOREPLACE finds it free, as it would without the arena), and
 * the free part starts after it; what was free before it stays ours, in
 * the cache.
 */
static void va_arena_evict(uintptr_t addr, size_t len)
{
	uintptr_t lo = addr > va_arena_next ? addr : va_arena_next;
	uintptr_t hi = addr + len < va_arena_end ? addr + len : va_arena_end;
	uintptr_t before = va_arena_next;

	if (lo >= hi)
		return;
	WARN_ON(munmap((void *)lo, hi - lo));
	va_arena_next = hi;
	if (lo > before)
		unreserve_va((void *)before, lo - before);
}

void gs_uapi_va_arena(uintptr_t *start, uintptr_t *next, uintptr_t *end)
{
	*start = va_arena_start;
	*next = va_arena_next;
	*end = va_arena_end;
}

void gs_uapi_va_cache_drop(void)
{
	/* Our own reservations, of sizes we made: munmap() cannot fail. */
	while (nr_va_cache) {
		nr_va_cache--;
		WARN_ON(munmap((void *)va_cache[nr_va_cache].addr, va_cache[nr_va_cache].len));
	}
}

/* An address range of at least @len nothing else gets; *@resv: its length. */
static void *reserve_va(size_t len, size_t *resv)
{
	unsigned int best = nr_va_cache;
	void *host;

	for (unsigned int i = 0; i < nr_va_cache; i++)
		if (va_cache[i].len >= len &&
		    (best == nr_va_cache || va_cache[i].len < va_cache[best].len))
			best = i;
	if (best < nr_va_cache) {
		/*
		 * Only @len of it: a mapping's reservation is exactly its range,
		 * so the pieces of a split one each own theirs, and the rest stays
		 * cached (no host call).
		 */
		host = (void *)va_cache[best].addr;
		*resv = len;
		va_cache[best].addr += len;
		va_cache[best].len -= len;
		if (!va_cache[best].len)
			va_cache[best] = va_cache[--nr_va_cache];
		return host;
	}
	*resv = len;
	host = va_arena_take(len);
	if (host != MAP_FAILED)
		return host;
	/* PROT_NONE so a stray access faults. */
	host = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	nr_host_reservations++;
	return host;
}

/* The cached range that ends at @a or starts at @b, taken out; or -1. */
static int va_cache_take_neighbour(uintptr_t a, uintptr_t b, uintptr_t *na, uintptr_t *nb)
{
	for (unsigned int i = 0; i < nr_va_cache; i++) {
		uintptr_t ca = va_cache[i].addr, cb = ca + va_cache[i].len;

		if (cb != a && ca != b)
			continue;
		*na = ca < a ? ca : a;
		*nb = cb > b ? cb : b;
		va_cache[i] = va_cache[--nr_va_cache];
		return 0;
	}
	return -1;
}

static void unreserve_va(void *addr, size_t resv)
{
	uintptr_t a = (uintptr_t)addr, b = a + resv;
	unsigned int small = 0;

	/*
	 * A range joins the cached ones beside it (the rest of the reservation
	 * it was cut from, most often): otherwise the cache crumbles into
	 * pieces no later mapping fits, and every mapping costs the host an
	 * mmap() and a munmap() again.
	 */
	while (!va_cache_take_neighbour(a, b, &a, &b))
		;
	if (va_arena_give(a, b))
		return;
	if (nr_va_cache == VA_CACHE) {
		for (unsigned int i = 1; i < VA_CACHE; i++)
			if (va_cache[i].len < va_cache[small].len)
				small = i;
		/* Our own reservations, of sizes we made: munmap() cannot fail. */
		if (va_cache[small].len >= b - a) {
			WARN_ON(munmap((void *)a, b - a));
			return;
		}
		WARN_ON(munmap((void *)va_cache[small].addr, va_cache[small].len));
		va_cache[small] = va_cache[--nr_va_cache];
	}
	va_cache[nr_va_cache].addr = a;
	va_cache[nr_va_cache++].len = b - a;
}

/* The top of a 4-level x86-64 user address space (TASK_SIZE_MAX). */
#define GS_MMAP_TOP ((1UL << 47) - PAGE_SIZE)

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static void *mmap_fail(int err)
{
	errno = err;
	return MAP_FAILED;
}

static bool ranges_overlap(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * A fixed range is about to become a mapping's: the parts of cached
 * reservations inside it go back to the host just before the host mmap()
 * takes them, so the cache never hands out an address a fixed mapping owns
 * and the host's MAP_FIXED_NOREPLACE sees only real mappings. Their parts
 * outside stay reserved (the holes munmap() left in a mapping's range).
 */
static void va_cache_evict(uintptr_t addr, size_t len)
{
	for (unsigned int i = 0; i < nr_va_cache;) {
		uintptr_t a = va_cache[i].addr, b = a + va_cache[i].len;
		uintptr_t from = a > addr ? a : addr, to = b < addr + len ? b : addr + len;

		if (from >= to) {
			i++;
			continue;
		}
		WARN_ON(munmap((void *)from, to - from));
		va_cache[i] = va_cache[--nr_va_cache];
		if (from > a)
			unreserve_va((void *)a, from - a);
		if (b > to)
			unreserve_va((void *)to, b - to);
	}
}

/* The reservation of a mapping or the cache that holds @addr: its end, or 0. */
static uintptr_t va_owned_end(uintptr_t addr)
{
	struct gs_map *map;

	list_for_each_entry (map, &current_uapi->maps, list)
		if (map->resv && map->addr <= addr && addr - map->addr < map->resv)
			return map->addr + map->resv;
	for (unsigned int i = 0; i < nr_va_cache; i++)
		if (va_cache[i].addr <= addr && addr - va_cache[i].addr < va_cache[i].len)
			return va_cache[i].addr + va_cache[i].len;
	return 0;
}

/*
 * Whether all of [@addr, @addr + @len) is reserved by the simulator (for
 * mappings, or cached): a MAP_FIXED mapping there is the simulator's to
 * cache again when it goes, not the caller's range to hand back.
 */
static bool va_owned(uintptr_t addr, size_t len)
{
	uintptr_t cur = addr, end;

	while (cur < addr + len && (end = va_owned_end(cur)))
		cur = end;
	return cur >= addr + len;
}

/*
 * MAP_FIXED's placement checks, in __get_unmapped_area()'s order: past the
 * top of the address space ENOMEM, an unaligned address EINVAL; then
 * do_mmap()'s EEXIST for MAP_FIXED_NOREPLACE over a mapping. MAP_FIXED over
 * part of a mapping splits it (mmap_region(), unmap_prepare()).
 */
static int fixed_check(uintptr_t addr, size_t len, bool noreplace)
{
	struct gs_map *map;

	if (len > GS_MMAP_TOP || addr > GS_MMAP_TOP - len)
		return ENOMEM;
	if (addr & (PAGE_SIZE - 1))
		return EINVAL;
	if (!noreplace)
		return 0;
	list_for_each_entry (map, &current_uapi->maps, list)
		if (ranges_overlap(map->addr, map->len, addr, len))
			return EEXIST;
	return 0;
}

/*
 * The host range of a MAP_FIXED mapping: the host's own MAP_FIXED replaces
 * whatever was there (a reservation of a mapping being replaced, or one of
 * the caller's), MAP_FIXED_NOREPLACE refuses a range with a host mapping in it.
 */
static int fixed_reserve(uintptr_t addr, size_t len, bool noreplace)
{
	int how = noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED;
	void *host;

	va_cache_evict(addr, len);
	va_arena_evict(addr, len);
	host = mmap((void *)addr, len, PROT_NONE, how | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (host == MAP_FAILED)
		return errno;
	/* A kernel older than 4.17 takes NOREPLACE for a hint. */
	if ((uintptr_t)host != addr) {
		WARN_ON(munmap(host, len));
		return EEXIST;
	}
	return 0;
}

static void map_remove(struct gs_map *map);

/*
 * --- taking a range out of the mappings: munmap(), and MAP_FIXED's
 * replacement (vms_gather_munmap_vmas(), __split_vma()) ---
 *
 * In two steps, so that a failure changes nothing: unmap_prepare() makes
 * every allocation and check (only the mapping that goes on past the end
 * of the range needs a new piece: one that starts before it is trimmed,
 * one inside goes), unmap_commit() cannot fail.
 */

/**
 * struct unmap_plan - [start, end) about to leave the mappings
 * @start: page aligned
 * @end: page aligned
 * @split: the mapping that starts before @end and goes on past it, or NULL
 * @tail: its piece from @end on, prepared (vma not yet in use)
 */
struct unmap_plan {
	uintptr_t start, end;
	struct gs_map *split, *tail;
};

static int unmap_prepare(struct unmap_plan *p, uintptr_t start, uintptr_t end)
{
	struct gs_map *map;
	int err;

	*p = (struct unmap_plan){.start = start, .end = end};
	list_for_each_entry (map, &current_uapi->maps, list)
		if (map->addr < end && end < map->addr + map->len)
			p->split = map;
	if (!p->split)
		return 0;
	/*
	 * vms_gather_munmap_vmas(): a hole in the middle of a mapping leaves
	 * one more than before, refused at the limit; the other splits may
	 * pass it for a moment, as they only lead to fewer.
	 */
	if (p->split->addr < start && current_uapi->nr_maps >= current_uapi->max_map_count)
		return ENOMEM;
	p->tail = gs_alloc(GS_SITE_UAPI_MMAP, sizeof(*p->tail), GFP_KERNEL | __GFP_ZERO);
	if (!p->tail)
		return ENOMEM;
	err = -kvm_gmem_vma_split_prepare(p->split->vma, (end - p->split->addr) >> PAGE_SHIFT,
					  &p->tail->vma);
	if (err) {
		gs_free(GS_SITE_UAPI_MMAP, p->tail, sizeof(*p->tail));
		p->tail = NULL;
	}
	return err;
}

static void unmap_abort(struct unmap_plan *p)
{
	if (!p->tail)
		return;
	kvm_gmem_vma_split_abort(p->tail->vma);
	gs_free(GS_SITE_UAPI_MMAP, p->tail, sizeof(*p->tail));
	p->tail = NULL;
}

/* The host range [@a, @b) reserved again, after a later host call failed. */
static void host_rereserve(uintptr_t a, uintptr_t b)
{
	void *host = mmap((void *)a, b - a, PROT_NONE,
			  MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	/* Nothing can have taken it since: only a host out of memory lands here. */
	if (WARN_ON(host != (void *)a) && host != MAP_FAILED)
		WARN_ON(munmap(host, b - a));
}

/*
 * munmap() of parts of MAP_FIXED mappings in a range that was the caller's:
 * the host range of the parts that go is given back before the model
 * changes (it may split a host mapping, which the host can refuse). At most
 * two mappings are cut: the one across the start and the one across the
 * end. The simulator's own reservations keep the parts, cached
 * (unmap_commit()): the host must not reuse a hole in a mapping's range
 * that a later MAP_FIXED may take. Whole mappings release theirs later.
 */
static int unmap_host_parts(const struct unmap_plan *p)
{
	uintptr_t done[2][2];
	unsigned int nr = 0;
	struct gs_map *map;

	list_for_each_entry (map, &current_uapi->maps, list) {
		uintptr_t a = map->addr > p->start ? map->addr : p->start;
		uintptr_t b = map->addr + map->len < p->end ? map->addr + map->len : p->end;
		int err;

		if (a >= b || (a == map->addr && b == map->addr + map->len) || !map->resv ||
		    !map->fixed)
			continue;
		if (WARN_ON(nr == 2))
			break;
		if (!munmap((void *)a, b - a)) {
			done[nr][0] = a;
			done[nr++][1] = b;
			continue;
		}
		err = errno;
		while (nr--)
			host_rereserve(done[nr][0], done[nr][1]);
		return err;
	}
	return 0;
}

/* The tail piece takes over from @p->split at @p->end. */
static void unmap_commit_split(struct unmap_plan *p)
{
	struct gs_map *map = p->split, *tail = p->tail;

	kvm_gmem_vma_split_commit(map->vma, tail->vma);
	tail->addr = p->end;
	tail->len = map->addr + map->len - p->end;
	tail->resv = map->resv ? tail->len : 0;
	tail->fixed = map->fixed;
	map->len = p->end - map->addr;
	if (map->resv)
		map->resv = map->len;
	list_add(&tail->list, &map->list);
	current_uapi->nr_maps++;
}

/*
 * Take [start, end) out: split, trim, remove. @host_replaced: MAP_FIXED's
 * host mmap() has made the host range the new mapping's already.
 */
static void unmap_commit(struct unmap_plan *p, bool host_replaced)
{
	struct gs_map *map, *tmp;

	if (p->tail)
		unmap_commit_split(p);
	list_for_each_entry_safe (map, tmp, &current_uapi->maps, list) {
		if (!ranges_overlap(map->addr, map->len, p->start, p->end - p->start))
			continue;
		if (map->addr < p->start) {
			kvm_gmem_vma_trim(map->vma, (p->start - map->addr) >> PAGE_SHIFT);
			if (map->resv && !map->fixed && !host_replaced)
				unreserve_va((void *)p->start, map->addr + map->len - p->start);
			map->len = p->start - map->addr;
			if (map->resv)
				map->resv = map->len;
			continue;
		}
		/*
		 * Its host range is the new mapping's, or went with
		 * unmap_host_parts(); else map_remove() keeps it reserved.
		 */
		if (host_replaced || (map == p->split && map->fixed))
			map->resv = 0;
		map_remove(map);
	}
	p->tail = NULL;
}

/* sys_mmap()'s and do_mmap()'s checks before the file's ->mmap, in order. */
static int mmap_check(uintptr_t addr, size_t len, int prot, int flags, struct gs_fd *f,
		      off_t offset)
{
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);

	if (!len || offset < 0)
		return EINVAL;
	if (len > SIZE_MAX - (PAGE_SIZE - 1))
		return ENOMEM;
	/* do_mmap(): the limit may be passed by one, by the last mapping made. */
	if (current_uapi->nr_maps > current_uapi->max_map_count)
		return ENOMEM;
	if (fixed) {
		int err = fixed_check(addr, (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1),
				      flags & MAP_FIXED_NOREPLACE);

		if (err)
			return err;
	}
	switch (flags & GS_MAP_TYPE) {
	case MAP_SHARED:
	case MAP_SHARED_VALIDATE:
	case MAP_PRIVATE:
		break;
	default:
		return EINVAL;
	}
	/* do_mmap(): KVM's files live on noexec anonymous-inode mounts. */
	if (f->kind != GS_FD_KVM && (prot & PROT_EXEC))
		return EPERM;
	/* /dev/kvm and VM fds have no ->mmap (vCPU fds do, not modelled). */
	if (f->kind != GS_FD_GMEM)
		return ENODEV;
	return 0;
}

/* The host range for a new mapping: the fixed one asked for, or any. */
static void *mmap_host_range(uintptr_t addr, size_t len, int flags, size_t *resv, int *err)
{
	void *host;

	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		/* do_mmap(): NOREPLACE wins over a MAP_FIXED beside it. */
		*err = fixed_reserve(addr, len, flags & MAP_FIXED_NOREPLACE);
		*resv = len;
		return *err ? MAP_FAILED : (void *)addr;
	}
	host = reserve_va(len, resv);
	*err = host == MAP_FAILED ? ENOMEM : 0;
	return host;
}

void *gs_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	struct unmap_plan plan = {0};
	bool owned = false;
	size_t resv;
	unsigned long nr_pages;
	struct gs_map *map;
	struct gs_fd *f;
	void *host;
	int err;

	/* sys_mmap(): the offset must be page aligned before anything else. */
	if (offset & (off_t)(PAGE_SIZE - 1))
		return mmap_fail(EINVAL);
	/* Not modelled: anonymous memory (docs/UAPI.md). */
	if (flags & MAP_ANONYMOUS)
		return mmap_fail(EINVAL);
	f = fd_lookup(fd);
	if (!f)
		return mmap_fail(EBADF);
	err = mmap_check((uintptr_t)addr, len, prot, flags, f, offset);
	if (err)
		return mmap_fail(err);
	nr_pages = (len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	map = gs_alloc(GS_SITE_UAPI_MMAP, sizeof(*map), GFP_KERNEL | __GFP_ZERO);
	if (!map)
		return mmap_fail(ENOMEM);
	/* mmap_region(): what MAP_FIXED replaces is gathered (split) before ->mmap. */
	if (fixed) {
		owned = va_owned((uintptr_t)addr, nr_pages << PAGE_SHIFT);
		err = unmap_prepare(&plan, (uintptr_t)addr,
				    (uintptr_t)addr + (nr_pages << PAGE_SHIFT));
		if (err)
			goto out_free;
	}
	err = -kvm_gmem_mmap(f->file, (pgoff_t)offset >> PAGE_SHIFT, nr_pages,
			     (flags & GS_MAP_TYPE) != MAP_PRIVATE, &map->vma);
	if (err)
		goto out_abort;
	/* Last, as nothing after it fails: MAP_FIXED's host mmap replaces at once. */
	host = mmap_host_range((uintptr_t)addr, nr_pages << PAGE_SHIFT, flags, &resv, &err);
	if (err)
		goto out_munmap;
	if (fixed)
		unmap_commit(&plan, true);
	map->addr = (uintptr_t)host;
	map->len = nr_pages << PAGE_SHIFT;
	map->resv = resv;
	map->fixed = fixed && !owned;
	list_add_tail(&map->list, &current_uapi->maps);
	current_uapi->nr_maps++;
	return host;

out_munmap:
	kvm_gmem_munmap(map->vma);
out_abort:
	unmap_abort(&plan);
out_free:
	gs_free(GS_SITE_UAPI_MMAP, map, sizeof(*map));
	return mmap_fail(err);
}

/* The pages and the file reference go; the file holds the VM. */
static void map_remove(struct gs_map *map)
{
	list_del(&map->list);
	current_uapi->nr_maps--;
	kvm_gmem_munmap(map->vma);
	/*
	 * A fixed mapping's range was the caller's choice (often inside a
	 * reservation of its own): it goes back to the host, never to the cache.
	 */
	if (map->fixed && map->resv)
		WARN_ON(munmap((void *)map->addr, map->resv));
	else if (map->resv)
		unreserve_va((void *)map->addr, map->resv);
	gs_free(GS_SITE_UAPI_MMAP, map, sizeof(*map));
}

int gs_munmap(void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end;
	struct unmap_plan plan;
	int err;

	/* do_vmi_munmap(): unaligned, past TASK_SIZE, or empty: EINVAL. */
	if (start & (PAGE_SIZE - 1) || start > GS_MMAP_TOP || len > GS_MMAP_TOP - start || !len)
		return fail(EINVAL);
	end = start + ((len + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1));
	err = unmap_prepare(&plan, start, end);
	if (!err)
		err = unmap_host_parts(&plan);
	if (err) {
		unmap_abort(&plan);
		return fail(err);
	}
	unmap_commit(&plan, false);
	return 0;
}

/* The mapping that holds all of [@addr, @addr + @len), or NULL. */
static struct gs_map *map_holding(uintptr_t addr, size_t len)
{
	struct gs_map *map;

	list_for_each_entry (map, &current_uapi->maps, list)
		if (addr >= map->addr && addr - map->addr < map->len &&
		    len <= map->len - (addr - map->addr))
			return map;
	return NULL;
}

/* Bytes from @addr on held by mappings without a hole, at most @len. */
static size_t mapped_span(uintptr_t addr, size_t len)
{
	size_t span = 0;
	struct gs_map *map;

	while (span < len && (map = map_holding(addr + span, 1)))
		span = map->addr + map->len - addr;
	return span < len ? span : len;
}

/*
 * A copy goes on from one mapping into the next one that begins where it
 * ends (the pieces of a split mapping, or a MAP_FIXED one beside another),
 * as a memcpy() crosses VMAs. The whole range is checked first: a length
 * reaching a hole fails before any byte moves.
 */
int gs_uapi_access(uintptr_t addr, void *buf, size_t len, bool write, size_t *done)
{
	size_t total = 0;
	vm_fault_t ret = 0;

	if (done)
		*done = 0;
	if (mapped_span(addr, len) < len || !len)
		return len ? -EFAULT : (map_holding(addr, 1) ? 0 : -EFAULT);
	while (total < len && !ret) {
		struct gs_map *map = map_holding(addr + total, 1);
		size_t n = map->addr + map->len - (addr + total), copied = 0;

		n = n < len - total ? n : len - total;
		ret = kvm_gmem_access(map->vma, addr + total - map->addr, (char *)buf + total, n,
				      write, &copied);
		total += copied;
	}
	if (done)
		*done = total;
	if (!ret)
		return 0;
	/* A SIGBUS (or hwpoison SIGBUS) in the kernel; OOM kills there. */
	return ret & VM_FAULT_OOM ? -ENOMEM : GS_SYS_SIGBUS;
}

static int access_mapped(uintptr_t addr, void *buf, size_t len, bool write, size_t *done)
{
	int r = gs_uapi_access(addr, buf, len, write, done);

	return r == GS_SYS_SIGBUS ? fail(EFAULT) : r ? fail(-r) : 0;
}

int gs_uapi_read_mapped(const void *addr, void *buf, size_t len, size_t *done)
{
	return access_mapped((uintptr_t)addr, buf, len, false, done);
}

int gs_uapi_write_mapped(void *addr, const void *buf, size_t len, size_t *done)
{
	/* kvm_gmem_access() only reads @buf when writing. */
	return access_mapped((uintptr_t)addr, (void *)(uintptr_t)buf, len, true, done);
}

bool gs_uapi_mapped_pfn(const void *addr, unsigned long *pfn)
{
	struct gs_map *map = map_holding((uintptr_t)addr, 1);
	struct page *page;

	if (!map)
		return false;
	page = xa_load(&map->vma->ptes, ((uintptr_t)addr - map->addr) >> PAGE_SHIFT);
	if (!page)
		return false;
	*pfn = page_to_pfn(page);
	return true;
}

/* --- long-term pins --- */

/* The largest range one pin takes: io_uring's bound on a fixed buffer. */
#define GS_PIN_MAX (1UL << 30)

static void pin_release(struct gs_pin *pin)
{
	for (unsigned long i = 0; i < pin->nr; i++)
		kvm_gmem_unpin(pin->pages[i]);
	gs_kfree(pin->pages, pin->nr * sizeof(*pin->pages));
	gs_kfree(pin, sizeof(*pin));
}

/*
 * Pin each page of @pin's range from @start (GUP walks on across mappings
 * that meet); on failure the ones pinned are dropped.
 */
static int pin_pages(struct gs_pin *pin, uintptr_t start)
{
	for (unsigned long i = 0; i < pin->nr; i++) {
		uintptr_t addr = start + (i << PAGE_SHIFT);
		struct gs_map *map = map_holding(addr, PAGE_SIZE);
		int err = kvm_gmem_pin(map->vma, (addr - map->addr) >> PAGE_SHIFT, &pin->pages[i]);

		if (err) {
			while (i--)
				kvm_gmem_unpin(pin->pages[i]);
			return err;
		}
	}
	return 0;
}

int gs_uapi_pin(void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(PAGE_SIZE - 1);
	struct gs_pin *pin;
	int err;

	if (!len || len > GS_PIN_MAX)
		return fail(EINVAL);
	len += (uintptr_t)addr - start;
	/* GUP on an address outside every mapping: EFAULT. */
	if (mapped_span(start, len) < len)
		return fail(EFAULT);
	pin = gs_kzalloc(sizeof(*pin), GFP_KERNEL);
	if (!pin)
		return fail(ENOMEM);
	pin->nr = (len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	pin->pages = gs_kzalloc(pin->nr * sizeof(*pin->pages), GFP_KERNEL);
	err = pin->pages ? pin_pages(pin, start) : -ENOMEM;
	if (err) {
		if (pin->pages)
			gs_kfree(pin->pages, pin->nr * sizeof(*pin->pages));
		gs_kfree(pin, sizeof(*pin));
		return fail(-err);
	}
	pin->id = ++current_uapi->last_pin_id;
	list_add_tail(&pin->list, &current_uapi->pins);
	current_uapi->nr_pins++;
	return pin->id;
}

int gs_uapi_unpin(int id)
{
	struct gs_pin *pin;

	list_for_each_entry (pin, &current_uapi->pins, list) {
		if (pin->id != id)
			continue;
		list_del(&pin->list);
		current_uapi->nr_pins--;
		pin_release(pin);
		return 0;
	}
	return fail(EINVAL);
}

unsigned int gs_uapi_nr_pins(void)
{
	return current_uapi->nr_pins;
}

/* --- madvise (gs_madvise) --- */

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

/* madvise_behavior_valid(): advices the kernel knows, less the unmodelled ones. */
static bool madvise_known(int advice)
{
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case GS_MADV_COLLAPSE:
		return true;
	default:
		/* MADV_POPULATE_*, HWPOISON and guard regions are not modelled. */
		return false;
	}
}

/* One advice on [start, end) of one mapping (madvise_vma_behavior()). */
static int madvise_map(struct gs_map *map, uintptr_t start, uintptr_t end, int advice)
{
	unsigned long first = (start - map->addr) >> PAGE_SHIFT;
	unsigned long last = ((end - map->addr) >> PAGE_SHIFT) - 1;
	struct page *page;
	unsigned long i;
	int err;

	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		/* zap_page_range_single(): the folios stay in the page cache. */
		xa_for_each_range (&map->vma->ptes, i, page, first, last) {
			xa_erase(&map->vma->ptes, i);
			gs_folio_unmap(page_folio(page));
		}
		return 0;
	case MADV_REMOVE:
		/* madvise_remove(): a punch of the file range behind the pages. */
		err = kvm_gmem_fallocate(map->vma->file,
					 GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE,
					 (loff_t)(map->vma->pgoff + first) << PAGE_SHIFT,
					 (loff_t)(last - first + 1) << PAGE_SHIFT);
		return err ? fail(-err) : 0;
	case GS_MADV_COLLAPSE:
	case MADV_FREE:
	case MADV_WIPEONFORK:
		/* Not a THP-collapsible file; FREE and WIPEONFORK want anonymous memory. */
		return fail(EINVAL);
	default:
		/* Hints with no effect the simulator models (HUGEPAGE included). */
		return 0;
	}
}

int gs_madvise(void *addr, size_t len, int advice)
{
	uintptr_t start = (uintptr_t)addr, end, cur;
	bool hole = false;
	struct gs_map *map, *next;

	if (!madvise_known(advice))
		return fail(EINVAL);
	if (start & (PAGE_SIZE - 1))
		return fail(EINVAL);
	if (len > UINTPTR_MAX - start - (PAGE_SIZE - 1))
		return fail(EINVAL);
	end = start + ((len + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1));
	/* madvise_walk_vmas(): mapped parts in address order; a gap is ENOMEM at the end. */
	for (cur = start; cur < end;) {
		next = NULL;
		list_for_each_entry (map, &current_uapi->maps, list) {
			if (map->addr + map->len <= cur || map->addr >= end)
				continue;
			if (!next || map->addr < next->addr)
				next = map;
		}
		if (!next)
			return fail(ENOMEM);
		if (next->addr > cur) {
			hole = true;
			cur = next->addr;
		}
		if (madvise_map(next, cur,
				end < next->addr + next->len ? end : next->addr + next->len,
				advice))
			return -1;
		cur = next->addr + next->len;
	}
	return hole ? fail(ENOMEM) : 0;
}

ssize_t gs_read(int fd, void *buf, size_t count)
{
	(void)buf;
	(void)count;
	/* No ->read or ->read_iter: vfs_read() gives EINVAL. */
	return fail(fd_lookup(fd) ? EINVAL : EBADF);
}

ssize_t gs_write(int fd, const void *buf, size_t count)
{
	(void)buf;
	(void)count;
	return fail(fd_lookup(fd) ? EINVAL : EBADF);
}

/* Anonymous-inode files lack FMODE_PREAD/PWRITE; /dev/kvm has them. */
static int positional_errno(int fd)
{
	struct gs_fd *f = fd_lookup(fd);

	if (!f)
		return EBADF;
	return f->kind == GS_FD_KVM ? EINVAL : ESPIPE;
}

ssize_t gs_pread(int fd, void *buf, size_t count, off_t offset)
{
	(void)buf;
	(void)count;
	(void)offset;
	return fail(positional_errno(fd));
}

ssize_t gs_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	(void)buf;
	(void)count;
	(void)offset;
	return fail(positional_errno(fd));
}

off_t gs_lseek(int fd, off_t offset, int whence)
{
	struct gs_fd *f = fd_lookup(fd);

	(void)offset;
	(void)whence;
	if (!f)
		return fail(EBADF);
	/* kvm_chardev_ops and kvm_vm_fops use noop_llseek; guest_memfd none. */
	if (f->kind == GS_FD_GMEM)
		return fail(ESPIPE);
	return 0;
}

int gs_ftruncate(int fd, off_t length)
{
	(void)length;
	return fail(fd_lookup(fd) ? EINVAL : EBADF);
}

int gs_fsync(int fd)
{
	return fail(fd_lookup(fd) ? EINVAL : EBADF);
}

struct gmem_file *gs_uapi_gmem_file(int fd)
{
	struct gs_fd *f = fd_lookup(fd);

	return f && f->kind == GS_FD_GMEM ? f->file : NULL;
}

struct kvm *gs_uapi_kvm(int fd)
{
	struct gs_fd *f = fd_lookup(fd);

	if (!f || f->kind == GS_FD_KVM)
		return NULL;
	return f->kind == GS_FD_VM ? f->kvm : gmem_vm_kvm(f->file->vm);
}

unsigned int gs_uapi_nr_open(void)
{
	return current_uapi->nr_open;
}

unsigned int gs_uapi_nr_mappings(void)
{
	return current_uapi->nr_maps;
}

unsigned int gs_uapi_set_max_map_count(unsigned int count)
{
	unsigned int old = current_uapi->max_map_count;

	current_uapi->max_map_count = count;
	return old;
}

void gs_uapi_set_profile(enum gs_gmem_profile profile)
{
	current_uapi->vm_params = kvm_default_params(profile);
}

void gs_uapi_set_vm_memory_attributes(bool on)
{
	current_uapi->vm_params.vm_memory_attributes = on;
}

struct kvm_params gs_uapi_swap_vm_params(const struct kvm_params *params)
{
	struct kvm_params old = current_uapi->vm_params;

	current_uapi->vm_params = *params;
	return old;
}

void gs_uapi_reset(void)
{
	struct gs_map *map, *tmp;

	struct gs_pin *pin, *ptmp;

	list_for_each_entry_safe (map, tmp, &current_uapi->maps, list)
		map_remove(map);
	for (int fd = GS_UAPI_FIRST_FD; fd < GS_UAPI_NR_OPEN; fd++)
		if (current_uapi->fd_table[fd].kind != GS_FD_NONE)
			gs_close(fd);
	/* Pins outlive the fds and mappings, as long-term GUP pins do: last. */
	list_for_each_entry_safe (pin, ptmp, &current_uapi->pins, list) {
		list_del(&pin->list);
		pin_release(pin);
	}
	current_uapi->nr_pins = 0;
	current_uapi->vm_params = kvm_default_params(GS_GMEM_PROFILE_DESIGN);
	current_uapi->max_map_count = GS_DEFAULT_MAX_MAP_COUNT;
}

struct gs_uapi *gs_uapi_create(void)
{
	struct gs_uapi *u = gs_alloc(GS_SITE_UAPI_FILES, sizeof(*u), GFP_KERNEL | __GFP_ZERO);

	if (!u)
		return NULL;
	INIT_LIST_HEAD(&u->maps);
	INIT_LIST_HEAD(&u->pins);
	u->vm_params = kvm_default_params(GS_GMEM_PROFILE_DESIGN);
	u->max_map_count = GS_DEFAULT_MAX_MAP_COUNT;
	return u;
}

struct gs_uapi *gs_uapi_switch(struct gs_uapi *u)
{
	struct gs_uapi *old = current_uapi;

	current_uapi = u ? u : &init_uapi;
	return old == &init_uapi ? NULL : old;
}

void gs_uapi_destroy(struct gs_uapi *u)
{
	struct gs_uapi *old;

	if (!u)
		return;
	/* Exit of that process: its mappings and fds go, as in exit_mm()/exit_files(). */
	old = current_uapi;
	current_uapi = u;
	gs_uapi_reset();
	current_uapi = old == u ? &init_uapi : old;
	gs_free(GS_SITE_UAPI_FILES, u, sizeof(*u));
}

/* --- memory policy: mbind(), get_mempolicy(), move_pages() (mm/mempolicy.c, mm/migrate.c) --- */

/* A mask the user gives as @maxnode bits: at most a page of them (get_nodes()). */
#define GS_MPOL_MAXNODE_BITS (PAGE_SIZE * 8)

/* sanitize_mpol_flags(): the mode and its flags. */
static int mpol_check_mode(unsigned int mode, unsigned int mode_flags)
{
	if (mode >= GS_MPOL_MAX)
		return -EINVAL;
	if ((mode_flags & MPOL_F_STATIC_NODES) && (mode_flags & MPOL_F_RELATIVE_NODES))
		return -EINVAL;
	if ((mode_flags & MPOL_F_NUMA_BALANCING) && mode != MPOL_BIND &&
	    mode != MPOL_PREFERRED_MANY)
		return -EINVAL;
	return 0;
}

/*
 * get_nodes(): the syscall reads @maxnode - 1 bits; bits past our node
 * limit must be zero. Reads at most a page of the caller's mask.
 */
static int mpol_get_nodes(nodemask_t *nodes, const unsigned long *nmask, unsigned long maxnode)
{
	unsigned long bits = maxnode - 1;

	*nodes = 0;
	if (bits == 0 || !nmask)
		return 0;
	if (bits > GS_MPOL_MAXNODE_BITS)
		return -EINVAL;
	for (unsigned long w = 1; w < BITS_TO_LONGS(bits); w++) {
		unsigned long valid = bits - w * BITS_PER_LONG;
		unsigned long word = nmask[w];

		if (valid < BITS_PER_LONG)
			word &= (1UL << valid) - 1;
		if (word)
			return -EINVAL;
	}
	*nodes = bits < BITS_PER_LONG ? nmask[0] & ((1UL << bits) - 1) : nmask[0];
	return 0;
}

/* The @n-th (mod its weight) node of @allowed: MPOL_F_RELATIVE_NODES' folding. */
static nodemask_t mpol_relative(nodemask_t user, nodemask_t allowed)
{
	unsigned int w = (unsigned int)__builtin_popcountl(allowed);
	nodemask_t out = 0;

	for (unsigned int n = 0; w && n < GS_MAX_NUMNODES; n++) {
		nodemask_t a = allowed;

		if (!(user & (1UL << n)))
			continue;
		for (unsigned int k = n % w; k; k--)
			a &= a - 1;
		out |= a & -a;
	}
	return out;
}

/* mpol_new() and mpol_set_nodemask(): the policy @mode asks for, or NULL for the default. */
static int mpol_build(unsigned int mode, unsigned int mode_flags, nodemask_t nodes,
		      struct mempolicy *pol, bool *is_default)
{
	bool user_mask = mode_flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES);
	nodemask_t allowed = gs_numa_all_nodes(), eff;

	*is_default = false;
	if (mode == MPOL_DEFAULT) {
		*is_default = true;
		return nodes ? -EINVAL : 0;
	}
	if (mode == MPOL_PREFERRED && !nodes) {
		if (user_mask)
			return -EINVAL;
		mode = MPOL_LOCAL;
	} else if (mode == MPOL_LOCAL) {
		if (nodes || user_mask)
			return -EINVAL;
	} else if (!nodes) {
		return -EINVAL;
	}
	*pol = (struct mempolicy){.mode = (unsigned short)mode,
				  .flags = (unsigned short)mode_flags};
	if (mode == MPOL_LOCAL)
		return 0;
	eff = (mode_flags & MPOL_F_RELATIVE_NODES) ? mpol_relative(nodes, allowed)
						   : nodes & allowed;
	/* Only nodes with memory count: none of them is no policy at all. */
	if (!eff)
		return -EINVAL;
	pol->nodes = mode == MPOL_PREFERRED ? eff & -eff : eff;
	pol->user_nodes = user_mask ? nodes : 0;
	return 0;
}

/*
 * The mapping holding @addr and where it ends, clipped to @end: mbind()
 * walks the VMAs of its range in address order (a hole is EFAULT).
 */
static struct gs_map *mpol_next_map(uintptr_t addr, uintptr_t end, uintptr_t *stop)
{
	struct gs_map *map = map_holding(addr, 1);

	if (map)
		*stop = min_t(uintptr_t, end, map->addr + ALIGN(map->len, PAGE_SIZE));
	return map;
}

/* Whether a mapped page of [start, stop) of @map lies off @pol's nodes (queue_folio_required()). */
static bool mpol_misplaced(struct gs_map *map, uintptr_t start, uintptr_t stop,
			   const struct mempolicy *pol)
{
	unsigned long first = (start - map->addr) >> PAGE_SHIFT;
	unsigned long last = ((stop - map->addr) >> PAGE_SHIFT) - 1;
	struct page *page;
	unsigned long i;

	xa_for_each_range (&map->vma->ptes, i, page, first, last)
		if (!gs_mpol_allows(pol, gs_pfn_to_nid(page_to_pfn(page))))
			return true;
	return false;
}

/* Check the whole range, then set each mapping's part: do_mbind() after its checks. */
static int mpol_apply(uintptr_t start, uintptr_t end, const struct mempolicy *pol,
		      unsigned int flags)
{
	bool moving = flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL), misplaced = false;
	uintptr_t a, stop;
	struct gs_map *map;
	int err;

	for (a = start; a < end; a = stop) {
		map = mpol_next_map(a, end, &stop);
		if (!map)
			return -EFAULT;
		if ((flags & MPOL_MF_STRICT) && pol)
			misplaced |= mpol_misplaced(map, a, stop, pol);
	}
	/* A strict check without a move fails before anything changes. */
	if (misplaced && !moving)
		return -EIO;
	for (a = start; a < end; a = stop) {
		map = mpol_next_map(a, end, &stop);
		err = kvm_gmem_set_policy(map->vma, (a - map->addr) >> PAGE_SHIFT,
					  (stop - a) >> PAGE_SHIFT, pol);
		if (err)
			return err;
	}
	/* The pages to move stay: guest_memfd folios do not migrate. */
	return misplaced ? -EIO : 0;
}

int gs_mbind(void *addr, unsigned long len, int mode, const unsigned long *nodemask,
	     unsigned long maxnode, unsigned int flags)
{
	unsigned int mode_flags = (unsigned int)mode & MPOL_MODE_FLAGS;
	unsigned int lmode = (unsigned int)mode & ~(unsigned int)MPOL_MODE_FLAGS;
	uintptr_t start = (uintptr_t)addr, end;
	struct mempolicy pol;
	bool is_default;
	nodemask_t nodes;
	int err;

	err = mpol_check_mode(lmode, mode_flags);
	if (!err)
		err = mpol_get_nodes(&nodes, nodemask, maxnode);
	if (err)
		return fail(-err);
	if (flags & ~(unsigned int)MPOL_MF_VALID)
		return fail(EINVAL);
	if (start & (PAGE_SIZE - 1))
		return fail(EINVAL);
	if (lmode == MPOL_DEFAULT)
		flags &= ~(unsigned int)MPOL_MF_STRICT;
	/* PAGE_ALIGN() as the kernel's: a length that wraps to 0 is nothing to do. */
	end = start + ((len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
	if (end < start)
		return fail(EINVAL);
	if (end == start)
		return 0;
	err = mpol_build(lmode, mode_flags, nodes, &pol, &is_default);
	if (!err)
		err = mpol_apply(start, end, is_default ? NULL : &pol, flags);
	return err ? fail(-err) : 0;
}

/* copy_nodes_to_user(): @maxnode - 1 bits, whole words; words past ours are zero. */
static int mpol_put_nodes(unsigned long *nmask, unsigned long maxnode, nodemask_t nodes)
{
	unsigned long bits = maxnode - 1, words = BITS_TO_LONGS(bits);

	if (words * sizeof(long) > PAGE_SIZE)
		return -EINVAL;
	for (unsigned long w = 0; w < words; w++)
		nmask[w] = 0;
	if (words)
		nmask[0] = bits < BITS_PER_LONG ? nodes & ((1UL << bits) - 1) : nodes;
	return 0;
}

/* lookup_node(): fault the page at @addr in (a read, as get_user_pages()) and give its node. */
static int mpol_lookup_node(uintptr_t addr)
{
	unsigned long pfn;
	unsigned char byte;
	int r = gs_uapi_access(addr & ~(uintptr_t)(PAGE_SIZE - 1), &byte, 1, false, NULL);

	if (r == GS_SYS_SIGBUS)
		return -EFAULT;
	if (r)
		return r;
	if (!gs_uapi_mapped_pfn((void *)addr, &pfn))
		return -EFAULT;
	return gs_pfn_to_nid(pfn);
}

int gs_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr,
		     unsigned long flags)
{
	const struct mempolicy *pol = NULL;
	nodemask_t nodes = 0;
	struct gs_map *map;
	int val = 0;

	if (nodemask && maxnode < gs_numa_nr_nodes())
		return fail(EINVAL);
	if (flags & ~(unsigned long)(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED))
		return fail(EINVAL);
	if (flags & MPOL_F_MEMS_ALLOWED) {
		if (flags & (MPOL_F_NODE | MPOL_F_ADDR))
			return fail(EINVAL);
		nodes = gs_numa_all_nodes();
	} else {
		if (flags & MPOL_F_ADDR) {
			map = map_holding((uintptr_t)addr, 1);
			if (!map)
				return fail(EFAULT);
			pol = kvm_gmem_get_policy(map->vma,
						  ((uintptr_t)addr - map->addr) >> PAGE_SHIFT);
		} else if (addr) {
			return fail(EINVAL);
		}
		if (flags & MPOL_F_NODE) {
			/* The task's own policy is the default: no interleave to ask the next node of. */
			if (!(flags & MPOL_F_ADDR))
				return fail(EINVAL);
			val = mpol_lookup_node((uintptr_t)addr);
			if (val < 0)
				return fail(-val);
		} else {
			val = pol ? pol->mode | pol->flags : MPOL_DEFAULT;
		}
		if (pol)
			nodes = (pol->flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES))
					? pol->user_nodes
					: pol->nodes;
	}
	/* The mode is written before the mask, which may still fail. */
	if (mode)
		*mode = val;
	if (nodemask && mpol_put_nodes(nodemask, maxnode, nodes))
		return fail(EINVAL);
	return 0;
}

/* The node of the page mapped at @addr (follow_page(), no fault), or -EFAULT / -ENOENT. */
static int page_node(const void *addr)
{
	unsigned long pfn;

	if (!map_holding((uintptr_t)addr, 1))
		return -EFAULT;
	if (!gs_uapi_mapped_pfn(addr, &pfn))
		return -ENOENT;
	return gs_pfn_to_nid(pfn);
}

long gs_move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
		   int flags)
{
	if (flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL))
		return fail(EINVAL);
	if (pid && pid != getpid())
		return fail(ESRCH);
	/* Targets are checked before any page is looked at (do_pages_move()). */
	for (unsigned long i = 0; nodes && i < count; i++) {
		if (nodes[i] < 0 || nodes[i] >= GS_MAX_NUMNODES)
			return fail(EINVAL);
		if ((unsigned int)nodes[i] >= gs_numa_nr_nodes())
			return fail(ENODEV);
	}
	for (unsigned long i = 0; i < count; i++) {
		int nid = page_node(pages[i]);

		status[i] = (nodes && nid >= 0 && nid != nodes[i]) ? -EBUSY : nid;
	}
	return 0;
}
