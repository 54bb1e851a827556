# SPDX-License-Identifier: MIT
# Spec P23 (HugeTLB guest_memfd, RFC v2 33/51): the folio for an index is a
# huge page at round_down(index, pages per huge page), the whole folio is
# zeroed when it is prepared, and st_blocks grows by folio_size / 512 per folio.
# (The ENOMEM paths of P23 - the subpool or the pool out of pages - are not
# shown: the reservation made at creation keeps the file's own pages.)
#
# The simulator follows the WIP branch (spec P31-P34, §4.3-4.5): the same
# operations give the same folio, zeroing and st_blocks here. Where RFC v2
# differed: it did not count st_blocks for 4 KiB files (WIP counts every folio,
# P33), and its fallocate rounded sub-huge-page ranges down where WIP answers
# EINVAL (P24, gmem-hugetlb-p24-falloc.gms): this file allocates whole pages.
#
# Also the regression for a usability trap: scenario HugeTLB pools are
# metadata-only by default (`machine backing=none`); such a page keeps no data
# and a read of it sees zeros, which the read line now flags with nodata=1.

hugetlb pool size=2M nr=2                               => nr=2 free=2
vm s type=sw_protected                                  => 0
gmem g vm=s size=4M flags=mmap|hugetlb page=2M          => 0 blksize=2097152 blocks=0
# a fault at index 0x201 brings the huge page at 0x200 (offset 2 MiB), whole
getpfn g off=0x201000                                   => 0 max_order=9
gmem-usage g                                            => folios_2m=1 folios_4k=0 spool_used=1
stat g                                                  => blocks=4096
getpfn g off=0x3ff000                                   => 0 max_order=9
gmem-usage g                                            => folios_2m=1
# the first huge page is its own folio: st_blocks += 2 MiB / 512
getpfn g off=0                                          => 0 max_order=9
stat g                                                  => blocks=8192
gmem-usage g                                            => folios_2m=2 spool_used=2
check                                                   => 0 violations=0

# metadata-only memory (the default): a write is dropped, a read sees zeros
# and says why (nodata=1)
convert g off=0 len=8K to=shared                        => 0
mmap g
write g off=0 len=8K byte=0x5a                          => 0 done=8192
read g off=0 len=8K                                     => 0 data=0 uniform=1 nodata=1
munmap g
close g
hugetlb pool size=2M nr=0                               => nr=0

# memory with data: the bytes come back, and a fresh folio is zeroed whole
machine backing=anon
hugetlb pool size=2M nr=1                               => nr=1 free=1
gmem h vm=s size=2M flags=mmap|hugetlb page=2M          => 0
falloc h off=0 len=2M                                   => 0 blocks=4096
convert h off=0 len=2M to=shared                        => 0
mmap h
write h off=0 len=2M byte=0x5a                          => 0 done=2097152
read h off=0 len=2M                                     => 0 data=0x5a uniform=1
# the page goes back to the pool with its bytes, and comes back zeroed
convert h off=0 len=2M to=private                       => 0
punch h off=0 len=2M                                    => 0 blocks=0
run-deferred
falloc h off=0 len=2M                                   => 0 blocks=4096
convert h off=0 len=2M to=shared                        => 0
read h off=0 len=2M                                     => 0 data=0 uniform=1
munmap h
close h
run-deferred
hugetlb stat size=2M                                    => nr=1 free=1 resv=0
check                                                   => 0 violations=0
