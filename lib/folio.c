// SPDX-License-Identifier: MIT
/*
 * Folios over the simulated vmemmap: resolving pages to folios, preparing
 * compound folios, references, host mappings, pins, the folio lock, release
 * through per-kind free hooks, and splitting and merging with the kernel's
 * reference-freeze protocol. Mirrors include/linux/mm.h and page_ref.h,
 * mm/page_alloc.c's prep_compound_page(), and the split machinery of
 * mm/huge_memory.c (__folio_split, uniform and non-uniform), and memory
 * failure's record of which raw pages of a large folio are bad
 * (mm/memory-failure.c: folio_set_hugetlb_hwpoison(), raw_hwp_page).
 */
#include <errno.h>
#include <string.h>
#include <valgrind/valgrind.h>
#include <gmemsim/folio.h>
#include <gmemsim/trace.h>
#include <gmemsim/xarray.h>

#define TAIL_INFO(order) (GS_PAGE_TAIL | ((unsigned long)(order) << 1))

/* An HVO-optimized folio keeps the struct pages of its first vmemmap page. */
#define OPTIMIZED_TAILS (PAGE_SIZE / sizeof(struct page))

static void (*free_hooks[GS_FOLIO_NR_KINDS])(struct folio *folio);
static const struct gs_folio_split_ops *split_ops[GS_FOLIO_NR_KINDS];

/*
 * An HVO-optimized folio's tail struct pages beyond its first vmemmap page
 * read as zero. Such a folio is a whole HugeTLB page of order >= 7 (more
 * than one vmemmap page), so look for its head at each such alignment.
 */
/* Reading optimized tails is this file's privilege: ASan has them poisoned (lib/hvo.c). */
#define NO_ASAN __attribute__((no_sanitize("address")))

static NO_ASAN struct folio *optimized_tail_folio(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);

	for (unsigned int order = 7; order <= 18; order++) {
		unsigned long head = ALIGN_DOWN(pfn, 1UL << order);
		struct folio *f = (struct folio *)pfn_to_page(head);

		if (head != pfn && f->page.compound_info && folio_test_head(f) &&
		    folio_order(f) == order && folio_test_hugetlb_vmemmap_optimized(f))
			return f;
	}
	WARN(1, "pfn 0x%lx: struct page belongs to no folio", pfn);
	return (struct folio *)page;
}

/*
 * The tail struct pages of an HVO-optimized folio are NOACCESS to memcheck
 * and poisoned for ASan (lib/hvo.c), so that only this API reads them; its
 * own reads are exempt.
 */
static inline NO_ASAN unsigned long read_compound_info(const struct page *page)
{
	unsigned long info;

	VALGRIND_DISABLE_ERROR_REPORTING;
	info = page->compound_info;
	VALGRIND_ENABLE_ERROR_REPORTING;
	return info;
}

struct folio *page_folio(const struct page *page)
{
	unsigned long info = read_compound_info(page);
	struct folio *folio;

	if (info & GS_PAGE_TAIL)
		return (struct folio *)pfn_to_page(
			ALIGN_DOWN(page_to_pfn(page), 1UL << (info >> 1)));
	/* A head's first word is its lru link, never zero once initialized. */
	if (info)
		return (struct folio *)page;
	/* Candidate heads may sit in optimized vmemmap too. */
	VALGRIND_DISABLE_ERROR_REPORTING;
	folio = optimized_tail_folio(page);
	VALGRIND_ENABLE_ERROR_REPORTING;
	return folio;
}

/* Write the fields a large folio keeps in its pages 1-3. */
static void init_large_fields(struct folio *folio, unsigned int order)
{
	unsigned long nr = 1UL << order;

	memset(&folio->__page_1, 0, sizeof(struct page) * (nr > 3 ? 3 : nr - 1));
	folio->_head_1 = TAIL_INFO(order);
	folio->_folio_order = order;
	folio->_folio_nr_pages = (unsigned int)nr;
	atomic_set(&folio->_large_mapcount, -1);
	atomic_set(&folio->_entire_mapcount, -1);
	if (nr > 2) {
		folio->_head_2 = TAIL_INFO(order);
		INIT_LIST_HEAD(&folio->_deferred_list);
	}
	if (nr > 3)
		folio->_head_3 = TAIL_INFO(order);
}

struct folio *gs_folio_init(unsigned long pfn, unsigned int order, unsigned long flags,
			    unsigned long tails_upto)
{
	struct folio *folio = (struct folio *)pfn_to_page(pfn);
	unsigned long nr = 1UL << order, end = min_t(unsigned long, nr, tails_upto);

	memset(&folio->page, 0, sizeof(struct page));
	INIT_LIST_HEAD(&folio->lru);
	atomic_set(&folio->_mapcount, -1);
	folio->flags = flags & ~(1UL << PG_head);
	if (!order)
		return folio;
	folio->flags |= 1UL << PG_head;
	init_large_fields(folio, order);
	gs_folio_write_tails(folio, 4, end);
	return folio;
}

void gs_folio_write_tails(struct folio *folio, unsigned long from, unsigned long to)
{
	unsigned long pfn = folio_pfn(folio), info = TAIL_INFO(folio_order(folio));

	/* Tail struct pages hold only the tail marker: identical for every tail of the order. */
	for (unsigned long i = max_t(unsigned long, from, 4); i < to; i++) {
		struct page *tail = pfn_to_page(pfn + i);

		memset(tail, 0, sizeof(*tail));
		tail->compound_info = info;
	}
}

/* --- mappings, pins, lock --- */

void gs_folio_map(struct folio *folio)
{
	folio_get(folio);
	if (folio_test_large(folio))
		folio->_large_mapcount.counter++;
	else
		folio->_mapcount.counter++;
}

void gs_folio_unmap(struct folio *folio)
{
	if (WARN_ON_ONCE(!folio_mapped(folio)))
		return;
	if (folio_test_large(folio))
		folio->_large_mapcount.counter--;
	else
		folio->_mapcount.counter--;
	folio_put(folio);
}

void gs_folio_pin(struct folio *folio)
{
	if (folio_test_large(folio)) {
		folio->_pincount.counter++;
		folio_get(folio);
	} else {
		folio_ref_add(folio, GUP_PIN_COUNTING_BIAS);
	}
}

void gs_folio_unpin(struct folio *folio)
{
	if (folio_test_large(folio)) {
		if (WARN_ON_ONCE(atomic_read(&folio->_pincount) <= 0))
			return;
		folio->_pincount.counter--;
		folio_put(folio);
	} else {
		folio_put_refs(folio, GUP_PIN_COUNTING_BIAS);
	}
}

bool folio_maybe_dma_pinned(const struct folio *folio)
{
	if (folio_test_large(folio))
		return atomic_read(&folio->_pincount) > 0;
	return folio_ref_count(folio) >= GUP_PIN_COUNTING_BIAS;
}

void folio_lock(struct folio *folio)
{
	WARN(folio_test_locked(folio), "folio at pfn 0x%lx locked twice: would deadlock",
	     folio_pfn(folio));
	folio_set_locked(folio);
}

bool folio_trylock(struct folio *folio)
{
	if (folio_test_locked(folio))
		return false;
	folio_set_locked(folio);
	return true;
}

void folio_unlock(struct folio *folio)
{
	WARN_ON_ONCE(!folio_test_locked(folio));
	folio_clear_locked(folio);
}

/* --- release --- */

void gs_folio_set_free_hook(enum gs_folio_kind kind, void (*fn)(struct folio *folio))
{
	if (!WARN_ON((unsigned int)kind >= GS_FOLIO_NR_KINDS))
		free_hooks[kind] = fn;
}

void gs_folio_set_split_ops(enum gs_folio_kind kind, const struct gs_folio_split_ops *ops)
{
	if (!WARN_ON((unsigned int)kind >= GS_FOLIO_NR_KINDS))
		split_ops[kind] = ops;
}

static enum gs_folio_kind folio_kind(const struct folio *folio)
{
	if (folio_test_hugetlb(folio))
		return GS_FOLIO_HUGETLB;
	if (folio_test_needs_merge(folio))
		return GS_FOLIO_NEEDS_MERGE;
	return GS_FOLIO_OTHER;
}

static void folio_release(struct folio *folio)
{
	void (*fn)(struct folio *) = free_hooks[folio_kind(folio)];

	gs_trace("folio.free", GS_TF_X("pfn", folio_pfn(folio)),
		 GS_TF_U("order", folio_order(folio)));
	if (WARN(!fn, "folio at pfn 0x%lx freed with no owner to take it", folio_pfn(folio)))
		return;
	fn(folio);
}

void folio_put_refs(struct folio *folio, int nr)
{
	if (folio_ref_sub_and_test(folio, nr))
		folio_release(folio);
}

void folio_put(struct folio *folio)
{
	folio_put_refs(folio, 1);
}

/* --- memory failure: which raw pages are bad --- */

/*
 * The raw pages memory failure took inside large folios (and inside pieces
 * of split HugeTLB pages), by pfn. The kernel keeps a list per HugeTLB folio
 * (struct raw_hwp_page on ->_hugetlb_hwpoison); a record by pfn also
 * survives split and merge, which rewrite page 3, and tells each piece of a
 * split whether it holds a bad page.
 */
static DEFINE_XARRAY(raw_hwp);

/* A large folio or a piece of one: the folio flag alone would not say which page is bad. */
static bool needs_raw_record(const struct folio *folio)
{
	return folio_test_large(folio) || folio_test_needs_merge(folio);
}

unsigned long gs_raw_hwpoison_find(unsigned long pfn, unsigned long nr, unsigned long *pfns,
				   unsigned long max)
{
	XA_STATE(xas, &raw_hwp, pfn);
	unsigned long n = 0;
	void *e;

	/* The checkers ask for every folio of a file; memory failure is rare. */
	if (xa_empty(&raw_hwp) || !nr)
		return 0;
	/* One state walks on from each record: no lookup from the root per record. */
	xas_for_each (&xas, e, pfn + nr - 1) {
		if (n < max)
			pfns[n] = xas.xa_index;
		n++;
	}
	return n;
}

unsigned long gs_raw_hwpoison_count(unsigned long pfn, unsigned long nr)
{
	return gs_raw_hwpoison_find(pfn, nr, NULL, 0);
}

bool gs_raw_hwpoison_any(unsigned long pfn, unsigned long nr)
{
	unsigned long index = pfn;

	return nr && !xa_empty(&raw_hwp) && xa_find(&raw_hwp, &index, pfn + nr - 1, XA_PRESENT);
}

unsigned long gs_raw_hwpoison_clear(unsigned long pfn, unsigned long nr)
{
	unsigned long index, n = 0;
	void *e;

	xa_for_each_range (&raw_hwp, index, e, pfn, pfn + nr - 1) {
		xa_erase(&raw_hwp, index);
		n++;
	}
	return n;
}

bool is_raw_hwpoison_page_in_hugepage(const struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!folio_test_hwpoison(folio))
		return false;
	if (!needs_raw_record(folio) || folio_test_hugetlb_raw_hwp_unreliable(folio))
		return true;
	return xa_load(&raw_hwp, page_to_pfn(page)) != NULL;
}

int folio_set_hugetlb_hwpoison(struct folio *folio, struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	bool was = folio_test_hwpoison(folio);

	folio_set_hwpoison(folio);
	if (!needs_raw_record(folio))
		return was ? -EHWPOISON : 0;
	if (folio_test_hugetlb_raw_hwp_unreliable(folio) || xa_load(&raw_hwp, pfn))
		return -EHWPOISON;
	/* The kernel's record is a GFP_ATOMIC allocation; losing it loses which page is bad. */
	if (xa_err(xa_store(&raw_hwp, pfn, xa_mk_value(1), GFP_ATOMIC))) {
		folio_set_hugetlb_raw_hwp_unreliable(folio);
		gs_raw_hwpoison_clear(folio_pfn(folio), folio_nr_pages(folio));
	}
	return was ? -EHWPOISON : 0;
}

/* --- split --- */

/* What the pieces inherit from the folio being split. */
struct split_src {
	unsigned long flags;
	void *mapping;
	pgoff_t index;
	unsigned long pfn;
	bool keep_hvo;	 /* pieces stay HVO-optimized (hugetlb_vmemmap_prepare_split() was done) */
	bool hwpoison;	 /* some raw page is bad: only the pieces holding one stay poisoned */
	bool unreliable; /* which one is not known: every piece is poisoned */
	int caller_refs; /* the caller's references: they follow the page it asked about */
	int piece_refs;	 /* references an order-0 piece is written with (0: frozen) */
};

/* Memory failure's flags for a piece [@pfn, @pfn + @nr): only where a bad raw page is. */
static void piece_hwpoison(const struct split_src *src, struct folio *piece, unsigned long pfn,
			   unsigned long nr)
{
	if (!src->hwpoison)
		return;
	if (src->unreliable) {
		folio_set_hwpoison(piece);
		folio_set_hugetlb_raw_hwp_unreliable(piece);
	} else if (gs_raw_hwpoison_count(pfn, nr)) {
		folio_set_hwpoison(piece);
	}
}

static int piece_refs(const struct split_src *src, unsigned long pfn, unsigned int order,
		      unsigned long at_pfn)
{
	unsigned long nr = 1UL << order;
	int refs = src->mapping ? (int)nr : 0;

	return refs + (at_pfn >= pfn && at_pfn < pfn + nr ? src->caller_refs : 0);
}

static struct folio *make_piece(const struct split_src *src, unsigned long pfn, unsigned int order)
{
	unsigned long tails = src->keep_hvo ? OPTIMIZED_TAILS : ~0UL;
	struct folio *piece = gs_folio_init(pfn, order, src->flags, tails);

	if (src->keep_hvo)
		folio_set_hugetlb_vmemmap_optimized(piece);
	piece->mapping = src->mapping;
	piece->index = src->index + (pfn - src->pfn);
	piece_hwpoison(src, piece, pfn, 1UL << order);
	/* Frozen until every piece exists, as a racing lookup must not see half a split. */
	folio_set_count(piece, 0);
	return piece;
}

static unsigned long piece_flags(const struct folio *folio)
{
	/* Not PG_hwpoison: a piece is poisoned only if it holds a bad raw page. */
	unsigned long keep = (1UL << PG_locked) | (1UL << PG_uptodate) | (1UL << PG_needs_merge);
	unsigned long flags = folio->flags & keep;

	/* Pieces of a HugeTLB page are not HugeTLB folios: they wait to be merged back. */
	if (folio_test_hugetlb(folio))
		flags |= 1UL << PG_needs_merge;
	return flags;
}

/*
 * The pieces of a non-uniform split: halving toward @at_pfn, the half
 * without it stays as large as it can. Returns how many (at most 19).
 */
static unsigned int plan_pieces(unsigned long pfn, unsigned int order, unsigned int new_order,
				unsigned long at_pfn, unsigned long *pfns, unsigned int *orders)
{
	unsigned int n = 0;

	for (unsigned int o = order; o > new_order; o--) {
		unsigned long half = 1UL << (o - 1);
		bool at_low = at_pfn < pfn + half;

		pfns[n] = at_low ? pfn + half : pfn;
		orders[n++] = o - 1;
		if (!at_low)
			pfn += half;
	}
	pfns[n] = pfn;
	orders[n++] = new_order;
	return n;
}

/*
 * piece_hwpoison() for the order-0 pieces [0, @nr) of a split, once they are
 * written: one walk over the raw records of the range instead of a lookup
 * per page (262,144 of them for 1 GiB), the same pages flagged.
 */
static void pages_hwpoison(const struct split_src *src, unsigned long nr)
{
	unsigned long pfn;
	void *e;

	if (!src->hwpoison)
		return;
	if (src->unreliable) {
		for (unsigned long i = 0; i < nr; i++)
			piece_hwpoison(src, (struct folio *)pfn_to_page(src->pfn + i), src->pfn + i,
				       1);
		return;
	}
	xa_for_each_range (&raw_hwp, pfn, e, src->pfn, src->pfn + nr - 1)
		folio_set_hwpoison((struct folio *)pfn_to_page(pfn));
}

/* Two words of a struct page, stored as one (GCC's vector extension). */
typedef unsigned long page_words __attribute__((vector_size(2 * sizeof(unsigned long))));

_Static_assert(sizeof(struct page) == 4 * sizeof(page_words), "struct page is four word pairs");
_Static_assert(offsetof(struct page, lru) == 8 && offsetof(struct page, mapping) == 24 &&
		       offsetof(struct page, index) == 32 && offsetof(struct page, private) == 40 &&
		       offsetof(struct page, _mapcount) == 48 &&
		       offsetof(struct page, memcg_data) == 56,
	       "the struct page layout split_to_frozen_pages() writes");

/*
 * The struct pages of order-0 pieces, written once each from a template,
 * frozen (refcount 0) or, where no one can see a piece before every one
 * exists, with their references already (one pass over 16 MiB for 1 GiB
 * instead of two). Each struct page is four stores of two words: flags
 * and lru.next, lru.prev and mapping, index and private (0), the two
 * counts and memcg_data (0); the words that change from page to page (the
 * lru's self links, the index) step by a vector add. The same bytes as
 * storing a compound literal of each page, in fewer instructions.
 */
static void split_to_frozen_pages(const struct split_src *src, unsigned long nr)
{
	struct page *page = pfn_to_page(src->pfn), *end = page + nr;
	const uintptr_t lru = (uintptr_t)&page->lru;
	struct page counts = {._mapcount = {-1}, ._refcount = {src->piece_refs}};
	page_words w0 = {src->flags, lru}, w1 = {lru, (unsigned long)src->mapping},
		   w2 = {src->index, 0}, w3 = {gs_page_counts(&counts), 0};
	const page_words step0 = {0, sizeof(struct page)}, step1 = {sizeof(struct page), 0},
			 step2 = {1, 0};

	for (; page < end; page++) {
		memcpy((char *)page, &w0, sizeof(w0));
		memcpy((char *)page + 16, &w1, sizeof(w1));
		memcpy((char *)page + 32, &w2, sizeof(w2));
		memcpy((char *)page + 48, &w3, sizeof(w3));
		w0 += step0;
		w1 += step1;
		w2 += step2;
	}
	pages_hwpoison(src, nr);
}

/*
 * Splitting to single pages is the common case (a 1 GiB page converted to
 * 4 KiB) and the hot one: write each struct page once, then give out the
 * page cache's and the caller's references.
 */
static void split_to_pages(const struct split_src *src, unsigned long nr, unsigned long at_pfn)
{
	struct split_src with_refs = *src;
	int refs = src->mapping ? 1 : 0;

	with_refs.piece_refs = refs;
	split_to_frozen_pages(&with_refs, nr);
	pfn_to_page(at_pfn)->_refcount.counter += src->caller_refs;
	/* Without a page cache holding them, every page but the caller's is free now. */
	for (unsigned long i = 0; !refs && i < nr; i++)
		if (src->pfn + i != at_pfn || !src->caller_refs)
			folio_release((struct folio *)pfn_to_page(src->pfn + i));
}

static void split_uniform(const struct split_src *src, unsigned int order, unsigned int new_order,
			  unsigned long at_pfn)
{
	unsigned long nr = 1UL << order, step = 1UL << new_order;

	if (!new_order && !src->keep_hvo) {
		split_to_pages(src, nr, at_pfn);
		return;
	}
	/* Build every piece first, then give out references: no piece is live half made. */
	for (unsigned long p = src->pfn; p < src->pfn + nr; p += step)
		make_piece(src, p, new_order);
	for (unsigned long p = src->pfn; p < src->pfn + nr; p += step) {
		struct folio *piece = (struct folio *)pfn_to_page(p);
		int refs = piece_refs(src, p, new_order, at_pfn);

		if (refs)
			folio_set_count(piece, refs);
		else
			folio_release(piece);
	}
}

static void split_non_uniform(const struct split_src *src, unsigned int order,
			      unsigned int new_order, unsigned long at_pfn)
{
	unsigned long pfns[20];
	unsigned int orders[20];
	unsigned int n = plan_pieces(src->pfn, order, new_order, at_pfn, pfns, orders);

	for (unsigned int i = 0; i < n; i++)
		make_piece(src, pfns[i], orders[i]);
	for (unsigned int i = 0; i < n; i++) {
		struct folio *piece = (struct folio *)pfn_to_page(pfns[i]);
		int refs = piece_refs(src, pfns[i], orders[i], at_pfn);

		if (refs)
			folio_set_count(piece, refs);
		else
			folio_release(piece);
	}
}

static void split_to_order(struct folio *folio, unsigned int new_order, int refs)
{
	unsigned int order = folio_order(folio);
	struct split_src src = {
		.flags = piece_flags(folio),
		.mapping = folio->mapping,
		.index = folio->index,
		.pfn = folio_pfn(folio),
		.keep_hvo = folio_test_hugetlb_vmemmap_optimized(folio),
		.hwpoison = folio_test_hwpoison(folio),
		.unreliable = folio_test_hugetlb_raw_hwp_unreliable(folio),
		.piece_refs = refs,
	};
	unsigned long nr = 1UL << order, step = 1UL << new_order;

	if (WARN_ON_ONCE(new_order >= order || folio_ref_count(folio)) ||
	    WARN_ON_ONCE(refs && (new_order || src.keep_hvo)))
		return;
	gs_trace("folio.split", GS_TF_X("pfn", src.pfn), GS_TF_U("order", order),
		 GS_TF_U("new_order", new_order), GS_TF_B("uniform", true));
	if (!new_order && !src.keep_hvo) {
		split_to_frozen_pages(&src, nr);
		return;
	}
	for (unsigned long p = src.pfn; p < src.pfn + nr; p += step)
		make_piece(&src, p, new_order);
}

void __split_folio_to_order(struct folio *folio, unsigned int new_order)
{
	split_to_order(folio, new_order, 0);
}

void gs_split_folio_to_pages(struct folio *folio, int refs)
{
	split_to_order(folio, 0, refs);
}

int folio_split_refs(struct folio *folio, unsigned int new_order, struct page *at,
		     enum gs_split_type type, int caller_refs)
{
	unsigned int order = folio_order(folio);
	struct split_src src = {
		.flags = piece_flags(folio),
		.mapping = folio->mapping,
		.index = folio->index,
		.pfn = folio_pfn(folio),
		.hwpoison = folio_test_hwpoison(folio),
		.unreliable = folio_test_hugetlb_raw_hwp_unreliable(folio),
		.caller_refs = caller_refs,
	};
	unsigned long at_pfn = at ? page_to_pfn(at) : src.pfn;
	int expected = caller_refs + (folio->mapping ? (int)folio_nr_pages(folio) : 0);
	const struct gs_folio_split_ops *ops = split_ops[folio_kind(folio)];

	/* Someone must hold the folio: a count of 0 is a free (or frozen) folio. */
	if (new_order >= order || at_pfn < src.pfn || at_pfn >= src.pfn + (1UL << order) ||
	    caller_refs < 0 || expected <= 0)
		return -EINVAL;
	/*
	 * The struct pages of the new heads must exist: either HVO was undone,
	 * or the pieces stay optimized and their owner gave each its first
	 * vmemmap page (hugetlb_vmemmap_prepare_split()).
	 */
	if (folio_test_hugetlb_vmemmap_optimized(folio)) {
		if (WARN_ON_ONCE(type != GS_SPLIT_UNIFORM || !ops || !ops->vmemmap_ready ||
				 !ops->vmemmap_ready(folio, new_order)))
			return -EINVAL;
		src.keep_hvo = true;
	}
	if (folio_mapped(folio))
		return -EBUSY;
	if (!folio_ref_freeze(folio, expected))
		return -EAGAIN;
	/* The owner saves what the split overwrites (a HugeTLB page's identity in page 3). */
	if (ops && ops->save) {
		int err = ops->save(folio, GFP_KERNEL);

		if (err) {
			folio_ref_unfreeze(folio, expected);
			return err;
		}
	}
	gs_trace("folio.split", GS_TF_X("pfn", src.pfn), GS_TF_U("order", order),
		 GS_TF_U("new_order", new_order), GS_TF_B("uniform", type == GS_SPLIT_UNIFORM));
	if (type == GS_SPLIT_UNIFORM)
		split_uniform(&src, order, new_order, at_pfn);
	else
		split_non_uniform(&src, order, new_order, at_pfn);
	return 0;
}

int folio_split(struct folio *folio, unsigned int new_order, struct page *at,
		enum gs_split_type type)
{
	return folio_split_refs(folio, new_order, at, type, 1);
}

/* --- merge --- */

static int merge_expected(const struct folio *piece, bool first, int caller_refs)
{
	int refs = piece->mapping ? (int)folio_nr_pages(piece) : 0;

	return refs + (first ? caller_refs : 0);
}

/* Unfreeze the pieces in [pfn, upto) with the counts they had. */
static void merge_unwind(unsigned long pfn, unsigned long upto, int caller_refs)
{
	for (unsigned long p = pfn; p < upto;) {
		struct folio *piece = (struct folio *)pfn_to_page(p);

		folio_set_count(piece, merge_expected(piece, p == pfn, caller_refs));
		p += folio_nr_pages(piece);
	}
}

/*
 * One piece of merge_freeze(), in the order the checks always had: a head
 * (@info: its compound word), of a smaller order, not optimized (WARN), not
 * mapped, then the freeze with @extra references beyond the page cache's.
 * Its order goes to *@piece_order and its flag words into the walk's
 * gatherings. Return: 0 or the errno the merge fails with.
 */
static __always_inline int merge_freeze_piece(struct folio *piece, unsigned long info,
					      unsigned int order, int extra,
					      unsigned int *piece_order, unsigned long *all_flags,
					      unsigned long *any_flags, unsigned long *any_private)
{
	unsigned long flags, private;

	/* page_folio(piece) == piece, without the call for the common case (a head). */
	if ((!info || (info & GS_PAGE_TAIL)) && page_folio(&piece->page) != piece)
		return -EINVAL;
	flags = piece->flags;
	private = (unsigned long)piece->private;
	*piece_order = flags & (1UL << PG_head) ? piece->_folio_order : 0;
	if (*piece_order >= order || WARN_ON_ONCE(private & (1UL << HPG_vmemmap_optimized)))
		return -EINVAL;
	if (folio_mapped(piece))
		return -EBUSY;
	if (!folio_ref_freeze(piece, (piece->mapping ? 1 << *piece_order : 0) + extra))
		return -EAGAIN;
	*all_flags &= flags;
	*any_flags |= flags;
	*any_private |= private;
	return 0;
}

/* The flag words merge_freeze() gathers from pieces, AND and OR. */
struct merge_gather {
	unsigned long all_flags, any_flags, any_private;
};

/*
 * merge_freeze_piece() for the four order-0 pieces at @q, none the caller's,
 * when all four pass: a head of its own (a first word set and not a tail's,
 * as in hugetlb_restructuring_can_merge()'s groups), not PG_head (order 0),
 * not optimized, @mapping as the walk's first piece has, and @counts (not
 * mapped, only the page cache's reference if @mapping is set). Then all
 * four are frozen and gathered. A group that fails any test is left as it
 * was for the per-piece step, so the first failing piece answers (and
 * WARNs) as before. Return: whether the four were frozen.
 */
static __always_inline bool merge_freeze_small4(struct page *q, const void *mapping,
						uint64_t counts, struct merge_gather *g)
{
	struct gs_pieces4 p;

	gs_pieces4_read(q, mapping, true, counts, &p);
	if ((p.f_or & (1UL << PG_head)) | p.not_heads |
	    (p.private & (1UL << HPG_vmemmap_optimized)) | p.other)
		return false;
	for (int k = 0; k < 4; k++)
		atomic_set(&q[k]._refcount, 0);
	g->all_flags &= p.f_and;
	g->any_flags |= p.f_or;
	g->any_private |= p.private;
	return true;
}

/*
 * Check and freeze every piece; on failure everything is as it was.
 *
 * Per piece of a split page (512 of 2 MiB, 262,144 of 1 GiB):
 * merge_freeze_piece(). The pieces' flag words are gathered whole (AND for
 * "all up to date", OR for the rest) and decoded once at the end. The first
 * piece is done before the walk: it may be whatever a caller passed (an
 * optimized tail too: its word is read through read_compound_info()) and it
 * carries the caller's references; the walk from a head reaches only heads
 * of a well-formed range, or pages outside any optimized folio's tails,
 * whose words read directly. The same answers as a test per piece, fewer
 * instructions a step.
 */
static int merge_freeze(unsigned long pfn, unsigned int order, int caller_refs, bool *uptodate,
			bool *hwpoison, bool *unreliable, bool *was_hugetlb)
{
	/* By pointer: the freezes' stores would make the compiler reload gs_vmemmap each step. */
	struct page *base = pfn_to_page(pfn), *end = base + (1UL << order), *page = base;
	/* Gathered in locals: the freezes' stores would make the compiler reload them. */
	struct merge_gather g = {~0UL, 0, 0};
	const void *mapping = NULL;
	struct page small;
	uint64_t small_counts = 0;
	unsigned int piece_order;
	int err;

	err = merge_freeze_piece((struct folio *)page, read_compound_info(page), order, caller_refs,
				 &piece_order, &g.all_flags, &g.any_flags, &g.any_private);
	if (!err) {
		/* The first piece is a head: its mapping reads directly. An order-0 piece after
		 * it, unmapped, has the page cache's reference if it is in the same one. */
		mapping = base->mapping;
		atomic_set(&small._mapcount, -1);
		atomic_set(&small._refcount, mapping ? 1 : 0);
		small_counts = gs_page_counts(&small);
	}
	while (!err) {
		page += 1UL << piece_order;
		/* Most split pages are all order-0 pieces: four of them at a time. */
		while (end - page >= 4 && merge_freeze_small4(page, mapping, small_counts, &g))
			page += 4;
		if (page >= end)
			break;
		err = merge_freeze_piece((struct folio *)page, page->compound_info, order, 0,
					 &piece_order, &g.all_flags, &g.any_flags, &g.any_private);
	}
	*uptodate = g.all_flags & (1UL << PG_uptodate);
	*hwpoison = g.any_flags & (1UL << PG_hwpoison);
	*unreliable = g.any_private & (1UL << HPG_raw_hwp_unreliable);
	*was_hugetlb = g.any_flags & (1UL << PG_needs_merge);
	if (!err)
		return 0;
	merge_unwind(pfn, pfn + (unsigned long)(page - base), caller_refs);
	return err;
}

int folio_merge(struct folio *first, unsigned int order, int caller_refs)
{
	return __folio_merge(first, order, caller_refs, ~0UL);
}

/*
 * The merge; @as_piece: the pieces become one larger piece of the same
 * split HugeTLB page (needs-merge, no HugeTLB metadata put back).
 */
static int folio_merge_as(struct folio *first, unsigned int order, int caller_refs,
			  unsigned long tails_upto, bool as_piece)
{
	unsigned long pfn = folio_pfn(first), nr = 1UL << order;
	void *mapping = first->mapping;
	pgoff_t index = first->index;
	bool uptodate, hwpoison, unreliable, was_hugetlb;
	unsigned long flags;
	struct folio *folio;
	int err, refs;

	if (!IS_ALIGNED(pfn, nr) || !order || caller_refs < 0)
		return -EINVAL;
	err = merge_freeze(pfn, order, caller_refs, &uptodate, &hwpoison, &unreliable,
			   &was_hugetlb);
	if (err)
		return err;
	if (as_piece && !was_hugetlb) {
		merge_unwind(pfn, pfn + nr, caller_refs);
		return -EINVAL;
	}
	flags = (uptodate ? 1UL << PG_uptodate : 0) | (hwpoison ? 1UL << PG_hwpoison : 0) |
		(first->flags & (1UL << PG_locked));
	if (was_hugetlb)
		flags |= 1UL << (as_piece ? PG_needs_merge : PG_hugetlb);
	folio = gs_folio_init(pfn, order, flags, tails_upto);
	folio->mapping = mapping;
	folio->index = index;
	/* A HugeTLB page again: its owner puts back what the split saved. */
	if (was_hugetlb && !as_piece) {
		const struct gs_folio_split_ops *ops = split_ops[GS_FOLIO_HUGETLB];

		WARN_ON_ONCE(!ops || !ops->restore || !ops->restore(folio));
	}
	/* The bad raw pages stay recorded by pfn; a lost record stays lost. */
	if (unreliable)
		folio_set_hugetlb_raw_hwp_unreliable(folio);
	refs = (mapping ? (int)nr : 0) + caller_refs;
	folio_set_count(folio, refs);
	gs_trace("folio.merge", GS_TF_X("pfn", pfn), GS_TF_U("order", order));
	return refs;
}

int __folio_merge(struct folio *first, unsigned int order, int caller_refs,
		  unsigned long tails_upto)
{
	return folio_merge_as(first, order, caller_refs, tails_upto, false);
}

int gs_folio_merge_piece(struct folio *first, unsigned int order, unsigned long tails_upto)
{
	return folio_merge_as(first, order, 0, tails_upto, true);
}
