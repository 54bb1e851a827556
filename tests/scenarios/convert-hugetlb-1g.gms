# SPDX-License-Identifier: MIT
# A 1 GiB HugeTLB guest_memfd converted 4 KiB at a time (planned ordering;
# spec P29, P34, P37, P40): the 1G private leaf is split to 262,143 4 KiB
# leaves and the folio to 262,144 order-0 pieces (4,095 vmemmap pages
# restored); the last shared page going private merges it back (HVO again)
# and get_pfn answers the 1 GiB order.

hugetlb pool size=1G nr=1                                 => nr=1 free=1 resv=0
vm s type=sw_protected                                    => 0
gmem g vm=s size=1G flags=hugetlb page=1G                 => 0 blksize=1073741824
memslot s slot=0 gpa=4G size=1G gmem=g                    => 0
falloc g off=0 len=1G                                     => 0 blocks=2097152
hvo                                                       => freed=4095 restored=0
gfault s gpa=4G private=1                                 => 0 level=3 gmem=1
getpfn g off=0x1000                                       => 0 max_order=18
convert g off=0x20000000 len=4K to=shared                 => 0 partial=0 folios=262144 huge_folios=0
stage2 s                                                  => leaves_4k=262143 leaves_2m=0 leaves_1g=0
hvo                                                       => freed=0 restored=4095
getpfn g off=0x1000                                       => 0 max_order=0
hugetlb stat size=1G                                      => nr=1 free=0 resv=0
check                                                     => 0 violations=0
convert g off=0x20000000 len=4K to=private                => 0 folios=1 huge_folios=1
hvo                                                       => freed=4095 restored=0
getpfn g off=0x1000                                       => 0 max_order=18
check                                                     => 0 violations=0
close g
run-deferred
hugetlb stat size=1G                                      => nr=1 free=1 resv=0
check                                                     => 0 violations=0
expect-warns 0
