# SPDX-License-Identifier: MIT
# The deferred merge (P27, P38): pieces of a split huge page freed one by one
# are not given back to HugeTLB; when the last is free the page is queued,
# and only the worker (run-deferred, the kernel's hugetlb_restructuring
# workqueue) merges it, optimizes it again and frees it to its subpool, so
# pool, subpool and cgroup counters are whole again only then.
hugetlb pool size=2M nr=1                          => nr=1 free=1 resv=0
cgroup g enter
subpool f size=2M max=1 gmem                       => resv=1 used=0 rsv=1
hpage p spool=f index=0                            => free=0 resv=0 used=1
hvo                                                => freed=7 restored=0
hsplit p order=0 at=100                            => 0 pieces=512 vmemmap_allocated=7 records=1

# The worker ran before the last piece went: nothing merges.
run-deferred                                       => merged=0 queued=0 waiting=511
# The file lets go of the page while split (close with a pinned piece, P27).
hpage-put p defer                                  => nr=1 free=0
subpool f                                          => used=1
cgroup g                                           => usage=1
# The last piece is queued; the page is still in use until the worker runs.
hugetlb pool size=2M                               => nr=1 free=0 resv=0
check                                              => 0 violations=0
run-deferred                                       => merged=1 queued=0 waiting=0
hugetlb pool size=2M                               => nr=1 free=1 resv=1
subpool f                                          => used=0 rsv=1
cgroup g                                           => usage=0
hvo                                                => freed=7 restored=0
check                                              => 0 violations=0

# A split page put away with every piece free at once: one run merges it.
hpage q spool=f index=0                            => free=0 resv=0 used=1
hsplit q order=0                                   => 0 pieces=512
hpage-put q defer                                  => nr=1 free=0
run-deferred                                       => merged=1 queued=0 waiting=0
hugetlb pool size=2M                               => nr=1 free=1 resv=1

subpool-put f
cgroup root enter
check                                              => 0 violations=0
expect-warns 0
