#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs docs/FUZZING.md's recipe for a faster standalone fuzzer ("### A faster `gmemsim
# fuzz`": link-time optimization and a profile of the fuzzer's own runs) as written there,
# so that it keeps working: the sh block from the document itself, the build in BUILDDIR
# (started afresh: a build left configured for the profile's use would not make one), the
# last line's campaign bounded to 100 inputs. Then it checks that the build did
# what the recipe says (a profile written and used, link-time optimization on) and that the
# optimized fuzzer prints what REFERENCE (a `gmemsim` of an ordinary build) prints for the
# same inputs, a planted bug's failures and signatures included: the recipe changes the
# speed, never the results.
#
# usage: fuzz/check-pgo.sh SRCDIR BUILDDIR REFERENCE
set -euo pipefail

src=$(cd "$1" && pwd)
dir=$2
ref=$3
doc=docs/FUZZING.md
heading='### A faster `gmemsim fuzz`'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

recipe=$(awk -v h="$heading" 'index($0, h) == 1 { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/$doc" | sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}')
[ -n "$recipe" ] || { echo "no sh block under '$heading' in $doc" >&2; exit 1; }
for want in 'b_lto=true' 'b_pgo=generate' 'b_pgo=use' 'tools/gmemsim fuzz'; do
	grep -qF -- "$want" <<<"$recipe" || { echo "recipe lost '$want'" >&2; exit 1; }
done

rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
cd "$src"
start=$(date +%s)
last=$(grep -E 'tools/gmemsim fuzz' <<<"$recipe" | tail -n 1)
while IFS= read -r line; do
	case "$line" in
	"" | "#"*) continue ;;
	esac
	# The campaign the recipe ends with, bounded; the training runs as written.
	[ "$line" = "$last" ] && line=${line/--seconds 60/--runs 100}
	line=${line//.\/build-pgo/@B@}
	line=${line//build-pgo/@B@}
	line=${line//@B@/$dir}
	echo "+ $line"
	bash -c "$line" >"$tmp/log" 2>&1 || { tail -n 40 "$tmp/log"; exit 1; }
done <<<"$recipe"
echo "recipe: $(($(date +%s) - start)) s"

# What the recipe promises: link-time optimization, a profile written, then used.
grep -q -- '-flto' "$dir/build.ninja" || { echo "no -flto in the recipe's build" >&2; exit 1; }
grep -q -- '-fprofile-use' "$dir/build.ninja" || { echo "no -fprofile-use in the recipe's build" >&2; exit 1; }
n=$(find "$dir" -name '*.gcda' | wc -l)
[ "$n" -gt 0 ] || { echo "the training runs wrote no profile (.gcda)" >&2; exit 1; }
echo "profile: $n .gcda files"

# Same inputs, same output: operations, failures and signatures (times aside).
norm() { grep -v -E '^fuzz: [0-9]+ execs' | sed -E 's/ after [0-9.]+ s:/:/'; }
for args in "--seed 7 --runs 300 --backing 4k" \
	"--seed 7 --runs 300 --backing 4k --ordering mix --plant skip-zero" \
	"--seed 3 --runs 300 --backing 2m --ordering mix --plant huge-leaf-after-split"; do
	# shellcheck disable=SC2086 # the arguments are a list
	"$ref" fuzz $args 2>&1 | norm >"$tmp/ref" || true
	# shellcheck disable=SC2086
	"$dir/tools/gmemsim" fuzz $args 2>&1 | norm >"$tmp/pgo" || true
	diff -u "$tmp/ref" "$tmp/pgo" || { echo "fuzz $args: the optimized build differs" >&2; exit 1; }
	echo "fuzz $args: same output ($(tail -n 1 "$tmp/pgo"))"
done
