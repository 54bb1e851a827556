// SPDX-License-Identifier: MIT
/*
 * The systematic fail-nth matrix of issue 11 §5: every conversion ordering
 * (planned, wip, v8, rfc-v2) x page size (4 KiB, 2 MiB, 1 GiB files, HugeTLB
 * on metadata-only backing) x path (convert to shared, to private, to
 * private that merges, fallocate, get_pfn with a fresh split, punch over
 * split pages, punch with a pinned piece, close with a pinned piece and
 * the deferred merge, the restructuring's own split and merge), each run
 * once to count its allocation attempts N and then with the n-th attempt
 * failed for n = 1..N (the kernel's fail-nth, lib/base/inject.c), then with
 * an extra reference on each folio it touches (EAGAIN).
 *
 * What each run is held to: the errno the kernel gives (ENOMEM, or EAGAIN
 * for a reference); where the ordering promises all or nothing (planned,
 * v8, and every path that is not a conversion), the whole state snapshot
 * (<gmemsim/state.h>: attributes, folios, tree, pool, subpool, cgroups,
 * HVO, stage-2 leaves by level) equal to the one before; where it
 * documents progress (wip's finished batches, rfc-v2's zapped items) the
 * checkers and that progress; no leak after teardown, and no WARN but
 * rfc-v2's rollback bug and the documented freeze WARN of an unexpected
 * reference. Each path must reach the allocation sites it is there for
 * (coverage), and a table of attempts and sites is printed.
 *
 * N for a 1 GiB split is 8,000 to 21,000 (4,095 HVO pages per page, the
 * XArray split, 262,144 stage-2 leaves): past 400 attempts the loop fails
 * the first 8 attempts, 7 evenly spaced ones and the last, plus the first,
 * middle and last hit of every site the path reaches. A path that is not a
 * conversion runs the full loop under planned; under the other orderings
 * its count run must equal planned's, and each site's first hit is failed.
 * GMEMSIM_MATRIX_SMALL=1 (and valgrind) lowers the limits and leaves out
 * the 1 GiB files, never an ordering or a path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/gmem.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/kvm.h>
#include <gmemsim/maple_tree.h>
#include <gmemsim/physmem.h>
#include <gmemsim/sites.h>
#include <gmemsim/state.h>
#include <gmemsim/sys.h>
#include <gmemsim/uapi.h>
#include <gmemsim/warn.h>

#include "harness.h"

#define P	((uint64_t)PAGE_SIZE)
#define GPA	(4ULL << 30)
#define PRIVATE GS_KVM_MEMORY_ATTRIBUTE_PRIVATE

enum path {
	TO_SHARED,
	TO_PRIVATE,
	TO_PRIVATE_MERGE,
	FALLOCATE,
	GET_PFN_FRESH,
	PUNCH_SPLIT,
	PUNCH_PINNED,
	CLOSE_PINNED,
	RS_SPLIT,
	RS_MERGE,
	NR_PATHS
};

static const char *const path_names[NR_PATHS] = {
	"to-shared",   "to-private",   "to-private-merge", "fallocate", "get-pfn-fresh",
	"punch-split", "punch-pinned", "close-pinned",	   "rs-split",	"rs-merge"};

static const unsigned int orders[] = {0, 9, 18};
static const enum gs_gmem_conversion profiles[] = {GS_CONVERSION_PLANNED, GS_CONVERSION_WIP,
						   GS_CONVERSION_V8, GS_CONVERSION_RFC_V2};

static struct gs_hugetlb_host host_mem = {.backing = GS_BACKING_NONE};

/* Sites as a bit set (GS_MAX_SITES = 128). */
struct siteset {
	uint64_t w[2];
};

static void siteset_add(struct siteset *s, unsigned int site)
{
	s->w[site / 64] |= 1ULL << (site % 64);
}

static bool siteset_has(const struct siteset *s, unsigned int site)
{
	return s->w[site / 64] & (1ULL << (site % 64));
}

/* One run's context: the cell of the matrix and the objects it made. */
struct run {
	enum gs_gmem_conversion conv;
	unsigned int order;
	enum path path;
	int vm, fd;
	struct folio *pinned; /* an extra reference the path's setup or the EAGAIN case took */
	bool no_snapshot;     /* a run planned's cell already compared (see run_cell()) */
	char *before;
	unsigned long warns;
};

/* The unit of the layout: the huge page, or 64 pages on a 4 KiB file. */
static uint64_t unit(const struct run *r)
{
	return r->order ? P << r->order : 64 * P;
}

/* Units 0 and 1 allocated; unit 2 holds fragmented attributes. */
static uint64_t file_size(const struct run *r)
{
	return 3 * unit(r);
}

static struct gmem_inode *inode_of(const struct run *r)
{
	return gs_uapi_gmem_file(r->fd)->inode;
}

static void setup(void)
{
	gs_test_hugetlb_setup(&host_mem);
}

static void teardown(void)
{
	gs_uapi_reset();
	gs_test_hugetlb_teardown();
}

static int set_attrs(const struct run *r, uint64_t off, uint64_t size, uint64_t attrs)
{
	struct gs_kvm_memory_attributes2 a = {.offset = off, .size = size, .attributes = attrs};

	return gs_ioctl(r->fd, GS_KVM_SET_MEMORY_ATTRIBUTES2, &a) ? -errno : 0;
}

/* Setup conversions run under planned, whatever the cell's ordering (v8 has no HugeTLB). */
static void setup_attrs(struct run *r, uint64_t off, uint64_t size, uint64_t attrs)
{
	struct kvm *kvm = gs_uapi_kvm(r->vm);

	kvm->gmem.conversion = GS_CONVERSION_PLANNED;
	ck_assert_int_eq(set_attrs(r, off, size, attrs), 0);
	kvm->gmem.conversion = r->conv;
}

static int punch(const struct run *r, uint64_t off, uint64_t len)
{
	return gs_fallocate(r->fd, GS_FALLOC_FL_PUNCH_HOLE | GS_FALLOC_FL_KEEP_SIZE, (off_t)off,
			    (off_t)len)
		       ? -errno
		       : 0;
}

/* A private guest fault at @off: a leaf as large as the folio allows. */
static void guest_fault(const struct run *r, uint64_t off)
{
	struct kvm_fault fault = {.gfn = (GPA + off) >> PAGE_SHIFT, .private = true};

	ck_assert_int_eq(kvm_tdp_page_fault(gs_uapi_kvm(r->vm), &fault), 0);
}

static struct folio *folio_at(const struct run *r, uint64_t off)
{
	return xa_load(&inode_of(r)->filemap, off >> PAGE_SHIFT);
}

/* The file's state, the VM's (stage-2 leaves) and every registered layer's. */
static char *snapshot(const struct run *r)
{
	struct gs_state *st = gs_state_new();
	char *text;

	if (r->fd >= 0)
		kvm_gmem_dump_state(st, "g", inode_of(r));
	kvm_dump_state(st, "vm", gs_uapi_kvm(r->vm));
	gs_state_collect(st);
	text = gs_state_text(st);
	gs_state_free(st);
	return text;
}

/*
 * @text without what rfc-v2 documents it may leave after a failure, in
 * place: the VM's stage-2 leaves and the XArray nodes that held them (it
 * zaps its items before it can fail), and a maple node an undone store
 * allocated (docs/CONVERSION.md, "Tree nodes after a rollback").
 */
static char *without_leaves(char *text)
{
	char *out = text, *line = text;

	while (*line) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);

		if (!memmem(line, len, "/stage2/", 8) && !memmem(line, len, "leaves.", 7) &&
		    strncmp(line, "sites/xarray.node ", 18) && strncmp(line, "sites/maple.", 12)) {
			memmove(out, line, len);
			out += len;
		}
		line += len;
	}
	*out = '\0';
	return text;
}

/* Would storing private over file pages [first, last] need maple nodes? (A probe: nothing kept.) */
static bool store_allocates(const struct run *r, uint64_t first, uint64_t last)
{
	MA_STATE(mas, &inode_of(r)->shareability, first >> PAGE_SHIFT, last >> PAGE_SHIFT);
	struct gs_site_stats a, b;

	gs_site_stats(GS_SITE_MAPLE_PREALLOC, &a);
	ck_assert_int_eq(mas_preallocate(&mas, xa_mk_value(SHAREABILITY_GUEST), GFP_KERNEL), 0);
	mas_destroy(&mas);
	gs_site_stats(GS_SITE_MAPLE_PREALLOC, &b);
	return b.allocs != a.allocs;
}

/*
 * The state the path starts from (not counted). X = unit: the boundary
 * between units 0 and 1; attributes of unit 2 are fragmented so that a
 * store next to them must split a maple node (maple.prealloc).
 */
static void prepare(struct run *r)
{
	struct gs_kvm_create_guest_memfd args = {.size = file_size(r),
						 .flags = GS_GUEST_MEMFD_FLAG_MMAP};
	uint64_t u = unit(r), x = u;
	bool alloc = r->path != FALLOCATE && r->path != GET_PFN_FRESH;

	r->pinned = NULL;
	r->vm = gs_test_create_vm(r->conv);
	if (r->order) {
		args.flags |= GS_GUEST_MEMFD_FLAG_HUGETLB;
		args.page_order = r->order;
	}
	r->fd = gs_ioctl(r->vm, GS_KVM_CREATE_GUEST_MEMFD, &args);
	ck_assert_int_ge(r->fd, 0);
	gs_test_bind_gmem(r->vm, r->fd, GPA, file_size(r));
	for (uint64_t p = 2 * u + P; p < 2 * u + 33 * P; p += 2 * P)
		setup_attrs(r, p, P, 0);
	if (alloc)
		ck_assert_int_eq(gs_fallocate(r->fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * u)), 0);
	switch (r->path) {
	case TO_SHARED:
		guest_fault(r, x + P);
		break;
	case TO_PRIVATE:
		/* Unit 0 is split anyway: fragment it below until this store must split a node. */
		setup_attrs(r, x - 2 * P, 4 * P, 0);
		for (uint64_t p = x - 4 * P; p >= x - 60 * P && !store_allocates(r, x - P, x);
		     p -= 2 * P)
			setup_attrs(r, p, P, 0);
		break;
	case TO_PRIVATE_MERGE:
	case FALLOCATE:
	case GET_PFN_FRESH:
		setup_attrs(r, x - P, 2 * P, 0);
		break;
	case PUNCH_SPLIT:
		setup_attrs(r, x - P, P, 0);
		guest_fault(r, x + P);
		break;
	case PUNCH_PINNED:
	case CLOSE_PINNED:
		setup_attrs(r, x - P, 2 * P, 0);
		r->pinned = folio_at(r, x);
		gs_folio_pin(r->pinned);
		break;
	case RS_MERGE:
		if (r->order) {
			struct hugetlb_split_opts opts = {.extra_refs = 0};

			ck_assert_int_eq(hugetlb_restructuring_split_folio(&inode_of(r)->filemap, 0,
									   folio_at(r, 0), &opts),
					 0);
		}
		break;
	default:
		break;
	}
	r->before = r->no_snapshot ? NULL : snapshot(r);
	r->warns = gs_warn_count();
	gs_gmem_convert_stats(true);
}

static bool is_convert(enum path p)
{
	return p <= TO_PRIVATE_MERGE;
}

/* The path itself: 0 or -errno. */
static int op(struct run *r)
{
	uint64_t u = unit(r), x = u;

	switch (r->path) {
	case TO_SHARED:
		return set_attrs(r, x - P, 2 * P, 0);
	case TO_PRIVATE:
	case TO_PRIVATE_MERGE:
		return set_attrs(r, x - P, 2 * P, PRIVATE);
	case FALLOCATE:
		return gs_fallocate(r->fd, GS_FALLOC_FL_KEEP_SIZE, 0, (off_t)(2 * u)) ? -errno : 0;
	case GET_PFN_FRESH: {
		struct kvm *kvm = gs_uapi_kvm(r->vm);
		gfn_t gfn = (GPA + x - 2 * P) >> PAGE_SHIFT;
		unsigned long pfn;
		int order;

		return kvm_slot_gmem_get_pfn(kvm_find_slot(kvm, gfn), gfn, &pfn, &order);
	}
	case PUNCH_SPLIT:
		return punch(r, 0, 2 * u);
	case PUNCH_PINNED:
		return punch(r, 0, 2 * u);
	case CLOSE_PINNED: {
		int err = gs_close(r->fd) ? -errno : 0;

		r->fd = -1;
		gs_folio_unpin(r->pinned);
		r->pinned = NULL;
		hugetlb_restructuring_run_deferred();
		return err;
	}
	case RS_SPLIT: {
		struct hugetlb_split_opts opts = {.extra_refs = 0};

		if (!r->order)
			return -EOPNOTSUPP;
		return hugetlb_restructuring_split_folio(&inode_of(r)->filemap, 0, folio_at(r, 0),
							 &opts);
	}
	case RS_MERGE: {
		unsigned long pfn;
		int err;

		if (!r->order)
			return -EOPNOTSUPP;
		pfn = folio_pfn(folio_at(r, 0));
		err = hugetlb_restructuring_can_merge(&inode_of(r)->filemap, pfn, NULL, 0);
		if (!err)
			err = hugetlb_restructuring_prepare_merge(pfn);
		if (!err && !hugetlb_restructuring_merge_folio(&inode_of(r)->filemap, pfn, NULL, 0))
			err = -EINVAL;
		return err;
	}
	default:
		return -EINVAL;
	}
}

/*
 * What a cell's runs start from: the pool (3 huge pages, HVO-optimized,
 * built once per cell: building a 1 GiB page writes its struct pages) and
 * every site's live objects with it.
 */
static struct {
	unsigned long live[GS_MAX_SITES];
	unsigned long hvo_freed;
} baseline;

static void pool_build(unsigned int order)
{
	struct gs_hvo_stats hs;

	if (order)
		ck_assert_int_eq(set_max_huge_pages(size_to_hstate(P << order), 3), 0);
	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++) {
		struct gs_site_stats st;

		gs_site_stats(s, &st);
		baseline.live[s] = st.live;
	}
	gs_hvo_stats(&hs);
	baseline.hvo_freed = hs.freed_pages;
}

/* Every site back at its baseline: nothing leaked by the run. */
static void assert_baseline(const struct run *r)
{
	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++) {
		struct gs_site_stats st;

		gs_site_stats(s, &st);
		gs_assert(st.live == baseline.live[s], "%s %s order %u: site %s holds %lu, was %lu",
			  path_names[r->path], gs_gmem_conversion_name(r->conv), r->order,
			  gs_site_name(s), (unsigned long)st.live, baseline.live[s]);
	}
}

/* Nothing open, the pool whole, every site at its baseline. */
static void finish(struct run *r)
{
	struct gs_hvo_stats hs;
	struct hstate *h;

	if (r->pinned)
		gs_folio_unpin(r->pinned);
	r->pinned = NULL;
	free(r->before);
	r->before = NULL;
	gs_uapi_reset();
	lru_add_drain_all();
	hugetlb_restructuring_run_deferred();
	for_each_hstate (h) {
		gs_assert(h->resv_huge_pages == 0, "%s: reservations left", path_names[r->path]);
		gs_assert(h->free_huge_pages == h->nr_huge_pages, "%s order %u: pool not whole",
			  path_names[r->path], r->order);
	}
	/* A merge whose HVO failed (best effort) gave a page back unoptimized: start afresh. */
	gs_hvo_stats(&hs);
	if (hs.freed_pages != baseline.hvo_freed) {
		gs_test_empty_pools();
		gs_test_assert_no_leaks();
		pool_build(r->order);
	}
	assert_baseline(r);
}

/*
 * WARNs the ordering's own design makes: rfc-v2's rollback bug (one per
 * rollback_oob); the freeze's on an unexpected reference where a split or
 * merge meets it unchecked (wip to shared, rfc-v2 on HugeTLB, the
 * restructuring's own split). The freeze's is a bound: the reference may be
 * seen by a check first (no WARN).
 */
static bool warns_ok(const struct run *r, bool eagain_case)
{
	unsigned long n = gs_warn_count() - r->warns;
	unsigned long oob = gs_gmem_convert_stats(false).rollback_oob;
	bool freeze = eagain_case && (r->path == RS_SPLIT ||
				      (r->conv == GS_CONVERSION_WIP && r->path == TO_SHARED) ||
				      (r->conv == GS_CONVERSION_RFC_V2 && r->order));

	if (r->conv == GS_CONVERSION_RFC_V2 && n >= oob)
		n -= oob;
	else if (oob)
		return false;
	return freeze ? n <= 1 : n == 0;
}

/* The progress wip documents: batches before the failing one converted, the failing one not. */
static void check_wip_progress(const struct run *r)
{
	struct gmem_inode *inode = inode_of(r);
	pgoff_t x = unit(r) >> PAGE_SHIFT;
	int want = r->path == TO_SHARED ? SHAREABILITY_ALL : SHAREABILITY_GUEST;

	if (gs_gmem_convert_stats(false).batches)
		gs_assert(kvm_gmem_range_shareability(inode, x - 1, x) == want,
			  "wip: a finished batch must stay converted");
	gs_assert(kvm_gmem_range_shareability(inode, x, x + 1) != want,
		  "wip: the failing batch must not be converted");
}

/* After a failed run: the errno, the state or the documented progress, the checkers. */
static void check_failure(struct run *r, int ret, int want_err, bool eagain_case)
{
	struct gs_gmem_convert_stats st = gs_gmem_convert_stats(false);
	char *after;

	gs_assert(ret == want_err || (r->path == PUNCH_PINNED && r->order && ret == -EAGAIN),
		  "%s %s order %u: %d, expected %d", path_names[r->path],
		  gs_gmem_conversion_name(r->conv), r->order, ret, want_err);
	gs_assert(gs_check_run_all(stderr) == 0, "%s: checker", path_names[r->path]);
	gs_assert(warns_ok(r, eagain_case), "%s %s: %lu WARNs", path_names[r->path],
		  gs_gmem_conversion_name(r->conv), gs_warn_count() - r->warns);
	if (r->fd < 0)
		return;
	after = snapshot(r);
	if (!r->before) {
		/* The same run as planned's count run, which compared the state. */
	} else if (!st.partial) {
		/* All or nothing: every layer as before. */
		gs_assert(!strcmp(r->before, after), "%s %s order %u: state changed",
			  path_names[r->path], gs_gmem_conversion_name(r->conv), r->order);
	} else {
		gs_assert(r->conv == GS_CONVERSION_WIP || r->conv == GS_CONVERSION_RFC_V2,
			  "%s: partial progress under %s", path_names[r->path],
			  gs_gmem_conversion_name(r->conv));
		if (r->conv == GS_CONVERSION_WIP) {
			check_wip_progress(r);
		} else {
			/* rfc-v2: the items' guest mappings zapped, nothing else. */
			gs_assert(!strcmp(without_leaves(r->before), without_leaves(after)),
				  "rfc-v2: more than the zap changed");
		}
	}
	free(after);
}

/* After a run that succeeded: the path's effect, the checkers, no WARN. */
static void check_success(struct run *r, bool eagain_case)
{
	gs_assert(gs_check_run_all(stderr) == 0, "%s: checker", path_names[r->path]);
	gs_assert(warns_ok(r, false), "%s: WARN on success", path_names[r->path]);
	if (is_convert(r->path)) {
		pgoff_t x = unit(r) >> PAGE_SHIFT;
		int want = r->path == TO_SHARED ? SHAREABILITY_ALL : SHAREABILITY_GUEST;

		gs_assert(kvm_gmem_range_shareability(inode_of(r), x - 1, x + 1) == want,
			  "%s: not converted", path_names[r->path]);
	}
	if (r->path == TO_PRIVATE_MERGE && r->order && !eagain_case)
		gs_assert(folio_order(folio_at(r, 0)) == r->order, "merge did not happen");
	if ((r->path == TO_SHARED || r->path == RS_SPLIT) && r->order && !eagain_case)
		gs_assert(folio_order(folio_at(r, 0)) == 0, "split did not happen");
}

/* The result of one cell: attempts, sites reached, failures injected, outcomes. */
struct cell {
	int base_ret;
	unsigned long attempts, runs, enomem, eagain, partial, oob;
	struct siteset sites;
	unsigned long hits[GS_MAX_SITES];
};

static bool small_matrix(void)
{
	const char *e = getenv("GMEMSIM_MATRIX_SMALL");

	return (e && *e && strcmp(e, "0")) || gs_test_scale(50) < 50;
}

/* Site hits (successes and failures) since @base. */
static void site_hits(const struct gs_site_stats *base, struct cell *c)
{
	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++) {
		struct gs_site_stats now;

		gs_site_stats(s, &now);
		c->hits[s] = (now.allocs + now.failed) - (base[s].allocs + base[s].failed);
		if (c->hits[s])
			siteset_add(&c->sites, s);
	}
}

/* The counting run: N attempts and the sites they reach. */
static void count_run(struct run *r, struct cell *c)
{
	static struct gs_site_stats base[GS_MAX_SITES];
	unsigned long q0;

	prepare(r);
	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++)
		gs_site_stats(s, &base[s]);
	gs_inject_set_counting(true);
	q0 = gs_inject_queries();
	c->base_ret = op(r);
	c->attempts = gs_inject_queries() - q0;
	gs_inject_set_counting(false);
	site_hits(base, c);
	if (c->base_ret)
		check_failure(r, c->base_ret, c->base_ret, false);
	else
		check_success(r, false);
	finish(r);
}

/* One injected run: fail the @nth hit of @site (GS_INJECT_ANY_SITE: of any). */
static void inject_run(struct run *r, struct cell *c, int site, unsigned long nth)
{
	struct gs_inject_rule rule = {.site = site, .mode = GS_INJECT_NTH, .nth = nth};
	bool injected;
	int id, ret;

	prepare(r);
	id = gs_inject_arm(&rule);
	ck_assert_int_ge(id, 0);
	ret = op(r);
	injected = gs_inject_rule_fired(id) != 0;
	gs_inject_disarm(id);
	c->runs++;
	if (ret && ret != c->base_ret) {
		gs_assert(injected, "%s: %d without an injected failure", path_names[r->path], ret);
		c->enomem++;
		c->partial += gs_gmem_convert_stats(false).partial;
		c->oob += gs_gmem_convert_stats(false).rollback_oob;
		check_failure(r, ret, -ENOMEM, false);
	} else if (ret) {
		check_failure(r, ret, c->base_ret, false);
	} else {
		/* The failure fell after a point of no return, on a best-effort step. */
		check_success(r, false);
	}
	finish(r);
}

/* Which n of 1..N to fail: all, or a spread when N is large (see the file's comment). */
static void nth_loop(struct run *r, struct cell *c)
{
	unsigned long full = small_matrix() ? 48 : 400, first = small_matrix() ? 4 : 8;
	unsigned long n = c->attempts, steps = small_matrix() ? 4 : 8;

	if (n <= full) {
		for (unsigned long i = 1; i <= n; i++)
			inject_run(r, c, GS_INJECT_ANY_SITE, i);
		return;
	}
	for (unsigned long i = 1; i <= first; i++)
		inject_run(r, c, GS_INJECT_ANY_SITE, i);
	for (unsigned long k = 1; k < steps; k++)
		inject_run(r, c, GS_INJECT_ANY_SITE, first + k * (n - first) / steps);
	inject_run(r, c, GS_INJECT_ANY_SITE, n);
	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++) {
		unsigned long h = c->hits[s], picks[] = {1, h / 2, h};

		for (size_t i = 0; h && i < ARRAY_SIZE(picks); i++)
			if (picks[i] && (i == 0 || picks[i] > picks[i - 1]))
				inject_run(r, c, (int)s, picks[i]);
	}
}

/* The folios the path touches: each page cache folio of units 0 and 1 near the boundary. */
static size_t touched_folios(struct run *r, uint64_t *offs, size_t max)
{
	uint64_t u = unit(r), cand[] = {u - P, u, 0, u - 2 * P, u + P, 2 * u - P};
	unsigned long pfns[ARRAY_SIZE(cand)];
	/* A snapshot of two split 1 GiB pages lists 524,288 folios: the boundary's two only. */
	size_t n = 0, nr_cand = r->order > 9 || small_matrix() ? 2 : ARRAY_SIZE(cand);

	for (size_t i = 0; i < nr_cand && n < max; i++) {
		struct folio *f = folio_at(r, cand[i]);
		bool seen = false;

		if (!f)
			continue;
		for (size_t j = 0; j < n; j++)
			seen |= pfns[j] == folio_pfn(f);
		if (seen)
			continue;
		pfns[n] = folio_pfn(f);
		offs[n++] = cand[i];
	}
	return n;
}

/* An extra reference on each folio the path touches: EAGAIN (or success), never a change. */
static void eagain_runs(struct run *r, struct cell *c)
{
	uint64_t offs[8];
	size_t nr;

	if (r->path == FALLOCATE || r->path == GET_PFN_FRESH || r->path == CLOSE_PINNED)
		return;
	prepare(r);
	nr = touched_folios(r, offs, ARRAY_SIZE(offs));
	finish(r);
	for (size_t i = 0; i < nr; i++) {
		struct folio *extra;
		int ret;

		prepare(r);
		extra = folio_at(r, offs[i]);
		gs_folio_pin(extra);
		free(r->before);
		r->before = snapshot(r);
		ret = op(r);
		c->runs++;
		if (ret == -EAGAIN) {
			c->eagain++;
			/* The extra reference is part of the state both times. */
			check_failure(r, ret, -EAGAIN, true);
		} else if (ret) {
			check_failure(r, ret, c->base_ret, true);
		} else {
			check_success(r, true);
		}
		gs_folio_unpin(extra);
		finish(r);
	}
}

/* The sites a path must reach (its reason to be in the matrix), by file kind. */
static struct siteset required_sites(const struct run *r)
{
	struct siteset s = {{0}};
	bool huge = r->order != 0;

	switch (r->path) {
	case TO_SHARED:
		siteset_add(&s, GS_SITE_MAPLE_PREALLOC);
		if (huge) {
			siteset_add(&s, GS_SITE_XARRAY_SPLIT);
			siteset_add(&s, GS_SITE_HUGETLB_META);
			siteset_add(&s, GS_SITE_HVO_RESTORE);
		}
		/* rfc-v2 zaps its items first: no leaf is left to split (P20). */
		if (huge && r->conv != GS_CONVERSION_RFC_V2)
			siteset_add(&s, GS_SITE_KVM_MMU_CACHE);
		break;
	case TO_PRIVATE:
		siteset_add(&s, GS_SITE_MAPLE_PREALLOC);
		break;
	case TO_PRIVATE_MERGE:
		/* The store joins ranges (no node to split); the merge redoes HVO. */
		if (huge)
			siteset_add(&s, GS_SITE_HVO_OPTIMIZE);
		break;
	case FALLOCATE:
	case GET_PFN_FRESH:
		siteset_add(&s, GS_SITE_XARRAY_NODE);
		if (huge) {
			siteset_add(&s, GS_SITE_XARRAY_SPLIT);
			siteset_add(&s, GS_SITE_HUGETLB_META);
			siteset_add(&s, GS_SITE_HVO_RESTORE);
		} else {
			siteset_add(&s, GS_SITE_PAGE_ALLOC);
		}
		break;
	case PUNCH_SPLIT:
		/* A punch is huge-page aligned: no leaf crosses it; the split page merges first. */
		if (huge)
			siteset_add(&s, GS_SITE_HVO_OPTIMIZE);
		break;
	case CLOSE_PINNED:
		if (huge)
			siteset_add(&s, GS_SITE_HVO_OPTIMIZE);
		break;
	case RS_SPLIT:
		if (huge) {
			siteset_add(&s, GS_SITE_XARRAY_SPLIT);
			siteset_add(&s, GS_SITE_HUGETLB_META);
			siteset_add(&s, GS_SITE_HVO_RESTORE);
		}
		break;
	case RS_MERGE:
		if (huge)
			siteset_add(&s, GS_SITE_HVO_OPTIMIZE);
		break;
	default:
		break;
	}
	return s;
}

/* Conversions v8 and rfc-v2 do not model on HugeTLB files answer EOPNOTSUPP. */
static bool unsupported(const struct run *r, int ret)
{
	return ret == -EOPNOTSUPP &&
	       ((is_convert(r->path) && r->order &&
		 (r->conv == GS_CONVERSION_V8 || r->conv == GS_CONVERSION_RFC_V2)) ||
		((r->path == RS_SPLIT || r->path == RS_MERGE) && !r->order));
}

static void print_row(const struct run *r, const struct cell *c)
{
	char sites[512] = "";
	size_t len = 0;

	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++)
		if (siteset_has(&c->sites, s) && len < sizeof(sites) - 40)
			len += (size_t)snprintf(sites + len, sizeof(sites) - len, "%s%s:%lu",
						len ? " " : "", gs_site_name(s), c->hits[s]);
	printf("matrix %-16s %-7s %-4s attempts=%-6lu runs=%-4lu enomem=%-4lu eagain=%-2lu "
	       "partial=%-3lu oob=%lu %s\n",
	       path_names[r->path], gs_gmem_conversion_name(r->conv),
	       r->order == 18  ? "1G"
	       : r->order == 9 ? "2M"
			       : "4K",
	       c->attempts, c->runs, c->enomem, c->eagain, c->partial, c->oob,
	       c->base_ret == -EOPNOTSUPP ? "(not modelled: EOPNOTSUPP)" : sites);
}

/* Each site's first hit failed: what is left of the loop where planned's cell did it all. */
static void first_hits(struct run *r, struct cell *c)
{
	for (unsigned int s = 0; s < gs_site_count() && s < GS_MAX_SITES; s++)
		if (c->hits[s])
			inject_run(r, c, (int)s, 1);
}

/*
 * One cell. A path that is not a conversion never reads the ordering: its
 * count run under the other orderings must equal planned's (@ref), attempt
 * for attempt and site for site, and then each site's first hit is failed
 * (planned's cell failed every attempt).
 */
static void run_cell(enum gs_gmem_conversion conv, unsigned int order, enum path path,
		     struct cell *ref)
{
	struct run r = {.conv = conv, .order = order, .path = path, .fd = -1};
	struct cell c = {.base_ret = 0};
	bool same_as_ref = !is_convert(path) && conv != GS_CONVERSION_PLANNED;
	struct siteset need;

	pool_build(order);
	/* Its result must be planned's, which compared the state: no snapshot of 2 x 262,144 pieces. */
	r.no_snapshot = same_as_ref;
	count_run(&r, &c);
	r.no_snapshot = false;
	if (unsupported(&r, c.base_ret)) {
		print_row(&r, &c);
		gs_test_empty_pools();
		gs_test_assert_no_leaks();
		return;
	}
	gs_assert(c.base_ret == 0 || (path == PUNCH_PINNED && order && c.base_ret == -EAGAIN),
		  "%s %s order %u: %d without injection", path_names[path],
		  gs_gmem_conversion_name(conv), order, c.base_ret);
	need = required_sites(&r);
	for (unsigned int s = 0; s < GS_MAX_SITES; s++)
		gs_assert(!siteset_has(&need, s) || siteset_has(&c.sites, s),
			  "%s %s order %u: site %s not reached", path_names[path],
			  gs_gmem_conversion_name(conv), order, gs_site_name(s));
	if (same_as_ref) {
		gs_assert(c.attempts == ref->attempts && c.base_ret == ref->base_ret &&
				  !memcmp(c.hits, ref->hits, sizeof(c.hits)),
			  "%s under %s: %lu attempts, planned %lu", path_names[path],
			  gs_gmem_conversion_name(conv), c.attempts, ref->attempts);
		first_hits(&r, &c);
	} else {
		nth_loop(&r, &c);
		eagain_runs(&r, &c);
	}
	if (conv == GS_CONVERSION_PLANNED)
		*ref = c;
	/* planned (and v8) never leave progress behind; a path that allocates fails somewhere. */
	if (conv == GS_CONVERSION_PLANNED || conv == GS_CONVERSION_V8 || !is_convert(path))
		gs_assert(c.partial == 0, "%s %s: partial progress", path_names[path],
			  gs_gmem_conversion_name(conv));
	/* The reviewed rollback loop's bug is rfc-v2's alone, and a first store that fails shows it. */
	if (conv != GS_CONVERSION_RFC_V2)
		gs_assert(c.oob == 0, "%s %s: rollback below the first item", path_names[path],
			  gs_gmem_conversion_name(conv));
	else if ((path == TO_SHARED || path == TO_PRIVATE) && !order)
		gs_assert(c.oob > 0, "rfc-v2 %s: the first item's failed store not seen",
			  path_names[path]);
	print_row(&r, &c);
	gs_test_empty_pools();
	gs_test_assert_no_leaks();
}

/* One page size: every ordering (planned first: the others compare to it) x every path. */
START_TEST(test_matrix)
{
	static struct cell ref[NR_PATHS];

	/* The small matrix (valgrind) keeps every ordering and path, not the 1 GiB pages. */
	if (orders[_i] > 9 && small_matrix()) {
		printf("matrix 1G skipped: small matrix (GMEMSIM_MATRIX_SMALL or valgrind)\n");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++)
		for (int p = 0; p < NR_PATHS; p++)
			run_cell(profiles[i], orders[_i], (enum path)p, &ref[p]);
	fflush(stdout);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("failnth-matrix");
	TCase *tc = tcase_create("matrix");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 900);
	tcase_add_loop_test(tc, test_matrix, 0, (int)ARRAY_SIZE(orders));
	suite_add_tcase(s, tc);
	return s;
}
