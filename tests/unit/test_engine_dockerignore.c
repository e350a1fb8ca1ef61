/* test_engine_dockerignore.c - unit tests for engine/dockerignore.c: the test tables of
 * github.com/moby/patternmatcher (patternmatcher_test.go: TestMatches, TestMatch,
 * TestCompile, TestClean*, the folder-exclusion tests; ignorefile/ignorefile_test.go:
 * TestReadAll) ported as they are, plus the cases where this port is stricter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "base/xmalloc.h"
#include "engine/dockerignore.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct engine_ignore *compile_or_fail(const char *const *patterns)
{
	struct engine_ignore *m = NULL;
	struct px_error err = PX_ERROR_INIT;

	if (engine_ignore_new(&m, patterns, &err) < 0)
		fail_msg("patterns '%s'...: %s", patterns[0], px_error_msg(&err));
	return m;
}

/* moby's MatchesUsingParentResults check: the parents first, each with its parent's
 * results, then the path itself. */
static bool matches_walking(const struct engine_ignore *m, const char *text)
{
	size_t n = engine_ignore_count(m);
	bool *parent = NULL, *cur = xcalloc(n + 1, sizeof(bool));
	const char *slash = strrchr(text, '/');
	char *raw = xstrndup(text, slash != NULL ? (size_t)(slash - text) : 0);
	/* Go's filepath.Dir: "a/b/" -> "a/b" (px_path_dirname would say "a") */
	char *dir = px_path_clean(raw);
	bool res;

	free(raw);

	if (strcmp(dir, ".") != 0) {
		/* "a/b/c/" -> "a", "a/b", "a/b/c": every prefix of the parent at a '/' */
		size_t len = strlen(dir);

		for (size_t i = 1; i <= len; i++) {
			if (i < len && dir[i] != '/')
				continue;
			char *prefix = xstrndup(dir, i);

			engine_ignore_matches_parents(m, prefix, parent, cur);
			free(prefix);
			free(parent);
			parent = cur;
			cur = xcalloc(n + 1, sizeof(bool));
		}
	}
	res = engine_ignore_matches_parents(m, text, parent, cur);
	free(parent);
	free(cur);
	free(dir);
	return res;
}

/*
 * TestMatches
 */

enum pass { FAIL, EXACT, INEXACT };

static const struct {
	const char *pattern, *text;
	enum pass pass;
} matches_tests[] = {
    {"**", "file", EXACT},
    {"**", "file/", EXACT},
    {"**/", "file", EXACT}, /* weird one */
    {"**/", "file/", EXACT},
    {"**", "/", EXACT},
    {"**/", "/", EXACT},
    {"**", "dir/file", EXACT},
    {"**/", "dir/file", EXACT},
    {"**", "dir/file/", EXACT},
    {"**/", "dir/file/", EXACT},
    {"**/**", "dir/file", EXACT},
    {"**/**", "dir/file/", EXACT},
    {"dir/**", "dir/file", EXACT},
    {"dir/**", "dir/file/", EXACT},
    {"dir/**", "dir/dir2/file", EXACT},
    {"dir/**", "dir/dir2/file/", EXACT},
    {"**/dir", "dir", EXACT},
    {"**/dir", "dir/file", INEXACT},
    {"**/dir2/*", "dir/dir2/file", EXACT},
    {"**/dir2/*", "dir/dir2/file/", INEXACT},
    {"**/dir2/**", "dir/dir2/dir3/file", EXACT},
    {"**/dir2/**", "dir/dir2/dir3/file/", EXACT},
    {"**file", "file", EXACT},
    {"**file", "dir/file", EXACT},
    {"**/file", "dir/file", EXACT},
    {"**file", "dir/dir/file", EXACT},
    {"**/file", "dir/dir/file", EXACT},
    {"**/file*", "dir/dir/file", EXACT},
    {"**/file*", "dir/dir/file.txt", EXACT},
    {"**/file*txt", "dir/dir/file.txt", EXACT},
    {"**/file*.txt", "dir/dir/file.txt", EXACT},
    {"**/file*.txt*", "dir/dir/file.txt", EXACT},
    {"**/**/*.txt", "dir/dir/file.txt", EXACT},
    {"**/**/*.txt2", "dir/dir/file.txt", FAIL},
    {"**/*.txt", "file.txt", EXACT},
    {"**/**/*.txt", "file.txt", EXACT},
    {"a**/*.txt", "a/file.txt", EXACT},
    {"a**/*.txt", "a/dir/file.txt", EXACT},
    {"a**/*.txt", "a/dir/dir/file.txt", EXACT},
    {"a/*.txt", "a/dir/file.txt", FAIL},
    {"a/*.txt", "a/file.txt", EXACT},
    {"a/*.txt**", "a/file.txt", EXACT},
    {"a[b-d]e", "ae", FAIL},
    {"a[b-d]e", "ace", EXACT},
    {"a[b-d]e", "aae", FAIL},
    {"a[^b-d]e", "aze", EXACT},
    {".*", ".foo", EXACT},
    {".*", "foo", FAIL},
    {"abc.def", "abcdef", FAIL},
    {"abc.def", "abc.def", EXACT},
    {"abc.def", "abcZdef", FAIL},
    {"abc?def", "abcZdef", EXACT},
    {"abc?def", "abcdef", FAIL},
    {"**/foo/bar", "foo/bar", EXACT},
    {"**/foo/bar", "dir/foo/bar", EXACT},
    {"**/foo/bar", "dir/dir2/foo/bar", EXACT},
    {"abc/**", "abc", FAIL},
    {"abc/**", "abc/def", EXACT},
    {"abc/**", "abc/def/ghi", EXACT},
    {"**/.foo", ".foo", EXACT},
    {"**/.foo", "bar.foo", FAIL},
    {"a(b)c/def", "a(b)c/def", EXACT},
    {"a(b)c/def", "a(b)c/xyz", FAIL},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", EXACT},
    {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT},
    /* the non-Windows additions */
    {"a\\\\", "a\\", EXACT},
    {"a\\*b", "a*b", EXACT},
};

static const struct {
	const char *patterns[4]; /* NULL-terminated */
	const char *text;
	enum pass pass;
} multi_tests[] = {
    {{"**", "!util/docker/web"}, "util/docker/web/foo", FAIL},
    {{"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo", EXACT},
    {{"**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"},
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     FAIL},
    {{"**", "!dist/*.whl"}, "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL},
};

static void test_matches_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(matches_tests); i++) {
		const char *pats[] = {matches_tests[i].pattern, NULL};
		struct engine_ignore *m = compile_or_fail(pats);
		const char *text = matches_tests[i].text;
		bool want_exact = matches_tests[i].pass == EXACT;
		bool want_any = matches_tests[i].pass != FAIL;

		if (engine_ignore_matches_exact(m, text) != want_exact)
			fail_msg("MatchesExact(pattern '%s', text '%s') != %d", pats[0], text,
				 want_exact);
		if (engine_ignore_matches_or_parent(m, text) != want_any)
			fail_msg("MatchesOrParentMatches(pattern '%s', text '%s') != %d", pats[0],
				 text, want_any);
		if (matches_walking(m, text) != want_any)
			fail_msg("MatchesUsingParentResults(pattern '%s', text '%s') != %d",
				 pats[0], text, want_any);
		if (engine_ignore_matches_parents(m, text, NULL, NULL) != want_any)
			fail_msg("MatchesUsingParentResults without context(pattern '%s', text "
				 "'%s') != %d",
				 pats[0], text, want_any);
		engine_ignore_free(m);
	}
	for (size_t i = 0; i < N(multi_tests); i++) {
		struct engine_ignore *m = compile_or_fail(multi_tests[i].patterns);
		const char *text = multi_tests[i].text;
		bool want = multi_tests[i].pass != FAIL;

		if (engine_ignore_matches_or_parent(m, text) != want ||
		    matches_walking(m, text) != want ||
		    engine_ignore_matches_parents(m, text, NULL, NULL) != want)
			fail_msg("multi-pattern case %zu, text '%s': want %d", i, text, want);
		engine_ignore_free(m);
	}
}

/*
 * TestMatch (Go's filepath.Match tests, through moby's package-level Matches)
 */

/* patternmatcher.MatchesOrParentMatches(file, patterns): 1, 0, or -1 for a bad pattern. */
static int match_patterns(const char *file, const char *const *patterns)
{
	struct engine_ignore *m = NULL;
	struct px_error err = PX_ERROR_INIT;
	char *clean;
	int rc;

	if (engine_ignore_new(&m, patterns, &err) < 0) {
		px_error_clear(&err);
		return -1;
	}
	clean = px_path_clean(file);
	/* "don't let them exclude everything, kind of silly" */
	rc = strcmp(clean, ".") == 0 ? 0 : engine_ignore_matches_or_parent(m, clean);
	free(clean);
	engine_ignore_free(m);
	return rc;
}

static void test_filepath_match_table(void **state)
{
	static const struct {
		const char *pattern, *s;
		int want; /* 1 match, 0 no match, -1 ErrBadPattern */
	} cases[] = {
	    {"abc", "abc", 1},
	    {"*", "abc", 1},
	    {"*c", "abc", 1},
	    {"a*", "a", 1},
	    {"a*", "abc", 1},
	    {"a*", "ab/c", 1},
	    {"a*/b", "abc/b", 1},
	    {"a*/b", "a/c/b", 0},
	    {"a*b*c*d*e*/f", "axbxcxdxe/f", 1},
	    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", 1},
	    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0},
	    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0},
	    {"a*b?c*x", "abxbbxdbxebxczzx", 1},
	    {"a*b?c*x", "abxbbxdbxebxczzy", 0},
	    {"ab[c]", "abc", 1},
	    {"ab[b-d]", "abc", 1},
	    {"ab[e-g]", "abc", 0},
	    {"ab[^c]", "abc", 0},
	    {"ab[^b-d]", "abc", 0},
	    {"ab[^e-g]", "abc", 1},
	    {"a\\*b", "a*b", 1},
	    {"a\\*b", "ab", 0},
	    {"a?b",
	     "a\xe2\x98\xba"
	     "b",
	     1}, /* a☺b */
	    {"a[^a]b",
	     "a\xe2\x98\xba"
	     "b",
	     1},
	    {"a???b",
	     "a\xe2\x98\xba"
	     "b",
	     0},
	    {"a[^a][^a][^a]b",
	     "a\xe2\x98\xba"
	     "b",
	     0},
	    {"[a-\xce\xb6]*", "\xce\xb1", 1}, /* [a-ζ]* vs α */
	    {"*[a-\xce\xb6]", "A", 0},
	    {"a?b", "a/b", 0},
	    {"a*b", "a/b", 0},
	    {"[\\]a]", "]", 1},
	    {"[\\-]", "-", 1},
	    {"[x\\-]", "x", 1},
	    {"[x\\-]", "-", 1},
	    {"[x\\-]", "z", 0},
	    {"[\\-x]", "x", 1},
	    {"[\\-x]", "-", 1},
	    {"[\\-x]", "a", 0},
	    {"[]a]", "]", -1},
	    {"[-]", "-", -1},
	    {"[x-]", "x", -1},
	    {"[x-]", "-", -1},
	    {"[x-]", "z", -1},
	    {"[-x]", "x", -1},
	    {"[-x]", "-", -1},
	    {"[-x]", "a", -1},
	    {"\\", "a", -1},
	    {"[a-b-c]", "a", -1},
	    {"[", "a", -1},
	    {"[^", "a", -1},
	    {"[^bc", "a", -1},
	    {"a[", "a", -1},
	    {"a[", "ab", -1},
	    {"*x", "xxx", 1},
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const char *pats[] = {cases[i].pattern, NULL};
		int got = match_patterns(cases[i].s, pats);

		if (got != cases[i].want)
			fail_msg("Match('%s', '%s') = %d, want %d", cases[i].pattern, cases[i].s,
				 got, cases[i].want);
	}
}

/* The simple cases at the top of patternmatcher_test.go. */
static void test_exclusion_order(void **state)
{
	static const struct {
		const char *file;
		const char *patterns[4]; /* NULL-terminated */
		int want;
	} cases[] = {
	    /* TestWildcardMatches, TestPatternMatches */
	    {"fileutils.go", {"*"}, 1},
	    {"fileutils.go", {"*.go"}, 1},
	    /* an exception before the pattern it would except does nothing */
	    {"fileutils.go", {"!fileutils.go", "*.go"}, 1},
	    /* a folder and an exception for a file in it, with and without '/' and '*' */
	    {"docs/README.md", {"docs", "!docs/README.md"}, 0},
	    {"docs/README.md", {"docs/", "!docs/README.md"}, 0},
	    {"docs/README.md", {"docs/*", "!docs/README.md"}, 0},
	    /* a pattern followed by an exception */
	    {"fileutils.go", {"*.go", "!fileutils.go"}, 0},
	    /* the context itself is never excluded */
	    {".", {"*.go"}, 0},
	    {"fileutils.go", {"!"}, -1},
	    {"/any/path/there", {NULL}, 0},
	    {"/any/path/there", {"["}, -1},
	    /* later patterns win: exclude, re-include, exclude again */
	    {"a/b.txt", {"a", "!a/*.txt", "a/b.*"}, 1},
	    {"a/c.txt", {"a", "!a/*.txt", "a/b.*"}, 0},
	    /* a leading "/" is cleaned away at read time, "." and ".." at compile time */
	    {"a/b", {"./a/x/../b"}, 1},
	    {"b", {"a/../b"}, 1},
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int got = match_patterns(cases[i].file, cases[i].patterns);

		if (got != cases[i].want)
			fail_msg("case %zu ('%s'): %d, want %d", i, cases[i].file, got,
				 cases[i].want);
	}
}

/*
 * TestCompile: the match type each pattern settles on
 */

static void test_compile_types(void **state)
{
	static const struct {
		const char *pattern;
		enum engine_ignore_type type;
	} cases[] = {
	    {"*", ENGINE_IGNORE_GLOB},
	    {"file*", ENGINE_IGNORE_GLOB},
	    {"*file", ENGINE_IGNORE_GLOB},
	    {"a*/b", ENGINE_IGNORE_GLOB},
	    {"**", ENGINE_IGNORE_SUFFIX},
	    {"**/**", ENGINE_IGNORE_GLOB},
	    {"dir/**", ENGINE_IGNORE_PREFIX},
	    {"**/dir", ENGINE_IGNORE_SUFFIX},
	    {"**/dir2/*", ENGINE_IGNORE_GLOB},
	    {"**/dir2/**", ENGINE_IGNORE_GLOB},
	    {"**file", ENGINE_IGNORE_SUFFIX},
	    {"**/file*txt", ENGINE_IGNORE_GLOB},
	    {"**/**/*.txt", ENGINE_IGNORE_GLOB},
	    {"a[b-d]e", ENGINE_IGNORE_GLOB},
	    {".*", ENGINE_IGNORE_GLOB},
	    {"abc.def", ENGINE_IGNORE_EXACT},
	    {"abc?def", ENGINE_IGNORE_GLOB},
	    {"**/foo/bar", ENGINE_IGNORE_SUFFIX},
	    {"a(b)c/def", ENGINE_IGNORE_EXACT},
	    {"a.|)$(}+{bc", ENGINE_IGNORE_EXACT},
	    {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", ENGINE_IGNORE_EXACT},
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const char *pats[] = {cases[i].pattern, NULL};
		struct engine_ignore *m = compile_or_fail(pats);

		if (engine_ignore_type(m, 0) != cases[i].type)
			fail_msg("pattern '%s': type %d, want %d", cases[i].pattern,
				 engine_ignore_type(m, 0), cases[i].type);
		engine_ignore_free(m);
	}
	/* the suffix test is literal: "**file" matches "xfile" too, unlike "**" + "/file" */
	assert_int_equal(match_patterns("dir/xfile", (const char *[]){"**file", NULL}), 1);
	assert_int_equal(match_patterns("dir/xfile", (const char *[]){"**/file", NULL}), 0);
}

/*
 * TestClean*
 */

static void test_clean_patterns(void **state)
{
	struct engine_ignore *m;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	m = compile_or_fail((const char *[]){"docs", "config", NULL});
	assert_int_equal(engine_ignore_count(m), 2);
	assert_false(engine_ignore_exclusions(m));
	engine_ignore_free(m);
	/* empty patterns are dropped */
	m = compile_or_fail((const char *[]){"docs", "config", "", "   ", NULL});
	assert_int_equal(engine_ignore_count(m), 2);
	engine_ignore_free(m);
	m = compile_or_fail((const char *[]){"docs", "!docs/README.md", NULL});
	assert_true(engine_ignore_exclusions(m));
	assert_true(engine_ignore_is_exclusion(m, 1));
	assert_string_equal(engine_ignore_pattern(m, 1), "docs/README.md");
	engine_ignore_free(m);
	/* leading and trailing spaces go before the '!' is looked at */
	m = compile_or_fail((const char *[]){"docs", "  !docs/README.md", NULL});
	assert_true(engine_ignore_exclusions(m));
	engine_ignore_free(m);
	m = compile_or_fail((const char *[]){"docs", "!docs/README.md  ", NULL});
	assert_true(engine_ignore_exclusions(m));
	assert_string_equal(engine_ignore_pattern(m, 1), "docs/README.md");
	engine_ignore_free(m);
	/* the pattern is cleaned: "docs/" is "docs", "a//b/./c/.." is "a/b" */
	m = compile_or_fail((const char *[]){"docs/", "a//b/./c/..", NULL});
	assert_string_equal(engine_ignore_pattern(m, 0), "docs");
	assert_string_equal(engine_ignore_pattern(m, 1), "a/b");
	engine_ignore_free(m);

	m = NULL;
	assert_int_equal(engine_ignore_new(&m, (const char *[]){"!", NULL}, &err), -1);
	assert_null(m);
	assert_string_equal(px_error_msg(&err), "illegal exclusion pattern '!'");
	px_error_clear(&err);
	assert_int_equal(engine_ignore_new(&m, (const char *[]){"ok", "a[", NULL}, &err), -1);
	assert_string_equal(px_error_msg(&err), "invalid pattern 'a[': unterminated '['");
	px_error_clear(&err);
	/* moby accepts this one at New and fails at the first match (moby/moby#52203,
	 * TestMatchesOrParentMatchesMalformedPatternDoesNotPanicOnRepeatedCall); we refuse it
	 * up front: either way the build stops on it */
	assert_int_equal(engine_ignore_new(&m, (const char *[]){"[Local-Only]/", NULL}, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "character range out of order"));
	px_error_clear(&err);
	engine_ignore_free(NULL);
}

/*
 * ignorefile.ReadAll
 */

static void assert_parsed(const char *text, size_t len, const char *const *want, size_t n)
{
	char **got = engine_ignore_parse(text, len);
	size_t i;

	for (i = 0; got[i] != NULL && i < n; i++) {
		if (strcmp(got[i], want[i]) != 0)
			fail_msg("line %zu: got '%s', want '%s'", i + 1, got[i], want[i]);
	}
	if (got[i] != NULL || i != n)
		fail_msg("got %zu or more patterns, want %zu", i, n);
	engine_ignore_strv_free(got);
}

static void test_read_all(void **state)
{
	static const char content[] = "test1\n/test2\n/a/file/here\n\nlastfile\n"
				      "# this is a comment\n! /inverted/abs/path\n!\n! ";
	static const char *const expected[] = {
	    "test1",       "test2", /* "/foo/bar" is treated as "foo/bar" */
	    "a/file/here",          /* likewise */
	    "lastfile",    "!inverted/abs/path",
	    "!",           "!",
	};
	static const char crlf[] = "\xEF\xBB\xBF"
				   "# bom, then a comment\r\n"
				   "  # not a comment: '#' only counts first\r\n"
				   "node_modules/ \r\n"
				   "\t./build/../dist//x\r\n"
				   "\xEF\xBB\xBF"
				   "second-bom\n"
				   "/";
	static const char *const crlf_want[] = {
	    "# not a comment: '#' only counts first",
	    "node_modules",
	    "dist/x",
	    "\xEF\xBB\xBF"
	    "second-bom", /* only the first line's BOM is dropped */
	    "/",
	};
	char **none;

	(void)state;
	assert_parsed(content, sizeof(content) - 1, expected, N(expected));
	assert_parsed(crlf, sizeof(crlf) - 1, crlf_want, N(crlf_want));
	none = engine_ignore_parse("", 0);
	assert_null(none[0]);
	engine_ignore_strv_free(none);
	engine_ignore_strv_free(NULL);
}

/* Pathological patterns stay fast: the matcher remembers where it failed. */
static void test_many_stars(void **state)
{
	char path[601];
	const char *pats[] = {"*a*a*a*a*a*a*a*a*a*a*a*a*b", "**/**/**/**/**/**/x", NULL};
	struct engine_ignore *m = compile_or_fail(pats);

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_false(engine_ignore_matches_exact(m, path));
	for (size_t i = 1; i < sizeof(path) - 1; i += 2)
		path[i] = '/';
	assert_false(engine_ignore_matches_exact(m, path));
	engine_ignore_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_table),   cmocka_unit_test(test_filepath_match_table),
	    cmocka_unit_test(test_exclusion_order), cmocka_unit_test(test_compile_types),
	    cmocka_unit_test(test_clean_patterns),  cmocka_unit_test(test_read_all),
	    cmocka_unit_test(test_many_stars),
	};

	return cmocka_run_group_tests_name("engine_dockerignore", tests, NULL, NULL);
}
