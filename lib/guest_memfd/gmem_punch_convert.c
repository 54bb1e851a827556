// SPDX-License-Identifier: MIT
/*
 * Conversion by discarding (the punch-hole strategy, seed 002): instead of
 * converting memory in place, the range is punched as fallocate(PUNCH_HOLE)
 * punches it, and the next fault allocates new memory of the new attribute,
 * which reads zero. This is what a VMM did before in-place conversion
 * (KVM_SET_MEMORY_ATTRIBUTES, then a discard of the old side): contents are
 * lost, and every 4 KiB conversion inside a 2 MiB folio splits it and frees
 * a page, leaving a 4 KiB hole in a 2 MiB block of the buddy allocator that
 * no new THP can use. docs/STRATEGIES.md, "punch-hole", shows the cost.
 * No kernel code is mirrored beyond kvm_gmem_punch_hole()'s steps.
 *
 * Called by gmem_convert.c, with the attribute store already prepared;
 * calls down into gmem_thp.c and gmem_truncate.c.
 */
#include <gmemsim/gmem.h>
#include <gmemsim/trace.h>

#include <gmemsim/internal/gmem_int.h>

int kvm_gmem_punch_convert(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	unsigned int filter = kvm_gmem_get_invalidate_filter(inode, start, end);
	pgoff_t s = start, e = end;
	int err;

	/* A THP across an edge is split first; one that cannot be is zeroed in part. */
	err = kvm_gmem_thp_trim(inode, &s, &e);
	if (!err)
		err = kvm_gmem_merge_truncate_range(inode, s, e, true);
	gs_trace("gmem.punch_convert", GS_TF_U("ino", inode->ino), GS_TF_X("start", start),
		 GS_TF_X("end", end), GS_TF_S("ret", err));
	if (err)
		return err;
	/*
	 * A zeroed part stays in the file but changes side: nobody may keep
	 * mapping it as the old kind, in the guest or in the host.
	 */
	if (s != start || e != end) {
		kvm_gmem_invalidate_begin(inode, start, end, filter);
		kvm_gmem_unmap_host(inode, start, end);
		kvm_gmem_invalidate_end(inode, start, end);
	}
	return 0;
}
