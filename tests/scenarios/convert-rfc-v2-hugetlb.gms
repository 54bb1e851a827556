# SPDX-License-Identifier: MIT
# The rfc-v2 conversion ordering on a HugeTLB file (issue 11 §4, spec P20,
# P25; docs/CONVERSION.md "rfc-v2"): the work list of the sub-ranges that
# differ, each item stored and then restructured. To shared splits every huge
# page an item overlaps (the private stage-2 leaves over the huge page are
# unmapped first: the invalidation is rounded out to huge pages); to private
# merges a huge page back once no page of it is shared. A restructure failure
# undoes the item's earlier huge pages, then the work-list rollback restores
# the attributes and reverses what each applied item split or merged: the
# state is as before, stage-2 leaves and host mappings aside.
#
# The reviewed rollback loop's bug at the first item (its index steps below
# the start) is the profile's own design: a WARN, counted by expect-warns 1,
# caused by the scenario's own inject. Every other line's first store fits in
# its leaf, so under --fail-nth only lists, splits and later stores fail:
# ENOMEM, nothing changed, no WARN.

# memory with data behind it, so that contents can be read back (P9)
machine mem=64M backing=anon                               => mem=67108864
hugetlb pool size=2M nr=2                                  => nr=2 free=2 resv=0
vm r type=sw_protected conversion=rfc-v2                   => 0
gmem g vm=r size=4M flags=mmap|hugetlb page=2M             => 0 blksize=2097152
memslot r slot=0 gpa=4G size=4M gmem=g                     => 0
falloc g off=0 len=4M                                      => 0 blocks=8192
gfault r gpa=4G private=1                                  => 0 level=2 gmem=1
stage2 r                                                   => leaves_4k=0 leaves_2m=1

# P20's checks hold on a HugeTLB file too
convert g off=0 len=0 to=shared                            => 0
convert g off=0 len=4K to=shared error_offset=0x10         => EINVAL error_offset=0x10

# To shared: the private 2M leaf over the huge page goes, then the folio splits
convert g off=4K len=4K to=shared                          => 0 partial=0 folios=513 huge_folios=1
stage2 r                                                   => leaves_4k=0 leaves_2m=0
hvo                                                        => freed=7 restored=7
getpfn g off=0                                             => 0 max_order=0
getpfn g off=0x200000                                      => 0 max_order=9
hugetlb stat size=2M                                       => nr=2 free=0 resv=0
check                                                      => 0 violations=0

# Contents survive the merge and the split (P9)
mmap g
write g off=4K len=4K byte=0x5a                            => 0
convert g off=4K len=4K to=private                         => 0 folios=2 huge_folios=2
hvo                                                        => freed=14 restored=0
convert g off=4K len=4K to=shared                          => 0 folios=513 huge_folios=1
read g off=4K len=4K                                       => 0 data=0x5a uniform=1
check                                                      => 0 violations=0

# Two items in one huge page: it merges after the second (no page shared then)
convert g off=16K len=8K to=shared                         => 0 folios=513
convert g off=0 len=32K to=private                         => 0 folios=2 huge_folios=2
check                                                      => 0 violations=0

# EAGAIN: a pinned shared page in the range (error_offset = folio->index)
convert g off=8K len=4K to=shared                          => 0 folios=513
pin g off=8K                                               => 0
convert g off=0 len=16K to=private                         => EAGAIN error_offset=0x2000 folios=513 huge_folios=1
unpin g off=8K
convert g off=0 len=16K to=private                         => 0 folios=2 huge_folios=2
check                                                      => 0 violations=0

# One item across both huge pages: two splits. The second split runs out of
# memory (the 8th vmemmap page HVO restores): the first page is merged back,
# the item's attribute restored; ENOMEM at the item's start
inject site=hvo.restore nth=8
convert g off=0x1ff000 len=8K to=shared                    => ENOMEM error_offset=0x1ff000 folios=2 huge_folios=2
inject off
expect-warns 0
hvo                                                        => freed=14 restored=0
convert g off=0x1ff000 len=8K to=shared                    => 0 folios=1024 huge_folios=0
check                                                      => 0 violations=0
convert g off=0 len=4M to=private                          => 0 folios=2 huge_folios=2
check                                                      => 0 violations=0
munmap g
close g

# --- the rollback loop's bug on a HugeTLB file (no slot: every failure is held
# to an unchanged state) ---
gmem h vm=r size=4M flags=mmap|hugetlb page=2M             => 0
falloc h off=0 len=4M                                      => 0
# 15 ranges: 0 P, 1 S, ..., 13 S, [14, 1024) P; one more fills the leaf
convert h off=4K len=4K to=shared                          => 0 folios=513
convert h off=12K len=4K to=shared                         => 0
convert h off=20K len=4K to=shared                         => 0
convert h off=28K len=4K to=shared                         => 0
convert h off=36K len=4K to=shared                         => 0
convert h off=44K len=4K to=shared                         => 0
convert h off=52K len=4K to=shared                         => 0
check                                                      => 0 violations=0
# the first (only) item's store fails: the loop steps below it; nothing changed
inject site=maple.prealloc nth=1
convert h off=88K len=4K to=shared                         => ENOMEM error_offset=0x16000 folios=513 huge_folios=1
inject off
expect-warns 1
# back to private item by item: the huge page merges with the last one
convert h off=0 len=56K to=private                         => 0 folios=2 huge_folios=2
check                                                      => 0 violations=0
close h
run-deferred
hugetlb stat size=2M                                       => nr=2 free=2 resv=0
check                                                      => 0 violations=0
