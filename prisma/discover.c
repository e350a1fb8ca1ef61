/* discover.c - find the project's Prisma schema: an explicit path, else prisma.config.ts's
 * literal `schema`, else Prisma's default locations.  The config is scanned, never run. */
#include "prisma/prisma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "base/xmalloc.h"

/*
 * A lexer for just enough TypeScript to find `schema: '...'` in the config object:
 * identifiers, string literals (decoded), single punctuation characters, and nothing
 * else worth a name.  Comments and whitespace vanish.  Regular-expression literals are
 * not recognised; a config file has no reason to hold one.
 */
enum tok_type {
	TOK_EOF,
	TOK_IDENT,
	TOK_STRING,
	TOK_PUNCT,
	TOK_OTHER, /* a number, or a byte we have no use for */
};

struct token {
	enum tok_type type;
	const char *start; /* into the text; for TOK_IDENT the name is start[0..len) */
	size_t len;
	int line, col;     /* 1-based, of start */
	struct px_buf str; /* TOK_STRING: the decoded value */
	bool literal;      /* TOK_STRING: a plain value (a template without ${...}) */
	char bad_escape;   /* TOK_STRING: first escape we do not decode, or 0 */
	int bad_line, bad_col;
};

struct lexer {
	const char *s;
	size_t pos;
	int line, col; /* of s[pos] */
	struct px_error *err;
};

static void advance(struct lexer *lx)
{
	if (lx->s[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static char peek(const struct lexer *lx, size_t ahead)
{
	/* never reads past the NUL: every caller checked the bytes before */
	return lx->s[lx->pos + ahead];
}

static int lex_fail(struct lexer *lx, int line, int col, const char *what)
{
	return px_error_set(lx->err, 0, "line %d, column %d: %s", line, col, what);
}

static int skip_blank(struct lexer *lx)
{
	for (;;) {
		char c = peek(lx, 0);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			advance(lx);
		} else if (c == '/' && peek(lx, 1) == '/') {
			while (peek(lx, 0) != '\0' && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			int line = lx->line, col = lx->col;

			advance(lx);
			advance(lx);
			while (!(peek(lx, 0) == '*' && peek(lx, 1) == '/')) {
				if (peek(lx, 0) == '\0')
					return lex_fail(lx, line, col, "unterminated comment");
				advance(lx);
			}
			advance(lx);
			advance(lx);
		} else {
			return 0;
		}
	}
}

static bool is_ident_char(char c, bool first)
{
	/* bytes >= 0x80 are UTF-8 letters as far as we care */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80 || (!first && c >= '0' && c <= '9');
}

static int next_token(struct lexer *lx, struct token *t);

/* Skip the expression of a ${...} substitution, up to and including its '}'. */
static int skip_substitution(struct lexer *lx, int line, int col)
{
	struct token inner = {.str = PX_BUF_INIT};
	int depth = 1, ret = -1;

	while (depth > 0) {
		if (next_token(lx, &inner) < 0)
			goto out;
		if (inner.type == TOK_EOF) {
			lex_fail(lx, line, col, "unterminated template literal");
			goto out;
		}
		if (inner.type == TOK_PUNCT && inner.start[0] == '{')
			depth++;
		else if (inner.type == TOK_PUNCT && inner.start[0] == '}')
			depth--;
	}
	ret = 0;
out:
	px_buf_release(&inner.str);
	return ret;
}

/* A string literal opened by quote at the current position. */
static int lex_string(struct lexer *lx, struct token *t, char quote)
{
	t->type = TOK_STRING;
	t->literal = true;
	advance(lx);
	for (;;) {
		char c = peek(lx, 0);

		if (c == '\0' || (c == '\n' && quote != '`'))
			return lex_fail(lx, t->line, t->col, "unterminated string literal");
		if (c == quote) {
			advance(lx);
			return 0;
		}
		if (quote == '`' && c == '$' && peek(lx, 1) == '{') {
			int line = lx->line, col = lx->col;

			t->literal = false;
			advance(lx);
			advance(lx);
			if (skip_substitution(lx, line, col) < 0)
				return -1;
			continue;
		}
		if (c != '\\') {
			px_buf_addch(&t->str, c);
			advance(lx);
			continue;
		}
		/* an escape: decode what a path could contain, remember anything else */
		int line = lx->line, col = lx->col;

		advance(lx);
		c = peek(lx, 0);
		switch (c) {
		case '\0':
			return lex_fail(lx, t->line, t->col, "unterminated string literal");
		case '\\':
		case '\'':
		case '"':
		case '`':
		case '/':
		case '$':
			px_buf_addch(&t->str, c);
			break;
		case '\n':
			/* a line continuation contributes nothing */
			break;
		default:
			if (t->bad_escape == 0) {
				t->bad_escape = c;
				t->bad_line = line;
				t->bad_col = col;
			}
			break;
		}
		advance(lx);
	}
}

/* The next token into *t (its previous string is discarded). */
static int next_token(struct lexer *lx, struct token *t)
{
	char c;

	px_buf_reset(&t->str);
	t->literal = false;
	t->bad_escape = 0;
	if (skip_blank(lx) < 0)
		return -1;
	t->start = lx->s + lx->pos;
	t->line = lx->line;
	t->col = lx->col;
	c = peek(lx, 0);
	if (c == '\0') {
		t->type = TOK_EOF;
		t->len = 0;
		return 0;
	}
	if (c == '\'' || c == '"' || c == '`') {
		if (lex_string(lx, t, c) < 0)
			return -1;
	} else if (is_ident_char(c, true)) {
		t->type = TOK_IDENT;
		while (is_ident_char(peek(lx, 0), false))
			advance(lx);
	} else if (c >= '0' && c <= '9') {
		t->type = TOK_OTHER;
		while (is_ident_char(peek(lx, 0), false) || peek(lx, 0) == '.')
			advance(lx);
	} else {
		t->type = strchr("{}()[],:;=", c) != NULL ? TOK_PUNCT : TOK_OTHER;
		advance(lx);
	}
	t->len = (size_t)(lx->s + lx->pos - t->start);
	return 0;
}

static bool is_ident(const struct token *t, const char *name)
{
	return t->type == TOK_IDENT && t->len == strlen(name) &&
	       memcmp(t->start, name, t->len) == 0;
}

static bool is_punct(const struct token *t, char c)
{
	return t->type == TOK_PUNCT && t->start[0] == c;
}

/*
 * Advance to just past the '{' that opens the config object: the first argument of
 * defineConfig(...), or the object literal right after `export default` (the
 * `{ ... } satisfies PrismaConfig` form).  Returns 1 when found, 0 at the end.
 */
static int find_config_object(struct lexer *lx, struct token *t)
{
	enum { NONE, DEFINE, DEFINE_PAREN, EXPORT, EXPORT_DEFAULT } state = NONE;

	for (;;) {
		if (next_token(lx, t) < 0)
			return -1;
		if (t->type == TOK_EOF)
			return 0;
		switch (state) {
		case DEFINE:
			if (is_punct(t, '(')) {
				state = DEFINE_PAREN;
				continue;
			}
			break;
		case DEFINE_PAREN:
		case EXPORT_DEFAULT:
			if (is_punct(t, '{'))
				return 1;
			break;
		case EXPORT:
			if (is_ident(t, "default")) {
				state = EXPORT_DEFAULT;
				continue;
			}
			break;
		case NONE:
			break;
		}
		/* no match in the current state: the token may start a new pattern */
		if (is_ident(t, "defineConfig"))
			state = DEFINE;
		else if (is_ident(t, "export"))
			state = EXPORT;
		else
			state = NONE;
	}
}

/* A key token naming the property "schema": schema, 'schema' or "schema". */
static bool is_schema_key(const struct token *t)
{
	return is_ident(t, "schema") ||
	       (t->type == TOK_STRING && t->literal && strcmp(px_buf_cstr(&t->str), "schema") == 0);
}

int prisma_config_schema(const char *config_ts_text, char **out, struct px_error *err)
{
	struct lexer lx = {.s = config_ts_text, .pos = 0, .line = 1, .col = 1, .err = err};
	struct token t = {.str = PX_BUF_INIT};
	struct token v = {.str = PX_BUF_INIT};
	char *value = NULL;
	int depth = 1, rc, ret = -1;
	bool expect_key = true, reuse = false;

	*out = NULL;
	rc = find_config_object(&lx, &t);
	if (rc <= 0) {
		ret = rc < 0 ? -1 : 1;
		goto out;
	}
	for (;;) {
		if (!reuse && next_token(&lx, &t) < 0)
			goto out;
		reuse = false;
		if (t.type == TOK_EOF)
			break; /* an unclosed object: take what we saw */
		if (t.type == TOK_PUNCT) {
			char c = t.start[0];

			if (c == '{' || c == '(' || c == '[') {
				depth++;
			} else if (c == '}' || c == ')' || c == ']') {
				if (--depth == 0)
					break;
			} else if (c == ',' && depth == 1) {
				expect_key = true;
				continue;
			}
		}
		if (depth != 1 || !expect_key)
			continue;
		expect_key = false;
		if (!is_schema_key(&t))
			continue;

		/* schema: <value>.  A later duplicate key wins, as in JavaScript. */
		free(value);
		value = NULL;
		if (next_token(&lx, &t) < 0)
			goto out;
		if (!is_punct(&t, ':')) {
			/* shorthand `schema,` or a method: not a literal */
			reuse = true;
			continue;
		}
		if (next_token(&lx, &v) < 0 || next_token(&lx, &t) < 0)
			goto out;
		reuse = true;
		if (v.type != TOK_STRING || !v.literal ||
		    !(is_punct(&t, ',') || is_punct(&t, '}'))) {
			/* `path.join(...)`, 'a' + b, a variable: the value comes from running TS.
			 * t (and v, if it opened a bracket) must still be counted. */
			if (v.type == TOK_PUNCT && strchr("{([", v.start[0]) != NULL)
				depth++;
			continue;
		}
		if (v.bad_escape != 0) {
			px_error_set(
			    err, 0,
			    "line %d, column %d: escape '\\%c' in the schema path is not supported",
			    v.bad_line, v.bad_col, v.bad_escape);
			goto out;
		}
		if (v.str.len == 0) {
			px_error_set(err, 0, "line %d, column %d: the schema path is empty", v.line,
				     v.col);
			goto out;
		}
		value = xstrdup(px_buf_cstr(&v.str));
	}
	if (value != NULL) {
		*out = value;
		value = NULL;
		ret = 0;
	} else {
		ret = 1;
	}
out:
	free(value);
	px_buf_release(&t.str);
	px_buf_release(&v.str);
	return ret;
}

/* project_dir joined with rel, cleaned (owned). */
static char *project_path(const char *project_dir, const char *rel)
{
	char *joined = px_path_join(project_dir, rel);
	char *clean = px_path_clean(joined);

	free(joined);
	return clean;
}

/* 0 with *is_dir when path exists, 1 when it does not, -1 on another stat failure. */
static int probe(const char *path, bool *is_dir, struct px_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		*is_dir = S_ISDIR(st.st_mode);
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 1;
	return px_error_set(err, errno, "cannot use schema '%s'", path);
}

/* The schema named by project_dir/prisma.config.ts: 0 with *out_path, 1 to fall through. */
static int from_config(const char *project_dir, char **out_path, bool *is_dir, struct px_error *err)
{
	struct px_buf text = PX_BUF_INIT;
	char *config = project_path(project_dir, "prisma.config.ts");
	char *schema = NULL, *path = NULL;
	int rc, ret = -1;

	if (!px_path_exists(config)) {
		ret = 1;
		goto out;
	}
	if (px_path_read_file(config, &text, err) < 0)
		goto out;
	rc = prisma_config_schema(px_buf_cstr(&text), &schema, err);
	if (rc < 0) {
		px_error_wrap(err, "cannot read the schema path from '%s'", config);
		goto out;
	}
	if (rc == 1) {
		ret = 1;
		goto out;
	}
	/* Prisma resolves the config's paths against the config file's directory */
	path = project_path(project_dir, schema);
	rc = probe(path, is_dir, err);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		px_warn(
		    "'%s' names schema '%s', which does not exist; trying the default locations",
		    config, schema);
		ret = 1;
		goto out;
	}
	*out_path = path;
	path = NULL;
	ret = 0;
out:
	px_buf_release(&text);
	free(config);
	free(schema);
	free(path);
	return ret;
}

int prisma_schema_find(const char *project_dir, const char *explicit_path, char **out_path,
		       bool *is_dir, struct px_error *err)
{
	static const char *const defaults[] = {"prisma/schema.prisma", "schema.prisma"};
	char *path = NULL;
	int rc;

	*out_path = NULL;
	*is_dir = false;

	if (explicit_path != NULL) {
		struct stat st;

		path = project_path(project_dir, explicit_path);
		if (stat(path, &st) < 0) {
			px_error_set(err, errno, "cannot use schema '%s'", explicit_path);
			free(path);
			return -1;
		}
		*is_dir = S_ISDIR(st.st_mode);
		*out_path = path;
		return 0;
	}

	rc = from_config(project_dir, out_path, is_dir, err);
	if (rc <= 0)
		return rc;

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		path = project_path(project_dir, defaults[i]);
		rc = probe(path, is_dir, err);
		if (rc == 0) {
			*out_path = path;
			return 0;
		}
		free(path);
		if (rc < 0)
			return -1;
	}
	*is_dir = false;
	return 1;
}
