/* test_log.c - unit tests for base/log.c: exact line formats, level filtering in the
 * macro, colour decisions (NO_COLOR, TERM=dumb, a real pty), service prefixes,
 * whole-line writes from many threads, and URL credential masking. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"

/* Output captured in memory; every test logs through one of these. */
struct capture {
	FILE *f;
	char *data;
	size_t len;
};

static void capture_begin(struct capture *c, enum px_log_level threshold, int colour)
{
	c->data = NULL;
	c->len = 0;
	c->f = open_memstream(&c->data, &c->len);
	assert_non_null(c->f);
	px_log_setup(c->f, threshold, colour);
	px_log_set_service_width(0);
}

/* Stop capturing; the returned text is owned by the caller. */
static char *capture_end(struct capture *c)
{
	px_log_setup(NULL, PX_LOG_INFO, 0); /* never leave the logger on a closed stream */
	fclose(c->f);
	return c->data;
}

static void test_plain_formats(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	px_error_log("cannot open '%s'", "x.yaml");
	px_warn("%d services without healthcheck", 2);
	px_info("generated client in %d ms", 12);
	out = capture_end(&c);
	assert_string_equal(out, "prisync: error: cannot open 'x.yaml'\n"
				 "prisync: warning: 2 services without healthcheck\n"
				 "generated client in 12 ms\n");
	free(out);
}

static void test_debug_and_trace_format(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_TRACE, 0);
	px_debug("d%d", 1);
	px_trace("t%d", 2);
	out = capture_end(&c);
	assert_string_equal(out, "prisync: debug: d1\nprisync: debug: t2\n");
	free(out);
}

static int side_effects;

static int count(void)
{
	return ++side_effects;
}

static void test_level_filtering(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	side_effects = 0;
	capture_begin(&c, PX_LOG_INFO, 0);
	px_debug("hidden %d", count());
	px_trace("hidden %d", count());
	px_info("shown %d", count());
	out = capture_end(&c);
	assert_string_equal(out, "shown 1\n");
	/* filtered in the macro: the arguments of a dropped line are not even evaluated */
	assert_int_equal(side_effects, 1);
	free(out);

	capture_begin(&c, PX_LOG_WARN, 0);
	px_info("hidden");
	px_warn("w");
	px_error_log("e");
	out = capture_end(&c);
	assert_string_equal(out, "prisync: warning: w\nprisync: error: e\n");
	free(out);

	capture_begin(&c, PX_LOG_DEBUG, 0);
	px_debug("now shown");
	px_trace("still hidden");
	out = capture_end(&c);
	assert_string_equal(out, "prisync: debug: now shown\n");
	free(out);
}

static void test_trailing_newline_dropped(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	px_info("one\n");
	px_info("%s", "");
	out = capture_end(&c);
	assert_string_equal(out, "one\n\n");
	free(out);
}

static void test_forced_colour(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 1);
	assert_true(px_log_colour());
	px_error_log("bad");
	px_warn("careful");
	px_info("plain");
	out = capture_end(&c);
	assert_string_equal(out, "prisync: \033[1;31merror:\033[0m bad\n"
				 "prisync: \033[1;33mwarning:\033[0m careful\n"
				 "plain\n");
	free(out);

	capture_begin(&c, PX_LOG_INFO, 0);
	assert_false(px_log_colour());
	px_error_log("bad");
	out = capture_end(&c);
	assert_null(strchr(out, '\033'));
	assert_string_equal(out, "prisync: error: bad\n");
	free(out);
}

static void test_detect_not_a_tty(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm-256color", 1);
	capture_begin(&c, PX_LOG_INFO, -1);
	assert_false(px_log_colour());
	px_error_log("x");
	out = capture_end(&c);
	assert_null(strchr(out, '\033'));
	free(out);
}

/* Open a pseudo-terminal pair; the slave end is a real TTY for isatty(). */
static FILE *open_pty(int *master)
{
	char *name;
	int fd;

	*master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(*master >= 0);
	assert_int_equal(grantpt(*master), 0);
	assert_int_equal(unlockpt(*master), 0);
	name = ptsname(*master);
	assert_non_null(name);
	fd = open(name, O_RDWR | O_NOCTTY);
	assert_true(fd >= 0);
	return fdopen(fd, "w");
}

static void test_detect_tty_and_no_color(void **state)
{
	static const struct {
		const char *no_color; /* NULL: unset */
		const char *term;     /* NULL: unset */
		bool colour;
	} cases[] = {
	    {NULL, "xterm", true}, {NULL, NULL, true},
	    {"", "xterm", true}, /* NO_COLOR present but empty does not count */
	    {"1", "xterm", false}, {"yes", NULL, false},
	    {NULL, "dumb", false},
	};
	char *old_term = getenv("TERM") ? strdup(getenv("TERM")) : NULL;
	int master;
	FILE *tty = open_pty(&master);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].no_color)
			setenv("NO_COLOR", cases[i].no_color, 1);
		else
			unsetenv("NO_COLOR");
		if (cases[i].term)
			setenv("TERM", cases[i].term, 1);
		else
			unsetenv("TERM");
		px_log_setup(tty, PX_LOG_INFO, -1);
		if (px_log_colour() != cases[i].colour)
			fail_msg("case %zu: NO_COLOR=%s TERM=%s: colour %d", i,
				 cases[i].no_color ? cases[i].no_color : "(unset)",
				 cases[i].term ? cases[i].term : "(unset)", !cases[i].colour);
	}
	/* forcing wins over detection in both directions */
	setenv("NO_COLOR", "1", 1);
	px_log_setup(tty, PX_LOG_INFO, 1);
	assert_true(px_log_colour());
	unsetenv("NO_COLOR");
	px_log_setup(tty, PX_LOG_INFO, 0);
	assert_false(px_log_colour());

	px_log_setup(NULL, PX_LOG_INFO, 0);
	unsetenv("NO_COLOR");
	if (old_term)
		setenv("TERM", old_term, 1);
	else
		unsetenv("TERM");
	free(old_term);
	fclose(tty);
	close(master);
}

static void test_service_prefix_and_width(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	px_log(PX_LOG_INFO, "app-1", "listening on %d", 3000);
	px_log(PX_LOG_INFO, "db-1", "ready");
	/* a longer name widens every later prefix, like compose */
	px_log(PX_LOG_INFO, "migrations-runner-1", "done");
	px_log(PX_LOG_INFO, "app-1", "again");
	px_log(PX_LOG_WARN, "app-1", "slow");
	px_log(PX_LOG_ERROR, "app-1", "crashed");
	out = capture_end(&c);
	assert_string_equal(out, "app-1    | listening on 3000\n"
				 "db-1     | ready\n"
				 "migrations-runner-1 | done\n"
				 "app-1               | again\n"
				 "app-1               | warning: slow\n"
				 "app-1               | error: crashed\n");
	free(out);

	capture_begin(&c, PX_LOG_INFO, 0);
	px_log_set_service_width(12);
	px_log(PX_LOG_INFO, "app-1", "x");
	out = capture_end(&c);
	assert_string_equal(out, "app-1        | x\n");
	free(out);
}

static void test_service_multiline(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	px_log(PX_LOG_INFO, "web", "line one\nline two\n");
	out = capture_end(&c);
	assert_string_equal(out, "web      | line one\nweb      | line two\n");
	free(out);
}

/* The colour code in front of the first service prefix of out ("\033[NNm"). */
static char *prefix_colour(const char *out)
{
	const char *m;

	assert_true(strncmp(out, "\033[", 2) == 0);
	m = strchr(out, 'm');
	assert_non_null(m);
	return strndup(out, (size_t)(m - out + 1));
}

static void test_service_colour_stable(void **state)
{
	static const char *const names[] = {"app", "db",    "worker", "redis", "web",
					    "api", "cache", "queue",  "proxy", "mail"};
	struct capture c;
	char *out, *first, *colour[10];
	size_t i, distinct = 0;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 1);
	px_log(PX_LOG_INFO, "app", "a");
	out = capture_end(&c);
	first = prefix_colour(out);
	assert_string_equal(out + strlen(first), "app      |\033[0m a\n");
	free(out);
	/* the same name gets the same colour in a later, separate setup */
	capture_begin(&c, PX_LOG_INFO, 1);
	px_log(PX_LOG_INFO, "app", "b");
	out = capture_end(&c);
	colour[0] = prefix_colour(out);
	assert_string_equal(colour[0], first);
	free(out);
	free(colour[0]);
	free(first);
	/* and different names spread over the palette */
	for (i = 0; i < 10; i++) {
		capture_begin(&c, PX_LOG_INFO, 1);
		px_log(PX_LOG_INFO, names[i], "x");
		out = capture_end(&c);
		colour[i] = prefix_colour(out);
		free(out);
	}
	for (i = 0; i < 10; i++) {
		size_t j;
		bool seen = false;

		for (j = 0; j < i; j++)
			seen = seen || strcmp(colour[i], colour[j]) == 0;
		distinct += !seen;
	}
	assert_true(distinct >= 3);
	for (i = 0; i < 10; i++)
		free(colour[i]);
	/* no colour at all without a colour terminal */
	capture_begin(&c, PX_LOG_INFO, 0);
	px_log(PX_LOG_INFO, "app", "a");
	out = capture_end(&c);
	assert_string_equal(out, "app      | a\n");
	free(out);
}

static void test_password_never_logged(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_TRACE, 1);
	px_info("connecting to %s", "postgresql://prisma:s3cr3t@db:5432/app?schema=public");
	px_error_log("cannot reach 'mysql://root:s3cr3t@mysql/app': refused");
	px_log(PX_LOG_INFO, "app-1", "DATABASE_URL=postgres://u:p@s3cr3t@db/app");
	px_debug("redis at redis://:s3cr3t@cache:6379/0");
	out = capture_end(&c);
	assert_null(strstr(out, "s3cr3t"));
	assert_non_null(
	    strstr(out, "connecting to postgresql://prisma:****@db:5432/app?schema=public\n"));
	assert_non_null(strstr(out, "'mysql://root:****@mysql/app'"));
	assert_non_null(strstr(out, "DATABASE_URL=postgres://u:****@db/app\n"));
	assert_non_null(strstr(out, "redis://:****@cache:6379/0\n"));
	free(out);
}

static void test_errno_preserved(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	errno = ENOENT;
	px_info("x");
	assert_int_equal(errno, ENOENT);
	out = capture_end(&c);
	free(out);
}

#define THREADS 8
#define LINES   500

static void *log_lines(void *arg)
{
	const char *svc = arg;
	int i;

	for (i = 0; i < LINES; i++)
		px_log(PX_LOG_INFO, svc, "line %04d of %s with some padding text to make it long",
		       i, svc);
	return NULL;
}

static void test_threads_never_interleave(void **state)
{
	static const char *const svcs[THREADS] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"};
	pthread_t th[THREADS];
	int seen[THREADS] = {0};
	struct capture c;
	char *out, *line, *save = NULL;
	int i, lines = 0;

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, log_lines, (void *)svcs[i]), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	out = capture_end(&c);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char want[128];
		int svc, n;

		assert_int_equal(sscanf(line, "s%d", &svc), 1);
		assert_true(svc >= 0 && svc < THREADS);
		n = seen[svc]++;
		/* each thread's lines arrive whole and in its own order */
		snprintf(want, sizeof(want),
			 "s%d       | line %04d of s%d with some padding text to make it long", svc,
			 n, svc);
		assert_string_equal(line, want);
		lines++;
	}
	assert_int_equal(lines, THREADS * LINES);
	free(out);
}

static void test_level_parse(void **state)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
	    {"error", PX_LOG_ERROR}, {"warn", PX_LOG_WARN},   {"warning", PX_LOG_WARN},
	    {"info", PX_LOG_INFO},   {"debug", PX_LOG_DEBUG}, {"trace", PX_LOG_TRACE},
	    {"INFO", PX_LOG_INFO},   {"Debug", PX_LOG_DEBUG}, {"", -1},
	    {"verbose", -1},         {"info ", -1},           {"err", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (px_log_level_parse(cases[i].in) != cases[i].want)
			fail_msg("'%s': got %d, want %d", cases[i].in,
				 px_log_level_parse(cases[i].in), cases[i].want);
	assert_int_equal(px_log_level_parse(NULL), -1);
}

static void test_mask_urls(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"postgresql://u:p@db:5432/app", "postgresql://u:****@db:5432/app"},
	    /* '@' in the password: the last '@' ends the userinfo */
	    {"postgresql://u:p@ss@db:5432/app", "postgresql://u:****@db:5432/app"},
	    /* ':' in the password */
	    {"postgres://u:a:b:c@db/app", "postgres://u:****@db/app"},
	    {"mysql://root:pw@127.0.0.1:3306/shop", "mysql://root:****@127.0.0.1:3306/shop"},
	    {"redis://:pw@cache:6379/0", "redis://:****@cache:6379/0"},
	    {"tcp://admin:pw@docker:2376", "tcp://admin:****@docker:2376"},
	    /* no password: unchanged */
	    {"ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"},
	    {"postgres://db:5432/app", "postgres://db:5432/app"},
	    {"postgres://u:@db/app", "postgres://u:@db/app"},
	    /* text around, URL at the end, percent-encoding, quotes */
	    {"connecting to postgres://u:pw@db/app now",
	     "connecting to postgres://u:****@db/app now"},
	    {"url is postgres://u:pw@db", "url is postgres://u:****@db"},
	    {"postgres://u:p%40ss%3A@db/app", "postgres://u:****@db/app"},
	    {"DATABASE_URL=\"postgres://u:pw@db/app\"",
	     "DATABASE_URL=\"postgres://u:****@db/app\""},
	    {"'mysql://u:pw@h'", "'mysql://u:****@h'"},
	    /* query and fragment end the authority: an '@' there is not userinfo */
	    {"postgres://db/app?user=u&x=a:b@c", "postgres://db/app?user=u&x=a:b@c"},
	    {"http://h#a:b@c", "http://h#a:b@c"},
	    /* several URLs, the second right after the first's authority */
	    {"a postgres://u:1@x/y and redis://:2@r b",
	     "a postgres://u:****@x/y and redis://:****@r b"},
	    {"x://a:1@b://c:2@d", "x://a:****@b://c:****@d"},
	    /* no URL at all, and degenerate input */
	    {"no url here: user:pass@host", "no url here: user:pass@host"},
	    {"", ""},
	    {"://", "://"},
	    {"://u:p@h", "://u:****@h"},
	    {"already postgres://u:****@db", "already postgres://u:****@db"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = px_mask_urls(cases[i].in);

		if (strcmp(got, cases[i].out) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].in, got, cases[i].out);
		free(got);
	}
}

/* Container output: its own stream, a prefix without level tags, the line masked, a NUL
 * inside the line unable to end the masking early; no prefix: the line alone. */
static void test_container_output(void **state)
{
	char *data = NULL, *warn;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	struct capture c;
	static const char nul_line[] = "x\0 postgres://u:pw@db/x";

	(void)state;
	capture_begin(&c, PX_LOG_INFO, 0);
	px_log_output_setup(f, 0);
	px_log_output("app-1", "listening", 9);
	px_log_output("app-1", "err: Error: connect postgres://app:hunter2@db:5432/x", 52);
	px_log_output("migrate-1", "done", 4);
	px_log_output(NULL, "bare line, no newline of its own", 32);
	px_log_output("db-1", nul_line, sizeof(nul_line) - 1);
	px_log_output("db-1", "trailing part cut", 8);
	px_warn("a warning goes to the log stream");
	px_log_output_setup(NULL, 0);
	fclose(f);
	warn = capture_end(&c);
	assert_string_equal(data, "app-1    | listening\n"
				  "app-1    | err: Error: connect postgres://app:****@db:5432/x\n"
				  "migrate-1 | done\n"
				  "bare line, no newline of its own\n"
				  "db-1      | x  postgres://u:****@db/x\n"
				  "db-1      | trailing\n");
	assert_string_equal(warn, "prisync: warning: a warning goes to the log stream\n");
	free(data);
	free(warn);

	/* forced colour: the prefix coloured as px_log_emit colours the same name */
	data = NULL;
	f = open_memstream(&data, &len);
	px_log_output_setup(f, 1);
	px_log_set_service_width(0);
	px_log_output("app-1", "x", 1);
	px_log_output_setup(NULL, 0);
	fclose(f);
	assert_true(strncmp(data, "\033[", 2) == 0);
	assert_non_null(strstr(data, "app-1    |\033[0m x\n"));
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_formats),
	    cmocka_unit_test(test_debug_and_trace_format),
	    cmocka_unit_test(test_level_filtering),
	    cmocka_unit_test(test_trailing_newline_dropped),
	    cmocka_unit_test(test_forced_colour),
	    cmocka_unit_test(test_detect_not_a_tty),
	    cmocka_unit_test(test_detect_tty_and_no_color),
	    cmocka_unit_test(test_service_prefix_and_width),
	    cmocka_unit_test(test_service_multiline),
	    cmocka_unit_test(test_service_colour_stable),
	    cmocka_unit_test(test_password_never_logged),
	    cmocka_unit_test(test_errno_preserved),
	    cmocka_unit_test(test_threads_never_interleave),
	    cmocka_unit_test(test_level_parse),
	    cmocka_unit_test(test_mask_urls),
	    cmocka_unit_test(test_container_output),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
