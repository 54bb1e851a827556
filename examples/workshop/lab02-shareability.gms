# SPDX-License-Identifier: MIT
# Workshop lab 2: shared and private are properties of a file index, kept in the file
# (in-place conversion, v8: a maple tree in the guest_memfd inode, spec P1, P5, P11, P15).
# KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd flips them; the host's page faults
# (kvm_gmem_fault_user_mapping()) and the guest's (kvm_mem_is_private()) read them.
# docs/WORKSHOP.md, lab 2.
note Lab 2: shared or private, per 4 KiB index
machine backing=anon
vm v type=sw_protected
gmem g vm=v size=16K flags=mmap|init_shared
gmem-usage g                                           => attr_ranges=1
mmap g
write g off=0 len=16K byte=0xaa                        => 0
note Page 2 (offset 8K) becomes private: the tree now holds shared, private, shared.
convert g off=8K len=4K to=private                     => 0
gmem-usage g                                           => attr_ranges=3
read g off=0 len=4K                                    => 0 data=0xaa
note QUESTION: the host touches page 2 through its mapping. What does it get?
fault g off=8K                                         => ?
note The guest sees it private; a shared access by the guest exits to userspace instead.
memslot v slot=0 gpa=4G size=16K gmem=g
gfault v gpa=0x100002000                               => 0 private=1 gmem=1 level=1
gfault v gpa=0x100002000 private=0                     => EFAULT exit=memory_fault
note Back to shared: the data was never touched (sw_protected), and the tree merges again.
convert g off=8K len=4K to=shared                      => 0
read g off=8K len=4K                                   => 0 data=0xaa uniform=1
gmem-usage g                                           => attr_ranges=1
note Punching a hole frees the page but keeps the index's attribute; the next touch reads 0.
punch g off=8K len=4K
read g off=8K len=4K                                   => 0 data=0
check                                                  => violations=0
