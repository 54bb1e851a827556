/* SPDX-License-Identifier: MIT */
/* <linux/types.h> for the radix-tree harness: the system's, then ../radix-tree-harness.h. */
#include_next <linux/types.h>
#include "../radix-tree-harness.h"
