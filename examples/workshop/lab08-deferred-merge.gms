# SPDX-License-Identifier: MIT
# Workshop lab 8: closing a file whose split huge page still has a pinned piece. The
# close succeeds; the pieces are freed as they are unreferenced, and only when the last
# one goes is the page merged and given back to the pool - by a worker, later (spec P27,
# P38: the "hugetlb_restructuring" workqueue, nr_pages_waiting_to_be_merged). Until it
# runs, the pool is short a page: a new file can fail with ENOMEM (spec section 4.19).
# docs/WORKSHOP.md, lab 8.
note Lab 8: the deferred merge after a close with pins
hugetlb pool size=2M nr=1                              => nr=1 free=1 resv=0
vm v type=sw_protected
gmem h vm=v size=2M flags=mmap|hugetlb page=2M
hugetlb stat size=2M                                   => free=1 resv=1
falloc h off=0 len=2M                                  => 0 blocks=4096
convert h off=12K len=4K to=shared                     => 0 folios=512
mmap h
pin h off=12K
munmap h
note The last reference to the file goes: the inode is evicted with one piece pinned.
close h
hugetlb stat size=2M                                   => nr=1 free=0 resv=0
run-deferred                                           => merged=0 queued=0 waiting=511
note QUESTION: a new 2 MiB HugeTLB guest_memfd is created now. What does it get?
gmem k vm=v size=2M flags=mmap|hugetlb page=2M         => ?
unpin h off=12K
note QUESTION: the pin is gone. How many free huge pages does the pool have now?
hugetlb stat size=2M                                   => free=?
run-deferred                                           => merged=1 queued=0 waiting=0
hugetlb stat size=2M                                   => nr=1 free=1 resv=0
hvo                                                    => freed=7 restored=0
gmem k vm=v size=2M flags=mmap|hugetlb page=2M         => 0
close k
check                                                  => violations=0
