// SPDX-License-Identifier: MIT
/*
 * VMs, memslots and stage-2 (virt/kvm/kvm_main.c: kvm_vm_ioctl_check_extension(),
 * kvm_set_memory_region(); virt/kvm/guest_memfd.c: __kvm_gmem_get_pfn(); the
 * x86 MMU's huge page rules). Stage-2 is a map from a leaf's first frame to
 * its level: enough to check the mapping level rules and count leaves, not
 * a page-table walker.
 */
#include <errno.h>

#include <gmemsim/alloc.h>
#include <gmemsim/kvm.h>
#include <gmemsim/warn.h>

static void kvm_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end);

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

static void kvm_gmem_slot_invalidate(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end)
{
	gfn_t gstart, gend;

	slot_gfn_range(slot, start, end, &gstart, &gend);
	kvm_zap_gfn_range(slot->kvm, gstart, gend);
}

static void kvm_gmem_slot_release(struct kvm_memory_slot *slot)
{
	slot->gmem.file = NULL;
	kvm_zap_gfn_range(slot->kvm, slot->base_gfn, slot->base_gfn + slot->npages);
}

static const struct gmem_kvm_ops kvm_gmem_ops = {
	.invalidate = kvm_gmem_slot_invalidate,
	.release = kvm_gmem_slot_release,
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

int kvm_create_vm(unsigned long type, enum gs_gmem_profile profile, struct kvm **kvmp)
{
	struct kvm *kvm;

	if (type >= BITS_PER_LONG || !(KVM_VM_TYPES & (1UL << type)))
		return -EINVAL;
	kvm = gs_kzalloc(sizeof(*kvm), GFP_KERNEL);
	if (!kvm)
		return -ENOMEM;
	kvm->type = type;
	kvm->gmem = (struct gs_gmem_vm_info){
		.has_private_mem = type_has_private_mem(type),
		.supports_init_shared = !type_has_private_mem(type),
		.supports_hugetlb = profile == GS_GMEM_PROFILE_DESIGN,
		.profile = profile,
		.ops = &kvm_gmem_ops,
	};
	xa_init(&kvm->memslots);
	xa_init(&kvm->stage2);
	*kvmp = kvm;
	return 0;
}

static void kvm_delete_slot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	kvm_zap_gfn_range(kvm, slot->base_gfn, slot->base_gfn + slot->npages);
	if (slot->flags & GS_KVM_MEM_GUEST_MEMFD)
		kvm_gmem_unbind(slot->gmem.file, slot->gmem.pgoff, slot->npages);
	xa_erase(&kvm->memslots, slot->id);
	gs_kfree(slot, sizeof(*slot));
}

void kvm_destroy_vm(struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	unsigned long id;

	xa_for_each (&kvm->memslots, id, slot)
		kvm_delete_slot(kvm, slot);
	WARN_ON(!xa_empty(&kvm->stage2));
	xa_destroy(&kvm->memslots);
	xa_destroy(&kvm->stage2);
	gs_kfree(kvm, sizeof(*kvm));
}

long kvm_vm_check_extension(const struct kvm *kvm, long ext)
{
	switch (ext) {
	case GS_KVM_CAP_USER_MEMORY2:
	case GS_KVM_CAP_GUEST_MEMFD:
		return 1;
	case GS_KVM_CAP_VM_TYPES:
		return (long)KVM_VM_TYPES;
	case GS_KVM_CAP_GUEST_MEMFD_FLAGS:
		return (long)kvm_gmem_get_supported_flags(kvm ? &kvm->gmem : NULL);
	case GS_KVM_CAP_MEMORY_ATTRIBUTES:
		/* VM-level attributes (upstream): PRIVATE where memory can be private. */
		return kvm && kvm->gmem.has_private_mem ? (long)GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	default:
		return 0;
	}
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
	slot = gs_kzalloc(sizeof(*slot), GFP_KERNEL);
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
	}
	err = xa_err(xa_store(&kvm->memslots, slot->id, slot, GFP_KERNEL));
	if (!err)
		return 0;
	if (is_gmem)
		kvm_gmem_unbind(gmem, slot->gmem.pgoff, slot->npages);
free:
	gs_kfree(slot, sizeof(*slot));
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
		kvm_zap_gfn_range(kvm, old->base_gfn, old->base_gfn + old->npages);
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

/* --- stage-2 --- */

/* The leaf covering @gfn: its first frame and level, or level 0. */
static int stage2_lookup(struct kvm *kvm, gfn_t gfn, gfn_t *base)
{
	for (int level = PG_LEVEL_4K; level < PG_LEVEL_NUM; level++) {
		gfn_t b = ALIGN_DOWN(gfn, kvm_level_pages(level));
		void *entry = xa_load(&kvm->stage2, b);

		if (entry && xa_to_value(entry) == (unsigned long)level) {
			*base = b;
			return level;
		}
	}
	return 0;
}

int kvm_stage2_level(struct kvm *kvm, gfn_t gfn)
{
	gfn_t base;

	return stage2_lookup(kvm, gfn, &base);
}

static void kvm_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end)
{
	gfn_t first = ALIGN_DOWN(start, kvm_level_pages(PG_LEVEL_1G));
	unsigned long b;
	void *entry;

	if (start >= end)
		return;
	xa_for_each_range (&kvm->stage2, b, entry, first, end - 1) {
		int level = (int)xa_to_value(entry);

		if (b + kvm_level_pages(level) <= start)
			continue;
		xa_erase(&kvm->stage2, b);
		kvm->nr_leaves[level]--;
	}
}

/*
 * The largest level for @gfn: no larger than the folio, inside the slot, and
 * only where guest frames and file pages are equally aligned.
 */
static int max_mapping_level(const struct kvm_memory_slot *slot, gfn_t gfn, int max_order)
{
	int level = max_order >= 18 ? PG_LEVEL_1G : max_order >= 9 ? PG_LEVEL_2M : PG_LEVEL_4K;

	for (; level > PG_LEVEL_4K; level--) {
		unsigned long pages = kvm_level_pages(level);
		gfn_t b = ALIGN_DOWN(gfn, pages);

		if ((slot->base_gfn ^ slot->gmem.pgoff) & (pages - 1))
			continue;
		if (b >= slot->base_gfn && b + pages <= slot->base_gfn + slot->npages)
			break;
	}
	return level;
}

int kvm_tdp_map_private(struct kvm *kvm, gfn_t gfn, int *level)
{
	struct kvm_memory_slot *slot = kvm_find_slot(kvm, gfn);
	unsigned long pfn;
	int max_order, err;
	gfn_t base;

	if (!slot || !(slot->flags & GS_KVM_MEM_GUEST_MEMFD))
		return -EFAULT;
	err = kvm_slot_gmem_get_pfn(slot, gfn, &pfn, &max_order);
	if (err)
		return err;
	*level = stage2_lookup(kvm, gfn, &base);
	if (*level)
		return 0;
	*level = max_mapping_level(slot, gfn, max_order);
	base = ALIGN_DOWN(gfn, kvm_level_pages(*level));
	/* Smaller leaves inside the new one are replaced by it. */
	kvm_zap_gfn_range(kvm, base, base + kvm_level_pages(*level));
	err = xa_err(xa_store(&kvm->stage2, base, xa_mk_value((unsigned long)*level), GFP_KERNEL));
	if (err)
		return err;
	kvm->nr_leaves[*level]++;
	return 0;
}
