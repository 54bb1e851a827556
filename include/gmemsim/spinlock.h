/* SPDX-License-Identifier: MIT */
/*
 * Simulated spinlocks and atomic context. gmemsim runs one thread of control,
 * so a lock never contends; what it does is keep the kernel's rules checkable:
 * taking a held lock (a self-deadlock in the kernel), releasing a free one,
 * and sleeping (a blocking allocation) while any lock is held all WARN.
 * Mirrors include/linux/spinlock.h, lockdep_assert_held() and might_sleep().
 */
#ifndef GMEMSIM_SPINLOCK_H
#define GMEMSIM_SPINLOCK_H

#include <gmemsim/compiler.h>
#include <gmemsim/rcu.h>

typedef struct spinlock {
	unsigned int locked;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(name) ((spinlock_t){.locked = 0})
#define DEFINE_SPINLOCK(name)	   spinlock_t name = {.locked = 0}

/*
 * gs_preempt_count (declared in rcu.h, which the unlock path calls): the depth
 * of atomic context, the number of simulated spinlocks held. Exported so the
 * lock helpers stay inline (they sit on every XArray operation).
 */
GS_API void gs_lock_bug(const char *what, const char *file, int line);

static inline void spin_lock_init(spinlock_t *lock)
{
	lock->locked = 0;
}

#define spin_lock(lock)	  __gs_spin_lock(lock, __FILE__, __LINE__)
#define spin_unlock(lock) __gs_spin_unlock(lock, __FILE__, __LINE__)

static inline void __gs_spin_lock(spinlock_t *lock, const char *file, int line)
{
	if (unlikely(lock->locked))
		gs_lock_bug("recursive spin_lock (self-deadlock)", file, line);
	lock->locked = 1;
	gs_preempt_count++;
}

static inline void __gs_spin_unlock(spinlock_t *lock, const char *file, int line)
{
	if (unlikely(!lock->locked)) {
		gs_lock_bug("spin_unlock of an unlocked lock", file, line);
		return;
	}
	lock->locked = 0;
	/* Atomic context is a read-side critical section: its end may end a grace period. */
	if (!--gs_preempt_count && unlikely(gs_rcu_pending != NULL) && !gs_rcu_read_depth)
		gs_rcu_quiescent();
}

#define spin_lock_irq(lock)   spin_lock(lock)
#define spin_unlock_irq(lock) spin_unlock(lock)
#define spin_lock_bh(lock)    spin_lock(lock)
#define spin_unlock_bh(lock)  spin_unlock(lock)
#define spin_lock_irqsave(lock, flags) \
	do {                           \
		(flags) = 0;           \
		spin_lock(lock);       \
	} while (0)
#define spin_unlock_irqrestore(lock, flags) \
	do {                                \
		(void)(flags);              \
		spin_unlock(lock);          \
	} while (0)

static inline int spin_is_locked(const spinlock_t *lock)
{
	return lock->locked != 0;
}

#define lockdep_assert_held(lock)                                         \
	do {                                                              \
		if (unlikely(!(lock)->locked))                            \
			gs_lock_bug("lock not held", __FILE__, __LINE__); \
	} while (0)

/* In atomic context (any simulated spinlock held)? */
static inline int in_atomic(void)
{
	return gs_preempt_count != 0;
}

#define might_sleep()                                                                            \
	do {                                                                                     \
		if (unlikely(gs_preempt_count))                                                  \
			gs_lock_bug("sleeping function called from atomic context", __FILE__,    \
				    __LINE__);                                                   \
		else if (unlikely(gs_rcu_read_depth))                                            \
			gs_lock_bug("sleeping function called inside rcu_read_lock()", __FILE__, \
				    __LINE__);                                                   \
	} while (0)

#endif /* GMEMSIM_SPINLOCK_H */
