/* SPDX-License-Identifier: MIT */
/*
 * The per-page oracle: an independent, deliberately simple reference model of
 * guest_memfd state per 4 KiB index, written from the spec
 * (/work/shared/spec/guest_memfd.md) and not from the simulator's code. It
 * predicts each operation's answer (value, errno, EAGAIN's error_offset, the
 * ordering's all-or-nothing or partial-progress rule) and, after every
 * operation, compares its model with the simulator's state as the state
 * registry records it (kvm_gmem_dump_state()). docs/ORACLE.md.
 *
 * The model is sparse: a sorted list of runs of equal per-index state, so a
 * 1 TiB file costs memory in proportion to the ranges operations touched.
 */
#ifndef GMEMSIM_ORACLE_H
#define GMEMSIM_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include <gmemsim/compiler.h>
#include <gmemsim/gmem.h>

struct gs_check_report;

/**
 * struct gs_oracle_cfg - what a new file is, as the creating VM says
 * @flags: GUEST_MEMFD_FLAG_* asked for
 * @page_order: 0, 9 (2 MiB) or 18 (1 GiB)
 * @supported: KVM_CAP_GUEST_MEMFD_FLAGS of the VM (an input, not predicted);
 *             0 when unknown (then only the size and order checks are predicted)
 * @profile: design (st_blocks counted) or upstream (0 for 4 KiB files)
 * @conversion: the VM's ordering (planned, v8, wip, rfc-v2)
 * @in_place: attributes live in the file (KVM_SET_MEMORY_ATTRIBUTES2 exists)
 * @has_private_mem: kvm_arch_has_private_mem() of the VM
 * @custom_strategy: the VM runs a strategy that is not built in
 *              (include/gmemsim/strategy.h): its merges and mapping orders
 *              are its own, so an all-private huge page may stay in 4 KiB
 *              pieces (of 4 KiB, or of 2 MiB over an all-private 2 MiB range
 *              of a 1 GiB file, which may then be mapped at 2 MiB) and
 *              get_pfn's max_order is judged as an upper bound
 * @pmd_pieces: the VM runs the built-in strategy "optimized": in a 1 GiB
 *              file every all-private 2 MiB range outside an all-private
 *              1 GiB page is one 2 MiB folio, mapped at 2 MiB at most
 * @thp: the creating VM's strategy has the thp backing: a file without
 *       HugeTLB asking ALLOW_HUGEPAGE (its size must be whole 2 MiB), or of
 *       a size of whole 2 MiB, has folios of 2 MiB where possible (best effort: the oracle requires
 *       every used page allocated and allows the rest of its 2 MiB block),
 *       a 2 MiB mapping where the whole block is private, never promised
 */
struct gs_oracle_cfg {
	uint64_t flags;
	unsigned int page_order;
	uint64_t supported;
	enum gs_gmem_profile profile;
	enum gs_gmem_conversion conversion;
	bool in_place;
	bool has_private_mem;
	bool custom_strategy;
	bool pmd_pieces;
	bool thp;
};

/**
 * struct gs_oracle_pred - the predicted answer of one operation
 * @err: 0 or a negative errno
 * @sigbus: a host access takes SIGBUS (@done bytes went through before it)
 * @done: bytes a host access transfers before it stops
 * @has_error_offset: @error_offset is predicted (a failed conversion)
 * @error_offset: KVM_SET_MEMORY_ATTRIBUTES2's error_offset
 * @has_data: a read's first byte is predicted
 * @data: that byte
 * @has_uniform: whether the read's bytes are all equal is predicted
 * @uniform: that answer
 * @has_blocks: st_blocks after the operation is predicted
 * @blocks: that value
 * @memory_fault: a guest fault exits with KVM_EXIT_MEMORY_FAULT
 * @max_level: a guest fault's stage-2 level is at most this (1 = 4K); 0: none
 * @has_max_order: @max_order is predicted (get_pfn)
 * @max_order: get_pfn's max_order is at most this
 * @max_order_exact: ... and exactly this (P29: the folio order, where no
 *                   rule of the ordering lowers it; wip's P39 may)
 * @unpredicted: the oracle does not model this case (the answer is taken as is)
 * @refusable: a strategy of its own may refuse this punch (its punch hook,
 *             GS_PUNCH_REFUSE): EINVAL is an answer too, and leaves the state
 *             as before (gs_oracle_unpredicted() goes back to it)
 */
struct gs_oracle_pred {
	int err;
	bool sigbus;
	uint64_t done;
	bool has_error_offset;
	uint64_t error_offset;
	bool has_data;
	uint8_t data;
	bool has_uniform;
	bool uniform;
	bool has_blocks;
	uint64_t blocks;
	bool memory_fault;
	int max_level;
	bool has_max_order;
	unsigned int max_order;
	bool max_order_exact;
	bool unpredicted;
	bool refusable;
};

struct gs_oracle;

/**
 * gs_oracle_new() - an empty oracle
 *
 * Context: any.
 * Return: the oracle (free with gs_oracle_free()).
 */
GS_API struct gs_oracle *gs_oracle_new(void);

/** gs_oracle_free() - free @o and its files (NULL is fine) */
GS_API void gs_oracle_free(struct gs_oracle *o);

/**
 * gs_oracle_create() - predict KVM_CREATE_GUEST_MEMFD (rule 5, P31)
 * @o: the oracle
 * @size: the size asked for
 * @cfg: the file and its VM
 * @p: the prediction
 *
 * Context: between operations.
 * Return: the new file's id (>= 0) when success is predicted, else -1.
 */
GS_API int gs_oracle_create(struct gs_oracle *o, uint64_t size, const struct gs_oracle_cfg *cfg,
			    struct gs_oracle_pred *p);

/**
 * gs_oracle_fallocate() - predict fallocate() and apply it to the model (rules 16-18, P32, P36)
 * @o: the oracle
 * @id: the file
 * @mode: FALLOC_FL_* bits
 * @off: offset in bytes
 * @len: length in bytes
 * @p: the prediction
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_fallocate(struct gs_oracle *o, int id, int mode, int64_t off, int64_t len,
			       struct gs_oracle_pred *p);

/**
 * gs_oracle_convert() - predict KVM_SET_MEMORY_ATTRIBUTES2 (P6-P8, P20, P35, P37)
 * @o: the oracle
 * @id: the file
 * @a: the argument as passed in
 * @p: the prediction (error_offset on failure)
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_convert(struct gs_oracle *o, int id, const struct gs_kvm_memory_attributes2 *a,
			     struct gs_oracle_pred *p);

/**
 * gs_oracle_access() - predict a host access through a MAP_SHARED mapping (rules 24-26, P5, P10)
 * @o: the oracle
 * @id: the file
 * @off: file offset in bytes
 * @len: bytes (at least 1)
 * @write: a store of @byte to every byte, else a load
 * @byte: what a store writes
 * @p: the prediction (sigbus and done; a load's data and uniform)
 *
 * Context: between operations.
 * Return: 0, or -EINVAL for an unknown file.
 */
GS_API int gs_oracle_access(struct gs_oracle *o, int id, uint64_t off, uint64_t len, bool write,
			    uint8_t byte, struct gs_oracle_pred *p);

/**
 * gs_oracle_pin() - predict a long-term pin of the page at @off (a host fault, then a reference)
 * @o: the oracle
 * @id: the file
 * @off: file offset in bytes
 * @p: the prediction (-EFAULT where the fault would SIGBUS)
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_pin(struct gs_oracle *o, int id, uint64_t off, struct gs_oracle_pred *p);

/**
 * gs_oracle_unpin() - drop the latest pin of the page at @off
 * @o: the oracle
 * @id: the file
 * @off: file offset in bytes
 *
 * Context: between operations.
 * Return: 0, or -ENOENT if the oracle knows no such pin.
 */
GS_API int gs_oracle_unpin(struct gs_oracle *o, int id, uint64_t off);

/**
 * gs_oracle_munmap() - the file's host mappings are gone
 * @o: the oracle
 * @id: the file
 *
 * Context: between operations.
 */
GS_API void gs_oracle_munmap(struct gs_oracle *o, int id);

/**
 * gs_oracle_munmap_range() - the host mappings of part of the file are gone
 * @o: the oracle
 * @id: the file
 * @off: byte offset in the file (the mapping's offset there, mapped at 0)
 * @len: bytes, rounded out to pages
 *
 * munmap() of part of a mapping, or MAP_FIXED over it: only those pages
 * lose their host page-table entries (the rest of the mapping stays).
 *
 * Context: between operations.
 */
GS_API void gs_oracle_munmap_range(struct gs_oracle *o, int id, uint64_t off, uint64_t len);

/**
 * gs_oracle_guest_fault() - predict a guest fault at file index @index (rule 33-35, P15, P29)
 * @o: the oracle
 * @id: the file
 * @index: the file index the gfn maps to
 * @private: the fault is private
 * @gfn: the faulting frame
 * @slot_gfn: the slot's first frame
 * @slot_npages: the slot's length in pages
 * @p: the prediction (memory_fault, max_level)
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_guest_fault(struct gs_oracle *o, int id, uint64_t index, bool private,
				 uint64_t gfn, uint64_t slot_gfn, uint64_t slot_npages,
				 struct gs_oracle_pred *p);

/**
 * gs_oracle_level_bound() - the largest stage-2 level a leaf over @index may have
 * @o: the oracle
 * @id: the file
 * @index: the file index the leaf maps (its first frame's)
 * @gfn: the leaf's first frame
 * @slot_gfn: the slot's first frame
 * @slot_npages: the slot's length in pages
 *
 * Rule 35, P29, P40: no leaf is larger than the folio or spans two
 * attributes, so a huge leaf needs a whole-private, unpoisoned huge page
 * that the slot maps whole and aligned. Looks only; changes nothing.
 *
 * Context: between operations.
 * Return: 1 (4K), 2 (2M) or 3 (1G); 1 for an unknown file or index.
 */
GS_API int gs_oracle_level_bound(const struct gs_oracle *o, int id, uint64_t index, uint64_t gfn,
				 uint64_t slot_gfn, uint64_t slot_npages);

/**
 * gs_oracle_get_pfn() - predict kvm_gmem_get_pfn() at file index @index (rule 33, P29)
 * @o: the oracle
 * @id: the file
 * @index: the file index
 * @p: the prediction (EHWPOISON; else the page's first use and a max_order bound)
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_get_pfn(struct gs_oracle *o, int id, uint64_t index, struct gs_oracle_pred *p);

/**
 * gs_oracle_poison() - predict memory failure on the page at @index (rules 42-43)
 * @o: the oracle
 * @id: the file
 * @index: the file index
 * @p: the prediction (-ENOENT if nothing is allocated there)
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_poison(struct gs_oracle *o, int id, uint64_t index, struct gs_oracle_pred *p);

/**
 * gs_oracle_gsplit() - predict the scenario verb `gsplit` (a HugeTLB page split by hand)
 * @o: the oracle
 * @id: the file
 * @index: the file index whose huge page is split
 * @shared: the page at @index becomes shared too (a to-shared conversion's
 *          effect on the folio and the attribute, without its other steps)
 * @p: the prediction (EINVAL for a 4 KiB file or past the end, ENOENT
 *     where nothing is allocated)
 *
 * Without @shared, splitting a whole private huge page goes against P25
 * (one folio exactly where all private): the file is no longer followed.
 *
 * Context: between operations.
 * Return: @p->err.
 */
GS_API int gs_oracle_gsplit(struct gs_oracle *o, int id, uint64_t index, bool shared,
			    struct gs_oracle_pred *p);

/**
 * gs_oracle_close() - the fd is closed: the model stays for the mappings, no longer compared
 * @o: the oracle
 * @id: the file
 *
 * Context: between operations.
 */
GS_API void gs_oracle_close(struct gs_oracle *o, int id);

/**
 * gs_oracle_unpredicted() - the operation failed with an error the oracle does not model
 * @o: the oracle
 * @id: the file
 * @op: the operation's name, for the report
 * @err: the negative errno it returned (an injected ENOMEM, for one)
 *
 * Where the profile promises all or nothing the model stays as it was, and
 * the next comparison checks that the simulator did not move either; where
 * it allows partial progress the file is no longer followed.
 *
 * Context: between operations.
 */
GS_API void gs_oracle_unpredicted(struct gs_oracle *o, int id, const char *op, int err);

/**
 * gs_oracle_compare() - compare the model of file @id with the simulator's file
 * @o: the oracle
 * @id: the file
 * @file: the simulator's file (its state is read through kvm_gmem_query())
 * @op: the operation just done, named in each mismatch
 * @r: where mismatches go ("<op>: index 0x..: <what> simulator=<v> oracle=<v>")
 *
 * Compares per index: attribute, allocated, host-mapped, poisoned, and on a
 * HugeTLB file the folio order (P25: the page order exactly where the huge
 * page is all private); and i_bytes (st_blocks) and the subpool's
 * used/reserved huge pages.
 *
 * Context: between operations.
 * Return: the number of mismatches reported.
 */
GS_API unsigned int gs_oracle_compare(struct gs_oracle *o, int id, struct gmem_file *file,
				      const char *op, struct gs_check_report *r);

/**
 * gs_oracle_compare_range() - gs_oracle_compare() over what one operation could change
 * @o: the oracle
 * @id: the file
 * @file: the simulator's file
 * @off: byte offset of the operation's range
 * @len: its length in bytes (clipped to the file)
 * @op: the operation just done, named in each mismatch
 * @r: where mismatches go
 *
 * Compares the per-index state of [@off, @off + @len), and of every index
 * the model changed since the last comparison (a first use allocating a
 * whole huge page, say), and the counters. A change the simulator made elsewhere is
 * found by the next full gs_oracle_compare() (`check`, a close, the end of
 * a scenario), not at this line.
 *
 * Context: between operations.
 * Return: the number of mismatches reported.
 */
GS_API unsigned int gs_oracle_compare_range(struct gs_oracle *o, int id, struct gmem_file *file,
					    uint64_t off, uint64_t len, const char *op,
					    struct gs_check_report *r);

/**
 * typedef gs_oracle_name_fn - the name of the operation a mismatch names
 * @arg: the caller's
 *
 * Called only when a mismatch is reported, so a caller need not make a name
 * for the comparisons that find none.
 */
typedef const char *(*gs_oracle_name_fn)(void *arg);

/**
 * gs_oracle_compare_named() - gs_oracle_compare() or gs_oracle_compare_range(), named lazily
 * @o: the oracle
 * @id: the file
 * @file: the simulator's file
 * @ranged: compare [@off, @off + @len) as gs_oracle_compare_range(), else all of the file
 * @off: byte offset of the range
 * @len: its length in bytes
 * @name: the operation's name, asked for only when a mismatch is reported
 * @arg: passed to @name
 * @r: where mismatches go
 *
 * Context: between operations.
 * Return: the number of mismatches reported.
 */
GS_API unsigned int gs_oracle_compare_named(struct gs_oracle *o, int id, struct gmem_file *file,
					    bool ranged, uint64_t off, uint64_t len,
					    gs_oracle_name_fn name, void *arg,
					    struct gs_check_report *r);

/**
 * gs_oracle_step() - the simulator's state may change from now on
 * @o: the oracle
 *
 * A caller that runs operations calls it before each one (and wherever the
 * simulator may have changed since the last call): gs_oracle_clean() is
 * true only for a whole comparison made since.
 *
 * Context: between operations.
 */
GS_API void gs_oracle_step(struct gs_oracle *o);

/**
 * gs_oracle_clean() - whether file @id was compared whole, without a mismatch, since the last step
 * @o: the oracle
 * @id: the file
 *
 * By gs_oracle_compare() or the checker "oracle" (`check oracle`), after
 * the last gs_oracle_step() and the last change of the model: the same
 * comparison again would find the same nothing, so a caller may skip it.
 *
 * Context: between operations.
 * Return: true if so.
 */
GS_API bool gs_oracle_clean(const struct gs_oracle *o, int id);

/**
 * gs_oracle_epoch() - the count of gs_oracle_step()s (and `check oracle` runs) so far
 * @o: the oracle
 *
 * The checker "oracle" steps each oracle before it compares: a caller that
 * kept the epoch after its last comparisons knows, from an unchanged epoch,
 * that neither an operation nor a checker came since.
 *
 * Context: any.
 * Return: the epoch, from 1.
 */
GS_API uint64_t gs_oracle_epoch(const struct gs_oracle *o);

/**
 * enum gs_oracle_read - how comparisons read the simulator's state
 * @GS_ORACLE_READ_QUERY: kvm_gmem_query(), no text (the default)
 * @GS_ORACLE_READ_DUMP: the state registry's text records, kvm_gmem_dump_state()
 * @GS_ORACLE_READ_BOTH: both, and a mismatch wherever they disagree (tests)
 */
enum gs_oracle_read {
	GS_ORACLE_READ_QUERY,
	GS_ORACLE_READ_DUMP,
	GS_ORACLE_READ_BOTH,
};

/**
 * gs_oracle_set_read() - choose how every oracle reads the simulator (tests)
 * @mode: the read
 *
 * Context: between operations; process-wide.
 * Return: the previous mode.
 */
GS_API enum gs_oracle_read gs_oracle_set_read(enum gs_oracle_read mode);

/**
 * gs_oracle_reads_compared() - comparisons GS_ORACLE_READ_BOTH has cross-checked
 *
 * Context: any.
 * Return: the count since the process started.
 */
GS_API unsigned long gs_oracle_reads_compared(void);

/**
 * gs_oracle_followed() - whether file @id is still modelled and open
 *
 * Context: any.
 * Return: true if gs_oracle_compare() would compare it.
 */
GS_API bool gs_oracle_followed(const struct gs_oracle *o, int id);

/**
 * gs_oracle_nr_runs() - runs of equal state the model of file @id holds
 *
 * What the model costs: it grows with the ranges operations touched, never
 * with the file size.
 *
 * Context: any.
 * Return: the count, 0 for an unknown file.
 */
GS_API unsigned int gs_oracle_nr_runs(const struct gs_oracle *o, int id);

/**
 * gs_oracle_alloc_bytes() - bytes of file @id the model holds allocated
 *
 * What i_bytes and st_blocks are predicted from (P33), as the comparisons
 * read it: counted once per change of the model.
 *
 * Context: any.
 * Return: the bytes; 0 for an unknown file.
 */
GS_API uint64_t gs_oracle_alloc_bytes(const struct gs_oracle *o, int id);

/**
 * gs_oracle_used_hpages() - huge pages file @id holds in the model (P22, P23)
 *
 * Each is one page taken off the pool's free list and charged to the
 * allocating task's hugetlb cgroup; a freed one goes back. The scenario
 * adapter predicts those global counters from the change of this count
 * across one operation.
 *
 * Context: any.
 * Return: the count; 0 for a 4 KiB or unknown file.
 */
GS_API uint64_t gs_oracle_used_hpages(const struct gs_oracle *o, int id);

/**
 * gs_oracle_bind() - name the simulator's file behind @id, for `check oracle`
 * @o: the oracle
 * @id: the file
 * @file: the simulator's file, or NULL once it is gone
 *
 * The checker "oracle" (registered once) compares every file of every oracle
 * that has a binding.
 *
 * Context: between operations.
 */
GS_API void gs_oracle_bind(struct gs_oracle *o, int id, struct gmem_file *file);

#endif /* GMEMSIM_ORACLE_H */
