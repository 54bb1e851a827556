#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# HVO's resident host mode (gs_hvo_set_resident(), docs/FIDELITY.md) changes host calls
# and host memory only: `gmemsim fuzz` in it (its default) and with --hvo-host release
# (HVO giving freed vmemmap back, as outside fuzzing) must print the same sequences,
# operations, failures and signatures, and save the same failing inputs, with and
# without a planted bug that the fuzzer finds.
#
# usage: tests/check-hvo-host.sh GMEMSIM [SCRATCH]
set -euo pipefail

gmemsim=$1
scratch=${2:-$(mktemp -d)}
rm -rf "$scratch"
mkdir -p "$scratch"

fail() {
	echo "hvo-host: $*" >&2
	exit 1
}

# The progress lines and the time to the first failure are the only things allowed to differ.
norm() {
	grep -v 'execs/s' "$1" | sed -e "s|$scratch/[a-z]*-[0-9]*|DIR|" -e 's/after [0-9.]* s/after T s/'
}

run=0
check() {
	run=$((run + 1))
	"$gmemsim" fuzz "$@" -o "$scratch/resident-$run" >"$scratch/resident-$run.out" 2>&1 || true
	"$gmemsim" fuzz "$@" --hvo-host release -o "$scratch/release-$run" \
		>"$scratch/release-$run.out" 2>&1 || true
	grep -q 'sequences,' "$scratch/resident-$run.out" || fail "fuzz $*: no summary"
	diff <(norm "$scratch/resident-$run.out") <(norm "$scratch/release-$run.out") ||
		fail "fuzz $*: the two host modes print different results"
	diff -r "$scratch/resident-$run" "$scratch/release-$run" ||
		fail "fuzz $*: the two host modes saved different inputs"
}

check --seed 7 --runs 300 --backing 2m
check --seed 7 --runs 40 --backing 1g
if "$gmemsim" verbs | grep '^plant ' >/dev/null; then
	check --seed 7 --runs 300 --backing 2m --plant stale-attribute --check-every 4
	grep -q ' [1-9][0-9]* failing' "$scratch/resident-$run.out" ||
		fail "the planted bug was not found"
fi
"$gmemsim" fuzz --seed 1 --runs 1 --hvo-host nope >/dev/null 2>&1 &&
	fail "--hvo-host nope was accepted"
echo "hvo-host: $run campaigns, same results in both HVO host modes"
