// SPDX-License-Identifier: MIT
/*
 * Fuzz target: fuzz-ops for 4 KiB pages only. A mutant that changes header
 * byte 0 to another backing is rejected (LLVMFuzzerTestOneInput returns -1)
 * rather than rewritten, so an input is the same program here as in
 * fuzz-ops and `gmemsim fuzz-decode`. One target per backing, as OSS-Fuzz
 * projects split targets: a campaign of this one spends no time on the
 * other backings' slower inputs (docs/FUZZING.md, "One backing per target").
 */
#define GS_FUZZ_OPS_BACKING GS_FUZZ_4K
#include "fuzz-ops.c"
