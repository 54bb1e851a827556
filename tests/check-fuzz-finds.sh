#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A known bug, found from nothing: `gmemsim fuzz` from a fixed seed, no corpus, the
# bug switched on, must find it within a bounded number of sequences and reduce it to a
# short scenario that fails the same way. Prints the time to find. docs/FUZZING.md,
# "Known bugs", lists each bug, its source and these figures.
#
# usage: tests/check-fuzz-finds.sh GMEMSIM BUG [SCRATCH]
#   BUG: rfc-v2-rollback   the rfc-v2 profile's rollback loop steps below index 0
#                          (a WARN; docs/CONVERSION.md); the profile is the switch
#        plant:NAME        a planted-bug switch (GS_BUG_*; NAME as `plant bug=NAME`
#                          spells it), switched on by a `plant bug=NAME` line at the
#                          top of every sequence (gmemsim fuzz --plant NAME)
set -euo pipefail

gmemsim=$1
bug=$2
scratch=${3:-$(mktemp -d)}
mkdir -p "$scratch"
out=$scratch/$bug
rm -rf "$out"

fail() {
	echo "fuzz-finds $bug: $*" >&2
	exit 1
}

dec=()
# Per bug: the header it needs, the seed, the bound, the signature, the longest reduction.
case $bug in
rfc-v2-rollback)
	args=(--backing 4k --ordering rfc-v2)
	seed=1 runs=20000 want='WARN: gmem_convert.c rfc_rollback' max_lines=12
	;;
plant:*)
	# The planted-bug switches (GS_BUG_*, gs_test_plant_bug()) reach a scenario through the
	# `plant bug=NAME` verb. Per bug: the backing and ordering where the bug lives (4 KiB for
	# the P10/P7 bugs; 2 MiB HugeTLB for the mapping-order, split and merge bugs), a bound of
	# 3,000 sequences, any finding of the oracle or a checker, at most 12 lines.
	# (grep reads all of the list: grep -q would close the pipe early, and pipefail would
	# take gmemsim's SIGPIPE for a missing verb.)
	"$gmemsim" verbs | grep '^plant ' >/dev/null || fail "no plant verb in this build"
	name=${bug#plant:}
	case $name in
	skip-zero | stale-attribute | error-offset) args=(--backing 4k) ;;
	map-order-unrounded) args=(--backing 2m --ordering wip) ;;
	huge-leaf-after-split) args=(--backing 2m --ordering planned) ;;
	*) args=(--backing 2m) ;;
	esac
	args+=(--plant "$name")
	dec=(--plant "$name")
	seed=1 runs=3000 want='' max_lines=12
	;;
*)
	fail "unknown bug (rfc-v2-rollback, plant:NAME)"
	;;
esac

set +e
"$gmemsim" fuzz "${args[@]}" --seed "$seed" --runs "$runs" --stop-on-find --reduce -o "$out" \
	>"$scratch/$bug.log" 2>"$scratch/$bug.err"
st=$?
set -e
grep -v 'execs/s' "$scratch/$bug.err" || true
cat "$scratch/$bug.log"
[ $st -eq 1 ] || fail "not found in $runs sequences from seed $seed (exit $st)"
sig=$(sed -n 's/^fuzz: first failure at sequence [0-9]* after [0-9.]* s: //p' "$scratch/$bug.log")
[[ $sig == "$want"* ]] || fail "found something else: $sig"
[ -n "$want" ] || [[ $sig == oracle:* || $sig == checker:* || $sig == WARN:* ]] ||
	fail "not an oracle, checker or WARN finding: $sig"
min=$(ls "$out"/001-*.min.gms 2>/dev/null | head -n 1)
[ -n "$min" ] || fail "no reduced scenario in $out"
lines=$(grep -cv '^#' "$min")
cat "$min"
[ "$lines" -le "$max_lines" ] || fail "reduced to $lines lines (at most $max_lines)"
# The reduction and the saved input fail the same way again.
"$gmemsim" reduce --oracle "$min" -o /dev/null 2>"$scratch/$bug.again.err" ||
	fail "the reduced scenario no longer fails: $(cat "$scratch/$bug.again.err")"
grep -qF "signature: $sig" "$scratch/$bug.again.err" || fail "reduced scenario: $(cat "$scratch/$bug.again.err")"
"$gmemsim" fuzz-decode "${dec[@]}" "$out"/001-*.bin | cmp -s - "${min%.min.gms}.gms" ||
	fail "fuzz-decode of the saved input differs from the saved .gms"
echo "fuzz-finds $bug: found at $(sed -n 's/^fuzz: first failure at sequence \([0-9]*\) after \([0-9.]*\) s.*/sequence \1 after \2 s/p' "$scratch/$bug.log"), reduced to $lines lines"
