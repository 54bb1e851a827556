# SPDX-License-Identifier: MIT
# The split freezes the page at the references it expects (the page cache's
# and its caller's). One more (here: a second user of the same file page,
# the loser of an insertion race) is a WARN and EAGAIN, never a spin, and
# changes nothing. The merge checks the pieces the same way before it starts.
hugetlb pool size=2M nr=2
subpool fs size=2M max=2 min=2
hpage a spool=fs index=0                           => used=1
hpage b spool=fs                                   => used=2
hpage-add b index=0                                => lost=1 used=1
hvo                                                => freed=14 restored=0
hsplit a order=0                                   => EAGAIN warns=1 vmemmap_allocated=0 records=0
expect-warns 1
hvo                                                => freed=14 restored=0
check                                              => 0 violations=0
# The other user goes: the split is possible.
hpage-put b
hsplit a order=0 at=9                              => 0 pieces=512 vmemmap_allocated=7 records=1
hmerge a                                           => 0 vmemmap_freed=7 records=0
hpage-put a                                        => nr=2 free=2 resv=2
subpool-put fs                                     => free=2 resv=0
check                                              => 0 violations=0
expect-warns 0
