// SPDX-License-Identifier: MIT
/*
 * In-place conversion of guest_memfd pages between shared and private: the
 * KVM_SET_MEMORY_ATTRIBUTES2 ioctl on the guest_memfd fd, as the v8 series
 * of "guest_memfd: In-place conversion support" adds it to
 * virt/kvm/guest_memfd.c (kvm_gmem_ioctl(), kvm_gmem_set_attributes() and
 * the helpers behind them). Spec: ../shared/spec/guest_memfd.md P6-P13;
 * the flow beside the kernel's function names is docs/CONVERSION.md.
 *
 * The attributes are the inode's shareability maple tree (gmem.c creates
 * it over the whole file). Every step that can fail runs before the point
 * of no return, so a failed call leaves the tree, the folios and the guest
 * mappings as they were; only the host mappings of a failed to-private
 * conversion stay unmapped, as in the kernel (they fault back in).
 *
 * Also here: the simulated per-CPU LRU batch (gs_lru_add_folio(),
 * lru_add_drain_all()) whose references the refcount check drains once.
 *
 * 4 KiB files only: a HugeTLB file answers EOPNOTSUPP until the HugeTLB
 * restructuring provides the split that gmem_convert_prepare_huge() is the
 * place for.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/trace.h>

#include <gmemsim/internal/gmem_int.h>

static struct gs_gmem_convert_stats stats;

struct gs_gmem_convert_stats gs_gmem_convert_stats(bool reset)
{
	struct gs_gmem_convert_stats old = stats;

	if (reset)
		stats = (struct gs_gmem_convert_stats){0};
	return old;
}

/* --- the per-CPU LRU batch (mm/swap.c), one CPU's worth --- */

/* PAGEVEC_SIZE / the folio_batch's capacity. */
#define LRU_BATCH_SIZE 31

static struct folio *lru_batch[LRU_BATCH_SIZE];
static unsigned int lru_nr;

void lru_add_drain_all(void)
{
	while (lru_nr)
		folio_put(lru_batch[--lru_nr]);
}

void gs_lru_add_folio(struct folio *folio)
{
	if (lru_nr == LRU_BATCH_SIZE)
		lru_add_drain_all();
	folio_get(folio);
	lru_batch[lru_nr++] = folio;
}

/* --- argument checks (spec P6) --- */

static bool gmem_in_place_conversion(const struct gmem_file *file)
{
	return file->vm && file->vm->in_place_conversion;
}

/* P6.2-P6.8 in the kernel's order; the copy (P6.1) is the caller's. */
static int gmem_check_attributes(const struct gmem_file *file,
				 const struct gs_kvm_memory_attributes2 *a)
{
	uint64_t size = (uint64_t)file->inode->size;

	if (a->flags)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(a->reserved); i++)
		if (a->reserved[i])
			return -EINVAL;
	if (!file->vm->has_private_mem)
		return -EINVAL;
	if (a->attributes & ~GS_KVM_MEMORY_ATTRIBUTE_PRIVATE)
		return -EINVAL;
	if (!a->size || a->offset + a->size < a->offset)
		return -EINVAL;
	if (a->offset % PAGE_SIZE || a->size % PAGE_SIZE)
		return -EINVAL;
	if (a->offset >= size || a->offset + a->size > size)
		return -EINVAL;
	return 0;
}

/* --- before the point of no return: every step that can fail --- */

/*
 * The range the new value is stored over: [start, end) widened to the
 * neighbouring ranges that already hold it, so the tree keeps equal
 * neighbours merged (spec P1).
 */
static void convert_store_range(struct gmem_inode *inode, pgoff_t start, pgoff_t end, void *entry,
				unsigned long *first, unsigned long *last)
{
	struct maple_tree *mt = &inode->shareability;

	*first = start;
	*last = end - 1;
	if (start && mtree_load(mt, start - 1) == entry) {
		MA_STATE(mas, mt, start - 1, start - 1);

		mas_walk(&mas);
		*first = mas.index;
	}
	if (end < gmem_nr_pages(inode) && mtree_load(mt, end) == entry) {
		MA_STATE(mas, mt, end, end);

		mas_walk(&mas);
		*last = mas.last;
	}
}

/*
 * Where a HugeTLB file will split the huge folios the range cuts (spec
 * P34, P40); until that lands, conversion is for 4 KiB files.
 */
static int gmem_convert_prepare_huge(struct gmem_inode *inode)
{
	return inode->page_order ? -EOPNOTSUPP : 0;
}

/*
 * The kernel's page cache holds folio_nr_pages() references on a folio
 * (__filemap_add_folio()), and so does the model's filemap (gmem.c); with the
 * lookup's own reference, a folio nobody else holds has nr + 1.
 */
static bool folio_safe_for_conversion(struct folio *folio)
{
	return folio_ref_count(folio) == (int)folio_nr_pages(folio) + 1;
}

/* One folio's check under the lookup reference; *drained: the one retry is used. */
static bool folio_check_refs(struct folio *folio, bool *drained)
{
	bool safe;

	folio_get(folio);
	safe = folio_safe_for_conversion(folio);
	if (!safe && !*drained) {
		/* A per-CPU LRU batch may hold the only extra reference. */
		lru_add_drain_all();
		stats.lru_drains++;
		*drained = true;
		safe = folio_safe_for_conversion(folio);
	}
	folio_put(folio);
	return safe;
}

/* To private: no folio of [start, end) may be referenced beyond the page cache. */
static int gmem_convert_check_refs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				   pgoff_t *err_index)
{
	bool drained = false;
	unsigned long index;
	struct folio *folio;

	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		if (folio_check_refs(folio, &drained))
			continue;
		/* v8: never below the requested offset, even for a folio starting earlier. */
		*err_index = folio->index > start ? folio->index : start;
		return -EAGAIN;
	}
	return 0;
}

/* --- after the point of no return: nothing fails --- */

/*
 * kvm_gmem_invalidate_begin() for a conversion: every slot bound to the
 * range starts an invalidation (faults there retry until the end) and loses
 * the guest mappings of the kinds in @filter, which the caller computed from
 * the attributes before storing the new ones (spec P13). The one place a
 * conversion reaches KVM's MMU.
 */
static void gmem_convert_invalidate_begin(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
					  unsigned int filter)
{
	stats.invalidations++;
	kvm_gmem_invalidate_begin(inode, start, end, filter);
}

/* kvm_gmem_invalidate_end(): faults on the range may map again. */
static void gmem_convert_invalidate_end(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	kvm_gmem_invalidate_end(inode, start, end);
}

/*
 * kvm_arch_gmem_invalidate(): the arch learns that [start, end) pfns go
 * back to the host (SNP makes them shared in the RMP). sw_protected VMs
 * have no hook; the pfns are counted so tests see the call happen.
 */
static void kvm_arch_gmem_invalidate(unsigned long start, unsigned long end)
{
	stats.arch_invalidate_pfns += end - start;
}

/* To shared: the arch hook for every allocated pfn of [start, end). */
static void gmem_convert_arch_invalidate(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	unsigned long index;
	struct folio *folio;

	xa_for_each_range (&inode->filemap, index, folio, start, end - 1) {
		pgoff_t first = folio->index > start ? folio->index : start;
		pgoff_t last = folio->index + folio_nr_pages(folio);

		if (last > end)
			last = end;
		kvm_arch_gmem_invalidate(folio_pfn(folio) + (first - folio->index),
					 folio_pfn(folio) + (last - folio->index));
	}
}

static void gmem_convert_commit(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				bool to_private, struct ma_state *mas, void *entry)
{
	gmem_convert_invalidate_begin(inode, start, end,
				      kvm_gmem_get_invalidate_filter(inode, start, end));
	if (!to_private)
		gmem_convert_arch_invalidate(inode, start, end);
	mas_store_prealloc(mas, entry);
	gmem_convert_invalidate_end(inode, start, end);
	stats.converted++;
	stats.pages += end - start;
}

/*
 * The conversion of file pages [start, end) (spec P7). On failure
 * *err_index is the page error_offset names.
 */
static int __kvm_gmem_set_attributes(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				     bool to_private, pgoff_t *err_index)
{
	enum kvm_gmem_shareability want = to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL;
	void *entry = xa_mk_value(want);
	unsigned long first, last;
	int err;

	stats.calls++;
	/* Before any reference is looked at: a pinned private page stays convertible to private. */
	if (kvm_gmem_range_shareability(inode, start, end) == (int)want) {
		stats.noop++;
		return 0;
	}
	err = gmem_convert_prepare_huge(inode);
	if (err)
		return err;
	*err_index = start;
	convert_store_range(inode, start, end, entry, &first, &last);
	MA_STATE(mas, &inode->shareability, first, last);
	if (mas_preallocate(&mas, entry, GFP_KERNEL)) {
		stats.enomem++;
		return -ENOMEM;
	}
	if (to_private) {
		kvm_gmem_unmap_host(inode, start, end);
		err = gmem_convert_check_refs(inode, start, end, err_index);
		if (err) {
			mas_destroy(&mas);
			stats.eagain++;
			return err;
		}
	}
	/* Point of no return: from here on nothing fails and nothing is undone. */
	gmem_convert_commit(inode, start, end, to_private, &mas, entry);
	return 0;
}

/* kvm_gmem_set_attributes() with the failure's page, or ULONG_MAX when none applies. */
static int gmem_set_attributes(struct gmem_file *file, const struct gs_kvm_memory_attributes2 *a,
			       pgoff_t *err_index)
{
	bool to_private = a->attributes & GS_KVM_MEMORY_ATTRIBUTE_PRIVATE;
	int err;

	*err_index = ULONG_MAX;
	if (!gmem_in_place_conversion(file))
		return -ENOTTY;
	err = gmem_check_attributes(file, a);
	if (err)
		return err;
	err = __kvm_gmem_set_attributes(file->inode, a->offset >> PAGE_SHIFT,
					(a->offset + a->size) >> PAGE_SHIFT, to_private, err_index);
	gs_trace("gmem.convert", GS_TF_U("ino", file->inode->ino), GS_TF_X("offset", a->offset),
		 GS_TF_X("size", a->size), GS_TF_STR("to", to_private ? "private" : "shared"),
		 GS_TF_S("ret", err));
	return err;
}

int kvm_gmem_set_attributes(struct gmem_file *file, struct gs_kvm_memory_attributes2 *attrs)
{
	pgoff_t err_index;
	int err = gmem_set_attributes(file, attrs, &err_index);

	if (err && err_index != ULONG_MAX)
		attrs->error_offset = (uint64_t)err_index << PAGE_SHIFT;
	return err;
}

int kvm_gmem_ioctl(struct gmem_file *file, unsigned long cmd, void *uarg)
{
	struct gs_kvm_memory_attributes2 attrs;
	pgoff_t err_index;
	int err;

	if (cmd != GS_KVM_SET_MEMORY_ATTRIBUTES2 || !gmem_in_place_conversion(file))
		return -ENOTTY;
	/* copy_from_user(): NULL stands for every unmapped user address. */
	if (!uarg)
		return -EFAULT;
	memcpy(&attrs, uarg, sizeof(attrs));
	err = gmem_set_attributes(file, &attrs, &err_index);
	/* Only the field is written back, and only when the conversion failed. */
	if (err && err_index != ULONG_MAX) {
		uint64_t off = (uint64_t)err_index << PAGE_SHIFT;

		memcpy((char *)uarg + offsetof(struct gs_kvm_memory_attributes2, error_offset),
		       &off, sizeof(off));
	}
	return err;
}
