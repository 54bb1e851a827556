# SPDX-License-Identifier: MIT
# Spec P41: the issues reported against the WIP HugeTLB branch (2026-01), and
# that the simulator's default ordering (planned, spec P37) has none of them
# where a scenario can observe it:
# - a missing export of hugetlb_restructuring_free_folio: a build problem of a
#   module, nothing a scenario can observe;
# - splitting a folio while KVM still maps it huge: here the huge stage-2 leaf
#   is zapped (or split) before the folio is; the kvm checker (`check`) fails
#   on any stage-2 leaf larger than the folio under it;
# - no merge on conversion to private: here the huge page is merged back once
#   its last shared page is private again (huge_folios, max_order, level 2);
# - huge private mappings refused when the memslot's userspace address is not
#   2 MiB aligned: here a private guest fault maps 2 MiB whatever uaddr is
#   (private memory is never reached through the HVA).
# The second and third are planted, test-only, as huge-leaf-after-split and
# no-merge-to-private for the fuzzers to find (docs/ORACLE.md "Planted bugs",
# tests/bugs/).

hugetlb pool size=2M nr=2                                => nr=2 free=2
vm p type=sw_protected                                   => 0
gmem g vm=p size=4M flags=mmap|hugetlb page=2M           => 0
falloc g off=0 len=4M                                    => 0
# uaddr not 2 MiB aligned: private faults still map huge
memslot p slot=0 gpa=4G size=4M gmem=g uaddr=0x7f0000001000 => 0
gfault p gpa=4G private=1                                => 0 level=2 gmem=1
gfault p gpa=0x100200000 private=1                       => 0 level=2 gmem=1
stage2 p                                                 => leaves_2m=2 leaves_4k=0
check                                                    => 0 violations=0

# one page to shared: the 2 MiB leaf is split to 4 KiB leaves (the converted
# one zapped) before the folio splits: no 2 MiB leaf stays over it
convert g off=0x1000 len=4K to=shared                    => 0 folios=513 huge_folios=1
stage2 p gpa=4G                                          => level=1 leaves_2m=1 leaves_4k=511
check                                                    => 0 violations=0
gfault p gpa=4G private=1                                => 0 level=1 gmem=1
gfault p gpa=0x100001000 private=0                       => 0 level=1 gmem=1
stage2 p                                                 => leaves_2m=1 leaves_4k=512
getpfn g off=0                                           => 0 max_order=0
check                                                    => 0 violations=0

# back to private: the huge page is merged, and maps huge again
convert g off=0x1000 len=4K to=private                   => 0 folios=2 huge_folios=2
getpfn g off=0                                           => 0 max_order=9
check                                                    => 0 violations=0
# the 4 KiB private leaves already there stay; once they go, the guest maps 2 MiB
memslot p slot=0 size=0                                  => 0
memslot p slot=0 gpa=4G size=4M gmem=g uaddr=0x7f0000001000 => 0
gfault p gpa=4G private=1                                => 0 level=2 gmem=1
stage2 p                                                 => leaves_2m=1 leaves_4k=0
check                                                    => 0 violations=0
memslot p slot=0 size=0                                  => 0
close g
hugetlb stat size=2M                                     => nr=2 free=2 resv=0
