# SPDX-License-Identifier: MIT
# hugetlb cgroups: hierarchical usage and rsvd counters with limits, charged by
# the current task; offlining a cgroup moves its usage to the parent while its
# reservations stay with it until released. Counts are in 2M huge pages.

hugetlb pool size=2M nr=4
cgroup a limit=2
cgroup b parent=a enter                         => usage=0 rsvd=0 online=1

# Usage is charged up the hierarchy; a's limit of 2 refuses the third page.
hpage p1 size=2M                                => free=3
hpage p2 size=2M rsvd                           => free=2
cgroup b                                        => usage=2 rsvd=1
cgroup a                                        => usage=2 rsvd=1
cgroup root                                     => usage=2 rsvd=1
hpage p3 size=2M                                => ENOMEM free=2
cgroup a limit=1                                => EBUSY usage=2

# A guest_memfd file charges rsvd at creation; its rsvd limit applies then.
cgroup b rsvd_limit=2                           => rsvd=1
subpool g size=2M max=2 gmem                    => ENOMEM resv=0
subpool g size=2M max=1 gmem                    => resv=1 used=0 rsv=1
cgroup b                                        => usage=2 rsvd=2

# Offline: refused while the task or an online child is inside.
cgroup b offline                                => EBUSY
cgroup root enter
cgroup a offline                                => EBUSY
cgroup b offline                                => 0 usage=0 rsvd=2 online=0
cgroup a                                        => usage=2 rsvd=2
cgroup b offline                                => EINVAL

# Pages now uncharge from a; b's reservations leave with the file and p2.
hpage-put p1
cgroup a                                        => usage=1 rsvd=2
hpage-put p2
cgroup a                                        => usage=0 rsvd=1
subpool-put g
cgroup a                                        => usage=0 rsvd=0
cgroup a offline                                => 0 online=0
check                                           => 0 violations=0
expect-warns 0
