# SPDX-License-Identifier: MIT
# lib/hugetlb_restructuring.c on a guest_memfd huge page (P28, P38): split to
# 4 KiB undoes HVO and keeps the page's identity (order, subpool, cgroups) by
# pfn; merge puts it back and optimizes it again. Charges and pool counts do
# not move while the page is split: it is still one page in use.
hugetlb pool size=1G nr=1                          => nr=1 free=1 resv=0
cgroup g size=1G enter                             => usage=0 rsvd=0
subpool f size=1G max=1 gmem                       => resv=1 used=0 rsv=1
hpage p spool=f index=0                            => free=0 resv=0 used=1
cgroup g size=1G                                   => usage=1 rsvd=1
hvo                                                => freed=4095 restored=0

# To shared: 4,095 vmemmap pages back, one record; the scenario's reference
# follows page 7, the other 262,143 pieces are free and wait on the queue.
hsplit p order=0 at=7                              => 0 pieces=262144 vmemmap_allocated=4095 records=1
hvo                                                => freed=0 restored=4095
cgroup g size=1G                                   => usage=1 rsvd=1
hugetlb pool size=1G                               => nr=1 free=0 resv=0
check                                              => 0 violations=0
# The worker counts the free pieces; one is still held, so nothing merges.
run-deferred                                       => merged=0 queued=0 waiting=262143
check                                              => 0 violations=0

# To private: merged, optimized again, the record gone, the counts as before.
hmerge p                                           => 0 vmemmap_freed=4095 records=0
run-deferred                                       => merged=0 queued=0 waiting=0
hvo                                                => freed=4095 restored=0
cgroup g size=1G                                   => usage=1 rsvd=1
check                                              => 0 violations=0

# A refused split changes nothing: no order but 0 without keep, and not twice.
hsplit p order=3                                   => EINVAL vmemmap_allocated=0 records=0
hvo                                                => freed=4095 restored=0

hpage-put p                                        => nr=1 free=1 resv=1
subpool-put f
cgroup root enter
cgroup g size=1G                                   => usage=0 rsvd=0
check                                              => 0 violations=0
expect-warns 0
