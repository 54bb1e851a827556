/* SPDX-License-Identifier: MIT */
/* <linux/bitmap.h> of tools/include, for the peer suite: what guest_memfd_test.c uses. */
#ifndef GS_PEER_LINUX_BITMAP_H
#define GS_PEER_LINUX_BITMAP_H

/* Each set bit of the word at @addr below @size, lowest first. */
#define for_each_set_bit(bit, addr, size)          \
	for ((bit) = 0; (bit) < (size); (bit)++)   \
		if (!((*(addr) >> (bit)) & 1UL)) { \
		} else

#endif
