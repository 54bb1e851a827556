// SPDX-License-Identifier: MIT
/*
 * Tests of event emission (lib/trace.c): sinks, ordering, the JSON-lines
 * format, and the events other base services emit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>
#include <gmemsim/trace.h>
#include <gmemsim/warn.h>
#include "harness.h"

struct recorder {
	int events;
	uint64_t last_seq;
	char names[16][32];
	int closed;
};

static void rec_emit(void *ctx, uint64_t seq, const char *event, const struct gs_trace_field *f,
		     size_t nr)
{
	struct recorder *r = ctx;

	(void)f;
	(void)nr;
	ck_assert_uint_ge(seq, r->last_seq); /* several sinks may share a recorder */
	r->last_seq = seq;
	if (r->events < 16)
		snprintf(r->names[r->events], sizeof(r->names[0]), "%s", event);
	r->events++;
}

static void rec_close(void *ctx)
{
	((struct recorder *)ctx)->closed++;
}

START_TEST(trace_sinks_in_order)
{
	struct recorder r = {0};
	struct gs_trace_sink sink = {rec_emit, rec_close, &r};
	int h;

	ck_assert_uint_eq(gs_trace_nr_sinks, 0);
	gs_trace_reset_seq();
	gs_trace("nobody.listens", GS_TF_U("x", 1));
	h = gs_trace_add_sink(&sink);
	ck_assert_int_ge(h, 0);
	ck_assert_uint_eq(gs_trace_nr_sinks, 1);
	gs_trace("one", GS_TF_U("x", 1));
	gs_trace("two", GS_TF_STR("s", "v"));
	ck_assert_int_eq(r.events, 2);
	ck_assert_str_eq(r.names[0], "one");
	ck_assert_str_eq(r.names[1], "two");
	ck_assert_uint_eq(r.last_seq, 2); /* numbered from 1, only events that were emitted */
	gs_trace_remove_sink(h);
	ck_assert_int_eq(r.closed, 1);
	gs_trace_remove_sink(h); /* already gone: ignored */
	ck_assert_int_eq(r.closed, 1);
	gs_trace("three", GS_TF_U("x", 3));
	ck_assert_int_eq(r.events, 2);
}
END_TEST

START_TEST(trace_sink_limit)
{
	struct recorder r = {0};
	struct gs_trace_sink sink = {rec_emit, NULL, &r};
	struct gs_trace_sink bad = {NULL, NULL, NULL};

	ck_assert_int_eq(gs_trace_add_sink(&bad), -EINVAL);
	for (int i = 0; i < GS_TRACE_MAX_SINKS; i++)
		ck_assert_int_ge(gs_trace_add_sink(&sink), 0);
	ck_assert_int_eq(gs_trace_add_sink(&sink), -ENOSPC);
	gs_trace("fan.out", GS_TF_B("b", true));
	ck_assert_int_eq(r.events, GS_TRACE_MAX_SINKS);
	gs_trace_remove_all();
	ck_assert_uint_eq(gs_trace_nr_sinks, 0);
}
END_TEST

START_TEST(trace_json_format)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct gs_trace_sink sink;
	int h;

	ck_assert_int_eq(gs_trace_json_sink(f, false, &sink), 0);
	h = gs_trace_add_sink(&sink);
	gs_trace_reset_seq();
	gs_trace("folio.split", GS_TF_U("order", 18), GS_TF_S("ret", -12),
		 GS_TF_X("index", 0x40000), GS_TF_STR("why", "a \"quoted\"\nline\\\x01"),
		 GS_TF_B("hvo", false));
	gs_trace("second", GS_TF_B("ok", true));
	gs_trace_remove_sink(h);
	fclose(f);
	ck_assert_str_eq(buf,
			 "{\"seq\":1,\"event\":\"folio.split\",\"order\":18,\"ret\":-12,"
			 "\"index\":\"0x40000\",\"why\":\"a \\\"quoted\\\"\\nline\\\\\\u0001\","
			 "\"hvo\":false}\n"
			 "{\"seq\":2,\"event\":\"second\",\"ok\":true}\n");
	free(buf);
	ck_assert_int_eq(gs_trace_json_sink(NULL, false, &sink), -EINVAL);
}
END_TEST

START_TEST(trace_base_events)
{
	struct recorder r = {0};
	struct gs_trace_sink sink = {rec_emit, NULL, &r};
	struct gs_inject_rule rule = {.site = GS_SITE_KMALLOC, .mode = GS_INJECT_NTH, .nth = 1};
	int h = gs_trace_add_sink(&sink);

	gs_inject_arm(&rule);
	ck_assert_ptr_null(gs_kmalloc(8, GFP_KERNEL));
	gs_inject_reset();
	gs_warn_set_mode(GS_WARN_QUIET);
	WARN_ON(1);
	gs_warn_set_mode(GS_WARN_PRINT);
	gs_trace_remove_sink(h);
	ck_assert_int_eq(r.events, 2);
	ck_assert_str_eq(r.names[0], "inject.fail");
	ck_assert_str_eq(r.names[1], "warn");
}
END_TEST

Suite *gs_test_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, trace_sinks_in_order);
	tcase_add_test(tc, trace_sink_limit);
	tcase_add_test(tc, trace_json_format);
	tcase_add_test(tc, trace_base_events);
	suite_add_tcase(s, tc);
	return s;
}
