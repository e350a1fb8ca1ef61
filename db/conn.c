/* conn.c - libpq connections and the few statements the other db/ parts build on. */
#include "db/db.h"
#include "db/internal.h"

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

int db_exec(struct db_conn *c, const char *sql, struct px_error *err)
{
	PGresult *res = PQexec(c->pg, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = px_error_from_pq(err, c->pg, res, "statement failed");
	PQclear(res);
	return rc;
}

int db_query_value(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		   char **out, struct px_error *err)
{
	PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = 0;

	*out = NULL;
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
	PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = 0;

	*rows = NULL;
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
