/* test_supervisor.c - the supervisor against the real engine, driving the prisync binary
 * with a host generator script that counts its runs and "generates" by copying the schema
 * where the app container loads it at start: one sync per burst, whatever way the editor
 * saves; a .gitignored file never syncs; an edit during a generate queues exactly one
 * follow-up and the app ends up with the last schema; a failing generator leaves the app
 * alone; a hanging one is killed at the deadline; sync/generate through the socket and
 * without a supervisor; up -d detaches it and down stops it; a compose edit reloads; two
 * schemas changed together restart the app once. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "supervisor/supervisor.h"
#include "tests/harness/harness.h"

#define RUN_TIMEOUT_MS  120000
#define SYNC_TIMEOUT_MS 60000

struct t {
	struct harness_dir dir;
	char project[64];
	struct px_buf out, err;
	struct px_proc *watch; /* a foreground `prisync watch`, when the test runs one */
	time_t began;
};

/* Counts its runs (gen.count), sleeps as long as ./slow says, fails on SYNTAX_ERROR,
 * notices two runs at once (OVERLAP), and "generates": the schema files, concatenated, to
 * ./generated, which the app reads when it starts. */
static const char gen_sh[] =
    "#!/bin/sh\n"
    "[ -e running ] && echo OVERLAP >> gen.count\n"
    "echo $$ > running\n"
    "echo run >> gen.count\n"
    "echo $$ > gen.pid\n"
    "[ -f slow ] && sleep \"$(cat slow)\"\n"
    "if cat $(find prisma -name '*.prisma' | sort) | grep -q SYNTAX_ERROR; then\n"
    "  echo 'error: the schema has a SYNTAX_ERROR' >&2; rm -f running; exit 1\n"
    "fi\n"
    "cat $(find prisma -name '*.prisma' | sort) > generated.tmp && mv generated.tmp generated\n"
    "rm -f running\n"
    "echo generated\n";

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	snprintf(t->project, sizeof(t->project), "pxsup-%d-%d", (int)getpid(), ++seq);
	/* this process talks to the supervisors the tests start */
	setenv("XDG_RUNTIME_DIR", t->dir.runtime, 1);
	t->began = time(NULL);
	*state = t;
	return 0;
}

static char *read_text(const struct t *t, const char *rel);

static void stop_watch(struct t *t)
{
	if (t->watch == NULL)
		return;
	px_proc_kill(t->watch, SIGTERM);
	px_proc_wait(t->watch, NULL, NULL);
	px_proc_free(t->watch);
	t->watch = NULL;
}

static int teardown(void **state)
{
	struct t *t = *state;
	int left;

	stop_watch(t);
	left = harness_project_down(&t->dir, t->project);
	{
		struct px_error ierr = PX_ERROR_INIT;
		char image[96];

		snprintf(image, sizeof(image), "%s-built", t->project);
		engine_image_remove(harness_engine(), image, true, &ierr);
		px_error_clear(&ierr);
	}
	/* the foreground supervisor's log too (the detached one's: harness_project_down) */
	if (harness_log_reports(t->dir.root, "watch.log"))
		left = -1;
	px_buf_release(&t->out);
	px_buf_release(&t->err);
	harness_dir_remove(&t->dir);
	free(t);
	unsetenv("COMPOSE_FILE"); /* test_prisma_edit_reaches_app's */
	return left == 0 ? 0 : -1;
}

static char *path_in(const struct t *t, const char *rel)
{
	return px_path_join(t->dir.root, rel);
}

/* An in-place write (open, truncate, write, close): what most editors without safe-write
 * and every shell redirection do. */
static void write_in_place(const struct t *t, const char *rel, const char *text)
{
	char *path = path_in(t, rel);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		fail_msg("write %s: %s", rel, strerror(errno));
	free(path);
}

static char *read_text(const struct t *t, const char *rel)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *path = path_in(t, rel);

	if (px_path_read_file(path, &b, &err) < 0)
		px_error_clear(&err);
	free(path);
	return px_buf_detach(&b, NULL);
}

/* Lines "run" in gen.count: how many times the generator ran. */
static int generates(const struct t *t)
{
	char *s = read_text(t, "gen.count");
	int n = 0;

	for (const char *p = s; (p = strstr(p, "run")) != NULL; p += 3)
		n++;
	if (strstr(s, "OVERLAP") != NULL)
		fail_msg("two generators ran at once");
	free(s);
	return n;
}

static const char *schema_file = "prisma/schema.prisma";

/* services: app (loads ./generated at start, restarted by the sync) and other (never
 * restarted); x-prisync with the generator script on the host. */
static void write_project(const struct t *t, const char *schema, const char *extra_prisync,
			  const char *app_env)
{
	char *y;

	xasprintf(&y,
		  "x-test: &test\n"
		  "  prisync-test.run: ${PRISYNC_TEST_RUN:-none}\n"
		  "services:\n"
		  "  app:\n"
		  "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		  "    labels: *test\n"
		  "    volumes: [\".:/app\"]\n"
		  "%s"
		  "    command: [\"sh\", \"-c\", \"cat /app/generated > /tmp/loaded 2>/dev/null; "
		  "trap 'exit 0' TERM; while :; do sleep 0.1; done\"]\n"
		  "  other:\n"
		  "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		  "    labels: *test\n"
		  "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
		  "done\"]\n"
		  "networks:\n"
		  "  default:\n"
		  "    labels: *test\n"
		  "x-prisync:\n"
		  "  debounce: 50ms\n"
		  "%s"
		  "  schemas:\n"
		  "    - name: core\n"
		  "      schema: %s\n"
		  "      generate: [\"sh\", \"./gen.sh\"]\n"
		  "      run-in: host\n"
		  "      restart: [app]\n",
		  app_env != NULL ? app_env : "", extra_prisync != NULL ? extra_prisync : "",
		  schema);
	harness_write_file(t->dir.root, "compose.yaml", y);
	harness_write_file(t->dir.root, "gen.sh", gen_sh);
	free(y);
}

/* What the app container loaded at its last start. */
static char *loaded(const struct t *t)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	char name[96];
	int code = -1;

	snprintf(name, sizeof(name), "%s-app-1", t->project);
	if (engine_exec(harness_engine(), name, (const char *[]){"cat", "/tmp/loaded", NULL}, NULL,
			NULL, NULL, &out, NULL, &code, &err) < 0)
		fail_msg("exec: %s", px_error_msg(&err));
	return px_buf_detach(&out, NULL);
}

/* How many times service's container started since the test began. */
struct starts {
	const char *service;
	int n;
};

static int on_event(void *data, const json_t *ev)
{
	struct starts *s = data;
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *svc = json_string_value(
	    json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"),
			    "com.docker.compose.service"));

	if (action != NULL && svc != NULL && strcmp(action, "start") == 0 &&
	    strcmp(svc, s->service) == 0)
		s->n++;
	return 0;
}

static int starts(const struct t *t, const char *service)
{
	struct px_error err = PX_ERROR_INIT;
	struct starts s = {.service = service};
	char *filter;

	xasprintf(&filter, "com.docker.compose.project=%s", t->project);
	if (engine_events(harness_engine(), filter, t->began - 1, time(NULL) + 1, on_event, &s,
			  &err) < 0)
		fail_msg("events: %s", px_error_msg(&err));
	free(filter);
	return s.n;
}

/* The supervisor's status, through its socket. */
static json_t *status(const struct t *t)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *req = json_pack("{s:s}", "op", "status"), *a = NULL;
	int fd = -1;

	if (sup_client_connect(t->project, &fd, &err) != 0 ||
	    sup_client_call(fd, req, &a, &err) < 0)
		fail_msg("status: %s", err.msg != NULL ? px_error_msg(&err) : "no supervisor");
	close(fd);
	json_decref(req);
	return a;
}

static bool idle(void *data)
{
	json_t *s = status(data);
	bool quiet = json_array_size(json_object_get(s, "jobs")) == 0;

	json_decref(s);
	return quiet;
}

struct want_gen {
	const struct t *t;
	int n;
};

static bool gen_reached(void *data)
{
	const struct want_gen *w = data;

	return generates(w->t) >= w->n;
}

/* Wait until the generator has run n times in all and the supervisor is idle again, then
 * long enough for a late second batch (several debounce periods) to have shown up. */
static void settle(const struct t *t, int n)
{
	struct want_gen w = {t, n};

	if (!harness_poll(gen_reached, &w, SYNC_TIMEOUT_MS))
		fail_msg("the generator ran %d times, expected %d", generates(t), n);
	if (!harness_poll(idle, (void *)t, SYNC_TIMEOUT_MS))
		fail_msg("the supervisor is still busy");
	usleep(400 * 1000);
	if (!harness_poll(idle, (void *)t, SYNC_TIMEOUT_MS))
		fail_msg("the supervisor is still busy");
}

static void up_detached(struct t *t)
{
	int rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "up",
				 "-d", NULL);

	if (rc != 0)
		fail_msg("up -d: %d\n%s%s", rc, px_buf_cstr(&t->out), px_buf_cstr(&t->err));
}

static char *supervisor_log(const struct t *t)
{
	return read_text(t, ".prisync/supervisor.log");
}

/* Edit, then: one more generate, one more app start, `other` untouched, and the app runs
 * what the schema says now. */
static void expect_one_sync(struct t *t, const char *how, void (*edit)(struct t *, const char *),
			    const char *text)
{
	int g = generates(t), a = starts(t, "app"), o = starts(t, "other");
	char *now;

	edit(t, text);
	settle(t, g + 1);
	if (generates(t) != g + 1)
		fail_msg("%s: %d generates, expected 1", how, generates(t) - g);
	if (starts(t, "app") != a + 1)
		fail_msg("%s: app started %d times, expected once", how, starts(t, "app") - a);
	assert_int_equal(starts(t, "other"), o);
	now = loaded(t);
	if (strcmp(now, text) != 0)
		fail_msg("%s: the app loaded '%s', the schema is '%s'", how, now, text);
	free(now);
}

static void edit_in_place(struct t *t, const char *text)
{
	write_in_place(t, schema_file, text);
}

/* VS Code / JetBrains safe-write / atomic savers: a temporary, then rename over. */
static void edit_rename(struct t *t, const char *text)
{
	harness_write_file(t->dir.root, "prisma/schema.prisma.tmp.123", text);
	harness_write_file(t->dir.root, "prisma/schema.prisma___jb_tmp___", text);
	{
		char *a = path_in(t, "prisma/schema.prisma___jb_tmp___");
		char *tmp = path_in(t, "prisma/schema.prisma.tmp.123");
		char *b = path_in(t, schema_file);

		unlink(tmp);
		if (rename(a, b) < 0)
			fail_msg("rename: %s", strerror(errno));
		free(a);
		free(tmp);
		free(b);
	}
}

/* vim: the 4913 probe, a swap file, a backup by rename, the new file written, the backup
 * removed. */
static void edit_vim(struct t *t, const char *text)
{
	char *probe = path_in(t, "prisma/4913"), *swp = path_in(t, "prisma/.schema.prisma.swp");
	char *file = path_in(t, schema_file), *backup = path_in(t, "prisma/schema.prisma~");

	harness_write_file(t->dir.root, "prisma/.schema.prisma.swp", "swap");
	harness_write_file(t->dir.root, "prisma/4913", "");
	unlink(probe);
	if (rename(file, backup) < 0)
		fail_msg("rename: %s", strerror(errno));
	write_in_place(t, schema_file, text);
	unlink(backup);
	unlink(swp);
	free(probe);
	free(swp);
	free(file);
	free(backup);
}

/* sed -i: its own temporary in the directory, renamed over the file. */
static void edit_sed(struct t *t, const char *text)
{
	char *cmd = NULL;
	int rc;

	(void)text;
	xasprintf(&cmd, "cd '%s' && sed -i 's/Int @id/BigInt @id/' prisma/schema.prisma",
		  t->dir.root);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	free(cmd);
}

/* git checkout: the file removed, then written again. */
static void edit_delete_recreate(struct t *t, const char *text)
{
	char *file = path_in(t, schema_file);

	unlink(file);
	usleep(10 * 1000);
	write_in_place(t, schema_file, text);
	free(file);
}

static void test_sync_once_per_save_style(void **state)
{
	struct t *t = *state;
	char *log, *pidfile;

	write_project(t, schema_file, NULL, NULL);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	up_detached(t);
	/* up -d returned after the initial sync: generated once, the app runs it */
	assert_int_equal(generates(t), 1);
	{
		char *now = loaded(t);

		assert_string_equal(now, "model A { id Int @id }\n");
		free(now);
	}
	xasprintf(&pidfile, "%s/prisync/%s/supervisor.pid", t->dir.runtime, t->project);
	assert_true(px_path_exists(pidfile));
	{
		char *sock = NULL, *pid_before, *pid_after;
		struct stat st;
		struct px_buf pb = PX_BUF_INIT;
		struct px_error perr = PX_ERROR_INIT;

		xasprintf(&sock, "%s/prisync/%s/supervisor.sock", t->dir.runtime, t->project);
		assert_int_equal(stat(sock, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(px_path_read_file(pidfile, &pb, &perr), 0);
		pid_before = px_buf_detach(&pb, NULL);
		/* a second up -d: the running supervisor syncs, no second one starts */
		up_detached(t);
		assert_non_null(strstr(px_buf_cstr(&t->err), "sync #2 succeeded"));
		assert_int_equal(generates(t), 2);
		assert_int_equal(px_path_read_file(pidfile, &pb, &perr), 0);
		pid_after = px_buf_detach(&pb, NULL);
		assert_string_equal(pid_before, pid_after);
		free(pid_before);
		free(pid_after);
		free(sock);
	}

	expect_one_sync(t, "in-place write", edit_in_place, "model A { id Int @id\n  a Int }\n");
	expect_one_sync(t, "rename over", edit_rename, "model A { id Int @id\n  b Int }\n");
	expect_one_sync(t, "vim", edit_vim, "model A { id Int @id\n  c Int }\n");
	expect_one_sync(t, "sed -i", edit_sed, "model A { id BigInt @id\n  c Int }\n");
	expect_one_sync(t, "delete and recreate", edit_delete_recreate,
			"model A { id Int @id\n  d Int }\n");

	log = supervisor_log(t);
	assert_non_null(strstr(log, "core"));
	assert_non_null(strstr(log, "succeeded"));
	free(log);

	/* down stops the supervisor first */
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p",
					 t->project, "down", "-t", "1", NULL),
			 0);
	assert_false(px_path_exists(pidfile));
	free(pidfile);
}

/* A foreground `prisync watch` on an already running stack, its output in watch.log. */
/* `prisync -p <project> <command>` in the background, its output in watch.log. */
static void start_bg(struct t *t, const char *command)
{
	extern char **environ;
	char *script = NULL, *xdg = NULL;
	const char **envp = NULL;
	size_t n = 0;
	struct px_error err = PX_ERROR_INIT;

	xasprintf(&script, "exec '%s' -p '%s' %s > watch.log 2>&1", harness_env("PRISYNC_BIN"),
		  t->project, command);
	xasprintf(&xdg, "XDG_RUNTIME_DIR=%s", t->dir.runtime);
	for (char **e = environ; *e != NULL; e++) {
		envp = xreallocarray(envp, n + 1, sizeof(*envp));
		envp[n++] = *e;
	}
	envp = xreallocarray(envp, n + 2, sizeof(*envp));
	envp[n++] = xdg;
	envp[n] = NULL;
	{
		const char *argv[] = {"sh", "-c", script, NULL};
		struct px_proc_opts o = {.argv = argv, .envp = envp, .cwd = t->dir.root,
					 .in = PX_PROC_NULL};

		if (px_proc_spawn(&t->watch, &o, &err) < 0)
			fail_msg("watch: %s", px_error_msg(&err));
	}
	free(envp);
	free(script);
	free(xdg);
}

static void start_watch(struct t *t)
{
	start_bg(t, "watch");
}

static bool supervisor_up(void *data)
{
	const struct t *t = data;
	struct px_error err = PX_ERROR_INIT;
	int fd = -1, rc = sup_client_connect(t->project, &fd, &err);

	px_error_clear(&err);
	if (rc == 0)
		close(fd);
	return rc == 0;
}

static void up_then_watch(struct t *t, int initial_generates)
{
	int rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "up",
				 "-d", "--no-supervisor", NULL);

	if (rc != 0)
		fail_msg("up: %s", px_buf_cstr(&t->err));
	assert_int_equal(generates(t), 0);
	start_watch(t);
	if (!harness_poll(supervisor_up, t, SYNC_TIMEOUT_MS))
		fail_msg("no supervisor: %s", read_text(t, "watch.log"));
	settle(t, initial_generates);
}

/* 200 files of a multi-file schema rewritten at once (a branch switch): one generate, one
 * restart; a .gitignored folder inside the schema folder syncs nothing. */
static void test_burst_multifile_and_gitignore(void **state)
{
	struct t *t = *state;
	struct px_buf all = PX_BUF_INIT;
	char rel[64], text[96];
	int g, a, rc;
	char *now;

	write_project(t, "prisma/schema", NULL, NULL);
	for (int i = 0; i < 200; i++) {
		snprintf(rel, sizeof(rel), "prisma/schema/m%03d.prisma", i);
		snprintf(text, sizeof(text), "model M%d { id Int @id }\n", i);
		harness_write_file(t->dir.root, rel, text);
	}
	harness_write_file(t->dir.root, ".gitignore", "prisma/schema/scratch/\n");
	harness_write_file(t->dir.root, "prisma/schema/scratch/old.prisma", "model Old { id Int @id }\n");
	{
		char *cmd = NULL;

		xasprintf(&cmd, "git init -q '%s'", t->dir.root);
		rc = system(cmd);
		assert_int_equal(rc, 0);
		free(cmd);
	}
	up_then_watch(t, 1);
	/* the schema folder and the project folder (compose.yaml, .env): the ignored
	 * scratch/ holds no watch */
	{
		json_t *st = status(t);

		assert_int_equal(json_integer_value(json_object_get(st, "watches")), 2);
		json_decref(st);
	}
	g = generates(t);
	a = starts(t, "app");
	for (int i = 0; i < 200; i++) {
		snprintf(rel, sizeof(rel), "prisma/schema/m%03d.prisma", i);
		snprintf(text, sizeof(text), "model M%d { id Int @id\n  v Int }\n", i);
		write_in_place(t, rel, text);
	}
	settle(t, g + 1);
	assert_int_equal(generates(t), g + 1);
	assert_int_equal(starts(t, "app"), a + 1);
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof(text), "model M%d { id Int @id\n  v Int }\n", i);
		px_buf_adds(&all, text);
	}
	now = loaded(t);
	/* the generator concatenates every file in order, the ignored one included */
	assert_non_null(strstr(now, px_buf_cstr(&all)));
	free(now);

	/* the ignored folder: edits there start nothing */
	write_in_place(t, "prisma/schema/scratch/old.prisma", "model Old { id Int @id\n x Int }\n");
	harness_write_file(t->dir.root, "prisma/schema/scratch/new.prisma", "model New { id Int @id }\n");
	usleep(500 * 1000);
	settle(t, g + 1);
	assert_int_equal(generates(t), g + 1);
	px_buf_release(&all);
}

static bool running_now(void *data)
{
	char *path = path_in(data, "running");
	bool yes = px_path_exists(path);

	free(path);
	return yes;
}

/* Edits while a generate runs: exactly one follow-up; then a randomised storm of edits
 * ends with the app running the last schema, every time. */
static void test_busy_followup_and_storm(void **state)
{
	struct t *t = *state;
	char text[128];
	int g;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	write_project(t, schema_file, NULL, NULL);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	up_then_watch(t, 1);
	harness_write_file(t->dir.root, "slow", "1");
	g = generates(t);
	write_in_place(t, schema_file, "model A { id Int @id\n  one Int }\n");
	if (!harness_poll(running_now, t, SYNC_TIMEOUT_MS))
		fail_msg("the generator did not start");
	/* five edits, all while that generate runs */
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "model A { id Int @id\n  during%d Int }\n", i);
		write_in_place(t, schema_file, text);
		usleep(60 * 1000);
	}
	settle(t, g + 2);
	assert_int_equal(generates(t), g + 2);
	{
		char *now = loaded(t);

		assert_string_equal(now, "model A { id Int @id\n  during4 Int }\n");
		free(now);
	}

	/* the storm: random pauses around the debounce and the generate time */
	harness_write_file(t->dir.root, "slow", "0.2");
	print_message("storm seed %u\n", seed);
	for (int round = 0; round < 3; round++) {
		int edits = 5 + (int)(rand_r(&seed) % 20);
		char *now;

		for (int i = 0; i < edits; i++) {
			snprintf(text, sizeof(text), "model A { id Int @id\n  r%d_%d Int }\n", round, i);
			write_in_place(t, schema_file, text);
			usleep((useconds_t)(rand_r(&seed) % 250) * 1000);
		}
		settle(t, 1); /* whatever ran, it is over */
		now = loaded(t);
		if (strcmp(now, text) != 0)
			fail_msg("round %d (seed %u): the app runs '%s', the schema is '%s'", round,
				 seed, now, text);
		free(now);
	}
}

/* A failing generator leaves the app alone and says why, prefixed with the schema's
 * name; the next good edit syncs. */
static void test_failing_generator(void **state)
{
	struct t *t = *state;
	int g, a;
	char *log, *now;

	write_project(t, schema_file, NULL, NULL);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	up_detached(t);
	g = generates(t);
	a = starts(t, "app");
	write_in_place(t, schema_file, "model A { id Int @id SYNTAX_ERROR }\n");
	settle(t, g + 1);
	assert_int_equal(starts(t, "app"), a);
	now = loaded(t);
	assert_string_equal(now, "model A { id Int @id }\n");
	free(now);
	log = supervisor_log(t);
	assert_non_null(strstr(log, "core     | error: the schema has a SYNTAX_ERROR"));
	assert_non_null(strstr(log, "failed: the generator failed (exit code 1)"));
	free(log);

	write_in_place(t, schema_file, "model A { id Int @id\n  ok Int }\n");
	settle(t, g + 2);
	assert_int_equal(starts(t, "app"), a + 1);
	now = loaded(t);
	assert_string_equal(now, "model A { id Int @id\n  ok Int }\n");
	free(now);
}

/* sync and generate: through the supervisor (queued, JSON), and directly without one; a
 * generator that hangs past generate-timeout is killed and the job fails. */
static void test_sync_generate_and_timeout(void **state)
{
	struct t *t = *state;
	json_error_t jerr;
	json_t *job;
	int a, rc;
	char *pid_text;

	write_project(t, schema_file, "  generate-timeout: 2s\n", NULL);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	up_detached(t);
	a = starts(t, "app");
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "sync",
			     "--json", NULL);
	assert_int_equal(rc, 0);
	job = json_loads(px_buf_cstr(&t->out), JSON_DISABLE_EOF_CHECK, &jerr);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")), "succeeded");
	assert_string_equal(json_string_value(json_object_get(job, "kind")), "sync");
	assert_string_equal(json_string_value(json_object_get(job, "output")), "generated\n");
	json_decref(job);
	assert_int_equal(starts(t, "app"), a + 1);

	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "generate", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(px_buf_cstr(&t->err), "generate #"));
	assert_int_equal(starts(t, "app"), a + 1); /* generate restarts nothing */
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p",
					 t->project, "sync", "nosuch", NULL),
			 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "no schema named 'nosuch' — schemas: core"));

	/* a hanging generator, through the supervisor: killed at the deadline */
	harness_write_file(t->dir.root, "slow", "600");
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "sync",
			     NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "timed out after 2 s"));
	pid_text = read_text(t, "gen.pid");
	assert_true(kill((pid_t)atoi(pid_text), 0) < 0 && errno == ESRCH);
	free(pid_text);
	assert_int_equal(starts(t, "app"), a + 1);

	/* without a supervisor: the same job, here */
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p",
					 t->project, "down", "-t", "1", NULL),
			 0);
	{
		char *slow = path_in(t, "slow");

		unlink(slow);
		free(slow);
	}
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "up",
			     "-d", "--no-supervisor", NULL);
	assert_int_equal(rc, 0);
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "sync",
			     "--json", "core", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(px_buf_cstr(&t->out), "\"state\":\"succeeded\""));
	harness_write_file(t->dir.root, "slow", "600");
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
			     "generate", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "timed out after 2 s"));
}

static char *in_service(const struct t *t, const char *service, const char *const *argv,
			int *code);

/* A generator running in the app container (run-in) that hangs: killed in the container at
 * the deadline (the engine has no "stop this exec": prisync kills its process tree). */
static void test_container_generator_timeout(void **state)
{
	struct t *t = *state;
	int rc, code;
	char *out;

	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	harness_write_file(t->dir.root, "compose.yaml",
		   "services:\n"
		   "  app:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "    volumes: [\".:/app\"]\n"
		   "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
		   "done\"]\n"
		   "networks:\n"
		   "  default:\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "x-prisync:\n"
		   "  generate-timeout: 2s\n"
		   "  schemas:\n"
		   "    - name: core\n"
		   "      schema: prisma/schema.prisma\n"
		   "      generate: [\"sh\", \"-c\", \"echo $$$$ > /tmp/gen.pid; exec sleep 600\"]\n"
		   "      run-in: app\n"
		   "      restart: []\n");
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "up", "-d",
			     "--no-supervisor", NULL);
	if (rc != 0)
		fail_msg("up: %s", px_buf_cstr(&t->err));
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "sync",
			     NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(px_buf_cstr(&t->err), "timed out after 2 s"));
	/* the sleep it started is gone from the container */
	out = in_service(t, "app",
			 (const char *[]){"sh", "-c", "kill -0 $(cat /tmp/gen.pid) 2>/dev/null", NULL},
			 &code);
	free(out);
	assert_int_not_equal(code, 0);
	out = in_service(t, "app", (const char *[]){"cat", "/tmp/gen.pid", NULL}, &code);
	assert_int_equal(code, 0); /* it did run there */
	free(out);
}

static bool app_has_env(void *data)
{
	const struct t *t = data;
	struct px_error err = PX_ERROR_INIT;
	char name[96];
	json_t *info = NULL;
	bool yes = false;
	size_t i;
	json_t *v;

	snprintf(name, sizeof(name), "%s-app-1", t->project);
	if (engine_container_inspect(harness_engine(), name, &info, &err) != 0) {
		px_error_clear(&err);
		return false;
	}
	json_array_foreach(json_object_get(json_object_get(info, "Config"), "Env"), i, v)
	{
		yes = yes || strcmp(json_string_value(v), "RELOADED=yes") == 0;
	}
	json_decref(info);
	return yes;
}

struct log_wait {
	const struct t *t;
	const char *text;
};

static bool log_says(void *data)
{
	const struct log_wait *w = data;
	char *log = supervisor_log(w->t);
	bool yes = strstr(log, w->text) != NULL;

	free(log);
	return yes;
}

struct log_count {
	const struct t *t;
	const char *text;
	size_t above;
};

static bool log_count_above(void *data)
{
	const struct log_count *w = data;
	char *log = supervisor_log(w->t);
	size_t n = 0;

	for (const char *q = log; (q = strstr(q, w->text)) != NULL; q++)
		n++;
	free(log);
	return n > w->above;
}

/* An edit of the compose file reloads it and converges: the app gets its new variable. */
static void test_compose_edit_reloads(void **state)
{
	struct t *t = *state;
	char *log;

	write_project(t, schema_file, NULL, NULL);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	up_detached(t);
	assert_false(app_has_env(t));
	write_project(t, schema_file, NULL, "    environment: {RELOADED: \"yes\"}\n");
	if (!harness_poll(app_has_env, t, SYNC_TIMEOUT_MS) ||
	    !harness_poll(log_says, &(struct log_wait){t, "configuration reloaded"},
			  SYNC_TIMEOUT_MS))
		fail_msg("not reloaded: %s", supervisor_log(t));
	/* a broken edit keeps what runs and says what is wrong, naming the file */
	harness_write_file(t->dir.root, "compose.yaml", "services: [\n");
	if (!harness_poll(log_says,
			  &(struct log_wait){t, "the supervisor keeps the configuration it had"},
			  SYNC_TIMEOUT_MS))
		fail_msg("no reload error: %s", supervisor_log(t));
	log = supervisor_log(t);
	assert_non_null(strstr(log, "compose.yaml:"));
	free(log);
	assert_true(app_has_env(t));
	/* SIGHUP reloads too (the good file back first) */
	write_project(t, schema_file, NULL, "    environment: {RELOADED: \"yes\"}\n");
	if (!harness_poll(log_count_above, &(struct log_count){t, "configuration reloaded", 1},
			  SYNC_TIMEOUT_MS))
		fail_msg("the fixed file did not reload: %s", supervisor_log(t));
	{
		char *pidfile = NULL;
		struct px_buf pid = PX_BUF_INIT;
		struct px_error perr = PX_ERROR_INIT;
		char *before = supervisor_log(t);
		size_t reloads = 0;

		for (const char *q = before; (q = strstr(q, "configuration reloaded")) != NULL; q++)
			reloads++;
		xasprintf(&pidfile, "%s/prisync/%s/supervisor.pid", t->dir.runtime, t->project);
		assert_int_equal(px_path_read_file(pidfile, &pid, &perr), 0);
		assert_int_equal(kill((pid_t)strtol(px_buf_cstr(&pid), NULL, 10), SIGHUP), 0);
		if (!harness_poll(log_count_above, &(struct log_count){t, "configuration reloaded",
									 reloads},
				  SYNC_TIMEOUT_MS))
			fail_msg("SIGHUP did not reload: %s", supervisor_log(t));
		px_buf_release(&pid);
		free(pidfile);
		free(before);
	}
	/* and the schema is still watched */
	{
		int g = generates(t);

		write_in_place(t, schema_file, "model A { id Int @id\n  after Int }\n");
		settle(t, g + 1);
	}
}

static bool process_ended(void *data)
{
	struct t *t = data;

	return px_proc_try_wait(t->watch, NULL) != 0;
}

static const char *state_of(const struct t *t, const char *service, char *buf, size_t len)
{
	struct px_error err = PX_ERROR_INIT;
	char name[96];
	json_t *info = NULL;

	snprintf(name, sizeof(name), "%s-%s-1", t->project, service);
	if (engine_container_inspect(harness_engine(), name, &info, &err) != 0)
		fail_msg("inspect %s: %s", name, px_error_msg(&err));
	snprintf(buf, len, "%s",
		 json_string_value(json_object_get(json_object_get(info, "State"), "Status")));
	json_decref(info);
	return buf;
}

/* A foreground `up`: the stack, the initial sync, the supervisor next to the logs; an edit
 * syncs; Ctrl-C stops the stack (foreground) and the supervisor's files go. */
static void test_foreground_up(void **state)
{
	struct t *t = *state;
	char *pidfile = NULL, *sock = NULL, buf[32], *log;
	int g;

	write_project(t, schema_file, NULL, NULL);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	start_bg(t, "up");
	if (!harness_poll(supervisor_up, t, SYNC_TIMEOUT_MS))
		fail_msg("no supervisor: %s", read_text(t, "watch.log"));
	settle(t, 1);
	g = generates(t);
	write_in_place(t, schema_file, "model A { id Int @id\n  fg Int }\n");
	settle(t, g + 1);
	{
		char *now = loaded(t);

		assert_string_equal(now, "model A { id Int @id\n  fg Int }\n");
		free(now);
	}
	xasprintf(&pidfile, "%s/prisync/%s/supervisor.pid", t->dir.runtime, t->project);
	xasprintf(&sock, "%s/prisync/%s/supervisor.sock", t->dir.runtime, t->project);
	assert_true(px_path_exists(pidfile));
	px_proc_kill(t->watch, SIGINT);
	if (!harness_poll(process_ended, t, SYNC_TIMEOUT_MS))
		fail_msg("up did not end on SIGINT: %s", read_text(t, "watch.log"));
	px_proc_free(t->watch);
	t->watch = NULL;
	assert_false(px_path_exists(pidfile));
	assert_false(px_path_exists(sock));
	assert_string_equal(state_of(t, "app", buf, sizeof(buf)), "exited");
	assert_string_equal(state_of(t, "other", buf, sizeof(buf)), "exited");
	log = read_text(t, "watch.log");
	assert_non_null(strstr(log, "app-1"));        /* the logs were followed */
	assert_non_null(strstr(log, "sync #2 succeeded")); /* and the edit synced */
	free(log);
	free(pidfile);
	free(sock);
}

/* The text of path in the web container, or NULL when it is not there; *up (may be
 * NULL: fail instead) is false when the container does not run (being restarted). */
static char *web_file_up(const struct t *t, const char *path, bool *up)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	char name[96];
	int code = -1;

	snprintf(name, sizeof(name), "%s-web-1", t->project);
	if (up != NULL)
		*up = true;
	if (engine_exec(harness_engine(), name, (const char *[]){"cat", path, NULL}, NULL, NULL,
			NULL, &out, NULL, &code, &err) < 0) {
		if (up == NULL)
			fail_msg("exec: %s", px_error_msg(&err));
		*up = false;
		px_error_clear(&err);
		code = 1;
	}
	if (code != 0) {
		px_buf_release(&out);
		return NULL;
	}
	return px_buf_detach(&out, NULL);
}

static char *web_file(const struct t *t, const char *path)
{
	return web_file_up(t, path, NULL);
}

struct web_wait {
	const struct t *t;
	const char *path;
	const char *text; /* NULL: wait until the file is gone */
};

static bool web_has(void *data)
{
	const struct web_wait *w = data;
	bool up;
	char *now = web_file_up(w->t, w->path, &up);
	bool yes = up && (w->text == NULL ? now == NULL : now != NULL && strcmp(now, w->text) == 0);

	free(now);
	return yes;
}

static void expect_web(const struct t *t, const char *path, const char *text)
{
	struct web_wait w = {t, path, text};

	if (!harness_poll(web_has, &w, SYNC_TIMEOUT_MS))
		fail_msg("web:%s is not %s%s%s; supervisor log:\n%s", path, text ? "'" : "",
			 text ? text : "gone", text ? "'" : "", supervisor_log(t));
}

static char *in_service(const struct t *t, const char *service, const char *const *argv,
			int *code);

static bool built_says_two(void *data)
{
	int code;
	char *stamp = in_service(data, "built", (const char *[]){"cat", "/stamp", NULL}, &code);
	bool yes = code == 0 && strcmp(stamp, "two\n") == 0;

	free(stamp);
	return yes;
}

/* develop.watch as docker compose means it: sync (ignore patterns honoured, deletes
 * too), sync+restart, sync+exec, restart; a project with no schema at all. */
static void test_develop_watch(void **state)
{
	struct t *t = *state;
	int web0;
	char *none;

	harness_write_file(t->dir.root, "compose.yaml",
		   "services:\n"
		   "  web:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
		   "done\"]\n"
		   "    develop:\n"
		   "      watch:\n"
		   "        - {action: sync, path: ./src, target: /srv/src, ignore: [\"*.tmp\"]}\n"
		   "        - {action: sync+restart, path: ./conf, target: /srv/conf}\n"
		   "        - action: sync+exec\n"
		   "          path: ./hooks\n"
		   "          target: /srv/hooks\n"
		   "          exec:\n"
		   "            command: [\"sh\", \"-c\", \"cat /srv/hooks/* > /srv/hooked\"]\n"
		   "        - {action: restart, path: ./restart-me}\n"
		   "  built:\n"
		   "    build:\n"
		   "      context: ./img\n"
		   "      args: {BASE: \"${PRISYNC_TEST_IMAGE_BUSYBOX}\"}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "    develop:\n"
		   "      watch:\n"
		   "        - {action: rebuild, path: ./img}\n"
		   "networks:\n"
		   "  default:\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n");
	harness_write_file(t->dir.root, "src/keep.txt", "keep\n");
	harness_write_file(t->dir.root, "conf/app.conf", "v=1\n");
	harness_write_file(t->dir.root, "hooks/h1", "hook one\n");
	harness_write_file(t->dir.root, "restart-me", "then\n");
	harness_write_file(t->dir.root, "img/Dockerfile",
		   "ARG BASE\n"
		   "FROM ${BASE}\n"
		   "COPY stamp /stamp\n"
		   "CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; done\"]\n");
	harness_write_file(t->dir.root, "img/stamp", "one\n");
	up_detached(t);
	web0 = starts(t, "web");

	write_in_place(t, "src/a.txt", "alpha\n");
	expect_web(t, "/srv/src/a.txt", "alpha\n");
	harness_write_file(t->dir.root, "src/sub/b.txt", "beta\n");
	expect_web(t, "/srv/src/sub/b.txt", "beta\n");
	/* ignored by the rule: never copied */
	write_in_place(t, "src/scratch.tmp", "nope\n");
	write_in_place(t, "src/c.txt", "gamma\n");
	expect_web(t, "/srv/src/c.txt", "gamma\n");
	none = web_file(t, "/srv/src/scratch.tmp");
	assert_null(none);
	/* a deletion reaches the container */
	{
		char *a = path_in(t, "src/a.txt");

		unlink(a);
		free(a);
	}
	expect_web(t, "/srv/src/a.txt", NULL);
	assert_int_equal(starts(t, "web"), web0); /* sync alone restarts nothing */

	write_in_place(t, "conf/app.conf", "v=2\n");
	expect_web(t, "/srv/conf/app.conf", "v=2\n");
	settle(t, 0);
	assert_int_equal(starts(t, "web"), web0 + 1);

	/* h1 was there before up: like compose (without initial_sync), only changes sync */
	write_in_place(t, "hooks/h2", "hook two\n");
	expect_web(t, "/srv/hooked", "hook two\n");

	write_in_place(t, "restart-me", "now\n");
	settle(t, 0);
	{
		int n = starts(t, "web");

		if (n != web0 + 2)
			fail_msg("web started %d times since up, expected 2", n - web0);
	}

	/* rebuild: a new image, the container recreated from it */
	{
		int code;
		char *stamp = in_service(t, "built", (const char *[]){"cat", "/stamp", NULL}, &code);

		assert_string_equal(stamp, "one\n");
		free(stamp);
		write_in_place(t, "img/stamp", "two\n");
		if (!harness_poll(built_says_two, t, SYNC_TIMEOUT_MS))
			fail_msg("not rebuilt: %s", supervisor_log(t));
	}
}

/* Copy examples/prisma-app/<rel> into the test's directory. */
static void copy_example(const struct t *t, const char *rel)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf data = PX_BUF_INIT;
	char *src = NULL;

	xasprintf(&src, "%s/examples/prisma-app/%s", harness_env("PRISYNC_SOURCE_DIR"), rel);
	if (px_path_read_file(src, &data, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	harness_write_file(t->dir.root, rel, px_buf_cstr(&data));
	px_buf_release(&data);
	free(src);
}

/* Run argv in the project's container of service; its stdout. */
static char *in_service(const struct t *t, const char *service, const char *const *argv,
			int *code)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	char name[96];

	snprintf(name, sizeof(name), "%s-%s-1", t->project, service);
	*code = -1;
	if (engine_exec(harness_engine(), name, argv, NULL, NULL, NULL, &out, NULL, code, &err) <
	    0) {
		px_error_clear(&err); /* restarting: the caller polls */
		*code = -1;
	}
	return px_buf_detach(&out, NULL);
}

static char *get_users(const struct t *t)
{
	int code;

	return in_service(t, "app",
			  (const char *[]){"node", "-e",
					   "fetch('http://127.0.0.1:3000/users').then(r => "
					   "r.text()).then(console.log, e => console.log(String(e)))",
					   NULL},
			  &code);
}

struct users_wait {
	const struct t *t;
	const char *text;
};

static bool users_say(void *data)
{
	const struct users_wait *w = data;
	char *now = get_users(w->t);
	bool yes = strstr(now, w->text) != NULL;

	free(now);
	return yes;
}

/* How many times the example's app container started: dev-setup.sh's first line (what it
 * does about the dependencies), counted in the container's log.  Not its last line: a start
 * that a restart cuts short (the initial sync's, while npm ci still runs) never prints it.
 * Not the engine's events: it keeps only its last 256, fewer than two healthchecks make in a
 * minute, so starts() cannot count this long a test. */
static int app_starts(const struct t *t)
{
	static const char *const first[] = {"npm ci skipped\n", "in node_modules: npm ci\n",
					    "since the last install: npm ci\n"};
	struct px_error err = PX_ERROR_INIT;
	struct px_buf log = PX_BUF_INIT;
	char name[96];
	int n = 0;

	snprintf(name, sizeof(name), "%s-app-1", t->project);
	if (engine_container_logs(harness_engine(), name, true, true, -1, &log, &log, &err) < 0)
		fail_msg("logs: %s", px_error_msg(&err));
	for (size_t k = 0; k < sizeof(first) / sizeof(first[0]); k++) {
		for (const char *p = px_buf_cstr(&log); (p = strstr(p, first[k])) != NULL; p++)
			n++;
	}
	px_buf_release(&log);
	return n;
}

/* When the service's container last started (owned). */
static char *started_at(const struct t *t, const char *service)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *doc = NULL;
	char name[96], *at;

	snprintf(name, sizeof(name), "%s-%s-1", t->project, service);
	if (engine_container_inspect(harness_engine(), name, &doc, &err) < 0)
		fail_msg("inspect: %s", px_error_msg(&err));
	at = xstrdup(json_string_value(json_object_get(json_object_get(doc, "State"), "StartedAt"))
			     ?: "?");
	json_decref(doc);
	return at;
}

/* The real thing: the example app (Node, Prisma 7, PostgreSQL) as shipped, offline file
 * merged: its x-prisync block has prisync generate in the app container, whose entrypoint
 * (scripts/dev-setup.sh) installs the dependencies into the node_modules volume.  A field
 * added to the schema (its column already migrated) reaches the running app with no other
 * step, and nothing but the app restarts. */
static void test_prisma_edit_reaches_app(void **state)
{
	struct t *t = *state;
	char *over = NULL, *files = NULL, *schema, *edited, *users, *psql_out, *db_started;
	const char *at;
	int code, rc;

	copy_example(t, "compose.yaml");
	copy_example(t, "compose.offline.yaml");
	copy_example(t, "server.js");
	copy_example(t, "package.json");
	copy_example(t, "package-lock.json");
	copy_example(t, "prisma.config.ts");
	copy_example(t, "prisma/schema.prisma");
	/* the labels, and dev-setup.sh from the source tree (the compose file mounts it from
	 * ../../scripts, the repository's layout) */
	xasprintf(&over,
		  "services:\n"
		  "  app:\n"
		  "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		  "    volumes: [\"%s/scripts/dev-setup.sh:/app/scripts/dev-setup.sh:ro\"]\n"
		  "  db:\n"
		  "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		  "volumes:\n"
		  "  db-data: {labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}}\n"
		  "  node_modules: {labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}}\n",
		  harness_env("PRISYNC_SOURCE_DIR"));
	harness_write_file(t->dir.root, "compose.test.yaml", over);
	/* for every prisync run of the test, teardown's down too (which unsets it) */
	xasprintf(&files, "%s/compose.yaml:%s/compose.offline.yaml:%s/compose.test.yaml",
		  t->dir.root, t->dir.root, t->dir.root);
	setenv("COMPOSE_FILE", files, 1);
	rc = harness_prisync(&t->dir, &t->out, &t->err, 300000, "-p", t->project, "up", "-d",
			     "--wait", NULL);
	if (rc != 0)
		fail_msg("up: %s%s", px_buf_cstr(&t->err), supervisor_log(t));
	db_started = started_at(t, "db");
	/* the database as a migration that adds the column would leave it */
	psql_out = in_service(t, "db",
		   (const char *[]){"psql", "-U", "app", "-d", "app", "-c",
				    "CREATE TABLE \"User\" (id serial PRIMARY KEY, email text NOT "
				    "NULL UNIQUE, name text, nickname text);"
				    "INSERT INTO \"User\" (email, name, nickname) VALUES "
				    "('ann@example.com', 'Ann', 'annie');",
				    NULL},
		   &code);
	assert_int_equal(code, 0);
	free(psql_out);
	if (!harness_poll(users_say, &(struct users_wait){t, "ann@example.com"}, SYNC_TIMEOUT_MS))
		fail_msg("the app does not answer: %s", get_users(t));
	/* the running client predates the field */
	users = get_users(t);
	assert_null(strstr(users, "nickname"));
	free(users);

	schema = read_text(t, "prisma/schema.prisma");
	at = strstr(schema, "  name  String?\n");
	assert_non_null(at);
	xasprintf(&edited, "%.*s  name  String?\n  nickname String?\n%s", (int)(at - schema),
		  schema, at + strlen("  name  String?\n"));
	write_in_place(t, "prisma/schema.prisma", edited);
	if (!harness_poll(users_say, &(struct users_wait){t, "\"nickname\":\"annie\""}, 180000))
		fail_msg("the app never got the field: %s\n%s", get_users(t), supervisor_log(t));
	/* up, the initial sync, this edit: three starts of app; db never restarted */
	assert_int_equal(app_starts(t), 3);
	{
		char *now = started_at(t, "db");

		assert_string_equal(now, db_started);
		free(now);
	}

	/* a broken schema: Prisma's own error, prefixed; the app keeps its client */
	{
		char *broken = NULL, *log;

		xasprintf(&broken, "%smodel Broken {\n  id Int @id\n", edited);
		write_in_place(t, "prisma/schema.prisma", broken);
		if (!harness_poll(log_says, &(struct log_wait){t, "sync #3 failed"}, 180000))
			fail_msg("no failed sync: %s", supervisor_log(t));
		log = supervisor_log(t);
		assert_non_null(strstr(log, "default  | "));
		assert_non_null(strstr(log, "the generator failed (exit code 1)"));
		assert_non_null(strstr(log, "Prisma schema"));
		free(log);
		assert_int_equal(app_starts(t), 3);
		assert_true(users_say(&(struct users_wait){t, "\"nickname\":\"annie\""}));
		/* the next good edit recovers */
		write_in_place(t, "prisma/schema.prisma", edited);
		if (!harness_poll(log_says, &(struct log_wait){t, "sync #4 succeeded"}, 180000))
			fail_msg("no recovery: %s", supervisor_log(t));
		assert_int_equal(app_starts(t), 4);
		free(broken);
	}
	free(schema);
	free(edited);
	free(over);
	free(files);
	free(db_started);
}

/* ---- git: a branch switch is one sync, and only when the schema differs ---- */

/* Run a git command in the project (a fixed identity, no global or system config). */
static void git(const struct t *t, const char *args)
{
	char *cmd;
	int rc;

	xasprintf(&cmd,
		  "cd '%s' && HOME='%s' GIT_CONFIG_NOSYSTEM=1 git -c user.name=t "
		  "-c user.email=t@example.invalid %s >/dev/null 2>&1",
		  t->dir.root, t->dir.root, args);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("'git %s' failed (%d)", args, rc);
	free(cmd);
}

/* The status's git object (new reference). */
static json_t *git_status(const struct t *t)
{
	json_t *st = status(t), *g = json_object_get(st, "git");

	json_incref(g);
	json_decref(st);
	return g;
}

struct git_wait {
	const struct t *t;
	const char *branch;
};

/* The supervisor saw HEAD on branch, and nothing is queued or running. */
static bool on_branch_idle(void *data)
{
	const struct git_wait *w = data;
	json_t *g = git_status(w->t);
	const char *b = json_string_value(json_object_get(g, "branch"));
	bool yes = b != NULL && strcmp(b, w->branch) == 0;

	json_decref(g);
	return yes && idle((void *)w->t);
}

/* Check out branch; then exactly want generates more, still so after a quiet 1.5 s. */
static void checkout_expect(struct t *t, const char *branch, int want)
{
	struct git_wait w = {t, branch};
	int g = generates(t);
	char *args;

	xasprintf(&args, "checkout -q %s", branch);
	git(t, args);
	free(args);
	if (want > 0)
		settle(t, g + want);
	if (!harness_poll(on_branch_idle, &w, SYNC_TIMEOUT_MS))
		fail_msg("the supervisor never saw HEAD on %s", branch);
	usleep(1500 * 1000);
	if (!harness_poll(idle, t, SYNC_TIMEOUT_MS))
		fail_msg("the supervisor is still busy");
	if (generates(t) != g + want)
		fail_msg("checkout %s: %d generates, expected %d", branch, generates(t) - g, want);
}

/* The last HEAD move's entry for schema core, checked. */
static void expect_move(const struct t *t, const char *branch, bool changed, const char *added,
			const char *removed)
{
	json_t *g = git_status(t), *m = json_object_get(g, "last_move");
	json_t *sc = json_array_get(json_object_get(m, "schemas"), 0);
	json_t *a = json_object_get(sc, "migrationsAdded"), *r = json_object_get(sc, "migrationsRemoved");
	char *text = json_dumps(g, JSON_COMPACT);

	if (m == NULL || sc == NULL)
		fail_msg("no HEAD move in the status: %s", text);
	assert_string_equal(json_string_value(json_object_get(m, "branch")), branch);
	assert_string_equal(json_string_value(json_object_get(sc, "name")), "core");
	if (json_is_true(json_object_get(sc, "schemaChanged")) != changed)
		fail_msg("schemaChanged: %s", text);
	if (json_array_size(a) != (added != NULL) || json_array_size(r) != (removed != NULL))
		fail_msg("migrations: %s", text);
	if (added != NULL)
		assert_string_equal(json_string_value(json_array_get(a, 0)), added);
	if (removed != NULL)
		assert_string_equal(json_string_value(json_array_get(r, 0)), removed);
	assert_non_null(json_string_value(json_object_get(m, "from")));
	assert_non_null(json_string_value(json_object_get(m, "time")));
	free(text);
	json_decref(g);
}

static void test_git_checkout_syncs_once(void **state)
{
	static const char main_schema[] = "model A { id Int @id }\n";
	static const char feature_schema[] = "model A { id Int @id\n  feature Int }\n";
	struct t *t = *state;
	char *y, *now;

	xasprintf(&y,
		  "x-test: &test\n"
		  "  prisync-test.run: ${PRISYNC_TEST_RUN:-none}\n"
		  "services:\n"
		  "  other:\n"
		  "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		  "    labels: *test\n"
		  "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.1; "
		  "done\"]\n"
		  "networks:\n"
		  "  default:\n"
		  "    labels: *test\n"
		  "x-prisync:\n"
		  "  debounce: 50ms\n"
		  "  schemas:\n"
		  "    - name: core\n"
		  "      schema: %s\n"
		  "      migrations: prisma/migrations\n"
		  "      generate: [\"sh\", \"./gen.sh\"]\n"
		  "      run-in: host\n"
		  "      restart: []\n",
		  schema_file);
	harness_write_file(t->dir.root, "compose.yaml", y);
	free(y);
	harness_write_file(t->dir.root, "gen.sh", gen_sh);
	harness_write_file(t->dir.root, ".gitignore",
		   "gen.count\ngen.pid\nrunning\ngenerated\ngenerated.tmp\nwatch.log\n.prisync/\n");
	harness_write_file(t->dir.root, schema_file, main_schema);
	harness_write_file(t->dir.root, "prisma/migrations/20240101_init/migration.sql", "CREATE TABLE a();\n");
	harness_write_file(t->dir.root, "README", "main\n");
	git(t, "init -q -b main");
	git(t, "add -A");
	git(t, "commit -q -m main");
	/* feature: another schema and one more migration; docs: only the README differs */
	git(t, "checkout -q -b feature");
	harness_write_file(t->dir.root, schema_file, feature_schema);
	harness_write_file(t->dir.root, "prisma/migrations/20240202_feature/migration.sql", "ALTER TABLE a;\n");
	git(t, "add -A");
	git(t, "commit -q -m feature");
	git(t, "checkout -q main");
	git(t, "checkout -q -b docs");
	harness_write_file(t->dir.root, "README", "docs\n");
	git(t, "commit -q -am docs");
	git(t, "checkout -q main");

	up_detached(t);
	settle(t, 1);
	{
		json_t *g = git_status(t);

		assert_string_equal(json_string_value(json_object_get(g, "branch")), "main");
		assert_true(json_is_null(json_object_get(g, "last_move")));
		json_decref(g);
	}

	checkout_expect(t, "feature", 1);
	expect_move(t, "feature", true, "20240202_feature", NULL);
	now = read_text(t, "generated");
	assert_string_equal(now, feature_schema);
	free(now);

	checkout_expect(t, "main", 1);
	expect_move(t, "main", true, NULL, "20240202_feature");

	/* the same schema on both sides: HEAD moves, nothing syncs */
	checkout_expect(t, "docs", 0);
	expect_move(t, "docs", false, NULL, NULL);

	/* there and straight back: whatever ran, the last run saw the last checkout */
	git(t, "checkout -q feature");
	git(t, "checkout -q main");
	{
		struct git_wait w = {t, "main"};

		if (!harness_poll(on_branch_idle, &w, SYNC_TIMEOUT_MS))
			fail_msg("the supervisor never saw HEAD on main");
	}
	settle(t, 1);
	now = read_text(t, "generated");
	assert_string_equal(now, main_schema);
	free(now);
}

/* Runs of the second schema's generator (it appends "run" to gen2.count). */
static int generates2(const struct t *t)
{
	char *s = read_text(t, "gen2.count");
	int n = 0;

	for (const char *p = s; (p = strstr(p, "run")) != NULL; p += 3)
		n++;
	free(s);
	return n;
}

static bool gen2_reached(void *data)
{
	const struct want_gen *w = data;

	return generates2(w->t) >= w->n;
}

/* The state of the last job of schema name in the supervisor's status. */
static char *last_state(const struct t *t, const char *name)
{
	json_t *st = status(t), *sch;
	char *out = NULL;
	size_t i;

	json_array_foreach(json_object_get(st, "schemas"), i, sch)
	{
		if (strcmp(json_string_value(json_object_get(sch, "name")) ?: "", name) == 0)
			out = xstrdup(json_string_value(json_object_get(
					  json_object_get(sch, "last_job"), "state")) ?: "none");
	}
	json_decref(st);
	return out != NULL ? out : xstrdup("no such schema");
}

/* The last jobs of core and extra ended in these states. */
static void expect_states(const struct t *t, const char *core, const char *extra)
{
	char *c = last_state(t, "core"), *e = last_state(t, "extra");

	if (strcmp(c, core) != 0 || strcmp(e, extra) != 0)
		fail_msg("last jobs: core %s, extra %s; expected %s, %s", c, e, core, extra);
	free(c);
	free(e);
}

/* Both files written, then: each generator once more, the app restarted `restarts` times. */
static void edit_both(struct t *t, const char *core, const char *extra, int restarts)
{
	int g = generates(t), g2 = generates2(t), a = starts(t, "app");
	struct want_gen w2 = {t, g2 + 1};

	write_in_place(t, schema_file, core);
	write_in_place(t, "extra/schema.prisma", extra);
	if (!harness_poll(gen2_reached, &w2, SYNC_TIMEOUT_MS))
		fail_msg("the second generator did not run");
	settle(t, g + 1);
	assert_int_equal(generates(t), g + 1);
	assert_int_equal(generates2(t), g2 + 1);
	if (starts(t, "app") != a + restarts)
		fail_msg("app started %d times, expected %d", starts(t, "app") - a, restarts);
}

/* The app loads the clients of two schemas (two databases in one monorepo). */
static const char two_schemas_compose[] =
    "x-prisync:\n"
    /* both files of an edit land in one batch even on a slow machine */
    "  debounce: 300ms\n"
    "  generate-timeout: 2s\n"
    "  schemas:\n"
    "    - {name: core, schema: prisma/schema.prisma, run-in: host, restart: [app],\n"
    "       generate: [sh, ./gen.sh]}\n"
    "    - name: extra\n"
    "      schema: extra/schema.prisma\n"
    "      generate: [\"sh\", \"-c\", \"echo run >> gen2.count; "
    "! grep -q SYNTAX_ERROR extra/schema.prisma || "
    "{ echo 'error: extra has a SYNTAX_ERROR' >&2; exit 1; }\"]\n"
    "      run-in: host\n"
    "      restart: [app]\n"
    "services:\n"
    "  app:\n"
    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
    "    volumes: [\".:/app\"]\n"
    "    command: [\"sh\", \"-c\", \"cat /app/generated > /tmp/loaded 2>/dev/null; "
    "trap 'exit 0' TERM; while :; do sleep 0.1; done\"]\n"
    "networks:\n"
    "  default: {labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}}\n";

/*
 * Two schemas the app loads both (two databases in one monorepo): a change to both in one
 * burst (a branch switch) runs both generators and restarts the app once, not once per
 * schema -- the initial sync too; when one generator fails, or hangs and is killed at its
 * own deadline, the other's change still reaches the app, with one restart, and the
 * failed one says why; `prisync sync` with no supervisor restarts once too.
 */
static void test_two_schemas_one_restart(void **state)
{
	struct t *t = *state;
	int a;
	char *now;

	harness_write_file(t->dir.root, "compose.yaml", two_schemas_compose);
	harness_write_file(t->dir.root, "gen.sh", gen_sh);
	harness_write_file(t->dir.root, schema_file, "model A { id Int @id }\n");
	harness_write_file(t->dir.root, "extra/schema.prisma", "model B { id Int @id }\n");
	up_detached(t);
	settle(t, 1);
	/* created and started by up, then one restart for both initial syncs */
	assert_int_equal(generates2(t), 1);
	assert_int_equal(starts(t, "app"), 2);

	edit_both(t, "model A { id Int @id\n  a Int }\n", "model B { id Int @id\n  b Int }\n", 1);
	now = loaded(t);
	assert_string_equal(now, "model A { id Int @id\n  a Int }\n");
	free(now);
	expect_states(t, "succeeded", "succeeded");

	/* one generator fails: the other's change still reaches the app, once */
	edit_both(t, "model A { id Int @id\n  a2 Int }\n", "model B { SYNTAX_ERROR }\n", 1);
	now = loaded(t);
	assert_string_equal(now, "model A { id Int @id\n  a2 Int }\n");
	free(now);
	expect_states(t, "succeeded", "failed");
	now = supervisor_log(t);
	assert_non_null(strstr(now, "extra    | error: extra has a SYNTAX_ERROR"));
	free(now);

	/* the failing one alone, fixed: its own sync, one restart */
	a = starts(t, "app");
	{
		struct want_gen w2 = {t, generates2(t) + 1};

		write_in_place(t, "extra/schema.prisma", "model B { id Int @id }\n");
		if (!harness_poll(gen2_reached, &w2, SYNC_TIMEOUT_MS))
			fail_msg("the second generator did not run");
	}
	if (!harness_poll(idle, (void *)t, SYNC_TIMEOUT_MS))
		fail_msg("the supervisor is still busy");
	assert_int_equal(starts(t, "app"), a + 1);
	expect_states(t, "succeeded", "succeeded");

	/* one generator hangs past generate-timeout: killed, its job failed, the time counted
	 * for it alone; the other's change still restarts the app, once */
	harness_write_file(t->dir.root, "slow", "30");
	edit_both(t, "model A { id Int @id\n  a3 Int }\n", "model B { id Int @id\n  b3 Int }\n", 1);
	expect_states(t, "failed", "succeeded");
	now = supervisor_log(t);
	assert_non_null(strstr(now, "timed out after 2 s"));
	free(now);
	now = loaded(t);
	assert_string_equal(now, "model A { id Int @id\n  a2 Int }\n");
	free(now);

	/* with no supervisor, `prisync sync` does the same: both generators, one restart (the
	 * killed generator left its ./running behind) */
	for (int k = 0; k < 2; k++) {
		now = path_in(t, k == 0 ? "slow" : "running");
		unlink(now);
		free(now);
	}
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p",
					 t->project, "down", "-t", "1", NULL),
			 0);
	assert_int_equal(harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p",
					 t->project, "up", "-d", "--no-supervisor", NULL),
			 0);
	{
		int g = generates(t), g2 = generates2(t);
		const char *out;

		a = starts(t, "app");
		if (harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project,
				    "sync", "--json", NULL) != 0)
			fail_msg("sync: %s%s", px_buf_cstr(&t->out), px_buf_cstr(&t->err));
		assert_int_equal(generates(t), g + 1);
		assert_int_equal(generates2(t), g2 + 1);
		assert_int_equal(starts(t, "app"), a + 1);
		out = px_buf_cstr(&t->out);
		assert_non_null(strstr(out, "\"schema\":\"core\""));
		assert_non_null(strstr(out, "\"schema\":\"extra\""));
		assert_null(strstr(out, "\"state\":\"failed\""));
	}
	now = loaded(t);
	assert_string_equal(now, "model A { id Int @id\n  a3 Int }\n");
	free(now);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_once_per_save_style, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_burst_multifile_and_gitignore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_followup_and_storm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failing_generator, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_generate_and_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compose_edit_reloads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_generator_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_develop_watch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreground_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prisma_edit_reaches_app, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_git_checkout_syncs_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_schemas_one_restart, setup, teardown),
	};

	/* PRISYNC_TEST_FILTER=test_develop_watch runs one test (while working on it) */
	if (getenv("PRISYNC_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("PRISYNC_TEST_FILTER"));
	return cmocka_run_group_tests_name("e2e_supervisor", tests, NULL, NULL);
}
