#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `gmemsim check-strategy` on what it must pass and what it must fail (docs/STRATEGIES.md):
# a built-in strategy passes every part; the deliberately broken tests/strategy-broken.c
# (max_order always the page order) fails the scenarios, fail-nth and fuzz parts and comes
# with its first failure reduced to a short scenario, which fails again when run as the
# report says; a strategy of another ABI and an unknown name are usage errors (exit 2).
#
# The ABI-3 file hooks' example (examples/strategy/lazy.c) passes with its own answers and
# the fuzz part, and fails once a hook's answer in its file is wrong.
#
# usage: tests/strategy/check-strategy.sh SRCDIR GMEMSIM BROKEN.so BADABI.so NOMERGE.so LAZY.so
set -euo pipefail

src=$(cd "$1" && pwd)
bin=$2
broken=$3
badabi=$4
nomerge=$5
lazy=$6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=("$src"/tests/scenarios/convert-hugetlb-split-merge.gms
	"$src"/tests/scenarios/convert-p7-algorithm.gms
	"$src"/tests/scenarios/restructure-split-merge.gms)

fail() {
	echo "check-strategy test: $*" >&2
	exit 1
}

# `gmemsim strategies` lists the built-ins with their flow.
"$bin" strategies >"$tmp/list"
for s in planned v8 wip rfc-v2; do
	grep -q "^$s  *$s " "$tmp/list" || { cat "$tmp/list"; fail "strategies does not list $s"; }
done

"$bin" check-strategy --runs 30 planned "${files[@]}" >"$tmp/planned" 2>/dev/null ||
	{ cat "$tmp/planned"; fail "the built-in planned does not pass"; }
grep -q '^check-strategy: planned: PASS$' "$tmp/planned" || fail "no PASS line for planned"

set +e
"$bin" check-strategy --runs 30 "$broken" "${files[@]}" >"$tmp/broken" 2>/dev/null
st=$?
set -e
cat "$tmp/broken"
[ $st = 1 ] || fail "the broken strategy exits $st, not 1"
for part in scenarios fail-nth fuzz; do
	grep -q "^$part: FAIL " "$tmp/broken" || fail "part $part did not fail"
done
grep -q '^check-strategy: broken-max-order: FAIL$' "$tmp/broken" || fail "no FAIL line"
# The reduced scenario: the lines after the "reduced" header up to the verdict.
awk '/^first failure, reduced from/ { f = 1; next } /^check-strategy: / { f = 0 } f' \
	"$tmp/broken" >"$tmp/min.gms"
ops=$(grep -cv '^#' "$tmp/min.gms" || true)
[ "$ops" -ge 1 ] && [ "$ops" -le 8 ] || fail "the reduced scenario has $ops operation lines"
set +e
"$bin" run -q --oracle --strategy "$broken" "$tmp/min.gms" >/dev/null 2>&1
st=$?
set -e
[ $st = 1 ] || fail "the reduced scenario exits $st when run as the report says, not 1"

set +e
"$bin" check-strategy "$badabi" "${files[@]}" >"$tmp/bad" 2>&1
st=$?
set -e
[ $st = 2 ] && grep -q 'ABI 4; this gmemsim has ABI 3' "$tmp/bad" ||
	{ cat "$tmp/bad"; fail "another ABI: exit $st"; }
set +e
"$bin" check-strategy no-such-strategy "${files[@]}" >"$tmp/bad" 2>&1
st=$?
set -e
[ $st = 2 ] || { cat "$tmp/bad"; fail "unknown name: exit $st"; }
# A file that names the strategy on a `vm` line keeps its answers: nomerge.gms passes, and
# the same file with a wrong answer fails the scenarios part (its `=>` are not taken out).
"$bin" check-strategy --runs 1 "$nomerge" "$src/examples/strategy/nomerge.gms" \
	>"$tmp/nomerge" 2>/dev/null || { cat "$tmp/nomerge"; fail "nomerge.gms does not pass"; }
grep -q '^scenarios: pass (1 files, .*; 1 naming the strategy, answers kept)$' "$tmp/nomerge" ||
	{ cat "$tmp/nomerge"; fail "nomerge.gms's answers were not kept"; }
sed 's/=> 0 max_order=0$/=> 0 max_order=9/' "$src/examples/strategy/nomerge.gms" >"$tmp/wrong.gms"
cmp -s "$src/examples/strategy/nomerge.gms" "$tmp/wrong.gms" && fail "no max_order=0 line to make wrong"
set +e
"$bin" check-strategy --runs 1 "$nomerge" "$tmp/wrong.gms" >"$tmp/nomerge" 2>/dev/null
st=$?
set -e
[ $st = 1 ] && grep -q '^scenarios: FAIL ' "$tmp/nomerge" ||
	{ cat "$tmp/nomerge"; fail "a wrong answer in a file naming the strategy: exit $st"; }
# lazy.gms: the deferred free's answer (free=0 until run-deferred) is the strategy's own.
"$bin" check-strategy --runs 10 "$lazy" "$src/examples/strategy/lazy.gms" \
	>"$tmp/lazy" 2>/dev/null || { cat "$tmp/lazy"; fail "lazy.gms does not pass"; }
grep -q '^fuzz: pass ' "$tmp/lazy" || { cat "$tmp/lazy"; fail "lazy: no fuzz pass"; }
sed 's/^\(hugetlb stat size=2M  *=> nr=1\) free=0$/\1 free=1/' "$src/examples/strategy/lazy.gms" \
	>"$tmp/wrong.gms"
cmp -s "$src/examples/strategy/lazy.gms" "$tmp/wrong.gms" && fail "no free=0 line to make wrong"
set +e
"$bin" check-strategy --runs 1 "$lazy" "$tmp/wrong.gms" >"$tmp/lazy" 2>/dev/null
st=$?
set -e
[ $st = 1 ] && grep -q '^scenarios: FAIL ' "$tmp/lazy" ||
	{ cat "$tmp/lazy"; fail "lazy: a wrong free_split answer: exit $st"; }
echo "check-strategy: planned passes, the broken strategy fails with a reduced scenario;" \
	"a file naming the strategy is held to its answers; lazy's file hooks pass"

