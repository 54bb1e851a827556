# SPDX-License-Identifier: MIT
# The thp strategy (seeds 001, 002; docs/STRATEGIES.md "thp"): the files of its
# VMs without HugeTLB get best-effort 2 MiB folios from the buddy allocator,
# the historical KVM_GUEST_MEMFD_ALLOW_HUGEPAGE: asked for with
# flags=allow_hugepage (the size must be whole 2 MiB: EINVAL), or implied by a
# size of whole 2 MiB (other sizes: 4 KiB folios). A folio is 2 MiB where its whole block is in the file, of one
# kind and free, and 4 KiB otherwise (fragmentation, an injected failure);
# a conversion to shared splits it (split_huge_page(), EAGAIN while a page
# is referenced beyond the page cache); nothing merges it back; no HugeTLB
# pool is charged. `metrics`: thp= intact THPs, thp_holes= free 4 KiB
# pages in partly used 2 MiB blocks.

machine mem=8M backing=anon                                => mem=8388608
# the event counters (splits) from zero, whatever ran before in this process
metrics reset
vm s type=sw_protected strategy=thp                        => 0
gmem bad vm=s size=1M flags=mmap|allow_hugepage            => EINVAL
# without the flag, a file of that size just gets 4 KiB folios
gmem small4k vm=s size=1M flags=mmap                       => 0
falloc small4k off=0 len=4K                                => 0 blocks=8
punch small4k off=0 len=1M                                 => 0
gmem g vm=s size=4M flags=mmap                             => 0 blksize=4096
memslot s slot=0 gpa=4G size=4M gmem=g                     => 0
# one page asked for, a whole 2 MiB folio allocated
falloc g off=0 len=4K                                      => 0 blocks=4096
metrics                                                    => thp=1 thp_holes=0 splits=0
gfault s gpa=4G private=1                                  => 0 level=2 gmem=1
getpfn g off=0x1000                                        => 0 max_order=9
stage2 s                                                   => leaves_4k=0 leaves_2m=1

# to shared splits the folio: 4 KiB pages from now on, never merged back
convert g off=4K len=4K to=shared                          => 0 folios=512 huge_folios=0
metrics                                                    => thp=0 splits=1 leaves_2m=0
getpfn g off=0                                             => 0 max_order=0
stat g                                                     => blocks=4096
mmap g
write g off=4K len=4K byte=0x5a                            => 0
convert g off=4K len=4K to=private                         => 0 folios=512 huge_folios=0
getpfn g off=0                                             => 0 max_order=0
gfault s gpa=0x100001000 private=1                         => 0 level=1 gmem=1
check                                                      => 0 violations=0

# a block of both kinds gets 4 KiB folios: the shared page stays 4 KiB
convert g off=0x300000 len=4K to=shared                    => 0
falloc g off=2M len=2M                                     => 0 blocks=8192
metrics                                                    => thp=0
getpfn g off=0x200000                                      => 0 max_order=0
convert g off=0x300000 len=4K to=private                   => 0
punch g off=2M len=2M                                      => 0 blocks=4096

# an injected failure of the 2 MiB allocation falls back to 4 KiB
inject site=page_alloc.thp nth=1
falloc g off=2M len=4K                                     => 0 blocks=4104
inject off
metrics                                                    => thp=0
punch g off=2M len=2M                                      => 0 blocks=4096
falloc g off=2M len=4K                                     => 0 blocks=8192
metrics                                                    => thp=1
punch g off=0 len=4M                                       => 0 blocks=0
check                                                      => 0 violations=0

# fragmentation: a page of another file's 4 KiB folios in each 2 MiB block
vm t type=sw_protected                                     => 0
gmem small vm=t size=8M flags=mmap                         => 0
falloc small off=0 len=8M                                  => 0 blocks=16384
punch small off=4K len=0x1ff000                            => 0
punch small off=0x201000 len=0x1ff000                      => 0
punch small off=0x401000 len=0x1ff000                      => 0
punch small off=0x601000 len=0x1ff000                      => 0 blocks=32
metrics                                                    => thp=0 thp_holes=2044
falloc g off=0 len=4K                                      => 0 blocks=8
metrics                                                    => thp=0 thp_holes=2043
getpfn g off=0                                             => 0 max_order=0
punch small off=0 len=8M                                   => 0
punch g off=0 len=4M                                       => 0
falloc g off=0 len=4K                                      => 0 blocks=4096
metrics                                                    => thp=1 thp_holes=0
check                                                      => 0 violations=0

# a THP is one folio: a pin on any of its pages fails a conversion to private
gmem h vm=s size=2M flags=mmap|init_shared                 => 0
falloc h off=0 len=2M                                      => 0 blocks=4096
metrics                                                    => thp=2
mmap h
write h off=0 len=8K byte=0x11                             => 0
pin h off=0                                                => 0
convert h off=4K len=4K to=private                         => EAGAIN error_offset=0x1000
unpin h off=0
# and so does a host mapping of another of its pages (a page's own goes first)
convert h off=4K len=4K to=private                         => EAGAIN error_offset=0x1000
munmap h
# to private does not split: the THP is part private, mapped at 4 KiB
convert h off=4K len=4K to=private                         => 0
metrics                                                    => thp=2
# and a pin makes its split, and so the conversion to shared, fail
mmap h
pin h off=0                                                => 0
convert h off=4K len=4K to=shared                          => EAGAIN error_offset=0x1000
metrics                                                    => thp=2
unpin h off=0
convert h off=4K len=4K to=shared                          => 0
metrics                                                    => thp=1
read h off=0 len=8K                                        => 0 data=0x11 uniform=1
check                                                      => 0 violations=0
