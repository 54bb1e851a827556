// SPDX-License-Identifier: MIT
/*
 * The structured fuzzing format's decoder: bytes to a program over
 * guest_memfd that always parses and whose every line names something that
 * exists (docs/FUZZING.md has the format byte by byte). Fields are reduced
 * modulo their valid ranges, and what the program did before (files made and
 * closed, mappings, pins, the memslot) is tracked here, so an errno in the
 * program is always the simulator's answer, never a malformed line.
 *
 * The decoder makes a list of lines (struct fz_line: a verb and its values),
 * which becomes either .gms text (gs_fuzz_decode(): `gmemsim fuzz-decode`, a
 * finding's saved program) or the engine's operations directly
 * (gs_fuzz_build_ops(): every execution, with no text printed or parsed).
 * Both come from the same list; tests/test-fuzz.c checks that the operations
 * equal the parsed text's. Mirrors no kernel code; the idea is syzkaller's
 * typed programs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <gmemsim/fuzz.h>
#include <gmemsim/scenario.h>
#include <gmemsim/internal/fuzz_int.h>
#include <gmemsim/internal/scenario_int.h>

#define PAGE	  ((uint64_t)4096)
#define SLOT_GPA  ((uint64_t)4 << 30) /* 1 GiB aligned: every page size maps huge there */
#define MAX_FILES 8		      /* files made by one program, closed ones included */
#define MAX_LIVE  4		      /* files open at once */
#define MAX_PINS  16		      /* pins tracked per file */

/* The verbs of the decoded program's lines. */
enum fz_verb {
	L_STRICT,     /* strict off */
	L_PLANT,      /* plant bug=@s */
	L_POOL,	      /* hugetlb pool size=page_names[@x] nr=@a */
	L_VM,	      /* vm vm0 type=sw_protected conversion=orderings[@x] */
	L_GMEM,	      /* gmem f@file vm=vm0 size=@a flags=flag_text[@x & 3] [page=...] */
	L_MMAP,	      /* mmap f@file */
	L_SLOT,	      /* memslot vm0 slot=0 gpa=@a size=@b gmem=f@file [off=@c] */
	L_SLOT_DEL,   /* memslot vm0 slot=0 size=0 */
	L_FALLOC,     /* falloc f@file off=@a len=@b */
	L_PUNCH,      /* punch f@file off=@a len=@b */
	L_CONVERT,    /* convert f@file off=@a len=@b to=private (@x 0) or shared (1) */
	L_FAULT,      /* fault f@file off=@a */
	L_READ,	      /* read f@file off=@a len=@b */
	L_WRITE,      /* write f@file off=@a len=@b byte=@x */
	L_PIN,	      /* pin f@file off=@a */
	L_UNPIN,      /* unpin f@file off=@a */
	L_GFAULT,     /* gfault vm0 gpa=@a [private=1 (@x 1) | private=0 (@x 2)] */
	L_POISON,     /* poison f@file off=@a */
	L_GETPFN,     /* getpfn f@file off=@a */
	L_INJECT,     /* inject [site=@s] nth=@a [persistent (@x)] */
	L_INJECT_OFF, /* inject off */
	L_DEFERRED,   /* run-deferred */
	L_MUNMAP,     /* munmap f@file */
	L_CLOSE,      /* close f@file */
	L_CHECK,      /* check => 0 */
	L_NR,
};

/* One line of the program, before it is text or an operation. */
struct fz_line {
	uint8_t verb; /* enum fz_verb */
	uint8_t file; /* fN */
	uint8_t x;    /* a small value of the verb's (above) */
	const char *s;
	uint64_t a, b, c;
};

static const char *const verb_names[L_NR] = {
	[L_STRICT] = "strict",	   [L_PLANT] = "plant",
	[L_POOL] = "hugetlb",	   [L_VM] = "vm",
	[L_GMEM] = "gmem",	   [L_MMAP] = "mmap",
	[L_SLOT] = "memslot",	   [L_SLOT_DEL] = "memslot",
	[L_FALLOC] = "falloc",	   [L_PUNCH] = "punch",
	[L_CONVERT] = "convert",   [L_FAULT] = "fault",
	[L_READ] = "read",	   [L_WRITE] = "write",
	[L_PIN] = "pin",	   [L_UNPIN] = "unpin",
	[L_GFAULT] = "gfault",	   [L_POISON] = "poison",
	[L_GETPFN] = "getpfn",	   [L_INJECT] = "inject",
	[L_INJECT_OFF] = "inject", [L_DEFERRED] = "run-deferred",
	[L_MUNMAP] = "munmap",	   [L_CLOSE] = "close",
	[L_CHECK] = "check",
};

static const char *const file_names[MAX_FILES] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};
static const char *const orderings[] = {"planned", "v8", "wip", "rfc-v2"};
static const char *const page_names[] = {"4K", "2M", "1G"};
/* A gmem line's flags= by (mmap, init_shared); HugeTLB files add hugetlb. */
static const char *const flag_text[2][4] = {
	{"0", "mmap", "init_shared", "mmap|init_shared"},
	{"hugetlb", "mmap|hugetlb", "init_shared|hugetlb", "mmap|init_shared|hugetlb"},
};

/* Sites a conversion, a fault or an allocation go through; "any site" besides. */
static const char *const sites[] = {
	"maple.prealloc",      "maple.node",   "xarray.node",  "page_alloc",
	"hugetlb.alloc_fresh", "hvo.restore",  "hvo.optimize", "gmem.falloc",
	"kvm.mmu_cache",       "xarray.split", "kmalloc",      "uapi.mmap",
};

struct fz_file {
	bool open;
	bool mapped;
	uint8_t units; /* @size in the files' pages: 1..max_units */
	uint64_t size;
	unsigned int npins;
	uint64_t pins[MAX_PINS];
};

/*
 * A program's lines: an array of their own, appended to in line (a GArray's
 * call and copy per line were a fifth of the decoder), kept across inputs.
 */
struct fz_lines {
	struct fz_line *v;
	unsigned int len, cap;
};

/* A slot for one more line at the end of @ls. */
static inline struct fz_line *lines_grow(struct fz_lines *ls)
{
	if (G_UNLIKELY(ls->len == ls->cap)) {
		ls->cap = ls->cap ? 2 * ls->cap : 128;
		ls->v = g_renew(struct fz_line, ls->v, ls->cap);
	}
	return &ls->v[ls->len++];
}

/* The program so far, as the decoder must know it to keep every line valid. */
struct fz {
	struct fz_lines *lines;
	enum gs_fuzz_backing backing;
	uint64_t unit;	    /* the files' page size */
	unsigned int shift; /* log2(@unit) */
	uint64_t max_units; /* a file's size is 1..max_units pages of @unit (a power of 2) */
	bool init_shared;   /* 4 KiB files only */
	bool mmap;	    /* files are made with GUEST_MEMFD_FLAG_MMAP and mapped */
	unsigned int place; /* memslot placement of the header (0: none at first) */
	struct fz_file files[MAX_FILES];
	unsigned int nfiles; /* made so far: f0 .. f<nfiles-1> */
	unsigned int nopen;  /* open files, their numbers in @open in increasing order */
	uint8_t open[MAX_FILES];
	int slot_file; /* the file slot 0 binds, -1: no slot */
	uint64_t slot_gpa, slot_off, slot_size;
	bool inject;		    /* a rule waits for the next operation that makes a line */
	struct fz_line inject_line; /* that rule */
};

static uint8_t at(const uint8_t *d, size_t len, size_t i)
{
	return i < len ? d[i] : 0;
}

/*
 * @a % @n for a byte @a and 1 <= @n <= 64 (open files, a file's pages, its
 * pins), by a multiply: floor(a * ceil(2^16 / n) / 2^16) is floor(a / n)
 * while a * (n - 1) < 2^16. The decoder's divisions by a count it keeps
 * were most of its time on random bytes.
 */
static inline unsigned int byte_mod(unsigned int a, unsigned int n)
{
	static const uint32_t inv[65] = {
#define INV(n) [n] = (65536 + (n)-1) / (n)
		INV(1),	 INV(2),  INV(3),  INV(4),  INV(5),  INV(6),  INV(7),  INV(8),
		INV(9),	 INV(10), INV(11), INV(12), INV(13), INV(14), INV(15), INV(16),
		INV(17), INV(18), INV(19), INV(20), INV(21), INV(22), INV(23), INV(24),
		INV(25), INV(26), INV(27), INV(28), INV(29), INV(30), INV(31), INV(32),
		INV(33), INV(34), INV(35), INV(36), INV(37), INV(38), INV(39), INV(40),
		INV(41), INV(42), INV(43), INV(44), INV(45), INV(46), INV(47), INV(48),
		INV(49), INV(50), INV(51), INV(52), INV(53), INV(54), INV(55), INV(56),
		INV(57), INV(58), INV(59), INV(60), INV(61), INV(62), INV(63), INV(64),
#undef INV
	};

	return a - ((a * inv[n]) >> 16) * n;
}

static void emit(struct fz *z, enum fz_verb v, int file, uint8_t x, uint64_t a, uint64_t b,
		 uint64_t c)
{
	*lines_grow(z->lines) = (struct fz_line){
		.verb = (uint8_t)v, .file = (uint8_t)file, .x = x, .a = a, .b = b, .c = c};
}

static uint64_t file_size(const struct fz *z, uint8_t b)
{
	return (1 + (b & (z->max_units - 1))) << z->shift;
}

/* A new file fN of @size, mapped when the files are mmap-able. */
static void make_file(struct fz *z, uint64_t size)
{
	unsigned int i = z->nfiles++;
	struct fz_file *f = &z->files[i];

	*f = (struct fz_file){.open = true,
			      .mapped = z->mmap,
			      .units = (uint8_t)(size >> z->shift),
			      .size = size};
	z->open[z->nopen++] = (uint8_t)i; /* the highest number so far: the order holds */
	emit(z, L_GMEM, (int)i, (uint8_t)(z->mmap | z->init_shared << 1 | z->backing << 2), size, 0,
	     0);
	if (z->mmap)
		emit(z, L_MMAP, (int)i, 0, 0, 0, 0);
}

static unsigned int live_files(const struct fz *z)
{
	return z->nopen;
}

/* The @b-th open file (modulo their number), or -1 when none is open. */
static int pick_file(const struct fz *z, uint8_t b)
{
	if (!z->nopen)
		return -1;
	return z->open[byte_mod(b, z->nopen)];
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
	emit(z, L_SLOT, i, 0, z->slot_gpa, z->slot_size, z->slot_off);
}

static void header(struct fz *z, const uint8_t *d, size_t len, const char *const *plant)
{
	uint64_t size;

	/* The per-backing fuzz targets reject inputs by the same function. */
	z->backing = gs_fuzz_header_backing(d, len);
	z->shift = z->backing == GS_FUZZ_4K ? 12 : z->backing == GS_FUZZ_2M ? 21 : 30;
	z->unit = 1ULL << z->shift;
	z->max_units = z->backing == GS_FUZZ_4K ? 64 : z->backing == GS_FUZZ_2M ? 4 : 2;
	size = file_size(z, at(d, len, 2));
	z->init_shared = z->backing == GS_FUZZ_4K && (at(d, len, 3) & 1);
	z->mmap = (at(d, len, 3) >> 1) % 8 != 7;
	z->place = at(d, len, 4) % 4;
	z->slot_file = -1;
	emit(z, L_STRICT, 0, 0, 0, 0, 0);
	for (unsigned int i = 0; plant && plant[i] && gs_verb_lookup("plant"); i++) {
		emit(z, L_PLANT, 0, 0, 0, 0, 0);
		z->lines->v[z->lines->len - 1].s = plant[i];
	}
	if (z->backing != GS_FUZZ_4K) {
		uint64_t pages = size >> z->shift;
		/* Enough for every file that can be open at once, or one page short (ENOSPC). */
		uint64_t nr = at(d, len, 5) % 8 ? z->max_units * MAX_LIVE : pages - 1;

		emit(z, L_POOL, 0, (uint8_t)z->backing, nr, 0, 0);
	}
	emit(z, L_VM, 0, at(d, len, 1) % 4, 0, 0, 0);
	make_file(z, size);
	if (z->place)
		bind_slot(z, 0, z->place);
}

/* A page of file @f: a unit by @p0, a 4 KiB page inside it by @p1 (low half from its start, high from its end). */
static uint64_t position(const struct fz *z, const struct fz_file *f, uint8_t p0, uint8_t p1)
{
	uint64_t per = z->unit / PAGE; /* a power of 2: its modulo is a mask */
	uint64_t sub = p1 < 128 ? p1 & (per - 1) : (per - 1) - ((p1 - 128u) & (per - 1));

	return ((uint64_t)byte_mod(p0, f->units) << z->shift) + sub * PAGE;
}

/* An offset for a one-page operation: in the file, one time in 16 past its end. */
static uint64_t point(const struct fz *z, const struct fz_file *f, const uint8_t *o)
{
	uint64_t off = position(z, f, o[2], o[3]);

	return o[5] % 16 == 15 ? f->size + (off & (z->unit - 1)) : off;
}

/* A range for fallocate, punch and convert: mostly in the file, sometimes not (docs/FUZZING.md). */
static void range(const struct fz *z, const struct fz_file *f, const uint8_t *o, uint64_t *off,
		  uint64_t *len)
{
	unsigned int units = f->units, idx = byte_mod(o[2], units);
	uint8_t l = o[4];

	switch ((o[5] >> 1) % 8) {
	case 0:
	case 1:
	case 2: /* whole pages of the file's size, inside it */
		*off = (uint64_t)idx << z->shift;
		*len = (uint64_t)(1 + byte_mod(l, units - idx)) << z->shift;
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
		*off = (uint64_t)idx << z->shift;
		*len = f->size - *off + z->unit;
		break;
	default: /* the whole file */
		*off = 0;
		*len = f->size;
		break;
	}
}

static void op_range(struct fz *z, enum fz_verb v, int i, const uint8_t *o)
{
	uint64_t off, len;

	range(z, &z->files[i], o, &off, &len);
	emit(z, v, i, v == L_CONVERT && (o[5] & 1), off, len, 0);
}

static void op_host(struct fz *z, enum fz_verb v, int i, const uint8_t *o)
{
	struct fz_file *f = &z->files[i];

	if (f->mapped)
		emit(z, v, i, (uint8_t)(o[4] ^ o[3]), point(z, f, o), (1 + o[4] % 16) * PAGE, 0);
}

static void op_pin(struct fz *z, int i, const uint8_t *o)
{
	struct fz_file *f = &z->files[i];
	uint64_t off = point(z, f, o);

	if (!f->mapped || f->npins == MAX_PINS)
		return;
	f->pins[f->npins++] = off;
	emit(z, L_PIN, i, 0, off, 0, 0);
}

static void unpin(struct fz *z, int i, unsigned int k)
{
	struct fz_file *f = &z->files[i];

	emit(z, L_UNPIN, i, 0, f->pins[k], 0, 0);
	f->pins[k] = f->pins[--f->npins];
}

static void op_unpin(struct fz *z, int i, const uint8_t *o)
{
	if (z->files[i].npins)
		unpin(z, i, byte_mod(o[4], z->files[i].npins));
}

/* A guest access through slot 0 at a page of the file it binds (below the slot's start: MMIO). */
static void op_gfault(struct fz *z, const uint8_t *o)
{
	uint64_t off;

	if (z->slot_file < 0)
		return;
	off = point(z, &z->files[z->slot_file], o);
	emit(z, L_GFAULT, 0,
	     o[5] & 1	? 1
	     : o[5] & 2 ? 2
			: 0,
	     z->slot_gpa + off - z->slot_off, 0, 0);
}

static void op_memslot(struct fz *z, int i, const uint8_t *o)
{
	if (z->slot_file >= 0) {
		emit(z, L_SLOT_DEL, 0, 0, 0, 0, 0);
		z->slot_file = -1;
		return;
	}
	bind_slot(z, i, z->place ? z->place : 1u + o[5] % 3u);
}

/*
 * `inject`, the next operation that makes a line, then `inject off`
 * (docs/FUZZING.md). The rule waits for that operation: one replaced before
 * it, or left at the end, is never made, as it could change nothing.
 */
static void op_inject(struct fz *z, const uint8_t *o)
{
	z->inject = true;
	z->inject_line = (struct fz_line){
		.verb = L_INJECT,
		.x = o[5] % 8 == 7,
		.s = o[3] & 1 ? sites[(o[3] >> 1) % G_N_ELEMENTS(sites)] : NULL,
		.a = 1 + o[2] % 8,
	};
}

/* Pins dropped, the slot and the mapping gone, the fd closed; then a new file in its place. */
static void op_close(struct fz *z, int i)
{
	struct fz_file *f = &z->files[i];

	while (f->npins)
		unpin(z, i, f->npins - 1);
	if (z->slot_file == i) {
		emit(z, L_SLOT_DEL, 0, 0, 0, 0, 0);
		z->slot_file = -1;
	}
	if (f->mapped)
		emit(z, L_MUNMAP, i, 0, 0, 0, 0);
	emit(z, L_CLOSE, i, 0, 0, 0, 0);
	f->open = f->mapped = false;
	for (unsigned int j = 0, k = 0; j < z->nopen; j++)
		if (z->open[j] != i)
			z->open[k++] = z->open[j];
	z->nopen--;
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
		op_range(z, L_FALLOC, i, o);
		break;
	case K_PUNCH:
		op_range(z, L_PUNCH, i, o);
		break;
	case K_CONVERT:
		op_range(z, L_CONVERT, i, o);
		break;
	case K_FAULT:
		op_host(z, L_FAULT, i, o);
		break;
	case K_READ:
		op_host(z, L_READ, i, o);
		break;
	case K_WRITE:
		op_host(z, L_WRITE, i, o);
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
		emit(z, L_POISON, i, 0, point(z, &z->files[i], o), 0, 0);
		break;
	case K_GETPFN:
		emit(z, L_GETPFN, i, 0, point(z, &z->files[i], o), 0, 0);
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
	unsigned int before = z->lines->len;

	if (k == K_INJECT) {
		op_inject(z, o);
		return;
	}
	if (k == K_CREATE || (i < 0 && k != K_DEFERRED && k != K_CHECK && k != K_GFAULT)) {
		if (z->nfiles < MAX_FILES && live_files(z) < MAX_LIVE)
			make_file(z, file_size(z, o[2]));
	} else if (k == K_DEFERRED) {
		emit(z, L_DEFERRED, 0, 0, 0, 0, 0);
	} else if (k == K_CHECK) {
		emit(z, L_CHECK, 0, 0, 0, 0, 0);
	} else if (k == K_GFAULT) {
		op_gfault(z, o);
	} else {
		op_on_file(z, k, i, o);
	}
	/* The rule goes around this operation only: one that made nothing leaves it for the next. */
	if (z->inject && z->lines->len != before) {
		/* Before the operation's lines: a few to move. */
		lines_grow(z->lines);
		memmove(&z->lines->v[before + 1], &z->lines->v[before],
			(z->lines->len - 1 - before) * sizeof(z->lines->v[0]));
		z->lines->v[before] = z->inject_line;
		emit(z, L_INJECT_OFF, 0, 0, 0, 0, 0);
		z->inject = false;
	}
}

/* The program @data encodes, as lines, into @lines (emptied first). */
static void decode_lines(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts,
			 struct fz_lines *lines)
{
	struct gs_fuzz_decode_opts o = opts ? *opts : (struct gs_fuzz_decode_opts){0};
	struct fz z = {.lines = lines};
	size_t nops;

	lines->len = 0;
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
			emit(&z, L_CHECK, 0, 0, 0, 0, 0);
	}
	emit(&z, L_CHECK, 0, 0, 0, 0, 0);
}

/* --- lines as text --- */

/*
 * A line's text: into a GString, or (@g NULL) into a fixed buffer, clipped,
 * with no allocation and no stdio: the crash dump formats from a signal
 * handler.
 */
struct fz_out {
	GString *g;
	char *buf;
	size_t len, cap;
};

static void put_len(struct fz_out *o, const char *s, size_t n)
{
	if (o->g) {
		g_string_append_len(o->g, s, (gssize)n);
		return;
	}
	n = MIN(n, o->cap - 1 - o->len);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put(struct fz_out *o, const char *s)
{
	put_len(o, s, strlen(s));
}

/* @v in decimal or (with its 0x) in hex, without printf. */
static void put_u64(struct fz_out *o, uint64_t v, bool hex)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned int base = hex ? 16 : 10;

	do {
		*--p = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (hex)
		put_len(o, "0x", 2);
	put_len(o, p, (size_t)(buf + sizeof(buf) - p));
}

/* Sizes as a person writes them (2M, 12K), anything else in hex. */
static void put_num(struct fz_out *o, uint64_t v)
{
	static const struct {
		uint64_t mult;
		char suffix;
	} units[] = {{1ULL << 30, 'G'}, {1ULL << 20, 'M'}, {1ULL << 10, 'K'}};

	for (unsigned int i = 0; v && i < G_N_ELEMENTS(units); i++)
		if (!(v % units[i].mult)) {
			put_u64(o, v / units[i].mult, false);
			put_len(o, &units[i].suffix, 1);
			return;
		}
	put_u64(o, v, v >= 10);
}

static void put_key(struct fz_out *o, const char *key, uint64_t v)
{
	put_len(o, " ", 1);
	put(o, key);
	put_len(o, "=", 1);
	put_num(o, v);
}

static void put_gmem(struct fz_out *o, const struct fz_line *l)
{
	unsigned int backing = l->x >> 2;

	put(o, " vm=vm0");
	put_key(o, "size", l->a);
	put(o, " flags=");
	put(o, flag_text[backing != GS_FUZZ_4K][l->x & 3]);
	if (backing != GS_FUZZ_4K) {
		put(o, " page=");
		put(o, page_names[backing]);
	}
}

static void put_slot(struct fz_out *o, const struct fz_line *l)
{
	put(o, " slot=0 gpa=");
	put_u64(o, l->a, true);
	put_key(o, "size", l->b);
	put(o, " gmem=");
	put(o, file_names[l->file]);
	if (l->c)
		put_key(o, "off", l->c);
}

static void put_inject(struct fz_out *o, const struct fz_line *l)
{
	if (l->s) {
		put(o, " site=");
		put(o, l->s);
	}
	put(o, " nth=");
	put_u64(o, l->a, false);
	if (l->x)
		put(o, " persistent");
}

/* The verb's target and keys, after "verb". */
static void put_rest(struct fz_out *o, const struct fz_line *l)
{
	switch (l->verb) {
	case L_STRICT:
		return put(o, " off");
	case L_PLANT:
		put(o, " bug=");
		return put(o, l->s);
	case L_POOL:
		put(o, " pool size=");
		put(o, page_names[l->x]);
		put(o, " nr=");
		return put_u64(o, l->a, false);
	case L_VM:
		put(o, " vm0 type=sw_protected conversion=");
		return put(o, orderings[l->x]);
	case L_SLOT:
		put(o, " vm0");
		return put_slot(o, l);
	case L_SLOT_DEL:
		return put(o, " vm0 slot=0 size=0");
	case L_GFAULT:
		put(o, " vm0 gpa=");
		put_u64(o, l->a, true);
		return put(o, l->x == 1 ? " private=1" : l->x == 2 ? " private=0" : "");
	case L_INJECT:
		return put_inject(o, l);
	case L_INJECT_OFF:
		return put(o, " off");
	case L_DEFERRED:
		return;
	case L_CHECK:
		return put(o, " => 0");
	default:
		break;
	}
	put_len(o, " ", 1);
	put(o, file_names[l->file]);
	switch (l->verb) {
	case L_GMEM:
		return put_gmem(o, l);
	case L_FALLOC:
	case L_PUNCH:
	case L_CONVERT:
		put_key(o, "off", l->a);
		put_key(o, "len", l->b);
		if (l->verb == L_CONVERT)
			put(o, l->x ? " to=shared" : " to=private");
		return;
	case L_READ:
	case L_WRITE:
		put_key(o, "off", l->a);
		put_key(o, "len", l->b);
		if (l->verb == L_WRITE) {
			put(o, " byte=");
			put_u64(o, l->x, true);
		}
		return;
	case L_FAULT:
	case L_PIN:
	case L_UNPIN:
	case L_POISON:
	case L_GETPFN:
		return put_key(o, "off", l->a);
	default: /* mmap, munmap, close: the file alone */
		return;
	}
}

static void put_line(struct fz_out *o, const struct fz_line *l)
{
	put(o, verb_names[l->verb]);
	put_rest(o, l);
	put_len(o, "\n", 1);
}

char *gs_fuzz_decode(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts)
{
	struct fz_lines lines = {0};
	struct fz_out o = {.g = g_string_sized_new(1024)};

	decode_lines(data, len, opts, &lines);
	for (unsigned int i = 0; i < lines.len; i++)
		put_line(&o, &lines.v[i]);
	g_free(lines.v);
	return g_string_free(o.g, FALSE);
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

/* --- lines as operations --- */

/* The last program gs_fuzz_build_ops() made: what a crash dump prints. */
static struct fz_lines built;

/* The keys the lines set. */
enum fz_key {
	FK_VM,
	FK_SIZE,
	FK_FLAGS,
	FK_PAGE,
	FK_OFF,
	FK_LEN,
	FK_TO,
	FK_BYTE,
	FK_BUG,
	FK_NR,
	FK_TYPE,
	FK_CONVERSION,
	FK_SLOT,
	FK_GPA,
	FK_GMEM,
	FK_PRIVATE,
	FK_SITE,
	FK_NTH,
	FK_PERSISTENT,
	FK_NR_KEYS,
};

static const char *const fz_key_names[FK_NR_KEYS] = {
	[FK_VM] = "vm",
	[FK_SIZE] = "size",
	[FK_FLAGS] = "flags",
	[FK_PAGE] = "page",
	[FK_OFF] = "off",
	[FK_LEN] = "len",
	[FK_TO] = "to",
	[FK_BYTE] = "byte",
	[FK_BUG] = "bug",
	[FK_NR] = "nr",
	[FK_TYPE] = "type",
	[FK_CONVERSION] = "conversion",
	[FK_SLOT] = "slot",
	[FK_GPA] = "gpa",
	[FK_GMEM] = "gmem",
	[FK_PRIVATE] = "private",
	[FK_SITE] = "site",
	[FK_NTH] = "nth",
	[FK_PERSISTENT] = "persistent",
};

/*
 * A kind of line's verb and what building its operation needs of it,
 * resolved once a process (line_kind()): one record a kind, read by every
 * line of that kind.
 */
struct fz_line_kind {
	const struct gs_verb *verb;
	uint32_t required; /* bit i: the verb's key i is required */
	uint32_t words;	   /* bit FK_*: the key is no number (put_word()) */
	unsigned int nkeys;
	int8_t ki[FK_NR_KEYS]; /* the key's index in the verb (-1: the verb has none) */
};

static struct fz_line_kind line_kinds[L_NR];

/* @name's value in an enum or flags key's list, as the parser finds it; false if none. */
static bool name_value(const struct gs_key *k, const char *name, uint64_t *out)
{
	for (int i = 0; k->names && k->names[i]; i++) {
		if (strcmp(k->names[i], name))
			continue;
		if (k->values)
			*out = k->values[i];
		else
			*out = k->type == GS_ARG_FLAGS ? 1ULL << i : (uint64_t)i;
		return true;
	}
	return false;
}

/* The parser's value of a flags word written as names joined by '|' (or a number). */
static bool flags_value(const struct gs_key *k, const char *text, uint64_t *out)
{
	char word[32];

	*out = 0;
	while (*text) {
		size_t n = strcspn(text, "|");
		uint64_t bit = 0;

		if (!n || n >= sizeof(word))
			return false;
		memcpy(word, text, n);
		word[n] = '\0';
		if (gs_parse_u64(word, &bit) && !name_value(k, word, &bit))
			return false;
		*out |= bit;
		text += n + (text[n] == '|');
	}
	return true;
}

/*
 * An enum or flags word's value (name_value(), flags_value()), remembered
 * by the key's and the word's addresses: the decoder's words are literals
 * of its tables, as the verbs' key tables are, so neither text ever
 * changes, and every input asks for the same few. The slot comes from
 * their offsets in the image (gs_image_off()): a miss runs the parser's
 * number reader, whose coverage a fuzzer sees.
 */
static bool word_value(const struct gs_key *k, const char *text, uint64_t *out)
{
	static struct {
		const struct gs_key *k;
		const char *text;
		uint64_t v;
		bool ok;
	} seen[64];
	unsigned int h = (unsigned int)(((gs_image_off(k) ^ (gs_image_off(text) << 5)) *
					 0x9e3779b97f4a7c15ULL) >>
					58);

	if (seen[h].k != k || seen[h].text != text) {
		uint64_t v = 0;
		bool ok =
			k->type == GS_ARG_ENUM ? name_value(k, text, &v) : flags_value(k, text, &v);

		seen[h].k = k;
		seen[h].text = text;
		seen[h].v = v;
		seen[h].ok = ok;
	}
	if (seen[h].ok)
		*out = seen[h].v;
	return seen[h].ok;
}

/* put_arg() for a key that is not a number: its text and what the parser makes of it. */
static bool put_word(const struct gs_key *k, struct gs_arg *a, uint64_t v, const char *text,
		     bool literal)
{
	a->str = text;
	switch (k->type) {
	case GS_ARG_BOOL:
		return v <= 1;
	case GS_ARG_STR:
		return text && *text;
	case GS_ARG_ENUM:
		return literal ? word_value(k, text, &a->u) : name_value(k, text, &a->u);
	case GS_ARG_FLAGS:
		return literal ? word_value(k, text, &a->u) : flags_value(k, text, &a->u);
	case GS_ARG_U64:
	case GS_ARG_NONE:
		break;
	}
	return false;
}

/*
 * Key @fk of @op's verb (line kind @kd) set to @v as the parser sets it from
 * @text; false if it cannot be. @literal: @text is one of this file's
 * literals (not a caller's string, whose memory may later hold another
 * word). In line, a number (most keys an input sets) without a call and
 * without reading the verb's key table.
 */
static inline bool put_arg(struct gs_op *op, const struct fz_line_kind *kd, enum fz_key fk,
			   uint64_t v, const char *text, bool literal)
{
	int ki = kd->ki[fk];
	struct gs_arg *a;

	if (ki < 0)
		return false;
	a = &op->args[ki];
	if (a->present)
		return false;
	*a = (struct gs_arg){.present = true, .u = v};
	/* Numbers carry no text: nothing reads a number's (gs_op_str()). */
	if (G_LIKELY(!(kd->words & (1u << fk))))
		return true;
	return put_word(&op->verb->keys[ki], a, v, text, literal);
}

/* Key @key of the line's verb (its kind @kd in the builder's functions). */
#define set_arg(op, key, v, text) put_arg(op, kd, key, v, text, true)

static bool set_target(struct gs_op *op, const char *target)
{
	op->target = target;
	return op->verb->target == GS_ARG_STR;
}

/*
 * What the parser checks once a line is read: target, required keys, the
 * verb's own check.
 */
static bool complete(const struct gs_op *op, const struct fz_line_kind *kd)
{
	const struct gs_verb *verb = op->verb;
	char err[256];

	if (verb->target_required && !op->target)
		return false;
	for (uint32_t required = kd->required; required; required &= required - 1)
		if (!op->args[__builtin_ctz(required)].present)
			return false;
	err[0] = '\0';
	return !verb->validate || !verb->validate(op, err, sizeof(err));
}

/*
 * Line @l's keys and target: one switch on its kind (the file verbs' cases
 * beside the others', not a second switch behind the first's default).
 */
static bool build_keys(struct gs_op *op, const struct fz_line_kind *kd, const struct fz_line *l)
{
	switch (l->verb) {
	case L_STRICT:
		return set_target(op, "off");
	case L_PLANT:
		return put_arg(op, kd, FK_BUG, 0, l->s, false); /* the caller's name */
	case L_POOL:
		return set_target(op, "pool") &&
		       set_arg(op, FK_SIZE, l->x == GS_FUZZ_2M ? 2ULL << 20 : 1ULL << 30, NULL) &&
		       set_arg(op, FK_NR, l->a, NULL);
	case L_VM:
		return set_target(op, "vm0") && set_arg(op, FK_TYPE, 0, "sw_protected") &&
		       set_arg(op, FK_CONVERSION, 0, orderings[l->x]);
	case L_SLOT:
		return set_target(op, "vm0") && set_arg(op, FK_SLOT, 0, NULL) &&
		       set_arg(op, FK_GPA, l->a, NULL) && set_arg(op, FK_SIZE, l->b, NULL) &&
		       set_arg(op, FK_GMEM, 0, file_names[l->file]) &&
		       (!l->c || set_arg(op, FK_OFF, l->c, NULL));
	case L_SLOT_DEL:
		return set_target(op, "vm0") && set_arg(op, FK_SLOT, 0, NULL) &&
		       set_arg(op, FK_SIZE, 0, NULL);
	case L_GFAULT:
		return set_target(op, "vm0") && set_arg(op, FK_GPA, l->a, NULL) &&
		       (!l->x || set_arg(op, FK_PRIVATE, l->x == 1, l->x == 1 ? "1" : "0"));
	case L_INJECT:
		return (!l->s || set_arg(op, FK_SITE, 0, l->s)) &&
		       set_arg(op, FK_NTH, l->a, NULL) &&
		       (!l->x || set_arg(op, FK_PERSISTENT, 1, "persistent"));
	case L_INJECT_OFF:
		return set_arg(op, FK_OFF, 1, "off");
	case L_DEFERRED:
		return true;
	case L_CHECK:
		op->has_expect = true;
		op->expect.has_ret = true;
		return true;
	case L_GMEM:
		return set_target(op, file_names[l->file]) && set_arg(op, FK_VM, 0, "vm0") &&
		       set_arg(op, FK_SIZE, l->a, NULL) &&
		       set_arg(op, FK_FLAGS, 0, flag_text[(l->x >> 2) != GS_FUZZ_4K][l->x & 3]) &&
		       ((l->x >> 2) == GS_FUZZ_4K ||
			set_arg(op, FK_PAGE, l->x >> 2 == GS_FUZZ_2M ? 2ULL << 20 : 1ULL << 30,
				NULL));
	case L_CONVERT:
		return set_target(op, file_names[l->file]) && set_arg(op, FK_OFF, l->a, NULL) &&
		       set_arg(op, FK_LEN, l->b, NULL) &&
		       set_arg(op, FK_TO, 0, l->x ? "shared" : "private");
	case L_WRITE:
		return set_target(op, file_names[l->file]) && set_arg(op, FK_OFF, l->a, NULL) &&
		       set_arg(op, FK_LEN, l->b, NULL) && set_arg(op, FK_BYTE, l->x, NULL);
	case L_FALLOC:
	case L_PUNCH:
	case L_READ:
		return set_target(op, file_names[l->file]) && set_arg(op, FK_OFF, l->a, NULL) &&
		       set_arg(op, FK_LEN, l->b, NULL);
	case L_FAULT:
	case L_PIN:
	case L_UNPIN:
	case L_POISON:
	case L_GETPFN:
		return set_target(op, file_names[l->file]) && set_arg(op, FK_OFF, l->a, NULL);
	default: /* mmap, munmap, close */
		return set_target(op, file_names[l->file]);
	}
}

/* Line kind @v's record: its verb looked up, and its keys by text, once a process. */
static const struct fz_line_kind *line_kind(enum fz_verb v)
{
	static bool done[L_NR];
	struct fz_line_kind *kd = &line_kinds[v];

	G_STATIC_ASSERT(GS_MAX_KEYS <= 32 && FK_NR_KEYS <= 32);
	if (G_UNLIKELY(!done[v])) {
		kd->verb = gs_verb_lookup(verb_names[v]);
		for (; kd->verb && kd->verb->keys && kd->verb->keys[kd->nkeys].name; kd->nkeys++)
			if (kd->verb->keys[kd->nkeys].required)
				kd->required |= 1u << kd->nkeys;
		/* By text (the remembered pairs are left to the lines' readers). */
		for (unsigned int k = 0; k < FK_NR_KEYS; k++) {
			kd->ki[k] = -1;
			for (unsigned int i = 0; i < kd->nkeys; i++)
				if (!strcmp(kd->verb->keys[i].name, fz_key_names[k]))
					kd->ki[k] = (int8_t)i;
			if (kd->ki[k] >= 0 && kd->verb->keys[kd->ki[k]].type != GS_ARG_U64)
				kd->words |= 1u << k;
		}
		/* A kind whose verb is missing is looked up again, as before. */
		done[v] = kd->verb != NULL;
	}
	return kd;
}

/* Line @l as the parser makes its operation from the text put_line() prints. */
static bool build_op(struct gs_op *op, const struct fz_line *l, const char *name, unsigned int nr)
{
	const struct fz_line_kind *kd = line_kind((enum fz_verb)l->verb);

	/*
	 * What the parser's zeroed slot holds, written where a line can set or
	 * the engine can read it: the verb's keys (not all GS_MAX_KEYS), the
	 * expectation's header (its items stay unused: nr 0).
	 */
	memset(op, 0, offsetof(struct gs_op, args));
	op->verb = kd->verb;
	memset(op->args, 0, kd->nkeys * sizeof(op->args[0]));
	op->has_expect = false;
	memset(&op->expect, 0, offsetof(struct gs_expect, items));
	op->expect.blanks = 0;
	op->src = NULL;
	op->file = name;
	op->line = nr;
	return op->verb && !op->verb->text && build_keys(op, kd, l) && complete(op, kd);
}

int gs_fuzz_build_ops(const uint8_t *data, size_t len, const struct gs_fuzz_decode_opts *opts,
		      const char *name, GArray *ops)
{
	decode_lines(data, len, opts, &built);
	if (ops->len < built.len)
		g_array_set_size(ops, built.len);
	for (unsigned int i = 0; i < built.len; i++)
		if (!build_op(&g_array_index(ops, struct gs_op, i), &built.v[i], name, i + 1))
			return -EINVAL;
	return (int)built.len;
}

void gs_fuzz_write_built(int fd)
{
	char buf[256];

	for (unsigned int i = 0; i < built.len; i++) {
		struct fz_out o = {.buf = buf, .cap = sizeof(buf)};
		size_t done = 0;

		put_line(&o, &built.v[i]);
		while (done < o.len) {
			ssize_t w = write(fd, buf + done, o.len - done);

			if (w <= 0)
				return;
			done += (size_t)w;
		}
	}
}
