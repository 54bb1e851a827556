# SPDX-License-Identifier: MIT
# Planted bug huge-leaf-after-split (TEST-ONLY, docs/ORACLE.md "Planted bugs").
# Source: spec P40 (a huge stage-2 leaf must be split before its folio) and
# P41 ("splitting while still mapped huge", reported against the WIP
# branch). Under the planned ordering a to-shared conversion of one page of
# a huge page mapped by a 2M private leaf splits the folio to order 0; with
# the bug the leaf is not split first and the exact zap leaves it mapped.
# Passes as is; `gmemsim run --oracle --plant huge-leaf-after-split` fails at
# the convert (the leaf over index 0: level 2, at most 1), and the `kvm`
# checker at the check (a 512-page leaf over an order-0 folio).

hugetlb pool size=2M nr=2
vm s type=sw_protected
gmem h vm=s size=4M flags=hugetlb page=2M
memslot s slot=0 gpa=8G size=4M gmem=h
gfault s gpa=8G private=1                      => level=2
convert h off=0 len=4K to=shared               => folios=512 huge_folios=0
check
gfault s gpa=0x200001000 private=1
close h
