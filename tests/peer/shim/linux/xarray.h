/* SPDX-License-Identifier: MIT */
/*
 * <linux/xarray.h> for the peer suite: gmemsim's XArray (include/gmemsim/xarray.h)
 * under the kernel's names, plus the kernel environment of kernel-shim.h.
 */
#ifndef GS_PEER_LINUX_XARRAY_H
#define GS_PEER_LINUX_XARRAY_H

#include "kernel-shim.h"
#include <gmemsim/list.h>
/*
 * Module semantics (__KERNEL__, which the peer build defines) give the test
 * file its own empty xa_dump(const struct xarray *): gmemsim's, which prints
 * to a FILE, is declared here under another name so the two do not clash.
 */
#define xa_dump gs_peer_xa_dump_unused
#include <gmemsim/xarray.h>
#undef xa_dump

#endif
