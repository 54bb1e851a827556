# SPDX-License-Identifier: MIT
# Where PRIVATE lives: per VM (kvm.vm_memory_attributes=1, legacy dual backing,
# VM-level KVM_SET_MEMORY_ATTRIBUTES, spec §1.8) or in guest_memfd (=0, single
# backing, P2-P4). Guest faults are routed by the attribute (rule 34): a
# mismatch exits with KVM_EXIT_MEMORY_FAULT, private accesses come from
# guest_memfd, shared ones from userspace_addr unless the slot is
# guest_memfd-only. Huge leaves need one attribute over their whole range.

# --- capabilities per mode ---
vm d vm_memory_attributes=1                              => 0 gmem_flags=0x3 memory_attributes=0 gmem_memory_attributes=0
vm s type=sw_protected                                   => 0 gmem_flags=0x3 memory_attributes=0 gmem_memory_attributes=8
vm l type=sw_protected vm_memory_attributes=1            => 0 gmem_flags=0x1 memory_attributes=8 gmem_memory_attributes=0
vm t type=tdx profile=upstream                           => 0 gmem_flags=0x1 memory_attributes=8 gmem_memory_attributes=0

# --- KVM_SET_MEMORY_ATTRIBUTES argument checks, in the kernel's order ---
attr l gpa=0 size=4K private flags=1                     => EINVAL
attr l gpa=0 size=4K attributes=0x10                     => EINVAL
attr d gpa=0 size=4K private                             => EINVAL
attr l gpa=0 size=0 private                              => EINVAL
attr l gpa=0xfffffffffffff000 size=8K private            => EINVAL
attr l gpa=0x800 size=4K private                         => EINVAL
attr l gpa=0 size=0x800 private                          => EINVAL
# attributes tracked in guest_memfd: the VM-level ioctl offers nothing
attr s gpa=0 size=4K private                             => EINVAL
# a range that already has the attributes is done without work
attr d gpa=0 size=4K                                     => 0
attr l gpa=0 size=4K                                     => 0

# --- legacy routing: a private-only file, shared memory from userspace_addr ---
gmem g vm=l size=16K
memslot l slot=0 gpa=4G size=16K gmem=g uaddr=0x7f0000000000 => 0
gfault l gpa=4G                                          => 0 level=1 gmem=0 exit=none private=0
gfault l gpa=4G private=1                                => EFAULT exit=memory_fault private=1
attr l gpa=4G size=8K private                            => 0
stage2 l                                                 => leaves_4k=0
gfault l gpa=4G                                          => 0 level=1 gmem=1 private=1
gfault l gpa=0x100001000 private=0                       => EFAULT exit=memory_fault private=0
gfault l gpa=0x100002000                                 => 0 level=1 gmem=0 private=0
stage2 l                                                 => leaves_4k=2
check
# punch zaps only the private leaves: the shared one maps userspace_addr
punch g off=0 len=16K                                    => 0
stage2 l gpa=0x100002000                                 => level=1 leaves_4k=1
# back to shared: the (re-faulted) private leaf goes
gfault l gpa=4G                                          => 0 level=1 gmem=1
attr l gpa=4G size=8K                                    => 0
stage2 l gpa=4G                                          => level=0 leaves_4k=1
close g
check

# --- legacy, HugeTLB: a 2M leaf only over a range of one attribute ---
hugetlb pool size=2M nr=2
gmem h vm=l size=4M flags=hugetlb page=2M
memslot l slot=1 gpa=8G size=4M gmem=h                   => 0
attr l gpa=8G size=4M private                            => 0
gfault l gpa=0x200003000                                 => 0 level=2 gmem=1
gfault l gpa=0x200200000                                 => 0 level=2
stage2 l                                                 => leaves_2m=2
check
# one 4K page of the first huge page turns shared: its leaf is zapped, and
# the rest of that range is mapped with 4K leaves from then on
attr l gpa=0x200001000 size=4K                           => 0
stage2 l                                                 => leaves_2m=1
gfault l gpa=0x200003000                                 => 0 level=1 private=1
gfault l gpa=0x200001000                                 => 0 level=1 gmem=0 private=0
# (plus the userspace_addr leaf of slot 0, which closing g did not zap)
stage2 l                                                 => leaves_2m=1 leaves_4k=3
check
# all private again: the next fault maps 2M once more
attr l gpa=0x200001000 size=4K private                   => 0
gfault l gpa=0x200005000                                 => 0 level=2
check
memslot l slot=1 size=0                                  => 0
close h

# --- single backing: the file decides; an INIT_SHARED file on a CoCo VM ---
gmem sh vm=s size=8K flags=mmap|init_shared              => 0
memslot s slot=0 gpa=4G size=8K gmem=sh                  => 0
gfault s gpa=4G                                          => 0 level=1 gmem=1 private=0
gfault s gpa=4G private=1                                => EFAULT exit=memory_fault private=1
gmem pr vm=s size=8K                                     => 0
memslot s slot=1 gpa=8G size=8K gmem=pr                  => 0
gfault s gpa=8G                                          => 0 level=1 gmem=1 private=1
gfault s gpa=8G private=0                                => EFAULT exit=memory_fault private=0
check
# test_memory_failure_guest (spec §3.2, rule 43): the guest has read the page;
# memory failure zaps its leaf, and the next access fails KVM_RUN with EHWPOISON
poison pr off=0                                          => 0
stage2 s gpa=8G                                          => level=0
gfault s gpa=8G                                          => EHWPOISON exit=memory_fault private=1
gfault s gpa=0x200001000                                 => 0 level=1
check
close sh
close pr
