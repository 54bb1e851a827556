#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs fuzz/build.sh as OSS-Fuzz and ClusterFuzzLite do, with their variables (CC, CXX,
# CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE, OUT, SRC, WORK) pointing at a scratch directory,
# then runs every target it built over its seed corpus and asserts exit 0, with the
# dictionary, options and seed corpus archive in $OUT.
#
# Engine: libFuzzer (clang, LIB_FUZZING_ENGINE=-fsanitize=fuzzer, OSS-Fuzz's ASan flags; a
# bounded campaign of GS_FUZZ_RUNS inputs, seed 1) when clang can link -fsanitize=fuzzer;
# else the standalone driver (fuzz/driver.c compiled into an object that supplies main(),
# replaying the corpus) with cc. GS_FUZZ_ENGINE=standalone forces the second. No usable
# compiler: skip (77) with the reason.
#
# usage: fuzz/check-build.sh SRCDIR [SCRATCH]   (SCRATCH kept when given, else temporary)
set -euo pipefail

src=$(cd "$1" && pwd)
runs=${GS_FUZZ_RUNS:-2000}
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
	echo "fuzz build: $*" >&2
	exit 1
}

export OUT=$scratch/out WORK=$scratch/work SRC
SRC=$(dirname "$src")
rm -rf "$OUT"
mkdir -p "$OUT" "$WORK"

libfuzzer_links() {
	command -v clang >/dev/null && command -v clang++ >/dev/null || return 1
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) & 0; }\n' \
		>"$WORK/probe.c"
	clang -fsanitize=fuzzer "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null
}

if [ "${GS_FUZZ_ENGINE:-}" != standalone ] && libfuzzer_links; then
	engine=libfuzzer
	export CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer
	# OSS-Fuzz's flags for an ASan build.
	export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address \
-fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
	export CXXFLAGS=$CFLAGS
else
	engine=standalone
	cc=$(command -v cc || command -v gcc || command -v clang || true)
	cxx=$(command -v c++ || command -v g++ || command -v clang++ || true)
	[ -n "$cc" ] && [ -n "$cxx" ] || skip "no C and C++ compiler for the standalone driver"
	export CC=$cc CXX=$cxx CFLAGS="-O1 -g" CXXFLAGS="-O1 -g"
	$CC $CFLAGS -c "$src/fuzz/driver.c" -o "$WORK/driver.o" ||
		skip "$CC cannot build fuzz/driver.c"
	export LIB_FUZZING_ENGINE=$WORK/driver.o
fi
echo "fuzz build: engine $engine, CC=$CC, LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE"
# Every function the coverage ignorelist names is defined in lib/: a renamed one would
# silently be instrumented again.
ignored=$(sed -n 's/^fun:\([A-Za-z0-9_]*\)$/\1/p' "$src/fuzz/coverage-ignorelist.txt")
[ -n "$ignored" ] || fail "no fun: entries in fuzz/coverage-ignorelist.txt"
for fn in $ignored; do
	grep -rqE "^([a-z].*[ *])?$fn\(" "$src/lib" || fail "coverage-ignorelist.txt: $fn is not defined in lib/"
done
start=$SECONDS
"$src/fuzz/build.sh" | tee "$WORK/build.log" || fail "build.sh failed"
echo "fuzz build: build.sh took $((SECONDS - start)) s"
if [ $engine = libfuzzer ]; then
	# clang takes the ignorelist, and what it names calls no coverage callback; those not
	# inlined are checked in the binary (at least one must be).
	grep -q '^build.sh: coverage ignorelist' "$WORK/build.log" || fail "build.sh did not use the ignorelist"
	found=0
	for fn in $ignored; do
		code=$(objdump -d --no-show-raw-insn --disassemble="$fn" "$OUT/fuzz-ops" 2>/dev/null |
			grep -v '^Disassembly\|^$\|file format' || true)
		[ -n "$code" ] || continue
		found=$((found + 1))
		! grep -q '__sanitizer_cov' <<<"$code" || fail "$fn is still instrumented for coverage"
	done
	[ "$found" -gt 0 ] || fail "none of the ignorelist's functions found in fuzz-ops"
	echo "fuzz build: $found function(s) of the coverage ignorelist in fuzz-ops, none instrumented"
fi

targets=0
for f in "$src"/fuzz/fuzz-*.c; do
	t=$(basename "$f" .c)
	bin=$OUT/$t
	[ -x "$bin" ] || fail "no $bin"
	[ ! -f "$src/fuzz/${t#fuzz-}.dict" ] || [ -f "$OUT/$t.dict" ] || fail "no $t.dict in \$OUT"
	[ -f "$OUT/$t.options" ] || fail "no $t.options in \$OUT"
	seed=$WORK/seed-$t
	rm -rf "$seed"
	mkdir -p "$seed"
	if command -v zip >/dev/null; then
		[ -f "$OUT/${t}_seed_corpus.zip" ] || fail "no ${t}_seed_corpus.zip in \$OUT"
		if command -v unzip >/dev/null; then
			unzip -q "$OUT/${t}_seed_corpus.zip" -d "$seed"
		else
			echo "fuzz build: no unzip: running $t over the source corpus instead"
			cp -r "$src/fuzz/corpus/${t#fuzz-}/." "$seed/"
		fi
	else
		echo "fuzz build: no zip: no seed corpus archive checked; source corpus used"
		cp -r "$src/fuzz/corpus/${t#fuzz-}/." "$seed/"
	fi
	n=$(find "$seed" -type f | wc -l)
	[ "$n" -gt 0 ] || fail "$t: empty seed corpus"
	if [ $engine = libfuzzer ]; then
		mkdir -p "$WORK/corpus-$t"
		dict=()
		[ ! -f "$OUT/$t.dict" ] || dict=(-dict="$OUT/$t.dict")
		max_len=$(sed -n 's/^max_len = \([0-9]*\)$/\1/p' "$OUT/$t.options")
		[ -n "$max_len" ] || fail "$t.options: no max_len"
		"$bin" "${dict[@]}" -max_len="$max_len" -runs="$runs" -seed=1 -max_total_time=60 \
			-artifact_prefix="$WORK/" "$WORK/corpus-$t" "$seed" >"$WORK/$t.log" 2>&1 ||
			{ tail -n 40 "$WORK/$t.log"; fail "$t: a finding (or an engine error)"; }
		grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done )' "$WORK/$t.log" || true
	else
		"$bin" "$seed" >"$WORK/$t.log" 2>&1 || { cat "$WORK/$t.log"; fail "$t: a finding"; }
		cat "$WORK/$t.log"
	fi
	echo "fuzz build: $t: $n seed inputs, exit 0"
	targets=$((targets + 1))
done
[ "$targets" -gt 0 ] || fail "no fuzz targets in $src/fuzz"
echo "fuzz build: $targets target(s) built by fuzz/build.sh ($engine) and run without a finding"
