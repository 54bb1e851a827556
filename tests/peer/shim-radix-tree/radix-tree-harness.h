/* SPDX-License-Identifier: MIT */
/*
 * The userspace harness of the kernel's radix-tree tests
 * (tools/testing/radix-tree/: test.c, multiorder.c, ...) over gmemsim's
 * XArray: the radix-tree API those files call, written here on top of
 * include/gmemsim/xarray.h (the kernel's lib/radix-tree.c is itself a layer
 * over the XArray since 4.20), plus the harness environment: printv(),
 * registration of RCU threads, and an assert() that counts checks.
 *
 * assert() here counts each check and prints "BUG at FILE:LINE: EXPR" for a
 * failed one instead of aborting, so that the peer driver can report how
 * many ran and failed; the program prints "radix-tree harness: P of R
 * checks passed" when it exits. Every definition is ours (MIT); the kernel's
 * files are extracted at test time and never stored here.
 */
#ifndef GS_PEER_RADIX_TREE_HARNESS_H
#define GS_PEER_RADIX_TREE_HARNESS_H

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/kernel-shim.h>
#include <gmemsim/rcu.h>
#include <gmemsim/xarray.h>

#ifndef __weak
#define __weak __attribute__((__weak__))
#endif
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* The harness's checks, counted (one counter for the whole program: weak definitions). */
unsigned long gs_peer_checks_run __attribute__((__weak__));
unsigned long gs_peer_checks_failed __attribute__((__weak__));
int test_verbose __attribute__((__weak__));
int nr_allocated __attribute__((__weak__));

static inline void gs_peer_check(int ok, const char *file, int line, const char *expr)
{
	gs_peer_checks_run++;
	if (!ok) {
		gs_peer_checks_failed++;
		fprintf(stderr, "BUG at %s:%d: %s\n", file, line, expr);
	}
}

/* Called once at exit (every unit holds it; the weak definition makes it one). */
__attribute__((__weak__, __destructor__)) void gs_peer_harness_report(void)
{
	static int done;

	if (done++)
		return;
	printf("radix-tree harness: %lu of %lu checks passed\n",
	       gs_peer_checks_run - gs_peer_checks_failed, gs_peer_checks_run);
}

#undef assert
#define assert(expr) gs_peer_check(!!(expr), __FILE__, __LINE__, #expr)
/* The harness's BUG_ON() is a check too: counted, and fatal as in the kernel. */
#undef BUG_ON
#define BUG_ON(cond)                                                              \
	do {                                                                      \
		bool gs_bug_ = (cond);                                            \
		gs_peer_check(!gs_bug_, __FILE__, __LINE__, "BUG_ON(" #cond ")"); \
		if (gs_bug_)                                                      \
			abort();                                                  \
	} while (0)

#define printv(level, ...)                   \
	do {                                 \
		if (test_verbose >= (level)) \
			printf(__VA_ARGS__); \
	} while (0)

/* One simulated CPU and no RCU threads to register. */
static inline void rcu_register_thread(void)
{
}
static inline void rcu_unregister_thread(void)
{
}

static inline int test_bit(unsigned int nr, const unsigned long *addr)
{
	return (addr[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}

/* The radix tree is the XArray under its old names (include/linux/radix-tree.h). */
#define radix_tree_root xarray
#define radix_tree_node xa_node
/* The radix tree's name for a node's marks (test.c's verify_node() reads it). */
#define tags		     marks
#define RADIX_TREE_MAP_SHIFT XA_CHUNK_SHIFT
#define RADIX_TREE_MAP_SIZE  XA_CHUNK_SIZE
#define RADIX_TREE_MAX_TAGS  XA_MAX_MARKS
#define RADIX_TREE_TAG_LONGS XA_MARK_LONGS

struct radix_tree_preload {
	unsigned int nr;
};

static inline bool radix_tree_is_internal_node(const void *ptr)
{
	return xa_is_internal(ptr);
}

static inline struct xa_node *entry_to_node(void *ptr)
{
	return xa_to_node(ptr);
}

static inline unsigned long shift_maxindex(unsigned int shift)
{
	return (XA_CHUNK_SIZE << shift) - 1;
}

static inline unsigned long node_maxindex(struct xa_node *node)
{
	return shift_maxindex(node->shift);
}

static inline int root_tag_get(struct xarray *root, unsigned int tag)
{
	return xa_marked(root, (xa_mark_t)tag);
}

static inline void radix_tree_init(void)
{
}

/* No per-CPU preload pools to drain. */
static inline int radix_tree_cpu_dead(unsigned int cpu)
{
	(void)cpu;
	return 0;
}

/* -EEXIST if @index is occupied (the XArray says -EBUSY). */
static inline int radix_tree_insert(struct xarray *root, unsigned long index, void *item)
{
	int err;

	if (radix_tree_is_internal_node(item))
		abort(); /* the kernel's BUG_ON(), not one of the test's checks */
	err = xa_insert(root, index, item, GFP_KERNEL);
	return err == -EBUSY ? -EEXIST : err;
}

static inline void *radix_tree_lookup(struct xarray *root, unsigned long index)
{
	return xa_load(root, index);
}

static inline void *radix_tree_delete(struct xarray *root, unsigned long index)
{
	return xa_erase(root, index);
}

static inline void *radix_tree_tag_set(struct xarray *root, unsigned long index, unsigned int tag)
{
	xa_set_mark(root, index, (xa_mark_t)tag);
	return xa_load(root, index);
}

static inline void *radix_tree_tag_clear(struct xarray *root, unsigned long index, unsigned int tag)
{
	xa_clear_mark(root, index, (xa_mark_t)tag);
	return xa_load(root, index);
}

static inline int radix_tree_tag_get(struct xarray *root, unsigned long index, unsigned int tag)
{
	return xa_get_mark(root, index, (xa_mark_t)tag);
}

/*
 * A radix tree declared with its gfp mask: the kernel keeps the mask in
 * xa_flags, gmemsim's XArray reads xa_flags as XA_FLAGS_* only, and the
 * harness's files pass GFP_KERNEL, which the XArray calls use anyway.
 */
#define RADIX_TREE(name, mask) struct xarray name = XARRAY_INIT(name, 0)

static inline bool radix_tree_empty(const struct xarray *root)
{
	return xa_empty(root);
}

/* Up to @max_items present entries from @first_index on, in index order. */
static inline unsigned int radix_tree_gang_lookup(struct xarray *root, void **results,
						  unsigned long first_index, unsigned int max_items)
{
	XA_STATE(xas, root, first_index);
	unsigned int ret = 0;
	void *entry;

	if (!max_items)
		return 0;
	rcu_read_lock();
	xas_for_each (&xas, entry, ULONG_MAX) {
		if (xas_retry(&xas, entry))
			continue;
		results[ret++] = entry;
		if (ret == max_items)
			break;
	}
	rcu_read_unlock();
	return ret;
}

/* Up to @max_items entries with mark @tag from @first_index on, in index order. */
static inline unsigned int radix_tree_gang_lookup_tag(struct xarray *root, void **results,
						      unsigned long first_index,
						      unsigned int max_items, unsigned int tag)
{
	XA_STATE(xas, root, first_index);
	unsigned int ret = 0;
	void *entry;

	if (!max_items)
		return 0;
	rcu_read_lock();
	xas_for_each_marked (&xas, entry, ULONG_MAX, (xa_mark_t)tag) {
		if (xas_retry(&xas, entry))
			continue;
		results[ret++] = entry;
		if (ret == max_items)
			break;
	}
	rcu_read_unlock();
	return ret;
}

/* The slots (not the entries) of up to @max_items entries with mark @tag. */
static inline unsigned int radix_tree_gang_lookup_tag_slot(struct xarray *root, void ***results,
							   unsigned long first_index,
							   unsigned int max_items, unsigned int tag)
{
	XA_STATE(xas, root, first_index);
	unsigned int ret = 0;
	void *entry;

	if (!max_items)
		return 0;
	xas_for_each_marked (&xas, entry, ULONG_MAX, (xa_mark_t)tag) {
		/* An entry at index 0 alone lives in the head, not in a node. */
		results[ret++] = xas.xa_node ? &xas.xa_node->slots[xas.xa_offset] : &root->xa_head;
		if (ret == max_items)
			break;
	}
	return ret;
}

#endif
