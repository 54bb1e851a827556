# SPDX-License-Identifier: MIT
# A planted WARN for `gmemsim reduce` (tests/test-reduce.c): the scenario of
# tests/scenarios/convert-rfc-v2.gms without its `expect-warns 1`. Under the
# rfc-v2 conversion profile a failed store at the first work item makes the
# reviewed rollback loop step below index 0, which gmemsim reports as a WARN;
# here nothing accounts for it, so the run fails on that WARN.

vm r type=sw_protected conversion=rfc-v2                   => 0
gmem a vm=r size=16K flags=mmap|init_shared                => 0
convert a off=0 len=0 to=private                           => 0
convert a off=64K len=0 to=private                         => 0
convert a off=0 len=4K to=private error_offset=0x1234      => EINVAL error_offset=0x1234
convert a off=0x800 len=4K to=private                      => EINVAL
convert a off=12K len=8K to=private                        => EINVAL
convert a off=0 len=4K to=private                          => 0
convert a off=8K len=4K to=private                         => 0
convert a off=0 len=16K to=private                         => 0
convert a off=0 len=16K to=shared                          => 0
close a

gmem g vm=r size=128K flags=mmap|init_shared               => 0
mmap g
write g off=0 len=128K byte=0x11                           => 0
convert g off=4K len=4K to=private                         => 0
convert g off=12K len=4K to=private                        => 0
convert g off=20K len=4K to=private                        => 0
convert g off=28K len=4K to=private                        => 0
convert g off=36K len=4K to=private                        => 0
convert g off=44K len=4K to=private                        => 0
convert g off=52K len=4K to=private                        => 0
check

inject site=maple.prealloc nth=1
convert g off=48K len=32K to=private                       => ENOMEM error_offset=0xe000
inject off
expect-warns 0
read g off=48K len=4K                                      => 0 data=0x11 uniform=1
read g off=56K len=24K                                     => 0 data=0x11 uniform=1
check

inject site=maple.prealloc nth=1
convert g off=88K len=4K to=private                        => ENOMEM error_offset=0x16000
inject off
read g off=88K len=4K                                      => 0 data=0x11 uniform=1
check
munmap g
close g

vm p type=sw_protected conversion=planned                  => 0
gmem h vm=p size=128K flags=mmap|init_shared               => 0
convert h off=4K len=4K to=private                         => 0
convert h off=12K len=4K to=private                        => 0
convert h off=20K len=4K to=private                        => 0
convert h off=28K len=4K to=private                        => 0
convert h off=36K len=4K to=private                        => 0
convert h off=44K len=4K to=private                        => 0
convert h off=52K len=4K to=private                        => 0
inject site=maple.prealloc nth=1
convert h off=88K len=4K to=private                        => ENOMEM error_offset=0x16000
inject off
expect-warns 0
convert h off=88K len=4K to=private                        => 0
check
close h
