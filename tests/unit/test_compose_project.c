/* test_compose_project.c - which compose files, directory and project name the global
 * flags and COMPOSE_* variables select, as docker compose would select them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/compose.h"

static const struct {
	const char *raw, *normalized;
} normalize_cases[] = {
    {"myapp", "myapp"},
    {"MyApp", "myapp"},
    {"my app", "myapp"},
    {"my.app", "myapp"},
    {"_my-app_", "my-app_"},
    {"--x", "x"},
    {"über-app", "ber-app"},
    {"App_2024", "app_2024"},
    {"...", ""},
    {"", ""},
};

static void test_normalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(normalize_cases) / sizeof(normalize_cases[0]); i++) {
		char *n = compose_project_name_normalize(normalize_cases[i].raw);

		if (strcmp(n, normalize_cases[i].normalized) != 0)
			fail_msg("normalize('%s') = '%s', want '%s'", normalize_cases[i].raw, n,
				 normalize_cases[i].normalized);
		free(n);
	}
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(compose_project_name_valid("app"));
	assert_true(compose_project_name_valid("0app_x-y"));
	assert_false(compose_project_name_valid(""));
	assert_false(compose_project_name_valid(NULL));
	assert_false(compose_project_name_valid("App"));
	assert_false(compose_project_name_valid("-app"));
	assert_false(compose_project_name_valid("_app"));
	assert_false(compose_project_name_valid("my app"));
	assert_false(compose_project_name_valid("my.app"));
}

struct fixture {
	char *root; /* <tmp>/My Project/ with sub/deeper/ */
	char *sub;
};

static void touch(const char *dir, const char *name)
{
	char *p = px_path_join(dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs("services: {}\n", f);
	fclose(f);
	free(p);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/px-compose-XXXXXX";
	char *deeper;

	assert_non_null(mkdtemp(tmpl));
	fx->root = px_path_join(tmpl, "My Project");
	assert_int_equal(mkdir(fx->root, 0755), 0);
	fx->sub = px_path_join(fx->root, "sub");
	assert_int_equal(mkdir(fx->sub, 0755), 0);
	deeper = px_path_join(fx->sub, "deeper");
	assert_int_equal(mkdir(deeper, 0755), 0);
	free(deeper);
	unsetenv("COMPOSE_FILE");
	unsetenv("COMPOSE_PROJECT_NAME");
	unsetenv("COMPOSE_PATH_SEPARATOR");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char *top = px_path_dirname(fx->root);

	nftw(top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(top);
	free(fx->root);
	free(fx->sub);
	free(fx);
	return 0;
}

static void test_discovery_order_and_override(void **state)
{
	struct fixture *fx = *state;
	struct compose_options o;
	struct compose_project_ref ref;
	struct px_error err = PX_ERROR_INIT;
	char *deeper = px_path_join(fx->sub, "deeper");
	char *want;

	compose_options_init(&o);
	/* nothing anywhere up to / (assuming / has no compose file) is an error that says what to
	 * do */
	assert_int_equal(compose_project_resolve(&ref, &o, deeper, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "no compose file found"));
	px_error_clear(&err);

	/* docker-compose.yml loses to compose.yaml; the override of the winner comes along */
	touch(fx->root, "docker-compose.yml");
	touch(fx->root, "compose.yaml");
	touch(fx->root, "compose.override.yaml");
	touch(fx->root, "docker-compose.override.yml");
	assert_int_equal(compose_project_resolve(&ref, &o, deeper, &err), 0);
	assert_int_equal(ref.nfiles, 2);
	want = px_path_join(fx->root, "compose.yaml");
	assert_string_equal(ref.files[0], want);
	free(want);
	want = px_path_join(fx->root, "compose.override.yaml");
	assert_string_equal(ref.files[1], want);
	free(want);
	assert_string_equal(ref.directory, fx->root);
	assert_string_equal(ref.name, "myproject"); /* "My Project" normalised */
	compose_project_ref_release(&ref);

	/* --project-directory without -f: the search starts there, not in cwd */
	o.project_directory = xstrdup(fx->root);
	assert_int_equal(compose_project_resolve(&ref, &o, "/", &err), 0);
	assert_int_equal(ref.nfiles, 2);
	assert_string_equal(ref.directory, fx->root);
	compose_project_ref_release(&ref);
	free(o.project_directory);
	o.project_directory = NULL;

	/* the nearest directory wins */
	touch(fx->sub, "compose.yml");
	assert_int_equal(compose_project_resolve(&ref, &o, deeper, &err), 0);
	assert_int_equal(ref.nfiles, 1);
	assert_string_equal(ref.directory, fx->sub);
	assert_string_equal(ref.name, "sub");
	compose_project_ref_release(&ref);
	free(deeper);
}

static void test_explicit_files_and_names(void **state)
{
	struct fixture *fx = *state;
	struct compose_options o;
	struct compose_project_ref ref;
	struct px_error err = PX_ERROR_INIT;
	char *want;

	touch(fx->sub, "a.yaml");
	touch(fx->root, "b.yaml");
	compose_options_init(&o);
	compose_options_add_file(&o, "sub/a.yaml");
	compose_options_add_file(&o, "b.yaml");
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), 0);
	assert_int_equal(ref.nfiles, 2);
	want = px_path_join(fx->sub, "a.yaml");
	assert_string_equal(ref.files[0], want);
	free(want);
	/* the directory is the first file's */
	assert_string_equal(ref.directory, fx->sub);
	compose_project_ref_release(&ref);

	/* --project-directory and -p win */
	o.project_directory = xstrdup("..");
	o.project_name = xstrdup("explicit");
	setenv("COMPOSE_PROJECT_NAME", "fromenv", 1);
	assert_int_equal(compose_project_resolve(&ref, &o, fx->sub, &err), -1); /* sub/sub/a.yaml */
	assert_non_null(strstr(px_error_msg(&err), "'sub/a.yaml' (from -f)"));
	px_error_clear(&err);
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), 0);
	assert_string_equal(ref.name, "explicit");
	want = px_path_dirname(fx->root);
	assert_string_equal(ref.directory, want);
	free(want);
	compose_project_ref_release(&ref);

	/* COMPOSE_PROJECT_NAME when there is no -p; invalid names are refused, not normalised */
	free(o.project_name);
	o.project_name = NULL;
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), 0);
	assert_string_equal(ref.name, "fromenv");
	compose_project_ref_release(&ref);
	setenv("COMPOSE_PROJECT_NAME", "Bad Name", 1);
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), -1);
	assert_non_null(strstr(px_error_msg(&err),
			       "invalid project name 'Bad Name' (from COMPOSE_PROJECT_NAME)"));
	px_error_clear(&err);
	o.project_name = xstrdup("Bad");
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "(from -p)"));
	px_error_clear(&err);
	unsetenv("COMPOSE_PROJECT_NAME");
	compose_options_release(&o);
}

static void test_compose_file_env(void **state)
{
	struct fixture *fx = *state;
	struct compose_options o;
	struct compose_project_ref ref;
	struct px_error err = PX_ERROR_INIT;

	touch(fx->root, "one.yaml");
	touch(fx->root, "two.yaml");
	touch(fx->root, "compose.yaml"); /* ignored: COMPOSE_FILE names the files */
	compose_options_init(&o);
	setenv("COMPOSE_FILE", "one.yaml:two.yaml", 1);
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), 0);
	assert_int_equal(ref.nfiles, 2);
	assert_non_null(strstr(ref.files[1], "/two.yaml"));
	compose_project_ref_release(&ref);

	setenv("COMPOSE_PATH_SEPARATOR", ",", 1);
	setenv("COMPOSE_FILE", "two.yaml,one.yaml", 1);
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), 0);
	assert_int_equal(ref.nfiles, 2);
	assert_non_null(strstr(ref.files[0], "/two.yaml"));
	compose_project_ref_release(&ref);
	unsetenv("COMPOSE_PATH_SEPARATOR");

	setenv("COMPOSE_FILE", "one.yaml:missing.yaml", 1);
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "'missing.yaml' (from COMPOSE_FILE)"));
	px_error_clear(&err);

	/* -f wins over COMPOSE_FILE */
	compose_options_add_file(&o, "two.yaml");
	assert_int_equal(compose_project_resolve(&ref, &o, fx->root, &err), 0);
	assert_int_equal(ref.nfiles, 1);
	compose_project_ref_release(&ref);
	unsetenv("COMPOSE_FILE");
	compose_options_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test_setup_teardown(test_discovery_order_and_override, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_explicit_files_and_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compose_file_env, setup, teardown),
	};

	return cmocka_run_group_tests_name("compose_project", tests, NULL, NULL);
}
