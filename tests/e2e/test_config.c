/* test_config.c - `prisync config` against `docker compose config` (v2, Debian's
 * docker-compose package via tests/harness/compose.sh): every compose file under examples/
 * and tests/data/compose/ loaded by both, services compared key by key; and the command's
 * own contract: errors with file:line:col, --services, --volumes, -q, warnings once. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define NELEM(a)       (sizeof(a) / sizeof((a)[0]))
#define RUN_TIMEOUT_MS 30000

/* The project name both tools get, so that no fixture's name decides anything. */
#define PROJECT_NAME "prisync-e2e"

/* Compose files that are not valid projects on their own, with the reason.  Paths are
 * relative to the source tree; a directory stands for its default compose file(s). */
static const struct {
	const char *path, *why;
} not_projects[] = {
    {"tests/data/compose/load/extends", "its extends target refers to an undefined volume"},
    {"tests/data/compose/load/extends/common/services.yml", "an extends fragment"},
    {"tests/data/compose/load/extends-cycle", "extends cycle (an error test)"},
    {"tests/data/compose/load/include-conflict", "include conflict (an error test)"},
    {"tests/data/compose/load/include-cycle", "include cycle (an error test)"},
    {"tests/data/compose/load/include-cycle/b.yaml", "include cycle (an error test)"},
    {"tests/data/compose/load/override/extra.yaml", "an override fragment without image"},
    {"tests/data/compose/node/multi.yaml", "a YAML stream fixture, not a mapping"},
    {"tests/data/compose/model/full", "uses keys compose v2.26's schema rejects"},
    {"examples/prisma-app/compose.offline.yaml", "an override merged onto compose.yaml"},
};

/* The service keys the "Done when" names, compared exactly. */
static const char *const compared_keys[] = {
    "image", "command", "environment", "ports", "volumes", "depends_on", "healthcheck",
};

struct run {
	struct harness_dir dir;
	struct px_buf out, err;   /* prisync's */
	struct px_buf cout, cerr; /* compose's */
	char path[4096];          /* the compose file a test wrote */
	void (*cleanup)(struct run *r);
	void *fixtures;
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
	px_buf_release(&r->cout);
	px_buf_release(&r->cerr);
	if (r->cleanup != NULL)
		r->cleanup(r);
	free(r);
	return 0;
}

extern char **environ;

/* Run argv in cwd with the test's environment minus COMPOSE_* plus
 * COMPOSE_PROJECT_NAME, capturing both streams; returns the exit code. */
static int run_tool(const char *const *argv, const char *cwd, struct px_buf *out,
		    struct px_buf *errout)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	const char **envp = NULL;
	size_t n = 0;
	int code = -1;

	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "COMPOSE_", 8) == 0)
			continue;
		envp = xreallocarray(envp, n + 1, sizeof(*envp));
		envp[n++] = *e;
	}
	envp = xreallocarray(envp, n + 2, sizeof(*envp));
	envp[n++] = "COMPOSE_PROJECT_NAME=" PROJECT_NAME;
	envp[n] = NULL;
	o.argv = argv;
	o.envp = envp;
	o.cwd = cwd;
	o.in = PX_PROC_NULL;
	px_buf_reset(out);
	px_buf_reset(errout);
	if (px_proc_run(&o, out, errout, &code, RUN_TIMEOUT_MS, &err) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", px_error_msg(&err));
		px_error_clear(&err);
		free(envp);
		fail_msg("running '%s': %s", argv[0], msg);
	}
	free(envp);
	return code;
}

/* The docker compose v2 binary: from env.sh's state, or (when the harness could not come
 * up fully and its state was not read) straight from compose.sh, which caches it.
 * Missing: skipped, or failed under CI=true (harness_env). */
static const char *compose_bin(void)
{
	static char *bin;
	const char *v = getenv("PRISYNC_TEST_COMPOSE");

	if (v != NULL && v[0] != '\0')
		return v;
	if (bin == NULL) {
		struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
		char *script = NULL;
		const char *argv[] = {NULL, "path", NULL};

		xasprintf(&script, "%s/tests/harness/compose.sh",
			  harness_env("PRISYNC_SOURCE_DIR"));
		argv[0] = script;
		if (run_tool(argv, NULL, &out, &err) == 0) {
			px_buf_rtrim(&out);
			bin = px_buf_detach(&out, NULL);
			setenv("PRISYNC_TEST_COMPOSE", bin, 1);
		} else {
			print_message("compose.sh: %s\n", px_buf_cstr(&err));
		}
		free(script);
		px_buf_release(&out);
		px_buf_release(&err);
	}
	return bin != NULL ? bin : harness_env("PRISYNC_TEST_COMPOSE");
}

static const char *prisync_bin(void)
{
	return harness_env("PRISYNC_BIN");
}

/* ---- the fixtures ---------------------------------------------------------------- */

struct fixture {
	char *path; /* absolute: a project directory, or one compose file */
	char *rel;  /* relative to the source tree, for messages and the skip list */
	bool file;
};

struct fixtures {
	struct fixture *v;
	size_t n;
	const char *root; /* the source tree */
};

static struct fixtures *walking;

static bool is_default_name(const char *base)
{
	static const char *const names[] = {
	    "compose.yaml",
	    "compose.yml",
	    "docker-compose.yml",
	    "docker-compose.yaml",
	    "compose.override.yaml",
	    "compose.override.yml",
	    "docker-compose.override.yml",
	    "docker-compose.override.yaml",
	};

	for (size_t i = 0; i < NELEM(names); i++) {
		if (strcmp(base, names[i]) == 0)
			return true;
	}
	return false;
}

static void fixture_add(struct fixtures *f, const char *path, bool file)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].path, path) == 0)
			return;
	}
	f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
	f->v[f->n].path = xstrdup(path);
	f->v[f->n].rel = xstrdup(path + strlen(f->root) + 1);
	f->v[f->n].file = file;
	f->n++;
}

/* A directory with a default-named file is a project (its override merges in); any other
 * .yml/.yaml file is a project of its own, loaded with -f. */
static int walk_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	size_t n = strlen(base);

	(void)st;
	/* what `make demo` installed into examples/prisma-app (git-ignored): its packages'
	 * CI and lint YAML files are nobody's compose files */
	if (flag == FTW_D && strcmp(base, "node_modules") == 0)
		return FTW_SKIP_SUBTREE;
	if (flag != FTW_F)
		return FTW_CONTINUE;
	if (!(n > 4 && strcmp(base + n - 4, ".yml") == 0) &&
	    !(n > 5 && strcmp(base + n - 5, ".yaml") == 0))
		return FTW_CONTINUE;
	if (is_default_name(base)) {
		char *dir = xstrndup(path, (size_t)ftw->base - 1);

		fixture_add(walking, dir, false);
		free(dir);
	} else {
		fixture_add(walking, path, true);
	}
	return FTW_CONTINUE;
}

static int fixture_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->rel, ((const struct fixture *)b)->rel);
}

static void fixtures_find(struct fixtures *f)
{
	static const char *const tops[] = {"examples", "tests/data/compose"};

	memset(f, 0, sizeof(*f));
	f->root = harness_env("PRISYNC_SOURCE_DIR");
	walking = f;
	for (size_t i = 0; i < NELEM(tops); i++) {
		char *top = NULL;

		xasprintf(&top, "%s/%s", f->root, tops[i]);
		nftw(top, walk_entry, 16, FTW_PHYS | FTW_ACTIONRETVAL);
		free(top);
	}
	walking = NULL;
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), fixture_cmp);
}

static void fixtures_free(struct run *r)
{
	struct fixtures *f = r->fixtures;

	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].rel);
	}
	free(f->v);
	free(f);
}

static const char *skip_reason(const struct fixture *fx)
{
	for (size_t i = 0; i < NELEM(not_projects); i++) {
		if (strcmp(not_projects[i].path, fx->rel) == 0)
			return not_projects[i].why;
	}
	return NULL;
}

/* `<tool> [-f FILE] --project-directory DIR config ARGS...` run in DIR. */
static int run_config(const char *tool, const struct fixture *fx, const char *format,
		      struct px_buf *out, struct px_buf *err)
{
	char *dir = fx->file ? xstrndup(fx->path, (size_t)(strrchr(fx->path, '/') - fx->path))
			     : xstrdup(fx->path);
	const char *argv[10];
	size_t n = 0;
	int code;

	argv[n++] = tool;
	if (fx->file) {
		argv[n++] = "-f";
		argv[n++] = fx->path;
	}
	argv[n++] = "--project-directory";
	argv[n++] = dir;
	argv[n++] = "config";
	if (format != NULL) {
		argv[n++] = "--format";
		argv[n++] = format;
	}
	argv[n] = NULL;
	code = run_tool(argv, dir, out, err);
	free(dir);
	return code;
}

static char *compact(const json_t *v)
{
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	return s != NULL ? s : xstrdup("(absent)");
}

/* Compare the services of two `config --format json` documents on compared_keys;
 * every difference goes to stderr as compose/prisync lines.  Returns the count. */
static int compare_services(const char *rel, const json_t *want, const json_t *got)
{
	const json_t *ws = json_object_get(want, "services"),
		     *gs = json_object_get(got, "services");
	const char *name;
	json_t *wsvc;
	int diffs = 0;

	json_object_foreach((json_t *)ws, name, wsvc)
	{
		const json_t *gsvc = json_object_get(gs, name);

		if (gsvc == NULL) {
			fprintf(stderr, "%s: service '%s' missing from prisync's output\n", rel,
				name);
			diffs++;
			continue;
		}
		for (size_t i = 0; i < NELEM(compared_keys); i++) {
			const json_t *a = json_object_get(wsvc, compared_keys[i]);
			const json_t *b = json_object_get(gsvc, compared_keys[i]);
			char *sa, *sb;

			if ((a == NULL && b == NULL) ||
			    (a != NULL && b != NULL && json_equal(a, b)))
				continue;
			sa = compact(a);
			sb = compact(b);
			fprintf(stderr,
				"%s: services.%s.%s differs\n  compose: %s\n  prisync: %s\n", rel,
				name, compared_keys[i], sa, sb);
			free(sa);
			free(sb);
			diffs++;
		}
	}
	json_object_foreach((json_t *)gs, name, wsvc)
	{
		if (json_object_get(ws, name) == NULL) {
			fprintf(stderr, "%s: service '%s' only in prisync's output\n", rel, name);
			diffs++;
		}
	}
	return diffs;
}

static json_t *parse(const char *rel, const char *who, const struct px_buf *b)
{
	json_error_t je;
	json_t *j = json_loads(px_buf_cstr(b), 0, &je);

	if (j == NULL)
		fail_msg("%s: %s printed no JSON (%s at %d:%d):\n%s", rel, who, je.text, je.line,
			 je.column, px_buf_cstr(b));
	return j;
}

/* For every valid project under examples/ and tests/data/compose/, prisync and compose
 * agree on the services and their image, command, environment, ports, volumes,
 * depends_on and healthcheck. */
static void test_matches_compose(void **state)
{
	struct run *r = *state;
	const char *compose = compose_bin(), *prisync = prisync_bin();
	struct fixtures *f = xcalloc(1, sizeof(*f));
	size_t compared = 0;
	int diffs = 0;

	/* freed by the teardown, also when an assertion ends the test early */
	r->fixtures = f;
	r->cleanup = fixtures_free;
	fixtures_find(f);
	for (size_t i = 0; i < f->n; i++) {
		const struct fixture *fx = &f->v[i];
		const char *why = skip_reason(fx);
		json_t *want, *got;
		int c, p;

		if (why != NULL) {
			print_message("skip %s: %s\n", fx->rel, why);
			continue;
		}
		c = run_config(compose, fx, "json", &r->cout, &r->cerr);
		p = run_config(prisync, fx, "json", &r->out, &r->err);
		if (c != 0) {
			fprintf(stderr,
				"%s: docker compose config failed (exit %d) — a deliberately "
				"invalid fixture belongs in not_projects:\n%s\n",
				fx->rel, c, px_buf_cstr(&r->cerr));
			diffs++;
			continue;
		}
		if (p != 0) {
			fprintf(stderr,
				"%s: prisync config failed (exit %d) where compose loads it:\n%s\n",
				fx->rel, p, px_buf_cstr(&r->err));
			diffs++;
			continue;
		}
		want = parse(fx->rel, "compose", &r->cout);
		got = parse(fx->rel, "prisync", &r->out);
		diffs += compare_services(fx->rel, want, got);
		json_decref(want);
		json_decref(got);
		compared++;
	}
	print_message("compared %zu of %zu compose projects with docker compose\n", compared, f->n);
	/* a discovery that finds nothing would pass vacuously */
	assert_true(compared >= 5);
	if (diffs > 0)
		fail_msg("%d difference(s) from docker compose (details above on stderr)", diffs);
}

/* For the example, the whole printed text is compose's, byte for byte, in both formats. */
static void test_example_identical(void **state)
{
	struct run *r = *state;
	const char *compose = compose_bin(), *prisync = prisync_bin();
	const char *formats[] = {"yaml", "json"};
	char path[4096];
	struct fixture fx = {path, (char *)"examples/prisma-app", false};

	snprintf(path, sizeof(path), "%s/examples/prisma-app", harness_env("PRISYNC_SOURCE_DIR"));
	for (size_t i = 0; i < NELEM(formats); i++) {
		assert_int_equal(run_config(compose, &fx, formats[i], &r->cout, &r->cerr), 0);
		assert_int_equal(run_config(prisync, &fx, formats[i], &r->out, &r->err), 0);
		if (strcmp(px_buf_cstr(&r->cout), px_buf_cstr(&r->out)) != 0) {
			fprintf(stderr, "--- compose (%s):\n%s\n--- prisync:\n%s\n", formats[i],
				px_buf_cstr(&r->cout), px_buf_cstr(&r->out));
			fail_msg("examples/prisma-app: --format %s output differs from compose's",
				 formats[i]);
		}
		assert_int_equal(r->err.len, 0);
	}
}

/* ---- the command's own contract (no compose binary needed) ------------------------- */

/* Write the test's compose.yaml (r->path). */
static void write_project(struct run *r, const char *text)
{
	FILE *f;

	snprintf(r->path, sizeof(r->path), "%s/compose.yaml", r->dir.root);
	f = fopen(r->path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int prisync_in(struct run *r, const char *dir, const char *a1, const char *a2,
		      const char *a3)
{
	const char *argv[] = {prisync_bin(), "--project-directory", dir, "config", a1, a2, a3,
			      NULL};

	return run_tool(argv, dir, &r->out, &r->err);
}

static void test_unknown_key_is_an_error(void **state)
{
	struct run *r = *state;
	char where[4200];

	write_project(r, "services:\n"
			 "  web:\n"
			 "    image: busybox\n"
			 "    imagee: typo\n");
	assert_int_equal(prisync_in(r, r->dir.root, NULL, NULL, NULL), 1);
	assert_int_equal(r->out.len, 0);
	snprintf(where, sizeof(where), "%s:4:5", r->path);
	if (strstr(px_buf_cstr(&r->err), "prisync: error: ") == NULL ||
	    strstr(px_buf_cstr(&r->err), where) == NULL ||
	    strstr(px_buf_cstr(&r->err), "imagee") == NULL)
		fail_msg("want 'prisync: error: ... %s ... imagee' on stderr, got:\n%s", where,
			 px_buf_cstr(&r->err));
	/* -q validates too: same exit, same message */
	assert_int_equal(prisync_in(r, r->dir.root, "-q", NULL, NULL), 1);
	assert_non_null(strstr(px_buf_cstr(&r->err), where));
}

static void test_services_volumes_quiet(void **state)
{
	struct run *r = *state;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/examples/prisma-app", harness_env("PRISYNC_SOURCE_DIR"));
	/* dependencies first: app depends on db */
	assert_int_equal(prisync_in(r, dir, "--services", NULL, NULL), 0);
	assert_string_equal(px_buf_cstr(&r->out), "db\napp\n");
	assert_int_equal(prisync_in(r, dir, "--volumes", NULL, NULL), 0);
	assert_string_equal(px_buf_cstr(&r->out), "db-data\nnode_modules\n");
	assert_int_equal(prisync_in(r, dir, "-q", NULL, NULL), 0);
	assert_int_equal(r->out.len, 0);
	assert_int_equal(r->err.len, 0);
	assert_int_equal(prisync_in(r, dir, "--quiet", "--format", "json"), 0);
	assert_int_equal(r->out.len, 0);
}

static void test_usage_errors(void **state)
{
	struct run *r = *state;
	static const struct {
		const char *a1, *a2, *message;
	} cases[] = {
	    {"--format", "xml", "invalid --format 'xml'"},
	    {"--bogus", NULL, "unknown flag '--bogus'"},
	    {"extra", NULL, "unexpected argument 'extra'"},
	    {"--services", "--volumes", "exclude each other"},
	    {"--format", NULL, "needs a value"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		int code = prisync_in(r, r->dir.root, cases[i].a1, cases[i].a2, NULL);

		if (code != 2 || strstr(px_buf_cstr(&r->err), cases[i].message) == NULL)
			fail_msg("config %s %s: exit %d, stderr:\n%s", cases[i].a1,
				 cases[i].a2 ? cases[i].a2 : "", code, px_buf_cstr(&r->err));
	}
	assert_int_equal(prisync_in(r, r->dir.root, "--help", NULL, NULL), 0);
	assert_non_null(strstr(px_buf_cstr(&r->out), "Usage: prisync config"));
}

/* A warning reached twice is printed once. */
static void test_warnings_once(void **state)
{
	struct run *r = *state;
	const char *e = NULL;
	int lines = 0;

	write_project(r, "services:\n"
			 "  a:\n"
			 "    image: \"busybox${PRISYNC_E2E_UNSET_VAR}\"\n"
			 "  b:\n"
			 "    image: \"busybox${PRISYNC_E2E_UNSET_VAR}\"\n");
	assert_int_equal(prisync_in(r, r->dir.root, "-q", NULL, NULL), 0);
	for (e = strstr(px_buf_cstr(&r->err), "PRISYNC_E2E_UNSET_VAR"); e != NULL;
	     e = strstr(e + 1, "PRISYNC_E2E_UNSET_VAR"))
		lines++;
	if (lines != 1)
		fail_msg("want one warning about PRISYNC_E2E_UNSET_VAR, got:\n%s",
			 px_buf_cstr(&r->err));
	assert_non_null(strstr(px_buf_cstr(&r->err), "prisync: warning: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_matches_compose, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_example_identical, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_services_volumes_quiet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warnings_once, setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
