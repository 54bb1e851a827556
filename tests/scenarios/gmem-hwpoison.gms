# SPDX-License-Identifier: MIT
# Memory failure on HugeTLB-backed guest_memfd files (spec §1.10; §4.16: no HugeTLB
# version handles it, so mm/'s own behaviour is modelled): the raw page is recorded,
# the whole folio refuses every use while it is whole, and once freed the page is never
# handed out again -- dissolved (nr and max down by one) while a free page is left for
# every reservation, else waiting on the free list, skipped by every allocation, until
# the pool shrinks. `unpoison` gives such pages back, as debugfs unpoison-pfn would.

hugetlb pool size=2M nr=2                               => nr=2 free=2 resv=0

# the pool has a page to spare beyond the file's reservation: the bad page is dissolved
gmem a size=2M flags=hugetlb page=2M vm_private=1
falloc a off=0 len=2M                                   => 0 blocks=4096
poison a off=0x5000                                     => 0
getpfn a off=0x5000                                     => EHWPOISON
getpfn a off=0x1ff000                                   => EHWPOISON
check
punch a off=0 len=2M                                    => 0 blocks=0
hugetlb stat size=2M                                    => nr=1 free=1 resv=1 max=1
unpoison count                                          => held=1
falloc a off=0 len=2M                                   => 0 blocks=4096
getpfn a off=0x5000                                     => 0 max_order=9
check
close a
hugetlb stat size=2M                                    => nr=1 free=1 resv=0 max=1

# every free page is the file's reservation: the bad page waits on the free list,
# and the file cannot have a page back (the pool has no other and no overcommit)
gmem b size=2M flags=hugetlb page=2M vm_private=1
falloc b off=0 len=2M                                   => 0 blocks=4096
poison b off=0                                          => 0
punch b off=0 len=2M                                    => 0 blocks=0
hugetlb stat size=2M                                    => nr=1 free=1 resv=1 max=1
unpoison count                                          => held=1
falloc b off=0 len=2M                                   => ENOMEM blocks=0
getpfn b off=0                                          => ENOMEM
check
close b
hugetlb stat size=2M                                    => nr=1 free=1 resv=0
# shrinking the pool takes it: dissolved and kept out of use
hugetlb pool size=2M nr=0                               => nr=0 free=0 resv=0
unpoison count                                          => held=2
unpoison                                                => pages=2
unpoison count                                          => held=0
hugetlb pool size=2M nr=1                               => nr=1 free=1 resv=0
check

# 1 GiB: the same, with one bad page among 262,144
hugetlb pool size=1G nr=2                               => nr=2 free=2 resv=0
gmem g size=1G flags=hugetlb page=1G vm_private=1
falloc g off=0 len=1G                                   => 0 blocks=2097152
poison g off=0x3039000                                  => 0
getpfn g off=0                                          => EHWPOISON
check
punch g off=0 len=1G                                    => 0 blocks=0
hugetlb stat size=1G                                    => nr=1 free=1 resv=1 max=1
getpfn g off=0x3039000                                  => 0 max_order=18
close g
unpoison                                                => pages=1
hugetlb stat size=1G                                    => nr=1 free=1 resv=0 max=1
