#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# fuzz/campaign.sh runs a seed and backing once: a part already in its log, or in a file
# named by GS_CAMPAIGN_DONE, is skipped and not counted again (its sequences are a
# function of the seed). Session 12 found 6,880,000 of its campaign's executions had
# re-run seeds of earlier sessions; this is the regression test.
#
# usage: fuzz/check-campaign-skips.sh CAMPAIGN_SH GMEMSIM DIR
set -euo pipefail
campaign=$1 gmemsim=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
log=$dir/log.txt done=$dir/done.txt

fail() {
	echo "check-campaign-skips: $*" >&2
	exit 1
}
parts() { grep -c " seed=$1 backing=$2 " "$3" || true; }

"$campaign" "$gmemsim" "$log" 1 1 20 4k 2m >"$dir/out1" 2>&1 || fail "first part failed: $(cat "$dir/out1")"
[ "$(wc -l <"$log")" -eq 2 ] || fail "first part: $(wc -l <"$log") lines, want 2"
# Seeds 1 and 2: seed 1 is in the log (both backings), so only seed 2 runs.
"$campaign" "$gmemsim" "$log" 1 2 20 4k 2m >"$dir/out2" 2>&1 || fail "second part failed: $(cat "$dir/out2")"
grep -q 'campaign: seed 1 4k: already recorded, skipped' "$dir/out2" || fail "seed 1 4k not skipped: $(cat "$dir/out2")"
grep -q 'campaign: seed 1 2m: already recorded, skipped' "$dir/out2" || fail "seed 1 2m not skipped"
[ "$(parts 1 4k "$log")" -eq 1 ] || fail "seed 1 4k recorded twice"
[ "$(parts 2 2m "$log")" -eq 1 ] || fail "seed 2 2m not run"
# An earlier campaign's totals (GS_CAMPAIGN_DONE) count as run too; another backing does not.
echo "2026-12-07T00:00:00Z build-asan seed=3 backing=4k runs=20 failing=0 unknown=0 seconds=0" >"$done"
GS_CAMPAIGN_DONE=$done "$campaign" "$gmemsim" "$log" 3 3 20 4k 2m >"$dir/out3" 2>&1 || fail "third part failed"
grep -q 'campaign: seed 3 4k: already recorded, skipped' "$dir/out3" || fail "seed 3 4k (in GS_CAMPAIGN_DONE) not skipped"
[ "$(parts 3 4k "$log")" -eq 0 ] || fail "seed 3 4k run though recorded elsewhere"
[ "$(parts 3 2m "$log")" -eq 1 ] || fail "seed 3 2m not run"
# A seed is not a prefix of another: seed 1 recorded does not skip seed 10.
"$campaign" "$gmemsim" "$log" 10 10 20 4k >"$dir/out4" 2>&1 || fail "fourth part failed"
[ "$(parts 10 4k "$log")" -eq 1 ] || fail "seed 10 skipped"
echo "check-campaign-skips: ok ($(wc -l <"$log") parts)"
