// SPDX-License-Identifier: MIT
/*
 * The invariant-checker registry, a base service every layer registers its
 * invariants with (so it sits with the base, below them all), and the
 * base layer's own invariants: allocator counters that add up, and no
 * simulated spinlock left held between operations. Later layers register
 * theirs (folio refcounts, XArray/maple structure, HugeTLB accounting).
 */
#include <errno.h>
#include <stdarg.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/spinlock.h>
#include <gmemsim/trace.h>
#include <gmemsim/internal/site_table.h>

struct checker {
	const char *name;
	gs_checker_fn fn;
	void *ctx;
};

#define GS_MAX_CHECKERS 64
static struct checker checkers[GS_MAX_CHECKERS];

void gs_check_violation(struct gs_check_report *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->violations++;
	gs_trace("check.violation", GS_TF_STR("checker", r->name), GS_TF_STR("msg", msg));
	if (r->out)
		fprintf(r->out, "check %s: %s\n", r->name, msg);
}

static void check_alloc(struct gs_check_report *r, void *ctx)
{
	(void)ctx;
	/* Only the sites that break a rule are read with their names, in site order. */
	for (unsigned int i = gs_site_next_bad_bytes(0); i < gs_site_count();
	     i = gs_site_next_bad_bytes(i + 1)) {
		struct gs_site_stats st;

		gs_site_stats(i, &st);
		if (st.live_bytes < st.live)
			gs_check_violation(r, "site %s: %llu live objects in %llu bytes", st.name,
					   (unsigned long long)st.live,
					   (unsigned long long)st.live_bytes);
		if (st.peak_bytes < st.live_bytes)
			gs_check_violation(r, "site %s: peak %llu below live %llu bytes", st.name,
					   (unsigned long long)st.peak_bytes,
					   (unsigned long long)st.live_bytes);
	}
}

static void check_locks(struct gs_check_report *r, void *ctx)
{
	(void)ctx;
	if (gs_preempt_count)
		gs_check_violation(r, "%u spinlock(s) still held between operations",
				   gs_preempt_count);
}

static const struct checker builtin[] = {
	{"alloc", check_alloc, NULL},
	{"locks", check_locks, NULL},
};

int gs_check_register(const char *name, gs_checker_fn fn, void *ctx)
{
	if (!name || !fn)
		return -EINVAL;
	for (int i = 0; i < GS_MAX_CHECKERS; i++) {
		if (checkers[i].fn)
			continue;
		checkers[i] = (struct checker){.name = name, .fn = fn, .ctx = ctx};
		return i;
	}
	return -ENOSPC;
}

void gs_check_unregister(int handle)
{
	if (handle >= 0 && handle < GS_MAX_CHECKERS)
		checkers[handle] = (struct checker){0};
}

static unsigned int run_one(const struct checker *c, FILE *out)
{
	struct gs_check_report r = {.name = c->name, .out = out};

	c->fn(&r, c->ctx);
	return r.violations;
}

/* The pass under way (0: none), and the last one given out. */
static unsigned long check_pass, check_passes;

unsigned long gs_check_pass(void)
{
	return check_pass;
}

unsigned int gs_check_run_all(FILE *out)
{
	unsigned int n = 0;

	check_pass = ++check_passes;
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		n += run_one(&builtin[i], out);
	for (int i = 0; i < GS_MAX_CHECKERS; i++)
		if (checkers[i].fn)
			n += run_one(&checkers[i], out);
	check_pass = 0;
	return n;
}
