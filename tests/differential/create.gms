# SPDX-License-Identifier: MIT
# KVM_CREATE_GUEST_MEMFD on a DEFAULT VM: what upstream accepts and refuses
# (spec §1). Run by `gmemsim diff`; the expectations are upstream's
# (the simulator meets them under profile=upstream, which the runner sets).
vm v                                                    => 0 gmem_flags=0x3
gmem ok vm=v size=16K flags=mmap|init_shared            => 0 size=16384 blksize=4096 blocks=0
gmem plain vm=v size=2M                                 => 0 size=2097152
gmem mmap_only vm=v size=4K flags=mmap                  => 0
gmem shared_only vm=v size=4K flags=init_shared
gmem zero vm=v size=0                                   => EINVAL
gmem unaligned vm=v size=4097                           => EINVAL
gmem tiny vm=v size=1                                   => EINVAL
gmem unknown vm=v size=4K flags=0x100                   => EINVAL
# without vm=: a DEFAULT VM of its own
gmem own size=8K flags=mmap|init_shared                 => 0 size=8192
stat ok                                                 => 0 size=16384 blksize=4096 blocks=0
close own                                               => 0
