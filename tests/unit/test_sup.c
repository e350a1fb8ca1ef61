/* test_sup.c - the supervisor's own logic with no engine involved (host generators, no
 * restart services): the control socket's requests and answers, the event stream, one
 * follow-up job however many requests arrive while a job runs, the generate-timeout
 * killing a hanging generator, a failing generator's output in its job. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "supervisor/supervisor.h"

struct fx {
	char *dir; /* the project; XDG_RUNTIME_DIR is dir/run */
	struct compose_options copts;
	struct compose_project_ref ref;
	struct compose_project *p;
	struct engine *e;
	struct px_loop *loop;
	struct sup_runtime *rt;
	struct sup *sup;
};

static void write_file(const char *dir, const char *rel, const char *text)
{
	struct px_error err = PX_ERROR_INIT;
	char *path = px_path_join(dir, rel);

	if (px_path_write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(path);
}

/* A project whose one schema runs generator (a shell snippet) on the host. */
static void load(struct fx *f, const char *generator, const char *extra)
{
	struct px_error err = PX_ERROR_INIT;
	char *yaml = NULL, *run = px_path_join(f->dir, "run"), *prisma = px_path_join(f->dir, "prisma");

	xasprintf(&yaml,
		  "services:\n  app: {image: busybox}\n"
		  "x-prisync:\n%s  schemas:\n"
		  "    - name: core\n      schema: prisma/schema.prisma\n"
		  "      watch: [extra.txt]\n"
		  "      generate: [\"sh\", \"-c\", \"%s\"]\n"
		  "      run-in: host\n      restart: []\n",
		  extra, generator);
	if (px_path_mkdir_p(run, 0700, &err) < 0 || px_path_mkdir_p(prisma, 0755, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	setenv("XDG_RUNTIME_DIR", run, 1);
	write_file(f->dir, "compose.yaml", yaml);
	write_file(f->dir, "prisma/schema.prisma", "model A { id Int @id }\n");
	compose_options_init(&f->copts);
	f->copts.project_name = xstrdup("suptest");
	if (compose_project_resolve(&f->ref, &f->copts, f->dir, &err) < 0 ||
	    compose_load(&f->p, &f->ref, &f->copts, &err) < 0 ||
	    engine_open(&f->e, "unix:///nonexistent/docker.sock", &err) < 0 ||
	    sup_runtime_open(&f->rt, f->p->name, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	f->loop = px_loop_new(&err);
	{
		struct sup_opts o = {
		    .loop = f->loop,
		    .engine = f->e,
		    .project = f->p,
		    .copts = &f->copts,
		    .ref = &f->ref,
		    .runtime = f->rt,
		};

		if (sup_start(&f->sup, &o, &err) < 0)
			fail_msg("%s", px_error_msg(&err));
	}
	free(yaml);
	free(run);
	free(prisma);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	xasprintf(&f->dir, "%s/test_sup.XXXXXX", tmp);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = NULL;

	sup_stop(f->sup);
	px_loop_free(f->loop);
	sup_runtime_close(f->rt);
	engine_free(f->e);
	compose_project_free(f->p);
	compose_project_ref_release(&f->ref);
	compose_options_release(&f->copts);
	xasprintf(&cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	free(f->dir);
	free(f);
	return 0;
}

/* The client half runs on a thread while the test's thread runs the supervisor's loop. */
struct client {
	struct fx *f;
	void (*script)(struct client *c);
	json_t *answers; /* array: every answer, in order */
	json_t *events;  /* array: the event stream's lines */
	char failure[256];
};

static json_t *call(struct client *c, int fd, json_t *req)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *a = NULL;

	if (sup_client_call(fd, req, &a, &err) < 0)
		snprintf(c->failure, sizeof(c->failure), "%s", px_error_msg(&err));
	json_decref(req);
	if (a != NULL)
		json_array_append_new(c->answers, a); /* a stays borrowed */
	return a;
}

static int connect_sup(struct client *c)
{
	struct px_error err = PX_ERROR_INIT;
	int fd = -1;

	if (sup_client_connect("suptest", &fd, &err) != 0)
		snprintf(c->failure, sizeof(c->failure), "connect: %s",
			 err.msg != NULL ? px_error_msg(&err) : "no supervisor");
	px_error_clear(&err);
	return fd;
}

static void stop_loop(void *data)
{
	px_loop_stop(data);
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	c->script(c);
	px_loop_post(c->f->loop, stop_loop, c->f->loop);
	return NULL;
}

static void run_client(struct fx *f, struct client *c)
{
	pthread_t t;

	c->f = f;
	c->answers = json_array();
	c->events = json_array();
	assert_int_equal(pthread_create(&t, NULL, client_main, c), 0);
	assert_int_equal(sup_run(f->sup), 0);
	pthread_join(t, NULL);
	if (c->failure[0] != '\0')
		fail_msg("client: %s", c->failure);
}

static int count_lines(const char *dir, const char *rel)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *path = px_path_join(dir, rel);
	int n = 0;

	if (px_path_read_file(path, &b, &err) == 0) {
		for (size_t i = 0; i < b.len; i++)
			n += b.data[i] == '\n';
	}
	px_error_clear(&err);
	px_buf_release(&b);
	free(path);
	return n;
}

/* Requests while a job runs: one follow-up whatever their number; wait, status, events. */
static void protocol_script(struct client *c)
{
	int fd = connect_sup(c), ev = connect_sup(c);
	json_t *a;

	if (fd < 0 || ev < 0)
		return;
	a = call(c, ev, json_pack("{s:s}", "op", "events"));
	call(c, fd, json_pack("{s:s}", "op", "sync"));                       /* job 1 runs */
	call(c, fd, json_pack("{s:s,s:s}", "op", "sync", "schema", "core")); /* job 2 queued */
	call(c, fd, json_pack("{s:s,s:b}", "op", "sync", "generate_only", 1)); /* still 2 */
	call(c, fd, json_pack("{s:s,s:i}", "op", "wait", "job", 1));
	call(c, fd, json_pack("{s:s,s:i}", "op", "wait", "job", 2));
	call(c, fd, json_pack("{s:s}", "op", "status"));
	call(c, fd, json_pack("{s:s}", "op", "dance"));
	call(c, fd, json_pack("{s:s,s:s}", "op", "sync", "schema", "nosuch"));
	call(c, fd, json_pack("{s:s,s:i}", "op", "wait", "job", 99));
	(void)a;
	/* the stream holds, in order, every state of both jobs */
	for (;;) {
		struct px_error err = PX_ERROR_INIT;
		json_t *e = NULL;
		const char *st;
		json_int_t id;

		if (sup_client_read(ev, &e, &err) != 0) {
			snprintf(c->failure, sizeof(c->failure), "events ended");
			px_error_clear(&err);
			break;
		}
		json_array_append_new(c->events, e);
		st = json_string_value(json_object_get(json_object_get(e, "job"), "state"));
		id = json_integer_value(json_object_get(json_object_get(e, "job"), "id"));
		if (id == 2 && st != NULL && strcmp(st, "succeeded") == 0)
			break;
	}
	close(fd);
	close(ev);
}

static const char *answer_str(const struct client *c, size_t i, const char *path1,
			      const char *path2)
{
	json_t *a = json_array_get(c->answers, i);
	json_t *v = json_object_get(a, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void test_protocol_and_one_follow_up(void **state)
{
	struct fx *f = *state;
	struct client c = {.script = protocol_script};
	json_t *a;
	char states[256] = "";
	size_t i;
	json_t *e;

	load(f, "echo run >> count; sleep 0.3; echo generated", "");
	run_client(f, &c);
	assert_int_equal(json_array_size(c.answers), 10);
	assert_true(json_is_true(json_object_get(json_array_get(c.answers, 0), "ok")));
	/* sync: job 1; the two requests while it runs: the same follow-up, job 2 */
	assert_int_equal(json_integer_value(json_array_get(
			     json_object_get(json_array_get(c.answers, 1), "jobs"), 0)),
			 1);
	for (i = 2; i <= 3; i++)
		assert_int_equal(json_integer_value(json_array_get(
				     json_object_get(json_array_get(c.answers, i), "jobs"), 0)),
				 2);
	/* a sync and a generate-only request merged: it syncs */
	assert_string_equal(answer_str(&c, 4, "job", "state"), "succeeded");
	assert_string_equal(answer_str(&c, 4, "job", "output"), "generated\n");
	assert_string_equal(answer_str(&c, 5, "job", "kind"), "sync");
	assert_string_equal(answer_str(&c, 5, "job", "state"), "succeeded");
	a = json_array_get(c.answers, 6);
	assert_string_equal(json_string_value(json_object_get(a, "project")), "suptest");
	assert_int_equal(json_array_size(json_object_get(a, "jobs")), 0);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_array_get(json_object_get(a, "schemas"), 0),
					     "last_job"),
			     "id")),
			 2);
	assert_false(json_is_true(json_object_get(json_array_get(c.answers, 7), "ok")));
	assert_non_null(strstr(answer_str(&c, 7, "error", NULL), "unknown op"));
	assert_string_equal(answer_str(&c, 8, "error", NULL),
			    "no schema named 'nosuch' — schemas: core");
	assert_non_null(strstr(answer_str(&c, 9, "error", NULL), "no such job"));
	/* exactly two generator runs, never two at once */
	assert_int_equal(count_lines(f->dir, "count"), 2);
	json_array_foreach(c.events, i, e)
	{
		json_t *j = json_object_get(e, "job");

		snprintf(states + strlen(states), sizeof(states) - strlen(states), "%lld:%s ",
			 (long long)json_integer_value(json_object_get(j, "id")),
			 json_string_value(json_object_get(j, "state")));
	}
	assert_string_equal(states,
			    "1:queued 1:running 2:queued 1:succeeded 2:running 2:succeeded ");
	json_decref(c.answers);
	json_decref(c.events);
}

static void timeout_script(struct client *c)
{
	int fd = connect_sup(c);
	json_t *a;

	if (fd < 0)
		return;
	a = call(c, fd, json_pack("{s:s}", "op", "sync"));
	if (a != NULL)
		call(c, fd, json_pack("{s:s,s:O}", "op", "wait", "job",
				      json_array_get(json_object_get(a, "jobs"), 0)));
	close(fd);
}

/* Running, or stopped: not gone and not a zombie. */
static bool alive(int pid)
{
	char path[64], buf[512], *paren;
	FILE *fp;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return false;
	if (fgets(buf, sizeof(buf), fp) != NULL && (paren = strrchr(buf, ')')) != NULL)
		yes = paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
	fclose(fp);
	return yes;
}

/* A generator that hangs is killed (its whole process group) at the deadline. */
static void test_timeout_kills_generator(void **state)
{
	struct fx *f = *state;
	struct client c = {.script = timeout_script};
	char *pidfile, *error;
	struct px_buf pid = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;

	load(f, "sleep 30 & echo $$! > child; wait", "  generate-timeout: 300ms\n");
	run_client(f, &c);
	assert_string_equal(answer_str(&c, 1, "job", "state"), "failed");
	error = xstrdup(answer_str(&c, 1, "job", "error"));
	assert_string_equal(error, "the generator timed out after 0.3 s (x-prisync "
				   "generate-timeout) and was killed");
	pidfile = px_path_join(f->dir, "child");
	assert_int_equal(px_path_read_file(pidfile, &pid, &err), 0);
	/* the generator's own child too: it was in the group (gone, or a zombie that
	 * whoever adopted it has not reaped yet) */
	{
		int i;

		for (i = 0; i < 100 && alive(atoi(px_buf_cstr(&pid))); i++)
			usleep(10000);
		assert_false(alive(atoi(px_buf_cstr(&pid))));
	}
	px_buf_release(&pid);
	free(pidfile);
	free(error);
	json_decref(c.answers);
	json_decref(c.events);
}

/* A failing generator: the job fails with its exit code, its words kept in output. */
static void test_failing_generator_output(void **state)
{
	struct fx *f = *state;
	struct client c = {.script = timeout_script};

	load(f, "echo 'Error: Prisma schema validation' >&2; exit 3", "");
	run_client(f, &c);
	assert_string_equal(answer_str(&c, 1, "job", "state"), "failed");
	assert_string_equal(answer_str(&c, 1, "job", "output"),
			    "Error: Prisma schema validation\n");
	assert_non_null(strstr(answer_str(&c, 1, "job", "error"), "exit code 3"));
	json_decref(c.answers);
	json_decref(c.events);
}

/* Follow the event stream until a job with state "want" shows up; its JSON (new ref). */
static json_t *await_job(struct client *c, int ev, const char *want)
{
	for (;;) {
		struct px_error err = PX_ERROR_INIT;
		json_t *e = NULL, *j;
		const char *st;

		if (sup_client_read(ev, &e, &err) != 0) {
			snprintf(c->failure, sizeof(c->failure), "events ended");
			px_error_clear(&err);
			return NULL;
		}
		j = json_object_get(e, "job");
		st = json_string_value(json_object_get(j, "state"));
		if (st != NULL && strcmp(st, want) == 0) {
			json_incref(j);
			json_decref(e);
			return j;
		}
		json_decref(e);
	}
}

static void watch_path_script(struct client *c)
{
	int ev = connect_sup(c);
	json_t *j;

	if (ev < 0)
		return;
	call(c, ev, json_pack("{s:s}", "op", "events"));
	write_file(c->f->dir, "extra.txt", "changed\n"); /* a watch: path of the schema */
	j = await_job(c, ev, "succeeded");
	if (j != NULL)
		json_array_append_new(c->events, j);
	close(ev);
}

/* A schema's watch: paths trigger its sync like the schema itself. */
static void test_watch_paths_trigger(void **state)
{
	struct fx *f = *state;
	struct client c = {.script = watch_path_script};
	json_t *j;

	write_file(f->dir, "extra.txt", "first\n");
	load(f, "echo run >> count", "");
	run_client(f, &c);
	j = json_array_get(c.events, 0);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "triggers"), 0)),
			    "extra.txt");
	assert_int_equal(count_lines(f->dir, "count"), 1);
	json_decref(c.answers);
	json_decref(c.events);
}

static void stop_during_job_script(struct client *c)
{
	int fd = connect_sup(c);

	if (fd < 0)
		return;
	call(c, fd, json_pack("{s:s}", "op", "sync"));
	/* leave with the job running: the test stops the supervisor under it */
	for (int i = 0; i < 200 && count_lines(c->f->dir, "count") == 0; i++)
		usleep(10000);
	close(fd);
}

/* Stopping the supervisor while a generator runs cancels it: killed with what it
 * started, reaped, and sup_stop returns at once (not after the 30 s sleep). */
static void test_stop_cancels_running_job(void **state)
{
	struct fx *f = *state;
	struct client c = {.script = stop_during_job_script};
	struct px_error err = PX_ERROR_INIT;
	struct px_buf pid = PX_BUF_INIT;
	char *pidfile;

	load(f, "echo run >> count; sleep 30 & echo $$! > child; wait", "");
	run_client(f, &c);
	assert_int_equal(count_lines(f->dir, "count"), 1);
	sup_stop(f->sup); /* would block for 30 s if it waited for the job */
	f->sup = NULL;
	pidfile = px_path_join(f->dir, "child");
	assert_int_equal(px_path_read_file(pidfile, &pid, &err), 0);
	for (int i = 0; i < 100 && alive(atoi(px_buf_cstr(&pid))); i++)
		usleep(10000);
	assert_false(alive(atoi(px_buf_cstr(&pid))));
	px_buf_release(&pid);
	free(pidfile);
	json_decref(c.answers);
	json_decref(c.events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_protocol_and_one_follow_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_kills_generator, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failing_generator_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_paths_trigger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_cancels_running_job, setup, teardown),
	};

	return cmocka_run_group_tests_name("sup", tests, NULL, NULL);
}
