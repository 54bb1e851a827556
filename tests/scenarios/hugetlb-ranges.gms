# SPDX-License-Identifier: MIT
# Counts from input near 2^64 (issue 10, defect 3): every count is checked
# against what the kernel's types hold, and gives the kernel's errno, never a
# wrapped counter. On an empty pool nothing changes.

hugetlb pool size=2M                                        => nr=0 free=0 resv=0 surplus=0

# hugetlb_acct_memory() takes a long: 2^63 is no count.
hugetlb reserve size=2M pages=0x8000000000000000            => EINVAL resv=0
hugetlb reserve size=2M pages=0xffffffffffffffff            => EINVAL resv=0
hugetlb unreserve size=2M pages=0x8000000000000000          => EINVAL resv=0
# The largest long is a count, and no machine holds it.
hugetlb reserve size=2M pages=0x7fffffffffffffff            => ENOMEM nr=0 resv=0
hugetlb reserve size=2M pages=0x7fffffffffffffff nosurplus  => ENOMEM nr=0 resv=0
hugetlb pool size=2M overcommit=0xffffffffffffffff          => overcommit=18446744073709551615
hugetlb reserve size=2M pages=0x7fffffffffffffff            => ENOMEM nr=0 resv=0 surplus=0
hugetlb pool size=2M overcommit=0                           => overcommit=0

# Subpool sizes are a mount's byte counts in pages: 2^43 - 1 pages of 2 MiB
# is the most a size can say, and no pool has that much.
subpool m size=2M min=0xffffffffffffffff                    => EINVAL resv=0
subpool m size=2M min=0x80000000000                         => EINVAL resv=0
subpool m size=2M max=0x80000000000                         => EINVAL resv=0
subpool m size=2M min=0x7ffffffffff                         => ENOMEM resv=0
subpool m size=2M max=0x7ffffffffff min=0x7ffffffffff       => ENOMEM resv=0
subpool m size=1G min=0x400000000                           => EINVAL resv=0
subpool m size=1G min=0x3ffffffff                           => ENOMEM resv=0
# A limit without a minimum reserves nothing: any size that fits is fine.
subpool n size=2M max=0x7ffffffffff                         => resv=0 used=0 rsv=18446744073709551615
subpool-put n                                               => resv=0

# A guest_memfd file's size is a loff_t: 2^42 pages of 2 MiB is one too many.
subpool g size=2M max=0x40000000000 gmem                    => EINVAL resv=0
subpool g size=2M max=0x3ffffffffff gmem                    => ENOMEM resv=0
subpool g size=2M max=0xffffffffffffffff gmem               => EINVAL resv=0

# A cgroup limit past what a page counter holds is "max" (page_counter_memparse()).
cgroup c limit=0xffffffffffffffff rsvd_limit=0x8000000000000000 => usage=0 rsvd=0
hpage a size=2M cgroup=c                                    => ENOSPC
hugetlb pool size=2M nr=1                                   => nr=1 free=1
hpage a size=2M cgroup=c                                    => nr=1 free=0
cgroup c                                                    => usage=1
hpage-put a                                                 => free=1

# A split order past every folio's is refused, not truncated to order 0.
hpage b size=2M                                             => free=0
hsplit b order=0x100000000                                  => EINVAL
hsplit b order=64                                           => EINVAL
hpage-put b                                                 => free=1
hugetlb pool size=2M nr=0                                   => nr=0 free=0 resv=0 surplus=0
