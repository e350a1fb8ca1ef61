/* test_client_fresh.c - stack_client_check() against clients the real `prisma generate`
 * wrote: Prisma 6's prisma-client-js and Prisma 7's prisma-client are fresh right after
 * generating, stay fresh across reformatting and // comments, and turn stale on a new
 * field or a changed /// doc comment; a client in a named volume of the run-in service
 * (node_modules in a volume, the project bound at /app) is read out of its container. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "compose/compose.h"
#include "stack/stack.h"
#include "tests/harness/harness.h"

#define RUN_TIMEOUT_MS  120000
#define NODE_TIMEOUT_MS 120000

struct t {
	struct harness_dir dir;
	struct harness_dir gen; /* where a client is generated for the container test */
	char project[64];
	bool up;
	struct px_buf out, err;
};

/* Version 1 of the schema, with a /// doc comment and a // comment. */
static const char schema_v1_head[] = "generator client {\n"
				     "  provider = \"prisma-client-js\"\n";
static const char schema_v1_body[] = "}\n\n"
				     "datasource db {\n"
				     "  provider = \"postgresql\"\n"
				     "  url      = env(\"DATABASE_URL\")\n"
				     "}\n\n"
				     "/// Someone who signs in\n"
				     "model User {\n"
				     "  id    Int    @id @default(autoincrement())\n"
				     "  email String @unique // the login\n"
				     "}\n";
/* The same schema reformatted, with other // comments: still the same for Prisma */
static const char schema_v1_reformatted_body[] = "}\n"
						 "// a new comment\n"
						 "datasource db {\n"
						 "    provider    =    \"postgresql\"\n\n\n"
						 "    url = env(\"DATABASE_URL\")   // from .env\n"
						 "}\n"
						 "/// Someone who signs in\n"
						 "model User {\n"
						 "id Int @id @default(autoincrement())\n"
						 "\n"
						 "\temail   String   @unique // changed comment\n"
						 "}\n";
/* Only the /// doc comment changed */
static const char schema_v1_doc_body[] = "}\n\n"
					 "datasource db {\n"
					 "  provider = \"postgresql\"\n"
					 "  url      = env(\"DATABASE_URL\")\n"
					 "}\n\n"
					 "/// Someone who logs in\n"
					 "model User {\n"
					 "  id    Int    @id @default(autoincrement())\n"
					 "  email String @unique // the login\n"
					 "}\n";
/* A field added */
static const char schema_v2_body[] = "}\n\n"
				     "datasource db {\n"
				     "  provider = \"postgresql\"\n"
				     "  url      = env(\"DATABASE_URL\")\n"
				     "}\n\n"
				     "/// Someone who signs in\n"
				     "model User {\n"
				     "  id       Int     @id @default(autoincrement())\n"
				     "  email    String  @unique // the login\n"
				     "  nickname String?\n"
				     "}\n";

/* prisma/schema.prisma of dir: head, the generator's extra line, body. */
static void write_schema(const char *dir, const char *gen_line, const char *body)
{
	char *s = NULL;

	xasprintf(&s, "%s%s%s", schema_v1_head, gen_line, body);
	harness_write_file(dir, "prisma/schema.prisma", s);
	free(s);
}

static void generate(struct t *t, const char *dir, const char *install_var)
{
	char *cli = NULL;

	xasprintf(&cli, "%s/node_modules/prisma/build/index.js", harness_env(install_var));
	if (harness_node(dir, &t->out, &t->err, (const char *[]){cli, "generate", NULL}, NULL,
			 NODE_TIMEOUT_MS) != 0)
		fail_msg("prisma generate failed:\n%s\n%s", px_buf_cstr(&t->out),
			 px_buf_cstr(&t->err));
	free(cli);
}

/* The check of a host schema without a compose file: the project is dir. */
static void check_host(const char *dir, struct stack_client_report *r)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_project p = {0};
	struct compose_prisync_schema sc = {0};

	p.name = "fresh";
	p.working_dir = (char *)dir;
	sc.schema = px_path_join(dir, "prisma/schema.prisma");
	sc.run_in = "host";
	if (stack_client_check(NULL, &p, &sc, r, &err) < 0)
		fail_msg("stack_client_check: %s", px_error_msg(&err));
	free(sc.schema);
}

static int setup(void **state)
{
	static int seq;
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	harness_dir_create(&t->gen);
	snprintf(t->project, sizeof(t->project), "pxfresh-%d-%d", (int)getpid(), ++seq);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	int left = t->up ? harness_project_down(&t->dir, t->project) : harness_cleanup();

	harness_dir_remove(&t->dir);
	harness_dir_remove(&t->gen);
	px_buf_release(&t->out);
	px_buf_release(&t->err);
	free(t);
	return left == 0 ? 0 : -1;
}

static void assert_state(const struct stack_client_report *r, enum prisma_client_state want)
{
	if (r->state != want)
		fail_msg("state %s, want %s (difference: %s, reason: %s, client %s in %s)",
			 prisma_client_state_name(r->state), prisma_client_state_name(want),
			 r->difference != NULL ? r->difference : "-",
			 r->reason != NULL ? r->reason : "-", r->client, r->where);
}

/* Prisma 6, prisma-client-js with an output folder (nothing lands in the shared install). */
static void test_prisma6_js_output(void **state)
{
	struct t *t = *state;
	const char *out_line = "  output   = \"../generated/client\"\n";
	struct stack_client_report r;
	char *client = px_path_join(t->dir.root, "generated/client/index.js");
	json_t *j;

	write_schema(t->dir.root, out_line, schema_v1_body);
	harness_link_node_modules(t->dir.root, "PRISYNC_TEST_PRISMA6");

	/* before any generate: missing */
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_MISSING);
	assert_string_equal(r.client, client);
	stack_client_report_release(&r);

	generate(t, t->dir.root, "PRISYNC_TEST_PRISMA6");
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_FRESH);
	assert_string_equal(r.client, client);
	assert_string_equal(r.where, "host");
	assert_string_equal(r.provider, "prisma-client-js");
	assert_non_null(r.generated_version);
	assert_true(strncmp(r.generated_version, "6.", 2) == 0);
	assert_non_null(r.installed_version);
	assert_string_equal(r.generated_version, r.installed_version);
	j = stack_client_report_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "fresh");
	assert_string_equal(json_string_value(json_object_get(j, "client")), client);
	assert_true(json_is_null(json_object_get(j, "difference")));
	json_decref(j);
	stack_client_report_release(&r);

	/* reformatted, // comments added and changed: still fresh without a generate */
	write_schema(t->dir.root, out_line, schema_v1_reformatted_body);
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_FRESH);
	stack_client_report_release(&r);

	/* a /// doc comment is part of the client */
	write_schema(t->dir.root, out_line, schema_v1_doc_body);
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_STALE);
	assert_non_null(strstr(r.difference, "model User"));
	stack_client_report_release(&r);

	/* a new field: stale, and the difference names the model and the field */
	write_schema(t->dir.root, out_line, schema_v2_body);
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_STALE);
	assert_non_null(strstr(r.difference, "model User"));
	assert_non_null(strstr(r.difference, "nickname"));
	j = stack_client_report_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "stale");
	assert_string_equal(json_string_value(json_object_get(j, "difference")), r.difference);
	json_decref(j);
	stack_client_report_release(&r);

	/* and fresh again once generated from it */
	generate(t, t->dir.root, "PRISYNC_TEST_PRISMA6");
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_FRESH);
	stack_client_report_release(&r);
	free(client);
}

/* Prisma 7's prisma-client generator: <output>/internal/class.ts. */
static void test_prisma7_client_output(void **state)
{
	struct t *t = *state;
	static const char config_ts[] = "import { defineConfig } from \"prisma/config\";\n"
					"export default defineConfig({\n"
					"  schema: \"prisma/schema.prisma\",\n"
					"  datasource: { url: process.env.DATABASE_URL },\n"
					"});\n";
	static const char body_v1[] = "  output   = \"../generated/prisma\"\n}\n\n"
				      "datasource db {\n  provider = \"postgresql\"\n}\n\n"
				      "model User {\n  id    Int    @id @default(autoincrement())\n"
				      "  email String @unique\n}\n";
	static const char body_v2[] = "  output   = \"../generated/prisma\"\n}\n\n"
				      "datasource db {\n  provider = \"postgresql\"\n}\n\n"
				      "model User {\n  id    Int    @id @default(autoincrement())\n"
				      "  email String @unique\n  nickname String?\n}\n";
	static const char head7[] = "generator client {\n  provider = \"prisma-client\"\n";
	struct stack_client_report r;
	char *client = px_path_join(t->dir.root, "generated/prisma/internal/class.ts"), *s = NULL;

	harness_write_file(t->dir.root, "prisma.config.ts", config_ts);
	xasprintf(&s, "%s%s", head7, body_v1);
	harness_write_file(t->dir.root, "prisma/schema.prisma", s);
	free(s);
	harness_link_node_modules(t->dir.root, "PRISYNC_TEST_PRISMA7");
	generate(t, t->dir.root, "PRISYNC_TEST_PRISMA7");
	assert_true(px_path_exists(client));

	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_FRESH);
	assert_string_equal(r.client, client);
	assert_string_equal(r.provider, "prisma-client");
	assert_non_null(r.generated_version);
	assert_true(strncmp(r.generated_version, "7.", 2) == 0);
	assert_non_null(r.installed_version);
	assert_string_equal(r.generated_version, r.installed_version);
	stack_client_report_release(&r);

	xasprintf(&s, "%s%s", head7, body_v2);
	harness_write_file(t->dir.root, "prisma/schema.prisma", s);
	free(s);
	check_host(t->dir.root, &r);
	assert_state(&r, PRISMA_CLIENT_STALE);
	assert_non_null(strstr(r.difference, "model User"));
	assert_non_null(strstr(r.difference, "nickname"));
	stack_client_report_release(&r);
	free(client);
}

/*
 * A private node_modules in dir whose @prisma/client is a real directory (its entries
 * linked to the harness's install), so a generate without output writes
 * dir/node_modules/.prisma/client and not into the shared install.
 */
static void private_node_modules(const char *dir, const char *install_var)
{
	struct px_error err = PX_ERROR_INIT;
	const char *inst = harness_env(install_var);
	char *src = NULL, *dst = NULL, *cli = NULL, *cli_link = NULL;
	DIR *d;
	struct dirent *de;

	xasprintf(&dst, "%s/node_modules/@prisma/client", dir);
	xasprintf(&src, "%s/node_modules/@prisma/client", inst);
	if (px_path_mkdir_p(dst, 0755, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	d = opendir(src);
	if (d == NULL)
		fail_msg("opendir '%s': %s", src, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *from = NULL, *to = NULL;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "package.json") == 0)
			continue;
		xasprintf(&from, "%s/%s", src, de->d_name);
		xasprintf(&to, "%s/%s", dst, de->d_name);
		if (symlink(from, to) < 0)
			fail_msg("symlink '%s': %s", to, strerror(errno));
		free(from);
		free(to);
	}
	closedir(d);
	free(src);
	src = NULL;
	{
		struct px_buf pkg = PX_BUF_INIT;
		char *to = px_path_join(dst, "package.json");

		xasprintf(&src, "%s/node_modules/@prisma/client/package.json", inst);
		if (px_path_read_file(src, &pkg, &err) < 0 ||
		    px_path_write_file_atomic(to, pkg.data, pkg.len, 0644, &err) < 0)
			fail_msg("%s", px_error_msg(&err));
		px_buf_release(&pkg);
		free(to);
	}
	xasprintf(&cli, "%s/node_modules/prisma", inst);
	xasprintf(&cli_link, "%s/node_modules/prisma", dir);
	if (symlink(cli, cli_link) < 0)
		fail_msg("symlink '%s': %s", cli_link, strerror(errno));
	free(src);
	free(dst);
	free(cli);
	free(cli_link);
}

/* Append an entry to a tar being written: a directory when data is NULL. */
static void tar_add(struct archive *a, const char *name, const struct px_buf *data)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_copy_pathname(e, name);
	archive_entry_set_mode(e, data == NULL ? (AE_IFDIR | 0755) : (AE_IFREG | 0644));
	archive_entry_set_size(e, data == NULL ? 0 : (la_int64_t)data->len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (data != NULL && data->len > 0)
		assert_int_equal(archive_write_data(a, data->data, data->len),
				 (la_ssize_t)data->len);
	archive_entry_free(e);
}

/* A tar of the generated client's index.js and @prisma/client's package.json laid out as
 * node_modules holds them (names relative to node_modules). */
static void client_tar(const char *gen_dir, struct px_buf *out)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf index = PX_BUF_INIT, pkg = PX_BUF_INIT;
	struct archive *a = archive_write_new();
	size_t cap = 64 << 20, used = 0;
	char *mem = xmalloc(cap), *p1 = NULL, *p2 = NULL;

	xasprintf(&p1, "%s/node_modules/.prisma/client/index.js", gen_dir);
	xasprintf(&p2, "%s/node_modules/@prisma/client/package.json", gen_dir);
	if (px_path_read_file(p1, &index, &err) < 0 || px_path_read_file(p2, &pkg, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	tar_add(a, ".prisma", NULL);
	tar_add(a, ".prisma/client", NULL);
	tar_add(a, ".prisma/client/index.js", &index);
	tar_add(a, "@prisma", NULL);
	tar_add(a, "@prisma/client", NULL);
	tar_add(a, "@prisma/client/package.json", &pkg);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	px_buf_add(out, mem, used);
	free(mem);
	free(p1);
	free(p2);
	px_buf_release(&index);
	px_buf_release(&pkg);
}

static struct compose_project *load_project(const struct t *t)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_options o;
	struct compose_project_ref ref;
	struct compose_project *p = NULL;

	compose_options_init(&o);
	o.project_name = xstrdup(t->project);
	if (compose_project_resolve(&ref, &o, t->dir.root, &err) < 0 ||
	    compose_load(&p, &ref, &o, &err) < 0)
		fail_msg("load: %s", px_error_msg(&err));
	compose_project_ref_release(&ref);
	compose_options_release(&o);
	return p;
}

/* The check of the project's one x-prisync schema, through the engine. */
static void check_project(const struct t *t, struct stack_client_report *r)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_project *p = load_project(t);

	assert_int_equal(p->prisync.nschemas, 1);
	if (stack_client_check(harness_engine(), p, &p->prisync.schemas[0], r, &err) < 0)
		fail_msg("stack_client_check: %s", px_error_msg(&err));
	compose_project_free(p);
}

static char *app_container(const struct t *t)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *list = NULL;
	char *filter = NULL, *id;

	xasprintf(&filter, "com.docker.compose.project=%s", t->project);
	if (engine_container_list(harness_engine(), filter, false, &list, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(json_array_size(list), 1);
	id = xstrdup(json_string_value(json_object_get(json_array_get(list, 0), "Id")));
	json_decref(list);
	free(filter);
	return id;
}

/* node_modules in a named volume of the run-in service: the client is read there. */
static void test_container_volume(void **state)
{
	struct t *t = *state;
	struct px_error err = PX_ERROR_INIT;
	struct stack_client_report r;
	struct px_buf tar = PX_BUF_INIT;
	char *id = NULL;
	char *host_client = px_path_join(t->dir.root, "node_modules/.prisma/client/index.js");
	char *host_pkg = px_path_join(t->dir.root, "node_modules/@prisma/client/package.json");
	int rc;

	/* a client generated without output, as `prisma generate` in the app would */
	write_schema(t->gen.root, "", schema_v1_body);
	private_node_modules(t->gen.root, "PRISYNC_TEST_PRISMA6");
	generate(t, t->gen.root, "PRISYNC_TEST_PRISMA6");
	client_tar(t->gen.root, &tar);

	write_schema(t->dir.root, "", schema_v1_body);
	harness_write_file(t->dir.root, "compose.yaml",
		   "services:\n"
		   "  app:\n"
		   "    image: ${PRISYNC_TEST_IMAGE_BUSYBOX}\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "    volumes: [\".:/app\", \"nm:/app/node_modules\"]\n"
		   "    command: [\"sleep\", \"3600\"]\n"
		   "volumes:\n"
		   "  nm:\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "networks:\n"
		   "  default:\n"
		   "    labels: {prisync-test.run: \"${PRISYNC_TEST_RUN:-none}\"}\n"
		   "x-prisync:\n"
		   "  schemas:\n"
		   "    - name: core\n"
		   "      schema: prisma/schema.prisma\n"
		   "      generate: [\"true\"]\n"
		   "      run-in: app\n"
		   "      restart: []\n");
	t->up = true;
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "up",
			     "-d", "--wait", "--no-supervisor", NULL);
	if (rc != 0)
		fail_msg("up: %s", px_buf_cstr(&t->err));
	/* the host has no client nor @prisma/client (the engine made node_modules there, an
	 * empty mount point): only the container can tell */
	assert_false(px_path_exists(host_client));
	assert_false(px_path_exists(host_pkg));

	/* an empty volume: missing, and where it looked */
	check_project(t, &r);
	assert_state(&r, PRISMA_CLIENT_MISSING);
	assert_string_equal(r.client, "/app/node_modules/.prisma/client/index.js");
	assert_non_null(strstr(r.where, "container "));
	assert_non_null(strstr(r.where, "of service app"));
	assert_null(r.installed_version);
	stack_client_report_release(&r);

	id = app_container(t);
	if (engine_container_put_archive(harness_engine(), id, "/app/node_modules", tar.data,
					 tar.len, false, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	/* it went into the volume, not through to the host */
	assert_false(px_path_exists(host_client));
	assert_false(px_path_exists(host_pkg));

	check_project(t, &r);
	assert_state(&r, PRISMA_CLIENT_FRESH);
	assert_string_equal(r.client, "/app/node_modules/.prisma/client/index.js");
	assert_non_null(strstr(r.where, "of service app"));
	assert_string_equal(r.provider, "prisma-client-js");
	assert_non_null(r.installed_version);
	assert_true(strncmp(r.installed_version, "6.", 2) == 0);
	assert_string_equal(r.generated_version, r.installed_version);
	stack_client_report_release(&r);

	/* the schema changes on the host: stale */
	write_schema(t->dir.root, "", schema_v2_body);
	check_project(t, &r);
	assert_state(&r, PRISMA_CLIENT_STALE);
	assert_non_null(strstr(r.difference, "nickname"));
	stack_client_report_release(&r);

	/* the service stopped: the volume cannot be read, missing with the reason */
	rc = harness_prisync(&t->dir, &t->out, &t->err, RUN_TIMEOUT_MS, "-p", t->project, "stop",
			     "-t", "1", NULL);
	if (rc != 0)
		fail_msg("stop: %s", px_buf_cstr(&t->err));
	check_project(t, &r);
	assert_state(&r, PRISMA_CLIENT_MISSING);
	assert_string_equal(r.where, "service app (not running)");
	assert_non_null(strstr(r.reason, "no running container"));
	stack_client_report_release(&r);

	free(id);
	free(host_client);
	free(host_pkg);
	px_buf_release(&tar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prisma6_js_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prisma7_client_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_volume, setup, teardown),
	};

	return cmocka_run_group_tests_name("client_fresh", tests, NULL, NULL);
}
