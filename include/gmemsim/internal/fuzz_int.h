/* SPDX-License-Identifier: MIT */
/*
 * Internals of the structured fuzzing format shared by its decoder
 * (lib/scenario/fuzz_decode.c), its runner (fuzz_campaign.c) and the tests:
 * a fuzz input decoded straight into the scenario engine's operations,
 * without the .gms text. Not installed.
 */
#ifndef GS_LIB_FUZZ_INT_H
#define GS_LIB_FUZZ_INT_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <gmemsim/fuzz.h>

/*
 * The operations gs_fuzz_decode()'s text parses into, made from @data
 * without the text: into @ops (struct gs_op; grown, never shrunk, so a
 * caller reuses one array across inputs), each with @name as its file and
 * its line number in the text, and no @src (the text is not made). Numbers
 * carry no raw text (gs_arg.str) either; the other values are the parser's.
 * The program is kept for gs_fuzz_write_built().
 * Returns the number of operations, or -EINVAL when a line would not parse
 * (a decoder bug).
 */
int gs_fuzz_build_ops(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts,
		      const char *name, GArray *ops);

/*
 * The text of the program gs_fuzz_build_ops() made last, to @fd: what
 * gs_fuzz_decode() prints for the same input. Async-signal-safe (no
 * allocation, no stdio): a crash dump writes it.
 */
void gs_fuzz_write_built(int fd);

#endif /* GS_LIB_FUZZ_INT_H */
