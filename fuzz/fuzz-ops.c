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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/inject.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
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
