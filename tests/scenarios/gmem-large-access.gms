# SPDX-License-Identifier: MIT
# Lengths in a scenario are the user's and may be anything (issue 10, defect 1):
# a host access is bounded by the mapping first and goes through a buffer of
# fixed size, so a huge len= costs neither memory nor time. Before the fix each
# of these lines allocated len bytes, or the mapped part of it (glib aborted at
# 2^64; len=64G grew past 20 GB of RSS); the mappings here are 1 TiB (address
# space only), so the old code cannot pass them.

gmem g size=8M flags=mmap|init_shared
mmap g
# Past the end of the mapping the process would take SIGSEGV: the copy stops there.
write g off=4M len=0xffffffffffffffff byte=1        => SIGSEGV done=4194304
read g off=0 len=64G                                => SIGSEGV done=8388608 data=0 uniform=0
read g off=4M len=4M                                => 0 done=4194304 data=0x1 uniform=1
fault g off=8M                                      => SIGSEGV
pin g off=8M                                        => EFAULT
munmap g

# A mapping longer than the file: SIGBUS at i_size, the bytes before it kept.
mmap g len=1T
read g off=0 len=1T                                 => SIGBUS done=8388608 data=0 uniform=0
write g off=8M len=0xffffffffffffffff byte=2        => SIGBUS done=0
write g off=0x7ff000 len=0xffffffffffffffff byte=3  => SIGBUS done=4096
read g off=0x7ff000 len=4K                          => 0 data=0x3 uniform=1
fault g off=1T                                      => SIGSEGV
munmap g
close g

# A private 1 TiB file mapped whole: the first page SIGBUSes, nothing was allocated for len.
gmem p size=1T flags=mmap
mmap p
read p off=0 len=1T                                 => SIGBUS done=0
write p off=0 len=0xffffffffffffffff byte=1         => SIGBUS done=0
munmap p
close p
check                                               => 0
