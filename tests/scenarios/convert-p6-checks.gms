# SPDX-License-Identifier: MIT
# KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd (in-place conversion v8,
# spec P2-P4, P6): the ioctl exists only under in-place conversion
# (vm_memory_attributes=0, v8's gmem_in_place_conversion=1), and its argument
# checks run in the kernel's order. A failed check writes no error_offset.
# On a kernel without the ioctl every convert line is skipped.

# --- P2/P3: capabilities and ENOTTY with in-place conversion off ---
vm off type=sw_protected vm_memory_attributes=1         => 0 memory_attributes=8 gmem_memory_attributes=0
gmem legacy vm=off size=16K                             => 0
convert legacy off=0 len=4K to=shared                   => ENOTTY
close legacy
vm s type=sw_protected                                  => 0 gmem_flags=0x3 memory_attributes=0 gmem_memory_attributes=8
# P4: INIT_SHARED on a VM with private memory
gmem g vm=s size=16K flags=mmap|init_shared             => 0

# --- P6, in order: each line breaks one check and every later one passes ---
# 2. flags (before the reserved words and everything else)
convert g off=0 len=4K to=private flags=1 reserved=1 attributes=0x10 error_offset=0x77 => EINVAL error_offset=0x77
# 3. reserved
convert g off=0 len=4K to=private reserved=1 attributes=0x10 => EINVAL
# 5. attributes other than PRIVATE (RWX stay VM-level)
convert g off=0 len=0 attributes=0x18                    => EINVAL
convert g off=0 len=4K attributes=0x1                   => EINVAL
# 6. empty or wrapping range (before alignment and i_size)
convert g off=0 len=0 to=private                        => EINVAL
convert g off=0xfffffffffffff000 len=8K to=private      => EINVAL
convert g off=0x800 len=0x800 to=private                => EINVAL
# 7. alignment (before i_size)
convert g off=0x800 len=4K to=private                   => EINVAL
convert g off=0 len=0x800 to=private                    => EINVAL
convert g off=64K len=0x800 to=private                  => EINVAL
# 8. inside i_size
convert g off=16K len=4K to=private                     => EINVAL
convert g off=12K len=8K to=private                     => EINVAL
# v8 ignores the incoming error_offset, and leaves it alone on success
convert g off=0 len=16K to=private error_offset=0x1234  => 0 error_offset=0x1234
convert g off=0 len=16K to=shared                       => 0 error_offset=0
check

# 4. a VM without private memory (x86 DEFAULT_VM): after flags and reserved
vm d                                                    => 0 gmem_memory_attributes=0
gmem dg vm=d size=8K flags=mmap|init_shared             => 0
convert dg off=0 len=4K to=private reserved=1           => EINVAL
convert dg off=0 len=4K to=private                      => EINVAL
convert dg off=0 len=4K to=shared                       => EINVAL
close dg
close g
check
