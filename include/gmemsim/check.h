/* SPDX-License-Identifier: MIT */
/*
 * Invariant checkers. Each layer registers the checks that keep its state
 * honest (allocator counters, lock balance, later folio/XArray/maple/HugeTLB
 * accounting); the scenario verb `check`, the fuzzers and the tests run them
 * all after operations. A checker reports each violation with a message and
 * never stops at the first.
 */
#ifndef GMEMSIM_CHECK_H
#define GMEMSIM_CHECK_H

#include <stdio.h>
#include <gmemsim/compiler.h>

/**
 * struct gs_check_report - violations found by one checker
 * @name: the checker, printed with each violation
 * @out: where violations are printed; NULL for silence
 * @violations: how many were reported
 */
struct gs_check_report {
	const char *name;
	FILE *out;
	unsigned int violations;
};

#define GS_CHECK_REPORT_INIT(n, f) ((struct gs_check_report){.name = (n), .out = (f)})

typedef void (*gs_checker_fn)(struct gs_check_report *r, void *ctx);

/**
 * gs_check_violation() - report one violated invariant
 * @r: the report passed to the checker
 * @fmt: what is wrong, with the values that show it
 */
GS_API void gs_check_violation(struct gs_check_report *r, const char *fmt, ...) __printf(2, 3);

/**
 * gs_check_register() - add a checker
 * @name: shown with its violations
 * @fn: the checker
 * @ctx: passed to @fn
 *
 * Return: a handle >= 0 for gs_check_unregister(), or -ENOSPC.
 */
GS_API int gs_check_register(const char *name, gs_checker_fn fn, void *ctx);

/** gs_check_unregister() - remove a checker added with gs_check_register() */
GS_API void gs_check_unregister(int handle);

/**
 * gs_check_run_all() - run every checker (built-in and registered)
 * @out: where violations are printed, one per line ("check <name>: ..."); NULL for silence
 *
 * Return: the number of violations.
 */
GS_API unsigned int gs_check_run_all(FILE *out);

/**
 * gs_check_pass() - which run of every checker is under way
 *
 * Checkers only read the state, so what two checkers of one
 * gs_check_run_all() compute from the same state (HugeTLB's split pages'
 * records, for the pools' and the cgroups' checkers) can be computed once
 * and kept for the pass that computed it.
 *
 * Context: any; nothing changes the state while checkers run.
 * Return: a number of its own for each gs_check_run_all() while it runs,
 * 0 outside one.
 */
GS_API unsigned long gs_check_pass(void);

#endif /* GMEMSIM_CHECK_H */
