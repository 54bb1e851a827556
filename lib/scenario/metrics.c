// SPDX-License-Identifier: MIT
/*
 * gs_metrics_read(): the metrics (<gmemsim/metrics.h>) that are read from
 * the simulator's state -- the HugeTLB pools and their split pages, HVO, the
 * VMs' stage-2 leaves -- beside the event counters lib/base/metrics.c keeps.
 * It sits in the scenario layer because it reads every layer below. Also
 * the verbs that expose them to scenarios and workloads: `metrics` and
 * `gfault-range` (a guest touching a range, as a booting guest accepts its
 * memory). No kernel counterpart: the closest are /proc/meminfo's HugeTLB
 * lines and the HugeTLB sysfs counters.
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/folio.h>
#include <gmemsim/hugetlb_hstate.h>
#include <gmemsim/hvo.h>
#include <gmemsim/kvm.h>
#include <gmemsim/metrics.h>
#include <gmemsim/physmem.h>
#include <gmemsim/scenario.h>

#include <gmemsim/internal/metrics_int.h>
#include <gmemsim/internal/page_alloc.h>
#include <gmemsim/internal/scenario_int.h>

struct split_walk {
	struct gs_metrics_huge *hm;
	bool full;
};

/* The free pieces of one split page are its holes; any makes it wait for a merge. */
static void count_split(struct hugetlb_folio_meta *meta, void *arg)
{
	struct split_walk *w = arg;
	unsigned long end = meta->pfn + (1UL << meta->order), holes = 0;

	w->hm->split++;
	if (!w->full)
		return;
	for (unsigned long p = meta->pfn; p < end; p += folio_nr_pages(pfn_folio(p)))
		if (!folio_ref_count(pfn_folio(p)))
			holes += folio_nr_pages(pfn_folio(p));
	w->hm->holes += holes;
	w->hm->waiting += holes != 0;
}

static void read_pool(struct hstate *h, struct gs_metrics_huge *hm, bool full)
{
	struct split_walk w = {.hm = hm, .full = full};

	spin_lock(&hugetlb_lock);
	hm->total = h->nr_huge_pages;
	hm->free = h->free_huge_pages;
	hugetlb_for_each_split(h, count_split, &w);
	spin_unlock(&hugetlb_lock);
	hm->intact = hm->total - hm->free - hm->split;
}

static void read_pools(struct gs_metrics *m, bool full)
{
	unsigned long free_pages = 0;
	struct hstate *h;

	for_each_hstate (h) {
		unsigned int i =
			huge_page_order(h) == HPAGE_PUD_ORDER ? GS_METRICS_1G : GS_METRICS_2M;

		read_pool(h, &m->huge[i], full);
		m->holes += m->huge[i].holes;
		free_pages += m->huge[i].free << huge_page_order(h);
	}
	if (m->holes)
		m->frag_ppm = (unsigned long)(m->holes * 1000000ULL / (m->holes + free_pages));
}

static void read_leaves(struct gs_metrics *m)
{
	unsigned long leaves[PG_LEVEL_NUM];

	gs_kvm_count_leaves(leaves);
	for (int l = PG_LEVEL_4K; l < PG_LEVEL_NUM && l - PG_LEVEL_4K < GS_METRICS_LEVELS; l++) {
		m->leaves[l - PG_LEVEL_4K] = leaves[l];
		m->mapped_bytes[l - PG_LEVEL_4K] = (uint64_t)leaves[l] * kvm_level_pages(l)
						   << PAGE_SHIFT;
	}
}

void gs_metrics_read(struct gs_metrics *m, bool full)
{
	const struct gs_metrics_events *ev = &gs_metrics_ev;
	struct gs_physmem_stats ps;
	struct gs_hvo_stats hs;

	*m = (struct gs_metrics){
		.vmemmap_bytes = (uint64_t)ev->vmemmap,
		.vmemmap_peak_bytes = (uint64_t)ev->vmemmap_peak,
		.conv_calls = ev->conv_calls,
		.conv_allocs = ev->conv_allocs,
	};
	memcpy(m->splits, ev->splits, sizeof(m->splits));
	memcpy(m->split_to, ev->split_to, sizeof(m->split_to));
	memcpy(m->merges, ev->merges, sizeof(m->merges));
	memcpy(m->conv_failures, ev->conv_failures, sizeof(m->conv_failures));
	gs_physmem_stats(&ps);
	m->memory_bytes = (uint64_t)ps.pfns_in_use << PAGE_SHIFT;
	gs_hvo_stats(&hs);
	m->hvo_saved_bytes = (uint64_t)hs.freed_pages << PAGE_SHIFT;
	read_pools(m, full);
	read_leaves(m);
	m->thp_intact = gs_page_alloc_nr_thp();
	m->thp_holes = gs_page_alloc_nr_free();
}

/* --- verbs --- */

static unsigned long sum(const unsigned long *v, unsigned int n)
{
	unsigned long s = 0;

	for (unsigned int i = 0; i < n; i++)
		s += v[i];
	return s;
}

static const char *const metrics_outputs[] = {
	"vmemmap",     "vmemmap_peak", "hvo_saved", "leaves_4k", "leaves_2m",  "leaves_1g",
	"splits",      "merges",       "holes",	    "frag_ppm",	 "conv_calls", "conv_failed",
	"conv_allocs", "thp",	       "thp_holes", NULL,
};

static int metrics_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct gs_metrics m;

	(void)s;
	gs_metrics_read(&m, true);
	gs_result_set(res, "vmemmap", m.vmemmap_bytes);
	gs_result_set(res, "vmemmap_peak", m.vmemmap_peak_bytes);
	gs_result_set(res, "hvo_saved", m.hvo_saved_bytes);
	gs_result_set(res, "leaves_4k", m.leaves[GS_METRICS_4K]);
	gs_result_set(res, "leaves_2m", m.leaves[GS_METRICS_LEVEL_2M]);
	gs_result_set(res, "leaves_1g", m.leaves[GS_METRICS_LEVEL_1G]);
	gs_result_set(res, "splits", sum(m.splits, GS_METRICS_ORDERS));
	gs_result_set(res, "merges", sum(m.merges, GS_METRICS_ORDERS));
	gs_result_set(res, "holes", m.holes);
	gs_result_set(res, "frag_ppm", m.frag_ppm);
	gs_result_set(res, "conv_calls", m.conv_calls);
	gs_result_set(res, "conv_failed", sum(m.conv_failures, GS_METRICS_ERRNOS));
	gs_result_set(res, "conv_allocs", m.conv_allocs);
	gs_result_set(res, "thp", m.thp_intact);
	gs_result_set(res, "thp_holes", m.thp_holes);
	if (op->target && !strcmp(op->target, "reset"))
		gs_metrics_reset();
	res->ret = 0;
	return 0;
}

static int metrics_validate(const struct gs_op *op, char *err, size_t len)
{
	if (op->target && strcmp(op->target, "reset")) {
		snprintf(err, len, "metrics takes only 'reset'");
		return -1;
	}
	return 0;
}

static const struct gs_verb verb_metrics = {
	.name = "metrics",
	.usage_target = "[reset]",
	.summary = "the simulator's cost figures (docs/STRATEGIES.md, Metrics); reset zeroes "
		   "the event counters after reading",
	.target = GS_ARG_STR,
	.outputs = metrics_outputs,
	.backends = GS_BACKEND_SIM,
	.no_fail_nth = true,
	.validate = metrics_validate,
	.run = metrics_run,
};

static const struct gs_key gfault_range_keys[] = {
	{"gpa", GS_ARG_U64, .required = true, .help = "first guest physical address (4K-aligned)"},
	{"len", GS_ARG_U64, .required = true, .help = "bytes to touch (4K multiple)"},
	{NULL},
};

static const char *const gfault_range_outputs[] = {"faults", "mapped", NULL};

/*
 * Fault every unmapped frame of [gfn, end) as its attributes say, stepping
 * over each leaf: at most (end - gfn) faults, and end lies in a memslot the
 * caller checked, so the loop is bounded by memory the simulator holds.
 */
static int touch_range(struct kvm *kvm, gfn_t gfn, gfn_t end, struct gs_result *res)
{
	unsigned long faults = 0, mapped = 0;
	int ret = 0;

	while (gfn < end) {
		int level = kvm_stage2_level(kvm, gfn);

		if (!level) {
			struct kvm_fault f = {.gfn = gfn, .private = kvm_mem_is_private(kvm, gfn)};

			ret = kvm_tdp_page_fault(kvm, &f);
			faults++;
			if (ret || !f.level || f.exit_reason)
				break;
			level = f.level;
			mapped++;
		}
		gfn = (gfn & ~(kvm_level_pages(level) - 1)) + kvm_level_pages(level);
	}
	gs_result_set(res, "faults", faults);
	gs_result_set(res, "mapped", mapped);
	return ret ? ret : gfn < end ? -EFAULT : 0;
}

static int gfault_range_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = gs_scenario_vm_kvm(s, op->target);
	uint64_t gpa = gs_op_u64(op, "gpa", 0), len = gs_op_u64(op, "len", 0);
	gfn_t gfn = gpa >> PAGE_SHIFT, end = (gpa + len) >> PAGE_SHIFT;
	struct kvm_memory_slot *first, *last;

	if (!kvm)
		return gs_scenario_error(s, op, "'%s' is not a simulated VM", op->target);
	if (!len || (gpa | len) % PAGE_SIZE)
		return gs_scenario_error(s, op, "gpa and len must be 4K-aligned and len nonzero");
	if (gpa + len < gpa || !(gpa + len))
		return gs_scenario_error(s, op,
					 "gpa + len wraps past the end of the address space");
	first = kvm_find_slot(kvm, gfn);
	last = kvm_find_slot(kvm, end - 1);
	if (!first || first != last)
		return gs_scenario_error(s, op, "the range must lie in one memslot");
	res->ret = touch_range(kvm, gfn, end, res);
	return 0;
}

static const struct gs_verb verb_gfault_range = {
	.name = "gfault-range",
	.usage_target = "VM",
	.summary = "guest faults over a range inside one memslot, each frame as its attributes "
		   "say, skipping what is mapped (a guest touching its memory); stops at the "
		   "first error or exit (EFAULT)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = gfault_range_keys,
	.outputs = gfault_range_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = gfault_range_run,
};

static const struct gs_verb *const metrics_verbs[] = {&verb_metrics, &verb_gfault_range, NULL};

static struct gs_scenario_module metrics_module = {
	.name = "metrics",
	.priority = GS_MODULE_PRIO_LAYER + 10,
	.verbs = metrics_verbs,
};
GS_SCENARIO_MODULE(metrics_module)
