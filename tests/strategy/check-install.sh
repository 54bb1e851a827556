#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# examples/strategy/README.md's recipe as a new user runs it, against an installed library:
# installs the build into a temporary staging directory (meson install --destdir), points
# pkg-config at it (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR, which is what an install
# into the staging root means to pkg-config), puts the installed gmemsim first on PATH, and
# runs the README's sh block line by line in a copy of examples/strategy/. Each line must
# succeed; check-strategy must report PASS for every part.
#
# usage: tests/strategy/check-install.sh SRCDIR BUILDDIR
set -euo pipefail

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "strategy-install: $*" >&2
	exit 1
}

command -v pkg-config >/dev/null || { echo "no pkg-config here"; exit 77; }
command -v cc >/dev/null || { echo "no cc here"; exit 77; }
meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "meson install failed"; }
pc=$(find "$tmp/root" -name gmemsim.pc -print -quit)
[ -n "$pc" ] || fail "meson install put no gmemsim.pc"
hdr=$(find "$tmp/root" -path '*/include/gmemsim/strategy.h' -print -quit)
[ -n "$hdr" ] || fail "meson install put no gmemsim/strategy.h"
bin=$(find "$tmp/root" -path '*/bin/gmemsim' -print -quit)
[ -x "$bin" ] || fail "meson install put no gmemsim binary"
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PATH="$(dirname "$bin"):$PATH"
[ "$(command -v gmemsim)" = "$bin" ] || fail "the installed gmemsim is not first on PATH"

recipe=$(awk '/^## Build, run, check/ { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
	"$src/examples/strategy/README.md")
[ -n "$recipe" ] || fail "no sh block under '## Build, run, check' in examples/strategy/README.md"

mkdir "$tmp/work"
cp "$src/examples/strategy/nomerge.c" "$src/examples/strategy/nomerge.gms" "$tmp/work/"
cd "$tmp/work"
while IFS= read -r line; do
	[ -n "$line" ] || continue
	echo "+ $line"
	bash -c "$line" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "a recipe line failed"; }
	cat "$tmp/log"
	cat "$tmp/log" >>"$tmp/all.log"
done <<<"$recipe"

[ -f nomerge.so ] || fail "the recipe built no nomerge.so"
grep -Eq '^metric +planned +\./nomerge\.so$' "$tmp/all.log" || fail "compare showed no nomerge column"
grep -q '^check-strategy: nomerge: PASS$' "$tmp/log" || fail "check-strategy did not pass"
for part in scenarios fail-nth fuzz; do
	grep -q "^$part: pass " "$tmp/log" || fail "part $part did not pass"
done
echo "strategy-install: the README recipe builds, runs and passes against the installed library"
