// SPDX-License-Identifier: MIT
/*
 * main() and helpers shared by every Check test program (see harness.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <valgrind/valgrind.h>
#include <fcntl.h>
#include <glib.h>
#include <gmemsim/alloc.h>
#include <gmemsim/check.h>
#include <gmemsim/gmem.h>
#include <gmemsim/kvm.h>
#include <gmemsim/hugetlb.h>
#include <gmemsim/hugetlb_backend.h>
#include <gmemsim/hugetlb_restructuring.h>
#include <gmemsim/hvo.h>
#include <gmemsim/inject.h>
#include <gmemsim/warn.h>
#include <gmemsim/rng.h>
#include <gmemsim/uapi.h>
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

char *gs_test_slurp(FILE *f)
{
	long len;
	char *buf;

	fflush(f);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	buf = g_malloc0((gsize)len + 1);
	rewind(f);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

char *gs_test_check_report(void)
{
	static char *out;
	static size_t len;
	FILE *m;

	out = NULL;
	m = open_memstream(&out, &len);
	gs_check_run_all(m);
	fclose(m);
	return out;
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

void gs_test_bind_gmem(int vm, int fd, uint64_t gpa, uint64_t size)
{
	struct gs_kvm_userspace_memory_region2 mem = {
		.flags = GS_KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.guest_memfd = (uint32_t)fd,
	};

	ck_assert_int_eq(gs_ioctl(vm, GS_KVM_SET_USER_MEMORY_REGION2, &mem), 0);
}

char *gs_test_mmap_gmem(int fd, uint64_t size)
{
	void *addr = gs_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ck_assert_ptr_ne(addr, MAP_FAILED);
	return addr;
}

static struct gs_hugetlb_backend hugetlb_fixture_backend;

void gs_test_hugetlb_setup(struct gs_hugetlb_host *mem)
{
	gs_inject_reset();
	gs_warn_reset_count();
	gs_hvo_set_enabled(true);
	hugetlb_fixture_backend = gs_hugetlb_host_backend(mem);
	ck_assert_int_eq(hugetlb_set_backend(&hugetlb_fixture_backend), 0);
}

void gs_test_empty_pools(void)
{
	struct hstate *h;

	for_each_hstate (h)
		set_max_huge_pages(h, 0);
}

void gs_test_hugetlb_teardown(void)
{
	lru_add_drain_all();
	hugetlb_restructuring_run_deferred();
	gs_test_empty_pools();
	gs_inject_reset();
}

int gs_test_create_vm(enum gs_gmem_conversion conv)
{
	struct kvm_params params = kvm_default_params(GS_GMEM_PROFILE_DESIGN), old;
	int kvm = gs_open("/dev/kvm", O_RDWR), vm;

	ck_assert_int_ge(kvm, 0);
	params.conversion = conv;
	old = gs_uapi_swap_vm_params(&params);
	vm = gs_ioctl(kvm, GS_KVM_CREATE_VM, GS_KVM_X86_SW_PROTECTED_VM);
	gs_uapi_swap_vm_params(&old);
	ck_assert_int_ge(vm, 0);
	ck_assert_int_eq(gs_close(kvm), 0);
	return vm;
}
