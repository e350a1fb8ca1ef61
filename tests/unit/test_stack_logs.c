/* test_stack_logs.c - stack/logs.c without an engine: the --since/--until forms (durations
 * as Go parses them, RFC 3339 with offsets, unix seconds) and the container prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/error.h"
#include "stack/stack.h"

#define NOW  1750000000000000000LL /* 2025-06-15T15:06:40Z */
#define SEC  1000000000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)

static int64_t parse_ok(const char *s)
{
	struct px_error err = PX_ERROR_INIT;
	int64_t t = -42;

	if (stack_parse_log_time(s, NOW, &t, &err) != 0)
		fail_msg("'%s' rejected: %s", s, px_error_msg(&err));
	return t;
}

static void test_durations_back_from_now(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("10m"), NOW - 10 * MIN);
	assert_int_equal(parse_ok("1h30m"), NOW - 90 * MIN);
	assert_int_equal(parse_ok("1.5h"), NOW - 90 * MIN);
	assert_int_equal(parse_ok("300ms"), NOW - 300000000);
	assert_int_equal(parse_ok("2h45m10s"), NOW - (2 * HOUR + 45 * MIN + 10 * SEC));
	assert_int_equal(parse_ok("15us"), NOW - 15000);
	assert_int_equal(parse_ok("15\xc2\xb5s"), NOW - 15000);
	assert_int_equal(parse_ok("7ns"), NOW - 7);
	assert_int_equal(parse_ok("0s"), NOW);
}

static void test_absolute_times(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2025-06-15T15:06:40Z"), NOW);
	assert_int_equal(parse_ok("2025-06-15T15:06:40.25Z"), NOW + 250000000);
	/* an offset: the same instant two hours ahead on the clock */
	assert_int_equal(parse_ok("2025-06-15T17:06:40+02:00"), NOW);
	assert_int_equal(parse_ok("2025-06-15T10:06:40-05:00"), NOW);
	/* unix seconds, with a fraction */
	assert_int_equal(parse_ok("1750000000"), NOW);
	assert_int_equal(parse_ok("1750000000.5"), NOW + 500000000);
}

/* Without a zone a time is local, as docker reads it. */
static void test_local_times(void **state)
{
	struct tm tm = {.tm_year = 125, .tm_mon = 0, .tm_mday = 2, .tm_isdst = -1};
	int64_t midnight;

	(void)state;
	setenv("TZ", "America/New_York", 1);
	tzset();
	midnight = (int64_t)mktime(&tm) * SEC;
	assert_int_equal(parse_ok("2025-01-02"), midnight);
	assert_int_equal(parse_ok("2025-01-02T01:00:00"), midnight + HOUR);
	/* New York is five hours behind UTC in January */
	assert_int_equal(midnight, parse_ok("2025-01-02T05:00:00Z"));
	unsetenv("TZ");
	tzset();
}

static void test_bad_times_name_the_forms(void **state)
{
	static const char *const bad[] = {
	    "",      "10",    "m",     "10x",        "1e9s",         "0x10s", "-5m", "yesterday",
	    "10m5",  "1..2s", "2025-13-45", "2025-01-02T25:00:00Z", "2999-01-01T00:00:00Z",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct px_error err = PX_ERROR_INIT;
		int64_t t = 7;

		if (stack_parse_log_time(bad[i], NOW, &t, &err) == 0)
			fail_msg("'%s' accepted as %lld", bad[i], (long long)t);
		assert_non_null(strstr(px_error_msg(&err), "invalid time"));
		assert_non_null(strstr(px_error_msg(&err), "RFC 3339"));
		assert_int_equal(t, 7);
		px_error_clear(&err);
	}
}

static void test_prefixes(void **state)
{
	static const struct {
		const char *project, *name, *service, *want;
	} cases[] = {
	    {"shop", "/shop-app-1", "app", "app-1"},
	    {"shop", "shop-app-1", "app", "app-1"},
	    /* a container_name of the user's own: shown as it is */
	    {"shop", "/my-db", "db", "my-db"},
	    {"shop", "/shopping-app-1", "app", "shopping-app-1"},
	    {"shop", "/shop-", "app", "shop-"},
	    {"shop", NULL, "app", "app"},
	    {"shop", NULL, NULL, "?"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = stack_log_prefix(cases[i].project, cases[i].name, cases[i].service);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations_back_from_now),
	    cmocka_unit_test(test_absolute_times),
	    cmocka_unit_test(test_local_times),
	    cmocka_unit_test(test_bad_times_name_the_forms),
	    cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests_name("stack_logs", tests, NULL, NULL);
}
