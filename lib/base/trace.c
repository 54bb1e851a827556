// SPDX-License-Identifier: MIT
/*
 * Event emission to pluggable sinks, and the JSON-lines sink. Plays the role
 * of the kernel's tracepoints and trace_pipe for a deterministic simulator:
 * sequence numbers instead of timestamps.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/trace.h>

unsigned int gs_trace_nr_sinks;
static struct gs_trace_sink sinks[GS_TRACE_MAX_SINKS];
static bool sink_used[GS_TRACE_MAX_SINKS];
static uint64_t trace_seq;

int gs_trace_add_sink(const struct gs_trace_sink *sink)
{
	if (!sink || !sink->emit)
		return -EINVAL;
	for (int i = 0; i < GS_TRACE_MAX_SINKS; i++) {
		if (sink_used[i])
			continue;
		sinks[i] = *sink;
		sink_used[i] = true;
		gs_trace_nr_sinks++;
		return i;
	}
	return -ENOSPC;
}

void gs_trace_remove_sink(int handle)
{
	if (handle < 0 || handle >= GS_TRACE_MAX_SINKS || !sink_used[handle])
		return;
	sink_used[handle] = false;
	gs_trace_nr_sinks--;
	if (sinks[handle].close)
		sinks[handle].close(sinks[handle].ctx);
}

void gs_trace_remove_all(void)
{
	for (int i = 0; i < GS_TRACE_MAX_SINKS; i++)
		gs_trace_remove_sink(i);
}

void gs_trace_reset_seq(void)
{
	trace_seq = 0;
}

void gs_trace_emitv(const char *event, const struct gs_trace_field *fields, size_t nr)
{
	uint64_t seq = ++trace_seq;

	for (int i = 0; i < GS_TRACE_MAX_SINKS; i++)
		if (sink_used[i])
			sinks[i].emit(sinks[i].ctx, seq, event, fields, nr);
}

struct json_sink {
	FILE *f;
	bool owns;
};

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void json_emit(void *ctx, uint64_t seq, const char *event,
		      const struct gs_trace_field *fields, size_t nr)
{
	FILE *f = ((struct json_sink *)ctx)->f;

	fprintf(f, "{\"seq\":%" PRIu64 ",\"event\":", seq);
	json_string(f, event);
	for (size_t i = 0; i < nr; i++) {
		const struct gs_trace_field *fl = &fields[i];

		fputc(',', f);
		json_string(f, fl->key);
		fputc(':', f);
		switch (fl->type) {
		case GS_TF_U64:
			fprintf(f, "%" PRIu64, fl->u);
			break;
		case GS_TF_S64:
			fprintf(f, "%" PRId64, fl->s);
			break;
		case GS_TF_HEX:
			fprintf(f, "\"0x%" PRIx64 "\"", fl->u);
			break;
		case GS_TF_STR:
			json_string(f, fl->str);
			break;
		case GS_TF_BOOL:
			fputs(fl->b ? "true" : "false", f);
			break;
		}
	}
	fputs("}\n", f);
	/*
	 * Buffered: a split of 1 GiB to 4 KiB can emit 262,144 events, and a
	 * flush each made traced runs crawl. Flushed at scenario boundaries
	 * and when the sink is removed.
	 */
	if (!strncmp(event, "scenario.", 9))
		fflush(f);
}

static void json_close(void *ctx)
{
	struct json_sink *js = ctx;

	if (js->owns)
		fclose(js->f);
	else
		fflush(js->f);
	free(js);
}

int gs_trace_json_sink(FILE *f, bool owns, struct gs_trace_sink *out)
{
	struct json_sink *js;

	if (!f || !out)
		return -EINVAL;
	js = malloc(sizeof(*js));
	if (!js)
		return -ENOMEM;
	*js = (struct json_sink){.f = f, .owns = owns};
	*out = (struct gs_trace_sink){.emit = json_emit, .close = json_close, .ctx = js};
	return 0;
}
