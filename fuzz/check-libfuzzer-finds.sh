#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The coverage-guided fuzzer finds a known bug by itself (issue 12, "Known bugs as proof";
# docs/FUZZING.md, "Known bugs"): fuzz-ops-4k, built by fuzz/build.sh for libFuzzer without a
# sanitizer, run with its own settings from an EMPTY corpus, seed 1, at most GS_FINDS_RUNS
# executions (default 4,000,000), must stop on the rfc-v2 rollback's WARN. That is the one
# bug an input switches on by itself (header byte 1 picks the conversion ordering); nothing
# tells libFuzzer about it. The crash input, decoded by `gmemsim fuzz-decode` and reduced by
# `gmemsim reduce --oracle`, must fail the same way in at most 16 lines. The test prints
# how many executions and how much CPU time it took.
#
# Reproducible (docs/FUZZING.md, "Reproducing a campaign"): -reload=0, as libFuzzer's
# timed re-read of its corpus directory can run an input at a moment that depends on the
# clock. Then one binary finds the bug after the same executions every run, with
# address-space randomization on. Without clang's libFuzzer: skip (77).
#
# usage: fuzz/check-libfuzzer-finds.sh SRCDIR GMEMSIM SCRATCH   (SCRATCH kept: a rerun relinks)
set -euo pipefail

src=$(cd "$1" && pwd)
gmemsim=$2
mkdir -p "$3"
scratch=$(cd "$3" && pwd)
runs=${GS_FINDS_RUNS:-4000000}
want='WARN: gmem_convert.c rfc_rollback'
max_lines=16

fail() {
	echo "libfuzzer-finds: $*" >&2
	exit 1
}

if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
	echo "SKIP: no clang (apt-get install clang libclang-rt-14-dev)"
	exit 77
fi
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) & 0; }' |
	clang -fsanitize=fuzzer -x c - -o "$scratch/probe" 2>/dev/null || {
	echo "SKIP: clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"
	exit 77
}

flags="-O2 -g -fsanitize=fuzzer-no-link"
CC=clang CXX=clang++ CFLAGS=$flags CXXFLAGS=$flags LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
	OUT=$scratch/out WORK=$scratch/work "$src/fuzz/build.sh" >"$scratch/build.log" 2>&1 ||
	{ tail -n 30 "$scratch/build.log"; fail "fuzz/build.sh failed"; }

rm -rf "$scratch/corpus" "$scratch/found"
mkdir -p "$scratch/corpus" "$scratch/found"
TIMEFORMAT=%U
set +e
cpu=$({ time "$scratch/out/fuzz-ops-4k" -seed=1 -reload=0 -runs="$runs" \
	-artifact_prefix="$scratch/found/" "$scratch/corpus" >"$scratch/run.log" 2>&1; } 2>&1)
st=$?
set -e
crash=$(find "$scratch/found" -name 'crash-*' | head -n 1)
if [ $st -eq 0 ] || [ -z "$crash" ]; then
	tail -n 5 "$scratch/run.log"
	fail "not found in $runs executions from seed 1 (exit $st)"
fi
grep -qF "fuzz-ops: $want" "$scratch/run.log" ||
	{ grep '^fuzz-ops:' "$scratch/run.log"; fail "found something else"; }
grep -q 'entropic power schedule (0x20,' "$scratch/run.log" || fail "not run with the target's settings"
execs=$(grep -oE '^#[0-9]+' "$scratch/run.log" | tail -n 1)

"$gmemsim" fuzz-decode "$crash" >"$scratch/case.gms" || fail "fuzz-decode failed"
"$gmemsim" reduce --oracle "$scratch/case.gms" -o "$scratch/min.gms" 2>"$scratch/reduce.err" ||
	{ cat "$scratch/reduce.err"; fail "reduce failed"; }
grep -qF "signature: $want" "$scratch/reduce.err" || { cat "$scratch/reduce.err"; fail "reduced to another failure"; }
lines=$(grep -cv '^#' "$scratch/min.gms")
cat "$scratch/min.gms"
[ "$lines" -le $max_lines ] || fail "reduced to $lines lines (at most $max_lines)"
# The reduced scenario fails the same way again.
"$gmemsim" reduce --oracle "$scratch/min.gms" -o /dev/null 2>"$scratch/again.err" ||
	fail "the reduced scenario no longer fails: $(cat "$scratch/again.err")"
grep -qF "signature: $want" "$scratch/again.err" || fail "reduced scenario: $(cat "$scratch/again.err")"
echo "libfuzzer-finds: the rfc-v2 rollback found from an empty corpus after ${execs#\#} executions" \
	"($cpu s of CPU), reduced from $(grep -cv '^#' "$scratch/case.gms") lines to $lines"
