# SPDX-License-Identifier: MIT
# A merge's page-cache store can need a node (found by `gmemsim fuzz` under
# ASan, 1 GiB pages, wip ordering). Punching the file's last 1 GiB page
# shrinks its XArray to the first page's subtree; that page is split, so
# the subtree holds its 262,144 pieces. Merging it back stores one order-18
# entry, which is never the head: the tree must grow a level again, and that
# node is allocated before the point of no return (kvm_gmem_prepare_merge()
# reserves it; a punch reserves for its merges, eviction takes it as memory
# it cannot do without). Before the fix a failed allocation there left the
# pieces' entries pointing into the merged folio's freed vmemmap.

hugetlb pool size=1G nr=2                                 => nr=2 free=2

# planned: the reservation fails before the point of no return, nothing changed.
vm p type=sw_protected                                    => 0
gmem gp vm=p size=2G flags=hugetlb page=1G                => 0
falloc gp off=0 len=2G                                    => 0
convert gp off=0 len=4K to=shared                         => 0 folios=262145 huge_folios=1
punch gp off=1G len=1G                                    => 0
inject site=xarray.node nth=1
convert gp off=0 len=4K to=private                        => ENOMEM error_offset=0x0 partial=0 folios=262144 huge_folios=0
inject off
getpfn gp off=0x1000                                      => 0 max_order=0
convert gp off=0 len=4K to=private                        => 0 folios=1 huge_folios=1
getpfn gp off=0x1000                                      => 0 max_order=18
check                                                     => 0 violations=0
close gp
run-deferred
hugetlb stat size=1G                                      => nr=2 free=2 resv=0

# wip: the same, in the batch's step 6, before its store.
vm w type=sw_protected conversion=wip                     => 0
gmem gw vm=w size=2G flags=hugetlb page=1G                => 0
falloc gw off=0 len=2G                                    => 0
convert gw off=0 len=4K to=shared                         => 0 folios=262145 huge_folios=1
punch gw off=1G len=1G                                    => 0
inject site=xarray.node nth=1
convert gw off=0 len=2G to=private                        => ENOMEM error_offset=0x0 partial=0 folios=262144 huge_folios=0
inject off
convert gw off=0 len=2G to=private                        => 0 folios=1 huge_folios=1
convert gw off=0 len=2G to=shared                         => 0 folios=262144 huge_folios=0
check                                                     => 0 violations=0
close gw
run-deferred
hugetlb stat size=1G                                      => nr=2 free=2 resv=0

# rfc-v2: the item's merge fails, the item is rolled back.
vm r type=sw_protected conversion=rfc-v2                  => 0
gmem gr vm=r size=2G flags=hugetlb page=1G                => 0
falloc gr off=0 len=2G                                    => 0
convert gr off=0 len=4K to=shared                         => 0 folios=262145 huge_folios=1
punch gr off=1G len=1G                                    => 0
inject site=xarray.node nth=1
convert gr off=0 len=4K to=private                        => ENOMEM error_offset=0x0 folios=262144 huge_folios=0
inject off
convert gr off=0 len=4K to=private                        => 0 folios=1 huge_folios=1
check                                                     => 0 violations=0

close gr
run-deferred
hugetlb stat size=1G                                      => nr=2 free=2 resv=0

# A punch promises its merges (P36): the node is taken before anything
# changes, or the punch fails. Eviction cannot fail: it takes the node as
# memory it cannot do without (__GFP_NOFAIL, which injection skips), merges
# and gives the page back at once.
gmem gt vm=p size=2G flags=hugetlb page=1G                => 0
falloc gt off=0 len=2G                                    => 0
convert gt off=0 len=4K to=shared                         => 0 folios=262145 huge_folios=1
punch gt off=1G len=1G                                    => 0 blocks=2097152
hugetlb stat size=1G                                      => nr=2 free=1
inject site=xarray.node nth=1
punch gt off=0 len=1G                                     => ENOMEM blocks=2097152
inject off
hugetlb stat size=1G                                      => nr=2 free=1
inject site=xarray.node nth=1
close gt
inject off
hugetlb stat size=1G                                      => nr=2 free=2 resv=0
run-deferred                                              => 0 merged=0
check                                                     => 0 violations=0
expect-warns 0
