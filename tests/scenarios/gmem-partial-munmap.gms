# SPDX-License-Identifier: MIT
# munmap() and MAP_FIXED over part of a guest_memfd mapping (issue 15). The
# mapping splits as the kernel splits a VMA (__split_vma()): each piece keeps
# its file offset, and only the pages unmapped lose their host page-table
# entries (`where`: EFAULT in a hole, ENOENT where nothing is faulted in).
# Faults, conversions, punches and madvise() then go on through the pieces left.

# pages keep their data (HugeTLB pools default to metadata only)
machine backing=anon                                     => 0
hugetlb pool size=2M nr=1                                => 0 nr=1 free=1
vm s type=sw_protected                                   => 0
gmem g vm=s size=32K flags=mmap|init_shared              => 0
mmap g                                                   => 0
write g off=0 len=32K byte=0x11                          => 0 done=32768
# the middle: file pages 3 and 4 go, two pieces stay
munmap g off=12K len=8K                                  => 0
where g off=12K                                          => EFAULT
where g off=8K                                           => 0 node=0
where g off=20K                                          => 0 node=0
# a copy stops at the hole; the tail piece reads its own file page
read g off=8K len=8K                                     => SIGSEGV done=4096 data=0x11
read g off=20K len=4K                                    => 0 data=0x11 uniform=1
fault g off=16K                                          => SIGSEGV
pin g off=12K                                            => EFAULT
# the head and the tail: the pieces shrink
munmap g off=0 len=4K                                    => 0
munmap g off=28K len=4K                                  => 0
read g off=0 len=1                                       => SIGSEGV done=0
read g off=4K len=1                                      => 0 data=0x11
read g off=24K len=4K                                    => 0 data=0x11 uniform=1
# the kernel's EINVAL before any change: unaligned, empty
munmap g off=1 len=4K                                    => EINVAL
munmap g off=4K len=0                                    => EINVAL
# a length past the top of the address space, or one that wraps when rounded up,
# is EINVAL too: the range is not bounded by the mapping first
munmap g off=4K len=18446744073709551615                 => EINVAL
munmap g off=4K len=4611686018427387904                  => EINVAL
where g off=4K                                           => 0 node=0
check
# MAP_FIXED over part of the tail piece: the same file page mapped anew,
# the old entry gone, its neighbour kept; one copy runs across both
mmap g fixed off=20K len=4K                              => 0
where g off=20K                                          => ENOENT
where g off=24K                                          => 0 node=0
read g off=20K len=8K                                    => 0 data=0x11 uniform=1
# MAP_FIXED into a hole maps it again: the file kept its data
mmap g fixed off=12K len=4K                              => 0
read g off=12K len=4K                                    => 0 data=0x11 uniform=1
# NOREPLACE over a piece is EEXIST, over the rest of the hole fine
mmap g fixed noreplace off=16K len=8K                    => EEXIST
mmap g fixed noreplace off=16K len=4K                    => 0
write g off=8K len=16K byte=0x22                         => 0 done=16384
check
# conversion through a piece: the page goes from the host (SIGBUS), its
# neighbours in the same and the other pieces stay mapped
convert g off=20K len=4K to=private                      => 0
read g off=20K len=1                                     => SIGBUS done=0
pin g off=20K                                            => EFAULT
where g off=16K                                          => 0 node=0
where g off=24K                                          => 0 node=0
where g off=8K                                           => 0 node=0
convert g off=20K len=4K to=shared                       => 0
read g off=20K len=4K                                    => 0 data=0x22 uniform=1
# a punch through a piece: a fault there maps a fresh zeroed page
punch g off=24K len=4K                                   => 0
where g off=24K                                          => ENOENT
read g off=24K len=4K                                    => 0 data=0 uniform=1
pin g off=8K                                             => 0
unpin g off=8K                                           => 0
check
# madvise() over pieces: DONTNEED drops only those page mappings (the data
# stays in the file), a hole in the range is ENOMEM after the rest, REMOVE
# punches the file behind a piece
madvise g off=8K len=12K advice=dontneed                 => 0
where g off=8K                                           => ENOENT
where g off=16K                                          => ENOENT
where g off=20K                                          => 0 node=0
read g off=8K len=4K                                     => 0 data=0x22 uniform=1
madvise g off=0 len=8K advice=dontneed                   => ENOMEM
where g off=4K                                           => ENOENT
madvise g off=4K len=4K advice=remove                    => 0
read g off=4K len=4K                                     => 0 data=0 uniform=1
madvise g off=4K len=4K advice=collapse                  => EINVAL
madvise g off=28K len=4K advice=hugepage                 => ENOMEM
# madvise() only refuses a length that wraps; a huge one is ENOMEM for the hole
madvise g off=0 len=18446744073709551615 advice=dontneed  => EINVAL
madvise g off=0 len=4611686018427387904 advice=dontneed   => ENOMEM
check
# one munmap() over pieces and holes takes them all; the file maps again
munmap g off=0 len=32K                                   => 0
mmap g                                                   => 0
read g off=0 len=32K                                     => 0 data=0x11
read g off=20K len=4K                                    => 0 data=0x22 uniform=1
munmap g
close g
check
# HugeTLB: shared pages of a huge page mapped through two pieces. Back to
# private they go from both pieces' page tables, which lets the split page
# merge again (only the page cache and the host mappings may hold it);
# back to shared a piece faults its page in with the data kept (P9)
gmem h vm=s size=2M flags=mmap|hugetlb page=2M           => 0
falloc h off=0 len=2M                                    => 0
convert h off=0 len=64K to=shared                        => 0 folios=512 huge_folios=0
mmap h                                                   => 0
write h off=0 len=64K byte=0x33                          => 0 done=65536
munmap h off=16K len=16K                                 => 0
where h off=8K                                           => 0 node=0
where h off=40K                                          => 0 node=0
read h off=16K len=1                                     => SIGSEGV done=0
convert h off=0 len=64K to=private                       => 0 folios=1 huge_folios=1
read h off=8K len=1                                      => SIGBUS done=0
read h off=40K len=1                                     => SIGBUS done=0
gmem-usage h                                             => folios_2m=1 pieces=0
check
convert h off=32K len=4K to=shared                       => 0 folios=512 huge_folios=0
read h off=32K len=4K                                    => 0 data=0x33 uniform=1
munmap h
close h
check
