// SPDX-License-Identifier: MIT
/*
 * The state-dump registry: layers register a dumper for the state they own,
 * a snapshot collects their (path, key, value) records, and one text form
 * serialises it for byte-for-byte comparison. A base service, so every
 * layer can register and nothing above has to know the layers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmemsim/state.h>

struct gs_state {
	GArray *recs;	       /* struct gs_state_rec */
	GStringChunk *strings; /* what the records point into */
	bool detail;	       /* gs_state_set_detail() */
};

/* Sorted by name as they arrive, so constructors need not allocate. */
static struct gs_state_dumper *dumpers;

int gs_state_register(struct gs_state_dumper *d)
{
	struct gs_state_dumper **pos = &dumpers;

	if (!d || !d->name || !*d->name || !d->dump)
		return -EINVAL;
	for (struct gs_state_dumper *o = dumpers; o; o = o->next)
		if (o == d || !strcmp(o->name, d->name))
			return -EEXIST;
	while (*pos && strcmp((*pos)->name, d->name) < 0)
		pos = &(*pos)->next;
	d->next = *pos;
	*pos = d;
	return 0;
}

struct gs_state *gs_state_new(void)
{
	struct gs_state *st = g_new0(struct gs_state, 1);

	st->recs = g_array_new(FALSE, FALSE, sizeof(struct gs_state_rec));
	st->strings = g_string_chunk_new(4096);
	return st;
}

void gs_state_set_detail(struct gs_state *st, bool on)
{
	st->detail = on;
}

bool gs_state_detail(const struct gs_state *st)
{
	return st->detail;
}

void gs_state_free(struct gs_state *st)
{
	if (!st)
		return;
	g_array_free(st->recs, TRUE);
	g_string_chunk_free(st->strings);
	g_free(st);
}

void gs_state_add(struct gs_state *st, const char *path, const char *key, const char *fmt, ...)
{
	struct gs_state_rec r;
	char *value;
	va_list ap;

	va_start(ap, fmt);
	value = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	r.path = g_string_chunk_insert_const(st->strings, path ? path : "");
	r.key = g_string_chunk_insert_const(st->strings, key ? key : "");
	r.value = g_string_chunk_insert(st->strings, value);
	g_free(value);
	g_array_append_val(st->recs, r);
}

void gs_state_add_u64(struct gs_state *st, const char *path, const char *key, uint64_t v)
{
	gs_state_add(st, path, key, "%llu", (unsigned long long)v);
}

void gs_state_collect(struct gs_state *st)
{
	for (struct gs_state_dumper *d = dumpers; d; d = d->next)
		d->dump(st, d->name);
}

unsigned int gs_state_count(const struct gs_state *st)
{
	return st->recs->len;
}

const struct gs_state_rec *gs_state_nth(const struct gs_state *st, unsigned int i)
{
	return i < st->recs->len ? &g_array_index(st->recs, struct gs_state_rec, i) : NULL;
}

const char *gs_state_get(const struct gs_state *st, const char *path, const char *key)
{
	for (guint i = 0; i < st->recs->len; i++) {
		const struct gs_state_rec *r = &g_array_index(st->recs, struct gs_state_rec, i);

		if (!strcmp(r->path, path) && !strcmp(r->key, key))
			return r->value;
	}
	return NULL;
}

/* A value on one line: the text form keeps one record a line. */
static void write_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else
			fputc(*s, f);
	}
}

void gs_state_write(const struct gs_state *st, FILE *f)
{
	for (guint i = 0; i < st->recs->len; i++) {
		const struct gs_state_rec *r = &g_array_index(st->recs, struct gs_state_rec, i);

		fprintf(f, "%s%s%s=", r->path, *r->path ? " " : "", r->key);
		write_escaped(f, r->value);
		fputc('\n', f);
	}
}

char *gs_state_text(const struct gs_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	gs_state_write(st, f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
