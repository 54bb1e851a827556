/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, in the spirit of the kernel's fault-injection framework
 * (failslab, fail_page_alloc, /proc/<pid>/fail-nth) and SQLite's OOM loops.
 * Every allocation (and any other failure point that names a site) asks
 * gs_inject_should_fail() first. Rules select hits by site, by whether the
 * caller may block, and by call path (a hash of the backtrace), then fail the
 * N-th hit (once, or from then on), every hit, or hits drawn with a seeded
 * probability. Each injected failure is logged with its site and backtrace
 * hash, so distinct call paths into one site can be told apart and replayed.
 */
#ifndef GMEMSIM_INJECT_H
#define GMEMSIM_INJECT_H

#include <gmemsim/compiler.h>
#include <gmemsim/gfp.h>

enum gs_inject_mode {
	GS_INJECT_NTH,	 /* fail the nth matching hit (and later ones if persistent) */
	GS_INJECT_EVERY, /* fail every matching hit */
	GS_INJECT_PROB,	 /* fail each matching hit with a seeded probability */
};

enum gs_inject_gfp {
	GS_INJECT_GFP_ANY,    /* every allocation */
	GS_INJECT_GFP_NOWAIT, /* only allocations that may not block (kernel: ignore-gfp-wait) */
	GS_INJECT_GFP_WAIT,   /* only allocations that may block */
};

#define GS_INJECT_ANY_SITE  (-1)
#define GS_INJECT_MAX_RULES 16
#define GS_INJECT_PPM	    1000000u

/**
 * struct gs_inject_rule - what to fail
 * @site: a site id, or GS_INJECT_ANY_SITE
 * @mode: see enum gs_inject_mode
 * @nth: GS_INJECT_NTH: the 1-based matching hit that fails
 * @persistent: GS_INJECT_NTH: every matching hit after the nth fails too
 * @probability_ppm: GS_INJECT_PROB: chance per hit, parts per million
 * @seed: GS_INJECT_PROB: seed of the rule's own generator
 * @times: most failures this rule injects; 0 for no limit
 * @gfp: filter on the caller's ability to block
 * @stack: only hits whose backtrace hash equals this; 0 for any path
 */
struct gs_inject_rule {
	int site;
	enum gs_inject_mode mode;
	unsigned long nth;
	bool persistent;
	uint32_t probability_ppm;
	uint64_t seed;
	unsigned long times;
	enum gs_inject_gfp gfp;
	uint64_t stack;
};

/**
 * struct gs_inject_record - one injected failure
 * @site: where
 * @stack: backtrace hash of the call path (stable for one binary across runs)
 * @hit: the rule's matching-hit number that failed (1-based)
 * @rule: id of the rule that fired
 * @size: bytes asked for (0 for failure points that do not allocate)
 * @gfp: the caller's flags
 */
struct gs_inject_record {
	unsigned int site;
	uint64_t stack;
	unsigned long hit;
	int rule;
	size_t size;
	gfp_t gfp;
};

/**
 * gs_inject_arm() - add a rule
 * @rule: the rule; copied
 *
 * Counting of hits for the rule starts now, as with writing N to fail-nth.
 *
 * Context: any.
 * Return: the rule id (>= 0), -EINVAL for an unknown site, nth == 0 in
 * NTH mode or a probability above 10^6 ppm, -ENOSPC when all
 * GS_INJECT_MAX_RULES slots are armed.
 */
GS_API int gs_inject_arm(const struct gs_inject_rule *rule);

/** gs_inject_disarm() - remove rule @id; unknown ids are ignored */
GS_API void gs_inject_disarm(int id);

/** gs_inject_disarm_all() - remove every rule; the failure log is kept */
GS_API void gs_inject_disarm_all(void);

/** gs_inject_reset() - remove every rule and clear the failure log */
GS_API void gs_inject_reset(void);

/* Number of armed rules; exported so the check on every allocation stays inline. */
extern GS_API unsigned int gs_inject_nr_armed;
/* Non-zero while gs_inject_set_counting() is on; read by the same inline check. */
extern GS_API unsigned int gs_inject_counting;

/** gs_inject_active() - true when any rule is armed or queries are being counted */
static inline bool gs_inject_active(void)
{
	return (gs_inject_nr_armed | gs_inject_counting) != 0;
}

/**
 * gs_inject_set_counting() - count every query, armed rules or not
 * @on: start (true) or stop (false) counting
 *
 * Allocations ask the injector only while a rule is armed; with counting on
 * they ask it always, so gs_inject_queries() sees every failure point an
 * operation passes. The scenario fail-nth runner uses it to learn how many
 * allocations each line makes before failing each of them in turn.
 *
 * Context: any; not thread-safe (neither is the injector).
 */
GS_API void gs_inject_set_counting(bool on);

/**
 * gs_inject_queries() - queries made since the process started
 *
 * Every call of gs_inject_should_fail() that a GS_INJECT_ANY_SITE rule with
 * no gfp or stack filter would count (that is, every call without
 * __GFP_NOFAIL) is counted, so "fail the nth query from now" and "the nth
 * increment of this counter from now" name the same call.
 *
 * Context: any.
 * Return: the count; only differences between two reads mean anything.
 */
GS_API unsigned long gs_inject_queries(void);

/**
 * gs_inject_site_queries() - gs_inject_queries() of one site
 * @site: site id
 *
 * Lets a campaign tell which sites an operation's queries went to (the
 * fail-nth runner's coverage, `gmemsim sites --coverage`).
 *
 * Context: any.
 * Return: the count (0 for an unknown id); only differences mean anything.
 */
GS_API unsigned long gs_inject_site_queries(unsigned int site);

/**
 * gs_inject_rule_fired() - failures injected by rule @id so far
 *
 * Return: the count, or 0 for an unknown id.
 */
GS_API unsigned long gs_inject_rule_fired(int id);

/**
 * gs_inject_rule_spent() - rule @id can fail nothing more
 *
 * A transient nth rule whose nth hit has passed, or a rule that injected its
 * @times failures, still counts hits but never fails another: what runs
 * after it behaves as if it were not armed.
 *
 * Context: any.
 * Return: true for a spent rule or an id not armed.
 */
GS_API bool gs_inject_rule_spent(int id);

/**
 * gs_inject_should_fail() - ask whether this hit of @site must fail
 * @site: site id
 * @size: bytes being allocated (0 for a non-allocating failure point)
 * @gfp: the caller's flags; __GFP_NOFAIL hits never fail and are not counted
 *
 * Called by gs_alloc(); failure points that are not allocations call it
 * directly with their own site.
 *
 * Context: any.
 * Return: true if the caller must fail.
 */
GS_API bool gs_inject_should_fail(unsigned int site, size_t size, gfp_t gfp);

/** gs_inject_nr_failures() - injected failures logged since the last gs_inject_reset() */
GS_API unsigned long gs_inject_nr_failures(void);

/**
 * gs_inject_failure() - one logged failure
 * @i: 0 .. gs_inject_nr_failures() - 1; the log keeps the first GS_INJECT_LOG_MAX
 *
 * Return: the record, or NULL past the end of what is kept.
 */
GS_API const struct gs_inject_record *gs_inject_failure(unsigned long i);
#define GS_INJECT_LOG_MAX 4096

/**
 * gs_backtrace_hash() - hash of the current call path
 * @skip: innermost frames to leave out
 *
 * The innermost GS_INJECT_STACK_DEPTH frames (after @skip) are hashed, as
 * offsets inside their loaded objects, so the hash is the same from run to
 * run of one binary despite address randomisation.
 *
 * Return: a non-zero 64-bit hash.
 */
GS_API uint64_t gs_backtrace_hash(unsigned int skip);
#define GS_INJECT_STACK_DEPTH 8

/**
 * struct gs_fail_nth - configuration of gs_fail_nth_loop()
 * @site: site to count, or GS_INJECT_ANY_SITE for every allocation
 * @persistent: once the nth hit fails, keep failing (SQLite "persistent")
 * @gfp: filter, as in struct gs_inject_rule
 * @max_n: give up after this many iterations (0: 1,000,000)
 */
struct gs_fail_nth {
	int site;
	bool persistent;
	enum gs_inject_gfp gfp;
	unsigned long max_n;
};

/**
 * struct gs_fail_nth_ops - the operation under test
 * @prepare: build the state the operation starts from (not counted); may be NULL
 * @op: the operation; returns 0 or a negative errno
 * @check: called after every run with the injector disarmed: @ret is what
 *         @op returned, @n the failing hit, @injected whether a failure was
 *         actually injected. It verifies the state (unchanged after a
 *         failure) and tears it down. May be NULL.
 */
struct gs_fail_nth_ops {
	void (*prepare)(void *arg);
	int (*op)(void *arg);
	void (*check)(void *arg, int ret, unsigned long n, bool injected);
};

/**
 * gs_fail_nth_loop() - run an operation failing its 1st, 2nd, ... allocation
 * @cfg: what to fail
 * @ops: prepare/op/check callbacks
 * @arg: passed to every callback
 * @iterations: if not NULL, set to the number of runs (including the last,
 *              clean one)
 *
 * For n = 1, 2, ...: prepare, arm "fail the nth hit", run, disarm, check.
 * Stops at the first run in which nothing was injected: the operation then
 * completed with every allocation it needs, so each of its failure points has
 * been exercised once.
 *
 * Context: must not be nested; rules armed by the caller stay armed.
 * Return: the last run's result (0 or -errno), or -E2BIG if max_n runs all
 * had a failure injected, or -ENOSPC if no rule slot was free.
 */
GS_API int gs_fail_nth_loop(const struct gs_fail_nth *cfg, const struct gs_fail_nth_ops *ops,
			    void *arg, unsigned long *iterations);

/**
 * enum gs_test_bug - bugs a test can plant in the simulator (TEST-ONLY)
 * @GS_BUG_SKIP_ZERO: a folio's first use does not zero it (P10 broken)
 * @GS_BUG_STALE_ATTRIBUTE: a successful conversion stores the old value (P7.4 broken)
 * @GS_BUG_ERROR_OFFSET: EAGAIN's error_offset names the page after the right one
 * @GS_BUG_MAP_ORDER_UNROUNDED: get_pfn's max_order is the mapping order over
 *	[index, index + 2^page_order) (P39's unrounded range) with no folio cap,
 *	and KVM takes it as the attribute bound (P29, P40 broken: over-maps)
 * @GS_BUG_HUGE_LEAF_AFTER_SPLIT: a planned to-shared conversion splits the
 *	huge folio without splitting the private stage-2 leaf over it first,
 *	and the exact zap leaves that leaf mapped huge (P40, P41 broken)
 * @GS_BUG_NO_MERGE_TO_PRIVATE: a conversion to private that makes a huge page
 *	all private does not merge its pieces (no HVO either; P25, P37, P41)
 * @GS_BUG_NR: how many there are
 *
 * They exist so that the oracle's tests and the fuzzers can show they catch
 * each (docs/ORACLE.md, "Planted bugs"); nothing else may set them. Their
 * names (gs_test_bug_name()) are stable: scenarios plant them by name
 * (`plant bug=NAME`, `gmemsim run --plant NAME`).
 */
enum gs_test_bug {
	GS_BUG_SKIP_ZERO,
	GS_BUG_STALE_ATTRIBUTE,
	GS_BUG_ERROR_OFFSET,
	GS_BUG_MAP_ORDER_UNROUNDED,
	GS_BUG_HUGE_LEAF_AFTER_SPLIT,
	GS_BUG_NO_MERGE_TO_PRIVATE,
	GS_BUG_NR,
};

/*
 * The names of enum gs_test_bug, in its order, NULL-terminated
 * ("skip-zero", ..., "no-merge-to-private"). TEST-ONLY.
 */
extern GS_API const char *const gs_test_bug_names[GS_BUG_NR + 1];

/**
 * gs_test_bug_name() - the stable name of @bug
 * @bug: which
 *
 * Context: any.
 * Return: the name, or NULL for a value out of range.
 */
GS_API const char *gs_test_bug_name(enum gs_test_bug bug);

/**
 * gs_test_bug_lookup() - the bug called @name
 * @name: a name from gs_test_bug_names
 *
 * Context: any.
 * Return: the enum gs_test_bug value, or -EINVAL for an unknown name.
 */
GS_API int gs_test_bug_lookup(const char *name);

/* The planted bugs: a bit per enum gs_test_bug. All clear by default. */
extern GS_API unsigned int gs_test_bugs;

/**
 * gs_test_plant_bug() - plant (or remove) a bug in the simulator. TEST-ONLY.
 * @bug: which
 * @on: plant it (true) or take it out (false)
 *
 * Context: between operations; not thread-safe.
 */
GS_API void gs_test_plant_bug(enum gs_test_bug bug, bool on);

/** gs_test_bug() - whether @bug is planted (one load and a test in the simulator's paths) */
static inline bool gs_test_bug(enum gs_test_bug bug)
{
	return gs_test_bugs & (1u << bug);
}

#endif /* GMEMSIM_INJECT_H */
