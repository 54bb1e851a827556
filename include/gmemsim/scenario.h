/* SPDX-License-Identifier: MIT */
/*
 * The .gms scenario language: one operation per line,
 *
 *     verb [target] [key=value | flag]... [=> expectation] [# comment]
 *
 * parsed against a registry of verbs (each module adds its own), run in
 * order, each result compared with its expectation. The same text is the
 * teaching input, the fuzzer's crash output and the regression-test format.
 * This is the front layer's engine; it lives in the library so the CLI, the
 * tests, the fuzzers and programs built on gmemsim share one implementation.
 * Nothing below the front layer calls it. See docs/SCENARIOS.md.
 */
#ifndef GMEMSIM_SCENARIO_H
#define GMEMSIM_SCENARIO_H

#include <stdio.h>
#include <gmemsim/check.h>
#include <gmemsim/compiler.h>
#include <gmemsim/rng.h>
#include <gmemsim/sites.h>
#include <gmemsim/state.h>

/* Exit statuses of a scenario run (and of `gmemsim run`). */
enum gs_exit {
	GS_EXIT_OK = 0,	   /* every expectation met */
	GS_EXIT_FAIL = 1,  /* an expectation or invariant check failed, or a WARN went unexpected */
	GS_EXIT_USAGE = 2, /* bad command line, unreadable file */
	GS_EXIT_SYNTAX = 3, /* malformed scenario, or an operation that cannot run (file:line) */
	GS_EXIT_LEAK = 4,   /* teardown found memory still allocated */
	GS_EXIT_SKIP = 77,  /* the backend is not available here (meson's skip status) */
};

enum gs_backend {
	GS_BACKEND_SIM = 1u << 0,    /* libgmemsim */
	GS_BACKEND_KERNEL = 1u << 1, /* the running kernel's /dev/kvm */
};

enum gs_arg_type {
	GS_ARG_NONE,  /* verb takes no target */
	GS_ARG_U64,   /* number: decimal or 0x hex, optional K/M/G/T suffix (x1024) */
	GS_ARG_STR,   /* word or "quoted string" */
	GS_ARG_FLAGS, /* a|b|c: names from the key's list, or numbers, OR-ed */
	GS_ARG_ENUM,  /* one name from the key's list */
	GS_ARG_BOOL,  /* key=1|0|true|false|yes|no, or the bare key for true */
};

/**
 * struct gs_key - one key a verb accepts
 * @name: the key
 * @type: its value type
 * @names: GS_ARG_FLAGS / GS_ARG_ENUM: accepted names, NULL-terminated
 * @values: value of each name; NULL means 1 << i for flags and i for enums
 * @required: the key must be given
 * @help: one line for `gmemsim verbs`
 */
struct gs_key {
	const char *name;
	enum gs_arg_type type;
	const char *const *names;
	const uint64_t *values;
	bool required;
	const char *help;
};

#define GS_MAX_KEYS    16
#define GS_MAX_FIELDS  16
#define GS_MAX_EXPECTS 16

/* A parsed key=value; index i of gs_op.args belongs to verb->keys[i]. */
struct gs_arg {
	bool present;
	uint64_t u;	 /* U64, FLAGS, ENUM, BOOL */
	const char *str; /* STR (and the raw text of every type; fuzz-built numbers: NULL) */
};

struct gs_expect_item {
	const char *key;
	const char *raw; /* as written */
	bool is_num;
	uint64_t num;
};

/**
 * struct gs_expect - what follows "=>"
 * @has_ret: a bare result was given (0, an errno name, a number)
 * @ret: expected return: 0, -errno or the number
 * @sig: expected signal (SIGBUS, ...), 0 if none named
 * @items: key=value expectations on result fields or registered kinds
 * @blanks: answer slots: a bare '?' for the result or 'key=?' for a field, left
 *          for a workshop attendee to fill in (docs/WORKSHOP.md); a line with
 *          any is not run, the run stops there with "fill in the answer"
 */
struct gs_expect {
	bool has_ret;
	long long ret;
	int sig;
	unsigned int nr;
	struct gs_expect_item items[GS_MAX_EXPECTS];
	unsigned int blanks;
};

struct gs_verb;

/**
 * struct gs_op - one parsed line
 * @file: file name as given
 * @line: 1-based line number
 * @verb: the verb
 * @target: the target word, NULL if none
 * @target_u64: the target as a number, when the verb's target type is GS_ARG_U64
 * @text: for verbs taking free text (note): the rest of the line
 * @args: values by key index
 * @has_expect: an "=>" was given
 * @expect: the expectation
 * @src: the line as written (without comment); NULL for an operation made
 *       without text (the fuzz decoder's, see include/gmemsim/fuzz.h)
 */
struct gs_op {
	const char *file;
	unsigned int line;
	const struct gs_verb *verb;
	const char *target;
	uint64_t target_u64;
	const char *text;
	struct gs_arg args[GS_MAX_KEYS];
	bool has_expect;
	struct gs_expect expect;
	const char *src;
};

struct gs_result_field {
	const char *key;
	bool is_str;
	bool is_hex; /* an offset or address: printed in hex */
	uint64_t val;
	const char *str;
};

/**
 * struct gs_result - what an operation did
 * @ret: 0 or -errno (or a count for verbs that say so)
 * @sig: signal the operation raised (host access to a private page: SIGBUS)
 * @skipped: the backend cannot do this operation
 * @warns: WARNs reported while the operation ran (filled in by the runner)
 * @nr: number of @fields
 * @fields: named outputs (st_blocks, error_offset, ...)
 * @why: why the result is not what was expected (assertion verbs), or a hint on
 *       it (a read of metadata-only memory); printed with an unmet expectation
 */
struct gs_result {
	long long ret;
	int sig;
	bool skipped;
	unsigned long warns;
	unsigned int nr;
	struct gs_result_field fields[GS_MAX_FIELDS];
	char why[192];
};

struct gs_scenario;

/**
 * struct gs_fail_nth_effort - a failure the verb absorbs by doing less
 * @target: only with this target (verbs whose target is a sub-command); NULL: any
 * @site: only a failure at this allocation site; NULL: any
 *
 * Lists end with an entry whose @target and @site are both NULL.
 */
struct gs_fail_nth_effort {
	const char *target;
	const char *site;
};

/**
 * struct gs_verb_fail_nth - the kernel's answer to a failed allocation, per verb
 * @errnos: errnos besides ENOMEM the operation may fail with (the kernel maps
 *          a failed allocation to them on this path), 0-terminated; may be NULL
 * @best_effort: failures after which the operation succeeds with less
 *               (docs/SCENARIOS.md, "fail-nth"); may be NULL
 * @progress: a result field saying how much a failed operation did before it
 *            failed (non-zero: done in part, the state may differ); may be NULL
 */
struct gs_verb_fail_nth {
	const int *errnos;
	const struct gs_fail_nth_effort *best_effort;
	const char *progress;
};

/**
 * struct gs_verb - a scenario verb
 * @name: the verb as written in scenarios
 * @summary: one line for `gmemsim verbs`
 * @target: GS_ARG_NONE, GS_ARG_STR or GS_ARG_U64
 * @target_required: the target must be given
 * @text: the verb takes the rest of the line as free text (no keys, no expectation)
 * @keys: accepted keys, terminated by an entry with a NULL name; may be NULL
 * @outputs: result fields the verb reports (for key=value expectations), NULL-terminated
 * @backends: GS_BACKEND_* the verb runs on; others report it skipped
 * @strict: a line without "=>" must succeed (result 0 or more, no signal);
 *          without it, any result is accepted (`gmemsim verbs` marks strict verbs)
 * @no_fail_nth: not an operation on the simulated state (narration, checks,
 *               injection rules): the fail-nth runner does not fail its
 *               allocations (see gs_scenario_fail_nth_file())
 * @fail_nth: how the fail-nth runner judges the verb's answer to a failed
 *            allocation (struct gs_verb_fail_nth)
 * @usage_target: the target as `gmemsim verbs` shows it ("pool|stat|...");
 *                NULL: NAME for a word, N for a number
 * @validate: extra parse-time checks; write a message to @err and return
 *            non-zero to reject the line. May be NULL.
 * @run: do it, on either backend (a verb that both backends run reaches
 *       guest_memfd and KVM through the syscall table, <gmemsim/sys.h>).
 *       Return 0 with @res filled in, or non-zero after
 *       gs_scenario_error() when the operation cannot run at all (unknown
 *       object, ...); that ends the run with GS_EXIT_SYNTAX.
 */
struct gs_verb {
	const char *name;
	const char *summary;
	enum gs_arg_type target;
	bool target_required;
	bool text;
	const struct gs_key *keys;
	const char *const *outputs;
	unsigned int backends;
	bool strict;
	bool no_fail_nth;
	struct gs_verb_fail_nth fail_nth;
	const char *usage_target;
	int (*validate)(const struct gs_op *op, char *err, size_t len);
	int (*run)(struct gs_scenario *s, const struct gs_op *op, struct gs_result *res);
};

/**
 * struct gs_expect_kind - an expectation key with its own matcher
 * @key: the key after "=>", e.g. "warns"
 * @summary: one line for `gmemsim verbs`
 * @match: return true if @res satisfies @item; else write the actual value
 *         to @actual
 */
struct gs_expect_kind {
	const char *key;
	const char *summary;
	bool (*match)(const struct gs_result *res, const struct gs_expect_item *item, char *actual,
		      size_t len);
};

/**
 * gs_verb_register() - add a verb
 * @verb: must stay valid for the life of the process
 *
 * Context: before scenarios run; not thread-safe.
 * Return: 0, -EINVAL (no name or run hook, too many keys), -EEXIST.
 */
GS_API int gs_verb_register(const struct gs_verb *verb);

/** gs_verb_lookup() - the verb called @name, or NULL */
GS_API const struct gs_verb *gs_verb_lookup(const char *name);

/**
 * gs_verb_nth() - enumerate verbs in registration order
 * Return: the @i-th verb, or NULL past the end.
 */
GS_API const struct gs_verb *gs_verb_nth(unsigned int i);

/** gs_expect_kind_register() - add an expectation kind; 0, -EINVAL or -EEXIST */
GS_API int gs_expect_kind_register(const struct gs_expect_kind *kind);

/** gs_expect_kind_nth() - enumerate expectation kinds; NULL past the end */
GS_API const struct gs_expect_kind *gs_expect_kind_nth(unsigned int i);

/**
 * struct gs_scenario_module - verbs that register themselves with the engine
 * @name: unique; names the module in messages
 * @priority: modules register in increasing @priority, then by @name: lower
 *            layers first (GS_MODULE_PRIO_*), so `gmemsim verbs` reads bottom-up
 * @verbs: the module's verbs, NULL-terminated; may be NULL
 * @kinds: its expectation kinds, NULL-terminated; may be NULL
 * @teardown: at the end of every run, after every object is destroyed: give
 *            back what the module's verbs left to the simulated machine; may be NULL
 * @best_effort_sites: allocation sites whose failure any verb absorbs by
 *                     doing less (an optimization skipped, as the kernel
 *                     does), for the fail-nth runner; NULL-terminated; may be NULL
 * @next: the engine's list; leave it NULL
 *
 * The engine never names a module: each registers its descriptor from a
 * constructor (GS_SCENARIO_MODULE()), and gs_scenario_init() takes them in
 * order.
 */
struct gs_scenario_module {
	const char *name;
	int priority;
	const struct gs_verb *const *verbs;
	const struct gs_expect_kind *const *kinds;
	void (*teardown)(void);
	const char *const *best_effort_sites;
	struct gs_scenario_module *next;
};

enum {
	GS_MODULE_PRIO_CORE = 0,     /* the engine's own verbs */
	GS_MODULE_PRIO_MEMORY = 100, /* HugeTLB, HVO */
	GS_MODULE_PRIO_LAYER = 200,  /* guest_memfd, KVM */
	GS_MODULE_PRIO_USER = 1000,  /* programs built on gmemsim */
};

/**
 * gs_scenario_module_register() - add a module (from a constructor)
 * @m: the descriptor; must stay valid for the life of the process
 *
 * Allocates nothing. A module registered after gs_scenario_init() has its
 * verbs registered at once.
 *
 * Context: before main() or before scenarios run; not thread-safe.
 */
GS_API void gs_scenario_module_register(struct gs_scenario_module *m);

/* Register @mod (a struct gs_scenario_module) before main() runs. */
#define GS_SCENARIO_MODULE(mod)                                          \
	__attribute__((constructor)) static void gs_register_##mod(void) \
	{                                                                \
		gs_scenario_module_register(&(mod));                     \
	}

/**
 * gs_scenario_module_nth() - enumerate modules in load order ((priority, name))
 * @i: index from 0
 *
 * Context: not concurrently with gs_scenario_module_register().
 * Return: the @i-th module, or NULL past the end.
 */
GS_API const struct gs_scenario_module *gs_scenario_module_nth(unsigned int i);

/**
 * gs_scenario_init() - register every module's verbs (idempotent)
 *
 * Called by gs_scenario_new(); call it directly to list verbs before any
 * scenario exists.
 */
GS_API void gs_scenario_init(void);

/**
 * struct gs_scenario_opts - how to run
 * @seed: initial seed (the `seed` verb reseeds)
 * @backend: GS_BACKEND_SIM or GS_BACKEND_KERNEL
 * @out: results, notes, summaries (stdout if NULL)
 * @err: errors and failed expectations (stderr if NULL)
 * @verbose: print every operation and its result
 * @quiet: print nothing but errors (notes and summary suppressed)
 * @keep_going: continue after a failed expectation
 * @strict: lines without an expectation must return 0
 * @on_result: if not NULL, called with every line's result as run (before
 *             its expectation is judged); the differential runner records
 *             results through it. @res and @op are valid during the call only.
 * @on_result_arg: passed to @on_result
 * @on_result_status_only: @on_result reads only a result's status (its
 *                         return, errno and WARN count), not the outputs
 *                         that cost a walk of the file (convert's folio
 *                         counts, read's nodata): they are left out
 * @oracle: follow every guest_memfd line with the per-page oracle (sim backend
 *          only; docs/ORACLE.md): a line whose answer or resulting state
 *          differs from the oracle's prediction fails
 * @plant: TEST-ONLY: bugs (a bit per enum gs_test_bug) planted at the start of
 *         every run, as `plant bug=NAME` lines would; every run ends with
 *         the planted bugs it began with (docs/ORACLE.md, "Planted bugs")
 * @persistent: the runner runs many inputs, one after another (fuzzing):
 *              freed 2 MiB pages keep their struct pages in the host, zeroed,
 *              instead of giving them back and faulting them in again, and
 *              each run starts from the pfn layout and inode numbers of a
 *              fresh process (when nothing is allocated at its start) and
 *              trace sequence 0; a 2 MiB pool's clean pages are kept
 *              (parked) for the next input's pool, which takes them where
 *              a fresh process would get the same pfns (docs/FUZZING.md,
 *              "The pool kept across inputs"). Teardown, leak and WARN
 *              checks run after every input as without it.
 *              docs/PERFORMANCE.md, "Fuzzing throughput"
 * @metadata_only: the machine keeps no page data during each run (`machine
 *                 backing=none` until a `machine` line says otherwise): reads
 *                 see zeros and the oracle predicts no content; nothing is
 *                 cleared or copied in the host
 */
struct gs_scenario_opts {
	uint64_t seed;
	enum gs_backend backend;
	FILE *out;
	FILE *err;
	bool verbose;
	bool quiet;
	bool keep_going;
	bool strict;
	void (*on_result)(void *arg, const struct gs_op *op, const struct gs_result *res);
	void *on_result_arg;
	bool on_result_status_only;
	bool oracle;
	unsigned int plant;
	bool persistent;
	bool metadata_only;
};

/**
 * gs_scenario_new() - a runner with an empty object namespace
 * @opts: copied; NULL for defaults (seed 0, sim backend)
 *
 * Return: the runner, or NULL when out of memory.
 */
GS_API struct gs_scenario *gs_scenario_new(const struct gs_scenario_opts *opts);

/** gs_scenario_free() - destroy the runner (objects left are torn down) */
GS_API void gs_scenario_free(struct gs_scenario *s);

/**
 * gs_scenario_run_file() - parse and run one file
 * @s: runner
 * @path: file
 *
 * The file is parsed completely before anything runs, so a malformed line
 * is reported as "file:line: message" with no side effects. After the last
 * line every object is torn down and the allocator is checked for leaks.
 * Fault-injection rules and WARN accounting are reset at the start.
 *
 * Return: an enum gs_exit value.
 */
GS_API int gs_scenario_run_file(struct gs_scenario *s, const char *path);

/**
 * gs_scenario_run_buffer() - as gs_scenario_run_file() on text in memory
 * @s: runner
 * @name: file name used in messages
 * @text: the scenario; need not be NUL-terminated; any bytes are accepted
 * @len: its length
 *
 * Return: an enum gs_exit value.
 */
GS_API int gs_scenario_run_buffer(struct gs_scenario *s, const char *name, const char *text,
				  size_t len);

/**
 * gs_scenario_state() - snapshot everything a failed operation must leave unchanged
 * @s: runner
 *
 * The records of every object in creation order (objects/NAME/...: the
 * type's dump hook, else its `show` lines), of every registered state
 * dumper (the layers' own: allocation sites' live objects and bytes,
 * HugeTLB pools, subpools and cgroups, HVO; <gmemsim/state.h>), and of the
 * invariant checks: every violation message of every registered checker
 * and object check (checks violation=...) and their number (checks
 * violations=N).
 *
 * Context: between operations of a run.
 * Return: the snapshot; free it with gs_state_free().
 */
GS_API struct gs_state *gs_scenario_state(struct gs_scenario *s);

/**
 * gs_scenario_state_into() - gs_scenario_state() into a snapshot the caller made
 * @s: runner
 * @st: an empty snapshot, perhaps with gs_state_set_detail() (renders)
 *
 * Context: between operations of a run.
 */
GS_API void gs_scenario_state_into(struct gs_scenario *s, struct gs_state *st);

/**
 * gs_scenario_dump_state() - gs_scenario_state() as text (gs_state_write())
 * @s: runner
 * @f: where to write
 *
 * Two dumps taken around an operation that failed are equal byte for byte
 * if it left no trace.
 *
 * Context: between operations of a run.
 */
GS_API void gs_scenario_dump_state(struct gs_scenario *s, FILE *f);

/**
 * enum gs_fail_nth_mode - how long an injected failure lasts
 * @GS_FAIL_NTH_TRANSIENT: the nth query of the line fails, later ones succeed
 *                         (the kernel's fail-nth)
 * @GS_FAIL_NTH_PERSISTENT: the nth and every later query of the line fail
 *                          (SQLite's persistent OOM: rollback and retry paths
 *                          meet a second failure); the injector is disarmed
 *                          after the line
 * @GS_FAIL_NTH_BOTH: each chosen n twice, transient then persistent
 */
enum gs_fail_nth_mode {
	GS_FAIL_NTH_TRANSIENT,
	GS_FAIL_NTH_PERSISTENT,
	GS_FAIL_NTH_BOTH,
};

/**
 * struct gs_fail_nth_site_cov - one allocation site in a fail-nth campaign
 * @lines: tested lines whose clean run queried the site
 * @queries: their queries at the site: the injection points it offers
 * @points: distinct injection points (file, line, n) whose failed query was
 *          at the site; below @queries where the runner sampled
 * @injected: failures injected at the site, every mode (a persistent
 *            attempt fails several queries, at this site or others)
 */
struct gs_fail_nth_site_cov {
	unsigned long lines;
	unsigned long queries;
	unsigned long points;
	unsigned long injected;
};

/**
 * struct gs_fail_nth_coverage - what a campaign reached, per site
 * @files: scenarios run into it
 * @site: per site id (gs_site_count() of them used)
 *
 * Zero it once; every gs_scenario_fail_nth_buffer() given it adds to it.
 */
struct gs_fail_nth_coverage {
	unsigned int files;
	struct gs_fail_nth_site_cov site[GS_MAX_SITES];
};

/**
 * struct gs_fail_nth_opts - how gs_scenario_fail_nth_file() bounds its work
 * @max: per line, at most this many injections: with more queries than
 *       that, n = 1..max/2, the last max/4 and a seeded sample of the rest;
 *       0 tests every n
 * @seed: seed of the sample (each line draws from @seed and its line number)
 * @out: summary and sampling notes (stdout if NULL)
 * @err: findings (stderr if NULL)
 * @verbose: print each line's query count and every injection's outcome
 * @mode: transient (the default), persistent or both
 * @coverage: if not NULL, the run's per-site coverage is added to it
 */
struct gs_fail_nth_opts {
	unsigned int max;
	uint64_t seed;
	FILE *out;
	FILE *err;
	bool verbose;
	enum gs_fail_nth_mode mode;
	struct gs_fail_nth_coverage *coverage;
};

#define GS_FAIL_NTH_DEFAULT_MAX 32

/**
 * struct gs_fail_nth_stats - what gs_scenario_fail_nth_file() did
 * @lines: operation lines tested (at least one query, not a meta verb)
 * @skipped: lines with queries skipped because a rule armed by the
 *           scenario's own `inject` was in force
 * @injections: injected attempts
 * @failed_clean: attempts that failed with an allowed errno and left no trace
 * @absorbed: attempts that gave the clean run's result and state despite
 *            the failure (a retried GFP_NOWAIT allocation)
 * @partial: attempts that did less where the kernel does too: a best-effort
 *           path (a pool grown by fewer pages, HVO not applied, a surplus
 *           page kept) that succeeded with another result or state, after
 *           which later lines are not run but the checkers and a leak-free
 *           teardown must pass; or a host read/write whose later page faults
 *           failed after earlier ones were done
 * @findings: anything wrong (each reported as file:line on @err)
 * @persistent: of @injections, those run in persistent mode
 */
struct gs_fail_nth_stats {
	unsigned int lines;
	unsigned int skipped;
	unsigned long injections;
	unsigned long failed_clean;
	unsigned long absorbed;
	unsigned long partial;
	unsigned long findings;
	unsigned long persistent;
};

/**
 * gs_scenario_fail_nth_buffer() - fail every allocation of every operation in turn
 * @opts: how to run the scenario (seed, streams); always the sim backend
 * @fopts: bounds and streams of the runner; NULL for defaults
 * @name: file name used in messages
 * @text: the scenario
 * @len: its length
 * @stats: if not NULL, filled in
 *
 * A clean run counts the fault-injector queries each line makes. Then the
 * scenario is replayed (in forked children, so each attempt starts from the
 * state the clean run had before the line) and for each counted line L and
 * each chosen n: dump the state, fail the nth query of L once, run L. If L
 * fails, its errno must be ENOMEM (the kernel's answer to a failed
 * allocation) and the dump after must equal the dump before; L is then run
 * again without injection and the scenario runs to its end with every
 * expectation met, no WARN and no leak. If L succeeds with the clean run's
 * result, the failure was absorbed: the state must be the clean run's and
 * the same holds. A best-effort operation may do less (see
 * docs/SCENARIOS.md). A crash, a WARN, a leak, a state difference or an
 * unmet expectation is a finding, reported as "file:line: verb nth=N
 * (site S, stack H): what", with a diff of the dumps for a state
 * difference. A per-file summary goes to @fopts->out.
 *
 * With @opts->oracle the per-page oracle follows the whole run (clean run,
 * replay, every child): the injected attempt's answer goes to it too (an
 * injected ENOMEM through gs_oracle_unpredicted(): the model is kept where
 * the ordering promises all or nothing, the file dropped where it allows
 * progress), before the state is dumped, so every checker, the oracle
 * included, is held to it; a disagreement is a finding. @fopts->mode
 * chooses transient or persistent failures, or both.
 *
 * The children write to the streams through their file descriptors: pass
 * files or pipes (a memstream would lose what the children print).
 *
 * Context: forks; not thread-safe; the calling process's library state is
 * not changed (everything runs in children).
 * Return: GS_EXIT_OK with no finding, GS_EXIT_FAIL with findings (or a
 * failing clean run), GS_EXIT_SYNTAX for a malformed scenario,
 * GS_EXIT_USAGE when children cannot be started or @fopts->mode is unknown.
 */
GS_API int gs_scenario_fail_nth_buffer(const struct gs_scenario_opts *opts,
				       const struct gs_fail_nth_opts *fopts, const char *name,
				       const char *text, size_t len,
				       struct gs_fail_nth_stats *stats);

/**
 * gs_scenario_fail_nth_file() - gs_scenario_fail_nth_buffer() on a file
 * @opts: as for gs_scenario_fail_nth_buffer()
 * @fopts: as for gs_scenario_fail_nth_buffer()
 * @path: the scenario file
 * @stats: if not NULL, filled in
 *
 * Context: as gs_scenario_fail_nth_buffer().
 * Return: as gs_scenario_fail_nth_buffer(), or GS_EXIT_USAGE for an
 * unreadable file.
 */
GS_API int gs_scenario_fail_nth_file(const struct gs_scenario_opts *opts,
				     const struct gs_fail_nth_opts *fopts, const char *path,
				     struct gs_fail_nth_stats *stats);

/**
 * gs_fail_nth_coverage_print() - the campaign's injection points per site
 * @f: where to print
 * @cov: what gs_scenario_fail_nth_buffer() runs added up
 *
 * One line per site reached (lines, injection points offered, points
 * injected and their share, failures injected), then the sites no line
 * reached. `gmemsim sites --coverage` prints this.
 *
 * Context: any.
 * Return: the number of sites never reached.
 */
GS_API unsigned int gs_fail_nth_coverage_print(FILE *f, const struct gs_fail_nth_coverage *cov);

/** gs_scenario_exit_name() - short name of an enum gs_exit value */
GS_API const char *gs_scenario_exit_name(int code);

/* --- for verb implementations --- */

/** gs_scenario_error() - report "file:line: message" for @op; returns -1 */
GS_API int gs_scenario_error(struct gs_scenario *s, const struct gs_op *op, const char *fmt, ...)
	__printf(3, 4);

/** gs_scenario_out() - stream for verb output (show, note) */
GS_API FILE *gs_scenario_out(struct gs_scenario *s);

/** gs_scenario_quiet() - true when verbs should print nothing */
GS_API bool gs_scenario_quiet(struct gs_scenario *s);

/** gs_scenario_persistent() - true for a runner of many inputs (gs_scenario_opts.persistent) */
GS_API bool gs_scenario_persistent(const struct gs_scenario *s);

/**
 * gs_scenario_output_wanted() - whether anything will read an output of @op beyond its answer
 * @s: runner
 * @op: the line
 *
 * A quiet run with no expectation on the line, no trace sink, no -v and no
 * result callback (or one that reads the status only, as the fuzzers' and
 * the reducer's) reads only the return value (and the oracle, the fields
 * it compares): a verb may skip an output that costs a walk of the file.
 *
 * Context: in a verb's run().
 * Return: false when such an output would be thrown away.
 */
GS_API bool gs_scenario_output_wanted(struct gs_scenario *s, const struct gs_op *op);

/** gs_scenario_rng() - the run's seeded generator */
GS_API struct gs_rng *gs_scenario_rng(struct gs_scenario *s);

/** gs_scenario_reseed() - restart the generator (the `seed` verb) */
GS_API void gs_scenario_reseed(struct gs_scenario *s, uint64_t seed);

/** gs_scenario_backend() - the backend this run uses */
GS_API enum gs_backend gs_scenario_backend(struct gs_scenario *s);

/* Argument access by key name; the name must be one of the verb's keys. */
GS_API bool gs_op_has(const struct gs_op *op, const char *key);
GS_API uint64_t gs_op_u64(const struct gs_op *op, const char *key, uint64_t dflt);
GS_API const char *gs_op_str(const struct gs_op *op, const char *key, const char *dflt);

/** gs_result_set() - add or replace a numeric result field (@key must be static) */
GS_API void gs_result_set(struct gs_result *res, const char *key, uint64_t val);
/** gs_result_set_hex() - as gs_result_set(), for an offset or address (printed in hex) */
GS_API void gs_result_set_hex(struct gs_result *res, const char *key, uint64_t val);
/** gs_result_why() - explain a failed assertion verb's result */
GS_API void gs_result_why(struct gs_result *res, const char *fmt, ...) __printf(2, 3);
/** gs_result_set_str() - add or replace a string result field (@key, @str must outlive the op) */
GS_API void gs_result_set_str(struct gs_result *res, const char *key, const char *str);

/**
 * struct gs_obj_type - a kind of named scenario object (a VM, a guest_memfd, ...)
 * @name: shown in messages ("gmem", "vm")
 * @destroy: tear the object down; called in reverse creation order at the end
 * @check: invariant checks for the `check` verb; report each violation with
 *         gs_check_violation(). May be NULL.
 * @show: print the object for the `show` verb. May be NULL.
 * @dump: add the object's state to a snapshot (<gmemsim/state.h>) under
 *        @path ("objects/NAME"). May be NULL: the snapshot then holds the
 *        type's name and each line of @show.
 */
struct gs_obj_type {
	const char *name;
	void (*destroy)(void *obj);
	void (*check)(struct gs_check_report *r, const char *name, void *obj);
	void (*show)(struct gs_scenario *s, FILE *f, const char *name, void *obj);
	void (*dump)(struct gs_state *st, const char *path, void *obj);
};

/**
 * gs_scenario_obj_add() - name an object
 * Return: 0, -EEXIST if the name is taken, -ENOMEM.
 */
GS_API int gs_scenario_obj_add(struct gs_scenario *s, const char *name,
			       const struct gs_obj_type *type, void *obj);

/**
 * gs_scenario_obj_get() - look up an object by name and type
 * @type: the expected type, or NULL for any
 *
 * Return: the object, or NULL (not found or of another type).
 */
GS_API void *gs_scenario_obj_get(struct gs_scenario *s, const char *name,
				 const struct gs_obj_type *type);

/** gs_scenario_obj_del() - destroy and forget the object @name; 0 or -ENOENT */
GS_API int gs_scenario_obj_del(struct gs_scenario *s, const char *name);

/* Parsing helpers shared with verbs. */

/** gs_parse_u64() - parse a number as scenarios write it; 0 or -EINVAL/-ERANGE */
GS_API int gs_parse_u64(const char *s, uint64_t *out);

/** gs_errno_name() - "EINVAL" for EINVAL, NULL if unknown */
GS_API const char *gs_errno_name(int err);

/** gs_errno_from_name() - EINVAL for "EINVAL", 0 if unknown */
GS_API int gs_errno_from_name(const char *name);

#endif /* GMEMSIM_SCENARIO_H */
