# SPDX-License-Identifier: MIT
# Pins, get_pfn, memory failure (spec §1.10, the memory-failure RFC's cases
# without the kill-policy matrix) and release: a mapping keeps the file open,
# a pin keeps a page past punch and close.

gmem g size=16K flags=mmap|init_shared
mmap g
write g off=4K len=4K byte=0x77                         => 0
pin g off=4K                                            => 0
punch g off=0 len=16K                                   => 0 blocks=0
check
read g off=4K len=4K                                    => data=0 uniform=1
unpin g off=4K

# get_pfn: past the end, order-0 folios
getpfn g off=16K                                        => EIO
getpfn g off=8K                                         => 0 max_order=0
stat g                                                  => blocks=16

# memory failure: the page stays, the host gets SIGBUS, the guest EHWPOISON
poison g off=12K                                        => ENOENT
falloc g off=0 len=16K                                  => 0 blocks=32
poison g off=4K                                         => 0
stat g                                                  => blocks=32
read g off=4K len=1                                     => SIGBUS
write g off=4K len=1 byte=1                             => SIGBUS
pin g off=4K                                            => EHWPOISON
getpfn g off=4K                                         => EHWPOISON
read g off=0 len=4K                                     => data=0 uniform=1
punch g off=0 len=16K                                   => 0 blocks=0
# the poisoned page is freed but kept out of use; the index gets a fresh one
unpoison count                                          => 0 held=1
read g off=4K len=4K                                    => data=0 uniform=1
unpoison                                                => 0 pages=1
unpoison count                                          => 0 held=0
check

# close with the mapping alive: the memory stays until munmap
write g off=0 len=4K byte=0x42
close g
read g off=0 len=4K                                     => data=0x42 uniform=1
munmap g
