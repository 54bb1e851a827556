# SPDX-License-Identifier: MIT
# Spec P39 (§4.17): the HugeTLB WIP branch computes the KVM mapping order from
# the range starting at the faulting index instead of its huge page's start.
# gmemsim models it under conversion=wip only; planned and v8 round down.
# Capped by the folio order, the bug can only under-map (docs/CONVERSION.md,
# "P39"): a whole private huge page followed by a huge page with a shared page
# is mapped 4K by a fault at an unaligned index whose range reaches that page.

hugetlb pool size=2M nr=4                                  => nr=4 free=4 resv=0

vm w type=sw_protected conversion=wip                      => 0
gmem gw vm=w size=4M flags=hugetlb page=2M                 => 0
memslot w slot=0 gpa=4G size=4M gmem=gw                    => 0
# index 0x205 of the second huge page shared: that page splits
convert gw off=0x205000 len=4K to=shared                   => 0
# [0xa, 0x20a) reaches index 0x205: mapping order 0, a 4K leaf over a 2M folio
gfault w gpa=0x10000a000                                   => 0 level=1
getpfn gw off=0xa000                                       => 0 max_order=0
# [0x3, 0x203) does not: order 9
getpfn gw off=0x3000                                       => 0 max_order=9
# the last huge page: every unaligned range runs past the file's end
convert gw off=0x205000 len=4K to=private                  => 0
getpfn gw off=0x201000                                     => 0 max_order=0
getpfn gw off=0x200000                                     => 0 max_order=9
# three get_pfn calls (the fault's and two getpfn) got less than the rounded rule
arch w                                                     => 0 mapping_order_short=3
stage2 w                                                   => 0 leaves_4k=1 leaves_2m=0
check                                                      => 0 violations=0

# the same sequence under planned: the rounded-down range
vm p type=sw_protected conversion=planned                  => 0
gmem gp vm=p size=4M flags=hugetlb page=2M                 => 0
memslot p slot=0 gpa=4G size=4M gmem=gp                    => 0
convert gp off=0x205000 len=4K to=shared                   => 0
gfault p gpa=0x10000a000                                   => 0 level=2
getpfn gp off=0xa000                                       => 0 max_order=9
getpfn gp off=0x3000                                       => 0 max_order=9
convert gp off=0x205000 len=4K to=private                  => 0
getpfn gp off=0x201000                                     => 0 max_order=9
getpfn gp off=0x200000                                     => 0 max_order=9
# the counter is the run's: planned added none
arch p                                                     => 0 mapping_order_short=3
stage2 p                                                   => 0 leaves_4k=0 leaves_2m=1
check                                                      => 0 violations=0
