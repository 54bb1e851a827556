# SPDX-License-Identifier: MIT
# What the nomerge strategy (examples/strategy/nomerge.c) changes, line by line beside the
# built-in planned ordering it is a variant of: to shared splits as planned does; back to
# private, planned merges the huge page (one 2 MiB folio, mapped at 2 MiB, HVO optimized
# again) and nomerge keeps the 512 pieces (mapped at 4 KiB, vmemmap kept). Punching them all
# gives the page back to the pool whole, as for any split page.
#   gmemsim run --strategy ./nomerge.so nomerge.gms

hugetlb pool size=2M nr=1                                 => nr=1 free=1 resv=0
vm s type=sw_protected strategy=nomerge                   => 0
gmem g vm=s size=2M flags=mmap|hugetlb page=2M            => 0
memslot s slot=0 gpa=4G size=2M gmem=g                    => 0
falloc g off=0 len=2M                                     => 0
hvo                                                       => freed=7 restored=0
gfault s gpa=4G private=1                                 => 0 level=2

convert g off=4K len=4K to=shared                         => 0 folios=512 huge_folios=0
hvo                                                       => freed=0 restored=7
# back to private: planned would answer folios=1 huge_folios=1, freed=7, max_order=9 and
# level=2 (the page just made private was zapped; gpa=4G itself is still mapped by the 4 KiB
# leaf the split left, under either strategy: gfault reports the leaf already there)
convert g off=4K len=4K to=private                        => 0 folios=512 huge_folios=0
hvo                                                       => freed=0 restored=7
getpfn g off=0                                            => 0 max_order=0
gfault s gpa=0x100001000 private=1                        => 0 level=1
check                                                     => 0 violations=0

# punching all of it frees the pieces, and the page goes back to the pool whole
punch g off=0 len=2M                                      => 0
hugetlb stat size=2M                                      => nr=1 free=1
check                                                     => 0 violations=0
