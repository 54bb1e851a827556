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
