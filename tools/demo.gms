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

note
note == guest_memfd: a VM, a file, the host view and the guest's mapping levels ==
note A default VM offers mmap and INIT_SHARED; the project's design adds HUGETLB.
note Where PRIVATE lives is kvm.vm_memory_attributes: per VM (legacy, upstream's
note KVM_SET_MEMORY_ATTRIBUTES; no INIT_SHARED for a CoCo VM), or in guest_memfd
note (the design: KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, INIT_SHARED for every VM).
vm vm0                                             => 0 gmem_flags=0x3
vm old type=sw_protected vm_memory_attributes=1    => 0 gmem_flags=0x1 memory_attributes=8
vm cvm type=sw_protected                           => 0 gmem_flags=0x3 gmem_memory_attributes=8
note A shared, mmap-able 16 KiB file: host faults zero-fill on first use, data stays.
gmem g vm=vm0 size=16K flags=mmap|init_shared      => 0 blocks=0
mmap g len=32K
write g off=4K len=4K byte=0x5a                    => 0
read g off=4K len=4K                               => data=0x5a uniform=1
stat g                                             => blocks=8
note Punching the page gives it back: st_blocks drops, the data reads 0 again.
punch g off=4K len=4K                              => 0 blocks=0
read g off=4K len=4K                               => data=0 uniform=1
note Reading past the end of the file, inside the longer mapping: SIGBUS, as from the kernel.
read g off=16K len=1                               => SIGBUS
munmap g
close g
note A HugeTLB file of two 2 MiB pages (the project's design): the subpool reserves both
note at creation, fallocate works in whole huge pages, st_blocks counts them.
hugetlb pool size=2M nr=2                          => nr=2 free=2 resv=0
gmem hf vm=cvm size=4M flags=hugetlb page=2M        => 0 blksize=2097152 blocks=0
hugetlb stat size=2M                               => free=2 resv=2
falloc hf off=0 len=4K                              => EINVAL
falloc hf off=0 len=4M                              => 0 blocks=8192
note The file's state: two order-9 folios in the filemap, all private, the subpool's use.
show hf
note Bound to a memslot, the guest maps the huge folios with 2 MiB stage-2 leaves.
memslot cvm slot=0 gpa=4G size=4M gmem=hf           => 0
gfault cvm gpa=4G                                  => 0 level=2
gfault cvm gpa=0x100200000                         => 0 level=2
stage2 cvm                                         => leaves_2m=2
show cvm
note The file is private: a shared access by the guest exits to userspace with
note KVM_EXIT_MEMORY_FAULT (the VMM would convert); no slot at all is emulated MMIO.
gfault cvm gpa=4G private=0                        => EFAULT exit=memory_fault
gfault cvm gpa=16G                                 => 0 exit=mmio
note Punch zaps the guest's mapping of that huge page and returns it to the subpool.
punch hf off=0 len=2M                               => 0 blocks=4096
stage2 cvm                                         => leaves_2m=1
show hf
memslot cvm slot=0 size=0                          => 0
close hf
check                                              => 0
expect-warns 0
note The conversion of pages between shared and private builds on all of this.
