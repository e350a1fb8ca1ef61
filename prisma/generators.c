/* generators.c - the generator blocks of a Prisma schema (provider, output), read with the
 * freshness tokenizer so that comments, escapes and layout count as Prisma counts them. */
#include "prisma/prisma.h"

#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "base/xmalloc.h"

static bool is_punct(const struct prisma_token *k, const char *s)
{
	return k->kind == PRISMA_TOK_PUNCT && strcmp(k->text, s) == 0;
}

static bool is_ident(const struct prisma_token *k, const char *s)
{
	return k->kind == PRISMA_TOK_IDENT && strcmp(k->text, s) == 0;
}

/*
 * The value starting at t->v[i]: a string literal, or env("X") read from the environment.
 * *set tells whether the value had one of those forms; *out is NULL for an unset variable.
 * Owned.
 */
static char *setting_value(const struct prisma_tokens *t, size_t i, bool *set)
{
	const char *v;

	*set = false;
	if (i < t->n && t->v[i].kind == PRISMA_TOK_STRING) {
		*set = true;
		return xstrdup(t->v[i].text);
	}
	if (i + 3 < t->n && is_ident(&t->v[i], "env") && is_punct(&t->v[i + 1], "(") &&
	    t->v[i + 2].kind == PRISMA_TOK_STRING && is_punct(&t->v[i + 3], ")")) {
		*set = true;
		v = getenv(t->v[i + 2].text);
		return v != NULL ? xstrdup(v) : NULL;
	}
	return NULL;
}

/* Read the block whose '{' is t->v[open] into g; returns the index after its '}'. */
static size_t read_block(const struct prisma_tokens *t, size_t open, const char *file,
			 struct prisma_generator *g)
{
	size_t i, depth = 0;

	for (i = open; i < t->n; i++) {
		const struct prisma_token *k = &t->v[i];
		bool set;
		char *v;

		if (is_punct(k, "{") || is_punct(k, "(") || is_punct(k, "[")) {
			depth++;
			continue;
		}
		if (is_punct(k, "}") || is_punct(k, ")") || is_punct(k, "]")) {
			if (--depth == 0)
				return i + 1;
			continue;
		}
		/* a setting: NAME = value, directly inside the block */
		if (depth != 1 || k->kind != PRISMA_TOK_IDENT || i + 1 >= t->n ||
		    !is_punct(&t->v[i + 1], "="))
			continue;
		if (strcmp(k->text, "provider") == 0) {
			v = setting_value(t, i + 2, &set);
			if (set) {
				free(g->provider);
				g->provider = v;
			}
		} else if (strcmp(k->text, "output") == 0) {
			v = setting_value(t, i + 2, &set);
			if (set) {
				char *dir = px_path_dirname(file);

				free(g->output);
				/* Prisma resolves output against the file that holds the block */
				g->output = v != NULL ? px_path_abs(dir, v) : NULL;
				free(dir);
				free(v);
			}
		}
	}
	return i;
}

int prisma_generators_parse(const char *text, size_t len, const char *file,
			    struct prisma_generators *out)
{
	struct prisma_tokens t;
	size_t i = 0;

	prisma_schema_tokens(text, len, &t);
	while (i < t.n) {
		struct prisma_generator *g;

		/* blocks are only at the top level, and read_block() skips a whole one */
		if (!(is_ident(&t.v[i], "generator") && i + 2 < t.n &&
		      t.v[i + 1].kind == PRISMA_TOK_IDENT && is_punct(&t.v[i + 2], "{"))) {
			if (is_punct(&t.v[i], "{")) {
				struct prisma_generator skip = {0};

				i = read_block(&t, i, file, &skip);
				free(skip.provider);
				free(skip.output);
				continue;
			}
			i++;
			continue;
		}
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		g = &out->v[out->n++];
		memset(g, 0, sizeof(*g));
		g->name = xstrdup(t.v[i + 1].text);
		g->file = xstrdup(file);
		g->line = t.v[i].line;
		i = read_block(&t, i + 2, file, g);
	}
	prisma_tokens_release(&t);
	return 0;
}

/* One schema file of the walk: its generators appended. */
static int parse_file(void *ctx, const char *file, struct px_error *err)
{
	struct px_buf text = PX_BUF_INIT;

	if (px_path_read_file(file, &text, err) < 0)
		return -1;
	prisma_generators_parse(px_buf_cstr(&text), text.len, file, ctx);
	px_buf_release(&text);
	return 0;
}

int prisma_generators_read(const char *path, struct prisma_generators *out, struct px_error *err)
{
	out->v = NULL;
	out->n = 0;
	if (prisma_schema_files(path, parse_file, out, err) != 0) {
		prisma_generators_release(out);
		return -1;
	}
	return 0;
}

void prisma_generators_release(struct prisma_generators *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].name);
		free(g->v[i].provider);
		free(g->v[i].output);
		free(g->v[i].file);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

const struct prisma_generator *prisma_generators_client(const struct prisma_generators *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const char *p = g->v[i].provider;

		if (p != NULL && (strcmp(p, PRISMA_PROVIDER_CLIENT_JS) == 0 ||
				  strcmp(p, PRISMA_PROVIDER_CLIENT) == 0))
			return &g->v[i];
	}
	return NULL;
}
