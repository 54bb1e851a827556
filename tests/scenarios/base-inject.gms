# SPDX-License-Identifier: MIT
# Fault injection through scenarios: every mode and filter of the `inject` verb,
# observed on the generic kmalloc site.

# Transient nth: exactly the 2nd allocation from now fails.
inject site=kmalloc nth=2
kmalloc a size=64                  => 0
kmalloc b size=64                  => ENOMEM
kmalloc b size=64                  => 0

# Persistent nth: the 1st and every later one fail until disarmed.
inject site=kmalloc nth=1 persistent
kmalloc c size=8                   => ENOMEM
kmalloc c size=8                   => ENOMEM
inject off
kmalloc c size=8                   => 0

# Every hit, limited to two failures.
inject every times=2
kmalloc d size=8                   => ENOMEM
kmalloc d size=8                   => ENOMEM
kmalloc d size=8                   => 0

# Filters on the caller's ability to sleep.
inject site=kmalloc every gfp=wait
kmalloc e size=8 gfp=nowait        => 0
kmalloc f size=8                   => ENOMEM
inject off
inject site=kmalloc every gfp=nowait
kmalloc f size=8                   => 0
kmalloc g size=8 gfp=atomic        => ENOMEM
inject off

# Probability 100% and 0% are certain.
inject probability=100
kmalloc g size=8                   => ENOMEM
inject off
inject ppm=0
kmalloc g size=8                   => 0
inject off

# Sizes over the kmalloc limit fail without any injection.
kmalloc huge size=8M               => ENOMEM
check                              => 0 violations=0
expect-warns 0
