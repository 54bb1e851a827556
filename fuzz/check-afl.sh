#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the AFL++ recipe of docs/TESTING.md ("### OSS-Fuzz, ClusterFuzzLite and AFL++") as
# written there: the first sh block after the heading, continuation lines joined, without
# the installation line, with the recipe's scratch directory (dir=...) moved into SCRATCH
# and the campaign bounded (afl-fuzz -V GS_AFL_SECONDS, default 5; -s 1; no UI). Asserts
# afl-fuzz exited 0, ran the target in persistent mode, executed inputs and saved no crash.
# Without afl-clang-fast, afl-fuzz or unzip: skip (77) with the reason.
# GS_AFL_TARGET=ops runs the same recipe on fuzz-ops (the structured format,
# docs/FUZZING.md) instead of fuzz-scenario: the target's name replaced, its
# dictionary option dropped when it has none. GS_AFL_DOC and GS_AFL_HEADING take
# the block from another document and heading (docs/FUZZING.md's "### AFL++" and
# "### Several machines", whose -M/-S instances run side by side here); every
# instance's fuzzer_stats is checked.
#
# usage: fuzz/check-afl.sh SRCDIR [SCRATCH]
set -euo pipefail

src=$(cd "$1" && pwd)
secs=${GS_AFL_SECONDS:-5}
target=${GS_AFL_TARGET:-scenario}
doc=${GS_AFL_DOC:-docs/TESTING.md}
heading=${GS_AFL_HEADING:-### OSS-Fuzz, ClusterFuzzLite and AFL++}
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
	echo "afl recipe: $*" >&2
	exit 1
}

for p in afl-clang-fast afl-clang-fast++ afl-fuzz; do
	command -v $p >/dev/null || skip "no $p (apt-get install afl++)"
done
command -v unzip >/dev/null || skip "no unzip (apt-get install unzip)"

recipe=$(awk -v h="$heading" '$0 == h { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/$doc" | sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}')
[ -n "$recipe" ] || fail "no sh block under '$heading' in $doc"
grep -q '^dir=' <<<"$recipe" || fail "the recipe lost its dir= line"
grep -q 'fuzz/build.sh' <<<"$recipe" || fail "the recipe lost its fuzz/build.sh line"
grep -q 'afl-fuzz ' <<<"$recipe" || fail "the recipe lost its afl-fuzz line"

script=$scratch/recipe.sh
{
	echo "set -euo pipefail"
	while IFS= read -r line; do
		case "$line" in
		"" | "#"* | apt-get*) continue ;;
		dir=*) line="dir=$scratch/afl" ;;
		esac
		line=${line//fuzz-scenario/fuzz-$target}
		if [ ! -f "$src/fuzz/$target.dict" ]; then
			line=${line/-x \$dir\/out\/fuzz-$target.dict /}
		fi
		if [[ $line == *"afl-fuzz "* ]]; then
			line=${line/afl-fuzz /afl-fuzz -V $secs -s 1 }
		fi
		echo "$line"
	done <<<"$recipe"
} >"$script"
rm -rf "$scratch/afl/findings" "$scratch/afl/sync"
cat "$script"
cd "$src"
# The recipe's build has no sanitizer; afl-fuzz refuses sanitizer options it did not set
# (quickstart's ASan run exports them).
env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u MSAN_OPTIONS -u LSAN_OPTIONS \
	AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_QUIET=1 \
	bash "$script" >"$scratch/afl.log" 2>&1 || { tail -n 40 "$scratch/afl.log"; fail "the recipe failed"; }
mapfile -t all < <(find "$scratch/afl" -name fuzzer_stats -path '*/findings/*' -o -name fuzzer_stats -path '*/sync/*' | sort)
[ "${#all[@]}" -gt 0 ] || { tail -n 40 "$scratch/afl.log"; fail "no fuzzer_stats"; }
total=0
for stats in "${all[@]}"; do
	inst=$(basename "$(dirname "$stats")")
	grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|target_mode)' "$stats" | sed "s/^/$inst: /"
	field() { awk -v k="$1" '$1 == k { print $3 }' "$stats"; }
	grep -q '^target_mode *: persistent' "$stats" || fail "$inst: the target did not run in persistent mode"
	[ "$(field execs_done)" -gt 0 ] || fail "$inst: no input executed"
	[ "$(field saved_crashes)" -eq 0 ] || fail "$inst: afl-fuzz saved a crash: $(dirname "$stats")/crashes"
	total=$((total + $(field execs_done)))
done
# AFL++'s pass took the coverage ignorelist (AFL_LLVM_DENYLIST, set by fuzz/build.sh): the
# oracle's adapter and the decoder carry no AFL++ instrumentation, the XArray does.
bin=$scratch/afl/out/fuzz-$target
[ -x "$bin" ] || fail "no $bin"
afl_refs() {
	objdump -d --no-show-raw-insn --disassemble="$1" "$bin" | grep -c '__afl\|__sanitizer_cov' || true
}
for fn in oracle_after gs_fuzz_build_ops; do
	[ "$(afl_refs $fn)" = 0 ] || fail "$fn is instrumented by AFL++ (the denylist was not used)"
done
[ "$(afl_refs xas_find)" -gt 0 ] || fail "xas_find is not instrumented by AFL++"
echo "afl recipe: the coverage ignorelist used by AFL++ (oracle, decoder out; XArray in)"
echo "afl recipe: fuzz-$target built by fuzz/build.sh with afl-clang-fast, ${#all[@]} instance(s), $total inputs in ${secs} s, persistent, no crash"
