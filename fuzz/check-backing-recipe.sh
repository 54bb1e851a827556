#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs docs/FUZZING.md's recipe for the per-backing targets ("### One backing per target")
# as written there: the first sh block after the heading, continuation lines joined, with
# the recipe's scratch directory (dir=...) moved into SCRATCH and each libFuzzer campaign
# bounded (GS_FUZZ_RUNS inputs, default 2,000, or 60 s; seed 1). Asserts each campaign ran
# mutated inputs without a finding, and that fuzz/build.sh built with the coverage
# ignorelist. Without clang's libFuzzer or unzip: skip (77) with the reason.
#
# usage: fuzz/check-backing-recipe.sh SRCDIR [SCRATCH]
set -euo pipefail

src=$(cd "$1" && pwd)
runs=${GS_FUZZ_RUNS:-2000}
heading='### One backing per target'
if [ -n "${2:-}" ]; then
	mkdir -p "$2"
	scratch=$(cd "$2" && pwd)
else
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
fi

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "backing recipe: $*" >&2
	exit 1
}

command -v clang >/dev/null && command -v clang++ >/dev/null || skip "no clang (apt-get install clang)"
command -v unzip >/dev/null || skip "no unzip (apt-get install unzip)"
mkdir -p "$scratch"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) & 0; }\n' \
	>"$scratch/probe.c"
clang -fsanitize=fuzzer "$scratch/probe.c" -o "$scratch/probe" 2>/dev/null ||
	skip "clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"

recipe=$(awk -v h="$heading" '$0 == h { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/docs/FUZZING.md" | sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}')
[ -n "$recipe" ] || fail "no sh block under '$heading' in docs/FUZZING.md"
grep -q '^dir=' <<<"$recipe" || fail "the recipe lost its dir= line"
grep -q 'fuzz/build.sh' <<<"$recipe" || fail "the recipe lost its fuzz/build.sh line"
# shellcheck disable=SC2016 # the recipe's text, not this script's variable
grep -q '^\$dir/out/fuzz-ops-' <<<"$recipe" || fail "the recipe lost its fuzz-ops-* runs"

script=$scratch/recipe.sh
{
	echo "set -euo pipefail"
	while IFS= read -r line; do
		case "$line" in
		"" | "#"*) continue ;;
		dir=*) line="dir=$scratch/lf" ;;
		esac
		# A campaign, bounded; its log kept for the checks below.
		# shellcheck disable=SC2016 # the recipe's text
		if [[ $line == '$dir/out/fuzz-ops-'* ]]; then
			t=${line%% *}
			t=${t##*/}
			line="$line -runs=$runs -seed=1 -max_total_time=60 -artifact_prefix=\$dir/ 2>\$dir/$t.log"
		fi
		echo "$line"
	done <<<"$recipe"
} >"$script"
rm -rf "$scratch/lf/corpus-"* "$scratch/lf/seed-"*
cat "$script"
cd "$src"
bash "$script" >"$scratch/recipe.log" 2>&1 || {
	tail -n 40 "$scratch/recipe.log" "$scratch"/lf/fuzz-ops-*.log 2>/dev/null
	fail "the recipe failed"
}
grep -q '^build.sh: coverage ignorelist' "$scratch/recipe.log" || fail "build.sh did not use the ignorelist"
n=0
for log in "$scratch"/lf/fuzz-ops-*.log; do
	[ -f "$log" ] || continue
	grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done )' "$log" | sed "s|^|$(basename "$log" .log): |"
	grep -qE "^#${runs}[[:space:]]+DONE" "$log" || grep -q '^Done ' "$log" || fail "$log: the campaign did not finish"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no campaign ran"
echo "backing recipe: fuzz/build.sh with the ignorelist, $n per-backing campaign(s) of up to $runs inputs, no finding"
