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

/* One schema's database, into o (its db-check --json object), printed unless co->json;
 * returns the exit class. */
static int check_schema(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
			const struct check_opts *co, json_t *o, struct cmd_db_live_conn *keep)
{
	struct px_error err = PX_ERROR_INIT;
	struct cmd_db_target t;
	struct db_probe pr = {0};
	struct db_conn *c = NULL;
	char *explain = NULL;
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
	if (keep != NULL && json_object_get(o, "error") == NULL) {
		/* in order or not, the connection works: the next check reuses it */
		keep->url = xstrdup(t.url);
		keep->c = c;
		/* what the next checks on it repeat: the probe's findings and the route */
		keep->probe = json_pack("{s:b,s:O,s:O,s:O}", "reachable", 1, "serverVersion",
					json_object_get(o, "serverVersion"), "connectMs",
					json_object_get(o, "connectMs"), "rttMs",
					json_object_get(o, "rttMs"));
		if (json_object_get(o, "via") != NULL)
			json_object_set(keep->probe, "via", json_object_get(o, "via"));
		c = NULL;
	}
out:
	json_object_set_new(o, "ok", json_boolean(rc == CHECK_OK));
	db_close(c);
	db_probe_release(&pr);
	cmd_db_target_release(&t);
	px_error_clear(&err);
	free(explain);
	return rc;
}

int cmd_db_check_one(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
		     const struct db_probe_opts *probe, json_t *o)
{
	const struct check_opts co = {*probe, true};

	return check_schema(cx, sc, &co, o, NULL);
}

/* Close a kept connection; the entry (its schema) stays. */
static void live_conn_release(struct cmd_db_live_conn *lc)
{
	db_close(lc->c);
	free(lc->url);
	json_decref(lc->probe);
	lc->c = NULL;
	lc->url = NULL;
	lc->probe = NULL;
}

/* The migrations part on a kept connection, when it is still for the URL the schema now
 * resolves to and still answers: 0 with o filled and *rc set, -1 to check afresh.  The
 * URL is compared before any routing (no engine call): a service that moved breaks the
 * connection, and the fresh check routes again. */
static int check_on_kept(struct cmd_db_live *l, struct cmd_db_live_conn *lc,
			 const struct compose_prisync_schema *sc, json_t *o, int *rc)
{
	struct px_error err = PX_ERROR_INIT;
	char *url = NULL, *where = NULL, *masked = NULL;
	json_t *tmp = NULL;
	int ret = -1;

	if (lc->c == NULL || db_url_resolve(l->cx.p, sc, &url, &where, NULL, &err) < 0 ||
	    strcmp(url, lc->url) != 0)
		goto out;
	masked = db_url_mask(url);
	tmp = json_pack("{s:s,s:s,s:s,s:s?}", "schema", sc->name, "dbType", "postgresql",
			"source", where, "url", masked);
	json_object_update(tmp, lc->probe);
	*rc = check_migrations(lc->c, l->cx.p, sc, tmp, true);
	if (json_object_get(tmp, "error") != NULL)
		goto out; /* most likely the connection is gone: afresh */
	json_object_set_new(tmp, "ok", json_boolean(*rc == CHECK_OK));
	json_object_update(o, tmp);
	ret = 0;
out:
	if (ret < 0)
		live_conn_release(lc);
	json_decref(tmp);
	free(url);
	free(where);
	free(masked);
	px_error_clear(&err);
	return ret;
}

int cmd_db_check_live(struct cmd_db_live *l, const struct compose_project *p,
		      const struct compose_prisync_schema *sc, json_t *o)
{
	/* the supervisor's loop asks this: nothing may take long, a paused database included */
	const struct check_opts co = {{1, 1, 2000}, true};
	struct cmd_db_live_conn *lc = NULL;
	int rc;

	/* a reload replaces the model: the routes and URLs are looked up in the current one */
	l->cx.p = p;
	for (size_t i = 0; i < l->n && lc == NULL; i++)
		if (strcmp(l->v[i].schema, sc->name) == 0)
			lc = &l->v[i];
	if (lc == NULL) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		lc = &l->v[l->n++];
		memset(lc, 0, sizeof(*lc));
		lc->schema = xstrdup(sc->name);
	}
	if (check_on_kept(l, lc, sc, o, &rc) == 0)
		return rc;
	return check_schema(&l->cx, sc, &co, o, lc);
}

void cmd_db_live_release(struct cmd_db_live *l)
{
	for (size_t i = 0; i < l->n; i++) {
		live_conn_release(&l->v[i]);
		free(l->v[i].schema);
	}
	free(l->v);
	cmd_db_ctx_release(&l->cx);
	memset(l, 0, sizeof(*l));
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
	struct check_opts co = {{3, 5, 0}, false};
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
	/* a server that accepted the connection and then stopped answering (paused, hung)
	 * gets no longer than one attempt would */
	co.probe.query_timeout_ms = co.probe.timeout_s * 1000;
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
		json_t *o;
		int rc;

		if (only != NULL && strcmp(only, sc->name) != 0)
			continue;
		if (!co.json && i > 0)
			fputc('\n', stdout);
		o = json_object();
		rc = check_schema(&cx, sc, &co, o, NULL);
		json_array_append_new(all, o);
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
	     "S seconds each, and S for each query; default 2 retries, 5 s), the server version\n"
	     "and round trip, and the state of every migration against _prisma_migrations,\n"
	     "with what to run next.\n"
	     "A URL whose host is a compose service is reached through its published port.\n"
	     "\n"
	     "Exit status: 0 in order, 1 something needs action, 2 a database cannot be reached.\n",
    .run = dbcheck_run,
};
