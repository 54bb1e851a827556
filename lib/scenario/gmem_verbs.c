// SPDX-License-Identifier: MIT
/*
 * Scenario verbs over the guest_memfd inode (lib/gmem*.c). A `gmem` object
 * is one file as a process sees it: its fd (until `close`), at most one
 * MAP_SHARED mapping of it (`mmap`, `munmap`) through which `fault`,
 * `read`, `write` and `pin` act, and the pages it pinned. Host accesses
 * that the kernel would answer with SIGBUS report the signal. Offsets and
 * lengths are in bytes, as in the syscalls.
 *
 * The upstream verbs (vm, memslot, gmem, stat, falloc, punch, close, mmap,
 * munmap, fault, read, write) also run on the live kernel: each run hook
 * dispatches on gs_scenario_backend(). The others are simulator-only.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <glib.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/live.h>
#include <gmemsim/kvm.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/scenario.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/page_alloc.h>

/*
 * --- The kernel backend ---
 *
 * With `--backend kernel` the upstream verbs run against the live /dev/kvm
 * through lib/live/live.c. Each object owns a struct gs_live context, so
 * tearing it down closes exactly its own fds and mappings. A guest_memfd
 * made without vm= gets a private DEFAULT VM, as the simulator describes
 * one with the vm_* keys. What the running kernel cannot express (a page
 * size, a private-memory VM without a VM type for it) is reported skipped,
 * never answered with a made-up result.
 */

/* A VM on the kernel: its own context, holding /dev/kvm and the VM fd. */
struct kvmfd {
	struct gs_live k;
	bool absent; /* of a type this host lacks: every verb on it is skipped */
	int fd;
};

/* A guest_memfd on the kernel: its context holds the fd, the mapping, and without vm= a VM. */
struct kgmem {
	struct gs_live k;
	bool absent; /* made with keys this kernel lacks: every verb on it is skipped */
	int fd;	     /* -1 once closed */
	void *map;   /* NULL when not mapped */
	size_t map_len;
	GArray *pins; /* struct kpin: pins outlive the fd and the mapping */
};

/* A long-term pin on the kernel: the io_uring ring whose fixed buffer holds it. */
struct kpin {
	uint64_t off;
	int ring;
};

static void kvmfd_destroy(void *obj)
{
	struct kvmfd *vm = obj;

	gs_live_close(&vm->k);
	g_free(vm);
}

static const struct gs_obj_type kvmfd_type = {
	.name = "vm",
	.destroy = kvmfd_destroy,
};

static void kgmem_destroy(void *obj)
{
	struct kgmem *g = obj;

	for (guint i = 0; g->pins && i < g->pins->len; i++)
		gs_live_unpin(g_array_index(g->pins, struct kpin, i).ring);
	if (g->pins)
		g_array_free(g->pins, true);

	gs_live_close(&g->k);
	g_free(g);
}

static const struct gs_obj_type kgmem_type = {
	.name = "gmem",
	.destroy = kgmem_destroy,
};

/* Name a placeholder, so the lines using the file are skipped too. */
static int k_gmem_absent(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kgmem *g = g_new0(struct kgmem, 1);

	g->absent = true;
	g->fd = -1;
	/* Only so that kgmem_destroy() finds an initialised context. */
	gs_live_open(&g->k);
	if (gs_scenario_obj_add(s, op->target, &kgmem_type, g)) {
		kgmem_destroy(g);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	res->skipped = true;
	return 0;
}

static int k_fallocate(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
		       int mode);

/* A fresh context with one VM of @type in it; the VM fd or -errno. */
static int k_open_vm(struct gs_live *k, unsigned long type)
{
	int r = gs_live_open(k);

	if (r)
		return r;
	r = gs_live_create_vm(k, type);
	if (r < 0)
		gs_live_close(k);
	return r;
}

static int k_vm_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	unsigned long type = gs_op_u64(op, "type", GS_KVM_X86_DEFAULT_VM);
	struct kvmfd *vm;

	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' exists already", op->target);
	vm = g_new0(struct kvmfd, 1);
	/*
	 * Other types need CONFIG_KVM_SW_PROTECTED_VM or SEV/TDX hardware,
	 * which the machines this runs on lack, and attributes tracked in
	 * guest_memfd need the in-place conversion series: keep a placeholder,
	 * so the lines that use the VM are skipped too.
	 */
	vm->absent = type != GS_KVM_X86_DEFAULT_VM;
	if (vm->absent)
		vm->fd = gs_live_open(&vm->k) ?: -1;
	else
		vm->fd = k_open_vm(&vm->k, type);
	if (vm->fd < 0 && !vm->absent) {
		res->ret = vm->fd;
		g_free(vm);
		return 0;
	}
	if (!vm->absent && !gs_op_u64(op, "vm_memory_attributes", 1) &&
	    gs_live_check_extension(&vm->k, -1, GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) <= 0)
		vm->absent = true;
	if (gs_scenario_obj_add(s, op->target, &kvmfd_type, vm)) {
		kvmfd_destroy(vm);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	res->skipped = vm->absent;
	if (vm->absent)
		return 0;
	/* A negative answer (no such cap) reads as 0, as the simulator reports it. */
	gs_result_set_hex(res, "gmem_flags",
			  (uint64_t)MAX(0L, gs_live_check_extension(&vm->k, vm->fd,
								    GS_KVM_CAP_GUEST_MEMFD_FLAGS)));
	gs_result_set(res, "memory_attributes",
		      (uint64_t)MAX(0L, gs_live_check_extension(&vm->k, vm->fd,
								GS_KVM_CAP_MEMORY_ATTRIBUTES)));
	gs_result_set(res, "gmem_memory_attributes",
		      (uint64_t)MAX(0L, gs_live_check_extension(
						&vm->k, vm->fd,
						GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)));
	return 0;
}

/*
 * The file @op names, or NULL: after reporting why (return -1), or with
 * @res marked skipped for a file the kernel could not make (return 0).
 */
static struct kgmem *k_op_gmem(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			       bool need_fd, bool need_map, int *ret)
{
	struct kgmem *g = gs_scenario_obj_get(s, op->target, &kgmem_type);

	*ret = -1;
	if (!g)
		gs_scenario_error(s, op, "no guest_memfd called '%s'", op->target);
	else if (g->absent)
		res->skipped = true, *ret = 0;
	else if (need_fd && g->fd < 0)
		gs_scenario_error(s, op, "'%s' is closed", op->target);
	else if (need_map && !g->map)
		gs_scenario_error(s, op, "'%s' is not mapped (use mmap)", op->target);
	else
		return g;
	return NULL;
}

static void k_set_stat_fields(struct gs_result *res, const struct kgmem *g)
{
	struct stat st;

	if (g->fd < 0 || gs_live_fstat(g->fd, &st))
		return;
	gs_result_set(res, "size", (uint64_t)st.st_size);
	gs_result_set(res, "blksize", (uint64_t)st.st_blksize);
	gs_result_set(res, "blocks", (uint64_t)st.st_blocks);
	gs_result_set_hex(res, "mode", (uint64_t)st.st_mode);
}

static int k_memslot_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvmfd *vm = gs_scenario_obj_get(s, op->target, &kvmfd_type);
	const char *gname = gs_op_str(op, "gmem", NULL);
	struct gs_kvm_userspace_memory_region2 mem = {
		.slot = (uint32_t)gs_op_u64(op, "slot", 0),
		.flags = (uint32_t)gs_op_u64(op, "flags", 0) | (gname ? GS_KVM_MEM_GUEST_MEMFD : 0),
		.guest_phys_addr = gs_op_u64(op, "gpa", 0),
		.memory_size = gs_op_u64(op, "size", 0),
		.userspace_addr = gs_op_u64(op, "uaddr", 0),
		.guest_memfd_offset = gs_op_u64(op, "off", 0),
		.guest_memfd = (uint32_t)-1,
	};
	struct kgmem *g = NULL;

	if (!vm)
		return gs_scenario_error(s, op, "no vm called '%s'", op->target);
	if (gname && !(g = gs_scenario_obj_get(s, gname, &kgmem_type)))
		return gs_scenario_error(s, op, "no guest_memfd called '%s'", gname);
	if (vm->absent || (g && g->absent)) {
		res->skipped = true;
		return 0;
	}
	/* A closed file passes fd -1, which the kernel answers with EBADF. */
	if (g)
		mem.guest_memfd = (uint32_t)g->fd;
	res->ret = gs_live_set_memslot(vm->fd, &mem);
	return 0;
}

/* The VM fd a new guest_memfd is made on (@vm's, or a private one), or -errno. */
static int k_gmem_vm_fd(struct kgmem *g, const struct kvmfd *vm)
{
	if (!vm)
		return k_open_vm(&g->k, GS_KVM_X86_DEFAULT_VM);
	return gs_live_open(&g->k) ?: vm->fd;
}

/* Keys the running kernel has no counterpart for: report the line skipped. */
static bool k_gmem_inexpressible(const struct gs_op *op)
{
	uint64_t page = gs_op_u64(op, "page", PAGE_SIZE);

	/*
	 * HugeTLB and page_order are a later design (spec §4); a VM with
	 * private memory needs a confidential VM type this host lacks.
	 */
	return page != PAGE_SIZE || gs_op_u64(op, "order", 0) || gs_op_u64(op, "vm_private", 0) ||
	       (gs_op_u64(op, "flags", 0) & GS_GUEST_MEMFD_FLAG_HUGETLB);
}

static int k_gmem_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvmfd *vm = NULL;
	struct kgmem *g;
	int vm_fd, fd;

	g = gs_scenario_obj_get(s, op->target, &kgmem_type);
	/* The simulator made nothing either if it failed: a placeholder may be reused. */
	if (g && g->absent)
		gs_scenario_obj_del(s, op->target);
	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' exists already", op->target);
	if (gs_op_has(op, "vm") &&
	    !(vm = gs_scenario_obj_get(s, gs_op_str(op, "vm", ""), &kvmfd_type)))
		return gs_scenario_error(s, op, "no vm called '%s'", gs_op_str(op, "vm", ""));
	if (k_gmem_inexpressible(op) || (vm && vm->absent))
		return k_gmem_absent(s, op, res);
	g = g_new0(struct kgmem, 1);
	vm_fd = k_gmem_vm_fd(g, vm);
	fd = vm_fd < 0 ? vm_fd
		       : gs_live_create_gmem(&g->k, vm_fd, gs_op_u64(op, "size", 0),
					     gs_op_u64(op, "flags", 0));
	if (fd < 0) {
		kgmem_destroy(g);
		res->ret = fd;
		return 0;
	}
	g->fd = fd;
	if (gs_scenario_obj_add(s, op->target, &kgmem_type, g)) {
		kgmem_destroy(g);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	k_set_stat_fields(res, g);
	return 0;
}

static int k_stat_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, true, false, &ret);

	if (!g)
		return ret;
	k_set_stat_fields(res, g);
	return 0;
}

static int k_fallocate(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
		       int mode)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, true, false, &ret);

	if (!g)
		return ret;
	res->ret = gs_live_fallocate(g->fd, mode, (int64_t)gs_op_u64(op, "off", 0),
				     (int64_t)gs_op_u64(op, "len", 0));
	k_set_stat_fields(res, g);
	return 0;
}

static int k_close_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, true, false, &ret);

	if (!g)
		return ret;
	res->ret = gs_live_close_fd(&g->k, g->fd);
	g->fd = -1;
	/* Pins outlive the fd and the mapping, as long-term pins do. */
	if (!g->map && !(g->pins && g->pins->len))
		gs_scenario_obj_del(s, op->target);
	return 0;
}

static int k_mmap_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, true, false, &ret);
	int flags = gs_op_u64(op, "private", 0) ? MAP_PRIVATE : MAP_SHARED;
	struct stat st;
	uint64_t len;

	if (!g)
		return ret;
	if (g->map)
		return gs_scenario_error(s, op, "'%s' is mapped already", op->target);
	res->ret = gs_live_fstat(g->fd, &st);
	if (res->ret)
		return 0;
	len = gs_op_u64(op, "len", (uint64_t)st.st_size);
	res->ret = gs_live_mmap(&g->k, g->fd, len, PROT_READ | PROT_WRITE, flags, 0, &g->map);
	if (!res->ret)
		g->map_len = len;
	return 0;
}

static int k_munmap_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, false, true, &ret);

	if (!g)
		return ret;
	res->ret = gs_live_munmap(&g->k, g->map, g->map_len);
	g->map = NULL;
	if (g->fd < 0 && !(g->pins && g->pins->len))
		gs_scenario_obj_del(s, op->target);
	return 0;
}

/*
 * Past the end of the mapping the process would take SIGSEGV, which no
 * scenario means to test: refuse such a line instead of crashing.
 */
static bool k_in_map(struct gs_scenario *s, const struct gs_op *op, const struct kgmem *g,
		     uint64_t off, uint64_t len)
{
	uint64_t end = (g->map_len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);

	if (off <= end && len <= end - off)
		return true;
	gs_scenario_error(s, op, "0x%" PRIx64 "+0x%" PRIx64 " is outside the mapping", off, len);
	return false;
}

static int k_fault_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, false, true, &ret);
	uint64_t off = gs_op_u64(op, "off", 0) & ~(uint64_t)(PAGE_SIZE - 1);
	unsigned char byte;

	if (!g)
		return ret;
	if (!k_in_map(s, op, g, off, 1))
		return -1;
	/* A read touch is the host fault the simulator's `fault` models. */
	if (gs_live_host_read(&byte, (unsigned char *)g->map + off, 1, NULL))
		res->sig = SIGBUS;
	return 0;
}

static int k_access_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			bool write)
{
	int ret;
	struct kgmem *g = k_op_gmem(s, op, res, false, true, &ret);
	uint64_t off = gs_op_u64(op, "off", 0);
	size_t len = gs_op_u64(op, "len", 0), done = 0;
	unsigned char *buf;
	bool uniform = true;
	int r;

	if (!g)
		return ret;
	if (!k_in_map(s, op, g, off, len))
		return -1;
	buf = g_malloc(len ? len : 1);
	memset(buf, (int)gs_op_u64(op, "byte", 0), len);
	if (write)
		r = gs_live_host_write((unsigned char *)g->map + off, buf, len, &done);
	else
		r = gs_live_host_read(buf, (unsigned char *)g->map + off, len, &done);
	if (r)
		res->sig = SIGBUS;
	gs_result_set(res, "done", done);
	for (size_t i = 1; i < done; i++)
		uniform &= buf[i] == buf[0];
	if (!write && done) {
		gs_result_set_hex(res, "data", buf[0]);
		gs_result_set(res, "uniform", uniform);
	}
	g_free(buf);
	return 0;
}

/* A pinned page and the mapping offset it was pinned at. */
struct vpin {
	unsigned long off;
	struct page *page;
};

struct vgmem {
	struct gs_gmem_vm_info vm; /* without vm=: the VM the file belongs to */
	struct gmem_file *file;	   /* NULL once closed */
	struct gmem_inode *inode;
	struct gmem_vma *vma;
	GArray *pins;
};

static void vgmem_unmap(struct vgmem *v)
{
	if (v->vma)
		kvm_gmem_munmap(v->vma);
	v->vma = NULL;
}

static void vgmem_destroy(void *obj)
{
	struct vgmem *v = obj;

	vgmem_unmap(v);
	if (v->file)
		kvm_gmem_fput(v->file);
	/* Pins outlive the file, as long-term GUP pins do; drop them last. */
	for (guint i = 0; i < v->pins->len; i++)
		kvm_gmem_unpin(g_array_index(v->pins, struct vpin, i).page);
	g_array_free(v->pins, true);
	g_free(v);
}

static void vgmem_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	struct vgmem *v = obj;

	(void)s;
	fprintf(f, "%s:%s%s pins=%u\n", name, v->file ? "" : " closed", v->vma ? " mapped" : "",
		v->pins->len);
	if (v->file)
		kvm_gmem_dump(v->inode, f);
}

static void vgmem_dump(struct gs_state *st, const char *path, void *obj)
{
	struct vgmem *v = obj;

	gs_state_add_u64(st, path, "open", v->file != NULL);
	gs_state_add_u64(st, path, "mapped", v->vma != NULL);
	gs_state_add_u64(st, path, "pins", v->pins->len);
	if (v->file)
		kvm_gmem_dump_state(st, path, v->inode);
}

static const struct gs_obj_type vgmem_type = {
	.name = "gmem",
	.destroy = vgmem_destroy,
	.show = vgmem_show,
	.dump = vgmem_dump,
};

/* The open file @op names, or NULL after reporting why. */
static struct vgmem *op_gmem(struct gs_scenario *s, const struct gs_op *op, bool need_fd,
			     bool need_map)
{
	struct vgmem *v = gs_scenario_obj_get(s, op->target, &vgmem_type);

	if (!v)
		gs_scenario_error(s, op, "no guest_memfd called '%s'", op->target);
	else if (need_fd && !v->file)
		gs_scenario_error(s, op, "'%s' is closed", op->target);
	else if (need_map && !v->vma)
		gs_scenario_error(s, op, "'%s' is not mapped (use mmap)", op->target);
	else
		return v;
	return NULL;
}

static void set_stat_fields(struct gs_result *res, const struct vgmem *v)
{
	struct gs_gmem_stat st;

	if (!v->file)
		return;
	kvm_gmem_fstat(v->file, &st);
	gs_result_set(res, "size", (uint64_t)st.st_size);
	gs_result_set(res, "blksize", st.st_blksize);
	gs_result_set(res, "blocks", st.st_blocks);
	gs_result_set_hex(res, "mode", st.st_mode);
}

/* --- vm: KVM_CREATE_VM --- */

static void vvm_destroy(void *obj)
{
	kvm_destroy_vm(obj);
}

static void vvm_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	struct kvm *kvm = obj;

	static const char *const sizes[] = {"", "4K", "2M", "1G"};
	unsigned long b, nr = 0;
	void *entry;

	(void)s;
	fprintf(f, "%s: type=%lu attributes=%s leaves 4K=%lu 2M=%lu 1G=%lu\n", name, kvm->type,
		kvm->params.vm_memory_attributes ? "vm" : "gmem", kvm->nr_leaves[PG_LEVEL_4K],
		kvm->nr_leaves[PG_LEVEL_2M], kvm->nr_leaves[PG_LEVEL_1G]);
	xa_for_each (&kvm->mem_attr_array, b, entry)
		nr++;
	if (nr)
		fprintf(f, " private gfns (per VM): %lu\n", nr);
	/* The leaves themselves, a line each (a long list is cut: the counts say the rest). */
	nr = 0;
	xa_for_each (&kvm->stage2, b, entry) {
		unsigned long leaf = xa_to_value(entry);

		if (nr++ == 32) {
			fputs(" ...\n", f);
			break;
		}
		fprintf(f, " gpa 0x%lx: %s %s %s\n", b << PAGE_SHIFT,
			sizes[leaf & KVM_LEAF_LEVEL_MASK],
			leaf & KVM_LEAF_PRIVATE ? "private" : "shared",
			leaf & KVM_LEAF_GMEM ? "guest_memfd" : "userspace_addr");
	}
}

static void vvm_dump(struct gs_state *st, const char *path, void *obj)
{
	kvm_dump_state(st, path, obj);
}

static const struct gs_obj_type vvm_type = {
	.name = "vm",
	.destroy = vvm_destroy,
	.show = vvm_show,
	.dump = vvm_dump,
};

static const char *const type_names[] = {"default", "sw_protected", "sev", "sev_es",
					 "snp",	    "tdx",	    NULL};
static const char *const profile_names[] = {"design", "upstream", NULL};

static const struct gs_key vm_keys[] = {
	{"type", GS_ARG_ENUM, type_names, .help = "default (0), sw_protected, snp or tdx"},
	{"profile", GS_ARG_ENUM, profile_names, .help = "design (default) or upstream"},
	{"vm_memory_attributes", GS_ARG_BOOL,
	 .help = "kvm.vm_memory_attributes: 1 = PRIVATE per VM (upstream's default), "
		 "0 = in guest_memfd (the design's)"},
	{NULL},
};

static const char *const vm_outputs[] = {"gmem_flags", "memory_attributes",
					 "gmem_memory_attributes", NULL};

static int sim_vm_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm;

	struct kvm_params params =
		kvm_default_params((enum gs_gmem_profile)gs_op_u64(op, "profile", 0));

	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' exists already", op->target);
	params.vm_memory_attributes =
		gs_op_u64(op, "vm_memory_attributes", params.vm_memory_attributes);
	res->ret =
		kvm_create_vm_params(gs_op_u64(op, "type", GS_KVM_X86_DEFAULT_VM), &params, &kvm);
	if (res->ret)
		return 0;
	if (gs_scenario_obj_add(s, op->target, &vvm_type, kvm)) {
		kvm_destroy_vm(kvm);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	gs_result_set_hex(res, "gmem_flags",
			  (uint64_t)kvm_vm_check_extension(kvm, GS_KVM_CAP_GUEST_MEMFD_FLAGS));
	gs_result_set(res, "memory_attributes",
		      (uint64_t)kvm_vm_check_extension(kvm, GS_KVM_CAP_MEMORY_ATTRIBUTES));
	gs_result_set(
		res, "gmem_memory_attributes",
		(uint64_t)kvm_vm_check_extension(kvm, GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES));
	return 0;
}

static const struct gs_verb verb_vm = {
	.name = "vm",
	.summary = "KVM_CREATE_VM; outputs gmem_flags, memory_attributes, gmem_memory_attributes "
		   "(KVM_CHECK_EXTENSION)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = vm_keys,
	.outputs = vm_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_vm_run,
	.run_kernel = k_vm_run,
};

static const struct gs_key memslot_keys[] = {
	{"slot", GS_ARG_U64, .required = true, .help = "slot id"},
	{"gpa", GS_ARG_U64, .help = "guest_phys_addr"},
	{"size", GS_ARG_U64, .help = "memory_size (0 deletes)"},
	{"gmem", GS_ARG_STR, .help = "the guest_memfd to bind (sets KVM_MEM_GUEST_MEMFD)"},
	{"off", GS_ARG_U64, .help = "guest_memfd_offset"},
	{"flags", GS_ARG_U64, .help = "extra KVM_MEM_* bits"},
	{"uaddr", GS_ARG_U64, .help = "userspace_addr"},
	{NULL},
};

static int sim_memslot_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = gs_scenario_obj_get(s, op->target, &vvm_type);
	const char *gname = gs_op_str(op, "gmem", NULL);
	struct gs_kvm_userspace_memory_region2 mem = {
		.slot = (uint32_t)gs_op_u64(op, "slot", 0),
		.flags = (uint32_t)gs_op_u64(op, "flags", 0) | (gname ? GS_KVM_MEM_GUEST_MEMFD : 0),
		.guest_phys_addr = gs_op_u64(op, "gpa", 0),
		.memory_size = gs_op_u64(op, "size", 0),
		.userspace_addr = gs_op_u64(op, "uaddr", 0),
		.guest_memfd_offset = gs_op_u64(op, "off", 0),
	};
	struct vgmem *v = NULL;

	if (!kvm)
		return gs_scenario_error(s, op, "no vm called '%s'", op->target);
	if (gname && !(v = gs_scenario_obj_get(s, gname, &vgmem_type)))
		return gs_scenario_error(s, op, "no guest_memfd called '%s'", gname);
	/* A closed file is a closed fd: EBADF. */
	res->ret = kvm_set_user_memory_region2(kvm, &mem, v ? v->file : NULL);
	return 0;
}

static const struct gs_verb verb_memslot = {
	.name = "memslot",
	.usage_target = "VM",
	.summary = "KVM_SET_USER_MEMORY_REGION2",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = memslot_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_memslot_run,
	.run_kernel = k_memslot_run,
};

static const struct gs_key gfault_keys[] = {
	{"gpa", GS_ARG_U64, .required = true, .help = "guest physical address"},
	{"private", GS_ARG_BOOL,
	 .help = "the access is private (1) or shared (0); default: what the gfn is now, as a "
		 "well-behaved guest accesses it"},
	{NULL},
};

static const char *const gfault_outputs[] = {"level", "exit", "private", "gmem", NULL};

static const char *exit_name(uint32_t reason)
{
	return reason == GS_KVM_EXIT_MMIO	    ? "mmio"
	       : reason == GS_KVM_EXIT_MEMORY_FAULT ? "memory_fault"
						    : "none";
}

static int gfault_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = gs_scenario_obj_get(s, op->target, &vvm_type);
	struct kvm_fault fault;

	if (!kvm)
		return gs_scenario_error(s, op, "no vm called '%s'", op->target);
	fault = (struct kvm_fault){.gfn = gs_op_u64(op, "gpa", 0) >> PAGE_SHIFT};
	fault.private = gs_op_has(op, "private") ? gs_op_u64(op, "private", 0)
						 : kvm_mem_is_private(kvm, fault.gfn);
	res->ret = kvm_tdp_page_fault(kvm, &fault);
	gs_result_set_str(res, "exit", exit_name(fault.exit_reason));
	/* memory_fault.flags: whether the access that exited was private. */
	gs_result_set(res, "private", fault.private);
	if (fault.level) {
		gs_result_set(res, "level", (uint64_t)fault.level);
		gs_result_set(res, "gmem", fault.from_gmem);
	}
	return 0;
}

static const struct gs_verb verb_gfault = {
	.name = "gfault",
	.usage_target = "VM",
	.summary = "a guest fault through the TDP MMU; outputs level (1 = 4K, 2 = 2M, 3 = 1G), "
		   "exit (none, mmio, memory_fault), private, gmem (served from guest_memfd)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = gfault_keys,
	.outputs = gfault_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = gfault_run,
};

/* --- attr: VM-level KVM_SET_MEMORY_ATTRIBUTES --- */

static const struct gs_key attr_keys[] = {
	{"gpa", GS_ARG_U64, .required = true, .help = "address"},
	{"size", GS_ARG_U64, .required = true, .help = "size in bytes"},
	{"private", GS_ARG_BOOL, .help = "set KVM_MEMORY_ATTRIBUTE_PRIVATE (else shared)"},
	{"attributes", GS_ARG_U64, .help = "the raw attributes word, instead of private="},
	{"flags", GS_ARG_U64, .help = "the flags word (must be 0)"},
	{NULL},
};

static struct gs_kvm_memory_attributes op_attrs(const struct gs_op *op)
{
	return (struct gs_kvm_memory_attributes){
		.address = gs_op_u64(op, "gpa", 0),
		.size = gs_op_u64(op, "size", 0),
		.attributes = gs_op_u64(
			op, "attributes",
			gs_op_u64(op, "private", 0) ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0),
		.flags = gs_op_u64(op, "flags", 0),
	};
}

static int sim_attr_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = gs_scenario_obj_get(s, op->target, &vvm_type);
	struct gs_kvm_memory_attributes a = op_attrs(op);

	if (!kvm)
		return gs_scenario_error(s, op, "no vm called '%s'", op->target);
	res->ret = kvm_vm_set_memory_attributes(kvm, &a);
	return 0;
}

static int k_attr_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvmfd *vm = gs_scenario_obj_get(s, op->target, &kvmfd_type);
	struct gs_kvm_memory_attributes a = op_attrs(op);

	if (!vm)
		return gs_scenario_error(s, op, "no vm called '%s'", op->target);
	if (vm->absent) {
		res->skipped = true;
		return 0;
	}
	res->ret = gs_live_set_memory_attributes(vm->fd, a.address, a.size, a.attributes, a.flags);
	/* A kernel built without per-VM attributes lacks the ioctl: that is no answer. */
	if (res->ret == -ENOTTY) {
		res->skipped = true;
		gs_result_why(res, "this kernel has no KVM_SET_MEMORY_ATTRIBUTES (ENOTTY)");
	}
	return 0;
}

static const struct gs_verb verb_attr = {
	.name = "attr",
	.usage_target = "VM",
	.summary = "VM-level KVM_SET_MEMORY_ATTRIBUTES (per-VM attributes: vm_memory_attributes=1)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = attr_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_attr_run,
	.run_kernel = k_attr_run,
};

static const char *const s2_outputs[] = {"level", "leaves_4k", "leaves_2m", "leaves_1g", NULL};

static int s2_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = gs_scenario_obj_get(s, op->target, &vvm_type);

	if (!kvm)
		return gs_scenario_error(s, op, "no vm called '%s'", op->target);
	if (gs_op_has(op, "gpa"))
		gs_result_set(
			res, "level",
			(uint64_t)kvm_stage2_level(kvm, gs_op_u64(op, "gpa", 0) >> PAGE_SHIFT));
	gs_result_set(res, "leaves_4k", kvm->nr_leaves[PG_LEVEL_4K]);
	gs_result_set(res, "leaves_2m", kvm->nr_leaves[PG_LEVEL_2M]);
	gs_result_set(res, "leaves_1g", kvm->nr_leaves[PG_LEVEL_1G]);
	return 0;
}

static const struct gs_key s2_keys[] = {
	{"gpa", GS_ARG_U64, .help = "report the level of the leaf mapping this address"},
	{NULL},
};

static const struct gs_verb verb_stage2 = {
	.name = "stage2",
	.usage_target = "VM",
	.summary = "leaves by level, and the level mapping gpa (0: none)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = s2_keys,
	.outputs = s2_outputs,
	.backends = GS_BACKEND_SIM,
	.run = s2_run,
};

/* --- gmem: KVM_CREATE_GUEST_MEMFD --- */

static const char *const flag_names[] = {"mmap", "init_shared", "hugetlb", NULL};
static const uint64_t flag_values[] = {GS_GUEST_MEMFD_FLAG_MMAP, GS_GUEST_MEMFD_FLAG_INIT_SHARED,
				       GS_GUEST_MEMFD_FLAG_HUGETLB};

static const struct gs_key gmem_keys[] = {
	{"size", GS_ARG_U64, .required = true, .help = "file size in bytes"},
	{"vm", GS_ARG_STR, .help = "the VM (from `vm`); without it, vm_* keys describe one"},
	{"flags", GS_ARG_FLAGS, flag_names, flag_values, .help = "mmap|init_shared|hugetlb"},
	{"page", GS_ARG_U64, .help = "page size: 4K (default), 2M or 1G (page_order)"},
	{"order", GS_ARG_U64, .help = "raw page_order, instead of page="},
	{"vm_private", GS_ARG_BOOL, .help = "the VM has private memory (no INIT_SHARED)"},
	{"vm_hugetlb", GS_ARG_BOOL, .help = "the VM offers HUGETLB (default 1)"},
	{"profile", GS_ARG_ENUM, profile_names,
	 .help = "design (default) or upstream (st_blocks 0)"},
	{NULL},
};

static const char *const stat_outputs[] = {"size", "blksize", "blocks", "mode", NULL};

static uint64_t op_page_order(const struct gs_op *op)
{
	uint64_t page = gs_op_u64(op, "page", PAGE_SIZE);

	if (gs_op_has(op, "order"))
		return gs_op_u64(op, "order", 0);
	return (uint64_t)__builtin_ctzll(page) - PAGE_SHIFT;
}

static int gmem_validate(const struct gs_op *op, char *err, size_t len)
{
	uint64_t page = gs_op_u64(op, "page", PAGE_SIZE);

	if (page < PAGE_SIZE || (page & (page - 1))) {
		snprintf(err, len, "page= must be a power of two of at least 4K");
		return -1;
	}
	return 0;
}

static int sim_gmem_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	bool private_mem = gs_op_u64(op, "vm_private", 0);
	const struct gs_gmem_vm_info *vm;
	struct vgmem *v;

	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' exists already", op->target);
	v = g_new0(struct vgmem, 1);
	v->vm = (struct gs_gmem_vm_info){
		.has_private_mem = private_mem,
		.supports_init_shared = !private_mem,
		.supports_hugetlb = gs_op_u64(op, "vm_hugetlb", 1),
		.profile = (enum gs_gmem_profile)gs_op_u64(op, "profile", GS_GMEM_PROFILE_DESIGN),
	};
	vm = &v->vm;
	if (gs_op_has(op, "vm")) {
		struct kvm *kvm = gs_scenario_obj_get(s, gs_op_str(op, "vm", ""), &vvm_type);

		if (!kvm) {
			g_free(v);
			return gs_scenario_error(s, op, "no vm called '%s'",
						 gs_op_str(op, "vm", ""));
		}
		vm = &kvm->gmem;
	}
	res->ret = kvm_gmem_create(vm, (loff_t)gs_op_u64(op, "size", 0), gs_op_u64(op, "flags", 0),
				   op_page_order(op), &v->file);
	if (res->ret) {
		g_free(v);
		return 0;
	}
	v->inode = v->file->inode;
	v->pins = g_array_new(false, false, sizeof(struct vpin));
	if (gs_scenario_obj_add(s, op->target, &vgmem_type, v)) {
		vgmem_destroy(v);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	set_stat_fields(res, v);
	return 0;
}

static const struct gs_verb verb_gmem = {
	.name = "gmem",
	.summary = "KVM_CREATE_GUEST_MEMFD",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = gmem_keys,
	.outputs = stat_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.validate = gmem_validate,
	.run = sim_gmem_run,
	.run_kernel = k_gmem_run,
};

/* --- stat, falloc, punch, close --- */

static int sim_stat_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, true, false);

	if (!v)
		return -1;
	set_stat_fields(res, v);
	return 0;
}

static const struct gs_verb verb_stat = {
	.name = "stat",
	.summary = "fstat(); outputs size, blksize, blocks (st_blocks), mode (st_mode)",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = stat_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.run = sim_stat_run,
	.run_kernel = k_stat_run,
};

static const char *const mode_names[] = {"keep_size",	   "punch_hole", "no_hide_stale",
					 "collapse_range", "zero_range", "insert_range",
					 "unshare_range",  NULL};

static const struct gs_key falloc_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in bytes"},
	{"len", GS_ARG_U64, .required = true, .help = "length in bytes"},
	{"mode", GS_ARG_FLAGS, mode_names, .help = "FALLOC_FL_* (default keep_size)"},
	{NULL},
};

static int sim_fallocate_common(struct gs_scenario *s, const struct gs_op *op,
				struct gs_result *res, int mode)
{
	struct vgmem *v = op_gmem(s, op, true, false);

	if (!v)
		return -1;
	res->ret = kvm_gmem_fallocate(v->file, mode, (loff_t)gs_op_u64(op, "off", 0),
				      (loff_t)gs_op_u64(op, "len", 0));
	set_stat_fields(res, v);
	return 0;
}

static int fallocate_common(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			    int mode)
{
	if (gs_scenario_backend(s) == GS_BACKEND_KERNEL)
		return k_fallocate(s, op, res, mode);
	return sim_fallocate_common(s, op, res, mode);
}

static int falloc_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int mode = (int)gs_op_u64(op, "mode", GS_FALLOC_FL_KEEP_SIZE);

	return fallocate_common(s, op, res, mode);
}

static const struct gs_verb verb_falloc = {
	.name = "falloc",
	.summary = "fallocate()",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = falloc_keys,
	.outputs = stat_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = falloc_run,
};

static const struct gs_key range_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in bytes"},
	{"len", GS_ARG_U64, .required = true, .help = "length in bytes"},
	{NULL},
};

static int punch_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	return fallocate_common(s, op, res, GS_FALLOC_FL_KEEP_SIZE | GS_FALLOC_FL_PUNCH_HOLE);
}

static const struct gs_verb verb_punch = {
	.name = "punch",
	.summary = "fallocate(KEEP_SIZE|PUNCH_HOLE)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = range_keys,
	.outputs = stat_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = punch_run,
};

static int sim_close_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, true, false);

	(void)res;
	if (!v)
		return -1;
	kvm_gmem_fput(v->file);
	v->file = NULL;
	/* Nothing else refers to the object: forget it. */
	if (!v->vma && !v->pins->len)
		gs_scenario_obj_del(s, op->target);
	return 0;
}

static const struct gs_verb verb_close = {
	.name = "close",
	.summary = "close the fd (a mapping keeps the file open)",
	.target = GS_ARG_STR,
	.target_required = true,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_close_run,
	.run_kernel = k_close_run,
};

/* --- host side: mmap, munmap, fault, read, write, pin, unpin --- */

static const struct gs_key mmap_keys[] = {
	{"len", GS_ARG_U64, .help = "mapping length in bytes (default: the file size)"},
	{"private", GS_ARG_BOOL, .help = "MAP_PRIVATE instead of MAP_SHARED"},
	{NULL},
};

static int sim_mmap_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, true, false);
	uint64_t len;

	if (!v)
		return -1;
	if (v->vma)
		return gs_scenario_error(s, op, "'%s' is mapped already", op->target);
	len = gs_op_u64(op, "len", (uint64_t)v->inode->size);
	res->ret = kvm_gmem_mmap(v->file, 0, (len + PAGE_SIZE - 1) >> PAGE_SHIFT,
				 !gs_op_u64(op, "private", 0), &v->vma);
	return 0;
}

static const struct gs_verb verb_mmap = {
	.name = "mmap",
	.summary = "map the file at offset 0",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = mmap_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_mmap_run,
	.run_kernel = k_mmap_run,
};

static int sim_munmap_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, false, true);

	(void)res;
	if (!v)
		return -1;
	vgmem_unmap(v);
	if (!v->file && !v->pins->len)
		gs_scenario_obj_del(s, op->target);
	return 0;
}

static const struct gs_verb verb_munmap = {
	.name = "munmap",
	.summary = "remove the mapping",
	.target = GS_ARG_STR,
	.target_required = true,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_munmap_run,
	.run_kernel = k_munmap_run,
};

/* The signal a failed host access raises; VM_FAULT_OOM is the OOM killer's -ENOMEM. */
static void set_fault_result(struct gs_result *res, vm_fault_t fault)
{
	if (fault & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON))
		res->sig = SIGBUS;
	else if (fault & VM_FAULT_OOM)
		res->ret = -ENOMEM;
}

static const struct gs_key off_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in the mapping, in bytes"},
	{NULL},
};

static int sim_fault_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, false, true);

	if (!v)
		return -1;
	set_fault_result(res, kvm_gmem_fault(v->vma, gs_op_u64(op, "off", 0) >> PAGE_SHIFT));
	return 0;
}

static const struct gs_verb verb_fault = {
	.name = "fault",
	.summary = "a host page fault (SIGBUS past i_size, on private or poisoned pages)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = off_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = sim_fault_run,
	.run_kernel = k_fault_run,
};

static const struct gs_key rw_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in the mapping, in bytes"},
	{"len", GS_ARG_U64, .required = true, .help = "bytes"},
	{"byte", GS_ARG_U64, .help = "write: the value written to every byte"},
	{NULL},
};

static const char *const read_outputs[] = {"data", "uniform", "done", NULL};

static int sim_access_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			  bool write)
{
	struct vgmem *v = op_gmem(s, op, false, true);
	size_t len = gs_op_u64(op, "len", 0), done;
	unsigned char *buf;
	bool uniform = true;

	if (!v)
		return -1;
	buf = g_malloc(len ? len : 1);
	memset(buf, (int)gs_op_u64(op, "byte", 0), len);
	set_fault_result(res,
			 kvm_gmem_access(v->vma, gs_op_u64(op, "off", 0), buf, len, write, &done));
	gs_result_set(res, "done", done);
	for (size_t i = 1; i < done; i++)
		uniform &= buf[i] == buf[0];
	if (!write && done) {
		gs_result_set_hex(res, "data", buf[0]);
		gs_result_set(res, "uniform", uniform);
	}
	g_free(buf);
	return 0;
}

static int access_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
		      bool write)
{
	if (gs_scenario_backend(s) == GS_BACKEND_KERNEL)
		return k_access_run(s, op, res, write);
	return sim_access_run(s, op, res, write);
}

static int read_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	return access_run(s, op, res, false);
}

static int write_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	return access_run(s, op, res, true);
}

static const struct gs_verb verb_read = {
	.name = "read",
	.summary = "read through the mapping; outputs data (first byte), uniform (all bytes "
		   "equal), done",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = rw_keys,
	.outputs = read_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = read_run,
	/* One page fault per page, as a memcpy() through a mapping: `done` says how far. */
	.fail_nth.progress = "done",
};

static const struct gs_verb verb_write = {
	.name = "write",
	.summary = "write through the mapping",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = rw_keys,
	.outputs = read_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = write_run,
	/* One page fault per page, as a memcpy() through a mapping: `done` says how far. */
	.fail_nth.progress = "done",
};

static int pin_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, false, true);
	struct vpin pin = {.off = gs_op_u64(op, "off", 0)};

	if (!v)
		return -1;
	res->ret = kvm_gmem_pin(v->vma, pin.off >> PAGE_SHIFT, &pin.page);
	if (!res->ret)
		g_array_append_val(v->pins, pin);
	return 0;
}

static int k_pin_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kpin pin = {.off = gs_op_u64(op, "off", 0)};
	struct kgmem *g;
	int ret;

	g = k_op_gmem(s, op, res, false, true, &ret);
	if (!g)
		return ret;
	if (pin.off >= g->map_len)
		return gs_scenario_error(s, op, "off=0x%" PRIx64 " is past the mapping", pin.off);
	pin.ring = gs_live_pin((char *)g->map + ALIGN_DOWN(pin.off, PAGE_SIZE), PAGE_SIZE);
	if (pin.ring == -EPERM || pin.ring == -ENOSYS) {
		res->skipped = true;
		gs_result_why(res, "io_uring (the long-term pin) is disabled on this kernel");
		return 0;
	}
	res->ret = pin.ring < 0 ? pin.ring : 0;
	if (pin.ring >= 0) {
		if (!g->pins)
			g->pins = g_array_new(false, false, sizeof(struct kpin));
		g_array_append_val(g->pins, pin);
	}
	return 0;
}

static const struct gs_verb verb_pin = {
	.name = "pin",
	.summary = "a long-term pin (pin_user_pages FOLL_LONGTERM; on the kernel an io_uring fixed "
		   "buffer)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = off_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = pin_run,
	.run_kernel = k_pin_run,
};

static int unpin_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = gs_scenario_obj_get(s, op->target, &vgmem_type);
	unsigned long off = gs_op_u64(op, "off", 0);

	(void)res;
	if (!v)
		return gs_scenario_error(s, op, "no guest_memfd called '%s'", op->target);
	for (guint i = v->pins->len; i-- > 0;) {
		struct vpin *pin = &g_array_index(v->pins, struct vpin, i);

		if (pin->off >> PAGE_SHIFT != off >> PAGE_SHIFT)
			continue;
		kvm_gmem_unpin(pin->page);
		g_array_remove_index(v->pins, i);
		if (!v->file && !v->vma && !v->pins->len)
			gs_scenario_obj_del(s, op->target);
		return 0;
	}
	return gs_scenario_error(s, op, "'%s' has no pin at 0x%lx", op->target, off);
}

static int k_unpin_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kgmem *g = gs_scenario_obj_get(s, op->target, &kgmem_type);
	uint64_t off = gs_op_u64(op, "off", 0);

	if (!g)
		return gs_scenario_error(s, op, "no guest_memfd called '%s'", op->target);
	if (g->absent) {
		res->skipped = true;
		return 0;
	}
	for (guint i = g->pins ? g->pins->len : 0; i-- > 0;) {
		struct kpin *pin = &g_array_index(g->pins, struct kpin, i);

		if (pin->off >> PAGE_SHIFT != off >> PAGE_SHIFT)
			continue;
		gs_live_unpin(pin->ring);
		g_array_remove_index(g->pins, i);
		if (g->fd < 0 && !g->map && !g->pins->len)
			gs_scenario_obj_del(s, op->target);
		return 0;
	}
	return gs_scenario_error(s, op, "'%s' has no pin at 0x%" PRIx64, op->target, off);
}

static const struct gs_verb verb_unpin = {
	.name = "unpin",
	.summary = "drop the latest pin of that page",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = off_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = unpin_run,
	.run_kernel = k_unpin_run,
};

/* --- guest side and memory failure --- */

static const struct gs_key index_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "file offset in bytes"},
	{NULL},
};

static const char *const getpfn_outputs[] = {"max_order", NULL};

static int getpfn_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, true, false);
	unsigned long pfn;
	int order;

	if (!v)
		return -1;
	res->ret = kvm_gmem_get_pfn(v->file, gs_op_u64(op, "off", 0) >> PAGE_SHIFT, &pfn, &order);
	if (!res->ret)
		gs_result_set(res, "max_order", (uint64_t)order);
	return 0;
}

static const struct gs_verb verb_getpfn = {
	.name = "getpfn",
	.summary = "kvm_gmem_get_pfn(); outputs max_order",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = index_keys,
	.outputs = getpfn_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = getpfn_run,
};

static int poison_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vgmem *v = op_gmem(s, op, true, false);

	if (!v)
		return -1;
	res->ret = kvm_gmem_error_page(v->file, gs_op_u64(op, "off", 0) >> PAGE_SHIFT);
	return 0;
}

static const struct gs_verb verb_poison = {
	.name = "poison",
	.summary = "memory failure on an allocated page (ENOENT if none)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = index_keys,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = poison_run,
};

static const char *const unpoison_outputs[] = {"pages", "held", NULL};

static int unpoison_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	if (gs_op_has(op, "count"))
		gs_result_set(res, "held", gs_page_alloc_nr_hwpoison());
	else
		gs_result_set(res, "pages", gs_page_alloc_unpoison_all());
	return 0;
}

static const struct gs_key unpoison_keys[] = {
	{"count", GS_ARG_BOOL, .help = "only report how many poisoned pages are held out of use"},
	{NULL},
};

static const struct gs_verb verb_unpoison = {
	.name = "unpoison",
	.summary = "return the freed poisoned pages to use (debugfs unpoison-pfn for each); "
		   "outputs pages, or held with count",
	.keys = unpoison_keys,
	.outputs = unpoison_outputs,
	.backends = GS_BACKEND_SIM,
	.run = unpoison_run,
};

static const struct gs_verb *const gmem_verbs[] = {
	&verb_vm,     &verb_memslot,  &verb_gfault, &verb_attr,	 &verb_stage2, &verb_gmem,
	&verb_stat,   &verb_falloc,   &verb_punch,  &verb_close, &verb_mmap,   &verb_munmap,
	&verb_fault,  &verb_read,     &verb_write,  &verb_pin,	 &verb_unpin,  &verb_getpfn,
	&verb_poison, &verb_unpoison, NULL,
};

/* Pages memory failure took out of use come back when the simulated machine goes. */
static void gmem_teardown(void)
{
	gs_page_alloc_unpoison_all();
}

static struct gs_scenario_module gmem_module = {
	.name = "gmem",
	.priority = GS_MODULE_PRIO_LAYER,
	.verbs = gmem_verbs,
	.teardown = gmem_teardown,
};
GS_SCENARIO_MODULE(gmem_module)
