// SPDX-License-Identifier: MIT
/*
 * guest_memfd inode and file: creation (kvm_gmem_create() and the
 * __kvm_gmem_create() checks of virt/kvm/guest_memfd.c, plus the HugeTLB
 * design's page order and subpool), fstat, folio lookup and allocation
 * (kvm_gmem_get_folio()), release and eviction (kvm_gmem_release(),
 * kvm_gmem_evict_inode()), and the inode invariants.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/err.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/state.h>

#include <gmemsim/internal/gmem_int.h>

#include <gmemsim/internal/page_alloc.h>

static LIST_HEAD(gmem_inodes);
static unsigned long next_ino = 1;

uint64_t kvm_gmem_get_supported_flags(const struct gs_gmem_vm_info *vm)
{
	uint64_t flags = GS_GUEST_MEMFD_FLAG_MMAP;

	/* The system fd (no VM) answers with everything a VM could get. */
	if (!vm || vm->supports_init_shared)
		flags |= GS_GUEST_MEMFD_FLAG_INIT_SHARED;
	if (vm && vm->supports_hugetlb)
		flags |= GS_GUEST_MEMFD_FLAG_HUGETLB;
	/* Simulator-only, and only where the strategy gives the backing: not the system fd's. */
	if (vm && gmem_strategy_thp(vm))
		flags |= GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE;
	return flags;
}

/* The hstate a HUGETLB file of @page_order draws from, or NULL. */
static struct hstate *order_to_hstate(uint64_t page_order)
{
	if (page_order == 0 || page_order >= 64 - PAGE_SHIFT)
		return NULL;
	return size_to_hstate(PAGE_SIZE << page_order);
}

/* Creation's argument checks, in the order the HugeTLB branch runs them. */
static int gmem_check_create(const struct gs_gmem_vm_info *vm, loff_t size, uint64_t flags,
			     uint64_t page_order)
{
	bool hugetlb = flags & GS_GUEST_MEMFD_FLAG_HUGETLB;

	if (flags & ~kvm_gmem_get_supported_flags(vm))
		return -EINVAL;
	if (page_order && !hugetlb)
		return -EINVAL;
	if (hugetlb && (flags & GS_GUEST_MEMFD_FLAG_INIT_SHARED))
		return -EINVAL;
	if (hugetlb && !order_to_hstate(page_order))
		return -EINVAL;
	if (size <= 0 || size % (loff_t)(PAGE_SIZE << page_order))
		return -EINVAL;
	/* KVM_GUEST_MEMFD_ALLOW_HUGEPAGE's rules: no HugeTLB, a size of whole PMDs. */
	if ((flags & GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE) &&
	    (hugetlb || size % (loff_t)(PAGE_SIZE << 9)))
		return -EINVAL;
	return 0;
}

/*
 * The thp backing: a file of a VM whose strategy has it, asked for with
 * ALLOW_HUGEPAGE or, without the flag, whenever its size allows (whole
 * 2 MiB blocks); other files get 4 KiB folios.
 */
static bool gmem_wants_thp(const struct gs_gmem_vm_info *vm, loff_t size, uint64_t flags)
{
	if (!vm || !gmem_strategy_thp(vm) || (flags & GS_GUEST_MEMFD_FLAG_HUGETLB))
		return false;
	return (flags & GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE) || !(size % (loff_t)(PAGE_SIZE << 9));
}

static void gmem_inode_free(struct gmem_inode *inode)
{
	/* Every operation that reserves frees what is left when it ends. */
	if (WARN_ON(inode->merge_reserve))
		kvm_gmem_merge_reserve_free(inode);
	mtree_destroy(&inode->shareability);
	mpol_free_shared_policy(&inode->policy);
	if (inode->spool)
		hugepage_put_subpool(inode->spool);
	gs_free(GS_SITE_GMEM_INODE, inode, sizeof(*inode));
}

static int gmem_inode_init(struct gmem_inode *inode, const struct gs_gmem_vm_info *vm, loff_t size,
			   uint64_t flags, unsigned int page_order)
{
	enum kvm_gmem_shareability s =
		(flags & GS_GUEST_MEMFD_FLAG_INIT_SHARED) ? SHAREABILITY_ALL : SHAREABILITY_GUEST;

	mpol_shared_policy_init(&inode->policy);
	inode->size = size;
	inode->flags = flags;
	inode->page_order = page_order;
	inode->thp = gmem_wants_thp(vm, size, flags);
	inode->strategy = vm ? gmem_strategy_ops(vm) : NULL;
	inode->profile = vm ? vm->profile : GS_GMEM_PROFILE_DESIGN;
	inode->arch = vm ? vm->ops : NULL;
	inode->refs = 1;
	xa_init_flags(&inode->filemap, XA_FLAGS_ACCOUNT);
	inode->shareability = (struct maple_tree)MTREE_INIT(inode->shareability, 0);
	INIT_LIST_HEAD(&inode->vmas);
	INIT_LIST_HEAD(&inode->files);
	INIT_LIST_HEAD(&inode->list);
	if (flags & GS_GUEST_MEMFD_FLAG_HUGETLB) {
		struct hstate *h = order_to_hstate(page_order);
		struct hugepage_subpool *spool =
			hugetlb_gmem_new_subpool(h, (long)(size >> (PAGE_SHIFT + page_order)));

		if (IS_ERR(spool))
			return (int)PTR_ERR(spool);
		inode->spool = spool;
		/*
		 * Splits of this file's pages are possible from now on: have one
		 * restore's vmemmap resident beforehand (bounded, see hvo.h). If
		 * the host refuses, the split asks it again and reports that.
		 */
		(void)gs_hvo_fill_spares(page_order);
	}
	return mtree_store_range(&inode->shareability, 0, gmem_nr_pages(inode) - 1, xa_mk_value(s),
				 GFP_KERNEL);
}

int kvm_gmem_create(const struct gs_gmem_vm_info *vm, loff_t size, uint64_t flags,
		    uint64_t page_order, struct gmem_file **filep)
{
	struct gmem_inode *inode;
	struct gmem_file *file;
	int err = gmem_check_create(vm, size, flags, page_order);

	if (err)
		return err;
	inode = gs_alloc(GS_SITE_GMEM_INODE, sizeof(*inode), GFP_KERNEL | __GFP_ZERO);
	if (!inode)
		return -ENOMEM;
	err = gmem_inode_init(inode, vm, size, flags, (unsigned int)page_order);
	if (err)
		goto free_inode;
	file = gs_alloc(GS_SITE_GMEM_FILE, sizeof(*file), GFP_KERNEL | __GFP_ZERO);
	if (!file) {
		err = -ENOMEM;
		goto free_inode;
	}
	file->inode = inode;
	file->refs = 1;
	file->vm = vm;
	/* Every file holds its VM, so the VM outlives its fd while files are open. */
	if (vm && vm->ops && vm->ops->get)
		vm->ops->get(vm);
	xa_init(&file->bindings);
	list_add(&file->list, &inode->files);
	inode->ino = next_ino++;
	list_add_tail(&inode->list, &gmem_inodes);
	*filep = file;
	return 0;

free_inode:
	gmem_inode_free(inode);
	return err;
}

void kvm_gmem_fstat(const struct gmem_file *file, struct gs_gmem_stat *st)
{
	const struct gmem_inode *inode = file->inode;

	st->st_ino = inode->ino;
	st->st_mode = S_IFREG | 0600;
	st->st_size = inode->size;
	st->st_blksize = gmem_page_size(inode);
	st->st_blocks = inode->profile == GS_GMEM_PROFILE_UPSTREAM ? 0 : inode->i_bytes / 512;
}

/* Eviction: the last inode reference is gone; give every folio back. */
static void gmem_evict_inode(struct gmem_inode *inode)
{
	kvm_gmem_truncate_range(inode, 0, gmem_nr_pages(inode));
	WARN_ON(inode->i_bytes);
	xa_destroy(&inode->filemap);
	list_del(&inode->list);
	gmem_inode_free(inode);
}

static void gmem_inode_put(struct gmem_inode *inode)
{
	if (--inode->refs == 0)
		gmem_evict_inode(inode);
}

/*
 * The last reference to the file: every slot bound to it loses it and its
 * guest mappings (kvm_gmem_release()). The memory stays with the inode.
 */
static void gmem_release(struct gmem_file *file)
{
	struct kvm_memory_slot *slot, *prev = NULL;
	unsigned long index;

	xa_for_each (&file->bindings, index, slot) {
		if (slot != prev && file->vm && file->vm->ops)
			file->vm->ops->release(slot);
		prev = slot;
	}
	xa_destroy(&file->bindings);
	list_del(&file->list);
}

void kvm_gmem_fput(struct gmem_file *file)
{
	struct gmem_inode *inode = file->inode;

	const struct gs_gmem_vm_info *vm = file->vm;

	if (--file->refs)
		return;
	gmem_release(file);
	gs_free(GS_SITE_GMEM_FILE, file, sizeof(*file));
	gmem_inode_put(inode);
	if (vm && vm->ops && vm->ops->put)
		vm->ops->put(vm);
}

int kvm_gmem_bind(struct gmem_file *file, const struct gs_gmem_vm_info *vm,
		  struct kvm_memory_slot *slot, loff_t offset, unsigned long npages)
{
	struct gmem_inode *inode = file->inode;
	pgoff_t start = (pgoff_t)offset >> PAGE_SHIFT;
	unsigned long index = start;

	if (file->vm != vm)
		return -EINVAL;
	if (offset < 0 || offset % (loff_t)PAGE_SIZE)
		return -EINVAL;
	if (!npages || npages > gmem_nr_pages(inode) || start > gmem_nr_pages(inode) - npages)
		return -EINVAL;
	/* Two slots may share a file, not a page of it. */
	if (xa_find(&file->bindings, &index, start + npages - 1, XA_PRESENT))
		return -EINVAL;
	return xa_err(xa_store_range(&file->bindings, start, start + npages - 1, slot, GFP_KERNEL));
}

void kvm_gmem_unbind(struct gmem_file *file, pgoff_t start, unsigned long npages)
{
	if (file)
		xa_store_range(&file->bindings, start, start + npages - 1, NULL, GFP_KERNEL);
}

/* Zero a folio the first time it is used; guest_memfd never zeroes at allocation. */
void kvm_gmem_zero_folio(struct folio *folio)
{
	void *data = folio_address(folio);

	if (folio_test_uptodate(folio))
		return;
	/* TEST-ONLY: the oracle's tests plant this bug (docs/ORACLE.md). */
	if (data && !gs_test_bug(GS_BUG_SKIP_ZERO))
		memset(data, 0, folio_size(folio));
	folio_set_uptodate(folio);
}

/*
 * A fresh folio of the file's page size, for @index rounded down to it
 * (*@base); a thp file's may be 2 MiB at the block's start.
 */
static struct folio *gmem_alloc_folio(struct gmem_inode *inode, pgoff_t index, pgoff_t *base)
{
	/* The file's policy for the page (kvm_gmem_get_folio() with the inode's policy). */
	const struct mempolicy *pol =
		inode->policy.nr ? mpol_shared_policy_lookup(&inode->policy, index) : NULL;
	struct folio *folio;
	nodemask_t mask;
	int nid;

	if (inode->thp)
		return kvm_gmem_thp_alloc(inode, index, base);
	if (!inode->spool && !pol)
		return gs_folio_alloc_order0(GFP_KERNEL);
	if (!inode->spool) {
		gs_mpol_nodes(pol, index, &nid, &mask);
		return gs_folio_alloc_order0_node(GFP_KERNEL, nid, mask);
	}
	folio = hugetlb_file_alloc_folio(inode->spool, pol, index);
	return IS_ERR(folio) ? NULL : folio;
}

/*
 * __filemap_add_folio(): the page cache holds one reference per page of the
 * folio, folio_nr_pages() in all, until the folio is deleted from it.
 */
static int gmem_filemap_add(struct gmem_inode *inode, struct folio *folio, pgoff_t index)
{
	XA_STATE_ORDER(xas, &inode->filemap, index, folio_order(folio));

	do {
		xas_lock(&xas);
		xas_store(&xas, folio);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL));
	if (xas_error(&xas))
		return xas_error(&xas);
	folio_ref_add(folio, (int)folio_nr_pages(folio));
	folio->mapping = inode;
	folio->index = index;
	inode->i_bytes += folio_size(folio);
	return 0;
}

struct folio *kvm_gmem_get_folio(struct gmem_inode *inode, pgoff_t index, bool create, int *err)
{
	pgoff_t base = ALIGN_DOWN(index, 1UL << inode->page_order);
	struct folio *folio = xa_load(&inode->filemap, index);

	*err = 0;
	if (folio || !create)
		return folio;
	folio = gmem_alloc_folio(inode, base, &base);
	if (!folio) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = gmem_filemap_add(inode, folio, base);
	if (!*err)
		*err = kvm_gmem_split_fresh_folio(inode, &folio, index);
	/*
	 * The allocation's reference is the kernel's lookup reference; lookups
	 * here hold none past the call, so it goes (the page cache's stay).
	 */
	folio_put(folio);
	return *err ? NULL : folio;
}

/* --- state dump and invariants --- */

static void dump_shareability(struct gmem_inode *inode, FILE *f)
{
	MA_STATE(mas, &inode->shareability, 0, 0);
	void *entry;

	mas_for_each (&mas, entry, ULONG_MAX) {
		unsigned long v = xa_to_value(entry);

		if (v == SHAREABILITY_GUEST || v == SHAREABILITY_ALL)
			fprintf(f, " [%lx-%lx] %s", mas.index, mas.last,
				v == SHAREABILITY_GUEST ? "private" : "shared");
		else
			fprintf(f, " [%lx-%lx] bad value %lu", mas.index, mas.last, v);
	}
	fputc('\n', f);
}

/* The kernel's names of the page flags, as dump_page() prints them. */
static const char *const pageflag_names[] = {
	[PG_locked] = "locked",
	[PG_uptodate] = "uptodate",
	[PG_head] = "head",
	[PG_hwpoison] = "hwpoison",
	[PG_hugetlb] = "hugetlb",
	[PG_large_rmappable] = "large_rmappable",
	[PG_needs_merge] = "needs_merge",
};
_Static_assert(ARRAY_SIZE(pageflag_names) == __NR_PAGEFLAGS, "a page flag without a name");

/* "flags=0x14 (head|hugetlb)": the value, and what it means. */
static void dump_folio_flags(const struct folio *folio, FILE *f)
{
	const char *sep = " (";

	fprintf(f, "flags=0x%lx", folio->flags);
	for (unsigned int bit = 0; bit < __NR_PAGEFLAGS; bit++) {
		if (!folio_test_flag(folio, (enum pageflags)bit))
			continue;
		fprintf(f, "%s%s", sep, pageflag_names[bit]);
		sep = "|";
	}
	fputs(*sep == '|' ? ")" : "", f);
}

/* "flags=0x3 (mmap|init_shared)": the creation flags, named as the verb takes them. */
static void dump_file_flags(uint64_t flags, FILE *f)
{
	static const struct {
		uint64_t flag;
		const char *name;
	} names[] = {
		{GS_GUEST_MEMFD_FLAG_MMAP, "mmap"},
		{GS_GUEST_MEMFD_FLAG_INIT_SHARED, "init_shared"},
		{GS_GUEST_MEMFD_FLAG_HUGETLB, "hugetlb"},
		{GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE, "allow_hugepage"},
	};
	const char *sep = " (";

	fprintf(f, "flags=0x%" PRIx64, flags);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(flags & names[i].flag))
			continue;
		fprintf(f, "%s%s", sep, names[i].name);
		sep = "|";
	}
	fputs(*sep == '|' ? ")" : "", f);
}

void kvm_gmem_dump(struct gmem_inode *inode, FILE *f)
{
	struct folio *folio;
	unsigned long index;

	fprintf(f, "gmem ino=%lu size=%" PRId64 " ", inode->ino, (int64_t)inode->size);
	dump_file_flags(inode->flags, f);
	fprintf(f, " order=%u i_bytes=%lu\n", inode->page_order, inode->i_bytes);
	xa_for_each (&inode->filemap, index, folio) {
		fprintf(f, " %lx: order=%u ref=%d map=%d ", index, folio_order(folio),
			folio_ref_count(folio), folio_mapcount(folio));
		dump_folio_flags(folio, f);
		fputc('\n', f);
	}
	fputs(" shareability:", f);
	dump_shareability(inode, f);
	if (inode->spool) {
		struct hstate *h = inode->spool->hstate;

		fprintf(f, " spool used=%ld rsv=%ld pool nr=%lu free=%lu resv=%lu\n",
			inode->spool->used_hpages, inode->spool->rsv_hpages, h->nr_huge_pages,
			h->free_huge_pages, h->resv_huge_pages);
	}
}

/*
 * How many raw pages of a poisoned folio memory failure took (all: record
 * unreliable), given @raw, the raw pages recorded in its range.
 */
static unsigned long gmem_folio_bad_pages(const struct folio *folio, unsigned long raw)
{
	if (folio_test_hugetlb_raw_hwp_unreliable(folio))
		return folio_nr_pages(folio);
	if (!folio_test_large(folio) && !folio_test_needs_merge(folio))
		return folio_test_hwpoison(folio);
	return raw;
}

/*
 * The order a filemap entry may have: the file's page order, or below it for
 * a piece of a split HugeTLB page (needs-merge, aligned to its own order);
 * 9 (aligned) or 0 in a file of the thp backing.
 */
static __always_inline bool entry_order_ok(const struct gmem_inode *inode, pgoff_t index,
					   const struct folio *folio, int order)
{
	if (inode->thp)
		return order == (int)folio_order(folio) && (!order || order == 9) &&
		       IS_ALIGNED(index, 1UL << order) && !folio_test_hugetlb(folio);
	if (order != (int)folio_order(folio) || order > (int)inode->page_order)
		return false;
	if (order == (int)inode->page_order)
		return inode->spool ? folio_test_hugetlb(folio) : !folio_test_hugetlb(folio);
	return inode->spool && folio_test_needs_merge(folio) && IS_ALIGNED(index, 1UL << order);
}

/* The windows of pfns a check asks about first: a 1 GiB page's, then a 2 MiB page's. */
static const unsigned int hwp_shift[] = {18, 9};

/* Per window size, during one check: pfns with no raw hwpoison record, a window with some. */
struct hwp_window {
	unsigned long from[2], to[2]; /* [from, to): none */
	unsigned long dirty[2];	      /* the first pfn of a window with records, + 1 */
	unsigned long rec_base;	      /* the 2 MiB window rec[] describes, + 1 */
	bool rec_ok;		      /* rec[] holds all of its records */
	unsigned int nrec;
	unsigned long rec[8];
};

/*
 * The records of [pfn, pfn + nr) inside a 2 MiB window that has some: the
 * window's few records are found once, in one ordered walk, and each of
 * its pieces counts them (a search of the records per piece of a poisoned
 * split page was a tenth of a check of a 2 MiB file).
 */
static unsigned long raw_hwp_in_dirty(struct hwp_window *w, unsigned long pfn, unsigned long nr)
{
	unsigned long size = 1UL << hwp_shift[1], base = ALIGN_DOWN(pfn, size), n = 0, c;

	if (pfn + nr > base + size)
		return gs_raw_hwpoison_count(pfn, nr);
	if (w->rec_base != base + 1) {
		c = gs_raw_hwpoison_find(base, size, w->rec, ARRAY_SIZE(w->rec));
		w->rec_base = base + 1;
		w->nrec = (unsigned int)min_t(unsigned long, c, ARRAY_SIZE(w->rec));
		w->rec_ok = c <= ARRAY_SIZE(w->rec);
	}
	if (!w->rec_ok)
		return gs_raw_hwpoison_count(pfn, nr);
	for (unsigned int i = 0; i < w->nrec; i++)
		n += w->rec[i] >= pfn && w->rec[i] < pfn + nr;
	return n;
}

/* raw_hwp_count() off its fast path: a window not yet asked, or one with records. */
static __attribute__((noinline)) unsigned long
raw_hwp_count_slow(struct hwp_window *w, unsigned long pfn, unsigned long nr)
{
	unsigned long pmd = ALIGN_DOWN(pfn, 1UL << hwp_shift[1]);

	/* A piece of a 2 MiB window whose records are known, first: no search. */
	if (w->rec_base == pmd + 1 && pfn + nr <= pmd + (1UL << hwp_shift[1]))
		return raw_hwp_in_dirty(w, pfn, nr);
	for (unsigned int l = 0; l < ARRAY_SIZE(hwp_shift); l++) {
		unsigned long size = 1UL << hwp_shift[l], base = ALIGN_DOWN(pfn, size);

		if (pfn + nr > base + size || w->dirty[l] == base + 1)
			continue;
		if (!gs_raw_hwpoison_any(base, size)) {
			w->from[l] = base;
			w->to[l] = base + size;
			return 0;
		}
		w->dirty[l] = base + 1;
	}
	return raw_hwp_in_dirty(w, pfn, nr);
}

/*
 * The raw hwpoison records of [pfn, pfn + nr), asked once per aligned
 * window of pfns where there are none: the walk visits every piece of a
 * split 1 GiB page, and a search of the records per piece was a quarter
 * of a `check` of such a file.
 */
static __always_inline unsigned long raw_hwp_count(struct hwp_window *w, unsigned long pfn,
						   unsigned long nr)
{
	unsigned long n = 0;

	for (unsigned int l = 0; l < ARRAY_SIZE(hwp_shift); l++)
		if (pfn >= w->from[l] && pfn + nr <= w->to[l])
			return 0;
	/* Inside the 2 MiB window whose few records rec[] holds: count them here. */
	if (w->rec_ok && pfn >= w->rec_base - 1 &&
	    pfn + nr <= w->rec_base - 1 + (1UL << hwp_shift[1])) {
		for (unsigned int i = 0; i < w->nrec; i++)
			n += w->rec[i] >= pfn && w->rec[i] < pfn + nr;
		return n;
	}
	return raw_hwp_count_slow(w, pfn, nr);
}

/*
 * @xas stands on a slot of a leaf, its offset that of its index: the slots
 * after it can be read without a step of the walk each.
 */
static bool xas_on_leaf_slot(const struct xa_state *xas)
{
	const struct xa_node *node = xas->xa_node;

	return node && !((unsigned long)node & 3) && !node->shift &&
	       xas->xa_offset == (xas->xa_index & XA_CHUNK_MASK);
}

/*
 * References a folio must hold (DESIGN.md): the page cache's, one per page
 * (folio_nr_pages(), as __filemap_add_folio() takes them), one per host
 * mapping, and pins; no lookup is in flight between operations.
 */
static int folio_extra_refs(const struct folio *folio)
{
	return folio_ref_count(folio) - (int)folio_nr_pages(folio) - folio_mapcount(folio);
}

static bool folio_refs_ok(const struct folio *folio)
{
	int extra = folio_extra_refs(folio);

	return extra >= 0 && (folio_test_large(folio) ? extra == atomic_read(&folio->_pincount)
						      : !(extra % GUP_PIN_COUNTING_BIAS));
}

/* Memory failure's record and the folio's flag agree: no bad page in a clean folio. */
static bool folio_hwp_ok(const struct folio *folio, unsigned long raw)
{
	return folio_test_hwpoison(folio) == (gmem_folio_bad_pages(folio, raw) > 0) &&
	       (folio_test_hwpoison(folio) || !raw);
}

/* Every check of check_folio() at once, no report: what nearly every folio is. */
static bool folio_clean(const struct gmem_inode *inode, pgoff_t index, int order,
			const struct folio *folio, unsigned long raw)
{
	return entry_order_ok(inode, index, folio, order) && folio->index == index &&
	       folio->mapping == inode && folio_hwp_ok(folio, raw) && folio_refs_ok(folio);
}

/* The reports of a folio that is not clean, each check in turn. */
static __attribute__((noinline)) void check_folio_report(struct gs_check_report *r,
							 struct gmem_inode *inode, pgoff_t index,
							 int order, struct folio *folio,
							 unsigned long raw)
{
	if (!entry_order_ok(inode, index, folio, order))
		gs_check_violation(r, "ino %lu index %lx: entry order %d, folio order %u%s",
				   inode->ino, index, order, folio_order(folio),
				   folio_test_needs_merge(folio) ? " (split)" : "");
	if (folio->index != index || folio->mapping != inode)
		gs_check_violation(r, "ino %lu index %lx: folio says index %lx", inode->ino, index,
				   folio->index);
	if (!folio_hwp_ok(folio, raw))
		gs_check_violation(r, "ino %lu index %lx: hwpoison flag %d, %lu bad pages recorded",
				   inode->ino, index, folio_test_hwpoison(folio), raw);
	if (!folio_refs_ok(folio))
		gs_check_violation(r,
				   "ino %lu index %lx: refcount %d, want %lu (page cache) + %d "
				   "(mapcount) + pins",
				   inode->ino, index, folio_ref_count(folio), folio_nr_pages(folio),
				   folio_mapcount(folio));
}

/*
 * One folio of the page cache: its checks inline, its reports (rare) out
 * of line, so that the walk over a split page's pieces stays a tight loop.
 */
static inline void check_folio(struct gs_check_report *r, struct gmem_inode *inode, pgoff_t index,
			       int order, struct folio *folio, unsigned long *bytes,
			       struct hwp_window *w)
{
	unsigned long raw = raw_hwp_count(w, folio_pfn(folio), folio_nr_pages(folio));

	*bytes += folio_size(folio);
	if (!folio_clean(inode, index, order, folio, raw))
		check_folio_report(r, inode, index, order, folio, raw);
}

/*
 * What an order-0 entry of @inode's filemap must show in its flags for
 * entry_order_ok(), with PG_hwpoison clear: *@mask and *@want, the flag
 * bits tested and their values. Return: false when no order-0 entry can
 * be right (a HugeTLB page order without a subpool).
 */
static bool piece_flags(const struct gmem_inode *inode, unsigned long *mask, unsigned long *want)
{
	*mask = 1UL << PG_head | 1UL << PG_hwpoison;
	*want = 0;
	if (inode->thp || !inode->page_order) {
		/* A 4 KiB page: a HugeTLB folio only in a file with a subpool (page order 0). */
		*mask |= 1UL << PG_hugetlb;
		*want |= !inode->thp && inode->spool ? 1UL << PG_hugetlb : 0;
		return true;
	}
	/* Below a HugeTLB page order: a piece of a split page. */
	*mask |= 1UL << PG_needs_merge;
	*want |= 1UL << PG_needs_merge;
	return inode->spool;
}

/*
 * What a check already knows of raw hwpoison records (struct hwp_window),
 * as ranges of struct pages: a piece's own address tells whether it lies
 * in a window free of them, or in the 2 MiB window whose records rec[]
 * holds and is not one of them, without its pfn.
 */
struct clean_windows {
	uintptr_t lo[3];
	uintptr_t len[3]; /* bytes of struct pages from lo[]; [2]: rec[]'s window */
	unsigned int nrec;
	uintptr_t rec[ARRAY_SIZE(((struct hwp_window *)0)->rec)];
};

static void clean_windows(struct clean_windows *cw, const struct hwp_window *w)
{
	for (unsigned int l = 0; l < 2; l++) {
		cw->lo[l] = (uintptr_t)pfn_to_page(w->from[l]);
		cw->len[l] =
			w->to[l] > w->from[l] ? (w->to[l] - w->from[l]) * sizeof(struct page) : 0;
	}
	/* No window yet (rec_base 0): no struct page is formed for pfn -1. */
	cw->lo[2] = w->rec_base ? (uintptr_t)pfn_to_page(w->rec_base - 1) : 0;
	cw->len[2] = w->rec_base && w->rec_ok ? (1UL << hwp_shift[1]) * sizeof(struct page) : 0;
	cw->nrec = w->nrec;
	for (unsigned int i = 0; i < w->nrec; i++)
		cw->rec[i] = (uintptr_t)pfn_to_page(w->rec[i]);
}

/*
 * The stretch of struct page addresses around @at that a check already
 * knows holds no raw record, as *@lo and *@len (bytes from *@lo): a window
 * known clean, or the part of rec[]'s window between the records on
 * either side of @at. Return: false (*@len 0) when @at lies in none, or on
 * one of rec[]'s records.
 */
static __attribute__((noinline)) bool clean_span(const struct clean_windows *cw, uintptr_t at,
						 uintptr_t *lo, uintptr_t *len)
{
	uintptr_t from = cw->lo[2], to = cw->lo[2] + cw->len[2];

	*len = 0;
	for (unsigned int l = 0; l < 2; l++) {
		if (at - cw->lo[l] < cw->len[l]) {
			*lo = cw->lo[l];
			*len = cw->len[l];
			return true;
		}
	}
	if (at - cw->lo[2] >= cw->len[2])
		return false;
	/* Between the nearest records below and above @at (rec[] in any order). */
	for (unsigned int i = 0; i < cw->nrec; i++) {
		if (cw->rec[i] == at)
			return false;
		if (cw->rec[i] < at && cw->rec[i] + sizeof(struct page) > from)
			from = cw->rec[i] + sizeof(struct page);
		if (cw->rec[i] > at && cw->rec[i] < to)
			to = cw->rec[i];
	}
	if (at < from || at >= to)
		return false;
	*lo = from;
	*len = to - from;
	return true;
}

/*
 * An order-0 folio at @index, @mask and @want from piece_flags(), passes
 * every check of check_folio() but the raw records': its order and flags,
 * index and mapping, no hwpoison flag, no unreliable-record bit, and its
 * references.
 */
static __always_inline bool piece_fields_clean(const struct gmem_inode *inode, pgoff_t index,
					       const struct folio *folio, unsigned long mask,
					       unsigned long want)
{
	int extra = folio_ref_count(folio) - 1 - (atomic_read(&folio->_mapcount) + 1);

	return (folio->flags & mask) == want && folio->index == index && folio->mapping == inode &&
	       !folio_test_hugetlb_raw_hwp_unreliable(folio) && extra >= 0 &&
	       !(extra % GUP_PIN_COUNTING_BIAS);
}

/*
 * piece_fields_clean(), and no raw record for its pfn: its struct page in
 * [@lo, @lo + @len), a stretch clean_span() found free of records. So it
 * passes every check of check_folio() for certain. False says only "not
 * certain": check_folio() then judges it, as before.
 */
static __always_inline bool piece_surely_clean(const struct gmem_inode *inode, pgoff_t index,
					       const struct folio *folio, unsigned long mask,
					       unsigned long want, uintptr_t lo, uintptr_t len)
{
	return (uintptr_t)folio - lo < len && piece_fields_clean(inode, index, folio, mask, want);
}

/* Two slots, or two struct page addresses, as one value (GCC's vector extension). */
typedef uintptr_t slot_pair __attribute__((vector_size(2 * sizeof(uintptr_t))));

/*
 * Do slots[0..3] hold the four struct pages from @at (in @e01, @e23: the
 * addresses at, at + 1, at + 2 and at + 3 pages)? One test of the four,
 * made before any field is read through them.
 */
static __always_inline bool slots_next4(void *const *slots, slot_pair e01, slot_pair e23)
{
	slot_pair a, b, x;

	memcpy(&a, &slots[0], sizeof(a));
	memcpy(&b, &slots[2], sizeof(b));
	x = (a ^ e01) | (b ^ e23);
	return !(x[0] | x[1]);
}

/*
 * piece_fields_clean() of the four struct pages from @at, at indices
 * @index to @index + 3, as one test of each field over the four: their
 * flags and-ed and or-ed (every masked bit as @want says in each), the
 * HugeTLB-private words or-ed, the extra references or-ed (none negative
 * and none with a remainder of GUP_PIN_COUNTING_BIAS: neither has the or).
 */
static __always_inline bool pieces4_clean(const struct gmem_inode *inode, pgoff_t index,
					  uintptr_t at, unsigned long mask, unsigned long want)
{
	const struct folio *f0 = (const struct folio *)at,
			   *f1 = (const struct folio *)(at + sizeof(struct page)),
			   *f2 = (const struct folio *)(at + 2 * sizeof(struct page)),
			   *f3 = (const struct folio *)(at + 3 * sizeof(struct page));
	unsigned long all = f0->flags & f1->flags & f2->flags & f3->flags;
	unsigned long any = f0->flags | f1->flags | f2->flags | f3->flags;
	unsigned long priv = (unsigned long)f0->private | (unsigned long)f1->private |
			     (unsigned long)f2->private | (unsigned long)f3->private;
	int extra = (folio_ref_count(f0) - 1 - (atomic_read(&f0->_mapcount) + 1)) |
		    (folio_ref_count(f1) - 1 - (atomic_read(&f1->_mapcount) + 1)) |
		    (folio_ref_count(f2) - 1 - (atomic_read(&f2->_mapcount) + 1)) |
		    (folio_ref_count(f3) - 1 - (atomic_read(&f3->_mapcount) + 1));

	return (all & mask) == want && (any & mask) == want && f0->index == index &&
	       f1->index == index + 1 && f2->index == index + 2 && f3->index == index + 3 &&
	       f0->mapping == inode && f1->mapping == inode && f2->mapping == inode &&
	       f3->mapping == inode && !(priv & (1UL << HPG_raw_hwp_unreliable)) && extra >= 0 &&
	       !(extra % GUP_PIN_COUNTING_BIAS);
}

/*
 * The first slot of [@off, XA_CHUNK_SIZE) of a leaf whose index of slot 0
 * is @base that is not an order-0 folio surely clean (piece_surely_clean()
 * with [@lo, @lo + @len)) whose struct page follows the one before it (or
 * the end): the pieces' loop out of line with its constants in registers
 * (inlined, it reloaded the windows, the vmemmap and the mask per piece:
 * 54 instructions a piece). A split page's pieces are consecutive struct
 * pages: a slot that holds the next one holds no internal entry and no
 * NULL, and the stretch's end bounds the loop, so neither is tested per
 * piece. A piece that is not the next struct page ends the loop; the
 * caller judges it and starts a loop again after it.
 */
static __attribute__((noinline)) unsigned int
clean_pieces(const struct gmem_inode *inode, void *const *slots, unsigned int off, pgoff_t base,
	     unsigned long mask, unsigned long want, uintptr_t lo, uintptr_t len)
{
	uintptr_t at = (uintptr_t)slots[off];
	unsigned int from = off, to;

	if (!at || xa_is_internal((void *)at) || at - lo >= len)
		return off;
	/* The slots whose next struct page still lies in the stretch. */
	to = off +
	     (unsigned int)min_t(uintptr_t, XA_CHUNK_SIZE - off,
				 (lo + len - at + sizeof(struct page) - 1) / sizeof(struct page));
	/* Four pieces a step (slots_next4(), pieces4_clean()); a group that fails, one at a time. */
	if (off + 4 <= to) {
		const slot_pair step = {4 * sizeof(struct page), 4 * sizeof(struct page)};
		slot_pair e01 = {at, at + sizeof(struct page)},
			  e23 = {at + 2 * sizeof(struct page), at + 3 * sizeof(struct page)};

		for (; off + 4 <= to && slots_next4(&slots[off], e01, e23) &&
		       pieces4_clean(inode, base + off, at, mask, want);
		     off += 4, at += 4 * sizeof(struct page), e01 += step, e23 += step)
			;
	}
	for (; off < to; off++, at += sizeof(struct page)) {
		if ((uintptr_t)slots[off] != at ||
		    !piece_fields_clean(inode, base + off, (const struct folio *)at, mask, want))
			break;
	}
	/*
	 * An internal entry after a folio is a sibling: that folio is a
	 * multi-index entry, not an order-0 piece (tested here once, not per
	 * piece).
	 */
	if (off > from && off < XA_CHUNK_SIZE && xa_is_internal(slots[off]))
		off--;
	return off;
}

/*
 * The folios in the slots after @xas's in its leaf, each of order 0 (no
 * internal entry, so no sibling, after it), checked in one loop: a split page's pieces fill
 * whole leaves, and a step of the walk and an order lookup per piece were
 * most of a check of such a file. A piece that is surely clean costs one
 * predicate (piece_surely_clean()); any other gets check_folio()'s checks
 * and reports. @xas is left on the last one checked, where the walk goes
 * on (an empty or internal slot, or a multi-index entry, is the walk's
 * again).
 */
static void check_leaf_pieces(struct gs_check_report *r, struct gmem_inode *inode,
			      struct xa_state *xas, unsigned long *bytes, struct hwp_window *w)
{
	pgoff_t base = xas->xa_index - xas->xa_offset;
	struct clean_windows cw;
	unsigned long mask, want;
	uintptr_t lo = 0, len = 0;
	unsigned int off, to;
	void **slots;

	if (!xas_on_leaf_slot(xas))
		return;
	slots = xas->xa_node->slots;
	off = xas->xa_offset + 1;
	if (!piece_flags(inode, &mask, &want)) {
		/* No order-0 entry can be right: every piece gets check_folio()'s reports. */
		mask = 0;
		want = 1;
	}
	clean_windows(&cw, w);
	while (off < XA_CHUNK_SIZE) {
		to = clean_pieces(inode, slots, off, base, mask, want, lo, len);
		*bytes += (unsigned long)(to - off) * PAGE_SIZE;
		off = to;
		if (off == XA_CHUNK_SIZE || !slots[off] || xa_is_internal(slots[off]) ||
		    (off < XA_CHUNK_MASK && xa_is_internal(slots[off + 1])))
			break;
		/* Outside the stretch: the one that holds this piece, if any, for it and the next. */
		if (clean_span(&cw, (uintptr_t)slots[off], &lo, &len) &&
		    piece_surely_clean(inode, base + off, slots[off], mask, want, lo, len)) {
			*bytes += PAGE_SIZE;
			off++;
			continue;
		}
		/* Not surely clean: judged and reported as before; the windows may have grown. */
		check_folio(r, inode, base + off, 0, slots[off], bytes, w);
		clean_windows(&cw, w);
		len = 0;
		off++;
	}
	xas->xa_index = base + off - 1;
	xas->xa_offset = off - 1;
}

static void check_shareability(struct gs_check_report *r, struct gmem_inode *inode)
{
	MA_STATE(mas, &inode->shareability, 0, 0);
	unsigned long next = 0;
	void *entry;

	mas_for_each (&mas, entry, ULONG_MAX) {
		if (mas.index != next || !xa_is_value(entry))
			gs_check_violation(r, "ino %lu: shareability gap or bad entry at %lx",
					   inode->ino, mas.index);
		next = mas.last + 1;
	}
	if (next != gmem_nr_pages(inode))
		gs_check_violation(r, "ino %lu: shareability covers [0, %lx), size is %lx pages",
				   inode->ino, next, gmem_nr_pages(inode));
}

/*
 * No host page table maps a private index: host faults refuse them, and a
 * conversion to private unmaps the range before it commits (spec P5, P7).
 * Each entry maps the page of its own file index, inside its mapping (a
 * split mapping's pieces keep their offsets).
 */
static void check_host_mappings(struct gs_check_report *r, struct gmem_inode *inode)
{
	MA_STATE(mas, &inode->shareability, 0, 0);
	struct gmem_vma *vma;
	bool known = false;
	void *attr = NULL;

	list_for_each_entry (vma, &inode->vmas, list) {
		/* One walk of the PTEs (a lookup from the root per PTE was a third of this check). */
		XA_STATE(xas, &vma->ptes, 0);
		struct page *page;

		xas_for_each (&xas, page, ULONG_MAX) {
			unsigned long addr_page = xas.xa_index;
			struct folio *folio = page_folio(page);
			pgoff_t index = vma->pgoff + addr_page;

			if (addr_page >= vma->nr_pages ||
			    folio->index + (unsigned long)(page - &folio->page) != index)
				gs_check_violation(
					r,
					"ino %lu mapping at %lx page %lx: maps file page "
					"%lx",
					inode->ino, vma->pgoff, addr_page,
					folio->index + (unsigned long)(page - &folio->page));
			/* The shareability range holding @index, looked up once per range. */
			if (!known || index < mas.index || index > mas.last) {
				mas_set(&mas, index);
				attr = mas_walk(&mas);
				known = true;
			}
			if (attr != xa_mk_value(SHAREABILITY_ALL))
				gs_check_violation(r,
						   "ino %lu index %lx: private, mapped by the host",
						   inode->ino, index);
		}
	}
}

static void gmem_check(struct gs_check_report *r, void *ctx)
{
	struct hwp_window w = {0};
	struct gmem_inode *inode;

	(void)ctx;
	list_for_each_entry (inode, &gmem_inodes, list) {
		XA_STATE(xas, &inode->filemap, 0);
		unsigned long bytes = 0;
		struct folio *folio;

		/*
		 * One walk, the entry's order read where the walk stands: a
		 * lookup from the root per entry costs most of a check of a
		 * file of split pages.
		 */
		xas_for_each (&xas, folio, ULONG_MAX) {
			check_folio(r, inode, xas.xa_index, xas_get_order(&xas), folio, &bytes, &w);
			check_leaf_pieces(r, inode, &xas, &bytes, &w);
		}
		if (bytes != inode->i_bytes)
			gs_check_violation(r, "ino %lu: i_bytes %lu, folios hold %lu", inode->ino,
					   inode->i_bytes, bytes);
		check_shareability(r, inode);
		check_host_mappings(r, inode);
	}
}

__attribute__((constructor)) static void gmem_init(void)
{
	WARN_ON(gs_check_register("gmem", gmem_check, NULL) < 0);
}

/*
 * Struct page bytes resident for @folio (what HVO gives back shows here): a
 * HugeTLB folio HVO optimized keeps only its reserved vmemmap page.
 */
static void gmem_folio_vmemmap_state(struct gs_state *st, const char *path,
				     const struct gmem_inode *inode, const struct folio *folio)
{
	bool hvo = inode->page_order && folio_test_hugetlb_vmemmap_optimized(folio);
	unsigned long size = hugetlb_vmemmap_size(folio_order(folio));

	gs_state_add_u64(st, path, "hvo", hvo);
	gs_state_add_u64(st, path, "vmemmap",
			 hvo ? size - hugetlb_vmemmap_optimizable_size(folio_order(folio)) : size);
}

void kvm_gmem_dump_state(struct gs_state *st, const char *path, struct gmem_inode *inode)
{
	MA_STATE(mas, &inode->shareability, 0, 0);
	struct folio *folio;
	unsigned long index;
	void *entry;
	char p[160];

	gs_state_add_u64(st, path, "ino", inode->ino);
	gs_state_add(st, path, "size", "%" PRId64, (int64_t)inode->size);
	gs_state_add_u64(st, path, "order", inode->page_order);
	gs_state_add_u64(st, path, "i_bytes", inode->i_bytes);
	xa_for_each (&inode->filemap, index, folio) {
		snprintf(p, sizeof(p), "%s/folio/0x%lx", path, index);
		gs_state_add_u64(st, p, "order", folio_order(folio));
		gs_state_add(st, p, "ref", "%d", folio_ref_count(folio));
		gs_state_add(st, p, "map", "%d", folio_mapcount(folio));
		gs_state_add(st, p, "flags", "0x%lx", folio->flags);
		/* Where it is, once there is more than one place (fail-nth compares placement). */
		if (gs_numa_nr_nodes() > 1)
			gs_state_add(st, p, "node", "%d", gs_pfn_to_nid(folio_pfn(folio)));
		if (folio_test_hwpoison(folio)) {
			unsigned long raw =
				gs_raw_hwpoison_count(folio_pfn(folio), folio_nr_pages(folio));

			gs_state_add_u64(st, p, "bad_pages", gmem_folio_bad_pages(folio, raw));
		}
		if (gs_state_detail(st))
			gmem_folio_vmemmap_state(st, p, inode, folio);
	}
	mas_for_each (&mas, entry, ULONG_MAX) {
		unsigned long v = xa_to_value(entry);

		snprintf(p, sizeof(p), "%s/shareability/0x%lx-0x%lx", path, mas.index, mas.last);
		if (v == SHAREABILITY_GUEST || v == SHAREABILITY_ALL)
			gs_state_add(st, p, "value", "%s",
				     v == SHAREABILITY_GUEST ? "private" : "shared");
		else
			gs_state_add(st, p, "value", "bad %lu", v);
	}
	kvm_gmem_policy_state(st, path, inode);
	if (inode->spool) {
		snprintf(p, sizeof(p), "%s/spool", path);
		gs_state_add(st, p, "used", "%ld", inode->spool->used_hpages);
		gs_state_add(st, p, "rsv", "%ld", inode->spool->rsv_hpages);
	}
	if (gs_state_detail(st)) {
		snprintf(p, sizeof(p), "%s/detail/xa", path);
		gs_xa_dump_state(st, p, &inode->filemap);
		snprintf(p, sizeof(p), "%s/detail/mt", path);
		gs_mt_dump_state(st, p, &inode->shareability);
	}
}

/* Shareability as the dump names it: 0 shared, 1 private, 2 anything else. */
static int query_attr(void *entry)
{
	unsigned long v = xa_is_value(entry) ? xa_to_value(entry) : 0;

	return v == SHAREABILITY_ALL ? 0 : v == SHAREABILITY_GUEST ? 1 : 2;
}

static bool query_same(const struct folio *folio, const struct kvm_gmem_run *r)
{
	return folio_order(folio) == r->order && folio_mapcount(folio) == r->mapcount &&
	       folio_test_hwpoison(folio) == r->poisoned;
}

/* A piece at @index joins run @r: order 0, in @r's state. */
static bool query_piece_joins(const struct folio *folio, pgoff_t index,
			      const struct kvm_gmem_run *r)
{
	return folio->index == index && !folio_test_large(folio) &&
	       folio_mapcount(folio) == r->mapcount && folio_test_hwpoison(folio) == r->poisoned;
}

/*
 * How many of the order-0 folios in @slot[0, @nr) sit at @idx, @idx + 1, ...
 * in the state @want (PG_head and PG_hwpoison) and @mapcount (_mapcount),
 * each the struct page after the one before (a split page's pieces are
 * consecutive struct pages). A slot that holds anything else (empty, an
 * internal entry, another folio) ends it: the caller then judges that slot
 * with the full test (query_piece_joins()), so the runs are the same.
 */
static __always_inline bool leaf_piece_joins(const struct folio *f, uintptr_t at, pgoff_t idx,
					     unsigned long want, int mapcount)
{
	const unsigned long mask = 1UL << PG_head | 1UL << PG_hwpoison;

	return (uintptr_t)f == at && f->index == idx && (f->flags & mask) == want &&
	       atomic_read(&f->_mapcount) == mapcount;
}

static __always_inline unsigned long leaf_run(struct folio *const *slot, unsigned long nr,
					      pgoff_t idx, unsigned long want, int mapcount)
{
	const unsigned long sz = sizeof(struct page);
	unsigned long n = 0;
	uintptr_t at;

	if (!nr)
		return 0;
	/* The first must be a folio pointer: NULL and internal entries are not struct pages. */
	at = (uintptr_t)slot[0];
	if (!at || (at & 3))
		return 0;
	/* Four at a time: one bound test for four pieces (a leaf is 64 slots). */
	for (; n + 4 <= nr; n += 4, at += 4 * sz) {
		if (!leaf_piece_joins(slot[n], at, idx + n, want, mapcount))
			return n;
		if (!leaf_piece_joins(slot[n + 1], at + sz, idx + n + 1, want, mapcount))
			return n + 1;
		if (!leaf_piece_joins(slot[n + 2], at + 2 * sz, idx + n + 2, want, mapcount))
			return n + 2;
		if (!leaf_piece_joins(slot[n + 3], at + 3 * sz, idx + n + 3, want, mapcount))
			return n + 3;
	}
	for (; n < nr; n++, at += sz)
		if (!leaf_piece_joins(slot[n], at, idx + n, want, mapcount))
			break;
	return n;
}

/*
 * leaf_run() in the state nearly every piece is in (not poisoned), four
 * pieces judged at once: the four slots hold the four struct pages from
 * @at (one test of the four addresses, before any field is read through
 * them), their PG_head and PG_hwpoison all clear (one test of the four
 * flags words or-ed together), then each index and map count. A group
 * that fails any test goes to leaf_run()'s loop, which finds the piece
 * that ends the run as before.
 */
static __always_inline unsigned long leaf_run_clean(struct folio *const *slot, unsigned long nr,
						    pgoff_t idx, int mapcount)
{
	const unsigned long sz = sizeof(struct page), mask = 1UL << PG_head | 1UL << PG_hwpoison;
	const slot_pair step = {4 * sz, 4 * sz};
	struct folio *const *s = slot, *const *end = slot + (nr & ~3UL);
	slot_pair e01, e23;
	pgoff_t i = idx;
	uintptr_t at;

	if (nr < 4)
		return leaf_run(slot, nr, idx, 0, mapcount);
	/* The first must be a folio pointer: NULL and internal entries are not struct pages. */
	at = (uintptr_t)slot[0];
	if (!at || (at & 3))
		return 0;
	e01 = (slot_pair){at, at + sz};
	e23 = (slot_pair){at + 2 * sz, at + 3 * sz};
	for (; s < end; s += 4, i += 4, at += 4 * sz, e01 += step, e23 += step) {
		const struct folio *f0 = (const struct folio *)at,
				   *f1 = (const struct folio *)(at + sz),
				   *f2 = (const struct folio *)(at + 2 * sz),
				   *f3 = (const struct folio *)(at + 3 * sz);

		if (!slots_next4((void *const *)s, e01, e23))
			break;
		if (((f0->flags | f1->flags | f2->flags | f3->flags) & mask) || f0->index != i ||
		    f1->index != i + 1 || f2->index != i + 2 || f3->index != i + 3 ||
		    atomic_read(&f0->_mapcount) != mapcount ||
		    atomic_read(&f1->_mapcount) != mapcount ||
		    atomic_read(&f2->_mapcount) != mapcount ||
		    atomic_read(&f3->_mapcount) != mapcount)
			break;
	}
	return (unsigned long)(s - slot) +
	       leaf_run(s, nr - (unsigned long)(s - slot), i, 0, mapcount);
}

/*
 * The runs' piece loops out of line, with their constants (the
 * not-poisoned state's flags a literal): inlined into kvm_gmem_query(),
 * the loop reloaded two of them from the stack per piece (20 instructions
 * a piece, 15 here).
 */
static __attribute__((noinline)) unsigned long query_leaf_run(struct folio *const *slot,
							      unsigned long nr, pgoff_t idx,
							      bool poisoned, int mapcount)
{
	if (poisoned)
		return leaf_run(slot, nr, idx, 1UL << PG_hwpoison, mapcount);
	return leaf_run_clean(slot, nr, idx, mapcount);
}

/*
 * The pieces in the slots after @xas's in its leaf that join run @r from
 * index @cur, below @lim, read straight from the leaf's slot array (a
 * split page's pieces fill whole leaves: the walk's step per piece was
 * most of the oracle's reads of a 2 MiB file). @xas is moved onto the last
 * one joined, as a step per piece leaves it. Return: the index after it.
 */
static pgoff_t query_leaf_pieces(struct xa_state *xas, pgoff_t cur, pgoff_t lim,
				 const struct kvm_gmem_run *r)
{
	unsigned long n;

	if (!xas_on_leaf_slot(xas) || xas->xa_index != cur - 1)
		return cur;
	/* query_piece_joins() as one mask: an order-0 folio's map count is its _mapcount + 1. */
	n = query_leaf_run((struct folio *const *)&xas->xa_node->slots[xas->xa_offset + 1],
			   min_t(unsigned long, XA_CHUNK_MASK - xas->xa_offset, lim - cur), cur,
			   r->poisoned, r->mapcount - 1);
	xas->xa_offset += n;
	xas->xa_index += n;
	return cur + n;
}

/*
 * The order-0 folios from @folio on (@xas on it) at the indices right after
 * run @r, below @lim, in @r's state join it: a split page's pieces, one leaf
 * slot after the other (a split 1 GiB page has 262,144, and the oracle reads
 * them after every line). Return: the first folio not joined.
 */
static struct folio *query_join_small(struct xa_state *xas, struct folio *folio,
				      struct kvm_gmem_run *r, pgoff_t lim, pgoff_t end)
{
	pgoff_t cur = r->end;
	void *entry;

	while (folio && cur < lim && query_piece_joins(folio, cur, r)) {
		/* The rest of the leaf in one loop, then the slot right after it. */
		cur = query_leaf_pieces(xas, cur + 1, lim, r);
		entry = cur < lim ? xas_next(xas) : NULL;
		folio = entry && !xa_is_internal(entry) ? entry : xas_next_entry(xas, end - 1);
	}
	r->end = cur;
	return folio;
}

size_t kvm_gmem_query(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
		      struct kvm_gmem_run *runs, size_t max)
{
	MA_STATE(mas, &inode->shareability, start, start);
	XA_STATE(xas, &inode->filemap, start);
	pgoff_t cur = start, a_end = start, f_end;
	struct folio *folio;
	int attr = 2;
	size_t n = 0;

	end = min_t(pgoff_t, end, gmem_nr_pages(inode));
	if (cur >= end)
		return 0;
	/* One walk of each tree, in index order: the folio at or after @cur. */
	folio = xas_find(&xas, end - 1);
	while (cur < end && n < max) {
		struct kvm_gmem_run *r = &runs[n++];

		if (cur >= a_end) {
			/* The range holding @cur, or the gap before the next one. */
			void *entry = mas_find(&mas, end - 1);

			if (entry && mas.index <= cur) {
				attr = query_attr(entry);
				a_end = mas.last + 1;
			} else {
				attr = 2;
				a_end = entry ? mas.index : end;
				if (entry)
					mas_set(&mas, cur);
			}
		}
		*r = (struct kvm_gmem_run){.start = cur, .attr = attr};
		if (folio && folio->index <= cur) {
			f_end = folio->index + folio_nr_pages(folio);
			r->allocated = true;
			r->order = folio_order(folio);
			r->mapcount = folio_mapcount(folio);
			r->poisoned = folio_test_hwpoison(folio);
		} else {
			f_end = folio ? folio->index : end;
		}
		r->end = min_t(pgoff_t, min_t(pgoff_t, f_end, a_end), end);
		cur = r->end;
		if (folio && cur >= f_end && folio->index < cur)
			folio = xas_next_entry(&xas, end - 1);
		if (r->allocated && !r->order && cur == f_end)
			folio = query_join_small(&xas, folio, r, min_t(pgoff_t, a_end, end), end);
		cur = r->end;
		/* The folios right after it in the same state join the run (a split page's pieces). */
		while (r->allocated && cur == f_end && cur < a_end && cur < end && folio &&
		       folio->index == cur && query_same(folio, r)) {
			f_end = folio->index + folio_nr_pages(folio);
			r->end = cur = min_t(pgoff_t, min_t(pgoff_t, f_end, a_end), end);
			if (cur < f_end)
				break;
			folio = xas_next_entry(&xas, end - 1);
		}
	}
	return n;
}

void kvm_gmem_query_counters(struct gmem_inode *inode, struct kvm_gmem_counters *c)
{
	*c = (struct kvm_gmem_counters){.i_bytes = inode->i_bytes};
	if (inode->spool) {
		c->has_spool = true;
		c->spool_used = inode->spool->used_hpages;
		c->spool_rsv = inode->spool->rsv_hpages;
	}
}

int kvm_gmem_reset_ino(void)
{
	if (!list_empty(&gmem_inodes))
		return -EBUSY;
	next_ino = 1;
	return 0;
}
