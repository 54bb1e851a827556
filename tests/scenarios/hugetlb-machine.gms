# SPDX-License-Identifier: MIT
# The simulated machine has a memory size (issue 10, defect 5): a pool grows
# best effort up to what fits, as a write of nr_hugepages does, and a
# reservation beyond it fails at once with ENOMEM, never looping over the
# number asked for. The machine is as it was once the scenario ends.

machine mem=128M backing=none                      => mem=134217728 free=134217728
machine mem=3M                                     => EINVAL mem=134217728
machine mem=0                                      => EINVAL
machine mem=8T                                     => EINVAL
hugetlb pool size=2M nr=0xffffffffffffffff         => nr=64 free=64 max=64
machine                                            => free=0
machine mem=64M                                    => EBUSY mem=134217728
hugetlb pool size=1G nr=100000000                  => nr=0 max=0
hugetlb pool size=2M nr=16                         => nr=16 free=16
# The host's own limit (host=) bounds it too, whichever is lower.
hugetlb pool size=2M nr=0                          => nr=0
hugetlb pool size=2M host=3 nr=0xffffffffffffffff  => nr=3 free=3
hugetlb pool size=2M host=1 nr=0xffffffffffffffff  => nr=3 free=3
hugetlb pool size=2M host=0xffffffffffffffff       => nr=3
hugetlb pool size=2M nr=16                         => nr=16 free=16
hugetlb pool size=1G nr=100000000                  => nr=0
hugetlb pool size=2M nr=0                          => nr=0
hugetlb pool size=1G nr=100000000                  => nr=0
machine mem=2G                                     => mem=2147483648
hugetlb pool size=1G nr=100000000                  => nr=2 free=2 max=2
hugetlb pool size=2M overcommit=0xffffffffffffffff => overcommit=18446744073709551615
# Surplus pages need memory too: none is left.
hugetlb reserve size=2M pages=1                    => ENOMEM nr=0 resv=0
hugetlb reserve size=2M pages=0x7fffffffffffffff   => ENOMEM nr=0 resv=0
hugetlb pool size=1G nr=1                          => nr=1 free=1
hugetlb reserve size=2M pages=512                  => nr=512 free=512 resv=512 surplus=512
hugetlb reserve size=2M pages=1                    => ENOMEM resv=512
hugetlb unreserve size=2M pages=512                => nr=0 resv=0 surplus=0
hugetlb pool size=2M overcommit=0                  => overcommit=0
hugetlb pool size=1G nr=0                          => nr=0
