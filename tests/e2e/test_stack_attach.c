/* test_stack_attach.c - foreground `prisync up` and `prisync logs` against the real engine:
 * every container's output with its `app-1 |` prefix, the history merged in time order,
 * the stream kept across a restart and a recreate (no line lost or repeated), the first
 * Ctrl-C stopping the stack gracefully, and an exit of its own once every container has
 * stopped. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define RUN_TIMEOUT_MS 60000

struct t {
	struct harness_dir dir;
	char project[64];
	struct px_proc *proc; /* the attached prisync up, or logs -f */
	struct px_buf log;    /* what it wrote (stdout and stderr) */
	int status;
};

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	snprintf(t->project, sizeof(t->project), "pxattach-%d-%d", (int)getpid(), ++seq);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	int left;

	px_proc_free(t->proc); /* kills and reaps it if a test failed half-way */
	left = harness_project_down(&t->dir, t->project);
	px_buf_release(&t->log);
	harness_dir_remove(&t->dir);
	free(t);
	return left == 0 ? 0 : -1;
}

static void write_compose(const struct t *t, const char *text)
{
	char *path;
	FILE *f;

	xasprintf(&path, "%s/compose.yaml", t->dir.root);
	f = fopen(path, "w");
	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	free(path);
}

/* Start `prisync -p <project> <cmd> [arg]` in the background, its output piped to us.
 * Prefixes are padded to 8 columns at least ("ticker-1 | "). */
static void start_prisync(struct t *t, const char *cmd, const char *arg1, const char *arg2)
{
	const char *argv[] = {
	    harness_env("PRISYNC_BIN"), "-p", t->project, "--ansi", "never", cmd, arg1, arg2, NULL};
	struct px_proc_opts o = {.argv = argv,
				 .cwd = t->dir.root,
				 .in = PX_PROC_NULL,
				 .out = PX_PROC_PIPE,
				 .merge_err = true};
	struct px_error err = PX_ERROR_INIT;

	if (px_proc_spawn(&t->proc, &o, &err) < 0)
		fail_msg("spawn prisync %s: %s", cmd, px_error_msg(&err));
	fcntl(px_proc_stdout_fd(t->proc), F_SETFL, O_NONBLOCK);
}

/* Read what up wrote until needle has appeared count times, or fail at the deadline. */
static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void read_until(struct t *t, const char *needle, size_t count, int timeout_ms)
{
	struct timespec start, now;
	char buf[4096];

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (occurrences(px_buf_cstr(&t->log), needle) < count) {
		struct pollfd p = {.fd = px_proc_stdout_fd(t->proc), .events = POLLIN};
		ssize_t n;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms > timeout_ms)
			fail_msg("'%s' not seen %zu times in %d ms; output:\n%s", needle, count,
				 timeout_ms, px_buf_cstr(&t->log));
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(p.fd, buf, sizeof(buf));
		if (n > 0)
			px_buf_add(&t->log, buf, (size_t)n);
		else if (n == 0 && occurrences(px_buf_cstr(&t->log), needle) < count)
			fail_msg("prisync ended before '%s' (x%zu); output:\n%s", needle, count,
				 px_buf_cstr(&t->log));
	}
}

/* Drain the output and reap up, failing when it does not exit in time. */
static int wait_exit(struct t *t, int timeout_ms)
{
	struct timespec start, now;
	char buf[4096];
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = {.fd = px_proc_stdout_fd(t->proc), .events = POLLIN};
		ssize_t n;
		long ms;

		if (poll(&p, 1, 100) > 0) {
			n = read(p.fd, buf, sizeof(buf));
			if (n > 0)
				px_buf_add(&t->log, buf, (size_t)n);
		}
		if (px_proc_try_wait(t->proc, &status) == 1)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms > timeout_ms)
			fail_msg("prisync still running after %d ms; output:\n%s", timeout_ms,
				 px_buf_cstr(&t->log));
	}
	return px_proc_exit_code(status);
}

static const char *container_state(const char *name)
{
	static char state[32];
	struct px_error err = PX_ERROR_INIT;
	json_t *info = NULL;

	if (engine_container_inspect(harness_engine(), name, &info, &err) != 0)
		fail_msg("inspect %s: %s", name, px_error_msg(&err));
	snprintf(state, sizeof(state), "%s",
		 json_string_value(json_object_get(json_object_get(info, "State"), "Status")));
	json_decref(info);
	return state;
}

static void test_attached_up_follows_restarts_and_stops_on_ctrl_c(void **state)
{
	struct t *t = *state;
	struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
	char ticker[96], once[96];
	int rc;

	snprintf(ticker, sizeof(ticker), "%s-ticker-1", t->project);
	snprintf(once, sizeof(once), "%s-once-1", t->project);
	write_compose(t,
		      "services:\n"
		      "  ticker:\n"
		      "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		      "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		      "    command: [\"sh\", \"-c\", \"trap 'echo bye; exit 0' TERM; echo hello; "
		      "while :; do sleep 1; done\"]\n"
		      "  once:\n"
		      "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		      "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		      "    command: [\"echo\", \"one-shot output\"]\n");
	start_prisync(t, "up", NULL, NULL);
	read_until(t, "ticker-1 | hello", 1, RUN_TIMEOUT_MS);
	read_until(t, "once-1   | one-shot output", 1, 10000);
	harness_track_project(t->project);

	/* a restart from elsewhere: the old run's last line and the new run's first */
	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "restart",
			     "ticker", NULL);
	if (rc != 0)
		fail_msg("restart: %s", px_buf_cstr(&err));
	read_until(t, "ticker-1 | hello", 2, 20000);
	/* nothing lost, nothing shown twice */
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "ticker-1 | bye"), 1);
	{
		const char *log = px_buf_cstr(&t->log);
		const char *hello2 =
		    strstr(strstr(log, "ticker-1 | hello") + 1, "ticker-1 | hello");

		assert_true(strstr(log, "ticker-1 | bye") < hello2);
	}
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "once-1   | one-shot output"), 1);

	/* Ctrl-C: a graceful stop, the stack stopped, exit 0 */
	kill(px_proc_pid(t->proc), SIGINT);
	read_until(t, "Gracefully stopping", 1, 10000);
	rc = wait_exit(t, 30000);
	if (rc != 0)
		fail_msg("up exited %d after Ctrl-C; output:\n%s", rc, px_buf_cstr(&t->log));
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "ticker-1 | bye"), 2);
	assert_string_equal(container_state(ticker), "exited");
	assert_string_equal(container_state(once), "exited");
	px_buf_release(&out);
	px_buf_release(&err);
}

/* A service that ignores SIGTERM with a 60 s grace period: the first Ctrl-C starts the
 * graceful stop, the second kills at once instead of waiting the minute out. */
static void test_attached_up_second_ctrl_c_kills(void **state)
{
	struct t *t = *state;
	struct timespec a, b;
	char name[96];

	snprintf(name, sizeof(name), "%s-stubborn-1", t->project);
	write_compose(t, "services:\n"
			 "  stubborn:\n"
			 "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
			 "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
			 "    stop_grace_period: 60s\n"
			 "    command: [\"sh\", \"-c\", \"trap '' TERM; echo ready; while :; do sleep "
			 "1; done\"]\n");
	start_prisync(t, "up", NULL, NULL);
	read_until(t, "stubborn-1 | ready", 1, RUN_TIMEOUT_MS);
	harness_track_project(t->project);
	clock_gettime(CLOCK_MONOTONIC, &a);
	kill(px_proc_pid(t->proc), SIGINT);
	read_until(t, "Gracefully stopping", 1, 10000);
	/* the graceful stop is under way and would take 60 s */
	usleep(500000);
	assert_string_equal(container_state(name), "running");
	kill(px_proc_pid(t->proc), SIGINT);
	read_until(t, "Killing", 1, 10000);
	wait_exit(t, 15000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 20);
	assert_string_equal(container_state(name), "exited");
}

/* With nothing left running, an attached up has nothing to show: it ends by itself. */
static void test_attached_up_ends_when_everything_exited(void **state)
{
	struct t *t = *state;
	int rc;

	write_compose(t, "services:\n"
			 "  job:\n"
			 "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
			 "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
			 "    command: [\"sh\", \"-c\", \"echo working; sleep 1; echo done\"]\n");
	start_prisync(t, "up", NULL, NULL);
	read_until(t, "job-1    | done", 1, RUN_TIMEOUT_MS);
	harness_track_project(t->project);
	rc = wait_exit(t, 15000);
	assert_int_equal(rc, 0);
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "job-1    | working"), 1);
}

/* prisync -p project --ansi never logs args... (NULL-ended, at most 6): exit code, stdout
 * in out (reset first). */
static int logs(struct t *t, struct px_buf *out, struct px_buf *err, const char *a0, const char *a1,
		const char *a2, const char *a3)
{
	px_buf_reset(out);
	px_buf_reset(err);
	return harness_prisync(&t->dir, out, err, RUN_TIMEOUT_MS, "-p", t->project, "--ansi",
			       "never", "logs", a0, a1, a2, a3, NULL);
}

static bool both_exited(void *data)
{
	struct t *t = data;
	char a[96], b[96];

	snprintf(a, sizeof(a), "%s-ping-1", t->project);
	snprintf(b, sizeof(b), "%s-pong-1", t->project);
	return strcmp(container_state(a), "exited") == 0 &&
	       strcmp(container_state(b), "exited") == 0;
}

/* Two containers taking turns (a handshake through a shared volume, 200 ms between
 * turns): `logs` prints their lines in the order they were written, not container by
 * container; --tail, -t, --no-log-prefix, a service filter and --since shape it, and a
 * password in a URL never shows. */
static void test_logs_merges_history_in_time_order(void **state)
{
	struct t *t = *state;
	struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
	const char *p;
	int rc;

	write_compose(
	    t, "services:\n"
	       "  ping:\n"
	       "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	       "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	       "    volumes: [\"turns:/turns\"]\n"
	       "    command: [\"sh\", \"-c\", \"for i in 1 2 3; do echo ping $$i; "
	       "touch /turns/ping$$i; until [ -e /turns/pong$$i ]; do sleep 0.05; done; "
	       "sleep 0.2; done\"]\n"
	       "  pong:\n"
	       "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	       "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	       "    volumes: [\"turns:/turns\"]\n"
	       "    command: [\"sh\", \"-c\", \"for i in 1 2 3; do until [ -e /turns/ping$$i "
	       "]; do sleep 0.05; done; sleep 0.2; echo pong $$i postgres://app:s3cret@db/x "
	       ">&2; touch /turns/pong$$i; done\"]\n"
	       "volumes:\n"
	       "  turns:\n"
	       "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n");
	harness_track_project(t->project);
	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "up", "-d",
			     NULL);
	if (rc != 0)
		fail_msg("up -d: %s", px_buf_cstr(&err));
	if (!harness_poll(both_exited, t, 30000))
		fail_msg("ping and pong did not finish in 30 s");

	/* stdout and stderr lines alike, in the order of the turns */
	assert_int_equal(logs(t, &out, &err, NULL, NULL, NULL, NULL), 0);
	assert_string_equal(px_buf_cstr(&out), "ping-1   | ping 1\n"
					       "pong-1   | pong 1 postgres://app:****@db/x\n"
					       "ping-1   | ping 2\n"
					       "pong-1   | pong 2 postgres://app:****@db/x\n"
					       "ping-1   | ping 3\n"
					       "pong-1   | pong 3 postgres://app:****@db/x\n");
	assert_null(strstr(px_buf_cstr(&err), "s3cret"));

	/* the last line of each, still in time order */
	assert_int_equal(logs(t, &out, &err, "--tail", "1", NULL, NULL), 0);
	assert_string_equal(px_buf_cstr(&out), "ping-1   | ping 3\n"
					       "pong-1   | pong 3 postgres://app:****@db/x\n");
	assert_int_equal(logs(t, &out, &err, "-n", "2", "--no-log-prefix", "pong"), 0);
	assert_string_equal(px_buf_cstr(&out), "pong 2 postgres://app:****@db/x\n"
					       "pong 3 postgres://app:****@db/x\n");
	/* -t: the engine's RFC 3339 stamp after the prefix */
	assert_int_equal(logs(t, &out, &err, "-t", "ping", NULL, NULL), 0);
	p = px_buf_cstr(&out);
	assert_int_equal(occurrences(p, "\n"), 3);
	assert_true(strncmp(p, "ping-1   | 20", 13) == 0);
	assert_non_null(strstr(p, "Z ping 1\n"));
	/* --since: an hour back is everything, a time to come is nothing */
	assert_int_equal(logs(t, &out, &err, "--since", "1h", "ping", NULL), 0);
	assert_int_equal(occurrences(px_buf_cstr(&out), "ping-1   | ping "), 3);
	assert_int_equal(logs(t, &out, &err, "--since", "2200-01-01T00:00:00Z", NULL, NULL), 0);
	assert_string_equal(px_buf_cstr(&out), "");

	/* what a user can get wrong */
	assert_int_equal(logs(t, &out, &err, "nope", NULL, NULL, NULL), 1);
	assert_non_null(strstr(px_buf_cstr(&err), "no such service: 'nope'"));
	assert_int_equal(logs(t, &out, &err, "--since", "yesterday", NULL, NULL), 2);
	assert_non_null(strstr(px_buf_cstr(&err), "invalid time 'yesterday'"));
	assert_int_equal(logs(t, &out, &err, "--tail", "-3", NULL, NULL), 2);
	assert_int_equal(logs(t, &out, &err, "-f", "--until", "1h", NULL), 2);
	px_buf_release(&out);
	px_buf_release(&err);
}

/* `logs -f` started while the stack runs: the history once, then every new line, across
 * a restart and a recreate (a changed environment), each line once; it ends by itself,
 * with 0, when the stack is stopped. */
static void test_logs_follow_across_restart_and_recreate(void **state)
{
	struct t *t = *state;
	struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
	static const char compose[] =
	    "services:\n"
	    "  ticker:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	    "    environment: {RUN: \"%s\"}\n"
	    "    command: [\"sh\", \"-c\", \"trap 'echo bye $$RUN; exit 0' TERM; echo hello $$RUN; "
	    "while :; do sleep 1; done\"]\n"
	    "  quiet:\n"
	    "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
	    "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
	    "    command: [\"sh\", \"-c\", \"echo other service; sleep 1000\"]\n";
	char text[sizeof(compose) + 16];
	int rc;

	snprintf(text, sizeof(text), compose, "first");
	write_compose(t, text);
	harness_track_project(t->project);
	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "up", "-d",
			     "--wait", NULL);
	if (rc != 0)
		fail_msg("up -d: %s", px_buf_cstr(&err));
	start_prisync(t, "logs", "-f", "ticker");
	read_until(t, "ticker-1 | hello first", 1, RUN_TIMEOUT_MS);

	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "restart",
			     "ticker", NULL);
	if (rc != 0)
		fail_msg("restart: %s", px_buf_cstr(&err));
	read_until(t, "ticker-1 | hello first", 2, 20000);
	{
		const char *log = px_buf_cstr(&t->log);
		const char *second = strstr(strstr(log, "hello first") + 1, "hello first");

		assert_int_equal(occurrences(log, "ticker-1 | bye first"), 1);
		assert_true(strstr(log, "bye first") < second);
	}

	/* a recreate: a new container, followed from its first line */
	snprintf(text, sizeof(text), compose, "second");
	write_compose(t, text);
	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "up", "-d",
			     NULL);
	if (rc != 0)
		fail_msg("up -d (recreate): %s", px_buf_cstr(&err));
	read_until(t, "ticker-1 | hello second", 1, 20000);

	/* the stack stopped: nothing left to follow, logs -f ends with 0 */
	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "stop", "-t",
			     "5", NULL);
	if (rc != 0)
		fail_msg("stop: %s", px_buf_cstr(&err));
	assert_int_equal(wait_exit(t, 15000), 0);
	{
		const char *log = px_buf_cstr(&t->log);

		assert_int_equal(occurrences(log, "ticker-1 | hello first"), 2);
		assert_int_equal(occurrences(log, "ticker-1 | bye first"), 2);
		assert_int_equal(occurrences(log, "ticker-1 | hello second"), 1);
		assert_int_equal(occurrences(log, "ticker-1 | bye second"), 1);
		/* only the service asked for */
		assert_null(strstr(log, "other service"));
	}
	px_buf_release(&out);
	px_buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_attached_up_follows_restarts_and_stops_on_ctrl_c,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attached_up_ends_when_everything_exited, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_attached_up_second_ctrl_c_kills, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_logs_merges_history_in_time_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_logs_follow_across_restart_and_recreate, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("stack_attach", tests, NULL, NULL);
}
