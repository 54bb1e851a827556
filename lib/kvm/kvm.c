// SPDX-License-Identifier: MIT
/*
 * VMs, memslots and stage-2 (virt/kvm/kvm_main.c: kvm_vm_ioctl_check_extension(),
 * kvm_set_memory_region(); virt/kvm/guest_memfd.c: __kvm_gmem_get_pfn(); the
 * x86 MMU's huge page rules and fault routing; kvm_vm_ioctl_set_mem_attributes()
 * and the vm_memory_attributes switch of the in-place conversion series).
 * Stage-2 is a map from a leaf's first frame to its level and kind: enough
 * to check the mapping level rules and count leaves, not a page-table walker.
 * The arch's guest_memfd hooks (arch/x86/kvm: kvm_arch_gmem_prepare() and
 * kvm_arch_gmem_invalidate(), SEV's per-pfn RMP state) and the CoCo launch
 * helpers over kvm_gmem_populate() (SNP_LAUNCH_UPDATE, TDX INIT_MEM_REGION).
 */
#include <errno.h>
#include <string.h>

#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/physmem.h>
#include <gmemsim/state.h>
#include <gmemsim/strategy.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>

/* Both kinds of leaf: slot deletion and legacy attribute changes zap everything. */
#define KVM_FILTER_ALL (KVM_FILTER_SHARED | KVM_FILTER_PRIVATE)

static LIST_HEAD(vm_list);
/*
 * SNP VMs on vm_list: the per-folio invalidate hook has nothing to do
 * without one, and a fuzz input calls it for every piece of a split page.
 */
static unsigned int nr_snp_vms;

static bool stage2_zap(struct kvm *kvm, gfn_t start, gfn_t end, unsigned int filter);

/* --- guest_memfd's hooks into the MMU --- */

/* The frames of @slot that map file pages [start, end). */
static void slot_gfn_range(const struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
			   gfn_t *gstart, gfn_t *gend)
{
	pgoff_t first = start > slot->gmem.pgoff ? start : slot->gmem.pgoff;
	pgoff_t last = slot->gmem.pgoff + slot->npages;

	if (end < last)
		last = end;
	*gstart = slot->base_gfn + (first - slot->gmem.pgoff);
	*gend = first < last ? slot->base_gfn + (last - slot->gmem.pgoff) : *gstart;
}

/*
 * With per-VM attributes a guest_memfd backs either only private memory or
 * (INIT_SHARED) only shared memory, so its invalidations zap only leaves of
 * that kind (kvm_gmem_get_invalidate_filter() upstream); leaves of the other
 * kind map userspace_addr. With attributes in guest_memfd both kinds come
 * from it and the caller's filter, built from the attributes in the range
 * (spec P13), says which.
 */
static unsigned int gmem_zap_filter(const struct kvm_memory_slot *slot, unsigned int attr_filter)
{
	if (!slot->kvm->params.vm_memory_attributes)
		return attr_filter;
	return slot->gmem.file->inode->flags & GS_GUEST_MEMFD_FLAG_INIT_SHARED ? KVM_FILTER_SHARED
									       : KVM_FILTER_PRIVATE;
}

static void kvm_gmem_invalidate_begin(const struct gs_gmem_vm_info *vm)
{
	kvm_mmu_invalidate_begin(gmem_vm_kvm(vm));
}

static void kvm_gmem_invalidate_end(const struct gs_gmem_vm_info *vm)
{
	kvm_mmu_invalidate_end(gmem_vm_kvm(vm));
}

/* The frames of @slot mapping file pages [start, end) as a range for @attr_filter. */
static struct kvm_gfn_range slot_range(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
				       unsigned int attr_filter)
{
	struct kvm_gfn_range range = {.slot = slot};

	slot_gfn_range(slot, start, end, &range.start, &range.end);
	range.attr_filter = gmem_zap_filter(slot, attr_filter);
	return range;
}

static void kvm_gmem_invalidate_range(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
				      unsigned int attr_filter)
{
	struct kvm_gfn_range range = slot_range(slot, start, end, attr_filter);

	if (range.start < range.end)
		kvm_mmu_unmap_gfn_range(slot->kvm, &range);
}

static void kvm_gmem_slot_invalidate(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end)
{
	struct kvm_gfn_range range = slot_range(slot, start, end, KVM_FILTER_ALL);

	if (range.start >= range.end)
		return;
	kvm_mmu_invalidate_begin(slot->kvm);
	kvm_mmu_unmap_gfn_range(slot->kvm, &range);
	kvm_mmu_invalidate_end(slot->kvm);
}

static int kvm_gmem_split_cross_boundary(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
					 unsigned int attr_filter)
{
	struct kvm_gfn_range range = slot_range(slot, start, end, attr_filter);

	if (range.start >= range.end)
		return 0;
	return kvm_split_cross_boundary_leafs(slot->kvm, &range);
}

/* The largest level whose leaves fit a folio of @order. */
static int order_level(unsigned int order)
{
	return order >= 18 ? PG_LEVEL_1G : order >= 9 ? PG_LEVEL_2M : PG_LEVEL_4K;
}

static int kvm_gmem_split_huge(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
			       unsigned int attr_filter, unsigned int order)
{
	struct kvm_gfn_range range = slot_range(slot, start, end, attr_filter);

	if (range.start >= range.end)
		return 0;
	return kvm_split_huge_leafs(slot->kvm, &range, order_level(order));
}

/* Prepare the split of kvm_gmem_split_huge() in @slot (kept there until finished). */
static int kvm_gmem_split_huge_prepare(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end,
				       unsigned int attr_filter, unsigned int order)
{
	struct kvm_gfn_range range = slot_range(slot, start, end, attr_filter);

	slot->split = (struct kvm_split_cache){0};
	if (range.start >= range.end)
		return 0;
	return kvm_split_huge_leafs_prepare(slot->kvm, &range, order_level(order), &slot->split);
}

static void kvm_gmem_split_huge_finish(struct kvm_memory_slot *slot, bool commit)
{
	kvm_split_huge_leafs_finish(slot->kvm, &slot->split, commit);
}

static void kvm_gmem_slot_release(struct kvm_memory_slot *slot)
{
	struct kvm_gfn_range range = {
		.slot = slot,
		.start = slot->base_gfn,
		.end = slot->base_gfn + slot->npages,
		.attr_filter = gmem_zap_filter(slot, KVM_FILTER_ALL),
	};

	slot->gmem.file = NULL;
	kvm_mmu_invalidate_begin(slot->kvm);
	kvm_mmu_unmap_gfn_range(slot->kvm, &range);
	kvm_mmu_invalidate_end(slot->kvm);
}

static void kvm_gmem_get_vm(const struct gs_gmem_vm_info *vm)
{
	kvm_get_kvm(gmem_vm_kvm(vm));
}

static void kvm_gmem_put_vm(const struct gs_gmem_vm_info *vm)
{
	kvm_put_kvm(gmem_vm_kvm(vm));
}

/* --- the arch's guest_memfd hooks --- */

/* The RMP entry of @pfn: assigned to @kvm's guest (private) or not. */
static bool rmp_assigned(struct kvm *kvm, unsigned long pfn)
{
	return xa_load(&kvm->rmp, pfn) != NULL;
}

/*
 * SNP's prepare: every pfn of the folio not yet assigned becomes private
 * (rmp_make_private()); all or nothing, so a failure leaves the RMP as it
 * was. The RMP entries are kept per 4 KiB pfn, so a folio split or merged
 * since keeps the state of each of its pages.
 */
/* An RMP entry this prepare stored and may still take back. */
#define RMP_PENDING (1UL << 62)

static int snp_gmem_prepare(struct kvm *kvm, gfn_t gfn, unsigned long pfn, unsigned long nr)
{
	unsigned long i, done = 0;
	int err = 0;

	for (i = 0; i < nr && !err; i++) {
		if (rmp_assigned(kvm, pfn + i))
			continue;
		err = xa_err(xa_store(&kvm->rmp, pfn + i, xa_mk_value((gfn + i) | RMP_PENDING),
				      GFP_KERNEL));
		done += !err;
	}
	/* Replacing an entry needs no memory: the second pass cannot fail. */
	for (i = 0; i < nr && done; i++) {
		unsigned long v = xa_to_value(xa_load(&kvm->rmp, pfn + i));

		if (!(v & RMP_PENDING))
			continue;
		if (err)
			xa_erase(&kvm->rmp, pfn + i);
		else
			xa_store(&kvm->rmp, pfn + i, xa_mk_value(v & ~RMP_PENDING), GFP_KERNEL);
	}
	if (err)
		return err;
	kvm->arch_stats.prepare_pfns += done;
	kvm->arch_stats.rmp_assigned += done;
	return 0;
}

/*
 * kvm_arch_gmem_prepare(): x86 has the hook for every VM type; only SNP
 * does anything (sw_protected and TDX: counted, nothing else).
 */
static int kvm_gmem_arch_prepare(struct kvm_memory_slot *slot, pgoff_t index, unsigned long pfn,
				 unsigned int order)
{
	struct kvm *kvm = slot->kvm;
	gfn_t gfn = slot->base_gfn + index - slot->gmem.pgoff;
	unsigned long before = kvm->arch_stats.prepare_pfns;
	int err = 0;

	kvm->arch_stats.prepare_calls++;
	if (kvm->type == GS_KVM_X86_SNP_VM)
		err = snp_gmem_prepare(kvm, gfn, pfn, 1UL << order);
	gs_trace("kvm.gmem_prepare", GS_TF_U("type", kvm->type), GS_TF_X("gfn", gfn),
		 GS_TF_U("order", order),
		 GS_TF_U("assigned", kvm->arch_stats.prepare_pfns - before), GS_TF_S("ret", err));
	return err;
}

/* kvm_arch_gmem_invalidate(): assigned pfns of [start, end) go back to shared, in any VM. */
static void kvm_gmem_arch_invalidate(unsigned long start, unsigned long end)
{
	struct kvm *kvm;
	unsigned long pfn;
	void *entry;

	if (!nr_snp_vms)
		return;
	list_for_each_entry (kvm, &vm_list, list) {
		unsigned long nr = 0;

		if (kvm->type != GS_KVM_X86_SNP_VM)
			continue;
		xa_for_each_range (&kvm->rmp, pfn, entry, start, end - 1) {
			xa_erase(&kvm->rmp, pfn);
			nr++;
		}
		kvm->arch_stats.invalidate_pfns += nr;
		kvm->arch_stats.rmp_assigned -= nr;
		if (nr)
			gs_trace("kvm.gmem_invalidate", GS_TF_U("type", kvm->type),
				 GS_TF_U("pfns", nr));
	}
}

/* Does kvm_gmem_arch_invalidate() have anything to do? Only an SNP VM keeps per-pfn state. */
static bool kvm_gmem_arch_invalidate_needed(void)
{
	return nr_snp_vms;
}

static const struct gmem_kvm_ops kvm_gmem_ops = {
	.invalidate = kvm_gmem_slot_invalidate,
	.release = kvm_gmem_slot_release,
	.get = kvm_gmem_get_vm,
	.put = kvm_gmem_put_vm,
	.invalidate_begin = kvm_gmem_invalidate_begin,
	.invalidate_range = kvm_gmem_invalidate_range,
	.invalidate_end = kvm_gmem_invalidate_end,
	.split_cross_boundary = kvm_gmem_split_cross_boundary,
	.split_huge = kvm_gmem_split_huge,
	.gmem_prepare = kvm_gmem_arch_prepare,
	.gmem_invalidate = kvm_gmem_arch_invalidate,
	.gmem_invalidate_needed = kvm_gmem_arch_invalidate_needed,
	.split_huge_prepare = kvm_gmem_split_huge_prepare,
	.split_huge_finish = kvm_gmem_split_huge_finish,
};

/* --- VMs and capabilities --- */

/* kvm_arch_has_private_mem(): the VM types whose memory can be private. */
static bool type_has_private_mem(unsigned long type)
{
	return type == GS_KVM_X86_SW_PROTECTED_VM || type == GS_KVM_X86_SNP_VM ||
	       type == GS_KVM_X86_TDX_VM;
}

/* KVM_CAP_VM_TYPES: the types a host with SNP and TDX support would offer. */
#define KVM_VM_TYPES                                                            \
	((1UL << GS_KVM_X86_DEFAULT_VM) | (1UL << GS_KVM_X86_SW_PROTECTED_VM) | \
	 (1UL << GS_KVM_X86_SNP_VM) | (1UL << GS_KVM_X86_TDX_VM))

struct kvm_params kvm_default_params(enum gs_gmem_profile profile)
{
	/* Upstream has only per-VM attributes; the design tracks them in guest_memfd. */
	return (struct kvm_params){
		.profile = profile,
		.vm_memory_attributes = profile == GS_GMEM_PROFILE_UPSTREAM,
	};
}

/*
 * kvm_arch_supports_gmem_init_shared(): a guest_memfd can hold shared memory
 * unless PRIVATE is tracked per VM on a VM that has private memory.
 */
static bool supports_init_shared(const struct kvm_params *p, unsigned long type)
{
	return !p->vm_memory_attributes || !type_has_private_mem(type);
}

int kvm_create_vm_params(unsigned long type, const struct kvm_params *params, struct kvm **kvmp)
{
	const struct gs_strategy *strategy;
	struct kvm *kvm;

	if (type >= BITS_PER_LONG || !(KVM_VM_TYPES & (1UL << type)))
		return -EINVAL;
	kvm = gs_alloc(GS_SITE_KVM_VM, sizeof(*kvm), GFP_KERNEL | __GFP_ZERO);
	if (!kvm)
		return -ENOMEM;
	kvm->type = type;
	kvm->users_count = 1;
	kvm->params = *params;
	strategy = gs_strategy_for_vm(params->strategy, params->conversion);
	kvm->gmem = (struct gs_gmem_vm_info){
		.has_private_mem = type_has_private_mem(type),
		.supports_init_shared = supports_init_shared(params, type),
		.supports_hugetlb =
			params->profile == GS_GMEM_PROFILE_DESIGN && !params->gmem_no_hugetlb,
		.in_place_conversion = !params->vm_memory_attributes,
		.profile = params->profile,
		.conversion = (enum gs_gmem_conversion)strategy->ops->flow,
		.strategy = strategy,
		.ops = &kvm_gmem_ops,
	};
	xa_init(&kvm->memslots);
	xa_init(&kvm->mem_attr_array);
	xa_init(&kvm->stage2);
	xa_init(&kvm->rmp);
	kvm->mmu_invalidate_range_start = KVM_INVALID_GFN;
	kvm->mmu_invalidate_range_end = KVM_INVALID_GFN;
	list_add_tail(&kvm->list, &vm_list);
	nr_snp_vms += type == GS_KVM_X86_SNP_VM;
	*kvmp = kvm;
	return 0;
}

int kvm_create_vm(unsigned long type, enum gs_gmem_profile profile, struct kvm **kvmp)
{
	struct kvm_params params = kvm_default_params(profile);

	return kvm_create_vm_params(type, &params, kvmp);
}

static void kvm_delete_slot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	stage2_zap(kvm, slot->base_gfn, slot->base_gfn + slot->npages, KVM_FILTER_ALL);
	if (slot->flags & GS_KVM_MEM_GUEST_MEMFD)
		kvm_gmem_unbind(slot->gmem.file, slot->gmem.pgoff, slot->npages);
	xa_erase(&kvm->memslots, slot->id);
	gs_free(GS_SITE_KVM_MEMSLOT, slot, sizeof(*slot));
}

void kvm_get_kvm(struct kvm *kvm)
{
	kvm->users_count++;
}

static void kvm_free_vm(struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	unsigned long id;

	xa_for_each (&kvm->memslots, id, slot)
		kvm_delete_slot(kvm, slot);
	WARN_ON(!xa_empty(&kvm->stage2));
	list_del(&kvm->list);
	nr_snp_vms -= kvm->type == GS_KVM_X86_SNP_VM;
	xa_destroy(&kvm->memslots);
	xa_destroy(&kvm->mem_attr_array);
	xa_destroy(&kvm->stage2);
	xa_destroy(&kvm->rmp);
	gs_free(GS_SITE_KVM_VM, kvm, sizeof(*kvm));
}

void kvm_put_kvm(struct kvm *kvm)
{
	if (WARN_ON(kvm->users_count <= 0) || --kvm->users_count)
		return;
	kvm_free_vm(kvm);
}

void kvm_destroy_vm(struct kvm *kvm)
{
	kvm_put_kvm(kvm);
}

/* kvm_supports_private_mem(): the system fd speaks for every VM type. */
static bool supports_private_mem(const struct kvm *kvm)
{
	return !kvm || kvm->gmem.has_private_mem;
}

/* The PRIVATE attribute is offered by exactly one of the two interfaces. */
static uint64_t vm_supported_attributes(const struct kvm_params *p, const struct kvm *kvm)
{
	if (!p->vm_memory_attributes || !supports_private_mem(kvm))
		return 0;
	return GS_KVM_MEMORY_ATTRIBUTE_PRIVATE;
}

static uint64_t gmem_supported_attributes(const struct kvm_params *p, const struct kvm *kvm)
{
	if (p->vm_memory_attributes || !supports_private_mem(kvm))
		return 0;
	return GS_KVM_MEMORY_ATTRIBUTE_PRIVATE;
}

static long check_extension(const struct kvm_params *p, const struct kvm *kvm, long ext)
{
	switch (ext) {
	case GS_KVM_CAP_USER_MEMORY2:
	case GS_KVM_CAP_GUEST_MEMFD:
		return 1;
	case GS_KVM_CAP_VM_TYPES:
		return (long)KVM_VM_TYPES;
	case GS_KVM_CAP_GUEST_MEMFD_FLAGS:
		/*
		 * The flags that work alone: upstream's ABI (and its selftest)
		 * holds every advertised bit to create a file of one page by
		 * itself. HUGETLB needs a page order beside it (P31: order 0 is
		 * EINVAL), so it is accepted but not advertised here; a VMM
		 * finds it by creating a file with the order it wants
		 * (docs/FIDELITY.md, "Intended divergences").
		 */
		return (long)(kvm_gmem_get_supported_flags(kvm ? &kvm->gmem : NULL) &
			      ~GS_GUEST_MEMFD_FLAG_HUGETLB);
	case GS_KVM_CAP_MEMORY_ATTRIBUTES:
		return (long)vm_supported_attributes(p, kvm);
	case GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES:
		return (long)gmem_supported_attributes(p, kvm);
	default:
		return 0;
	}
}

long kvm_vm_check_extension(const struct kvm *kvm, long ext)
{
	struct kvm_params design = kvm_default_params(GS_GMEM_PROFILE_DESIGN);

	return check_extension(kvm ? &kvm->params : &design, kvm, ext);
}

long kvm_dev_check_extension(const struct kvm_params *params, long ext)
{
	return check_extension(params, NULL, ext);
}

int kvm_vm_create_guest_memfd(struct kvm *kvm, const struct gs_kvm_create_guest_memfd *args,
			      struct gmem_file **filep)
{
	return kvm_gmem_create(&kvm->gmem, (loff_t)args->size, args->flags, args->page_order,
			       filep);
}

/* --- memslots --- */

struct kvm_memory_slot *kvm_find_slot(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot;
	unsigned long id;

	xa_for_each (&kvm->memslots, id, slot)
		if (gfn >= slot->base_gfn && gfn - slot->base_gfn < slot->npages)
			return slot;
	return NULL;
}

static bool kvm_range_overlaps(struct kvm *kvm, uint16_t self, gfn_t base, unsigned long npages)
{
	struct kvm_memory_slot *slot;
	unsigned long id;

	xa_for_each (&kvm->memslots, id, slot)
		if (id != self && base < slot->base_gfn + slot->npages &&
		    slot->base_gfn < base + npages)
			return true;
	return false;
}

/* The argument checks of kvm_set_memory_region(), before any slot is looked at. */
static int check_memory_region(const struct gs_kvm_userspace_memory_region2 *mem)
{
	bool gmem = mem->flags & GS_KVM_MEM_GUEST_MEMFD;
	uint32_t valid = GS_KVM_MEM_LOG_DIRTY_PAGES | GS_KVM_MEM_GUEST_MEMFD;

	if (!gmem)
		valid |= GS_KVM_MEM_READONLY;
	if (mem->flags & ~valid || (gmem && (mem->flags & GS_KVM_MEM_LOG_DIRTY_PAGES)))
		return -EINVAL;
	if (mem->memory_size % PAGE_SIZE || mem->guest_phys_addr % PAGE_SIZE ||
	    mem->userspace_addr % PAGE_SIZE)
		return -EINVAL;
	if (mem->userspace_addr > GS_TASK_SIZE - mem->memory_size ||
	    mem->memory_size > GS_TASK_SIZE)
		return -EINVAL;
	if (gmem && (mem->guest_memfd_offset % PAGE_SIZE ||
		     mem->guest_memfd_offset + mem->memory_size < mem->guest_memfd_offset))
		return -EINVAL;
	if ((mem->slot >> 16) || (mem->slot & 0xffff) >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if ((mem->memory_size >> PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

static int kvm_create_slot(struct kvm *kvm, const struct gs_kvm_userspace_memory_region2 *mem,
			   struct gmem_file *gmem)
{
	bool is_gmem = mem->flags & GS_KVM_MEM_GUEST_MEMFD;
	struct kvm_memory_slot *slot;
	int err;

	if (is_gmem && !gmem)
		return -EBADF;
	slot = gs_alloc(GS_SITE_KVM_MEMSLOT, sizeof(*slot), GFP_KERNEL | __GFP_ZERO);
	if (!slot)
		return -ENOMEM;
	*slot = (struct kvm_memory_slot){
		.kvm = kvm,
		.id = (uint16_t)mem->slot,
		.flags = mem->flags,
		.base_gfn = mem->guest_phys_addr >> PAGE_SHIFT,
		.npages = mem->memory_size >> PAGE_SHIFT,
		.userspace_addr = mem->userspace_addr,
	};
	if (is_gmem) {
		err = kvm_gmem_bind(gmem, &kvm->gmem, slot, (loff_t)mem->guest_memfd_offset,
				    slot->npages);
		if (err)
			goto free;
		slot->gmem.file = gmem;
		slot->gmem.pgoff = mem->guest_memfd_offset >> PAGE_SHIFT;
		slot->gmem_only = gmem->inode->flags & GS_GUEST_MEMFD_FLAG_MMAP;
	}
	err = xa_err(xa_store(&kvm->memslots, slot->id, slot, GFP_KERNEL));
	if (!err)
		return 0;
	if (is_gmem)
		kvm_gmem_unbind(gmem, slot->gmem.pgoff, slot->npages);
free:
	gs_free(GS_SITE_KVM_MEMSLOT, slot, sizeof(*slot));
	return err;
}

int kvm_set_user_memory_region2(struct kvm *kvm, const struct gs_kvm_userspace_memory_region2 *mem,
				struct gmem_file *gmem)
{
	struct kvm_memory_slot *old;
	gfn_t base = mem->guest_phys_addr >> PAGE_SHIFT;
	unsigned long npages = mem->memory_size >> PAGE_SHIFT;
	int err = check_memory_region(mem);

	if (err)
		return err;
	old = xa_load(&kvm->memslots, mem->slot);
	if (!npages) {
		if (!old)
			return -EINVAL;
		kvm_delete_slot(kvm, old);
		return 0;
	}
	if (old) {
		/* guest_memfd slots are never modified, only deleted and re-created. */
		if ((old->flags | mem->flags) & GS_KVM_MEM_GUEST_MEMFD || npages != old->npages)
			return -EINVAL;
		if (kvm_range_overlaps(kvm, old->id, base, npages))
			return -EEXIST;
		stage2_zap(kvm, old->base_gfn, old->base_gfn + old->npages, KVM_FILTER_ALL);
		old->base_gfn = base;
		old->flags = mem->flags;
		old->userspace_addr = mem->userspace_addr;
		return 0;
	}
	if (kvm_range_overlaps(kvm, (uint16_t)mem->slot, base, npages))
		return -EEXIST;
	return kvm_create_slot(kvm, mem, gmem);
}

int kvm_slot_gmem_get_pfn(struct kvm_memory_slot *slot, gfn_t gfn, unsigned long *pfn,
			  int *max_order)
{
	struct gmem_file *file = slot->gmem.file;
	pgoff_t index = gfn - slot->base_gfn + slot->gmem.pgoff;

	if (!file)
		return -EFAULT;
	if (xa_load(&file->bindings, index) != slot)
		return -EIO;
	return kvm_gmem_get_pfn(file, index, pfn, max_order);
}

/* --- memory attributes --- */

static bool vm_range_has_attrs(struct kvm *kvm, gfn_t start, gfn_t end, uint64_t attrs)
{
	unsigned long gfn;
	void *entry;

	if (attrs) {
		for (gfn = start; gfn < end; gfn++)
			if (xa_to_value(xa_load(&kvm->mem_attr_array, gfn)) != attrs)
				return false;
		return true;
	}
	xa_for_each_range (&kvm->mem_attr_array, gfn, entry, start, end - 1)
		return false;
	return true;
}

/*
 * Every gfn that has no entry yet gets a placeholder first (the only step
 * that allocates), so a failure is undone by erasing the placeholders; the
 * kernel reserves the entries (xa_reserve()) for the same reason.
 */
#define ATTR_RESERVED (1UL << 40)

static int vm_attrs_prepare(struct kvm *kvm, gfn_t start, gfn_t end, uint64_t attrs)
{
	gfn_t gfn;

	if (!attrs)
		return 0;
	for (gfn = start; gfn < end; gfn++) {
		int err = xa_insert(&kvm->mem_attr_array, gfn, xa_mk_value(ATTR_RESERVED),
				    GFP_KERNEL);

		if (err == -EBUSY)
			continue;
		if (err) {
			while (gfn-- > start)
				if (xa_load(&kvm->mem_attr_array, gfn) ==
				    xa_mk_value(ATTR_RESERVED))
					xa_erase(&kvm->mem_attr_array, gfn);
			return err;
		}
	}
	return 0;
}

static void vm_attrs_commit(struct kvm *kvm, gfn_t start, gfn_t end, uint64_t attrs)
{
	unsigned long gfn;
	void *entry;

	xa_for_each_range (&kvm->mem_attr_array, gfn, entry, start, end - 1) {
		if (attrs)
			xa_store(&kvm->mem_attr_array, gfn, xa_mk_value(attrs), GFP_KERNEL);
		else
			xa_erase(&kvm->mem_attr_array, gfn);
	}
}

/*
 * TDX (kvm_arch_pre_set_memory_attributes() of the TDX huge page series):
 * before a range turns shared, the private leaves across its edges are split
 * so that the zap takes only the range, since the guest would have to accept
 * the pages outside it again. It can fail (ENOMEM) and fails the ioctl with
 * nothing changed; it only runs toward shared, which reserved no entries.
 * Other VM types zap such leaves whole.
 */
static int pre_set_memory_attributes(struct kvm *kvm, gfn_t start, gfn_t end, uint64_t attrs)
{
	struct kvm_gfn_range range = {
		.start = start, .end = end, .attr_filter = KVM_FILTER_PRIVATE};

	if (kvm->type != GS_KVM_X86_TDX_VM || attrs & GS_KVM_MEMORY_ATTRIBUTE_PRIVATE)
		return 0;
	return kvm_split_cross_boundary_leafs(kvm, &range);
}

int kvm_vm_set_memory_attributes(struct kvm *kvm, const struct gs_kvm_memory_attributes *attrs)
{
	gfn_t start, end;
	int err;

	if (attrs->flags)
		return -EINVAL;
	if (attrs->attributes & ~vm_supported_attributes(&kvm->params, kvm))
		return -EINVAL;
	if (!attrs->size || attrs->address + attrs->size < attrs->address)
		return -EINVAL;
	if (attrs->address % PAGE_SIZE || attrs->size % PAGE_SIZE)
		return -EINVAL;
	start = attrs->address >> PAGE_SHIFT;
	end = (attrs->address + attrs->size) >> PAGE_SHIFT;
	if (vm_range_has_attrs(kvm, start, end, attrs->attributes))
		return 0;
	err = vm_attrs_prepare(kvm, start, end, attrs->attributes);
	if (err)
		return err;
	kvm_mmu_invalidate_begin(kvm);
	kvm_mmu_invalidate_range_add(kvm, start, end);
	err = pre_set_memory_attributes(kvm, start, end, attrs->attributes);
	if (!err) {
		/* Past the point of no return: leaves of the old kind go, then the values change. */
		stage2_zap(kvm, start, end, KVM_FILTER_ALL);
		vm_attrs_commit(kvm, start, end, attrs->attributes);
	}
	kvm_mmu_invalidate_end(kvm);
	return err;
}

/* The guest_memfd page a gfn of @slot binds, or false when it has none. */
static bool slot_gmem_index(const struct kvm_memory_slot *slot, gfn_t gfn, pgoff_t *index)
{
	if (!slot || !(slot->flags & GS_KVM_MEM_GUEST_MEMFD) || !slot->gmem.file)
		return false;
	*index = gfn - slot->base_gfn + slot->gmem.pgoff;
	return true;
}

/*
 * The attribute of [start, end) (inside one slot): 1 private, 0 shared,
 * -1 mixed. What the x86 MMU's KVM_LPAGE_MIXED_FLAG caches per huge page.
 */
static int range_private(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t start, gfn_t end)
{
	pgoff_t index;
	int s;

	if (kvm->params.vm_memory_attributes) {
		if (vm_range_has_attrs(kvm, start, end, 0))
			return 0;
		return vm_range_has_attrs(kvm, start, end, GS_KVM_MEMORY_ATTRIBUTE_PRIVATE) ? 1
											    : -1;
	}
	if (!slot_gmem_index(slot, start, &index))
		return 0;
	s = kvm_gmem_range_shareability(slot->gmem.file->inode, index, index + (end - start));
	return s == SHAREABILITY_GUEST ? 1 : s == SHAREABILITY_ALL ? 0 : -1;
}

bool kvm_mem_is_private(struct kvm *kvm, gfn_t gfn)
{
	return range_private(kvm, kvm_find_slot(kvm, gfn), gfn, gfn + 1) == 1;
}

/* --- stage-2 --- */

/* The leaf covering @gfn: its first frame and value, or 0. */
static unsigned long stage2_lookup(struct kvm *kvm, gfn_t gfn, gfn_t *base)
{
	for (int level = PG_LEVEL_4K; level < PG_LEVEL_NUM; level++) {
		gfn_t b = ALIGN_DOWN(gfn, kvm_level_pages(level));
		void *entry = xa_load(&kvm->stage2, b);

		if (entry && (xa_to_value(entry) & KVM_LEAF_LEVEL_MASK) == (unsigned long)level) {
			*base = b;
			return xa_to_value(entry);
		}
	}
	return 0;
}

unsigned long kvm_stage2_leaf(struct kvm *kvm, gfn_t gfn)
{
	gfn_t base;

	return stage2_lookup(kvm, gfn, &base);
}

int kvm_stage2_level(struct kvm *kvm, gfn_t gfn)
{
	return (int)(kvm_stage2_leaf(kvm, gfn) & KVM_LEAF_LEVEL_MASK);
}

void gs_kvm_count_leaves(unsigned long leaves[PG_LEVEL_NUM])
{
	struct kvm *kvm;

	memset(leaves, 0, PG_LEVEL_NUM * sizeof(*leaves));
	list_for_each_entry (kvm, &vm_list, list)
		for (int l = PG_LEVEL_4K; l < PG_LEVEL_NUM; l++)
			leaves[l] += kvm->nr_leaves[l];
}

/* --- invalidation (virt/kvm/kvm_main.c: kvm_mmu_invalidate_begin() and friends) --- */

void kvm_mmu_invalidate_begin(struct kvm *kvm)
{
	/* The outermost begin starts from an empty range; nested ones widen it. */
	if (++kvm->mmu_invalidate_in_progress == 1) {
		kvm->mmu_invalidate_range_start = KVM_INVALID_GFN;
		kvm->mmu_invalidate_range_end = KVM_INVALID_GFN;
	}
}

void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end)
{
	if (WARN_ON_ONCE(kvm->mmu_invalidate_in_progress <= 0))
		return;
	if (kvm->mmu_invalidate_range_start == KVM_INVALID_GFN) {
		kvm->mmu_invalidate_range_start = start;
		kvm->mmu_invalidate_range_end = end;
		return;
	}
	if (start < kvm->mmu_invalidate_range_start)
		kvm->mmu_invalidate_range_start = start;
	if (end > kvm->mmu_invalidate_range_end)
		kvm->mmu_invalidate_range_end = end;
}

void kvm_mmu_invalidate_end(struct kvm *kvm)
{
	if (WARN_ON_ONCE(kvm->mmu_invalidate_in_progress <= 0))
		return;
	/* An invalidation that added no range protected nothing: a caller bug. */
	WARN_ON_ONCE(kvm->mmu_invalidate_range_start == KVM_INVALID_GFN);
	kvm->mmu_invalidate_seq++;
	kvm->mmu_invalidate_in_progress--;
}

bool mmu_invalidate_retry_gfn(const struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn)
{
	if (kvm->mmu_invalidate_in_progress && gfn >= kvm->mmu_invalidate_range_start &&
	    gfn < kvm->mmu_invalidate_range_end)
		return true;
	return kvm->mmu_invalidate_seq != mmu_seq;
}

/* --- zap --- */

static unsigned int leaf_filter(unsigned long leaf)
{
	return leaf & KVM_LEAF_PRIVATE ? KVM_FILTER_PRIVATE : KVM_FILTER_SHARED;
}

static int leaf_level(unsigned long leaf)
{
	return (int)(leaf & KVM_LEAF_LEVEL_MASK);
}

static bool stage2_zap_leaf(struct kvm *kvm, gfn_t base, unsigned long leaf, unsigned int filter)
{
	if (!(filter & leaf_filter(leaf)))
		return false;
	xa_erase(&kvm->stage2, base);
	kvm->nr_leaves[leaf_level(leaf)]--;
	return true;
}

/*
 * Planted (test-only, GS_BUG_HUGE_LEAF_AFTER_SPLIT): an exact zap, as TDX's
 * must be (private memory outside the range cannot go), leaves a huge leaf
 * that reaches outside: what P40's leaf split, skipped, should have cut.
 */
static bool zap_spares(gfn_t base, unsigned long leaf, gfn_t start, gfn_t end)
{
	return gs_test_bug(GS_BUG_HUGE_LEAF_AFTER_SPLIT) &&
	       (base < start || base + kvm_level_pages(leaf_level(leaf)) > end);
}

/*
 * Leaves are keyed by their first frame, so the leaves in [start, end) are
 * one range of keys; the only other leaf reaching in is the huge one
 * holding @start, found by a look-up per level. Nothing outside is visited.
 */
static bool stage2_zap(struct kvm *kvm, gfn_t start, gfn_t end, unsigned int filter)
{
	XA_STATE(xas, &kvm->stage2, start);
	unsigned long leaf;
	bool flush = false;
	gfn_t base;
	void *entry;

	if (start >= end)
		return false;
	leaf = stage2_lookup(kvm, start, &base);
	if (leaf && base < start && !zap_spares(base, leaf, start, end))
		flush |= stage2_zap_leaf(kvm, base, leaf, filter);
	/*
	 * One xa_state along the leaves, each zapped where the walk stands
	 * (an erase and a search from the head per leaf were most of a zap).
	 * A leaf erased empties at most its own nodes, whose parent the walk
	 * goes on from.
	 */
	xas_lock(&xas);
	xas_for_each (&xas, entry, end - 1) {
		leaf = xa_to_value(entry);
		if (zap_spares(xas.xa_index, leaf, start, end) || !(filter & leaf_filter(leaf)))
			continue;
		xas_store(&xas, NULL);
		kvm->nr_leaves[leaf_level(leaf)]--;
		flush = true;
	}
	xas_unlock(&xas);
	return flush;
}

bool kvm_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range)
{
	return stage2_zap(kvm, range->start, range->end, range->attr_filter);
}

bool kvm_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range)
{
	kvm_mmu_invalidate_range_add(kvm, range->start, range->end);
	return kvm_unmap_gfn_range(kvm, range);
}

/* --- split (the TDX huge page series' kvm_split_cross_boundary_leafs()) --- */

/* At most two edges, each splitting a 1G leaf and then the 2M leaf holding it. */
#define SPLIT_MAX (2 * (PG_LEVEL_NUM - PG_LEVEL_2M))

/* One huge leaf to split into 512 of the level below: its first frame and value. */
struct stage2_split {
	gfn_t base;
	unsigned long leaf;
};

/*
 * The splits an operation makes, parents before children, and the
 * page-table pages topped up for them (kvm_mmu_topup_memory_cache()).
 */
struct split_plan {
	struct stage2_split split[SPLIT_MAX];
	void *cache[SPLIT_MAX];
	int nr;
};

static void plan_add(struct split_plan *p, gfn_t base, unsigned long leaf)
{
	for (int i = 0; i < p->nr; i++)
		if (p->split[i].base == base && p->split[i].leaf == leaf)
			return;
	p->split[p->nr++] = (struct stage2_split){base, leaf};
}

/* The huge leaf holding @edge and reaching below it, then its piece holding @edge, ... */
static void plan_edge(struct split_plan *p, struct kvm *kvm, gfn_t edge, unsigned int filter)
{
	gfn_t base;
	unsigned long leaf = stage2_lookup(kvm, edge, &base);
	int level = leaf_level(leaf);

	if (!leaf || base == edge || !(filter & leaf_filter(leaf)))
		return;
	for (; level > PG_LEVEL_4K && edge % kvm_level_pages(level); level--)
		plan_add(p, ALIGN_DOWN(edge, kvm_level_pages(level)),
			 (leaf & ~KVM_LEAF_LEVEL_MASK) | (unsigned long)level);
}

static void mmu_cache_free(struct split_plan *p)
{
	for (int i = 0; i < p->nr; i++)
		gs_free(GS_SITE_KVM_MMU_CACHE, p->cache[i], PAGE_SIZE);
}

/* One page-table page per split, as the MMU needs to hold the 512 new leaves. */
static int mmu_cache_topup(struct split_plan *p)
{
	for (int i = 0; i < p->nr; i++) {
		p->cache[i] = gs_alloc(GS_SITE_KVM_MMU_CACHE, PAGE_SIZE, GFP_KERNEL_ACCOUNT);
		if (!p->cache[i]) {
			for (int j = 0; j < i; j++)
				gs_free(GS_SITE_KVM_MMU_CACHE, p->cache[j], PAGE_SIZE);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The value of the pieces of @s: one level down, same kind. */
static unsigned long split_piece(const struct stage2_split *s)
{
	return s->leaf - 1;
}

/* Erase the pieces of splits [0, @nr) past each first one: they were not there before. */
static void split_unwind(struct kvm *kvm, const struct split_plan *p, int nr)
{
	for (int i = 0; i < nr; i++) {
		unsigned long step = kvm_level_pages(leaf_level(split_piece(&p->split[i])));

		for (unsigned long j = 1; j < 512; j++)
			xa_erase(&kvm->stage2, p->split[i].base + j * step);
	}
}

/*
 * Store the pieces of every split but the first of each (that key holds the
 * old leaf until the commit): the only step that allocates XArray nodes.
 * A child split's first key is a piece of its parent, stored here with the
 * parent's piece value and lowered at the commit.
 */
static int split_insert(struct kvm *kvm, const struct split_plan *p)
{
	for (int i = 0; i < p->nr; i++) {
		unsigned long piece = split_piece(&p->split[i]);
		unsigned long step = kvm_level_pages(leaf_level(piece));

		for (unsigned long j = 1; j < 512; j++) {
			void *old = xa_store(&kvm->stage2, p->split[i].base + j * step,
					     xa_mk_value(piece), GFP_KERNEL_ACCOUNT);

			if (xa_is_err(old)) {
				split_unwind(kvm, p, i + 1);
				return xa_err(old);
			}
		}
	}
	return 0;
}

/* Lower each split's first key to its piece and count: overwrites, no memory. */
static void split_commit(struct kvm *kvm, const struct split_plan *p)
{
	for (int i = 0; i < p->nr; i++) {
		unsigned long piece = split_piece(&p->split[i]);
		void *old =
			xa_store(&kvm->stage2, p->split[i].base, xa_mk_value(piece), GFP_ATOMIC);

		WARN_ON(xa_is_err(old));
		kvm->nr_leaves[leaf_level(p->split[i].leaf)]--;
		kvm->nr_leaves[leaf_level(piece)] += 512;
	}
}

int kvm_split_cross_boundary_leafs(struct kvm *kvm, struct kvm_gfn_range *range)
{
	struct split_plan p = {.nr = 0};
	int err;

	if (range->start >= range->end)
		return 0;
	plan_edge(&p, kvm, range->start, range->attr_filter);
	plan_edge(&p, kvm, range->end, range->attr_filter);
	if (!p.nr)
		return 0;
	err = mmu_cache_topup(&p);
	if (err)
		return err;
	err = split_insert(kvm, &p);
	if (!err)
		split_commit(kvm, &p);
	/* The model keeps no page-table pages: what the split consumed goes back. */
	mmu_cache_free(&p);
	return err;
}

/* --- split of every huge leaf of a range (the series' tdp_mmu_split_huge_pages_root()) --- */

/* The walk over the huge leaves of a range: which, down to what, and where it stopped. */
struct huge_walk {
	int target;
	unsigned int filter;
	gfn_t cover_base; /* the huge leaf reaching in from below, found before any change */
	unsigned long cover;
	gfn_t stop;	      /* unwind: the leaf whose insertion failed */
	unsigned long tables; /* count: page-table pages the split needs */
	void *cache;	      /* the topped-up pages, linked through their first word */
	int (*fn)(struct kvm *kvm, gfn_t base, unsigned long leaf, struct huge_walk *w);
};

static bool walk_wants(const struct huge_walk *w, unsigned long leaf)
{
	return leaf_level(leaf) > w->target && (w->filter & leaf_filter(leaf));
}

/* Every leaf of the walk's kinds above its target level in @r, in order of frame. */
static int walk_huge_leaves(struct kvm *kvm, const struct kvm_gfn_range *r, struct huge_walk *w)
{
	XA_STATE(xas, &kvm->stage2, r->start);
	unsigned long b;
	void *entry;
	int err;

	if (w->cover) {
		err = w->fn(kvm, w->cover_base, w->cover, w);
		if (err)
			return err;
	}
	/*
	 * Pieces stored on the way are at the target level: the walk passes
	 * over them. One xa_state along the leaves (most leaves are not
	 * wanted: a search from the head per leaf was most of the walk); a
	 * call may store or erase leaves, so the walk goes on from the head
	 * after it, at the next frame, as a search per leaf would.
	 */
	rcu_read_lock();
	xas_for_each (&xas, entry, r->end - 1) {
		if (xas_retry(&xas, entry) || !walk_wants(w, xa_to_value(entry)))
			continue;
		b = xas.xa_index;
		rcu_read_unlock();
		err = w->fn(kvm, b, xa_to_value(entry), w);
		if (err)
			return err;
		rcu_read_lock();
		xas_set(&xas, b + 1);
	}
	rcu_read_unlock();
	return 0;
}

/* Page tables a leaf split down to the target fills: 1 for one level, 513 for 1G to 4K. */
static int walk_count(struct kvm *kvm, gfn_t base, unsigned long leaf, struct huge_walk *w)
{
	(void)kvm;
	(void)base;
	for (int level = leaf_level(leaf); level > w->target; level--)
		w->tables += kvm_level_pages(leaf_level(leaf)) / kvm_level_pages(level);
	return 0;
}

static void walk_cache_free(struct huge_walk *w)
{
	while (w->cache) {
		void *next = *(void **)w->cache;

		gs_free(GS_SITE_KVM_MMU_CACHE, w->cache, PAGE_SIZE);
		w->cache = next;
	}
}

static int walk_cache_topup(struct huge_walk *w)
{
	for (unsigned long i = 0; i < w->tables; i++) {
		void *page = gs_alloc(GS_SITE_KVM_MMU_CACHE, PAGE_SIZE, GFP_KERNEL_ACCOUNT);

		if (!page) {
			walk_cache_free(w);
			return -ENOMEM;
		}
		*(void **)page = w->cache;
		w->cache = page;
	}
	return 0;
}

static unsigned long walk_piece(const struct huge_walk *w, unsigned long leaf)
{
	return (leaf & ~KVM_LEAF_LEVEL_MASK) | (unsigned long)w->target;
}

/* Store the pieces after the first (that key keeps the old leaf until the commit). */
static int walk_insert(struct kvm *kvm, gfn_t base, unsigned long leaf, struct huge_walk *w)
{
	unsigned long step = kvm_level_pages(w->target);
	unsigned long nr = kvm_level_pages(leaf_level(leaf)) / step;

	for (unsigned long j = 1; j < nr; j++) {
		void *old = xa_store(&kvm->stage2, base + j * step,
				     xa_mk_value(walk_piece(w, leaf)), GFP_KERNEL_ACCOUNT);

		if (xa_is_err(old)) {
			w->stop = base;
			return xa_err(old);
		}
	}
	return 0;
}

/* Erase the pieces of the leaves up to the one that failed; 1 stops the walk after it. */
static int walk_unwind(struct kvm *kvm, gfn_t base, unsigned long leaf, struct huge_walk *w)
{
	unsigned long step = kvm_level_pages(w->target);
	unsigned long nr = kvm_level_pages(leaf_level(leaf)) / step;

	for (unsigned long j = 1; j < nr; j++)
		xa_erase(&kvm->stage2, base + j * step);
	return base == w->stop;
}

static int walk_commit(struct kvm *kvm, gfn_t base, unsigned long leaf, struct huge_walk *w)
{
	void *old = xa_store(&kvm->stage2, base, xa_mk_value(walk_piece(w, leaf)), GFP_ATOMIC);

	WARN_ON(xa_is_err(old));
	kvm->nr_leaves[leaf_level(leaf)]--;
	kvm->nr_leaves[w->target] += kvm_level_pages(leaf_level(leaf)) / kvm_level_pages(w->target);
	return 0;
}

static int walk_run(struct kvm *kvm, const struct kvm_gfn_range *r, struct huge_walk *w,
		    int (*fn)(struct kvm *, gfn_t, unsigned long, struct huge_walk *))
{
	w->fn = fn;
	return walk_huge_leaves(kvm, r, w);
}

/* The walk a prepared split resumes: its range, target and the leaf reaching in from below. */
static void walk_resume(struct huge_walk *w, struct kvm_gfn_range *r,
			const struct kvm_split_cache *sc)
{
	*w = (struct huge_walk){.target = sc->target,
				.filter = sc->filter,
				.cover_base = sc->cover_base,
				.cover = sc->cover,
				.stop = ~(gfn_t)0,
				.cache = sc->pages};
	*r = (struct kvm_gfn_range){.start = sc->start, .end = sc->end, .attr_filter = sc->filter};
}

int kvm_split_huge_leafs_prepare(struct kvm *kvm, struct kvm_gfn_range *range, int target_level,
				 struct kvm_split_cache *sc)
{
	struct huge_walk w = {.target = target_level, .filter = range->attr_filter};
	int err;

	*sc = (struct kvm_split_cache){0};
	if (range->start >= range->end || target_level < PG_LEVEL_4K ||
	    target_level >= PG_LEVEL_NUM)
		return 0;
	w.cover = stage2_lookup(kvm, range->start, &w.cover_base);
	if (w.cover_base == range->start || !walk_wants(&w, w.cover))
		w.cover = 0;
	walk_run(kvm, range, &w, walk_count);
	if (!w.tables)
		return 0;
	err = walk_cache_topup(&w);
	if (err)
		return err;
	err = walk_run(kvm, range, &w, walk_insert);
	if (err) {
		walk_run(kvm, range, &w, walk_unwind);
		walk_cache_free(&w);
		return err;
	}
	*sc = (struct kvm_split_cache){.start = range->start,
				       .end = range->end,
				       .target = target_level,
				       .filter = range->attr_filter,
				       .cover_base = w.cover_base,
				       .cover = w.cover,
				       .pages = w.cache,
				       .pending = true};
	return 0;
}

void kvm_split_huge_leafs_finish(struct kvm *kvm, struct kvm_split_cache *sc, bool commit)
{
	struct kvm_gfn_range r;
	struct huge_walk w;

	if (!sc->pending)
		return;
	walk_resume(&w, &r, sc);
	walk_run(kvm, &r, &w, commit ? walk_commit : walk_unwind);
	walk_cache_free(&w);
	sc->pending = false;
	sc->pages = NULL;
}

int kvm_split_huge_leafs(struct kvm *kvm, struct kvm_gfn_range *range, int target_level)
{
	struct kvm_split_cache sc;
	int err = kvm_split_huge_leafs_prepare(kvm, range, target_level, &sc);

	if (!err)
		kvm_split_huge_leafs_finish(kvm, &sc, true);
	return err;
}

/* A leaf of @level over @gfn lies inside the slot, its frames and file pages equally aligned. */
static bool level_fits_slot(const struct kvm_memory_slot *slot, gfn_t gfn, int level)
{
	unsigned long pages = kvm_level_pages(level);
	gfn_t b = ALIGN_DOWN(gfn, pages);

	if ((slot->base_gfn ^ slot->gmem.pgoff) & (pages - 1))
		return false;
	return b >= slot->base_gfn && b + pages <= slot->base_gfn + slot->npages;
}

/*
 * The largest level for @gfn: no larger than the folio, inside the slot,
 * only where guest frames and file pages are equally aligned, and only over
 * frames of one attribute.
 */
static int max_mapping_level(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn,
			     int max_order)
{
	int level = max_order >= 18 ? PG_LEVEL_1G : max_order >= 9 ? PG_LEVEL_2M : PG_LEVEL_4K;

	for (; level > PG_LEVEL_4K; level--) {
		unsigned long pages = kvm_level_pages(level);
		gfn_t b = ALIGN_DOWN(gfn, pages);

		if (!level_fits_slot(slot, gfn, level))
			continue;
		/*
		 * Planted (test-only): under in-place conversion KVM keeps no
		 * attributes of its own and takes guest_memfd's order as the bound.
		 */
		if (gs_test_bug(GS_BUG_MAP_ORDER_UNROUNDED) && !kvm->params.vm_memory_attributes)
			break;
		if (range_private(kvm, slot, b, b + pages) >= 0)
			break;
	}
	return level;
}

/* kvm_mmu_prepare_memory_fault_exit(): userspace sees what the guest tried. */
static int memory_fault_exit(struct kvm_fault *fault, int err)
{
	fault->exit_reason = GS_KVM_EXIT_MEMORY_FAULT;
	fault->memory_fault_flags = fault->private ? GS_KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	return err;
}

/* Private accesses, and shared ones in guest_memfd-only slots, use guest_memfd. */
static bool fault_from_gmem(const struct kvm_memory_slot *slot, bool private)
{
	return private || slot->gmem_only;
}

/*
 * The fault's kvm_mmu_topup_memory_cache(): the page-table pages a leaf for
 * the fault's gfn needs at any level the slot allows (the most of them),
 * allocated before the pfn is looked up. Failing here leaves nothing
 * behind, and the store after kvm_gmem_get_pfn() (which may add a folio)
 * cannot fail. Stage-2's page tables are its XArray's nodes, so they are
 * charged to xarray.node like every XArray's (the split's separate pages
 * are kvm.mmu_cache). The kernel keeps a vCPU's cache filled to a fixed
 * minimum; the model allocates what this fault needs and frees what it did
 * not use, so a fault over existing page tables allocates nothing.
 */
static int fault_topup(struct kvm *kvm, const struct kvm_memory_slot *slot,
		       const struct kvm_fault *fault, struct xa_state *mc)
{
	int top = fault->from_gmem ? PG_LEVEL_1G : PG_LEVEL_4K;
	unsigned int need = 0;

	for (int level = PG_LEVEL_4K; level <= top; level++) {
		gfn_t base = ALIGN_DOWN(fault->gfn, kvm_level_pages(level));
		unsigned int nr;

		if (level > PG_LEVEL_4K && !level_fits_slot(slot, fault->gfn, level))
			continue;
		nr = gs_xa_store_nodes(&kvm->stage2, base);
		if (nr > need)
			need = nr;
	}
	return gs_xas_topup(mc, need, GS_SITE_XARRAY_NODE, GFP_KERNEL_ACCOUNT);
}

/*
 * Install the leaf from the topped-up cache @mc; the smaller leaves inside
 * it go, as the MMU replaces a page table by a huge leaf. The store comes
 * first: should it fail, stage-2 is as it was.
 */
static int stage2_install(struct kvm *kvm, struct kvm_fault *fault, unsigned long leaf,
			  struct xa_state *mc)
{
	int level = (int)(leaf & KVM_LEAF_LEVEL_MASK);
	unsigned long pages = kvm_level_pages(level), b;
	gfn_t base = ALIGN_DOWN(fault->gfn, pages);
	void *old, *entry;
	int err;

	xas_set(mc, base);
	do {
		xas_lock(mc);
		old = xas_store(mc, xa_mk_value(leaf));
		xas_unlock(mc);
		/* The top-up counted every node the store adds: one more is a model bug. */
		WARN_ON_ONCE(xas_error(mc) == -ENOMEM);
	} while (xas_nomem(mc, GFP_KERNEL_ACCOUNT));
	err = xas_error(mc);
	if (err)
		return err;
	if (old)
		kvm->nr_leaves[xa_to_value(old) & KVM_LEAF_LEVEL_MASK]--;
	kvm->nr_leaves[level]++;
	if (pages > 1) {
		xa_for_each_range (&kvm->stage2, b, entry, base + 1, base + pages - 1) {
			xa_erase(&kvm->stage2, b);
			kvm->nr_leaves[xa_to_value(entry) & KVM_LEAF_LEVEL_MASK]--;
		}
	}
	fault->level = level;
	return 0;
}

/*
 * The fault path's retry: an invalidation in progress over @gfn, or one
 * that ended since the fault began, may be taking the pfn away.
 */
static bool fault_stale(struct kvm *kvm, const struct kvm_fault *fault, unsigned long mmu_seq)
{
	return mmu_invalidate_retry_gfn(kvm, mmu_seq, fault->gfn);
}

/* A leaf of the fault's kind already there: the fault is spurious. */
static bool fault_already_mapped(struct kvm *kvm, struct kvm_fault *fault)
{
	gfn_t base;
	unsigned long leaf = stage2_lookup(kvm, fault->gfn, &base);

	if (leaf && !!(leaf & KVM_LEAF_PRIVATE) == fault->private) {
		fault->level = leaf_level(leaf);
		fault->from_gmem = leaf & KVM_LEAF_GMEM;
		return true;
	}
	/* A leaf of the other kind cannot outlive an attribute change; drop it if it did. */
	if (WARN_ON_ONCE(leaf))
		stage2_zap(kvm, fault->gfn, fault->gfn + 1, KVM_FILTER_ALL);
	return false;
}

/* The pfn (guest_memfd or userspace_addr) and the leaf that maps it. */
static int fault_map(struct kvm *kvm, struct kvm_memory_slot *slot, struct kvm_fault *fault,
		     unsigned long mmu_seq)
{
	XA_STATE(mc, &kvm->stage2, 0);
	unsigned long pfn, leaf;
	int max_order = 0, err;

	fault->from_gmem = fault_from_gmem(slot, fault->private);
	err = fault_topup(kvm, slot, fault, &mc);
	if (err)
		return err;
	if (fault->from_gmem) {
		err = kvm_slot_gmem_get_pfn(slot, fault->gfn, &pfn, &max_order);
		if (err) {
			xas_destroy(&mc);
			return memory_fault_exit(fault, err);
		}
	}
	if (fault_stale(kvm, fault, mmu_seq)) {
		xas_destroy(&mc);
		return -EAGAIN;
	}
	/* Host pages behind userspace_addr are modelled as 4 KiB. */
	leaf = (unsigned long)(fault->from_gmem
				       ? max_mapping_level(kvm, slot, fault->gfn, max_order)
				       : PG_LEVEL_4K);
	leaf |= (fault->private ? KVM_LEAF_PRIVATE : 0) | (fault->from_gmem ? KVM_LEAF_GMEM : 0);
	return stage2_install(kvm, fault, leaf, &mc);
}

int kvm_tdp_page_fault(struct kvm *kvm, struct kvm_fault *fault)
{
	struct kvm_memory_slot *slot = kvm_find_slot(kvm, fault->gfn);
	unsigned long mmu_seq = kvm->mmu_invalidate_seq;

	fault->level = 0;
	fault->exit_reason = 0;
	fault->memory_fault_flags = 0;
	fault->from_gmem = false;
	if (!slot) {
		if (fault->private)
			return memory_fault_exit(fault, -EFAULT);
		fault->exit_reason = GS_KVM_EXIT_MMIO;
		return 0;
	}
	if (fault->private != kvm_mem_is_private(kvm, fault->gfn))
		return memory_fault_exit(fault, -EFAULT);
	if (fault->private && !(slot->flags & GS_KVM_MEM_GUEST_MEMFD))
		return memory_fault_exit(fault, -EFAULT);
	/* Do not even look up a pfn that an invalidation is taking away. */
	if (fault_stale(kvm, fault, mmu_seq))
		return -EAGAIN;
	if (fault_already_mapped(kvm, fault))
		return 0;
	return fault_map(kvm, slot, fault, mmu_seq);
}

int kvm_tdp_map_private(struct kvm *kvm, gfn_t gfn, int *level)
{
	struct kvm_fault fault = {.gfn = gfn, .private = true};
	int err = kvm_tdp_page_fault(kvm, &fault);

	*level = fault.level;
	return err;
}

/* --- populate: the CoCo launch helpers (kvm_gmem_populate()) --- */

long kvm_gmem_populate(struct kvm *kvm, gfn_t start_gfn, const void *src, long npages,
		       kvm_gmem_populate_cb post_populate, void *opaque)
{
	struct kvm_memory_slot *slot = kvm_find_slot(kvm, start_gfn);
	const char *p = src;
	long i;
	int ret = 0;

	if (npages <= 0)
		return -EINVAL;
	if (!slot || !(slot->flags & GS_KVM_MEM_GUEST_MEMFD))
		return -EINVAL;
	if (!slot->gmem.file)
		return -EFAULT;
	kvm->arch_stats.populate_calls++;
	if ((unsigned long)npages > slot->npages - (start_gfn - slot->base_gfn))
		npages = (long)(slot->npages - (start_gfn - slot->base_gfn));
	for (i = 0; i < npages; i++) {
		gfn_t gfn = start_gfn + (gfn_t)i;

		ret = __kvm_gmem_populate(
			slot->gmem.file, slot, gfn - slot->base_gfn + slot->gmem.pgoff,
			kvm_mem_is_private(kvm, gfn), kvm->params.populate_eexist,
			p ? p + (size_t)i * PAGE_SIZE : NULL, post_populate, opaque);
		if (ret)
			break;
	}
	gs_trace("kvm.gmem_populate", GS_TF_U("type", kvm->type), GS_TF_X("gfn", start_gfn),
		 GS_TF_S("npages", npages), GS_TF_S("done", i), GS_TF_S("ret", ret));
	return ret && !i ? ret : i;
}

/* The source page into @pfn (memory kept as metadata only holds no data). */
static void populate_copy(struct kvm *kvm, unsigned long pfn, const void *src)
{
	void *data = gs_pfn_to_virt(pfn);

	if (!src)
		return;
	kvm->arch_stats.populate_copies++;
	if (data)
		memcpy(data, src, PAGE_SIZE);
}

/* The simulator's post_populate for sw_protected VMs: the copy alone. */
static int generic_post_populate(struct kvm_memory_slot *slot, pgoff_t index, unsigned long pfn,
				 const void *src, void *opaque)
{
	(void)index;
	(void)opaque;
	populate_copy(slot->kvm, pfn, src);
	slot->kvm->arch_stats.populated++;
	return 0;
}

/*
 * SEV's post_populate: the RMP entry must still be shared (a page
 * populated or prepared before is refused), then the copy, then the pfn is
 * assigned (firmware LAUNCH_UPDATE measures and encrypts it in place).
 */
static int snp_post_populate(struct kvm_memory_slot *slot, pgoff_t index, unsigned long pfn,
			     const void *src, void *opaque)
{
	struct kvm *kvm = slot->kvm;
	gfn_t gfn = slot->base_gfn + index - slot->gmem.pgoff;
	int err;

	(void)opaque;
	if (rmp_assigned(kvm, pfn))
		return -EINVAL;
	err = xa_err(xa_store(&kvm->rmp, pfn, xa_mk_value(gfn), GFP_KERNEL));
	if (err)
		return err;
	populate_copy(kvm, pfn, src);
	kvm->arch_stats.rmp_assigned++;
	kvm->arch_stats.populated++;
	return 0;
}

/* P16: a NULL source means "in place", which exists only with in-place conversion. */
static bool populate_src_ok(const struct kvm *kvm, const void *src)
{
	return src || kvm->gmem.in_place_conversion;
}

long snp_launch_update(struct kvm *kvm, gfn_t gfn, const void *src, long npages)
{
	if (kvm->type != GS_KVM_X86_SNP_VM || !populate_src_ok(kvm, src))
		return -EINVAL;
	return kvm_gmem_populate(kvm, gfn, src, npages, snp_post_populate, NULL);
}

long tdx_init_mem_region(struct kvm *kvm, gfn_t gfn, const void *src, long npages)
{
	if (kvm->type != GS_KVM_X86_TDX_VM || !populate_src_ok(kvm, src))
		return -EINVAL;
	/* TDH.MEM.PAGE.ADD copies the source into the private page: no RMP-like state here. */
	return kvm_gmem_populate(kvm, gfn, src, npages, generic_post_populate, NULL);
}

long gs_kvm_launch_populate(struct kvm *kvm, gfn_t gfn, const void *src, long npages)
{
	if (kvm->type == GS_KVM_X86_SNP_VM)
		return snp_launch_update(kvm, gfn, src, npages);
	if (kvm->type == GS_KVM_X86_TDX_VM)
		return tdx_init_mem_region(kvm, gfn, src, npages);
	if (!kvm->gmem.has_private_mem || !populate_src_ok(kvm, src))
		return -EINVAL;
	return kvm_gmem_populate(kvm, gfn, src, npages, generic_post_populate, NULL);
}

/* --- invariants --- */

/* A guest_memfd leaf maps inside one folio that is at least as large. */
static void check_gmem_leaf(struct gs_check_report *r, struct kvm_memory_slot *slot, gfn_t base,
			    unsigned long pages)
{
	struct folio *folio;
	pgoff_t index;

	if (!slot_gmem_index(slot, base, &index)) {
		gs_check_violation(r, "leaf %lx: guest_memfd leaf without a bound file", base);
		return;
	}
	folio = xa_load(&slot->gmem.file->inode->filemap, index);
	if (!folio) {
		gs_check_violation(r, "leaf %lx: no folio at file page %lx", base, index);
		return;
	}
	if (folio->index > index || index + pages > folio->index + folio_nr_pages(folio))
		gs_check_violation(r,
				   "leaf %lx: %lu pages, larger than the folio at %lx (order %u)",
				   base, pages, folio->index, folio_order(folio));
}

static void check_leaf(struct gs_check_report *r, struct kvm *kvm, gfn_t base, unsigned long leaf)
{
	int level = (int)(leaf & KVM_LEAF_LEVEL_MASK);
	unsigned long pages = kvm_level_pages(level);
	struct kvm_memory_slot *slot = kvm_find_slot(kvm, base);
	int priv;

	if (level < PG_LEVEL_4K || level >= PG_LEVEL_NUM || base % pages) {
		gs_check_violation(r, "leaf %lx: bad level %d", base, level);
		return;
	}
	if (!slot || base + pages > slot->base_gfn + slot->npages) {
		gs_check_violation(r, "leaf %lx: level %d not inside one memslot", base, level);
		return;
	}
	priv = range_private(kvm, slot, base, base + pages);
	if (priv < 0)
		gs_check_violation(r, "leaf %lx: level %d spans mixed attributes", base, level);
	else if (priv != !!(leaf & KVM_LEAF_PRIVATE))
		gs_check_violation(r, "leaf %lx: mapped %s, the range is now %s", base,
				   leaf & KVM_LEAF_PRIVATE ? "private" : "shared",
				   priv ? "private" : "shared");
	if (leaf & KVM_LEAF_GMEM)
		check_gmem_leaf(r, slot, base, pages);
}

static void kvm_check(struct gs_check_report *r, void *ctx)
{
	struct kvm *kvm;

	(void)ctx;
	list_for_each_entry (kvm, &vm_list, list) {
		unsigned long counted[PG_LEVEL_NUM] = {0}, b;
		void *entry;

		xa_for_each (&kvm->stage2, b, entry) {
			unsigned long leaf = xa_to_value(entry);

			check_leaf(r, kvm, b, leaf);
			if ((leaf & KVM_LEAF_LEVEL_MASK) < PG_LEVEL_NUM)
				counted[leaf & KVM_LEAF_LEVEL_MASK]++;
		}
		for (int level = PG_LEVEL_4K; level < PG_LEVEL_NUM; level++)
			if (counted[level] != kvm->nr_leaves[level])
				gs_check_violation(r, "vm: %lu level-%d leaves counted, %lu mapped",
						   kvm->nr_leaves[level], level, counted[level]);
		/* Checks run between operations: every invalidation begun has ended. */
		if (kvm->mmu_invalidate_in_progress)
			gs_check_violation(r,
					   "vm: %ld invalidations in progress between operations",
					   kvm->mmu_invalidate_in_progress);
	}
}

__attribute__((constructor)) static void kvm_init(void)
{
	WARN_ON(gs_check_register("kvm", kvm_check, NULL) < 0);
}

void kvm_dump_state(struct gs_state *st, const char *path, struct kvm *kvm)
{
	static const char *const sizes[] = {"", "4K", "2M", "1G"};
	unsigned long b, nr = 0;
	void *entry;
	char p[160];

	gs_state_add_u64(st, path, "type", kvm->type);
	gs_state_add(st, path, "attributes", "%s",
		     kvm->params.vm_memory_attributes ? "vm" : "gmem");
	gs_state_add_u64(st, path, "leaves.4K", kvm->nr_leaves[PG_LEVEL_4K]);
	gs_state_add_u64(st, path, "leaves.2M", kvm->nr_leaves[PG_LEVEL_2M]);
	gs_state_add_u64(st, path, "leaves.1G", kvm->nr_leaves[PG_LEVEL_1G]);
	gs_state_add(st, path, "invalidations_in_progress", "%ld", kvm->mmu_invalidate_in_progress);
	xa_for_each (&kvm->mem_attr_array, b, entry)
		nr++;
	gs_state_add_u64(st, path, "private_gfns", nr);
	if (kvm->type == GS_KVM_X86_SNP_VM)
		gs_state_add_u64(st, path, "rmp_assigned", kvm->arch_stats.rmp_assigned);
	xa_for_each (&kvm->stage2, b, entry) {
		unsigned long leaf = xa_to_value(entry);
		unsigned long level = leaf & KVM_LEAF_LEVEL_MASK;

		snprintf(p, sizeof(p), "%s/stage2/0x%lx", path, b << PAGE_SHIFT);
		gs_state_add(st, p, "level", "%s", level < 4 ? sizes[level] : "?");
		gs_state_add(st, p, "private", "%d", !!(leaf & KVM_LEAF_PRIVATE));
		gs_state_add(st, p, "source", "%s",
			     leaf & KVM_LEAF_GMEM ? "guest_memfd" : "userspace_addr");
	}
}
