/* SPDX-License-Identifier: MIT */
/*
 * Internals of the simulated uAPI (lib/uapi) shared with its syscall
 * table (lib/uapi/sys_sim.c). Not installed.
 */
#ifndef GS_LIB_UAPI_INT_H
#define GS_LIB_UAPI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A load or store by the process through a gs_mmap() mapping: 0,
 * GS_SYS_SIGBUS, -ENOMEM (the fault could not allocate), or -EFAULT when
 * the copy reaches an address no mapping holds (it crosses from a mapping
 * into one that begins where it ends). *@done: bytes copied.
 */
int gs_uapi_access(uintptr_t addr, void *buf, size_t len, bool write, size_t *done);

/*
 * Host mmap() calls made so far to reserve address ranges for gs_mmap()
 * mappings (not MAP_FIXED ones): a test's view of the range cache.
 */
unsigned long gs_uapi_host_reservations(void);

/*
 * Tests' view of the arena gs_mmap() takes ranges from: its start, the
 * start of its free part, its end (all 0 before the first range).
 */
void gs_uapi_va_arena(uintptr_t *start, uintptr_t *next, uintptr_t *end);

/* Tests: every cached range back to the host, so the next gs_mmap() takes from the arena. */
void gs_uapi_va_cache_drop(void);

#endif /* GS_LIB_UAPI_INT_H */
