# SPDX-License-Identifier: MIT
# The built-in strategy "optimized" (issue 13, seed 000) on a 1 GiB HugeTLB
# guest_memfd: one shared 4 KiB page splits the 1 GiB folio only as far as
# needed, to 511 2 MiB pieces that keep their HVO-optimized vmemmap (PUD to
# PMD: 511 vmemmap pages back, not 4,095) and the 512 4 KiB pieces of the
# 2 MiB holding the page; the 1 GiB leaf splits to 2 MiB leaves, and only the
# 2 MiB around the page is zapped. A second shared page splits one more
# 2 MiB piece; turning it private merges that piece back to 2 MiB (the
# largest all-private order), the last one the whole page back to 1 GiB.
# planned's answers (tests/scenarios/convert-hugetlb-1g.gms): folios=262144,
# restored=4095, level=1 and max_order=0 everywhere in the page.

hugetlb pool size=1G nr=1                                 => nr=1 free=1 resv=0
vm s type=sw_protected strategy=optimized                 => 0
gmem g vm=s size=1G flags=hugetlb page=1G                 => 0 blksize=1073741824
memslot s slot=0 gpa=4G size=1G gmem=g                    => 0
falloc g off=0 len=1G                                     => 0 blocks=2097152
hvo                                                       => freed=4095 restored=0
gfault s gpa=4G private=1                                 => 0 level=3 gmem=1
convert g off=0x20000000 len=4K to=shared                 => 0 partial=0 folios=1023 huge_folios=0
stage2 s                                                  => leaves_4k=0 leaves_2m=511 leaves_1g=0
hvo                                                       => freed=3577 restored=518
getpfn g off=0x1000                                       => 0 max_order=9
getpfn g off=0x20001000                                   => 0 max_order=0
gfault s gpa=0x120001000 private=1                        => 0 level=1 gmem=1
gfault s gpa=0x120200000 private=1                        => 0 level=2 gmem=1
check                                                     => 0 violations=0

# a second shared page, in another 2 MiB piece: that piece on to 4 KiB, then back
convert g off=0x30000000 len=4K to=shared                 => 0 folios=1534 huge_folios=0
hvo                                                       => freed=3570 restored=525
convert g off=0x30000000 len=4K to=private                => 0 folios=1023 huge_folios=0
hvo                                                       => freed=3577 restored=518
getpfn g off=0x30000000                                   => 0 max_order=9
check                                                     => 0 violations=0

# the last shared page private: the 2 MiB pieces and the 4 KiB ones merge to 1 GiB
convert g off=0x20000000 len=4K to=private                => 0 folios=1 huge_folios=1
hvo                                                       => freed=4095 restored=0
getpfn g off=0x1000                                       => 0 max_order=18
gfault s gpa=0x120000000 private=1                        => 0 level=3 gmem=1
check                                                     => 0 violations=0
close g
run-deferred
hugetlb stat size=1G                                      => nr=1 free=1 resv=0
check                                                     => 0 violations=0

# a fresh 1 GiB folio over a page that is not all private (P34): split as a conversion would
gmem f vm=s size=1G flags=hugetlb page=1G                 => 0
convert f off=2M len=4K to=shared                         => 0 folios=0
getpfn f off=4M                                           => 0 max_order=9
hvo                                                       => freed=3577 restored=518
getpfn f off=0x201000                                     => 0 max_order=0
check                                                     => 0 violations=0
close f
run-deferred
hugetlb stat size=1G                                      => nr=1 free=1 resv=0
check                                                     => 0 violations=0
expect-warns 0
