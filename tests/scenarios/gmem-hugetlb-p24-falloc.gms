# SPDX-License-Identifier: MIT
# Spec P24 (fallocate on HugeTLB, RFC v2 33/51, st_blocks test 51/51) against
# the WIP rule the simulator follows (P32, spec §4.4).
#
# RFC v2 checked only 4 KiB alignment and rounded the allocation range's start
# and end DOWN to huge pages: fallocate(0, 4K) on a 2 MiB file returned 0 and
# allocated nothing, and a punch of part of a huge page returned 0 and only
# zeroed those subpages (st_blocks unchanged). The simulator does not implement
# that rounding: it answers as the WIP branch does (and as Ackerley stated the
# direction, 2025-11-07), EINVAL for any range not aligned to the huge page,
# with nothing allocated, freed or zeroed. Each line below is an RFC v2
# operation with the simulator's (WIP) answer; the RFC v2 answer is in the
# comment.

hugetlb pool size=2M nr=2                               => nr=2 free=2
gmem g size=4M flags=hugetlb page=2M                    => 0 blocks=0
# RFC v2: 0, nothing allocated
falloc g off=0 len=4K                                   => EINVAL blocks=0
# RFC v2: 0, allocates [0, 2M) only (the end rounds down from 2M + 4K)
falloc g off=0 len=0x201000                             => EINVAL blocks=0
# RFC v2: 0, nothing allocated (the start rounds down to 0, the end to 0 too)
falloc g off=4K len=4K                                  => EINVAL blocks=0
gmem-usage g                                            => folios_2m=0 spool_used=0
# aligned: the same in both
falloc g off=0 len=4M                                   => 0 blocks=8192
# RFC v2: 0, the 4 KiB subpage zeroed, st_blocks unchanged
punch g off=4K len=4K                                   => EINVAL blocks=8192
# RFC v2: 0, [2M, 4M) removed, the head [1M, 2M) zeroed only
punch g off=1M len=3M                                   => EINVAL blocks=8192
gmem-usage g                                            => folios_2m=2
# aligned: fully covered huge pages are removed in both
punch g off=2M len=2M                                   => 0 blocks=4096
gmem-usage g                                            => folios_2m=1 spool_used=1
close g
hugetlb stat size=2M                                    => nr=2 free=2 resv=0
check                                                   => 0 violations=0
