/* dbcreate.c - `prisync db-create` (the database made when it is missing, through the
 * maintenance database `postgres`) and `prisync db-reset` (dropped, created, migrated,
 * synced -- for local development databases only, and only when confirmed). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "db/db.h"

struct dbcreate_opts {
	const char *only; /* --schema */
	bool reset;       /* db-reset */
	bool yes, force, no_sync;
};

/* libpq parameters with dbname replaced by the maintenance database (owned arrays, the
 * strings borrowed from keys/values). */
static void maintenance(char *const *keys, char *const *values, const char ***mk,
			const char ***mv)
{
	size_t n = 0;

	while (keys[n] != NULL)
		n++;
	*mk = xcalloc(n + 2, sizeof(**mk));
	*mv = xcalloc(n + 2, sizeof(**mv));
	for (size_t i = 0, j = 0; i < n; i++) {
		if (strcmp(keys[i], "dbname") == 0)
			continue;
		(*mk)[j] = keys[i];
		(*mv)[j++] = values[i];
	}
	for (size_t j = 0;; j++) {
		if ((*mk)[j] == NULL) {
			(*mk)[j] = "dbname";
			(*mv)[j] = "postgres";
			break;
		}
	}
}

/* A database prisync may reset without --force: on this machine (a local host, a unix
 * socket) or in a container of the project (a compose service, routed by hostaddr). */
static bool local_target(const struct compose_project *p, char *const *keys, char *const *values)
{
	const char *host = db_conninfo_get(keys, values, "host");
	const char *addr = db_conninfo_get(keys, values, "hostaddr");

	if (addr != NULL || host == NULL || host[0] == '/')
		return true;
	return strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
	       strcmp(host, "::1") == 0 || compose_project_service(p, host) != NULL;
}

/* Interactive confirmation: the database's name typed back. */
static bool confirmed(const char *dbname, const char *masked)
{
	char line[256];

	if (!isatty(STDIN_FILENO))
		return false;
	fprintf(stderr, "This drops database '%s' (%s) with all its data.\n"
			"Type its name to go on: ",
		dbname, masked);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return strcmp(line, dbname) == 0;
}

static int drop_database(struct db_conn *m, const char *dbname, struct px_error *err)
{
	const char *params[1] = {dbname};
	json_t *rows = NULL;

	/* an app still connected would make DROP DATABASE fail: end its sessions first */
	if (db_query_json(m,
			  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
			  "WHERE datname = $1 AND pid <> pg_backend_pid()",
			  1, params, &rows, err) < 0)
		return -1;
	json_decref(rows);
	return db_database_drop(m, dbname, true, err);
}

/* One schema's database: created when missing, or (reset) dropped and created. */
static int one(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
	       const struct dbcreate_opts *o, struct px_error *err)
{
	struct cmd_db_target t = {0};
	struct db_conn *m = NULL;
	const char **mk = NULL, **mv = NULL;
	const char *dbname;
	bool exists = false;
	int ret = -1;

	if (cmd_db_target(cx, sc, &t, err) < 0)
		goto out;
	dbname = db_conninfo_get(t.keys, t.values, "dbname");
	if (dbname == NULL || strcmp(dbname, "postgres") == 0) {
		px_error_set(err, 0, "schema '%s': the URL names %s — prisync creates and resets "
				     "an application's own database only",
			     sc->name, dbname == NULL ? "no database" : "the maintenance database");
		goto out;
	}
	if (o->reset && !o->force && !local_target(cx->p, t.keys, t.values)) {
		px_error_set(err, 0,
			     "schema '%s': %s is neither on this machine nor a service of the "
			     "project; resetting it needs --force",
			     sc->name, t.masked);
		goto out;
	}
	if (o->reset && !o->yes && !confirmed(dbname, t.masked)) {
		px_error_set(err, 0, "schema '%s': not confirmed — run with --yes to reset '%s'",
			     sc->name, dbname);
		goto out;
	}
	maintenance(t.keys, t.values, &mk, &mv);
	if (db_connect_params(&m, mk, mv, 5, err) < 0) {
		char *why = db_failure_explain(db_failure_classify(err->sqlstate, px_error_msg(err)),
					       t.keys, t.values);

		px_error_wrap(err, "schema '%s': %s (%s)", sc->name, t.masked, why);
		free(why);
		goto out;
	}
	if (db_database_exists(m, dbname, &exists, err) < 0)
		goto out;
	if (o->reset && exists) {
		if (drop_database(m, dbname, err) < 0)
			goto out;
		px_info("%s: database '%s' dropped", sc->name, dbname);
		exists = false;
	}
	if (exists) {
		px_info("%s: database '%s' already exists", sc->name, dbname);
	} else {
		if (db_database_create(m, dbname, err) < 0)
			goto out;
		px_info("%s: database '%s' created", sc->name, dbname);
	}
	ret = 0;
out:
	db_close(m);
	free(mk);
	free(mv);
	cmd_db_target_release(&t);
	return ret;
}

static int run(const struct cmd *c, struct cmd_ctx *ctx, int argc, char **argv, bool reset)
{
	enum { OPT_SCHEMA = 256, OPT_YES, OPT_FORCE, OPT_NO_SYNC };
	static const struct option opts[] = {
	    {"schema", required_argument, NULL, OPT_SCHEMA},
	    {"yes", no_argument, NULL, OPT_YES},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"no-sync", no_argument, NULL, OPT_NO_SYNC},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct dbcreate_opts o = {.reset = reset};
	struct compose_project_ref ref = {0};
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	struct cmd_db_ctx cx = {0};
	bool known = false;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SCHEMA:
			o.only = optarg;
			break;
		case OPT_YES:
		case OPT_FORCE:
		case OPT_NO_SYNC:
			if (!reset)
				return cmd_usage_error(c, "'%s' belongs to db-reset", argv[optind - 1]);
			o.yes = o.yes || opt == OPT_YES;
			o.force = o.force || opt == OPT_FORCE;
			o.no_sync = o.no_sync || opt == OPT_NO_SYNC;
			break;
		case 'h':
			fputs(c->usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(c, argc, argv, opt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (cmd_project_load(ctx, &ref, &p, false, &err) < 0)
		goto out;
	cx.p = p;
	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];

		if (o.only != NULL && strcmp(o.only, sc->name) != 0)
			continue;
		known = true;
		if (one(&cx, sc, &o, &err) < 0)
			goto out;
	}
	if (!known) {
		px_error_set(&err, 0, o.only != NULL ? "no schema named '%s'" : "no Prisma schema found%s",
			     o.only != NULL ? o.only : "");
		goto out;
	}
	rc = CMD_OK;
	if (reset) {
		/* then every migration and the sync, as `prisync migrate` does them */
		char *margv[5] = {"migrate", NULL, NULL, NULL, NULL};
		int n = 1;

		if (o.only != NULL) {
			margv[n++] = "--schema";
			margv[n++] = (char *)o.only;
		}
		if (o.no_sync)
			margv[n++] = "--no-sync";
		optind = 0;
		rc = cmd_migrate.run(ctx, n, margv);
	}
out:
	if (err.msg != NULL)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	cmd_db_ctx_release(&cx);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	return rc;
}

static int dbcreate_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	return run(&cmd_db_create, ctx, argc, argv, false);
}

static int dbreset_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	return run(&cmd_db_reset, ctx, argc, argv, true);
}

const struct cmd cmd_db_create = {
    .name = "db-create",
    .summary = "create every schema's database when it is missing",
    .usage = "Usage: prisync db-create [--schema NAME]\n"
	     "\n"
	     "Create the database of every schema (or NAME's) when it does not exist, through\n"
	     "the server's maintenance database `postgres` with the same credentials.  A\n"
	     "database that exists is left as it is (exit 0).\n",
    .run = dbcreate_run,
};

const struct cmd cmd_db_reset = {
    .name = "db-reset",
    .summary = "drop and recreate a development database, migrate it, sync",
    .usage = "Usage: prisync db-reset [--yes] [--force] [--schema NAME] [--no-sync]\n"
	     "\n"
	     "Drop the database of every schema (or NAME's), ending the sessions still\n"
	     "connected to it, create it again, apply every migration (prisync migrate) and\n"
	     "sync the client.  Asks for the database's name to be typed back unless --yes\n"
	     "(without a terminal, --yes is required).  Only databases on this machine or in\n"
	     "a container of the project, unless --force.\n"
	     "\n"
	     "  --yes       do not ask\n"
	     "  --force     also a database on another host\n"
	     "  --no-sync   do not sync the client after migrating\n",
    .run = dbreset_run,
};
