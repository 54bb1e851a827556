/* SPDX-License-Identifier: MIT */
/* <linux/rwsem.h> for the peer suite: one thread, so a semaphore only counts. */
#ifndef GS_PEER_LINUX_RWSEM_H
#define GS_PEER_LINUX_RWSEM_H

#include "kernel-shim.h"

struct rw_semaphore {
	int count;
};
#define DECLARE_RWSEM(name) struct rw_semaphore name = {0}
static inline void init_rwsem(struct rw_semaphore *sem)
{
	sem->count = 0;
}
static inline void down_write(struct rw_semaphore *sem)
{
	BUG_ON(sem->count);
	sem->count = -1;
}
static inline void up_write(struct rw_semaphore *sem)
{
	BUG_ON(sem->count != -1);
	sem->count = 0;
}
#define SINGLE_DEPTH_NESTING 1
/* Lockdep's nesting annotation has nothing to check with one thread. */
#define down_write_nested(sem, subclass) ((void)(subclass), down_write(sem))

static inline void down_read(struct rw_semaphore *sem)
{
	BUG_ON(sem->count < 0);
	sem->count++;
}
static inline void up_read(struct rw_semaphore *sem)
{
	BUG_ON(sem->count <= 0);
	sem->count--;
}

#endif
