# SPDX-License-Identifier: MIT
# Workshop lab 9: the rollback bug found in review. The HugeTLB RFC v2 (May 2025)
# converts a work list of sub-ranges and, when a store fails, undoes the items applied
# before it, newest first. Its loop steps back before it looks, so a failure at the FIRST
# item steps to index -1: the kernel would read before the list. gmemsim models the
# rfc-v2 ordering with the loop as reviewed and WARNs at that step (docs/CONVERSION.md,
# "rfc-v2"); planned, the ordering that replaced it, has no such loop.
# docs/WORKSHOP.md, lab 9.
note Lab 9: a rollback that steps below its first item
machine backing=anon
vm r type=sw_protected conversion=rfc-v2
gmem g vm=r size=128K flags=mmap|init_shared
mmap g
write g off=0 len=128K byte=0x11                       => 0
note Seven private pages between shared ones: 15 ranges, the maple tree leaf is full.
convert g off=4K len=4K to=private
convert g off=12K len=4K to=private
convert g off=20K len=4K to=private
convert g off=28K len=4K to=private
convert g off=36K len=4K to=private
convert g off=44K len=4K to=private
convert g off=52K len=4K to=private
gmem-usage g                                           => attr_ranges=15
note Two items, [48K, 52K) and [56K, 80K); the second one's store needs a
note maple node, and the allocation fails (inject).
inject site=maple.prealloc nth=1
convert g off=48K len=32K to=private                   => ENOMEM error_offset=0xe000 warns=0
inject off
gmem-usage g                                           => attr_ranges=15
note One item, whose store needs a node: the first item fails.
inject site=maple.prealloc nth=1
note QUESTION: how many WARNs does this failed conversion print?
convert g off=88K len=4K to=private                    => ENOMEM error_offset=0x16000 warns=?
inject off
expect-warns 1
read g off=88K len=4K                                  => 0 data=0x11 uniform=1
check                                                  => violations=0
note The same failure under planned: ENOMEM, nothing changed, no WARN.
vm p type=sw_protected conversion=planned
gmem h vm=p size=128K flags=mmap|init_shared
convert h off=4K len=4K to=private
convert h off=12K len=4K to=private
convert h off=20K len=4K to=private
convert h off=28K len=4K to=private
convert h off=36K len=4K to=private
convert h off=44K len=4K to=private
convert h off=52K len=4K to=private
inject site=maple.prealloc nth=1
convert h off=88K len=4K to=private                    => ENOMEM error_offset=0x16000 warns=0
inject off
convert h off=88K len=4K to=private                    => 0
expect-warns 0
