/* SPDX-License-Identifier: MIT */
/*
 * struct page and struct folio, laid out like the kernel's
 * (include/linux/mm_types.h, 6.12): a 64-byte struct page per 4 KiB page in
 * a linear vmemmap, and a folio that overlays the first four struct pages of
 * a large folio so that its extra fields (mapcounts, order, the HugeTLB
 * subpool and cgroups) live in pages 1-3. Tail pages hold only the tail
 * marker, which is what lets HVO share or drop the vmemmap pages behind them.
 */
#ifndef GMEMSIM_MM_TYPES_H
#define GMEMSIM_MM_TYPES_H

#include <gmemsim/compiler.h>
#include <gmemsim/list.h>

typedef unsigned long pgoff_t;

typedef struct {
	int counter;
} atomic_t;

static inline int atomic_read(const atomic_t *v)
{
	return v->counter;
}

static inline void atomic_set(atomic_t *v, int i)
{
	v->counter = i;
}

/**
 * struct page - the simulator's struct page, 64 bytes like the kernel's
 * @flags: PG_* bits (head pages); 0 on tail pages
 * @lru: list linkage while the page heads a folio on a list (free lists, LRU)
 * @mapping: owning mapping of a page-cache folio
 * @index: file index of a page-cache folio
 * @private: owner-private word
 * @compound_info: tail pages only: GS_PAGE_TAIL | (order << 1); the head is
 *                 found by aligning the pfn down to the folio size, as in the
 *                 kernel's order-encoded compound_info, so all tail struct
 *                 pages of one order are identical
 * @_mapcount: host mappings minus one
 * @_refcount: references (head pages)
 * @memcg_data: memcg binding (unused by the simulator, kept for layout)
 */
struct page {
	unsigned long flags;
	union {
		struct {
			struct list_head lru;
			void *mapping;
			pgoff_t index;
			unsigned long private;
		};
		struct {
			unsigned long compound_info;
		};
	};
	atomic_t _mapcount;
	atomic_t _refcount;
	unsigned long memcg_data;
};

#define GS_PAGE_TAIL 1UL

/**
 * struct folio - a power-of-two run of pages managed as one, overlaying its
 * first four struct pages (fields of pages 1-3 exist only for large folios)
 */
struct folio {
	/* page 0 */
	union {
		struct {
			unsigned long flags;
			struct list_head lru;
			void *mapping;
			pgoff_t index;
			void *private;
			atomic_t _mapcount;
			atomic_t _refcount;
			unsigned long memcg_data;
		};
		struct page page;
	};
	/* page 1: large folios */
	union {
		struct {
			unsigned long _flags_1;
			unsigned long _head_1;
			atomic_t _large_mapcount;
			atomic_t _entire_mapcount;
			atomic_t _nr_pages_mapped;
			atomic_t _pincount;
			unsigned int _folio_order;
			unsigned int _folio_nr_pages;
		};
		struct page __page_1;
	};
	/* page 2: large folios */
	union {
		struct {
			unsigned long _flags_2;
			unsigned long _head_2;
			struct list_head _deferred_list;
		};
		struct page __page_2;
	};
	/* page 3: HugeTLB folios */
	union {
		struct {
			unsigned long _flags_3;
			unsigned long _head_3;
			void *_hugetlb_subpool;
			void *_hugetlb_cgroup;
			void *_hugetlb_cgroup_rsvd;
			void *_hugetlb_hwpoison;
		};
		struct page __page_3;
	};
};

_Static_assert(sizeof(struct page) == 64, "struct page must be 64 bytes, as the kernel's");
_Static_assert(sizeof(struct folio) == 4 * sizeof(struct page), "folio overlays four pages");

/* Page flags (head page). Bit numbers are our own. */
enum pageflags {
	PG_locked,
	PG_uptodate,
	PG_head, /* first page of a folio of order >= 1 */
	PG_hwpoison,
	PG_hugetlb, /* a HugeTLB folio (the kernel uses a page type) */
	PG_large_rmappable,
	PG_needs_merge, /* a piece of a split HugeTLB page, to merge when all pieces are free */
	__NR_PAGEFLAGS,
};

/* HugeTLB-private flags, kept in folio->private like the kernel's HPG_* bits. */
enum hugetlb_page_flags {
	HPG_restore_reserve,
	HPG_migratable,
	HPG_temporary,
	HPG_freed,
	HPG_vmemmap_optimized,
	HPG_raw_hwp_unreliable,
	__NR_HPAGEFLAGS,
};

#endif /* GMEMSIM_MM_TYPES_H */
