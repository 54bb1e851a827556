/* SPDX-License-Identifier: MIT */
/* <linux/gfp.h> for the radix-tree harness: see ../radix-tree-harness.h. */
#include "../radix-tree-harness.h"
