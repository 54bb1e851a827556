# SPDX-License-Identifier: MIT
# Host access through mmap() (spec §1): shared-only mappings, zero-filled
# pages, data that survives until a punch, SIGBUS past i_size.
gmem g size=16K flags=mmap|init_shared                  => 0
mmap g                                                  => 0
read g off=0 len=16K                                    => 0 data=0x0 uniform=1 done=16384
write g off=4K len=8K byte=0xa5                         => 0 done=8192
read g off=4K len=8K                                    => 0 data=0xa5 uniform=1
read g off=0 len=4K                                     => 0 data=0x0 uniform=1
fault g off=12K                                         => 0
punch g off=4K len=4K                                   => 0
read g off=4K len=4K                                    => 0 data=0x0 uniform=1
read g off=8K len=1                                     => 0 data=0xa5
munmap g                                                => 0
# a mapping longer than the file: SIGBUS past i_size
mmap g len=32K                                          => 0
read g off=16K len=1                                    => SIGBUS done=0
write g off=12K len=8K byte=1                           => SIGBUS done=4096
fault g off=20K                                         => SIGBUS
# the mapping keeps the file alive after close
close g                                                 => 0
read g off=12K len=4K                                   => 0 data=0x1 uniform=1
munmap g                                                => 0
# no FLAG_MMAP: no mapping
gmem p size=8K flags=init_shared                        => 0
mmap p                                                  => ENODEV
# MAP_PRIVATE is refused
gmem q size=8K flags=mmap|init_shared                   => 0
mmap q private                                          => EINVAL
# without INIT_SHARED the pages start private: SIGBUS on a DEFAULT VM too
gmem r size=8K flags=mmap                               => 0
mmap r                                                  => 0
read r off=0 len=1                                      => SIGBUS
fault r off=4K                                          => SIGBUS
