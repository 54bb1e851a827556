/* SPDX-License-Identifier: MIT */
/* <linux/slab.h> for the radix-tree harness: see ../radix-tree-harness.h. */
#include "../radix-tree-harness.h"
