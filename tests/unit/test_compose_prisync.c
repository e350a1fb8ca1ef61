/* test_compose_prisync.c - the x-prisync block: parsing, defaults, every error with its
 * file:line:col, and zero-configuration detection on temporary projects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/internal.h"
#include "compose/node.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A temporary project directory holding prisma/schema.prisma, a schema folder
 * analytics/ and secrets/db.json. */
struct project {
	char *dir;
};

static void write_file(const char *dir, const char *rel, const char *text)
{
	char *path, *parent;
	struct px_error err = PX_ERROR_INIT;
	FILE *f;

	xasprintf(&path, "%s/%s", dir, rel);
	parent = px_path_dirname(path);
	assert_int_equal(px_path_mkdir_p(parent, 0755, &err), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(parent);
	free(path);
}

static int setup(void **state)
{
	struct project *pr = xcalloc(1, sizeof(*pr));
	const char *tmp = getenv("TMPDIR");
	char *tmpl;

	xasprintf(&tmpl, "%s/px-prisync-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	pr->dir = mkdtemp(tmpl);
	assert_non_null(pr->dir);
	write_file(pr->dir, "prisma/schema.prisma",
		   "datasource db { provider = \"postgresql\" }\n");
	write_file(pr->dir, "analytics/base.prisma",
		   "datasource db { provider = \"postgresql\" }\n");
	write_file(pr->dir, "secrets/db.json", "{}\n");
	*state = pr;
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct project *pr = *state;

	nftw(pr->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(pr->dir);
	free(pr);
	return 0;
}

static int load_doc(struct compose_project *p, const char *yaml, const char *dir,
		    struct px_error *err)
{
	struct cnode_arena *a = cnode_arena_new();
	struct cnode **docs = NULL, *canon = NULL;
	size_t n = 0;
	struct compose_model_ctx ctx = {dir, "proj", NULL, NULL};
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (cnode_parse(a, "compose.yaml", yaml, strlen(yaml), NULL, &docs, &n, err) < 0 ||
	    compose_canonical(a, docs[0], &canon, err) < 0)
		goto out;
	rc = compose_model_build(p, canon, &ctx, err);
out:
	cnode_arena_free(a);
	return rc;
}

static void assert_strv(const struct compose_strv *v, const char *const *want, size_t n)
{
	if (v->n != n) {
		for (size_t i = 0; i < v->n; i++)
			print_message("  [%zu] %s\n", i, v->v[i]);
		fail_msg("strv has %zu entries, want %zu", v->n, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v->v[i], want[i]);
}

static char *in_dir(const struct project *pr, const char *rel)
{
	char *out;

	xasprintf(&out, "%s/%s", pr->dir, rel);
	return out;
}

static void assert_path(const struct project *pr, const char *got, const char *rel)
{
	char *want = in_dir(pr, rel);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
}

/* ---- zero configuration ----------------------------------------------------------- */

static void test_zero_config_bind_mount(void **state)
{
	struct project *pr = *state;
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;
	const struct compose_prisync_schema *sc;

	if (load_doc(&p,
		     "services:\n"
		     "  app:\n"
		     "    build: .\n"
		     "    volumes: [\".:/app\", \"/app/node_modules\"]\n"
		     "  db:\n"
		     "    image: postgres\n"
		     "    volumes: [\"pgdata:/var/lib/postgresql/data\"]\n"
		     "volumes: {pgdata: }\n",
		     pr->dir, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_false(p.prisync.configured);
	assert_int_equal(p.prisync.debounce_ns, 50000000);
	assert_int_equal(p.prisync.debounce_max_ns, 2000000000);
	assert_int_equal(p.prisync.nschemas, 1);
	sc = &p.prisync.schemas[0];
	assert_true(sc->detected);
	assert_string_equal(sc->name, "default");
	assert_path(pr, sc->schema, "prisma/schema.prisma");
	assert_false(sc->schema_is_dir);
	assert_string_equal(sc->run_in, "app");
	assert_strv(&sc->generate,
		    (const char *const[]){"npx", "prisma", "generate", "--schema",
					  "/app/prisma/schema.prisma"},
		    5);
	assert_strv(&sc->restart, (const char *const[]){"app"}, 1);
	assert_path(pr, sc->migrations, "prisma/migrations");
	assert_string_equal(sc->database_url_env, "DATABASE_URL");
	assert_null(sc->database_url);
	assert_null(sc->database_secret);
	assert_int_equal(sc->watch.n, 0);
	compose_project_release_model(&p);
}

static void test_zero_config_host(void **state)
{
	struct project *pr = *state;
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;
	const struct compose_prisync_schema *sc;

	/* nothing mounts the schema: generate on the host; restart what is built from here */
	if (load_doc(&p,
		     "services:\n"
		     "  api: {build: ./api}\n"
		     "  web: {build: .}\n"
		     "  db: {image: postgres, volumes: [\"/srv/pg:/var/lib/postgresql/data\"]}\n"
		     "  remote: {build: \"https://example.com/repo.git\"}\n",
		     pr->dir, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	sc = &p.prisync.schemas[0];
	assert_string_equal(sc->run_in, "host");
	assert_strv(
	    &sc->generate,
	    (const char *const[]){"npx", "prisma", "generate", "--schema", "prisma/schema.prisma"},
	    5);
	/* web is built from the project directory; api from ./api, which holds neither the
	 * schema nor the project, so restarting it would not load a new client */
	assert_strv(&sc->restart, (const char *const[]){"web"}, 1);
	compose_project_release_model(&p);
}

static void test_zero_config_partial_mount(void **state)
{
	struct project *pr = *state;
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;
	const struct compose_prisync_schema *sc;

	/* the first service by name that sees the schema's directory, through its deepest mount */
	if (load_doc(&p,
		     "services:\n"
		     "  worker: {image: w, volumes: [\".:/srv\"]}\n"
		     "  gen: {image: g, volumes: [\".:/code\", \"./prisma:/schema\"]}\n"
		     "  parent: {image: p, volumes: [\"..:/up\"]}\n"
		     "  db: {image: postgres, volumes: [\"./pgdata:/var/lib/postgresql/data\"]}\n"
		     "  seed: {image: s, volumes: [\"./prisma/seed.sql:/seed.sql\"]}\n",
		     pr->dir, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	sc = &p.prisync.schemas[0];
	assert_string_equal(sc->run_in, "gen");
	assert_string_equal(sc->generate.v[4], "/schema/schema.prisma");
	/* mounts holding the schema's directory or the whole project; not db's ./pgdata nor
	 * seed's single file next to the schema */
	assert_strv(&sc->restart, (const char *const[]){"gen", "parent", "worker"}, 3);
	compose_project_release_model(&p);
}

static void test_zero_config_without_schema(void **state)
{
	char tmpl[] = "/tmp/px-noschema-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_non_null(dir);
	if (load_doc(&p, "services:\n  a: {image: a, volumes: [\".:/app\"]}\n", dir, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_false(p.prisync.configured);
	assert_int_equal(p.prisync.nschemas, 0);
	assert_null(p.prisync.schemas);
	compose_project_release_model(&p);
	rmdir(dir);
}

/* ---- a configured block ----------------------------------------------------------- */

static void test_configured_block(void **state)
{
	struct project *pr = *state;
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;
	const struct compose_prisync_schema *core, *an, *third;

	if (load_doc(&p,
		     "services:\n"
		     "  app: {build: ., volumes: [\".:/app\"]}\n"
		     "  worker: {image: w}\n"
		     "x-prisync:\n"
		     "  debounce: 100ms\n"
		     "  debounce-max: 3s\n"
		     "  schemas:\n"
		     "    - name: core\n"
		     "      schema: prisma/schema.prisma\n"
		     "      watch: [prisma.config.ts, \"./seed\"]\n"
		     "      migrations: db/migrations\n"
		     "      generate: npx prisma generate --no-hints\n"
		     "      run-in: app\n"
		     "      restart: [app, worker]\n"
		     "      database-url: postgres://u:p@db/x\n"
		     "    - name: analytics\n"
		     "      schema: analytics\n"
		     "      generate: [pnpm, prisma, generate]\n"
		     "      run-in: host\n"
		     "      restart: worker\n"
		     "      database-url-env: ANALYTICS_URL\n"
		     "    - name: third\n"
		     "      schema: prisma/schema.prisma\n"
		     "      watch: prisma.config.ts\n"
		     "      database-secret: ./secrets/db.json\n",
		     pr->dir, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_true(p.prisync.configured);
	assert_int_equal(p.prisync.debounce_ns, 100000000);
	assert_int_equal(p.prisync.debounce_max_ns, 3000000000LL);
	assert_int_equal(p.prisync.nschemas, 3);

	core = &p.prisync.schemas[0];
	assert_string_equal(core->name, "core");
	assert_false(core->detected);
	assert_path(pr, core->schema, "prisma/schema.prisma");
	assert_int_equal(core->watch.n, 2);
	assert_path(pr, core->watch.v[0], "prisma.config.ts");
	assert_path(pr, core->watch.v[1], "seed");
	assert_path(pr, core->migrations, "db/migrations");
	assert_strv(&core->generate,
		    (const char *const[]){"npx", "prisma", "generate", "--no-hints"}, 4);
	assert_string_equal(core->run_in, "app");
	assert_strv(&core->restart, (const char *const[]){"app", "worker"}, 2);
	assert_string_equal(core->database_url, "postgres://u:p@db/x");
	assert_null(core->database_url_env);
	assert_int_equal(core->mark.line, 8);
	assert_int_equal(core->mark.col, 7);
	assert_string_equal(core->mark.file, "compose.yaml");

	an = &p.prisync.schemas[1];
	assert_true(an->schema_is_dir);
	assert_path(pr, an->schema, "analytics");
	assert_path(pr, an->migrations, "analytics/migrations");
	assert_strv(&an->generate, (const char *const[]){"pnpm", "prisma", "generate"}, 3);
	assert_string_equal(an->run_in, "host");
	assert_strv(&an->restart, (const char *const[]){"worker"}, 1);
	assert_string_equal(an->database_url_env, "ANALYTICS_URL");

	/* what the entry leaves out is detected as without the block */
	third = &p.prisync.schemas[2];
	assert_string_equal(third->run_in, "app");
	assert_strv(&third->generate,
		    (const char *const[]){"npx", "prisma", "generate", "--schema",
					  "/app/prisma/schema.prisma"},
		    5);
	assert_strv(&third->restart, (const char *const[]){"app"}, 1);
	assert_path(pr, third->database_secret, "secrets/db.json");
	assert_null(third->database_url_env);
	assert_int_equal(third->watch.n, 1);
	assert_path(pr, third->watch.v[0], "prisma.config.ts");
	compose_project_release_model(&p);
}

static void test_block_without_schemas_detects(void **state)
{
	struct project *pr = *state;
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;

	if (load_doc(&p,
		     "services:\n  app: {image: a}\n"
		     "x-prisync:\n  debounce: 10ms\n",
		     pr->dir, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_true(p.prisync.configured);
	assert_int_equal(p.prisync.debounce_ns, 10000000);
	assert_int_equal(p.prisync.nschemas, 1);
	assert_true(p.prisync.schemas[0].detected);
	assert_string_equal(p.prisync.schemas[0].run_in, "host");
	assert_int_equal(p.prisync.schemas[0].restart.n, 0);
	compose_project_release_model(&p);
	/* an explicit empty list means no schemas */
	if (load_doc(&p, "services:\n  app: {image: a}\nx-prisync:\n  schemas: []\n", pr->dir,
		     &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(p.prisync.nschemas, 0);
	compose_project_release_model(&p);
}

/* ---- errors ----------------------------------------------------------------------- */

#define SERVICES "services:\n  app: {image: a}\n  db: {image: d}\n"

static const struct {
	const char *name;
	const char *yaml;
	const char *want;
} errors[] = {
    {"unknown block key", SERVICES "x-prisync:\n  debounse: 1s\n",
     "compose.yaml:5:3: x-prisync: unknown key 'debounse' (did you mean 'debounce'?)"},
    {"unknown schema key", SERVICES "x-prisync:\n  schemas:\n    - run_in: app\n",
     "compose.yaml:6:7: x-prisync schema 'default': unknown key 'run_in' (did you mean 'run-in'?)"},
    {"run-in names a missing service",
     SERVICES "x-prisync:\n  schemas:\n    - name: core\n      run-in: ap\n",
     "compose.yaml:7:15: x-prisync schema 'core': run-in names service 'ap' which does not exist "
     "— services: app, db"},
    {"restart names a missing service",
     SERVICES "x-prisync:\n  schemas:\n    - name: core\n      restart: [app, wrk]\n",
     "compose.yaml:7:22: x-prisync schema 'core': restart names service 'wrk' which does not "
     "exist — services: app, db"},
    {"run-in without services", "x-prisync:\n  schemas:\n    - run-in: app\n",
     "compose.yaml:3:15: x-prisync schema 'default': run-in names service 'app' which does not "
     "exist — the project has no services"},
    {"two database settings",
     SERVICES
     "x-prisync:\n  schemas:\n    - database-url: postgres://x\n      database-url-env: URL\n",
     "compose.yaml:7:25: x-prisync schema 'default': set only one of database-url, "
     "database-url-env and database-secret"},
    {"missing schema path", SERVICES "x-prisync:\n  schemas:\n    - schema: nope.prisma\n",
     "compose.yaml:6:15: x-prisync schema 'default': cannot use schema 'nope.prisma': No such "
     "file or directory"},
    {"bad debounce", SERVICES "x-prisync:\n  debounce: fast\n",
     "compose.yaml:5:13: x-prisync: 'debounce' must be a duration like 1m30s or 500ms: time: "
     "invalid duration \"fast\""},
    {"debounce-max shorter than debounce",
     SERVICES "x-prisync:\n  debounce: 2s\n  debounce-max: 1s\n",
     "compose.yaml:6:17: x-prisync: 'debounce-max' must not be shorter than 'debounce'"},
    {"duplicate schema names", SERVICES "x-prisync:\n  schemas:\n    - {}\n    - {run-in: host}\n",
     "compose.yaml:7:7: x-prisync: schema name 'default' is used twice — give each schema its "
     "own 'name'"},
    {"block not a mapping", SERVICES "x-prisync: [a]\n",
     "compose.yaml:4:12: x-prisync must be a mapping, got a list"},
    {"schemas not a list", SERVICES "x-prisync:\n  schemas: {core: {}}\n",
     "compose.yaml:5:12: x-prisync: 'schemas' must be a list, got a mapping"},
    {"empty generate", SERVICES "x-prisync:\n  schemas:\n    - generate: []\n",
     "compose.yaml:6:17: x-prisync schema 'default': 'generate' must not be empty"},
    {"generate with a bad quote", SERVICES "x-prisync:\n  schemas:\n    - generate: npx \"prisma\n",
     "compose.yaml:6:17: x-prisync schema 'default': 'generate': invalid command line string \"npx "
     "\"prisma\" (unbalanced quote, escape or parenthesis)"},
    {"run-in not a string", SERVICES "x-prisync:\n  schemas:\n    - run-in: [app]\n",
     "compose.yaml:6:15: x-prisync schema 'default': 'run-in' must be a string, got a list"},
};

static void test_errors(void **state)
{
	struct project *pr = *state;

	for (size_t i = 0; i < N(errors); i++) {
		struct compose_project p;
		struct px_error err = PX_ERROR_INIT;
		const char *want = errors[i].want;

		if (load_doc(&p, errors[i].yaml, pr->dir, &err) == 0) {
			compose_project_release_model(&p);
			fail_msg("%s: loaded without error", errors[i].name);
		}
		if (strcmp(px_error_msg(&err), want) != 0)
			fail_msg("%s:\n got  %s\n want %s", errors[i].name, px_error_msg(&err),
				 want);
		assert_int_equal(p.prisync.nschemas, 0);
		assert_null(p.prisync.schemas);
		px_error_clear(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_zero_config_bind_mount, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_config_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_config_partial_mount, setup, teardown),
	    cmocka_unit_test(test_zero_config_without_schema),
	    cmocka_unit_test_setup_teardown(test_configured_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_without_schemas_detects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests_name("compose_prisync", tests, NULL, NULL);
}
