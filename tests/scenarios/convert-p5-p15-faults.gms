# SPDX-License-Identifier: MIT
# Who may touch a page after a conversion (in-place conversion v8): host
# faults consult the file's attribute per index (spec P5: shared is
# allocated, zeroed on first use and mapped; private is SIGBUS, also for a
# pin), and guest faults are routed by it (P15: an access of the other kind
# exits with KVM_EXIT_MEMORY_FAULT). A GPA without a slot is shared (P14).

vm s type=sw_protected                                   => 0
gmem g vm=s size=16K flags=mmap                          => 0
memslot s slot=0 gpa=4G size=16K gmem=g                  => 0
mmap g
# a file without INIT_SHARED starts private
read g off=0 len=1                                       => SIGBUS
pin g off=0                                              => EFAULT
gfault s gpa=4G private=0                                => EFAULT exit=memory_fault private=0
gfault s gpa=4G private=1                                => 0 level=1 gmem=1 private=1
# one page turns shared: only that index changes (selftest indexing)
convert g off=4K len=4K to=shared                        => 0
read g off=4K len=4K                                     => 0 data=0 uniform=1
read g off=0 len=1                                       => SIGBUS
read g off=8K len=1                                      => SIGBUS
gfault s gpa=0x100001000 private=1                       => EFAULT exit=memory_fault private=1
gfault s gpa=0x100001000 private=0                       => 0 level=1 gmem=1 private=0
gfault s gpa=4G private=1                                => 0 level=1 gmem=1 private=1
stage2 s                                                 => leaves_4k=2
check
# back to private: the host mapping and the shared leaf go
convert g off=4K len=4K to=private                       => 0
read g off=4K len=1                                      => SIGBUS
stage2 s                                                 => leaves_4k=1
gfault s gpa=0x100001000 private=0                       => EFAULT exit=memory_fault private=0
check
# P14: once the slot is gone the GPA is shared: MMIO, not a memory fault
memslot s slot=0 size=0                                  => 0
gfault s gpa=4G private=0                                => 0 exit=mmio
munmap g
close g
check
