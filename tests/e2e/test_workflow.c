/* test_workflow.c - the developer workflow end to end: the real make targets on a copy of
 * examples/prisma-app (offline file merged), the app container's scripts/dev-setup.sh, and
 * a stale client ("Unknown argument `nickname`") fixed by a schema edit, a migration and
 * `make db-migrate`; then status, db-check and docker-down leaving nothing behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define MAKE_TIMEOUT_MS (10 * 60 * 1000) /* a first docker-up runs npm ci in the container */
#define SYNC_TIMEOUT_MS (5 * 60 * 1000)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The example as the test copies it: root/examples/prisma-app and root/scripts, the
 * repository's layout, so the compose file's ../../scripts/dev-setup.sh mount works. */
#define APP "examples/prisma-app"

static const char *const example_files[] = {
    "compose.yaml",
    "compose.offline.yaml",
    "package.json",
    "package-lock.json",
    "prisma.config.ts",
    "server.js",
    "prisma/schema.prisma",
    "prisma/migrations/migration_lock.toml",
    "prisma/migrations/20250101000000_init/migration.sql",
};

#define NICKNAME_MIGRATION "20250102000000_add_nickname"

struct t {
	struct harness_dir dir;
	char project[64];
	char *compose_file; /* COMPOSE_FILE for make and prisync */
	struct px_buf out, err;
};

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	snprintf(t->project, sizeof(t->project), "pxwf-%d-%d", (int)getpid(), ++seq);
	xasprintf(&t->compose_file, "%s/" APP "/compose.yaml:%s/" APP "/compose.offline.yaml:%s/" APP
				    "/compose.test.yaml",
		  t->dir.root, t->dir.root, t->dir.root);
	/* for the prisync runs of the test itself (teardown's down among them) */
	setenv("COMPOSE_FILE", t->compose_file, 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	int left = harness_project_down(&t->dir, t->project);

	unsetenv("COMPOSE_FILE");
	px_buf_release(&t->out);
	px_buf_release(&t->err);
	harness_dir_remove(&t->dir);
	free(t->compose_file);
	free(t);
	return left == 0 ? 0 : -1;
}

static void write_file(const struct t *t, const char *rel, const char *text, size_t len,
		       mode_t mode)
{
	struct px_error err = PX_ERROR_INIT;
	char *path = px_path_join(t->dir.root, rel), *dir = px_path_dirname(path);

	if (px_path_mkdir_p(dir, 0755, &err) < 0 ||
	    px_path_write_file_atomic(path, text, len, mode, &err) < 0)
		fail_msg("write %s: %s", rel, px_error_msg(&err));
	free(dir);
	free(path);
}

static void write_text(const struct t *t, const char *rel, const char *text)
{
	harness_write_file(t->dir.root, rel, text);
}

static char *read_text(const struct t *t, const char *rel)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *path = px_path_join(t->dir.root, rel);

	if (px_path_read_file(path, &b, &err) < 0)
		px_error_clear(&err);
	free(path);
	return px_buf_detach(&b, NULL);
}

/* Copy the source tree's rel to the same place in the test's directory. */
static void copy_source(const struct t *t, const char *rel, mode_t mode)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf data = PX_BUF_INIT;
	char *src = NULL;

	xasprintf(&src, "%s/%s", harness_env("PRISYNC_SOURCE_DIR"), rel);
	if (px_path_read_file(src, &data, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	write_file(t, rel, data.data, data.len, mode);
	px_buf_release(&data);
	free(src);
}

/* The example and dev-setup.sh copied, plus the labels every test object carries. */
static void copy_example(const struct t *t)
{
	for (size_t i = 0; i < NELEM(example_files); i++) {
		char *rel = NULL;

		xasprintf(&rel, APP "/%s", example_files[i]);
		copy_source(t, rel, 0644);
		free(rel);
	}
	copy_source(t, "scripts/dev-setup.sh", 0755);
	write_text(t, APP "/compose.test.yaml",
		   "x-test: &test\n"
		   "  prisync-test.run: ${PRISYNC_TEST_RUN:-none}\n"
		   "services:\n"
		   "  db: {labels: *test}\n"
		   "  app: {labels: *test}\n"
		   "networks:\n"
		   "  default: {labels: *test}\n"
		   "volumes:\n"
		   "  db-data: {labels: *test}\n"
		   "  node_modules: {labels: *test}\n");
}

extern char **environ;

/* `make -C <source> TARGET COMPOSE_FILE=... PROJECT=... PRISYNC=<binary under test>`, with
 * the test's runtime dir; its exit code, output in t->out and t->err. */
static int make(struct t *t, const char *target)
{
	struct px_error err = PX_ERROR_INIT;
	char *cf = NULL, *proj = NULL, *bin = NULL, *runtime = NULL;
	const char **envp = NULL;
	size_t n = 0;
	int code = -1;

	xasprintf(&cf, "COMPOSE_FILE=%s", t->compose_file);
	xasprintf(&proj, "PROJECT=%s", t->project);
	xasprintf(&bin, "PRISYNC=%s", harness_env("PRISYNC_BIN"));
	xasprintf(&runtime, "XDG_RUNTIME_DIR=%s", t->dir.runtime);
	/* a make above this test (make test) must not hand its jobserver or flags down */
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "XDG_RUNTIME_DIR=", 16) == 0 || strncmp(*e, "MAKEFLAGS=", 10) == 0 ||
		    strncmp(*e, "MFLAGS=", 7) == 0 || strncmp(*e, "MAKELEVEL=", 10) == 0)
			continue;
		envp = xreallocarray(envp, n + 1, sizeof(*envp));
		envp[n++] = *e;
	}
	envp = xreallocarray(envp, n + 2, sizeof(*envp));
	envp[n++] = runtime;
	envp[n] = NULL;
	{
		const char *argv[] = {"make", "--no-print-directory", "-C",
				      harness_env("PRISYNC_SOURCE_DIR"), target, cf, proj, bin, NULL};
		struct px_proc_opts o = {.argv = argv, .envp = envp, .cwd = t->dir.root,
					 .in = PX_PROC_NULL, .out = PX_PROC_PIPE,
					 .err = PX_PROC_PIPE};

		px_buf_reset(&t->out);
		px_buf_reset(&t->err);
		if (px_proc_run(&o, &t->out, &t->err, &code, MAKE_TIMEOUT_MS, &err) < 0)
			fail_msg("make %s: %s", target, px_error_msg(&err));
	}
	free(envp);
	free(cf);
	free(proj);
	free(bin);
	free(runtime);
	return code;
}

static void make_ok(struct t *t, const char *target)
{
	int code = make(t, target);

	if (code != 0) {
		char *log = read_text(t, APP "/.prisync/supervisor.log");

		/* cmocka cuts long messages: the details on stderr */
		fprintf(stderr, "make %s: exit %d\n%s\n%s\n--- supervisor log:\n%s\n", target,
			code, px_buf_cstr(&t->out), px_buf_cstr(&t->err), log);
		free(log);
		fail_msg("make %s: exit %d (details above)", target, code);
	}
}

static char *container(const struct t *t, const char *service)
{
	char *name = NULL;

	xasprintf(&name, "%s-%s-1", t->project, service);
	return name;
}

/* Run argv in the app container (env: extra "K=V" entries or NULL); stdout and stderr
 * together, *code its exit code (-1 when the exec itself failed: restarting). */
static char *in_app(const struct t *t, const char *const *argv, const char *const *env,
		    int *code)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	char *name = container(t, "app");

	*code = -1;
	if (engine_exec(harness_engine(), name, argv, env, NULL, NULL, &out, &out, code, &err) <
	    0) {
		px_error_clear(&err);
		*code = -1;
	}
	free(name);
	return px_buf_detach(&out, NULL);
}

/* An HTTP request to the app from inside its container: "STATUS BODY", or "ERR ...". */
static char *request(const struct t *t, const char *method, const char *json_body)
{
	int code;

	return in_app(t,
		      (const char *[]){"node", "-e",
				       "const [m, b] = process.argv.slice(1);"
				       "fetch('http://127.0.0.1:3000/users', b ? {method: m, headers: "
				       "{'content-type': 'application/json'}, body: b} : {method: m})"
				       ".then(async (r) => console.log(r.status + ' ' + await r.text()),"
				       " (e) => console.log('ERR ' + e))",
				       method, json_body != NULL ? json_body : "", NULL},
		      NULL, &code);
}

/* The app container's output since it was created (every start of it). */
static char *app_log(const struct t *t)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	char *name = container(t, "app");

	if (engine_container_logs(harness_engine(), name, true, true, -1, &out, &out, &err) < 0)
		fail_msg("logs of %s: %s", name, px_error_msg(&err));
	free(name);
	return px_buf_detach(&out, NULL);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

struct get_wait {
	const struct t *t;
	const char *want;
	char *last; /* the last answer, for the failure message */
};

static bool users_answer(void *data)
{
	struct get_wait *w = data;

	free(w->last);
	w->last = request(w->t, "GET", NULL);
	return strstr(w->last, w->want) != NULL;
}

static bool post_succeeds(void *data)
{
	struct get_wait *w = data;

	free(w->last);
	w->last = request(w->t, "POST", "{\"email\":\"ann@example.com\",\"nickname\":\"annie\"}");
	return strncmp(w->last, "201 ", 4) == 0;
}

struct log_wait {
	const struct t *t;
	const char *text;
	int n; /* at least this many times */
};

static bool log_has(void *data)
{
	const struct log_wait *w = data;
	char *log = app_log(w->t);
	bool yes = count(log, w->text) >= w->n;

	free(log);
	return yes;
}

static bool status_in_sync(void *data)
{
	struct t *t = data;

	return make(t, "status") == 0;
}

static size_t project_objects(const struct t *t, bool networks)
{
	struct px_error err = PX_ERROR_INIT;
	char *filter = NULL;
	json_t *list = NULL;
	size_t n;

	xasprintf(&filter, "com.docker.compose.project=%s", t->project);
	if ((networks ? engine_network_list(harness_engine(), filter, &list, &err)
		      : engine_container_list(harness_engine(), filter, true, &list, &err)) < 0)
		fail_msg("list: %s", px_error_msg(&err));
	n = json_array_size(list);
	json_decref(list);
	free(filter);
	return n;
}

/* Add `nickname String?` after the name field of User. */
static void add_nickname(const struct t *t)
{
	char *schema = read_text(t, APP "/prisma/schema.prisma"), *edited = NULL;
	const char *at = strstr(schema, "  name  String?\n");

	assert_non_null(at);
	xasprintf(&edited, "%.*s  name  String?\n  nickname String?\n%s", (int)(at - schema), schema,
		  at + strlen("  name  String?\n"));
	write_text(t, APP "/prisma/schema.prisma", edited);
	free(schema);
	free(edited);
}

/* dev-setup.sh run by hand in the app container with env; its output and exit code. */
static char *dev_setup(const struct t *t, const char *const *env, int *code)
{
	return in_app(t, (const char *[]){"./scripts/dev-setup.sh", "echo", "APP STARTS", NULL},
		      env, code);
}

static void test_workflow_walk(void **state)
{
	struct t *t = *state;
	struct get_wait gw = {.t = t};
	char *out;
	int code;

	copy_example(t);

	/* the first start: npm ci (nothing recorded), generate, the database is empty */
	make_ok(t, "docker-up");
	out = app_log(t);
	if (count(out, "dev-setup: no install recorded in node_modules: npm ci") != 1 ||
	    strstr(out, "dev-setup: dependencies installed") == NULL ||
	    strstr(out, "dev-setup: database db:5432/app answers") == NULL ||
	    strstr(out, "not managed by Prisma Migrate (no _prisma_migrations table); 1 in "
			"prisma/migrations: run `make db-migrate`") == NULL ||
	    strstr(out, "dev-setup: starting: npm run dev") == NULL)
		fail_msg("first start of app:\n%s", out);
	free(out);
	/* the initial sync restarted app: the second start found its lockfile installed */
	if (!harness_poll(log_has,
			  &(struct log_wait){t, "npm ci skipped", 1}, SYNC_TIMEOUT_MS))
		fail_msg("second start did not skip npm ci:\n%s", app_log(t));

	/* a fresh clone: the migration is applied by hand, then the app answers */
	make_ok(t, "db-migrate");
	gw.want = "200 []";
	if (!harness_poll(users_answer, &gw, SYNC_TIMEOUT_MS))
		fail_msg("GET /users: %s", gw.last);

	/* the field is not in the schema the client was generated from */
	out = request(t, "POST", "{\"email\":\"ann@example.com\",\"nickname\":\"annie\"}");
	if (strncmp(out, "400 ", 4) != 0 || strstr(out, "Unknown argument `nickname`") == NULL)
		fail_msg("POST with nickname before the change: %s", out);
	free(out);

	/* the change: a migration adding the column, which dev-setup's report names (run by
	 * hand here, before the schema edit makes the supervisor restart the app) */
	write_text(t, APP "/prisma/migrations/" NICKNAME_MIGRATION "/migration.sql",
		   "-- AlterTable\nALTER TABLE \"User\" ADD COLUMN     \"nickname\" TEXT;\n");
	out = dev_setup(t, NULL, &code);
	if (code != 0 ||
	    strstr(out, "migrations: 1 applied, 1 pending: " NICKNAME_MIGRATION
			" — run `make db-migrate`") == NULL ||
	    strstr(out, "APP STARTS") == NULL)
		fail_msg("dev-setup with a pending migration (exit %d):\n%s", code, out);
	free(out);
	/* and the field in the schema: the supervisor syncs the client by itself */
	add_nickname(t);
	make_ok(t, "db-migrate");
	if (!harness_poll(post_succeeds, &gw, SYNC_TIMEOUT_MS))
		fail_msg("POST with nickname after the change: %s\n--- supervisor log:\n%s",
			 gw.last, read_text(t, APP "/.prisync/supervisor.log"));
	assert_non_null(strstr(gw.last, "\"nickname\":\"annie\""));
	gw.want = "\"nickname\":\"annie\"";
	assert_true(users_answer(&gw));

	/* the syncs may still settle (the edit and the migrate's sync): poll */
	if (!harness_poll(status_in_sync, t, SYNC_TIMEOUT_MS))
		fail_msg("make status: %s\n%s", px_buf_cstr(&t->out), px_buf_cstr(&t->err));
	assert_non_null(strstr(px_buf_cstr(&t->out), "everything is in sync"));
	make_ok(t, "db-check");

	/* dev-setup.sh: a changed lockfile installs again (a trailing blank line: the same
	 * tree, another hash) */
	{
		char *lock = read_text(t, APP "/package-lock.json"), *more = NULL;

		xasprintf(&more, "%s\n", lock);
		write_text(t, APP "/package-lock.json", more);
		free(lock);
		free(more);
	}
	out = dev_setup(t, NULL, &code);
	if (code != 0 || strstr(out, "package-lock.json changed since the last install: npm ci") ==
			     NULL ||
	    strstr(out, "dependencies installed") == NULL)
		fail_msg("dev-setup after a lockfile change (exit %d):\n%s", code, out);
	free(out);
	out = dev_setup(t, NULL, &code);
	if (code != 0 || strstr(out, "npm ci skipped") == NULL ||
	    strstr(out, "migrations: 2 applied, 0 pending") == NULL)
		fail_msg("dev-setup right after an install (exit %d):\n%s", code, out);
	free(out);

	/* an unreachable database: a bounded wait, the reason, a non-zero exit, no app */
	out = dev_setup(t,
			(const char *[]){"DATABASE_URL=postgresql://app:app@127.0.0.1:1/app",
					 "DB_WAIT_SECONDS=2", NULL},
			&code);
	if (code == 0 ||
	    strstr(out, "dev-setup: error: database 127.0.0.1:1/app not reachable after 2 s") ==
		NULL ||
	    strstr(out, "ECONNREFUSED") == NULL || strstr(out, "APP STARTS") != NULL)
		fail_msg("dev-setup without a database (exit %d):\n%s", code, out);
	free(out);

	/* down: no container, no network of the project, no supervisor */
	make_ok(t, "docker-down");
	assert_int_equal(project_objects(t, false), 0);
	assert_int_equal(project_objects(t, true), 0);
	px_buf_reset(&t->out);
	px_buf_reset(&t->err);
	harness_prisync(&t->dir, &t->out, &t->err, 120000, "-p", t->project, "status", "--json",
			NULL);
	{
		json_t *doc = json_loads(px_buf_cstr(&t->out), 0, NULL);

		if (!json_is_false(json_object_get(json_object_get(doc, "supervisor"), "running")))
			fail_msg("a supervisor after docker-down?\n%s\n%s", px_buf_cstr(&t->out),
				 px_buf_cstr(&t->err));
		json_decref(doc);
	}
	free(gw.last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_workflow_walk, setup, teardown),
	};

	return cmocka_run_group_tests_name("workflow", tests, NULL, NULL);
}
