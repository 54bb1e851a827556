# SPDX-License-Identifier: MIT
# P34: a fresh huge folio whose huge page is not all private is split to
# order 0 at once, on every allocation path (fallocate, guest fault, get_pfn).
# A fallocate that fails later undoes the pages it added: a page split fresh
# is merged back first, so it returns to the pool whole at once (under
# fail-nth the state after the failed line equals the state before it; the
# pieces do not wait for the deferred merge).

hugetlb pool size=2M nr=3                                 => nr=3 free=3 resv=0
vm s type=sw_protected                                    => 0
gmem g vm=s size=6M flags=mmap|hugetlb page=2M            => 0
memslot s slot=0 gpa=4G size=6M gmem=g                    => 0
convert g off=0 len=4K to=shared                          => 0 folios=0
convert g off=2M len=4K to=shared                         => 0 folios=0
# the first two pages split at allocation, the third is one folio
falloc g off=0 len=6M                                     => 0 blocks=12288
convert g off=0 len=4K to=shared                          => 0 folios=1025 huge_folios=1
hugetlb stat size=2M                                      => nr=3 free=0 resv=0
getpfn g off=0x1000                                       => 0 max_order=0
getpfn g off=0x401000                                     => 0 max_order=9
check                                                     => 0 violations=0
# both mixed pages to private: merged
convert g off=0 len=6M to=private                         => 0 folios=3 huge_folios=3
check                                                     => 0 violations=0
# a guest fault and get_pfn allocate fresh too
punch g off=0 len=4M                                      => 0 blocks=4096
convert g off=0x1ff000 len=4K to=shared                   => 0 folios=1
gfault s gpa=4G private=1                                 => 0 level=1 gmem=1
getpfn g off=0x200000                                     => 0 max_order=9
convert g off=0x1ff000 len=4K to=private                  => 0 folios=3 huge_folios=3
close g
run-deferred
hugetlb stat size=2M                                      => nr=3 free=3 resv=0
check                                                     => 0 violations=0
expect-warns 0
