# SPDX-License-Identifier: MIT
# cautious (./cautious.so): planned, except that a 1 GiB page split by a conversion to
# shared stays split when its pages turn private again, and KVM never maps above 2 MiB.
# A 2 MiB page splits and merges as planned does. planned's answers are in the comments.
#   gmemsim run --oracle --strategy ./cautious.so cautious.gms (examples/strategy/cautious.c)

# 2 MiB pages: the same answers as planned
hugetlb pool size=2M nr=1                                 => nr=1 free=1 resv=0
vm s type=sw_protected strategy=cautious                  => 0
gmem g vm=s size=2M flags=mmap|hugetlb page=2M            => 0
memslot s slot=0 gpa=4G size=2M gmem=g                    => 0
falloc g off=0 len=2M                                     => 0
gfault s gpa=4G private=1                                 => 0 level=2
convert g off=4K len=4K to=shared                         => 0 folios=512 huge_folios=0
convert g off=4K len=4K to=private                        => 0 folios=1 huge_folios=1
getpfn g off=0                                            => 0 max_order=9
# the page just made private was zapped: it is mapped again at 2 MiB
gfault s gpa=0x100001000 private=1                        => 0 level=2
check                                                     => 0 violations=0

# 1 GiB pages: mapped at 2 MiB at most (planned: max_order=18, level=3)
hugetlb pool size=1G nr=1                                 => nr=1 free=1 resv=0
vm t type=sw_protected strategy=cautious                  => 0
gmem h vm=t size=1G flags=mmap|hugetlb page=1G            => 0
memslot t slot=0 gpa=8G size=1G gmem=h                    => 0
falloc h off=0 len=1G                                     => 0
getpfn h off=0                                            => 0 max_order=9
gfault t gpa=8G private=1                                 => 0 level=2
convert h off=4K len=4K to=shared                         => 0 folios=262144 huge_folios=0
# back to private, the page stays in 4 KiB pieces and keeps its vmemmap (planned: folios=1
# huge_folios=1, then max_order=18 and level=3 on the zapped page)
convert h off=4K len=4K to=private                        => 0 folios=262144 huge_folios=0
getpfn h off=0                                            => 0 max_order=0
gfault t gpa=0x200001000 private=1                        => 0 level=1
check                                                     => 0 violations=0

# punching all of it frees the pieces, and the page goes back to the pool whole
punch h off=0 len=1G                                      => 0
hugetlb stat size=1G                                      => nr=1 free=1
check                                                     => 0 violations=0
