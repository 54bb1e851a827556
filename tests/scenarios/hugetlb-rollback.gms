# SPDX-License-Identifier: MIT
# A failed HugeTLB operation leaves no trace, and a page the kernel had to keep
# goes at the next try. Each block failed before its fix (found by
# `gmemsim run --fail-nth tests/scenarios/hvo-split.gms`, hugetlb-subpool.gms).

# hsplit: the split fails when its metadata record cannot be allocated. The
# record is saved before HVO is undone (lib/hugetlb_restructuring.c), so no
# vmemmap page was restored, and the page is HVO-optimized, as it was.
hugetlb pool size=1G nr=1                      => nr=1 free=1
hpage p size=1G                                => free=0
hvo                                            => freed=4095 restored=0
inject site=hugetlb.meta nth=1
hsplit p order=0                               => ENOMEM vmemmap_allocated=0 vmemmap_freed=0 records=0
inject off
hvo                                            => freed=4095 restored=0
check                                          => 0 violations=0
hpage-put p                                    => nr=1 free=1
hugetlb pool size=1G nr=0                      => nr=0 free=0

# hmerge of pieces kept optimized: the second piece's restore fails. The first
# piece, restored already, must be optimized again. (A fresh page: the block
# does not depend on the one above.)
hugetlb pool size=1G nr=1                      => nr=1 free=1
hpage q size=1G                                => free=0
hsplit q order=9 keep                          => 0 pieces=512 vmemmap_allocated=511
hvo                                            => freed=3584 restored=511
inject site=hvo.restore nth=8
hmerge q                                       => ENOMEM vmemmap_allocated=7 vmemmap_freed=7 records=1
inject off
hvo                                            => freed=3584 restored=511
check                                          => 0 violations=0
hmerge q                                       => 0 vmemmap_freed=4095 records=0
hvo                                            => freed=4095 restored=0
hpage-put q                                    => nr=1 free=1
hugetlb pool size=1G nr=0                      => nr=0 free=0

# A surplus page whose vmemmap cannot be restored stays in the pool as a
# free surplus page (__update_and_free_hugetlb_folio()), and shrinking the
# pool does not take it, in the kernel either. The pool's teardown must still
# give it back: the run ends leak-free and without a WARN.
hugetlb pool size=2M nr=0 overcommit=1         => nr=0 free=0 surplus=0
hpage s size=2M                                => nr=1 free=0 surplus=1
inject site=hvo.restore nth=1
hpage-put s                                    => nr=1 free=1 surplus=1
inject off
hugetlb pool size=2M nr=0                      => nr=1 free=1 resv=0 surplus=1
check                                          => 0 violations=0
expect-warns 0
