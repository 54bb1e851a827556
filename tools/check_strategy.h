/* SPDX-License-Identifier: MIT */
/*
 * `gmemsim check-strategy`: the battery run against one restructuring
 * strategy (tools/check_strategy.c; docs/STRATEGIES.md).
 */
#ifndef GMEMSIM_TOOLS_CHECK_STRATEGY_H
#define GMEMSIM_TOOLS_CHECK_STRATEGY_H

#include <stdint.h>
#include <stdio.h>
#include <gmemsim/strategy.h>

/**
 * struct gs_check_strategy_opts - what to run
 * @strategy: the strategy under test
 * @files: the scenario files (conversion and restructuring)
 * @nfiles: their number
 * @seed: seed of the scenarios, the fail-nth sample and the fuzz inputs
 * @fuzz_runs: fuzz sequences at most (the campaign stops at the first failure)
 * @fail_nth_max: the fail-nth runner's bound per line
 * @max_attempts: the reducer's bound
 * @out: the report
 */
struct gs_check_strategy_opts {
	const struct gs_strategy *strategy;
	char **files;
	int nfiles;
	uint64_t seed;
	uint64_t fuzz_runs;
	unsigned int fail_nth_max;
	unsigned int max_attempts;
	FILE *out;
};

/**
 * gs_check_strategy() - run the battery and print pass/fail per part
 * @o: what to run
 *
 * Context: forks (fail-nth); process-wide simulator state.
 * Return: GS_EXIT_OK when every part passes, else GS_EXIT_FAIL.
 */
int gs_check_strategy(const struct gs_check_strategy_opts *o);

/**
 * gs_check_strategy_default_files() - the conversion and restructuring scenarios
 * @n: their number
 *
 * Context: any.
 * Return: a NULL-terminated list (g_strfreev() it), from the installed data
 * directory, else from the source tree.
 */
char **gs_check_strategy_default_files(int *n);

#endif /* GMEMSIM_TOOLS_CHECK_STRATEGY_H */
