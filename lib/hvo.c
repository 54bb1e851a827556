// SPDX-License-Identifier: MIT
/*
 * HugeTLB Vmemmap Optimization over the simulated vmemmap (see
 * <gmemsim/hvo.h>). Mirrors mm/hugetlb_vmemmap.c: optimize frees all but
 * the first vmemmap page of a huge folio; restore allocates them again, all
 * or nothing. Freed vmemmap is given back to the host (MADV_DONTNEED), so it
 * reads as the zero page, and a write to it is caught by the hvo checker
 * (and by ASan or memcheck, which have it poisoned). In the resident host
 * mode (gs_hvo_set_resident(), for fuzzers) a 2 MiB folio's freed vmemmap
 * stays in the host instead, filled with a pattern that is verified when
 * it is taken again and by the checker.
 *
 * Bookkeeping: one bit per vmemmap page says "allocated by a restore"
 * (charged to site hvo.restore until HVO frees it again or the huge page
 * goes back to the host), and a per-huge-page count holds preallocations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/memcheck.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/folio.h>
#include <gmemsim/hvo.h>
#include <gmemsim/state.h>
#include <gmemsim/trace.h>
#include <gmemsim/internal/metrics_int.h>

#if defined(__SANITIZE_ADDRESS__)
#define GS_HVO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GS_HVO_ASAN 1
#endif
#endif
#ifdef GS_HVO_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(addr, size)	((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

#define PFNS_PER_VMEMMAP_PAGE (PAGE_SIZE / sizeof(struct page)) /* 64 */
#define CHUNK_SHIFT	      9
#define PM_EXCLUSIVE	      (1ULL << 56) /* /proc/self/pagemap: page mapped exclusively */

static bool hvo_on = true;
static unsigned long *restored_bits; /* bit v: vmemmap page v was allocated by a restore */
static unsigned long *freed_bits;    /* bit v: vmemmap page v is given back by HVO */
static unsigned long freed_hi;	     /* no bit at or above it was ever set */
static unsigned long *resident_bits; /* bit v: freed page v is kept in the host, patterned */
static bool resident_mode;	     /* gs_hvo_set_resident() */

/*
 * A preallocation: host pages already populated, waiting in a staging
 * mapping of their own, that a restore moves into the vmemmap in one
 * mremap() instead of faulting them in.
 */
struct hvo_reserve {
	void *staging;
	unsigned long pages;
};

static struct hvo_reserve *reserved; /* per 2 MiB of pfns (the huge page's first chunk) */
static struct gs_hvo_stats stats;

bool gs_hvo_set_enabled(bool on)
{
	bool old = hvo_on;

	hvo_on = on;
	return old;
}

bool gs_hvo_enabled(void)
{
	return hvo_on;
}

static int hvo_init(void)
{
	size_t bits_len, res_len;
	void *b, *f, *r, *k;

	if (restored_bits)
		return 0;
	if (gs_physmem_init())
		return -ENOMEM;
	bits_len = ALIGN(gs_vmemmap_pfns / PFNS_PER_VMEMMAP_PAGE / 8, PAGE_SIZE);
	res_len = ALIGN((gs_vmemmap_pfns >> CHUNK_SHIFT) * sizeof(*reserved), PAGE_SIZE);
	b = mmap(NULL, bits_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	f = mmap(NULL, bits_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	r = mmap(NULL, res_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	k = mmap(NULL, bits_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b == MAP_FAILED || f == MAP_FAILED || r == MAP_FAILED || k == MAP_FAILED) {
		/* All or nothing: what was mapped goes back (munmap of a fresh mapping cannot fail). */
		if (b != MAP_FAILED)
			WARN_ON(munmap(b, bits_len));
		if (f != MAP_FAILED)
			WARN_ON(munmap(f, bits_len));
		if (r != MAP_FAILED)
			WARN_ON(munmap(r, res_len));
		if (k != MAP_FAILED)
			WARN_ON(munmap(k, bits_len));
		return -ENOMEM;
	}
	restored_bits = b;
	freed_bits = f;
	reserved = r;
	resident_bits = k;
	return 0;
}

/* Vmemmap page index of page @k of the struct pages starting at @pfn. */
static inline unsigned long vpage(unsigned long pfn, unsigned long k)
{
	return pfn / PFNS_PER_VMEMMAP_PAGE + k;
}

static inline void *vpage_addr(unsigned long v)
{
	return (char *)gs_vmemmap + v * PAGE_SIZE;
}

/* Count and clear the restored bits of vmemmap pages [v, v + n). */
static unsigned long take_restored(unsigned long v, unsigned long n)
{
	unsigned long count = 0;

	for (unsigned long i = v; i < v + n; i++) {
		unsigned long *w = &restored_bits[i / BITS_PER_LONG],
			      bit = 1UL << (i % BITS_PER_LONG);

		if (*w & bit) {
			count++;
			*w &= ~bit;
		}
	}
	return count;
}

static void mark_restored(unsigned long v, unsigned long n)
{
	for (unsigned long i = v; i < v + n; i++)
		restored_bits[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
}

static bool test_restored(unsigned long v)
{
	return restored_bits[v / BITS_PER_LONG] & (1UL << (v % BITS_PER_LONG));
}

static void set_freed(unsigned long v, unsigned long n, bool freed)
{
	if (freed && v + n > freed_hi)
		freed_hi = v + n;
	for (unsigned long i = v; i < v + n; i++) {
		if (freed)
			freed_bits[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
		else
			freed_bits[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
	}
}

static void uncharge_pages(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		gs_uncharge(GS_SITE_HVO_RESTORE, PAGE_SIZE);
}

/* One allocation per page, as alloc_vmemmap_page_list(): any failure undoes all. */
static int charge_pages_gfp(unsigned long n, gfp_t gfp)
{
	for (unsigned long i = 0; i < n; i++) {
		if (!gs_charge(GS_SITE_HVO_RESTORE, PAGE_SIZE, gfp)) {
			uncharge_pages(i);
			stats.restore_failures++;
			return -ENOMEM;
		}
	}
	return 0;
}

static int charge_pages(unsigned long n)
{
	return charge_pages_gfp(n, GFP_KERNEL | __GFP_RETRY_MAYFAIL);
}

/* @n vmemmap pages came back from the host (restore, prepare_split). */
static void count_allocated(unsigned long n)
{
	stats.freed_pages -= n;
	stats.restored_pages += n;
	stats.pages_allocated += n;
	gs_metrics_vmemmap_add((long long)(n * PAGE_SIZE));
}

/* @n vmemmap pages went back to the host, @restored of them allocated by a restore. */
static void count_freed(unsigned long n, unsigned long restored)
{
	uncharge_pages(restored);
	stats.restored_pages -= restored;
	stats.freed_pages += n;
	stats.pages_freed += n;
	gs_metrics_vmemmap_add(-(long long)(n * PAGE_SIZE));
}

/*
 * The resident host mode (gs_hvo_set_resident()): a 2 MiB folio's freed
 * vmemmap pages stay in the host, each word of each struct page set to
 * HVO_PATTERN but compound_info, which stays zero (page_folio() reads a
 * freed tail's compound_info and must find zero, as in the other mode). A
 * write leaves a word that is not the pattern's: the checker reports it,
 * and so does the restore or release that takes the page again (a WARN).
 * The host calls it saves: a madvise() per optimize, one per restore and
 * the faults behind it, the pagemap read per check.
 */
#define HVO_PATTERN	0x48564f4652454544UL /* "DEERFOVH" */
#define WORDS_PER_VPAGE (PAGE_SIZE / sizeof(unsigned long))
#define WORDS_PER_PAGE	(sizeof(struct page) / sizeof(unsigned long))
#define INFO_WORD	(offsetof(struct page, compound_info) / sizeof(unsigned long))
#define NO_ASAN		__attribute__((no_sanitize("address")))

static unsigned long pattern_page[WORDS_PER_VPAGE] __attribute__((aligned(64)));
static unsigned long nr_resident; /* bits set in resident_bits */

static bool test_bit_of(const unsigned long *bits, unsigned long v)
{
	return bits[v / BITS_PER_LONG] & (1UL << (v % BITS_PER_LONG));
}

static void pattern_init(void)
{
	for (unsigned long i = 0; i < WORDS_PER_VPAGE; i++)
		pattern_page[i] = i % WORDS_PER_PAGE == INFO_WORD ? 0 : HVO_PATTERN;
}

/*
 * Whether vmemmap page @v still holds the pattern. Reads freed (poisoned)
 * memory on purpose. The pattern repeats with every struct page, so each
 * vector of the page is compared with a register, not with a second load
 * from pattern_page; four independent accumulators, as the checker reads
 * kept pages at every check and one chain of ORs would wait on itself.
 * Where the host has AVX2 the vectors are 32 bytes (measured: a 4 KiB
 * page in 17 ns instead of 63 in the cache, 34 instead of 64 out of it).
 * With @zero the page is zeroed in the same pass (a restore's claim).
 */
#define HVO_SCAN_FN(name, vec, zero, attr)                                             \
	static NO_ASAN attr bool name(void *page)                                      \
	{                                                                              \
		enum { PER_PAGE = sizeof(struct page) / sizeof(vec) };                 \
		vec *w = page, q[PER_PAGE], d[4] = {0}, z = {0}, all;                  \
		unsigned long diff = 0;                                                \
                                                                                       \
		memcpy(q, pattern_page, sizeof(q));                                    \
		for (unsigned long i = 0; i < PAGE_SIZE / sizeof(vec); i += 8) {       \
			for (unsigned int k = 0; k < 8; k++) {                         \
				d[k % 4] |= w[i + k] ^ q[k % PER_PAGE];                \
				if (zero)                                              \
					w[i + k] = z;                                  \
			}                                                              \
		}                                                                      \
		all = d[0] | d[1] | d[2] | d[3];                                       \
		for (unsigned int k = 0; k < sizeof(vec) / sizeof(unsigned long); k++) \
			diff |= all[k];                                                \
		return !diff;                                                          \
	}

/*
 * Fill a page with the pattern from registers: a copy from pattern_page
 * (rep movsq) reads 4 KiB to write 4 KiB, and a merge fills seven pages.
 */
#define HVO_FILL_FN(name, vec, attr)                                           \
	static NO_ASAN attr void name(void *page)                              \
	{                                                                      \
		enum { PER_PAGE = sizeof(struct page) / sizeof(vec) };         \
		vec *w = page, q[PER_PAGE];                                    \
                                                                               \
		memcpy(q, pattern_page, sizeof(q));                            \
		for (unsigned long i = 0; i < PAGE_SIZE / sizeof(vec); i += 8) \
			for (unsigned int k = 0; k < 8; k++)                   \
				w[i + k] = q[k % PER_PAGE];                    \
	}

typedef unsigned long hvo_vec16 __attribute__((vector_size(16)));

HVO_SCAN_FN(scan_page16, hvo_vec16, false, )
HVO_SCAN_FN(scan_page16_zero, hvo_vec16, true, )
HVO_FILL_FN(fill_page16, hvo_vec16, )

static bool (*scan_page)(void *page) = scan_page16;
static bool (*scan_page_zero)(void *page) = scan_page16_zero;
static void (*fill_page)(void *page) = fill_page16;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
typedef unsigned long hvo_vec32 __attribute__((vector_size(32)));

HVO_SCAN_FN(scan_page32, hvo_vec32, false, __attribute__((target("avx2"))))
HVO_SCAN_FN(scan_page32_zero, hvo_vec32, true, __attribute__((target("avx2"))))
HVO_FILL_FN(fill_page32, hvo_vec32, __attribute__((target("avx2"))))

static void scan_select(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		scan_page = scan_page32;
		scan_page_zero = scan_page32_zero;
		fill_page = fill_page32;
	}
}
#else
static void scan_select(void)
{
}
#endif

static bool scan_generic; /* gs_hvo_test_scan_generic() */

bool gs_hvo_test_scan_generic(bool on)
{
	bool old = scan_generic;

	scan_generic = on;
	scan_page = scan_page16;
	scan_page_zero = scan_page16_zero;
	fill_page = fill_page16;
	if (!on)
		scan_select();
	return old;
}

static bool pattern_intact(unsigned long v)
{
	bool intact;

	VALGRIND_DISABLE_ERROR_REPORTING;
	intact = scan_page(vpage_addr(v));
	VALGRIND_ENABLE_ERROR_REPORTING;
	return intact;
}

/* Free vmemmap pages [v, v + n) and keep them in the host, patterned. */
static void keep_resident(unsigned long v, unsigned long n)
{
	for (unsigned long i = v; i < v + n; i++) {
		fill_page(vpage_addr(i));
		resident_bits[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
	}
	nr_resident += n;
	set_freed(v, n, true);
	VALGRIND_MAKE_MEM_NOACCESS(vpage_addr(v), n * PAGE_SIZE);
	ASAN_POISON_MEMORY_REGION(vpage_addr(v), n * PAGE_SIZE);
}

/*
 * Pages of [v, v + n) kept in the host while freed are taken again:
 * verified (a write to one while it was freed is a WARN), then, if @zero,
 * zero, as a page the host gives back reads (not when the struct pages go
 * back to physical memory right after, which zeroes or drops them all).
 * Returns a bit per page of the range it zeroed (bit i: page v + i, for
 * i < BITS_PER_LONG), which then need not be zeroed again.
 */
static unsigned long claim_resident_zero(unsigned long v, unsigned long n, bool zero)
{
	unsigned long zeroed = 0;

	if (!nr_resident)
		return 0;
	for (unsigned long i = v; i < v + n; i++) {
		if (!test_bit_of(resident_bits, i))
			continue;
		resident_bits[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
		nr_resident--;
		ASAN_UNPOISON_MEMORY_REGION(vpage_addr(i), PAGE_SIZE);
		/* Verified and zeroed in one pass: defined for memcheck first, the scan reads it. */
		if (zero)
			VALGRIND_MAKE_MEM_DEFINED(vpage_addr(i), PAGE_SIZE);
		WARN(!(zero ? scan_page_zero(vpage_addr(i)) : pattern_intact(i)),
		     "vmemmap page of pfn 0x%lx was written while HVO had freed it "
		     "(a write to an optimized tail)",
		     i * PFNS_PER_VMEMMAP_PAGE);
		if (!zero)
			VALGRIND_MAKE_MEM_UNDEFINED(vpage_addr(i), PAGE_SIZE);
		else if (i - v < BITS_PER_LONG)
			zeroed |= 1UL << (i - v);
	}
	return zeroed;
}

static void claim_resident(unsigned long v, unsigned long n)
{
	claim_resident_zero(v, n, true);
}

/* Whether every page of [v, v + n) is kept in the host while freed. */
static bool all_resident(unsigned long v, unsigned long n)
{
	if (nr_resident < n)
		return false;
	for (unsigned long i = v; i < v + n; i++)
		if (!test_bit_of(resident_bits, i))
			return false;
	return true;
}

bool gs_hvo_set_resident(bool on)
{
	bool old = resident_mode;

	resident_mode = on;
	/* The struct pages around the freed ones stay too: else the next page faults them in. */
	gs_physmem_keep_huge_vmemmap(on);
	return old;
}

bool gs_hvo_resident(void)
{
	return resident_mode;
}

/*
 * Give vmemmap pages back to the host: what is left reads as zero (the
 * host's zero page). The kernel maps freed vmemmap read-only so that a
 * write traps; doing that here (mprotect) would cost two host mappings per
 * folio, and the host allows 65,530, so a write is caught instead by a
 * software check (a freed page the host holds exclusively was written, see
 * hvo_check()), by memcheck (NOACCESS) and by ASan (poisoned): under the
 * two, any direct read or write is reported, so only page_folio() looks.
 */
static void drop_vmemmap(unsigned long v, unsigned long n)
{
	/* Only locked or huge-TLB mappings refuse: the vmemmap is neither. */
	WARN_ON(madvise(vpage_addr(v), n * PAGE_SIZE, MADV_DONTNEED));
	set_freed(v, n, true);
	VALGRIND_MAKE_MEM_NOACCESS(vpage_addr(v), n * PAGE_SIZE);
	ASAN_POISON_MEMORY_REGION(vpage_addr(v), n * PAGE_SIZE);
}

/* Back to what drop_vmemmap() found: usable (zero) struct pages. */
static void undrop_vmemmap(unsigned long v, unsigned long n)
{
	claim_resident(v, n);
	set_freed(v, n, false);
	ASAN_UNPOISON_MEMORY_REGION(vpage_addr(v), n * PAGE_SIZE);
	VALGRIND_MAKE_MEM_DEFINED(vpage_addr(v), n * PAGE_SIZE); /* fresh pages: zero */
}

/*
 * Take vmemmap pages from the host again. They read as zero, so a restore
 * writes only the tail markers. They are allocated now, in one call, as the
 * kernel's restore allocates its page list up front (faulting 4095 pages
 * one write at a time costs several times more); a host without
 * MADV_POPULATE_WRITE (EINVAL) faults them in on first write instead. The
 * host being out of memory is -ENOMEM, with the pages given back.
 *
 * With @overwritten the caller writes every struct page of them in full
 * next (a split): pages kept in the host are verified but not zeroed, as
 * a spare's old contents are not (the split's stores replace every byte).
 */
static int back_vmemmap(unsigned long v, unsigned long n, bool overwritten)
{
	bool resident = all_resident(v, n);

	if (resident && overwritten)
		claim_resident_zero(v, n, false);
	undrop_vmemmap(v, n);
	if (resident)
		return 0; /* kept in the host: zeroed now, or left to the caller's stores */
	if (madvise(vpage_addr(v), n * PAGE_SIZE, MADV_POPULATE_WRITE) && errno != EINVAL) {
		drop_vmemmap(v, n);
		return -ENOMEM;
	}
	return 0;
}

/* Tails of freshly backed (zero) vmemmap pages: only the tail word is not zero. */
static void write_tail_markers(struct folio *folio, unsigned long from, unsigned long to)
{
	struct page *page = folio_page(folio, from);
	unsigned long info = folio_page(folio, 1)->compound_info;

	for (unsigned long i = from; i < to; i++, page++)
		page->compound_info = info;
}

/*
 * Spare vmemmap pages: what HVO gave back after a restore had taken it,
 * kept populated for the next restore before a split, as the kernel's
 * freed vmemmap pages sit in the buddy allocator, ready to be allocated
 * again without being zeroed. Taking 16 MiB of fresh memory from the host
 * costs several times writing it (the host zeroes and maps each page), so
 * without them the first split of a 1 GiB page would cost that every time.
 * Each spare is a mapping of its own, moved out of the vmemmap and back
 * with mremap(); at most HVO_SPARE_PAGES pages in all (one restore of a
 * 1 GiB page: 16 MiB, the machine's largest huge page size bounds it,
 * never its memory size).
 *
 * gs_hvo_fill_spares() also fills them from the host ahead of time, where
 * a split becomes possible (a HugeTLB guest_memfd file is made), so that
 * even the first split of a page whose vmemmap was never resident finds
 * its pages populated, as the kernel finds them in the buddy allocator.
 */
#define HVO_SPARES	8
#define HVO_SPARE_PAGES 4096
/*
 * Smaller restores take their pages from the host directly: moving a spare
 * out of the vmemmap and back costs five host calls (two mremap(), two
 * mmap(), a madvise()) and leaves a host mapping of its own in the
 * vmemmap each time, more than faulting in a 2 MiB page's seven pages
 * (measured: docs/PERFORMANCE.md, sixth round).
 */
#define HVO_SPARE_MIN_PAGES 512

struct hvo_spare {
	void *addr;
	unsigned long pages;
};

static struct hvo_spare spares[HVO_SPARES];
static unsigned long spare_pages;

/* Put an empty, never-huge vmemmap mapping where pages were moved away. */
static bool refill_vmemmap(void *addr, size_t len)
{
	if (mmap(addr, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != addr)
		return false;
	if (madvise(addr, len, MADV_NOHUGEPAGE) && errno != EINVAL)
		WARN(1, "vmemmap: MADV_NOHUGEPAGE failed (errno %d)", errno);
	return true;
}

/* A free spare slot for @n more pages, or NULL when the bound is reached. */
static struct hvo_spare *spare_slot(unsigned long n)
{
	if (n < HVO_SPARE_MIN_PAGES || spare_pages + n > HVO_SPARE_PAGES)
		return NULL;
	for (int i = 0; i < HVO_SPARES; i++)
		if (!spares[i].addr)
			return &spares[i];
	return NULL;
}

static bool have_spare(unsigned long n)
{
	for (int i = 0; i < HVO_SPARES; i++)
		if (spares[i].addr && spares[i].pages == n)
			return true;
	return false;
}

/* Move vmemmap pages [v, v + n) into a spare instead of giving them to the host. */
static bool stash_spare(unsigned long v, unsigned long n)
{
	size_t len = n * PAGE_SIZE;
	struct hvo_spare *sp = spare_slot(n);
	void *chunk;

	if (!sp)
		return false;
	/* An address of its own to move them to (mremap() of an unchanged size never moves). */
	chunk = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (chunk == MAP_FAILED)
		return false;
	if (mremap(vpage_addr(v), len, len, MREMAP_MAYMOVE | MREMAP_FIXED, chunk) != chunk) {
		WARN_ON(munmap(chunk, len));
		return false;
	}
	if (!refill_vmemmap(vpage_addr(v), len)) {
		/* Put them back: the vmemmap must stay mapped. */
		WARN_ON(mremap(chunk, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, vpage_addr(v)) !=
			vpage_addr(v));
		return false;
	}
	*sp = (struct hvo_spare){.addr = chunk, .pages = n};
	spare_pages += n;
	return true;
}

/* Move a spare of exactly @n pages to vmemmap pages [v, v + n); false if there is none. */
static bool take_spare(unsigned long v, unsigned long n)
{
	size_t len = n * PAGE_SIZE;

	for (int i = 0; i < HVO_SPARES; i++) {
		struct hvo_spare *sp = &spares[i];

		if (!sp->addr || sp->pages != n)
			continue;
		claim_resident(v, n); /* what the move replaces is verified first */
		if (mremap(sp->addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, vpage_addr(v)) !=
		    vpage_addr(v)) {
			WARN(1, "mremap of a spare vmemmap chunk failed (errno %d)", errno);
			return false;
		}
		*sp = (struct hvo_spare){0};
		spare_pages -= n;
		return true;
	}
	return false;
}

int gs_hvo_fill_spares(unsigned int order)
{
	unsigned long n = hugetlb_vmemmap_optimizable_pages(order);
	size_t len = n * PAGE_SIZE;
	struct hvo_spare *sp;
	void *chunk;

	if (!hvo_on || n < HVO_SPARE_MIN_PAGES || have_spare(n))
		return 0;
	sp = spare_slot(n);
	if (!sp)
		return -ENOSPC;
	chunk = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (chunk == MAP_FAILED)
		return -ENOMEM;
	/*
	 * Populated now, in one call: that is the point of a spare. Without
	 * MADV_POPULATE_WRITE (EINVAL, before Linux 5.14) each page is touched.
	 */
	if (madvise(chunk, len, MADV_POPULATE_WRITE)) {
		if (errno != EINVAL) {
			WARN_ON(munmap(chunk, len));
			return -ENOMEM;
		}
		for (unsigned long i = 0; i < n; i++)
			((volatile char *)chunk)[i * PAGE_SIZE] = 0;
	}
	*sp = (struct hvo_spare){.addr = chunk, .pages = n};
	spare_pages += n;
	return 0;
}

void gs_hvo_drain_spares(void)
{
	for (int i = 0; i < HVO_SPARES; i++) {
		if (!spares[i].addr)
			continue;
		/* Our own mapping of a size we made: munmap() cannot fail. */
		WARN_ON(munmap(spares[i].addr, spares[i].pages * PAGE_SIZE));
		spares[i] = (struct hvo_spare){0};
	}
	spare_pages = 0;
}

unsigned long gs_hvo_spare_pages(void)
{
	return spare_pages;
}

/*
 * Give back the tail vmemmap pages of an optimized folio: to a spare when
 * a restore had allocated all of them (they were the host's in use
 * anyway), else to the host.
 */
static void free_tail_vmemmap(unsigned long v, unsigned long n, unsigned long restored)
{
	if (resident_mode && n < HVO_SPARE_MIN_PAGES) {
		keep_resident(v, n);
		return;
	}
	if (restored == n && stash_spare(v, n)) {
		set_freed(v, n, true);
		VALGRIND_MAKE_MEM_NOACCESS(vpage_addr(v), n * PAGE_SIZE);
		ASAN_POISON_MEMORY_REGION(vpage_addr(v), n * PAGE_SIZE);
		return;
	}
	drop_vmemmap(v, n);
}

int hugetlb_vmemmap_optimize_folio(struct folio *folio)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), n = hugetlb_vmemmap_optimizable_pages(order);
	unsigned long restored;

	if (!hvo_on || folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	if (!n || WARN_ON_ONCE(folio_ref_count(folio)))
		return -EINVAL;
	if (hvo_init())
		return -ENOMEM;
	/* The fresh head page the first vmemmap page is copied into; the old one is freed. */
	if (!gs_charge(GS_SITE_HVO_OPTIMIZE, PAGE_SIZE, GFP_KERNEL))
		return -ENOMEM;
	gs_uncharge(GS_SITE_HVO_OPTIMIZE, PAGE_SIZE);
	/* Flag first, as the kernel does, so the folio never looks whole while it is not. */
	folio_set_hugetlb_vmemmap_optimized(folio);
	restored = take_restored(vpage(pfn, 1), n);
	free_tail_vmemmap(vpage(pfn, 1), n, restored);
	count_freed(n, restored);
	stats.optimizations++;
	gs_trace("hvo.optimize", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("pages_freed", n));
	return 0;
}

/*
 * Move the huge page's preallocated pages into vmemmap pages [v, v + n):
 * false (nothing done) if it holds no preallocation of that size.
 */
static bool use_reservation(unsigned long pfn, unsigned long v, unsigned long n)
{
	struct hvo_reserve *r = &reserved[pfn >> CHUNK_SHIFT];
	void *dst = vpage_addr(v);

	if (!r->staging || r->pages != n)
		return false;
	claim_resident(v, n); /* what the move replaces is verified first */
	if (mremap(r->staging, n * PAGE_SIZE, n * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, dst) !=
	    dst) {
		WARN(1, "mremap of a vmemmap preallocation failed");
		return false;
	}
	undrop_vmemmap(v, n);
	*r = (struct hvo_reserve){0};
	stats.reserved_pages -= n;
	return true;
}

/* What the caller does with the struct pages right after a restore. */
enum restore_use {
	RESTORE_READ,  /* they are read: every tail gets its marker */
	RESTORE_SPLIT, /* the split writes every one of them: populated, not written */
	RESTORE_FREE,  /* the page goes back to the host: neither populated nor written */
};

/*
 * The restore; with RESTORE_FREE the huge page goes back to the host next,
 * so its pages are allocated and charged (and can fail) as always, but not
 * taken from the host nor written: the host would drop them at once. With
 * @zeroed (RESTORE_FREE only) the tails kept in the host are zeroed as they
 * are verified, and *@zeroed says which (gs_hvo_restore_for_free_zeroed()).
 */
static int restore_gfp(struct folio *folio, enum restore_use use, gfp_t gfp, unsigned long *zeroed)
{
	bool for_free = use == RESTORE_FREE;

	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), n = hugetlb_vmemmap_optimizable_pages(order);

	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	if (hvo_init())
		return -ENOMEM;
	if (use_reservation(pfn, vpage(pfn, 1), n)) {
		/* Already charged, populated and zeroed: no fault, no failure. */
	} else if (charge_pages_gfp(n, gfp)) {
		return -ENOMEM;
	} else if (for_free) {
		/*
		 * Verified; zeroed (or dropped) with every struct page when the
		 * page goes, or here in the same pass for a caller that keeps
		 * the struct pages in the host and skips what is zero already.
		 */
		if (zeroed)
			*zeroed = claim_resident_zero(vpage(pfn, 1), n, true) << 1;
		else
			claim_resident_zero(vpage(pfn, 1), n, false);
		undrop_vmemmap(vpage(pfn, 1), n);
	} else if (use == RESTORE_SPLIT && take_spare(vpage(pfn, 1), n)) {
		/* Populated already; their old contents are overwritten by the split. */
		undrop_vmemmap(vpage(pfn, 1), n);
	} else if (back_vmemmap(vpage(pfn, 1), n, use == RESTORE_SPLIT)) {
		uncharge_pages(n);
		stats.restore_failures++;
		return -ENOMEM;
	}
	mark_restored(vpage(pfn, 1), n);
	if (use == RESTORE_READ)
		write_tail_markers(folio, HUGETLB_VMEMMAP_RESERVE_PAGES, 1UL << order);
	folio_clear_hugetlb_vmemmap_optimized(folio);
	count_allocated(n);
	stats.restores++;
	gs_trace("hvo.restore", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("pages_allocated", n));
	return 0;
}

static int restore(struct folio *folio, enum restore_use use)
{
	return restore_gfp(folio, use, GFP_KERNEL | __GFP_RETRY_MAYFAIL, NULL);
}

int hugetlb_vmemmap_restore_folio(struct folio *folio)
{
	return restore(folio, RESTORE_READ);
}

int hugetlb_vmemmap_restore_folio_nofail(struct folio *folio)
{
	return restore_gfp(folio, RESTORE_READ, GFP_KERNEL | __GFP_NOFAIL, NULL);
}

int hugetlb_vmemmap_restore_for_split(struct folio *folio)
{
	return restore(folio, RESTORE_SPLIT);
}

int hugetlb_vmemmap_restore_for_free(struct folio *folio)
{
	return restore(folio, RESTORE_FREE);
}

int gs_hvo_restore_for_free_zeroed(struct folio *folio, unsigned long *zeroed)
{
	*zeroed = 0;
	return restore_gfp(folio, RESTORE_FREE, GFP_KERNEL | __GFP_RETRY_MAYFAIL, zeroed);
}

void hugetlb_vmemmap_cancel_restore(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio),
		      n = hugetlb_vmemmap_optimizable_pages(folio_order(folio));
	unsigned long restored;

	if (WARN_ON_ONCE(folio_test_hugetlb_vmemmap_optimized(folio) || !restored_bits || !n))
		return;
	/* No fresh head page as optimize_folio() takes: the head never moved, nothing can fail. */
	folio_set_hugetlb_vmemmap_optimized(folio);
	restored = take_restored(vpage(pfn, 1), n);
	WARN_ON_ONCE(restored != n);
	free_tail_vmemmap(vpage(pfn, 1), n, restored);
	count_freed(n, restored);
	gs_trace("hvo.cancel_restore", GS_TF_X("pfn", pfn), GS_TF_U("pages_freed", n));
}

int hugetlb_vmemmap_prepare_split(struct folio *folio, unsigned int new_order)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), pieces, step = 1UL << new_order;

	if (!folio_test_hugetlb_vmemmap_optimized(folio) || new_order >= order ||
	    !hugetlb_vmemmap_optimizable_pages(new_order))
		return -EINVAL;
	pieces = 1UL << (order - new_order);
	if (hvo_init() || charge_pages(pieces - 1))
		return -ENOMEM;
	/* Piece 0's first vmemmap page is the folio's own; the others need one each. */
	for (unsigned long k = 1; k < pieces; k++) {
		if (back_vmemmap(vpage(pfn + k * step, 0), 1, false)) {
			/* The host is out of memory: give back what this call took. */
			while (--k)
				drop_vmemmap(vpage(pfn + k * step, 0), 1);
			uncharge_pages(pieces - 1);
			stats.restore_failures++;
			return -ENOMEM;
		}
	}
	for (unsigned long k = 1; k < pieces; k++)
		mark_restored(vpage(pfn + k * step, 0), 1);
	count_allocated(pieces - 1);
	stats.split_restores++;
	gs_trace("hvo.prepare_split", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("new_order", new_order), GS_TF_U("pages_allocated", pieces - 1));
	return 0;
}

bool hugetlb_vmemmap_split_prepared(const struct folio *folio, unsigned int new_order)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), step = 1UL << new_order;

	if (!restored_bits || new_order >= order)
		return false;
	for (unsigned long k = 1; k < 1UL << (order - new_order); k++)
		if (!test_restored(vpage(pfn + k * step, 0)))
			return false;
	return true;
}

void hugetlb_vmemmap_cancel_split(struct folio *folio, unsigned int new_order)
{
	unsigned long pfn = folio_pfn(folio), step = 1UL << new_order, freed = 0;

	if (!hugetlb_vmemmap_split_prepared(folio, new_order))
		return;
	for (unsigned long k = 1; k < 1UL << (folio_order(folio) - new_order); k++) {
		drop_vmemmap(vpage(pfn + k * step, 0), 1);
		freed += take_restored(vpage(pfn + k * step, 0), 1);
	}
	count_freed(freed, freed);
}

int hugetlb_vmemmap_prealloc(struct folio *folio)
{
	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	return hugetlb_vmemmap_prealloc_pfn(folio_pfn(folio), folio_order(folio));
}

int hugetlb_vmemmap_prealloc_pfn(unsigned long pfn, unsigned int order)
{
	unsigned long n = hugetlb_vmemmap_optimizable_pages(order);
	struct hvo_reserve *r;
	void *staging;

	if (!n)
		return -EINVAL;
	if (hvo_init())
		return -ENOMEM;
	r = &reserved[pfn >> CHUNK_SHIFT];
	if (r->staging)
		return 0;
	if (charge_pages(n))
		return -ENOMEM;
	staging = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (staging == MAP_FAILED) {
		uncharge_pages(n);
		return -ENOMEM;
	}
	/*
	 * Really held from now on: this is what makes the later restore cheap
	 * and infallible. A host without MADV_POPULATE_WRITE (EINVAL) is
	 * touched page by page instead; a host out of memory is -ENOMEM.
	 */
	if (madvise(staging, n * PAGE_SIZE, MADV_POPULATE_WRITE)) {
		if (errno == EINVAL) {
			for (unsigned long i = 0; i < n; i++)
				((volatile char *)staging)[i * PAGE_SIZE] = 0;
		} else {
			WARN_ON(munmap(staging, n * PAGE_SIZE));
			uncharge_pages(n);
			return -ENOMEM;
		}
	}
	*r = (struct hvo_reserve){.staging = staging, .pages = n};
	stats.reserved_pages += n;
	return 0;
}

void hugetlb_vmemmap_prealloc_release(struct folio *folio)
{
	struct hvo_reserve *r;

	if (!reserved)
		return;
	r = &reserved[folio_pfn(folio) >> CHUNK_SHIFT];
	if (!r->staging)
		return;
	WARN_ON(munmap(r->staging, r->pages * PAGE_SIZE));
	uncharge_pages(r->pages);
	stats.reserved_pages -= r->pages;
	*r = (struct hvo_reserve){0};
}

void hugetlb_vmemmap_release(unsigned long pfn, unsigned int order)
{
	unsigned long n = hugetlb_vmemmap_size(order) / PAGE_SIZE, restored;
	if (!restored_bits)
		return;
	hugetlb_vmemmap_prealloc_release((struct folio *)pfn_to_page(pfn));
	restored = take_restored(vpage(pfn, 0), n);
	claim_resident_zero(vpage(pfn, 0), n, false);
	/* The host takes every struct page back (physmem): none is HVO's to watch any more. */
	set_freed(vpage(pfn, 0), n, false);
	ASAN_UNPOISON_MEMORY_REGION(vpage_addr(vpage(pfn, 0)), n * PAGE_SIZE);
	uncharge_pages(restored);
	stats.restored_pages -= restored;
	/*
	 * What HVO had freed is no longer "saved": the huge page is going away.
	 * It may be one folio or the pieces of a split; count each optimized one.
	 */
	for (unsigned long p = pfn; p < pfn + (1UL << order);) {
		struct folio *f = pfn_folio(p);

		if (folio_test_hugetlb_vmemmap_optimized(f)) {
			unsigned long opt = hugetlb_vmemmap_optimizable_pages(folio_order(f));

			stats.freed_pages -= opt;
			/* The struct pages come back before physmem takes them all. */
			gs_metrics_vmemmap_add((long long)(opt * PAGE_SIZE));
		}
		p += folio_nr_pages(f);
	}
}

/* Nothing but the optimization itself: no restored page, no preallocation. */
static bool parkable(unsigned long pfn, unsigned long n)
{
	if (reserved[pfn >> CHUNK_SHIFT].staging)
		return false;
	for (unsigned long v = vpage(pfn, 0); v <= vpage(pfn, n); v++)
		if (test_restored(v))
			return false;
	return true;
}

bool gs_hvo_parkable(const struct folio *folio)
{
	unsigned int order = folio_order(folio);
	unsigned long n = hugetlb_vmemmap_optimizable_pages(order);

	return hvo_on && n && restored_bits && folio_test_hugetlb_vmemmap_optimized(folio) &&
	       parkable(folio_pfn(folio), n);
}

/*
 * A parked page's tails kept in the host are verified when it is taken
 * again (or released), not by every check while it sits unused: they leave
 * the freed bitmap the checker walks, and keep their resident bit.
 */
static void park_resident(unsigned long v, unsigned long n)
{
	for (unsigned long i = v; nr_resident && i < v + n; i++)
		if (test_bit_of(resident_bits, i))
			freed_bits[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
}

static void unpark_resident(unsigned long v, unsigned long n)
{
	for (unsigned long i = v; nr_resident && i < v + n; i++) {
		if (!test_bit_of(resident_bits, i))
			continue;
		WARN(!pattern_intact(i),
		     "vmemmap page of pfn 0x%lx was written while HVO had freed it "
		     "(a write to an optimized tail of a parked page)",
		     i * PFNS_PER_VMEMMAP_PAGE);
		freed_bits[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
	}
}

void gs_hvo_park(struct folio *folio)
{
	unsigned long n = hugetlb_vmemmap_optimizable_pages(folio_order(folio));

	park_resident(vpage(folio_pfn(folio), 1), n);
	/* As hugetlb_vmemmap_release(): not "saved" while the page is not in use. */
	stats.freed_pages -= n;
	gs_metrics_vmemmap_add((long long)(n * PAGE_SIZE));
}

void gs_hvo_unpark(struct folio *folio)
{
	unsigned int order = folio_order(folio);
	unsigned long pfn = folio_pfn(folio), n = hugetlb_vmemmap_optimizable_pages(order);

	unpark_resident(vpage(pfn, 1), n);
	/* The optimization's charge and count, as a fresh page's; its tails are given back already. */
	WARN_ON(!gs_charge(GS_SITE_HVO_OPTIMIZE, PAGE_SIZE, GFP_KERNEL));
	gs_uncharge(GS_SITE_HVO_OPTIMIZE, PAGE_SIZE);
	folio_set_hugetlb_vmemmap_optimized(folio);
	count_freed(n, 0);
	stats.optimizations++;
	gs_trace("hvo.optimize", GS_TF_X("pfn", pfn), GS_TF_U("order", order),
		 GS_TF_U("pages_freed", n));
}

void gs_hvo_forget_parked(unsigned long pfn, unsigned int order)
{
	unsigned long n = hugetlb_vmemmap_optimizable_pages(order);

	if (!freed_bits || !n)
		return;
	/* Physical memory zeroes or drops the struct pages next: verified, not zeroed twice. */
	claim_resident_zero(vpage(pfn, 1), n, false);
	/* The tails read zero (given back): usable again, as never-used struct pages. */
	undrop_vmemmap(vpage(pfn, 1), n);
}

void gs_hvo_stats(struct gs_hvo_stats *out)
{
	*out = stats;
}

/* HVO's state, not its cumulative counters (which a rolled-back operation moves). */
static void hvo_dump(struct gs_state *st, const char *path)
{
	gs_state_add_u64(st, path, "freed", stats.freed_pages);
	gs_state_add_u64(st, path, "restored", stats.restored_pages);
	gs_state_add_u64(st, path, "reserved", stats.reserved_pages);
}

static struct gs_state_dumper hvo_dumper = {.name = "hvo", .dump = hvo_dump};
GS_STATE_DUMPER(hvo_dumper)

static void report_written(struct gs_check_report *r, unsigned long v)
{
	gs_check_violation(r,
			   "vmemmap page of pfn 0x%lx was given back by HVO but written since (a "
			   "write to an optimized tail)",
			   v * PFNS_PER_VMEMMAP_PAGE);
}

/*
 * Report freed vmemmap pages in [v, v + n) given back to the host that it
 * now holds exclusively: written.
 */
static void check_written(struct gs_check_report *r, int fd, unsigned long v, unsigned long n)
{
	uint64_t ent[512];
	off_t off = (off_t)((uintptr_t)vpage_addr(v) / PAGE_SIZE * sizeof(uint64_t));

	if (pread(fd, ent, n * sizeof(ent[0]), off) != (ssize_t)(n * sizeof(ent[0])))
		return;
	for (unsigned long i = 0; i < n; i++)
		if (test_bit_of(freed_bits, v + i) && !test_bit_of(resident_bits, v + i) &&
		    (ent[i] & PM_EXCLUSIVE))
			report_written(r, v + i);
}

/*
 * Kept pages verified per check, and where the next check goes on. Every
 * kept page is verified in full when it is taken again (restore, release,
 * a parked page handed out or let go), so a write is always reported; the
 * checker's part is to report it sooner, at a bounded cost per check: a
 * 2 MiB fuzz input's pool keeps 112 pages, and reading them all at every
 * check cost more than the host calls the mode saves.
 */
#define HVO_CHECK_PAGES 16
static unsigned long check_cursor;

/*
 * Report kept freed pages whose pattern is gone: up to HVO_CHECK_PAGES,
 * from where the last check stopped, round the bitmap's @words once.
 */
static void check_patterned(struct gs_check_report *r, unsigned long words)
{
	unsigned long start = check_cursor < words * BITS_PER_LONG ? check_cursor : 0;
	unsigned long w0 = start / BITS_PER_LONG, c = start % BITS_PER_LONG, done = 0;

	for (unsigned long seen = 0; seen <= words; seen++) {
		unsigned long w = (w0 + seen) % words;
		/* The first word from the cursor on; back at it, the bits before the cursor. */
		unsigned long mask = !seen ? ~0UL << c : seen < words ? ~0UL : (1UL << c) - 1;
		unsigned long bits = freed_bits[w] & resident_bits[w] & mask;

		while (bits) {
			unsigned long v = w * BITS_PER_LONG + (unsigned long)__builtin_ctzl(bits);

			bits &= bits - 1;
			if (!pattern_intact(v))
				report_written(r, v);
			if (++done == HVO_CHECK_PAGES) {
				check_cursor = v + 1;
				return;
			}
		}
	}
	check_cursor = 0;
}

/*
 * /proc/self/pagemap, opened once per process: a fuzzer's `check` lines
 * read it thousands of times a second. A child of fork() has the parent's
 * descriptor, which reads the parent's page tables: it opens its own (told
 * by pthread_atfork(), not a getpid() per check, a host call each).
 */
static int pagemap_fd_cached = -1;
static bool pagemap_forked;

static void pagemap_atfork_child(void)
{
	pagemap_forked = true;
}

static int pagemap_fd(void)
{
	if (pagemap_forked && pagemap_fd_cached >= 0) {
		WARN_ON_ONCE(close(pagemap_fd_cached) && errno != EINTR);
		pagemap_fd_cached = -1;
	}
	pagemap_forked = false;
	if (pagemap_fd_cached < 0)
		pagemap_fd_cached = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return pagemap_fd_cached;
}

/*
 * The software stand-in for the kernel's read-only tail mapping: a freed
 * vmemmap page given back to the host reads as the shared zero page until
 * someone writes it, and then the host holds a page of its own there
 * (pagemap's exclusive bit; skipped where /proc/self/pagemap cannot be
 * read); one kept in the host (the resident mode) holds the pattern.
 */
static void hvo_check(struct gs_check_report *r, void *ctx)
{
	unsigned long words;

	(void)ctx;
	if (!freed_bits || !stats.freed_pages)
		return;
	/* Only as far as HVO ever went: a small guest's check stays cheap. */
	words = (freed_hi + BITS_PER_LONG - 1) / BITS_PER_LONG;
	if (nr_resident && words)
		check_patterned(r, words);
	/* Whole zero words (most of the bitmap) cost one test each. */
	for (unsigned long w = 0; w < words; w += 8) {
		unsigned long any = 0;
		int fd;

		for (unsigned long k = w; k < w + 8 && k < words; k++)
			any |= freed_bits[k] & ~resident_bits[k];
		if (any && (fd = pagemap_fd()) >= 0)
			check_written(r, fd, w * BITS_PER_LONG, 8 * BITS_PER_LONG);
	}
}

__attribute__((constructor)) static void hvo_check_init(void)
{
	WARN_ON(gs_check_register("hvo", hvo_check, NULL) < 0);
	WARN_ON(pthread_atfork(NULL, NULL, pagemap_atfork_child));
	pattern_init();
	scan_select();
}
