// SPDX-License-Identifier: MIT
/*
 * `gmemsim fuzz`: a fuzzing campaign for people without a fuzzing toolchain.
 * Seeded random inputs in the structured format (fuzz_decode.c), each
 * decoded straight into the engine's operations and run with the per-page
 * oracle (gs_fuzz_exec(), what the fuzz targets run too); each new failure
 * signature saved (the input bytes, its .gms text, and its reduction).
 * Mirrors no kernel code.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/hvo.h>
#include <gmemsim/physmem.h>
#include <gmemsim/rng.h>
#include <gmemsim/internal/fuzz_int.h>
#include <gmemsim/internal/scenario_int.h>

#if defined(__SANITIZE_ADDRESS__)
#define GS_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GS_FUZZ_ASAN 1
#endif
#endif
#ifdef GS_FUZZ_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * Each input is a runner of its own: without this, the end of each would
 * give the kept memory back to the host, and the next would fault it in and
 * have the host clear it again. HVO's freed vmemmap stays in the host too
 * (its resident mode, docs/FIDELITY.md) unless a campaign asks otherwise.
 */
static void keep_memory(void)
{
	static bool kept;

	if (!kept) {
		gs_physmem_keep_vmemmap(true);
		gs_hvo_set_resident(true);
		kept = true;
	}
}

static const char malformed[] = "malformed: the decoder printed a line the parser rejects";

bool gs_fuzz_run(const char *text, size_t len, char *sig, size_t siglen)
{
	struct gs_scenario_opts o = {.oracle = true, .persistent = true};
	int st;

	keep_memory();
	st = gs_scenario_signature(&o, "fuzz.gms", text, len, sig, siglen);

	/* The decoder's lines always parse: one that does not is the finding. */
	if (st == GS_EXIT_SYNTAX)
		snprintf(sig, siglen, "%s", malformed);
	return st != GS_EXIT_OK;
}

/* The operations of every input, one array reused (grown to the longest program). */
static GArray *exec_ops(void)
{
	static GArray *ops;

	if (!ops)
		ops = g_array_new(FALSE, TRUE, sizeof(struct gs_op));
	return ops;
}

/* Run the @n operations gs_fuzz_build_ops() made (-EINVAL: a line that would not parse). */
static bool run_built(int n, char *sig, size_t siglen)
{
	struct gs_scenario_opts o = {.oracle = true, .persistent = true};
	int st;

	keep_memory();
	if (n < 0) {
		snprintf(sig, siglen, "%s", malformed);
		return true;
	}
	st = gs_scenario_signature_ops(&o, "fuzz.gms",
				       (const struct gs_op *)(void *)exec_ops()->data, (size_t)n,
				       sig, siglen);
	return st != GS_EXIT_OK;
}

bool gs_fuzz_exec(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts,
		  char *sig, size_t siglen)
{
	return run_built(gs_fuzz_build_ops(data, len, opts, "fuzz.gms", exec_ops()), sig, siglen);
}

/* Random bytes, the forced header fields written over them. */
static size_t make_input(struct gs_rng *rng, const struct gs_fuzz_campaign_opts *o, uint8_t *buf)
{
	unsigned int ops = o->decode.max_ops ? o->decode.max_ops : GS_FUZZ_DEFAULT_OPS;
	size_t len = GS_FUZZ_HEADER + (size_t)MIN(ops, GS_FUZZ_MAX_OPS) * GS_FUZZ_OP_SIZE;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = gs_rng_next(rng);

		memcpy(buf + i, &r, MIN((size_t)8, len - i));
	}
	gs_fuzz_header_set(buf, o->backing, o->ordering);
	return len;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	gchar *path = g_build_filename(dir, name, NULL);
	GError *err = NULL;
	int ret = 0;

	if (!g_file_set_contents(path, data, (gssize)len, &err)) {
		ret = -EIO;
		g_error_free(err);
	}
	g_free(path);
	return ret;
}

/* NNN-HASH.bin, .gms and .min.gms: names from the finding's number and signature only. */
static int save(const struct gs_fuzz_campaign_opts *o, unsigned int nr, const char *sig,
		const uint8_t *buf, size_t len, const char *text, const char *reduced)
{
	gchar *base = g_strdup_printf("%03u-%08x", nr, g_str_hash(sig));
	gchar *name;
	int ret;

	name = g_strconcat(base, ".bin", NULL);
	ret = write_file(o->outdir, name, buf, len);
	g_free(name);
	name = g_strconcat(base, ".gms", NULL);
	ret = ret ?: write_file(o->outdir, name, text, strlen(text));
	g_free(name);
	if (reduced) {
		name = g_strconcat(base, ".min.gms", NULL);
		ret = ret ?: write_file(o->outdir, name, reduced, strlen(reduced));
		g_free(name);
	}
	if (o->progress && !ret)
		fprintf(o->progress, "fuzz: saved %s/%s.{bin,gms%s}\n", o->outdir, base,
			reduced ? ",min.gms" : "");
	g_free(base);
	return ret;
}

/* A new signature: reported, reduced if asked, saved if asked. */
static int new_failure(const struct gs_fuzz_campaign_opts *o, struct gs_fuzz_campaign_stats *st,
		       const char *sig, const uint8_t *buf, size_t len)
{
	struct gs_scenario_opts so = {.oracle = true};
	struct gs_reduce_result res = {0};
	/* The text only now: the runs need none, a finding's reduction and files do. */
	char *text = gs_fuzz_decode(buf, len, &o->decode);
	bool reduced = false;
	int ret = 0;

	if (!text)
		return -ENOMEM;

	if (o->progress)
		fprintf(o->progress, "fuzz: failure %u at input %" PRIu64 ": %s\n", st->unique,
			st->execs, sig);
	if (o->reduce &&
	    gs_scenario_reduce(&so, NULL, "fuzz.gms", text, strlen(text), &res) == GS_REDUCE_DONE) {
		reduced = true;
		if (o->progress)
			fprintf(o->progress, "fuzz: reduced to %u operation lines (%u attempts)\n",
				res.ops_after, res.attempts);
		if (st->unique == 1)
			st->first_reduced_ops = res.ops_after;
	}
	if (o->outdir)
		ret = save(o, st->unique, sig, buf, len, text, reduced ? res.text : NULL);
	free(res.text);
	free(text);
	return ret;
}

static void progress(const struct gs_fuzz_campaign_opts *o, const struct gs_fuzz_campaign_stats *st,
		     double secs)
{
	fprintf(o->progress,
		"fuzz: %" PRIu64 " execs, %.0f execs/s, %" PRIu64 " sequences failing, %u unique "
		"signatures, %.1f s\n",
		st->execs, secs > 0 ? (double)st->execs / secs : 0.0, st->failing, st->unique,
		secs);
}

/*
 * The input being run, for a crash: a sanitizer report or a signal ends the
 * process inside gs_fuzz_run(), and without this the input that did it would
 * be lost with it (libFuzzer's crash-* files, for `gmemsim fuzz`).
 */
static struct {
	const struct gs_fuzz_campaign_opts *opts;
	const uint8_t *buf;
	size_t len;
	bool armed; /* an input is running: its program is gs_fuzz_write_built()'s */
	uint64_t nr;
} crash_ctx;

static void crash_puts(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Async-signal-safe: no stdio, no allocation. @data NULL: the program being run. */
static void crash_write(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	size_t dl = strlen(dir), nl = strlen(name);
	int fd;

	if (dl + nl + 2 > sizeof(path))
		return;
	memcpy(path, dir, dl);
	path[dl] = '/';
	memcpy(path + dl + 1, name, nl + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (!data)
		gs_fuzz_write_built(fd);
	else if (write(fd, data, len) != (ssize_t)len)
		crash_puts(2, "fuzz: could not write the crashing input in full\n");
	close(fd);
}

static void crash_dump(void)
{
	char num[24], name[40];
	int i = (int)sizeof(num) - 1;
	uint64_t n = crash_ctx.nr;

	if (!crash_ctx.armed)
		return;
	num[i] = 0;
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	crash_puts(2, "fuzz: input ");
	crash_puts(2, num + i);
	crash_puts(2, " crashed the process");
	if (crash_ctx.opts->outdir) {
		crash_puts(2, "; saved as ");
		crash_puts(2, crash_ctx.opts->outdir);
		crash_puts(2, "/crash-");
		crash_puts(2, num + i);
		crash_puts(2, ".{bin,gms}\n");
		memcpy(name, "crash-", 6);
		memcpy(name + 6, num + i, strlen(num + i) + 1);
		memcpy(name + strlen(name), ".bin", 5);
		crash_write(crash_ctx.opts->outdir, name, crash_ctx.buf, crash_ctx.len);
		memcpy(name + strlen(name) - 4, ".gms", 5);
		crash_write(crash_ctx.opts->outdir, name, NULL, 0);
	} else {
		crash_puts(2, "; its program:\n");
		gs_fuzz_write_built(2);
	}
	crash_ctx.armed = false;
}

static void crash_signal(int sig)
{
	crash_dump();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Once per process. ASan keeps its own SIGSEGV/SIGBUS handlers (and its
 * report) and calls back before it dies; an abort(), a BUG() or a trap are
 * ours in every build.
 */
static void crash_hooks(void)
{
	static const int sigs[] = {SIGABRT, SIGFPE, SIGILL,
#ifndef GS_FUZZ_ASAN
				   SIGSEGV, SIGBUS
#endif
	};
	struct sigaction sa = {.sa_handler = crash_signal, .sa_flags = SA_RESETHAND};
	static bool done;

	if (done)
		return;
	done = true;
#ifdef GS_FUZZ_ASAN
	__sanitizer_set_death_callback(crash_dump);
#endif
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

int gs_fuzz_campaign(const struct gs_fuzz_campaign_opts *o, struct gs_fuzz_campaign_stats *st)
{
	uint8_t buf[GS_FUZZ_HEADER + GS_FUZZ_MAX_OPS * GS_FUZZ_OP_SIZE];
	gint64 t0 = g_get_monotonic_time(), last = t0;
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct gs_rng rng;
	int ret = 0;

	bool resident;

	*st = (struct gs_fuzz_campaign_stats){0};
	keep_memory();
	resident = gs_hvo_set_resident(!o->hvo_release);
	if (o->outdir && g_mkdir_with_parents(o->outdir, 0755))
		ret = -errno;
	gs_rng_seed(&rng, o->seed);
	crash_hooks();
	while (!ret && (!o->runs || st->execs < o->runs)) {
		gint64 now = g_get_monotonic_time();
		char sig[GS_REDUCE_SIG_LEN];
		size_t len;
		int nops;

		if (o->seconds > 0 && (double)(now - t0) / 1e6 >= o->seconds)
			break;
		if (o->progress && now - last >= G_USEC_PER_SEC) {
			progress(o, st, (double)(now - t0) / 1e6);
			last = now;
		}
		len = make_input(&rng, o, buf);
		nops = gs_fuzz_build_ops(buf, len, &o->decode, "fuzz.gms", exec_ops());
		st->execs++;
		st->ops += nops > 0 ? (uint64_t)nops : 0;
		crash_ctx.opts = o;
		crash_ctx.buf = buf;
		crash_ctx.len = len;
		crash_ctx.armed = true;
		crash_ctx.nr = st->execs;
		if (o->test_crash_at == st->execs)
			abort();
		if (run_built(nops, sig, sizeof(sig))) {
			st->failing++;
			if (!st->first_find) {
				st->first_find = st->execs;
				st->first_find_seconds =
					(double)(g_get_monotonic_time() - t0) / 1e6;
				g_strlcpy(st->first_sig, sig, sizeof(st->first_sig));
			}
			if (!g_hash_table_contains(seen, sig)) {
				g_hash_table_add(seen, g_strdup(sig));
				st->unique++;
				ret = new_failure(o, st, sig, buf, len);
			}
		}
		crash_ctx.armed = false;
		if (o->stop_on_find && st->failing)
			break;
	}
	st->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
	if (o->progress)
		progress(o, st, st->seconds);
	g_hash_table_destroy(seen);
	gs_hvo_set_resident(resident);
	if (ret)
		return ret;
	return st->failing ? 1 : 0;
}
