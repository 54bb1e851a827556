// SPDX-License-Identifier: MIT
/*
 * Per-pfn records of split HugeTLB pages (see <gmemsim/hugetlb_meta.h>),
 * kept in one global XArray with a multi-index entry per huge page. Mirrors
 * the metadata tracking of the guest_memfd HugeTLB restructuring work
 * (mm/hugetlb_restructuring.c in its branches).
 */
#include <errno.h>
#include <gmemsim/alloc.h>
#include <gmemsim/folio.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hvo.h>
#include <gmemsim/xarray.h>

static DEFINE_XARRAY(meta_xa);
static unsigned long nr_meta;
/*
 * The last pfn of the highest record stored since the XArray was last
 * empty: no record lies beyond it (only this file stores into meta_xa), so
 * the walks end there instead of scanning every slot above the last record
 * up to the top of the tree (about 1,100 instructions a walk, two walks a
 * check line).
 */
static unsigned long meta_last;

/*
 * The pools' view of split pages of one hstate: every record of its order
 * (of every order when @h is NULL). One XArray state walks on from each
 * record rather than looking the next up from the root (xa_for_each()): the
 * checkers walk the records at every check line. @fn changes no entry.
 */
static void meta_walk(struct hstate *h, hugetlb_meta_fn fn, void *arg)
{
	XA_STATE(xas, &meta_xa, 0);
	struct hugetlb_folio_meta *m;

	xas_for_each (&xas, m, meta_last)
		if (!h || m->order == huge_page_order(h))
			fn(m, arg);
}

static void meta_for_each(void *ctx, struct hstate *h, hugetlb_meta_fn fn, void *arg)
{
	(void)ctx;
	meta_walk(h, fn, arg);
}

/* Every pool's records in one walk, each pool's in the order meta_for_each() has them. */
static void meta_for_each_all(void *ctx, hugetlb_meta_fn fn, void *arg)
{
	(void)ctx;
	meta_walk(NULL, fn, arg);
}

static const struct hugetlb_split_ops meta_split_ops = {.for_each = meta_for_each,
							.for_each_all = meta_for_each_all};

int hugetlb_meta_save(struct folio *folio, gfp_t gfp)
{
	unsigned long pfn = folio_pfn(folio);
	unsigned int order = folio_order(folio);
	struct hugetlb_folio_meta *m;
	XA_STATE_ORDER(xas, &meta_xa, pfn, order);

	if (xa_load(&meta_xa, pfn))
		return -EEXIST;
	m = gs_alloc(GS_SITE_HUGETLB_META, sizeof(*m), gfp);
	if (!m)
		return -ENOMEM;
	*m = (struct hugetlb_folio_meta){
		.pfn = pfn,
		.order = order,
		.subpool = hugetlb_folio_subpool(folio),
		.cgroup = hugetlb_cgroup_from_folio(folio),
		.cgroup_rsvd = hugetlb_cgroup_from_folio_rsvd(folio),
		.hpage_flags = (unsigned long)folio->private,
		.listed = !list_empty(&folio->lru),
	};
	do {
		xas_lock(&xas);
		xas_store(&xas, m);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, gfp));
	if (xas_error(&xas)) {
		gs_free(GS_SITE_HUGETLB_META, m, sizeof(*m));
		return xas_error(&xas);
	}
	nr_meta++;
	meta_last = max_t(unsigned long, meta_last, pfn + (1UL << order) - 1);
	hugetlb_set_split_ops(&meta_split_ops);
	/* The split is about to overwrite the list link: the pool sees the page through m now. */
	if (m->listed)
		hugetlb_folio_split_detach(folio);
	return 0;
}

const struct hugetlb_folio_meta *hugetlb_meta_lookup(unsigned long pfn)
{
	return xa_load(&meta_xa, pfn);
}

struct hugetlb_folio_meta *hugetlb_meta_get(unsigned long pfn)
{
	return xa_load(&meta_xa, pfn);
}

void hugetlb_meta_forget(unsigned long pfn)
{
	struct hugetlb_folio_meta *m = xa_erase(&meta_xa, pfn);

	if (!m)
		return;
	gs_free(GS_SITE_HUGETLB_META, m, sizeof(*m));
	if (!--nr_meta)
		meta_last = 0;
}

bool hugetlb_meta_restore(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio);
	const struct hugetlb_folio_meta *m = hugetlb_meta_lookup(pfn);
	bool listed;

	if (!m || WARN_ON_ONCE(m->pfn != pfn || m->order != folio_order(folio)))
		return false;
	listed = m->listed;
	hugetlb_set_folio_subpool(folio, m->subpool);
	set_hugetlb_cgroup(folio, m->cgroup);
	set_hugetlb_cgroup_rsvd(folio, m->cgroup_rsvd);
	folio->private =
		(void *)(m->hpage_flags &
			 ~(1UL << HPG_vmemmap_optimized)); /* HVO state is the folio's own */
	hugetlb_meta_forget(pfn);
	INIT_LIST_HEAD(&folio->lru);
	if (listed)
		hugetlb_folio_merge_attach(folio);
	return true;
}

struct hugepage_subpool *hugetlb_pfn_subpool(unsigned long pfn)
{
	const struct hugetlb_folio_meta *m;
	struct folio *folio;

	if (!pfn_valid(pfn))
		return NULL;
	m = hugetlb_meta_lookup(pfn);
	if (m)
		return m->subpool;
	folio = pfn_folio(pfn);
	return folio_test_hugetlb(folio) ? hugetlb_folio_subpool(folio) : NULL;
}

bool hugetlb_pfn_is_gmem(unsigned long pfn)
{
	struct hugepage_subpool *spool = hugetlb_pfn_subpool(pfn);

	return spool && !spool->use_surplus;
}

unsigned long hugetlb_meta_count(void)
{
	return nr_meta;
}

/*
 * How HugeTLB joins the folio layer's split and merge: HVO says whether the
 * pieces' struct pages exist, the record keeps the page's identity.
 */
static const struct gs_folio_split_ops hugetlb_folio_split_ops = {
	.vmemmap_ready = hugetlb_vmemmap_split_prepared,
	.save = hugetlb_meta_save,
	.restore = hugetlb_meta_restore,
};

__attribute__((constructor)) static void hugetlb_meta_init(void)
{
	gs_folio_set_split_ops(GS_FOLIO_HUGETLB, &hugetlb_folio_split_ops);
}
