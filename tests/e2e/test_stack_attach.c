/* test_stack_attach.c - foreground `prisync up` against the real engine: every service's
 * output with its `service |` prefix, the stream kept across a restart (no line lost or
 * repeated), the first Ctrl-C stopping the stack gracefully, and an exit of its own
 * once every container has stopped. */
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
	struct px_proc *up; /* the attached prisync up */
	struct px_buf log;  /* what it wrote (stdout and stderr) */
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
	struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
	int left;

	px_proc_free(t->up); /* kills and reaps it if a test failed half-way */
	harness_track_project(t->project);
	harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "down", "-v", "-t",
			"1", NULL);
	left = harness_cleanup();
	px_buf_release(&out);
	px_buf_release(&err);
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

/* Start `prisync -p <project> up` in the background, its output piped to us.  Prefixes
 * are padded to 8 columns at least ("ticker   | "). */
static void start_up(struct t *t)
{
	const char *argv[] = {
	    harness_env("PRISYNC_BIN"), "-p", t->project, "--ansi", "never", "up", NULL};
	struct px_proc_opts o = {.argv = argv,
				 .cwd = t->dir.root,
				 .in = PX_PROC_NULL,
				 .out = PX_PROC_PIPE,
				 .merge_err = true};
	struct px_error err = PX_ERROR_INIT;

	if (px_proc_spawn(&t->up, &o, &err) < 0)
		fail_msg("spawn prisync up: %s", px_error_msg(&err));
	fcntl(px_proc_stdout_fd(t->up), F_SETFL, O_NONBLOCK);
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
		struct pollfd p = {.fd = px_proc_stdout_fd(t->up), .events = POLLIN};
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
			fail_msg("prisync up ended before '%s' (x%zu); output:\n%s", needle, count,
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
		struct pollfd p = {.fd = px_proc_stdout_fd(t->up), .events = POLLIN};
		ssize_t n;
		long ms;

		if (poll(&p, 1, 100) > 0) {
			n = read(p.fd, buf, sizeof(buf));
			if (n > 0)
				px_buf_add(&t->log, buf, (size_t)n);
		}
		if (px_proc_try_wait(t->up, &status) == 1)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms > timeout_ms)
			fail_msg("prisync up still running after %d ms; output:\n%s", timeout_ms,
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
	start_up(t);
	read_until(t, "ticker   | hello", 1, RUN_TIMEOUT_MS);
	read_until(t, "once     | one-shot output", 1, 10000);
	harness_track_project(t->project);

	/* a restart from elsewhere: the old run's last line and the new run's first */
	rc = harness_prisync(&t->dir, &out, &err, RUN_TIMEOUT_MS, "-p", t->project, "restart",
			     "ticker", NULL);
	if (rc != 0)
		fail_msg("restart: %s", px_buf_cstr(&err));
	read_until(t, "ticker   | hello", 2, 20000);
	/* nothing lost, nothing shown twice */
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "ticker   | bye"), 1);
	{
		const char *log = px_buf_cstr(&t->log);
		const char *hello2 =
		    strstr(strstr(log, "ticker   | hello") + 1, "ticker   | hello");

		assert_true(strstr(log, "ticker   | bye") < hello2);
	}
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "once     | one-shot output"), 1);

	/* Ctrl-C: a graceful stop, the stack stopped, exit 0 */
	kill(px_proc_pid(t->up), SIGINT);
	read_until(t, "Gracefully stopping", 1, 10000);
	rc = wait_exit(t, 30000);
	if (rc != 0)
		fail_msg("up exited %d after Ctrl-C; output:\n%s", rc, px_buf_cstr(&t->log));
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "ticker   | bye"), 2);
	assert_string_equal(container_state(ticker), "exited");
	assert_string_equal(container_state(once), "exited");
	px_buf_release(&out);
	px_buf_release(&err);
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
	start_up(t);
	read_until(t, "job      | done", 1, RUN_TIMEOUT_MS);
	harness_track_project(t->project);
	rc = wait_exit(t, 15000);
	assert_int_equal(rc, 0);
	assert_int_equal(occurrences(px_buf_cstr(&t->log), "job      | working"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_attached_up_follows_restarts_and_stops_on_ctrl_c,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attached_up_ends_when_everything_exited, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("stack_attach", tests, NULL, NULL);
}
