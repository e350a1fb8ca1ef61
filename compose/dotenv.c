/* dotenv.c - .env files read as compose-go v2's dotenv package reads them: the same
 * statement scanner (line counting included), quoting, escapes and interpolation order. */
#include "compose/dotenv.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An env file larger than this is refused rather than read into memory. */
#define DOTENV_MAX_FILE (64u << 20)

/* How much of a line an error message quotes. */
#define DOTENV_QUOTE_MAX 256

struct dotenv_var {
	char *key;
	char *value;
};

/* The variables this file defined so far, in file order, with a hash index for the
 * ${VAR} lookups (slots hold index + 1; 0 is empty). */
struct dotenv_vars {
	struct dotenv_var *v;
	size_t n, cap;
	size_t *slots;
	size_t nslots; /* 0 or a power of two, at least twice n */
};

struct parser {
	const char *file;
	const char *s; /* the text, BOM removed */
	size_t n;
	size_t pos;
	unsigned line; /* counted exactly where compose-go counts */
	const struct interp_env *env;
	struct interp_env file_env; /* what ${VAR} sees: env, then vars */
	struct dotenv_vars vars;
	struct px_buf raw; /* scratch: a quoted value as written */
};

static bool letter_or_number(uint32_t r);

/* FNV-1a */
static size_t hash_key(const char *s)
{
	size_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static size_t *vars_slot(const struct dotenv_vars *vs, const char *key)
{
	size_t mask = vs->nslots - 1, h = hash_key(key) & mask;

	while (vs->slots[h] != 0 && strcmp(vs->v[vs->slots[h] - 1].key, key) != 0)
		h = (h + 1) & mask;
	return &vs->slots[h];
}

static const char *vars_get(const struct dotenv_vars *vs, const char *key)
{
	size_t *slot;

	if (vs->nslots == 0)
		return NULL;
	slot = vars_slot(vs, key);
	return *slot != 0 ? vs->v[*slot - 1].value : NULL;
}

/* Set key (copied) to value (owned: moves in). */
static void vars_set(struct dotenv_vars *vs, const char *key, char *value)
{
	size_t *slot;

	if (2 * (vs->n + 1) > vs->nslots) {
		size_t nslots = vs->nslots != 0 ? 2 * vs->nslots : 64;

		free(vs->slots);
		vs->slots = xcalloc(nslots, sizeof(*vs->slots));
		vs->nslots = nslots;
		for (size_t i = 0; i < vs->n; i++)
			*vars_slot(vs, vs->v[i].key) = i + 1;
	}
	slot = vars_slot(vs, key);
	if (*slot != 0) {
		free(vs->v[*slot - 1].value);
		vs->v[*slot - 1].value = value;
		return;
	}
	if (vs->n == vs->cap) {
		vs->cap = vs->cap != 0 ? 2 * vs->cap : 32;
		vs->v = xreallocarray(vs->v, vs->cap, sizeof(*vs->v));
	}
	vs->v[vs->n].key = xstrdup(key);
	vs->v[vs->n].value = value;
	*slot = ++vs->n;
}

static void vars_release(struct dotenv_vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].key);
		free(vs->v[i].value);
	}
	free(vs->v);
	free(vs->slots);
	memset(vs, 0, sizeof(*vs));
}

/* ${VAR} inside a value: env first, then this file's earlier keys (compose-go's
 * ExpandVariables asks its lookup function before its own map). */
static const char *file_lookup(void *data, const char *name)
{
	struct parser *p = data;
	const char *v = NULL;

	if (p->env != NULL && p->env->lookup != NULL)
		v = p->env->lookup(p->env->data, name);
	return v != NULL ? v : vars_get(&p->vars, name);
}

static void file_unset(void *data, const char *name)
{
	struct parser *p = data;

	if (p->env != NULL && p->env->on_unset != NULL)
		p->env->on_unset(p->env->data, name);
}

static size_t rune_at(const struct parser *p, size_t at, uint32_t *r)
{
	return interp_utf8_decode(p->s + at, p->n - at, r);
}

/* dotenv's isSpace: white space that does not end a line. */
static bool is_blank(uint32_t r)
{
	return r == '\t' || r == '\v' || r == '\f' || r == '\r' || r == ' ' || r == 0x85 ||
	       r == 0xa0;
}

/* Go's unicode.IsSpace. */
static bool is_space(uint32_t r)
{
	return (r >= '\t' && r <= '\r') || r == ' ' || r == 0x85 || r == 0xa0 || r == 0x1680 ||
	       (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f ||
	       r == 0x205f || r == 0x3000;
}

/* [A-Za-z0-9_.\-\[\]] and, beyond ASCII, Go's unicode.IsLetter || unicode.IsNumber. */
static bool is_key_rune(uint32_t r)
{
	if (r >= 0x80)
		return letter_or_number(r);
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
	       r == '_' || r == '.' || r == '-' || r == '[' || r == ']';
}

/* strings.TrimLeftFunc(s, isSpace): the first position at or after at that is not blank. */
static size_t skip_blanks(const struct parser *p, size_t at)
{
	uint32_t r;
	size_t w;

	while (at < p->n && (w = rune_at(p, at, &r)) > 0 && is_blank(r))
		at += w;
	return at;
}

/* The length of s[0, len) without trailing white space, decoding backwards like Go's
 * strings.TrimRightFunc(s, unicode.IsSpace) (an invalid sequence ends the trimming). */
static size_t trim_right(const char *s, size_t len)
{
	while (len > 0) {
		size_t start = len - 1, w;
		uint32_t r;

		while (start > 0 && len - start < 4 && ((unsigned char)s[start] & 0xc0) == 0x80)
			start--;
		w = interp_utf8_decode(s + start, len - start, &r);
		if (start + w != len || !is_space(r))
			break;
		len = start;
	}
	return len;
}

static int parse_error(const struct parser *p, unsigned line, struct px_error *err, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));

static int parse_error(const struct parser *p, unsigned line, struct px_error *err, const char *fmt,
		       ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	px_error_set(err, 0, "%s:%u: %s", p->file, line, msg);
	free(msg);
	return -1;
}

/* getStatementStart: skip white space and comment lines, counting the line breaks; false
 * at the end of the text.  Lines are counted where compose-go counts them, except that
 * errors name the line a statement starts on (see locate_key and read_quoted). */
static bool statement_start(struct parser *p)
{
	for (;;) {
		const char *nl;
		uint32_t r;
		size_t w;

		while (p->pos < p->n) {
			w = rune_at(p, p->pos, &r);
			if (!is_space(r))
				break;
			if (r == '\n')
				p->line++;
			p->pos += w;
		}
		if (p->pos >= p->n)
			return false;
		if (p->s[p->pos] != '#')
			return true;
		nl = memchr(p->s + p->pos, '\n', p->n - p->pos);
		if (nl == NULL)
			return false;
		p->pos = (size_t)(nl - p->s);
	}
}

/* "unexpected character %q in variable name %q": the character, then the statement's
 * first line (compose-go quotes string(rune), so an invalid byte shows as U+FFFD). */
static int unexpected_char(const struct parser *p, size_t src, size_t at, size_t w, uint32_t r,
			   unsigned line, struct px_error *err)
{
	struct px_buf c = PX_BUF_INIT, l = PX_BUF_INIT;
	const char *nl = memchr(p->s + src, '\n', p->n - src);
	size_t end = nl != NULL ? (size_t)(nl - p->s) : p->n;

	if (r == 0xfffd && w == 1)
		interp_quote(&c, "\xef\xbf\xbd", 3, 8);
	else
		interp_quote(&c, p->s + at, w, 8);
	interp_quote(&l, p->s + src, end - src, DOTENV_QUOTE_MAX);
	parse_error(p, line, err, "unexpected character %s in variable name %s", px_buf_cstr(&c),
		    px_buf_cstr(&l));
	px_buf_release(&c);
	px_buf_release(&l);
	return -1;
}

/* locateKeyName: the key of the statement at pos into *key (owned), pos moved to the start
 * of its value; *inherited for a bare "KEY" line. */
static int locate_key(struct parser *p, unsigned line, char **key, bool *inherited,
		      struct px_error *err)
{
	size_t src = p->pos, kend = 0, off = 0, i, w, klen;
	bool found = false;
	uint32_t r;

	*key = NULL;
	*inherited = false;
	/* ^export\s+ where \s is [\t\n\f\r ]: "export" goes, then the blanks after it */
	if (p->n - src > 6 && memcmp(p->s + src, "export", 6) == 0 &&
	    (p->s[src + 6] == ' ' || p->s[src + 6] == '\t' || p->s[src + 6] == '\n' ||
	     p->s[src + 6] == '\f' || p->s[src + 6] == '\r'))
		src = skip_blanks(p, src + 6);
	for (i = src; i < p->n; i += w) {
		w = rune_at(p, i, &r);
		if (is_blank(r))
			continue;
		if (r == '=' || r == ':' || r == '\n') { /* "KEY: value" is accepted too */
			kend = i;
			off = i + 1;
			*inherited = r == '\n';
			found = true;
			break;
		}
		if (!is_key_rune(r))
			return unexpected_char(p, src, i, w, r, line, err);
	}
	if (src == p->n) {
		parse_error(p, line, err, "zero length string");
		return -1;
	}
	if (!found) {
		/* no '=' up to the end of the text: compose-go reads it all as the value of
		 * the empty key */
		kend = src;
		off = src;
	}
	/* the line break ending a bare KEY (compose-go skips this count when the untrimmed
	 * key has a space, which makes its later line numbers one short) */
	if (*inherited)
		p->line++;
	klen = trim_right(p->s + src, kend - src);
	p->pos = skip_blanks(p, off);
	if (memchr(p->s + src, ' ', klen) != NULL) {
		parse_error(p, line, err, "key cannot contain a space");
		return -1;
	}
	*key = xstrndup(p->s + src, klen);
	return 0;
}

/* Interpolate s[0, len) into *value (owned). */
static int expand(struct parser *p, const char *s, size_t len, unsigned line, char **value,
		  struct px_error *err)
{
	char *tmp = xstrndup(s, len);
	int ret = interp_string(tmp, &p->file_env, value, err);

	free(tmp);
	if (ret < 0)
		return px_error_wrap(err, "%s:%u", p->file, line);
	return 0;
}

/* The value of three octal digits at s, or 256 when one is not octal. */
static unsigned octal3(const char *s)
{
	unsigned v = 0;

	for (int k = 0; k < 3; k++) {
		if (s[k] < '0' || s[k] > '7')
			return 256;
		v = v * 8 + (unsigned)(s[k] - '0');
	}
	return v;
}

/* expandEscapes: compose-go rewrites the matches of (\\(?:[abcfnrtv$"\\]|0\d{0,3})) with
 * Go's strconv.UnquoteChar, keeping a match it cannot unquote (\c, \0 without three octal
 * digits, \0400 and above) as written; "\$" becomes "$$" for the interpolation after. */
static void expand_escapes(const char *s, size_t len, struct px_buf *out)
{
	size_t i = 0;

	while (i < len) {
		unsigned v;
		size_t k;
		char c;

		if (s[i] != '\\' || i + 1 >= len) {
			px_buf_addch(out, s[i++]);
			continue;
		}
		c = s[i + 1];
		switch (c) {
		case 'a':
			px_buf_addch(out, '\a');
			break;
		case 'b':
			px_buf_addch(out, '\b');
			break;
		case 'f':
			px_buf_addch(out, '\f');
			break;
		case 'n':
			px_buf_addch(out, '\n');
			break;
		case 'r':
			px_buf_addch(out, '\r');
			break;
		case 't':
			px_buf_addch(out, '\t');
			break;
		case 'v':
			px_buf_addch(out, '\v');
			break;
		case '\\':
			px_buf_addch(out, '\\');
			break;
		case '"':
			px_buf_addch(out, '"');
			break;
		case '$':
			px_buf_adds(out, "$$");
			break;
		case 'c':
			px_buf_adds(out, "\\c");
			break;
		case '0':
			/* "\0" takes up to three digits; three octal ones up to 0377 unquote */
			k = 0;
			while (k < 3 && i + 2 + k < len && s[i + 2 + k] >= '0' &&
			       s[i + 2 + k] <= '9')
				k++;
			v = k == 3 ? octal3(s + i + 2) : 256;
			if (v < 0x80) {
				px_buf_addch(out, (char)v);
			} else if (v <= 0xff) {
				/* Go hands the value back as a rune: UTF-8 encoded */
				px_buf_addch(out, (char)(0xc0 | v >> 6));
				px_buf_addch(out, (char)(0x80 | (v & 0x3f)));
			} else {
				px_buf_add(out, s + i, 2 + k);
			}
			i += 2 + k;
			continue;
		default: /* no match here: the backslash stays, the scan goes on after it */
			px_buf_addch(out, '\\');
			i++;
			continue;
		}
		i += 2;
	}
}

/* A value in quote (' or "), pos at the opening quote. */
static int read_quoted(struct parser *p, unsigned line, char **value, struct px_error *err)
{
	size_t at = p->pos, i;
	char q = p->s[at];
	bool esc = false;

	px_buf_reset(&p->raw);
	for (i = at + 1; i < p->n; i++) {
		char c = p->s[i];

		if (c == '\n')
			p->line++;
		if (c != q) {
			if (!esc && c == '\\') {
				esc = true;
				continue;
			}
			if (esc) { /* any other escaped character keeps its backslash */
				esc = false;
				px_buf_addch(&p->raw, '\\');
			}
			px_buf_addch(&p->raw, c);
			continue;
		}
		if (esc) { /* an escaped quote drops its backslash and does not close */
			esc = false;
			px_buf_addch(&p->raw, c);
			continue;
		}
		p->pos = i + 1;
		if (q == '\'') {
			*value = xstrndup(px_buf_cstr(&p->raw), p->raw.len);
			return 0;
		} else {
			struct px_buf e = PX_BUF_INIT;
			int ret;

			expand_escapes(px_buf_cstr(&p->raw), p->raw.len, &e);
			ret = expand(p, px_buf_cstr(&e), e.len, line, value, err);
			px_buf_release(&e);
			return ret;
		}
	}
	/* compose-go prints the rest of the opening line as it is (%s) */
	{
		const char *nl = memchr(p->s + at, '\n', p->n - at);
		size_t end = nl != NULL ? (size_t)(nl - p->s) : p->n;
		bool cut = end - at > DOTENV_QUOTE_MAX;

		return parse_error(p, line, err, "unterminated quoted value %.*s%s",
				   (int)(cut ? DOTENV_QUOTE_MAX : end - at), p->s + at,
				   cut ? "..." : "");
	}
}

/* extractVarValue: the value at pos into *value (owned), pos moved past it. */
static int read_value(struct parser *p, unsigned line, char **value, struct px_error *err)
{
	size_t at = p->pos, end, k;
	const char *nl;

	if (at < p->n && (p->s[at] == '"' || p->s[at] == '\''))
		return read_quoted(p, line, value, err);
	nl = memchr(p->s + at, '\n', p->n - at);
	end = nl != NULL ? (size_t)(nl - p->s) : p->n;
	p->pos = nl != NULL ? end + 1 : p->n;
	p->line++;
	/* an inline comment needs the space: FOO=123#x keeps its '#' */
	for (k = at; k + 1 < end; k++) {
		if (p->s[k] == ' ' && p->s[k + 1] == '#') {
			end = k;
			break;
		}
	}
	end = at + trim_right(p->s + at, end - at);
	return expand(p, p->s + at, end - at, line, value, err);
}

/* The slot of key in an index (index + 1, 0 empty) of m's entries. */
static size_t *map_slot(size_t *slots, size_t mask, const struct compose_map *m, const char *key)
{
	size_t h = hash_key(key) & mask;

	while (slots[h] != 0 && strcmp(m->v[slots[h] - 1].key, key) != 0)
		h = (h + 1) & mask;
	return &slots[h];
}

/* compose_map_set() for every variable, in one pass: a key out already has gets the new
 * value in place, the others are appended in file order.  (compose_map_set searches and
 * grows out one entry at a time, which is quadratic for a large file.)  The strings move
 * from vars to out. */
static void merge_into(struct compose_map *out, struct dotenv_vars *vs)
{
	size_t nslots = 64, mask, fresh = 0, *slots, *slot;

	while (nslots < 2 * (out->n + vs->n))
		nslots *= 2;
	mask = nslots - 1;
	slots = xcalloc(nslots, sizeof(*slots));
	for (size_t i = 0; i < out->n; i++) {
		slot = map_slot(slots, mask, out, out->v[i].key);
		if (*slot == 0) /* a duplicate in out: compose_map_find sees the first */
			*slot = i + 1;
	}
	for (size_t i = 0; i < vs->n; i++) /* vars' keys are distinct */
		fresh += *map_slot(slots, mask, out, vs->v[i].key) == 0;
	if (fresh > 0)
		out->v = xreallocarray(out->v, out->n + fresh, sizeof(*out->v));
	for (size_t i = 0; i < vs->n; i++) {
		struct dotenv_var *v = &vs->v[i];

		slot = map_slot(slots, mask, out, v->key);
		if (*slot != 0) {
			free(out->v[*slot - 1].value);
			out->v[*slot - 1].value = v->value;
			free(v->key);
		} else {
			out->v[out->n].key = v->key;
			out->v[out->n].value = v->value;
			*slot = ++out->n;
		}
	}
	vs->n = 0; /* every string moved to out */
	free(slots);
}

int dotenv_parse(const char *file, const char *text, size_t len, const struct interp_env *env,
		 struct compose_map *out, struct px_error *err)
{
	struct parser p;
	char *key = NULL, *value = NULL;
	const char *nul;
	int ret = -1;

	memset(&p, 0, sizeof(p));
	p.file = file != NULL ? file : "-";
	p.s = text;
	p.n = len;
	p.line = 1;
	p.env = env;
	p.file_env.lookup = file_lookup;
	p.file_env.data = &p;
	p.file_env.on_unset = file_unset;
	px_buf_init(&p.raw);

	/* editors on Windows like to start files with a BOM */
	if (p.n >= 3 && memcmp(p.s, "\xef\xbb\xbf", 3) == 0) {
		p.s += 3;
		p.n -= 3;
	}
	nul = memchr(p.s, '\0', p.n);
	if (nul != NULL) {
		unsigned line = 1;

		for (const char *c = p.s; c < nul; c++)
			line += *c == '\n';
		return parse_error(&p, line, err, "unexpected NUL byte");
	}

	while (statement_start(&p)) {
		unsigned line = p.line;
		bool inherited;

		if (locate_key(&p, line, &key, &inherited, err) < 0)
			goto out;
		if (inherited) {
			/* a bare KEY takes env's value, or defines nothing */
			const char *v = NULL;

			if (env != NULL && env->lookup != NULL)
				v = env->lookup(env->data, key);
			if (v != NULL)
				vars_set(&p.vars, key, xstrdup(v));
		} else {
			if (read_value(&p, line, &value, err) < 0)
				goto out;
			vars_set(&p.vars, key, value); /* value moves into vars */
			value = NULL;
		}
		free(key);
		key = NULL;
	}
	merge_into(out, &p.vars);
	ret = 0;
out:
	free(key);
	free(value);
	vars_release(&p.vars);
	px_buf_release(&p.raw);
	return ret;
}

int dotenv_load_file(const char *path, const struct interp_env *env, struct compose_map *out,
		     struct px_error *err)
{
	struct px_buf b = PX_BUF_INIT;
	int fd, ret = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return px_error_set(err, errno, "cannot open env file '%s'", path);
	for (;;) {
		px_buf_grow(&b, 65536);
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			px_error_set(err, errno, "cannot read env file '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
		if (b.len > DOTENV_MAX_FILE) {
			px_error_set(err, EFBIG, "cannot read env file '%s'", path);
			goto out;
		}
	}
	ret = dotenv_parse(path, px_buf_cstr(&b), b.len, env, out, err);
out:
	close(fd);
	px_buf_release(&b);
	return ret;
}

/* Unicode categories L and N beyond ASCII (Go's unicode.IsLetter || unicode.IsNumber),
 * generated from Python's unicodedata (Unicode 14.0): code point ranges, inclusive. */
static const uint32_t letter_number_ranges[][2] = {
    {0xaa, 0xaa},       {0xb2, 0xb3},       {0xb5, 0xb5},       {0xb9, 0xba},
    {0xbc, 0xbe},       {0xc0, 0xd6},       {0xd8, 0xf6},       {0xf8, 0x2c1},
    {0x2c6, 0x2d1},     {0x2e0, 0x2e4},     {0x2ec, 0x2ec},     {0x2ee, 0x2ee},
    {0x370, 0x374},     {0x376, 0x377},     {0x37a, 0x37d},     {0x37f, 0x37f},
    {0x386, 0x386},     {0x388, 0x38a},     {0x38c, 0x38c},     {0x38e, 0x3a1},
    {0x3a3, 0x3f5},     {0x3f7, 0x481},     {0x48a, 0x52f},     {0x531, 0x556},
    {0x559, 0x559},     {0x560, 0x588},     {0x5d0, 0x5ea},     {0x5ef, 0x5f2},
    {0x620, 0x64a},     {0x660, 0x669},     {0x66e, 0x66f},     {0x671, 0x6d3},
    {0x6d5, 0x6d5},     {0x6e5, 0x6e6},     {0x6ee, 0x6fc},     {0x6ff, 0x6ff},
    {0x710, 0x710},     {0x712, 0x72f},     {0x74d, 0x7a5},     {0x7b1, 0x7b1},
    {0x7c0, 0x7ea},     {0x7f4, 0x7f5},     {0x7fa, 0x7fa},     {0x800, 0x815},
    {0x81a, 0x81a},     {0x824, 0x824},     {0x828, 0x828},     {0x840, 0x858},
    {0x860, 0x86a},     {0x870, 0x887},     {0x889, 0x88e},     {0x8a0, 0x8c9},
    {0x904, 0x939},     {0x93d, 0x93d},     {0x950, 0x950},     {0x958, 0x961},
    {0x966, 0x96f},     {0x971, 0x980},     {0x985, 0x98c},     {0x98f, 0x990},
    {0x993, 0x9a8},     {0x9aa, 0x9b0},     {0x9b2, 0x9b2},     {0x9b6, 0x9b9},
    {0x9bd, 0x9bd},     {0x9ce, 0x9ce},     {0x9dc, 0x9dd},     {0x9df, 0x9e1},
    {0x9e6, 0x9f1},     {0x9f4, 0x9f9},     {0x9fc, 0x9fc},     {0xa05, 0xa0a},
    {0xa0f, 0xa10},     {0xa13, 0xa28},     {0xa2a, 0xa30},     {0xa32, 0xa33},
    {0xa35, 0xa36},     {0xa38, 0xa39},     {0xa59, 0xa5c},     {0xa5e, 0xa5e},
    {0xa66, 0xa6f},     {0xa72, 0xa74},     {0xa85, 0xa8d},     {0xa8f, 0xa91},
    {0xa93, 0xaa8},     {0xaaa, 0xab0},     {0xab2, 0xab3},     {0xab5, 0xab9},
    {0xabd, 0xabd},     {0xad0, 0xad0},     {0xae0, 0xae1},     {0xae6, 0xaef},
    {0xaf9, 0xaf9},     {0xb05, 0xb0c},     {0xb0f, 0xb10},     {0xb13, 0xb28},
    {0xb2a, 0xb30},     {0xb32, 0xb33},     {0xb35, 0xb39},     {0xb3d, 0xb3d},
    {0xb5c, 0xb5d},     {0xb5f, 0xb61},     {0xb66, 0xb6f},     {0xb71, 0xb77},
    {0xb83, 0xb83},     {0xb85, 0xb8a},     {0xb8e, 0xb90},     {0xb92, 0xb95},
    {0xb99, 0xb9a},     {0xb9c, 0xb9c},     {0xb9e, 0xb9f},     {0xba3, 0xba4},
    {0xba8, 0xbaa},     {0xbae, 0xbb9},     {0xbd0, 0xbd0},     {0xbe6, 0xbf2},
    {0xc05, 0xc0c},     {0xc0e, 0xc10},     {0xc12, 0xc28},     {0xc2a, 0xc39},
    {0xc3d, 0xc3d},     {0xc58, 0xc5a},     {0xc5d, 0xc5d},     {0xc60, 0xc61},
    {0xc66, 0xc6f},     {0xc78, 0xc7e},     {0xc80, 0xc80},     {0xc85, 0xc8c},
    {0xc8e, 0xc90},     {0xc92, 0xca8},     {0xcaa, 0xcb3},     {0xcb5, 0xcb9},
    {0xcbd, 0xcbd},     {0xcdd, 0xcde},     {0xce0, 0xce1},     {0xce6, 0xcef},
    {0xcf1, 0xcf2},     {0xd04, 0xd0c},     {0xd0e, 0xd10},     {0xd12, 0xd3a},
    {0xd3d, 0xd3d},     {0xd4e, 0xd4e},     {0xd54, 0xd56},     {0xd58, 0xd61},
    {0xd66, 0xd78},     {0xd7a, 0xd7f},     {0xd85, 0xd96},     {0xd9a, 0xdb1},
    {0xdb3, 0xdbb},     {0xdbd, 0xdbd},     {0xdc0, 0xdc6},     {0xde6, 0xdef},
    {0xe01, 0xe30},     {0xe32, 0xe33},     {0xe40, 0xe46},     {0xe50, 0xe59},
    {0xe81, 0xe82},     {0xe84, 0xe84},     {0xe86, 0xe8a},     {0xe8c, 0xea3},
    {0xea5, 0xea5},     {0xea7, 0xeb0},     {0xeb2, 0xeb3},     {0xebd, 0xebd},
    {0xec0, 0xec4},     {0xec6, 0xec6},     {0xed0, 0xed9},     {0xedc, 0xedf},
    {0xf00, 0xf00},     {0xf20, 0xf33},     {0xf40, 0xf47},     {0xf49, 0xf6c},
    {0xf88, 0xf8c},     {0x1000, 0x102a},   {0x103f, 0x1049},   {0x1050, 0x1055},
    {0x105a, 0x105d},   {0x1061, 0x1061},   {0x1065, 0x1066},   {0x106e, 0x1070},
    {0x1075, 0x1081},   {0x108e, 0x108e},   {0x1090, 0x1099},   {0x10a0, 0x10c5},
    {0x10c7, 0x10c7},   {0x10cd, 0x10cd},   {0x10d0, 0x10fa},   {0x10fc, 0x1248},
    {0x124a, 0x124d},   {0x1250, 0x1256},   {0x1258, 0x1258},   {0x125a, 0x125d},
    {0x1260, 0x1288},   {0x128a, 0x128d},   {0x1290, 0x12b0},   {0x12b2, 0x12b5},
    {0x12b8, 0x12be},   {0x12c0, 0x12c0},   {0x12c2, 0x12c5},   {0x12c8, 0x12d6},
    {0x12d8, 0x1310},   {0x1312, 0x1315},   {0x1318, 0x135a},   {0x1369, 0x137c},
    {0x1380, 0x138f},   {0x13a0, 0x13f5},   {0x13f8, 0x13fd},   {0x1401, 0x166c},
    {0x166f, 0x167f},   {0x1681, 0x169a},   {0x16a0, 0x16ea},   {0x16ee, 0x16f8},
    {0x1700, 0x1711},   {0x171f, 0x1731},   {0x1740, 0x1751},   {0x1760, 0x176c},
    {0x176e, 0x1770},   {0x1780, 0x17b3},   {0x17d7, 0x17d7},   {0x17dc, 0x17dc},
    {0x17e0, 0x17e9},   {0x17f0, 0x17f9},   {0x1810, 0x1819},   {0x1820, 0x1878},
    {0x1880, 0x1884},   {0x1887, 0x18a8},   {0x18aa, 0x18aa},   {0x18b0, 0x18f5},
    {0x1900, 0x191e},   {0x1946, 0x196d},   {0x1970, 0x1974},   {0x1980, 0x19ab},
    {0x19b0, 0x19c9},   {0x19d0, 0x19da},   {0x1a00, 0x1a16},   {0x1a20, 0x1a54},
    {0x1a80, 0x1a89},   {0x1a90, 0x1a99},   {0x1aa7, 0x1aa7},   {0x1b05, 0x1b33},
    {0x1b45, 0x1b4c},   {0x1b50, 0x1b59},   {0x1b83, 0x1ba0},   {0x1bae, 0x1be5},
    {0x1c00, 0x1c23},   {0x1c40, 0x1c49},   {0x1c4d, 0x1c7d},   {0x1c80, 0x1c88},
    {0x1c90, 0x1cba},   {0x1cbd, 0x1cbf},   {0x1ce9, 0x1cec},   {0x1cee, 0x1cf3},
    {0x1cf5, 0x1cf6},   {0x1cfa, 0x1cfa},   {0x1d00, 0x1dbf},   {0x1e00, 0x1f15},
    {0x1f18, 0x1f1d},   {0x1f20, 0x1f45},   {0x1f48, 0x1f4d},   {0x1f50, 0x1f57},
    {0x1f59, 0x1f59},   {0x1f5b, 0x1f5b},   {0x1f5d, 0x1f5d},   {0x1f5f, 0x1f7d},
    {0x1f80, 0x1fb4},   {0x1fb6, 0x1fbc},   {0x1fbe, 0x1fbe},   {0x1fc2, 0x1fc4},
    {0x1fc6, 0x1fcc},   {0x1fd0, 0x1fd3},   {0x1fd6, 0x1fdb},   {0x1fe0, 0x1fec},
    {0x1ff2, 0x1ff4},   {0x1ff6, 0x1ffc},   {0x2070, 0x2071},   {0x2074, 0x2079},
    {0x207f, 0x2089},   {0x2090, 0x209c},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210a, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211d},   {0x2124, 0x2124},
    {0x2126, 0x2126},   {0x2128, 0x2128},   {0x212a, 0x212d},   {0x212f, 0x2139},
    {0x213c, 0x213f},   {0x2145, 0x2149},   {0x214e, 0x214e},   {0x2150, 0x2189},
    {0x2460, 0x249b},   {0x24ea, 0x24ff},   {0x2776, 0x2793},   {0x2c00, 0x2ce4},
    {0x2ceb, 0x2cee},   {0x2cf2, 0x2cf3},   {0x2cfd, 0x2cfd},   {0x2d00, 0x2d25},
    {0x2d27, 0x2d27},   {0x2d2d, 0x2d2d},   {0x2d30, 0x2d67},   {0x2d6f, 0x2d6f},
    {0x2d80, 0x2d96},   {0x2da0, 0x2da6},   {0x2da8, 0x2dae},   {0x2db0, 0x2db6},
    {0x2db8, 0x2dbe},   {0x2dc0, 0x2dc6},   {0x2dc8, 0x2dce},   {0x2dd0, 0x2dd6},
    {0x2dd8, 0x2dde},   {0x2e2f, 0x2e2f},   {0x3005, 0x3007},   {0x3021, 0x3029},
    {0x3031, 0x3035},   {0x3038, 0x303c},   {0x3041, 0x3096},   {0x309d, 0x309f},
    {0x30a1, 0x30fa},   {0x30fc, 0x30ff},   {0x3105, 0x312f},   {0x3131, 0x318e},
    {0x3192, 0x3195},   {0x31a0, 0x31bf},   {0x31f0, 0x31ff},   {0x3220, 0x3229},
    {0x3248, 0x324f},   {0x3251, 0x325f},   {0x3280, 0x3289},   {0x32b1, 0x32bf},
    {0x3400, 0x4dbf},   {0x4e00, 0xa48c},   {0xa4d0, 0xa4fd},   {0xa500, 0xa60c},
    {0xa610, 0xa62b},   {0xa640, 0xa66e},   {0xa67f, 0xa69d},   {0xa6a0, 0xa6ef},
    {0xa717, 0xa71f},   {0xa722, 0xa788},   {0xa78b, 0xa7ca},   {0xa7d0, 0xa7d1},
    {0xa7d3, 0xa7d3},   {0xa7d5, 0xa7d9},   {0xa7f2, 0xa801},   {0xa803, 0xa805},
    {0xa807, 0xa80a},   {0xa80c, 0xa822},   {0xa830, 0xa835},   {0xa840, 0xa873},
    {0xa882, 0xa8b3},   {0xa8d0, 0xa8d9},   {0xa8f2, 0xa8f7},   {0xa8fb, 0xa8fb},
    {0xa8fd, 0xa8fe},   {0xa900, 0xa925},   {0xa930, 0xa946},   {0xa960, 0xa97c},
    {0xa984, 0xa9b2},   {0xa9cf, 0xa9d9},   {0xa9e0, 0xa9e4},   {0xa9e6, 0xa9fe},
    {0xaa00, 0xaa28},   {0xaa40, 0xaa42},   {0xaa44, 0xaa4b},   {0xaa50, 0xaa59},
    {0xaa60, 0xaa76},   {0xaa7a, 0xaa7a},   {0xaa7e, 0xaaaf},   {0xaab1, 0xaab1},
    {0xaab5, 0xaab6},   {0xaab9, 0xaabd},   {0xaac0, 0xaac0},   {0xaac2, 0xaac2},
    {0xaadb, 0xaadd},   {0xaae0, 0xaaea},   {0xaaf2, 0xaaf4},   {0xab01, 0xab06},
    {0xab09, 0xab0e},   {0xab11, 0xab16},   {0xab20, 0xab26},   {0xab28, 0xab2e},
    {0xab30, 0xab5a},   {0xab5c, 0xab69},   {0xab70, 0xabe2},   {0xabf0, 0xabf9},
    {0xac00, 0xd7a3},   {0xd7b0, 0xd7c6},   {0xd7cb, 0xd7fb},   {0xf900, 0xfa6d},
    {0xfa70, 0xfad9},   {0xfb00, 0xfb06},   {0xfb13, 0xfb17},   {0xfb1d, 0xfb1d},
    {0xfb1f, 0xfb28},   {0xfb2a, 0xfb36},   {0xfb38, 0xfb3c},   {0xfb3e, 0xfb3e},
    {0xfb40, 0xfb41},   {0xfb43, 0xfb44},   {0xfb46, 0xfbb1},   {0xfbd3, 0xfd3d},
    {0xfd50, 0xfd8f},   {0xfd92, 0xfdc7},   {0xfdf0, 0xfdfb},   {0xfe70, 0xfe74},
    {0xfe76, 0xfefc},   {0xff10, 0xff19},   {0xff21, 0xff3a},   {0xff41, 0xff5a},
    {0xff66, 0xffbe},   {0xffc2, 0xffc7},   {0xffca, 0xffcf},   {0xffd2, 0xffd7},
    {0xffda, 0xffdc},   {0x10000, 0x1000b}, {0x1000d, 0x10026}, {0x10028, 0x1003a},
    {0x1003c, 0x1003d}, {0x1003f, 0x1004d}, {0x10050, 0x1005d}, {0x10080, 0x100fa},
    {0x10107, 0x10133}, {0x10140, 0x10178}, {0x1018a, 0x1018b}, {0x10280, 0x1029c},
    {0x102a0, 0x102d0}, {0x102e1, 0x102fb}, {0x10300, 0x10323}, {0x1032d, 0x1034a},
    {0x10350, 0x10375}, {0x10380, 0x1039d}, {0x103a0, 0x103c3}, {0x103c8, 0x103cf},
    {0x103d1, 0x103d5}, {0x10400, 0x1049d}, {0x104a0, 0x104a9}, {0x104b0, 0x104d3},
    {0x104d8, 0x104fb}, {0x10500, 0x10527}, {0x10530, 0x10563}, {0x10570, 0x1057a},
    {0x1057c, 0x1058a}, {0x1058c, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105a1},
    {0x105a3, 0x105b1}, {0x105b3, 0x105b9}, {0x105bb, 0x105bc}, {0x10600, 0x10736},
    {0x10740, 0x10755}, {0x10760, 0x10767}, {0x10780, 0x10785}, {0x10787, 0x107b0},
    {0x107b2, 0x107ba}, {0x10800, 0x10805}, {0x10808, 0x10808}, {0x1080a, 0x10835},
    {0x10837, 0x10838}, {0x1083c, 0x1083c}, {0x1083f, 0x10855}, {0x10858, 0x10876},
    {0x10879, 0x1089e}, {0x108a7, 0x108af}, {0x108e0, 0x108f2}, {0x108f4, 0x108f5},
    {0x108fb, 0x1091b}, {0x10920, 0x10939}, {0x10980, 0x109b7}, {0x109bc, 0x109cf},
    {0x109d2, 0x10a00}, {0x10a10, 0x10a13}, {0x10a15, 0x10a17}, {0x10a19, 0x10a35},
    {0x10a40, 0x10a48}, {0x10a60, 0x10a7e}, {0x10a80, 0x10a9f}, {0x10ac0, 0x10ac7},
    {0x10ac9, 0x10ae4}, {0x10aeb, 0x10aef}, {0x10b00, 0x10b35}, {0x10b40, 0x10b55},
    {0x10b58, 0x10b72}, {0x10b78, 0x10b91}, {0x10ba9, 0x10baf}, {0x10c00, 0x10c48},
    {0x10c80, 0x10cb2}, {0x10cc0, 0x10cf2}, {0x10cfa, 0x10d23}, {0x10d30, 0x10d39},
    {0x10e60, 0x10e7e}, {0x10e80, 0x10ea9}, {0x10eb0, 0x10eb1}, {0x10f00, 0x10f27},
    {0x10f30, 0x10f45}, {0x10f51, 0x10f54}, {0x10f70, 0x10f81}, {0x10fb0, 0x10fcb},
    {0x10fe0, 0x10ff6}, {0x11003, 0x11037}, {0x11052, 0x1106f}, {0x11071, 0x11072},
    {0x11075, 0x11075}, {0x11083, 0x110af}, {0x110d0, 0x110e8}, {0x110f0, 0x110f9},
    {0x11103, 0x11126}, {0x11136, 0x1113f}, {0x11144, 0x11144}, {0x11147, 0x11147},
    {0x11150, 0x11172}, {0x11176, 0x11176}, {0x11183, 0x111b2}, {0x111c1, 0x111c4},
    {0x111d0, 0x111da}, {0x111dc, 0x111dc}, {0x111e1, 0x111f4}, {0x11200, 0x11211},
    {0x11213, 0x1122b}, {0x11280, 0x11286}, {0x11288, 0x11288}, {0x1128a, 0x1128d},
    {0x1128f, 0x1129d}, {0x1129f, 0x112a8}, {0x112b0, 0x112de}, {0x112f0, 0x112f9},
    {0x11305, 0x1130c}, {0x1130f, 0x11310}, {0x11313, 0x11328}, {0x1132a, 0x11330},
    {0x11332, 0x11333}, {0x11335, 0x11339}, {0x1133d, 0x1133d}, {0x11350, 0x11350},
    {0x1135d, 0x11361}, {0x11400, 0x11434}, {0x11447, 0x1144a}, {0x11450, 0x11459},
    {0x1145f, 0x11461}, {0x11480, 0x114af}, {0x114c4, 0x114c5}, {0x114c7, 0x114c7},
    {0x114d0, 0x114d9}, {0x11580, 0x115ae}, {0x115d8, 0x115db}, {0x11600, 0x1162f},
    {0x11644, 0x11644}, {0x11650, 0x11659}, {0x11680, 0x116aa}, {0x116b8, 0x116b8},
    {0x116c0, 0x116c9}, {0x11700, 0x1171a}, {0x11730, 0x1173b}, {0x11740, 0x11746},
    {0x11800, 0x1182b}, {0x118a0, 0x118f2}, {0x118ff, 0x11906}, {0x11909, 0x11909},
    {0x1190c, 0x11913}, {0x11915, 0x11916}, {0x11918, 0x1192f}, {0x1193f, 0x1193f},
    {0x11941, 0x11941}, {0x11950, 0x11959}, {0x119a0, 0x119a7}, {0x119aa, 0x119d0},
    {0x119e1, 0x119e1}, {0x119e3, 0x119e3}, {0x11a00, 0x11a00}, {0x11a0b, 0x11a32},
    {0x11a3a, 0x11a3a}, {0x11a50, 0x11a50}, {0x11a5c, 0x11a89}, {0x11a9d, 0x11a9d},
    {0x11ab0, 0x11af8}, {0x11c00, 0x11c08}, {0x11c0a, 0x11c2e}, {0x11c40, 0x11c40},
    {0x11c50, 0x11c6c}, {0x11c72, 0x11c8f}, {0x11d00, 0x11d06}, {0x11d08, 0x11d09},
    {0x11d0b, 0x11d30}, {0x11d46, 0x11d46}, {0x11d50, 0x11d59}, {0x11d60, 0x11d65},
    {0x11d67, 0x11d68}, {0x11d6a, 0x11d89}, {0x11d98, 0x11d98}, {0x11da0, 0x11da9},
    {0x11ee0, 0x11ef2}, {0x11fb0, 0x11fb0}, {0x11fc0, 0x11fd4}, {0x12000, 0x12399},
    {0x12400, 0x1246e}, {0x12480, 0x12543}, {0x12f90, 0x12ff0}, {0x13000, 0x1342e},
    {0x14400, 0x14646}, {0x16800, 0x16a38}, {0x16a40, 0x16a5e}, {0x16a60, 0x16a69},
    {0x16a70, 0x16abe}, {0x16ac0, 0x16ac9}, {0x16ad0, 0x16aed}, {0x16b00, 0x16b2f},
    {0x16b40, 0x16b43}, {0x16b50, 0x16b59}, {0x16b5b, 0x16b61}, {0x16b63, 0x16b77},
    {0x16b7d, 0x16b8f}, {0x16e40, 0x16e96}, {0x16f00, 0x16f4a}, {0x16f50, 0x16f50},
    {0x16f93, 0x16f9f}, {0x16fe0, 0x16fe1}, {0x16fe3, 0x16fe3}, {0x17000, 0x187f7},
    {0x18800, 0x18cd5}, {0x18d00, 0x18d08}, {0x1aff0, 0x1aff3}, {0x1aff5, 0x1affb},
    {0x1affd, 0x1affe}, {0x1b000, 0x1b122}, {0x1b150, 0x1b152}, {0x1b164, 0x1b167},
    {0x1b170, 0x1b2fb}, {0x1bc00, 0x1bc6a}, {0x1bc70, 0x1bc7c}, {0x1bc80, 0x1bc88},
    {0x1bc90, 0x1bc99}, {0x1d2e0, 0x1d2f3}, {0x1d360, 0x1d378}, {0x1d400, 0x1d454},
    {0x1d456, 0x1d49c}, {0x1d49e, 0x1d49f}, {0x1d4a2, 0x1d4a2}, {0x1d4a5, 0x1d4a6},
    {0x1d4a9, 0x1d4ac}, {0x1d4ae, 0x1d4b9}, {0x1d4bb, 0x1d4bb}, {0x1d4bd, 0x1d4c3},
    {0x1d4c5, 0x1d505}, {0x1d507, 0x1d50a}, {0x1d50d, 0x1d514}, {0x1d516, 0x1d51c},
    {0x1d51e, 0x1d539}, {0x1d53b, 0x1d53e}, {0x1d540, 0x1d544}, {0x1d546, 0x1d546},
    {0x1d54a, 0x1d550}, {0x1d552, 0x1d6a5}, {0x1d6a8, 0x1d6c0}, {0x1d6c2, 0x1d6da},
    {0x1d6dc, 0x1d6fa}, {0x1d6fc, 0x1d714}, {0x1d716, 0x1d734}, {0x1d736, 0x1d74e},
    {0x1d750, 0x1d76e}, {0x1d770, 0x1d788}, {0x1d78a, 0x1d7a8}, {0x1d7aa, 0x1d7c2},
    {0x1d7c4, 0x1d7cb}, {0x1d7ce, 0x1d7ff}, {0x1df00, 0x1df1e}, {0x1e100, 0x1e12c},
    {0x1e137, 0x1e13d}, {0x1e140, 0x1e149}, {0x1e14e, 0x1e14e}, {0x1e290, 0x1e2ad},
    {0x1e2c0, 0x1e2eb}, {0x1e2f0, 0x1e2f9}, {0x1e7e0, 0x1e7e6}, {0x1e7e8, 0x1e7eb},
    {0x1e7ed, 0x1e7ee}, {0x1e7f0, 0x1e7fe}, {0x1e800, 0x1e8c4}, {0x1e8c7, 0x1e8cf},
    {0x1e900, 0x1e943}, {0x1e94b, 0x1e94b}, {0x1e950, 0x1e959}, {0x1ec71, 0x1ecab},
    {0x1ecad, 0x1ecaf}, {0x1ecb1, 0x1ecb4}, {0x1ed01, 0x1ed2d}, {0x1ed2f, 0x1ed3d},
    {0x1ee00, 0x1ee03}, {0x1ee05, 0x1ee1f}, {0x1ee21, 0x1ee22}, {0x1ee24, 0x1ee24},
    {0x1ee27, 0x1ee27}, {0x1ee29, 0x1ee32}, {0x1ee34, 0x1ee37}, {0x1ee39, 0x1ee39},
    {0x1ee3b, 0x1ee3b}, {0x1ee42, 0x1ee42}, {0x1ee47, 0x1ee47}, {0x1ee49, 0x1ee49},
    {0x1ee4b, 0x1ee4b}, {0x1ee4d, 0x1ee4f}, {0x1ee51, 0x1ee52}, {0x1ee54, 0x1ee54},
    {0x1ee57, 0x1ee57}, {0x1ee59, 0x1ee59}, {0x1ee5b, 0x1ee5b}, {0x1ee5d, 0x1ee5d},
    {0x1ee5f, 0x1ee5f}, {0x1ee61, 0x1ee62}, {0x1ee64, 0x1ee64}, {0x1ee67, 0x1ee6a},
    {0x1ee6c, 0x1ee72}, {0x1ee74, 0x1ee77}, {0x1ee79, 0x1ee7c}, {0x1ee7e, 0x1ee7e},
    {0x1ee80, 0x1ee89}, {0x1ee8b, 0x1ee9b}, {0x1eea1, 0x1eea3}, {0x1eea5, 0x1eea9},
    {0x1eeab, 0x1eebb}, {0x1f100, 0x1f10c}, {0x1fbf0, 0x1fbf9}, {0x20000, 0x2a6df},
    {0x2a700, 0x2b738}, {0x2b740, 0x2b81d}, {0x2b820, 0x2cea1}, {0x2ceb0, 0x2ebe0},
    {0x2f800, 0x2fa1d}, {0x30000, 0x3134a},
};

static bool letter_or_number(uint32_t r)
{
	size_t lo = 0, hi = sizeof(letter_number_ranges) / sizeof(letter_number_ranges[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r < letter_number_ranges[mid][0])
			hi = mid;
		else if (r > letter_number_ranges[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}
