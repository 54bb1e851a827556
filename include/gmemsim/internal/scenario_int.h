/* SPDX-License-Identifier: MIT */
/*
 * Internals of the scenario engine shared by its parser, runner and
 * built-in verbs. Not installed.
 */
#ifndef GS_LIB_SCENARIO_INT_H
#define GS_LIB_SCENARIO_INT_H

#include <string.h>
#include <glib.h>
#include <gmemsim/scenario.h>

/* A parsed file: its operations and the strings they point into. */
struct gs_script {
	char *name;
	GStringChunk *strings;
	GArray *ops; /* struct gs_op */
};

/*
 * Parse @len bytes of @text. Errors go to @err as "name:line: message";
 * up to GS_MAX_PARSE_ERRORS are reported before giving up.
 * Returns the script, or NULL if any line was malformed.
 */
struct gs_script *gs_script_parse(const char *name, const char *text, size_t len, FILE *err);
void gs_script_free(struct gs_script *script);
/* The first operation with an answer slot ('?', gs_expect.blanks), or NULL. */
const struct gs_op *gs_script_first_blank(const struct gs_script *script);
/* "file:line: fill in the answer ..." with the line, to @err; returns GS_EXIT_FAIL. */
int gs_scenario_report_blank(FILE *err, const struct gs_op *op);

#define GS_MAX_PARSE_ERRORS 20

/* An injection rule armed by the `inject` verb, remembered to report rules that never fired. */
struct gs_armed_rule {
	int id;
	unsigned int line;
};

/* Up to this many objects, names are found in gs_scenario.few, not hashed. */
#define GS_OBJ_FEW 16

struct gs_scenario {
	struct gs_scenario_opts opts;
	struct gs_rng rng;
	/*
	 * name -> struct gs_obj, made and kept only once a run has had more
	 * than GS_OBJ_FEW objects at once (@hashed; NULL before the first
	 * such run): until then @few finds every name, and a fuzz input (a VM
	 * and up to eight files) never pays for a hash table's inserts.
	 */
	GHashTable *objs;
	bool hashed;
	unsigned int nr_objs;	 /* objects named (the one being destroyed not counted) */
	GPtrArray *order;	 /* struct gs_obj *, creation order */
	struct gs_obj *last_obj; /* the last one looked up, or NULL: cleared when freed */
	/*
	 * @few_used: @objs holds at most GS_OBJ_FEW objects, and @few each one
	 * (in creation order) with its name's first 8 bytes, zero-padded, beside
	 * it, and its type and object (a lookup reads @few only).
	 */
	struct {
		uint64_t key;
		struct gs_obj *obj;
		const struct gs_obj_type *type;
		void *ptr;
	} few[GS_OBJ_FEW];
	unsigned int nr_few;
	bool few_used;
	/* @few's index + 1 by a hash of the key (0: none); a slot two keys want holds the first. */
	unsigned char few_slot[64];
	GArray *armed;		     /* struct gs_armed_rule */
	const char *file;	     /* file being run */
	unsigned long warn_base;     /* WARN count at the last expect-warns */
	unsigned int warn_base_line; /* line of that expect-warns, 0 for the start */
	unsigned int ops_run, ops_skipped, expects_met;
	struct gs_result last;	  /* result of the last operation run (for the fail-nth runner) */
	void *oracle;		  /* opts.oracle: the oracle adapter's state for this run */
	unsigned int bugs_before; /* gs_test_bugs when the run began: restored at its end */
	bool lax;		  /* `strict off`: lines without "=>" accept any result */
	bool kept_vmemmap;	  /* opts.persistent: gs_physmem_keep_vmemmap() before the runner */
	int saved_backing;	  /* opts.metadata_only: the backing override before the run */
};

/* The expectation kind called @key, or NULL. */
const struct gs_expect_kind *gs_expect_kind_lookup(const char *key);

/* Every module's teardown hook, upper layers first (at the end of a run). */
void gs_scenario_modules_teardown(void);

/* A module declared a failure at @site absorbed by any verb (fail-nth). */
bool gs_scenario_site_best_effort(const char *site);

/* Format a result ("EINVAL", "0 blocks=8", "SIGBUS") into @buf. */
void gs_result_format(const struct gs_result *res, char *buf, size_t len);

/* Call @fn for every object, in creation order. */
void gs_scenario_for_each_obj(struct gs_scenario *s,
			      void (*fn)(struct gs_scenario *s, const char *name,
					 const struct gs_obj_type *type, void *obj, void *arg),
			      void *arg);

/*
 * The runner's steps, for the fail-nth runner: start a run (reset rules,
 * WARN base and generator; @live gets each site's live count, GS_MAX_SITES
 * entries), run one operation (GS_EXIT_OK, _FAIL or _SYNTAX), and end it
 * (teardown, WARN and leak checks; returns the final status).
 */
void gs_scenario_begin_run(struct gs_scenario *s, const char *name, uint64_t *live);
int gs_scenario_run_op(struct gs_scenario *s, const struct gs_op *op);
int gs_scenario_end_run(struct gs_scenario *s, int status, const uint64_t *live);
/* Whether @res satisfies @op's expectation (or, without one, the strict rules). */
bool gs_scenario_expectation_met(const struct gs_scenario *s, const struct gs_op *op,
				 const struct gs_result *res);

/*
 * For the oracle's adapter: the fd of the simulated guest_memfd called @name
 * (-1 if none, skipped, or on the kernel) and its mapping's length (0 when
 * unmapped); the simulated VM called @name, or NULL.
 */
int gs_scenario_gmem_fd(struct gs_scenario *s, const char *name, uint64_t *map_len);

/*
 * Bytes of [@off, @off + @len) of file @name's mapping that an access from
 * @off reaches: up to the end of the mapping or the first hole unmapped in
 * it (`munmap off= len=`). 0 when not mapped.
 */
uint64_t gs_scenario_gmem_mapped(struct gs_scenario *s, const char *name, uint64_t off,
				 uint64_t len);
struct kvm *gs_scenario_vm_kvm(struct gs_scenario *s, const char *name);
/* The KVM_SET_MEMORY_ATTRIBUTES2 argument a `convert` line asks for (to=, off=, len=, ...). */
struct gs_kvm_memory_attributes2 gs_scenario_convert_args(const struct gs_op *op);

/*
 * The oracle's adapter (scenario_oracle.c) as the runner sees it: a state per
 * run, and a call after every line run (returns the mismatches, reported on
 * the scenario's error stream); after a line only its range is compared, in
 * full before a close and at the end of the run. Set by the adapter's constructor, so the
 * runner does not call up into the module that uses the verbs' objects.
 */
struct gs_scenario_hook {
	void *(*start)(void);
	void (*stop)(void *state);
	unsigned int (*after)(struct gs_scenario *s, void *state, const struct gs_op *op,
			      const struct gs_result *res);
	/* Before a line that ends what the comparisons can see (a close): the full comparison. */
	unsigned int (*before)(struct gs_scenario *s, void *state, const struct gs_op *op);
	/* At the end of a run, before the teardown: the full comparison of every open file. */
	unsigned int (*finish)(struct gs_scenario *s, void *state);
};
extern const struct gs_scenario_hook *gs_scenario_oracle_hook;

/*
 * gs_scenario_signature() of @nr operations made without text (the fuzz
 * decoder's, gs_fuzz_build_ops()): run and named as the parsed text's are.
 */
int gs_scenario_signature_ops(const struct gs_scenario_opts *opts, const char *name,
			      const struct gs_op *ops, size_t nr, char *sig, size_t siglen);

/* `strict off` is in force: a line on a name whose creation failed is an answer (EBADF). */
bool gs_scenario_lax(const struct gs_scenario *s);

/* Index of @key in @verb's keys, or -1. */
int gs_verb_key_index(const struct gs_verb *verb, const char *key);

/* The (verb, key literal) pairs gs_verb_key_index() found by address. */
struct gs_key_seen {
	const struct gs_verb *verb;
	const char *key;
	int index;
};

/*
 * Direct-mapped: two pairs in one slot evict each other on every use. The
 * ~100 pairs a fuzz run uses collided in 512 slots as the code's addresses
 * fell (30 misses per input after an unrelated change); 2048 keep it near 0.
 */
#define GS_KEY_SEEN_BITS 11
extern struct gs_key_seen gs_key_seen[1u << GS_KEY_SEEN_BITS];

/*
 * @p's offset within the library's image, for the caches the runner keys
 * by address (verbs, key literals, the decoder's words: all in the image).
 * Address-space randomization moves the image as a whole, so the offsets,
 * and which entries share a slot, are the same in every run; with the
 * addresses themselves the collisions, and with them how often a miss ran
 * the parser's code, changed from run to run, and so did the coverage a
 * fuzzer saw (docs/FUZZING.md, "Reproducing a campaign").
 */
static inline uintptr_t gs_image_off(const void *p)
{
	return (uintptr_t)p - (uintptr_t)gs_key_seen;
}

static inline unsigned int gs_key_seen_slot(const struct gs_verb *verb, const char *key)
{
	return (unsigned int)(((gs_image_off(verb) ^ (gs_image_off(key) << 7)) *
			       0x9e3779b97f4a7c15ULL) >>
			      (64 - GS_KEY_SEEN_BITS));
}

/*
 * gs_verb_key_index() with its remembered pairs probed in line: a run asks
 * for some 600 keys per fuzz execution, and the call was half of each.
 */
static inline int gs_verb_key_index_fast(const struct gs_verb *verb, const char *key)
{
	const struct gs_key_seen *k = &gs_key_seen[gs_key_seen_slot(verb, key)];

	if (k->verb == verb && k->key == key)
		return k->index;
	return gs_verb_key_index(verb, key);
}

/*
 * strcmp() == 0 in line, for the short names scenarios give objects ("f0",
 * "vm0"): the call was most of a compare in the runner's and the oracle
 * adapter's lookups.
 */
static inline bool gs_name_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * A name's first 8 bytes, zero-padded, as one word; *@more: the word does
 * not show where the name ends (8 bytes or more: "gmemfile" and "gmemfile1"
 * share theirs). Two names are equal if their words are and neither has
 * *@more, else if their texts are.
 */
static inline uint64_t gs_name_key(const char *name, bool *more)
{
	uint64_t k = 0;
	unsigned int i;

	for (i = 0; i < 8 && name[i]; i++)
		k |= (uint64_t)(unsigned char)name[i] << (8 * i);
	*more = i == 8;
	return k;
}

/* The argument @key of @op when the remembered pairs do not hold it (or NULL). */
const struct gs_arg *gs_op_arg_slow(const struct gs_op *op, const char *key);

/* @op's argument @key (or NULL) through the remembered pairs: gs_op_u64() and the rest. */
static inline const struct gs_arg *gs_op_arg_pairs(const struct gs_op *op, const char *key)
{
	const struct gs_key_seen *k = &gs_key_seen[gs_key_seen_slot(op->verb, key)];

	if (k->verb == op->verb && k->key == key)
		return op->args[k->index].present ? &op->args[k->index] : NULL;
	return gs_op_arg_slow(op, key);
}

/*
 * The key indices one place in the code found, by a hash of the verb: a
 * helper that several verbs call (read and write, the oracle's reading of
 * every line's range) keeps each one's in a way of its own as long as
 * their hashes differ. Filled only as the remembered pairs are (a key
 * found by its address in the verb's table), so it answers only what
 * they would.
 */
#define GS_KEY_SITE_BITS 3
struct gs_key_site {
	struct gs_key_site_way {
		const struct gs_verb *verb;
		const char *key;
		int index;
	} way[1u << GS_KEY_SITE_BITS];
};

/* @op's argument @key (or NULL) when @w, its verb's way of a place's cache, does not hold it. */
const struct gs_arg *gs_op_arg_site_slow(const struct gs_op *op, const char *key,
					 struct gs_key_site_way *w);

/*
 * @op's argument @key found through the cache of the place that asks
 * (@site): a fuzz execution reads some 600 keys, and a probe of the
 * 48 KiB table of remembered pairs missed the L1 cache on most of them;
 * a place's own entry stays in it.
 */
static inline const struct gs_arg *gs_op_arg_site(const struct gs_op *op, const char *key,
						  struct gs_key_site *site)
{
	struct gs_key_site_way *w = &site->way[(gs_image_off(op->verb) * 0x9e3779b97f4a7c15ULL) >>
					       (64 - GS_KEY_SITE_BITS)];

	if (G_LIKELY(w->verb == op->verb && w->key == key))
		return op->args[w->index].present ? &op->args[w->index] : NULL;
	return gs_op_arg_site_slow(op, key, w);
}

static inline uint64_t gs_op_u64_site(const struct gs_op *op, const char *key, uint64_t dflt,
				      struct gs_key_site *site)
{
	const struct gs_arg *a = gs_op_arg_site(op, key, site);

	return a ? a->u : dflt;
}

static inline const char *gs_op_str_site(const struct gs_op *op, const char *key, const char *dflt,
					 struct gs_key_site *site)
{
	const struct gs_arg *a = gs_op_arg_site(op, key, site);

	return a ? a->str : dflt;
}

/* The cache of the place in the code this is written at. */
#define GS_KEY_SITE_HERE()                              \
	({                                              \
		static struct gs_key_site gs_key_site_; \
		&gs_key_site_;                          \
	})

/*
 * gs_op_has(), gs_op_u64() and gs_op_str() in line for the engine's own
 * files, each place with a cache of its own (gs_op_arg_site()). Same
 * answers: the functions in scenario.c ask the remembered pairs.
 */
#define gs_op_arg_fast(op, key)	 gs_op_arg_site(op, key, GS_KEY_SITE_HERE())
#define gs_op_has(op, key)	 (gs_op_arg_fast(op, key) != NULL)
#define gs_op_u64(op, key, dflt) gs_op_u64_site(op, key, dflt, GS_KEY_SITE_HERE())
#define gs_op_str(op, key, dflt) gs_op_str_site(op, key, dflt, GS_KEY_SITE_HERE())

/* A result with every field taken: WARNs once, NULL (the field is dropped). */
struct gs_result_field *gs_result_slot_full(struct gs_result *res);

/*
 * The field of @res called @key, or a new one: verbs name fields with
 * literals, merged into one copy, so the address is compared first, and
 * the text only for a name that starts the same way. In line for the
 * engine's own verbs (some 80 fields a fuzz execution, two calls each).
 */
static inline struct gs_result_field *gs_result_slot(struct gs_result *res, const char *key)
{
	for (unsigned int i = 0; i < res->nr; i++)
		if (res->fields[i].key == key ||
		    (res->fields[i].key[0] == key[0] && !strcmp(res->fields[i].key, key)))
			return &res->fields[i];
	if (G_UNLIKELY(res->nr == GS_MAX_FIELDS))
		return gs_result_slot_full(res);
	return &res->fields[res->nr++];
}

static inline void gs_result_set_fast(struct gs_result *res, const char *key, uint64_t val,
				      bool hex)
{
	struct gs_result_field *f = gs_result_slot(res, key);

	if (f)
		*f = (struct gs_result_field){.key = key, .is_hex = hex, .val = val};
}

/* gs_result_set() and gs_result_set_hex() in line; the exported functions are these. */
#define gs_result_set(res, key, val)	 gs_result_set_fast(res, key, val, false)
#define gs_result_set_hex(res, key, val) gs_result_set_fast(res, key, val, true)

#endif /* GS_LIB_SCENARIO_INT_H */
