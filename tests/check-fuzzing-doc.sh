#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs every recipe of docs/FUZZING.md marked `<!-- recipe: standalone -->` (the ones the
# default build can run: `gmemsim fuzz`, the loop from a finding to a short scenario, the
# standalone replay) as written there, in a scratch directory, with `gmemsim` the built
# one and ./build the build directory. Asserts each block exits 0, and that the reduction
# loop found the failure, replayed it, and wrote a short scenario that fails the same way.
# The libFuzzer, AFL++ and LTO+PGO recipes have their own runners (fuzz/check-recipe.sh,
# fuzz/check-afl.sh, fuzz/check-pgo.sh).
#
# usage: tests/check-fuzzing-doc.sh SRCDIR GMEMSIM BUILDDIR SCRATCH
set -euo pipefail

src=$(cd "$1" && pwd)
gmemsim=$(realpath "$2")
build=$(cd "$3" && pwd)
scratch=$4

fail() {
	echo "fuzzing doc: $*" >&2
	exit 1
}

rm -rf "$scratch"
mkdir -p "$scratch/bin"
scratch=$(cd "$scratch" && pwd)
ln -s "$gmemsim" "$scratch/bin/gmemsim"
export PATH=$scratch/bin:$PATH

n=0
while IFS= read -r -d '' block; do
	n=$((n + 1))
	work=$scratch/recipe-$n
	mkdir -p "$work"
	{
		echo "set -euo pipefail"
		while IFS= read -r line; do
			line=${line//.\/build\//$build/}
			line=${line//fuzz\/corpus\//$src/fuzz/corpus/}
			echo "$line"
		done <<<"$block"
	} >"$work/recipe.sh"
	echo "--- recipe $n"
	cat "$work/recipe.sh"
	(cd "$work" && bash recipe.sh) >"$work/log" 2>&1 || { tail -n 30 "$work/log"; fail "recipe $n failed"; }
	grep -v 'execs/s' "$work/log" | tail -n 20
	if grep -q 'gmemsim reduce' "$work/recipe.sh"; then
		grep -q '^crash.gms fails: exit 1$' "$work/log" || fail "recipe $n: crash.gms did not fail"
		grep -q '^short.gms fails the same way: exit 1$' "$work/log" ||
			fail "recipe $n: short.gms did not fail"
		lines=$(grep -cv '^#' "$work/short.gms")
		[ "$lines" -le 12 ] || fail "recipe $n: short.gms has $lines lines"
		echo "fuzzing doc: recipe $n: reduced to $lines lines"
	fi
done < <(awk '/^<!-- recipe: standalone -->$/ { m = 1; next } m && /^```sh/ { b = 1; s = ""; next }
	b && /^```/ { printf "%s%c", s, 0; b = 0; m = 0; next } b { s = s $0 "\n" }' "$src/docs/FUZZING.md")
[ "$n" -ge 3 ] || fail "only $n standalone recipes in docs/FUZZING.md"
echo "fuzzing doc: $n standalone recipes run as written"
