/* test_prisma_generators.c - prisma/generators.c and prisma/client_locate.c: generator
 * blocks read out of schema text and folders (escapes, comments, env(), output relative
 * to the file holding the block), and where the client is by Node's resolution over a
 * fake file reader. */
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

#include "base/buf.h"
#include "base/error.h"
#include "base/path.h"
#include "base/xmalloc.h"
#include "prisma/prisma.h"

/* ---- parsing ---- */

static void test_parse_settings(void **state)
{
	static const char schema[] =
	    "// generator commented { provider = \"nope\" }\n"
	    "datasource db {\n  provider = \"postgresql\"\n}\n"
	    "model generator { id Int @id }\n"
	    "generator  client{provider=\"prisma-client-js\" // trailing \"x\"\n"
	    "  previewFeatures = [\"a\", \"b\"]\n"
	    "  /// a doc comment\n"
	    "  output = \"../gen/\\\"q\\\"/c\\\\d\" }\n"
	    "generator erd {\n  provider = env(\"PX_TEST_GEN_PROVIDER\")\n"
	    "  output   = env(\"PX_TEST_GEN_UNSET\")\n}\n"
	    "generator ts {\n  provider = \"prisma-client\"\n  output = \"/abs//out/./x/..\"\n"
	    "  binaryTargets = env(\"X\")\n}\n";
	struct prisma_generators g = {0};

	(void)state;
	setenv("PX_TEST_GEN_PROVIDER", "prisma-erd-generator", 1);
	unsetenv("PX_TEST_GEN_UNSET");
	assert_int_equal(
	    prisma_generators_parse(schema, strlen(schema), "/p/prisma/schema.prisma", &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.v[0].name, "client");
	assert_string_equal(g.v[0].provider, "prisma-client-js");
	/* escapes decoded, then resolved against the file's directory and cleaned */
	assert_string_equal(g.v[0].output, "/p/gen/\"q\"/c\\d");
	assert_string_equal(g.v[0].file, "/p/prisma/schema.prisma");
	assert_int_equal(g.v[0].line, 6);
	assert_string_equal(g.v[1].name, "erd");
	assert_string_equal(g.v[1].provider, "prisma-erd-generator");
	assert_null(g.v[1].output); /* env() of an unset variable */
	assert_string_equal(g.v[2].provider, "prisma-client");
	assert_string_equal(g.v[2].output, "/abs/out");
	/* the first client generator, whichever comes first */
	assert_ptr_equal(prisma_generators_client(&g), &g.v[0]);
	prisma_generators_release(&g);
	prisma_generators_release(&g); /* released twice: harmless */

	/* the Prisma 7 one, after a non-client generator */
	{
		static const char t[] = "generator a { provider = \"prisma-dbml\" }\n"
					"generator b { provider = \"prisma-client\" }\n";

		assert_int_equal(prisma_generators_parse(t, strlen(t), "s.prisma", &g), 0);
	}
	assert_non_null(prisma_generators_client(&g));
	assert_string_equal(prisma_generators_client(&g)->provider, "prisma-client");
	prisma_generators_release(&g);
	unsetenv("PX_TEST_GEN_PROVIDER");
}

static void test_parse_none(void **state)
{
	static const char *const texts[] = {
	    "",
	    "model User { id Int @id }\n",
	    "// generator client { provider = \"prisma-client-js\" }\n",
	    "/* not a comment in Prisma */ datasource db { provider = \"postgresql\" }\n",
	    "generator { provider = \"prisma-client-js\" }\n", /* no name */
	};
	struct prisma_generators g = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(
		    prisma_generators_parse(texts[i], strlen(texts[i]), "/s.prisma", &g), 0);
		assert_int_equal(g.n, 0);
		assert_null(prisma_generators_client(&g));
	}
	/* a generator of another provider is no client generator */
	{
		static const char t[] = "generator x { provider = \"prisma-dbml\" }";

		assert_int_equal(prisma_generators_parse(t, strlen(t), "/s.prisma", &g), 0);
	}
	assert_int_equal(g.n, 1);
	assert_null(prisma_generators_client(&g));
	assert_null(g.v[0].output);
	prisma_generators_release(&g);
}

/* ---- folders ---- */

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;

	xasprintf(&tmpl, "%s/px-gen-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
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

static void put(const char *dir, const char *rel, const char *text)
{
	struct px_error err = PX_ERROR_INIT;
	char *p = px_path_join(dir, rel), *parent = px_path_dirname(p);

	if (px_path_mkdir_p(parent, 0755, &err) < 0 ||
	    px_path_write_file_atomic(p, text, strlen(text), 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(p);
	free(parent);
}

static void test_read_folder(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct prisma_generators g = {0};
	char *dir = make_tmpdir(), *want = NULL, *file = NULL;

	(void)state;
	put(dir, "schema/models.prisma", "model A { id Int @id }\n");
	put(dir, "schema/sub/gen.prisma",
	    "generator client {\n  provider = \"prisma-client-js\"\n  output = \"../../gen\"\n}\n");
	put(dir, "schema/a.prisma",
	    "generator first {\n  provider = \"prisma-client\"\n"
	    "  output = \"out\"\n}\n");
	put(dir, "schema/notes.txt", "generator skipped { provider = \"prisma-client-js\" }\n");
	xasprintf(&file, "%s/schema", dir);
	assert_int_equal(prisma_generators_read(file, &g, &err), 0);
	/* a.prisma before sub/ (byte order), notes.txt not a schema file */
	assert_int_equal(g.n, 2);
	assert_string_equal(g.v[0].name, "first");
	xasprintf(&want, "%s/schema/out", dir);
	assert_string_equal(g.v[0].output, want);
	free(want);
	/* relative to the sub-file's directory, not to the folder */
	assert_string_equal(g.v[1].name, "client");
	xasprintf(&want, "%s/gen", dir);
	assert_string_equal(g.v[1].output, want);
	free(want);
	xasprintf(&want, "%s/schema/sub/gen.prisma", dir);
	assert_string_equal(g.v[1].file, want);
	free(want);
	prisma_generators_release(&g);
	free(file);

	/* a single file, and a missing path */
	xasprintf(&file, "%s/schema/sub/gen.prisma", dir);
	assert_int_equal(prisma_generators_read(file, &g, &err), 0);
	assert_int_equal(g.n, 1);
	prisma_generators_release(&g);
	free(file);
	xasprintf(&file, "%s/missing.prisma", dir);
	assert_int_equal(prisma_generators_read(file, &g, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "missing.prisma"));
	assert_int_equal(g.n, 0);
	px_error_clear(&err);
	free(file);

	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* ---- locating the client over a fake reader ---- */

struct fake {
	const char *const (*files)[2]; /* path, content */
	size_t n;
	struct px_buf asked; /* every path read, one a line */
	bool fail;
};

static int fake_read(void *ctx, const char *path, struct px_buf *out, bool *exists,
		     struct px_error *err)
{
	struct fake *f = ctx;

	px_buf_addf(&f->asked, "%s\n", path);
	*exists = false;
	if (f->fail)
		return px_error_set(err, 5, "cannot read '%s'", path);
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->files[i][0], path) == 0) {
			px_buf_adds(out, f->files[i][1]);
			*exists = true;
		}
	return 0;
}

struct locate_case {
	const char *provider, *output, *schema_dir;
	const char *want_client, *want_pkg, *want_version; /* want_client NULL: an error */
};

static void test_locate(void **state)
{
	static const char *const files[][2] = {
	    {"/w/app/node_modules/@prisma/client/package.json", "{\"version\": \"6.19.3\"}"},
	    {"/w/node_modules/@prisma/client/package.json", "{\"name\": \"@prisma/client\", "
							    "\"version\": \"7.1.0\"}"},
	    /* a node_modules/node_modules is never looked into */
	    {"/w/app/node_modules/node_modules/@prisma/client/package.json",
	     "{\"version\": \"0\"}"},
	    {"/x/gen/node_modules/@prisma/client/package.json", "not json"},
	};
	static const struct locate_case cases[] = {
	    /* output given */
	    {"prisma-client-js", "/w/app/generated/client", "/w/app/prisma",
	     "/w/app/generated/client/index.js", "/w/app/node_modules/@prisma/client/package.json",
	     "6.19.3"},
	    {"prisma-client", "/w/app/generated/prisma", "/w/app/prisma",
	     "/w/app/generated/prisma/internal/class.ts",
	     "/w/app/node_modules/@prisma/client/package.json", "6.19.3"},
	    {"prisma-client", "/w/gen", "/w/app/prisma", "/w/gen/internal/class.ts",
	     "/w/node_modules/@prisma/client/package.json", "7.1.0"},
	    /* a package.json without a version, or not JSON: found, version unknown */
	    {"prisma-client-js", "/x/gen", "/x", "/x/gen/index.js",
	     "/x/gen/node_modules/@prisma/client/package.json", NULL},
	    /* Node's resolution from the schema's directory */
	    {"prisma-client-js", NULL, "/w/app/prisma",
	     "/w/app/node_modules/.prisma/client/index.js",
	     "/w/app/node_modules/@prisma/client/package.json", "6.19.3"},
	    {"prisma-client-js", NULL, "/w/other/deep", "/w/node_modules/.prisma/client/index.js",
	     "/w/node_modules/@prisma/client/package.json", "7.1.0"},
	    /* none anywhere: the project's node_modules, nothing installed */
	    {"prisma-client-js", NULL, "/y/prisma", "/proj/node_modules/.prisma/client/index.js",
	     NULL, NULL},
	    /* errors */
	    {"prisma-client", NULL, "/w/app/prisma", NULL, NULL, NULL},
	    {"prisma-dbml", "/w/out", "/w/app/prisma", NULL, NULL, NULL},
	    {NULL, "/w/out", "/w/app/prisma", NULL, NULL, NULL},
	};
	struct fake f = {files, sizeof(files) / sizeof(files[0]), PX_BUF_INIT, false};
	const struct prisma_reader r = {fake_read, &f};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct locate_case *c = &cases[i];
		struct px_error err = PX_ERROR_INIT;
		struct prisma_client_location loc;
		int rc = prisma_client_locate(&r, c->provider, c->output, c->schema_dir, "/proj",
					      &loc, &err);

		if (c->want_client == NULL) {
			assert_int_equal(rc, -1);
			assert_null(loc.client);
			assert_true(px_error_msg(&err)[0] != '\0');
			px_error_clear(&err);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu: %s", i, px_error_msg(&err));
		assert_string_equal(loc.client, c->want_client);
		if (c->want_pkg == NULL)
			assert_null(loc.package_json);
		else
			assert_string_equal(loc.package_json, c->want_pkg);
		if (c->want_version == NULL)
			assert_null(loc.installed_version);
		else
			assert_string_equal(loc.installed_version, c->want_version);
		prisma_client_location_release(&loc);
	}
	/* the walk skipped the node_modules/node_modules candidate */
	assert_null(strstr(px_buf_cstr(&f.asked), "node_modules/node_modules"));
	/* the error names prisma-client's missing output */
	{
		struct px_error err = PX_ERROR_INIT;
		struct prisma_client_location loc;

		assert_int_equal(
		    prisma_client_locate(&r, "prisma-client", NULL, "/w", "/w", &loc, &err), -1);
		assert_non_null(strstr(px_error_msg(&err), "needs an output"));
		px_error_clear(&err);
		/* a reader failure is an error, not "missing" */
		f.fail = true;
		assert_int_equal(
		    prisma_client_locate(&r, "prisma-client-js", NULL, "/w", "/w", &loc, &err), -1);
		assert_non_null(strstr(px_error_msg(&err), "cannot read"));
		px_error_clear(&err);
	}
	px_buf_release(&f.asked);
}

/* The host reader: a missing file is not an error, a directory counts as missing. */
static void test_host_reader(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *dir = make_tmpdir(), *p = NULL;
	bool exists = true;

	(void)state;
	put(dir, "a/file", "text");
	xasprintf(&p, "%s/a/file", dir);
	assert_int_equal(prisma_host_reader.read(NULL, p, &b, &exists, &err), 0);
	assert_true(exists);
	assert_string_equal(px_buf_cstr(&b), "text");
	free(p);
	px_buf_reset(&b);
	xasprintf(&p, "%s/a/missing", dir);
	assert_int_equal(prisma_host_reader.read(NULL, p, &b, &exists, &err), 0);
	assert_false(exists);
	free(p);
	xasprintf(&p, "%s/a/file/below", dir);
	assert_int_equal(prisma_host_reader.read(NULL, p, &b, &exists, &err), 0);
	assert_false(exists);
	free(p);
	xasprintf(&p, "%s/a", dir);
	assert_int_equal(prisma_host_reader.read(NULL, p, &b, &exists, &err), 0);
	assert_false(exists);
	assert_int_equal(b.len, 0);
	free(p);
	px_buf_release(&b);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_settings), cmocka_unit_test(test_parse_none),
	    cmocka_unit_test(test_read_folder),    cmocka_unit_test(test_locate),
	    cmocka_unit_test(test_host_reader),
	};

	return cmocka_run_group_tests_name("prisma_generators", tests, NULL, NULL);
}
