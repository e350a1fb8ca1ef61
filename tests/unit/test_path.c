/* test_path.c - unit tests for base/path.c: the lexical helpers table-driven, and
 * mkdir_p, whole-file read/atomic write and the runtime directory in temp dirs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/path.h"

struct str_case {
	const char *in, *out;
};

static void run_unary(const char *what, char *(*fn)(const char *), const struct str_case *cases,
		      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *got = fn(cases[i].in);

		if (strcmp(got, cases[i].out) != 0)
			fail_msg("%s('%s'): got '%s', want '%s'", what, cases[i].in, got,
				 cases[i].out);
		free(got);
	}
}

static void test_clean(void **state)
{
	static const struct str_case cases[] = {
	    {"", "."},
	    {".", "."},
	    {"/", "/"},
	    {"//", "/"},
	    {"abc", "abc"},
	    {"abc/", "abc"},
	    {"a//b///c", "a/b/c"},
	    {"./a/./b/.", "a/b"},
	    {"a/b/..", "a"},
	    {"a/b/../..", "."},
	    {"a/b/../../..", ".."},
	    {"../../a", "../../a"},
	    {"../a/../..", "../.."},
	    {"/..", "/"},
	    {"/../a", "/a"},
	    {"/a/b/../../../c", "/c"},
	    {"/a/./b/../c/", "/a/c"},
	    {"a/../b/../c", "c"},
	    {"..a/.b/c..", "..a/.b/c.."},
	    {"/abc/def/../../..", "/"},
	    {"prisma//schema.prisma", "prisma/schema.prisma"},
	};

	(void)state;
	run_unary("clean", px_path_clean, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_dirname(void **state)
{
	static const struct str_case cases[] = {
	    {"", "."},
	    {"a", "."},
	    {"a/", "."},
	    {"/", "/"},
	    {"//", "/"},
	    {"/a", "/"},
	    {"/a/", "/"},
	    {"a/b", "a"},
	    {"a/b/", "a"},
	    {"a//b", "a"},
	    {"/x/y/z.prisma", "/x/y"},
	    {"/x/./y/../z", "/x"},
	    {"../a", ".."},
	};

	(void)state;
	run_unary("dirname", px_path_dirname, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_basename(void **state)
{
	static const struct str_case cases[] = {
	    {"", "."},   {"/", "/"},     {"///", "/"},    {"a", "a"},
	    {"a/", "a"}, {"/a/b", "b"},  {"/a/b//", "b"}, {"prisma/schema.prisma", "schema.prisma"},
	    {".", "."},  {"a/..", ".."},
	};

	(void)state;
	run_unary("basename", px_path_basename, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_join(void **state)
{
	static const struct {
		const char *a, *b, *out;
	} cases[] = {
	    {"a", "b", "a/b"},     {"a/", "b", "a/b"},
	    {"/", "b", "/b"},      {"/x/y", "z/w", "/x/y/z/w"},
	    {"a", "/abs", "/abs"}, {"/x", "/abs/p", "/abs/p"},
	    {"", "b", "b"},        {NULL, "b", "b"},
	    {"a", "", "a"},        {"a", NULL, "a"},
	    {"", "", ""},          {"a", "../b", "a/../b"}, /* not cleaned */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = px_path_join(cases[i].a, cases[i].b);

		if (strcmp(got, cases[i].out) != 0)
			fail_msg("join('%s', '%s'): got '%s', want '%s'",
				 cases[i].a ? cases[i].a : "NULL", cases[i].b ? cases[i].b : "NULL",
				 got, cases[i].out);
		free(got);
	}
}

static void test_below(void **state)
{
	static const struct {
		const char *path, *dir, *out; /* out NULL: not below */
	} cases[] = {
	    {"/a/b/c", "/a", "b/c"},  {"/a", "/a", ""},      {"/ab", "/a", NULL},
	    {"/a", "/a/b", NULL},     {"/x/y", "/", "x/y"},  {"/", "/", ""},
	    {"/a/b", "/a/", "b"},     {"/a", "/a/", ""},     {"/b/a", "/a", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = px_path_below(cases[i].path, cases[i].dir);

		if (cases[i].out == NULL ? got != NULL
					 : got == NULL || strcmp(got, cases[i].out) != 0)
			fail_msg("below(%s, %s) = %s, want %s", cases[i].path, cases[i].dir,
				 got ? got : "NULL", cases[i].out ? cases[i].out : "NULL");
	}
}

static void test_is_abs(void **state)
{
	(void)state;
	assert_true(px_path_is_abs("/"));
	assert_true(px_path_is_abs("/a/b"));
	assert_false(px_path_is_abs("a/b"));
	assert_false(px_path_is_abs("./a"));
	assert_false(px_path_is_abs(""));
	assert_false(px_path_is_abs(NULL));
}

static void test_abs(void **state)
{
	static const struct {
		const char *base, *p, *out;
	} cases[] = {
	    {"/proj", "prisma/schema.prisma", "/proj/prisma/schema.prisma"},
	    {"/proj/", "./a/../b", "/proj/b"},
	    {"/proj", "../other", "/other"},
	    {"/proj", "../../..", "/"},
	    {"/proj", "/etc//x/./y", "/etc/x/y"},
	    {"/proj", "", "/proj"},
	    {"/proj", ".", "/proj"},
	    {"/a/b/../c", "d", "/a/c/d"},
	    {"rel", "x", "rel/x"},
	};
	char *cwd = get_current_dir_name(), *want, *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = px_path_abs(cases[i].base, cases[i].p);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("abs('%s', '%s'): got '%s', want '%s'", cases[i].base, cases[i].p,
				 got, cases[i].out);
		free(got);
	}
	/* NULL base: the current directory */
	assert_non_null(cwd);
	got = px_path_abs(NULL, "x/../y");
	want = px_path_join(cwd, "y");
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(cwd);
}

/* --- filesystem tests, each in a private temp dir --- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup_tmp(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (asprintf(&dir, "%s/test_path.XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0)
		return -1;
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown_tmp(void **state)
{
	char *dir = *state;

	/* tests may leave read-only dirs behind; make everything removable first */
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return 0;
}

static char *tpath(void **state, const char *rel)
{
	return px_path_join(*state, rel);
}

static void test_mkdir_p(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *deep = tpath(state, "a/b//c/d/"), *file = tpath(state, "f"),
	     *under = tpath(state, "f/x");
	char *check = tpath(state, "a/b/c/d");
	struct stat st;
	int fd;

	assert_int_equal(px_path_mkdir_p(deep, 0755, &err), 0);
	assert_int_equal(stat(check, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* existing: still success */
	assert_int_equal(px_path_mkdir_p(deep, 0755, &err), 0);
	assert_int_equal(px_path_mkdir_p(*state, 0755, &err), 0);
	assert_int_equal(px_path_mkdir_p("/", 0755, &err), 0);
	/* a regular file in the way */
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(px_path_mkdir_p(file, 0755, &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	assert_non_null(strstr(px_error_msg(&err), file));
	assert_int_equal(px_path_mkdir_p(under, 0755, &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	assert_int_equal(px_path_mkdir_p("", 0755, &err), -1);
	px_error_clear(&err);
	free(deep);
	free(file);
	free(under);
	free(check);
}

static void test_exists(void **state)
{
	char *p = tpath(state, "e"), *link = tpath(state, "dangling");

	assert_true(px_path_exists(*state));
	assert_false(px_path_exists(p));
	close(open(p, O_CREAT | O_WRONLY, 0600));
	assert_true(px_path_exists(p));
	assert_int_equal(symlink("nowhere", link), 0);
	assert_false(px_path_exists(link));
	free(p);
	free(link);
}

static void test_write_then_read(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *p = tpath(state, "state.json");
	char *big = malloc(100000);
	struct stat st;
	size_t i;

	for (i = 0; i < 100000; i++)
		big[i] = (char)(i % 251);
	assert_int_equal(px_path_write_file_atomic(p, "{\"v\":1}\n", 8, 0640, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(px_path_read_file(p, &b, &err), 0);
	assert_string_equal(px_buf_cstr(&b), "{\"v\":1}\n");
	/* replace: new content and mode, reading appends to what the buffer holds */
	assert_int_equal(px_path_write_file_atomic(p, big, 100000, 0600, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 100000);
	assert_int_equal(px_path_read_file(p, &b, &err), 0);
	assert_int_equal(b.len, 8 + 100000);
	assert_memory_equal(b.data + 8, big, 100000);
	assert_int_equal(b.data[b.len], '\0');
	/* empty file */
	assert_int_equal(px_path_write_file_atomic(p, "", 0, 0600, &err), 0);
	px_buf_reset(&b);
	assert_int_equal(px_path_read_file(p, &b, &err), 0);
	assert_int_equal(b.len, 0);
	px_buf_release(&b);
	free(big);
	free(p);
	px_error_clear(&err);
}

static void test_write_leaves_no_temp(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *dir = tpath(state, "clean"), *p = tpath(state, "clean/f"),
	     *missing = tpath(state, "nodir/f");
	int entries = 0;
	DIR *d;

	assert_int_equal(px_path_mkdir_p(dir, 0700, &err), 0);
	assert_int_equal(px_path_write_file_atomic(p, "a", 1, 0644, &err), 0);
	assert_int_equal(px_path_write_file_atomic(p, "b", 1, 0644, &err), 0);
	d = opendir(dir);
	assert_non_null(d);
	while (readdir(d) != NULL)
		entries++;
	closedir(d);
	assert_int_equal(entries, 3); /* ".", "..", "f" */
	/* the directory does not exist: an error naming it */
	assert_int_equal(px_path_write_file_atomic(missing, "x", 1, 0644, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(px_error_msg(&err), "nodir"));
	px_error_clear(&err);
	free(dir);
	free(p);
	free(missing);
}

static void test_read_errors(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *p = tpath(state, "absent");
	char want[512];

	px_buf_adds(&b, "keep");
	assert_int_equal(px_path_read_file(p, &b, &err), -1);
	snprintf(want, sizeof(want), "cannot open '%s': No such file or directory", p);
	assert_string_equal(px_error_msg(&err), want);
	assert_int_equal(err.errnum, ENOENT);
	assert_string_equal(px_buf_cstr(&b), "keep");
	/* a directory opens but cannot be read: the buffer is left as it was */
	assert_int_equal(px_path_read_file(*state, &b, &err), -1);
	assert_int_equal(err.errnum, EISDIR);
	assert_string_equal(px_buf_cstr(&b), "keep");
	px_buf_release(&b);
	px_error_clear(&err);
	free(p);
}

static void test_read_proc_file(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;

	(void)state;
	/* st_size is 0 for /proc files: reading must not trust it */
	assert_int_equal(px_path_read_file("/proc/self/status", &b, &err), 0);
	assert_non_null(strstr(px_buf_cstr(&b), "Pid:"));
	px_buf_release(&b);
}

static void assert_private_dir(const char *p)
{
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, getuid());
}

/* Save and restore XDG_RUNTIME_DIR around the runtime-dir tests. */
static char *saved_xdg;

static void xdg_save(void)
{
	const char *x = getenv("XDG_RUNTIME_DIR");

	saved_xdg = x ? strdup(x) : NULL;
}

static void xdg_restore(void)
{
	if (saved_xdg)
		setenv("XDG_RUNTIME_DIR", saved_xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(saved_xdg);
	saved_xdg = NULL;
}

static void test_runtime_dir_xdg(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *xdg = tpath(state, "run"), *want, *top, *out = NULL;

	xdg_save();
	assert_int_equal(mkdir(xdg, 0700), 0);
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	assert_int_equal(px_runtime_dir("myapp", &out, &err), 0);
	assert_int_equal(asprintf(&want, "%s/prisync/myapp", xdg), (int)strlen(xdg) + 14);
	assert_string_equal(out, want);
	assert_private_dir(out);
	top = px_path_dirname(out);
	assert_private_dir(top);
	free(out);
	/* second call: everything exists, same answer */
	assert_int_equal(px_runtime_dir("myapp", &out, &err), 0);
	assert_string_equal(out, want);
	free(out);
	free(want);
	free(top);
	free(xdg);
	xdg_restore();
}

static void test_runtime_dir_tmp_fallback(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *top, *want, *out = NULL, project[64];
	bool had_top;

	(void)state;
	xdg_save();
	unsetenv("XDG_RUNTIME_DIR");
	/* the real /tmp: a unique project, and the top dir removed only if we made it */
	snprintf(project, sizeof(project), "test-path-%d", (int)getpid());
	assert_true(asprintf(&top, "/tmp/prisync-%u", (unsigned)getuid()) > 0);
	assert_true(asprintf(&want, "%s/%s", top, project) > 0);
	had_top = px_path_exists(top);
	if (px_runtime_dir(project, &out, &err) != 0)
		fail_msg("px_runtime_dir: %s", px_error_msg(&err));
	assert_string_equal(out, want);
	assert_private_dir(out);
	assert_private_dir(top);
	assert_int_equal(rmdir(out), 0);
	if (!had_top)
		rmdir(top);
	free(out);
	free(want);
	free(top);
	xdg_restore();
}

static void test_runtime_dir_xdg_not_a_dir(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *file = tpath(state, "xdg-file"), *out = NULL, *want;
	const char *values[3];
	size_t i;

	xdg_save();
	close(open(file, O_CREAT | O_WRONLY, 0600));
	/* a file, a relative path and an empty value all mean "use the fallback" */
	values[0] = file;
	values[1] = "relative/run";
	values[2] = "";
	for (i = 0; i < 3; i++) {
		setenv("XDG_RUNTIME_DIR", values[i], 1);
		assert_int_equal(px_runtime_dir_under(*state, "p", &out, &err), 0);
		assert_true(asprintf(&want, "%s/prisync-%u/p", (char *)*state, (unsigned)getuid()) >
			    0);
		assert_string_equal(out, want);
		assert_private_dir(out);
		free(want);
		free(out);
	}
	free(file);
	xdg_restore();
}

static void test_runtime_dir_refusals(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char *top, *other, *proj, *out = NULL;

	xdg_save();
	unsetenv("XDG_RUNTIME_DIR");
	assert_true(asprintf(&top, "%s/prisync-%u", (char *)*state, (unsigned)getuid()) > 0);
	assert_true(asprintf(&proj, "%s/p", top) > 0);
	other = tpath(state, "elsewhere");

	/* open to group and others */
	assert_int_equal(mkdir(top, 0700), 0);
	assert_int_equal(chmod(top, 0755), 0);
	assert_int_equal(px_runtime_dir_under(*state, "p", &out, &err), -1);
	assert_null(out);
	assert_non_null(strstr(px_error_msg(&err), top));
	assert_non_null(strstr(px_error_msg(&err), "0755"));
	assert_false(px_path_exists(proj));
	assert_int_equal(chmod(top, 0770), 0);
	assert_int_equal(px_runtime_dir_under(*state, "p", &out, &err), -1);
	/* fixed permissions: accepted (the negative control for the check above) */
	assert_int_equal(chmod(top, 0700), 0);
	assert_int_equal(px_runtime_dir_under(*state, "p", &out, &err), 0);
	free(out);
	out = NULL;
	assert_int_equal(rmdir(proj), 0);

	/* owned by someone else (needs root to arrange) */
	if (geteuid() == 0) {
		assert_int_equal(chown(top, 65534, 65534), 0);
		assert_int_equal(px_runtime_dir_under(*state, "p", &out, &err), -1);
		assert_non_null(strstr(px_error_msg(&err), top));
		assert_non_null(strstr(px_error_msg(&err), "owned by uid 65534"));
		assert_false(px_path_exists(proj));
	}
	assert_int_equal(rmdir(top), 0);

	/* a symlink planted in its place, even to a private directory */
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlink(other, top), 0);
	assert_int_equal(px_runtime_dir_under(*state, "p", &out, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), top));
	assert_non_null(strstr(px_error_msg(&err), "not a directory"));
	assert_int_equal(unlink(top), 0);

	/* bad project names */
	assert_int_equal(px_runtime_dir_under(*state, "", &out, &err), -1);
	assert_int_equal(px_runtime_dir_under(*state, "a/b", &out, &err), -1);
	assert_int_equal(px_runtime_dir_under(*state, "..", &out, &err), -1);
	assert_int_equal(px_runtime_dir_under(*state, ".", &out, &err), -1);
	assert_null(out);

	px_error_clear(&err);
	free(top);
	free(proj);
	free(other);
	xdg_restore();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_dirname),
	    cmocka_unit_test(test_basename),
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_below),
	    cmocka_unit_test(test_is_abs),
	    cmocka_unit_test(test_abs),
	    cmocka_unit_test_setup_teardown(test_mkdir_p, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_exists, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_write_leaves_no_temp, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_read_errors, setup_tmp, teardown_tmp),
	    cmocka_unit_test(test_read_proc_file),
	    cmocka_unit_test_setup_teardown(test_runtime_dir_xdg, setup_tmp, teardown_tmp),
	    cmocka_unit_test(test_runtime_dir_tmp_fallback),
	    cmocka_unit_test_setup_teardown(test_runtime_dir_xdg_not_a_dir, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_runtime_dir_refusals, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
