/* SPDX-License-Identifier: MIT */
/*
 * Structured state of the simulated machine. Each layer registers a dumper
 * for the state it owns (a pool's counters, the allocation sites' live
 * objects, HVO's vmemmap pages); a snapshot is the list of (path, key,
 * value) records they fill, in an order that depends only on the state.
 * Whoever must compare or draw the machine reads snapshots instead of
 * naming the layers: the fail-nth runner diffs the text of two snapshots
 * taken around a failed operation, renderers draw them.
 */
#ifndef GMEMSIM_STATE_H
#define GMEMSIM_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <gmemsim/compiler.h>

/**
 * struct gs_state_rec - one fact about the state
 * @path: what it is about, '/'-separated from the layer down ("hugetlb/hugetlb-2M",
 *        "objects/g/folio/0x200"); never contains a blank
 * @key: which fact ("free", "live")
 * @value: its value as text (numbers in decimal unless the dumper says 0x)
 */
struct gs_state_rec {
	const char *path;
	const char *key;
	const char *value;
};

/* A snapshot being filled or read: records in the order they were added. */
struct gs_state;

/**
 * struct gs_state_dumper - a layer's view of its own state
 * @name: unique; the first element of every path it adds (dumpers run by name)
 * @dump: add the layer's records under @path (which is @name)
 * @next: the registry's; leave it NULL
 *
 * A dumper adds nothing that changes while the state does not: no
 * addresses, no cumulative counters an undone operation moves.
 */
struct gs_state_dumper {
	const char *name;
	void (*dump)(struct gs_state *st, const char *path);
	struct gs_state_dumper *next;
};

/**
 * gs_state_register() - add a dumper (from a constructor: allocates nothing)
 * @d: must stay valid for the life of the process
 *
 * Context: before main() or between operations; not thread-safe.
 * Return: 0, -EINVAL (no name or dump hook), -EEXIST (name taken).
 */
GS_API int gs_state_register(struct gs_state_dumper *d);

/* Register @var (a struct gs_state_dumper) before main() runs. */
#define GS_STATE_DUMPER(var)                                                   \
	__attribute__((constructor)) static void gs_state_register_##var(void) \
	{                                                                      \
		gs_state_register(&(var));                                     \
	}

/**
 * gs_state_new() - an empty snapshot
 *
 * Context: any.
 * Return: the snapshot (free it with gs_state_free()).
 */
GS_API struct gs_state *gs_state_new(void);

/**
 * gs_state_set_detail() - ask the dumpers for the structure too
 * @st: an empty snapshot
 * @on: true: dumpers that know how a state is stored (the XArray's nodes, the
 *      maple tree's nodes, HVO's vmemmap pages per folio) add those records
 *      as well, under paths ending in a part named "detail"
 *
 * Renders want the shape of the structures; the fail-nth runner must not see
 * it: a rolled-back operation may leave a different but equivalent shape (an
 * XArray node kept, a maple node rebalanced), which is not a trace of the
 * operation. Snapshots are without detail unless this says otherwise.
 *
 * Context: any.
 */
GS_API void gs_state_set_detail(struct gs_state *st, bool on);

/**
 * gs_state_detail() - whether @st wants the structure (gs_state_set_detail())
 *
 * Context: inside a dumper.
 * Return: true if the records of the structure are wanted.
 */
GS_API bool gs_state_detail(const struct gs_state *st);

/** gs_state_free() - free a snapshot (NULL is fine) */
GS_API void gs_state_free(struct gs_state *st);

/**
 * gs_state_add() - add one record
 * @st: the snapshot
 * @path: as in struct gs_state_rec; copied
 * @key: copied
 * @fmt: the value, printf-style; copied
 *
 * Context: inside a dumper, or by the owner of @st.
 */
GS_API void gs_state_add(struct gs_state *st, const char *path, const char *key, const char *fmt,
			 ...) __printf(4, 5);

/** gs_state_add_u64() - gs_state_add() of a number in decimal */
GS_API void gs_state_add_u64(struct gs_state *st, const char *path, const char *key, uint64_t v);

/**
 * gs_state_collect() - run every registered dumper into @st
 * @st: the snapshot
 *
 * Dumpers run in the order of their names, so a snapshot does not depend on
 * the order the layers registered in.
 *
 * Context: between operations; not thread-safe.
 */
GS_API void gs_state_collect(struct gs_state *st);

/** gs_state_count() - number of records in @st */
GS_API unsigned int gs_state_count(const struct gs_state *st);

/** gs_state_nth() - the @i-th record, or NULL past the end */
GS_API const struct gs_state_rec *gs_state_nth(const struct gs_state *st, unsigned int i);

/**
 * gs_state_get() - the value of the first record at @path with @key
 *
 * Context: any.
 * Return: the value, or NULL if there is none.
 */
GS_API const char *gs_state_get(const struct gs_state *st, const char *path, const char *key);

/**
 * gs_state_write() - the snapshot as text, one record a line
 * @st: the snapshot
 * @f: where to write
 *
 * Each record is "path key=value"; a newline or backslash in a value is
 * written as \n or \\, so the text has exactly one line per record and two
 * snapshots are equal if and only if their texts are equal byte for byte.
 *
 * Context: any.
 */
GS_API void gs_state_write(const struct gs_state *st, FILE *f);

/**
 * gs_state_text() - gs_state_write() into a string
 *
 * Context: any.
 * Return: the text (free() it), or NULL when out of memory.
 */
GS_API char *gs_state_text(const struct gs_state *st);

#endif /* GMEMSIM_STATE_H */
