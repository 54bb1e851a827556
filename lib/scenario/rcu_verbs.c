// SPDX-License-Identifier: MIT
/*
 * Scenario verbs for RCU grace periods (lib/base/rcu.c): `synchronize-rcu`
 * and `rcu-barrier`, the kernel's synchronize_rcu() and rcu_barrier(), so
 * that code and tests ported from the kernel keep their calls. gmemsim ends a
 * grace period at the first moment no read-side critical section is open,
 * and a scenario line never leaves one open, so between lines nothing waits:
 * each verb reports how many objects were queued (0 between lines) and frees
 * them. Mirrors include/linux/rcupdate.h's promise, not kernel/rcu/.
 */
#include <gmemsim/rcu.h>
#include <gmemsim/scenario.h>

/* Objects queued by call_rcu() and not yet freed. */
static uint64_t rcu_nr_pending(void)
{
	uint64_t n = 0;

	for (const struct rcu_head *h = gs_rcu_pending; h; h = h->next)
		n++;
	return n;
}

static void rcu_report(struct gs_result *res, uint64_t before)
{
	gs_result_set(res, "pending", before);
	gs_result_set(res, "freed", before - rcu_nr_pending());
}

static int synchronize_rcu_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	uint64_t before = rcu_nr_pending();

	(void)s;
	(void)op;
	synchronize_rcu();
	rcu_report(res, before);
	return 0;
}

static int rcu_barrier_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	uint64_t before = rcu_nr_pending();

	(void)s;
	(void)op;
	rcu_barrier();
	rcu_report(res, before);
	return 0;
}

static const char *const rcu_outputs[] = {"pending", "freed", NULL};

static const struct gs_verb verb_synchronize_rcu = {
	.name = "synchronize-rcu",
	.summary = "synchronize_rcu(): wait for a grace period (pending= objects queued, freed=)",
	.outputs = rcu_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.no_fail_nth = true,
	.run = synchronize_rcu_run,
};

static const struct gs_verb verb_rcu_barrier = {
	.name = "rcu-barrier",
	.summary = "rcu_barrier(): run every queued call_rcu() callback (pending=, freed=)",
	.outputs = rcu_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.no_fail_nth = true,
	.run = rcu_barrier_run,
};

static const struct gs_verb *const rcu_verbs[] = {&verb_synchronize_rcu, &verb_rcu_barrier, NULL};

static struct gs_scenario_module rcu_module = {
	.name = "rcu",
	.priority = GS_MODULE_PRIO_CORE + 10,
	.verbs = rcu_verbs,
};
GS_SCENARIO_MODULE(rcu_module)
