/* test_xmalloc.c - unit tests for base/xmalloc.c: string helpers, and that size
 * overflow aborts instead of returning a short allocation. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/xmalloc.h"

static void test_xstrndup(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
	    {"hello", 3, "hel"},     {"hello", 5, "hello"},
	    {"hello", 100, "hello"}, /* n past the end: stops at the NUL */
	    {"hello", 0, ""},        {"", 4, ""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = xstrndup(cases[i].in, cases[i].n);

		assert_string_equal(p, cases[i].out);
		free(p);
	}
}

static void test_xstrndup_unterminated_source(void **state)
{
	/* only n bytes may be read: the source need not be NUL-terminated */
	char *src = malloc(4), *p;

	(void)state;
	memcpy(src, "abcd", 4);
	p = xstrndup(src, 4);
	assert_string_equal(p, "abcd");
	free(p);
	free(src);
}

static void test_xstrdup(void **state)
{
	const char *s = "compose.yaml";
	char *p = xstrdup(s);

	(void)state;
	assert_string_equal(p, s);
	assert_ptr_not_equal(p, s);
	free(p);
}

static int call_xvasprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int call_xvasprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}

static void test_xasprintf(void **state)
{
	char *p = NULL, *big;
	int n;

	(void)state;
	n = xasprintf(&p, "%s:%d:%d: %s", "x.yaml", 3, 5, "bad");
	assert_int_equal(n, 15);
	assert_string_equal(p, "x.yaml:3:5: bad");
	free(p);
	n = xasprintf(&p, "%s", "");
	assert_int_equal(n, 0);
	assert_string_equal(p, "");
	free(p);
	n = call_xvasprintf(&p, "%05d|%-3s|", 42, "a");
	assert_int_equal(n, 10);
	assert_string_equal(p, "00042|a  |");
	free(p);
	/* long output is not truncated */
	n = xasprintf(&big, "%5000d", 1);
	assert_int_equal(n, 5000);
	assert_int_equal(strlen(big), 5000);
	assert_int_equal(big[4999], '1');
	free(big);
}

static void test_zero_sizes(void **state)
{
	void *p;

	(void)state;
	/* zero-byte requests still return a pointer that free() accepts */
	p = xmalloc(0);
	assert_non_null(p);
	free(p);
	p = xcalloc(0, 8);
	assert_non_null(p);
	free(p);
	p = xreallocarray(NULL, 0, 0);
	assert_non_null(p);
	free(p);
}

static void test_xcalloc_zeroes(void **state)
{
	unsigned char *p = xcalloc(1000, 4);
	size_t i;

	(void)state;
	for (i = 0; i < 4000; i++)
		assert_int_equal(p[i], 0);
	free(p);
}

static void test_xreallocarray_keeps_content(void **state)
{
	int *p = xreallocarray(NULL, 4, sizeof(int));

	(void)state;
	p[0] = 1;
	p[3] = 4;
	p = xreallocarray(p, 10000, sizeof(int));
	assert_int_equal(p[0], 1);
	assert_int_equal(p[3], 4);
	free(p);
}

/* Run fn in a child with stderr silenced; return the child's wait status. */
static int run_in_child(void (*fn)(void))
{
	int status, fd;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		fn();
		_exit(0); /* reached only if the allocator returned */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void calloc_overflow(void)
{
	/* nmemb * size wraps to a small number; a plain calloc would have to catch it */
	void *volatile p = xcalloc(SIZE_MAX / 2, 4);

	free(p);
}

static void reallocarray_overflow(void)
{
	void *volatile p = xreallocarray(NULL, SIZE_MAX / 8 + 1, 16);

	free(p);
}

static void calloc_fine(void)
{
	free(xcalloc(16, 16));
}

static void test_overflow_aborts(void **state)
{
	int status;

	(void)state;
	status = run_in_child(calloc_overflow);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	status = run_in_child(reallocarray_overflow);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	/* the control: a sane size returns and the child exits normally */
	status = run_in_child(calloc_fine);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xstrndup),
	    cmocka_unit_test(test_xstrndup_unterminated_source),
	    cmocka_unit_test(test_xstrdup),
	    cmocka_unit_test(test_xasprintf),
	    cmocka_unit_test(test_zero_sizes),
	    cmocka_unit_test(test_xcalloc_zeroes),
	    cmocka_unit_test(test_xreallocarray_keeps_content),
	    cmocka_unit_test(test_overflow_aborts),
	};

	return cmocka_run_group_tests_name("xmalloc", tests, NULL, NULL);
}
