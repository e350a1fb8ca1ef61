/* test_prisma_discover.c - prisma/discover.c: reading `schema` out of prisma.config.ts
 * texts, and the search order over real files in a throw-away project directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/log.h"
#include "base/xmalloc.h"
#include "prisma/prisma.h"

struct config_case {
	const char *name;
	const char *text;
	int want_rc;
	const char *want; /* the schema (rc 0) or a fragment of the error (rc -1) */
};

static const struct config_case config_cases[] = {
    {"double quotes",
     "import { defineConfig } from \"prisma/config\";\n"
     "export default defineConfig({ schema: \"prisma/schema.prisma\" });\n",
     0, "prisma/schema.prisma"},
    {"single quotes, the documented layout",
     "import 'dotenv/config'\n"
     "import { defineConfig, env } from 'prisma/config'\n"
     "\n"
     "export default defineConfig({\n"
     "  migrations: { path: 'prisma/migrations', seed: 'tsx prisma/seed.ts' },\n"
     "  schema: 'db/schema.prisma',\n"
     "  datasource: { url: env('DATABASE_URL') },\n"
     "})\n",
     0, "db/schema.prisma"},
    {"path.join is not a literal",
     "import path from 'node:path'\n"
     "import { defineConfig } from 'prisma/config'\n"
     "export default defineConfig({\n"
     "  schema: path.join('prisma', 'schema.prisma'),\n"
     "})\n",
     1, NULL},
    {"commented-out line is skipped",
     "export default defineConfig({\n"
     "  // schema: 'old/schema.prisma',\n"
     "  schema: 'new/schema.prisma',\n"
     "})\n",
     0, "new/schema.prisma"},
    {"apostrophe and bracket in comments",
     "export default defineConfig({\n"
     "  // the client's schema lives in db/\n"
     "  /* not here) */ schema: 'db/schema.prisma',\n"
     "})\n",
     0, "db/schema.prisma"},
    {"block-commented schema only",
     "export default defineConfig({\n"
     "  /* schema: 'old/schema.prisma', */\n"
     "  earlyAccess: true,\n"
     "})\n",
     1, NULL},
    {"schema folder", "export default defineConfig({ schema: 'prisma/schema' })", 0,
     "prisma/schema"},
    {"template literal without substitution",
     "export default defineConfig({ schema: `prisma/schema.prisma` })", 0, "prisma/schema.prisma"},
    {"template literal with substitution",
     "export default defineConfig({ schema: `${dir}/schema.prisma` })", 1, NULL},
    {"satisfies PrismaConfig form",
     "import type { PrismaConfig } from 'prisma'\n"
     "export default {\n  schema: 'prisma/app.prisma',\n} satisfies PrismaConfig\n",
     0, "prisma/app.prisma"},
    {"defineConfig assigned, exported later",
     "const config = defineConfig({ schema: 'a/b.prisma' })\nexport default config\n", 0,
     "a/b.prisma"},
    {"quoted key", "export default defineConfig({ 'schema': \"q.prisma\" })", 0, "q.prisma"},
    {"concatenation is not a literal", "export default defineConfig({ schema: 'prisma/' + name })",
     1, NULL},
    {"shorthand property", "const schema = 'x.prisma'\nexport default defineConfig({ schema })", 1,
     NULL},
    {"schema key of a nested object",
     "export default defineConfig({ experimental: { schema: 'nested.prisma' } })", 1, NULL},
    {"schema after a nested object with a call",
     "export default defineConfig({\n"
     "  datasource: { url: env('DATABASE_URL', { fallback: 'x' }) },\n"
     "  schema: 'after.prisma',\n"
     "})\n",
     0, "after.prisma"},
    {"'schema:' inside a string elsewhere",
     "const note = \"schema: 'fake.prisma'\";\nexport default defineConfig({ earlyAccess: true })",
     1, NULL},
    {"// inside a string is not a comment",
     "export default defineConfig({ datasource: { url: 'postgres://u:p@h/db' }, schema: 's.prisma' "
     "})",
     0, "s.prisma"},
    {"quote inside a block comment",
     "export default defineConfig({ /* don't */ schema: 'c.prisma' })", 0, "c.prisma"},
    {"later duplicate key wins",
     "export default defineConfig({ schema: 'first.prisma', schema: 'second.prisma' })", 0,
     "second.prisma"},
    {"later non-literal duplicate wins",
     "export default defineConfig({ schema: 'first.prisma', schema: path.join('a', 'b') })", 1,
     NULL},
    {"brackets of a non-literal value are balanced",
     "export default defineConfig({ schema: (base + '.prisma'), schema: 'b.prisma' })", 0,
     "b.prisma"},
    {"escaped backslash and quote",
     "export default defineConfig({ schema: 'prisma\\\\it\\'s.prisma' })", 0,
     "prisma\\it's.prisma"},
    {"unsupported escape in another string is harmless",
     "const x = '\\u0041'\nexport default defineConfig({ schema: 'ok.prisma' })", 0, "ok.prisma"},
    {"object outside defineConfig is not the config",
     "const other = { schema: 'no.prisma' }\nexport default defineConfig({})\n", 1, NULL},
    {"no config object", "console.log('hello')\n", 1, NULL},
    {"empty text", "", 1, NULL},
    {"unterminated string", "export default defineConfig({ schema: 'prisma/schema.prisma })\n", -1,
     "line 1, column 39: unterminated string literal"},
    {"unterminated comment", "export default defineConfig({\n  /* schema: 'x' })\n", -1,
     "line 2, column 3: unterminated comment"},
    {"empty schema", "export default defineConfig({ schema: '' })", -1, "the schema path is empty"},
    {"unsupported escape in the schema",
     "export default defineConfig({\n  schema: 'a\\x41.prisma' })", -1,
     "line 2, column 13: escape '\\x' in the schema path is not supported"},
};

static void test_config_schema_table(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct config_case *c = &config_cases[i];
		struct px_error err = PX_ERROR_INIT;
		char *out = (char *)"sentinel";
		int rc = prisma_config_schema(c->text, &out, &err);
		bool ok = rc == c->want_rc;

		if (ok && rc == 0)
			ok = out != NULL && strcmp(out, c->want) == 0;
		else if (ok)
			ok = out == NULL;
		if (ok && rc < 0)
			ok = strstr(px_error_msg(&err), c->want) != NULL;
		if (!ok) {
			print_error("case '%s': rc %d (want %d), out '%s', error '%s'\n", c->name,
				    rc, c->want_rc, out != NULL ? out : "(null)",
				    px_error_msg(&err));
			failures++;
		}
		if (rc == 0)
			free(out);
		px_error_clear(&err);
	}
	assert_int_equal(failures, 0);
}

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;

	xasprintf(&tmpl, "%s/px-prisma-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp '%s' failed", tmpl);
	return tmpl;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Create rel under dir: a directory when rel ends with '/', else a file holding text
 * (parents must exist). */
static void put(const char *dir, const char *rel, const char *text)
{
	size_t n = strlen(rel);
	char *p;

	xasprintf(&p, "%s/%s", dir, rel);
	if (rel[n - 1] == '/') {
		assert_int_equal(mkdir(p, 0755), 0);
	} else {
		FILE *f = fopen(p, "w");

		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	free(p);
}

struct layout_case {
	const char *name;
	const char *files[6]; /* "path" or "path/" (directory), NULL-terminated */
	const char *config;   /* prisma.config.ts text, NULL for none */
	const char *explicit_path;
	int want_rc;
	const char *want_rel; /* expected path below the project dir (rc 0), or error fragment */
	bool want_dir;
};

static const struct layout_case layout_cases[] = {
    {"nothing", {NULL}, NULL, NULL, 1, NULL, false},
    {"root schema only", {"schema.prisma", NULL}, NULL, NULL, 0, "schema.prisma", false},
    {"prisma/ before the root",
     {"schema.prisma", "prisma/", "prisma/schema.prisma", NULL},
     NULL,
     NULL,
     0,
     "prisma/schema.prisma",
     false},
    {"config literal first",
     {"prisma/", "prisma/schema.prisma", "db/", "db/main.prisma", NULL},
     "export default defineConfig({ schema: 'db/main.prisma' })",
     NULL,
     0,
     "db/main.prisma",
     false},
    {"config without literal falls through",
     {"prisma/", "prisma/schema.prisma", "db/", "db/main.prisma", NULL},
     "export default defineConfig({ schema: path.join('db', 'main.prisma') })",
     NULL,
     0,
     "prisma/schema.prisma",
     false},
    {"config naming a folder",
     {"prisma/", "prisma/schema/", "prisma/schema/user.prisma", NULL},
     "export default defineConfig({ schema: './prisma/schema' })",
     NULL,
     0,
     "prisma/schema",
     true},
    {"config naming a missing file falls through",
     {"schema.prisma", NULL},
     "export default defineConfig({ schema: 'gone/schema.prisma' })",
     NULL,
     0,
     "schema.prisma",
     false},
    {"config naming nothing that exists, no defaults",
     {NULL},
     "export default defineConfig({ schema: 'gone.prisma' })",
     NULL,
     1,
     NULL,
     false},
    {"broken config is an error",
     {"schema.prisma", NULL},
     "export default defineConfig({ schema: 'x.prisma })",
     NULL,
     -1,
     "prisma.config.ts': line 1, column 39: unterminated string literal",
     false},
    {"explicit file beats everything",
     {"schema.prisma", "custom/", "custom/app.prisma", NULL},
     "export default defineConfig({ schema: 'schema.prisma' })",
     "custom/app.prisma",
     0,
     "custom/app.prisma",
     false},
    {"explicit folder", {"models/", NULL}, NULL, "models", 0, "models", true},
    {"explicit path cleaned", {"models/", NULL}, NULL, "./models/", 0, "models", true},
    {"explicit missing is an error naming it",
     {"schema.prisma", NULL},
     NULL,
     "prisma/missing.prisma",
     -1,
     "cannot use schema 'prisma/missing.prisma': No such file or directory",
     false},
};

static void run_layout(const struct layout_case *c, size_t *failures)
{
	struct px_error err = PX_ERROR_INIT;
	char *dir = make_tmpdir(), *want = NULL, *out = (char *)"sentinel";
	bool is_dir = !c->want_dir;
	bool ok;
	int rc;

	for (size_t j = 0; c->files[j] != NULL; j++)
		put(dir, c->files[j], "// schema\n");
	if (c->config != NULL)
		put(dir, "prisma.config.ts", c->config);

	rc = prisma_schema_find(dir, c->explicit_path, &out, &is_dir, &err);
	ok = rc == c->want_rc;
	if (ok && rc == 0) {
		xasprintf(&want, "%s/%s", dir, c->want_rel);
		ok = out != NULL && strcmp(out, want) == 0 && is_dir == c->want_dir;
	} else if (ok) {
		ok = out == NULL && (rc == 1 || strstr(px_error_msg(&err), c->want_rel) != NULL);
	}
	if (!ok) {
		print_error(
		    "case '%s': rc %d (want %d), path '%s' (want '%s'), dir %d, error '%s'\n",
		    c->name, rc, c->want_rc, out != NULL ? out : "(null)", want != NULL ? want : "",
		    is_dir, px_error_msg(&err));
		(*failures)++;
	}
	if (rc == 0)
		free(out);
	free(want);
	px_error_clear(&err);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static void test_search_order(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(layout_cases) / sizeof(layout_cases[0]); i++)
		run_layout(&layout_cases[i], &failures);
	assert_int_equal(failures, 0);
}

static void test_explicit_absolute_path(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *dir = make_tmpdir(), *other = make_tmpdir(), *abs, *out = NULL;
	bool is_dir = true;

	(void)state;
	put(other, "elsewhere.prisma", "");
	xasprintf(&abs, "%s/elsewhere.prisma", other);
	assert_int_equal(prisma_schema_find(dir, abs, &out, &is_dir, &err), 0);
	assert_string_equal(out, abs);
	assert_false(is_dir);
	free(out);
	free(abs);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(other, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_schema_table),
	    cmocka_unit_test(test_search_order),
	    cmocka_unit_test(test_explicit_absolute_path),
	};

	/* the missing-schema warning is expected; keep the test output readable */
	px_log_setup(stderr, PX_LOG_ERROR, 0);
	return cmocka_run_group_tests_name("prisma_discover", tests, NULL, NULL);
}
