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
 * it over the whole file). Under v8 and planned every step that can fail
 * runs before the point of no return, so a failed call leaves the tree, the
 * folios and the guest mappings as they were; only the host mappings of a
 * failed to-private conversion stay unmapped, as in the kernel (they fault
 * back in). planned prepares every split (stage-2 leaves and folios) before
 * its point of no return and does them after it, so nothing stays split.
 * wip has a point of no return per huge-page batch and keeps the batches
 * done before a failing one (P35).
 *
 * Also here: the simulated per-CPU LRU batch (gs_lru_add_folio(),
 * lru_add_drain_all()) whose references the refcount check drains once.
 *
 * HugeTLB files (P31-P41): a huge page is one folio of the page order
 * exactly when all of it is private; conversion splits and merges through
 * gmem_restructure.c. The order of the steps is the VM's choice (enum
 * gs_gmem_conversion): planned (P37, the default), v8 (P7, 4 KiB only),
 * wip (P35, batch per huge page), rfc-v2 (P20, P25: a work list with
 * rollback, split and merge per item after its store, with the reviewed
 * rollback loop's bug at the first item, which WARNs here instead of reading
 * out of bounds).
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/inject.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/strategy.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/gmem_int.h>
#include <gmemsim/internal/metrics_int.h>

static struct gs_gmem_convert_stats stats;

/* The pages of a 2 MiB piece of a split 1 GiB page (a strategy's intermediate order). */
#define PMD_NR_PAGES (1UL << 9)

/*
 * The VM whose conversion is running (one thread; the filemap invalidate
 * lock is not modelled): its strategy decides the merges
 * (include/gmemsim/strategy.h). The orderings' helpers take the inode only.
 */
static const struct gs_gmem_vm_info *convert_vm;

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

/*
 * P6.2-P6.8 in the kernel's order; the copy (P6.1) is the caller's.
 * 1: rfc-v2's size 0, a success that does nothing.
 */
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
	/* P20: RFC v2 refuses a stale error_offset and takes size 0 as a no-op. */
	if (file->vm->conversion == GS_CONVERSION_RFC_V2) {
		if (a->error_offset)
			return -EINVAL;
		if (!a->size)
			return 1;
	}
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

/*
 * Do the four slots at @slots each hold a folio (not empty, not internal)
 * that passes folio_check_refs() with nothing to change? An order-0 folio
 * holding exactly the page cache's reference does: the lookup's reference
 * makes it 2 (folio_get()'s WARN cannot fire), 2 is safe, the put brings it
 * back to 1 (no WARN, no release), no drain. The slots are tested first,
 * together (a struct page's address has its low two bits clear; a word of
 * 0 sets bit 63 of word - 1), then the folios' flag words and counts: one
 * branch for each. A group that fails is checked slot by slot, as before.
 */
static __always_inline bool folios4_unreferenced(void *const *slots)
{
	unsigned long e_or = 0, e_dec = 0, head = 0;
	int other = 0;

	for (int k = 0; k < 4; k++) {
		e_or |= (unsigned long)slots[k];
		e_dec |= (unsigned long)slots[k] - 1;
	}
	if ((e_or & 3) | (e_dec >> 63))
		return false;
	for (int k = 0; k < 4; k++) {
		const struct folio *f = slots[k];

		head |= f->flags;
		other |= folio_ref_count(f) ^ 1;
	}
	return !((head & (1UL << PG_head)) | (unsigned long)other);
}

/*
 * The first folio of [start, end), in index order, that folio_check_refs()
 * finds referenced beyond the page cache, or NULL. One walk along the
 * leaves (a lookup from the root per folio was most of it), a split page's
 * pieces read from each leaf's slots without a walk step each, four at a
 * time where their answer is certain (folios4_unreferenced()), up to the
 * first empty or internal slot (the walk's again): the drain only drops
 * the LRU batch's references, so no folio leaves the page cache and the
 * slots stay as read.
 */
static struct folio *gmem_referenced_folio(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
					   bool *drained)
{
	XA_STATE(xas, &inode->filemap, start);
	struct folio *folio;

	xas_for_each (&xas, folio, end - 1) {
		unsigned int n, i = 0;
		void *const *run;

		if (!folio_check_refs(folio, drained))
			return folio;
		n = gs_xas_leaf_span(&xas, end - 1);
		if (!n)
			continue; /* no leaf (a lone entry at the root) or no slot after it */
		run = &xas.xa_node->slots[xas.xa_offset + 1];
		while (i < n) {
			if (i + 4 <= n && folios4_unreferenced(&run[i])) {
				i += 4;
				continue;
			}
			folio = run[i];
			if (!folio || xa_is_internal(folio))
				break;
			i++;
			if (!folio_check_refs(folio, drained))
				return folio;
		}
		gs_xas_leaf_skip(&xas, i);
	}
	return NULL;
}

/* To private: no folio of [start, end) may be referenced beyond the page cache. */
static int gmem_convert_check_refs(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				   pgoff_t *err_index)
{
	bool drained = false;
	struct folio *folio = gmem_referenced_folio(inode, start, end, &drained);

	if (!folio)
		return 0;
	/* v8: never below the requested offset, even for a folio starting earlier. */
	*err_index = folio->index > start ? folio->index : start;
	return -EAGAIN;
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
 * One conversion's calls of the arch hook: the hook, read once (a VM's
 * arch does not change under a conversion; NULL while it has nothing to
 * do, kvm_gmem_arch_invalidate_hook()), and the pfns counted, added to the
 * statistics once at the end.
 */
struct arch_invalidate {
	void (*hook)(unsigned long start, unsigned long end);
	unsigned long pfns;
	pgoff_t start, end;
};

/*
 * kvm_arch_gmem_invalidate(): the arch learns that [start, end) pfns go
 * back to the host (SNP makes them shared in the RMP: the VM model's hook).
 * The pfns are counted here for every VM type so tests see the call happen.
 */
static void kvm_arch_gmem_invalidate(struct arch_invalidate *ai, unsigned long start,
				     unsigned long end)
{
	ai->pfns += end - start;
	if (ai->hook)
		ai->hook(start, end);
}

/* The arch hook for the pfns of @folio inside [start, end). */
static void folio_arch_invalidate(struct arch_invalidate *ai, const struct folio *folio)
{
	pgoff_t first = folio->index > ai->start ? folio->index : ai->start;
	pgoff_t last = folio->index + folio_nr_pages(folio);
	unsigned long pfn = folio_pfn(folio) - folio->index;

	if (last > ai->end)
		last = ai->end;
	kvm_arch_gmem_invalidate(ai, pfn + first, pfn + last);
}

/*
 * To shared: the arch hook for every allocated pfn of [start, end), folio
 * by folio.
 */
static void gmem_convert_arch_invalidate(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	struct arch_invalidate ai = {
		.hook = kvm_gmem_arch_invalidate_hook(inode),
		.start = start,
		.end = end,
	};
	XA_STATE(xas, &inode->filemap, start);
	struct folio *folio;

	xas_for_each (&xas, folio, end - 1) {
		/* A split page's pieces: the leaf's run from its slots, not a walk step each. */
		unsigned int n = gs_xas_leaf_run(&xas, end - 1), i = 1;

		folio_arch_invalidate(&ai, folio);
		/*
		 * With no hook the pfns are only counted. A run's slot followed
		 * by another entry (not a sibling) holds an order-0 folio at its
		 * own index inside the range, one pfn: counted without reading
		 * its struct page. The run's last entry may be larger (its
		 * siblings end the run): read as any folio.
		 */
		if (!ai.hook && n) {
			ai.pfns += n - 1;
			i = n;
		}
		for (; i <= n; i++)
			folio_arch_invalidate(&ai, xas.xa_node->slots[xas.xa_offset + i]);
		gs_xas_leaf_skip(&xas, n);
	}
	stats.arch_invalidate_pfns += ai.pfns;
}

static void gmem_convert_commit(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				bool to_private, struct ma_state *mas, void *entry)
{
	gmem_convert_invalidate_begin(inode, start, end,
				      kvm_gmem_get_invalidate_filter(inode, start, end));
	if (!to_private)
		gmem_convert_arch_invalidate(inode, start, end);
	/* TEST-ONLY: the oracle's tests plant a store of the old value (docs/ORACLE.md). */
	if (gs_test_bug(GS_BUG_STALE_ATTRIBUTE))
		entry = xa_mk_value(to_private ? SHAREABILITY_ALL : SHAREABILITY_GUEST);
	mas_store_prealloc(mas, entry);
	gmem_convert_invalidate_end(inode, start, end);
	stats.converted++;
	stats.pages += end - start;
}

/* --- the orderings (docs/CONVERSION.md, "Orderings") --- */

const char *gs_gmem_conversion_name(enum gs_gmem_conversion c)
{
	static const char *const names[] = {"planned", "v8", "wip", "rfc-v2", "punch-hole"};

	return (unsigned int)c < ARRAY_SIZE(names) ? names[c] : "?";
}

/* The huge pages [*hs, *he) that [start, end) touches (pages of 4 KiB; 1 per page for 4 KiB files). */
static void huge_round(const struct gmem_inode *inode, pgoff_t start, pgoff_t end, pgoff_t *hs,
		       pgoff_t *he)
{
	pgoff_t nr = 1UL << inode->page_order;

	*hs = ALIGN_DOWN(start, nr);
	*he = ALIGN(end, nr);
}

/* Is a slot of some VM bound to [start, end)? (Only then can stage-2 leaves have changed.) */
static bool range_bound(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	struct gmem_file *file;

	list_for_each_entry (file, &inode->files, list) {
		unsigned long index = start;

		if (xa_find(&file->bindings, &index, end - 1, XA_PRESENT))
			return true;
	}
	return false;
}

/* [h, h + nr) is all private once [start, end) is (the rest outside it already is). */
static bool rest_private_range(struct gmem_inode *inode, pgoff_t h, pgoff_t nr, pgoff_t start,
			       pgoff_t end)
{
	pgoff_t he = h + nr;

	return (start <= h || kvm_gmem_range_private(inode, h, start < he ? start : he)) &&
	       (end >= he || kvm_gmem_range_private(inode, end > h ? end : h, he));
}

/* Huge page [h, h + nr) is all private once [start, end) is. */
static bool rest_private(struct gmem_inode *inode, pgoff_t h, pgoff_t start, pgoff_t end)
{
	return rest_private_range(inode, h, 1UL << inode->page_order, start, end);
}

/*
 * To private: may the huge page at @h merge once [start, end) is private?
 * An unexpected reference on a piece gets the refcount check's one drain.
 * 1: nothing to merge; 0: prepared; -EAGAIN or -ENOMEM.
 */
static int convert_prepare_merge(struct gmem_inode *inode, pgoff_t h, pgoff_t start, pgoff_t end,
				 bool *drained)
{
	int err;

	if (!rest_private(inode, h, start, end) || !gmem_strategy_merge(convert_vm, inode, h))
		return 1;
	err = kvm_gmem_prepare_merge(inode, h);
	if (err == -EAGAIN && !*drained) {
		lru_add_drain_all();
		stats.lru_drains++;
		*drained = true;
		err = kvm_gmem_prepare_merge(inode, h);
	}
	/* A mapped piece cannot be: the range was unmapped, the rest is private. */
	return err == -EBUSY ? -EAGAIN : err;
}

/* The 2 MiB ranges of the huge page at @h that [start, end) overlaps: [*rs, *re). */
static void pmd_round(pgoff_t h, pgoff_t nr, pgoff_t start, pgoff_t end, pgoff_t *rs, pgoff_t *re)
{
	*rs = ALIGN_DOWN(start > h ? start : h, PMD_NR_PAGES);
	*re = ALIGN(end < h + nr ? end : h + nr, PMD_NR_PAGES);
}

/*
 * To private, a strategy merging to 2 MiB (merge_order): the 2 MiB ranges
 * of the page at @h that [start, end) makes all private, in 4 KiB pieces.
 * @commit: merge them (after the point of no return; cannot fail), else
 * check them (before it: -EAGAIN, -ENOMEM).
 */
static int convert_pmd_merges(struct gmem_inode *inode, pgoff_t h, pgoff_t start, pgoff_t end,
			      bool commit, bool *drained)
{
	pgoff_t r, rs, re, nr = 1UL << inode->page_order;
	int err;

	if (gmem_strategy_merge_order(convert_vm, inode, h) >= inode->page_order)
		return 0;
	pmd_round(h, nr, start, end, &rs, &re);
	for (r = rs; r < re; r += PMD_NR_PAGES) {
		if (!commit && !rest_private_range(inode, r, PMD_NR_PAGES, start, end))
			continue;
		if (commit && !kvm_gmem_range_private(inode, r, r + PMD_NR_PAGES))
			continue;
		err = kvm_gmem_prepare_merge_piece(inode, r);
		if (err == -EAGAIN && !*drained) {
			lru_add_drain_all();
			stats.lru_drains++;
			*drained = true;
			err = kvm_gmem_prepare_merge_piece(inode, r);
		}
		if (err < 0)
			return err;
		if (!err && commit) {
			kvm_gmem_merge_piece(inode, r);
			stats.merges++;
		}
	}
	return 0;
}

/*
 * The huge pages planned_prepare_private() prepared, so that convert_merge()
 * does not check their pieces a second time: bit i for the page at
 * hs + i pages of the file's order. Pages beyond the map are checked again.
 */
#define PREPARED_MAX (4 * BITS_PER_LONG)

struct planned_merges {
	pgoff_t hs;
	unsigned long map[PREPARED_MAX / BITS_PER_LONG];
};

static unsigned long prepared_bit(const struct gmem_inode *inode, const struct planned_merges *pm,
				  pgoff_t h)
{
	return (h - pm->hs) >> inode->page_order;
}

static bool prepared_test(const struct gmem_inode *inode, const struct planned_merges *pm,
			  pgoff_t h)
{
	unsigned long b = prepared_bit(inode, pm, h);

	return b < PREPARED_MAX && (pm->map[b / BITS_PER_LONG] & (1UL << (b % BITS_PER_LONG)));
}

static void prepared_set(const struct gmem_inode *inode, struct planned_merges *pm, pgoff_t h)
{
	unsigned long b = prepared_bit(inode, pm, h);

	if (b < PREPARED_MAX)
		pm->map[b / BITS_PER_LONG] |= 1UL << (b % BITS_PER_LONG);
}

/*
 * kvm_gmem_prepare_merge() after the point of no return, for a page
 * planned_prepare_private() prepared: its answer stands, as nothing touched
 * the pieces in between (the range's host mappings went before the check,
 * the drain only drops the LRU's references and a prepared page has none,
 * the store and the invalidation change no folio), so the walks over the
 * pieces (their checks, their restored struct pages) are not repeated.
 * The page-cache nodes are taken again, as the full preparation would: a
 * merge since may have used the ones held.
 */
static int convert_prepare_merge_again(struct gmem_inode *inode, pgoff_t h,
				       const struct planned_merges *pm)
{
	if (!prepared_test(inode, pm, h))
		return kvm_gmem_prepare_merge(inode, h);
	return kvm_gmem_merge_reserve(inode, h, GFP_KERNEL);
}

/* After the store (point of no return passed): merge what is all private now; cannot fail. */
static void convert_merge(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
			  const struct planned_merges *pm)
{
	pgoff_t h, hs, he, nr = 1UL << inode->page_order;
	bool drained = true; /* no retry is needed: the checks passed before */

	huge_round(inode, start, end, &hs, &he);
	for (h = hs; h < he; h += nr)
		if (kvm_gmem_range_private(inode, h, h + nr) &&
		    gmem_strategy_merge(convert_vm, inode, h) &&
		    convert_prepare_merge_again(inode, h, pm) == 0) {
			kvm_gmem_merge_huge_page(inode, h);
			stats.merges++;
		} else {
			WARN_ON(convert_pmd_merges(inode, h, start, end, true, &drained));
		}
}

/*
 * Planned, to private, before the point of no return: the range's
 * refcounts (P7.3), then every huge page that will be all private must be
 * mergeable (P37: the merge after the point of no return cannot fail).
 * @pm: the pages prepared.
 */
static int planned_prepare_private(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				   pgoff_t *err_index, struct planned_merges *pm)
{
	pgoff_t h, hs, he, nr = 1UL << inode->page_order;
	bool drained = false;
	int err;

	kvm_gmem_unmap_host(inode, start, end);
	err = gmem_convert_check_refs(inode, start, end, err_index);
	if (err || !inode->page_order)
		return err;
	huge_round(inode, start, end, &hs, &he);
	pm->hs = hs;
	for (h = hs; h < he; h += nr) {
		err = convert_prepare_merge(inode, h, start, end, &drained);
		if (!err)
			prepared_set(inode, pm, h);
		if (err > 0)
			err = convert_pmd_merges(inode, h, start, end, false, &drained);
		if (err < 0) {
			*err_index = err == -EAGAIN && h > start ? h : start;
			/* The merges prepared before give HVO back as it was. */
			while (h > hs) {
				h -= nr;
				kvm_gmem_cancel_merge(inode, h);
			}
			return err;
		}
	}
	return 0;
}

/*
 * The folios planned splits, one at a time from @*pos: the whole huge
 * folios of [hs, he), and the 2 MiB pieces of split 1 GiB pages that
 * [start, end) overlaps (a strategy's intermediate order). NULL at the end.
 */
static struct folio *planned_next_split(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
					pgoff_t he, pgoff_t *pos)
{
	pgoff_t nr = 1UL << inode->page_order;

	while (*pos < he) {
		pgoff_t at = *pos, h = ALIGN_DOWN(at, nr), lo, hi;
		struct folio *folio = kvm_gmem_whole_huge_folio(inode, at);

		if (folio || inode->page_order <= 9) {
			*pos = h + nr;
			if (folio)
				return folio;
			continue;
		}
		/* A split 1 GiB page: its 2 MiB steps that the range overlaps. */
		lo = ALIGN_DOWN(start > h ? start : h, PMD_NR_PAGES);
		hi = ALIGN(end < h + nr ? end : h + nr, PMD_NR_PAGES);
		if (at < lo) {
			*pos = lo;
			continue;
		}
		*pos = at < hi ? at + PMD_NR_PAGES : h + nr;
		folio = at < hi ? kvm_gmem_split_piece_at(inode, at) : NULL;
		if (folio)
			return folio;
	}
	return NULL;
}

/* The folios to split must hold only the page cache's references; *nr: how many. */
static int planned_check_whole(struct gmem_inode *inode, pgoff_t start, pgoff_t end, pgoff_t hs,
			       pgoff_t he, pgoff_t *err_index, size_t *nr)
{
	bool drained = false;
	struct folio *folio;
	pgoff_t pos = hs;

	while ((folio = planned_next_split(inode, start, end, he, &pos))) {
		(*nr)++;
		if (!folio_check_refs(folio, &drained)) {
			*err_index = folio->index > start ? folio->index : start;
			stats.eagain++;
			return -EAGAIN;
		}
	}
	return 0;
}

/*
 * Planned, to shared: the splits prepared before the point of no return
 * and done after it. @preps: one per whole huge folio of [hs, he), @nr of
 * them prepared; @leaves: stage-2 splits pending in the slots.
 */
struct planned_splits {
	pgoff_t hs, he;
	struct hugetlb_split_prep *preps;
	size_t nr, cap;
	bool leaves;
	bool pmd;
};

static void planned_splits_free(struct planned_splits *ps)
{
	if (ps->cap)
		gs_free(GS_SITE_KMALLOC, ps->preps, ps->cap * sizeof(*ps->preps));
	ps->cap = 0;
}

/* Undo every prepared split, newest first: stage-2, folios, HVO exactly as before. */
static void planned_cancel_shared(struct gmem_inode *inode, struct planned_splits *ps)
{
	while (ps->nr)
		hugetlb_restructuring_cancel_split(&ps->preps[--ps->nr]);
	if (ps->leaves)
		kvm_gmem_finish_split_huge_leafs(inode, ps->hs, ps->he, false);
	planned_splits_free(ps);
	stats.failed_splits++;
}

/*
 * Does the strategy split every whole folio [hs, he) holds to 2 MiB? Then
 * the stage-2 leaves over them split to 2 MiB, not to 4 KiB (a pure answer:
 * the same again when the split is prepared). Pieces only: nothing larger
 * than 2 MiB is mapped there.
 */
static bool planned_pmd(struct gmem_inode *inode, pgoff_t start, pgoff_t end, pgoff_t hs,
			pgoff_t he)
{
	pgoff_t h, nr = 1UL << inode->page_order;

	if (inode->page_order <= 9)
		return false;
	for (h = hs; h < he; h += nr) {
		struct folio *folio = kvm_gmem_whole_huge_folio(inode, h);
		struct gs_strategy_split split = {
			.ino = inode->ino,
			.index = h,
			.page_order = inode->page_order,
			.folio_order = inode->page_order,
			.start = start > h ? start : h,
			.end = end < h + nr ? end : h + nr,
		};

		if (folio && gmem_strategy_split_order(convert_vm, &split) != 9)
			return false;
	}
	return true;
}

/*
 * Planned, to shared, before the point of no return (P37 step 2b, P40):
 * every fallible step of splitting the stage-2 leaves over the whole huge
 * folios the range touches to 4 KiB and those folios to order 0 (the MMU
 * cache top-up and the new leaves beside the old; xas_split_alloc(), the
 * freeze, the metadata record and the HVO restore of each folio). Nothing
 * the guest, the host or a snapshot sees changes here, and a failure
 * undoes all of it: all or nothing across huge pages and slots.
 */
static int planned_prepare_shared(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				  pgoff_t *err_index, struct planned_splits *ps)
{
	struct folio *folio;
	size_t count = 0;
	bool pmd;
	pgoff_t pos;
	int err;

	if (!inode->page_order)
		return 0;
	huge_round(inode, start, end, &ps->hs, &ps->he);
	err = planned_check_whole(inode, start, end, ps->hs, ps->he, err_index, &count);
	if (err || !count)
		return err;
	ps->pmd = planned_pmd(inode, start, end, ps->hs, ps->he);
	*err_index = start;
	ps->preps = gs_alloc(GS_SITE_KMALLOC, count * sizeof(*ps->preps), GFP_KERNEL);
	if (!ps->preps)
		return -ENOMEM;
	ps->cap = count;
	pos = ps->hs;
	/* Planted (test-only): the folio split without the leaf split before it (P40, P41). */
	if (!gs_test_bug(GS_BUG_HUGE_LEAF_AFTER_SPLIT))
		err = kvm_gmem_prepare_split_huge_leafs(inode, ps->hs, ps->he, KVM_FILTER_PRIVATE,
							ps->pmd ? 9 : 0);
	ps->leaves = !err && !gs_test_bug(GS_BUG_HUGE_LEAF_AFTER_SPLIT);
	while (!err && (folio = planned_next_split(inode, start, end, ps->he, &pos))) {
		err = kvm_gmem_prepare_split_toward(inode, convert_vm, folio, start, end,
						    &ps->preps[ps->nr], &pmd);
		ps->nr += !err;
	}
	if (err)
		planned_cancel_shared(inode, ps);
	return err;
}

/* Past the point of no return: the prepared splits happen, leaves first (P40); nothing fails. */
static void planned_commit_shared(struct gmem_inode *inode, struct planned_splits *ps,
				  pgoff_t start, pgoff_t end)
{
	if (ps->leaves)
		kvm_gmem_finish_split_huge_leafs(inode, ps->hs, ps->he, true);
	/* The 2 MiB leaves over the pieces going on to 4 KiB go before them (P40). */
	if (ps->pmd && ps->nr)
		kvm_gmem_invalidate(inode, ALIGN_DOWN(start, PMD_NR_PAGES),
				    ALIGN(end, PMD_NR_PAGES));
	for (size_t i = 0; i < ps->nr; i++)
		hugetlb_restructuring_commit_split(&ps->preps[i]);
	stats.splits += ps->nr;
	planned_splits_free(ps);
}

/*
 * The planned ordering (P37; for 4 KiB files exactly v8's P7): 1 maple
 * preallocation; 2a to private: unmap host, refcounts, merge checks; 2b to
 * shared: every fallible step of the stage-2 leaf and folio splits; then
 * the point of no return: the splits, 3-6 invalidate begin (zap), store,
 * invalidate end; 7 to private: merge.
 */
static int convert_planned(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
			   pgoff_t *err_index)
{
	void *entry = xa_mk_value(to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL);
	struct planned_splits ps = {0};
	struct planned_merges pm = {0};
	unsigned long first, last;
	int err;

	*err_index = start;
	convert_store_range(inode, start, end, entry, &first, &last);
	MA_STATE(mas, &inode->shareability, first, last);
	if (mas_preallocate(&mas, entry, GFP_KERNEL)) {
		stats.enomem++;
		return -ENOMEM;
	}
	err = to_private ? planned_prepare_private(inode, start, end, err_index, &pm)
			 : planned_prepare_shared(inode, start, end, err_index, &ps);
	if (err) {
		mas_destroy(&mas);
		if (err == -EAGAIN && to_private)
			stats.eagain++;
		return err;
	}
	/* Point of no return: from here on nothing fails and nothing is undone. */
	planned_commit_shared(inode, &ps, start, end);
	gmem_convert_commit(inode, start, end, to_private, &mas, entry);
	stats.batches++;
	/* Planted (test-only): no merge on to-private (P41). */
	if (to_private && inode->page_order && !gs_test_bug(GS_BUG_NO_MERGE_TO_PRIVATE))
		convert_merge(inode, start, end, &pm);
	return 0;
}

/*
 * One wip batch (P35): [start, end) inside one huge page. Preallocate; to
 * private: unmap, refcounts (error_offset = folio->index, below start for
 * a huge folio); to shared: split the cross-boundary private leaves; zap
 * the huge-page-rounded range; restructure (error: no store, the zap
 * stays); store. *zapped: the batch changed stage-2 before failing.
 */
static int wip_batch(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
		     pgoff_t *err_index, bool *zapped)
{
	void *entry = xa_mk_value(to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL);
	unsigned long first, last;
	struct folio *folio;
	bool drained = false;
	pgoff_t hs, he;
	int err = 0;

	*err_index = start;
	huge_round(inode, start, end, &hs, &he);
	convert_store_range(inode, start, end, entry, &first, &last);
	MA_STATE(mas, &inode->shareability, first, last);
	if (mas_preallocate(&mas, entry, GFP_KERNEL)) {
		stats.enomem++;
		return -ENOMEM;
	}
	if (to_private) {
		kvm_gmem_unmap_host(inode, start, end);
		folio = gmem_referenced_folio(inode, start, end, &drained);
		if (folio) {
			*err_index = folio->index;
			stats.eagain++;
			err = -EAGAIN;
		}
	} else {
		err = kvm_gmem_split_cross_boundary_leafs(inode, start, end, KVM_FILTER_PRIVATE);
		if (err)
			stats.failed_splits++;
	}
	if (err)
		goto out;
	gmem_convert_invalidate_begin(inode, hs, he, kvm_gmem_get_invalidate_filter(inode, hs, he));
	if (!to_private)
		gmem_convert_arch_invalidate(inode, start, end);
	gmem_convert_invalidate_end(inode, hs, he);
	*zapped = range_bound(inode, hs, he);
	folio = kvm_gmem_whole_huge_folio(inode, start);
	if (!to_private && folio) {
		/* The kernel's split: an unexpected reference WARNs and fails it. */
		err = kvm_gmem_split_huge_folio(inode, folio);
		stats.failed_splits += !!err;
		stats.splits += !err;
	} else if (to_private && inode->page_order && !gs_test_bug(GS_BUG_NO_MERGE_TO_PRIVATE)) {
		err = convert_prepare_merge(inode, hs, start, end, &drained);
		if (!err) {
			kvm_gmem_merge_huge_page(inode, hs);
			stats.merges++;
		}
		err = err > 0 ? 0 : err;
	}
	if (err)
		goto out;
	mas_store_prealloc(&mas, entry);
	stats.converted++;
	stats.batches++;
	stats.pages += end - start;
	return 0;
out:
	mas_destroy(&mas);
	return err;
}

/* The wip ordering (P35): batch by batch; batches done stay done when a later one fails. */
static int convert_wip(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
		       pgoff_t *err_index, bool *partial)
{
	pgoff_t b, be, nr = 1UL << inode->page_order;
	bool zapped = false;
	int err;

	for (b = start; b < end; b = be) {
		/* A 4 KiB file is one batch. */
		be = inode->page_order && ALIGN_DOWN(b, nr) + nr < end ? ALIGN_DOWN(b, nr) + nr
								       : end;
		err = wip_batch(inode, b, be, to_private, err_index, &zapped);
		if (err) {
			*partial = b > start || zapped;
			return err;
		}
	}
	return 0;
}

/* --- rfc-v2 (P20, P25, docs/CONVERSION.md "Orderings"): a work list with rollback --- */

/*
 * One item of the work list: a sub-range [start, end) whose value differs
 * from the target, inside the tree's range [first, last] it came from.
 */
struct rfc_work {
	pgoff_t start, end;
	unsigned long first, last;
};

/*
 * One rfc-v2 call. On a HugeTLB file @done has a bit per huge page of
 * [@hs, round_up(end)): the pages this call split (to shared) or merged (to
 * private), which is what undoing an item reverses (P25).
 */
struct rfc_conv {
	struct gmem_inode *inode;
	struct rfc_work *work;
	size_t nr;
	bool to_private;
	void *entry, *old;
	pgoff_t hs;
	unsigned long *done;
	size_t done_size;
};

/*
 * The sub-ranges of [start, end) that do not hold @entry, one item per
 * range of the tree. The list is allocated (ENOMEM possible); at least one
 * item exists, since the caller ruled out a no-op.
 */
static int rfc_compute_work(struct gmem_inode *inode, pgoff_t start, pgoff_t end, void *entry,
			    struct rfc_work **workp, size_t *nrp)
{
	MA_STATE(count, &inode->shareability, start, start);
	MA_STATE(mas, &inode->shareability, start, start);
	struct rfc_work *work;
	size_t nr = 0, i = 0;
	void *cur;

	mas_for_each (&count, cur, end - 1)
		nr += cur != entry;
	work = gs_alloc(GS_SITE_KMALLOC, nr * sizeof(*work), GFP_KERNEL);
	if (!work)
		return -ENOMEM;
	mas_for_each (&mas, cur, end - 1) {
		if (cur == entry || i == nr)
			continue;
		work[i].first = mas.index;
		work[i].last = mas.last;
		work[i].start = mas.index > start ? mas.index : start;
		work[i].end = mas.last + 1 < end ? mas.last + 1 : end;
		i++;
	}
	*workp = work;
	*nrp = nr;
	return 0;
}

/*
 * HugeTLB files: the bitmap of huge pages this call restructures, allocated
 * with the work list (ENOMEM, nothing changed). The RFC needs none: it
 * undoes a restructure by redoing the opposite one over the item's range
 * (execute_work(!shared)). gmemsim names the pages, so that an undo reverses
 * exactly what the call did and the state after a failure equals the state
 * before (a page split or merged before the call stays so).
 */
static int rfc_done_alloc(struct rfc_conv *c, pgoff_t start, pgoff_t end)
{
	pgoff_t he;

	if (!c->inode->page_order)
		return 0;
	huge_round(c->inode, start, end, &c->hs, &he);
	c->done_size = BITS_TO_LONGS((he - c->hs) >> c->inode->page_order) * sizeof(unsigned long);
	c->done = gs_alloc(GS_SITE_KMALLOC, c->done_size, GFP_KERNEL | __GFP_ZERO);
	return c->done ? 0 : -ENOMEM;
}

static void rfc_done_free(struct rfc_conv *c)
{
	if (c->done)
		gs_free(GS_SITE_KMALLOC, c->done, c->done_size);
}

static unsigned long rfc_bit(const struct rfc_conv *c, pgoff_t h)
{
	return (h - c->hs) >> c->inode->page_order;
}

static void rfc_mark(struct rfc_conv *c, pgoff_t h)
{
	unsigned long b = rfc_bit(c, h);

	c->done[b / BITS_PER_LONG] |= 1UL << (b % BITS_PER_LONG);
}

/* Was the page at @h restructured by this call? Forget it (it is being undone). */
static bool rfc_unmark(struct rfc_conv *c, pgoff_t h)
{
	unsigned long b = rfc_bit(c, h), mask = 1UL << (b % BITS_PER_LONG);
	bool was = c->done[b / BITS_PER_LONG] & mask;

	c->done[b / BITS_PER_LONG] &= ~mask;
	return was;
}

/*
 * The huge pages item @k restructures: those overlapping it (P25's
 * [round_down(start), round_up(end))). To shared, a page the previous item
 * also overlaps was split by that item (the first to reach it), so it
 * belongs to that item's undo; to private, the last item to reach a page
 * merges it (only then is all of it private), and the undo runs newest
 * first, so nothing needs excluding.
 */
static void rfc_window(const struct rfc_conv *c, size_t k, pgoff_t *first, pgoff_t *end)
{
	pgoff_t prev_end, unused;

	huge_round(c->inode, c->work[k].start, c->work[k].end, first, end);
	if (c->to_private || !k)
		return;
	huge_round(c->inode, c->work[k - 1].start, c->work[k - 1].end, &unused, &prev_end);
	if (prev_end > *first)
		*first = prev_end;
}

/*
 * To shared: split the whole huge folio at @h to order 0, after the private
 * stage-2 leaves over it (P40). The zap of the item's rounded range took
 * those already, so the leaf split finds nothing here; it keeps the rule's
 * order. The freeze meets an unexpected reference with a WARN and EAGAIN
 * (the kernel spins there). 1: no whole folio.
 */
static int rfc_split_page(struct gmem_inode *inode, pgoff_t h)
{
	struct folio *folio = kvm_gmem_whole_huge_folio(inode, h);
	int err;

	if (!folio)
		return 1;
	err = kvm_gmem_split_huge_leafs(inode, h, h + (1UL << inode->page_order),
					KVM_FILTER_PRIVATE, 0);
	if (!err)
		err = kvm_gmem_split_huge_folio(inode, folio);
	stats.failed_splits += !!err;
	stats.splits += !err;
	return err;
}

/*
 * To private: merge the split page at @h when no page of it is shared any
 * more. A referenced piece (after one LRU drain) is the kernel's freeze
 * spinning: WARN and EAGAIN. 1: nothing to merge.
 */
static int rfc_merge_page(struct gmem_inode *inode, pgoff_t h, bool *drained)
{
	pgoff_t he = h + (1UL << inode->page_order);
	int err;

	if (!kvm_gmem_range_private(inode, h, he) || gs_test_bug(GS_BUG_NO_MERGE_TO_PRIVATE))
		return 1;
	err = convert_prepare_merge(inode, h, h, he, drained);
	if (err) {
		WARN(err == -EAGAIN, "rfc-v2: huge page %lx has a referenced piece", h);
		return err;
	}
	kvm_gmem_merge_huge_page(inode, h);
	stats.merges++;
	return 0;
}

/*
 * Reverse what this call did to the pages of [first, end), newest first:
 * merge back a page it split (cannot fail: the pieces are the call's own,
 * unmapped, holding only the page cache's references) or split back a page
 * it merged (can fail: ENOMEM; a WARN, as every failure during rollback).
 */
static void rfc_unrestructure(struct rfc_conv *c, pgoff_t first, pgoff_t end)
{
	pgoff_t h, nr = 1UL << c->inode->page_order;

	for (h = end; h > first;) {
		h -= nr;
		if (!rfc_unmark(c, h))
			continue;
		if (c->to_private) {
			WARN_ON(rfc_split_page(c->inode, h));
		} else if (!WARN_ON(kvm_gmem_prepare_merge(c->inode, h))) {
			kvm_gmem_merge_huge_page(c->inode, h);
			stats.merges++;
		}
	}
}

/*
 * P25's restructure of item @k, after its store (the RFC's
 * kvm_gmem_convert_execute_work(): "apply shareability first so split/merge
 * can operate on new shareability state"): to shared splits every whole
 * huge folio the item overlaps, to private merges every page it overlaps
 * that is all private now. A failure undoes the pages done before it, in
 * reverse (kvm_gmem_restructure_folios_in_range()'s rollback).
 */
static int rfc_restructure(struct rfc_conv *c, size_t k)
{
	pgoff_t h, first, end, nr = 1UL << c->inode->page_order;
	bool drained = false;
	int err = 0;

	if (!c->done)
		return 0;
	rfc_window(c, k, &first, &end);
	for (h = first; h < end; h += nr) {
		err = c->to_private ? rfc_merge_page(c->inode, h, &drained)
				    : rfc_split_page(c->inode, h);
		if (err < 0)
			break;
		if (!err)
			rfc_mark(c, h);
		err = 0;
	}
	if (err)
		rfc_unrestructure(c, first, h);
	return err;
}

/* Store @entry over [first, last] (mtree_store_range()); ENOMEM when a node must split. */
static int rfc_store(struct gmem_inode *inode, unsigned long first, unsigned long last, void *entry)
{
	MA_STATE(mas, &inode->shareability, first, last);

	if (mas_preallocate(&mas, entry, GFP_KERNEL))
		return -ENOMEM;
	mas_store_prealloc(&mas, entry);
	return 0;
}

/*
 * Apply one item: the RFC stores exactly the item, so the tree keeps
 * neighbouring ranges of equal value apart (unlike v8's P1) and an item cut
 * from a longer range splits it, which is where the store allocates.
 */
static int rfc_apply(struct gmem_inode *inode, const struct rfc_work *w, void *entry)
{
	return rfc_store(inode, w->start, w->end - 1, entry);
}

/*
 * Undo item @k: the old value over the whole tree range the item came from
 * (the values are the kernel's, which stores the old value over the item;
 * the tree's shape is also as before, so state snapshots compare equal),
 * then, on a HugeTLB file, the opposite restructure of the pages the item
 * restructured. Each failure WARNs.
 */
static void rfc_undo(struct rfc_conv *c, size_t k)
{
	pgoff_t first, end;

	WARN_ON(rfc_store(c->inode, c->work[k].first, c->work[k].last, c->old));
	if (c->done) {
		rfc_window(c, k, &first, &end);
		rfc_unrestructure(c, first, end);
	}
}

/*
 * Undo the @applied items (those whose store happened; the one that failed
 * counts when its restructure failed after its store), newest first, as the
 * reviewed loop does: it steps back before it looks and stops once it has
 * undone the first item, so when nothing was applied (the first item's
 * store failed) it steps to index -1 (the review's "decremented below the
 * start"), which the kernel would read out of bounds and keep walking. Here
 * that step WARNs and ends the loop, which is therefore bounded by
 * @applied + 1 steps.
 */
static void rfc_rollback(struct rfc_conv *c, size_t applied)
{
	size_t i = applied;

	do {
		i--;
		if (WARN(i >= c->nr, "rfc-v2 rollback: work index %ld below the first item",
			 (long)i)) {
			stats.rollback_oob++;
			gs_trace("gmem.convert.rollback_oob", GS_TF_S("index", (long)i),
				 GS_TF_U("failed", applied));
			return;
		}
		rfc_undo(c, i);
		stats.rollbacks++;
	} while (i != 0);
}

/* To private: unmap and check every item's folios; error_index = folio->index (P20). */
static int rfc_check_refs(struct gmem_inode *inode, const struct rfc_work *work, size_t nr,
			  pgoff_t *err_index)
{
	bool drained = false;
	struct folio *folio;

	for (size_t i = 0; i < nr; i++) {
		kvm_gmem_unmap_host(inode, work[i].start, work[i].end);
		folio = gmem_referenced_folio(inode, work[i].start, work[i].end, &drained);
		if (folio) {
			*err_index = folio->index;
			stats.eagain++;
			return -EAGAIN;
		}
	}
	return 0;
}

/*
 * Invalidate begin (with the zap, filter from the item's own attributes) or
 * end for every item, over the item's range rounded out to huge pages (P25;
 * 4 KiB files: the item). To shared that unmaps the private leaves over
 * every huge page the item overlaps.
 */
static void rfc_invalidate(const struct rfc_conv *c, bool begin)
{
	pgoff_t hs, he;

	for (size_t i = 0; i < c->nr; i++) {
		huge_round(c->inode, c->work[i].start, c->work[i].end, &hs, &he);
		if (begin)
			gmem_convert_invalidate_begin(
				c->inode, hs, he,
				kvm_gmem_get_invalidate_filter(c->inode, c->work[i].start,
							       c->work[i].end));
		else
			gmem_convert_invalidate_end(c->inode, hs, he);
	}
}

/*
 * Apply the items in order: store, then (HugeTLB) restructure. On a failure
 * the item's error and the rollback of every item applied; *err_index is
 * the failing item's start (the RFC leaves error_index unset there).
 */
static int rfc_execute(struct rfc_conv *c, pgoff_t *err_index)
{
	size_t i, applied = 0;
	int err = 0;

	for (i = 0; i < c->nr && !err; i++) {
		err = rfc_apply(c->inode, &c->work[i], c->entry);
		if (!err) {
			applied = i + 1;
			err = rfc_restructure(c, i);
		}
		if (err) {
			*err_index = c->work[i].start;
			stats.enomem += err == -ENOMEM;
			stats.eagain += err == -EAGAIN;
			rfc_rollback(c, applied);
		}
	}
	return err;
}

/*
 * The rfc-v2 ordering: the work list; invalidate begin on every item (the
 * zap); to private: unmap + refcounts; apply the items in order (store,
 * then split or merge on a HugeTLB file), and on a failure roll back the
 * ones applied; invalidate end. There is no point of no return before the
 * zap, so a failure after it leaves the guest mappings of the items zapped
 * (*partial when a slot is bound).
 */
static int convert_rfc_v2(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
			  pgoff_t *err_index, bool *partial)
{
	struct rfc_conv c = {
		.inode = inode,
		.to_private = to_private,
		.entry = xa_mk_value(to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL),
		.old = xa_mk_value(to_private ? SHAREABILITY_ALL : SHAREABILITY_GUEST),
	};
	pgoff_t hs, he;
	int err;

	*err_index = start;
	err = rfc_compute_work(inode, start, end, c.entry, &c.work, &c.nr);
	if (!err) {
		err = rfc_done_alloc(&c, start, end);
		if (err)
			gs_free(GS_SITE_KMALLOC, c.work, c.nr * sizeof(*c.work));
	}
	if (err) {
		stats.enomem++;
		return err;
	}
	rfc_invalidate(&c, true);
	huge_round(inode, start, end, &hs, &he);
	*partial = range_bound(inode, hs, he);
	err = to_private ? rfc_check_refs(inode, c.work, c.nr, err_index) : 0;
	if (!err)
		err = rfc_execute(&c, err_index);
	for (size_t i = 0; i < c.nr && !err; i++) {
		if (!to_private)
			gmem_convert_arch_invalidate(inode, c.work[i].start, c.work[i].end);
		stats.pages += c.work[i].end - c.work[i].start;
	}
	rfc_invalidate(&c, false);
	stats.converted += !err;
	stats.batches += !err;
	rfc_done_free(&c);
	gs_free(GS_SITE_KMALLOC, c.work, c.nr * sizeof(*c.work));
	return err;
}

/*
 * The punch-hole strategy: no conversion in place. The attribute store is
 * prepared first, so that once the range is punched (gmem_punch_convert.c)
 * nothing fails: the old memory is gone and the next fault allocates it
 * anew with the new attribute.
 */
static int convert_punch(struct gmem_inode *inode, pgoff_t start, pgoff_t end, bool to_private,
			 pgoff_t *err_index)
{
	void *entry = xa_mk_value(to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL);
	unsigned long first, last;
	int err;

	*err_index = start;
	if (inode->page_order)
		return -EOPNOTSUPP;
	convert_store_range(inode, start, end, entry, &first, &last);
	MA_STATE(mas, &inode->shareability, first, last);
	if (mas_preallocate(&mas, entry, GFP_KERNEL)) {
		stats.enomem++;
		return -ENOMEM;
	}
	err = kvm_gmem_punch_convert(inode, start, end);
	if (err) {
		mas_destroy(&mas);
		return err;
	}
	mas_store_prealloc(&mas, entry);
	stats.converted++;
	stats.pages += end - start;
	return 0;
}

/*
 * The conversion of file pages [start, end) under the VM's ordering. On
 * failure *err_index is the page error_offset names.
 */
static int __kvm_gmem_set_attributes(struct gmem_inode *inode, pgoff_t start, pgoff_t end,
				     bool to_private, enum gs_gmem_conversion order,
				     pgoff_t *err_index)
{
	enum kvm_gmem_shareability want = to_private ? SHAREABILITY_GUEST : SHAREABILITY_ALL;
	bool partial = false;
	int err;

	stats.calls++;
	/* Before any reference is looked at: a pinned private page stays convertible to private. */
	if (kvm_gmem_range_shareability(inode, start, end) == (int)want) {
		stats.noop++;
		return 0;
	}
	/* THPs split before any ordering's steps; a split is never undone (gmem_thp.c). */
	if (order != GS_CONVERSION_PUNCH_HOLE) {
		err = kvm_gmem_thp_split_range(inode, start, end, to_private, err_index, &partial);
		if (err == -EAGAIN) {
			lru_add_drain_all();
			err = kvm_gmem_thp_split_range(inode, start, end, to_private, err_index,
						       &partial);
		}
		if (err) {
			stats.partial += partial;
			return err;
		}
	}
	switch (order) {
	case GS_CONVERSION_PUNCH_HOLE:
		err = convert_punch(inode, start, end, to_private, err_index);
		break;
	case GS_CONVERSION_V8:
		/* v8 has no HugeTLB files; what it would do with one is undefined. */
		if (inode->page_order)
			return -EOPNOTSUPP;
		err = convert_planned(inode, start, end, to_private, err_index);
		break;
	case GS_CONVERSION_RFC_V2:
		err = convert_rfc_v2(inode, start, end, to_private, err_index, &partial);
		break;
	case GS_CONVERSION_WIP:
		err = convert_wip(inode, start, end, to_private, err_index, &partial);
		break;
	default:
		err = convert_planned(inode, start, end, to_private, err_index);
		break;
	}
	/* What merges did not take of the nodes reserved for them. */
	kvm_gmem_merge_reserve_free(inode);
	if (err && partial)
		stats.partial++;
	return err;
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
		return err < 0 ? err : 0;
	convert_vm = file->vm;
	err = __kvm_gmem_set_attributes(file->inode, a->offset >> PAGE_SHIFT,
					(a->offset + a->size) >> PAGE_SHIFT, to_private,
					file->vm->conversion, err_index);
	convert_vm = NULL;
	gs_trace("gmem.convert", GS_TF_U("ino", file->inode->ino), GS_TF_X("offset", a->offset),
		 GS_TF_X("size", a->size), GS_TF_STR("to", to_private ? "private" : "shared"),
		 GS_TF_S("ret", err));
	return err;
}

int kvm_gmem_set_attributes(struct gmem_file *file, struct gs_kvm_memory_attributes2 *attrs)
{
	pgoff_t err_index;
	int err;

	gs_metrics_conv_begin();
	err = gmem_set_attributes(file, attrs, &err_index);
	gs_metrics_conv_end(err);
	if (err && err_index != ULONG_MAX)
		attrs->error_offset = (uint64_t)(err_index + gs_test_bug(GS_BUG_ERROR_OFFSET))
				      << PAGE_SHIFT;
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
	gs_metrics_conv_begin();
	err = gmem_set_attributes(file, &attrs, &err_index);
	gs_metrics_conv_end(err);
	/* Only the field is written back, and only when the conversion failed. */
	if (err && err_index != ULONG_MAX) {
		/* TEST-ONLY: the oracle's tests plant a wrong page here (docs/ORACLE.md). */
		uint64_t off = (uint64_t)(err_index + gs_test_bug(GS_BUG_ERROR_OFFSET))
			       << PAGE_SHIFT;

		memcpy((char *)uarg + offsetof(struct gs_kvm_memory_attributes2, error_offset),
		       &off, sizeof(off));
	}
	return err;
}
