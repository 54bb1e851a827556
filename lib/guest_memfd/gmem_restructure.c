// SPDX-License-Identifier: MIT
/*
 * The guest_memfd side of HugeTLB restructuring: when a huge folio of a
 * guest_memfd file must be split to order 0 or may be merged back, as the
 * HugeTLB-on-in-place-conversion branch of virt/kvm/guest_memfd.c decides
 * it (spec P34, P35, P37-P39). The split and merge themselves are
 * lib/hugetlb_restructuring.c's; this file only applies the file's rule:
 * a huge page is one folio of the page order exactly when all of it is
 * private (so KVM may map it at that order: get_pfn's max_order is the
 * folio order), else its folios are order 0.
 *
 * Called by allocation (gmem.c: a fresh folio, P34) and by conversion
 * (gmem_convert.c); it calls only the restructuring, the maple tree and
 * truncation (gmem_truncate.c), so no file-level cycle forms.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/sites.h>
#include <gmemsim/strategy.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/gmem_int.h>

/* Pages per huge page of the file (1 for a 4 KiB file). */
static pgoff_t gmem_huge_pages(const struct gmem_inode *inode)
{
	return 1UL << inode->page_order;
}

bool kvm_gmem_range_private(struct gmem_inode *inode, pgoff_t start, pgoff_t end)
{
	MA_STATE(mas, &inode->shareability, start, start);
	void *entry;

	/* Equal neighbours are merged in the tree, so this is one or two steps. */
	mas_for_each (&mas, entry, end - 1)
		if (entry != xa_mk_value(SHAREABILITY_GUEST))
			return false;
	return true;
}

/* The pages of a 2 MiB piece of a split 1 GiB page. */
#define PMD_PAGES (1UL << 9)

/* The VM whose strategy decides for @inode: its files' (one VM per file). */
static const struct gs_gmem_vm_info *inode_vm(struct gmem_inode *inode)
{
	if (list_empty(&inode->files))
		return NULL;
	return list_first_entry(&inode->files, struct gmem_file, list)->vm;
}

/*
 * The strategy's split of the whole 1 GiB folio @folio toward [start, end)
 * (the pages about to be shared; for a fresh folio, every page not private):
 * 2 MiB pieces, those holding such a page on to 4 KiB (@mask), or, when the
 * strategy splits to 4 KiB, @opts unchanged. True for the 2 MiB split.
 */
static bool split_toward(struct gmem_inode *inode, const struct gs_gmem_vm_info *vm,
			 struct folio *folio, pgoff_t start, pgoff_t end, bool fresh,
			 unsigned long *mask, struct hugetlb_split_opts *opts)
{
	struct gs_strategy_split split = {
		.ino = inode->ino,
		.index = folio->index,
		.page_order = inode->page_order,
		.folio_order = folio_order(folio),
		.start = start > folio->index ? start : folio->index,
		.end = end < folio->index + folio_nr_pages(folio)
			       ? end
			       : folio->index + folio_nr_pages(folio),
	};

	if (folio_order(folio) != inode->page_order || gmem_strategy_split_order(vm, &split) != 9)
		return false;
	memset(mask, 0, HUGETLB_SPLIT_SMALL_MAX / 8);
	for (unsigned long k = 0; k < folio_nr_pages(folio) / PMD_PAGES; k++) {
		pgoff_t r = folio->index + k * PMD_PAGES;
		bool small = fresh ? !kvm_gmem_range_private(inode, r, r + PMD_PAGES)
				   : r < split.end && r + PMD_PAGES > split.start;

		if (small)
			mask[k / BITS_PER_LONG] |= 1UL << (k % BITS_PER_LONG);
	}
	opts->new_order = 9;
	opts->keep_hvo = true;
	opts->small = mask;
	return true;
}

/*
 * __maybe_split_fresh_folio() (P34): a fresh huge folio whose huge page is
 * not all private is split before anyone sees it: to order 0, or under a
 * strategy that splits to 2 MiB, to 2 MiB pieces with those not all
 * private on to 4 KiB. The caller's allocation reference follows the piece
 * at @index.
 */
int kvm_gmem_split_fresh_folio(struct gmem_inode *inode, struct folio **foliop, pgoff_t index)
{
	unsigned long mask[HUGETLB_SPLIT_SMALL_MAX / BITS_PER_LONG];
	struct folio *folio = *foliop;
	struct hugetlb_split_opts opts = {
		.extra_refs = 1,
		.at = folio_page(folio, index - folio->index),
	};
	int err;

	if (!inode->page_order ||
	    kvm_gmem_range_private(inode, folio->index, folio->index + folio_nr_pages(folio)))
		return 0;
	split_toward(inode, inode_vm(inode), folio, 0, 0, true, mask, &opts);
	err = hugetlb_restructuring_split_folio(&inode->filemap, folio->index, folio, &opts);
	if (err) {
		/* Nobody saw the folio: it leaves the page cache as it came. */
		kvm_gmem_truncate_range(inode, folio->index, folio->index + folio_nr_pages(folio));
		return err;
	}
	*foliop = page_folio(opts.at);
	return 0;
}

struct folio *kvm_gmem_whole_huge_folio(struct gmem_inode *inode, pgoff_t index)
{
	struct folio *folio;

	if (!inode->page_order)
		return NULL;
	folio = xa_load(&inode->filemap, ALIGN_DOWN(index, gmem_huge_pages(inode)));
	return folio && folio_order(folio) == inode->page_order ? folio : NULL;
}

int kvm_gmem_split_huge_folio(struct gmem_inode *inode, struct folio *folio)
{
	/* The conversion holds no lookup reference: only the page cache's count. */
	struct hugetlb_split_opts opts = {.extra_refs = 0};

	return hugetlb_restructuring_split_folio(&inode->filemap, folio->index, folio, &opts);
}

int kvm_gmem_prepare_split_huge_folio(struct gmem_inode *inode, struct folio *folio,
				      struct hugetlb_split_prep *prep)
{
	struct hugetlb_split_opts opts = {.extra_refs = 0};

	return hugetlb_restructuring_prepare_split(prep, &inode->filemap, folio->index, folio,
						   &opts);
}

int kvm_gmem_prepare_split_toward(struct gmem_inode *inode, const struct gs_gmem_vm_info *vm,
				  struct folio *folio, pgoff_t start, pgoff_t end,
				  struct hugetlb_split_prep *prep, bool *pmd)
{
	unsigned long mask[HUGETLB_SPLIT_SMALL_MAX / BITS_PER_LONG];
	struct hugetlb_split_opts opts = {.extra_refs = 0};

	*pmd = split_toward(inode, vm, folio, start, end, false, mask, &opts);
	return hugetlb_restructuring_prepare_split(prep, &inode->filemap, folio->index, folio,
						   &opts);
}

struct folio *kvm_gmem_split_piece_at(struct gmem_inode *inode, pgoff_t index)
{
	struct folio *folio;

	if (inode->page_order <= 9)
		return NULL;
	folio = xa_load(&inode->filemap, index);
	return folio && folio_test_needs_merge(folio) && folio_order(folio) == 9 ? folio : NULL;
}

/* Does @piece at @index continue the split page at @base whose first piece is @first? */
static bool piece_continues(const struct folio *piece, pgoff_t index, pgoff_t next,
			    const struct folio *first, pgoff_t base)
{
	/* pfn-contiguous: struct pages are one array, so the pointers say it. */
	return index == next && folio_test_needs_merge(piece) &&
	       (first ? &piece->page == &first->page + (next - base) : piece->index == base);
}

/* The flags an order-0 piece of a split page has among those piece_continues() reads. */
#define SMALL_PIECE_MASK  ((1UL << PG_head) | (1UL << PG_needs_merge))
#define SMALL_PIECE_FLAGS (1UL << PG_needs_merge)

/* The pieces' flag words, gathered by split_page_pieces(): AND in @all, OR in @any. */
struct pieces_flags {
	unsigned long all, any;
};

/*
 * The order-0 pieces after the current one in its leaf that continue the
 * split page (piece_continues(): the next index, the next struct page,
 * needs-merge) when the current one ends at the next index: slot by slot,
 * each compared with the struct page it must be, which also tells an
 * empty or internal slot apart. Stops at the first that is not (the walk's
 * next step meets it). Return: how many, stepped over.
 */
static pgoff_t leaf_small_pieces(struct xa_state *xas, pgoff_t max, const struct page *want,
				 struct pieces_flags *pf)
{
	unsigned int n = gs_xas_leaf_span(xas, max), i;
	void *const *slot = &xas->xa_node->slots[xas->xa_offset + 1];

	for (i = 0; i < n; i++) {
		const struct folio *piece = slot[i];

		/* A folio starts with its head page: an empty or internal slot never compares equal. */
		if ((const void *)piece != (const void *)(want + i) ||
		    (piece->flags & SMALL_PIECE_MASK) != SMALL_PIECE_FLAGS)
			break;
		pf->all &= piece->flags;
		pf->any |= piece->flags;
	}
	gs_xas_leaf_skip(xas, i);
	return i;
}

/*
 * The pieces of the split huge page at @base, if every one of them is in
 * the page cache (a page whose pieces are partly gone merges later, through
 * the deferred worker, when the rest are freed): the first piece, or NULL.
 * @pf (may be NULL): the pieces' flags, for the merge's zeroing.
 */
static struct folio *split_page_pieces(struct gmem_inode *inode, pgoff_t base,
				       struct pieces_flags *pf)
{
	XA_STATE(xas, &inode->filemap, base);
	pgoff_t next = base, end = base + gmem_huge_pages(inode);
	struct pieces_flags flags = {~0UL, 0};
	struct folio *first = NULL, *piece;

	/* One walk along the leaves: a lookup from the root per piece was most of a merge. */
	xas_for_each (&xas, piece, end - 1) {
		if (!piece_continues(piece, xas.xa_index, next, first, base))
			return NULL;
		first = first ?: piece;
		flags.all &= piece->flags;
		flags.any |= piece->flags;
		next += folio_nr_pages(piece);
		/* The order-0 pieces after it in the leaf, without the walk's steps. */
		if (next == xas.xa_index + 1)
			next += leaf_small_pieces(&xas, end - 1, &first->page + (next - base),
						  &flags);
	}
	if (next != end)
		return NULL;
	if (pf)
		*pf = flags;
	return first;
}

static int prepare_merge(struct gmem_inode *inode, pgoff_t base, bool nofail)
{
	struct folio *first = split_page_pieces(inode, base, NULL);
	int err;

	if (!first)
		return 1;
	err = hugetlb_restructuring_can_merge(&inode->filemap, folio_pfn(first), NULL, 0);
	err = err ?: kvm_gmem_merge_reserve(inode, base, GFP_KERNEL);
	if (err)
		return err;
	return nofail ? hugetlb_restructuring_prepare_merge_nofail(folio_pfn(first))
		      : hugetlb_restructuring_prepare_merge(folio_pfn(first));
}

int kvm_gmem_prepare_merge(struct gmem_inode *inode, pgoff_t base)
{
	return prepare_merge(inode, base, false);
}

/* A piece never used, its data at @data (NULL: metadata only), is zeroed and becomes uptodate. */
static void zero_piece_at(struct folio *piece, void *data)
{
	if (data)
		memset(data, 0, folio_size(piece));
	folio_set_uptodate(piece);
}

/* A piece never used is zeroed and becomes uptodate (zero_unused_pieces()). */
static void zero_unused_piece(struct folio *piece)
{
	if (!folio_test_uptodate(piece))
		zero_piece_at(piece, folio_address(piece));
}

/*
 * Is a piece of [base, base + nr) uptodate (used)? Each leaf's run of
 * pieces is read from its slots.
 */
static bool any_piece_uptodate(struct gmem_inode *inode, pgoff_t base, pgoff_t nr)
{
	XA_STATE(xas, &inode->filemap, base);
	struct folio *piece;
	unsigned int n;

	xas_for_each (&xas, piece, base + nr - 1) {
		if (folio_test_uptodate(piece))
			return true;
		n = gs_xas_leaf_run(&xas, base + nr - 1);
		for (unsigned int i = 1; i <= n; i++)
			if (folio_test_uptodate(
				    (struct folio *)xas.xa_node->slots[xas.xa_offset + i]))
				return true;
		gs_xas_leaf_skip(&xas, n);
	}
	return false;
}

/*
 * The merged folio is uptodate only if every piece was: once a piece is
 * used, a piece never used is zeroed now, so the merge does not make the
 * first use zero the data the other pieces hold (P9, P10). The caller
 * knows that some piece is used.
 */
static void zero_unused_pieces(struct gmem_inode *inode, pgoff_t base, pgoff_t nr)
{
	XA_STATE(xas, &inode->filemap, base);
	struct folio *piece;
	unsigned int n;

	xas_for_each (&xas, piece, base + nr - 1) {
		zero_unused_piece(piece);
		n = gs_xas_leaf_run(&xas, base + nr - 1);
		for (unsigned int i = 1; i <= n; i++)
			zero_unused_piece(xas.xa_node->slots[xas.xa_offset + i]);
		gs_xas_leaf_skip(&xas, n);
	}
}

/*
 * zero_unused_pieces() for a split page whose pieces split_page_pieces()
 * has just found in the page cache, each at the struct page after the
 * previous one's (@first on): the same pieces in the same order, walked by
 * pointer instead of along the page cache's leaves. The data of a 2 MiB
 * block of pfns is one host range (physmem keeps one address per 2 MiB
 * chunk, or per 1 GiB page): looked up once a block, not once a piece.
 */
static void zero_unused_found_pieces(struct folio *first, unsigned long nr)
{
	struct page *page = &first->page, *end = page + nr;
	unsigned long pfn = folio_pfn(first), block = ~0UL;
	uint8_t *data = NULL;

	while (page < end) {
		struct folio *piece = (struct folio *)page;
		unsigned long n = folio_nr_pages(piece);

		if (n >= PMD_PAGES) {
			zero_unused_piece(piece);
		} else if (!folio_test_uptodate(piece)) {
			if (block != ALIGN_DOWN(pfn, PMD_PAGES)) {
				block = ALIGN_DOWN(pfn, PMD_PAGES);
				data = gs_pfn_to_virt(block);
			}
			zero_piece_at(piece, data ? data + ((pfn - block) << PAGE_SHIFT) : NULL);
		}
		page += n;
		pfn += n;
	}
}

void kvm_gmem_merge_huge_page(struct gmem_inode *inode, pgoff_t base)
{
	struct pieces_flags pf;
	struct folio *first = split_page_pieces(inode, base, &pf);

	if (WARN_ON(!first))
		return;
	/*
	 * The walk read every piece's flags: zeroing has work only when some
	 * piece is used and some is not (with none used, nothing is zeroed;
	 * with all used, every piece is left as it is).
	 */
	if ((pf.any & ~pf.all) & (1UL << PG_uptodate))
		zero_unused_found_pieces(first, gmem_huge_pages(inode));
	WARN_ON(!hugetlb_restructuring_merge_folio_reserved(&inode->filemap, &inode->merge_reserve,
							    folio_pfn(first), NULL, 0));
}

void kvm_gmem_merge_for_undo(struct gmem_inode *inode, pgoff_t base)
{
	/* An undo must end as the state before: a piece's struct pages are not optional. */
	if (inode->page_order && prepare_merge(inode, base, true) == 0)
		kvm_gmem_merge_huge_page(inode, base);
	kvm_gmem_merge_reserve_free(inode);
}

void kvm_gmem_cancel_merge(struct gmem_inode *inode, pgoff_t base)
{
	struct folio *first = split_page_pieces(inode, base, NULL);

	if (first)
		hugetlb_restructuring_cancel_merge(folio_pfn(first));
}

/* The first 4 KiB piece of the 2 MiB range at @r of a split 1 GiB page, or NULL. */
static struct folio *small_pieces(struct gmem_inode *inode, pgoff_t r)
{
	struct folio *first;

	if (inode->page_order <= 9)
		return NULL;
	first = xa_load(&inode->filemap, r);
	if (!first || !folio_test_needs_merge(first) || folio_order(first) || first->index != r)
		return NULL;
	return first;
}

int kvm_gmem_prepare_merge_piece(struct gmem_inode *inode, pgoff_t r)
{
	struct folio *first = small_pieces(inode, r);
	int err;

	if (!first)
		return 1;
	err = hugetlb_restructuring_can_merge_piece(&inode->filemap, folio_pfn(first), 9);
	/* A piece gone from the page cache: the range merges with its page, later. */
	if (err == -EINVAL)
		return 1;
	err = err
		      ?: gs_xa_reserve(&inode->filemap, &inode->merge_reserve,
				       gs_xa_store_order_nodes(&inode->filemap, r, 9),
				       GS_SITE_XARRAY_NODE, GFP_KERNEL);
	return err == -EBUSY ? -EAGAIN : err;
}

void kvm_gmem_merge_piece(struct gmem_inode *inode, pgoff_t r)
{
	struct folio *first = small_pieces(inode, r);

	if (WARN_ON(!first))
		return;
	if (any_piece_uptodate(inode, r, PMD_PAGES))
		zero_unused_pieces(inode, r, PMD_PAGES);
	WARN_ON(!hugetlb_restructuring_merge_piece(&inode->filemap, &inode->merge_reserve,
						   folio_pfn(first), 9));
}
