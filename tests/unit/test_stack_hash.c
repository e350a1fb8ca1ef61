/* test_stack_hash.c - stack/hash.c: the config hash is stable (same file, same hash, in
 * any process) and sensitive to every field that reaches the container, and blind to
 * the ones compose leaves out (build, pull_policy, depends_on, profiles, x-*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "stack/stack.h"

/* Load yaml (a whole compose file) as project "demo" from a fresh temp dir; the hash of
 * its service "app" goes to out. */
static void hash_of(const char *yaml, char out[STACK_HASH_LEN + 1])
{
	const char *tmp = getenv("TMPDIR");
	struct compose_options o;
	struct compose_project_ref ref;
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	char *dir, *file;
	FILE *f;

	/* the same directory name every time: working_dir is not part of the hash, but a
	 * relative bind source resolves against it */
	xasprintf(&dir, "%s/px-stack-hash", tmp != NULL ? tmp : "/tmp");
	mkdir(dir, 0700);
	xasprintf(&file, "%s/compose.yaml", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	compose_options_init(&o);
	compose_options_add_file(&o, file);
	o.project_name = xstrdup("demo");
	if (compose_project_resolve(&ref, &o, dir, &err) < 0 ||
	    compose_load(&p, &ref, &o, &err) < 0)
		fail_msg("load: %s\n%s", px_error_msg(&err), yaml);
	if (stack_service_hash(p, compose_project_service(p, "app"), out, &err) < 0)
		fail_msg("hash: %s", px_error_msg(&err));
	compose_project_free(p);
	compose_project_ref_release(&ref);
	compose_options_release(&o);
	unlink(file);
	rmdir(dir);
	free(file);
	free(dir);
}

#define BASE                                                                                       \
	"services:\n"                                                                              \
	"  app:\n"                                                                                 \
	"    image: busybox:1.36\n"                                                                \
	"    command: [\"sleep\", \"1000\"]\n"                                                     \
	"    environment:\n"                                                                       \
	"      A: \"1\"\n"                                                                         \
	"    ports: [\"127.0.0.1:8080:80\"]\n"                                                     \
	"    volumes: [\"data:/data\"]\n"                                                          \
	"    depends_on: [db]\n"                                                                   \
	"  db:\n"                                                                                  \
	"    image: postgres:15\n"                                                                 \
	"volumes:\n"                                                                               \
	"  data: {}\n"

static void test_hash_is_stable(void **state)
{
	char a[STACK_HASH_LEN + 1], b[STACK_HASH_LEN + 1];

	(void)state;
	hash_of(BASE, a);
	hash_of(BASE, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	/* the order of map keys in the file does not matter */
	hash_of(
	    "services:\n  db:\n    image: postgres:15\n  app:\n    environment:\n      A: \"1\"\n"
	    "    image: busybox:1.36\n    volumes: [\"data:/data\"]\n    ports: "
	    "[\"127.0.0.1:8080:80\"]\n    command: [\"sleep\", \"1000\"]\n    depends_on: [db]\n"
	    "volumes:\n  data: {}\n",
	    b);
	assert_string_equal(a, b);
}

struct variant {
	const char *name;
	const char *from, *to; /* a substring of BASE and its replacement */
	bool changes;          /* must the hash change? */
};

static const struct variant variants[] = {
    {"environment value", "A: \"1\"", "A: \"2\"", true},
    {"environment added", "A: \"1\"", "A: \"1\"\n      B: x", true},
    {"image tag", "busybox:1.36", "busybox:1.37", true},
    {"command", "\"1000\"", "\"1001\"", true},
    {"published port", "8080:80", "8081:80", true},
    {"port host ip", "127.0.0.1:8080", "127.0.0.2:8080", true},
    {"volume target", "data:/data", "data:/other", true},
    {"volume name", "volumes:\n  data: {}", "volumes:\n  data:\n    name: elsewhere", true},
    {"restart policy", "    depends_on: [db]", "    restart: always\n    depends_on: [db]", true},
    {"healthcheck", "    depends_on: [db]",
     "    healthcheck:\n      test: [\"CMD\", \"true\"]\n    depends_on: [db]", true},
    {"label", "    depends_on: [db]", "    labels:\n      k: v\n    depends_on: [db]", true},
    {"user", "    depends_on: [db]", "    user: nobody\n    depends_on: [db]", true},
    {"another service's config", "image: postgres:15", "image: postgres:16", false},
    {"depends_on condition", "    depends_on: [db]",
     "    depends_on:\n      db:\n        condition: service_healthy", false},
    {"pull_policy", "    depends_on: [db]", "    pull_policy: always\n    depends_on: [db]", false},
    {"build section", "    depends_on: [db]", "    build: .\n    depends_on: [db]", false},
    {"extension", "    depends_on: [db]", "    x-note: hello\n    depends_on: [db]", false},
    {"profiles", "    depends_on: [db]", "    profiles: [default]\n    depends_on: [db]", false},
};

static void test_hash_sensitivity(void **state)
{
	char base[STACK_HASH_LEN + 1], got[STACK_HASH_LEN + 1];

	(void)state;
	hash_of(BASE, base);
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		const char *at = strstr(BASE, v->from);
		char *yaml;

		assert_non_null(at);
		xasprintf(&yaml, "%.*s%s%s", (int)(at - BASE), BASE, v->to, at + strlen(v->from));
		/* profiles: [default] would disable app without --profile */
		if (strstr(v->to, "profiles") != NULL)
			setenv("COMPOSE_PROFILES", "default", 1);
		hash_of(yaml, got);
		unsetenv("COMPOSE_PROFILES");
		if (v->changes && strcmp(base, got) == 0)
			fail_msg("variant '%s' must change the hash", v->name);
		if (!v->changes && strcmp(base, got) != 0)
			fail_msg("variant '%s' must not change the hash", v->name);
		free(yaml);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_is_stable),
	    cmocka_unit_test(test_hash_sensitivity),
	};

	return cmocka_run_group_tests_name("stack_hash", tests, NULL, NULL);
}
