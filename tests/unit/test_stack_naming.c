/* test_stack_naming.c - stack/naming.c: container, one-off, network and volume names and
 * the com.docker.compose.* labels, each checked against the exact string compose makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/error.h"
#include "stack/stack.h"

struct name_case {
	char *(*fn)(const char *, const char *, const char *);
	const char *a, *b, *c;
	const char *want;
};

/* stack_container_name with its int argument read from c, to share the table */
static char *container_name_s(const char *project, const char *service, const char *number)
{
	return stack_container_name(project, service, atoi(number));
}

static char *network_name_s(const char *project, const char *network, const char *unused)
{
	(void)unused;
	return stack_network_name(project, network);
}

static char *volume_name_s(const char *project, const char *volume, const char *unused)
{
	(void)unused;
	return stack_volume_name(project, volume);
}

static const struct name_case name_cases[] = {
    {container_name_s, "myapp", "web", "1", "myapp-web-1"},
    {container_name_s, "my_app", "db", "12", "my_app-db-12"},
    {container_name_s, "prisync-demo", "api-server", "2", "prisync-demo-api-server-2"},
    {stack_oneoff_name, "demo", "app", "0123456789ab", "demo-app-run-0123456789ab"},
    {stack_oneoff_name, "my-proj", "migrate", "f00dcafe1234", "my-proj-migrate-run-f00dcafe1234"},
    {network_name_s, "demo", "default", NULL, "demo_default"},
    {network_name_s, "my-proj", "back-end", NULL, "my-proj_back-end"},
    {volume_name_s, "demo", "pgdata", NULL, "demo_pgdata"},
    {volume_name_s, "my_app", "node_modules", NULL, "my_app_node_modules"},
};

static void test_names_table(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];
		char *got = c->fn(c->a, c->b, c->c);

		if (strcmp(got, c->want) != 0) {
			print_error("row %zu: got '%s', want '%s'\n", i, got, c->want);
			failures++;
		}
		free(got);
	}
	assert_int_equal(failures, 0);
}

static const char *const two_files[] = {"/src/app/compose.yaml", "/src/app/compose.override.yaml"};
static const char *const one_file[] = {"/src/app/compose.yaml"};

struct label_case {
	const char *name;
	const char *before; /* the labels object before the call (JSON) */
	struct stack_label_info info;
	const char *want; /* the whole object after the call (JSON) */
};

static const struct label_case label_cases[] = {
    {"service container",
     "{}",
     {.project = "app",
      .service = "web",
      .number = 1,
      .working_dir = "/src/app",
      .config_files = two_files,
      .n_config_files = 2,
      .config_hash = "abc123",
      .version = "2.29.7"},
     "{\"com.docker.compose.project\": \"app\","
     " \"com.docker.compose.service\": \"web\","
     " \"com.docker.compose.container-number\": \"1\","
     " \"com.docker.compose.oneoff\": \"False\","
     " \"com.docker.compose.project.working_dir\": \"/src/app\","
     " \"com.docker.compose.project.config_files\":"
     "   \"/src/app/compose.yaml,/src/app/compose.override.yaml\","
     " \"com.docker.compose.config-hash\": \"abc123\","
     " \"com.docker.compose.version\": \"2.29.7\"}"},
    {"second replica",
     "{}",
     {.project = "app",
      .service = "worker",
      .number = 3,
      .working_dir = "/src/app",
      .config_files = one_file,
      .n_config_files = 1,
      .config_hash = "h",
      .version = "2.29.7"},
     "{\"com.docker.compose.project\": \"app\","
     " \"com.docker.compose.service\": \"worker\","
     " \"com.docker.compose.container-number\": \"3\","
     " \"com.docker.compose.oneoff\": \"False\","
     " \"com.docker.compose.project.working_dir\": \"/src/app\","
     " \"com.docker.compose.project.config_files\": \"/src/app/compose.yaml\","
     " \"com.docker.compose.config-hash\": \"h\","
     " \"com.docker.compose.version\": \"2.29.7\"}"},
    {"one-off with slug",
     "{}",
     {.project = "app",
      .service = "migrate",
      .number = -1,
      .oneoff = true,
      .slug = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      .working_dir = "/src/app",
      .config_files = one_file,
      .n_config_files = 1,
      .config_hash = "h",
      .version = "2.29.7"},
     "{\"com.docker.compose.project\": \"app\","
     " \"com.docker.compose.service\": \"migrate\","
     " \"com.docker.compose.container-number\": \"-1\","
     " \"com.docker.compose.oneoff\": \"True\","
     " \"com.docker.compose.slug\":"
     "   \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
     " \"com.docker.compose.project.working_dir\": \"/src/app\","
     " \"com.docker.compose.project.config_files\": \"/src/app/compose.yaml\","
     " \"com.docker.compose.config-hash\": \"h\","
     " \"com.docker.compose.version\": \"2.29.7\"}"},
    {"slug ignored on a service container",
     "{}",
     {.project = "p", .service = "s", .number = 1, .slug = "ffff"},
     "{\"com.docker.compose.project\": \"p\","
     " \"com.docker.compose.service\": \"s\","
     " \"com.docker.compose.container-number\": \"1\","
     " \"com.docker.compose.oneoff\": \"False\","
     " \"com.docker.compose.project.config_files\": \"\"}"},
    {"user labels kept, stale compose labels replaced",
     "{\"com.example.team\": \"db\", \"com.docker.compose.project\": \"stale\","
     " \"com.docker.compose.oneoff\": \"True\"}",
     {.project = "p", .service = "s", .number = 2},
     "{\"com.example.team\": \"db\","
     " \"com.docker.compose.project\": \"p\","
     " \"com.docker.compose.service\": \"s\","
     " \"com.docker.compose.container-number\": \"2\","
     " \"com.docker.compose.oneoff\": \"False\","
     " \"com.docker.compose.project.config_files\": \"\"}"},
};

static void test_labels_table(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(label_cases) / sizeof(label_cases[0]); i++) {
		const struct label_case *c = &label_cases[i];
		struct px_error err = PX_ERROR_INIT;
		json_error_t jerr;
		json_t *labels = json_loads(c->before, 0, &jerr);
		json_t *want = json_loads(c->want, 0, &jerr);

		assert_non_null(labels);
		assert_non_null(want);
		if (stack_project_labels(labels, &c->info, &err) != 0) {
			print_error("case '%s' failed: %s\n", c->name, px_error_msg(&err));
			failures++;
		} else if (!json_equal(labels, want)) {
			char *got = json_dumps(labels, JSON_SORT_KEYS | JSON_INDENT(1));

			print_error("case '%s': got %s\n", c->name, got);
			free(got);
			failures++;
		}
		px_error_clear(&err);
		json_decref(labels);
		json_decref(want);
	}
	assert_int_equal(failures, 0);
}

static void test_label_errors(void **state)
{
	struct stack_label_info ok = {.project = "p", .service = "s", .number = 1};
	struct stack_label_info no_service = {.project = "p", .number = 1};
	struct stack_label_info empty_project = {.project = "", .service = "s", .number = 1};
	struct stack_label_info bad_utf8 = {
	    .project = "p", .service = "s", .number = 1, .working_dir = "/src/caf\xe9"};
	struct px_error err = PX_ERROR_INIT;
	json_t *array = json_array(), *obj = json_object();

	(void)state;
	assert_int_equal(stack_project_labels(array, &ok, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "not a JSON object"));
	px_error_clear(&err);

	assert_int_equal(stack_project_labels(obj, &no_service, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "without a project and a service"));
	px_error_clear(&err);
	assert_int_equal(stack_project_labels(obj, &empty_project, &err), -1);
	px_error_clear(&err);

	assert_int_equal(stack_project_labels(obj, &bad_utf8, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "com.docker.compose.project.working_dir"));
	px_error_clear(&err);

	json_decref(array);
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_table),
	    cmocka_unit_test(test_labels_table),
	    cmocka_unit_test(test_label_errors),
	};

	return cmocka_run_group_tests_name("stack_naming", tests, NULL, NULL);
}
