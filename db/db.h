/* db.h - the public header of db/: PostgreSQL through libpq.  This slice: connect with a
 * timeout, run statements, and create, drop and look up databases. */
#ifndef PX_DB_H
#define PX_DB_H

#include <stdbool.h>

#include <jansson.h>

#include "base/base.h"

struct db_conn;

/* Connect to a libpq connection string or postgres:// / postgresql:// URL.  timeout_s > 0
 * bounds the connection attempt (libpq's connect_timeout); 0 uses libpq's default.
 * The URL never appears in the error (only the server's message, masked). */
int db_connect(struct db_conn **out, const char *url, int timeout_s, struct px_error *err);
void db_close(struct db_conn *c);
/* Connect with libpq keywords and values (NULL-terminated; expand_dbname off: a dbname is
 * a name), connect_timeout added when timeout_s > 0. */
int db_connect_params(struct db_conn **out, const char *const *keys, const char *const *values,
		      int timeout_s, struct px_error *err);

/* The server version as libpq reports it (e.g. 150018 for 15.18), 0 when unknown. */
int db_server_version(const struct db_conn *c);

/* Run one or more statements that return no rows. */
int db_exec(struct db_conn *c, const char *sql, struct px_error *err);

/* Run a parameterised query whose result is one value (first row, first column);
 * *out is owned by the caller and NULL when there is no row or the value is NULL. */
int db_query_value(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		   char **out, struct px_error *err);

/* Run a parameterised query; *rows (owned) is an array with one object per row, each
 * column by name as a string or null. */
int db_query_json(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		  json_t **rows, struct px_error *err);

int db_database_exists(struct db_conn *c, const char *name, bool *exists, struct px_error *err);
/* CREATE DATABASE with the name quoted as an identifier (any name is safe). */
int db_database_create(struct db_conn *c, const char *name, struct px_error *err);
/* DROP DATABASE [IF EXISTS]; drops fail while other sessions are connected to it. */
int db_database_drop(struct db_conn *c, const char *name, bool if_exists, struct px_error *err);

#endif
