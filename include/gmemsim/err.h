/* SPDX-License-Identifier: MIT */
/*
 * Error values carried in pointers, as include/linux/err.h: the top 4095
 * addresses are never valid, so a function returning a pointer can return
 * -errno in it.
 */
#ifndef GMEMSIM_ERR_H
#define GMEMSIM_ERR_H

#include <gmemsim/compiler.h>

#define MAX_ERRNO 4095

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO;
}

static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return !ptr || IS_ERR(ptr);
}

#endif /* GMEMSIM_ERR_H */
