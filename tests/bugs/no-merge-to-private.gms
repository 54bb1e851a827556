# SPDX-License-Identifier: MIT
# Planted bug no-merge-to-private (TEST-ONLY, docs/ORACLE.md "Planted bugs").
# Source: spec P25/P37 (to private merges a huge page back once none of it
# is shared; HVO re-optimized) and P41 ("no merge on to private", reported
# against the WIP branch). A huge page split by a to-shared conversion of
# one page is all private again after the conversion back.
# Passes as is; `gmemsim run --oracle --plant no-merge-to-private` fails at
# the second convert (index 0: folio order 0, oracle 9: P25 predicts one
# folio again) and at the getpfn (max_order 0, expected 9).

hugetlb pool size=2M nr=2
vm s type=sw_protected
gmem h vm=s size=4M flags=hugetlb page=2M
falloc h off=0 len=2M
convert h off=0 len=4K to=shared               => folios=512 huge_folios=0
convert h off=0 len=4K to=private
getpfn h off=0
check
close h
