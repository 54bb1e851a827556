#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A long `gmemsim fuzz` campaign run in parts (issue 12: 10^8 executions under
# ASan+UBSan, recorded as totals): one part per seed, each with the oracle, every
# finding saved and reduced. A finding whose signature is a listed, planted bug
# (the rfc-v2 ordering's rollback WARN) is counted and allowed; any other fails
# the campaign. Appends one line per part to LOG, so parts run on different
# days or machines add up (docs/FUZZING.md, "The long campaign").
#
# usage: fuzz/campaign.sh GMEMSIM LOG FIRST_SEED LAST_SEED RUNS [BACKING...]
#   GMEMSIM  the gmemsim binary (an ASan+UBSan build for the recorded campaign)
#   LOG      the totals file (one line per part)
#   RUNS     sequences per seed and backing
#   BACKING  4k 2m 1g (default: 4k 2m)
# GS_CAMPAIGN_ARGS: more `gmemsim fuzz` options (the test plants a bug with it to prove
# that an unlisted finding fails the campaign)
# GS_CAMPAIGN_DONE: more totals files (space-separated) whose parts count as run.
# A seed and backing already in LOG or in those files is skipped: the sequences are a
# function of the seed, so running them again adds executions but no new input.
set -euo pipefail

if [ $# -lt 5 ]; then
	sed -n '/^# usage/,/^set/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
fi
gmemsim=$1 log=$2 first=$3 last=$4 runs=$5
shift 5
backings=("$@")
[ ${#backings[@]} -gt 0 ] || backings=(4k 2m)
# The signatures of listed, planted bugs a mixed-ordering campaign is meant to find.
allowed='^WARN: gmem_convert.c rfc_rollback: '
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bad=0

for ((seed = first; seed <= last; seed++)); do
	for b in "${backings[@]}"; do
		# shellcheck disable=SC2086
		if grep -qs -- " seed=$seed backing=$b " "$log" ${GS_CAMPAIGN_DONE:-}; then
			echo "campaign: seed $seed $b: already recorded, skipped" >&2
			continue
		fi
		dir=$out/$b-$seed
		t0=$(date +%s)
		st=0
		# shellcheck disable=SC2086
		"$gmemsim" fuzz --seed "$seed" --runs "$runs" --backing "$b" -o "$dir" --reduce ${GS_CAMPAIGN_ARGS:-} \
			>"$out/stdout" 2>"$out/stderr" || st=$?
		if [ "$st" -gt 1 ]; then
			cat "$out/stderr" >&2
			echo "campaign: seed $seed $b: gmemsim fuzz exited $st" >&2
			exit 1
		fi
		failing=$(sed -n 's/.* \([0-9]*\) failing.*/\1/p' "$out/stdout" | tail -1)
		unknown=0
		for f in "$dir"/*.min.gms; do
			[ -e "$f" ] || continue
			sig=$(head -1 "$f" | sed 's/^# gmemsim reduce: //')
			if ! grep -Eq "$allowed" <<<"$sig"; then
				echo "campaign: seed $seed $b: NEW FINDING: $sig ($f)" >&2
				cat "$f" >&2
				unknown=$((unknown + 1))
			fi
		done
		line="$(date -u +%FT%TZ) $(basename "$(dirname "$(dirname "$gmemsim")")") seed=$seed backing=$b runs=$runs failing=${failing:-?} unknown=$unknown seconds=$(($(date +%s) - t0))"
		echo "$line" | tee -a "$log"
		bad=$((bad + unknown))
	done
done
awk '{for (i = 1; i <= NF; i++) if ($i ~ /^runs=/) { split($i, a, "="); n += a[2] }
      for (i = 1; i <= NF; i++) if ($i ~ /^unknown=/) { split($i, a, "="); u += a[2] } }
     END { printf "campaign: %s: %d executions recorded in all, %d unknown findings\n", FILENAME, n, u }' "$log"
[ "$bad" -eq 0 ]
