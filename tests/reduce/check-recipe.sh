#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the reduction recipe of docs/TESTING.md ("### Reducing a failing scenario") as
# written there, so the documented loop from a failure to a short replayable scenario keeps
# working: it takes the first sh block after the heading, runs it in a temporary directory
# with GMEMSIM (the built binary) for `gmemsim` and the source tree's tests/ for `tests/`,
# then checks what it produced: short.gms has at most 12 operation lines, names the rfc-v2
# rollback WARN, fails again (exit 1) and reduces to the same signature; and `reduce` exits 1
# ("nothing to reduce") on a passing scenario and 3 on a malformed one.
#
# usage: tests/reduce/check-recipe.sh SRCDIR GMEMSIM
set -euo pipefail

src=$(cd "$1" && pwd)
bin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
[ -x "$bin" ] || { echo "no gmemsim at $2" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "reduce recipe: $*" >&2
	exit 1
}

recipe=$(awk '/^### Reducing a failing scenario/ { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/docs/TESTING.md")
[ -n "$recipe" ] || fail "no sh block under '### Reducing a failing scenario' in docs/TESTING.md"
grep -q '^gmemsim reduce ' <<<"$recipe" || fail "the recipe lost its gmemsim reduce line"

cd "$tmp"
while IFS= read -r line; do
	case "$line" in "" | "#"*) continue ;; esac
	line=${line//tests\//$src/tests/}
	[[ $line == gmemsim* ]] && line="$bin${line#gmemsim}"
	echo "+ $line"
	bash -c "$line" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "a recipe line failed"; }
	cat "$tmp/log"
	# "run ... || echo ... exit $?": the run must have failed as a failure does (1), no other way.
	if [[ $line == *"|| echo"* ]] && ! grep -q 'exit 1$' "$tmp/log"; then
		fail "the failing run did not exit 1"
	fi
done <<<"$recipe"

[ -f short.gms ] || fail "the recipe wrote no short.gms"
ops=$(grep -cv '^[[:space:]]*\(#\|$\)' short.gms)
[ "$ops" -le 12 ] || fail "short.gms has $ops operation lines (bound 12)"
sig=$(head -n 1 short.gms)
[[ $sig == "# gmemsim reduce: WARN: gmem_convert.c rfc_rollback: "* ]] ||
	fail "short.gms names another failure: $sig"
rc=0
"$bin" run -q short.gms >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "short.gms: gmemsim run exits $rc, not 1"
"$bin" reduce short.gms -o again.gms 2>/dev/null || fail "short.gms no longer reduces"
[ "$(head -n 1 again.gms)" = "$sig" ] || fail "short.gms fails another way: $(head -n 1 again.gms)"

rc=0
"$bin" reduce "$src/tests/scenarios/convert-rfc-v2.gms" -o pass.gms 2>err.txt || rc=$?
[ "$rc" -eq 1 ] || fail "a passing scenario: reduce exits $rc, not 1"
grep -q 'nothing to reduce' err.txt || fail "a passing scenario: no 'nothing to reduce'"
[ ! -e pass.gms ] || fail "a passing scenario: an output file was written"
printf 'no-such-verb 1\n' >bad.gms
rc=0
"$bin" reduce bad.gms 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "a malformed scenario: reduce exits $rc, not 3"
echo "reduce recipe: $(wc -l <"$src/tests/reduce/planted-warn.gms") lines -> $ops operation lines, same signature"
