/* SPDX-License-Identifier: MIT */
/* <linux/module.h> for the peer suite: see kernel-shim.h. */
#include "kernel-shim.h"
