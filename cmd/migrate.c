/* migrate.c - `prisync migrate` and `prisync migrate resolve`: Prisma's migrate deploy and
 * migrate resolve, writing _prisma_migrations exactly as the Prisma CLI does (the walkthrough
 * in prisma/prisma.h), so that either tool can take over from the other. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "db/db.h"
#include "prisma/prisma.h"
#include "supervisor/supervisor.h"

/* What every schema's run needs besides the schema. */
struct migrate_opts {
	struct db_probe_opts probe;
	int lock_timeout_s; /* PRISMA_ADVISORY_LOCK_TIMEOUT_S unless the environment says */
	bool lock;          /* false: PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK is set, as in Prisma */
};

enum resolve_op { RESOLVE_NONE, RESOLVE_APPLIED, RESOLVE_ROLLED_BACK };

static void now_param(char out[32])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	prisma_timestamp_format((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, out);
}

/* A started_at as Prisma prints it in P3009 (chrono's DateTime<Utc> display). */
static void started_text(int64_t ns, char *out, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000);
	long us = (long)(ns % 1000000000 / 1000);
	struct tm tm;
	char day[32];

	gmtime_r(&sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	if (us == 0)
		snprintf(out, len, "%s UTC", day);
	else if (us % 1000 == 0)
		snprintf(out, len, "%s.%03ld UTC", day, us / 1000);
	else
		snprintf(out, len, "%s.%06ld UTC", day, us);
}

/* P3019: the lock file names another provider (deploy and resolve --applied check it
 * before anything else). */
static int check_provider(const struct prisma_migration_dir *local, struct px_error *err)
{
	if (local->lock_provider == NULL ||
	    strcmp(local->lock_provider, PRISMA_PROVIDER_POSTGRESQL) == 0)
		return 0;
	return px_error_set(err, 0,
			    "P3019: the datasource provider `%s` specified in your schema does not "
			    "match the one specified in the migration_lock.toml, `%s`. Please "
			    "remove your current migration directory and start a new migration "
			    "history with prisma migrate dev. Read more: "
			    "https://pris.ly/d/migrate-provider-switch",
			    PRISMA_PROVIDER_POSTGRESQL, local->lock_provider);
}

static int take_lock(struct db_conn *c, const struct migrate_opts *mo, struct px_error *err)
{
	if (!mo->lock)
		return 0;
	return db_advisory_lock(c, PRISMA_ADVISORY_LOCK_KEY, mo->lock_timeout_s, err);
}

/* Whether _prisma_migrations exists in schema (the URL's), and whether any other table
 * that counts does (Prisma's test of an empty database), with Prisma's own query. */
static int table_state(struct db_conn *c, const char *schema, bool *has_table, bool *others,
		       struct px_error *err)
{
	struct px_buf arr = PX_BUF_INIT;
	const char *params[1];
	json_t *rows = NULL, *r;
	size_t i;
	int rc;

	/* a text[] literal of one element, quoted so that any schema name survives */
	px_buf_adds(&arr, "{\"");
	for (const char *p = schema; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			px_buf_add(&arr, "\\", 1);
		px_buf_add(&arr, p, 1);
	}
	px_buf_adds(&arr, "\"}");
	params[0] = px_buf_cstr(&arr);
	*has_table = *others = false;
	rc = db_query_json(c, PRISMA_SQL_TABLE_NAMES, 1, params, &rows, err);
	json_array_foreach(rows, i, r)
	{
		const char *name = json_string_value(json_object_get(r, "table_name")) ?: "";

		if (strcmp(name, PRISMA_MIGRATIONS_TABLE) == 0)
			*has_table = true;
		else if (!prisma_table_ignored_when_empty(name))
			*others = true;
	}
	json_decref(rows);
	px_buf_release(&arr);
	return rc;
}

/* Apply one migration as Prisma does: its row first, the script in one call, then the
 * step and the finish -- or the failure's logs and P3018. */
static int apply_one(struct db_conn *c, const struct prisma_migration *m, struct px_error *err)
{
	struct px_buf script = PX_BUF_INIT;
	struct px_error serr = PX_ERROR_INIT;
	char id[37], started[32], finished[32];
	char *db_error = NULL, *logs = NULL;
	int rc = -1;

	if (!m->has_script) {
		px_error_set(err, 0,
			     "P3015: could not find the migration file at %s. Please delete the "
			     "directory or restore the migration file",
			     m->sql_path);
		goto out;
	}
	if (prisma_migration_script_read(m->sql_path, &script, err) < 0 ||
	    prisma_migration_id_new(id, err) < 0)
		goto out;
	printf("Applying migration `%s`\n", m->name);
	fflush(stdout);
	now_param(started);
	{
		const char *p[4] = {id, m->checksum, started, m->name};

		if (db_exec_params(c, PRISMA_SQL_RECORD_STARTED, 4, p, err) < 0)
			goto out;
	}
	if (db_exec_script(c, px_buf_cstr(&script), &db_error, &serr) < 0) {
		const char *p[2];

		logs = prisma_migration_failure_logs(m->name, serr.sqlstate, db_error);
		p[0] = logs;
		p[1] = id;
		if (db_exec_params(c, PRISMA_SQL_RECORD_FAILED, 2, p, err) < 0) {
			px_error_wrap(err, "cannot record the failure of `%s` (%s)", m->name,
				      px_error_msg(&serr));
			goto out;
		}
		/* the logs end with a newline; the message does not */
		logs[strlen(logs) - 1] = '\0';
		px_error_set(err, 0, "P3018: %s", logs);
		goto out;
	}
	{
		const char *step[2] = {"1", id}, *fin[2] = {finished, id};

		if (db_exec_params(c, PRISMA_SQL_RECORD_STEP, 2, step, err) < 0)
			goto out;
		now_param(finished);
		if (db_exec_params(c, PRISMA_SQL_RECORD_FINISHED, 2, fin, err) < 0)
			goto out;
	}
	rc = 0;
out:
	px_buf_release(&script);
	px_error_clear(&serr);
	free(db_error);
	free(logs);
	return rc;
}

/* migrate deploy on one connected database: *napplied counts what was applied. */
static int deploy(struct db_conn *c, const struct prisma_migration_dir *local, const char *schema,
		  const struct migrate_opts *mo, size_t *napplied, struct px_error *err)
{
	struct prisma_migration_row *rows = NULL;
	struct px_buf failed = PX_BUF_INIT;
	size_t nrows = 0;
	bool has_table, others;
	int rc = -1;

	*napplied = 0;
	if (check_provider(local, err) < 0 || take_lock(c, mo, err) < 0 ||
	    table_state(c, schema, &has_table, &others, err) < 0)
		goto out;
	if (!has_table) {
		if (others) {
			px_error_set(err, 0,
				     "P3005: the database schema is not empty. Read more about how "
				     "to baseline an existing production database: "
				     "https://pris.ly/d/migrate-baseline");
			goto out;
		}
		if (db_exec(c, PRISMA_MIGRATIONS_TABLE_DDL, err) < 0) {
			px_error_wrap(err, "cannot create " PRISMA_MIGRATIONS_TABLE);
			goto out;
		}
	}
	if (cmd_db_migration_rows(c, &has_table, &rows, &nrows, err) < 0)
		goto out;
	for (size_t i = 0; i < nrows; i++) {
		char when[64];

		if (rows[i].finished || rows[i].rolled_back)
			continue;
		started_text(rows[i].started_at_ns, when, sizeof(when));
		px_buf_addf(&failed, "\nThe `%s` migration started at %s failed", rows[i].name,
			    when);
	}
	if (failed.len > 0) {
		px_error_set(err, 0,
			     "P3009: migrate found failed migrations in the target database, new "
			     "migrations will not be applied. Read more about how to resolve "
			     "migration issues in a production database: "
			     "https://pris.ly/d/migrate-resolve%s",
			     px_buf_cstr(&failed));
		goto out;
	}
	for (size_t i = 0; i < local->n; i++) {
		const struct prisma_migration *m = &local->v[i];
		bool applied = false;

		/* a row that is not rolled back (finished: none is failed by now) */
		for (size_t j = 0; j < nrows && !applied; j++)
			applied = !rows[j].rolled_back && strcmp(rows[j].name, m->name) == 0;
		if (applied)
			continue;
		if (apply_one(c, m, err) < 0)
			goto out;
		(*napplied)++;
	}
	rc = 0;
out:
	prisma_migration_rows_free(rows, nrows);
	px_buf_release(&failed);
	return rc;
}

static int resolve_applied(struct db_conn *c, const struct prisma_migration_dir *local,
			   const char *schema, const char *name, const struct migrate_opts *mo,
			   struct px_error *err)
{
	const struct prisma_migration *m = prisma_migration_find(local, name);
	struct prisma_migration_row *rows = NULL;
	size_t nrows = 0;
	bool has_table, others;
	char id[37], now[32];
	int rc = -1;

	if (check_provider(local, err) < 0 || take_lock(c, mo, err) < 0)
		goto out;
	if (m == NULL || !m->has_script) {
		px_error_set(
		    err, 0,
		    "P3017: the migration %s could not be found. Please make sure that the "
		    "migration exists, and that you included the whole name of the "
		    "directory. (example: \"20201207184859_initial_migration\")",
		    name);
		goto out;
	}
	/* baselining: the table is created whatever else the database holds */
	if (table_state(c, schema, &has_table, &others, err) < 0)
		goto out;
	if (!has_table && db_exec(c, PRISMA_MIGRATIONS_TABLE_DDL, err) < 0) {
		px_error_wrap(err, "cannot create " PRISMA_MIGRATIONS_TABLE);
		goto out;
	}
	if (cmd_db_migration_rows(c, &has_table, &rows, &nrows, err) < 0)
		goto out;
	for (size_t i = 0; i < nrows; i++) {
		if (strcmp(rows[i].name, name) == 0 && rows[i].finished) {
			px_error_set(err, 0,
				     "P3008: the migration `%s` is already recorded as applied in "
				     "the database",
				     name);
			goto out;
		}
	}
	now_param(now);
	for (size_t i = 0; i < nrows; i++) {
		const char *p[2] = {now, rows[i].id};

		if (strcmp(rows[i].name, name) != 0 || rows[i].rolled_back)
			continue;
		if (db_exec_params(c, PRISMA_SQL_MARK_ROLLED_BACK, 2, p, err) < 0)
			goto out;
	}
	if (prisma_migration_id_new(id, err) < 0)
		goto out;
	{
		const char *p[6] = {id, m->checksum, "", now, now, name};

		if (db_exec_params(c, PRISMA_SQL_MARK_APPLIED, 6, p, err) < 0)
			goto out;
	}
	printf("Migration %s marked as applied.\n", name);
	rc = 0;
out:
	prisma_migration_rows_free(rows, nrows);
	return rc;
}

static int resolve_rolled_back(struct db_conn *c, const char *name, const struct migrate_opts *mo,
			       struct px_error *err)
{
	struct prisma_migration_row *rows = NULL;
	size_t nrows = 0, nfound = 0, nfailed = 0;
	bool has_table;
	char now[32];
	int rc = -1;

	if (take_lock(c, mo, err) < 0 ||
	    cmd_db_migration_rows(c, &has_table, &rows, &nrows, err) < 0)
		goto out;
	if (!has_table) {
		px_error_set(err, 0,
			     "the table " PRISMA_MIGRATIONS_TABLE " does not exist: no migration "
			     "was ever applied to this database");
		goto out;
	}
	for (size_t i = 0; i < nrows; i++) {
		if (strcmp(rows[i].name, name) != 0)
			continue;
		nfound++;
		nfailed += !rows[i].finished && !rows[i].rolled_back;
	}
	if (nfound == 0) {
		px_error_set(err, 0,
			     "P3011: migration `%s` cannot be rolled back because it was never "
			     "applied to the database. Hint: did you pass in the whole migration "
			     "name? (example: \"20201207184859_initial_migration\")",
			     name);
		goto out;
	}
	if (nfailed == 0) {
		px_error_set(err, 0,
			     "P3012: migration `%s` cannot be rolled back because it is not in a "
			     "failed state",
			     name);
		goto out;
	}
	now_param(now);
	for (size_t i = 0; i < nrows; i++) {
		const char *p[2] = {now, rows[i].id};

		if (strcmp(rows[i].name, name) != 0 || rows[i].finished || rows[i].rolled_back)
			continue;
		if (db_exec_params(c, PRISMA_SQL_MARK_ROLLED_BACK, 2, p, err) < 0)
			goto out;
	}
	printf("Migration %s marked as rolled back.\n", name);
	rc = 0;
out:
	prisma_migration_rows_free(rows, nrows);
	return rc;
}

/* The folder relative to the project, for messages. */
static const char *relative(const struct compose_project *p, const char *path)
{
	size_t n = strlen(p->working_dir);

	return strncmp(path, p->working_dir, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/* One schema: connect, read the folder, then deploy or resolve.  0 or -1 (printed). */
static int migrate_schema(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
			  const struct migrate_opts *mo, enum resolve_op op, const char *name)
{
	struct px_error err = PX_ERROR_INIT;
	struct prisma_migration_dir local = {0};
	struct cmd_db_target t = {0};
	struct db_conn *c = NULL;
	const char *dir = relative(cx->p, sc->migrations);
	size_t napplied = 0;
	int rc = -1;

	if (cmd_db_open(cx, sc, &mo->probe, &t, &c, &err) < 0)
		goto out;
	printf("Schema %s: PostgreSQL database %s, schema \"%s\" (%s)\n", sc->name, t.masked,
	       t.schema, t.where);
	if (prisma_migrations_read(sc->migrations, &local, &err) < 0)
		goto out;
	if (op == RESOLVE_APPLIED) {
		rc = resolve_applied(c, &local, t.schema, name, mo, &err);
		goto out;
	}
	if (op == RESOLVE_ROLLED_BACK) {
		rc = resolve_rolled_back(c, name, mo, &err);
		goto out;
	}
	printf("%zu migration%s found in %s\n\n", local.n, local.n == 1 ? "" : "s", dir);
	fflush(stdout);
	rc = deploy(c, &local, t.schema, mo, &napplied, &err);
	if (rc == 0 && napplied == 0)
		printf("No pending migrations to apply.\n");
	else if (rc == 0)
		printf("\n%zu migration%s applied.\n"
		       "All migrations have been successfully applied.\n",
		       napplied, napplied == 1 ? "" : "s");
out:
	fflush(stdout);
	if (rc < 0)
		px_error_log("schema '%s': %s", sc->name, px_error_msg(&err));
	db_close(c);
	cmd_db_target_release(&t);
	prisma_migration_dir_release(&local);
	px_error_clear(&err);
	return rc;
}

/* The sync that makes the client match the migrated database: through the supervisor
 * when one runs, else directly. */
static int sync_after(struct cmd_ctx *ctx, const char *only)
{
	struct px_error err = PX_ERROR_INIT;
	struct cmd_stack cs;
	int fd = -1, rc;

	if (cmd_stack_open(&cs, ctx, false, false, &err) < 0) {
		px_warn("migrated, but the client was not synced: %s — run 'prisync sync'",
			px_error_msg(&err));
		px_error_clear(&err);
		return -1;
	}
	rc = sup_client_connect(cs.project->name, &fd, &err);
	if (rc == 0) {
		rc = cmd_sync_via(fd, only, false, false, &err);
		close(fd);
	} else if (rc == 1) {
		rc = sup_run_direct(cs.engine, cs.project, only, false, false, &err);
	}
	if (rc != 0)
		px_warn("migrated, but the sync failed%s%s — run 'prisync sync'",
			rc < 0 ? ": " : "", rc < 0 ? px_error_msg(&err) : "");
	px_error_clear(&err);
	cmd_stack_close(&cs);
	return rc == 0 ? 0 : -1;
}

static int migrate_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	enum { OPT_SCHEMA = 256, OPT_NO_SYNC, OPT_APPLIED, OPT_ROLLED_BACK };
	static const struct option opts[] = {
	    {"schema", required_argument, NULL, OPT_SCHEMA},
	    {"no-sync", no_argument, NULL, OPT_NO_SYNC},
	    {"applied", required_argument, NULL, OPT_APPLIED},
	    {"rolled-back", required_argument, NULL, OPT_ROLLED_BACK},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* no query bound: a migration takes the time it takes */
	struct migrate_opts mo = {{3, 5, 0}, PRISMA_ADVISORY_LOCK_TIMEOUT_S, true};
	struct compose_project_ref ref = {0};
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	struct cmd_db_ctx cx = {0};
	enum resolve_op op = RESOLVE_NONE;
	const char *only = NULL, *name = NULL, *env;
	bool resolve = false, no_sync = false;
	int opt, rc = CMD_OK;

	if (argc > 1 && strcmp(argv[1], "resolve") == 0) {
		resolve = true;
		argc--;
		argv++;
	}
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SCHEMA:
			only = optarg;
			break;
		case OPT_NO_SYNC:
			no_sync = true;
			break;
		case OPT_APPLIED:
		case OPT_ROLLED_BACK:
			if (!resolve)
				return cmd_usage_error(
				    &cmd_migrate, "%s belongs to 'migrate resolve'",
				    opt == OPT_APPLIED ? "--applied" : "--rolled-back");
			if (op != RESOLVE_NONE)
				return cmd_usage_error(&cmd_migrate,
						       "--applied and --rolled-back "
						       "are exclusive, and given once");
			op = opt == OPT_APPLIED ? RESOLVE_APPLIED : RESOLVE_ROLLED_BACK;
			name = optarg;
			break;
		case 'h':
			fputs(cmd_migrate.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_migrate, argc, argv, opt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_migrate, "unexpected argument '%s'", argv[optind]);
	if (resolve && op == RESOLVE_NONE)
		return cmd_usage_error(&cmd_migrate, "migrate resolve needs --applied NAME or "
						     "--rolled-back NAME");
	if (resolve && no_sync)
		return cmd_usage_error(&cmd_migrate, "--no-sync belongs to 'migrate'");
	if (resolve && name[0] == '\0')
		return cmd_usage_error(&cmd_migrate, "the migration name is empty");
	env = getenv("PRISYNC_MIGRATE_LOCK_TIMEOUT");
	if (env != NULL && env[0] != '\0') {
		char *end;
		long v = strtol(env, &end, 10);

		if (*end != '\0' || v < 1 || v > 86400) {
			px_error_log("PRISYNC_MIGRATE_LOCK_TIMEOUT must be a number of seconds "
				     "(1-86400), not '%s'",
				     env);
			return CMD_USAGE;
		}
		mo.lock_timeout_s = (int)v;
	}
	env = getenv("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK");
	mo.lock = env == NULL || env[0] == '\0';

	if (cmd_project_load(ctx, &ref, &p, false, &err) < 0) {
		px_error_log("%s", px_error_msg(&err));
		rc = CMD_FAILED;
		goto out;
	}
	cx.p = p;
	if (p->prisync.nschemas == 0) {
		px_error_log("no Prisma schema found: add an x-prisync block to the compose file, "
			     "or a prisma/schema.prisma");
		rc = CMD_FAILED;
		goto out;
	}
	if (only != NULL) {
		bool known = false;

		for (size_t i = 0; i < p->prisync.nschemas && !known; i++)
			known = strcmp(p->prisync.schemas[i].name, only) == 0;
		if (!known) {
			px_error_log("no schema named '%s'", only);
			rc = CMD_USAGE;
			goto out;
		}
	} else if (resolve && p->prisync.nschemas > 1) {
		/* a migration name belongs to one history */
		px_error_log("the project has %zu schemas: name the one to resolve with --schema",
			     p->prisync.nschemas);
		rc = CMD_USAGE;
		goto out;
	}
	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];

		if (only != NULL && strcmp(only, sc->name) != 0)
			continue;
		if (i > 0)
			fputc('\n', stdout);
		/* a failed schema stops the run: what follows may depend on it */
		if (migrate_schema(&cx, sc, &mo, op, name) < 0) {
			rc = CMD_FAILED;
			goto out;
		}
	}
	if (!resolve && !no_sync) {
		fputc('\n', stdout);
		fflush(stdout);
		if (sync_after(ctx, only) < 0)
			rc = CMD_FAILED;
	}
out:
	fflush(stdout);
	cmd_db_ctx_release(&cx);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_migrate = {
    .name = "migrate",
    .summary = "apply pending migrations as `prisma migrate deploy` does, then sync",
    .usage = "Usage: prisync migrate [--schema NAME] [--no-sync]\n"
	     "       prisync migrate resolve (--applied NAME | --rolled-back NAME) [--schema S]\n"
	     "\n"
	     "migrate: for every schema's database (or NAME's), apply the migrations of its\n"
	     "folder that are not applied yet, in order, recording each in _prisma_migrations\n"
	     "exactly as `prisma migrate deploy` does (and under the same advisory lock, so\n"
	     "prisync and Prisma never migrate at once).  The first failure stops the run and\n"
	     "is recorded; while a failed migration is unresolved nothing more is applied.\n"
	     "Then the client is synced (as `prisync sync`), unless --no-sync.\n"
	     "\n"
	     "migrate resolve: as `prisma migrate resolve` -- record NAME as applied without\n"
	     "running it (baselining, or after fixing a failure by hand), or record its failed\n"
	     "run as rolled back so that migrate applies it again.  With several schemas,\n"
	     "--schema says which.\n"
	     "\n"
	     "  --schema NAME   only this schema\n"
	     "  --no-sync       do not sync the client after migrating\n"
	     "\n"
	     "Environment: PRISYNC_MIGRATE_LOCK_TIMEOUT (seconds to wait for the advisory lock,\n"
	     "default 10), PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK (set: do not take it).\n"
	     "\n"
	     "Exit status: 0 done, 1 a migration or the sync failed, 2 usage error.\n",
    .run = migrate_run,
};
