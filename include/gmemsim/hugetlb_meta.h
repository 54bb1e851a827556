/* SPDX-License-Identifier: MIT */
/*
 * What a HugeTLB page keeps in its folio (page 3: order, subpool, cgroups)
 * is overwritten when the page is split into smaller folios. Before a split
 * it is saved in a global XArray keyed by pfn, one multi-index entry per
 * huge page, so any pfn of the split page finds it, and it is put back when
 * the pieces are merged. The guest_memfd HugeTLB work keeps this per-pfn
 * record for the same reasons ("track allocated HugeTLB folio metadata");
 * it also answers whether a pfn belongs to a split huge page, and whose.
 */
#ifndef GMEMSIM_HUGETLB_META_H
#define GMEMSIM_HUGETLB_META_H

#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>
#include <gmemsim/hugetlb_hstate.h> /* struct hugetlb_folio_meta: the record the pools walk */

struct folio;

/**
 * hugetlb_meta_save() - record a HugeTLB folio's metadata before a split
 * @folio: a whole HugeTLB folio
 * @gfp: allocation flags (sites hugetlb.meta and xarray.node)
 *
 * On success the page is also taken off its pool's active list (the split
 * overwrites the list link); while split, the pools see it through its
 * record (hugetlb_for_each_split()).
 *
 * Context: process context; before the split's point of no return.
 * Return: 0, -EEXIST if the page already has a record, -ENOMEM.
 */
GS_API int hugetlb_meta_save(struct folio *folio, gfp_t gfp);

/**
 * hugetlb_meta_restore() - put the metadata back into a merged folio and forget it
 * @folio: the merged folio, at the huge page's first pfn and order
 *
 * A page that was on its pool's active list goes back on it.
 *
 * Context: any; cannot fail (the merge's point of no return is behind it).
 * Return: true if a record was found (and matched the folio's order).
 */
GS_API bool hugetlb_meta_restore(struct folio *folio);

/**
 * hugetlb_meta_lookup() - the record covering @pfn
 *
 * Return: the record of the split huge page holding @pfn, or NULL.
 */
GS_API const struct hugetlb_folio_meta *hugetlb_meta_lookup(unsigned long pfn);

/**
 * hugetlb_meta_get() - the record covering @pfn, to update its waiting count
 *
 * Return: the record of the split huge page holding @pfn, or NULL.
 */
GS_API struct hugetlb_folio_meta *hugetlb_meta_get(unsigned long pfn);

/**
 * hugetlb_pfn_subpool() - the subpool of the HugeTLB page holding @pfn
 *
 * Whole or split: a whole HugeTLB folio answers from its own fields, a
 * split one from its record.
 *
 * Return: the subpool, or NULL if @pfn is in no HugeTLB page (or one without
 * a subpool).
 */
GS_API struct hugepage_subpool *hugetlb_pfn_subpool(unsigned long pfn);

/**
 * hugetlb_pfn_is_gmem() - does @pfn belong to a guest_memfd huge page?
 *
 * Return: true if its HugeTLB page was allocated from a guest_memfd subpool
 * (one that never takes surplus pages), whether or not it is split now.
 */
GS_API bool hugetlb_pfn_is_gmem(unsigned long pfn);

/** hugetlb_meta_forget() - drop the record covering @pfn (page freed without a merge) */
GS_API void hugetlb_meta_forget(unsigned long pfn);

/** hugetlb_meta_count() - records held */
GS_API unsigned long hugetlb_meta_count(void);

#endif /* GMEMSIM_HUGETLB_META_H */
