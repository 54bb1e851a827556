/* SPDX-License-Identifier: MIT */
/*
 * A guest for the live-kernel backend (lib/live/live_guest.c): one vCPU in
 * 64-bit mode making single-byte loads and stores at guest physical
 * addresses below 512 GiB.
 */
#ifndef GMEMSIM_LIVE_GUEST_H
#define GMEMSIM_LIVE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gmemsim/compiler.h>

/* The helper's memslot: far from scenario slots, inside the 512 GiB identity map (2 MiB + 12 KiB). */
#define GS_GUEST_HELPER_SLOT 32000
#define GS_GUEST_HELPER_GPA  0x7f00000000ULL

struct kvm_run;

/**
 * struct gs_live_guest - a vCPU and its memory on a live VM
 * @vcpu_fd: the vCPU
 * @run: the vCPU's shared kvm_run page
 * @run_size: its size
 * @mem: host memory of the helper memslot (code, page tables)
 */
struct gs_live_guest {
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	void *mem;
};

/**
 * struct gs_live_guest_access - how one guest access ended
 * @exit_reason: 0 (the access completed), KVM_EXIT_MEMORY_FAULT, or
 *               another exit KVM_RUN stopped with
 * @memory_fault_flags: kvm_run.memory_fault.flags of a memory-fault exit
 * @mmio: the access went to emulated MMIO (no memslot there)
 * @value: the byte a load read
 */
struct gs_live_guest_access {
	uint32_t exit_reason;
	uint64_t memory_fault_flags;
	bool mmio;
	uint8_t value;
};

/**
 * gs_live_guest_init() - add the helper memslot and a vCPU to a VM
 * @g: the guest to set up
 * @kvm_fd: /dev/kvm
 * @vm_fd: the VM
 *
 * Context: process context.
 * Return: 0, or -errno of the ioctls.
 */
GS_API int gs_live_guest_init(struct gs_live_guest *g, int kvm_fd, int vm_fd);

/** gs_live_guest_fini() - close the vCPU and unmap the helper's memory */
GS_API void gs_live_guest_fini(struct gs_live_guest *g);

/**
 * gs_live_guest_access() - one guest load or store of a byte at @gpa
 * @g: the guest
 * @gpa: guest physical address
 * @write: store @val instead of loading
 * @val: the byte to store
 * @a: how it ended
 *
 * Context: process context.
 * Return: 0 (completed, or emulated as MMIO); KVM_RUN's -errno (-EFAULT
 * with a memory-fault exit, -EHWPOISON, ...); -EIO for an unexpected exit.
 */
GS_API int gs_live_guest_access(struct gs_live_guest *g, uint64_t gpa, bool write, uint8_t val,
				struct gs_live_guest_access *a);

#endif /* GMEMSIM_LIVE_GUEST_H */
