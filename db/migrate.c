/* migrate.c - the libpq side of Prisma-compatible migrate deploy and resolve: the session
 * advisory lock with a deadline, parameterised writes, and a script run as Prisma runs it. */
#include "db/db.h"
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_advisory_lock(struct db_conn *c, long long key, int timeout_s, struct px_error *err)
{
	char keytext[32], timeout[32];
	const char *kp[1] = {keytext}, *tp[1] = {timeout};
	PGresult *res;
	int rc = 0;

	snprintf(keytext, sizeof(keytext), "%lld", key);
	snprintf(timeout, sizeof(timeout), "%ds", timeout_s > 0 ? timeout_s : 0);
	/* lock_timeout bounds the wait for an advisory lock as for any heavyweight lock (Prisma
	 * wraps the query in a timer instead); it is reset at once so that it never applies to
	 * the migration scripts run on this session */
	if (db_exec_params(c, "SELECT set_config('lock_timeout', $1, false)", 1, tp, err) < 0)
		return px_error_wrap(err, "cannot set lock_timeout");
	res =
	    PQexecParams(c->pg, "SELECT pg_advisory_lock($1::bigint)", 1, NULL, kp, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		px_error_from_pq(err, c->pg, res, "lock");
		if (strcmp(err->sqlstate, "55P03") == 0) {
			px_error_set(
			    err, 0,
			    "timed out trying to acquire a postgres advisory lock "
			    "(SELECT pg_advisory_lock(%lld)); timeout: %d000ms -- is another "
			    "prisync or Prisma migrate running on this database? "
			    "(see https://pris.ly/d/migrate-advisory-locking)",
			    key, timeout_s);
			/* kept: callers tell a lock held elsewhere from other failures */
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", "55P03");
		} else {
			px_error_wrap(err, "cannot take the advisory lock %lld", key);
		}
		rc = -1;
	}
	PQclear(res);
	if (rc == 0 && db_exec(c, "RESET lock_timeout", err) < 0)
		rc = px_error_wrap(err, "cannot reset lock_timeout");
	return rc;
}

int db_exec_params(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		   struct px_error *err)
{
	PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = px_error_from_pq(err, c->pg, res, "statement failed");
	PQclear(res);
	return rc;
}

/*
 * The "Position:" excerpt Prisma's engine appends to a failed script's error
 * (flavour/postgres/connection.rs, apply_migration_script): the line holding the
 * server's 1-based position (counted as bytes, as Prisma does) with up to five lines
 * before it, each as "%3d" followed directly by the line; empty lines are left out.
 */
static void add_position(struct px_buf *out, const char *script, long position)
{
	const char *prev[5] = {"", "", "", "", ""};
	size_t prevlen[5] = {0};
	const char *p = script;
	long byte_index = 0;
	int line_number = 0;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		size_t shown = len > 0 && p[len - 1] == '\r' ? len - 1 : len; /* Rust's lines() */

		line_number++;
		byte_index += (long)shown + 1;
		if (position <= byte_index) {
			px_buf_adds(out, "\n\nPosition:\n");
			for (int i = 0, first = 1; i < 5; i++) {
				if (prevlen[i] == 0)
					continue;
				px_buf_addf(out, "%s%3d%.*s", first ? "" : "\n",
					    line_number - (5 - i), (int)prevlen[i], prev[i]);
				first = 0;
			}
			px_buf_addf(out, "\n%3d%.*s", line_number, (int)shown, p);
			return;
		}
		memmove(prev, prev + 1, 4 * sizeof(*prev));
		memmove(prevlen, prevlen + 1, 4 * sizeof(*prevlen));
		prev[4] = p;
		prevlen[4] = shown;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

int db_exec_script(struct db_conn *c, const char *script, char **db_error, struct px_error *err)
{
	PGresult *res;
	int rc = 0;

	*db_error = NULL;
	/* one simple-query call, as Prisma sends it: the statements run in one implicit
	 * transaction unless the script has its own BEGIN/COMMIT */
	res = PQexec(c->pg, script);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_EMPTY_QUERY) {
		const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
		struct px_buf b = PX_BUF_INIT;

		rc = px_error_from_pq(err, c->pg, res, "migration script failed");
		if (msg != NULL) {
			/* tokio-postgres's Display of a DbError, which Prisma records */
			px_buf_addf(&b, "%s: %s", sev != NULL ? sev : "ERROR", msg);
			if (detail != NULL)
				px_buf_addf(&b, "\nDETAIL: %s", detail);
			if (hint != NULL)
				px_buf_addf(&b, "\nHINT: %s", hint);
			if (pos != NULL)
				add_position(&b, script, strtol(pos, NULL, 10));
		} else {
			/* not a server error (the connection broke): libpq's text */
			const char *m = PQerrorMessage(c->pg);
			size_t n = strlen(m);

			while (n > 0 && m[n - 1] == '\n')
				n--;
			px_buf_add(&b, m, n);
		}
		*db_error = px_buf_detach(&b, NULL);
	}
	PQclear(res);
	return rc;
}
