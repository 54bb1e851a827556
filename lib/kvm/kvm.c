// SPDX-License-Identifier: MIT
/*
 * VMs, memslots and stage-2 (virt/kvm/kvm_main.c: kvm_vm_ioctl_check_extension(),
 * kvm_set_memory_region(); virt/kvm/guest_memfd.c: __kvm_gmem_get_pfn(); the
 * x86 MMU's huge page rules and fault routing; kvm_vm_ioctl_set_mem_attributes()
 * and the vm_memory_attributes switch of the in-place conversion series).
 * Stage-2 is a map from a leaf's first frame to its level and kind: enough
 * to check the mapping level rules and count leaves, not a page-table walker.
 */
#include <errno.h>

#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/kvm.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>

/* Which leaves a zap removes (enum kvm_gfn_range_filter). */
enum kvm_zap_filter {
	ZAP_PRIVATE = 1u << 0,
	ZAP_SHARED = 1u << 1,
	ZAP_ALL = ZAP_PRIVATE | ZAP_SHARED,
};

static LIST_HEAD(vm_list);

static void kvm_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end, unsigned int filter);

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
 * that kind (kvm_gmem_get_invalidate_filter()); leaves of the other kind map
 * userspace_addr. With attributes in guest_memfd both kinds come from it.
 */
static unsigned int gmem_zap_filter(const struct kvm_memory_slot *slot)
{
	if (!slot->kvm->params.vm_memory_attributes)
		return ZAP_ALL;
	return slot->gmem.file->inode->flags & GS_GUEST_MEMFD_FLAG_INIT_SHARED ? ZAP_SHARED
									       : ZAP_PRIVATE;
}

static void kvm_gmem_slot_invalidate(struct kvm_memory_slot *slot, pgoff_t start, pgoff_t end)
{
	gfn_t gstart, gend;

	slot_gfn_range(slot, start, end, &gstart, &gend);
	kvm_zap_gfn_range(slot->kvm, gstart, gend, gmem_zap_filter(slot));
}

/* A conversion's invalidation: only the leaves of the kinds its range holds (spec P13). */
static void kvm_gmem_slot_invalidate_filtered(struct kvm_memory_slot *slot, pgoff_t start,
					      pgoff_t end, unsigned int filter)
{
	unsigned int zap = (filter & KVM_FILTER_PRIVATE ? ZAP_PRIVATE : 0) |
			   (filter & KVM_FILTER_SHARED ? ZAP_SHARED : 0);
	gfn_t gstart, gend;

	slot_gfn_range(slot, start, end, &gstart, &gend);
	kvm_zap_gfn_range(slot->kvm, gstart, gend, zap);
}

static void kvm_gmem_slot_release(struct kvm_memory_slot *slot)
{
	unsigned int filter = gmem_zap_filter(slot);

	slot->gmem.file = NULL;
	kvm_zap_gfn_range(slot->kvm, slot->base_gfn, slot->base_gfn + slot->npages, filter);
}

static void kvm_gmem_get_vm(const struct gs_gmem_vm_info *vm)
{
	kvm_get_kvm(gmem_vm_kvm(vm));
}

static void kvm_gmem_put_vm(const struct gs_gmem_vm_info *vm)
{
	kvm_put_kvm(gmem_vm_kvm(vm));
}

static const struct gmem_kvm_ops kvm_gmem_ops = {
	.invalidate = kvm_gmem_slot_invalidate,
	.invalidate_filtered = kvm_gmem_slot_invalidate_filtered,
	.release = kvm_gmem_slot_release,
	.get = kvm_gmem_get_vm,
	.put = kvm_gmem_put_vm,
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
	struct kvm *kvm;

	if (type >= BITS_PER_LONG || !(KVM_VM_TYPES & (1UL << type)))
		return -EINVAL;
	kvm = gs_alloc(GS_SITE_KVM_VM, sizeof(*kvm), GFP_KERNEL | __GFP_ZERO);
	if (!kvm)
		return -ENOMEM;
	kvm->type = type;
	kvm->users_count = 1;
	kvm->params = *params;
	kvm->gmem = (struct gs_gmem_vm_info){
		.has_private_mem = type_has_private_mem(type),
		.supports_init_shared = supports_init_shared(params, type),
		.supports_hugetlb =
			params->profile == GS_GMEM_PROFILE_DESIGN && !params->gmem_no_hugetlb,
		.in_place_conversion = !params->vm_memory_attributes,
		.profile = params->profile,
		.ops = &kvm_gmem_ops,
	};
	xa_init(&kvm->memslots);
	xa_init(&kvm->mem_attr_array);
	xa_init(&kvm->stage2);
	list_add_tail(&kvm->list, &vm_list);
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
	kvm_zap_gfn_range(kvm, slot->base_gfn, slot->base_gfn + slot->npages, ZAP_ALL);
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
	xa_destroy(&kvm->memslots);
	xa_destroy(&kvm->mem_attr_array);
	xa_destroy(&kvm->stage2);
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
		return (long)kvm_gmem_get_supported_flags(kvm ? &kvm->gmem : NULL);
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
		kvm_zap_gfn_range(kvm, old->base_gfn, old->base_gfn + old->npages, ZAP_ALL);
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
	/* Past the point of no return: leaves of the old kind go, then the values change. */
	kvm_zap_gfn_range(kvm, start, end, ZAP_ALL);
	vm_attrs_commit(kvm, start, end, attrs->attributes);
	return 0;
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

static void kvm_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end, unsigned int filter)
{
	gfn_t first = ALIGN_DOWN(start, kvm_level_pages(PG_LEVEL_1G));
	unsigned long b;
	void *entry;

	if (start >= end)
		return;
	xa_for_each_range (&kvm->stage2, b, entry, first, end - 1) {
		unsigned long leaf = xa_to_value(entry);
		int level = (int)(leaf & KVM_LEAF_LEVEL_MASK);

		if (b + kvm_level_pages(level) <= start)
			continue;
		if (!(filter & (leaf & KVM_LEAF_PRIVATE ? ZAP_PRIVATE : ZAP_SHARED)))
			continue;
		xa_erase(&kvm->stage2, b);
		kvm->nr_leaves[level]--;
	}
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

		if ((slot->base_gfn ^ slot->gmem.pgoff) & (pages - 1))
			continue;
		if (b < slot->base_gfn || b + pages > slot->base_gfn + slot->npages)
			continue;
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
 * Install the leaf; the smaller leaves inside it go, as the MMU replaces a
 * page table by a huge leaf. The store is the only step that can fail, so
 * it comes first: a failed fault leaves stage-2 as it was.
 */
static int stage2_install(struct kvm *kvm, struct kvm_fault *fault, unsigned long leaf)
{
	int level = (int)(leaf & KVM_LEAF_LEVEL_MASK);
	unsigned long pages = kvm_level_pages(level), b;
	gfn_t base = ALIGN_DOWN(fault->gfn, pages);
	void *old = xa_load(&kvm->stage2, base), *entry;
	int err;

	err = xa_err(xa_store(&kvm->stage2, base, xa_mk_value(leaf), GFP_KERNEL));
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

int kvm_tdp_page_fault(struct kvm *kvm, struct kvm_fault *fault)
{
	struct kvm_memory_slot *slot = kvm_find_slot(kvm, fault->gfn);
	unsigned long pfn, leaf;
	int max_order = 0, err;
	gfn_t base;

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
	leaf = stage2_lookup(kvm, fault->gfn, &base);
	if (leaf && !!(leaf & KVM_LEAF_PRIVATE) == fault->private) {
		fault->level = (int)(leaf & KVM_LEAF_LEVEL_MASK);
		fault->from_gmem = leaf & KVM_LEAF_GMEM;
		return 0;
	}
	/* A leaf of the other kind cannot outlive an attribute change; drop it if it did. */
	if (WARN_ON_ONCE(leaf))
		kvm_zap_gfn_range(kvm, fault->gfn, fault->gfn + 1, ZAP_ALL);
	fault->from_gmem = fault_from_gmem(slot, fault->private);
	if (fault->from_gmem) {
		err = kvm_slot_gmem_get_pfn(slot, fault->gfn, &pfn, &max_order);
		if (err)
			return memory_fault_exit(fault, err);
	}
	/* Host pages behind userspace_addr are modelled as 4 KiB. */
	leaf = (unsigned long)(fault->from_gmem
				       ? max_mapping_level(kvm, slot, fault->gfn, max_order)
				       : PG_LEVEL_4K);
	leaf |= (fault->private ? KVM_LEAF_PRIVATE : 0) | (fault->from_gmem ? KVM_LEAF_GMEM : 0);
	return stage2_install(kvm, fault, leaf);
}

int kvm_tdp_map_private(struct kvm *kvm, gfn_t gfn, int *level)
{
	struct kvm_fault fault = {.gfn = gfn, .private = true};
	int err = kvm_tdp_page_fault(kvm, &fault);

	*level = fault.level;
	return err;
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
	xa_for_each (&kvm->mem_attr_array, b, entry)
		nr++;
	gs_state_add_u64(st, path, "private_gfns", nr);
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
