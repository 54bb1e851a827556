// SPDX-License-Identifier: MIT
/*
 * Guest-like workloads as scenario text (docs/STRATEGIES.md, "Workloads"):
 * the patterns of the HugeTLB guest_memfd seeds -- a TDX/SNP guest that
 * boots private and then shares scattered pages for DMA and virtio, bursts
 * of bounce buffers, a guest converting and punching in a loop, a 1 GiB
 * guest with a few shared pages. No kernel code is mirrored: this is what
 * a VMM and its guest would ask of guest_memfd, written as .gms lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmemsim/compare.h>
#include <gmemsim/rng.h>
#include <gmemsim/strategy.h>

#define SZ_4K  (1ULL << 12)
#define SZ_64K (1ULL << 16)
#define SZ_2M  (1ULL << 21)
#define SZ_1G  (1ULL << 30)
/* The simulated machine's limit (`machine mem=`), less room for the rest. */
#define MAX_GUEST (2ULL << 40)

/*
 * How a strategy runs a workload: its name for the `vm` line (a registered
 * name, or the path of a shared object, docs/STRATEGIES.md "Writing a
 * strategy"), and whether it gets the HugeTLB backing. v8's flow has no
 * HugeTLB (EOPNOTSUPP on a HugeTLB file): it runs the same guest on 4 KiB
 * pages; so does punch-hole's, and a strategy of the thp backing runs it
 * on a file without HugeTLB, whose folios are THPs where it can.
 */
struct strategy_run {
	const char *name;
	bool hugetlb;
};

/* The registry's strategy @name (loading a shared object named by a path). */
static int strategy_lookup(const char *name, struct strategy_run *out)
{
	const struct gs_strategy *st = name ? gs_strategy_find(name) : NULL;

	if (!st)
		return -EINVAL;
	out->name = st->builtin ? st->ops->name : name;
	/* thp and punch-hole back the guest with best-effort THPs, not HugeTLB. */
	out->hugetlb = st->ops->flow != GS_FLOW_V8 && st->ops->flow != GS_FLOW_PUNCH_HOLE &&
		       st->ops->backing != GS_STRATEGY_BACKING_THP;
	return 0;
}

struct workload;

/* A workload's body after the boot; @w->out is the text so far. */
typedef void (*workload_body)(struct workload *w);

struct workload_desc {
	const char *name;
	uint64_t page; /* the huge page size of its HugeTLB backing */
	workload_body body;
};

struct workload {
	FILE *out;
	struct gs_rng rng;
	uint64_t size;
	uint64_t page;
};

/* A random 4 KiB-aligned offset of @len bytes inside the guest, @len-aligned. */
static uint64_t pick(struct workload *w, uint64_t len)
{
	return gs_rng_below(&w->rng, w->size / len) * len;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * The guest goes on using the memory around a converted range: it touches
 * the huge pages the range lies in, so what a conversion zapped is mapped
 * again, at whatever size the strategy now allows.
 */
static void touch_around(struct workload *w, uint64_t off, uint64_t len)
{
	uint64_t start = off / w->page * w->page;
	uint64_t end = (off + len + w->page - 1) / w->page * w->page;

	fprintf(w->out, "gfault-range g gpa=%#llx len=%#llx\n", (unsigned long long)start,
		(unsigned long long)(end - start));
}

static void convert(struct workload *w, uint64_t off, uint64_t len, const char *to)
{
	fprintf(w->out, "convert f off=%#llx len=%#llx to=%s\n", (unsigned long long)off,
		(unsigned long long)len, to);
	touch_around(w, off, len);
}

static void share(struct workload *w, uint64_t off, uint64_t len)
{
	convert(w, off, len, "shared");
}

static void unshare(struct workload *w, uint64_t off, uint64_t len)
{
	convert(w, off, len, "private");
}

/* Scattered DMA pages and virtio rings: one buffer in four is 64 KiB. */
static void tdx_boot(struct workload *w)
{
	uint64_t n = clamp(w->size / (16 * SZ_2M * 8), 8, 4096);

	fprintf(w->out, "note shared buffers: %llu\n", (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t len = gs_rng_below(&w->rng, 4) ? SZ_4K : SZ_64K;

		share(w, pick(w, len), len);
	}
}

/* Bursts of bounce buffers, shared for one I/O and converted back. */
static void bounce(struct workload *w)
{
	uint64_t k = clamp(w->size / (128 * SZ_2M), 4, 64), off[64], len[64];

	for (int round = 0; round < 16; round++) {
		fprintf(w->out, "note burst %d: %llu buffers\n", round, (unsigned long long)k);
		for (uint64_t i = 0; i < k; i++) {
			len[i] = SZ_4K << gs_rng_below(&w->rng, 3);
			off[i] = pick(w, len[i]);
			share(w, off[i], len[i]);
		}
		for (uint64_t i = 0; i < k; i++)
			unshare(w, off[i], len[i]);
	}
}

/*
 * A guest giving memory back and taking it again: a few pages of a huge page
 * shared, the huge page punched (ballooned out), allocated and touched again,
 * its shared pages converted back; the deferred-merge worker runs now and then.
 */
static void churn(struct workload *w)
{
	for (int round = 0; round < 32; round++) {
		uint64_t base = pick(w, w->page), off[4];

		fprintf(w->out, "note round %d at %#llx\n", round, (unsigned long long)base);
		for (int i = 0; i < 4; i++) {
			off[i] = base + gs_rng_below(&w->rng, w->page / SZ_4K) * SZ_4K;
			share(w, off[i], SZ_4K);
		}
		fprintf(w->out, "punch f off=%#llx len=%#llx\n", (unsigned long long)base,
			(unsigned long long)w->page);
		fprintf(w->out, "falloc f off=%#llx len=%#llx\n", (unsigned long long)base,
			(unsigned long long)w->page);
		fprintf(w->out, "gfault-range g gpa=%#llx len=%#llx\n", (unsigned long long)base,
			(unsigned long long)w->page);
		for (int i = 0; i < 4; i++)
			unshare(w, off[i], SZ_4K);
		if (round % 8 == 7)
			fprintf(w->out, "run-deferred\n");
	}
}

/* Seed 004's guest: 1 GiB pages, a handful of shared 4 KiB pages. */
static void few_shared(struct workload *w)
{
	for (int i = 0; i < 8; i++)
		share(w, pick(w, SZ_4K), SZ_4K);
}

static const struct workload_desc workloads[] = {
	{"tdx-boot", SZ_2M, tdx_boot},
	{"bounce", SZ_2M, bounce},
	{"churn", SZ_2M, churn},
	{"1g-few-shared", SZ_1G, few_shared},
};

const char *gs_workload_nth(unsigned int i)
{
	return i < sizeof(workloads) / sizeof(workloads[0]) ? workloads[i].name : NULL;
}

static const struct workload_desc *workload_lookup(const char *name)
{
	for (size_t i = 0; name && i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (!strcmp(workloads[i].name, name))
			return &workloads[i];
	return NULL;
}

/*
 * Host bytes a run needs, measured (docs/STRATEGIES.md, "Workloads"): a
 * 4 KiB page costs ~85 bytes (its struct page, its page-cache and stage-2
 * slots), a 2 MiB or 1 GiB page the 4 KiB of struct pages HVO keeps and a
 * few entries; the pages a workload splits get an allowance of their own.
 * Rounded up.
 */
#define HOST_PER_4K_PAGE     96ULL
#define HOST_PER_HUGE_PAGE   4608ULL
#define HOST_BASE	     (64ULL << 20)
#define HOST_SPLIT_ALLOWANCE (256ULL << 20)

uint64_t gs_workload_host_bytes(const struct gs_workload_params *p)
{
	const struct workload_desc *d = workload_lookup(p->name);
	struct strategy_run s;

	if (!d || strategy_lookup(p->strategy, &s))
		return 0;
	if (!s.hugetlb)
		return HOST_BASE + p->size / SZ_4K * HOST_PER_4K_PAGE;
	return HOST_BASE + p->size / d->page * HOST_PER_HUGE_PAGE + HOST_SPLIT_ALLOWANCE;
}

static int check_params(const struct gs_workload_params *p, const struct workload_desc **d,
			struct strategy_run *s, const char **err)
{
	*d = workload_lookup(p->name);
	if (!*d) {
		*err = "unknown workload (tdx-boot, bounce, churn, 1g-few-shared)";
		return -EINVAL;
	}
	if (strategy_lookup(p->strategy, s)) {
		*err = "unknown strategy (gmemsim strategies lists them; a shared object by its "
		       "path)";
		return -EINVAL;
	}
	if (!p->size || p->size % (*d)->page) {
		*err = (*d)->page == SZ_1G ? "the size must be a nonzero multiple of 1G"
					   : "the size must be a nonzero multiple of 2M";
		return -EINVAL;
	}
	if (p->size > MAX_GUEST) {
		*err = "the size is more than the simulated machine holds (2T)";
		return -EINVAL;
	}
	return 0;
}

static void prelude(struct workload *w, const struct gs_workload_params *p,
		    const struct strategy_run *s)
{
	unsigned long long size = p->size, page = w->page;

	fprintf(w->out, "# SPDX-License-Identifier: MIT\n");
	fprintf(w->out, "# gmemsim workload %s --size %llu --seed %llu --strategy %s\n", p->name,
		size, (unsigned long long)p->seed, p->strategy);
	fprintf(w->out, "machine mem=%#llx backing=none\n", size + 2 * SZ_1G);
	fprintf(w->out, "hvo on\n");
	if (s->hugetlb)
		fprintf(w->out, "hugetlb pool size=%#llx nr=%llu\n", page, size / page);
	fprintf(w->out, "vm g type=tdx strategy=%s\n", s->name);
	if (s->hugetlb)
		fprintf(w->out, "gmem f vm=g size=%#llx flags=hugetlb page=%#llx\n", size, page);
	else
		fprintf(w->out, "gmem f vm=g size=%#llx\n", size);
	fprintf(w->out, "memslot g slot=0 gpa=0 size=%#llx gmem=f\n", size);
	fprintf(w->out, "falloc f off=0 len=%#llx\n", size);
	fprintf(w->out, "gfault-range g gpa=0 len=%#llx\n", size);
	fprintf(w->out, "note booted: every page private and mapped\n");
	fprintf(w->out, "metrics\n");
}

int gs_workload_text(const struct gs_workload_params *p, char **text, const char **err)
{
	const struct workload_desc *d;
	struct strategy_run s;
	struct workload w;
	size_t len;
	int ret = check_params(p, &d, &s, err);

	if (ret)
		return ret;
	w = (struct workload){.size = p->size, .page = d->page};
	gs_rng_seed(&w.rng, p->seed);
	w.out = open_memstream(text, &len);
	if (!w.out) {
		*err = "out of memory";
		return -ENOMEM;
	}
	prelude(&w, p, &s);
	d->body(&w);
	fprintf(w.out, "metrics\n");
	if (fclose(w.out)) {
		free(*text);
		*text = NULL;
		*err = "out of memory";
		return -ENOMEM;
	}
	return 0;
}
