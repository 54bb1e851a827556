# SPDX-License-Identifier: MIT
# The conversion orderings side by side on the same sequence (issue 11 §4,
# spec P7, P35, P37; docs/CONVERSION.md "Orderings"): a VM picks one with
# conversion=NAME. planned (the default) is all or nothing across huge pages;
# wip converts one huge page at a time and keeps the batches it finished when a
# later one fails; v8 has no HugeTLB (EOPNOTSUPP for a change, 0 for a no-op);
# rfc-v2 is convert-rfc-v2.gms (4 KiB) and convert-rfc-v2-hugetlb.gms.

hugetlb pool size=2M nr=6                                  => nr=6 free=6 resv=0

# The same failure under planned and wip: the second huge page's split runs out
# of memory (the 8th fresh vmemmap page HVO restores need: 7 per 2 MiB page).
vm p type=sw_protected conversion=planned                  => 0
gmem gp vm=p size=4M flags=hugetlb page=2M                 => 0
falloc gp off=0 len=4M                                     => 0
memslot p slot=0 gpa=4G size=4M gmem=gp                    => 0
inject site=hvo.restore nth=8
convert gp off=0x1ff000 len=8K to=shared                   => ENOMEM error_offset=0x1ff000 partial=0 folios=2 huge_folios=2
inject off
convert gp off=0x1ff000 len=4K to=private                  => 0 folios=2 huge_folios=2
check                                                      => 0 violations=0

vm w type=sw_protected conversion=wip                      => 0
gmem gw vm=w size=4M flags=hugetlb page=2M                 => 0
falloc gw off=0 len=4M                                     => 0
memslot w slot=0 gpa=4G size=4M gmem=gw                    => 0
inject site=hvo.restore nth=8
# the first batch [0x1ff000, 2M) is done; the second failed at its start
convert gw off=0x1ff000 len=8K to=shared                   => ENOMEM error_offset=0x200000 partial=1 folios=513 huge_folios=1
inject off
# so the first page is shared now, the second still private
convert gw off=0x1ff000 len=4K to=shared                   => 0 folios=513
convert gw off=0x200000 len=4K to=private                  => 0 folios=513
check                                                      => 0 violations=0
# done again, clean: both split; back to private, both merged
convert gw off=0x1ff000 len=8K to=shared                   => 0 partial=0 folios=1024 huge_folios=0
convert gw off=0 len=4M to=private                         => 0 folios=2 huge_folios=2
check                                                      => 0 violations=0

# v8: 4 KiB files only
vm v type=sw_protected conversion=v8                       => 0
gmem gv vm=v size=2M flags=hugetlb page=2M                 => 0
convert gv off=0 len=4K to=shared                          => EOPNOTSUPP
convert gv off=0 len=4K to=private                         => 0
gmem gs vm=v size=16K flags=mmap                           => 0
convert gs off=0 len=4K to=shared                          => 0

# rfc-v2: a 4 KiB file converts (convert-rfc-v2.gms has the rest)
vm r type=sw_protected conversion=rfc-v2                   => 0
gmem gr vm=r size=16K flags=mmap                           => 0
convert gr off=0 len=4K to=shared                          => 0
vm r2 type=sw_protected                                    => 0
show r2
close gp
close gw
close gv
close gs
close gr
run-deferred
hugetlb stat size=2M                                       => nr=6 free=6 resv=0
check                                                      => 0 violations=0
expect-warns 0
