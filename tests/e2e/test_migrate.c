/* test_migrate.c - `prisync migrate` and `migrate resolve` against real PostgreSQL: the
 * table and rows exactly as Prisma writes them, a failure recorded and blocking until it is
 * resolved, baselining, a non-empty database refused, Prisma's advisory lock honoured, and
 * the Prisma CLI's own `migrate status` agreeing with `prisync db-check` at every step. */
#include <jansson.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "prisma/prisma.h"
#include "tests/harness/harness.h"

#define RUN_TIMEOUT_MS 60000

struct t {
	struct harness_dir dir;
	char project[64];
	struct px_buf out, err;
	char *db;               /* created on the harness server, dropped in teardown */
	char *url;              /* its URL */
	struct db_conn *holder; /* a session holding Prisma's lock; closed before the drop */
};

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;

	harness_dir_create(&t->dir);
	snprintf(t->project, sizeof(t->project), "pxmig-%d-%d", (int)getpid(), ++seq);
	xasprintf(&t->db, "pxmig_%d_%d", (int)getpid(), seq);
	if (db_connect(&c, harness_env("PRISYNC_TEST_PG_URL"), 5, &err) < 0 ||
	    db_database_create(c, t->db, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	db_close(c);
	xasprintf(&t->url, "postgresql://%s@127.0.0.1:%s/%s", harness_env("PRISYNC_TEST_PG_USER"),
		  harness_env("PRISYNC_TEST_PG_PORT"), t->db);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	struct px_error perr = PX_ERROR_INIT;
	struct db_conn *c = NULL;

	db_close(t->holder);
	if (db_connect(&c, harness_env("PRISYNC_TEST_PG_URL"), 5, &perr) == 0) {
		db_database_drop(c, t->db, true, &perr);
		db_close(c);
	}
	unsetenv("PRISYNC_MIGRATE_LOCK_TIMEOUT");
	px_error_clear(&perr);
	px_buf_release(&t->out);
	px_buf_release(&t->err);
	harness_dir_remove(&t->dir);
	free(t->db);
	free(t->url);
	free(t);
	return 0;
}

/* A project with one schema on the database at url and these migrations (name, script
 * pairs). */
static void project_url(const struct t *t, const char *url, const char *const *migrations,
			size_t n)
{
	char *yaml = NULL;

	harness_write_file(t->dir.root, "prisma/schema.prisma",
		   "datasource db {\n  provider = \"postgresql\"\n}\nmodel A {\n  id Int @id\n}\n");
	harness_write_file(t->dir.root, "prisma/migrations/migration_lock.toml", "provider = \"postgresql\"\n");
	for (size_t i = 0; i + 1 < n; i += 2) {
		char *rel = NULL;

		xasprintf(&rel, "prisma/migrations/%s/migration.sql", migrations[i]);
		harness_write_file(t->dir.root, rel, migrations[i + 1]);
		free(rel);
	}
	xasprintf(&yaml,
		  "services:\n"
		  "  app: {image: busybox}\n"
		  "x-prisync:\n"
		  "  schemas:\n"
		  "    - {name: core, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: '%s'}\n",
		  url);
	harness_write_file(t->dir.root, "compose.yaml", yaml);
	free(yaml);
}

/* The same on t's database. */
static void project(const struct t *t, const char *const *migrations, size_t n)
{
	project_url(t, t->url, migrations, n);
}

static int migrate(struct t *t, ...) __attribute__((sentinel));

/* prisync -p PROJECT migrate ARGS...; at most 6 arguments. */
static int migrate(struct t *t, ...)
{
	const char *a[6] = {NULL};
	va_list ap;
	size_t n = 0;

	va_start(ap, t);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL && n < 6;)
		a[n++] = s;
	va_end(ap);
	/* harness_prisync appends: each run is looked at alone */
	px_buf_reset(&t->out);
	px_buf_reset(&t->err);
	return harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			       "migrate", a[0], a[1], a[2], a[3], a[4], a[5], NULL);
}

/* The first value of a query on t's database (owned, NULL for NULL or no row). */
static char *q(const struct t *t, const char *sql)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;
	char *v = NULL;

	if (db_connect(&c, t->url, 5, &err) < 0 || db_query_value(c, sql, 0, NULL, &v, &err) < 0)
		fail_msg("%s: %s", sql, px_error_msg(&err));
	db_close(c);
	return v;
}

static void expect_q(const struct t *t, const char *sql, const char *want)
{
	char *v = q(t, sql);

	if ((v == NULL) != (want == NULL) || (v != NULL && strcmp(v, want) != 0))
		fail_msg("%s: got %s, want %s", sql, v ? v : "NULL", want ? want : "NULL");
	free(v);
}

static void expect_in(const struct px_buf *b, const char *what, const char *needle)
{
	if (strstr(px_buf_cstr(b), needle) == NULL)
		fail_msg("%s has no '%s':\n%s", what, needle, px_buf_cstr(b));
}

static char *checksum_of(const char *text)
{
	char sum[65];

	assert_int_equal(prisma_checksum(text, strlen(text), sum), 0);
	return xstrdup(sum);
}

static const char init_sql[] = "CREATE TABLE users (id int PRIMARY KEY);\n";
static const char posts_sql[] = "CREATE TABLE posts (id int, user_id int REFERENCES users);\n";

/* The columns of _prisma_migrations in schema s, in a form two tables can be compared by. */
#define COLUMNS_SQL(s)                                                                             \
	"SELECT string_agg(concat_ws(' ', column_name, data_type, character_maximum_length, "      \
	"is_nullable, column_default), ', ' ORDER BY ordinal_position) "                           \
	"FROM information_schema.columns WHERE table_schema = '" s                                 \
	"' AND table_name = '_prisma_migrations'"

static void test_deploy_fresh_then_nothing(void **state)
{
	struct t *t = *state;
	const char *const m[] = {"20250101000000_init", init_sql, "20250102000000_posts",
				 posts_sql};
	char *sum_init = checksum_of(init_sql), *sum_posts = checksum_of(posts_sql), *got, *ref;
	char sql[512];
	regex_t uuid;

	project(t, m, 4);
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	expect_in(&t->out, "stdout", "2 migrations found in prisma/migrations");
	expect_in(&t->out, "stdout", "Applying migration `20250101000000_init`");
	expect_in(&t->out, "stdout", "Applying migration `20250102000000_posts`");
	expect_in(&t->out, "stdout", "All migrations have been successfully applied.");
	assert_true(strstr(px_buf_cstr(&t->out), "_init`") <
		    strstr(px_buf_cstr(&t->out), "_posts`"));
	expect_q(t, "SELECT to_regclass('posts') IS NOT NULL", "t");

	/* the table is Prisma's: the same columns as its DDL creates */
	{
		struct px_error err = PX_ERROR_INIT;
		struct db_conn *c = NULL;

		if (db_connect(&c, t->url, 5, &err) < 0 ||
		    db_exec(c, "CREATE SCHEMA ref; SET search_path = ref;", &err) < 0 ||
		    db_exec(c, PRISMA_MIGRATIONS_TABLE_DDL, &err) < 0)
			fail_msg("%s", px_error_msg(&err));
		db_close(c);
	}
	got = q(t, COLUMNS_SQL("public"));
	ref = q(t, COLUMNS_SQL("ref"));
	assert_non_null(got);
	assert_string_equal(got, ref);
	free(got);
	free(ref);

	/* the rows are Prisma's */
	assert_int_equal(
	    regcomp(&uuid, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
		    REG_EXTENDED | REG_NOSUB),
	    0);
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? m[0] : m[2];
		char *id;

		snprintf(sql, sizeof(sql),
			 "SELECT id FROM _prisma_migrations WHERE migration_name = '%s'", name);
		id = q(t, sql);
		assert_non_null(id);
		assert_int_equal(regexec(&uuid, id, 0, NULL, 0), 0);
		free(id);
		snprintf(sql, sizeof(sql),
			 "SELECT concat_ws('|', checksum, finished_at >= started_at, "
			 "applied_steps_count, logs IS NULL, rolled_back_at IS NULL) "
			 "FROM _prisma_migrations WHERE migration_name = '%s'",
			 name);
		got = q(t, sql);
		snprintf(sql, sizeof(sql), "%s|t|1|t|t", i == 0 ? sum_init : sum_posts);
		assert_string_equal(got, sql);
		free(got);
	}
	regfree(&uuid);
	expect_q(t, "SELECT count(*) FROM _prisma_migrations", "2");
	expect_q(t,
		 "SELECT bool_and(a.started_at < b.started_at) FROM _prisma_migrations a, "
		 "_prisma_migrations b WHERE a.migration_name = '20250101000000_init' AND "
		 "b.migration_name = '20250102000000_posts'",
		 "t");

	/* a second run applies nothing */
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	expect_in(&t->out, "stdout", "No pending migrations to apply.");
	assert_null(strstr(px_buf_cstr(&t->out), "Applying"));
	expect_q(t, "SELECT count(*) FROM _prisma_migrations", "2");
	free(sum_init);
	free(sum_posts);
}

static void test_failure_blocks_until_resolved(void **state)
{
	struct t *t = *state;
	static const char bad[] = "CREATE TABLE half (id int);\nSELECT nosuchcolumn FROM half;\n";
	static const char fixed[] = "CREATE TABLE half (id int);\n";
	const char *const m[] = {"20250101000000_init",  init_sql, "20250102000000_broken", bad,
				 "20250103000000_posts", posts_sql};
	char *logs, *sum_fixed = checksum_of(fixed), *got;

	project(t, m, 6);
	assert_int_equal(migrate(t, "--no-sync", NULL), 1);
	expect_in(&t->out, "stdout", "Applying migration `20250102000000_broken`");
	assert_null(strstr(px_buf_cstr(&t->out), "20250103000000_posts"));
	expect_in(&t->err, "stderr", "P3018");
	expect_in(&t->err, "stderr", "Database error code: 42703");

	/* the failed row: unfinished, with Prisma's logs; the script left nothing behind */
	logs = q(t, "SELECT logs FROM _prisma_migrations WHERE finished_at IS NULL AND "
		    "migration_name = '20250102000000_broken'");
	assert_non_null(logs);
	assert_non_null(strstr(logs, "A migration failed to apply. New migrations cannot be "
				     "applied before the error is recovered from."));
	assert_non_null(strstr(logs,
			       "Migration name: 20250102000000_broken\n\n"
			       "Database error code: 42703\n\nDatabase error:\nERROR: column"));
	assert_non_null(strstr(logs, "column \"nosuchcolumn\" does not exist"));
	assert_non_null(strstr(logs, "\n\nPosition:\n  1CREATE TABLE half (id int);\n  2SELECT"));
	free(logs);
	expect_q(t,
		 "SELECT concat_ws('|', applied_steps_count, rolled_back_at IS NULL) FROM "
		 "_prisma_migrations WHERE migration_name = '20250102000000_broken'",
		 "0|t");
	expect_q(t, "SELECT to_regclass('half') IS NULL", "t");
	expect_q(t,
		 "SELECT count(*) FROM _prisma_migrations WHERE migration_name = "
		 "'20250103000000_posts'",
		 "0");

	/* refused while the failure is unresolved, even with the script fixed */
	harness_write_file(t->dir.root, "prisma/migrations/20250102000000_broken/migration.sql", fixed);
	assert_int_equal(migrate(t, "--no-sync", NULL), 1);
	expect_in(&t->err, "stderr", "P3009");
	expect_in(&t->err, "stderr", "The `20250102000000_broken` migration started at ");
	assert_null(strstr(px_buf_cstr(&t->out), "Applying"));

	/* resolve: the errors first */
	assert_int_equal(migrate(t, "resolve", "--rolled-back", "20250109000000_nosuch", NULL), 1);
	expect_in(&t->err, "stderr", "P3011");
	assert_int_equal(migrate(t, "resolve", "--rolled-back", "20250101000000_init", NULL), 1);
	expect_in(&t->err, "stderr", "P3012");
	assert_int_equal(migrate(t, "resolve", NULL), 2);
	assert_int_equal(migrate(t, "resolve", "--applied", "a", "--rolled-back", "b", NULL), 2);

	assert_int_equal(migrate(t, "resolve", "--rolled-back", "20250102000000_broken", NULL), 0);
	expect_in(&t->out, "stdout", "Migration 20250102000000_broken marked as rolled back.");
	expect_q(t,
		 "SELECT rolled_back_at IS NOT NULL AND finished_at IS NULL FROM "
		 "_prisma_migrations WHERE migration_name = '20250102000000_broken'",
		 "t");

	/* now the fixed script runs again, then the rest */
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	expect_in(&t->out, "stdout", "Applying migration `20250102000000_broken`");
	expect_in(&t->out, "stdout", "Applying migration `20250103000000_posts`");
	assert_null(strstr(px_buf_cstr(&t->out), "Applying migration `20250101000000_init`"));
	got = q(t, "SELECT string_agg(concat_ws('|', checksum, finished_at IS NOT NULL, "
		   "rolled_back_at IS NOT NULL), ',' ORDER BY started_at) FROM _prisma_migrations "
		   "WHERE migration_name = '20250102000000_broken'");
	assert_non_null(strstr(got, "|f|t,"));
	assert_non_null(strstr(got, sum_fixed));
	assert_non_null(strstr(got, "|t|f"));
	free(got);
	expect_q(t, "SELECT count(*) FROM _prisma_migrations", "4");
	free(sum_fixed);
}

static void test_baseline_and_not_empty(void **state)
{
	struct t *t = *state;
	const char *const m[] = {"20250101000000_init", init_sql, "20250102000000_posts",
				 posts_sql};
	char *sum_init = checksum_of(init_sql), *got, *want = NULL;
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;

	project(t, m, 4);
	/* a database made before Prisma Migrate: its tables exist, no history */
	if (db_connect(&c, t->url, 5, &err) < 0 || db_exec(c, init_sql, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	db_close(c);
	assert_int_equal(migrate(t, "--no-sync", NULL), 1);
	expect_in(&t->err, "stderr", "P3005");
	expect_q(t, "SELECT to_regclass('_prisma_migrations') IS NULL", "t");

	assert_int_equal(migrate(t, "resolve", "--applied", "20250109000000_nosuch", NULL), 1);
	expect_in(&t->err, "stderr", "P3017");
	assert_int_equal(migrate(t, "resolve", "--applied", "20250101000000_init", NULL), 0);
	expect_in(&t->out, "stdout", "Migration 20250101000000_init marked as applied.");
	got = q(t,
		"SELECT concat_ws('|', checksum, logs, finished_at = started_at, "
		"applied_steps_count, rolled_back_at IS NULL, length(id)) FROM _prisma_migrations");
	xasprintf(&want, "%s||t|0|t|36", sum_init);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(migrate(t, "resolve", "--applied", "20250101000000_init", NULL), 1);
	expect_in(&t->err, "stderr", "P3008");

	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	assert_null(strstr(px_buf_cstr(&t->out), "Applying migration `20250101000000_init`"));
	expect_in(&t->out, "stdout", "Applying migration `20250102000000_posts`");
	expect_q(t, "SELECT count(*) FROM _prisma_migrations", "2");
	free(sum_init);
	free(want);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_advisory_lock(void **state)
{
	struct t *t = *state;
	const char *const m[] = {"20250101000000_init", init_sql};
	struct px_error err = PX_ERROR_INIT;
	double start, took;

	project(t, m, 2);
	/* Prisma's lock held by another session of the same database (advisory locks are
	 * per database) */
	if (db_connect(&t->holder, t->url, 5, &err) < 0 ||
	    db_exec(t->holder, "SELECT pg_advisory_lock(72707369)", &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	setenv("PRISYNC_MIGRATE_LOCK_TIMEOUT", "2", 1);
	start = now_s();
	assert_int_equal(migrate(t, "--no-sync", NULL), 1);
	took = now_s() - start;
	expect_in(&t->err, "stderr", "advisory lock");
	if (took < 1.9)
		fail_msg("migrate gave up after %.2f s, before the 2 s timeout", took);
	/* it waited before touching anything */
	expect_q(t, "SELECT to_regclass('_prisma_migrations') IS NULL", "t");
	assert_int_equal(migrate(t, "resolve", "--applied", "20250101000000_init", NULL), 1);
	expect_in(&t->err, "stderr", "advisory lock");
	expect_q(t, "SELECT to_regclass('_prisma_migrations') IS NULL", "t");

	/* released: it runs, and holds the lock no longer than its connection */
	db_close(t->holder);
	t->holder = NULL;
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	expect_q(t, "SELECT count(*) FROM _prisma_migrations", "1");
	expect_q(t, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0");
}

/* Prisma's schema= puts the history table in that schema; behind PgBouncer (pgbouncer=true),
 * which refuses the startup option, the search_path is set by a statement instead. */
static void test_schema_param_and_pgbouncer(void **state)
{
	struct t *t = *state;
	const char *const m[] = {"20250101000000_init", init_sql, "20250102000000_posts",
				 posts_sql};
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;
	char *url = NULL;
	json_error_t jerr;
	json_t *doc, *s;

	if (db_connect(&c, t->url, 5, &err) < 0 || db_exec(c, "CREATE SCHEMA other", &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	db_close(c);
	xasprintf(&url, "%s?schema=other&connection_limit=5&pool_timeout=20", t->url);
	project_url(t, url, m, 4);
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	expect_in(&t->out, "stdout", "schema \"other\"");
	expect_q(t, "SELECT count(*) FROM other._prisma_migrations", "2");
	expect_q(t, "SELECT to_regclass('other.posts') IS NOT NULL", "t");
	expect_q(t, "SELECT to_regclass('public._prisma_migrations') IS NULL", "t");

	/* the same database through a PgBouncer-style URL: the same history */
	free(url);
	xasprintf(&url, "%s?schema=other&pgbouncer=true", t->url);
	project_url(t, url, m, 4);
	px_buf_reset(&t->out);
	px_buf_reset(&t->err);
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
					 "db-check", "--json", NULL),
			 0);
	doc = json_loads(px_buf_cstr(&t->out), 0, &jerr);
	if (doc == NULL)
		fail_msg("db-check --json: %s:\n%s", jerr.text, px_buf_cstr(&t->out));
	s = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_true(json_is_true(json_object_get(s, "hasMigrationsTable")));
	assert_true(json_is_true(json_object_get(s, "upToDate")));
	assert_int_equal(json_array_size(json_object_get(s, "appliedMigrations")), 2);
	json_decref(doc);
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	expect_in(&t->out, "stdout", "No pending migrations to apply.");
	free(url);
}

/* Prisma 6's CLI as a user configures it for the pg driver adapter: its schema engine is
 * then Wasm, nothing is downloaded, and `migrate status` runs offline.  idleTimeoutMillis:
 * without it an up-to-date status waits 10 s for pg's idle pool before node exits. */
static const char prisma6_config[] =
    "import { defineConfig } from 'prisma/config';\n"
    "import { PrismaPg } from '@prisma/adapter-pg';\n"
    "export default defineConfig({\n"
    "  experimental: { adapter: true },\n"
    "  engine: 'js',\n"
    "  schema: 'prisma/schema.prisma',\n"
    "  async adapter() {\n"
    "    return new PrismaPg({ connectionString: process.env.DATABASE_URL, idleTimeoutMillis: 1 });\n"
    "  },\n"
    "});\n";

/* What `prisma migrate status` printed: the names under its "Following migration(s) have
 * <what>:" header, space-separated ("" when it has no such list). */
static char *prisma_list(const struct px_buf *out, const char *what)
{
	struct px_buf names = PX_BUF_INIT;
	const char *p = px_buf_cstr(out), *h;
	char header[64];

	snprintf(header, sizeof(header), " have %s:\n", what);
	h = strstr(p, header);
	if (h != NULL && strncmp(h - 9, "migration", 9) != 0 && strncmp(h - 10, "migrations", 10) != 0)
		h = NULL;
	for (p = h != NULL ? h + strlen(header) : ""; *p != '\0' && *p != '\n';) {
		const char *nl = strchrnul(p, '\n');

		px_buf_addf(&names, "%s%.*s", names.len > 0 ? " " : "", (int)(nl - p), p);
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return px_buf_detach(&names, NULL);
}

/* prisync db-check --json's names: the key's array, or with state != NULL the migrations
 * in that state. */
static char *our_list(json_t *s, const char *key, const char *state)
{
	struct px_buf names = PX_BUF_INIT;
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(s, key), i, v)
	{
		const char *name = state != NULL ? json_string_value(json_object_get(v, "name"))
						 : json_string_value(v);

		if (state == NULL ||
		    strcmp(json_string_value(json_object_get(v, "state")) ?: "", state) == 0)
			px_buf_addf(&names, "%s%s", names.len > 0 ? " " : "", name);
	}
	return px_buf_detach(&names, NULL);
}

/*
 * One step: `prisma migrate status` and `prisync db-check --json` on the same database.
 * Prisma prints one list -- the migrations with no row ("not yet applied") or else the
 * failed ones -- and exits 1 for either; prisync reports both lists and the exit code
 * Prisma gives.  want_pending/want_failed are what Prisma must print, so the step also
 * checks the state the test built.
 */
static void agree(struct t *t, const char *cli, const char *want_pending, const char *want_failed,
		  int want_exit)
{
	struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
	char *env = NULL, *got;
	json_error_t jerr;
	json_t *doc, *s;
	int code;

	xasprintf(&env, "DATABASE_URL=%s", t->url);
	code = harness_node(t->dir.root, &out, &err, (const char *[]){cli, "migrate", "status", NULL},
			    env, 120000);
	if (code != want_exit)
		fail_msg("prisma migrate status exited %d, want %d:\n%s\n%s", code, want_exit,
			 px_buf_cstr(&out), px_buf_cstr(&err));
	/* the failed list goes to stderr */
	px_buf_add(&out, px_buf_cstr(&err), err.len);
	got = prisma_list(&out, "not yet been applied");
	if (strcmp(got, want_pending) != 0)
		fail_msg("prisma: not yet applied '%s', want '%s':\n%s", got, want_pending,
			 px_buf_cstr(&out));
	free(got);
	got = prisma_list(&out, "failed");
	if (strcmp(got, want_failed) != 0)
		fail_msg("prisma: failed '%s', want '%s':\n%s", got, want_failed, px_buf_cstr(&out));
	free(got);
	if (want_exit == 0)
		expect_in(&out, "prisma migrate status", "Database schema is up to date!");

	px_buf_reset(&t->out);
	px_buf_reset(&t->err);
	code = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			       "db-check", "--json", NULL);
	doc = json_loads(px_buf_cstr(&t->out), 0, &jerr);
	if (doc == NULL)
		fail_msg("db-check --json: %s:\n%s%s", jerr.text, px_buf_cstr(&t->out),
			 px_buf_cstr(&t->err));
	s = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "prismaStatusExitCode")), want_exit);
	/* Prisma's "not yet applied" = migrations without any row */
	got = our_list(s, "migrations", "pending");
	assert_string_equal(got, want_pending);
	free(got);
	/* Prisma lists failed migrations only when nothing lacks a row; prisync always */
	got = our_list(s, "failedMigrations", NULL);
	if (want_pending[0] == '\0')
		assert_string_equal(got, want_failed);
	free(got);
	/* both say "in order" together */
	assert_int_equal(code == 0, want_exit == 0 && json_is_true(json_object_get(s, "upToDate")));
	json_decref(doc);
	px_buf_release(&out);
	px_buf_release(&err);
	free(env);
}

static void test_prisma_cli_agrees(void **state)
{
	struct t *t = *state;
	static const char bad[] = "SELECT nosuchcolumn FROM users;\n";
	static const char later_sql[] = "ALTER TABLE users ADD COLUMN nickname text;\n";
	const char *const m[] = {"20250101000000_init",   init_sql, "20250102000000_posts",
				 posts_sql,               "20250103000000_broken", bad,
				 "20250104000000_later", later_sql};
	char *cli = NULL, *later = NULL, *aside = NULL;

	project(t, m, 8);
	/* Prisma 6 wants the url attribute, even though the adapter replaces it */
	harness_write_file(t->dir.root, "prisma/schema.prisma",
		   "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n"
		   "model A {\n  id Int @id\n}\n");
	harness_write_file(t->dir.root, "prisma.config.ts", prisma6_config);
	harness_link_node_modules(t->dir.root, "PRISYNC_TEST_PRISMA6");
	xasprintf(&cli, "%s/node_modules/prisma/build/index.js", harness_env("PRISYNC_TEST_PRISMA6"));

	/* a fresh database: everything pending */
	agree(t, cli,
	      "20250101000000_init 20250102000000_posts 20250103000000_broken 20250104000000_later",
	      "", 1);
	/* prisync's run stops at the broken one: one failed, one behind it pending */
	assert_int_equal(migrate(t, "--no-sync", NULL), 1);
	agree(t, cli, "20250104000000_later", "", 1);
	/* without the pending one, Prisma names the failure */
	later = px_path_join(t->dir.root, "prisma/migrations/20250104000000_later");
	xasprintf(&aside, "%s/later-aside", t->dir.root);
	if (rename(later, aside) < 0)
		fail_msg("rename: %s", strerror(errno));
	agree(t, cli, "", "20250103000000_broken", 1);
	/* rolled back (and fixed): a row exists, so Prisma has nothing to list */
	assert_int_equal(migrate(t, "resolve", "--rolled-back", "20250103000000_broken", NULL), 0);
	harness_write_file(t->dir.root, "prisma/migrations/20250103000000_broken/migration.sql",
		   "CREATE TABLE fixed (id int);\n");
	agree(t, cli, "", "", 0);
	/* everything applied by prisync: Prisma finds its history in order */
	if (rename(aside, later) < 0)
		fail_msg("rename: %s", strerror(errno));
	assert_int_equal(migrate(t, "--no-sync", NULL), 0);
	agree(t, cli, "", "", 0);
	free(cli);
	free(later);
	free(aside);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_deploy_fresh_then_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_blocks_until_resolved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_baseline_and_not_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_advisory_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_param_and_pgbouncer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prisma_cli_agrees, setup, teardown),
	};

	return cmocka_run_group_tests_name("e2e_migrate", tests, NULL, NULL);
}
