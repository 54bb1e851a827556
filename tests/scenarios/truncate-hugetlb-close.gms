# SPDX-License-Identifier: MIT
# Close with pinned pieces (spec P27; the RFC's test_close_with_pinning), for 2 MiB and
# 1 GiB files: the close succeeds; eviction truncates every piece (require_merge off, P36),
# the unpinned ones wait for their page, the pinned one lives on; when the pin goes the
# page is queued, and only the deferred worker (run-deferred) merges it and gives it back:
# pool, subpool reservation and cgroup counters as before the file existed.

hugetlb pool size=2M nr=1                          => nr=1 free=1 resv=0
cgroup g enter                                     => usage=0 rsvd=0
vm v type=sw_protected
gmem h vm=v size=2M flags=mmap|hugetlb page=2M     => 0
falloc h off=0 len=2M                              => 0 blocks=4096
hugetlb stat size=2M                               => nr=1 free=0 resv=0
gsplit h off=12K shared                            => 0 pieces=512
gmem-usage h                                       => folios_4k=512 folios_2m=0 pieces=512 spool_used=1 spool_rsv=0
mmap h
pin h off=12K                                      => 0
munmap h
# the mapping held the file: this is the last reference, the inode is evicted
close h
hugetlb stat size=2M                               => nr=1 free=0 resv=0
cgroup g                                           => usage=1 rsvd=1
check                                              => 0 violations=0
run-deferred                                       => merged=0 queued=0 waiting=511
unpin h off=12K
hugetlb stat size=2M                               => nr=1 free=0 resv=0
check                                              => 0 violations=0
run-deferred                                       => merged=1 queued=0 waiting=0
hugetlb stat size=2M                               => nr=1 free=1 resv=0
cgroup g                                           => usage=0 rsvd=0
hvo                                                => freed=7 restored=0
check                                              => 0 violations=0

# closed with every piece free: eviction merges the page itself, no deferred work
gmem k vm=v size=2M flags=mmap|hugetlb page=2M     => 0
falloc k off=0 len=2M                              => 0 blocks=4096
gsplit k off=0 shared                              => 0 pieces=512
mmap k
fault k off=0                                      => 0
close k
munmap k
hugetlb stat size=2M                               => nr=1 free=1 resv=0
run-deferred                                       => merged=0 queued=0 waiting=0

# 1 GiB: the same with 262,144 pieces
hugetlb pool size=1G nr=1                          => nr=1 free=1 resv=0
gmem b vm=v size=1G flags=mmap|hugetlb page=1G     => 0
falloc b off=0 len=1G                              => 0 blocks=2097152
gsplit b off=0x3000 shared                         => 0 pieces=262144
gmem-usage b                                       => folios_4k=262144 folios_1g=0 pieces=262144 spool_used=1
mmap b len=2M
pin b off=0x3000                                   => 0
close b
munmap b
hugetlb stat size=1G                               => nr=1 free=0 resv=0
cgroup g size=1G                                   => usage=1 rsvd=1
run-deferred                                       => merged=0 queued=0 waiting=262143
unpin b off=0x3000
run-deferred                                       => merged=1 queued=0 waiting=0
hugetlb stat size=1G                               => nr=1 free=1 resv=0
cgroup g size=1G                                   => usage=0 rsvd=0
hvo                                                => freed=4102 restored=0
check                                              => 0 violations=0

cgroup root enter
expect-warns 0
