// SPDX-License-Identifier: MIT
/*
 * Random differential testing: seeded random sequences of the upstream
 * guest_memfd operations (create with flags and sizes, fallocate modes and
 * ranges, punch, mmap and munmap, host fault/read/write, memslot bind and
 * unbind, long-term pins, close), written as scenario text, run on the simulator and on the
 * live kernel, every line's result compared (lib/differential.c).
 *
 * The generator keeps each sequence runnable on both backends: it never
 * names a file that was not created, closed-and-forgotten, or unmapped
 * where a mapping is needed, and never touches past a mapping's end (that
 * would be SIGSEGV, not a guest_memfd behaviour). Creations meant to fail
 * use throwaway names. A failing sequence is printed as scenario text, to
 * replay with `gmemsim diff FILE`.
 *
 * GMEMSIM_SEED picks the first seed; GS_DIFF_SEQUENCES the count (4000 by
 * default); GS_DIFF_DUMP=1 prints every sequence. Skips (exit 77, with the
 * reason) where the host cannot answer for guest_memfd (gs_live_probe()).
 *
 * With the argument "mechanism" (the meson test differential-mechanism) it
 * tests transcript recording and replay instead, on every host: the
 * simulator stands in for the kernel there, which the transcripts' headers
 * say; nothing it writes is a kernel's answer or is kept.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <gmemsim/differential.h>
#include <gmemsim/live.h>
#include <gmemsim/rng.h>
#include <gmemsim/scenario.h>

#define NR_SEQUENCES 4000
#define NR_FILES     2
#define NR_OPS	     24
#define PG	     0x1000ULL

struct gen_file {
	bool named;  /* the name refers to an object on both backends */
	bool fd;     /* the fd is open */
	bool mmap;   /* created with FLAG_MMAP */
	bool mapped; /* a mapping exists */
	bool shared; /* created with INIT_SHARED: host faults (and pins) succeed */
	uint64_t size, map_len;
	unsigned int nr_pins; /* long-term pins held: they keep the name alive */
	uint64_t pin_off[8];
};

struct gen {
	struct gs_rng rng;
	GString *text;
	bool vm;
	unsigned int bad; /* throwaway names for creations meant to fail */
	struct gen_file f[NR_FILES];
};

static uint64_t pick(struct gen *g, const uint64_t *v, size_t n)
{
	return v[gs_rng_below(&g->rng, n)];
}

#define PICK(g, ...)                             \
	pick(g, (const uint64_t[]){__VA_ARGS__}, \
	     sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

/* An offset or length, mostly page-aligned and in or near the file. */
static uint64_t gen_range_value(struct gen *g, uint64_t size)
{
	switch (gs_rng_below(&g->rng, 6)) {
	case 0:
		return 0;
	case 1:
		return gs_rng_below(&g->rng, size / PG + 2) * PG;
	case 2:
		return size;
	case 3:
		return PICK(g, 1, 0x800, PG - 1, PG + 1);
	case 4:
		return PICK(g, PG, 2 * PG, 0x200000);
	default:
		return gs_rng_below(&g->rng, size / PG + 1) * PG;
	}
}

static const char *gen_flags(struct gen *g)
{
	return (const char *[]){"mmap|init_shared", "mmap|init_shared", "mmap", "init_shared",
				"0"}[gs_rng_below(&g->rng, 5)];
}

static void gen_create(struct gen *g, unsigned int i)
{
	struct gen_file *f = &g->f[i];
	const char *flags = gen_flags(g);

	f->size = PICK(g, PG, 3 * PG, 16 * PG, 0x200000, 0x400000);
	g_string_append_printf(g->text, "gmem g%u size=0x%llx flags=%s profile=upstream%s\n", i,
			       (unsigned long long)f->size, flags, g->vm ? " vm=v" : "");
	*f = (struct gen_file){.named = true,
			       .fd = true,
			       .mmap = !!strstr(flags, "mmap"),
			       .shared = !!strstr(flags, "init_shared"),
			       .size = f->size};
}

/* A creation both backends must refuse (or accept alike), under a name never used again. */
static void gen_bad_create(struct gen *g)
{
	uint64_t size = PICK(g, 0, 1, PG - 1, PG + 1, 0x800);

	g_string_append_printf(g->text, "gmem bad%u size=0x%llx flags=%s profile=upstream\n",
			       g->bad++, (unsigned long long)size, gen_flags(g));
}

static void gen_falloc(struct gen *g, unsigned int i)
{
	static const char *const modes[] = {
		"keep_size",	  "keep_size|punch_hole", "punch_hole",		  "zero_range",
		"collapse_range", "insert_range",	  "keep_size|zero_range", "0",
	};
	uint64_t size = g->f[i].size;
	uint64_t off = gen_range_value(g, size), len = gen_range_value(g, size);
	const char *mode = modes[gs_rng_below(&g->rng, G_N_ELEMENTS(modes))];

	/* Half the time an aligned range inside the file, which must succeed alike. */
	if (gs_rng_below(&g->rng, 2)) {
		off = gs_rng_below(&g->rng, size / PG) * PG;
		len = (1 + gs_rng_below(&g->rng, (size - off) / PG)) * PG;
	}

	if (gs_rng_below(&g->rng, 3))
		mode = "keep_size";
	g_string_append_printf(g->text, "falloc g%u off=0x%llx len=0x%llx mode=%s\n", i,
			       (unsigned long long)off, (unsigned long long)len, mode);
}

static void gen_access(struct gen *g, unsigned int i)
{
	struct gen_file *f = &g->f[i];
	uint64_t end = (f->map_len + PG - 1) / PG * PG;
	uint64_t off = gs_rng_below(&g->rng, end / PG) * PG + PICK(g, 0, 0, 1, 0x7ff);
	uint64_t len = PICK(g, 1, 16, PG, 2 * PG, 3 * PG + 5);

	/* MIN() evaluates its arguments twice: draw first. */
	len = MIN(end - off, len);

	switch (gs_rng_below(&g->rng, 3)) {
	case 0:
		g_string_append_printf(g->text, "fault g%u off=0x%llx\n", i,
				       (unsigned long long)off);
		break;
	case 1:
		g_string_append_printf(g->text, "read g%u off=0x%llx len=0x%llx\n", i,
				       (unsigned long long)off, (unsigned long long)len);
		break;
	default:
		g_string_append_printf(g->text, "write g%u off=0x%llx len=0x%llx byte=0x%llx\n", i,
				       (unsigned long long)off, (unsigned long long)len,
				       (unsigned long long)gs_rng_below(&g->rng, 256));
	}
}

static void gen_mmap(struct gen *g, unsigned int i)
{
	struct gen_file *f = &g->f[i];
	uint64_t len = PICK(g, 0, 0, PG, 2 * PG);

	if (!len || len > f->size)
		len = f->size;
	g_string_append_printf(g->text, "mmap g%u len=0x%llx\n", i, (unsigned long long)len);
	/* Without FLAG_MMAP both backends refuse: the file stays unmapped. */
	f->mapped = f->mmap;
	f->map_len = len;
}

static void gen_memslot(struct gen *g, unsigned int i)
{
	uint64_t slot = gs_rng_below(&g->rng, 3);
	uint64_t size = PICK(g, PG, 2 * PG, 0x200000, 0x1800);
	uint64_t gpa = PICK(g, 0, 0x100000, 0x40000000, 0x800);
	uint64_t off = PICK(g, 0, 0, PG, 0x200000, 0x10);

	if (!gs_rng_below(&g->rng, 3)) {
		g_string_append_printf(g->text, "memslot v slot=%llu size=0\n",
				       (unsigned long long)slot);
		return;
	}
	g_string_append_printf(g->text,
			       "memslot v slot=%llu gpa=0x%llx size=0x%llx gmem=g%u off=0x%llx\n",
			       (unsigned long long)slot, (unsigned long long)gpa,
			       (unsigned long long)size, i, (unsigned long long)off);
}

/* A long-term pin of a mapped page (io_uring fixed buffer on the kernel). */
static void gen_pin(struct gen *g, unsigned int i)
{
	struct gen_file *f = &g->f[i];
	uint64_t off = gs_rng_below(&g->rng, (f->map_len + PG - 1) / PG) * PG;

	g_string_append_printf(g->text, "pin g%u off=0x%llx\n", i, (unsigned long long)off);
	/* A private page cannot be faulted in: EFAULT on both, and no pin to drop. */
	if (f->shared)
		f->pin_off[f->nr_pins++] = off;
}

static void gen_unpin(struct gen *g, unsigned int i)
{
	struct gen_file *f = &g->f[i];
	unsigned int k = (unsigned int)gs_rng_below(&g->rng, f->nr_pins);

	g_string_append_printf(g->text, "unpin g%u off=0x%llx\n", i,
			       (unsigned long long)f->pin_off[k]);
	f->pin_off[k] = f->pin_off[--f->nr_pins];
	f->named = f->fd || f->mapped || f->nr_pins;
}

static void gen_close(struct gen *g, unsigned int i, bool munmap)
{
	struct gen_file *f = &g->f[i];

	g_string_append_printf(g->text, "%s g%u\n", munmap ? "munmap" : "close", i);
	if (munmap)
		f->mapped = false;
	else
		f->fd = false;
	/* With neither fd, mapping nor pin left, the name is forgotten. */
	f->named = f->fd || f->mapped || f->nr_pins;
}

/* One operation on file @i, among those its state allows. */
static void gen_op(struct gen *g, unsigned int i)
{
	struct gen_file *f = &g->f[i];
	unsigned int r = (unsigned int)gs_rng_below(&g->rng, 16);

	if (!f->named) {
		if (r < 12)
			gen_create(g, i);
		else
			gen_bad_create(g);
		return;
	}
	if (f->nr_pins && ((!f->fd && !f->mapped) || r == 0))
		return gen_unpin(g, i);
	if (f->mapped && r < 6)
		return r == 5 && f->nr_pins < G_N_ELEMENTS(f->pin_off) ? gen_pin(g, i)
								       : gen_access(g, i);
	if (!f->fd)
		return r < 8 ? gen_close(g, i, true) : gen_access(g, i);
	if (r < 9)
		return gen_falloc(g, i);
	if (r < 10)
		return (void)g_string_append_printf(g->text, "stat g%u\n", i);
	if (r < 12 && !f->mapped)
		return gen_mmap(g, i);
	if (r < 14 && g->vm)
		return gen_memslot(g, i);
	if (r < 15 && f->mapped)
		return gen_close(g, i, true);
	if (r == 15)
		return gen_close(g, i, false);
	gen_falloc(g, i);
}

static void gen_sequence(struct gen *g, uint64_t seed)
{
	gs_rng_seed(&g->rng, seed);
	g_string_truncate(g->text, 0);
	g_string_append_printf(g->text, "# differential sequence, seed %llu\n",
			       (unsigned long long)seed);
	memset(g->f, 0, sizeof(g->f));
	g->bad = 0;
	g->vm = gs_rng_below(&g->rng, 4) != 0;
	if (g->vm)
		g_string_append(g->text, "vm v profile=upstream\n");
	for (unsigned int n = 0; n < NR_OPS; n++)
		gen_op(g, (unsigned int)gs_rng_below(&g->rng, NR_FILES));
}

/*
 * The runner itself: a design-profile scenario must differ in st_blocks and
 * the advertised flags, and those differences must be filed as intended.
 */
static bool runner_files_intended_divergences(void)
{
	static const char text[] = "vm v profile=design\n"
				   "gmem g vm=v size=8K flags=mmap|init_shared profile=design\n"
				   "falloc g off=0 len=8K\n";
	struct gs_diff_stats st;
	int status = gs_diff_run_buffer("self-check.gms", text, strlen(text), stdout, &st);

	if (status == GS_EXIT_OK && st.compared == 3 && st.intended == 2)
		return true;
	printf("FAIL self-check: %s, %u compared, %u intended (expected ok, 3, 2)\n",
	       gs_scenario_exit_name(status), st.compared, st.intended);
	return false;
}

/* --- record and replay, with the simulator standing in for the kernel --- */

static int nr_failed;

#define EXPECT(cond, ...)                           \
	do {                                        \
		if (!(cond)) {                      \
			printf("FAIL %s: ", #cond); \
			printf(__VA_ARGS__);        \
			printf("\n");               \
			nr_failed++;                \
		}                                   \
	} while (0)

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *mem_open(struct mem *m)
{
	*m = (struct mem){0};
	m->f = open_memstream(&m->buf, &m->len);
	return m->f;
}

static char *mem_close(struct mem *m)
{
	fclose(m->f);
	return m->buf;
}

static char *record(const char *text)
{
	struct mem t, o;
	int status;
	char *msgs;

	mem_open(&t);
	mem_open(&o);
	status = gs_diff_record_buffer("m.gms", text, strlen(text), GS_BACKEND_SIM, t.f, o.f);
	msgs = mem_close(&o);
	EXPECT(status == GS_EXIT_OK, "record: %s: %s", gs_scenario_exit_name(status), msgs);
	free(msgs);
	return mem_close(&t);
}

static int replay(const char *text, const char *tr, unsigned int flags, struct gs_diff_stats *st,
		  char **msgs)
{
	struct mem o;
	int status;

	mem_open(&o);
	status = gs_diff_replay_buffer("m.gms", text, strlen(text), "m.transcript", tr, strlen(tr),
				       flags, o.f, st);
	*msgs = mem_close(&o);
	return status;
}

/* @tr with the first @from after @after replaced by @to (@tr itself if not found: reported). */
static char *edit(const char *tr, const char *after, const char *from, const char *to)
{
	const char *a = strstr(tr, after), *p = a ? strstr(a, from) : NULL;

	EXPECT(p, "no '%s' after '%s' in:\n%s", from, after, tr);
	if (!p)
		return g_strdup(tr);
	return g_strdup_printf("%.*s%s%s", (int)(p - tr), tr, to, p + strlen(from));
}

static const char mech_text[] = "vm v profile=design\n"
				"gmem g vm=v size=16K flags=mmap|init_shared\n"
				"gmem bad size=0x1001\n"
				"falloc g off=0 len=8K\n"
				"mmap g len=24K\n"
				"write g off=0x1000 len=0x2000 byte=0x5a\n"
				"read g off=0 len=0x5000\n"
				"getpfn g off=0\n";

static void mechanism_case(void)
{
	struct gs_diff_stats st;
	char *tr = record(mech_text), *msgs, *bad;
	int status;

	/* The header says whose answers these are. */
	EXPECT(strstr(tr, "# backend: sim\n") && strstr(tr, "not a kernel's answers"), "%s", tr);
	EXPECT(strstr(tr, "ret=-22") && strstr(tr, "sig=7"), "EINVAL and SIGBUS recorded: %s", tr);
	/* As a kernel transcript it is refused. */
	status = replay(mech_text, tr, 0, &st, &msgs);
	EXPECT(status == GS_EXIT_SKIP && strstr(msgs, "not recorded from a kernel"), "%s: %s",
	       gs_scenario_exit_name(status), msgs);
	free(msgs);
	/* Against itself every line agrees (the stand-in runs getpfn too). */
	status = replay(mech_text, tr, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_OK && st.compared == 8 && !st.differ && !st.intended,
	       "%s, %u compared, %u differ: %s", gs_scenario_exit_name(status), st.compared,
	       st.differ, msgs);
	EXPECT(strstr(msgs, "compared against transcript m.transcript (recorded on sim"), "%s",
	       msgs);
	free(msgs);
	/* A different answer on one line is found, as a value. */
	bad = edit(tr, "\n3\t", "ret=-22", "ret=0");
	status = replay(mech_text, bad, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_FAIL && st.differ == 1 &&
		       strstr(msgs, "m.gms:3: sim EINVAL, kernel 0"),
	       "%s: %s", gs_scenario_exit_name(status), msgs);
	free(msgs);
	g_free(bad);
	/* So is a field that differs, and one listed as intended is filed so. */
	bad = edit(tr, "\n7\t", "data=x:0x0", "data=x:0x1");
	status = replay(mech_text, bad, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_FAIL && st.differ == 1, "%s: %s", gs_scenario_exit_name(status),
	       msgs);
	free(msgs);
	g_free(bad);
	bad = edit(tr, "\n4\t", "blocks=u:16", "blocks=u:0");
	status = replay(mech_text, bad, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_OK && st.intended == 1 && strstr(msgs, "intended"), "%s: %s",
	       gs_scenario_exit_name(status), msgs);
	free(msgs);
	g_free(bad);
	/* Recorded where guest_memfd did not answer: nothing to compare. */
	bad = edit(tr, "# cap-guest-memfd: ", "1", "0");
	status = replay(mech_text, bad, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_SKIP && strstr(msgs, "without guest_memfd"), "%s: %s",
	       gs_scenario_exit_name(status), msgs);
	free(msgs);
	g_free(bad);
	/* The scenario changed since: stale, a failure that says to record again. */
	bad = g_strconcat(mech_text, "stat g\n", NULL);
	status = replay(bad, tr, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_FAIL && strstr(msgs, "stale"), "%s: %s",
	       gs_scenario_exit_name(status), msgs);
	free(msgs);
	g_free(bad);
	/* Not a transcript at all. */
	status = replay(mech_text, "ret=0\n", GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_USAGE, "%s: %s", gs_scenario_exit_name(status), msgs);
	free(msgs);
	bad = edit(tr, "\n4\t", "ret=0", "ret=zero");
	status = replay(mech_text, bad, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
	EXPECT(status == GS_EXIT_USAGE && strstr(msgs, "not a transcript line"), "%s: %s",
	       gs_scenario_exit_name(status), msgs);
	free(msgs);
	g_free(bad);
	free(tr);
}

/* Random sequences recorded and replayed: the round trip keeps every value. */
static void mechanism_sequences(uint64_t seed, unsigned int n)
{
	struct gen g = {.text = g_string_new(NULL)};
	unsigned int compared = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct gs_diff_stats st;
		char *tr, *msgs;
		int status;

		gen_sequence(&g, seed + i);
		tr = record(g.text->str);
		status = replay(g.text->str, tr, GS_DIFF_REPLAY_ANY_BACKEND, &st, &msgs);
		EXPECT(status == GS_EXIT_OK && !st.differ, "seed %llu: %s: %s",
		       (unsigned long long)(seed + i), gs_scenario_exit_name(status), msgs);
		compared += st.compared;
		free(msgs);
		free(tr);
	}
	EXPECT(compared > n * 10, "%u lines compared in %u sequences", compared, n);
	printf("differential-mechanism: %u sequences recorded and replayed, %u lines compared\n", n,
	       compared);
	g_string_free(g.text, true);
}

static int mechanism(void)
{
	printf("differential-mechanism: record/replay with the simulator standing in for the "
	       "kernel (a test of the mechanism, not of fidelity)\n");
	mechanism_case();
	mechanism_sequences(gs_seed_from_env(20261122), 200);
	return nr_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = gs_seed_from_env(20261122);
	const char *env = getenv("GS_DIFF_SEQUENCES");
	unsigned int n = env ? (unsigned int)strtoul(env, NULL, 0) : NR_SEQUENCES;
	struct gen g = {.text = g_string_new(NULL)};
	unsigned int failed = 0, compared = 0, skipped = 0, intended = 0;

	if (argc > 1 && !strcmp(argv[1], "mechanism")) {
		g_string_free(g.text, true);
		return mechanism();
	}

	if (gs_live_probe()) {
		printf("skip: differential: %s\n", gs_live_probe());
		g_string_free(g.text, true);
		return 77;
	}
	if (!runner_files_intended_divergences())
		failed++;
	printf("differential: %u sequences from seed %llu (GMEMSIM_SEED to replay)\n", n,
	       (unsigned long long)seed);
	for (unsigned int i = 0; i < n && failed < 5; i++) {
		struct gs_diff_stats st;
		char name[64];
		int status;

		gen_sequence(&g, seed + i);
		snprintf(name, sizeof(name), "seq-%llu.gms", (unsigned long long)(seed + i));
		if (getenv("GS_DIFF_DUMP"))
			printf("%s", g.text->str);
		status = gs_diff_run_buffer(name, g.text->str, g.text->len, stdout, &st);
		if (status == GS_EXIT_SKIP) {
			printf("skip: differential: the kernel backend is not available\n");
			g_string_free(g.text, true);
			return 77;
		}
		compared += st.compared;
		skipped += st.skipped;
		intended += st.intended;
		if (status == GS_EXIT_OK)
			continue;
		failed++;
		printf("FAIL %s (%s); replay with gmemsim diff on:\n%s\n", name,
		       gs_scenario_exit_name(status), g.text->str);
	}
	printf("differential: %u lines compared, %u skipped, %u intended divergences, %u failing "
	       "sequences\n",
	       compared, skipped, intended, failed);
	g_string_free(g.text, true);
	return failed ? 1 : 0;
}
