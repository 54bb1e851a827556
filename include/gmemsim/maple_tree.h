/* SPDX-License-Identifier: MIT */
/*
 * The maple tree: a B-tree of non-overlapping ranges [first, last] of
 * unsigned long indices, each mapped to one entry (NULL for "nothing").
 * guest_memfd keeps the shared/private state of a file's indices in one.
 *
 * Mirrors the kernel's include/linux/maple_tree.h and lib/maple_tree.c:
 * same names, same observable semantics (adjacent equal ranges stay apart,
 * NULL ranges coalesce, a store overwrites what it covers and trims what it
 * partly covers), same 256-byte nodes of 16 slots and 15 pivots, and the same
 * preallocate-then-store protocol (mas_preallocate() + mas_store_prealloc()).
 * The implementation is our own: a tree not in RCU mode changes its nodes in
 * place, so only node splits allocate; in RCU mode (mt_set_in_rcu()) a store
 * replaces every node it changes by a copy, marks the old one dead and frees
 * it with call_rcu(), as the kernel does, so that a reader that holds
 * rcu_read_lock() and a ma_state across the store restarts from the root.
 * See docs/MAPLE.md.
 */
#ifndef GMEMSIM_MAPLE_TREE_H
#define GMEMSIM_MAPLE_TREE_H

#include <limits.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>
#include <gmemsim/rcu.h>
#include <gmemsim/spinlock.h>

/* Slots and pivots of a range node (the kernel's maple_range_64/maple_leaf_64). */
#define MAPLE_RANGE64_SLOTS  16
#define MAPLE_RANGE64_PIVOTS (MAPLE_RANGE64_SLOTS - 1)
/* A node other than the root or the rightmost of its level holds at least this many. */
#define MAPLE_MIN_SLOTS	 6
#define MAPLE_HEIGHT_MAX 31
#define MAPLE_NODE_SIZE	 256

/* Tree flags (values as the kernel's). */
#define MT_FLAGS_ALLOC_RANGE   0x01 /* allocation tree: mtree_alloc_range() and friends */
#define MT_FLAGS_HEIGHT_OFFSET 0x02
#define MT_FLAGS_HEIGHT_MASK   0x7C
#define MT_FLAGS_USE_RCU       0x02 /* copy-on-write nodes, freed after a grace period */
#define MT_FLAGS_LOCK_IRQ      0x100
#define MT_FLAGS_LOCK_BH       0x200
#define MT_FLAGS_LOCK_EXTERN   0x300
#define MT_FLAGS_LOCK_MASK     0x300
#define MT_FLAGS_ALLOC_WRAPPED 0x800 /* mas_alloc_cyclic() passed ULONG_MAX */

/*
 * A maple node: the parent pointer (with the node's allocation site in bit 0),
 * 15 pivots and 16 slots. Pivot i is the last index of slot i; the last used
 * slot ends at the node's maximum, which only the parent knows, and every
 * pivot from there on holds ULONG_MAX so that a search stops by itself.
 * While a node sits unused in a ma_state's reserve it is a struct maple_alloc.
 * A node replaced in RCU mode is dead: its parent word points at itself, and
 * its rcu_head (over the first pivots, as in the kernel) queues its free.
 */
struct maple_alloc {
	struct maple_alloc *next;
	unsigned long total; /* nodes in the list from here on */
	unsigned int site;   /* allocation site of this node */
};

struct maple_node {
	union {
		struct {
			unsigned long parent;
			unsigned long pivot[MAPLE_RANGE64_PIVOTS];
			void *slot[MAPLE_RANGE64_SLOTS];
		};
		struct maple_alloc alloc;
		struct {
			unsigned long rcu_parent; /* parent, kept while the free waits */
			struct rcu_head rcu;
		};
	};
};

/* A node pointer tagged with its type, as stored in ma_root and in parent slots. */
struct maple_enode;

/**
 * struct maple_tree - the tree root
 * @ma_lock: taken by the mtree_* API around every change
 * @ma_flags: MT_FLAGS_*; the height lives in MT_FLAGS_HEIGHT_MASK
 * @ma_root: NULL for an empty tree, else the tagged root node
 */
struct maple_tree {
	spinlock_t ma_lock;
	unsigned int ma_flags;
	void *ma_root;
};

#define MTREE_INIT(name, __flags)                                                       \
	{                                                                               \
		.ma_lock = __SPIN_LOCK_UNLOCKED((name).ma_lock), .ma_flags = (__flags), \
		.ma_root = NULL,                                                        \
	}

#define DEFINE_MTREE(name) struct maple_tree name = MTREE_INIT(name, 0)

/*
 * With MT_FLAGS_LOCK_EXTERN the caller's own lock protects changes; the kernel
 * only records it for lockdep, and so this records nothing.
 */
#define mt_set_external_lock(mt, lock) ((void)(mt), (void)(lock))

#define mtree_lock(mt)		       spin_lock(&(mt)->ma_lock)
#define mtree_unlock(mt)	       spin_unlock(&(mt)->ma_lock)
/* The same lock reached through a ma_state: code that holds only the state needs no tree. */
#define mas_lock(mas)	spin_lock(&(mas)->tree->ma_lock)
#define mas_unlock(mas) spin_unlock(&(mas)->tree->ma_lock)

/*
 * Where a ma_state stands: ma_start (walk from the root next time),
 * ma_active (node/offset/min/max describe the range index..last), ma_none
 * (empty tree), ma_pause (resume after last), ma_overflow / ma_underflow
 * (an iteration ran past its max / min), ma_error (node holds the errno).
 * ma_root is the kernel's state for a lone entry at index 0 kept in ma_root
 * itself; gmemsim stores that entry in a leaf and never enters the state.
 */
enum maple_status {
	ma_active,
	ma_start,
	ma_root,
	ma_none,
	ma_pause,
	ma_overflow,
	ma_underflow,
	ma_error,
};

/**
 * struct ma_state - the state of an advanced-API operation
 * @tree: the tree
 * @index: first index of the operation, then of the range found
 * @last: last index of the operation, then of the range found
 * @node: the leaf holding the range (tagged), when ma_active
 * @min: first index covered by @node
 * @max: last index covered by @node
 * @alloc: nodes reserved for the next store (mas_preallocate())
 * @status: see enum maple_status
 * @depth: depth of @node (0 is the root)
 * @offset: slot of the range in @node
 * @mas_flags: MA_STATE_PREALLOC, MA_STATE_BULK
 * @end: last used slot of @node
 * @alloc_req: after -ENOMEM, the nodes the store wanted (for mas_nomem())
 */
struct ma_state {
	struct maple_tree *tree;
	unsigned long index;
	unsigned long last;
	struct maple_enode *node;
	unsigned long min;
	unsigned long max;
	struct maple_alloc *alloc;
	enum maple_status status;
	unsigned char depth;
	unsigned char offset;
	unsigned char mas_flags;
	unsigned char end;
	unsigned char alloc_req;
};

#define MA_STATE_PREALLOC 0x01
#define MA_STATE_BULK	  0x02 /* mas_expected_entries(): a reserve for many stores */

#define MA_STATE(name, mt, first, end) \
	struct ma_state name = {       \
		.tree = (mt),          \
		.index = (first),      \
		.last = (end),         \
		.node = NULL,          \
		.min = 0,              \
		.max = ULONG_MAX,      \
		.alloc = NULL,         \
		.status = ma_start,    \
		.mas_flags = 0,        \
	}

/**
 * mt_init_flags() - initialise an empty tree
 * @mt: the tree
 * @flags: MT_FLAGS_* (ALLOC_RANGE and USE_RCU are honoured)
 *
 * Context: any.
 */
static inline void mt_init_flags(struct maple_tree *mt, unsigned int flags)
{
	spin_lock_init(&mt->ma_lock);
	mt->ma_flags = flags & ~MT_FLAGS_HEIGHT_MASK;
	mt->ma_root = NULL;
}

/** mt_init() - initialise an empty tree with no flags */
static inline void mt_init(struct maple_tree *mt)
{
	mt_init_flags(mt, 0);
}

/** mt_in_rcu() - whether @mt is in RCU mode (MT_FLAGS_USE_RCU) */
static inline bool mt_in_rcu(const struct maple_tree *mt)
{
	return mt->ma_flags & MT_FLAGS_USE_RCU;
}

/**
 * mt_set_in_rcu() - put @mt in RCU mode
 * @mt: the tree
 *
 * From now on a store copies the nodes it changes instead of changing them
 * under a reader (except the one-slot stores the kernel makes in place), marks
 * the replaced nodes dead and frees them with call_rcu(); readers that hold
 * rcu_read_lock() see the old or the new tree, never freed memory
 * (docs/MAPLE.md).
 *
 * Context: takes the tree lock.
 */
static inline void mt_set_in_rcu(struct maple_tree *mt)
{
	spin_lock(&mt->ma_lock);
	mt->ma_flags |= MT_FLAGS_USE_RCU;
	spin_unlock(&mt->ma_lock);
}

/** mt_clear_in_rcu() - take @mt out of RCU mode. Context: takes the tree lock. */
static inline void mt_clear_in_rcu(struct maple_tree *mt)
{
	spin_lock(&mt->ma_lock);
	mt->ma_flags &= ~MT_FLAGS_USE_RCU;
	spin_unlock(&mt->ma_lock);
}

/** mtree_empty() - true when nothing is stored in @mt */
static inline bool mtree_empty(const struct maple_tree *mt)
{
	return mt->ma_root == NULL;
}

/** mt_height() - levels of nodes in @mt (0 for an empty tree) */
static inline unsigned int mt_height(const struct maple_tree *mt)
{
	return (mt->ma_flags & MT_FLAGS_HEIGHT_MASK) >> MT_FLAGS_HEIGHT_OFFSET;
}

/* Normal API: each call takes the tree lock itself. */
GS_API void *mtree_load(struct maple_tree *mt, unsigned long index);
GS_API int mtree_store_range(struct maple_tree *mt, unsigned long first, unsigned long last,
			     void *entry, gfp_t gfp);
GS_API int mtree_store(struct maple_tree *mt, unsigned long index, void *entry, gfp_t gfp);
GS_API int mtree_insert_range(struct maple_tree *mt, unsigned long first, unsigned long last,
			      void *entry, gfp_t gfp);
GS_API int mtree_insert(struct maple_tree *mt, unsigned long index, void *entry, gfp_t gfp);
GS_API void *mtree_erase(struct maple_tree *mt, unsigned long index);
GS_API void mtree_destroy(struct maple_tree *mt);
GS_API void __mt_destroy(struct maple_tree *mt);
GS_API void *mt_find(struct maple_tree *mt, unsigned long *index, unsigned long max);
GS_API void *mt_find_after(struct maple_tree *mt, unsigned long *index, unsigned long max);
GS_API void *mt_next(struct maple_tree *mt, unsigned long index, unsigned long max);
GS_API void *mt_prev(struct maple_tree *mt, unsigned long index, unsigned long min);

/**
 * mt_for_each() - iterate over the non-NULL ranges of a tree
 * @__tree: the tree
 * @__entry: set to each entry in turn
 * @__index: first index to look at; left one past the range found
 * @__max: last index to look at
 *
 * Each step searches from the root (mt_find()), so the tree may change
 * between steps; use mas_for_each() for speed.
 */
#define mt_for_each(__tree, __entry, __index, __max)                \
	for (__entry = mt_find(__tree, &(__index), __max); __entry; \
	     __entry = mt_find_after(__tree, &(__index), __max))

/* Advanced API: the caller holds the tree lock (or its external lock) for changes. */
GS_API void *mas_walk(struct ma_state *mas);
GS_API void *mas_find(struct ma_state *mas, unsigned long max);
GS_API void *mas_find_range(struct ma_state *mas, unsigned long max);
GS_API void *mas_find_rev(struct ma_state *mas, unsigned long min);
GS_API void *mas_find_range_rev(struct ma_state *mas, unsigned long min);
GS_API void *mas_next(struct ma_state *mas, unsigned long max);
GS_API void *mas_next_range(struct ma_state *mas, unsigned long max);
GS_API void *mas_prev(struct ma_state *mas, unsigned long min);
GS_API void *mas_prev_range(struct ma_state *mas, unsigned long min);
GS_API void *mas_store(struct ma_state *mas, void *entry);
GS_API int mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp);
GS_API int mas_preallocate(struct ma_state *mas, void *entry, gfp_t gfp);
GS_API void mas_store_prealloc(struct ma_state *mas, void *entry);
GS_API void *mas_erase(struct ma_state *mas);
GS_API void mas_destroy(struct ma_state *mas);
GS_API bool mas_nomem(struct ma_state *mas, gfp_t gfp);
GS_API void mas_pause(struct ma_state *mas);

/* Allocation trees (MT_FLAGS_ALLOC_RANGE): free areas are found by a walk, not recorded gaps. */
GS_API int mas_empty_area(struct ma_state *mas, unsigned long min, unsigned long max,
			  unsigned long size);
GS_API int mas_empty_area_rev(struct ma_state *mas, unsigned long min, unsigned long max,
			      unsigned long size);
GS_API int mtree_alloc_range(struct maple_tree *mt, unsigned long *startp, void *entry,
			     unsigned long size, unsigned long min, unsigned long max, gfp_t gfp);
GS_API int mtree_alloc_rrange(struct maple_tree *mt, unsigned long *startp, void *entry,
			      unsigned long size, unsigned long min, unsigned long max, gfp_t gfp);
GS_API int mas_alloc_cyclic(struct ma_state *mas, unsigned long *startp, void *entry,
			    unsigned long range_lo, unsigned long range_hi, unsigned long *next,
			    gfp_t gfp);
GS_API int mtree_alloc_cyclic(struct maple_tree *mt, unsigned long *startp, void *entry,
			      unsigned long range_lo, unsigned long range_hi, unsigned long *next,
			      gfp_t gfp);

/* Bulk loading and duplication. */
GS_API int mas_expected_entries(struct ma_state *mas, unsigned long nr_entries);
GS_API int __mt_dup(struct maple_tree *mt, struct maple_tree *new, gfp_t gfp);
GS_API int mtree_dup(struct maple_tree *mt, struct maple_tree *new, gfp_t gfp);

/**
 * mas_for_each() - iterate over the non-NULL ranges from mas->index
 * @__mas: the ma_state
 * @__entry: set to each entry; mas->index/last hold its range
 * @__max: last index to look at
 */
#define mas_for_each(__mas, __entry, __max) while (((__entry) = mas_find((__mas), (__max))) != NULL)

/**
 * mas_set_range() - point @mas at [@start, @last] and restart from the root
 * @mas: the ma_state
 * @start: first index
 * @last: last index
 */
static inline void mas_set_range(struct ma_state *mas, unsigned long start, unsigned long last)
{
	mas->index = start;
	mas->last = last;
	mas->status = ma_start;
	mas->node = NULL;
}

/** mas_set() - point @mas at the single index @index and restart from the root */
static inline void mas_set(struct ma_state *mas, unsigned long index)
{
	mas_set_range(mas, index, index);
}

/** mas_reset() - make the next operation walk from the root again */
static inline void mas_reset(struct ma_state *mas)
{
	mas->status = ma_start;
	mas->node = NULL;
}

/** mas_is_active() - true when @mas stands on a range of a node */
static inline bool mas_is_active(const struct ma_state *mas)
{
	return mas->status == ma_active;
}

/** mas_is_err() - true after a failed mas_store() (-ENOMEM) */
static inline bool mas_is_err(const struct ma_state *mas)
{
	return mas->status == ma_error;
}

/** mas_err() - the errno of a failed operation, 0 otherwise */
static inline int mas_err(const struct ma_state *mas)
{
	return mas->status == ma_error ? -(int)((unsigned long)mas->node >> 2) : 0;
}

/* Introspection and debugging (lib/maple_debug.c). */
enum mt_dump_format {
	mt_dump_dec,
	mt_dump_hex,
};

GS_API unsigned long mt_nr_nodes(const struct maple_tree *mt);
GS_API unsigned long mt_nr_ranges(const struct maple_tree *mt);
GS_API void mt_dump(const struct maple_tree *mt, enum mt_dump_format format);
GS_API void mt_fdump(FILE *f, const struct maple_tree *mt, enum mt_dump_format format);
GS_API int mt_validate(const struct maple_tree *mt);

/** mt_nr_bytes() - memory held by the nodes of @mt */
static inline unsigned long mt_nr_bytes(const struct maple_tree *mt)
{
	return mt_nr_nodes(mt) * MAPLE_NODE_SIZE;
}

struct gs_state;

/**
 * gs_mt_dump_state() - the tree's nodes as state records (what mt_dump() prints)
 * @st: the snapshot
 * @path: where the records go; each node is "@path/N", numbered in preorder
 * @mt: the tree
 *
 * Per node: min, max (hex), depth, type (leaf or range), parent (its N, -1
 * for the root) and slots; a leaf also lists its ranges as
 * "0xFIRST-0xLAST=V,..." where V is a value entry's number, null or entry.
 * No addresses.
 *
 * Context: the tree must not change meanwhile.
 */
GS_API void gs_mt_dump_state(struct gs_state *st, const char *path, const struct maple_tree *mt);

#endif /* GMEMSIM_MAPLE_TREE_H */
