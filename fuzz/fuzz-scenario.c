// SPDX-License-Identifier: MIT
/*
 * Fuzz target: any bytes as a .gms scenario, parsed and run by the simulator.
 * A crash, a sanitizer report, a WARN (panic_on_warn) or memory left behind
 * after the run is a bug; a parse error or a failed expectation is not.
 * Builds for libFuzzer (meson -Dfuzzer=libfuzzer, clang) or, by default,
 * with driver.c, which replays files and directories as a regression test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include <gmemsim/scenario.h>
#include <gmemsim/warn.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	gs_warn_set_mode(GS_WARN_PANIC);
	gs_scenario_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gs_scenario_opts o = {
		.out = devnull, .err = devnull, .quiet = true, .keep_going = true};
	struct gs_scenario *s;
	int status;

	if (!devnull)
		LLVMFuzzerInitialize(NULL, NULL);
	o.out = o.err = devnull;
	s = gs_scenario_new(&o);
	status = gs_scenario_run_buffer(s, "fuzz.gms", (const char *)data, size);
	gs_scenario_free(s);
	if (status != GS_EXIT_OK && status != GS_EXIT_FAIL && status != GS_EXIT_SYNTAX) {
		fprintf(stderr, "fuzz-scenario: unexpected status %d (%s)\n", status,
			gs_scenario_exit_name(status));
		abort();
	}
	if (gs_alloc_live_total() || gs_inject_active()) {
		gs_alloc_report_leaks(stderr);
		fprintf(stderr, "fuzz-scenario: state left behind after a run\n");
		abort();
	}
	return 0;
}
