/* test_engine_streams.c - unit tests for engine/streams.c: the line splitter (every cut of a
 * stream, long lines, the last line without '\n', stopping) and the newline-delimited JSON
 * message parser on canned pull, build and event streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xmalloc.h"
#include "engine/streams.h"

/*
 * Lines
 */

struct lines_got {
	struct px_buf all; /* each line followed by '|' */
	int n;
	int stop_at; /* return 1 at this line (1-based); 0 never */
};

static int collect_line(void *data, const char *line, size_t len)
{
	struct lines_got *g = data;

	assert_null(memchr(line, '\n', len));
	assert_int_equal(line[len], '\0');
	px_buf_add(&g->all, line, len);
	px_buf_addch(&g->all, '|');
	return ++g->n == g->stop_at;
}

/* Feed text cut at i and j, then finish; the lines joined with '|'. */
static char *split3(const char *text, size_t len, size_t i, size_t j, size_t max, bool strip_cr)
{
	struct engine_lines l = ENGINE_LINES_INIT(max, strip_cr);
	struct lines_got g = {.all = PX_BUF_INIT};

	assert_int_equal(engine_lines_feed(&l, text, i, collect_line, &g), 0);
	assert_int_equal(engine_lines_feed(&l, text + i, j - i, collect_line, &g), 0);
	assert_int_equal(engine_lines_feed(&l, text + j, len - j, collect_line, &g), 0);
	assert_int_equal(engine_lines_finish(&l, collect_line, &g), 0);
	/* finishing twice delivers nothing more */
	assert_int_equal(engine_lines_finish(&l, collect_line, &g), 0);
	engine_lines_release(&l);
	return px_buf_detach(&g.all, NULL);
}

static void test_lines_every_cut(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"one\ntwo\nthree\n", "one|two|three|"},
	    /* the last line without '\n' still counts; an empty line is a line */
	    {"one\n\nthree", "one||three|"},
	    /* '\r' is the caller's business */
	    {"a\r\nb\r\n", "a\r|b\r|"},
	    {"\n", "|"},
	    {"", ""},
	    {"no newline at all", "no newline at all|"},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = strlen(cases[c].text);

		for (size_t i = 0; i <= len; i++) {
			for (size_t j = i; j <= len; j++) {
				char *got = split3(cases[c].text, len, i, j, 0, false);

				if (strcmp(got, cases[c].want) != 0)
					fail_msg("'%s' cut at %zu/%zu: '%s', want '%s'",
						 cases[c].text, i, j, got, cases[c].want);
				free(got);
			}
		}
	}
}

static void test_lines_max(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"abcdefghij\n", "abcd|efgh|ij|"},
	    /* a line of exactly max bytes is one line, not one and an empty one */
	    {"abcd\nef\n", "abcd|ef|"},
	    {"abcd\n\n", "abcd||"},
	    {"abcdefgh", "abcd|efgh|"},
	    {"abcdefghi", "abcd|efgh|i|"},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = strlen(cases[c].text);

		for (size_t i = 0; i <= len; i++) {
			for (size_t j = i; j <= len; j++) {
				char *got = split3(cases[c].text, len, i, j, 4, false);

				if (strcmp(got, cases[c].want) != 0)
					fail_msg("'%s' (max 4) cut at %zu/%zu: '%s', want '%s'",
						 cases[c].text, i, j, got, cases[c].want);
				free(got);
			}
		}
	}
}

/* A TTY's "\r\n": with strip_cr the '\r' goes, however the chunks are cut. */
static void test_lines_strip_cr(void **state)
{
	static const char text[] = "a\r\nb\r\r\n\r\nno cr\nlast\r";
	size_t len = sizeof(text) - 1;

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			char *got = split3(text, len, i, j, 0, true);

			if (strcmp(got, "a|b\r||no cr|last|") != 0)
				fail_msg("cut at %zu/%zu: '%s'", i, j, got);
			free(got);
		}
	}
}

static void test_lines_stop(void **state)
{
	struct engine_lines l;
	struct lines_got g = {.all = PX_BUF_INIT, .stop_at = 2};

	(void)state;
	engine_lines_init(&l, ENGINE_LINE_MAX, false);
	assert_int_equal(engine_lines_feed(&l, "a\nb\nc\n", 6, collect_line, &g), 1);
	assert_string_equal(px_buf_cstr(&g.all), "a|b|");
	engine_lines_release(&l);
	px_buf_release(&g.all);
}

/*
 * JSON messages
 */

struct msgs_got {
	struct px_buf all; /* each message's compact JSON followed by '\n' */
	int n;
	int stop_at;
};

static int collect_msg(void *data, const json_t *msg)
{
	struct msgs_got *g = data;
	char *s = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);

	assert_true(json_is_object(msg));
	px_buf_adds(&g->all, s);
	px_buf_addch(&g->all, '\n');
	free(s);
	return ++g->n == g->stop_at;
}

/* Parse a canned stream fed in two pieces cut at i: the state at the end, the messages
 * seen, and the error (owned by the caller). */
static int parse_cut(const char *text, size_t i, bool errors, int stop_at, char **got, char **error)
{
	struct engine_messages m;
	struct msgs_got g = {.all = PX_BUF_INIT, .stop_at = stop_at};
	size_t len = strlen(text);
	int rc;

	engine_messages_init(&m, errors, collect_msg, &g);
	if (engine_messages_feed(text, i, &m) == 0)
		engine_messages_feed(text + i, len - i, &m);
	rc = engine_messages_finish(&m);
	*got = px_buf_detach(&g.all, NULL);
	*error = xstrdup(px_error_msg(&m.err));
	engine_messages_release(&m);
	return rc;
}

static void test_messages_table(void **state)
{
	static const struct {
		const char *name;
		const char *stream;
		bool errors;
		int state;
		const char *msgs;  /* what fn saw */
		const char *error; /* m.err */
	} cases[] = {
	    {"a pull",
	     "{\"status\":\"Pulling from library/busybox\",\"id\":\"1.36\"}\r\n"
	     "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":10,\"total\":20},"
	     "\"id\":\"a1\"}\r\n"
	     "\r\n"
	     "{\"status\":\"Status: Downloaded newer image for busybox:1.36\"}\r\n",
	     true, 0,
	     "{\"id\":\"1.36\",\"status\":\"Pulling from library/busybox\"}\n"
	     "{\"id\":\"a1\",\"progressDetail\":{\"current\":10,\"total\":20},"
	     "\"status\":\"Downloading\"}\n"
	     "{\"status\":\"Status: Downloaded newer image for busybox:1.36\"}\n",
	     ""},
	    {"a build with its image id, the last line without newline",
	     "{\"stream\":\"Step 1/2 : FROM busybox\\n\"}\n"
	     "{\"aux\":{\"ID\":\"sha256:0123\"}}\n"
	     "{\"stream\":\"Successfully built 0123\\n\"}",
	     true, 0,
	     "{\"stream\":\"Step 1/2 : FROM busybox\\n\"}\n"
	     "{\"aux\":{\"ID\":\"sha256:0123\"}}\n"
	     "{\"stream\":\"Successfully built 0123\\n\"}\n",
	     ""},
	    {"an error ends the stream; what follows is not read",
	     "{\"status\":\"Pulling\"}\n"
	     "{\"errorDetail\":{\"message\":\"manifest for x:1 not found\"},"
	     "\"error\":\"manifest for x:1 not found\"}\n"
	     "{\"status\":\"never\"}\n",
	     true, -1, "{\"status\":\"Pulling\"}\n", "engine: manifest for x:1 not found"},
	    {"errorDetail's message wins over error",
	     "{\"errorDetail\":{\"code\":1,\"message\":\"COPY failed: no source files\"},"
	     "\"error\":\"short\"}\n",
	     true, -1, "", "engine: COPY failed: no source files"},
	    {"error alone", "{\"error\":\"boom\"}", true, -1, "", "engine: boom"},
	    {"an errorDetail without a message", "{\"errorDetail\":{}}\n", true, -1, "",
	     "engine: unknown error"},
	    {"events: an \"error\" key is data there",
	     "{\"Type\":\"container\",\"Action\":\"die\",\"error\":\"x\"}\n", false, 0,
	     "{\"Action\":\"die\",\"Type\":\"container\",\"error\":\"x\"}\n", ""},
	    {"not JSON", "{\"status\":\"ok\"}\n{\"status\": nope}\n", true, -1,
	     "{\"status\":\"ok\"}\n", "engine: bad JSON message in the stream"},
	    {"not an object", "[1,2]\n", false, -1, "",
	     "engine: a message in the stream is not an object"},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = strlen(cases[c].stream);

		for (size_t i = 0; i <= len; i++) {
			char *got, *error;
			int rc = parse_cut(cases[c].stream, i, cases[c].errors, 0, &got, &error);

			if (rc != cases[c].state || strcmp(got, cases[c].msgs) != 0 ||
			    strncmp(error, cases[c].error, strlen(cases[c].error)) != 0 ||
			    (cases[c].error[0] == '\0' && error[0] != '\0'))
				fail_msg("%s, cut at %zu: state %d, messages:\n%s\nerror '%s'",
					 cases[c].name, i, rc, got, error);
			free(got);
			free(error);
		}
	}
}

static void test_messages_stop(void **state)
{
	char *got, *error;

	(void)state;
	/* fn stops at the second message: state 1, the third is never parsed (it is not even
	 * JSON, which would otherwise be an error) */
	assert_int_equal(parse_cut("{\"a\":1}\n{\"b\":2}\ngarbage\n", 3, true, 2, &got, &error), 1);
	assert_string_equal(got, "{\"a\":1}\n{\"b\":2}\n");
	assert_string_equal(error, "");
	free(got);
	free(error);
	/* after a stop, more data is refused at once */
	{
		struct engine_messages m;
		struct msgs_got g = {.all = PX_BUF_INIT, .stop_at = 1};

		engine_messages_init(&m, true, collect_msg, &g);
		assert_int_equal(engine_messages_feed("{}\n", 3, &m), 1);
		assert_int_equal(engine_messages_feed("{}\n", 3, &m), 1);
		assert_int_equal(g.n, 1);
		engine_messages_release(&m);
		px_buf_release(&g.all);
	}
	/* no callback at all: parsed and checked all the same */
	{
		struct engine_messages m;

		engine_messages_init(&m, true, NULL, NULL);
		assert_int_equal(engine_messages_feed("{\"x\":1}\n{\"error\":\"e\"}\n", 22, &m), 1);
		assert_int_equal(m.state, -1);
		engine_messages_release(&m);
	}
}

static void test_message_error(void **state)
{
	json_t *m;

	(void)state;
	m = json_pack("{s:s}", "status", "ok");
	assert_null(engine_message_error(m));
	json_decref(m);
	m = json_pack("{s:{s:s},s:s}", "errorDetail", "message", "detail", "error", "e");
	assert_string_equal(engine_message_error(m), "detail");
	json_decref(m);
	m = json_pack("{s:{s:s},s:s}", "errorDetail", "message", "", "error", "e");
	assert_string_equal(engine_message_error(m), "e");
	json_decref(m);
	assert_null(engine_message_error(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_every_cut), cmocka_unit_test(test_lines_max),
	    cmocka_unit_test(test_lines_strip_cr),  cmocka_unit_test(test_lines_stop),
	    cmocka_unit_test(test_messages_table),  cmocka_unit_test(test_messages_stop),
	    cmocka_unit_test(test_message_error),
	};

	return cmocka_run_group_tests_name("engine_streams", tests, NULL, NULL);
}
