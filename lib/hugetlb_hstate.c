// SPDX-License-Identifier: MIT
/*
 * What every HugeTLB file shares, below the pools and the cgroup
 * controller alike: the hstates and hugetlb_lock (mm/hugetlb.c's globals),
 * the list of live subpools, and the walker over split huge pages. Kept
 * apart so that hugetlb_cgroup.c reads them without calling into the pools
 * (lib/hugetlb.c), which call the controller.
 */
#include <gmemsim/check.h>
#include <gmemsim/hugetlb_hstate.h>
#include <gmemsim/internal/hugetlb_int.h>

#define HSTATE_INIT(i, ord, nm)                                                        \
	[i] = {                                                                        \
		.order = (ord),                                                        \
		.mask = ~((PAGE_SIZE << (ord)) - 1),                                   \
		.name = (nm),                                                          \
		.hugepage_freelist = LIST_HEAD_INIT(hstates[i].hugepage_freelist),     \
		.hugepage_activelist = LIST_HEAD_INIT(hstates[i].hugepage_activelist), \
	}

struct hstate hstates[HUGE_MAX_HSTATE] = {
	HSTATE_INIT(0, HPAGE_PMD_ORDER, "hugepages-2048kB"),
	HSTATE_INIT(1, HPAGE_PUD_ORDER, "hugepages-1048576kB"),
};

DEFINE_SPINLOCK(hugetlb_lock);

static const struct hugetlb_split_ops *split_ops;
static LIST_HEAD(subpool_list);

struct hstate *size_to_hstate(unsigned long size)
{
	struct hstate *h;

	for_each_hstate (h)
		if (huge_page_size(h) == size)
			return h;
	return NULL;
}

struct hstate *folio_hstate(const struct folio *folio)
{
	struct hstate *h;

	for_each_hstate (h)
		if (huge_page_order(h) == folio_order(folio))
			return h;
	return NULL;
}

void hugetlb_subpool_link(struct hugepage_subpool *spool)
{
	spin_lock(&hugetlb_lock);
	list_add_tail(&spool->list, &subpool_list);
	spin_unlock(&hugetlb_lock);
}

void hugetlb_subpool_unlink(struct hugepage_subpool *spool)
{
	spin_lock(&hugetlb_lock);
	list_del(&spool->list);
	spin_unlock(&hugetlb_lock);
}

void hugetlb_for_each_subpool(void (*fn)(struct hugepage_subpool *spool, void *arg), void *arg)
{
	struct hugepage_subpool *spool;

	list_for_each_entry (spool, &subpool_list, list)
		fn(spool, arg);
}

void hugetlb_set_split_ops(const struct hugetlb_split_ops *ops)
{
	split_ops = ops;
}

void hugetlb_for_each_split(struct hstate *h, hugetlb_meta_fn fn, void *arg)
{
	lockdep_assert_held(&hugetlb_lock);
	if (split_ops)
		split_ops->for_each(split_ops->ctx, h, fn, arg);
}

static void snap_keep(struct hugetlb_split_snap *s, int idx, struct hugetlb_folio_meta *meta)
{
	if (s->nr[idx] < HUGETLB_SPLIT_SNAP_MAX)
		s->meta[idx][s->nr[idx]++] = meta;
	else
		s->overflow[idx] = true;
}

/* From the walk of all pools: a record joins its order's pool; one of no pool's order, none. */
static void snap_add(struct hugetlb_folio_meta *meta, void *arg)
{
	struct hugetlb_split_snap *s = arg;
	struct hstate *h;

	for_each_hstate (h)
		if (meta->order == huge_page_order(h))
			snap_keep(s, hstate_index(h), meta);
}

struct snap_pool {
	struct hugetlb_split_snap *s;
	int idx;
};

/* From one pool's walk: the record is that pool's, as the walk says. */
static void snap_add_pool(struct hugetlb_folio_meta *meta, void *arg)
{
	struct snap_pool *p = arg;

	snap_keep(p->s, p->idx, meta);
}

void hugetlb_split_snap_take(struct hugetlb_split_snap *s)
{
	struct hstate *h;

	lockdep_assert_held(&hugetlb_lock);
	for (int idx = 0; idx < HUGE_MAX_HSTATE; idx++) {
		s->nr[idx] = 0;
		s->overflow[idx] = false;
	}
	if (!split_ops)
		return;
	/* Every pool's records in one walk where the walker offers it, else a walk per pool. */
	if (split_ops->for_each_all) {
		split_ops->for_each_all(split_ops->ctx, snap_add, s);
		return;
	}
	for_each_hstate (h)
		split_ops->for_each(split_ops->ctx, h, snap_add_pool,
				    &(struct snap_pool){.s = s, .idx = hstate_index(h)});
}

const struct hugetlb_split_snap *hugetlb_split_snap_check(void)
{
	static struct hugetlb_split_snap snap;
	static unsigned long pass;
	unsigned long now = gs_check_pass();

	lockdep_assert_held(&hugetlb_lock);
	if (!now || now != pass) {
		hugetlb_split_snap_take(&snap);
		pass = now;
	}
	return &snap;
}
