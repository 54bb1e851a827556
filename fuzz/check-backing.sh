#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The per-backing targets (fuzz/fuzz-ops-4k.c, fuzz-ops-2m.c) reject an input of another
# backing (header byte 0) instead of running it, and run one of their own as fuzz-ops does:
# over the checked-in corpora, the standalone driver counts the rejected inputs; and a 4 KiB
# input that fails (the rfc-v2 profile's rollback WARN, found by `gmemsim fuzz`) aborts
# fuzz-ops and fuzz-ops-4k with the same signature and is rejected, not run, by fuzz-ops-2m.
#
# usage: fuzz/check-backing.sh SRCDIR GMEMSIM FUZZDIR SCRATCH
#   FUZZDIR: the build's fuzz/ directory (fuzz-ops, fuzz-ops-4k, fuzz-ops-2m with driver.c)
set -euo pipefail

src=$1 gmemsim=$2 bin=$3 scratch=$4
corpus=$src/fuzz/corpus
rm -rf "$scratch"
mkdir -p "$scratch"

fail() {
	echo "fuzz backing: $*" >&2
	exit 1
}

# replay TARGET DIR WANT: the driver's summary must say WANT (count and rejected count).
replay() {
	local out
	out=$("$bin/fuzz-$1" "$2" 2>&1) || { echo "$out"; fail "fuzz-$1 over $2 failed"; }
	echo "$out"
	grep -qF "$3" <<<"$out" || fail "fuzz-$1 over $2: expected '$3'"
}

n4=$(find "$corpus/ops-4k" -type f | wc -l)
n2=$(find "$corpus/ops-2m" -type f | wc -l)
nall=$(find "$corpus/ops" -type f | wc -l)
replay ops-4k "$corpus/ops-4k" "$n4 input(s) replayed (0 rejected by the target), no crash"
replay ops-2m "$corpus/ops-2m" "$n2 input(s) replayed (0 rejected by the target), no crash"
replay ops-2m "$corpus/ops-4k" "$n4 input(s) replayed ($n4 rejected by the target), no crash"
replay ops-4k "$corpus/ops-2m" "$n2 input(s) replayed ($n2 rejected by the target), no crash"
# fuzz-ops's corpus: the 4 KiB inputs and the empty one run, the 2 MiB and 1 GiB ones not.
replay ops-4k "$corpus/ops" "$nall input(s) replayed ($((nall - n4)) rejected by the target)"
replay ops-2m "$corpus/ops" "$nall input(s) replayed ($((nall - n2)) rejected by the target)"

# A failing 4 KiB input: the rfc-v2 rollback (a WARN the ordering itself switches on).
"$gmemsim" fuzz --seed 1 --runs 20000 --backing 4k --ordering rfc-v2 --stop-on-find \
	-o "$scratch/find" >"$scratch/find.log" 2>&1 || true
crash=$(find "$scratch/find" -name '*.bin' | head -n 1)
[ -n "$crash" ] || { cat "$scratch/find.log"; fail "gmemsim fuzz found no rfc-v2 rollback"; }
want='fuzz-ops: WARN: gmem_convert.c rfc_rollback'
for t in ops ops-4k; do
	if "$bin/fuzz-$t" "$crash" >"$scratch/$t.log" 2>&1; then
		cat "$scratch/$t.log"
		fail "fuzz-$t ran the failing input without a finding"
	fi
	grep -qF "$want" "$scratch/$t.log" || { cat "$scratch/$t.log"; fail "fuzz-$t: not '$want'"; }
	echo "fuzz-$t: $(grep -F "$want" "$scratch/$t.log")"
done
replay ops-2m "$crash" "1 input(s) replayed (1 rejected by the target), no crash"
echo "fuzz backing: each per-backing target runs its own backing's inputs and rejects the others"
