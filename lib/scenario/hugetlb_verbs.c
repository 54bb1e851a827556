// SPDX-License-Identifier: MIT
/*
 * Scenario verbs of the HugeTLB layer, so that a scenario can follow the
 * pool, subpool and cgroup counters step by step (docs/HUGETLB.md):
 *
 *   hugetlb pool|stat|reserve|unreserve|dump size=2M ...   the hstates
 *   subpool NAME size=2M [max=N] [min=N] [gmem] [nosurplus], subpool-put NAME
 *   cgroup NAME [parent=P] [limit=N] [rsvd_limit=N] [enter] [offline]
 *   hpage NAME size=2M | spool=S [index=I], hpage-add NAME index=I, hpage-put NAME
 *   machine [mem=SIZE] [backing=none|anon|hugetlb|auto]
 *
 * A subpool object also stands for the file using it: a map from index to
 * page, which is how two allocations of one index race (hpage, hpage,
 * hpage-add, hpage-add). Scenario pools draw from simulated physical memory
 * without data (metadata only) unless another backend is installed.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_cgroup.h>
#include <gmemsim/hugetlb_meta.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/physmem.h>
#include <gmemsim/scenario.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>

#define SZ_2M (2UL << 20)

/*
 * --- the host: simulated physical memory without data (metadata only), with
 * a limit on how many huge pages of each size it can give (host=) ---
 */

struct verbs_host {
	unsigned long limit[HUGE_MAX_HSTATE];
	unsigned long pages[HUGE_MAX_HSTATE];
	struct gs_hugetlb_host mem;
	struct gs_hugetlb_backend lower;
};

static struct verbs_host verbs_host = {
	.limit = {ULONG_MAX, ULONG_MAX},
	.mem = {.backing = GS_BACKING_NONE},
};

static int order_index(unsigned int order)
{
	struct hstate *h;

	for_each_hstate (h)
		if (huge_page_order(h) == order)
			return hstate_index(h);
	return -1;
}

/* NUMA_NO_NODE: the lower backend's own choice of node. */
static struct folio *host_alloc_fresh_node(void *ctx, unsigned int order, int nid, gfp_t gfp)
{
	struct verbs_host *host = ctx;
	int idx = order_index(order);
	struct folio *folio;

	if (idx < 0 || host->pages[idx] >= host->limit[idx])
		return NULL;
	if (nid != NUMA_NO_NODE && host->lower.alloc_fresh_node)
		folio = host->lower.alloc_fresh_node(host->lower.ctx, order, nid, gfp);
	else
		folio = host->lower.alloc_fresh(host->lower.ctx, order, gfp);
	if (folio)
		host->pages[idx]++;
	return folio;
}

static struct folio *host_alloc_fresh(void *ctx, unsigned int order, gfp_t gfp)
{
	return host_alloc_fresh_node(ctx, order, NUMA_NO_NODE, gfp);
}

static int host_free_fresh(void *ctx, struct folio *folio)
{
	struct verbs_host *host = ctx;
	int idx = order_index(folio_order(folio));
	int err = host->lower.free_fresh(host->lower.ctx, folio);

	if (!err)
		host->pages[idx]--;
	return err;
}

static unsigned long host_nr_available_node(void *ctx, unsigned int order, int nid)
{
	struct verbs_host *host = ctx;
	int idx = order_index(order);
	unsigned long left;

	if (idx < 0)
		return 0;
	/* host= may have been set below what the pools hold already. */
	left = host->limit[idx] > host->pages[idx] ? host->limit[idx] - host->pages[idx] : 0;
	if (nid != NUMA_NO_NODE && host->lower.nr_available_node)
		left = min_t(unsigned long, left,
			     host->lower.nr_available_node(host->lower.ctx, order, nid));
	else if (host->lower.nr_available)
		left = min_t(unsigned long, left, host->lower.nr_available(host->lower.ctx, order));
	return left;
}

static unsigned long host_nr_available(void *ctx, unsigned int order)
{
	return host_nr_available_node(ctx, order, NUMA_NO_NODE);
}

static const struct gs_hugetlb_backend verbs_backend = {
	.alloc_fresh = host_alloc_fresh,
	.free_fresh = host_free_fresh,
	.nr_available = host_nr_available,
	.ctx = &verbs_host,
	.alloc_fresh_node = host_alloc_fresh_node,
	.nr_available_node = host_nr_available_node,
};

/* --- shared helpers --- */

static struct hstate *op_hstate(const struct gs_op *op)
{
	return size_to_hstate(gs_op_u64(op, "size", SZ_2M));
}

static int validate_size(const struct gs_op *op, char *err, size_t len)
{
	if (op_hstate(op))
		return 0;
	snprintf(err, len, "size: no hstate of %llu bytes (2M or 1G)",
		 (unsigned long long)gs_op_u64(op, "size", 0));
	return -1;
}

static void set_pool_fields(struct gs_result *res, const struct hstate *h)
{
	gs_result_set(res, "nr", h->nr_huge_pages);
	gs_result_set(res, "free", h->free_huge_pages);
	gs_result_set(res, "resv", h->resv_huge_pages);
	gs_result_set(res, "surplus", h->surplus_huge_pages);
}

#define POOL_OUTPUTS "nr", "free", "resv", "surplus"

/* --- pools: hugetlb pool|stat|reserve|unreserve|dump --- */

struct vpool {
	struct hstate *h;
	long manual_resv;    /* taken by `hugetlb reserve`, given back at teardown */
	unsigned long warns; /* gs_warn_count() when the pool was made */
	bool persistent;     /* its runner's: the pages may be parked at the end */
};

static unsigned int nr_vpools;

/*
 * A surplus page whose vmemmap could not be restored stays in the pool, free
 * (__update_and_free_hugetlb_folio()), and shrinking the pool does not take
 * it: only a released reservation does (return_unused_surplus_pages()). The
 * pool's teardown reserves and releases them so they go back to the host.
 */
static void drain_kept_surplus(struct hstate *h)
{
	long n = (long)h->surplus_huge_pages;

	if (n && !hugetlb_acct_memory(h, n, true))
		hugetlb_acct_memory(h, -n, true);
}

/*
 * A persistent runner parks the pool's clean 2 MiB pages as they go back
 * (gs_physmem_park_huge()) for the next input's pool to take, in the same
 * order, with no host call. A page the run poisoned is not among them: it
 * goes back to the host when unpoisoned, before the pool parks the others
 * (their struct pages are made again or verified when taken, whatever the
 * run did). A run that still holds poisoned pages, kept any in the pool or
 * WARNed leaves nothing parked: the next pool is built from scratch.
 */
static void vpool_unpark_if_dirty(const struct vpool *p)
{
	if (hugetlb_nr_hwpoison() || p->h->nr_huge_pages || gs_warn_count() != p->warns)
		gs_physmem_release_parked();
}

static void vpool_destroy(void *obj)
{
	struct vpool *p = obj;
	bool parking;

	/* The kernel's worker would have run by now: split pages all freed go back first. */
	hugetlb_restructuring_run_deferred();
	if (p->manual_resv > 0)
		hugetlb_acct_memory(p->h, -p->manual_resv, true);
	/* Pages memory failure took go back to the host with the machine, never parked. */
	hugetlb_unpoison_all();
	hugetlb_set_overcommit(p->h, 0);
	/* A trace would show the host's part of the teardown that parking skips. */
	parking = gs_physmem_set_parking(p->persistent && !gs_trace_nr_sinks);
	set_max_huge_pages(p->h, 0);
	drain_kept_surplus(p->h);
	gs_physmem_set_parking(parking);
	vpool_unpark_if_dirty(p);
	verbs_host.limit[hstate_index(p->h)] = ULONG_MAX;
	if (!--nr_vpools && hugetlb_backend() == &verbs_backend)
		WARN_ON(hugetlb_set_backend(NULL));
	g_free(p);
}

static void vpool_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	(void)s;
	(void)name;
	(void)obj;
	hugetlb_dump(f);
}

/* The pools themselves are the HugeTLB layer's state dumper's ("hugetlb"). */
static void vpool_dump(struct gs_state *st, const char *path, void *obj)
{
	struct vpool *p = obj;

	gs_state_add(st, path, "reserved_here", "%ld", p->manual_resv);
}

static const struct gs_obj_type vpool_type = {
	.name = "hugetlb pool",
	.destroy = vpool_destroy,
	.show = vpool_show,
	.dump = vpool_dump,
};

static const char *const vpool_names[HUGE_MAX_HSTATE] = {"hugetlb-2M", "hugetlb-1G"};

static struct vpool *vpool_get(struct gs_scenario *s, struct hstate *h)
{
	const char *name = vpool_names[hstate_index(h)];
	struct vpool *p = gs_scenario_obj_get(s, name, &vpool_type);

	if (p)
		return p;
	if (!hugetlb_backend()) {
		verbs_host.lower = gs_hugetlb_host_backend(&verbs_host.mem);
		WARN_ON(hugetlb_set_backend(&verbs_backend));
	}
	p = g_new0(struct vpool, 1);
	p->h = h;
	p->warns = gs_warn_count();
	p->persistent = gs_scenario_persistent(s);
	gs_scenario_obj_add(s, name, &vpool_type, p);
	nr_vpools++;
	return p;
}

/*
 * Fail-nth policy (docs/SCENARIOS.md). Freeing a surplus page needs its
 * vmemmap back; when restoring it fails, __update_and_free_hugetlb_folio()
 * keeps the page in the pool as a surplus page instead of freeing it. That
 * holds on every path that lets surplus pages go: a put page, a dropped
 * reservation, a subpool put.
 */
static const struct gs_fail_nth_effort restore_absorbed[] = {
	{NULL, "hvo.restore"},
	{NULL, NULL},
};

/*
 * `hugetlb pool nr=N` is a write to nr_hugepages: set_max_huge_pages()
 * allocates pages one at a time, stops at the first failure and returns
 * success with a smaller pool. Dropping a reservation frees surplus pages.
 */
static const struct gs_fail_nth_effort hugetlb_best_effort[] = {
	{"pool", NULL},
	{"unreserve", "hvo.restore"},
	{NULL, NULL},
};

/*
 * alloc_hugetlb_folio(): every failure in it, including a surplus page the
 * buddy allocator cannot supply, ends in ERR_PTR(-ENOSPC).
 */
static const int hpage_errnos[] = {ENOSPC, 0};

static const char *const hugetlb_cmds[] = {"pool", "stat", "reserve", "unreserve", "dump", NULL};

static int hugetlb_validate(const struct gs_op *op, char *err, size_t len)
{
	bool reserve = !strcmp(op->target, "reserve") || !strcmp(op->target, "unreserve");
	bool known = false;

	for (int i = 0; hugetlb_cmds[i]; i++)
		known |= !strcmp(op->target, hugetlb_cmds[i]);
	if (!known) {
		snprintf(err, len, "hugetlb: '%s' is not pool, stat, reserve, unreserve or dump",
			 op->target);
		return -1;
	}
	if (reserve != gs_op_has(op, "pages")) {
		snprintf(err, len, "pages= goes with reserve and unreserve, and they need it");
		return -1;
	}
	return validate_size(op, err, len);
}

static int hugetlb_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct hstate *h = op_hstate(op);
	struct vpool *p = vpool_get(s, h);
	uint64_t upages = gs_op_u64(op, "pages", 0);
	long pages = (long)upages;

	/* hugetlb_acct_memory() counts in a long: a count it cannot hold is no count. */
	if (upages > LONG_MAX) {
		res->ret = -EINVAL;
	} else if (!strcmp(op->target, "pool")) {
		if (gs_op_has(op, "host"))
			verbs_host.limit[hstate_index(h)] = gs_op_u64(op, "host", 0);
		if (gs_op_has(op, "overcommit"))
			hugetlb_set_overcommit(h, gs_op_u64(op, "overcommit", 0));
		if (gs_op_has(op, "nr") && gs_op_has(op, "node"))
			res->ret = hugetlb_set_node_huge_pages(h, (int)gs_op_u64(op, "node", 0),
							       gs_op_u64(op, "nr", 0));
		else if (gs_op_has(op, "nr"))
			res->ret = set_max_huge_pages(h, gs_op_u64(op, "nr", 0));
	} else if (!strcmp(op->target, "reserve")) {
		res->ret = hugetlb_acct_memory(h, pages, !gs_op_u64(op, "nosurplus", 0));
		if (!res->ret)
			p->manual_resv += pages;
	} else if (!strcmp(op->target, "unreserve")) {
		if (pages > p->manual_resv)
			return gs_scenario_error(s, op, "only %ld pages were reserved here",
						 p->manual_resv);
		res->ret = hugetlb_acct_memory(h, -pages, true);
		p->manual_resv -= pages;
	} else if (!strcmp(op->target, "dump") && !gs_scenario_quiet(s)) {
		hugetlb_dump(gs_scenario_out(s));
	}
	set_pool_fields(res, h);
	if (gs_op_has(op, "node") && gs_op_u64(op, "node", 0) < GS_MAX_NUMNODES) {
		gs_result_set(res, "node_nr", h->nr_huge_pages_node[gs_op_u64(op, "node", 0)]);
		gs_result_set(res, "node_free", h->free_huge_pages_node[gs_op_u64(op, "node", 0)]);
	}
	gs_result_set(res, "overcommit", h->nr_overcommit_huge_pages);
	gs_result_set(res, "max", h->max_huge_pages);
	return 0;
}

static const struct gs_key hugetlb_keys[] = {
	{"size", GS_ARG_U64, .help = "huge page size: 2M (default) or 1G"},
	{"nr", GS_ARG_U64, .help = "pool: persistent pool size (nr_hugepages)"},
	{"node", GS_ARG_U64,
	 .help = "pool: nr= is this node's pool (nodeN/hugepages/.../nr_hugepages)"},
	{"overcommit", GS_ARG_U64, .help = "pool: nr_overcommit_hugepages"},
	{"host", GS_ARG_U64, .help = "pool: huge pages of this size the host can still give"},
	{"pages", GS_ARG_U64, .help = "reserve/unreserve: pages (hugetlb_acct_memory)"},
	{"nosurplus", GS_ARG_BOOL, .help = "reserve: do not gather surplus pages"},
	{NULL},
};

static const char *const hugetlb_outputs[] = {POOL_OUTPUTS, "overcommit", "max",
					      "node_nr",    "node_free",  NULL};
static const char *const pool_outputs[] = {POOL_OUTPUTS, NULL};

static const struct gs_verb verb_hugetlb = {
	.name = "hugetlb",
	.usage_target = "pool|stat|reserve|unreserve|dump",
	.summary = "an hstate and its counters",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = hugetlb_keys,
	.outputs = hugetlb_outputs,
	.backends = GS_BACKEND_SIM,
	.validate = hugetlb_validate,
	.run = hugetlb_run,
	.fail_nth.best_effort = hugetlb_best_effort,
};

/* --- subpools, each with the file that uses it --- */

struct vpage;

struct vspool {
	struct hugepage_subpool *spool;
	struct hstate *h;
	GHashTable *file;  /* index -> struct vpage * that inserted it */
	unsigned int refs; /* the scenario object and each page */
	bool put;	   /* hugepage_put_subpool() done */
};

static void vspool_put(struct vspool *v)
{
	if (--v->refs)
		return;
	g_hash_table_destroy(v->file);
	g_free(v);
}

static void vspool_destroy(void *obj)
{
	struct vspool *v = obj;

	v->put = true;
	hugepage_put_subpool(v->spool);
	vspool_put(v);
}

static const struct gs_obj_type vspool_type = {
	.name = "subpool",
	.destroy = vspool_destroy,
};

static void set_spool_fields(struct gs_result *res, struct vspool *v)
{
	/* Once put, the subpool goes away with its last page: nothing to show. */
	if (v->put)
		return;
	gs_result_set(res, "used", (uint64_t)v->spool->used_hpages);
	gs_result_set(res, "rsv", (uint64_t)v->spool->rsv_hpages);
}

static int subpool_validate(const struct gs_op *op, char *err, size_t len)
{
	bool gmem = gs_op_u64(op, "gmem", 0);

	if (gmem && (!gs_op_has(op, "max") || gs_op_has(op, "min") || gs_op_has(op, "nosurplus"))) {
		snprintf(err, len, "gmem takes the file size as max= (min = max, no surplus)");
		return -1;
	}
	if (gs_op_has(op, "max") && gs_op_has(op, "min") &&
	    gs_op_u64(op, "min", 0) > gs_op_u64(op, "max", 0)) {
		snprintf(err, len, "min= above max=");
		return -1;
	}
	return validate_size(op, err, len);
}

/*
 * max= and min= stand for a mount's size= and min_size=, byte counts the
 * kernel turns into pages (hugetlbfs_size_to_hpages()); a guest_memfd
 * file's size is a loff_t. A count no such size can express is -EINVAL,
 * as hugetlbfs_parse_param() and kvm_gmem_create() answer a bad size.
 */
static bool subpool_sizes_valid(const struct gs_op *op, const struct hstate *h)
{
	uint64_t lim = gs_op_u64(op, "gmem", 0) ? (uint64_t)hugetlb_max_file_hpages(h)
						: hugetlb_max_mount_hpages(h);

	return gs_op_u64(op, "max", 0) <= lim && gs_op_u64(op, "min", 0) <= lim;
}

static struct hugepage_subpool *subpool_create(const struct gs_op *op, struct hstate *h, long *err)
{
	long max = gs_op_has(op, "max") ? (long)gs_op_u64(op, "max", 0) : -1;
	long min = gs_op_has(op, "min") ? (long)gs_op_u64(op, "min", 0) : -1;
	struct hugepage_subpool *spool;

	if (!subpool_sizes_valid(op, h)) {
		*err = -EINVAL;
		return NULL;
	}
	if (gs_op_u64(op, "gmem", 0)) {
		spool = hugetlb_gmem_new_subpool(h, max);
		*err = IS_ERR(spool) ? PTR_ERR(spool) : 0;
		return IS_ERR(spool) ? NULL : spool;
	}
	spool = hugepage_new_subpool(h, max, min, !gs_op_u64(op, "nosurplus", 0));
	*err = spool ? 0 : -ENOMEM;
	return spool;
}

static int subpool_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vspool *v = gs_scenario_obj_get(s, op->target, &vspool_type);
	struct hstate *h = op_hstate(op);
	struct hugepage_subpool *spool;
	long err;

	if (v) {
		set_pool_fields(res, v->h);
		set_spool_fields(res, v);
		return 0;
	}
	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' already exists", op->target);
	/* hugetlbfs gives a mount without size limits no subpool at all. */
	if (!gs_op_has(op, "max") && !gs_op_has(op, "min"))
		return gs_scenario_error(
			s, op, "no subpool '%s'; a new one needs max= or min=", op->target);
	vpool_get(s, h);
	spool = subpool_create(op, h, &err);
	res->ret = err;
	set_pool_fields(res, h);
	if (!spool)
		return 0;
	v = g_new0(struct vspool, 1);
	v->spool = spool;
	v->h = h;
	v->file = g_hash_table_new(g_direct_hash, g_direct_equal);
	v->refs = 1;
	gs_scenario_obj_add(s, op->target, &vspool_type, v);
	set_spool_fields(res, v);
	return 0;
}

static const struct gs_key subpool_keys[] = {
	{"size", GS_ARG_U64, .help = "huge page size: 2M (default) or 1G"},
	{"max", GS_ARG_U64, .help = "size limit in huge pages (none if absent)"},
	{"min", GS_ARG_U64, .help = "huge pages reserved for the subpool's life (none if absent)"},
	{"gmem", GS_ARG_BOOL,
	 .help = "guest_memfd file of max= pages: min = max, no surplus, "
		 "rsvd cgroup charge"},
	{"nosurplus", GS_ARG_BOOL, .help = "reservations never gather surplus pages"},
	{NULL},
};

static const char *const subpool_outputs[] = {POOL_OUTPUTS, "used", "rsv", NULL};

static const struct gs_verb verb_subpool = {
	.name = "subpool",
	.summary = "create a subpool (and its file), or show its counters",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = subpool_keys,
	.outputs = subpool_outputs,
	.backends = GS_BACKEND_SIM,
	.validate = subpool_validate,
	.run = subpool_run,
};

static int subpool_put_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vspool *v = gs_scenario_obj_get(s, op->target, &vspool_type);
	struct hstate *h;

	if (!v)
		return gs_scenario_error(s, op, "no subpool named '%s'", op->target);
	h = v->h;
	gs_scenario_obj_del(s, op->target);
	set_pool_fields(res, h);
	return 0;
}

static const struct gs_verb verb_subpool_put = {
	.name = "subpool-put",
	.summary = "drop the subpool's reference (unmount, file close)",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = pool_outputs,
	.backends = GS_BACKEND_SIM,
	.run = subpool_put_run,
	.fail_nth.best_effort = restore_absorbed,
};

/* --- hugetlb cgroups --- */

struct vcg {
	struct hugetlb_cgroup *h_cg;
};

static void vcg_destroy(void *obj)
{
	struct vcg *v = obj;

	if (v->h_cg->online) {
		if (hugetlb_cgroup_current() == v->h_cg)
			hugetlb_cgroup_attach(hugetlb_cgroup_root());
		WARN_ON(hugetlb_cgroup_offline(v->h_cg));
	}
	hugetlb_cgroup_put(v->h_cg);
	g_free(v);
}

static const struct gs_obj_type vcg_type = {
	.name = "hugetlb cgroup",
	.destroy = vcg_destroy,
};

static struct hugetlb_cgroup *lookup_cgroup(struct gs_scenario *s, const char *name)
{
	struct vcg *v;

	if (!strcmp(name, "root"))
		return hugetlb_cgroup_root();
	v = gs_scenario_obj_get(s, name, &vcg_type);
	return v ? v->h_cg : NULL;
}

static int cgroup_create(struct gs_scenario *s, const struct gs_op *op, struct hugetlb_cgroup **out)
{
	const char *pname = gs_op_str(op, "parent", "root");
	struct hugetlb_cgroup *parent = lookup_cgroup(s, pname), *h_cg;
	struct vcg *v;

	if (!parent)
		return gs_scenario_error(s, op, "no cgroup named '%s'", pname);
	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' already exists", op->target);
	h_cg = hugetlb_cgroup_create(op->target, parent);
	if (IS_ERR(h_cg)) {
		*out = h_cg;
		return 0;
	}
	hugetlb_cgroup_get(h_cg);
	v = g_new0(struct vcg, 1);
	v->h_cg = h_cg;
	gs_scenario_obj_add(s, op->target, &vcg_type, v);
	*out = h_cg;
	return 0;
}

/*
 * A limit in huge pages as base pages: like page_counter_memparse(), a
 * value past PAGE_COUNTER_MAX means no limit, rounded down to whole huge
 * pages as hugetlb_cgroup_write() does.
 */
static unsigned long cgroup_limit_pages(const struct gs_op *op, const char *key,
					const struct hstate *h)
{
	unsigned long nr = pages_per_huge_page(h);
	uint64_t hpages = gs_op_u64(op, key, 0);

	if (hpages > PAGE_COUNTER_MAX / nr)
		return ALIGN_DOWN((unsigned long)PAGE_COUNTER_MAX, nr);
	return hpages * nr;
}

static long cgroup_apply(const struct gs_op *op, struct hugetlb_cgroup *h_cg, struct hstate *h)
{
	long ret = 0;

	if (!ret && gs_op_has(op, "limit"))
		ret = hugetlb_cgroup_set_limit(h_cg, hstate_index(h), false,
					       cgroup_limit_pages(op, "limit", h));
	if (!ret && gs_op_has(op, "rsvd_limit"))
		ret = hugetlb_cgroup_set_limit(h_cg, hstate_index(h), true,
					       cgroup_limit_pages(op, "rsvd_limit", h));
	if (!ret && gs_op_u64(op, "enter", 0))
		ret = hugetlb_cgroup_attach(h_cg);
	if (!ret && gs_op_u64(op, "offline", 0))
		ret = hugetlb_cgroup_offline(h_cg);
	return ret;
}

static int cgroup_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct hugetlb_cgroup *h_cg = lookup_cgroup(s, op->target);
	struct hstate *h = op_hstate(op);
	int idx = hstate_index(h);

	if (!h_cg) {
		if (cgroup_create(s, op, &h_cg))
			return -1;
		if (IS_ERR(h_cg)) {
			res->ret = PTR_ERR(h_cg);
			return 0;
		}
	} else if (gs_op_has(op, "parent")) {
		return gs_scenario_error(s, op, "cgroup '%s' exists: parent= only at creation",
					 op->target);
	}
	res->ret = cgroup_apply(op, h_cg, h);
	gs_result_set(res, "usage", hugetlb_cgroup_usage(h_cg, idx, false) >> h->order);
	gs_result_set(res, "rsvd", hugetlb_cgroup_usage(h_cg, idx, true) >> h->order);
	gs_result_set(res, "online", h_cg->online);
	return 0;
}

static const struct gs_key cgroup_keys[] = {
	{"parent", GS_ARG_STR, .help = "parent cgroup at creation (default: root)"},
	{"size", GS_ARG_U64, .help = "hstate the limits and counters are for: 2M (default) or 1G"},
	{"limit", GS_ARG_U64, .help = "usage limit in huge pages (hugetlb.<size>.max)"},
	{"rsvd_limit", GS_ARG_U64, .help = "reservation limit in huge pages (.rsvd.max)"},
	{"enter", GS_ARG_BOOL, .help = "move the current task into the cgroup"},
	{"offline", GS_ARG_BOOL, .help = "remove the cgroup (rmdir): usage moves to the parent"},
	{NULL},
};

static const char *const cgroup_outputs[] = {"usage", "rsvd", "online", NULL};

static const struct gs_verb verb_cgroup = {
	.name = "cgroup",
	.summary = "create, configure or show a hugetlb cgroup (\"root\" is the root)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = cgroup_keys,
	.outputs = cgroup_outputs,
	.backends = GS_BACKEND_SIM,
	.validate = validate_size,
	.run = cgroup_run,
};

/* --- huge pages --- */

/**
 * struct vpage - a huge page a scenario holds
 * @folio: the page; one reference is the scenario's
 * @file: the subpool object it was allocated for, NULL for a direct allocation
 * @index: where it sits in @file, valid when @inserted
 * @inserted: it owns @file's slot at @index
 * @vpool: direct allocations that consumed a `hugetlb reserve` reservation
 * @defer: a split page is dropped as it is (`hpage-put ... defer`): its
 *         pieces wait for the deferred merge instead of merging first
 */
struct vpage {
	struct folio *folio;
	struct vspool *file;
	pgoff_t index;
	bool inserted;
	struct vpool *vpool;
	bool defer;
};

static int vpage_merge_back(struct vpage *p);

static void vpage_destroy(void *obj)
{
	struct vpage *p = obj;

	/* A page still split goes back whole, as a HugeTLB page its pool can take back. */
	if (folio_test_needs_merge(p->folio) && !p->defer)
		WARN_ON(vpage_merge_back(p));
	if (p->inserted)
		g_hash_table_remove(p->file->file, GUINT_TO_POINTER(p->index));
	folio_put(p->folio);
	/* The page gave its reservation back (HPG_restore_reserve). */
	if (p->vpool)
		p->vpool->manual_resv++;
	if (p->file)
		vspool_put(p->file);
	g_free(p);
}

static const struct gs_obj_type vpage_type = {
	.name = "huge page",
	.destroy = vpage_destroy,
};

/*
 * Insert @p at @index of its file. Losing the race to a page already there,
 * it frees its own page and takes a reference on the winner's.
 */
static bool vpage_insert(struct vpage *p, pgoff_t index)
{
	struct vpage *winner = g_hash_table_lookup(p->file->file, GUINT_TO_POINTER(index));

	if (!winner) {
		g_hash_table_insert(p->file->file, GUINT_TO_POINTER(index), p);
		p->index = index;
		p->inserted = true;
		return true;
	}
	folio_put(p->folio);
	folio_get(winner->folio);
	p->folio = winner->folio;
	return false;
}

static int hpage_validate(const struct gs_op *op, char *err, size_t len)
{
	bool file = gs_op_has(op, "spool");

	if (file == gs_op_has(op, "size")) {
		snprintf(err, len, "hpage takes spool= (a file's page) or size= (a pool page)");
		return -1;
	}
	if (file && (gs_op_has(op, "rsvd") || gs_op_has(op, "reserved"))) {
		snprintf(err, len,
			 "rsvd and reserved go with size=; the subpool decides for spool=");
		return -1;
	}
	if (!file && gs_op_has(op, "index")) {
		snprintf(err, len, "index= needs spool=");
		return -1;
	}
	return validate_size(op, err, len);
}

static struct folio *hpage_alloc(struct gs_scenario *s, const struct gs_op *op, struct vpage *p,
				 struct hstate **h)
{
	bool reserved = gs_op_u64(op, "reserved", 0);
	struct folio *folio;

	if (p->file) {
		*h = p->file->h;
		return hugetlb_file_alloc_folio(p->file->spool, NULL, gs_op_u64(op, "index", 0));
	}
	*h = op_hstate(op);
	folio = hugetlb_alloc_folio(*h, NULL, 0, gs_op_u64(op, "rsvd", 0), reserved);
	if (!IS_ERR(folio) && reserved) {
		p->vpool = vpool_get(s, *h);
		p->vpool->manual_resv--;
	}
	return folio;
}

static int hpage_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	const char *cg_name = gs_op_str(op, "cgroup", NULL);
	struct hugetlb_cgroup *cg = cg_name ? lookup_cgroup(s, cg_name) : NULL;
	struct hugetlb_cgroup *saved = hugetlb_cgroup_current();
	struct vpage *p = g_new0(struct vpage, 1);
	struct hstate *h;
	struct folio *folio;

	if (gs_scenario_obj_get(s, op->target, NULL) || (cg_name && !cg)) {
		g_free(p);
		if (cg_name && !cg)
			return gs_scenario_error(s, op, "no cgroup named '%s'", cg_name);
		return gs_scenario_error(s, op, "'%s' already exists", op->target);
	}
	if (gs_op_has(op, "spool")) {
		p->file = gs_scenario_obj_get(s, gs_op_str(op, "spool", ""), &vspool_type);
		if (!p->file) {
			g_free(p);
			return gs_scenario_error(s, op, "no subpool named '%s'",
						 gs_op_str(op, "spool", ""));
		}
	}
	/* The page is charged to the cgroup of the task allocating it. */
	if (cg && hugetlb_cgroup_attach(cg)) {
		g_free(p);
		return gs_scenario_error(s, op, "cgroup '%s' is offline", cg_name);
	}
	folio = hpage_alloc(s, op, p, &h);
	hugetlb_cgroup_attach(saved);
	if (IS_ERR(folio)) {
		res->ret = PTR_ERR(folio);
		g_free(p);
	} else {
		p->folio = folio;
		if (p->file)
			p->file->refs++;
		gs_scenario_obj_add(s, op->target, &vpage_type, p);
		if (p->file && gs_op_has(op, "index"))
			gs_result_set(res, "lost", !vpage_insert(p, gs_op_u64(op, "index", 0)));
	}
	set_pool_fields(res, h);
	if (gs_op_has(op, "spool"))
		set_spool_fields(res,
				 gs_scenario_obj_get(s, gs_op_str(op, "spool", ""), &vspool_type));
	return 0;
}

static const struct gs_key hpage_keys[] = {
	{"size", GS_ARG_U64,
	 .help = "a page straight from the 2M or 1G pool (hugetlb_alloc_folio)"},
	{"spool", GS_ARG_STR, .help = "a page for the file of this subpool"},
	{"index", GS_ARG_U64, .help = "with spool=: insert it at this file index at once"},
	{"rsvd", GS_ARG_BOOL, .help = "with size=: charge the cgroup's rsvd counter too"},
	{"reserved", GS_ARG_BOOL, .help = "with size=: consume a `hugetlb reserve` reservation"},
	{"cgroup", GS_ARG_STR, .help = "allocate from a task in this cgroup (default: current)"},
	{NULL},
};

static const char *const hpage_outputs[] = {POOL_OUTPUTS, "used", "rsv", "lost", NULL};

static const struct gs_verb verb_hpage = {
	.name = "hpage",
	.summary = "allocate a huge page: from the pool (size=, rsvd, reserved) or through "
		   "a subpool (spool=, index=)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = hpage_keys,
	.outputs = hpage_outputs,
	.backends = GS_BACKEND_SIM,
	.validate = hpage_validate,
	.run = hpage_run,
	.fail_nth.errnos = hpage_errnos,
};

static int hpage_add_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vpage *p = gs_scenario_obj_get(s, op->target, &vpage_type);

	if (!p || !p->file)
		return gs_scenario_error(s, op, "no file page named '%s'", op->target);
	if (p->inserted)
		return gs_scenario_error(s, op, "'%s' is already in its file", op->target);
	gs_result_set(res, "lost", !vpage_insert(p, gs_op_u64(op, "index", 0)));
	set_pool_fields(res, p->file->h);
	set_spool_fields(res, p->file);
	return 0;
}

static const struct gs_key hpage_add_keys[] = {
	{"index", GS_ARG_U64, .required = true, .help = "file index"},
	{NULL},
};

static const struct gs_verb verb_hpage_add = {
	.name = "hpage-add",
	.summary = "insert a file page; a loser frees it and uses the winner's (lost=1)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = hpage_add_keys,
	.outputs = hpage_outputs,
	.backends = GS_BACKEND_SIM,
	.run = hpage_add_run,
	.fail_nth.best_effort = restore_absorbed,
};

static int hpage_put_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vpage *p = gs_scenario_obj_get(s, op->target, &vpage_type);
	struct hstate *h;

	if (!p)
		return gs_scenario_error(s, op, "no huge page named '%s'", op->target);
	p->defer = gs_op_u64(op, "defer", 0);
	if (folio_test_needs_merge(p->folio) && !p->defer)
		WARN_ON(vpage_merge_back(p)); /* the pool takes back whole pages */
	h = folio_hstate(p->folio);
	if (!h) /* a piece: the pool is the huge page's */
		h = size_to_hstate(PAGE_SIZE << hugetlb_meta_lookup(folio_pfn(p->folio))->order);
	gs_scenario_obj_del(s, op->target);
	set_pool_fields(res, h);
	return 0;
}

static const struct gs_key hpage_put_keys[] = {
	{"defer", GS_ARG_BOOL,
	 .help = "a split page: drop the reference without merging; the pieces wait for "
		 "run-deferred"},
	{NULL},
};

static const struct gs_verb verb_hpage_put = {
	.name = "hpage-put",
	.summary = "drop the page (and its file slot)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = hpage_put_keys,
	.outputs = pool_outputs,
	.backends = GS_BACKEND_SIM,
	.run = hpage_put_run,
	.fail_nth.best_effort = restore_absorbed,
};

/* --- split, merge, HVO (lib/hugetlb_restructuring.c) --- */

/*
 * Merge @p's split page back to one HugeTLB folio, HVO redone; @p keeps its
 * reference. The page is in no page cache: the pieces without @p's
 * reference are free, waiting on the deferred-merge queue, which the merge
 * takes them off.
 */
static int vpage_merge_back(struct vpage *p)
{
	unsigned long pfn = folio_pfn(p->folio);
	struct folio *folio;
	int ret;

	ret = hugetlb_restructuring_can_merge(NULL, pfn, p->folio, 1);
	if (!ret)
		ret = hugetlb_restructuring_prepare_merge(pfn);
	if (ret)
		return ret;
	folio = hugetlb_restructuring_merge_folio(NULL, pfn, p->folio, 1);
	if (!folio)
		return -EINVAL;
	p->folio = folio;
	return 0;
}

static const struct gs_key hsplit_keys[] = {
	{"order", GS_ARG_U64, .required = true, .help = "order of the pieces (0: 4 KiB)"},
	{"at", GS_ARG_U64, .help = "page (offset in the huge page) the page's reference follows"},
	{"keep", GS_ARG_BOOL,
	 .help = "keep the pieces HVO-optimized (order >= 7): 1 GiB to 512 optimized 2 MiB"},
	{"prealloc", GS_ARG_BOOL, .help = "preallocate the vmemmap pages before restoring"},
	{NULL},
};

static const char *const hsplit_outputs[] = {"pieces", "vmemmap_allocated", "vmemmap_freed",
					     "records", NULL};

static void set_hvo_delta(struct gs_result *res, const struct gs_hvo_stats *before)
{
	struct gs_hvo_stats after;

	gs_hvo_stats(&after);
	gs_result_set(res, "vmemmap_allocated", after.pages_allocated - before->pages_allocated);
	gs_result_set(res, "vmemmap_freed", after.pages_freed - before->pages_freed);
	gs_result_set(res, "records", hugetlb_meta_count());
}

static int hsplit_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vpage *p = gs_scenario_obj_get(s, op->target, &vpage_type);
	/* Past any folio's order: the split refuses it, as it must (no truncation). */
	unsigned int order = (unsigned int)min_t(uint64_t, gs_op_u64(op, "order", 0), 64);
	unsigned long at = gs_op_u64(op, "at", 0), pfn;
	struct hugetlb_split_opts opts = {
		.new_order = order,
		.keep_hvo = gs_op_u64(op, "keep", 0),
		.prealloc = gs_op_u64(op, "prealloc", 0),
		.extra_refs = 1, /* the scenario's reference on the page */
	};
	unsigned int huge_order;
	struct gs_hvo_stats before;
	struct folio *folio;

	if (!p)
		return gs_scenario_error(s, op, "no huge page named '%s'", op->target);
	folio = p->folio;
	if (folio_test_needs_merge(folio))
		return gs_scenario_error(s, op, "'%s' is split already", op->target);
	if (at >= folio_nr_pages(folio))
		return gs_scenario_error(s, op, "at=%lu is outside the page", at);
	gs_hvo_stats(&before);
	pfn = folio_pfn(folio);
	huge_order = folio_order(folio);
	opts.at = folio_page(folio, at);
	res->ret = hugetlb_restructuring_split_folio(NULL, 0, folio, &opts);
	if (!res->ret) {
		p->folio = pfn_folio(pfn + at);
		gs_result_set(res, "pieces", 1UL << (huge_order - order));
	}
	set_hvo_delta(res, &before);
	return 0;
}

static const struct gs_verb verb_hsplit = {
	.name = "hsplit",
	.summary = "undo HVO and split a huge page (to 4 KiB, or to optimized pieces with keep)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = hsplit_keys,
	.outputs = hsplit_outputs,
	.backends = GS_BACKEND_SIM,
	.run = hsplit_run,
};

static int hmerge_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vpage *p = gs_scenario_obj_get(s, op->target, &vpage_type);
	struct gs_hvo_stats before;

	if (!p)
		return gs_scenario_error(s, op, "no huge page named '%s'", op->target);
	if (!folio_test_needs_merge(p->folio))
		return gs_scenario_error(s, op, "'%s' is not split", op->target);
	gs_hvo_stats(&before);
	res->ret = vpage_merge_back(p);
	set_hvo_delta(res, &before);
	return 0;
}

static const struct gs_verb verb_hmerge = {
	.name = "hmerge",
	.summary = "merge a split huge page back and optimize it again",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = hsplit_outputs,
	.backends = GS_BACKEND_SIM,
	.run = hmerge_run,
};

static const char *const run_deferred_outputs[] = {"merged", "queued", "waiting", NULL};

static int run_deferred_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct gs_restructuring_stats st;
	unsigned long merged = hugetlb_restructuring_run_deferred();

	(void)s;
	(void)op;
	gs_restructuring_stats(&st);
	gs_result_set(res, "merged", merged);
	gs_result_set(res, "queued", st.queued);
	gs_result_set(res, "waiting", st.waiting_pages);
	return 0;
}

static const struct gs_verb verb_run_deferred = {
	.name = "run-deferred",
	.summary = "run the deferred-merge worker once (the kernel's hugetlb_restructuring "
		   "workqueue): split pages whose pieces are all free merge and go back",
	.outputs = run_deferred_outputs,
	.backends = GS_BACKEND_SIM,
	.run = run_deferred_run,
};

static const char *const hvo_outputs[] = {"freed", "restored", "reserved", "saved_kib", NULL};

static int hvo_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct gs_hvo_stats st;

	if (op->target && strcmp(op->target, "on") && strcmp(op->target, "off"))
		return gs_scenario_error(s, op, "hvo takes on or off, not '%s'", op->target);
	if (op->target)
		gs_hvo_set_enabled(!strcmp(op->target, "on"));
	gs_hvo_stats(&st);
	gs_result_set(res, "freed", st.freed_pages);
	gs_result_set(res, "restored", st.restored_pages);
	gs_result_set(res, "reserved", st.reserved_pages);
	gs_result_set(res, "saved_kib", st.freed_pages * (PAGE_SIZE / 1024));
	if (!gs_scenario_quiet(s))
		fprintf(gs_scenario_out(s),
			"hvo %s: %lu vmemmap pages freed (%lu KiB saved), %lu held by restores, "
			"%lu reserved; %lu optimizations, %lu restores\n",
			gs_hvo_enabled() ? "on" : "off", st.freed_pages,
			st.freed_pages * (PAGE_SIZE / 1024), st.restored_pages, st.reserved_pages,
			st.optimizations, st.restores + st.split_restores);
	return 0;
}

static const struct gs_verb verb_hvo = {
	.name = "hvo",
	.usage_target = "on|off",
	.summary = "HVO counters (vm.hugetlb_optimize_vmemmap with on/off)",
	.target = GS_ARG_STR,
	.outputs = hvo_outputs,
	.backends = GS_BACKEND_SIM,
	.run = hvo_run,
};

/* --- the machine: memory size and data backing --- */

/* What the machine was before the scenario changed it; put back at its end. */
struct vmachine {
	unsigned long mem;
	int backing; /* the override, -1 for none */
};

static void vmachine_destroy(void *obj)
{
	struct vmachine *m = obj;

	gs_physmem_override_backing(m->backing);
	/* Memory still in use (freed later) would keep the larger size: say so. */
	WARN_ON(gs_physmem_set_size(m->mem) && gs_physmem_size() < m->mem);
	g_free(m);
}

static const struct gs_obj_type vmachine_type = {
	.name = "machine",
	.destroy = vmachine_destroy,
};

static const char *const backing_names[] = {"auto", "hugetlb", "anon", "none", NULL};

static int machine_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vmachine *m = gs_scenario_obj_get(s, "machine", &vmachine_type);

	if (!m) {
		m = g_new0(struct vmachine, 1);
		m->mem = gs_physmem_size();
		m->backing = gs_physmem_override_backing(-1);
		gs_physmem_override_backing(m->backing);
		gs_scenario_obj_add(s, "machine", &vmachine_type, m);
	}
	if (gs_op_has(op, "mem"))
		res->ret = gs_physmem_set_size(gs_op_u64(op, "mem", 0));
	if (!res->ret && gs_op_has(op, "backing"))
		gs_physmem_override_backing((int)gs_op_u64(op, "backing", 0));
	gs_result_set(res, "mem", gs_physmem_size());
	gs_result_set(res, "free", gs_physmem_free_pages() * PAGE_SIZE);
	return 0;
}

static const struct gs_key machine_keys[] = {
	{"mem", GS_ARG_U64,
	 .help = "physical memory of the simulated machine (default 64G, at most 4T)"},
	{"backing", GS_ARG_ENUM, .names = backing_names,
	 .help = "data behind new pages of every size: none (metadata only), anon, hugetlb, "
		 "auto (best available)"},
	{NULL},
};

static const char *const machine_outputs[] = {"mem", "free", NULL};

static const struct gs_verb verb_machine = {
	.name = "machine",
	.summary = "the simulated machine's memory and what backs its pages' data (restored "
		   "when the scenario ends)",
	.keys = machine_keys,
	.outputs = machine_outputs,
	.backends = GS_BACKEND_SIM,
	.run = machine_run,
};

static const struct gs_verb *const hugetlb_verbs[] = {
	&verb_hugetlb, &verb_subpool,	&verb_subpool_put, &verb_cgroup,
	&verb_hpage,   &verb_hpage_add, &verb_hpage_put,   &verb_hsplit,
	&verb_hmerge,  &verb_hvo,	&verb_machine,	   &verb_run_deferred,
	NULL,
};

/*
 * HVO is an optimization: hugetlb_vmemmap_optimize_folio() gives up silently
 * when it cannot allocate, leaving the page's vmemmap whole, on whatever path
 * (a pool growing, a guest_memfd fault) made the huge page.
 */
static const char *const hugetlb_best_effort_sites[] = {"hvo.optimize", NULL};

/* The worker's last run: nothing stays queued past the scenario. */
static void hugetlb_teardown(void)
{
	hugetlb_restructuring_run_deferred();
}

static struct gs_scenario_module hugetlb_module = {
	.name = "hugetlb",
	.teardown = hugetlb_teardown,
	.priority = GS_MODULE_PRIO_MEMORY,
	.verbs = hugetlb_verbs,
	.best_effort_sites = hugetlb_best_effort_sites,
};
GS_SCENARIO_MODULE(hugetlb_module)
