/* SPDX-License-Identifier: MIT */
/*
 * RCU as the kernel promises it to a reader, for one thread of control. A
 * reader is inside a read-side critical section while it holds
 * rcu_read_lock() or any simulated spinlock (atomic context is one in the
 * kernel's consolidated RCU). An object handed to call_rcu() stays readable
 * until the grace period ends, which gmemsim makes as early as the kernel may:
 * at the first moment no read-side critical section is open (the outermost
 * rcu_read_unlock() or spin_unlock()), or at once when none is open. So code
 * that keeps a pointer past its critical section reads freed memory, and
 * ASan or memcheck report it. Mirrors include/linux/rcupdate.h (the calls
 * the structures use), not its implementation.
 */
#ifndef GMEMSIM_RCU_H
#define GMEMSIM_RCU_H

#include <gmemsim/compiler.h>

/**
 * struct rcu_head - an object's link in the queue of objects awaiting a grace period
 * @next: the queue's
 * @func: frees the object; gets this head
 */
struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

/* Open rcu_read_lock() sections, and the objects waiting for a grace period. */
extern GS_API unsigned int gs_rcu_read_depth;
extern GS_API struct rcu_head *gs_rcu_pending;
extern GS_API unsigned int gs_preempt_count;

/**
 * gs_rcu_quiescent() - end the grace period: free what waits for it
 *
 * Context: no read-side critical section open (the lock helpers call it).
 */
GS_API void gs_rcu_quiescent(void);

GS_API void gs_rcu_unlock_bug(void);

/** rcu_read_lock() - open a read-side critical section; nests */
static inline void rcu_read_lock(void)
{
	gs_rcu_read_depth++;
}

/** rcu_read_unlock() - close one; the outermost may end a grace period */
static inline void rcu_read_unlock(void)
{
	if (unlikely(!gs_rcu_read_depth)) {
		gs_rcu_unlock_bug();
		return;
	}
	if (!--gs_rcu_read_depth && !gs_preempt_count && unlikely(gs_rcu_pending != NULL))
		gs_rcu_quiescent();
}

/** rcu_read_lock_held() - whether the caller is in a read-side critical section */
static inline int rcu_read_lock_held(void)
{
	return gs_rcu_read_depth || gs_preempt_count;
}

/**
 * call_rcu() - free an object after the current grace period
 * @head: the object's rcu_head
 * @func: frees it
 *
 * Context: any. Without an open read-side critical section, @func runs now.
 */
GS_API void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));

/**
 * synchronize_rcu() - wait for a grace period
 *
 * Context: may sleep: WARNs inside a read-side critical section (the kernel
 * deadlocks there).
 */
GS_API void synchronize_rcu(void);

/**
 * rcu_barrier() - wait until every call_rcu() callback queued so far has run
 *
 * Context: as synchronize_rcu().
 */
GS_API void rcu_barrier(void);

#endif /* GMEMSIM_RCU_H */
