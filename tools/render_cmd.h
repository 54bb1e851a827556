/* SPDX-License-Identifier: MIT */
/*
 * Collecting render steps while a scenario runs (render_cmd.c): for
 * `gmemsim run --show` and `gmemsim render`.
 */
#ifndef GMEMSIM_TOOLS_RENDER_CMD_H
#define GMEMSIM_TOOLS_RENDER_CMD_H

#include <stdbool.h>
#include <stdio.h>
#include <gmemsim/scenario.h>

struct rd_collect;

/*
 * rd_collect_new() - hook a collector into @o (its on_result)
 * @views: enum rd_view bits to print after each line; 0: keep the steps for rd_collect_html()
 * @color: ANSI colours in the printed views
 */
struct rd_collect *rd_collect_new(struct gs_scenario_opts *o, unsigned int views, bool color);

/* rd_collect_bind() - the runner made from those options: its state is what is rendered */
void rd_collect_bind(struct rd_collect *c, struct gs_scenario *s);

void rd_collect_free(struct rd_collect *c);

/* rd_collect_html() - write the stepper to @path ("-" or NULL: stdout); 0 or -errno */
int rd_collect_html(struct rd_collect *c, const char *title, const char *path);

/* rd_collect_steps() - steps collected */
unsigned int rd_collect_steps(const struct rd_collect *c);

/* rd_color_mode() - --color=auto|always|never (NULL: auto) for @out: 1, 0, or -1 if unknown */
int rd_color_mode(const char *word, FILE *out);

#endif /* GMEMSIM_TOOLS_RENDER_CMD_H */
