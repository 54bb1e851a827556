# SPDX-License-Identifier: MIT
# A failed fallocate takes back the folios it added, and nothing else: no
# invalidation, since nothing can map a folio the call has just added. A
# stage-2 leaf over one of those pages maps the slot's userspace_addr (an
# init_shared file without mmap: the slot is not guest_memfd-only) and stays.
# Found by the fail-nth campaign's random part (random-90, falloc nth=35).

vm v type=sw_protected
gmem g vm=v size=64K flags=init_shared
memslot v slot=0 gpa=4G size=64K gmem=g
gfault v gpa=0x100001000                    => 0 private=0 level=1 gmem=0
stage2 v                                    => 0 leaves_4k=1
inject site=page_alloc nth=3
falloc g off=0 len=64K                      => ENOMEM blocks=0
inject off
stage2 v                                    => 0 leaves_4k=1
check                                       => 0
expect-warns 0
