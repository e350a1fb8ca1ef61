/* test_engine_watch.c - e2e tests of the engine's blocking streams against the harness engine,
 * each run on its own struct engine in its own thread as prisync runs them: logs followed as
 * lines and stopped by engine_interrupt(), logs to their natural end, container events (start,
 * die, health status) filtered by label. */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/harness.h"

static int teardown(void **state)
{
	(void)state;
	return harness_cleanup() == 0 ? 0 : -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A labelled network for the test's containers (the harness engine has no default bridge). */
static char *make_network(const char *suffix)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *labels = harness_labels();
	char *name, *id = NULL;

	xasprintf(&name, "prisync-watch-%s-%d", suffix, (int)getpid());
	if (engine_network_create(harness_engine(), name, labels, &id, &err) < 0)
		fail_msg("network %s: %s", name, px_error_msg(&err));
	harness_track(HARNESS_NETWORK, id);
	json_decref(labels);
	free(id);
	return name;
}

/* Create (not start) a busybox container running cmd; extra (may be NULL) is merged into
 * the config, extra_labels into its labels.  Returns the id (owned), tracked. */
static char *create_busybox(const char *network, const char *name, const char *cmd, json_t *extra,
			    json_t *extra_labels)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *labels = harness_labels(), *config;
	char *id = NULL;

	if (extra_labels != NULL)
		json_object_update(labels, extra_labels);
	config = json_pack("{s:s, s:[s,s,s], s:o, s:{s:s}}", "Image",
			   harness_env("PRISYNC_TEST_IMAGE_BUSYBOX"), "Cmd", "sh", "-c", cmd,
			   "Labels", labels, "HostConfig", "NetworkMode", network);
	if (extra != NULL)
		json_object_update(config, extra);
	if (engine_container_create(harness_engine(), name, config, &id, &err) < 0)
		fail_msg("create %s: %s", name, px_error_msg(&err));
	harness_track(HARNESS_CONTAINER, id);
	json_decref(config);
	json_decref(extra);
	json_decref(extra_labels);
	return id;
}

static void start(const char *id)
{
	struct px_error err = PX_ERROR_INIT;

	if (engine_container_start(harness_engine(), id, &err) < 0)
		fail_msg("start: %s", px_error_msg(&err));
}

/*
 * A stream running in its own thread on its own engine
 */

struct watch {
	struct engine *e; /* engine_dup of the harness engine, for the thread */
	pthread_t th;
	pthread_mutex_t mu;
	/* what the thread reads */
	const char *id;
	struct engine_logs_opts logs;
	const char *label;
	int64_t since;
	/* what it saw, under mu */
	struct px_buf lines; /* "out:<line>\n" or "err:<line>\n" */
	int nlines;
	json_t *events; /* the events, in order */
	bool done;
	int rc;
	struct px_error err;
};

static int watch_line(void *data, int stream, const char *line, size_t len)
{
	struct watch *w = data;

	pthread_mutex_lock(&w->mu);
	px_buf_addf(&w->lines, "%s:%.*s\n", stream == ENGINE_STDOUT ? "out" : "err", (int)len,
		    line);
	w->nlines++;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static int watch_event(void *data, const json_t *ev)
{
	struct watch *w = data;

	pthread_mutex_lock(&w->mu);
	json_array_append_new(w->events, json_deep_copy(ev));
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static void *logs_thread(void *arg)
{
	struct watch *w = arg;
	struct px_error err = PX_ERROR_INIT;
	int rc = engine_container_logs_stream(w->e, w->id, &w->logs, watch_line, w, &err);

	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	px_error_move(&w->err, &err);
	w->done = true;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void *events_thread(void *arg)
{
	struct watch *w = arg;
	struct px_error err = PX_ERROR_INIT;
	int rc = engine_events(w->e, w->label, w->since, 0, watch_event, w, &err);

	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	px_error_move(&w->err, &err);
	w->done = true;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void watch_start(struct watch *w, void *(*fn)(void *))
{
	struct px_error err = PX_ERROR_INIT;

	pthread_mutex_init(&w->mu, NULL);
	px_buf_init(&w->lines);
	w->events = json_array();
	w->err = (struct px_error)PX_ERROR_INIT;
	if (engine_dup(harness_engine(), &w->e, &err) < 0)
		fail_msg("engine_dup: %s", px_error_msg(&err));
	assert_int_equal(pthread_create(&w->th, NULL, fn, w), 0);
}

static bool watch_done(void *data)
{
	struct watch *w = data;
	bool done;

	pthread_mutex_lock(&w->mu);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}

/* Interrupt the stream and wait for its thread: it must end within limit_ms. */
static void watch_stop(struct watch *w, int limit_ms)
{
	long t0 = now_ms();

	engine_interrupt(w->e);
	if (!harness_poll(watch_done, w, limit_ms))
		fail_msg("the stream still runs %ld ms after engine_interrupt()", now_ms() - t0);
	pthread_join(w->th, NULL);
}

static void watch_release(struct watch *w)
{
	engine_free(w->e);
	px_buf_release(&w->lines);
	json_decref(w->events);
	px_error_clear(&w->err);
	pthread_mutex_destroy(&w->mu);
}

/*
 * Logs
 */

static bool three_lines(void *data)
{
	struct watch *w = data;
	bool ok;

	pthread_mutex_lock(&w->mu);
	ok = w->nlines >= 3 || w->done;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

static void test_logs_follow_interrupted(void **state)
{
	struct watch w = {0};
	char *net = make_network("follow"), *id;

	(void)state;
	id = create_busybox(
	    net, net, "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done", NULL, NULL);
	start(id);
	w.id = id;
	w.logs = (struct engine_logs_opts){
	    .follow = true, .want_stdout = true, .want_stderr = true, .tail = -1};
	watch_start(&w, logs_thread);
	if (!harness_poll(three_lines, &w, 10000))
		fail_msg("fewer than 3 lines in 10 s: '%s'", px_buf_cstr(&w.lines));
	assert_false(watch_done(&w)); /* following: the stream does not end by itself */
	watch_stop(&w, 1000);
	assert_int_equal(w.rc, 1);
	assert_null(w.err.msg);
	/* in order, whole lines, from the start */
	assert_true(strncmp(px_buf_cstr(&w.lines), "out:line 0\nout:line 1\nout:line 2\n", 33) ==
		    0);
	watch_release(&w);
	free(id);
	free(net);
}

/* Lines of both streams, a last line without '\n', and the end of the stream when the
 * container stops; a TTY's "\r\n" ends are plain lines. */
static void test_logs_to_the_end(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct watch w = {0};
	char *net = make_network("end"), name[96], *id, *tty;
	struct engine_logs_opts o = {
	    .follow = true, .want_stdout = true, .want_stderr = true, .tail = -1};
	int code = -1;

	(void)state;
	snprintf(name, sizeof(name), "%s-plain", net);
	id = create_busybox(net, name, "echo a; echo err1 >&2; echo b; printf last", NULL, NULL);
	start(id);
	pthread_mutex_init(&w.mu, NULL);
	/* once it stopped, the engine has all of its output (following it while it stops,
	 * the engine may end the stream before it wrote the last unfinished line); follow
	 * still ends there */
	assert_int_equal(engine_container_wait(e, id, &code, &err), 0);
	if (engine_container_logs_stream(e, id, &o, watch_line, &w, &err) != 0)
		fail_msg("logs: %s", px_error_msg(&err));
	/* stdout and stderr are separate pipes: compare each stream's lines in order */
	{
		const char *all = px_buf_cstr(&w.lines);
		struct px_buf out = PX_BUF_INIT, errs = PX_BUF_INIT;

		for (const char *l = all; *l != '\0'; l = strchr(l, '\n') + 1) {
			size_t n = strcspn(l, "\n") + 1;

			px_buf_add(strncmp(l, "out:", 4) == 0 ? &out : &errs, l, n);
		}
		assert_string_equal(px_buf_cstr(&out), "out:a\nout:b\nout:last\n");
		assert_string_equal(px_buf_cstr(&errs), "err:err1\n");
		px_buf_release(&out);
		px_buf_release(&errs);
	}
	px_buf_reset(&w.lines);

	snprintf(name, sizeof(name), "%s-tty", net);
	tty = create_busybox(net, name, "echo x; echo y", json_pack("{s:b}", "Tty", 1), NULL);
	start(tty);
	assert_int_equal(engine_container_wait(e, tty, &code, &err), 0);
	assert_int_equal(engine_container_logs_stream(e, tty, &o, watch_line, &w, &err), 0);
	assert_string_equal(px_buf_cstr(&w.lines), "out:x\nout:y\n");
	px_buf_release(&w.lines);
	pthread_mutex_destroy(&w.mu);
	free(id);
	free(tty);
	free(net);
}

/*
 * Events
 */

/* "<action>" of each event of container id, joined by ' ' (owned). */
static char *actions_of(struct watch *w, const char *id)
{
	struct px_buf b = PX_BUF_INIT;
	size_t i;
	json_t *ev;

	pthread_mutex_lock(&w->mu);
	json_array_foreach(w->events, i, ev)
	{
		const char *actor =
		    json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));

		if (actor != NULL && strcmp(actor, id) == 0)
			px_buf_addf(&b, "%s ", json_string_value(json_object_get(ev, "Action")));
	}
	pthread_mutex_unlock(&w->mu);
	return px_buf_detach(&b, NULL);
}

struct seen {
	struct watch *w;
	const char *id[2];
	const char *want[2];
};

static bool events_seen(void *data)
{
	struct seen *s = data;
	bool ok = true;

	for (int i = 0; i < 2 && s->id[i] != NULL; i++) {
		char *a = actions_of(s->w, s->id[i]);

		ok = ok && strstr(a, s->want[i]) != NULL;
		free(a);
	}
	return ok || watch_done(s->w);
}

static void test_events_start_die(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct watch w = {0};
	char *net = make_network("events"), name[96], label[80], *id, *other, *a;
	int code = -1;
	struct seen s = {.w = &w};

	(void)state;
	snprintf(label, sizeof(label), "prisync-test.events=%d-start", (int)getpid());
	w.label = label;
	w.since = (int64_t)time(NULL) - 1;
	watch_start(&w, events_thread);
	snprintf(name, sizeof(name), "%s-labelled", net);
	id = create_busybox(net, name, "exit 0", NULL,
			    json_pack("{s:s}", "prisync-test.events", label + 20));
	/* the same run label but not the events label: filtered out */
	snprintf(name, sizeof(name), "%s-other", net);
	other = create_busybox(net, name, "exit 0", NULL, NULL);
	start(other);
	start(id);
	assert_int_equal(engine_container_wait(e, id, &code, &err), 0);
	assert_int_equal(engine_container_wait(e, other, &code, &err), 0);
	s.id[0] = id;
	s.want[0] = "die";
	if (!harness_poll(events_seen, &s, 10000) || watch_done(&w))
		fail_msg("no die event of %s in 10 s (%s)", id, px_error_msg(&w.err));
	/* an events stream never ends by itself; the interrupt ends it */
	watch_stop(&w, 2000);
	assert_int_equal(w.rc, 1);
	a = actions_of(&w, id);
	assert_non_null(strstr(a, "create start "));
	assert_non_null(strstr(a, "die"));
	free(a);
	a = actions_of(&w, other);
	assert_string_equal(a, "");
	free(a);
	/* every event the filter let through is a container event with the label */
	for (size_t i = 0; i < json_array_size(w.events); i++) {
		json_t *ev = json_array_get(w.events, i);

		assert_string_equal(json_string_value(json_object_get(ev, "Type")), "container");
		assert_string_equal(json_string_value(json_object_get(
					json_object_get(json_object_get(ev, "Actor"), "Attributes"),
					"prisync-test.events")),
				    label + 20);
	}
	watch_release(&w);
	free(id);
	free(other);
	free(net);
}

/* A health check reported as events: one container turns healthy, one unhealthy. */
static void test_events_health(void **state)
{
	struct watch w = {0};
	char *net = make_network("health"), name[96], label[80], *good, *bad;
	struct seen s = {.w = &w};

	(void)state;
	snprintf(label, sizeof(label), "prisync-test.events=%d-health", (int)getpid());
	w.label = label;
	w.since = (int64_t)time(NULL) - 1;
	watch_start(&w, events_thread);
	snprintf(name, sizeof(name), "%s-good", net);
	good = create_busybox(net, name, "exec sleep 600",
			      json_pack("{s:{s:[s,s],s:I,s:I,s:i}}", "Healthcheck", "Test",
					"CMD-SHELL", "true", "Interval", (json_int_t)100000000,
					"Timeout", (json_int_t)5000000000, "Retries", 1),
			      json_pack("{s:s}", "prisync-test.events", label + 20));
	snprintf(name, sizeof(name), "%s-bad", net);
	bad = create_busybox(net, name, "exec sleep 600",
			     json_pack("{s:{s:[s,s],s:I,s:I,s:i}}", "Healthcheck", "Test",
				       "CMD-SHELL", "exit 1", "Interval", (json_int_t)100000000,
				       "Timeout", (json_int_t)5000000000, "Retries", 1),
			     json_pack("{s:s}", "prisync-test.events", label + 20));
	start(good);
	start(bad);
	s.id[0] = good;
	s.want[0] = "health_status: healthy";
	s.id[1] = bad;
	s.want[1] = "health_status: unhealthy";
	if (!harness_poll(events_seen, &s, 15000) || watch_done(&w)) {
		char *a = actions_of(&w, good), *b = actions_of(&w, bad);

		fail_msg("health events missing after 15 s: good '%s', bad '%s' (%s)", a, b,
			 px_error_msg(&w.err));
	}
	watch_stop(&w, 2000);
	assert_int_equal(w.rc, 1);
	watch_release(&w);
	free(good);
	free(bad);
	free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_logs_follow_interrupted, teardown),
	    cmocka_unit_test_teardown(test_logs_to_the_end, teardown),
	    cmocka_unit_test_teardown(test_events_start_die, teardown),
	    cmocka_unit_test_teardown(test_events_health, teardown),
	};

	return cmocka_run_group_tests_name("engine_watch", tests, NULL, NULL);
}
