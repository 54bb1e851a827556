# SPDX-License-Identifier: MIT
# What the lazy strategy (examples/strategy/lazy.c) changes, line by line beside the built-in
# thp (for the THP file) and planned (for the HugeTLB file) it is a variant of: each of
# strategy ABI 3's file hooks answered against the kernel's rule.
#   gmemsim run --oracle --strategy ./lazy.so lazy.gms

vm s type=sw_protected strategy=lazy                      => 0
gmem g vm=s size=4M flags=mmap|init_shared                => 0
mmap g                                                    => 0

# preallocation (alloc_order): fallocate takes the whole 2 MiB block, as thp does
falloc g off=0 len=4K                                     => 0 blocks=4096
metrics                                                   => thp=1
# a fault takes only its 4 KiB page: thp would take the second block whole (blocks=8192,
# thp=2); the rest of that page's 2 MiB buddy block is free but no longer whole (thp_holes)
write g off=2M len=4K byte=0x5a                           => 0
stat g                                                    => 0 blocks=4104
metrics                                                   => thp=1 thp_holes=511

# punch: the THP is kept and its part zeroed; thp splits it and frees the page (there: 8184
# blocks, one of its 2 THPs left, the freed page a 4 KiB hole in the split one's block)
write g off=0 len=8K byte=0x11                            => 0
punch g off=4K len=4K                                     => 0 blocks=4104
metrics                                                   => thp=1 thp_holes=511
read g off=0 len=4K                                       => 0 data=0x11 uniform=1
read g off=4K len=4K                                      => 0 data=0x0 uniform=1
check                                                     => 0 violations=0

# free of the last piece (free_split): a split HugeTLB page punched out of its file waits for
# the deferred worker; planned merges it at the punch (free=1 at once, holes=0)
hugetlb pool size=2M nr=1                                 => nr=1 free=1 resv=0
gmem h vm=s size=2M flags=mmap|hugetlb page=2M            => 0
falloc h off=0 len=2M                                     => 0
convert h off=4K len=4K to=shared                         => 0 folios=512 huge_folios=0
punch h off=0 len=2M                                      => 0 blocks=0
hugetlb stat size=2M                                      => nr=1 free=0
metrics                                                   => holes=512
run-deferred                                              => 0 merged=1
hugetlb stat size=2M                                      => nr=1 free=1
metrics                                                   => holes=0
check                                                     => 0 violations=0
