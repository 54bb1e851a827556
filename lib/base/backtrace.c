// SPDX-License-Identifier: MIT
/*
 * Backtraces through libunwind: the simulator's dump_stack(). Hashes use
 * offsets of each return address inside its loaded object, so a hash names
 * the same call path in every run of one binary (ASLR moves only the bases).
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <string.h>
#include <gmemsim/inject.h>
#include <gmemsim/internal/backtrace.h>

#define GS_BT_MAX_FRAMES 32

void gs_backtrace_print(FILE *f, unsigned int skip, unsigned int max)
{
	unw_context_t uc;
	unw_cursor_t cur;
	unsigned int depth = 0, shown = 0;

	if (unw_getcontext(&uc) || unw_init_local(&cur, &uc))
		return;
	while (shown < max && unw_step(&cur) > 0) {
		char name[256];
		unw_word_t off = 0, ip = 0;

		if (depth++ < skip)
			continue;
		unw_get_reg(&cur, UNW_REG_IP, &ip);
		if (unw_get_proc_name(&cur, name, sizeof(name), &off))
			fprintf(f, "  #%-2u 0x%lx ?\n", shown, (unsigned long)ip);
		else
			fprintf(f, "  #%-2u %s+0x%lx\n", shown, name, (unsigned long)off);
		shown++;
		if (!strcmp(name, "main"))
			break;
	}
}

uint64_t gs_backtrace_hash(unsigned int skip)
{
	void *ips[GS_BT_MAX_FRAMES];
	int n = unw_backtrace(ips, GS_BT_MAX_FRAMES);
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	/*
	 * Only the innermost GS_INJECT_STACK_DEPTH frames count: the path near the
	 * failure point is what distinguishes callers, and outer frames (a test's
	 * loop, main) would make equal paths look different.
	 */
	if (n > (int)skip + 1 + GS_INJECT_STACK_DEPTH)
		n = (int)skip + 1 + GS_INJECT_STACK_DEPTH;
	for (int i = (int)skip + 1; i < n; i++) {
		Dl_info info;
		uintptr_t off = (uintptr_t)ips[i];

		if (dladdr(ips[i], &info) && info.dli_fbase)
			off -= (uintptr_t)info.dli_fbase;
		for (int b = 0; b < 8; b++) {
			h ^= (off >> (8 * b)) & 0xff;
			h *= 0x100000001b3ULL;
		}
	}
	return h ? h : 1;
}
