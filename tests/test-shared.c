// SPDX-License-Identifier: MIT
/*
 * The shared library as programs built on gmemsim link it (pkg-config
 * gmemsim): verb modules, checkers and state dumpers register themselves
 * from constructors, so they must all be there without the program naming
 * any of them, and a scenario using each module must run.
 */
#include <stdio.h>
#include <string.h>
#include <gmemsim/scenario.h>
#include <gmemsim/state.h>

static const char text[] = "note shared library\n"
			   "hugetlb pool nr=1                => nr=1\n"
			   "gmem g size=2M flags=mmap|hugetlb page=2M\n"
			   "falloc g off=0 len=2M\n"
			   "check\n";

int main(void)
{
	static const char *const verbs[] = {
		"note",	  "inject", "synchronize-rcu", "rcu-barrier", "hugetlb", "hpage", "gmem",
		"falloc", "numa",   "mbind",	       "where"};
	static const char *const modules[] = {"core", "rcu", "numa", "hugetlb", "gmem"};
	struct gs_scenario_opts o = {.quiet = true};
	struct gs_scenario *s;
	struct gs_state *st;
	int status;

	gs_scenario_init();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!gs_verb_lookup(verbs[i])) {
			fprintf(stderr, "verb %s is missing from the shared library\n", verbs[i]);
			return 1;
		}
	}
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		const struct gs_scenario_module *m = gs_scenario_module_nth((unsigned int)i);

		if (!m || strcmp(m->name, modules[i])) {
			fprintf(stderr, "module %zu is %s, wanted %s\n", i, m ? m->name : "none",
				modules[i]);
			return 1;
		}
	}
	s = gs_scenario_new(&o);
	st = gs_scenario_state(s);
	if (!gs_state_get(st, "hvo", "freed") || !gs_state_get(st, "checks", "violations")) {
		fprintf(stderr, "a layer's state dumper is missing\n");
		return 1;
	}
	gs_state_free(st);
	status = gs_scenario_run_buffer(s, "shared.gms", text, strlen(text));
	gs_scenario_free(s);
	if (status != GS_EXIT_OK) {
		fprintf(stderr, "the scenario ends with %s\n", gs_scenario_exit_name(status));
		return 1;
	}
	printf("shared library: every module registered, scenario ok\n");
	return 0;
}
