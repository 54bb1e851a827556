/* SPDX-License-Identifier: MIT */
/*
 * Memory policies (mm/mempolicy.c): which node a page is allocated on.
 * The modes and flags are the uapi's (<linux/mempolicy.h>). A file's
 * "shared policy" (struct shared_policy, mpol_set_shared_policy(),
 * mpol_shared_policy_lookup()) holds a policy per range of file pages:
 * guest_memfd's inode keeps one, set through mbind() on a mapping of the
 * file (kvm_gmem_set_policy() / kvm_gmem_get_policy()).
 */
#ifndef GMEMSIM_MEMPOLICY_H
#define GMEMSIM_MEMPOLICY_H

#include <linux/mempolicy.h>
#include <stdbool.h>

#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>
#include <gmemsim/list.h>
#include <gmemsim/mm_types.h>
#include <gmemsim/numa.h>

/* Linux 6.9's mode, newer than some hosts' uapi header; every node weighs 1 here. */
#define GS_MPOL_WEIGHTED_INTERLEAVE (MPOL_PREFERRED_MANY + 1)
#define GS_MPOL_MAX		    (GS_MPOL_WEIGHTED_INTERLEAVE + 1)

/**
 * struct mempolicy - one policy
 * @mode: MPOL_* (MPOL_DEFAULT only as "no policy here")
 * @flags: the MPOL_F_* mode flags given with it (MPOL_MODE_FLAGS)
 * @nodes: the nodes of BIND, INTERLEAVE, PREFERRED(_MANY); empty for LOCAL
 * @user_nodes: the mask as given, kept with MPOL_F_STATIC_NODES or
 *              MPOL_F_RELATIVE_NODES (get_mempolicy() returns it then)
 */
struct mempolicy {
	unsigned short mode;
	unsigned short flags;
	nodemask_t nodes;
	nodemask_t user_nodes;
};

/**
 * struct shared_policy - a file's policies by page range
 * @ranges: struct sp_node, sorted by start, never overlapping
 * @nr: how many
 */
struct shared_policy {
	struct list_head ranges;
	unsigned long nr;
};

/**
 * mpol_shared_policy_init() - an empty shared policy (every page: the default)
 * @sp: the policy to set up
 *
 * Context: any.
 */
GS_API void mpol_shared_policy_init(struct shared_policy *sp);

/**
 * mpol_free_shared_policy() - drop every range
 * @sp: the policy
 *
 * Context: any.
 */
GS_API void mpol_free_shared_policy(struct shared_policy *sp);

/**
 * mpol_set_shared_policy() - @pol for pages [@start, @start + @nr)
 * @sp: the file's shared policy
 * @start: first page
 * @nr: number of pages (0: nothing to do)
 * @pol: the policy; NULL or MPOL_DEFAULT removes any policy from the range
 *
 * Ranges partly covered keep the rest; a range covering both ends is split
 * in two. Both allocations that can take are made before anything changes.
 *
 * Context: process context (may sleep).
 * Return: 0, or -ENOMEM (site mempolicy.sp_node) with @sp unchanged.
 */
GS_API int mpol_set_shared_policy(struct shared_policy *sp, pgoff_t start, pgoff_t nr,
				  const struct mempolicy *pol);

/**
 * mpol_shared_policy_lookup() - the policy of page @idx
 * @sp: the file's shared policy
 * @idx: the page
 *
 * Context: any.
 * Return: the policy (owned by @sp, valid until it changes), or NULL for
 * the default.
 */
GS_API const struct mempolicy *mpol_shared_policy_lookup(const struct shared_policy *sp,
							 pgoff_t idx);

/**
 * mpol_shared_policy_for_each() - call @fn for each range, in file order
 * @sp: the file's shared policy
 * @fn: called with the range [start, end) and its policy
 * @arg: passed to @fn
 *
 * Context: any; @fn must not change @sp.
 */
GS_API void mpol_shared_policy_for_each(const struct shared_policy *sp,
					void (*fn)(pgoff_t start, pgoff_t end,
						   const struct mempolicy *pol, void *arg),
					void *arg);

/**
 * gs_mpol_nodes() - where an allocation under @pol starts and may go
 * @pol: the policy (NULL: the default, local allocation)
 * @ilx: the interleave index (the file page index >> the folio order)
 * @nid: set to the node tried first (its fallback order follows)
 * @mask: set to the nodes allowed (0: any)
 *
 * The kernel's policy_nodemask(): DEFAULT and LOCAL start at the task's
 * node; PREFERRED at its node; PREFERRED_MANY at the task's node if in the
 * set, else the set's first; BIND at the task's node, allowed only its
 * nodes; (WEIGHTED_)INTERLEAVE at the (@ilx mod weight)-th node of the set.
 *
 * Context: any.
 */
GS_API void gs_mpol_nodes(const struct mempolicy *pol, unsigned long ilx, int *nid,
			  nodemask_t *mask);

/**
 * gs_mpol_allows() - whether a page on node @nid conforms to @pol
 * @pol: the policy (NULL: the default, any node)
 * @nid: the page's node
 *
 * What mbind(MPOL_MF_STRICT) checks of a mapped page: BIND and the
 * interleaves want one of their nodes, PREFERRED its node; the others take
 * any.
 *
 * Context: any.
 * Return: true if it conforms.
 */
GS_API bool gs_mpol_allows(const struct mempolicy *pol, int nid);

/**
 * gs_mpol_name() - the mode's name as numactl prints it ("bind", "default"...)
 * @mode: MPOL_*
 *
 * Context: any.
 * Return: a static string, "?" for no such mode.
 */
GS_API const char *gs_mpol_name(unsigned int mode);

#endif /* GMEMSIM_MEMPOLICY_H */
