/* SPDX-License-Identifier: MIT */
/*
 * The structured fuzzing format: any bytes decode into a bounded, valid .gms
 * program over guest_memfd (a header choosing the backing, the VM's
 * conversion ordering, the file size, INIT_SHARED, the memslot placement and
 * the HugeTLB pool, then fixed-width operations whose every field is reduced
 * modulo a valid range), so a fuzzer spends its time on semantics, not on
 * syntax. An execution builds the scenario engine's operations straight
 * from the bytes (no text printed or parsed per input); the same decoded
 * lines print as the text `gmemsim fuzz-decode INPUT > case.gms` shows, and
 * a test holds the two to the same operations, results and state. What
 * syzkaller's programs are to system calls, on the scenario language; no
 * kernel code is mirrored. The format is described byte by byte in
 * docs/FUZZING.md.
 */
#ifndef GMEMSIM_FUZZ_H
#define GMEMSIM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/reduce.h>

#define GS_FUZZ_HEADER	    6	/* header bytes */
#define GS_FUZZ_OP_SIZE	    6	/* bytes per operation */
#define GS_FUZZ_DEFAULT_OPS 64	/* operations decoded by default */
#define GS_FUZZ_MAX_OPS	    256 /* hard cap on operations */

/* Header byte 0 (mod 3): the files' page size. */
enum gs_fuzz_backing {
	GS_FUZZ_4K,
	GS_FUZZ_2M,
	GS_FUZZ_1G,
	GS_FUZZ_NR_BACKINGS,
};

/* Header byte 1 (mod 4): the VM's conversion ordering. */
enum gs_fuzz_ordering {
	GS_FUZZ_PLANNED,
	GS_FUZZ_V8,
	GS_FUZZ_WIP,
	GS_FUZZ_RFC_V2,
	GS_FUZZ_NR_ORDERINGS,
};

/**
 * struct gs_fuzz_decode_opts - how bytes become a program
 * @max_ops: operations decoded at most (0: GS_FUZZ_DEFAULT_OPS; capped at
 *           GS_FUZZ_MAX_OPS); bytes past them are ignored
 * @check_every: a `check` line after every @check_every operations (0: only
 *               the one at the end)
 * @plant: planted-bug names, NULL-terminated: a `plant bug=NAME` line for
 *         each goes first when the scenario language has a `plant` verb
 *         (NULL: none)
 */
struct gs_fuzz_decode_opts {
	unsigned int max_ops;
	unsigned int check_every;
	const char *const *plant;
};

/**
 * gs_fuzz_decode() - the .gms program @data encodes
 * @data: any bytes (NULL with @len 0: the empty input)
 * @len: their number
 * @opts: NULL for defaults
 *
 * Every input decodes: missing header bytes read as 0, a trailing partial
 * operation is ignored, every field is taken modulo its valid range. The
 * program starts with `strict off` (its lines carry no expectations: an
 * errno is an answer the oracle judges) and ends with `check => 0`.
 * Deterministic: the same bytes and options give the same text.
 *
 * Context: any; allocates the text.
 * Return: the program, NUL-terminated; free() it. NULL only when out of memory.
 */
GS_API char *gs_fuzz_decode(const uint8_t *data, size_t len,
			    const struct gs_fuzz_decode_opts *opts);

/**
 * gs_fuzz_header_backing() - the backing an input decodes to
 * @data: any bytes (NULL with @len 0: the empty input)
 * @len: their number
 *
 * Header byte 0 modulo GS_FUZZ_NR_BACKINGS; a missing byte reads as 0, as
 * in gs_fuzz_decode(). What the per-backing fuzz targets reject inputs by.
 *
 * Context: any.
 * Return: the enum gs_fuzz_backing of every file of the program.
 */
static inline enum gs_fuzz_backing gs_fuzz_header_backing(const uint8_t *data, size_t len)
{
	return len ? (enum gs_fuzz_backing)(data[0] % GS_FUZZ_NR_BACKINGS) : GS_FUZZ_4K;
}

/**
 * gs_fuzz_header_set() - force header fields of an input (before decoding)
 * @data: the input, at least GS_FUZZ_HEADER bytes
 * @backing: an enum gs_fuzz_backing, or -1 to keep the byte
 * @ordering: an enum gs_fuzz_ordering, or -1 to keep the byte
 *
 * What `gmemsim fuzz --backing --ordering` use, so that the bytes they save
 * decode to the same program without the options.
 *
 * Context: any.
 */
GS_API void gs_fuzz_header_set(uint8_t *data, int backing, int ordering);

/**
 * gs_fuzz_exec() - run one input with the oracle; how it fails
 * @data: any bytes (NULL with @len 0: the empty input)
 * @len: their number
 * @opts: how they decode; NULL for defaults
 * @sig: where the failure signature goes ("" when it passes)
 * @siglen: size of @sig
 *
 * What the fuzz targets and `gmemsim fuzz` execute: the input decoded
 * straight into the scenario engine's operations (the ones the parser makes
 * of gs_fuzz_decode()'s text, without the text), run with the oracle on and
 * named as gs_scenario_signature() names a failure (as `gmemsim reduce`
 * does): an oracle mismatch, a checker violation, an unexpected WARN, a
 * leak. The operations' array is kept for the next input. Each input runs
 * as a persistent runner's (gs_scenario_opts.persistent); from the first
 * call on, the process keeps the host memory behind freed order-0 chunks
 * (gs_physmem_keep_vmemmap()) for the next input: what an input observes is
 * still what a fresh process observes. Same outcome and signature as
 * gs_fuzz_run() of the input's text.
 *
 * Context: not thread-safe (the simulator is process-wide).
 * Return: true when the input failed (@sig set).
 */
GS_API bool gs_fuzz_exec(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts,
			 char *sig, size_t siglen);

/**
 * gs_fuzz_run() - run one decoded program's text with the oracle; how it fails
 * @text: the program (gs_fuzz_decode(), or a saved finding's .gms)
 * @len: its length
 * @sig: where the failure signature goes ("" when it passes)
 * @siglen: size of @sig
 *
 * gs_fuzz_exec() through the text: parsed, then run the same way. The
 * reference the direct path is tested against.
 *
 * Context: not thread-safe (the simulator is process-wide).
 * Return: true when the program failed (@sig set).
 */
GS_API bool gs_fuzz_run(const char *text, size_t len, char *sig, size_t siglen);

/**
 * struct gs_fuzz_campaign_opts - a `gmemsim fuzz` campaign
 * @seed: seed of the random inputs
 * @runs: stop after this many inputs (0: no bound; then @seconds must be set)
 * @seconds: stop after this much time (0: no bound)
 * @backing: force header byte 0 (enum gs_fuzz_backing), or -1 for random
 * @ordering: force header byte 1 (enum gs_fuzz_ordering), or -1 for random
 * @decode: how inputs decode (@max_ops is also the length of the inputs made)
 * @outdir: where each new unique failure goes (NNN-HASH.bin, .gms, and
 *          .min.gms when @reduce); NULL: nowhere
 * @reduce: reduce each new unique failure with gs_scenario_reduce()
 * @stop_on_find: stop at the first failure
 * @progress: a progress line about once a second, and the findings; NULL: none
 * @test_crash_at: TEST-ONLY: abort() while input N (1-based) runs, as a
 *                 crash in the simulator would; 0: never
 * @hvo_release: HVO gives freed vmemmap back to the host, as by default
 *               outside fuzzing; false (the fuzz runner's choice): its
 *               resident mode, the pages kept and verified
 *               (gs_hvo_set_resident(), docs/FIDELITY.md)
 *
 * A crash (a signal, a sanitizer's report) while an input runs ends the
 * process; first the input is written to @outdir as crash-N.bin and
 * crash-N.gms (N: its number), or, without @outdir, its program to stderr.
 */
struct gs_fuzz_campaign_opts {
	uint64_t seed;
	uint64_t runs;
	double seconds;
	int backing;
	int ordering;
	struct gs_fuzz_decode_opts decode;
	const char *outdir;
	bool reduce;
	bool stop_on_find;
	FILE *progress;
	uint64_t test_crash_at;
	bool hvo_release;
};

/**
 * struct gs_fuzz_campaign_stats - what a campaign did
 * @execs: inputs run
 * @ops: operation lines decoded over all inputs
 * @failing: inputs that failed
 * @unique: distinct failure signatures
 * @first_find: 1-based input number of the first failure (0: none)
 * @first_find_seconds: wall time until it was found (reduction not included)
 * @seconds: wall time
 * @first_sig: signature of the first failure
 * @first_reduced_ops: operation lines of its reduction (0: not reduced)
 */
struct gs_fuzz_campaign_stats {
	uint64_t execs;
	uint64_t ops;
	uint64_t failing;
	unsigned int unique;
	uint64_t first_find;
	double first_find_seconds;
	double seconds;
	char first_sig[GS_REDUCE_SIG_LEN];
	unsigned int first_reduced_ops;
};

/**
 * gs_fuzz_campaign() - seeded random inputs, decoded and run with the oracle
 * @opts: the campaign
 * @st: filled in
 *
 * Deterministic given @opts->seed and @opts->runs (the same findings, the
 * same files), unless @opts->seconds stops it first.
 *
 * Context: not thread-safe.
 * Return: 0 nothing found, 1 something found, -errno when @outdir cannot be
 * written or memory runs out.
 */
GS_API int gs_fuzz_campaign(const struct gs_fuzz_campaign_opts *opts,
			    struct gs_fuzz_campaign_stats *st);

#endif /* GMEMSIM_FUZZ_H */
