/* test_stack_ps.c - stack/ps.c and stack/progress.c: compose ps's summaries, table and
 * JSON lines from an engine container list; progress as plain lines off a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/base.h"
#include "stack/stack.h"

#define NOW 1700000000

static json_t *list(void)
{
	const char *text =
	    "["
	    "{\"Id\": \"00401d089005325da9683bfc217b5329f28940074ec616e7eaf243f7f3864903\","
	    " \"Names\": [\"/demo-db-1\"], \"Image\": \"postgres:15\","
	    " \"Command\": \"/usr/local/bin/docker-entrypoint.sh postgres\", \"Created\": "
	    "1699999820,"
	    " \"State\": \"running\", \"Status\": \"Up 3 minutes (healthy)\","
	    " \"Ports\": [{\"IP\": \"::\", \"PrivatePort\": 5432, \"PublicPort\": 32768, \"Type\": "
	    "\"tcp\"},"
	    "            {\"IP\": \"127.0.0.1\", \"PrivatePort\": 5432, \"PublicPort\": 32768, "
	    "\"Type\": \"tcp\"},"
	    "            {\"PrivatePort\": 9000, \"Type\": \"udp\"}],"
	    " \"Labels\": {\"com.docker.compose.project\": \"demo\", "
	    "\"com.docker.compose.service\": "
	    "\"db\"},"
	    " \"Mounts\": [{\"Type\": \"volume\", \"Name\": \"demo_pgdata\", \"Driver\": "
	    "\"local\"}],"
	    " \"NetworkSettings\": {\"Networks\": {\"demo_default\": {}}}},"
	    "{\"Id\": \"09ad07284c32ac79f9babfd6b65518a978644050e4309f65a1b3f0370dd6528a\","
	    " \"Names\": [\"/demo-migrator-1\"], \"Image\": \"busybox\","
	    " \"Command\": \"echo hi\", \"Created\": 1699999990,"
	    " \"State\": \"exited\", \"Status\": \"Exited (3) 5 seconds ago\", \"Ports\": [],"
	    " \"Labels\": {\"com.docker.compose.project\": \"demo\", "
	    "\"com.docker.compose.service\": "
	    "\"migrator\"}},"
	    "{\"Id\": \"72a0aa4ef085c749d12c33b9c9b35e8d93bfdc550000f4d854e0443d7cf91da8\","
	    " \"Names\": [\"/demo-app-1\"], \"Image\": \"busybox\","
	    " \"Command\": \"sleep 100\", \"Created\": 1699992800,"
	    " \"State\": \"running\", \"Status\": \"Up 2 hours\", \"Ports\": [],"
	    " \"Labels\": {\"com.docker.compose.project\": \"demo\", "
	    "\"com.docker.compose.service\": "
	    "\"app\"}}"
	    "]";
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static const char *field(const json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static void test_ps_summaries(void **state)
{
	json_t *l = list(), *rows, *db, *app;

	(void)state;
	rows = stack_ps_summaries(l, false, NULL, 0, NOW);
	/* running only, sorted by name */
	assert_int_equal(json_array_size(rows), 2);
	app = json_array_get(rows, 0);
	db = json_array_get(rows, 1);
	assert_string_equal(field(app, "Name"), "demo-app-1");
	assert_string_equal(field(db, "Name"), "demo-db-1");
	assert_string_equal(field(db, "Service"), "db");
	assert_string_equal(field(db, "Project"), "demo");
	assert_string_equal(field(db, "State"), "running");
	assert_string_equal(field(db, "Health"), "healthy");
	assert_string_equal(field(db, "Status"), "Up 3 minutes (healthy)");
	assert_string_equal(field(db, "RunningFor"), "3 minutes ago");
	assert_string_equal(field(app, "RunningFor"), "2 hours ago");
	assert_string_equal(field(db, "Command"), "\"/usr/local/bin/dock\u2026\"");
	assert_string_equal(field(app, "Command"), "\"sleep 100\"");
	assert_string_equal(field(db, "Ports"),
			    "127.0.0.1:32768->5432/tcp, :::32768->5432/tcp, 9000/udp");
	assert_string_equal(field(db, "Mounts"), "demo_pgdata");
	assert_string_equal(field(db, "LocalVolumes"), "1");
	assert_string_equal(field(db, "Networks"), "demo_default");
	assert_int_equal(json_array_size(json_object_get(db, "Publishers")), 3);
	/* Go's nil slice */
	assert_true(json_is_null(json_object_get(app, "Publishers")));
	json_decref(rows);

	/* -a: the exited one-shot too, with its exit code */
	rows = stack_ps_summaries(l, true, NULL, 0, NOW);
	assert_int_equal(json_array_size(rows), 3);
	assert_string_equal(field(json_array_get(rows, 2), "Name"), "demo-migrator-1");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 2), "ExitCode")),
			 3);
	assert_string_equal(field(json_array_get(rows, 2), "Health"), "");
	json_decref(rows);

	/* services filter */
	{
		char *only[] = {"db"};

		rows = stack_ps_summaries(l, true, only, 1, NOW);
		assert_int_equal(json_array_size(rows), 1);
		assert_string_equal(field(json_array_get(rows, 0), "Service"), "db");
		json_decref(rows);
	}
	json_decref(l);
}

/* Read back what fn wrote to a temporary stream. */
static char *capture_table(const json_t *rows, bool json)
{
	FILE *f = tmpfile();
	char *buf;
	long n;

	assert_non_null(f);
	if (json)
		stack_ps_print_json(f, rows);
	else
		stack_ps_print_table(f, rows);
	n = ftell(f);
	rewind(f);
	buf = xcalloc((size_t)n + 1, 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void test_ps_table(void **state)
{
	json_t *l = list(), *rows = stack_ps_summaries(l, false, NULL, 0, NOW);
	char *out = capture_table(rows, false);

	(void)state;
	/* tabwriter: each column as wide as its widest cell + 3, at least 10 */
	assert_string_equal(
	    out, "NAME         IMAGE         COMMAND                  SERVICE   CREATED  "
		 "       STATUS                   PORTS\n"
		 "demo-app-1   busybox       \"sleep 100\"              app       2 hours "
		 "ago     Up 2 hours               \n"
		 "demo-db-1    postgres:15   \"/usr/local/bin/dock\u2026\"   db        3 "
		 "minutes ago   Up 3 minutes (healthy)   127.0.0.1:32768->5432/tcp, "
		 ":::32768->5432/tcp, 9000/udp\n");
	free(out);
	out = capture_table(rows, true);
	/* JSON lines, the ID cut to 12 digits as compose prints it */
	assert_non_null(strstr(out, "\"ID\":\"72a0aa4ef085\""));
	assert_non_null(strstr(out, "\"ID\":\"00401d089005\""));
	assert_null(strstr(out, "72a0aa4ef085c"));
	{
		char *nl = strchr(out, '\n');
		json_t *first;

		assert_non_null(nl);
		*nl = '\0';
		first = json_loads(out, 0, NULL);
		assert_non_null(first);
		assert_string_equal(field(first, "Name"), "demo-app-1");
		json_decref(first);
	}
	free(out);
	json_decref(rows);
	json_decref(l);
}

static void test_ps_durations(void **state)
{
	static const struct {
		int64_t ago;
		const char *want;
	} cases[] = {
	    {0, "Less than a second ago"},
	    {1, "1 second ago"},
	    {59, "59 seconds ago"},
	    {60, "About a minute ago"},
	    {119, "About a minute ago"},
	    {120, "2 minutes ago"},
	    {3599, "59 minutes ago"},
	    {3600, "About an hour ago"},
	    {7200, "2 hours ago"},
	    {(int64_t)3 * 86400, "3 days ago"},
	    {(int64_t)20 * 86400, "2 weeks ago"},
	    {(int64_t)90 * 86400, "3 months ago"},
	    {(int64_t)800 * 86400, "2 years ago"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *l = json_pack("[{s:s, s:[s], s:I, s:s, s:s}]", "Id", "abc", "Names", "/x",
				      "Created", (json_int_t)(NOW - cases[i].ago), "State",
				      "running", "Status", "Up");
		json_t *rows = stack_ps_summaries(l, false, NULL, 0, NOW);

		assert_string_equal(field(json_array_get(rows, 0), "RunningFor"), cases[i].want);
		json_decref(rows);
		json_decref(l);
	}
}

static void test_progress_plain(void **state)
{
	FILE *f = tmpfile();
	struct stack_progress *pr;
	char buf[512] = "";
	size_t n;

	(void)state;
	assert_non_null(f);
	pr = stack_progress_new(f, 0);
	stack_progress_event(pr, "Container demo-db-1", STACK_PROGRESS_WORKING, "Creating");
	stack_progress_event(pr, "Container demo-db-1", STACK_PROGRESS_DONE, "Created");
	stack_progress_event(pr, "Network demo_default", STACK_PROGRESS_DONE, "Created");
	stack_progress_free(pr);
	n = (size_t)ftell(f);
	rewind(f);
	assert_int_equal(fread(buf, 1, n, f), n);
	assert_string_equal(buf, " Container demo-db-1  Creating\n"
				 " Container demo-db-1  Created\n"
				 " Network demo_default  Created\n");
	fclose(f);
}

/* On a terminal: a title with done/total and one redrawn line per object. */
static void test_progress_tty(void **state)
{
	FILE *f = tmpfile();
	struct stack_progress *pr;
	char buf[2048] = "";
	size_t n;

	(void)state;
	assert_non_null(f);
	pr = stack_progress_new(f, 1);
	stack_progress_event(pr, "Container a", STACK_PROGRESS_WORKING, "Starting");
	stack_progress_event(pr, "Container b", STACK_PROGRESS_WORKING, "Starting");
	stack_progress_event(pr, "Container a", STACK_PROGRESS_DONE, "Healthy");
	stack_progress_free(pr);
	n = (size_t)ftell(f);
	rewind(f);
	assert_true(n < sizeof(buf));
	assert_int_equal(fread(buf, 1, n, f), n);
	/* the last frame moved up over the previous one (title + 2 lines) */
	assert_non_null(strstr(buf, "\033[3A"));
	assert_non_null(strstr(buf, "[+] Running 1/2"));
	assert_non_null(strstr(buf, "Container a  Healthy"));
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ps_summaries), cmocka_unit_test(test_ps_table),
	    cmocka_unit_test(test_ps_durations), cmocka_unit_test(test_progress_plain),
	    cmocka_unit_test(test_progress_tty),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests_name("stack_ps", tests, NULL, NULL);
}
