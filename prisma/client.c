/* client.c - Prisma Client freshness: the schema embedded in a generated client, compared
 * token by token with the current schema sources, and the client's version. */
#include "prisma/prisma.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/path.h"
#include "base/xmalloc.h"

/* ---- the tokenizer ---- */

static bool is_ident_start(unsigned char c)
{
	return isalpha(c) || c == '_';
}

/* Prisma's grammar lets '-' into identifiers after the first character. */
static bool is_ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-';
}

static void tok_push(struct prisma_tokens *t, size_t *cap, enum prisma_token_kind kind,
		     struct px_buf *text, unsigned line)
{
	struct prisma_token *k;

	if (t->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		t->v = xreallocarray(t->v, *cap, sizeof(*t->v));
	}
	k = &t->v[t->n++];
	k->kind = kind;
	k->line = line;
	/* ownership of the buffer's storage moves to the token */
	k->text = px_buf_detach(text, &k->len);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append code point cp as UTF-8 (surrogates and out-of-range values become U+FFFD). */
static void add_utf8(struct px_buf *b, unsigned long cp)
{
	char u[4];

	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		px_buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		px_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		px_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		px_buf_add(b, u, 4);
	}
}

/* Four hex digits at s (n bytes available), or -1. */
static long hex4(const char *s, size_t n)
{
	long v = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval((unsigned char)s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

int prisma_schema_tokens(const char *text, size_t len, struct prisma_tokens *out)
{
	struct px_buf b = PX_BUF_INIT;
	size_t i = 0, cap = 0;
	unsigned line = 1;

	out->v = NULL;
	out->n = 0;
	while (i < len) {
		unsigned char c = (unsigned char)text[i];
		unsigned start_line = line;

		if (c == '\n') {
			line++;
			i++;
		} else if (isspace(c)) {
			i++;
		} else if (c == '/' && i + 1 < len && text[i + 1] == '/') {
			size_t e = i;

			while (e < len && text[e] != '\n')
				e++;
			if (i + 2 < len && text[i + 2] == '/') {
				size_t s = i + 3, t = e;

				while (s < t && isspace((unsigned char)text[s]))
					s++;
				while (t > s && isspace((unsigned char)text[t - 1]))
					t--;
				px_buf_add(&b, text + s, t - s);
				tok_push(out, &cap, PRISMA_TOK_DOC, &b, start_line);
			}
			i = e;
		} else if (c == '"') {
			/* Prisma strings do not span lines: an unclosed one ends at the newline */
			for (i++; i < len && text[i] != '"' && text[i] != '\n'; i++) {
				long cp;

				if (text[i] != '\\' || i + 1 >= len || text[i + 1] == '\n') {
					px_buf_addch(&b, text[i]);
					continue;
				}
				i++;
				switch (text[i]) {
				case 'n':
					px_buf_addch(&b, '\n');
					break;
				case 'r':
					px_buf_addch(&b, '\r');
					break;
				case 't':
					px_buf_addch(&b, '\t');
					break;
				case '"':
					px_buf_addch(&b, '"');
					break;
				case '\\':
					px_buf_addch(&b, '\\');
					break;
				case 'u':
					cp = hex4(text + i + 1, len - i - 1);
					if (cp >= 0) {
						add_utf8(&b, (unsigned long)cp);
						i += 4;
						break;
					}
					/* not an escape we decode: keep it as written */
					__attribute__((fallthrough));
				default:
					px_buf_addch(&b, '\\');
					px_buf_addch(&b, text[i]);
				}
			}
			if (i < len && text[i] == '"')
				i++;
			tok_push(out, &cap, PRISMA_TOK_STRING, &b, start_line);
		} else if (is_ident_start(c)) {
			size_t s = i;

			while (i < len && is_ident_char((unsigned char)text[i]))
				i++;
			px_buf_add(&b, text + s, i - s);
			tok_push(out, &cap, PRISMA_TOK_IDENT, &b, start_line);
		} else if (isdigit(c) ||
			   (c == '-' && i + 1 < len && isdigit((unsigned char)text[i + 1]))) {
			size_t s = i++;

			while (i < len && isdigit((unsigned char)text[i]))
				i++;
			if (i + 1 < len && text[i] == '.' && isdigit((unsigned char)text[i + 1]))
				for (i++; i < len && isdigit((unsigned char)text[i]); i++)
					;
			px_buf_add(&b, text + s, i - s);
			tok_push(out, &cap, PRISMA_TOK_NUMBER, &b, start_line);
		} else {
			size_t n = (c == '@' && i + 1 < len && text[i + 1] == '@') ? 2 : 1;

			px_buf_add(&b, text + i, n);
			i += n;
			tok_push(out, &cap, PRISMA_TOK_PUNCT, &b, start_line);
		}
	}
	px_buf_release(&b);
	return 0;
}

void prisma_tokens_release(struct prisma_tokens *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* ---- naming a position: block and member ---- */

static bool tok_is(const struct prisma_token *k, enum prisma_token_kind kind, const char *s)
{
	return k->kind == kind && strcmp(k->text, s) == 0;
}

static bool is_block_keyword(const struct prisma_token *k)
{
	static const char *const kw[] = {"model", "enum",       "type",
					 "view",  "datasource", "generator"};

	if (k->kind != PRISMA_TOK_IDENT)
		return false;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strcmp(k->text, kw[i]) == 0)
			return true;
	return false;
}

/* What a block calls its members. */
static const char *member_word(const char *keyword)
{
	if (strcmp(keyword, "enum") == 0)
		return "value";
	if (strcmp(keyword, "datasource") == 0 || strcmp(keyword, "generator") == 0)
		return "setting";
	return "field";
}

/*
 * The name of token idx's place in t ("model User, field email"), or of the end when
 * idx == t->n.  *has_member tells whether a member was named, *member_out (may be
 * NULL) receives its first token.  A /// comment belongs to
 * what follows it (the next member, or the next block at the top level).  Owned.
 */
static char *where_of(const struct prisma_tokens *t, size_t idx, bool *has_member,
		      const struct prisma_token **member_out)
{
	const struct prisma_token *blk_kw = NULL, *blk_name = NULL, *member = NULL;
	size_t i, depth = 0;
	char *s = NULL;

	*has_member = false;
	if (member_out != NULL)
		*member_out = NULL;
	for (i = 0; i <= idx && i < t->n; i++) {
		const struct prisma_token *k = &t->v[i];
		bool line_start = i == 0 || k->line != t->v[i - 1].line;

		if (depth == 0 && is_block_keyword(k) && i + 2 < t->n &&
		    t->v[i + 1].kind == PRISMA_TOK_IDENT &&
		    tok_is(&t->v[i + 2], PRISMA_TOK_PUNCT, "{")) {
			blk_kw = k;
			blk_name = &t->v[i + 1];
			member = NULL;
		}
		if (tok_is(k, PRISMA_TOK_PUNCT, "{") || tok_is(k, PRISMA_TOK_PUNCT, "(") ||
		    tok_is(k, PRISMA_TOK_PUNCT, "[")) {
			depth++;
		} else if (tok_is(k, PRISMA_TOK_PUNCT, "}") || tok_is(k, PRISMA_TOK_PUNCT, ")") ||
			   tok_is(k, PRISMA_TOK_PUNCT, "]")) {
			if (depth > 0)
				depth--;
			if (depth == 0 && i < idx)
				blk_kw = blk_name = NULL;
			if (depth == 0)
				member = NULL; /* the closing brace is the block's, no member's */
		} else if (depth == 1 && blk_kw != NULL && line_start &&
			   k->kind != PRISMA_TOK_DOC) {
			member = k;
		}
	}
	/* a doc comment describes the next thing: look ahead for it */
	if (idx < t->n && t->v[idx].kind == PRISMA_TOK_DOC) {
		for (i = idx + 1; i < t->n && t->v[i].kind == PRISMA_TOK_DOC; i++)
			;
		if (i < t->n && depth == 0 && is_block_keyword(&t->v[i]) && i + 1 < t->n) {
			blk_kw = &t->v[i];
			blk_name = &t->v[i + 1];
			member = NULL;
		} else if (i < t->n && depth == 1 && blk_kw != NULL &&
			   !tok_is(&t->v[i], PRISMA_TOK_PUNCT, "}")) {
			member = &t->v[i];
		} else {
			member = NULL;
		}
	}
	if (blk_kw == NULL)
		return xstrdup("");
	if (member == NULL) {
		xasprintf(&s, "%s %s", blk_kw->text, blk_name->text);
	} else if (tok_is(member, PRISMA_TOK_PUNCT, "@@")) {
		/* a block attribute: @@id, @@map ... */
		const char *attr = member + 1 < t->v + t->n ? member[1].text : "";

		xasprintf(&s, "%s %s, attribute @@%s", blk_kw->text, blk_name->text, attr);
	} else {
		xasprintf(&s, "%s %s, %s %s", blk_kw->text, blk_name->text,
			  member_word(blk_kw->text), member->text);
	}
	*has_member = member != NULL;
	if (member_out != NULL)
		*member_out = member;
	return s;
}

/* ---- comparing ---- */

static bool tok_equal(const struct prisma_token *x, const struct prisma_token *y)
{
	return x->kind == y->kind && x->len == y->len && memcmp(x->text, y->text, x->len) == 0;
}

/* A token as a reader would recognise it in the schema, shortened when long. */
static char *tok_show(const struct prisma_token *k)
{
	const char *pre = "", *post = "";
	int n = k->len > 40 ? 40 : (int)k->len;
	char *s = NULL;

	if (k->kind == PRISMA_TOK_STRING)
		pre = post = "\"";
	else if (k->kind == PRISMA_TOK_DOC)
		pre = "/// ";
	xasprintf(&s, "%s%.*s%s%s", pre, n, k->text, k->len > 40 ? "..." : "", post);
	return s;
}

/* Whether a line of t after token from starts with the same token as m. */
static bool member_later(const struct prisma_tokens *t, size_t from, const struct prisma_token *m)
{
	for (size_t i = from + 1; i < t->n; i++)
		if (t->v[i].line != t->v[i - 1].line && tok_equal(&t->v[i], m))
			return true;
	return false;
}

int prisma_schema_compare(const char *a, size_t alen, const char *b, size_t blen,
			  struct prisma_diff *out)
{
	struct prisma_tokens ta, tb;
	const struct prisma_token *ma = NULL, *mb = NULL;
	size_t i;
	bool am, bm;
	char *wa = NULL, *wb = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	prisma_schema_tokens(a, alen, &ta);
	prisma_schema_tokens(b, blen, &tb);
	for (i = 0; i < ta.n && i < tb.n; i++)
		if (!tok_equal(&ta.v[i], &tb.v[i]))
			break;
	if (i == ta.n && i == tb.n) {
		out->equal = true;
		goto out;
	}
	rc = 1;
	if (i < ta.n) {
		out->a_line = ta.v[i].line;
		out->a_token = tok_show(&ta.v[i]);
	}
	if (i < tb.n) {
		out->b_line = tb.v[i].line;
		out->b_token = tok_show(&tb.v[i]);
	}
	wa = where_of(&ta, i, &am, &ma);
	wb = where_of(&tb, i, &bm, &mb);
	/* A member added to b meets a's next member or closing brace there, so b names it;
	 * a member removed from b is named by a -- recognised by b's member turning up later
	 * in a. */
	if ((am && !bm) || (wb[0] == '\0' && wa[0] != '\0') ||
	    (am && bm && member_later(&ta, i, mb) && !member_later(&tb, i, ma))) {
		out->where = wa;
		wa = NULL;
	} else {
		out->where = wb;
		wb = NULL;
	}
out:
	free(wa);
	free(wb);
	prisma_tokens_release(&ta);
	prisma_tokens_release(&tb);
	return rc;
}

void prisma_diff_release(struct prisma_diff *d)
{
	if (d == NULL)
		return;
	free(d->a_token);
	free(d->b_token);
	free(d->where);
	memset(d, 0, sizeof(*d));
}

char *prisma_diff_describe(const struct prisma_diff *d)
{
	char *s = NULL, *sb = NULL, *sa = NULL;

	if (d->equal)
		return xstrdup("no difference");
	if (d->b_token != NULL)
		xasprintf(&sb, "line %u of the schema has '%s'", d->b_line, d->b_token);
	else
		sb = xstrdup("the schema ends");
	if (d->a_token != NULL)
		xasprintf(&sa, "line %u of the generated client's has '%s'", d->a_line, d->a_token);
	else
		sa = xstrdup("the generated client's ends");
	xasprintf(&s, "%s (%s, %s)",
		  d->where != NULL && d->where[0] != '\0' ? d->where : "top level", sb, sa);
	free(sb);
	free(sa);
	return s;
}

/* ---- extraction from the generated client ---- */

static unsigned line_at(const char *text, size_t pos)
{
	unsigned line = 1;

	for (size_t i = 0; i < pos; i++)
		line += text[i] == '\n';
	return line;
}

/*
 * Decode the JSON string literal whose opening quote is at text[pos] with jansson: its end
 * is the first unescaped quote.  JSON.stringify wrote it, so anything jansson refuses is a
 * broken file: -1 with jansson's reason in err.
 */
static int json_str_decode(const char *text, size_t len, size_t pos, const char *what,
			   struct px_buf *out, struct px_error *err)
{
	size_t i = pos + 1;
	json_error_t jerr;
	json_t *v;

	while (i < len && text[i] != '"')
		i += text[i] == '\\' ? 2 : 1;
	if (i >= len)
		return px_error_set(err, 0, "%s at line %u: unterminated string", what,
				    line_at(text, pos));
	v = json_loadb(text + pos, i + 1 - pos, JSON_DECODE_ANY, &jerr);
	if (!json_is_string(v)) {
		json_decref(v);
		/* jansson counts from the string: the line is the file's */
		return px_error_set(err, 0, "%s at line %u: %s", what,
				    line_at(text, pos) + (unsigned)(jerr.line > 1 ? jerr.line - 1 : 0),
				    jerr.text);
	}
	px_buf_add(out, json_string_value(v), json_string_length(v));
	json_decref(v);
	return 0;
}

/*
 * The position of the value of the first key `name` ("name": or name:) whose value is a
 * string; 0 when there is none (a value never starts at 0).
 */
static size_t find_key(const char *text, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = text, *end = text + len;

	while ((p = memmem(p, (size_t)(end - p), name, nlen)) != NULL) {
		const char *q = p + nlen;
		bool quoted = p > text && p[-1] == '"';

		p = q;
		/* a whole key: not inlineSchemaHash, not myinlineSchema */
		if (quoted) {
			if (q >= end || *q != '"')
				continue;
			q++;
		} else if ((q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '$')) ||
			   (q - nlen > text &&
			    (isalnum((unsigned char)q[-nlen - 1]) || q[-nlen - 1] == '_' ||
			     q[-nlen - 1] == '$' || q[-nlen - 1] == '.'))) {
			continue;
		}
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q >= end || *q != ':')
			continue;
		for (q++; q < end && isspace((unsigned char)*q); q++)
			;
		if (q < end && *q == '"')
			return (size_t)(q - text);
	}
	return 0;
}

int prisma_client_inline_schema(const char *js_text, size_t len, char **schema_out,
				char **client_version_out, struct px_error *err)
{
	struct px_buf schema = PX_BUF_INIT, version = PX_BUF_INIT;
	size_t pos, vpos;
	int rc = -1;

	*schema_out = NULL;
	*client_version_out = NULL;
	pos = find_key(js_text, len, "inlineSchema");
	if (pos == 0) {
		rc = 1;
		goto out;
	}
	if (json_str_decode(js_text, len, pos, "inlineSchema", &schema, err) < 0)
		goto out;
	vpos = find_key(js_text, len, "clientVersion");
	if (vpos != 0 &&
	    json_str_decode(js_text, len, vpos, "clientVersion", &version, err) < 0)
		goto out;
	*schema_out = px_buf_detach(&schema, NULL);
	if (vpos != 0)
		*client_version_out = px_buf_detach(&version, NULL);
	rc = 0;
out:
	px_buf_release(&schema);
	px_buf_release(&version);
	return rc;
}

/* ---- the schema sources in Prisma's order ---- */

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

struct walk {
	prisma_schema_file_fn *fn;
	void *ctx;
	char **seen; /* real paths of the folders walked: a symlink loop ends there */
	size_t nseen;
};

static bool ends_with_prisma(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	/* Node's path.extname(".prisma") is "": a dot file has no extension */
	return n > 7 && strcmp(base + n - 7, ".prisma") == 0;
}

/* loadSchemaFiles' walk (cli: @prisma/schema-files-loader): lstat, follow a symlink to
 * its real path, read a *.prisma file, descend into a folder once per real path. */
static int walk(struct walk *w, const char *path, struct px_error *err)
{
	struct stat st;
	char *real = NULL, **names = NULL;
	size_t n = 0;
	DIR *d = NULL;
	struct dirent *de;
	int rc = -1;

	if (lstat(path, &st) < 0)
		return px_error_set(err, errno, "cannot stat '%s'", path);
	if (S_ISLNK(st.st_mode)) {
		real = realpath(path, NULL);
		if (real == NULL)
			return px_error_set(err, errno, "cannot resolve '%s'", path);
		rc = walk(w, real, err);
		free(real);
		return rc;
	}
	if (S_ISREG(st.st_mode))
		return ends_with_prisma(path) ? w->fn(w->ctx, path, err) : 0;
	if (!S_ISDIR(st.st_mode))
		return 0;
	real = realpath(path, NULL);
	if (real == NULL)
		return px_error_set(err, errno, "cannot resolve '%s'", path);
	for (size_t i = 0; i < w->nseen; i++)
		if (strcmp(w->seen[i], real) == 0) {
			free(real);
			return 0;
		}
	w->seen = xreallocarray(w->seen, w->nseen + 1, sizeof(*w->seen));
	w->seen[w->nseen++] = real; /* owned by w now */
	d = opendir(path);
	if (d == NULL)
		return px_error_set(err, errno, "cannot open schema folder '%s'", path);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		px_error_set(err, errno, "cannot read schema folder '%s'", path);
		goto out;
	}
	/* Node's readdir is libuv's scandir, sorted with strcmp */
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *p = px_path_join(path, names[i]);
		int r = walk(w, p, err);

		free(p);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int prisma_schema_files(const char *path, prisma_schema_file_fn *fn, void *ctx,
			struct px_error *err)
{
	struct walk w = {.fn = fn, .ctx = ctx};
	struct stat st;
	int rc;

	/* a single schema file counts whatever its name (--schema x.txt works) */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return fn(ctx, path, err);
	rc = walk(&w, path, err);
	for (size_t i = 0; i < w.nseen; i++)
		free(w.seen[i]);
	free(w.seen);
	return rc;
}

/* One file of a folder: its text and a newline, so a // comment cannot run into the
 * next file. */
static int append_file(void *ctx, const char *path, struct px_error *err)
{
	struct px_buf *out = ctx;

	if (px_path_read_file(path, out, err) < 0)
		return -1;
	px_buf_addch(out, '\n');
	return 0;
}

int prisma_schema_read(const char *path, struct px_buf *out, struct px_error *err)
{
	struct stat st;

	/* a single file is embedded as is, without the folder's separating newline */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return px_path_read_file(path, out, err);
	return prisma_schema_files(path, append_file, out, err);
}

/* ---- the verdict ---- */

const char *prisma_client_state_name(enum prisma_client_state s)
{
	switch (s) {
	case PRISMA_CLIENT_FRESH:
		return "fresh";
	case PRISMA_CLIENT_STALE:
		return "stale";
	case PRISMA_CLIENT_MISSING:
		return "missing";
	case PRISMA_CLIENT_VERSION_SKEW:
		return "version-skew";
	}
	return "unknown";
}

int prisma_client_check(const char *client_text, size_t client_len, const char *schema,
			size_t schema_len, const char *installed_version,
			enum prisma_client_state *state, struct prisma_diff *diff,
			struct px_error *err)
{
	struct prisma_diff d;
	char *embedded = NULL, *version = NULL;
	int r;

	if (diff != NULL)
		memset(diff, 0, sizeof(*diff));
	if (client_text == NULL) {
		*state = PRISMA_CLIENT_MISSING;
		return 0;
	}
	r = prisma_client_inline_schema(client_text, client_len, &embedded, &version, err);
	if (r < 0)
		return px_error_wrap(err, "malformed generated client");
	if (r == 1) {
		*state = PRISMA_CLIENT_MISSING;
		return 0;
	}
	if (prisma_schema_compare(embedded, strlen(embedded), schema, schema_len, &d) != 0)
		*state = PRISMA_CLIENT_STALE;
	else if (installed_version != NULL &&
		 (version == NULL || strcmp(version, installed_version) != 0))
		*state = PRISMA_CLIENT_VERSION_SKEW;
	else
		*state = PRISMA_CLIENT_FRESH;
	if (diff != NULL && *state == PRISMA_CLIENT_STALE)
		*diff = d; /* ownership moves to the caller */
	else
		prisma_diff_release(&d);
	free(embedded);
	free(version);
	return 0;
}
