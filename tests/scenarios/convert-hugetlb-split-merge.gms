# SPDX-License-Identifier: MIT
# Conversion of a HugeTLB guest_memfd under the planned ordering (the
# default; spec P29, P34, P37, P40; docs/CONVERSION.md): a huge page is one
# folio of the page order exactly when all of it is private. To shared splits
# the private stage-2 leaf first, then the folio to order 0 (HVO restored);
# to private merges it back when the last shared page goes (HVO optimized
# again). The pool, the subpool and st_blocks do not move: a split page is
# still one page in use.

hugetlb pool size=2M nr=2                                 => nr=2 free=2 resv=0
vm s type=sw_protected                                    => 0 gmem_memory_attributes=8
gmem g vm=s size=4M flags=mmap|hugetlb page=2M            => 0 blksize=2097152
memslot s slot=0 gpa=4G size=4M gmem=g                    => 0
falloc g off=0 len=4M                                     => 0 blocks=8192
hugetlb stat size=2M                                      => nr=2 free=0 resv=0
hvo                                                       => freed=14 restored=0
# P29: all private, so one folio, mapped at its order
gfault s gpa=4G private=1                                 => 0 level=2 gmem=1
getpfn g off=0x1000                                       => 0 max_order=9
stage2 s                                                  => leaves_4k=0 leaves_2m=1

# To shared in the middle: the 2M leaf is split (P40), then the folio (P34/P25)
convert g off=4K len=4K to=shared                         => 0 partial=0 folios=513 huge_folios=1
stage2 s                                                  => leaves_4k=511 leaves_2m=0
hvo                                                       => freed=7 restored=7
getpfn g off=0                                            => 0 max_order=0
getpfn g off=0x200000                                     => 0 max_order=9
hugetlb stat size=2M                                      => nr=2 free=0 resv=0
stat g                                                    => blocks=8192
check                                                     => 0 violations=0
# the shared page is the host's; the private ones still are not
mmap g
write g off=4K len=4K byte=0x5a                           => 0
read g off=0 len=1                                        => SIGBUS
gfault s gpa=0x100001000                                  => 0 level=1 gmem=1 private=0
# a second shared page splits nothing more
convert g off=8K len=4K to=shared                         => 0 folios=513 huge_folios=1
check                                                     => 0 violations=0

# To private, page by page: the merge waits for the last shared page
convert g off=4K len=4K to=private                        => 0 folios=513 huge_folios=1
check                                                     => 0 violations=0
convert g off=8K len=4K to=private                        => 0 folios=2 huge_folios=2
hvo                                                       => freed=14 restored=0
getpfn g off=0                                            => 0 max_order=9
check                                                     => 0 violations=0

# Across both huge pages at once: two splits, then two merges
convert g off=0x1ff000 len=8K to=shared                   => 0 folios=1024 huge_folios=0
hvo                                                       => freed=0 restored=14
check                                                     => 0 violations=0
convert g off=0 len=4M to=private                         => 0 folios=2 huge_folios=2
hvo                                                       => freed=14 restored=0
check                                                     => 0 violations=0

# P34: a fresh folio whose page is not all private is split at once
punch g off=2M len=2M                                     => 0 blocks=4096
convert g off=0x300000 len=4K to=shared                   => 0 folios=1 huge_folios=1
gfault s gpa=0x100200000 private=1                        => 0 level=1 gmem=1
getpfn g off=0x200000                                     => 0 max_order=0
show g
check                                                     => 0 violations=0
munmap g
close g
run-deferred
hugetlb stat size=2M                                      => nr=2 free=2 resv=0
check                                                     => 0 violations=0
expect-warns 0
