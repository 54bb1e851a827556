# SPDX-License-Identifier: MIT
# The pool and cgroup counters of a one-page HugeTLB guest_memfd (spec P22, the
# RFC's guest_memfd_hugetlb_reporting_test): create reserves, fallocate consumes
# the reservation, punching the page gives it back, close returns to baseline.
# Surplus and overcommit never move.

hugetlb pool size=2M nr=2 overcommit=1          => nr=2 free=2 resv=0 surplus=0 overcommit=1
cgroup vm
cgroup vm enter                                 => usage=0 rsvd=0

# create: max = min = 1 huge page, reserved at once and charged to rsvd
subpool g size=2M max=1 gmem                    => nr=2 free=2 resv=1 surplus=0 used=0 rsv=1
cgroup vm                                       => usage=0 rsvd=1

# fallocate: the reserved page is taken
hpage p spool=g index=0                         => nr=2 free=1 resv=0 surplus=0 used=1 rsv=0 lost=0
cgroup vm                                       => usage=1 rsvd=1

# punch hole: back to reserved
hpage-put p                                     => nr=2 free=2 resv=1 surplus=0
subpool g                                       => used=0 rsv=1
cgroup vm                                       => usage=0 rsvd=1

# close: baseline
subpool-put g                                   => nr=2 free=2 resv=0 surplus=0
cgroup vm                                       => usage=0 rsvd=0
hugetlb stat size=2M                            => nr=2 free=2 resv=0 surplus=0 overcommit=1

# A file larger than the unreserved free pages cannot be created, overcommit or not.
subpool big size=2M max=3 gmem                  => ENOMEM nr=2 free=2 resv=0 surplus=0

# The file is reserved in one cgroup; a task in another faults the page in.
cgroup other
subpool f size=2M max=2 gmem                    => resv=2
hpage q spool=f index=0 cgroup=other            => free=1 resv=1
cgroup vm                                       => usage=0 rsvd=2
cgroup other                                    => usage=1 rsvd=0
hpage-put q
subpool-put f                                   => free=2 resv=0
# The same lifecycle with a 1 GiB page.
hugetlb pool size=1G nr=1                       => nr=1 free=1 resv=0 surplus=0
subpool g1 size=1G max=1 gmem                   => free=1 resv=1 used=0 rsv=1
hpage p1 spool=g1 index=0                       => free=0 resv=0 used=1 rsv=0
cgroup vm size=1G                               => usage=1 rsvd=1
hpage-put p1                                    => free=1 resv=1
subpool-put g1                                  => free=1 resv=0
cgroup vm size=1G                               => usage=0 rsvd=0
check                                           => 0 violations=0
expect-warns 0
