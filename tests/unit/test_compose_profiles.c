/* test_compose_profiles.c - compose_load keeps only the services the active profiles turn
 * on: --profile flags, else COMPOSE_PROFILES (from the shell or .env), "*" for all; an
 * enabled service that requires a disabled one is an error with its location. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/compose.h"

static const char compose_yaml[] = "services:\n"
				   "  app:\n"
				   "    image: app\n"
				   "  debug:\n"
				   "    image: busybox\n"
				   "    profiles: [debug]\n"
				   "  seed:\n"
				   "    image: node\n"
				   "    profiles: [tools, debug]\n";

struct fx {
	char dir[64];
};

static void write_text(const char *dir, const char *name, const char *text)
{
	char *path = px_path_join(dir, name);
	struct px_error err = PX_ERROR_INIT;

	if (px_path_write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(path);
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
	struct fx *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/px-profiles-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	write_text(f->dir, "compose.yaml", compose_yaml);
	unsetenv("COMPOSE_PROFILES");
	unsetenv("COMPOSE_FILE");
	unsetenv("COMPOSE_PROJECT_NAME");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	unsetenv("COMPOSE_PROFILES");
	free(f);
	return 0;
}

/* Load the fixture with o and return the service names, comma-joined (owned). */
static char *load_names(const struct fx *f, const struct compose_options *o, struct px_error *err)
{
	struct compose_project_ref ref;
	struct compose_project *p = NULL;
	struct px_buf names = PX_BUF_INIT;

	if (compose_project_resolve(&ref, o, f->dir, err) < 0)
		return NULL;
	if (compose_load(&p, &ref, o, err) < 0) {
		compose_project_ref_release(&ref);
		return NULL;
	}
	for (size_t i = 0; i < p->nservices; i++)
		px_buf_addf(&names, "%s%s", i ? "," : "", p->services[i].name);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	return px_buf_detach(&names, NULL);
}

static void expect_names(const struct fx *f, const struct compose_options *o, const char *want)
{
	struct px_error err = PX_ERROR_INIT;
	char *got = load_names(f, o, &err);

	if (got == NULL)
		fail_msg("load: %s", px_error_msg(&err));
	if (strcmp(got, want) != 0)
		fail_msg("services '%s', want '%s'", got, want);
	free(got);
}

static void test_profiles_select_services(void **state)
{
	struct fx *f = *state;
	struct compose_options o;

	compose_options_init(&o);
	expect_names(f, &o, "app"); /* no profile active: only services without profiles */

	setenv("COMPOSE_PROFILES", "tools", 1);
	expect_names(f, &o, "app,seed");
	setenv("COMPOSE_PROFILES", " debug , other", 1);
	expect_names(f, &o, "app,debug,seed");
	setenv("COMPOSE_PROFILES", "*", 1);
	expect_names(f, &o, "app,debug,seed");

	/* --profile wins over COMPOSE_PROFILES */
	setenv("COMPOSE_PROFILES", "debug", 1);
	compose_options_add_profile(&o, "tools");
	expect_names(f, &o, "app,seed");
	unsetenv("COMPOSE_PROFILES");
	compose_options_add_profile(&o, "debug");
	expect_names(f, &o, "app,debug,seed");
	compose_options_release(&o);

	/* COMPOSE_PROFILES may come from .env */
	compose_options_init(&o);
	write_text(f->dir, ".env", "COMPOSE_PROFILES=debug\n");
	expect_names(f, &o, "app,debug,seed");
	compose_options_release(&o);
}

static void test_required_disabled_dependency(void **state)
{
	struct fx *f = *state;
	struct compose_options o;
	struct px_error err = PX_ERROR_INIT;
	char *got;

	write_text(f->dir, "compose.yaml",
		   "services:\n"
		   "  app:\n"
		   "    image: app\n"
		   "    depends_on:\n"
		   "      db:\n"
		   "        condition: service_started\n"
		   "  db:\n"
		   "    image: postgres\n"
		   "    profiles: [db]\n");
	compose_options_init(&o);
	got = load_names(f, &o, &err);
	assert_null(got);
	assert_non_null(strstr(px_error_msg(&err), "compose.yaml:5:7: service 'app' depends on "
						   "service 'db', which its profiles turn off"));
	px_error_clear(&err);

	/* not required: the project loads without db */
	write_text(f->dir, "compose.yaml",
		   "services:\n"
		   "  app:\n"
		   "    image: app\n"
		   "    depends_on:\n"
		   "      db:\n"
		   "        condition: service_started\n"
		   "        required: false\n"
		   "  db:\n"
		   "    image: postgres\n"
		   "    profiles: [db]\n");
	expect_names(f, &o, "app");
	compose_options_add_profile(&o, "db");
	expect_names(f, &o, "app,db");
	compose_options_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_profiles_select_services, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_required_disabled_dependency, setup, teardown),
	};

	return cmocka_run_group_tests_name("compose_profiles", tests, NULL, NULL);
}
