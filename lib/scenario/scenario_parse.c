// SPDX-License-Identifier: MIT
/*
 * The .gms parser: text to a list of typed operations, validated against the
 * verb registry before anything runs, so a malformed scenario has no side
 * effects and every error names its file and line. Any byte sequence is
 * accepted as input; the fuzz target fuzz/fuzz-scenario.c holds us to that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <gmemsim/internal/scenario_int.h>

#define GS_MAX_TOKENS 64

struct token {
	char *text;   /* unquoted text, in the script's string chunk */
	int eq;	      /* offset of the first '=' outside quotes, or -1 */
	bool quoted;  /* any part was quoted */
	bool arrow;   /* the "=>" separator */
	size_t start; /* offsets in the line, for free-text verbs */
	size_t end;
};

struct line_ctx {
	const char *name;
	unsigned int line;
	FILE *err;
	char *msg; /* first error of the line */
	struct gs_script *script;
	GString *buf; /* scratch for a quoted word and the folded line, reused */
};

static __printf(2, 3) int line_error(struct line_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->msg)
		return -1;
	va_start(ap, fmt);
	c->msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_digit(char c, int base)
{
	return (c >= '0' && c <= '9') ||
	       (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

int gs_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	int base = 10, digits = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return -EINVAL;
	}
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else if (*p == '_' && digits && is_digit(p[1], base))
			continue; /* a separator between digits: 1_000 */
		else
			break;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + d;
		digits++;
	}
	if (!digits)
		return -EINVAL;
	if (*p) {
		switch (*p) {
		case 'K':
		case 'k':
			mul = 1ULL << 10;
			break;
		case 'M':
		case 'm':
			mul = 1ULL << 20;
			break;
		case 'G':
		case 'g':
			mul = 1ULL << 30;
			break;
		case 'T':
		case 't':
			mul = 1ULL << 40;
			break;
		default:
			return -EINVAL;
		}
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (mul > 1 && v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

const char *gs_errno_name(int err)
{
	return err > 0 ? strerrorname_np(err) : NULL;
}

int gs_errno_from_name(const char *name)
{
	if (!name || name[0] != 'E')
		return 0;
	for (int e = 1; e < 256; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

static int signal_from_name(const char *name)
{
	if (strncmp(name, "SIG", 3))
		return 0;
	for (int s = 1; s < NSIG; s++) {
		const char *n = sigabbrev_np(s);

		if (n && !strcmp(n, name + 3))
			return s;
	}
	return 0;
}

/* How a byte ends or marks a word without quotes. */
enum { WORD_END = 1, WORD_QUOTE = 2, WORD_EQ = 4 };
static const unsigned char word_class[256] = {
	[0 ... ' '] = WORD_END,
	['#'] = WORD_END,
	['"'] = WORD_END | WORD_QUOTE,
	['='] = WORD_EQ,
};

/*
 * A word without quotes (nearly all of them): its bytes in @copy (the line's
 * copy in the script's strings), ended there in place, with no copy of its
 * own. False, and nothing consumed, for one with a quote. The line has no
 * control character but tabs (parse_line()), so a blank or a control byte
 * ends a word as a blank does.
 */
static bool plain_word(char *copy, const char *s, size_t len, size_t *i, struct token *t)
{
	size_t j = *i;
	unsigned char cls;

	while (j < len && !((cls = word_class[(unsigned char)s[j]]) & WORD_END)) {
		if ((cls & WORD_EQ) && t->eq < 0)
			t->eq = (int)(j - *i);
		j++;
	}
	if (j < len && s[j] == '"') {
		t->eq = -1;
		return false;
	}
	copy[j] = '\0';
	t->text = copy + *i;
	t->end = j;
	*i = j;
	return true;
}

/*
 * Split one line into tokens. Quotes group (with \" \\ \n \t escapes), '#'
 * outside quotes ends the line, "=>" at the start of a token is the
 * expectation separator.
 */
static int tokenize(struct line_ctx *c, const char *s, size_t len, struct token *tok,
		    unsigned int *nr)
{
	/* One copy of the line for its plain words (NUL-ended in place), not one per word. */
	char *copy = g_string_chunk_insert_len(c->script->strings, s, (gssize)len);
	size_t i = 0;

	*nr = 0;
	while (i < len) {
		GString *buf;
		struct token *t;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len || s[i] == '#')
			break;
		if (*nr == GS_MAX_TOKENS)
			return line_error(c, "too many words on one line (at most %d)",
					  GS_MAX_TOKENS);
		t = &tok[(*nr)++];
		*t = (struct token){.eq = -1, .start = i};
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '>') {
			t->arrow = true;
			t->text = "=>";
			i += 2;
			t->end = i;
			continue;
		}
		if (plain_word(copy, s, len, &i, t))
			continue;
		buf = c->buf;
		g_string_truncate(buf, 0);
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#') {
			if (s[i] != '"') {
				if (s[i] == '=' && t->eq < 0 && !t->quoted)
					t->eq = (int)buf->len;
				g_string_append_c(buf, s[i++]);
				continue;
			}
			t->quoted = true;
			for (i++; i < len && s[i] != '"'; i++) {
				char ch = s[i];

				if (ch == '\\' && i + 1 < len) {
					ch = s[++i];
					ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
				}
				g_string_append_c(buf, ch);
			}
			if (i >= len)
				return line_error(c, "unterminated quoted string");
			i++;
		}
		t->end = i;
		t->text = g_string_chunk_insert_len(c->script->strings, buf->str, (gssize)buf->len);
	}
	return 0;
}

/* @key's index by its text, the first letter first: the parser's keys are the script's. */
static int key_index_text(const struct gs_key *k, const char *key)
{
	for (int i = 0; k && k[i].name; i++)
		if (k[i].name[0] == key[0] && !strcmp(k[i].name, key))
			return i;
	return -1;
}

struct gs_key_seen gs_key_seen[1u << GS_KEY_SEEN_BITS];

int gs_verb_key_index(const struct gs_verb *verb, const char *key)
{
	/*
	 * Verbs (registered, never freed) and the literals of their key tables
	 * live as long as the process: a pair found by address is remembered
	 * by address (a line asks for ten keys or so, the oracle's adapter as
	 * many again: the scan was 5% of a fuzz execution). A key found by its
	 * text (the parser's, in memory that goes) is not.
	 */
	struct gs_key_seen *seen = &gs_key_seen[gs_key_seen_slot(verb, key)];
	const struct gs_key *k = verb->keys;

	if (seen->verb == verb && seen->key == key)
		return seen->index;
	/*
	 * A verb reads its keys on every line, asking with the literal its key
	 * table holds, which the toolchain merges into one copy: the address
	 * matches without comparing text.
	 */
	for (int i = 0; k && k[i].name; i++)
		if (k[i].name == key) {
			*seen = (struct gs_key_seen){.verb = verb, .key = key, .index = i};
			return i;
		}
	return key_index_text(k, key);
}

static GString *key_list(const struct gs_verb *verb)
{
	GString *g = g_string_new(NULL);

	for (int i = 0; verb->keys && verb->keys[i].name; i++)
		g_string_append_printf(g, "%s%s", i ? ", " : "", verb->keys[i].name);
	if (!g->len)
		g_string_append(g, "none");
	return g;
}

static int name_value(const struct gs_key *k, const char *name, uint64_t *out)
{
	for (int i = 0; k->names && k->names[i]; i++) {
		if (strcmp(k->names[i], name))
			continue;
		if (k->values)
			*out = k->values[i];
		else
			*out = k->type == GS_ARG_FLAGS ? 1ULL << i : (uint64_t)i;
		return 0;
	}
	return -ENOENT;
}

static GString *name_list(const struct gs_key *k)
{
	GString *g = g_string_new(NULL);

	for (int i = 0; k->names && k->names[i]; i++)
		g_string_append_printf(g, "%s%s", i ? ", " : "", k->names[i]);
	return g;
}

static int parse_flags(struct line_ctx *c, const struct gs_key *k, const char *v, uint64_t *out)
{
	gchar **parts = g_strsplit(v, "|", -1);
	int ret = 0;

	*out = 0;
	for (int i = 0; parts[i] && !ret; i++) {
		uint64_t bit = 0;

		if (!*parts[i] || (gs_parse_u64(parts[i], &bit) && name_value(k, parts[i], &bit))) {
			GString *names = name_list(k);

			ret = line_error(c, "%s: unknown flag '%s' (flags: %s, or numbers)",
					 k->name, parts[i], names->str);
			g_string_free(names, TRUE);
		}
		*out |= bit;
	}
	g_strfreev(parts);
	return ret;
}

static int parse_value(struct line_ctx *c, const struct gs_key *k, const char *v,
		       struct gs_arg *arg)
{
	int err;

	arg->present = true;
	arg->str = v;
	switch (k->type) {
	case GS_ARG_U64:
		err = gs_parse_u64(v, &arg->u);
		if (err == -ERANGE)
			return line_error(c, "%s: number out of range: '%s'", k->name, v);
		if (err)
			return line_error(c, "%s: expected a number, got '%s'", k->name, v);
		return 0;
	case GS_ARG_FLAGS:
		return parse_flags(c, k, v, &arg->u);
	case GS_ARG_ENUM:
		if (name_value(k, v, &arg->u)) {
			GString *names = name_list(k);

			line_error(c, "%s: expected one of %s, got '%s'", k->name, names->str, v);
			g_string_free(names, TRUE);
			return -1;
		}
		return 0;
	case GS_ARG_BOOL:
		if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
			arg->u = 1;
		else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
			arg->u = 0;
		else
			return line_error(c, "%s: expected 1/0, true/false or yes/no, got '%s'",
					  k->name, v);
		return 0;
	case GS_ARG_STR:
		if (!*v)
			return line_error(c, "%s: empty value", k->name);
		return 0;
	case GS_ARG_NONE:
		break;
	}
	return line_error(c, "%s: key of unknown type", k->name);
}

static bool verb_reports(const struct gs_verb *verb, const char *key)
{
	for (int i = 0; verb->outputs && verb->outputs[i]; i++)
		if (!strcmp(verb->outputs[i], key))
			return true;
	for (unsigned int i = 0; gs_expect_kind_nth(i); i++)
		if (!strcmp(gs_expect_kind_nth(i)->key, key))
			return true;
	return false;
}

static int parse_expect_bare(struct line_ctx *c, struct gs_expect *e, const char *w)
{
	uint64_t u;
	int n;

	if (e->has_ret || e->sig)
		return line_error(c, "expectation names two results ('%s' is the second)", w);
	if ((n = gs_errno_from_name(w))) {
		e->has_ret = true;
		e->ret = -n;
	} else if ((n = signal_from_name(w))) {
		e->sig = n;
	} else if (w[0] == '-' && !gs_parse_u64(w + 1, &u) && u <= (uint64_t)INT64_MAX) {
		e->has_ret = true;
		e->ret = -(long long)u;
	} else if (!gs_parse_u64(w, &u) && u <= (uint64_t)INT64_MAX) {
		e->has_ret = true;
		e->ret = (long long)u;
	} else {
		return line_error(c,
				  "unknown result '%s' (expected an errno name such as EINVAL, "
				  "a signal such as SIGBUS, or a number)",
				  w);
	}
	return 0;
}

/* A lab's answer slot: '?' as written, not quoted (a quoted "?" is a string). */
static bool is_blank(const struct token *t, const char *w)
{
	return !t->quoted && w[0] == '?' && !w[1];
}

static int parse_expect(struct line_ctx *c, const struct gs_verb *verb, struct token *tok,
			unsigned int nr, struct gs_expect *e)
{
	bool blank_ret = false;

	if (!nr)
		return line_error(c, "nothing after '=>'");
	for (unsigned int i = 0; i < nr; i++) {
		struct token *t = &tok[i];
		struct gs_expect_item *it;

		if (t->arrow)
			return line_error(c, "a second '=>'");
		if (t->eq < 0) {
			if (blank_ret || (is_blank(t, t->text) && (e->has_ret || e->sig)))
				return line_error(
					c, "expectation names two results ('%s' is the second)",
					t->text);
			if (is_blank(t, t->text)) {
				blank_ret = true;
				e->blanks++;
			} else if (parse_expect_bare(c, e, t->text)) {
				return -1;
			}
			continue;
		}
		t->text[t->eq] = '\0';
		if (!verb_reports(verb, t->text))
			return line_error(c, "verb '%s' reports no '%s'", verb->name, t->text);
		if (is_blank(t, t->text + t->eq + 1)) {
			e->blanks++;
			continue;
		}
		if (e->nr == GS_MAX_EXPECTS)
			return line_error(c, "too many expectations (at most %d)", GS_MAX_EXPECTS);
		it = &e->items[e->nr++];
		*it = (struct gs_expect_item){.key = t->text, .raw = t->text + t->eq + 1};
		it->is_num = !gs_parse_u64(it->raw, &it->num);
	}
	return 0;
}

static int parse_target(struct line_ctx *c, const struct gs_verb *verb, struct gs_op *op,
			const char *w)
{
	uint64_t u;

	if (verb->target == GS_ARG_NONE)
		return line_error(c, "verb '%s' takes no target, got '%s'", verb->name, w);
	if (op->target)
		return line_error(c, "unexpected word '%s' (target is already '%s')", w,
				  op->target);
	op->target = w;
	if (verb->target == GS_ARG_U64) {
		int err = gs_parse_u64(w, &u);

		if (err)
			return line_error(c, "expected a number, got '%s'", w);
		op->target_u64 = u;
	}
	return 0;
}

static int parse_word(struct line_ctx *c, const struct gs_verb *verb, struct gs_op *op,
		      struct token *t)
{
	int ki;

	if (t->eq < 0) {
		ki = t->quoted ? -1 : key_index_text(verb->keys, t->text);
		if (ki >= 0 && verb->keys[ki].type == GS_ARG_BOOL) {
			if (op->args[ki].present)
				return line_error(c, "%s given twice", t->text);
			op->args[ki] = (struct gs_arg){.present = true, .u = 1, .str = t->text};
			return 0;
		}
		return parse_target(c, verb, op, t->text);
	}
	if (t->eq == 0)
		return line_error(c, "'=' without a key");
	t->text[t->eq] = '\0';
	ki = key_index_text(verb->keys, t->text);
	if (ki < 0) {
		GString *keys = key_list(verb);

		line_error(c, "verb '%s' has no key '%s' (keys: %s)", verb->name, t->text,
			   keys->str);
		g_string_free(keys, TRUE);
		return -1;
	}
	if (op->args[ki].present)
		return line_error(c, "%s given twice", t->text);
	return parse_value(c, &verb->keys[ki], t->text + t->eq + 1, &op->args[ki]);
}

static int check_complete(struct line_ctx *c, const struct gs_verb *verb, struct gs_op *op)
{
	char err[256] = "";

	if (verb->target_required && !op->target)
		return line_error(c, "verb '%s' needs a target", verb->name);
	for (int i = 0; verb->keys && verb->keys[i].name; i++)
		if (verb->keys[i].required && !op->args[i].present)
			return line_error(c, "verb '%s' needs %s=", verb->name, verb->keys[i].name);
	if (verb->validate && verb->validate(op, err, sizeof(err)))
		return line_error(c, "%s", err[0] ? err : "invalid operation");
	return 0;
}

/*
 * The line as written, runs of blanks folded to one space, for messages;
 * @fold: it has a tab or two spaces in a row (else its bytes as they are).
 */
static const char *line_text(struct line_ctx *c, const char *s, size_t len, bool fold)
{
	GString *g = c->buf;

	/* Written with single spaces (generated text is): the bytes as they are. */
	if (!fold)
		return g_string_chunk_insert_len(c->script->strings, s, (gssize)len);
	g_string_truncate(g, 0);
	for (size_t i = 0; i < len; i++) {
		bool blank = s[i] == ' ' || s[i] == '\t';

		if (!blank || (g->len && g->str[g->len - 1] != ' '))
			g_string_append_c(g, blank ? ' ' : s[i]);
	}
	return g_string_chunk_insert_len(c->script->strings, g->str, (gssize)g->len);
}

static int parse_line(struct line_ctx *c, const char *s, size_t len, struct gs_op *op)
{
	struct token tok[GS_MAX_TOKENS];
	const struct gs_verb *verb;
	unsigned int nr, i;

	bool fold = false;

	/* One pass: a control character is an error; blanks to fold are noted for line_text(). */
	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (ch > ' ')
			continue;
		if (ch < ' ' && ch != '\t')
			return line_error(c, "control character 0x%02x in line", ch);
		fold |= ch == '\t' || (k + 1 < len && s[k + 1] == ' ');
	}
	if (tokenize(c, s, len, tok, &nr))
		return -1;
	if (!nr)
		return 1; /* blank or comment */
	op->src = line_text(c, s + tok[0].start, tok[nr - 1].end - tok[0].start, fold);
	if (tok[0].arrow || tok[0].quoted || tok[0].eq >= 0)
		return line_error(c, "expected a verb at the start of the line, got '%s'",
				  tok[0].text);
	verb = gs_verb_lookup(tok[0].text);
	if (!verb)
		return line_error(c, "unknown verb '%s' (gmemsim verbs lists them)", tok[0].text);
	op->verb = verb;
	if (verb->text) {
		size_t from = nr > 1 ? tok[1].start : len, to = nr > 1 ? tok[nr - 1].end : len;

		op->text = g_string_chunk_insert_len(c->script->strings, s + from,
						     (gssize)(to - from));
		return 0;
	}
	for (i = 1; i < nr && !tok[i].arrow; i++)
		if (parse_word(c, verb, op, &tok[i]))
			return -1;
	if (i < nr) {
		op->has_expect = true;
		if (parse_expect(c, verb, &tok[i + 1], nr - i - 1, &op->expect))
			return -1;
	}
	return check_complete(c, verb, op);
}

static void report(struct line_ctx *c, unsigned int *nerr)
{
	if (*nerr < GS_MAX_PARSE_ERRORS && c->err)
		fprintf(c->err, "%s:%u: %s\n", c->name, c->line, c->msg);
	else if (*nerr == GS_MAX_PARSE_ERRORS && c->err)
		fprintf(c->err, "%s: too many errors, giving up\n", c->name);
	(*nerr)++;
	g_free(c->msg);
	c->msg = NULL;
}

static guint count_lines(const char *text, size_t len)
{
	guint n = 1;

	/* Blank lines make no op: a text of newlines must not size the array. */
	for (const char *p = text; n < 1024 && (p = memchr(p, '\n', len - (size_t)(p - text))); p++)
		n++;
	return n;
}

struct gs_script *gs_script_parse(const char *name, const char *text, size_t len, FILE *err)
{
	struct gs_script *script = g_new0(struct gs_script, 1);
	struct line_ctx c = {.name = name, .err = err, .script = script, .buf = g_string_new(NULL)};
	unsigned int nerr = 0;
	size_t pos = 0;

	script->name = g_strdup(name);
	script->strings = g_string_chunk_new(4096);
	/* One op a line at most: sized once, not grown (and copied) as lines come. */
	script->ops = g_array_sized_new(FALSE, TRUE, sizeof(struct gs_op), count_lines(text, len));
	/* Editors on some systems start UTF-8 files with a byte order mark: not part of a verb. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len && nerr <= GS_MAX_PARSE_ERRORS) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, l = end - pos;
		guint n = script->ops->len;
		struct gs_op *op;
		int r;

		c.line++;
		if (l && text[pos + l - 1] == '\r')
			l--;
		/* Parsed in its slot (zeroed as the array grows), not copied there. */
		g_array_set_size(script->ops, n + 1);
		op = &g_array_index(script->ops, struct gs_op, n);
		op->file = script->name;
		op->line = c.line;
		r = parse_line(&c, text + pos, l, op);
		if (r < 0)
			report(&c, &nerr);
		if (r != 0)
			g_array_set_size(script->ops, n);
		pos = end + 1;
	}
	g_string_free(c.buf, TRUE);
	if (nerr) {
		gs_script_free(script);
		return NULL;
	}
	return script;
}

const struct gs_op *gs_script_first_blank(const struct gs_script *script)
{
	for (guint i = 0; i < script->ops->len; i++) {
		const struct gs_op *op = &g_array_index(script->ops, struct gs_op, i);

		if (op->expect.blanks)
			return op;
	}
	return NULL;
}

void gs_script_free(struct gs_script *script)
{
	if (!script)
		return;
	g_array_free(script->ops, TRUE);
	g_string_chunk_free(script->strings);
	g_free(script->name);
	g_free(script);
}
