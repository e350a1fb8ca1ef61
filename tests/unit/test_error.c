/* test_error.c - unit tests for base/error.c and the library adapters in
 * base/adapters.c, each adapter fed a real failure of its library. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/adapters.h"
#include "base/error.h"

static void test_set_plain(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_int_equal(px_error_set(&err, 0, "cannot parse '%s'", "x.yaml"), -1);
	assert_string_equal(px_error_msg(&err), "cannot parse 'x.yaml'");
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.sqlstate, "");
	px_error_clear(&err);
}

static void test_set_errnum_appends_strerror(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_int_equal(px_error_set(&err, ENOENT, "cannot open compose file '%s'", "x.yaml"), -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot open compose file 'x.yaml': No such file or directory");
	assert_int_equal(err.errnum, ENOENT);
	px_error_clear(&err);
}

static void test_set_replaces_and_may_quote_old(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	px_error_set(&err, EACCES, "first");
	memcpy(err.sqlstate, "42P01", 6);
	/* the old message may be an argument of the new one */
	px_error_set(&err, 0, "second (was: %s)", err.msg);
	assert_string_equal(px_error_msg(&err), "second (was: first: Permission denied)");
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.sqlstate, "");
	px_error_clear(&err);
}

static int call_vset(struct px_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int call_vset(struct px_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = px_error_vset(err, errnum, fmt, ap);
	va_end(ap);
	return r;
}

static void test_vset(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_int_equal(call_vset(&err, EEXIST, "cannot create '%s' (%d)", "d", 7), -1);
	assert_string_equal(px_error_msg(&err), "cannot create 'd' (7): File exists");
	assert_int_equal(err.errnum, EEXIST);
	px_error_clear(&err);
}

static void test_wrap_keeps_errnum_and_sqlstate(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	px_error_set(&err, ECONNREFUSED, "cannot connect to '%s'", "db");
	memcpy(err.sqlstate, "08006", 6);
	assert_int_equal(px_error_wrap(&err, "schema '%s'", "core"), -1);
	assert_int_equal(px_error_wrap(&err, "sync"), -1);
	assert_string_equal(px_error_msg(&err),
			    "sync: schema 'core': cannot connect to 'db': Connection refused");
	assert_int_equal(err.errnum, ECONNREFUSED);
	assert_string_equal(err.sqlstate, "08006");
	px_error_clear(&err);
}

static void test_wrap_without_message(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	px_error_wrap(&err, "context only");
	assert_string_equal(px_error_msg(&err), "context only");
	px_error_clear(&err);
}

static void test_msg_and_clear(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_string_equal(px_error_msg(&err), "");
	assert_string_equal(px_error_msg(NULL), "");
	px_error_clear(&err); /* clearing a clear error is fine */
	px_error_set(&err, EIO, "x");
	memcpy(err.sqlstate, "XX000", 6);
	px_error_clear(&err);
	assert_null(err.msg);
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.sqlstate, "");
	assert_string_equal(px_error_msg(&err), "");
	px_error_clear(&err);
	px_error_clear(NULL);
	/* a NULL error object means "the caller does not care" */
	assert_int_equal(px_error_set(NULL, EIO, "ignored"), -1);
	assert_int_equal(px_error_wrap(NULL, "ignored"), -1);
}

static void test_move(void **state)
{
	struct px_error dst = PX_ERROR_INIT, src = PX_ERROR_INIT;

	(void)state;
	px_error_set(&dst, 0, "old, to be freed");
	px_error_set(&src, ENOENT, "moved");
	memcpy(src.sqlstate, "3D000", 6);
	px_error_move(&dst, &src);
	assert_string_equal(px_error_msg(&dst), "moved: No such file or directory");
	assert_int_equal(dst.errnum, ENOENT);
	assert_string_equal(dst.sqlstate, "3D000");
	assert_null(src.msg);
	assert_int_equal(src.errnum, 0);
	assert_string_equal(src.sqlstate, "");
	/* moving a clear error clears the destination */
	px_error_move(&dst, &src);
	assert_null(dst.msg);
	px_error_move(&dst, &dst);
	px_error_clear(&dst);
}

/* --- curl --- */

static void test_curl_strerror(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char want[256];

	(void)state;
	snprintf(want, sizeof(want), "cannot reach the engine: %s",
		 curl_easy_strerror(CURLE_COULDNT_CONNECT));
	assert_int_equal(
	    px_error_from_curl(&err, CURLE_COULDNT_CONNECT, NULL, "cannot reach the engine"), -1);
	assert_string_equal(px_error_msg(&err), want);
	assert_string_equal(px_error_msg(&err),
			    "cannot reach the engine: Couldn't connect to server");
	/* an empty error buffer (curl wrote nothing) falls back to the code */
	assert_int_equal(
	    px_error_from_curl(&err, CURLE_COULDNT_CONNECT, "", "cannot reach the engine"), -1);
	assert_string_equal(px_error_msg(&err), want);
	assert_int_equal(err.errnum, 0);
	px_error_clear(&err);
}

static void test_curl_errbuf_preferred(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	px_error_from_curl(&err, CURLE_COULDNT_CONNECT,
			   "Failed to connect to 127.0.0.1 port 1 after 0 ms: Connection refused\n",
			   "GET /_ping");
	assert_string_equal(
	    px_error_msg(&err),
	    "GET /_ping: Failed to connect to 127.0.0.1 port 1 after 0 ms: Connection refused");
	px_error_from_curl(&err, CURLE_OPERATION_TIMEDOUT, NULL, NULL);
	assert_string_equal(px_error_msg(&err), curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
	px_error_clear(&err);
}

/* --- libyaml --- */

/* Parse doc until libyaml fails and convert its error. */
static void yaml_fail(const char *doc, const char *file, struct px_error *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int failed = 0, type;

	assert_int_equal(yaml_parser_initialize(&parser), 1);
	yaml_parser_set_input_string(&parser, (const unsigned char *)doc, strlen(doc));
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			failed = 1;
			px_error_from_yaml(err, &parser, file);
			break;
		}
		type = ev.type;
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&parser);
	assert_true(failed);
}

static void test_yaml_scanner_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	yaml_fail("a: 1\nb: 2\nc: d: e\n", "x.yaml", &err);
	assert_string_equal(px_error_msg(&err),
			    "x.yaml:3:5: mapping values are not allowed in this context");
	assert_int_equal(err.errnum, 0);
	px_error_clear(&err);
}

static void test_yaml_parser_error_with_context(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	yaml_fail("services:\n  app: 1\n db: 2\n", "compose.yaml", &err);
	assert_string_equal(
	    px_error_msg(&err),
	    "compose.yaml:3:2: did not find expected key while parsing a block mapping");
	yaml_fail("key: [1, 2\n", NULL, &err);
	assert_string_equal(px_error_msg(&err),
			    "2:1: did not find expected ',' or ']' while parsing a flow sequence");
	px_error_clear(&err);
}

static void test_yaml_reader_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	yaml_fail("a: \xc3\x28\n", "bad.yaml", &err);
	assert_string_equal(px_error_msg(&err),
			    "bad.yaml: invalid trailing UTF-8 octet (#28) at byte 4");
	px_error_clear(&err);
}

/* --- jansson --- */

static void test_json_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	json_error_t jerr;
	json_t *j;

	(void)state;
	j = json_loads("{\"a\": 1,\n \"b\" 2}", 0, &jerr);
	assert_null(j);
	assert_int_equal(px_error_from_json(&err, &jerr, "cannot parse the engine's reply"), -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot parse the engine's reply: <string>:2:6: ':' expected near '2'");
	j = json_loads("{\"a\": }", 0, &jerr);
	assert_null(j);
	px_error_from_json(&err, &jerr, NULL);
	assert_string_equal(px_error_msg(&err), "<string>:1:7: unexpected token near '}'");
	px_error_clear(&err);
}

static void test_json_error_without_position(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	json_error_t jerr;

	(void)state;
	memset(&jerr, 0, sizeof(jerr));
	jerr.line = -1;
	jerr.column = -1;
	snprintf(jerr.text, sizeof(jerr.text), "wrong arguments");
	px_error_from_json(&err, &jerr, "reply");
	assert_string_equal(px_error_msg(&err), "reply: wrong arguments");
	px_error_clear(&err);
}

/* --- libgit2 --- */

static void test_git2_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	git_repository *repo = NULL;
	const char *msg;
	int rc;

	(void)state;
	rc = git_repository_open(&repo, "/nonexistent-prisync-dir/repo");
	assert_int_equal(rc, GIT_ENOTFOUND);
	assert_null(repo);
	assert_int_equal(px_error_from_git2(&err, rc, "cannot open repository"), -1);
	msg = px_error_msg(&err);
	assert_true(strncmp(msg, "cannot open repository: ", 24) == 0);
	assert_non_null(strstr(msg, "/nonexistent-prisync-dir/repo"));
	assert_true(msg[strlen(msg) - 1] != '\n');
	px_error_clear(&err);
}

static void test_git2_no_error_set(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	git_error_clear();
	px_error_from_git2(&err, GIT_EAMBIGUOUS, "resolve 'HEAD'");
	assert_string_equal(px_error_msg(&err), "resolve 'HEAD': libgit2 error -5");
	px_error_clear(&err);
}

/* --- libpq --- */

static void test_pq_connection_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	PGconn *conn;
	const char *msg;
	size_t n;

	(void)state;
	/* a socket directory that does not exist: fails at once, no server needed */
	conn = PQconnectdb("host=/nonexistent-dir port=1 connect_timeout=2");
	assert_non_null(conn);
	assert_int_equal(PQstatus(conn), CONNECTION_BAD);
	assert_int_equal(px_error_from_pq(&err, conn, NULL, "cannot connect to the database"), -1);
	msg = px_error_msg(&err);
	n = strlen(msg);
	assert_true(strncmp(msg, "cannot connect to the database: ", 32) == 0);
	assert_non_null(strstr(msg, "/nonexistent-dir/.s.PGSQL.1"));
	assert_true(n > 32 && msg[n - 1] != '\n');
	assert_string_equal(err.sqlstate, "");
	PQfinish(conn);
	px_error_clear(&err);
}

static void test_pq_no_conn_no_result(void **state)
{
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	memcpy(err.sqlstate, "XX000", 6);
	assert_int_equal(px_error_from_pq(&err, NULL, NULL, "cannot connect"), -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot connect: no connection object (libpq out of memory)");
	assert_string_equal(err.sqlstate, "");
	px_error_clear(&err);
}

static void test_pq_result_without_fields(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	PGconn *conn;
	PGresult *res;

	(void)state;
	conn = PQconnectdb("host=/nonexistent-dir port=1");
	/* libpq copies the connection's message into a fatal result it makes */
	res = PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
	px_error_from_pq(&err, conn, res, "query");
	assert_non_null(strstr(px_error_msg(&err), "/nonexistent-dir/.s.PGSQL.1"));
	assert_true(strncmp(px_error_msg(&err), "query: ", 7) == 0);
	assert_string_equal(err.sqlstate, "");
	PQclear(res);
	/* a result that is not an error at all still yields a message */
	res = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
	px_error_from_pq(&err, NULL, res, "SELECT 1");
	assert_string_equal(px_error_msg(&err),
			    "SELECT 1: unexpected result status PGRES_COMMAND_OK");
	PQclear(res);
	PQfinish(conn);
	px_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_plain),
	    cmocka_unit_test(test_set_errnum_appends_strerror),
	    cmocka_unit_test(test_set_replaces_and_may_quote_old),
	    cmocka_unit_test(test_vset),
	    cmocka_unit_test(test_wrap_keeps_errnum_and_sqlstate),
	    cmocka_unit_test(test_wrap_without_message),
	    cmocka_unit_test(test_msg_and_clear),
	    cmocka_unit_test(test_move),
	    cmocka_unit_test(test_curl_strerror),
	    cmocka_unit_test(test_curl_errbuf_preferred),
	    cmocka_unit_test(test_yaml_scanner_error),
	    cmocka_unit_test(test_yaml_parser_error_with_context),
	    cmocka_unit_test(test_yaml_reader_error),
	    cmocka_unit_test(test_json_error),
	    cmocka_unit_test(test_json_error_without_position),
	    cmocka_unit_test(test_git2_error),
	    cmocka_unit_test(test_git2_no_error_set),
	    cmocka_unit_test(test_pq_connection_error),
	    cmocka_unit_test(test_pq_no_conn_no_result),
	    cmocka_unit_test(test_pq_result_without_fields),
	};
	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests_name("error", tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
