/* SPDX-License-Identifier: MIT */
/*
 * The kernel environment the kernel's own test files expect, over gmemsim:
 * module and printk macros, the sizes and limits, RCU read-side markers.
 * Only what those files use; each definition is ours. The peer suite
 * (tests/peer/kernel-test.py) compiles the kernel's files against these
 * headers at test time; the files themselves are never stored here.
 */
#ifndef GS_PEER_KERNEL_SHIM_H
#define GS_PEER_KERNEL_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <gmemsim/compiler.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#ifndef BITS_PER_LONG
#define BITS_PER_LONG (8 * (int)sizeof(long))
#endif
#define IS_ENABLED(opt)	    (opt)
#define CONFIG_XARRAY_MULTI 1

/* Powers of two only, as in the kernel. */
#define round_down(x, y) ((x) & ~((__typeof__(x))((y)-1)))
#define round_up(x, y)	 ((((x)-1) | ((__typeof__(x))((y)-1))) + 1)

#ifndef noinline
#define noinline __attribute__((__noinline__))
#endif
#define __init
#define __exit

#define KERN_ERR     ""
#define KERN_WARNING ""
#define KERN_INFO    ""
#define printk(...)  printf(__VA_ARGS__)
#define pr_err(...)  printf(__VA_ARGS__)
#define pr_info(...) printf(__VA_ARGS__)

/* The peer harness prints one backtrace-free line per failed check instead. */
static inline void dump_stack(void)
{
}

#define BUG_ON(cond)                                                                      \
	do {                                                                              \
		if (cond) {                                                               \
			fprintf(stderr, "BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* A module's init function becomes the program: its return value is the exit status. */
#define module_init(fn)              \
	int main(void)               \
	{                            \
		return fn() ? 1 : 0; \
	}
#define module_exit(fn)	      static void (*gs_peer_exit_unused)(void) __attribute__((unused)) = fn
#define MODULE_AUTHOR(s)      struct gs_peer_unused_author
#define MODULE_LICENSE(s)     struct gs_peer_unused_license
#define MODULE_DESCRIPTION(s) struct gs_peer_unused_description

/* Process context with nothing else to run: scheduling points are no-ops. */
static inline void schedule(void)
{
}
static inline void cond_resched(void)
{
}

#endif
