/* SPDX-License-Identifier: MIT */
/*
 * The steps of `gmemsim export-selftest` (export_steps.c): each scenario line
 * the simulator ran, turned into the C the program runs for it, collected in
 * a struct ex_ctx by the engine's on_result hook. export_selftest.c runs the
 * scenario and writes the program around them.
 */
#ifndef GMEMSIM_TOOLS_EXPORT_STEPS_H
#define GMEMSIM_TOOLS_EXPORT_STEPS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <gmemsim/scenario.h>

/* What the export adds to vm and gmem lines for the upstream profile's run. */
#define EX_UPSTREAM " profile=upstream"

/**
 * struct ex_var - a scenario object as the program's variables
 * @name: the scenario's name
 * @c: the C identifier stem (vm_NAME, fd_NAME, map_NAME, ...)
 * @is_vm: a VM (else a guest_memfd)
 * @exists: the program made it (its creation succeeded on the simulator)
 * @mapped: a guest_memfd with a mapping
 * @upstream: a guest_memfd whose file follows the upstream profile
 * @type: a VM's KVM type
 * @vm: a guest_memfd's VM variable (vm_X, or its own ownvm_X)
 * @vm_type: that VM's type
 */
struct ex_var {
	char *name;
	char *c;
	bool is_vm;
	bool exists;
	bool mapped;
	bool upstream;
	unsigned long type;
	char *vm;
	unsigned long vm_type;
};

/**
 * struct ex_pin - a pin the simulator holds: the program's ring variable pin_LINE
 * @g: the file
 * @page: the page's index in the mapping
 * @line: the pin's line
 */
struct ex_pin {
	const struct ex_var *g;
	uint64_t page;
	unsigned int line;
};

/**
 * struct ex_ctx - one export
 * @body: the steps, as the body of run_scenario()
 * @decls: the variables, at file scope
 * @omitted: the lines not exported, with the reason
 * @vars: scenario name -> struct ex_var
 * @cnames: C identifiers in use
 * @end_line: the line that ended the export (0: none did)
 * @end_why: why
 * @after_first: first line left out after the end
 * @after_last: last such line
 * @steps: steps emitted
 * @rewritten: lines given profile=upstream by the export (their comments show the original)
 * @pins: the pins held, oldest first (struct ex_pin)
 */
struct ex_ctx {
	GString *body, *decls, *omitted;
	GHashTable *vars, *cnames, *rewritten;
	GArray *pins;
	unsigned int end_line;
	char *end_why;
	unsigned int after_first, after_last;
	unsigned int steps;
};

/* ex_ctx_init() - an empty export; ex_ctx_fini() frees it */
void ex_ctx_init(struct ex_ctx *c);
void ex_ctx_fini(struct ex_ctx *c);

/* ex_append_commented() - @s appended to @out with any comment end broken up */
void ex_append_commented(GString *out, const char *s);

/*
 * ex_on_result() - the scenario engine's on_result hook (@arg: the struct ex_ctx):
 * the line as the program's step, left out with the reason, or the end of the export
 */
void ex_on_result(void *arg, const struct gs_op *op, const struct gs_result *res);

#endif /* GMEMSIM_TOOLS_EXPORT_STEPS_H */
