# SPDX-License-Identifier: MIT
# Planted bug map-order-unrounded (TEST-ONLY, docs/ORACLE.md "Planted bugs").
# Source: spec P39 (the WIP branch's mapping order from [index, index + nr)
# instead of the huge page's start) without the folio cap of P29, the way
# KVM under in-place conversion takes guest_memfd's order as its only
# attribute bound. Unlike wip's P39 (under-maps only) it OVER-maps: index 1
# of a huge page whose index 0 is shared sees [1, 513) all private.
# Passes as is; `gmemsim run --oracle --plant map-order-unrounded` fails at
# the getpfn (max_order 9, at most 0) and the gfault (a 2M leaf over a
# shared page and 4 KiB folios: level 2, at most 1; the `kvm` checker agrees).

hugetlb pool size=2M nr=2
vm s type=sw_protected
gmem h vm=s size=4M flags=hugetlb page=2M
memslot s slot=0 gpa=8G size=4M gmem=h
convert h off=0 len=4K to=shared
getpfn h off=4K
gfault s gpa=0x200001000 private=1
check
close h
