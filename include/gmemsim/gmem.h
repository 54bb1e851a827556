/* SPDX-License-Identifier: MIT */
/*
 * The guest_memfd inode and file (virt/kvm/guest_memfd.c): creation with
 * upstream's checks plus the HugeTLB design (a page order naming an hstate,
 * a per-file subpool reserved at creation), fstat, fallocate and punch hole,
 * host mappings and faults, long-term pins, get_pfn, release and memory
 * failure. Folios live in the filemap XArray (multi-index entries for huge
 * folios); the shareability maple tree covers the whole file from creation.
 */
#ifndef GMEMSIM_GMEM_H
#define GMEMSIM_GMEM_H

#include <stdio.h>
#include <sys/types.h>

#include <gmemsim/compiler.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/mempolicy.h>
#include <gmemsim/xarray.h>

/* fallocate() modes (include/uapi/linux/falloc.h). */
#define GS_FALLOC_FL_KEEP_SIZE	    0x01
#define GS_FALLOC_FL_PUNCH_HOLE	    0x02
#define GS_FALLOC_FL_NO_HIDE_STALE  0x04
#define GS_FALLOC_FL_COLLAPSE_RANGE 0x08
#define GS_FALLOC_FL_ZERO_RANGE	    0x10
#define GS_FALLOC_FL_INSERT_RANGE   0x20
#define GS_FALLOC_FL_UNSHARE_RANGE  0x40
#define GS_FALLOC_FL_SUPPORTED_MASK                                                       \
	(GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE | GS_FALLOC_FL_COLLAPSE_RANGE | \
	 GS_FALLOC_FL_ZERO_RANGE | GS_FALLOC_FL_INSERT_RANGE | GS_FALLOC_FL_UNSHARE_RANGE)

/* A 64-bit s_maxbytes (MAX_LFS_FILESIZE). */
#define GS_MAX_LFS_FILESIZE ((loff_t)INT64_MAX)

/* Host fault results (include/linux/mm_types.h vm_fault_t bits). */
typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM	  0x0001u
#define VM_FAULT_SIGBUS	  0x0002u
#define VM_FAULT_HWPOISON 0x0010u

/* Shareability of an index, stored as a value entry in the maple tree. */
enum kvm_gmem_shareability {
	SHAREABILITY_GUEST = 1, /* private: only the guest may map it */
	SHAREABILITY_ALL = 2,	/* shared: host and guest */
};

/**
 * enum gs_gmem_profile - which kernel version's behaviour a file follows
 * @GS_GMEM_PROFILE_DESIGN: the project's design (st_blocks counted)
 * @GS_GMEM_PROFILE_UPSTREAM: upstream, where st_blocks stays 0
 */
enum gs_gmem_profile {
	GS_GMEM_PROFILE_DESIGN,
	GS_GMEM_PROFILE_UPSTREAM,
};

/**
 * enum gs_gmem_conversion - the ordering KVM_SET_MEMORY_ATTRIBUTES2 follows
 * (docs/CONVERSION.md, "Orderings")
 * @GS_CONVERSION_PLANNED: P37, the design's default: every ENOMEM/EAGAIN
 *              (refcounts, stage-2 leaf splits, folio splits, merge
 *              preparation) before the point of no return, all or nothing
 *              across huge pages, merges after it that cannot fail
 * @GS_CONVERSION_V8: P7, 4 KiB files only (v8 has no HugeTLB: a conversion
 *              that would change a HugeTLB file is -EOPNOTSUPP)
 * @GS_CONVERSION_WIP: P35, one huge-page batch at a time; batches done
 *              before a failing one stay converted
 * @GS_CONVERSION_RFC_V2: P20's work list with rollback, 4 KiB files only
 *              (HugeTLB: -EOPNOTSUPP), with the reviewed rollback loop's
 *              bug at the first item (a WARN here)
 * @GS_CONVERSION_PUNCH_HOLE: no in-place conversion: the range is punched
 *              (contents lost) and refaulted with the new attribute; 4 KiB
 *              files only (HugeTLB: -EOPNOTSUPP); the punch-hole strategy
 */
enum gs_gmem_conversion {
	GS_CONVERSION_PLANNED,
	GS_CONVERSION_V8,
	GS_CONVERSION_WIP,
	GS_CONVERSION_RFC_V2,
	GS_CONVERSION_PUNCH_HOLE,
};

struct kvm_memory_slot;
struct gs_strategy;
struct gs_strategy_ops;

/**
 * enum kvm_gfn_range_filter - which stage-2 leaves an invalidation removes
 * @KVM_FILTER_SHARED: leaves made by shared faults
 * @KVM_FILTER_PRIVATE: leaves made by private faults
 *
 * kvm_gmem_get_invalidate_filter() computes it from the attributes of the
 * range (spec P13): a conversion or a punch zaps only the kind of leaf the
 * range can have.
 */
enum kvm_gfn_range_filter {
	KVM_FILTER_SHARED = 1u << 0,
	KVM_FILTER_PRIVATE = 1u << 1,
};

/**
 * struct gmem_kvm_ops - how guest_memfd reaches the VM's MMU (lib/kvm/kvm.c)
 * @invalidate: begin, zap the guest mappings of file pages [@start, @end)
 *              that @slot maps with the VM's default filter, end: the
 *              one-shot form for callers without a filter of their own
 * @release: the file is going away: @slot loses it and its mappings
 * @get: a file of the VM was created: it holds the VM (kvm_get_kvm())
 * @put: that file's last reference is gone (kvm_put_kvm())
 * @invalidate_begin: kvm_mmu_invalidate_begin(): guest faults in the ranges
 *              added until @invalidate_end retry (-EAGAIN). Called once per
 *              file with a binding in the range, before its first
 *              @invalidate_range
 * @invalidate_range: kvm_mmu_unmap_gfn_range(): add the frames of file pages
 *              [@start, @end) that @slot maps to the in-progress range, and
 *              zap the leaves there of the kinds in @attr_filter (enum
 *              kvm_gfn_range_filter). Cannot fail
 * @invalidate_end: kvm_mmu_invalidate_end(); one per @invalidate_begin
 * @split_cross_boundary: kvm_split_cross_boundary_leafs(): split every
 *              huge leaf of a kind in @attr_filter that maps file pages both
 *              inside and outside [@start, @end) in @slot, so that zapping
 *              the range leaves the pages outside it mapped. All or
 *              nothing per slot: 0, or -ENOMEM with the slot's stage-2 as
 *              it was. Call it before the point of no return (spec P40)
 * @split_huge: kvm_split_huge_leafs(): split every leaf of a kind in
 *              @attr_filter over file pages [@start, @end) in @slot that is
 *              larger than 2^@order pages, so that the folios there can be
 *              split to @order without a mapping larger than its folio
 *              (P40). All or nothing per slot, as @split_cross_boundary
 * @gmem_prepare: kvm_arch_gmem_prepare(): the arch makes the pages of a
 *              folio (2^@order pfns from @pfn, the folio's first file page
 *              @index in @slot) usable as private memory. Called on every
 *              get_pfn of a private page (spec P12); the arch keeps its own
 *              state, so a call for pages it already holds does nothing.
 *              0 or a negative errno, which get_pfn returns
 * @gmem_invalidate: kvm_arch_gmem_invalidate(): pfns [@start, @end) go back
 *              to the host (a conversion to shared, or the folio leaving the
 *              page cache: the kernel's free_folio). No VM: the arch state
 *              it clears is per pfn, as SNP's RMP is
 * @gmem_invalidate_needed: optional: false while @gmem_invalidate has
 *              nothing to do for any pfn (no VM whose arch keeps per-pfn
 *              state: no SNP VM), as when the kernel's arch has no hook;
 *              asked once per conversion or truncation, which then skip
 *              the calls. NULL: always call
 * @split_huge_prepare: @split_huge's fallible half (kvm_split_huge_leafs_prepare()):
 *              0 with the split pending in @slot, or -ENOMEM with nothing
 *              changed; @split_huge_finish must follow for a pending one
 * @split_huge_finish: commit (@commit) or cancel @slot's pending split;
 *              cannot fail; nothing pending: nothing done
 */
struct gs_gmem_vm_info;

struct gmem_kvm_ops {
	void (*invalidate)(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end);
	void (*release)(struct kvm_memory_slot *slot);
	void (*get)(const struct gs_gmem_vm_info *vm);
	void (*put)(const struct gs_gmem_vm_info *vm);
	void (*invalidate_begin)(const struct gs_gmem_vm_info *vm);
	void (*invalidate_range)(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
				 unsigned int attr_filter);
	void (*invalidate_end)(const struct gs_gmem_vm_info *vm);
	int (*split_cross_boundary)(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
				    unsigned int attr_filter);
	int (*split_huge)(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
			  unsigned int attr_filter, unsigned int order);
	int (*gmem_prepare)(struct kvm_memory_slot *slot, pgoff_t index, unsigned long pfn,
			    unsigned int order);
	void (*gmem_invalidate)(unsigned long start, unsigned long end);
	bool (*gmem_invalidate_needed)(void);
	int (*split_huge_prepare)(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
				  unsigned int attr_filter, unsigned int order);
	void (*split_huge_finish)(struct kvm_memory_slot *slot, bool commit);
};

/**
 * struct gs_gmem_vm_info - what creation needs to know of the VM
 * @has_private_mem: kvm_arch_has_private_mem() (a CoCo or sw_protected VM)
 * @supports_init_shared: kvm_arch_supports_gmem_init_shared()
 * @supports_hugetlb: the VM advertises GUEST_MEMFD_FLAG_HUGETLB
 * @in_place_conversion: kvm.gmem_in_place_conversion (v8): PRIVATE lives in
 *              the file and KVM_SET_MEMORY_ATTRIBUTES2 exists on it; the
 *              opposite of kvm.vm_memory_attributes
 * @profile: which kernel version the files of this VM behave as
 * @conversion: the ordering of the VM's conversions (enum gs_gmem_conversion):
 *              @strategy's flow
 * @strategy: the VM's restructuring strategy (include/gmemsim/strategy.h)
 * @ops: the VM's MMU hooks, NULL without a VM model
 *
 * Stands in for struct kvm (and the module's version) until lib/kvm.c exists.
 */
struct gs_gmem_vm_info {
	bool has_private_mem;
	bool supports_init_shared;
	bool supports_hugetlb;
	bool in_place_conversion;
	enum gs_gmem_profile profile;
	enum gs_gmem_conversion conversion;
	const struct gs_strategy *strategy;
	const struct gmem_kvm_ops *ops;
};

/**
 * struct gmem_inode - the inode behind a guest_memfd file
 * @size: i_size, immutable
 * @flags: GUEST_MEMFD_FLAG_* given at creation
 * @page_order: 0, or the HugeTLB page order
 * @filemap: the page cache: index -> folio, one multi-index entry per folio
 * @shareability: index -> enum kvm_gmem_shareability, covering [0, size/4K)
 * @spool: the HugeTLB subpool, NULL for 4 KiB files
 * @i_bytes: bytes of allocated folios (st_blocks * 512 in the design profile)
 * @ino: inode number
 * @profile: behaviour profile, from the VM at creation
 * @arch: the creating VM's hooks (a static table: it outlives the VM), for
 *        the arch invalidate hook when a folio leaves the page cache; NULL
 *        without a VM model
 * @refs: files plus host mappings
 * @vmas: host mappings of the file (struct gmem_vma)
 * @files: open files of the inode (struct gmem_file)
 * @list: in the list of live inodes (for checkers)
 * @merge_reserve: page-cache nodes reserved for merges' stores before a
 *                 point of no return, freed when the operation ends
 * @thp: a file without HugeTLB whose folios are best-effort 2 MiB (the VM's
 *       strategy has GS_STRATEGY_BACKING_THP): order 9 or 0, never merged
 * @preallocating: a fallocate() is allocating (the strategy's alloc_order
 *                 tells preallocation from a fault)
 * @strategy: the creating VM's strategy's ops (they live as long as the
 *            process): its ABI-3 hooks decide for the file's life; NULL
 *            without a VM (the kernel's rules)
 * @policy: the memory policy of each range of file pages, set by mbind() on
 *          a mapping (the inode's shared policy of the guest_memfd NUMA
 *          series); allocations follow it
 */
struct gmem_inode {
	loff_t size;
	uint64_t flags;
	unsigned int page_order;
	struct xarray filemap;
	struct maple_tree shareability;
	struct hugepage_subpool *spool;
	unsigned long i_bytes;
	unsigned long ino;
	enum gs_gmem_profile profile;
	const struct gmem_kvm_ops *arch;
	int refs;
	struct list_head vmas;
	struct list_head files;
	struct list_head list;
	struct xa_node *merge_reserve;
	bool thp;
	bool preallocating;
	const struct gs_strategy_ops *strategy;
	struct shared_policy policy;
};

/**
 * struct gmem_file - an open guest_memfd file
 * @inode: its inode
 * @refs: the fd plus host mappings (an mmap holds a file reference)
 * @vm: the VM that created the file
 * @bindings: file page -> struct kvm_memory_slot bound there
 * @list: in the inode's list of files
 */
struct gmem_file {
	struct gmem_inode *inode;
	int refs;
	const struct gs_gmem_vm_info *vm;
	struct xarray bindings;
	struct list_head list;
};

/**
 * struct gmem_vma - a MAP_SHARED host mapping of a guest_memfd file
 * @file: the file, referenced
 * @pgoff: file page (4 KiB) the mapping starts at
 * @nr_pages: length in 4 KiB pages (may extend past i_size)
 * @ptes: mapped pages: page index in the mapping -> struct page
 * @list: in the inode's list of mappings
 */
struct gmem_vma {
	struct gmem_file *file;
	pgoff_t pgoff;
	unsigned long nr_pages;
	struct xarray ptes;
	struct list_head list;
};

/**
 * struct gs_gmem_stat - the fstat() fields guest_memfd defines
 */
struct gs_gmem_stat {
	unsigned long st_ino;
	unsigned int st_mode;
	loff_t st_size;
	unsigned long st_blksize;
	unsigned long st_blocks;
};

/* --- inode and file (lib/gmem.c) --- */

/**
 * kvm_gmem_get_supported_flags() - the KVM_CAP_GUEST_MEMFD_FLAGS answer
 * @vm: the VM, or NULL for the system fd
 *
 * Context: any.
 * Return: MMAP, INIT_SHARED when the VM supports it, HUGETLB when advertised.
 */
GS_API uint64_t kvm_gmem_get_supported_flags(const struct gs_gmem_vm_info *vm);

/**
 * kvm_gmem_create() - KVM_CREATE_GUEST_MEMFD
 * @vm: the VM
 * @size: file size (read as loff_t, so >= 2^63 is negative)
 * @flags: GUEST_MEMFD_FLAG_*
 * @page_order: HugeTLB page order (0 without HUGETLB)
 * @filep: set to the new file on success
 *
 * Checks, in order: unsupported flags, a page order without HUGETLB,
 * HUGETLB with INIT_SHARED, HUGETLB with no hstate of @page_order, then
 * the size (positive, aligned to the file's page size); all -EINVAL. A
 * HugeTLB file then reserves its whole size in a subpool.
 *
 * Context: process context (may sleep).
 * Return: 0; -EINVAL; -ENOMEM (allocation, or the pool cannot reserve the
 * file). Nothing changes on failure.
 */
GS_API int kvm_gmem_create(const struct gs_gmem_vm_info *vm, loff_t size, uint64_t flags,
			   uint64_t page_order, struct gmem_file **filep);

/**
 * kvm_gmem_fstat() - fstat() of a guest_memfd file
 * @file: the file
 * @st: filled in
 *
 * Context: any.
 */
GS_API void kvm_gmem_fstat(const struct gmem_file *file, struct gs_gmem_stat *st);

/**
 * kvm_gmem_fput() - drop a file reference (close(), munmap())
 * @file: the file
 *
 * The last reference releases the file, which drops its inode reference;
 * the inode is evicted, truncating everything, when its last reference goes.
 *
 * Context: process context.
 */
GS_API void kvm_gmem_fput(struct gmem_file *file);

/** gmem_file_page_size() - bytes per page of @inode (4 KiB, 2 MiB or 1 GiB) */
static inline unsigned long gmem_page_size(const struct gmem_inode *inode)
{
	return PAGE_SIZE << inode->page_order;
}

/** gmem_nr_pages() - the file size in 4 KiB pages */
static inline pgoff_t gmem_nr_pages(const struct gmem_inode *inode)
{
	return (pgoff_t)inode->size >> PAGE_SHIFT;
}

/**
 * kvm_gmem_dump() - the state a failed operation must leave unchanged
 * @inode: the inode
 * @f: where to write: filemap entries, maple ranges, i_bytes, pool counters
 *
 * Context: any.
 */
GS_API void kvm_gmem_dump(struct gmem_inode *inode, FILE *f);

struct gs_state;

/**
 * kvm_gmem_dump_state() - kvm_gmem_dump() as records of a state snapshot
 * @st: the snapshot (<gmemsim/state.h>)
 * @path: where the inode's records go ("objects/g")
 * @inode: the inode
 *
 * Context: any.
 */
GS_API void kvm_gmem_dump_state(struct gs_state *st, const char *path, struct gmem_inode *inode);

/**
 * struct kvm_gmem_run - indices [@start, @end) of a file in one state
 * @start: first index
 * @end: one past the last index
 * @allocated: folios of the page cache hold them
 * @order: those folios' order (0 when not allocated)
 * @mapcount: each of those folios' host map count
 * @poisoned: each of those folios has a hwpoisoned page
 * @attr: shareability: 0 shared, 1 private, 2 missing or not a known value
 *
 * What kvm_gmem_dump_state() writes as text records, without the text: the
 * per-index view a checker reads after every operation.
 */
struct kvm_gmem_run {
	pgoff_t start, end;
	bool allocated;
	bool poisoned;
	unsigned int order;
	int mapcount;
	int attr;
};

/**
 * struct kvm_gmem_counters - a file's counters, as kvm_gmem_dump_state() writes them
 * @i_bytes: bytes the page cache's folios hold
 * @has_spool: the file has a HugeTLB subpool
 * @spool_used: its used huge pages
 * @spool_rsv: its reserved huge pages
 */
struct kvm_gmem_counters {
	unsigned long i_bytes;
	bool has_spool;
	long spool_used, spool_rsv;
};

/**
 * kvm_gmem_query() - read a range of a file's state as runs, without formatting
 * @inode: the inode
 * @start: first index
 * @end: one past the last index (clipped to the file's size)
 * @runs: filled from @start on, in order; a run lies inside one
 *	shareability range and covers one gap between folios or adjacent
 *	folios of one order and state (a split page's pieces: one run)
 * @max: room in @runs
 *
 * Read-only: a checker's view of the state (the oracle's, docs/ORACLE.md).
 * When @max runs do not reach the end, call again from the last run's end.
 *
 * Context: any; not concurrently with a change to the file.
 * Return: the number of runs filled (0 when @start >= @end after clipping).
 */
GS_API size_t kvm_gmem_query(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			     struct kvm_gmem_run *runs, size_t max);

/**
 * kvm_gmem_reset_ino() - number inodes from 1 again
 *
 * For a persistent runner: its next input sees the inode numbers a fresh
 * process sees (stat's st_ino, the state dump).
 *
 * Context: no guest_memfd inode exists.
 * Return: 0, or -EBUSY while one does (nothing changes).
 */
GS_API int kvm_gmem_reset_ino(void);

/**
 * kvm_gmem_query_counters() - read a file's counters, without formatting
 * @inode: the inode
 * @c: filled
 *
 * Context: any.
 */
GS_API void kvm_gmem_query_counters(struct gmem_inode *inode, struct kvm_gmem_counters *c);

/* --- fallocate (lib/gmem_falloc.c) --- */

/**
 * kvm_gmem_fallocate() - fallocate() on a guest_memfd file
 * @file: the file
 * @mode: KEEP_SIZE, optionally with PUNCH_HOLE
 * @offset: byte offset
 * @len: byte length
 *
 * The generic vfs_fallocate() checks first (EINVAL, EOPNOTSUPP, EFBIG),
 * then guest_memfd's own (EOPNOTSUPP without KEEP_SIZE or with another
 * mode, EINVAL when not aligned to the file's page size, EINVAL for an
 * allocation past i_size).
 *
 * Context: process context (may sleep).
 * Return: 0 or a negative errno. An allocation failing with -ENOMEM
 * leaves nothing allocated by this call.
 */
GS_API int kvm_gmem_fallocate(struct gmem_file *file, int mode, loff_t offset, loff_t len);

/* --- memslot bindings (lib/gmem.c) --- */

/**
 * kvm_gmem_bind() - bind file pages to a memslot (KVM_SET_USER_MEMORY_REGION2)
 * @file: the file
 * @vm: the VM creating the slot
 * @slot: the slot
 * @offset: guest_memfd_offset in bytes
 * @npages: the slot's size in pages
 *
 * Context: process context.
 * Return: 0; -EINVAL for a file of another VM, a negative or unaligned
 * offset, a range past i_size or a page bound to another slot; -ENOMEM.
 */
GS_API int kvm_gmem_bind(struct gmem_file *file, const struct gs_gmem_vm_info *vm,
			 struct kvm_memory_slot *slot, loff_t offset, unsigned long npages);

/**
 * kvm_gmem_unbind() - forget the binding of [@start, @start + @npages)
 * @file: the file, or NULL once it was released (nothing to do)
 * @start: first file page
 * @npages: pages
 *
 * Context: process context.
 */
GS_API void kvm_gmem_unbind(struct gmem_file *file, pgoff_t start, unsigned long npages);

/* --- host side (lib/gmem_fault.c) --- */

/**
 * kvm_gmem_mmap() - mmap() of a guest_memfd file
 * @file: the file
 * @pgoff: first file page (4 KiB)
 * @nr_pages: length in 4 KiB pages
 * @shared: MAP_SHARED (false: MAP_PRIVATE)
 * @vmap: set to the mapping
 *
 * Context: process context.
 * Return: 0; -ENODEV without GUEST_MEMFD_FLAG_MMAP; -EINVAL for a private
 * mapping or a zero length; -ENOMEM.
 */
GS_API int kvm_gmem_mmap(struct gmem_file *file, pgoff_t pgoff, unsigned long nr_pages, bool shared,
			 struct gmem_vma **vmap);

/** kvm_gmem_munmap() - remove a mapping, its page mappings and its file reference */
GS_API void kvm_gmem_munmap(struct gmem_vma *vma);

/**
 * kvm_gmem_vma_split_prepare() - allocate the piece of @vma from page @at on
 * @vma: the mapping
 * @at: the first page of the new piece (0 < @at < @vma->nr_pages)
 * @tailp: set to the piece: file offset @vma->pgoff + @at, a copy of the
 *         page-table entries from @at, not yet in use
 *
 * __split_vma()'s allocations, made before anything changes: hand the piece
 * to kvm_gmem_vma_split_commit() or kvm_gmem_vma_split_abort().
 *
 * Context: process context.
 * Return: 0; -EINVAL for @at outside the mapping; -ENOMEM (nothing changed).
 */
GS_API int kvm_gmem_vma_split_prepare(struct gmem_vma *vma, unsigned long at,
				      struct gmem_vma **tailp);

/** kvm_gmem_vma_split_abort() - free a prepared piece that is not used */
GS_API void kvm_gmem_vma_split_abort(struct gmem_vma *tail);

/**
 * kvm_gmem_vma_split_commit() - split @vma in two at a prepared piece
 * @vma: the mapping; keeps its head
 * @tail: from kvm_gmem_vma_split_prepare() on @vma, with nothing changed since
 *
 * The tail's page-table entries, their mapcounts and references move to
 * @tail, which takes its own reference on the file.
 *
 * Context: process context. Cannot fail.
 */
GS_API void kvm_gmem_vma_split_commit(struct gmem_vma *vma, struct gmem_vma *tail);

/**
 * kvm_gmem_vma_trim() - shrink @vma to its first @nr_pages pages
 * @vma: the mapping
 * @nr_pages: 1 to @vma->nr_pages
 *
 * munmap() of a mapping's tail: the pages past @nr_pages are unmapped.
 *
 * Context: process context. Cannot fail.
 */
GS_API void kvm_gmem_vma_trim(struct gmem_vma *vma, unsigned long nr_pages);

/**
 * kvm_gmem_fault() - a host fault on page @addr_page of @vma
 * @vma: the mapping
 * @addr_page: page index within the mapping
 *
 * Context: process context.
 * Return: 0 (mapped), VM_FAULT_SIGBUS (past i_size or a private index),
 * VM_FAULT_HWPOISON (a poisoned page) or VM_FAULT_OOM.
 */
GS_API vm_fault_t kvm_gmem_fault(struct gmem_vma *vma, unsigned long addr_page);

/**
 * kvm_gmem_access() - read or write bytes through a host mapping
 * @vma: the mapping
 * @off: byte offset within the mapping
 * @buf: source or destination
 * @len: bytes
 * @write: direction
 * @done: set to the bytes copied before any fault that failed
 *
 * Like a memcpy() by the host process: pages are faulted in as touched.
 *
 * Context: process context.
 * Return: 0, or the vm_fault_t of the fault that stopped the copy.
 */
GS_API vm_fault_t kvm_gmem_access(struct gmem_vma *vma, unsigned long off, void *buf, size_t len,
				  bool write, size_t *done);

/**
 * kvm_gmem_pin() - pin_user_pages(FOLL_LONGTERM) of one page of @vma
 * @vma: the mapping
 * @addr_page: page index within the mapping
 * @pagep: set to the pinned page
 *
 * Context: process context.
 * Return: 0, -EFAULT where the fault would SIGBUS, -EHWPOISON, -ENOMEM.
 */
GS_API int kvm_gmem_pin(struct gmem_vma *vma, unsigned long addr_page, struct page **pagep);

/** kvm_gmem_unpin() - unpin_user_page() */
GS_API void kvm_gmem_unpin(struct page *page);

/**
 * kvm_gmem_get_pfn() - the pfn backing file page @index, for the guest
 * @file: the file
 * @index: file page (4 KiB)
 * @pfn: set to the pfn
 * @max_order: set to the largest mapping order the folio allows
 *
 * Allocates on demand and zeroes on first use. Takes no lasting reference:
 * the simulated stage-2 relies on invalidation, as KVM's MMU notifier does.
 * A private page (spec P12; under per-VM attributes every page, as upstream
 * before v8) then goes through the arch prepare hook of the slot bound at
 * @index (gmem_kvm_ops.gmem_prepare), over the whole folio, on every call:
 * upstream keeps no "prepared" state in guest_memfd, the arch does.
 * @max_order is the folio order, capped on HugeTLB files by the mapping
 * order (0 unless the huge page holding @index is all private; under the
 * wip ordering the range starts at @index itself: spec P39).
 *
 * Context: process context.
 * Return: 0; -EIO past i_size; -ENOMEM; -EHWPOISON for a poisoned page;
 * the arch prepare hook's error (the folio stays, zeroed).
 */
GS_API int kvm_gmem_get_pfn(struct gmem_file *file, pgoff_t index, unsigned long *pfn,
			    int *max_order);

/**
 * kvm_gmem_range_shareability() - the shareability of file pages [@start, @end)
 * @inode: the inode
 * @start: first page
 * @end: past the last page
 *
 * What KVM's huge-page attribute tracking asks of guest_memfd under single
 * backing: a leaf may cover the range only if every page has one value.
 *
 * Context: the filemap invalidate lock (shared) or stronger.
 * Return: SHAREABILITY_GUEST or SHAREABILITY_ALL when the whole range has
 * that value; 0 when it is mixed or reaches past the file.
 */
GS_API int kvm_gmem_range_shareability(struct gmem_inode *inode, pgoff_t start, pgoff_t end);

/**
 * kvm_gmem_error_page() - memory failure on file page @index
 * @file: the file
 * @index: file page (4 KiB)
 *
 * Marks the folio hwpoisoned, records which raw page is bad
 * (folio_set_hugetlb_hwpoison()), and unmaps the folio from the host; it
 * stays in the filemap (MF_DELAYED). A later split keeps only the piece
 * holding the bad page poisoned; a freed poisoned HugeTLB folio never goes
 * back to its pool's use (free_huge_folio()).
 *
 * Context: process context.
 * Return: 0, or -ENOENT when no folio backs @index.
 */
GS_API int kvm_gmem_error_page(struct gmem_file *file, pgoff_t index);

/**
 * typedef kvm_gmem_populate_cb - the arch's post_populate step of kvm_gmem_populate()
 * @slot: the slot
 * @index: the file page
 * @pfn: the pfn now backing it
 * @src: the source page (4 KiB), NULL when the data is already in place (P16)
 * @opaque: the caller's argument
 *
 * Return: 0 or a negative errno.
 */
typedef int (*kvm_gmem_populate_cb)(struct kvm_memory_slot *slot, pgoff_t index, unsigned long pfn,
				    const void *src, void *opaque);

/**
 * __kvm_gmem_populate() - one page of kvm_gmem_populate()
 * @file: the file bound to @slot
 * @slot: the slot
 * @index: file page (4 KiB)
 * @private: the page's gfn has the PRIVATE attribute (the caller asks KVM)
 * @eexist: the 6.8-6.1x rule: a folio already uptodate is -EEXIST
 * @src: the source page, or NULL
 * @post_populate: the arch step (copy in, measure, make private)
 * @opaque: its argument
 *
 * In upstream's order: the binding (-EIO), the folio, allocated if missing
 * (-ENOMEM; it stays on any later failure, as in the kernel), hwpoison
 * (-EHWPOISON), the PRIVATE attribute (-EINVAL), then the folio is zeroed if
 * it never was (P10), @post_populate runs and, on success, the folio is
 * marked uptodate. Current upstream has no already-populated check: a page
 * populated again runs @post_populate again.
 *
 * Context: process context; the filemap invalidate lock in the kernel.
 * Return: 0 or a negative errno.
 */
GS_API int __kvm_gmem_populate(struct gmem_file *file, struct kvm_memory_slot *slot, pgoff_t index,
			       bool private, bool eexist, const void *src,
			       kvm_gmem_populate_cb post_populate, void *opaque);

/**
 * struct gs_gmem_pfn_stats - what kvm_gmem_get_pfn() and populate did since the last reset
 * @get_pfn: successful or not, calls that found or made a folio
 * @prepare_calls: arch prepare hook calls (private pages only, P12)
 * @prepare_shared: calls on a shared page, which skip the hook
 * @prepare_errors: hook calls that failed (get_pfn returned the error)
 * @mapping_order_short: HugeTLB get_pfn calls whose max_order the wip
 *              ordering's mapping-order rule (P39) made lower than the
 *              rounded-down rule would (the bug's only effect: a smaller
 *              stage-2 leaf)
 * @populated: pages __kvm_gmem_populate() completed
 * @populate_errors: its failures
 */
struct gs_gmem_pfn_stats {
	unsigned long get_pfn, prepare_calls, prepare_shared, prepare_errors;
	unsigned long mapping_order_short, populated, populate_errors;
};

/**
 * gs_gmem_pfn_stats() - the get_pfn, prepare and populate counters
 * @reset: zero them after reading
 *
 * Context: any.
 * Return: the counters as they were.
 */
GS_API struct gs_gmem_pfn_stats gs_gmem_pfn_stats(bool reset);

/**
 * kvm_gmem_mapping_order() - the largest mapping @index's huge page allows
 * @file: the file
 * @index: file page (4 KiB)
 *
 * The HugeTLB branch's rule: the page order when the huge page is all
 * private, else 0 (4 KiB files: 0). Under the wip ordering the range
 * checked starts at @index instead of its huge page's start (spec P39, a
 * bug of that branch), so it reaches into the next huge page, or past the
 * file's end.
 *
 * Context: the filemap invalidate lock (shared) or stronger.
 * Return: the order.
 */
GS_API unsigned int kvm_gmem_mapping_order(struct gmem_file *file, pgoff_t index);

/* --- in-place conversion (lib/guest_memfd/gmem_convert.c) --- */

struct gs_kvm_memory_attributes2;

/**
 * kvm_gmem_ioctl() - an ioctl on a guest_memfd fd (kvm_gmem_ioctl() of v8)
 * @file: the file
 * @cmd: the request
 * @uarg: the user's argument; NULL stands for an unmapped address
 *
 * Only KVM_SET_MEMORY_ATTRIBUTES2 exists, and only under in-place
 * conversion; its 128-byte argument is copied in, and its error_offset is
 * copied back only when the conversion itself failed (ENOMEM, EAGAIN).
 *
 * Context: process context (may sleep).
 * Return: 0; -ENOTTY (another request, or in-place conversion off);
 * -EFAULT; errors of kvm_gmem_set_attributes().
 */
GS_API int kvm_gmem_ioctl(struct gmem_file *file, unsigned long cmd, void *uarg);

/**
 * kvm_gmem_set_attributes() - convert file pages between shared and private
 * @file: the file
 * @attrs: the argument, already copied in; @attrs->error_offset is set on
 *         an ENOMEM or EAGAIN failure and left alone otherwise
 *
 * The argument checks of spec P6 in their order, then the v8 algorithm of
 * P7: a range that already has the value is done (before any reference is
 * looked at); the maple tree nodes are reserved (ENOMEM, error_offset = the
 * offset); to private, the host mappings of the range go and every folio
 * must hold only the page cache's references plus the lookup's (one LRU
 * drain and a retry, then EAGAIN at max(offset, folio start)); then, past
 * the point of no return, the guest mappings of the range are invalidated,
 * to shared runs the arch invalidate hook, and the value is stored. Page
 * contents are never touched. All or nothing.
 *
 * Context: process context; the filemap invalidate lock (exclusive) in the
 * kernel, nothing here (the simulator runs one thread).
 * Return: 0; -ENOTTY (in-place conversion off); -EINVAL; -ENOMEM; -EAGAIN.
 */
GS_API int kvm_gmem_set_attributes(struct gmem_file *file, struct gs_kvm_memory_attributes2 *attrs);

/**
 * struct gs_gmem_convert_stats - what conversions did since the last reset
 * @calls: kvm_gmem_set_attributes() calls that passed the argument checks
 * @noop: of those, ranges that already had the value
 * @converted: conversions that changed the attributes
 * @pages: 4 KiB pages those conversions covered
 * @enomem: failures of the maple tree reservation
 * @eagain: failures of the refcount check
 * @lru_drains: lru_add_drain_all() calls of the refcount check's retry
 * @invalidations: invalidate begin/end pairs (one per committed conversion)
 * @arch_invalidate_pfns: pfns handed to the arch invalidate hook (to shared)
 * @splits: huge folios a conversion split to order 0 (HugeTLB files)
 * @merges: huge pages a conversion merged back into one folio
 * @batches: huge-page batches committed (the wip ordering; 1 per call otherwise)
 * @partial: failed calls that left part of their work done (wip: earlier
 *           batches, or the failing batch's zap; rfc-v2: its items' zap;
 *           never planned, which prepares every split before it commits)
 * @failed_splits: folio splits or stage-2 leaf splits that failed
 * @rollbacks: rfc-v2 work items undone after a later item failed to apply
 * @rollback_oob: rfc-v2 rollback steps below the first work item (the
 *                reviewed loop's bug when the first item fails: a WARN each)
 */
struct gs_gmem_convert_stats {
	unsigned long calls, noop, converted, pages, enomem, eagain;
	unsigned long lru_drains, invalidations, arch_invalidate_pfns;
	unsigned long splits, merges, batches, partial, failed_splits;
	unsigned long rollbacks, rollback_oob;
};

/**
 * gs_gmem_conversion_name() - the scenario name of an ordering
 * @c: the ordering
 *
 * Context: any.
 * Return: "planned", "v8", "wip", "rfc-v2", or "?".
 */
GS_API const char *gs_gmem_conversion_name(enum gs_gmem_conversion c);

/**
 * gs_gmem_convert_stats() - the conversion counters
 * @reset: zero them after reading
 *
 * Context: any.
 * Return: the counters as they were.
 */
GS_API struct gs_gmem_convert_stats gs_gmem_convert_stats(bool reset);

/**
 * gs_lru_add_folio() - park @folio in the simulated per-CPU LRU batch
 * @folio: the folio; the batch takes a reference until the next drain
 *
 * The kernel's folio_add_lru() holds such a reference until its batch is
 * drained; nothing in guest_memfd parks folios by itself, so tests and
 * scenarios use this to make a reference only lru_add_drain_all() drops.
 * A full batch is drained first, as folio_batch_add() does.
 *
 * Context: any.
 */
GS_API void gs_lru_add_folio(struct folio *folio);

/**
 * lru_add_drain_all() - drop every reference the LRU batch holds
 *
 * Context: process context.
 */
GS_API void lru_add_drain_all(void);

/**
 * kvm_gmem_set_policy() - the memory policy of pages of a mapping
 * @vma: a mapping of a guest_memfd file
 * @first: the first page, counted from the start of the mapping
 * @nr: pages, all inside the mapping
 * @pol: the policy; NULL or MPOL_DEFAULT: none (the task's, local)
 *
 * What mbind() reaches through the mapping's ->set_policy: the file's
 * shared policy for those file pages (mpol_set_shared_policy()). Pages
 * already allocated stay where they are.
 *
 * Context: process context (may sleep).
 * Return: 0, -EINVAL for a range outside the mapping, -ENOMEM (nothing
 * changed).
 */
GS_API int kvm_gmem_set_policy(struct gmem_vma *vma, pgoff_t first, pgoff_t nr,
			       const struct mempolicy *pol);

/**
 * kvm_gmem_get_policy() - the policy of one page of a mapping (->get_policy)
 * @vma: a mapping of a guest_memfd file
 * @page: the page, counted from the start of the mapping
 *
 * Context: any.
 * Return: the policy (valid until the next change), NULL for none.
 */
GS_API const struct mempolicy *kvm_gmem_get_policy(const struct gmem_vma *vma, pgoff_t page);

#endif /* GMEMSIM_GMEM_H */
