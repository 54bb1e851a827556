# SPDX-License-Identifier: MIT
# Spec P21 (HugeTLB guest_memfd, RFC v2 29/51, 32/51): creating a HugeTLB file.
# The kernel checks the page size, the size's alignment, then charges the
# hugetlb cgroup's rsvd counter for the whole size and makes a subpool with
# max = min = size / hpsize, which reserves that many pool pages at once: a
# pool without enough free unreserved pages fails the creation with ENOMEM.
# st_blksize is the huge page size.
#
# The simulator follows the WIP branch's encoding (spec P31, §4.3, §4.5;
# docs/GUEST_MEMFD.md, docs/HUGETLB.md), not RFC v2's, and this file shows the
# WIP answers to the same operations. Where RFC v2 answered otherwise:
# - RFC v2 put log2(page size) in flag bits 58..63 (21 = 2 MiB); WIP has a
#   page_order field (`page=2M` or `order=9` here). Those high bits are
#   unknown flags to the simulator: EINVAL. The simulator has no RFC v2 encoding.
# - RFC v2's log 0 meant the default hstate; WIP's order 0 with HUGETLB is EINVAL.
# - RFC v2 allowed its "shared" default with HUGETLB; WIP refuses HUGETLB with
#   INIT_SHARED (EINVAL).
# The rest is common to both: no hstate for the size: EINVAL; size not a
# multiple of it: EINVAL; the reservation at creation (ENOMEM), the rsvd charge,
# st_blksize.

hugetlb pool size=2M nr=2                               => nr=2 free=2 resv=0
cgroup vm
cgroup vm enter                                         => usage=0 rsvd=0

# RFC v2's encoding of HUGETLB | 2 MiB (21 << 58): not this simulator's (EINVAL)
gmem x size=2M flags=hugetlb|0x5400000000000000         => EINVAL
# RFC v2's log 0 = default hstate; WIP: order 0 is refused
gmem x size=2M flags=hugetlb                            => EINVAL
# a page size without HUGETLB (RFC v2: size bits without the flag): EINVAL
gmem x size=2M page=2M                                  => EINVAL
# no hstate of that size (order 10 = 4 MiB)
gmem x size=4M flags=hugetlb order=10                   => EINVAL
# size not a multiple of the huge page
gmem x size=3M flags=hugetlb page=2M                    => EINVAL
# WIP only: HUGETLB with INIT_SHARED (RFC v2 allowed its shared default)
gmem x size=2M flags=mmap|hugetlb|init_shared page=2M   => EINVAL
# nothing was reserved or charged by the failures
hugetlb stat size=2M                                    => nr=2 free=2 resv=0
cgroup vm                                               => usage=0 rsvd=0

# more pages than the pool has free and unreserved: ENOMEM at creation
gmem x size=6M flags=hugetlb page=2M                    => ENOMEM
hugetlb stat size=2M                                    => nr=2 free=2 resv=0
cgroup vm                                               => usage=0 rsvd=0

# success: both pages reserved and charged to rsvd, st_blksize = 2 MiB
gmem h size=4M flags=hugetlb page=2M                    => 0 blksize=2097152 blocks=0
hugetlb stat size=2M                                    => nr=2 free=2 resv=2
cgroup vm                                               => usage=0 rsvd=2
gmem-usage h                                            => spool_used=0 spool_rsv=2
# the pool has no unreserved page left for a second file
gmem y size=2M flags=hugetlb page=2M                    => ENOMEM
close h
hugetlb stat size=2M                                    => nr=2 free=2 resv=0
cgroup vm                                               => usage=0 rsvd=0
check                                                   => 0 violations=0
