# SPDX-License-Identifier: MIT
# Workshop lab 3: a conversion to private must be the only user of the memory. v8's
# kvm_gmem_set_attributes() unmaps the host and then wants every folio's refcount to be
# its page-cache references + 1; a long-term pin (io_uring, vfio: pin_user_pages()) holds
# one more, and the ioctl fails with EAGAIN and error_offset (spec P7, P8; the selftest
# guest_memfd_conversions_test's elevated_refcount). docs/WORKSHOP.md, lab 3.
note Lab 3: a pinned page and a conversion to private
vm v type=sw_protected
gmem g vm=v size=16K flags=mmap|init_shared
mmap g
write g off=0 len=16K byte=0x55                        => 0
note A device pins page 2 (offset 8K) for DMA.
pin g off=8K
note QUESTION: convert all four pages to private. What does the ioctl return?
convert g off=0 len=16K to=private                     => ?
note Nothing changed: all four pages are still shared (one range in the tree).
gmem-usage g                                           => attr_ranges=1
note The pages around the pin convert; the pinned one alone still fails.
convert g off=0 len=8K to=private                      => 0
convert g off=12K len=4K to=private                    => 0
convert g off=8K len=4K to=private                     => EAGAIN error_offset=0x2000
note To shared has no reference check: it cannot fail with EAGAIN.
convert g off=0 len=16K to=shared                      => 0
unpin g off=8K
convert g off=0 len=16K to=private                     => 0
note Converting a range that already has the value is a no-op success, checked first.
convert g off=0 len=16K to=private                     => 0
check                                                  => violations=0
