# SPDX-License-Identifier: MIT
# Subpools as hugetlbfs mounts (size= is max, min_size= is min): the minimum is
# reserved globally at creation, gathering surplus pages when overcommit allows,
# and pages inside the minimum go back to the subpool's own reserve when freed.

hugetlb pool size=2M nr=2 overcommit=0          => nr=2 free=2 resv=0 surplus=0

# min 3 on a pool of 2: no overcommit, no subpool.
subpool m size=2M max=4 min=3                   => ENOMEM nr=2 resv=0
hugetlb pool size=2M overcommit=1               => overcommit=1
subpool m size=2M max=4 min=3                   => nr=3 free=3 resv=3 surplus=1 used=0 rsv=3

# Pages inside the minimum use the subpool's reserve ...
hpage a spool=m index=0                         => free=2 resv=2 used=1 rsv=2
hpage b spool=m index=1                         => free=1 resv=1 used=2 rsv=1
hpage c spool=m index=2                         => free=0 resv=0 used=3 rsv=0
# ... past it, a page needs an unreserved one: the pool and overcommit are used up.
hpage d spool=m index=3                         => ENOSPC used=3 rsv=0
hugetlb pool size=2M overcommit=2
hpage d spool=m index=3                         => nr=4 free=0 resv=0 surplus=2 used=4 rsv=0
# max reached
hpage e spool=m index=4                         => ENOSPC used=4

# Freeing above the minimum: the surplus page leaves the pool.
hpage-put d                                     => nr=3 free=0 resv=0 surplus=1
# Inside the minimum: the page is kept as the subpool's reservation.
hpage-put c                                     => nr=3 free=1 resv=1 surplus=1
subpool m                                       => used=2 rsv=1

# Unmounted while pages are in use: the reservation lives until the last page.
subpool-put m                                   => resv=1
hpage-put a                                     => resv=2
hpage-put b                                     => nr=2 free=2 resv=0 surplus=0

# Reservations without a subpool: hugetlb_acct_memory directly.
hugetlb reserve size=2M pages=3                 => nr=3 free=3 resv=3 surplus=1
hugetlb reserve size=2M pages=2 nosurplus       => ENOMEM resv=3
hpage r size=2M reserved                        => free=2 resv=2
# An unreserved page may not take a reserved one: it becomes surplus.
hpage u size=2M                                 => nr=4 free=2 resv=2 surplus=2
hpage v size=2M                                 => ENOSPC
# Freed, r gives its reservation back and stays in the pool to back it.
hpage-put r                                     => nr=4 free=3 resv=3 surplus=2
hugetlb unreserve size=2M pages=3               => nr=2 free=1 resv=0 surplus=0
hpage-put u                                     => nr=2 free=2 resv=0 surplus=0
check                                           => 0 violations=0
expect-warns 0
