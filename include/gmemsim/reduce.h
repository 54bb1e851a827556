/* SPDX-License-Identifier: MIT */
/*
 * Test-case reduction for .gms scenarios (`gmemsim reduce`): delta debugging
 * (Zeller's ddmin) over the lines of a failing scenario, then over the
 * key=value arguments of the lines left (smaller numbers, fewer pages,
 * optional keys dropped), keeping every step that still fails with the same
 * failure signature. What creduce and syzkaller's prog minimization do for C
 * and syscall programs, on the scenario language. See docs/TESTING.md.
 */
#ifndef GMEMSIM_REDUCE_H
#define GMEMSIM_REDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/scenario.h>

#define GS_REDUCE_DEFAULT_MAX 2000
#define GS_REDUCE_SIG_LEN     256

/* gs_scenario_reduce()'s answers (also `gmemsim reduce`'s exit statuses). */
enum gs_reduce_status {
	GS_REDUCE_DONE = 0,	 /* a reduced scenario fails the same way */
	GS_REDUCE_NOTHING = 1,	 /* the scenario passes: nothing to reduce */
	GS_REDUCE_USAGE = 2,	 /* bad argument, or a child could not be run */
	GS_REDUCE_MALFORMED = 3, /* the scenario does not parse */
};

/**
 * struct gs_reduce_opts - bounds of a reduction
 * @max_attempts: scenario runs at most (the first, classifying run included);
 *                0 for GS_REDUCE_DEFAULT_MAX
 * @log: one line per accepted step; NULL for none
 */
struct gs_reduce_opts {
	unsigned int max_attempts;
	FILE *log;
};

/**
 * struct gs_reduce_result - what a reduction did
 * @signature: the failure kept (see gs_scenario_signature())
 * @attempts: scenario runs made
 * @exhausted: stopped at max_attempts before a fixed point
 * @lines_before: lines of the input
 * @ops_before: operation lines of the input (not blank, not comments)
 * @ops_after: operation lines of the result
 * @text: the reduced scenario, NUL-terminated, a header comment naming the
 *        signature first; free() it. NULL unless GS_REDUCE_DONE.
 */
struct gs_reduce_result {
	char signature[GS_REDUCE_SIG_LEN];
	unsigned int attempts;
	bool exhausted;
	unsigned int lines_before;
	unsigned int ops_before;
	unsigned int ops_after;
	char *text;
};

/**
 * gs_scenario_signature() - how a scenario fails, without line numbers or addresses
 * @opts: how to run (seed, strict, oracle); streams and verbosity are ignored
 * @name: file name used in messages
 * @text: the scenario
 * @len: its length
 * @sig: where the signature goes ("" when it passes)
 * @siglen: size of @sig
 *
 * Runs the scenario in this process on the sim backend as `gmemsim run`
 * does (stopping at the first unmet expectation), with WARNs counted but
 * not printed, and names the first failure: "expectation: VERB expected X
 * got Y [(keys)]" (errno names, SIGxxx, 0 or N), "checker: NAME" (a check
 * line's first violation), "oracle: VERB NAME: WHAT" (the oracle's first
 * mismatch, with @opts->oracle), "WARN: FILE FUNC: MESSAGE (in VERB)" (an
 * unexpected WARN, numbers in the message replaced by #), "missing WARN:
 * expect-warns", "leak: SITE..." or "error: VERB: MESSAGE" (an operation
 * that cannot run). The simulator is torn down after the run.
 *
 * Context: not thread-safe; changes the WARN mode during the run and
 * restores it.
 * Return: GS_EXIT_OK (passes), GS_EXIT_FAIL (fails, @sig set),
 * GS_EXIT_SYNTAX (does not parse).
 */
GS_API int gs_scenario_signature(const struct gs_scenario_opts *opts, const char *name,
				 const char *text, size_t len, char *sig, size_t siglen);

/**
 * gs_scenario_reduce() - shrink a failing scenario keeping its failure signature
 * @opts: how to run each attempt (seed, strict)
 * @ropts: bounds; NULL for defaults
 * @name: file name used in messages
 * @text: the scenario
 * @len: its length
 * @res: filled in
 *
 * The input is first run once in a forked child: a crash (abort, BUG,
 * sanitizer) would end this process. If it crashes, every attempt runs in
 * a child of its own and the signature is "crash: SIGNAME", followed by the
 * sanitizer's summary line (directories and numbers dropped) when there is
 * one; otherwise attempts run in-process. Then
 * comments and blank lines go, ddmin removes lines, and each remaining
 * line's arguments shrink (a key dropped where the verb does not require it,
 * a number set to 0, 1, 4K or halved), repeated until nothing changes or
 * @ropts->max_attempts runs were made. Deterministic: the same input, seed
 * and bound give the same result.
 *
 * Context: not thread-safe; forks once.
 * Return: an enum gs_reduce_status.
 */
GS_API int gs_scenario_reduce(const struct gs_scenario_opts *opts,
			      const struct gs_reduce_opts *ropts, const char *name,
			      const char *text, size_t len, struct gs_reduce_result *res);

#endif /* GMEMSIM_REDUCE_H */
