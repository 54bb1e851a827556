# SPDX-License-Identifier: MIT
# Workshop lab 5: HVO, the HugeTLB Vmemmap Optimization (mm/hugetlb_vmemmap.c). Every
# 4 KiB page has a 64-byte struct page in the vmemmap; the struct pages of a huge page's
# tail pages are all alike, so HVO keeps one vmemmap page per huge page and frees the
# rest, mapping the kept one over the whole range. Splitting the page (lab 6) needs them
# back: hugetlb_vmemmap_restore_folio(). The seeds' "HVO saves ~1.6% of memory" for a
# 1 GiB-backed guest. docs/WORKSHOP.md, lab 5; docs/STRATEGIES.md, "Metrics".
note Lab 5: what HVO saves
hvo                                                    => freed=0 restored=0
note One 2 MiB page: 512 struct pages x 64 B = 32 KiB = 8 vmemmap pages; HVO keeps 1.
hugetlb pool size=2M nr=1                              => nr=1 free=1
hvo                                                    => freed=7 restored=0
hugetlb pool size=2M nr=0                              => nr=0
note One 1 GiB page: 262,144 struct pages.
hugetlb pool size=1G nr=1                              => nr=1 free=1
note QUESTION: how many vmemmap pages has HVO freed for it?
hvo                                                    => freed=?
note 16 MiB - 4 KiB of struct pages per GiB: 1.56% of the guest's memory.
metrics                                                => hvo_saved=16773120 vmemmap=4096
note Splitting the page to 4 KiB folios (what a to-shared conversion does) gives it all back.
hpage p size=1G                                        => free=0
hsplit p order=0                                       => 0 pieces=262144 vmemmap_allocated=4095
hvo                                                    => freed=0 restored=4095
metrics                                                => hvo_saved=0 vmemmap=16777216
hmerge p                                               => 0 vmemmap_freed=4095
hvo                                                    => freed=4095 restored=0
hpage-put p                                            => free=1
check                                                  => violations=0
