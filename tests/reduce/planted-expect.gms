# SPDX-License-Identifier: MIT
# A planted failure for `gmemsim reduce` (tests/test-reduce.c, docs/TESTING.md
# "Reducing a failing scenario"): 40 operation lines, of which only the three
# on file x matter. Punching 16K of 32K allocated leaves 32 blocks, not 64, so
# the punch line's expectation (blocks=64) is not met. Everything else passes.
gmem a size=64K flags=mmap|init_shared                  => 0
gmem b size=16K flags=mmap|init_shared                  => 0
falloc a off=0 len=64K                                  => 0 blocks=128
punch a off=4K len=4K                                   => 0 blocks=120
falloc a off=4K len=4K                                  => 0 blocks=128
stat a                                                  => size=65536
mmap a
write a off=0 len=8K byte=0x22                          => 0
read a off=0 len=8K                                     => 0 data=0x22 uniform=1
munmap a
falloc b off=0 len=16K                                  => 0 blocks=32
punch b off=0 len=16K                                   => 0 blocks=0
stat b                                                  => size=16384
check
gmem c size=8K                                          => size=8192 blksize=4096 blocks=0
falloc c off=0 len=8K                                   => 0 blocks=16
punch c off=0 len=4K                                    => 0 blocks=8
falloc c off=0 len=0 mode=0                             => EINVAL
gmem x size=64K flags=mmap                              => 0
falloc x off=0 len=32K                                  => 0 blocks=64
gmem d size=4K flags=mmap                               => 0
falloc d off=0 len=4K                                   => 0 blocks=8
punch d off=0 len=4K                                    => 0 blocks=0
falloc a off=8K len=8K                                  => 0 blocks=128
stat d                                                  => size=4096
falloc b off=0 len=4K                                   => 0 blocks=8
punch b off=4095 len=4K                                 => EINVAL
falloc b off=16K len=4K                                 => EINVAL
punch b off=4K len=4095                                 => EINVAL
punch b off=0 len=4K                                    => 0 blocks=0
stat b                                                  => size=16384
mmap b
write b off=0 len=4K byte=0x33                          => 0
read b off=0 len=4K                                     => 0 data=0x33 uniform=1
munmap b
close c
punch x off=0 len=16K                                   => 0 blocks=64
check
close a
close b
