# SPDX-License-Identifier: MIT
# Two allocations of the same file index race while the subpool's reservation
# is exactly used up. Each allocates before either inserts (hpage), then both
# insert (hpage-add). guest_memfd: the loser gets ENOMEM. hugetlbfs: the loser
# takes a surplus page, finds the index filled, frees its page and uses the
# winner's.

hugetlb pool size=2M nr=2 overcommit=1

# guest_memfd rules: max = min = 2, no surplus.
subpool g size=2M max=2 gmem
hpage g0 spool=g index=0                        => used=1 rsv=1
hpage win spool=g                               => free=0 resv=0 used=2 rsv=0
hpage lose spool=g                              => ENOMEM free=0 resv=0 surplus=0 used=2
hpage-add win index=1                           => lost=0
hpage-put win
hpage-put g0                                    => free=2 resv=2
subpool-put g                                   => free=2 resv=0

# hugetlbfs rules: size=3, min_size=2; index 0 and 1 use the reservation.
subpool fs size=2M max=3 min=2
hpage f0 spool=fs index=0                       => used=1 rsv=1
hpage win spool=fs                              => nr=2 free=0 resv=0 surplus=0 used=2 rsv=0
hpage lose spool=fs                             => nr=3 free=0 resv=0 surplus=1 used=3 rsv=0
hpage-add win index=1                           => lost=0
hpage-add lose index=1                          => lost=1 nr=2 free=0 resv=0 surplus=0 used=2
cgroup root                                     => usage=2 rsvd=0
check                                           => 0 violations=0
hpage-put lose
hpage-put win                                   => free=1 resv=1
hpage-put f0                                    => free=2 resv=2
subpool-put fs                                  => free=2 resv=0
check                                           => 0 violations=0
expect-warns 0
