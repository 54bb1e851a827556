# SPDX-License-Identifier: MIT
# Punch hole over split HugeTLB pages (spec P36; P26's test_truncate_shared_while_pinned):
# a huge page split to 4 KiB by a conversion to shared (gsplit stands for it until the
# HugeTLB conversion is wired) merges back and goes to its subpool when punched; while a
# piece is pinned the punch is EAGAIN and nothing changes (the host mapping, the guest
# leaves, the split page, the pool), also for a huge page in the range that could merge.
# Accounting at every step: pool, cgroup, HVO, stage-2 leaves by level, the file's folios
# by order and its subpool (gmem-usage).

hugetlb pool size=2M nr=2                          => nr=2 free=2 resv=0
cgroup g enter                                     => usage=0 rsvd=0
vm v type=sw_protected
gmem h vm=v size=4M flags=mmap|hugetlb page=2M     => 0 blocks=0
hugetlb stat size=2M                               => nr=2 free=2 resv=2
falloc h off=0 len=4M                              => 0 blocks=8192
hugetlb stat size=2M                               => nr=2 free=0 resv=0
cgroup g                                           => usage=2 rsvd=2
gmem-usage h                                       => folios_4k=0 folios_2m=2 pieces=0 spool_used=2 spool_rsv=0
memslot v slot=1 gpa=4G size=4M gmem=h             => 0
# the second huge page, private and whole: one 2M leaf
gfault v gpa=0x100200000 private=1                 => 0 level=2
stage2 v                                           => leaves_4k=0 leaves_2m=1

# the first: its page at 8K shared (split to 4 KiB, HVO undone), mapped, pinned;
# a private piece of it mapped by the guest with a 4K leaf
gsplit h off=8K shared                             => 0 pieces=512
hvo                                                => freed=7 restored=7
mmap h
fault h off=8K                                     => 0
gfault v gpa=0x100003000 private=1                 => 0 level=1
stage2 v                                           => leaves_4k=1 leaves_2m=1
pin h off=8K                                       => 0
gmem-usage h                                       => folios_4k=512 folios_2m=1 pieces=512 spool_used=2
check                                              => 0 violations=0

# P36: a pinned piece: EAGAIN, checked before anything is unmapped
punch h off=0 len=4M                               => EAGAIN blocks=8192
punch h off=0 len=2M                               => EAGAIN blocks=8192
stage2 v                                           => leaves_4k=1 leaves_2m=1
hugetlb stat size=2M                               => nr=2 free=0 resv=0
hvo                                                => freed=7 restored=7
gmem-usage h                                       => folios_4k=512 folios_2m=1 pieces=512 spool_used=2
check                                              => 0 violations=0

# unpinned: the page merges (HVO redone) and goes back to the subpool at once
unpin h off=8K
punch h off=0 len=2M                               => 0 blocks=4096
stage2 v                                           => leaves_4k=0 leaves_2m=1
hugetlb stat size=2M                               => nr=2 free=1 resv=1
hvo                                                => freed=14 restored=0
cgroup g                                           => usage=1 rsvd=2
gmem-usage h                                       => folios_4k=0 folios_2m=1 pieces=0 spool_used=1 spool_rsv=1
run-deferred                                       => merged=0 queued=0 waiting=0
check                                              => 0 violations=0

# a split page mapped by the host but not pinned: the punch unmaps it and merges it
gsplit h off=0x201000 shared                       => 0 pieces=512
fault h off=0x201000                               => 0
punch h off=2M len=2M                              => 0 blocks=0
stage2 v                                           => leaves_4k=0 leaves_2m=0
hugetlb stat size=2M                               => nr=2 free=2 resv=2
cgroup g                                           => usage=0 rsvd=2
gmem-usage h                                       => folios_4k=0 folios_2m=0 pieces=0 spool_used=0 spool_rsv=2
hvo                                                => freed=14 restored=0
run-deferred                                       => merged=0 queued=0 waiting=0
check                                              => 0 violations=0

munmap h
close h
hugetlb stat size=2M                               => nr=2 free=2 resv=0
cgroup g                                           => usage=0 rsvd=0
cgroup root enter
check                                              => 0 violations=0
expect-warns 0
