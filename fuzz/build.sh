#!/bin/bash -eu
# SPDX-License-Identifier: MIT
#
# OSS-Fuzz / ClusterFuzzLite build script: builds every fuzz target (fuzz/fuzz-<t>.c) from
# the variables those services set, so the targets run there, or in any campaign that sets
# them the same way, without changes:
#
#   CC, CXX, CFLAGS, CXXFLAGS  compilers and flags (sanitizer and coverage flags included)
#   LIB_FUZZING_ENGINE         what the link adds for the engine: -fsanitize=fuzzer
#                              (libFuzzer), an AFL++ driver library, or an object with
#                              main() (fuzz/driver.c, the standalone replayer)
#   OUT                        where binaries, seed corpora, dictionaries and options go
#   WORK                       scratch space for the build
#   SRC                        where the service checked the sources out ($SRC/gmemsim);
#                              this script builds the tree it sits in, wherever that is
#
# What fuzz/coverage-ignorelist.txt lists (the per-piece loops, the oracle, the checkers and
# the harness) is built without coverage instrumentation when $CC accepts
# -fsanitize-coverage-ignorelist, and the library without comparison tracing when $CC
# accepts -fno-sanitize-coverage=trace-cmp, unless GMEMSIM_FUZZ_TRACE_CMP=1
# (docs/FUZZING.md, "What the fuzz builds leave out of coverage").
#
# For each target t it writes $OUT/fuzz-<t> (libgmemsim linked whole and static: modules
# register from constructors; glib and libpcre2 static where their archives exist, as the
# services' runner images lack them; libunwind and liblzma copied into $OUT/lib),
# $OUT/fuzz-<t>.dict (fuzz/<t>.dict), $OUT/fuzz-<t>.options (libFuzzer's max_len: 390 for
# fuzz-ops*, the bytes they decode), and $OUT/fuzz-<t>_seed_corpus.zip (fuzz/corpus/<t>/)
# when zip is installed; without zip it says so and writes no archive.
# fuzz/check-build.sh runs this script locally with these variables (test fuzz-build).

src=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:?} ${CXX:?} ${CFLAGS?} ${CXXFLAGS?} ${LIB_FUZZING_ENGINE:?} ${OUT:?} ${WORK:?}"
: "${SRC:=$(dirname "$src")}"
build=$WORK/gmemsim-build
mkdir -p "$OUT" "$WORK"

# Whether $CC takes these flags on top of the service's.
takes() {
	# shellcheck disable=SC2086 # the flags are lists
	echo 'int main(void) { return 0; }' | $CC $CFLAGS "$@" -x c -c -o /dev/null - 2>/dev/null
}

# The per-piece loops, the judges and the harness out of the coverage instrumentation
# (fuzz/coverage-ignorelist.txt, docs/FUZZING.md): added to the service's flags when its
# compiler takes the option (clang 13 and later; gcc and older clang build without it).
ignorelist=$src/fuzz/coverage-ignorelist.txt
if takes -fsanitize-coverage-ignorelist="$ignorelist"; then
	CFLAGS="$CFLAGS -fsanitize-coverage-ignorelist=$ignorelist"
	echo "build.sh: coverage ignorelist $ignorelist"
fi
# AFL++'s compilers (afl-clang-fast) instrument with a pass of their own, which does not
# read clang's list but takes the same file as AFL_LLVM_DENYLIST; a campaign that sets its
# own AFL_LLVM_DENYLIST or AFL_LLVM_ALLOWLIST keeps it. Other compilers ignore the variable.
if [ -z "${AFL_LLVM_DENYLIST:-}${AFL_LLVM_ALLOWLIST:-}" ]; then
	export AFL_LLVM_DENYLIST=$ignorelist
	case $(basename "${CC%% *}") in
	afl-*) echo "build.sh: AFL++ denylist $ignorelist" ;;
	esac
fi
# The library without comparison tracing: measured to reach the same kernel-model coverage
# per execution in less time, the structured format's bytes being reduced modulo their
# ranges before any comparison sees them. The fuzz targets' own files keep the service's
# flags. GMEMSIM_FUZZ_TRACE_CMP=1 keeps it in the library too.
libcflags=$CFLAGS
if [ "${GMEMSIM_FUZZ_TRACE_CMP:-0}" != 1 ] && takes -fno-sanitize-coverage=trace-cmp; then
	libcflags="$CFLAGS -fno-sanitize-coverage=trace-cmp"
	echo "build.sh: library built without comparison tracing (GMEMSIM_FUZZ_TRACE_CMP=1 keeps it)"
fi

# The library with the service's flags (instrumented for coverage and the sanitizer), no
# tests; the system allocator, as sanitizers need. Warnings are not errors here: the
# service's flags are not the ones CI builds with. meson reads CC and CFLAGS only when it
# sets a directory up, and no build step depends on the ignorelist's text: a build made
# with other flags or another list is started afresh.
flags="$CC $libcflags $(cksum <"$ignorelist") ${AFL_LLVM_DENYLIST:-}${AFL_LLVM_ALLOWLIST:-}"
[ ! -d "$build" ] || [ "$(cat "$build/gmemsim-flags" 2>/dev/null)" = "$flags" ] || rm -rf "$build"
setup=(setup)
[ -f "$build/build.ninja" ] && setup=(setup --reconfigure)
CC="$CC" CFLAGS="$libcflags" LDFLAGS="$libcflags" meson "${setup[@]}" "$build" "$src" \
	--buildtype=plain -Dallocator=system -Dtests=false -Dfuzzer=none \
	-Db_lundef=false -Dwerror=false >"$WORK/meson-setup.log" ||
	{ cat "$WORK/meson-setup.log"; exit 1; }
echo "$flags" >"$build/gmemsim-flags"
ninja -C "$build" lib/libgmemsim.a >"$WORK/ninja.log" || { cat "$WORK/ninja.log"; exit 1; }

# Static where the archive exists: the runner image has no glib. libunwind.a is not built
# for PIE on Debian: it and liblzma are linked shared, copied into $OUT/lib and found there
# through the binary's rpath ($ORIGIN/lib).
libs=()
for l in glib-2.0 pcre2-8; do
	for d in $(pkg-config --variable=libdir glib-2.0) /usr/lib/x86_64-linux-gnu /usr/lib; do
		if [ -f "$d/lib$l.a" ]; then
			libs+=("$d/lib$l.a")
			continue 2
		fi
	done
	libs+=("-l$l")
done
libs+=(-lunwind -llzma -Wl,--disable-new-dtags,-rpath,'$ORIGIN/lib')

for f in "$src"/fuzz/fuzz-*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz-}
	# shellcheck disable=SC2086 # the flags are lists
	$CC $CFLAGS -I"$src/include" -c "$f" -o "$WORK/fuzz-$t.o"
	# shellcheck disable=SC2086
	$CXX $CXXFLAGS "$WORK/fuzz-$t.o" -Wl,--whole-archive "$build/lib/libgmemsim.a" \
		-Wl,--no-whole-archive $LIB_FUZZING_ENGINE "${libs[@]}" -ldl -lm -pthread \
		-o "$OUT/fuzz-$t"
	mkdir -p "$OUT/lib"
	ldd "$OUT/fuzz-$t" | awk '/lib(unwind|lzma)/ { print $3 }' | while read -r so; do
		# A second build finds them in $OUT/lib already, through the rpath.
		[ "$(dirname "$so")" -ef "$OUT/lib" ] || cp -L "$so" "$OUT/lib/"
	done
	[ -f "$src/fuzz/$t.dict" ] && cp "$src/fuzz/$t.dict" "$OUT/fuzz-$t.dict"
	# fuzz-ops decodes 64 operations (gs_fuzz_exec()'s default): bytes past the header and
	# those 6 x 64 change nothing, and a mutation there would be an execution wasted.
	max_len=4096
	[[ $t != ops* ]] || max_len=$((6 + 6 * 64))
	printf '[libfuzzer]\nmax_len = %s\n' "$max_len" >"$OUT/fuzz-$t.options"
	if [ -d "$src/fuzz/corpus/$t" ]; then
		if command -v zip >/dev/null; then
			rm -f "$OUT/fuzz-${t}_seed_corpus.zip"
			(cd "$src/fuzz/corpus/$t" && zip -q -r "$OUT/fuzz-${t}_seed_corpus.zip" .)
		else
			echo "build.sh: zip not installed: no fuzz-${t}_seed_corpus.zip in \$OUT" >&2
		fi
	fi
	echo "build.sh: fuzz-$t built into $OUT"
done
