# SPDX-License-Identifier: MIT
# A 1 GiB HugeTLB page split to 4 KiB and merged back, with HVO undone and redone:
# what a to-shared conversion and the return to private do to the memory layer.
hugetlb pool size=1G nr=1                      => nr=1 free=1 resv=0
hvo                                            => freed=4095 restored=0
hpage p size=1G                                => free=0

# Split to 4 KiB: 4095 vmemmap pages come back first; the page's identity is
# kept by pfn (one record) while it is in pieces.
hsplit p order=0 at=5                          => 0 pieces=262144 vmemmap_allocated=4095 records=1
hvo                                            => freed=0 restored=4095
check                                          => 0

# Merge: one folio again, HugeTLB, optimized: the 4095 pages go back to the host.
hmerge p                                       => 0 vmemmap_freed=4095 records=0
hvo                                            => freed=4095 restored=0

# 1 GiB directly to 512 optimized 2 MiB pieces: 511 pages instead of 4095.
hsplit p order=9 keep                          => 0 pieces=512 vmemmap_allocated=511
hvo                                            => freed=3584 restored=511
hmerge p                                       => 0 vmemmap_allocated=3584 vmemmap_freed=4095
hvo                                            => freed=4095 restored=0

# Undoing HVO is the split's failure point: the 100th of 4095 allocations
# fails, the split fails before anything changed.
inject site=hvo.restore nth=100
hsplit p order=0                               => ENOMEM vmemmap_allocated=0 records=0
hvo                                            => freed=4095 restored=0
# With the pages preallocated (where failing is cheap), the restore cannot fail.
hsplit p order=0 prealloc                      => 0 vmemmap_allocated=4095
inject off

# Freeing the page merges it back first: the pool takes back whole pages.
hpage-put p                                    => nr=1 free=1 resv=0
hvo                                            => freed=4095 restored=0
check                                          => 0
expect-warns 0
