/* test_db.c - db/ behaviour that needs no server: connection failures are errors that
 * say why, and never carry the password of the URL they were given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "db/db.h"

static void test_refused_connection_is_explained(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = (struct db_conn *)0x1;

	(void)state;
	/* port 1 on loopback: nothing listens there */
	assert_int_equal(db_connect(&c, "postgresql://app:s3cr3t-pw@127.0.0.1:1/app", 2, &err), -1);
	assert_null(c);
	assert_non_null(strstr(px_error_msg(&err), "cannot connect to the database"));
	assert_non_null(strstr(px_error_msg(&err), "refused"));
	assert_null(strstr(px_error_msg(&err), "s3cr3t-pw"));
	px_error_clear(&err);
}

static void test_bad_url_is_an_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;

	(void)state;
	assert_int_equal(db_connect(&c, "postgresql://app:pw@127.0.0.1:notaport/app", 2, &err), -1);
	assert_null(c);
	assert_true(strlen(px_error_msg(&err)) > strlen("cannot connect to the database: "));
	px_error_clear(&err);
	db_close(NULL); /* NULL-safe */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused_connection_is_explained),
	    cmocka_unit_test(test_bad_url_is_an_error),
	};

	return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
