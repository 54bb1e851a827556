// SPDX-License-Identifier: MIT
/*
 * The registry of restructuring strategies (include/gmemsim/strategy.h):
 * the four built-in orderings as strategies, out-of-tree ones loaded from
 * shared objects, and the choice of a strategy per VM. The kernel has one
 * strategy, compiled in; the closest it comes to this table is the HugeTLB
 * RFC's kvm_gmem_allocator_ops, chosen per file by its allocator. No kernel
 * code is mirrored.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gmemsim/gmem.h>
#include <gmemsim/strategy.h>
#include <gmemsim/warn.h>

#include <gmemsim/internal/gmem_int.h>

#define GS_STRATEGY_MAX 32

_Static_assert(GS_FLOW_PLANNED == (int)GS_CONVERSION_PLANNED &&
		       GS_FLOW_V8 == (int)GS_CONVERSION_V8 &&
		       GS_FLOW_WIP == (int)GS_CONVERSION_WIP &&
		       GS_FLOW_RFC_V2 == (int)GS_CONVERSION_RFC_V2 &&
		       GS_FLOW_PUNCH_HOLE == (int)GS_CONVERSION_PUNCH_HOLE,
	       "a flow is an ordering");

/*
 * A loaded object's strategy remembers its path, so loading it twice gives
 * the same one; an ABI-1 or ABI-2 table is copied into @copy by its own
 * size, the later fields zero (NULL hooks: the kernel's rules).
 */
struct strategy_slot {
	struct gs_strategy s;
	char path[256];
	struct gs_strategy_ops copy;
};

static struct strategy_slot registry[GS_STRATEGY_MAX];
static unsigned int nr_registered;
static const struct gs_strategy *defaults[GS_FLOW_NR];

/* The kernel's rule (P29): the huge page's order where all of it is private, capped by the folio. */
static unsigned int rounded_max_order(const struct gs_strategy_fault *f)
{
	return f->rounded < f->folio_order ? f->rounded : f->folio_order;
}

/* P39: the WIP branch looks at [index, index + 2^order), not at the aligned huge page. */
static unsigned int unrounded_max_order(const struct gs_strategy_fault *f)
{
	return f->unrounded < f->folio_order ? f->unrounded : f->folio_order;
}

static bool merge_always(const struct gs_strategy_page *page)
{
	(void)page;
	return true;
}

/* Preallocation, the kernel's rule: a whole 2 MiB folio wherever one fits. */
static unsigned int alloc_whole(const struct gs_strategy_alloc *alloc)
{
	(void)alloc;
	return 9;
}

/* A punch into a THP, the kernel's rule: split it (zero the part where it cannot be split). */
static unsigned int punch_split(const struct gs_strategy_punch *punch)
{
	(void)punch;
	return GS_PUNCH_SPLIT;
}

/* The last piece of a split page truncated, the WIP branch's rule (P36): merge it now. */
static unsigned int free_merge(const struct gs_strategy_page *page)
{
	(void)page;
	return GS_FREE_MERGE;
}

/* The ABI-3 hooks every built-in answers with the kernel's rules. */
#define KERNEL_FILE_HOOKS .alloc_order = alloc_whole, .punch = punch_split, .free_split = free_merge

/*
 * optimized: a 2 MiB piece of a split 1 GiB page is mapped at 2 MiB where
 * its own range is all private; a whole page as the kernel maps it.
 */
static unsigned int aligned_max_order(const struct gs_strategy_fault *f)
{
	return f->aligned;
}

/* optimized: 1 GiB to 2 MiB pieces, those holding shared pages on to 4 KiB. */
static unsigned int split_to_pmd(const struct gs_strategy_split *split)
{
	return split->page_order == 18 && split->folio_order == 18 ? 9 : 0;
}

/* optimized: every all-private 2 MiB range merges, not only the whole page. */
static unsigned int merge_to_pmd(const struct gs_strategy_page *page)
{
	return page->page_order > 9 ? 9 : page->page_order;
}

static const struct gs_strategy_ops optimized_ops = {
	.abi = GS_STRATEGY_ABI,
	.size = sizeof(struct gs_strategy_ops),
	.name = "optimized",
	.summary = "planned's steps; 1 GiB splits to 2 MiB (HVO PUD to PMD), only the 2 MiB "
		   "holding shared pages to 4 KiB; merges every all-private 2 MiB",
	.flow = GS_FLOW_PLANNED,
	.merge_on_private = merge_always,
	.max_order = aligned_max_order,
	.split_order = split_to_pmd,
	.merge_order = merge_to_pmd,
	KERNEL_FILE_HOOKS,
};

#define BUILTIN_BACKED(n, f, s, mo, b)                                                      \
	{                                                                                   \
		.abi = GS_STRATEGY_ABI, .size = sizeof(struct gs_strategy_ops), .name = n,  \
		.summary = s, .flow = f, .merge_on_private = merge_always, .max_order = mo, \
		.backing = b, KERNEL_FILE_HOOKS,                                            \
	}
#define BUILTIN(n, f, s, mo) BUILTIN_BACKED(n, f, s, mo, GS_STRATEGY_BACKING_PAGES)

/* Indexed by enum gs_strategy_flow (= enum gs_gmem_conversion). */
static const struct gs_strategy_ops builtin_ops[GS_FLOW_NR] = {
	[GS_FLOW_PLANNED] = BUILTIN("planned", GS_FLOW_PLANNED,
				    "P37: all or nothing, splits prepared before the point of no "
				    "return, merge to the page order once all private",
				    rounded_max_order),
	[GS_FLOW_V8] =
		BUILTIN("v8", GS_FLOW_V8, "P7: the v8 series, 4 KiB files only", rounded_max_order),
	[GS_FLOW_WIP] = BUILTIN("wip", GS_FLOW_WIP,
				"P35: one huge page at a time, batches done stay done; P39's "
				"unrounded mapping order",
				unrounded_max_order),
	[GS_FLOW_RFC_V2] = BUILTIN("rfc-v2", GS_FLOW_RFC_V2,
				   "P20, P25: a work list with rollback, restructure per item",
				   rounded_max_order),
	[GS_FLOW_PUNCH_HOLE] = BUILTIN_BACKED(
		"punch-hole", GS_FLOW_PUNCH_HOLE,
		"seed 002: convert by punching and refaulting (contents lost), thp backing: "
		"every conversion leaves 4 KiB holes, HugeTLB files EOPNOTSUPP",
		rounded_max_order, GS_STRATEGY_BACKING_THP),
};

/*
 * Built-ins that are no ordering of their own, registered after those of
 * builtin_ops (so gs_strategy_builtin() indexes by flow).
 */
static const struct gs_strategy_ops thp_ops =
	BUILTIN_BACKED("thp", GS_FLOW_PLANNED,
		       "seeds 001, 002: best-effort 2 MiB folios without HugeTLB (ALLOW_HUGEPAGE), "
		       "4 KiB when none is free, split on conversion, never merged",
		       rounded_max_order, GS_STRATEGY_BACKING_THP);

static const struct gs_strategy_ops *const extra_builtins[] = {&optimized_ops, &thp_ops};

static bool name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

static const struct gs_strategy *lookup(const char *name)
{
	for (unsigned int i = 0; i < nr_registered; i++)
		if (!strcmp(registry[i].s.ops->name, name))
			return &registry[i].s;
	return NULL;
}

/* The built-ins register first, on first use: the orderings' are always 0..3. */
static void register_builtins(void)
{
	if (nr_registered)
		return;
	for (unsigned int f = 0; f < GS_FLOW_NR; f++) {
		registry[f].s = (struct gs_strategy){.ops = &builtin_ops[f], .builtin = true};
		nr_registered++;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(extra_builtins); i++)
		registry[nr_registered++].s =
			(struct gs_strategy){.ops = extra_builtins[i], .builtin = true};
}

/* An ABI this library loads: its own, or ABI 1 or 2 (a prefix of the table). */
static bool abi_known(unsigned int abi)
{
	return abi >= 1 && abi <= GS_STRATEGY_ABI;
}

/* sizeof(struct gs_strategy_ops) as an object of @abi (a known one) was built. */
static size_t abi_size(unsigned int abi)
{
	if (abi == 1)
		return GS_STRATEGY_OPS_SIZE_V1;
	return abi == 2 ? GS_STRATEGY_OPS_SIZE_V2 : sizeof(struct gs_strategy_ops);
}

/* Why @ops cannot register (a static string), or NULL. */
static const char *ops_invalid(const struct gs_strategy_ops *ops)
{
	if (!abi_known(ops->abi))
		return "built against another strategy ABI";
	if (ops->size != abi_size(ops->abi))
		return "struct gs_strategy_ops of another size (built against another header)";
	if (!name_ok(ops->name))
		return "bad name (letters, digits, '-' and '_', at most 64)";
	if ((unsigned int)ops->flow >= GS_FLOW_NR)
		return "bad flow";
	/* An ABI-1 table ends before the field: its copy gets the default backing. */
	if (ops->abi != 1 && ops->backing > GS_STRATEGY_BACKING_THP)
		return "bad backing";
	return NULL;
}

static struct strategy_slot *do_register(const struct gs_strategy_ops *ops, const char **why)
{
	struct strategy_slot *slot;

	register_builtins();
	*why = ops ? ops_invalid(ops) : "no ops";
	if (*why) {
		errno = EINVAL;
		return NULL;
	}
	if (lookup(ops->name)) {
		*why = "a strategy of that name is registered already";
		errno = EEXIST;
		return NULL;
	}
	if (nr_registered == GS_STRATEGY_MAX) {
		*why = "the registry is full";
		errno = ENOSPC;
		return NULL;
	}
	slot = &registry[nr_registered++];
	slot->s = (struct gs_strategy){.ops = ops};
	/* Nothing past an older table may be read: the fields it lacks stay zero. */
	if (ops->abi != GS_STRATEGY_ABI) {
		slot->copy = (struct gs_strategy_ops){0};
		memcpy(&slot->copy, ops, ops->size);
		slot->s.ops = &slot->copy;
	}
	return slot;
}

const struct gs_strategy *gs_strategy_register(const struct gs_strategy_ops *ops)
{
	const char *why;
	struct strategy_slot *slot = do_register(ops, &why);

	return slot ? &slot->s : NULL;
}

static const struct gs_strategy *loaded(const char *path)
{
	for (unsigned int i = GS_FLOW_NR; i < nr_registered; i++)
		if (registry[i].s.path && !strcmp(registry[i].path, path))
			return &registry[i].s;
	return NULL;
}

const struct gs_strategy *gs_strategy_load(const char *path, char *err, size_t errlen)
{
	const struct gs_strategy_ops *ops;
	struct strategy_slot *slot;
	const char *why;
	void *handle;

	register_builtins();
	if (!path || strlen(path) >= sizeof(registry[0].path)) {
		snprintf(err, err ? errlen : 0, "strategy path missing or too long");
		return NULL;
	}
	if (loaded(path))
		return loaded(path);
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		snprintf(err, err ? errlen : 0, "%s", dlerror());
		return NULL;
	}
	ops = dlsym(handle, GS_STRATEGY_SYMBOL);
	if (!ops) {
		snprintf(err, err ? errlen : 0, "%s: no symbol %s (not a gmemsim strategy?)", path,
			 GS_STRATEGY_SYMBOL);
		dlclose(handle);
		return NULL;
	}
	/* Nothing else of the table can be read safely from another ABI. */
	if (!abi_known(ops->abi)) {
		snprintf(err, err ? errlen : 0,
			 "%s: built against strategy ABI %u; this gmemsim has ABI %u and loads 1 "
			 "and 2 (rebuild it against this gmemsim's <gmemsim/strategy.h>)",
			 path, ops->abi, GS_STRATEGY_ABI);
		dlclose(handle);
		return NULL;
	}
	slot = do_register(ops, &why);
	if (!slot) {
		snprintf(err, err ? errlen : 0, "%s: strategy '%s': %s", path,
			 !ops_invalid(ops) || (ops->size >= GS_STRATEGY_OPS_SIZE_V1 && ops->name)
				 ? ops->name
				 : "?",
			 why);
		dlclose(handle);
		return NULL;
	}
	/* The handle is never closed: VMs and their files keep the ops until the process ends. */
	snprintf(slot->path, sizeof(slot->path), "%s", path);
	slot->s.path = slot->path;
	return &slot->s;
}

const struct gs_strategy *gs_strategy_find(const char *name)
{
	register_builtins();
	if (!name)
		return NULL;
	if (strchr(name, '/'))
		return gs_strategy_load(name, NULL, 0);
	return lookup(name);
}

const struct gs_strategy *gs_strategy_builtin(unsigned int flow)
{
	register_builtins();
	return &registry[flow < GS_FLOW_NR ? flow : GS_FLOW_PLANNED].s;
}

const struct gs_strategy *gs_strategy_nth(unsigned int i)
{
	register_builtins();
	return i < nr_registered ? &registry[i].s : NULL;
}

void gs_strategy_set_default(const struct gs_strategy *s)
{
	for (unsigned int f = 0; f < GS_FLOW_NR; f++)
		defaults[f] = NULL;
	if (s)
		defaults[s->ops->flow] = s;
}

const struct gs_strategy *gs_strategy_for_vm(const struct gs_strategy *s, unsigned int flow)
{
	if (s)
		return s;
	if (flow < GS_FLOW_NR && defaults[flow])
		return defaults[flow];
	return gs_strategy_builtin(flow);
}

/* A VM made without the KVM model (tests) names no strategy: the built-in of its ordering. */
static const struct gs_strategy_ops *vm_ops(const struct gs_gmem_vm_info *vm)
{
	if (vm && vm->strategy)
		return vm->strategy->ops;
	return gs_strategy_builtin(vm ? vm->conversion : GS_FLOW_PLANNED)->ops;
}

unsigned int gmem_strategy_max_order(const struct gs_gmem_vm_info *vm,
				     const struct gs_strategy_fault *fault)
{
	const struct gs_strategy_ops *ops = vm_ops(vm);

	return ops->max_order ? ops->max_order(fault) : rounded_max_order(fault);
}

/* The huge page at @h of @inode, as a hook sees it. */
static struct gs_strategy_page strategy_page(const struct gmem_inode *inode, pgoff_t h)
{
	return (struct gs_strategy_page){
		.ino = inode->ino,
		.index = h,
		.page_order = inode->page_order,
		.nr_pages = 1UL << inode->page_order,
	};
}

bool gmem_strategy_merge(const struct gs_gmem_vm_info *vm, const struct gmem_inode *inode,
			 pgoff_t h)
{
	const struct gs_strategy_ops *ops = vm_ops(vm);
	struct gs_strategy_page page = strategy_page(inode, h);

	return !ops->merge_on_private || ops->merge_on_private(&page);
}

unsigned int gmem_strategy_split_order(const struct gs_gmem_vm_info *vm,
				       const struct gs_strategy_split *split)
{
	const struct gs_strategy_ops *ops = vm_ops(vm);

	if (!ops->split_order || ops->flow != GS_FLOW_PLANNED)
		return 0;
	return ops->split_order(split) == 9 && split->folio_order > 9 ? 9 : 0;
}

unsigned int gmem_strategy_merge_order(const struct gs_gmem_vm_info *vm,
				       const struct gmem_inode *inode, pgoff_t h)
{
	const struct gs_strategy_ops *ops = vm_ops(vm);
	struct gs_strategy_page page = strategy_page(inode, h);

	if (!ops->merge_order || ops->flow != GS_FLOW_PLANNED)
		return inode->page_order;
	return ops->merge_order(&page) == 9 && inode->page_order > 9 ? 9 : inode->page_order;
}

bool gmem_strategy_thp(const struct gs_gmem_vm_info *vm)
{
	return vm_ops(vm)->backing == GS_STRATEGY_BACKING_THP;
}

const struct gs_strategy_ops *gmem_strategy_ops(const struct gs_gmem_vm_info *vm)
{
	return vm_ops(vm);
}

/*
 * The ABI-3 hooks' answers are checked: asked twice (a pure function
 * answers the same) and within their range. A broken answer WARNs and the
 * kernel's rule (@dflt) is taken.
 */
#define ASK_CHECKED(ops, hook, arg, ok, dflt)                                                    \
	({                                                                                       \
		unsigned int a_ = (ops)->hook(arg), b_ = (ops)->hook(arg);                       \
		WARN(a_ != b_ || !(ok), "strategy %s: %s answered %u then %u (broken contract)", \
		     (ops)->name, #hook, a_, b_)                                                 \
		? (dflt) : a_;                                                                   \
	})

unsigned int gmem_strategy_alloc_order(const struct gs_strategy_ops *ops,
				       const struct gs_strategy_alloc *alloc)
{
	if (!ops || !ops->alloc_order)
		return 9;
	return ASK_CHECKED(ops, alloc_order, alloc, a_ == 9 || a_ == 0, 9U);
}

unsigned int gmem_strategy_punch(const struct gs_strategy_ops *ops,
				 const struct gs_strategy_punch *punch)
{
	if (!ops || !ops->punch)
		return GS_PUNCH_SPLIT;
	return ASK_CHECKED(ops, punch, punch, a_ <= GS_PUNCH_REFUSE, (unsigned int)GS_PUNCH_SPLIT);
}

unsigned int gmem_strategy_free_split(const struct gmem_inode *inode, pgoff_t h)
{
	const struct gs_strategy_ops *ops = inode->strategy;
	struct gs_strategy_page page = strategy_page(inode, h);

	if (!ops || !ops->free_split)
		return GS_FREE_MERGE;
	return ASK_CHECKED(ops, free_split, &page, a_ <= GS_FREE_DEFER,
			   (unsigned int)GS_FREE_MERGE);
}
