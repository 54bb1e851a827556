// SPDX-License-Identifier: MIT
/*
 * The hugetlb cgroup controller: a hierarchy of cgroups with hierarchical
 * usage and reservation page counters per hstate, charged by the simulated
 * current task, and the offline path that hands a dying cgroup's page
 * charges to its parent. Mirrors mm/hugetlb_cgroup.c (charge, commit,
 * uncharge, css_offline, move_parent) and the parts of mm/page_counter.c it
 * needs.
 */
#include <errno.h>
#include <stdio.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/hugetlb_cgroup.h>
#include <gmemsim/state.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/hugetlb_int.h>

#define COUNTERS_INIT                                                    \
	{                                                                \
		[0 ... HUGE_MAX_HSTATE - 1] = {.max = PAGE_COUNTER_MAX } \
	}

static LIST_HEAD(hugetlb_cgroups);

static struct hugetlb_cgroup root_h_cgroup = {
	.name = "/",
	.refcnt = 1,
	.online = true,
	.node = LIST_HEAD_INIT(root_h_cgroup.node),
	.hugepage = COUNTERS_INIT,
	.rsvd_hugepage = COUNTERS_INIT,
};

static struct hugetlb_cgroup *current_h_cg = &root_h_cgroup;

/* --- page counters --- */

static void page_counter_init(struct page_counter *counter, struct page_counter *parent)
{
	*counter = (struct page_counter){.max = PAGE_COUNTER_MAX, .parent = parent};
}

/* Charge every level up to the root, or none if a limit is in the way. */
static bool page_counter_try_charge(struct page_counter *counter, unsigned long nr_pages)
{
	struct page_counter *c, *fail;

	for (c = counter; c; c = c->parent) {
		if (c->usage + (long)nr_pages > c->max) {
			c->failcnt++;
			fail = c;
			goto undo;
		}
		c->usage += (long)nr_pages;
		if (c->usage > c->watermark)
			c->watermark = c->usage;
	}
	return true;
undo:
	for (c = counter; c != fail; c = c->parent)
		c->usage -= (long)nr_pages;
	return false;
}

/* Take pages off this level only (its ancestors keep counting them). */
static void page_counter_cancel(struct page_counter *counter, unsigned long nr_pages)
{
	counter->usage -= (long)nr_pages;
	WARN_ONCE(counter->usage < 0, "page_counter underflow: %ld", counter->usage);
}

static void page_counter_uncharge(struct page_counter *counter, unsigned long nr_pages)
{
	for (struct page_counter *c = counter; c; c = c->parent)
		page_counter_cancel(c, nr_pages);
}

static int page_counter_set_max(struct page_counter *counter, unsigned long nr_pages)
{
	long max = nr_pages > (unsigned long)PAGE_COUNTER_MAX ? PAGE_COUNTER_MAX : (long)nr_pages;

	if (counter->usage > max)
		return -EBUSY;
	counter->max = max;
	return 0;
}

/* --- cgroup lifetime --- */

struct hugetlb_cgroup *hugetlb_cgroup_root(void)
{
	return &root_h_cgroup;
}

struct hugetlb_cgroup *hugetlb_cgroup_create(const char *name, struct hugetlb_cgroup *parent)
{
	struct hugetlb_cgroup *h_cg;

	if (!parent || !parent->online)
		return ERR_PTR(-EINVAL);
	h_cg = gs_alloc(GS_SITE_HUGETLB_CGROUP, sizeof(*h_cg), GFP_KERNEL | __GFP_ZERO);
	if (!h_cg)
		return ERR_PTR(-ENOMEM);
	snprintf(h_cg->name, sizeof(h_cg->name), "%s", name);
	h_cg->parent = parent;
	hugetlb_cgroup_get(parent);
	h_cg->refcnt = 1;
	h_cg->online = true;
	for (int idx = 0; idx < HUGE_MAX_HSTATE; idx++) {
		page_counter_init(&h_cg->hugepage[idx], &parent->hugepage[idx]);
		page_counter_init(&h_cg->rsvd_hugepage[idx], &parent->rsvd_hugepage[idx]);
	}
	list_add_tail(&h_cg->node, &hugetlb_cgroups);
	return h_cg;
}

void hugetlb_cgroup_get(struct hugetlb_cgroup *h_cg)
{
	h_cg->refcnt++;
}

void hugetlb_cgroup_put(struct hugetlb_cgroup *h_cg)
{
	struct hugetlb_cgroup *parent = h_cg->parent;

	if (WARN_ON(!h_cg->refcnt) || --h_cg->refcnt)
		return;
	if (WARN_ON(h_cg == &root_h_cgroup))
		return;
	for (int idx = 0; idx < HUGE_MAX_HSTATE; idx++)
		WARN(h_cg->hugepage[idx].usage || h_cg->rsvd_hugepage[idx].usage,
		     "hugetlb cgroup %s freed with charges", h_cg->name);
	list_del(&h_cg->node);
	gs_free(GS_SITE_HUGETLB_CGROUP, h_cg, sizeof(*h_cg));
	hugetlb_cgroup_put(parent);
}

static bool has_online_children(const struct hugetlb_cgroup *h_cg)
{
	struct hugetlb_cgroup *c;

	list_for_each_entry (c, &hugetlb_cgroups, node)
		if (c->parent == h_cg && c->online)
			return true;
	return false;
}

/*
 * The parent already counts the page (the counters are hierarchical): only
 * the child's own level lets go of it.
 */
static void hugetlb_cgroup_move_parent(int idx, struct hugetlb_cgroup *h_cg,
				       struct hugetlb_cgroup **owner, unsigned long nr_pages)
{
	if (*owner != h_cg)
		return;
	page_counter_cancel(&h_cg->hugepage[idx], nr_pages);
	*owner = h_cg->parent;
}

struct move_arg {
	struct hugetlb_cgroup *h_cg;
	int idx;
};

static void move_split_parent(struct hugetlb_folio_meta *meta, void *arg)
{
	struct move_arg *m = arg;

	if (WARN_ON_ONCE(meta->order != huge_page_order(&hstates[m->idx])))
		return;
	hugetlb_cgroup_move_parent(m->idx, m->h_cg, &meta->cgroup, 1UL << meta->order);
}

static void move_hstate_charges(struct hugetlb_cgroup *h_cg, struct hstate *h)
{
	struct move_arg m = {.h_cg = h_cg, .idx = hstate_index(h)};
	struct folio *folio;

	spin_lock(&hugetlb_lock);
	list_for_each_entry (folio, &h->hugepage_activelist, lru) {
		struct hugetlb_cgroup *owner = hugetlb_cgroup_from_folio(folio);

		hugetlb_cgroup_move_parent(m.idx, h_cg, &owner, folio_nr_pages(folio));
		set_hugetlb_cgroup(folio, owner);
	}
	/* A split huge page is charged as a whole, through what the folio layer keeps. */
	hugetlb_for_each_split(h, move_split_parent, &m);
	spin_unlock(&hugetlb_lock);
}

int hugetlb_cgroup_offline(struct hugetlb_cgroup *h_cg)
{
	struct hstate *h;

	if (h_cg == &root_h_cgroup || !h_cg->online)
		return -EINVAL;
	if (h_cg == current_h_cg || has_online_children(h_cg))
		return -EBUSY;
	for_each_hstate (h) {
		move_hstate_charges(h_cg, h);
		/* The kernel loops until no usage is left; one pass must do here. */
		WARN(h_cg->hugepage[hstate_index(h)].usage,
		     "hugetlb cgroup %s: %ld pages of usage not found on any page", h_cg->name,
		     h_cg->hugepage[hstate_index(h)].usage);
	}
	h_cg->online = false;
	gs_trace("hugetlb_cgroup.offline", GS_TF_STR("cgroup", h_cg->name),
		 GS_TF_U("refcnt", h_cg->refcnt));
	hugetlb_cgroup_put(h_cg);
	return 0;
}

int hugetlb_cgroup_set_limit(struct hugetlb_cgroup *h_cg, int idx, bool rsvd,
			     unsigned long nr_pages)
{
	if (h_cg == &root_h_cgroup || idx < 0 || idx >= HUGE_MAX_HSTATE)
		return -EINVAL;
	return page_counter_set_max(rsvd ? &h_cg->rsvd_hugepage[idx] : &h_cg->hugepage[idx],
				    nr_pages);
}

int hugetlb_cgroup_attach(struct hugetlb_cgroup *h_cg)
{
	if (!h_cg->online)
		return -EINVAL;
	current_h_cg = h_cg;
	return 0;
}

struct hugetlb_cgroup *hugetlb_cgroup_current(void)
{
	return current_h_cg;
}

/* --- charging --- */

static struct page_counter *counter_of(struct hugetlb_cgroup *h_cg, int idx, bool rsvd)
{
	return rsvd ? &h_cg->rsvd_hugepage[idx] : &h_cg->hugepage[idx];
}

static int __hugetlb_cgroup_charge_cgroup(int idx, unsigned long nr_pages,
					  struct hugetlb_cgroup **ptr, bool rsvd)
{
	struct hugetlb_cgroup *h_cg = current_h_cg;

	hugetlb_cgroup_get(h_cg);
	if (!page_counter_try_charge(counter_of(h_cg, idx, rsvd), nr_pages)) {
		hugetlb_cgroup_put(h_cg);
		return -ENOMEM;
	}
	/*
	 * A reservation pins its cgroup until released; a page does not, its
	 * charge moves to the parent when the cgroup goes offline.
	 */
	if (!rsvd)
		hugetlb_cgroup_put(h_cg);
	*ptr = h_cg;
	return 0;
}

int hugetlb_cgroup_charge_cgroup(int idx, unsigned long nr_pages, struct hugetlb_cgroup **ptr)
{
	return __hugetlb_cgroup_charge_cgroup(idx, nr_pages, ptr, false);
}

int hugetlb_cgroup_charge_cgroup_rsvd(int idx, unsigned long nr_pages, struct hugetlb_cgroup **ptr)
{
	return __hugetlb_cgroup_charge_cgroup(idx, nr_pages, ptr, true);
}

void hugetlb_cgroup_commit_charge(int idx, unsigned long nr_pages, struct hugetlb_cgroup *h_cg,
				  struct folio *folio)
{
	(void)idx;
	(void)nr_pages;
	lockdep_assert_held(&hugetlb_lock);
	if (h_cg)
		set_hugetlb_cgroup(folio, h_cg);
}

void hugetlb_cgroup_commit_charge_rsvd(int idx, unsigned long nr_pages, struct hugetlb_cgroup *h_cg,
				       struct folio *folio)
{
	(void)idx;
	(void)nr_pages;
	lockdep_assert_held(&hugetlb_lock);
	if (h_cg)
		set_hugetlb_cgroup_rsvd(folio, h_cg);
}

void hugetlb_cgroup_uncharge_folio(int idx, unsigned long nr_pages, struct folio *folio)
{
	struct hugetlb_cgroup *h_cg = hugetlb_cgroup_from_folio(folio);

	lockdep_assert_held(&hugetlb_lock);
	if (!h_cg)
		return;
	set_hugetlb_cgroup(folio, NULL);
	page_counter_uncharge(&h_cg->hugepage[idx], nr_pages);
}

void hugetlb_cgroup_uncharge_folio_rsvd(int idx, unsigned long nr_pages, struct folio *folio)
{
	struct hugetlb_cgroup *h_cg = hugetlb_cgroup_from_folio_rsvd(folio);

	lockdep_assert_held(&hugetlb_lock);
	if (!h_cg)
		return;
	set_hugetlb_cgroup_rsvd(folio, NULL);
	page_counter_uncharge(&h_cg->rsvd_hugepage[idx], nr_pages);
	hugetlb_cgroup_put(h_cg);
}

void hugetlb_cgroup_uncharge_cgroup(int idx, unsigned long nr_pages, struct hugetlb_cgroup *h_cg)
{
	if (h_cg)
		page_counter_uncharge(&h_cg->hugepage[idx], nr_pages);
}

void hugetlb_cgroup_uncharge_cgroup_rsvd(int idx, unsigned long nr_pages,
					 struct hugetlb_cgroup *h_cg)
{
	if (!h_cg)
		return;
	page_counter_uncharge(&h_cg->rsvd_hugepage[idx], nr_pages);
	hugetlb_cgroup_put(h_cg);
}

/* --- invariants and dump --- */

static bool is_descendant(const struct hugetlb_cgroup *c, const struct hugetlb_cgroup *ancestor)
{
	for (; c; c = c->parent)
		if (c == ancestor)
			return true;
	return false;
}

/* What the counters of one cgroup must add up to, from the charges themselves. */
struct charge_sum {
	const struct hugetlb_cgroup *h_cg;
	const struct hugetlb_split_snap *snap;
	int idx;
	long usage;
	long rsvd;
};

static void sum_split(struct hugetlb_folio_meta *meta, void *arg)
{
	struct charge_sum *s = arg;

	if (is_descendant(meta->cgroup, s->h_cg))
		s->usage += 1L << meta->order;
	if (is_descendant(meta->cgroup_rsvd, s->h_cg))
		s->rsvd += 1L << meta->order;
}

static void sum_subpool(struct hugepage_subpool *spool, void *arg)
{
	struct charge_sum *s = arg;

	if (hstate_index(spool->hstate) == s->idx && is_descendant(spool->rsvd_cg, s->h_cg))
		s->rsvd += (long)spool->rsvd_nr_pages;
}

static void sum_charges(struct charge_sum *s)
{
	struct hstate *h = &hstates[s->idx];
	struct folio *folio;

	list_for_each_entry (folio, &h->hugepage_activelist, lru) {
		if (is_descendant(hugetlb_cgroup_from_folio(folio), s->h_cg))
			s->usage += (long)folio_nr_pages(folio);
		if (is_descendant(hugetlb_cgroup_from_folio_rsvd(folio), s->h_cg))
			s->rsvd += (long)folio_nr_pages(folio);
	}
	hugetlb_split_snap_for_each(s->snap, h, sum_split, s);
	hugetlb_for_each_subpool(sum_subpool, s);
}

static void check_counter(struct gs_check_report *r, const struct hugetlb_cgroup *h_cg,
			  const char *what, const struct page_counter *c, long expected)
{
	if (c->usage != expected)
		gs_check_violation(r, "cgroup %s: %s usage %ld, charges add up to %ld", h_cg->name,
				   what, c->usage, expected);
	if (c->usage > c->max)
		gs_check_violation(r, "cgroup %s: %s usage %ld above max %ld", h_cg->name, what,
				   c->usage, c->max);
}

static void check_cgroup(struct gs_check_report *r, struct hugetlb_cgroup *h_cg,
			 const struct hugetlb_split_snap *snap)
{
	for (int idx = 0; idx < HUGE_MAX_HSTATE; idx++) {
		struct charge_sum s = {.h_cg = h_cg, .snap = snap, .idx = idx};

		sum_charges(&s);
		check_counter(r, h_cg, hstates[idx].name, &h_cg->hugepage[idx], s.usage);
		check_counter(r, h_cg, "rsvd", &h_cg->rsvd_hugepage[idx], s.rsvd);
		if (!h_cg->online && h_cg->hugepage[idx].usage)
			gs_check_violation(r, "cgroup %s: offline with usage %ld", h_cg->name,
					   h_cg->hugepage[idx].usage);
	}
}

/*
 * Reservation charges held outside folios and subpools are invisible here:
 * users that hold their own must do so through hugetlb_gmem_new_subpool().
 */
static void hugetlb_cgroup_check(struct gs_check_report *r, void *ctx)
{
	const struct hugetlb_split_snap *snap;
	struct hugetlb_cgroup *h_cg;

	(void)ctx;
	spin_lock(&hugetlb_lock);
	/*
	 * One walk of the split pages per pool (the pools' checker's of this
	 * pass) feeds every cgroup's tally.
	 */
	snap = hugetlb_split_snap_check();
	check_cgroup(r, &root_h_cgroup, snap);
	list_for_each_entry (h_cg, &hugetlb_cgroups, node)
		check_cgroup(r, h_cg, snap);
	if (!current_h_cg->online)
		gs_check_violation(r, "current task in offline cgroup %s", current_h_cg->name);
	spin_unlock(&hugetlb_lock);
}

static void dump_cgroup(FILE *f, const struct hugetlb_cgroup *h_cg)
{
	fprintf(f, "  cgroup %s%s%s%s refcnt=%u%s:", h_cg->name, h_cg->parent ? " parent=" : "",
		h_cg->parent ? h_cg->parent->name : "", h_cg->online ? "" : " offline",
		h_cg->refcnt, h_cg == current_h_cg ? " current" : "");
	for (int idx = 0; idx < HUGE_MAX_HSTATE; idx++) {
		unsigned long nr = pages_per_huge_page(&hstates[idx]);

		fprintf(f, " %s usage=%ld rsvd=%ld", hstates[idx].name,
			h_cg->hugepage[idx].usage / (long)nr,
			h_cg->rsvd_hugepage[idx].usage / (long)nr);
	}
	fputc('\n', f);
}

void hugetlb_cgroup_dump(FILE *f)
{
	struct hugetlb_cgroup *h_cg;

	dump_cgroup(f, &root_h_cgroup);
	list_for_each_entry (h_cg, &hugetlb_cgroups, node)
		dump_cgroup(f, h_cg);
}

__attribute__((constructor)) static void hugetlb_cgroup_init(void)
{
	WARN_ON(gs_check_register("hugetlb_cgroup", hugetlb_cgroup_check, NULL) < 0);
}

static void state_cgroup(struct gs_state *st, const char *path, const struct hugetlb_cgroup *h_cg)
{
	char p[128];

	/* The root's name is "/", which would read as an empty path element. */
	snprintf(p, sizeof(p), "%s/%s", path, h_cg == &root_h_cgroup ? "root" : h_cg->name);
	gs_state_add(st, p, "parent", "%s", h_cg->parent ? h_cg->parent->name : "");
	gs_state_add_u64(st, p, "online", h_cg->online);
	gs_state_add_u64(st, p, "refcnt", h_cg->refcnt);
	gs_state_add_u64(st, p, "current", h_cg == current_h_cg);
	for (int idx = 0; idx < HUGE_MAX_HSTATE; idx++) {
		long nr = (long)pages_per_huge_page(&hstates[idx]);
		char k[64];

		snprintf(k, sizeof(k), "%s.usage", hstates[idx].name);
		gs_state_add(st, p, k, "%ld", h_cg->hugepage[idx].usage / nr);
		snprintf(k, sizeof(k), "%s.rsvd", hstates[idx].name);
		gs_state_add(st, p, k, "%ld", h_cg->rsvd_hugepage[idx].usage / nr);
	}
}

/* Every cgroup's charges in huge pages (what hugetlb_cgroup_dump() prints). */
static void hugetlb_cgroup_state(struct gs_state *st, const char *path)
{
	struct hugetlb_cgroup *h_cg;

	state_cgroup(st, path, &root_h_cgroup);
	list_for_each_entry (h_cg, &hugetlb_cgroups, node)
		state_cgroup(st, path, h_cg);
}

static struct gs_state_dumper hugetlb_cgroup_dumper = {.name = "hugetlb_cgroup",
						       .dump = hugetlb_cgroup_state};
GS_STATE_DUMPER(hugetlb_cgroup_dumper)
