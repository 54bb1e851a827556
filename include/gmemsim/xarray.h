/* SPDX-License-Identifier: MIT */
/*
 * The XArray: a radix tree of pointers indexed by unsigned long, with
 * multi-index entries, three search marks per entry and the node-splitting
 * operations the page cache needs. Mirrors include/linux/xarray.h (names,
 * entry encoding, normal and advanced API) with three deliberate differences:
 * readers take the array's spinlock (gmemsim has no RCU), xas_split_alloc()
 * and xas_split() handle any order in one call, and struct xa_node is private
 * to lib/xarray.c so that this header does not depend on the node size chosen
 * at build time (meson option xa_chunk_shift). See docs/XARRAY.md.
 */
#ifndef GMEMSIM_XARRAY_H
#define GMEMSIM_XARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>
#include <gmemsim/list.h>
#include <gmemsim/rcu.h>
#include <gmemsim/spinlock.h>
#include <gmemsim/xa_config.h>

/*
 * Entry encoding (bottom two bits): 00 a pointer, x1 a value entry, 10 an
 * internal entry. Internal entries are sibling slots of a multi-index entry
 * (small numbers), the retry and zero entries, error codes (negative numbers)
 * and pointers to nodes (above 4096). Users store pointers and values only.
 */

/**
 * xa_mk_value() - create a value entry
 * @v: value, at most LONG_MAX
 *
 * Return: an entry that can be stored in an XArray.
 */
static inline void *xa_mk_value(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

/** xa_to_value() - the value stored in a value entry */
static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

/** xa_is_value() - whether @entry is a value entry */
static inline bool xa_is_value(const void *entry)
{
	return (unsigned long)entry & 1;
}

/** xa_mk_internal() - encode @v as an internal entry (for the XArray's own use) */
static inline void *xa_mk_internal(unsigned long v)
{
	return (void *)((v << 2) | 2);
}

/** xa_to_internal() - the number encoded in an internal entry */
static inline unsigned long xa_to_internal(const void *entry)
{
	return (unsigned long)entry >> 2;
}

/** xa_is_internal() - whether @entry is an internal entry */
static inline bool xa_is_internal(const void *entry)
{
	return ((unsigned long)entry & 3) == 2;
}

#define XA_RETRY_ENTRY xa_mk_internal(256)
#define XA_ZERO_ENTRY  xa_mk_internal(257)

/** xa_is_zero() - whether @entry is the reserved zero entry */
static inline bool xa_is_zero(const void *entry)
{
	return entry == XA_ZERO_ENTRY;
}

/** xa_is_retry() - whether @entry is the retry entry */
static inline bool xa_is_retry(const void *entry)
{
	return entry == XA_RETRY_ENTRY;
}

/** xa_is_node() - whether @entry points to an xa_node */
static inline bool xa_is_node(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry > 4096;
}

/** xa_is_err() - whether @entry encodes an errno (as returned by xa_store()) */
static inline bool xa_is_err(const void *entry)
{
	return xa_is_internal(entry) &&
	       (unsigned long)entry >= (unsigned long)xa_mk_internal((unsigned long)-4095L);
}

/**
 * xa_err() - turn an XArray result into an errno
 * @entry: result of xa_store(), xa_cmpxchg(), ...
 *
 * Return: 0 for a normal entry, else the negative errno it encodes.
 */
static inline int xa_err(const void *entry)
{
	if (xa_is_err(entry))
		return (int)((long)entry >> 2);
	return 0;
}

/** xa_is_advanced() - whether @entry cannot be stored through the normal API */
static inline bool xa_is_advanced(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry <= (unsigned long)XA_RETRY_ENTRY;
}

/* Marks: three bits per entry; XA_PRESENT is the filter "any entry" of xa_find(). */
typedef unsigned int xa_mark_t;
#define XA_MARK_0    0U
#define XA_MARK_1    1U
#define XA_MARK_2    2U
#define XA_PRESENT   8U
#define XA_MARK_MAX  XA_MARK_2
#define XA_FREE_MARK XA_MARK_0
#define XA_MAX_MARKS 3

/* xa_flags: the lock type, accounting, then one bit per mark of the root. */
#define XA_FLAGS_LOCK_IRQ      0x1U
#define XA_FLAGS_LOCK_BH       0x2U
#define XA_FLAGS_ACCOUNT       0x4U  /* charge nodes to the caller (__GFP_ACCOUNT) */
#define XA_FLAGS_TRACK_FREE    0x8U  /* an allocating array: storing NULL reserves the index */
#define XA_FLAGS_ZERO_BUSY     0x10U /* index 0 is never allocated */
#define XA_FLAGS_ALLOC_WRAPPED 0x20U /* xa_alloc_cyclic() went past the top */
#define XA_FLAGS_ALLOC	       XA_FLAGS_TRACK_FREE
#define XA_FLAGS_ALLOC1	       (XA_FLAGS_TRACK_FREE | XA_FLAGS_ZERO_BUSY)
#define XA_FLAGS_MARK(mark)    (0x100U << (mark))

/**
 * struct xarray - the array
 * @xa_lock: protects every field and every node (readers take it too)
 * @xa_flags: XA_FLAGS_*; the root's marks live here
 * @xa_head: NULL, the entry at index 0, or a node
 */
struct xarray {
	spinlock_t xa_lock;
	unsigned int xa_flags;
	void *xa_head;
};

#define XARRAY_INIT(name, flags)                                                    \
	{                                                                           \
		.xa_lock = __SPIN_LOCK_UNLOCKED(name.xa_lock), .xa_flags = (flags), \
		.xa_head = NULL                                                     \
	}

#define DEFINE_XARRAY_FLAGS(name, flags) struct xarray name = XARRAY_INIT(name, flags)
#define DEFINE_XARRAY(name)		 DEFINE_XARRAY_FLAGS(name, 0)
#define DEFINE_XARRAY_ALLOC(name)	 DEFINE_XARRAY_FLAGS(name, XA_FLAGS_ALLOC)
#define DEFINE_XARRAY_ALLOC1(name)	 DEFINE_XARRAY_FLAGS(name, XA_FLAGS_ALLOC1)

/**
 * xa_init_flags() - initialise an empty array
 * @xa: the array
 * @flags: XA_FLAGS_LOCK_IRQ, XA_FLAGS_LOCK_BH, XA_FLAGS_ACCOUNT
 *
 * Context: any.
 */
static inline void xa_init_flags(struct xarray *xa, unsigned int flags)
{
	spin_lock_init(&xa->xa_lock);
	xa->xa_flags = flags;
	xa->xa_head = NULL;
}

/** xa_init() - initialise an empty array with default flags */
static inline void xa_init(struct xarray *xa)
{
	xa_init_flags(xa, 0);
}

/** xa_empty() - whether the array holds no entry; call with the lock held or alone */
static inline bool xa_empty(const struct xarray *xa)
{
	return xa->xa_head == NULL;
}

/** xa_marked() - whether any entry of the array has @mark */
static inline bool xa_marked(const struct xarray *xa, xa_mark_t mark)
{
	return xa->xa_flags & XA_FLAGS_MARK(mark);
}

#define xa_lock(xa)			spin_lock(&(xa)->xa_lock)
#define xa_unlock(xa)			spin_unlock(&(xa)->xa_lock)
#define xa_lock_irq(xa)			spin_lock_irq(&(xa)->xa_lock)
#define xa_unlock_irq(xa)		spin_unlock_irq(&(xa)->xa_lock)
#define xa_lock_bh(xa)			spin_lock_bh(&(xa)->xa_lock)
#define xa_unlock_bh(xa)		spin_unlock_bh(&(xa)->xa_lock)
#define xa_lock_irqsave(xa, flags)	spin_lock_irqsave(&(xa)->xa_lock, flags)
#define xa_unlock_irqrestore(xa, flags) spin_unlock_irqrestore(&(xa)->xa_lock, flags)

/* ---------------------------------------------------------------------------------------- */
/* Normal API: each call takes and releases xa_lock; the __ variants expect it held.       */

/**
 * xa_load() - the entry at @index
 * @xa: the array
 * @index: any index, including one inside a multi-index entry
 *
 * Context: any; an RCU reader (never takes xa_lock, so it may be called with it held).
 * Return: the entry, or NULL.
 */
GS_API void *xa_load(struct xarray *xa, unsigned long index);

/**
 * xa_store() - store @entry at @index
 * @xa: the array
 * @index: index; inside a multi-index entry, the whole entry is replaced
 * @entry: pointer or value entry; NULL erases (all of a multi-index entry)
 * @gfp: how nodes may be allocated; a blocking @gfp drops the lock to allocate
 *
 * Marks of @index are kept unless @entry is NULL.
 *
 * Context: takes and releases xa_lock; may sleep if @gfp allows.
 * Return: the previous entry, xa_err(-EINVAL) for an internal @entry, or
 * xa_err(-ENOMEM) (the array is then unchanged).
 */
GS_API void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * __xa_store() - xa_store() for a caller holding xa_lock
 * @xa: the array
 * @index: index
 * @entry: new entry, or NULL to erase
 * @gfp: allocation flags
 *
 * Context: xa_lock held; dropped and retaken around an allocation that may sleep.
 * Return: as xa_store().
 */
GS_API void *__xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * xa_erase() - erase the entry at @index
 * @xa: the array
 * @index: any index of the entry; a multi-index entry is erased whole
 *
 * Context: takes and releases xa_lock.
 * Return: the erased entry, or NULL.
 */
GS_API void *xa_erase(struct xarray *xa, unsigned long index);

/**
 * __xa_erase() - xa_erase() for a caller holding xa_lock
 * @xa: the array
 * @index: any index of the entry
 *
 * Context: xa_lock held; never allocates.
 * Return: the erased entry, or NULL.
 */
GS_API void *__xa_erase(struct xarray *xa, unsigned long index);

/**
 * xa_insert() - store @entry at @index if nothing is there
 * @xa: the array
 * @index: index
 * @entry: pointer or value entry (gmemsim has no reservations: NULL is -EINVAL)
 * @gfp: allocation flags
 *
 * Context: takes and releases xa_lock; may sleep if @gfp allows.
 * Return: 0, -EBUSY if an entry is present, -EINVAL, or -ENOMEM.
 */
GS_API int xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * __xa_insert() - xa_insert() for a caller holding xa_lock
 * @xa: the array
 * @index: index
 * @entry: pointer or value entry
 * @gfp: allocation flags
 *
 * Context: xa_lock held; dropped and retaken around an allocation that may sleep.
 * Return: 0, -EBUSY, -EINVAL or -ENOMEM.
 */
GS_API int __xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * xa_cmpxchg() - replace the entry at @index if it is @old
 * @xa: the array
 * @index: index (inside a multi-index entry, compares and replaces that entry)
 * @old: expected entry (NULL: only store into an empty index)
 * @entry: new entry
 * @gfp: allocation flags
 *
 * Context: takes and releases xa_lock; may sleep if @gfp allows.
 * Return: the entry that was at @index (equal to @old on success), or an
 * xa_err() encoded error.
 */
GS_API void *xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp);

/**
 * __xa_cmpxchg() - xa_cmpxchg() for a caller holding xa_lock
 * @xa: the array
 * @index: index
 * @old: expected entry
 * @entry: new entry
 * @gfp: allocation flags
 *
 * Context: xa_lock held; dropped and retaken around an allocation that may sleep.
 * Return: as xa_cmpxchg().
 */
GS_API void *__xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry,
			  gfp_t gfp);

/**
 * xa_store_range() - store @entry at every index of [@first, @last]
 * @xa: the array
 * @first: first index
 * @last: last index
 * @entry: entry, or NULL to erase the range
 * @gfp: allocation flags
 *
 * The range is covered with the fewest aligned multi-index entries.
 *
 * Context: takes and releases xa_lock; may sleep if @gfp allows.
 * Return: NULL, xa_err(-EINVAL) or xa_err(-ENOMEM); on -ENOMEM the array is
 * unchanged.
 */
GS_API void *xa_store_range(struct xarray *xa, unsigned long first, unsigned long last, void *entry,
			    gfp_t gfp);

/**
 * xa_get_order() - order of the entry at @index
 * @xa: the array
 * @index: any index of the entry
 *
 * Context: any; an RCU reader (never takes xa_lock, so it may be called with it held).
 * Return: log2 of the number of indices the entry covers; 0 if none.
 */
GS_API int xa_get_order(struct xarray *xa, unsigned long index);

/**
 * xa_find() - first entry at or above *@indexp
 * @xa: the array
 * @indexp: in: where to start; out: index of the entry found
 * @max: last index to consider
 * @filter: XA_PRESENT or a mark
 *
 * Starting inside a multi-index entry returns it with *@indexp unchanged.
 *
 * Context: any; an RCU reader (never takes xa_lock, so it may be called with it held).
 * Return: the entry, or NULL (then *@indexp is unchanged).
 */
GS_API void *xa_find(struct xarray *xa, unsigned long *indexp, unsigned long max, xa_mark_t filter);

/**
 * xa_find_after() - first entry above *@indexp
 * @xa: the array
 * @indexp: in: index of the last entry seen; out: index of the entry found
 * @max: last index to consider
 * @filter: XA_PRESENT or a mark
 *
 * The rest of a multi-index entry that starts at or before *@indexp is skipped.
 *
 * Context: any; an RCU reader (never takes xa_lock, so it may be called with it held).
 * Return: the entry, or NULL.
 */
GS_API void *xa_find_after(struct xarray *xa, unsigned long *indexp, unsigned long max,
			   xa_mark_t filter);

#define xa_for_each_range(xa, index, entry, start, last)                            \
	for (index = (start), entry = xa_find(xa, &index, last, XA_PRESENT); entry; \
	     entry = xa_find_after(xa, &index, last, XA_PRESENT))

#define xa_for_each_start(xa, index, entry, start) xa_for_each_range (xa, index, entry, start, ~0UL)

/* Visits each entry once, multi-index entries at their first index; O(height) per step. */
#define xa_for_each(xa, index, entry) xa_for_each_start(xa, index, entry, 0)

#define xa_for_each_marked(xa, index, entry, filter)                      \
	for (index = 0, entry = xa_find(xa, &index, ~0UL, filter); entry; \
	     entry = xa_find_after(xa, &index, ~0UL, filter))

/**
 * xa_set_mark() - set @mark on the entry at @index
 * @xa: the array
 * @index: any index of the entry; nothing happens if there is no entry
 * @mark: XA_MARK_0..2
 *
 * Context: takes and releases xa_lock.
 */
GS_API void xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * xa_clear_mark() - clear @mark on the entry at @index
 * @xa: the array
 * @index: any index of the entry
 * @mark: XA_MARK_0..2
 *
 * Context: takes and releases xa_lock.
 */
GS_API void xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * xa_get_mark() - whether the entry at @index has @mark
 * @xa: the array
 * @index: any index of the entry
 * @mark: XA_MARK_0..2
 *
 * Context: any; an RCU reader (never takes xa_lock, so it may be called with it held).
 * Return: true if set.
 */
GS_API bool xa_get_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * __xa_set_mark() - xa_set_mark() for a caller holding xa_lock
 * @xa: the array
 * @index: any index of the entry
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 */
GS_API void __xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * __xa_clear_mark() - xa_clear_mark() for a caller holding xa_lock
 * @xa: the array
 * @index: any index of the entry
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 */
GS_API void __xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * xa_destroy() - free every node and empty the array
 * @xa: the array
 *
 * The entries themselves are the caller's to free.
 *
 * Context: takes and releases xa_lock.
 */
GS_API void xa_destroy(struct xarray *xa);

/**
 * xa_reserve() - keep @index for a later store: loads see NULL, stores and
 *                xa_alloc() see it taken
 * @xa: the array
 * @index: the index; nothing happens if it holds an entry
 * @gfp: for the nodes the reservation needs
 *
 * Context: takes and releases xa_lock.
 * Return: 0, or -ENOMEM.
 */
static inline int xa_reserve(struct xarray *xa, unsigned long index, gfp_t gfp)
{
	return xa_err(xa_cmpxchg(xa, index, NULL, XA_ZERO_ENTRY, gfp));
}

/** xa_release() - give back a reservation of xa_reserve() that was not stored to */
static inline void xa_release(struct xarray *xa, unsigned long index)
{
	xa_cmpxchg(xa, index, XA_ZERO_ENTRY, NULL, 0);
}

/**
 * struct xa_limit - the ids xa_alloc() may hand out
 * @max: the largest
 * @min: the smallest
 */
struct xa_limit {
	uint32_t max;
	uint32_t min;
};

#define XA_LIMIT(_min, _max) ((struct xa_limit){.min = (_min), .max = (_max)})
#define xa_limit_32b	     XA_LIMIT(0, UINT32_MAX)
#define xa_limit_31b	     XA_LIMIT(0, INT32_MAX)
#define xa_limit_16b	     XA_LIMIT(0, UINT16_MAX)

/**
 * xa_alloc() - store @entry at the lowest free index of @limit
 * @xa: an array made with XA_FLAGS_ALLOC or XA_FLAGS_ALLOC1
 * @id: where the index goes (written only on success)
 * @entry: the entry; NULL reserves the index
 * @limit: the range of indices
 * @gfp: for the nodes the store needs
 *
 * Free means empty (a reserved index is taken). gmemsim finds it by walking
 * the entries from @limit.min, not by the kernel's free mark: the same
 * answers, with a walk as long as the run of used indices it crosses.
 *
 * Context: takes and releases xa_lock.
 * Return: 0, -EBUSY (no free index in @limit), -ENOMEM, -EINVAL (an internal
 * entry, or an array not made for allocating).
 */
GS_API int xa_alloc(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit, gfp_t gfp);

/** __xa_alloc() - xa_alloc() with xa_lock held */
GS_API int __xa_alloc(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit,
		      gfp_t gfp);

/**
 * xa_alloc_cyclic() - xa_alloc() from *@next on, wrapping to @limit.min
 * @xa: an allocating array
 * @id: where the index goes
 * @entry: the entry
 * @limit: the range of indices
 * @next: where the search starts; set to *@id + 1
 * @gfp: for the nodes the store needs
 *
 * Context: takes and releases xa_lock.
 * Return: 0, 1 (the search wrapped to find it), or as xa_alloc().
 */
GS_API int xa_alloc_cyclic(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit,
			   uint32_t *next, gfp_t gfp);

/** __xa_alloc_cyclic() - xa_alloc_cyclic() with xa_lock held */
GS_API int __xa_alloc_cyclic(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit,
			     uint32_t *next, gfp_t gfp);

#define xa_alloc_bh	    xa_alloc
#define xa_alloc_irq	    xa_alloc
#define xa_alloc_cyclic_bh  xa_alloc_cyclic
#define xa_alloc_cyclic_irq xa_alloc_cyclic

/* ---------------------------------------------------------------------------------------- */
/* Advanced API                                                                            */

#define XA_CHUNK_SIZE  (1UL << XA_CHUNK_SHIFT)
#define XA_CHUNK_MASK  (XA_CHUNK_SIZE - 1)
#define XA_MARK_LONGS  1    /* XA_CHUNK_SHIFT is at most 6: one word holds a node's marks */
#define XA_CHECK_SCHED 4096 /* iterations between scheduling points in long walks */

/**
 * struct xa_node - one level of the tree, with the kernel's field names
 * @shift: bits of the index below this node's slots (0 for a leaf node)
 * @offset: this node's slot in its parent
 * @count: non-NULL slots, siblings and child nodes included
 * @nr_values: slots holding value entries, siblings of one included
 * @site: gmemsim's: the allocation site the node came from (keeps the
 *        per-site counters exact when it is freed); not in the kernel
 * @parent: NULL for the root node
 * @array: the array the node belongs to
 * @private_list: the user's (the page cache's workingset keeps shadow-only
 *                nodes on a list through it; see xas_set_update())
 * @rcu_head: a node taken out of the tree waits there for the grace period
 *            (include/gmemsim/rcu.h); shares the space of @private_list
 * @slots: entries, sibling entries of multi-index entries, or child nodes
 * @marks: one bit per slot and mark; set for a child node iff something
 *         below it carries the mark
 *
 * Public as in the kernel, so tools and ported code can read nodes; only
 * lib/xarray.c changes them (and the user's @private_list).
 */
struct xa_node {
	unsigned char shift;
	unsigned char offset;
	unsigned char count;
	unsigned char nr_values;
	unsigned char site;
	struct xa_node *parent;
	struct xarray *array;
	union {
		struct list_head private_list;
		struct rcu_head rcu_head;
	};
	void *slots[XA_CHUNK_SIZE];
	unsigned long marks[XA_MAX_MARKS][XA_MARK_LONGS];
};

/** xa_mk_node() - the internal entry that points to @node */
static inline void *xa_mk_node(const struct xa_node *node)
{
	return (void *)((unsigned long)node | 2);
}

/** xa_to_node() - the node an internal node entry points to */
static inline struct xa_node *xa_to_node(const void *entry)
{
	return (struct xa_node *)((unsigned long)entry - 2);
}

/*
 * Readers of the kernel's tree walk it under RCU or the lock; gmemsim has one
 * thread of control, so the checked and unchecked accessors are the same load.
 */
static inline void *xa_head(const struct xarray *xa)
{
	return xa->xa_head;
}

static inline void *xa_head_locked(const struct xarray *xa)
{
	return xa->xa_head;
}

static inline void *xa_entry(const struct xarray *xa, const struct xa_node *node,
			     unsigned int offset)
{
	(void)xa;
	return node->slots[offset];
}

static inline void *xa_entry_locked(const struct xarray *xa, const struct xa_node *node,
				    unsigned int offset)
{
	(void)xa;
	return node->slots[offset];
}

static inline struct xa_node *xa_parent(const struct xarray *xa, const struct xa_node *node)
{
	(void)xa;
	return node->parent;
}

static inline struct xa_node *xa_parent_locked(const struct xarray *xa, const struct xa_node *node)
{
	(void)xa;
	return node->parent;
}

/* The hook of xas_set_update(): the page cache's workingset keeps its shadow-node list by it. */
typedef void (*xa_update_node_t)(struct xa_node *node);

/**
 * struct xa_state - a cursor into an array, and the state of one operation
 * @xa: the array
 * @xa_index: the index (or the first index of the multi-index range)
 * @xa_shift: node level the operation works at (order rounded down to a level)
 * @xa_sibs: extra slots at that level (order = xa_shift + log2(xa_sibs + 1))
 * @xa_offset: slot in @xa_node
 * @xa_pad: unused
 * @xa_node: the node walked to; NULL for the head; or XAS_RESTART, XAS_BOUNDS,
 *           or an error (XA_ERROR)
 * @xa_alloc: nodes allocated outside the lock (xas_nomem(), xas_split_alloc())
 * @xa_update: called for each node whose slots the operation changed, and for
 *             each node it removes (count 0 then); see xas_set_update()
 */
struct xa_state {
	struct xarray *xa;
	unsigned long xa_index;
	unsigned char xa_shift;
	unsigned char xa_sibs;
	unsigned char xa_offset;
	unsigned char xa_pad;
	struct xa_node *xa_node;
	struct xa_node *xa_alloc;
	xa_update_node_t xa_update;
};

#define XA_ERROR(errno) ((struct xa_node *)(((unsigned long)(long)(errno) << 2) | 2UL))
#define XAS_BOUNDS	((struct xa_node *)1UL)
#define XAS_RESTART	((struct xa_node *)3UL)

#define __XA_STATE(array, index, shift, sibs)                                               \
	{                                                                                   \
		.xa = (array), .xa_index = (index), .xa_shift = (shift), .xa_sibs = (sibs), \
		.xa_offset = 0, .xa_pad = 0, .xa_node = XAS_RESTART, .xa_alloc = NULL,      \
		.xa_update = NULL                                                           \
	}

#define XA_STATE(name, array, index) struct xa_state name = __XA_STATE(array, index, 0, 0)

/*
 * The split of an order into level and siblings depends on the node size,
 * which only the library knows, so XA_STATE_ORDER asks it.
 */
#define XA_STATE_ORDER(name, array, index, order) \
	struct xa_state name = __xa_state_order(array, index, order)

/**
 * __xa_state_order() - the initialiser behind XA_STATE_ORDER()
 * @xa: the array
 * @index: any index of the block
 * @order: log2 of the number of indices
 *
 * Context: any.
 * Return: a state at the start of the order-@order block containing @index.
 */
GS_API struct xa_state __xa_state_order(struct xarray *xa, unsigned long index, unsigned int order);

#define xas_lock(xas)	    xa_lock((xas)->xa)
#define xas_unlock(xas)	    xa_unlock((xas)->xa)
#define xas_lock_irq(xas)   xa_lock_irq((xas)->xa)
#define xas_unlock_irq(xas) xa_unlock_irq((xas)->xa)
#define xas_lock_bh(xas)    xa_lock_bh((xas)->xa)
#define xas_unlock_bh(xas)  xa_unlock_bh((xas)->xa)

/** xas_error() - the errno the operation failed with, or 0 */
static inline int xas_error(const struct xa_state *xas)
{
	return xa_err(xas->xa_node);
}

/** xas_set_err() - put @xas in an error state; @err is a negative errno */
static inline void xas_set_err(struct xa_state *xas, long err)
{
	xas->xa_node = XA_ERROR(err);
}

/** xas_invalid() - true if @xas is in an error, restart or bounds state */
static inline bool xas_invalid(const struct xa_state *xas)
{
	return (unsigned long)xas->xa_node & 3;
}

/** xas_valid() - true if @xas has been walked to an entry */
static inline bool xas_valid(const struct xa_state *xas)
{
	return !xas_invalid(xas);
}

/** xas_is_node() - true if @xas points into a node (not the head) */
static inline bool xas_is_node(const struct xa_state *xas)
{
	return xas_valid(xas) && xas->xa_node;
}

/** xas_reset() - make the next walk start from the head */
static inline void xas_reset(struct xa_state *xas)
{
	xas->xa_node = XAS_RESTART;
}

/** xas_set() - move @xas to @index (order 0), clearing any error */
static inline void xas_set(struct xa_state *xas, unsigned long index)
{
	xas->xa_index = index;
	xas->xa_node = XAS_RESTART;
}

/**
 * xas_set_order() - move @xas to the order-@order range containing @index
 * @xas: the state
 * @index: any index of the range
 * @order: log2 of the number of indices
 *
 * Context: any.
 */
GS_API void xas_set_order(struct xa_state *xas, unsigned long index, unsigned int order);

/** xas_retry() - whether a walk must restart; gmemsim never shows readers retry entries */
static inline bool xas_retry(struct xa_state *xas, const void *entry)
{
	if (xa_is_zero(entry))
		return true;
	if (!xa_is_retry(entry))
		return false;
	xas_reset(xas);
	return true;
}

/**
 * xas_load() - walk @xas to its index and return the entry there
 * @xas: the state; in an error state nothing happens
 *
 * Context: xa_lock held. Never allocates.
 * Return: the entry, or NULL.
 */
GS_API void *xas_load(struct xa_state *xas);

/**
 * xas_store() - store @entry at the index and order of @xas
 * @xas: the state
 * @entry: new entry; NULL erases
 *
 * Nodes are allocated with GFP_NOWAIT (or taken from @xas->xa_alloc); on
 * failure @xas holds -ENOMEM and the caller retries after xas_nomem().
 *
 * Context: xa_lock held.
 * Return: the previous entry (meaningless for a multi-index store).
 */
GS_API void *xas_store(struct xa_state *xas, void *entry);

/**
 * xas_nomem() - allocate what the last operation of @xas lacked
 * @xas: the state
 * @gfp: allocation flags (call without the lock if they may sleep)
 *
 * If @xas failed with -ENOMEM, allocates a node into @xas->xa_alloc and
 * resets @xas so the operation can be retried. If that allocation fails too,
 * empty nodes the failed operation left behind are removed, so the array is
 * as it was before. Otherwise frees anything still held in @xas->xa_alloc.
 *
 * Context: any; takes xa_lock itself to tidy up after a final failure if the
 * caller does not hold it.
 * Return: true if the caller should retry.
 */
GS_API bool xas_nomem(struct xa_state *xas, gfp_t gfp);

/**
 * xas_destroy() - free the nodes still held in @xas->xa_alloc
 * @xas: the state
 *
 * Call after xas_split() (or instead of it) and after a retry loop that did
 * not end in xas_nomem().
 *
 * Context: any.
 */
GS_API void xas_destroy(struct xa_state *xas);

/**
 * gs_xa_store_nodes() - how many nodes a store of one entry at @index adds
 * @xa: the array
 * @index: where an order-0 entry would be stored
 *
 * The levels the tree would grow on top plus the missing nodes of the path
 * down to @index: what gs_xas_topup() must put in an xa_state for that
 * store to need no allocation (a page table's pages, counted before the
 * walk that fills them). gmemsim's own; Linux callers size such caches by
 * the tree's maximum height instead.
 *
 * Context: any; an RCU reader.
 * Return: the number of nodes, 0 when the path exists.
 */
GS_API unsigned int gs_xa_store_nodes(struct xarray *xa, unsigned long index);

/**
 * gs_xa_store_order_nodes() - how many nodes a store of an order-@order entry adds
 * @xa: the array
 * @index: the first index of the entry (aligned to its order)
 * @order: the entry's order
 *
 * gs_xa_store_nodes() for a multi-index entry: the levels the tree grows on
 * top (a multi-index entry is never the head, so one covering what the
 * whole tree covers needs a level above it) plus the missing nodes of the
 * path down to the node holding the entry's slot. A merge's page-cache
 * store after a truncation shrank the tree needs one. gmemsim's own.
 *
 * Context: any; an RCU reader.
 * Return: the number of nodes, 0 when the slot exists.
 */
GS_API unsigned int gs_xa_store_order_nodes(struct xarray *xa, unsigned long index,
					    unsigned int order);

/**
 * gs_xa_reserve() - keep at least @nr new nodes in @reserve for later stores
 * @xa: the array they are for
 * @reserve: a list of spare nodes (NULL when empty), linked as xa_alloc's
 * @nr: how many it must hold
 * @site: the allocation site they are charged to
 * @gfp: allocation flags; may sleep
 *
 * A reserve outlives one xa_state: it is filled before a point of no
 * return and handed to the stores after it (an xa_state's xa_alloc, then
 * what is left taken back). gmemsim's own.
 *
 * Context: any; without xa_lock if @gfp may sleep.
 * Return: 0, or -ENOMEM with @reserve as it was.
 */
GS_API int gs_xa_reserve(struct xarray *xa, struct xa_node **reserve, unsigned int nr,
			 unsigned int site, gfp_t gfp);

/** gs_xa_reserve_len() - how many nodes @reserve holds. Context: any. */
GS_API unsigned int gs_xa_reserve_len(struct xa_node *const *reserve);

/** gs_xa_reserve_free() - free the nodes left in @reserve and empty it. Context: any. */
GS_API void gs_xa_reserve_free(struct xa_node **reserve);

/**
 * gs_xas_topup() - put @nr new nodes in @xas->xa_alloc for later stores
 * @xas: the state the stores will use
 * @nr: how many (gs_xa_store_nodes())
 * @site: the allocation site they are charged to (and freed from)
 * @gfp: allocation flags; may sleep
 *
 * What xas_nomem() does one node at a time after a failure, done up front
 * and at the caller's site, so that a caller can allocate before it takes
 * any step it could not undo (KVM's MMU caches, topped up before the pfn is
 * looked up). xas_store() uses the nodes first; xas_destroy() frees those
 * left over. gmemsim's own.
 *
 * Context: any; without xa_lock if @gfp may sleep.
 * Return: 0, or -ENOMEM with @xas->xa_alloc emptied.
 */
GS_API int gs_xas_topup(struct xa_state *xas, unsigned int nr, unsigned int site, gfp_t gfp);

/**
 * xas_get_order() - order of the entry @xas was walked to by xas_load()
 * @xas: the state
 *
 * Context: xa_lock held.
 * Return: the order, 0 if @xas is not at an entry.
 */
GS_API int xas_get_order(struct xa_state *xas);

/**
 * xas_get_mark() - whether the entry @xas points at has @mark
 * @xas: the state, walked to an entry
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 * Return: true if set; false in an error, restart or bounds state.
 */
GS_API bool xas_get_mark(const struct xa_state *xas, xa_mark_t mark);

/**
 * xas_set_mark() - set @mark on the entry @xas is at, and on its ancestors
 * @xas: the state, walked to a present entry
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 */
GS_API void xas_set_mark(const struct xa_state *xas, xa_mark_t mark);

/**
 * xas_clear_mark() - clear @mark on the entry @xas points at, and on ancestors left without it
 * @xas: the state, walked to an entry
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 */
GS_API void xas_clear_mark(const struct xa_state *xas, xa_mark_t mark);

/**
 * xas_init_marks() - clear every mark of the entry @xas points at
 * @xas: the state, walked to an entry
 *
 * Context: xa_lock held.
 */
GS_API void xas_init_marks(const struct xa_state *xas);

/**
 * xas_find() - next present entry
 * @xas: the state; if not yet walked, finds the first entry at or above its index
 * @max: last index to consider
 *
 * Context: xa_lock held.
 * Return: the entry (at @xas->xa_index), or NULL.
 */
GS_API void *xas_find(struct xa_state *xas, unsigned long max);

/**
 * xas_next_entry() - next present entry after the one @xas points at
 * @xas: the state
 * @max: last index to consider
 *
 * Steps along the current leaf without a walk; otherwise as xas_find().
 * Inline, as the kernel has it: a walk of a split huge page's 262,144
 * entries is mostly this step.
 *
 * Context: xa_lock held.
 * Return: the entry, or NULL.
 */
static inline void *xas_next_entry(struct xa_state *xas, unsigned long max)
{
	struct xa_node *node = xas->xa_node;
	void *entry;

	if (unlikely((unsigned long)node & 3) || !node || node->shift ||
	    xas->xa_offset != (xas->xa_index & XA_CHUNK_MASK))
		return xas_find(xas, max);
	do {
		if (unlikely(xas->xa_index >= max || xas->xa_offset == XA_CHUNK_MASK))
			return xas_find(xas, max);
		entry = node->slots[xas->xa_offset + 1];
		if (unlikely(xa_is_internal(entry)))
			return xas_find(xas, max);
		xas->xa_offset++;
		xas->xa_index++;
	} while (!entry);
	return entry;
}

/**
 * xas_find_marked() - next entry with @mark
 * @xas: the state; if not yet walked, searches from its index
 * @max: last index to consider
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 * Return: the entry, or NULL.
 */
GS_API void *xas_find_marked(struct xa_state *xas, unsigned long max, xa_mark_t mark);

/**
 * xas_next_marked() - next entry with @mark after the one @xas points at
 * @xas: the state
 * @max: last index to consider
 * @mark: XA_MARK_0..2
 *
 * Context: xa_lock held.
 * Return: the entry, or NULL.
 */
static inline void *xas_next_marked(struct xa_state *xas, unsigned long max, xa_mark_t mark)
{
	return xas_find_marked(xas, max, mark);
}

#define xas_for_each(xas, entry, max) \
	for (entry = xas_find(xas, max); entry; entry = xas_next_entry(xas, max))

/**
 * gs_xas_leaf_span() - the slots after the current one in its leaf, up to @max's
 * @xas: a state on an entry (as xas_for_each() leaves it)
 * @max: last index to consider
 *
 * A gmemsim helper, not a kernel API: for a caller that knows which entry
 * each slot must hold (a split page's pieces are consecutive struct pages),
 * so that comparing a slot with it also tells an empty or internal slot
 * apart, without gs_xas_leaf_run()'s scan before the caller's own. Entries
 * the caller accepts are stepped over with gs_xas_leaf_skip().
 *
 * Context: xa_lock held.
 * Return: how many slots follow the current one in its leaf, not past
 * @max's; 0 when @xas is not on a slot of a leaf.
 */
static inline unsigned int gs_xas_leaf_span(const struct xa_state *xas, unsigned long max)
{
	const struct xa_node *node = xas->xa_node;

	if (unlikely((unsigned long)node & 3) || !node || node->shift ||
	    xas->xa_offset != (xas->xa_index & XA_CHUNK_MASK) || xas->xa_index >= max)
		return 0;
	return max - xas->xa_index < XA_CHUNK_MASK - xas->xa_offset
		       ? (unsigned int)(max - xas->xa_index)
		       : (unsigned int)XA_CHUNK_MASK - xas->xa_offset;
}

/**
 * gs_xas_leaf_run() - the entries after the current one that a walk would
 * visit one xas_next_entry() step each, read straight from the leaf
 * @xas: a state on an entry (as xas_for_each() leaves it)
 * @max: last index to consider
 *
 * A gmemsim helper, not a kernel API: a walk over the order-0 pieces of a
 * split huge page spends most of its time stepping (~30 instructions per
 * entry). The caller reads the counted entries from
 * xas->xa_node->slots[xas->xa_offset + 1 ...] and then steps over them
 * with gs_xas_leaf_skip(), after which xas_next_entry() goes on exactly as
 * if it had visited them.
 *
 * Context: xa_lock held.
 * Return: how many slots after the current one, up to @max's, hold an
 * entry that is neither empty nor internal, without a gap; 0 when @xas is
 * not on a slot of a leaf.
 */
static inline unsigned int gs_xas_leaf_run(const struct xa_state *xas, unsigned long max)
{
	unsigned int n = gs_xas_leaf_span(xas, max), i = 1;
	void *const *slot;

	if (!n)
		return 0;
	slot = &xas->xa_node->slots[xas->xa_offset];
	/*
	 * Four slots a test while all four hold an entry that is not internal:
	 * none has bit 1 set (an internal entry's low bits are 10) and none is
	 * 0 (bit 63 of word - 1). Any other group is read slot by slot.
	 */
	for (; i + 3 <= n; i += 4) {
		unsigned long e_or = 0, e_dec = 0;

		for (int k = 0; k < 4; k++) {
			e_or |= (unsigned long)slot[i + k];
			e_dec |= (unsigned long)slot[i + k] - 1;
		}
		if ((e_or & 2) | (e_dec >> 63))
			break;
	}
	for (; i <= n; i++) {
		const void *entry = slot[i];

		if (!entry || xa_is_internal(entry))
			break;
	}
	return i - 1;
}

/**
 * gs_xas_leaf_skip() - step over entries gs_xas_leaf_run() counted
 * @xas: the state gs_xas_leaf_run() was asked about
 * @n: at most what it returned
 *
 * Context: xa_lock held.
 */
static inline void gs_xas_leaf_skip(struct xa_state *xas, unsigned int n)
{
	xas->xa_offset = (unsigned char)(xas->xa_offset + n);
	xas->xa_index += n;
}

#define xas_for_each_marked(xas, entry, max, mark)           \
	for (entry = xas_find_marked(xas, max, mark); entry; \
	     entry = xas_next_marked(xas, max, mark))

/**
 * xas_pause() - prepare @xas for dropping the lock in the middle of a walk
 * @xas: the state
 *
 * The next xas_find() continues after the current entry (and its siblings).
 *
 * Context: xa_lock held.
 */
GS_API void xas_pause(struct xa_state *xas);

/**
 * xas_reload() - the entry at the slot @xas was walked to, read again
 * @xas: a state walked to an entry (NULL for any other state)
 *
 * Context: xa_lock held or an RCU reader.
 * Return: the entry (a multi-index entry through any of its slots).
 */
GS_API void *xas_reload(struct xa_state *xas);

/**
 * __xas_next() - xas_next() off its fast path
 * @xas: the state (another node next, or a state not at a leaf)
 *
 * Context: as xas_next().
 * Return: as xas_next().
 */
GS_API void *__xas_next(struct xa_state *xas);

/**
 * xas_next() - move @xas to the next index and return its entry
 * @xas: the state
 *
 * A state never walked (or restarted) returns the entry at its own index
 * without moving; from the head or past the last index the state goes out of
 * bounds (the next call walks again from its index). Sibling slots of a
 * multi-index entry are returned as sibling entries, as the kernel's walk
 * returns them. Inline along a leaf, as the kernel has it (a split huge
 * page's pieces, one after the other).
 *
 * Context: xa_lock held or an RCU reader.
 * Return: the entry, or NULL.
 */
static inline void *xas_next(struct xa_state *xas)
{
	struct xa_node *node = xas->xa_node;

	if (unlikely(!node || ((unsigned long)node & 3) || node->shift ||
		     xas->xa_offset == XA_CHUNK_MASK))
		return __xas_next(xas);
	xas->xa_index++;
	xas->xa_offset++;
	return node->slots[xas->xa_offset];
}

/** xas_prev() - xas_next() towards index 0 */
GS_API void *xas_prev(struct xa_state *xas);

/**
 * xas_find_conflict() - the next entry overlapping @xas's index and order
 * @xas: a state set for a (multi-index) store
 *
 * Returns every present entry the store would replace, one per call, then
 * NULL; the state is then ready for xas_store().
 *
 * Context: xa_lock held.
 * Return: the entry (XA_ZERO_ENTRY included), or NULL.
 */
GS_API void *xas_find_conflict(struct xa_state *xas);

#define xas_for_each_conflict(xas, entry) while ((entry = xas_find_conflict(xas)))

/**
 * xas_create_range() - make the leaf slots of @xas's whole range exist
 * @xas: a state set for a multi-index range
 *
 * Afterwards the state is at order 0 at the range's first index, so stores
 * index by index (xas_next()) need no allocation. An entry already covering
 * part of the range is left alone. On failure the state keeps its index and
 * order with the error, and nothing it created is left.
 *
 * Context: xa_lock held; allocates with GFP_NOWAIT (then xas_nomem()).
 */
GS_API void xas_create_range(struct xa_state *xas);

/**
 * xas_set_update() - call @update for every node an operation of @xas changes or removes
 * @xas: the state
 * @update: the hook (NULL: none)
 *
 * Context: any.
 */
GS_API void xas_set_update(struct xa_state *xas, xa_update_node_t update);

/**
 * xa_delete_node() - take @node and what is below it out of its tree
 * @node: a node of an array, with xa_lock held
 * @update: as xas_set_update(), for the nodes removed and the parent changed
 *
 * The page cache's workingset shrinker removes shadow-only nodes so.
 *
 * Context: xa_lock held.
 */
GS_API void xa_delete_node(struct xa_node *node, xa_update_node_t update);

/**
 * xas_split_alloc() - allocate everything xas_split() will need
 * @xas: the state, set to the new (smaller) order at the entry's index
 * @entry: the entry being split; every new slot is pre-filled with it
 * @order: the entry's current order
 * @gfp: allocation flags (may sleep: call without the lock)
 *
 * Unlike Linux 6.12, any @order above the new order is accepted: every node
 * of every level is built here, off the lock, so xas_split() cannot fail.
 * Nothing is allocated when the split stays inside one node.
 *
 * Context: any; without xa_lock if @gfp may sleep.
 * Return: nothing; xas_error() is -ENOMEM (nothing kept) or -EINVAL.
 */
GS_API void xas_split_alloc(struct xa_state *xas, void *entry, unsigned int order, gfp_t gfp);

/**
 * xas_split() - split a multi-index entry into entries of the order of @xas
 * @xas: the state, as given to xas_split_alloc()
 * @entry: the entry (as given to xas_split_alloc())
 * @order: its current order
 *
 * Every index keeps @entry; every new entry gets the marks of the old one.
 *
 * Context: xa_lock held.
 */
GS_API void xas_split(struct xa_state *xas, void *entry, unsigned int order);

/* The entry gs_xas_split_store() puts at @index. */
typedef void *(*gs_xa_entry_fn)(unsigned long index, void *arg);

/**
 * gs_xas_split_store() - give every entry of a just split range its own value
 * @xas: the state xas_split() was called with (not moved since)
 * @order: the order of the entry that was split
 * @fn: the new entry at each index of the order of @xas; a pointer, never a
 *      value or internal entry (the node's value count is not changed)
 * @arg: passed to @fn
 *
 * After xas_split() every index holds the old entry; a page-cache split
 * then stores each new folio at its own index. This is those stores, done
 * by walking the split subtrees' leaves once instead of one descent per
 * entry (262,144 for 1 GiB to 4 KiB). Marks are left as xas_split() set them.
 *
 * Context: xa_lock held; cannot fail.
 */
GS_API void gs_xas_split_store(struct xa_state *xas, unsigned int order, gs_xa_entry_fn fn,
			       void *arg);

/**
 * gs_xas_split_store_seq() - gs_xas_split_store() whose entries are the
 * elements of an array, one per index
 * @xas: as for gs_xas_split_store()
 * @order: as for gs_xas_split_store()
 * @first: the entry at @index (a pointer, as for gs_xas_split_store())
 * @index: an index of the split range
 * @size: bytes from one index's entry to the next one's
 *
 * The entry at index i is (char *)@first + (i - @index) * @size, without a
 * call per entry: a split page's pieces are consecutive struct pages.
 *
 * Context: xa_lock held; cannot fail.
 */
GS_API void gs_xas_split_store_seq(struct xa_state *xas, unsigned int order, void *first,
				   unsigned long index, size_t size);

/**
 * xas_try_split() - split without preallocation, at most one new node
 * @xas: the state, at the new order (see xas_try_split_min_order())
 * @entry: the entry being split
 * @order: its current order
 *
 * Splits inside the entry's node, or, for an entry filling one slot, into
 * two halves in one new node (from @xas->xa_alloc or GFP_NOWAIT).
 *
 * Context: xa_lock held.
 * Return: nothing; xas_error() is -ENOMEM or -EINVAL (a split that would
 * need more than one node), the array then unchanged.
 */
GS_API void xas_try_split(struct xa_state *xas, void *entry, unsigned int order);

/**
 * xas_try_split_min_order() - smallest order one xas_try_split() reaches
 * @order: the entry's current order
 *
 * Context: any.
 * Return: @order - 1 if @order fills whole slots of its level, else @order
 * rounded down to its level.
 */
GS_API unsigned int xas_try_split_min_order(unsigned int order);

/* ---------------------------------------------------------------------------------------- */
/* Introspection (gmemsim additions)                                                      */

/** xa_chunk_shift() - log2 of slots per node in this build */
GS_API unsigned int xa_chunk_shift(void);

/** xa_node_size() - bytes of one struct xa_node in this build */
GS_API size_t xa_node_size(void);

/**
 * xa_nr_nodes() - number of nodes @xa holds
 * @xa: the array
 *
 * Walks the tree; multiply by xa_node_size() for bytes.
 *
 * Context: any; an RCU reader (never takes xa_lock, so it may be called with it held).
 * Return: the node count (0 for an empty array or a lone entry at index 0).
 */
GS_API unsigned long xa_nr_nodes(struct xarray *xa);

/**
 * xa_dump() - print the structure of @xa
 * @f: stream (stderr if NULL)
 * @xa: the array
 *
 * One line per node (index range, shift, count, values, marks, parent) and
 * per entry (index range, kind, marks). Caller holds xa_lock or owns @xa.
 */
GS_API void xa_dump(FILE *f, const struct xarray *xa);

/**
 * xa_validate() - check every structural invariant of @xa
 * @xa: the array
 * @f: where to print the first violation found (NULL: silent)
 *
 * Checks links (parent, offset, shift, array), count and nr_values of every
 * node, the sibling layout of multi-index entries, mark propagation to
 * parents and the root, and that no node is empty. (A split may leave a
 * root that could be shrunk, as in Linux; that is not an error.)
 *
 * Context: caller holds xa_lock or owns @xa.
 * Return: 0, or -EUCLEAN at the first violation.
 */
GS_API int xa_validate(const struct xarray *xa, FILE *f);

struct gs_state;

/**
 * gs_xa_dump_state() - the array's nodes as state records (what xa_dump() prints)
 * @st: the snapshot
 * @path: where the records go; each node is "@path/N", numbered in preorder
 * @xa: the array
 *
 * Per node: first, last (hex), shift, offset, count, values, parent (the
 * parent's N, -1 for the root) and slots, one character a slot: '.' empty,
 * 'n' node, 's' sibling, 'v' value, 'p' pointer, 'r' other internal entry.
 * No addresses: two arrays of one shape give the same records.
 *
 * Context: the array must not change meanwhile.
 */
GS_API void gs_xa_dump_state(struct gs_state *st, const char *path, const struct xarray *xa);

#endif /* GMEMSIM_XARRAY_H */
