# SPDX-License-Identifier: MIT
# Memory nodes and the guest_memfd inode's memory policy (docs/MEMORY.md,
# "Memory nodes"; docs/GUEST_MEMFD.md, "Memory policy"): upstream's
# test_mbind and test_numa_allocation on a two-node machine, a BIND to a
# node without free huge pages, and per-node HugeTLB pools.

machine mem=64M
numa nodes=2                                            => nodes=2 local=0 mem=67108864
numa node=1                                             => mem=33554432 free=33554432
numa nodes=65                                           => EINVAL
numa local=2                                            => EINVAL

# test_mbind: a policy set through the mapping is the file's
gmem g size=16K flags=mmap|init_shared
mmap g
mbind g off=0 len=8K mode=interleave nodes=0x1          => 0
where g off=0                                           => ENOENT policy=3 policy_nodes=0x1
mbind g off=8K len=8K mode=bind nodes=0x1               => 0
where g off=8K                                          => ENOENT policy=2 policy_nodes=0x1
mbind g off=0 len=16K mode=default                      => 0
where g off=0                                           => ENOENT policy=0 policy_nodes=0
mbind g off=0 len=4K mode=bind nodes=0x4                => EINVAL
mbind g off=1 len=4K mode=bind nodes=0x1                => EINVAL
mbind g off=12K len=8K mode=bind nodes=0x1              => EFAULT

# test_numa_allocation: pages go where their policy binds them
write g off=0 len=4K byte=0xaa                          => 0
mbind g off=0 len=4K mode=bind nodes=0x1                => 0
punch g off=0 len=4K                                    => 0
mbind g off=0 len=8K mode=bind nodes=0x2                => 0
mbind g off=8K len=8K mode=bind nodes=0x1               => 0
write g off=0 len=16K byte=0xaa                         => 0
where g off=0                                           => node=1
where g off=4K                                          => node=1
where g off=8K                                          => node=0
where g off=12K                                         => node=0
punch g off=0 len=16K                                   => 0
mbind g off=0 len=8K mode=bind nodes=0x1                => 0
mbind g off=8K len=8K mode=bind nodes=0x2               => 0
write g off=0 len=16K byte=0xaa                         => 0
where g off=0                                           => node=0
where g off=12K                                         => node=1
# a strict check of mapped pages off the new nodes, without a move: EIO, nothing set
mbind g off=0 len=4K mode=bind nodes=0x2 flags=strict   => EIO
where g off=0                                           => node=0 policy=2 policy_nodes=0x1
check
munmap g
close g

# HugeTLB: per-node pools, and a BIND to a node with no free page
hugetlb pool size=2M nr=1 node=0                        => nr=1 node_nr=1 node_free=1
hugetlb pool size=2M nr=2 node=1                        => nr=3 node_nr=2 node_free=2
gmem h size=4M flags=mmap|hugetlb page=2M vm_private=1  => 0
mmap h
mbind h off=0 len=4M mode=bind nodes=0x2                => 0
falloc h off=0 len=4M                                   => 0
hugetlb stat size=2M node=1                             => nr=3 free=1 resv=0 node_free=0
gmem k size=2M flags=mmap|hugetlb page=2M vm_private=1  => 0
mmap k
mbind k off=0 len=2M mode=bind nodes=0x2                => 0
falloc k off=0 len=2M                                   => ENOMEM
hugetlb stat size=2M node=0                             => nr=3 free=1 resv=1 node_free=1
mbind k off=0 len=2M mode=default                       => 0
falloc k off=0 len=2M                                   => 0
hugetlb stat size=2M node=0                             => free=0 resv=0 node_free=0
check
