# SPDX-License-Identifier: MIT
# Spec P1 (in-place conversion v8, 01/46): the PRIVATE attribute lives in the
# guest_memfd inode, a maple tree over the file's indices [0, size/P - 1] whose
# adjacent ranges with equal values are stored as one entry. At creation the
# whole file is one range: shared with INIT_SHARED, else private.
# `gmem-usage` counts the tree's entries (attr_ranges, simulator only) and
# `show NAME` prints them ("shareability: [first-last] private|shared").

vm s type=sw_protected                                   => 0
gmem g vm=s size=16K flags=mmap                          => 0
gmem-usage g                                             => attr_ranges=1
show g
# one page in the middle turns shared: private | shared | private
convert g off=4K len=4K to=shared                        => 0
gmem-usage g                                             => attr_ranges=3
# its neighbour too: the two shared pages are one range, not two
convert g off=8K len=4K to=shared                        => 0
gmem-usage g                                             => attr_ranges=3
show g
# the last page joins them: private | shared
convert g off=12K len=4K to=shared                       => 0
gmem-usage g                                             => attr_ranges=2
# converting a page to what it is already adds no entry
convert g off=12K len=4K to=shared                       => 0
gmem-usage g                                             => attr_ranges=2
# all back to private: one range again
convert g off=4K len=12K to=private                      => 0
gmem-usage g                                             => attr_ranges=1
show g
check                                                    => 0 violations=0

# INIT_SHARED: one shared range over the whole file; a private hole splits it
gmem h vm=s size=16K flags=mmap|init_shared              => 0
gmem-usage h                                             => attr_ranges=1
convert h off=0 len=4K to=private                        => 0
gmem-usage h                                             => attr_ranges=2
convert h off=0 len=4K to=shared                         => 0
gmem-usage h                                             => attr_ranges=1
close h
close g
check                                                    => 0 violations=0
