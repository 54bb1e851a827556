# SPDX-License-Identifier: MIT
# kvm_gmem_populate() as the CoCo launch helpers use it (spec rule 45, P16,
# §4.14; docs/GUEST_MEMFD.md "Populate"), and the arch prepare hook (P12).
# `populate VM gpa= len=` runs the VM type's helper: SNP_LAUNCH_UPDATE, TDX
# INIT_MEM_REGION, or for sw_protected the simulator's stand-in (no kernel
# ioctl: the kernel backend skips every populate line). ret is the kernel's:
# the pages done if any (pages=), else the first error. `arch VM` reports the
# hooks' counters.

# sw_protected, in-place conversion (the design's default): a 32K slot over a 64K file
vm s type=sw_protected                                   => 0
gmem g vm=s size=64K flags=mmap                          => 0
memslot s slot=0 gpa=4G size=32K gmem=g                  => 0
populate s gpa=4G len=8K byte=0x41                       => 0 pages=2 folios_added=2
# npages is clamped to the slot's end: 2 of the 4 pages asked
populate s gpa=0x100006000 len=16K byte=0x42             => 0 pages=2 folios_added=2
# no slot there: EINVAL; no page: EINVAL
populate s gpa=8G len=4K                                 => EINVAL pages=0
populate s gpa=4G len=0                                  => EINVAL pages=0
# P16: no source, the data is in place; populating a page again is allowed
# (current upstream: no EEXIST), post_populate runs again
populate s gpa=4G len=4K src=none                        => 0 pages=1 folios_added=0
arch s                                                   => 0 populated=5 copies=4 prepare_calls=0
# the data survives the conversion to shared (P9); the page never populated reads 0
convert g off=0 len=12K to=shared                        => 0
mmap g                                                   => 0
read g off=0 len=8K                                      => 0 data=0x41 uniform=1
read g off=8K len=4K                                     => 0 data=0 uniform=1
# a shared gfn: EINVAL (the target must be PRIVATE)
populate s gpa=4G len=4K                                 => EINVAL pages=0 folios_added=0
# stops at the first shared page: the pages before it count
convert g off=16K len=4K to=shared                       => 0
populate s gpa=0x100003000 len=8K byte=0x43              => 0 pages=1
# the file closed (the mapping holds it until munmap): EFAULT
munmap g                                                 => 0
close g                                                  => 0
populate s gpa=0x100003000 len=4K                        => EFAULT pages=0

# P16's flow: the host writes the initial image while shared, converts it to
# private, and populates without a source; the data is the host's
gmem gi vm=s size=16K flags=mmap|init_shared             => 0
memslot s slot=1 gpa=8G size=16K gmem=gi                 => 0
mmap gi                                                  => 0
write gi off=0 len=16K byte=0x5a                         => 0
convert gi off=0 len=16K to=private                      => 0
populate s gpa=8G len=16K src=none                       => 0 pages=4 folios_added=0
convert gi off=0 len=16K to=shared                       => 0
read gi off=0 len=16K                                    => 0 data=0x5a uniform=1

# per-VM attributes (in-place conversion off): the gfn needs PRIVATE from KVM_SET_MEMORY_ATTRIBUTES,
# and a NULL source is refused (P16 needs in-place conversion)
vm l type=sw_protected vm_memory_attributes=1             => 0
gmem gl vm=l size=64K                                    => 0
memslot l slot=0 gpa=4G size=64K gmem=gl                 => 0
populate l gpa=4G len=4K src=none                        => EINVAL pages=0 folios_added=0
# the folio is looked up (allocated) before the attribute check, as upstream
populate l gpa=4G len=4K                                 => EINVAL pages=0 folios_added=1
attr l gpa=4G size=64K private=1                         => 0
populate l gpa=4G len=4K src=none                        => EINVAL pages=0
populate l gpa=4G len=8K byte=1                          => 0 pages=2 folios_added=1

# SNP: populate assigns the pfns in the RMP; get_pfn's prepare (every private
# fault, P12) assigns only what is not assigned yet
vm n type=snp                                            => 0
gmem gn vm=n size=64K flags=mmap                         => 0
memslot n slot=0 gpa=4G size=64K gmem=gn                 => 0
populate n gpa=4G len=8K byte=0x11                       => 0 pages=2 folios_added=2
arch n                                                   => 0 rmp_assigned=2 populated=2 prepare_calls=0
gfault n gpa=4G                                          => 0 level=1
arch n                                                   => 0 prepare_calls=1 prepare_pfns=0 rmp_assigned=2
# SEV's post_populate refuses a pfn already assigned
populate n gpa=4G len=4K                                 => EINVAL pages=0
gfault n gpa=0x100002000                                 => 0 level=1
arch n                                                   => 0 prepare_calls=2 prepare_pfns=1 rmp_assigned=3
# to shared: the arch invalidate hook gives the pfns back; to private again:
# the next fault prepares again
convert gn off=0 len=8K to=shared                        => 0
arch n                                                   => 0 invalidate_pfns=2 rmp_assigned=1
convert gn off=0 len=8K to=private                       => 0
gfault n gpa=4G                                          => 0 level=1
arch n                                                   => 0 prepare_calls=3 prepare_pfns=2 rmp_assigned=2
# a folio leaving the page cache (free_folio) is invalidated too
punch gn off=0 len=64K                                   => 0
arch n                                                   => 0 invalidate_pfns=4 rmp_assigned=0
# a shared page is not prepared
convert gn off=0 len=4K to=shared                        => 0
gfault n gpa=4G private=0                                => 0 level=1 gmem=1
arch n                                                   => 0 prepare_calls=3 rmp_assigned=0

# the 6.8-6.1x rule, selectable: an uptodate folio is EEXIST
vm e type=sw_protected populate_eexist=1                 => 0
gmem ge vm=e size=64K                                    => 0
memslot e slot=0 gpa=4G size=64K gmem=ge                 => 0
populate e gpa=4G len=4K                                 => 0 pages=1 folios_added=1
populate e gpa=4G len=8K                                 => EEXIST pages=0
populate e gpa=0x100001000 len=8K                        => 0 pages=2 folios_added=2

# HugeTLB: one huge folio populated page by page; then over split pieces
hugetlb pool size=2M nr=4                                => nr=4 free=4 resv=0
vm h type=snp                                            => 0
gmem gh vm=h size=4M flags=hugetlb page=2M               => 0
memslot h slot=0 gpa=8G size=4M gmem=gh                  => 0
populate h gpa=8G len=2M byte=0x7                        => 0 pages=512 folios_added=1
arch h                                                   => 0 rmp_assigned=512 populated=512
# the prepare of the whole folio finds every pfn assigned
gfault h gpa=0x200001000                                 => 0 level=2
arch h                                                   => 0 prepare_calls=1 prepare_pfns=0
# the second huge page has a shared page: 512 pieces; populate stops at it
convert gh off=0x201000 len=4K to=shared                 => 0 folios=1 huge_folios=1
populate h gpa=0x200200000 len=8K byte=0x8               => 0 pages=1 folios_added=512
populate h gpa=0x200202000 len=4K byte=0x8               => 0 pages=1 folios_added=0
arch h                                                   => 0 rmp_assigned=514
# a page of the huge folio goes shared: split, one pfn back; merged again
# on to private, the next fault prepares the whole folio: one pfn to assign
convert gh off=0 len=4K to=shared                        => 0 folios=1024 huge_folios=0
arch h                                                   => 0 invalidate_pfns=1 rmp_assigned=513
convert gh off=0 len=4K to=private                       => 0 folios=513 huge_folios=1
gfault h gpa=8G                                          => 0 level=2
arch h                                                   => 0 prepare_calls=2 prepare_pfns=1 rmp_assigned=514
check                                                    => 0 violations=0
