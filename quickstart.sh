#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The quick-start commands of gmemsim (see README.md):
#   ./quickstart.sh demo   install what is missing, build, run `gmemsim demo`
#   ./quickstart.sh render install what is missing, build, write render-conversion.html
#   ./quickstart.sh test   install what is missing, build, run every test suite:
#                          default build (jemalloc), release build (-O3), the XArray
#                          suites with xa_chunk_shift=2, ASan+UBSan build, valgrind
#                          memcheck; then the documented libFuzzer recipe
#                          (docs/TESTING.md), bounded to a few thousand inputs
# Works on a fresh Debian 12 machine as root (apt-get installs the build dependencies).
set -euo pipefail

cd "$(dirname "$0")"
top=$PWD

packages=(meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev check libsubunit-dev
	  libjemalloc-dev libunwind-dev valgrind)
# `test` also runs the fuzz build recipes, which need clang and its libFuzzer runtime, and
# the AFL++ persistent-mode recipe (afl++, unzip for its seed corpus); the `browser` suite
# drives headless Chromium and Firefox (firefox-esr, over its own Marionette protocol: Debian
# has no geckodriver) (docs/RENDERING.md); the `peer` suite compiles the kernel's own tests
# from Debian's Linux source (docs/FIDELITY.md).
test_packages=(clang libclang-rt-14-dev afl++ unzip zip chromium chromium-driver fonts-liberation
	       firefox-esr linux-source-6.12)

log() { printf '==> %s\n' "$*"; }

# install_deps [extra packages...]
install_deps() {
	local missing=() p
	for p in "${packages[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing packages (${missing[*]}); run as root or install them" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure DIR [meson options...]: set up a build directory once, then just build it.
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		log "configuring $dir $*"
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
		rm -f "$dir.setup.log"
	fi
	log "building $dir"
	ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

passed=0
failed=0
skipped=0

# run_suites DIR LABEL [meson test options...]: run, then surface Check's summaries
# and the peer suite's kernel check counts.
run_suites() {
	local dir=$1 label=$2 rc=0 log
	shift 2
	log "testing: $label"
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || rc=$?
	log=$(ls -t "$dir"/meson-logs/testlog*.txt | head -n 1)
	# Also the peer suite's counts: the kernel's checks run and failed per test file.
	awk -v label="$label" '/^test:/ { name = $NF }
		/^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ ||
		/^kernel checks: [0-9]+ run, [0-9]+ failed/ || / compiled and run, [0-9]+ disabled/ ||
		/^kselftest: [0-9]+ of [0-9]+ checks passed/ || /^expected failures: / {
			printf "[%s] %s: %s\n", label, name, $0 }' "$log"
	local ok fail skip
	ok=$(awk '/^Ok:/ { print $2 }' "$log" | tail -n 1)
	fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ { s += $NF } END { print s + 0 }' "$log")
	skip=$(awk '/^Skipped:/ { print $2 }' "$log" | tail -n 1)
	passed=$((passed + ${ok:-0}))
	skipped=$((skipped + ${skip:-0}))
	failed=$((failed + ${fail:-0}))
	# A failure meson did not count as a test (a build error, say) still fails the run.
	[ "$rc" -eq 0 ] || [ "${fail:-0}" -gt 0 ] || failed=$((failed + 1))
}

cmd_demo() {
	install_deps
	build build
	exec ./build/tools/gmemsim demo
}

# A conversion, rendered as an offline HTML page to step through (docs/RENDERING.md).
cmd_render() {
	install_deps
	build build
	./build/tools/gmemsim render examples/render-conversion.gms -o render-conversion.html
	echo "open file://$top/render-conversion.html (arrow keys step; docs/RENDERING.md)"
}

# run_recipe LABEL COMMAND...: one more test, exit status as meson reads it (77: skip).
run_recipe() {
	local label=$1 rc=0
	shift
	log "testing: $label"
	"$@" || rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
}

cmd_test() {
	install_deps "${test_packages[@]}"
	build build
	run_suites build "default (allocator=jemalloc)"
	build build-release --buildtype=release
	# (suite recipes builds its own fuzz binaries from the source: once, in the default build)
	run_suites build-release "release (-O3, allocator=jemalloc)" --no-suite recipes
	# docs/XARRAY.md: the XArray suites with 4-slot nodes, so small trees have many levels.
	build build-xa-shift2 -Dxa_chunk_shift=2
	run_suites build-xa-shift2 "xarray, 4-slot nodes (xa_chunk_shift=2)" xarray xarray-diff kernel-test-xarray \
		kernel-test-multiorder kernel-test-tag-check kernel-test-regression2
	build build-asan -Dallocator=system -Db_sanitize=address,undefined -Db_lundef=false
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suites build-asan "asan+ubsan (allocator=system)" --no-suite recipes
	build build-vg -Dallocator=system
	run_suites build-vg "valgrind memcheck (allocator=system)" --setup=valgrind --suite unit
	run_recipe "fuzz build recipe (clang, libFuzzer)" fuzz/check-recipe.sh "$top" build-fuzz
	GS_RECIPE_DOC=docs/FUZZING.md GS_RECIPE_HEADING='**libFuzzer**' \
		run_recipe "fuzz-ops recipe (clang, libFuzzer)" fuzz/check-recipe.sh "$top" build-fuzz
	# README's other quick-start commands, as a newcomer runs them (the build is there now).
	run_recipe "README: ./quickstart.sh demo" bash -c './quickstart.sh demo >/dev/null'
	run_recipe "README: ./quickstart.sh render" bash -c \
		'rm -f render-conversion.html && ./quickstart.sh render >/dev/null &&
		 grep -q "<section class=\"step\"" render-conversion.html && rm -f render-conversion.html'
	# docs/PERFORMANCE.md: every benchmark once (GS_BENCH_QUICK=1) and its callgrind recipe.
	run_recipe "benchmarks (quick) and callgrind recipe" bench/check-recipe.sh "$top" build
	echo
	echo "test: $passed passed, $skipped skipped, $failed failed"
	[ "$failed" -eq 0 ]
}

case "${1:-}" in
demo) cmd_demo ;;
render) cmd_render ;;
test) cmd_test ;;
*)
	echo "usage: $0 demo|render|test" >&2
	exit 2
	;;
esac
