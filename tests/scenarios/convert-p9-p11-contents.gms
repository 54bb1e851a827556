# SPDX-License-Identifier: MIT
# What conversion does not do (in-place conversion v8): it never touches page
# contents (spec P9: sw_protected keeps data both ways), a page is zeroed
# exactly once in its life, on first use by host or guest (P10, the uptodate
# flag: conversions of never-allocated pages read 0), and punching a hole
# keeps the attributes, which belong to the index, not the folio (P11).

vm s type=sw_protected                                   => 0
gmem g vm=s size=32K flags=mmap|init_shared              => 0
memslot s slot=0 gpa=4G size=32K gmem=g                  => 0
mmap g
# P9: the host writes, the page goes private and back: the data is there
write g off=0 len=8K byte=0x5a                           => 0
convert g off=0 len=8K to=private                        => 0
gfault s gpa=4G                                          => 0 private=1
convert g off=0 len=8K to=shared                         => 0
read g off=0 len=8K                                      => 0 data=0x5a uniform=1
# P10: convert before allocation (before_allocation_private/shared)
convert g off=16K len=8K to=private                      => 0
convert g off=16K len=4K to=shared                       => 0
stat g                                                   => blocks=16
read g off=16K len=4K                                    => 0 data=0 uniform=1
read g off=20K len=1                                     => SIGBUS
# the guest's first use zeroes the private page once; later conversions keep it
gfault s gpa=0x100005000                                 => 0 private=1
convert g off=20K len=4K to=shared                       => 0
read g off=20K len=4K                                    => 0 data=0 uniform=1
write g off=20K len=4K byte=0x33                         => 0
convert g off=20K len=4K to=private                      => 0
convert g off=20K len=4K to=shared                       => 0
read g off=20K len=4K                                    => 0 data=0x33 uniform=1
check
# P11: punch frees the pages and keeps the attributes (truncate)
convert g off=0 len=4K to=private                        => 0
punch g off=0 len=32K                                    => 0 blocks=0
read g off=0 len=1                                       => SIGBUS
read g off=4K len=4K                                     => 0 data=0 uniform=1
gfault s gpa=4G private=1                                => 0 private=1
gfault s gpa=0x100001000 private=1                       => EFAULT exit=memory_fault private=1
# converting an unallocated range is recorded (unallocated_folios)
punch g off=0 len=32K                                    => 0 blocks=0
convert g off=0 len=32K to=private                       => 0
convert g off=24K len=8K to=shared                       => 0
read g off=24K len=8K                                    => 0 data=0 uniform=1
read g off=16K len=1                                     => SIGBUS
check
munmap g
close g
check
