# SPDX-License-Identifier: MIT
# Allocation failures in guest_memfd operations: each fails with ENOMEM and
# leaves st_blocks, the pool and the file as they were (the unit test
# test-gmem.c fails every allocation in turn; these are readable examples).

# create: the inode allocation, then the file's
inject site=gmem.inode nth=1
gmem g size=64K flags=mmap|init_shared                  => ENOMEM
inject site=gmem.file nth=1
gmem g size=64K flags=mmap|init_shared                  => ENOMEM
check
gmem g size=64K flags=mmap|init_shared                  => 0 blocks=0

# KVM objects have sites of their own: the VM, then a memslot
inject site=kvm.vm nth=1
vm v                                                    => ENOMEM
vm v                                                    => 0
gmem s vm=v size=16K flags=mmap|init_shared
inject site=kvm.memslot nth=1
memslot v slot=1 gpa=4G size=16K gmem=s                 => ENOMEM
memslot v slot=1 gpa=4G size=16K gmem=s                 => 0
close s

# fallocate: the third page of four fails; the two before it are given back
falloc g off=0 len=4K                                   => 0 blocks=8
inject site=page_alloc nth=3
falloc g off=0 len=20K                                  => ENOMEM blocks=8
check
falloc g off=0 len=20K                                  => 0 blocks=40

# a host fault: no page, no mapping, nothing allocated
mmap g
inject site=page_alloc nth=1
write g off=32K len=1 byte=1                            => ENOMEM done=0
stat g                                                  => blocks=40
write g off=32K len=1 byte=1                            => 0
stat g                                                  => blocks=48

# HugeTLB: a file whose subpool cannot be allocated
hugetlb pool size=2M nr=2
inject site=hugetlb.subpool nth=1
gmem h size=4M flags=hugetlb page=2M vm_private=1       => ENOMEM
hugetlb stat size=2M                                    => nr=2 free=2 resv=0
gmem h size=4M flags=hugetlb page=2M vm_private=1       => 0
hugetlb stat size=2M                                    => nr=2 free=2 resv=2
close h
munmap g
close g
