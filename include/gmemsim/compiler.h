/* SPDX-License-Identifier: MIT */
/*
 * Small compiler helpers shared by every layer: the subset of the kernel's
 * <linux/compiler.h>, <linux/kernel.h> and <linux/bits.h> that gmemsim code
 * uses, so that code written here reads (and ports) like kernel code.
 */
#ifndef GMEMSIM_COMPILER_H
#define GMEMSIM_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#ifndef BIT
#define BIT(n)	   (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#endif

#define BITS_PER_LONG	 64
#define BITS_PER_BYTE	 8
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#ifndef __must_check
#define __must_check __attribute__((__warn_unused_result__))
#endif
#ifndef __maybe_unused
#define __maybe_unused __attribute__((__unused__))
#endif
#ifndef __printf
#define __printf(a, b) __attribute__((__format__(printf, a, b)))
#endif
#ifndef __noreturn
#define __noreturn __attribute__((__noreturn__))
#endif

/* Public entry points of libgmemsim; everything else stays hidden. */
#define GS_API		  __attribute__((__visibility__("default")))

#define min_t(type, a, b) ((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#define max_t(type, a, b) ((type)(a) > (type)(b) ? (type)(a) : (type)(b))

#define IS_ALIGNED(x, a)  (((x) & ((__typeof__(x))(a)-1)) == 0)
#define ALIGN(x, a)	  (((x) + ((__typeof__(x))(a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a)  ((x) & ~((__typeof__(x))(a)-1))

#define PAGE_SHIFT	  12
#define PAGE_SIZE	  (1UL << PAGE_SHIFT)

#endif /* GMEMSIM_COMPILER_H */
