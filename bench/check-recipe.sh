#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The benchmarks and the callgrind recipe of docs/PERFORMANCE.md ("## How to measure"), run
# so that they keep working: every benchmark program listed in bench/meson.build once in
# its quick mode (GS_BENCH_QUICK=1: small counts, a second or less each), each required to
# exit 0 and print ns/op lines; then the recipe's callgrind and callgrind_annotate lines as
# the document writes them, for one workload (bench-alloc, bench_alloc_free), required to
# have collected a non-zero instruction count in that function. No valgrind is a skip
# (exit 77) with the reason, as meson reads it. The figures of a quick run are not the
# documented ones.
#
# usage: bench/check-recipe.sh SRCDIR BUILDDIR
set -euo pipefail

src=$(cd "$1" && pwd)
dir=$(cd "$2" && pwd)
name=alloc
workload=alloc_free
ops=10000 # bench-alloc's count in a quick run

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GS_BENCH_QUICK=1

# Every benchmark, once.
benches=$(sed -n "s/^ *\['\([a-z0-9_-]*\)', [0-9]*\],.*/\1/p" "$src/bench/meson.build")
[ -n "$benches" ] || { echo "no benchmarks found in bench/meson.build" >&2; exit 1; }
for b in $benches; do
	exe=$dir/bench/bench-$b
	[ -x "$exe" ] || { echo "bench-$b is not built in $dir" >&2; exit 1; }
	start=$(date +%s)
	timeout 120 "$exe" >"$tmp/$b.out" 2>&1 || { cat "$tmp/$b.out"; echo "bench-$b failed" >&2; exit 1; }
	n=$(grep -c ' ns/op ' "$tmp/$b.out" || true)
	[ "$n" -gt 0 ] || { cat "$tmp/$b.out"; echo "bench-$b printed no ns/op line" >&2; exit 1; }
	echo "bench-$b: $n workloads, $(($(date +%s) - start)) s (quick)"
done

command -v valgrind >/dev/null || { echo "SKIP: no valgrind for the callgrind recipe"; exit 77; }
# The recipe: the first sh block after the heading, continuation lines joined.
recipe=$(awk '/^## How to measure/ { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/docs/PERFORMANCE.md" | sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}')
cg=$(grep -E '^valgrind --tool=callgrind ' <<<"$recipe" || true)
ann=$(grep -E '^callgrind_annotate ' <<<"$recipe" || true)
[ -n "$cg" ] && [ -n "$ann" ] || { echo "recipe lost its callgrind lines" >&2; exit 1; }
for line in "$cg" "$ann"; do
	line=${line%%#*}
	line=${line//<name>/$name}
	line=${line//<workload>/$workload}
	line=${line//.\/build\//$dir\/}
	line=${line//cg.out/$tmp\/cg.out}
	echo "+ $line"
	(cd "$src" && bash -c "$line") >"$tmp/log" 2>&1 || { tail -n 30 "$tmp/log"; exit 1; }
done
cat "$tmp/log"
total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$tmp/log")
[ -n "$total" ] || { echo "callgrind_annotate printed no PROGRAM TOTALS" >&2; exit 1; }
# Nothing collected (a toggle-collect function that never ran) prints "." as the total.
[[ $total =~ ^[0-9]+$ ]] || total=0
# The loop calls gs_alloc() and gs_free() ops times: far more than one instruction per op.
[ "$total" -gt $((ops * 10)) ] || {
	echo "callgrind collected $total instructions in bench_$workload (expected > $((ops * 10)))" >&2
	exit 1
}
grep -q "bench_$workload" "$tmp/log" || { echo "bench_$workload is not in the profile" >&2; exit 1; }
echo "callgrind recipe: bench_$workload collected $total instructions ($((total / ops)) per op)"
