# SPDX-License-Identifier: MIT
# Workshop lab 10: why converting one 4 KiB page of a 1 GiB guest can fail with ENOMEM.
# To shared splits the 1 GiB folio to 262,144 order-0 folios (lab 6), which needs, with
# the guest's memory locked: the 4,095 vmemmap pages HVO freed (lab 5,
# hugetlb_vmemmap_restore_folio()), XArray nodes for the split (xas_split_alloc()), the
# split's per-page metadata, and page tables for 262,143 4 KiB stage-2 leaves (spec P40,
# kvm_mmu_topup_memory_cache()). Any of them can fail. The planned ordering (spec P37)
# allocates them all before its point of no return, so the failure changes nothing.
# docs/WORKSHOP.md, lab 10.
note Lab 10: ENOMEM for one 4 KiB page
hugetlb pool size=1G nr=1                              => nr=1 free=1
vm t type=tdx
gmem g vm=t size=1G flags=hugetlb page=1G
memslot t slot=0 gpa=4G size=1G gmem=g
falloc g off=0 len=1G
gfault t gpa=4G                                        => 0 level=3
metrics                                                => hvo_saved=16773120 leaves_1g=1
note The host is short of memory: the 100th vmemmap page of the restore cannot be had.
inject site=hvo.restore nth=100
note QUESTION: the guest asks for its page at 512 MiB to be shared. What does the ioctl return?
convert g off=0x20000000 len=4K to=shared              => ?
inject off
note Nothing changed: one folio, one 1 GiB leaf, HVO in place, the page still private.
stage2 t                                               => leaves_4k=0 leaves_1g=1
hvo                                                    => freed=4095 restored=0
gmem-usage g                                           => folios_1g=1 attr_ranges=1
note With memory, the same conversion: 16 MiB of vmemmap back, 262,143 4 KiB leaves.
note (run the solved lab with -v: the metrics line counts the allocations of this one call)
metrics reset
convert g off=0x20000000 len=4K to=shared              => 0 folios=262144 huge_folios=0
metrics                                                => hvo_saved=0 vmemmap=16777216 leaves_4k=262143 leaves_1g=0
convert g off=0x20000000 len=4K to=private             => 0 folios=1 huge_folios=1
hvo                                                    => freed=4095 restored=0
check                                                  => violations=0
