// SPDX-License-Identifier: MIT
/*
 * The XArray: gmemsim's radix tree of entries, the structure behind the
 * simulated page cache. It follows the behaviour of Linux lib/xarray.c
 * (entry encoding, node layout, multi-index entries held as a canonical slot
 * plus sibling slots, marks propagated to parents, the xas_nomem() protocol)
 * and is written from that behaviour, not from its text. Differences:
 *  - no RCU: readers take xa_lock, and nodes are freed at once;
 *  - a store, insert or range store that finally fails with -ENOMEM leaves no
 *    empty node behind, so the array is exactly as before;
 *  - xas_split_alloc() builds whole subtrees off the lock, so one
 *    xas_split() handles any order (1 GiB -> 4 KiB included).
 * The slot count per node is a build option (XA_CHUNK_SHIFT, 2..6).
 */
#include <string.h>
#include "config.h"
#include <gmemsim/xarray.h>
#include <gmemsim/alloc.h>
#include <gmemsim/rcu.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>

_Static_assert(XA_CHUNK_SHIFT >= 2 && XA_CHUNK_SHIFT <= 6, "one mark word must cover a node");

/* ---- entries ------------------------------------------------------------------------- */

/*
 * What the normal API stores: anything but the kernel's own entries (retry,
 * siblings, errors). A pointer whose low bits say "internal" and whose value
 * says "node" (an unaligned char pointer, say) is stored too: what a slot
 * holds is told by the level it sits at (slot_is_node()), and such an entry
 * never goes in the head, where there is no level to tell it by.
 */
static inline bool xa_storable(const void *entry)
{
	return !xa_is_advanced(entry);
}

/*
 * Whether @entry, read from a slot of @node, is a child node. Leaves hold
 * only entries, so a node-looking entry there is the user's; above the
 * leaves, as in the kernel, a node-looking pointer is a node (multi-index
 * entries of such pointers are not supported there either).
 */
static inline bool slot_is_node(const struct xa_node *node, const void *entry)
{
	return xa_is_node(entry) && node->shift;
}

static inline void *xa_mk_sibling(unsigned long offset)
{
	return xa_mk_internal(offset);
}

static inline unsigned int xa_to_sibling(const void *entry)
{
	return (unsigned int)xa_to_internal(entry);
}

static inline bool xa_is_sibling(const void *entry)
{
	return xa_is_internal(entry) &&
	       (unsigned long)entry < (unsigned long)xa_mk_sibling(XA_CHUNK_SIZE - 1);
}

static inline unsigned int get_offset(unsigned long index, const struct xa_node *node)
{
	return (index >> node->shift) & XA_CHUNK_MASK;
}

/* Largest index an array whose head is @entry holds without growing. */
static inline unsigned long max_index(const void *entry)
{
	if (!xa_is_node(entry))
		return 0;
	return (XA_CHUNK_SIZE << xa_to_node(entry)->shift) - 1;
}

/* Level of the node that holds an entry of @order. */
static inline unsigned int order_shift(unsigned int order)
{
	return order - order % XA_CHUNK_SHIFT;
}

static inline bool xas_top(const struct xa_node *node)
{
	return node <= XAS_RESTART;
}

static inline unsigned long xas_size(const struct xa_state *xas)
{
	return (xas->xa_sibs + 1UL) << xas->xa_shift;
}

static inline unsigned int xas_order(const struct xa_state *xas)
{
	return xas->xa_shift + (unsigned int)__builtin_ctz(xas->xa_sibs + 1U);
}

/* ---- marks --------------------------------------------------------------------------- */

/* Whether slot @offset of @node has any mark: one test of the three words. */
static inline bool node_any_mark(const struct xa_node *node, unsigned int offset)
{
	unsigned long any = 0;

	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
		any |= node->marks[mark][0];
	return (any >> offset) & 1;
}

static inline bool node_get_mark(const struct xa_node *node, unsigned int offset, xa_mark_t mark)
{
	return (node->marks[mark][0] >> offset) & 1;
}

/* Return whether the bit was already set. */
static inline bool node_set_mark(struct xa_node *node, unsigned int offset, xa_mark_t mark)
{
	bool was = node_get_mark(node, offset, mark);

	node->marks[mark][0] |= 1UL << offset;
	return was;
}

/* Return whether the bit was set. */
static inline bool node_clear_mark(struct xa_node *node, unsigned int offset, xa_mark_t mark)
{
	bool was = node_get_mark(node, offset, mark);

	node->marks[mark][0] &= ~(1UL << offset);
	return was;
}

/* The marks of one slot as a 3-bit set. */
static unsigned int node_get_marks(const struct xa_node *node, unsigned int offset)
{
	unsigned int marks = 0;

	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
		if (node_get_mark(node, offset, mark))
			marks |= 1U << mark;
	return marks;
}

static inline void xa_mark_set(struct xarray *xa, xa_mark_t mark)
{
	xa->xa_flags |= XA_FLAGS_MARK(mark);
}

static inline void xa_mark_clear(struct xarray *xa, xa_mark_t mark)
{
	xa->xa_flags &= ~XA_FLAGS_MARK(mark);
}

/* ---- nodes --------------------------------------------------------------------------- */

static struct xa_node *xa_node_alloc(const struct xarray *xa, unsigned int site, gfp_t gfp)
{
	struct xa_node *node;

	if (xa->xa_flags & XA_FLAGS_ACCOUNT)
		gfp |= __GFP_ACCOUNT;
	node = gs_alloc(site, sizeof(*node), gfp | __GFP_NOWARN);
	if (node)
		node->site = (unsigned char)site;
	return node;
}

/* A node that never was in a tree (a spare, a prebuilt split subtree): no reader knows it. */
static void xa_node_free_now(struct xa_node *node)
{
	gs_free(node->site, node, sizeof(*node));
}

static void xa_node_rcu_free(struct rcu_head *head)
{
	xa_node_free_now(container_of(head, struct xa_node, rcu_head));
}

/*
 * A node taken out of a tree: a reader inside a read-side critical section
 * may still be walking it, so it is freed after the grace period.
 */
static void xa_node_free(struct xa_node *node)
{
	call_rcu(&node->rcu_head, xa_node_rcu_free);
}

/*
 * A node leaves the tree: empty as the user's update hook sees it (the page
 * cache takes it off its shadow-node list then), freed after the grace period.
 */
static void xa_node_retire(struct xa_node *node, xa_update_node_t update)
{
	node->count = 0;
	node->nr_values = 0;
	if (update)
		update(node);
	xa_node_free(node);
}

/*
 * Free @node and everything below it. Spare nodes (count 0) have no
 * children; leaves of a prebuilt split subtree hold entries, never nodes.
 * A subtree taken out of a tree (@published) has its entries replaced by
 * retry entries first, so a reader still inside it starts its walk again.
 */
static void __xa_free_subtree(struct xa_node *node, bool published, xa_update_node_t update)
{
	if (!node->shift) {
		/*
		 * A leaf frees no child, so nothing changes its count under the
		 * walk: tested once, and the slots retired in a loop of their own
		 * (a merge retires a split page's leaves, 64 slots each). A full
		 * leaf, the split page's case, has no empty slot to test for:
		 * its slots are all written, which the compiler does in vector
		 * stores.
		 */
		if (node->count == XA_CHUNK_SIZE && published)
			for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
				node->slots[i] = XA_RETRY_ENTRY;
		else if (node->count && published)
			for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
				if (node->slots[i])
					node->slots[i] = XA_RETRY_ENTRY;
	} else {
		for (unsigned int i = 0; node->count && i < XA_CHUNK_SIZE; i++) {
			void *entry = node->slots[i];

			if (xa_is_node(entry))
				__xa_free_subtree(xa_to_node(entry), published, update);
			else if (entry && published)
				node->slots[i] = XA_RETRY_ENTRY;
		}
	}
	if (published)
		xa_node_retire(node, update);
	else
		xa_node_free_now(node);
}

static void xa_free_subtree(struct xa_node *node, xa_update_node_t update)
{
	__xa_free_subtree(node, true, update);
}

static void xa_free_subtree_now(struct xa_node *node)
{
	__xa_free_subtree(node, false, NULL);
}

/* A zeroed node for xas_alloc(), pushed on @xas->xa_alloc (linked through ->parent). */
static bool xas_alloc_spare(struct xa_state *xas, gfp_t gfp)
{
	struct xa_node *node = xa_node_alloc(xas->xa, GS_SITE_XARRAY_NODE, gfp | __GFP_ZERO);

	if (!node)
		return false;
	node->parent = xas->xa_alloc;
	xas->xa_alloc = node;
	return true;
}

void xas_destroy(struct xa_state *xas)
{
	struct xa_node *node = xas->xa_alloc;

	while (node) {
		struct xa_node *next = node->parent;

		xa_free_subtree_now(node);
		node = next;
	}
	xas->xa_alloc = NULL;
}

int gs_xas_topup(struct xa_state *xas, unsigned int nr, unsigned int site, gfp_t gfp)
{
	for (unsigned int i = 0; i < nr; i++) {
		struct xa_node *node = xa_node_alloc(xas->xa, site, gfp | __GFP_ZERO);

		if (!node) {
			xas_destroy(xas);
			return -ENOMEM;
		}
		node->parent = xas->xa_alloc;
		xas->xa_alloc = node;
	}
	return 0;
}

unsigned int gs_xa_reserve_len(struct xa_node *const *reserve)
{
	unsigned int nr = 0;

	for (const struct xa_node *n = reserve ? *reserve : NULL; n; n = n->parent)
		nr++;
	return nr;
}

int gs_xa_reserve(struct xarray *xa, struct xa_node **reserve, unsigned int nr, unsigned int site,
		  gfp_t gfp)
{
	unsigned int have = gs_xa_reserve_len(reserve);
	XA_STATE(xas, xa, 0);
	struct xa_node *last;

	if (have >= nr)
		return 0;
	/* Into a list of its own: a failed top-up empties the list it fills. */
	if (gs_xas_topup(&xas, nr - have, site, gfp))
		return -ENOMEM;
	for (last = xas.xa_alloc; last->parent; last = last->parent)
		;
	last->parent = *reserve;
	*reserve = xas.xa_alloc;
	return 0;
}

void gs_xa_reserve_free(struct xa_node **reserve)
{
	XA_STATE(xas, NULL, 0);

	xas.xa_alloc = *reserve;
	xas_destroy(&xas);
	*reserve = NULL;
}

/*
 * A new empty node at @shift below @xas->xa_node (at xa_offset). Under the
 * lock we may not sleep, so a spare from xas_nomem() is used first, then
 * GFP_NOWAIT; failure leaves -ENOMEM in @xas for the caller's retry loop.
 */
static struct xa_node *xas_alloc(struct xa_state *xas, unsigned int shift)
{
	struct xa_node *parent = xas->xa_node;
	struct xa_node *node = xas->xa_alloc;

	if (xas_invalid(xas))
		return NULL;
	if (node && !node->count) {
		xas->xa_alloc = node->parent;
	} else {
		node = xa_node_alloc(xas->xa, GS_SITE_XARRAY_NODE, GFP_NOWAIT | __GFP_ZERO);
		if (!node) {
			xas_set_err(xas, -ENOMEM);
			return NULL;
		}
	}
	if (parent) {
		node->offset = xas->xa_offset;
		parent->count++;
		if (xas->xa_update)
			xas->xa_update(parent);
	}
	node->shift = (unsigned char)shift;
	node->count = 0;
	node->nr_values = 0;
	node->parent = parent;
	node->array = xas->xa;
	INIT_LIST_HEAD(&node->private_list);
	return node;
}

/* ---- walking ------------------------------------------------------------------------- */

static void *set_bounds(struct xa_state *xas)
{
	xas->xa_node = XAS_BOUNDS;
	return NULL;
}

/* The entry at the slot @xas already points at (following a sibling). */
static inline void *__xas_reload(const struct xa_state *xas)
{
	const struct xa_node *node = xas->xa_node;
	void *entry;

	if (!node)
		return xas->xa->xa_head;
	entry = node->slots[get_offset(xas->xa_index, node)];
	if (xa_is_sibling(entry))
		entry = node->slots[xa_to_sibling(entry)];
	return entry;
}

/*
 * Begin a walk: from where @xas is if it is valid, else from the head. An
 * index beyond what the tree can hold puts @xas in the bounds state.
 */
static inline void *xas_start(struct xa_state *xas)
{
	void *entry;

	if (xas_valid(xas))
		return __xas_reload(xas);
	if (xas_error(xas))
		return NULL;
	entry = xas->xa->xa_head;
	if (!xa_is_node(entry)) {
		if (xas->xa_index)
			return set_bounds(xas);
	} else if ((xas->xa_index >> xa_to_node(entry)->shift) > XA_CHUNK_MASK) {
		return set_bounds(xas);
	}
	xas->xa_node = NULL;
	return entry;
}

/* Step into @node; a sibling slot resolves to its canonical slot. */
static inline void *xas_descend(struct xa_state *xas, struct xa_node *node)
{
	unsigned int offset = get_offset(xas->xa_index, node);
	void *entry = node->slots[offset];

	xas->xa_node = node;
	if (xa_is_sibling(entry)) {
		offset = xa_to_sibling(entry);
		entry = node->slots[offset];
	}
	xas->xa_offset = (unsigned char)offset;
	return entry;
}

static inline __attribute__((__always_inline__)) void *__xas_load(struct xa_state *xas)
{
	void *entry = xas_start(xas);

	while (xa_is_node(entry)) {
		struct xa_node *node = xa_to_node(entry);

		if (xas->xa_shift > node->shift)
			break;
		entry = xas_descend(xas, node);
		if (!node->shift)
			break;
	}
	return entry;
}

void *xas_load(struct xa_state *xas)
{
	return __xas_load(xas);
}

/*
 * The walk behind the fast paths of xa_load(), xa_store() and
 * xa_find_after(): from the head down through child nodes only, without an
 * xa_state. Return the node whose slot @index falls in (a leaf, or a higher
 * node whose slot holds an entry or nothing) and that slot's offset; NULL if
 * the head is not a node or @index is beyond the tree.
 */
static inline __attribute__((__always_inline__)) struct xa_node *
xa_walk(const struct xarray *xa, unsigned long index, unsigned int *offsetp)
{
	void *entry = xa->xa_head;
	struct xa_node *node;

	if (!xa_is_node(entry))
		return NULL;
	node = xa_to_node(entry);
	if ((index >> node->shift) > XA_CHUNK_MASK)
		return NULL;
	for (;;) {
		unsigned int offset = get_offset(index, node);

		entry = node->slots[offset];
		/* Most leaf entries fail the first test: the level is asked only of node-looking ones. */
		if (!xa_is_node(entry) || !node->shift) {
			*offsetp = offset;
			return node;
		}
		node = xa_to_node(entry);
	}
}

/* ---- growing and shrinking ----------------------------------------------------------- */

/*
 * Highest index the tree must reach for the entry @xas describes. A
 * multi-index entry cannot live in the head, so one starting at 0 needs
 * room for index "size" too, which forces a node.
 */
static unsigned long xas_max(const struct xa_state *xas)
{
	unsigned long max = xas->xa_index;

	if (xas->xa_shift || xas->xa_sibs) {
		unsigned long mask = xas_size(xas) - 1;

		max |= mask;
		/* (An entry covering every index needs the tallest tree anyway.) */
		if (mask == max && max != ~0UL)
			max++;
	}
	return max;
}

/*
 * Add levels on top until the tree reaches xas_max(). Return the shift of
 * the level above the new top (what xas_create() descends from), or
 * -ENOMEM. An empty array gets no node here (xas_create() builds it),
 * unless the entry may not sit in the head (@allow_root false).
 */
static int xas_expand(struct xa_state *xas, void *head, bool allow_root)
{
	struct xarray *xa = xas->xa;
	struct xa_node *node = NULL;
	unsigned int shift = 0;
	unsigned long max = xas_max(xas);

	if (!head) {
		if (max == 0)
			return allow_root ? 0 : XA_CHUNK_SHIFT;
		while ((max >> shift) >= XA_CHUNK_SIZE)
			shift += XA_CHUNK_SHIFT;
		return (int)(shift + XA_CHUNK_SHIFT);
	}
	if (xa_is_node(head)) {
		node = xa_to_node(head);
		shift = node->shift + XA_CHUNK_SHIFT;
	}
	xas->xa_node = NULL;

	/* A node-looking entry at index 0 needs a leaf: the head cannot tell it. */
	while (max > max_index(head) || (!allow_root && !xa_is_node(head))) {
		node = xas_alloc(xas, shift);
		if (!node)
			return -ENOMEM;
		node->count = 1;
		node->nr_values = xa_is_value(head);
		node->slots[0] = head;
		/* The root's marks describe the old head: they become slot 0's. */
		for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
			if (xa_marked(xa, mark))
				node_set_mark(node, 0, mark);
		if (xa_is_node(head)) {
			xa_to_node(head)->offset = 0;
			xa_to_node(head)->parent = node;
		}
		head = xa_mk_node(node);
		xa->xa_head = head;
		if (xas->xa_update)
			xas->xa_update(node);
		shift += XA_CHUNK_SHIFT;
	}
	xas->xa_node = node;
	return (int)shift;
}

/*
 * Make the slot for the index and order of @xas exist, allocating nodes on
 * the way down. Stops early at an existing entry of a larger order (storing
 * there replaces that entry). Return what the slot holds, or NULL with an
 * error in @xas.
 */
static void *xas_create(struct xa_state *xas, bool allow_root)
{
	struct xarray *xa = xas->xa;
	struct xa_node *node = xas->xa_node;
	int order = xas->xa_shift;
	void **slot;
	void *entry;
	int shift;

	if (xas_top(node)) {
		xas->xa_node = NULL;
		shift = xas_expand(xas, xa->xa_head, allow_root);
		if (shift < 0)
			return NULL;
		entry = xa->xa_head;
		slot = &xa->xa_head;
	} else if (xas_error(xas)) {
		return NULL;
	} else {
		shift = node->shift;
		slot = &node->slots[xas->xa_offset];
		entry = *slot;
	}

	while (shift > order) {
		shift -= XA_CHUNK_SHIFT;
		if (!entry) {
			node = xas_alloc(xas, (unsigned int)shift);
			if (!node)
				break;
			*slot = xa_mk_node(node);
		} else if (xa_is_node(entry)) {
			node = xa_to_node(entry);
		} else {
			break;
		}
		entry = xas_descend(xas, node);
		slot = &node->slots[xas->xa_offset];
	}
	return entry;
}

/*
 * Replace a root node holding only slot 0 by that slot, repeatedly. An entry
 * in slot 0 of a node above the leaves covers more than index 0 and has to
 * stay in its node. Return whether the head changed.
 */
static bool xa_shrink(struct xarray *xa, xa_update_node_t update)
{
	bool changed = false;

	for (;;) {
		struct xa_node *node = xa_to_node(xa->xa_head);
		void *entry = node->slots[0];

		if (node->count != 1 || !entry)
			break;
		/* Only a node or, from a leaf, an entry that is not node-looking. */
		if (xa_is_node(entry) != !!node->shift)
			break;
		xa->xa_head = entry;
		/* A reader still in the old root finds a retry entry and starts again. */
		if (!xa_is_node(entry))
			node->slots[0] = XA_RETRY_ENTRY;
		xa_node_retire(node, update);
		changed = true;
		if (!xa_is_node(entry))
			break;
		xa_to_node(entry)->parent = NULL;
	}
	return changed;
}

/* Free @xas->xa_node if it became empty, and its ancestors likewise; then shrink. */
static void xas_delete_node(struct xa_state *xas)
{
	struct xa_node *node = xas->xa_node;

	while (!node->count) {
		struct xa_node *parent = node->parent;
		unsigned int offset = node->offset;

		xa_node_retire(node, xas->xa_update);
		if (!parent) {
			xas->xa->xa_head = NULL;
			xas->xa_node = XAS_BOUNDS;
			return;
		}
		parent->slots[offset] = NULL;
		parent->count--;
		xas->xa_node = parent;
		xas->xa_offset = (unsigned char)offset;
		node = parent;
		if (xas->xa_update)
			xas->xa_update(node);
	}
	if (!node->parent && xa_shrink(xas->xa, xas->xa_update))
		xas->xa_node = XAS_BOUNDS;
}

static __always_inline void update_node(struct xa_state *xas, struct xa_node *node, int count,
					int values)
{
	if (!node || (!count && !values))
		return;
	node->count = (unsigned char)(node->count + count);
	node->nr_values = (unsigned char)(node->nr_values + values);
	if (xas->xa_update)
		xas->xa_update(node);
	if (count < 0)
		xas_delete_node(xas);
}

/*
 * Remove the nodes left empty below @node in [first, last] (a failed
 * operation's partial path). @base is the first index @node covers.
 * Return whether @node itself is now empty.
 */
static bool xa_prune_node(struct xa_node *node, unsigned long base, unsigned long first,
			  unsigned long last)
{
	unsigned int shift = node->shift;
	unsigned long lo = first > base ? (first - base) >> shift : 0;
	unsigned long hi = (last - base) >> shift;

	if (hi > XA_CHUNK_MASK)
		hi = XA_CHUNK_MASK;
	for (unsigned long o = lo; shift && o <= hi; o++) {
		void *entry = node->slots[o];
		struct xa_node *child;

		if (!xa_is_node(entry))
			continue;
		child = xa_to_node(entry);
		if (!xa_prune_node(child, base + (o << shift), first, last))
			continue;
		node->slots[o] = NULL;
		node->count--;
		xa_node_free(child);
	}
	return node->count == 0;
}

static void xa_prune(struct xarray *xa, unsigned long first, unsigned long last)
{
	void *head = xa->xa_head;

	if (!xa_is_node(head))
		return;
	/* A failed expansion may have stopped short of @first: only shrink then. */
	if (first <= max_index(head) && xa_prune_node(xa_to_node(head), 0, first, last)) {
		xa_node_free(xa_to_node(head));
		xa->xa_head = NULL;
		return;
	}
	xa_shrink(xa, NULL);
}

/* After a final -ENOMEM, take back what the operation of @xas half-built. */
static void xas_prune(struct xa_state *xas)
{
	unsigned long last = xas->xa_index + xas_size(xas) - 1;

	if (last < xas->xa_index)
		last = ~0UL;
	xa_prune(xas->xa, xas->xa_index, last);
}

/*
 * The xas_nomem() protocol: under the lock, nodes come from GFP_NOWAIT; if
 * that fails, allocate one with the caller's @gfp (dropping the lock if it
 * may sleep) and retry. Nodes already added stay, so each round progresses.
 */
static bool __xas_nomem_slow(struct xa_state *xas, gfp_t gfp)
{
	bool ok;

	if (xas->xa_node != XA_ERROR(-ENOMEM)) {
		xas_destroy(xas);
		return false;
	}
	if (gfpflags_allow_blocking(gfp)) {
		xas_unlock(xas);
		ok = xas_alloc_spare(xas, gfp);
		xas_lock(xas);
	} else {
		ok = xas_alloc_spare(xas, gfp);
	}
	if (!ok) {
		xas_prune(xas);
		return false;
	}
	xas->xa_node = XAS_RESTART;
	return true;
}

static inline bool __xas_nomem(struct xa_state *xas, gfp_t gfp)
{
	if (likely(!xas->xa_alloc && xas->xa_node != XA_ERROR(-ENOMEM)))
		return false;
	return __xas_nomem_slow(xas, gfp);
}

bool xas_nomem(struct xa_state *xas, gfp_t gfp)
{
	bool locked;

	if (xas->xa_node != XA_ERROR(-ENOMEM)) {
		xas_destroy(xas);
		return false;
	}
	if (xas_alloc_spare(xas, gfp)) {
		xas->xa_node = XAS_RESTART;
		return true;
	}
	/* Single-threaded: a held lock can only be our caller's. */
	locked = spin_is_locked(&xas->xa->xa_lock);
	if (!locked)
		xas_lock(xas);
	xas_prune(xas);
	if (!locked)
		xas_unlock(xas);
	return false;
}

/* ---- marks on entries ---------------------------------------------------------------- */

bool xas_get_mark(const struct xa_state *xas, xa_mark_t mark)
{
	if (xas_invalid(xas))
		return false;
	if (!xas->xa_node)
		return xa_marked(xas->xa, mark);
	return node_get_mark(xas->xa_node, xas->xa_offset, mark);
}

void xas_set_mark(const struct xa_state *xas, xa_mark_t mark)
{
	struct xa_node *node = xas->xa_node;
	unsigned int offset = xas->xa_offset;

	if (xas_invalid(xas))
		return;
	/* Ancestors already carry the mark once one bit on the way was set. */
	while (node) {
		if (node_set_mark(node, offset, mark))
			return;
		offset = node->offset;
		node = node->parent;
	}
	xa_mark_set(xas->xa, mark);
}

void xas_clear_mark(const struct xa_state *xas, xa_mark_t mark)
{
	struct xa_node *node = xas->xa_node;
	unsigned int offset = xas->xa_offset;

	if (xas_invalid(xas))
		return;
	while (node) {
		if (!node_clear_mark(node, offset, mark))
			return;
		if (node->marks[mark][0])
			return;
		offset = node->offset;
		node = node->parent;
	}
	xa_mark_clear(xas->xa, mark);
}

void xas_init_marks(const struct xa_state *xas)
{
	/*
	 * A slot of a node without a mark: each xas_clear_mark() would stop at
	 * its first test (a page cache's NULL stores, a slot at a time).
	 */
	if (!xas_invalid(xas) && xas->xa_node && !node_any_mark(xas->xa_node, xas->xa_offset))
		return;
	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
		xas_clear_mark(xas, mark);
}

/*
 * Before a multi-slot store, gather the marks of the slots it covers onto
 * its first slot: the new entry keeps whatever any index of it had.
 */
static void xas_squash_marks(const struct xa_state *xas)
{
	struct xa_node *node = xas->xa_node;
	unsigned long sibs = ((1UL << xas->xa_sibs) - 1) << (xas->xa_offset + 1);

	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++) {
		if (!(node->marks[mark][0] & sibs))
			continue;
		node->marks[mark][0] &= ~sibs;
		node->marks[mark][0] |= 1UL << xas->xa_offset;
	}
}

/* ---- storing ------------------------------------------------------------------------- */

/*
 * Last slot a store at @xas->xa_offset rewrites: the slots of its order,
 * plus the trailing siblings of the entry occupying the last of them. An
 * erase thus removes all of a multi-index entry, and a store into part of a
 * bigger entry replaces all of it (Linux rewrites only the first slots
 * there, leaving nr_values stale; the resulting mapping is the same).
 */
static unsigned int xas_store_end(const struct xa_state *xas, const struct xa_node *node)
{
	unsigned int end = xas->xa_offset + xas->xa_sibs;

	while (end < XA_CHUNK_MASK && xa_is_sibling(node->slots[end + 1]))
		end++;
	return end;
}

static void *__xas_store(struct xa_state *xas, void *entry, void *curr)
{
	int count = 0, values = 0, value = xa_is_value(entry);
	void *owner, *fill;
	struct xa_node *node;
	unsigned int end;

	if (xas_invalid(xas))
		return curr;
	node = xas->xa_node;
	if (!node) {
		/* The head: a lone entry at index 0, or the whole tree being erased. */
		xas->xa->xa_head = entry;
		if (xa_is_node(curr))
			xa_free_subtree(xa_to_node(curr), xas->xa_update);
		if (!entry)
			xas_init_marks(xas);
		return curr;
	}
	/* Landed on a bigger entry: replace it through its canonical slot. */
	if (xas->xa_shift < node->shift)
		xas->xa_sibs = 0;
	if (curr == entry && !xas->xa_sibs)
		return curr;

	/* The new entry keeps the marks of everything it covers; NULL keeps none. */
	if (xas->xa_sibs)
		xas_squash_marks(xas);
	/* xas_init_marks()'s own first test, without the call (a NULL store, a slot at a time). */
	if (!entry && node_any_mark(node, xas->xa_offset))
		xas_init_marks(xas);

	end = xas_store_end(xas, node);
	owner = curr;
	fill = entry;
	for (unsigned int offset = xas->xa_offset; offset <= end; offset++) {
		void *old = node->slots[offset];

		if (!xa_is_sibling(old))
			owner = old;
		node->slots[offset] = fill;
		if (slot_is_node(node, old))
			xa_free_subtree(xa_to_node(old), xas->xa_update);
		count += !old - !fill;
		values += value - xa_is_value(owner);
		if (fill && !xa_is_sibling(fill))
			fill = xa_mk_sibling(xas->xa_offset);
	}
	update_node(xas, node, count, values);
	return curr;
}

void *xas_store(struct xa_state *xas, void *entry)
{
	struct xa_node *node;
	unsigned int offset;
	void *curr;

	if (entry)
		return __xas_store(xas, entry, xas_create(xas, !xa_is_node(entry)));
	curr = __xas_load(xas);
	node = xas->xa_node;
	offset = xas->xa_offset;
	/*
	 * NULL over one slot of a leaf holding an entry that no sibling
	 * follows (truncation and erasure, a slot at a time): what the general
	 * path's loop does for that one slot, without the loop.
	 */
	if (curr && xas_valid(xas) && node && !node->shift && !xas->xa_shift && !xas->xa_sibs &&
	    (offset == XA_CHUNK_MASK || !xa_is_sibling(node->slots[offset + 1]))) {
		if (node_any_mark(node, offset))
			xas_init_marks(xas);
		node->slots[offset] = NULL;
		update_node(xas, node, -1, -(int)xa_is_value(curr));
		return curr;
	}
	return __xas_store(xas, NULL, curr);
}

static void *xas_result(const struct xa_state *xas, void *curr)
{
	if (xa_is_zero(curr))
		return NULL;
	if (xas_error(xas))
		return xas->xa_node;
	return curr;
}

void *xa_load(struct xarray *xa, unsigned long index)
{
	struct xa_node *node;
	unsigned int offset;
	void *entry;

	rcu_read_lock();
	node = xa_walk(xa, index, &offset);
	if (node) {
		entry = node->slots[offset];
		if (xa_is_sibling(entry))
			entry = node->slots[xa_to_sibling(entry)];
	} else {
		entry = xa_is_node(xa->xa_head) || index ? NULL : xa->xa_head;
	}
	rcu_read_unlock();
	return xa_is_zero(entry) ? NULL : entry;
}

/* Levels a tree needs for @index: the smallest L with index < XA_CHUNK_SIZE^L, at least 1. */
static unsigned int xa_levels(unsigned long index)
{
	unsigned int levels = 1;

	while (levels * XA_CHUNK_SHIFT < BITS_PER_LONG && (index >> (levels * XA_CHUNK_SHIFT)))
		levels++;
	return levels;
}

/*
 * Levels added on top keep the old tree in slot 0 and @index (which the old
 * tree did not reach) elsewhere, so its whole path below the new top is new;
 * inside the tree, everything below the first empty slot of the path is.
 */
static unsigned int xa_store_nodes_locked(const struct xarray *xa, unsigned long index)
{
	void *entry = xa->xa_head;
	unsigned int levels = xa_levels(index), height = 0;
	struct xa_node *node;

	if (!index && !xa_is_node(entry))
		return 0;
	if (!entry)
		return levels;
	if (xa_is_node(entry))
		height = xa_to_node(entry)->shift / XA_CHUNK_SHIFT + 1u;
	if (levels > height)
		return levels - height + levels - 1;
	for (node = xa_to_node(entry); node->shift; node = xa_to_node(entry)) {
		entry = node->slots[get_offset(index, node)];
		if (!entry)
			return node->shift / XA_CHUNK_SHIFT;
		/* An entry of a larger order is replaced where it is. */
		if (!xa_is_node(entry))
			return 0;
	}
	return 0;
}

unsigned int gs_xa_store_nodes(struct xarray *xa, unsigned long index)
{
	unsigned int nr;

	rcu_read_lock();
	nr = xa_store_nodes_locked(xa, index);
	rcu_read_unlock();
	return nr;
}

/*
 * Walk the path an order-@order store at @index takes, from the top the tree
 * will have down to the node that holds the entry's slot, counting the nodes
 * not there yet. Above the old top the old tree hangs in slot 0: the path
 * goes on into it only where @index's offset is 0.
 */
static unsigned int xa_store_order_nodes_locked(const struct xarray *xa, unsigned long index,
						unsigned int order)
{
	unsigned long mask = order < BITS_PER_LONG ? (1UL << order) - 1 : ~0UL;
	unsigned long max = index | mask;
	unsigned int bottom = order - order % XA_CHUNK_SHIFT, top, nr = 0;
	void *head = xa->xa_head;
	struct xa_node *node = xa_is_node(head) ? xa_to_node(head) : NULL;

	if (order && mask == max && max != ~0UL)
		max++;
	/* Index 0 alone lives in the head, unless the head is a node. */
	if (!max && !node)
		return 0;
	top = (xa_levels(max) - 1) * XA_CHUNK_SHIFT;
	if (node && node->shift > top)
		top = node->shift;
	for (unsigned int shift = top;; shift -= XA_CHUNK_SHIFT) {
		if (node && node->shift == shift) {
			void *next = node->slots[get_offset(index, node)];

			/* An entry of a larger order is replaced where it is. */
			if (next && !slot_is_node(node, next) && shift > bottom)
				return nr;
			node = slot_is_node(node, next) ? xa_to_node(next) : NULL;
		} else {
			nr++;
			if (node && ((index >> shift) & XA_CHUNK_MASK))
				node = NULL;
		}
		if (shift <= bottom)
			return nr;
	}
}

unsigned int gs_xa_store_order_nodes(struct xarray *xa, unsigned long index, unsigned int order)
{
	unsigned int nr;

	rcu_read_lock();
	nr = xa_store_order_nodes_locked(xa, index, order);
	rcu_read_unlock();
	return nr;
}

/*
 * The common store: one index, a non-NULL entry, a leaf already in place and
 * no multi-index entry involved. Return the old entry, or XA_RETRY_ENTRY if
 * the general path (xas_store()) must do it.
 */
static inline void *xa_store_leaf(struct xarray *xa, unsigned long index, void *entry)
{
	unsigned int offset;
	struct xa_node *node = xa_walk(xa, index, &offset);
	void *curr;

	if (!node || node->shift)
		return XA_RETRY_ENTRY;
	curr = node->slots[offset];
	if (xa_is_internal(curr) ||
	    (offset < XA_CHUNK_MASK && xa_is_sibling(node->slots[offset + 1])))
		return XA_RETRY_ENTRY;
	node->slots[offset] = entry;
	node->count += !curr;
	node->nr_values += xa_is_value(entry) - xa_is_value(curr);
	return curr;
}

/* Everything but the fast case: nodes to add, multi-index entries, erasing. */
static __attribute__((__noinline__)) void *xa_store_slow(struct xarray *xa, unsigned long index,
							 void *entry, gfp_t gfp)
{
	XA_STATE(xas, xa, index);
	void *curr;

	do {
		curr = xas_store(&xas, entry);
	} while (__xas_nomem(&xas, gfp));
	return xas_result(&xas, curr);
}

static inline void *xa_store_locked(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	void *curr;

	if (WARN_ON_ONCE(!xa_storable(entry)))
		return XA_ERROR(-EINVAL);
	/* In an allocating array a stored NULL keeps the index taken. */
	if (!entry && (xa->xa_flags & XA_FLAGS_TRACK_FREE))
		entry = XA_ZERO_ENTRY;
	if (likely(entry)) {
		curr = xa_store_leaf(xa, index, entry);
		if (likely(curr != XA_RETRY_ENTRY))
			return curr;
	}
	return xa_store_slow(xa, index, entry, gfp);
}

void *__xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	return xa_store_locked(xa, index, entry, gfp);
}

void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	void *curr;

	xa_lock(xa);
	curr = xa_store_locked(xa, index, entry, gfp);
	xa_unlock(xa);
	return curr;
}

void *__xa_erase(struct xarray *xa, unsigned long index)
{
	XA_STATE(xas, xa, index);

	return xas_result(&xas, xas_store(&xas, NULL));
}

void *xa_erase(struct xarray *xa, unsigned long index)
{
	void *entry;

	xa_lock(xa);
	entry = __xa_erase(xa, index);
	xa_unlock(xa);
	return entry;
}

void *__xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp)
{
	XA_STATE(xas, xa, index);
	void *curr;

	if (WARN_ON_ONCE(!xa_storable(entry)))
		return XA_ERROR(-EINVAL);
	do {
		curr = __xas_load(&xas);
		if (curr == old)
			xas_store(&xas, entry);
	} while (__xas_nomem(&xas, gfp));
	return xas_result(&xas, curr);
}

void *xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp)
{
	void *curr;

	xa_lock(xa);
	curr = __xa_cmpxchg(xa, index, old, entry, gfp);
	xa_unlock(xa);
	return curr;
}

int __xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	XA_STATE(xas, xa, index);

	if (WARN_ON_ONCE(!xa_storable(entry)))
		return -EINVAL;
	/* Inserting NULL reserves the index (xa_reserve()). */
	if (!entry)
		entry = XA_ZERO_ENTRY;
	do {
		if (__xas_load(&xas))
			xas_set_err(&xas, -EBUSY);
		else
			xas_store(&xas, entry);
	} while (__xas_nomem(&xas, gfp));
	return xas_error(&xas);
}

int xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	int err;

	xa_lock(xa);
	err = __xa_insert(xa, index, entry, gfp);
	xa_unlock(xa);
	return err;
}

/* ---- orders and ranges --------------------------------------------------------------- */

void xas_set_order(struct xa_state *xas, unsigned long index, unsigned int order)
{
	xas->xa_index = order < BITS_PER_LONG ? (index >> order) << order : 0;
	xas->xa_shift = (unsigned char)order_shift(order);
	xas->xa_sibs = (unsigned char)((1U << (order % XA_CHUNK_SHIFT)) - 1);
	xas->xa_node = XAS_RESTART;
}

struct xa_state __xa_state_order(struct xarray *xa, unsigned long index, unsigned int order)
{
	XA_STATE(xas, xa, 0);

	xas_set_order(&xas, index, order);
	return xas;
}

int xas_get_order(struct xa_state *xas)
{
	const struct xa_node *node = xas->xa_node;
	unsigned int order = 0;

	if (xas_invalid(xas) || !node)
		return 0;
	/* Siblings of a 2^k-slot entry fill offset+1 .. offset+2^k-1. */
	for (;;) {
		unsigned long slot = xas->xa_offset + (1UL << order);

		if (slot >= XA_CHUNK_SIZE || !xa_is_sibling(node->slots[slot]))
			break;
		order++;
	}
	return (int)(order + node->shift);
}

int xa_get_order(struct xarray *xa, unsigned long index)
{
	XA_STATE(xas, xa, index);
	int order = 0;

	rcu_read_lock();
	if (__xas_load(&xas))
		order = xas_get_order(&xas);
	rcu_read_unlock();
	return order;
}

/*
 * Set @xas to the first piece of a range store: starting at @first, at the
 * highest level @first is aligned to and that [@first, @last] fills at least
 * one slot of, as many whole slots as fit in both the range and the node.
 */
static void xas_set_range(struct xa_state *xas, unsigned long first, unsigned long last)
{
	unsigned long span = last - first, slots;
	unsigned int shift = 0, offset;

	while (shift + XA_CHUNK_SHIFT < BITS_PER_LONG) {
		unsigned long mask = (1UL << (shift + XA_CHUNK_SHIFT)) - 1;

		if ((first & mask) || span < mask)
			break;
		shift += XA_CHUNK_SHIFT;
	}
	/* Whole slots in the range: (span + 1) >> shift, without overflowing. */
	slots = (span >> shift) + ((span & ((1UL << shift) - 1)) == (1UL << shift) - 1);
	offset = (first >> shift) & XA_CHUNK_MASK;
	if (slots > XA_CHUNK_SIZE - offset)
		slots = XA_CHUNK_SIZE - offset;
	xas_set(xas, first);
	xas->xa_shift = (unsigned char)shift;
	xas->xa_sibs = (unsigned char)(slots - 1);
}

/*
 * Store @entry over [first, last] with the lock held. All nodes are created
 * before anything is stored, so a failure changes nothing but the empty
 * nodes, which the caller prunes.
 */
static void xas_store_range(struct xa_state *xas, unsigned long first, unsigned long last,
			    void *entry)
{
	unsigned long index = first;

	if (entry) {
		do {
			xas_set_range(xas, index, last);
			xas_create(xas, !xa_is_node(entry));
			if (xas_error(xas))
				return;
			index += xas_size(xas);
		} while (index && index <= last);
	}
	index = first;
	do {
		xas_set_range(xas, index, last);
		xas_store(xas, entry);
		if (WARN_ON_ONCE(xas_error(xas)))
			return;
		index += xas_size(xas);
	} while (index && index <= last);
}

void *xa_store_range(struct xarray *xa, unsigned long first, unsigned long last, void *entry,
		     gfp_t gfp)
{
	XA_STATE(xas, xa, 0);
	bool retry;

	if (WARN_ON_ONCE(xa_is_internal(entry)) || last < first)
		return XA_ERROR(-EINVAL);
	do {
		xas_lock(&xas);
		xas_store_range(&xas, first, last, entry);
		xas_unlock(&xas);
		retry = xas.xa_node == XA_ERROR(-ENOMEM) && xas_alloc_spare(&xas, gfp);
		if (retry)
			xas.xa_node = XAS_RESTART;
	} while (retry);
	if (xas_error(&xas)) {
		xas_lock(&xas);
		xa_prune(xa, first, last);
		xas_unlock(&xas);
	}
	xas_destroy(&xas);
	return xas_result(&xas, NULL);
}

/* ---- marks, normal API --------------------------------------------------------------- */

void __xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	XA_STATE(xas, xa, index);

	if (__xas_load(&xas))
		xas_set_mark(&xas, mark);
}

void __xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	XA_STATE(xas, xa, index);

	if (__xas_load(&xas))
		xas_clear_mark(&xas, mark);
}

void xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	xa_lock(xa);
	__xa_set_mark(xa, index, mark);
	xa_unlock(xa);
}

void xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	xa_lock(xa);
	__xa_clear_mark(xa, index, mark);
	xa_unlock(xa);
}

bool xa_get_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	XA_STATE(xas, xa, index);
	bool found = false;
	void *entry;

	rcu_read_lock();
	/* Descend only while the path carries the mark. */
	entry = xas_start(&xas);
	while (xas_get_mark(&xas, mark)) {
		if (!xa_is_node(entry) || (xas.xa_node && !xas.xa_node->shift)) {
			found = true;
			break;
		}
		entry = xas_descend(&xas, xa_to_node(entry));
	}
	rcu_read_unlock();
	return found;
}

/* ---- searching ----------------------------------------------------------------------- */

/* Point @xas->xa_index at slot @offset of the node it is in. */
static inline void xas_move_index(struct xa_state *xas, unsigned long offset)
{
	unsigned int shift = xas->xa_node->shift;

	xas->xa_index &= ~XA_CHUNK_MASK << shift;
	xas->xa_index += offset << shift;
}

static inline void xas_advance(struct xa_state *xas)
{
	xas->xa_offset++;
	xas_move_index(xas, xas->xa_offset);
}

/*
 * Step @xas past its slot and the empty and sibling slots after it in the
 * same node, up to the last slot that starts at or before @max, then set the
 * index once: the state ends where xas_advance() one slot at a time would
 * have stopped (at a slot to look at, past @max, or at XA_CHUNK_SIZE), but a
 * skipped slot costs a load and a test instead of a loop turn with the
 * index's arithmetic (sparse arrays and the page cache's multi-index entries).
 */
static inline void xas_skip_empty(struct xa_state *xas, unsigned long max)
{
	const struct xa_node *node = xas->xa_node;
	unsigned long room = (max - xas->xa_index) >> node->shift;
	unsigned int offset = xas->xa_offset + 1U;
	unsigned int end = XA_CHUNK_SIZE;

	/* Slots after this one that start at or before @max (the index is <= @max). */
	if (room < XA_CHUNK_SIZE - offset)
		end = offset + (unsigned int)room;
	/* Runs of empty slots (a sparse array's leaves) four at a time. */
	while (offset + 4 <= end &&
	       !((unsigned long)node->slots[offset] | (unsigned long)node->slots[offset + 1] |
		 (unsigned long)node->slots[offset + 2] | (unsigned long)node->slots[offset + 3]))
		offset += 4;
	while (offset < end) {
		const void *entry = node->slots[offset];

		if (entry && !xa_is_sibling(entry))
			break;
		offset++;
	}
	xas->xa_offset = (unsigned char)offset;
	xas_move_index(xas, offset);
}

void *xas_find(struct xa_state *xas, unsigned long max)
{
	void *entry;

	/* A walk that ran off the end (or a pause past ULONG_MAX) stays ended. */
	if (xas_error(xas) || xas->xa_node == XAS_BOUNDS)
		return NULL;
	if (xas->xa_index > max)
		return set_bounds(xas);

	if (!xas->xa_node) {
		/* The head entry was seen already; it covers index 0 only. */
		xas->xa_index = 1;
		return set_bounds(xas);
	} else if (xas_top(xas->xa_node)) {
		entry = __xas_load(xas);
		if (entry || xas_invalid(xas) || !xas->xa_node)
			return entry;
	} else if (!xas->xa_node->shift && xas->xa_offset != (xas->xa_index & XA_CHUNK_MASK)) {
		/* Paused or moved inside a leaf: continue from the index. */
		xas->xa_offset = (unsigned char)(((xas->xa_index - 1) & XA_CHUNK_MASK) + 1);
	}

	xas_advance(xas);
	while (xas->xa_node && xas->xa_index <= max) {
		if (unlikely(xas->xa_offset == XA_CHUNK_SIZE)) {
			xas->xa_offset = xas->xa_node->offset + 1;
			xas->xa_node = xas->xa_node->parent;
			continue;
		}
		entry = xas->xa_node->slots[xas->xa_offset];
		if (slot_is_node(xas->xa_node, entry)) {
			xas->xa_node = xa_to_node(entry);
			xas->xa_offset = 0;
			continue;
		}
		if (entry && !xa_is_sibling(entry))
			return entry;
		xas_skip_empty(xas, max);
	}
	if (!xas->xa_node)
		xas->xa_node = XAS_BOUNDS;
	return NULL;
}

/* First slot at or after @start in @node with @mark, or XA_CHUNK_SIZE. */
static inline unsigned int node_find_mark(const struct xa_node *node, unsigned int start,
					  xa_mark_t mark)
{
	unsigned long bits;

	if (start >= XA_CHUNK_SIZE)
		return XA_CHUNK_SIZE;
	bits = node->marks[mark][0] & (~0UL << start);
	return bits ? (unsigned int)__builtin_ctzl(bits) : XA_CHUNK_SIZE;
}

void *xas_find_marked(struct xa_state *xas, unsigned long max, xa_mark_t mark)
{
	bool advance = true;
	unsigned int offset;
	void *entry;

	if (xas_error(xas))
		return NULL;
	if (xas->xa_index > max)
		goto max;

	if (!xas->xa_node) {
		xas->xa_index = 1;
		goto out;
	} else if (xas_top(xas->xa_node)) {
		advance = false;
		entry = xas->xa->xa_head;
		xas->xa_node = NULL;
		if (xas->xa_index > max_index(entry))
			goto out;
		if (!xa_is_node(entry)) {
			if (xa_marked(xas->xa, mark))
				return entry;
			xas->xa_index = 1;
			goto out;
		}
		xas->xa_node = xa_to_node(entry);
		xas->xa_offset = (unsigned char)(xas->xa_index >> xas->xa_node->shift);
	}

	while (xas->xa_index <= max) {
		struct xa_node *node = xas->xa_node;

		if (unlikely(xas->xa_offset == XA_CHUNK_SIZE)) {
			xas->xa_offset = node->offset + 1;
			xas->xa_node = node->parent;
			if (!xas->xa_node)
				break;
			advance = false;
			continue;
		}
		if (!advance) {
			/* Inside a multi-index entry: its marks sit on the first slot. */
			entry = node->slots[xas->xa_offset];
			if (xa_is_sibling(entry)) {
				xas->xa_offset = (unsigned char)xa_to_sibling(entry);
				xas_move_index(xas, xas->xa_offset);
			}
		}
		offset = node_find_mark(node, xas->xa_offset + advance, mark);
		if (offset > xas->xa_offset) {
			advance = false;
			xas_move_index(xas, offset);
			/* The index wraps to 0 past the last slot of the top node. */
			if (xas->xa_index - 1 >= max)
				goto max;
			xas->xa_offset = (unsigned char)offset;
			if (offset == XA_CHUNK_SIZE)
				continue;
		}
		entry = node->slots[xas->xa_offset];
		if (!slot_is_node(node, entry))
			return entry;
		xas->xa_node = xa_to_node(entry);
		xas->xa_offset = (unsigned char)get_offset(xas->xa_index, xas->xa_node);
	}
out:
	if (xas->xa_index > max)
		goto max;
	return set_bounds(xas);
max:
	xas->xa_node = XAS_RESTART;
	return NULL;
}

void xas_pause(struct xa_state *xas)
{
	struct xa_node *node = xas->xa_node;

	if (xas_invalid(xas))
		return;
	if (node) {
		unsigned long offset = xas->xa_offset;

		while (++offset < XA_CHUNK_SIZE)
			if (!xa_is_sibling(node->slots[offset]))
				break;
		/* From the slot after the entry, wherever in it the index was. */
		xas_move_index(xas, offset);
		/* Past ULONG_MAX: the walk is over, not back at the start. */
		if (!xas->xa_index) {
			xas->xa_node = XAS_BOUNDS;
			return;
		}
	} else {
		xas->xa_index++;
	}
	xas->xa_node = XAS_RESTART;
}

static inline void *xas_find_filter(struct xa_state *xas, unsigned long max, xa_mark_t filter)
{
	if (filter < XA_MAX_MARKS)
		return xas_find_marked(xas, max, filter);
	return xas_find(xas, max);
}

void *xa_find(struct xarray *xa, unsigned long *indexp, unsigned long max, xa_mark_t filter)
{
	XA_STATE(xas, xa, *indexp);
	void *entry;

	rcu_read_lock();
	/* Reserved entries are not there for the normal API (retries restart). */
	do {
		entry = xas_find_filter(&xas, max, filter);
	} while (xas_retry(&xas, entry));
	rcu_read_unlock();
	/* A marked search reports an entry begun below *indexp at its first index. */
	if (entry && xas.xa_index > *indexp)
		*indexp = xas.xa_index;
	return entry;
}

/* Whether the entry @xas found starts below xas->xa_index (was seen already). */
static inline bool xas_sibling(const struct xa_state *xas)
{
	const struct xa_node *node = xas->xa_node;
	unsigned long mask;

	if (!node)
		return false;
	mask = (XA_CHUNK_SIZE << node->shift) - 1;
	return (xas->xa_index & mask) > ((unsigned long)xas->xa_offset << node->shift);
}

void *xa_find_after(struct xarray *xa, unsigned long *indexp, unsigned long max, xa_mark_t filter)
{
	unsigned long start = *indexp + 1;
	XA_STATE(xas, xa, start);
	void *entry;

	if (!start)
		return NULL;
	rcu_read_lock();
	/* Dense iteration: an entry starting right at @start in a leaf. */
	if (filter == XA_PRESENT && start <= max) {
		unsigned int offset;
		struct xa_node *node = xa_walk(xa, start, &offset);

		entry = node ? node->slots[offset] : NULL;
		if (node && !node->shift && entry && !xa_is_internal(entry)) {
			rcu_read_unlock();
			*indexp = start;
			return entry;
		}
		/*
		 * Nothing at @start, or a sibling (its entry covers *indexp): the
		 * search goes on from that slot, where a walk from the head would
		 * first stop, instead of walking down again.
		 */
		if (node && (!entry || xa_is_sibling(entry))) {
			xas.xa_node = node;
			xas.xa_offset = (unsigned char)offset;
		}
	}
	/* Skip the entry that covers *indexp, however the search reports it. */
	for (;;) {
		entry = xas_find_filter(&xas, max, filter);
		if (xas_invalid(&xas))
			break;
		if (xas.xa_index < start || xas_sibling(&xas))
			continue;
		if (!xas_retry(&xas, entry))
			break;
	}
	rcu_read_unlock();
	if (entry)
		*indexp = xas.xa_index;
	return entry;
}

void xa_destroy(struct xarray *xa)
{
	void *head;

	xa_lock(xa);
	head = xa->xa_head;
	xa->xa_head = NULL;
	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
		xa_mark_clear(xa, mark);
	if (xa_is_node(head))
		xa_free_subtree(xa_to_node(head), NULL);
	xa_unlock(xa);
}

/* ---- splitting ----------------------------------------------------------------------- */

/* Mark bits of the first slot of every @sibs+1-slot entry in a node. */
static inline unsigned long canonical_mask(unsigned int sibs)
{
	unsigned long mask = 0;

	for (unsigned long i = 0; i < XA_CHUNK_SIZE; i += sibs + 1UL)
		mask |= 1UL << i;
	return mask;
}

/* Fill a leaf with @entry as entries of @sibs + 1 slots each. */
static void xa_fill_leaf(struct xa_node *node, void *entry, unsigned int sibs)
{
	if (!sibs) {
		/* The 1 GiB split fills 4096 of these: let the stores go wide. */
#pragma GCC unroll 8
		for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
			node->slots[i] = entry;
		return;
	}
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i += sibs + 1) {
		node->slots[i] = entry;
		for (unsigned int j = 1; j <= sibs; j++)
			node->slots[i + j] = xa_mk_sibling(i);
	}
}

/*
 * Build, off the lock, a full subtree whose root is at @shift and whose
 * leaves (at the level of @xas) hold @entry in the sibling pattern of @xas.
 * Marks stay clear: xas_split() copies them under the lock.
 */
static struct xa_node *xas_build_split(struct xa_state *xas, unsigned int shift, void *entry,
				       gfp_t gfp)
{
	struct xa_node *node = xa_node_alloc(xas->xa, GS_SITE_XARRAY_SPLIT, gfp);

	if (!node)
		return NULL;
	node->shift = (unsigned char)shift;
	node->offset = 0;
	node->count = XA_CHUNK_SIZE;
	node->parent = NULL;
	node->array = xas->xa;
	memset(node->marks, 0, sizeof(node->marks));
	if (shift == xas->xa_shift) {
		node->nr_values = xa_is_value(entry) ? XA_CHUNK_SIZE : 0;
		xa_fill_leaf(node, entry, xas->xa_sibs);
		return node;
	}
	node->nr_values = 0;
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++) {
		struct xa_node *child = xas_build_split(xas, shift - XA_CHUNK_SHIFT, entry, gfp);

		if (!child) {
			memset(&node->slots[i], 0, (XA_CHUNK_SIZE - i) * sizeof(void *));
			xa_free_subtree_now(node);
			return NULL;
		}
		child->parent = node;
		child->offset = (unsigned char)i;
		node->slots[i] = xa_mk_node(child);
	}
	return node;
}

void xas_split_alloc(struct xa_state *xas, void *entry, unsigned int order, gfp_t gfp)
{
	unsigned int top = order_shift(order);
	unsigned int nr = 1U << (order % XA_CHUNK_SHIFT);

	if (xas_error(xas))
		return;
	if (WARN_ON_ONCE(xa_is_internal(entry) || order >= BITS_PER_LONG ||
			 xas_order(xas) >= order)) {
		xas_set_err(xas, -EINVAL);
		return;
	}
	/* Splitting inside the entry's own node needs no new node. */
	if (xas->xa_shift >= top)
		return;
	while (nr--) {
		struct xa_node *node = xas_build_split(xas, top - XA_CHUNK_SHIFT, entry, gfp);

		if (!node) {
			xas_destroy(xas);
			xas_set_err(xas, -ENOMEM);
			return;
		}
		node->parent = xas->xa_alloc;
		xas->xa_alloc = node;
	}
}

/* Set @marks on every entry of a prebuilt subtree, and on the slots leading to them. */
static void xa_mark_subtree(struct xa_node *node, unsigned int marks, unsigned long leaf_mask,
			    unsigned int leaf_shift)
{
	unsigned long mask = node->shift == leaf_shift ? leaf_mask : ~0UL >> (64 - XA_CHUNK_SIZE);

	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
		if (marks & (1U << mark))
			node->marks[mark][0] = mask;
	if (node->shift == leaf_shift)
		return;
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
		xa_mark_subtree(xa_to_node(node->slots[i]), marks, leaf_mask, leaf_shift);
}

static void node_set_marks(struct xa_node *node, unsigned int offset, unsigned int marks)
{
	for (xa_mark_t mark = 0; mark <= XA_MARK_MAX; mark++)
		if (marks & (1U << mark))
			node_set_mark(node, offset, mark);
}

/*
 * Split inside @node: the @sibs + 1 slots of the old entry become entries of
 * @xas->xa_sibs + 1 slots each, all holding @entry and the old marks.
 */
static void xas_split_in_node(struct xa_state *xas, struct xa_node *node, void *curr, void *entry,
			      unsigned int sibs, unsigned int marks)
{
	unsigned int first = xas->xa_offset, step = xas->xa_sibs + 1U;

	for (unsigned int canon = first; canon <= first + sibs; canon += step) {
		node->slots[canon] = entry;
		node_set_marks(node, canon, marks);
		for (unsigned int j = 1; j < step; j++)
			node->slots[canon + j] = xa_mk_sibling(canon);
	}
	node->nr_values = (unsigned char)(node->nr_values +
					  ((int)xa_is_value(entry) - (int)xa_is_value(curr)) *
						  (int)(sibs + 1));
}

/* Whether @xas holds @nr prebuilt subtrees rooted at @shift. */
static bool xas_has_split_nodes(const struct xa_state *xas, unsigned int nr, unsigned int shift)
{
	const struct xa_node *node = xas->xa_alloc;

	for (; nr; nr--, node = node->parent)
		if (!node || node->count != XA_CHUNK_SIZE || node->shift != shift)
			return false;
	return true;
}

void xas_split(struct xa_state *xas, void *entry, unsigned int order)
{
	unsigned int sibs = (1U << (order % XA_CHUNK_SHIFT)) - 1;
	void *curr = __xas_load(xas);
	struct xa_node *node = xas->xa_node;
	unsigned int marks, shift;

	if (xas_invalid(xas) || !node)
		return;
	marks = node_get_marks(node, xas->xa_offset);
	if (xas->xa_shift >= node->shift) {
		xas_split_in_node(xas, node, curr, entry, sibs, marks);
		return;
	}
	shift = node->shift - XA_CHUNK_SHIFT;
	if (WARN_ON_ONCE(!xas_has_split_nodes(xas, sibs + 1, shift))) {
		xas_set_err(xas, -ENOMEM);
		return;
	}
	for (unsigned int offset = xas->xa_offset; offset <= xas->xa_offset + sibs; offset++) {
		struct xa_node *child = xas->xa_alloc;

		xas->xa_alloc = child->parent;
		child->parent = node;
		child->offset = (unsigned char)offset;
		node->slots[offset] = xa_mk_node(child);
		if (marks) {
			node_set_marks(node, offset, marks);
			xa_mark_subtree(child, marks, canonical_mask(xas->xa_sibs), xas->xa_shift);
		}
	}
	if (xa_is_value(curr))
		node->nr_values = (unsigned char)(node->nr_values - (sibs + 1));
}

/*
 * What gs_xas_split_store() stores: @fn's entry per index, or (no @fn) the
 * element of an array at @first for @index, @size bytes apart: the pieces'
 * struct pages, without a call per entry (262,144 for 1 GiB to 4 KiB).
 */
struct split_entries {
	gs_xa_entry_fn fn;
	void *arg;
	char *first;
	unsigned long index;
	size_t size;
};

/* Two slots as one value (GCC's vector extension: one SSE2 store). */
typedef uintptr_t split_pair __attribute__((vector_size(2 * sizeof(uintptr_t))));

/*
 * @slots[0, @nr) = @entry, @entry + @stride, ...: every slot of a leaf of
 * order-0 pieces (a 2 MiB page split to 4 KiB fills eight), four slots a
 * turn in two stores of two.
 */
static void split_fill_seq(void **slots, unsigned int nr, uintptr_t entry, uintptr_t stride)
{
	const split_pair step = {4 * stride, 4 * stride};
	split_pair a = {entry, entry + stride}, b = {entry + 2 * stride, entry + 3 * stride};
	unsigned int i = 0;

	for (; i + 4 <= nr; i += 4, entry += 4 * stride, a += step, b += step) {
		memcpy(&slots[i], &a, sizeof(a));
		memcpy(&slots[i + 2], &b, sizeof(b));
	}
	for (; i < nr; i++, entry += stride)
		slots[i] = (void *)entry;
}

/* The entries at @base + (i << @shift) into @slots[@from + i], i < @nr by @step. */
static void split_fill(void **slots, unsigned int from, unsigned int nr, unsigned int step,
		       unsigned long base, unsigned int shift, const struct split_entries *e)
{
	if (!e->fn) {
		/* As integers: the step after the last entry may point past the array. */
		uintptr_t entry = (uintptr_t)e->first + (base - e->index) * e->size;
		uintptr_t stride = ((uintptr_t)step << shift) * e->size;

		if (step == 1) {
			split_fill_seq(slots + from, nr, entry, stride);
			return;
		}
		for (unsigned int i = 0; i < nr; i += step, entry += stride)
			slots[from + i] = (void *)entry;
		return;
	}
	for (unsigned int i = 0; i < nr; i += step)
		slots[from + i] = e->fn(base + ((unsigned long)i << shift), e->arg);
}

/* Store the entries in the canonical slots of a subtree, whose first index is @base. */
static void xa_store_subtree(struct xa_node *node, unsigned long base, unsigned int leaf_shift,
			     unsigned int step, const struct split_entries *e)
{
	if (node->shift == leaf_shift) {
		split_fill(node->slots, 0, XA_CHUNK_SIZE, step, base, node->shift, e);
		return;
	}
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
		xa_store_subtree(xa_to_node(node->slots[i]),
				 base + ((unsigned long)i << node->shift), leaf_shift, step, e);
}

static void xas_split_store_entries(struct xa_state *xas, unsigned int order,
				    const struct split_entries *e)
{
	unsigned int sibs = (1U << (order % XA_CHUNK_SHIFT)) - 1, step = xas->xa_sibs + 1U;
	struct xa_node *node = xas->xa_node;
	unsigned long base;

	if (xas_invalid(xas) || !node)
		return;
	/* The first index of the node's slot xa_offset, which the split started at. */
	base = (xas->xa_index & ~((1UL << (node->shift + XA_CHUNK_SHIFT)) - 1)) +
	       ((unsigned long)xas->xa_offset << node->shift);
	if (xas->xa_shift >= node->shift) {
		split_fill(node->slots, xas->xa_offset, sibs + 1, step, base, node->shift, e);
		return;
	}
	for (unsigned int i = 0; i <= sibs; i++)
		xa_store_subtree(xa_to_node(node->slots[xas->xa_offset + i]),
				 base + ((unsigned long)i << node->shift), xas->xa_shift, step, e);
}

void gs_xas_split_store(struct xa_state *xas, unsigned int order, gs_xa_entry_fn fn, void *arg)
{
	const struct split_entries e = {.fn = fn, .arg = arg};

	xas_split_store_entries(xas, order, &e);
}

void gs_xas_split_store_seq(struct xa_state *xas, unsigned int order, void *first,
			    unsigned long index, size_t size)
{
	const struct split_entries e = {.first = first, .index = index, .size = size};

	xas_split_store_entries(xas, order, &e);
}

unsigned int xas_try_split_min_order(unsigned int order)
{
	if (order % XA_CHUNK_SHIFT == 0)
		return order ? order - 1 : 0;
	return order - order % XA_CHUNK_SHIFT;
}

void xas_try_split(struct xa_state *xas, void *entry, unsigned int order)
{
	unsigned int sibs = (1U << (order % XA_CHUNK_SHIFT)) - 1;
	void *curr = __xas_load(xas);
	struct xa_node *node = xas->xa_node;
	struct xa_node *child;
	unsigned int marks, halves;

	if (xas_invalid(xas) || !node)
		return;
	marks = node_get_marks(node, xas->xa_offset);
	if (xas->xa_shift >= node->shift) {
		xas_split_in_node(xas, node, curr, entry, sibs, marks);
		return;
	}
	/* One new node may only take a one-slot entry, cut in two halves. */
	halves = (1U << ((order - 1) % XA_CHUNK_SHIFT)) - 1;
	if (sibs || xas->xa_sibs != halves || xas->xa_shift + XA_CHUNK_SHIFT != node->shift) {
		xas_destroy(xas);
		xas_set_err(xas, -EINVAL);
		return;
	}
	child = xas->xa_alloc;
	if (child && !child->count) {
		xas->xa_alloc = child->parent;
	} else {
		child = xa_node_alloc(xas->xa, GS_SITE_XARRAY_NODE, GFP_NOWAIT);
		if (!child) {
			xas_destroy(xas);
			xas_set_err(xas, -ENOMEM);
			return;
		}
	}
	child->shift = xas->xa_shift;
	child->offset = xas->xa_offset;
	child->count = XA_CHUNK_SIZE;
	child->nr_values = xa_is_value(entry) ? XA_CHUNK_SIZE : 0;
	child->parent = node;
	child->array = xas->xa;
	xa_fill_leaf(child, entry, xas->xa_sibs);
	memset(child->marks, 0, sizeof(child->marks));
	if (marks)
		xa_mark_subtree(child, marks, canonical_mask(xas->xa_sibs), child->shift);
	node->slots[xas->xa_offset] = xa_mk_node(child);
	if (xa_is_value(curr))
		node->nr_values--;
}

/* ---- introspection ------------------------------------------------------------------- */

unsigned int xa_chunk_shift(void)
{
	return XA_CHUNK_SHIFT;
}

size_t xa_node_size(void)
{
	return sizeof(struct xa_node);
}

static unsigned long xa_count_nodes(const struct xa_node *node)
{
	unsigned long n = 1;

	if (node->shift)
		for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
			if (xa_is_node(node->slots[i]))
				n += xa_count_nodes(xa_to_node(node->slots[i]));
	return n;
}

unsigned long xa_nr_nodes(struct xarray *xa)
{
	unsigned long n = 0;

	rcu_read_lock();
	if (xa_is_node(xa->xa_head))
		n = xa_count_nodes(xa_to_node(xa->xa_head));
	rcu_read_unlock();
	return n;
}

static void xa_dump_entry(FILE *f, const void *entry, unsigned long first, unsigned long last,
			  unsigned int marks, unsigned int depth)
{
	fprintf(f, "%*s%lu-%lu: ", (int)depth * 2, "", first, last);
	if (xa_is_value(entry))
		fprintf(f, "value %lu", xa_to_value(entry));
	else if (xa_is_sibling(entry))
		fprintf(f, "sibling of slot %u", xa_to_sibling(entry));
	else if (xa_is_internal(entry) && !xa_is_node(entry))
		fprintf(f, "internal %lu", xa_to_internal(entry));
	else
		fprintf(f, "pointer %p", entry);
	if (marks)
		fprintf(f, " marks %u%u%u", marks & 1, (marks >> 1) & 1, (marks >> 2) & 1);
	fputc('\n', f);
}

static void xa_dump_node(FILE *f, const struct xa_node *node, unsigned long base,
			 unsigned int depth)
{
	unsigned long span = 1UL << node->shift;

	fprintf(f,
		"%*s%lu-%lu: node %p shift %u offset %u count %u values %u parent %p "
		"marks %lx %lx %lx\n",
		(int)depth * 2, "", base, base + (span << XA_CHUNK_SHIFT) - 1, (const void *)node,
		node->shift, node->offset, node->count, node->nr_values, (const void *)node->parent,
		node->marks[0][0], node->marks[1][0], node->marks[2][0]);
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++) {
		const void *entry = node->slots[i];
		unsigned long first = base + i * span;

		if (!entry)
			continue;
		if (slot_is_node(node, entry))
			xa_dump_node(f, xa_to_node(entry), first, depth + 1);
		else
			xa_dump_entry(f, entry, first, first + span - 1, node_get_marks(node, i),
				      depth + 1);
	}
}

void xa_dump(FILE *f, const struct xarray *xa)
{
	const void *head = xa->xa_head;

	if (!f)
		f = stderr;
	fprintf(f, "xarray %p head %p flags %x marks %d %d %d (chunk shift %d)\n", (const void *)xa,
		head, xa->xa_flags, xa_marked(xa, 0), xa_marked(xa, 1), xa_marked(xa, 2),
		XA_CHUNK_SHIFT);
	if (xa_is_node(head))
		xa_dump_node(f, xa_to_node(head), 0, 1);
	else if (head)
		xa_dump_entry(f, head, 0, 0, 0, 1);
}

#define XA_INVALID(f, node, fmt, ...)                                                      \
	({                                                                                 \
		if (f)                                                                     \
			fprintf(f, "xa_validate: node %p (shift %u offset %u): " fmt "\n", \
				(const void *)(node), (node)->shift, (node)->offset,       \
				##__VA_ARGS__);                                            \
		-EUCLEAN;                                                                  \
	})

/* The slots of @node: entries, siblings, children, counts and marks. */
static int xa_validate_slots(const struct xa_node *node, FILE *f, unsigned int *marks_out)
{
	unsigned int count = 0, values = 0, canon = 0;
	const void *canon_entry = NULL;
	unsigned long any[XA_MAX_MARKS] = {0};

	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++) {
		const void *entry = node->slots[i];
		unsigned int marks = node_get_marks(node, i);

		if (!entry) {
			if (marks)
				return XA_INVALID(f, node, "slot %u is NULL but marked", i);
			canon_entry = NULL;
			continue;
		}
		count++;
		if (xa_is_sibling(entry)) {
			if (!canon_entry || xa_to_sibling(entry) != canon)
				return XA_INVALID(f, node, "slot %u: stray sibling of %u", i,
						  xa_to_sibling(entry));
			if (marks)
				return XA_INVALID(f, node, "sibling slot %u is marked", i);
			values += xa_is_value(canon_entry);
			continue;
		}
		canon = i;
		canon_entry = entry;
		if (slot_is_node(node, entry)) {
			const struct xa_node *child = xa_to_node(entry);
			unsigned int child_marks = 0;

			canon_entry = NULL;
			if (child->parent != node || child->offset != i ||
			    child->shift + XA_CHUNK_SHIFT != node->shift)
				return XA_INVALID(f, child, "bad link under slot %u of %p", i,
						  (const void *)node);
			for (xa_mark_t m = 0; m <= XA_MARK_MAX; m++)
				if (child->marks[m][0])
					child_marks |= 1U << m;
			if (child_marks != marks)
				return XA_INVALID(f, node, "slot %u marks %x, child has %x", i,
						  marks, child_marks);
			continue;
		}
		if (xa_is_internal(entry) && !xa_is_node(entry))
			return XA_INVALID(f, node, "slot %u holds internal entry %lu", i,
					  xa_to_internal(entry));
		values += xa_is_value(entry);
	}
	if (count != node->count)
		return XA_INVALID(f, node, "count %u, %u slots used", node->count, count);
	if (values != node->nr_values)
		return XA_INVALID(f, node, "nr_values %u, %u value slots", node->nr_values, values);
	if (!count)
		return XA_INVALID(f, node, "empty node");
	for (xa_mark_t m = 0; m <= XA_MARK_MAX; m++) {
		any[m] = node->marks[m][0];
		if (any[m] >> (XA_CHUNK_SIZE - 1) >> 1)
			return XA_INVALID(f, node, "mark %u beyond the last slot", m);
		if (any[m])
			*marks_out |= 1U << m;
	}
	return 0;
}

static int xa_validate_node(const struct xarray *xa, const struct xa_node *node, FILE *f)
{
	unsigned int marks = 0;
	int err;

	if (node->array != xa)
		return XA_INVALID(f, node, "belongs to array %p", (const void *)node->array);
	if (node->shift % XA_CHUNK_SHIFT || node->shift >= BITS_PER_LONG)
		return XA_INVALID(f, node, "bad shift");
	err = xa_validate_slots(node, f, &marks);
	if (err)
		return err;
	for (unsigned int i = 0; node->shift && i < XA_CHUNK_SIZE; i++) {
		if (!xa_is_node(node->slots[i]))
			continue;
		err = xa_validate_node(xa, xa_to_node(node->slots[i]), f);
		if (err)
			return err;
	}
	return 0;
}

int xa_validate(const struct xarray *xa, FILE *f)
{
	const void *head = xa->xa_head;
	const struct xa_node *root;

	if (!xa_is_node(head)) {
		if (xa_is_internal(head)) {
			if (f)
				fprintf(f, "xa_validate: head is internal entry %p\n", head);
			return -EUCLEAN;
		}
		if (!head &&
		    (xa->xa_flags & (XA_FLAGS_MARK(0) | XA_FLAGS_MARK(1) | XA_FLAGS_MARK(2)))) {
			if (f)
				fprintf(f, "xa_validate: empty array is marked\n");
			return -EUCLEAN;
		}
		return 0;
	}
	root = xa_to_node(head);
	if (root->parent)
		return XA_INVALID(f, root, "root has a parent");
	for (xa_mark_t m = 0; m <= XA_MARK_MAX; m++)
		if (!!root->marks[m][0] != xa_marked(xa, m))
			return XA_INVALID(f, root, "root mark %u disagrees with the array flag", m);
	return xa_validate_node(xa, root, f);
}

/* ---- structure for renders ----------------------------------------------------------- */

/* One character per slot: what xa_dump() would print for it, by kind. */
static char slot_kind(const struct xa_node *node, const void *entry)
{
	if (!entry)
		return '.';
	if (slot_is_node(node, entry))
		return 'n';
	if (xa_is_sibling(entry))
		return 's';
	if (xa_is_value(entry))
		return 'v';
	if (xa_is_internal(entry) && !xa_is_node(entry))
		return 'r';
	return 'p';
}

/* @node and its subtree in preorder, each node numbered by @next (no addresses). */
static void xa_state_node(struct gs_state *st, const char *path, const struct xa_node *node,
			  unsigned long first, unsigned int parent, unsigned int *next)
{
	unsigned int id = (*next)++;
	unsigned long span = 1UL << node->shift;
	char p[200], slots[XA_CHUNK_SIZE + 1];

	snprintf(p, sizeof(p), "%s/%u", path, id);
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
		slots[i] = slot_kind(node, node->slots[i]);
	slots[XA_CHUNK_SIZE] = '\0';
	gs_state_add(st, p, "first", "0x%lx", first);
	gs_state_add(st, p, "last", "0x%lx", first + (span << XA_CHUNK_SHIFT) - 1);
	gs_state_add_u64(st, p, "shift", node->shift);
	gs_state_add_u64(st, p, "offset", node->offset);
	gs_state_add_u64(st, p, "count", node->count);
	gs_state_add_u64(st, p, "values", node->nr_values);
	gs_state_add(st, p, "parent", "%d", id ? (int)parent : -1);
	gs_state_add(st, p, "slots", "%s", slots);
	for (unsigned int i = 0; i < XA_CHUNK_SIZE; i++)
		if (slot_is_node(node, node->slots[i]))
			xa_state_node(st, path, xa_to_node(node->slots[i]), first + i * span, id,
				      next);
}

void gs_xa_dump_state(struct gs_state *st, const char *path, const struct xarray *xa)
{
	const void *head = xa->xa_head;
	unsigned int next = 0;

	gs_state_add(st, path, "flags", "0x%x", xa->xa_flags);
	gs_state_add_u64(st, path, "chunk_shift", XA_CHUNK_SHIFT);
	gs_state_add(st, path, "head", "%s", !head ? "empty" : xa_is_node(head) ? "node" : "entry");
	if (xa_is_node(head))
		xa_state_node(st, path, xa_to_node(head), 0, 0, &next);
}

/* ---- moving one index at a time, conflicts, ranges ----------------------------------- */

void *xas_reload(struct xa_state *xas)
{
	if (xas_invalid(xas))
		return NULL;
	return __xas_reload(xas);
}

/* A state that names a place: not the head, not restart, bounds or an error. */
static inline bool xas_at_node(const struct xa_state *xas)
{
	return xas_valid(xas) && xas->xa_node;
}

/*
 * From a slot, down the children at @xas->xa_index until an entry that is not
 * a node; sibling entries are returned as they are, as the kernel's walk does.
 */
static void *xas_step_down(struct xa_state *xas)
{
	for (;;) {
		void *entry = xas->xa_node->slots[xas->xa_offset];

		if (!slot_is_node(xas->xa_node, entry))
			return entry;
		xas->xa_node = xa_to_node(entry);
		xas->xa_offset = (unsigned char)get_offset(xas->xa_index, xas->xa_node);
	}
}

/*
 * One index on (@dir 1) or back (@dir -1). A state that was never walked (or
 * was restarted) loads its own index first without moving; from the head or
 * past either end of the tree the state goes out of bounds; a state out of
 * bounds moves and loads again.
 */
static void *xas_move(struct xa_state *xas, int dir)
{
	struct xa_node *node = xas->xa_node;
	unsigned char edge = dir > 0 ? XA_CHUNK_MASK : 0;

	if (xas_error(xas))
		return NULL;
	if (xas_at_node(xas) && !node->shift && xas->xa_offset != edge) {
		xas->xa_index += dir;
		xas->xa_offset += dir;
		return node->slots[xas->xa_offset];
	}
	if (node != XAS_RESTART)
		xas->xa_index += dir;
	if (!node)
		return set_bounds(xas);
	if (!xas_at_node(xas))
		return xas_load(xas);
	if (xas->xa_offset != get_offset(xas->xa_index, node))
		xas->xa_offset += dir;
	/* Off this node's edge: up to the parent's next (or previous) slot. */
	while (xas->xa_offset == (dir > 0 ? XA_CHUNK_SIZE : 255)) {
		xas->xa_offset = (unsigned char)(xas->xa_node->offset + dir);
		xas->xa_node = xas->xa_node->parent;
		if (!xas->xa_node)
			return set_bounds(xas);
	}
	return xas_step_down(xas);
}

void *__xas_next(struct xa_state *xas)
{
	return xas_move(xas, 1);
}

void *xas_prev(struct xa_state *xas)
{
	return xas_move(xas, -1);
}

/* The last index of the entry @xas found (its first is at or below xa_index). */
static unsigned long xas_entry_last(struct xa_state *xas)
{
	unsigned int order = (unsigned int)xas_get_order(xas);

	if (order >= BITS_PER_LONG)
		return ~0UL;
	return xas->xa_index | ((1UL << order) - 1);
}

/* The first index slot @offset of @node covers. */
static unsigned long xa_slot_index(const struct xa_node *node, unsigned int offset)
{
	unsigned long index = (unsigned long)offset << node->shift;

	for (; node->parent; node = node->parent)
		index += (unsigned long)node->offset << node->parent->shift;
	return index;
}

/* The index after the entry at @xas's slot (with its siblings); 0 past ULONG_MAX. */
static unsigned long xas_after_slot(const struct xa_state *xas)
{
	const struct xa_node *node = xas->xa_node;
	unsigned int end = xas->xa_offset + 1;

	while (end < XA_CHUNK_SIZE && xa_is_sibling(node->slots[end]))
		end++;
	if (end < XA_CHUNK_SIZE)
		return xa_slot_index(node, end);
	/* Past the node; one whose span reaches ULONG_MAX is the root: nothing follows. */
	if (node->shift + XA_CHUNK_SHIFT >= BITS_PER_LONG)
		return 0;
	return xa_slot_index(node, 0) + (XA_CHUNK_SIZE << node->shift);
}

/*
 * The conflict walk keeps its place in the state: the node and slot of the
 * entry it returned last (the head's entry: xa_node NULL). Its range is the
 * state's index and order, which it leaves untouched; when it ends the state
 * restarts, so the xas_store() that follows walks to the slot afresh.
 */
void *xas_find_conflict(struct xa_state *xas)
{
	unsigned long first = xas->xa_index, last = first + xas_size(xas) - 1;
	struct xa_state walk = *xas;
	void *entry;

	if (xas_error(xas))
		return NULL;
	if (!xas->xa_node)
		goto done;
	walk.xa_index = first;
	if (xas_at_node(xas)) {
		walk.xa_index = xas_after_slot(xas);
		if (!walk.xa_index || walk.xa_index > last)
			goto done;
	}
	walk.xa_shift = 0;
	walk.xa_sibs = 0;
	walk.xa_node = XAS_RESTART;
	walk.xa_alloc = NULL;
	entry = xas_find(&walk, last);
	if (!entry)
		goto done;
	xas->xa_node = walk.xa_node;
	xas->xa_offset = walk.xa_offset;
	return entry;
done:
	xas->xa_node = XAS_RESTART;
	return NULL;
}

void xas_create_range(struct xa_state *xas)
{
	unsigned long first = xas->xa_index, last = first + xas_size(xas) - 1;
	unsigned char shift = xas->xa_shift, sibs = xas->xa_sibs;
	unsigned long chunk = first & ~XA_CHUNK_MASK;

	if (xas_error(xas))
		return;
	/* One leaf per XA_CHUNK_SIZE indices; an entry already there stops its path. */
	for (;;) {
		xas->xa_index = chunk > first ? chunk : first;
		xas->xa_shift = 0;
		xas->xa_sibs = 0;
		xas->xa_node = XAS_RESTART;
		xas_create(xas, true);
		if (xas_error(xas)) {
			xa_prune(xas->xa, first, last);
			xas->xa_index = first;
			xas->xa_shift = shift;
			xas->xa_sibs = sibs;
			return;
		}
		if (last - chunk < XA_CHUNK_SIZE)
			break;
		chunk += XA_CHUNK_SIZE;
	}
	xas->xa_index = first;
	xas->xa_node = XAS_RESTART;
	__xas_load(xas);
}

void xas_set_update(struct xa_state *xas, xa_update_node_t update)
{
	xas->xa_update = update;
}

void xa_delete_node(struct xa_node *node, xa_update_node_t update)
{
	struct xa_node *parent = node->parent;
	XA_STATE(xas, node->array, 0);

	xas.xa_update = update;
	if (!parent) {
		/* The root: the whole tree goes, as one entry above the root's level. */
		xas.xa_shift = (unsigned char)(node->shift + XA_CHUNK_SHIFT);
		xas.xa_node = NULL;
		xas_store(&xas, NULL);
		return;
	}
	/* The parent's slot for @node, as an entry of the parent's level. */
	xas.xa_index = xa_slot_index(parent, node->offset);
	xas.xa_shift = (unsigned char)parent->shift;
	xas.xa_node = parent;
	xas.xa_offset = node->offset;
	xas_store(&xas, NULL);
}

/* ---- allocating indices (XA_FLAGS_ALLOC arrays) ---------------------------------------- */

/*
 * The first free index in [@min, @max] from @xas's index on: free is empty,
 * not reserved, and not index 0 of an XA_FLAGS_ALLOC1 array. Each step skips
 * one entry, so the walk is as long as the run of used indices it crosses.
 * Return 0 with the index in @xas, or -EBUSY.
 */
static int xas_find_free(struct xa_state *xas, unsigned long min, unsigned long max)
{
	unsigned long index = min;

	if (!index && (xas->xa->xa_flags & XA_FLAGS_ZERO_BUSY))
		index = 1;
	while (index <= max) {
		XA_STATE(walk, xas->xa, index);
		void *entry = xas_find(&walk, max);
		unsigned long last;

		if (!entry || walk.xa_index > index)
			break;
		last = walk.xa_node ? xas_entry_last(&walk) : 0;
		if (last >= max)
			return -EBUSY;
		index = last + 1;
	}
	if (index > max)
		return -EBUSY;
	xas_set(xas, index);
	return 0;
}

int __xa_alloc(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit, gfp_t gfp)
{
	XA_STATE(xas, xa, 0);

	if (WARN_ON_ONCE(!xa_storable(entry)) ||
	    WARN_ON_ONCE(!(xa->xa_flags & XA_FLAGS_TRACK_FREE)))
		return -EINVAL;
	if (limit.min > limit.max)
		return -EBUSY;
	if (!entry)
		entry = XA_ZERO_ENTRY;
	do {
		int err = xas_find_free(&xas, limit.min, limit.max);

		if (err)
			return err;
		xas_store(&xas, entry);
	} while (__xas_nomem(&xas, gfp));
	if (xas_error(&xas))
		return xas_error(&xas);
	*id = (uint32_t)xas.xa_index;
	return 0;
}

int xa_alloc(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit, gfp_t gfp)
{
	int err;

	xa_lock(xa);
	err = __xa_alloc(xa, id, entry, limit, gfp);
	xa_unlock(xa);
	return err;
}

int __xa_alloc_cyclic(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit,
		      uint32_t *next, gfp_t gfp)
{
	struct xa_limit from = limit;
	int ret;

	/* From *next to the end first; then from the start, which is a wrap. */
	if (*next > from.min)
		from.min = *next;
	ret = __xa_alloc(xa, id, entry, from, gfp);
	if (!ret && (xa->xa_flags & XA_FLAGS_ALLOC_WRAPPED)) {
		xa->xa_flags &= ~XA_FLAGS_ALLOC_WRAPPED;
		ret = 1;
	}
	if (ret < 0 && from.min > limit.min) {
		ret = __xa_alloc(xa, id, entry, limit, gfp);
		if (!ret)
			ret = 1;
	}
	if (ret >= 0) {
		*next = *id + 1;
		if (!*next)
			xa->xa_flags |= XA_FLAGS_ALLOC_WRAPPED;
	}
	return ret;
}

int xa_alloc_cyclic(struct xarray *xa, uint32_t *id, void *entry, struct xa_limit limit,
		    uint32_t *next, gfp_t gfp)
{
	int ret;

	xa_lock(xa);
	ret = __xa_alloc_cyclic(xa, id, entry, limit, next, gfp);
	xa_unlock(xa);
	return ret;
}
