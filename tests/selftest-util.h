/* SPDX-License-Identifier: MIT */
/*
 * What the two selftest programs (test-selftest.c, test-conversions-selftest.c)
 * share: messages that name the upstream test and its variant, a skip line,
 * and assertions on one call's return (>= 0 or -errno, as the syscall table of
 * include/gmemsim/sys.h answers). Each program's context only needs the
 * fields `test` (the upstream name) and `label` (the variant).
 */
#ifndef GS_TESTS_SELFTEST_UTIL_H
#define GS_TESTS_SELFTEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <check.h>

/* "skip TEST LABEL: why": the variant passes without running, and says so. */
static inline void __attribute__((format(printf, 3, 4)))
gs_selftest_skip(const char *test, const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("skip %s %s: ", test, label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Check calls a test function <name>_fn; the messages use <name>. */
static inline const char *gs_selftest_name(const char *fn, char *buf, size_t len)
{
	size_t n = strlen(fn);

	if (n > 3 && !strcmp(fn + n - 3, "_fn"))
		n -= 3;
	snprintf(buf, len, "%.*s", (int)n, fn);
	return buf;
}

/* -@err, or report which call gave what. */
#define FAILS(c, call, err)                                                                    \
	do {                                                                                   \
		long r_ = (long)(call);                                                        \
		ck_assert_msg(r_ == -(err), "%s %s: %s = %ld (%s); want -%s", (c)->test,       \
			      (c)->label, #call, r_, r_ < 0 ? strerror((int)-r_) : "no error", \
			      strerror(err));                                                  \
	} while (0)

#define OK(c, call)                                                                           \
	do {                                                                                  \
		long r_ = (long)(call);                                                       \
		ck_assert_msg(r_ == 0, "%s %s: %s = %ld (%s); want 0", (c)->test, (c)->label, \
			      #call, r_, r_ < 0 ? strerror((int)-r_) : "a value");            \
	} while (0)

#endif /* GS_TESTS_SELFTEST_UTIL_H */
