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

static const char *version_text(int v, char *buf, size_t len)
{
	if (v >= 100000)
		snprintf(buf, len, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(buf, len, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
	return buf;
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
	json_t *jr;
	size_t nrows = 0;
	bool has_table;
	int rc = CHECK_ACTION;

	if (prisma_migrations_read(sc->migrations, &local, &err) < 0)
		goto fail;
	if (cmd_db_migration_rows(c, &has_table, &rows, &nrows, &err) < 0)
		goto fail;
	if (prisma_migration_status(&local, rows, nrows, has_table, NULL, &report) < 0) {
		px_error_set(&err, 0, "cannot compare the migrations");
		goto fail;
	}
	jr = prisma_migration_report_json(&report);
	json_object_update(o, jr);
	json_decref(jr);
	json_object_set_new(o, "managed", json_boolean(has_table));
	if (!json) {
		const char *rel = px_path_below(sc->migrations, p->working_dir);

		print_report(&report, rel != NULL && *rel != '\0' ? rel : sc->migrations);
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
	px_error_clear(&err);
	return rc;
}

static int check_schema(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
			const struct check_opts *co, json_t *all)
{
	struct px_error err = PX_ERROR_INIT;
	struct cmd_db_target t;
	struct db_probe pr = {0};
	struct db_conn *c = NULL;
	char *explain = NULL;
	json_t *o = json_object();
	int rc = CHECK_ACTION, trc;
	char ver[32];

	json_object_set_new(o, "schema", json_string(sc->name));
	json_object_set_new(o, "dbType", json_string("postgresql"));
	trc = cmd_db_target(cx, sc, &t, &err);
	if (t.where == NULL) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		if (!co->json)
			printf("%s\n  database   %s\n", sc->name, px_error_msg(&err));
		goto out;
	}
	json_object_set_new(o, "source", json_string(t.where));
	if (t.masked != NULL)
		json_object_set_new(o, "url", json_string(t.masked));
	if (!co->json)
		printf("%s  (%s)\n  database   %s\n", sc->name, t.where,
		       t.masked != NULL ? t.masked : "");
	if (trc < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		if (!co->json)
			printf("  error      %s\n", px_error_msg(&err));
		goto out;
	}
	{
		const char *addr = db_conninfo_get(t.keys, t.values, "hostaddr");
		const char *port = db_conninfo_get(t.keys, t.values, "port");

		if (addr != NULL) {
			json_object_set_new(o, "via", json_pack("{s:s,s:s?}", "host", addr, "port",
								port));
			if (!co->json)
				printf("  via        %s:%s\n", addr, port != NULL ? port : "5432");
		}
	}
	if (db_probe(&c, (const char *const *)t.keys, (const char *const *)t.values, &co->probe,
		     &pr) < 0) {
		char *msg = pr.error != NULL ? px_mask_urls(pr.error) : xstrdup("");

		explain = db_failure_explain(pr.failure, t.keys, t.values);
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
	if (cmd_db_session(c, &t, &err) < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		if (!co->json)
			printf("  error      %s\n", px_error_msg(&err));
		goto out;
	}
	rc = check_migrations(c, cx->p, sc, o, co->json);
out:
	json_object_set_new(o, "ok", json_boolean(rc == CHECK_OK));
	json_array_append_new(all, o);
	db_close(c);
	db_probe_release(&pr);
	cmd_db_target_release(&t);
	px_error_clear(&err);
	free(explain);
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
	struct cmd_db_ctx cx = {0};
	struct compose_project_ref ref = {0};
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	const char *only = NULL;
	json_t *all = json_array();
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
	if (cmd_project_load(ctx, &ref, &p, false, &err) < 0) {
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
	cmd_db_ctx_release(&cx);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	px_error_clear(&err);
	return worst;
}

const struct cmd cmd_db_check = {
    .name = "db-check",
    .summary = "is the database reachable, does it exist, where do its migrations stand",
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
