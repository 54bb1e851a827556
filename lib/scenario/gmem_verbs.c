// SPDX-License-Identifier: MIT
/*
 * Scenario verbs over KVM and guest_memfd. A `vm` object is a VM fd; a
 * `gmem` object is one guest_memfd as a process sees it: its fd (until
 * `close`), at most one mapping of it (`mmap`, `munmap`) through which
 * `fault`, `read`, `write` and `pin` act, and the long-term pins it took.
 * Parts of that mapping can be unmapped (`munmap off= len=`) and mapped
 * again over themselves (`mmap fixed off= len=`: MAP_FIXED, the same file
 * offsets), which splits it as the kernel splits a VMA; the object keeps
 * the holes, and an access into one is SIGSEGV. Offsets and lengths are in
 * bytes, as in the syscalls.
 *
 * The upstream verbs (vm, memslot, attr, gmem, stat, falloc, punch, close,
 * mmap, munmap, madvise, fault, read, write, pin, unpin) and the proposed convert
 * (KVM_SET_MEMORY_ATTRIBUTES2, v8) are written once against the
 * syscall table of include/gmemsim/sys.h: gs_sys_sim (the simulated uAPI)
 * or gs_sys_live (the running kernel), as the run's backend says. What a
 * backend cannot express (gs_sys_ops.unsupported: a VM type, HugeTLB, ...)
 * is reported skipped, and so is every later line on that name, never
 * answered with a made-up result.
 *
 * SIMULATOR-ONLY verbs (backends = GS_BACKEND_SIM): gfault, stage2, getpfn,
 * poison, unpoison, gsplit, gmem-usage. They ask the model what no syscall shows (the TDP MMU,
 * kvm_gmem_get_pfn(), memory failure) through direct library calls on the
 * objects behind the simulated fds (gs_uapi_kvm(), gs_uapi_gmem_file()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <glib.h>
#include <valgrind/memcheck.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/kvm.h>
#include <gmemsim/linux/kvm.h>
#include <gmemsim/scenario.h>
#include <gmemsim/strategy.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/page_alloc.h>
#include <gmemsim/internal/scenario_int.h>

/* The syscall table of this run's backend. */
static const struct gs_sys_ops *run_sys(struct gs_scenario *s)
{
	return gs_scenario_backend(s) == GS_BACKEND_KERNEL ? &gs_sys_live : &gs_sys_sim;
}

/**
 * struct vm_obj - a VM as the process holds it
 * @sys: the backend it was made on
 * @fd: the VM fd, -1 for a placeholder
 * @absent: the backend cannot express it: every line using it is skipped
 */
struct vm_obj {
	const struct gs_sys_ops *sys;
	int fd;
	bool absent;
};

/* A long-term pin and the mapping offset it was taken at. */
struct gmem_pin {
	uint64_t off;
	int handle;
};

/**
 * struct gmem_obj - a guest_memfd as the process holds it
 * @sys: the backend it was made on
 * @fd: the fd, -1 once closed (or for a placeholder)
 * @absent: the backend cannot express it: every line using it is skipped
 * @map: the mapping, NULL when not mapped
 * @map_len: its length as asked
 * @holes: struct map_hole, sorted and apart: the parts of [@map, @map +
 *         @map_len) unmapped since; the mapping is gone when they cover it
 * @pins: struct gmem_pin; pins outlive the fd and the mapping
 */
struct gmem_obj {
	const struct gs_sys_ops *sys;
	int fd;
	bool absent;
	void *map;
	size_t map_len;
	GArray *holes;
	GArray *pins;
};

/* Bytes [start, end) of a mapping, page aligned, that nothing maps now. */
struct map_hole {
	uint64_t start, end;
};

static void vm_obj_destroy(void *obj)
{
	struct vm_obj *vm = obj;

	if (vm->fd >= 0)
		vm->sys->close(vm->fd);
	g_free(vm);
}

static void vm_obj_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	static const char *const sizes[] = {"", "4K", "2M", "1G"};
	struct vm_obj *vm = obj;
	struct kvm *kvm = vm->sys->live ? NULL : gs_uapi_kvm(vm->fd);
	unsigned long b, nr = 0;
	void *entry;

	(void)s;
	if (!kvm) {
		fprintf(f, "%s:%s\n", name, vm->absent ? " skipped" : " (live kernel)");
		return;
	}
	fprintf(f, "%s: type=%lu attributes=%s conversion=%s leaves 4K=%lu 2M=%lu 1G=%lu\n", name,
		kvm->type, kvm->params.vm_memory_attributes ? "vm" : "gmem",
		gs_gmem_conversion_name(kvm->gmem.conversion), kvm->nr_leaves[PG_LEVEL_4K],
		kvm->nr_leaves[PG_LEVEL_2M], kvm->nr_leaves[PG_LEVEL_1G]);
	if (kvm->gmem.strategy && !kvm->gmem.strategy->builtin)
		fprintf(f, " strategy: %s\n", kvm->gmem.strategy->ops->name);
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

static void vm_obj_dump(struct gs_state *st, const char *path, void *obj)
{
	struct vm_obj *vm = obj;
	struct kvm *kvm = vm->sys->live ? NULL : gs_uapi_kvm(vm->fd);

	if (kvm)
		kvm_dump_state(st, path, kvm);
}

static const struct gs_obj_type vm_type = {
	.name = "vm",
	.destroy = vm_obj_destroy,
	.show = vm_obj_show,
	.dump = vm_obj_dump,
};

/*
 * Records of destroyed files kept for the next ones, their arrays emptied:
 * a fuzz input makes up to eight files, and three allocations and three
 * frees each were a fifth of a `gmem` line's own work. Not under
 * AddressSanitizer, which should see a record used after its file is gone.
 */
#if defined(__SANITIZE_ADDRESS__)
#define GMEM_OBJ_KEPT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GMEM_OBJ_KEPT 0
#endif
#endif
#ifndef GMEM_OBJ_KEPT
#define GMEM_OBJ_KEPT 8
#endif
static struct gmem_obj *gmem_obj_kept[GMEM_OBJ_KEPT + 1];
static unsigned int nr_gmem_obj_kept;

/* Keep @g for gmem_obj_new() if there is room; false: free it. */
static bool gmem_obj_keep(struct gmem_obj *g)
{
	if (nr_gmem_obj_kept == GMEM_OBJ_KEPT)
		return false;
	g_array_set_size(g->pins, 0);
	g_array_set_size(g->holes, 0);
	gmem_obj_kept[nr_gmem_obj_kept++] = g;
	return true;
}

static void gmem_obj_destroy(void *obj)
{
	struct gmem_obj *g = obj;

	if (g->map)
		g->sys->munmap(g->map, g->map_len);
	if (g->fd >= 0)
		g->sys->close(g->fd);
	/* Pins outlive the file, as long-term GUP pins do; drop them last. */
	for (guint i = 0; i < g->pins->len; i++)
		g->sys->unpin(g_array_index(g->pins, struct gmem_pin, i).handle);
	if (gmem_obj_keep(g))
		return;
	g_array_free(g->pins, true);
	g_array_free(g->holes, true);
	g_free(g);
}

/* Folios of @inode: all of them, and those of the file's page order (whole huge pages). */
static void count_folios(struct gmem_inode *inode, unsigned long *all, unsigned long *whole)
{
	struct folio *folio;
	unsigned long index;

	*all = *whole = 0;
	xa_for_each (&inode->filemap, index, folio) {
		(*all)++;
		*whole += folio_order(folio) == inode->page_order;
	}
}

static void gmem_obj_show(struct gs_scenario *s, FILE *f, const char *name, void *obj)
{
	struct gmem_obj *g = obj;
	struct gmem_file *file = g->sys->live || g->fd < 0 ? NULL : gs_uapi_gmem_file(g->fd);

	(void)s;
	fprintf(f, "%s:%s%s pins=%u\n", name, g->fd < 0 ? " closed" : "", g->map ? " mapped" : "",
		g->pins->len);
	if (file) {
		unsigned long all, whole;
		struct gs_hvo_stats hvo;

		kvm_gmem_dump(file->inode, f);
		count_folios(file->inode, &all, &whole);
		gs_hvo_stats(&hvo);
		fprintf(f, " folios: order %u=%lu order 0 pieces=%lu; hvo freed=%lu restored=%lu\n",
			file->inode->page_order, whole, file->inode->page_order ? all - whole : 0,
			hvo.freed_pages, hvo.restored_pages);
	}
}

static void gmem_obj_dump(struct gs_state *st, const char *path, void *obj)
{
	struct gmem_obj *g = obj;
	struct gmem_file *file = g->sys->live || g->fd < 0 ? NULL : gs_uapi_gmem_file(g->fd);

	gs_state_add_u64(st, path, "open", g->fd >= 0);
	gs_state_add_u64(st, path, "mapped", g->map != NULL);
	gs_state_add_u64(st, path, "pins", g->pins->len);
	if (file)
		kvm_gmem_dump_state(st, path, file->inode);
}

static const struct gs_obj_type gmem_type = {
	.name = "gmem",
	.destroy = gmem_obj_destroy,
	.show = gmem_obj_show,
	.dump = gmem_obj_dump,
};

static struct gmem_obj *gmem_obj_new(const struct gs_sys_ops *sys)
{
	struct gmem_obj *g;

	if (nr_gmem_obj_kept) {
		g = gmem_obj_kept[--nr_gmem_obj_kept];
		*g = (struct gmem_obj){.pins = g->pins, .holes = g->holes};
	} else {
		g = g_new0(struct gmem_obj, 1);
		g->pins = g_array_new(false, false, sizeof(struct gmem_pin));
		g->holes = g_array_new(false, false, sizeof(struct map_hole));
	}
	g->sys = sys;
	g->fd = -1;
	return g;
}

/* Nothing refers to the object any more (no fd, mapping or pin): forget it. */
static void gmem_obj_maybe_forget(struct gs_scenario *s, const struct gs_op *op, struct gmem_obj *g)
{
	if (g->fd < 0 && !g->map && !g->pins->len)
		gs_scenario_obj_del(s, op->target);
}

/* A line the backend cannot express: skipped, with the reason. */
static int skip_line(struct gs_result *res, const char *why)
{
	res->skipped = true;
	if (why)
		gs_result_why(res, "%s", why);
	return 0;
}

/*
 * Under `strict off` (generated scenarios) a line on a file whose creation,
 * mapping or descriptor is gone is an answer, as the process would get it: a
 * descriptor never returned or closed is EBADF, an address nothing maps is
 * SIGSEGV (GUP: EFAULT; munmap: nothing to do). True when @res is filled in.
 */
static bool lax_answer(const struct gs_op *op, struct gs_result *res, const struct gmem_obj *g,
		       bool need_fd, bool need_map)
{
	if (!g || (need_fd && !g->absent && g->fd < 0)) {
		res->ret = -EBADF;
		return true;
	}
	if (!need_map || g->absent || g->map)
		return false;
	if (!strcmp(op->verb->name, "pin"))
		res->ret = -EFAULT;
	else if (strcmp(op->verb->name, "munmap"))
		res->sig = SIGSEGV;
	return true;
}

/*
 * The file @op names, or NULL: after reporting why (*@ret = -1), or with
 * @res marked skipped for a file the backend could not make (*@ret = 0).
 */
static struct gmem_obj *op_gmem(struct gs_scenario *s, const struct gs_op *op,
				struct gs_result *res, bool need_fd, bool need_map, int *ret)
{
	struct gmem_obj *g = gs_scenario_obj_get(s, op->target, &gmem_type);

	*ret = -1;
	if (gs_scenario_lax(s) && lax_answer(op, res, g, need_fd, need_map))
		*ret = 0;
	else if (!g)
		gs_scenario_error(s, op, "no guest_memfd called '%s'", op->target);
	else if (g->absent)
		*ret = skip_line(res, NULL);
	else if (need_fd && g->fd < 0)
		gs_scenario_error(s, op, "'%s' is closed", op->target);
	else if (need_map && !g->map)
		gs_scenario_error(s, op, "'%s' is not mapped (use mmap)", op->target);
	else
		return g;
	return NULL;
}

/* The VM @name, or NULL after reporting why. */
static struct vm_obj *named_vm(struct gs_scenario *s, const struct gs_op *op, const char *name)
{
	struct vm_obj *vm = gs_scenario_obj_get(s, name, &vm_type);

	if (!vm)
		gs_scenario_error(s, op, "no vm called '%s'", name);
	return vm;
}

static void set_stat_fields(struct gs_result *res, const struct gmem_obj *g)
{
	struct stat st;

	if (g->fd < 0 || g->sys->fstat(g->fd, &st))
		return;
	gs_result_set(res, "size", (uint64_t)st.st_size);
	gs_result_set(res, "blksize", (uint64_t)st.st_blksize);
	gs_result_set(res, "blocks", (uint64_t)st.st_blocks);
	gs_result_set_hex(res, "mode", (uint64_t)st.st_mode);
}

/*
 * A VM of @type under @p, as a VMM makes one: open /dev/kvm, KVM_CREATE_VM,
 * close /dev/kvm (the VM fd keeps the VM). The parameters apply to this
 * creation only. Returns the VM fd or -errno.
 */
static int make_vm(const struct gs_sys_ops *sys, unsigned long type,
		   const struct gs_sys_vm_params *p)
{
	struct gs_sys_vm_params old;
	int kvm, vm;

	kvm = sys->open("/dev/kvm", O_RDWR);
	if (kvm < 0)
		return kvm;
	sys->set_vm_params(p, &old);
	vm = (int)sys->ioctl(kvm, GS_KVM_CREATE_VM, type);
	sys->set_vm_params(&old, NULL);
	sys->close(kvm);
	return vm;
}

/* A capability of the VM; a negative answer (no such cap) reads as 0, as the simulator's. */
static uint64_t vm_cap(const struct vm_obj *vm, long cap)
{
	long r = vm->sys->ioctl(vm->fd, GS_KVM_CHECK_EXTENSION, (unsigned long)cap);

	return r > 0 ? (uint64_t)r : 0;
}

/* --- vm: KVM_CREATE_VM --- */

static const char *const type_names[] = {"default", "sw_protected", "sev", "sev_es",
					 "snp",	    "tdx",	    NULL};
static const char *const profile_names[] = {"design", "upstream", NULL};
/* enum gs_gmem_conversion, in its order. */
static const char *const conversion_names[] = {"planned", "v8", "wip", "rfc-v2", NULL};

static const struct gs_key vm_keys[] = {
	{"type", GS_ARG_ENUM, type_names, .help = "default (0), sw_protected, snp or tdx"},
	{"profile", GS_ARG_ENUM, profile_names, .help = "design (default) or upstream"},
	{"vm_memory_attributes", GS_ARG_BOOL,
	 .help = "kvm.vm_memory_attributes: 1 = PRIVATE per VM (upstream's default), "
		 "0 = in guest_memfd (the design's)"},
	{"conversion", GS_ARG_ENUM, conversion_names,
	 .help = "the ordering of in-place conversions: planned (default), v8, wip, rfc-v2 "
		 "(4 KiB files; HugeTLB: EOPNOTSUPP); the simulator's only"},
	{"strategy", GS_ARG_STR,
	 .help = "the restructuring strategy: a registered name (planned, v8, wip, rfc-v2: the "
		 "same as conversion=) or ./file.so (docs/STRATEGIES.md); the simulator's only"},
	{"populate_eexist", GS_ARG_BOOL,
	 .help = "populate answers EEXIST for a folio already uptodate (6.8-6.1x); "
		 "the simulator's only"},
	{NULL},
};

static const char *const vm_outputs[] = {"gmem_flags", "memory_attributes",
					 "gmem_memory_attributes", NULL};

/*
 * strategy=NAME|PATH: the VM's strategy, whose flow is its ordering; a
 * conversion= beside it must name the same ordering. 0, or -1 after
 * gs_scenario_error().
 */
static int vm_strategy(struct gs_scenario *s, const struct gs_op *op, struct gs_sys_vm_params *p)
{
	const char *name = gs_op_str(op, "strategy", "");
	const struct gs_strategy *st;
	char why[320] = "unknown (`gmemsim strategies` lists them)";

	st = strchr(name, '/') ? gs_strategy_load(name, why, sizeof(why)) : gs_strategy_find(name);
	if (!st)
		return gs_scenario_error(s, op, "strategy '%s': %s", name, why);
	if (gs_op_has(op, "conversion") && p->conversion != (enum gs_gmem_conversion)st->ops->flow)
		return gs_scenario_error(
			s, op, "conversion=%s and strategy=%s (flow %s) disagree",
			gs_gmem_conversion_name(p->conversion), st->ops->name,
			gs_gmem_conversion_name((enum gs_gmem_conversion)st->ops->flow));
	p->strategy = st;
	p->conversion = (enum gs_gmem_conversion)st->ops->flow;
	return 0;
}

/* Why @sys cannot make the VM @op asks for, or NULL. */
static const char *vm_unsupported(const struct gs_sys_ops *sys, const struct gs_op *op)
{
	const char *why = sys->unsupported(GS_SYS_VM_TYPE, gs_op_u64(op, "type", 0));

	if (!why && gs_op_has(op, "vm_memory_attributes") &&
	    !gs_op_u64(op, "vm_memory_attributes", 1))
		why = sys->unsupported(GS_SYS_GMEM_ATTRIBUTES, 0);
	return why;
}

static int vm_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	const struct gs_sys_ops *sys = run_sys(s);
	struct gs_sys_vm_params p =
		gs_sys_default_vm_params((enum gs_gmem_profile)gs_op_u64(op, "profile", 0));
	const char *why = vm_unsupported(sys, op);
	struct vm_obj *vm;
	int fd = -1;

	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' exists already", op->target);
	p.vm_memory_attributes = gs_op_u64(op, "vm_memory_attributes", p.vm_memory_attributes);
	p.conversion = (enum gs_gmem_conversion)gs_op_u64(op, "conversion", GS_CONVERSION_PLANNED);
	p.populate_eexist = gs_op_u64(op, "populate_eexist", 0);
	if (gs_op_has(op, "strategy") && vm_strategy(s, op, &p))
		return -1;
	if (!why) {
		fd = make_vm(sys, gs_op_u64(op, "type", GS_KVM_X86_DEFAULT_VM), &p);
		if (fd < 0) {
			res->ret = fd;
			return 0;
		}
	}
	vm = g_new0(struct vm_obj, 1);
	*vm = (struct vm_obj){.sys = sys, .fd = fd, .absent = !!why};
	if (gs_scenario_obj_add(s, op->target, &vm_type, vm)) {
		vm_obj_destroy(vm);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	if (why)
		return skip_line(res, why);
	gs_result_set_hex(res, "gmem_flags", vm_cap(vm, GS_KVM_CAP_GUEST_MEMFD_FLAGS));
	gs_result_set(res, "memory_attributes", vm_cap(vm, GS_KVM_CAP_MEMORY_ATTRIBUTES));
	gs_result_set(res, "gmem_memory_attributes",
		      vm_cap(vm, GS_KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES));
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
	.run = vm_run,
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

static int memslot_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vm_obj *vm = named_vm(s, op, op->target);
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
	struct gmem_obj *g = NULL;

	if (!vm)
		return -1;
	if (gname && !(g = gs_scenario_obj_get(s, gname, &gmem_type))) {
		/* A file whose creation failed passes no fd (`strict off`). */
		if (gs_scenario_lax(s)) {
			res->ret = -EBADF;
			return 0;
		}
		return gs_scenario_error(s, op, "no guest_memfd called '%s'", gname);
	}
	if (vm->absent || (g && g->absent))
		return skip_line(res, NULL);
	/* A closed file passes fd -1: EBADF. */
	if (g)
		mem.guest_memfd = (uint32_t)g->fd;
	res->ret = vm->sys->ioctl(vm->fd, GS_KVM_SET_USER_MEMORY_REGION2, (unsigned long)&mem);
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
	.run = memslot_run,
};

/* The simulated VM behind a `vm` object (simulator-only verbs). */
static struct kvm *op_kvm(struct gs_scenario *s, const struct gs_op *op)
{
	struct vm_obj *vm = named_vm(s, op, op->target);

	if (vm && (vm->absent || vm->sys->live)) {
		gs_scenario_error(s, op, "'%s' is not a simulated VM", op->target);
		return NULL;
	}
	return vm ? gs_uapi_kvm(vm->fd) : NULL;
}

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

/* SIMULATOR-ONLY: the TDP MMU's fault path, which no syscall reaches without a vCPU. */
static int gfault_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = op_kvm(s, op);
	struct kvm_fault fault;

	if (!kvm)
		return -1;
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

static int attr_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vm_obj *vm = named_vm(s, op, op->target);
	struct gs_kvm_memory_attributes a = {
		.address = gs_op_u64(op, "gpa", 0),
		.size = gs_op_u64(op, "size", 0),
		.attributes = gs_op_u64(
			op, "attributes",
			gs_op_u64(op, "private", 0) ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0),
		.flags = gs_op_u64(op, "flags", 0),
	};

	if (!vm)
		return -1;
	if (vm->absent)
		return skip_line(res, NULL);
	res->ret = vm->sys->ioctl(vm->fd, GS_KVM_SET_MEMORY_ATTRIBUTES, (unsigned long)&a);
	/* A kernel built without per-VM attributes lacks the ioctl: that is no answer. */
	if (res->ret == -ENOTTY)
		return skip_line(res, "this kernel has no KVM_SET_MEMORY_ATTRIBUTES (ENOTTY)");
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
	.run = attr_run,
};

static const char *const s2_outputs[] = {"level", "leaves_4k", "leaves_2m", "leaves_1g", NULL};

/* SIMULATOR-ONLY: the stage-2 tables' state, which the kernel does not show. */
static int s2_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = op_kvm(s, op);

	if (!kvm)
		return -1;
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

static const char *const flag_names[] = {"mmap", "init_shared", "hugetlb", "allow_hugepage", NULL};
static const uint64_t flag_values[] = {GS_GUEST_MEMFD_FLAG_MMAP, GS_GUEST_MEMFD_FLAG_INIT_SHARED,
				       GS_GUEST_MEMFD_FLAG_HUGETLB,
				       GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE};

static const struct gs_key gmem_keys[] = {
	{"size", GS_ARG_U64, .required = true, .help = "file size in bytes"},
	{"vm", GS_ARG_STR, .help = "the VM (from `vm`); without it, vm_* keys describe one"},
	{"flags", GS_ARG_FLAGS, flag_names, flag_values,
	 .help = "mmap|init_shared|hugetlb|allow_hugepage (the last: thp strategies only)"},
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

/*
 * Without vm=, the VM the vm_* keys describe: a DEFAULT VM, or a
 * SW_PROTECTED one with private memory (PRIVATE kept per VM, so no
 * INIT_SHARED). Only the file keeps it: its fd is closed after creation.
 */
static unsigned long own_vm_type(const struct gs_op *op)
{
	return gs_op_u64(op, "vm_private", 0) ? GS_KVM_X86_SW_PROTECTED_VM : GS_KVM_X86_DEFAULT_VM;
}

static int own_vm(const struct gs_sys_ops *sys, const struct gs_op *op)
{
	struct gs_sys_vm_params p = gs_sys_default_vm_params(
		(enum gs_gmem_profile)gs_op_u64(op, "profile", GS_GMEM_PROFILE_DESIGN));

	if (gs_op_u64(op, "vm_private", 0))
		p.vm_memory_attributes = true;
	p.hugetlb = gs_op_u64(op, "vm_hugetlb", 1);
	return make_vm(sys, own_vm_type(op), &p);
}

/* Why @sys cannot make the file @op asks for (on @vm), or NULL. */
static const char *gmem_unsupported(const struct gs_sys_ops *sys, const struct gs_op *op,
				    const struct vm_obj *vm)
{
	if (vm && vm->absent)
		return "its VM was skipped";
	if (op_page_order(op) || (gs_op_u64(op, "flags", 0) & GS_GUEST_MEMFD_FLAG_HUGETLB))
		return sys->unsupported(GS_SYS_HUGETLB, 0);
	return vm ? NULL : sys->unsupported(GS_SYS_VM_TYPE, own_vm_type(op));
}

/* Name a placeholder, so that the lines using the file are skipped too. */
static int gmem_placeholder(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			    const char *why)
{
	struct gmem_obj *g = gmem_obj_new(run_sys(s));

	g->absent = true;
	if (gs_scenario_obj_add(s, op->target, &gmem_type, g)) {
		gmem_obj_destroy(g);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	return skip_line(res, why);
}

static int gmem_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	const struct gs_sys_ops *sys = run_sys(s);
	struct gmem_obj *g = gs_scenario_obj_get(s, op->target, &gmem_type);
	struct gs_kvm_create_guest_memfd args = {
		.size = gs_op_u64(op, "size", 0),
		.flags = gs_op_u64(op, "flags", 0),
		.page_order = op_page_order(op),
	};
	struct vm_obj *vm = NULL;
	const char *why;
	int vm_fd, fd;

	/* Nothing was made for a placeholder either: the name may be reused. */
	if (g && g->absent)
		gs_scenario_obj_del(s, op->target);
	if (gs_scenario_obj_get(s, op->target, NULL))
		return gs_scenario_error(s, op, "'%s' exists already", op->target);
	if (gs_op_has(op, "vm") && !(vm = named_vm(s, op, gs_op_str(op, "vm", ""))))
		return -1;
	why = gmem_unsupported(sys, op, vm);
	if (why)
		return gmem_placeholder(s, op, res, why);
	vm_fd = vm ? vm->fd : own_vm(sys, op);
	if (vm_fd < 0) {
		res->ret = vm_fd;
		return 0;
	}
	fd = (int)sys->ioctl(vm_fd, GS_KVM_CREATE_GUEST_MEMFD, (unsigned long)&args);
	if (!vm)
		sys->close(vm_fd);
	if (fd < 0) {
		res->ret = fd;
		return 0;
	}
	g = gmem_obj_new(sys);
	g->fd = fd;
	if (gs_scenario_obj_add(s, op->target, &gmem_type, g)) {
		gmem_obj_destroy(g);
		return gs_scenario_error(s, op, "cannot name '%s'", op->target);
	}
	set_stat_fields(res, g);
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
	.run = gmem_run,
};

/* --- stat, falloc, punch, close --- */

static int stat_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, true, false, &ret);

	if (!g)
		return ret;
	set_stat_fields(res, g);
	return 0;
}

static const struct gs_verb verb_stat = {
	.name = "stat",
	.summary = "fstat(); outputs size, blksize, blocks (st_blocks), mode (st_mode)",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = stat_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.run = stat_run,
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

static int fallocate_common(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			    int mode)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, true, false, &ret);

	if (!g)
		return ret;
	res->ret = g->sys->fallocate(g->fd, mode, (int64_t)gs_op_u64(op, "off", 0),
				     (int64_t)gs_op_u64(op, "len", 0));
	set_stat_fields(res, g);
	return 0;
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

static int close_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, true, false, &ret);

	if (!g)
		return ret;
	res->ret = g->sys->close(g->fd);
	g->fd = -1;
	/* A mapping keeps the file open, and pins its pages. */
	gmem_obj_maybe_forget(s, op, g);
	return 0;
}

static const struct gs_verb verb_close = {
	.name = "close",
	.summary = "close the fd (a mapping keeps the file open)",
	.target = GS_ARG_STR,
	.target_required = true,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = close_run,
};

/* --- host side: mmap, munmap, fault, read, write, pin, unpin --- */

static const struct gs_key mmap_keys[] = {
	{"len", GS_ARG_U64, .help = "mapping length in bytes (default: the file size)"},
	{"private", GS_ARG_BOOL, .help = "MAP_PRIVATE instead of MAP_SHARED"},
	{"fixed", GS_ARG_BOOL,
	 .help = "MAP_FIXED at off= of the file's mapping, over the same file offsets (len= "
		 "required): replaces that part"},
	{"noreplace", GS_ARG_BOOL,
	 .help = "with fixed: MAP_FIXED_NOREPLACE (EEXIST over a mapping)"},
	{"off", GS_ARG_U64, .help = "with fixed: offset in the mapping and in the file, in bytes"},
	{NULL},
};

/* The mapping's range: whole pages, as mapped. */
static uint64_t map_end(const struct gmem_obj *g)
{
	return ALIGN(g->map_len, PAGE_SIZE);
}

/*
 * Whether the kernel takes [map + @off, + @len) as a range at all. An
 * unaligned start, an empty length, or one that wraps when rounded up or
 * passes @top is refused (EINVAL) before any mapping is looked at, so such a
 * range goes to the system call as given instead of being bounded by the
 * mapping's: munmap() has TASK_SIZE as its top, madvise() only the wrap.
 */
static bool range_taken(const struct gmem_obj *g, uint64_t off, uint64_t len, uint64_t top)
{
	uint64_t start = (uintptr_t)g->map + off, alen = ALIGN(len, PAGE_SIZE);

	if ((off & (PAGE_SIZE - 1)) || !alen || start < off || start > top)
		return false;
	return alen <= top - start;
}

/* [@start, @end) is unmapped now: the holes take it in, merged with their neighbours. */
static void holes_add(struct gmem_obj *g, uint64_t start, uint64_t end)
{
	struct map_hole h = {start, end};
	guint i = 0;

	while (i < g->holes->len) {
		struct map_hole *o = &g_array_index(g->holes, struct map_hole, i);

		if (o->end < h.start || o->start > h.end) {
			i++;
			continue;
		}
		h.start = MIN(h.start, o->start);
		h.end = MAX(h.end, o->end);
		g_array_remove_index(g->holes, i);
	}
	for (i = 0; i < g->holes->len; i++)
		if (g_array_index(g->holes, struct map_hole, i).start > h.start)
			break;
	g_array_insert_val(g->holes, i, h);
}

/* [@start, @end) is mapped again: the holes give it up. */
static void holes_remove(struct gmem_obj *g, uint64_t start, uint64_t end)
{
	for (guint i = 0; i < g->holes->len;) {
		struct map_hole *o = &g_array_index(g->holes, struct map_hole, i);
		struct map_hole right = {end, o->end};

		if (o->end <= start || o->start >= end) {
			i++;
			continue;
		}
		if (o->start < start) {
			o->end = start;
			i++;
		} else {
			g_array_remove_index(g->holes, i);
		}
		if (right.end > right.start) {
			g_array_insert_val(g->holes, i, right);
			i++;
		}
	}
}

/* The mapping went whole: the object forgets its range. */
static void map_gone(struct gmem_obj *g)
{
	g->map = NULL;
	g_array_set_size(g->holes, 0);
}

/* MAP_FIXED over part of the object's own range: the caller's offsets, checked. */
static int mmap_fixed_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			  struct gmem_obj *g)
{
	uint64_t off = gs_op_u64(op, "off", 0), len = gs_op_u64(op, "len", 0);
	int flags = (gs_op_u64(op, "private", 0) ? MAP_PRIVATE : MAP_SHARED) |
		    (gs_op_u64(op, "noreplace", 0) ? MAP_FIXED_NOREPLACE : MAP_FIXED);
	void *addr;

	if (!g->map)
		return gs_scenario_error(s, op, "'%s' is not mapped: fixed maps inside its mapping",
					 op->target);
	if (!gs_op_has(op, "len") || !len || off > map_end(g) || len > map_end(g) - off)
		return gs_scenario_error(s, op, "fixed: off= and len= must lie inside the mapping");
	addr = (char *)g->map + off;
	res->ret = g->sys->mmap(len, PROT_READ | PROT_WRITE, flags, g->fd, (int64_t)off, &addr);
	if (!res->ret)
		holes_remove(g, off, off + ALIGN(len, PAGE_SIZE));
	return 0;
}

static int mmap_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, true, false, &ret);
	int flags = gs_op_u64(op, "private", 0) ? MAP_PRIVATE : MAP_SHARED;
	struct stat st;
	uint64_t len;

	if (!g)
		return ret;
	if (gs_op_u64(op, "fixed", 0))
		return mmap_fixed_run(s, op, res, g);
	if (gs_op_has(op, "off") || gs_op_has(op, "noreplace"))
		return gs_scenario_error(s, op, "off= and noreplace go with fixed");
	if (g->map)
		return gs_scenario_error(s, op, "'%s' is mapped already", op->target);
	res->ret = g->sys->fstat(g->fd, &st);
	if (res->ret)
		return 0;
	len = gs_op_u64(op, "len", (uint64_t)st.st_size);
	res->ret = g->sys->mmap(len, PROT_READ | PROT_WRITE, flags, g->fd, 0, &g->map);
	if (!res->ret)
		g->map_len = len;
	return 0;
}

static const struct gs_verb verb_mmap = {
	.name = "mmap",
	.summary = "map the file at offset 0; with fixed, map part of it again over its own "
		   "range (MAP_FIXED: replaces that part of the mapping)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = mmap_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = mmap_run,
};

static const struct gs_key munmap_keys[] = {
	{"off", GS_ARG_U64, .help = "offset in the mapping, in bytes (default 0)"},
	{"len", GS_ARG_U64,
	 .help = "bytes (default: the whole mapping); a part splits or trims the mapping"},
	{NULL},
};

/*
 * munmap() of part of the mapping. A range the kernel refuses outright
 * (range_taken()) goes to the system call as given (EINVAL there); otherwise
 * it is bounded by the mapping's, as nothing of this file is mapped past it.
 */
static int munmap_part_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
			   struct gmem_obj *g)
{
	uint64_t off = gs_op_u64(op, "off", 0);
	uint64_t len = gs_op_u64(op, "len", off < map_end(g) ? map_end(g) - off : PAGE_SIZE);
	bool valid = range_taken(g, off, len, GS_TASK_SIZE);

	if (valid && off >= map_end(g)) {
		res->ret = 0;
		return 0;
	}
	if (valid)
		len = MIN(len, map_end(g) - off);
	res->ret = g->sys->munmap((char *)g->map + off, len);
	if (res->ret)
		return 0;
	holes_add(g, off, off + ALIGN(len, PAGE_SIZE));
	if (g->holes->len == 1 && !g_array_index(g->holes, struct map_hole, 0).start &&
	    g_array_index(g->holes, struct map_hole, 0).end >= map_end(g)) {
		/* The last piece went: this is munmap() of the whole mapping now. */
		map_gone(g);
		gmem_obj_maybe_forget(s, op, g);
	}
	return 0;
}

static int munmap_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);

	if (!g)
		return ret;
	if (gs_op_has(op, "off") || gs_op_has(op, "len"))
		return munmap_part_run(s, op, res, g);
	res->ret = g->sys->munmap(g->map, g->map_len);
	map_gone(g);
	gmem_obj_maybe_forget(s, op, g);
	return 0;
}

static const struct gs_verb verb_munmap = {
	.name = "munmap",
	.summary = "remove the mapping, or part of it (off=, len=)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = munmap_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = munmap_run,
};

/* madvise(): the advice guest_memfd mappings take, by name. */
static const char *const advice_names[] = {"normal",   "random", "sequential", "willneed",
					   "dontneed", "remove", "hugepage",   "nohugepage",
					   "collapse", NULL};
static const int advice_values[] = {MADV_NORMAL,   MADV_RANDOM,	    MADV_SEQUENTIAL,
				    MADV_WILLNEED, MADV_DONTNEED,   MADV_REMOVE,
				    MADV_HUGEPAGE, MADV_NOHUGEPAGE, GS_MADV_COLLAPSE};

static const struct gs_key madvise_keys[] = {
	{"off", GS_ARG_U64, .help = "offset in the mapping, in bytes (default 0)"},
	{"len", GS_ARG_U64, .required = true, .help = "bytes"},
	{"advice", GS_ARG_ENUM, advice_names, .required = true,
	 .help = "dontneed (drop the page mappings), remove (punch the file), collapse (EINVAL), "
		 "or a hint"},
	{NULL},
};

/*
 * madvise() on part of the mapping. A range the kernel refuses outright
 * (range_taken()) goes to the system call as given (EINVAL there); otherwise the range is bounded by the
 * mapping's and what lies past it is the kernel's ENOMEM for an unmapped
 * part, after the advice applied to the rest, as madvise_walk_vmas() does.
 */
static int madvise_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);
	uint64_t off = gs_op_u64(op, "off", 0), len = gs_op_u64(op, "len", 0);
	int advice = advice_values[gs_op_u64(op, "advice", 0)];
	bool past = false;

	if (!g)
		return ret;
	if (range_taken(g, off, len, UINT64_MAX)) {
		if (off >= map_end(g)) {
			res->ret = -ENOMEM;
			return 0;
		}
		past = len > map_end(g) - off;
		len = MIN(len, map_end(g) - off);
	}
	res->ret = g->sys->madvise((char *)g->map + off, len, advice);
	if (!res->ret && past)
		res->ret = -ENOMEM;
	return 0;
}

static const struct gs_verb verb_madvise = {
	.name = "madvise",
	.summary = "madvise() on part of the mapping (ENOMEM where it is not mapped, after the "
		   "advice applied to the rest)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = madvise_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = madvise_run,
};

/* A host access's answer: SIGBUS as the signal, the rest (ENOMEM: OOM) as the return value. */
static void set_access_result(struct gs_result *res, int r)
{
	if (r == GS_SYS_SIGBUS)
		res->sig = SIGBUS;
	else
		res->ret = r;
}

/*
 * Bytes of [@off, @off + @len) mapped from @off on without a hole (whole
 * pages, as mapped): an access stops where the mapping or a hole begins.
 */
static uint64_t mapped_part(const struct gmem_obj *g, uint64_t off, uint64_t len)
{
	uint64_t end = map_end(g);

	for (guint i = 0; i < g->holes->len; i++) {
		const struct map_hole *h = &g_array_index(g->holes, struct map_hole, i);

		if (h->start <= off && off < h->end)
			return 0;
		if (h->start > off)
			end = MIN(end, h->start);
	}
	return off < end ? MIN(len, end - off) : 0;
}

static const struct gs_key off_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in the mapping, in bytes"},
	{NULL},
};

static int fault_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);
	uint64_t off = gs_op_u64(op, "off", 0) & ~(uint64_t)(PAGE_SIZE - 1);
	unsigned char byte;

	if (!g)
		return ret;
	/* Nothing is mapped past the mapping: the process takes SIGSEGV there. */
	if (!mapped_part(g, off, 1)) {
		res->sig = SIGSEGV;
		return 0;
	}
	/* A one-byte load is the host page fault. */
	set_access_result(res, g->sys->host_read((unsigned char *)g->map + off, &byte, 1, NULL));
	return 0;
}

static const struct gs_verb verb_fault = {
	.name = "fault",
	.summary = "a host page fault (SIGBUS past i_size, on private or poisoned pages; "
		   "SIGSEGV past the mapping)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = off_keys,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = fault_run,
};

static const struct gs_key rw_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in the mapping, in bytes"},
	{"len", GS_ARG_U64, .required = true, .help = "bytes"},
	{"byte", GS_ARG_U64, .help = "write: the value written to every byte"},
	{NULL},
};

static const char *const read_outputs[] = {"data", "uniform", "done", "nodata", NULL};

/* A transfer goes through a buffer of this size, whatever the length asked. */
#define ACCESS_CHUNK (64 * 1024)

/*
 * That buffer, one for the process: a run's lines execute one at a time
 * (the simulator's state is the process's), and every chunk is written
 * before it is read (a read's by the copy, a write's by its byte), so
 * nothing carries from one line to the next (memcheck is told so, as it
 * was of a fresh buffer). A 64 KiB g_malloc() and g_free() per line were
 * ~4,300 instructions, 4.5% of a 4 KiB fuzz input.
 */
static unsigned char access_buf[ACCESS_CHUNK];

/**
 * struct access - one read or write through a mapping, chunk by chunk
 * @g: the file
 * @addr: where it starts in the mapping
 * @len: bytes, all inside the mapping
 * @write: store instead of load
 * @done: bytes transferred so far
 * @first: a read's first byte
 * @uniform: a read's bytes all equal @first so far
 */
struct access {
	const struct gmem_obj *g;
	unsigned char *addr;
	uint64_t len;
	bool write;
	uint64_t done;
	unsigned char first;
	bool uniform;
};

/* What a read chunk brought: the first byte, and whether all equal it. */
static void access_note(struct access *a, const unsigned char *buf, size_t n)
{
	if (n && !a->done)
		a->first = buf[0];
	/* All equal the first byte: it, then each byte equal to the one before (memcmp's speed). */
	if (n && a->uniform)
		a->uniform = buf[0] == a->first && !memcmp(buf, buf + 1, n - 1);
}

/* Transfer @a->len bytes; 0, or the first chunk's failure (GS_SYS_SIGBUS, -ENOMEM). */
static int access_chunks(struct access *a, unsigned char *buf, int byte)
{
	/* A write's source is one page of its byte: filling the whole buffer cost more than the copy. */
	uint64_t chunk = a->write ? PAGE_SIZE : ACCESS_CHUNK;

	if (a->write)
		memset(buf, byte, (size_t)MIN(a->len, chunk));
	while (a->done < a->len) {
		size_t n = (size_t)MIN(a->len - a->done, chunk), got = 0;
		unsigned char *at = a->addr + a->done;
		int r = a->write ? a->g->sys->host_write(at, buf, n, &got)
				 : a->g->sys->host_read(at, buf, n, &got);

		if (!a->write)
			access_note(a, buf, got);
		a->done += got;
		if (r)
			return r;
	}
	return 0;
}

/*
 * Did the read at [@off, @off + @done) of @g's mapping touch a page with no
 * data behind it? Metadata-only memory (`machine backing=none`, the default
 * for scenario HugeTLB pools) keeps none, and kvm_gmem_access() reads zeros
 * there, as documented: the scenario says so rather than let a 0 puzzle.
 * The pages were just mapped by the read, so the count is that of the copy.
 */
static bool read_saw_no_data(const struct gmem_obj *g, uint64_t off, uint64_t done)
{
	const unsigned char *base = g->map;
	unsigned long pfn;

	if (g->sys->live || !done)
		return false;
	for (uint64_t p = off & ~(uint64_t)(PAGE_SIZE - 1); p < off + done; p += PAGE_SIZE)
		if (gs_uapi_mapped_pfn(base + p, &pfn) && !gs_pfn_to_virt(pfn))
			return true;
	return false;
}

/*
 * The length is the user's and may be anything: what is transferred is
 * bounded by the mapping first, and goes through one fixed-size buffer, so
 * neither memory nor work grows with the number written in the scenario.
 */
static int access_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res,
		      bool write)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);
	uint64_t off = gs_op_u64(op, "off", 0), len = gs_op_u64(op, "len", 0);
	struct access a = {.g = g, .write = write, .uniform = true};
	int r;

	if (!g)
		return ret;
	/* The copy stops where the mapping does: past it the process takes SIGSEGV. */
	a.len = mapped_part(g, off, len);
	a.addr = (unsigned char *)g->map + off;
	VALGRIND_MAKE_MEM_UNDEFINED(access_buf, sizeof(access_buf));
	r = access_chunks(&a, access_buf, (int)gs_op_u64(op, "byte", 0));
	set_access_result(res, r);
	if (!r && a.len < len)
		res->sig = SIGSEGV;
	gs_result_set(res, "done", a.done);
	if (!write && a.done) {
		gs_result_set_hex(res, "data", a.first);
		gs_result_set(res, "uniform", a.uniform);
		/* A walk of every page read: only for someone who reads the answer's details. */
		if (gs_scenario_output_wanted(s, op) && read_saw_no_data(g, off, a.done)) {
			gs_result_set(res, "nodata", 1);
			gs_result_why(res, "metadata-only memory: the page keeps no data, a read "
					   "sees zeros; use `machine backing=anon`");
		}
	}
	return 0;
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
		   "equal), done (SIGSEGV where it passes the mapping), nodata (simulator: "
		   "a page read has no data behind it, metadata-only memory: reads zeros)",
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
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);
	struct gmem_pin pin = {.off = gs_op_u64(op, "off", 0)};

	if (!g)
		return ret;
	/* GUP of an address nothing maps. */
	if (!mapped_part(g, pin.off, 1)) {
		res->ret = -EFAULT;
		return 0;
	}
	pin.handle = g->sys->pin((char *)g->map + ALIGN_DOWN(pin.off, PAGE_SIZE), PAGE_SIZE);
	/* Where io_uring is disabled the kernel offers no long-term pin to a process. */
	if (pin.handle == -EPERM || pin.handle == -ENOSYS)
		return skip_line(res, "io_uring (the long-term pin) is disabled on this kernel");
	res->ret = pin.handle < 0 ? pin.handle : 0;
	if (pin.handle >= 0)
		g_array_append_val(g->pins, pin);
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
};

static int unpin_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct gmem_obj *g = gs_scenario_obj_get(s, op->target, &gmem_type);
	uint64_t off = gs_op_u64(op, "off", 0);

	if (!g && gs_scenario_lax(s))
		return lax_answer(op, res, g, true, false) ? 0 : -1;
	if (!g)
		return gs_scenario_error(s, op, "no guest_memfd called '%s'", op->target);
	if (g->absent)
		return skip_line(res, NULL);
	for (guint i = g->pins->len; i-- > 0;) {
		struct gmem_pin *pin = &g_array_index(g->pins, struct gmem_pin, i);

		if (pin->off >> PAGE_SHIFT != off >> PAGE_SHIFT)
			continue;
		res->ret = g->sys->unpin(pin->handle);
		g_array_remove_index(g->pins, i);
		gmem_obj_maybe_forget(s, op, g);
		return 0;
	}
	/*
	 * Nothing to drop: an answer, as io_uring's unregister without a buffer
	 * (ENXIO), not a malformed line; a generated scenario cannot know
	 * whether its pin succeeded.
	 */
	res->ret = -ENXIO;
	gs_result_why(res, "'%s' has no pin at 0x%" PRIx64, op->target, off);
	return 0;
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
};

/* --- convert: KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd (v8, wip, planned) --- */

static const char *const to_names[] = {"shared", "private", NULL};

static const struct gs_key convert_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in bytes"},
	{"len", GS_ARG_U64, .required = true, .help = "size in bytes"},
	{"to", GS_ARG_ENUM, to_names, .help = "shared (attributes 0) or private"},
	{"attributes", GS_ARG_U64, .help = "the raw attributes word, instead of to="},
	{"flags", GS_ARG_U64, .help = "the flags word (must be 0)"},
	{"reserved", GS_ARG_U64, .help = "a value for reserved[0] (must be 0)"},
	{"error_offset", GS_ARG_U64, .help = "the incoming error_offset (v8 ignores it)"},
	{NULL},
};

static const char *const convert_outputs[] = {"error_offset", "partial", "folios", "huge_folios",
					      NULL};

/* The stage-2 leaves, by level, of the VM that created @g's file (simulator). */
static void vm_leaves(struct gmem_obj *g, unsigned long *leaves)
{
	struct gmem_file *file = gs_uapi_gmem_file(g->fd);

	if (file && file->vm && file->vm->ops)
		memcpy(leaves, gmem_vm_kvm(file->vm)->nr_leaves, sizeof(*leaves) * PG_LEVEL_NUM);
}

/*
 * A failed conversion the library says did part of its work: under wip,
 * batches or a zap; under rfc-v2, the items' zap; which shows in the leaf
 * counts (so a zap that found no leaf left nothing). planned never does.
 */
static bool convert_left_work(struct gmem_obj *g, const unsigned long *before)
{
	struct gmem_file *file = gs_uapi_gmem_file(g->fd);
	unsigned long now[PG_LEVEL_NUM] = {0};

	if (!file || !file->vm || file->vm->conversion == GS_CONVERSION_WIP)
		return true;
	vm_leaves(g, now);
	return memcmp(now, before, sizeof(now)) != 0;
}

static int convert_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, true, false, &ret);
	struct gs_kvm_memory_attributes2 a = gs_scenario_convert_args(op);

	unsigned long partial, leaves[PG_LEVEL_NUM] = {0};

	if (!g)
		return ret;
	partial = g->sys->live ? 0 : gs_gmem_convert_stats(false).partial;
	if (!g->sys->live)
		vm_leaves(g, leaves);
	res->ret = g->sys->ioctl(g->fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, (unsigned long)&a);
	/* A kernel without in-place conversion lacks the ioctl: that is no answer. */
	if (g->sys->live && res->ret == -ENOTTY)
		return skip_line(res, "this kernel has no KVM_SET_MEMORY_ATTRIBUTES2 (ENOTTY)");
	gs_result_set_hex(res, "error_offset", a.error_offset);
	/* The simulator says when a failure left work done (the wip ordering's batches). */
	if (!g->sys->live) {
		struct gmem_file *file = gs_uapi_gmem_file(g->fd);
		unsigned long all, whole;

		gs_result_set(res, "partial",
			      gs_gmem_convert_stats(false).partial != partial &&
				      convert_left_work(g, leaves));
		/* A walk of every folio of the file: only for someone who reads it. */
		if (file && gs_scenario_output_wanted(s, op)) {
			count_folios(file->inode, &all, &whole);
			gs_result_set(res, "folios", all);
			gs_result_set(res, "huge_folios", file->inode->page_order ? whole : 0);
		}
	}
	return 0;
}

/*
 * All or nothing (spec P7, P37): a failed allocation is ENOMEM with nothing
 * changed, unless the ordering keeps part of the work (partial=1: wip's
 * earlier batches; rfc-v2's zap of its items; never planned).
 */
static const int convert_errnos[] = {0};

static const struct gs_verb verb_convert = {
	.name = "convert",
	.summary = "KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd (in-place conversion, in the "
		   "VM's ordering); outputs error_offset, and on the simulator partial, folios, "
		   "huge_folios",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = convert_keys,
	.outputs = convert_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = convert_run,
	.fail_nth.errnos = convert_errnos,
	.fail_nth.progress = "partial",
};

/* --- guest side and memory failure: SIMULATOR-ONLY --- */

/* The simulated file behind @op's open fd, or NULL after reporting why. */
static struct gmem_file *op_file(struct gs_scenario *s, const struct gs_op *op,
				 struct gs_result *res, int *ret)
{
	struct gmem_obj *g = op_gmem(s, op, res, true, false, ret);

	if (g && g->sys->live) {
		*ret = gs_scenario_error(s, op, "'%s' is not a simulated file", op->target);
		return NULL;
	}
	return g ? gs_uapi_gmem_file(g->fd) : NULL;
}

static const struct gs_key index_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "file offset in bytes"},
	{NULL},
};

static const char *const getpfn_outputs[] = {"max_order", NULL};

/* SIMULATOR-ONLY: kvm_gmem_get_pfn(), what KVM's MMU asks the file. */
static int getpfn_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_file *file = op_file(s, op, res, &ret);
	unsigned long pfn;
	int order;

	if (!file)
		return ret;
	res->ret = kvm_gmem_get_pfn(file, gs_op_u64(op, "off", 0) >> PAGE_SHIFT, &pfn, &order);
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

/* SIMULATOR-ONLY: memory failure (the kernel's needs root-only injection interfaces). */
static int poison_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_file *file = op_file(s, op, res, &ret);

	if (!file)
		return ret;
	res->ret = kvm_gmem_error_page(file, gs_op_u64(op, "off", 0) >> PAGE_SHIFT);
	return 0;
}

/*
 * memory_failure() allocates the record of the bad raw page with GFP_ATOMIC;
 * without it the folio's record is unreliable (every page counts as bad).
 */
static const struct gs_fail_nth_effort poison_effort[] = {
	{NULL, "xarray.node"},
	{NULL, NULL},
};

static const struct gs_verb verb_poison = {
	.name = "poison",
	.summary = "memory failure on an allocated page (ENOENT if none)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = index_keys,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = poison_run,
	.fail_nth.best_effort = poison_effort,
};

static const char *const unpoison_outputs[] = {"pages", "held", NULL};

/* SIMULATOR-ONLY: the poisoned pages the page allocator and the HugeTLB pools keep out of use. */
static int unpoison_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	(void)s;
	if (gs_op_has(op, "count"))
		gs_result_set(res, "held", gs_page_alloc_nr_hwpoison() + hugetlb_nr_hwpoison());
	else
		gs_result_set(res, "pages", gs_page_alloc_unpoison_all() + hugetlb_unpoison_all());
	return 0;
}

static const struct gs_key unpoison_keys[] = {
	{"count", GS_ARG_BOOL, .help = "only report how many poisoned pages are held out of use"},
	{NULL},
};

/* A page whose vmemmap cannot be restored stays in the pool as a free surplus page. */
static const struct gs_fail_nth_effort unpoison_effort[] = {
	{NULL, "hvo.restore"},
	{NULL, NULL},
};

static const struct gs_verb verb_unpoison = {
	.name = "unpoison",
	.summary = "return the freed poisoned pages to use (debugfs unpoison-pfn for each); "
		   "outputs pages, or held with count",
	.keys = unpoison_keys,
	.outputs = unpoison_outputs,
	.backends = GS_BACKEND_SIM,
	.run = unpoison_run,
	.fail_nth.best_effort = unpoison_effort,
};

/* --- populate: the CoCo launch helpers over kvm_gmem_populate() --- */

static const char *const src_names[] = {"buffer", "none", NULL};

static const struct gs_key populate_keys[] = {
	{"gpa", GS_ARG_U64, .required = true, .help = "first guest physical address"},
	{"len", GS_ARG_U64, .required = true, .help = "bytes (whole pages; clamped to the slot)"},
	{"src", GS_ARG_ENUM, src_names,
	 .help = "buffer (default): a source filled with byte=; none: no source, the data is "
		 "in place already (P16: in-place conversion only)"},
	{"byte", GS_ARG_U64, .help = "the source's fill byte (default 0)"},
	{NULL},
};

static const char *const populate_outputs[] = {"pages", "folios_added", NULL};

/* Pages per call: the source is one fixed-size buffer, whatever len says. */
#define POPULATE_CHUNK 512L

/* Folios of the file behind @gfn's slot, 0 without one. */
static unsigned long slot_folios(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = kvm_find_slot(kvm, gfn);
	unsigned long all = 0, whole;

	if (slot && slot->gmem.file)
		count_folios(slot->gmem.file->inode, &all, &whole);
	return all;
}

/*
 * SIMULATOR-ONLY in effect: SNP_LAUNCH_UPDATE and TDX INIT_MEM_REGION are
 * arch ioctls (KVM_MEMORY_ENCRYPT_OP) of VM types the kernel backend does
 * not create, and sw_protected VMs have none, so a kernel run skips the
 * line. The kernel returns the pages done if any, else the error: `pages`
 * and ret say the same here.
 */
static int populate_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct vm_obj *vm = named_vm(s, op, op->target);
	gfn_t gfn = gs_op_u64(op, "gpa", 0) >> PAGE_SHIFT;
	uint64_t len = gs_op_u64(op, "len", 0);
	bool none = gs_op_u64(op, "src", 0) == 1;
	long npages = (long)MIN(len >> PAGE_SHIFT, (uint64_t)LONG_MAX), done = 0, r = 0;
	unsigned long before;
	unsigned char *buf = NULL;
	struct kvm *kvm;

	if (!vm)
		return -1;
	if (vm->absent || vm->sys->live)
		return skip_line(res, "populate is an SEV/TDX launch ioctl the kernel backend "
				      "cannot issue (no sw_protected equivalent)");
	kvm = gs_uapi_kvm(vm->fd);
	before = slot_folios(kvm, gfn);
	if (!none)
		buf = g_malloc(POPULATE_CHUNK * PAGE_SIZE);
	/* One call when it fails before any page: its errno is the answer. */
	do {
		long n = MIN(npages - done, POPULATE_CHUNK);

		if (buf)
			memset(buf, (int)gs_op_u64(op, "byte", 0), (size_t)MAX(n, 1L) * PAGE_SIZE);
		r = gs_kvm_launch_populate(kvm, gfn + (gfn_t)done, buf, n ? n : npages);
		if (r > 0)
			done += r;
	} while (r == POPULATE_CHUNK && done < npages);
	g_free(buf);
	res->ret = done ? 0 : (int)r;
	gs_result_set(res, "pages", (uint64_t)done);
	gs_result_set(res, "folios_added", slot_folios(kvm, gfn) - before);
	return 0;
}

/*
 * The allocations of a page after the first one fail with fewer pages done
 * (the kernel's answer: the count); a failure at the first page may leave
 * the folio it allocated (the kernel does not take it back): folios_added.
 */
static const struct gs_fail_nth_effort populate_effort[] = {
	{NULL, "xarray.node"},	{NULL, "xarray.split"}, {NULL, "page_alloc"},
	{NULL, "hugetlb.meta"}, {NULL, "hvo.restore"},	{NULL, NULL},
};

static const struct gs_verb verb_populate = {
	.name = "populate",
	.usage_target = "VM",
	.summary = "kvm_gmem_populate() through the VM type's launch helper (SNP_LAUNCH_UPDATE, "
		   "TDX INIT_MEM_REGION; sw_protected: the simulator's); outputs pages, "
		   "folios_added; skipped on the kernel backend",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = populate_keys,
	.outputs = populate_outputs,
	.backends = GS_BACKEND_SIM | GS_BACKEND_KERNEL,
	.strict = true,
	.run = populate_run,
	.fail_nth.best_effort = populate_effort,
	.fail_nth.progress = "folios_added",
};

static const char *const arch_outputs[] = {
	"prepare_calls", "prepare_pfns", "invalidate_pfns", "rmp_assigned",	   "populated",
	"copies",	 "get_pfn",	 "prepare_shared",  "mapping_order_short", NULL,
};

/* SIMULATOR-ONLY: the arch hooks' counters of a VM, and guest_memfd's get_pfn counters. */
static int arch_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	struct kvm *kvm = op_kvm(s, op);
	struct gs_gmem_pfn_stats ps = gs_gmem_pfn_stats(false);

	if (!kvm)
		return -1;
	gs_result_set(res, "prepare_calls", kvm->arch_stats.prepare_calls);
	gs_result_set(res, "prepare_pfns", kvm->arch_stats.prepare_pfns);
	gs_result_set(res, "invalidate_pfns", kvm->arch_stats.invalidate_pfns);
	gs_result_set(res, "rmp_assigned", kvm->arch_stats.rmp_assigned);
	gs_result_set(res, "populated", kvm->arch_stats.populated);
	gs_result_set(res, "copies", kvm->arch_stats.populate_copies);
	gs_result_set(res, "get_pfn", ps.get_pfn);
	gs_result_set(res, "prepare_shared", ps.prepare_shared);
	gs_result_set(res, "mapping_order_short", ps.mapping_order_short);
	return 0;
}

static const struct gs_verb verb_arch = {
	.name = "arch",
	.usage_target = "VM",
	.summary = "the VM's arch guest_memfd hooks: prepare calls, pfns prepared and "
		   "invalidated, SNP's assigned pfns, pages populated and copied; the run's "
		   "get_pfn, prepare_shared (skipped: shared) and mapping_order_short (P39) counts",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = arch_outputs,
	.backends = GS_BACKEND_SIM,
	.run = arch_run,
};

static const struct gs_verb *const gmem_verbs[] = {
	&verb_vm,     &verb_memslot,  &verb_gfault,   &verb_attr,    &verb_stage2,
	&verb_gmem,   &verb_stat,     &verb_falloc,   &verb_punch,   &verb_close,
	&verb_mmap,   &verb_munmap,   &verb_madvise,  &verb_fault,   &verb_read,
	&verb_write,  &verb_pin,      &verb_unpin,    &verb_convert, &verb_getpfn,
	&verb_poison, &verb_unpoison, &verb_populate, &verb_arch,    NULL,
};

/* Pages memory failure took out of use come back when the simulated machine goes. */
static void gmem_teardown(void)
{
	gs_page_alloc_unpoison_all();
	if (hugetlb_nr_hwpoison() && !WARN_ON(!hugetlb_backend()))
		hugetlb_unpoison_all();
}

/* A THP is best effort (docs/STRATEGIES.md, "thp"): when it fails a file gets 4 KiB pages. */
static const char *const gmem_best_effort_sites[] = {"page_alloc.thp", NULL};

static struct gs_scenario_module gmem_module = {
	.name = "gmem",
	.priority = GS_MODULE_PRIO_LAYER,
	.verbs = gmem_verbs,
	.teardown = gmem_teardown,
	.best_effort_sites = gmem_best_effort_sites,
};
GS_SCENARIO_MODULE(gmem_module)

/* --- SIMULATOR-ONLY: a split HugeTLB page, as a conversion to shared leaves it --- */

static const struct gs_key gsplit_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "file offset in bytes, in the huge page"},
	{"shared", GS_ARG_BOOL, .help = "also make the 4 KiB page at off shared"},
	{NULL},
};

static const char *const gsplit_outputs[] = {"pieces", NULL};

/* Make the page at @index shared, the range widened over equal neighbours (spec P1). */
static int gsplit_prepare_shared(struct gmem_inode *inode, pgoff_t index, struct ma_state *mas)
{
	void *entry = xa_mk_value(SHAREABILITY_ALL);
	unsigned long first = index, last = index;

	if (index && mtree_load(&inode->shareability, index - 1) == entry) {
		MA_STATE(m, &inode->shareability, index - 1, index - 1);

		mas_walk(&m);
		first = m.index;
	}
	if (index + 1 < gmem_nr_pages(inode) &&
	    mtree_load(&inode->shareability, index + 1) == entry) {
		MA_STATE(m, &inode->shareability, index + 1, index + 1);

		mas_walk(&m);
		last = m.last;
	}
	mas_set_range(mas, first, last);
	return mas_preallocate(mas, entry, GFP_KERNEL);
}

/*
 * What a conversion to shared of one 4 KiB page of a HugeTLB file does to
 * its folio (spec P35), for scenarios about split pages while the HugeTLB
 * conversion is not wired: split the huge page holding off= to 4 KiB
 * (hugetlb_restructuring_split_folio()) and, with shared, mark the page
 * shared. Nothing of stage-2 is split or zapped: use it before guest faults
 * map the page. Either both happen or neither.
 */
static int gsplit_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_file *file = op_file(s, op, res, &ret);
	struct hugetlb_split_opts opts = {0};
	struct gmem_inode *inode;
	struct folio *folio;
	pgoff_t index;
	bool shared;

	if (!file)
		return ret;
	inode = file->inode;
	index = gs_op_u64(op, "off", 0) >> PAGE_SHIFT;
	shared = gs_op_u64(op, "shared", 0);
	if (!inode->page_order || index >= gmem_nr_pages(inode)) {
		res->ret = -EINVAL;
		return 0;
	}
	folio = xa_load(&inode->filemap, index);
	if (!folio) {
		res->ret = -ENOENT;
		return 0;
	}
	MA_STATE(mas, &inode->shareability, index, index);
	if (shared && gsplit_prepare_shared(inode, index, &mas)) {
		res->ret = -ENOMEM;
		return 0;
	}
	res->ret = folio_order(folio) ? hugetlb_restructuring_split_folio(
						&inode->filemap, folio->index, folio, &opts)
				      : 0;
	if (shared && res->ret)
		mas_destroy(&mas);
	else if (shared)
		mas_store_prealloc(&mas, xa_mk_value(SHAREABILITY_ALL));
	if (!res->ret)
		gs_result_set(res, "pieces", 1UL << inode->page_order);
	return 0;
}

static const struct gs_verb verb_gsplit = {
	.name = "gsplit",
	.summary = "split the HugeTLB file page holding off= to 4 KiB, optionally making the page "
		   "at off shared (what a conversion to shared does to the folio)",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = gsplit_keys,
	.outputs = gsplit_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.run = gsplit_run,
};

static const char *const usage_outputs[] = {"folios_4k",  "folios_2m", "folios_1g",   "pieces",
					    "spool_used", "spool_rsv", "attr_ranges", NULL};

/* Entries of the attribute maple tree: adjacent equal ranges are one (spec P1). */
static uint64_t attr_ranges(struct gmem_inode *inode)
{
	MA_STATE(mas, &inode->shareability, 0, 0);
	uint64_t n = 0;
	void *entry;

	mas_for_each (&mas, entry, ULONG_MAX)
		n++;
	return n;
}

/*
 * The file's memory at a glance: its folios by order (pieces: those of a
 * split huge page) and, for a HugeTLB file, its subpool's counters.
 */
static int usage_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_file *file = op_file(s, op, res, &ret);
	unsigned long by_order[3] = {0}, pieces = 0, index;
	struct gmem_inode *inode;
	struct folio *folio;

	if (!file)
		return ret;
	inode = file->inode;
	xa_for_each (&inode->filemap, index, folio) {
		unsigned int order = folio_order(folio);

		by_order[order >= 18 ? 2 : order >= 9 ? 1 : 0]++;
		pieces += folio_test_needs_merge(folio);
	}
	gs_result_set(res, "folios_4k", by_order[0]);
	gs_result_set(res, "folios_2m", by_order[1]);
	gs_result_set(res, "folios_1g", by_order[2]);
	gs_result_set(res, "pieces", pieces);
	gs_result_set(res, "attr_ranges", attr_ranges(inode));
	if (inode->spool) {
		gs_result_set(res, "spool_used", (uint64_t)inode->spool->used_hpages);
		gs_result_set(res, "spool_rsv", (uint64_t)inode->spool->rsv_hpages);
	}
	return 0;
}

static const struct gs_verb verb_gmem_usage = {
	.name = "gmem-usage",
	.summary = "a file's folios by order (pieces: of split huge pages), its subpool's "
		   "used and reserved huge pages, and attr_ranges: the entries of its attribute "
		   "maple tree (adjacent equal ranges merged)",
	.target = GS_ARG_STR,
	.target_required = true,
	.outputs = usage_outputs,
	.backends = GS_BACKEND_SIM,
	.strict = true,
	.no_fail_nth = true,
	.run = usage_run,
};

/* Their own module, so the guest_memfd verb list above stays as it is. */
static const struct gs_verb *const gmem_split_verbs[] = {&verb_gsplit, &verb_gmem_usage, NULL};

static struct gs_scenario_module gmem_split_module = {
	.name = "gmem-split",
	.priority = GS_MODULE_PRIO_LAYER,
	.verbs = gmem_split_verbs,
};
GS_SCENARIO_MODULE(gmem_split_module)

/* --- for the oracle's adapter (scenario_oracle.c): the simulator's objects behind names --- */

/* The keys gs_scenario_convert_args() reads, and their names in convert_keys[]. */
enum { CK_OFF, CK_LEN, CK_TO, CK_ATTRIBUTES, CK_FLAGS, CK_RESERVED, CK_ERROR_OFFSET, CK_NR };
static const char *const convert_key_names[CK_NR] = {
	"off", "len", "to", "attributes", "flags", "reserved", "error_offset",
};

/* Key @i of the convert verb's (index in convert_keys[]) as gs_op_u64() reads it. */
static inline uint64_t convert_arg(const struct gs_op *op, int i, uint64_t dflt)
{
	return op->args[i].present ? op->args[i].u : dflt;
}

/*
 * Read twice per `convert` line (the verb, the oracle's prediction): the
 * keys by their index in convert_keys[], which is what op->args is indexed
 * by for the convert verb. Another verb's line is read by name.
 */
struct gs_kvm_memory_attributes2 gs_scenario_convert_args(const struct gs_op *op)
{
	static int ki[CK_NR] = {-1};
	static bool by_name;
	uint64_t to;

	if (G_UNLIKELY(ki[0] < 0 && !by_name))
		for (int i = 0; i < CK_NR; i++)
			by_name |= WARN_ON_ONCE((ki[i] = gs_verb_key_index(
							 &verb_convert, convert_key_names[i])) < 0);
	if (op->verb != &verb_convert || by_name) {
		to = gs_op_u64(op, "to", 0) ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		return (struct gs_kvm_memory_attributes2){
			.offset = gs_op_u64(op, "off", 0),
			.size = gs_op_u64(op, "len", 0),
			.attributes = gs_op_u64(op, "attributes", to),
			.flags = gs_op_u64(op, "flags", 0),
			.error_offset = gs_op_u64(op, "error_offset", 0),
			.reserved[0] = gs_op_u64(op, "reserved", 0),
		};
	}
	to = convert_arg(op, ki[CK_TO], 0) ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	return (struct gs_kvm_memory_attributes2){
		.offset = convert_arg(op, ki[CK_OFF], 0),
		.size = convert_arg(op, ki[CK_LEN], 0),
		.attributes = convert_arg(op, ki[CK_ATTRIBUTES], to),
		.flags = convert_arg(op, ki[CK_FLAGS], 0),
		.error_offset = convert_arg(op, ki[CK_ERROR_OFFSET], 0),
		.reserved[0] = convert_arg(op, ki[CK_RESERVED], 0),
	};
}

int gs_scenario_gmem_fd(struct gs_scenario *s, const char *name, uint64_t *map_len)
{
	struct gmem_obj *g = name ? gs_scenario_obj_get(s, name, &gmem_type) : NULL;

	if (!g || g->absent || g->sys->live)
		return -1;
	if (map_len)
		*map_len = g->map ? g->map_len : 0;
	return g->fd;
}

uint64_t gs_scenario_gmem_mapped(struct gs_scenario *s, const char *name, uint64_t off,
				 uint64_t len)
{
	struct gmem_obj *g = name ? gs_scenario_obj_get(s, name, &gmem_type) : NULL;

	return g && g->map ? mapped_part(g, off, len) : 0;
}

struct kvm *gs_scenario_vm_kvm(struct gs_scenario *s, const char *name)
{
	struct vm_obj *vm = name ? gs_scenario_obj_get(s, name, &vm_type) : NULL;

	return vm && !vm->absent && !vm->sys->live && vm->fd >= 0 ? gs_uapi_kvm(vm->fd) : NULL;
}

/* --- SIMULATOR-ONLY: memory policy of a mapped file (mbind) and where its pages are --- */

static const char *const mpol_mode_names[] = {
	"default",	  "preferred",		 "bind", "interleave", "local",
	"preferred-many", "weighted-interleave", NULL,
};
static const char *const mbind_flag_names[] = {"strict", "move", "move-all", NULL};

static const struct gs_key mbind_keys[] = {
	{"off", GS_ARG_U64, .required = true, .help = "offset in the mapping, in bytes"},
	{"len", GS_ARG_U64, .required = true, .help = "bytes (rounded up to pages)"},
	{"mode", GS_ARG_ENUM, .names = mpol_mode_names, .required = true, .help = "MPOL_* mode"},
	{"nodes", GS_ARG_U64, .help = "node mask (bit n: node n); none: no mask"},
	{"flags", GS_ARG_FLAGS, .names = mbind_flag_names, .help = "MPOL_MF_* flags"},
	{NULL},
};

static int mbind_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);
	unsigned long nodes = gs_op_u64(op, "nodes", 0);

	if (!g)
		return ret;
	/* MPOL_MF_STRICT, _MOVE, _MOVE_ALL are bits 0, 1, 2, the names' order. */
	if (gs_mbind((char *)g->map + gs_op_u64(op, "off", 0), gs_op_u64(op, "len", 0),
		     (int)gs_op_u64(op, "mode", 0), gs_op_has(op, "nodes") ? &nodes : NULL,
		     gs_op_has(op, "nodes") ? sizeof(nodes) * 8 : 0,
		     (unsigned int)gs_op_u64(op, "flags", 0)))
		res->ret = -errno;
	return 0;
}

static const struct gs_verb verb_mbind = {
	.name = "mbind",
	.summary = "mbind() on the file's mapping: the inode's memory policy for those pages",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = mbind_keys,
	.backends = GS_BACKEND_SIM,
	.run = mbind_run,
};

static const char *const where_outputs[] = {"node", "policy", "policy_nodes", NULL};

static int where_run(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res)
{
	int ret, status, mode;
	struct gmem_obj *g = op_gmem(s, op, res, false, true, &ret);
	unsigned long mask = 0;
	void *page;

	if (!g)
		return ret;
	page = (char *)g->map + gs_op_u64(op, "off", 0);
	/* move_pages() with no target: where the page is, if it is faulted in. */
	if (gs_move_pages(0, 1, &page, NULL, &status, 0)) {
		res->ret = -errno;
		return 0;
	}
	if (gs_get_mempolicy(&mode, &mask, sizeof(mask) * 8, page, MPOL_F_ADDR)) {
		res->ret = -errno;
		return 0;
	}
	if (status < 0)
		res->ret = status;
	else
		gs_result_set(res, "node", (uint64_t)status);
	gs_result_set(res, "policy", (uint64_t)mode);
	gs_result_set_hex(res, "policy_nodes", mask);
	return 0;
}

static const struct gs_verb verb_where = {
	.name = "where",
	.summary = "the node of the mapped page at off (move_pages(), ENOENT if not faulted in) "
		   "and its policy (get_mempolicy(MPOL_F_ADDR))",
	.target = GS_ARG_STR,
	.target_required = true,
	.keys = off_keys,
	.outputs = where_outputs,
	.backends = GS_BACKEND_SIM,
	.run = where_run,
};

static const struct gs_verb *const gmem_numa_verbs[] = {&verb_mbind, &verb_where, NULL};

static struct gs_scenario_module gmem_numa_module = {
	.name = "gmem-numa",
	.priority = GS_MODULE_PRIO_LAYER,
	.verbs = gmem_numa_verbs,
};
GS_SCENARIO_MODULE(gmem_numa_module)
