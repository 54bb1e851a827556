// SPDX-License-Identifier: MIT
/*
 * Tests of WARN/BUG reporting (lib/warn.c, lib/backtrace.c) and of the
 * simulated lock rules (lib/lock.c, <gmemsim/spinlock.h>).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/spinlock.h>
#include <gmemsim/warn.h>
#include "harness.h"

static char *captured;
static size_t captured_len;
static FILE *cap;

static void capture_start(void)
{
	cap = open_memstream(&captured, &captured_len);
	gs_warn_set_stream(cap);
	gs_warn_set_mode(GS_WARN_PRINT);
}

static void capture_stop(void)
{
	gs_warn_set_stream(NULL);
	fclose(cap);
}

static void capture_free(void)
{
	free(captured);
	captured = NULL;
}

/*
 * Whether the Call Trace in @out has a frame in @func: "#N func+0x..", or
 * "#N func.constprop.0+0x.." when the optimizer cloned the function (GCC's
 * .constprop/.isra/.part clones at -O2/-O3). The kernel prints clones under
 * those names too, so the symbolizer keeps them; the frame is still @func's.
 */
static bool trace_has_frame(const char *out, const char *func)
{
	const char *line = strstr(out, "Call Trace:\n");
	size_t n = strlen(func);

	while (line && (line = strchr(line, '\n'))) {
		const char *name = ++line;

		if (strncmp(name, "  #", 3))
			continue;
		name += 3;
		while (*name >= '0' && *name <= '9')
			name++;
		while (*name == ' ')
			name++;
		if (!strncmp(name, func, n) && (name[n] == '+' || name[n] == '.'))
			return true;
	}
	return false;
}

static __attribute__((noinline)) bool warn_from_named_function(int x)
{
	return WARN_ON(x > 2);
}

START_TEST(warn_returns_condition_and_counts)
{
	unsigned long w = gs_warn_count();

	capture_start();
	ck_assert(!warn_from_named_function(1));
	ck_assert_uint_eq(gs_warn_count(), w);
	ck_assert(warn_from_named_function(3));
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	capture_stop();
	ck_assert_ptr_nonnull(strstr(captured, "WARNING: "));
	ck_assert_ptr_nonnull(strstr(captured, "test-warn.c:"));
	ck_assert_ptr_nonnull(strstr(captured, "WARN_ON(x > 2)"));
	/* The backtrace is symbolized: it names the function that warned and its caller (Check
	 * names a test body <test>_fn). */
	ck_assert_ptr_nonnull(strstr(captured, "Call Trace:"));
	ck_assert_msg(trace_has_frame(captured, "warn_from_named_function"), "%s", captured);
	ck_assert_msg(trace_has_frame(captured, "warn_returns_condition_and_counts_fn"), "%s",
		      captured);
	ck_assert(!trace_has_frame(captured, "warn_from_unnamed_function"));
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "warn_from_named_function: WARN_ON(x > 2)"));
	capture_free();
	gs_warn_reset_count();
	ck_assert_uint_eq(gs_warn_count(), 0);
}
END_TEST

static bool warn_once_site(bool c)
{
	return WARN_ON_ONCE(c);
}

START_TEST(warn_once_and_reset)
{
	unsigned long w;

	gs_warn_set_mode(GS_WARN_QUIET);
	gs_warn_reset_once();
	w = gs_warn_count();
	ck_assert(warn_once_site(true));
	ck_assert(warn_once_site(true)); /* still returns the condition */
	ck_assert(!warn_once_site(false));
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	gs_warn_reset_once();
	ck_assert(warn_once_site(true));
	ck_assert_uint_eq(gs_warn_count(), w + 2);
	gs_warn_set_mode(GS_WARN_PRINT);
}
END_TEST

START_TEST(warn_format_and_quiet)
{
	enum gs_warn_mode old = gs_warn_set_mode(GS_WARN_QUIET);

	ck_assert_int_eq(old, GS_WARN_PRINT);
	capture_start();
	gs_warn_set_mode(GS_WARN_QUIET);
	ck_assert(WARN(7 > 3, "value %d too big for %s", 7, "the test"));
	capture_stop();
	ck_assert_uint_eq(captured_len, 0); /* quiet: counted, not printed */
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "value 7 too big for the test"));
	capture_free();
	gs_warn_set_mode(GS_WARN_PRINT);
}
END_TEST

START_TEST(warn_panic_mode_aborts)
{
	gs_warn_set_stream(fopen("/dev/null", "w"));
	gs_warn_set_mode(GS_WARN_PANIC);
	WARN_ON(1);
	ck_abort_msg("panic_on_warn did not abort");
}
END_TEST

START_TEST(bug_on_aborts)
{
	gs_warn_set_stream(fopen("/dev/null", "w"));
	BUG_ON(2 + 2 == 4);
	ck_abort_msg("BUG_ON did not abort");
}
END_TEST

START_TEST(lock_rules)
{
	DEFINE_SPINLOCK(a);
	spinlock_t b;
	unsigned long w;

	spin_lock_init(&b);
	gs_warn_set_mode(GS_WARN_QUIET);
	w = gs_warn_count();
	spin_lock(&a);
	spin_lock(&b);
	ck_assert_uint_eq(gs_preempt_count, 2);
	lockdep_assert_held(&a);
	ck_assert(spin_is_locked(&b));
	spin_unlock(&b);
	spin_unlock(&a);
	ck_assert_uint_eq(gs_warn_count(), w);
	ck_assert_uint_eq(gs_preempt_count, 0);
	/* Each rule violation WARNs. */
	spin_unlock(&a);
	ck_assert_uint_eq(gs_warn_count(), w + 1);
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "unlock of an unlocked lock"));
	lockdep_assert_held(&a);
	ck_assert_uint_eq(gs_warn_count(), w + 2);
	spin_lock(&a);
	spin_lock(&a);
	ck_assert_uint_eq(gs_warn_count(), w + 3);
	ck_assert_ptr_nonnull(strstr(gs_warn_last(), "self-deadlock"));
	might_sleep();
	ck_assert_uint_eq(gs_warn_count(), w + 4);
	/* The recursive acquisition was counted twice; release both. */
	gs_preempt_count = 0;
	gs_warn_set_mode(GS_WARN_PRINT);
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("warn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, warn_returns_condition_and_counts);
	tcase_add_test(tc, warn_once_and_reset);
	tcase_add_test(tc, warn_format_and_quiet);
	tcase_add_test(tc, lock_rules);
	suite_add_tcase(s, tc);
	if (gs_test_forking()) {
		TCase *abort_tc = tcase_create("abort");

		tcase_add_test_raise_signal(abort_tc, warn_panic_mode_aborts, SIGABRT);
		tcase_add_test_raise_signal(abort_tc, bug_on_aborts, SIGABRT);
		suite_add_tcase(s, abort_tc);
	} else {
		printf("skip warn_panic_mode_aborts, bug_on_aborts: they abort the process, "
		       "which needs CK_FORK\n");
	}
	return s;
}
