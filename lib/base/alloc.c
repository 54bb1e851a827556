// SPDX-License-Identifier: MIT
/*
 * The allocation path: the simulator's kmalloc/kmem_cache. Mirrors the part
 * of mm/slab_common.c a caller sees (sized objects, gfp flags, failure as
 * NULL) plus what a simulator adds: every allocation names a site, the fault
 * injector is asked first, and per-site counters prove teardown complete.
 * The backing allocator is chosen at build time (meson option `allocator`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include <gmemsim/spinlock.h>
#include <gmemsim/state.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/metrics_int.h>
#include <gmemsim/internal/site_table.h>
#include "config.h"

#include <valgrind/memcheck.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define poison(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n)   ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

#if GS_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/*
 * A site whose every allocation has the same size keeps freed objects for
 * reuse, as a kernel slab cache does: the next allocation takes one back
 * instead of asking the allocator, whose own caches hand memory back to the
 * host and fault it in again (measured: every round of a 1 GiB XArray split
 * did). A site that sees a second size stops caching.
 */
struct obj_cache {
	void *head;	  /* freed objects, linked through their first word */
	size_t size;	  /* the site's object size; 0: not known yet */
	unsigned int nr;  /* objects held */
	unsigned int max; /* at most GS_CACHE_BYTES worth; 0 once sizes differed: no caching */
};

#define GS_CACHE_BYTES (32UL << 20)

/*
 * What an allocation and a free touch, in one cache line: the counters
 * but @failed (kept apart, written only when an allocation fails) and the
 * cache. A site's name and description live in the site table (sites.c).
 */
struct gs_site_slot {
	uint64_t live;
	uint64_t live_bytes;
	uint64_t peak_bytes;
	uint64_t allocs;
	uint64_t frees;
	struct obj_cache cache;
};

_Static_assert(sizeof(struct gs_site_slot) == 64, "a site's slot is one cache line");

/* Indexed by site id. */
static struct gs_site_slot sites[GS_MAX_SITES] __attribute__((aligned(64)));
static uint64_t site_failed[GS_MAX_SITES];

/*
 * Memcheck's client requests (a marked object in a site's cache) are ~15
 * instructions each when no valgrind runs them, three an allocation and a
 * free: they are made only under valgrind. Decided before main(); a cache
 * filled before that (no request made) is only ever marked less, never
 * left marked where it should not be.
 */
static bool on_valgrind;

__attribute__((constructor)) static void alloc_detect_valgrind(void)
{
	on_valgrind = RUNNING_ON_VALGRIND != 0;
}

#define vg_request(req)                    \
	do {                               \
		if (unlikely(on_valgrind)) \
			req;               \
	} while (0)

/*
 * With -Dallocator=jemalloc the library links libjemalloc, whose malloc and
 * free replace the C library's for the whole process; its plain entry points
 * are its fastest (about half the instructions of mallocx/sdallocx, measured
 * with callgrind, see docs/PERFORMANCE.md), so both builds call malloc/free.
 */
static inline void *backing_alloc(size_t size, gfp_t gfp)
{
	/*
	 * Zeroing is chosen here rather than by a memset() after malloc():
	 * GCC 12 folds "malloc, then maybe memset" into an unconditional
	 * calloc(), which zeroes every allocation.
	 */
	return (gfp & __GFP_ZERO) ? calloc(1, size) : malloc(size);
}

const char *gs_allocator_name(void)
{
#if GS_USE_JEMALLOC
	static char name[64];
	const char *version = NULL;
	size_t len = sizeof(version);

	/* Asking jemalloc itself proves it is the allocator this process runs on. */
	if (!name[0] && !mallctl("version", &version, &len, NULL, 0) && version)
		snprintf(name, sizeof(name), "jemalloc %s", version);
	return name[0] ? name : "jemalloc";
#else
	return "system";
#endif
}

static inline struct gs_site_slot *site_slot(unsigned int site)
{
	if (WARN_ON_ONCE(site >= gs_nr_sites))
		site = GS_SITE_KMALLOC;
	return &sites[site];
}

static inline void account_alloc(struct gs_site_slot *s, size_t size)
{
	s->live++;
	s->allocs++;
	s->live_bytes += size;
	if (s->live_bytes > s->peak_bytes)
		s->peak_bytes = s->live_bytes;
}

/* The fault injector's verdict plus the might_sleep() rule: false means fail the caller. */
static inline bool may_allocate(unsigned int site, size_t size, gfp_t gfp)
{
	if (gfpflags_allow_blocking(gfp))
		might_sleep();
	gs_metrics_alloc();
	if (unlikely(gs_inject_active()) && gs_inject_should_fail(site, size, gfp)) {
		site_failed[site]++;
		return false;
	}
	return true;
}

static void gs_alloc_drain_cache(struct obj_cache *c);

/* An object from the site's cache, or NULL. */
static inline void *cache_get(struct obj_cache *c, size_t size, gfp_t gfp)
{
	void *p = c->head;

	if (!p || size != c->size)
		return NULL;
	/* Cached objects are off limits (memcheck, ASan) until handed out again. */
	vg_request(VALGRIND_MAKE_MEM_DEFINED(p, sizeof(void *)));
	unpoison(p, size);
	c->head = *(void **)p;
	c->nr--;
	/* Fresh from the cache, its contents are garbage, as malloc()'s would be. */
	vg_request(VALGRIND_MAKE_MEM_UNDEFINED(p, size));
	if (gfp & __GFP_ZERO)
		memset(p, 0, size);
	return p;
}

/* Keep @p for reuse; false if the cache does not take it. */
static inline bool cache_put(struct obj_cache *c, void *p, size_t size)
{
	if (size < sizeof(void *))
		return false;
	if (unlikely(c->size != size)) {
		if (c->size) {
			/* A second size: this site is not a cache; let everything go. */
			gs_alloc_drain_cache(c);
			c->max = 0;
			return false;
		}
		c->size = size;
		c->max = (unsigned int)(GS_CACHE_BYTES / size);
	}
	if (c->nr >= c->max)
		return false;
	*(void **)p = c->head;
	c->head = p;
	c->nr++;
	/*
	 * All but the link word is off limits while cached; leak checkers
	 * (LeakSanitizer, memcheck) must still follow the link to see the
	 * objects as reachable.
	 */
	vg_request(VALGRIND_MAKE_MEM_NOACCESS((char *)p + sizeof(void *), size - sizeof(void *)));
	poison((char *)p + sizeof(void *), size - sizeof(void *));
	return true;
}

void *gs_alloc(unsigned int site, size_t size, gfp_t gfp)
{
	struct gs_site_slot *s = site_slot(site);
	void *p;

	if (size == 0)
		size = 1;
	if (!may_allocate((unsigned int)(s - sites), size, gfp))
		return NULL;
	p = cache_get(&s->cache, size, gfp);
	if (!p)
		p = backing_alloc(size, gfp);
	if (unlikely(!p)) {
		/* The host is out of memory; __GFP_NOFAIL cannot be honoured here. */
		site_failed[s - sites]++;
		return NULL;
	}
	account_alloc(s, size);
	return p;
}

/* Remove @size bytes from the counters; returns the size actually removed. */
static size_t account_free(struct gs_site_slot *s, size_t size)
{
	/*
	 * A free the counters cannot account for is a caller bug (wrong site or
	 * size). Report it, then clamp so the counters stay usable.
	 */
	if (WARN_ONCE(!s->live || s->live_bytes < size,
		      "gs_free: site %s frees %zu bytes but holds %llu objects, %llu bytes",
		      gs_site_name((unsigned int)(s - sites)), size, (unsigned long long)s->live,
		      (unsigned long long)s->live_bytes))
		size = s->live_bytes;
	if (s->live)
		s->live--;
	s->frees++;
	s->live_bytes -= size;
	return size;
}

void gs_free(unsigned int site, const void *ptr, size_t size)
{
	struct gs_site_slot *s;

	if (!ptr)
		return;
	s = site_slot(site);
	size = account_free(s, size ? size : 1);
	if (!cache_put(&s->cache, (void *)ptr, size))
		free((void *)ptr);
}

static void gs_alloc_drain_cache(struct obj_cache *c)
{
	while (c->head) {
		void *p = c->head;

		vg_request(VALGRIND_MAKE_MEM_DEFINED(p, sizeof(void *)));
		unpoison(p, c->size);
		c->head = *(void **)p;
		free(p);
	}
	c->nr = 0;
}

void gs_alloc_drain_caches(void)
{
	for (unsigned int i = 0; i < gs_nr_sites; i++)
		gs_alloc_drain_cache(&sites[i].cache);
}

bool gs_charge(unsigned int site, size_t size, gfp_t gfp)
{
	struct gs_site_slot *s = site_slot(site);

	if (!may_allocate((unsigned int)(s - sites), size, gfp))
		return false;
	account_alloc(s, size);
	return true;
}

void gs_uncharge(unsigned int site, size_t size)
{
	account_free(site_slot(site), size);
}

int gs_site_stats(unsigned int site, struct gs_site_stats *out)
{
	if (site >= gs_nr_sites || !out)
		return -EINVAL;
	*out = (struct gs_site_stats){.live = sites[site].live,
				      .live_bytes = sites[site].live_bytes,
				      .peak_bytes = sites[site].peak_bytes,
				      .allocs = sites[site].allocs,
				      .frees = sites[site].frees,
				      .failed = site_failed[site]};
	out->name = gs_site_name(site);
	out->desc = gs_site_desc(site);
	return 0;
}

unsigned int gs_site_next_bad_bytes(unsigned int from)
{
	for (unsigned int i = from; i < gs_nr_sites; i++)
		if (sites[i].live_bytes < sites[i].live ||
		    sites[i].peak_bytes < sites[i].live_bytes)
			return i;
	return gs_nr_sites;
}

unsigned int gs_site_live_all(uint64_t *live)
{
	for (unsigned int i = 0; i < gs_nr_sites; i++)
		live[i] = sites[i].live;
	return gs_nr_sites;
}

uint64_t gs_alloc_live_total(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < gs_nr_sites; i++)
		n += sites[i].live;
	return n;
}

unsigned int gs_alloc_report_leaks(FILE *f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < gs_nr_sites; i++) {
		const struct gs_site_slot *st = &sites[i];

		if (!st->live)
			continue;
		n++;
		if (f)
			fprintf(f, "leak: site %s holds %llu objects, %llu bytes\n",
				gs_site_name(i), (unsigned long long)st->live,
				(unsigned long long)st->live_bytes);
	}
	return n;
}

void gs_alloc_reset_stats(void)
{
	for (unsigned int i = 0; i < gs_nr_sites; i++) {
		struct gs_site_slot *st = &sites[i];

		st->allocs = st->frees = site_failed[i] = 0;
		st->peak_bytes = st->live_bytes;
	}
}

/*
 * Live objects and bytes of every site holding something (a site going from
 * 0 to 1 object still shows as an added record); objects in the sites'
 * reuse caches are not live.
 */
static void sites_dump(struct gs_state *st, const char *path)
{
	for (unsigned int i = 0; i < gs_nr_sites; i++) {
		const struct gs_site_slot *s = &sites[i];
		char p[128];

		if (!s->live && !s->live_bytes)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, gs_site_name(i));
		gs_state_add_u64(st, p, "live", s->live);
		gs_state_add_u64(st, p, "bytes", s->live_bytes);
	}
}

static struct gs_state_dumper sites_dumper = {.name = "sites", .dump = sites_dump};
GS_STATE_DUMPER(sites_dumper)
