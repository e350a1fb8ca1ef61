/* test_compose_interp.c - compose variable interpolation: compose-go v2's published
 * template and interpolation test tables, ported pair by pair, plus the corners of its
 * regex-and-brace-counting algorithm, and interp_tree on node trees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose/interp.h"

/* ---- environments ---------------------------------------------------------------------- */

struct var {
	const char *name, *value;
};

struct env_data {
	const struct var *vars;
	char unset[16][32]; /* names passed to on_unset, in order */
	size_t nunset;
};

static const char *lookup_vars(void *data, const char *name)
{
	const struct env_data *d = data;

	for (const struct var *v = d->vars; v != NULL && v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v->value;
	return NULL;
}

static void record_unset(void *data, const char *name)
{
	struct env_data *d = data;

	if (d->nunset < 16)
		snprintf(d->unset[d->nunset], sizeof(d->unset[0]), "%s", name);
	d->nunset++;
}

/* compose-go template/template_test.go: var defaults */
static const struct var template_defaults[] = {
    {"FOO", "first"},
    {"BAR", ""},
    {"JSON", "{\"json\":2}"},
    {NULL, NULL},
};

/* compose-go interpolation/interpolation_test.go: var defaults */
static const struct var interpolation_defaults[] = {
    {"USER", "jenny"}, {"FOO", "bar"}, {"count", "5"}, {"REQUIRED", "true"}, {NULL, NULL},
};

static const struct var no_vars[] = {{NULL, NULL}};

/* A table row: the template, and either the result or the exact error. */
struct tcase {
	const char *in;
	const char *want; /* NULL: an error is expected */
	const char *err;
};

static void check_case(const struct var *vars, const struct tcase *c, const char *table, size_t i)
{
	struct env_data d = {vars, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};
	struct px_error err = PX_ERROR_INIT;
	char *out = (char *)"untouched";
	int ret = interp_string(c->in, &env, &out, &err);

	if (c->want != NULL) {
		if (ret != 0)
			fail_msg("%s[%zu] %s: unexpected error '%s'", table, i, c->in,
				 px_error_msg(&err));
		if (strcmp(out, c->want) != 0)
			fail_msg("%s[%zu] %s: got '%s', want '%s'", table, i, c->in, out, c->want);
		free(out);
	} else {
		if (ret != -1)
			fail_msg("%s[%zu] %s: got '%s', want error '%s'", table, i, c->in, out,
				 c->err);
		assert_null(out);
		if (strcmp(px_error_msg(&err), c->err) != 0)
			fail_msg("%s[%zu] %s: error '%s', want '%s'", table, i, c->in,
				 px_error_msg(&err), c->err);
	}
	px_error_clear(&err);
}

#define RUN_TABLE(vars, table)                                                                     \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < sizeof(table) / sizeof((table)[0]); i_++)                 \
			check_case((vars), &(table)[i_], #table, i_);                              \
	} while (0)

#define INVALID(t) "invalid interpolation format for \"" t "\""

/* ---- compose-go template/template_test.go, with template_defaults ------------------------ */

static const struct tcase template_cases[] = {
    /* TestEscaped */
    {"$${foo}", "${foo}", NULL},
    /* TestSubstituteNoMatch */
    {"foo", "foo", NULL},
    /* TestUnescaped */
    {"a $ string", "a $ string", NULL},
    {"^REGEX$", "^REGEX$", NULL},
    {"$}", "$}", NULL},
    {"$", "$", NULL},
    /* TestInvalid (compose-go checks "Invalid template"; the loader's wording is ours) */
    {"${", NULL, INVALID("${")},
    {"${}", NULL, INVALID("${}")},
    {"${ }", NULL, INVALID("${ }")},
    {"${ foo}", NULL, INVALID("${ foo}")},
    {"${foo }", NULL, INVALID("${foo }")},
    {"${foo!}", NULL, INVALID("${foo!}")},
    /* TestNonBraced (docker/compose#8601) */
    {"$FOO-bar", "first-bar", NULL},
    /* TestNoValueNoDefault */
    {"This ${missing} var", "This  var", NULL},
    {"This ${BAR} var", "This  var", NULL},
    /* TestValueNoDefault */
    {"This $FOO var", "This first var", NULL},
    {"This ${FOO} var", "This first var", NULL},
    /* TestNoValueWithDefault */
    {"ok ${missing:-def}", "ok def", NULL},
    {"ok ${missing-def}", "ok def", NULL},
    /* TestEmptyValueWithSoftDefault */
    {"ok ${BAR:-def}", "ok def", NULL},
    /* TestValueWithSoftDefault */
    {"ok ${FOO:-def}", "ok first", NULL},
    /* TestEmptyValueWithHardDefault */
    {"ok ${BAR-def}", "ok ", NULL},
    /* TestPresentValueWithUnset */
    {"ok ${UNSET_VAR:+presence_value}", "ok ", NULL},
    /* TestPresentValueWithUnset2 */
    {"ok ${UNSET_VAR+presence_value}", "ok ", NULL},
    /* TestPresentValueWithNonEmpty */
    {"ok ${FOO:+presence_value}", "ok presence_value", NULL},
    /* TestPresentValueAndNonEmptyWithNonEmpty */
    {"ok ${FOO+presence_value}", "ok presence_value", NULL},
    /* TestPresentValueWithSet */
    {"ok ${BAR+presence_value}", "ok presence_value", NULL},
    /* TestPresentValueAndNotEmptyWithSet */
    {"ok ${BAR:+presence_value}", "ok ", NULL},
    /* TestNonAlphanumericDefault */
    {"ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric", NULL},
    /* TestInterpolationExternalInterference */
    {"-ok ${BAR:-defaultValue}", "-ok defaultValue", NULL},
    {"+ok ${UNSET:-${BAR-defaultValue}}", "+ok ", NULL},
    {"-ok ${FOO:-defaultValue}", "-ok first", NULL},
    {":-ok ${UNSET-defaultValue}", ":-ok defaultValue", NULL},
    {":-ok ${BAR-defaultValue}", ":-ok ", NULL},
    {":?ok ${BAR-defaultValue}", ":?ok ", NULL},
    {":?ok ${BAR:-defaultValue}", ":?ok defaultValue", NULL},
    {":+ok ${BAR:-defaultValue}", ":+ok defaultValue", NULL},
    {"+ok ${BAR-defaultValue}", "+ok ", NULL},
    {"?ok ${BAR:-defaultValue}", "?ok defaultValue", NULL},
    /* TestDefaultsWithNestedExpansion */
    {"ok ${UNSET_VAR-$FOO}", "ok first", NULL},
    {"ok ${UNSET_VAR-${FOO}}", "ok first", NULL},
    {"ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first", NULL},
    {"ok ${BAR:-$FOO}", "ok first", NULL},
    {"ok ${BAR:-${FOO}}", "ok first", NULL},
    {"ok ${BAR:-${FOO} ${FOO}}", "ok first first", NULL},
    {"ok ${BAR+$FOO}", "ok first", NULL},
    {"ok ${BAR+$FOO ${FOO:+second}}", "ok first second", NULL},
    /* TestMandatoryVariableErrors */
    {"not ok ${UNSET_VAR:?Mandatory Variable Unset}", NULL,
     "required variable UNSET_VAR is missing a value: Mandatory Variable Unset"},
    {"not ok ${BAR:?Mandatory Variable Empty}", NULL,
     "required variable BAR is missing a value: Mandatory Variable Empty"},
    {"not ok ${UNSET_VAR:?}", NULL, "required variable UNSET_VAR is missing a value"},
    {"not ok ${UNSET_VAR?Mandatory Variable Unset}", NULL,
     "required variable UNSET_VAR is missing a value: Mandatory Variable Unset"},
    {"not ok ${UNSET_VAR?}", NULL, "required variable UNSET_VAR is missing a value"},
    /* TestMandatoryVariableErrorsWithNestedExpansion */
    {"not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}", NULL,
     "required variable UNSET_VAR is missing a value: Mandatory Variable first"},
    {"not ok ${UNSET_VAR?Mandatory Variable ${FOO}}", NULL,
     "required variable UNSET_VAR is missing a value: Mandatory Variable first"},
    /* TestDefaultsForMandatoryVariables */
    {"ok ${FOO:?err}", "ok first", NULL},
    {"ok ${FOO?err}", "ok first", NULL},
    {"ok ${BAR?err}", "ok ", NULL},
    /* TestSubstituteWithReplacementFunc (its default-substitution assertion) */
    {"ok ${SUBDOMAIN:-redis}.${FOO:?}", "ok redis.first", NULL},
    /* TestPrecedence */
    {"${UNSET_VAR?bar-baz}", NULL, "required variable UNSET_VAR is missing a value: bar-baz"},
    {"${UNSET_VAR-myerror?msg}", "myerror?msg", NULL},
    {"${FOO?bar-baz}", "first", NULL},
    {"${BAR:-default_value_for_empty_var}", "default_value_for_empty_var", NULL},
    {"${UNSET_VAR-default_value_for_unset_var}", "default_value_for_unset_var", NULL},
    /* TestNoValueWithCurlyBracesDefault */
    {"ok ${missing:-{\"json\":1}}", "ok {\"json\":1}", NULL},
    {"ok ${missing-{\"json\":1}}", "ok {\"json\":1}", NULL},
    /* TestValueWithCurlyBracesDefault */
    {"ok ${JSON:-{\"json\":1}}", "ok {\"json\":2}", NULL},
    {"ok ${JSON-{\"json\":1}}", "ok {\"json\":2}", NULL},
};

static void test_template_table(void **state)
{
	(void)state;
	RUN_TABLE(template_defaults, template_cases);
}

/*
 * compose-go TestSubstitutionFunctionChoice checks which operator getSubstitution-
 * FunctionForTemplate picks for "VARNAME<op>..."; here the choice is observed through
 * the result, with VARNAME unset and with VARNAME set but empty (the two differ for
 * every operator but ":+").
 */
static const struct {
	const char *in;
	struct tcase unset, empty;
} choice_cases[] = {
    /* Error when EMPTY or UNSET: ":?" */
    {"${VARNAME:?val?ue}",
     {NULL, NULL, "required variable VARNAME is missing a value: val?ue"},
     {NULL, NULL, "required variable VARNAME is missing a value: val?ue"}},
    /* Error when UNSET 1-3: "?" */
    {"${VARNAME?val:?ue}",
     {NULL, NULL, "required variable VARNAME is missing a value: val:?ue"},
     {NULL, "", NULL}},
    {"${VARNAME?va-lu+e:?e}",
     {NULL, NULL, "required variable VARNAME is missing a value: va-lu+e:?e"},
     {NULL, "", NULL}},
    {"${VARNAME?va+lu-e:?e}",
     {NULL, NULL, "required variable VARNAME is missing a value: va+lu-e:?e"},
     {NULL, "", NULL}},
    /* Default when EMPTY or UNSET: ":-" */
    {"${VARNAME:-value}", {NULL, "value", NULL}, {NULL, "value", NULL}},
    /* Default when UNSET 1-3: "-" */
    {"${VARNAME-va:-lu:?e}", {NULL, "va:-lu:?e", NULL}, {NULL, "", NULL}},
    {"${VARNAME-va+lu?e}", {NULL, "va+lu?e", NULL}, {NULL, "", NULL}},
    {"${VARNAME-va?lu+e}", {NULL, "va?lu+e", NULL}, {NULL, "", NULL}},
    /* Default when NOT EMPTY: ":+" (see test_choice_not_empty for the set case) */
    {"${VARNAME:+va:?lu:-e}", {NULL, "", NULL}, {NULL, "", NULL}},
    /* Default when SET 1-3: "+" */
    {"${VARNAME+va:+lue}", {NULL, "", NULL}, {NULL, "va:+lue", NULL}},
    {"${VARNAME+va?lu-e}", {NULL, "", NULL}, {NULL, "va?lu-e", NULL}},
    {"${VARNAME+va-lu?e}", {NULL, "", NULL}, {NULL, "va-lu?e", NULL}},
};

static void test_substitution_function_choice(void **state)
{
	static const struct var empty[] = {{"VARNAME", ""}, {NULL, NULL}};

	(void)state;
	for (size_t i = 0; i < sizeof(choice_cases) / sizeof(choice_cases[0]); i++) {
		struct tcase u = choice_cases[i].unset, e = choice_cases[i].empty;

		u.in = e.in = choice_cases[i].in;
		check_case(no_vars, &u, "choice_cases(unset)", i);
		check_case(empty, &e, "choice_cases(empty)", i);
	}
}

static void test_choice_not_empty(void **state)
{
	static const struct var set[] = {{"VARNAME", "x"}, {NULL, NULL}};
	static const struct tcase c = {"${VARNAME:+va:?lu:-e}", "va:?lu:-e", NULL};

	(void)state;
	check_case(set, &c, "choice(set)", 0);
}

/* ---- compose-go interpolation/interpolation_test.go ------------------------------------- */

#define REQUIRED_FOO(msg) "required variable FOO is missing a value: " msg

/* TestValidUnexistentInterpolation: no variable set */
static const struct tcase unexistent_cases[] = {
    {"{{{ ${FOO:-foo_} }}}", "{{{ foo_ }}}", NULL},
    {"{{{ ${FOO:-foo-bar-value} }}}", "{{{ foo-bar-value }}}", NULL},
    {"{{{ ${FOO:-foo?bar?value} }}}", "{{{ foo?bar?value }}}", NULL},
    {"{{{ ${FOO:-foo:?bar:?value} }}}", "{{{ foo:?bar:?value }}}", NULL},
    {"{{{ ${FOO:-foo} ${BAR:-DEFAULT_VALUE} }}}", "{{{ foo DEFAULT_VALUE }}}", NULL},
    {"{{{ ${BAR} }}}", "{{{  }}}", NULL},
    {"${FOO:-baz} }}}", "baz }}}", NULL},
    {"${FOO-baz} }}}", "baz }}}", NULL},
    {"{{{ ${FOO:?foo_} }}}", NULL, REQUIRED_FOO("foo_")},
    {"{{{ ${FOO:?foo-bar-value} }}}", NULL, REQUIRED_FOO("foo-bar-value")},
    {"{{{ ${FOO:?foo} ${BAR:-DEFAULT_VALUE} }}}", NULL, REQUIRED_FOO("foo")},
    {"${FOO:?foo} ${BAR:?bar}", NULL, REQUIRED_FOO("foo")},
    {"{{{ ${BAR} }}}", "{{{  }}}", NULL},
    {"${FOO:?baz} }}}", NULL, REQUIRED_FOO("baz")},
    {"${FOO?baz} }}}", NULL, REQUIRED_FOO("baz")},
    /* nested variables */
    {"${FOO:-${BAR:-${ZOT:-qix}}}", "qix", NULL},
    {"${FOO:-${BAR:-x}_test_${BAR:-y}}", "x_test_y", NULL},
    {"${FOO:-${BAR:-x}_test}", "x_test", NULL},
    {"${FOO:-${BAR:-${ZOT:-x}}_test}", "x_test", NULL},
};

/* TestValidExistentInterpolation: interpolation_defaults */
static const struct tcase existent_cases[] = {
    /* Only FOO is set */
    {"{{{ ${FOO:-foo_} }}}", "{{{ bar }}}", NULL},
    {"{{{ ${FOO:-foo-bar-value} }}}", "{{{ bar }}}", NULL},
    {"{{{ ${FOO:-foo} ${BAR:-DEFAULT_VALUE} }}}", "{{{ bar DEFAULT_VALUE }}}", NULL},
    {"{{{ ${BAR} }}}", "{{{  }}}", NULL},
    {"${FOO:-baz} }}}", "bar }}}", NULL},
    {"${FOO-baz} }}}", "bar }}}", NULL},
    /* Both FOO and USER are set */
    {"{{{ ${FOO:-foo_} }}}", "{{{ bar }}}", NULL},
    {"{{{ ${FOO:-foo-bar-value} }}}", "{{{ bar }}}", NULL},
    {"{{{ ${FOO:-foo} ${USER:-bar} }}}", "{{{ bar jenny }}}", NULL},
    {"{{{ ${USER} }}}", "{{{ jenny }}}", NULL},
    {"${FOO:-baz} }}}", "bar }}}", NULL},
    {"${FOO-baz} }}}", "bar }}}", NULL},
};

static void test_interpolation_tables(void **state)
{
	(void)state;
	RUN_TABLE(no_vars, unexistent_cases);
	RUN_TABLE(interpolation_defaults, existent_cases);
}

/* ---- corners of compose-go's algorithm (our own cases, each checked against how its
 * regex + getFirstBraceClosingIndex behave) ------------------------------------------- */

static const struct tcase corner_cases[] = {
    /* names: [_a-zA-Z][_a-zA-Z0-9]*, maximal */
    {"$FOO_1x", "", NULL},
    {"$FOO$FOO", "firstfirst", NULL},
    {"${FOO}bar", "firstbar", NULL},
    {"$_", "", NULL},
    {"$1", "$1", NULL},
    {"$-FOO", "$-FOO", NULL},
    {"${1}", NULL, INVALID("${1}")},
    {"$$$FOO", "$first", NULL},
    {"$$$$", "$$", NULL},
    {"a$", "a$", NULL},
    /* values are not interpolated again */
    {"${DOLLAR}", "$FOO", NULL},
    /* the rest after a braced reference is a template of its own */
    {"${UNSET:-x} ${UNSET:-y}", "x y", NULL},
    {"${UNSET:-x}}", "x}", NULL},
    {"${UNSET:-a}b}c", "ab}c", NULL},
    {"${FOO:-a} and ${BAR:-b} and $FOO", "first and b and first", NULL},
    /* braces in a default: every '{' counts, the character after it is skipped */
    {"${UNSET:-{}}", "{}", NULL},
    {"${UNSET:-{}x}", "{}x", NULL},
    {"${UNSET:-{a}}", "{a}", NULL},
    {"${UNSET:-{a}}}", "{a}}", NULL},
    {"${UNSET:-[{\"a\":{\"b\":1}}]}", "[{\"a\":{\"b\":1}}]", NULL},
    /* the argument of an operator ends at the last '}' of its line */
    {"${UNSET:-x}\n${UNSET:-y}", "x\ny", NULL},
    {"${UNSET:-x\n}", NULL, INVALID("${UNSET:-x\\n}")},
    {"${FOO:-\n}", NULL, INVALID("${FOO:-\\n}")},
    /* lazy: an unused default/alternative/message is never interpolated */
    {"${FOO:-${}}", "first", NULL},
    {"${FOO?${}}", "first", NULL},
    {"${UNSET+${}}", "", NULL},
    {"${UNSET:+${ }}", "", NULL},
    /* an operator needs an argument end; ":" alone is no operator */
    {"${FOO:x}", NULL, INVALID("${FOO:x}")},
    {"${FOO::-x}", NULL, INVALID("${FOO::-x}")},
    {"${FOO-}", "first", NULL},
    {"${UNSET-}", "", NULL},
    {"${UNSET:-}", "", NULL},
    /* the template compose-go names is the one the error happened in */
    {"${UNSET:-x} ${ } ${FOO}", NULL, INVALID(" ${ } ${FOO}")},
    {"${UNSET:-${}}", NULL, INVALID("${}")},
    {"${UNSET:-a ${ }}", NULL, INVALID("a ${ }")},
    {"x ${FOO} ${", NULL, INVALID("x ${FOO} ${")},
    {"${UNSET:?${}}", NULL, INVALID("${}")},
    /* the message of :? is interpolated, and may be empty after interpolation */
    {"${UNSET:?$BAR}", NULL, "required variable UNSET is missing a value"},
    {"${UNSET:?a}b", NULL, "required variable UNSET is missing a value: a"},
    /* Go's case-insensitive [a-z] folds U+212A (Kelvin) and U+017F (long s) */
    {"$\xe2\x84\xaa-", "-", NULL},
    {"$x\xc5\xbf"
     "1!",
     "!", NULL},
    {"$\xc3\xa9", "$\xc3\xa9", NULL},
};

static void test_corners(void **state)
{
	static const struct var vars[] = {
	    {"FOO", "first"}, {"BAR", ""}, {"DOLLAR", "$FOO"}, {NULL, NULL}};

	(void)state;
	RUN_TABLE(vars, corner_cases);
}

/* on_unset: once per use of an unset variable without operator, never for ${X:-d} etc. */
static void test_on_unset(void **state)
{
	struct env_data d = {template_defaults, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};
	struct px_error err = PX_ERROR_INIT;
	char *out;

	(void)state;
	assert_int_equal(
	    interp_string("$A ${A} ${A:-x} ${B-} ${C+y} ${FOO} $BAR $Z", &env, &out, &err), 0);
	assert_string_equal(out, "  x   first  ");
	free(out);
	assert_int_equal(d.nunset, 3);
	assert_string_equal(d.unset[0], "A");
	assert_string_equal(d.unset[1], "A");
	assert_string_equal(d.unset[2], "Z");

	/* inside a used default too */
	d.nunset = 0;
	assert_int_equal(interp_string("${A:-$D}", &env, &out, &err), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(d.nunset, 1);
	assert_string_equal(d.unset[0], "D");
}

static void test_no_env(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct interp_env empty = {NULL, NULL, NULL};
	char *out;

	(void)state;
	assert_int_equal(interp_string("a${X}b${Y:-c}$$", NULL, &out, &err), 0);
	assert_string_equal(out, "abc$");
	free(out);
	assert_int_equal(interp_string("$X", &empty, &out, &err), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(interp_string("${X:?gone}", NULL, &out, &err), -1);
	assert_string_equal(px_error_msg(&err), "required variable X is missing a value: gone");
	px_error_clear(&err);
}

static void test_depth_limit(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *out;
	int depth;

	(void)state;
	/* 64 nested defaults work, 65 do not */
	for (depth = 64; depth <= 65; depth++) {
		px_buf_reset(&b);
		for (int i = 0; i < depth; i++)
			px_buf_adds(&b, "${U:-");
		px_buf_adds(&b, "deep");
		for (int i = 0; i < depth; i++)
			px_buf_addch(&b, '}');
		if (depth == 64) {
			assert_int_equal(interp_string(px_buf_cstr(&b), NULL, &out, &err), 0);
			assert_string_equal(out, "deep");
			free(out);
		} else {
			assert_int_equal(interp_string(px_buf_cstr(&b), NULL, &out, &err), -1);
			assert_non_null(strstr(px_error_msg(&err),
					       "interpolation nested more than 64 levels deep in"));
			px_error_clear(&err);
		}
	}
	px_buf_release(&b);
}

/* Many references on one line must stay linear (compose-go re-scans; we may not). */
static void test_long_line(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	struct timespec t0, t1;
	char *out;
	const int n = 100000;

	(void)state;
	for (int i = 0; i < n; i++)
		px_buf_adds(&b, "${U-x}${FOO}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	{
		struct env_data d = {template_defaults, {{0}}, 0};
		struct interp_env env = {lookup_vars, &d, NULL};

		assert_int_equal(interp_string(px_buf_cstr(&b), &env, &out, &err), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(strlen(out), (size_t)n * 6);
	assert_memory_equal(out, "xfirstxfirst", 12);
	free(out);
	px_buf_release(&b);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
}

static void test_long_template_quoted_short(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	char big[2000];
	char *out;

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 3, "${", 3);
	assert_int_equal(interp_string(big, NULL, &out, &err), -1);
	assert_true(strlen(px_error_msg(&err)) < 400);
	assert_non_null(strstr(px_error_msg(&err), "\"..."));
	px_error_clear(&err);
}

static void test_quote(void **state)
{
	struct px_buf b = PX_BUF_INIT;

	(void)state;
	interp_quote(&b, "a\"b\\c\n\t\x01\xff\xc3\xa9", 11, 100);
	assert_string_equal(px_buf_cstr(&b), "\"a\\\"b\\\\c\\n\\t\\x01\\xff\xc3\xa9\"");
	px_buf_reset(&b);
	interp_quote(&b, "abc\xc3\xa9", 5, 4); /* never cut inside a character */
	assert_string_equal(px_buf_cstr(&b), "\"abc\"...");
	px_buf_release(&b);
}

/* ---- interp_tree ----------------------------------------------------------------------- */

static struct cnode_mark mk(unsigned line, unsigned col)
{
	return (struct cnode_mark){"compose.yaml", line, col};
}

static struct cnode *scalar(struct cnode_arena *a, const char *v, unsigned line)
{
	return cnode_new_scalar(a, v, false, mk(line, 10));
}

/* compose-go interpolation_test.go TestInterpolate, as a node tree */
static void test_tree_interpolate(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct env_data d = {interpolation_defaults, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};
	struct px_error err = PX_ERROR_INIT;
	struct cnode *root, *svc, *vols, *logging, *opts, *out, *o;

	(void)state;
	opts = cnode_new_map(a, 1, mk(7, 9));
	opts->items[0] = scalar(a, "user", 8);
	opts->items[1] = scalar(a, "$USER", 8);
	logging = cnode_new_map(a, 2, mk(5, 7));
	logging->items[0] = scalar(a, "driver", 5);
	logging->items[1] = scalar(a, "${FOO}", 5);
	logging->items[2] = scalar(a, "options", 6);
	logging->items[3] = opts;
	vols = cnode_new_seq(a, 1, mk(3, 7));
	vols->items[0] = scalar(a, "$FOO:/target", 4);
	svc = cnode_new_map(a, 3, mk(2, 5));
	svc->items[0] = scalar(a, "image", 2);
	svc->items[1] = scalar(a, "example:${USER}", 2);
	svc->items[2] = scalar(a, "volumes", 3);
	svc->items[3] = vols;
	svc->items[4] = scalar(a, "logging", 5);
	svc->items[5] = logging;
	root = cnode_new_map(a, 1, mk(1, 1));
	root->items[0] = scalar(a, "servicea", 1);
	root->items[1] = svc;

	assert_int_equal(interp_tree(a, root, &env, &out, &err), 0);
	assert_ptr_not_equal(out, root);
	o = cnode_map_get(out, "servicea");
	assert_string_equal(cnode_map_get(o, "image")->value, "example:jenny");
	assert_string_equal(cnode_map_get(o, "volumes")->items[0]->value, "bar:/target");
	assert_string_equal(cnode_map_get(cnode_map_get(o, "logging"), "driver")->value, "bar");
	assert_string_equal(
	    cnode_map_get(cnode_map_get(cnode_map_get(o, "logging"), "options"), "user")->value,
	    "jenny");
	/* the input is left alone */
	assert_string_equal(svc->items[1]->value, "example:${USER}");
	assert_string_equal(vols->items[0]->value, "$FOO:/target");
	assert_int_equal(d.nunset, 0);
	cnode_arena_free(a);
}

/* compose-go interpolation_test.go TestInvalidInterpolation, located */
static void test_tree_invalid(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode *root, *svc, *out = (struct cnode *)1;

	(void)state;
	svc = cnode_new_map(a, 1, mk(2, 3));
	svc->items[0] = scalar(a, "image", 3);
	svc->items[1] = cnode_new_scalar(a, "${", false, mk(3, 12));
	root = cnode_new_map(a, 1, mk(1, 1));
	root->items[0] = scalar(a, "servicea", 1);
	root->items[1] = svc;
	assert_int_equal(interp_tree(a, root, NULL, &out, &err), -1);
	assert_null(out);
	assert_string_equal(px_error_msg(&err),
			    "compose.yaml:3:12: invalid interpolation format for \"${\"");
	px_error_clear(&err);

	svc->items[1] = cnode_new_scalar(a, "${TIMEZONE:?}", false, mk(4, 15));
	assert_int_equal(interp_tree(a, root, NULL, &out, &err), -1);
	assert_string_equal(px_error_msg(&err),
			    "compose.yaml:4:15: required variable TIMEZONE is missing a value");
	px_error_clear(&err);
	cnode_arena_free(a);
}

static void test_tree_keys_sharing_flags(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct env_data d = {template_defaults, {{0}}, 0};
	struct interp_env env = {lookup_vars, &d, record_unset};
	struct px_error err = PX_ERROR_INIT;
	struct cnode *root, *plain_sub, *seq, *q, *out;

	(void)state;
	plain_sub = cnode_new_map(a, 1, mk(2, 3));
	plain_sub->items[0] = scalar(a, "k", 2);
	plain_sub->items[1] = scalar(a, "no dollars here", 2);
	q = cnode_new_scalar(a, "${FOO}", true, mk(5, 8));
	q->tag = CNODE_TAG_OVERRIDE;
	seq = cnode_new_seq(a, 3, mk(4, 3));
	seq->items[0] = q;
	seq->items[1] = scalar(a, "a$", 6);  /* unchanged by interpolation: shared */
	seq->items[2] = scalar(a, "$$x", 7); /* changed */
	root = cnode_new_map(a, 3, mk(1, 1));
	root->items[0] = scalar(a, "${FOO}", 1); /* a key: never interpolated */
	root->items[1] = scalar(a, "x", 1);
	root->items[2] = scalar(a, "same", 2);
	root->items[3] = plain_sub;
	root->items[4] = scalar(a, "list", 4);
	root->items[5] = seq;

	assert_int_equal(interp_tree(a, root, &env, &out, &err), 0);
	assert_ptr_not_equal(out, root);
	assert_ptr_equal(out->items[0], root->items[0]);
	assert_string_equal(out->items[0]->value, "${FOO}");
	assert_ptr_equal(out->items[1], root->items[1]);
	assert_ptr_equal(out->items[3], plain_sub);
	assert_ptr_not_equal(out->items[5], seq);
	assert_string_equal(out->items[5]->items[0]->value, "first");
	assert_int_equal(out->items[5]->items[0]->len, 5);
	assert_true(out->items[5]->items[0]->quoted);
	assert_int_equal(out->items[5]->items[0]->tag, CNODE_TAG_OVERRIDE);
	assert_int_equal(out->items[5]->items[0]->mark.line, 5);
	assert_int_equal(out->items[5]->items[0]->mark.col, 8);
	assert_ptr_equal(out->items[5]->items[1], seq->items[1]);
	assert_string_equal(out->items[5]->items[2]->value, "$x");
	/* a plain scalar that held a template is a string once expanded (compose-go types
	 * YAML first), so an empty expansion is "" and never null */
	assert_true(out->items[5]->items[2]->quoted);
	/* the input is untouched */
	assert_string_equal(seq->items[0]->value, "${FOO}");
	assert_string_equal(seq->items[2]->value, "$$x");

	/* nothing to change: the very same tree comes back */
	{
		struct cnode *again;

		assert_int_equal(interp_tree(a, plain_sub, &env, &again, &err), 0);
		assert_ptr_equal(again, plain_sub);
	}
	cnode_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_table),
	    cmocka_unit_test(test_substitution_function_choice),
	    cmocka_unit_test(test_choice_not_empty),
	    cmocka_unit_test(test_interpolation_tables),
	    cmocka_unit_test(test_corners),
	    cmocka_unit_test(test_on_unset),
	    cmocka_unit_test(test_no_env),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_long_template_quoted_short),
	    cmocka_unit_test(test_quote),
	    cmocka_unit_test(test_tree_interpolate),
	    cmocka_unit_test(test_tree_invalid),
	    cmocka_unit_test(test_tree_keys_sharing_flags),
	};

	return cmocka_run_group_tests_name("compose_interp", tests, NULL, NULL);
}
