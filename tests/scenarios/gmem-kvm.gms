# SPDX-License-Identifier: MIT
# VMs, memslots and stage-2 over guest_memfd: KVM_CHECK_EXTENSION per VM type,
# KVM_SET_USER_MEMORY_REGION2 and binding errnos (spec §1.6), get_pfn through
# a slot after close (EFAULT), and mapping levels (rule 35, P29).

vm d                                                    => 0 gmem_flags=0x3 memory_attributes=0
vm u profile=upstream                                   => 0 gmem_flags=0x3
# single backing (the design): INIT_SHARED for every type, PRIVATE tracked in guest_memfd
vm sw type=sw_protected                                 => 0 gmem_flags=0x3 memory_attributes=0 gmem_memory_attributes=8
# legacy dual backing (vm_memory_attributes=1): PRIVATE per VM, no INIT_SHARED on CoCo
vm l type=sw_protected vm_memory_attributes=1           => 0 gmem_flags=0x1 memory_attributes=8 gmem_memory_attributes=0
vm bad type=sev                                         => EINVAL

# test_guest_memfd_guest's binding: slot 1 at 4G, on a default VM
gmem g vm=d size=16K flags=mmap|init_shared
memslot d slot=1 gpa=4G size=16K gmem=g                 => 0
# the same file pages again, an overlapping GPA, a modification
memslot d slot=2 gpa=8G size=4K gmem=g off=4K           => EINVAL
memslot d slot=2 gpa=0x100002000 size=4K                => EEXIST
memslot d slot=1 gpa=12G size=16K gmem=g                => EINVAL
memslot d slot=2 gpa=8G size=4K gmem=g flags=1          => EINVAL
memslot d slot=2 gpa=8G size=8K gmem=g off=12K          => EINVAL
memslot d slot=2 gpa=8G size=4K gmem=g off=1            => EINVAL
# a file of another VM
gmem other vm=u size=16K
memslot d slot=2 gpa=8G size=4K gmem=other              => EINVAL
# delete, delete again, re-create
memslot d slot=1 size=0                                 => 0
memslot d slot=1 size=0                                 => EINVAL
memslot d slot=1 gpa=4G size=16K gmem=g                 => 0
# a shared access in an mmap-able (guest_memfd-only) slot is served from the file
gfault d gpa=4G                                         => 0 level=1 gmem=1 exit=none
stage2 d                                                => leaves_4k=1
punch g off=0 len=4K                                    => 0
stage2 d gpa=4G                                         => level=0 leaves_4k=0
close g
gfault d gpa=4G                                         => EFAULT exit=memory_fault private=0
# no memslot: a shared access is emulated MMIO, a private one exits to userspace
gfault d gpa=8G                                         => 0 exit=mmio
gfault d gpa=8G private=1                               => EFAULT exit=memory_fault private=1
close other

# HugeTLB: 2M leaves where folio, slot edges and alignment allow
hugetlb pool size=2M nr=4
gmem h vm=sw size=8M flags=hugetlb page=2M
memslot sw slot=0 gpa=4G size=4M gmem=h                 => 0
gfault sw gpa=0x100001000                               => 0 level=2
stage2 sw gpa=0x1001ff000                               => level=2 leaves_2m=1
memslot sw slot=1 gpa=0x200001000 size=2M gmem=h off=4M => 0
gfault sw gpa=0x200001000                               => 0 level=1
memslot sw slot=2 gpa=12G size=1M gmem=h off=6M         => 0
gfault sw gpa=12G                                       => 0 level=1
punch h off=0 len=2M                                    => 0
stage2 sw                                               => leaves_2m=0 leaves_4k=2
memslot sw slot=2 size=0                                => 0
stage2 sw                                               => leaves_4k=1
check
