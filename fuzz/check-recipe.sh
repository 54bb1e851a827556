#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the libFuzzer recipe of docs/TESTING.md ("## Fuzzing") as written there, so the
# documented commands keep working: it takes the sh block from the document itself, puts
# the build in BUILDDIR and the scratch corpus in a temporary directory, bounds the
# campaign to a few thousand inputs (GS_FUZZ_RUNS) or 60 s with a fixed seed, and runs it from the
# source root. The package installation line is not run; a missing clang or libFuzzer
# runtime is a skip (exit 77) with the reason, as meson reads it.
#
# GS_RECIPE_DOC and GS_RECIPE_HEADING take the block from another document and
# heading: docs/FUZZING.md's "**libFuzzer**" block for fuzz-ops (quickstart.sh), and its
# "### One backing per target" block (test fuzz-backing-recipe), which builds with
# fuzz/build.sh in a directory of its own (dir=...: BUILDDIR/recipe here, so a second run
# only relinks) and must report the coverage ignorelist. A recipe's meson build with
# -Dfuzzer=libfuzzer must have compiled with the ignorelist and without comparison tracing.
#
# usage: fuzz/check-recipe.sh SRCDIR BUILDDIR
set -euo pipefail

src=$(cd "$1" && pwd)
dir=$2
runs=${GS_FUZZ_RUNS:-2000}
doc=${GS_RECIPE_DOC:-docs/TESTING.md}
heading=${GS_RECIPE_HEADING:-## Fuzzing}

skip() {
	echo "SKIP: $*"
	exit 77
}

command -v clang >/dev/null || skip "no clang (apt-get install clang libclang-rt-14-dev)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) & 0; }\n' \
	>"$probe/p.c"
clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null ||
	skip "clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"

# The recipe: the first sh block after the heading, continuation lines joined.
recipe=$(awk -v h="$heading" 'index($0, h) == 1 { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/$doc" | sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}')
[ -n "$recipe" ] || { echo "no sh block under '$heading' in $doc" >&2; exit 1; }
grep -qE 'meson setup build-fuzz|fuzz/build.sh' <<<"$recipe" ||
	{ echo "recipe lost its meson setup or fuzz/build.sh" >&2; exit 1; }
grep -qE '/fuzz-(scenario|ops)' <<<"$recipe" || { echo "recipe lost its fuzz run" >&2; exit 1; }
if grep -q '^unzip ' <<<"$recipe" && ! command -v unzip >/dev/null; then
	skip "no unzip (apt-get install unzip)"
fi

mkdir -p "$probe/corpus"
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
rm -rf "$dir/recipe/corpus-"* "$dir/recipe/seed-"*
cd "$src"
while IFS= read -r line; do
	case "$line" in
	"" | "#"*) continue ;;
	apt-get*) continue ;; # what it installs was probed above
	dir=*) continue ;;    # the recipe's own directory: BUILDDIR/recipe
	esac
	line=${line//\$dir/$dir/recipe}
	line=${line//.\/build-fuzz/@B@}
	line=${line//build-fuzz/@B@}
	line=${line//@B@/$dir}
	line=${line//corpus-dir/$probe/corpus}
	line=${line//corpus-ops/$probe/corpus}
	# Configured before: meson setup would refuse the directory; reconfigure keeps objects.
	if [[ $line == *"meson setup "* && -f $dir/build.ninja ]]; then
		line=${line/meson setup /meson setup --reconfigure }
	fi
	# A campaign: a line that runs a fuzz target.
	first=${line%% *}
	if [[ $first == */fuzz-scenario* || $first == */fuzz-ops* ]]; then
		line="$line -runs=$runs -seed=1 -max_total_time=60 -artifact_prefix=$probe/"
	fi
	echo "+ $line"
	bash -c "$line" >"$probe/log" 2>&1 || { tail -n 60 "$probe/log"; exit 1; }
	grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done )' "$probe/log" || true
	if [[ $line == *fuzz/build.sh* ]] && ! grep -q '^build.sh: coverage ignorelist' "$probe/log"; then
		tail -n 20 "$probe/log"
		echo "fuzz/build.sh did not use the coverage ignorelist" >&2
		exit 1
	fi
	# meson's -Dfuzzer=libfuzzer build leaves out what fuzz/build.sh does.
	if [[ $line == *"meson setup"*-Dfuzzer=libfuzzer* ]]; then
		for flag in -fsanitize-coverage-ignorelist= -fno-sanitize-coverage=trace-cmp; do
			grep -q -- "$flag" "$dir/compile_commands.json" ||
				{ echo "meson -Dfuzzer=libfuzzer did not compile with $flag" >&2; exit 1; }
		done
	fi
done <<<"$recipe"
echo "fuzz recipe: configured, built, up to $runs inputs (at most 60 s) run from the corpus without a finding"
