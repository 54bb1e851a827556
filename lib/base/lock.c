// SPDX-License-Identifier: MIT
/*
 * Reports of lock-rule violations for the simulated spinlocks in
 * <gmemsim/spinlock.h> (the kernel's lockdep and might_sleep() checks).
 */
#include <gmemsim/spinlock.h>
#include <gmemsim/warn.h>

unsigned int gs_preempt_count;

void gs_lock_bug(const char *what, const char *file, int line)
{
	gs_warn_report(file, line, "lock", "%s (locks held: %u)", what, gs_preempt_count);
}
