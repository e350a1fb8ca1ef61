/* test_prisma.c - the harness's Prisma installs work offline: Prisma 7 generates the
 * example app's client, which queries the harness PostgreSQL through @prisma/adapter-pg
 * and fails on an unknown field exactly as users meet it; Prisma 6 generates too; and a
 * broken schema makes the generator fail (the signal prisync's sync relies on). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "tests/harness/harness.h"

struct fx {
	struct harness_dir dir;
	struct px_buf out, err;
	char *database; /* created by a test, dropped in teardown */
};

/* The text of examples/prisma-app/<rel> (owned). */
static char *example_text(const char *rel)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf data = PX_BUF_INIT;
	char *src = NULL;

	xasprintf(&src, "%s/examples/prisma-app/%s", harness_env("PRISYNC_SOURCE_DIR"), rel);
	if (px_path_read_file(src, &data, &err) < 0)
		fail_msg("copy '%s': %s", rel, px_error_msg(&err));
	free(src);
	return px_buf_detach(&data, NULL);
}


/* Copy examples/prisma-app/<rel> into the test directory. */
static void copy_example(const struct fx *f, const char *rel)
{
	char *text = example_text(rel);

	harness_write_file(f->dir.root, rel, text);
	free(text);
}

/* The example's schema with an output inside the test directory: without one, the client
 * would go to node_modules/.prisma/client, which here is the harness's shared install. */
static void copy_example_schema(const struct fx *f)
{
	static const char gen[] = "provider = \"prisma-client-js\"\n";
	char *text = example_text("prisma/schema.prisma"), *at = strstr(text, gen), *out = NULL;

	assert_non_null(at);
	xasprintf(&out, "%.*s  output   = \"../generated/client\"\n%s",
		  (int)(at + strlen(gen) - text), text, at + strlen(gen));
	harness_write_file(f->dir.root, "prisma/schema.prisma", out);
	free(text);
	free(out);
}

/* Run node with args in dir; extra "KEY=VALUE" environment entries may be given. */
static int node(struct fx *f, const char *dir, const char *const *args, const char *extra_env)
{
	return harness_node(dir, &f->out, &f->err, args, extra_env, 120000);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	harness_dir_create(&f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;
	int rc = 0;

	if (f->database != NULL) {
		if (db_connect(&c, getenv("PRISYNC_TEST_PG_URL"), 5, &err) < 0 ||
		    db_database_drop(c, f->database, true, &err) < 0) {
			print_error("teardown: %s\n", px_error_msg(&err));
			rc = -1;
		}
		db_close(c);
		px_error_clear(&err);
		free(f->database);
	}
	harness_dir_remove(&f->dir);
	px_buf_release(&f->out);
	px_buf_release(&f->err);
	free(f);
	return rc;
}

static const char query_js[] =
	"const { PrismaClient } = require('./generated/client');\n"
	"const { PrismaPg } = require('@prisma/adapter-pg');\n"
	"const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: "
	"process.env.DATABASE_URL }) });\n"
	"(async () => {\n"
	"  console.log(JSON.stringify(await prisma.user.findMany()));\n"
	"  try { await prisma.user.findMany({ where: { nickname: 'x' } }); console.log('NO ERROR'); }\n"
	"  catch (e) { console.error(e.message); }\n"
	"  await prisma.$disconnect();\n"
	"})();\n";

static void test_prisma7_generates_and_queries(void **state)
{
	struct fx *f = *state;
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *admin = NULL, *app = NULL;
	char *client = px_path_join(f->dir.root, "generated/client/index.js");
	char *cli = NULL, *url_env = NULL, name[64];

	char *migration = example_text("prisma/migrations/20250101000000_init/migration.sql");

	copy_example_schema(f);
	copy_example(f, "prisma.config.ts");
	harness_link_node_modules(f->dir.root, "PRISYNC_TEST_PRISMA7");
	xasprintf(&cli, "%s/node_modules/prisma/build/index.js", harness_env("PRISYNC_TEST_PRISMA7"));

	/* offline, without a database URL: generate needs neither */
	if (node(f, f->dir.root, (const char *[]){ cli, "generate", NULL }, NULL) != 0)
		fail_msg("prisma 7 generate failed:\n%s\n%s", px_buf_cstr(&f->out), px_buf_cstr(&f->err));
	assert_non_null(strstr(px_buf_cstr(&f->out), "Generated Prisma Client (v7."));
	assert_true(px_path_exists(client));

	/* the example's own migration */
	snprintf(name, sizeof(name), "prisma_e2e_%d", (int)getpid());
	f->database = xstrdup(name);
	if (db_connect(&admin, harness_env("PRISYNC_TEST_PG_URL"), 5, &err) < 0 ||
	    db_database_create(admin, name, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	db_close(admin);
	xasprintf(&url_env, "DATABASE_URL=postgresql://%s@127.0.0.1:%s/%s",
		  harness_env("PRISYNC_TEST_PG_USER"), harness_env("PRISYNC_TEST_PG_PORT"), name);
	if (db_connect(&app, url_env + strlen("DATABASE_URL="), 5, &err) < 0 ||
	    db_exec(app, migration, &err) < 0 ||
	    db_exec(app, "INSERT INTO \"User\" (email, name) VALUES ('ann@example.com', 'Ann');",
		    &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	db_close(app);

	harness_write_file(f->dir.root, "query.js", query_js);
	if (node(f, f->dir.root, (const char *[]){ "query.js", NULL }, url_env) != 0)
		fail_msg("query failed:\n%s\n%s", px_buf_cstr(&f->out), px_buf_cstr(&f->err));
	assert_non_null(strstr(px_buf_cstr(&f->out), "\"email\":\"ann@example.com\""));
	assert_non_null(strstr(px_buf_cstr(&f->out), "\"name\":\"Ann\""));
	/* the field does not exist in this client: the error users see with a stale client */
	assert_null(strstr(px_buf_cstr(&f->out), "NO ERROR"));
	assert_non_null(strstr(px_buf_cstr(&f->err), "Unknown argument `nickname`"));
	free(cli);
	free(url_env);
	free(client);
	free(migration);
}

static void test_prisma6_generates(void **state)
{
	struct fx *f = *state;
	char *cli = NULL, *client = px_path_join(f->dir.root, "generated/client/index.js");

	harness_write_file(f->dir.root, "prisma/schema.prisma",
		   "generator client {\n  provider = \"prisma-client-js\"\n"
		   "  output   = \"../generated/client\"\n}\n"
		   "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n"
		   "model User {\n  id    Int    @id @default(autoincrement())\n"
		   "  email String @unique\n}\n");
	harness_link_node_modules(f->dir.root, "PRISYNC_TEST_PRISMA6");
	xasprintf(&cli, "%s/node_modules/prisma/build/index.js", harness_env("PRISYNC_TEST_PRISMA6"));
	if (node(f, f->dir.root, (const char *[]){ cli, "generate", NULL }, NULL) != 0)
		fail_msg("prisma 6 generate failed:\n%s\n%s", px_buf_cstr(&f->out), px_buf_cstr(&f->err));
	assert_non_null(strstr(px_buf_cstr(&f->out), "Generated Prisma Client (v6."));
	assert_true(px_path_exists(client));
	free(cli);
	free(client);
}

static void test_broken_schema_fails_generate(void **state)
{
	struct fx *f = *state;
	char *cli = NULL, *client = px_path_join(f->dir.root, "generated/client/index.js");

	copy_example(f, "prisma.config.ts");
	harness_write_file(f->dir.root, "prisma/schema.prisma",
		   "generator client {\n  provider = \"prisma-client-js\"\n"
		   "  output   = \"../generated/client\"\n}\n"
		   "datasource db {\n  provider = \"postgresql\"\n}\n"
		   "model User {\n  id Int @id\n  email Strin\n}\n");
	harness_link_node_modules(f->dir.root, "PRISYNC_TEST_PRISMA7");
	xasprintf(&cli, "%s/node_modules/prisma/build/index.js", harness_env("PRISYNC_TEST_PRISMA7"));
	assert_int_not_equal(node(f, f->dir.root, (const char *[]){ cli, "generate", NULL }, NULL), 0);
	/* the generator names the problem: the unknown type */
	assert_non_null(strstr(px_buf_cstr(&f->err), "Strin"));
	assert_false(px_path_exists(client));
	free(cli);
	free(client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prisma7_generates_and_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prisma6_generates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_schema_fails_generate, setup, teardown),
	};

	return cmocka_run_group_tests_name("prisma", tests, NULL, NULL);
}
