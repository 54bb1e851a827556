# SPDX-License-Identifier: MIT
# Failure points of the HugeTLB layer: the host having no page, and the
# subpool and cgroup allocations. Every failure leaves the counters as they were.

hugetlb pool size=2M nr=1 overcommit=2          => nr=1 free=1

# The host runs out while growing: the pool stops there, as a sysfs write.
inject site=hugetlb.alloc_fresh nth=2
hugetlb pool size=2M nr=4                       => nr=2 free=2 max=2
inject off

# Gathering surplus pages for a minimum: the first given back when the second fails.
inject site=hugetlb.alloc_fresh nth=2
subpool m size=2M max=4 min=4                   => ENOMEM nr=2 free=2 resv=0 surplus=0
inject site=hugetlb.subpool nth=1
subpool m size=2M max=4 min=4                   => ENOMEM nr=2 free=2 resv=0 surplus=0
subpool m size=2M max=4 min=4                   => nr=4 free=4 resv=4 surplus=2
subpool-put m                                   => nr=2 free=2 resv=0 surplus=0

# A host with no more pages: a surplus allocation fails with ENOSPC.
hugetlb pool size=2M host=2
hpage a size=2M
hpage b size=2M
hpage c size=2M                                 => ENOSPC nr=2 free=0 surplus=0
hpage-put a
hpage-put b

inject site=hugetlb.cgroup nth=1
cgroup x                                        => ENOMEM
cgroup x                                        => usage=0 rsvd=0 online=1
check                                           => 0 violations=0
expect-warns 0
