# SPDX-License-Identifier: MIT
# The rfc-v2 conversion ordering (issue 11 §4, spec P20; docs/CONVERSION.md
# "Orderings"): a work list of the sub-ranges that differ, each stored exactly
# (mtree_store_range()), and on a failed store the items applied before it
# undone newest first. The reviewed rollback loop steps back before it looks,
# so a failure at the FIRST item steps below the start (the kernel would read
# out of bounds and keep walking); gmemsim WARNs "rfc-v2 rollback: work index
# -1 below the first item", counts rollback_oob and ends the loop. That WARN is
# the profile's own design: expect-warns 1 accounts for it. The same sequence
# under planned fails cleanly with no WARN.
#
# The simulated maple tree allocates only when a store splits a full leaf (at
# the 16th range here), so the two failing rfc-v2 lines below are the only
# ones whose stores allocate, each failed by the scenario's own `inject` (the
# fail-nth runner skips a line while such a rule can fire). Every other
# rfc-v2 line's stores fit, so under --fail-nth only its work-list allocation
# fails: ENOMEM, nothing changed, no WARN. An rfc-v2 line whose first store
# allocated would be a fail-nth finding (the rollback's WARN): by design.

# --- P20's checks where they differ from v8 ---
vm r type=sw_protected conversion=rfc-v2                   => 0
gmem a vm=r size=16K flags=mmap|init_shared                => 0
# size 0 is a no-op success (v8: EINVAL), at any offset
convert a off=0 len=0 to=private                           => 0
convert a off=64K len=0 to=private                         => 0
# a stale error_offset is EINVAL (v8 ignores it)
convert a off=0 len=4K to=private error_offset=0x1234      => EINVAL error_offset=0x1234
# shared with v8: alignment, i_size
convert a off=0x800 len=4K to=private                      => EINVAL
convert a off=12K len=8K to=private                        => EINVAL
# only what differs is work: [4K, 8K) and [12K, 16K) of [0, 16K)
convert a off=0 len=4K to=private                          => 0
convert a off=8K len=4K to=private                         => 0
convert a off=0 len=16K to=private                         => 0
convert a off=0 len=16K to=shared                          => 0
close a

# --- 15 ranges: 0 S, 1 P, ..., 13 P, [14, 32) S (one more fills the leaf) ---
gmem g vm=r size=128K flags=mmap|init_shared               => 0
mmap g
write g off=0 len=128K byte=0x11                           => 0
convert g off=4K len=4K to=private                         => 0
convert g off=12K len=4K to=private                        => 0
convert g off=20K len=4K to=private                        => 0
convert g off=28K len=4K to=private                        => 0
convert g off=36K len=4K to=private                        => 0
convert g off=44K len=4K to=private                        => 0
convert g off=52K len=4K to=private                        => 0
check

# a failure at a later item: items [12] and [14, 20); the second splits
# [14, 32) and its store fails; the first is rolled back, nothing changed
inject site=maple.prealloc nth=1
convert g off=48K len=32K to=private                       => ENOMEM error_offset=0xe000
inject off
expect-warns 0
read g off=48K len=4K                                      => 0 data=0x11 uniform=1
read g off=56K len=24K                                     => 0 data=0x11 uniform=1
check

# a failure at the first (only) item: the rollback loop steps below it
inject site=maple.prealloc nth=1
convert g off=88K len=4K to=private                        => ENOMEM error_offset=0x16000
inject off
expect-warns 1
read g off=88K len=4K                                      => 0 data=0x11 uniform=1
check
munmap g
close g

# --- the same under planned: ENOMEM or success, never a WARN ---
vm p type=sw_protected conversion=planned                  => 0
gmem h vm=p size=128K flags=mmap|init_shared               => 0
convert h off=4K len=4K to=private                         => 0
convert h off=12K len=4K to=private                        => 0
convert h off=20K len=4K to=private                        => 0
convert h off=28K len=4K to=private                        => 0
convert h off=36K len=4K to=private                        => 0
convert h off=44K len=4K to=private                        => 0
convert h off=52K len=4K to=private                        => 0
inject site=maple.prealloc nth=1
convert h off=88K len=4K to=private                        => ENOMEM error_offset=0x16000
inject off
expect-warns 0
convert h off=88K len=4K to=private                        => 0
check
close h
