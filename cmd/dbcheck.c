/* dbcheck.c - `prisync db-check`: for every schema's database, in one screen, whether it is
 * reachable, whether it exists, where its migrations stand, and what to run next. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "db/db.h"
#include "prisma/prisma.h"

/* Exit codes of db-check (issue: 0 in order, 1 needs action, 2 cannot be reached). */
enum { CHECK_OK = 0, CHECK_ACTION = 1, CHECK_UNREACHABLE = 2 };

struct check_opts {
	struct db_probe_opts probe;
	bool json;
};

/* The engine, opened only when a URL names a compose service. */
struct check_ctx {
	const struct compose_project *p;
	struct engine *engine;
	bool engine_tried;
};

static const char *version_text(int v, char *buf, size_t len)
{
	if (v >= 100000)
		snprintf(buf, len, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(buf, len, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
	return buf;
}

/* The routes to compose services the URL's hosts name: from the running containers first
 * (ephemeral ports, container addresses), then what compose.yaml alone says. */
static void route_services(struct check_ctx *cx, const struct db_url *u, struct db_host_map *map)
{
	for (size_t i = 0; i < u->nhosts; i++) {
		const char *name = u->hosts[i].name;
		unsigned port = u->hosts[i].port != 0 ? u->hosts[i].port : 5432;
		struct px_error err = PX_ERROR_INIT;
		char *host = NULL;
		int hport = 0;

		if (compose_project_service(cx->p, name) == NULL)
			continue;
		if (!cx->engine_tried) {
			cx->engine_tried = true;
			if (engine_open(&cx->engine, NULL, &err) < 0 || engine_ping(cx->engine, &err) < 0) {
				px_debug("no engine to find service '%s': %s", name, px_error_msg(&err));
				engine_free(cx->engine);
				cx->engine = NULL;
				px_error_clear(&err);
			}
		}
		if (cx->engine != NULL &&
		    stack_service_address(cx->engine, cx->p->name, name, (int)port, &host, &hport,
					  &err) == 0)
			db_host_map_add(map, name, port, host, (unsigned)hport);
		px_error_clear(&err);
		free(host);
	}
	db_host_map_add_compose(map, cx->p);
}

/* _prisma_migrations as rows (oldest first), aliased so that every column has a name. */
static const char list_rows_sql[] =
    "SELECT id, migration_name, checksum, logs, "
    "(extract(epoch FROM started_at) * 1000000)::bigint AS started_us, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint AS finished_us, "
    "(extract(epoch FROM rolled_back_at) * 1000000)::bigint AS rolled_back_us, "
    "applied_steps_count FROM _prisma_migrations ORDER BY started_at ASC";

static char *dup_field(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));

	return v != NULL ? xstrdup(v) : NULL;
}

static int64_t us_field(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));

	return v != NULL ? strtoll(v, NULL, 10) * 1000 : 0;
}

static struct prisma_migration_row *rows_from_json(const json_t *rows, size_t *n)
{
	struct prisma_migration_row *v = xcalloc(json_array_size(rows) + 1, sizeof(*v));
	const json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
	{
		v[i].id = dup_field(r, "id");
		v[i].name = dup_field(r, "migration_name");
		v[i].checksum = dup_field(r, "checksum");
		v[i].logs = dup_field(r, "logs");
		v[i].started_at_ns = us_field(r, "started_us");
		v[i].finished_at_ns = us_field(r, "finished_us");
		v[i].rolled_back_at_ns = us_field(r, "rolled_back_us");
		v[i].finished = json_is_string(json_object_get(r, "finished_us"));
		v[i].rolled_back = json_is_string(json_object_get(r, "rolled_back_us"));
		v[i].applied_steps =
		    (int)strtol(json_string_value(json_object_get(r, "applied_steps_count")) ?: "0",
				NULL, 10);
	}
	*n = json_array_size(rows);
	return v;
}

static void print_report(const struct prisma_migration_report *r, const char *dir)
{
	static const char *const states[] = {"applied", "pending", "failed", "rolled back",
					     "modified", "missing locally"};
	bool first = true;

	printf("  migrations %s: ", dir);
	for (size_t s = 0; s <= PRISMA_MIGRATION_MISSING_LOCALLY; s++) {
		if (r->count[s] == 0)
			continue;
		printf("%s%zu %s", first ? "" : ", ", r->count[s], states[s]);
		first = false;
	}
	printf("%s\n", first ? (r->folder_exists ? "none" : "no folder") : "");
	for (size_t i = 0; i < r->n; i++)
		printf("    %-40s %s\n", r->v[i].name, states[r->v[i].state]);
	if (r->provider_mismatch)
		printf("  lock       migration_lock.toml says %s, the schema %s\n",
		       r->lock_provider != NULL ? r->lock_provider : "?",
		       r->expected_provider != NULL ? r->expected_provider : "postgresql");
	printf("  next       %s\n", r->recommendation);
}

/* Where the migrations stand, into o (the JSON of the schema); returns the exit class. */
static int check_migrations(struct db_conn *c, const struct compose_project *p,
			    const struct compose_prisync_schema *sc, json_t *o, bool json)
{
	struct px_error err = PX_ERROR_INIT;
	struct prisma_migration_dir local = {0};
	struct prisma_migration_report report = {0};
	struct prisma_migration_row *rows = NULL;
	json_t *jrows = NULL, *jr;
	char *managed = NULL;
	size_t nrows = 0;
	bool has_table;
	int rc = CHECK_ACTION;

	if (prisma_migrations_read(sc->migrations, &local, &err) < 0)
		goto fail;
	/* the table lives where search_path (the URL's schema=) points */
	if (db_query_value(c, "SELECT to_regclass('_prisma_migrations') IS NOT NULL", 0, NULL,
			   &managed, &err) < 0)
		goto fail;
	has_table = managed != NULL && managed[0] == 't';
	if (has_table) {
		if (db_query_json(c, list_rows_sql, 0, NULL, &jrows, &err) < 0)
			goto fail;
		rows = rows_from_json(jrows, &nrows);
	}
	if (prisma_migration_status(&local, rows, nrows, has_table, NULL, &report) < 0) {
		px_error_set(&err, 0, "cannot compare the migrations");
		goto fail;
	}
	jr = prisma_migration_report_json(&report);
	json_object_update(o, jr);
	json_decref(jr);
	json_object_set_new(o, "managed", json_boolean(has_table));
	if (!json) {
		size_t n = strlen(p->working_dir);
		const char *rel = strncmp(sc->migrations, p->working_dir, n) == 0 &&
					  sc->migrations[n] == '/'
				      ? sc->migrations + n + 1
				      : sc->migrations;

		print_report(&report, rel);
	}
	rc = report.up_to_date ? CHECK_OK : CHECK_ACTION;
	goto out;
fail:
	json_object_set_new(o, "error", json_string(px_error_msg(&err)));
	if (!json)
		printf("  error      %s\n", px_error_msg(&err));
out:
	prisma_migration_report_release(&report);
	prisma_migration_rows_free(rows, nrows);
	prisma_migration_dir_release(&local);
	json_decref(jrows);
	free(managed);
	px_error_clear(&err);
	return rc;
}

static int check_schema(struct check_ctx *cx, const struct compose_prisync_schema *sc,
			const struct check_opts *co, json_t *all)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_url u = {0};
	struct db_host_map map = {0};
	struct db_probe pr = {0};
	struct db_conn *c = NULL;
	char **keys = NULL, **values = NULL;
	char *url = NULL, *where = NULL, *masked = NULL, *explain = NULL, *dir = NULL;
	json_t *o = json_object();
	int rc = CHECK_ACTION;
	char ver[32];

	json_object_set_new(o, "schema", json_string(sc->name));
	json_object_set_new(o, "dbType", json_string("postgresql"));
	if (db_url_resolve(cx->p, sc, &url, &where, NULL, &err) < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		if (!co->json)
			printf("%s\n  database   %s\n", sc->name, px_error_msg(&err));
		goto out;
	}
	masked = db_url_mask(url);
	json_object_set_new(o, "source", json_string(where));
	json_object_set_new(o, "url", json_string(masked));
	if (!co->json)
		printf("%s  (%s)\n  database   %s\n", sc->name, where, masked);
	if (db_url_parse(url, &u, &err) < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		if (!co->json)
			printf("  error      %s\n", px_error_msg(&err));
		goto out;
	}
	route_services(cx, &u, &map);
	dir = sc->schema_is_dir ? xstrdup(sc->schema) : px_path_dirname(sc->schema);
	if (db_url_conninfo(&u, &map, dir, &keys, &values, &err) < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		if (!co->json)
			printf("  error      %s\n", px_error_msg(&err));
		goto out;
	}
	{
		const char *addr = db_conninfo_get(keys, values, "hostaddr");
		const char *port = db_conninfo_get(keys, values, "port");

		if (addr != NULL) {
			json_object_set_new(o, "via", json_pack("{s:s,s:s?}", "host", addr, "port",
								port));
			if (!co->json)
				printf("  via        %s:%s\n", addr, port != NULL ? port : "5432");
		}
	}
	if (db_probe(&c, (const char *const *)keys, (const char *const *)values, &co->probe,
		     &pr) < 0) {
		char *msg = pr.error != NULL ? px_mask_urls(pr.error) : xstrdup("");

		explain = db_failure_explain(pr.failure, keys, values);
		json_object_set_new(o, "reachable", json_false());
		json_object_set_new(o, "failure", json_string(db_failure_name(pr.failure)));
		json_object_set_new(o, "error", json_string(msg));
		json_object_set_new(o, "recommendation", json_string(explain));
		json_object_set_new(o, "attempts", json_integer(pr.attempts));
		if (!co->json) {
			printf("  reachable  no — %s (%d attempt%s)\n  error      %s\n  next       %s\n",
			       db_failure_name(pr.failure), pr.attempts, pr.attempts == 1 ? "" : "s",
			       msg, explain);
		}
		rc = pr.failure == DB_NO_DATABASE ? CHECK_ACTION : CHECK_UNREACHABLE;
		free(msg);
		goto out;
	}
	json_object_set_new(o, "reachable", json_true());
	json_object_set_new(o, "serverVersion",
			    json_string(version_text(pr.server_version, ver, sizeof(ver))));
	json_object_set_new(o, "connectMs", json_real((double)(long)(pr.connect_ms * 100) / 100));
	json_object_set_new(o, "rttMs", json_real((double)(long)(pr.rtt_ms * 100) / 100));
	if (!co->json)
		printf("  reachable  yes — PostgreSQL %s, connected in %.1f ms, round trip %.1f ms\n",
		       ver, pr.connect_ms, pr.rtt_ms);
	rc = check_migrations(c, cx->p, sc, o, co->json);
out:
	json_object_set_new(o, "ok", json_boolean(rc == CHECK_OK));
	json_array_append_new(all, o);
	db_close(c);
	db_probe_release(&pr);
	db_conninfo_free(keys, values);
	db_host_map_release(&map);
	db_url_release(&u);
	px_error_clear(&err);
	free(url);
	free(where);
	free(masked);
	free(explain);
	free(dir);
	return rc;
}

static int dbcheck_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_SCHEMA, OPT_RETRIES, OPT_TIMEOUT };
	static const struct option opts[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"schema", required_argument, NULL, OPT_SCHEMA},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct check_opts co = {{3, 5}, false};
	struct check_ctx cx = {0};
	struct compose_project_ref ref = {0};
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	const char *only = NULL;
	json_t *all = json_array();
	char *cwd = NULL;
	int opt, worst = CHECK_OK, n;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_JSON:
			co.json = true;
			break;
		case OPT_SCHEMA:
			only = optarg;
			break;
		case OPT_RETRIES:
			n = cmd_parse_seconds(&cmd_db_check, "--retries", optarg);
			if (n < 0)
				return CMD_USAGE;
			co.probe.attempts = n + 1;
			break;
		case OPT_TIMEOUT:
			n = cmd_parse_seconds(&cmd_db_check, "--timeout", optarg);
			if (n < 0)
				return CMD_USAGE;
			co.probe.timeout_s = n > 0 ? n : 1;
			break;
		case 'h':
			fputs(cmd_db_check.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_db_check, argc, argv, opt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_db_check, "unexpected argument '%s'", argv[optind]);
	cwd = getcwd(NULL, 0);
	if (cwd == NULL || compose_project_resolve(&ref, &ctx->opts, cwd, &err) < 0 ||
	    compose_load(&p, &ref, &ctx->opts, &err) < 0) {
		if (cwd == NULL)
			px_error_set(&err, errno, "cannot get the current directory");
		px_error_log("%s", px_error_msg(&err));
		worst = CMD_FAILED;
		goto out;
	}
	cx.p = p;
	if (only != NULL) {
		bool known = false;

		for (size_t i = 0; i < p->prisync.nschemas && !known; i++)
			known = strcmp(p->prisync.schemas[i].name, only) == 0;
		if (!known) {
			px_error_log("no schema named '%s'", only);
			worst = CMD_USAGE;
			goto out;
		}
	}
	if (p->prisync.nschemas == 0) {
		px_error_log("no Prisma schema found: add an x-prisync block to the compose file, "
			     "or a prisma/schema.prisma");
		worst = CMD_FAILED;
		goto out;
	}
	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];
		int rc;

		if (only != NULL && strcmp(only, sc->name) != 0)
			continue;
		if (!co.json && i > 0)
			fputc('\n', stdout);
		rc = check_schema(&cx, sc, &co, all);
		worst = rc > worst ? rc : worst;
	}
	if (co.json) {
		json_t *doc = json_pack("{s:b,s:O}", "ok", worst == CHECK_OK, "schemas", all);

		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	}
out:
	fflush(stdout);
	json_decref(all);
	engine_free(cx.engine);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	px_error_clear(&err);
	free(cwd);
	return worst;
}

const struct cmd cmd_db_check = {
    .name = "db-check",
    .summary = "Is the database reachable, does it exist, where do its migrations stand",
    .usage = "Usage: prisync db-check [--schema NAME] [--json] [--retries N] [--timeout S]\n"
	     "\n"
	     "For every schema's database (or NAME's): the URL it uses and where it came from\n"
	     "(password masked), whether it answers (up to 1 + N attempts, 1 s, 2 s, 4 s apart,\n"
	     "S seconds each; default 2 retries, 5 s), the server version and round trip, and\n"
	     "the state of every migration against _prisma_migrations, with what to run next.\n"
	     "A URL whose host is a compose service is reached through its published port.\n"
	     "\n"
	     "Exit status: 0 in order, 1 something needs action, 2 a database cannot be reached.\n",
    .run = dbcheck_run,
};
