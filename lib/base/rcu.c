// SPDX-License-Identifier: MIT
/*
 * Grace periods for one thread of control (include/gmemsim/rcu.h): objects
 * queued by call_rcu() are freed at the first moment no read-side critical
 * section (rcu_read_lock() or a simulated spinlock) is open. Mirrors the
 * guarantee of kernel/rcu/, not its machinery.
 */
#include <gmemsim/rcu.h>
#include <gmemsim/spinlock.h>
#include <gmemsim/warn.h>

unsigned int gs_rcu_read_depth;
struct rcu_head *gs_rcu_pending;

void gs_rcu_unlock_bug(void)
{
	gs_warn_report(__FILE__, __LINE__, "lock", "rcu_read_unlock() without rcu_read_lock()");
}

void gs_rcu_quiescent(void)
{
	/* A callback may queue more (freeing a subtree): run until none is left. */
	while (gs_rcu_pending) {
		struct rcu_head *list = gs_rcu_pending;

		gs_rcu_pending = NULL;
		while (list) {
			struct rcu_head *next = list->next;

			list->func(list);
			list = next;
		}
	}
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	head->func = func;
	if (!gs_rcu_read_depth && !gs_preempt_count) {
		func(head);
		return;
	}
	head->next = gs_rcu_pending;
	gs_rcu_pending = head;
}

static void wait_grace_period(const char *what)
{
	if (gs_rcu_read_depth || gs_preempt_count) {
		gs_warn_report(__FILE__, __LINE__, "lock",
			       "%s inside a read-side critical section (rcu depth %u, locks %u)",
			       what, gs_rcu_read_depth, gs_preempt_count);
		return;
	}
	gs_rcu_quiescent();
}

void synchronize_rcu(void)
{
	wait_grace_period("synchronize_rcu()");
}

void rcu_barrier(void)
{
	wait_grace_period("rcu_barrier()");
}
