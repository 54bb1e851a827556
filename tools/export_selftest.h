/* SPDX-License-Identifier: MIT */
/*
 * `gmemsim export-selftest` (export_selftest.c): a scenario as a
 * kselftest-style C program over the KVM selftest library, asserting the
 * answers the simulator gave (docs/SCENARIOS.md, docs/FUZZING.md).
 */
#ifndef GMEMSIM_TOOLS_EXPORT_SELFTEST_H
#define GMEMSIM_TOOLS_EXPORT_SELFTEST_H

#include <gmemsim/scenario.h>

/**
 * gs_export_selftest() - run @path on the simulator and write it as a kselftest program
 * @base: the run's options (seed, planted bugs are ignored: the values asserted are the
 *        simulator's without them)
 * @path: the .gms file
 * @out: the C file to write; NULL or "-": stdout
 *
 * Context: the gmemsim command; runs the scenario up to twice (the upstream profile first).
 * Return: 0 written; GS_EXIT_USAGE (unreadable file, unwritable output, an answer left
 * as '?'); GS_EXIT_SYNTAX (malformed scenario, file:line: message on stderr). Nothing is
 * written on failure.
 */
int gs_export_selftest(const struct gs_scenario_opts *base, const char *path, const char *out);

#endif /* GMEMSIM_TOOLS_EXPORT_SELFTEST_H */
