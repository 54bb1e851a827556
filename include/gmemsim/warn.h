/* SPDX-License-Identifier: MIT */
/*
 * WARN_ON() and friends, as in include/asm-generic/bug.h: a WARN reports a
 * condition that must never happen (a bug in gmemsim or in a prototype built
 * on it), prints where it happened with a symbolized backtrace (libunwind),
 * counts it, and lets execution go on. Tests assert the count; fuzzers turn
 * WARNs into aborts (panic_on_warn).
 */
#ifndef GMEMSIM_WARN_H
#define GMEMSIM_WARN_H

#include <stdio.h>
#include <gmemsim/compiler.h>

enum gs_warn_mode {
	GS_WARN_PRINT, /* print message and backtrace (default) */
	GS_WARN_QUIET, /* count only */
	GS_WARN_PANIC, /* print, then abort(): panic_on_warn, for fuzzing */
};

/* Bumped by gs_warn_reset_once(); WARN_ON_ONCE() sites remember it. */
extern GS_API unsigned int gs_warn_generation;

/**
 * gs_warn_report() - report a WARN (use the macros below)
 * @file: source file
 * @line: source line
 * @func: function
 * @fmt: message
 *
 * Context: any.
 */
GS_API void gs_warn_report(const char *file, int line, const char *func, const char *fmt, ...)
	__printf(4, 5);

/** gs_bug() - report a BUG and abort */
GS_API __noreturn void gs_bug(const char *file, int line, const char *func, const char *cond);

/** gs_warn_count() - WARNs reported since start or the last gs_warn_reset_count() */
GS_API unsigned long gs_warn_count(void);
GS_API void gs_warn_reset_count(void);

/** gs_warn_reset_once() - re-arm every WARN_ON_ONCE() (the kernel's clear_warn_once) */
GS_API void gs_warn_reset_once(void);

/**
 * gs_warn_set_mode() - choose what a WARN does
 * @mode: GS_WARN_PRINT, GS_WARN_QUIET or GS_WARN_PANIC
 *
 * Return: the previous mode.
 */
GS_API enum gs_warn_mode gs_warn_set_mode(enum gs_warn_mode mode);

/** gs_warn_set_stream() - where WARN text goes (stderr by default); returns the old one */
GS_API FILE *gs_warn_set_stream(FILE *f);

/**
 * gs_warn_last() - text of the last WARN's first line ("file:line func: message")
 *
 * Return: a string owned by the library, "" before any WARN.
 */
GS_API const char *gs_warn_last(void);

#define WARN(cond, fmt, ...)                                                              \
	({                                                                                \
		int __gs_ret = !!(cond);                                                  \
		if (unlikely(__gs_ret))                                                   \
			gs_warn_report(__FILE__, __LINE__, __func__, fmt, ##__VA_ARGS__); \
		unlikely(__gs_ret);                                                       \
	})

#define WARN_ON(cond) WARN(cond, "WARN_ON(%s)", #cond)

#define WARN_ONCE(cond, fmt, ...)                                                         \
	({                                                                                \
		static unsigned int __gs_warned;                                          \
		int __gs_ret = !!(cond);                                                  \
		if (unlikely(__gs_ret) && __gs_warned != gs_warn_generation) {            \
			__gs_warned = gs_warn_generation;                                 \
			gs_warn_report(__FILE__, __LINE__, __func__, fmt, ##__VA_ARGS__); \
		}                                                                         \
		unlikely(__gs_ret);                                                       \
	})

#define WARN_ON_ONCE(cond) WARN_ONCE(cond, "WARN_ON_ONCE(%s)", #cond)

#define BUG_ON(cond)                                                 \
	do {                                                         \
		if (unlikely(cond))                                  \
			gs_bug(__FILE__, __LINE__, __func__, #cond); \
	} while (0)

#define BUG() gs_bug(__FILE__, __LINE__, __func__, "BUG()")

#endif /* GMEMSIM_WARN_H */
