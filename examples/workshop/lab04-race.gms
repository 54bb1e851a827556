# SPDX-License-Identifier: MIT
# Workshop lab 4: the allocation race. Two tasks fault the same file index; each
# allocates a huge page before either inserts it (the kernel's hugetlb fault path and
# guest_memfd's allocator take the page, then add it to the page cache). A guest_memfd
# file's subpool has max = min = its size in huge pages and no surplus, so the second
# allocation is over max: ENOMEM, though the winner is about to fill the index anyway.
# hugetlbfs lets the loser take a surplus page and free it. mm/hugetlb.c's
# hugepage_subpool_get_pages(); docs/HUGETLB.md, "The same-index race";
# docs/WORKSHOP.md, lab 4.
note Lab 4: two faults of one index, the last huge page
hugetlb pool size=2M nr=2 overcommit=1                 => nr=2 free=2
note A guest_memfd file of 2 huge pages: its subpool reserves both at creation.
subpool g size=2M max=2 gmem                           => resv=2
hpage g0 spool=g index=0                               => used=1 rsv=1
note Task A allocates for index 1: the last page of the subpool.
hpage win spool=g                                      => free=0 resv=0 used=2 rsv=0
note QUESTION: task B allocates for index 1 too, before A has inserted its page. Result?
hpage lose spool=g                                     => ?
hpage-add win index=1                                  => lost=0
hpage-put win
hpage-put g0                                           => free=2 resv=2
subpool-put g                                          => free=2 resv=0
note hugetlbfs (max 3, min 2): B takes a surplus page, loses the insert and frees it.
subpool fs size=2M max=3 min=2
hpage f0 spool=fs index=0                              => used=1 rsv=1
hpage win spool=fs                                     => nr=2 free=0 used=2 rsv=0
hpage lose spool=fs                                    => 0 nr=3 surplus=1 used=3
hpage-add win index=1                                  => lost=0
hpage-add lose index=1                                 => lost=1 nr=2 surplus=0 used=2
hpage-put lose
hpage-put win                                          => free=1 resv=1
hpage-put f0                                           => free=2 resv=2
subpool-put fs                                         => free=2 resv=0
check                                                  => violations=0
