# SPDX-License-Identifier: MIT
# ENOMEM from the maple tree reservation (spec P7.2): the only allocation of a
# conversion, before anything changes, with error_offset = the offset. The
# simulated maple tree writes a leaf in place while it has room, so the
# reservation allocates only where a store splits a node: this file converts
# every other page of a 128 KiB file, which fills leaves and splits them. Under
# --fail-nth each of those reservations fails in turn: ENOMEM, state unchanged.

vm s type=sw_protected                                   => 0
gmem g vm=s size=128K flags=mmap|init_shared             => 0
memslot s slot=0 gpa=4G size=128K gmem=g                 => 0
mmap g
write g off=0 len=128K byte=0x11                         => 0
convert g off=4K len=4K to=private                          => 0
convert g off=12K len=4K to=private                          => 0
convert g off=20K len=4K to=private                          => 0
convert g off=28K len=4K to=private                          => 0
convert g off=36K len=4K to=private                          => 0
convert g off=44K len=4K to=private                          => 0
convert g off=52K len=4K to=private                          => 0
# the eighth split range fills a leaf: an injected failure of its reservation
# is ENOMEM at the offset, with nothing changed (the page stays shared)
inject site=maple.prealloc nth=1
convert g off=60K len=4K to=private                      => ENOMEM error_offset=0xf000
inject off
read g off=60K len=4K                                    => 0 data=0x11 uniform=1
check
convert g off=60K len=4K to=private                      => 0
convert g off=68K len=4K to=private                          => 0
convert g off=76K len=4K to=private                          => 0
convert g off=84K len=4K to=private                          => 0
convert g off=92K len=4K to=private                          => 0
convert g off=100K len=4K to=private                          => 0
convert g off=108K len=4K to=private                          => 0
convert g off=116K len=4K to=private                          => 0
convert g off=124K len=4K to=private                          => 0
check
read g off=0 len=4K                                      => 0 data=0x11
read g off=4K len=1                                      => SIGBUS
# an injected failure of the reservation: ENOMEM at the offset, nothing changed
read g off=8K len=4K                                     => 0 data=0x11 uniform=1
check
# merging back: the neighbours holding the value are joined into one range
convert g off=0 len=128K to=private                      => 0
convert g off=0 len=128K to=shared                       => 0
read g off=0 len=128K                                    => 0 data=0x11 uniform=1
munmap g
close g
check
