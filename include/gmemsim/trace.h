/* SPDX-License-Identifier: MIT */
/*
 * Events: operations and state changes, emitted to sinks. An event is a name
 * ("inject.fail", "warn", "op", later "folio.split", ...) and a short list of
 * typed fields; events carry a sequence number and no timestamps, so a trace
 * is deterministic. A JSON-lines sink ships; renderers and tests add their own
 * sinks. The role of the kernel's tracepoints, without the ring buffer.
 */
#ifndef GMEMSIM_TRACE_H
#define GMEMSIM_TRACE_H

#include <stdio.h>
#include <gmemsim/compiler.h>

enum gs_tf_type {
	GS_TF_U64,
	GS_TF_S64,
	GS_TF_HEX, /* u64 printed as "0x..." */
	GS_TF_STR,
	GS_TF_BOOL,
};

struct gs_trace_field {
	const char *key;
	enum gs_tf_type type;
	union {
		uint64_t u;
		int64_t s;
		const char *str;
		bool b;
	};
};

#define GS_TF_U(k, v)	((struct gs_trace_field){.key = (k), .type = GS_TF_U64, .u = (v)})
#define GS_TF_S(k, v)	((struct gs_trace_field){.key = (k), .type = GS_TF_S64, .s = (v)})
#define GS_TF_X(k, v)	((struct gs_trace_field){.key = (k), .type = GS_TF_HEX, .u = (v)})
#define GS_TF_STR(k, v) ((struct gs_trace_field){.key = (k), .type = GS_TF_STR, .str = (v)})
#define GS_TF_B(k, v)	((struct gs_trace_field){.key = (k), .type = GS_TF_BOOL, .b = (v)})

/**
 * struct gs_trace_sink - a consumer of events
 * @emit: called for every event, in order
 * @close: called once when the sink is removed; may be NULL
 * @ctx: the sink's own state
 */
struct gs_trace_sink {
	void (*emit)(void *ctx, uint64_t seq, const char *event,
		     const struct gs_trace_field *fields, size_t nr);
	void (*close)(void *ctx);
	void *ctx;
};

#define GS_TRACE_MAX_SINKS 8

/* Non-zero while any sink is attached: emitting costs one test otherwise. */
extern GS_API unsigned int gs_trace_nr_sinks;

/**
 * gs_trace_add_sink() - attach a sink
 * @sink: copied
 *
 * Return: a handle >= 0, or -ENOSPC.
 */
GS_API int gs_trace_add_sink(const struct gs_trace_sink *sink);

/** gs_trace_remove_sink() - detach sink @handle, calling its close hook */
GS_API void gs_trace_remove_sink(int handle);

/** gs_trace_remove_all() - detach every sink */
GS_API void gs_trace_remove_all(void);

/** gs_trace_reset_seq() - restart sequence numbers at 1 (for a new run) */
GS_API void gs_trace_reset_seq(void);

/** gs_trace_emitv() - emit an event to every sink (use gs_trace()) */
GS_API void gs_trace_emitv(const char *event, const struct gs_trace_field *fields, size_t nr);

#define gs_trace(event, ...)                                                  \
	do {                                                                  \
		if (unlikely(gs_trace_nr_sinks)) {                            \
			const struct gs_trace_field __gs_f[] = {__VA_ARGS__}; \
			gs_trace_emitv(event, __gs_f, ARRAY_SIZE(__gs_f));    \
		}                                                             \
	} while (0)

/**
 * gs_trace_json_sink() - a sink writing one JSON object per line
 * @f: stream; buffered, flushed at scenario.* events and when the sink is removed
 * @owns: close @f when the sink is removed
 * @out: filled in
 *
 * Each line reads {"seq":N,"event":"name","key":value,...}.
 *
 * Return: 0, or -ENOMEM.
 */
GS_API int gs_trace_json_sink(FILE *f, bool owns, struct gs_trace_sink *out);

#endif /* GMEMSIM_TRACE_H */
