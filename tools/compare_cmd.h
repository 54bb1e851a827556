/* SPDX-License-Identifier: MIT */
/* The `workload` and `compare` commands (compare_cmd.c), called from main(). */
#ifndef GMEMSIM_TOOLS_COMPARE_CMD_H
#define GMEMSIM_TOOLS_COMPARE_CMD_H

/* Parses its own options: argv[1] is "workload" or "compare". */
int gs_cmd_compare_main(int argc, char **argv);

#endif
