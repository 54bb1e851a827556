// SPDX-License-Identifier: MIT
/*
 * Fault injection: the rules engine behind gs_inject_should_fail(). Models the
 * kernel's should_fail()/fail-nth (lib/fault-inject.c) with the modes gmemsim
 * needs to reach every rollback path: nth hit (transient or persistent, the
 * SQLite split), every hit, and seeded probability; filtered by site, by the
 * caller's ability to block, and by call path.
 */
#include <errno.h>
#include <string.h>
#include <gmemsim/inject.h>
#include <gmemsim/rng.h>
#include <gmemsim/sites.h>
#include <gmemsim/trace.h>

struct gs_rule_state {
	bool armed;
	struct gs_inject_rule r;
	unsigned long hits;  /* matching hits since arming */
	unsigned long fired; /* failures injected */
	struct gs_rng rng;
};

static struct gs_rule_state rules[GS_INJECT_MAX_RULES];
unsigned int gs_inject_nr_armed;
unsigned int gs_inject_counting;
static unsigned long nr_queries; /* every non-__GFP_NOFAIL query, for gs_inject_queries() */
static unsigned long site_queries[GS_MAX_SITES]; /* the same, per site */
static uint32_t armed_mask;			 /* bit i: rules[i] is armed */
static struct gs_inject_record log_buf[GS_INJECT_LOG_MAX];
static unsigned long nr_failures;

int gs_inject_arm(const struct gs_inject_rule *rule)
{
	if (!rule)
		return -EINVAL;
	if (rule->site != GS_INJECT_ANY_SITE &&
	    (rule->site < 0 || (unsigned int)rule->site >= gs_site_count()))
		return -EINVAL;
	if (rule->mode == GS_INJECT_NTH && rule->nth == 0)
		return -EINVAL;
	if (rule->mode == GS_INJECT_PROB && rule->probability_ppm > GS_INJECT_PPM)
		return -EINVAL;
	if (rule->mode > GS_INJECT_PROB || rule->gfp > GS_INJECT_GFP_WAIT)
		return -EINVAL;
	for (int i = 0; i < GS_INJECT_MAX_RULES; i++) {
		struct gs_rule_state *rs = &rules[i];

		if (rs->armed)
			continue;
		*rs = (struct gs_rule_state){.armed = true, .r = *rule};
		gs_rng_seed(&rs->rng, rule->seed);
		gs_inject_nr_armed++;
		armed_mask |= 1u << i;
		return i;
	}
	return -ENOSPC;
}

void gs_inject_disarm(int id)
{
	if (id < 0 || id >= GS_INJECT_MAX_RULES || !rules[id].armed)
		return;
	rules[id].armed = false;
	gs_inject_nr_armed--;
	armed_mask &= ~(1u << id);
}

void gs_inject_disarm_all(void)
{
	/* The armed ones only (a fuzz input disarms after every rule it arms). */
	for (uint32_t m = armed_mask; m; m &= m - 1)
		gs_inject_disarm(__builtin_ctz(m));
}

void gs_inject_reset(void)
{
	gs_inject_disarm_all();
	memset(rules, 0, sizeof(rules));
	nr_failures = 0;
}

unsigned long gs_inject_rule_fired(int id)
{
	if (id < 0 || id >= GS_INJECT_MAX_RULES)
		return 0;
	return rules[id].fired;
}

bool gs_inject_rule_spent(int id)
{
	const struct gs_rule_state *rs;

	if (id < 0 || id >= GS_INJECT_MAX_RULES || !rules[id].armed)
		return true;
	rs = &rules[id];
	if (rs->r.times && rs->fired >= rs->r.times)
		return true;
	return rs->r.mode == GS_INJECT_NTH && !rs->r.persistent && rs->hits >= rs->r.nth;
}

/*
 * Hash of the path that reached gs_inject_should_fail(), leaving out this
 * frame and gs_inject_should_fail()'s. Never inlined and never a tail call
 * (the barrier), so the number of frames to leave out is the same in every
 * build.
 */
static __attribute__((noinline)) uint64_t path_hash(void)
{
	uint64_t h = gs_backtrace_hash(2);

	__asm__ volatile("" ::: "memory");
	return h;
}

static bool rule_matches(const struct gs_inject_rule *r, unsigned int site, gfp_t gfp)
{
	if (r->site != GS_INJECT_ANY_SITE && (unsigned int)r->site != site)
		return false;
	if (r->gfp == GS_INJECT_GFP_NOWAIT && gfpflags_allow_blocking(gfp))
		return false;
	if (r->gfp == GS_INJECT_GFP_WAIT && !gfpflags_allow_blocking(gfp))
		return false;
	return true;
}

static bool rule_decides_fail(struct gs_rule_state *rs)
{
	const struct gs_inject_rule *r = &rs->r;

	if (r->times && rs->fired >= r->times)
		return false;
	switch (r->mode) {
	case GS_INJECT_NTH:
		return rs->hits == r->nth || (r->persistent && rs->hits > r->nth);
	case GS_INJECT_EVERY:
		return true;
	case GS_INJECT_PROB:
		return gs_rng_below(&rs->rng, GS_INJECT_PPM) < r->probability_ppm;
	}
	return false;
}

static void record_failure(int rule, unsigned int site, size_t size, gfp_t gfp, uint64_t stack,
			   unsigned long hit)
{
	if (nr_failures < GS_INJECT_LOG_MAX)
		log_buf[nr_failures] = (struct gs_inject_record){.site = site,
								 .stack = stack,
								 .hit = hit,
								 .rule = rule,
								 .size = size,
								 .gfp = gfp};
	nr_failures++;
	gs_trace("inject.fail", GS_TF_STR("site", gs_site_name(site)), GS_TF_X("stack", stack),
		 GS_TF_U("hit", hit), GS_TF_S("rule", rule), GS_TF_U("size", size));
}

bool gs_inject_should_fail(unsigned int site, size_t size, gfp_t gfp)
{
	uint64_t stack = 0;
	bool fail = false;

	if (gfp & __GFP_NOFAIL)
		return false;
	nr_queries++;
	if (site < GS_MAX_SITES)
		site_queries[site]++;
	if (!gs_inject_nr_armed)
		return false;
	/* Every matching rule counts the hit, even when an earlier one already fails it. */
	for (uint32_t m = armed_mask; m; m &= m - 1) {
		int i = __builtin_ctz(m);
		struct gs_rule_state *rs = &rules[i];

		if (!rule_matches(&rs->r, site, gfp))
			continue;
		if (rs->r.stack) {
			if (!stack)
				stack = path_hash();
			if (stack != rs->r.stack)
				continue;
		}
		rs->hits++;
		if (fail || !rule_decides_fail(rs))
			continue;
		rs->fired++;
		fail = true;
		if (!stack)
			stack = path_hash();
		record_failure(i, site, size, gfp, stack, rs->hits);
	}
	return fail;
}

void gs_inject_set_counting(bool on)
{
	gs_inject_counting = on;
}

unsigned long gs_inject_queries(void)
{
	return nr_queries;
}

unsigned long gs_inject_site_queries(unsigned int site)
{
	return site < GS_MAX_SITES ? site_queries[site] : 0;
}

unsigned long gs_inject_nr_failures(void)
{
	return nr_failures;
}

const struct gs_inject_record *gs_inject_failure(unsigned long i)
{
	if (i >= nr_failures || i >= GS_INJECT_LOG_MAX)
		return NULL;
	return &log_buf[i];
}

int gs_fail_nth_loop(const struct gs_fail_nth *cfg, const struct gs_fail_nth_ops *ops, void *arg,
		     unsigned long *iterations)
{
	unsigned long max_n = cfg->max_n ? cfg->max_n : 1000000;
	int ret = -E2BIG;

	for (unsigned long n = 1; n <= max_n; n++) {
		struct gs_inject_rule rule = {
			.site = cfg->site,
			.mode = GS_INJECT_NTH,
			.nth = n,
			.persistent = cfg->persistent,
			.gfp = cfg->gfp,
		};
		bool injected;
		int id;

		if (ops->prepare)
			ops->prepare(arg);
		id = gs_inject_arm(&rule);
		if (id < 0)
			return id;
		ret = ops->op(arg);
		injected = gs_inject_rule_fired(id) != 0;
		gs_inject_disarm(id);
		if (iterations)
			*iterations = n;
		if (ops->check)
			ops->check(arg, ret, n, injected);
		if (!injected)
			return ret;
		ret = -E2BIG;
	}
	return ret;
}

unsigned int gs_test_bugs;

const char *const gs_test_bug_names[GS_BUG_NR + 1] = {
	[GS_BUG_SKIP_ZERO] = "skip-zero",
	[GS_BUG_STALE_ATTRIBUTE] = "stale-attribute",
	[GS_BUG_ERROR_OFFSET] = "error-offset",
	[GS_BUG_MAP_ORDER_UNROUNDED] = "map-order-unrounded",
	[GS_BUG_HUGE_LEAF_AFTER_SPLIT] = "huge-leaf-after-split",
	[GS_BUG_NO_MERGE_TO_PRIVATE] = "no-merge-to-private",
	[GS_BUG_NR] = NULL,
};

const char *gs_test_bug_name(enum gs_test_bug bug)
{
	return (unsigned int)bug < GS_BUG_NR ? gs_test_bug_names[bug] : NULL;
}

int gs_test_bug_lookup(const char *name)
{
	for (int i = 0; name && i < GS_BUG_NR; i++)
		if (!strcmp(gs_test_bug_names[i], name))
			return i;
	return -EINVAL;
}

void gs_test_plant_bug(enum gs_test_bug bug, bool on)
{
	if ((unsigned int)bug >= GS_BUG_NR)
		return;
	if (on)
		gs_test_bugs |= 1u << bug;
	else
		gs_test_bugs &= ~(1u << bug);
}
