// SPDX-License-Identifier: MIT
/*
 * The steps of `gmemsim export-selftest`: each line the simulator ran, as
 * the KVM selftest library's calls (vm_create_barebones[_type],
 * vm_create_guest_memfd, __vm_set_user_memory_region2, __vm_ioctl, ioctl,
 * fallocate, mmap, munmap, close, host loads and stores, io_uring pins)
 * with the simulator's answer asserted through the helpers of
 * export_preamble.h. A step upstream does not offer yet (in-place
 * conversion, HugeTLB files, a VM type) is gated by the capability the
 * kernel would advertise. A line no system call expresses is left out with
 * the reason; one whose effect later answers depend on (a guest fault, an
 * injected failure) ends the export, as nothing after it could be asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <gmemsim/linux/kvm.h>
#include "export_steps.h"

static void ex_var_free(gpointer p)
{
	struct ex_var *v = p;

	g_free(v->name);
	g_free(v->c);
	g_free(v->vm);
	g_free(v);
}

void ex_ctx_init(struct ex_ctx *c)
{
	*c = (struct ex_ctx){
		.body = g_string_new(NULL),
		.decls = g_string_new(NULL),
		.omitted = g_string_new(NULL),
		.vars = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, ex_var_free),
		.cnames = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.rewritten = g_hash_table_new(g_direct_hash, g_direct_equal),
		.pins = g_array_new(FALSE, FALSE, sizeof(struct ex_pin)),
	};
}

void ex_ctx_fini(struct ex_ctx *c)
{
	g_string_free(c->body, TRUE);
	g_string_free(c->decls, TRUE);
	g_string_free(c->omitted, TRUE);
	g_hash_table_destroy(c->vars);
	g_hash_table_destroy(c->cnames);
	g_hash_table_destroy(c->rewritten);
	g_array_free(c->pins, TRUE);
	g_free(c->end_why);
}

/* @s with "*" "/" broken up, so that it can sit inside a C comment. */
void ex_append_commented(GString *out, const char *s)
{
	for (; s && *s; s++) {
		g_string_append_c(out, *s);
		if (*s == '*' && s[1] == '/')
			g_string_append_c(out, ' ');
	}
}

/* @op's line as the scenario has it, without the profile the export added. */
static void append_src(const struct ex_ctx *c, GString *out, const struct gs_op *op)
{
	const char *at = strstr(op->src, EX_UPSTREAM);
	gchar *src;

	if (!at || !g_hash_table_contains(c->rewritten, GUINT_TO_POINTER(op->line)))
		return ex_append_commented(out, op->src);
	src = g_strdup(op->src);
	memmove(src + (at - op->src), src + (at - op->src) + strlen(EX_UPSTREAM),
		strlen(at) - strlen(EX_UPSTREAM) + 1);
	ex_append_commented(out, src);
	g_free(src);
}

/* A C identifier for @name, unique in this program. */
static char *c_ident(struct ex_ctx *c, const char *name)
{
	GString *id = g_string_new(NULL);
	char *out;

	for (const char *p = name; *p; p++)
		g_string_append_c(id, g_ascii_isalnum(*p) ? *p : '_');
	out = g_strdup(id->str);
	for (unsigned int n = 2; g_hash_table_contains(c->cnames, out); n++) {
		g_free(out);
		out = g_strdup_printf("%s_%u", id->str, n);
	}
	g_hash_table_add(c->cnames, g_strdup(out));
	g_string_free(id, TRUE);
	return out;
}

/* The variables of @name, declared at its first use. */
static struct ex_var *var_get(struct ex_ctx *c, const char *name, bool is_vm)
{
	struct ex_var *v = g_hash_table_lookup(c->vars, name);

	if (v && v->is_vm == is_vm)
		return v;
	if (v)
		return NULL;
	v = g_new0(struct ex_var, 1);
	v->name = g_strdup(name);
	v->c = c_ident(c, name);
	v->is_vm = is_vm;
	g_hash_table_insert(c->vars, v->name, v);
	if (is_vm) {
		g_string_append_printf(c->decls, "static GS_UNUSED struct kvm_vm *vm_%s;\n", v->c);
		return v;
	}
	g_string_append_printf(c->decls,
			       "static GS_UNUSED struct kvm_vm *ownvm_%s;\n"
			       "static GS_UNUSED int fd_%s = -1;\n"
			       "static GS_UNUSED unsigned char *map_%s;\n"
			       "static GS_UNUSED unsigned long long maplen_%s;\n",
			       v->c, v->c, v->c, v->c);
	return v;
}

static struct ex_var *existing(struct ex_ctx *c, const char *name, bool is_vm)
{
	struct ex_var *v = g_hash_table_lookup(c->vars, name);

	return v && v->is_vm == is_vm && v->exists ? v : NULL;
}

/* A line the program leaves out, and why; @end: nothing after it can be asserted either. */
static void omit(struct ex_ctx *c, const struct gs_op *op, const char *why, bool end)
{
	g_string_append_printf(c->omitted, " *   line %u: ", op->line);
	append_src(c, c->omitted, op);
	g_string_append(c->omitted, "\n *     ");
	ex_append_commented(c->omitted, why);
	g_string_append_c(c->omitted, '\n');
	if (end) {
		c->end_line = op->line;
		c->end_why = g_strdup(why);
	}
}

static void step_comment(struct ex_ctx *c, const struct gs_op *op)
{
	g_string_append_printf(c->body, "\n\t/* line %u: ", op->line);
	append_src(c, c->body, op);
	g_string_append(c->body, " */\n");
	c->steps++;
}

static void emit(struct ex_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct ex_ctx *c, const char *fmt, ...)
{
	va_list ap;

	g_string_append_c(c->body, '\t');
	va_start(ap, fmt);
	g_string_append_vprintf(c->body, fmt, ap);
	va_end(ap);
	g_string_append_c(c->body, '\n');
}

/* A result field, or -1 when the simulator did not report it. */
static long long field(const struct gs_result *res, const char *key)
{
	for (unsigned int i = 0; i < res->nr; i++)
		if (!strcmp(res->fields[i].key, key) && !res->fields[i].is_str)
			return (long long)res->fields[i].val;
	return -1;
}

/* The answer, as gs_expect() compares it. */
static long long answer(const struct gs_result *res)
{
	return res->ret;
}

/* fstat fields after a file operation; st_blocks only where the file is upstream's. */
static void expect_stat(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res,
			const struct ex_var *g)
{
	if (field(res, "size") < 0)
		return;
	emit(c, "gs_expect_stat(%u, fd_%s, %lld, %lld, %lld, 0%llo);", op->line, g->c,
	     field(res, "size"), field(res, "blksize"), g->upstream ? field(res, "blocks") : -1LL,
	     (unsigned long long)field(res, "mode"));
}

static const char *vm_type_name(unsigned long type)
{
	static const char *const names[] = {"KVM_X86_DEFAULT_VM", "KVM_X86_SW_PROTECTED_VM",
					    "KVM_X86_SEV_VM",	  "KVM_X86_SEV_ES_VM",
					    "KVM_X86_SNP_VM",	  "KVM_X86_TDX_VM"};

	return type < G_N_ELEMENTS(names) ? names[type] : "KVM_X86_DEFAULT_VM";
}

/* A VM of @type into @var: gated on KVM_CAP_VM_TYPES for any type but DEFAULT. */
static void emit_vm_create(struct ex_ctx *c, unsigned int line, const char *var, unsigned long type)
{
	if (type == GS_KVM_X86_DEFAULT_VM) {
		emit(c, "%s = vm_create_barebones();", var);
		return;
	}
	/* The TDX type needs 6.16's headers: its number stands in. */
	emit(c, "gs_require(%u, kvm_check_cap(KVM_CAP_VM_TYPES) & (1ULL << %lu),", line, type);
	emit(c, "\t   \"VM type %s (%lu) is not offered\");", vm_type_name(type), type);
	emit(c, "%s = vm_create_barebones_type(%lu);", var, type);
}

static bool op_profile_upstream(const struct gs_op *op)
{
	return gs_op_has(op, "profile") && gs_op_u64(op, "profile", 0) == 1;
}

/* --- the verbs --- */

static void ex_vm(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	unsigned long type = (unsigned long)gs_op_u64(op, "type", 0);
	struct ex_var *v = var_get(c, op->target, true);
	char *var;

	if (!v)
		return omit(c, op, "the name is a guest_memfd's in this program", true);
	v->type = type;
	v->upstream = op_profile_upstream(op);
	step_comment(c, op);
	if (gs_op_has(op, "conversion") || gs_op_has(op, "strategy") ||
	    gs_op_has(op, "populate_eexist"))
		emit(c, "/* conversion=, strategy=, populate_eexist=: the simulator's choices, "
			"not the kernel's */");
	if (res->ret < 0) {
		/* A failure the library's helpers would assert away: the raw ioctl. */
		emit(c, "{");
		emit(c, "\tint kvm = open_kvm_dev_path_or_exit();");
		g_string_append_c(c->body, '\n');
		emit(c, "\tgs_expect_fd(%u, gs_ret(ioctl(kvm, KVM_CREATE_VM, %luUL)), %lld);",
		     op->line, type, answer(res));
		emit(c, "\tclose(kvm);");
		emit(c, "}");
		return;
	}
	var = g_strdup_printf("vm_%s", v->c);
	emit_vm_create(c, op->line, var, type);
	g_free(var);
	/* vm_memory_attributes=0: the design's attributes in guest_memfd. */
	if (gs_op_has(op, "vm_memory_attributes") && !gs_op_u64(op, "vm_memory_attributes", 1)) {
		emit(c,
		     "gs_require(%u, vm_check_cap(vm_%s, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),",
		     op->line, v->c);
		emit(c,
		     "\t   \"attributes in guest_memfd (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) are "
		     "not offered\");");
	}
	v->exists = true;
}

/* The creation argument, with the proposed page order in reserved[0]. */
static void emit_gmem_create(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res,
			     const struct ex_var *g, uint64_t flags, uint64_t order)
{
	uint64_t size = gs_op_u64(op, "size", 0);

	if (!order && res->ret >= 0) {
		emit(c, "fd_%s = vm_create_guest_memfd(%s, 0x%llxULL, 0x%llxULL);", g->c, g->vm,
		     (unsigned long long)size, (unsigned long long)flags);
		return;
	}
	if (!order) {
		emit(c, "fd_%s = __vm_create_guest_memfd(%s, 0x%llxULL, 0x%llxULL);", g->c, g->vm,
		     (unsigned long long)size, (unsigned long long)flags);
	} else {
		emit(c, "{");
		emit(c, "\tstruct kvm_create_guest_memfd args = {");
		emit(c, "\t\t.size = 0x%llxULL,", (unsigned long long)size);
		emit(c, "\t\t.flags = 0x%llxULL,", (unsigned long long)flags);
		emit(c, "\t\t/* the proposed page_order */");
		emit(c, "\t\t.reserved[0] = %llu,", (unsigned long long)order);
		emit(c, "\t};");
		g_string_append_c(c->body, '\n');
		emit(c, "\tfd_%s = __vm_ioctl(%s, KVM_CREATE_GUEST_MEMFD, &args);", g->c, g->vm);
		emit(c, "}");
	}
	emit(c, "gs_expect_fd(%u, gs_ret(fd_%s), %lld);", op->line, g->c, answer(res));
}

/* Flags the kernel must advertise for a creation the simulator let succeed. */
static void gate_gmem_flags(struct ex_ctx *c, const struct gs_op *op, const struct ex_var *g,
			    uint64_t flags)
{
	if (flags & GS_GUEST_MEMFD_FLAG_HUGETLB) {
		emit(c,
		     "gs_require(%u, vm_check_cap(%s, KVM_CAP_GUEST_MEMFD_FLAGS) & "
		     "GUEST_MEMFD_FLAG_HUGETLB,",
		     op->line, g->vm);
		emit(c, "\t   \"GUEST_MEMFD_FLAG_HUGETLB (HugeTLB guest_memfd) is not offered\");");
	}
	if (flags & ~GS_GUEST_MEMFD_FLAG_HUGETLB) {
		emit(c,
		     "gs_require(%u, (vm_check_cap(%s, KVM_CAP_GUEST_MEMFD_FLAGS) & 0x%llxULL) == "
		     "0x%llxULL,",
		     op->line, g->vm, (unsigned long long)flags, (unsigned long long)flags);
		emit(c,
		     "\t   \"guest_memfd flags 0x%llx are not all offered "
		     "(KVM_CAP_GUEST_MEMFD_FLAGS)\");",
		     (unsigned long long)flags);
	}
}

static void ex_gmem(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	uint64_t flags = gs_op_u64(op, "flags", 0), page = gs_op_u64(op, "page", 4096);
	uint64_t order = gs_op_has(op, "order") ? gs_op_u64(op, "order", 0)
						: (uint64_t)__builtin_ctzll(page) - 12;
	const char *vmname = gs_op_str(op, "vm", NULL);
	struct ex_var *vm = vmname ? existing(c, vmname, true) : NULL;
	struct ex_var *g;

	if ((flags & GS_GUEST_MEMFD_FLAG_ALLOW_HUGEPAGE) && res->ret >= 0)
		return omit(c, op, "flag allow_hugepage is the simulator's (a thp strategy)", true);
	if (gs_op_has(op, "vm_hugetlb") && !gs_op_u64(op, "vm_hugetlb", 1))
		return omit(c, op, "vm_hugetlb=0 describes a simulated host without HugeTLB", true);
	/* A file the simulator made on a VM the program has not: later answers need it. */
	if (vmname && !vm)
		return omit(c, op, "its VM was not made by the program", res->ret >= 0);
	g = var_get(c, op->target, false);
	if (!g)
		return omit(c, op, "the name is a VM's in this program", true);
	g_free(g->vm);
	step_comment(c, op);
	if (vm) {
		g->vm = g_strdup_printf("vm_%s", vm->c);
		g->vm_type = vm->type;
		g->upstream = vm->upstream;
	} else {
		/* The scenario's own VM for the file: kept, as the file keeps it alive. */
		g->vm = g_strdup_printf("ownvm_%s", g->c);
		g->vm_type = gs_op_u64(op, "vm_private", 0) ? GS_KVM_X86_SW_PROTECTED_VM
							    : GS_KVM_X86_DEFAULT_VM;
		g->upstream = op_profile_upstream(op);
		emit_vm_create(c, op->line, g->vm, g->vm_type);
	}
	if (res->ret >= 0)
		gate_gmem_flags(c, op, g, flags);
	emit_gmem_create(c, op, res, g, flags, order);
	g->exists = res->ret >= 0;
	g->mapped = false;
	if (g->exists)
		expect_stat(c, op, res, g);
}

/* The file of @op's target, or NULL after noting a line answered without a call. */
static struct ex_var *op_file(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res,
			      bool need_map)
{
	struct ex_var *g = existing(c, op->target, false);

	if (g && (!need_map || g->mapped))
		return g;
	step_comment(c, op);
	emit(c, "/* answered by the simulator without a call (%s): %lld%s */",
	     need_map && g ? "nothing is mapped" : "the file was never made", answer(res),
	     res->sig ? " and a signal" : "");
	return NULL;
}

static void ex_fallocate(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res,
			 uint64_t mode)
{
	struct ex_var *g = op_file(c, op, res, false);

	if (!g)
		return;
	step_comment(c, op);
	emit(c, "gs_expect(%u, gs_ret(fallocate(fd_%s, 0x%llx, 0x%llxLL, 0x%llxLL)), %lld);",
	     op->line, g->c, (unsigned long long)mode, (unsigned long long)gs_op_u64(op, "off", 0),
	     (unsigned long long)gs_op_u64(op, "len", 0), answer(res));
	expect_stat(c, op, res, g);
}

static void ex_falloc(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	ex_fallocate(c, op, res, gs_op_u64(op, "mode", 1));
}

static void ex_punch(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	/* FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE */
	ex_fallocate(c, op, res, 0x3);
}

static void ex_stat(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g = op_file(c, op, res, false);

	if (!g)
		return;
	step_comment(c, op);
	expect_stat(c, op, res, g);
}

static void ex_close(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g = op_file(c, op, res, false);

	if (!g)
		return;
	step_comment(c, op);
	emit(c, "gs_expect(%u, gs_ret(close(fd_%s)), %lld);", op->line, g->c, answer(res));
	/* The descriptor is gone, the file may live on in its mapping: later calls get EBADF. */
	emit(c, "fd_%s = -1;", g->c);
}

/* The program follows whole mappings: its accesses are bounded by their length only. */
#define EX_PART_WHY                                                                              \
	"part of a mapping (munmap off=/len=, mmap fixed): the program follows whole mappings, " \
	"its later accesses would not know the holes"

static void ex_mmap(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g;

	if (gs_op_u64(op, "fixed", 0))
		return omit(c, op, EX_PART_WHY, true);
	g = op_file(c, op, res, false);
	if (!g)
		return;
	step_comment(c, op);
	emit(c, "gs_expect(%u, gs_mmap(fd_%s, %d, 0x%llxULL, %s, &map_%s, &maplen_%s), %lld);",
	     op->line, g->c, !gs_op_has(op, "len"), (unsigned long long)gs_op_u64(op, "len", 0),
	     gs_op_u64(op, "private", 0) ? "MAP_PRIVATE" : "MAP_SHARED", g->c, g->c, answer(res));
	g->mapped = res->ret == 0;
}

static void ex_munmap(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g;

	if (gs_op_has(op, "off") || gs_op_has(op, "len"))
		return omit(c, op, EX_PART_WHY, true);
	g = op_file(c, op, res, true);
	if (!g)
		return;
	step_comment(c, op);
	emit(c, "gs_expect(%u, gs_ret(munmap(map_%s, maplen_%s)), %lld);", op->line, g->c, g->c,
	     answer(res));
	g->mapped = false;
}

/*
 * A host access inside the mapping, as the simulator bounds it: the part
 * past the mapping is its SIGSEGV, which the program does not provoke.
 */
static void emit_access(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res,
			const struct ex_var *g, uint64_t off, uint64_t len, bool write,
			bool check_data)
{
	bool sigbus = res->sig == SIGBUS;
	long long done = field(res, "done");

	emit(c, "gs_access_at(%u, map_%s, maplen_%s, 0x%llxULL, 0x%llxULL, %d, 0x%x,", op->line,
	     g->c, g->c, (unsigned long long)off, (unsigned long long)len, write,
	     write ? (unsigned int)(gs_op_u64(op, "byte", 0) & 0xff) : 0);
	emit(c, "\t     %s, %lld, %lld, %lld);", sigbus ? "SIGBUS" : "0", done,
	     check_data ? field(res, "data") : -1LL, check_data ? field(res, "uniform") : -1LL);
	if (res->sig == SIGSEGV)
		emit(c, "/* the rest lies past the mapping: SIGSEGV there, not provoked */");
}

static void ex_access(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res,
		      bool write)
{
	struct ex_var *g = op_file(c, op, res, true);
	bool nodata = field(res, "nodata") == 1;

	if (!g)
		return;
	step_comment(c, op);
	if (nodata)
		emit(c,
		     "/* data not asserted: the simulator's page had no data (metadata only) */");
	emit_access(c, op, res, g, gs_op_u64(op, "off", 0), gs_op_u64(op, "len", 0), write,
		    !write && !nodata);
}

static void ex_fault(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g = op_file(c, op, res, true);

	if (!g)
		return;
	step_comment(c, op);
	/* A one-byte load at the page is the host page fault. */
	emit_access(c, op, res, g, gs_op_u64(op, "off", 0) & ~4095ULL, 1, false, false);
}

static void ex_pin(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g = op_file(c, op, res, true);
	uint64_t off = gs_op_u64(op, "off", 0);
	struct ex_pin pin;

	if (!g)
		return;
	step_comment(c, op);
	g_string_append_printf(c->decls, "static GS_UNUSED int pin_%u = -1;\n", op->line);
	emit(c, "pin_%u = gs_pin(%u, map_%s, maplen_%s, 0x%llxULL);", op->line, op->line, g->c,
	     g->c, (unsigned long long)off);
	emit(c, "gs_expect(%u, pin_%u < 0 ? pin_%u : 0, %lld);", op->line, op->line, op->line,
	     answer(res));
	if (res->ret)
		return;
	pin = (struct ex_pin){.g = g, .page = off >> 12, .line = op->line};
	g_array_append_val(c->pins, pin);
}

/* Drop the latest pin of the page, as the simulator does; none: its ENXIO, no call. */
static void ex_unpin(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g = existing(c, op->target, false);
	uint64_t page = gs_op_u64(op, "off", 0) >> 12;

	for (guint i = c->pins->len; g && i-- > 0;) {
		struct ex_pin *pin = &g_array_index(c->pins, struct ex_pin, i);

		if (pin->g != g || pin->page != page)
			continue;
		step_comment(c, op);
		emit(c, "gs_expect(%u, gs_unpin(pin_%u), %lld);", op->line, pin->line, answer(res));
		g_array_remove_index(c->pins, i);
		return;
	}
	step_comment(c, op);
	emit(c, "/* answered by the simulator without a call (no pin of that page): %lld */",
	     answer(res));
}

static void ex_memslot(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *vm = existing(c, op->target, true);
	const char *gname = gs_op_str(op, "gmem", NULL);
	struct ex_var *g = gname ? g_hash_table_lookup(c->vars, gname) : NULL;
	uint64_t flags = gs_op_u64(op, "flags", 0) | (gname ? GS_KVM_MEM_GUEST_MEMFD : 0);

	if (!vm || (gname && (!g || g->is_vm || !g->exists)))
		return omit(c, op, "its VM or file was not made by the program", !res->ret);
	step_comment(c, op);
	/* Upstream binds a guest_memfd to a DEFAULT VM's slot from the MMAP flag on (6.18). */
	if (gname && !res->ret && vm->type == GS_KVM_X86_DEFAULT_VM && gs_op_u64(op, "size", 0)) {
		emit(c,
		     "gs_require(%u, vm_check_cap(vm_%s, KVM_CAP_GUEST_MEMFD_FLAGS) & "
		     "GUEST_MEMFD_FLAG_MMAP,",
		     op->line, vm->c);
		emit(c, "\t   \"a guest_memfd memslot of a DEFAULT VM (kernels with "
			"GUEST_MEMFD_FLAG_MMAP)\");");
	}
	emit(c, "gs_expect(%u, gs_ret(__vm_set_user_memory_region2(vm_%s, %llu, 0x%llx, 0x%llxULL,",
	     op->line, vm->c, (unsigned long long)gs_op_u64(op, "slot", 0),
	     (unsigned long long)flags, (unsigned long long)gs_op_u64(op, "gpa", 0));
	emit(c, "\t\t\t\t\t\t0x%llxULL, (void *)0x%llxULL, %s%s, 0x%llxULL)),",
	     (unsigned long long)gs_op_u64(op, "size", 0),
	     (unsigned long long)gs_op_u64(op, "uaddr", 0), gname ? "fd_" : "", gname ? g->c : "-1",
	     (unsigned long long)gs_op_u64(op, "off", 0));
	emit(c, "\t  %lld);", answer(res));
}

static void ex_attr(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *vm = existing(c, op->target, true);
	uint64_t attrs =
		gs_op_u64(op, "attributes",
			  gs_op_u64(op, "private", 0) ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);

	if (!vm)
		return omit(c, op, "its VM was not made by the program", !res->ret);
	step_comment(c, op);
	emit(c, "gs_require(%u, vm_check_cap(vm_%s, KVM_CAP_MEMORY_ATTRIBUTES),", op->line, vm->c);
	emit(c, "\t   \"KVM_SET_MEMORY_ATTRIBUTES (KVM_CAP_MEMORY_ATTRIBUTES) is not offered\");");
	emit(c, "{");
	emit(c, "\tstruct kvm_memory_attributes a = {");
	emit(c, "\t\t.address = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "gpa", 0));
	emit(c, "\t\t.size = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "size", 0));
	emit(c, "\t\t.attributes = 0x%llxULL,", (unsigned long long)attrs);
	emit(c, "\t\t.flags = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "flags", 0));
	emit(c, "\t};");
	g_string_append_c(c->body, '\n');
	emit(c, "\tgs_expect(%u, gs_ret(__vm_ioctl(vm_%s, KVM_SET_MEMORY_ATTRIBUTES, &a)), %lld);",
	     op->line, vm->c, answer(res));
	emit(c, "}");
}

static void ex_convert(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_var *g = op_file(c, op, res, false);
	uint64_t attrs = gs_op_u64(op, "attributes",
				   gs_op_u64(op, "to", 0) ? GS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);

	if (!g)
		return;
	step_comment(c, op);
	/* ENOTTY is what a kernel without conversion on that file answers: no gate for it. */
	if (res->ret != -ENOTTY) {
		emit(c, "gs_require(%u, vm_check_cap(%s, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),",
		     op->line, g->vm);
		emit(c, "\t   \"in-place conversion (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) is "
			"not offered\");");
	}
	emit(c, "{");
	emit(c, "\tstruct gs_memory_attributes2 a = {");
	emit(c, "\t\t.offset = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "off", 0));
	emit(c, "\t\t.size = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "len", 0));
	emit(c, "\t\t.attributes = 0x%llxULL,", (unsigned long long)attrs);
	emit(c, "\t\t.flags = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "flags", 0));
	emit(c, "\t\t.error_offset = 0x%llxULL,",
	     (unsigned long long)gs_op_u64(op, "error_offset", 0));
	emit(c, "\t\t.reserved[0] = 0x%llxULL,", (unsigned long long)gs_op_u64(op, "reserved", 0));
	emit(c, "\t};");
	g_string_append_c(c->body, '\n');
	emit(c, "\tgs_expect(%u, gs_ret(ioctl(fd_%s, GS_SET_MEMORY_ATTRIBUTES2, &a)), %lld);",
	     op->line, g->c, answer(res));
	/* error_offset is written back on failure only. */
	if (res->ret < 0 && field(res, "error_offset") >= 0)
		emit(c, "\tgs_expect(%u, a.error_offset, %lld);", op->line,
		     field(res, "error_offset"));
	emit(c, "}");
}

/* `hugetlb pool`: the host's pool is the machine's; the program needs as many free pages. */
static void ex_hugetlb(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	uint64_t size = gs_op_u64(op, "size", 2 << 20);
	/* What the pool holds after the line (a request beyond the machine gets less). */
	long long nr = field(res, "nr") >= 0 ? field(res, "nr") : (long long)gs_op_u64(op, "nr", 0);

	if (strcmp(op->target ? op->target : "", "pool"))
		return omit(c, op, "the simulator's HugeTLB accounting, which no system call sets",
			    !!strcmp(op->target ? op->target : "", "stat") &&
				    strcmp(op->target ? op->target : "", "dump"));
	step_comment(c, op);
	if (nr <= 0)
		return emit(c, "/* no huge page asked for: nothing the host must have */");
	emit(c,
	     "/* the host's pool: the program needs as many free pages, it does not resize it */");
	emit(c, "gs_require(%u, gs_free_hugepages(%llu) >= %lldLL,", op->line,
	     (unsigned long long)(size >> 10), nr < 0 ? LLONG_MAX : nr);
	emit(c, "\t   \"fewer than %lld free %llu KiB huge pages on the host\");",
	     nr < 0 ? LLONG_MAX : nr, (unsigned long long)(size >> 10));
}

static void ex_note(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	(void)res;
	g_string_append(c->body, "\n\t/* ");
	ex_append_commented(c->body, op->text);
	g_string_append(c->body, " */\n");
}

/* Lines that change nothing the kernel would see: left out, the rest still asserted. */
static const char *const views[] = {
	"check",   "show", "expect-warns", "seed",    "strict", "stage2",  "gmem-usage",
	"metrics", "arch", "hvo",	   "kmalloc", "kfree",	"machine", NULL,
};

static bool is_view(const char *verb)
{
	for (unsigned int i = 0; views[i]; i++)
		if (!strcmp(views[i], verb))
			return true;
	return false;
}

struct ex_verb {
	const char *name;
	void (*fn)(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res);
};

static void ex_read(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	ex_access(c, op, res, false);
}

static void ex_write(struct ex_ctx *c, const struct gs_op *op, const struct gs_result *res)
{
	ex_access(c, op, res, true);
}

static const struct ex_verb ex_verbs[] = {
	{"vm", ex_vm},	     {"gmem", ex_gmem},	      {"falloc", ex_falloc},
	{"punch", ex_punch}, {"stat", ex_stat},	      {"close", ex_close},
	{"mmap", ex_mmap},   {"munmap", ex_munmap},   {"fault", ex_fault},
	{"read", ex_read},   {"write", ex_write},     {"memslot", ex_memslot},
	{"attr", ex_attr},   {"convert", ex_convert}, {"hugetlb", ex_hugetlb},
	{"note", ex_note},   {"pin", ex_pin},	      {"unpin", ex_unpin},
};

/* Why a verb no system call expresses cannot be left out without ending the export. */
static const char *end_reason(const char *verb)
{
	if (!strcmp(verb, "inject"))
		return "fault injection: the simulator's allocation sites are not the kernel's "
		       "(its fail-nth counts other allocations), so no later answer could be "
		       "asserted";
	if (!strcmp(verb, "gfault") || !strcmp(verb, "gfault-range") || !strcmp(verb, "getpfn"))
		return "a guest access: needs a vCPU running guest code; it allocates pages later "
		       "answers depend on";
	if (!strcmp(verb, "madvise"))
		return "madvise(): not exported yet (a system call, but its ENOMEM past the "
		       "mapping is bounded by the scenario's view of the mapping)";
	return "the simulator's only (no system call does it); later answers depend on it";
}

void ex_on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct ex_ctx *c = arg;
	const char *verb = op->verb->name;

	if (c->end_line) {
		if (!c->after_first)
			c->after_first = op->line;
		c->after_last = op->line;
		return;
	}
	if (res->skipped)
		return omit(c, op, res->why[0] ? res->why : "skipped by the simulator", false);
	for (unsigned int i = 0; i < G_N_ELEMENTS(ex_verbs); i++)
		if (!strcmp(ex_verbs[i].name, verb))
			return ex_verbs[i].fn(c, op, res);
	if (is_view(verb))
		return omit(c, op, "the simulator's own view or set-up: nothing the kernel sees",
			    false);
	omit(c, op, end_reason(verb), true);
}
