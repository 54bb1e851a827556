/* SPDX-License-Identifier: MIT */
/*
 * The differential runner: one scenario run on the simulator and on the
 * live kernel, every line's result compared. Differences the project means
 * to have (docs/DIFFERENTIAL.md) are kept in one table in
 * lib/scenario/differential.c and not reported; everything else is.
 *
 * Where the host cannot answer (no /dev/kvm, no permission, no
 * guest_memfd), the kernel's side comes from a transcript recorded where it
 * could: gs_diff_record_*() write one, gs_diff_replay_*() compare the
 * simulator against it.
 */
#ifndef GMEMSIM_DIFFERENTIAL_H
#define GMEMSIM_DIFFERENTIAL_H

#include <stddef.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/scenario.h>

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
 * intended divergences, FAIL when one does, SKIP (with gs_live_probe()'s
 * reason on @out) where the host cannot answer for guest_memfd, SYNTAX or
 * LEAK as a run on either backend reported it.
 */
GS_API int gs_diff_run_buffer(const char *name, const char *text, size_t len, FILE *out,
			      struct gs_diff_stats *st);

/**
 * gs_diff_run_file() - gs_diff_run_buffer() on a file
 * Context: as gs_diff_run_buffer().
 * Return: as gs_diff_run_buffer(), or GS_EXIT_USAGE if @path cannot be read.
 */
GS_API int gs_diff_run_file(const char *path, FILE *out, struct gs_diff_stats *st);

/**
 * gs_diff_record_buffer() - run @text on one backend and write its results as a transcript
 * @name: file name used in messages and the header
 * @text: the scenario
 * @len: its length
 * @backend: GS_BACKEND_KERNEL; GS_BACKEND_SIM only to test the mechanism
 *           (the header then says the answers are the simulator's)
 * @transcript: where the transcript goes: a header (kernel release,
 *              capabilities, SHA-256 of the scenario) and one line per
 *              scenario line with its result as values
 * @out: messages
 *
 * Context: process context; on the kernel, as gs_diff_run_buffer().
 * Return: OK when recorded (whatever the lines answered), SKIP when the
 * kernel backend cannot answer (nothing written), SYNTAX or LEAK as the run
 * reported it.
 */
GS_API int gs_diff_record_buffer(const char *name, const char *text, size_t len,
				 enum gs_backend backend, FILE *transcript, FILE *out);

/**
 * gs_diff_record_file() - gs_diff_record_buffer() on the kernel, into DIR/BASENAME.transcript
 * @path: the scenario file
 * @dir: the transcript directory
 * @out: messages
 *
 * Context: as gs_diff_record_buffer().
 * Return: as gs_diff_record_buffer(); GS_EXIT_USAGE when a file cannot be
 * read or written.
 */
GS_API int gs_diff_record_file(const char *path, const char *dir, FILE *out);

/* gs_diff_replay_buffer() flag: accept a transcript the simulator recorded (mechanism tests). */
#define GS_DIFF_REPLAY_ANY_BACKEND 0x1u

/**
 * gs_diff_replay_buffer() - compare the simulator against a recorded transcript
 * @name: file name used in messages
 * @text: the scenario
 * @len: its length
 * @tname: the transcript's name, for messages
 * @transcript: its text
 * @tlen: its length
 * @flags: GS_DIFF_REPLAY_*
 * @out: as for gs_diff_run_buffer(), plus a line naming the transcript
 * @st: if not NULL, filled in
 *
 * The simulator runs as in gs_diff_run_buffer(); the kernel's results are
 * the transcript's.
 *
 * Context: process context.
 * Return: as gs_diff_run_buffer(); SKIP when the transcript was recorded on
 * a kernel without guest_memfd (or, without GS_DIFF_REPLAY_ANY_BACKEND, not
 * on a kernel at all); FAIL when the scenario changed since it was recorded
 * (stale transcript); USAGE when it is not a transcript.
 */
GS_API int gs_diff_replay_buffer(const char *name, const char *text, size_t len, const char *tname,
				 const char *transcript, size_t tlen, unsigned int flags, FILE *out,
				 struct gs_diff_stats *st);

/**
 * gs_diff_replay_file() - gs_diff_replay_buffer() against DIR/BASENAME.transcript
 * @path: the scenario file
 * @dir: the transcript directory
 * @out: messages
 * @st: if not NULL, filled in
 *
 * Context: as gs_diff_replay_buffer().
 * Return: as gs_diff_replay_buffer(); SKIP when there is no transcript.
 */
GS_API int gs_diff_replay_file(const char *path, const char *dir, FILE *out,
			       struct gs_diff_stats *st);

#endif /* GMEMSIM_DIFFERENTIAL_H */
