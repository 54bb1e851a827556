// SPDX-License-Identifier: MIT
/*
 * main() and helpers shared by every Check test program (see harness.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/valgrind.h>
#include <gmemsim/alloc.h>
#include <gmemsim/rng.h>
#include "config.h"
#include "harness.h"

#define GS_TEST_DEFAULT_SEED 20261122u

uint64_t gs_test_seed(void)
{
	static bool printed;
	uint64_t seed = gs_seed_from_env(GS_TEST_DEFAULT_SEED);

	if (!printed) {
		printf("seed: %" PRIu64 " (set GMEMSIM_SEED to replay)\n", seed);
		fflush(stdout);
		printed = true;
	}
	return seed;
}

static bool under_valgrind(void)
{
	const char *v = getenv("GS_UNDER_VALGRIND");

	return RUNNING_ON_VALGRIND || (v && *v && strcmp(v, "0"));
}

unsigned long gs_test_scale(unsigned long n)
{
	if (!under_valgrind())
		return n;
	return n / 50 ? n / 50 : 1;
}

bool gs_test_forking(void)
{
	const char *f = getenv("CK_FORK");

	return !(f && !strcmp(f, "no"));
}

void gs_test_assert_no_leaks(void)
{
	unsigned int n = gs_alloc_report_leaks(stderr);

	ck_assert_msg(n == 0, "%u allocation site(s) still hold objects", n);
}

const char *gs_test_srcdir(void)
{
	return GS_SRCDIR "/tests";
}

int main(void)
{
	const char *why = gs_test_skip_reason ? gs_test_skip_reason() : NULL;
	SRunner *sr;
	int failed;

	if (why) {
		printf("skip: %s\n", why);
		return 77;
	}
	sr = srunner_create(gs_test_suite());
	gs_test_seed();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
