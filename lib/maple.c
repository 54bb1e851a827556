// SPDX-License-Identifier: MIT
/*
 * The maple tree (see include/gmemsim/maple_tree.h and docs/MAPLE.md).
 *
 * Models the kernel's lib/maple_tree.c: a B-tree of ranges whose 256-byte
 * nodes hold 16 slots and 15 pivots, written through a ma_state, with the
 * kernel's observable semantics and its prepare/commit protocol. The code is
 * our own and simpler: outside RCU mode nodes change in place and a store
 * only allocates when a node overflows. Every store is planned first (walk,
 * count the nodes a split could need, reserve them) and then committed by
 * code that cannot fail, which is what mas_preallocate() sells. In RCU mode
 * (MT_FLAGS_USE_RCU) the commit copies each node before its first change
 * (mt_writable()), publishes the copy with one pointer store, marks the old
 * node dead (and clears its slots) and frees it with call_rcu(), as the
 * kernel's copy-on-write
 * stores do; readers that continue from a node they hold check for a dead
 * node and walk again from the root (lib/maple_tree.c's ma_dead_node()).
 *
 * Coding conventions in this file:
 * @mt is the tree, @mas the operation state, @wr a planned write. A "node"
 * is a struct maple_node pointer; an "enode" is the tagged pointer stored in
 * ma_root and in the slots of internal nodes (bit 1 marks a node, bit 2 a
 * leaf). A node's count is the number of slots it uses; its pivots from
 * count - 1 on hold ULONG_MAX, so a search needs neither count nor maximum.
 * A "big node" holds the contents of up to two nodes plus the pieces of a
 * store while they are redistributed.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/rcu.h>
#include <gmemsim/state.h>
#include <gmemsim/xarray.h>
#include <gmemsim/warn.h>

/* The RCU flag is a bit of its own, as in the kernel: height updates keep it. */
_Static_assert(!(MT_FLAGS_USE_RCU & MT_FLAGS_HEIGHT_MASK), "MT_FLAGS_USE_RCU inside the height");

#define MAPLE_ENODE_NODE      0x2UL
#define MAPLE_ENODE_LEAF      0x4UL
#define MAPLE_ENODE_MASK      0x7UL
#define MAPLE_PARENT_PREALLOC 0x1UL
#define MAPLE_PARENT_MASK     0x7UL
#define MAPLE_BIG_SLOTS	      (2 * MAPLE_RANGE64_SLOTS + 2)

_Static_assert(sizeof(struct maple_node) == MAPLE_NODE_SIZE, "maple nodes are 256 bytes");

struct maple_big_node {
	unsigned long pivot[MAPLE_BIG_SLOTS]; /* last index of each entry */
	void *slot[MAPLE_BIG_SLOTS];
	unsigned char end; /* entries used */
};

enum maple_wr_type {
	wr_none,     /* nothing changes (NULL into an empty tree) */
	wr_new_root, /* first store into an empty tree */
	wr_leaf,     /* the store stays inside one leaf */
	wr_spanning, /* the store crosses leaves */
};

/**
 * struct ma_wr_state - a planned store
 * @mas: the operation state
 * @entry: what is stored
 * @content: what was at mas->index before
 * @first: first index written, widened over NULL neighbours for a NULL store
 * @last: last index written, likewise
 * @leaf: the leaf holding @first
 * @max: last index covered by @leaf
 * @r_min: first index of the range holding @first
 * @e_max: last index of the range holding @last (wr_leaf)
 * @off_first: slot of @first in @leaf
 * @off_last: slot of @last in @leaf (wr_leaf)
 * @count: slots @leaf uses now
 * @new_count: slots @leaf needs afterwards (may exceed 16: a split)
 * @type: see enum maple_wr_type
 * @need: nodes the commit may take from the reserve
 */
struct ma_wr_state {
	struct ma_state *mas;
	void *entry;
	void *content;
	unsigned long first;
	unsigned long last;
	struct maple_node *leaf;
	unsigned long max;
	unsigned long r_min;
	unsigned long e_max;
	unsigned char off_first;
	unsigned char off_last;
	unsigned char count;
	unsigned char new_count;
	enum maple_wr_type type;
	unsigned int need;
};

/* ------------------------------------------------------------------------- */
/* Node encoding and small helpers                                           */

static inline struct maple_node *mte_to_node(const struct maple_enode *enode)
{
	return (struct maple_node *)((unsigned long)enode & ~MAPLE_ENODE_MASK);
}

static inline bool mte_is_leaf(const struct maple_enode *enode)
{
	return (unsigned long)enode & MAPLE_ENODE_LEAF;
}

static inline struct maple_enode *mt_mk_enode(const struct maple_node *node, bool leaf)
{
	return (struct maple_enode *)((unsigned long)node | MAPLE_ENODE_NODE |
				      (leaf ? MAPLE_ENODE_LEAF : 0));
}

static inline struct maple_node *mt_parent(const struct maple_node *node)
{
	return (struct maple_node *)(node->parent & ~MAPLE_PARENT_MASK);
}

/* The low bits of the parent word remember the node's allocation site. */
static inline void mt_set_parent(struct maple_node *node, const struct maple_node *parent)
{
	node->parent = (unsigned long)parent | (node->parent & MAPLE_PARENT_PREALLOC);
}

static inline unsigned int mt_node_site(const struct maple_node *node)
{
	return (node->parent & MAPLE_PARENT_PREALLOC) ? GS_SITE_MAPLE_PREALLOC : GS_SITE_MAPLE_NODE;
}

/*
 * A node replaced by an RCU-mode store is its own parent, as in the kernel:
 * a reader that reached it before the store must walk again from the root.
 */
static inline bool ma_dead_node(const struct maple_node *node)
{
	return mt_parent(node) == node;
}

static inline void mt_set_height(struct maple_tree *mt, unsigned int height)
{
	mt->ma_flags = (mt->ma_flags & ~MT_FLAGS_HEIGHT_MASK) | (height << MT_FLAGS_HEIGHT_OFFSET);
}

/* Entries the kernel keeps for itself (xa_is_advanced()): internal values up to 256. */
static inline bool mt_entry_reserved(const void *entry)
{
	unsigned long v = (unsigned long)entry;

	return (v & 3) == 2 && v <= ((256UL << 2) | 2);
}

/*
 * The first slot whose pivot is >= @index. Unused pivots hold ULONG_MAX and
 * slot 15 has no pivot at all, so a branch-free binary search over 16
 * positions finds it; this is the inner loop of every walk.
 */
static __always_inline unsigned char mt_slot_of(const struct maple_node *node, unsigned long index)
{
	const unsigned long *p = node->pivot;
	unsigned int off = 0;

	off += (p[7] < index) ? 8 : 0;
	off += (p[off + 3] < index) ? 4 : 0;
	off += (p[off + 1] < index) ? 2 : 0;
	off += (p[off] < index) ? 1 : 0;
	return off;
}

/* Slots in use: real pivots are below ULONG_MAX, so the first ULONG_MAX marks the last slot. */
static inline unsigned char mt_node_count(const struct maple_node *node)
{
	return mt_slot_of(node, ULONG_MAX) + 1;
}

/* Last index of slot @off of a node with @count slots that ends at @max. */
static inline unsigned long mt_pivot(const struct maple_node *node, unsigned char off,
				     unsigned char count, unsigned long max)
{
	return off < count - 1 ? node->pivot[off] : max;
}

static unsigned char mt_child_offset(const struct maple_node *parent,
				     const struct maple_node *child)
{
	unsigned char off;

	for (off = 0; off < MAPLE_RANGE64_SLOTS; off++)
		if (mte_to_node(parent->slot[off]) == child)
			return off;
	WARN_ON_ONCE(1);
	return 0;
}

/* Whether @node is the last node of its level (its maximum is ULONG_MAX). */
static bool mt_is_rightmost(const struct maple_node *node)
{
	const struct maple_node *parent;

	for (; (parent = mt_parent(node)); node = parent)
		if (mte_to_node(parent->slot[mt_node_count(parent) - 1]) != node)
			return false;
	return true;
}

/* ------------------------------------------------------------------------- */
/* Big nodes                                                                 */

static inline void mab_push(struct maple_big_node *b, unsigned long pivot, void *slot)
{
	b->pivot[b->end] = pivot;
	b->slot[b->end++] = slot;
}

/* Append slots [@start, @end) of @node, which uses @count slots and ends at @max. */
static void mab_copy(struct maple_big_node *b, const struct maple_node *node, unsigned char start,
		     unsigned char end, unsigned char count, unsigned long max)
{
	for (unsigned char i = start; i < end; i++)
		mab_push(b, mt_pivot(node, i, count, max), node->slot[i]);
}

/*
 * Write entries [@start, @start + @n) of @b into @node from slot @off on;
 * they become the node's last entries. @old is the node's previous count
 * (16 for a fresh node), which bounds the stale pivots and slots to clear.
 */
static void mt_node_fill(struct maple_node *node, unsigned char off, const struct maple_big_node *b,
			 unsigned char start, unsigned char n, bool leaf, unsigned char old)
{
	unsigned char end = off + n - 1, i;

	for (i = 0; i < n; i++) {
		node->slot[off + i] = b->slot[start + i];
		if (off + i < end)
			node->pivot[off + i] = b->pivot[start + i];
		if (!leaf)
			mt_set_parent(mte_to_node(b->slot[start + i]), node);
	}
	for (i = end; i + 1 < old && i < MAPLE_RANGE64_PIVOTS; i++)
		node->pivot[i] = ULONG_MAX;
	for (i = end + 1; i < old; i++)
		node->slot[i] = NULL;
}

/* ------------------------------------------------------------------------- */
/* RCU mode: the commit in progress                                          */

/* More nodes than any RCU-mode commit can take from its reserve (mt_rcu_need()). */
#define MT_COW_FRESH_MAX (12 * MAPLE_HEIGHT_MAX + 8)

/*
 * While a store commits to a tree in RCU mode (one thread of control, so one
 * at a time): the tree, the state whose reserve pays for the copies, and the
 * nodes this commit took from the reserve. Those are new, no reader can hold
 * them, so they change in place; any other node is copied first. @mas is
 * NULL while mtree_destroy() defers the free of a whole tree.
 */
static struct {
	struct maple_tree *mt;
	struct ma_state *mas;
	unsigned int nr_fresh;
	struct maple_node *fresh[MT_COW_FRESH_MAX];
} mt_cow;

static void mt_cow_begin(struct maple_tree *mt, struct ma_state *mas)
{
	mt_cow.mt = mt;
	mt_cow.mas = mas;
	mt_cow.nr_fresh = 0;
}

static void mt_cow_end(void)
{
	mt_cow.mt = NULL;
	mt_cow.mas = NULL;
}

static bool mt_cow_is_fresh(const struct maple_node *node)
{
	for (unsigned int i = 0; i < mt_cow.nr_fresh; i++)
		if (mt_cow.fresh[i] == node)
			return true;
	return false;
}

static void mt_cow_add_fresh(struct maple_node *node)
{
	/* The plan's bound keeps the list from filling; a full one would copy new nodes. */
	if (!WARN_ON_ONCE(mt_cow.nr_fresh >= MT_COW_FRESH_MAX))
		mt_cow.fresh[mt_cow.nr_fresh++] = node;
}

/* ------------------------------------------------------------------------- */
/* Node reserve                                                              */

static inline unsigned long mas_allocated(const struct ma_state *mas)
{
	return mas->alloc ? mas->alloc->total : 0;
}

/* Grow the reserve to @want nodes; what was reserved stays on failure. */
static int mas_alloc_nodes(struct ma_state *mas, unsigned long want, gfp_t gfp, unsigned int site)
{
	unsigned long have = mas_allocated(mas);

	while (have < want) {
		struct maple_alloc *a = gs_alloc(site, MAPLE_NODE_SIZE, gfp);

		if (!a)
			return -ENOMEM;
		a->next = mas->alloc;
		a->site = site;
		a->total = ++have;
		mas->alloc = a;
	}
	return 0;
}

/* Take a reserved node; the plan reserved enough, so running dry is a bug. */
static struct maple_node *mas_pop_node(struct ma_state *mas)
{
	struct maple_alloc *a = mas->alloc;
	unsigned int site;

	if (WARN_ON_ONCE(!a)) {
		a = gs_alloc(GS_SITE_MAPLE_NODE, MAPLE_NODE_SIZE, GFP_NOWAIT | __GFP_NOFAIL);
		BUG_ON(!a);
		a->site = GS_SITE_MAPLE_NODE;
		a->next = NULL;
		a->total = 1;
	}
	mas->alloc = a->next;
	if (a->next)
		a->next->total = a->total - 1;
	site = a->site;
	((struct maple_node *)a)->parent =
		site == GS_SITE_MAPLE_PREALLOC ? MAPLE_PARENT_PREALLOC : 0;
	if (unlikely(mt_cow.mt))
		mt_cow_add_fresh((struct maple_node *)a);
	return (struct maple_node *)a;
}

static void mt_free_rcu(struct rcu_head *head)
{
	struct maple_node *node = container_of(head, struct maple_node, rcu);

	gs_free(mt_node_site(node), node, MAPLE_NODE_SIZE);
}

/*
 * Outside RCU mode a node no longer in the tree is freed at once. In RCU mode
 * a reader may still stand on it: it is marked dead and freed once the grace
 * period ends. Its slots are cleared: a reader must not trust what it reads
 * from a dead node (the kernel's readers check after reading), and a NULL
 * slot sends mas_find()'s fast path to the step that checks, so iteration
 * over trees not in RCU mode pays nothing for the check.
 */
static void mt_free_node(struct maple_node *node)
{
	if (likely(!mt_cow.mt)) {
		gs_free(mt_node_site(node), node, MAPLE_NODE_SIZE);
		return;
	}
	node->parent = (unsigned long)node | (node->parent & MAPLE_PARENT_PREALLOC);
	memset(node->slot, 0, sizeof(node->slot));
	call_rcu(&node->rcu, mt_free_rcu);
}

/*
 * Put a copy of @node in its place: one pointer store in the parent (or the
 * root), which a reader sees whole, as the kernel's rcu_assign_pointer().
 * The children learn their new parent; @node itself is left as it was,
 * marked dead, and freed after the grace period.
 */
static struct maple_node *mt_cow_replace(struct maple_node *node)
{
	struct maple_tree *mt = mt_cow.mt;
	struct maple_node *parent = mt_parent(node), *copy = mas_pop_node(mt_cow.mas);
	void **where = parent ? &parent->slot[mt_child_offset(parent, node)] : &mt->ma_root;
	bool leaf = mte_is_leaf(*where);

	memcpy(copy->pivot, node->pivot, sizeof(node->pivot));
	memcpy(copy->slot, node->slot, sizeof(node->slot));
	mt_set_parent(copy, parent);
	if (!leaf)
		for (unsigned char i = 0, n = mt_node_count(copy); i < n; i++)
			mt_set_parent(mte_to_node(copy->slot[i]), copy);
	*where = mt_mk_enode(copy, leaf);
	mt_free_node(node);
	return copy;
}

/*
 * The node a commit may change in place: @node itself outside RCU mode or
 * when this commit made it, else its copy (mt_cow_replace()). Every change
 * to a node that may already be in the tree goes through here first.
 */
static inline struct maple_node *mt_writable(struct maple_node *node)
{
	if (likely(!mt_cow.mt) || mt_cow_is_fresh(node))
		return node;
	return mt_cow_replace(node);
}

static void mt_free_subtree(struct maple_enode *enode)
{
	struct maple_node *node = mte_to_node(enode);

	if (!mte_is_leaf(enode)) {
		unsigned char count = mt_node_count(node);

		for (unsigned char i = 0; i < count; i++)
			mt_free_subtree(node->slot[i]);
	}
	mt_free_node(node);
}

static void mas_set_err(struct ma_state *mas, int err)
{
	mas->status = ma_error;
	mas->node = (struct maple_enode *)(((unsigned long)-err << 2) | 2UL);
}

/**
 * mas_destroy() - release the nodes a ma_state still holds in reserve
 * @mas: the ma_state
 *
 * Called after mas_preallocate() when the store it prepared for is not made
 * after all; mas_store_prealloc() and mas_store_gfp() call it themselves.
 *
 * Context: any.
 */
void mas_destroy(struct ma_state *mas)
{
	struct maple_alloc *a = mas->alloc;

	while (a) {
		struct maple_alloc *next = a->next;

		gs_free(a->site, a, MAPLE_NODE_SIZE);
		a = next;
	}
	mas->alloc = NULL;
	mas->mas_flags &= ~(MA_STATE_PREALLOC | MA_STATE_BULK);
}

/* ------------------------------------------------------------------------- */
/* Reading                                                                   */

/**
 * mtree_load() - the entry at an index
 * @mt: the tree
 * @index: the index
 *
 * Context: any; the kernel takes the RCU read lock, which the simulator
 * does not need.
 * Return: the entry of the range holding @index, or NULL (also for XA_ZERO_ENTRY).
 */
void *mtree_load(struct maple_tree *mt, unsigned long index)
{
	struct maple_enode *next = mt->ma_root;
	const struct maple_node *node;
	unsigned char off;
	void *entry;

	if (!next)
		return NULL;
	for (;;) {
		node = mte_to_node(next);
		off = mt_slot_of(node, index);

		if (mte_is_leaf(next))
			break;
		next = node->slot[off];
	}
	entry = node->slot[off];
	/* XA_ZERO_ENTRY holds a place (a reserved range) and reads as empty, as in the kernel. */
	return unlikely(xa_is_zero(entry)) ? NULL : entry;
}

/* The entry at @index and the bounds of its range; the tree is not empty. */
static void *mt_range_of(const struct maple_tree *mt, unsigned long index, unsigned long *rmin,
			 unsigned long *rmax)
{
	struct maple_enode *next = mt->ma_root;
	unsigned long min = 0, max = ULONG_MAX;

	for (;;) {
		const struct maple_node *node = mte_to_node(next);
		unsigned char off = mt_slot_of(node, index);

		if (off)
			min = node->pivot[off - 1] + 1;
		if (off < MAPLE_RANGE64_PIVOTS && node->pivot[off] < max)
			max = node->pivot[off];
		if (mte_is_leaf(next)) {
			*rmin = min;
			*rmax = max;
			return node->slot[off];
		}
		next = node->slot[off];
	}
}

/*
 * Walk to the leaf holding mas->index and make the state active there:
 * index/last become the range, min/max the leaf's bounds.
 */
static void *mas_leaf_walk(struct ma_state *mas)
{
	struct maple_enode *next = mas->tree->ma_root;
	unsigned long min = 0, max = ULONG_MAX, index = mas->index;
	const struct maple_node *node;
	unsigned char off, depth = 0;

	if (unlikely(!next)) {
		mas->index = 0;
		mas->last = ULONG_MAX;
		mas->status = ma_none;
		mas->node = NULL;
		return NULL;
	}
	for (;;) {
		node = mte_to_node(next);
		off = mt_slot_of(node, index);
		if (mte_is_leaf(next))
			break;
		if (off)
			min = node->pivot[off - 1] + 1;
		if (off < MAPLE_RANGE64_PIVOTS && node->pivot[off] < max)
			max = node->pivot[off];
		next = node->slot[off];
		depth++;
	}
	mas->node = next;
	mas->min = min;
	mas->max = max;
	mas->offset = off;
	mas->depth = depth;
	mas->end = mt_node_count(node) - 1;
	mas->index = off ? node->pivot[off - 1] + 1 : min;
	mas->last = off < mas->end ? node->pivot[off] : max;
	mas->status = ma_active;
	return node->slot[off];
}

/**
 * mas_walk() - look up mas->index
 * @mas: the ma_state
 *
 * Sets mas->index and mas->last to the bounds of the range holding the index,
 * NULL ranges included (an empty tree is one NULL range [0, ULONG_MAX]).
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry, or NULL.
 */
void *mas_walk(struct ma_state *mas)
{
	return mas_leaf_walk(mas);
}

/* Step to the next range; with !@empty skip NULL ranges. Overflows past @max. */
static void *mas_next_slot(struct ma_state *mas, unsigned long max, bool empty)
{
	void *entry;

	for (;;) {
		if (mas->last >= max) {
			mas->status = ma_overflow;
			return NULL;
		}
		mas->index = mas->last + 1;
		/* A node replaced since the last step is dead: walk to the next index again. */
		if (likely(mas->offset < mas->end) &&
		    likely(!ma_dead_node(mte_to_node(mas->node)))) {
			const struct maple_node *node = mte_to_node(mas->node);

			mas->offset++;
			mas->last = mas->offset < mas->end ? node->pivot[mas->offset] : mas->max;
			entry = node->slot[mas->offset];
		} else {
			entry = mas_leaf_walk(mas);
		}
		if (entry || empty)
			return entry;
	}
}

/* Step to the previous range; with !@empty skip NULL ranges. Underflows below @min. */
static void *mas_prev_slot(struct ma_state *mas, unsigned long min, bool empty)
{
	void *entry;

	for (;;) {
		if (mas->index <= min) {
			mas->status = ma_underflow;
			return NULL;
		}
		if (likely(mas->offset) && likely(!ma_dead_node(mte_to_node(mas->node)))) {
			const struct maple_node *node = mte_to_node(mas->node);

			mas->last = mas->index - 1;
			mas->offset--;
			mas->index = mas->offset ? node->pivot[mas->offset - 1] + 1 : mas->min;
			entry = node->slot[mas->offset];
		} else {
			mas->index--;
			entry = mas_leaf_walk(mas);
		}
		if (entry || empty)
			return entry;
	}
}

/* Bring a find to its starting range; true if @entry is the answer already. */
static bool mas_find_setup(struct ma_state *mas, unsigned long max, void **entry)
{
	*entry = NULL;
	switch (mas->status) {
	case ma_active:
		return mas->last >= max;
	case ma_start:
		break;
	case ma_pause:
		if (mas->last >= max)
			return true;
		mas->index = ++mas->last;
		break;
	case ma_none:
		if (mas->last >= max)
			return true;
		mas->index = mas->last;
		break;
	case ma_underflow:
	case ma_overflow:
		if (mas->status == ma_overflow ? mas->last >= max : mas->index > max)
			return true;
		*entry = mas_leaf_walk(mas);
		return *entry || mas->status == ma_none;
	default:
		return true;
	}
	if (mas->index > max)
		return true;
	*entry = mas_leaf_walk(mas);
	return *entry || mas->status == ma_none;
}

/**
 * mas_find() - the first non-NULL entry from mas->index, then the next ones
 * @mas: the ma_state
 * @max: the last index to consider
 *
 * On the first call (or after mas_set()/mas_pause()) the entry covering
 * mas->index is returned if there is one, with mas->index moved back to the
 * start of its range; later calls return the following non-NULL ranges. A
 * range that starts at or before @max is returned even if it ends after it.
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry, or NULL when no range starts in [mas->index, @max].
 */
void *mas_find(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (likely(mas->status == ma_active)) {
		const struct maple_node *node = mte_to_node(mas->node);
		unsigned char off = mas->offset + 1;

		if (unlikely(mas->last >= max))
			return NULL;
		/*
		 * Iteration spends its time here: the next slot of this leaf holds
		 * an entry. A dead node (RCU mode) has none: mas_next_slot() sees
		 * it is dead and walks again.
		 */
		if (likely(off <= mas->end) && likely((entry = node->slot[off]))) {
			mas->index = mas->last + 1;
			mas->offset = off;
			mas->last = off < mas->end ? node->pivot[off] : mas->max;
			return entry;
		}
	} else if (mas_find_setup(mas, max, &entry)) {
		return entry;
	}
	entry = mas_next_slot(mas, max, false);
	if (mas->status == ma_overflow)
		mas->status = ma_active;
	return entry;
}

/**
 * mas_find_range() - like mas_find(), but later calls stop at NULL ranges too
 * @mas: the ma_state
 * @max: the last index to consider
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry (NULL for an empty range); NULL with mas->status
 * ma_overflow when no further range starts at or before @max.
 */
void *mas_find_range(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (mas_find_setup(mas, max, &entry))
		return entry;
	return mas_next_slot(mas, max, true);
}

/* The mirror image of mas_find_setup(), for searches towards lower indices. */
static bool mas_find_rev_setup(struct ma_state *mas, unsigned long min, void **entry)
{
	*entry = NULL;
	switch (mas->status) {
	case ma_active:
		return mas->index <= min;
	case ma_start:
		break;
	case ma_pause:
		if (mas->index <= min)
			return true;
		mas->last = --mas->index;
		break;
	case ma_none:
		if (mas->index <= min)
			return true;
		mas->last = mas->index;
		break;
	case ma_underflow:
	case ma_overflow:
		if (mas->status == ma_underflow ? mas->index <= min : mas->last < min)
			return true;
		*entry = mas_leaf_walk(mas);
		return *entry || mas->status == ma_none;
	default:
		return true;
	}
	if (mas->index < min)
		return true;
	*entry = mas_leaf_walk(mas);
	return *entry || mas->status == ma_none;
}

/**
 * mas_find_rev() - the last non-NULL entry at or below mas->index, then earlier ones
 * @mas: the ma_state
 * @min: the first index to consider
 *
 * The mirror image of mas_find(): a range that ends at or after @min is
 * returned even if it starts before it.
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry, or NULL when no range ends in [@min, mas->index].
 */
void *mas_find_rev(struct ma_state *mas, unsigned long min)
{
	void *entry;

	if (mas_find_rev_setup(mas, min, &entry))
		return entry;
	return mas_prev_slot(mas, min, false);
}

/**
 * mas_find_range_rev() - like mas_find_rev(), but later calls stop at NULL ranges too
 * @mas: the ma_state
 * @min: the first index to consider
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry (NULL for an empty range); NULL with mas->status
 * ma_underflow when no earlier range ends at or after @min.
 */
void *mas_find_range_rev(struct ma_state *mas, unsigned long min)
{
	void *entry;

	if (mas_find_rev_setup(mas, min, &entry))
		return entry;
	return mas_prev_slot(mas, min, true);
}

/*
 * Make the state active before a step. After an underflow (overflow) the
 * state sits one range before (after) where it points, so when stepping
 * forward (backward) the range it points at is itself the answer.
 */
static bool mas_step_setup(struct ma_state *mas, enum maple_status behind, bool empty, void **entry)
{
	enum maple_status status = mas->status;

	*entry = NULL;
	if (likely(status == ma_active))
		return false;
	if (status == ma_error)
		return true;
	*entry = mas_leaf_walk(mas);
	if (mas->status == ma_none)
		return true;
	if (status == behind && (*entry || empty))
		return true;
	*entry = NULL;
	return false;
}

static void *mas_next_common(struct ma_state *mas, unsigned long max, bool empty)
{
	void *entry;

	if (mas->last >= max) {
		mas->status = ma_overflow;
		return NULL;
	}
	if (mas_step_setup(mas, ma_underflow, empty, &entry))
		return entry;
	return mas_next_slot(mas, max, empty);
}

static void *mas_prev_common(struct ma_state *mas, unsigned long min, bool empty)
{
	void *entry;

	if (mas->index <= min) {
		mas->status = ma_underflow;
		return NULL;
	}
	if (mas_step_setup(mas, ma_overflow, empty, &entry))
		return entry;
	return mas_prev_slot(mas, min, empty);
}

/**
 * mas_next() - the next non-NULL entry after the current range
 * @mas: the ma_state
 * @max: the last index to consider
 *
 * From ma_start or ma_pause the current range is the one holding mas->index.
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry, or NULL (mas->status ma_overflow) if none starts by @max.
 */
void *mas_next(struct ma_state *mas, unsigned long max)
{
	return mas_next_common(mas, max, false);
}

/**
 * mas_next_range() - the range after the current one, even if it is NULL
 * @mas: the ma_state
 * @max: the last index to consider
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry of the next range (NULL for an empty one), or NULL with
 * mas->status ma_overflow.
 */
void *mas_next_range(struct ma_state *mas, unsigned long max)
{
	return mas_next_common(mas, max, true);
}

/**
 * mas_prev() - the previous non-NULL entry before the current range
 * @mas: the ma_state
 * @min: the first index to consider
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry, or NULL (mas->status ma_underflow) if none ends at or
 * after @min.
 */
void *mas_prev(struct ma_state *mas, unsigned long min)
{
	return mas_prev_common(mas, min, false);
}

/**
 * mas_prev_range() - the range before the current one, even if it is NULL
 * @mas: the ma_state
 * @min: the first index to consider
 *
 * Context: any; the caller keeps the tree stable while it uses @mas.
 * Return: the entry of the previous range (NULL for an empty one), or NULL
 * with mas->status ma_underflow.
 */
void *mas_prev_range(struct ma_state *mas, unsigned long min)
{
	return mas_prev_common(mas, min, true);
}

/**
 * mas_pause() - let the tree change under an iteration
 * @mas: the ma_state
 *
 * The next mas_find()/mas_next() continues after mas->last and the next
 * mas_prev() before mas->index, walking from the root again.
 *
 * Context: any.
 */
void mas_pause(struct ma_state *mas)
{
	mas->status = ma_pause;
	mas->node = NULL;
}

/**
 * mt_next() - the first non-NULL entry after the range holding @index
 * @mt: the tree
 * @index: an index
 * @max: the last index to consider
 *
 * Context: any.
 * Return: the entry, or NULL.
 */
void *mt_next(struct maple_tree *mt, unsigned long index, unsigned long max)
{
	MA_STATE(mas, mt, index, index);

	return mas_next(&mas, max);
}

/**
 * mt_prev() - the last non-NULL entry before the range holding @index
 * @mt: the tree
 * @index: an index
 * @min: the first index to consider
 *
 * Context: any.
 * Return: the entry, or NULL.
 */
void *mt_prev(struct maple_tree *mt, unsigned long index, unsigned long min)
{
	MA_STATE(mas, mt, index, index);

	return mas_prev(&mas, min);
}

/**
 * mt_find() - the first non-NULL entry in [*@index, @max]
 * @mt: the tree
 * @index: where to start; on success, set one past the range found
 * @max: the last index to consider
 *
 * Context: any.
 * Return: the entry, or NULL.
 */
void *mt_find(struct maple_tree *mt, unsigned long *index, unsigned long max)
{
	MA_STATE(mas, mt, *index, *index);
	void *entry;

	if (*index > max)
		return NULL;
	/* Reserved ranges (XA_ZERO_ENTRY) are skipped, as in the kernel. */
	do
		entry = mas_find(&mas, max);
	while (unlikely(xa_is_zero(entry)));
	if (entry)
		*index = mas.last + 1;
	return entry;
}

/**
 * mt_find_after() - mt_find() that stops once *@index wrapped past ULONG_MAX
 * @mt: the tree
 * @index: as for mt_find()
 * @max: the last index to consider
 *
 * Context: any.
 * Return: the entry, or NULL.
 */
void *mt_find_after(struct maple_tree *mt, unsigned long *index, unsigned long max)
{
	if (!*index)
		return NULL;
	return mt_find(mt, index, max);
}

/* ------------------------------------------------------------------------- */
/* Planning a store                                                          */

/*
 * A NULL store swallows the NULL ranges it touches or borders, wherever they
 * are, so that no two NULL ranges are ever adjacent.
 */
static void mas_wr_extend_null(struct ma_wr_state *wr)
{
	const struct maple_tree *mt = wr->mas->tree;
	unsigned long lo, hi;
	void *entry;

	entry = mt_range_of(mt, wr->first, &lo, &hi);
	wr->content = entry;
	if (!entry)
		wr->first = lo;
	else if (wr->first == lo && lo && !mt_range_of(mt, lo - 1, &lo, &hi))
		wr->first = lo;

	entry = mt_range_of(mt, wr->last, &lo, &hi);
	if (!entry)
		wr->last = hi;
	else if (wr->last == hi && hi != ULONG_MAX && !mt_range_of(mt, hi + 1, &lo, &hi))
		wr->last = hi;
}

/* Nodes a leaf split may take: one per full level above it, plus a new root. */
static unsigned int mt_split_need(const struct maple_node *leaf)
{
	unsigned int need = 1;

	for (const struct maple_node *p = mt_parent(leaf); p; p = mt_parent(p)) {
		if (mt_node_count(p) < MAPLE_RANGE64_SLOTS)
			return need;
		need++;
	}
	return need + 1;
}

/* Find the leaf of wr->first and how the store changes it. */
static void mas_wr_walk(struct ma_wr_state *wr)
{
	struct maple_enode *next = wr->mas->tree->ma_root;
	unsigned long min = 0, max = ULONG_MAX;
	struct maple_node *node;
	unsigned char off;

	for (;;) {
		node = mte_to_node(next);
		off = mt_slot_of(node, wr->first);
		if (mte_is_leaf(next))
			break;
		if (off)
			min = node->pivot[off - 1] + 1;
		if (off < MAPLE_RANGE64_PIVOTS && node->pivot[off] < max)
			max = node->pivot[off];
		next = node->slot[off];
	}
	wr->leaf = node;
	wr->max = max;
	wr->off_first = off;
	wr->r_min = off ? node->pivot[off - 1] + 1 : min;
	wr->count = mt_node_count(node);
}

/* Whether a leaf store that does not split leaves its leaf underfull (mas_wr_leaf()). */
static bool mas_wr_rebalances(const struct ma_wr_state *wr)
{
	return wr->new_count < MAPLE_MIN_SLOTS && (wr->max != ULONG_MAX || wr->new_count == 1);
}

/* Whether the leaf store changes at most one slot and one pivot, never its count. */
static bool mas_wr_in_place(const struct ma_wr_state *wr)
{
	return wr->type == wr_leaf && wr->new_count == wr->count &&
	       wr->off_last - wr->off_first <= 1 && !mas_wr_rebalances(wr);
}

/*
 * The copies an RCU-mode store may make, on top of its split nodes
 * (@wr->need so far). A store into one slot of a leaf (and the one-slot,
 * one-pivot change of a store over two neighbouring ranges) needs none: the
 * kernel makes those in place (wr_exact_fit, wr_slot_store). Any other leaf
 * store copies its leaf; a split also copies each parent it rewrites, one
 * per level split, which @wr->need bounds. Rebalancing may copy, per level, the
 * parent and a neighbour, on both paths of a spanning store: there the bound
 * is generous, and the unused rest goes back.
 */
static unsigned int mt_rcu_need(const struct ma_wr_state *wr, unsigned int height)
{
	if (wr->type == wr_leaf) {
		if (mas_wr_in_place(wr))
			return 0;
		if (wr->new_count > MAPLE_RANGE64_SLOTS)
			return wr->need + 1;
		if (!mas_wr_rebalances(wr))
			return 1;
		return 4 * height + 2;
	}
	return 10 * height + 4;
}

static void mas_wr_plan(struct ma_wr_state *wr)
{
	struct ma_state *mas = wr->mas;
	struct maple_tree *mt = mas->tree;
	unsigned char tail;

	wr->first = mas->index;
	wr->last = mas->last;
	wr->need = 0;
	if (!mt->ma_root) {
		wr->content = NULL;
		wr->type = wr->entry ? wr_new_root : wr_none;
		wr->need = wr->entry ? 1 : 0;
		return;
	}
	if (!wr->entry)
		mas_wr_extend_null(wr);
	mas_wr_walk(wr);
	if (wr->entry)
		wr->content = wr->leaf->slot[wr->off_first];
	if (wr->last <= wr->max) {
		wr->type = wr_leaf;
		wr->off_last = mt_slot_of(wr->leaf, wr->last);
		wr->e_max = mt_pivot(wr->leaf, wr->off_last, wr->count, wr->max);
		tail = wr->count - 1 - wr->off_last;
		wr->new_count =
			wr->off_first + (wr->first > wr->r_min) + 1 + (wr->last < wr->e_max) + tail;
		if (wr->new_count > MAPLE_RANGE64_SLOTS)
			wr->need = mt_split_need(wr->leaf);
	} else {
		wr->type = wr_spanning;
		wr->new_count = wr->off_first + (wr->first > wr->r_min) + 1;
		if (wr->new_count > MAPLE_RANGE64_SLOTS)
			wr->need = mt_height(mt) + 1;
	}
	if (unlikely(mt_in_rcu(mt)))
		wr->need += mt_rcu_need(wr, mt_height(mt));
}

/* ------------------------------------------------------------------------- */
/* Committing: splits                                                        */

static void mt_new_root(struct ma_state *mas, struct maple_node *left, struct maple_node *right,
			unsigned long sep, bool leaf)
{
	struct maple_tree *mt = mas->tree;
	struct maple_node *root = mas_pop_node(mas);
	struct maple_big_node b = {.end = 0};

	mab_push(&b, sep, mt_mk_enode(left, leaf));
	mab_push(&b, ULONG_MAX, mt_mk_enode(right, leaf));
	mt_node_fill(root, 0, &b, 0, 2, false, MAPLE_RANGE64_SLOTS);
	mt->ma_root = mt_mk_enode(root, false);
	mt_set_height(mt, mt_height(mt) + 1);
}

/*
 * Store the overfull contents @b of @node over it and a new right sibling,
 * then add the sibling to the parent, splitting upwards as far as needed.
 * The last node of a level keeps 16 and hands on the rest, so that ranges
 * stored in ascending order fill their nodes instead of leaving them half
 * empty.
 */
/*
 * Where @b splits: evenly, except for the last node of a level, which
 * appends grow and which keeps 16 slots. When the store that overflowed the
 * last leaf trimmed the range before it and ends in the final gap (@trimmed:
 * an append overlapping the last range), the new range and the gap after it
 * go to the new leaf: the next such store stays inside that leaf, instead of
 * crossing back into the full one and splitting it evenly every time.
 */
static unsigned char mt_split_point(const struct maple_node *node, bool leaf, bool trimmed,
				    const struct maple_big_node *b)
{
	if (!mt_is_rightmost(node))
		return (b->end + 1) / 2;
	if (leaf && trimmed && !b->slot[b->end - 1])
		return b->end - 2;
	return MAPLE_RANGE64_SLOTS;
}

static void mas_split(struct ma_state *mas, struct maple_node *node, bool leaf, bool trimmed,
		      struct maple_big_node *b)
{
	for (;;) {
		struct maple_node *parent = mt_parent(node), *right = mas_pop_node(mas);
		unsigned char split = mt_split_point(node, leaf, trimmed, b);
		unsigned long sep = b->pivot[split - 1];
		unsigned char off, count;

		if (parent)
			parent = mt_writable(parent);

		mt_node_fill(node, 0, b, 0, split, leaf, MAPLE_RANGE64_SLOTS);
		mt_node_fill(right, 0, b, split, b->end - split, leaf, MAPLE_RANGE64_SLOTS);
		if (!parent) {
			mt_new_root(mas, node, right, sep, leaf);
			return;
		}
		mt_set_parent(right, parent);
		off = mt_child_offset(parent, node);
		count = mt_node_count(parent);
		b->end = 0;
		mab_copy(b, parent, 0, off, count, ULONG_MAX);
		mab_push(b, sep, mt_mk_enode(node, leaf));
		mab_push(b, mt_pivot(parent, off, count, ULONG_MAX), mt_mk_enode(right, leaf));
		mab_copy(b, parent, off + 1, count, count, ULONG_MAX);
		if (b->end <= MAPLE_RANGE64_SLOTS) {
			mt_node_fill(parent, 0, b, 0, b->end, false, count);
			return;
		}
		node = parent;
		leaf = false;
	}
}

/* ------------------------------------------------------------------------- */
/* Committing: rebalancing after a node shrank                               */

/* Shed root levels with a single child, and the last node of a tree that holds only NULL. */
static void mt_root_shrink(struct maple_tree *mt)
{
	for (;;) {
		struct maple_enode *enode = mt->ma_root;
		struct maple_node *node = mte_to_node(enode);

		if (mt_node_count(node) != 1)
			return;
		if (mte_is_leaf(enode)) {
			if (node->slot[0])
				return;
			mt->ma_root = NULL;
			mt_set_height(mt, 0);
			mt_free_node(node);
			return;
		}
		mt->ma_root = node->slot[0];
		mt_set_parent(mte_to_node(mt->ma_root), NULL);
		mt_set_height(mt, mt_height(mt) - 1);
		mt_free_node(node);
	}
}

/*
 * Even out the underfull child @enode of @parent with a neighbour: merge the
 * two when they fit in one node, else share their slots evenly. Returns the
 * parent when it lost a child (it may be underfull now), else NULL.
 */
static struct maple_enode *mt_rebalance_siblings(struct maple_node *parent,
						 struct maple_enode *enode)
{
	struct maple_node *node = mte_to_node(enode), *left, *right;
	unsigned char pcount = mt_node_count(parent), off = mt_child_offset(parent, node);
	unsigned char lo = off ? off - 1 : 0, lc, rc, split;
	bool leaf = mte_is_leaf(enode);
	struct maple_big_node b = {.end = 0};
	unsigned long rmax = mt_pivot(parent, lo + 1, pcount, ULONG_MAX);

	parent = mt_writable(parent);
	left = mt_writable(mte_to_node(parent->slot[lo]));
	right = mt_writable(mte_to_node(parent->slot[lo + 1]));
	lc = mt_node_count(left);
	rc = mt_node_count(right);
	mab_copy(&b, left, 0, lc, lc, parent->pivot[lo]);
	mab_copy(&b, right, 0, rc, rc, rmax);
	if (b.end <= MAPLE_RANGE64_SLOTS) {
		mt_node_fill(left, 0, &b, 0, b.end, leaf, lc);
		mt_free_node(right);
		b.end = 0;
		mab_copy(&b, parent, 0, lo, pcount, ULONG_MAX);
		mab_push(&b, rmax, mt_mk_enode(left, leaf));
		mab_copy(&b, parent, lo + 2, pcount, pcount, ULONG_MAX);
		mt_node_fill(parent, 0, &b, 0, b.end, false, pcount);
		return mt_mk_enode(parent, false);
	}
	split = b.end / 2;
	mt_node_fill(left, 0, &b, 0, split, leaf, lc);
	mt_node_fill(right, 0, &b, split, b.end - split, leaf, rc);
	parent->pivot[lo] = b.pivot[split - 1];
	return NULL;
}

/*
 * Restore minimum occupancy at @enode and above. A node whose parent has no
 * other child gets its parent fixed first, which gives it a neighbour (or
 * makes it the root). Merges never allocate, so this cannot fail.
 */
static void mt_rebalance(struct maple_tree *mt, struct maple_enode *enode)
{
	while (enode) {
		struct maple_node *node = mte_to_node(enode), *parent = mt_parent(node);

		if (!parent) {
			mt_root_shrink(mt);
			return;
		}
		if (mt_node_count(node) >= MAPLE_MIN_SLOTS || mt_is_rightmost(node))
			return;
		if (mt_node_count(parent) == 1) {
			mt_rebalance(mt, mt_mk_enode(parent, false));
			continue;
		}
		enode = mt_rebalance_siblings(parent, enode);
	}
}

/* Rebalance, leaf first, every node on the path to @index. */
static void mt_rebalance_path(struct maple_tree *mt, unsigned long index)
{
	for (unsigned int up = 0; up < mt_height(mt); up++) {
		struct maple_enode *enode = mt->ma_root;

		for (unsigned int d = 0; d + 1 + up < mt_height(mt); d++) {
			const struct maple_node *node = mte_to_node(enode);

			enode = node->slot[mt_slot_of(node, index)];
		}
		mt_rebalance(mt, enode);
	}
}

/* ------------------------------------------------------------------------- */
/* Committing: the store types                                               */

static void mas_wr_new_root(struct ma_wr_state *wr)
{
	struct maple_tree *mt = wr->mas->tree;
	struct maple_node *leaf = mas_pop_node(wr->mas);
	struct maple_big_node b = {.end = 0};

	if (wr->first)
		mab_push(&b, wr->first - 1, NULL);
	mab_push(&b, wr->last, wr->entry);
	if (wr->last != ULONG_MAX)
		mab_push(&b, ULONG_MAX, NULL);
	mt_node_fill(leaf, 0, &b, 0, b.end, true, MAPLE_RANGE64_SLOTS);
	mt->ma_root = mt_mk_enode(leaf, true);
	mt_set_height(mt, 1);
}

/*
 * Whether the store trims the range before it and ends inside the gap that
 * runs to ULONG_MAX: an append that overlaps the last range stored.
 */
static bool mas_wr_trim_append(const struct ma_wr_state *wr)
{
	return wr->first > wr->r_min && wr->last < wr->e_max && wr->e_max == ULONG_MAX &&
	       !wr->leaf->slot[wr->off_last];
}

/* Replace slots off_first..off_last of the leaf by up to three ranges. */
static void mas_wr_leaf(struct ma_wr_state *wr)
{
	struct maple_node *leaf = wr->leaf;
	struct maple_big_node b = {.end = 0};
	unsigned char start = wr->off_first;

	if (wr->new_count > MAPLE_RANGE64_SLOTS) {
		start = 0;
		mab_copy(&b, leaf, 0, wr->off_first, wr->count, wr->max);
	}
	if (wr->first > wr->r_min)
		mab_push(&b, wr->first - 1, leaf->slot[wr->off_first]);
	mab_push(&b, wr->last, wr->entry);
	if (wr->last < wr->e_max)
		mab_push(&b, wr->e_max, leaf->slot[wr->off_last]);
	mab_copy(&b, leaf, wr->off_last + 1, wr->count, wr->count, wr->max);

	if (wr->new_count > MAPLE_RANGE64_SLOTS) {
		mas_split(wr->mas, leaf, true, mas_wr_trim_append(wr), &b);
		return;
	}
	mt_node_fill(leaf, start, &b, 0, b.end, true, wr->count);
	/* The last leaf may run low (appends refill it), unless it is a root holding one range. */
	if (mas_wr_rebalances(wr))
		mt_rebalance(wr->mas->tree, mt_mk_enode(leaf, true));
}

/* Drop the entries of @node after slot @off (freeing the subtrees below). */
static void mt_cut_right(struct maple_node *node, unsigned char off, bool leaf)
{
	unsigned char count = mt_node_count(node), i;

	for (i = off + 1; i < count; i++) {
		if (!leaf)
			mt_free_subtree(node->slot[i]);
		node->slot[i] = NULL;
	}
	for (i = off; i < MAPLE_RANGE64_PIVOTS; i++)
		node->pivot[i] = ULONG_MAX;
}

/* Drop the entries of @node strictly between slots @lo and @hi (all when @lo is -1). */
static void mt_cut_between(struct maple_node *node, int lo, unsigned char hi, bool leaf)
{
	unsigned char count = mt_node_count(node);
	struct maple_big_node b = {.end = 0};

	for (int i = lo + 1; i < hi; i++)
		if (!leaf)
			mt_free_subtree(node->slot[i]);
	mab_copy(&b, node, 0, lo + 1, count, ULONG_MAX);
	mab_copy(&b, node, hi, count, count, ULONG_MAX);
	mt_node_fill(node, 0, &b, 0, b.end, leaf, count);
}

/*
 * In RCU mode, copy the nodes a spanning store cuts, top-down so that each
 * copy is published in its parent's copy: the left path from where the paths
 * part (all of it for a store to the end) and the right path below that.
 */
static void mas_wr_spanning_cow(struct maple_node **lp, struct maple_node **rp, unsigned int height,
				unsigned int part, bool to_end)
{
	for (unsigned int d = part; d < height; d++) {
		struct maple_node *old = lp[d];

		lp[d] = mt_writable(old);
		if (to_end)
			continue;
		rp[d] = rp[d] == old ? lp[d] : mt_writable(rp[d]);
	}
}

/*
 * A store across leaves. Walk the paths to first and to last + 1; below the
 * node where they part, everything between them is freed, the left path
 * keeps what precedes first and the right path what follows last. The new
 * range ends the left leaf; the separator where the paths part becomes last.
 * The nodes on both paths may now be underfull, so they are rebalanced leaf
 * first. Only an overfull left leaf allocates (the plan reserved for it).
 */
static void mas_wr_spanning(struct ma_wr_state *wr)
{
	struct maple_tree *mt = wr->mas->tree;
	unsigned int height = mt_height(mt), part = height, d;
	bool to_end = wr->last == ULONG_MAX;
	struct maple_node *lp[MAPLE_HEIGHT_MAX], *rp[MAPLE_HEIGHT_MAX];
	unsigned char lo[MAPLE_HEIGHT_MAX], ro[MAPLE_HEIGHT_MAX];
	struct maple_enode *l = mt->ma_root, *r = mt->ma_root;
	struct maple_big_node b = {.end = 0};
	struct maple_node *leaf;

	for (d = 0; d < height; d++) {
		lp[d] = mte_to_node(l);
		lo[d] = mt_slot_of(lp[d], wr->first);
		l = lp[d]->slot[lo[d]];
		if (to_end)
			continue;
		rp[d] = mte_to_node(r);
		ro[d] = mt_slot_of(rp[d], wr->last + 1);
		r = rp[d]->slot[ro[d]];
		if (part == height && lo[d] != ro[d])
			part = d;
	}
	if (unlikely(mt_cow.mt))
		mas_wr_spanning_cow(lp, rp, height, to_end ? 0 : part, to_end);

	for (d = 0; d < height; d++) {
		bool is_leaf = d == height - 1;

		if (to_end || d > part)
			mt_cut_right(lp[d], lo[d], is_leaf);
		if (!to_end && d > part)
			mt_cut_between(rp[d], -1, ro[d], is_leaf);
		if (!to_end && d == part) {
			mt_cut_between(lp[d], lo[d], ro[d], is_leaf);
			lp[d]->pivot[lo[d]] = wr->last;
		}
	}

	leaf = lp[height - 1];
	if (wr->new_count > MAPLE_RANGE64_SLOTS)
		mab_copy(&b, leaf, 0, wr->off_first, wr->off_first + 1, wr->last);
	if (wr->first > wr->r_min)
		mab_push(&b, wr->first - 1, leaf->slot[wr->off_first]);
	mab_push(&b, wr->last, wr->entry);
	if (wr->new_count > MAPLE_RANGE64_SLOTS)
		mas_split(wr->mas, leaf, true, false, &b);
	else
		mt_node_fill(leaf, wr->off_first, &b, 0, b.end, true, wr->off_first + 1);

	mt_rebalance_path(mt, wr->first);
	if (!to_end && mt->ma_root)
		mt_rebalance_path(mt, wr->last + 1);
}

static void mas_wr_dispatch(struct ma_wr_state *wr)
{
	switch (wr->type) {
	case wr_none:
		break;
	case wr_new_root:
		mas_wr_new_root(wr);
		break;
	case wr_leaf:
		mas_wr_leaf(wr);
		break;
	case wr_spanning:
		mas_wr_spanning(wr);
		break;
	}
}

/*
 * The commit in RCU mode: nodes the store changes are copied first. The leaf
 * of a leaf store is copied here, unless the kernel would change it in place.
 */
static void mas_wr_commit_rcu(struct ma_wr_state *wr)
{
	mt_cow_begin(wr->mas->tree, wr->mas);
	if (wr->type == wr_leaf && !mas_wr_in_place(wr))
		wr->leaf = mt_writable(wr->leaf);
	mas_wr_dispatch(wr);
	mt_cow_end();
}

static void mas_wr_commit(struct ma_wr_state *wr)
{
	struct ma_state *mas = wr->mas;

	if (unlikely(mt_in_rcu(mas->tree)))
		mas_wr_commit_rcu(wr);
	else
		mas_wr_dispatch(wr);
	/* Nodes may have moved: the next operation walks again, after the new range. */
	mas->index = wr->first;
	mas->last = wr->last;
	mas->status = ma_pause;
	mas->node = NULL;
}

/* ------------------------------------------------------------------------- */
/* Writing: the advanced API                                                 */

/**
 * mas_nomem() - allocate what a failed store wanted, then ask for a retry
 * @mas: the ma_state after an -ENOMEM
 * @gfp: the caller's allocation flags
 *
 * If @gfp may sleep, the tree lock is dropped around the allocation (unless
 * the tree uses an external lock), as the kernel does; the tree may change
 * meanwhile, so the caller must plan its store again.
 *
 * Context: the tree lock held if the caller holds it for the store.
 * Return: true if the nodes were obtained and the store should be retried.
 */
bool mas_nomem(struct ma_state *mas, gfp_t gfp)
{
	struct maple_tree *mt = mas->tree;
	bool unlock;
	int ret;

	if (mas_err(mas) != -ENOMEM)
		return false;
	unlock = gfpflags_allow_blocking(gfp) &&
		 (mt->ma_flags & MT_FLAGS_LOCK_MASK) != MT_FLAGS_LOCK_EXTERN &&
		 spin_is_locked(&mt->ma_lock);
	if (unlock)
		mtree_unlock(mt);
	ret = mas_alloc_nodes(mas, mas->alloc_req, gfp, GS_SITE_MAPLE_NODE);
	if (unlock)
		mtree_lock(mt);
	mas_reset(mas);
	return ret == 0;
}

/* Reserve @need nodes without sleeping; on failure note the request for mas_nomem(). */
static bool mas_wr_reserve(struct ma_state *mas, unsigned int need)
{
	if (likely(mas_allocated(mas) >= need))
		return true;
	if (!mas_alloc_nodes(mas, need, GFP_NOWAIT | __GFP_NOWARN, GS_SITE_MAPLE_NODE))
		return true;
	mas_set_err(mas, -ENOMEM);
	mas->alloc_req = need;
	return false;
}

/**
 * mas_store_gfp() - store an entry over [mas->index, mas->last]
 * @mas: the ma_state
 * @entry: the entry; NULL erases
 * @gfp: allocation flags for the nodes a split needs
 *
 * Overwrites whatever the range covers, trimming ranges it partly covers.
 * Node allocation is first tried without sleeping; if that fails,
 * mas_nomem() drops the lock and allocates with @gfp. On failure the tree is
 * unchanged.
 *
 * Context: the tree lock held (it may be dropped and retaken).
 * Return: 0, -EINVAL if mas->index > mas->last, or -ENOMEM.
 */
int mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp)
{
	struct ma_wr_state wr = {.mas = mas, .entry = entry};

	if (mas->index > mas->last) {
		mas_set_err(mas, -EINVAL);
		return -EINVAL;
	}
	for (;;) {
		mas_wr_plan(&wr);
		if (mas_wr_reserve(mas, wr.need))
			break;
		if (!mas_nomem(mas, gfp)) {
			mas_destroy(mas);
			mas_set_err(mas, -ENOMEM);
			return -ENOMEM;
		}
	}
	mas_wr_commit(&wr);
	mas_destroy(mas);
	return 0;
}

/**
 * mas_store() - store an entry over [mas->index, mas->last] without sleeping
 * @mas: the ma_state
 * @entry: the entry; NULL erases
 *
 * Uses the nodes reserved by mas_preallocate() if there are any (and then
 * cannot fail); otherwise allocates with GFP_NOWAIT. After a failure
 * mas_is_err() is true, the tree is unchanged, and mas_nomem() can allocate
 * with sleeping flags before a retry.
 *
 * Context: the tree lock held.
 * Return: the entry that was at mas->index, or NULL.
 */
void *mas_store(struct ma_state *mas, void *entry)
{
	struct ma_wr_state wr = {.mas = mas, .entry = entry};

	if (WARN_ON_ONCE(mas->index > mas->last)) {
		mas_set_err(mas, -EINVAL);
		return NULL;
	}
	mas_wr_plan(&wr);
	/* A bulk reserve (mas_expected_entries()) is topped up if a store needs more. */
	if (mas->mas_flags & MA_STATE_BULK) {
		if (!mas_wr_reserve(mas, wr.need))
			return NULL;
		mas_wr_commit(&wr);
		return wr.content;
	}
	if (mas->mas_flags & MA_STATE_PREALLOC) {
		if (WARN_ON_ONCE(mas_allocated(mas) < wr.need))
			mas_alloc_nodes(mas, wr.need, GFP_NOWAIT | __GFP_NOFAIL,
					GS_SITE_MAPLE_NODE);
		mas_wr_commit(&wr);
		return wr.content;
	}
	if (!mas_wr_reserve(mas, wr.need)) {
		mas_destroy(mas);
		return NULL;
	}
	mas_wr_commit(&wr);
	mas_destroy(mas);
	return wr.content;
}

/**
 * mas_preallocate() - reserve every node the store of @entry may need
 * @mas: the ma_state, set to the range of the coming store
 * @entry: the entry that will be stored
 * @gfp: allocation flags (GFP_KERNEL only outside spinlocks)
 *
 * This is the "prepare" half of a change that must not fail once begun:
 * afterwards mas_store_prealloc() (or mas_store()) of @entry over the same
 * range cannot fail, provided the tree does not change in between. The
 * reserve is the exact worst case for the tree as it is now.
 *
 * Context: any; may sleep if @gfp allows.
 * Return: 0, or -ENOMEM with nothing reserved and the tree untouched.
 */
int mas_preallocate(struct ma_state *mas, void *entry, gfp_t gfp)
{
	struct ma_wr_state wr = {.mas = mas, .entry = entry};

	if (WARN_ON_ONCE(mas->index > mas->last))
		return -EINVAL;
	mas_wr_plan(&wr);
	if (mas_alloc_nodes(mas, wr.need, gfp, GS_SITE_MAPLE_PREALLOC)) {
		mas_destroy(mas);
		mas_reset(mas);
		return -ENOMEM;
	}
	mas->mas_flags |= MA_STATE_PREALLOC;
	return 0;
}

/**
 * mas_store_prealloc() - commit a store prepared by mas_preallocate()
 * @mas: the ma_state passed to mas_preallocate()
 * @entry: the entry given to mas_preallocate()
 *
 * Cannot fail. Unused reserved nodes are released.
 *
 * Context: the tree lock held.
 */
void mas_store_prealloc(struct ma_state *mas, void *entry)
{
	struct ma_wr_state wr = {.mas = mas, .entry = entry};

	if (WARN_ON_ONCE(mas->index > mas->last)) {
		mas_destroy(mas);
		return;
	}
	mas_wr_plan(&wr);
	/* The reservation was made for this very store; running short is a caller bug. */
	if (WARN_ON_ONCE(mas_allocated(mas) < wr.need))
		mas_alloc_nodes(mas, wr.need, GFP_NOWAIT | __GFP_NOFAIL, GS_SITE_MAPLE_NODE);
	mas_wr_commit(&wr);
	mas_destroy(mas);
}

/**
 * mas_erase() - erase the whole range holding mas->index
 * @mas: the ma_state
 *
 * Outside RCU mode it never allocates: erasing only merges ranges and nodes.
 * In RCU mode the nodes it changes are copied; as in the kernel, the copies
 * are first allocated without sleeping, then with GFP_KERNEL (the lock
 * dropped, mas_nomem()), and if that fails too nothing is erased.
 *
 * Context: the tree lock held.
 * Return: the entry that was erased, or NULL.
 */
void *mas_erase(struct ma_state *mas)
{
	struct ma_wr_state wr = {.mas = mas, .entry = NULL};
	void *entry;

	for (;;) {
		entry = mas_leaf_walk(mas);
		if (!entry)
			return NULL;
		mas_wr_plan(&wr);
		if (likely(mas_wr_reserve(mas, wr.need)))
			break;
		if (!mas_nomem(mas, GFP_KERNEL)) {
			mas_destroy(mas);
			return NULL;
		}
	}
	mas_wr_commit(&wr);
	mas_destroy(mas);
	return entry;
}

/* ------------------------------------------------------------------------- */
/* Writing: the normal API                                                   */

/**
 * mtree_store_range() - store an entry over [@first, @last]
 * @mt: the tree
 * @first: first index
 * @last: last index
 * @entry: the entry; NULL erases the range
 * @gfp: allocation flags
 *
 * Context: takes the tree lock; may sleep (with the lock dropped) if @gfp allows.
 * Return: 0, -EINVAL if @first > @last or @entry is reserved, or -ENOMEM
 * (the tree is then unchanged).
 */
int mtree_store_range(struct maple_tree *mt, unsigned long first, unsigned long last, void *entry,
		      gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	int ret;

	if (WARN_ON_ONCE(mt_entry_reserved(entry)))
		return -EINVAL;
	if (first > last)
		return -EINVAL;
	mtree_lock(mt);
	ret = mas_store_gfp(&mas, entry, gfp);
	mtree_unlock(mt);
	return ret;
}

/**
 * mtree_store() - store an entry at a single index
 * @mt: the tree
 * @index: the index
 * @entry: the entry
 * @gfp: allocation flags
 *
 * Context: as mtree_store_range().
 * Return: as mtree_store_range().
 */
int mtree_store(struct maple_tree *mt, unsigned long index, void *entry, gfp_t gfp)
{
	return mtree_store_range(mt, index, index, entry, gfp);
}

/**
 * mtree_insert_range() - store an entry over [@first, @last] if it is empty
 * @mt: the tree
 * @first: first index
 * @last: last index
 * @entry: the entry
 * @gfp: allocation flags
 *
 * Context: as mtree_store_range().
 * Return: 0, -EEXIST if any index in the range holds an entry, -EINVAL or
 * -ENOMEM as mtree_store_range().
 */
int mtree_insert_range(struct maple_tree *mt, unsigned long first, unsigned long last, void *entry,
		       gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	int ret = 0;

	if (WARN_ON_ONCE(mt_entry_reserved(entry)))
		return -EINVAL;
	if (first > last)
		return -EINVAL;
	mtree_lock(mt);
	if (mas_walk(&mas) || mas.last < last)
		ret = -EEXIST;
	else if (entry) {
		mas_set_range(&mas, first, last);
		ret = mas_store_gfp(&mas, entry, gfp);
	}
	mtree_unlock(mt);
	return ret;
}

/**
 * mtree_insert() - store an entry at a single index if it is empty
 * @mt: the tree
 * @index: the index
 * @entry: the entry
 * @gfp: allocation flags
 *
 * Context: as mtree_store_range().
 * Return: as mtree_insert_range().
 */
int mtree_insert(struct maple_tree *mt, unsigned long index, void *entry, gfp_t gfp)
{
	return mtree_insert_range(mt, index, index, entry, gfp);
}

/**
 * mtree_erase() - erase the whole range holding an index
 * @mt: the tree
 * @index: any index of the range
 *
 * Context: takes the tree lock; never allocates.
 * Return: the entry that was erased, or NULL.
 */
void *mtree_erase(struct maple_tree *mt, unsigned long index)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	mtree_lock(mt);
	entry = mas_erase(&mas);
	mtree_unlock(mt);
	return entry;
}

/**
 * __mt_destroy() - free every node of a tree
 * @mt: the tree
 *
 * Context: the tree lock held (or the tree no longer shared).
 */
void __mt_destroy(struct maple_tree *mt)
{
	/* In RCU mode readers may still walk the nodes: they go after a grace period. */
	bool rcu = mt_in_rcu(mt);

	if (rcu)
		mt_cow_begin(mt, NULL);
	if (mt->ma_root)
		mt_free_subtree(mt->ma_root);
	if (rcu)
		mt_cow_end();
	mt->ma_root = NULL;
	mt_set_height(mt, 0);
}

/**
 * mtree_destroy() - free every node of a tree, leaving it empty and usable
 * @mt: the tree
 *
 * The entries themselves are the caller's.
 *
 * Context: takes the tree lock.
 */
void mtree_destroy(struct maple_tree *mt)
{
	mtree_lock(mt);
	__mt_destroy(mt);
	mtree_unlock(mt);
}

/* ------------------------------------------------------------------------- */
/* Free ranges: allocation trees (MT_FLAGS_ALLOC_RANGE)                      */

/*
 * The kernel finds free areas through the largest gap it records per child
 * in its allocation nodes. gmemsim keeps no gaps: it steps through the
 * ranges of the window, so a search costs a walk per leaf it crosses.
 */
static bool mas_area_args_ok(unsigned long min, unsigned long max, unsigned long size)
{
	return min <= max && size && max - min >= size - 1;
}

/* The free part [*lo, *hi] of the NULL range mas->index..last inside [min, max]. */
static bool mas_area_fits(const struct ma_state *mas, unsigned long min, unsigned long max,
			  unsigned long size, unsigned long *lo, unsigned long *hi)
{
	*lo = mas->index > min ? mas->index : min;
	*hi = mas->last < max ? mas->last : max;
	return *lo <= *hi && *hi - *lo >= size - 1;
}

/* The search found [@first, @first + @size - 1]; the next store walks from the root. */
static int mas_area_found(struct ma_state *mas, unsigned long first, unsigned long size)
{
	mas->index = first;
	mas->last = first + size - 1;
	mas->status = ma_start;
	mas->node = NULL;
	return 0;
}

/**
 * mas_empty_area() - the lowest free area of @size indices inside [@min, @max]
 * @mas: the ma_state; its position is ignored, the search starts at @min
 * @min: first index the area may use
 * @max: last index the area may use
 * @size: number of indices
 *
 * On success mas->index and mas->last hold the area, ready for mas_store().
 * Unlike the kernel, a repeated call without mas_reset() searches from @min
 * again rather than from where the last search stopped.
 *
 * Context: the tree lock or the RCU read lock held.
 * Return: 0, -EINVAL if @size is 0 or does not fit in [@min, @max], -EBUSY
 * if no free area of @size lies inside the window.
 */
int mas_empty_area(struct ma_state *mas, unsigned long min, unsigned long max, unsigned long size)
{
	unsigned long lo, hi;
	void *entry;

	if (!mas_area_args_ok(min, max, size))
		return -EINVAL;
	mas->index = min;
	entry = mas_leaf_walk(mas);
	for (;;) {
		if (!entry && mas_area_fits(mas, min, max, size, &lo, &hi))
			return mas_area_found(mas, lo, size);
		/* The next range starts at last + 1: stop when no area could end by max. */
		if (mas->status != ma_active || mas->last >= max || max - mas->last < size)
			return -EBUSY;
		entry = mas_next_slot(mas, max, true);
	}
}

/**
 * mas_empty_area_rev() - the highest free area of @size indices inside [@min, @max]
 * @mas: the ma_state; its position is ignored, the search starts at @max
 * @min: first index the area may use
 * @max: last index the area may use
 * @size: number of indices
 *
 * Context: as mas_empty_area().
 * Return: as mas_empty_area().
 */
int mas_empty_area_rev(struct ma_state *mas, unsigned long min, unsigned long max,
		       unsigned long size)
{
	unsigned long lo, hi;
	void *entry;

	if (!mas_area_args_ok(min, max, size))
		return -EINVAL;
	mas->index = max;
	entry = mas_leaf_walk(mas);
	for (;;) {
		if (!entry && mas_area_fits(mas, min, max, size, &lo, &hi))
			return mas_area_found(mas, hi - size + 1, size);
		if (mas->status != ma_active || mas->index <= min || mas->index - min < size)
			return -EBUSY;
		entry = mas_prev_slot(mas, min, true);
	}
}

/* What every allocating store asks first: an allocation tree, and an entry a user may store. */
static bool mtree_alloc_valid(const struct maple_tree *mt, const void *entry)
{
	return (mt->ma_flags & MT_FLAGS_ALLOC_RANGE) && !WARN_ON_ONCE(mt_entry_reserved(entry));
}

/* Store @entry over the area a search found; -ENOMEM is retried through mas_nomem(). */
static int mtree_alloc_common(struct maple_tree *mt, unsigned long *startp, void *entry,
			      unsigned long size, unsigned long min, unsigned long max, gfp_t gfp,
			      bool rev)
{
	MA_STATE(mas, mt, 0, 0);
	int ret;

	if (!mtree_alloc_valid(mt, entry))
		return -EINVAL;
	mtree_lock(mt);
	/* mas_store_gfp() may drop the lock to allocate, so the area is searched again. */
	do {
		ret = rev ? mas_empty_area_rev(&mas, min, max, size)
			  : mas_empty_area(&mas, min, max, size);
		if (ret)
			break;
		ret = mas_store_gfp(&mas, entry, GFP_NOWAIT | __GFP_NOWARN);
	} while (ret == -ENOMEM && mas_nomem(&mas, gfp));
	if (!ret)
		*startp = mas.index;
	mtree_unlock(mt);
	mas_destroy(&mas);
	return ret;
}

/**
 * mtree_alloc_range() - store @entry in the lowest free area of @size in [@min, @max]
 * @mt: a tree initialised with MT_FLAGS_ALLOC_RANGE
 * @startp: set to the first index of the area
 * @entry: the entry
 * @size: number of indices
 * @min: first index the area may use
 * @max: last index the area may use
 * @gfp: allocation flags
 *
 * Context: takes the tree lock; may sleep (with the lock dropped) if @gfp allows.
 * Return: 0, -EINVAL (not an allocation tree, a reserved entry, or a size
 * that cannot fit), -EBUSY (no free area), -ENOMEM.
 */
int mtree_alloc_range(struct maple_tree *mt, unsigned long *startp, void *entry, unsigned long size,
		      unsigned long min, unsigned long max, gfp_t gfp)
{
	return mtree_alloc_common(mt, startp, entry, size, min, max, gfp, false);
}

/**
 * mtree_alloc_rrange() - store @entry in the highest free area of @size in [@min, @max]
 * @mt: a tree initialised with MT_FLAGS_ALLOC_RANGE
 * @startp: set to the first index of the area
 * @entry: the entry
 * @size: number of indices
 * @min: first index the area may use
 * @max: last index the area may use
 * @gfp: allocation flags
 *
 * Context: as mtree_alloc_range().
 * Return: as mtree_alloc_range().
 */
int mtree_alloc_rrange(struct maple_tree *mt, unsigned long *startp, void *entry,
		       unsigned long size, unsigned long min, unsigned long max, gfp_t gfp)
{
	return mtree_alloc_common(mt, startp, entry, size, min, max, gfp, true);
}

/**
 * mas_alloc_cyclic() - store @entry at the first free index from *@next, wrapping once
 * @mas: the ma_state
 * @startp: set to the index used
 * @entry: the entry
 * @range_lo: lowest index to use
 * @range_hi: highest index to use
 * @next: where the search starts; set to the index after the one used
 * @gfp: allocation flags
 *
 * When *@next passes ULONG_MAX the tree remembers it (MT_FLAGS_ALLOC_WRAPPED)
 * and the next allocation reports the wrap.
 *
 * Context: the tree lock held (dropped to allocate if @gfp allows).
 * Return: 0, 1 if the search wrapped to @range_lo, -EBUSY if every index is
 * used, -ENOMEM.
 */
int mas_alloc_cyclic(struct ma_state *mas, unsigned long *startp, void *entry,
		     unsigned long range_lo, unsigned long range_hi, unsigned long *next, gfp_t gfp)
{
	struct maple_tree *mt = mas->tree;
	int ret;

	do {
		unsigned long from = *next > range_lo ? *next : range_lo;

		ret = mas_empty_area(mas, from, range_hi, 1);
		if (ret && from > range_lo) {
			ret = mas_empty_area(mas, range_lo, range_hi, 1);
			if (!ret)
				ret = 1;
		}
		if (ret < 0)
			goto out;
		if (mas_store_gfp(mas, entry, GFP_NOWAIT | __GFP_NOWARN) == -ENOMEM)
			continue;
		break;
	} while (mas_nomem(mas, gfp));
	if (mas_is_err(mas)) {
		ret = mas_err(mas);
		goto out;
	}
	if (!ret && (mt->ma_flags & MT_FLAGS_ALLOC_WRAPPED)) {
		mt->ma_flags &= ~MT_FLAGS_ALLOC_WRAPPED;
		ret = 1;
	}
	*startp = mas->index;
	*next = *startp + 1;
	if (!*next)
		mt->ma_flags |= MT_FLAGS_ALLOC_WRAPPED;
out:
	mas_destroy(mas);
	return ret;
}

/**
 * mtree_alloc_cyclic() - mas_alloc_cyclic() on an allocation tree, taking its lock
 * @mt: a tree initialised with MT_FLAGS_ALLOC_RANGE
 * @startp: set to the index used
 * @entry: the entry
 * @range_lo: lowest index to use
 * @range_hi: highest index to use
 * @next: where the search starts; updated
 * @gfp: allocation flags
 *
 * Context: takes the tree lock; may sleep if @gfp allows.
 * Return: as mas_alloc_cyclic(), or -EINVAL for a tree without
 * MT_FLAGS_ALLOC_RANGE or a reserved entry.
 */
int mtree_alloc_cyclic(struct maple_tree *mt, unsigned long *startp, void *entry,
		       unsigned long range_lo, unsigned long range_hi, unsigned long *next,
		       gfp_t gfp)
{
	MA_STATE(mas, mt, 0, 0);
	int ret;

	if (!mtree_alloc_valid(mt, entry))
		return -EINVAL;
	mtree_lock(mt);
	ret = mas_alloc_cyclic(&mas, startp, entry, range_lo, range_hi, next, gfp);
	mtree_unlock(mt);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* Bulk loading and duplication                                              */

/**
 * mas_expected_entries() - reserve the nodes for storing @nr_entries ranges in a row
 * @mas: the ma_state the stores will use
 * @nr_entries: how many ranges will be stored
 *
 * The reserve assumes a gap beside every entry and leaves two slots of each
 * leaf free, as the kernel's does; mas_store() takes its nodes from it
 * (allocating with GFP_NOWAIT if a store needs more than is left), and
 * mas_destroy() releases what is left.
 *
 * Context: may sleep (GFP_KERNEL).
 * Return: 0, or -ENOMEM with nothing reserved.
 */
int mas_expected_entries(struct ma_state *mas, unsigned long nr_entries)
{
	unsigned long slots = nr_entries > (ULONG_MAX - 1) / 2 ? ULONG_MAX : nr_entries * 2 + 1;
	unsigned long leaves = slots / (MAPLE_RANGE64_SLOTS - 2) + 1;
	unsigned long nodes = leaves + leaves / (MAPLE_RANGE64_SLOTS - 2) + 1 + 3;

	/* Never reserve more than the address space could hold in 256-byte nodes. */
	if (nodes > ULONG_MAX / MAPLE_NODE_SIZE / 2)
		return -ENOMEM;
	if (mas_alloc_nodes(mas, nodes, GFP_KERNEL, GS_SITE_MAPLE_PREALLOC)) {
		mas_destroy(mas);
		return -ENOMEM;
	}
	mas->mas_flags |= MA_STATE_BULK;
	return 0;
}

/* Free a partly built copy: children not yet copied are NULL. */
static void mt_dup_free(struct maple_enode *enode)
{
	struct maple_node *node = mte_to_node(enode);

	if (!mte_is_leaf(enode))
		for (unsigned char i = 0; i < MAPLE_RANGE64_SLOTS; i++)
			if (node->slot[i])
				mt_dup_free(node->slot[i]);
	mt_free_node(node);
}

/* A copy of the subtree @enode under @parent, or NULL with nothing left allocated. */
static struct maple_enode *mt_dup_subtree(const struct maple_enode *enode,
					  struct maple_node *parent, gfp_t gfp)
{
	const struct maple_node *src = mte_to_node(enode);
	struct maple_node *node = gs_alloc(GS_SITE_MAPLE_NODE, MAPLE_NODE_SIZE, gfp);
	bool leaf = mte_is_leaf(enode);
	unsigned char count = mt_node_count(src);

	if (!node)
		return NULL;
	memcpy(node, src, MAPLE_NODE_SIZE);
	node->parent = (unsigned long)parent;
	if (leaf)
		return mt_mk_enode(node, true);
	for (unsigned char i = 0; i < MAPLE_RANGE64_SLOTS; i++)
		node->slot[i] = NULL;
	for (unsigned char i = 0; i < count; i++) {
		node->slot[i] = mt_dup_subtree(src->slot[i], node, gfp);
		if (!node->slot[i]) {
			mt_dup_free(mt_mk_enode(node, false));
			return NULL;
		}
	}
	return mt_mk_enode(node, false);
}

/**
 * __mt_dup() - copy every node of @mt into the empty tree @new
 * @mt: the source tree
 * @new: an empty tree with the same flags
 * @gfp: allocation flags
 *
 * The copy has the same shape and entries; the entries themselves are shared.
 *
 * Context: the caller holds both trees' locks (or their external locks).
 * Return: 0, -EINVAL if @new is not empty or its flags differ, -ENOMEM (then
 * @new stays empty).
 */
int __mt_dup(struct maple_tree *mt, struct maple_tree *new, gfp_t gfp)
{
	struct maple_enode *root;

	if (new->ma_root ||
	    (mt->ma_flags & ~MT_FLAGS_HEIGHT_MASK) != (new->ma_flags & ~MT_FLAGS_HEIGHT_MASK))
		return -EINVAL;
	if (!mt->ma_root)
		return 0;
	root = mt_dup_subtree(mt->ma_root, NULL, gfp);
	if (!root)
		return -ENOMEM;
	new->ma_root = root;
	mt_set_height(new, mt_height(mt));
	return 0;
}

/**
 * mtree_dup() - __mt_dup(), taking both trees' locks
 * @mt: the source tree
 * @new: an empty tree with the same flags
 * @gfp: allocation flags (the locks are held throughout: no sleeping flags)
 *
 * Context: takes both tree locks.
 * Return: as __mt_dup().
 */
int mtree_dup(struct maple_tree *mt, struct maple_tree *new, gfp_t gfp)
{
	int ret;

	mtree_lock(new);
	mtree_lock(mt);
	ret = __mt_dup(mt, new, gfp);
	mtree_unlock(mt);
	mtree_unlock(new);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* Introspection, dump and validation                                        */

static unsigned long mt_count_subtree(const struct maple_enode *enode, bool ranges)
{
	const struct maple_node *node = mte_to_node(enode);
	unsigned char count = mt_node_count(node);
	unsigned long n = ranges ? 0 : 1;

	if (mte_is_leaf(enode))
		return ranges ? count : 1;
	for (unsigned char i = 0; i < count; i++)
		n += mt_count_subtree(node->slot[i], ranges);
	return n;
}

/**
 * mt_nr_nodes() - nodes allocated to a tree (each MAPLE_NODE_SIZE bytes)
 * @mt: the tree
 *
 * Context: the tree must not change meanwhile.
 * Return: the count.
 */
unsigned long mt_nr_nodes(const struct maple_tree *mt)
{
	return mt->ma_root ? mt_count_subtree(mt->ma_root, false) : 0;
}

/**
 * mt_nr_ranges() - ranges (NULL ones included) the leaves hold
 * @mt: the tree
 *
 * Context: the tree must not change meanwhile.
 * Return: the count; 0 for an empty tree.
 */
unsigned long mt_nr_ranges(const struct maple_tree *mt)
{
	return mt->ma_root ? mt_count_subtree(mt->ma_root, true) : 0;
}

static void mt_dump_entry(FILE *f, const void *entry)
{
	unsigned long v = (unsigned long)entry;

	if (!entry)
		fprintf(f, "(null)\n");
	else if (v & 1)
		fprintf(f, "value %lu (%#lx)\n", v >> 1, v);
	else if ((v & 3) == 2)
		fprintf(f, "internal %lu\n", v >> 2);
	else
		fprintf(f, "%p\n", entry);
}

static void mt_dump_node(FILE *f, const struct maple_enode *enode, unsigned long min,
			 unsigned long max, unsigned int depth, enum mt_dump_format format)
{
	const struct maple_node *node = mte_to_node(enode);
	unsigned char count = mt_node_count(node);
	const char *fmt = format == mt_dump_hex ? "%*s%lx-%lx: " : "%*s%lu-%lu: ";
	bool leaf = mte_is_leaf(enode);

	fprintf(f, fmt, (int)depth * 2, "", min, max);
	fprintf(f, "node %p depth %u %s parent %p, %u slots\n", (void *)node, depth,
		leaf ? "leaf" : "range", (void *)mt_parent(node), count);
	for (unsigned char i = 0; i < count; i++) {
		unsigned long last = mt_pivot(node, i, count, max);

		if (leaf) {
			fprintf(f, fmt, (int)depth * 2 + 2, "", min, last);
			mt_dump_entry(f, node->slot[i]);
		} else {
			mt_dump_node(f, node->slot[i], min, last, depth + 1, format);
		}
		min = last + 1;
	}
}

/**
 * mt_fdump() - print a tree, node by node, to a stream
 * @f: the stream
 * @mt: the tree
 * @format: indices in decimal or hexadecimal
 *
 * Context: the tree must not change meanwhile.
 */
void mt_fdump(FILE *f, const struct maple_tree *mt, enum mt_dump_format format)
{
	fprintf(f, "maple_tree(%p) flags %#x, height %u root %p\n", (const void *)mt, mt->ma_flags,
		mt_height(mt), mt->ma_root);
	if (mt->ma_root)
		mt_dump_node(f, mt->ma_root, 0, ULONG_MAX, 0, format);
}

/**
 * mt_dump() - print a tree to stdout
 * @mt: the tree
 * @format: indices in decimal or hexadecimal
 *
 * Context: the tree must not change meanwhile.
 */
void mt_dump(const struct maple_tree *mt, enum mt_dump_format format)
{
	mt_fdump(stdout, mt, format);
}

/* A leaf slot's entry as a word: the value, "null" or "entry" (never an address). */
static void mt_entry_word(char *buf, size_t len, const void *entry)
{
	unsigned long v = (unsigned long)entry;

	if (!entry)
		snprintf(buf, len, "null");
	else if (v & 1)
		snprintf(buf, len, "%lu", v >> 1);
	else
		snprintf(buf, len, "entry");
}

/* @enode and its subtree in preorder, numbered by @next; a leaf lists its ranges. */
static void mt_state_node(struct gs_state *st, const char *path, const struct maple_enode *enode,
			  unsigned long min, unsigned long max, unsigned int depth, int parent,
			  unsigned int *next)
{
	const struct maple_node *node = mte_to_node(enode);
	unsigned char count = mt_node_count(node);
	bool leaf = mte_is_leaf(enode);
	unsigned int id = (*next)++;
	/* At most MAPLE_RANGE64_SLOTS ranges of two 64-bit numbers and a word each. */
	char p[200], word[32], ranges[MAPLE_RANGE64_SLOTS * 64] = "";
	size_t used = 0;

	snprintf(p, sizeof(p), "%s/%u", path, id);
	gs_state_add(st, p, "min", "0x%lx", min);
	gs_state_add(st, p, "max", "0x%lx", max);
	gs_state_add_u64(st, p, "depth", depth);
	gs_state_add(st, p, "type", "%s", leaf ? "leaf" : "range");
	gs_state_add(st, p, "parent", "%d", parent);
	gs_state_add_u64(st, p, "slots", count);
	for (unsigned char i = 0; leaf && i < count; i++) {
		unsigned long last = mt_pivot(node, i, count, max);

		mt_entry_word(word, sizeof(word), node->slot[i]);
		used += (size_t)snprintf(ranges + used, sizeof(ranges) - used, "%s0x%lx-0x%lx=%s",
					 i ? "," : "", min, last, word);
		min = last + 1;
	}
	if (leaf)
		gs_state_add(st, p, "ranges", "%s", ranges);
	for (unsigned char i = 0; !leaf && i < count; i++) {
		unsigned long last = mt_pivot(node, i, count, max);

		mt_state_node(st, path, node->slot[i], min, last, depth + 1, (int)id, next);
		min = last + 1;
	}
}

void gs_mt_dump_state(struct gs_state *st, const char *path, const struct maple_tree *mt)
{
	unsigned int next = 0;

	gs_state_add_u64(st, path, "height", mt_height(mt));
	if (mt->ma_root)
		mt_state_node(st, path, mt->ma_root, 0, ULONG_MAX, 0, -1, &next);
}

struct mt_check {
	unsigned int height;
	unsigned long next; /* first index the next leaf range must start at */
	bool prev_null;	    /* the previous range was NULL */
	unsigned int errors;
};

static __printf(3, 4) void mt_bad(struct mt_check *c, const struct maple_node *node,
				  const char *fmt, ...)
{
	va_list ap;

	if (c->errors++ >= 8)
		return;
	fprintf(stderr, "mt_validate: node %p: ", (const void *)node);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void mt_check_leaf(struct mt_check *c, const struct maple_node *node, unsigned char count,
			  unsigned long min, unsigned long max)
{
	for (unsigned char i = 0; i < count; i++) {
		unsigned long last = mt_pivot(node, i, count, max);
		const void *entry = node->slot[i];

		if (min != c->next)
			mt_bad(c, node, "range %u starts at %lu, expected %lu", i, min, c->next);
		if (!entry && c->prev_null)
			mt_bad(c, node, "adjacent NULL ranges at %lu", min);
		if (mt_entry_reserved(entry))
			mt_bad(c, node, "reserved entry %p in slot %u", entry, i);
		c->prev_null = !entry;
		c->next = last + 1;
		min = last + 1;
	}
}

static void mt_check_node(struct mt_check *c, const struct maple_enode *enode,
			  const struct maple_node *parent, unsigned long min, unsigned long max,
			  unsigned int depth)
{
	const struct maple_node *node = mte_to_node(enode);
	unsigned char count = mt_node_count(node), i;
	bool leaf = mte_is_leaf(enode);

	if (((unsigned long)enode & 3) != MAPLE_ENODE_NODE)
		mt_bad(c, node, "slot does not hold a node");
	if (mt_parent(node) != parent)
		mt_bad(c, node, "parent %p, expected %p", (void *)mt_parent(node), (void *)parent);
	if (leaf != (depth + 1 == c->height))
		mt_bad(c, node, "%s at depth %u of a tree of height %u", leaf ? "leaf" : "range",
		       depth, c->height);
	if (parent && max != ULONG_MAX && count < MAPLE_MIN_SLOTS)
		mt_bad(c, node, "%u slots, below the minimum %u", count, MAPLE_MIN_SLOTS);
	if (!parent && !leaf && count < 2)
		mt_bad(c, node, "root with a single child");
	if (!parent && leaf && count == 1 && !node->slot[0])
		mt_bad(c, node, "root leaf holding only NULL");
	for (i = 0; i + 1 < count; i++) {
		unsigned long lo = i ? node->pivot[i - 1] + 1 : min;

		if (node->pivot[i] < lo || node->pivot[i] >= max)
			mt_bad(c, node, "pivot %u = %lu outside [%lu, %lu)", i, node->pivot[i], lo,
			       max);
	}
	for (i = count ? count - 1 : 0; i < MAPLE_RANGE64_PIVOTS; i++)
		if (node->pivot[i] != ULONG_MAX)
			mt_bad(c, node, "unused pivot %u = %lu", i, node->pivot[i]);
	for (i = count; i < MAPLE_RANGE64_SLOTS; i++)
		if (node->slot[i])
			mt_bad(c, node, "unused slot %u not NULL", i);
	if (leaf) {
		mt_check_leaf(c, node, count, min, max);
		return;
	}
	for (i = 0; i < count; i++) {
		unsigned long last = mt_pivot(node, i, count, max);

		mt_check_node(c, node->slot[i], node, min, last, depth + 1);
		min = last + 1;
	}
}

/**
 * mt_validate() - check every structural invariant of a tree
 * @mt: the tree
 *
 * Pivots increase inside each node's bounds and unused ones are ULONG_MAX;
 * unused slots are NULL; each child points back at its parent; all leaves
 * are at the depth the height says; every node but the root and the last of
 * its level holds at least MAPLE_MIN_SLOTS; a root node has two children or
 * is a leaf with something in it; the leaf ranges tile [0, ULONG_MAX] in
 * order with no two NULL ranges adjacent and no reserved entries. The first
 * violations are printed to stderr and reported with a WARN.
 *
 * Context: the tree must not change meanwhile.
 * Return: 0 if the tree is valid, -EUCLEAN otherwise.
 */
int mt_validate(const struct maple_tree *mt)
{
	struct mt_check c = {.height = mt_height(mt)};

	if (!mt->ma_root) {
		if (c.height)
			mt_bad(&c, NULL, "empty tree of height %u", c.height);
	} else {
		mt_check_node(&c, mt->ma_root, NULL, 0, ULONG_MAX, 0);
		if (c.next != 0)
			mt_bad(&c, NULL, "ranges end at %lu, not ULONG_MAX", c.next - 1);
	}
	if (WARN(c.errors, "maple tree %p: %u invariant violations", (const void *)mt, c.errors))
		return -EUCLEAN;
	return 0;
}
