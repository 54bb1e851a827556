// SPDX-License-Identifier: MIT
/*
 * Memory policies and a file's shared policy (see <gmemsim/mempolicy.h>):
 * mm/mempolicy.c's shared_policy_replace() over a sorted list of ranges
 * instead of its rbtree (a file here holds a handful), and the node an
 * allocation starts at under each mode (policy_nodemask(),
 * interleave_nid()).
 */
#include <errno.h>

#include <gmemsim/alloc.h>
#include <gmemsim/mempolicy.h>
#include <gmemsim/warn.h>

/* One range of pages [start, end) with its policy (the kernel's struct sp_node). */
struct sp_node {
	struct list_head list;
	pgoff_t start, end;
	struct mempolicy pol;
};

void mpol_shared_policy_init(struct shared_policy *sp)
{
	INIT_LIST_HEAD(&sp->ranges);
	sp->nr = 0;
}

static struct sp_node *sp_alloc(void)
{
	return gs_alloc(GS_SITE_MPOL_SP_NODE, sizeof(struct sp_node), GFP_KERNEL | __GFP_ZERO);
}

static void sp_free(struct sp_node *n)
{
	gs_free(GS_SITE_MPOL_SP_NODE, n, sizeof(*n));
}

static void sp_delete(struct shared_policy *sp, struct sp_node *n)
{
	list_del(&n->list);
	sp->nr--;
	sp_free(n);
}

void mpol_free_shared_policy(struct shared_policy *sp)
{
	struct sp_node *n, *next;

	list_for_each_entry_safe (n, next, &sp->ranges, list)
		sp_delete(sp, n);
}

/* Whether some range holds both @start - 1 and @end: the new one splits it. */
static bool splits_a_range(const struct shared_policy *sp, pgoff_t start, pgoff_t end)
{
	const struct sp_node *n;

	list_for_each_entry (n, &sp->ranges, list)
		if (n->start < start && n->end > end)
			return true;
	return false;
}

/* Cut [start, end) out of every range; @spare takes the far part of a range split in two. */
static void sp_cut(struct shared_policy *sp, pgoff_t start, pgoff_t end, struct sp_node **spare)
{
	struct sp_node *n, *next;

	list_for_each_entry_safe (n, next, &sp->ranges, list) {
		if (n->end <= start || n->start >= end)
			continue;
		if (n->start < start && n->end > end) {
			struct sp_node *tail = *spare;

			*spare = NULL;
			*tail = (struct sp_node){.start = end, .end = n->end, .pol = n->pol};
			n->end = start;
			list_add(&tail->list, &n->list);
			sp->nr++;
			return;
		}
		if (n->start < start)
			n->end = start;
		else if (n->end > end)
			n->start = end;
		else
			sp_delete(sp, n);
	}
}

int mpol_set_shared_policy(struct shared_policy *sp, pgoff_t start, pgoff_t nr,
			   const struct mempolicy *pol)
{
	struct sp_node *new = NULL, *spare = NULL, *n;
	pgoff_t end = start + nr;

	if (!nr)
		return 0;
	if (end < start)
		return -EINVAL;
	if (pol && pol->mode == MPOL_DEFAULT)
		pol = NULL;
	/* Both allocations first: a failure leaves every range as it was. */
	if (pol && !(new = sp_alloc()))
		return -ENOMEM;
	if (splits_a_range(sp, start, end) && !(spare = sp_alloc())) {
		if (new)
			sp_free(new);
		return -ENOMEM;
	}
	sp_cut(sp, start, end, &spare);
	if (spare)
		sp_free(spare);
	if (!new)
		return 0;
	*new = (struct sp_node){.start = start, .end = end, .pol = *pol};
	/* After the last range that starts before it: the list stays sorted. */
	list_for_each_entry (n, &sp->ranges, list)
		if (n->start > start)
			break;
	list_add_tail(&new->list, &n->list);
	sp->nr++;
	return 0;
}

const struct mempolicy *mpol_shared_policy_lookup(const struct shared_policy *sp, pgoff_t idx)
{
	const struct sp_node *n;

	list_for_each_entry (n, &sp->ranges, list) {
		if (n->start > idx)
			break;
		if (idx < n->end)
			return &n->pol;
	}
	return NULL;
}

void mpol_shared_policy_for_each(const struct shared_policy *sp,
				 void (*fn)(pgoff_t start, pgoff_t end, const struct mempolicy *pol,
					    void *arg),
				 void *arg)
{
	const struct sp_node *n;

	list_for_each_entry (n, &sp->ranges, list)
		fn(n->start, n->end, &n->pol, arg);
}

static int first_node(nodemask_t mask)
{
	return mask ? __builtin_ctzl(mask) : NUMA_NO_NODE;
}

/* The @target-th node of @mask, counting from 0 (interleave_nid()). */
static int nth_node(nodemask_t mask, unsigned long target)
{
	while (target--)
		mask &= mask - 1;
	return first_node(mask);
}

void gs_mpol_nodes(const struct mempolicy *pol, unsigned long ilx, int *nid, nodemask_t *mask)
{
	int local = gs_numa_local_node();

	*nid = local;
	*mask = 0;
	if (!pol || !pol->nodes)
		return;
	switch (pol->mode) {
	case MPOL_PREFERRED:
		*nid = first_node(pol->nodes);
		break;
	case MPOL_PREFERRED_MANY:
		if (!(pol->nodes & (1UL << local)))
			*nid = first_node(pol->nodes);
		break;
	case MPOL_BIND:
		*mask = pol->nodes;
		break;
	case MPOL_INTERLEAVE:
	case GS_MPOL_WEIGHTED_INTERLEAVE:
		*nid = nth_node(pol->nodes, ilx % (unsigned long)__builtin_popcountl(pol->nodes));
		break;
	default:
		break;
	}
	if (*nid == NUMA_NO_NODE)
		*nid = local;
}

bool gs_mpol_allows(const struct mempolicy *pol, int nid)
{
	if (!pol || nid < 0)
		return true;
	switch (pol->mode) {
	case MPOL_BIND:
	case MPOL_INTERLEAVE:
	case GS_MPOL_WEIGHTED_INTERLEAVE:
	case MPOL_PREFERRED:
	case MPOL_PREFERRED_MANY:
		return pol->nodes & (1UL << nid);
	default:
		return true;
	}
}

const char *gs_mpol_name(unsigned int mode)
{
	static const char *const names[] = {
		"default",	  "preferred",		 "bind", "interleave", "local",
		"preferred-many", "weighted-interleave",
	};

	return mode < ARRAY_SIZE(names) ? names[mode] : "?";
}
