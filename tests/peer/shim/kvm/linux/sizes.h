/* SPDX-License-Identifier: MIT */
/* <linux/sizes.h>, for the peer suite. */
#ifndef GS_PEER_LINUX_SIZES_H
#define GS_PEER_LINUX_SIZES_H
#define SZ_4K 0x00001000
#define SZ_2M 0x00200000
#define SZ_1G 0x40000000
#define SZ_4G 0x100000000ULL
#endif
