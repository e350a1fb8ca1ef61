/* test_compose_model.c - the canonical tree typed into struct compose_project: every
 * modelled field with its casts and defaults, the Go-compatible scalar casts, every
 * validation error with its file:line:col, and the once-per-key warnings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cast.h"
#include "compose/internal.h"
#include "compose/interp.h"
#include "compose/node.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- loading helpers -------------------------------------------------------------- */

static const char *const test_env[][2] = {
    {"FROM_ENV", "env-value"},
    {"HOST_PORT", "8080"},
};

static const char *env_lookup(void *data, const char *name)
{
	(void)data;
	for (size_t i = 0; i < N(test_env); i++) {
		if (strcmp(test_env[i][0], name) == 0)
			return test_env[i][1];
	}
	return NULL;
}

static const struct interp_env test_interp_env = {env_lookup, NULL, NULL};

/* Parse, canonicalise and type one document; the arena is gone when this returns, so
 * every mark in p must have been copied. */
static int load_doc(struct compose_project *p, const char *file, const char *yaml, const char *dir,
		    struct compose_strv *warnings, struct px_error *err)
{
	struct cnode_arena *a = cnode_arena_new();
	struct cnode **docs = NULL, *canon = NULL;
	size_t n = 0;
	struct compose_model_ctx ctx = {dir, "proj", &test_interp_env, warnings};
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (yaml != NULL) {
		if (cnode_parse(a, file, yaml, strlen(yaml), NULL, &docs, &n, err) < 0)
			goto out;
	} else if (cnode_parse_file(a, file, NULL, &docs, &n, err) < 0) {
		goto out;
	}
	if (compose_canonical(a, docs[0], &canon, err) < 0)
		goto out;
	rc = compose_model_build(p, canon, &ctx, err);
out:
	cnode_arena_free(a);
	return rc;
}

static char *fixture_dir(const char *name)
{
	const char *src = getenv("PRISYNC_SOURCE_DIR");
	char *rel, *abs;

	xasprintf(&rel, "%s/tests/data/compose/model/%s", src != NULL ? src : ".", name);
	abs = realpath(rel, NULL);
	if (abs == NULL)
		fail_msg("fixture '%s' not found (run from the repository root)", rel);
	free(rel);
	return abs;
}

static const struct compose_service *svc(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nservices; i++) {
		if (strcmp(p->services[i].name, name) == 0)
			return &p->services[i];
	}
	fail_msg("no service '%s'", name);
	return NULL;
}

static void assert_strv(const struct compose_strv *v, const char *const *want, size_t n)
{
	if (v->n != n) {
		for (size_t i = 0; i < v->n; i++)
			print_message("  [%zu] %s\n", i, v->v[i]);
		fail_msg("strv has %zu entries, want %zu", v->n, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v->v[i], want[i]);
}

static void assert_env(const struct compose_map *m, const char *key, const char *want)
{
	const struct compose_kv *kv = compose_map_find(m, key);

	if (kv == NULL)
		fail_msg("no key '%s'", key);
	if (want == NULL) {
		if (kv->value != NULL)
			fail_msg("'%s' = '%s', want no value", key, kv->value);
		return;
	}
	if (kv->value == NULL || strcmp(kv->value, want) != 0)
		fail_msg("'%s' = '%s', want '%s'", key, kv->value ? kv->value : "(null)", want);
}

static void release(struct compose_project *p)
{
	compose_project_release_model(p);
}

/* ---- the Go-compatible casts ------------------------------------------------------ */

static const struct {
	const char *in;
	int64_t ns;
	const char *err; /* NULL: valid */
} durations[] = {
    {"10s", 10000000000LL, NULL},
    {"1m30s", 90000000000LL, NULL},
    {"500ms", 500000000LL, NULL},
    {"1h2m3.5s", 3723500000000LL, NULL},
    {".5s", 500000000LL, NULL},
    {"1.5h", 5400000000000LL, NULL},
    {"1.s", 1000000000LL, NULL},
    {"0", 0, NULL},
    {"-1s", -1000000000LL, NULL},
    {"+2us", 2000, NULL},
    {"3\xc2\xb5s", 3000, NULL},
    {"100ns", 100, NULL},
    {"2h45m", 9900000000000LL, NULL},
    {"10", 0, "time: missing unit in duration \"10\""},
    {"1x", 0, "time: unknown unit \"x\" in duration \"1x\""},
    {"", 0, "time: invalid duration \"\""},
    {"s", 0, "time: invalid duration \"s\""},
    {".", 0, "time: invalid duration \".\""},
    {"1h-2m", 0, "time: unknown unit \"h-\" in duration \"1h-2m\""},
    {"9999999999h", 0, "time: invalid duration \"9999999999h\""},
};

static void test_cast_duration(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(durations); i++) {
		int64_t ns = -42;
		char *why = NULL;
		int rc = compose_cast_duration(durations[i].in, &ns, &why);

		if (durations[i].err == NULL) {
			if (rc != 0)
				fail_msg("'%s': %s", durations[i].in, why);
			if (ns != durations[i].ns)
				fail_msg("'%s' = %lld ns, want %lld", durations[i].in,
					 (long long)ns, (long long)durations[i].ns);
		} else {
			if (rc == 0)
				fail_msg("'%s' accepted", durations[i].in);
			assert_string_equal(why, durations[i].err);
		}
		free(why);
	}
}

static const struct {
	const char *in;
	int want; /* -1 invalid */
	bool legacy;
} bools[] = {
    {"true", 1, false},   {"True", 1, false}, {"TRUE", 1, false}, {"false", 0, false},
    {"False", 0, false},  {"yes", 1, true},   {"Y", 1, true},     {"on", 1, true},
    {"no", 0, true},      {"off", 0, true},   {"n", 0, true},     {"1", -1, false},
    {"maybe", -1, false}, {"", -1, false},
};

static void test_cast_bool(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bools); i++) {
		bool v = false, legacy = false;
		int rc = compose_cast_bool(bools[i].in, &v, &legacy);

		if (bools[i].want < 0) {
			if (rc == 0)
				fail_msg("'%s' accepted as a boolean", bools[i].in);
			continue;
		}
		if (rc != 0 || v != (bools[i].want == 1) || legacy != bools[i].legacy)
			fail_msg("'%s': rc %d value %d legacy %d", bools[i].in, rc, v, legacy);
	}
}

static const struct {
	const char *in;
	int64_t want; /* -1 invalid */
} sizes[] = {
    {"64m", 67108864}, {"1g", 1073741824}, {"512", 512}, {"1.5k", 1536}, {"2 GiB", 2147483648LL},
    {"10kb", 10240},   {"3B", 3},          {"abc", -1},  {"10 x", -1},   {"-1", -1},
    {"1.2.3m", -1},    {"", -1},
};

static void test_cast_bytes(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(sizes); i++) {
		int64_t v = -7;
		int rc = compose_cast_bytes(sizes[i].in, &v);

		if (sizes[i].want < 0) {
			if (rc == 0)
				fail_msg("'%s' accepted as a size (%lld)", sizes[i].in,
					 (long long)v);
			continue;
		}
		if (rc != 0 || v != sizes[i].want)
			fail_msg("'%s' = %lld (rc %d), want %lld", sizes[i].in, (long long)v, rc,
				 (long long)sizes[i].want);
	}
}

static const struct {
	const char *in;
	const char *want[6]; /* NULL-terminated */
	int rc;
	bool stopped;
} splits[] = {
    {"npm run dev", {"npm", "run", "dev", NULL}, 0, false},
    {"sh -c \"echo hi && exit 1\"", {"sh", "-c", "echo hi && exit 1", NULL}, 0, false},
    {"echo 'a b' \"c d\" e\\ f", {"echo", "a b", "c d", "e f", NULL}, 0, false},
    {"echo \"\"", {"echo", "", NULL}, 0, false},
    {"echo a && echo b", {"echo", "a", NULL}, 0, true},
    {"cmd 2>/dev/null", {"cmd", NULL}, 0, true},
    {"printf \"a\\tb\"", {"printf", "a\tb", NULL}, 0, false},
    {"echo $(date)", {"echo", "$(date)", NULL}, 0, false},
    {"  spaced\t\targs  ", {"spaced", "args", NULL}, 0, false},
    {"'single \\ kept'", {"single \\ kept", NULL}, 0, false},
    {"", {NULL}, 0, false},
    {"echo \"unterminated", {NULL}, -1, false},
    {"echo (x)", {NULL}, -1, false},
    {"trailing\\", {NULL}, -1, false},
};

static void test_shell_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(splits); i++) {
		struct compose_strv v = {NULL, 0};
		bool stopped = false;
		int rc = compose_shell_split(splits[i].in, &v, &stopped);
		size_t n = 0;

		if (rc != splits[i].rc)
			fail_msg("'%s': rc %d, want %d", splits[i].in, rc, splits[i].rc);
		if (rc == 0) {
			while (splits[i].want[n] != NULL)
				n++;
			assert_strv(&v, splits[i].want, n);
			if (stopped != splits[i].stopped)
				fail_msg("'%s': stopped %d", splits[i].in, stopped);
		}
		compose_strv_release(&v);
	}
}

static const struct {
	const char *value;
	bool quoted;
	const char *want;
} scalar_texts[] = {
    {"1.10", false, "1.1"},   {"1.10", true, "1.10"},      {"0x1F", false, "31"},
    {"010", false, "8"},      {"0o17", false, "15"},       {"1_000", false, "1000"},
    {"1e3", false, "1000"},   {"True", false, "true"},     {"yes", false, "yes"},
    {"1e21", false, "1e+21"}, {"0.00001", false, "1e-05"}, {"3.0", false, "3"},
    {"-0.5", false, "-0.5"},  {".5", false, "0.5"},        {"123456.789", false, "123456.789"},
    {"08", false, "8"},       {"abc", false, "abc"},
};

static void test_scalar_text(void **state)
{
	struct cnode_arena *a = cnode_arena_new();

	(void)state;
	for (size_t i = 0; i < N(scalar_texts); i++) {
		struct cnode_mark m = {"t", 1, 1};
		struct cnode *n =
		    cnode_new_scalar(a, scalar_texts[i].value, scalar_texts[i].quoted, m);
		char *got = compose_scalar_text(n);

		if (strcmp(got, scalar_texts[i].want) != 0)
			fail_msg("'%s'%s -> '%s', want '%s'", scalar_texts[i].value,
				 scalar_texts[i].quoted ? " (quoted)" : "", got,
				 scalar_texts[i].want);
		free(got);
	}
	cnode_arena_free(a);
}

/* ---- every modelled field from one fixture ---------------------------------------- */

static void test_full_fixture(void **state)
{
	struct compose_project p;
	struct compose_strv warnings = {NULL, 0};
	struct px_error err = PX_ERROR_INIT;
	char *dir = fixture_dir("full"), *file, *path;
	const struct compose_service *web, *db, *cache;
	const char *home = getenv("HOME");

	(void)state;
	xasprintf(&file, "%s/compose.yaml", dir);
	if (load_doc(&p, file, NULL, dir, &warnings, &err) < 0)
		fail_msg("%s", px_error_msg(&err));

	/* sorted by name */
	assert_int_equal(p.nservices, 3);
	assert_string_equal(p.services[0].name, "cache");
	assert_string_equal(p.services[1].name, "db");
	assert_string_equal(p.services[2].name, "web");
	web = svc(&p, "web");
	db = svc(&p, "db");
	cache = svc(&p, "cache");
	assert_string_equal(web->mark.file, file); /* copied: the arena is gone */
	assert_int_equal(web->mark.line, 5);
	assert_int_equal(web->mark.col, 3);

	assert_string_equal(web->image, "example/web:dev");
	assert_string_equal(web->restart, "unless-stopped"); /* from the << merge key */
	xasprintf(&path, "%s/web", dir);
	assert_string_equal(web->build->context, path);
	free(path);
	assert_string_equal(web->build->dockerfile, "Dockerfile");
	assert_string_equal(web->build->target, "dev");
	assert_int_equal(web->build->args.n, 2); /* MISSING_ARG is dropped */
	assert_env(&web->build->args, "NODE_ENV", "production");
	assert_env(&web->build->args, "FROM_ENV", "env-value");
	assert_env(&web->build->labels, "a", "b");
	assert_strv(&web->build->cache_from, (const char *const[]){"node:20"}, 1);

	assert_true(web->has_command);
	assert_strv(&web->command,
		    (const char *const[]){"npm", "run", "dev", "--", "--port", "3000"}, 6);
	assert_true(web->has_entrypoint);
	assert_strv(&web->entrypoint, (const char *const[]){"/bin/sh", "-c"}, 2);
	assert_false(db->has_command);

	/* env_file first, then environment: wins; unset entries take the environment */
	assert_string_equal(web->environment.v[0].key, "FROM_FILE");
	assert_env(&web->environment, "FROM_FILE", "file-value");
	assert_env(&web->environment, "FROM_FILE_OVERRIDE", "from-environment");
	assert_env(&web->environment, "REF", "file-value-env-value");
	assert_env(&web->environment, "PLAIN", "1.1");
	assert_env(&web->environment, "QUOTED", "1.10");
	assert_env(&web->environment, "FROM_ENV", "env-value");
	assert_env(&web->environment, "NOT_SET", NULL);
	assert_int_equal(web->environment.n, 7);
	assert_int_equal(web->nenv_files, 2);
	xasprintf(&path, "%s/web.env", dir);
	assert_string_equal(web->env_files[0].path, path);
	free(path);
	assert_true(web->env_files[0].required);
	assert_false(web->env_files[1].required);
	assert_env(&db->environment, "POSTGRES_PASSWORD", "secret");

	assert_string_equal(web->working_dir, "/app");
	assert_string_equal(web->user, "1000:1000");
	assert_int_equal(web->init, 1);
	assert_int_equal(web->tty, 1);
	assert_int_equal(web->stdin_open, 0);
	assert_int_equal(web->read_only, 0);
	assert_int_equal(web->privileged, 0);
	assert_int_equal(db->init, -1);

	assert_int_equal(web->nports, 3);
	assert_string_equal(web->ports[0].host_ip, "127.0.0.1");
	assert_string_equal(web->ports[0].published, "3000");
	assert_int_equal(web->ports[0].target, 3000);
	assert_string_equal(web->ports[0].protocol, "tcp");
	assert_string_equal(web->ports[0].mode, "ingress");
	assert_int_equal(web->ports[1].target, 9229);
	assert_null(web->ports[1].published);
	assert_null(web->ports[1].host_ip);
	assert_int_equal(web->ports[2].target, 8080);
	assert_string_equal(web->ports[2].published, "18080");
	assert_string_equal(web->ports[2].protocol, "udp");
	assert_string_equal(web->ports[2].mode, "host");
	assert_string_equal(web->ports[2].app_protocol, "http");
	assert_string_equal(web->ports[2].name, "alt");
	assert_strv(&web->expose, (const char *const[]){"4000", "4001"}, 2);

	assert_int_equal(web->nvolumes, 5);
	assert_int_equal(web->volumes[0].type, COMPOSE_MOUNT_BIND);
	assert_string_equal(web->volumes[0].source, dir);
	assert_string_equal(web->volumes[0].target, "/app");
	assert_true(web->volumes[0].bind_create_host_path);
	if (home != NULL && home[0] == '/') {
		xasprintf(&path, "%s/cache", strcmp(home, "/") == 0 ? "" : home);
		assert_string_equal(web->volumes[1].source, path);
		free(path);
	}
	assert_true(web->volumes[1].read_only);
	assert_int_equal(web->volumes[2].type, COMPOSE_MOUNT_VOLUME);
	assert_string_equal(web->volumes[2].source, "node_modules");
	assert_int_equal(web->volumes[3].type, COMPOSE_MOUNT_VOLUME);
	assert_null(web->volumes[3].source);
	assert_string_equal(web->volumes[3].target, "/anon");
	assert_int_equal(web->volumes[4].type, COMPOSE_MOUNT_TMPFS);
	assert_int_equal(web->volumes[4].tmpfs_size, 67108864);
	assert_int_equal(web->volumes[4].tmpfs_mode, 1777);
	assert_int_equal(web->volumes[0].tmpfs_size, -1);

	assert_int_equal(web->ndepends_on, 2);
	assert_string_equal(web->depends_on[0].service, "db");
	assert_int_equal(web->depends_on[0].condition, COMPOSE_DEP_HEALTHY);
	assert_true(web->depends_on[0].restart);
	assert_true(web->depends_on[0].required);
	assert_string_equal(web->depends_on[1].service, "cache");
	assert_int_equal(web->depends_on[1].condition, COMPOSE_DEP_STARTED);
	assert_false(web->depends_on[1].restart);
	assert_false(web->depends_on[1].required);

	assert_true(web->healthcheck.present);
	assert_strv(&web->healthcheck.test,
		    (const char *const[]){"CMD-SHELL", "curl -f http://localhost:3000/health"}, 2);
	assert_int_equal(web->healthcheck.interval_ns, 90000000000LL);
	assert_int_equal(web->healthcheck.timeout_ns, 500000000LL);
	assert_int_equal(web->healthcheck.start_period_ns, 10000000000LL);
	assert_int_equal(web->healthcheck.start_interval_ns, 2000000000LL);
	assert_int_equal(web->healthcheck.retries, 5);
	assert_false(web->healthcheck.disable);
	assert_int_equal(db->healthcheck.retries, 3);
	assert_int_equal(db->healthcheck.interval_ns, -1);
	assert_true(cache->healthcheck.disable);

	assert_env(&web->labels, "com.example.tier", "front");
	assert_env(&web->labels, "com.example.flag", "true");

	assert_int_equal(web->nnetworks, 2);
	assert_string_equal(web->networks[0].key, "front");
	assert_strv(&web->networks[0].aliases, (const char *const[]){"www", "site"}, 2);
	assert_string_equal(web->networks[0].ipv4_address, "172.20.0.10");
	assert_int_equal(web->networks[0].priority, 100);
	assert_string_equal(web->networks[1].key, "default");
	assert_int_equal(db->nnetworks, 1); /* no networks: the default one */
	assert_string_equal(db->networks[0].key, "default");
	assert_int_equal(cache->nnetworks, 0);
	assert_string_equal(cache->network_mode, "host");

	assert_string_equal(web->pull_policy, "missing");
	assert_null(db->pull_policy);
	assert_null(db->restart);
	assert_strv(&web->profiles, (const char *const[]){"dev"}, 1);
	assert_string_equal(web->stop_signal, "SIGINT");
	assert_int_equal(web->stop_grace_period_ns, 60000000000LL);
	assert_int_equal(db->stop_grace_period_ns, -1);
	assert_strv(&web->extra_hosts,
		    (const char *const[]){"db.local=10.0.0.5", "host.docker.internal=host-gateway",
					  "v6=::1"},
		    3);

	assert_int_equal(web->nwatch, 3);
	assert_int_equal(web->watch[0].action, COMPOSE_WATCH_SYNC);
	xasprintf(&path, "%s/web/src", dir);
	assert_string_equal(web->watch[0].path, path);
	free(path);
	assert_string_equal(web->watch[0].target, "/app/src");
	assert_strv(&web->watch[0].ignore, (const char *const[]){"node_modules/"}, 1);
	assert_true(web->watch[0].initial_sync);
	assert_int_equal(web->watch[1].action, COMPOSE_WATCH_REBUILD);
	assert_null(web->watch[1].target);
	assert_int_equal(web->watch[2].action, COMPOSE_WATCH_SYNC_EXEC);
	assert_strv(&web->watch[2].exec_command, (const char *const[]){"kill", "-HUP", "1"}, 3);
	assert_string_equal(web->watch[2].exec_user, "root");
	assert_env(&web->watch[2].exec_environment, "A", "1");

	/* unmodelled keys kept, x-* kept */
	{
		json_t *want = json_pack("{s:[s],s:{s:i}}", "cap_add", "SYS_PTRACE", "ulimits",
					 "nofile", 1024);

		assert_true(json_equal(web->other, want));
		json_decref(want);
		want = json_pack("{s:s}", "x-owner", "team-web");
		assert_true(json_equal(web->extensions, want));
		json_decref(want);
		want = json_pack("{s:{s:s},s:{s:i}}", "x-common", "restart", "unless-stopped",
				 "x-top", "a", 1);
		assert_true(json_equal(p.extensions, want));
		json_decref(want);
	}

	/* networks and volumes: sorted, engine names, the implicit default */
	assert_int_equal(p.nnetworks, 4);
	assert_string_equal(p.networks[0].key, "default");
	assert_string_equal(p.networks[0].name, "proj_default");
	assert_string_equal(p.networks[1].key, "front");
	assert_string_equal(p.networks[1].name, "proj_front");
	assert_string_equal(p.networks[1].driver, "bridge");
	assert_non_null(json_object_get(p.networks[1].ipam, "config"));
	assert_string_equal(p.networks[2].key, "named");
	assert_string_equal(p.networks[2].name, "custom-name");
	assert_env(&p.networks[2].labels, "x", "y");
	assert_string_equal(p.networks[3].key, "outside");
	assert_string_equal(p.networks[3].name, "outside");
	assert_true(p.networks[3].external);
	assert_int_equal(p.nvolumes, 2);
	assert_string_equal(p.volumes[0].key, "node_modules");
	assert_string_equal(p.volumes[0].name, "proj_node_modules");
	assert_string_equal(p.volumes[0].driver, "local");
	assert_string_equal(p.volumes[1].key, "pgdata");

	/* no Prisma schema in the fixture: nothing detected, not an error */
	assert_false(p.prisync.configured);
	assert_int_equal(p.prisync.nschemas, 0);

	/* warnings: unused keys once each (db's cap_add adds none), legacy booleans */
	assert_int_equal(warnings.n, 4);
	assert_string_equal(
	    warnings.v[0],
	    "service 'web': key 'cap_add' is not used by prisync; kept for 'config'");
	assert_string_equal(
	    warnings.v[1],
	    "service 'web': key 'ulimits' is not used by prisync; kept for 'config'");
	assert_non_null(strstr(warnings.v[2], "compose.yaml:32:10: \"yes\" for boolean is not "
					      "supported by YAML 1.2, please use true"));
	assert_non_null(strstr(warnings.v[3], "compose.yaml:35:17: \"off\" for boolean is not "
					      "supported by YAML 1.2, please use false"));

	compose_strv_release(&warnings);
	release(&p);
	release(&p); /* twice is safe */
	free(file);
	free(dir);
}

/* ---- smaller typed cases ---------------------------------------------------------- */

static void test_defaults_and_forms(void **state)
{
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;
	const struct compose_service *s;

	(void)state;
	if (load_doc(&p, "compose.yaml",
		     "services:\n"
		     "  z:\n"
		     "    build: .\n"
		     "    command: []\n"
		     "    environment: [A=1, B=, C]\n"
		     "    labels: [l1=v, l2]\n"
		     "    extra_hosts: {h1: 1.2.3.4, h2: [\"::1\", 5.6.7.8]}\n"
		     "    healthcheck: {test: [NONE]}\n"
		     "    depends_on: [a]\n"
		     "  a:\n"
		     "    image: a\n"
		     "    build: {context: ./sub, dockerfile_inline: \"FROM x\"}\n"
		     "    command: \"\"\n"
		     "  m:\n"
		     "    image: m\n"
		     "    network_mode: \"service:a\"\n"
		     "    links: [\"z:alias\"]\n"
		     "    volumes_from: [\"a:ro\", \"container:c1\"]\n"
		     "    build: https://github.com/x/y.git#main\n",
		     "/proj", NULL, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_string_equal(p.services[0].name, "a");
	assert_string_equal(p.services[1].name, "m");
	assert_string_equal(p.services[2].name, "z");
	s = svc(&p, "z");
	assert_string_equal(s->build->context, "/proj");
	assert_true(s->has_command);
	assert_int_equal(s->command.n, 0); /* [] clears, it is not absent */
	assert_env(&s->environment, "A", "1");
	assert_env(&s->environment, "B", "");
	assert_env(&s->environment, "C", NULL);
	assert_env(&s->labels, "l2", "");
	assert_strv(&s->extra_hosts, (const char *const[]){"h1=1.2.3.4", "h2=5.6.7.8", "h2=::1"},
		    3);
	assert_true(s->healthcheck.disable);
	s = svc(&p, "a");
	assert_string_equal(s->build->context, "/proj/sub");
	assert_null(s->build->dockerfile);
	assert_string_equal(s->build->dockerfile_inline, "FROM x");
	assert_true(s->has_command);
	assert_int_equal(s->command.n, 0);
	s = svc(&p, "m");
	assert_string_equal(s->build->context, "https://github.com/x/y.git#main");
	/* network_mode service:, links and volumes_from make dependencies, as compose does */
	assert_int_equal(s->ndepends_on, 2);
	assert_string_equal(s->depends_on[0].service, "z");
	assert_true(s->depends_on[0].restart);
	assert_string_equal(s->depends_on[1].service, "a");
	assert_true(s->depends_on[1].restart);
	assert_int_equal(s->nnetworks, 0);
	/* every service is on a network: the default network exists */
	assert_int_equal(p.nnetworks, 1);
	release(&p);
}

static void test_no_default_network_when_unused(void **state)
{
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_int_equal(load_doc(&p, "compose.yaml",
				  "services:\n"
				  "  a: {image: a, network_mode: host}\n"
				  "  b: {image: b, networks: [n]}\n"
				  "networks:\n"
				  "  n:\n",
				  "/proj", NULL, &err),
			 0);
	assert_int_equal(p.nnetworks, 1);
	assert_string_equal(p.networks[0].key, "n");
	assert_string_equal(p.networks[0].name, "proj_n");
	release(&p);
}

/* One warning per key name per load, however many services use it. */
static void test_warnings_once_per_key(void **state)
{
	const char *yaml = "version: \"3.8\"\n"
			   "services:\n"
			   "  a: {image: a, cap_add: [X], ulimits: {nofile: 1}, deploy: {}}\n"
			   "  b: {image: b, cap_add: [Y], ulimits: {nproc: 2}}\n"
			   "  c: {image: c, cap_add: [Z]}\n"
			   "secrets:\n"
			   "  s: {file: ./s}\n";
	static const char *const want[] = {
	    "compose.yaml: the attribute 'version' is obsolete, it will be ignored, please remove "
	    "it to "
	    "avoid potential confusion",
	    "key 'secrets' is not used by prisync; kept for 'config'",
	    "service 'a': key 'cap_add' is not used by prisync; kept for 'config'",
	    "service 'a': key 'ulimits' is not used by prisync; kept for 'config'",
	    "service 'a': key 'deploy' is not used by prisync; kept for 'config'",
	};

	(void)state;
	for (int round = 0; round < 2; round++) {
		struct compose_project p;
		struct compose_strv warnings = {NULL, 0};
		struct px_error err = PX_ERROR_INIT;

		if (load_doc(&p, "compose.yaml", yaml, "/proj", &warnings, &err) < 0)
			fail_msg("%s", px_error_msg(&err));
		assert_strv(&warnings, want, N(want));
		/* never dropped: every service keeps its own value */
		assert_string_equal(json_string_value(json_array_get(
					json_object_get(svc(&p, "c")->other, "cap_add"), 0)),
				    "Z");
		assert_non_null(json_object_get(p.other, "secrets"));
		compose_strv_release(&warnings);
		release(&p);
	}
}

static void test_env_file_required(void **state)
{
	char tmpl[] = "/tmp/px-model-XXXXXX";
	char *dir = mkdtemp(tmpl), *f, *msg;
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;
	FILE *fp;

	(void)state;
	assert_non_null(dir);
	xasprintf(&f, "%s/present.env", dir);
	fp = fopen(f, "w");
	fputs("X=from-file\n", fp);
	fclose(fp);
	assert_int_equal(
	    load_doc(&p, "compose.yaml",
		     "services:\n"
		     "  a:\n"
		     "    image: a\n"
		     "    env_file: [present.env, {path: absent.env, required: false}]\n",
		     dir, NULL, &err),
	    0);
	assert_env(&svc(&p, "a")->environment, "X", "from-file");
	release(&p);
	assert_int_equal(load_doc(&p, "compose.yaml",
				  "services:\n"
				  "  a:\n"
				  "    image: a\n"
				  "    env_file: [present.env, absent.env]\n",
				  dir, NULL, &err),
			 -1);
	xasprintf(
	    &msg,
	    "compose.yaml:4:29: service 'a': env file '%s/absent.env' not found — create it or "
	    "mark it 'required: false'",
	    dir);
	assert_string_equal(px_error_msg(&err), msg);
	assert_int_equal(p.nservices, 0); /* released on failure */
	px_error_clear(&err);
	free(msg);
	unlink(f);
	free(f);
	rmdir(dir);
}

/* ---- validation errors ------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *yaml;
	const char *want;
} model_errors[] = {
    {"unknown key with a suggestion", "services:\n  web:\n    imagee: x\n",
     "compose.yaml:3:5: service 'web': unknown key 'imagee' (did you mean 'image'?)"},
    {"unknown key", "services:\n  web:\n    image: x\n    foobarbaz: 1\n",
     "compose.yaml:4:5: service 'web': unknown key 'foobarbaz'"},
    {"unknown top-level key", "servces:\n  web: {image: x}\n",
     "compose.yaml:1:1: unknown key 'servces' (did you mean 'services'?)"},
    {"unknown key in build", "services:\n  web:\n    build: {contxt: .}\n",
     "compose.yaml:3:13: service 'web': unknown key 'contxt' in 'build' (did you mean 'context'?)"},
    {"ports not a list", "services:\n  web:\n    image: x\n    ports: {a: 1}\n",
     "compose.yaml:4:12: service 'web': 'ports' must be a list, got a mapping"},
    {"environment wrong type", "services:\n  web:\n    image: x\n    environment: 5\n",
     "compose.yaml:4:18: service 'web': 'environment' must be a mapping or a list, got a number"},
    {"service not a mapping", "services:\n  web:\n",
     "compose.yaml:2:3: service 'web' must be a mapping, got null"},
    {"invalid boolean", "services:\n  web:\n    image: x\n    init: maybe\n",
     "compose.yaml:4:11: service 'web': 'init' must be a boolean (true or false), got \"maybe\""},
    {"duration without unit", "services:\n  web:\n    image: x\n    stop_grace_period: 10\n",
     "compose.yaml:4:24: service 'web': 'stop_grace_period' must be a duration like 1m30s or "
     "500ms: time: missing unit in duration \"10\""},
    {"healthcheck retries not a number",
     "services:\n  web:\n    image: x\n    healthcheck:\n      retries: three\n",
     "compose.yaml:5:16: service 'web': 'healthcheck.retries' must be an integer, got \"three\""},
    {"healthcheck test first word",
     "services:\n  web:\n    image: x\n    healthcheck:\n      test: [curl, x]\n",
     "compose.yaml:5:13: service 'web': healthcheck.test must start either by \"CMD\", "
     "\"CMD-SHELL\" or \"NONE\""},
    {"bad pull_policy", "services:\n  web:\n    image: x\n    pull_policy: sometimes\n",
     "compose.yaml:4:18: service 'web': invalid pull_policy 'sometimes' (always, never, missing, "
     "build, if_not_present, refresh, daily, weekly, every_<duration>)"},
    {"no image and no build", "services:\n  web:\n    command: x\n",
     "compose.yaml:2:3: service 'web' has neither an image nor a build context specified"},
    {"depends_on missing service",
     "services:\n  db: {image: p}\n  web:\n    image: x\n    depends_on: [dbb]\n",
     "compose.yaml:5:18: service 'web' depends on undefined service 'dbb' (did you mean 'db'?)"},
    {"depends_on bad condition",
     "services:\n  db: {image: p}\n  web:\n    image: x\n    depends_on:\n      db: {condition: "
     "up}\n",
     "compose.yaml:6:23: service 'web': invalid depends_on condition 'up' (service_started, "
     "service_healthy, service_completed_successfully)"},
    {"dependency cycle",
     "services:\n"
     "  c: {image: x, depends_on: [a]}\n"
     "  a: {image: x, depends_on: [b]}\n"
     "  b: {image: x, depends_on: [c]}\n",
     "compose.yaml:3:3: dependency cycle detected: a -> b -> c -> a"},
    {"self dependency", "services:\n  a: {image: x, depends_on: [a]}\n",
     "compose.yaml:2:3: dependency cycle detected: a -> a"},
    {"published port used by two services",
     "services:\n"
     "  a:\n"
     "    image: x\n"
     "    ports:\n"
     "      - \"8080:80\"\n"
     "  b:\n"
     "    image: x\n"
     "    ports:\n"
     "      - target: 81\n"
     "        published: 8080\n",
     "compose.yaml:9:9: service 'b': published port 8080/tcp is already used by service 'a' "
     "(compose.yaml:5:9)"},
    {"published port twice in one service",
     "services:\n  a:\n    image: x\n    ports: [\"127.0.0.1:53:53/udp\", "
     "\"127.0.0.1:53:5353/udp\"]\n",
     "compose.yaml:4:36: service 'a': published port 127.0.0.1:53/udp is already used by this "
     "service (compose.yaml:4:13)"},
    {"undefined network", "services:\n  a:\n    image: x\n    networks: [back]\n",
     "compose.yaml:4:16: service 'a' refers to undefined network 'back' — declare it under the "
     "top-level 'networks'"},
    {"undefined volume", "services:\n  a:\n    image: x\n    volumes: [\"data:/data\"]\n",
     "compose.yaml:4:15: service 'a' refers to undefined volume 'data' — declare it under the "
     "top-level 'volumes'"},
    {"undefined secret", "services:\n  a:\n    image: x\n    secrets: [token]\n",
     "compose.yaml:4:15: service 'a' refers to undefined secret 'token'"},
    {"network_mode with networks",
     "services:\n  a:\n    image: x\n    network_mode: host\n    networks: [n]\nnetworks:\n  n:\n",
     "compose.yaml:5:15: service 'a': declares mutually exclusive 'network_mode' and 'networks'"},
    {"bind without source",
     "services:\n  a:\n    image: x\n    volumes:\n      - type: bind\n        target: /x\n",
     "compose.yaml:5:9: service 'a': invalid mount config for type \"bind\": field Source must "
     "not be empty"},
    {"port target out of range",
     "services:\n  a:\n    image: x\n    ports:\n      - target: 70000\n",
     "compose.yaml:5:17: service 'a': 'ports.target' must be a port number (0-65535), got "
     "\"70000\""},
    {"extra host without address", "services:\n  a:\n    image: x\n    extra_hosts: [justahost]\n",
     "compose.yaml:4:19: service 'a': invalid additional host, missing IP: justahost"},
    {"unbalanced quote in command", "services:\n  a:\n    image: x\n    command: echo \"oops\n",
     "compose.yaml:4:14: service 'a': 'command': invalid command line string \"echo \"oops\" "
     "(unbalanced quote, escape or parenthesis)"},
    {"sync watch without target",
     "services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {path: ., action: "
     "sync}\n",
     "compose.yaml:6:11: service 'a': develop.watch: target is required for sync, sync+restart "
     "and sync+exec actions"},
    {"invalid service name", "services:\n  \"my app\": {image: x}\n",
     "compose.yaml:2:3: invalid service name 'my app': use letters, digits, '.', '_' and '-'"},
    {"unknown network key", "services: {}\nnetworks:\n  n:\n    drivr: bridge\n",
     "compose.yaml:4:5: network 'n': unknown key 'drivr' (did you mean 'driver'?)"},
};

static void test_model_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(model_errors); i++) {
		struct compose_project p;
		struct px_error err = PX_ERROR_INIT;

		if (load_doc(&p, "compose.yaml", model_errors[i].yaml, "/nonexistent-proj", NULL,
			     &err) == 0) {
			release(&p);
			fail_msg("%s: loaded without error", model_errors[i].name);
		}
		if (strcmp(px_error_msg(&err), model_errors[i].want) != 0)
			fail_msg("%s:\n got  %s\n want %s", model_errors[i].name,
				 px_error_msg(&err), model_errors[i].want);
		assert_int_equal(p.nservices, 0);
		assert_null(p.services);
		px_error_clear(&err);
	}
}

/* Negative control for the port check: different addresses or protocols do not clash. */
static void test_ports_that_do_not_clash(void **state)
{
	struct compose_project p;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	if (load_doc(
		&p, "compose.yaml",
		"services:\n"
		"  a: {image: x, ports: [\"127.0.0.1:8080:80\", \"53:53/udp\", \"9000-9010:80\"]}\n"
		"  b: {image: x, ports: [\"127.0.0.2:8080:80\", \"53:53/tcp\", \"9000-9010:81\", "
		"\"80\"]}\n"
		"  c: {image: x, ports: [\"80\"]}\n",
		"/proj", NULL, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cast_duration),
	    cmocka_unit_test(test_cast_bool),
	    cmocka_unit_test(test_cast_bytes),
	    cmocka_unit_test(test_shell_split),
	    cmocka_unit_test(test_scalar_text),
	    cmocka_unit_test(test_full_fixture),
	    cmocka_unit_test(test_defaults_and_forms),
	    cmocka_unit_test(test_no_default_network_when_unused),
	    cmocka_unit_test(test_warnings_once_per_key),
	    cmocka_unit_test(test_env_file_required),
	    cmocka_unit_test(test_model_errors),
	    cmocka_unit_test(test_ports_that_do_not_clash),
	};

	return cmocka_run_group_tests_name("compose_model", tests, NULL, NULL);
}
