# SPDX-License-Identifier: MIT
# Workshop lab 6: a huge page is one folio only while all of it is private. Converting
# one 4 KiB page of it to shared splits the folio to order 0 (the HugeTLB series' rule,
# spec P25, P34; mm/hugetlb_restructuring.c in the WIP branch), restores its vmemmap (lab
# 5) and splits the guest's 2 MiB stage-2 leaf first (spec P40, from the TDX huge page
# series). The last shared page going private merges it back. docs/WORKSHOP.md, lab 6.
note Lab 6: one shared page in a 2 MiB huge page
hugetlb pool size=2M nr=1                              => nr=1 free=1
vm s type=sw_protected
gmem g vm=s size=2M flags=mmap|hugetlb page=2M
memslot s slot=0 gpa=4G size=2M gmem=g
falloc g off=0 len=2M                                  => 0 blocks=4096
note The guest maps its private page with one 2 MiB leaf (level 2).
gfault s gpa=4G                                        => 0 private=1 level=2
hvo                                                    => freed=7 restored=0
note QUESTION: page 3 (offset 0x3000) becomes shared. How many folios hold the file then?
convert g off=0x3000 len=4K to=shared                  => 0 folios=? huge_folios=0
hvo                                                    => freed=0 restored=7
stage2 s                                               => leaves_4k=511 leaves_2m=0
gmem-usage g                                           => folios_4k=512 pieces=512 attr_ranges=3
note The pool, the file's blocks and the subpool do not move: it is still one huge page.
hugetlb stat size=2M                                   => nr=1 free=0
stat g                                                 => blocks=4096
getpfn g off=0                                         => 0 max_order=0
note Back to private: the page merges, HVO again, get_pfn offers order 9 to new faults.
convert g off=0x3000 len=4K to=private                 => 0 folios=1 huge_folios=1
hvo                                                    => freed=7 restored=0
getpfn g off=0                                         => 0 max_order=9
note The leaves already there stay 4 KiB: the merge changed the folio, not the mappings.
stage2 s                                               => leaves_4k=511 leaves_2m=0
check                                                  => violations=0
