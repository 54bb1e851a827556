# SPDX-License-Identifier: MIT
# A conversion to look at: render it with
#   build/tools/gmemsim render examples/render-conversion.gms -o render-conversion.html
# or watch it as text with `gmemsim run --show=file,stage2 examples/render-conversion.gms`.
# One 2 MiB HugeTLB page backs a 2 MiB guest_memfd (docs/CONVERSION.md). Converting one
# 4 KiB page to shared splits the folio into 512 order-0 pieces and the stage-2 leaf into
# 4 KiB leaves; converting it back merges the folio again once nothing pins a piece.
note a pool of one 2 MiB huge page, a confidential VM and a 2 MiB guest_memfd on HugeTLB
hugetlb pool size=2M nr=1                                 => nr=1 free=1
vm s type=sw_protected                                    => 0
gmem g vm=s size=2M flags=mmap|hugetlb page=2M            => 0
memslot s slot=0 gpa=4G size=2M gmem=g                    => 0
note allocating the whole file takes the huge page: one folio of order 9, all private
falloc g off=0 len=2M                                     => 0
note the guest touches it: KVM maps the folio with one 2 MiB stage-2 leaf
gfault s gpa=4G private=1                                 => 0 level=2
note one 4 KiB page to shared: the leaf is split, then the folio, into 512 order-0 pieces
convert g off=4K len=4K to=shared                         => 0 folios=512 huge_folios=0
stage2 s                                                  => leaves_4k=511 leaves_2m=0
note the host writes the shared page through its mapping
mmap g
write g off=4K len=4K byte=0x5a                           => 0
munmap g
note back to private: the last shared page goes, so the pieces merge into one folio again
convert g off=4K len=4K to=private                        => 0 folios=1 huge_folios=1
note the folio is whole again, but its stage-2 leaves stay 4 KiB: nothing zapped them
gfault s gpa=4G private=1                                 => 0 level=1
stage2 s                                                  => leaves_4k=511 leaves_2m=0
check                                                     => 0 violations=0
