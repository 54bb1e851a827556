// SPDX-License-Identifier: MIT
/*
 * WARN and BUG reporting (kernel/panic.c's __warn() and panic_on_warn): print
 * the location, the message and a symbolized backtrace, count, and either go
 * on or abort.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/backtrace.h>

unsigned int gs_warn_generation = 1;
static unsigned long warn_count;
static enum gs_warn_mode warn_mode = GS_WARN_PRINT;
static FILE *warn_stream;
static char warn_last[512];

unsigned long gs_warn_count(void)
{
	return warn_count;
}

void gs_warn_reset_count(void)
{
	warn_count = 0;
}

void gs_warn_reset_once(void)
{
	gs_warn_generation++;
}

enum gs_warn_mode gs_warn_set_mode(enum gs_warn_mode mode)
{
	enum gs_warn_mode old = warn_mode;

	warn_mode = mode;
	return old;
}

FILE *gs_warn_set_stream(FILE *f)
{
	FILE *old = warn_stream ? warn_stream : stderr;

	warn_stream = f;
	return old;
}

const char *gs_warn_last(void)
{
	return warn_last;
}

void gs_warn_report(const char *file, int line, const char *func, const char *fmt, ...)
{
	FILE *f = warn_stream ? warn_stream : stderr;
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(warn_last, sizeof(warn_last), "%s:%d %s: %s", file, line, func, msg);
	warn_count++;
	gs_trace("warn", GS_TF_STR("file", file), GS_TF_S("line", line), GS_TF_STR("func", func),
		 GS_TF_STR("msg", msg));
	if (warn_mode == GS_WARN_QUIET)
		return;
	fprintf(f, "------------[ cut here ]------------\n");
	fprintf(f, "WARNING: %s\n", warn_last);
	fprintf(f, "Call Trace:\n");
	gs_backtrace_print(f, 1, 16);
	fprintf(f, "---[ end trace ]---\n");
	fflush(f);
	if (warn_mode == GS_WARN_PANIC) {
		fprintf(f, "Kernel panic - not syncing: panic_on_warn set\n");
		abort();
	}
}

void gs_bug(const char *file, int line, const char *func, const char *cond)
{
	FILE *f = warn_stream ? warn_stream : stderr;

	fprintf(f, "------------[ cut here ]------------\n");
	fprintf(f, "kernel BUG at %s:%d %s: %s\n", file, line, func, cond);
	gs_backtrace_print(f, 1, 16);
	fflush(f);
	abort();
}
