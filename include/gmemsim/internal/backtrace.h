/* SPDX-License-Identifier: MIT */
/*
 * Call-path capture with libunwind, for WARN reports (symbolized) and for the
 * fault injector (hashed). Internal to libgmemsim.
 */
#ifndef GS_LIB_BACKTRACE_H
#define GS_LIB_BACKTRACE_H

#include <stdio.h>
#include <gmemsim/compiler.h>

/* Print up to @max frames, innermost first, leaving out @skip frames. */
void gs_backtrace_print(FILE *f, unsigned int skip, unsigned int max);

#endif /* GS_LIB_BACKTRACE_H */
