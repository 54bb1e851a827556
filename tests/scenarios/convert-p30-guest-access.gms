# SPDX-License-Identifier: MIT
# Spec P30 (RFC v2 conversion tests, 12/51): a guest access whose kind
# (private or shared) differs from the page's attribute does not map the page:
# KVM_RUN fails and the vCPU exits with KVM_EXIT_MEMORY_FAULT. The RFC v2 test
# helpers accepted either EFAULT (exit_reason 0) or EACCES (exit_reason
# KVM_EXIT_MEMORY_FAULT), and retried EAGAIN twice.
#
# The simulator's `gfault` (simulator only: the TDP MMU's fault path) answers
# as upstream's kvm_mmu_faultin_pfn(): EFAULT with exit=memory_fault and the
# access's kind in private= (memory_fault.flags). It never answers EACCES,
# exit_reason 0 or EAGAIN for a mismatch, under any ordering; the same on a
# 4 KiB file and on a HugeTLB file, and under conversion=rfc-v2.

hugetlb pool size=2M nr=1                                => nr=1 free=1
vm r type=sw_protected conversion=rfc-v2                 => 0
gmem g vm=r size=16K flags=mmap                          => 0
memslot r slot=0 gpa=4G size=16K gmem=g                  => 0
# private page, shared access: EFAULT, memory-fault exit
gfault r gpa=4G private=0                                => EFAULT exit=memory_fault private=0
gfault r gpa=4G private=1                                => 0 level=1 gmem=1 private=1
convert g off=4K len=4K to=shared                        => 0
# shared page, private access: the same answer
gfault r gpa=0x100001000 private=1                       => EFAULT exit=memory_fault private=1
gfault r gpa=0x100001000 private=0                       => 0 level=1 gmem=1 private=0
stage2 r                                                 => leaves_4k=2

# a HugeTLB file (the planned ordering, WIP encoding): the same answers
vm h type=sw_protected                                   => 0
gmem hg vm=h size=2M flags=mmap|hugetlb page=2M          => 0
memslot h slot=0 gpa=4G size=2M gmem=hg                  => 0
gfault h gpa=4G private=0                                => EFAULT exit=memory_fault private=0
gfault h gpa=4G private=1                                => 0 level=2 gmem=1 private=1
convert hg off=0x100000 len=4K to=shared                 => 0
gfault h gpa=0x100100000 private=1                       => EFAULT exit=memory_fault private=1
gfault h gpa=0x100100000 private=0                       => 0 level=1 gmem=1 private=0
check                                                    => 0 violations=0
memslot h slot=0 size=0                                  => 0
memslot r slot=0 size=0                                  => 0
close hg
close g
run-deferred
hugetlb stat size=2M                                     => nr=1 free=1 resv=0
