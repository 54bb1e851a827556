// SPDX-License-Identifier: MIT
/*
 * A guest for the live-kernel backend: one vCPU in 64-bit mode that makes
 * single-byte loads and stores at any guest physical address, so a scenario
 * can ask the real KVM what the simulator answers with kvm_tdp_page_fault():
 * how a guest access ends (completed, emulated MMIO, a memory-fault exit,
 * an errno from KVM_RUN) and which byte it reads or leaves. What upstream's
 * selftests build with their guest library, reduced to that.
 *
 * The guest's own memory (two code stubs and an identity map of the low
 * 512 GiB in 2 MiB pages: a PML4, a PDPT and 512 page directories) lives in
 * a memslot of its own at GS_GUEST_HELPER_GPA, out of the way of scenario
 * addresses, and is written once before the vCPU first runs: some hosts
 * shadow the guest's page tables, and writes from the host side would go
 * unseen by the shadow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <gmemsim/live_guest.h>
#include <gmemsim/linux/kvm.h>

#define CODE_OFF    0x0000UL /* the two access stubs */
#define PML4_OFF    0x1000UL
#define PDPT_OFF    0x2000UL
#define PD_OFF	    0x3000UL /* 512 page directories, one per GiB */
#define HELPER_SIZE (PD_OFF + 512 * 0x1000UL)
#define WRITE_STUB  0x10UL

/* Page-table entry bits, and the x86 control bits 64-bit mode needs. */
#define PTE_P	 0x1ULL
#define PTE_RW	 0x2ULL
#define PTE_PS	 0x80ULL
#define CR0_PE	 0x1ULL
#define CR0_PG	 0x80000000ULL
#define CR4_PAE	 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

/* The host's CPUID for the vCPU: long mode needs LM in it. */
static int guest_set_cpuid(int kvm_fd, int vcpu_fd)
{
	const unsigned int nent = 128;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
	int r;

	if (!c)
		return -ENOMEM;
	c->nent = nent;
	r = ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0 ? neg_errno() : 0;
	if (!r && ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		r = neg_errno();
	free(c);
	return r;
}

/* Code stubs, and an identity map of [0, 512 GiB) in 2 MiB pages. */
static void guest_fill_memory(uint8_t *mem)
{
	/* mov al, [rdi]; hlt */
	static const uint8_t load[] = {0x8a, 0x07, 0xf4};
	/* mov [rdi], sil; hlt */
	static const uint8_t store[] = {0x40, 0x88, 0x37, 0xf4};
	uint64_t *pml4 = (uint64_t *)(mem + PML4_OFF), *pdpt = (uint64_t *)(mem + PDPT_OFF);

	memcpy(mem + CODE_OFF, load, sizeof(load));
	memcpy(mem + CODE_OFF + WRITE_STUB, store, sizeof(store));
	pml4[0] = (GS_GUEST_HELPER_GPA + PDPT_OFF) | PTE_P | PTE_RW;
	for (uint64_t gib = 0; gib < 512; gib++) {
		uint64_t *pd = (uint64_t *)(mem + PD_OFF + gib * 0x1000);

		pdpt[gib] = (GS_GUEST_HELPER_GPA + PD_OFF + gib * 0x1000) | PTE_P | PTE_RW;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = ((gib << 30) + (i << 21)) | PTE_P | PTE_RW | PTE_PS;
	}
}

static int guest_set_long_mode(int vcpu_fd)
{
	struct kvm_segment code = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = 8,
		.type = 11,
		.present = 1,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	struct kvm_segment data = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = 16,
		.type = 3,
		.present = 1,
		.s = 1,
		.db = 1,
		.g = 1,
	};
	struct kvm_sregs s;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return neg_errno();
	s.cr3 = GS_GUEST_HELPER_GPA + PML4_OFF;
	s.cr4 = CR4_PAE;
	s.cr0 = CR0_PE | CR0_PG;
	s.efer = EFER_LME | EFER_LMA;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	return ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0 ? neg_errno() : 0;
}

int gs_live_guest_init(struct gs_live_guest *g, int kvm_fd, int vm_fd)
{
	struct kvm_userspace_memory_region region = {
		.slot = GS_GUEST_HELPER_SLOT,
		.guest_phys_addr = GS_GUEST_HELPER_GPA,
		.memory_size = HELPER_SIZE,
	};
	int r, run_size;

	*g = (struct gs_live_guest){.vcpu_fd = -1};
	g->mem = mmap(NULL, HELPER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED) {
		g->mem = NULL;
		return neg_errno();
	}
	guest_fill_memory(g->mem);
	region.userspace_addr = (uint64_t)(uintptr_t)g->mem;
	r = ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? neg_errno() : 0;
	if (!r) {
		g->vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
		r = g->vcpu_fd < 0 ? neg_errno() : 0;
	}
	if (!r)
		r = guest_set_cpuid(kvm_fd, g->vcpu_fd);
	if (!r)
		r = guest_set_long_mode(g->vcpu_fd);
	run_size = r ? -1 : ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (!r && run_size <= 0)
		r = neg_errno();
	if (!r) {
		g->run_size = (size_t)run_size;
		g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu_fd, 0);
		if (g->run == MAP_FAILED) {
			g->run = NULL;
			r = neg_errno();
		}
	}
	if (r)
		gs_live_guest_fini(g);
	return r;
}

void gs_live_guest_fini(struct gs_live_guest *g)
{
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->vcpu_fd >= 0)
		close(g->vcpu_fd);
	/* The VM (and with it the helper's memslot) goes with the VM fd. */
	if (g->mem)
		munmap(g->mem, HELPER_SIZE);
	*g = (struct gs_live_guest){.vcpu_fd = -1};
}

/*
 * kvm_run.memory_fault (6.8+): the exit union's first three words. Read
 * through its own layout, as the host's headers may predate it.
 */
struct memory_fault_exit {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};

static const struct memory_fault_exit *memory_fault(const struct kvm_run *run)
{
	return (const struct memory_fault_exit *)(const void *)&run->mmio;
}

/* Run the stub at @stub with RDI = @gpa and SIL = @val until it halts or exits. */
static int guest_run(struct gs_live_guest *g, uint64_t stub, uint64_t gpa, uint8_t val,
		     struct gs_live_guest_access *a)
{
	struct kvm_regs regs = {
		.rip = GS_GUEST_HELPER_GPA + stub, .rdi = gpa, .rsi = val, .rflags = 2};

	if (ioctl(g->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return neg_errno();
	for (int tries = 0; tries < 4; tries++) {
		int r = ioctl(g->vcpu_fd, KVM_RUN, 0) < 0 ? neg_errno() : 0;

		a->exit_reason = g->run->exit_reason;
		if (r) {
			if (a->exit_reason == GS_KVM_EXIT_MEMORY_FAULT)
				a->memory_fault_flags = memory_fault(g->run)->flags;
			return r;
		}
		if (a->exit_reason == KVM_EXIT_HLT) {
			if (ioctl(g->vcpu_fd, KVM_GET_REGS, &regs) < 0)
				return neg_errno();
			a->value = (uint8_t)regs.rax;
			a->exit_reason = 0;
			return 0;
		}
		if (a->exit_reason != KVM_EXIT_MMIO)
			return -EIO;
		/* No memslot there: emulated MMIO. A load reads 0; finish the instruction. */
		a->mmio = true;
		memset(g->run->mmio.data, 0, sizeof(g->run->mmio.data));
	}
	return -EIO;
}

int gs_live_guest_access(struct gs_live_guest *g, uint64_t gpa, bool write, uint8_t val,
			 struct gs_live_guest_access *a)
{
	*a = (struct gs_live_guest_access){0};
	return guest_run(g, write ? CODE_OFF + WRITE_STUB : CODE_OFF, gpa, val, a);
}
