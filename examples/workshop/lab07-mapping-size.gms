# SPDX-License-Identifier: MIT
# Workshop lab 7: what size KVM maps. A TDX guest's private memory is mapped by the
# secure EPT; a leaf may never be larger than the folio behind it (Yan Zhao's TDX huge
# page series, spec P40) and covers only memory of one attribute. kvm_gmem_get_pfn()
# reports max_order (the folio order, spec P29) and KVM maps at most that, also bounded
# by the memslot's alignment (spec rule 35). docs/WORKSHOP.md, lab 7.
note Lab 7: mapping size and folio size in a TDX guest
hugetlb pool size=2M nr=2                              => nr=2 free=2
vm t type=tdx
gmem g vm=t size=4M flags=hugetlb page=2M
memslot t slot=0 gpa=4G size=4M gmem=g
falloc g off=0 len=4M                                  => 0 blocks=8192
gfault t gpa=4G                                        => 0 private=1 level=2
getpfn g off=0x1000                                    => 0 max_order=9
note One page of the second huge page (index 0x205) becomes shared: that page splits.
convert g off=0x205000 len=4K to=shared                => 0 folios=513 huge_folios=1
note QUESTION: the guest touches index 0x200, still private. At what level is it mapped?
gfault t gpa=0x100200000                               => 0 private=1 level=?
getpfn g off=0x200000                                  => 0 max_order=0
gfault t gpa=0x100205000                               => 0 private=0 level=1
stage2 t                                               => leaves_4k=2 leaves_2m=1
note The first huge page is untouched: still one 2 MiB leaf.
gfault t gpa=0x100001000                               => 0 level=2
note The folio alone is not enough: a slot whose gpa and file offset disagree mod 2 MiB
note can map only 4 KiB, whatever max_order says.
memslot t slot=0 size=0
memslot t slot=1 gpa=0x100001000 size=2M gmem=g off=0
gfault t gpa=0x100001000                               => 0 level=1
getpfn g off=0                                         => 0 max_order=9
check                                                  => violations=0
