// SPDX-License-Identifier: MIT
/*
 * Simulated physical memory (see <gmemsim/physmem.h>): the pfn space, the
 * vmemmap, and host memory behind huge pages. Plays the part of the buddy
 * allocator's huge-page source and of the sparse vmemmap
 * (mm/sparse-vmemmap.c) for gmemsim's HugeTLB pools.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/memcheck.h>
#include <gmemsim/alloc.h>
#include <gmemsim/numa.h>
#include <gmemsim/physmem.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/metrics_int.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

#define CHUNK_SHIFT	    9  /* the chunk table has one entry per 2 MiB of pfns */
#define GIG_SHIFT	    18 /* ... and a second one per 1 GiB, for pages that large */
#define CHUNK_IN_USE	    1UL
#define CHUNK_BACKING_SHIFT 1
#define CHUNK_BACKING_MASK  (3UL << CHUNK_BACKING_SHIFT)
#define CHUNK_NODE_SHIFT    3 /* the node the page is on: 6 bits, GS_MAX_NUMNODES */
#define CHUNK_NODE_MASK	    (63UL << CHUNK_NODE_SHIFT)
#define CHUNK_FLAGS	    (CHUNK_IN_USE | CHUNK_BACKING_MASK | CHUNK_NODE_MASK)
#define MIN_ORDER	    9
#define MAX_ORDER	    18

/* Marks the head struct page of a free pfn range; ->private links to the next one. */
#define FREE_RANGE_MAGIC ((void *)0x46524545UL)

struct page *gs_vmemmap;
unsigned long gs_vmemmap_pfns;

/*
 * Per 2 MiB of pfns: host address of the data (2 MiB aligned, so its low
 * bits are free) | node << 3 | backing << 1 | in use.
 */
static uintptr_t *chunk_tab;
/*
 * Per 1 GiB of pfns, the same for a page of 1 GiB: its 512 chunk entries
 * would cost as much host memory as its struct pages after HVO.
 */
static uintptr_t *gig_tab;
static unsigned long next_pfn = GS_PFN_BASE;
static unsigned long free_ranges[MAX_ORDER + 1]; /* first free range of each order, 0: none */
static struct gs_physmem_stats stats;
static int backing_override = -1; /* enum gs_backing every allocation gets, -1: as asked */
static bool keep_vmemmap;	  /* freed 2 MiB pages zero their struct pages in place */
static bool keep_huge_vmemmap;	  /* ... and so do HugeTLB ones (gs_physmem_keep_huge_vmemmap()) */

/*
 * Parked 2 MiB pages (gs_physmem_park_huge()): free in every count, their
 * chunk entries and struct pages kept, at or above next_pfn in ascending
 * order, where a fresh layout would hand them out next.
 */
#define PARKED_MAX 64
static unsigned long parked[PARKED_MAX];
static unsigned int nr_parked;
static gs_physmem_parked_fn parked_release;
static bool parking; /* gs_physmem_set_parking(): frees may park */

static void *reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int gs_physmem_init(void)
{
	if (gs_vmemmap)
		return 0;
	/*
	 * Ask for 4 TiB of pfns; take less where the host will not map that
	 * much. Under valgrind, 64 GiB: memcheck walks the whole reservation
	 * when the process exits (a minute for 32 GiB of vmemmap), and tests
	 * never need more.
	 */
	unsigned long max = RUNNING_ON_VALGRIND ? 1UL << 24 : 1UL << 30;

	for (unsigned long pfns = max; pfns >= 1UL << 22; pfns >>= 1) {
		struct page *vm = reserve(pfns * sizeof(struct page));
		uintptr_t *tab, *gig;

		if (!vm)
			continue;
		tab = reserve((pfns >> CHUNK_SHIFT) * sizeof(*tab));
		gig = tab ? reserve((pfns >> GIG_SHIFT) * sizeof(*gig)) : NULL;
		if (!gig) {
			if (tab)
				WARN_ON(munmap(tab, (pfns >> CHUNK_SHIFT) * sizeof(*tab)));
			WARN_ON(munmap(vm, pfns * sizeof(struct page)));
			continue;
		}
		/*
		 * Struct pages come and go 4 KiB at a time (HVO): a host whose
		 * transparent huge pages are "always" would back them 2 MiB at
		 * a time and undo HVO's savings. EINVAL: a host without them.
		 */
		if (madvise(vm, pfns * sizeof(struct page), MADV_NOHUGEPAGE) && errno != EINVAL)
			WARN(1, "vmemmap: MADV_NOHUGEPAGE failed (errno %d)", errno);
		gs_vmemmap = vm;
		gs_vmemmap_pfns = pfns;
		chunk_tab = tab;
		gig_tab = gig;
		return 0;
	}
	return -ENOMEM;
}

/* Pfns the vmemmap can describe above GS_PFN_BASE: the most memory a machine can have. */
static unsigned long capacity_pfns(void)
{
	return gs_vmemmap_pfns > GS_PFN_BASE ? gs_vmemmap_pfns - GS_PFN_BASE : 0;
}

int gs_physmem_set_size(unsigned long bytes)
{
	unsigned long pfns = bytes >> PAGE_SHIFT;

	if (gs_physmem_init())
		return -ENOMEM;
	if (!bytes || !IS_ALIGNED(bytes, PAGE_SIZE << MIN_ORDER) || pfns > capacity_pfns())
		return -EINVAL;
	if (pfns < stats.pfns_in_use)
		return -EBUSY;
	/* The nodes share the new size as they shared the old one. */
	return gs_numa_resize(pfns, 1UL << MIN_ORDER);
}

unsigned long gs_physmem_size(void)
{
	if (gs_physmem_init())
		return 0;
	return min_t(unsigned long, gs_numa_total_pages(), capacity_pfns()) << PAGE_SHIFT;
}

int gs_physmem_set_nodes(unsigned int nr)
{
	if (gs_physmem_init())
		return -ENOMEM;
	return gs_numa_configure(nr, gs_physmem_size() >> PAGE_SHIFT, 1UL << MIN_ORDER);
}

int gs_physmem_set_node_size(int nid, unsigned long bytes)
{
	unsigned long pfns = bytes >> PAGE_SHIFT, others;

	if (gs_physmem_init())
		return -ENOMEM;
	if (nid < 0 || (unsigned int)nid >= gs_numa_nr_nodes() || !IS_ALIGNED(bytes, PAGE_SIZE))
		return -EINVAL;
	others = gs_numa_total_pages() - gs_numa_node_pages(nid);
	if (pfns > capacity_pfns() || others > capacity_pfns() - pfns)
		return -EINVAL;
	return gs_numa_set_node_pages(nid, pfns, 1UL << MIN_ORDER);
}

unsigned long gs_physmem_node_free_pages(int nid)
{
	return gs_numa_node_free(nid);
}

unsigned long gs_physmem_free_pages(void)
{
	unsigned long total = gs_physmem_size() >> PAGE_SHIFT;

	return total > stats.pfns_in_use ? total - stats.pfns_in_use : 0;
}

int gs_physmem_override_backing(int backing)
{
	int old = backing_override;

	if (backing > GS_BACKING_NONE)
		return -EINVAL;
	backing_override = backing < 0 ? -1 : backing;
	return old;
}

static gs_progress_fn progress_fn;

void gs_physmem_set_progress(gs_progress_fn fn)
{
	progress_fn = fn;
}

void gs_physmem_progress(const char *what, unsigned long done, unsigned long total)
{
	if (progress_fn)
		progress_fn(what, done, total);
}

const char *gs_backing_name(enum gs_backing backing)
{
	static const char *const names[] = {"auto", "hugetlb", "anon", "none"};

	return (unsigned int)backing < ARRAY_SIZE(names) ? names[backing] : "?";
}

static void *data_hugetlb(unsigned int order)
{
	size_t len = PAGE_SIZE << order;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		    (int)((order + PAGE_SHIFT) << MAP_HUGE_SHIFT);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Anonymous data lives in one reservation that mirrors the pfn space, so
 * that a guest of any size costs the host one mapping, not one per huge
 * page (the host allows 65,530): the data of pfn p is at a fixed offset.
 * Reserved on first use; where the host refuses that much address space
 * (valgrind), each huge page maps its own.
 */
static uint8_t *anon_base;
static size_t anon_len;
static bool anon_tried;

static uint8_t *anon_region(void)
{
	size_t len = capacity_pfns() << PAGE_SHIFT, align = PAGE_SIZE << MAX_ORDER;
	uint8_t *raw;

	if (anon_tried)
		return anon_base;
	anon_tried = true;
	raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	/* Aligned to the largest page, so transparent huge pages can back every page. */
	anon_base = (uint8_t *)ALIGN((uintptr_t)raw, align);
	anon_len = len;
	/* A hint: a host without transparent huge pages (EINVAL) backs it with small ones. */
	WARN_ON(madvise(anon_base, anon_len, MADV_HUGEPAGE) && errno != EINVAL);
	return anon_base;
}

static bool in_anon_region(const void *p)
{
	return anon_base && (const uint8_t *)p >= anon_base &&
	       (const uint8_t *)p < anon_base + anon_len;
}

static void *data_anon_at(unsigned long pfn)
{
	uint8_t *base = anon_region();

	return base ? base + ((pfn - GS_PFN_BASE) << PAGE_SHIFT) : NULL;
}

static void *data_anon(unsigned int order)
{
	size_t len = PAGE_SIZE << order;
	uint8_t *raw = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *p;

	if (raw == MAP_FAILED)
		return NULL;
	/* Keep only the aligned middle, so transparent huge pages can back it. */
	p = (uint8_t *)ALIGN((uintptr_t)raw, len);
	if ((p > raw && munmap(raw, (size_t)(p - raw))) ||
	    munmap(p + len, (size_t)(raw + 2 * len - (p + len)))) {
		/* Trimming a fresh mapping fails only when the host is out of mappings. */
		WARN_ON(munmap(raw, 2 * len));
		return NULL;
	}
	/* A hint: a host without transparent huge pages (EINVAL) backs it with small ones. */
	if (madvise(p, len, MADV_HUGEPAGE) && errno != EINVAL) {
		WARN_ON(munmap(p, len));
		return NULL;
	}
	return p;
}

static void *get_data(unsigned int order, unsigned long pfn, enum gs_backing want,
		      enum gs_backing *got)
{
	void *p = NULL;

	if (want == GS_BACKING_NONE) {
		*got = GS_BACKING_NONE;
		return NULL;
	}
	if (want == GS_BACKING_AUTO || want == GS_BACKING_HUGETLB) {
		p = data_hugetlb(order);
		*got = GS_BACKING_HUGETLB;
		if (p || want == GS_BACKING_HUGETLB)
			return p;
	}
	*got = GS_BACKING_ANON;
	p = data_anon_at(pfn);
	return p ? p : data_anon(order);
}

/* Give the data of a huge page back: the shared reservation keeps its mapping. */
static void put_data(void *data, unsigned int order)
{
	/* Dropping a plain anonymous range, or unmapping a whole mapping of ours, cannot fail. */
	if (in_anon_region(data))
		WARN_ON(madvise(data, PAGE_SIZE << order, MADV_DONTNEED));
	else
		WARN_ON(munmap(data, PAGE_SIZE << order));
}

static unsigned long take_pfns(unsigned int order)
{
	unsigned long nr = 1UL << order, pfn = free_ranges[order];

	if (pfn) {
		struct page *head = pfn_to_page(pfn);

		free_ranges[order] = head->private;
		memset(head, 0, sizeof(*head));
		return pfn;
	}
	pfn = ALIGN(next_pfn, nr);
	if (pfn + nr > gs_vmemmap_pfns)
		return 0;
	next_pfn = pfn + nr;
	return pfn;
}

/* Put a range taken by take_pfns() (and never used) on the free list of its order. */
static void put_pfns(unsigned long pfn, unsigned int order)
{
	struct page *head = pfn_to_page(pfn);

	head->mapping = FREE_RANGE_MAGIC;
	head->private = free_ranges[order];
	free_ranges[order] = pfn;
}

/* The table describing pages of @order, and the log2 of the pfns one entry covers. */
static uintptr_t *table_for(unsigned int order, unsigned int *shift)
{
	*shift = order >= GIG_SHIFT ? GIG_SHIFT : CHUNK_SHIFT;
	return order >= GIG_SHIFT ? gig_tab : chunk_tab;
}

static void set_chunks(unsigned long pfn, unsigned int order, void *data, enum gs_backing b,
		       int nid)
{
	unsigned int shift;
	uintptr_t *tab = table_for(order, &shift);

	for (unsigned long i = 0; i < (1UL << order) >> shift; i++) {
		uintptr_t addr = data ? (uintptr_t)data + (i << (shift + PAGE_SHIFT)) : 0;

		tab[(pfn >> shift) + i] = addr | ((uintptr_t)nid << CHUNK_NODE_SHIFT) |
					  ((uintptr_t)b << CHUNK_BACKING_SHIFT) | CHUNK_IN_USE;
	}
}

static void clear_chunks(unsigned long pfn, unsigned int order)
{
	unsigned int shift;
	uintptr_t *tab = table_for(order, &shift);

	for (unsigned long i = 0; i < (1UL << order) >> shift; i++)
		tab[(pfn >> shift) + i] = 0;
}

/*
 * The node a page of 2^@order pfns comes from: @nid if it has room, else
 * (unless __GFP_THISNODE) the next one in its fallback order that has.
 */
static int pick_node(int nid, unsigned int order, gfp_t gfp)
{
	unsigned int tries = (gfp & __GFP_THISNODE) ? 1 : gs_numa_nr_nodes();

	for (unsigned int i = 0; i < tries; i++) {
		int n = gs_numa_fallback_node(nid, i);

		if (gs_numa_node_free(n) >= 1UL << order)
			return n;
	}
	return NUMA_NO_NODE;
}

int gs_physmem_alloc_huge(unsigned int order, enum gs_backing want, gfp_t gfp, unsigned long *pfn,
			  enum gs_backing *got)
{
	return gs_physmem_alloc_huge_node(order, NUMA_NO_NODE, want, gfp, pfn, got);
}

/*
 * The parked page a fresh layout would hand out now for 2^@order pfns, or 0:
 * the next bump pfn, with no freed range of that order to take first.
 */
static unsigned long parked_next(unsigned int order, enum gs_backing want)
{
	if (!nr_parked || order != MIN_ORDER || want != GS_BACKING_NONE || free_ranges[order] ||
	    parked[0] != ALIGN(next_pfn, 1UL << order))
		return 0;
	return parked[0];
}

/*
 * Whether a fresh page of 2^@order pfns leaves the parked pages where a
 * fresh layout would still hand them out: all of them in untouched bump
 * space (at or above next_pfn), and this one from the bump pfn, below the
 * first. A pool whose input poisoned one page parks the others around the
 * hole it left; the next pool takes a fresh page there, as a fresh process
 * would, and the parked ones after it.
 */
static bool parked_stay(unsigned int order)
{
	unsigned long nr = 1UL << order;

	return !nr_parked || (parked[0] >= next_pfn && !free_ranges[order] &&
			      ALIGN(next_pfn, nr) + nr <= parked[0]);
}

static void take_parked(unsigned long pfn)
{
	memmove(parked, parked + 1, --nr_parked * sizeof(parked[0]));
	next_pfn = pfn + (1UL << MIN_ORDER);
}

int gs_physmem_alloc_huge_node(unsigned int order, int nid, enum gs_backing want, gfp_t gfp,
			       unsigned long *pfn, enum gs_backing *got)
{
	return gs_physmem_alloc_huge_parked(order, nid, want, gfp, pfn, got, NULL);
}

int gs_physmem_alloc_huge_parked(unsigned int order, int nid, enum gs_backing want, gfp_t gfp,
				 unsigned long *pfn, enum gs_backing *got, bool *was_parked)
{
	size_t len = PAGE_SIZE << order;
	enum gs_backing b;
	void *data;
	unsigned long p;

	if (order < MIN_ORDER || order > MAX_ORDER || (unsigned int)want > GS_BACKING_NONE ||
	    nid < NUMA_NO_NODE || nid >= (int)gs_numa_nr_nodes())
		return -EINVAL;
	if (backing_override >= 0)
		want = (enum gs_backing)backing_override;
	if (gs_physmem_init())
		return -ENOMEM;
	/* The machine's memory is used up: the buddy allocator has no such page. */
	if (gs_physmem_free_pages() < 1UL << order)
		return -ENOMEM;
	nid = pick_node(nid, order, gfp);
	if (nid == NUMA_NO_NODE)
		return -ENOMEM;
	if (!gs_charge(GS_SITE_PHYSMEM_HUGE, len, gfp))
		return -ENOMEM;
	p = was_parked ? parked_next(order, want) : 0;
	if (was_parked)
		*was_parked = p != 0;
	if (p) {
		take_parked(p);
		b = GS_BACKING_NONE;
		data = NULL;
		goto taken;
	}
	/* Any other allocation finds the layout a fresh process has: no page parked in its way. */
	if (!parked_stay(order))
		gs_physmem_release_parked();
	p = take_pfns(order);
	data = p ? get_data(order, p, want, &b) : NULL;
	if (!p || (!data && b != GS_BACKING_NONE)) {
		if (p)
			put_pfns(p, order);
		gs_uncharge(GS_SITE_PHYSMEM_HUGE, len);
		return -ENOMEM;
	}
taken:
	set_chunks(p, order, data, b, nid);
	stats.huge_pages[b]++;
	stats.data_bytes += data ? len : 0;
	stats.pfns_in_use += 1UL << order;
	gs_numa_charge(nid, 1L << order);
	gs_metrics_vmemmap_add((long long)sizeof(struct page) << order);
	*pfn = p;
	if (got)
		*got = b;
	return 0;
}

/* The entry of the huge page holding @pfn; *@shift: log2 of the pfns it covers. */
static uintptr_t chunk_shift(unsigned long pfn, unsigned int *shift)
{
	*shift = CHUNK_SHIFT;
	if (!chunk_tab || pfn >= gs_vmemmap_pfns)
		return 0;
	if (gig_tab[pfn >> GIG_SHIFT] & CHUNK_IN_USE) {
		*shift = GIG_SHIFT;
		return gig_tab[pfn >> GIG_SHIFT];
	}
	return chunk_tab[pfn >> CHUNK_SHIFT];
}

static uintptr_t chunk(unsigned long pfn)
{
	unsigned int shift;

	return chunk_shift(pfn, &shift);
}

bool pfn_valid(unsigned long pfn)
{
	return chunk(pfn) & CHUNK_IN_USE;
}

enum gs_backing gs_pfn_backing(unsigned long pfn)
{
	return (enum gs_backing)((chunk(pfn) & CHUNK_BACKING_MASK) >> CHUNK_BACKING_SHIFT);
}

int gs_pfn_to_nid(unsigned long pfn)
{
	uintptr_t c = chunk(pfn);

	if (!(c & CHUNK_IN_USE))
		return NUMA_NO_NODE;
	return (int)((c & CHUNK_NODE_MASK) >> CHUNK_NODE_SHIFT);
}

void *gs_pfn_to_virt(unsigned long pfn)
{
	unsigned int shift;
	uintptr_t c = chunk_shift(pfn, &shift) & ~CHUNK_FLAGS;

	if (!c)
		return NULL;
	return (void *)(c + ((pfn & ((1UL << shift) - 1)) << PAGE_SHIFT));
}

/* The vmemmap bytes of [pfn, pfn + nr), widened to whole host pages. */
static void vmemmap_span(unsigned long pfn, unsigned long nr, uint8_t **start, size_t *len)
{
	uintptr_t s = ALIGN_DOWN((uintptr_t)pfn_to_page(pfn), PAGE_SIZE);
	uintptr_t e = ALIGN((uintptr_t)pfn_to_page(pfn + nr), PAGE_SIZE);

	*start = (uint8_t *)s;
	*len = e - s;
}

/*
 * Data kept in the host by a persistent runner (gs_physmem_keep_vmemmap()):
 * the pfns of freed 2 MiB pages whose data stays faulted in, zero, until
 * the runner ends. A few suffice (a fuzz input's machine is small); past
 * that, data goes back to the host as without the runner.
 */
#define KEPT_MAX 64
static unsigned long kept_data[KEPT_MAX];
static unsigned int nr_kept_data;

/*
 * The next page at or after @p whose bit is set in @dirty (NULL: every
 * page), or 2^MIN_ORDER: a chunk's few pages handed out are found a word
 * at a time, not by testing its 512 bits one by one (twice per chunk freed,
 * 1% of a 4 KiB fuzz execution).
 */
static unsigned long next_dirty(const unsigned long *dirty, unsigned long p)
{
	const unsigned long end = 1UL << MIN_ORDER;

	if (!dirty || p >= end)
		return p;
	for (unsigned long w = p / BITS_PER_LONG; w < end / BITS_PER_LONG; w++) {
		unsigned long bits = dirty[w];

		if (w == p / BITS_PER_LONG)
			bits &= ~0UL << (p % BITS_PER_LONG);
		if (bits)
			return w * BITS_PER_LONG + (unsigned long)__builtin_ctzl(bits);
	}
	return end;
}

/* Keep @data (of @pfn) zero and in the host, if there is room to remember it. */
static bool keep_data(unsigned long pfn, uint8_t *data, const unsigned long *dirty)
{
	unsigned int i;

	for (i = 0; i < nr_kept_data && kept_data[i] != pfn; i++)
		;
	if (i == nr_kept_data) {
		if (nr_kept_data == KEPT_MAX)
			return false;
		kept_data[nr_kept_data++] = pfn;
	}
	/* The next owner reads what a fresh process reads: zero. Only the pages handed out can differ. */
	for (unsigned long p = next_dirty(dirty, 0); p < 1UL << MIN_ORDER;
	     p = next_dirty(dirty, p + 1))
		memset(data + (p << PAGE_SHIFT), 0, PAGE_SIZE);
	return true;
}

/* The runner ends: kept data that nobody uses goes back to the host. */
static void release_kept_data(void)
{
	for (unsigned int i = 0; i < nr_kept_data; i++)
		if (!pfn_valid(kept_data[i]))
			WARN_ON(madvise(data_anon_at(kept_data[i]), PAGE_SIZE << MIN_ORDER,
					MADV_DONTNEED));
	nr_kept_data = 0;
}

static void free_huge(unsigned long pfn, unsigned int order, bool resident, bool keep_data_too,
		      const unsigned long *dirty, unsigned long zeroed);

/* A huge page no longer counts as in use. */
static void uncount_huge(enum gs_backing b, bool data, unsigned int order, int nid)
{
	unsigned long nr = 1UL << order;

	stats.huge_pages[b]--;
	stats.data_bytes -= data ? PAGE_SIZE << order : 0;
	stats.pfns_in_use -= nr;
	gs_numa_charge(nid, -(long)nr);
	gs_metrics_vmemmap_add(-(long long)(nr * sizeof(struct page)));
	gs_uncharge(GS_SITE_PHYSMEM_HUGE, PAGE_SIZE << order);
}

int gs_physmem_park_huge(unsigned long pfn, unsigned int order)
{
	unsigned int i;

	if (!keep_vmemmap || !parking || order != MIN_ORDER || nr_parked == PARKED_MAX ||
	    !pfn_valid(pfn) || gs_pfn_backing(pfn) != GS_BACKING_NONE ||
	    !IS_ALIGNED(pfn, 1UL << order))
		return -EBUSY;
	for (i = nr_parked; i && parked[i - 1] > pfn; i--)
		parked[i] = parked[i - 1];
	parked[i] = pfn;
	nr_parked++;
	uncount_huge(GS_BACKING_NONE, false, order, gs_pfn_to_nid(pfn));
	return 0;
}

void gs_physmem_set_parked_release(gs_physmem_parked_fn fn)
{
	parked_release = fn;
}

bool gs_physmem_set_parking(bool on)
{
	bool old = parking;

	parking = on;
	return old;
}

/*
 * The chunk and struct pages as never used. At or above next_pfn the page
 * was never handed out in this layout; below it, it is a freed range, as
 * gs_physmem_free_huge() would have left it.
 */
static void forget_parked(unsigned long pfn)
{
	if (parked_release)
		parked_release(pfn, MIN_ORDER);
	clear_chunks(pfn, MIN_ORDER);
}

/* Struct pages [vm, vm + len) of released parked pages: zero, in the host or given back. */
static void parked_vmemmap_done(uint8_t *vm, size_t len)
{
	if (!len)
		return;
	if (keep_huge_vmemmap)
		memset(vm, 0, len);
	else
		WARN_ON(madvise(vm, len, MADV_DONTNEED));
	VALGRIND_MAKE_MEM_DEFINED(vm, len);
}

/*
 * Pages parked side by side (a pool's usually are) give their struct pages
 * back in one madvise(), the free lists filled after it (their heads hold
 * the links), in the order one page at a time filled them.
 */
unsigned int gs_physmem_release_parked(void)
{
	unsigned int n = nr_parked;
	uint8_t *lo = NULL;
	size_t len = 0;

	for (unsigned int i = n; i-- > 0;) {
		uint8_t *vm;
		size_t l;

		forget_parked(parked[i]);
		vmemmap_span(parked[i], 1UL << MIN_ORDER, &vm, &l);
		if (len && vm + l == lo) {
			lo = vm;
			len += l;
			continue;
		}
		parked_vmemmap_done(lo, len);
		lo = vm;
		len = l;
	}
	parked_vmemmap_done(lo, len);
	for (unsigned int i = n; i-- > 0;)
		if (parked[i] < next_pfn)
			put_pfns(parked[i], MIN_ORDER);
	nr_parked = 0;
	return n;
}

unsigned int gs_physmem_nr_parked(void)
{
	return nr_parked;
}

/* The struct pages of the pages handed out: the others were never written. */
static void zero_dirty_pages(unsigned long pfn, const unsigned long *dirty)
{
	for (unsigned long p = next_dirty(dirty, 0); p < 1UL << MIN_ORDER;
	     p = next_dirty(dirty, p + 1))
		memset(pfn_to_page(pfn + p), 0, sizeof(struct page));
}

/*
 * The @len bytes of struct pages at @vm (whole vmemmap pages) zeroed but for
 * the pages @zeroed says read zero already (bit i: the i-th page), in one
 * memset() per run of pages that are not.
 */
static void zero_vmemmap_except(uint8_t *vm, size_t len, unsigned long zeroed)
{
	size_t pages = len / PAGE_SIZE;

	for (size_t i = 0, j; i < pages; i = j + 1) {
		for (j = i; j < pages && !(j < BITS_PER_LONG && (zeroed >> j) & 1); j++)
			;
		if (j > i)
			memset(vm + i * PAGE_SIZE, 0, (j - i) * PAGE_SIZE);
	}
}

void gs_physmem_free_huge(unsigned long pfn, unsigned int order)
{
	free_huge(pfn, order, keep_huge_vmemmap && order == MIN_ORDER, false, NULL, 0);
}

void gs_physmem_free_huge_zeroed(unsigned long pfn, unsigned int order, unsigned long zeroed)
{
	free_huge(pfn, order, keep_huge_vmemmap && order == MIN_ORDER, false, NULL, zeroed);
}

void gs_physmem_free_huge_resident(unsigned long pfn, unsigned int order,
				   const unsigned long *dirty)
{
	bool keep = keep_vmemmap && order <= MIN_ORDER;

	free_huge(pfn, order, keep, keep, dirty, 0);
}

/*
 * @resident: the struct pages stay in the host, zeroed; @keep_data_too: the
 * data too, if it can; @zeroed: vmemmap pages that read zero already.
 */
static void free_huge(unsigned long pfn, unsigned int order, bool resident, bool keep_data_too,
		      const unsigned long *dirty, unsigned long zeroed)
{
	unsigned long nr = 1UL << order;
	enum gs_backing b = gs_pfn_backing(pfn);
	void *data = gs_pfn_to_virt(pfn);
	int nid = gs_pfn_to_nid(pfn);
	uint8_t *vm;
	size_t len;

	if (WARN_ON(!pfn_valid(pfn) || !IS_ALIGNED(pfn, nr)))
		return;
	if (data && !(keep_data_too && in_anon_region(data) && keep_data(pfn, data, dirty)))
		put_data(data, order);
	clear_chunks(pfn, order);
	/* Hand every struct page back to the host, or zero them where a runner reuses them. */
	vmemmap_span(pfn, nr, &vm, &len);
	if (resident && dirty && order == MIN_ORDER)
		zero_dirty_pages(pfn, dirty);
	else if (resident && zeroed)
		zero_vmemmap_except(vm, len, zeroed);
	else if (resident)
		memset(pfn_to_page(pfn), 0, nr * sizeof(struct page));
	else
		WARN_ON(madvise(vm, len, MADV_DONTNEED));
	VALGRIND_MAKE_MEM_DEFINED(vm, len); /* zero again, and usable by the next owner */
	put_pfns(pfn, order);
	uncount_huge(b, data != NULL, order, nid);
}

bool gs_physmem_keep_huge_vmemmap(bool keep)
{
	bool old = keep_huge_vmemmap;

	keep_huge_vmemmap = keep;
	return old;
}

size_t gs_vmemmap_resident(unsigned long pfn, unsigned long nr)
{
	unsigned char vec[1024];
	uint8_t *vm;
	size_t len, resident = 0;

	if (!gs_vmemmap || !nr)
		return 0;
	vmemmap_span(pfn, nr, &vm, &len);
	for (size_t off = 0; off < len; off += sizeof(vec) * PAGE_SIZE) {
		size_t part = min_t(size_t, len - off, sizeof(vec) * PAGE_SIZE);

		if (mincore(vm + off, part, vec))
			return 0;
		for (size_t i = 0; i < part / PAGE_SIZE; i++)
			resident += (vec[i] & 1) ? PAGE_SIZE : 0;
	}
	return resident;
}

void gs_physmem_stats(struct gs_physmem_stats *out)
{
	*out = stats;
}

bool gs_physmem_keep_vmemmap(bool keep)
{
	bool old = keep_vmemmap;

	keep_vmemmap = keep;
	if (!keep) {
		release_kept_data();
		gs_physmem_release_parked();
	}
	return old;
}

int gs_physmem_reset_layout(void)
{
	if (stats.pfns_in_use) {
		/* The pages parked below next_pfn would be lost to this layout's free lists. */
		gs_physmem_release_parked();
		return -EBUSY;
	}
	/* The free lists live in the ranges' first struct pages: zero them as never used. */
	for (unsigned int order = 0; order <= MAX_ORDER; order++) {
		while (free_ranges[order]) {
			struct page *head = pfn_to_page(free_ranges[order]);

			free_ranges[order] = head->private;
			memset(head, 0, sizeof(*head));
		}
	}
	next_pfn = GS_PFN_BASE;
	return 0;
}
