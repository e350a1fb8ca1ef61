/* test_db_check.c - `prisync db-check` against real PostgreSQL: each failure class produced
 * for real (refused, bad password, missing database) with its explanation, a password full
 * of special characters that never appears in any output, a compose service reached through
 * its published port, a Prisma-style URL; every migration state, in two databases of two
 * schemas checked in one run; and statements bounded in time (db_set_timeout). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "prisma/prisma.h"
#include "tests/harness/harness.h"

#define RUN_TIMEOUT_MS 120000

/* Every character a URL must encode, and then some. */
static const char password[] = "p@ss:w/rd?#[]% x";
static const char wrong[] = "Wr0ng@:/?#[]%";

struct t {
	struct harness_dir dir;
	char project[64];
	struct px_buf out, err;
	char *databases[4]; /* created on the harness server, dropped in teardown */
	size_t ndatabases;
};

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	snprintf(t->project, sizeof(t->project), "pxdb-%d-%d", (int)getpid(), ++seq);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	struct px_error perr = PX_ERROR_INIT;
	struct db_conn *c = NULL;
	int left = harness_project_down(&t->dir, t->project);

	if (t->ndatabases > 0 && db_connect(&c, harness_env("PRISYNC_TEST_PG_URL"), 5, &perr) == 0) {
		for (size_t i = 0; i < t->ndatabases; i++)
			db_database_drop(c, t->databases[i], true, &perr);
		db_close(c);
	}
	for (size_t i = 0; i < t->ndatabases; i++)
		free(t->databases[i]);
	px_error_clear(&perr);
	px_buf_release(&t->out);
	px_buf_release(&t->err);
	harness_dir_remove(&t->dir);
	free(t);
	return left == 0 ? 0 : -1;
}

static const char schema_text[] = "datasource db {\n  provider = \"postgresql\"\n}\n"
				  "model A {\n  id Int @id\n}\n";

/* The JSON object of schema name in a db-check --json document. */
static json_t *schema_of(json_t *doc, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(doc, "schemas"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "schema")) ?: "", name) == 0)
			return s;
	}
	fail_msg("no schema %s in the answer", name);
	return NULL;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Neither password, raw or as the URL spells it (percent-encoded), in any output. */
static void no_password_in(const struct t *t, const char *what)
{
	const char *texts[] = {px_buf_cstr(&t->out), px_buf_cstr(&t->err)};
	char *forms[] = {xstrdup(password), xstrdup(wrong), db_url_encode_password(password),
			 db_url_encode_password(wrong)};

	for (size_t i = 0; i < 2; i++) {
		for (size_t k = 0; k < 4; k++) {
			if (strstr(texts[i], forms[k]) != NULL)
				fail_msg("%s printed a password:\n%s", what, texts[i]);
		}
	}
	for (size_t k = 0; k < 4; k++)
		free(forms[k]);
}

static void test_failure_classes(void **state)
{
	struct t *t = *state;
	char *enc = db_url_encode_password(password), *enc_wrong = db_url_encode_password(wrong);
	char *yaml = NULL;
	json_error_t jerr;
	json_t *doc, *s;
	int rc;

	harness_write_file(t->dir.root, "prisma/schema.prisma", schema_text);
	xasprintf(&yaml,
		  "x-test: &test\n"
		  "  prisync-test.run: ${PRISYNC_TEST_RUN:-none}\n"
		  "services:\n"
		  "  db:\n"
		  "    image: ${PRISYNC_TEST_IMAGE_POSTGRES}\n"
		  "    labels: *test\n"
		  "    environment:\n"
		  "      POSTGRES_USER: app\n"
		  "      POSTGRES_PASSWORD: '%s'\n"
		  "      POSTGRES_DB: app\n"
		  "    ports: [\"127.0.0.1::5432\"]\n"
		  "    healthcheck:\n"
		  "      test: [\"CMD\", \"pg_isready\", \"-U\", \"app\", \"-d\", \"app\"]\n"
		  "      interval: 1s\n"
		  "      retries: 60\n"
		  "networks:\n"
		  "  default:\n"
		  "    labels: *test\n"
		  "x-prisync:\n"
		  "  schemas:\n"
		  "    - {name: ok, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: 'postgresql://app:%s@db:5432/app'}\n"
		  "    - {name: prismaurl, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: "
		  "'postgresql://app:%s@db:5432/app?schema=other&connection_limit=5&pool_timeout=20'}\n"
		  "    - {name: badpassword, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: 'postgresql://app:%s@db:5432/app'}\n"
		  "    - {name: nodb, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: 'postgresql://app:%s@db:5432/nosuchdb'}\n"
		  "    - {name: refused, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: 'postgresql://app:%s@127.0.0.1:1/app'}\n",
		  password, enc, enc, enc_wrong, enc, enc);
	harness_write_file(t->dir.root, "compose.yaml", yaml);
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "up", "-d",
			     "--wait", "--no-supervisor", NULL);
	if (rc != 0)
		fail_msg("up: %s", px_buf_cstr(&t->err));

	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", "--json", "--retries", "0", "--timeout", "3", NULL);
	no_password_in(t, "db-check --json");
	assert_int_equal(rc, 2); /* one database cannot be reached */
	doc = json_loads(px_buf_cstr(&t->out), 0, &jerr);
	if (doc == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, px_buf_cstr(&t->out));

	s = schema_of(doc, "ok");
	assert_true(json_is_true(json_object_get(s, "reachable")));
	assert_string_equal(str(json_object_get(s, "via"), "host"), "127.0.0.1");
	assert_string_equal(str(s, "url"), "postgresql://app:****@db:5432/app");
	assert_non_null(strstr(str(s, "serverVersion"), "15."));
	assert_false(json_is_true(json_object_get(s, "managed"))); /* no _prisma_migrations */

	s = schema_of(doc, "prismaurl");
	assert_true(json_is_true(json_object_get(s, "reachable")));

	s = schema_of(doc, "badpassword");
	assert_false(json_is_true(json_object_get(s, "reachable")));
	assert_string_equal(str(s, "failure"), "auth-failed");
	assert_non_null(strstr(str(s, "error"), "password authentication failed"));

	s = schema_of(doc, "nodb");
	assert_string_equal(str(s, "failure"), "no-database");
	assert_non_null(strstr(str(s, "recommendation"), "prisync db-create"));

	s = schema_of(doc, "refused");
	assert_string_equal(str(s, "failure"), "refused");
	assert_non_null(strstr(str(s, "recommendation"), "prisync ps"));
	json_decref(doc);

	/* the screen says the same, and never the password either */
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", "--retries", "0", "--timeout", "3", NULL);
	no_password_in(t, "db-check");
	assert_int_equal(rc, 2);
	assert_non_null(strstr(px_buf_cstr(&t->out), "reachable  no — auth-failed"));
	assert_non_null(strstr(px_buf_cstr(&t->out), "database 'nosuchdb' does not exist"));
	/* narrowed to the missing database: needs action, not unreachable */
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", "--schema", "nodb", NULL);
	assert_int_equal(rc, 1);
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p",
					 t->project, "db-check", "--schema", "nosuch", NULL),
			 2);
	free(yaml);
	free(enc);
	free(enc_wrong);
}

/* A database of its own on the harness server, with _prisma_migrations as Prisma makes it. */
static char *make_database(struct t *t, const char *suffix)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;
	char *name = NULL, *url = NULL;

	xasprintf(&name, "pxdb_%d_%s", (int)getpid(), suffix);
	if (db_connect(&c, harness_env("PRISYNC_TEST_PG_URL"), 5, &err) < 0 ||
	    db_database_create(c, name, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	db_close(c);
	t->databases[t->ndatabases++] = name;
	xasprintf(&url, "postgresql://%s@127.0.0.1:%s/%s", harness_env("PRISYNC_TEST_PG_USER"),
		  harness_env("PRISYNC_TEST_PG_PORT"), name);
	return url;
}

static void sql(const char *url, const char *text)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;

	if (db_connect(&c, url, 5, &err) < 0 || db_exec(c, text, &err) < 0)
		fail_msg("%s: %s", text, px_error_msg(&err));
	db_close(c);
}

static char *checksum_of(const char *text)
{
	char sum[65];

	assert_int_equal(prisma_checksum(text, strlen(text), sum), 0);
	return xstrdup(sum);
}

static void expect_names(json_t *s, const char *key, const char *want)
{
	struct px_buf got = PX_BUF_INIT;
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(s, key), i, v)
		px_buf_addf(&got, "%s%s", i ? " " : "", json_string_value(v));
	if (strcmp(px_buf_cstr(&got), want) != 0)
		fail_msg("%s: got '%s', want '%s'", key, px_buf_cstr(&got), want);
	px_buf_release(&got);
}

static void test_migration_states_two_databases(void **state)
{
	struct t *t = *state;
	static const char *const names[] = {"20250101000000_applied", "20250102000000_modified",
					    "20250103000000_failed", "20250104000000_rolled_back",
					    "20250105000000_pending"};
	char *a = make_database(t, "a"), *b = make_database(t, "b"), *yaml = NULL, *rows = NULL;
	char *sum_applied, *sum_old, *sum_failed, *sum_rb;
	json_error_t jerr;
	json_t *doc, *s;
	int rc;

	harness_write_file(t->dir.root, "a/schema.prisma", schema_text);
	harness_write_file(t->dir.root, "b/schema.prisma", schema_text);
	for (size_t i = 0; i < 5; i++) {
		char *rel = NULL, *text = NULL;

		xasprintf(&rel, "a/migrations/%s/migration.sql", names[i]);
		xasprintf(&text, "CREATE TABLE t%zu (id int);\n", i);
		harness_write_file(t->dir.root, rel, text);
		free(rel);
		free(text);
	}
	harness_write_file(t->dir.root, "a/migrations/migration_lock.toml", "provider = \"postgresql\"\n");
	harness_write_file(t->dir.root, "b/migrations/20250101000000_init/migration.sql", "SELECT 1;\n");
	harness_write_file(t->dir.root, "b/migrations/migration_lock.toml", "provider = \"mysql\"\n");
	xasprintf(&yaml,
		  "services:\n"
		  "  app: {image: busybox}\n"
		  "x-prisync:\n"
		  "  schemas:\n"
		  "    - {name: core, schema: a/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: '%s'}\n"
		  "    - {name: billing, schema: b/schema.prisma, run-in: host, restart: [],\n"
		  "       database-url: '%s'}\n",
		  a, b);
	harness_write_file(t->dir.root, "compose.yaml", yaml);

	/* the rows Prisma would have left: applied, applied then edited, failed, rolled
	 * back, none for pending, and one from another branch */
	sum_applied = checksum_of("CREATE TABLE t0 (id int);\n");
	sum_old = checksum_of("CREATE TABLE before_the_edit (id int);\n");
	sum_failed = checksum_of("CREATE TABLE t2 (id int);\n");
	sum_rb = checksum_of("CREATE TABLE t3 (id int);\n");
	sql(a, PRISMA_MIGRATIONS_TABLE_DDL);
	xasprintf(&rows,
		  "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, "
		  "rolled_back_at, started_at, applied_steps_count) VALUES "
		  "('1', '%s', now(), '%s', NULL, NULL, now() - interval '5 min', 1),"
		  "('2', '%s', now(), '%s', NULL, NULL, now() - interval '4 min', 1),"
		  "('3', '%s', NULL, '%s', 'ERROR: boom', NULL, now() - interval '3 min', 0),"
		  "('4', '%s', NULL, '%s', NULL, now(), now() - interval '2 min', 0),"
		  "('5', '%s', now(), '20240101000000_other_branch', NULL, NULL, "
		  "now() - interval '6 min', 1)",
		  sum_applied, names[0], sum_old, names[1], sum_failed, names[2], sum_rb, names[3],
		  sum_applied);
	sql(a, rows);

	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", "--json", NULL);
	assert_int_equal(rc, 1);
	doc = json_loads(px_buf_cstr(&t->out), 0, &jerr);
	if (doc == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, px_buf_cstr(&t->out));
	s = schema_of(doc, "core");
	assert_false(json_is_true(json_object_get(s, "upToDate")));
	expect_names(s, "appliedMigrations", "20250101000000_applied");
	expect_names(s, "modifiedMigrations", "20250102000000_modified");
	expect_names(s, "failedMigrations", "20250103000000_failed");
	expect_names(s, "rolledBackMigrations", "20250104000000_rolled_back");
	/* what deploy would apply: a rolled-back migration is applied again */
	expect_names(s, "pendingMigrations", "20250104000000_rolled_back 20250105000000_pending");
	expect_names(s, "missingLocally", "20240101000000_other_branch");
	assert_string_equal(str(s, "dbType"), "postgresql");
	assert_non_null(str(s, "recommendation"));
	s = schema_of(doc, "billing");
	assert_true(json_is_true(json_object_get(s, "providerMismatch")));
	assert_string_equal(str(s, "lockProvider"), "mysql");
	json_decref(doc);

	/* the screen: both databases, each with its next step */
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->out), "core  (database-url in compose.yaml)"));
	assert_non_null(strstr(px_buf_cstr(&t->out), "billing  (database-url in compose.yaml)"));
	assert_non_null(strstr(px_buf_cstr(&t->out), "20240101000000_other_branch"));
	assert_non_null(strstr(px_buf_cstr(&t->out), "missing locally"));
	free(a);
	free(b);
	free(yaml);
	free(rows);
	free(sum_applied);
	free(sum_old);
	free(sum_failed);
	free(sum_rb);
}

/* db-create: the database made once, left alone after; db-reset: refused unconfirmed or for
 * a host elsewhere, else dropped (sessions still connected ended), created, migrated. */
static void test_db_create_and_reset(void **state)
{
	struct t *t = *state;
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *held = NULL;
	char *yaml = NULL, *url = NULL, *name = NULL, *one = NULL;
	int rc;

	xasprintf(&name, "pxdb_%d_c", (int)getpid());
	t->databases[t->ndatabases++] = xstrdup(name); /* dropped in teardown */
	xasprintf(&url, "postgresql://%s@127.0.0.1:%s/%s", harness_env("PRISYNC_TEST_PG_USER"),
		  harness_env("PRISYNC_TEST_PG_PORT"), name);
	harness_write_file(t->dir.root, "prisma/schema.prisma", schema_text);
	harness_write_file(t->dir.root, "prisma/migrations/20250101000000_init/migration.sql",
		   "CREATE TABLE a (id int);\n");
	xasprintf(&yaml,
		  "services:\n"
		  "  app: {image: busybox}\n"
		  "x-prisync:\n"
		  "  schemas:\n"
		  "    - {name: main, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       generate: [\"true\"], database-url: '%s'}\n"
		  "    - {name: far, schema: prisma/schema.prisma, run-in: host, restart: [],\n"
		  "       generate: [\"true\"], database-url: 'postgresql://u:p@db.example.invalid/x'}\n",
		  url);
	harness_write_file(t->dir.root, "compose.yaml", yaml);

	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", "--schema", "main", "--retries", "0", NULL);
	assert_int_equal(rc, 1); /* missing database: needs action */
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-create", "--schema", "main", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(px_buf_cstr(&t->err), "database '"));
	assert_non_null(strstr(px_buf_cstr(&t->err), "' created"));
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-create", "--schema", "main", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(px_buf_cstr(&t->err), "already exists"));

	/* unconfirmed (no terminal, no --yes), or elsewhere without --force: refused */
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-reset", "--schema", "main", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "not confirmed — run with --yes"));
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-reset", "--schema", "far", "--yes", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "needs --force"));

	/* a session still connected does not stop the reset */
	sql(url, "CREATE TABLE leftover (id int)");
	if (db_connect(&held, url, 5, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-reset", "--schema", "main", "--yes", "--no-sync", NULL);
	if (rc != 0)
		fail_msg("db-reset: %s%s", px_buf_cstr(&t->out), px_buf_cstr(&t->err));
	assert_non_null(strstr(px_buf_cstr(&t->out), "Applying migration `20250101000000_init`"));
	assert_int_equal(db_query_value(held, "SELECT 1", 0, NULL, &one, &err), -1); /* ended */
	px_error_clear(&err);
	db_close(held);
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "db-check", "--schema", "main", "--json", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(px_buf_cstr(&t->out), "\"upToDate\": true"));
	{
		char *gone = NULL;
		struct db_conn *c = NULL;

		if (db_connect(&c, url, 5, &err) < 0 ||
		    db_query_value(c, "SELECT to_regclass('leftover') IS NULL", 0, NULL, &gone,
				   &err) < 0)
			fail_msg("%s", px_error_msg(&err));
		assert_string_equal(gone, "t"); /* the old data went with the old database */
		free(gone);
		db_close(c);
	}
	free(one);
	free(yaml);
	free(url);
	free(name);
}

/*
 * Statements bound by db_set_timeout, on the harness server: a server that does not answer
 * in time (pg_sleep here; a paused container in test_status) fails the statement with
 * ETIMEDOUT at the bound instead of when TCP gives up; the connection is refused at once
 * afterwards.  Within the bound nothing changes: several statements in one db_exec, the
 * server's own errors, the connection usable after one.
 */
static void test_query_timeout(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;
	char *v = NULL;

	(void)state;
	if (db_connect(&c, harness_env("PRISYNC_TEST_PG_URL"), 5, &err) < 0)
		fail_msg("connect: %s", px_error_msg(&err));
	/* unbounded: the answer comes, however late */
	assert_int_equal(db_query_value(c, "SELECT pg_sleep(0.3)::text || 'x'", 0, NULL, &v, &err),
			 0);
	assert_string_equal(v, "x");
	free(v);

	db_set_timeout(c, 5000);
	assert_int_equal(db_exec(c, "CREATE TEMP TABLE t1 (a int); INSERT INTO t1 VALUES (7)", &err),
			 0);
	assert_int_equal(db_query_value(c, "SELECT a::text FROM t1", 0, NULL, &v, &err), 0);
	assert_string_equal(v, "7");
	free(v);
	assert_int_equal(db_query_value(c, "SELECT no_such_column FROM t1", 0, NULL, &v, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "no_such_column"));
	assert_int_not_equal(err.errnum, ETIMEDOUT);
	px_error_clear(&err);
	/* the first failing statement of several is the answer, as PQexec gives it */
	assert_int_equal(db_exec(c, "SELECT 1; SELECT no_such_thing; SELECT 2", &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "no_such_thing"));
	px_error_clear(&err);
	assert_int_equal(db_query_value(c, "SELECT count(*)::text FROM t1", 0, NULL, &v, &err), 0);
	assert_string_equal(v, "1");
	free(v);

	db_set_timeout(c, 200);
	v = NULL;
	assert_int_equal(db_query_value(c, "SELECT pg_sleep(3)::text", 0, NULL, &v, &err), -1);
	assert_null(v);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(px_error_msg(&err), "did not answer within 0.2 s"));
	px_error_clear(&err);
	/* given up: at once, whatever the bound now */
	db_set_timeout(c, 5000);
	assert_int_equal(db_exec(c, "SELECT 1", &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(px_error_msg(&err), "stopped answering"));
	px_error_clear(&err);
	db_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_timeout),
	    cmocka_unit_test_setup_teardown(test_failure_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_states_two_databases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_db_create_and_reset, setup, teardown),
	};

	return cmocka_run_group_tests_name("e2e_db_check", tests, NULL, NULL);
}
