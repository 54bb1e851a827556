# SPDX-License-Identifier: MIT
# The cases of the upstream selftest tools/testing/selftests/kvm/guest_memfd_test.c
# (spec §3.1) that need no vCPU, on a 4-page file (P = 4K). Each creation states
# the VM it models: vm_private=1 is a CoCo or sw_protected VM (MMAP only).

# test_guest_memfd_flags: single bits, on a default VM and a CoCo VM
gmem f0 size=4K flags=mmap                              => 0
gmem f1 size=4K flags=init_shared                       => 0
gmem f2 size=4K flags=init_shared vm_private=1          => EINVAL
gmem f3 size=4K flags=0x8                               => EINVAL
gmem f4 size=4K flags=0x8000000000000000                => EINVAL
close f0
close f1

# test_create_guest_memfd_invalid_sizes (a sample of 1..P-1), and zero
gmem bad size=1                                         => EINVAL
gmem bad size=4095 flags=mmap|init_shared               => EINVAL
gmem bad size=0                                         => EINVAL

# test_create_guest_memfd_multiple and test_file_size
gmem a size=4K                                          => size=4096 blksize=4096 blocks=0
gmem b size=8K flags=mmap                               => size=8192 blksize=4096 blocks=0
stat a                                                  => size=4096
close a
close b

# test_fallocate: the nine steps of spec rule 20, with st_blocks (design profile)
gmem g size=16K flags=mmap|init_shared
falloc g off=0 len=16K                                  => 0 blocks=32
punch g off=4095 len=4K                                 => EINVAL
falloc g off=16K len=4K                                 => EINVAL
falloc g off=20K len=4K                                 => EINVAL
punch g off=16K len=4K                                  => 0 blocks=32
punch g off=20K len=4K                                  => 0
punch g off=4K len=4095                                 => EINVAL
punch g off=4K len=4K                                   => 0 blocks=24
falloc g off=4K len=4K                                  => 0 blocks=32
# the check order of vfs_fallocate() and kvm_gmem_fallocate()
falloc g off=0 len=0 mode=0                             => EINVAL
falloc g off=0 len=4K mode=0                            => EOPNOTSUPP
falloc g off=0 len=4K mode=punch_hole                   => EOPNOTSUPP
falloc g off=0 len=4K mode=keep_size|zero_range         => EOPNOTSUPP
falloc g off=1 len=4K mode=keep_size|collapse_range     => EOPNOTSUPP
check

# test_invalid_punch_hole
punch g off=0 len=1                                     => EINVAL
punch g off=0 len=4095                                  => EINVAL
punch g off=0 len=4097                                  => EINVAL
punch g off=1 len=1                                     => EINVAL
punch g off=1 len=4095                                  => EINVAL
punch g off=1 len=4K                                    => EINVAL
punch g off=1 len=4097                                  => EINVAL
punch g off=4K len=1                                    => EINVAL
punch g off=4K len=4095                                 => EINVAL
punch g off=4K len=4097                                 => EINVAL
close g

# test_mmap_supported: fill 0xaa, punch page 0, it reads 0, the rest keep 0xaa
gmem m size=16K flags=mmap|init_shared
mmap m
write m off=0 len=16K byte=0xaa                         => 0
stat m                                                  => blocks=32
punch m off=0 len=4K                                    => 0 blocks=24
read m off=0 len=4K                                     => data=0 uniform=1
read m off=4K len=12K                                   => data=0xaa uniform=1
write m off=0 len=4K byte=0x55                          => 0
read m off=0 len=4K                                     => data=0x55 uniform=1
check
munmap m
close m

# test_fault_overflow: a mapping of 4 x size; SIGBUS past i_size, data below kept
gmem o size=16K flags=mmap|init_shared
mmap o len=64K
write o off=0 len=64K byte=0xaa                         => SIGBUS done=16384
read o off=0 len=16K                                    => data=0xaa uniform=1
fault o off=16K                                         => SIGBUS
close o
munmap o

# test_fault_private: without INIT_SHARED every host access SIGBUSes
gmem p size=16K flags=mmap
mmap p
read p off=0 len=1                                      => SIGBUS done=0
write p off=12K len=1 byte=1                            => SIGBUS
stat p                                                  => blocks=0
munmap p
close p

# test_mmap_cow and test_mmap_not_supported
gmem c size=16K flags=mmap
mmap c private                                          => EINVAL
close c
gmem n size=16K
mmap n len=4K                                           => ENODEV
mmap n                                                  => ENODEV
close n

# st_blocks: counted in the design profile, always 0 upstream (spec rule 12)
gmem u size=16K profile=upstream                        => 0 blocks=0
falloc u off=0 len=16K                                  => 0 blocks=0
close u
