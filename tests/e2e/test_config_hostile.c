/* test_config_hostile.c - `prisync config` on hostile compose files: an alias bomb, a
 * 10 MiB value, invalid UTF-8 and a truncated file each end in exactly one clear error
 * naming file:line:col, exit 1, no crash and no sanitizer report, in bounded time. */
#include <string.h>

#include "tests/harness/harness.h"

struct fx {
	struct harness_dir dir;
	struct px_buf out, err;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	harness_dir_create(&f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	harness_dir_remove(&f->dir);
	px_buf_release(&f->out);
	px_buf_release(&f->err);
	free(f);
	return 0;
}

static void write_bytes(const struct fx *f, const char *name, const char *data, size_t len)
{
	struct px_error err = PX_ERROR_INIT;
	char *path = px_path_join(f->dir.root, name);

	if (px_path_write_file_atomic(path, data, len, 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(path);
}

/* Run `prisync -f <name> config -q` and check: exit 1, one error line that starts with
 * "prisync: error: <dir>/<name>:<line>:<col>: " and contains want, nothing else on stderr. */
static void expect_one_error(struct fx *f, const char *name, const char *want)
{
	char prefix[512];
	const char *e;
	int code;

	px_buf_reset(&f->out);
	px_buf_reset(&f->err);
	code = harness_prisync(&f->dir, &f->out, &f->err, 60000, "-f", name, "config", "-q", NULL);
	e = px_buf_cstr(&f->err);
	snprintf(prefix, sizeof(prefix), "prisync: error: %s/%s:", f->dir.root, name);
	if (code != 1 || strncmp(e, prefix, strlen(prefix)) != 0 || strstr(e, want) == NULL)
		fail_msg("%s: exit %d, stderr:\n%s\nwanted exit 1, '%s...' and '%s'", name, code, e,
			 prefix, want);
	/* one line: a crash or a sanitizer report would add more */
	if (strchr(e, '\n') != e + strlen(e) - 1)
		fail_msg("%s: more than one line on stderr:\n%s", name, e);
	/* line:col follow the file name */
	{
		unsigned line = 0, col = 0;

		if (sscanf(e + strlen(prefix), "%u:%u:", &line, &col) != 2 || line == 0 || col == 0)
			fail_msg("%s: no line:col in '%s'", name, e);
	}
	assert_int_equal(f->out.len, 0);
}

static void test_alias_bomb(void **state)
{
	struct fx *f = *state;
	struct px_buf y = PX_BUF_INIT;

	/* billion laughs: 10^9 nodes once expanded */
	px_buf_adds(&y, "x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++)
		px_buf_addf(&y, "x-%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c - 1,
			    c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
	px_buf_adds(&y, "services:\n  app:\n    image: busybox\n");
	write_bytes(f, "bomb.yaml", y.data, y.len);
	px_buf_release(&y);
	expect_one_error(f, "bomb.yaml", "alias bomb");
}

static void test_ten_mib_value(void **state)
{
	struct fx *f = *state;
	size_t big = (size_t)10 << 20;
	struct px_buf y = PX_BUF_INIT;

	px_buf_adds(&y, "services:\n  app:\n    image: busybox\n    environment:\n      BIG: \"");
	px_buf_grow(&y, big + 8);
	memset(y.data + y.len, 'x', big);
	y.len += big;
	px_buf_adds(&y, "\"\n");
	write_bytes(f, "big.yaml", y.data, y.len);
	px_buf_release(&y);
	expect_one_error(f, "big.yaml", "value too long");
}

static void test_invalid_utf8(void **state)
{
	struct fx *f = *state;
	static const char y[] = "services:\n  app:\n    image: \"bus\xff\xfe" "box\"\n";

	write_bytes(f, "utf8.yaml", y, sizeof(y) - 1);
	expect_one_error(f, "utf8.yaml", "UTF-8");
}

static void test_truncated_file(void **state)
{
	struct fx *f = *state;
	static const char y[] = "services:\n  app:\n    image: busybox\n    ports: [\"80:80\", ";

	write_bytes(f, "cut.yaml", y, sizeof(y) - 1);
	expect_one_error(f, "cut.yaml", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_alias_bomb, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ten_mib_value, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_file, setup, teardown),
	};

	return cmocka_run_group_tests_name("config_hostile", tests, NULL, NULL);
}
