# SPDX-License-Identifier: MIT
# Grace periods at scenario boundaries (docs/SCENARIOS.md, docs/MAPLE.md "RCU
# mode"): synchronize_rcu() and rcu_barrier() as verbs. A grace period ends at
# the first moment no read-side critical section is open, and no line leaves
# one open, so after lines that free XArray and maple nodes (a punch, a
# conversion, a close) nothing is left waiting: pending=0.

vm s type=sw_protected                                  => 0
gmem g vm=s size=2M flags=mmap|init_shared             => 0
falloc g off=0 len=2M                                   => 0
convert g off=64K len=128K to=private                   => 0
punch g off=0 len=1M                                    => 0
synchronize-rcu                                         => pending=0 freed=0
convert g off=64K len=128K to=shared                    => 0
rcu-barrier                                             => pending=0 freed=0
close g
rcu-barrier                                             => pending=0 freed=0
check                                                   => violations=0
