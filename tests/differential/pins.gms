# SPDX-License-Identifier: MIT
# Long-term pins on both backends (io_uring fixed buffers on the kernel): a pin
# needs a faultable (shared) page, punching a pinned page succeeds upstream and
# the file reads 0 there, pins outlive the fd and the mapping.
vm d profile=upstream
gmem g vm=d size=16K flags=mmap|init_shared
mmap g
write g off=0 len=4K byte=0x11
pin g off=0                      => 0
pin g off=4K                     => 0
pin g off=4K                     => 0
# punch of a pinned page: upstream removes it from the file (the pin keeps the page)
punch g off=0 len=8K             => 0
read g off=0 len=4K              => data=0 uniform=1
unpin g off=4K
unpin g off=0
munmap g
close g
unpin g off=4K
gmem p vm=d size=16K flags=mmap
mmap p
pin p off=0                      => EFAULT
munmap p
close p
