/* test_status.c - `prisync status` on a real stack: in sync with a running supervisor
 * (its state, the services, the last sync, the database on the supervisor's connection);
 * a pending migration is a problem with the command that fixes it; without the supervisor
 * the same answers come from the last recorded sync and a connection of its own; a stopped
 * service is a problem too; a paused database holds up neither the status (bounded) nor,
 * meanwhile, the supervisor's other work. */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "engine/engine.h"
#include "supervisor/supervisor.h"
#include "tests/harness/harness.h"

#define RUN_TIMEOUT_MS 120000

struct t {
	struct harness_dir dir;
	char project[64];
	struct px_buf out, err;
};

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	snprintf(t->project, sizeof(t->project), "pxst-%d-%d", (int)getpid(), ++seq);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	int left = harness_project_down(&t->dir, t->project);

	px_buf_release(&t->out);
	px_buf_release(&t->err);
	harness_dir_remove(&t->dir);
	free(t);
	return left == 0 ? 0 : -1;
}

static int prisync(struct t *t, const char *a, const char *b, const char *c)
{
	px_buf_reset(&t->out);
	px_buf_reset(&t->err);
	return harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, a, b,
			       c, NULL);
}

/* `status --json`: its exit code, and the document in *doc (owned). */
static int status_json(struct t *t, json_t **doc)
{
	json_error_t jerr;
	int rc = prisync(t, "status", "--json", NULL);

	*doc = json_loads(px_buf_cstr(&t->out), 0, &jerr);
	if (*doc == NULL)
		fail_msg("status --json (exit %d): %s:\n%s\n%s", rc, jerr.text, px_buf_cstr(&t->out),
			 px_buf_cstr(&t->err));
	return rc;
}

static json_t *service(json_t *doc, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(doc, "services"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "name")) ?: "", name) == 0)
			return json_array_get(json_object_get(s, "containers"), 0);
	}
	fail_msg("no service %s", name);
	return NULL;
}

/* The problem of scope, or NULL. */
static json_t *problem_of(json_t *doc, const char *scope)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(doc, "problems"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "scope")) ?: "", scope) == 0)
			return p;
	}
	return NULL;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool supervisor_gone(void *data)
{
	struct t *t = data;
	json_t *doc;
	bool gone;

	status_json(t, &doc);
	gone = json_is_false(json_object_get(json_object_get(doc, "supervisor"), "running"));
	json_decref(doc);
	return gone;
}

/* The supervisor runs and its answer has the database reachable with this many pending
 * migrations. */
struct db_wait {
	struct t *t;
	size_t pending;
};

static bool db_answers(void *data)
{
	const struct db_wait *w = data;
	json_t *doc, *db;
	bool ok;

	status_json(w->t, &doc);
	db = json_object_get(json_array_get(json_object_get(doc, "schemas"), 0), "database");
	ok = json_is_true(json_object_get(json_object_get(doc, "supervisor"), "running")) &&
	     json_is_true(json_object_get(db, "reachable")) &&
	     json_is_array(json_object_get(db, "pendingMigrations")) &&
	     json_array_size(json_object_get(db, "pendingMigrations")) == w->pending;
	json_decref(doc);
	return ok;
}

/* The first migration of the test's schema and its lock file. */
static void write_init_migration(const struct t *t)
{
	harness_write_file(t->dir.root, "prisma/migrations/migration_lock.toml",
			   "provider = \"postgresql\"\n");
	harness_write_file(t->dir.root, "prisma/migrations/20250101000000_init/migration.sql",
			   "CREATE TABLE a (id int PRIMARY KEY);\n");
}

/* The stack up (healthy) and its database migrated, as a developer's day starts. */
static void up_migrated(struct t *t)
{
	if (prisync(t, "up", "-d", "--wait") != 0)
		fail_msg("up: %s", px_buf_cstr(&t->err));
	if (prisync(t, "migrate", "--no-sync", NULL) != 0)
		fail_msg("migrate: %s", px_buf_cstr(&t->err));
}

static void write_compose(const struct t *t)
{
	harness_write_file(t->dir.root, "compose.yaml",
		   "x-test: &test\n"
		   "  prisync-test.run: ${PRISYNC_TEST_RUN:-none}\n"
		   "services:\n"
		   "  db:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_POSTGRES}\n"
		   "    labels: *test\n"
		   "    environment: {POSTGRES_USER: app, POSTGRES_PASSWORD: pw, POSTGRES_DB: app}\n"
		   "    ports: [\"127.0.0.1::5432\"]\n"
		   "    healthcheck:\n"
		   "      test: [\"CMD\", \"pg_isready\", \"-U\", \"app\", \"-d\", \"app\"]\n"
		   "      interval: 1s\n"
		   "      retries: 60\n"
		   "  app:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		   "    labels: *test\n"
		   "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n"
		   "    depends_on:\n"
		   "      db: {condition: service_healthy}\n"
		   "      seed: {condition: service_completed_successfully}\n"
		   /* a one-shot job: exited 0 is where it belongs, not a problem */
		   "  seed:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		   "    labels: *test\n"
		   "    command: [\"true\"]\n"
		   "networks:\n"
		   "  default:\n"
		   "    labels: *test\n"
		   "x-prisync:\n"
		   "  schemas:\n"
		   "    - name: core\n"
		   "      schema: prisma/schema.prisma\n"
		   "      run-in: host\n"
		   "      generate: [\"true\"]\n"
		   "      restart: [app]\n"
		   "      database-url: postgresql://app:pw@db:5432/app\n");
}

static const char schema_v1[] = "generator client {\n  provider = \"prisma-client-js\"\n"
				"  output   = \"../generated/client\"\n}\n"
				"datasource db {\n  provider = \"postgresql\"\n}\n"
				"model A {\n  id Int @id\n}\n";

static void test_status_in_sync_and_problems(void **state)
{
	struct t *t = *state;
	json_t *doc, *sch, *db, *pr;
	json_int_t pid;

	harness_write_file(t->dir.root, "prisma/schema.prisma", schema_v1);
	/* a client generated from it, as prisma-client-js lays it out */
	harness_write_file(t->dir.root, "generated/client/index.js",
		   "const config = {\n  \"clientVersion\": \"6.19.3\",\n  \"inlineSchema\": "
		   "\"generator client {\\n  provider = \\\"prisma-client-js\\\"\\n  output   = "
		   "\\\"../generated/client\\\"\\n}\\ndatasource db {\\n  provider = "
		   "\\\"postgresql\\\"\\n}\\nmodel A {\\n  id Int @id\\n}\\n\"\n};\n");
	write_init_migration(t);
	write_compose(t);
	up_migrated(t);

	/* in sync, with the supervisor's answers */
	if (status_json(t, &doc) != 0)
		fail_msg("status is not in sync:\n%s", px_buf_cstr(&t->out));
	assert_true(json_is_true(json_object_get(doc, "inSync")));
	assert_int_equal(json_array_size(json_object_get(doc, "problems")), 0);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "supervisor"), "running")));
	pid = json_integer_value(json_object_get(json_object_get(doc, "supervisor"), "pid"));
	assert_true(pid > 1);
	assert_string_equal(str(service(doc, "app"), "state"), "running");
	assert_string_equal(str(service(doc, "db"), "state"), "running");
	assert_string_equal(str(service(doc, "seed"), "state"), "exited");
	assert_string_equal(str(service(doc, "db"), "health"), "healthy");
	assert_non_null(strstr(str(service(doc, "db"), "ports"), "127.0.0.1:"));
	assert_true(json_is_integer(json_object_get(service(doc, "app"), "uptimeS")));
	sch = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_string_equal(str(sch, "name"), "core");
	assert_string_equal(str(json_object_get(sch, "client"), "state"), "fresh");
	assert_string_equal(str(json_object_get(sch, "client"), "generatedVersion"), "6.19.3");
	assert_string_equal(str(json_object_get(sch, "lastSync"), "state"), "succeeded");
	db = json_object_get(sch, "database");
	assert_true(json_is_true(json_object_get(db, "reachable")));
	assert_true(json_is_true(json_object_get(db, "upToDate")));
	assert_string_equal(str(db, "url"), "postgresql://app:****@db:5432/app");
	json_decref(doc);
	assert_int_equal(prisync(t, "status", NULL, NULL), 0);
	assert_non_null(strstr(px_buf_cstr(&t->out), "everything is in sync"));
	assert_non_null(strstr(px_buf_cstr(&t->out), "supervisor  running"));
	assert_null(strstr(px_buf_cstr(&t->out), ":pw@"));

	/* a migration nobody applied: a problem, and the command */
	harness_write_file(t->dir.root, "prisma/migrations/20250102000000_more/migration.sql",
		   "CREATE TABLE b (id int);\n");
	assert_int_equal(status_json(t, &doc), 1);
	assert_false(json_is_true(json_object_get(doc, "inSync")));
	/* answered on the supervisor's kept connection: the same route as a fresh check */
	db = json_object_get(json_array_get(json_object_get(doc, "schemas"), 0), "database");
	assert_string_equal(str(json_object_get(db, "via"), "host"), "127.0.0.1");
	assert_int_equal(json_array_size(json_object_get(db, "pendingMigrations")), 1);
	pr = problem_of(doc, "core");
	assert_non_null(pr);
	assert_string_equal(str(pr, "run"), "prisync migrate");
	assert_non_null(strstr(str(pr, "problem"), "20250102000000_more"));
	json_decref(doc);
	assert_int_equal(prisync(t, "status", NULL, NULL), 1);
	assert_non_null(strstr(px_buf_cstr(&t->out), "run: prisync migrate"));

	/* the database restarted under the supervisor's kept connection: it connects again */
	if (prisync(t, "restart", "db", NULL) != 0)
		fail_msg("restart: %s", px_buf_cstr(&t->err));
	assert_true(harness_poll(db_answers, &(struct db_wait){t, 1}, 60000));

	/* without the supervisor: the recorded last sync, a connection of its own */
	assert_int_equal(kill((pid_t)pid, SIGTERM), 0);
	assert_true(harness_poll(supervisor_gone, t, 20000));
	assert_int_equal(status_json(t, &doc), 1);
	sch = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_string_equal(str(json_object_get(sch, "lastSync"), "state"), "succeeded");
	db = json_object_get(sch, "database");
	assert_true(json_is_true(json_object_get(db, "reachable")));
	assert_int_equal(json_array_size(json_object_get(db, "pendingMigrations")), 1);
	assert_string_equal(str(problem_of(doc, "core"), "run"), "prisync migrate");
	json_decref(doc);
	assert_int_equal(prisync(t, "status", NULL, NULL), 1);
	assert_non_null(strstr(px_buf_cstr(&t->out), "supervisor  not running"));

	/* applied, then a service down */
	if (prisync(t, "migrate", "--no-sync", NULL) != 0)
		fail_msg("migrate: %s", px_buf_cstr(&t->err));
	assert_int_equal(status_json(t, &doc), 0);
	json_decref(doc);
	if (prisync(t, "stop", "app", NULL) != 0)
		fail_msg("stop: %s", px_buf_cstr(&t->err));
	assert_int_equal(status_json(t, &doc), 1);
	assert_string_equal(str(service(doc, "app"), "state"), "exited");
	pr = problem_of(doc, "app");
	assert_non_null(pr);
	assert_non_null(strstr(str(pr, "run"), "prisync up -d"));
	assert_null(problem_of(doc, "core"));
	json_decref(doc);

	/* the schema moved on, the client did not (no supervisor to sync it) */
	if (prisync(t, "start", "app", NULL) != 0)
		fail_msg("start: %s", px_buf_cstr(&t->err));
	harness_write_file(t->dir.root, "prisma/schema.prisma",
		   "generator client {\n  provider = \"prisma-client-js\"\n"
		   "  output   = \"../generated/client\"\n}\n"
		   "datasource db {\n  provider = \"postgresql\"\n}\n"
		   "model A {\n  id Int @id\n  nickname String?\n}\n");
	assert_int_equal(status_json(t, &doc), 1);
	sch = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_string_equal(str(json_object_get(sch, "client"), "state"), "stale");
	assert_non_null(strstr(str(json_object_get(sch, "client"), "difference"), "nickname"));
	pr = problem_of(doc, "core");
	assert_non_null(pr);
	assert_string_equal(str(pr, "run"), "prisync sync core");
	assert_non_null(strstr(str(pr, "problem"), "stale"));
	json_decref(doc);
}

static void git(struct t *t, ...) __attribute__((sentinel));

/* git ARGS... (at most 6) in the test's directory; fails the test when it fails. */
static void git(struct t *t, ...)
{
	struct px_error err = PX_ERROR_INIT;
	const char *argv[12] = {"git", "-c", "user.email=t@example.com", "-c", "user.name=t"};
	struct px_proc_opts o = {.argv = argv, .cwd = t->dir.root, .in = PX_PROC_NULL};
	struct px_buf out = PX_BUF_INIT, errb = PX_BUF_INIT;
	size_t n = 5;
	int code = -1;
	va_list ap;

	va_start(ap, t);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 11;)
		argv[n++] = a;
	va_end(ap);
	if (px_proc_run(&o, &out, &errb, &code, 30000, &err) < 0 || code != 0)
		fail_msg("git %s: %s%s", argv[5], px_error_msg(&err), px_buf_cstr(&errb));
	px_buf_release(&out);
	px_buf_release(&errb);
}

/* The supervisor saw the switch to branch. */
static bool switched_to(struct t *t, const char *branch)
{
	json_t *doc, *move;
	bool yes;

	status_json(t, &doc);
	move = json_object_get(json_object_get(doc, "git"), "lastHeadMove");
	yes = strcmp(str(move, "branch") ?: "", branch) == 0 &&
	      strcmp(str(json_object_get(doc, "git"), "branch") ?: "", branch) == 0;
	json_decref(doc);
	return yes;
}

static bool switched_to_main(void *data)
{
	return switched_to(data, "main");
}

static bool switched_to_feature(void *data)
{
	return switched_to(data, "feature");
}

/* After a branch switch: the migration the database has and this branch lacks is named,
 * with what the switch changed, and a migration never committed is pointed out. */
static void test_status_after_branch_switch(void **state)
{
	struct t *t = *state;
	json_t *doc, *sch, *pr, *move, *removed;

	harness_write_file(t->dir.root, "prisma/schema.prisma",
		   "datasource db {\n  provider = \"postgresql\"\n}\nmodel A {\n  id Int @id\n}\n");
	write_init_migration(t);
	write_compose(t);
	harness_write_file(t->dir.root, ".gitignore", ".prisync/\n");
	git(t, "init", "-q", "-b", "main", NULL);
	git(t, "add", "-A", NULL);
	git(t, "commit", "-qm", "init", NULL);
	git(t, "checkout", "-qb", "feature", NULL);
	harness_write_file(t->dir.root, "prisma/migrations/20250102000000_nick/migration.sql",
		   "ALTER TABLE a ADD COLUMN nick text;\n");
	git(t, "add", "-A", NULL);
	git(t, "commit", "-qm", "nick", NULL);
	git(t, "checkout", "-q", "main", NULL);
	up_migrated(t);

	/* to the branch with one more migration: the database lacks it */
	git(t, "checkout", "-q", "feature", NULL);
	assert_true(harness_poll(switched_to_feature, t, 20000));
	assert_int_equal(status_json(t, &doc), 1);
	move = json_object_get(json_object_get(doc, "git"), "lastHeadMove");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_array_get(json_object_get(move, "schemas"), 0),
						"migrationsAdded"),
				0)),
			    "20250102000000_nick");
	pr = problem_of(doc, "core");
	assert_non_null(pr);
	assert_non_null(strstr(str(pr, "problem"), "20250102000000_nick"));
	assert_string_equal(str(pr, "run"), "prisync migrate");
	json_decref(doc);
	if (prisync(t, "migrate", "--no-sync", NULL) != 0)
		fail_msg("migrate: %s", px_buf_cstr(&t->err));
	assert_int_equal(status_json(t, &doc), 0);
	json_decref(doc);

	/* and back: the database has it, this branch does not */
	git(t, "checkout", "-q", "main", NULL);
	assert_true(harness_poll(switched_to_main, t, 20000));

	assert_int_equal(status_json(t, &doc), 1);
	move = json_object_get(json_object_get(doc, "git"), "lastHeadMove");
	removed = json_object_get(json_array_get(json_object_get(move, "schemas"), 0),
				  "migrationsRemoved");
	assert_int_equal(json_array_size(removed), 1);
	assert_string_equal(json_string_value(json_array_get(removed, 0)), "20250102000000_nick");
	sch = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_string_equal(str(json_object_get(sch, "git"), "migrations"), "clean");
	pr = problem_of(doc, "core");
	assert_non_null(pr);
	assert_non_null(strstr(str(pr, "problem"),
			       "applied in DB but missing locally: 20250102000000_nick"));
	json_decref(doc);
	assert_int_equal(prisync(t, "status", NULL, NULL), 1);
	assert_non_null(strstr(px_buf_cstr(&t->out),
			       "checkout   to main: schema unchanged; migrations this branch lacks: "
			       "20250102000000_nick"));

	/* a migration made here and never committed */
	harness_write_file(t->dir.root, "prisma/migrations/20250103000000_local/migration.sql", "SELECT 1;\n");
	assert_int_equal(status_json(t, &doc), 1);
	sch = json_array_get(json_object_get(doc, "schemas"), 0);
	assert_string_equal(str(json_object_get(sch, "git"), "migrations"), "untracked");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_object_get(sch, "git"), "untrackedMigrations"), 0)),
			    "20250103000000_local");
	assert_non_null(strstr(str(problem_of(doc, "core"), "problem"),
			       "this branch adds 20250103000000_local"));
	json_decref(doc);
}

/* The supervisor has read everything sent on fd (nothing left in the socket's queue). */
static bool request_taken(void *data)
{
	int queued = -1;

	return ioctl(*(int *)data, SIOCOUTQ, &queued) == 0 && queued == 0;
}

static void engine_post(const char *path)
{
	struct px_error err = PX_ERROR_INIT;

	if (engine_request(harness_engine(), "POST", path, NULL, NULL, NULL, &err) < 0)
		fail_msg("POST %s: %s", path, px_error_msg(&err));
}

/*
 * The database paused under the supervisor's kept connection: the kept connection's
 * statements time out (bounded: before, status never came back and the supervisor, stuck
 * in libpq on its loop, synced nothing until the database woke up), and while the status
 * waits for that, the supervisor goes on: a generate asked after the status was taken is
 * answered before it.  Unpaused, the status finds the database again.
 */
static void test_status_paused_database(void **state)
{
	struct t *t = *state;
	struct px_error err = PX_ERROR_INIT;
	json_t *req, *answer = NULL, *db;
	char *path = NULL, *saved;
	int fd = -1, rc;
	struct pollfd pfd;

	harness_write_file(t->dir.root, "prisma/schema.prisma", schema_v1);
	write_init_migration(t);
	write_compose(t);
	up_migrated(t);
	/* the supervisor's connection to the database is made and kept */
	assert_true(harness_poll(db_answers, &(struct db_wait){t, 0}, 60000));

	xasprintf(&path, "/containers/%s-db-1/pause", t->project);
	engine_post(path);
	free(path);
	/* the supervisor's runtime directory is under the test's own (harness_prisync) */
	saved = harness_runtime_enter(&t->dir);
	rc = sup_client_connect(t->project, &fd, &err);
	harness_runtime_leave(saved);
	if (rc != 0)
		fail_msg("connect to the supervisor: %s", px_error_msg(&err));
	req = json_pack("{s:s}", "op", "status");
	{
		char *line = json_dumps(req, JSON_COMPACT);

		assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
		assert_int_equal(write(fd, "\n", 1), 1);
		free(line);
	}
	json_decref(req);
	/* done sending (as `echo ... | nc -U` is): the answer comes all the same */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(harness_poll(request_taken, &fd, 20000));
	/* asked after the status was taken, answered while it waits on the database */
	if (prisync(t, "generate", "--json", NULL) != 0)
		fail_msg("generate during the status: %s%s", px_buf_cstr(&t->out),
			 px_buf_cstr(&t->err));
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 0);

	/* the status comes back: the database does not answer */
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, 60000), 1);
	if (sup_client_read(fd, &answer, &err) != 0)
		fail_msg("status answer: %s", px_error_msg(&err));
	db = json_object_get(json_array_get(json_object_get(answer, "schemas"), 0), "database");
	assert_non_null(db);
	assert_false(json_is_true(json_object_get(db, "ok")));
	assert_false(json_is_true(json_object_get(db, "reachable")));
	assert_non_null(json_object_get(db, "error"));
	json_decref(answer);
	/* and then the supervisor hangs up */
	answer = NULL;
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, 30000), 1);
	assert_int_equal(sup_client_read(fd, &answer, &err), 1);
	close(fd);

	xasprintf(&path, "/containers/%s-db-1/unpause", t->project);
	engine_post(path);
	free(path);
	assert_true(harness_poll(db_answers, &(struct db_wait){t, 0}, 60000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_status_paused_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_in_sync_and_problems, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_after_branch_switch, setup, teardown),
	};

	return cmocka_run_group_tests_name("e2e_status", tests, NULL, NULL);
}
