# SPDX-License-Identifier: MIT
# A 128 GiB guest of 2 MiB pages, all HVO-optimized (issue 10, defect 5), end
# to end: each optimized folio once cost two host mappings, so past ~32k folios
# mprotect failed (the host allows 65,530), unnoticed and invisible here; the
# mapping count itself is asserted by test-hvo's hvo_host_mappings_bounded, and
# writes to freed vmemmap by the hvo checker under `check`. Run by the scenario suite only
# (tests/scenarios/meson.build): failing each of its 65,536 allocations in turn
# would take the fail-nth runner hours.
machine mem=128G backing=none                      => mem=137438953472
hvo on
hugetlb pool size=2M nr=0xffffffffffffffff         => nr=65536 free=65536
hvo                                                => freed=458752 restored=0
check                                              => violations=0
hpage a size=2M                                    => free=65535
hsplit a order=0                                   => pieces=512 vmemmap_allocated=7
hmerge a                                           => vmemmap_freed=7
hpage-put a                                        => free=65536
check                                              => violations=0
hugetlb pool size=2M nr=0                          => nr=0
hvo                                                => freed=0
