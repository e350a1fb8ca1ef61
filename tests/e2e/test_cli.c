/* test_cli.c - the real prisync binary's command line: help, version, global flags, and
 * exit code 2 with a clear message for every kind of usage error. */
#include <string.h>

#include "tests/harness/harness.h"

struct run {
	struct harness_dir dir;
	struct px_buf out, err;
};

static int setup(void **state)
{
	struct run *r = xcalloc(1, sizeof(*r));

	harness_dir_create(&r->dir);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct run *r = *state;

	harness_dir_remove(&r->dir);
	px_buf_release(&r->out);
	px_buf_release(&r->err);
	free(r);
	return 0;
}

static void read_version_file(char *out, size_t n)
{
	char *path = NULL;
	FILE *f;

	xasprintf(&path, "%s/VERSION", harness_env("PRISYNC_SOURCE_DIR"));
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, (int)n, f));
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
	free(path);
}

static void test_help_lists_flags_and_commands(void **state)
{
	struct run *r = *state;

	assert_int_equal(harness_prisync(&r->dir, &r->out, &r->err, 10000, "--help", NULL), 0);
	for (const char *
		 want[] = {"Usage: prisync", "--file", "--project-name", "--project-directory",
			   "--env-file", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "version", "help"},
		**w = want;
	     w < want + sizeof(want) / sizeof(want[0]); w++) {
		if (strstr(px_buf_cstr(&r->out), *w) == NULL)
			fail_msg("--help lacks '%s':\n%s", *w, px_buf_cstr(&r->out));
	}
	assert_int_equal(r->err.len, 0);
}

static void test_version_matches_version_file(void **state)
{
	struct run *r = *state;
	char want[64], line[128];

	read_version_file(want, sizeof(want));
	snprintf(line, sizeof(line), "prisync version %s ", want);
	for (const char *flag[] = { "--version", "-v", "version" }, **f = flag; f < flag + 3; f++) {
		int code;

		px_buf_reset(&r->out);
		px_buf_reset(&r->err);
		code = harness_prisync(&r->dir, &r->out, &r->err, 10000, *f, NULL);
		if (code != 0 || strstr(px_buf_cstr(&r->out), line) == NULL)
			fail_msg("prisync %s: exit %d\nstdout: %s\nstderr: %s", *f, code,
				 px_buf_cstr(&r->out), px_buf_cstr(&r->err));
	}

	px_buf_reset(&r->out);
	assert_int_equal(
	    harness_prisync(&r->dir, &r->out, &r->err, 10000, "version", "--short", NULL), 0);
	px_buf_rtrim(&r->out);
	assert_string_equal(px_buf_cstr(&r->out), want);

	px_buf_reset(&r->out);
	assert_int_equal(
	    harness_prisync(&r->dir, &r->out, &r->err, 10000, "version", "--format", "json", NULL),
	    0);
	{
		json_error_t je;
		json_t *j = json_loads(px_buf_cstr(&r->out), 0, &je);

		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "version")), want);
		assert_non_null(json_string_value(json_object_get(j, "libgit2")));
		json_decref(j);
	}
}

/* libpq, libgit2 and libarchive (and what they pull: Kerberos, LDAP, ICU ...) are not
 * loaded when prisync starts (base/lazy.c): the loader's own list of what it maps for the
 * binary lacks them, and a command that needs them loads them on demand. */
static void test_heavy_libraries_load_on_demand(void **state)
{
	static const char *const lazy[] = {"libpq.so", "libgit2.so", "libarchive.so", "libkrb5",
					   "libldap", "libicu"};
	struct run *r = *state;
	json_t *j;
	int code;

	setenv("LD_TRACE_LOADED_OBJECTS", "1", 1);
	code = harness_prisync(&r->dir, &r->out, &r->err, 10000, "--help", NULL);
	unsetenv("LD_TRACE_LOADED_OBJECTS");
	assert_int_equal(code, 0);
	/* the list is real: libc and libyaml are in it */
	assert_non_null(strstr(px_buf_cstr(&r->out), "libc.so"));
	assert_non_null(strstr(px_buf_cstr(&r->out), "libyaml"));
	for (size_t i = 0; i < sizeof(lazy) / sizeof(lazy[0]); i++) {
		if (strstr(px_buf_cstr(&r->out), lazy[i]) != NULL)
			fail_msg("%s is loaded at start-up:\n%s", lazy[i], px_buf_cstr(&r->out));
	}

	/* on demand: version asks libpq and libgit2 for theirs */
	px_buf_reset(&r->out);
	assert_int_equal(
	    harness_prisync(&r->dir, &r->out, &r->err, 10000, "version", "--format", "json", NULL),
	    0);
	j = json_loads(px_buf_cstr(&r->out), 0, NULL);
	assert_non_null(j);
	assert_true(json_integer_value(json_object_get(j, "libpq")) >= 100000);
	assert_int_equal(strncmp(json_string_value(json_object_get(j, "libgit2")), "1.", 2), 0);
	json_decref(j);
}

static void test_help_command(void **state)
{
	struct run *r = *state;

	assert_int_equal(harness_prisync(&r->dir, &r->out, &r->err, 10000, "help", "version", NULL),
			 0);
	assert_non_null(strstr(px_buf_cstr(&r->out), "Usage: prisync version"));
	px_buf_reset(&r->out);
	assert_int_equal(
	    harness_prisync(&r->dir, &r->out, &r->err, 10000, "version", "--help", NULL), 0);
	assert_non_null(strstr(px_buf_cstr(&r->out), "Usage: prisync version"));
}

/* Global flags are accepted before the command, in every spelling compose accepts. */
static void test_global_flags_accepted(void **state)
{
	struct run *r = *state;

	assert_int_equal(
	    harness_prisync(&r->dir, &r->out, &r->err, 10000, "-f", "a.yaml", "--file=b.yaml",
			    "-fc.yaml", "-p", "proj", "--project-name=proj2", "--project-directory",
			    "/tmp", "--env-file", "x.env", "--env-file=y.env", "--ansi", "never",
			    "--log-level", "debug", "version", "--short", NULL),
	    0);
	assert_int_equal(r->err.len, 0);
}

/* The global flags reach the loader: --profile and -p change what `config` reports, and
 * -f names the file (a negative control for the acceptance test above). */
static void test_global_flags_take_effect(void **state)
{
	struct run *r = *state;
	struct px_error err = PX_ERROR_INIT;
	static const char yaml[] = "services:\n"
				   "  app: {image: busybox}\n"
				   "  debug: {image: busybox, profiles: [debug]}\n";
	char *path = px_path_join(r->dir.root, "stack.yaml");

	if (px_path_write_file_atomic(path, yaml, sizeof(yaml) - 1, 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(harness_prisync(&r->dir, &r->out, &r->err, 10000, "-f", "stack.yaml",
					 "config", "--services", NULL),
			 0);
	assert_string_equal(px_buf_cstr(&r->out), "app\n");
	px_buf_reset(&r->out);
	assert_int_equal(harness_prisync(&r->dir, &r->out, &r->err, 10000, "-f", "stack.yaml",
					 "--profile", "debug", "config", "--services", NULL),
			 0);
	assert_string_equal(px_buf_cstr(&r->out), "app\ndebug\n");
	px_buf_reset(&r->out);
	assert_int_equal(harness_prisync(&r->dir, &r->out, &r->err, 10000, "-f", "stack.yaml", "-p",
					 "flagged", "config", "--format", "json", NULL),
			 0);
	assert_non_null(strstr(px_buf_cstr(&r->out), "\"name\": \"flagged\""));
	free(path);
}

static const struct usage_case {
	const char *args[4];
	const char *message;
} usage_cases[] = {
    {{"bogus"}, "unknown command 'bogus'"},
    {{"--bogus"}, "unknown flag '--bogus'"},
    {{"-z"}, "unknown flag '-z'"},
    {{"-f"}, "flag '-f' needs a value"},
    {{"--project-name"}, "flag '--project-name' needs a value"},
    {{"--ansi", "sometimes", "version"}, "invalid --ansi value 'sometimes'"},
    {{"--log-level", "loud", "version"}, "invalid --log-level 'loud'"},
    {{"version", "--format", "xml"}, "invalid --format 'xml'"},
    {{"version", "--bogus"}, "unknown flag '--bogus'"},
    {{"version", "extra"}, "unexpected argument 'extra'"},
    {{"help", "bogus"}, "unknown command 'bogus'"},
    {{NULL}, "Usage: prisync"},
};

static void test_usage_errors_exit_2(void **state)
{
	struct run *r = *state;

	for (size_t i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]); i++) {
		const struct usage_case *c = &usage_cases[i];
		int code;

		px_buf_reset(&r->out);
		px_buf_reset(&r->err);
		code = harness_prisync(&r->dir, &r->out, &r->err, 10000, c->args[0], c->args[1],
				       c->args[2], c->args[3], NULL);
		if (code != 2 || strstr(px_buf_cstr(&r->err), c->message) == NULL)
			fail_msg("case %zu ('%s'): exit %d, stderr:\n%s\nwanted exit 2 and '%s'", i,
				 c->args[0] ? c->args[0] : "", code, px_buf_cstr(&r->err),
				 c->message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_help_lists_flags_and_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_matches_version_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_help_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_heavy_libraries_load_on_demand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_global_flags_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_global_flags_take_effect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_errors_exit_2, setup, teardown),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
