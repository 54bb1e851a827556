/* SPDX-License-Identifier: MIT */
/*
 * <linux/errno.h> for the radix-tree harness: the system's (C library headers
 * include it too, so it must not pull in the harness header).
 */
#include_next <linux/errno.h>
