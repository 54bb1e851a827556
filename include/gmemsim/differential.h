/* SPDX-License-Identifier: MIT */
/*
 * The differential runner: one scenario run on the simulator and on the
 * live kernel, every line's result compared. Differences the project means
 * to have (docs/DIFFERENTIAL.md) are kept in one table in
 * lib/differential.c and not reported; everything else is.
 */
#ifndef GMEMSIM_DIFFERENTIAL_H
#define GMEMSIM_DIFFERENTIAL_H

#include <stddef.h>
#include <stdio.h>
#include <gmemsim/compiler.h>

/**
 * struct gs_diff_stats - what one differential run compared
 * @compared: lines both backends ran
 * @skipped: lines one backend skipped (simulator-only verbs)
 * @intended: lines that differed only in a listed, intended divergence
 * @differ: lines whose results differ otherwise
 */
struct gs_diff_stats {
	unsigned int compared;
	unsigned int skipped;
	unsigned int intended;
	unsigned int differ;
};

/**
 * gs_diff_run_buffer() - run @text on both backends and compare every line
 * @name: file name used in messages
 * @text: the scenario (need not be NUL-terminated)
 * @len: its length
 * @out: where each differing line is reported ("name:line: sim X, kernel Y")
 * @st: if not NULL, filled in
 *
 * Expectations written in the scenario are not judged here: only the two
 * backends' results are. The simulator's st_blocks is compared when the
 * scenario runs it under profile=upstream.
 *
 * Context: process context; runs kernel operations (SIGBUS is caught).
 * Return: an enum gs_exit value: OK when no line differs beyond the
 * intended divergences, FAIL when one does, SKIP without /dev/kvm,
 * SYNTAX or LEAK as a run on either backend reported it.
 */
GS_API int gs_diff_run_buffer(const char *name, const char *text, size_t len, FILE *out,
			      struct gs_diff_stats *st);

/**
 * gs_diff_run_file() - gs_diff_run_buffer() on a file
 * Context: as gs_diff_run_buffer().
 * Return: as gs_diff_run_buffer(), or GS_EXIT_USAGE if @path cannot be read.
 */
GS_API int gs_diff_run_file(const char *path, FILE *out, struct gs_diff_stats *st);

#endif /* GMEMSIM_DIFFERENTIAL_H */
