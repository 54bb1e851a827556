# SPDX-License-Identifier: MIT
# The conversion algorithm of in-place conversion v8 (spec P7, P8, P13;
# docs/CONVERSION.md): a range that already has the value is done; to private
# unmaps the host and then needs every folio free of extra references (a
# long-term pin gives EAGAIN at max(offset, folio start), with nothing
# changed but the host mappings); to shared has no such check. Past the
# point of no return the guest mappings of the old kind are zapped.

vm s type=sw_protected                                   => 0 gmem_memory_attributes=8
gmem g vm=s size=16K flags=mmap|init_shared              => 0
memslot s slot=0 gpa=4G size=16K gmem=g                  => 0
mmap g
write g off=0 len=16K byte=0x41                          => 0
gfault s gpa=4G                                          => 0 level=1 gmem=1 private=0
gfault s gpa=0x100001000                                 => 0 level=1 gmem=1 private=0
stage2 s                                                 => leaves_4k=2

# P7.1 / P8: to shared on a shared range is done at once, pins or not
pin g off=8K                                             => 0
convert g off=0 len=16K to=shared                        => 0 error_offset=0
# P7.3: the pinned page fails the whole range; the error names that page
convert g off=0 len=16K to=private                       => EAGAIN error_offset=0x2000
# nothing changed before the point of no return: guest leaves, attributes
stage2 s                                                 => leaves_4k=2
gfault s gpa=4G private=1                                => EFAULT exit=memory_fault private=1
# (the host mappings went; they fault back in)
read g off=0 len=4K                                      => 0 data=0x41 uniform=1
check
# a range starting inside the pinned page names its start
convert g off=0x2000 len=8K to=private                   => EAGAIN error_offset=0x2000
# page by page, as the selftest elevated_refcount does: only the pinned one fails
convert g off=0 len=4K to=private                        => 0
convert g off=4K len=4K to=private                       => 0
convert g off=8K len=4K to=private                       => EAGAIN error_offset=0x2000
convert g off=12K len=4K to=private                      => 0
# P13: the shared leaves of the converted pages were zapped
stage2 s                                                 => leaves_4k=0
read g off=0 len=1                                       => SIGBUS
read g off=8K len=4K                                     => 0 data=0x41
check
# after unpinning, the whole range converts; contents stay (P9)
unpin g off=8K
convert g off=0 len=16K to=private                       => 0 error_offset=0
# converting a private range to private again is done before any check
convert g off=0 len=16K to=private                       => 0
gfault s gpa=0x100002000                                 => 0 level=1 gmem=1 private=1
stage2 s                                                 => leaves_4k=1
# P8: to shared has no refcount check; the private leaves go
convert g off=0 len=16K to=shared                        => 0
stage2 s                                                 => leaves_4k=0
read g off=0 len=16K                                     => 0 data=0x41 uniform=1
check
munmap g
close g
check
