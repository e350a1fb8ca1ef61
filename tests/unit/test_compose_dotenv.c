/* test_compose_dotenv.c - .env files as docker compose reads them: compose-go v2's dotenv
 * tests (godotenv_test.go, parser_test.go, godotenv_var_expansion_test.go) and fixtures,
 * ported case by case, plus line numbers in errors, CRLF and the quirks compose-go has. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/dotenv.h"

/* ---- environments ---------------------------------------------------------------------- */

struct var {
	const char *name, *value;
};

struct env_data {
	const struct var *vars;
	char looked_up[8][64]; /* names asked for and not found */
	size_t nmissed;
	char unset[8][64]; /* names passed to on_unset */
	size_t nunset;
};

static const char *lookup_vars(void *data, const char *name)
{
	struct env_data *d = data;

	for (const struct var *v = d->vars; v != NULL && v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v->value;
	if (d->nmissed < 8)
		snprintf(d->looked_up[d->nmissed], sizeof(d->looked_up[0]), "%s", name);
	d->nmissed++;
	return NULL;
}

static void record_unset(void *data, const char *name)
{
	struct env_data *d = data;

	if (d->nunset < 8)
		snprintf(d->unset[d->nunset], sizeof(d->unset[0]), "%s", name);
	d->nunset++;
}

static const struct var no_vars[] = {{NULL, NULL}};

struct kv {
	const char *key, *value;
};

/* The variables of a parse, or the error; vars NULL means "no environment at all". */
static int parse_text(const char *text, size_t len, const struct var *vars, struct compose_map *m,
		      struct px_error *err)
{
	struct env_data d = {vars, {{0}}, 0, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};

	return dotenv_parse("test.env", text, len, vars != NULL ? &env : NULL, m, err);
}

/* Check m holds want (n pairs), and nothing else when exact. */
static void check_map(const struct compose_map *m, const struct kv *want, size_t n, bool exact,
		      const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const struct compose_kv *kv = compose_map_find(m, want[i].key);

		const char *got = kv != NULL && kv->value != NULL ? kv->value : "(absent)";

		if (kv == NULL || kv->value == NULL || strcmp(kv->value, want[i].value) != 0)
			fail_msg("%s: %s = '%s', want '%s'", what, want[i].key, got, want[i].value);
	}
	if (exact && m->n != n)
		fail_msg("%s: %zu variables, want %zu", what, m->n, n);
}

static void expect_vars(const char *text, const struct var *vars, const struct kv *want, size_t n,
			bool exact, const char *what)
{
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;

	if (parse_text(text, strlen(text), vars, &m, &err) != 0)
		fail_msg("%s: unexpected error '%s'", what, px_error_msg(&err));
	check_map(&m, want, n, exact, what);
	compose_map_release(&m);
}

static void expect_error(const char *text, const struct var *vars, const char *want,
			 const char *what)
{
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;

	if (parse_text(text, strlen(text), vars, &m, &err) != -1)
		fail_msg("%s: parsed, want error '%s'", what, want);
	if (strcmp(px_error_msg(&err), want) != 0)
		fail_msg("%s: error '%s', want '%s'", what, px_error_msg(&err), want);
	assert_int_equal(m.n, 0); /* out is untouched on failure */
	px_error_clear(&err);
	compose_map_release(&m);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *fixture(const char *name)
{
	const char *root = getenv("PRISYNC_SOURCE_DIR");
	char *p;

	xasprintf(&p, "%s/tests/data/compose/dotenv/%s", root != NULL ? root : ".", name);
	return p;
}

static void expect_file(const char *name, const struct var *vars, const struct kv *want, size_t n,
			bool exact)
{
	struct env_data d = {vars, {{0}}, 0, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;
	char *path = fixture(name);

	if (dotenv_load_file(path, &env, &m, &err) != 0)
		fail_msg("%s: unexpected error '%s'", name, px_error_msg(&err));
	check_map(&m, want, n, exact, name);
	compose_map_release(&m);
	free(path);
}

/* ---- godotenv_test.go: fixtures ---------------------------------------------------------- */

/* TestReadPlainEnv (the map holds exactly these) and TestLoadPlainEnv */
static void test_plain_env(void **state)
{
	static const struct kv want[] = {
	    {"OPTION_A", "1"}, {"OPTION_B", "2"}, {"OPTION_C", "3"}, {"OPTION_D", "4"},
	    {"OPTION_E", "5"}, {"OPTION_F", ""},  {"OPTION_G", ""},  {"OPTION_H", "my string"},
	};

	(void)state;
	expect_file("plain.env", no_vars, want, N(want), true);
}

/* TestLoadExportedEnv */
static void test_exported_env(void **state)
{
	static const struct kv want[] = {{"OPTION_A", "2"}, {"OPTION_B", "\\n"}};

	(void)state;
	expect_file("exported.env", no_vars, want, N(want), true);
}

/* TestLoadEqualsEnv */
static void test_equals_env(void **state)
{
	static const struct kv want[] = {
	    {"OPTION_A", "postgres://localhost:5432/database?sslmode=disable"}};

	(void)state;
	expect_file("equals.env", no_vars, want, N(want), true);
}

/* TestLoadQuotedEnv */
static void test_quoted_env(void **state)
{
	static const struct kv want[] = {
	    {"OPTION_A", "1"},
	    {"OPTION_B", "2"},
	    {"OPTION_C", ""},
	    {"OPTION_D", "\\n"},
	    {"OPTION_E", "1"},
	    {"OPTION_F", "2"},
	    {"OPTION_G", ""},
	    {"OPTION_H", "\n"},
	    {"OPTION_I", "echo 'asd'"},
	    {"OPTION_J", "first line\nsecond line\nthird line\nand so on"},
	    {"OPTION_Z", "last value"},
	};

	(void)state;
	expect_file("quoted.env", no_vars, want, N(want), true);
}

/* TestLoadUnquotedEnv */
static void test_unquoted_env(void **state)
{
	static const struct kv want[] = {
	    {"OPTION_A", "some quoted phrase"},
	    {"OPTION_B", "first one with an unquoted phrase"},
	    {"OPTION_C", "then another one with an unquoted phrase"},
	    {"OPTION_D", "then another one with an unquoted phrase special \xc3\xa8 char"},
	    {"OPTION_E", "then another one quoted phrase"},
	};

	(void)state;
	expect_file("unquoted.env", no_vars, want, N(want), true);
}

/* TestSubstitutions, TestSubstitutionsWithEnvFilePrecedence,
 * TestSubstitutionsWithEnvFileDefaultValuePrecedence,
 * TestSubstitutionsWithUnsetVarEnvFileDefaultValuePrecedence: the environment is asked
 * before the keys the file defined earlier (compose-go's ExpandVariables order). */
static void test_substitutions(void **state)
{
	static const struct var env5[] = {{"OPTION_A", "5"}, {NULL, NULL}};
	static const struct kv plain[] = {{"OPTION_A", "1"},
					  {"OPTION_B", "1"},
					  {"OPTION_C", "1"},
					  {"OPTION_D", "1_1"},
					  {"OPTION_E", ""}};
	static const struct kv env_wins[] = {{"OPTION_A", "1"},
					     {"OPTION_B", "5"},
					     {"OPTION_C", "5"},
					     {"OPTION_D", "5_5"},
					     {"OPTION_E", ""}};
	static const struct kv dflt_env[] = {{"OPTION_A", "5"},
					     {"OPTION_B", "5"},
					     {"OPTION_C", "5"},
					     {"OPTION_D", "5_5"},
					     {"OPTION_E", ""}};

	(void)state;
	expect_file("substitutions.env", no_vars, plain, N(plain), true);
	expect_file("substitutions.env", env5, env_wins, N(env_wins), true);
	expect_file("substitutions-default.env", env5, dflt_env, N(dflt_env), true);
	expect_file("substitutions-default.env", no_vars, plain, N(plain), true);
}

/* TestInheritedEnvVariableSameSize, TestInheritedEnvVariableSingleVar,
 * TestInheritedEnvVariableNotFound, TestInheritedEnvVariableNotFoundWithLookup */
static void test_inherited(void **state)
{
	static const struct var osenv[] = {{"VAR_TO_BE_LOADED_FROM_OS_ENV", "SOME_RANDOM_VALUE"},
					   {NULL, NULL}};
	static const struct kv multi[] = {
	    {"VAR_TO_BE_LOADED_FROM_OS_ENV", "SOME_RANDOM_VALUE"}, {"foo", "bar"}, {"bar", "baz"}};
	static const struct kv not_found_multi[] = {{"FOO", "bar"}, {"BAR", "baz"}};
	struct env_data d = {no_vars, {{0}}, 0, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;
	char *path = fixture("inherited-not-found.env");

	(void)state;
	expect_file("inherited-multi-var.env", osenv, multi, N(multi), true);
	expect_file("inherited-single-var.env", osenv, multi, 1, true);
	expect_file("inherited-not-found-multi-var.env", no_vars, not_found_multi,
		    N(not_found_multi), true);

	/* not found: undefined, no error, and the lookup was asked for it */
	assert_int_equal(dotenv_load_file(path, &env, &m, &err), 0);
	assert_int_equal(m.n, 0);
	assert_null(compose_map_find(&m, "VARIABLE_NOT_FOUND"));
	assert_int_equal(d.nmissed, 1);
	assert_string_equal(d.looked_up[0], "VARIABLE_NOT_FOUND");
	assert_int_equal(d.nunset, 0); /* a bare KEY is no interpolation: no warning */
	free(path);
}

/* TestUTF8BOM */
static void test_utf8_bom(void **state)
{
	static const struct kv want[] = {{"OPTION_A", "1"},
					 {"OPTION_B", "2"},
					 {"OPTION_C", "3"},
					 {"OPTION_D", "4"},
					 {"OPTION_E", "5"}};

	(void)state;
	expect_file("utf8-bom.env", no_vars, want, N(want), true);
}

/* TestDash */
static void test_dash(void **state)
{
	static const struct kv want[] = {{"VAR-WITH-DASHES", "dashes"},
					 {"VAR.WITH.DOTS", "dots"},
					 {"VAR_WITH_UNDERSCORES", "underscores"}};

	(void)state;
	expect_file("special.env", no_vars, want, N(want), true);
}

/* TestErrorParsing, TestLoadFileNotFound, TestErrorReadDirectory / TestGetEnvFromFile */
static void test_file_errors(void **state)
{
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;
	char *path = fixture("invalid1.env"), *want;

	(void)state;
	assert_int_equal(dotenv_load_file(path, NULL, &m, &err), -1);
	xasprintf(&want, "%s:7: key cannot contain a space", path);
	assert_string_equal(px_error_msg(&err), want);
	free(want);
	free(path);
	px_error_clear(&err);

	path = fixture("somefilethatwillneverexistever.env");
	assert_int_equal(dotenv_load_file(path, NULL, &m, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(px_error_msg(&err), "somefilethatwillneverexistever.env"));
	free(path);
	px_error_clear(&err);

	path = fixture("");
	assert_int_equal(dotenv_load_file(path, NULL, &m, &err), -1);
	assert_int_equal(err.errnum, EISDIR);
	free(path);
	px_error_clear(&err);
	assert_int_equal(m.n, 0);
}

/* ---- godotenv_test.go: inline inputs ------------------------------------------------------ */

/* TestParse */
static void test_parse(void **state)
{
	static const struct kv want[] = {{"ONE", "1"}, {"TWO", "2"}, {"THREE", "3"}};

	(void)state;
	expect_vars("ONE=1\nTWO='2'\nTHREE = \"3\"", no_vars, want, N(want), true, "TestParse");
}

/* TestExpanding */
static const struct {
	const char *name, *input;
	struct kv want[2];
	size_t n;
} expanding_cases[] = {
    {"expands variables found in values",
     "FOO=test\nBAR=$FOO",
     {{"FOO", "test"}, {"BAR", "test"}},
     2},
    {"parses variables wrapped in brackets",
     "FOO=test\nBAR=${FOO}bar",
     {{"FOO", "test"}, {"BAR", "testbar"}},
     2},
    {"expands undefined variables to an empty string", "BAR=$FOO", {{"BAR", ""}}, 1},
    {"expands variables in double quoted strings",
     "FOO=test\nBAR=\"quote $FOO\"",
     {{"FOO", "test"}, {"BAR", "quote test"}},
     2},
    {"does not expand variables in single quoted strings",
     "BAR='quote $FOO'",
     {{"BAR", "quote $FOO"}},
     1},
    {"does not expand escaped variables 1", "FOO=\"foo\\$BAR\"", {{"FOO", "foo$BAR"}}, 1},
    {"does not expand escaped variables 2", "FOO=\"foo\\${BAR}\"", {{"FOO", "foo${BAR}"}}, 1},
    {"does not expand escaped variables 3",
     "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
     {{"FOO", "test"}, {"BAR", "foo${FOO} test"}},
     2},
};

static void test_expanding(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(expanding_cases); i++)
		expect_vars(expanding_cases[i].input, no_vars, expanding_cases[i].want,
			    expanding_cases[i].n, true, expanding_cases[i].name);
}

/* TestVariableStringValueSeparator */
static void test_value_separator(void **state)
{
	static const struct kv want[] = {
	    {"TEST_URLS",
	     "stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443"}};

	(void)state;
	expect_vars("TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\n"
		    "stratum+tcp://stratum.antpool.com:443\"",
		    no_vars, want, N(want), true, "TestVariableStringValueSeparator");
}

/* TestParsing: parseAndCompare(line, key, value) */
static const struct {
	const char *line, *key, *value;
} parsing_cases[] = {
    /* unquoted values */
    {"FOO=bar", "FOO", "bar"},
    /* parses values with spaces around equal sign */
    {"FOO =bar", "FOO", "bar"},
    {"FOO= bar", "FOO", "bar"},
    /* parses double quoted values */
    {"FOO=\"bar\"", "FOO", "bar"},
    /* parses single quoted values */
    {"FOO='bar'", "FOO", "bar"},
    /* parses escaped double quotes */
    {"FOO=\"escaped\\\"bar\"", "FOO", "escaped\"bar"},
    {"FOO=\"\\\"quoted\\\"\"", "FOO", "\"quoted\""},
    /* parses single quotes inside double quotes */
    {"FOO=\"'d'\"", "FOO", "'d'"},
    /* parses yaml style options */
    {"OPTION_A: 1", "OPTION_A", "1"},
    /* parses yaml values with equal signs */
    {"OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"},
    /* parses non-yaml options with colons */
    {"OPTION_A=1:B", "OPTION_A", "1:B"},
    /* parses export keyword */
    {"export OPTION_A=2", "OPTION_A", "2"},
    {"export OPTION_B='\\n'", "OPTION_B", "\\n"},
    {"export exportFoo=2", "exportFoo", "2"},
    {"exportFOO=2", "exportFOO", "2"},
    {"export_FOO =2", "export_FOO", "2"},
    {"export.FOO= 2", "export.FOO", "2"},
    {"export\tOPTION_A=2", "OPTION_A", "2"},
    {"  export OPTION_A=2", "OPTION_A", "2"},
    {"\texport OPTION_A=2", "OPTION_A", "2"},
    {"export OPTION_A=\"export A\"", "OPTION_A", "export A"},
    /* expands newlines in quoted strings */
    {"FOO=\"bar\\nbaz\"", "FOO", "bar\nbaz"},
    {"FOO=a\\tb", "FOO", "a\\tb"},
    {"FOO=\"a\\tb\"", "FOO", "a\tb"},
    /* various shell escape sequences */
    {"KEY=\"Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z\"", "KEY", "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ"},
    /* parses variables with "." in the name */
    {"FOO.BAR=foobar", "FOO.BAR", "foobar"},
    /* parses variables with several "=" in the value */
    {"FOO=foobar=", "FOO", "foobar="},
    /* strips unquoted values */
    {"FOO=bar ", "FOO", "bar"},
    /* ignores inline comments */
    {"FOO=bar # this is foo", "FOO", "bar"},
    {"FOO=bar #this is foo", "FOO", "bar"},
    {"FOO=bar #", "FOO", "bar"},
    {"FOO=123#not-an-inline-comment", "FOO", "123#not-an-inline-comment"},
    /* allows # in quoted value */
    {"FOO=\"bar#baz\"", "FOO", "bar#baz"},
    {"FOO=\"bar#baz\"#", "FOO", "bar#baz"},
    {"FOO=\"bar#baz\" # comment", "FOO", "bar#baz"},
    {"FOO='bar#baz' # comment", "FOO", "bar#baz"},
    {"FOO=\"bar#baz#bang\" # comment", "FOO", "bar#baz#bang"},
    /* parses # in quoted values */
    {"FOO=\"ba#r\"", "FOO", "ba#r"},
    {"FOO='ba#r'", "FOO", "ba#r"},
    /* newlines and backslashes should be escaped */
    {"FOO=\"bar\\n\\ b\\az\"", "FOO", "bar\n\\ b\az"},
    {"FOO=\"bar\\\\\\n\\ b\\az\"", "FOO", "bar\\\n\\ b\az"},
    {"FOO=\"bar\\\\r\\ b\\az\"", "FOO", "bar\\r\\ b\az"},
    {"FOO=\"bar\\nbaz\\\\\"", "FOO", "bar\nbaz\\"},
    {"=\"value\"", "", "value"},
    /* leading whitespace should be ignored */
    {" KEY =value", "KEY", "value"},
    {"   KEY=value", "KEY", "value"},
    {"\tKEY=value", "KEY", "value"},
    /* XSI-echo style octal escapes are expanded */
    {"KEY=\"\\0123\"", "KEY", "S"},
    /* non-XSI/POSIX escapes are ignored */
    {"KEY=\"\\x07\"", "KEY", "\\x07"},
    {"KEY=\"\\u12e4\"", "KEY", "\\u12e4"},
    {"KEY=\"\\U00101234\"", "KEY", "\\U00101234"},
};

static void test_parsing(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(parsing_cases); i++) {
		struct kv want = {parsing_cases[i].key, parsing_cases[i].value};

		expect_vars(parsing_cases[i].line, no_vars, &want, 1, true, parsing_cases[i].line);
	}
	/* throws an error if line format is incorrect */
	expect_error("lol$wut", no_vars,
		     "test.env:1: unexpected character \"$\" in variable name \"lol$wut\"",
		     "lol$wut");
}

/* TestUnterminatedQuotes */
static void test_unterminated_quotes(void **state)
{
	static const char *const cases[] = {
	    "KEY=\"", "KEY=\"value", "KEY=\"value\\\"", "KEY=\"value'",
	    "KEY='",  "KEY='value",  "KEY='value\\'",   "KEY='value\"",
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		char *want;

		xasprintf(&want, "test.env:1: unterminated quoted value %s", cases[i] + 4);
		expect_error(cases[i], no_vars, want, cases[i]);
		free(want);
	}
}

/* TestLinesToIgnore: nothing to define; the last one is a statement */
static void test_lines_to_ignore(void **state)
{
	static const char *const ignored[] = {"\n", "\r\n", "\t\t ", "# Comment", "\t # comment"};
	static const struct kv b = {"OPTION_B", "\\n"};

	(void)state;
	for (size_t i = 0; i < N(ignored); i++)
		expect_vars(ignored[i], no_vars, NULL, 0, true, ignored[i]);
	expect_vars("export OPTION_B='\\n'", no_vars, &b, 1, true, "non-ignored value");
}

/* TestExpandingEnvironmentWithLookup */
static void test_expanding_with_lookup(void **state)
{
	static const struct var env[] = {{"ME", "YES"}, {NULL, NULL}};
	static const struct kv want = {"TEST", "YES"};

	(void)state;
	expect_vars("TEST=$ME", env, &want, 1, true, "TEST=$ME");
}

/* ---- parser_test.go ---------------------------------------------------------------------- */

/* TestParseBytes */
static void test_parse_bytes(void **state)
{
	static const struct kv want[] = {
	    {"a", "b"},
	    {"a[1]", "c"},
	    {"a.propertyKey", "d"},
	    {"\xc3\xa1rv\xc3\xadzt\xc5\xb1r\xc5\x91-"
	     "T\xc3\x9cK\xc3\x96RF\xc3\x9aR\xc3\x93G\xc3\x89P",
	     "\xc3\x81RV\xc3\x8dZT\xc5\xb0R\xc5\x90-"
	     "t\xc3\xbck\xc3\xb6rf\xc3\xbar\xc3\xb3g\xc3\xa9p"},
	};

	(void)state;
	expect_vars(
	    "\na=b\na[1]=c\na.propertyKey=d\n"
	    "\xc3\xa1rv\xc3\xadzt\xc5\xb1r\xc5\x91-T\xc3\x9cK\xc3\x96RF\xc3\x9aR\xc3\x93G\xc3\x89P="
	    "\xc3\x81RV\xc3\x8dZT\xc5\xb0R\xc5\x90-"
	    "t\xc3\xbck\xc3\xb6rf\xc3\xbar\xc3\xb3g\xc3\xa9p\n",
	    no_vars, want, N(want), true, "TestParseBytes");
}

/* TestParseVariable */
static void test_parse_variable(void **state)
{
	(void)state;
	expect_error(
	    "%!(EXTRA string)=foo", no_vars,
	    "test.env:1: unexpected character \"%\" in variable name \"%!(EXTRA string)=foo\"",
	    "TestParseVariable");
}

/* TestMemoryExplosion: 1000 lines, 1000 variables; and no quadratic blow-up */
static void test_many_lines(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	for (int i = 0; i < 1000; i++)
		px_buf_addf(&b, "%sKEY%d=VALUE%d", i ? "\n" : "", i, i);
	assert_int_equal(parse_text(px_buf_cstr(&b), b.len, no_vars, &m, &err), 0);
	assert_int_equal(m.n, 1000);
	assert_string_equal(compose_map_get(&m, "KEY999"), "VALUE999");
	assert_string_equal(m.v[0].key, "KEY0"); /* file order */
	compose_map_release(&m);

	/* a large file into a map that has entries already: linear, replaced in place */
	px_buf_reset(&b);
	for (int i = 0; i < 60000; i++)
		px_buf_addf(&b, "K%d=%d\n", i % 50000, i);
	compose_map_set(&m, "FIRST", "f");
	compose_map_set(&m, "K7", "old");
	assert_int_equal(parse_text(px_buf_cstr(&b), b.len, no_vars, &m, &err), 0);
	assert_int_equal(m.n, 50001);
	assert_string_equal(m.v[0].key, "FIRST");
	assert_string_equal(m.v[1].key, "K7");
	assert_string_equal(m.v[1].value, "50007");
	assert_string_equal(m.v[2].key, "K0");
	assert_string_equal(compose_map_get(&m, "K49999"), "49999");
	compose_map_release(&m);
	px_buf_release(&b);
}

/* ---- godotenv_var_expansion_test.go -------------------------------------------------------
 * expandVariables(input, envMap, notFoundLookup) with envMap {EMPTY_VAR: "", TEST_VAR:
 * "Test Value"}: here envMap is the file's earlier keys and the environment is empty. */
#define EXPANSION_ENVMAP "EMPTY_VAR=\nTEST_VAR=Test Value\n"

static const struct {
	const char *value, *want, *err;
} expansion_cases[] = {
    /* TestExpandIfEmptyOrUnset */
    {"${UNSET_VAR:-Default Value}", "Default Value", NULL},
    {"${EMPTY_VAR:-Default Value}", "Default Value", NULL},
    {"${TEST_VAR:-Default Value}", "Test Value", NULL},
    /* TestExpandIfUnset */
    {"${UNSET_VAR-Default Value}", "Default Value", NULL},
    {"${EMPTY_VAR-Default Value}", "", NULL},
    {"${TEST_VAR-Default Value}", "Test Value", NULL},
    /* TestErrorIfEmptyOrUnset */
    {"${UNSET_VAR:?Test error}", NULL,
     "required variable UNSET_VAR is missing a value: Test error"},
    {"${EMPTY_VAR:?Test error}", NULL,
     "required variable EMPTY_VAR is missing a value: Test error"},
    {"${TEST_VAR:?Default Value}", "Test Value", NULL},
    /* TestErrorIfUnset */
    {"${UNSET_VAR?Test error}", NULL, "required variable UNSET_VAR is missing a value: Test error"},
    {"${EMPTY_VAR?Test error}", "", NULL},
    {"${TEST_VAR?Default Value}", "Test Value", NULL},
};

static void test_var_expansion(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(expansion_cases); i++) {
		char *text, *err;
		struct kv want[] = {
		    {"EMPTY_VAR", ""}, {"TEST_VAR", "Test Value"}, {"RESULT", NULL}};

		xasprintf(&text, EXPANSION_ENVMAP "RESULT=%s", expansion_cases[i].value);
		if (expansion_cases[i].want != NULL) {
			want[2].value = expansion_cases[i].want;
			expect_vars(text, no_vars, want, 3, true, text);
		} else {
			xasprintf(&err, "test.env:3: %s", expansion_cases[i].err);
			expect_error(text, no_vars, err, text);
			free(err);
		}
		free(text);
	}
}

/* ---- beyond compose-go's tests ----------------------------------------------------------- */

/* Errors name the line where the statement starts, counted across comments, blank lines and
 * multi-line quoted values. */
static void test_error_lines(void **state)
{
	(void)state;
	expect_error("# c\n\nA=1\nB='x\ny'\nC=\"z\n\nw\"\nBAD KEY=1\n", no_vars,
		     "test.env:9: key cannot contain a space", "line after multi-line values");
	expect_error("BARE\nKEYS \n\nBAD KEY=1\n", no_vars,
		     "test.env:4: key cannot contain a space", "lines after bare keys");
	expect_error("A=1\r\nB=2\r\n\r\nC=\"open\r\nD=4\r\n", no_vars,
		     "test.env:4: unterminated quoted value \"open\r", "unterminated at its line");
	expect_error("A=1\nB=${\n", no_vars, "test.env:2: invalid interpolation format for \"${\"",
		     "interpolation error");
	expect_error("A=1\n\nB=\"${X:?need X}\"\n", no_vars,
		     "test.env:3: required variable X is missing a value: need X", "required");
	expect_error("A=1\nK\xe2\x82\xac=1\n", no_vars,
		     "test.env:2: unexpected character \"\xe2\x82\xac\" in variable name "
		     "\"K\xe2\x82\xac=1\"",
		     "a symbol is no letter");
	expect_error(
	    "K\xff=1\n", no_vars,
	    "test.env:1: unexpected character \"\xef\xbf\xbd\" in variable name \"K\\xff=1\"",
	    "invalid UTF-8 in a key");
	expect_error("export   ", no_vars, "test.env:1: zero length string", "export alone");
	expect_error("A B\n", no_vars, "test.env:1: key cannot contain a space", "bare key, space");

	/* a NUL byte, which a C string cannot carry */
	{
		static const char nul[] = "A=1\nB=2\0C=3\n";
		struct compose_map m = {NULL, 0};
		struct px_error err = PX_ERROR_INIT;

		assert_int_equal(parse_text(nul, sizeof(nul) - 1, no_vars, &m, &err), -1);
		assert_string_equal(px_error_msg(&err), "test.env:2: unexpected NUL byte");
		assert_int_equal(m.n, 0);
		px_error_clear(&err);
	}
}

static void test_crlf_and_blanks(void **state)
{
	static const struct kv want[] = {{"A", "1"}, {"B", "two words"}, {"C", "x\r\ny"},
					 {"D", "q"}, {"E", "v"},         {"F", ""}};

	(void)state;
	expect_vars("A=1\r\nB = two words  \r\n# comment\r\nC=\"x\r\ny\"\r\n  D='q'  \r\n"
		    "export E=v\r\nF=\r\n",
		    no_vars, want, N(want), true, "CRLF");
}

static void test_quoting_details(void **state)
{
	static const struct kv want[] = {
	    {"SQ", "it's $HOME\\n"}, /* single quotes: literal, \' does not close */
	    {"DQ", "a\"b\\c$"},      /* \" \\ \$ */
	    {"OCT", "\xc3\xbf|\\0400|\\019|\\0|\\01|\\c"}, /* \0377 is U+00FF, UTF-8 encoded */
	    {"ML", "one\n  two"},
	    {"HASH", "a#b"},
	    {"TAB", "x\t#y"},
	};

	(void)state;
	expect_vars("SQ='it\\'s $HOME\\n'\n"
		    "DQ=\"a\\\"b\\\\c\\$\"\n"
		    "OCT=\"\\0377|\\0400|\\019|\\0|\\01|\\c\"\n"
		    "ML='one\n  two'\n"
		    "HASH=a#b\n"
		    "TAB=x\t#y\n",
		    no_vars, want, N(want), true, "quoting");
}

/* compose-go quirks kept on purpose: a last line without '=' is the value of the empty
 * key; "export" with a line break after it starts nothing. */
static void test_quirks(void **state)
{
	static const struct kv last[] = {{"A", "1"}, {"", "TRAILING"}};
	static const struct kv after_quote[] = {{"A", "x"}, {"", "junk"}};
	static const struct kv exp[] = {{"B", "2"}};

	(void)state;
	expect_vars("A=1\nTRAILING", no_vars, last, N(last), true, "no newline at the end");
	expect_vars("A=\"x\"junk", no_vars, after_quote, N(after_quote), true, "text after quote");
	expect_vars("export\nB=2\n", no_vars, exp, N(exp), true, "export newline");
}

/* ${VAR} in values: the environment first, then this file's earlier keys; the keys of
 * out (earlier files) are not seen unless env shows them; unset goes to on_unset. */
static void test_lookup_order_and_unset(void **state)
{
	static const struct var env[] = {{"A", "from-env"}, {NULL, NULL}};
	struct env_data d = {env, {{0}}, 0, {{0}}, 0};
	struct interp_env ienv = {lookup_vars, &d, record_unset};
	struct compose_map m = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;
	const char *text = "A=file\nB=$A\nC=${B}-${NOPE}\nD='$NOPE2'\nA\n";

	(void)state;
	compose_map_set(&m, "EARLIER", "e");
	compose_map_set(&m, "B", "old");
	assert_int_equal(dotenv_parse("x.env", text, strlen(text), &ienv, &m, &err), 0);
	/* B replaced in place, the new keys appended in file order */
	assert_int_equal(m.n, 5);
	assert_string_equal(m.v[0].key, "EARLIER");
	assert_string_equal(m.v[1].key, "B");
	assert_string_equal(m.v[1].value, "from-env");
	assert_string_equal(m.v[2].key, "A");
	assert_string_equal(m.v[2].value, "from-env"); /* the bare A at the end took env's */
	assert_string_equal(m.v[3].key, "C");
	assert_string_equal(m.v[3].value, "from-env-");
	assert_int_equal(d.nunset, 1);
	assert_string_equal(d.unset[0], "NOPE");
	assert_string_equal(m.v[4].key, "D");
	assert_string_equal(m.v[4].value, "$NOPE2");
	compose_map_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_env),
	    cmocka_unit_test(test_exported_env),
	    cmocka_unit_test(test_equals_env),
	    cmocka_unit_test(test_quoted_env),
	    cmocka_unit_test(test_unquoted_env),
	    cmocka_unit_test(test_substitutions),
	    cmocka_unit_test(test_inherited),
	    cmocka_unit_test(test_utf8_bom),
	    cmocka_unit_test(test_dash),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_expanding),
	    cmocka_unit_test(test_value_separator),
	    cmocka_unit_test(test_parsing),
	    cmocka_unit_test(test_unterminated_quotes),
	    cmocka_unit_test(test_lines_to_ignore),
	    cmocka_unit_test(test_expanding_with_lookup),
	    cmocka_unit_test(test_parse_bytes),
	    cmocka_unit_test(test_parse_variable),
	    cmocka_unit_test(test_many_lines),
	    cmocka_unit_test(test_var_expansion),
	    cmocka_unit_test(test_error_lines),
	    cmocka_unit_test(test_crlf_and_blanks),
	    cmocka_unit_test(test_quoting_details),
	    cmocka_unit_test(test_quirks),
	    cmocka_unit_test(test_lookup_order_and_unset),
	};

	return cmocka_run_group_tests_name("compose_dotenv", tests, NULL, NULL);
}
