// SPDX-License-Identifier: MIT
/*
 * guest_memfd's memory policy: the inode's shared policy, set and read
 * through a mapping of the file, as the guest_memfd NUMA series adds
 * ->set_policy / ->get_policy to the file's vm_operations
 * (kvm_gmem_set_policy(), kvm_gmem_get_policy()) so that mbind() and
 * get_mempolicy() on a mapping reach the inode, and its folio allocations
 * follow the policy of their index. The policy stays with the inode: a
 * later mapping, or no mapping at all (fallocate), sees it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <gmemsim/gmem.h>
#include <gmemsim/state.h>

#include <gmemsim/internal/gmem_int.h>

int kvm_gmem_set_policy(struct gmem_vma *vma, pgoff_t first, pgoff_t nr,
			const struct mempolicy *pol)
{
	if (first > vma->nr_pages || nr > vma->nr_pages - first)
		return -EINVAL;
	return mpol_set_shared_policy(&vma->file->inode->policy, vma->pgoff + first, nr, pol);
}

const struct mempolicy *kvm_gmem_get_policy(const struct gmem_vma *vma, pgoff_t page)
{
	return mpol_shared_policy_lookup(&vma->file->inode->policy, vma->pgoff + page);
}

struct policy_state_ctx {
	struct gs_state *st;
	const char *path;
};

/* One range of the policy: part of what a state snapshot compares. */
static void policy_range_state(pgoff_t start, pgoff_t end, const struct mempolicy *pol, void *arg)
{
	struct policy_state_ctx *c = arg;
	char p[192];

	snprintf(p, sizeof(p), "%s/mempolicy/0x%lx-0x%lx", c->path, start, end - 1);
	gs_state_add(c->st, p, "mode", "%s", gs_mpol_name(pol->mode));
	gs_state_add(c->st, p, "nodes", "0x%lx", pol->nodes);
	gs_state_add(c->st, p, "flags", "0x%x", pol->flags);
}

void kvm_gmem_policy_state(struct gs_state *st, const char *path, const struct gmem_inode *inode)
{
	struct policy_state_ctx c = {.st = st, .path = path};

	mpol_shared_policy_for_each(&inode->policy, policy_range_state, &c);
}
