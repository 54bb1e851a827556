# SPDX-License-Identifier: MIT
# HugeTLB guest_memfd as the project's design has it (spec P31-P33, §3.4 without
# conversion): creation checks, fallocate granularity, the st_blocks test of the
# RFC (51/51) and the pool counters of its reporting test (46/51).

hugetlb pool size=2M nr=3                               => nr=3 free=3 resv=0

# creation checks, in order
gmem x size=2M flags=hugetlb page=2M vm_hugetlb=0       => EINVAL
gmem x size=2M page=2M                                  => EINVAL
gmem x size=2M flags=hugetlb|init_shared page=2M        => EINVAL
gmem x size=2M flags=hugetlb                            => EINVAL
gmem x size=2M flags=hugetlb order=10                   => EINVAL
gmem x size=1M flags=hugetlb page=2M                    => EINVAL
gmem x size=8M flags=hugetlb page=2M                    => ENOMEM
hugetlb stat size=2M                                    => nr=3 free=3 resv=0

# a 2-page file reserves its size at creation
gmem h size=4M flags=mmap|hugetlb page=2M vm_private=1  => 0 blksize=2097152 blocks=0
hugetlb stat size=2M                                    => nr=3 free=3 resv=2
gmem y size=4M flags=hugetlb page=2M vm_private=1       => ENOMEM

# granularity (spec P32): offset and len aligned to the huge page, else EINVAL
falloc h off=0 len=4K                                   => EINVAL
falloc h off=4K len=2M                                  => EINVAL
punch h off=0 len=4K                                    => EINVAL

# st_blocks through allocation, failures and punches; allocation beyond i_size:
# EINVAL (P32)
falloc h off=0 len=4M                                   => 0 blocks=8192
hugetlb stat size=2M                                    => nr=3 free=1 resv=0
falloc h off=4M len=2M                                  => EINVAL blocks=8192
punch h off=4M len=2M                                   => 0 blocks=8192
punch h off=2M len=2M                                   => 0 blocks=4096
hugetlb stat size=2M                                    => nr=3 free=2 resv=1
punch h off=2M len=2M                                   => 0 blocks=4096
falloc h off=0 len=4M                                   => 0 blocks=8192
getpfn h off=0x201000                                   => 0 max_order=9
check

# the whole page is one folio: a host write lands in it (private file: SIGBUS)
mmap h
fault h off=0                                           => SIGBUS
munmap h

# close: back to the baseline
close h
hugetlb stat size=2M                                    => nr=3 free=3 resv=0

# memory failure on a huge folio: the whole folio refuses the guest; punch frees it,
# and the pool dissolves it rather than reuse it (a free page was left for the file's
# reservation, so dissolve_free_hugetlb_folio() may): nr and max go down by one, and
# the page is kept out of use until unpoisoned
gmem p size=2M flags=hugetlb page=2M vm_private=1
falloc p off=0 len=2M                                   => 0 blocks=4096
poison p off=0x1000                                     => 0
getpfn p off=0x100000                                   => EHWPOISON
check
punch p off=0 len=2M                                    => 0 blocks=0
hugetlb stat size=2M                                    => nr=2 free=2 resv=1 max=2
unpoison count                                          => held=1
getpfn p off=0x100000                                   => 0 max_order=9
close p
hugetlb stat size=2M                                    => nr=2 free=2 resv=0 max=2
unpoison                                                => pages=1
unpoison count                                          => held=0
hugetlb stat size=2M                                    => nr=2 free=2 resv=0
