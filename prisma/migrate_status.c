/* migrate_status.c - the migrations folder against the _prisma_migrations rows: where each
 * migration stands, whether `prisma migrate status` would be content, and what to run next. */
#include "prisma/prisma.h"

#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

const char *prisma_migration_state_name(enum prisma_migration_state s)
{
	switch (s) {
	case PRISMA_MIGRATION_APPLIED:
		return "applied";
	case PRISMA_MIGRATION_PENDING:
		return "pending";
	case PRISMA_MIGRATION_FAILED:
		return "failed";
	case PRISMA_MIGRATION_ROLLED_BACK:
		return "rolled-back";
	case PRISMA_MIGRATION_MODIFIED:
		return "modified";
	case PRISMA_MIGRATION_MISSING_LOCALLY:
		return "missing-locally";
	}
	return "unknown";
}

/* A row that blocks deploy (apply_migrations.rs detect_failed_migrations). */
static bool row_failed(const struct prisma_migration_row *r)
{
	return !r->finished && !r->rolled_back;
}

/* A row that makes deploy skip the migration: any row not rolled back. */
static bool row_applied(const struct prisma_migration_row *r)
{
	return r->finished && !r->rolled_back;
}

/*
 * The state of one name from its rows (all of them, oldest first), and the row that
 * decided it: a failed row wins (deploy stops on it wherever it is), then the latest
 * applied row, then -- every row rolled back -- the latest row.  local may be NULL.
 */
static enum prisma_migration_state classify(const struct prisma_migration *local,
					    const struct prisma_migration_row *rows, size_t nrows,
					    const char *name,
					    const struct prisma_migration_row **decided)
{
	const struct prisma_migration_row *failed = NULL, *applied = NULL, *any = NULL;

	for (size_t i = 0; i < nrows; i++) {
		const struct prisma_migration_row *r = &rows[i];

		if (r->name == NULL || strcmp(r->name, name) != 0)
			continue;
		any = r;
		if (row_failed(r))
			failed = r;
		else if (row_applied(r))
			applied = r;
	}
	*decided = failed != NULL ? failed : applied != NULL ? applied : any;
	if (failed != NULL)
		return PRISMA_MIGRATION_FAILED;
	if (applied != NULL) {
		if (local == NULL)
			return PRISMA_MIGRATION_MISSING_LOCALLY;
		/* an unreadable script cannot be judged; missing_script reports it */
		if (local->has_script &&
		    !prisma_checksum_matches(local,
					     applied->checksum != NULL ? applied->checksum : ""))
			return PRISMA_MIGRATION_MODIFIED;
		return PRISMA_MIGRATION_APPLIED;
	}
	if (any != NULL)
		return PRISMA_MIGRATION_ROLLED_BACK;
	return PRISMA_MIGRATION_PENDING;
}

static void add_entry(struct prisma_migration_report *r, size_t *cap, const char *name,
		      enum prisma_migration_state state, const struct prisma_migration *local,
		      const struct prisma_migration_row *row)
{
	struct prisma_migration_status *e;

	if (r->n == *cap) {
		*cap = *cap != 0 ? 2 * *cap : 16;
		r->v = xreallocarray(r->v, *cap, sizeof(*r->v));
	}
	e = &r->v[r->n++];
	e->name = xstrdup(name);
	e->state = state;
	e->local = local;
	e->row = row;
	r->count[state]++;
	if (local != NULL &&
	    (state == PRISMA_MIGRATION_PENDING || state == PRISMA_MIGRATION_ROLLED_BACK))
		r->to_apply++;
}

static bool will_apply(const struct prisma_migration_status *e)
{
	return e->local != NULL &&
	       (e->state == PRISMA_MIGRATION_PENDING || e->state == PRISMA_MIGRATION_ROLLED_BACK);
}

static bool missing_locally(const struct prisma_migration_status *e)
{
	/* a failed row of a vanished migration counts too: it is still applied in part */
	return e->local == NULL && e->state != PRISMA_MIGRATION_ROLLED_BACK;
}

/* "A", "A, B", "A, B, C and 2 more" of the entries pick() selects; the count in *n */
static char *names_of(const struct prisma_migration_report *r,
		      bool (*pick)(const struct prisma_migration_status *), size_t *n)
{
	struct px_buf b = PX_BUF_INIT;
	size_t shown = 0;

	*n = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!pick(&r->v[i]))
			continue;
		if (shown < 3) {
			px_buf_addf(&b, "%s%s", shown > 0 ? ", " : "", r->v[i].name);
			shown++;
		}
		(*n)++;
	}
	if (*n > shown)
		px_buf_addf(&b, " and %zu more", *n - shown);
	return px_buf_detach(&b, NULL);
}

static bool is_failed(const struct prisma_migration_status *e)
{
	return e->state == PRISMA_MIGRATION_FAILED;
}

static bool is_modified(const struct prisma_migration_status *e)
{
	return e->state == PRISMA_MIGRATION_MODIFIED;
}

/* The one next step, most blocking problem first. */
static char *recommend(const struct prisma_migration_report *r,
		       const struct prisma_migration_dir *local)
{
	char *names = NULL, *s = NULL;
	size_t n;

	if (r->provider_mismatch) {
		xasprintf(
		    &s,
		    "%s/" PRISMA_MIGRATION_LOCK_FILE " says provider `%s` but the schema uses "
		    "`%s`: Prisma refuses to migrate (P3019) — start a new migration history "
		    "for `%s`, or correct the lock file",
		    local->path, r->lock_provider, r->expected_provider, r->expected_provider);
		return s;
	}
	if (r->missing_script != NULL) {
		xasprintf(&s,
			  "migration %s has no readable " PRISMA_MIGRATION_SCRIPT_FILE
			  " — restore the file or delete the directory (Prisma stops on it: P3015)",
			  r->missing_script);
		return s;
	}
	if (r->count[PRISMA_MIGRATION_FAILED] > 0) {
		const char *first = NULL;

		for (size_t i = 0; i < r->n && first == NULL; i++) {
			if (is_failed(&r->v[i]))
				first = r->v[i].name;
		}
		xasprintf(
		    &s,
		    "migration %s failed — resolve it: `prisync migrate resolve --rolled-back %s` "
		    "after fixing the migration (and undoing what it did), or `prisync migrate "
		    "resolve --applied %s` if you completed it by hand",
		    first, first, first);
		return s;
	}
	if (!r->has_table && local->n > 0) {
		xasprintf(
		    &s,
		    "the database is not managed by Prisma Migrate yet (no " PRISMA_MIGRATIONS_TABLE
		    " table) — run `prisync migrate` (or `prisma migrate deploy`) on an empty "
		    "database, or baseline a populated one with `prisync migrate resolve "
		    "--applied %s`",
		    local->v[0].name);
		return s;
	}
	if (r->count[PRISMA_MIGRATION_MISSING_LOCALLY] > 0) {
		char *adds = NULL;
		size_t nadds = 0;

		names = names_of(r, missing_locally, &n);
		/* typically a branch switch: what this branch brings instead */
		if (r->to_apply > 0)
			adds = names_of(r, will_apply, &nadds);
		xasprintf(
		    &s,
		    "applied in DB but missing locally: %s — switch back to the branch that has "
		    "%s, or reset the dev database (`prisync db-reset`)%s%s%s",
		    names, n > 1 ? "them" : "it", adds != NULL ? "; this branch adds " : "",
		    adds != NULL ? adds : "",
		    adds != NULL ? (nadds > 1 ? ", which apply after the reset" : ", which applies after the reset")
				 : "");
		free(adds);
		free(names);
		return s;
	}
	if (r->count[PRISMA_MIGRATION_MODIFIED] > 0) {
		names = names_of(r, is_modified, &n);
		xasprintf(&s,
			  "%s %s %s modified after %s applied — restore the applied version "
			  "(from git), or reset the dev database (`prisync db-reset`)",
			  n > 1 ? "migrations" : "migration", names, n > 1 ? "were" : "was",
			  n > 1 ? "they were" : "it was");
		free(names);
		return s;
	}
	if (r->to_apply > 0) {
		names = names_of(r, will_apply, &n);
		xasprintf(&s,
			  "%zu %s not yet applied: %s — run `prisync migrate` (or `prisma migrate "
			  "deploy`)",
			  n, n > 1 ? "migrations" : "migration", names);
		free(names);
		return s;
	}
	if (!r->has_table)
		return xstrdup("no migrations and no " PRISMA_MIGRATIONS_TABLE
			       " table — nothing to apply");
	return xstrdup("database schema is up to date");
}

/*
 * MigrateStatus.ts's exit code over diagnose_migration_history.rs's findings: 1 when a
 * local migration has no row at all (databaseIsBehind / historiesDiverge), when there is
 * no table, or when a row failed; else 0 -- rows missing locally alone (migrations
 * directory is behind), modified and rolled-back migrations do not count there.  A
 * provider mismatch fails before anything (P3019).
 */
static int prisma_status_exit(const struct prisma_migration_report *r,
			      const struct prisma_migration_dir *local,
			      const struct prisma_migration_row *rows, size_t nrows)
{
	if (r->provider_mismatch || !r->has_table || r->count[PRISMA_MIGRATION_FAILED] > 0)
		return 1;
	for (size_t i = 0; i < local->n; i++) {
		bool found = false;

		for (size_t j = 0; j < nrows && !found; j++)
			found = rows[j].name != NULL && strcmp(rows[j].name, local->v[i].name) == 0;
		if (!found)
			return 1;
	}
	return 0;
}

int prisma_migration_status(const struct prisma_migration_dir *local,
			    const struct prisma_migration_row *rows, size_t nrows, bool has_table,
			    const char *expected_provider, struct prisma_migration_report *out)
{
	struct prisma_migration_report r = {0};
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (!has_table)
		nrows = 0;
	r.has_table = has_table;
	r.folder_exists = local->exists;
	r.expected_provider =
	    xstrdup(expected_provider != NULL ? expected_provider : PRISMA_PROVIDER_POSTGRESQL);
	if (local->lock_provider != NULL) {
		r.lock_provider = xstrdup(local->lock_provider);
		r.provider_mismatch = strcmp(r.lock_provider, r.expected_provider) != 0;
	}

	for (size_t i = 0; i < local->n; i++) {
		const struct prisma_migration *m = &local->v[i];
		const struct prisma_migration_row *row = NULL;
		enum prisma_migration_state st = classify(m, rows, nrows, m->name, &row);

		add_entry(&r, &cap, m->name, st, m, row);
		if (!m->has_script && r.missing_script == NULL)
			r.missing_script = xstrdup(m->name);
	}
	/* names only the database knows, once each, in row order */
	for (size_t i = 0; i < nrows; i++) {
		const struct prisma_migration_row *row = NULL;
		enum prisma_migration_state st;
		bool seen = false;

		if (rows[i].name == NULL || prisma_migration_find(local, rows[i].name) != NULL)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = rows[j].name != NULL && strcmp(rows[j].name, rows[i].name) == 0;
		if (seen)
			continue;
		st = classify(NULL, rows, nrows, rows[i].name, &row);
		add_entry(&r, &cap, rows[i].name, st, NULL, row);
	}

	r.up_to_date = !r.provider_mismatch && r.missing_script == NULL && r.to_apply == 0 &&
		       r.count[PRISMA_MIGRATION_FAILED] == 0 &&
		       r.count[PRISMA_MIGRATION_MODIFIED] == 0 &&
		       r.count[PRISMA_MIGRATION_MISSING_LOCALLY] == 0;
	r.prisma_exit = prisma_status_exit(&r, local, rows, nrows);
	r.recommendation = recommend(&r, local);
	*out = r;
	return 0;
}

void prisma_migration_report_release(struct prisma_migration_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	free(r->lock_provider);
	free(r->expected_provider);
	free(r->missing_script);
	free(r->recommendation);
	memset(r, 0, sizeof(*r));
}

static json_t *jstr_or_null(const char *s)
{
	json_t *v = s != NULL ? json_string(s) : NULL;

	/* a name that is not UTF-8 cannot be a JSON string; say so rather than drop it */
	if (v == NULL && s != NULL)
		v = json_string("<not UTF-8>");
	return v != NULL ? v : json_null();
}

static json_t *names_json(const struct prisma_migration_report *r,
			  bool (*pick)(const struct prisma_migration_status *))
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->n; i++) {
		if (pick(&r->v[i]))
			json_array_append_new(a, jstr_or_null(r->v[i].name));
	}
	return a;
}

static bool is_applied(const struct prisma_migration_status *e)
{
	return e->state == PRISMA_MIGRATION_APPLIED;
}

static bool is_rolled_back(const struct prisma_migration_status *e)
{
	return e->state == PRISMA_MIGRATION_ROLLED_BACK;
}

json_t *prisma_migration_report_json(const struct prisma_migration_report *r)
{
	json_t *o = json_object(), *all = json_array();

	json_object_set_new(o, "upToDate", json_boolean(r->up_to_date));
	json_object_set_new(o, "hasMigrationsTable", json_boolean(r->has_table));
	json_object_set_new(o, "migrationsFolderExists", json_boolean(r->folder_exists));
	json_object_set_new(o, "lockProvider", jstr_or_null(r->lock_provider));
	json_object_set_new(o, "expectedProvider", jstr_or_null(r->expected_provider));
	json_object_set_new(o, "providerMismatch", json_boolean(r->provider_mismatch));
	json_object_set_new(o, "appliedMigrations", names_json(r, is_applied));
	json_object_set_new(o, "pendingMigrations", names_json(r, will_apply));
	json_object_set_new(o, "failedMigrations", names_json(r, is_failed));
	json_object_set_new(o, "rolledBackMigrations", names_json(r, is_rolled_back));
	json_object_set_new(o, "modifiedMigrations", names_json(r, is_modified));
	json_object_set_new(o, "missingLocally", names_json(r, missing_locally));
	json_object_set_new(o, "missingScript", jstr_or_null(r->missing_script));
	for (size_t i = 0; i < r->n; i++) {
		json_array_append_new(all, json_pack("{s:o, s:s, s:b}", "name",
						     jstr_or_null(r->v[i].name), "state",
						     prisma_migration_state_name(r->v[i].state),
						     "local", r->v[i].local != NULL));
	}
	json_object_set_new(o, "migrations", all);
	json_object_set_new(o, "prismaStatusExitCode", json_integer(r->prisma_exit));
	json_object_set_new(o, "recommendation", jstr_or_null(r->recommendation));
	return o;
}
