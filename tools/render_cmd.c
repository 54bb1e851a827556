// SPDX-License-Identifier: MIT
/*
 * The commands around the renders: `gmemsim run --show=VIEWS` prints text
 * views after every line, `gmemsim render FILE.gms -o FILE.html` writes the
 * HTML stepper. Both collect a step per line through the engine's on_result
 * hook: the state with detail, reduced at once to the bounded model
 * (render.h), so memory grows with the number of lines, not the file size.
 * `note` lines become the narration of the step after them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "render.h"
#include "render_cmd.h"

struct rd_collect {
	struct gs_scenario *s;
	unsigned int views; /* 0: keep every step for the HTML */
	bool color;
	FILE *out;
	GPtrArray *steps;   /* struct rd_step * */
	GString *notes;	    /* narration waiting for its step */
	unsigned long more; /* lines past RD_MAX_STEPS, not kept */
};

static void on_result(void *arg, const struct gs_op *op, const struct gs_result *res)
{
	struct rd_collect *c = arg;
	const struct rd_step *prev =
		c->steps->len ? g_ptr_array_index(c->steps, c->steps->len - 1) : NULL;
	struct gs_state *st;
	struct rd_step *step;

	if (!c->s)
		return;
	if (op->verb->text) {
		if (c->notes->len)
			g_string_append_c(c->notes, '\n');
		g_string_append(c->notes, op->text ? op->text : "");
		return;
	}
	if (!c->views && c->steps->len >= RD_MAX_STEPS) {
		c->more++;
		return;
	}
	st = gs_state_new();
	gs_state_set_detail(st, true);
	gs_scenario_state_into(c->s, st);
	step = rd_step_new(st, op, res, prev);
	gs_state_free(st);
	if (c->notes->len) {
		step->notes = g_strdup(c->notes->str);
		g_string_truncate(c->notes, 0);
	}
	if (c->views) {
		rd_show(c->out, step, c->views, c->color);
		/* Only the step before is needed: it marks what changed. */
		g_ptr_array_set_size(c->steps, 0);
	}
	g_ptr_array_add(c->steps, step);
}

static void step_free(gpointer p)
{
	rd_step_free(p);
}

struct rd_collect *rd_collect_new(struct gs_scenario_opts *o, unsigned int views, bool color)
{
	struct rd_collect *c = g_new0(struct rd_collect, 1);

	c->views = views;
	c->color = color;
	c->out = o->out ? o->out : stdout;
	c->steps = g_ptr_array_new_with_free_func(step_free);
	c->notes = g_string_new(NULL);
	o->on_result = on_result;
	o->on_result_arg = c;
	return c;
}

void rd_collect_bind(struct rd_collect *c, struct gs_scenario *s)
{
	if (c)
		c->s = s;
}

void rd_collect_free(struct rd_collect *c)
{
	if (!c)
		return;
	g_ptr_array_free(c->steps, TRUE);
	g_string_free(c->notes, TRUE);
	g_free(c);
}

int rd_collect_html(struct rd_collect *c, const char *title, const char *path)
{
	FILE *f = path && strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (!f)
		return -errno;
	/* Narration after the last line belongs to the last step. */
	if (c->notes->len && c->steps->len) {
		struct rd_step *last = g_ptr_array_index(c->steps, c->steps->len - 1);
		char *both = g_strconcat(last->notes ? last->notes : "", last->notes ? "\n" : "",
					 c->notes->str, NULL);

		g_free(last->notes);
		last->notes = both;
	}
	rd_html(f, title, c->steps, c->more);
	if (f == stdout)
		return fflush(f) ? -errno : 0;
	return fclose(f) ? -errno : 0;
}

unsigned int rd_collect_steps(const struct rd_collect *c)
{
	return c->steps->len;
}

int rd_color_mode(const char *word, FILE *out)
{
	const char *term = getenv("TERM");

	if (!word || !strcmp(word, "auto"))
		return isatty(fileno(out)) && !getenv("NO_COLOR") &&
		       !(term && !strcmp(term, "dumb"));
	if (!strcmp(word, "always"))
		return 1;
	if (!strcmp(word, "never"))
		return 0;
	return -1;
}
