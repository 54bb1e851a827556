// SPDX-License-Identifier: MIT
/*
 * guest_memfd fallocate(): allocation and punch hole (kvm_gmem_fallocate(),
 * kvm_gmem_allocate() and kvm_gmem_punch_hole() of virt/kvm/guest_memfd.c,
 * after the generic vfs_fallocate() checks). Granularity is the file's page
 * size (the HugeTLB design); an allocation that runs out of memory is undone
 * completely. A hole is a truncation (gmem_truncate.c).
 */
#include <errno.h>

#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/physmem.h>

#include <gmemsim/internal/gmem_int.h>
#include <gmemsim/internal/page_alloc.h>

/* vfs_fallocate()'s checks, which run before the file's own. */
static int vfs_fallocate_check(int mode, loff_t offset, loff_t len)
{
	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~GS_FALLOC_FL_SUPPORTED_MASK)
		return -EOPNOTSUPP;
	if ((mode & GS_FALLOC_FL_PUNCH_HOLE) && !(mode & GS_FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (offset > GS_MAX_LFS_FILESIZE - len)
		return -EFBIG;
	return 0;
}

static int gmem_punch_hole(struct gmem_inode *inode, loff_t offset, loff_t len)
{
	pgoff_t start = (pgoff_t)offset >> PAGE_SHIFT;
	pgoff_t end = (pgoff_t)(offset + len) >> PAGE_SHIFT;
	int err;

	/* No upper bound: a hole at or past i_size punches nothing. */
	if (end > gmem_nr_pages(inode))
		end = gmem_nr_pages(inode);
	/* A THP across an edge is split, or zeroed in part where it cannot be. */
	err = kvm_gmem_thp_trim(inode, &start, &end);
	if (err)
		return err;
	/* Split huge pages must merge: EAGAIN while a piece is pinned (P36). */
	return kvm_gmem_merge_truncate_range(inode, start, end, true);
}

/*
 * Undo an allocation that failed: drop the folios this call added. Nothing
 * can map them yet, so nothing is invalidated: a stage-2 leaf over those
 * pages maps the slot's userspace_addr, not the file, and stays.
 */
static void gmem_allocate_undo(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			       const unsigned long *added)
{
	unsigned long step = 1UL << inode->page_order;

	for (pgoff_t index = start, i = 0; index < end; index += step, i++)
		if (added[i / BITS_PER_LONG] & (1UL << (i % BITS_PER_LONG))) {
			kvm_gmem_merge_for_undo(inode, index);
			kvm_gmem_truncate_unmapped(inode, index, index + step);
		}
}

/*
 * Base pages cannot cover what the range still lacks: the loop would end in
 * ENOMEM after allocating the whole machine and undoing it. Answer that up
 * front, without looping in proportion to the caller's length. HugeTLB files
 * allocate from the subpool reserved at creation, so only base pages count.
 */
static bool gmem_allocate_cannot_fit(const struct gmem_inode *inode, pgoff_t nr)
{
	unsigned long held = inode->i_bytes >> PAGE_SHIFT;

	/* The 4 KiB allocator's free pages count too: a fragmented machine still has them. */
	return !inode->page_order && nr > held &&
	       nr - held > gs_physmem_free_pages() + gs_page_alloc_nr_free();
}

static int gmem_allocate(struct gmem_inode *inode, loff_t offset, loff_t len)
{
	unsigned long step = 1UL << inode->page_order;
	pgoff_t start = (pgoff_t)offset >> PAGE_SHIFT;
	pgoff_t end = (pgoff_t)(offset + len) >> PAGE_SHIFT;
	unsigned long nr = (end - start) / step, i = 0;
	size_t words = (nr + BITS_PER_LONG - 1) / BITS_PER_LONG;
	unsigned long *added;
	int err = 0;

	if (offset + len > inode->size)
		return -EINVAL;
	if (gmem_allocate_cannot_fit(inode, end - start))
		return -ENOMEM;
	/* Which folios this call adds: only those are undone on failure. */
	added = gs_alloc(GS_SITE_GMEM_FALLOC, words * sizeof(*added), GFP_KERNEL | __GFP_ZERO);
	if (!added)
		return -ENOMEM;
	inode->preallocating = true;
	for (pgoff_t index = start; index < end; index += step, i++) {
		if (xa_load(&inode->filemap, index))
			continue;
		if (!kvm_gmem_get_folio(inode, index, true, &err))
			break;
		added[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
	}
	inode->preallocating = false;
	if (err)
		gmem_allocate_undo(inode, start, end, added);
	gs_free(GS_SITE_GMEM_FALLOC, added, words * sizeof(*added));
	return err;
}

int kvm_gmem_fallocate(struct gmem_file *file, int mode, loff_t offset, loff_t len)
{
	struct gmem_inode *inode = file->inode;
	loff_t page = (loff_t)gmem_page_size(inode);
	int err = vfs_fallocate_check(mode, offset, len);

	if (err)
		return err;
	if (!(mode & GS_FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (offset % page || len % page)
		return -EINVAL;
	if (mode & GS_FALLOC_FL_PUNCH_HOLE)
		return gmem_punch_hole(inode, offset, len);
	return gmem_allocate(inode, offset, len);
}
