# SPDX-License-Identifier: MIT
# KVM_SET_USER_MEMORY_REGION2 with KVM_MEM_GUEST_MEMFD (spec §1): binding
# rules a guest_memfd imposes, no vCPU needed.
vm v                                                    => 0
gmem g vm=v size=2M flags=mmap|init_shared              => 0
memslot v slot=0 gpa=0 size=1M gmem=g off=0             => 0
# the same range of the file cannot back two slots (EINVAL on 6.18)
memslot v slot=1 gpa=4M size=4K gmem=g off=0            => EINVAL
memslot v slot=1 gpa=4M size=1M gmem=g off=1M           => 0
# offset and size inside the file and page-aligned
memslot v slot=2 gpa=8M size=4K gmem=g off=2M           => EINVAL
memslot v slot=2 gpa=8M size=8K gmem=g off=2040K        => EINVAL
memslot v slot=2 gpa=8M size=4K gmem=g off=16           => EINVAL
memslot v slot=2 gpa=0x800 size=4K gmem=g off=0         => EINVAL
# another VM's file
vm w                                                    => 0
memslot w slot=0 gpa=0 size=4K gmem=g off=0             => EINVAL
# deleting a slot frees its range of the file
memslot v slot=0 size=0                                 => 0
memslot v slot=2 gpa=8M size=4K gmem=g off=0            => 0
# a closed file is a closed fd
gmem c vm=v size=4K                                     => 0
mmap c                                                  => ENODEV
close c                                                 => 0
falloc g off=0 len=2M                                   => 0
punch g off=0 len=2M                                    => 0
