// SPDX-License-Identifier: MIT
/*
 * What the scenario engine knows of the verbs it runs: the modules that
 * registered themselves (each from a constructor, with its verbs,
 * expectation kinds, teardown hook and fail-nth policy), and the verb and
 * expectation-kind tables built from them. The engine never names a module;
 * the order is the modules' (priority, name), so it does not depend on the
 * link order of their object files.
 */
#include <errno.h>
#include <string.h>
#include <gmemsim/warn.h>
#include <gmemsim/internal/scenario_int.h>

#define GS_MAX_VERBS	    128
#define GS_MAX_EXPECT_KINDS 32

static const struct gs_verb *verbs[GS_MAX_VERBS];
static unsigned int nr_verbs;
/*
 * Every line of every scenario looks its verb up: by a hash of the name,
 * open addressing over twice the verbs there can be; a slot holds the
 * verb's index + 1 (0: empty).
 */
#define VERB_SLOTS (2 * GS_MAX_VERBS)
static unsigned char verb_slot[VERB_SLOTS];
_Static_assert(GS_MAX_VERBS < 256, "a verb_slot holds an index + 1 in a byte");

static unsigned int verb_hash(const char *name)
{
	unsigned int h = 2166136261u;

	while (*name)
		h = (h ^ (unsigned char)*name++) * 16777619u;
	return h % VERB_SLOTS;
}
static const struct gs_expect_kind *kinds[GS_MAX_EXPECT_KINDS];
static unsigned int nr_kinds;

/* Sorted by (priority, name) as they arrive; constructors must not allocate. */
static struct gs_scenario_module *modules;
static bool initialised;

int gs_verb_register(const struct gs_verb *verb)
{
	unsigned int nkeys = 0, h;

	if (!verb || !verb->name || !*verb->name || !verb->run)
		return -EINVAL;
	while (verb->keys && verb->keys[nkeys].name)
		nkeys++;
	if (nkeys > GS_MAX_KEYS)
		return -EINVAL;
	if (gs_verb_lookup(verb->name))
		return -EEXIST;
	if (nr_verbs == GS_MAX_VERBS)
		return -ENOSPC;
	h = verb_hash(verb->name);
	while (verb_slot[h])
		h = (h + 1) % VERB_SLOTS;
	verbs[nr_verbs++] = verb;
	verb_slot[h] = (unsigned char)nr_verbs;
	return 0;
}

const struct gs_verb *gs_verb_lookup(const char *name)
{
	/* Never full (at most half the slots used): an empty slot ends the probe. */
	for (unsigned int h = verb_hash(name); verb_slot[h]; h = (h + 1) % VERB_SLOTS) {
		const struct gs_verb *v = verbs[verb_slot[h] - 1];

		if (v->name[0] == name[0] && !strcmp(v->name, name))
			return v;
	}
	return NULL;
}

const struct gs_verb *gs_verb_nth(unsigned int i)
{
	return i < nr_verbs ? verbs[i] : NULL;
}

int gs_expect_kind_register(const struct gs_expect_kind *kind)
{
	if (!kind || !kind->key || !kind->match)
		return -EINVAL;
	if (gs_expect_kind_lookup(kind->key))
		return -EEXIST;
	if (nr_kinds == GS_MAX_EXPECT_KINDS)
		return -ENOSPC;
	kinds[nr_kinds++] = kind;
	return 0;
}

const struct gs_expect_kind *gs_expect_kind_nth(unsigned int i)
{
	return i < nr_kinds ? kinds[i] : NULL;
}

const struct gs_expect_kind *gs_expect_kind_lookup(const char *key)
{
	for (unsigned int i = 0; i < nr_kinds; i++)
		if (!strcmp(kinds[i]->key, key))
			return kinds[i];
	return NULL;
}

static bool module_before(const struct gs_scenario_module *a, const struct gs_scenario_module *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return strcmp(a->name, b->name) < 0;
}

/* A module's verbs and kinds into the tables; a clash is a bug in a module. */
static void module_load(const struct gs_scenario_module *m)
{
	for (unsigned int i = 0; m->verbs && m->verbs[i]; i++)
		WARN(gs_verb_register(m->verbs[i]), "module %s: cannot register verb %s", m->name,
		     m->verbs[i]->name);
	for (unsigned int i = 0; m->kinds && m->kinds[i]; i++)
		WARN(gs_expect_kind_register(m->kinds[i]), "module %s: cannot register kind %s",
		     m->name, m->kinds[i]->key);
}

void gs_scenario_module_register(struct gs_scenario_module *m)
{
	struct gs_scenario_module **pos = &modules;

	if (!m || !m->name)
		return;
	for (struct gs_scenario_module *o = modules; o; o = o->next)
		if (o == m || !strcmp(o->name, m->name))
			return;
	while (*pos && module_before(*pos, m))
		pos = &(*pos)->next;
	m->next = *pos;
	*pos = m;
	if (initialised)
		module_load(m);
}

const struct gs_scenario_module *gs_scenario_module_nth(unsigned int i)
{
	const struct gs_scenario_module *m = modules;

	while (m && i--)
		m = m->next;
	return m;
}

void gs_scenario_init(void)
{
	if (initialised)
		return;
	initialised = true;
	for (const struct gs_scenario_module *m = modules; m; m = m->next)
		module_load(m);
}

/* Upper layers first, as objects go: what a module gives back may rest on one below. */
static void teardown_from(const struct gs_scenario_module *m)
{
	if (!m)
		return;
	teardown_from(m->next);
	if (m->teardown)
		m->teardown();
}

void gs_scenario_modules_teardown(void)
{
	teardown_from(modules);
}

bool gs_scenario_site_best_effort(const char *site)
{
	if (!site)
		return false;
	for (const struct gs_scenario_module *m = modules; m; m = m->next)
		for (unsigned int i = 0; m->best_effort_sites && m->best_effort_sites[i]; i++)
			if (!strcmp(m->best_effort_sites[i], site))
				return true;
	return false;
}
