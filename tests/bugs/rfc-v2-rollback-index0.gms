# SPDX-License-Identifier: MIT
# The fourth known bug: not a switch but the rfc-v2 profile itself
# (docs/CONVERSION.md, "rfc-v2"; spec P20). When the first work item's store
# fails, the reviewed rollback loop decrements its index before looking and
# steps below item 0; gmemsim WARNs ("rfc-v2 rollback: work index -1 below
# the first item"), ends the loop and returns ENOMEM with nothing changed.
# The first store must split a full maple leaf to allocate: 15 ranges fill
# it. This file fails as is (the WARN is not covered by expect-warns);
# the same sequence under planned, wip or v8 passes.

vm r type=sw_protected conversion=rfc-v2
gmem g vm=r size=128K flags=mmap|init_shared
convert g off=4K len=4K to=private
convert g off=12K len=4K to=private
convert g off=20K len=4K to=private
convert g off=28K len=4K to=private
convert g off=36K len=4K to=private
convert g off=44K len=4K to=private
convert g off=52K len=4K to=private
inject site=maple.prealloc nth=1
convert g off=88K len=4K to=private            => ENOMEM error_offset=0x16000
inject off
close g
