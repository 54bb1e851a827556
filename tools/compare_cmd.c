// SPDX-License-Identifier: MIT
/*
 * The `workload` and `compare` commands of gmemsim (docs/STRATEGIES.md):
 * their own options, parsed apart from the scenario commands' so the two
 * sets stay independent. The work is the library's (<gmemsim/compare.h>).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/compare.h>
#include <gmemsim/scenario.h>
#include "compare_cmd.h"

static gchar *opt_strategies, *opt_strategy, *opt_workload, *opt_size, *opt_seed, *opt_svg;
static gchar *opt_host_budget;

static const GOptionEntry compare_entries[] = {
	{"strategies", 0, 0, G_OPTION_ARG_STRING, &opt_strategies,
	 "compare: comma-separated strategies (default v8,wip,planned,rfc-v2,optimized,thp)",
	 "LIST"},
	{"strategy", 0, 0, G_OPTION_ARG_STRING, &opt_strategy,
	 "workload: the strategy the text is for (default planned)", "NAME"},
	{"workload", 'w', 0, G_OPTION_ARG_STRING, &opt_workload,
	 "compare: tdx-boot (default), bounce, churn or 1g-few-shared", "NAME"},
	{"size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "guest memory (default 4G)", "N"},
	{"seed", 's', 0, G_OPTION_ARG_STRING, &opt_seed, "the workload's seed (default 0)", "N"},
	{"svg", 0, 0, G_OPTION_ARG_FILENAME, &opt_svg, "compare: write the plot to FILE", "FILE"},
	{"host-budget", 0, 0, G_OPTION_ARG_STRING, &opt_host_budget,
	 "compare: skip a strategy whose run is estimated to need more host memory (default "
	 "1G)",
	 "N"},
	{NULL},
};

static const char compare_description[] =
	"Commands:\n"
	"  workload NAME  print the .gms text of a workload (tdx-boot, bounce, churn,\n"
	"                 1g-few-shared) for --strategy, --size, --seed\n"
	"  compare        run --workload under each of --strategies; print the metrics\n"
	"                 per strategy; --svg FILE: coverage and vmemmap over the run\n"
	"See docs/STRATEGIES.md.";

static int usage(GOptionContext *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "gmemsim: %s\nTry 'gmemsim compare --help'.\n", msg);
	return GS_EXIT_USAGE;
}

static int parse_params(struct gs_workload_params *p, uint64_t *budget)
{
	uint64_t size = 4ULL << 30, seed = 0;

	if (opt_size && gs_parse_u64(opt_size, &size)) {
		fprintf(stderr, "gmemsim: bad --size '%s'\n", opt_size);
		return -1;
	}
	if (opt_seed && gs_parse_u64(opt_seed, &seed)) {
		fprintf(stderr, "gmemsim: bad --seed '%s'\n", opt_seed);
		return -1;
	}
	*budget = GS_COMPARE_DEFAULT_HOST_BUDGET;
	if (opt_host_budget && gs_parse_u64(opt_host_budget, budget)) {
		fprintf(stderr, "gmemsim: bad --host-budget '%s'\n", opt_host_budget);
		return -1;
	}
	p->size = size;
	p->seed = seed;
	return 0;
}

static int cmd_workload(GOptionContext *ctx, int argc, char **argv)
{
	struct gs_workload_params p = {.strategy = opt_strategy ? opt_strategy : "planned"};
	const char *err = NULL;
	char *text = NULL;
	uint64_t budget;
	int ret;

	if (argc != 3)
		return usage(ctx, "workload needs one workload name");
	if (parse_params(&p, &budget))
		return GS_EXIT_USAGE;
	p.name = argv[2];
	ret = gs_workload_text(&p, &text, &err);
	if (ret) {
		fprintf(stderr, "gmemsim: workload %s: %s\n", p.name, err);
		return GS_EXIT_USAGE;
	}
	ret = fputs(text, stdout) < 0 || fflush(stdout) ? GS_EXIT_USAGE : GS_EXIT_OK;
	free(text);
	return ret;
}

static int write_svg(const char *title, const struct gs_compare_run *runs, unsigned int n)
{
	FILE *f = fopen(opt_svg, "w");
	int ret;

	if (!f) {
		fprintf(stderr, "gmemsim: cannot write %s: %s\n", opt_svg, strerror(errno));
		return -1;
	}
	ret = gs_compare_write_svg(f, title, runs, n);
	if (fclose(f) || ret) {
		fprintf(stderr, "gmemsim: writing %s failed\n", opt_svg);
		return -1;
	}
	return 0;
}

static int run_all(struct gs_workload_params *p, uint64_t budget, gchar **names)
{
	unsigned int n = g_strv_length(names), failed = 0;
	struct gs_compare_run *runs = calloc(n, sizeof(*runs));
	char title[160];
	int ret = GS_EXIT_OK;

	if (!runs) {
		fprintf(stderr, "gmemsim: out of memory\n");
		return GS_EXIT_USAGE;
	}
	for (unsigned int i = 0; i < n; i++) {
		p->strategy = names[i];
		if (gs_compare_run(p, budget, &runs[i]) == -EINVAL) {
			fprintf(stderr, "gmemsim: %s: %s\n", names[i], runs[i].why);
			free(runs);
			return GS_EXIT_USAGE;
		}
		failed += runs[i].status == -EIO;
	}
	snprintf(title, sizeof(title), "gmemsim compare: %s, %" PRIu64 " MiB, seed %" PRIu64,
		 p->name, p->size >> 20, p->seed);
	printf("# %s\n", title);
	gs_compare_print_table(stdout, runs, n);
	if (opt_svg && write_svg(title, runs, n))
		ret = GS_EXIT_USAGE;
	free(runs);
	return ret != GS_EXIT_OK ? ret : failed ? GS_EXIT_FAIL : GS_EXIT_OK;
}

static int cmd_compare(GOptionContext *ctx, int argc)
{
	struct gs_workload_params p = {.name = opt_workload ? opt_workload : "tdx-boot"};
	gchar **names;
	uint64_t budget;
	int ret;

	if (argc != 2)
		return usage(ctx, "compare takes no file");
	if (parse_params(&p, &budget))
		return GS_EXIT_USAGE;
	names = g_strsplit(opt_strategies ? opt_strategies : "v8,wip,planned,rfc-v2,optimized,thp",
			   ",", 0);
	if (!names[0] || g_strv_length(names) > 16) {
		g_strfreev(names);
		return usage(ctx, "--strategies takes 1 to 16 names");
	}
	ret = run_all(&p, budget, names);
	g_strfreev(names);
	return ret;
}

int gs_cmd_compare_main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("workload NAME | compare");
	GError *err = NULL;
	int status;

	g_option_context_set_summary(ctx, "Guest-like workloads and the comparison of strategies.");
	g_option_context_set_description(ctx, compare_description);
	g_option_context_add_main_entries(ctx, compare_entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "gmemsim: %s\n", err->message);
		g_error_free(err);
		g_option_context_free(ctx);
		return GS_EXIT_USAGE;
	}
	status = !strcmp(argv[1], "workload") ? cmd_workload(ctx, argc, argv)
					      : cmd_compare(ctx, argc);
	g_option_context_free(ctx);
	g_free(opt_strategies);
	g_free(opt_strategy);
	g_free(opt_workload);
	g_free(opt_size);
	g_free(opt_seed);
	g_free(opt_svg);
	g_free(opt_host_budget);
	return status;
}
