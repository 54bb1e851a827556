// SPDX-License-Identifier: MIT
/*
 * Example: prove that an operation rolls back on every allocation failure,
 * the way gmemsim's own conversion code is tested. The operation here is a
 * toy — insert a key into a small chained hash table, allocating the bucket
 * array on first use, the entry and a copy of its name — but the pattern is
 * the one to use for a restructuring prototype: register a site, allocate
 * only through gs_alloc(), and let gs_fail_nth_loop() fail each allocation
 * in turn while a check compares the state with the state before.
 *
 * Build: part of the meson build (build/examples/fail-nth). Run it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gmemsim/alloc.h>
#include <gmemsim/inject.h>

#define NR_BUCKETS 8

struct entry {
	struct entry *next;
	char *name;
	size_t len;
};

struct table {
	struct entry **buckets;
	unsigned int nr;
};

static int site;

static unsigned int hash(const char *s)
{
	unsigned int h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % NR_BUCKETS;
}

/* All or nothing: on -ENOMEM the table is exactly as it was. */
static int table_insert(struct table *t, const char *name)
{
	bool fresh = !t->buckets;
	struct entry *e;
	size_t len = strlen(name) + 1;

	if (fresh) {
		t->buckets =
			gs_alloc(site, NR_BUCKETS * sizeof(*t->buckets), GFP_KERNEL | __GFP_ZERO);
		if (!t->buckets)
			return -ENOMEM;
	}
	e = gs_alloc(site, sizeof(*e), GFP_KERNEL);
	if (!e)
		goto undo_buckets;
	e->name = gs_alloc(site, len, GFP_KERNEL);
	if (!e->name)
		goto undo_entry;
	memcpy(e->name, name, len);
	e->len = len;
	/* Point of no return: nothing below can fail. */
	e->next = t->buckets[hash(name)];
	t->buckets[hash(name)] = e;
	t->nr++;
	return 0;

undo_entry:
	gs_free(site, e, sizeof(*e));
undo_buckets:
	if (fresh) {
		gs_free(site, t->buckets, NR_BUCKETS * sizeof(*t->buckets));
		t->buckets = NULL;
	}
	return -ENOMEM;
}

static void table_destroy(struct table *t)
{
	for (unsigned int b = 0; t->buckets && b < NR_BUCKETS; b++) {
		for (struct entry *e = t->buckets[b], *n; e; e = n) {
			n = e->next;
			gs_free(site, e->name, e->len);
			gs_free(site, e, sizeof(*e));
		}
	}
	if (t->buckets)
		gs_free(site, t->buckets, NR_BUCKETS * sizeof(*t->buckets));
	*t = (struct table){0};
}

struct ctx {
	struct table t;
	int failures, bad;
};

static void prepare(void *arg)
{
	struct ctx *c = arg;

	c->t = (struct table){0};
}

static int op(void *arg)
{
	return table_insert(&((struct ctx *)arg)->t, "guest_memfd");
}

static void check(void *arg, int ret, unsigned long n, bool injected)
{
	struct ctx *c = arg;
	struct gs_site_stats st;

	gs_site_stats((unsigned int)site, &st);
	if (injected) {
		c->failures++;
		/* The state after a failure must equal the state before: empty, nothing held. */
		if (ret != -ENOMEM || c->t.buckets || c->t.nr || st.live) {
			printf("  allocation %lu failed: NOT rolled back (ret %d, %llu live)\n", n,
			       ret, (unsigned long long)st.live);
			c->bad++;
		} else {
			printf("  allocation %lu failed: -ENOMEM, state unchanged\n", n);
		}
	} else {
		printf("  run %lu: no failure injected, ret %d, %llu objects live\n", n, ret,
		       (unsigned long long)st.live);
	}
	table_destroy(&c->t);
}

int main(void)
{
	struct gs_fail_nth_ops ops = {prepare, op, check};
	struct gs_fail_nth cfg = {.site = GS_INJECT_ANY_SITE};
	struct ctx c = {0};
	unsigned long runs = 0;
	int ret;

	site = gs_site_register("example.table", "the example's hash table");
	for (int persistent = 0; persistent <= 1; persistent++) {
		cfg.persistent = persistent;
		printf("%s failures:\n", persistent ? "persistent" : "transient");
		ret = gs_fail_nth_loop(&cfg, &ops, &c, &runs);
		printf("  -> %lu runs, last returned %d\n", runs, ret);
	}
	if (c.bad || ret || gs_alloc_report_leaks(stdout)) {
		printf("FAILED: %d run(s) did not roll back\n", c.bad);
		return 1;
	}
	printf("every failure point (%d) rolled back cleanly\n", c.failures / 2);
	return 0;
}
