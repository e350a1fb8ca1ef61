/* dockerignore.c - .dockerignore patterns read and matched like the docker CLI, a port of
 * github.com/moby/patternmatcher: the pattern is checked with Go's filepath.Match grammar,
 * then matched as the regular expression moby compiles it to, by a small matcher here. */
#include "engine/dockerignore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/path.h"
#include "base/xmalloc.h"

/*
 * moby turns a pattern into a regular expression: '*' is [^/]*, '?' is [^/], two stars
 * then a slash is (.*<slash>)?, two stars at the end .*, "\x" the literal x, [...] a
 * character class.  These are the tokens of that expression.
 */
enum tok_kind {
	T_LIT,         /* bytes compared as they are */
	T_STAR,        /* [^/]* */
	T_ONE,         /* [^/]: one character */
	T_DSTAR_SLASH, /* (.*<slash>)? */
	T_DSTAR,       /* .* */
	T_CLASS,       /* [...] or [^...]: one character */
};

struct range {
	uint32_t lo, hi;
};

struct tok {
	enum tok_kind kind;
	char *lit; /* T_LIT */
	size_t len;
	bool neg; /* T_CLASS */
	struct range *ranges;
	size_t nranges;
};

struct pattern {
	char *cleaned; /* without the '!' */
	bool exclusion;
	enum engine_ignore_type type;
	struct tok *toks;
	size_t ntoks;
};

struct engine_ignore {
	struct pattern *p;
	size_t n;
	bool exclusions;
};

/*
 * UTF-8, decoded like Go's utf8.DecodeRune: an invalid sequence is U+FFFD of one byte.
 */
#define RUNE_ERROR 0xFFFDu

static size_t decode_rune(const unsigned char *s, size_t len, uint32_t *r)
{
	uint32_t c, min;
	size_t n;

	if (len == 0) {
		*r = RUNE_ERROR;
		return 0;
	}
	c = s[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, c &= 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, c &= 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		*r = RUNE_ERROR;
		return 1;
	}
	if (len < n) {
		*r = RUNE_ERROR;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*r = RUNE_ERROR;
			return 1;
		}
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
		*r = RUNE_ERROR;
		return 1;
	}
	*r = c;
	return n;
}

/*
 * Reading a .dockerignore (ignorefile.ReadAll)
 */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Go's strings.TrimSpace, ASCII whitespace only. */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s))
		(*s)++, (*len)--;
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

char **engine_ignore_parse(const char *text, size_t len)
{
	const char *end = text + len, *line = text;
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	bool first = true;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *next = nl != NULL ? nl + 1 : end;
		size_t l = (size_t)((nl != NULL ? nl : end) - line);
		const char *p = line;
		struct px_buf b = PX_BUF_INIT;
		bool invert;
		char *raw, *clean;

		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (first && l >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3, l -= 3;
		first = false;
		line = next;
		/* a comment only when '#' is the very first character, before trimming */
		if (l > 0 && p[0] == '#')
			continue;
		trim(&p, &l);
		if (l == 0)
			continue;
		invert = p[0] == '!';
		if (invert) {
			p++, l--;
			trim(&p, &l);
		}
		if (l > 0) {
			raw = xstrndup(p, l);
			clean = px_path_clean(raw);
			free(raw);
			/* "/foo" means foo at the top of the context */
			px_buf_adds(&b, invert ? "!" : "");
			px_buf_adds(&b, clean[0] == '/' && clean[1] != '\0' ? clean + 1 : clean);
			free(clean);
		} else {
			px_buf_adds(&b, "!"); /* "!" alone: engine_ignore_new refuses it */
		}
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = px_buf_detach(&b, NULL);
		v[n] = NULL;
	}
	return v;
}

void engine_ignore_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Checking a pattern: Go's filepath.Match grammar, which moby applies first
 */

/* One character of a class (getEsc): not '-' or ']' unescaped, valid UTF-8, and the class
 * goes on after it. */
static const char *class_char(const char *p, uint32_t *r, const char **why)
{
	size_t n;

	if (*p == '\0' || *p == '-' || *p == ']') {
		*why = *p == '\0' ? "unterminated '['" : "'-' or ']' must be escaped in '[...]'";
		return NULL;
	}
	if (*p == '\\') {
		p++;
		if (*p == '\0') {
			*why = "unterminated '['";
			return NULL;
		}
	}
	n = decode_rune((const unsigned char *)p, strlen(p), r);
	if (*r == RUNE_ERROR && n == 1) {
		*why = "invalid UTF-8 in '[...]'";
		return NULL;
	}
	p += n;
	if (*p == '\0') {
		*why = "unterminated '['";
		return NULL;
	}
	return p;
}

/* Parse the class after '[' into t (t may be NULL to check only); returns the text after
 * its ']', or NULL with why. */
static const char *parse_class(const char *p, struct tok *t, const char **why)
{
	bool neg = false;
	size_t nrange = 0;
	uint32_t lo, hi;

	if (*p == '^') {
		neg = true;
		p++;
	}
	for (;;) {
		if (*p == ']' && nrange > 0)
			return p + 1;
		if ((p = class_char(p, &lo, why)) == NULL)
			return NULL;
		hi = lo;
		if (*p == '-' && (p = class_char(p + 1, &hi, why)) == NULL)
			return NULL;
		/* Go's regexp refuses a backwards range when it compiles the class */
		if (lo > hi) {
			*why = "character range out of order";
			return NULL;
		}
		if (t != NULL) {
			t->ranges = xreallocarray(t->ranges, nrange + 1, sizeof(*t->ranges));
			t->ranges[nrange] = (struct range){lo, hi};
			t->nranges = nrange + 1;
			t->neg = neg;
		}
		nrange++;
	}
}

static int check_pattern(const char *p, const char **why)
{
	while (*p != '\0') {
		if (*p == '\\') {
			if (p[1] == '\0') {
				*why = "trailing '\\'";
				return -1;
			}
			p += 2;
		} else if (*p == '[') {
			if ((p = parse_class(p + 1, NULL, why)) == NULL)
				return -1;
		} else {
			p++;
		}
	}
	return 0;
}

/*
 * Compiling (Pattern.compile)
 */

static struct tok *add_tok(struct pattern *pt, enum tok_kind kind)
{
	struct tok *t;

	pt->toks = xreallocarray(pt->toks, pt->ntoks + 1, sizeof(*pt->toks));
	t = &pt->toks[pt->ntoks++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	return t;
}

static void add_lit(struct pattern *pt, const char *s, size_t n)
{
	struct tok *t;

	/* runs of literal bytes share one token */
	if (pt->ntoks > 0 && pt->toks[pt->ntoks - 1].kind == T_LIT) {
		t = &pt->toks[pt->ntoks - 1];
		t->lit = xreallocarray(t->lit, t->len + n + 1, 1);
	} else {
		t = add_tok(pt, T_LIT);
		t->lit = xmalloc(n + 1);
	}
	memcpy(t->lit + t->len, s, n);
	t->len += n;
	t->lit[t->len] = '\0';
}

/* Follows moby's compile() step by step, since the match type it settles on changes what
 * matches: "**file" is a suffix test, so it matches "xfile" too. */
static int compile(struct pattern *pt, const char **why)
{
	enum engine_ignore_type type = ENGINE_IGNORE_EXACT;
	const char *p = pt->cleaned;
	uint32_t r;

	for (int i = 0; *p != '\0'; i++) {
		char ch = *p++;

		if (ch == '*' && *p == '*') {
			p++;
			/* a slash after the two stars is part of them */
			if (*p == '/')
				p++;
			if (*p == '\0') {
				/* at the end: everything, like .gitignore */
				if (type == ENGINE_IGNORE_EXACT) {
					type = ENGINE_IGNORE_PREFIX;
				} else {
					add_tok(pt, T_DSTAR);
					type = ENGINE_IGNORE_GLOB;
				}
			} else {
				add_tok(pt, T_DSTAR_SLASH);
				type = ENGINE_IGNORE_GLOB;
			}
			if (i == 0)
				type = ENGINE_IGNORE_SUFFIX;
		} else if (ch == '*') {
			add_tok(pt, T_STAR);
			type = ENGINE_IGNORE_GLOB;
		} else if (ch == '?') {
			add_tok(pt, T_ONE);
			type = ENGINE_IGNORE_GLOB;
		} else if (ch == '\\') {
			if (*p != '\0') {
				size_t n = decode_rune((const unsigned char *)p, strlen(p), &r);

				add_lit(pt, p, n);
				p += n;
				type = ENGINE_IGNORE_GLOB;
			} else {
				add_lit(pt, "\\", 1);
			}
		} else if (ch == '[') {
			/* moby hands the class to the regexp engine as it is; inside it '*' and
			 * '?' are plain characters here, as in filepath.Match (moby would turn
			 * them into nested classes, a corner nobody relies on) */
			if ((p = parse_class(p, add_tok(pt, T_CLASS), why)) == NULL)
				return -1;
			type = ENGINE_IGNORE_GLOB;
		} else if (ch == ']') {
			add_lit(pt, "]", 1);
			type = ENGINE_IGNORE_GLOB;
		} else {
			add_lit(pt, &ch, 1);
		}
	}
	pt->type = type;
	return 0;
}

static void pattern_release(struct pattern *pt)
{
	for (size_t i = 0; i < pt->ntoks; i++) {
		free(pt->toks[i].lit);
		free(pt->toks[i].ranges);
	}
	free(pt->toks);
	free(pt->cleaned);
}

void engine_ignore_free(struct engine_ignore *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		pattern_release(&m->p[i]);
	free(m->p);
	free(m);
}

int engine_ignore_new(struct engine_ignore **out, const char *const *patterns, struct px_error *err)
{
	struct engine_ignore *m = xcalloc(1, sizeof(*m));
	const char *why = NULL;
	int ret = -1;

	for (size_t i = 0; patterns != NULL && patterns[i] != NULL; i++) {
		const char *s = patterns[i];
		size_t len = strlen(s);
		struct pattern *pt;
		char *raw, *clean;
		bool excl;

		trim(&s, &len);
		if (len == 0)
			continue;
		raw = xstrndup(s, len);
		clean = px_path_clean(raw);
		free(raw);
		excl = clean[0] == '!';
		if (excl && clean[1] == '\0') {
			free(clean);
			px_error_set(err, 0, "illegal exclusion pattern '!'");
			goto out;
		}
		if (check_pattern(clean + (excl ? 1 : 0), &why) < 0) {
			px_error_set(err, 0, "invalid pattern '%s': %s", patterns[i], why);
			free(clean);
			goto out;
		}
		m->p = xreallocarray(m->p, m->n + 1, sizeof(*m->p));
		pt = &m->p[m->n++];
		memset(pt, 0, sizeof(*pt));
		pt->exclusion = excl;
		pt->cleaned = xstrdup(clean + (excl ? 1 : 0));
		free(clean);
		if (compile(pt, &why) < 0) {
			px_error_set(err, 0, "invalid pattern '%s': %s", patterns[i], why);
			goto out;
		}
		m->exclusions |= excl;
	}
	*out = m;
	m = NULL;
	ret = 0;
out:
	engine_ignore_free(m);
	return ret;
}

size_t engine_ignore_count(const struct engine_ignore *m)
{
	return m->n;
}

bool engine_ignore_exclusions(const struct engine_ignore *m)
{
	return m->exclusions;
}

const char *engine_ignore_pattern(const struct engine_ignore *m, size_t i)
{
	return m->p[i].cleaned;
}

bool engine_ignore_is_exclusion(const struct engine_ignore *m, size_t i)
{
	return m->p[i].exclusion;
}

enum engine_ignore_type engine_ignore_type(const struct engine_ignore *m, size_t i)
{
	return m->p[i].type;
}

/*
 * Matching
 */

struct matcher {
	const struct tok *t;
	size_t nt;
	const char *s;
	size_t len;
	unsigned char *failed; /* (token, offset) pairs known not to match */
};

static bool in_class(const struct tok *t, uint32_t r)
{
	for (size_t i = 0; i < t->nranges; i++) {
		if (t->ranges[i].lo <= r && r <= t->ranges[i].hi)
			return !t->neg;
	}
	return t->neg;
}

/* Width of the character at si, so that stars step over whole characters. */
static size_t char_width(const struct matcher *m, size_t si)
{
	uint32_t r;

	return decode_rune((const unsigned char *)m->s + si, m->len - si, &r);
}

/* Does tokens ti.. match all of s from si?  Backtracking, with the failures remembered:
 * a pattern of many stars stays linear in the path length per star. */
static bool match_at(struct matcher *m, size_t ti, size_t si)
{
	const struct tok *t;
	size_t memo = ti * (m->len + 1) + si, n;
	uint32_t r;

	if (m->failed[memo])
		return false;
	if (ti == m->nt) {
		if (si == m->len)
			return true;
		goto fail;
	}
	t = &m->t[ti];
	switch (t->kind) {
	case T_LIT:
		if (m->len - si >= t->len && memcmp(m->s + si, t->lit, t->len) == 0 &&
		    match_at(m, ti + 1, si + t->len))
			return true;
		break;
	case T_ONE:
	case T_CLASS:
		if (si == m->len)
			break;
		n = decode_rune((const unsigned char *)m->s + si, m->len - si, &r);
		if (t->kind == T_ONE ? r == '/' : !in_class(t, r))
			break;
		if (match_at(m, ti + 1, si + n))
			return true;
		break;
	case T_STAR:
		/* [^/]*: as many characters as the rest allows, none of them '/' */
		for (size_t j = si;; j += char_width(m, j)) {
			if (match_at(m, ti + 1, j))
				return true;
			if (j == m->len || m->s[j] == '/')
				break;
		}
		break;
	case T_DSTAR_SLASH:
		/* (.*<slash>)?: nothing, or anything up to and including a '/' */
		if (match_at(m, ti + 1, si))
			return true;
		for (size_t j = si; j < m->len && m->s[j] != '\n'; j += char_width(m, j)) {
			if (m->s[j] == '/' && match_at(m, ti + 1, j + 1))
				return true;
		}
		break;
	case T_DSTAR:
		/* .*: Go's '.' stops at a newline */
		for (size_t j = si;; j += char_width(m, j)) {
			if (match_at(m, ti + 1, j))
				return true;
			if (j == m->len || m->s[j] == '\n')
				break;
		}
		break;
	}
fail:
	m->failed[memo] = 1;
	return false;
}

static bool glob_match(const struct pattern *pt, const char *s, size_t len)
{
	unsigned char small[1024];
	size_t size = (pt->ntoks + 1) * (len + 1);
	struct matcher m = {pt->toks, pt->ntoks, s, len, NULL};
	bool ok;

	m.failed = size <= sizeof(small) ? small : xmalloc(size);
	memset(m.failed, 0, size);
	ok = match_at(&m, 0, 0);
	if (m.failed != small)
		free(m.failed);
	return ok;
}

/* Pattern.match on path[0..len). */
static bool pattern_match(const struct pattern *pt, const char *path, size_t len)
{
	size_t plen = strlen(pt->cleaned), slen;
	const char *suffix;

	switch (pt->type) {
	case ENGINE_IGNORE_EXACT:
		return len == plen && memcmp(path, pt->cleaned, len) == 0;
	case ENGINE_IGNORE_PREFIX:
		/* without the two stars */
		return len >= plen - 2 && memcmp(path, pt->cleaned, plen - 2) == 0;
	case ENGINE_IGNORE_SUFFIX:
		/* without the two stars; a pattern that starts with them and a slash also
		 * matches the rest of it at the top */
		suffix = pt->cleaned + 2;
		slen = plen - 2;
		if (len >= slen && memcmp(path + len - slen, suffix, slen) == 0)
			return true;
		return slen > 0 && suffix[0] == '/' && len == slen - 1 &&
		       memcmp(path, suffix + 1, len) == 0;
	case ENGINE_IGNORE_GLOB:
		return glob_match(pt, path, len);
	}
	return false;
}

/* Does pt match a parent directory of path ("a", "a/b" for "a/b/c")? */
static bool parent_match(const struct pattern *pt, const char *path)
{
	const char *last = strrchr(path, '/');

	if (last == NULL)
		return false; /* the parent is ".", which never counts */
	for (const char *p = path; p <= last; p++) {
		if (*p == '/' && p > path && pattern_match(pt, path, (size_t)(p - path)))
			return true;
	}
	return false;
}

bool engine_ignore_matches_exact(const struct engine_ignore *m, const char *path)
{
	bool matched = false;

	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *pt = &m->p[i];

		/* an inclusion cannot change a match, an exception cannot undo a non-match */
		if (pt->exclusion != matched)
			continue;
		if (pattern_match(pt, path, strlen(path)))
			matched = !pt->exclusion;
	}
	return matched;
}

bool engine_ignore_matches_or_parent(const struct engine_ignore *m, const char *path)
{
	bool matched = false;

	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *pt = &m->p[i];

		if (pt->exclusion != matched)
			continue;
		if (pattern_match(pt, path, strlen(path)) || parent_match(pt, path))
			matched = !pt->exclusion;
	}
	return matched;
}

bool engine_ignore_matches_parents(const struct engine_ignore *m, const char *path,
				   const bool *parent, bool *out)
{
	bool matched = false;

	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *pt = &m->p[i];
		bool match = parent != NULL && parent[i];

		/* a pattern that matched the parent applies whatever came before, as in moby */
		if (!match) {
			if (pt->exclusion != matched) {
				if (out != NULL)
					out[i] = false;
				continue;
			}
			match = pattern_match(pt, path, strlen(path)) ||
				(parent == NULL && parent_match(pt, path));
		}
		if (out != NULL)
			out[i] = match;
		if (match)
			matched = !pt->exclusion;
	}
	return matched;
}
