/* SPDX-License-Identifier: MIT */
/*
 * Folio and page operations with the kernel's names (include/linux/mm.h,
 * page-flags.h, page_ref.h, hugetlb.h): flag tests, reference counting with
 * the freeze protocol, order and size, and the HugeTLB fields of a folio.
 * The vmemmap, pfn and split/merge functions are declared here and
 * implemented in lib/folio.c.
 */
#ifndef GMEMSIM_FOLIO_H
#define GMEMSIM_FOLIO_H

#include <gmemsim/compiler.h>
#include <gmemsim/mm_types.h>
#include <gmemsim/physmem.h>
#include <gmemsim/warn.h>

/* --- flags --- */

static inline bool folio_test_flag(const struct folio *folio, enum pageflags bit)
{
	return folio->flags & (1UL << bit);
}

static inline void folio_set_flag(struct folio *folio, enum pageflags bit)
{
	folio->flags |= 1UL << bit;
}

static inline void folio_clear_flag(struct folio *folio, enum pageflags bit)
{
	folio->flags &= ~(1UL << bit);
}

#define GS_FOLIO_FLAG(name, bit)                                    \
	static inline bool folio_test_##name(const struct folio *f) \
	{                                                           \
		return folio_test_flag(f, bit);                     \
	}                                                           \
	static inline void folio_set_##name(struct folio *f)        \
	{                                                           \
		folio_set_flag(f, bit);                             \
	}                                                           \
	static inline void folio_clear_##name(struct folio *f)      \
	{                                                           \
		folio_clear_flag(f, bit);                           \
	}

GS_FOLIO_FLAG(locked, PG_locked)
GS_FOLIO_FLAG(uptodate, PG_uptodate)
GS_FOLIO_FLAG(head, PG_head)
GS_FOLIO_FLAG(hwpoison, PG_hwpoison)
GS_FOLIO_FLAG(hugetlb, PG_hugetlb)
GS_FOLIO_FLAG(needs_merge, PG_needs_merge)

/* HugeTLB-private flags live in folio->private, as the kernel's HPG_* bits. */
#define GS_HPAGE_FLAG(name, bit)                                                  \
	static inline bool folio_test_hugetlb_##name(const struct folio *f)       \
	{                                                                         \
		return (unsigned long)f->private & (1UL << bit);                  \
	}                                                                         \
	static inline void folio_set_hugetlb_##name(struct folio *f)              \
	{                                                                         \
		f->private = (void *)((unsigned long)f->private | (1UL << bit));  \
	}                                                                         \
	static inline void folio_clear_hugetlb_##name(struct folio *f)            \
	{                                                                         \
		f->private = (void *)((unsigned long)f->private & ~(1UL << bit)); \
	}

GS_HPAGE_FLAG(restore_reserve, HPG_restore_reserve)
GS_HPAGE_FLAG(migratable, HPG_migratable)
GS_HPAGE_FLAG(temporary, HPG_temporary)
GS_HPAGE_FLAG(freed, HPG_freed)
GS_HPAGE_FLAG(vmemmap_optimized, HPG_vmemmap_optimized)
GS_HPAGE_FLAG(raw_hwp_unreliable, HPG_raw_hwp_unreliable)

/* --- order and size --- */

static inline unsigned int folio_order(const struct folio *folio)
{
	return folio_test_head(folio) ? folio->_folio_order : 0;
}

static inline unsigned long folio_nr_pages(const struct folio *folio)
{
	return 1UL << folio_order(folio);
}

static inline size_t folio_size(const struct folio *folio)
{
	return PAGE_SIZE << folio_order(folio);
}

static inline bool folio_test_large(const struct folio *folio)
{
	return folio_test_head(folio);
}

/* --- references (include/linux/page_ref.h) --- */

static inline int folio_ref_count(const struct folio *folio)
{
	return atomic_read(&folio->_refcount);
}

static inline void folio_get(struct folio *folio)
{
	WARN_ON_ONCE(folio_ref_count(folio) <= 0);
	folio->_refcount.counter++;
}

/* Take a reference unless the folio is frozen or free (refcount 0). */
static inline bool folio_try_get(struct folio *folio)
{
	if (folio_ref_count(folio) <= 0)
		return false;
	folio->_refcount.counter++;
	return true;
}

static inline void folio_ref_add(struct folio *folio, int nr)
{
	folio->_refcount.counter += nr;
}

/* Drop references; returns true when the count reached zero. */
static inline bool folio_ref_sub_and_test(struct folio *folio, int nr)
{
	WARN_ON_ONCE(folio_ref_count(folio) < nr);
	folio->_refcount.counter -= nr;
	return folio->_refcount.counter == 0;
}

/* A struct page's _mapcount and _refcount, read as one word (they are adjacent). */
_Static_assert(offsetof(struct page, _refcount) == offsetof(struct page, _mapcount) + 4,
	       "_mapcount and _refcount adjacent");

/**
 * gs_page_counts() - a struct page's _mapcount and _refcount as one word
 * @page: the struct page
 *
 * For the walks that test many pieces' counts at once (a merge's check and
 * freeze): one load and one comparison with the word a piece must have.
 *
 * Context: any.
 * Return: the two counts, _mapcount in the low half on this little-endian host.
 */
static inline uint64_t gs_page_counts(const struct page *page)
{
	uint64_t w;

	__builtin_memcpy(&w, &page->_mapcount, sizeof(w));
	return w;
}

/**
 * struct gs_pieces4 - the words of four consecutive struct pages, combined
 * @f_or: their flags or-ed
 * @f_and: their flags and-ed
 * @private: their private words or-ed
 * @not_heads: nonzero unless each has a first word that is set and not a
 *	       tail's (a head of its own: gs_head_pfn_folio() answers for it)
 * @other: nonzero unless each has @mapping and the counts word @counts
 *	   (gs_pieces4_read())
 *
 * The merge's check and freeze judge four order-0 pieces with one branch;
 * a group that fails is walked piece by piece, so the first failing piece
 * answers as before.
 */
struct gs_pieces4 {
	unsigned long f_or, f_and, private, not_heads, other;
};

/**
 * gs_pieces4_read() - combine the words of the four struct pages at @q
 * @q: the first of four consecutive struct pages
 * @mapping: the mapping each must have
 * @check_mapping: whether @mapping is tested (else ignored)
 * @counts: the gs_page_counts() each must have
 * @g: the combined words
 *
 * Bit 63 of the first word - 1 is set for a word of 0 (and for words no
 * user-space pointer has: those fail and go the slow way).
 *
 * Context: any.
 */
static __always_inline void gs_pieces4_read(const struct page *q, const void *mapping,
					    bool check_mapping, uint64_t counts,
					    struct gs_pieces4 *g)
{
	unsigned long i_or = 0, i_dec = 0, m_x = 0;
	uint64_t cnt = 0;

	g->f_or = 0;
	g->f_and = ~0UL;
	g->private = 0;
	for (int k = 0; k < 4; k++) {
		unsigned long info = q[k].compound_info;

		g->f_or |= q[k].flags;
		g->f_and &= q[k].flags;
		i_or |= info;
		i_dec |= info - 1;
		if (check_mapping) {
			g->private |= q[k].private;
			m_x |= (unsigned long)q[k].mapping ^ (unsigned long)mapping;
		}
		cnt |= gs_page_counts(&q[k]) ^ counts;
	}
	g->not_heads = (i_or & GS_PAGE_TAIL) | (i_dec >> 63);
	g->other = m_x | cnt;
}

/* Succeeds only when exactly @count references exist, leaving the count at 0. */
static inline bool folio_ref_freeze(struct folio *folio, int count)
{
	if (folio_ref_count(folio) != count)
		return false;
	atomic_set(&folio->_refcount, 0);
	return true;
}

static inline void folio_ref_unfreeze(struct folio *folio, int count)
{
	WARN_ON_ONCE(folio_ref_count(folio) != 0 || count == 0);
	atomic_set(&folio->_refcount, count);
}

static inline void folio_set_count(struct folio *folio, int count)
{
	atomic_set(&folio->_refcount, count);
}

/* --- HugeTLB fields (page 3 of the folio) --- */

struct hugepage_subpool;
struct hugetlb_cgroup;

static inline struct hugepage_subpool *hugetlb_folio_subpool(const struct folio *folio)
{
	return folio->_hugetlb_subpool;
}

static inline void hugetlb_set_folio_subpool(struct folio *folio, struct hugepage_subpool *spool)
{
	folio->_hugetlb_subpool = spool;
}

static inline struct hugetlb_cgroup *hugetlb_cgroup_from_folio(const struct folio *folio)
{
	return folio->_hugetlb_cgroup;
}

static inline struct hugetlb_cgroup *hugetlb_cgroup_from_folio_rsvd(const struct folio *folio)
{
	return folio->_hugetlb_cgroup_rsvd;
}

static inline void set_hugetlb_cgroup(struct folio *folio, struct hugetlb_cgroup *cg)
{
	folio->_hugetlb_cgroup = cg;
}

static inline void set_hugetlb_cgroup_rsvd(struct folio *folio, struct hugetlb_cgroup *cg)
{
	folio->_hugetlb_cgroup_rsvd = cg;
}

/* --- pages, pfns and folios (lib/folio.c) --- */

/**
 * page_folio() - the folio a page belongs to
 * @page: any struct page of an initialized folio
 *
 * Tail pages carry their folio's order, so the head is found by aligning
 * the pfn. Tails of an HVO-optimized folio read as zero (their vmemmap is
 * the shared zero page); they are resolved through the huge page around
 * them.
 *
 * Context: any.
 * Return: the folio.
 */
GS_API struct folio *page_folio(const struct page *page);

static inline struct page *folio_page(struct folio *folio, unsigned long n)
{
	return &folio->page + n;
}

static inline unsigned long folio_pfn(const struct folio *folio)
{
	return page_to_pfn(&folio->page);
}

static inline struct folio *pfn_folio(unsigned long pfn)
{
	return page_folio(pfn_to_page(pfn));
}

/*
 * pfn_folio() for walks that step from one folio's head to the next (a
 * split page's pieces): a head answers for itself without the call, which
 * such a walk makes for every one of a 1 GiB page's 262,144 pieces. Any
 * other page goes through page_folio(), so the answer is the same.
 */
static inline struct folio *gs_head_pfn_folio(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);
	unsigned long info = page->compound_info;

	if (info && !(info & GS_PAGE_TAIL))
		return (struct folio *)page;
	return page_folio(page);
}

/** folio_address() - host address of the folio's data, NULL when metadata-only */
static inline void *folio_address(const struct folio *folio)
{
	return gs_pfn_to_virt(folio_pfn(folio));
}

/**
 * gs_folio_init() - make [pfn, pfn + 2^order) one folio (prep_compound_page)
 * @pfn: first pfn, aligned to 2^order
 * @order: folio order
 * @flags: initial page flags (PG_head is added for order >= 1)
 * @tails_upto: write tail struct pages only below this page index (the
 *              first vmemmap page when HVO will drop the rest); ~0UL for all
 *
 * The reference count starts at 0; the caller sets it.
 *
 * Context: any.
 * Return: the folio.
 */
GS_API struct folio *gs_folio_init(unsigned long pfn, unsigned int order, unsigned long flags,
				   unsigned long tails_upto);

/**
 * gs_folio_write_tails() - (re)write tail struct pages [@from, @to) of a folio
 *
 * Used when vmemmap pages come back (HVO restore): tails hold only the
 * order-encoded tail marker.
 */
GS_API void gs_folio_write_tails(struct folio *folio, unsigned long from, unsigned long to);

/* --- host mappings and pins --- */

static inline int folio_mapcount(const struct folio *folio)
{
	if (folio_test_large(folio))
		return atomic_read(&folio->_large_mapcount) + 1;
	return atomic_read(&folio->_mapcount) + 1;
}

static inline bool folio_mapped(const struct folio *folio)
{
	return folio_mapcount(folio) > 0;
}

/* A host mapping of the folio: one map count and one reference. */
GS_API void gs_folio_map(struct folio *folio);
/* Remove a host mapping: drops the map count and the mapping's reference. */
GS_API void gs_folio_unmap(struct folio *folio);

/*
 * Pins (FOLL_PIN): large folios count them in _pincount plus one reference;
 * small folios add GUP_PIN_COUNTING_BIAS references, as the kernel does.
 */
#define GUP_PIN_COUNTING_BIAS 1024
GS_API void gs_folio_pin(struct folio *folio);
GS_API void gs_folio_unpin(struct folio *folio);
GS_API bool folio_maybe_dma_pinned(const struct folio *folio);

/* --- lock --- */

/* Taking a locked folio would sleep forever in a single-threaded simulator: WARN. */
GS_API void folio_lock(struct folio *folio);
GS_API bool folio_trylock(struct folio *folio);
GS_API void folio_unlock(struct folio *folio);

/* --- release --- */

enum gs_folio_kind {
	GS_FOLIO_HUGETLB,     /* back to its HugeTLB pool (free_huge_folio) */
	GS_FOLIO_NEEDS_MERGE, /* a piece of a split huge page: deferred merge */
	GS_FOLIO_OTHER,
	GS_FOLIO_NR_KINDS,
};

/**
 * gs_folio_set_free_hook() - who takes a folio whose last reference is gone
 * @kind: which folios
 * @fn: called with the folio at refcount 0; NULL removes the hook
 *
 * A folio with no hook for its kind is reported with a WARN (it would leak).
 *
 * Context: setup.
 */
GS_API void gs_folio_set_free_hook(enum gs_folio_kind kind, void (*fn)(struct folio *folio));

/**
 * struct gs_folio_split_ops - what the owner of a kind of folio adds to split and merge
 * @vmemmap_ready: for an HVO-optimized folio: do the struct pages of the
 *                 pieces of @new_order exist (hugetlb_vmemmap_prepare_split())?
 * @save: the folio is frozen and about to be split: save what the split
 *        overwrites; an error refuses the split (nothing changed)
 * @restore: pieces that were a folio of this kind are merged into @folio:
 *           put back what @save kept; false if there was no record
 *
 * The folio layer knows no owner: HugeTLB (its metadata and HVO) hooks in
 * here, as it hooks its free path in with gs_folio_set_free_hook(). Any
 * field may be NULL.
 */
struct gs_folio_split_ops {
	bool (*vmemmap_ready)(const struct folio *folio, unsigned int new_order);
	int (*save)(struct folio *folio, gfp_t gfp);
	bool (*restore)(struct folio *folio);
};

/**
 * gs_folio_set_split_ops() - install the split and merge hooks of a kind of folio
 * @kind: which folios (GS_FOLIO_HUGETLB: HugeTLB pages and, at merge, their pieces)
 * @ops: the hooks, or NULL for none; must stay valid while installed
 *
 * Context: setup.
 */
GS_API void gs_folio_set_split_ops(enum gs_folio_kind kind, const struct gs_folio_split_ops *ops);

/** folio_put() - drop a reference; the last one hands the folio to its free hook */
GS_API void folio_put(struct folio *folio);

/** folio_put_refs() - drop @nr references at once */
GS_API void folio_put_refs(struct folio *folio, int nr);

/* --- memory failure (mm/memory-failure.c) --- */

/**
 * folio_set_hugetlb_hwpoison() - memory failure on @page of @folio
 * @folio: the folio holding @page
 * @page: the raw page that is bad
 *
 * Sets PG_hwpoison on the folio, so that no one uses it, and for a large
 * folio (or a piece of a split HugeTLB page) records which raw page is bad,
 * as the kernel's raw_hwp_page list does: a split keeps only the pieces
 * holding a recorded page poisoned, and a freed HugeTLB page keeps only
 * those pages out of use. When the record cannot be allocated (GFP_ATOMIC),
 * the folio is marked raw_hwp_unreliable and every page of it counts as bad.
 * An order-0 page is its own record.
 *
 * Context: any (the record allocates with GFP_ATOMIC).
 * Return: 0 when @page is newly bad; -EHWPOISON when it already was, or the
 * folio was poisoned already (the kernel's answer to a repeated failure).
 */
GS_API int folio_set_hugetlb_hwpoison(struct folio *folio, struct page *page);

/**
 * is_raw_hwpoison_page_in_hugepage() - is this very page bad?
 *
 * Context: any.
 * Return: true for a recorded raw page, for any page of a poisoned folio
 * whose record is unreliable, and for a poisoned order-0 page.
 */
GS_API bool is_raw_hwpoison_page_in_hugepage(const struct page *page);

/**
 * gs_raw_hwpoison_count() - how many raw pages of [@pfn, @pfn + @nr) are recorded bad
 *
 * Context: any.
 * Return: the count.
 */
GS_API unsigned long gs_raw_hwpoison_count(unsigned long pfn, unsigned long nr);

/**
 * gs_raw_hwpoison_find() - the bad raw pages of [@pfn, @pfn + @nr), in order
 * @pfn: first pfn of the range
 * @nr: pfns in the range
 * @pfns: where the first @max recorded pfns go, ascending (NULL if @max is 0)
 * @max: room in @pfns
 *
 * One ordered walk of the records: a caller that wants a window's few
 * records learns them and their count at once.
 *
 * Context: any.
 * Return: how many records the range holds (all of them, also past @max).
 */
GS_API unsigned long gs_raw_hwpoison_find(unsigned long pfn, unsigned long nr, unsigned long *pfns,
					  unsigned long max);

/**
 * gs_raw_hwpoison_any() - does [@pfn, @pfn + @nr) hold a bad raw page?
 * @pfn: first pfn of the range
 * @nr: pfns in the range (0: an empty range, false)
 *
 * Context: any.
 * Return: true at the first record found (the rest are not walked).
 */
GS_API bool gs_raw_hwpoison_any(unsigned long pfn, unsigned long nr);

/**
 * gs_raw_hwpoison_clear() - forget the bad raw pages of [@pfn, @pfn + @nr) (unpoison-pfn)
 *
 * Context: the pages are out of every folio's use.
 * Return: how many records were dropped.
 */
GS_API unsigned long gs_raw_hwpoison_clear(unsigned long pfn, unsigned long nr);

/* --- split and merge --- */

enum gs_split_type {
	GS_SPLIT_UNIFORM,     /* every piece of new_order (split_huge_page_to_list_to_order) */
	GS_SPLIT_NON_UNIFORM, /* buddy-style halving toward one page (folio_split) */
};

/**
 * folio_split() - split a folio into smaller folios
 * @folio: the folio; unmapped, HVO undone, caller holds one reference
 * @new_order: order of the pieces (of the piece containing @at, when non-uniform)
 * @at: the page the caller's reference follows; NULL for the first page
 * @type: uniform or non-uniform
 *
 * The reference count must be exactly the caller's plus, for a folio with a
 * mapping (page cache), one per page (folio_nr_pages(), what
 * __filemap_add_folio() added); otherwise someone else holds the folio and
 * the split is refused. The references are shared out as __folio_split()
 * does: each piece gets its own page-cache references (folio_nr_pages() of
 * the piece: 1 for an order-0 piece), and the caller's one goes to the piece
 * holding @at (the kernel's lock_at page); a piece left with no reference
 * (no page cache) goes to its free hook. Pieces keep mapping and index. A
 * poisoned folio's pieces are poisoned only where they hold a raw page
 * memory failure recorded (all of them when the record is unreliable). Pieces of a
 * HugeTLB folio are marked needs-merge, and its owner's split hooks save
 * its HugeTLB metadata (order, subpool, cgroups) by pfn first
 * (hugetlb_meta_save()), the split's one allocation.
 *
 * Context: folio locked (not checked).
 * Return: 0; -EINVAL when @new_order is not below the folio's order or the
 * folio is still HVO-optimized; -EBUSY when it is mapped; -ENOMEM when the
 * HugeTLB metadata cannot be saved; -EAGAIN when the references are not the
 * expected ones (nothing changed in every case).
 */
GS_API int folio_split(struct folio *folio, unsigned int new_order, struct page *at,
		       enum gs_split_type type);

/**
 * folio_split_refs() - folio_split() for a caller holding @caller_refs references
 * @folio: as folio_split()
 * @new_order: as folio_split()
 * @at: the page the caller's references follow
 * @type: as folio_split()
 * @caller_refs: references the caller holds (0: it relies on the page cache's
 *               alone, freezing at folio_nr_pages(); 1 is folio_split())
 *
 * The freeze expects exactly @caller_refs plus the page cache's
 * folio_nr_pages(); the pieces get their page-cache references and the piece
 * holding @at gets @caller_refs.
 *
 * Context: as folio_split().
 * Return: as folio_split(); also -EINVAL when @caller_refs is negative or
 * nobody would hold the folio (no page cache and no caller reference).
 */
GS_API int folio_split_refs(struct folio *folio, unsigned int new_order, struct page *at,
			    enum gs_split_type type, int caller_refs);

/**
 * __split_folio_to_order() - split a frozen folio into pieces of @new_order
 * @folio: refcount 0 (frozen by the caller), unmapped; HVO undone, or
 *         prepared for optimized pieces (hugetlb_vmemmap_prepare_split())
 * @new_order: order of every piece, below the folio's
 *
 * The step after the point of no return of a caller that did its own
 * checks, freeze and metadata save (mm/hugetlb_restructuring.c's use of
 * the kernel's function of this name): the pieces keep mapping, index and
 * flags (HugeTLB pieces are needs-merge), and are all left frozen at 0;
 * the caller gives them their references. No hook is called.
 *
 * Context: folio locked (not checked); cannot fail.
 */
GS_API void __split_folio_to_order(struct folio *folio, unsigned int new_order);

/**
 * gs_split_folio_to_pages() - __split_folio_to_order() to order 0, references included
 * @folio: as for __split_folio_to_order(), HVO undone
 * @refs: references every page gets (the page cache's: 1), > 0
 *
 * Writes each struct page once with its references, instead of leaving
 * the pages frozen for the caller to write every one again: for a 1 GiB
 * page that second pass over 16 MiB of struct pages cost about two thirds
 * of the memset floor. For a caller whose pieces no one can reach before
 * the split is complete (the simulator has no concurrent lookup). The
 * caller adds its own references to its page afterwards.
 *
 * Context: folio locked (not checked); cannot fail.
 */
GS_API void gs_split_folio_to_pages(struct folio *folio, int refs);

/**
 * folio_merge() - put the pieces of a split folio back together
 * @first: the piece at the start of the range (aligned to 2^@order)
 * @order: order of the merged folio
 * @caller_refs: references the caller holds on @first (0 or 1); they stay
 *
 * Every piece must be unmapped and hold only its page-cache references
 * (plus @caller_refs on @first). The merged folio keeps @first's mapping
 * and index; if the pieces were needs-merge pieces of a HugeTLB page, it is
 * a HugeTLB folio again, with its saved metadata put back.
 *
 * Context: pieces locked (not checked).
 * Return: the merged folio's reference count (>= 0) on success; -EINVAL
 * when the range is not made of smaller pieces; -EBUSY when a piece is
 * mapped; -EAGAIN when a piece holds other references (nothing changed).
 */
GS_API int folio_merge(struct folio *first, unsigned int order, int caller_refs);

/**
 * __folio_merge() - folio_merge() writing tail struct pages only below @tails_upto
 * @first: as folio_merge()
 * @order: as folio_merge()
 * @caller_refs: as folio_merge()
 * @tails_upto: page index; HugeTLB's merge passes the end of the first
 *              vmemmap page when HVO drops the rest at once, and writes
 *              them (gs_folio_write_tails()) if it does not
 *
 * Context: as folio_merge().
 * Return: as folio_merge().
 */
GS_API int __folio_merge(struct folio *first, unsigned int order, int caller_refs,
			 unsigned long tails_upto);

/**
 * gs_folio_merge_piece() - merge pieces of a split HugeTLB page into a larger piece
 * @first: the piece at the start of the range (aligned to 2^@order)
 * @order: order of the merged piece, below the huge page's
 * @tails_upto: as __folio_merge()
 *
 * The intermediate merge (4 KiB pieces of a split 1 GiB page back to one
 * 2 MiB piece): like __folio_merge(), with no caller references, but the
 * result stays a needs-merge piece of the same split page, with no HugeTLB
 * metadata put back (the page's record stays until the whole page merges).
 *
 * Context: pieces locked (not checked).
 * Return: as folio_merge(); -EINVAL also when the pieces are not needs-merge.
 */
GS_API int gs_folio_merge_piece(struct folio *first, unsigned int order, unsigned long tails_upto);

#endif /* GMEMSIM_FOLIO_H */
