/* test_stack_up.c - the stack lifecycle against the real engine, driving the prisync
 * binary: the 3-service stack (postgres with a healthcheck, a one-shot migrator, an app
 * that waits for both) comes up in order with `up --wait`, docker compose v2 sees the
 * same containers, a second `up` touches nothing, an environment change recreates only
 * its service, `down -v` leaves nothing; and the failures: an unhealthy service, a
 * missing image with pull_policy: never, an unreachable engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	/* unique per test and run: tests never see each other's containers */
	snprintf(t->project, sizeof(t->project), "pxstack-%d-%d", (int)getpid(), ++seq);
	*state = t;
	return 0;
}


static int teardown(void **state)
{
	struct t *t = *state;
	int left = harness_project_down(&t->dir, t->project);

	/* an image a build test left behind (nothing else tags <project>-*) */
	{
		struct px_error ierr = PX_ERROR_INIT;
		char image[96];

		snprintf(image, sizeof(image), "%s-web", t->project);
		engine_image_remove(harness_engine(), image, true, &ierr);
		px_error_clear(&ierr);
	}
	px_buf_release(&t->out);
	px_buf_release(&t->err);
	harness_dir_remove(&t->dir);
	free(t);
	return left == 0 ? 0 : -1;
}

static void write_file(const struct t *t, const char *name, const char *text)
{
	char *path;
	FILE *f;

	xasprintf(&path, "%s/%s", t->dir.root, name);
	f = fopen(path, "w");
	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	free(path);
}

/* prisync -p <project> args... in the test's directory; output in t->out / t->err. */
static int mkdir_in(const struct t *t, const char *name)
{
	char *path;
	int rc;

	xasprintf(&path, "%s/%s", t->dir.root, name);
	rc = mkdir(path, 0755);
	free(path);
	return rc;
}

/* State.Status of a container ("running", "exited" ...); fails when it does not exist. */
static const char *container_status(const char *name)
{
	static char status[32];
	struct px_error err = PX_ERROR_INIT;
	json_t *info = NULL;

	if (engine_container_inspect(harness_engine(), name, &info, &err) != 0)
		fail_msg("inspect %s: %s", name, px_error_msg(&err));
	snprintf(status, sizeof(status), "%s",
		 json_string_value(json_object_get(json_object_get(info, "State"), "Status")));
	json_decref(info);
	return status;
}

#define PRISYNC(t, ...)                                                                            \
	(px_buf_reset(&(t)->out), px_buf_reset(&(t)->err),                                         \
	 harness_prisync(&(t)->dir, &(t)->out, &(t)->err, RUN_TIMEOUT_MS, "-p", (t)->project,      \
			 __VA_ARGS__, NULL))

static void expect_ok(const struct t *t, int rc, const char *what)
{
	if (rc != 0)
		fail_msg("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, rc, px_buf_cstr(&t->out),
			 px_buf_cstr(&t->err));
}

/*
 * The 3-service stack: every engine object labelled for the harness's cleanup, db on a
 * port published on 127.0.0.1 only, an app that stops promptly on SIGTERM.  app_env is
 * an extra environment line for the app.
 */
static char *stack_yaml(const char *app_env)
{
	char *y;

	xasprintf(
	    &y,
	    "x-test: &test\n"
	    "  prisync-test.run: ${PRISYNC_TEST_RUN:-none}\n"
	    "services:\n"
	    "  db:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_POSTGRES}\n"
	    "    labels: *test\n"
	    "    environment:\n"
	    "      POSTGRES_PASSWORD: secret\n"
	    "      POSTGRES_DB: app\n"
	    "    ports: [\"127.0.0.1::5432\"]\n"
	    "    volumes: [\"pgdata:/var/lib/postgresql/data\"]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"pg_isready\", \"-U\", \"postgres\", \"-d\", \"app\"]\n"
	    "      interval: 1s\n"
	    "      timeout: 3s\n"
	    "      retries: 60\n"
	    "  migrator:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: *test\n"
	    "    command: [\"sh\", \"-c\", \"echo migrating; sleep 1; echo migrated\"]\n"
	    "    depends_on:\n"
	    "      db:\n"
	    "        condition: service_healthy\n"
	    "  app:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: *test\n"
	    "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo app up; while :; do sleep "
	    "1; done\"]\n"
	    "    environment:\n"
	    "      DATABASE_URL: postgresql://postgres:secret@db:5432/app\n"
	    "%s"
	    "    depends_on:\n"
	    "      db:\n"
	    "        condition: service_healthy\n"
	    "      migrator:\n"
	    "        condition: service_completed_successfully\n"
	    "networks:\n"
	    "  default:\n"
	    "    labels: *test\n"
	    "volumes:\n"
	    "  pgdata:\n"
	    "    labels: *test\n",
	    app_env != NULL ? app_env : "");
	return y;
}

static json_t *inspect(const char *name)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *info = NULL;
	int rc = engine_container_inspect(harness_engine(), name, &info, &err);

	if (rc != 0)
		fail_msg("inspect %s: %s", name, rc < 0 ? px_error_msg(&err) : "not found");
	return info;
}

/* "<id> <StartedAt>" of a container, to tell whether anything touched it. */
static char *identity(const char *name)
{
	json_t *info = inspect(name);
	char *s;

	xasprintf(&s, "%s %s", json_string_value(json_object_get(info, "Id")),
		  json_string_value(json_object_get(json_object_get(info, "State"), "StartedAt")));
	json_decref(info);
	return s;
}

struct event_log {
	struct px_buf seq; /* "service:action" entries, space separated */
};

static int on_event(void *data, const json_t *ev)
{
	struct event_log *log = data;
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *svc = json_string_value(
	    json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"),
			    "com.docker.compose.service"));

	if (action == NULL || svc == NULL)
		return 0;
	if (strcmp(action, "start") == 0 || strcmp(action, "die") == 0 ||
	    strcmp(action, "health_status: healthy") == 0)
		px_buf_addf(&log->seq, "%s%s:%s", log->seq.len ? " " : "", svc,
			    strncmp(action, "health", 6) == 0 ? "healthy" : action);
	return 0;
}

/* The project's container events between since and now, in the engine's order. */
static char *events_since(const char *project, time_t since)
{
	struct event_log log = {PX_BUF_INIT};
	struct px_error err = PX_ERROR_INIT;
	char *filter;

	xasprintf(&filter, "com.docker.compose.project=%s", project);
	if (engine_events(harness_engine(), filter, since, time(NULL) + 1, on_event, &log, &err) <
	    0)
		fail_msg("events: %s", px_error_msg(&err));
	free(filter);
	return px_buf_detach(&log.seq, NULL);
}

/* The position of needle in the event sequence; fails when it is missing. */
static size_t event_at(const char *seq, const char *needle)
{
	const char *p = strstr(seq, needle);

	if (p == NULL)
		fail_msg("event '%s' missing from: %s", needle, seq);
	return (size_t)(p - seq);
}

/* `docker compose ps -a` with the same engine: the names it lists, sorted, one per line. */
static char *compose_ps_names(const struct t *t)
{
	const char *argv[] = {harness_env("PRISYNC_TEST_COMPOSE"),
			      "-p",
			      t->project,
			      "ps",
			      "-a",
			      "--format",
			      "{{.Name}}",
			      NULL};
	struct px_proc_opts o = {.argv = argv, .cwd = t->dir.root, .in = PX_PROC_NULL};
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	int code = -1;

	if (px_proc_run(&o, &out, &errout, &code, 60000, &err) < 0 || code != 0)
		fail_msg("docker compose ps: %s %s", px_error_msg(&err), px_buf_cstr(&errout));
	px_buf_release(&errout);
	return px_buf_detach(&out, NULL);
}

static size_t count_project(const char *what, const char *project)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *list = NULL;
	char *filter;
	size_t n = 0;
	int rc;

	xasprintf(&filter, "com.docker.compose.project=%s", project);
	if (strcmp(what, "containers") == 0)
		rc = engine_container_list(harness_engine(), filter, true, &list, &err);
	else if (strcmp(what, "networks") == 0)
		rc = engine_network_list(harness_engine(), filter, &list, &err);
	else
		rc = engine_volume_list(harness_engine(), filter, &list, &err);
	if (rc < 0)
		fail_msg("list %s: %s", what, px_error_msg(&err));
	n = json_array_size(list);
	json_decref(list);
	free(filter);
	return n;
}

static void test_stack_three_services(void **state)
{
	struct t *t = *state;
	char *yaml = stack_yaml(NULL), *seq, *names, *want;
	char db[96], mig[96], app[96];
	char *id_db, *id_mig, *id_app, *again;
	time_t began = time(NULL) - 1;
	int rc;

	snprintf(db, sizeof(db), "%s-db-1", t->project);
	snprintf(mig, sizeof(mig), "%s-migrator-1", t->project);
	snprintf(app, sizeof(app), "%s-app-1", t->project);
	write_file(t, "compose.yaml", yaml);
	free(yaml);

	rc = PRISYNC(t, "up", "--wait");
	harness_track_project(t->project);
	expect_ok(t, rc, "up --wait");

	/* in order: db healthy before the migrator starts, the migrator done before the
	 * app starts */
	seq = events_since(t->project, began);
	assert_true(event_at(seq, "db:start") < event_at(seq, "db:healthy"));
	assert_true(event_at(seq, "db:healthy") < event_at(seq, "migrator:start"));
	assert_true(event_at(seq, "migrator:start") < event_at(seq, "migrator:die"));
	assert_true(event_at(seq, "migrator:die") < event_at(seq, "app:start"));
	free(seq);
	{
		json_t *info = inspect(mig);

		assert_int_equal(
		    json_integer_value(json_object_get(json_object_get(info, "State"), "ExitCode")),
		    0);
		json_decref(info);
		info = inspect(db);
		assert_string_equal(
		    json_string_value(json_object_get(
			json_object_get(json_object_get(info, "State"), "Health"), "Status")),
		    "healthy");
		json_decref(info);
	}

	/* docker compose v2 sees the same stack */
	names = compose_ps_names(t);
	xasprintf(&want, "%s\n%s\n%s\n", app, db, mig);
	assert_string_equal(names, want);
	free(names);
	free(want);

	/* prisync ps agrees, in JSON with compose's field names */
	expect_ok(t, PRISYNC(t, "ps", "--format", "json"), "ps --format json");
	assert_non_null(strstr(px_buf_cstr(&t->out), "\"Service\":\"db\""));
	assert_non_null(strstr(px_buf_cstr(&t->out), "\"Health\":\"healthy\""));
	assert_non_null(strstr(px_buf_cstr(&t->out), "127.0.0.1:"));
	/* the finished one-shot is not running: only with -a */
	assert_null(strstr(px_buf_cstr(&t->out), "\"Service\":\"migrator\""));

	/* a second up with nothing changed touches no container */
	id_db = identity(db);
	id_mig = identity(mig);
	id_app = identity(app);
	expect_ok(t, PRISYNC(t, "up", "--wait"), "second up --wait");
	assert_string_equal((again = identity(db)), id_db);
	free(again);
	assert_string_equal((again = identity(mig)), id_mig);
	free(again);
	assert_string_equal((again = identity(app)), id_app);
	free(again);
	assert_null(strstr(px_buf_cstr(&t->err), "Recreate"));
	assert_null(strstr(px_buf_cstr(&t->err), "Starting"));

	/* one service's environment changed: only that one is recreated */
	yaml = stack_yaml("      FEATURE_FLAG: \"on\"\n");
	write_file(t, "compose.yaml", yaml);
	free(yaml);
	expect_ok(t, PRISYNC(t, "up", "--wait"), "up --wait after an environment change");
	harness_track_project(t->project);
	assert_string_equal((again = identity(db)), id_db);
	free(again);
	assert_string_equal((again = identity(mig)), id_mig);
	free(again);
	again = identity(app);
	assert_string_not_equal(again, id_app);
	free(again);
	{
		json_t *info = inspect(app);
		json_t *env = json_object_get(json_object_get(info, "Config"), "Env");
		bool found = false;
		size_t i;
		json_t *v;

		json_array_foreach(env, i, v)
		{
			found = found || strcmp(json_string_value(v), "FEATURE_FLAG=on") == 0;
		}
		assert_true(found);
		json_decref(info);
	}
	free(id_db);
	free(id_mig);
	free(id_app);

	/* down -v leaves no container, network or volume of the project */
	expect_ok(t, PRISYNC(t, "down", "-v", "-t", "2"), "down -v");
	assert_int_equal(count_project("containers", t->project), 0);
	assert_int_equal(count_project("networks", t->project), 0);
	assert_int_equal(count_project("volumes", t->project), 0);
}

/* stop, start, restart and ps on a small stack, dependents first when stopping. */
static void test_stack_stop_start_restart(void **state)
{
	struct t *t = *state;
	char *yaml, *before, *after, *seq;
	char web[96];
	time_t began;

	xasprintf(
	    &yaml,
	    "services:\n"
	    "  base:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	    "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n"
	    "  web:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	    "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n"
	    "    depends_on: [base]\n");
	write_file(t, "compose.yaml", yaml);
	free(yaml);
	snprintf(web, sizeof(web), "%s-web-1", t->project);

	expect_ok(t, PRISYNC(t, "up", "-d"), "up -d");
	harness_track_project(t->project);
	expect_ok(t, PRISYNC(t, "ps", "-q"), "ps -q");
	assert_int_equal(strlen(px_buf_cstr(&t->out)), 2 * 65);

	began = time(NULL) - 1;
	expect_ok(t, PRISYNC(t, "stop"), "stop");
	seq = events_since(t->project, began);
	assert_true(event_at(seq, "web:die") < event_at(seq, "base:die"));
	free(seq);
	expect_ok(t, PRISYNC(t, "ps"), "ps");
	/* a table with its header and no running container */
	assert_non_null(strstr(px_buf_cstr(&t->out), "NAME"));
	assert_null(strstr(px_buf_cstr(&t->out), web));
	expect_ok(t, PRISYNC(t, "ps", "-a"), "ps -a");
	assert_non_null(strstr(px_buf_cstr(&t->out), "Exited (0)"));

	began = time(NULL) - 1;
	expect_ok(t, PRISYNC(t, "start"), "start");
	seq = events_since(t->project, began);
	assert_true(event_at(seq, "base:start") < event_at(seq, "web:start"));
	free(seq);

	before = identity(web);
	expect_ok(t, PRISYNC(t, "restart", "web"), "restart web");
	after = identity(web);
	/* the same container, started again */
	assert_memory_equal(before, after, 64);
	assert_string_not_equal(before, after);
	free(before);
	free(after);

	/* start needs existing containers */
	expect_ok(t, PRISYNC(t, "down", "-t", "1"), "down");
	assert_int_equal(PRISYNC(t, "start"), 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "has no container to start"));
}

/* A service with build: built by `prisync build` (tagged <project>-web), run by up; a
 * service dropped from the file is reported as an orphan and left alone until
 * --remove-orphans; `down --rmi local` removes the built image too. */
static void test_stack_build_orphans_rmi(void **state)
{
	struct t *t = *state;
	struct px_error err = PX_ERROR_INIT;
	char image[96], web[96], old[96];
	json_t *info = NULL;
	int rc;

	snprintf(image, sizeof(image), "%s-web", t->project);
	snprintf(web, sizeof(web), "%s-web-1", t->project);
	snprintf(old, sizeof(old), "%s-old-1", t->project);
	if (mkdir_in(t, "ctx") < 0)
		fail_msg("mkdir ctx: %s", strerror(errno));
	write_file(t, "ctx/Dockerfile",
		   "ARG BASE\n"
		   "FROM ${BASE}\n"
		   "COPY greeting.txt /greeting.txt\n"
		   "CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; cat /greeting.txt; while :; do sleep 1; "
		   "done\"]\n");
	write_file(t, "ctx/greeting.txt", "built by prisync\n");
	write_file(t, "compose.yaml",
		   "services:\n"
		   "  web:\n"
		   "    build:\n"
		   "      context: ./ctx\n"
		   "      args: {BASE: \"${PRISYNC_TEST_IMAGE_BUSYBOX}\"}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "  old:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n");
	expect_ok(t, PRISYNC(t, "build", "web"), "build web");
	if (engine_image_inspect(harness_engine(), image, &info, &err) != 0)
		fail_msg("image %s not there after build: %s", image, px_error_msg(&err));
	json_decref(info);

	rc = PRISYNC(t, "up", "-d", "--wait");
	harness_track_project(t->project);
	expect_ok(t, rc, "up -d --wait");
	rc = PRISYNC(t, "--ansi", "never", "logs", "--no-log-prefix", "web");
	expect_ok(t, rc, "logs web");
	assert_string_equal(px_buf_cstr(&t->out), "built by prisync\n");

	/* old leaves the file: reported, not removed */
	write_file(t, "compose.yaml",
		   "services:\n"
		   "  web:\n"
		   "    build:\n"
		   "      context: ./ctx\n"
		   "      args: {BASE: \"${PRISYNC_TEST_IMAGE_BUSYBOX}\"}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n");
	expect_ok(t, PRISYNC(t, "up", "-d"), "up -d without old");
	if (strstr(px_buf_cstr(&t->err), "orphan") == NULL ||
	    strstr(px_buf_cstr(&t->err), "old") == NULL)
		fail_msg("no orphan warning naming old:\n%s", px_buf_cstr(&t->err));
	assert_string_equal(container_status(old), "running");
	expect_ok(t, PRISYNC(t, "up", "-d", "--remove-orphans"), "up --remove-orphans");
	assert_int_equal(engine_container_inspect(harness_engine(), old, &info, &err),
			 ENGINE_NOT_FOUND);
	assert_string_equal(container_status(web), "running");

	expect_ok(t, PRISYNC(t, "down", "--rmi", "local", "-t", "1"), "down --rmi local");
	assert_int_equal(count_project("containers", t->project), 0);
	assert_int_equal(engine_image_inspect(harness_engine(), image, &info, &err),
			 ENGINE_NOT_FOUND);
	px_error_clear(&err);
}

static void test_stack_unhealthy_fails_wait(void **state)
{
	struct t *t = *state;
	time_t t0;
	int rc;

	write_file(
	    t, "compose.yaml",
	    "services:\n"
	    "  sick:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	    "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo first line; echo "
	    "cannot reach the database; while :; do sleep 1; done\"]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"false\"]\n"
	    "      interval: 1s\n"
	    "      timeout: 1s\n"
	    "      retries: 2\n"
	    "  fine:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	    "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n");
	t0 = time(NULL);
	rc = PRISYNC(t, "up", "--wait");
	harness_track_project(t->project);
	if (rc != 1)
		fail_msg("up --wait: want exit 1, got %d\n%s", rc, px_buf_cstr(&t->err));
	/* it names the service, says why, and shows what the service said */
	assert_non_null(strstr(px_buf_cstr(&t->err), "service 'sick'"));
	assert_non_null(strstr(px_buf_cstr(&t->err), "is unhealthy"));
	assert_non_null(strstr(px_buf_cstr(&t->err), "cannot reach the database"));
	assert_null(strstr(px_buf_cstr(&t->err), "service 'fine'"));
	/* through health events, not a long poll: 2 retries of 1 s and some start-up */
	assert_true(time(NULL) - t0 < 30);
}

static void test_stack_pull_never_missing_image(void **state)
{
	struct t *t = *state;
	int rc;

	write_file(t, "compose.yaml",
		   "services:\n"
		   "  ghost:\n"
		   "    image: prisync-test/no-such-image:1\n"
		   "    pull_policy: never\n");
	rc = PRISYNC(t, "up", "-d");
	harness_track_project(t->project);
	assert_int_equal(rc, 1);
	assert_non_null(
	    strstr(px_buf_cstr(&t->err),
		   "service 'ghost': image 'prisync-test/no-such-image:1' not found and "
		   "pull_policy is never"));
	/* nothing was created before the image check */
	assert_int_equal(count_project("containers", t->project), 0);
}

static void test_stack_unreachable_engine(void **state)
{
	struct t *t = *state;
	const char *saved = getenv("DOCKER_HOST");
	char *keep = saved != NULL ? xstrdup(saved) : NULL;
	struct timespec a, b;
	double secs;
	int rc;

	write_file(t, "compose.yaml",
		   "services:\n  app:\n    image: ${PRISYNC_TEST_IMAGE_BUSYBOX:-busybox}\n");
	/* harness_prisync hands our environment to the child */
	setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = PRISYNC(t, "up", "-d");
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (keep != NULL)
		setenv("DOCKER_HOST", keep, 1);
	else
		unsetenv("DOCKER_HOST");
	free(keep);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "is dockerd running?"));
	assert_non_null(strstr(px_buf_cstr(&t->err), "unix:///nonexistent/docker.sock"));
	assert_true(secs < 2.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stack_three_services, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stack_stop_start_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stack_build_orphans_rmi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stack_unhealthy_fails_wait, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stack_pull_never_missing_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stack_unreachable_engine, setup, teardown),
	};

	return cmocka_run_group_tests_name("stack_up", tests, NULL, NULL);
}
