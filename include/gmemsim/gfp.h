/* SPDX-License-Identifier: MIT */
/*
 * Allocation flags, shaped like the kernel's gfp_t (include/linux/gfp_types.h).
 * Only the bits whose meaning the simulator can honour are defined: whether an
 * allocation may block (direct reclaim), whether it is zeroed, whether it may
 * fail at all, and whether failure is reported. Bit values are our own.
 */
#ifndef GMEMSIM_GFP_H
#define GMEMSIM_GFP_H

typedef unsigned int gfp_t;

#define __GFP_DIRECT_RECLAIM 0x001u /* may sleep to reclaim memory */
#define __GFP_KSWAPD_RECLAIM 0x002u /* may wake background reclaim */
#define __GFP_IO	     0x004u
#define __GFP_FS	     0x008u
#define __GFP_HIGH	     0x010u /* may dip into reserves (GFP_ATOMIC) */
#define __GFP_ZERO	     0x020u /* return zeroed memory */
#define __GFP_NOWARN	     0x040u /* no allocation-failure report */
#define __GFP_NOFAIL	     0x080u /* never fails; fault injection skips it */
#define __GFP_RETRY_MAYFAIL  0x100u
#define __GFP_NORETRY	     0x200u
#define __GFP_ACCOUNT	     0x400u /* charged to the caller's memcg */
#define __GFP_THISNODE	     0x800u /* the node asked for or nothing: no fallback */

#define __GFP_RECLAIM	     (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)

#define GFP_NOWAIT	     (__GFP_KSWAPD_RECLAIM)
#define GFP_ATOMIC	     (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_NOIO	     (__GFP_RECLAIM)
#define GFP_NOFS	     (__GFP_RECLAIM | __GFP_IO)
#define GFP_KERNEL	     (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT   (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_HIGHUSER	     (GFP_KERNEL)

/* Whether an allocation with @gfp may sleep, as gfpflags_allow_blocking(). */
static inline int gfpflags_allow_blocking(gfp_t gfp)
{
	return !!(gfp & __GFP_DIRECT_RECLAIM);
}

#endif /* GMEMSIM_GFP_H */
