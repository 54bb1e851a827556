# SPDX-License-Identifier: MIT
# The punch-hole strategy (seed 002; docs/STRATEGIES.md "punch-hole"): no
# conversion in place. Converting a range punches it, as fallocate(PUNCH_HOLE)
# would, whichever way it goes: the contents are lost (the next use reads
# zero), no reference is counted (a pin keeps its old page), and the next
# fault allocates new memory of the new kind. Its files get the thp backing,
# so a 4 KiB conversion splits a 2 MiB folio and frees a page: a 4 KiB hole
# in a 2 MiB block (`metrics` thp_holes=), which in-place conversion (thp,
# convert-thp.gms) does not leave. HugeTLB files: EOPNOTSUPP, as v8.

machine mem=8M backing=anon                                => mem=8388608
# the event counters (splits) from zero, whatever ran before in this process
metrics reset
vm s type=sw_protected strategy=punch-hole                 => 0
gmem g vm=s size=4M flags=mmap                             => 0
memslot s slot=0 gpa=4G size=4M gmem=g                     => 0
falloc g off=0 len=4M                                      => 0 blocks=8192
metrics                                                    => thp=2 thp_holes=0
gfault s gpa=4G private=1                                  => 0 level=2 gmem=1
stage2 s                                                   => leaves_2m=1

# to shared: the page is punched, the THP split; the guest's 2 MiB leaf goes
convert g off=4K len=4K to=shared                          => 0 folios=512 huge_folios=0
stat g                                                     => blocks=8184
metrics                                                    => thp=1 thp_holes=1 splits=1
stage2 s                                                   => leaves_2m=0
check                                                      => 0 violations=0
# the host's first use allocates a new page, zeroed
mmap g
read g off=4K len=4K                                       => 0 data=0x0 uniform=1
stat g                                                     => blocks=8192
metrics                                                    => thp_holes=0
write g off=4K len=4K byte=0x5a                            => 0

# a pin does not stop it: the pin keeps the old page, the file gets a new one
pin g off=4K                                               => 0
convert g off=4K len=4K to=private                         => 0
convert g off=4K len=4K to=shared                          => 0
read g off=4K len=4K                                       => 0 data=0x0 uniform=1
unpin g off=4K
check                                                      => 0 violations=0

# back to private the data is gone too; the guest maps it at 4 KiB from now on
write g off=4K len=4K byte=0x77                            => 0
convert g off=4K len=4K to=private                         => 0
gfault s gpa=0x100001000 private=1                         => 0 level=1 gmem=1
getpfn g off=0                                             => 0 max_order=0
getpfn g off=0x200000                                      => 0 max_order=9
check                                                      => 0 violations=0

# a whole 2 MiB block punched and refaulted gets a THP again
convert g off=2M len=2M to=shared                          => 0
stat g                                                     => blocks=4096
convert g off=2M len=2M to=private                         => 0
gfault s gpa=0x100200000 private=1                         => 0 level=2 gmem=1
metrics                                                    => thp=1
check                                                      => 0 violations=0

# a HugeTLB file cannot be converted by punching
hugetlb pool size=2M nr=1                                  => nr=1
vm t type=sw_protected strategy=punch-hole                 => 0
gmem h vm=t size=2M flags=mmap|hugetlb page=2M             => 0
falloc h off=0 len=2M                                      => 0
convert h off=4K len=4K to=shared                          => EOPNOTSUPP
check                                                      => 0 violations=0
