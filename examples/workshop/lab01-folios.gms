# SPDX-License-Identifier: MIT
# Workshop lab 1: what a folio is. A guest_memfd file's memory is held in its page cache
# as folios: one struct folio per power-of-two run of pages. A plain guest_memfd allocates
# order-0 (4 KiB) folios (upstream kvm_gmem_get_folio()); a HugeTLB-backed one allocates
# one folio per huge page (the HugeTLB series' allocator). docs/WORKSHOP.md, lab 1.
note Lab 1: what is a folio?
note A 2 MiB guest_memfd file on 4 KiB pages, every page allocated with fallocate():
vm v type=sw_protected
gmem small vm=v size=2M flags=mmap|init_shared
falloc small off=0 len=2M                              => 0 blocks=4096
note QUESTION: how many 4 KiB folios now hold the file's 2 MiB?
gmem-usage small                                       => folios_4k=?
note The same 2 MiB on a HugeTLB file: one huge page from the pool, one folio of order 9.
hugetlb pool size=2M nr=1                              => nr=1 free=1
gmem big vm=v size=2M flags=hugetlb page=2M            => 0 blksize=2097152
falloc big off=0 len=2M                                => 0 blocks=4096
gmem-usage big                                         => folios_4k=0 folios_2m=1
hugetlb stat size=2M                                   => nr=1 free=0
note show prints the folio: order=9, and ref=512 - the page cache holds one reference per page.
show big
note A HugeTLB file allocates and frees whole huge pages only: 4 KiB is EINVAL here.
falloc big off=0 len=4K                                => EINVAL
punch big off=0 len=2M                                 => 0 blocks=0
hugetlb stat size=2M                                   => free=1 resv=1
check                                                  => violations=0
