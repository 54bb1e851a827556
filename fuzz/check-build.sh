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
# replaying the corpus) with cc. GS_FUZZ_ENGINE=standalone forces the second. With
# libFuzzer the binary is checked against fuzz/coverage-ignorelist.txt, and the library for
# no comparison tracing, or, with GMEMSIM_FUZZ_TRACE_CMP=1 (test fuzz-build-trace-cmp), for
# it kept, meson's -Dfuzzer_trace_cmp=true included. No usable
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
# And every file pattern names a file of lib/ (a moved one would be instrumented again).
globs=$(sed -n 's/^src:\*\/\(lib\/.*\)$/\1/p' "$src/fuzz/coverage-ignorelist.txt")
files=()
for glob in $globs; do
	compgen -G "$src/$glob" >/dev/null || fail "coverage-ignorelist.txt: no file $glob"
	mapfile -t -O "${#files[@]}" files < <(compgen -G "$src/$glob")
done
start=$SECONDS
"$src/fuzz/build.sh" | tee "$WORK/build.log" || fail "build.sh failed"
echo "fuzz build: build.sh took $((SECONDS - start)) s"
# instrumented FN: FN's code in fuzz-ops calls a coverage callback or bumps an edge counter
# (an address in the __sancov_cntrs section: inline 8-bit counters are no calls); status 2
# when fuzz-ops has no FN (inlined everywhere). Read from $WORK/instrumented, one line per
# function of fuzz-ops: its name and 1 or 0, made by one pass over the disassembly.
instrumented() {
	local v
	v=$(awk -v f="$1" '$1 == f { print $2; exit }' "$WORK/instrumented")
	[ -n "$v" ] || return 2
	[ "$v" = 1 ]
}

list_instrumented() {
	local size start
	read -r size start < <(objdump -h "$OUT/fuzz-ops" | awk '$2 == "__sancov_cntrs" { print $3, $4 }')
	[ -n "${start:-}" ] || fail "fuzz-ops has no __sancov_cntrs section"
	objdump -d --no-show-raw-insn "$OUT/fuzz-ops" | awk -v start="$start" -v size="$size" '
		function hex(s,  i, v) {
			v = 0
			for (i = 1; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		function done() { if (fn != "") print fn, ins }
		BEGIN { lo = hex(start); hi = lo + hex(size) }
		/^[0-9a-f]+ <.*>:$/ { done(); fn = substr($2, 2, length($2) - 3); ins = 0; next }
		/__sanitizer_cov/ { ins = 1; next }
		/# [0-9a-f]+/ { a = $0; sub(/.*# /, "", a); sub(/ .*/, "", a); v = hex(a)
			if (v >= lo && v < hi) ins = 1 }
		END { done() }' >"$WORK/instrumented"
}

# uninstrumented WHAT FN...: fails if any FN present in fuzz-ops is instrumented; prints how
# many are present.
uninstrumented() {
	local what=$1 fn rc n=0
	shift
	for fn in "$@"; do
		rc=0
		instrumented "$fn" || rc=$?
		[ $rc = 2 ] && continue
		n=$((n + 1))
		[ $rc = 1 ] || fail "$fn ($what) is instrumented for coverage"
	done
	echo $n
}

# The functions of fuzz-ops that call comparison tracing, the target's own left out.
cmp_tracers() {
	objdump -d --no-show-raw-insn "$OUT/fuzz-ops" |
		awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 } /call.*__sanitizer_cov_trace_[a-z_]*cmp/ { print fn }' |
		sort -u | grep -v '^<LLVMFuzzer' || true
}

if [ $engine = libfuzzer ]; then
	# clang takes the ignorelist, and what it names is not instrumented; those not inlined
	# are checked in the binary (at least one must be).
	grep -q '^build.sh: coverage ignorelist' "$WORK/build.log" || fail "build.sh did not use the ignorelist"
	list_instrumented
	# shellcheck disable=SC2086 # a list of names
	found=$(uninstrumented "named in the ignorelist" $ignored) || exit 1
	[ "$found" -gt 0 ] || fail "none of the ignorelist's functions found in fuzz-ops"
	echo "fuzz build: $found function(s) of the coverage ignorelist in fuzz-ops, none instrumented"
	# Every function the files of the list define outside a static: none instrumented, and
	# most in fuzz-ops (whole-archive); as controls, the kernel model and the parser are.
	mapfile -t defined < <(grep -hoE '^[a-z][^;(=]*[ *][a-z_][a-z0-9_]*\(' "${files[@]}" |
		grep -v '^static' | sed -E 's/.*[ *]([a-z_][a-z0-9_]*)\($/\1/' | sort -u)
	listed=$(uninstrumented "a file the ignorelist names" "${defined[@]}") || exit 1
	[ "$listed" -ge 100 ] || fail "only $listed functions of the ignorelist's files found in fuzz-ops"
	# Whatever the list says, one function of each kind stays out: the oracle, its adapter,
	# the decoder, the runner, the checkers' registry, the allocation wrapper.
	for fn in gs_oracle_convert oracle_after gs_fuzz_build_ops gs_scenario_run_op gs_check_run_all gs_alloc; do
		rc=0
		instrumented "$fn" || rc=$?
		[ $rc = 1 ] || fail "$fn: expected in fuzz-ops and left out of coverage (status $rc)"
	done
	for fn in xas_find kvm_gmem_get_folio kvm_gmem_fault gs_parse_u64; do
		instrumented "$fn" || fail "$fn: expected in fuzz-ops and instrumented for coverage"
	done
	cmp_fns=$(cmp_tracers)
	if [ "${GMEMSIM_FUZZ_TRACE_CMP:-0}" = 1 ]; then
		# The opt-out: comparison tracing kept in the library (the kernel model's too), and
		# meson's -Dfuzzer_trace_cmp=true configures the same way.
		! grep -q '^build.sh: library built without comparison tracing' "$WORK/build.log" ||
			fail "GMEMSIM_FUZZ_TRACE_CMP=1: build.sh still left comparison tracing out"
		grep -q '^<xas_find>' <<<"$cmp_fns" || fail "GMEMSIM_FUZZ_TRACE_CMP=1: xas_find has no comparison tracing"
		CC=clang meson setup "$WORK/meson-trace-cmp" "$src" -Dfuzzer=libfuzzer -Dfuzzer_trace_cmp=true \
			-Dallocator=system -Dtests=false -Db_lundef=false >"$WORK/meson-trace-cmp.log" 2>&1 ||
			{ cat "$WORK/meson-trace-cmp.log"; fail "meson -Dfuzzer_trace_cmp=true failed"; }
		grep -q -- -fsanitize-coverage-ignorelist= "$WORK/meson-trace-cmp/compile_commands.json" ||
			fail "-Dfuzzer_trace_cmp=true: no coverage ignorelist"
		! grep -q -- -fno-sanitize-coverage=trace-cmp "$WORK/meson-trace-cmp/compile_commands.json" ||
			fail "-Dfuzzer_trace_cmp=true: comparison tracing still left out"
		echo "fuzz build: GMEMSIM_FUZZ_TRACE_CMP=1 and -Dfuzzer_trace_cmp=true keep comparison tracing"
		# build.sh again in the same $WORK with it left out: a build made with other flags is
		# started afresh (meson alone reads CFLAGS only at set-up and kept the first objects).
		GMEMSIM_FUZZ_TRACE_CMP=0 "$src/fuzz/build.sh" >"$WORK/build-again.log" ||
			{ cat "$WORK/build-again.log"; fail "build.sh failed the second time"; }
		again=$(cmp_tracers)
		[ -z "$again" ] || fail "build.sh with other flags kept the objects of the build before: ${again//$'\n'/ }"
		echo "fuzz build: a second build.sh with other flags rebuilt the library"
	else
		# The library without comparison tracing: only the target's own file calls it.
		grep -q '^build.sh: library built without comparison tracing' "$WORK/build.log" ||
			fail "build.sh kept comparison tracing in the library"
		[ -z "$cmp_fns" ] || fail "comparison tracing left in the library: ${cmp_fns//$'\n'/ }"
	fi
	echo "fuzz build: $listed functions of the ignorelist's files (oracle, decoder, runner, base" \
		"services) not instrumented; kernel model and parser instrumented"
fi

# fuzz-ops* hand libFuzzer their own settings (fuzz/fuzz-ops.c, LLVMFuzzerInitialize()), and
# a flag on the command line must win; libFuzzer reports the entropic threshold in its
# "entropic power schedule (0xTT, N)" line and complains when no -max_len reaches it. (The
# standalone driver must get nothing: it would take the flags for input files; checked on
# its run below.)
check_ops_settings() {
	local bin=$1 t=$2 empty=$WORK/empty-$2 log=$WORK/$2.settings
	mkdir -p "$empty"
	"$bin" -runs=0 "$empty" >"$log" 2>&1 || { cat "$log"; fail "$t: -runs=0 failed"; }
	grep -q 'entropic power schedule (0x20,' "$log" ||
		{ cat "$log"; fail "$t: not run with its entropic threshold (32)"; }
	! grep -q 'max_len is not provided' "$log" || fail "$t: its -max_len not applied"
	"$bin" -runs=0 -entropic_feature_frequency_threshold=255 "$empty" >"$log" 2>&1 ||
		fail "$t: -runs=0 failed"
	grep -q 'entropic power schedule (0xFF,' "$log" ||
		{ cat "$log"; fail "$t: the command line's threshold did not win"; }
	echo "fuzz build: $t: its libFuzzer settings applied, the command line's win"
}

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
		[[ $t != fuzz-ops* ]] || check_ops_settings "$bin" "$t"
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
		! grep -q 'libFuzzer settings' "$WORK/$t.log" ||
			fail "$t: libFuzzer's settings handed to the standalone driver"
	fi
	echo "fuzz build: $t: $n seed inputs, exit 0"
	targets=$((targets + 1))
done
[ "$targets" -gt 0 ] || fail "no fuzz targets in $src/fuzz"
echo "fuzz build: $targets target(s) built by fuzz/build.sh ($engine) and run without a finding"
