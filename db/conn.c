/* conn.c - libpq connections and the few statements the other db/ parts build on. */
#include "db/db.h"
#include "db/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_connect_params(struct db_conn **out, const char *const *keys, const char *const *values,
		      int timeout_s, struct px_error *err)
{
	const char **k = NULL, **v = NULL;
	char timeout[16];
	size_t n = 0;
	PGconn *pg;

	*out = NULL;
	while (keys[n] != NULL)
		n++;
	k = xcalloc(n + 2, sizeof(*k));
	v = xcalloc(n + 2, sizeof(*v));
	memcpy(k, keys, n * sizeof(*k));
	memcpy(v, values, n * sizeof(*v));
	if (timeout_s > 0) {
		snprintf(timeout, sizeof(timeout), "%d", timeout_s);
		k[n] = "connect_timeout";
		v[n] = timeout;
	}
	pg = PQconnectdbParams(k, v, 0);
	free(k);
	free(v);
	if (PQstatus(pg) != CONNECTION_OK) {
		px_error_from_pq(err, pg, NULL, "cannot connect to the database");
		PQfinish(pg);
		return -1;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->pg = pg;
	return 0;
}

int db_connect(struct db_conn **out, const char *url, int timeout_s, struct px_error *err)
{
	/* expand_dbname=1: "dbname" may be a whole URL or conninfo string, whose
	 * parameters are then overridden by the later keywords */
	const char *keys[3] = {"dbname", NULL, NULL};
	const char *vals[3] = {url, NULL, NULL};
	char timeout[16];
	PGconn *pg;

	*out = NULL;
	if (timeout_s > 0) {
		snprintf(timeout, sizeof(timeout), "%d", timeout_s);
		keys[1] = "connect_timeout";
		vals[1] = timeout;
	}
	pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		px_error_from_pq(err, pg, NULL, "cannot connect to the database");
		PQfinish(pg);
		return -1;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->pg = pg;
	return 0;
}

void db_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	PQfinish(c->pg);
	free(c);
}

int db_server_version(const struct db_conn *c)
{
	return PQserverVersion(c->pg);
}

void db_set_timeout(struct db_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

/* Wait until c's socket is ready for events or the deadline passes: 1 ready, 0 timed out,
 * -1 error (err set). */
static int wait_socket(struct db_conn *c, short events, int64_t deadline_ns, struct px_error *err)
{
	struct pollfd pfd = {.fd = PQsocket(c->pg), .events = events};

	for (;;) {
		int64_t left = deadline_ns - px_mono_ns();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (n > 0)
			return 1;
		if (n == 0)
			continue; /* the deadline decides, not poll's rounding */
		if (errno != EINTR)
			return px_error_set(err, errno, "cannot wait for the database");
	}
}

/* sql sent and its results read without blocking past c's bound; the result as PQexec /
 * PQexecParams would return it (the first error, else the last result), or NULL with err
 * set when there is none: timed out, or the connection failed. */
static PGresult *run_bounded(struct db_conn *c, const char *sql, int nparams,
			     const char *const *params, bool simple, struct px_error *err)
{
	int64_t deadline = px_mono_ns() + (int64_t)c->timeout_ms * 1000000;
	PGresult *keep = NULL, *r;
	int w = -1, f;

	if (PQsetnonblocking(c->pg, 1) != 0 ||
	    !(simple ? PQsendQuery(c->pg, sql)
		     : PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)))
		goto failed;
	while ((f = PQflush(c->pg)) == 1) {
		if ((w = wait_socket(c, POLLOUT, deadline, err)) <= 0)
			goto stopped;
	}
	if (f < 0)
		goto failed;
	for (;;) {
		while (PQisBusy(c->pg)) {
			if ((w = wait_socket(c, POLLIN, deadline, err)) <= 0)
				goto stopped;
			if (!PQconsumeInput(c->pg))
				goto failed;
		}
		r = PQgetResult(c->pg);
		if (r == NULL)
			break;
		/* as PQexec: the first error stops the statements; else the last result */
		if (keep == NULL || PQresultStatus(keep) != PGRES_FATAL_ERROR) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
	}
	PQsetnonblocking(c->pg, 0);
	return keep;
stopped:
	if (w == 0) /* else wait_socket set err */
		px_error_set(err, ETIMEDOUT,
			     "the database did not answer within %d.%d s (is it paused, or "
			     "overloaded?)",
			     c->timeout_ms / 1000, c->timeout_ms % 1000 / 100);
	PQclear(keep);
	c->dead = true;
	return NULL;
failed:
	PQclear(keep);
	c->dead = true;
	px_error_from_pq(err, c->pg, NULL, "statement failed");
	return NULL;
}

/* sql on c: PQexec (simple: several statements allowed) or PQexecParams, bounded when
 * db_set_timeout asked for it.  NULL with err set when no result came back (a result may
 * still be an error: PQresultStatus tells). */
static PGresult *run(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		     bool simple, struct px_error *err)
{
	PGresult *res;

	if (c->dead) {
		px_error_set(err, ETIMEDOUT,
			     "the database stopped answering on this connection earlier");
		return NULL;
	}
	if (c->timeout_ms > 0)
		return run_bounded(c, sql, nparams, params, simple, err);
	res = simple ? PQexec(c->pg, sql)
		     : PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL) /* out of memory, or no connection */
		px_error_from_pq(err, c->pg, NULL, "statement failed");
	return res;
}

int db_exec(struct db_conn *c, const char *sql, struct px_error *err)
{
	PGresult *res = run(c, sql, 0, NULL, true, err);
	int rc = 0;

	if (res == NULL)
		return -1;
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = px_error_from_pq(err, c->pg, res, "statement failed");
	PQclear(res);
	return rc;
}

int db_query_value(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		   char **out, struct px_error *err)
{
	PGresult *res = run(c, sql, nparams, params, false, err);
	int rc = 0;

	*out = NULL;
	if (res == NULL)
		return -1;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = px_error_from_pq(err, c->pg, res, "query failed");
	} else if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*out = xstrdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

int db_database_exists(struct db_conn *c, const char *name, bool *exists, struct px_error *err)
{
	const char *params[1] = {name};
	char *v = NULL;

	if (db_query_value(c, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, params,
			   &v, err) < 0)
		return px_error_wrap(err, "cannot look up database '%s'", name);
	*exists = v != NULL;
	free(v);
	return 0;
}

/* Run "<verb> <quoted name>" with the name escaped by libpq as an identifier. */
static int database_ddl(struct db_conn *c, const char *verb, const char *name, struct px_error *err)
{
	char *ident = PQescapeIdentifier(c->pg, name, strlen(name));
	char *sql = NULL;
	int rc;

	if (ident == NULL)
		return px_error_from_pq(err, c->pg, NULL, "cannot quote database name");
	xasprintf(&sql, "%s %s", verb, ident);
	PQfreemem(ident);
	rc = db_exec(c, sql, err);
	free(sql);
	return rc;
}

int db_database_create(struct db_conn *c, const char *name, struct px_error *err)
{
	if (database_ddl(c, "CREATE DATABASE", name, err) < 0)
		return px_error_wrap(err, "cannot create database '%s'", name);
	return 0;
}

int db_database_drop(struct db_conn *c, const char *name, bool if_exists, struct px_error *err)
{
	if (database_ddl(c, if_exists ? "DROP DATABASE IF EXISTS" : "DROP DATABASE", name, err) < 0)
		return px_error_wrap(err, "cannot drop database '%s'", name);
	return 0;
}

int db_query_json(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		  json_t **rows, struct px_error *err)
{
	PGresult *res = run(c, sql, nparams, params, false, err);
	int rc = 0;

	*rows = NULL;
	if (res == NULL)
		return -1;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = px_error_from_pq(err, c->pg, res, "query failed");
	} else {
		int nt = PQntuples(res), nf = PQnfields(res);

		*rows = json_array();
		for (int r = 0; r < nt; r++) {
			json_t *row = json_object();

			for (int f = 0; f < nf; f++)
				json_object_set_new(row, PQfname(res, f),
						    PQgetisnull(res, r, f)
							? json_null()
							: json_string(PQgetvalue(res, r, f)));
			json_array_append_new(*rows, row);
		}
	}
	PQclear(res);
	return rc;
}
