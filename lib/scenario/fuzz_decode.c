// SPDX-License-Identifier: MIT
/*
 * The structured fuzzing format's decoder: bytes to a .gms program over
 * guest_memfd that always parses and whose every line names something that
 * exists (docs/FUZZING.md has the format byte by byte). Fields are reduced
 * modulo their valid ranges, and what the program did before (files made and
 * closed, mappings, pins, the memslot) is tracked here, so an errno in the
 * program is always the simulator's answer, never a malformed line. Mirrors
 * no kernel code; the idea is syzkaller's typed programs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <stdarg.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/scenario.h>

#define PAGE	  ((uint64_t)4096)
#define SLOT_GPA  ((uint64_t)4 << 30) /* 1 GiB aligned: every page size maps huge there */
#define MAX_FILES 8		      /* files made by one program, closed ones included */
#define MAX_LIVE  4		      /* files open at once */
#define MAX_PINS  16		      /* pins tracked per file */

struct fz_file {
	bool open;
	bool mapped;
	uint64_t size;
	unsigned int npins;
	uint64_t pins[MAX_PINS];
};

/* The program so far, as the decoder must know it to keep every line valid. */
struct fz {
	GString *g;
	enum gs_fuzz_backing backing;
	uint64_t unit;	    /* the files' page size */
	uint64_t max_units; /* a file's size is 1..max_units pages of @unit */
	bool init_shared;   /* 4 KiB files only */
	bool mmap;	    /* files are made with GUEST_MEMFD_FLAG_MMAP and mapped */
	unsigned int place; /* memslot placement of the header (0: none at first) */
	struct fz_file files[MAX_FILES];
	unsigned int nfiles; /* made so far: f0 .. f<nfiles-1> */
	int slot_file;	     /* the file slot 0 binds, -1: no slot */
	uint64_t slot_gpa, slot_off, slot_size;
	char inject[64]; /* the rule for the next operation that prints a line; "": none */
};

static const char *const orderings[] = {"planned", "v8", "wip", "rfc-v2"};
static const char *const page_names[] = {"4K", "2M", "1G"};

/* Sites a conversion, a fault or an allocation go through; "any site" besides. */
static const char *const sites[] = {
	"maple.prealloc",      "maple.node",   "xarray.node",  "page_alloc",
	"hugetlb.alloc_fresh", "hvo.restore",  "hvo.optimize", "gmem.falloc",
	"kvm.mmu_cache",       "xarray.split", "kmalloc",      "uapi.mmap",
};

static uint8_t at(const uint8_t *d, size_t len, size_t i)
{
	return i < len ? d[i] : 0;
}

/*
 * @v in decimal or (with its 0x) in hex, without printf: the decoder runs
 * once per execution and its numbers were a sixth of a 4 KiB execution.
 */
static void put_u64(GString *g, uint64_t v, bool hex)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned int base = hex ? 16 : 10;

	do {
		*--p = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (hex)
		g_string_append_len(g, "0x", 2);
	g_string_append_len(g, p, buf + sizeof(buf) - p);
}

/* Sizes as a person writes them (2M, 12K), anything else in hex. */
static void num(GString *g, uint64_t v)
{
	static const struct {
		uint64_t mult;
		char suffix;
	} units[] = {{1ULL << 30, 'G'}, {1ULL << 20, 'M'}, {1ULL << 10, 'K'}};

	for (unsigned int i = 0; v && i < G_N_ELEMENTS(units); i++)
		if (!(v % units[i].mult)) {
			put_u64(g, v / units[i].mult, false);
			g_string_append_c(g, units[i].suffix);
			return;
		}
	put_u64(g, v, v >= 10);
}

/* " fN" (or "verb fN"): a file's name. */
static void file_name(GString *g, const char *verb, int i)
{
	g_string_append(g, verb);
	g_string_append_len(g, " f", 2);
	put_u64(g, (uint64_t)i, false);
}

static void line(struct fz *z, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void line(struct fz *z, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	/* Through the stack: g_string_append_vprintf() allocates and frees per call. */
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(buf)) {
		g_string_append_len(z->g, buf, n);
		return;
	}
	va_start(ap, fmt);
	g_string_append_vprintf(z->g, fmt, ap);
	va_end(ap);
}

/* "verb fN off=X len=Y" and the like: the common tail of range lines. */
static void off_len(struct fz *z, uint64_t off, uint64_t len)
{
	g_string_append(z->g, " off=");
	num(z->g, off);
	g_string_append(z->g, " len=");
	num(z->g, len);
}

static uint64_t file_size(const struct fz *z, uint8_t b)
{
	return (1 + b % z->max_units) * z->unit;
}

/* A new file fN of @size, mapped when the files are mmap-able. */
static void make_file(struct fz *z, uint64_t size)
{
	unsigned int i = z->nfiles++;
	struct fz_file *f = &z->files[i];

	*f = (struct fz_file){.open = true, .mapped = z->mmap, .size = size};
	line(z, "gmem f%u vm=vm0 size=", i);
	num(z->g, size);
	line(z, " flags=%s%s%s", z->mmap ? "mmap" : "",
	     z->init_shared ? (z->mmap ? "|init_shared" : "init_shared") : "",
	     z->backing == GS_FUZZ_4K ? "" : (z->mmap ? "|hugetlb" : "hugetlb"));
	if (z->backing != GS_FUZZ_4K)
		line(z, " page=%s", page_names[z->backing]);
	/* No flag at all is written as flags=0: the parser takes a number. */
	if (!z->mmap && !z->init_shared && z->backing == GS_FUZZ_4K)
		g_string_append_c(z->g, '0');
	g_string_append_c(z->g, '\n');
	if (z->mmap)
		line(z, "mmap f%u\n", i);
}

static unsigned int live_files(const struct fz *z)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < z->nfiles; i++)
		n += z->files[i].open;
	return n;
}

/* The @b-th open file (modulo their number), or -1 when none is open. */
static int pick_file(const struct fz *z, uint8_t b)
{
	unsigned int n = live_files(z), want;

	if (!n)
		return -1;
	want = b % n;
	for (unsigned int i = 0; i < z->nfiles; i++)
		if (z->files[i].open && !want--)
			return (int)i;
	return -1;
}

/*
 * Slot 0 over file @i: 1 the whole file at a 1 GiB aligned gpa; 2 the same
 * a page off (gfn and index disagree: no huge mapping is possible); 3 the
 * file from its second page (a huge page of the file never whole in the slot
 * when it is the only one).
 */
static void bind_slot(struct fz *z, int i, unsigned int place)
{
	const struct fz_file *f = &z->files[i];

	z->slot_file = i;
	z->slot_gpa = SLOT_GPA + (place == 2 ? PAGE : 0);
	z->slot_off = place == 3 && f->size > z->unit ? z->unit : 0;
	z->slot_size = f->size - z->slot_off;
	line(z, "memslot vm0 slot=0 gpa=0x%" PRIx64 " size=", z->slot_gpa);
	num(z->g, z->slot_size);
	line(z, " gmem=f%d", i);
	if (z->slot_off) {
		g_string_append(z->g, " off=");
		num(z->g, z->slot_off);
	}
	g_string_append_c(z->g, '\n');
}

static void header(struct fz *z, const uint8_t *d, size_t len, const char *const *plant)
{
	uint64_t size;

	z->backing = at(d, len, 0) % GS_FUZZ_NR_BACKINGS;
	z->unit = z->backing == GS_FUZZ_4K   ? PAGE
		  : z->backing == GS_FUZZ_2M ? 2ULL << 20
					     : 1ULL << 30;
	z->max_units = z->backing == GS_FUZZ_4K ? 64 : z->backing == GS_FUZZ_2M ? 4 : 2;
	size = file_size(z, at(d, len, 2));
	z->init_shared = z->backing == GS_FUZZ_4K && (at(d, len, 3) & 1);
	z->mmap = (at(d, len, 3) >> 1) % 8 != 7;
	z->place = at(d, len, 4) % 4;
	z->slot_file = -1;
	line(z, "strict off\n");
	for (unsigned int i = 0; plant && plant[i] && gs_verb_lookup("plant"); i++)
		line(z, "plant bug=%s\n", plant[i]);
	if (z->backing != GS_FUZZ_4K) {
		uint64_t pages = size / z->unit;
		/* Enough for every file that can be open at once, or one page short (ENOSPC). */
		uint64_t nr = at(d, len, 5) % 8 ? z->max_units * MAX_LIVE : pages - 1;

		line(z, "hugetlb pool size=%s nr=%" PRIu64 "\n", page_names[z->backing], nr);
	}
	line(z, "vm vm0 type=sw_protected conversion=%s\n", orderings[at(d, len, 1) % 4]);
	make_file(z, size);
	if (z->place)
		bind_slot(z, 0, z->place);
}

/* A page of file @f: a unit by @p0, a 4 KiB page inside it by @p1 (low half from its start, high from its end). */
static uint64_t position(const struct fz *z, const struct fz_file *f, uint8_t p0, uint8_t p1)
{
	uint64_t per = z->unit / PAGE;
	uint64_t sub = per == 1 ? 0 : p1 < 128 ? p1 % per : per - 1 - (p1 - 128) % per;

	return (p0 % (f->size / z->unit)) * z->unit + sub * PAGE;
}

/* An offset for a one-page operation: in the file, one time in 16 past its end. */
static uint64_t point(const struct fz *z, const struct fz_file *f, const uint8_t *o)
{
	uint64_t off = position(z, f, o[2], o[3]);

	return o[5] % 16 == 15 ? f->size + off % z->unit : off;
}

/* A range for fallocate, punch and convert: mostly in the file, sometimes not (docs/FUZZING.md). */
static void range(const struct fz *z, const struct fz_file *f, const uint8_t *o, uint64_t *off,
		  uint64_t *len)
{
	uint64_t units = f->size / z->unit, idx = o[2] % units;
	uint8_t l = o[4];

	switch ((o[5] >> 1) % 8) {
	case 0:
	case 1:
	case 2: /* whole pages of the file's size, inside it */
		*off = idx * z->unit;
		*len = (1 + l % (units - idx)) * z->unit;
		break;
	case 3:
	case 4: /* 4 KiB pages from any 4 KiB page: split huge pages, maybe past the end */
		*off = position(z, f, o[2], o[3]);
		*len = (1 + l % 32) * PAGE;
		break;
	case 5: /* misaligned start or length (or both, or, rarely, neither) */
		*off = position(z, f, o[2], o[3]) + (uint64_t)(l >> 4) * 256;
		*len = (1 + (l & 3)) * PAGE + (uint64_t)((l >> 2) & 3) * 512;
		break;
	case 6: /* across the end of the file */
		*off = idx * z->unit;
		*len = f->size - *off + z->unit;
		break;
	default: /* the whole file */
		*off = 0;
		*len = f->size;
		break;
	}
}

static void op_range(struct fz *z, const char *verb, int i, const uint8_t *o)
{
	uint64_t off, len;

	range(z, &z->files[i], o, &off, &len);
	file_name(z->g, verb, i);
	off_len(z, off, len);
	if (!strcmp(verb, "convert"))
		g_string_append(z->g, o[5] & 1 ? " to=shared" : " to=private");
	g_string_append_c(z->g, '\n');
}

static void op_host(struct fz *z, const char *verb, int i, const uint8_t *o)
{
	struct fz_file *f = &z->files[i];
	uint64_t off = point(z, f, o);

	if (!f->mapped)
		return;
	file_name(z->g, verb, i);
	g_string_append(z->g, " off=");
	num(z->g, off);
	if (strcmp(verb, "fault")) {
		g_string_append(z->g, " len=");
		num(z->g, (1 + o[4] % 16) * PAGE);
	}
	if (!strcmp(verb, "write")) {
		g_string_append(z->g, " byte=");
		put_u64(z->g, (uint8_t)(o[4] ^ o[3]), true);
	}
	g_string_append_c(z->g, '\n');
}

static void op_pin(struct fz *z, int i, const uint8_t *o)
{
	struct fz_file *f = &z->files[i];
	uint64_t off = point(z, f, o);

	if (!f->mapped || f->npins == MAX_PINS)
		return;
	f->pins[f->npins++] = off;
	file_name(z->g, "pin", i);
	g_string_append(z->g, " off=");
	num(z->g, off);
	g_string_append_c(z->g, '\n');
}

static void unpin(struct fz *z, int i, unsigned int k)
{
	struct fz_file *f = &z->files[i];

	file_name(z->g, "unpin", i);
	g_string_append(z->g, " off=");
	num(z->g, f->pins[k]);
	g_string_append_c(z->g, '\n');
	f->pins[k] = f->pins[--f->npins];
}

static void op_unpin(struct fz *z, int i, const uint8_t *o)
{
	if (z->files[i].npins)
		unpin(z, i, o[4] % z->files[i].npins);
}

/* A guest access through slot 0 at a page of the file it binds (below the slot's start: MMIO). */
static void op_gfault(struct fz *z, const uint8_t *o)
{
	uint64_t off;

	if (z->slot_file < 0)
		return;
	off = point(z, &z->files[z->slot_file], o);
	g_string_append(z->g, "gfault vm0 gpa=");
	put_u64(z->g, z->slot_gpa + off - z->slot_off, true);
	if (o[5] & 1)
		g_string_append(z->g, " private=1");
	else if (o[5] & 2)
		g_string_append(z->g, " private=0");
	g_string_append_c(z->g, '\n');
}

static void op_file_page(struct fz *z, const char *verb, int i, const uint8_t *o)
{
	file_name(z->g, verb, i);
	g_string_append(z->g, " off=");
	num(z->g, point(z, &z->files[i], o));
	g_string_append_c(z->g, '\n');
}

static void op_memslot(struct fz *z, int i, const uint8_t *o)
{
	if (z->slot_file >= 0) {
		line(z, "memslot vm0 slot=0 size=0\n");
		z->slot_file = -1;
		return;
	}
	bind_slot(z, i, z->place ? z->place : 1u + o[5] % 3u);
}

/*
 * `inject`, the next operation that prints a line, then `inject off`
 * (docs/FUZZING.md). The rule waits for that operation: one replaced before
 * it, or left at the end, is never printed, as it could change nothing.
 */
static void op_inject(struct fz *z, const uint8_t *o)
{
	snprintf(z->inject, sizeof(z->inject), "inject%s%s nth=%u%s\n", o[3] & 1 ? " site=" : "",
		 o[3] & 1 ? sites[(o[3] >> 1) % G_N_ELEMENTS(sites)] : "", 1 + o[2] % 8,
		 o[5] % 8 == 7 ? " persistent" : "");
}

/* Pins dropped, the slot and the mapping gone, the fd closed; then a new file in its place. */
static void op_close(struct fz *z, int i)
{
	struct fz_file *f = &z->files[i];

	while (f->npins)
		unpin(z, i, f->npins - 1);
	if (z->slot_file == i) {
		line(z, "memslot vm0 slot=0 size=0\n");
		z->slot_file = -1;
	}
	if (f->mapped) {
		file_name(z->g, "munmap", i);
		g_string_append_c(z->g, '\n');
	}
	file_name(z->g, "close", i);
	g_string_append_c(z->g, '\n');
	f->open = f->mapped = false;
	if (z->nfiles < MAX_FILES)
		make_file(z, f->size);
}

enum fz_kind {
	K_CREATE,
	K_FALLOC,
	K_PUNCH,
	K_CONVERT,
	K_FAULT,
	K_READ,
	K_WRITE,
	K_PIN,
	K_UNPIN,
	K_GFAULT,
	K_MEMSLOT,
	K_POISON,
	K_INJECT,
	K_DEFERRED,
	K_CLOSE,
	K_CHECK,
	K_GETPFN,
};

/* Byte 0 of an operation, modulo 32: conversions weigh most. */
static const uint8_t kinds[32] = {
	K_CREATE,  K_FALLOC,  K_FALLOC,	  K_PUNCH,   K_PUNCH,	K_CONVERT, K_CONVERT, K_CONVERT,
	K_CONVERT, K_CONVERT, K_CONVERT,  K_CONVERT, K_CONVERT, K_FAULT,   K_READ,    K_WRITE,
	K_WRITE,   K_PIN,     K_UNPIN,	  K_GFAULT,  K_GFAULT,	K_MEMSLOT, K_POISON,  K_INJECT,
	K_INJECT,  K_INJECT,  K_DEFERRED, K_CLOSE,   K_CHECK,	K_GETPFN,  K_CONVERT, K_CONVERT,
};

static void op_on_file(struct fz *z, enum fz_kind k, int i, const uint8_t *o)
{
	switch (k) {
	case K_FALLOC:
		op_range(z, "falloc", i, o);
		break;
	case K_PUNCH:
		op_range(z, "punch", i, o);
		break;
	case K_CONVERT:
		op_range(z, "convert", i, o);
		break;
	case K_FAULT:
		op_host(z, "fault", i, o);
		break;
	case K_READ:
		op_host(z, "read", i, o);
		break;
	case K_WRITE:
		op_host(z, "write", i, o);
		break;
	case K_PIN:
		op_pin(z, i, o);
		break;
	case K_UNPIN:
		op_unpin(z, i, o);
		break;
	case K_MEMSLOT:
		op_memslot(z, i, o);
		break;
	case K_POISON:
		op_file_page(z, "poison", i, o);
		break;
	case K_GETPFN:
		op_file_page(z, "getpfn", i, o);
		break;
	case K_CLOSE:
		op_close(z, i);
		break;
	default:
		break;
	}
}

static void op(struct fz *z, const uint8_t *o)
{
	enum fz_kind k = kinds[o[0] % 32];
	int i = pick_file(z, o[1]);
	size_t before = z->g->len;

	if (k == K_INJECT) {
		op_inject(z, o);
		return;
	}
	if (k == K_CREATE || (i < 0 && k != K_DEFERRED && k != K_CHECK && k != K_GFAULT)) {
		if (z->nfiles < MAX_FILES && live_files(z) < MAX_LIVE)
			make_file(z, file_size(z, o[2]));
	} else if (k == K_DEFERRED) {
		line(z, "run-deferred\n");
	} else if (k == K_CHECK) {
		line(z, "check => 0\n");
	} else if (k == K_GFAULT) {
		op_gfault(z, o);
	} else {
		op_on_file(z, k, i, o);
	}
	/* The rule goes around this operation only: one that printed nothing leaves it for the next. */
	if (z->inject[0] && z->g->len != before) {
		g_string_insert(z->g, (gssize)before, z->inject);
		line(z, "inject off\n");
		z->inject[0] = '\0';
	}
}

char *gs_fuzz_decode(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts)
{
	struct gs_fuzz_decode_opts o = opts ? *opts : (struct gs_fuzz_decode_opts){0};
	struct fz z = {.g = g_string_sized_new(1024)};
	size_t nops;

	if (!data)
		len = 0;
	if (!o.max_ops)
		o.max_ops = GS_FUZZ_DEFAULT_OPS;
	o.max_ops = MIN(o.max_ops, GS_FUZZ_MAX_OPS);
	gs_scenario_init();
	header(&z, data, len, o.plant);
	nops = len > GS_FUZZ_HEADER ? (len - GS_FUZZ_HEADER) / GS_FUZZ_OP_SIZE : 0;
	nops = MIN(nops, o.max_ops);
	for (size_t n = 0; n < nops; n++) {
		op(&z, data + GS_FUZZ_HEADER + n * GS_FUZZ_OP_SIZE);
		if (o.check_every && (n + 1) % o.check_every == 0)
			line(&z, "check => 0\n");
	}
	line(&z, "check => 0\n");
	return g_string_free(z.g, FALSE);
}

void gs_fuzz_header_set(uint8_t *data, int backing, int ordering)
{
	if (!data)
		return;
	if (backing >= 0 && backing < GS_FUZZ_NR_BACKINGS)
		data[0] = (uint8_t)backing;
	if (ordering >= 0 && ordering < GS_FUZZ_NR_ORDERINGS)
		data[1] = (uint8_t)ordering;
}
