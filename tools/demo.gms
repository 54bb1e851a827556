# SPDX-License-Identifier: MIT
# The built-in walkthrough (`gmemsim demo`). It grows with every layer: this
# part shows the base layer every later operation stands on.
note == gmemsim demo: the base layer ==
note Every allocation names a site. `gmemsim sites` lists them with live counts;
note teardown proves, per site, that nothing leaked.
seed 42
kmalloc a size=4K                                  => 0
show a
note
note -- Fault injection: fail the 1st kmalloc from now on, once (transient) --
inject site=kmalloc nth=1
kmalloc b size=64                                  => ENOMEM
kmalloc b size=64                                  => 0
note -- Persistent: the 2nd hit fails, and every one after it (SQLite-style) --
inject site=kmalloc nth=2 persistent
kmalloc c size=128                                 => 0
kmalloc d size=128                                 => ENOMEM
kmalloc d size=128                                 => ENOMEM
inject off
kmalloc d size=128                                 => 0
note -- Only allocations that may not sleep (the kernel's ignore-gfp-wait) --
inject site=kmalloc every gfp=nowait
kmalloc e size=32 gfp=kernel                       => 0
kmalloc f size=32 gfp=nowait                       => ENOMEM
kmalloc f size=32 gfp=atomic                       => ENOMEM
inject off
note -- A seeded coin: same seed, same failures, every run --
inject site=kmalloc probability=50 seed=7 times=1
kmalloc g size=16
kmalloc h size=16
kmalloc i size=16
inject off
note
note -- Invariants: allocator counters add up, no lock is held between operations --
check                                              => 0
expect-warns 0
kfree a
kfree b
note Objects still alive (c, d, e, ...) are torn down at the end; the run then
note checks that every site is back where it started.

note
note == The memory layer: HugeTLB pools, a guest_memfd-style subpool, HVO ==
note A pool of two 1 GiB pages (metadata only: no host memory behind the data).
note HVO is on: each page keeps 1 of its 4096 vmemmap pages.
hugetlb pool size=1G nr=2                          => nr=2 free=2 resv=0 surplus=0
hvo                                                => freed=8190
note A guest_memfd file of 1 GiB reserves its page at creation (max = min = 1,
note no surplus), charged to the creating cgroup's rsvd counter.
cgroup vm enter                                    => usage=0 rsvd=0
subpool gfile size=1G max=1 gmem                   => free=2 resv=1 used=0 rsv=1
cgroup vm size=1G                                  => usage=0 rsvd=1
note fallocate: the reserved page is allocated and charged (usage).
hpage page0 spool=gfile index=0                    => free=1 resv=0 used=1
cgroup vm size=1G                                  => usage=1 rsvd=1
note Converting one 4 KiB page to shared splits the 1 GiB folio: HVO is undone
note first (4095 vmemmap pages allocated: the step that can fail with ENOMEM),
note then 262144 folios of 4 KiB; the page's identity is kept by pfn meanwhile.
hsplit page0 order=0 at=512                        => 0 pieces=262144 vmemmap_allocated=4095 records=1
hvo                                                => freed=4095 restored=4095
check                                              => 0
note Back to private: merged, a HugeTLB folio again, optimized again.
hmerge page0                                       => 0 vmemmap_freed=4095 records=0
note The same split can keep 512 optimized 2 MiB pieces: 511 pages instead of 4095.
hsplit page0 order=9 keep                          => 0 pieces=512 vmemmap_allocated=511
hmerge page0                                       => 0
note punch, close: back to the baseline.
hpage-put page0                                    => free=2 resv=1
subpool-put gfile                                  => free=2 resv=0
cgroup vm size=1G                                  => usage=0 rsvd=0
hvo                                                => freed=8190 restored=0
check                                              => 0
expect-warns 0
