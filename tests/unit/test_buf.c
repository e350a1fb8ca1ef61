/* test_buf.c - unit tests for base/buf.c: growth, termination, formatting, ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

/* Every state of a buffer that holds anything must be NUL-terminated at len. */
static void assert_terminated(const struct px_buf *b)
{
	assert_non_null(b->data);
	assert_true(b->len < b->cap);
	assert_int_equal(b->data[b->len], '\0');
	assert_true(strlen(px_buf_cstr(b)) <= b->len);
}

static void test_empty(void **state)
{
	struct px_buf b = PX_BUF_INIT, c;

	(void)state;
	assert_null(b.data);
	assert_string_equal(px_buf_cstr(&b), "");
	px_buf_init(&c);
	assert_null(c.data);
	assert_int_equal(c.len, 0);
	px_buf_release(&b);
	px_buf_release(&b); /* release of a released buffer is fine */
	px_buf_reset(&b);
	px_buf_truncate(&b, 0);
	px_buf_rtrim(&b);
	assert_string_equal(px_buf_cstr(&b), "");
}

static void test_add_variants(void **state)
{
	struct px_buf b = PX_BUF_INIT;

	(void)state;
	px_buf_add(&b, "abcdef", 3);
	assert_terminated(&b);
	px_buf_adds(&b, "-");
	px_buf_addch(&b, 'x');
	px_buf_addf(&b, "[%d:%s]", 42, "y");
	assert_terminated(&b);
	assert_string_equal(px_buf_cstr(&b), "abc-x[42:y]");
	assert_int_equal(b.len, 11);
	/* adding nothing still leaves a terminated buffer */
	px_buf_add(&b, NULL, 0);
	px_buf_adds(&b, "");
	assert_int_equal(b.len, 11);
	assert_terminated(&b);
	px_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_add_empty_to_empty_terminates(void **state)
{
	struct px_buf b = PX_BUF_INIT;

	(void)state;
	px_buf_adds(&b, "");
	assert_terminated(&b);
	assert_string_equal(b.data, "");
	px_buf_release(&b);
}

static void test_binary_data(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	const char bin[] = {'a', '\0', 'b'};

	(void)state;
	px_buf_add(&b, bin, sizeof(bin));
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, bin, 3);
	assert_int_equal(b.data[3], '\0');
	px_buf_release(&b);
}

static void test_growth_many_small_adds(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 100000; i++)
		px_buf_addch(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_terminated(&b);
	for (i = 0; i < 100000; i++)
		if (b.data[i] != (char)('a' + i % 26))
			fail_msg("byte %zu is wrong", i);
	px_buf_release(&b);
}

static void test_grow_reserves(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	char *before;

	(void)state;
	px_buf_grow(&b, 1000);
	assert_true(b.cap >= 1001);
	assert_terminated(&b);
	before = b.data;
	px_buf_add(&b, "0123456789", 10);
	for (int i = 0; i < 99; i++)
		px_buf_add(&b, "0123456789", 10);
	/* the reservation was enough: no reallocation happened */
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.len, 1000);
	px_buf_release(&b);
}

static void test_addf_long_output(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	char *big = malloc(10001);
	size_t i;

	(void)state;
	memset(big, 'z', 10000);
	big[10000] = '\0';
	px_buf_adds(&b, "head:");
	/* longer than any first guess: the second vsnprintf pass must produce all of it */
	px_buf_addf(&b, "<%s|%d>", big, 7);
	assert_int_equal(b.len, 5 + 1 + 10000 + 3);
	assert_terminated(&b);
	assert_memory_equal(b.data, "head:<", 6);
	for (i = 6; i < 10006; i++)
		assert_int_equal(b.data[i], 'z');
	assert_string_equal(b.data + 10006, "|7>");
	/* and again, appending after the long output */
	px_buf_addf(&b, "%s", "!");
	assert_string_equal(b.data + 10006, "|7>!");
	free(big);
	px_buf_release(&b);
}

static void add_v(struct px_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_v(struct px_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	px_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

static void test_vaddf(void **state)
{
	struct px_buf b = PX_BUF_INIT;

	(void)state;
	add_v(&b, "%s=%u", "n", 3u);
	add_v(&b, "%200s", "r"); /* padded past the first guess */
	assert_int_equal(b.len, 3 + 200);
	assert_memory_equal(b.data, "n=3", 3);
	assert_int_equal(b.data[3 + 199], 'r');
	assert_int_equal(b.data[3], ' ');
	assert_terminated(&b);
	px_buf_release(&b);
}

static void test_reset_keeps_storage(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	char *data;
	size_t cap;

	(void)state;
	px_buf_adds(&b, "something");
	data = b.data;
	cap = b.cap;
	px_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_string_equal(px_buf_cstr(&b), "");
	px_buf_adds(&b, "new");
	assert_string_equal(px_buf_cstr(&b), "new");
	px_buf_release(&b);
}

static void test_truncate(void **state)
{
	struct px_buf b = PX_BUF_INIT;

	(void)state;
	px_buf_adds(&b, "hello world");
	px_buf_truncate(&b, 100); /* no-op */
	assert_string_equal(px_buf_cstr(&b), "hello world");
	px_buf_truncate(&b, 11); /* no-op */
	assert_int_equal(b.len, 11);
	px_buf_truncate(&b, 5);
	assert_int_equal(b.len, 5);
	assert_string_equal(px_buf_cstr(&b), "hello");
	px_buf_truncate(&b, 0);
	assert_string_equal(px_buf_cstr(&b), "");
	px_buf_release(&b);
}

static void test_rtrim(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"abc", "abc"}, {"abc \t\r\n", "abc"}, {"  abc  ", "  abc"}, {"\n\n", ""},
	    {"", ""},       {"a b\n", "a b"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct px_buf b = PX_BUF_INIT;

		px_buf_adds(&b, cases[i].in);
		px_buf_rtrim(&b);
		assert_string_equal(px_buf_cstr(&b), cases[i].out);
		assert_int_equal(b.len, strlen(cases[i].out));
		px_buf_release(&b);
	}
}

static void test_detach(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	size_t len = 99;
	char *s;

	(void)state;
	px_buf_adds(&b, "owned");
	s = px_buf_detach(&b, &len);
	assert_string_equal(s, "owned");
	assert_int_equal(len, 5);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(s);
	/* empty buffer: still a malloc'd "", which free() accepts */
	s = px_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	/* len may be NULL */
	px_buf_adds(&b, "x");
	s = px_buf_detach(&b, NULL);
	assert_string_equal(s, "x");
	free(s);
	/* the buffer is reusable after detach */
	px_buf_adds(&b, "again");
	assert_string_equal(px_buf_cstr(&b), "again");
	px_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_add_variants),
	    cmocka_unit_test(test_add_empty_to_empty_terminates),
	    cmocka_unit_test(test_binary_data),
	    cmocka_unit_test(test_growth_many_small_adds),
	    cmocka_unit_test(test_grow_reserves),
	    cmocka_unit_test(test_addf_long_output),
	    cmocka_unit_test(test_vaddf),
	    cmocka_unit_test(test_reset_keeps_storage),
	    cmocka_unit_test(test_truncate),
	    cmocka_unit_test(test_rtrim),
	    cmocka_unit_test(test_detach),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
