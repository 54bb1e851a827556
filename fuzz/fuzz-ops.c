// SPDX-License-Identifier: MIT
/*
 * Fuzz target: bytes in the structured format (include/gmemsim/fuzz.h,
 * docs/FUZZING.md) decoded into a valid guest_memfd program and run with the
 * per-page oracle (gs_fuzz_exec(): operations built from the bytes, no
 * text per input). Any failure is a finding and aborts, so libFuzzer and
 * AFL++ save the input: an oracle mismatch, a checker violation, a WARN
 * (a planted bug the input itself switched on included), a leak. Builds for
 * libFuzzer, AFL++ (persistent, through its libFuzzer driver) or with
 * driver.c, which replays files as a regression test. `gmemsim fuzz-decode
 * INPUT` prints the program a crash input runs.
 *
 * fuzz-ops-4k.c and fuzz-ops-2m.c are this target for one backing each
 * (GS_FUZZ_OPS_BACKING): an input of another backing (header byte 0) is
 * rejected, not rewritten, so every input, crash files included, still
 * decodes and runs the same in fuzz-ops, the standalone driver and
 * `gmemsim fuzz-decode`.
 *
 * Under libFuzzer the target supplies two of libFuzzer's flags itself
 * (LLVMFuzzerInitialize(), docs/FUZZING.md "The targets' libFuzzer
 * settings"): the same flag on the command line overrides either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/inject.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * -max_len: the header and the 64 operations gs_fuzz_exec() decodes; a byte
 * past them changes nothing. -entropic_feature_frequency_threshold: the
 * entropic schedule counts a feature rare until it has been seen this many
 * times, and looks every rare feature an execution hits up in a list of all
 * of them. At libFuzzer's 255 a 64-operation input hits about 900 (4 KiB) to
 * 1,200 (2 MiB) features, many of them rare for hundreds of executions: the
 * lookups were about a sixth of a 4 KiB execution and a third of a 2 MiB one.
 * At 32 campaigns reach the same coverage and find the rfc-v2 rollback as
 * often (docs/PERFORMANCE.md, fourteenth round).
 */
#define GS_FUZZ_OPS_THRESHOLD 32

/* Defined by libFuzzer's driver only: not by AFL++'s, not by driver.c. */
extern void __libfuzzer_is_present(void) __attribute__((weak));

/*
 * libFuzzer parses its flags after this call, in order, the last of a name
 * winning: the defaults go right after argv[0], before the command line's.
 * The new vector lives as long as the process (libFuzzer keeps pointers
 * into it). Other drivers treat every argument as an input file, so they
 * get nothing.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char max_len[32], threshold[64], **args;
	size_t n;

	if (!__libfuzzer_is_present || !argc || !argv || *argc < 1 || args)
		return 0;
	n = (size_t)*argc;
	args = calloc(n + 3, sizeof(*args));
	if (!args)
		return 0;
	snprintf(max_len, sizeof(max_len), "-max_len=%d",
		 GS_FUZZ_HEADER + GS_FUZZ_OP_SIZE * GS_FUZZ_DEFAULT_OPS);
	snprintf(threshold, sizeof(threshold), "-entropic_feature_frequency_threshold=%d",
		 GS_FUZZ_OPS_THRESHOLD);
	args[0] = (*argv)[0];
	args[1] = max_len;
	args[2] = threshold;
	memcpy(args + 3, *argv + 1, (n - 1) * sizeof(*args));
	*argv = args;
	*argc = (int)n + 2;
	fprintf(stderr,
		"fuzz-ops: libFuzzer settings of this target: %s %s (the same flag given wins)\n",
		max_len, threshold);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sig[GS_REDUCE_SIG_LEN];

#ifdef GS_FUZZ_OPS_BACKING
	/*
	 * -1: libFuzzer releases after clang 14's keep the input out of the
	 * corpus; clang 14's libFuzzer and AFL++'s driver ignore the value, and
	 * the input costs only this test. Nothing of the simulator runs.
	 */
	if (gs_fuzz_header_backing(data, size) != GS_FUZZ_OPS_BACKING)
		return -1;
#endif
	/* No text per input: the program is printed only for a finding. */
	if (gs_fuzz_exec(data, size, NULL, sig, sizeof(sig))) {
		char *text = gs_fuzz_decode(data, size, NULL);

		fprintf(stderr, "fuzz-ops: %s\n--- the program (gmemsim fuzz-decode INPUT) ---\n%s",
			sig, text ? text : "(out of memory)\n");
		abort();
	}
	if (gs_alloc_live_total() || gs_inject_active()) {
		gs_alloc_report_leaks(stderr);
		fprintf(stderr, "fuzz-ops: state left behind after a run\n");
		abort();
	}
	return 0;
}
