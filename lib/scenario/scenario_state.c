// SPDX-License-Identifier: MIT
/*
 * A scenario's state as one structured snapshot: its objects (each type's
 * dump hook, or its `show` lines), every layer's registered state dumper,
 * and the invariant checks. The fail-nth runner compares the text of two
 * snapshots byte for byte; renderers read the records. The engine names no
 * layer here: what is in the snapshot is what the layers registered.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <gmemsim/check.h>
#include <gmemsim/state.h>
#include <gmemsim/internal/scenario_int.h>

/* Each line of @text as a record @key at @path. */
static void add_lines(struct gs_state *st, const char *path, const char *key, const char *text)
{
	gchar **lines = g_strsplit(text, "\n", -1);

	for (unsigned int i = 0; lines[i]; i++)
		if (*lines[i])
			gs_state_add(st, path, key, "%s", lines[i]);
	g_strfreev(lines);
}

/* What a FILE-writing hook wrote, as records: @fn writes to a memstream. */
static void add_written(struct gs_state *st, const char *path, const char *key,
			void (*fn)(FILE *f, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		gs_state_add(st, path, key, "(out of memory)");
		return;
	}
	fn(f, arg);
	if (fclose(f)) {
		gs_state_add(st, path, key, "(out of memory)");
		free(buf);
		return;
	}
	add_lines(st, path, key, buf);
	free(buf);
}

struct obj_walk {
	struct gs_scenario *s;
	struct gs_state *st;
	const char *name;
	const struct gs_obj_type *type;
	void *obj;
	unsigned int violations;
};

static void write_show(FILE *f, void *arg)
{
	struct obj_walk *w = arg;

	w->type->show(w->s, f, w->name, w->obj);
}

static void dump_obj(struct gs_scenario *s, const char *name, const struct gs_obj_type *type,
		     void *obj, void *arg)
{
	struct obj_walk *w = arg;
	char *path = g_strdup_printf("objects/%s", name);

	gs_state_add(w->st, path, "type", "%s", type->name);
	w->name = name;
	w->type = type;
	w->obj = obj;
	if (type->dump)
		type->dump(w->st, path, obj);
	else if (type->show)
		add_written(w->st, path, "show", write_show, w);
	(void)s;
	g_free(path);
}

static void write_checks(FILE *f, void *arg)
{
	struct obj_walk *w = arg;

	w->violations += gs_check_run_all(f);
}

static void check_obj(struct gs_scenario *s, const char *name, const struct gs_obj_type *type,
		      void *obj, void *arg)
{
	struct obj_walk *w = arg;
	struct gs_check_report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)s;
	if (!type->check)
		return;
	f = open_memstream(&buf, &len);
	r = GS_CHECK_REPORT_INIT(name, f);
	type->check(&r, name, obj);
	w->violations += r.violations;
	if (f && !fclose(f))
		add_lines(w->st, "checks", "violation", buf);
	free(buf);
}

void gs_scenario_state_into(struct gs_scenario *s, struct gs_state *st)
{
	struct obj_walk w = {.s = s, .st = st};

	gs_scenario_for_each_obj(s, dump_obj, &w);
	gs_state_collect(st);
	add_written(st, "checks", "violation", write_checks, &w);
	gs_scenario_for_each_obj(s, check_obj, &w);
	gs_state_add_u64(st, "checks", "violations", w.violations);
}

struct gs_state *gs_scenario_state(struct gs_scenario *s)
{
	struct gs_state *st = gs_state_new();

	gs_scenario_state_into(s, st);
	return st;
}

void gs_scenario_dump_state(struct gs_scenario *s, FILE *f)
{
	struct gs_state *st = gs_scenario_state(s);

	gs_state_write(st, f);
	gs_state_free(st);
}
