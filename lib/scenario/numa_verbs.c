// SPDX-License-Identifier: MIT
/*
 * The scenario verb for the simulated machine's memory nodes (lib/numa.c):
 * how many, each one's memory, the node the simulated task runs on. What
 * booting with numa=fake=N and taskset gives a kernel test. The shape the
 * machine had comes back when the run ends, after every object and every
 * module above has given its memory back.
 */
#include <string.h>

#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>
#include <gmemsim/scenario.h>
#include <gmemsim/warn.h>

/* The machine's nodes before a scenario's first `numa`; restored at its end. */
static struct {
	bool saved;
	unsigned int nr;
	unsigned long bytes[GS_MAX_NUMNODES];
	int local;
} before;

static void numa_save(void)
{
	if (before.saved)
		return;
	before.saved = true;
	before.nr = gs_numa_nr_nodes();
	for (unsigned int n = 0; n < before.nr; n++)
		before.bytes[n] = gs_numa_node_pages((int)n) << PAGE_SHIFT;
	before.local = gs_numa_local_node();
}

static int numa_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int nid = (int)gs_op_u64(op, "node", 0);

	numa_save();
	if (gs_op_has(op, "nodes"))
		res->ret = gs_physmem_set_nodes((unsigned int)gs_op_u64(op, "nodes", 0));
	if (!res->ret && gs_op_has(op, "mem")) {
		if (!gs_op_has(op, "node"))
			return gs_scenario_error(s, op, "mem= is a node's: give node=");
		res->ret = gs_physmem_set_node_size(nid, gs_op_u64(op, "mem", 0));
	}
	if (!res->ret && gs_op_has(op, "local"))
		res->ret = gs_numa_set_local_node((int)gs_op_u64(op, "local", 0));
	gs_result_set(res, "nodes", gs_numa_nr_nodes());
	gs_result_set(res, "local", (uint64_t)gs_numa_local_node());
	/* One node's memory with node=, else the machine's. */
	if (gs_op_has(op, "node")) {
		gs_result_set(res, "mem", gs_numa_node_pages(nid) << PAGE_SHIFT);
		gs_result_set(res, "free", gs_numa_node_free(nid) << PAGE_SHIFT);
	} else {
		gs_result_set(res, "mem", gs_physmem_size());
		gs_result_set(res, "free", gs_physmem_free_pages() << PAGE_SHIFT);
	}
	return 0;
}

static const struct gs_key numa_keys[] = {
	{"nodes", GS_ARG_U64,
	 .help = "split the machine's memory into this many nodes (1 to 64; nothing allocated)"},
	{"node", GS_ARG_U64, .help = "the node mem= sets and the outputs describe"},
	{"mem", GS_ARG_U64, .help = "node=: its memory (a multiple of 2M)"},
	{"local", GS_ARG_U64, .help = "the node the simulated task runs on (MPOL_DEFAULT's)"},
	{NULL},
};

static const char *const numa_outputs[] = {"nodes", "local", "mem", "free", NULL};

static const struct gs_verb verb_numa = {
	.name = "numa",
	.summary = "the machine's memory nodes (restored when the scenario ends)",
	.keys = numa_keys,
	.outputs = numa_outputs,
	.backends = GS_BACKEND_SIM,
	.run = numa_run,
};

static const struct gs_verb *const numa_verbs[] = {&verb_numa, NULL};

/* Last of all: the memory every layer above held is back by now. */
static void numa_teardown(void)
{
	if (!before.saved)
		return;
	before.saved = false;
	WARN_ON(gs_physmem_set_nodes(before.nr));
	for (unsigned int n = 0; before.nr > 1 && n < before.nr; n++)
		WARN_ON(gs_physmem_set_node_size((int)n, before.bytes[n]));
	WARN_ON(gs_numa_set_local_node(before.local));
}

static struct gs_scenario_module numa_module = {
	.name = "numa",
	.priority = GS_MODULE_PRIO_MEMORY - 10,
	.verbs = numa_verbs,
	.teardown = numa_teardown,
};
GS_SCENARIO_MODULE(numa_module)
