/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the Check test programs: each tests/test-<area>.c defines
 * gs_test_suite(); harness.c supplies main(), the seed, scaling under
 * valgrind and the leak assertion.
 */
#ifndef GS_TESTS_HARNESS_H
#define GS_TESTS_HARNESS_H

#include <check.h>
#include <errno.h>
#include <gmemsim/gmem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * For assertions inside loops over many elements: in fork mode every
 * passing ck_assert() sends its location to the parent (one write() each),
 * which dominates a loop over 262,144 struct pages. This fails the same
 * way and costs nothing when it passes.
 */
#define gs_assert(cond, ...)                                                        \
	do {                                                                        \
		if (__builtin_expect(!(cond), 0))                                   \
			ck_abort_msg("Assertion '" #cond "' failed: " __VA_ARGS__); \
	} while (0)

/* Defined by each test program. */
Suite *gs_test_suite(void);

/*
 * Optionally defined by a test program whose cases all need something the
 * host may lack: NULL to run, else a one-line reason; main() then prints
 * "skip: <reason>" and exits 77 (meson's SKIP) without running.
 */
const char *gs_test_skip_reason(void) __attribute__((weak));

/*
 * Seed for randomized tests: GMEMSIM_SEED from the environment, else a fixed
 * default. Printed once per process so that every random run can be replayed.
 */
uint64_t gs_test_seed(void);

/*
 * Iteration count for heavy loops: @n normally, @n / 50 (at least 1) under
 * valgrind (GS_UNDER_VALGRIND or RUNNING_ON_VALGRIND), where the full-size run
 * has already happened in the default and sanitizer builds.
 */
unsigned long gs_test_scale(unsigned long n);

/* True when Check forks a process per test (CK_FORK is not "no"). */
bool gs_test_forking(void);

/* Fail the test if any allocation site still holds objects, listing them. */
void gs_test_assert_no_leaks(void);

/*
 * Everything written to @f (a tmpfile() children may have written to through
 * its descriptor), NUL-terminated; @f is closed. g_free() the result.
 */
char *gs_test_slurp(FILE *f);
/* What every checker reports now, one line each (gs_check_run_all()); the caller frees it. */
char *gs_test_check_report(void);

/* Directory holding tests/ sources (for data files). */
const char *gs_test_srcdir(void);

/*
 * Selftest-style helpers over the simulated uAPI (the kernel's selftests have
 * them in kvm_util.c): bind guest_memfd @fd as slot 0 of @vm at @gpa, and map
 * @size bytes of it shared, read-write, at offset 0. Both assert success.
 */
void gs_test_bind_gmem(int vm, int fd, uint64_t gpa, uint64_t size);
char *gs_test_mmap_gmem(int fd, uint64_t size);

/*
 * HugeTLB fixtures of the conversion tests. gs_test_hugetlb_setup(): injection
 * and the WARN count reset, HVO on, and @mem (anonymous data or metadata only)
 * under the pools as their host memory. gs_test_hugetlb_teardown(), after the
 * caller closed its files: the LRU drained, the deferred merges run and every
 * pool emptied, so the next test starts from nothing allocated.
 */
struct gs_hugetlb_host;
/* A sw_protected VM (in-place conversion on) with the ordering @conv: its fd. */
int gs_test_create_vm(enum gs_gmem_conversion conv);
void gs_test_hugetlb_setup(struct gs_hugetlb_host *mem);
void gs_test_hugetlb_teardown(void);
/* Every HugeTLB pool emptied (set_max_huge_pages() to 0 for each hstate). */
void gs_test_empty_pools(void);

/* -1 and @err, as a libc wrapper reports a failed syscall (the gs_* uAPI). */
#define assert_fails(call, err)                 \
	do {                                    \
		errno = 0;                      \
		ck_assert_int_eq((call), -1);   \
		ck_assert_int_eq(errno, (err)); \
	} while (0)

/* GS_TEST_ASAN: built with AddressSanitizer (gcc or clang), where poisoned reads trap. */
#if defined(__SANITIZE_ADDRESS__)
#define GS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GS_TEST_ASAN 1
#endif
#endif

#endif /* GS_TESTS_HARNESS_H */
